/*
 * store_sqlite_audit.c — the SQLite backend's consumer bookkeeping
 * (processed_events) and audit log ops. Part of store_sqlite_ops; see store.h for
 * the contracts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite_int.h"

int sq_processed_mark(struct store_conn *base, const char *consumer, const char *event_id,
                      int64_t now)
{
    struct sq_conn *c = sq_active(base);
    /* DO NOTHING + changes(): a duplicate is an answer, not an error. */
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO processed_events (consumer, event_id, "
                                  "processed_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, consumer);
    sq_bind_text(st, 2, event_id);
    sqlite3_bind_int64(st, 3, now);
    int rc = sq_exec_stmt(c, st, "processed_mark");
    if (rc)
        return rc;
    return sqlite3_changes(c->db) == 1 ? 0 : TOCK_ECONFLICT;
}

int sq_audit_append(struct store_conn *base, struct audit_row *r)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO audit_log (event_id, type, user_id, task_id, "
                                  "time, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                                  "?7) ON CONFLICT (event_id) DO NOTHING");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, r->event_id);
    sq_bind_text(st, 2, r->type);
    sqlite3_bind_int64(st, 3, r->user_id);
    sq_bind_i64_or_null(st, 4, r->task_id, r->task_id != 0);
    sqlite3_bind_int64(st, 5, r->time);
    sq_bind_text(st, 6, r->payload);
    sqlite3_bind_int64(st, 7, r->created_at);
    int rc = sq_exec_stmt(c, st, "audit_append");
    if (!rc)
        r->id = sqlite3_changes(c->db) == 1 ? sqlite3_last_insert_rowid(c->db) : 0;
    return rc;
}

int sq_audit_list(struct store_conn *base, int64_t user_id, const struct audit_query *q,
                  struct audit_row **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    /* One statement for every combination: absent filters bind NULL and drop out. */
    sqlite3_stmt *st = sq_stmt(
        c, "SELECT id, event_id, type, user_id, task_id, time, payload, created_at "
           "FROM audit_log WHERE user_id = ?1 AND (?2 IS NULL OR type = ?2) AND "
           "(?3 IS NULL OR task_id = ?3) AND (?4 IS NULL OR time >= ?4) AND "
           "(?5 IS NULL OR time <= ?5) AND (?6 IS NULL OR time < ?6 OR (time = ?6 AND "
           "id < ?7)) ORDER BY time DESC, id DESC LIMIT ?8");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sq_bind_text(st, 2, q->type[0] ? q->type : NULL);
    sq_bind_i64_or_null(st, 3, q->task_id, q->task_id != 0);
    sq_bind_i64_or_null(st, 4, q->from, q->has_from);
    sq_bind_i64_or_null(st, 5, q->to, q->has_to);
    sq_bind_i64_or_null(st, 6, q->after_time, q->has_cursor);
    sqlite3_bind_int64(st, 7, q->after_id);
    sqlite3_bind_int(st, 8, q->limit + 1);
    struct audit_row *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct audit_row *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv)
            goto oom;
        v = nv;
        struct audit_row *r = &v[m];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        snprintf(r->event_id, sizeof r->event_id, "%s", sq_col_text(st, 1));
        snprintf(r->type, sizeof r->type, "%s", sq_col_text(st, 2));
        r->user_id = sqlite3_column_int64(st, 3);
        r->task_id = sqlite3_column_int64(st, 4);
        r->time = sqlite3_column_int64(st, 5);
        r->payload = strdup(sq_col_text(st, 6));
        r->created_at = sqlite3_column_int64(st, 7);
        m++;
        if (!r->payload)
            goto oom;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        audit_rows_free(v, m);
        return sq_err(c, rc, "audit_list");
    }
    *out = v;
    *n = m;
    return 0;
oom:
    sqlite3_reset(st);
    audit_rows_free(v, m);
    return TOCK_ENOMEM;
}

int sq_audit_prune(struct store_conn *base, int64_t before, int limit, int64_t *deleted)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
                                  "WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int(st, 2, limit);
    int rc = sq_exec_stmt(c, st, "audit_prune");
    if (!rc)
        *deleted = sqlite3_changes(c->db);
    return rc;
}
