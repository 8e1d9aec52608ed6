/*
 * bus_local.c — the in-process bus. publish() runs every matching subscriber's
 * handler synchronously, in the caller's (the relay's) thread, and succeeds only
 * if all of them acknowledged. That keeps "nothing lost" without a broker: the
 * relay marks an outbox row published only after every in-process consumer has
 * committed its effect, and a crash before that replays the row (consumers dedupe
 * by event id). Order is the relay's order, i.e. outbox order.
 *
 * publish_batch hands each subscriber its share of a relay batch at once (consumers
 * then commit many effects in one transaction); the acknowledged prefix is the
 * shortest any subscriber acknowledged.
 *
 * One member per group by construction (there is one process). Subscriptions are
 * fixed once start() is called, so publish reads them without a lock.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/err.h"

#define LOCAL_SUBS_MAX 32
#define LOCAL_TOPICS_MAX 8

struct sub {
    char group[32];
    char topics[LOCAL_TOPICS_MAX][32];
    size_t ntopics;
    bus_handler_fn fn;
    bus_batch_fn bfn; /* NULL: fn per message */
    void *arg;
};

struct bus {
    struct sub subs[LOCAL_SUBS_MAX];
    size_t nsubs;
    bool started;
};

static int local_open(const char *spec, struct bus **out, char *err, size_t errlen)
{
    (void)spec;
    struct bus *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return TOCK_ENOMEM;
    }
    *out = b;
    return 0;
}

static void local_close(struct bus *b)
{
    free(b);
}

static int local_publish(struct bus *b, const struct bus_msg *msg)
{
    int result = 0;
    for (size_t i = 0; i < b->nsubs; i++) {
        struct sub *s = &b->subs[i];
        for (size_t t = 0; t < s->ntopics; t++) {
            if (strcmp(s->topics[t], msg->topic) != 0)
                continue;
            int rc = s->fn(msg, s->arg);
            if (rc)
                result = TOCK_EBUS;
        }
    }
    return result;
}

static int local_subscribe_batch(struct bus *b, const char *group, const char *const *topics,
                                 size_t ntopics, bus_handler_fn fn, bus_batch_fn bfn, void *arg)
{
    if (b->started || b->nsubs == LOCAL_SUBS_MAX || ntopics > LOCAL_TOPICS_MAX)
        return TOCK_ELIMIT;
    struct sub *s = &b->subs[b->nsubs++];
    snprintf(s->group, sizeof s->group, "%s", group);
    for (size_t i = 0; i < ntopics; i++)
        snprintf(s->topics[i], sizeof s->topics[i], "%s", topics[i]);
    s->ntopics = ntopics;
    s->fn = fn;
    s->bfn = bfn;
    s->arg = arg;
    return 0;
}

static int local_subscribe(struct bus *b, const char *group, const char *const *topics,
                           size_t ntopics, bus_handler_fn fn, void *arg)
{
    return local_subscribe_batch(b, group, topics, ntopics, fn, NULL, arg);
}

static bool wants(const struct sub *s, const char *topic)
{
    for (size_t t = 0; t < s->ntopics; t++)
        if (strcmp(s->topics[t], topic) == 0)
            return true;
    return false;
}

#define LOCAL_CHUNK 256 /* events per batch call: bounds a consumer's transaction */

/*
 * Gives every subscriber its messages of msgs[0..n) (batches where it has a batch
 * handler, in chunks); *published is the prefix every subscriber acknowledged.
 * A subscriber that failed at message k has not seen what follows k; others may
 * have: the relay republishes from k and they skip those by event id.
 */
static int local_publish_batch(struct bus *b, const struct bus_msg *msgs, size_t n,
                               size_t *published)
{
    *published = n;
    struct bus_msg *mine = malloc((n ? n : 1) * sizeof *mine);
    size_t *index = malloc((n ? n : 1) * sizeof *index);
    if (!mine || !index) {
        free(mine);
        free(index);
        *published = 0;
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < b->nsubs; i++) {
        struct sub *s = &b->subs[i];
        size_t m = 0;
        for (size_t k = 0; k < *published; k++)
            if (wants(s, msgs[k].topic)) {
                mine[m] = msgs[k];
                index[m++] = k;
            }
        for (size_t at = 0; at < m;) {
            size_t chunk = !s->bfn ? 1 : m - at < LOCAL_CHUNK ? m - at : LOCAL_CHUNK, done = 0;
            int rc;
            if (s->bfn) {
                rc = s->bfn(mine + at, chunk, &done, s->arg);
            } else {
                rc = s->fn(&mine[at], s->arg);
                done = rc ? 0 : 1;
            }
            if (done > chunk)
                done = chunk;
            if (rc || done < chunk) {
                /* Stopped at mine[at + done]: nothing from there on is acknowledged. */
                if (at + done < m && index[at + done] < *published)
                    *published = index[at + done];
                break;
            }
            at += done;
        }
    }
    free(mine);
    free(index);
    return *published == n ? 0 : TOCK_EBUS;
}

static int local_start(struct bus *b)
{
    b->started = true;
    return 0;
}

static void local_stop(struct bus *b)
{
    (void)b;
}

static int local_health(struct bus *b)
{
    (void)b;
    return 0;
}

const struct bus_ops bus_local_ops = {
    .name = "local",
    .open = local_open,
    .close = local_close,
    .publish = local_publish,
    .subscribe = local_subscribe,
    .start = local_start,
    .stop = local_stop,
    .health = local_health,
    .publish_batch = local_publish_batch,
    .subscribe_batch = local_subscribe_batch,
};
