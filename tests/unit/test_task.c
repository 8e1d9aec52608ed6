/*
 * test_task.c — the task rules: task_apply validation of every field (title,
 * description, tags, due, timezone, recurrence), the derived due_at, overdue,
 * the JSON shape and diff, id parsing and deep copies.
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

#include "core/buf.h"
#include "core/err.h"
#include "core/task.h"
#include "core/timeutil.h"

#define NY "America/New_York"

static int64_t utc(const char *s)
{
    int64_t ms = 0;
    if (time_parse_rfc3339(s, &ms) != 0)
        fail_msg("bad test instant %s", s);
    return ms;
}

static void assert_instant(int64_t ms, const char *want)
{
    char got[32];
    time_fmt_rfc3339(ms, got);
    if (strcmp(got, want) != 0)
        fail_msg("instant %s, expected %s", got, want);
}

/* A fresh task with a valid title applied in zone tz. */
static void new_task(struct task *t, const char *tz)
{
    memset(t, 0, sizeof *t);
    t->user_id = 7;
    struct task_input in = {0};
    in.set = TI_TITLE;
    in.title = "Task";
    struct tock_error e = {0};
    assert_int_equal(task_apply(t, &in, tz, &e), 0);
}

/* Applies in to a fresh zeroed task; returns rc, e filled. */
static int apply_new(struct task *t, const struct task_input *in, const char *tz,
                     struct tock_error *e)
{
    memset(t, 0, sizeof *t);
    t->user_id = 7;
    memset(e, 0, sizeof *e);
    return task_apply(t, in, tz, e);
}

static void expect_fail(const struct task_input *in, const char *field)
{
    struct task t;
    struct tock_error e;
    int rc = apply_new(&t, in, NY, &e);
    if (rc != TOCK_EINVAL)
        fail_msg("expected TOCK_EINVAL for field %s, got %d", field, rc);
    assert_int_equal(e.code, TOCK_EINVAL);
    assert_string_equal(e.field, field);
    assert_true(e.message[0] != 0);
    task_release(&t);
}

/* n copies of the UTF-8 sequence u. */
static char *repeat(const char *u, size_t n)
{
    size_t l = strlen(u);
    char *s = malloc(l * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, u, l);
    s[l * n] = 0;
    return s;
}

static void test_new_task_defaults(void **state)
{
    (void)state;
    struct task t;
    struct task_input in = {0};
    struct tock_error e;
    in.set = TI_TITLE;
    in.title = "  \t Buy milk \r\n ";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.title, "Buy milk");
    assert_non_null(t.description);
    assert_string_equal(t.description, "");
    assert_string_equal(t.timezone, NY);
    assert_int_equal(t.status, TASK_TODO);
    assert_int_equal(t.priority, PRIO_NONE);
    assert_int_equal(t.ntags, 0);
    assert_false(t.has_due);
    assert_null(t.rrule);
    assert_int_equal(t.user_id, 7);
    task_release(&t);

    /* Inner white space is kept. */
    in.title = " a  b ";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.title, "a  b");
    task_release(&t);

    /* Status and priority are taken as given. */
    in.set = TI_TITLE | TI_STATUS | TI_PRIORITY;
    in.status = TASK_IN_PROGRESS;
    in.priority = PRIO_URGENT;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_int_equal(t.status, TASK_IN_PROGRESS);
    assert_int_equal(t.priority, PRIO_URGENT);
    task_release(&t);
}

static void test_title_rules(void **state)
{
    (void)state;
    struct task_input in = {0};
    /* Required on a new task. */
    in.set = TI_DESC;
    in.description = "no title";
    expect_fail(&in, "title");
    in.set = 0;
    expect_fail(&in, "title");
    in.set = TI_TITLE;
    in.title = "";
    expect_fail(&in, "title");
    in.title = "   \t\n  ";
    expect_fail(&in, "title");
    in.title = "a\x01" "b";
    expect_fail(&in, "title");
    in.title = "line1\nline2";
    expect_fail(&in, "title");
    in.title = "tab\tinside";
    expect_fail(&in, "title");
    in.title = "del\x7f";
    expect_fail(&in, "title");
    in.title = "c1 \xc2\x85 control";
    expect_fail(&in, "title");
    in.title = "bad \xff utf8";
    expect_fail(&in, "title");
    in.title = "overlong \xc0\xaf";
    expect_fail(&in, "title");
    in.title = "surrogate \xed\xa0\x80";
    expect_fail(&in, "title");
    in.title = "truncated \xe2\x82";
    expect_fail(&in, "title");
    in.title = "too big \xf4\x90\x80\x80";
    expect_fail(&in, "title");

    struct task t;
    struct tock_error e;
    /* Multibyte text is fine. */
    in.title = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.title, in.title);
    task_release(&t);

    /* Length is counted in code points: 500 ok, 501 not, for 1-, 2-, 3- and 4-byte. */
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t u = 0; u < 4; u++) {
        char *ok = repeat(units[u], 500), *bad = repeat(units[u], 501);
        in.title = ok;
        if (apply_new(&t, &in, NY, &e) != 0)
            fail_msg("500 x %zu-byte characters rejected", u + 1);
        assert_int_equal(strlen(t.title), 500 * (u + 1));
        task_release(&t);
        in.title = bad;
        expect_fail(&in, "title");
        free(ok);
        free(bad);
    }
    /* Surrounding white space does not count towards the limit. */
    char *ok = repeat("x", 500);
    char *padded = malloc(510);
    assert_non_null(padded);
    snprintf(padded, 510, "  %s  ", ok);
    in.title = padded;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.title, ok);
    task_release(&t);
    free(ok);
    free(padded);

    /* An update without TI_TITLE keeps the title; a bad one does not replace it. */
    new_task(&t, NY);
    struct task_input up = {0};
    up.set = TI_PRIORITY;
    up.priority = PRIO_HIGH;
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_string_equal(t.title, "Task");
    up.set = TI_TITLE;
    up.title = " ";
    assert_int_equal(task_apply(&t, &up, NY, &e), TOCK_EINVAL);
    assert_string_equal(e.field, "title");
    assert_string_equal(t.title, "Task");
    task_release(&t);
}

static void test_description_rules(void **state)
{
    (void)state;
    struct task t;
    struct tock_error e;
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DESC;
    in.title = "t";
    in.description = "line 1\nline 2\r\n\tindented";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.description, in.description);
    /* NULL clears to "". */
    struct task_input up = {0};
    up.set = TI_DESC;
    up.description = NULL;
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_non_null(t.description);
    assert_string_equal(t.description, "");
    task_release(&t);

    char *ok = repeat("d", 20000), *bad = repeat("d", 20001);
    in.description = ok;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_int_equal(strlen(t.description), 20000);
    task_release(&t);
    in.description = bad;
    expect_fail(&in, "description");
    free(ok);
    free(bad);
    /* Code points, not bytes. */
    ok = repeat("\xe2\x82\xac", 20000);
    bad = repeat("\xe2\x82\xac", 20001);
    in.description = ok;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    task_release(&t);
    in.description = bad;
    expect_fail(&in, "description");
    free(ok);
    free(bad);

    in.description = "bell\x07";
    expect_fail(&in, "description");
    in.description = "bad \xc3";
    expect_fail(&in, "description");
}

static void test_tags(void **state)
{
    (void)state;
    struct task t;
    struct tock_error e;
    const char *tags[] = {"Work", "home", "work", "A-b_1", "HOME", "zz"};
    struct task_input in = {0};
    in.set = TI_TITLE | TI_TAGS;
    in.title = "t";
    in.tags = tags;
    in.ntags = 6;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_int_equal(t.ntags, 4);
    assert_string_equal(t.tags[0], "a-b_1");
    assert_string_equal(t.tags[1], "home");
    assert_string_equal(t.tags[2], "work");
    assert_string_equal(t.tags[3], "zz");

    /* Replacing with an empty list clears them. */
    struct task_input up = {0};
    up.set = TI_TAGS;
    up.ntags = 0;
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_int_equal(t.ntags, 0);
    task_release(&t);

    /* Invalid names: field names the index in the request. */
    const char *bad1[] = {"ok", "#x"};
    in.tags = bad1;
    in.ntags = 2;
    expect_fail(&in, "tags[1]");
    const char *bad0[] = {"a b"};
    in.tags = bad0;
    in.ntags = 1;
    expect_fail(&in, "tags[0]");
    const char *bad2[] = {"a", "b", ""};
    in.tags = bad2;
    in.ntags = 3;
    expect_fail(&in, "tags[2]");
    const char *bad_utf8[] = {"caf\xc3\xa9"};
    in.tags = bad_utf8;
    in.ntags = 1;
    expect_fail(&in, "tags[0]");
    const char *bad_dot[] = {"a.b"};
    in.tags = bad_dot;
    expect_fail(&in, "tags[0]");

    char *t64 = repeat("x", 64), *t65 = repeat("x", 65);
    const char *long_ok[] = {t64};
    in.tags = long_ok;
    in.ntags = 1;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_int_equal(t.ntags, 1);
    assert_string_equal(t.tags[0], t64);
    task_release(&t);
    const char *long_bad[] = {"fine", t65};
    in.tags = long_bad;
    in.ntags = 2;
    expect_fail(&in, "tags[1]");
    free(t64);
    free(t65);

    /* At most 50 per task (counted before dedup). */
    char names[51][8];
    const char *many[51];
    for (int i = 0; i < 51; i++) {
        snprintf(names[i], sizeof names[i], "t%02d", i);
        many[i] = names[i];
    }
    in.tags = many;
    in.ntags = 50;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_int_equal(t.ntags, 50);
    for (size_t i = 1; i < t.ntags; i++)
        assert_true(strcmp(t.tags[i - 1], t.tags[i]) < 0);
    task_release(&t);
    in.ntags = 51;
    expect_fail(&in, "tags");

    /* Helper directly. */
    char out[TAG_NAME_MAX + 1];
    assert_int_equal(tag_name_normalize("MiXeD-Case_9", out), 0);
    assert_string_equal(out, "mixed-case_9");
    assert_int_equal(tag_name_normalize("", out), TOCK_EINVAL);
    assert_int_equal(tag_name_normalize("#x", out), TOCK_EINVAL);
    assert_int_equal(tag_name_normalize("a/b", out), TOCK_EINVAL);
}

static void test_due_forms(void **state)
{
    (void)state;
    struct task t;
    struct tock_error e;
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DUE;
    in.title = "t";

    /* Date only: due at 23:59:59 local on that day. */
    in.due = "2027-07-04";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_true(t.has_due);
    assert_false(t.due_has_time);
    assert_string_equal(t.due_local, "2027-07-04");
    assert_instant(t.due_at, "2027-07-05T03:59:59.000Z");
    task_release(&t);
    assert_int_equal(apply_new(&t, &in, "Europe/London", &e), 0);
    assert_instant(t.due_at, "2027-07-04T22:59:59.000Z");
    task_release(&t);
    /* In winter the offset differs. */
    in.due = "2027-01-15";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_instant(t.due_at, "2027-01-16T04:59:59.000Z");
    task_release(&t);

    /* Local date-time. */
    in.due = "2027-07-04T09:30";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_true(t.has_due);
    assert_true(t.due_has_time);
    assert_string_equal(t.due_local, "2027-07-04T09:30");
    assert_instant(t.due_at, "2027-07-04T13:30:00.000Z");
    task_release(&t);

    /* RFC 3339 instants are converted into the task's zone. */
    in.due = "2027-07-04T13:30:00Z";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_true(t.due_has_time);
    assert_string_equal(t.due_local, "2027-07-04T09:30");
    assert_instant(t.due_at, "2027-07-04T13:30:00.000Z");
    task_release(&t);
    in.due = "2027-07-05T02:00:00+05:30"; /* = 2027-07-04T20:30Z = 16:30 EDT */
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-07-04T16:30");
    assert_instant(t.due_at, "2027-07-04T20:30:00.000Z");
    task_release(&t);
    in.due = "2027-07-04T01:30:00-08:00"; /* = 09:30Z = 05:30 EDT */
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-07-04T05:30");
    task_release(&t);
    /* A whole-minute fraction is fine. */
    in.due = "2027-07-04T13:30:00.000Z";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-07-04T09:30");
    task_release(&t);
    /* The zone given in the same request is the one the instant is read in. */
    in.set = TI_TITLE | TI_DUE | TI_TZ;
    in.timezone = "Europe/London";
    in.due = "2027-07-04T13:30:00Z";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.timezone, "Europe/London");
    assert_string_equal(t.due_local, "2027-07-04T14:30");
    assert_instant(t.due_at, "2027-07-04T13:30:00.000Z");
    task_release(&t);
    in.set = TI_TITLE | TI_DUE;

    /* A DST-gap local due is moved forward (02:30 does not exist: 03:30 EDT). */
    in.due = "2027-03-14T02:30";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-03-14T03:30");
    assert_instant(t.due_at, "2027-03-14T07:30:00.000Z");
    task_release(&t);
    /* An ambiguous one keeps its wall time and takes the first occurrence. */
    in.due = "2027-11-07T01:30";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-11-07T01:30");
    assert_instant(t.due_at, "2027-11-07T05:30:00.000Z");
    task_release(&t);

    /* Rejected forms. */
    static const char *const bad[] = {
        "2027-07-04T13:30:15Z",      /* seconds != 0 */
        "2027-07-04T13:30:00.500Z",  /* sub-minute */
        "2027-07-04T13:30:00",       /* no offset */
        "2027-02-29",
        "2027-07-04T24:00",
        "2027-7-4",
        "tomorrow",
        "",
        "1899-12-31",                /* years outside 1901-2499 */
        "1900-12-31",
        "1899-12-31T23:00",
        "2500-01-01",
        "9999-12-31",
        "1901-01-01T00:00:00Z",      /* 1900-12-31 in New York */
        "2027-07-04T09:30 ",
        "2027-07-04T13:30:00.000000000000000000000000000Z", /* > 40 chars */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        in.due = bad[i];
        int rc = apply_new(&t, &in, NY, &e);
        if (rc != TOCK_EINVAL)
            fail_msg("due \"%s\" accepted (rc %d)", bad[i], rc);
        assert_string_equal(e.field, "due");
        task_release(&t);
    }
    in.due = "1901-01-01";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_string_equal(t.due_local, "1901-01-01");
    assert_instant(t.due_at, "1901-01-02T04:59:59.000Z");
    task_release(&t);
    in.due = "2499-12-31";
    assert_int_equal(apply_new(&t, &in, "UTC", &e), 0);
    assert_instant(t.due_at, "2499-12-31T23:59:59.000Z");
    task_release(&t);

    /* due = NULL clears. */
    in.due = "2027-07-04";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    struct task_input up = {0};
    up.set = TI_DUE;
    up.due = NULL;
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_false(t.has_due);
    assert_false(t.due_has_time);
    assert_string_equal(t.due_local, "");
    assert_int_equal(t.due_at, 0);
    task_release(&t);
}

static void test_due_helpers(void **state)
{
    (void)state;
    struct local_dt lt;
    assert_int_equal(due_parse("2027-07-04", NY, &lt), 0);
    assert_false(lt.has_time);
    assert_int_equal(due_parse("2027-07-04T13:30:00Z", NY, &lt), 0);
    assert_true(lt.has_time);
    assert_int_equal(lt.hour, 9);
    assert_int_equal(lt.minute, 30);
    assert_int_equal(lt.second, 0);
    assert_int_equal(due_parse("2027-07-04T13:30:01Z", NY, &lt), TOCK_EINVAL);
    assert_int_equal(due_parse("2027-07-04T13:30:00Z", "Mars/Olympus", &lt), TOCK_EINVAL);
    int64_t ms;
    struct local_dt d = {2027, 7, 4, 0, 0, 0, false};
    assert_int_equal(due_moment(&d, NY, &ms), 0);
    assert_int_equal(ms, utc("2027-07-05T03:59:59Z"));
    d.has_time = true;
    d.hour = 9;
    assert_int_equal(due_moment(&d, NY, &ms), 0);
    assert_int_equal(ms, utc("2027-07-04T13:00:00Z"));
    assert_int_equal(due_moment(&d, "Nowhere/Land", &ms), TOCK_EINVAL);
}

static void test_timezone_change(void **state)
{
    (void)state;
    struct task t;
    struct tock_error e;
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DUE;
    in.title = "t";
    in.due = "2027-07-04T09:30";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_instant(t.due_at, "2027-07-04T13:30:00.000Z");

    struct task_input up = {0};
    up.set = TI_TZ;
    up.timezone = "Europe/London";
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_string_equal(t.timezone, "Europe/London");
    assert_string_equal(t.due_local, "2027-07-04T09:30");
    assert_true(t.due_has_time);
    assert_instant(t.due_at, "2027-07-04T08:30:00.000Z");

    up.timezone = "Asia/Tokyo";
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-07-04T09:30");
    assert_instant(t.due_at, "2027-07-04T00:30:00.000Z");

    /* Unknown zones are rejected and name the field. */
    up.timezone = "Mars/Olympus";
    memset(&e, 0, sizeof e);
    assert_int_equal(task_apply(&t, &up, NY, &e), TOCK_EINVAL);
    assert_string_equal(e.field, "timezone");
    up.timezone = "../etc/passwd";
    memset(&e, 0, sizeof e);
    assert_int_equal(task_apply(&t, &up, NY, &e), TOCK_EINVAL);
    assert_string_equal(e.field, "timezone");
    task_release(&t);

    /* Date-only dues keep their day too. */
    in.due = "2027-07-04";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    up.timezone = "UTC";
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_string_equal(t.due_local, "2027-07-04");
    assert_false(t.due_has_time);
    assert_instant(t.due_at, "2027-07-04T23:59:59.000Z");
    task_release(&t);

    /* The user's zone is only the default: an existing task keeps its own. */
    new_task(&t, "Europe/London");
    struct task_input p = {0};
    p.set = TI_DUE;
    p.due = "2027-07-04T09:30";
    assert_int_equal(task_apply(&t, &p, NY, &e), 0);
    assert_string_equal(t.timezone, "Europe/London");
    assert_instant(t.due_at, "2027-07-04T08:30:00.000Z");
    task_release(&t);
}

static void test_recurrence(void **state)
{
    (void)state;
    struct task t;
    struct tock_error e;
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DUE | TI_RECUR;
    in.title = "t";
    in.due = "2027-07-05";
    in.rrule = "FREQ=WEEKLY;BYDAY=MO";
    in.recur_from = RECUR_COMPLETION;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_non_null(t.rrule);
    assert_string_equal(t.rrule, "FREQ=WEEKLY;BYDAY=MO");
    assert_int_equal(t.recur_from, RECUR_COMPLETION);

    /* Clearing the due of a recurring task is refused (field "due"). */
    struct task_input up = {0};
    up.set = TI_DUE;
    up.due = NULL;
    memset(&e, 0, sizeof e);
    assert_int_equal(task_apply(&t, &up, NY, &e), TOCK_EINVAL);
    assert_string_equal(e.field, "due");
    task_release(&t);

    /* Clearing the recurrence. */
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    up.set = TI_RECUR;
    up.rrule = NULL;
    assert_int_equal(task_apply(&t, &up, NY, &e), 0);
    assert_null(t.rrule);
    task_release(&t);

    static const char *const good[] = {"FREQ=DAILY", "FREQ=MONTHLY;BYMONTHDAY=1",
                                       "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
                                       "FREQ=YEARLY;COUNT=3"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        in.rrule = good[i];
        if (apply_new(&t, &in, NY, &e) != 0)
            fail_msg("rrule %s rejected", good[i]);
        task_release(&t);
        assert_int_equal(rrule_validate(good[i]), 0);
    }
    static const char *const bad[] = {"FREQ=SOMETIMES", "FREQ=WEEKLY;BYDAY=XX",
                                      "RRULE:FREQ=DAILY", "", "BYDAY=MO",
                                      "FREQ=DAILY;COUNT=abc", "FREQ=DAILY\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        in.rrule = bad[i];
        int rc = apply_new(&t, &in, NY, &e);
        if (rc != TOCK_EINVAL)
            fail_msg("rrule \"%s\" accepted", bad[i]);
        assert_string_equal(e.field, "recurrence.rrule");
        task_release(&t);
        assert_int_equal(rrule_validate(bad[i]), TOCK_EINVAL);
    }
    char *huge = repeat("FREQ=DAILY;", 100); /* 1100 chars */
    assert_int_equal(rrule_validate(huge), TOCK_EINVAL);
    free(huge);

    /* A recurrence without a due date. */
    in.set = TI_TITLE | TI_RECUR;
    in.rrule = "FREQ=DAILY";
    expect_fail(&in, "recurrence");
}

/*
 * RFC 5545 section 3.3.10 value ranges: bymonth 1..12, byyrdaynum 1..366,
 * weeknum 1..53, ordwk 1..53, and no empty rule parts. The validator's own
 * error says "not a valid RFC 5545 RRULE", so these must be refused.
 */
static void test_rrule_rfc_ranges(void **state)
{
    (void)state;
    /* In-range values are accepted. */
    assert_int_equal(rrule_validate("FREQ=YEARLY;BYMONTH=12"), 0);
    assert_int_equal(rrule_validate("FREQ=YEARLY;BYYEARDAY=366"), 0);
    assert_int_equal(rrule_validate("FREQ=YEARLY;BYWEEKNO=53"), 0);
    assert_int_equal(rrule_validate("FREQ=YEARLY;BYDAY=+53MO"), 0);
    static const char *const bad[] = {"FREQ=YEARLY;BYMONTH=13", "FREQ=YEARLY;BYYEARDAY=367",
                                      "FREQ=YEARLY;BYWEEKNO=54", "FREQ=YEARLY;BYDAY=+54MO",
                                      "FREQ=DAILY;;"};
    char accepted[256] = "";
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (rrule_validate(bad[i]) == 0)
            snprintf(accepted + strlen(accepted), sizeof accepted - strlen(accepted), " %s",
                     bad[i]);
    if (accepted[0])
        fail_msg("rrule_validate accepted out-of-range RRULEs:%s", accepted);
}

static void test_overdue(void **state)
{
    (void)state;
    struct task t;
    struct tock_error e;
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DUE;
    in.title = "t";
    in.due = "2027-07-04T09:30";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    int64_t due = utc("2027-07-04T13:30:00Z");
    assert_int_equal(t.due_at, due);
    assert_false(task_overdue(&t, due - 1));
    assert_false(task_overdue(&t, due));
    assert_true(task_overdue(&t, due + 1));
    t.status = TASK_IN_PROGRESS;
    assert_true(task_overdue(&t, due + 1));
    t.status = TASK_DONE;
    assert_false(task_overdue(&t, due + 1));
    task_release(&t);

    new_task(&t, NY);
    assert_false(task_overdue(&t, INT64_MAX));
    task_release(&t);

    /* Date-only: overdue only after the end of the local day. */
    in.due = "2027-07-04";
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    assert_false(task_overdue(&t, utc("2027-07-05T03:59:00Z")));
    assert_true(task_overdue(&t, utc("2027-07-05T04:00:00Z")));
    task_release(&t);
}

static void test_to_json(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "id",         "title",      "description", "status",     "priority",     "tags",
        "due",        "timezone",   "due_at",      "overdue",    "recurrence",   "series_id",
        "occurrence", "created_at", "updated_at",  "completed_at", "version"};
    const size_t nkeys = sizeof keys / sizeof *keys;
    struct task t;
    struct tock_error e;
    const char *tags[] = {"b", "A"};
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DESC | TI_TAGS | TI_DUE | TI_RECUR | TI_PRIORITY | TI_STATUS;
    in.title = "Title \"q\"";
    in.description = "desc";
    in.tags = tags;
    in.ntags = 2;
    in.due = "2027-07-04T09:30";
    in.rrule = "FREQ=DAILY";
    in.recur_from = RECUR_DUE;
    in.priority = PRIO_HIGH;
    in.status = TASK_IN_PROGRESS;
    assert_int_equal(apply_new(&t, &in, NY, &e), 0);
    t.id = 123456789012345LL;
    t.created_at = utc("2027-07-01T00:00:00Z");
    t.updated_at = utc("2027-07-02T00:00:00.5Z");
    t.version = 3;

    json_t *j = task_to_json(&t, utc("2027-07-05T00:00:00Z"));
    assert_non_null(j);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), nkeys);
    for (size_t i = 0; i < nkeys; i++)
        if (!json_object_get(j, keys[i]))
            fail_msg("key %s missing", keys[i]);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        bool known = false;
        for (size_t i = 0; i < nkeys; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            fail_msg("unexpected key %s", k);
    }
    assert_string_equal(json_string_value(json_object_get(j, "id")), "123456789012345");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Title \"q\"");
    assert_string_equal(json_string_value(json_object_get(j, "description")), "desc");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "in_progress");
    assert_string_equal(json_string_value(json_object_get(j, "priority")), "high");
    json_t *jt = json_object_get(j, "tags");
    assert_true(json_is_array(jt));
    assert_int_equal(json_array_size(jt), 2);
    assert_string_equal(json_string_value(json_array_get(jt, 0)), "a");
    assert_string_equal(json_string_value(json_array_get(jt, 1)), "b");
    assert_string_equal(json_string_value(json_object_get(j, "due")), "2027-07-04T09:30");
    assert_string_equal(json_string_value(json_object_get(j, "timezone")), NY);
    assert_string_equal(json_string_value(json_object_get(j, "due_at")),
                        "2027-07-04T13:30:00.000Z");
    assert_true(json_is_true(json_object_get(j, "overdue")));
    json_t *r = json_object_get(j, "recurrence");
    assert_true(json_is_object(r));
    assert_string_equal(json_string_value(json_object_get(r, "rrule")), "FREQ=DAILY");
    assert_string_equal(json_string_value(json_object_get(r, "recur_from")), "due");
    /* series_id defaults to the id, occurrence to 1. */
    assert_string_equal(json_string_value(json_object_get(j, "series_id")), "123456789012345");
    assert_int_equal(json_integer_value(json_object_get(j, "occurrence")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2027-07-01T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "updated_at")),
                        "2027-07-02T00:00:00.500Z");
    assert_true(json_is_null(json_object_get(j, "completed_at")));
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 3);
    json_decref(j);

    /* Not overdue before the due; completion/series fields. */
    t.status = TASK_DONE;
    t.completed_at = utc("2027-07-03T10:00:00Z");
    t.series_id = 99;
    t.occurrence = 4;
    t.recur_from = RECUR_COMPLETION;
    j = task_to_json(&t, utc("2027-07-05T00:00:00Z"));
    assert_true(json_is_false(json_object_get(j, "overdue")));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
    assert_string_equal(json_string_value(json_object_get(j, "completed_at")),
                        "2027-07-03T10:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "series_id")), "99");
    assert_int_equal(json_integer_value(json_object_get(j, "occurrence")), 4);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "recurrence"), "recur_from")),
        "completion");
    json_decref(j);
    task_release(&t);

    /* No due, no recurrence: nulls. */
    new_task(&t, NY);
    t.id = 5;
    j = task_to_json(&t, 0);
    assert_int_equal(json_object_size(j), nkeys);
    assert_true(json_is_null(json_object_get(j, "due")));
    assert_true(json_is_null(json_object_get(j, "due_at")));
    assert_true(json_is_null(json_object_get(j, "recurrence")));
    assert_true(json_is_false(json_object_get(j, "overdue")));
    assert_int_equal(json_array_size(json_object_get(j, "tags")), 0);
    assert_string_equal(json_string_value(json_object_get(j, "priority")), "none");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "todo");
    json_decref(j);
    task_release(&t);
}

static void test_diff_json(void **state)
{
    (void)state;
    struct task a, b;
    struct tock_error e;
    new_task(&a, NY);
    a.id = 1;
    a.version = 1;
    assert_int_equal(task_copy(&b, &a), 0);

    json_t *d = task_diff_json(&a, &b, 0);
    assert_true(json_is_object(d));
    assert_int_equal(json_object_size(d), 0);
    json_decref(d);

    /* Bookkeeping fields alone do not show up. */
    b.version = 2;
    b.updated_at = 12345;
    d = task_diff_json(&a, &b, 0);
    assert_int_equal(json_object_size(d), 0);
    json_decref(d);

    struct task_input up = {0};
    up.set = TI_TITLE | TI_PRIORITY;
    up.title = "Renamed";
    up.priority = PRIO_LOW;
    assert_int_equal(task_apply(&b, &up, NY, &e), 0);
    d = task_diff_json(&a, &b, 0);
    assert_int_equal(json_object_size(d), 2);
    json_t *c = json_object_get(d, "title");
    assert_non_null(c);
    assert_int_equal(json_object_size(c), 2);
    assert_string_equal(json_string_value(json_object_get(c, "before")), "Task");
    assert_string_equal(json_string_value(json_object_get(c, "after")), "Renamed");
    c = json_object_get(d, "priority");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "before")), "none");
    assert_string_equal(json_string_value(json_object_get(c, "after")), "low");
    json_decref(d);

    /* Adding a due changes due and due_at (before null). */
    up.set = TI_DUE;
    up.due = "2027-07-04T09:30";
    assert_int_equal(task_apply(&b, &up, NY, &e), 0);
    d = task_diff_json(&a, &b, 0);
    assert_int_equal(json_object_size(d), 4);
    c = json_object_get(d, "due");
    assert_non_null(c);
    assert_true(json_is_null(json_object_get(c, "before")));
    assert_string_equal(json_string_value(json_object_get(c, "after")), "2027-07-04T09:30");
    c = json_object_get(d, "due_at");
    assert_non_null(c);
    assert_true(json_is_null(json_object_get(c, "before")));
    assert_string_equal(json_string_value(json_object_get(c, "after")),
                        "2027-07-04T13:30:00.000Z");
    assert_null(json_object_get(d, "timezone"));
    assert_null(json_object_get(d, "tags"));
    json_decref(d);

    /* Timezone change: timezone and due_at differ, due does not. */
    struct task c1;
    assert_int_equal(task_copy(&c1, &b), 0);
    up.set = TI_TZ;
    up.timezone = "Europe/London";
    assert_int_equal(task_apply(&c1, &up, NY, &e), 0);
    d = task_diff_json(&b, &c1, 0);
    assert_int_equal(json_object_size(d), 2);
    assert_non_null(json_object_get(d, "timezone"));
    assert_non_null(json_object_get(d, "due_at"));
    assert_null(json_object_get(d, "due"));
    json_decref(d);

    /* Tags. */
    const char *tags[] = {"x"};
    up.set = TI_TAGS;
    up.tags = tags;
    up.ntags = 1;
    assert_int_equal(task_apply(&c1, &up, NY, &e), 0);
    d = task_diff_json(&b, &c1, 0);
    c = json_object_get(d, "tags");
    assert_non_null(c);
    assert_int_equal(json_array_size(json_object_get(c, "before")), 0);
    assert_int_equal(json_array_size(json_object_get(c, "after")), 1);
    json_decref(d);

    task_release(&a);
    task_release(&b);
    task_release(&c1);
}

/* A task with every field set, strings that need escaping included. */
static void rich_task(struct task *t)
{
    struct tock_error e;
    const char *tags[] = {"home", "work"};
    struct task_input in = {0};
    in.set = TI_TITLE | TI_TAGS | TI_DUE | TI_RECUR | TI_PRIORITY | TI_STATUS;
    in.title = "Say \"hi\" \\ caf\xc3\xa9 \xf0\x9f\x98\x80 </script>";
    in.tags = tags;
    in.ntags = 2;
    in.due = "2027-07-04T09:30";
    in.rrule = "FREQ=WEEKLY;BYDAY=MO";
    in.recur_from = RECUR_COMPLETION;
    in.priority = PRIO_MEDIUM;
    in.status = TASK_DONE;
    assert_int_equal(apply_new(t, &in, NY, &e), 0);
    /* Set directly: control characters the writer must escape. */
    free(t->description);
    t->description = strdup("line1\nline2\r\n\ttab \x01\x1f \"q\" back\\slash \x7f");
    assert_non_null(t->description);
    t->id = 123456789012345678LL;
    t->series_id = 17;
    t->occurrence = 3;
    t->created_at = -1; /* before the epoch */
    t->updated_at = utc("2027-07-02T00:00:00.5Z");
    t->completed_at = utc("2027-07-03T10:00:00Z");
    t->version = 42;
}

static void expect_same_json(const struct task *t, int64_t now)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(task_write_json(&b, t, now), 0);
    assert_int_equal(strlen(b.data), b.len);
    json_error_t jerr;
    json_t *parsed = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!parsed)
        fail_msg("task_write_json output is not JSON (%s): %s", jerr.text, b.data);
    json_t *ref = task_to_json(t, now);
    if (!json_equal(parsed, ref)) {
        char *r = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("task_write_json differs from task_to_json:\n write: %s\n ref:   %s", w, r);
    }
    json_decref(parsed);
    json_decref(ref);
    buf_free(&b);
}

static void test_write_json_matches(void **state)
{
    (void)state;
    struct task t;
    rich_task(&t);
    expect_same_json(&t, utc("2027-07-05T00:00:00Z"));
    t.status = TASK_TODO;
    t.completed_at = 0;
    t.recur_from = RECUR_DUE;
    expect_same_json(&t, utc("2027-07-05T00:00:00Z")); /* overdue */
    expect_same_json(&t, utc("2027-07-01T00:00:00Z")); /* not yet */
    task_release(&t);

    new_task(&t, NY);
    expect_same_json(&t, 0); /* id 0, no due, no recurrence, no tags */
    task_release(&t);

    /* A zeroed struct (no title/description) still gives the same JSON. */
    memset(&t, 0, sizeof t);
    snprintf(t.timezone, sizeof t.timezone, "UTC");
    expect_same_json(&t, 0);

    /* It appends: existing content is kept. */
    rich_task(&t);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_puts(&b, "["), 0);
    assert_int_equal(task_write_json(&b, &t, 0), 0);
    assert_int_equal(buf_puts(&b, "]"), 0);
    json_t *arr = json_loads(b.data, 0, NULL);
    assert_non_null(arr);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    buf_free(&b);
    task_release(&t);
}

/*
 * Under every size limit the writer either succeeds with the whole object or
 * fails with TOCK_ELIMIT leaving the buf as it was (buf.h's contract).
 */
static void test_write_json_limit(void **state)
{
    (void)state;
    struct task t;
    rich_task(&t);
    struct buf full;
    buf_init(&full, 0);
    assert_int_equal(buf_puts(&full, "pre:"), 0);
    assert_int_equal(task_write_json(&full, &t, 0), 0);
    size_t bad_ok = 0, bad_fail = 0, first_ok = 0, first_fail = 0;
    for (size_t cap = 4; cap <= full.len + 8; cap++) {
        struct buf b;
        buf_init(&b, cap);
        assert_int_equal(buf_puts(&b, "pre:"), 0);
        int rc = task_write_json(&b, &t, 0);
        if (rc == 0) {
            if (b.len != full.len || strcmp(b.data, full.data) != 0) {
                if (!bad_ok++)
                    first_ok = cap;
            }
        } else {
            assert_int_equal(rc, TOCK_ELIMIT);
            if (b.len != 4 || strcmp(b.data, "pre:") != 0) {
                if (!bad_fail++)
                    first_fail = cap;
            }
        }
        if (cap >= full.len)
            assert_int_equal(rc, 0);
        buf_free(&b);
    }
    size_t full_len = full.len;
    buf_free(&full);
    task_release(&t);
    if (bad_ok || bad_fail)
        fail_msg("task_write_json under cap_limit: %zu limits returned 0 with a truncated "
                 "object (first cap %zu), %zu returned ELIMIT without restoring the buf "
                 "(first cap %zu); full length %zu",
                 bad_ok, first_ok, bad_fail, first_fail, full_len);
}

static void test_id_parse(void **state)
{
    (void)state;
    assert_int_equal(id_parse("1"), 1);
    assert_int_equal(id_parse("42"), 42);
    assert_int_equal(id_parse("007"), 0); /* canonical form only */
    assert_int_equal(id_parse("10"), 10);
    assert_int_equal(id_parse("999999999999999999"), 999999999999999999LL); /* 18 digits */
    assert_int_equal(id_parse(""), 0);
    assert_int_equal(id_parse(NULL), 0);
    assert_int_equal(id_parse("0"), 0);
    assert_int_equal(id_parse("abc"), 0);
    assert_int_equal(id_parse("12a"), 0);
    assert_int_equal(id_parse("a12"), 0);
    assert_int_equal(id_parse("1 2"), 0);
    assert_int_equal(id_parse(" 12"), 0);
    assert_int_equal(id_parse("12 "), 0);
    assert_int_equal(id_parse("-1"), 0);
    assert_int_equal(id_parse("+1"), 0);
    assert_int_equal(id_parse("1.0"), 0);
    assert_int_equal(id_parse("0x10"), 0);
    assert_int_equal(id_parse("1000000000000000000"), 0);  /* 19 digits */
    assert_int_equal(id_parse("9223372036854775807"), 0);  /* INT64_MAX: still 19 */
    assert_int_equal(id_parse("99999999999999999999"), 0); /* 20 digits */

    char b[24];
    id_str(0, b);
    assert_string_equal(b, "0");
    id_str(123456789012345678LL, b);
    assert_string_equal(b, "123456789012345678");
    assert_int_equal(id_parse(b), 123456789012345678LL);
}

static void test_copy_deep(void **state)
{
    (void)state;
    struct task a, b;
    struct tock_error e;
    const char *tags[] = {"one", "two"};
    struct task_input in = {0};
    in.set = TI_TITLE | TI_DESC | TI_TAGS | TI_DUE | TI_RECUR;
    in.title = "orig";
    in.description = "d";
    in.tags = tags;
    in.ntags = 2;
    in.due = "2027-07-04";
    in.rrule = "FREQ=DAILY";
    assert_int_equal(apply_new(&a, &in, NY, &e), 0);
    a.id = 9;
    a.version = 4;

    assert_int_equal(task_copy(&b, &a), 0);
    assert_ptr_not_equal(b.title, a.title);
    assert_ptr_not_equal(b.description, a.description);
    assert_ptr_not_equal(b.rrule, a.rrule);
    assert_ptr_not_equal(b.tags, a.tags);
    assert_int_equal(b.ntags, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_ptr_not_equal(b.tags[i], a.tags[i]);
        assert_string_equal(b.tags[i], a.tags[i]);
    }
    assert_string_equal(b.title, "orig");
    assert_string_equal(b.description, "d");
    assert_string_equal(b.rrule, "FREQ=DAILY");
    assert_string_equal(b.due_local, "2027-07-04");
    assert_int_equal(b.due_at, a.due_at);
    assert_int_equal(b.id, 9);
    assert_int_equal(b.version, 4);
    assert_string_equal(b.timezone, NY);

    /* Changing the copy leaves the original alone. */
    b.title[0] = 'X';
    b.tags[0][0] = 'X';
    struct task_input up = {0};
    up.set = TI_TITLE;
    up.title = "changed";
    assert_int_equal(task_apply(&b, &up, NY, &e), 0);
    assert_string_equal(a.title, "orig");
    assert_string_equal(a.tags[0], "one");

    /* Releasing the original keeps the copy valid (ASan would catch sharing). */
    task_release(&a);
    assert_null(a.title);
    assert_int_equal(a.ntags, 0);
    assert_string_equal(b.tags[1], "two");
    assert_string_equal(b.rrule, "FREQ=DAILY");
    task_release(&b);

    /* A task with no tags or rrule copies NULLs. */
    new_task(&a, NY);
    assert_int_equal(task_copy(&b, &a), 0);
    assert_null(b.tags);
    assert_null(b.rrule);
    assert_int_equal(b.ntags, 0);
    task_release(&a);
    task_release(&b);
}

static void test_enum_names(void **state)
{
    (void)state;
    assert_string_equal(task_status_name(TASK_TODO), "todo");
    assert_string_equal(task_status_name(TASK_IN_PROGRESS), "in_progress");
    assert_string_equal(task_status_name(TASK_DONE), "done");
    assert_string_equal(task_priority_name(PRIO_NONE), "none");
    assert_string_equal(task_priority_name(PRIO_URGENT), "urgent");
    assert_int_equal(task_status_parse("in_progress"), TASK_IN_PROGRESS);
    assert_int_equal(task_status_parse("done"), TASK_DONE);
    assert_int_equal(task_status_parse("DONE"), -1);
    assert_int_equal(task_status_parse(""), -1);
    assert_int_equal(task_priority_parse("medium"), PRIO_MEDIUM);
    assert_int_equal(task_priority_parse("urgent"), PRIO_URGENT);
    assert_int_equal(task_priority_parse("critical"), -1);
    for (int i = 0; i <= PRIO_URGENT; i++)
        assert_int_equal(task_priority_parse(task_priority_name(i)), i);
    for (int i = 0; i <= TASK_DONE; i++)
        assert_int_equal(task_status_parse(task_status_name(i)), i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_task_defaults),
        cmocka_unit_test(test_title_rules),
        cmocka_unit_test(test_description_rules),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_due_forms),
        cmocka_unit_test(test_due_helpers),
        cmocka_unit_test(test_timezone_change),
        cmocka_unit_test(test_recurrence),
        cmocka_unit_test(test_rrule_rfc_ranges),
        cmocka_unit_test(test_overdue),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_diff_json),
        cmocka_unit_test(test_write_json_matches),
        cmocka_unit_test(test_write_json_limit),
        cmocka_unit_test(test_id_parse),
        cmocka_unit_test(test_copy_deep),
        cmocka_unit_test(test_enum_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
