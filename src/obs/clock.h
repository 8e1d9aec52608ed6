/*
 * clock.h — the one clock. Everything that asks "what time is it" asks here, so
 * tests can pin time (clock_set_fixed) without sleeping.
 */
#ifndef TOCK_OBS_CLOCK_H
#define TOCK_OBS_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t clock_now_ms(void);
/* Monotonic nanoseconds, for durations. */
int64_t clock_mono_ns(void);
/* Pins clock_now_ms to ms (0 restores the real clock). For tests. */
void clock_set_fixed(int64_t ms);
/*
 * Makes clock_now_ms start at ms now and advance in real time from there (0
 * restores the real clock). Test-only (TOCK_FAKE_NOW_MS): lets API tests run at a
 * chosen date without freezing time. Call before any thread starts.
 */
void clock_start_at(int64_t ms);
/*
 * The absolute time `ms` from now on clock `id` (CLOCK_REALTIME or CLOCK_MONOTONIC),
 * for pthread_cond_timedwait on a condition variable using that clock.
 */
struct timespec clock_deadline(clockid_t id, int64_t ms);

#endif
