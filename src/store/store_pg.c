/*
 * store_pg.c — the PostgreSQL backend (libpq): a fixed pool of connections (one
 * borrowed per unit of work, reconnected on acquire if it broke), named prepared
 * statements cached per connection, migrations at open under an advisory lock
 * (several processes may start at once), transactions, and the user/token/outbox
 * ops. Task and tag ops live in store_pg_tasks.c.
 *
 * Writers run concurrently (READ COMMITTED; task_get(for_update) takes the row
 * lock), so outbox ids are not assigned in commit order: ordered_commits is false.
 * Every value travels as a text parameter; results are read as text.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "obs/clock.h"
#include "obs/log.h"
#include "store/migrations.h"
#include "store/pg_int.h"

struct store {
    char *url;
    struct store_config cfg;
    struct pg_conn *conns;
    int nconns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* pg_advisory_lock key serializing migrations across processes ("tock" in ASCII). */
#define MIGRATE_LOCK_KEY "1953460075"

/* ---- parameters and results ---- */

void pp_i64(struct pg_params *p, int64_t v)
{
    if (p->n >= PG_MAXP)
        abort(); /* more parameters than PG_MAXP: a broken invariant */
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

void pp_i64_or_null(struct pg_params *p, int64_t v, bool present)
{
    if (present)
        pp_i64(p, v);
    else
        pp_text(p, NULL);
}

void pp_f8(struct pg_params *p, double v)
{
    if (p->n >= PG_MAXP)
        abort();
    snprintf(p->num[p->n], sizeof p->num[p->n], "%.17g", v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

void pp_text(struct pg_params *p, const char *s)
{
    if (p->n >= PG_MAXP)
        abort();
    p->v[p->n++] = s;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *pg_txt(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

double pg_f8(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0.0;
    return strtod(PQgetvalue(r, row, col), NULL);
}

int pg_err(struct pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "23505") == 0)
        return TOCK_ECONFLICT;
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                  strcmp(state, "55P03") == 0)) {
        log_msg(LOG_WARN, "postgres busy in %s (%s)", what, state);
        return TOCK_EBUSY;
    }
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!*msg)
        msg = PQerrorMessage(c->db);
    int len = (int)strcspn(msg, "\n");
    log_msg(LOG_ERROR, "postgres error in %s: %.*s (%s)", what, len, msg, state ? state : "-");
    return TOCK_ESTORE;
}

static void cache_clear(struct pg_conn *c)
{
    for (int i = 0; i < PG_CACHE; i++) {
        free(c->cache[i].sql);
        c->cache[i].sql = NULL;
    }
}

/* The name of sql's prepared statement on c, preparing it on first use. */
static const char *stmt_name(struct pg_conn *c, const char *sql, int *rc)
{
    for (int i = 0; i < PG_CACHE; i++)
        if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0)
            return c->cache[i].name;
    int slot = -1;
    for (int i = 0; i < PG_CACHE && slot < 0; i++)
        if (!c->cache[i].sql)
            slot = i;
    if (slot < 0) {
        slot = (int)(c->next_evict++ % PG_CACHE);
        char dealloc[32];
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", c->cache[slot].name);
        /* Fails harmlessly in an aborted transaction: names are never reused. */
        PQclear(PQexec(c->db, dealloc));
        free(c->cache[slot].sql);
        c->cache[slot].sql = NULL;
    }
    struct pg_cached *e = &c->cache[slot];
    snprintf(e->name, sizeof e->name, "tk%u", c->next_name++);
    PGresult *r = PQprepare(c->db, e->name, sql, 0, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        *rc = pg_err(c, r, "prepare");
        PQclear(r);
        return NULL;
    }
    PQclear(r);
    if (!(e->sql = strdup(sql))) {
        *rc = TOCK_ENOMEM;
        return NULL;
    }
    return e->name;
}

static void no_notices(void *arg, const char *message);

/*
 * libpq notices a dead link only when a call fails. Outside a transaction nothing
 * is lost by reconnecting and trying once more (the first statement of a unit of
 * work is its BEGIN), so a server restart costs no failed request.
 */
static bool reconnected(struct pg_conn *c)
{
    if (c->in_tx || PQstatus(c->db) == CONNECTION_OK)
        return false;
    log_msg(LOG_WARN, "postgres connection lost; reconnecting");
    cache_clear(c);
    PQreset(c->db);
    if (PQstatus(c->db) != CONNECTION_OK)
        return false;
    PQsetNoticeProcessor(c->db, no_notices, NULL);
    return true;
}

PGresult *pg_run(struct pg_conn *c, const char *sql, const struct pg_params *p, int *rc,
                 const char *what)
{
    for (int attempt = 0;; attempt++) {
        *rc = 0;
        PGresult *r = NULL;
        const char *name = stmt_name(c, sql, rc);
        if (name)
            r = PQexecPrepared(c->db, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (name && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
            return r;
        if (attempt == 0 && reconnected(c)) {
            PQclear(r);
            continue;
        }
        if (name)
            *rc = pg_err(c, r, what);
        PQclear(r);
        return NULL;
    }
}

int pg_exec(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *changed,
            const char *what)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, what);
    if (!r)
        return rc;
    if (changed)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

/* A simple-protocol command (transaction control, migrations); 0 or TOCK_E*. */
static int simple(struct pg_conn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c->db, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_FATAL_ERROR && reconnected(c)) {
        PQclear(r);
        r = PQexec(c->db, sql);
        st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    }
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_err(c, r, what);
    PQclear(r);
    return rc;
}

/* ---- connections, migrations, the pool ---- */

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

static int connect_one(struct store *s, struct pg_conn *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->base.ops = &store_pg_ops;
    c->base.store = s;
    /* Later keywords override earlier ones: the URL may set its own values. */
    const char *keys[] = {"application_name", "client_encoding", "dbname", NULL};
    const char *vals[] = {"tock", "UTF8", s->url, NULL};
    c->db = PQconnectdbParams(keys, vals, 1);
    if (!c->db) {
        snprintf(err, errlen, "postgres: out of memory");
        return TOCK_ENOMEM;
    }
    if (PQstatus(c->db) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c->db);
        snprintf(err, errlen, "postgres: cannot connect: %.*s", (int)strcspn(m, "\n"), m);
        return TOCK_ESTORE;
    }
    PQsetNoticeProcessor(c->db, no_notices, NULL);
    return 0;
}

static int migrate(struct pg_conn *c, char *err, size_t errlen)
{
    int rc = simple(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "migrate lock");
    if (rc) {
        snprintf(err, errlen, "postgres: cannot take the migration lock: %s",
                 PQerrorMessage(c->db));
        return rc;
    }
    rc = simple(c,
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, "
                "applied_at BIGINT NOT NULL)",
                "migrate");
    for (const struct migration *m = postgres_migrations; !rc && m->name; m++) {
        if ((rc = simple(c, "BEGIN", "migrate begin")))
            break;
        const char *pv[2] = {m->name, NULL};
        PGresult *r = PQexecParams(c->db, "SELECT 1 FROM schema_migrations WHERE name = $1", 1,
                                   NULL, pv, NULL, NULL, 0);
        int have = r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
        PQclear(r);
        if (have < 0) {
            rc = TOCK_ESTORE;
        } else if (have == 0) {
            rc = simple(c, m->sql, m->name);
            char now[32];
            snprintf(now, sizeof now, "%" PRId64, clock_now_ms());
            pv[1] = now;
            if (!rc) {
                r = PQexecParams(c->db, "INSERT INTO schema_migrations VALUES ($1, $2)", 2, NULL,
                                 pv, NULL, NULL, 0);
                rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : TOCK_ESTORE;
                PQclear(r);
            }
            if (!rc)
                log_msg(LOG_INFO, "applied migration %s", m->name);
        }
        if (rc) {
            snprintf(err, errlen, "postgres: migration %s failed: %s", m->name,
                     PQerrorMessage(c->db));
            simple(c, "ROLLBACK", "migrate rollback");
            break;
        }
        if ((rc = simple(c, "COMMIT", "migrate commit")))
            snprintf(err, errlen, "postgres: migration %s: commit failed", m->name);
    }
    simple(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "migrate unlock");
    return rc;
}

static void pg_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nconns; i++) {
        cache_clear(&s->conns[i]);
        PQfinish(s->conns[i].db);
    }
    free(s->conns);
    free(s->url);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int pg_open(const char *url, const struct store_config *cfg, struct store **out,
                   char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return TOCK_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->cfg = *cfg;
    if (s->cfg.pool_size < 1)
        s->cfg.pool_size = 8;
    s->url = strdup(url);
    s->conns = calloc((size_t)s->cfg.pool_size, sizeof *s->conns);
    if (!s->url || !s->conns) {
        pg_close(s);
        return TOCK_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < s->cfg.pool_size; i++) {
        rc = connect_one(s, &s->conns[i], err, errlen);
        s->nconns = i + 1;
        if (rc)
            break;
        if (i == 0 && (rc = migrate(&s->conns[0], err, errlen)))
            break;
    }
    if (rc) {
        pg_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void give_back(struct store *s, struct pg_conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->in_use = false;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int pg_acquire(struct store *s, struct store_conn **out)
{
    struct pg_conn *c = NULL;
    pthread_mutex_lock(&s->mu);
    while (!c) {
        for (int i = 0; i < s->nconns && !c; i++)
            if (!s->conns[i].in_use)
                c = &s->conns[i];
        if (!c)
            pthread_cond_wait(&s->cv, &s->mu);
    }
    c->in_use = true;
    pthread_mutex_unlock(&s->mu);
    c->in_tx = false;
    /* A link known to be broken (the server restarted): its prepared statements are gone. */
    if (PQstatus(c->db) != CONNECTION_OK && !reconnected(c)) {
        pg_err(c, NULL, "reconnect");
        give_back(s, c);
        return TOCK_ESTORE;
    }
    *out = &c->base;
    return 0;
}

static void pg_rollback(struct store_conn *base)
{
    struct pg_conn *c = (struct pg_conn *)base;
    if (c->in_tx || PQtransactionStatus(c->db) != PQTRANS_IDLE)
        simple(c, "ROLLBACK", "rollback");
    c->in_tx = false;
}

static void pg_release(struct store_conn *base)
{
    struct pg_conn *c = (struct pg_conn *)base;
    /* Never hand a connection on mid-transaction. */
    pg_rollback(base);
    give_back(base->store, c);
}

static int pg_ping(struct store_conn *base, int *applied)
{
    struct pg_conn *c = (struct pg_conn *)base;
    int rc;
    PGresult *r = pg_run(c, "SELECT count(*) FROM schema_migrations", NULL, &rc, "ping");
    if (!r)
        return rc;
    *applied = (int)pg_i64(r, 0, 0);
    PQclear(r);
    int want = 0;
    for (const struct migration *m = postgres_migrations; m->name; m++)
        want++;
    return *applied >= want ? 0 : TOCK_ESTORE;
}

static int pg_begin(struct store_conn *base, bool write)
{
    struct pg_conn *c = (struct pg_conn *)base;
    /* A read unit sees one snapshot, as SQLite's read transactions do. */
    int rc = simple(c, write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ", "begin");
    c->in_tx = rc == 0;
    c->tx_user_locked = 0;
    return rc;
}

static int pg_commit(struct store_conn *base)
{
    struct pg_conn *c = (struct pg_conn *)base;
    PGresult *r = PQexec(c->db, "COMMIT");
    int rc;
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_err(c, r, "commit");
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = TOCK_ESTORE; /* the transaction had failed: COMMIT rolled it back */
    else
        rc = 0;
    PQclear(r);
    c->in_tx = false;
    if (rc && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        simple(c, "ROLLBACK", "rollback");
    return rc;
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, display_name, timezone, created_at"

static int user_query(struct pg_conn *c, const char *sql, const struct pg_params *p,
                      struct user *u)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, "user query");
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TOCK_ENOTFOUND;
    }
    memset(u, 0, sizeof *u);
    u->id = pg_i64(r, 0, 0);
    snprintf(u->email, sizeof u->email, "%s", pg_txt(r, 0, 1));
    snprintf(u->password_hash, sizeof u->password_hash, "%s", pg_txt(r, 0, 2));
    snprintf(u->display_name, sizeof u->display_name, "%s", pg_txt(r, 0, 3));
    snprintf(u->timezone, sizeof u->timezone, "%s", pg_txt(r, 0, 4));
    u->created_at = pg_i64(r, 0, 5);
    PQclear(r);
    return 0;
}

/* Runs an INSERT ... RETURNING id; *id gets it. */
static int insert_id(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *id,
                     const char *what)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, what);
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        *id = pg_i64(r, 0, 0);
    else
        rc = TOCK_ESTORE;
    PQclear(r);
    return rc;
}

static int pg_user_insert(struct store_conn *base, struct user *u)
{
    struct pg_params p = {0};
    pp_text(&p, u->email);
    pp_text(&p, u->password_hash);
    pp_text(&p, u->display_name);
    pp_text(&p, u->timezone);
    pp_i64(&p, u->created_at);
    return insert_id((struct pg_conn *)base,
                     "INSERT INTO users (email, password_hash, display_name, timezone, "
                     "created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                     &p, &u->id, "user_insert");
}

static int pg_user_by_email(struct store_conn *base, const char *email, struct user *out)
{
    struct pg_params p = {0};
    pp_text(&p, email);
    return user_query((struct pg_conn *)base, "SELECT " USER_COLS " FROM users WHERE email = $1",
                      &p, out);
}

static int pg_user_by_id(struct store_conn *base, int64_t id, struct user *out)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    return user_query((struct pg_conn *)base, "SELECT " USER_COLS " FROM users WHERE id = $1",
                      &p, out);
}

static int pg_user_update(struct store_conn *base, const struct user *u)
{
    struct pg_params p = {0};
    pp_i64(&p, u->id);
    pp_text(&p, u->display_name);
    pp_text(&p, u->timezone);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "UPDATE users SET display_name = $2, timezone = $3 WHERE id = $1", &p,
                     &changed, "user_update");
    return !rc && changed == 0 ? TOCK_ENOTFOUND : rc;
}

/* ---- API tokens ---- */

static int pg_token_insert(struct store_conn *base, struct api_token *t, const char *hash)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct pg_params p = {0};
    pp_i64(&p, t->user_id);
    int rc;
    PGresult *r = pg_run(c, "SELECT count(*) FROM api_tokens WHERE user_id = $1", &p, &rc,
                         "token_count");
    if (!r)
        return rc;
    int64_t count = pg_i64(r, 0, 0);
    PQclear(r);
    if (count >= TOKENS_PER_USER_MAX)
        return TOCK_ELIMIT;
    pp_text(&p, t->name);
    pp_text(&p, hash);
    pp_i64(&p, t->created_at);
    return insert_id(c,
                     "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES "
                     "($1, $2, $3, $4) RETURNING id",
                     &p, &t->id, "token_insert");
}

static int pg_token_list(struct store_conn *base, int64_t user_id, struct api_token **out,
                         size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT id, user_id, name, created_at, last_used_at FROM api_tokens "
                         "WHERE user_id = $1 ORDER BY id",
                         &p, &rc, "token_list");
    if (!r)
        return rc;
    int m = PQntuples(r);
    struct api_token *v = calloc(m ? (size_t)m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    for (int i = 0; i < m; i++) {
        v[i].id = pg_i64(r, i, 0);
        v[i].user_id = pg_i64(r, i, 1);
        snprintf(v[i].name, sizeof v[i].name, "%s", pg_txt(r, i, 2));
        v[i].created_at = pg_i64(r, i, 3);
        v[i].last_used_at = pg_i64(r, i, 4);
    }
    PQclear(r);
    if (m == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = (size_t)m;
    return 0;
}

static int pg_token_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2", &p, &changed,
                     "token_delete");
    return !rc && changed == 0 ? TOCK_ENOTFOUND : rc;
}

static int pg_token_lookup(struct store_conn *base, const char *hash, int64_t *token_id,
                           int64_t *user_id, int64_t *last_used_at)
{
    struct pg_params p = {0};
    pp_text(&p, hash);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1",
                         &p, &rc, "token_lookup");
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TOCK_ENOTFOUND;
    }
    *token_id = pg_i64(r, 0, 0);
    *user_id = pg_i64(r, 0, 1);
    *last_used_at = pg_i64(r, 0, 2);
    PQclear(r);
    return 0;
}

static int pg_token_touch(struct store_conn *base, int64_t token_id, int64_t now)
{
    struct pg_params p = {0};
    pp_i64(&p, token_id);
    pp_i64(&p, now);
    return pg_exec((struct pg_conn *)base, "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                   &p, NULL, "token_touch");
}

/* ---- outbox ---- */

static int pg_outbox_append(struct store_conn *base, struct outbox_row *r)
{
    struct pg_conn *c = (struct pg_conn *)base;
    if (c->tx_user_locked != r->user_id) {
        /*
         * Per-user order: one user's transactions that write events serialize on a
         * transaction-scoped advisory lock taken before their first outbox id, so that
         * user's outbox ids follow commit order (concurrent writers would otherwise take
         * ids in one order and commit in another). Different users never wait.
         */
        struct pg_params lk = {0};
        pp_i64(&lk, r->user_id);
        int rc = pg_exec(c, "SELECT pg_advisory_xact_lock(7400, ($1::bigint % 2147483647)::int)",
                         &lk, NULL, "outbox_user_lock");
        if (rc)
            return rc;
        c->tx_user_locked = r->user_id;
    }
    struct pg_params p = {0};
    pp_text(&p, r->event_id);
    pp_text(&p, r->topic);
    pp_text(&p, r->key);
    pp_i64(&p, r->user_id);
    pp_i64_or_null(&p, r->task_id, r->task_id != 0);
    pp_text(&p, r->type);
    pp_text(&p, r->event_json);
    pp_i64(&p, r->created_at);
    return insert_id((struct pg_conn *)base,
                     "INSERT INTO outbox (event_id, topic, msg_key, user_id, task_id, type, "
                     "event_json, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                     "RETURNING id",
                     &p, &r->seq, "outbox_append");
}

#define OUTBOX_COLS                                                                            \
    "id, topic, msg_key, user_id, task_id, type, event_id, event_json, created_at, "           \
    "published_at"

static int read_outbox(struct pg_conn *c, const char *sql, const struct pg_params *p,
                       struct outbox_row **out, size_t *n)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, "outbox read");
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
        snprintf(o->topic, sizeof o->topic, "%s", pg_txt(r, k, 1));
        snprintf(o->key, sizeof o->key, "%s", pg_txt(r, k, 2));
        o->user_id = pg_i64(r, k, 3);
        o->task_id = pg_i64(r, k, 4);
        snprintf(o->type, sizeof o->type, "%s", pg_txt(r, k, 5));
        snprintf(o->event_id, sizeof o->event_id, "%s", pg_txt(r, k, 6));
        o->event_json = strdup(pg_txt(r, k, 7));
        o->created_at = pg_i64(r, k, 8);
        o->published_at = pg_i64(r, k, 9);
        o->replayed = PQnfields(r) > 10 && pg_txt(r, k, 10)[0] == 't';
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

static int pg_outbox_fetch(struct store_conn *base, int64_t after, int limit,
                           bool unpublished_only, struct outbox_row **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, after);
    pp_i64(&p, limit);
    return read_outbox((struct pg_conn *)base,
                       unpublished_only ? "SELECT " OUTBOX_COLS " FROM outbox WHERE id > $1 AND "
                                          "published_at IS NULL ORDER BY id LIMIT $2"
                                        : "SELECT " OUTBOX_COLS
                                          " FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
                       &p, out, n);
}

static int pg_outbox_mark_published(struct store_conn *base, const int64_t *seqs, size_t n,
                                    int64_t now)
{
    if (n == 0)
        return 0;
    /* One statement for the batch: the ids are our own integers, sent as an array. */
    struct buf arr;
    buf_init(&arr, 0);
    buf_puts(&arr, "{");
    for (size_t i = 0; i < n; i++)
        buf_printf(&arr, "%s%" PRId64, i ? "," : "", seqs[i]);
    if (buf_puts(&arr, "}")) {
        buf_free(&arr);
        return TOCK_ENOMEM;
    }
    struct pg_params p = {0};
    pp_text(&p, arr.data);
    pp_i64(&p, now);
    int rc = pg_exec((struct pg_conn *)base,
                     "UPDATE outbox SET published_at = $2, attempts = attempts + 1 WHERE id = "
                     "ANY($1::bigint[]) AND published_at IS NULL",
                     &p, NULL, "outbox_mark");
    buf_free(&arr);
    return rc;
}

static int pg_outbox_stats(struct store_conn *base, int64_t *depth, int64_t *oldest)
{
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT count(*), coalesce(min(created_at), 0) FROM outbox WHERE "
                         "published_at IS NULL",
                         NULL, &rc, "outbox_stats");
    if (!r)
        return rc;
    *depth = pg_i64(r, 0, 0);
    *oldest = pg_i64(r, 0, 1);
    PQclear(r);
    return 0;
}

static int pg_task_history(struct store_conn *base, int64_t user_id, int64_t task_id,
                           struct outbox_row **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, task_id);
    return read_outbox((struct pg_conn *)base,
                       /* Pruned rows live on in event_log (same seq): read both. */
                       "SELECT seq, topic, msg_key, user_id, task_id, type, event_id, "
                       "event_json, created_at, published_at FROM event_log WHERE user_id = $1 "
                       "AND task_id = $2 AND topic = 'task-events' UNION ALL SELECT " OUTBOX_COLS
                       " FROM outbox WHERE user_id = $1 AND task_id = $2 AND topic = "
                       "'task-events' ORDER BY 1",
                       &p, out, n);
}

/* ---- outbox claiming and retention ---- */

/* Advisory lock namespace of relays (writers use 7400 for per-user commit order). */
#define RELAY_LOCK_NS "7401"

static int pg_outbox_claim(struct store_conn *base, int limit, struct outbox_row **out,
                           size_t *n)
{
    struct pg_conn *c = (struct pg_conn *)base;
    /*
     * The users of the oldest unpublished rows whose relay lock we can take now.
     * The lock is held to the end of this transaction (publish + mark), so a user's
     * rows are never in flight from two relays at once: order per user holds.
     * (A volatile function is not pushed below the LIMIT: it runs per distinct user.)
     */
    struct pg_params p = {0};
    pp_i64(&p, limit);
    int rc;
    PGresult *r = pg_run(c,
                         "SELECT u FROM (SELECT DISTINCT user_id AS u FROM (SELECT user_id "
                         "FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1) s) d "
                         "WHERE pg_try_advisory_xact_lock(" RELAY_LOCK_NS
                         ", (u % 2147483647)::int)",
                         &p, &rc, "outbox_claim_users");
    if (!r)
        return rc;
    int nu = PQntuples(r);
    if (nu == 0) {
        PQclear(r);
        *out = NULL;
        *n = 0;
        return 0;
    }
    struct buf arr;
    buf_init(&arr, 0);
    buf_puts(&arr, "{");
    for (int i = 0; i < nu; i++)
        buf_printf(&arr, "%s%" PRId64, i ? "," : "", pg_i64(r, i, 0));
    PQclear(r);
    if (buf_puts(&arr, "}")) {
        buf_free(&arr);
        return TOCK_ENOMEM;
    }
    struct pg_params q = {0};
    pp_text(&q, arr.data);
    pp_i64(&q, limit);
    rc = read_outbox(c,
                     "SELECT " OUTBOX_COLS " FROM outbox WHERE published_at IS NULL AND "
                     "user_id = ANY($1::bigint[]) ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                     &q, out, n);
    buf_free(&arr);
    return rc;
}

static int pg_outbox_prune(struct store_conn *base, int64_t before, int limit, int64_t *pruned)
{
    struct pg_params p = {0};
    pp_i64(&p, before);
    pp_i64(&p, limit);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "WITH d AS (DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
                         "WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY "
                         "published_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING *), "
                         "l AS (INSERT INTO event_log (seq, event_id, topic, msg_key, user_id, "
                         "task_id, type, event_json, created_at, published_at) SELECT id, "
                         "event_id, topic, msg_key, user_id, task_id, type, event_json, "
                         "created_at, published_at FROM d WHERE topic IN ('task-events', 'dlq') "
                         "ON CONFLICT DO NOTHING) SELECT count(*) FROM d",
                         &p, &rc, "outbox_prune");
    if (!r)
        return rc;
    *pruned = pg_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_processed_prune(struct store_conn *base, int64_t before, int limit,
                              int64_t *deleted)
{
    struct pg_params p = {0};
    pp_i64(&p, before);
    pp_i64(&p, limit);
    return pg_exec((struct pg_conn *)base,
                   "DELETE FROM processed_events WHERE (consumer, event_id) IN (SELECT "
                   "consumer, event_id FROM processed_events WHERE processed_at < $1 AND consumer "
                   "<> 'dlq-replay' LIMIT $2 "
                   "FOR UPDATE SKIP LOCKED)",
                   &p, deleted, "processed_prune");
}

static int pg_processed_unmark(struct store_conn *base, const char *consumer,
                               const char *event_id)
{
    struct pg_params p = {0};
    pp_text(&p, consumer);
    pp_text(&p, event_id);
    return pg_exec((struct pg_conn *)base,
                   "DELETE FROM processed_events WHERE consumer = $1 AND event_id = $2", &p,
                   NULL, "processed_unmark");
}

static int pg_deadletter_list(struct store_conn *base, int64_t after, int limit,
                              struct outbox_row **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, after);
    pp_i64(&p, limit);
    return read_outbox(
        (struct pg_conn *)base,
        "SELECT seq, topic, msg_key, user_id, task_id, type, event_id, event_json, created_at, "
        "published_at, EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = "
        "'dlq-replay' AND p.event_id = d.event_id) FROM (SELECT seq, event_id, topic, msg_key, "
        "user_id, task_id, type, event_json, created_at, published_at FROM event_log WHERE "
        "type = 'tock.deadletter' AND seq > $1 UNION ALL SELECT id, event_id, topic, msg_key, "
        "user_id, task_id, type, event_json, created_at, published_at FROM outbox WHERE type = "
        "'tock.deadletter' AND id > $1) d ORDER BY seq LIMIT $2",
        &p, out, n);
}

const struct store_ops store_pg_ops = {
    .name = "postgres",
    .ordered_commits = false,
    .open = pg_open,
    .close = pg_close,
    .acquire = pg_acquire,
    .release = pg_release,
    .ping = pg_ping,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .user_insert = pg_user_insert,
    .user_by_email = pg_user_by_email,
    .user_by_id = pg_user_by_id,
    .user_update = pg_user_update,
    .token_insert = pg_token_insert,
    .token_list = pg_token_list,
    .token_delete = pg_token_delete,
    .token_lookup = pg_token_lookup,
    .token_touch = pg_token_touch,
    .task_insert = pg_task_insert,
    .task_get = pg_task_get,
    .task_update = pg_task_update,
    .task_list = pg_task_list,
    .tag_list = pg_tag_list,
    .tag_get = pg_tag_get,
    .tag_by_name = pg_tag_by_name,
    .tag_insert = pg_tag_insert,
    .tag_update = pg_tag_update,
    .tag_merge = pg_tag_merge,
    .tag_delete = pg_tag_delete,
    .tag_task_ids = pg_tag_task_ids,
    .outbox_append = pg_outbox_append,
    .outbox_fetch = pg_outbox_fetch,
    .outbox_mark_published = pg_outbox_mark_published,
    .outbox_stats = pg_outbox_stats,
    .task_history = pg_task_history,
    .processed_mark = pg_processed_mark,
    .audit_append = pg_audit_append,
    .audit_list = pg_audit_list,
    .audit_prune = pg_audit_prune,
    .outbox_claim = pg_outbox_claim,
    .outbox_prune = pg_outbox_prune,
    .processed_prune = pg_processed_prune,
    .processed_unmark = pg_processed_unmark,
    .deadletter_list = pg_deadletter_list,
    /* ---- recurrence ---- */
    .task_occurrence_exists = pg_task_occurrence_exists,
    /* ---- reminders and notifications ---- */
    .reminder_insert = pg_reminder_insert,
    .reminder_get = pg_reminder_get,
    .reminder_update = pg_reminder_update,
    .reminder_delete = pg_reminder_delete,
    .reminder_list_task = pg_reminder_list_task,
    .reminder_list_user = pg_reminder_list_user,
    .reminder_cancel_task = pg_reminder_cancel_task,
    .reminder_next = pg_reminder_next,
    .reminder_claim_due = pg_reminder_claim_due,
    .outbox_append_batch = pg_outbox_append_batch,
    .notify_prefs_get = pg_notify_prefs_get,
    .notify_prefs_put = pg_notify_prefs_put,
    .notification_insert = pg_notification_insert,
    .notification_list = pg_notification_list,
    .notification_get = pg_notification_get,
    .notification_mark_read = pg_notification_mark_read,
    .delivery_insert = pg_delivery_insert,
    .delivery_due = pg_delivery_due,
    .delivery_group = pg_delivery_group,
    .delivery_update = pg_delivery_update,
    .delivery_list = pg_delivery_list,
    .delivery_next = pg_delivery_next,
    /* ---- sync ---- */
    .outbox_seq_of = pg_outbox_seq_of,
    .sync_rows = pg_sync_rows,
    .sync_bounds = pg_sync_bounds,
    /* ---- mcp sessions ---- */
    .mcp_session_insert = pg_mcp_session_insert,
    .mcp_session_get = pg_mcp_session_get,
    .mcp_session_touch = pg_mcp_session_touch,
    .mcp_session_delete = pg_mcp_session_delete,
    .mcp_session_prune = pg_mcp_session_prune,
    .delivery_recover = pg_delivery_recover,
    /* ---- chat ---- */
    .conversation_insert = pg_conversation_insert,
    .conversation_get = pg_conversation_get,
    .conversation_update = pg_conversation_update,
    .conversation_delete = pg_conversation_delete,
    .conversation_list = pg_conversation_list,
    .conversation_prune = pg_conversation_prune,
    .chat_message_insert = pg_chat_message_insert,
    .chat_message_list = pg_chat_message_list,
};
