/*
 * test_timeutil.c — civil-calendar arithmetic and the textual time formats:
 * days_from_civil / civil_from_days, days_in_month, naive seconds, the local
 * wall-time parser/formatter and RFC 3339 parse/format.
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

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void test_known_days(void **state)
{
    (void)state;
    assert_int_equal(days_from_civil(1970, 1, 1), 0);
    assert_int_equal(days_from_civil(1970, 1, 2), 1);
    assert_int_equal(days_from_civil(1969, 12, 31), -1);
    assert_int_equal(days_from_civil(2000, 1, 1), 10957);
    assert_int_equal(days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(days_from_civil(1900, 1, 1), -25567);
    assert_int_equal(days_from_civil(2038, 1, 19), 24855);
    assert_int_equal(days_from_civil(1, 1, 1), -719162);
    assert_int_equal(days_from_civil(9999, 12, 31), 2932896);

    int y, m, d;
    civil_from_days(0, &y, &m, &d);
    assert_int_equal(y, 1970);
    assert_int_equal(m, 1);
    assert_int_equal(d, 1);
    civil_from_days(11017, &y, &m, &d);
    assert_int_equal(y, 2000);
    assert_int_equal(m, 3);
    assert_int_equal(d, 1);
    civil_from_days(-1, &y, &m, &d);
    assert_int_equal(y, 1969);
    assert_int_equal(m, 12);
    assert_int_equal(d, 31);
    civil_from_days(-719162, &y, &m, &d);
    assert_int_equal(y, 1);
    assert_int_equal(m, 1);
    assert_int_equal(d, 1);
}

/* Every day from 1900-01-01 to 2100-12-31: consecutive numbers, both directions. */
static void test_round_trip_every_day(void **state)
{
    (void)state;
    int64_t expect = days_from_civil(1900, 1, 1);
    long ndays = 0;
    for (int y = 1900; y <= 2100; y++) {
        for (int m = 1; m <= 12; m++) {
            int dim = days_in_month(y, m);
            for (int d = 1; d <= dim; d++) {
                int64_t z = days_from_civil(y, m, d);
                assert_int_equal(z, expect);
                int yy, mm, dd;
                civil_from_days(z, &yy, &mm, &dd);
                assert_int_equal(yy, y);
                assert_int_equal(mm, m);
                assert_int_equal(dd, d);
                expect++;
                ndays++;
            }
        }
    }
    /* 201 years, 49 leap years (1900 and 2100 are not). */
    assert_int_equal(ndays, 201 * 365 + 49);
    assert_int_equal(expect, days_from_civil(2101, 1, 1));
}

static void test_days_in_month(void **state)
{
    (void)state;
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    assert_int_equal(days_in_month(2000, 2), 29);
    assert_int_equal(days_in_month(1900, 2), 28);
    assert_int_equal(days_in_month(2024, 2), 29);
    assert_int_equal(days_in_month(2027, 2), 28);
    assert_int_equal(days_in_month(2100, 2), 28);
    assert_int_equal(days_in_month(2400, 2), 29);
    for (int y = 1890; y <= 2110; y++)
        for (int m = 1; m <= 12; m++)
            assert_int_equal(days_in_month(y, m), m == 2 && is_leap(y) ? 29 : dm[m - 1]);
    /* Year lengths agree with days_from_civil. */
    assert_int_equal(days_from_civil(2001, 1, 1) - days_from_civil(2000, 1, 1), 366);
    assert_int_equal(days_from_civil(1901, 1, 1) - days_from_civil(1900, 1, 1), 365);
    assert_int_equal(days_from_civil(2025, 1, 1) - days_from_civil(2024, 1, 1), 366);
}

static void test_naive_seconds(void **state)
{
    (void)state;
    struct local_dt t = {2027, 7, 4, 9, 30, 15, true};
    int64_t s = local_naive_seconds(&t);
    assert_int_equal(s, days_from_civil(2027, 7, 4) * 86400 + 9 * 3600 + 30 * 60 + 15);
    struct local_dt back;
    memset(&back, 0xff, sizeof back);
    local_from_naive_seconds(s, &back);
    assert_int_equal(back.year, 2027);
    assert_int_equal(back.month, 7);
    assert_int_equal(back.day, 4);
    assert_int_equal(back.hour, 9);
    assert_int_equal(back.minute, 30);
    assert_int_equal(back.second, 15);
    assert_true(back.has_time);

    /* Negative seconds: one second before the epoch. */
    local_from_naive_seconds(-1, &back);
    assert_int_equal(back.year, 1969);
    assert_int_equal(back.month, 12);
    assert_int_equal(back.day, 31);
    assert_int_equal(back.hour, 23);
    assert_int_equal(back.minute, 59);
    assert_int_equal(back.second, 59);
    /* Exactly one day before. */
    local_from_naive_seconds(-86400, &back);
    assert_int_equal(back.year, 1969);
    assert_int_equal(back.month, 12);
    assert_int_equal(back.day, 31);
    assert_int_equal(back.hour, 0);
    assert_int_equal(back.minute, 0);
    assert_int_equal(back.second, 0);
    /* Round trip across a span with odd offsets, including negatives. */
    for (int64_t x = -5LL * 86400 * 365; x < 5LL * 86400 * 365; x += 86400 * 3 + 3671) {
        struct local_dt r;
        local_from_naive_seconds(x, &r);
        assert_in_range(r.hour, 0, 23);
        assert_in_range(r.minute, 0, 59);
        assert_in_range(r.second, 0, 59);
        assert_int_equal(local_naive_seconds(&r), x);
    }
}

struct local_case {
    const char *s;
    int ok;
    int y, m, d, h, mi;
    bool has_time;
};

static void test_parse_local_table(void **state)
{
    (void)state;
    static const struct local_case cases[] = {
        {"2027-07-04", 1, 2027, 7, 4, 0, 0, false},
        {"2027-07-04T09:30", 1, 2027, 7, 4, 9, 30, true},
        {"2028-02-29", 1, 2028, 2, 29, 0, 0, false},
        {"2000-02-29", 1, 2000, 2, 29, 0, 0, false},
        {"2027-12-31T23:59", 1, 2027, 12, 31, 23, 59, true},
        {"2027-01-01T00:00", 1, 2027, 1, 1, 0, 0, true},
        {"0001-01-01", 1, 1, 1, 1, 0, 0, false},
        {"9999-12-31", 1, 9999, 12, 31, 0, 0, false},
        {"2027-02-29", 0, 0, 0, 0, 0, 0, false},
        {"1900-02-29", 0, 0, 0, 0, 0, 0, false},
        {"2027-04-31", 0, 0, 0, 0, 0, 0, false},
        {"2027-7-4", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-4", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T24:00", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T09:60", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T9:30", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T09:30:00", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T09:30Z", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04 09:30", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04t09:30", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04X", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04 ", 0, 0, 0, 0, 0, 0, false},
        {" 2027-07-04", 0, 0, 0, 0, 0, 0, false},
        {"2027-13-01", 0, 0, 0, 0, 0, 0, false},
        {"2027-00-10", 0, 0, 0, 0, 0, 0, false},
        {"2027-01-00", 0, 0, 0, 0, 0, 0, false},
        {"2027-01-32", 0, 0, 0, 0, 0, 0, false},
        {"0000-01-01", 0, 0, 0, 0, 0, 0, false},
        {"2027/07/04", 0, 0, 0, 0, 0, 0, false},
        {"20270704", 0, 0, 0, 0, 0, 0, false},
        {"2027-0a-04", 0, 0, 0, 0, 0, 0, false},
        {"+027-07-04", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T-1:30", 0, 0, 0, 0, 0, 0, false},
        {"2027-07-04T09-30", 0, 0, 0, 0, 0, 0, false},
        {"", 0, 0, 0, 0, 0, 0, false},
        {"yesterday", 0, 0, 0, 0, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct local_case *c = &cases[i];
        struct local_dt t;
        memset(&t, 0x5a, sizeof t);
        int rc = time_parse_local(c->s, &t);
        if (c->ok) {
            if (rc != 0)
                fail_msg("time_parse_local(\"%s\") rejected", c->s);
            assert_int_equal(t.year, c->y);
            assert_int_equal(t.month, c->m);
            assert_int_equal(t.day, c->d);
            assert_int_equal(t.hour, c->h);
            assert_int_equal(t.minute, c->mi);
            assert_int_equal(t.second, 0);
            assert_int_equal(t.has_time, c->has_time);
            char out[20];
            time_fmt_local(&t, out);
            assert_string_equal(out, c->s);
        } else if (rc != TOCK_EINVAL) {
            fail_msg("time_parse_local(\"%s\") returned %d, expected TOCK_EINVAL", c->s, rc);
        }
    }
}

static void test_fmt_local(void **state)
{
    (void)state;
    char out[20];
    struct local_dt d = {5, 3, 9, 7, 8, 0, false};
    time_fmt_local(&d, out);
    assert_string_equal(out, "0005-03-09");
    d.has_time = true;
    time_fmt_local(&d, out);
    assert_string_equal(out, "0005-03-09T07:08");
}

struct rfc_case {
    const char *s;
    int ok;
    int64_t ms;
};

static void test_parse_rfc3339_table(void **state)
{
    (void)state;
    const int64_t base = days_from_civil(2027, 7, 4) * 86400000LL; /* 2027-07-04T00:00Z */
    const int64_t t0930 = base + (9 * 3600 + 30 * 60) * 1000LL;
    const struct rfc_case cases[] = {
        {"2027-07-04T09:30:00Z", 1, t0930},
        {"2027-07-04t09:30:00z", 1, t0930},
        {"2027-07-04T09:30:00+00:00", 1, t0930},
        {"2027-07-04T09:30:00-00:00", 1, t0930},
        {"2027-07-04T15:00:00+05:30", 1, t0930},
        {"2027-07-04T01:30:00-08:00", 1, t0930},
        {"2027-07-03T23:30:00-10:00", 1, t0930},
        {"2027-07-04T09:30:00.5Z", 1, t0930 + 500},
        {"2027-07-04T09:30:00.05Z", 1, t0930 + 50},
        {"2027-07-04T09:30:00.123Z", 1, t0930 + 123},
        {"2027-07-04T09:30:00.123456Z", 1, t0930 + 123},
        {"2027-07-04T09:30:00.999999999Z", 1, t0930 + 999},
        {"2027-07-04T15:00:00.250+05:30", 1, t0930 + 250},
        {"2027-07-04T09:30:59Z", 1, t0930 + 59000},
        {"1970-01-01T00:00:00Z", 1, 0},
        {"1969-12-31T23:59:59.999Z", 1, -1},
        {"1970-01-01T00:00:00+01:00", 1, -3600000},
        {"2027-07-04T09:30:00.1234567890Z", 0, 0}, /* > 9 fraction digits */
        {"2027-07-04T09:30:00.Z", 0, 0},
        {"2027-07-04T09:30:00", 0, 0},          /* no offset */
        {"2027-07-04T09:30Z", 0, 0},            /* no seconds */
        {"2027-07-04 09:30:00Z", 0, 0},
        {"2027-07-04T09:30:60Z", 0, 0},
        {"2027-07-04T24:00:00Z", 0, 0},
        {"2027-07-04T09:60:00Z", 0, 0},
        {"2027-02-29T09:30:00Z", 0, 0},
        {"2027-07-04T09:30:00+05", 0, 0},
        {"2027-07-04T09:30:00+0530", 0, 0},
        {"2027-07-04T09:30:00+24:00", 0, 0},
        {"2027-07-04T09:30:00+05:60", 0, 0},
        {"2027-07-04T09:30:00+5:30", 0, 0},
        {"2027-07-04T09:30:00ZZ", 0, 0},
        {"2027-07-04T09:30:00Z ", 0, 0},
        {"2027-07-04T09:30:00+05:30x", 0, 0},
        {"2027-07-04T09:30:00UTC", 0, 0},
        {"2027-07-04T09:3a:00Z", 0, 0},
        {"2027-7-04T09:30:00Z", 0, 0},
        {"2027-07-04", 0, 0},
        {"", 0, 0},
        {"not a time at all!!!", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct rfc_case *c = &cases[i];
        int64_t ms = 424242;
        int rc = time_parse_rfc3339(c->s, &ms);
        if (c->ok) {
            if (rc != 0)
                fail_msg("time_parse_rfc3339(\"%s\") rejected", c->s);
            if (ms != c->ms)
                fail_msg("time_parse_rfc3339(\"%s\") = %lld, expected %lld", c->s,
                         (long long)ms, (long long)c->ms);
        } else if (rc != TOCK_EINVAL) {
            fail_msg("time_parse_rfc3339(\"%s\") returned %d, expected TOCK_EINVAL", c->s, rc);
        }
    }
}

static void test_fmt_rfc3339(void **state)
{
    (void)state;
    char out[32];
    time_fmt_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    time_fmt_rfc3339(1, out);
    assert_string_equal(out, "1970-01-01T00:00:00.001Z");
    time_fmt_rfc3339(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    time_fmt_rfc3339(-1000, out);
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    time_fmt_rfc3339(-1001, out);
    assert_string_equal(out, "1969-12-31T23:59:58.999Z");
    time_fmt_rfc3339(-86400000, out);
    assert_string_equal(out, "1969-12-31T00:00:00.000Z");
    time_fmt_rfc3339(days_from_civil(1900, 1, 1) * 86400000LL + 123, out);
    assert_string_equal(out, "1900-01-01T00:00:00.123Z");
    time_fmt_rfc3339(1798450215042LL, out);
    assert_string_equal(out, "2026-12-28T09:30:15.042Z");
    time_fmt_rfc3339(days_from_civil(2000, 2, 29) * 86400000LL + 86399999, out);
    assert_string_equal(out, "2000-02-29T23:59:59.999Z");
    time_fmt_rfc3339(days_from_civil(9999, 12, 31) * 86400000LL + 86399999, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

/* Format then parse gives back the same instant, on both sides of the epoch. */
static void test_rfc3339_round_trip(void **state)
{
    (void)state;
    const int64_t lo = days_from_civil(1900, 1, 1) * 86400000LL;
    const int64_t hi = days_from_civil(2100, 12, 31) * 86400000LL;
    for (int64_t ms = lo; ms < hi; ms += 86400000LL * 17 + 3600007LL) {
        char out[32];
        time_fmt_rfc3339(ms, out);
        assert_int_equal(strlen(out), 24);
        int64_t back = 0;
        assert_int_equal(time_parse_rfc3339(out, &back), 0);
        assert_int_equal(back, ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_days),
        cmocka_unit_test(test_round_trip_every_day),
        cmocka_unit_test(test_days_in_month),
        cmocka_unit_test(test_naive_seconds),
        cmocka_unit_test(test_parse_local_table),
        cmocka_unit_test(test_fmt_local),
        cmocka_unit_test(test_parse_rfc3339_table),
        cmocka_unit_test(test_fmt_rfc3339),
        cmocka_unit_test(test_rfc3339_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
