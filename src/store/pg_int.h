/*
 * pg_int.h — internals shared by the PostgreSQL backend's files (store_pg.c,
 * store_pg_tasks.c): the connection struct, the per-connection cache of named
 * prepared statements, and helpers for text-format parameters and results.
 * Not for use outside src/store/store_pg*.c.
 */
#ifndef TOCK_STORE_PG_INT_H
#define TOCK_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/store.h"

#define PG_CACHE 64
#define PG_MAXP 160 /* parameters of one statement (the list query has the most) */

struct pg_cached {
    char *sql;     /* owned copy: the cache key; NULL = free slot */
    char name[16]; /* the server-side name of the prepared statement */
};

struct pg_conn {
    struct store_conn base; /* must be first */
    PGconn *db;
    struct pg_cached cache[PG_CACHE];
    unsigned next_evict, next_name;
    bool in_use, in_tx;
    int64_t tx_user_locked; /* the user whose outbox lock this transaction holds (0: none) */
};

/*
 * Parameters of one statement, all sent as text. Numbers are formatted into
 * `num`; strings are borrowed and must outlive the pg_run call.
 */
struct pg_params {
    int n;
    const char *v[PG_MAXP];
    char num[PG_MAXP][32];
};

void pp_i64(struct pg_params *p, int64_t v);
void pp_i64_or_null(struct pg_params *p, int64_t v, bool present);
void pp_f8(struct pg_params *p, double v);   /* %.17g: round-trips exactly */
void pp_text(struct pg_params *p, const char *s); /* NULL sends NULL */

/*
 * Runs sql (prepared once per connection, then reused) with p (may be NULL).
 * Returns the result (caller PQclear()s) and *rc = 0, or NULL and *rc = TOCK_E*
 * (the error is logged; SQLSTATE mapped by pg_err).
 */
PGresult *pg_run(struct pg_conn *c, const char *sql, const struct pg_params *p, int *rc,
                 const char *what);
/* Like pg_run for statements whose rows are not needed; *changed gets the row count. */
int pg_exec(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *changed,
            const char *what);
/* Maps a failed result (or NULL: connection trouble) to a TOCK_E* code. */
int pg_err(struct pg_conn *c, const PGresult *res, const char *what);

int64_t pg_i64(const PGresult *r, int row, int col); /* 0 for NULL */
const char *pg_txt(const PGresult *r, int row, int col); /* "" for NULL; borrowed */
double pg_f8(const PGresult *r, int row, int col);

int pg_task_insert(struct store_conn *c, struct task *t);
int pg_task_get(struct store_conn *c, int64_t user_id, int64_t id, bool for_update,
                struct task *out);
int pg_task_update(struct store_conn *c, const struct task *t);
int pg_task_list(struct store_conn *c, int64_t user_id, const struct task_filter *f,
                 struct task **out, size_t *n, double **ranks);
int pg_tag_list(struct store_conn *c, int64_t user_id, const char *prefix, int limit,
                struct tag **out, size_t *n);
int pg_tag_get(struct store_conn *c, int64_t user_id, int64_t id, struct tag *out);
int pg_tag_by_name(struct store_conn *c, int64_t user_id, const char *name, struct tag *out);
int pg_tag_insert(struct store_conn *c, struct tag *t);
int pg_tag_update(struct store_conn *c, const struct tag *t);
int pg_tag_merge(struct store_conn *c, int64_t user_id, int64_t from, int64_t into);
int pg_tag_delete(struct store_conn *c, int64_t user_id, int64_t id);
int pg_tag_task_ids(struct store_conn *c, int64_t user_id, int64_t tag_id, int64_t **ids,
                    size_t *n);

/* store_pg_audit.c */
int pg_processed_mark(struct store_conn *c, const char *consumer, const char *event_id,
                      int64_t now);
int pg_audit_append(struct store_conn *c, struct audit_row *r);
int pg_audit_list(struct store_conn *c, int64_t user_id, const struct audit_query *q,
                  struct audit_row **out, size_t *n);
int pg_audit_prune(struct store_conn *c, int64_t before, int limit, int64_t *deleted);
/* ---- recurrence (store_pg_recur.c) ---- */
int pg_task_occurrence_exists(struct store_conn *c, int64_t user_id, int64_t series_id,
                              int64_t occurrence, bool *exists);

/* ---- reminders (store_pg_reminders.c) and notifications (store_pg_notify.c) ---- */
int pg_reminder_insert(struct store_conn *c, struct reminder *r);
int pg_reminder_get(struct store_conn *c, int64_t user_id, int64_t id, struct reminder *out);
int pg_reminder_update(struct store_conn *c, const struct reminder *r);
int pg_reminder_delete(struct store_conn *c, int64_t user_id, int64_t id);
int pg_reminder_list_task(struct store_conn *c, int64_t user_id, int64_t task_id, struct reminder **out, size_t *n);
int pg_reminder_list_user(struct store_conn *c, int64_t user_id, int64_t from, int64_t to, int limit, struct reminder **out, size_t *n);
int pg_reminder_cancel_task(struct store_conn *c, int64_t task_id, int64_t now, int64_t *n);
int pg_reminder_next(struct store_conn *c, int64_t *fire_at);
int pg_reminder_claim_due(struct store_conn *c, int64_t now, int limit, int64_t late_ms, struct reminder_fire **out, size_t *n);
int pg_outbox_append_batch(struct store_conn *c, const struct outbox_row *rows, size_t n);
int pg_notify_prefs_get(struct store_conn *c, int64_t user_id, struct notify_prefs *out);
int pg_notify_prefs_put(struct store_conn *c, const struct notify_prefs *p);
int pg_notification_insert(struct store_conn *c, struct notification *n);
int pg_notification_list(struct store_conn *c, int64_t user_id, bool unread_only, int64_t before_id, int limit, struct notification **out, size_t *n);
int pg_notification_get(struct store_conn *c, int64_t user_id, int64_t id, struct notification *out);
int pg_notification_mark_read(struct store_conn *c, int64_t user_id, int64_t id, int64_t now, int64_t *changed);
int pg_delivery_insert(struct store_conn *c, struct delivery *d);
int pg_delivery_due(struct store_conn *c, int64_t now, int limit, struct delivery **out, size_t *n);
int pg_delivery_group(struct store_conn *c, int64_t user_id, const char *channel, int64_t until, int64_t except_id, struct delivery **out, size_t *n);
int pg_delivery_update(struct store_conn *c, const struct delivery *d);
int pg_delivery_list(struct store_conn *c, int64_t user_id, int64_t before_id, int limit, struct delivery **out, size_t *n);
int pg_delivery_next(struct store_conn *c, int64_t *send_at);
int pg_delivery_recover(struct store_conn *c, int64_t stale_before, int64_t now, int64_t *n);

/* ---- sync: store_pg_sync.c ---- */
int pg_outbox_seq_of(struct store_conn *c, const char *event_id, int64_t *seq);
int pg_sync_rows(struct store_conn *c, int64_t user_id, int64_t after, int limit,
                 struct outbox_row **out, size_t *n);
int pg_sync_bounds(struct store_conn *c, int64_t user_id, int64_t *user_max, int64_t *oldest,
                   int64_t *hwm);

/* ---- mcp sessions: store_pg_mcp.c ---- */
int pg_mcp_session_insert(struct store_conn *c, const struct mcp_session_row *r);
int pg_mcp_session_get(struct store_conn *c, const char *id_hash, struct mcp_session_row *out);
int pg_mcp_session_touch(struct store_conn *c, const char *id_hash, int64_t now);
int pg_mcp_session_delete(struct store_conn *c, int64_t user_id, const char *id_hash);
int pg_mcp_session_prune(struct store_conn *c, int64_t user_id, int64_t idle_before, int keep);

/* ---- chat: store_pg_chat.c ---- */
int pg_conversation_insert(struct store_conn *c, struct conversation *cv);
int pg_conversation_get(struct store_conn *c, int64_t user_id, int64_t id, struct conversation *out);
int pg_conversation_update(struct store_conn *c, const struct conversation *cv);
int pg_conversation_delete(struct store_conn *c, int64_t user_id, int64_t id);
int pg_conversation_list(struct store_conn *c, int64_t user_id, int limit, struct conversation **out, size_t *n);
int pg_conversation_prune(struct store_conn *c, int64_t user_id, int keep);
int pg_chat_message_insert(struct store_conn *c, struct chat_message *m);
int pg_chat_message_list(struct store_conn *c, int64_t user_id, int64_t conversation_id, int64_t after_id, int limit, struct chat_message **out, size_t *n);

#endif
