/*
 * reminder.h — the reminder model and its rules (pure: no I/O, no SQL): kinds and
 * states, the limits, when a reminder fires for a given task due, and the
 * quiet-hours arithmetic the notifier uses. The store keeps the rows; the service
 * (service/reminders.c) applies these rules inside its transactions.
 */
#ifndef TOCK_CORE_REMINDER_H
#define TOCK_CORE_REMINDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/task.h"

enum reminder_kind { REMINDER_OFFSET = 0, REMINDER_AT = 1 };
enum reminder_state { REMINDER_PENDING = 0, REMINDER_FIRED = 1, REMINDER_CANCELLED = 2 };

#define REMINDERS_PER_TASK_MAX 20
#define REMINDER_OFFSET_MAX_MINUTES 525600 /* one year before the due */
#define REMINDER_SNOOZE_MAX_MINUTES 10080  /* one week */
/* A date-only due is reminded relative to this local time. */
#define REMINDER_DATE_ONLY_HOUR 9

struct reminder {
    int64_t id, user_id, task_id;
    int kind;               /* REMINDER_OFFSET / REMINDER_AT */
    int64_t offset_minutes; /* kind offset */
    int64_t at_ms;          /* kind at */
    int64_t fire_at;        /* next firing, ms UTC; 0: none (offset without a due) */
    int state;              /* REMINDER_* */
    int64_t fired_at;       /* 0: never fired */
    bool late;              /* fired more than the lateness threshold after fire_at */
    int64_t snoozes;
    int64_t created_at, updated_at;
};

/* A reminder the scheduler claimed, with what its event needs from the task. */
struct reminder_fire {
    struct reminder r;
    char *title; /* owned */
    bool has_due, due_has_time;
    int64_t due_at;
    char due_local[20];
    char timezone[TZ_NAME_MAX];
};

void reminder_fires_free(struct reminder_fire *v, size_t n);

/* What a client asks for: an offset before the due, or an absolute time. */
struct reminder_input {
    bool is_offset;
    int64_t offset_minutes;
    const char *at; /* borrowed: "YYYY-MM-DDTHH:MM" (local) or RFC 3339 */
};

const char *reminder_kind_name(int kind);
const char *reminder_state_name(int state);
int reminder_kind_parse(const char *s);  /* -1 if unknown */
int reminder_state_parse(const char *s); /* -1 if unknown */

/*
 * The moment offset reminders count back from: the due moment of a timed due,
 * 09:00 local on the due day of a date-only one. *ms = 0 when t has no due.
 */
int reminder_anchor(const struct task *t, int64_t *ms);

/*
 * Builds a new reminder of task t from in (validating it; e names the field,
 * prefixed by `field`): fire_at from the task's due for offsets, at_ms parsed in
 * the task's zone for absolute ones. An absolute time must lie after now.
 */
int reminder_from_input(struct reminder *r, const struct reminder_input *in,
                        const struct task *t, int64_t now, const char *field,
                        struct tock_error *e);

/* Parses "HH:MM" into minutes after midnight; -1 if malformed. */
int reminder_hhmm_parse(const char *s);

/*
 * Quiet hours [start, end) in minutes after local midnight (start > end wraps over
 * midnight; start == end means none). If `at` falls inside them in zone, *release
 * is the end of that window (ms UTC); otherwise *release = at.
 */
int quiet_release(const char *zone, int start_min, int end_min, int64_t at, int64_t *release);

#endif
