/* ratelimit.c — bounded failed-attempt counters; see ratelimit.h. */
#include "service/ratelimit.h"

#include <pthread.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RL_SLOTS 4096
#define RL_HITS 64

struct slot {
    uint64_t key; /* 0: free */
    int64_t hits[RL_HITS]; /* failure times, ring */
    int n, head;
    int64_t last;
};

struct ratelimit {
    pthread_mutex_t mu;
    int max, window_ms;
    unsigned char hashkey[crypto_shorthash_KEYBYTES];
    struct slot slots[RL_SLOTS];
};

struct ratelimit *ratelimit_new(int max, int window_s)
{
    struct ratelimit *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->max = max < 1 ? 1 : (max > RL_HITS ? RL_HITS : max);
    r->window_ms = window_s * 1000;
    randombytes_buf(r->hashkey, sizeof r->hashkey);
    return r;
}

void ratelimit_free(struct ratelimit *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint64_t keyhash(struct ratelimit *r, const char *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)key, strlen(key), r->hashkey);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v ? v : 1;
}

/* Caller holds mu. Finds the key's slot, or claims a free/stale one if create. */
static struct slot *find(struct ratelimit *r, uint64_t k, bool create)
{
    size_t base = (size_t)(k % RL_SLOTS);
    struct slot *victim = NULL;
    for (size_t i = 0; i < 8; i++) {
        struct slot *s = &r->slots[(base + i) % RL_SLOTS];
        if (s->key == k)
            return s;
        if (!victim || s->key == 0 || (victim->key != 0 && s->last < victim->last))
            victim = s;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    victim->key = k;
    return victim;
}

/* Drops failures older than the window. */
static void expire(struct ratelimit *r, struct slot *s, int64_t now)
{
    while (s->n > 0) {
        int oldest = (s->head - s->n + RL_HITS) % RL_HITS;
        if (now - s->hits[oldest] < r->window_ms)
            break;
        s->n--;
    }
}

int ratelimit_check(struct ratelimit *r, const char *key, int64_t now)
{
    uint64_t k = keyhash(r, key);
    pthread_mutex_lock(&r->mu);
    struct slot *s = find(r, k, false);
    int wait = 0;
    if (s) {
        expire(r, s, now);
        if (s->n >= r->max) {
            int oldest = (s->head - s->n + RL_HITS) % RL_HITS;
            int64_t ms = s->hits[oldest] + r->window_ms - now;
            wait = (int)((ms + 999) / 1000);
            if (wait < 1)
                wait = 1;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}

void ratelimit_fail(struct ratelimit *r, const char *key, int64_t now)
{
    uint64_t k = keyhash(r, key);
    pthread_mutex_lock(&r->mu);
    struct slot *s = find(r, k, true);
    expire(r, s, now);
    s->hits[s->head] = now;
    s->head = (s->head + 1) % RL_HITS;
    if (s->n < RL_HITS)
        s->n++;
    s->last = now;
    pthread_mutex_unlock(&r->mu);
}

void ratelimit_reset(struct ratelimit *r, const char *key)
{
    uint64_t k = keyhash(r, key);
    pthread_mutex_lock(&r->mu);
    struct slot *s = find(r, k, false);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&r->mu);
}
