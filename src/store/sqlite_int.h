/*
 * sqlite_int.h — internals shared by the SQLite backend's files: the connection
 * struct, the per-connection prepared-statement cache and binding helpers.
 * Not for use outside src/store/sqlite_*.c.
 */
#ifndef TOCK_STORE_SQLITE_INT_H
#define TOCK_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

#define SQ_CACHE 64

struct sq_cached {
    char *sql; /* owned copy: the cache key */
    sqlite3_stmt *stmt;
};

struct sq_conn {
    struct store_conn base; /* must be first */
    sqlite3 *db;
    struct sq_cached cache[SQ_CACHE];
    unsigned next_evict;
    bool in_use, in_tx;
    bool holds_write;       /* in a write unit: owns the store's write mutex */
    struct sq_conn *active; /* the shared writer while in a write unit */
    uint64_t batch;         /* the group-commit batch the unit joined */
};

/* The connection ops must run on: the shared writer during a write unit. */
struct sq_conn *sq_active(struct store_conn *base);
/* A prepared statement for sql from the connection's cache (reset, unbound). */
sqlite3_stmt *sq_stmt(struct sq_conn *c, const char *sql);
/* Maps a SQLite result code to a TOCK_E* code, logging unexpected ones. */
int sq_err(struct sq_conn *c, int rc, const char *what);
/* Runs a statement that returns no rows; 0 or TOCK_E*. */
int sq_exec_stmt(struct sq_conn *c, sqlite3_stmt *st, const char *what);

void sq_bind_text(sqlite3_stmt *st, int i, const char *s);     /* NULL binds NULL */
void sq_bind_i64_or_null(sqlite3_stmt *st, int i, int64_t v, bool present);
const char *sq_col_text(sqlite3_stmt *st, int i); /* "" for NULL */

int sq_task_insert(struct store_conn *c, struct task *t);
int sq_task_get(struct store_conn *c, int64_t user_id, int64_t id, bool for_update,
                struct task *out);
int sq_task_update(struct store_conn *c, const struct task *t);
int sq_task_list(struct store_conn *c, int64_t user_id, const struct task_filter *f,
                 struct task **out, size_t *n, double **ranks);
int sq_tag_list(struct store_conn *c, int64_t user_id, const char *prefix, int limit,
                struct tag **out, size_t *n);
int sq_tag_get(struct store_conn *c, int64_t user_id, int64_t id, struct tag *out);
int sq_tag_by_name(struct store_conn *c, int64_t user_id, const char *name, struct tag *out);
int sq_tag_insert(struct store_conn *c, struct tag *t);
int sq_tag_update(struct store_conn *c, const struct tag *t);
int sq_tag_merge(struct store_conn *c, int64_t user_id, int64_t from, int64_t into);
int sq_tag_delete(struct store_conn *c, int64_t user_id, int64_t id);
int sq_tag_task_ids(struct store_conn *c, int64_t user_id, int64_t tag_id, int64_t **ids,
                    size_t *n);
/* store_sqlite_audit.c */
int sq_processed_mark(struct store_conn *c, const char *consumer, const char *event_id,
                      int64_t now);
int sq_audit_append(struct store_conn *c, struct audit_row *r);
int sq_audit_list(struct store_conn *c, int64_t user_id, const struct audit_query *q,
                  struct audit_row **out, size_t *n);
int sq_audit_prune(struct store_conn *c, int64_t before, int limit, int64_t *deleted);
/* ---- recurrence (store_sqlite_recur.c) ---- */
int sq_task_occurrence_exists(struct store_conn *c, int64_t user_id, int64_t series_id,
                              int64_t occurrence, bool *exists);
/* ---- sync: store_sqlite_sync.c ---- */
int sq_outbox_seq_of(struct store_conn *c, const char *event_id, int64_t *seq);
int sq_sync_rows(struct store_conn *c, int64_t user_id, int64_t after, int limit,
                 struct outbox_row **out, size_t *n);
int sq_sync_bounds(struct store_conn *c, int64_t user_id, int64_t *user_max, int64_t *oldest,
                   int64_t *hwm);
/* ---- mcp sessions: store_sqlite_mcp.c ---- */
int sq_mcp_session_insert(struct store_conn *c, const struct mcp_session_row *r);
int sq_mcp_session_get(struct store_conn *c, const char *id_hash, struct mcp_session_row *out);
int sq_mcp_session_touch(struct store_conn *c, const char *id_hash, int64_t now);
int sq_mcp_session_delete(struct store_conn *c, int64_t user_id, const char *id_hash);
int sq_mcp_session_prune(struct store_conn *c, int64_t user_id, int64_t idle_before, int keep);
/* Rewrites the search-index row of a task from its stored columns. */
int sq_fts_refresh(struct sq_conn *c, int64_t task_id);

/* ---- reminders (store_sqlite_reminders.c) and notifications (store_sqlite_notify.c) ---- */
int sq_reminder_insert(struct store_conn *c, struct reminder *r);
int sq_reminder_get(struct store_conn *c, int64_t user_id, int64_t id, struct reminder *out);
int sq_reminder_update(struct store_conn *c, const struct reminder *r);
int sq_reminder_delete(struct store_conn *c, int64_t user_id, int64_t id);
int sq_reminder_list_task(struct store_conn *c, int64_t user_id, int64_t task_id, struct reminder **out, size_t *n);
int sq_reminder_list_user(struct store_conn *c, int64_t user_id, int64_t from, int64_t to, int limit, struct reminder **out, size_t *n);
int sq_reminder_cancel_task(struct store_conn *c, int64_t task_id, int64_t now, int64_t *n);
int sq_reminder_next(struct store_conn *c, int64_t *fire_at);
int sq_reminder_claim_due(struct store_conn *c, int64_t now, int limit, int64_t late_ms, struct reminder_fire **out, size_t *n);
int sq_notify_prefs_get(struct store_conn *c, int64_t user_id, struct notify_prefs *out);
int sq_notify_prefs_put(struct store_conn *c, const struct notify_prefs *p);
int sq_notification_insert(struct store_conn *c, struct notification *n);
int sq_notification_list(struct store_conn *c, int64_t user_id, bool unread_only, int64_t before_id, int limit, struct notification **out, size_t *n);
int sq_notification_get(struct store_conn *c, int64_t user_id, int64_t id, struct notification *out);
int sq_notification_mark_read(struct store_conn *c, int64_t user_id, int64_t id, int64_t now, int64_t *changed);
int sq_delivery_insert(struct store_conn *c, struct delivery *d);
int sq_delivery_due(struct store_conn *c, int64_t now, int limit, struct delivery **out, size_t *n);
int sq_delivery_group(struct store_conn *c, int64_t user_id, const char *channel, int64_t until, int64_t except_id, struct delivery **out, size_t *n);
int sq_delivery_update(struct store_conn *c, const struct delivery *d);
int sq_delivery_list(struct store_conn *c, int64_t user_id, int64_t before_id, int limit, struct delivery **out, size_t *n);
int sq_delivery_next(struct store_conn *c, int64_t *send_at);
int sq_delivery_recover(struct store_conn *c, int64_t stale_before, int64_t now, int64_t *n);

/* ---- chat: store_sqlite_chat.c ---- */
int sq_conversation_insert(struct store_conn *c, struct conversation *cv);
int sq_conversation_get(struct store_conn *c, int64_t user_id, int64_t id, struct conversation *out);
int sq_conversation_update(struct store_conn *c, const struct conversation *cv);
int sq_conversation_delete(struct store_conn *c, int64_t user_id, int64_t id);
int sq_conversation_list(struct store_conn *c, int64_t user_id, int limit, struct conversation **out, size_t *n);
int sq_conversation_prune(struct store_conn *c, int64_t user_id, int keep);
int sq_chat_message_insert(struct store_conn *c, struct chat_message *m);
int sq_chat_message_list(struct store_conn *c, int64_t user_id, int64_t conversation_id, int64_t after_id, int limit, struct chat_message **out, size_t *n);

#endif
