/*
 * ratelimit.h — failed-login throttle: at most `max` failures per key (the
 * e-mail) in a sliding `window_s`. A fixed table of slots guarded by a mutex;
 * a full table recycles the stalest slot, so memory is bounded whatever the load.
 */
#ifndef TOCK_SERVICE_RATELIMIT_H
#define TOCK_SERVICE_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(int max, int window_s);
void ratelimit_free(struct ratelimit *r);
/* 0 if allowed, else the seconds until the key may try again. */
int ratelimit_check(struct ratelimit *r, const char *key, int64_t now_ms);
void ratelimit_fail(struct ratelimit *r, const char *key, int64_t now_ms);
void ratelimit_reset(struct ratelimit *r, const char *key);

#endif
