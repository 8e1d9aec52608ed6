/*
 * audit.h — the audit log's model and its query: one row per consumed event
 * (append-only), and the validated parameters of GET /api/v1/audit with its
 * keyset cursor (newest first: time DESC, id DESC). Pure: no I/O. The store runs
 * the query; the audit role writes the rows.
 *
 * Ownership: struct audit_row owns its strings (audit_rows_free).
 */
#ifndef TOCK_CORE_AUDIT_H
#define TOCK_CORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/filter.h"

#define AUDIT_LIMIT_MAX 200
#define AUDIT_LIMIT_DEFAULT 50

struct audit_row {
    int64_t id;
    char event_id[64];
    char type[48];
    int64_t user_id, task_id; /* task_id 0: none */
    int64_t time;             /* the event's time, ms UTC */
    char *payload;            /* owned: the whole CloudEvent JSON */
    int64_t created_at;
};

void audit_rows_free(struct audit_row *rows, size_t n);

struct audit_query {
    char type[48];  /* "" = any */
    int64_t task_id; /* 0 = any */
    bool has_from, has_to;
    int64_t from, to; /* inclusive, ms UTC */
    int limit;
    bool has_cursor;
    int64_t after_time, after_id; /* rows strictly before (time, id) in DESC order */
};

/* True for the event types the audit log knows (the types of every topic). */
bool audit_type_known(const char *type);
/*
 * Builds a query from query parameters (unknown or repeated ones are errors; e
 * names the parameter). Local dates in from/to are read in user_tz, `to` with a
 * date covering the whole day.
 */
int audit_query_parse(struct audit_query *q, const struct qparam *params, size_t n,
                      const char *user_tz, struct tock_error *e);
/* The cursor after row `last` (caller frees). NULL on out-of-memory. */
char *audit_cursor_encode(const struct audit_row *last);

#endif
