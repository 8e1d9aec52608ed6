/*
 * test_metrics.c — the metrics registry and its Prometheus text rendering:
 * HELP/TYPE lines, the request counter with route/method/status labels, the
 * latency histogram (cumulative buckets in ascending order ending with +Inf =
 * _count, and _sum), one-label counters, gauges and label escaping.
 *
 * The registry is process-global: each test uses its own route strings (the
 * registry keys on the pointers) and only looks at its own lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "obs/metrics.h"

static const char ROUTE_TASKS[] = "/v1/tasks";
static const char ROUTE_ONE[] = "/v1/tasks/{id}";
static const char ROUTE_WEIRD[] = "/x\"y\\z\nw";
static const char GET[] = "GET";
static const char POST[] = "POST";

static char *render(void)
{
    struct buf b;
    buf_init(&b, 0);
    metrics_render(&b);
    assert_true(b.len > 0);
    assert_int_equal(b.data[b.len - 1], '\n');
    return buf_detach(&b, NULL);
}

/* The whole line that starts with prefix (NULL if none); count set to matches. */
static const char *find_line(const char *text, const char *prefix, int *count)
{
    const char *found = NULL;
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *p = text; *p;) {
        if (strncmp(p, prefix, pl) == 0) {
            if (!found)
                found = p;
            n++;
        }
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    if (count)
        *count = n;
    return found;
}

/* The sample value of the unique line "<prefix> <value>". */
static double sample(const char *text, const char *prefix)
{
    int n;
    const char *l = find_line(text, prefix, &n);
    if (!l)
        fail_msg("no line starting with %s", prefix);
    if (n != 1)
        fail_msg("%d lines starting with %s", n, prefix);
    const char *v = l + strlen(prefix);
    if (*v != ' ')
        fail_msg("line %.*s: no value after the labels", (int)strcspn(l, "\n"), l);
    char *end;
    double d = strtod(v + 1, &end);
    if (end == v + 1 || *end != '\n')
        fail_msg("bad value on line %.*s", (int)strcspn(l, "\n"), l);
    return d;
}

static void assert_has_line(const char *text, const char *line)
{
    int n;
    size_t l = strlen(line);
    const char *p = find_line(text, line, &n);
    for (; p; p = find_line(p + 1, line, NULL))
        if (p[l] == '\n')
            return;
    fail_msg("missing line: %s", line);
}

static void test_http_counter(void **state)
{
    (void)state;
    metrics_http_observe(ROUTE_TASKS, GET, 200, 0.00005);
    metrics_http_observe(ROUTE_TASKS, GET, 200, 0.003);
    metrics_http_observe(ROUTE_TASKS, GET, 200, 0.2);
    metrics_http_observe(ROUTE_TASKS, GET, 200, 20.0);
    metrics_http_observe(ROUTE_TASKS, GET, 404, 0.001);
    metrics_http_observe(ROUTE_TASKS, POST, 201, 0.0004);
    char *out = render();
    assert_has_line(out, "# HELP tock_http_requests_total HTTP requests by route, method and "
                         "status.");
    assert_has_line(out, "# TYPE tock_http_requests_total counter");
    assert_true(sample(out, "tock_http_requests_total{route=\"/v1/tasks\",method=\"GET\","
                            "status=\"200\"}") == 4);
    assert_true(sample(out, "tock_http_requests_total{route=\"/v1/tasks\",method=\"GET\","
                            "status=\"404\"}") == 1);
    assert_true(sample(out, "tock_http_requests_total{route=\"/v1/tasks\",method=\"POST\","
                            "status=\"201\"}") == 1);
    /* Nothing recorded for combinations never observed. */
    assert_null(find_line(out, "tock_http_requests_total{route=\"/v1/tasks\",method=\"POST\","
                               "status=\"200\"}", NULL));
    /* TYPE precedes the first sample. */
    assert_true(find_line(out, "# TYPE tock_http_requests_total", NULL) <
                find_line(out, "tock_http_requests_total{", NULL));
    free(out);

    /* Counting continues. */
    metrics_http_observe(ROUTE_TASKS, GET, 200, 0.01);
    out = render();
    assert_true(sample(out, "tock_http_requests_total{route=\"/v1/tasks\",method=\"GET\","
                            "status=\"200\"}") == 5);
    free(out);
}

/* Checks the histogram of route (label text as rendered): returns its _count. */
static double check_histogram(const char *out, const char *route_label, double want_sum)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix,
             "tock_http_request_duration_seconds_bucket{route=\"%s\",le=\"", route_label);
    size_t pl = strlen(prefix);
    double last_le = -1, last_v = -1, inf = -1;
    int nb = 0;
    bool seen_inf = false;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, pl) == 0) {
            if (seen_inf)
                fail_msg("bucket after +Inf: %.*s", (int)(nl - p), p);
            const char *q = p + pl;
            double le;
            if (strncmp(q, "+Inf\"} ", 7) == 0) {
                seen_inf = true;
                le = INFINITY;
                q += 7;
            } else {
                char *end;
                le = strtod(q, &end);
                if (end == q || strncmp(end, "\"} ", 3) != 0)
                    fail_msg("bad bucket line %.*s", (int)(nl - p), p);
                q = end + 3;
            }
            char *end;
            double v = strtod(q, &end);
            if (end == q || *end != '\n')
                fail_msg("bad bucket value %.*s", (int)(nl - p), p);
            if (!(le > last_le))
                fail_msg("buckets not ascending: le %g after %g", le, last_le);
            if (v < last_v)
                fail_msg("bucket counts not cumulative: %g after %g", v, last_v);
            last_le = le;
            last_v = v;
            if (seen_inf)
                inf = v;
            nb++;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!seen_inf)
        fail_msg("no le=\"+Inf\" bucket for %s", route_label);
    assert_true(nb >= 2);
    snprintf(prefix, sizeof prefix, "tock_http_request_duration_seconds_count{route=\"%s\"}",
             route_label);
    double count = sample(out, prefix);
    assert_true(inf == count);
    snprintf(prefix, sizeof prefix, "tock_http_request_duration_seconds_sum{route=\"%s\"}",
             route_label);
    double sum = sample(out, prefix);
    if (fabs(sum - want_sum) > 1e-6)
        fail_msg("%s: _sum %.9f, expected %.9f", route_label, sum, want_sum);
    return count;
}

static double bucket(const char *out, const char *route_label, const char *le)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix,
             "tock_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"}", route_label,
             le);
    return sample(out, prefix);
}

static void test_histogram(void **state)
{
    (void)state;
    metrics_http_observe(ROUTE_ONE, GET, 200, 0.00005);
    metrics_http_observe(ROUTE_ONE, GET, 200, 0.0004);
    metrics_http_observe(ROUTE_ONE, GET, 404, 0.001); /* on a bucket edge: le is inclusive */
    metrics_http_observe(ROUTE_ONE, POST, 201, 0.003);
    metrics_http_observe(ROUTE_ONE, GET, 200, 0.2);
    metrics_http_observe(ROUTE_ONE, GET, 500, 20.0); /* beyond the largest bucket */
    char *out = render();
    assert_has_line(out, "# HELP tock_http_request_duration_seconds HTTP request latency by "
                         "route.");
    assert_has_line(out, "# TYPE tock_http_request_duration_seconds histogram");
    assert_true(find_line(out, "# TYPE tock_http_request_duration_seconds histogram", NULL) <
                find_line(out, "tock_http_request_duration_seconds_bucket{", NULL));
    double count = check_histogram(out, "/v1/tasks/{id}",
                                   0.00005 + 0.0004 + 0.001 + 0.003 + 0.2 + 20.0);
    assert_true(count == 6);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.0001") == 1);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.00025") == 1);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.0005") == 2);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.001") == 3);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.005") == 4);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.1") == 4);
    assert_true(bucket(out, "/v1/tasks/{id}", "0.25") == 5);
    assert_true(bucket(out, "/v1/tasks/{id}", "10") == 5);
    assert_true(bucket(out, "/v1/tasks/{id}", "+Inf") == 6);
    /* One histogram per route, across methods and statuses: one _count line. */
    int n;
    find_line(out, "tock_http_request_duration_seconds_count{route=\"/v1/tasks/{id}\"}", &n);
    assert_int_equal(n, 1);
    free(out);
}

static void test_escaping(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    metrics_escape_label(&b, "plain/path_{id}");
    assert_string_equal(b.data, "plain/path_{id}");
    buf_reset(&b);
    metrics_escape_label(&b, "a\\b\"c\nd");
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
    buf_reset(&b);
    metrics_escape_label(&b, "");
    assert_string_equal(b.data, "");
    metrics_escape_label(&b, "\\\\");
    assert_string_equal(b.data, "\\\\\\\\");
    buf_reset(&b);
    /* Appends; other bytes (tab, UTF-8) pass through. */
    buf_puts(&b, "x=");
    metrics_escape_label(&b, "t\tcaf\xc3\xa9");
    assert_string_equal(b.data, "x=t\tcaf\xc3\xa9");
    buf_free(&b);

    /* A route with special characters renders escaped, never breaking the line. */
    metrics_http_observe(ROUTE_WEIRD, GET, 200, 0.002);
    char *out = render();
    assert_true(sample(out, "tock_http_requests_total{route=\"/x\\\"y\\\\z\\nw\",method=\"GET\","
                            "status=\"200\"}") == 1);
    double count = check_histogram(out, "/x\\\"y\\\\z\\nw", 0.002);
    assert_true(count == 1);
    /* No raw newline inside the route anywhere: every line is a comment or a sample. */
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (*p != '#' && strncmp(p, "tock_", 5) != 0)
            fail_msg("stray line: %.*s", (int)(nl - p), p);
        p = nl + 1;
    }
    free(out);
}

static void test_counter_family(void **state)
{
    (void)state;
    static const char fam[] = "tock_test_events_total";
    static const char lbl[] = "topic";
    static const char va[] = "tasks";
    static const char vb[] = "we\"ird";
    metrics_counter_add(fam, lbl, va, 2);
    metrics_counter_add(fam, lbl, va, 3);
    metrics_counter_add(fam, lbl, vb, 1);
    char *out = render();
    int n;
    find_line(out, "# HELP tock_test_events_total ", &n);
    assert_int_equal(n, 1);
    find_line(out, "# TYPE tock_test_events_total counter", &n);
    assert_int_equal(n, 1);
    assert_true(sample(out, "tock_test_events_total{topic=\"tasks\"}") == 5);
    assert_true(sample(out, "tock_test_events_total{topic=\"we\\\"ird\"}") == 1);
    /* The family's samples follow its TYPE line, contiguously. */
    const char *type = find_line(out, "# TYPE tock_test_events_total counter", NULL);
    const char *s1 = find_line(out, "tock_test_events_total{", NULL);
    assert_true(type < s1);
    const char *after = strchr(strchr(s1, '\n') + 1, '\n');
    assert_non_null(after);
    assert_int_equal(strncmp(strchr(s1, '\n') + 1, "tock_test_events_total{", 23), 0);
    free(out);

    /* Large increments. */
    metrics_counter_add(fam, lbl, va, 1000000000000ULL);
    out = render();
    assert_true(sample(out, "tock_test_events_total{topic=\"tasks\"}") == 1000000000005.0);
    free(out);
}

static void test_gauge(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    metrics_render_gauge(&b, "tock_test_gauge", "A test gauge.", 1.5);
    assert_string_equal(b.data, "# HELP tock_test_gauge A test gauge.\n"
                                "# TYPE tock_test_gauge gauge\n"
                                "tock_test_gauge 1.5\n");
    buf_reset(&b);
    metrics_render_gauge(&b, "g", "h", 0.1);
    double v = sample(b.data, "g");
    assert_true(v == 0.1); /* %.17g round-trips */
    buf_reset(&b);
    metrics_render_gauge(&b, "g", "h", 12345678901.0);
    assert_true(sample(b.data, "g") == 12345678901.0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_counter),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_counter_family),
        cmocka_unit_test(test_gauge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
