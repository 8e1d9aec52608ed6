/*
 * consumer.h — the consumer framework: idempotent, retrying, dead-lettering
 * event handlers on top of the bus. A consumer declares a name, the topics and
 * event types it wants and a handler. For each delivered event the framework
 * opens a write transaction, records (consumer, event_id) in processed_events,
 * runs the handler in that same transaction and commits; only then does it ack
 * the bus. A redelivered event finds its mark and is skipped (no second effect).
 *
 * A failing handler is retried here, with exponential backoff (not by making the
 * bus redeliver); after max_attempts the event goes to the `dlq` topic through the
 * outbox (CloudEvent type tock.deadletter, data {original, error, consumer,
 * attempts}, marked processed in the same transaction) and is acked, so a poison
 * message never blocks its partition. Events of other types are acked untouched.
 * A tock.deadletter event this consumer itself produced is never dead-lettered
 * again (that could loop): after max_attempts it is logged and dropped.
 *
 * Metrics: tock_events_consumed_total, tock_events_retried_total,
 * tock_events_dead_lettered_total, tock_events_duplicate_total and
 * tock_consumer_handler_seconds_total (time spent in handlers), each labelled
 * {consumer}; lag — from an event's time (its commit in the outbox) to the commit
 * of this consumer's effect — as the gauge tock_consumer_lag_seconds (last event)
 * and the histogram tock_consumer_event_lag_seconds.
 *
 * Lifetime: consumer_new copies nothing from def but the pointers: def's strings
 * and arrays are borrowed and must outlive the consumer (use static tables).
 * Subscribe before bus start; free after bus stop (no handler runs after stop).
 */
#ifndef TOCK_ROLES_CONSUMER_H
#define TOCK_ROLES_CONSUMER_H

#include <jansson.h>
#include <stdint.h>

#include "bus/bus.h"
#include "service/service.h"

#define CONSUMER_MAX_ATTEMPTS_DEFAULT 5

/* One parsed CloudEvent; every pointer is borrowed for the handler call only. */
struct consumer_event {
    const char *topic;
    const char *raw; /* the CloudEvent JSON as delivered */
    size_t len;
    json_t *json;    /* the parsed event */
    const char *id, *type, *subject, *userid, *time; /* "" when absent */
    json_t *data;    /* NULL when absent */
    int64_t user_id, task_id; /* parsed userid / subject (0: none) */
    int64_t time_ms;          /* parsed time (0: absent or invalid) */
};

/*
 * Performs the effect inside the transaction on c (do not commit or roll back).
 * 0 = done; anything else rolls the transaction back and counts as a failure.
 */
typedef int (*consumer_handle_fn)(struct svc *svc, struct store_conn *c,
                                  const struct consumer_event *ev, void *arg);

struct consumer_def {
    const char *name;                  /* e.g. "audit": the bus group and the dedupe key */
    const char *const *topics;
    size_t ntopics;
    const char *const *types;          /* NULL: every type */
    size_t ntypes;
    consumer_handle_fn handle;
    void *arg;
    int max_attempts;                  /* 0: CONSUMER_MAX_ATTEMPTS_DEFAULT */
    int backoff_ms;                    /* first retry delay; 0: 100 ms (doubles, max 5 s) */
};

struct consumer;

/* The handler's errors and the dead-letter event use svc (borrowed). */
int consumer_new(struct svc *svc, const struct consumer_def *def, struct consumer **out);
/* Subscribes the consumer to its topics on the bus, group = def->name. */
int consumer_subscribe(struct consumer *cons, struct bus *bus, const struct bus_ops *bops);
/*
 * The bus handler: processes one delivery as described above. Returns 0 (ack) or
 * an error when the effect could not be committed nor dead-lettered (redeliver).
 * Exposed for tests and for buses driven by hand.
 */
int consumer_deliver(const struct bus_msg *msg, void *consumer);
/*
 * The batch handler (bus_batch_fn): the whole batch in one transaction when every
 * event succeeds first time; otherwise consumer_deliver for each, in order.
 */
int consumer_deliver_batch(const struct bus_msg *msgs, size_t n, size_t *done, void *consumer);
/* Makes pending backoff sleeps return early (shutdown); safe from any thread. */
void consumer_cancel(struct consumer *cons);
void consumer_free(struct consumer *cons);

#endif
