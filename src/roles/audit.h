/*
 * audit.h — the audit role: a consumer of every topic (task-events, task-updates,
 * reminders, dlq) that appends one audit_log row per event (event id unique,
 * type, user, task, time, the whole CloudEvent as payload), plus the retention
 * job that deletes rows older than TOCK_AUDIT_RETENTION_DAYS in small batches.
 * Nothing else deletes or changes audit rows.
 *
 * Lifetime: audit_start subscribes (call it before the bus starts) and spawns the
 * retention thread; audit_stop (after the bus stopped) joins it and frees.
 */
#ifndef TOCK_ROLES_AUDIT_H
#define TOCK_ROLES_AUDIT_H

#include <stdint.h>

#include "bus/bus.h"
#include "service/service.h"

#define AUDIT_RETENTION_DAYS_DEFAULT 90
#define AUDIT_SWEEP_BATCH 500

struct audit_config {
    int max_attempts;       /* TOCK_MAX_ATTEMPTS (default 5) */
    int retention_days;     /* TOCK_AUDIT_RETENTION_DAYS (default 90) */
    int sweep_interval_s;   /* TOCK_AUDIT_SWEEP_SECONDS (default 300) */
};

/* Reads the settings above from the environment; bad values -> -1 and err. */
int audit_config_from_env(struct audit_config *cfg, char *err, size_t errlen);

struct audit;

int audit_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                const struct audit_config *cfg, struct audit **out);
void audit_stop(struct audit *a);
/* Ends any retry wait of the consumer at once (shutdown); deliveries then fail fast. */
void audit_cancel(struct audit *a);

/*
 * Deletes rows created more than retention_days before clock_now_ms(), `batch`
 * rows per transaction, until none is left; *deleted gets the total.
 */
int audit_sweep(struct svc *svc, int retention_days, int batch, int64_t *deleted);

/* The consumer's handler (exposed for tests): appends ev to audit_log. */
struct consumer_event;
int audit_handle(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                 void *arg);

#endif
