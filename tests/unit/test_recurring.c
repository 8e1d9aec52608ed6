/*
 * test_recurring.c — the recurring consumer on a real SQLite store, fed the
 * task.completed event the service wrote to the outbox: delivering it twice (a
 * redelivery) or replaying it under a new event id makes one next occurrence, with
 * its task.created and task.sync events; a completion reopened before it is
 * handled, a deleted task and a task without a rule make none; the next occurrence
 * copies the task's fields and keeps the series start.
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

#include "obs/clock.h"
#include "roles/consumer.h"
#include "roles/recurring.h"
#include "service/service.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *store;
    const struct store_ops *ops;
    struct svc svc;
    struct svc_ctx ctx;
    struct consumer *cons;
};

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
static const char *const topics[] = {"task-events"};
static const char *const types[] = {"task.completed"};

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
    /* 2027-01-10T15:00:00Z */
    clock_set_fixed(INT64_C(1799593200000));
    struct consumer_def def = {.name = "recurring", .topics = topics, .ntopics = 1,
                               .types = types, .ntypes = 1, .handle = recurring_handle,
                               .max_attempts = 2, .backoff_ms = 2};
    assert_int_equal(consumer_new(&f->svc, &def, &f->cons), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clock_set_fixed(0);
    consumer_free(f->cons);
    svc_free(&f->svc);
    f->ops->close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct task create(struct fixture *f, const char *due, const char *rrule)
{
    static const char *const tags[] = {"home", "weekly"};
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DESC | TI_PRIORITY | TI_TAGS | TI_DUE | (rrule ? TI_RECUR : 0);
    in.title = "water the plants";
    in.description = "all of them";
    in.priority = PRIO_HIGH;
    in.tags = tags;
    in.ntags = 2;
    in.due = due;
    in.rrule = rrule;
    struct task t;
    struct tock_error e = {0};
    int rc = svc_task_create(&f->svc, &f->ctx, &in, &t, &e);
    if (rc)
        fail_msg("create: %d %s %s", rc, e.field, e.message);
    return t;
}

/* The newest outbox row of `type` for task_id (caller frees *json). */
static char *last_event(struct fixture *f, const char *type, int64_t task_id, size_t *count)
{
    struct store_conn *c;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    struct outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->outbox_fetch(c, 0, 1000, false, &rows, &n), 0);
    f->ops->release(c);
    char *json = NULL;
    if (count)
        *count = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].type, type) != 0 || (task_id && rows[i].task_id != task_id))
            continue;
        if (count)
            (*count)++;
        free(json);
        json = strdup(rows[i].event_json);
    }
    outbox_rows_free(rows, n);
    return json;
}

static int deliver(struct fixture *f, const char *json)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)f->ctx.user_id);
    struct bus_msg m = {"task-events", key, json, strlen(json), NULL};
    return consumer_deliver(&m, f->cons);
}

/* The series' tasks (live), ordered by occurrence. */
static size_t series(struct fixture *f, int64_t sid, struct task **out)
{
    char s[24];
    id_str(sid, s);
    struct qparam qp[] = {{"series_id", s}};
    struct task_filter flt;
    struct tock_error e = {0};
    assert_int_equal(filter_parse(&flt, qp, 1, "UTC", clock_now_ms(), &e), 0);
    struct task *v = NULL;
    size_t n = 0;
    char *next = NULL;
    assert_int_equal(svc_task_list(&f->svc, &f->ctx, &flt, &v, &n, &next), 0);
    filter_release(&flt);
    free(next);
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (v[j].occurrence < v[i].occurrence) {
                struct task x = v[i];
                v[i] = v[j];
                v[j] = x;
            }
    *out = v;
    return n;
}

static void redelivery_and_replay_make_one_next(void **state)
{
    struct fixture *f = *state;
    snprintf(f->ctx.timezone, sizeof f->ctx.timezone, "America/New_York");
    struct task t = create(f, "2027-03-13T02:30", "FREQ=DAILY");
    struct task done;
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, t.id, -1, &done), 0);
    char *ev = last_event(f, "task.completed", t.id, NULL);
    assert_non_null(ev);
    assert_int_equal(deliver(f, ev), 0);
    assert_int_equal(deliver(f, ev), 0); /* redelivered: same event id */
    /* Replayed under a new id: the processed mark does not match, the unique key does. */
    json_t *j = json_loads(ev, 0, NULL);
    json_object_set_new(j, "id", json_string("0190aaaa-0000-7000-8000-000000000001"));
    char *replay = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_int_equal(deliver(f, replay), 0);
    free(replay);
    free(ev);

    struct task *v;
    size_t n = series(f, t.series_id, &v);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].id, t.id);
    assert_int_equal(v[1].occurrence, 2);
    assert_int_equal(v[1].series_id, t.series_id);
    assert_int_equal(v[1].status, TASK_TODO);
    assert_string_equal(v[1].title, "water the plants");
    assert_string_equal(v[1].description, "all of them");
    assert_int_equal(v[1].priority, PRIO_HIGH);
    assert_int_equal(v[1].ntags, 2);
    assert_string_equal(v[1].tags[0], "home");
    assert_string_equal(v[1].tags[1], "weekly");
    assert_string_equal(v[1].rrule, "FREQ=DAILY");
    /* 02:30 does not exist on 2027-03-14 in New York: moved to 03:30, anchor kept. */
    assert_string_equal(v[1].timezone, "America/New_York");
    assert_string_equal(v[1].due_local, "2027-03-14T03:30");
    assert_string_equal(v[1].series_start, "2027-03-13T02:30");
    size_t created;
    char *c = last_event(f, "task.created", v[1].id, &created);
    assert_non_null(c);
    assert_int_equal(created, 1);
    free(c);
    char *sync = last_event(f, "task.sync", v[1].id, &created);
    assert_non_null(sync);
    assert_int_equal(created, 1);
    free(sync);
    svc_tasks_free(v, n);
    task_release(&done);
    task_release(&t);
}

static void reopen_and_complete_again_makes_no_second(void **state)
{
    struct fixture *f = *state;
    struct task t = create(f, "2027-02-01", "FREQ=WEEKLY");
    struct task x;
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, t.id, -1, &x), 0);
    task_release(&x);
    char *first = last_event(f, "task.completed", t.id, NULL);
    /* Reopened before the event is handled: nothing yet. */
    assert_int_equal(svc_task_reopen(&f->svc, &f->ctx, t.id, -1, &x), 0);
    task_release(&x);
    assert_int_equal(deliver(f, first), 0);
    struct task *v;
    size_t n = series(f, t.series_id, &v);
    assert_int_equal(n, 1);
    svc_tasks_free(v, n);
    /* Completed again: one next occurrence; handling both events again adds none. */
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, t.id, -1, &x), 0);
    task_release(&x);
    size_t ncompleted;
    char *second = last_event(f, "task.completed", t.id, &ncompleted);
    assert_int_equal(ncompleted, 2);
    assert_int_equal(deliver(f, second), 0);
    assert_int_equal(svc_task_reopen(&f->svc, &f->ctx, t.id, -1, &x), 0);
    task_release(&x);
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, t.id, -1, &x), 0);
    task_release(&x);
    char *third = last_event(f, "task.completed", t.id, NULL);
    assert_int_equal(deliver(f, third), 0);
    n = series(f, t.series_id, &v);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].due_local, "2027-02-08");
    svc_tasks_free(v, n);
    free(first);
    free(second);
    free(third);
    task_release(&t);
}

static void no_next_without_rule_or_task(void **state)
{
    struct fixture *f = *state;
    /* Not recurring. */
    struct task plain = create(f, "2027-02-01", NULL), x;
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, plain.id, -1, &x), 0);
    task_release(&x);
    char *ev = last_event(f, "task.completed", plain.id, NULL);
    assert_int_equal(deliver(f, ev), 0);
    free(ev);
    struct task *v;
    size_t n = series(f, plain.series_id, &v);
    assert_int_equal(n, 1);
    svc_tasks_free(v, n);
    /* Deleted before the event is handled. */
    struct task gone = create(f, "2027-02-01", "FREQ=DAILY");
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, gone.id, -1, &x), 0);
    task_release(&x);
    ev = last_event(f, "task.completed", gone.id, NULL);
    assert_int_equal(svc_task_delete(&f->svc, &f->ctx, gone.id, -1), 0);
    assert_int_equal(deliver(f, ev), 0);
    free(ev);
    struct store_conn *c;
    bool exists = true;
    assert_int_equal(f->ops->acquire(f->store, &c), 0);
    assert_int_equal(f->ops->task_occurrence_exists(c, f->ctx.user_id, gone.series_id, 2, &exists),
                     0);
    f->ops->release(c);
    assert_false(exists);
    /* COUNT reached. */
    struct task last = create(f, "2027-02-01", "FREQ=DAILY;COUNT=1");
    assert_int_equal(svc_task_complete(&f->svc, &f->ctx, last.id, -1, &x), 0);
    task_release(&x);
    ev = last_event(f, "task.completed", last.id, NULL);
    assert_int_equal(deliver(f, ev), 0);
    free(ev);
    n = series(f, last.series_id, &v);
    assert_int_equal(n, 1);
    svc_tasks_free(v, n);
    task_release(&plain);
    task_release(&gone);
    task_release(&last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(redelivery_and_replay_make_one_next, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_and_complete_again_makes_no_second, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_next_without_rule_or_task, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
