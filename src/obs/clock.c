/* clock.c — wall and monotonic clocks, with a pin for tests. */
#include "obs/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t fixed_ms;
static _Atomic int64_t offset_ms; /* clock_start_at: added to the real clock */

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    int64_t f = atomic_load(&fixed_ms);
    if (f)
        return f;
    return real_now_ms() + atomic_load(&offset_ms);
}

void clock_start_at(int64_t ms)
{
    atomic_store(&offset_ms, ms ? ms - real_now_ms() : 0);
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

struct timespec clock_deadline(clockid_t id, int64_t ms)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}
