/*
 * test_bus_dapr.c — the Dapr bus without a sidecar process:
 * - deliveries through bus_dapr_deliver with a real handler: handler 0 -> SUCCESS,
 *   handler error -> RETRY, not a CloudEvent (bad JSON, no id, no type, empty) ->
 *   DROP without calling the handler, unknown group or topic -> TOCK_ENOTFOUND (404);
 *   the handler sees the unprefixed topic, key = userid, the event id, and the event
 *   without the attributes the sidecar adds;
 * - GET /dapr/subscribe's body: one entry per (group, topic), prefixed topics,
 *   routes /events/<group>/<topic>, deadLetterTopic except on dlq itself;
 * - APP_API_TOKEN checks;
 * - publish against a one-shot HTTP responder on loopback: the request line, the
 *   partitionKey, Content-Type and dapr-api-token headers and the body as given;
 *   204 -> 0, 404 and 500 -> TOCK_EBUS; a dead port -> TOCK_EBUS; health 204/500.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus/bus.h"
#include "core/err.h"

struct seen {
    int calls;
    char topic[64], key[64], id[64];
    json_t *event;
};

static int handler(const struct bus_msg *m, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    snprintf(s->topic, sizeof s->topic, "%s", m->topic);
    snprintf(s->key, sizeof s->key, "%s", m->key ? m->key : "(null)");
    snprintf(s->id, sizeof s->id, "%s", m->event_id ? m->event_id : "(null)");
    json_decref(s->event);
    s->event = json_loadb(m->value, m->len, 0, NULL);
    json_t *subj = json_object_get(s->event, "subject");
    return json_is_string(subj) && strcmp(json_string_value(subj), "poison") == 0 ? TOCK_ESTORE : 0;
}

static struct bus *open_dapr(int port)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    setenv("DAPR_HTTP_PORT", p, 1);
    setenv("TOCK_TOPIC_PREFIX", "u.", 1);
    setenv("DAPR_API_TOKEN", "side-tok", 1);
    setenv("APP_API_TOKEN", "app-tok", 1);
    unsetenv("TOCK_DAPR_PUBSUB");
    struct bus *b = NULL;
    const struct bus_ops *ops = NULL;
    char err[256];
    assert_int_equal(bus_open("dapr", &b, &ops, err, sizeof err), 0);
    assert_ptr_equal(ops, &bus_dapr_ops);
    assert_true(bus_is_dapr(ops));
    assert_false(bus_is_dapr(&bus_local_ops));
    return b;
}

static const char EV[] =
    "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"tock/api\",\"type\":\"task.created\","
    "\"subject\":\"%s\",\"userid\":\"42\",\"pubsubname\":\"tock-pubsub\",\"topic\":\"u.task-"
    "events\",\"traceid\":\"x\",\"tracestate\":\"\",\"data\":{\"a\":1}}";

static void test_deliver_statuses(void **state)
{
    (void)state;
    struct bus *b = open_dapr(1);
    struct seen s = {0};
    const char *const topics[] = {"task-events", "dlq"};
    assert_int_equal(bus_dapr_ops.subscribe(b, "audit", topics, 2, handler, &s), 0);
    assert_int_equal(bus_dapr_ops.subscribe(b, "bad/group", topics, 1, handler, &s), TOCK_EINVAL);
    assert_int_equal(bus_dapr_ops.start(b), 0);

    char body[1024];
    const char *st = NULL;
    snprintf(body, sizeof body, EV, "ok");
    assert_int_equal(bus_dapr_deliver(b, "audit", "task-events", body, strlen(body), &st), 0);
    assert_string_equal(st, BUS_DAPR_SUCCESS);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.topic, "task-events");
    assert_string_equal(s.key, "42");
    assert_string_equal(s.id, "e-1");
    assert_null(json_object_get(s.event, "pubsubname"));
    assert_null(json_object_get(s.event, "topic"));
    assert_null(json_object_get(s.event, "traceid"));
    assert_null(json_object_get(s.event, "tracestate"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s.event, "data"), "a")), 1);

    snprintf(body, sizeof body, EV, "poison");
    assert_int_equal(bus_dapr_deliver(b, "audit", "task-events", body, strlen(body), &st), 0);
    assert_string_equal(st, BUS_DAPR_RETRY);
    assert_int_equal(s.calls, 2);

    const char *bad[] = {"not json",
                         "[1,2]",
                         "{\"type\":\"t\"}",
                         "{\"id\":\"x\"}",
                         "{\"id\":\"\",\"type\":\"t\"}",
                         "{\"id\":\"x\",\"type\":\"t\",\"id\":\"y\"}",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st = NULL;
        assert_int_equal(bus_dapr_deliver(b, "audit", "task-events", bad[i], strlen(bad[i]), &st),
                         0);
        assert_string_equal(st, BUS_DAPR_DROP);
    }
    assert_int_equal(s.calls, 2); /* the handler never saw them */

    assert_int_equal(bus_dapr_deliver(b, "audit", "reminders", body, strlen(body), &st),
                     TOCK_ENOTFOUND);
    assert_int_equal(bus_dapr_deliver(b, "other", "task-events", body, strlen(body), &st),
                     TOCK_ENOTFOUND);

    /* After stop no handler runs: the sidecar is told to redeliver. */
    bus_dapr_ops.stop(b);
    snprintf(body, sizeof body, EV, "ok");
    assert_int_equal(bus_dapr_deliver(b, "audit", "task-events", body, strlen(body), &st), 0);
    assert_string_equal(st, BUS_DAPR_RETRY);
    assert_int_equal(s.calls, 2);
    json_decref(s.event);
    bus_dapr_ops.close(b);
}

static void test_subscriptions_json(void **state)
{
    (void)state;
    struct bus *b = open_dapr(1);
    struct seen s = {0};
    const char *const t1[] = {"task-events", "dlq"};
    const char *const t2[] = {"task-updates"};
    assert_int_equal(bus_dapr_ops.subscribe(b, "audit", t1, 2, handler, &s), 0);
    assert_int_equal(bus_dapr_ops.subscribe(b, "sync", t2, 1, handler, &s), 0);
    char *text = NULL;
    assert_int_equal(bus_dapr_subscriptions_json(b, &text), 0);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 3);
    const char *want[3][3] = {{"u.task-events", "/events/audit/task-events", "u.dlq"},
                              {"u.dlq", "/events/audit/dlq", NULL},
                              {"u.task-updates", "/events/sync/task-updates", "u.dlq"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(j, i);
        assert_string_equal(json_string_value(json_object_get(o, "pubsubname")), "tock-pubsub");
        assert_string_equal(json_string_value(json_object_get(o, "topic")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(o, "route")), want[i][1]);
        json_t *dl = json_object_get(o, "deadLetterTopic");
        if (want[i][2])
            assert_string_equal(json_string_value(dl), want[i][2]);
        else
            assert_null(dl);
        assert_true(json_is_object(json_object_get(o, "metadata")));
    }
    json_decref(j);
    bus_dapr_ops.close(b);
}

static void test_app_token(void **state)
{
    (void)state;
    struct bus *b = open_dapr(1);
    assert_true(bus_dapr_app_token_ok(b, "app-tok"));
    assert_false(bus_dapr_app_token_ok(b, NULL));
    assert_false(bus_dapr_app_token_ok(b, ""));
    assert_false(bus_dapr_app_token_ok(b, "app-to"));
    assert_false(bus_dapr_app_token_ok(b, "app-tok2"));
    assert_false(bus_dapr_app_token_ok(b, "App-tok"));
    bus_dapr_ops.close(b);
    /* Unset: the routes take any caller (the sidecar sends no token). */
    unsetenv("APP_API_TOKEN");
    const struct bus_ops *ops = NULL;
    char err[256];
    assert_int_equal(bus_open("dapr", &b, &ops, err, sizeof err), 0);
    assert_true(bus_dapr_app_token_ok(b, NULL));
    assert_true(bus_dapr_app_token_ok(b, "anything"));
    bus_dapr_ops.close(b);
}

/* ---- a one-shot HTTP responder on loopback */

struct responder {
    int fd, port, status;
    char req[8192];
    size_t len;
    pthread_t th;
};

static void *respond_once(void *arg)
{
    struct responder *r = arg;
    int c = accept(r->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    for (;;) {
        ssize_t n = recv(c, r->req + r->len, sizeof r->req - 1 - r->len, 0);
        if (n <= 0)
            break;
        r->len += (size_t)n;
        r->req[r->len] = 0;
        char *hend = strstr(r->req, "\r\n\r\n");
        if (!hend)
            continue;
        const char *cl = strcasestr(r->req, "content-length:");
        size_t want = cl && cl < hend ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        if (r->len >= (size_t)(hend + 4 - r->req) + want)
            break;
    }
    char resp[256];
    int n =
        snprintf(resp, sizeof resp,
                 "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", r->status);
    if (r->status == 204)
        n = snprintf(resp, sizeof resp, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    ssize_t w = send(c, resp, (size_t)n, 0);
    (void)w;
    close(c);
    return NULL;
}

static void responder_start(struct responder *r, int status)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(listen(r->fd, 4), 0);
    assert_int_equal(pthread_create(&r->th, NULL, respond_once, r), 0);
}

static void responder_join(struct responder *r)
{
    pthread_join(r->th, NULL);
    close(r->fd);
}

static void test_publish(void **state)
{
    (void)state;
    static const char value[] = "{\"id\":\"e-9\",\"type\":\"task.created\"}";
    struct bus_msg m = {"task-events", "user 7", value, sizeof value - 1, "e-9"};
    int codes[] = {204, 404, 500, 400, 403};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        struct responder r;
        responder_start(&r, codes[i]);
        struct bus *b = open_dapr(r.port);
        int rc = bus_dapr_ops.publish(b, &m);
        responder_join(&r);
        assert_int_equal(rc, codes[i] == 204 ? 0 : TOCK_EBUS);
        assert_non_null(strstr(
            r.req, "POST /v1.0/publish/tock-pubsub/u.task-events?metadata.partitionKey=user%207 "));
        assert_non_null(strcasestr(r.req, "\r\nContent-Type: application/cloudevents+json\r\n"));
        assert_non_null(strcasestr(r.req, "\r\ndapr-api-token: side-tok\r\n"));
        assert_non_null(strstr(r.req, value));
        bus_dapr_ops.close(b);
    }
    /* Health: 204 healthy, anything else not. */
    int hcodes[] = {204, 500};
    for (size_t i = 0; i < 2; i++) {
        struct responder r;
        responder_start(&r, hcodes[i]);
        struct bus *b = open_dapr(r.port);
        int rc = bus_dapr_ops.health(b);
        responder_join(&r);
        assert_int_equal(rc, i == 0 ? 0 : TOCK_EBUS);
        assert_non_null(strstr(r.req, "GET /v1.0/healthz "));
        bus_dapr_ops.close(b);
    }
    /* Nobody listening: a transient failure, reported at once. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    int dead = ntohs(a.sin_port);
    close(fd);
    struct bus *b = open_dapr(dead);
    assert_int_equal(bus_dapr_ops.publish(b, &m), TOCK_EBUS);
    assert_int_equal(bus_dapr_ops.health(b), TOCK_EBUS);
    bus_dapr_ops.close(b);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct bus *b = NULL;
    const struct bus_ops *ops = NULL;
    char err[256];
    setenv("DAPR_HTTP_PORT", "70000", 1);
    assert_int_equal(bus_open("dapr", &b, &ops, err, sizeof err), TOCK_EINVAL);
    assert_non_null(strstr(err, "DAPR_HTTP_PORT"));
    setenv("DAPR_HTTP_PORT", "3500", 1);
    setenv("TOCK_DAPR_PUBSUB", "a/b", 1);
    assert_int_equal(bus_open("dapr", &b, &ops, err, sizeof err), TOCK_EINVAL);
    assert_non_null(strstr(err, "TOCK_DAPR_PUBSUB"));
    unsetenv("TOCK_DAPR_PUBSUB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deliver_statuses), cmocka_unit_test(test_subscriptions_json),
        cmocka_unit_test(test_app_token),        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
