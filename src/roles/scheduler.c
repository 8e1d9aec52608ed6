/*
 * scheduler.c — the scheduler thread (see scheduler.h): fire what is due, read
 * the earliest pending fire_at, sleep on a condition variable (monotonic clock)
 * until then, the poll interval, a kick or shutdown, whichever comes first.
 */
#include "roles/scheduler.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs/clock.h"
#include "obs/env.h"
#include "obs/log.h"

struct scheduler {
    struct svc *svc;
    struct scheduler_config cfg;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, dirty;
};

int scheduler_config_from_env(struct scheduler_config *cfg, char *err, size_t errlen)
{
    int64_t poll, batch, late;
    if (env_i64("TOCK_SCHEDULER_POLL_MS", 1000, 10, 60000, &poll, err, errlen) ||
        env_i64("TOCK_SCHEDULER_BATCH", 500, 1, 10000, &batch, err, errlen) ||
        env_i64("TOCK_REMINDER_LATE_MS", 60000, 0, 86400000, &late, err, errlen))
        return -1;
    cfg->poll_ms = (int)poll;
    cfg->batch = (int)batch;
    cfg->late_ms = late;
    return 0;
}

/* Waits up to ms (monotonic) unless kicked or stopping; called with mu held. */
static void wait_ms(struct scheduler *sch, int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);
    while (!sch->stopping && !sch->dirty)
        if (pthread_cond_timedwait(&sch->cv, &sch->mu, &ts) != 0)
            break;
}

static void *run(void *arg)
{
    struct scheduler *sch = arg;
    pthread_mutex_lock(&sch->mu);
    while (!sch->stopping) {
        sch->dirty = false;
        pthread_mutex_unlock(&sch->mu);
        int64_t sleep_ms = sch->cfg.poll_ms;
        size_t fired = 0, total = 0;
        int rc;
        do {
            rc = svc_reminders_fire_due(sch->svc, clock_now_ms(), sch->cfg.batch,
                                        sch->cfg.late_ms, &fired);
            total += fired;
        } while (!rc && fired == (size_t)sch->cfg.batch);
        int64_t next = 0;
        if (!rc)
            rc = svc_reminder_next(sch->svc, &next);
        if (rc) {
            log_msg(LOG_WARN, "scheduler: %s; retrying in %d ms", tock_strerror(rc),
                    sch->cfg.poll_ms);
        } else if (next) {
            int64_t until = next - clock_now_ms();
            if (until < sleep_ms)
                /* Overdue rows another replica holds right now: look again shortly. */
                sleep_ms = until > 0 ? until : (total ? 0 : 1);
        }
        pthread_mutex_lock(&sch->mu);
        wait_ms(sch, sleep_ms);
    }
    pthread_mutex_unlock(&sch->mu);
    return NULL;
}

int scheduler_start(struct svc *svc, const struct scheduler_config *cfg, struct scheduler **out)
{
    struct scheduler *sch = calloc(1, sizeof *sch);
    if (!sch)
        return TOCK_ENOMEM;
    sch->svc = svc;
    sch->cfg = *cfg;
    pthread_mutex_init(&sch->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sch->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&sch->thread, NULL, run, sch) != 0) {
        pthread_mutex_destroy(&sch->mu);
        pthread_cond_destroy(&sch->cv);
        free(sch);
        return TOCK_EINTERNAL;
    }
    sch->started = true;
    *out = sch;
    return 0;
}

void scheduler_kick(void *arg)
{
    struct scheduler *sch = arg;
    pthread_mutex_lock(&sch->mu);
    sch->dirty = true;
    pthread_cond_signal(&sch->cv);
    pthread_mutex_unlock(&sch->mu);
}

void scheduler_stop(struct scheduler *sch)
{
    if (!sch)
        return;
    pthread_mutex_lock(&sch->mu);
    sch->stopping = true;
    pthread_cond_signal(&sch->cv);
    pthread_mutex_unlock(&sch->mu);
    pthread_join(sch->thread, NULL);
    pthread_mutex_destroy(&sch->mu);
    pthread_cond_destroy(&sch->cv);
    free(sch);
}
