/*
 * store_sqlite.c — the SQLite backend: a fixed pool of connections (one borrowed
 * per unit of work), WAL with a busy timeout and foreign keys, prepared statements
 * cached per connection, migrations at open, and the user/token/outbox ops. Task
 * and tag ops live in store_sqlite_tasks.c.
 *
 * Write transactions use BEGIN IMMEDIATE, so a writer takes the lock up front and
 * never fails half-way with SQLITE_BUSY on upgrade.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/clock.h"
#include "obs/log.h"
#include "store/migrations.h"
#include "store/sqlite_int.h"

struct store {
    char *path;
    struct store_config cfg;
    struct sq_conn *conns;
    int nconns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /*
     * In-process writers queue here before BEGIN IMMEDIATE. SQLite's own busy
     * handler waits by sleeping with backoff (up to 100 ms a nap), which under
     * load turns lock contention into long tails; a mutex hands the lock over at
     * once. Other processes still meet the busy timeout.
     */
    pthread_mutex_t write_mu;
    /*
     * Group commit. Writers share `writer`; each unit of work is a SAVEPOINT inside
     * the open batch transaction, and the batch commits (one fsync) when no other
     * writer is queued or GROUP_MAX units have joined. Every member returns only
     * after that COMMIT, so a success is as durable as a commit of its own, and a
     * failed COMMIT fails every member (none of their rows or events persist).
     */
    struct sq_conn writer;
    bool batch_open;
    int batch_ops;
    uint64_t batch_id;
    pthread_mutex_t batch_mu; /* guards the fields below */
    pthread_cond_t batch_cv;
    int waiting;              /* writers queued for write_mu */
    uint64_t done_id;         /* last finished batch */
    int results[64];          /* its result, by batch_id % 64 */
};

#define GROUP_MAX 64

struct sq_conn *sq_active(struct store_conn *base)
{
    struct sq_conn *c = (struct sq_conn *)base;
    return c->active ? c->active : c;
}

sqlite3_stmt *sq_stmt(struct sq_conn *c, const char *sql)
{
    for (int i = 0; i < SQ_CACHE; i++) {
        struct sq_cached *e = &c->cache[i];
        if (e->sql && strcmp(e->sql, sql) == 0) {
            sqlite3_reset(e->stmt);
            sqlite3_clear_bindings(e->stmt);
            return e->stmt;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_msg(LOG_ERROR, "sqlite prepare failed: %s", sqlite3_errmsg(c->db));
        return NULL;
    }
    int slot = -1;
    for (int i = 0; i < SQ_CACHE && slot < 0; i++)
        if (!c->cache[i].sql)
            slot = i;
    if (slot < 0) {
        slot = (int)(c->next_evict++ % SQ_CACHE);
        sqlite3_finalize(c->cache[slot].stmt);
        free(c->cache[slot].sql);
    }
    c->cache[slot].sql = strdup(sql);
    c->cache[slot].stmt = st;
    if (!c->cache[slot].sql) {
        sqlite3_finalize(st);
        c->cache[slot].stmt = NULL;
        return NULL;
    }
    return st;
}

int sq_err(struct sq_conn *c, int rc, const char *what)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return 0;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return TOCK_ECONFLICT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: log_msg(LOG_WARN, "sqlite busy in %s", what); return TOCK_EBUSY;
    case SQLITE_NOMEM: return TOCK_ENOMEM;
    }
    log_msg(LOG_ERROR, "sqlite error in %s: %s (%d)", what, sqlite3_errmsg(c->db), rc);
    return TOCK_ESTORE;
}

int sq_exec_stmt(struct sq_conn *c, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return TOCK_ESTORE;
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_err(c, sqlite3_extended_errcode(c->db), what);
    sqlite3_reset(st);
    return err;
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void sq_bind_i64_or_null(sqlite3_stmt *st, int i, int64_t v, bool present)
{
    if (present)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

const char *sq_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return TOCK_ESTORE;
    }
    return 0;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    if (exec_sql(db,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, "
                 "applied_at INTEGER NOT NULL)",
                 err, errlen))
        return TOCK_ESTORE;
    for (const struct migration *m = sqlite_migrations; m->name; m++) {
        if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen))
            return TOCK_ESTORE;
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE name = ?1", -1, &st, NULL);
        sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
        int have = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (!have) {
            if (exec_sql(db, m->sql, err, errlen)) {
                exec_sql(db, "ROLLBACK", err + strlen(err), 0);
                return TOCK_ESTORE;
            }
            sqlite3_prepare_v2(db, "INSERT INTO schema_migrations VALUES (?1, ?2)", -1, &st, NULL);
            sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, clock_now_ms());
            int rc = sqlite3_step(st);
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE) {
                snprintf(err, errlen, "recording migration %s: %s", m->name, sqlite3_errmsg(db));
                exec_sql(db, "ROLLBACK", err + strlen(err), 0);
                return TOCK_ESTORE;
            }
            log_msg(LOG_INFO, "applied migration %s", m->name);
        }
        if (exec_sql(db, "COMMIT", err, errlen))
            return TOCK_ESTORE;
    }
    return 0;
}

static int open_conn(struct store *s, struct sq_conn *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->base.ops = &store_sqlite_ops;
    c->base.store = s;
    int rc = sqlite3_open_v2(s->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", s->path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        return TOCK_ESTORE;
    }
    sqlite3_busy_timeout(c->db, s->cfg.busy_timeout_ms);
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; "
             "PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;",
             s->cfg.sync_full ? "FULL" : "NORMAL");
    return exec_sql(c->db, pragmas, err, errlen);
}

static void close_conn(struct sq_conn *c)
{
    for (int i = 0; i < SQ_CACHE; i++) {
        if (c->cache[i].stmt)
            sqlite3_finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
}

static void sq_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nconns; i++)
        close_conn(&s->conns[i]);
    if (s->writer.db)
        close_conn(&s->writer);
    free(s->conns);
    free(s->path);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->batch_mu);
    pthread_cond_destroy(&s->batch_cv);
    free(s);
}

/*
 * SQLite keeps allocation statistics by default, which takes a global mutex on
 * every malloc: with several threads that lock was ~20% of a search request.
 * Must run before SQLite initialises, i.e. before the first connection.
 */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const char *url, const struct store_config *cfg, struct store **out, char *err,
                   size_t errlen)
{
    const char *path = url + strlen("sqlite:");
    if (strncmp(path, "//", 2) == 0)
        path += 2;
    if (!*path) {
        snprintf(err, errlen, "TOCK_DB: sqlite URL needs a path (sqlite:./tock.db)");
        return TOCK_EINVAL;
    }
    pthread_once(&config_once, configure_sqlite);
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return TOCK_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->batch_mu, NULL);
    pthread_cond_init(&s->batch_cv, NULL);
    s->cfg = *cfg;
    if (s->cfg.pool_size < 1)
        s->cfg.pool_size = 8;
    s->path = strdup(path);
    s->conns = calloc((size_t)s->cfg.pool_size, sizeof *s->conns);
    if (!s->path || !s->conns) {
        sq_close(s);
        return TOCK_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < s->cfg.pool_size; i++) {
        rc = open_conn(s, &s->conns[i], err, errlen);
        s->nconns = i + 1;
        if (rc)
            break;
        if (i == 0 && (rc = migrate(s->conns[0].db, err, errlen)))
            break;
    }
    if (!rc)
        rc = open_conn(s, &s->writer, err, errlen);
    if (rc) {
        sq_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int sq_acquire(struct store *s, struct store_conn **out)
{
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (int i = 0; i < s->nconns; i++) {
            if (!s->conns[i].in_use) {
                s->conns[i].in_use = true;
                pthread_mutex_unlock(&s->mu);
                *out = &s->conns[i].base;
                return 0;
            }
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
}

static void sq_rollback(struct store_conn *base);

static void sq_release(struct store_conn *base)
{
    struct sq_conn *c = (struct sq_conn *)base;
    struct store *s = base->store;
    if (c->in_tx) {
        /* A caller forgot to finish: never hand a connection on mid-transaction. */
        sq_rollback(base);
    }
    pthread_mutex_lock(&s->mu);
    c->in_use = false;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int sq_ping(struct store_conn *base, int *applied)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT count(*) FROM schema_migrations");
    if (!st)
        return TOCK_ESTORE;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return sq_err(c, rc, "ping");
    *applied = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    int want = 0;
    for (const struct migration *m = sqlite_migrations; m->name; m++)
        want++;
    return *applied >= want ? 0 : TOCK_ESTORE;
}

static int writer_exec(struct store *s, const char *sql, const char *what)
{
    return sq_exec_stmt(&s->writer, sq_stmt(&s->writer, sql), what);
}

/*
 * Ends c's unit of work (it holds write_mu). Flushes the batch when nobody else
 * is queued or the batch is full; otherwise leaves the COMMIT to a later member
 * and, if this unit contributed changes, waits for it. Returns the unit's result.
 */
static int finish_unit(struct sq_conn *c, bool contributed)
{
    struct store *s = c->base.store;
    uint64_t k = c->batch;
    c->active = NULL;
    c->in_tx = false;
    c->holds_write = false;
    pthread_mutex_lock(&s->batch_mu);
    bool flush = s->waiting == 0 || s->batch_ops >= GROUP_MAX;
    pthread_mutex_unlock(&s->batch_mu);
    if (flush) {
        int rc = 0;
        if (s->batch_ops > 0) {
            rc = writer_exec(s, "COMMIT", "commit");
            if (rc)
                sqlite3_exec(s->writer.db, "ROLLBACK", NULL, NULL, NULL);
        } else {
            sqlite3_exec(s->writer.db, "ROLLBACK", NULL, NULL, NULL);
        }
        s->batch_open = false;
        pthread_mutex_lock(&s->batch_mu);
        s->results[k % 64] = rc;
        s->done_id = k;
        pthread_cond_broadcast(&s->batch_cv);
        pthread_mutex_unlock(&s->batch_mu);
        pthread_mutex_unlock(&s->write_mu);
        return contributed ? rc : 0;
    }
    pthread_mutex_unlock(&s->write_mu);
    if (!contributed)
        return 0;
    pthread_mutex_lock(&s->batch_mu);
    while (s->done_id < k)
        pthread_cond_wait(&s->batch_cv, &s->batch_mu);
    int rc = s->results[k % 64];
    pthread_mutex_unlock(&s->batch_mu);
    return rc;
}

static int sq_begin(struct store_conn *base, bool write)
{
    struct sq_conn *c = (struct sq_conn *)base;
    struct store *s = base->store;
    if (!write) {
        int rc = sq_exec_stmt(c, sq_stmt(c, "BEGIN"), "begin");
        c->in_tx = rc == 0;
        return rc;
    }
    pthread_mutex_lock(&s->batch_mu);
    s->waiting++;
    pthread_mutex_unlock(&s->batch_mu);
    pthread_mutex_lock(&s->write_mu);
    pthread_mutex_lock(&s->batch_mu);
    s->waiting--;
    pthread_mutex_unlock(&s->batch_mu);
    if (!s->batch_open) {
        int rc = writer_exec(s, "BEGIN IMMEDIATE", "begin");
        if (rc) {
            pthread_mutex_unlock(&s->write_mu);
            return rc;
        }
        s->batch_open = true;
        s->batch_ops = 0;
        s->batch_id++;
    }
    c->batch = s->batch_id;
    c->holds_write = true;
    c->in_tx = true;
    int rc = writer_exec(s, "SAVEPOINT unit", "savepoint");
    if (rc) {
        finish_unit(c, false);
        return rc;
    }
    c->active = &s->writer;
    return 0;
}

static int sq_commit(struct store_conn *base)
{
    struct sq_conn *c = (struct sq_conn *)base;
    struct store *s = base->store;
    if (!c->holds_write) {
        int rc = sq_exec_stmt(c, sq_stmt(c, "COMMIT"), "commit");
        if (rc)
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        c->in_tx = false;
        return rc;
    }
    int rc = writer_exec(s, "RELEASE unit", "release");
    if (rc) {
        sqlite3_exec(s->writer.db, "ROLLBACK TO unit; RELEASE unit", NULL, NULL, NULL);
        finish_unit(c, false);
        return rc;
    }
    s->batch_ops++;
    return finish_unit(c, true);
}

static void sq_rollback(struct store_conn *base)
{
    struct sq_conn *c = (struct sq_conn *)base;
    struct store *s = base->store;
    if (c->holds_write) {
        sqlite3_exec(s->writer.db, "ROLLBACK TO unit; RELEASE unit", NULL, NULL, NULL);
        finish_unit(c, false);
    } else if (c->in_tx) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        c->in_tx = false;
    }
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, display_name, timezone, created_at"

static void read_user(sqlite3_stmt *st, struct user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    snprintf(u->email, sizeof u->email, "%s", sq_col_text(st, 1));
    snprintf(u->password_hash, sizeof u->password_hash, "%s", sq_col_text(st, 2));
    snprintf(u->display_name, sizeof u->display_name, "%s", sq_col_text(st, 3));
    snprintf(u->timezone, sizeof u->timezone, "%s", sq_col_text(st, 4));
    u->created_at = sqlite3_column_int64(st, 5);
}

static int sq_user_insert(struct store_conn *base, struct user *u)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO users (email, password_hash, display_name, "
                                  "timezone, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, u->email);
    sq_bind_text(st, 2, u->password_hash);
    sq_bind_text(st, 3, u->display_name);
    sq_bind_text(st, 4, u->timezone);
    sqlite3_bind_int64(st, 5, u->created_at);
    int rc = sq_exec_stmt(c, st, "user_insert");
    if (!rc)
        u->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static int user_query(struct sq_conn *c, sqlite3_stmt *st, struct user *out)
{
    if (!st)
        return TOCK_ESTORE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_user(st, out);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "user query");
}

static int sq_user_by_email(struct store_conn *base, const char *email, struct user *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " USER_COLS " FROM users WHERE email = ?1");
    if (st)
        sq_bind_text(st, 1, email);
    return user_query(c, st, out);
}

static int sq_user_by_id(struct store_conn *base, int64_t id, struct user *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " USER_COLS " FROM users WHERE id = ?1");
    if (st)
        sqlite3_bind_int64(st, 1, id);
    return user_query(c, st, out);
}

static int sq_user_update(struct store_conn *base, const struct user *u)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "UPDATE users SET display_name = ?2, timezone = ?3 WHERE id = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, u->id);
    sq_bind_text(st, 2, u->display_name);
    sq_bind_text(st, 3, u->timezone);
    int rc = sq_exec_stmt(c, st, "user_update");
    if (!rc && sqlite3_changes(c->db) == 0)
        return TOCK_ENOTFOUND;
    return rc;
}

/* ---- API tokens ---- */

static int sq_token_insert(struct store_conn *base, struct api_token *t, const char *hash)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT count(*) FROM api_tokens WHERE user_id = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, t->user_id);
    int64_t count = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (count >= TOKENS_PER_USER_MAX)
        return TOCK_ELIMIT;
    st = sq_stmt(c, "INSERT INTO api_tokens (user_id, name, token_hash, created_at) "
                    "VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, t->user_id);
    sq_bind_text(st, 2, t->name);
    sq_bind_text(st, 3, hash);
    sqlite3_bind_int64(st, 4, t->created_at);
    int rc = sq_exec_stmt(c, st, "token_insert");
    if (!rc)
        t->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static int sq_token_list(struct store_conn *base, int64_t user_id, struct api_token **out,
                         size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT id, user_id, name, created_at, last_used_at FROM "
                                  "api_tokens WHERE user_id = ?1 ORDER BY id");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    struct api_token *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct api_token *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv) {
            free(v);
            sqlite3_reset(st);
            return TOCK_ENOMEM;
        }
        v = nv;
        struct api_token *t = &v[m++];
        memset(t, 0, sizeof *t);
        t->id = sqlite3_column_int64(st, 0);
        t->user_id = sqlite3_column_int64(st, 1);
        snprintf(t->name, sizeof t->name, "%s", sq_col_text(st, 2));
        t->created_at = sqlite3_column_int64(st, 3);
        t->last_used_at = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return sq_err(c, rc, "token_list");
    }
    *out = v;
    *n = m;
    return 0;
}

static int sq_token_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sq_exec_stmt(c, st, "token_delete");
    if (!rc && sqlite3_changes(c->db) == 0)
        return TOCK_ENOTFOUND;
    return rc;
}

static int sq_token_lookup(struct store_conn *base, const char *hash, int64_t *token_id,
                           int64_t *user_id, int64_t *last_used_at)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = ?1");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, hash);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "token_lookup");
    }
    *token_id = sqlite3_column_int64(st, 0);
    *user_id = sqlite3_column_int64(st, 1);
    *last_used_at = sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
    return 0;
}

static int sq_token_touch(struct store_conn *base, int64_t token_id, int64_t now)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, token_id);
    sqlite3_bind_int64(st, 2, now);
    return sq_exec_stmt(c, st, "token_touch");
}

/* ---- outbox ---- */

static int sq_outbox_append(struct store_conn *base, struct outbox_row *r)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO outbox (event_id, topic, msg_key, user_id, "
                                  "task_id, type, event_json, created_at) VALUES "
                                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, r->event_id);
    sq_bind_text(st, 2, r->topic);
    sq_bind_text(st, 3, r->key);
    sqlite3_bind_int64(st, 4, r->user_id);
    sq_bind_i64_or_null(st, 5, r->task_id, r->task_id != 0);
    sq_bind_text(st, 6, r->type);
    sq_bind_text(st, 7, r->event_json);
    sqlite3_bind_int64(st, 8, r->created_at);
    int rc = sq_exec_stmt(c, st, "outbox_append");
    if (!rc)
        r->seq = sqlite3_last_insert_rowid(c->db);
    return rc;
}

#define OUTBOX_COLS                                                                            \
    "id, topic, msg_key, user_id, task_id, type, event_id, event_json, created_at, "           \
    "published_at"
/* The same row in event_log's column order. */
#define OUTBOX_COLS_LOG                                                                        \
    "id, event_id, topic, msg_key, user_id, task_id, type, event_json, created_at, "           \
    "published_at"

static int read_outbox(struct sq_conn *c, sqlite3_stmt *st, struct outbox_row **out, size_t *n)
{
    struct outbox_row *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct outbox_row *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv)
            goto oom;
        v = nv;
        struct outbox_row *r = &v[m];
        memset(r, 0, sizeof *r);
        r->seq = sqlite3_column_int64(st, 0);
        snprintf(r->topic, sizeof r->topic, "%s", sq_col_text(st, 1));
        snprintf(r->key, sizeof r->key, "%s", sq_col_text(st, 2));
        r->user_id = sqlite3_column_int64(st, 3);
        r->task_id = sqlite3_column_int64(st, 4);
        snprintf(r->type, sizeof r->type, "%s", sq_col_text(st, 5));
        snprintf(r->event_id, sizeof r->event_id, "%s", sq_col_text(st, 6));
        r->event_json = strdup(sq_col_text(st, 7));
        r->created_at = sqlite3_column_int64(st, 8);
        r->published_at = sqlite3_column_int64(st, 9);
        r->replayed = sqlite3_column_count(st) > 10 && sqlite3_column_int(st, 10) != 0;
        m++;
        if (!r->event_json)
            goto oom;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        outbox_rows_free(v, m);
        return sq_err(c, rc, "outbox read");
    }
    *out = v;
    *n = m;
    return 0;
oom:
    sqlite3_reset(st);
    outbox_rows_free(v, m);
    return TOCK_ENOMEM;
}

static int sq_outbox_fetch(struct store_conn *base, int64_t after, int limit,
                           bool unpublished_only, struct outbox_row **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, unpublished_only
                                      ? "SELECT " OUTBOX_COLS " FROM outbox WHERE id > ?1 AND "
                                        "published_at IS NULL ORDER BY id LIMIT ?2"
                                      : "SELECT " OUTBOX_COLS
                                        " FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, limit);
    return read_outbox(c, st, out, n);
}

static int sq_outbox_mark_published(struct store_conn *base, const int64_t *seqs, size_t n,
                                    int64_t now)
{
    struct sq_conn *c = sq_active(base);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = sq_stmt(c, "UPDATE outbox SET published_at = ?2, attempts = "
                                      "attempts + 1 WHERE id = ?1 AND published_at IS NULL");
        if (!st)
            return TOCK_ESTORE;
        sqlite3_bind_int64(st, 1, seqs[i]);
        sqlite3_bind_int64(st, 2, now);
        int rc = sq_exec_stmt(c, st, "outbox_mark");
        if (rc)
            return rc;
    }
    return 0;
}

static int sq_outbox_stats(struct store_conn *base, int64_t *depth, int64_t *oldest)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT count(*), coalesce(min(created_at), 0) FROM outbox "
                                  "WHERE published_at IS NULL");
    if (!st)
        return TOCK_ESTORE;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_err(c, rc, "outbox_stats");
    }
    *depth = sqlite3_column_int64(st, 0);
    *oldest = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return 0;
}

static int sq_task_history(struct store_conn *base, int64_t user_id, int64_t task_id,
                           struct outbox_row **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    /* Pruned rows live on in event_log (same seq), so history spans both tables. */
    sqlite3_stmt *st = sq_stmt(c, "SELECT seq, topic, msg_key, user_id, task_id, type, event_id, "
                                  "event_json, created_at, published_at FROM event_log WHERE "
                                  "user_id = ?1 AND task_id = ?2 AND topic = 'task-events' "
                                  "UNION ALL SELECT " OUTBOX_COLS " FROM outbox WHERE user_id = "
                                  "?1 AND task_id = ?2 AND topic = 'task-events' ORDER BY 1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, task_id);
    return read_outbox(c, st, out, n);
}

/* ---- outbox claiming and retention ---- */

/* SQLite has one writer at a time: the write transaction itself is the claim. */
static int sq_outbox_claim(struct store_conn *base, int limit, struct outbox_row **out,
                           size_t *n)
{
    return sq_outbox_fetch(base, 0, limit, true, out, n);
}

/* The id bound of the next batch of published rows older than before (0: none). */
static int prune_bound(struct sq_conn *c, int64_t before, int limit, int64_t *max_id)
{
    sqlite3_stmt *st = sq_stmt(c, "SELECT coalesce(max(id), 0) FROM (SELECT id FROM outbox "
                                  "WHERE published_at IS NOT NULL AND published_at < ?1 "
                                  "ORDER BY published_at LIMIT ?2)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int(st, 2, limit);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_err(c, rc, "outbox_prune");
    }
    *max_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

static int sq_outbox_prune(struct store_conn *base, int64_t before, int limit, int64_t *pruned)
{
    struct sq_conn *c = sq_active(base);
    int64_t max_id = 0;
    int rc = prune_bound(c, before, limit, &max_id);
    *pruned = 0;
    if (rc || max_id == 0)
        return rc;
    sqlite3_stmt *st = sq_stmt(c, "INSERT OR IGNORE INTO event_log (seq, event_id, topic, "
                                  "msg_key, user_id, task_id, type, event_json, created_at, "
                                  "published_at) SELECT " OUTBOX_COLS_LOG " FROM outbox WHERE "
                                  "id <= ?1 AND published_at IS NOT NULL AND published_at < ?2 "
                                  "AND topic IN ('task-events', 'dlq')");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, max_id);
    sqlite3_bind_int64(st, 2, before);
    if ((rc = sq_exec_stmt(c, st, "outbox_prune_log")))
        return rc;
    st = sq_stmt(c, "DELETE FROM outbox WHERE id <= ?1 AND published_at IS NOT NULL AND "
                    "published_at < ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, max_id);
    sqlite3_bind_int64(st, 2, before);
    if ((rc = sq_exec_stmt(c, st, "outbox_prune")))
        return rc;
    *pruned = sqlite3_changes(c->db);
    return 0;
}

static int sq_processed_prune(struct store_conn *base, int64_t before, int limit,
                              int64_t *deleted)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM processed_events WHERE (consumer, event_id) IN "
                                  "(SELECT consumer, event_id FROM processed_events WHERE "
                                  "processed_at < ?1 AND consumer <> 'dlq-replay' LIMIT ?2)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int(st, 2, limit);
    int rc = sq_exec_stmt(c, st, "processed_prune");
    if (!rc)
        *deleted = sqlite3_changes(c->db);
    return rc;
}

static int sq_processed_unmark(struct store_conn *base, const char *consumer,
                               const char *event_id)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "DELETE FROM processed_events WHERE consumer = ?1 AND event_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, consumer);
    sq_bind_text(st, 2, event_id);
    return sq_exec_stmt(c, st, "processed_unmark");
}

static int sq_deadletter_list(struct store_conn *base, int64_t after, int limit,
                              struct outbox_row **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "SELECT seq, topic, msg_key, user_id, task_id, type, event_id, event_json, "
           "created_at, published_at, EXISTS (SELECT 1 FROM processed_events p WHERE "
           "p.consumer = 'dlq-replay' AND p.event_id = d.event_id) FROM (SELECT seq, event_id, "
           "topic, msg_key, user_id, task_id, type, event_json, created_at, published_at FROM "
           "event_log WHERE type = 'tock.deadletter' AND seq > ?1 UNION ALL SELECT id AS seq, "
           "event_id, topic, msg_key, user_id, task_id, type, event_json, created_at, "
           "published_at FROM outbox WHERE type = 'tock.deadletter' AND id > ?1) d ORDER BY "
           "seq LIMIT ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, limit);
    return read_outbox(c, st, out, n);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .ordered_commits = true,
    .open = sq_open,
    .close = sq_close,
    .acquire = sq_acquire,
    .release = sq_release,
    .ping = sq_ping,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_insert = sq_user_insert,
    .user_by_email = sq_user_by_email,
    .user_by_id = sq_user_by_id,
    .user_update = sq_user_update,
    .token_insert = sq_token_insert,
    .token_list = sq_token_list,
    .token_delete = sq_token_delete,
    .token_lookup = sq_token_lookup,
    .token_touch = sq_token_touch,
    .task_insert = sq_task_insert,
    .task_get = sq_task_get,
    .task_update = sq_task_update,
    .task_list = sq_task_list,
    .tag_list = sq_tag_list,
    .tag_get = sq_tag_get,
    .tag_by_name = sq_tag_by_name,
    .tag_insert = sq_tag_insert,
    .tag_update = sq_tag_update,
    .tag_merge = sq_tag_merge,
    .tag_delete = sq_tag_delete,
    .tag_task_ids = sq_tag_task_ids,
    .outbox_append = sq_outbox_append,
    .outbox_fetch = sq_outbox_fetch,
    .outbox_mark_published = sq_outbox_mark_published,
    .outbox_stats = sq_outbox_stats,
    .task_history = sq_task_history,
    .processed_mark = sq_processed_mark,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .audit_prune = sq_audit_prune,
    .outbox_claim = sq_outbox_claim,
    .outbox_prune = sq_outbox_prune,
    .processed_prune = sq_processed_prune,
    .processed_unmark = sq_processed_unmark,
    .deadletter_list = sq_deadletter_list,
    /* ---- recurrence ---- */
    .task_occurrence_exists = sq_task_occurrence_exists,
    /* ---- reminders and notifications ---- */
    .reminder_insert = sq_reminder_insert,
    .reminder_get = sq_reminder_get,
    .reminder_update = sq_reminder_update,
    .reminder_delete = sq_reminder_delete,
    .reminder_list_task = sq_reminder_list_task,
    .reminder_list_user = sq_reminder_list_user,
    .reminder_cancel_task = sq_reminder_cancel_task,
    .reminder_next = sq_reminder_next,
    .reminder_claim_due = sq_reminder_claim_due,
    .notify_prefs_get = sq_notify_prefs_get,
    .notify_prefs_put = sq_notify_prefs_put,
    .notification_insert = sq_notification_insert,
    .notification_list = sq_notification_list,
    .notification_get = sq_notification_get,
    .notification_mark_read = sq_notification_mark_read,
    .delivery_insert = sq_delivery_insert,
    .delivery_due = sq_delivery_due,
    .delivery_group = sq_delivery_group,
    .delivery_update = sq_delivery_update,
    .delivery_list = sq_delivery_list,
    .delivery_next = sq_delivery_next,
    /* ---- sync ---- */
    .outbox_seq_of = sq_outbox_seq_of,
    .sync_rows = sq_sync_rows,
    .sync_bounds = sq_sync_bounds,
    /* ---- mcp sessions ---- */
    .mcp_session_insert = sq_mcp_session_insert,
    .mcp_session_get = sq_mcp_session_get,
    .mcp_session_touch = sq_mcp_session_touch,
    .mcp_session_delete = sq_mcp_session_delete,
    .mcp_session_prune = sq_mcp_session_prune,
    .delivery_recover = sq_delivery_recover,
    /* ---- chat ---- */
    .conversation_insert = sq_conversation_insert,
    .conversation_get = sq_conversation_get,
    .conversation_update = sq_conversation_update,
    .conversation_delete = sq_conversation_delete,
    .conversation_list = sq_conversation_list,
    .conversation_prune = sq_conversation_prune,
    .chat_message_insert = sq_chat_message_insert,
    .chat_message_list = sq_chat_message_list,
};
