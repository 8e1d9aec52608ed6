/*
 * store_sqlite_sync.c — the SQLite backend's ops for real-time sync
 * (roles/sync.c): event id -> outbox seq, a user's task-updates rows after a
 * cursor, and the bounds that decide whether a cursor can still be resumed.
 * Part of store_sqlite_ops; see store.h for the contracts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite_int.h"

int sq_outbox_seq_of(struct store_conn *base, const char *event_id, int64_t *seq)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT id FROM outbox WHERE event_id = ?1 ORDER BY id LIMIT 1");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, event_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "outbox_seq_of");
    }
    *seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int sq_sync_rows(struct store_conn *base, int64_t user_id, int64_t after, int limit,
                 struct outbox_row **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT id, type, event_id, event_json FROM outbox WHERE "
                                  "user_id = ?1 AND id > ?2 AND topic = 'task-updates' "
                                  "ORDER BY id LIMIT ?3");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, limit);
    struct outbox_row *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct outbox_row *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv)
            break;
        v = nv;
        struct outbox_row *r = &v[m];
        memset(r, 0, sizeof *r);
        r->seq = sqlite3_column_int64(st, 0);
        snprintf(r->type, sizeof r->type, "%s", sq_col_text(st, 1));
        snprintf(r->event_id, sizeof r->event_id, "%s", sq_col_text(st, 2));
        snprintf(r->topic, sizeof r->topic, "task-updates");
        r->user_id = user_id;
        r->event_json = strdup(sq_col_text(st, 3));
        m++;
        if (!r->event_json) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        outbox_rows_free(v, m);
        return rc == SQLITE_ROW || rc == SQLITE_NOMEM ? TOCK_ENOMEM : sq_err(c, rc, "sync_rows");
    }
    *out = v;
    *n = m;
    return 0;
}

static int one_i64(struct sq_conn *c, const char *sql, int64_t arg, bool bind, int64_t *out)
{
    sqlite3_stmt *st = sq_stmt(c, sql);
    if (!st)
        return TOCK_ESTORE;
    if (bind)
        sqlite3_bind_int64(st, 1, arg);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_err(c, rc, "sync_bounds");
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int sq_sync_bounds(struct store_conn *base, int64_t user_id, int64_t *user_max, int64_t *oldest,
                   int64_t *hwm)
{
    struct sq_conn *c = sq_active(base);
    int rc = one_i64(c, "SELECT coalesce(max(id), 0) FROM outbox WHERE user_id = ?1", user_id,
                     true, user_max);
    if (!rc)
        rc = one_i64(c, "SELECT coalesce(min(id), 0) FROM outbox", 0, false, oldest);
    if (!rc)
        rc = one_i64(c, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
                        "'outbox'), 0)",
                     0, false, hwm);
    return rc;
}
