/*
 * test_service_store.c — services on a real SQLite store, with failures injected
 * into the store's ops table (after SQLite's own fault-injection tests): a failing
 * commit, a failing outbox append and a failing update each leave no trace — no
 * task, no change, no event. Also: the relay delivers outbox events to in-process
 * subscribers in order, and nothing is marked published when delivery fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "roles/relay.h"
#include "service/service.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *store;
    const struct store_ops *ops;
    struct store_ops faulty;
    struct svc svc;
    struct svc_ctx ctx;
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
    f->faulty = *f->ops;
    /* A user row straight through the store: no argon2 cost in unit tests. */
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct user u = {0};
    snprintf(u.email, sizeof u.email, "unit@example.com");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    snprintf(u.timezone, sizeof u.timezone, "Europe/London");
    assert_int_equal(f->ops->user_insert(c, &u), 0);
    f->ops->release(c);
    f->ctx.user_id = u.id;
    snprintf(f->ctx.timezone, sizeof f->ctx.timezone, "Europe/London");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    svc_free(&f->svc);
    f->ops->close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t count_rows(struct fixture *f, size_t *events)
{
    struct task_filter flt;
    struct tock_error e;
    assert_int_equal(filter_parse(&flt, NULL, 0, "UTC", 0, &e), 0);
    struct task *v = NULL;
    size_t n = 0;
    char *next = NULL;
    f->svc.ops = f->ops;
    assert_int_equal(svc_task_list(&f->svc, &f->ctx, &flt, &v, &n, &next), 0);
    svc_tasks_free(v, n);
    free(next);
    filter_release(&flt);
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct outbox_row *rows = NULL;
    assert_int_equal(f->ops->outbox_fetch(c, 0, 100000, false, &rows, events), 0);
    outbox_rows_free(rows, *events);
    f->ops->release(c);
    return (int64_t)n;
}

static int fail_commit(struct store_conn *c)
{
    /* The real backend rolls back; the caller sees a storage failure. */
    store_sqlite_ops.rollback(c);
    return TOCK_ESTORE;
}

static int fail_outbox(struct store_conn *c, struct outbox_row *r)
{
    (void)c;
    (void)r;
    return TOCK_ESTORE;
}

static int fail_update(struct store_conn *c, const struct task *t)
{
    (void)c;
    (void)t;
    return TOCK_EBUSY;
}

static struct task_input title_input(const char *title)
{
    struct task_input in = {0};
    in.set = TI_TITLE;
    in.title = title;
    return in;
}

static void create_ok(struct fixture *f, const char *title, struct task *out)
{
    struct task_input in = title_input(title);
    struct tock_error e = {0};
    f->svc.ops = f->ops;
    assert_int_equal(svc_task_create(&f->svc, &f->ctx, &in, out, &e), 0);
}

static void failing_commit_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    size_t events;
    assert_int_equal(count_rows(f, &events), 0);
    f->faulty.commit = fail_commit;
    f->svc.ops = &f->faulty;
    struct task_input in = title_input("never stored");
    struct task t;
    struct tock_error e = {0};
    assert_int_equal(svc_task_create(&f->svc, &f->ctx, &in, &t, &e), TOCK_ESTORE);
    assert_int_equal(count_rows(f, &events), 0);
    assert_int_equal(events, 0);
}

static void failing_event_append_leaves_no_task(void **state)
{
    struct fixture *f = *state;
    f->faulty.outbox_append = fail_outbox;
    f->svc.ops = &f->faulty;
    struct task_input in = title_input("no event, no task");
    struct task t;
    struct tock_error e = {0};
    assert_int_equal(svc_task_create(&f->svc, &f->ctx, &in, &t, &e), TOCK_ESTORE);
    size_t events;
    assert_int_equal(count_rows(f, &events), 0);
    assert_int_equal(events, 0);
}

static void failing_update_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct task t;
    create_ok(f, "original", &t);
    size_t events_before;
    assert_int_equal(count_rows(f, &events_before), 1);

    f->faulty.task_update = fail_update;
    f->svc.ops = &f->faulty;
    struct task_input in = title_input("changed");
    struct task out;
    struct tock_error e = {0};
    assert_int_equal(svc_task_update(&f->svc, &f->ctx, t.id, -1, &in, &out, &e), TOCK_EBUSY);
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, t.id, -1, &out), TOCK_EBUSY);
    assert_int_equal(svc_task_delete(&f->svc, &f->ctx, t.id, -1), TOCK_EBUSY);

    /* A commit failure after a successful update is rolled back too. */
    f->faulty = *f->ops;
    f->faulty.commit = fail_commit;
    assert_int_equal(svc_task_update(&f->svc, &f->ctx, t.id, -1, &in, &out, &e), TOCK_ESTORE);

    f->svc.ops = f->ops;
    struct task now;
    assert_int_equal(svc_task_get(&f->svc, &f->ctx, t.id, &now), 0);
    assert_string_equal(now.title, "original");
    assert_int_equal(now.version, 1);
    assert_int_equal(now.status, TASK_TODO);
    size_t events_after;
    assert_int_equal(count_rows(f, &events_after), 1);
    assert_int_equal(events_after, events_before);
    task_release(&now);
    task_release(&t);
}

static void stale_version_is_refused(void **state)
{
    struct fixture *f = *state;
    struct task t, out;
    create_ok(f, "v1", &t);
    struct task_input in = title_input("v2");
    struct tock_error e = {0};
    assert_int_equal(svc_task_update(&f->svc, &f->ctx, t.id, 1, &in, &out, &e), 0);
    assert_int_equal(out.version, 2);
    task_release(&out);
    in.title = "v3";
    assert_int_equal(svc_task_update(&f->svc, &f->ctx, t.id, 1, &in, &out, &e), TOCK_ESTALE);
    struct svc_ctx other = f->ctx;
    other.user_id = f->ctx.user_id + 1000;
    assert_int_equal(svc_task_get(&f->svc, &other, t.id, &out), TOCK_ENOTFOUND);
    task_release(&t);
}

/* ---- relay + in-process bus ---- */

struct collector {
    int n;
    char types[64][24];
    int64_t seen_subject[64];
    bool fail;
};

static int collect(const struct bus_msg *m, void *arg)
{
    struct collector *c = arg;
    if (c->fail)
        return TOCK_EBUS;
    json_t *ev = json_loadb(m->value, m->len, 0, NULL);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "id")), m->event_id);
    if (c->n < 64) {
        snprintf(c->types[c->n], sizeof c->types[0], "%s",
                 json_string_value(json_object_get(ev, "type")));
        c->seen_subject[c->n] = id_parse(json_string_value(json_object_get(ev, "subject")));
    }
    c->n++;
    json_decref(ev);
    return 0;
}

static void relay_delivers_in_order(void **state)
{
    struct fixture *f = *state;
    struct bus *bus;
    const struct bus_ops *bops;
    char err[128];
    assert_int_equal(bus_open("local", &bus, &bops, err, sizeof err), 0);
    struct collector col = {0};
    const char *topics[] = {"task-events"};
    assert_int_equal(bops->subscribe(bus, "test", topics, 1, collect, &col), 0);
    assert_int_equal(bops->start(bus), 0);

    struct task a, b, out;
    create_ok(f, "first", &a);
    create_ok(f, "second", &b);
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, a.id, -1, &out), 0);
    task_release(&out);

    /* A failing consumer: nothing is acknowledged, so nothing is marked published. */
    col.fail = true;
    int published = -1;
    assert_int_equal(relay_drain(&f->svc, bus, bops, &published), TOCK_EBUS);
    assert_int_equal(published, 0);
    int64_t depth, age;
    assert_int_equal(svc_outbox_stats(&f->svc, &depth, &age), 0);
    assert_int_equal(depth, 6); /* 3 task-events + 3 task.sync */

    col.fail = false;
    assert_int_equal(relay_drain(&f->svc, bus, bops, &published), 0);
    assert_int_equal(published, 6);
    assert_int_equal(col.n, 3);
    assert_string_equal(col.types[0], "task.created");
    assert_int_equal(col.seen_subject[0], a.id);
    assert_string_equal(col.types[1], "task.created");
    assert_int_equal(col.seen_subject[1], b.id);
    assert_string_equal(col.types[2], "task.completed");
    assert_int_equal(col.seen_subject[2], a.id);
    assert_int_equal(svc_outbox_stats(&f->svc, &depth, &age), 0);
    assert_int_equal(depth, 0);

    /* Drained: a second pass delivers nothing again. */
    assert_int_equal(relay_drain(&f->svc, bus, bops, &published), 0);
    assert_int_equal(published, 0);
    assert_int_equal(col.n, 3);
    bops->stop(bus);
    bops->close(bus);
    task_release(&a);
    task_release(&b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(failing_commit_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_event_append_leaves_no_task, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_update_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_version_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_delivers_in_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
