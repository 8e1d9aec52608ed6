/*
 * recurring.h — the recurring role: a consumer (roles/consumer.h) named
 * "recurring" of task.completed events on task-events. For each it loads the
 * completed task and, if it recurs and is still completed, creates the next
 * occurrence (service/recurrence.c) in the consumer's transaction. Exactly one next
 * occurrence per completed one: the framework skips a redelivered event, and the
 * unique (series_id, occurrence) key covers a repeated completion (reopen, complete
 * again) or a replayed event with a new id.
 *
 * Lifetime: recurring_start subscribes (call it before the bus starts);
 * recurring_cancel ends retry waits (shutdown); recurring_stop (after the bus
 * stopped) frees.
 */
#ifndef TOCK_ROLES_RECURRING_H
#define TOCK_ROLES_RECURRING_H

#include "bus/bus.h"
#include "service/service.h"

struct recurring;

/* max_attempts: the consumer's attempts before dead-lettering (0: default). */
int recurring_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                    int max_attempts, struct recurring **out);
void recurring_cancel(struct recurring *r);
void recurring_stop(struct recurring *r);

/* The consumer's handler (exposed for tests). */
struct consumer_event;
int recurring_handle(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                     void *arg);

#endif
