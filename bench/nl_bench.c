/*
 * nl_bench.c — quick-add parser throughput: parses per second on one core over
 * a mixed phrase set, for at least NL_BENCH_SECONDS (default 2) seconds. Not a
 * test (no assertion on speed); see bench/README.md for figures.
 *
 *   cmake --build build --target bench_nl && build/bench_nl [seconds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nl.h"
#include "obs/clock.h"

static const char *const phrases[] = {
    "Buy oat milk tomorrow",
    "Send the slides to Priya on thursday at 4pm",
    "Dentist march 12 at 9:30am remind me 1 day before",
    "Water the garden every other day at 7am",
    "Rent every month on the 1st #home p1",
    "Quarterly taxes every 3 months on the 15th remind me 2 days before",
    "Gym every mon, wed and fri at 6:30am",
    "Call the bank in 2 hours",
    "Finish the draft by end of month !high",
    "Renew the car insurance in 1 year",
    "Team retro every last friday at 3pm #work",
    "Pick up the kids tonight",
    "todo: clean the fridge this weekend",
    "\"Meet at 5pm\" is the book title, read it next week",
    "Stand-up weekdays 9:15 until june 30",
    "Update the status page asap",
    "Flu shot 10/15",
    "Anniversary dinner every year on june 20",
    "Review pull requests every 2 weeks on tuesday after completion",
    "A fairly long line with no phrases at all just words words words and more words",
};

int main(int argc, char **argv)
{
    double seconds = 2.0;
    if (argc > 1) {
        char *end;
        double v = strtod(argv[1], &end);
        if (*end == 0 && v > 0 && v < 3600)
            seconds = v;
    }
    size_t np = sizeof phrases / sizeof *phrases, lens[64], bytes = 0;
    for (size_t i = 0; i < np; i++) {
        lens[i] = strlen(phrases[i]);
        bytes += lens[i];
    }
    struct nl_options o = {.zone = "America/New_York"};
    time_parse_local("2026-03-04T10:00", &o.now);
    struct nl_result *r = malloc(sizeof *r);
    if (!r)
        return 1;
    struct tock_error e;
    /* warm-up (libical's zone cache) */
    for (size_t i = 0; i < np; i++)
        nl_parse(phrases[i], lens[i], &o, r, &e);
    long long parses = 0;
    uint64_t steps = 0;
    int64_t t0 = clock_mono_ns(), t1;
    do {
        for (size_t i = 0; i < np; i++) {
            if (nl_parse(phrases[i], lens[i], &o, r, &e) != 0) {
                fprintf(stderr, "parse failed: %s\n", e.message);
                return 1;
            }
            steps += r->steps;
        }
        parses += (long long)np;
        t1 = clock_mono_ns();
    } while ((double)(t1 - t0) / 1e9 < seconds);
    double el = (double)(t1 - t0) / 1e9;
    printf("nl_parse: %lld parses in %.2f s = %.0f parses/s (single thread), "
           "%.1f MB/s, %.1f steps/byte\n",
           parses, el, (double)parses / el, (double)parses / np * bytes / el / 1e6,
           (double)steps / ((double)parses / np * bytes));
    free(r);
    return 0;
}
