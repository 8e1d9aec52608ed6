/*
 * test_nl_fuzz.c — runs the libFuzzer entry point of fuzz/fuzz_nl.c without
 * clang, in `make test` (under ASan/UBSan there): every file of the checked-in
 * corpus (fuzz/corpus/nl), mutations of them, and NL_FUZZ_ITERATIONS (default
 * 200000) inputs from a fixed-seed generator that mixes grammar tokens,
 * separators, digits, UTF-8 sequences and random bytes. The entry point aborts
 * on a broken promise (crash, super-linear work, invalid output).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

#define NLF_MAX_INPUT (NL_TEXT_MAX + 64)

struct corpus {
    uint8_t *data[256];
    size_t len[256];
    size_t n;
};

static void load_corpus(struct corpus *c)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(NL_CORPUS_DIR);
    if (!d)
        fail_msg("cannot open %s", NL_CORPUS_DIR);
    struct dirent *de;
    while ((de = readdir(d)) && c->n < 256) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", NL_CORPUS_DIR, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = malloc(NLF_MAX_INPUT);
        size_t n = fread(buf, 1, NLF_MAX_INPUT, f);
        fclose(f);
        c->data[c->n] = buf;
        c->len[c->n++] = n;
    }
    closedir(d);
}

static void corpus_replay(void **state)
{
    (void)state;
    struct corpus c;
    load_corpus(&c);
    assert_true(c.n >= 5);
    for (size_t i = 0; i < c.n; i++)
        LLVMFuzzerTestOneInput(c.data[i], c.len[i]);
    /* mutations: byte flips, truncations, duplications */
    uint8_t buf[NLF_MAX_INPUT];
    for (int k = 0; k < 20000; k++) {
        size_t i = rnd() % c.n, n = c.len[i];
        memcpy(buf, c.data[i], n);
        switch (rnd() % 4) {
        case 0:
            if (n)
                buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1:
            if (n)
                n = rnd() % n;
            break;
        case 2:
            if (n && 2 * n <= sizeof buf) {
                memcpy(buf + n, buf, n);
                n *= 2;
            }
            break;
        default:
            if (n)
                buf[rnd() % n] = (uint8_t)rnd();
            break;
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.data[i]);
}

static const char *const pieces[] = {
    "every",
    "every!",
    "each",
    "other",
    "on",
    "the",
    "last",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "weekday",
    "weekdays",
    "weekend",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "biweekly",
    "monday",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "sundays",
    "march",
    "feb",
    "may",
    "dec",
    "1st",
    "2nd",
    "3rd",
    "15th",
    "31st",
    "29",
    "today",
    "tomorrow",
    "tonight",
    "this",
    "next",
    "coming",
    "in",
    "half",
    "an",
    "a",
    "hour",
    "hours",
    "minutes",
    "min",
    "from",
    "now",
    "end",
    "of",
    "eom",
    "at",
    "@",
    "by",
    "due",
    "before",
    "noon",
    "midnight",
    "morning",
    "evening",
    "am",
    "pm",
    "a.m.",
    "for",
    "times",
    "until",
    "through",
    "to",
    "after",
    "completion",
    "remind",
    "me",
    "reminder",
    "and",
    "or",
    "p1",
    "p2",
    "p4",
    "p9",
    "!high",
    "!low",
    "priority",
    "high",
    "low",
    "asap",
    "urgent",
    "important",
    "add",
    "todo:",
    "task",
    "new",
    "#",
    "#work",
    "#a-b_c",
    "\"",
    "\xE2\x80\x9C",
    "\xE2\x80\x9D",
    ",",
    ".",
    ":",
    "-",
    "/",
    "'",
    "!",
    "5",
    "12",
    "0",
    "99999",
    "1000000000",
    "2026",
    "2026-03-10",
    "3/13",
    "3/13/2027",
    "5:30",
    "17:00",
    "24:00",
    "10:30:00",
    "\xC3\xA9",
    "\xE2\x98\x95",
    "\xF0\x9F\x98\x80",
    "\xE6\x97\xA5",
    "\t",
    "\n",
    "mon-fri",
    "o'clock",
    "friday's",
    "from now",
    "half an hour",
};

static size_t gen(uint8_t *buf, size_t cap)
{
    size_t target = (size_t)(rnd() % 8 == 0 ? rnd() % cap : rnd() % 120);
    size_t n = 0;
    /* two control bytes choose zone and now */
    buf[n++] = (uint8_t)rnd();
    buf[n++] = (uint8_t)rnd();
    while (n < target) {
        uint64_t r = rnd() % 16;
        if (r < 11) {
            const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
            size_t pl = strlen(p);
            if (n + pl + 1 > cap)
                break;
            memcpy(buf + n, p, pl);
            n += pl;
            if (rnd() % 5)
                buf[n++] = ' ';
        } else if (r < 14) {
            buf[n++] = (uint8_t)(' ' + rnd() % 95); /* printable ASCII */
        } else {
            buf[n++] = (uint8_t)rnd(); /* any byte, often invalid UTF-8 */
        }
    }
    return n;
}

static void generated_inputs(void **state)
{
    (void)state;
    long iters = 200000;
    const char *env = getenv("NL_FUZZ_ITERATIONS");
    if (env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == 0 && v >= 0)
            iters = v;
    }
    uint8_t buf[NLF_MAX_INPUT];
    for (long i = 0; i < iters; i++) {
        size_t n = gen(buf, sizeof buf);
        LLVMFuzzerTestOneInput(buf, n);
    }
    /* the longest accepted and the shortest refused inputs of each piece */
    for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
        size_t pl = strlen(pieces[p]), n = 2;
        buf[0] = (uint8_t)p;
        buf[1] = 10;
        while (n + pl + 1 <= NL_TEXT_MAX + 2) {
            memcpy(buf + n, pieces[p], pl);
            n += pl;
            buf[n++] = ' ';
        }
        LLVMFuzzerTestOneInput(buf, n);
        memset(buf + n, 'x', sizeof buf - n);
        LLVMFuzzerTestOneInput(buf, NL_TEXT_MAX + 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_replay),
        cmocka_unit_test(generated_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
