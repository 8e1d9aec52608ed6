/*
 * test_reminders.c — reminder rules (core/reminder.c: the 09:00 anchor of a
 * date-only due, quiet-hours windows across midnight and DST) and, on a real
 * SQLite store with a pinned clock: the scheduler's unit fires a due reminder
 * exactly once and marks late ones; a reminder.due event delivered twice through
 * the consumer framework (same id), or re-sent under a new event id, queues one
 * delivery per channel, never two; a series' next occurrence gets the offsets.
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
#include "core/reminder.h"
#include "core/timeutil.h"
#include "obs/clock.h"
#include "roles/consumer.h"
#include "service/service.h"
#include "store/store.h"

#include "unit_store.h"

static int64_t utc(const char *rfc3339)
{
    int64_t ms = 0;
    assert_int_equal(time_parse_rfc3339(rfc3339, &ms), 0);
    return ms;
}

static void anchor_of_date_only_due_is_nine_local(void **state)
{
    (void)state;
    struct task t;
    memset(&t, 0, sizeof t);
    t.has_due = true;
    snprintf(t.due_local, sizeof t.due_local, "2031-07-04");
    snprintf(t.timezone, sizeof t.timezone, "America/New_York");
    int64_t ms;
    assert_int_equal(reminder_anchor(&t, &ms), 0);
    assert_true(ms == utc("2031-07-04T13:00:00Z"));
    t.due_has_time = true;
    t.due_at = 12345;
    assert_int_equal(reminder_anchor(&t, &ms), 0);
    assert_true(ms == 12345);
    t.has_due = false;
    assert_int_equal(reminder_anchor(&t, &ms), 0);
    assert_true(ms == 0);
}

static void quiet_hours_windows(void **state)
{
    (void)state;
    int64_t rel;
    int qs = reminder_hhmm_parse("22:00"), qe = reminder_hhmm_parse("07:00");
    assert_int_equal(qs, 22 * 60);
    assert_int_equal(reminder_hhmm_parse("24:00"), -1);
    assert_int_equal(reminder_hhmm_parse("7:00"), -1);
    /* Before midnight: held until 07:00 the next day (Paris, CEST = UTC+2). */
    assert_int_equal(quiet_release("Europe/Paris", qs, qe, utc("2031-07-04T21:30:00Z"), &rel), 0);
    assert_true(rel == utc("2031-07-05T05:00:00Z"));
    /* After midnight: until 07:00 the same day. */
    assert_int_equal(quiet_release("Europe/Paris", qs, qe, utc("2031-07-05T01:00:00Z"), &rel), 0);
    assert_true(rel == utc("2031-07-05T05:00:00Z"));
    /* Outside: unchanged. */
    assert_int_equal(quiet_release("Europe/Paris", qs, qe, utc("2031-07-05T10:00:00Z"), &rel), 0);
    assert_true(rel == utc("2031-07-05T10:00:00Z"));
    /* A window that does not wrap, across the autumn DST change (CEST -> CET). */
    assert_int_equal(quiet_release("Europe/Paris", 60, 300, utc("2031-10-26T00:30:00Z"), &rel), 0);
    assert_true(rel == utc("2031-10-26T04:00:00Z")); /* 05:00 CET */
    /* None. */
    assert_int_equal(quiet_release("UTC", -1, -1, 5, &rel), 0);
    assert_true(rel == 5);
}

struct fixture {
    struct unit_store u;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    unit_store_open(&f->u, 4, "UTC");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clock_set_fixed(0);
    unit_store_close(&f->u);
    free(f);
    return 0;
}

/* A task due 2031-03-05T10:00Z with an "at" reminder at `at`; returns the reminder id. */
static int64_t task_with_reminder(struct fixture *f, const char *at)
{
    struct task_input in;
    memset(&in, 0, sizeof in);
    in.set = TI_TITLE | TI_DUE;
    in.title = "water the plants";
    in.due = "2031-03-05T10:00";
    struct reminder_input ri = {.is_offset = false, .at = at};
    in.reminders = &ri;
    in.nreminders = 1;
    in.reminders_set = true;
    struct task t;
    struct tock_error e = {0};
    assert_int_equal(svc_task_create(&f->u.svc, &f->u.ctx, &in, &t, &e), 0);
    struct reminder *v = NULL;
    size_t n = 0;
    assert_int_equal(svc_reminder_list_task(&f->u.svc, &f->u.ctx, t.id, &v, &n), 0);
    assert_int_equal(n, 1);
    int64_t id = v[0].id;
    free(v);
    task_release(&t);
    return id;
}

/* The reminder.due events in the outbox. */
static size_t due_events(struct fixture *f, char **last_json)
{
    struct store_conn *c;
    assert_int_equal(f->u.ops->acquire(f->u.store, &c), 0);
    struct outbox_row *rows = NULL;
    size_t n = 0, k = 0;
    assert_int_equal(f->u.ops->outbox_fetch(c, 0, 10000, false, &rows, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].type, "reminder.due") == 0) {
            k++;
            if (last_json) {
                free(*last_json);
                *last_json = strdup(rows[i].event_json);
            }
        }
    }
    outbox_rows_free(rows, n);
    f->u.ops->release(c);
    return k;
}

static void scheduler_fires_once_and_marks_late(void **state)
{
    struct fixture *f = *state;
    clock_set_fixed(utc("2030-01-01T00:00:00Z"));
    int64_t r1 = task_with_reminder(f, "2030-01-01T00:00:10Z");
    int64_t r2 = task_with_reminder(f, "2030-01-01T00:05:00Z");
    size_t fired = 99;
    /* Not due yet. */
    assert_int_equal(svc_reminders_fire_due(&f->u.svc, utc("2030-01-01T00:00:09.999Z"), 100, 60000,
                                            &fired),
                     0);
    assert_int_equal(fired, 0);
    int64_t next = 0;
    assert_int_equal(svc_reminder_next(&f->u.svc, &next), 0);
    assert_true(next == utc("2030-01-01T00:00:10Z"));
    /* On time: fires r1 only, once. */
    assert_int_equal(svc_reminders_fire_due(&f->u.svc, utc("2030-01-01T00:00:10Z"), 100, 60000, &fired),
                     0);
    assert_int_equal(fired, 1);
    assert_int_equal(svc_reminders_fire_due(&f->u.svc, utc("2030-01-01T00:00:11Z"), 100, 60000, &fired),
                     0);
    assert_int_equal(fired, 0);
    assert_int_equal(due_events(f, NULL), 1);
    struct reminder r;
    assert_int_equal(svc_reminder_get(&f->u.svc, &f->u.ctx, r1, &r), 0);
    assert_int_equal(r.state, REMINDER_FIRED);
    assert_false(r.late);
    /* Much later (downtime): r2 fires at once, marked late. */
    assert_int_equal(svc_reminders_fire_due(&f->u.svc, utc("2030-01-01T01:00:00Z"), 100, 60000, &fired),
                     0);
    assert_int_equal(fired, 1);
    assert_int_equal(svc_reminder_get(&f->u.svc, &f->u.ctx, r2, &r), 0);
    assert_true(r.late);
    assert_int_equal(due_events(f, NULL), 2);
}

static int enqueue_handler(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                           void *arg)
{
    (void)arg;
    return svc_notify_enqueue(svc, c, ev->user_id, ev->data, clock_now_ms());
}

static size_t count_deliveries(struct fixture *f)
{
    struct delivery *v = NULL;
    size_t n = 0;
    assert_int_equal(svc_deliveries_list(&f->u.svc, &f->u.ctx, 0, 100, &v, &n), 0);
    deliveries_free(v, n);
    return n;
}

static void redelivered_event_queues_one_delivery_per_channel(void **state)
{
    struct fixture *f = *state;
    clock_set_fixed(utc("2030-01-01T00:00:00Z"));
    struct notify_prefs p;
    notify_prefs_default(&p, f->u.ctx.user_id);
    p.channels = CH_IN_APP | CH_EMAIL | CH_WEBHOOK;
    snprintf(p.webhook_url, sizeof p.webhook_url, "https://hooks.example/x");
    snprintf(p.webhook_secret, sizeof p.webhook_secret, "0123456789abcdef");
    struct tock_error e = {0};
    assert_int_equal(svc_notify_prefs_put(&f->u.svc, &f->u.ctx, &p, &e), 0);
    task_with_reminder(f, "2030-01-01T00:00:10Z");
    size_t fired = 0;
    assert_int_equal(svc_reminders_fire_due(&f->u.svc, utc("2030-01-01T00:00:10Z"), 100, 60000, &fired),
                     0);
    char *json = NULL;
    assert_int_equal(due_events(f, &json), 1);
    static const char *const topics[] = {"reminders"};
    static const char *const types[] = {"reminder.due"};
    struct consumer_def def = {.name = "notifier", .topics = topics, .ntopics = 1,
                               .types = types, .ntypes = 1, .handle = enqueue_handler};
    struct consumer *cons;
    assert_int_equal(consumer_new(&f->u.svc, &def, &cons), 0);
    json_t *ev = json_loads(json, 0, NULL);
    assert_non_null(ev);
    struct bus_msg m = {"reminders", "1", json, strlen(json),
                        json_string_value(json_object_get(ev, "id"))};
    assert_int_equal(consumer_deliver(&m, cons), 0);
    assert_int_equal(count_deliveries(f), 3);
    /* The same event again (a redelivery): no effect. */
    assert_int_equal(consumer_deliver(&m, cons), 0);
    assert_int_equal(count_deliveries(f), 3);
    /* The same firing under another event id: still one row per channel. */
    json_object_set_new(ev, "id", json_string("01a67470-1951-713a-ac3d-af30123d1c24"));
    char *again = json_dumps(ev, JSON_COMPACT);
    struct bus_msg m2 = {"reminders", "1", again, strlen(again),
                         "01a67470-1951-713a-ac3d-af30123d1c24"};
    assert_int_equal(consumer_deliver(&m2, cons), 0);
    assert_int_equal(count_deliveries(f), 3);
    free(again);
    json_decref(ev);
    free(json);
    consumer_free(cons);
}

/* What the recurrence role does for a next occurrence: copy the offsets. */
static void copy_offsets_to_the_next_occurrence(void **state)
{
    struct fixture *f = *state;
    clock_set_fixed(utc("2030-01-01T00:00:00Z"));
    struct reminder_input ri[3] = {{.is_offset = true, .offset_minutes = 30},
                                   {.is_offset = true, .offset_minutes = 1440},
                                   {.is_offset = false, .at = "2030-06-01T00:00:00Z"}};
    struct task_input in;
    memset(&in, 0, sizeof in);
    in.set = TI_TITLE | TI_DUE;
    in.title = "weekly review";
    in.due = "2030-03-01T10:00";
    in.reminders = ri;
    in.nreminders = 3;
    in.reminders_set = true;
    struct task a, b;
    struct tock_error e = {0};
    assert_int_equal(svc_task_create(&f->u.svc, &f->u.ctx, &in, &a, &e), 0);
    in.due = "2030-03-08";
    in.reminders_set = false;
    assert_int_equal(svc_task_create(&f->u.svc, &f->u.ctx, &in, &b, &e), 0);
    struct store_conn *c;
    assert_int_equal(f->u.ops->acquire(f->u.store, &c), 0);
    assert_int_equal(f->u.ops->begin(c, true), 0);
    f->u.ctx.reminders_changed = false;
    assert_int_equal(svc_reminders_copy_offsets(&f->u.svc, c, &f->u.ctx, a.id, &b), 0);
    assert_true(f->u.ctx.reminders_changed);
    assert_int_equal(f->u.ops->commit(c), 0);
    f->u.ops->release(c);
    struct reminder *v = NULL;
    size_t n = 0;
    assert_int_equal(svc_reminder_list_task(&f->u.svc, &f->u.ctx, b.id, &v, &n), 0);
    assert_int_equal(n, 2); /* the offsets only, not the absolute reminder */
    /* Date-only due: 09:00 UTC on 2030-03-08, minus 1 day and minus 30 min. */
    assert_true(v[0].kind == REMINDER_OFFSET && v[0].offset_minutes == 1440);
    assert_true(v[0].fire_at == utc("2030-03-07T09:00:00Z"));
    assert_true(v[1].offset_minutes == 30 && v[1].fire_at == utc("2030-03-08T08:30:00Z"));
    assert_int_equal(v[1].state, REMINDER_PENDING);
    free(v);
    task_release(&a);
    task_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anchor_of_date_only_due_is_nine_local),
        cmocka_unit_test(quiet_hours_windows),
        cmocka_unit_test_setup_teardown(scheduler_fires_once_and_marks_late, setup, teardown),
        cmocka_unit_test_setup_teardown(redelivered_event_queues_one_delivery_per_channel, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(copy_offsets_to_the_next_occurrence, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
