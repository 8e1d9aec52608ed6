/*
 * task.h — the task model and its rules: enums, validation of every
 * user-supplied field, applying a partial update, and the JSON shape clients and
 * events see. Pure: no I/O, no SQL (time zones come from tz.h).
 *
 * Ownership: a struct task owns its strings; release with task_release().
 */
#ifndef TOCK_CORE_TASK_H
#define TOCK_CORE_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/tz.h"

enum task_status { TASK_TODO = 0, TASK_IN_PROGRESS = 1, TASK_DONE = 2 };
enum task_priority { PRIO_NONE = 0, PRIO_LOW, PRIO_MEDIUM, PRIO_HIGH, PRIO_URGENT };
enum recur_from { RECUR_DUE = 0, RECUR_COMPLETION = 1 };

#define TASK_TITLE_MAX 500
#define TASK_DESC_MAX 20000
#define TASK_TAGS_MAX 50
#define TAG_NAME_MAX 64
#define RRULE_MAX 1000

struct task {
    int64_t id, user_id;
    char *title;       /* never NULL once valid */
    char *description; /* never NULL ("" when empty) */
    int status, priority;
    char **tags; /* lower-case, sorted, unique */
    size_t ntags;
    bool has_due, due_has_time;
    char due_local[20]; /* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" when has_due */
    int64_t due_at;     /* ms UTC of the due moment (date-only: 23:59:59 local) */
    char timezone[TZ_NAME_MAX];
    char *rrule; /* NULL: not recurring */
    int recur_from;
    int64_t series_id, occurrence;
    int64_t created_at, updated_at;
    int64_t completed_at; /* 0: not completed */
    int64_t deleted_at;   /* 0: live */
    int64_t version;
    /* ---- recurrence ---- */
    /*
     * The series start (DTSTART) the rule is anchored at: the local due as given
     * ("" when not recurring; then due_local is the start). Set by task_apply when a
     * rule is first set or changed, or the due changes; copied to next occurrences.
     * Internal: not part of the task JSON.
     */
    char series_start[20];
};

void task_release(struct task *t);
/* Deep copy into dst (which is overwritten, not released). */
int task_copy(struct task *dst, const struct task *src);

const char *task_status_name(int s);
const char *task_priority_name(int p);
int task_status_parse(const char *s);   /* -1 if unknown */
int task_priority_parse(const char *s); /* -1 if unknown */

/* Fields of a create/update request, already typed by the API layer. */
enum {
    TI_TITLE = 1 << 0,
    TI_DESC = 1 << 1,
    TI_STATUS = 1 << 2,
    TI_PRIORITY = 1 << 3,
    TI_TAGS = 1 << 4,
    TI_DUE = 1 << 5,
    TI_TZ = 1 << 6,
    TI_RECUR = 1 << 7,
};

struct reminder_input;

struct task_input {
    unsigned set;             /* TI_* bits of the fields present */
    const char *title;        /* borrowed */
    const char *description;  /* NULL: clear */
    int status, priority;     /* already parsed enums */
    const char *const *tags;  /* borrowed array, ntags entries */
    size_t ntags;
    const char *due;          /* NULL: clear */
    const char *timezone;
    const char *rrule;        /* NULL: clear recurrence */
    int recur_from;
    /* ---- reminders (applied by the service, not by task_apply) ---- */
    bool reminders_set;                     /* "reminders" given: replace the task's */
    const struct reminder_input *reminders; /* borrowed, nreminders entries */
    size_t nreminders;
};

/*
 * Applies `in` to `t` (a new task is a zeroed struct with user_id set), validating
 * every field; `user_tz` is the default zone. On error t may be partly changed
 * (callers work on a copy) and e names the field.
 */
int task_apply(struct task *t, const struct task_input *in, const char *user_tz,
               struct tock_error *e);

/* Validation helpers shared with other modules. */
int text_check(const char *s, size_t min_chars, size_t max_chars, bool allow_newlines);
int tag_name_normalize(const char *in, char out[TAG_NAME_MAX + 1]);
int rrule_validate(const char *rrule);
/* Parses a due ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM", or RFC 3339 at :00 seconds). */
int due_parse(const char *s, const char *zone, struct local_dt *out);
/* The due moment of a local due in zone (date-only: 23:59:59 local). */
int due_moment(const struct local_dt *lt, const char *zone, int64_t *ms);

bool task_overdue(const struct task *t, int64_t now_ms);

/* The API/event JSON of a task; new reference. */
json_t *task_to_json(const struct task *t, int64_t now_ms);
/*
 * Appends the same JSON as task_to_json, written directly (the hot path of every
 * task response). Returns 0 or TOCK_ENOMEM/TOCK_ELIMIT from the buf.
 */
struct buf;
int task_write_json(struct buf *out, const struct task *t, int64_t now_ms);
/*
 * {"field":{"before":..,"after":..},...} for the fields that differ; new reference,
 * an empty object when nothing changed.
 */
json_t *task_diff_json(const struct task *before, const struct task *after, int64_t now_ms);

/*
 * The stores keep a task's tag names as one text column, sorted and comma-joined
 * (tag names never contain a comma). task_tags_join builds it (caller frees);
 * task_tags_parse fills t->tags from it, sorted whatever order it arrives in.
 */
char *task_tags_join(const struct task *t);
int task_tags_parse(struct task *t, const char *text);

/* Writes the decimal id as a string (ids are opaque strings on the wire). */
void id_str(int64_t id, char out[24]);
/* Parses an id from a path segment; 0 if not a valid id. */
int64_t id_parse(const char *s);

#endif
