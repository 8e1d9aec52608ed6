/*
 * scheduler.h — the scheduler role: fires due reminders on time, exactly once
 * across replicas. One thread sleeps until the earliest pending reminder's
 * fire_at (no fixed polling minute), then claims due reminders in batches
 * (svc_reminders_fire_due: PostgreSQL's FOR UPDATE SKIP LOCKED, SQLite's single
 * writer), marks them fired and writes their reminder.due events through the
 * outbox in the same transaction. It wakes early when this process changed
 * reminders (scheduler_kick, wired to svc->reminder_kick), and re-reads the
 * earliest fire_at at least every poll_ms to see reminders other processes wrote.
 * After downtime, everything overdue is claimed at once and marked late.
 *
 * Lifetime: scheduler_start spawns the thread; scheduler_stop joins it and frees.
 */
#ifndef TOCK_ROLES_SCHEDULER_H
#define TOCK_ROLES_SCHEDULER_H

#include <stdint.h>

#include "service/service.h"

struct scheduler_config {
    int poll_ms;     /* TOCK_SCHEDULER_POLL_MS (default 1000): re-check for other processes */
    int batch;       /* TOCK_SCHEDULER_BATCH (default 500): reminders per transaction */
    int64_t late_ms; /* TOCK_REMINDER_LATE_MS (default 60000): later than this = "late" */
};

/* Reads the settings above from the environment; bad values -> -1 and err. */
int scheduler_config_from_env(struct scheduler_config *cfg, char *err, size_t errlen);

struct scheduler;

int scheduler_start(struct svc *svc, const struct scheduler_config *cfg, struct scheduler **out);
/* Wakes the scheduler to re-read the earliest fire_at (any thread; svc->reminder_kick). */
void scheduler_kick(void *scheduler);
void scheduler_stop(struct scheduler *sch);

#endif
