/*
 * metrics.h — the process's metrics registry and the Prometheus text format
 * (0.0.4). The registry is the one piece of global mutable state besides the
 * bus: fixed tables of atomic counters, so recording never allocates or blocks
 * (a mutex is taken only the first time a label set appears).
 *
 * Label values are static strings (route patterns, method names) owned by the
 * caller for the process lifetime: the registry keeps the pointers.
 */
#ifndef TOCK_OBS_METRICS_H
#define TOCK_OBS_METRICS_H

#include <stdint.h>

#include "core/buf.h"

/* One finished HTTP request: route pattern (static), method, status, seconds. */
void metrics_http_observe(const char *route, const char *method, int status, double seconds);
/* A counter with one label (static strings): e.g. ("tock_events_published_total", "topic", t). */
/* A family named *_seconds_total counts nanoseconds and is rendered in seconds. */
void metrics_counter_add(const char *family, const char *label, const char *value, uint64_t n);

/* A gauge with one label (static strings), set to v: e.g. consumer lag per consumer. */
void metrics_gauge_set(const char *family, const char *label, const char *value, double v);
/* An observation (seconds) into a histogram family with one label (static strings). */
void metrics_observe(const char *family, const char *label, const char *value, double seconds);

/* Appends every registered family in exposition format. */
void metrics_render(struct buf *out);
/* Helpers for callers that add gauges computed at scrape time. */
void metrics_render_gauge(struct buf *out, const char *name, const char *help, double value);
/* Escapes a label value (\\, \", \n) into out. */
void metrics_escape_label(struct buf *out, const char *v);

#endif
