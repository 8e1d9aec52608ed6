/*
 * clock.c — wall and monotonic clocks, with a pin for tests. TOCK_FAKE_NOW_MS
 * (test-only) starts the wall clock at that epoch-ms value on first use and lets
 * it advance in real time (a constant offset from the real clock).
 */
#include "obs/clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

static _Atomic int64_t fixed_ms;
static int64_t fake_offset_ms;
static pthread_once_t fake_once = PTHREAD_ONCE_INIT;

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fake_init(void)
{
    const char *v = getenv("TOCK_FAKE_NOW_MS");
    if (!v || !*v)
        return;
    char *end = NULL;
    long long ms = strtoll(v, &end, 10);
    if (end && !*end && ms > 0)
        fake_offset_ms = (int64_t)ms - real_now_ms();
}

int64_t clock_now_ms(void)
{
    int64_t f = atomic_load(&fixed_ms);
    if (f)
        return f;
    pthread_once(&fake_once, fake_init);
    return real_now_ms() + fake_offset_ms;
}

int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void clock_set_fixed(int64_t ms)
{
    atomic_store(&fixed_ms, ms);
}
