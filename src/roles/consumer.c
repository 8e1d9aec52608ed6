/*
 * consumer.c — the consumer framework (see consumer.h): parse, filter by type,
 * then "mark + effect + commit" with retries and backoff, and the dead-letter
 * path through the outbox. Everything a delivery does happens in the calling bus
 * thread; the only shared state is the cancel flag.
 */
#include "roles/consumer.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/task.h"
#include "core/timeutil.h"
#include "obs/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"

#define BACKOFF_DEFAULT_MS 100
#define BACKOFF_MAX_MS 5000

struct consumer {
    struct svc *svc;
    struct consumer_def def;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool cancelled;
};

int consumer_new(struct svc *svc, const struct consumer_def *def, struct consumer **out)
{
    struct consumer *c = calloc(1, sizeof *c);
    if (!c)
        return TOCK_ENOMEM;
    c->svc = svc;
    c->def = *def;
    if (c->def.max_attempts <= 0)
        c->def.max_attempts = CONSUMER_MAX_ATTEMPTS_DEFAULT;
    if (c->def.backoff_ms <= 0)
        c->def.backoff_ms = BACKOFF_DEFAULT_MS;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    return 0;
}

int consumer_subscribe(struct consumer *cons, struct bus *bus, const struct bus_ops *bops)
{
    if (bops->subscribe_batch)
        return bops->subscribe_batch(bus, cons->def.name, cons->def.topics, cons->def.ntopics,
                                     consumer_deliver, consumer_deliver_batch, cons);
    return bops->subscribe(bus, cons->def.name, cons->def.topics, cons->def.ntopics,
                           consumer_deliver, cons);
}

void consumer_cancel(struct consumer *cons)
{
    pthread_mutex_lock(&cons->mu);
    cons->cancelled = true;
    pthread_cond_broadcast(&cons->cv);
    pthread_mutex_unlock(&cons->mu);
}

void consumer_free(struct consumer *cons)
{
    if (!cons)
        return;
    pthread_mutex_destroy(&cons->mu);
    pthread_cond_destroy(&cons->cv);
    free(cons);
}

/* Sleeps ms unless cancelled; false when cancelled. */
static bool backoff_sleep(struct consumer *cons, int64_t ms)
{
    struct timespec ts = clock_deadline(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&cons->mu);
    while (!cons->cancelled)
        if (pthread_cond_timedwait(&cons->cv, &cons->mu, &ts) != 0)
            break;
    bool ok = !cons->cancelled;
    pthread_mutex_unlock(&cons->mu);
    return ok;
}

static const char *str_member(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int parse_event(const struct bus_msg *msg, struct consumer_event *ev, char *err,
                       size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    ev->topic = msg->topic;
    ev->raw = msg->value;
    ev->len = msg->len;
    json_error_t je;
    ev->json = json_loadb(msg->value, msg->len, JSON_REJECT_DUPLICATES, &je);
    if (!ev->json || !json_is_object(ev->json)) {
        snprintf(err, errlen, "malformed CloudEvent: %s", ev->json ? "not an object" : je.text);
        return TOCK_EJSON;
    }
    ev->id = str_member(ev->json, "id");
    ev->type = str_member(ev->json, "type");
    ev->subject = str_member(ev->json, "subject");
    ev->userid = str_member(ev->json, "userid");
    ev->time = str_member(ev->json, "time");
    ev->data = json_object_get(ev->json, "data");
    ev->user_id = id_parse(ev->userid);
    ev->task_id = id_parse(ev->subject);
    if (time_parse_rfc3339(ev->time, &ev->time_ms))
        ev->time_ms = 0;
    if (!ev->id[0] || strlen(ev->id) > 60 || !ev->type[0] || strlen(ev->type) > 40) {
        snprintf(err, errlen, "CloudEvent without a valid id or type");
        return TOCK_EJSON;
    }
    return 0;
}

static bool wanted(const struct consumer *cons, const char *type)
{
    if (!cons->def.types)
        return true;
    for (size_t i = 0; i < cons->def.ntypes; i++)
        if (strcmp(cons->def.types[i], type) == 0)
            return true;
    return false;
}

/* One attempt: mark + effect + commit. TOCK_ECONFLICT = already processed. */
static int attempt(struct consumer *cons, const struct consumer_event *ev)
{
    struct svc *s = cons->svc;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(c, true))) {
        s->ops->release(c);
        return rc;
    }
    rc = s->ops->processed_mark(c, cons->def.name, ev->id, clock_now_ms());
    if (!rc) {
        int64_t t0 = clock_mono_ns();
        rc = cons->def.handle(s, c, ev, cons->def.arg);
        int64_t ns = clock_mono_ns() - t0;
        metrics_counter_add("tock_consumer_handler_seconds_total", "consumer", cons->def.name,
                            (uint64_t)(ns > 0 ? ns : 0));
    }
    if (rc)
        s->ops->rollback(c);
    else
        rc = s->ops->commit(c);
    s->ops->release(c);
    return rc;
}

/*
 * Publishes the event to dlq through the outbox and marks it processed, in one
 * transaction. The original goes in as JSON when it parsed, else as a string.
 */
static int dead_letter(struct consumer *cons, const struct bus_msg *msg,
                       const struct consumer_event *ev, const char *error, int attempts)
{
    struct svc *s = cons->svc;
    json_t *original = ev->json ? json_incref(ev->json) : json_stringn(msg->value, msg->len);
    if (!original)
        original = json_null();
    json_t *data = json_pack("{s:o, s:s, s:s, s:i, s:s}", "original", original, "error", error,
                             "consumer", cons->def.name, "attempts", attempts, "topic",
                             msg->topic);
    if (!data)
        return TOCK_ENOMEM;
    struct svc_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.user_id = ev->user_id ? ev->user_id : id_parse(msg->key);
    const char *tp = ev->json ? str_member(ev->json, "traceparent") : "";
    ctx.traceparent = tp[0] ? tp : NULL;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc) {
        json_decref(data);
        return rc;
    }
    if ((rc = s->ops->begin(c, true))) {
        json_decref(data);
        s->ops->release(c);
        return rc;
    }
    /* An event without a usable id cannot be marked; it is dead-lettered each time. */
    if (ev->id && ev->id[0])
        rc = s->ops->processed_mark(c, cons->def.name, ev->id, clock_now_ms());
    if (rc == TOCK_ECONFLICT) { /* another replica finished it meanwhile */
        json_decref(data);
        s->ops->rollback(c);
        s->ops->release(c);
        return 0;
    }
    if (!rc)
        rc = svc_emit(s, c, &ctx, "dlq", "tock.deadletter", ev->task_id, data);
    else
        json_decref(data);
    rc = svc_finish(s, c, rc, true);
    s->ops->release(c);
    return rc;
}

static void count_lag(const char *name, int64_t time_ms, int64_t now)
{
    if (time_ms <= 0)
        return;
    double lag = (double)(now - time_ms) / 1000.0;
    metrics_gauge_set("tock_consumer_lag_seconds", "consumer", name, lag);
    metrics_observe("tock_consumer_event_lag_seconds", "consumer", name, lag);
}

/* A dead letter this consumer wrote itself: never dead-letter it again. */
static bool own_dead_letter(const struct consumer *cons, const struct consumer_event *ev)
{
    if (strcmp(ev->type, "tock.deadletter") != 0 || !ev->data)
        return false;
    const char *who = json_string_value(json_object_get(ev->data, "consumer"));
    return who && strcmp(who, cons->def.name) == 0;
}

int consumer_deliver(const struct bus_msg *msg, void *arg)
{
    struct consumer *cons = arg;
    const char *name = cons->def.name;
    struct consumer_event ev;
    char err[256] = "";
    int rc = parse_event(msg, &ev, err, sizeof err);
    if (rc) {
        /* Retrying cannot fix a malformed message: straight to the dead letters. */
        log_msg(LOG_WARN, "consumer %s: %s on %s; dead-lettering", name, err, msg->topic);
        rc = dead_letter(cons, msg, &ev, err, 1);
        if (!rc)
            metrics_counter_add("tock_events_dead_lettered_total", "consumer", name, 1);
        json_decref(ev.json);
        return rc;
    }
    if (!wanted(cons, ev.type)) {
        json_decref(ev.json);
        return 0;
    }
    int64_t delay = cons->def.backoff_ms;
    int n = 0;
    for (;;) {
        rc = attempt(cons, &ev);
        n++;
        if (rc == 0 || rc == TOCK_ECONFLICT)
            break;
        if (n >= cons->def.max_attempts)
            break;
        metrics_counter_add("tock_events_retried_total", "consumer", name, 1);
        /* Half fixed, half random: replicas that failed together don't retry together. */
        int64_t sleep_ms = delay / 2 + randombytes_uniform((uint32_t)(delay / 2 + 1));
        log_msg(LOG_WARN, "consumer %s: event %s (%s) failed (%s), attempt %d/%d; retrying in "
                          "%lld ms",
                name, ev.id, ev.type, tock_strerror(rc), n, cons->def.max_attempts,
                (long long)sleep_ms);
        if (!backoff_sleep(cons, sleep_ms)) {
            json_decref(ev.json);
            return TOCK_EBUS; /* shutting down: leave it to a redelivery */
        }
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    if (rc == 0) {
        metrics_counter_add("tock_events_consumed_total", "consumer", name, 1);
        /* Lag: from the event's commit (its time) to this consumer's committed effect. */
        count_lag(name, ev.time_ms, clock_now_ms());
    } else if (rc == TOCK_ECONFLICT) {
        metrics_counter_add("tock_events_duplicate_total", "consumer", name, 1);
        rc = 0;
    } else if (own_dead_letter(cons, &ev)) {
        log_msg(LOG_ERROR, "consumer %s: dead letter %s failed %d times (%s); dropped", name,
                ev.id, n, tock_strerror(rc));
        rc = 0;
    } else {
        snprintf(err, sizeof err, "%s", tock_strerror(rc));
        log_msg(LOG_ERROR, "consumer %s: event %s (%s) failed %d times (%s); dead-lettering",
                name, ev.id, ev.type, n, err);
        rc = dead_letter(cons, msg, &ev, err, n);
        if (!rc)
            metrics_counter_add("tock_events_dead_lettered_total", "consumer", name, 1);
        else
            log_msg(LOG_ERROR, "consumer %s: dead-lettering %s failed (%s); not acked", name,
                    ev.id, tock_strerror(rc));
    }
    json_decref(ev.json);
    return rc;
}

/*
 * The fast path: every event of the batch in one transaction (marks and effects),
 * one commit. Any failure — a malformed event, a store error, a failing handler —
 * rolls the whole batch back and hands it to the one-by-one path, which retries,
 * dead-letters and reports exactly as consumer_deliver does; a batch that commits
 * has had the same effects the one-by-one path would have had.
 */
int consumer_deliver_batch(const struct bus_msg *msgs, size_t n, size_t *done, void *arg)
{
    struct consumer *cons = arg;
    struct svc *s = cons->svc;
    const char *name = cons->def.name;
    *done = 0;
    if (n == 0)
        return 0;
    int64_t *times = calloc(n, sizeof *times);
    bool *effect = calloc(n, sizeof *effect);
    struct store_conn *c = NULL;
    int rc = times && effect ? s->ops->acquire(s->store, &c) : TOCK_ENOMEM;
    if (!rc && (rc = s->ops->begin(c, true))) {
        s->ops->release(c);
        c = NULL;
    }
    int64_t now = clock_now_ms();
    size_t dups = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        struct consumer_event ev;
        char err[256];
        if ((rc = parse_event(&msgs[i], &ev, err, sizeof err))) {
            json_decref(ev.json);
            break;
        }
        if (wanted(cons, ev.type)) {
            rc = s->ops->processed_mark(c, name, ev.id, now);
            if (rc == TOCK_ECONFLICT) {
                rc = 0;
                dups++;
            } else if (!rc) {
                int64_t t0 = clock_mono_ns();
                rc = cons->def.handle(s, c, &ev, cons->def.arg);
                int64_t ns = clock_mono_ns() - t0;
                metrics_counter_add("tock_consumer_handler_seconds_total", "consumer", name,
                                    (uint64_t)(ns > 0 ? ns : 0));
                effect[i] = true;
                times[i] = ev.time_ms;
            }
        }
        json_decref(ev.json);
    }
    if (c) {
        if (rc)
            s->ops->rollback(c);
        else
            rc = s->ops->commit(c);
        s->ops->release(c);
    }
    if (!rc) {
        now = clock_now_ms();
        size_t consumed = 0;
        for (size_t i = 0; i < n; i++)
            if (effect[i]) {
                consumed++;
                count_lag(name, times[i], now);
            }
        if (consumed)
            metrics_counter_add("tock_events_consumed_total", "consumer", name, consumed);
        if (dups)
            metrics_counter_add("tock_events_duplicate_total", "consumer", name, dups);
        *done = n;
    }
    free(times);
    free(effect);
    if (!rc)
        return 0;
    /* Slow path: one by one, with the retries and dead letters of consumer_deliver. */
    for (; *done < n; (*done)++)
        if ((rc = consumer_deliver(&msgs[*done], cons)))
            return rc;
    return 0;
}
