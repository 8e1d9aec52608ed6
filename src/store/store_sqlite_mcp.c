/*
 * store_sqlite_mcp.c — the SQLite backend's MCP session ops (table
 * mcp_sessions, migration 0007). Part of store_sqlite_ops; see store.h.
 */
#include <stdio.h>

#include "core/err.h"
#include "store/sqlite_int.h"

int sq_mcp_session_insert(struct store_conn *base, const struct mcp_session_row *r)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO mcp_sessions (id_hash, user_id, protocol_version, "
                                  "created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, r->id_hash);
    sqlite3_bind_int64(st, 2, r->user_id);
    sq_bind_text(st, 3, r->protocol_version);
    sqlite3_bind_int64(st, 4, r->created_at);
    sqlite3_bind_int64(st, 5, r->last_used_at);
    return sq_exec_stmt(c, st, "mcp_session_insert");
}

int sq_mcp_session_get(struct store_conn *base, const char *id_hash,
                       struct mcp_session_row *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT user_id, protocol_version, created_at, last_used_at "
                                  "FROM mcp_sessions WHERE id_hash = ?1");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, id_hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out->id_hash, sizeof out->id_hash, "%s", id_hash);
        out->user_id = sqlite3_column_int64(st, 0);
        snprintf(out->protocol_version, sizeof out->protocol_version, "%s", sq_col_text(st, 1));
        out->created_at = sqlite3_column_int64(st, 2);
        out->last_used_at = sqlite3_column_int64(st, 3);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "mcp_session_get");
}

int sq_mcp_session_touch(struct store_conn *base, const char *id_hash, int64_t now)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "UPDATE mcp_sessions SET last_used_at = ?2 WHERE id_hash = ?1");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, id_hash);
    sqlite3_bind_int64(st, 2, now);
    return sq_exec_stmt(c, st, "mcp_session_touch");
}

int sq_mcp_session_delete(struct store_conn *base, int64_t user_id, const char *id_hash)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "DELETE FROM mcp_sessions WHERE id_hash = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, id_hash);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sq_exec_stmt(c, st, "mcp_session_delete");
    if (rc)
        return rc;
    return sqlite3_changes(c->db) == 1 ? 0 : TOCK_ENOTFOUND;
}

int sq_mcp_session_prune(struct store_conn *base, int64_t user_id, int64_t idle_before, int keep)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM mcp_sessions WHERE last_used_at < ?2 OR id_hash "
                                  "IN (SELECT id_hash FROM mcp_sessions WHERE user_id = ?1 "
                                  "ORDER BY last_used_at DESC, id DESC LIMIT -1 "
                                  "OFFSET ?3)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, idle_before);
    sqlite3_bind_int(st, 3, keep);
    return sq_exec_stmt(c, st, "mcp_session_prune");
}
