/*
 * store_pg_audit.c — the PostgreSQL backend's consumer bookkeeping
 * (processed_events) and audit log ops. Part of store_pg_ops; see store.h for the
 * contracts. Conflicts use ON CONFLICT DO NOTHING so a duplicate never aborts the
 * surrounding transaction.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/pg_int.h"

int pg_processed_mark(struct store_conn *base, const char *consumer, const char *event_id,
                      int64_t now)
{
    struct pg_params p = {0};
    pp_text(&p, consumer);
    pp_text(&p, event_id);
    pp_i64(&p, now);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES "
                     "($1, $2, $3) ON CONFLICT DO NOTHING",
                     &p, &changed, "processed_mark");
    if (rc)
        return rc;
    return changed == 1 ? 0 : TOCK_ECONFLICT;
}

int pg_audit_append(struct store_conn *base, struct audit_row *r)
{
    struct pg_params p = {0};
    pp_text(&p, r->event_id);
    pp_text(&p, r->type);
    pp_i64(&p, r->user_id);
    pp_i64_or_null(&p, r->task_id, r->task_id != 0);
    pp_i64(&p, r->time);
    pp_text(&p, r->payload);
    pp_i64(&p, r->created_at);
    int rc;
    PGresult *res = pg_run((struct pg_conn *)base,
                           "INSERT INTO audit_log (event_id, type, user_id, task_id, time, "
                           "payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                           "ON CONFLICT (event_id) DO NOTHING RETURNING id",
                           &p, &rc, "audit_append");
    if (!res)
        return rc;
    r->id = PQntuples(res) == 1 ? pg_i64(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

int pg_audit_list(struct store_conn *base, int64_t user_id, const struct audit_query *q,
                  struct audit_row **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_text(&p, q->type[0] ? q->type : NULL);
    pp_i64_or_null(&p, q->task_id, q->task_id != 0);
    pp_i64_or_null(&p, q->from, q->has_from);
    pp_i64_or_null(&p, q->to, q->has_to);
    pp_i64_or_null(&p, q->after_time, q->has_cursor);
    pp_i64(&p, q->after_id);
    pp_i64(&p, q->limit + 1);
    int rc;
    /* One statement for every combination: absent filters are NULL and drop out. */
    PGresult *r = pg_run(
        (struct pg_conn *)base,
        "SELECT id, event_id, type, user_id, task_id, time, payload, created_at FROM "
        "audit_log WHERE user_id = $1 AND ($2::text IS NULL OR type = $2::text) AND "
        "($3::bigint IS NULL OR task_id = $3::bigint) AND ($4::bigint IS NULL OR time >= "
        "$4::bigint) AND ($5::bigint IS NULL OR time <= $5::bigint) AND ($6::bigint IS NULL "
        "OR (time, id) < ($6::bigint, $7::bigint)) ORDER BY time DESC, id DESC LIMIT $8",
        &p, &rc, "audit_list");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct audit_row *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        int k = (int)i;
        struct audit_row *a = &v[i];
        a->id = pg_i64(r, k, 0);
        snprintf(a->event_id, sizeof a->event_id, "%s", pg_txt(r, k, 1));
        snprintf(a->type, sizeof a->type, "%s", pg_txt(r, k, 2));
        a->user_id = pg_i64(r, k, 3);
        a->task_id = pg_i64(r, k, 4);
        a->time = pg_i64(r, k, 5);
        a->payload = strdup(pg_txt(r, k, 6));
        a->created_at = pg_i64(r, k, 7);
        if (!a->payload) {
            PQclear(r);
            audit_rows_free(v, i + 1);
            return TOCK_ENOMEM;
        }
    }
    PQclear(r);
    *out = v;
    *n = m;
    return 0;
}

int pg_audit_prune(struct store_conn *base, int64_t before, int limit, int64_t *deleted)
{
    struct pg_params p = {0};
    pp_i64(&p, before);
    pp_i64(&p, limit);
    return pg_exec((struct pg_conn *)base,
                   "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE "
                   "created_at < $1 ORDER BY created_at LIMIT $2)",
                   &p, deleted, "audit_prune");
}
