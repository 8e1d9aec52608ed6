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
#include "obs/env.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "roles/relay.h"

#define RELAY_BATCH 1024
#define RELAY_POLL_MS 1000
#define RELAY_BACKOFF_MIN_MS 100
#define RELAY_BACKOFF_MAX_MS 30000
#define PRUNE_BATCH 1000
#define PRUNE_MAX_BATCHES 100 /* per maintenance round: the relay must get back to work */

struct relay {
    struct relay_config cfg;
    struct svc *svc;
    struct bus *bus;
    const struct bus_ops *bus_ops;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stopping;
    atomic_bool failing; /* the last pass failed (bus or store down); written by the thread */
};

static const char *topic_static(const char *t)
{
    static const char *const topics[] = {"task-events", "task-updates", "reminders", "dlq"};
    for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
        if (strcmp(t, topics[i]) == 0)
            return topics[i];
    return "other";
}

/*
 * Publishes rows[0..n) in order, stopping at the first failure; the seqs of the
 * published prefix go to seqs, its length to *ok. Returns the bus error or 0.
 */
static int publish_rows(struct bus *bus, const struct bus_ops *bops,
                        const struct outbox_row *rows, size_t n, int64_t *seqs, size_t *ok)
{
    int bus_rc = 0;
    *ok = 0;
    if (bops->publish_batch && n) {
        /* The whole batch in flight at once, one wait: the bus reports the acked prefix. */
        struct bus_msg *msgs = calloc(n, sizeof *msgs);
        if (!msgs)
            return TOCK_ENOMEM;
        for (size_t i = 0; i < n; i++)
            msgs[i] = (struct bus_msg){rows[i].topic, rows[i].key, rows[i].event_json,
                                       strlen(rows[i].event_json), rows[i].event_id};
        bus_rc = bops->publish_batch(bus, msgs, n, ok);
        free(msgs);
        if (*ok > n)
            *ok = n;
        if (!bus_rc && *ok < n)
            bus_rc = TOCK_EBUS;
    } else {
        for (; *ok < n; (*ok)++) {
            struct bus_msg m = {rows[*ok].topic, rows[*ok].key, rows[*ok].event_json,
                                strlen(rows[*ok].event_json), rows[*ok].event_id};
            if ((bus_rc = bops->publish(bus, &m)))
                break;
        }
    }
    for (size_t i = 0; i < *ok; i++) {
        seqs[i] = rows[i].seq;
        metrics_counter_add("tock_events_published_total", "topic", topic_static(rows[i].topic),
                            1);
    }
    return bus_rc;
}

/*
 * One pass where commits are ordered (SQLite): read past the high-water mark,
 * publish, then mark the published prefix in a short write transaction (the
 * writers are not held up while the bus works).
 */
static int pass_ordered(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                        bool *more, int64_t *hwm)
{
    struct store_conn *c;
    int rc = svc->ops->acquire(svc->store, &c);
    if (rc)
        return rc;
    struct outbox_row *rows = NULL;
    size_t n = 0;
    rc = svc->ops->outbox_fetch(c, *hwm, RELAY_BATCH, true, &rows, &n);
    svc->ops->release(c);
    if (rc)
        return rc;
    *more = n == RELAY_BATCH;
    size_t ok = 0;
    int64_t *seqs = calloc(n ? n : 1, sizeof *seqs);
    if (!seqs) {
        outbox_rows_free(rows, n);
        return TOCK_ENOMEM;
    }
    int bus_rc = publish_rows(bus, bops, rows, n, seqs, &ok);
    if (ok && !(rc = svc->ops->acquire(svc->store, &c))) {
        if (!(rc = svc->ops->begin(c, true))) {
            rc = svc->ops->outbox_mark_published(c, seqs, ok, clock_now_ms());
            if (rc)
                svc->ops->rollback(c);
            else
                rc = svc->ops->commit(c);
        }
        svc->ops->release(c);
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

/*
 * One pass where writers commit concurrently (PostgreSQL), safe with several
 * relays: claim rows (per-user relay locks + SKIP LOCKED) in a transaction that
 * stays open while they are published and marked, so no other relay can send a
 * later event of the same users meanwhile. Users held by another relay wait for
 * the next pass.
 */
static int pass_claimed(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                        bool *more)
{
    struct store_conn *c;
    int rc = svc->ops->acquire(svc->store, &c);
    if (rc)
        return rc;
    if ((rc = svc->ops->begin(c, true))) {
        svc->ops->release(c);
        return rc;
    }
    struct outbox_row *rows = NULL;
    size_t n = 0;
    rc = svc->ops->outbox_claim(c, RELAY_BATCH, &rows, &n);
    int64_t *seqs = rc ? NULL : calloc(n ? n : 1, sizeof *seqs);
    if (rc || !seqs || n == 0) {
        svc->ops->rollback(c);
        svc->ops->release(c);
        free(seqs);
        outbox_rows_free(rows, n);
        *more = false;
        return rc ? rc : seqs ? 0 : TOCK_ENOMEM;
    }
    *more = n == RELAY_BATCH;
    size_t ok = 0;
    int bus_rc = publish_rows(bus, bops, rows, n, seqs, &ok);
    if (ok) {
        rc = svc->ops->outbox_mark_published(c, seqs, ok, clock_now_ms());
        if (rc)
            svc->ops->rollback(c);
        else
            rc = svc->ops->commit(c);
    } else {
        svc->ops->rollback(c);
    }
    svc->ops->release(c);
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

/* One pass: returns rows published (>= 0) or a negative error (bus or store). */
static int pass(struct svc *svc, struct bus *bus, const struct bus_ops *bops, bool *more,
                int64_t *hwm)
{
    if (svc->ops->ordered_commits)
        return pass_ordered(svc, bus, bops, more, hwm);
    return pass_claimed(svc, bus, bops, more);
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
    struct timespec ts = clock_deadline(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&r->mu);
    while (!r->kicked && !r->stopping)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
            break;
    r->kicked = false;
    pthread_mutex_unlock(&r->mu);
}

#define DAY_MS INT64_C(86400000)

struct relay_config relay_config_defaults(void)
{
    return (struct relay_config){7 * DAY_MS, 14 * DAY_MS, 60000};
}

int relay_config_from_env(struct relay_config *cfg, char *err, size_t errlen)
{
    const int64_t day = DAY_MS;
    struct relay_config d = relay_config_defaults();
    if (env_duration_ms("TOCK_OUTBOX_RETENTION", d.outbox_retention_ms, 0, 3650 * day,
                        &cfg->outbox_retention_ms, err, errlen) ||
        env_duration_ms("TOCK_PROCESSED_RETENTION", d.processed_retention_ms, 0, 3650 * day,
                        &cfg->processed_retention_ms, err, errlen) ||
        env_duration_ms("TOCK_MAINTENANCE_INTERVAL", d.maintenance_interval_ms, 100, day,
                        &cfg->maintenance_interval_ms, err, errlen))
        return -1;
    return 0;
}

/* Runs op in batches (one transaction each) until a batch comes back short. */
static int prune_table(struct svc *svc,
                       int (*op)(struct store_conn *, int64_t, int, int64_t *), int64_t before,
                       int64_t *total)
{
    *total = 0;
    for (int b = 0; b < PRUNE_MAX_BATCHES; b++) {
        struct store_conn *c;
        int rc = svc->ops->acquire(svc->store, &c);
        if (rc)
            return rc;
        int64_t n = 0;
        if (!(rc = svc->ops->begin(c, true))) {
            rc = op(c, before, PRUNE_BATCH, &n);
            if (rc)
                svc->ops->rollback(c);
            else
                rc = svc->ops->commit(c);
        }
        svc->ops->release(c);
        if (rc)
            return rc;
        *total += n;
        if (n < PRUNE_BATCH)
            break;
    }
    return 0;
}

int relay_maintain(struct svc *svc, const struct relay_config *cfg)
{
    int64_t now = clock_now_ms(), n = 0;
    int rc = prune_table(svc, svc->ops->outbox_prune, now - cfg->outbox_retention_ms, &n);
    if (n) {
        metrics_counter_add("tock_pruned_rows_total", "table", "outbox", (uint64_t)n);
        log_msg(LOG_INFO, "relay: pruned %lld published outbox rows", (long long)n);
    }
    if (rc)
        return rc;
    rc = prune_table(svc, svc->ops->processed_prune, now - cfg->processed_retention_ms, &n);
    if (n)
        metrics_counter_add("tock_pruned_rows_total", "table", "processed_events", (uint64_t)n);
    return rc;
}

static void *run(void *arg)
{
    struct relay *r = arg;
    int64_t backoff = 0;
    int64_t next_maint = clock_mono_ns() / 1000000 + r->cfg.maintenance_interval_ms;
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
        atomic_store(&r->failing, rc < 0);
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
        int64_t mono = clock_mono_ns() / 1000000;
        if (mono >= next_maint) {
            int mrc = relay_maintain(r->svc, &r->cfg);
            if (mrc)
                log_msg(LOG_WARN, "relay: maintenance failed (%s)", tock_strerror(mrc));
            next_maint = mono + r->cfg.maintenance_interval_ms;
        }
        if (!more) {
            int64_t until = next_maint - mono;
            wait_ms(r, until < RELAY_POLL_MS ? (until > 0 ? until : 0) : RELAY_POLL_MS);
        }
    }
    return NULL;
}

int relay_start(struct svc *svc, struct bus *bus, const struct bus_ops *bus_ops,
                const struct relay_config *cfg, struct relay **out)
{
    struct relay *r = calloc(1, sizeof *r);
    if (!r)
        return TOCK_ENOMEM;
    r->cfg = cfg ? *cfg : relay_config_defaults();
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
    if (!atomic_load(&r->failing) && relay_drain(r->svc, r->bus, r->bus_ops, &n) == 0 && n)
        log_msg(LOG_INFO, "relay: flushed %d events at shutdown", n);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

bool relay_failing(struct relay *r)
{
    return r && atomic_load(&r->failing);
}
