/*
 * store_pg_mcp.c — the PostgreSQL backend's MCP session ops (table
 * mcp_sessions, migration 0007). Part of store_pg_ops; see store.h.
 */
#include <libpq-fe.h>
#include <stdio.h>

#include "core/err.h"
#include "store/pg_int.h"

int pg_mcp_session_insert(struct store_conn *base, const struct mcp_session_row *r)
{
    struct pg_params p = {0};
    pp_text(&p, r->id_hash);
    pp_i64(&p, r->user_id);
    pp_text(&p, r->protocol_version);
    pp_i64(&p, r->created_at);
    pp_i64(&p, r->last_used_at);
    return pg_exec((struct pg_conn *)base,
                   "INSERT INTO mcp_sessions (id_hash, user_id, protocol_version, created_at, "
                   "last_used_at) VALUES ($1, $2, $3, $4, $5)",
                   &p, NULL, "mcp_session_insert");
}

int pg_mcp_session_get(struct store_conn *base, const char *id_hash,
                       struct mcp_session_row *out)
{
    struct pg_params p = {0};
    pp_text(&p, id_hash);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT user_id, protocol_version, created_at, last_used_at FROM "
                         "mcp_sessions WHERE id_hash = $1",
                         &p, &rc, "mcp_session_get");
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return TOCK_ENOTFOUND;
    }
    snprintf(out->id_hash, sizeof out->id_hash, "%s", id_hash);
    out->user_id = pg_i64(r, 0, 0);
    snprintf(out->protocol_version, sizeof out->protocol_version, "%s", pg_txt(r, 0, 1));
    out->created_at = pg_i64(r, 0, 2);
    out->last_used_at = pg_i64(r, 0, 3);
    PQclear(r);
    return 0;
}

int pg_mcp_session_touch(struct store_conn *base, const char *id_hash, int64_t now)
{
    struct pg_params p = {0};
    pp_text(&p, id_hash);
    pp_i64(&p, now);
    return pg_exec((struct pg_conn *)base,
                   "UPDATE mcp_sessions SET last_used_at = $2 WHERE id_hash = $1", &p, NULL,
                   "mcp_session_touch");
}

int pg_mcp_session_delete(struct store_conn *base, int64_t user_id, const char *id_hash)
{
    struct pg_params p = {0};
    pp_text(&p, id_hash);
    pp_i64(&p, user_id);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "DELETE FROM mcp_sessions WHERE id_hash = $1 AND user_id = $2", &p,
                     &changed, "mcp_session_delete");
    if (rc)
        return rc;
    return changed == 1 ? 0 : TOCK_ENOTFOUND;
}

int pg_mcp_session_prune(struct store_conn *base, int64_t user_id, int64_t idle_before, int keep)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, idle_before);
    pp_i64(&p, keep);
    return pg_exec((struct pg_conn *)base,
                   "DELETE FROM mcp_sessions WHERE last_used_at < $2 OR id_hash IN (SELECT "
                   "id_hash FROM mcp_sessions WHERE user_id = $1 ORDER BY last_used_at DESC, "
                   "id DESC OFFSET $3)",
                   &p, NULL, "mcp_session_prune");
}
