/*
 * fuzz_nl.c — the libFuzzer target of the quick-add parser (core/nl.h).
 *
 * The first two bytes choose the zone and `now` (DST days included); the rest is
 * the text. Besides "no crash" (ASan/UBSan), every accepted parse must keep the
 * parser's promises: linear work (steps <= NL_FUZZ_K * bytes + NL_FUZZ_C), a
 * UTF-8 title no longer than the text, ordered spans inside the text, an RRULE
 * the strict validator accepts, a real calendar due date, and buildable JSON.
 * A broken promise aborts, which libFuzzer reports as a crash.
 *
 * Built with clang and -fsanitize=fuzzer when TOCK_FUZZ=ON (docs/assistant.md);
 * tests/unit/test_nl_fuzz.c replays the same entry point in `make test`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nl.h"
#include "core/rrule.h"

#define NL_FUZZ_K 64
#define NL_FUZZ_C 4000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_nl: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

static bool dt_valid(const struct local_dt *t)
{
    return t->year > TZ_YEAR_MIN && t->year < TZ_YEAR_MAX && t->month >= 1 && t->month <= 12 &&
           t->day >= 1 && t->day <= days_in_month(t->year, t->month) && t->hour >= 0 &&
           t->hour <= 23 && t->minute >= 0 && t->minute <= 59;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const zones[] = {"America/New_York",    "UTC",
                                        "Europe/London",       "Asia/Kolkata",
                                        "Australia/Lord_Howe", "Pacific/Chatham"};
    static const char *const days[] = {"2026-03-04", "2026-03-07", "2026-03-08", "2026-10-31",
                                       "2026-11-01", "2026-12-31", "2027-02-28", "2028-02-29"};
    unsigned b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
    size_t skip = size < 2 ? size : 2;
    data += skip;
    size -= skip;
    struct nl_options o = {.zone = zones[b0 % 6]};
    CHECK(time_parse_local(days[(b0 / 6) % 8], &o.now) == 0);
    o.now.hour = (int)(b1 % 24);
    o.now.minute = (int)((b1 * 7) % 60);
    o.now.has_time = true;

    struct nl_result *r = malloc(sizeof *r);
    if (!r)
        return 0;
    struct tock_error e = {0};
    int rc = nl_parse((const char *)data, size, &o, r, &e);
    if (size > NL_TEXT_MAX)
        CHECK(rc == TOCK_EINVAL);
    if (rc == 0) {
        CHECK(r->steps <= NL_FUZZ_K * size + NL_FUZZ_C);
        size_t tl = strlen(r->title);
        CHECK(tl <= size);
        CHECK(utf8_valid((const unsigned char *)r->title, tl));
        size_t last = 0;
        for (size_t i = 0; i < r->nspans; i++) {
            CHECK(r->spans[i].start >= last);
            CHECK(r->spans[i].start < r->spans[i].end);
            CHECK(r->spans[i].end <= size);
            last = r->spans[i].end;
        }
        if (r->has_rrule)
            CHECK(rrule_check(r->rrule) == 0);
        if (r->has_due)
            CHECK(dt_valid(&r->due));
        CHECK(r->ntags <= TASK_TAGS_MAX && r->nreminders <= NL_REMINDERS_MAX);
        for (size_t i = 0; i < r->nreminders; i++) {
            if (r->reminders[i].is_at)
                CHECK(dt_valid(&r->reminders[i].at));
            else
                CHECK(r->reminders[i].offset_minutes >= 0);
        }
        json_t *j = nl_result_json(r, (const char *)data, size);
        CHECK(j != NULL);
        char *s = json_dumps(j, JSON_COMPACT);
        CHECK(s != NULL);
        free(s);
        json_decref(j);
    }
    free(r);
    return 0;
}
