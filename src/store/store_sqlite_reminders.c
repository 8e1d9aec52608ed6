/*
 * store_sqlite_reminders.c — the SQLite backend's reminder ops, including the
 * scheduler's claim. SQLite has a single writer (the claim runs in a write unit,
 * which holds the write lock), so "claim" is a plain select-then-update: no other
 * transaction can take the same rows in between. Part of store_sqlite_ops; see
 * store.h for the contracts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite_int.h"

#define REM_COLS                                                                               \
    "id, user_id, task_id, kind, offset_minutes, at_ms, fire_at, state, fired_at, late, "     \
    "snoozes, created_at, updated_at"

static void read_row(sqlite3_stmt *st, int k, struct reminder *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, k + 0);
    r->user_id = sqlite3_column_int64(st, k + 1);
    r->task_id = sqlite3_column_int64(st, k + 2);
    r->kind = reminder_kind_parse(sq_col_text(st, k + 3));
    if (r->kind < 0)
        r->kind = REMINDER_OFFSET;
    r->offset_minutes = sqlite3_column_int64(st, k + 4);
    r->at_ms = sqlite3_column_int64(st, k + 5);
    r->fire_at = sqlite3_column_int64(st, k + 6);
    r->state = reminder_state_parse(sq_col_text(st, k + 7));
    if (r->state < 0)
        r->state = REMINDER_CANCELLED;
    r->fired_at = sqlite3_column_int64(st, k + 8);
    r->late = sqlite3_column_int64(st, k + 9) != 0;
    r->snoozes = sqlite3_column_int64(st, k + 10);
    r->created_at = sqlite3_column_int64(st, k + 11);
    r->updated_at = sqlite3_column_int64(st, k + 12);
}

static int read_rows(struct sq_conn *c, sqlite3_stmt *st, struct reminder **out, size_t *n,
                     const char *what)
{
    struct reminder *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct reminder *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv) {
            sqlite3_reset(st);
            free(v);
            return TOCK_ENOMEM;
        }
        v = nv;
        read_row(st, 0, &v[m++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return sq_err(c, rc, what);
    }
    *out = v;
    *n = m;
    return 0;
}

int sq_reminder_insert(struct store_conn *base, struct reminder *r)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO reminders (user_id, task_id, kind, "
                                  "offset_minutes, at_ms, fire_at, state, fired_at, late, "
                                  "snoozes, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, r->user_id);
    sqlite3_bind_int64(st, 2, r->task_id);
    sq_bind_text(st, 3, reminder_kind_name(r->kind));
    sq_bind_i64_or_null(st, 4, r->offset_minutes, r->kind == REMINDER_OFFSET);
    sq_bind_i64_or_null(st, 5, r->at_ms, r->kind == REMINDER_AT);
    sq_bind_i64_or_null(st, 6, r->fire_at, r->fire_at != 0);
    sq_bind_text(st, 7, reminder_state_name(r->state));
    sq_bind_i64_or_null(st, 8, r->fired_at, r->fired_at != 0);
    sqlite3_bind_int(st, 9, r->late ? 1 : 0);
    sqlite3_bind_int64(st, 10, r->snoozes);
    sqlite3_bind_int64(st, 11, r->created_at);
    sqlite3_bind_int64(st, 12, r->updated_at);
    int rc = sq_exec_stmt(c, st, "reminder_insert");
    if (!rc)
        r->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int sq_reminder_get(struct store_conn *base, int64_t user_id, int64_t id, struct reminder *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "SELECT " REM_COLS " FROM reminders WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    struct reminder *v = NULL;
    size_t n = 0;
    int rc = read_rows(c, st, &v, &n, "reminder_get");
    if (rc)
        return rc;
    if (n == 0) {
        free(v);
        return TOCK_ENOTFOUND;
    }
    *out = v[0];
    free(v);
    return 0;
}

int sq_reminder_update(struct store_conn *base, const struct reminder *r)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "UPDATE reminders SET fire_at = ?3, state = ?4, fired_at = ?5, "
                                  "late = ?6, snoozes = ?7, updated_at = ?8 WHERE id = ?1 AND "
                                  "user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_int64(st, 2, r->user_id);
    sq_bind_i64_or_null(st, 3, r->fire_at, r->fire_at != 0);
    sq_bind_text(st, 4, reminder_state_name(r->state));
    sq_bind_i64_or_null(st, 5, r->fired_at, r->fired_at != 0);
    sqlite3_bind_int(st, 6, r->late ? 1 : 0);
    sqlite3_bind_int64(st, 7, r->snoozes);
    sqlite3_bind_int64(st, 8, r->updated_at);
    int rc = sq_exec_stmt(c, st, "reminder_update");
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = TOCK_ENOTFOUND;
    return rc;
}

int sq_reminder_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM reminders WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sq_exec_stmt(c, st, "reminder_delete");
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = TOCK_ENOTFOUND;
    return rc;
}

int sq_reminder_list_task(struct store_conn *base, int64_t user_id, int64_t task_id,
                          struct reminder **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " REM_COLS " FROM reminders WHERE task_id = ?1 AND "
                                  "user_id = ?2 ORDER BY fire_at IS NULL, fire_at, id");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, task_id);
    sqlite3_bind_int64(st, 2, user_id);
    return read_rows(c, st, out, n, "reminder_list_task");
}

int sq_reminder_list_user(struct store_conn *base, int64_t user_id, int64_t from, int64_t to,
                          int limit, struct reminder **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT r.id, r.user_id, r.task_id, r.kind, r.offset_minutes, "
                                  "r.at_ms, r.fire_at, r.state, r.fired_at, r.late, r.snoozes, "
                                  "r.created_at, r.updated_at FROM reminders r JOIN tasks t ON "
                                  "t.id = r.task_id WHERE r.user_id = ?1 AND r.state = 'pending' "
                                  "AND r.fire_at >= ?2 AND r.fire_at < ?3 AND t.deleted_at IS "
                                  "NULL ORDER BY r.fire_at, r.id LIMIT ?4");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int(st, 4, limit);
    return read_rows(c, st, out, n, "reminder_list_user");
}

int sq_reminder_cancel_task(struct store_conn *base, int64_t task_id, int64_t now, int64_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "UPDATE reminders SET state = 'cancelled', updated_at = ?2 "
                                  "WHERE task_id = ?1 AND state = 'pending'");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, task_id);
    sqlite3_bind_int64(st, 2, now);
    int rc = sq_exec_stmt(c, st, "reminder_cancel_task");
    if (!rc && n)
        *n = sqlite3_changes(c->db);
    return rc;
}

int sq_reminder_next(struct store_conn *base, int64_t *fire_at)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT min(fire_at) FROM reminders WHERE state = 'pending' "
                                  "AND fire_at IS NOT NULL");
    if (!st)
        return TOCK_ESTORE;
    int rc = sqlite3_step(st);
    *fire_at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_err(c, rc, "reminder_next");
}

int sq_reminder_claim_due(struct store_conn *base, int64_t now, int limit, int64_t late_ms,
                          struct reminder_fire **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "SELECT r.id, r.user_id, r.task_id, r.kind, r.offset_minutes, r.at_ms, r.fire_at, "
           "r.state, r.fired_at, r.late, r.snoozes, r.created_at, r.updated_at, t.title, "
           "t.due_at, t.due_local, t.due_has_time, t.timezone FROM reminders r JOIN tasks t ON "
           "t.id = r.task_id WHERE r.state = 'pending' AND r.fire_at <= ?1 ORDER BY r.fire_at, "
           "r.id LIMIT ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    struct reminder_fire *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct reminder_fire *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv)
            goto oom;
        v = nv;
        struct reminder_fire *f = &v[m];
        memset(f, 0, sizeof *f);
        read_row(st, 0, &f->r);
        f->title = strdup(sq_col_text(st, 13));
        m++;
        if (!f->title)
            goto oom;
        f->has_due = sqlite3_column_type(st, 14) != SQLITE_NULL;
        f->due_at = sqlite3_column_int64(st, 14);
        snprintf(f->due_local, sizeof f->due_local, "%s", sq_col_text(st, 15));
        f->due_has_time = sqlite3_column_int64(st, 16) != 0;
        snprintf(f->timezone, sizeof f->timezone, "%s", sq_col_text(st, 17));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        reminder_fires_free(v, m);
        return sq_err(c, rc, "reminder_claim_due");
    }
    for (size_t i = 0; i < m; i++) {
        struct reminder *r = &v[i].r;
        r->state = REMINDER_FIRED;
        r->fired_at = now;
        r->late = now - r->fire_at > late_ms;
        r->updated_at = now;
        if ((rc = sq_reminder_update(base, r))) {
            reminder_fires_free(v, m);
            return rc;
        }
    }
    *out = v;
    *n = m;
    return 0;
oom:
    sqlite3_reset(st);
    reminder_fires_free(v, m);
    return TOCK_ENOMEM;
}
