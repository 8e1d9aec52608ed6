/*
 * metrics.c — fixed-size, lock-free-on-the-hot-path metric tables and their
 * Prometheus text rendering. Histogram buckets (seconds) suit an API whose
 * requests take tens of microseconds to a few milliseconds.
 */
#include "obs/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HTTP_SLOTS 1024
#define HIST_SLOTS 128
#define CTR_SLOTS 256

static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                 0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                 1,      2.5,     5,      10};
#define NBUCKETS (sizeof buckets / sizeof *buckets)

struct http_slot {
    const char *_Atomic route;
    const char *method;
    int status;
    atomic_uint_fast64_t count;
};

struct hist_slot {
    const char *_Atomic route;
    atomic_uint_fast64_t b[NBUCKETS];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_ns;
};

struct ctr_slot {
    const char *_Atomic family;
    const char *label, *value;
    atomic_uint_fast64_t count;
};

/* Labelled gauges (value stored as the bits of a double) and histograms. */
#define GAUGE_SLOTS 64
#define LHIST_SLOTS 64
struct lslot_head {
    const char *_Atomic family;
    const char *label, *value;
};
struct gauge_slot {
    struct lslot_head h; /* first: labelled_slot works on it */
    _Atomic double v;
};
struct lhist_slot {
    struct lslot_head h;
    atomic_uint_fast64_t b[NBUCKETS];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_ns;
};
static struct gauge_slot gauge_slots[GAUGE_SLOTS];
static struct lhist_slot lhist_slots[LHIST_SLOTS];

static struct http_slot http_slots[HTTP_SLOTS];
static struct hist_slot hist_slots[HIST_SLOTS];
static struct ctr_slot ctr_slots[CTR_SLOTS];
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t hash_ptr(const void *p, int a, const char *b)
{
    size_t h = (size_t)(uintptr_t)p * 2654435761u;
    h ^= (size_t)a * 40503u;
    h ^= (size_t)(uintptr_t)b * 97u;
    return h;
}

static struct http_slot *http_slot(const char *route, const char *method, int status)
{
    size_t h = hash_ptr(route, status, method);
    for (size_t i = 0; i < HTTP_SLOTS; i++) {
        struct http_slot *s = &http_slots[(h + i) % HTTP_SLOTS];
        const char *r = atomic_load(&s->route);
        if (r == route && s->method == method && s->status == status)
            return s;
        if (!r) {
            pthread_mutex_lock(&reg_mu);
            if (!atomic_load(&s->route)) {
                s->method = method;
                s->status = status;
                atomic_store(&s->route, route);
                pthread_mutex_unlock(&reg_mu);
                return s;
            }
            pthread_mutex_unlock(&reg_mu);
            i--; /* re-examine the slot someone just filled */
        }
    }
    return NULL; /* table full: drop the sample rather than block */
}

static struct hist_slot *hist_slot(const char *route)
{
    size_t h = hash_ptr(route, 0, NULL);
    for (size_t i = 0; i < HIST_SLOTS; i++) {
        struct hist_slot *s = &hist_slots[(h + i) % HIST_SLOTS];
        const char *r = atomic_load(&s->route);
        if (r == route)
            return s;
        if (!r) {
            pthread_mutex_lock(&reg_mu);
            if (!atomic_load(&s->route)) {
                atomic_store(&s->route, route);
                pthread_mutex_unlock(&reg_mu);
                return s;
            }
            pthread_mutex_unlock(&reg_mu);
            i--;
        }
    }
    return NULL;
}

void metrics_http_observe(const char *route, const char *method, int status, double seconds)
{
    struct http_slot *s = http_slot(route, method, status);
    if (s)
        atomic_fetch_add(&s->count, 1);
    struct hist_slot *h = hist_slot(route);
    if (!h)
        return;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i])
            atomic_fetch_add(&h->b[i], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_ns, (uint_fast64_t)(seconds * 1e9));
}

void metrics_counter_add(const char *family, const char *label, const char *value, uint64_t n)
{
    size_t h = hash_ptr(family, 0, value);
    for (size_t i = 0; i < CTR_SLOTS; i++) {
        struct ctr_slot *s = &ctr_slots[(h + i) % CTR_SLOTS];
        const char *f = atomic_load(&s->family);
        if (f == family && s->value == value) {
            atomic_fetch_add(&s->count, n);
            return;
        }
        if (!f) {
            pthread_mutex_lock(&reg_mu);
            if (!atomic_load(&s->family)) {
                s->label = label;
                s->value = value;
                atomic_store(&s->family, family);
            }
            pthread_mutex_unlock(&reg_mu);
            i--;
        }
    }
}

/*
 * Finds or claims the slot of (family, value) in a table of `n` slots of `size`
 * bytes that each start with a struct lslot_head; NULL when full.
 */
static void *labelled_slot(void *table, size_t n, size_t size, const char *family,
                           const char *label, const char *value)
{
    size_t h = hash_ptr(family, 0, value);
    for (size_t i = 0; i < n; i++) {
        struct lslot_head *s = (struct lslot_head *)((char *)table + ((h + i) % n) * size);
        const char *f = atomic_load(&s->family);
        if (f == family && s->value == value)
            return s;
        if (!f) {
            pthread_mutex_lock(&reg_mu);
            if (!atomic_load(&s->family)) {
                s->label = label;
                s->value = value;
                atomic_store(&s->family, family);
            }
            pthread_mutex_unlock(&reg_mu);
            i--;
        }
    }
    return NULL;
}

void metrics_gauge_set(const char *family, const char *label, const char *value, double v)
{
    struct gauge_slot *s =
        labelled_slot(gauge_slots, GAUGE_SLOTS, sizeof *gauge_slots, family, label, value);
    if (s)
        atomic_store(&s->v, v);
}

void metrics_observe(const char *family, const char *label, const char *value, double seconds)
{
    struct lhist_slot *h =
        labelled_slot(lhist_slots, LHIST_SLOTS, sizeof *lhist_slots, family, label, value);
    if (!h)
        return;
    if (seconds < 0)
        seconds = 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i])
            atomic_fetch_add(&h->b[i], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_ns, (uint_fast64_t)(seconds * 1e9));
}

static bool family_seen(const char **done, size_t *ndone, const char *f)
{
    for (size_t d = 0; d < *ndone; d++)
        if (done[d] == f)
            return true;
    done[(*ndone)++] = f;
    return false;
}

static void render_labelled(struct buf *out)
{
    const char *done[GAUGE_SLOTS + LHIST_SLOTS];
    size_t ndone = 0;
    for (size_t i = 0; i < GAUGE_SLOTS; i++) {
        const char *f = atomic_load(&gauge_slots[i].h.family);
        if (!f || family_seen(done, &ndone, f))
            continue;
        buf_printf(out, "# HELP %s Gauge %s.\n# TYPE %s gauge\n", f, f, f);
        for (size_t j = i; j < GAUGE_SLOTS; j++) {
            struct gauge_slot *s = &gauge_slots[j];
            if (atomic_load(&s->h.family) != f)
                continue;
            buf_printf(out, "%s{%s=\"", f, s->h.label);
            metrics_escape_label(out, s->h.value);
            buf_printf(out, "\"} %.9g\n", atomic_load(&s->v));
        }
    }
    for (size_t i = 0; i < LHIST_SLOTS; i++) {
        const char *f = atomic_load(&lhist_slots[i].h.family);
        if (!f || family_seen(done, &ndone, f))
            continue;
        buf_printf(out, "# HELP %s Histogram %s.\n# TYPE %s histogram\n", f, f, f);
        for (size_t j = i; j < LHIST_SLOTS; j++) {
            struct lhist_slot *h = &lhist_slots[j];
            if (atomic_load(&h->h.family) != f)
                continue;
            uint64_t count = atomic_load(&h->count);
            for (size_t b = 0; b <= NBUCKETS; b++) {
                uint64_t v = b < NBUCKETS ? atomic_load(&h->b[b]) : count;
                buf_printf(out, "%s_bucket{%s=\"", f, h->h.label);
                metrics_escape_label(out, h->h.value);
                if (b < NBUCKETS)
                    buf_printf(out, "\",le=\"%g\"} %llu\n", buckets[b],
                               (unsigned long long)(v > count ? count : v));
                else
                    buf_printf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
            }
            buf_printf(out, "%s_sum{%s=\"", f, h->h.label);
            metrics_escape_label(out, h->h.value);
            buf_printf(out, "\"} %.9f\n", (double)atomic_load(&h->sum_ns) / 1e9);
            buf_printf(out, "%s_count{%s=\"", f, h->h.label);
            metrics_escape_label(out, h->h.value);
            buf_printf(out, "\"} %llu\n", (unsigned long long)count);
        }
    }
}

void metrics_escape_label(struct buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '"')
            buf_puts(out, "\\\"");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else
            buf_append(out, p, 1);
    }
}

void metrics_render_gauge(struct buf *out, const char *name, const char *help, double value)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, value);
}

void metrics_render(struct buf *out)
{
    buf_puts(out, "# HELP tock_http_requests_total HTTP requests by route, method and status.\n"
                  "# TYPE tock_http_requests_total counter\n");
    for (size_t i = 0; i < HTTP_SLOTS; i++) {
        struct http_slot *s = &http_slots[i];
        const char *r = atomic_load(&s->route);
        if (!r)
            continue;
        buf_puts(out, "tock_http_requests_total{route=\"");
        metrics_escape_label(out, r);
        buf_puts(out, "\",method=\"");
        metrics_escape_label(out, s->method);
        buf_printf(out, "\",status=\"%d\"} %llu\n", s->status,
                   (unsigned long long)atomic_load(&s->count));
    }
    buf_puts(out, "# HELP tock_http_request_duration_seconds HTTP request latency by route.\n"
                  "# TYPE tock_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < HIST_SLOTS; i++) {
        struct hist_slot *h = &hist_slots[i];
        const char *r = atomic_load(&h->route);
        if (!r)
            continue;
        /* Read count first: buckets are then >= what it implies, never less. */
        uint64_t count = atomic_load(&h->count);
        for (size_t b = 0; b < NBUCKETS; b++) {
            uint64_t v = atomic_load(&h->b[b]);
            buf_puts(out, "tock_http_request_duration_seconds_bucket{route=\"");
            metrics_escape_label(out, r);
            buf_printf(out, "\",le=\"%g\"} %llu\n", buckets[b],
                       (unsigned long long)(v > count ? count : v));
        }
        buf_puts(out, "tock_http_request_duration_seconds_bucket{route=\"");
        metrics_escape_label(out, r);
        buf_printf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
        buf_puts(out, "tock_http_request_duration_seconds_sum{route=\"");
        metrics_escape_label(out, r);
        buf_printf(out, "\"} %.9f\n", (double)atomic_load(&h->sum_ns) / 1e9);
        buf_puts(out, "tock_http_request_duration_seconds_count{route=\"");
        metrics_escape_label(out, r);
        buf_printf(out, "\"} %llu\n", (unsigned long long)count);
    }
    /* Counter families, each rendered contiguously. */
    const char *done[CTR_SLOTS];
    size_t ndone = 0;
    for (size_t i = 0; i < CTR_SLOTS; i++) {
        const char *f = atomic_load(&ctr_slots[i].family);
        if (!f)
            continue;
        bool seen = false;
        for (size_t d = 0; d < ndone; d++)
            seen |= done[d] == f;
        if (seen)
            continue;
        done[ndone++] = f;
        buf_printf(out, "# HELP %s Count of %s.\n# TYPE %s counter\n", f, f, f);
        /* Families named *_seconds_total count nanoseconds and render as seconds. */
        size_t fl = strlen(f);
        bool secs = fl > 14 && strcmp(f + fl - 14, "_seconds_total") == 0;
        for (size_t j = i; j < CTR_SLOTS; j++) {
            struct ctr_slot *s = &ctr_slots[j];
            if (atomic_load(&s->family) != f)
                continue;
            buf_printf(out, "%s{%s=\"", f, s->label);
            metrics_escape_label(out, s->value);
            if (secs)
                buf_printf(out, "\"} %.9f\n", (double)atomic_load(&s->count) / 1e9);
            else
                buf_printf(out, "\"} %llu\n", (unsigned long long)atomic_load(&s->count));
        }
    }
    render_labelled(out);
}
