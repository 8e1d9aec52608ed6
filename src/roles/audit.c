/*
 * audit.c — the audit role: its consumer handler (one audit_log row per event,
 * in the framework's transaction) and the retention thread. The rows' payload is
 * the CloudEvent exactly as delivered.
 */
#include "roles/audit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs/clock.h"
#include "obs/env.h"
#include "obs/log.h"
#include "roles/consumer.h"

static const char *const audit_topics[] = {"task-events", "task-updates", "reminders", "dlq"};

struct audit {
    struct svc *svc;
    struct consumer *cons;
    struct audit_config cfg;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

int audit_config_from_env(struct audit_config *cfg, char *err, size_t errlen)
{
    if (env_int("TOCK_MAX_ATTEMPTS", CONSUMER_MAX_ATTEMPTS_DEFAULT, 1, 100, &cfg->max_attempts,
                err, errlen) ||
        env_int("TOCK_AUDIT_RETENTION_DAYS", AUDIT_RETENTION_DAYS_DEFAULT, 1, 36500,
                &cfg->retention_days, err, errlen) ||
        env_int("TOCK_AUDIT_SWEEP_SECONDS", 300, 1, 86400, &cfg->sweep_interval_s, err, errlen))
        return -1;
    return 0;
}

int audit_handle(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                 void *arg)
{
    (void)arg;
    struct audit_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.event_id, sizeof r.event_id, "%s", ev->id);
    snprintf(r.type, sizeof r.type, "%s", ev->type);
    r.user_id = ev->user_id;
    r.task_id = ev->task_id;
    r.created_at = clock_now_ms();
    r.time = ev->time_ms ? ev->time_ms : r.created_at;
    r.payload = strndup(ev->raw, ev->len);
    if (!r.payload)
        return TOCK_ENOMEM;
    int rc = svc->ops->audit_append(c, &r);
    free(r.payload);
    return rc;
}

int audit_sweep(struct svc *svc, int retention_days, int batch, int64_t *deleted)
{
    int64_t before = clock_now_ms() - (int64_t)retention_days * 86400000;
    *deleted = 0;
    for (;;) {
        struct store_conn *c;
        int rc = svc->ops->acquire(svc->store, &c);
        if (rc)
            return rc;
        int64_t n = 0;
        /* Small transactions: the writers (and SQLite's single write lock) never wait long. */
        if (!(rc = svc->ops->begin(c, true))) {
            rc = svc->ops->audit_prune(c, before, batch, &n);
            if (rc)
                svc->ops->rollback(c);
            else
                rc = svc->ops->commit(c);
        }
        svc->ops->release(c);
        if (rc)
            return rc;
        *deleted += n;
        if (n < batch)
            return 0;
    }
}

static void *run(void *arg)
{
    struct audit *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        pthread_mutex_unlock(&a->mu);
        int64_t n = 0;
        int rc = audit_sweep(a->svc, a->cfg.retention_days, AUDIT_SWEEP_BATCH, &n);
        if (rc)
            log_msg(LOG_WARN, "audit: retention sweep failed (%s)", tock_strerror(rc));
        else if (n)
            log_msg(LOG_INFO, "audit: retention removed %lld entries", (long long)n);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += a->cfg.sweep_interval_s;
        pthread_mutex_lock(&a->mu);
        while (!a->stopping)
            if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) != 0)
                break;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int audit_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                const struct audit_config *cfg, struct audit **out)
{
    struct audit *a = calloc(1, sizeof *a);
    if (!a)
        return TOCK_ENOMEM;
    a->svc = svc;
    a->cfg = *cfg;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    struct consumer_def def = {
        .name = "audit",
        .topics = audit_topics,
        .ntopics = sizeof audit_topics / sizeof *audit_topics,
        .handle = audit_handle,
        .max_attempts = cfg->max_attempts,
    };
    int rc = consumer_new(svc, &def, &a->cons);
    if (!rc)
        rc = consumer_subscribe(a->cons, bus, bops);
    if (!rc && pthread_create(&a->thread, NULL, run, a) != 0)
        rc = TOCK_EINTERNAL;
    if (rc) {
        audit_stop(a);
        return rc;
    }
    a->thread_started = true;
    *out = a;
    return 0;
}

void audit_cancel(struct audit *a)
{
    if (a)
        consumer_cancel(a->cons);
}

void audit_stop(struct audit *a)
{
    if (!a)
        return;
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->stopping = true;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
    }
    consumer_free(a->cons);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}
