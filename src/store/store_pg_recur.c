/*
 * store_pg_recur.c — the PostgreSQL backend's recurrence op: whether a series
 * already has a given occurrence. Part of store_pg_ops; see store.h.
 */
#include <libpq-fe.h>

#include "core/err.h"
#include "store/pg_int.h"

int pg_task_occurrence_exists(struct store_conn *base, int64_t user_id, int64_t series_id,
                              int64_t occurrence, bool *exists)
{
    struct pg_params p = {0};
    pp_i64(&p, series_id);
    pp_i64(&p, occurrence);
    pp_i64(&p, user_id);
    int rc;
    /* Deleted rows count: they still hold their (series_id, occurrence) key. */
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT 1 FROM tasks WHERE series_id = $1 AND occurrence = $2 AND "
                         "user_id = $3",
                         &p, &rc, "task_occurrence_exists");
    if (!r)
        return rc;
    *exists = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}
