/*
 * store_pg_tasks.c — tasks, tags and the list query on PostgreSQL, with the
 * semantics of store_sqlite_tasks.c. A task's row and its tag links are written
 * together inside the caller's transaction; the search vector is a generated
 * column of the row (title A, tags B, description C), so it cannot go stale.
 *
 * The list query is built from a validated task_filter: only integer literals and
 * fixed column expressions are spliced into SQL; every value from a user is a
 * parameter. Sort expressions are the SQLite backend's, so cursors mean the same
 * thing on both stores; titles compare ASCII-lower-cased in byte order
 * (lower(... COLLATE "C")), whatever the database's locale.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "obs/log.h"
#include "store/list_sql.h"
#include "store/pg_int.h"

#define TASK_COLS                                                                              \
    "t.id, t.user_id, t.title, t.description, t.status, t.priority, t.due_at, t.due_local, "  \
    "t.due_has_time, t.timezone, t.completed_at, t.series_id, t.occurrence, t.rrule, "        \
    "t.recur_from, t.version, t.created_at, t.updated_at, t.deleted_at, t.tags_text, "         \
    "t.series_start"
#define TASK_NCOLS 21

static int read_task(const PGresult *r, int row, struct task *t)
{
    memset(t, 0, sizeof *t);
    t->id = pg_i64(r, row, 0);
    t->user_id = pg_i64(r, row, 1);
    t->title = strdup(pg_txt(r, row, 2));
    t->description = strdup(pg_txt(r, row, 3));
    t->status = (int)pg_i64(r, row, 4);
    t->priority = (int)pg_i64(r, row, 5);
    t->has_due = !PQgetisnull(r, row, 6);
    t->due_at = pg_i64(r, row, 6);
    snprintf(t->due_local, sizeof t->due_local, "%s", pg_txt(r, row, 7));
    t->due_has_time = pg_i64(r, row, 8) != 0;
    snprintf(t->timezone, sizeof t->timezone, "%s", pg_txt(r, row, 9));
    t->completed_at = pg_i64(r, row, 10);
    t->series_id = pg_i64(r, row, 11);
    t->occurrence = pg_i64(r, row, 12);
    bool has_rrule = !PQgetisnull(r, row, 13);
    if (has_rrule)
        t->rrule = strdup(pg_txt(r, row, 13));
    t->recur_from = (int)pg_i64(r, row, 14);
    t->version = pg_i64(r, row, 15);
    t->created_at = pg_i64(r, row, 16);
    t->updated_at = pg_i64(r, row, 17);
    t->deleted_at = pg_i64(r, row, 18);
    const char *tags = pg_txt(r, row, 19);
    snprintf(t->series_start, sizeof t->series_start, "%s", pg_txt(r, row, 20));
    if (!t->title || !t->description || (has_rrule && !t->rrule))
        goto oom;
    if (task_tags_parse(t, tags))
        goto oom;
    return 0;
oom:
    task_release(t);
    return TOCK_ENOMEM;
}

/* Replaces the task's tag links, creating tags on demand. */
static int write_tags(struct pg_conn *c, const struct task *t)
{
    struct pg_params p = {0};
    pp_i64(&p, t->id);
    int rc = pg_exec(c, "DELETE FROM task_tags WHERE task_id = $1", &p, NULL, "tags_clear");
    for (size_t i = 0; !rc && i < t->ntags; i++) {
        /*
         * Two statements, not one: under READ COMMITTED each gets a fresh snapshot,
         * so the link finds a tag another transaction committed while ON CONFLICT
         * waited for it.
         */
        struct pg_params q = {0};
        pp_i64(&q, t->user_id);
        pp_text(&q, t->tags[i]);
        rc = pg_exec(c,
                     "INSERT INTO tags (user_id, name) VALUES ($1, $2) ON CONFLICT (user_id, "
                     "name) DO NOTHING",
                     &q, NULL, "tag_upsert");
        if (rc)
            break;
        pp_i64(&q, t->id);
        rc = pg_exec(c,
                     "INSERT INTO task_tags (task_id, tag_id) SELECT $3, id FROM tags WHERE "
                     "user_id = $1 AND name = $2",
                     &q, NULL, "tag_link");
    }
    return rc;
}

/* The tag names joined by commas (tag names never contain one). */
/* $1..$18 as in the SQLite backend's bind_task_cols, $19 tags_text, $20 series_start. */
static void task_params(struct pg_params *p, const struct task *t, const char *tt)
{
    pp_i64(p, t->user_id);
    pp_text(p, t->title);
    pp_text(p, t->description ? t->description : "");
    pp_i64(p, t->status);
    pp_i64(p, t->priority);
    pp_i64_or_null(p, t->due_at, t->has_due);
    pp_text(p, t->has_due ? t->due_local : NULL);
    pp_i64(p, t->due_has_time);
    pp_text(p, t->timezone);
    pp_i64_or_null(p, t->completed_at, t->completed_at != 0);
    pp_i64_or_null(p, t->series_id, t->series_id != 0);
    pp_i64(p, t->occurrence ? t->occurrence : 1);
    pp_text(p, t->rrule);
    pp_i64(p, t->recur_from);
    pp_i64(p, t->version);
    pp_i64(p, t->created_at);
    pp_i64(p, t->updated_at);
    pp_i64_or_null(p, t->deleted_at, t->deleted_at != 0);
    pp_text(p, tt);
    pp_text(p, t->series_start[0] ? t->series_start : NULL); /* $20 */
}

int pg_task_insert(struct store_conn *base, struct task *t)
{
    struct pg_conn *c = (struct pg_conn *)base;
    char *tt = task_tags_join(t);
    if (!tt)
        return TOCK_ENOMEM;
    struct pg_params p = {0};
    task_params(&p, t, tt);
    /* The id is drawn first so a new series can be numbered after its first task. */
    int rc;
    PGresult *r = pg_run(
        c,
        "WITH n AS (SELECT nextval(pg_get_serial_sequence('tasks', 'id')) AS id) "
        "INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, "
        "due_local, due_has_time, timezone, completed_at, series_id, occurrence, rrule, "
        "recur_from, version, created_at, updated_at, deleted_at, tags_text, series_start) SELECT "
        "n.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::bigint, n.id), $12, $13, $14, "
        "$15, $16, $17, $18, $19, $20 FROM n RETURNING id, series_id",
        &p, &rc, "task_insert");
    free(tt);
    if (!r)
        return rc;
    t->id = pg_i64(r, 0, 0);
    t->series_id = pg_i64(r, 0, 1);
    PQclear(r);
    return write_tags(c, t);
}

int pg_task_get(struct store_conn *base, int64_t user_id, int64_t id, bool for_update,
                struct task *out)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    int rc;
    PGresult *r = pg_run(c,
                         for_update ? "SELECT " TASK_COLS " FROM tasks t WHERE t.id = $1 AND "
                                      "t.user_id = $2 AND t.deleted_at IS NULL FOR UPDATE"
                                    : "SELECT " TASK_COLS " FROM tasks t WHERE t.id = $1 AND "
                                      "t.user_id = $2 AND t.deleted_at IS NULL",
                         &p, &rc, "task_get");
    if (!r)
        return rc;
    rc = PQntuples(r) == 0 ? TOCK_ENOTFOUND : read_task(r, 0, out);
    PQclear(r);
    return rc;
}

int pg_task_update(struct store_conn *base, const struct task *t)
{
    struct pg_conn *c = (struct pg_conn *)base;
    char *tt = task_tags_join(t);
    if (!tt)
        return TOCK_ENOMEM;
    struct pg_params p = {0};
    task_params(&p, t, tt);
    pp_i64(&p, t->id);
    int64_t changed = 0;
    int rc = pg_exec(
        c,
        "UPDATE tasks SET title = $2, description = $3, status = $4, priority = $5, due_at = $6, "
        "due_local = $7, due_has_time = $8, timezone = $9, completed_at = $10, series_id = $11, "
        "occurrence = $12, rrule = $13, recur_from = $14, version = $15, created_at = $16, "
        "updated_at = $17, deleted_at = $18, tags_text = $19, series_start = $20 WHERE user_id = $1 "
        "AND id = $21",
        &p, &changed, "task_update");
    free(tt);
    if (rc)
        return rc;
    if (changed == 0)
        return TOCK_ENOTFOUND;
    return write_tags(c, t);
}

/* ---- the list query ---- */

struct qb {
    struct buf sql;
    struct pg_params p;
};

/* Appends the placeholder of the next parameter. */
static void ph(struct qb *q)
{
    buf_printf(&q->sql, "$%d", q->p.n);
}

static void bi(struct qb *q, int64_t v)
{
    pp_i64(&q->p, v);
    ph(q);
}

static void bs(struct qb *q, const char *s)
{
    pp_text(&q->p, s);
    ph(q);
}

static void bd(struct qb *q, double d)
{
    pp_f8(&q->p, d);
    buf_printf(&q->sql, "$%d::float8", q->p.n);
}

/* list_sql hooks: bi/bs/bd already write the "$n" placeholder. */
static void hook_i64(void *ctx, int64_t v)
{
    bi(ctx, v);
}

static void hook_text(void *ctx, const char *s)
{
    bs(ctx, s);
}

static void hook_real(void *ctx, double d)
{
    bd(ctx, d);
}

/*
 * The tsquery text: every word quoted as a lexeme and ANDed, the last one a
 * prefix. Words are letters/digits already (core/filter.c); quotes and
 * backslashes are escaped anyway so no user text is ever tsquery syntax.
 */
static void ts_query(struct buf *m, const struct task_filter *f)
{
    for (size_t i = 0; i < f->nq_terms; i++) {
        buf_puts(m, i ? " & '" : "'");
        for (const char *s = f->q_terms[i]; *s; s++) {
            if (*s == '\'' || *s == '\\')
                buf_printf(m, "%c", *s);
            buf_printf(m, "%c", *s);
        }
        buf_puts(m, "'");
        if (i + 1 == f->nq_terms && f->q_last_prefix)
            buf_puts(m, ":*");
    }
}

int pg_task_list(struct store_conn *base, int64_t user_id, const struct task_filter *f,
                 struct task **out, size_t *n, double **ranks)
{
    struct pg_conn *c = (struct pg_conn *)base;
    *out = NULL;
    *n = 0;
    if (ranks)
        *ranks = NULL;
    if (f->q && f->nq_terms == 0)
        return 0; /* a query with no words matches nothing */
    struct qb *q = calloc(1, sizeof *q);
    if (!q)
        return TOCK_ENOMEM;
    buf_init(&q->sql, 0);
    struct buf match = BUF_INIT;
    if (f->q) {
        ts_query(&match, f);
        /*
         * Ranks are computed once per row and compared as the same float8 both in
         * ORDER BY and in the keyset condition. Weights {D, C, B, A}: a title hit
         * outranks a tag hit, which outranks a description hit.
         */
        pp_text(&q->p, match.data);
        pp_i64(&q->p, user_id);
        buf_puts(&q->sql,
                 "WITH qq AS (SELECT to_tsquery('simple', tock_fold($1)) AS q), m AS MATERIALIZED "
                 "(SELECT "
                 "s.id, ts_rank('{0.1, 0.2, 0.4, 1.0}'::float4[], s.search, qq.q)::float8 AS rk "
                 "FROM tasks s, qq WHERE s.user_id = $2 AND s.deleted_at IS NULL AND s.search "
                 "@@ qq.q) SELECT " TASK_COLS ", m.rk FROM tasks t JOIN m ON m.id = t.id WHERE "
                 "t.user_id = $2 AND t.deleted_at IS NULL");
    } else {
        buf_puts(&q->sql, "SELECT " TASK_COLS ", 0.0::float8 FROM tasks t WHERE t.user_id = ");
        bi(q, user_id);
        buf_puts(&q->sql, " AND t.deleted_at IS NULL");
    }
    /*
     * Titles order by lower() over the "C" collation: ASCII-only folding compared
     * bytewise, exactly like SQLite and the cursor encoder, whatever the locale
     * (plain lower() would fold É to é and break paging on non-ASCII titles).
     */
    struct list_sql ls = {&q->sql, hook_i64, hook_text, hook_real, q,
                          "lower(t.title COLLATE \"C\")", "m.rk"};
    list_sql_where(&ls, f);
    list_sql_order_limit(&ls, f);

    int rc = 0;
    PGresult *r = NULL;
    struct task *v = NULL;
    double *rk = NULL;
    size_t m = 0;
    if (!q->sql.len || !match.data) {
        rc = TOCK_ENOMEM; /* a buf ran out of memory */
        goto out;
    }
    if (!(r = pg_run(c, q->sql.data, &q->p, &rc, "task_list")))
        goto out;
    size_t rows = (size_t)PQntuples(r);
    size_t cap = (size_t)f->limit + 1;
    if (rows > cap)
        rows = cap;
    v = calloc(rows ? rows : 1, sizeof *v);
    rk = calloc(rows ? rows : 1, sizeof *rk);
    if (!v || !rk) {
        rc = TOCK_ENOMEM;
        goto out;
    }
    for (; m < rows; m++) {
        if ((rc = read_task(r, (int)m, &v[m])))
            goto out;
        rk[m] = pg_f8(r, (int)m, TASK_NCOLS);
    }
    if (m == 0) {
        free(v);
        free(rk);
        v = NULL;
        rk = NULL;
    }
    *out = v;
    *n = m;
    if (ranks)
        *ranks = rk;
    else
        free(rk);
    v = NULL;
    rk = NULL;
out:
    if (v) {
        for (size_t i = 0; i < m; i++)
            task_release(&v[i]);
        free(v);
    }
    free(rk);
    PQclear(r);
    buf_free(&q->sql);
    buf_free(&match);
    free(q);
    return rc;
}

/* ---- tags ---- */

#define TAG_COLS                                                                               \
    "g.id, g.user_id, g.name, g.color, (SELECT count(*) FROM task_tags tt JOIN tasks t ON "    \
    "t.id = tt.task_id WHERE tt.tag_id = g.id AND t.deleted_at IS NULL)"

static void read_tag(const PGresult *r, int row, struct tag *t)
{
    memset(t, 0, sizeof *t);
    t->id = pg_i64(r, row, 0);
    t->user_id = pg_i64(r, row, 1);
    snprintf(t->name, sizeof t->name, "%s", pg_txt(r, row, 2));
    snprintf(t->color, sizeof t->color, "%s", pg_txt(r, row, 3));
    t->task_count = pg_i64(r, row, 4);
}

int pg_tag_list(struct store_conn *base, int64_t user_id, const char *prefix, int limit,
                struct tag **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_text(&p, prefix ? prefix : "");
    pp_i64(&p, limit);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT " TAG_COLS " AS n FROM tags g WHERE g.user_id = $1 AND "
                         "starts_with(g.name, $2::text) ORDER BY n DESC, g.name COLLATE \"C\" "
                         "LIMIT $3",
                         &p, &rc, "tag_list");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct tag *v = NULL;
    if (m) {
        if (!(v = calloc(m, sizeof *v))) {
            PQclear(r);
            return TOCK_ENOMEM;
        }
        for (size_t i = 0; i < m; i++)
            read_tag(r, (int)i, &v[i]);
    }
    PQclear(r);
    *out = v;
    *n = m;
    return 0;
}

static int tag_one(struct pg_conn *c, const char *sql, const struct pg_params *p, struct tag *out)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, "tag_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = TOCK_ENOTFOUND;
    else
        read_tag(r, 0, out);
    PQclear(r);
    return rc;
}

int pg_tag_get(struct store_conn *base, int64_t user_id, int64_t id, struct tag *out)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    return tag_one((struct pg_conn *)base,
                   "SELECT " TAG_COLS " FROM tags g WHERE g.id = $1 AND g.user_id = $2", &p, out);
}

int pg_tag_by_name(struct store_conn *base, int64_t user_id, const char *name, struct tag *out)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_text(&p, name);
    return tag_one((struct pg_conn *)base,
                   "SELECT " TAG_COLS " FROM tags g WHERE g.user_id = $1 AND g.name = $2", &p,
                   out);
}

int pg_tag_insert(struct store_conn *base, struct tag *t)
{
    struct pg_params p = {0};
    pp_i64(&p, t->user_id);
    pp_text(&p, t->name);
    pp_text(&p, t->color[0] ? t->color : NULL);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "INSERT INTO tags (user_id, name, color) VALUES ($1, $2, $3) RETURNING id",
                         &p, &rc, "tag_insert");
    if (!r)
        return rc;
    t->id = pg_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

/*
 * Recomputes tags_text of the tasks linked to tag_id (the service then rewrites each
 * task), leaving out `without` (a tag about to be deleted; 0 for none).
 */
static int refresh_tagged(struct pg_conn *c, int64_t tag_id, int64_t without)
{
    struct pg_params p = {0};
    pp_i64(&p, tag_id);
    pp_i64(&p, without);
    return pg_exec(c,
                   "UPDATE tasks SET tags_text = coalesce((SELECT string_agg(g.name, ',' ORDER "
                   "BY g.name COLLATE \"C\") FROM task_tags tt JOIN tags g ON g.id = tt.tag_id "
                   "WHERE tt.task_id = tasks.id AND g.id <> $2), '') WHERE id IN (SELECT task_id "
                   "FROM task_tags WHERE tag_id = $1)",
                   &p, NULL, "tags_text_refresh");
}

int pg_tag_update(struct store_conn *base, const struct tag *t)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct pg_params p = {0};
    pp_i64(&p, t->id);
    pp_i64(&p, t->user_id);
    pp_text(&p, t->name);
    pp_text(&p, t->color[0] ? t->color : NULL);
    int64_t changed = 0;
    int rc = pg_exec(c, "UPDATE tags SET name = $3, color = $4 WHERE id = $1 AND user_id = $2",
                     &p, &changed, "tag_update");
    if (!rc && changed == 0)
        return TOCK_ENOTFOUND;
    return rc ? rc : refresh_tagged(c, t->id, 0);
}

int pg_tag_merge(struct store_conn *base, int64_t user_id, int64_t from, int64_t into)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct pg_params p = {0};
    pp_i64(&p, from);
    pp_i64(&p, into);
    pp_i64(&p, user_id);
    int rc = pg_exec(c,
                     "INSERT INTO task_tags (task_id, tag_id) SELECT tt.task_id, $2 FROM "
                     "task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.tag_id = $1 AND "
                     "g.user_id = $3 ON CONFLICT DO NOTHING",
                     &p, NULL, "tag_merge");
    if (!rc)
        rc = pg_tag_delete(base, user_id, from);
    return rc ? rc : refresh_tagged(c, into, 0);
}

int pg_tag_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct tag check;
    int rc = pg_tag_get(base, user_id, id, &check);
    if (rc)
        return rc;
    if ((rc = refresh_tagged(c, id, id)))
        return rc;
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    int64_t changed = 0;
    rc = pg_exec(c, "DELETE FROM tags WHERE id = $1 AND user_id = $2", &p, &changed,
                 "tag_delete");
    return !rc && changed == 0 ? TOCK_ENOTFOUND : rc;
}

int pg_tag_task_ids(struct store_conn *base, int64_t user_id, int64_t tag_id, int64_t **ids,
                    size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, tag_id);
    pp_i64(&p, user_id);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT t.id FROM task_tags tt JOIN tasks t ON t.id = tt.task_id WHERE "
                         "tt.tag_id = $1 AND t.user_id = $2 AND t.deleted_at IS NULL ORDER BY t.id",
                         &p, &rc, "tag_task_ids");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    int64_t *v = NULL;
    if (m) {
        if (!(v = calloc(m, sizeof *v))) {
            PQclear(r);
            return TOCK_ENOMEM;
        }
        for (size_t i = 0; i < m; i++)
            v[i] = pg_i64(r, (int)i, 0);
    }
    PQclear(r);
    *ids = v;
    *n = m;
    return 0;
}
