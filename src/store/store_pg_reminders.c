/*
 * store_pg_reminders.c — the PostgreSQL backend's reminder ops. The scheduler's
 * claim is one statement: the due rows are picked with FOR UPDATE SKIP LOCKED
 * (a row another scheduler's transaction holds is skipped, not waited for) and
 * marked fired in the same UPDATE, so concurrent schedulers never fire a reminder
 * twice and never block each other. Part of store_pg_ops; see store.h.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/pg_int.h"

#define REM_COLS                                                                               \
    "id, user_id, task_id, kind, offset_minutes, at_ms, fire_at, state, fired_at, late, "     \
    "snoozes, created_at, updated_at"

static void read_row(const PGresult *res, int k, struct reminder *r)
{
    memset(r, 0, sizeof *r);
    r->id = pg_i64(res, k, 0);
    r->user_id = pg_i64(res, k, 1);
    r->task_id = pg_i64(res, k, 2);
    r->kind = reminder_kind_parse(pg_txt(res, k, 3));
    if (r->kind < 0)
        r->kind = REMINDER_OFFSET;
    r->offset_minutes = pg_i64(res, k, 4);
    r->at_ms = pg_i64(res, k, 5);
    r->fire_at = pg_i64(res, k, 6);
    r->state = reminder_state_parse(pg_txt(res, k, 7));
    if (r->state < 0)
        r->state = REMINDER_CANCELLED;
    r->fired_at = pg_i64(res, k, 8);
    r->late = pg_i64(res, k, 9) != 0;
    r->snoozes = pg_i64(res, k, 10);
    r->created_at = pg_i64(res, k, 11);
    r->updated_at = pg_i64(res, k, 12);
}

static int read_rows(struct pg_conn *c, const char *sql, const struct pg_params *p,
                     struct reminder **out, size_t *n, const char *what)
{
    int rc;
    PGresult *res = pg_run(c, sql, p, &rc, what);
    if (!res)
        return rc;
    size_t m = (size_t)PQntuples(res);
    struct reminder *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(res);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++)
        read_row(res, (int)i, &v[i]);
    PQclear(res);
    *out = v;
    *n = m;
    return 0;
}

int pg_reminder_insert(struct store_conn *base, struct reminder *r)
{
    struct pg_params p = {0};
    pp_i64(&p, r->user_id);
    pp_i64(&p, r->task_id);
    pp_text(&p, reminder_kind_name(r->kind));
    pp_i64_or_null(&p, r->offset_minutes, r->kind == REMINDER_OFFSET);
    pp_i64_or_null(&p, r->at_ms, r->kind == REMINDER_AT);
    pp_i64_or_null(&p, r->fire_at, r->fire_at != 0);
    pp_text(&p, reminder_state_name(r->state));
    pp_i64_or_null(&p, r->fired_at, r->fired_at != 0);
    pp_i64(&p, r->late ? 1 : 0);
    pp_i64(&p, r->snoozes);
    pp_i64(&p, r->created_at);
    pp_i64(&p, r->updated_at);
    int rc;
    PGresult *res = pg_run((struct pg_conn *)base,
                           "INSERT INTO reminders (user_id, task_id, kind, offset_minutes, at_ms, "
                           "fire_at, state, fired_at, late, snoozes, created_at, updated_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                           "RETURNING id",
                           &p, &rc, "reminder_insert");
    if (!res)
        return rc;
    r->id = pg_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_reminder_get(struct store_conn *base, int64_t user_id, int64_t id, struct reminder *out)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    struct reminder *v = NULL;
    size_t n = 0;
    int rc = read_rows((struct pg_conn *)base,
                       "SELECT " REM_COLS " FROM reminders WHERE id = $1 AND user_id = $2",
                       &p, &v, &n, "reminder_get");
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

int pg_reminder_update(struct store_conn *base, const struct reminder *r)
{
    struct pg_params p = {0};
    pp_i64(&p, r->id);
    pp_i64(&p, r->user_id);
    pp_i64_or_null(&p, r->fire_at, r->fire_at != 0);
    pp_text(&p, reminder_state_name(r->state));
    pp_i64_or_null(&p, r->fired_at, r->fired_at != 0);
    pp_i64(&p, r->late ? 1 : 0);
    pp_i64(&p, r->snoozes);
    pp_i64(&p, r->updated_at);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "UPDATE reminders SET fire_at = $3, state = $4, fired_at = $5, late = $6, "
                     "snoozes = $7, updated_at = $8 WHERE id = $1 AND user_id = $2",
                     &p, &changed, "reminder_update");
    if (!rc && changed == 0)
        rc = TOCK_ENOTFOUND;
    return rc;
}

int pg_reminder_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "DELETE FROM reminders WHERE id = $1 AND user_id = $2", &p, &changed,
                     "reminder_delete");
    if (!rc && changed == 0)
        rc = TOCK_ENOTFOUND;
    return rc;
}

int pg_reminder_list_task(struct store_conn *base, int64_t user_id, int64_t task_id,
                          struct reminder **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, task_id);
    pp_i64(&p, user_id);
    return read_rows((struct pg_conn *)base,
                     "SELECT " REM_COLS " FROM reminders WHERE task_id = $1 AND user_id = $2 "
                     "ORDER BY fire_at NULLS LAST, id",
                     &p, out, n, "reminder_list_task");
}

int pg_reminder_list_user(struct store_conn *base, int64_t user_id, int64_t from, int64_t to,
                          int limit, struct reminder **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, from);
    pp_i64(&p, to);
    pp_i64(&p, limit);
    return read_rows((struct pg_conn *)base,
                     "SELECT r.id, r.user_id, r.task_id, r.kind, r.offset_minutes, r.at_ms, "
                     "r.fire_at, r.state, r.fired_at, r.late, r.snoozes, r.created_at, "
                     "r.updated_at FROM reminders r JOIN tasks t ON t.id = r.task_id WHERE "
                     "r.user_id = $1 AND r.state = 'pending' AND r.fire_at >= $2 AND r.fire_at "
                     "< $3 AND t.deleted_at IS NULL ORDER BY r.fire_at, r.id LIMIT $4",
                     &p, out, n, "reminder_list_user");
}

int pg_reminder_cancel_task(struct store_conn *base, int64_t task_id, int64_t now, int64_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, task_id);
    pp_i64(&p, now);
    return pg_exec((struct pg_conn *)base,
                   "UPDATE reminders SET state = 'cancelled', updated_at = $2 WHERE task_id = $1 "
                   "AND state = 'pending'",
                   &p, n, "reminder_cancel_task");
}

int pg_reminder_next(struct store_conn *base, int64_t *fire_at)
{
    int rc;
    PGresult *res = pg_run((struct pg_conn *)base,
                           "SELECT min(fire_at) FROM reminders WHERE state = 'pending' AND "
                           "fire_at IS NOT NULL",
                           NULL, &rc, "reminder_next");
    if (!res)
        return rc;
    *fire_at = PQntuples(res) ? pg_i64(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

int pg_reminder_claim_due(struct store_conn *base, int64_t now, int limit, int64_t late_ms,
                          struct reminder_fire **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, now);
    pp_i64(&p, limit);
    pp_i64(&p, late_ms);
    int rc;
    PGresult *res = pg_run(
        (struct pg_conn *)base,
        "WITH due AS (SELECT id FROM reminders WHERE state = 'pending' AND fire_at <= $1 "
        "ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "UPDATE reminders r SET state = 'fired', fired_at = $1, late = CASE WHEN $1 - "
        "r.fire_at > $3 THEN 1 ELSE 0 END, updated_at = $1 FROM due, tasks t WHERE r.id = "
        "due.id AND t.id = r.task_id RETURNING r.id, r.user_id, r.task_id, r.kind, "
        "r.offset_minutes, r.at_ms, r.fire_at, r.state, r.fired_at, r.late, r.snoozes, "
        "r.created_at, r.updated_at, t.title, t.due_at, t.due_local, t.due_has_time, t.timezone",
        &p, &rc, "reminder_claim_due");
    if (!res)
        return rc;
    size_t m = (size_t)PQntuples(res);
    struct reminder_fire *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(res);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        int k = (int)i;
        struct reminder_fire *f = &v[i];
        read_row(res, k, &f->r);
        f->title = strdup(pg_txt(res, k, 13));
        if (!f->title) {
            PQclear(res);
            reminder_fires_free(v, m);
            return TOCK_ENOMEM;
        }
        f->has_due = !PQgetisnull(res, k, 14);
        f->due_at = pg_i64(res, k, 14);
        snprintf(f->due_local, sizeof f->due_local, "%s", pg_txt(res, k, 15));
        f->due_has_time = pg_i64(res, k, 16) != 0;
        snprintf(f->timezone, sizeof f->timezone, "%s", pg_txt(res, k, 17));
    }
    PQclear(res);
    *out = v;
    *n = m;
    return 0;
}

/* Appends s to a PostgreSQL array literal as one quoted element (" and \ escaped). */
static int array_elem(struct buf *b, const char *s, bool first)
{
    int rc = buf_puts(b, first ? "\"" : ",\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            rc |= buf_append(b, "\\", 1);
        rc |= buf_append(b, p, 1);
    }
    return rc | buf_puts(b, "\"");
}

int pg_outbox_append_batch(struct store_conn *base, const struct outbox_row *rows, size_t n)
{
    struct pg_conn *c = (struct pg_conn *)base;
    if (n == 0)
        return 0;
    /*
     * One array per column. The per-user advisory locks (see pg_outbox_append) are all
     * taken first, in user order, by one statement; then one INSERT assigns the ids in
     * array order.
     */
    struct buf a[8];
    for (int k = 0; k < 8; k++) {
        a[k] = (struct buf)BUF_INIT;
    }
    int rc = 0;
    for (int k = 0; k < 8; k++)
        rc |= buf_puts(&a[k], "{");
    for (size_t i = 0; i < n; i++) {
        const struct outbox_row *r = &rows[i];
        bool f = i == 0;
        rc |= array_elem(&a[0], r->event_id, f);
        rc |= array_elem(&a[1], r->topic, f);
        rc |= array_elem(&a[2], r->key, f);
        rc |= buf_printf(&a[3], "%s%lld", f ? "" : ",", (long long)r->user_id);
        if (r->task_id)
            rc |= buf_printf(&a[4], "%s%lld", f ? "" : ",", (long long)r->task_id);
        else
            rc |= buf_puts(&a[4], f ? "NULL" : ",NULL");
        rc |= array_elem(&a[5], r->type, f);
        rc |= array_elem(&a[6], r->event_json, f);
        rc |= buf_printf(&a[7], "%s%lld", f ? "" : ",", (long long)r->created_at);
    }
    for (int k = 0; k < 8; k++)
        rc |= buf_puts(&a[k], "}");
    if (rc) {
        rc = TOCK_ENOMEM;
        goto out;
    }
    struct pg_params p = {0};
    pp_text(&p, a[3].data);
    rc = pg_exec(c,
                 "SELECT pg_advisory_xact_lock(7400, (u % 2147483647)::int) FROM (SELECT DISTINCT "
                 "u FROM unnest($1::bigint[]) u ORDER BY u) s",
                 &p, NULL, "outbox_batch_lock");
    if (rc)
        goto out;
    /* Any later single append re-takes its (re-entrant) user lock. */
    c->tx_user_locked = 0;
    struct pg_params q = {0};
    for (int k = 0; k < 8; k++)
        pp_text(&q, a[k].data);
    rc = pg_exec(c,
                 "INSERT INTO outbox (event_id, topic, msg_key, user_id, task_id, type, "
                 "event_json, created_at) SELECT e, t, k, u, ta, ty, j, ca FROM unnest($1::text[], "
                 "$2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], "
                 "$8::bigint[]) WITH ORDINALITY AS x(e, t, k, u, ta, ty, j, ca, o) ORDER BY o",
                 &q, NULL, "outbox_append_batch");
out:
    for (int k = 0; k < 8; k++)
        buf_free(&a[k]);
    return rc;
}
