/*
 * relay.c — outbox -> bus. One thread; each pass reads up to a batch of
 * unpublished rows in id order, publishes them one by one and stops at the first
 * failure (so nothing after a failed row overtakes it: per-user order holds),
 * then marks the published prefix in one transaction. A bus with publish_batch
 * (Kafka) gets the whole batch at once and reports the acknowledged prefix, which
 * is marked the same way. A crash between publish
 * and mark republishes those rows: delivery is at least once and consumers
 * dedupe by event id.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "roles/relay.h"

#define RELAY_BATCH 256
#define RELAY_POLL_MS 1000
#define RELAY_BACKOFF_MIN_MS 100
#define RELAY_BACKOFF_MAX_MS 30000

struct relay {
    struct svc *svc;
    struct bus *bus;
    const struct bus_ops *bus_ops;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stopping;
    bool failing; /* the last pass failed (bus or store down); written by the thread */
};

static const char *topic_static(const char *t)
{
    static const char *const topics[] = {"task-events", "task-updates", "reminders", "dlq"};
    for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
        if (strcmp(t, topics[i]) == 0)
            return topics[i];
    return "other";
}

/* One pass: returns rows published (>= 0) or a negative error (bus or store). */
static int pass(struct svc *svc, struct bus *bus, const struct bus_ops *bops, bool *more,
                int64_t *hwm)
{
    struct store_conn *c;
    int rc = svc->ops->acquire(svc->store, &c);
    if (rc)
        return rc;
    struct outbox_row *rows = NULL;
    size_t n = 0;
    rc = svc->ops->outbox_fetch(c, svc->ops->ordered_commits ? *hwm : 0, RELAY_BATCH, true,
                                &rows, &n);
    svc->ops->release(c);
    if (rc)
        return rc;
    *more = n == RELAY_BATCH;
    size_t ok = 0;
    int bus_rc = 0;
    int64_t *seqs = calloc(n ? n : 1, sizeof *seqs);
    if (!seqs) {
        outbox_rows_free(rows, n);
        return TOCK_ENOMEM;
    }
    if (bops->publish_batch && n) {
        /* The whole batch in flight at once, one wait: the bus reports the acked prefix. */
        struct bus_msg *msgs = calloc(n, sizeof *msgs);
        if (!msgs) {
            free(seqs);
            outbox_rows_free(rows, n);
            return TOCK_ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            msgs[i] = (struct bus_msg){rows[i].topic, rows[i].key, rows[i].event_json,
                                       strlen(rows[i].event_json), rows[i].event_id};
        bus_rc = bops->publish_batch(bus, msgs, n, &ok);
        free(msgs);
        if (ok > n)
            ok = n;
        if (!bus_rc && ok < n)
            bus_rc = TOCK_EBUS;
        for (size_t i = 0; i < ok; i++) {
            seqs[i] = rows[i].seq;
            metrics_counter_add("tock_events_published_total", "topic",
                                topic_static(rows[i].topic), 1);
        }
    } else {
        for (; ok < n; ok++) {
            struct bus_msg m = {rows[ok].topic, rows[ok].key, rows[ok].event_json,
                                strlen(rows[ok].event_json), rows[ok].event_id};
            if ((bus_rc = bops->publish(bus, &m)))
                break;
            seqs[ok] = rows[ok].seq;
            metrics_counter_add("tock_events_published_total", "topic",
                                topic_static(rows[ok].topic), 1);
        }
    }
    if (ok) {
        if (!(rc = svc->ops->acquire(svc->store, &c))) {
            if (!(rc = svc->ops->begin(c, true))) {
                rc = svc->ops->outbox_mark_published(c, seqs, ok, clock_now_ms());
                if (rc)
                    svc->ops->rollback(c);
                else
                    rc = svc->ops->commit(c);
            }
            svc->ops->release(c);
        }
    }
    /* Rows are published in seq order, so everything up to the last one is done. */
    if (!rc && ok)
        *hwm = seqs[ok - 1];
    free(seqs);
    outbox_rows_free(rows, n);
    if (rc)
        return rc;
    if (bus_rc) {
        *more = false;
        return bus_rc;
    }
    return (int)ok;
}

int relay_drain(struct svc *svc, struct bus *bus, const struct bus_ops *bops, int *published)
{
    bool more = true;
    int64_t hwm = 0;
    *published = 0;
    while (more) {
        int rc = pass(svc, bus, bops, &more, &hwm);
        if (rc < 0)
            return rc;
        *published += rc;
    }
    return 0;
}

static void wait_ms(struct relay *r, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->kicked && !r->stopping)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
            break;
    r->kicked = false;
    pthread_mutex_unlock(&r->mu);
}

static void *run(void *arg)
{
    struct relay *r = arg;
    int64_t backoff = 0;
    /*
     * High-water mark: every row up to it is published. Used only when the store
     * declares ordered_commits (SQLite: serialized writers commit in id order).
     */
    int64_t hwm = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        bool more = false;
        int rc = pass(r->svc, r->bus, r->bus_ops, &more, &hwm);
        r->failing = rc < 0;
        if (rc < 0) {
            backoff = backoff ? backoff * 2 : RELAY_BACKOFF_MIN_MS;
            if (backoff > RELAY_BACKOFF_MAX_MS)
                backoff = RELAY_BACKOFF_MAX_MS;
            /* Full jitter keeps replicas from retrying in lockstep. */
            int64_t sleep_ms = backoff / 2 + randombytes_uniform((uint32_t)(backoff / 2 + 1));
            log_msg(LOG_WARN, "relay: publish failed (%s); retrying in %lld ms",
                    tock_strerror(rc), (long long)sleep_ms);
            wait_ms(r, sleep_ms);
            continue;
        }
        backoff = 0;
        if (!more)
            wait_ms(r, RELAY_POLL_MS);
    }
    return NULL;
}

int relay_start(struct svc *svc, struct bus *bus, const struct bus_ops *bus_ops,
                struct relay **out)
{
    struct relay *r = calloc(1, sizeof *r);
    if (!r)
        return TOCK_ENOMEM;
    r->svc = svc;
    r->bus = bus;
    r->bus_ops = bus_ops;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        free(r);
        return TOCK_EINTERNAL;
    }
    *out = r;
    return 0;
}

void relay_kick(void *arg)
{
    struct relay *r = arg;
    pthread_mutex_lock(&r->mu);
    r->kicked = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void relay_stop(struct relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    int n = 0;
    /*
     * The thread is joined, so failing is stable. If the bus was failing, a last
     * attempt would only wait out another timeout: the rows stay in the outbox.
     */
    if (!r->failing && relay_drain(r->svc, r->bus, r->bus_ops, &n) == 0 && n)
        log_msg(LOG_INFO, "relay: flushed %d events at shutdown", n);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
