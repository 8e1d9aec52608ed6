/*
 * bus_local.c — the in-process bus. publish() runs every matching subscriber's
 * handler synchronously, in the caller's (the relay's) thread, and succeeds only
 * if all of them acknowledged. That keeps "nothing lost" without a broker: the
 * relay marks an outbox row published only after every in-process consumer has
 * committed its effect, and a crash before that replays the row (consumers dedupe
 * by event id). Order is the relay's order, i.e. outbox order.
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

static int local_subscribe(struct bus *b, const char *group, const char *const *topics,
                           size_t ntopics, bus_handler_fn fn, void *arg)
{
    if (b->started || b->nsubs == LOCAL_SUBS_MAX || ntopics > LOCAL_TOPICS_MAX)
        return TOCK_ELIMIT;
    struct sub *s = &b->subs[b->nsubs++];
    snprintf(s->group, sizeof s->group, "%s", group);
    for (size_t i = 0; i < ntopics; i++)
        snprintf(s->topics[i], sizeof s->topics[i], "%s", topics[i]);
    s->ntopics = ntopics;
    s->fn = fn;
    s->arg = arg;
    return 0;
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
};
