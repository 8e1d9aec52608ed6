/*
 * store_sqlite_recur.c — the SQLite backend's recurrence op: whether a series
 * already has a given occurrence. Part of store_sqlite_ops; see store.h.
 */
#include "core/err.h"
#include "store/sqlite_int.h"

int sq_task_occurrence_exists(struct store_conn *base, int64_t user_id, int64_t series_id,
                              int64_t occurrence, bool *exists)
{
    struct sq_conn *c = sq_active(base);
    /* Deleted rows count: they still hold their (series_id, occurrence) key. */
    sqlite3_stmt *st = sq_stmt(c, "SELECT 1 FROM tasks WHERE series_id = ?1 AND occurrence = ?2 "
                                  "AND user_id = ?3");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, occurrence);
    sqlite3_bind_int64(st, 3, user_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_err(c, rc, "task_occurrence_exists");
    *exists = rc == SQLITE_ROW;
    return 0;
}
