/*
 * test_nl.c — the quick-add parser (core/nl.c): every part of the grammar,
 * conflicts, DST days in New York, invalid and ambiguous input, UTF-8 edges, the
 * JSON and task-input conversion, and the linear-work property (a step count,
 * not a timer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nl.h"
#include "core/rrule.h"
#include "core/task.h"

/* The case tables leave trailing fields out (NULL = "none"/null/empty). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define NOW "2026-03-04T10:00" /* a Wednesday */
#define NY "America/New_York"

static struct nl_result *run(const char *now, const char *zone, const char *text)
{
    struct nl_options o = {.zone = zone ? zone : NY};
    if (time_parse_local(now ? now : NOW, &o.now) != 0)
        fail_msg("bad now %s", now);
    struct nl_result *r = malloc(sizeof *r);
    assert_non_null(r);
    struct tock_error e = {0};
    int rc = nl_parse(text, strlen(text), &o, r, &e);
    if (rc != 0)
        fail_msg("nl_parse(%s) = %d (%s)", text, rc, e.message);
    return r;
}

struct want {
    const char *now, *text;
    const char *title, *due, *prio, *tags, *rrule, *from, *rems;
};

static void fmt_rems(const struct nl_result *r, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->nreminders; i++) {
        char at[20];
        if (r->reminders[i].is_at) {
            time_fmt_local(&r->reminders[i].at, at);
            n += (size_t)snprintf(out + n, cap - n, "%sat=%s", i ? ";" : "", at);
        } else {
            n += (size_t)snprintf(out + n, cap - n, "%s%d", i ? ";" : "",
                                  r->reminders[i].offset_minutes);
        }
    }
}

static void check(const struct want *w)
{
    struct nl_result *r = run(w->now, NULL, w->text);
    char due[20] = "null", tags[512] = "", rems[512];
    if (r->has_due)
        time_fmt_local(&r->due, due);
    size_t n = 0;
    for (size_t i = 0; i < r->ntags; i++)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "%s%s", i ? "," : "", r->tags[i]);
    fmt_rems(r, rems, sizeof rems);
    const char *rr = r->has_rrule ? r->rrule : "null";
    const char *from = !r->has_rrule                       ? "null"
                       : r->recur_from == RECUR_COMPLETION ? "completion"
                                                           : "due";
    const char *wr = w->rrule ? w->rrule : "null";
    const char *wf = w->rrule ? (w->from ? w->from : "due") : "null";
    if (strcmp(r->title, w->title) || strcmp(due, w->due ? w->due : "null") ||
        strcmp(task_priority_name(r->priority), w->prio ? w->prio : "none") ||
        strcmp(tags, w->tags ? w->tags : "") || strcmp(rr, wr) || strcmp(from, wf) ||
        strcmp(rems, w->rems ? w->rems : ""))
        fail_msg("%s\n  got  title=%s due=%s prio=%s tags=%s rrule=%s from=%s rems=%s\n"
                 "  want title=%s due=%s prio=%s tags=%s rrule=%s from=%s rems=%s",
                 w->text, r->title, due, task_priority_name(r->priority), tags, rr, from, rems,
                 w->title, w->due ? w->due : "null", w->prio ? w->prio : "none",
                 w->tags ? w->tags : "", wr, wf, w->rems ? w->rems : "");
    if (r->has_rrule && (rrule_check(r->rrule) != 0 || rrule_validate(r->rrule) != 0))
        fail_msg("%s: invalid rrule %s", w->text, r->rrule);
    free(r);
}

static void check_all(const struct want *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check(&w[i]);
}

#define CHECK_ALL(t) check_all(t, sizeof t / sizeof *t)

static void relative_dates(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Buy milk today", "Buy milk", "2026-03-04"},
        {NULL, "Buy milk tomorrow", "Buy milk", "2026-03-05"},
        {NULL, "Buy milk tmrw", "Buy milk", "2026-03-05"},
        {NULL, "Call grandma the day after tomorrow", "Call grandma", "2026-03-06"},
        {NULL, "Call grandma day after tomorrow", "Call grandma", "2026-03-06"},
        {NULL, "Renew passport in 2 weeks", "Renew passport", "2026-03-18"},
        {NULL, "Renew passport in two weeks", "Renew passport", "2026-03-18"},
        {NULL, "Renew license in 1 month", "Renew license", "2026-04-04"},
        {NULL, "Renew license in a year", "Renew license", "2027-03-04"},
        {NULL, "Pay in 3 days", "Pay", "2026-03-07"},
        {NULL, "Pay 3 days from now", "Pay", "2026-03-07"},
        {NULL, "Pay a week from today", "Pay", "2026-03-11"},
        {"2026-01-31T10:00", "Bill in 1 month", "Bill", "2026-02-28"},
        {NULL, "Plan the offsite next week", "Plan the offsite", "2026-03-09"},
        {"2026-03-08T10:00", "Plan next week", "Plan", "2026-03-09"}, /* a Sunday */
        {NULL, "Plan next month", "Plan", "2026-04-01"},
        {NULL, "Plan next year", "Plan", "2027-01-01"},
        {NULL, "Close the books end of month", "Close the books", "2026-03-31"},
        {NULL, "Close the books by the end of the month", "Close the books", "2026-03-31"},
        {NULL, "Report due by eom", "Report", "2026-03-31"},
        {NULL, "Ship end of week", "Ship", "2026-03-06"},
        {NULL, "Archive end of year", "Archive", "2026-12-31"},
        {NULL, "Clean garage this weekend", "Clean garage", "2026-03-07"},
        {NULL, "Clean garage weekend", "Clean garage", "2026-03-07"},
        {NULL, "Clean garage next weekend", "Clean garage", "2026-03-14"},
        {NULL, "Pay invoice within 30 days", "Pay invoice", "2026-04-03"},
        {NULL, "Close on the last day of the month", "Close", "2026-03-31"},
        /* invalid amounts stay in the title */
        {NULL, "Call in 0 days", "Call in 0 days", NULL},
        {NULL, "Review 99999 days from now", "Review 99999 days from now", NULL},
        {NULL, "in 99999 years go", "in 99999 years go", NULL},
    };
    CHECK_ALL(t);
}

static void weekdays_and_next(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Submit report friday", "Submit report", "2026-03-06"},
        {NULL, "Submit report fri", "Submit report", "2026-03-06"},
        {NULL, "Submit report on Friday", "Submit report", "2026-03-06"},
        {NULL, "Submit report next friday", "Submit report", "2026-03-06"},
        {NULL, "Submit report this friday", "Submit report", "2026-03-06"},
        /* today's weekday means next week's */
        {NULL, "Submit report wednesday", "Submit report", "2026-03-11"},
        {NULL, "Submit report friday next week", "Submit report", "2026-03-13"},
        {NULL, "Pay bills by friday", "Pay bills", "2026-03-06"},
        {NULL, "Pay bills before tuesday", "Pay bills", "2026-03-10"},
        {NULL, "Meet Sat at 10", "Meet", "2026-03-07T10:00"},
        /* a bare abbreviation followed by an ordinary word is not a date */
        {NULL, "Buy sun screen", "Buy sun screen", NULL},
        {NULL, "Wed planning", "Wed planning", NULL},
        /* "friday's" is a possessive, not a date */
        {NULL, "Prepare friday's agenda", "Prepare friday's agenda", NULL},
        {NULL, "Friday, march 13 party", "party", "2026-03-13"},
    };
    CHECK_ALL(t);
}

static void month_names_and_numeric(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Book flights march 10", "Book flights", "2026-03-10"},
        {NULL, "Book flights 10 march", "Book flights", "2026-03-10"},
        {NULL, "Book flights mar 10th", "Book flights", "2026-03-10"},
        {NULL, "Book flights the 10th of march", "Book flights", "2026-03-10"},
        {NULL, "Book flights March 10, 2027", "Book flights", "2027-03-10"},
        {NULL, "Board meeting 10 march 2027 at 14:00", "Board meeting", "2027-03-10T14:00"},
        {NULL, "Dad's birthday jan 5", "Dad's birthday", "2027-01-05"},
        {NULL, "Today's thing mar 4", "Today's thing", "2026-03-04"},
        {NULL, "Bill Mar 3", "Bill", "2027-03-03"},
        {NULL, "Trip feb 29", "Trip", "2028-02-29"},
        {NULL, "Pay taxes on 2026-04-15", "Pay taxes", "2026-04-15"},
        {NULL, "Pay taxes 2025-04-15", "Pay taxes", "2025-04-15"},
        {NULL, "Send invoice 3/13", "Send invoice", "2026-03-13"},
        {NULL, "Send invoice 3/13/2027", "Send invoice", "2027-03-13"},
        {NULL, "Send invoice 3/1", "Send invoice", "2027-03-01"},
        {NULL, "Doctor 3/20 at 11am", "Doctor", "2026-03-20T11:00"},
        {NULL, "Review budget on the 15th", "Review budget", "2026-03-15"},
        {NULL, "Review budget on the 4th", "Review budget", "2026-04-04"}, /* not ahead */
        {NULL, "Review budget the 3rd", "Review budget", "2026-04-03"},
        {NULL, "Submit on 15th", "Submit", "2026-03-15"},
        {"2026-04-05T10:00", "Rent on the 31st", "Rent", "2026-05-31"},
        /* not dates */
        {NULL, "Pay 2026-02-30", "Pay 2026-02-30", NULL},
        {NULL, "Read 24/7 docs", "Read 24/7 docs", NULL},
        {NULL, "Celebrate 5th anniversary", "Celebrate 5th anniversary", NULL},
        {NULL, "March budget review", "March budget review", NULL},
        {NULL, "Call 911 tomorrow", "Call 911", "2026-03-05"},
    };
    CHECK_ALL(t);
}

static void times(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Pick up dry cleaning at 5pm", "Pick up dry cleaning", "2026-03-04T17:00"},
        {NULL, "Pick up at 5 pm", "Pick up", "2026-03-04T17:00"},
        {NULL, "Pick up 5:30pm", "Pick up", "2026-03-04T17:30"},
        {NULL, "Dinner 7 p.m.", "Dinner", "2026-03-04T19:00"},
        {NULL, "Dinner 7.30pm", "Dinner", "2026-03-04T19:30"},
        {NULL, "Version 2.30 notes", "Version 2.30 notes", NULL},
        {NULL, "Sync 17:00", "Sync", "2026-03-04T17:00"},
        {NULL, "Sync at 17", "Sync", "2026-03-04T17:00"},
        {NULL, "Stretch at 9", "Stretch", "2026-03-05T09:00"},
        {NULL, "Stretch at 9am", "Stretch", "2026-03-05T09:00"},
        {NULL, "Call at 9 o'clock", "Call", "2026-03-05T09:00"},
        {NULL, "Stretch at 10am", "Stretch", "2026-03-05T10:00"}, /* == now: not ahead */
        {NULL, "Stretch at 10:01", "Stretch", "2026-03-04T10:01"},
        {NULL, "Lunch with Ana at noon", "Lunch with Ana", "2026-03-04T12:00"},
        {NULL, "Lunch 12pm", "Lunch", "2026-03-04T12:00"},
        {NULL, "Party 12am", "Party", "2026-03-05T00:00"},
        {NULL, "Deploy by midnight", "Deploy", "2026-03-05T00:00"},
        {NULL, "Submit the form before 11:59pm", "Submit the form", "2026-03-04T23:59"},
        {NULL, "Dinner at 7:30 tonight", "Dinner", "2026-03-04T19:30"},
        {NULL, "Call plumber next monday morning", "Call plumber", "2026-03-09T09:00"},
        {NULL, "Watch the game tonight", "Watch the game", "2026-03-04T20:00"},
        {NULL, "Call Bob tonight at 9", "Call Bob", "2026-03-04T21:00"},
        {NULL, "Water plants this afternoon", "Water plants", "2026-03-04T15:00"},
        {NULL, "Jog this morning", "Jog", "2026-03-05T09:00"},
        {NULL, "Jog tomorrow morning", "Jog", "2026-03-05T09:00"},
        {NULL, "Read in the evening", "Read", "2026-03-04T18:00"},
        {NULL, "Dinner with Sam this evening at 7", "Dinner with Sam", "2026-03-04T19:00"},
        {NULL, "Go for a run tomorrow at 6:30am", "Go for a run", "2026-03-05T06:30"},
        {NULL, "Gym tmrw 6am", "Gym", "2026-03-05T06:00"},
        {NULL, "Team sync on monday at 10am", "Team sync", "2026-03-09T10:00"},
        {NULL, "Check the oven in 30 minutes", "Check the oven", "2026-03-04T10:30"},
        {NULL, "Call in an hour", "Call", "2026-03-04T11:00"},
        {NULL, "Tea in half an hour", "Tea", "2026-03-04T10:30"},
        {NULL, "Sleep in 20 hours", "Sleep", "2026-03-05T06:00"},
        /* not times */
        {NULL, "Meet at 25", "Meet at 25", NULL},
        {NULL, "Buy 2 apples", "Buy 2 apples", NULL},
        {NULL, "Read chapter 13pm", "Read chapter 13pm", NULL},
        {NULL, "Version 10:30:00 notes", "Version 10:30:00 notes", NULL},
    };
    CHECK_ALL(t);
}

static void recurrence(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Take vitamins every day", "Take vitamins", "2026-03-04", 0, 0, "FREQ=DAILY"},
        {NULL, "Take vitamins daily", "Take vitamins", "2026-03-04", 0, 0, "FREQ=DAILY"},
        {NULL, "Take vitamins everyday", "Take vitamins", "2026-03-04", 0, 0, "FREQ=DAILY"},
        {NULL, "Backup nightly at 11", "Backup", "2026-03-04T23:00", 0, 0, "FREQ=DAILY"},
        {NULL, "Smile every time", "Smile every time", NULL},
        {NULL, "Swim every weds", "Swim", "2026-03-04", 0, 0, "FREQ=WEEKLY;BYDAY=WE"},
        {NULL, "Vitamins every day at 9am", "Vitamins", "2026-03-05T09:00", 0, 0, "FREQ=DAILY"},
        {NULL, "Standup every weekday at 9am", "Standup", "2026-03-05T09:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
        {NULL, "Standup weekdays 9:15", "Standup", "2026-03-05T09:15", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
        {NULL, "Standup mon-fri at 9", "Standup", "2026-03-05T09:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
        {NULL, "Gym monday to friday", "Gym", "2026-03-04", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
        {NULL, "Brunch every weekend at 11am", "Brunch", "2026-03-07T11:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=SA,SU"},
        {NULL, "Take out trash every monday at 7pm", "Take out trash", "2026-03-09T19:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO"},
        {NULL, "Gym every mon and thu at 8am", "Gym", "2026-03-05T08:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TH"},
        {NULL, "Swim every tues/thurs", "Swim", "2026-03-05", 0, 0, "FREQ=WEEKLY;BYDAY=TU,TH"},
        {NULL, "Gym every monday, wednesday and friday", "Gym", "2026-03-04", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,WE,FR"},
        {NULL, "Yoga on mondays and wednesdays at 6pm", "Yoga", "2026-03-04T18:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,WE"},
        {NULL, "Mow the lawn every other week", "Mow the lawn", "2026-03-04", 0, 0,
         "FREQ=WEEKLY;INTERVAL=2"},
        {NULL, "Sync biweekly", "Sync", "2026-03-04", 0, 0, "FREQ=WEEKLY;INTERVAL=2"},
        {NULL, "Sync every 2nd week", "Sync", "2026-03-04", 0, 0, "FREQ=WEEKLY;INTERVAL=2"},
        {NULL, "Read for 5 occurrences every day", "Read", "2026-03-04", 0, 0,
         "FREQ=DAILY;COUNT=5"},
        {NULL, "Call every other monday", "Call", "2026-03-09", 0, 0,
         "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"},
        {NULL, "Review PRs every 2 weeks on friday", "Review PRs", "2026-03-06", 0, 0,
         "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"},
        {NULL, "Report weekly", "Report", "2026-03-04", 0, 0, "FREQ=WEEKLY"},
        /* weekly on today's weekday: 9am has passed, so next Wednesday */
        {NULL, "Report every week at 9am", "Report", "2026-03-11T09:00", 0, 0, "FREQ=WEEKLY"},
        {NULL, "Weekly report every friday", "Weekly report", "2026-03-06", 0, 0,
         "FREQ=WEEKLY;BYDAY=FR"},
        {NULL, "Invoice monthly", "Invoice", "2026-03-04", 0, 0, "FREQ=MONTHLY"},
        {NULL, "Pay rent every month on the 1st", "Pay rent", "2026-04-01", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=1"},
        {NULL, "Pay card every month on the 15th and the 30th", "Pay card", "2026-03-15", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=15,30"},
        {NULL, "Invoice monthly on the 31st", "Invoice", "2026-03-31", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=31"},
        {NULL, "Backup photos every month on the last day", "Backup photos", "2026-03-31", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=-1"},
        {NULL, "Payroll every last friday", "Payroll", "2026-03-27", 0, 0,
         "FREQ=MONTHLY;BYDAY=-1FR"},
        {NULL, "Lunch every first monday of the month at noon", "Lunch", "2026-04-06T12:00", 0, 0,
         "FREQ=MONTHLY;BYDAY=1MO"},
        {NULL, "Meetup every 2nd tuesday", "Meetup", "2026-03-10", 0, 0, "FREQ=MONTHLY;BYDAY=2TU"},
        {NULL, "Meetup every month on the last friday", "Meetup", "2026-03-27", 0, 0,
         "FREQ=MONTHLY;BYDAY=-1FR"},
        {NULL, "Water the ferns every 3 days", "Water the ferns", "2026-03-04", 0, 0,
         "FREQ=DAILY;INTERVAL=3"},
        {NULL, "Review goals every quarter", "Review goals", "2026-03-04", 0, 0,
         "FREQ=MONTHLY;INTERVAL=3"},
        {NULL, "Report quarterly on the 1st", "Report", "2026-04-01", 0, 0,
         "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"},
        {NULL, "Check alarms every 6 months", "Check alarms", "2026-03-04", 0, 0,
         "FREQ=MONTHLY;INTERVAL=6"},
        {NULL, "Review every 3 months on the 1st at 10am", "Review", "2026-04-01T10:00", 0, 0,
         "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"},
        {NULL, "Anniversary every year on march 10", "Anniversary", "2026-03-10", 0, 0,
         "FREQ=YEARLY"},
        {NULL, "Birthday every jan 5", "Birthday", "2027-01-05", 0, 0, "FREQ=YEARLY"},
        {NULL, "Leap party every feb 29", "Leap party", "2028-02-29", 0, 0, "FREQ=YEARLY"},
        {NULL, "Checkup yearly", "Checkup", "2026-03-04", 0, 0, "FREQ=YEARLY"},
        {NULL, "Walk dog every morning", "Walk dog", "2026-03-05T09:00", 0, 0, "FREQ=DAILY"},
        {NULL, "Walk dog every evening at 7", "Walk dog", "2026-03-04T19:00", 0, 0, "FREQ=DAILY"},
        {NULL, "Physio daily for 5 times", "Physio", "2026-03-04", 0, 0, "FREQ=DAILY;COUNT=5"},
        {NULL, "Physio every day 3 times", "Physio", "2026-03-04", 0, 0, "FREQ=DAILY;COUNT=3"},
        {NULL, "Meditate every day until march 20", "Meditate", "2026-03-04", 0, 0,
         "FREQ=DAILY;UNTIL=20260320"},
        /* a timed series ends at the end of that local day, in UTC (EDT = -4) */
        {NULL, "Standup every weekday at 9am until april 30", "Standup", "2026-03-05T09:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260501T035959Z"},
        {NULL, "Replace water filter every! 2 months", "Replace water filter", "2026-03-04", 0, 0,
         "FREQ=MONTHLY;INTERVAL=2", "completion"},
        {NULL, "Descale kettle every 30 days after completion", "Descale kettle", "2026-03-04", 0,
         0, "FREQ=DAILY;INTERVAL=30", "completion"},
        {NULL, "Pay rent on the 1st of every month", "Pay rent", "2026-04-01", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=1"},
        {NULL, "Pay bills on the 1st and 15th of every month", "Pay bills", "2026-03-15", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=1,15"},
        {NULL, "Team lunch the last friday of each month", "Team lunch", "2026-03-27", 0, 0,
         "FREQ=MONTHLY;BYDAY=-1FR"},
        {NULL, "Every 1st of the month pay rent", "pay rent", "2026-04-01", 0, 0,
         "FREQ=MONTHLY;BYMONTHDAY=1"},
        {NULL, "Pay every 15th", "Pay", "2026-03-15", 0, 0, "FREQ=MONTHLY;BYMONTHDAY=15"},
        {NULL, "Practice piano every day for 30 days", "Practice piano", "2026-03-04", 0, 0,
         "FREQ=DAILY;COUNT=30"},
        {NULL, "Standup every weekday for 2 weeks", "Standup", "2026-03-04", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260317"},
        {NULL, "Backup every night at 2am", "Backup", "2026-03-05T02:00", 0, 0, "FREQ=DAILY"},
        {NULL, "Every night at 11 read", "read", "2026-03-04T23:00", 0, 0, "FREQ=DAILY"},
        {NULL, "Standup every weekday morning", "Standup", "2026-03-05T09:00", 0, 0,
         "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
        /* an explicit start date */
        {NULL, "Report every week starting next week", "Report", "2026-03-09", 0, 0, "FREQ=WEEKLY"},
        /* invalid recurrences stay text */
        {NULL, "Take meds every 8 hours", "Take meds every 8 hours", NULL},
        {NULL, "every 0 days", "every 0 days", NULL},
        {NULL, "every 5000 days", "every 5000 days", NULL},
        {NULL, "Read book 5 times", "Read book 5 times", NULL},
        {NULL, "every day for 0 times", "for 0 times", "2026-03-04", 0, 0, "FREQ=DAILY"},
        {NULL, "Leave after completion", "Leave after completion", NULL},
    };
    CHECK_ALL(t);
}

static void priorities(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Fix login bug p1", "Fix login bug", NULL, "urgent"},
        {NULL, "Fix login bug P2", "Fix login bug", NULL, "high"},
        {NULL, "Update docs p3 tomorrow", "Update docs", "2026-03-05", "medium"},
        {NULL, "Update docs p4", "Update docs", NULL, "low"},
        {NULL, "Refactor parser !high", "Refactor parser", NULL, "high"},
        {NULL, "Refactor parser !URGENT", "Refactor parser", NULL, "urgent"},
        {NULL, "Refactor parser !medium", "Refactor parser", NULL, "medium"},
        {NULL, "Refactor parser !low", "Refactor parser", NULL, "low"},
        {NULL, "Order new chairs low priority", "Order new chairs", NULL, "low"},
        {NULL, "Order chairs high priority", "Order chairs", NULL, "high"},
        {NULL, "Order chairs priority high", "Order chairs", NULL, "high"},
        {NULL, "priority: medium Order chairs", "Order chairs", NULL, "medium"},
        {NULL, "Order chairs top priority", "Order chairs", NULL, "urgent"},
        {NULL, "Zoom call priority 1", "Zoom call", NULL, "urgent"},
        {NULL, "Reply to legal asap", "Reply to legal", NULL, "urgent"},
        {NULL, "Fix the roof urgent!", "Fix the roof", NULL, "urgent"},
        {NULL, "Update resume important", "Update resume", NULL, "high"},
        {NULL, "Fix urgent bug in login", "Fix bug in login", NULL, "urgent"},
        {NULL, "Important: renew lease", "renew lease", NULL, "high"},
        {NULL, "Very important: renew visa", "renew visa", NULL, "high"},
        {NULL, "Fix bug (priority: high)", "Fix bug", NULL, "high"},
        /* an explicit marker beats a word; of two explicit ones the first wins */
        {NULL, "Urgent: fix the server p3", "Urgent: fix the server", NULL, "medium"},
        {NULL, "Fix !high bug p4", "Fix bug p4", NULL, "high"},
        /* not priorities */
        {NULL, "Buy p5 cable", "Buy p5 cable", NULL},
        {NULL, "Read p1x manual", "Read p1x manual", NULL},
        {NULL, "Go high and low", "Go high and low", NULL},
    };
    CHECK_ALL(t);
}

static void tags(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Buy eggs #shopping", "Buy eggs", NULL, 0, "shopping"},
        {NULL, "Draft post #writing #Work friday", "Draft post", "2026-03-06", 0, "writing,work"},
        {NULL, "#home clean #home", "clean", NULL, 0, "home"},
        {NULL, "Ship #v2-final_cut now", "Ship now", NULL, 0, "v2-final_cut"},
        {NULL, "Fix issue #42", "Fix issue", NULL, 0, "42"},
        /* not tags: glued to a word, empty, non-ASCII, too long */
        {NULL, "Learn C# today", "Learn C#", "2026-03-04"},
        {NULL, "Read #a#b", "Read #b", NULL, 0, "a"},
        {NULL, "Note # here", "Note # here", NULL},
        {NULL, "Visit #münchen", "Visit #münchen", NULL},
        {NULL, "x #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "x #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL},
    };
    CHECK_ALL(t);
}

static void reminders(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "Call mom tomorrow at 5pm remind me 1 hour before", "Call mom", "2026-03-05T17:00",
         0, 0, 0, 0, "60"},
        {NULL, "Call mom tomorrow remind me 30 min before", "Call mom", "2026-03-05", 0, 0, 0, 0,
         "30"},
        {NULL, "Submit expenses friday remind me 1 day before", "Submit expenses", "2026-03-06", 0,
         0, 0, 0, "1440"},
        {NULL, "Dentist tomorrow remind me 1 day and 2 hours before", "Dentist", "2026-03-05", 0, 0,
         0, 0, "1440;120"},
        {NULL, "Dentist friday remind me 1 day before and at 8am", "Dentist", "2026-03-06", 0, 0, 0,
         0, "1440;at=2026-03-06T08:00"},
        {NULL, "remind me to feed the cat at 6pm", "feed the cat", "2026-03-04T18:00", 0, 0, 0, 0,
         "0"},
        {NULL, "remind me to call mom", "call mom", NULL, 0, 0, 0, 0, "0"},
        {NULL, "Dentist appointment tomorrow at 2pm remind me at 8am", "Dentist appointment",
         "2026-03-05T14:00", 0, 0, 0, 0, "at=2026-03-05T08:00"},
        {NULL, "Water plants remind me at 8am", "Water plants", NULL, 0, 0, 0, 0,
         "at=2026-03-05T08:00"},
        {NULL, "Exam friday remind me thursday at 8pm", "Exam", "2026-03-06", 0, 0, 0, 0,
         "at=2026-03-05T20:00"},
        {NULL, "Exam friday remind me thursday", "Exam", "2026-03-06", 0, 0, 0, 0,
         "at=2026-03-05T09:00"},
        {NULL, "Boil eggs remind me in 10 minutes", "Boil eggs", NULL, 0, 0, 0, 0,
         "at=2026-03-04T10:10"},
        {NULL, "Taxes every year on april 15 remind me 2 weeks before", "Taxes", "2026-04-15", 0, 0,
         "FREQ=YEARLY", 0, "20160"},
        {NULL, "Call Bob tomorrow remind me", "Call Bob", "2026-03-05", 0, 0, 0, 0, "0"},
        {NULL, "alert me 5 min before standup at 10:30", "standup", "2026-03-04T10:30", 0, 0, 0, 0,
         "5"},
        {NULL, "reminder: 1 hour before, meeting tomorrow at 3pm", "meeting", "2026-03-05T15:00", 0,
         0, 0, 0, "60"},
        {NULL, "Dentist on monday remind me the day before", "Dentist", "2026-03-09", 0, 0, 0, 0,
         "1440"},
        {NULL, "Pay bill friday remind me 2 days before at 9am", "Pay bill", "2026-03-06", 0, 0, 0,
         0, "at=2026-03-04T09:00"},
        {NULL, "Remind me at 7pm to call mom", "call mom", "2026-03-04T19:00", 0, 0, 0, 0, "0"},
        {NULL, "remind me on friday to pay rent", "pay rent", "2026-03-06", 0, 0, 0, 0, "0"},
        {NULL, "remind me in 2 hours to check the oven", "check the oven", "2026-03-04T12:00", 0, 0,
         0, 0, "0"},
        {NULL, "Meeting tomorrow 2pm with reminder 30 minutes before", "Meeting",
         "2026-03-05T14:00", 0, 0, 0, 0, "30"},
        {NULL, "Submit report, remind me 1h before, tomorrow 5pm", "Submit report",
         "2026-03-05T17:00", 0, 0, 0, 0, "60"},
        {NULL, "Call mom tomorrow remind me 1 day before, and at 8am", "Call mom", "2026-03-05", 0,
         0, 0, 0, "1440;at=2026-03-05T08:00"},
        /* "remind Bob" is not a reminder for me */
        {NULL, "remind Bob to pay", "remind Bob to pay", NULL},
    };
    CHECK_ALL(t);
}

static void titles_and_quotes(void **state)
{
    (void)state;
    static const struct want t[] = {
        {NULL, "add Buy a birthday card", "Buy a birthday card", NULL},
        {NULL, "Add a task to call the plumber", "call the plumber", NULL},
        {NULL, "add task: call the plumber", "call the plumber", NULL},
        {NULL, "add: call the plumber", "call the plumber", NULL},
        {NULL, "todo: sort the mail", "sort the mail", NULL},
        {NULL, "New task: sort the mail", "sort the mail", NULL},
        {NULL, "New York trip planning", "New York trip planning", NULL},
        {NULL, "Address the letters", "Address the letters", NULL},
        {NULL, "\"Read 5pm to 7pm protocol\" tomorrow", "Read 5pm to 7pm protocol", "2026-03-05"},
        {NULL, "Write \"next friday\" chapter tomorrow", "Write next friday chapter", "2026-03-05"},
        {NULL,
         "\xE2\x80\x9C"
         "every day p1"
         "\xE2\x80\x9D"
         " review",
         "every day p1 review", NULL},
        {NULL, "Unclosed \"quote tomorrow", "Unclosed \"quote", "2026-03-05"},
        {NULL, "Call mom, tomorrow, about the trip", "Call mom, about the trip", "2026-03-05"},
        {NULL, "Call   mom\t\ttomorrow   now", "Call mom now", "2026-03-05"},
        {NULL, "tomorrow at 5pm", "", "2026-03-05T17:00"},
        {NULL, "", "", NULL},
        {NULL, "   ", "", NULL},
        /* non-ASCII letters are part of words: no keyword inside them */
        {NULL, "Überweisung tomorrow", "Überweisung", "2026-03-05"},
        {NULL, "Fiestatomorrow mañana", "Fiestatomorrow mañana", NULL},
        {NULL, "Café ☕ meeting tomorrow", "Café ☕ meeting", "2026-03-05"},
        {NULL, "日本 tomorrow 会議", "日本 会議", "2026-03-05"},
        /* two dates: the first wins, the second stays in the title */
        {NULL, "Check in every weekday at 9 and remind me 5 minutes before", "Check in",
         "2026-03-05T09:00", 0, 0, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", 0, "5"},
        {NULL, "Buy milk and eggs tomorrow and", "Buy milk and eggs", "2026-03-05"},
        {NULL, "Rock and roll", "Rock and roll", NULL},
        {NULL, "Call mom (tomorrow) about it", "Call mom about it", "2026-03-05"},
        {NULL, "Call mom [p1]", "Call mom", NULL, "urgent"},
        {NULL, "Keep () and [] here", "Keep () and [] here", NULL},
        {NULL, "Move meeting monday or tuesday", "Move meeting or tuesday", "2026-03-09"},
    };
    CHECK_ALL(t);
}

/* New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST. */
static void dst_days(void **state)
{
    (void)state;
    static const struct want t[] = {
        {"2026-03-08T01:30", "Check backups in 2 hours", "Check backups", "2026-03-08T04:30"},
        {"2026-03-08T01:30", "Check backups in 30 minutes", "Check backups", "2026-03-08T03:00"},
        {"2026-03-07T12:00", "Call in 24 hours", "Call", "2026-03-08T13:00"},
        {"2026-03-07T12:00", "Call in 1 day", "Call", "2026-03-08"},
        {"2026-03-07T12:00", "Bake tomorrow at 2:30am", "Bake", "2026-03-08T02:30"},
        {"2026-11-01T00:30", "Check in 1 hour", "Check", "2026-11-01T01:30"},
        {"2026-11-01T00:30", "Check in 2 hours", "Check", "2026-11-01T01:30"},
        {"2026-11-01T00:30", "Check in 3 hours", "Check", "2026-11-01T02:30"},
        {"2026-10-31T12:00", "Call in 24 hours", "Call", "2026-11-01T11:00"},
        {"2026-03-08T01:30", "Feed cat at 3am", "Feed cat", "2026-03-08T03:00"},
        {"2026-03-07T10:00", "Meds every day at 2:30am until march 9", "Meds", "2026-03-08T02:30",
         0, 0, "FREQ=DAILY;UNTIL=20260310T035959Z"},
        {"2026-03-07T10:00", "Meds every day at 9am until march 7", "Meds", "2026-03-08T09:00", 0,
         0, "FREQ=DAILY;UNTIL=20260308T045959Z"},
    };
    CHECK_ALL(t);
}

static void spans_and_json(void **state)
{
    (void)state;
    const char *text = "Café tomorrow at 9am #work p2 every day";
    struct nl_result *r = run(NULL, NULL, text);
    assert_int_equal(r->nspans, 5);
    static const struct {
        const char *s;
        int kind;
    } want[] = {{"tomorrow", NL_SPAN_DATE},
                {"at 9am", NL_SPAN_TIME},
                {"#work", NL_SPAN_TAG},
                {"p2", NL_SPAN_PRIORITY},
                {"every day", NL_SPAN_RECURRENCE}};
    for (size_t i = 0; i < r->nspans; i++) {
        const struct nl_span *s = &r->spans[i];
        size_t n = strlen(want[i].s);
        assert_int_equal(s->end - s->start, n);
        assert_memory_equal(text + s->start, want[i].s, n);
        assert_int_equal(s->kind, want[i].kind);
    }
    json_t *j = nl_result_json(r, text, strlen(text));
    assert_non_null(j);
    json_t *sp = json_object_get(j, "spans");
    /* "Café" is 5 bytes but 4 characters: offsets count characters */
    json_t *first = json_array_get(sp, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "start")), 5);
    assert_int_equal(json_integer_value(json_object_get(first, "end")), 13);
    assert_string_equal(json_string_value(json_object_get(first, "kind")), "date");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Café");
    assert_string_equal(json_string_value(json_object_get(j, "rrule")), "FREQ=DAILY");
    assert_string_equal(json_string_value(json_object_get(j, "recur_from")), "due");
    assert_string_equal(json_string_value(json_object_get(j, "priority")), "high");
    assert_true(json_is_array(json_object_get(j, "reminders")));
    json_decref(j);
    free(r);

    r = run(NULL, NULL, "Plain title");
    j = nl_result_json(r, "Plain title", 11);
    assert_true(json_is_null(json_object_get(j, "due")));
    assert_true(json_is_null(json_object_get(j, "rrule")));
    assert_true(json_is_null(json_object_get(j, "recur_from")));
    assert_int_equal(json_array_size(json_object_get(j, "spans")), 0);
    json_decref(j);
    free(r);
}

static void to_task_input(void **state)
{
    (void)state;
    struct nl_result *r = run(NULL, NULL, "Pay rent every month on the 1st at 9am #home p1");
    struct task_input in;
    memset(&in, 0, sizeof in);
    char due[20];
    const char *tagp[TASK_TAGS_MAX];
    nl_to_task_input(r, &in, due, tagp);
    struct task t;
    memset(&t, 0, sizeof t);
    t.user_id = 1;
    struct tock_error e = {0};
    int rc = task_apply(&t, &in, NY, &e);
    if (rc)
        fail_msg("task_apply: %s (%s)", e.message, e.field);
    assert_string_equal(t.title, "Pay rent");
    assert_string_equal(t.due_local, "2026-04-01T09:00");
    assert_int_equal(t.priority, PRIO_URGENT);
    assert_int_equal(t.ntags, 1);
    assert_string_equal(t.tags[0], "home");
    assert_string_equal(t.rrule, "FREQ=MONTHLY;BYMONTHDAY=1");
    task_release(&t);

    /* explicit fields are kept */
    memset(&in, 0, sizeof in);
    in.set = TI_TITLE | TI_PRIORITY;
    in.title = "Mine";
    in.priority = PRIO_LOW;
    nl_to_task_input(r, &in, due, tagp);
    assert_string_equal(in.title, "Mine");
    assert_int_equal(in.priority, PRIO_LOW);
    assert_true(in.set & TI_DUE);
    free(r);
}

static void bad_input(void **state)
{
    (void)state;
    struct nl_options o = {.zone = NY};
    time_parse_local(NOW, &o.now);
    struct nl_result *r = malloc(sizeof *r);
    struct tock_error e = {0};
    static const char *const bad[] = {
        "\xC0\x80",          /* overlong NUL */
        "ab\xED\xA0\x80",    /* surrogate */
        "tomorrow \xE2\x82", /* truncated */
        "\xF5\x80\x80\x80",  /* beyond U+10FFFF */
        "\x80 tomorrow",     /* lone continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(nl_parse(bad[i], strlen(bad[i]), &o, r, &e), TOCK_EINVAL);
        assert_string_equal(e.field, "text");
    }
    assert_int_equal(nl_parse("a\0b", 3, &o, r, &e), TOCK_EINVAL);
    char big[NL_TEXT_MAX + 2];
    memset(big, 'a', sizeof big);
    assert_int_equal(nl_parse(big, NL_TEXT_MAX + 1, &o, r, &e), TOCK_EINVAL);
    assert_int_equal(nl_parse(big, NL_TEXT_MAX, &o, r, &e), 0);
    assert_int_equal(strlen(r->title), NL_TEXT_MAX);
    o.now.year = 1800;
    assert_int_equal(nl_parse("x", 1, &o, r, &e), TOCK_EINVAL);
    assert_string_equal(e.field, "now");
    free(r);
    assert_true(nl_selfcheck());
}

/*
 * The work is linear: for adversarial inputs up to the size limit, the step
 * count stays under K per byte plus the constant of one recurrence search.
 */
#define K_PER_BYTE 64
#define K_CONST 4000

static void linear_work(void **state)
{
    (void)state;
    static const char *const units[] = {
        "every ",
        "on the ",
        "remind me 1 day and ",
        "mon, ",
        "\"",
        "\xE2\x80\x9C",
        "#a ",
        "1/",
        "in in 2 ",
        "p1 ",
        "every other ",
        "at 5:",
        "the 1st and ",
        "march ",
        "mon-",
        "next ",
        "for 5 ",
        "until ",
        "12 ",
        "! ",
        "every mon and ",
        "remind me at 5pm and ",
        "every month on the 1st and the ",
    };
    struct nl_options o = {.zone = NY};
    time_parse_local(NOW, &o.now);
    struct nl_result *r = malloc(sizeof *r);
    char buf[NL_TEXT_MAX + 1];
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        size_t ul = strlen(units[u]);
        uint64_t prev = 0;
        for (size_t len = 50; len <= NL_TEXT_MAX; len += 190) {
            size_t n = 0;
            while (n + ul <= len) {
                memcpy(buf + n, units[u], ul);
                n += ul;
            }
            struct tock_error e = {0};
            if (nl_parse(buf, n, &o, r, &e) != 0)
                fail_msg("unit %zu: %s", u, e.message);
            if (r->steps > K_PER_BYTE * n + K_CONST)
                fail_msg("unit '%s' x%zu bytes: %llu steps", units[u], n,
                         (unsigned long long)r->steps);
            assert_true(r->steps >= prev);
            prev = r->steps;
        }
    }
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relative_dates),
        cmocka_unit_test(weekdays_and_next),
        cmocka_unit_test(month_names_and_numeric),
        cmocka_unit_test(times),
        cmocka_unit_test(recurrence),
        cmocka_unit_test(priorities),
        cmocka_unit_test(tags),
        cmocka_unit_test(reminders),
        cmocka_unit_test(titles_and_quotes),
        cmocka_unit_test(dst_days),
        cmocka_unit_test(spans_and_json),
        cmocka_unit_test(to_task_input),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(linear_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
