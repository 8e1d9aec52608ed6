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

#include "bus/bus.h"
#include "service/service.h"

struct relay;

int relay_start(struct svc *svc, struct bus *bus, const struct bus_ops *bus_ops,
                struct relay **out);
/* Wakes the relay (safe from any thread; matches svc->outbox_kick). */
void relay_kick(void *relay);
void relay_stop(struct relay *r);
/* Publishes every pending row now, in the caller's thread (tests, CLI). */
int relay_drain(struct svc *svc, struct bus *bus, const struct bus_ops *bus_ops, int *published);

#endif
