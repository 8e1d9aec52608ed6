/*
 * store_pg_sync.c — the PostgreSQL backend's ops for real-time sync
 * (roles/sync.c): event id -> outbox seq, a user's task-updates rows after a
 * cursor, and the bounds that decide whether a cursor can still be resumed.
 * Part of store_pg_ops; see store.h for the contracts.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/pg_int.h"

int pg_outbox_seq_of(struct store_conn *base, const char *event_id, int64_t *seq)
{
    struct pg_params p = {0};
    pp_text(&p, event_id);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT id FROM outbox WHERE event_id = $1 ORDER BY id LIMIT 1", &p, &rc,
                         "outbox_seq_of");
    if (!r)
        return rc;
    rc = PQntuples(r) == 1 ? 0 : TOCK_ENOTFOUND;
    if (!rc)
        *seq = pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_sync_rows(struct store_conn *base, int64_t user_id, int64_t after, int limit,
                 struct outbox_row **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, after);
    pp_i64(&p, limit);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT id, type, event_id, event_json FROM outbox WHERE user_id = $1 "
                         "AND id > $2 AND topic = 'task-updates' ORDER BY id LIMIT $3",
                         &p, &rc, "sync_rows");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct outbox_row *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        int k = (int)i;
        struct outbox_row *o = &v[i];
        o->seq = pg_i64(r, k, 0);
        snprintf(o->type, sizeof o->type, "%s", pg_txt(r, k, 1));
        snprintf(o->event_id, sizeof o->event_id, "%s", pg_txt(r, k, 2));
        snprintf(o->topic, sizeof o->topic, "task-updates");
        o->user_id = user_id;
        o->event_json = strdup(pg_txt(r, k, 3));
        if (!o->event_json) {
            PQclear(r);
            outbox_rows_free(v, i + 1);
            return TOCK_ENOMEM;
        }
    }
    PQclear(r);
    if (m == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = m;
    return 0;
}

int pg_sync_bounds(struct store_conn *base, int64_t user_id, int64_t *user_max, int64_t *oldest,
                   int64_t *hwm)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    int rc;
    /* The sequence's last value counts ids of uncommitted rows too: an upper bound. */
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT (SELECT coalesce(max(id), 0) FROM outbox WHERE user_id = $1), "
                         "(SELECT coalesce(min(id), 0) FROM outbox), "
                         "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM "
                         "outbox_id_seq)",
                         &p, &rc, "sync_bounds");
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return TOCK_ESTORE;
    }
    *user_max = pg_i64(r, 0, 0);
    *oldest = pg_i64(r, 0, 1);
    *hwm = pg_i64(r, 0, 2);
    PQclear(r);
    return 0;
}
