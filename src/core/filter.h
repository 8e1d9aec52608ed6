/*
 * filter.h — the task list query: filters, multi-key sort and the keyset cursor.
 * Parsed and validated here from plain strings (the API layer hands over query
 * parameters); executed by the store. Pure: no I/O.
 *
 * Ownership: a struct task_filter owns its strings; release with filter_release().
 */
#ifndef TOCK_CORE_FILTER_H
#define TOCK_CORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/task.h"

enum sort_field { SORT_PRIORITY, SORT_DUE_AT, SORT_CREATED_AT, SORT_UPDATED_AT, SORT_TITLE, SORT_RANK };

#define FILTER_SORT_MAX 6
#define FILTER_Q_MAX 500
#define FILTER_LIMIT_MAX 200
#define FILTER_LIMIT_DEFAULT 50

struct sort_key {
    int field;
    bool desc;
};

/* One value of a sort key, as carried in a cursor. */
struct sort_val {
    int64_t i;  /* priority, due_at (with the no-due sentinel), created_at, updated_at */
    double d;   /* rank */
    char *s;    /* title (lower-cased) */
};

/* Sentinels that put tasks without a due date last in either direction. */
#define DUE_NONE_ASC INT64_C(9223372036854775807)
#define DUE_NONE_DESC (-INT64_C(9223372036854775807))

struct task_filter {
    char *q;          /* NULL: no search */
    char *fts_query;  /* the FTS match expression built from q (store-neutral tokens) */
    char **q_terms;   /* the words of q, the last one matched as a prefix */
    size_t nq_terms;
    bool q_last_prefix;
    unsigned status_mask, priority_mask; /* bit per enum value; 0 = any */
    char **tags;
    size_t ntags;
    bool tag_any;
    bool has_due_before, has_due_after;
    int64_t due_before, due_after; /* inclusive, ms UTC */
    int overdue, has_due, recurring; /* -1 any, 0 false, 1 true */
    int64_t series_id;               /* 0: any */
    struct sort_key sort[FILTER_SORT_MAX + 1]; /* + id tie-breaker appended by the store */
    size_t nsort;
    int limit;
    bool has_cursor;
    struct sort_val after[FILTER_SORT_MAX];
    int64_t after_id;
    int64_t now; /* for overdue */
    char sort_spec[128]; /* canonical text of the sort, bound into the cursor */
};

/* A query parameter: name and value (both NUL-terminated, borrowed). */
struct qparam {
    const char *name, *value;
};

/*
 * Builds a filter from query parameters. `user_tz` reads local dates. On error,
 * e names the parameter. The filter must be released even on error.
 */
int filter_parse(struct task_filter *f, const struct qparam *params, size_t n,
                 const char *user_tz, int64_t now, struct tock_error *e);
void filter_release(struct task_filter *f);
/*
 * A time bound as the due filters read it: local date (a whole day: an upper
 * bound ends at its last millisecond), local date-time (in tz) or RFC 3339.
 */
int filter_bound_parse(const char *v, const char *tz, bool upper, int64_t *out);

/* The sort value of key k for task t (rank given separately). s is borrowed from t. */
void filter_sort_value(const struct sort_key *k, const struct task *t, double rank,
                       struct sort_val *out);
/* Encodes the cursor after the given last row; returns a new string (free()). */
char *filter_cursor_encode(const struct task_filter *f, const struct task *last, double rank);

#endif
