/*
 * relay.h — the relay role: moves outbox rows to the bus in outbox order, marks
 * them published, and retries with exponential backoff and jitter while the bus
 * fails (the API keeps writing; the outbox just grows). It wakes at once when a
 * commit appended rows (relay_kick) and polls every second for rows written by
 * other processes.
 *
 * Lifetime: relay_start spawns one thread; relay_stop joins the thread, makes one
 * last bounded attempt to publish what is pending (skipped when the thread's last
 * pass failed: the bus is down and the rows stay in the outbox) and frees the relay.
 */
#ifndef TOCK_ROLES_RELAY_H
#define TOCK_ROLES_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "service/service.h"

struct relay;

/*
 * Retention, run by every relay's maintenance job (each TOCK_MAINTENANCE_INTERVAL,
 * default 60 s; in batches of 1,000 rows, one transaction each): published outbox
 * rows older than TOCK_OUTBOX_RETENTION (default 7d) are deleted, their task-events
 * kept in event_log for task history; processed_events marks older than
 * TOCK_PROCESSED_RETENTION (default 14d) are deleted — a redelivery older than that
 * would be applied again, so keep it above the bus's own retention.
 */
struct relay_config {
    int64_t outbox_retention_ms;
    int64_t processed_retention_ms;
    int64_t maintenance_interval_ms;
};
struct relay_config relay_config_defaults(void);
/* Reads the TOCK_* settings above; -1 with err set on a malformed value. */
int relay_config_from_env(struct relay_config *cfg, char *err, size_t errlen);
/* One maintenance round now (tests, and the relay thread). */
int relay_maintain(struct svc *svc, const struct relay_config *cfg);

/* cfg NULL: relay_config_defaults(). */
int relay_start(struct svc *svc, struct bus *bus, const struct bus_ops *bus_ops,
                const struct relay_config *cfg, struct relay **out);
/* True while the relay's last pass failed (bus or store unreachable). */
bool relay_failing(struct relay *r);
/* Wakes the relay (safe from any thread; matches svc->outbox_kick). */
void relay_kick(void *relay);
void relay_stop(struct relay *r);
/* Publishes every pending row now, in the caller's thread (tests, CLI). */
int relay_drain(struct svc *svc, struct bus *bus, const struct bus_ops *bus_ops, int *published);

#endif
