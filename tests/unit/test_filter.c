/*
 * test_filter.c — the task list query: defaults, every parameter's accept and
 * reject cases (the error names the parameter), search tokenization, local-day
 * bounds in the user's zone, and the keyset cursor (round trip, bound to the
 * sort, garbage refused). Every parsed filter is released, also after errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/filter.h"
#include "core/task.h"
#include "core/timeutil.h"

#define NY "America/New_York"
#define NOW INT64_C(1814000000000)

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

/* Parses a single name=value (or none when name is NULL). */
static int parse1(struct task_filter *f, const char *name, const char *value, const char *tz,
                  struct tock_error *e)
{
    struct qparam p = {name, value};
    memset(e, 0, sizeof *e);
    return filter_parse(f, &p, name ? 1 : 0, tz, NOW, e);
}

static void expect_ok1(const char *name, const char *value)
{
    struct task_filter f;
    struct tock_error e;
    int rc = parse1(&f, name, value, NY, &e);
    filter_release(&f);
    if (rc != 0)
        fail_msg("%s=%s rejected (%d, field %s: %s)", name, value, rc, e.field, e.message);
}

/* A rejected parameter value: TOCK_EINVAL with the error naming `field`. */
static void expect_bad(const struct qparam *p, size_t n, const char *field)
{
    struct task_filter f;
    struct tock_error e;
    memset(&e, 0, sizeof e);
    int rc = filter_parse(&f, p, n, NY, NOW, &e);
    filter_release(&f);
    if (rc != TOCK_EINVAL)
        fail_msg("%s=%s accepted (rc %d)", p[n - 1].name, p[n - 1].value, rc);
    if (strcmp(e.field, field) != 0)
        fail_msg("%s=%s: error field \"%s\", expected \"%s\"", p[n - 1].name, p[n - 1].value,
                 e.field, field);
    assert_int_equal(e.code, TOCK_EINVAL);
    assert_true(e.message[0] != 0);
}

static void expect_bad1(const char *name, const char *value, const char *field)
{
    struct qparam p = {name, value};
    expect_bad(&p, 1, field);
}

static char *b64(const char *s)
{
    size_t n = strlen(s);
    size_t ol = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *o = malloc(ol);
    assert_non_null(o);
    sodium_bin2base64(o, ol, (const unsigned char *)s, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return o;
}

static void test_defaults(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    assert_int_equal(parse1(&f, NULL, NULL, NY, &e), 0);
    assert_null(f.q);
    assert_int_equal(f.nq_terms, 0);
    assert_int_equal(f.status_mask, 0);
    assert_int_equal(f.priority_mask, 0);
    assert_int_equal(f.ntags, 0);
    assert_false(f.tag_any);
    assert_false(f.has_due_before);
    assert_false(f.has_due_after);
    assert_int_equal(f.overdue, -1);
    assert_int_equal(f.has_due, -1);
    assert_int_equal(f.recurring, -1);
    assert_int_equal(f.series_id, 0);
    assert_int_equal(f.limit, FILTER_LIMIT_DEFAULT);
    assert_int_equal(f.limit, 50);
    assert_false(f.has_cursor);
    assert_int_equal(f.now, NOW);
    assert_int_equal(f.nsort, 2);
    assert_int_equal(f.sort[0].field, SORT_DUE_AT);
    assert_false(f.sort[0].desc);
    assert_int_equal(f.sort[1].field, SORT_PRIORITY);
    assert_true(f.sort[1].desc);
    assert_string_equal(f.sort_spec, "due_at:asc,priority:desc");
    filter_release(&f);
    /* Release zeroes the struct: releasing twice is harmless. */
    assert_null(f.q);
    filter_release(&f);

    /* With a search, the default is relevance. */
    assert_int_equal(parse1(&f, "q", "milk", NY, &e), 0);
    assert_int_equal(f.nsort, 1);
    assert_int_equal(f.sort[0].field, SORT_RANK);
    assert_true(f.sort[0].desc);
    assert_string_equal(f.sort_spec, "rank:desc");
    assert_int_equal(f.limit, 50);
    filter_release(&f);
}

static void test_limit(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    static const struct {
        const char *v;
        int want;
    } ok[] = {{"1", 1}, {"50", 50}, {"200", 200}, {"007", 7}, {"99", 99}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(parse1(&f, "limit", ok[i].v, NY, &e), 0);
        assert_int_equal(f.limit, ok[i].want);
        filter_release(&f);
    }
    static const char *const bad[] = {"0",  "201", "abc", "",    "-1",   "1000", "1.5",
                                      " 5", "5 ",  "+5",  "0x1", "9999", "00000001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad1("limit", bad[i], "limit");
}

static void test_sort(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    assert_int_equal(parse1(&f, "sort", "title:asc,created_at:desc", NY, &e), 0);
    assert_int_equal(f.nsort, 2);
    assert_int_equal(f.sort[0].field, SORT_TITLE);
    assert_false(f.sort[0].desc);
    assert_int_equal(f.sort[1].field, SORT_CREATED_AT);
    assert_true(f.sort[1].desc);
    assert_string_equal(f.sort_spec, "title:asc,created_at:desc");
    filter_release(&f);

    /* The direction defaults to asc; the spec is canonical. */
    assert_int_equal(parse1(&f, "sort", "priority", NY, &e), 0);
    assert_int_equal(f.nsort, 1);
    assert_int_equal(f.sort[0].field, SORT_PRIORITY);
    assert_false(f.sort[0].desc);
    assert_string_equal(f.sort_spec, "priority:asc");
    filter_release(&f);

    assert_int_equal(parse1(&f, "sort", "updated_at:desc,due_at,priority:desc", NY, &e), 0);
    assert_int_equal(f.nsort, 3);
    assert_int_equal(f.sort[0].field, SORT_UPDATED_AT);
    assert_int_equal(f.sort[1].field, SORT_DUE_AT);
    assert_int_equal(f.sort[2].field, SORT_PRIORITY);
    assert_string_equal(f.sort_spec, "updated_at:desc,due_at:asc,priority:desc");
    filter_release(&f);

    /* rank needs q; with q, all six keys at once. */
    struct qparam all[] = {{"sort", "rank:asc,priority,due_at:desc,created_at,updated_at,title"},
                           {"q", "x"}};
    assert_int_equal(filter_parse(&f, all, 2, NY, NOW, &e), 0);
    assert_int_equal(f.nsort, 6);
    assert_int_equal(f.sort[0].field, SORT_RANK);
    assert_false(f.sort[0].desc);
    assert_true(f.sort[2].desc);
    filter_release(&f);
    expect_bad1("sort", "rank:desc", "sort");
    expect_bad1("sort", "priority,rank", "sort");

    static const char *const bad[] = {"",
                                      "foo",
                                      "due_at:up",
                                      "due_at:",
                                      ":asc",
                                      "due_at:ASC",
                                      "DUE_AT",
                                      "due_at,due_at:desc",
                                      "priority:asc,priority:desc",
                                      "priority,,title",
                                      "priority,",
                                      ",priority",
                                      "title:asc:desc",
                                      "id",
                                      "status",
                                      "due_at asc",
                                      "a_very_long_sort_field_name_that_overflows:asc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad1("sort", bad[i], "sort");
}

static void test_status_priority(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    assert_int_equal(parse1(&f, "status", "todo,done", NY, &e), 0);
    assert_int_equal(f.status_mask, (1u << TASK_TODO) | (1u << TASK_DONE));
    assert_int_equal(f.priority_mask, 0);
    filter_release(&f);
    assert_int_equal(parse1(&f, "status", "in_progress", NY, &e), 0);
    assert_int_equal(f.status_mask, 1u << TASK_IN_PROGRESS);
    filter_release(&f);
    assert_int_equal(parse1(&f, "status", "done,done", NY, &e), 0);
    assert_int_equal(f.status_mask, 1u << TASK_DONE);
    filter_release(&f);
    assert_int_equal(parse1(&f, "priority", "high,urgent,none", NY, &e), 0);
    assert_int_equal(f.priority_mask, (1u << PRIO_HIGH) | (1u << PRIO_URGENT) | (1u << PRIO_NONE));
    assert_int_equal(f.status_mask, 0);
    filter_release(&f);
    assert_int_equal(parse1(&f, "priority", "low,medium", NY, &e), 0);
    assert_int_equal(f.priority_mask, (1u << PRIO_LOW) | (1u << PRIO_MEDIUM));
    filter_release(&f);

    static const char *const bad_status[] = {"",      "todo,",  ",todo",    "todo,,done",
                                             "bogus", "TODO",   "todo,bad", "todo done",
                                             "high",  "in_progress_and_then_some_more_text"};
    for (size_t i = 0; i < sizeof bad_status / sizeof *bad_status; i++)
        expect_bad1("status", bad_status[i], "status");
    static const char *const bad_prio[] = {"", "critical", "high,", "HIGH", "todo", "1"};
    for (size_t i = 0; i < sizeof bad_prio / sizeof *bad_prio; i++)
        expect_bad1("priority", bad_prio[i], "priority");
}

static void test_tags(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    struct qparam p[] = {{"tag", "Work"}, {"tag", "home-2"}, {"tag", "A_B"}};
    assert_int_equal(filter_parse(&f, p, 3, NY, NOW, &e), 0);
    assert_int_equal(f.ntags, 3);
    assert_string_equal(f.tags[0], "work");
    assert_string_equal(f.tags[1], "home-2");
    assert_string_equal(f.tags[2], "a_b");
    assert_false(f.tag_any);
    filter_release(&f);

    assert_int_equal(parse1(&f, "tag_mode", "any", NY, &e), 0);
    assert_true(f.tag_any);
    filter_release(&f);
    assert_int_equal(parse1(&f, "tag_mode", "all", NY, &e), 0);
    assert_false(f.tag_any);
    filter_release(&f);
    expect_bad1("tag_mode", "some", "tag_mode");
    expect_bad1("tag_mode", "", "tag_mode");
    expect_bad1("tag_mode", "ANY", "tag_mode");

    expect_bad1("tag", "#x", "tag");
    expect_bad1("tag", "a b", "tag");
    expect_bad1("tag", "", "tag");
    char t65[66];
    memset(t65, 'x', 65);
    t65[65] = 0;
    expect_bad1("tag", t65, "tag");
    t65[64] = 0;
    expect_ok1("tag", t65);
    /* A bad tag after good ones: the good ones are freed by filter_release. */
    struct qparam mixed[] = {{"tag", "ok"}, {"tag", "also-ok"}, {"tag", "n/o"}};
    expect_bad(mixed, 3, "tag");

    /* At most 50 tag filters. */
    char names[51][8];
    struct qparam many[51];
    for (int i = 0; i < 51; i++) {
        snprintf(names[i], sizeof names[i], "T%02d", i);
        many[i].name = "tag";
        many[i].value = names[i];
    }
    assert_int_equal(filter_parse(&f, many, 50, NY, NOW, &e), 0);
    assert_int_equal(f.ntags, 50);
    assert_string_equal(f.tags[49], "t49");
    filter_release(&f);
    expect_bad(many, 51, "tag");
}

static void test_booleans_and_series(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    static const char *const names[] = {"overdue", "has_due", "recurring"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(parse1(&f, names[i], "true", NY, &e), 0);
        int v = i == 0 ? f.overdue : i == 1 ? f.has_due : f.recurring;
        assert_int_equal(v, 1);
        /* The others stay "any". */
        assert_int_equal(f.overdue + f.has_due + f.recurring, 1 - 2);
        filter_release(&f);
        assert_int_equal(parse1(&f, names[i], "false", NY, &e), 0);
        v = i == 0 ? f.overdue : i == 1 ? f.has_due : f.recurring;
        assert_int_equal(v, 0);
        filter_release(&f);
        static const char *const bad[] = {"", "1", "0", "yes", "TRUE", "True", "true ", "t"};
        for (size_t j = 0; j < sizeof bad / sizeof *bad; j++)
            expect_bad1(names[i], bad[j], names[i]);
    }

    assert_int_equal(parse1(&f, "series_id", "42", NY, &e), 0);
    assert_int_equal(f.series_id, 42);
    filter_release(&f);
    expect_bad1("series_id", "0", "series_id");
    expect_bad1("series_id", "", "series_id");
    expect_bad1("series_id", "abc", "series_id");
    expect_bad1("series_id", "-4", "series_id");
    expect_bad1("series_id", "12345678901234567890", "series_id");
}

static void test_due_bounds(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    /* A date as an upper bound covers the whole local day in the user's zone. */
    assert_int_equal(parse1(&f, "due_before", "2027-07-04", NY, &e), 0);
    assert_true(f.has_due_before);
    assert_false(f.has_due_after);
    assert_instant(f.due_before, "2027-07-05T03:59:59.999Z");
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_before", "2027-07-04", "Europe/London", &e), 0);
    assert_instant(f.due_before, "2027-07-04T22:59:59.999Z");
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_before", "2027-07-04", "UTC", &e), 0);
    assert_instant(f.due_before, "2027-07-04T23:59:59.999Z");
    filter_release(&f);
    /* Last day of a month/year rolls over correctly. */
    assert_int_equal(parse1(&f, "due_before", "2027-12-31", "UTC", &e), 0);
    assert_instant(f.due_before, "2027-12-31T23:59:59.999Z");
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_before", "2028-02-29", "UTC", &e), 0);
    assert_instant(f.due_before, "2028-02-29T23:59:59.999Z");
    filter_release(&f);
    /* The spring-forward day is 23 hours long: ends at 00:00 EDT the next day. */
    assert_int_equal(parse1(&f, "due_before", "2027-03-14", NY, &e), 0);
    assert_instant(f.due_before, "2027-03-15T03:59:59.999Z");
    filter_release(&f);
    /* The fall-back day is 25 hours long. */
    assert_int_equal(parse1(&f, "due_before", "2027-11-07", NY, &e), 0);
    assert_instant(f.due_before, "2027-11-08T04:59:59.999Z");
    filter_release(&f);

    /* A date as a lower bound starts at local midnight. */
    assert_int_equal(parse1(&f, "due_after", "2027-07-04", NY, &e), 0);
    assert_true(f.has_due_after);
    assert_false(f.has_due_before);
    assert_instant(f.due_after, "2027-07-04T04:00:00.000Z");
    filter_release(&f);

    /* Local date-times and RFC 3339 instants. */
    assert_int_equal(parse1(&f, "due_before", "2027-07-04T09:30", NY, &e), 0);
    assert_instant(f.due_before, "2027-07-04T13:30:00.000Z");
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_after", "2027-07-04T09:30", "Asia/Kolkata", &e), 0);
    assert_instant(f.due_after, "2027-07-04T04:00:00.000Z");
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_before", "2027-07-04T13:30:00Z", NY, &e), 0);
    assert_instant(f.due_before, "2027-07-04T13:30:00.000Z");
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_after", "2027-07-04T15:00:00.250+05:30", NY, &e), 0);
    assert_instant(f.due_after, "2027-07-04T09:30:00.250Z");
    filter_release(&f);

    /* Both together. */
    struct qparam both[] = {{"due_after", "2027-07-01"}, {"due_before", "2027-07-31"}};
    assert_int_equal(filter_parse(&f, both, 2, "UTC", NOW, &e), 0);
    assert_int_equal(f.due_after, utc("2027-07-01T00:00:00Z"));
    assert_int_equal(f.due_before, utc("2027-07-31T23:59:59.999Z"));
    filter_release(&f);

    static const char *const bad[] = {"",
                                      "2027-02-29",
                                      "2027-7-4",
                                      "2027-07-04T24:00",
                                      "2027-07-04T09:30:00",
                                      "tomorrow",
                                      "2027-07-04T13:30:00.000000000000000000000000Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        expect_bad1("due_before", bad[i], "due_before");
        expect_bad1("due_after", bad[i], "due_after");
    }
}

/* Instants far outside the supported years are refused; in-range ones accepted. */
static void test_bound_years(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    expect_bad1("due_before", "1800-01-01T00:00:00Z", "due_before");
    expect_bad1("due_after", "2600-01-01T00:00:00Z", "due_after");
    expect_bad1("due_after", "9999-12-31T00:00:00Z", "due_after");
    expect_bad1("due_before", "0001-01-01", "due_before");
    expect_bad1("due_before", "9999-12-31", "due_before");
    assert_int_equal(parse1(&f, "due_after", "2499-06-01T00:00:00Z", "UTC", &e), 0);
    assert_int_equal(f.due_after, utc("2499-06-01T00:00:00Z"));
    filter_release(&f);
    assert_int_equal(parse1(&f, "due_after", "1901-06-01T00:00:00Z", "UTC", &e), 0);
    filter_release(&f);

    /*
     * filter.c: "The same year range as local values, so every bound means the
     * same thing": a local value and the same moment as an RFC 3339 instant
     * (zone UTC) must be accepted or refused alike.
     */
    static const char *const pairs[][2] = {
        {"1900-06-01T00:00", "1900-06-01T00:00:00Z"},
        {"1901-06-01T00:00", "1901-06-01T00:00:00Z"},
        {"2499-06-01T00:00", "2499-06-01T00:00:00Z"},
        {"2500-06-01T00:00", "2500-06-01T00:00:00Z"},
    };
    char mismatch[256] = "";
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        int a = parse1(&f, "due_after", pairs[i][0], "UTC", &e);
        filter_release(&f);
        int b = parse1(&f, "due_after", pairs[i][1], "UTC", &e);
        filter_release(&f);
        if ((a == 0) != (b == 0))
            snprintf(mismatch + strlen(mismatch), sizeof mismatch - strlen(mismatch),
                     " [%s -> %d, %s -> %d]", pairs[i][0], a, pairs[i][1], b);
    }
    if (mismatch[0])
        fail_msg("local and RFC 3339 bounds disagree on the year range:%s", mismatch);
}

static void test_unknown_and_repeated(void **state)
{
    (void)state;
    expect_bad1("foo", "1", "foo");
    expect_bad1("Limit", "10", "Limit");
    expect_bad1("", "x", "");
    expect_bad1("tags", "x", "tags");
    expect_bad1("page", "2", "page");
    static const char *const singles[][2] = {
        {"q", "a"},          {"status", "todo"},         {"priority", "low"},
        {"tag_mode", "any"}, {"due_before", "2027-07-04"}, {"due_after", "2027-07-04"},
        {"overdue", "true"}, {"has_due", "true"},        {"recurring", "false"},
        {"series_id", "5"},  {"sort", "priority"},       {"limit", "10"},
    };
    for (size_t i = 0; i < sizeof singles / sizeof *singles; i++) {
        expect_ok1(singles[i][0], singles[i][1]);
        struct qparam p[3] = {{singles[i][0], singles[i][1]},
                              {"has_due", "true"},
                              {singles[i][0], singles[i][1]}};
        if (strcmp(singles[i][0], "has_due") == 0)
            p[1] = (struct qparam){"limit", "5"};
        expect_bad(p, 3, singles[i][0]);
    }
    /* The cursor too (even two invalid ones: the repeat is found first). */
    struct qparam twice[] = {{"cursor", "abc"}, {"cursor", "abc"}};
    expect_bad(twice, 2, "cursor");
    /* A later error does not hide behind an earlier valid parameter. */
    struct qparam p2[] = {{"limit", "10"}, {"q", "x"}, {"bogus", "1"}};
    expect_bad(p2, 3, "bogus");
}

static void test_q(void **state)
{
    (void)state;
    struct task_filter f;
    struct tock_error e;
    assert_int_equal(parse1(&f, "q", "  Buy MILK, eggs!!  ", NY, &e), 0);
    assert_non_null(f.q);
    assert_string_equal(f.q, "  Buy MILK, eggs!!  ");
    assert_int_equal(f.nq_terms, 3);
    assert_string_equal(f.q_terms[0], "buy");
    assert_string_equal(f.q_terms[1], "milk");
    assert_string_equal(f.q_terms[2], "eggs");
    assert_true(f.q_last_prefix);
    filter_release(&f);

    assert_int_equal(parse1(&f, "q", "mil", NY, &e), 0);
    assert_int_equal(f.nq_terms, 1);
    assert_string_equal(f.q_terms[0], "mil");
    assert_true(f.q_last_prefix);
    filter_release(&f);

    /* Punctuation splits words; digits are word characters. */
    assert_int_equal(parse1(&f, "q", "v2.0-beta_rc1 \"quoted\" a*b", NY, &e), 0);
    assert_int_equal(f.nq_terms, 7);
    static const char *const want[] = {"v2", "0", "beta", "rc1", "quoted", "a", "b"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(f.q_terms[i], want[i]);
    filter_release(&f);

    /* Non-ASCII bytes are letters. */
    assert_int_equal(parse1(&f, "q", "caf\xc3\xa9 au-lait", NY, &e), 0);
    assert_int_equal(f.nq_terms, 3);
    assert_string_equal(f.q_terms[0], "caf\xc3\xa9");
    assert_string_equal(f.q_terms[1], "au");
    assert_string_equal(f.q_terms[2], "lait");
    filter_release(&f);

    /* Only punctuation: a search with no terms (still sorted by rank). */
    assert_int_equal(parse1(&f, "q", "!!! ---", NY, &e), 0);
    assert_non_null(f.q);
    assert_int_equal(f.nq_terms, 0);
    assert_int_equal(f.sort[0].field, SORT_RANK);
    filter_release(&f);
    assert_int_equal(parse1(&f, "q", "", NY, &e), 0);
    assert_int_equal(f.nq_terms, 0);
    filter_release(&f);

    /* At most 32 terms are kept. */
    char many[200] = "";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "w%d ", i);
    assert_int_equal(parse1(&f, "q", many, NY, &e), 0);
    assert_int_equal(f.nq_terms, 32);
    assert_string_equal(f.q_terms[31], "w31");
    filter_release(&f);

    /* Length (500 code points) and text checks. */
    char q500[1001];
    for (int i = 0; i < 500; i++)
        memcpy(q500 + 2 * i, "\xc3\xa9", 2);
    q500[1000] = 0;
    expect_ok1("q", q500);
    char q501[502];
    memset(q501, 'a', 501);
    q501[501] = 0;
    expect_bad1("q", q501, "q");
    expect_bad1("q", "tab\there", "q");
    expect_bad1("q", "new\nline", "q");
    expect_bad1("q", "bad \xff", "q");
}

/* A task with every sortable field set. */
static void cursor_task(struct task *t, bool with_due)
{
    memset(t, 0, sizeof *t);
    t->id = 77;
    t->title = (char *)"Hello \"World\" \xc3\x89t\xc3\xa9";
    t->priority = PRIO_HIGH;
    t->has_due = with_due;
    t->due_at = with_due ? utc("2027-07-04T13:30:00Z") : 0;
    t->created_at = utc("2027-06-01T00:00:00.123Z");
    t->updated_at = utc("2027-06-02T00:00:00Z");
}

/* Parses `sort` (and q when given) with the cursor of `last`; checks the values. */
static void round_trip(const char *sort, const char *q, const struct task *last, double rank)
{
    struct task_filter f, g;
    struct tock_error e;
    struct qparam p[3];
    size_t n = 0;
    if (sort)
        p[n++] = (struct qparam){"sort", sort};
    if (q)
        p[n++] = (struct qparam){"q", q};
    assert_int_equal(filter_parse(&f, p, n, NY, NOW, &e), 0);
    char *cur = filter_cursor_encode(&f, last, rank);
    assert_non_null(cur);
    /* URL-safe without padding. */
    for (const char *c = cur; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            fail_msg("cursor has character '%c': %s", *c, cur);
    p[n++] = (struct qparam){"cursor", cur};
    int rc = filter_parse(&g, p, n, NY, NOW, &e);
    if (rc != 0)
        fail_msg("cursor for sort %s rejected: %s", f.sort_spec, e.message);
    assert_true(g.has_cursor);
    assert_int_equal(g.after_id, last->id);
    assert_int_equal(g.nsort, f.nsort);
    for (size_t i = 0; i < g.nsort; i++) {
        struct sort_val v;
        filter_sort_value(&g.sort[i], last, rank, &v);
        switch (g.sort[i].field) {
        case SORT_RANK:
            assert_true(g.after[i].d == rank);
            break;
        case SORT_TITLE: {
            /* Lower-cased (ASCII) title. */
            char low[128];
            snprintf(low, sizeof low, "%s", last->title);
            for (char *c = low; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            assert_non_null(g.after[i].s);
            assert_string_equal(g.after[i].s, low);
            break;
        }
        default:
            assert_int_equal(g.after[i].i, v.i);
        }
    }
    filter_release(&g);
    filter_release(&f);
    free(cur);
}

static void test_sort_value(void **state)
{
    (void)state;
    struct task t;
    cursor_task(&t, true);
    struct sort_val v;
    struct sort_key k = {SORT_DUE_AT, false};
    filter_sort_value(&k, &t, 0, &v);
    assert_int_equal(v.i, t.due_at);
    t.has_due = false;
    filter_sort_value(&k, &t, 0, &v);
    assert_true(v.i == DUE_NONE_ASC);
    k.desc = true;
    filter_sort_value(&k, &t, 0, &v);
    assert_true(v.i == DUE_NONE_DESC);
    k = (struct sort_key){SORT_PRIORITY, true};
    filter_sort_value(&k, &t, 0, &v);
    assert_int_equal(v.i, PRIO_HIGH);
    k = (struct sort_key){SORT_CREATED_AT, false};
    filter_sort_value(&k, &t, 0, &v);
    assert_int_equal(v.i, t.created_at);
    k = (struct sort_key){SORT_UPDATED_AT, false};
    filter_sort_value(&k, &t, 0, &v);
    assert_int_equal(v.i, t.updated_at);
    k = (struct sort_key){SORT_TITLE, false};
    filter_sort_value(&k, &t, 0, &v);
    assert_ptr_equal(v.s, t.title);
    k = (struct sort_key){SORT_RANK, true};
    filter_sort_value(&k, &t, -3.25, &v);
    assert_true(v.d == -3.25);
}

static void test_cursor_round_trip(void **state)
{
    (void)state;
    struct task t;
    cursor_task(&t, true);
    round_trip(NULL, NULL, &t, 0);
    round_trip("priority:desc,title,created_at:desc,updated_at", NULL, &t, 0);
    round_trip("title:desc", NULL, &t, 0);
    round_trip(NULL, "hello", &t, -7.123456789012345);
    round_trip(NULL, "hello", &t, 2.0);
    round_trip("rank:desc,due_at:desc", "hello", &t, 1e-9);
    t.id = 999999999999999999LL;
    round_trip("updated_at:desc", NULL, &t, 0);
    /* No due: the sentinels survive the trip. */
    cursor_task(&t, false);
    round_trip(NULL, NULL, &t, 0);
    round_trip("due_at:desc", NULL, &t, 0);
    /* Pre-epoch times are negative values. */
    t.created_at = -86400000;
    round_trip("created_at", NULL, &t, 0);

    /* The decoded default-sort cursor carries due_at then priority. */
    cursor_task(&t, true);
    struct task_filter f, g;
    struct tock_error e;
    assert_int_equal(parse1(&f, NULL, NULL, NY, &e), 0);
    char *cur = filter_cursor_encode(&f, &t, 0);
    assert_non_null(cur);
    assert_int_equal(parse1(&g, "cursor", cur, NY, &e), 0);
    assert_int_equal(g.after[0].i, utc("2027-07-04T13:30:00Z"));
    assert_int_equal(g.after[1].i, PRIO_HIGH);
    assert_int_equal(g.after_id, 77);
    /* The cursor does not change the other defaults. */
    assert_int_equal(g.limit, 50);
    assert_string_equal(g.sort_spec, "due_at:asc,priority:desc");
    filter_release(&g);

    /* A cursor only fits the sort it was made for. */
    static const char *const other[] = {"due_at:desc,priority:desc", "due_at,priority",
                                        "priority:desc,due_at", "due_at", "title"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        struct qparam p[] = {{"sort", other[i]}, {"cursor", cur}};
        expect_bad(p, 2, "cursor");
    }
    struct qparam withq[] = {{"q", "x"}, {"cursor", cur}}; /* q: default sort is rank */
    expect_bad(withq, 2, "cursor");
    /* Spelling the default sort out explicitly is the same sort. */
    struct qparam same[] = {{"cursor", cur}, {"sort", "due_at:asc,priority:desc"}};
    assert_int_equal(filter_parse(&g, same, 2, NY, NOW, &e), 0);
    assert_true(g.has_cursor);
    filter_release(&g);
    filter_release(&f);
    free(cur);
}

static void test_cursor_garbage(void **state)
{
    (void)state;
    static const char *const raw[] = {
        "",
        "!!!",
        "abc",
        "====",
        "eyJ",
    };
    for (size_t i = 0; i < sizeof raw / sizeof *raw; i++)
        expect_bad1("cursor", raw[i], "cursor");

    /* Well-formed base64 of wrong JSON. */
    static const char *const json[] = {
        "[]",
        "{}",
        "null",
        "not json",
        "[\"due_at:asc,priority:desc\",[1,2]]",
        "[\"due_at:asc,priority:desc\",[1],\"77\"]",
        "[\"due_at:asc,priority:desc\",[1,2,3],\"77\"]",
        "[\"due_at:asc,priority:desc\",[1,2],\"0\"]",
        "[\"due_at:asc,priority:desc\",[1,2],\"-77\"]",
        "[\"due_at:asc,priority:desc\",[1,2],\"abc\"]",
        "[\"due_at:asc,priority:desc\",[1,2],77]",
        "[\"due_at:asc,priority:desc\",[1,\"2\"],\"77\"]",
        "[\"due_at:asc,priority:desc\",[1.5,2],\"77\"]",
        "[\"due_at:asc,priority:desc\",[null,2],\"77\"]",
        "[\"due_at:asc,priority:desc\",{\"a\":1},\"77\"]",
        "[\"due_at:asc\",[1,2],\"77\"]",
        "[\"DUE_AT:ASC,PRIORITY:DESC\",[1,2],\"77\"]",
        "[\"due_at:asc,priority:desc\",[1,2],\"77\"] trailing",
    };
    for (size_t i = 0; i < sizeof json / sizeof *json; i++) {
        char *c = b64(json[i]);
        struct task_filter f;
        struct tock_error e;
        int rc = parse1(&f, "cursor", c, NY, &e);
        filter_release(&f);
        if (rc != TOCK_EINVAL || strcmp(e.field, "cursor") != 0)
            fail_msg("cursor of %s: rc %d field %s", json[i], rc, e.field);
        free(c);
    }
    /* The same shape, valid, is accepted (so the rejections above are about content). */
    char *c = b64("[\"due_at:asc,priority:desc\",[1,2],\"77\"]");
    struct task_filter f;
    struct tock_error e;
    assert_int_equal(parse1(&f, "cursor", c, NY, &e), 0);
    assert_int_equal(f.after[0].i, 1);
    assert_int_equal(f.after[1].i, 2);
    assert_int_equal(f.after_id, 77);
    filter_release(&f);
    free(c);
    /* Title keys need strings, rank keys numbers. */
    struct qparam ts[] = {{"sort", "title"}, {"cursor", NULL}};
    c = b64("[\"title:asc\",[5],\"77\"]");
    ts[1].value = c;
    expect_bad(ts, 2, "cursor");
    free(c);
    c = b64("[\"title:asc\",[\"abc\"],\"77\"]");
    ts[1].value = c;
    assert_int_equal(filter_parse(&f, ts, 2, NY, NOW, &e), 0);
    assert_string_equal(f.after[0].s, "abc");
    filter_release(&f);
    free(c);
    struct qparam rk[] = {{"q", "x"}, {"cursor", NULL}};
    c = b64("[\"rank:desc\",[\"high\"],\"77\"]");
    rk[1].value = c;
    expect_bad(rk, 2, "cursor");
    free(c);
    c = b64("[\"rank:desc\",[3],\"77\"]");
    rk[1].value = c;
    assert_int_equal(filter_parse(&f, rk, 2, NY, NOW, &e), 0);
    assert_true(f.after[0].d == 3.0);
    filter_release(&f);
    free(c);

    /* Padded (standard) base64 and '+'/'/' are not the cursor alphabet. */
    expect_bad1("cursor", "WyJkdWVfYXQ6YXNjLHByaW9yaXR5OmRlc2MiLFsxLDJdLCI3NyJd==", "cursor");
    expect_bad1("cursor", "ab+/", "cursor");
    /* Oversized. */
    char *big = malloc(3001);
    assert_non_null(big);
    memset(big, 'A', 3000);
    big[3000] = 0;
    expect_bad1("cursor", big, "cursor");
    free(big);
    /* A cursor that is valid but for a different valid sort value shape. */
    c = b64("[\"title:asc\",[\"abc\"],\"77\"]");
    expect_bad1("cursor", c, "cursor"); /* default sort is due_at,priority */
    free(c);
}

/* Errors in parameters after partial allocations must not leak (ASan checks). */
static void test_release_after_errors(void **state)
{
    (void)state;
    struct qparam p1[] = {{"q", "some words here"}, {"tag", "a"}, {"tag", "b"},
                          {"limit", "0"}};
    expect_bad(p1, 4, "limit");
    struct qparam p2[] = {{"q", "a b"}, {"tag", "x"}, {"sort", "rank:desc"}, {"cursor", "zz"}};
    expect_bad(p2, 4, "cursor");
    /* The title value is copied before the second value turns out bad. */
    char *c = b64("[\"title:asc,priority:asc\",[\"abc\",\"x\"],\"77\"]");
    struct qparam p3[] = {{"q", "a b"}, {"sort", "title,priority"}, {"cursor", c}};
    expect_bad(p3, 3, "cursor");
    free(c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_status_priority),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_booleans_and_series),
        cmocka_unit_test(test_due_bounds),
        cmocka_unit_test(test_bound_years),
        cmocka_unit_test(test_unknown_and_repeated),
        cmocka_unit_test(test_q),
        cmocka_unit_test(test_sort_value),
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_garbage),
        cmocka_unit_test(test_release_after_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
