/*
 * bus.c — the bus registry: maps TOCK_BUS to a backend's ops table. Owns no
 * state; each backend parses the part of the spec after its "name:" prefix.
 */
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "core/err.h"

int bus_open(const char *spec, struct bus **out, const struct bus_ops **ops, char *err,
             size_t errlen)
{
    if (!spec || !*spec || strcmp(spec, "local") == 0) {
        *ops = &bus_local_ops;
        return bus_local_ops.open(spec, out, err, errlen);
    }
    if (strncmp(spec, "kafka:", 6) == 0) {
        *ops = &bus_kafka_ops;
        return bus_kafka_ops.open(spec + 6, out, err, errlen);
    }
    if (strcmp(spec, "dapr") == 0) {
        *ops = &bus_dapr_ops;
        return bus_dapr_ops.open(NULL, out, err, errlen);
    }
    snprintf(err, errlen, "TOCK_BUS: unsupported bus '%s' (use local, kafka:HOST:PORT,... or dapr)",
             spec);
    return TOCK_EINVAL;
}
