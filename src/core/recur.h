/*
 * recur.h — recurrence rules: the API's two input forms (an RFC 5545 RRULE or the
 * friendly object) turned into one RRULE, and the "next occurrence" of a series.
 * Pure: no I/O (time zones from tz.h, RRULE expansion from libical). See
 * docs/recurrence.md for the rules as users see them.
 *
 * A series is anchored at its start (DTSTART): a local wall time in the task's
 * IANA zone, date-only ("YYYY-MM-DD") or with a time ("YYYY-MM-DDTHH:MM"). The rule
 * is expanded in floating local time from that start, so a said time stays the same
 * wall-clock time across DST changes; each candidate is then placed in the zone
 * (tz_local_to_utc: a time in a DST gap moves forward, an ambiguous one takes its
 * first occurrence).
 *
 * COUNT counts occurrences (tasks) of the series: occurrence n + 1 exists only if
 * n + 1 <= COUNT. UNTIL bounds the instances (a date: through that local day; a
 * UTC date-time: instants up to it; a floating date-time: local wall times up to it).
 */
#ifndef TOCK_CORE_RECUR_H
#define TOCK_CORE_RECUR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/timeutil.h"

/*
 * The search for a next instance stops (TOCK_ENOTFOUND, "no next") after this many
 * years past the point it must follow (plus the rule's own INTERVAL for YEARLY and
 * MONTHLY rules) or this many expanded instances: a rule that never matches
 * (BYMONTH=2;BYMONTHDAY=30) ends its series instead of looping.
 */
#define RECUR_SEARCH_YEARS 100
#define RECUR_SEARCH_MAX_INSTANCES 400000

/*
 * Reads the API's `recurrence` object (not null) into an RRULE and recur_from:
 *   {"rrule": "FREQ=...", "recur_from": "due"|"completion"}  or the friendly form
 *   {"frequency": "daily"|"weekly"|"monthly"|"yearly", "interval": 1..1000,
 *    "weekdays": ["mo", "2mo", "-1fr", ...], "month_day": -31..31 or a list,
 *    "month": 1..12 or a list, "set_position": -366..366 or a list,
 *    "count": 1..100000, "until": "YYYY-MM-DD", "recur_from": ...}.
 * The friendly form is written out as one RRULE (FREQ;INTERVAL;BYMONTH;BYMONTHDAY;
 * BYDAY;BYSETPOS;COUNT;UNTIL, parts omitted when absent, INTERVAL when 1).
 * rrule receives the rule (NUL-terminated, at most cap - 1 bytes; cap >= 64); an
 * rrule form's text is copied as given (task_apply validates it). recur_from
 * defaults to RECUR_DUE. Errors: TOCK_EINVAL with e->field "recurrence.<member>".
 */
int recur_parse_json(json_t *rec, char *rrule, size_t cap, int *recur_from,
                     struct tock_error *e);

/* COUNT of a valid rule, 0 when it has none. */
long recur_rule_count(const char *rrule);

/*
 * The first instance of `rrule` anchored at `start` (local wall time in `zone`;
 * start.has_time tells a date-only series) that comes strictly after a point:
 * date-only series: whose date is after `after_date` (its time fields ignored);
 * timed series: whose moment is after `after_ms`. UNTIL is honoured; COUNT is not
 * (see recur_next_due). *out is the instance's local wall time as the rule gives it
 * (a time in a DST gap is not moved here). TOCK_ENOTFOUND: no such instance (the
 * rule ended or nothing within the search bound); TOCK_EINVAL: bad rule or zone.
 */
int recur_next_after(const char *rrule, const struct local_dt *start, const char *zone,
                     const struct local_dt *after_date, int64_t after_ms, struct local_dt *out);

/* What the next occurrence of a completed one depends on. */
struct recur_req {
    const char *rrule;    /* validated RRULE */
    int recur_from;       /* RECUR_DUE / RECUR_COMPLETION (task.h) */
    const char *zone;     /* the task's IANA zone */
    struct local_dt start;    /* the series start (DTSTART) */
    struct local_dt due;      /* the completed occurrence's local due */
    int64_t due_ms;           /* its due moment */
    int64_t occurrence;       /* its occurrence number (1-based) */
    int64_t completed_ms;     /* when it was completed */
    int64_t now_ms;
};

/*
 * The due of occurrence q->occurrence + 1, or TOCK_ENOTFOUND when the series ends
 * (COUNT reached, UNTIL passed, nothing within the search bound).
 * recur_from due: the first instance strictly after both the completed due and now
 * (date-only: strictly after that date and after today in the zone).
 * recur_from completion: the rule re-anchored at the completion's local date with the
 * series' time of day; the first instance strictly after that point.
 */
int recur_next_due(const struct recur_req *q, struct local_dt *out);

#endif
