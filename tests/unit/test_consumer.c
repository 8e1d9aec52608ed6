/*
 * test_consumer.c — the consumer framework and the audit role on a real SQLite
 * store with the in-process bus: a redelivered event has one effect; a failing
 * handler is retried with backoff and then dead-lettered (a tock.deadletter row
 * in the outbox, the event acked) and the next event is still processed; a
 * transient failure is retried to success; unwanted types are acked untouched;
 * the relay -> local bus -> audit path writes one row per event; the retention
 * sweep deletes only old rows, in batches, driven by the fixed clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "obs/clock.h"
#include "roles/audit.h"
#include "roles/consumer.h"
#include "roles/relay.h"
#include "service/service.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *store;
    const struct store_ops *ops;
    struct svc svc;
    struct svc_ctx ctx;
    struct bus *bus;
    /* the test handler's state */
    int calls, effects, fail_first;
    bool fail_always;
};

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tock-unit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/t.db", f->dir);
    struct store_config sc = {4, 5000, false};
    assert_int_equal(store_open(url, &sc, &f->store, &f->ops, err, sizeof err), 0);
    struct svc_config vc = {secret, 32, 3600, 10, 300, "tock/test"};
    assert_int_equal(svc_init(&f->svc, f->store, f->ops, &vc), 0);
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct user u = {0};
    snprintf(u.email, sizeof u.email, "unit@example.com");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    snprintf(u.timezone, sizeof u.timezone, "UTC");
    assert_int_equal(f->ops->user_insert(c, &u), 0);
    f->ops->release(c);
    f->ctx.user_id = u.id;
    snprintf(f->ctx.timezone, sizeof f->ctx.timezone, "UTC");
    assert_int_equal(bus_local_ops.open("local", &f->bus, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clock_set_fixed(0);
    bus_local_ops.close(f->bus);
    svc_free(&f->svc);
    f->ops->close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Effect = an audit row (a real write in the framework's transaction). */
static int test_handle(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                       void *arg)
{
    struct fixture *f = arg;
    f->calls++;
    if (f->fail_always && strcmp(ev->subject, "666") == 0)
        return TOCK_ESTORE;
    if (f->fail_first > 0) {
        f->fail_first--;
        return TOCK_EBUSY;
    }
    int rc = audit_handle(svc, c, ev, NULL);
    if (!rc)
        f->effects++;
    return rc;
}

static const char *const topics[] = {"task-events", "dlq"};
static const char *const types[] = {"task.created", "task.updated"};

static struct consumer *make_consumer(struct fixture *f, int max_attempts)
{
    struct consumer_def def = {.name = "unit", .topics = topics, .ntopics = 2, .types = types,
                               .ntypes = 2, .handle = test_handle, .arg = f,
                               .max_attempts = max_attempts, .backoff_ms = 2};
    struct consumer *cons;
    assert_int_equal(consumer_new(&f->svc, &def, &cons), 0);
    assert_int_equal(consumer_subscribe(cons, f->bus, &bus_local_ops), 0);
    assert_int_equal(bus_local_ops.start(f->bus), 0);
    return cons;
}

static int publish(struct fixture *f, const char *id, const char *type, const char *subject)
{
    char json[512], key[24];
    snprintf(key, sizeof key, "%lld", (long long)f->ctx.user_id);
    snprintf(json, sizeof json,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"tock/test\",\"type\":\"%s\","
             "\"time\":\"2026-01-02T03:04:05.000Z\",\"subject\":\"%s\",\"userid\":\"%s\","
             "\"data\":{\"schema_version\":1}}",
             id, type, subject, key);
    struct bus_msg m = {"task-events", key, json, strlen(json), id};
    return bus_local_ops.publish(f->bus, &m);
}

static size_t audit_count(struct fixture *f)
{
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct audit_query q = {.limit = 200};
    struct audit_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->audit_list(c, f->ctx.user_id, &q, &rows, &n), 0);
    f->ops->release(c);
    audit_rows_free(rows, n);
    return n;
}

static void dlq_rows(struct fixture *f, json_t **last, size_t *count)
{
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->outbox_fetch(c, 0, 1000, false, &rows, &n), 0);
    f->ops->release(c);
    *count = 0;
    *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].topic, "dlq") != 0)
            continue;
        (*count)++;
        json_decref(*last);
        *last = json_loads(rows[i].event_json, 0, NULL);
        assert_string_equal(rows[i].type, "tock.deadletter");
    }
    outbox_rows_free(rows, n);
}

static void duplicate_has_one_effect(void **state)
{
    struct fixture *f = *state;
    struct consumer *cons = make_consumer(f, 5);
    assert_int_equal(publish(f, "ev-1", "task.created", "7"), 0);
    assert_int_equal(publish(f, "ev-1", "task.created", "7"), 0);
    assert_int_equal(publish(f, "ev-1", "task.created", "7"), 0);
    assert_int_equal(f->effects, 1);
    assert_int_equal(f->calls, 1); /* the mark is checked before the handler runs */
    assert_int_equal(audit_count(f), 1);
    bus_local_ops.stop(f->bus);
    consumer_free(cons);
}

static void unwanted_type_is_acked_without_effect(void **state)
{
    struct fixture *f = *state;
    struct consumer *cons = make_consumer(f, 5);
    assert_int_equal(publish(f, "ev-x", "task.sync", "7"), 0);
    assert_int_equal(f->calls, 0);
    assert_int_equal(audit_count(f), 0);
    bus_local_ops.stop(f->bus);
    consumer_free(cons);
}

static void poison_is_dead_lettered_and_next_processed(void **state)
{
    struct fixture *f = *state;
    f->fail_always = true;
    struct consumer *cons = make_consumer(f, 3);
    assert_int_equal(publish(f, "ev-poison", "task.created", "666"), 0); /* acked */
    assert_int_equal(f->calls, 3);
    assert_int_equal(f->effects, 0);
    json_t *dl;
    size_t ndl;
    dlq_rows(f, &dl, &ndl);
    assert_int_equal(ndl, 1);
    json_t *data = json_object_get(dl, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "attempts")), 3);
    assert_string_equal(json_string_value(json_object_get(data, "consumer")), "unit");
    assert_non_null(json_string_value(json_object_get(data, "error")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(data, "original"), "id")), "ev-poison");
    assert_string_equal(json_string_value(json_object_get(dl, "subject")), "666");
    json_decref(dl);
    /* The next event still gets through... */
    assert_int_equal(publish(f, "ev-2", "task.updated", "8"), 0);
    assert_int_equal(f->effects, 1);
    /* ...and a redelivery of the poison message is a duplicate: no second dead letter. */
    int calls = f->calls;
    assert_int_equal(publish(f, "ev-poison", "task.created", "666"), 0);
    assert_int_equal(f->calls, calls);
    dlq_rows(f, &dl, &ndl);
    assert_int_equal(ndl, 1);
    json_decref(dl);
    bus_local_ops.stop(f->bus);
    consumer_free(cons);
}

static void transient_failure_is_retried(void **state)
{
    struct fixture *f = *state;
    f->fail_first = 2;
    struct consumer *cons = make_consumer(f, 5);
    assert_int_equal(publish(f, "ev-t", "task.created", "9"), 0);
    assert_int_equal(f->calls, 3);
    assert_int_equal(f->effects, 1);
    json_t *dl;
    size_t ndl;
    dlq_rows(f, &dl, &ndl);
    assert_int_equal(ndl, 0);
    bus_local_ops.stop(f->bus);
    consumer_free(cons);
}

static void relay_to_audit_one_row_per_event(void **state)
{
    struct fixture *f = *state;
    struct audit_config ac = {5, 90, 3600};
    struct audit *a;
    assert_int_equal(audit_start(&f->svc, f->bus, &bus_local_ops, &ac, &a), 0);
    assert_int_equal(bus_local_ops.start(f->bus), 0);
    for (int i = 0; i < 3; i++) {
        struct task_input in;
        memset(&in, 0, sizeof in);
        in.set = TI_TITLE;
        in.title = "audit me";
        struct task t;
        struct tock_error e = {0};
        assert_int_equal(svc_task_create(&f->svc, &f->ctx, &in, &t, &e), 0);
        task_release(&t);
    }
    int published = 0;
    assert_int_equal(relay_drain(&f->svc, f->bus, &bus_local_ops, &published), 0);
    assert_int_equal(published, 6); /* task.created + task.sync each */
    assert_int_equal(audit_count(f), 6);
    /* Replaying everything (a relay crash before marking) adds nothing. */
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->outbox_fetch(c, 0, 100, false, &rows, &n), 0);
    f->ops->release(c);
    for (size_t i = 0; i < n; i++) {
        struct bus_msg m = {rows[i].topic, rows[i].key, rows[i].event_json,
                            strlen(rows[i].event_json), rows[i].event_id};
        assert_int_equal(bus_local_ops.publish(f->bus, &m), 0);
    }
    outbox_rows_free(rows, n);
    assert_int_equal(audit_count(f), 6);
    bus_local_ops.stop(f->bus);
    audit_stop(a);
}

static void retention_sweep_deletes_old_rows_in_batches(void **state)
{
    struct fixture *f = *state;
    int64_t now = INT64_C(1800000000000);
    struct store_conn *c;
    for (int i = 0; i < 7; i++) {
        /* 5 rows 100 days old, 2 rows 10 days old. */
        int64_t at = now - (int64_t)(i < 5 ? 100 : 10) * 86400000;
        assert_int_equal(f->ops->acquire(f->store, &c), 0);
        assert_int_equal(f->ops->begin(c, true), 0);
        struct audit_row r = {0};
        snprintf(r.event_id, sizeof r.event_id, "old-%d", i);
        snprintf(r.type, sizeof r.type, "task.created");
        r.user_id = f->ctx.user_id;
        r.time = r.created_at = at;
        r.payload = (char *)"{}";
        assert_int_equal(f->ops->audit_append(c, &r), 0);
        assert_true(r.id > 0);
        assert_int_equal(f->ops->commit(c), 0);
        f->ops->release(c);
    }
    assert_int_equal(audit_count(f), 7);
    clock_set_fixed(now);
    int64_t deleted = 0;
    assert_int_equal(audit_sweep(&f->svc, 90, 2, &deleted), 0);
    assert_int_equal(deleted, 5);
    assert_int_equal(audit_count(f), 2);
    assert_int_equal(audit_sweep(&f->svc, 90, 2, &deleted), 0);
    assert_int_equal(deleted, 0);
    clock_set_fixed(now + INT64_C(81) * 86400000);
    assert_int_equal(audit_sweep(&f->svc, 90, 500, &deleted), 0);
    assert_int_equal(deleted, 2);
}


static struct bus_msg mk(char *json, size_t cap, char *key, const char *id, const char *type,
                         const char *subject, int64_t user)
{
    snprintf(key, 24, "%lld", (long long)user);
    snprintf(json, cap,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"tock/test\",\"type\":"
             "\"%s\",\"time\":\"2026-01-02T03:04:05.000Z\",\"subject\":\"%s\",\"userid\":"
             "\"%s\",\"data\":{\"schema_version\":1}}",
             id, type, subject, key);
    return (struct bus_msg){"task-events", key, json, strlen(json), id};
}

/*
 * Batches: a clean batch commits every effect at once (a duplicate and an unwanted
 * type inside it are skipped); a batch with a poison event falls back to one by
 * one: the others take effect once, the poison is dead-lettered, all acked.
 */
static void batch_commits_once_and_falls_back_on_failure(void **state)
{
    struct fixture *f = *state;
    f->fail_always = true; /* only subject 666 fails */
    struct consumer *cons = make_consumer(f, 2);
    char j[6][512], k[6][24];
    struct bus_msg b1[4] = {
        mk(j[0], 512, k[0], "b-1", "task.created", "1", f->ctx.user_id),
        mk(j[1], 512, k[1], "b-2", "task.updated", "2", f->ctx.user_id),
        mk(j[2], 512, k[2], "b-1", "task.created", "1", f->ctx.user_id), /* duplicate */
        mk(j[3], 512, k[3], "b-3", "task.sync", "3", f->ctx.user_id),    /* unwanted */
    };
    size_t done = 99;
    assert_int_equal(consumer_deliver_batch(b1, 4, &done, cons), 0);
    assert_int_equal(done, 4);
    assert_int_equal(f->effects, 2);
    assert_int_equal(f->calls, 2);
    assert_int_equal(audit_count(f), 2);
    /* The same batch again: all duplicates, nothing new. */
    assert_int_equal(consumer_deliver_batch(b1, 4, &done, cons), 0);
    assert_int_equal(f->effects, 2);
    assert_int_equal(f->calls, 2);
    struct bus_msg b2[2] = {
        mk(j[4], 512, k[4], "b-4", "task.created", "4", f->ctx.user_id),
        mk(j[5], 512, k[5], "b-poison", "task.created", "666", f->ctx.user_id),
    };
    assert_int_equal(consumer_deliver_batch(b2, 2, &done, cons), 0);
    assert_int_equal(done, 2);
    /* b-4's handler ran twice (the batch attempt was rolled back), its effect is there once. */
    assert_int_equal(f->effects, 4);
    assert_int_equal(audit_count(f), 3);
    json_t *dl;
    size_t ndl;
    dlq_rows(f, &dl, &ndl);
    assert_int_equal(ndl, 1);
    json_decref(dl);
    bus_local_ops.stop(f->bus);
    consumer_free(cons);
}

/*
 * DLQ replay: the poison event is dead-lettered; once the cause is fixed, a replay
 * puts the original (same id) back on its topic; only the consumer that gave up
 * processes it, exactly once; a second replay is refused; pruning keeps the
 * dead letter listable (event_log) and its replay mark.
 */
static void dead_letter_replay_reprocesses_once(void **state)
{
    struct fixture *f = *state;
    f->fail_always = true;
    struct consumer *cons = make_consumer(f, 2);
    assert_int_equal(publish(f, "ev-fixme", "task.created", "666"), 0);
    assert_int_equal(f->effects, 0);
    struct outbox_row *dl = NULL;
    size_t n = 0;
    assert_int_equal(svc_dlq_list(&f->svc, 0, 100, &dl, &n), 0);
    assert_int_equal(n, 1);
    assert_false(dl[0].replayed);
    f->fail_always = false; /* the bug is fixed */
    char who[64];
    struct tock_error e = {0};
    assert_int_equal(svc_dlq_replay(&f->svc, &dl[0], who, sizeof who, &e), 0);
    assert_string_equal(who, "unit");
    /* The relay delivers the original again (and the dead letter itself, unwanted). */
    int published = 0;
    assert_int_equal(relay_drain(&f->svc, f->bus, &bus_local_ops, &published), 0);
    assert_true(published >= 2);
    assert_int_equal(f->effects, 1);
    assert_int_equal(audit_count(f), 1);
    /* A second replay of the same dead letter is refused: no second effect. */
    assert_int_equal(svc_dlq_replay(&f->svc, &dl[0], who, sizeof who, &e), TOCK_ECONFLICT);
    assert_int_equal(relay_drain(&f->svc, f->bus, &bus_local_ops, &published), 0);
    assert_int_equal(f->effects, 1);
    outbox_rows_free(dl, n);
    /* Everything past retention is pruned; the dead letter stays listed, replayed. */
    clock_set_fixed(clock_now_ms() + INT64_C(30) * 86400000);
    struct relay_config rc = relay_config_defaults();
    assert_int_equal(relay_maintain(&f->svc, &rc), 0);
    assert_int_equal(svc_dlq_list(&f->svc, 0, 100, &dl, &n), 0);
    assert_int_equal(n, 1);
    assert_true(dl[0].replayed);
    assert_int_equal(svc_dlq_replay(&f->svc, &dl[0], who, sizeof who, &e), TOCK_ECONFLICT);
    outbox_rows_free(dl, n);
    struct store_conn *c;
    struct outbox_row *rows = NULL;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    assert_int_equal(f->ops->outbox_fetch(c, 0, 100, false, &rows, &n), 0);
    f->ops->release(c);
    outbox_rows_free(rows, n);
    assert_int_equal(n, 0); /* every published row was pruned */
    bus_local_ops.stop(f->bus);
    consumer_free(cons);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(duplicate_has_one_effect, setup, teardown),
        cmocka_unit_test_setup_teardown(unwanted_type_is_acked_without_effect, setup, teardown),
        cmocka_unit_test_setup_teardown(poison_is_dead_lettered_and_next_processed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transient_failure_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_letter_replay_reprocesses_once, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_commits_once_and_falls_back_on_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(relay_to_audit_one_row_per_event, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_sweep_deletes_old_rows_in_batches, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
