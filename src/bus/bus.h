/*
 * bus.h — the message bus interface. A backend (bus_local.c, bus_kafka.c,
 * bus_dapr.c) is a `const struct bus_ops` table chosen by TOCK_BUS at start-up. The
 * bus moves CloudEvents as opaque bytes; it knows no tasks.
 *
 * Model: publish(topic, key, value) returns 0 only once the bus has durably
 * accepted the message (local: every subscriber's handler has returned). A
 * subscriber is (group, topics, handler): each message of those topics reaches one
 * member of each group. The handler's return value is the ack: 0 = processed
 * (commit the offset / SUCCESS), TOCK_EBUS or any other error = not processed
 * (redeliver later). Handlers must be idempotent by event id: delivery is at least
 * once. Per-key order is preserved.
 *
 * Lifetime: subscribe before start; after stop returns no handler runs again.
 */
#ifndef TOCK_BUS_BUS_H
#define TOCK_BUS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;

struct bus_msg {
    const char *topic;
    const char *key;   /* partition key: the user id */
    const char *value; /* the CloudEvent JSON */
    size_t len;
    const char *event_id;
};

typedef int (*bus_handler_fn)(const struct bus_msg *msg, void *arg);
/*
 * A batch handler: processes msgs[0..n) in order; on return *done is the length of
 * the prefix whose effects are committed. Returns 0 when *done == n, else the error
 * of msgs[*done] (the bus redelivers from there).
 */
typedef int (*bus_batch_fn)(const struct bus_msg *msgs, size_t n, size_t *done, void *arg);

struct bus_ops {
    const char *name;
    int (*open)(const char *spec, struct bus **out, char *err, size_t errlen);
    void (*close)(struct bus *b);
    int (*publish)(struct bus *b, const struct bus_msg *msg);
    int (*subscribe)(struct bus *b, const char *group, const char *const *topics,
                     size_t ntopics, bus_handler_fn fn, void *arg);
    int (*start)(struct bus *b);
    void (*stop)(struct bus *b);
    /* 0 when the broker is reachable (readiness). */
    int (*health)(struct bus *b);
    /*
     * Optional (NULL: the relay calls publish once per message). Publishes msgs[0..n)
     * in order and waits once for all of them; on return *published is the length of
     * the prefix the bus durably accepted (same meaning as publish returning 0 for
     * each), in order. Returns 0 when *published == n, else an error (TOCK_EBUS);
     * messages after the prefix may or may not have been delivered (at least once).
     * msgs and their strings are borrowed for the duration of the call.
     */
    int (*publish_batch)(struct bus *b, const struct bus_msg *msgs, size_t n,
                         size_t *published);
    /*
     * Optional (NULL: subscribe is used). Like subscribe, with a batch handler the bus
     * calls with the messages it has at hand (Kafka: up to a poll's worth), so a
     * consumer can commit many effects in one transaction. fn handles single messages
     * where the bus has no batch.
     */
    int (*subscribe_batch)(struct bus *b, const char *group, const char *const *topics,
                           size_t ntopics, bus_handler_fn fn, bus_batch_fn bfn, void *arg);
};

/*
 * Picks a backend by TOCK_BUS: "local" (default), "kafka:HOST:PORT,..." (the
 * Kafka backend also reads TOCK_TOPIC_PREFIX and TOCK_KAFKA_*; see docs/kafka.md)
 * or "dapr" (DAPR_HTTP_PORT, TOCK_DAPR_PUBSUB, ...; see docs/dapr.md).
 */
int bus_open(const char *spec, struct bus **out, const struct bus_ops **ops, char *err,
             size_t errlen);

extern const struct bus_ops bus_local_ops;
extern const struct bus_ops bus_kafka_ops;
extern const struct bus_ops bus_dapr_ops;

/*
 * The Dapr backend (TOCK_BUS=dapr; bus_dapr.c, docs/dapr.md). The sidecar pushes
 * deliveries to the app, so the api layer serves them through these calls; the bus
 * stays free of HTTP. All take a bus opened with bus_dapr_ops.
 */
#define BUS_DAPR_SUCCESS "SUCCESS"
#define BUS_DAPR_RETRY "RETRY"
#define BUS_DAPR_DROP "DROP"

/* True when ops is the Dapr backend (the /dapr and /events routes exist only then). */
bool bus_is_dapr(const struct bus_ops *ops);
/*
 * The body of GET /dapr/subscribe: a JSON array with one entry per (subscriber,
 * topic): {"pubsubname","topic" (prefixed),"route":"/events/<group>/<topic>",
 * "deadLetterTopic":"<prefix>dlq" (not on dlq itself),"metadata":{}}. On 0 *json
 * is a NUL-terminated string the caller frees with free(); else TOCK_ENOMEM.
 */
int bus_dapr_subscriptions_json(struct bus *b, char **json);
/*
 * One delivery to POST /events/<group>/<topic>. Returns TOCK_ENOTFOUND when no
 * subscriber has that route (answer HTTP 404: Dapr drops it, no retry). Else 0 and
 * *status (static) is BUS_DAPR_SUCCESS when the handler returned 0, BUS_DAPR_RETRY
 * when it failed (or the bus is stopping), BUS_DAPR_DROP when body is not a
 * CloudEvent (bad JSON, no id or type). The handler runs in the caller's thread
 * and gets the event without the attributes the sidecar added (pubsubname, topic,
 * traceid, tracestate). body is borrowed.
 */
int bus_dapr_deliver(struct bus *b, const char *group, const char *topic, const char *body,
                     size_t len, const char **status);
/*
 * Checks the dapr-api-token header value (NULL if absent) against APP_API_TOKEN,
 * in constant time. True when APP_API_TOKEN is unset or they are equal.
 */
bool bus_dapr_app_token_ok(struct bus *b, const char *token);

#endif
