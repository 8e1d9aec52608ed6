/*
 * test_recur.c — recurrence: the friendly form written as an RRULE (and its
 * errors, with the field they name), and the next due of a series for every rule
 * part, DST in New York and London, month ends, leap years, COUNT/UNTIL, overdue
 * series and recur_from completion; rules that never match end instead of looping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/recur.h"
#include "core/task.h"
#include "core/tz.h"

static int64_t utc(const char *s)
{
    int64_t ms = 0;
    if (time_parse_rfc3339(s, &ms) != 0)
        fail_msg("bad test instant %s", s);
    return ms;
}

static struct local_dt local(const char *s)
{
    struct local_dt t;
    if (time_parse_local(s, &t) != 0)
        fail_msg("bad test local time %s", s);
    return t;
}

struct case_ {
    const char *rrule;
    int from;
    const char *zone;
    const char *start;     /* series start */
    const char *due;       /* completed occurrence's due (local) */
    long occurrence;       /* its number */
    const char *completed; /* RFC 3339 (completion mode) */
    const char *now;       /* RFC 3339 */
    const char *want;      /* next due (local wall time as the rule gives it) or NULL */
};

#define D RECUR_DUE
#define C RECUR_COMPLETION
#define NOW "2027-01-10T15:00:00Z"

static const struct case_ cases[] = {
    /* every rule part */
    {"FREQ=DAILY", D, "UTC", "2027-02-01", "2027-02-01", 1, NULL, NOW, "2027-02-02"},
    {"FREQ=DAILY;INTERVAL=3", D, "UTC", "2027-02-01", "2027-02-04", 2, NULL, NOW, "2027-02-07"},
    {"FREQ=WEEKLY", D, "UTC", "2027-02-03T09:00", "2027-02-03T09:00", 1, NULL, NOW,
     "2027-02-10T09:00"},
    {"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", D, "UTC", "2027-02-01", "2027-02-01", 1, NULL, NOW,
     "2027-02-04"},
    {"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", D, "UTC", "2027-02-01", "2027-02-04", 2, NULL, NOW,
     "2027-02-15"},
    {"FREQ=MONTHLY;BYDAY=-1FR", D, "UTC", "2027-01-29", "2027-01-29", 1, NULL, NOW,
     "2027-02-26"},
    {"FREQ=MONTHLY;BYDAY=2MO", D, "America/New_York", "2027-01-11T10:00", "2027-01-11T10:00", 1,
     NULL, NOW, "2027-02-08T10:00"},
    {"FREQ=MONTHLY;BYMONTHDAY=-1", D, "UTC", "2027-01-31", "2027-01-31", 1, NULL, NOW,
     "2027-02-28"},
    {"FREQ=MONTHLY;BYMONTHDAY=31", D, "UTC", "2027-01-31", "2027-01-31", 1, NULL, NOW,
     "2027-03-31"},
    {"FREQ=MONTHLY;BYMONTHDAY=31", D, "UTC", "2027-03-31", "2027-03-31", 2, NULL, NOW,
     "2027-05-31"},
    {"FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=15", D, "UTC", "2027-06-15", "2027-06-15", 1, NULL, NOW,
     "2028-06-15"},
    {"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", D, "UTC", "2027-01-29", "2027-01-29", 1,
     NULL, NOW, "2027-02-26"},
    {"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", D, "UTC", "2027-02-26", "2027-02-26", 2,
     NULL, NOW, "2027-03-31"},
    {"FREQ=YEARLY", D, "UTC", "2028-02-29", "2028-02-29", 1, NULL, NOW, "2032-02-29"},
    {"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", D, "UTC", "2028-02-29", "2028-02-29", 1, NULL, NOW,
     "2032-02-29"},
    {"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", D, "UTC", "2027-02-28", "2027-02-28", 1, NULL, NOW,
     "2028-02-29"},
    /* COUNT counts occurrences, UNTIL bounds instances */
    {"FREQ=DAILY;COUNT=3", D, "UTC", "2027-02-01", "2027-02-02", 2, NULL, NOW, "2027-02-03"},
    {"FREQ=DAILY;COUNT=3", D, "UTC", "2027-02-01", "2027-02-03", 3, NULL, NOW, NULL},
    {"FREQ=DAILY;UNTIL=20270203", D, "UTC", "2027-02-01", "2027-02-02", 2, NULL, NOW,
     "2027-02-03"},
    {"FREQ=DAILY;UNTIL=20270203", D, "UTC", "2027-02-01", "2027-02-03", 3, NULL, NOW, NULL},
    {"FREQ=DAILY;UNTIL=20270203T140000Z", D, "America/New_York", "2027-02-01T09:00",
     "2027-02-02T09:00", 2, NULL, NOW, "2027-02-03T09:00"},
    {"FREQ=DAILY;UNTIL=20270203T135959Z", D, "America/New_York", "2027-02-01T09:00",
     "2027-02-02T09:00", 2, NULL, NOW, NULL},
    {"FREQ=DAILY;UNTIL=20270203T090000", D, "Europe/London", "2027-02-01T09:00",
     "2027-02-02T09:00", 2, NULL, NOW, "2027-02-03T09:00"},
    /* DST: the wall time stays */
    {"FREQ=DAILY", D, "America/New_York", "2027-03-13T09:00", "2027-03-13T09:00", 1, NULL, NOW,
     "2027-03-14T09:00"},
    {"FREQ=DAILY", D, "America/New_York", "2027-11-06T09:00", "2027-11-06T09:00", 1, NULL, NOW,
     "2027-11-07T09:00"},
    {"FREQ=DAILY", D, "Europe/London", "2027-03-27T09:00", "2027-03-27T09:00", 1, NULL, NOW,
     "2027-03-28T09:00"},
    {"FREQ=DAILY", D, "Europe/London", "2027-10-30T09:00", "2027-10-30T09:00", 1, NULL, NOW,
     "2027-10-31T09:00"},
    /* 02:30 does not exist on 2027-03-14 in New York; the day after is 02:30 again */
    {"FREQ=DAILY", D, "America/New_York", "2027-03-13T02:30", "2027-03-13T02:30", 1, NULL, NOW,
     "2027-03-14T02:30"},
    {"FREQ=DAILY", D, "America/New_York", "2027-03-13T02:30", "2027-03-14T03:30", 2, NULL, NOW,
     "2027-03-15T02:30"},
    {"FREQ=DAILY", D, "Europe/London", "2027-10-30T01:30", "2027-10-30T01:30", 1, NULL, NOW,
     "2027-10-31T01:30"},
    /* overdue: strictly after now (date-only: after today in the zone) */
    {"FREQ=DAILY", D, "UTC", "2026-12-01", "2026-12-01", 1, NULL, NOW, "2027-01-11"},
    {"FREQ=DAILY", D, "America/New_York", "2026-12-01T09:00", "2026-12-01T09:00", 1, NULL, NOW,
     "2027-01-11T09:00"},
    {"FREQ=DAILY", D, "America/New_York", "2026-12-01T11:00", "2026-12-01T11:00", 1, NULL, NOW,
     "2027-01-10T11:00"},
    {"FREQ=WEEKLY;BYDAY=MO", D, "UTC", "2026-11-02", "2026-11-02", 1, NULL, NOW, "2027-01-11"},
    {"FREQ=DAILY", D, "Pacific/Auckland", "2026-12-01", "2026-12-01", 1, NULL,
     "2027-01-10T15:00:00Z", "2027-01-12"},
    /* series started decades ago: the INTERVAL phase survives the fast-forward */
    {"FREQ=DAILY;INTERVAL=3", D, "UTC", "1950-01-01", "1950-01-01", 1, NULL, NOW, "2027-01-11"},
    {"FREQ=DAILY;INTERVAL=3", D, "UTC", "1950-01-02", "1950-01-02", 1, NULL, NOW, "2027-01-12"},
    {"FREQ=DAILY;INTERVAL=3", D, "UTC", "1950-01-03", "1950-01-03", 1, NULL, NOW, "2027-01-13"},
    {"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", D, "UTC", "1990-01-01", "1990-01-01", 1, NULL, NOW,
     "2027-01-11"},
    {"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", D, "UTC", "1990-01-08", "1990-01-08", 1, NULL, NOW,
     "2027-01-18"},
    {"FREQ=DAILY;INTERVAL=2", D, "America/New_York", "1960-03-01T09:00", "1960-03-01T09:00", 1,
     NULL, NOW, "2027-01-11T09:00"},
    /* recur_from completion: from the completion's date, keeping the time of day */
    {"FREQ=DAILY;INTERVAL=3", C, "UTC", "2027-01-01", "2027-01-01", 1, "2027-01-10T15:00:00Z",
     NOW, "2027-01-13"},
    {"FREQ=WEEKLY", C, "Europe/London", "2027-01-01T08:00", "2027-01-01T08:00", 1,
     "2027-01-10T15:00:00Z", NOW, "2027-01-17T08:00"},
    {"FREQ=DAILY", C, "America/New_York", "2027-01-01T09:00", "2027-01-05T09:00", 1,
     "2027-01-10T13:00:00Z", NOW, "2027-01-11T09:00"},
    {"FREQ=WEEKLY;BYDAY=MO", C, "UTC", "2027-01-04", "2027-01-04", 1, "2027-01-11T10:00:00Z",
     NOW, "2027-01-18"},
    {"FREQ=DAILY;COUNT=2", C, "UTC", "2027-01-01", "2027-01-01", 2, "2027-01-10T10:00:00Z", NOW,
     NULL},
    {"FREQ=DAILY;UNTIL=20270112", C, "UTC", "2027-01-01", "2027-01-01", 1,
     "2027-01-12T10:00:00Z", NOW, NULL},
    /* rules that never match end the series */
    {"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", D, "UTC", "2027-01-01", "2027-01-01", 1, NULL, NOW,
     NULL},
    {"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", D, "UTC", "2027-01-01", "2027-01-01", 1, NULL, NOW,
     NULL},
    {"FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=31", D, "UTC", "2027-01-01T09:00", "2027-01-01T09:00", 1,
     NULL, NOW, NULL},
};

static void next_due_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct case_ *k = &cases[i];
        struct recur_req q = {0};
        q.rrule = k->rrule;
        q.recur_from = k->from;
        q.zone = k->zone;
        q.start = local(k->start);
        q.due = local(k->due);
        if (due_moment(&q.due, k->zone, &q.due_ms))
            fail_msg("case %zu: bad due", i);
        q.occurrence = k->occurrence;
        q.completed_ms = k->completed ? utc(k->completed) : utc(k->now);
        q.now_ms = utc(k->now);
        struct local_dt out;
        int rc = recur_next_due(&q, &out);
        char got[20] = "(none)";
        if (rc == 0)
            time_fmt_local(&out, got);
        else if (rc != TOCK_ENOTFOUND)
            fail_msg("case %zu (%s): error %d", i, k->rrule, rc);
        if (strcmp(got, k->want ? k->want : "(none)") != 0)
            fail_msg("case %zu (%s from %s, due %s): got %s, want %s", i, k->rrule, k->start,
                     k->due, got, k->want ? k->want : "(none)");
    }
}

static void bad_rule_or_zone(void **state)
{
    (void)state;
    struct local_dt s = local("2027-01-01"), out;
    assert_int_equal(recur_next_after("FREQ=DAILY", &s, "Mars/Olympus", &s, 0, &out),
                     TOCK_EINVAL);
    assert_int_equal(recur_next_after("NOTARULE", &s, "UTC", &s, 0, &out), TOCK_EINVAL);
}

static void rule_count(void **state)
{
    (void)state;
    assert_int_equal(recur_rule_count("FREQ=DAILY"), 0);
    assert_int_equal(recur_rule_count("FREQ=DAILY;COUNT=7"), 7);
    assert_int_equal(recur_rule_count("COUNT=12;FREQ=DAILY"), 12);
}

/* Parses JSON text and runs recur_parse_json. */
static int parse(const char *text, char *rrule, int *from, struct tock_error *e)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        fail_msg("bad test JSON %s", text);
    memset(e, 0, sizeof *e);
    int rc = recur_parse_json(j, rrule, RRULE_MAX + 1, from, e);
    json_decref(j);
    return rc;
}

static void friendly_form(void **state)
{
    (void)state;
    static const struct {
        const char *json, *rrule;
        int from;
    } ok[] = {
        {"{\"frequency\":\"daily\"}", "FREQ=DAILY", RECUR_DUE},
        {"{\"frequency\":\"weekly\",\"interval\":2,\"weekdays\":[\"mo\",\"th\"]}",
         "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", RECUR_DUE},
        {"{\"frequency\":\"monthly\",\"month_day\":-1,\"count\":5}",
         "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=5", RECUR_DUE},
        {"{\"frequency\":\"monthly\",\"weekdays\":[\"-1FR\"],\"until\":\"2027-06-01\"}",
         "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270601", RECUR_DUE},
        {"{\"frequency\":\"monthly\",\"weekdays\":[\"2mo\"],\"recur_from\":\"completion\"}",
         "FREQ=MONTHLY;BYDAY=2MO", RECUR_COMPLETION},
        {"{\"frequency\":\"yearly\",\"month\":2,\"month_day\":29}",
         "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", RECUR_DUE},
        {"{\"frequency\":\"monthly\",\"weekdays\":[\"mo\",\"tu\",\"we\",\"th\",\"fr\"],"
         "\"set_position\":-1}",
         "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", RECUR_DUE},
        {"{\"frequency\":\"monthly\",\"month_day\":[1,15],\"interval\":1}",
         "FREQ=MONTHLY;BYMONTHDAY=1,15", RECUR_DUE},
        {"{\"rrule\":\"FREQ=DAILY;COUNT=2\",\"recur_from\":\"completion\"}", "FREQ=DAILY;COUNT=2",
         RECUR_COMPLETION},
        {"{\"rrule\":\"FREQ=DAILY\",\"recur_from\":null}", "FREQ=DAILY", RECUR_DUE},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char rr[RRULE_MAX + 1];
        int from = -1;
        struct tock_error e;
        int rc = parse(ok[i].json, rr, &from, &e);
        if (rc)
            fail_msg("%s: error %d (%s: %s)", ok[i].json, rc, e.field, e.message);
        if (strcmp(rr, ok[i].rrule) != 0 || from != ok[i].from)
            fail_msg("%s: got %s/%d, want %s/%d", ok[i].json, rr, from, ok[i].rrule, ok[i].from);
        if (rrule_validate(rr))
            fail_msg("%s: produced an invalid rule %s", ok[i].json, rr);
    }
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"[]", "recurrence"},
        {"{}", "recurrence"},
        {"{\"recur_from\":\"due\"}", "recurrence"},
        {"{\"rrule\":\"FREQ=DAILY\",\"frequency\":\"daily\"}", "recurrence"},
        {"{\"rrule\":5}", "recurrence.rrule"},
        {"{\"frequency\":\"hourly\"}", "recurrence.frequency"},
        {"{\"frequency\":1}", "recurrence.frequency"},
        {"{\"frequency\":\"Daily\"}", "recurrence.frequency"},
        {"{\"frequency\":\"daily\",\"interval\":0}", "recurrence.interval"},
        {"{\"frequency\":\"daily\",\"interval\":1001}", "recurrence.interval"},
        {"{\"frequency\":\"daily\",\"interval\":\"2\"}", "recurrence.interval"},
        {"{\"frequency\":\"weekly\",\"weekdays\":[\"xx\"]}", "recurrence.weekdays"},
        {"{\"frequency\":\"weekly\",\"weekdays\":[]}", "recurrence.weekdays"},
        {"{\"frequency\":\"weekly\",\"weekdays\":\"mo\"}", "recurrence.weekdays"},
        {"{\"frequency\":\"weekly\",\"weekdays\":[\"2mo\"]}", "recurrence.weekdays"},
        {"{\"frequency\":\"monthly\",\"weekdays\":[\"0mo\"]}", "recurrence.weekdays"},
        {"{\"frequency\":\"monthly\",\"weekdays\":[\"54mo\"]}", "recurrence.weekdays"},
        {"{\"frequency\":\"monthly\",\"weekdays\":[1]}", "recurrence.weekdays"},
        {"{\"frequency\":\"monthly\",\"month_day\":0}", "recurrence.month_day"},
        {"{\"frequency\":\"monthly\",\"month_day\":32}", "recurrence.month_day"},
        {"{\"frequency\":\"monthly\",\"month_day\":[]}", "recurrence.month_day"},
        {"{\"frequency\":\"weekly\",\"month_day\":1}", "recurrence.month_day"},
        {"{\"frequency\":\"yearly\",\"month\":13}", "recurrence.month"},
        {"{\"frequency\":\"monthly\",\"set_position\":1}", "recurrence.set_position"},
        {"{\"frequency\":\"daily\",\"count\":0}", "recurrence.count"},
        {"{\"frequency\":\"daily\",\"count\":1.5}", "recurrence.count"},
        {"{\"frequency\":\"daily\",\"until\":\"2027-02-30\"}", "recurrence.until"},
        {"{\"frequency\":\"daily\",\"until\":\"2027-06-01T10:00\"}", "recurrence.until"},
        {"{\"frequency\":\"daily\",\"count\":2,\"until\":\"2027-06-01\"}", "recurrence.until"},
        {"{\"frequency\":\"daily\",\"recur_from\":\"never\"}", "recurrence.recur_from"},
        {"{\"frequency\":\"daily\",\"every\":2}", "recurrence.every"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char rr[RRULE_MAX + 1];
        int from;
        struct tock_error e;
        int rc = parse(bad[i].json, rr, &from, &e);
        if (rc != TOCK_EINVAL || strcmp(e.field, bad[i].field) != 0)
            fail_msg("%s: rc %d field '%s', want EINVAL on '%s'", bad[i].json, rc, e.field,
                     bad[i].field);
        if (!e.message[0])
            fail_msg("%s: no message", bad[i].json);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_due_table),
        cmocka_unit_test(bad_rule_or_zone),
        cmocka_unit_test(rule_count),
        cmocka_unit_test(friendly_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
