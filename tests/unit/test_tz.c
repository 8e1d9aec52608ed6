/*
 * test_tz.c — IANA zone validation and local <-> UTC conversion, including the
 * DST gap (moved forward with the pre-transition offset) and the ambiguous hour
 * (first occurrence) in New York and London.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/timeutil.h"
#include "core/tz.h"

/* Local wall time -> UTC, formatted RFC 3339. */
static void l2u(const char *zone, const char *local, char out[32])
{
    struct local_dt t;
    if (time_parse_local(local, &t) != 0)
        fail_msg("bad test input %s", local);
    int64_t ms = -42;
    int rc = tz_local_to_utc(zone, &t, &ms);
    if (rc != 0)
        fail_msg("tz_local_to_utc(%s, %s) = %d", zone, local, rc);
    time_fmt_rfc3339(ms, out);
}

static int64_t utc(const char *s)
{
    int64_t ms = 0;
    if (time_parse_rfc3339(s, &ms) != 0)
        fail_msg("bad test instant %s", s);
    return ms;
}

static void expect_l2u(const char *zone, const char *local, const char *want)
{
    char got[32];
    l2u(zone, local, got);
    if (strcmp(got, want) != 0)
        fail_msg("%s %s -> %s, expected %s", zone, local, got, want);
}

static void expect_u2l(const char *zone, const char *instant, int y, int mo, int d, int h,
                       int mi, int s)
{
    struct local_dt t;
    memset(&t, 0, sizeof t);
    int rc = tz_utc_to_local(zone, utc(instant), &t);
    if (rc != 0)
        fail_msg("tz_utc_to_local(%s, %s) = %d", zone, instant, rc);
    if (t.year != y || t.month != mo || t.day != d || t.hour != h || t.minute != mi ||
        t.second != s || !t.has_time)
        fail_msg("%s %s -> %04d-%02d-%02dT%02d:%02d:%02d (has_time %d), expected "
                 "%04d-%02d-%02dT%02d:%02d:%02d",
                 zone, instant, t.year, t.month, t.day, t.hour, t.minute, t.second,
                 (int)t.has_time, y, mo, d, h, mi, s);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(tz_valid("America/New_York"));
    assert_true(tz_valid("Europe/London"));
    assert_true(tz_valid("UTC"));
    assert_true(tz_valid("Etc/GMT+5"));
    assert_true(tz_valid("Asia/Kolkata"));
    assert_true(tz_valid("Australia/Lord_Howe"));
    assert_true(tz_valid("America/Argentina/Buenos_Aires"));
    assert_true(tz_valid("America/Port-au-Prince"));

    assert_false(tz_valid("Mars/Olympus"));
    assert_false(tz_valid("../etc/passwd"));
    assert_false(tz_valid("America/../Europe/London"));
    assert_false(tz_valid("/etc/passwd"));
    assert_false(tz_valid("/usr/share/zoneinfo/UTC"));
    assert_false(tz_valid(""));
    assert_false(tz_valid("America/New York"));
    assert_false(tz_valid("America/New_York\n"));
    assert_false(tz_valid("America"));
    assert_false(tz_valid("Europe/London;rm"));
    char longname[81];
    memset(longname, 'A', 80);
    longname[80] = 0;
    assert_false(tz_valid(longname));
    /* 64 characters is already too long (TZ_NAME_MAX includes the NUL). */
    char n64[65];
    memcpy(n64, "Europe/", 7);
    memset(n64 + 7, 'x', 57);
    n64[64] = 0;
    assert_false(tz_valid(n64));
}

/*
 * Names that exist under /usr/share/zoneinfo but are not IANA zones: "localtime"
 * is a link to the host's /etc/localtime (so a task's zone would silently follow
 * the server's configuration), "posixrules" an implementation detail of tzcode.
 */
static void test_valid_rejects_non_iana_files(void **state)
{
    (void)state;
    assert_false(tz_valid("zone.tab"));
    assert_false(tz_valid("Europe/London/"));
    char accepted[128] = "";
    static const char *const names[] = {"localtime", "posixrules"};
    for (size_t i = 0; i < 2; i++)
        if (tz_valid(names[i]))
            snprintf(accepted + strlen(accepted), sizeof accepted - strlen(accepted), " %s",
                     names[i]);
    if (accepted[0])
        fail_msg("tz_valid accepted non-IANA names:%s", accepted);
}

static void test_unknown_zone_fails(void **state)
{
    (void)state;
    struct local_dt t = {2027, 7, 4, 9, 30, 0, true};
    int64_t ms = 777;
    assert_int_equal(tz_local_to_utc("Mars/Olympus", &t, &ms), TOCK_EINVAL);
    assert_int_equal(ms, 777);
    assert_int_equal(tz_local_to_utc("../etc/passwd", &t, &ms), TOCK_EINVAL);
    assert_int_equal(tz_local_to_utc("", &t, &ms), TOCK_EINVAL);
    struct local_dt out = {0};
    assert_int_equal(tz_utc_to_local("Mars/Olympus", 0, &out), TOCK_EINVAL);
    assert_int_equal(tz_utc_to_local("", 0, &out), TOCK_EINVAL);
}

static void test_local_to_utc_plain(void **state)
{
    (void)state;
    expect_l2u("America/New_York", "2027-07-04T09:30", "2027-07-04T13:30:00.000Z");
    expect_l2u("America/New_York", "2027-01-15T09:30", "2027-01-15T14:30:00.000Z");
    expect_l2u("Europe/London", "2027-07-04T09:30", "2027-07-04T08:30:00.000Z");
    expect_l2u("Europe/London", "2027-01-15T09:30", "2027-01-15T09:30:00.000Z");
    expect_l2u("UTC", "2027-07-04T09:30", "2027-07-04T09:30:00.000Z");
    /* POSIX-style sign: Etc/GMT+5 is five hours behind UTC. */
    expect_l2u("Etc/GMT+5", "2027-07-04T09:30", "2027-07-04T14:30:00.000Z");
    expect_l2u("Asia/Kolkata", "2027-07-04T09:30", "2027-07-04T04:00:00.000Z");
    /* Date-only input is midnight local; crossing into the previous UTC day. */
    expect_l2u("Asia/Tokyo", "2027-07-04", "2027-07-03T15:00:00.000Z");
    /* Seconds are carried. */
    struct local_dt t = {2027, 7, 4, 23, 59, 59, true};
    int64_t ms;
    assert_int_equal(tz_local_to_utc("America/New_York", &t, &ms), 0);
    assert_int_equal(ms, utc("2027-07-05T03:59:59Z"));
}

static void test_new_york_transitions(void **state)
{
    (void)state;
    /* Spring forward 2027-03-14: 02:00 EST -> 03:00 EDT. */
    expect_l2u("America/New_York", "2027-03-14T01:59", "2027-03-14T06:59:00.000Z");
    expect_l2u("America/New_York", "2027-03-14T02:00", "2027-03-14T07:00:00.000Z");
    expect_l2u("America/New_York", "2027-03-14T02:30", "2027-03-14T07:30:00.000Z");
    expect_l2u("America/New_York", "2027-03-14T03:00", "2027-03-14T07:00:00.000Z");
    expect_l2u("America/New_York", "2027-03-14T03:30", "2027-03-14T07:30:00.000Z");
    expect_l2u("America/New_York", "2027-03-14T12:00", "2027-03-14T16:00:00.000Z");
    /* The gap time read back is 03:30 EDT. */
    struct local_dt gap = {2027, 3, 14, 2, 30, 0, true}, back;
    int64_t ms;
    assert_int_equal(tz_local_to_utc("America/New_York", &gap, &ms), 0);
    assert_int_equal(tz_utc_to_local("America/New_York", ms, &back), 0);
    assert_int_equal(back.day, 14);
    assert_int_equal(back.hour, 3);
    assert_int_equal(back.minute, 30);

    /* Fall back 2027-11-07: 02:00 EDT -> 01:00 EST; 01:30 happens twice. */
    expect_l2u("America/New_York", "2027-11-07T00:59", "2027-11-07T04:59:00.000Z");
    expect_l2u("America/New_York", "2027-11-07T01:00", "2027-11-07T05:00:00.000Z");
    expect_l2u("America/New_York", "2027-11-07T01:30", "2027-11-07T05:30:00.000Z");
    expect_l2u("America/New_York", "2027-11-07T01:59", "2027-11-07T05:59:00.000Z");
    expect_l2u("America/New_York", "2027-11-07T02:00", "2027-11-07T07:00:00.000Z");
    expect_l2u("America/New_York", "2027-11-07T12:00", "2027-11-07T17:00:00.000Z");
    /* Day before / after the transitions use the plain offsets. */
    expect_l2u("America/New_York", "2027-11-06T01:30", "2027-11-06T05:30:00.000Z");
    expect_l2u("America/New_York", "2027-11-08T01:30", "2027-11-08T06:30:00.000Z");
}

static void test_london_transitions(void **state)
{
    (void)state;
    /* Spring forward 2027-03-28: 01:00 GMT -> 02:00 BST. */
    expect_l2u("Europe/London", "2027-03-28T00:30", "2027-03-28T00:30:00.000Z");
    expect_l2u("Europe/London", "2027-03-28T01:30", "2027-03-28T01:30:00.000Z");
    expect_l2u("Europe/London", "2027-03-28T02:30", "2027-03-28T01:30:00.000Z");
    struct local_dt gap = {2027, 3, 28, 1, 30, 0, true}, back;
    int64_t ms;
    assert_int_equal(tz_local_to_utc("Europe/London", &gap, &ms), 0);
    assert_int_equal(tz_utc_to_local("Europe/London", ms, &back), 0);
    assert_int_equal(back.hour, 2);
    assert_int_equal(back.minute, 30);
    /* Fall back 2027-10-31: 02:00 BST -> 01:00 GMT; first 01:30 is 00:30Z. */
    expect_l2u("Europe/London", "2027-10-31T00:30", "2027-10-30T23:30:00.000Z");
    expect_l2u("Europe/London", "2027-10-31T01:30", "2027-10-31T00:30:00.000Z");
    expect_l2u("Europe/London", "2027-10-31T02:30", "2027-10-31T02:30:00.000Z");
}

static void test_utc_to_local(void **state)
{
    (void)state;
    expect_u2l("America/New_York", "2027-07-04T13:30:00Z", 2027, 7, 4, 9, 30, 0);
    expect_u2l("America/New_York", "2027-01-01T04:59:59Z", 2026, 12, 31, 23, 59, 59);
    /* Both sides of the fall-back repeat. */
    expect_u2l("America/New_York", "2027-11-07T05:30:00Z", 2027, 11, 7, 1, 30, 0);
    expect_u2l("America/New_York", "2027-11-07T06:30:00Z", 2027, 11, 7, 1, 30, 0);
    expect_u2l("America/New_York", "2027-03-14T06:59:59Z", 2027, 3, 14, 1, 59, 59);
    expect_u2l("America/New_York", "2027-03-14T07:00:00Z", 2027, 3, 14, 3, 0, 0);
    expect_u2l("Europe/London", "2027-10-31T00:30:00Z", 2027, 10, 31, 1, 30, 0);
    expect_u2l("Europe/London", "2027-10-31T01:30:00Z", 2027, 10, 31, 1, 30, 0);
    expect_u2l("Europe/London", "2027-07-04T23:30:00Z", 2027, 7, 5, 0, 30, 0);
    expect_u2l("UTC", "2027-07-04T13:30:15Z", 2027, 7, 4, 13, 30, 15);
    expect_u2l("Asia/Kolkata", "2027-07-04T20:00:00Z", 2027, 7, 5, 1, 30, 0);
    expect_u2l("Etc/GMT+5", "2027-07-04T03:00:00Z", 2027, 7, 3, 22, 0, 0);
    /* Sub-second instants: the local time is the containing second. */
    struct local_dt t;
    assert_int_equal(tz_utc_to_local("UTC", utc("2027-07-04T13:30:15.999Z"), &t), 0);
    assert_int_equal(t.second, 15);
    assert_int_equal(tz_utc_to_local("UTC", -1, &t), 0);
    assert_int_equal(t.year, 1969);
    assert_int_equal(t.hour, 23);
    assert_int_equal(t.second, 59);
}

/*
 * Every hour of 2027 in several zones: UTC -> local -> UTC is the identity,
 * except for the second pass of a repeated hour, which maps to the first
 * occurrence (one hour earlier).
 */
static void test_round_trip_year(void **state)
{
    (void)state;
    static const char *const zones[] = {"America/New_York", "Europe/London", "UTC",
                                        "Australia/Sydney", "Asia/Kolkata"};
    const int64_t start = utc("2027-01-01T00:00:00Z");
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        int repeats = 0;
        for (int64_t ms = start; ms < start + 365LL * 86400000; ms += 1800000) {
            struct local_dt lt;
            assert_int_equal(tz_utc_to_local(zones[z], ms, &lt), 0);
            int64_t back;
            assert_int_equal(tz_local_to_utc(zones[z], &lt, &back), 0);
            if (back == ms)
                continue;
            /* Only a repeated wall time may map elsewhere: to the earlier pass. */
            if (back != ms - 3600000)
                fail_msg("%s: %lld -> local -> %lld", zones[z], (long long)ms,
                         (long long)back);
            struct local_dt lt2;
            assert_int_equal(tz_utc_to_local(zones[z], back, &lt2), 0);
            assert_int_equal(local_naive_seconds(&lt2), local_naive_seconds(&lt));
            repeats++;
        }
        /* Half-hour steps: 2 per repeated hour, one repeated hour per year. */
        if (strcmp(zones[z], "UTC") == 0 || strcmp(zones[z], "Asia/Kolkata") == 0)
            assert_int_equal(repeats, 0);
        else
            assert_int_equal(repeats, 2);
    }
}

/* Years outside TZ_YEAR_MIN..TZ_YEAR_MAX are refused rather than computed slowly. */
static void test_year_range(void **state)
{
    (void)state;
    int64_t ms = 777;
    struct local_dt t = {TZ_YEAR_MIN - 1, 12, 31, 12, 0, 0, true};
    assert_int_equal(tz_local_to_utc("UTC", &t, &ms), TOCK_EINVAL);
    t.year = TZ_YEAR_MAX + 1;
    t.month = 1;
    t.day = 1;
    assert_int_equal(tz_local_to_utc("America/New_York", &t, &ms), TOCK_EINVAL);
    t.year = 9999;
    assert_int_equal(tz_local_to_utc("America/New_York", &t, &ms), TOCK_EINVAL);
    assert_int_equal(ms, 777);
    /* The edges themselves convert. */
    t.year = TZ_YEAR_MAX;
    t.month = 7;
    t.day = 4;
    t.hour = 9;
    assert_int_equal(tz_local_to_utc("UTC", &t, &ms), 0);
    assert_int_equal(ms, (days_from_civil(TZ_YEAR_MAX, 7, 4) * 86400 + 9 * 3600) * 1000);
    expect_l2u("America/New_York", "2500-07-04T09:30", "2500-07-04T13:30:00.000Z");
    expect_l2u("America/New_York", "1901-07-04T09:30", "1901-07-04T14:30:00.000Z");
    t.year = TZ_YEAR_MIN;
    t.month = 6;
    assert_int_equal(tz_local_to_utc("UTC", &t, &ms), 0);
    struct local_dt out;
    assert_int_equal(tz_utc_to_local("UTC", utc("1800-01-01T00:00:00Z"), &out), TOCK_EINVAL);
    assert_int_equal(tz_utc_to_local("UTC", utc("9999-01-01T00:00:00Z"), &out), TOCK_EINVAL);
    assert_int_equal(tz_utc_to_local("UTC", utc("2600-01-01T00:00:00Z"), &out), TOCK_EINVAL);
    expect_u2l("America/New_York", "2500-07-04T13:30:00Z", 2500, 7, 4, 9, 30, 0);
    expect_u2l("UTC", "1901-01-01T00:00:00Z", 1901, 1, 1, 0, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_valid_rejects_non_iana_files),
        cmocka_unit_test(test_unknown_zone_fails),
        cmocka_unit_test(test_local_to_utc_plain),
        cmocka_unit_test(test_new_york_transitions),
        cmocka_unit_test(test_london_transitions),
        cmocka_unit_test(test_utc_to_local),
        cmocka_unit_test(test_round_trip_year),
        cmocka_unit_test(test_year_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
