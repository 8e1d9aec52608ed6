/*
 * nl.h — the quick-add language: one line of text -> a task (title, due,
 * priority, tags, recurrence, reminders) and the spans of text that produced
 * each field. The conventions are in docs/assistant.md ("Quick-add language").
 *
 * Pure and deterministic: no I/O, no globals with mutable state, thread-safe.
 * The same text, `now` and zone always give the same result. Zone arithmetic
 * (only for "in 2 hours" and the UNTIL of a timed recurrence) goes through
 * tz.h. The work is linear in the input: every token look-up counts one step
 * (nl_result.steps), every matcher looks at a bounded number of tokens, and the
 * first-occurrence search of a recurrence is bounded by a constant.
 */
#ifndef TOCK_CORE_NL_H
#define TOCK_CORE_NL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/task.h"
#include "core/timeutil.h"

/* Longest accepted text in bytes (the API answers 400 on longer ones). */
#define NL_TEXT_MAX 1000
#define NL_REMINDERS_MAX 8
#define NL_RRULE_MAX 192
/* A phrase spans at least one token and tokens are at least one byte. */
#define NL_SPANS_MAX NL_TEXT_MAX

enum nl_span_kind {
    NL_SPAN_DATE = 0,
    NL_SPAN_TIME,
    NL_SPAN_RECURRENCE,
    NL_SPAN_PRIORITY,
    NL_SPAN_TAG,
    NL_SPAN_REMINDER,
    NL_SPAN_COMMAND, /* a leading "add", "todo:", ... */
};

struct nl_span {
    uint16_t start, end; /* byte offsets into the text, end exclusive */
    uint8_t kind;        /* enum nl_span_kind */
};

struct nl_reminder {
    bool is_at;         /* true: absolute `at`; false: `offset_minutes` before due */
    int offset_minutes; /* >= 0 */
    struct local_dt at; /* local wall time in the parse zone (has_time) */
};

struct nl_result {
    char title[NL_TEXT_MAX + 1]; /* may be "" */
    bool has_due;
    struct local_dt due;                        /* local wall time; has_time false = a date */
    int priority;                               /* enum task_priority */
    char tags[TASK_TAGS_MAX][TAG_NAME_MAX + 1]; /* lower-case, unique, in order */
    size_t ntags;
    bool has_rrule;
    char rrule[NL_RRULE_MAX]; /* RFC 5545 RRULE value (no "RRULE:") */
    int recur_from;           /* enum recur_from; meaningful with has_rrule */
    struct nl_reminder reminders[NL_REMINDERS_MAX];
    size_t nreminders;
    struct nl_span spans[NL_SPANS_MAX]; /* in text order, non-overlapping */
    size_t nspans;
    uint64_t steps; /* work done, for the linear-time property */
};

struct nl_options {
    struct local_dt now; /* local wall time in zone (has_time true) */
    const char *zone;    /* a valid IANA zone (callers check it with tz_valid) */
};

/*
 * Parses text[0..len). Errors (TOCK_EINVAL, field "text"): longer than
 * NL_TEXT_MAX, not UTF-8, or contains NUL; (field "now") now out of the
 * supported years; TOCK_ENOMEM. `out` is always initialised.
 */
int nl_parse(const char *text, size_t len, const struct nl_options *opt, struct nl_result *out,
             struct tock_error *e);

const char *nl_span_kind_name(int kind);

/*
 * The JSON of a parse as the API returns it (docs/assistant.md): title, due,
 * priority, tags, rrule, recur_from, reminders, spans. Span offsets are in
 * Unicode characters (code points) of text. New reference, NULL on ENOMEM.
 */
json_t *nl_result_json(const struct nl_result *r, const char *text, size_t len);

/*
 * The one conversion of a parse into a task create request: fills the members
 * of `in` that are not already set (explicit fields win), borrowing strings from
 * r and `due_buf` (>= 20 bytes). tag_ptrs must hold TASK_TAGS_MAX pointers.
 * Reminders are not part of task_input; they are returned to the client only.
 */
void nl_to_task_input(const struct nl_result *r, struct task_input *in, char *due_buf,
                      const char **tag_ptrs);

/* Checks the keyword table is sorted (for the unit tests). */
bool nl_selfcheck(void);

#endif
