/*
 * bus.h — the message bus interface. A backend (bus_local.c today; Kafka and Dapr
 * next) is a `const struct bus_ops` table chosen by TOCK_BUS at start-up. The bus
 * moves CloudEvents as opaque bytes; it knows no tasks.
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
};

/* Picks a backend by TOCK_BUS: "local" (default). */
int bus_open(const char *spec, struct bus **out, const struct bus_ops **ops, char *err,
             size_t errlen);

extern const struct bus_ops bus_local_ops;

#endif
