/*
 * store_sqlite_tasks.c — tasks, tags and the list query on SQLite. A task's row,
 * its tag links and its full-text row are always written together, inside the
 * caller's transaction. The list query is built from a validated task_filter:
 * only integer literals and fixed column expressions are spliced into SQL; every
 * value from a user is a bound parameter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "obs/log.h"
#include "store/list_sql.h"
#include "store/sqlite_int.h"

#define TASK_COLS                                                                              \
    "t.id, t.user_id, t.title, t.description, t.status, t.priority, t.due_at, t.due_local, "  \
    "t.due_has_time, t.timezone, t.completed_at, t.series_id, t.occurrence, t.rrule, "        \
    "t.recur_from, t.version, t.created_at, t.updated_at, t.deleted_at, t.tags_text, "         \
    "t.series_start"
#define TASK_NCOLS 21

static int read_task(sqlite3_stmt *st, struct task *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    t->title = strdup(sq_col_text(st, 2));
    t->description = strdup(sq_col_text(st, 3));
    t->status = sqlite3_column_int(st, 4);
    t->priority = sqlite3_column_int(st, 5);
    t->has_due = sqlite3_column_type(st, 6) != SQLITE_NULL;
    t->due_at = sqlite3_column_int64(st, 6);
    snprintf(t->due_local, sizeof t->due_local, "%s", sq_col_text(st, 7));
    t->due_has_time = sqlite3_column_int(st, 8) != 0;
    snprintf(t->timezone, sizeof t->timezone, "%s", sq_col_text(st, 9));
    t->completed_at = sqlite3_column_int64(st, 10);
    t->series_id = sqlite3_column_int64(st, 11);
    t->occurrence = sqlite3_column_int64(st, 12);
    if (sqlite3_column_type(st, 13) != SQLITE_NULL)
        t->rrule = strdup(sq_col_text(st, 13));
    t->recur_from = sqlite3_column_int(st, 14);
    t->version = sqlite3_column_int64(st, 15);
    t->created_at = sqlite3_column_int64(st, 16);
    t->updated_at = sqlite3_column_int64(st, 17);
    t->deleted_at = sqlite3_column_int64(st, 18);
    const char *tags = sq_col_text(st, 19);
    snprintf(t->series_start, sizeof t->series_start, "%s", sq_col_text(st, 20));
    if (!t->title || !t->description || (sqlite3_column_type(st, 13) != SQLITE_NULL && !t->rrule))
        goto oom;
    if (task_tags_parse(t, tags))
        goto oom;
    return 0;
oom:
    task_release(t);
    return TOCK_ENOMEM;
}

int sq_fts_refresh(struct sq_conn *c, int64_t task_id)
{
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM tasks_fts WHERE rowid = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, task_id);
    int rc = sq_exec_stmt(c, st, "fts_delete");
    if (rc)
        return rc;
    st = sq_stmt(c, "INSERT INTO tasks_fts (rowid, title, tags, description, owner) "
                    "SELECT t.id, t.title, replace(t.tags_text, ',', ' '), t.description, "
                    "'u' || t.user_id FROM tasks t WHERE t.id = ?1 AND t.deleted_at IS NULL");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, task_id);
    return sq_exec_stmt(c, st, "fts_insert");
}

/* Replaces the task's tag links, creating tags on demand. */
static int write_tags(struct sq_conn *c, const struct task *t)
{
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM task_tags WHERE task_id = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, t->id);
    int rc = sq_exec_stmt(c, st, "tags_clear");
    for (size_t i = 0; !rc && i < t->ntags; i++) {
        st = sq_stmt(c, "INSERT INTO tags (user_id, name) VALUES (?1, ?2) "
                        "ON CONFLICT (user_id, name) DO NOTHING");
        if (!st)
            return TOCK_ESTORE;
        sqlite3_bind_int64(st, 1, t->user_id);
        sq_bind_text(st, 2, t->tags[i]);
        if ((rc = sq_exec_stmt(c, st, "tag_upsert")))
            break;
        st = sq_stmt(c, "INSERT INTO task_tags (task_id, tag_id) SELECT ?1, id FROM tags "
                        "WHERE user_id = ?2 AND name = ?3");
        if (!st)
            return TOCK_ESTORE;
        sqlite3_bind_int64(st, 1, t->id);
        sqlite3_bind_int64(st, 2, t->user_id);
        sq_bind_text(st, 3, t->tags[i]);
        rc = sq_exec_stmt(c, st, "tag_link");
    }
    return rc;
}

static int bind_task_cols(sqlite3_stmt *st, const struct task *t)
{
    char *tt = task_tags_join(t);
    if (!tt)
        return TOCK_ENOMEM;
    sqlite3_bind_text(st, 20, tt, -1, free);
    sqlite3_bind_int64(st, 1, t->user_id);
    sq_bind_text(st, 2, t->title);
    sq_bind_text(st, 3, t->description ? t->description : "");
    sqlite3_bind_int(st, 4, t->status);
    sqlite3_bind_int(st, 5, t->priority);
    sq_bind_i64_or_null(st, 6, t->due_at, t->has_due);
    sq_bind_text(st, 7, t->has_due ? t->due_local : NULL);
    sqlite3_bind_int(st, 8, t->due_has_time);
    sq_bind_text(st, 9, t->timezone);
    sq_bind_i64_or_null(st, 10, t->completed_at, t->completed_at != 0);
    sq_bind_i64_or_null(st, 11, t->series_id, t->series_id != 0);
    sqlite3_bind_int64(st, 12, t->occurrence ? t->occurrence : 1);
    sq_bind_text(st, 13, t->rrule);
    sqlite3_bind_int(st, 14, t->recur_from);
    sqlite3_bind_int64(st, 15, t->version);
    sqlite3_bind_int64(st, 16, t->created_at);
    sqlite3_bind_int64(st, 17, t->updated_at);
    sq_bind_i64_or_null(st, 18, t->deleted_at, t->deleted_at != 0);
    sq_bind_text(st, 21, t->series_start[0] ? t->series_start : NULL);
    return 0;
}

int sq_task_insert(struct store_conn *base, struct task *t)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "INSERT INTO tasks (user_id, title, description, status, priority, due_at, "
           "due_local, due_has_time, timezone, completed_at, series_id, occurrence, rrule, "
           "recur_from, version, created_at, updated_at, deleted_at, tags_text, series_start) VALUES "
           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?20, "
           "?21)");
    if (!st)
        return TOCK_ESTORE;
    if (bind_task_cols(st, t))
        return TOCK_ENOMEM;
    int rc = sq_exec_stmt(c, st, "task_insert");
    if (rc)
        return rc;
    t->id = sqlite3_last_insert_rowid(c->db);
    if (!t->series_id) {
        t->series_id = t->id;
        st = sq_stmt(c, "UPDATE tasks SET series_id = id WHERE id = ?1");
        if (!st)
            return TOCK_ESTORE;
        sqlite3_bind_int64(st, 1, t->id);
        if ((rc = sq_exec_stmt(c, st, "task_series")))
            return rc;
    }
    if ((rc = write_tags(c, t)))
        return rc;
    return sq_fts_refresh(c, t->id);
}

int sq_task_get(struct store_conn *base, int64_t user_id, int64_t id, bool for_update,
                struct task *out)
{
    (void)for_update; /* SQLite: the write transaction already holds the database lock */
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ?1 AND "
                                  "t.user_id = ?2 AND t.deleted_at IS NULL");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "task_get");
    }
    rc = read_task(st, out);
    sqlite3_reset(st);
    return rc;
}

int sq_task_update(struct store_conn *base, const struct task *t)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "UPDATE tasks SET title = ?2, description = ?3, status = ?4, priority = ?5, due_at = "
           "?6, due_local = ?7, due_has_time = ?8, timezone = ?9, completed_at = ?10, "
           "series_id = ?11, occurrence = ?12, rrule = ?13, recur_from = ?14, version = ?15, "
           "created_at = ?16, updated_at = ?17, deleted_at = ?18, tags_text = ?20, series_start = ?21 "
           "WHERE user_id = ?1 AND id = ?19");
    if (!st)
        return TOCK_ESTORE;
    if (bind_task_cols(st, t))
        return TOCK_ENOMEM;
    sqlite3_bind_int64(st, 19, t->id);
    int rc = sq_exec_stmt(c, st, "task_update");
    if (rc)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return TOCK_ENOTFOUND;
    if ((rc = write_tags(c, t)))
        return rc;
    return sq_fts_refresh(c, t->id);
}

/* ---- the list query ---- */

enum bind_kind { B_I64, B_TEXT, B_REAL };
struct bind {
    enum bind_kind kind;
    int64_t i;
    double d;
    const char *s;
};

struct qb {
    struct buf sql;
    struct bind binds[128];
    int n;
};

static void bi(struct qb *q, int64_t v)
{
    q->binds[q->n++] = (struct bind){B_I64, v, 0, NULL};
}

static void bs(struct qb *q, const char *s)
{
    q->binds[q->n++] = (struct bind){B_TEXT, 0, 0, s};
}

static void bd(struct qb *q, double d)
{
    q->binds[q->n++] = (struct bind){B_REAL, 0, d, NULL};
}

/* list_sql hooks: SQLite binds by position, so each value is written as "?". */
static void hook_i64(void *ctx, int64_t v)
{
    struct qb *q = ctx;
    buf_puts(&q->sql, "?");
    bi(q, v);
}

static void hook_text(void *ctx, const char *s)
{
    struct qb *q = ctx;
    buf_puts(&q->sql, "?");
    bs(q, s);
}

static void hook_real(void *ctx, double d)
{
    struct qb *q = ctx;
    buf_puts(&q->sql, "?");
    bd(q, d);
}

static void fts_match(struct buf *m, const struct task_filter *f, int64_t user_id)
{
    buf_printf(m, "owner : \"u%" PRId64 "\" AND {title tags description} : (", user_id);
    for (size_t i = 0; i < f->nq_terms; i++) {
        buf_printf(m, "%s\"%s\"", i ? " " : "", f->q_terms[i]);
        if (i + 1 == f->nq_terms && f->q_last_prefix)
            buf_puts(m, "*");
    }
    buf_puts(m, ")");
}

int sq_task_list(struct store_conn *base, int64_t user_id, const struct task_filter *f,
                 struct task **out, size_t *n, double **ranks)
{
    struct sq_conn *c = sq_active(base);
    *out = NULL;
    *n = 0;
    if (ranks)
        *ranks = NULL;
    if (f->q && f->nq_terms == 0)
        return 0; /* a query with no words matches nothing */
    struct qb q;
    memset(&q, 0, sizeof q);
    buf_init(&q.sql, 0);
    struct buf match = BUF_INIT;
    if (f->q) {
        fts_match(&match, f, user_id);
        buf_puts(&q.sql, "WITH m AS MATERIALIZED (SELECT rowid AS id, -bm25(tasks_fts, 10.0, "
                         "5.0, 1.0, 0.0) AS rk FROM tasks_fts WHERE tasks_fts MATCH ?)");
        bs(&q, match.data);
    }
    /* With tags kept in tasks.tags_text, one SELECT serves: the default order reads
     * straight off tasks_list_default and stops after limit + 1 rows. */
    buf_printf(&q.sql, "%sSELECT " TASK_COLS ", %s FROM tasks t%s WHERE t.user_id = ? AND "
                       "t.deleted_at IS NULL",
               f->q ? " " : "", f->q ? "m.rk" : "0.0", f->q ? " JOIN m ON m.id = t.id" : "");
    bi(&q, user_id);
    /* Title order: SQLite's lower() folds ASCII only, like the cursor encoder. */
    struct list_sql ls = {&q.sql, hook_i64, hook_text, hook_real, &q, "lower(t.title)", "m.rk"};
    list_sql_where(&ls, f);
    list_sql_order_limit(&ls, f);

    int rc = 0;
    sqlite3_stmt *st = q.sql.data && !q.sql.len ? NULL : sq_stmt(c, q.sql.data);
    if (!st) {
        rc = TOCK_ESTORE;
        goto out;
    }
    for (int i = 0; i < q.n; i++) {
        if (q.binds[i].kind == B_I64)
            sqlite3_bind_int64(st, i + 1, q.binds[i].i);
        else if (q.binds[i].kind == B_REAL)
            sqlite3_bind_double(st, i + 1, q.binds[i].d);
        else
            sq_bind_text(st, i + 1, q.binds[i].s);
    }
    size_t cap = (size_t)f->limit + 1;
    struct task *v = calloc(cap, sizeof *v);
    double *r = calloc(cap, sizeof *r);
    if (!v || !r) {
        free(v);
        free(r);
        sqlite3_reset(st);
        rc = TOCK_ENOMEM;
        goto out;
    }
    size_t m = 0;
    int step;
    while (m < cap && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = read_task(st, &v[m])))
            break;
        r[m] = sqlite3_column_double(st, TASK_NCOLS);
        m++;
    }
    if (!rc && m < cap && step != SQLITE_DONE)
        rc = sq_err(c, step, "task_list");
    sqlite3_reset(st);
    if (rc) {
        for (size_t i = 0; i < m; i++)
            task_release(&v[i]);
        free(v);
        free(r);
        goto out;
    }
    *out = v;
    *n = m;
    if (ranks)
        *ranks = r;
    else
        free(r);
out:
    buf_free(&q.sql);
    buf_free(&match);
    return rc;
}

/* ---- tags ---- */

#define TAG_COLS                                                                               \
    "g.id, g.user_id, g.name, g.color, (SELECT count(*) FROM task_tags tt JOIN tasks t ON "    \
    "t.id = tt.task_id WHERE tt.tag_id = g.id AND t.deleted_at IS NULL)"

static void read_tag(sqlite3_stmt *st, struct tag *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    snprintf(t->name, sizeof t->name, "%s", sq_col_text(st, 2));
    snprintf(t->color, sizeof t->color, "%s", sq_col_text(st, 3));
    t->task_count = sqlite3_column_int64(st, 4);
}

int sq_tag_list(struct store_conn *base, int64_t user_id, const char *prefix, int limit,
                struct tag **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " TAG_COLS " AS n FROM tags g WHERE g.user_id = ?1 "
                                  "AND substr(g.name, 1, length(?2)) = ?2 ORDER BY n DESC, "
                                  "g.name LIMIT ?3");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sq_bind_text(st, 2, prefix ? prefix : "");
    sqlite3_bind_int(st, 3, limit);
    struct tag *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tag *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv) {
            free(v);
            sqlite3_reset(st);
            return TOCK_ENOMEM;
        }
        v = nv;
        read_tag(st, &v[m++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return sq_err(c, rc, "tag_list");
    }
    *out = v;
    *n = m;
    return 0;
}

static int tag_one(struct sq_conn *c, sqlite3_stmt *st, struct tag *out)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_tag(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "tag_get");
}

int sq_tag_get(struct store_conn *base, int64_t user_id, int64_t id, struct tag *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "SELECT " TAG_COLS " FROM tags g WHERE g.id = ?1 AND g.user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    return tag_one(c, st, out);
}

int sq_tag_by_name(struct store_conn *base, int64_t user_id, const char *name, struct tag *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "SELECT " TAG_COLS " FROM tags g WHERE g.user_id = ?1 AND g.name = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sq_bind_text(st, 2, name);
    return tag_one(c, st, out);
}

int sq_tag_insert(struct store_conn *base, struct tag *t)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO tags (user_id, name, color) VALUES (?1, ?2, ?3)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, t->user_id);
    sq_bind_text(st, 2, t->name);
    sq_bind_text(st, 3, t->color[0] ? t->color : NULL);
    int rc = sq_exec_stmt(c, st, "tag_insert");
    if (!rc)
        t->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

/*
 * Recomputes tags_text of the tasks linked to tag_id (the service then rewrites each
 * task, which refreshes its search row),
 * leaving out `without` (a tag about to be deleted; 0 for none).
 */
static int refresh_tagged(struct sq_conn *c, int64_t tag_id, int64_t without)
{
    sqlite3_stmt *st = sq_stmt(
        c, "UPDATE tasks SET tags_text = coalesce((SELECT group_concat(g.name, ',') FROM "
           "task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = tasks.id AND g.id <> "
           "?2), '') WHERE id IN (SELECT task_id FROM task_tags WHERE tag_id = ?1)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, tag_id);
    sqlite3_bind_int64(st, 2, without);
    return sq_exec_stmt(c, st, "tags_text_refresh");
}

int sq_tag_update(struct store_conn *base, const struct tag *t)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "UPDATE tags SET name = ?3, color = ?4 WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_int64(st, 2, t->user_id);
    sq_bind_text(st, 3, t->name);
    sq_bind_text(st, 4, t->color[0] ? t->color : NULL);
    int rc = sq_exec_stmt(c, st, "tag_update");
    if (!rc && sqlite3_changes(c->db) == 0)
        return TOCK_ENOTFOUND;
    return rc ? rc : refresh_tagged(c, t->id, 0);
}

int sq_tag_merge(struct store_conn *base, int64_t user_id, int64_t from, int64_t into)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT OR IGNORE INTO task_tags (task_id, tag_id) SELECT "
                                  "tt.task_id, ?2 FROM task_tags tt JOIN tags g ON g.id = "
                                  "tt.tag_id WHERE tt.tag_id = ?1 AND g.user_id = ?3");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, into);
    sqlite3_bind_int64(st, 3, user_id);
    int rc = sq_exec_stmt(c, st, "tag_merge");
    if (!rc)
        rc = sq_tag_delete(base, user_id, from);
    return rc ? rc : refresh_tagged(c, into, 0);
}

int sq_tag_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct sq_conn *c = sq_active(base);
    struct tag check;
    int rc0 = sq_tag_get(base, user_id, id, &check);
    if (rc0)
        return rc0;
    if ((rc0 = refresh_tagged(c, id, id)))
        return rc0;
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM tags WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sq_exec_stmt(c, st, "tag_delete");
    if (!rc && sqlite3_changes(c->db) == 0)
        return TOCK_ENOTFOUND;
    return rc;
}

int sq_tag_task_ids(struct store_conn *base, int64_t user_id, int64_t tag_id, int64_t **ids,
                    size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT t.id FROM task_tags tt JOIN tasks t ON t.id = "
                                  "tt.task_id WHERE tt.tag_id = ?1 AND t.user_id = ?2 AND "
                                  "t.deleted_at IS NULL ORDER BY t.id");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, tag_id);
    sqlite3_bind_int64(st, 2, user_id);
    int64_t *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv) {
            free(v);
            sqlite3_reset(st);
            return TOCK_ENOMEM;
        }
        v = nv;
        v[m++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return sq_err(c, rc, "tag_task_ids");
    }
    *ids = v;
    *n = m;
    return 0;
}
