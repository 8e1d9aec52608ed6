/*
 * store.h — the storage interface. A backend (store_sqlite.c, store_pg.c) is
 * a `const struct store_ops` table chosen by URL scheme at start-up
 * (store_open). Callers borrow a connection per unit of work (store_acquire),
 * run one transaction on it, and give it back (store_release); nothing holds a
 * connection across requests.
 *
 * Contract for every op: returns 0 or a negative TOCK_E*; TOCK_ENOTFOUND when the
 * row does not exist *for that user* (ownership is part of every query);
 * TOCK_ECONFLICT on a unique violation; TOCK_ESTORE/TOCK_EBUSY on backend
 * failure (the caller rolls back). Out-params are written only on success; arrays
 * handed out are owned by the caller (free with the matching *_free).
 * Services never see SQL; the store never sees HTTP or JSON from the wire.
 */
#ifndef TOCK_STORE_STORE_H
#define TOCK_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit.h"
#include "core/filter.h"
#include "core/model.h"
#include "core/notification.h"
#include "core/reminder.h"
#include "core/task.h"

struct store;
struct store_ops;

/* ---- mcp sessions ---- */
/* One MCP Streamable HTTP session (api/h_mcp.c); the id itself is never stored. */
struct mcp_session_row {
    char id_hash[65]; /* hex of a hash of the session id */
    int64_t user_id;
    char protocol_version[16];
    int64_t created_at, last_used_at;
};

/* ---- chat (store_*_chat.c, migration 0009) ---- */
#define CONV_TITLE_MAX 80     /* bytes of the first message kept as the title */
#define CONV_STATE_MAX 4096   /* bytes of the engine's state JSON */
struct conversation {
    int64_t id, user_id;
    char title[CONV_TITLE_MAX + 1];
    char state[CONV_STATE_MAX + 1]; /* JSON object text */
    int64_t message_count;
    int64_t created_at, updated_at;
};
struct chat_message {
    int64_t id, conversation_id, user_id;
    char role[16];   /* user | assistant */
    char *content;   /* owned */
    char *actions;   /* owned JSON text; NULL for none */
    char engine[16]; /* "" for user messages */
    int64_t created_at;
};
void chat_messages_free(struct chat_message *v, size_t n);

/* Every backend's connection starts with this header. */
struct store_conn {
    const struct store_ops *ops;
    struct store *store;
};

struct store_config {
    int pool_size;       /* connections in the pool */
    int busy_timeout_ms; /* SQLite: wait this long for the write lock */
    bool sync_full;      /* SQLite: synchronous=FULL (durable) vs NORMAL */
};

struct store_ops {
    const char *name;
    /*
     * True when transactions commit in the order their outbox ids were assigned
     * (SQLite: writers are serialized). Only then may the relay skip rows below its
     * high-water mark; otherwise it rescans unpublished rows from the start.
     */
    bool ordered_commits;
    /* Opens the backend for url (scheme already matched); migrates the schema. */
    int (*open)(const char *url, const struct store_config *cfg, struct store **out, char *err,
                size_t errlen);
    void (*close)(struct store *s);
    /* Blocks until a connection is free. */
    int (*acquire)(struct store *s, struct store_conn **out);
    void (*release)(struct store_conn *c);
    /* Health: a trivial query and the schema version applied. */
    int (*ping)(struct store_conn *c, int *migrations_applied);

    int (*begin)(struct store_conn *c, bool write);
    int (*commit)(struct store_conn *c);
    void (*rollback)(struct store_conn *c);

    int (*user_insert)(struct store_conn *c, struct user *u); /* sets u->id */
    int (*user_by_email)(struct store_conn *c, const char *email, struct user *out);
    int (*user_by_id)(struct store_conn *c, int64_t id, struct user *out);
    int (*user_update)(struct store_conn *c, const struct user *u);

    int (*token_insert)(struct store_conn *c, struct api_token *t, const char *hash);
    int (*token_list)(struct store_conn *c, int64_t user_id, struct api_token **out, size_t *n);
    int (*token_delete)(struct store_conn *c, int64_t user_id, int64_t id);
    /* Finds a token by hash: its id, owner and last use (0: never). Reads only. */
    int (*token_lookup)(struct store_conn *c, const char *hash, int64_t *token_id,
                        int64_t *user_id, int64_t *last_used_at);
    int (*token_touch)(struct store_conn *c, int64_t token_id, int64_t now);

    /* Inserts t (tags, search index included); sets t->id and t->series_id if 0. */
    int (*task_insert)(struct store_conn *c, struct task *t);
    /* A live (not deleted) task of the user; out is overwritten. */
    int (*task_get)(struct store_conn *c, int64_t user_id, int64_t id, bool for_update,
                    struct task *out);
    /* Writes every column of t (tags and search index included). */
    int (*task_update)(struct store_conn *c, const struct task *t);
    /*
     * Runs the list query; returns up to f->limit + 1 rows (the extra one tells the
     * caller there is a next page) and, if ranks is non-NULL, their ranks.
     */
    int (*task_list)(struct store_conn *c, int64_t user_id, const struct task_filter *f,
                     struct task **out, size_t *n, double **ranks);

    int (*tag_list)(struct store_conn *c, int64_t user_id, const char *prefix, int limit,
                    struct tag **out, size_t *n);
    int (*tag_get)(struct store_conn *c, int64_t user_id, int64_t id, struct tag *out);
    int (*tag_by_name)(struct store_conn *c, int64_t user_id, const char *name, struct tag *out);
    int (*tag_insert)(struct store_conn *c, struct tag *t); /* sets id */
    int (*tag_update)(struct store_conn *c, const struct tag *t);
    /* Moves every use of tag `from` onto tag `into`, then deletes `from`. */
    int (*tag_merge)(struct store_conn *c, int64_t user_id, int64_t from, int64_t into);
    int (*tag_delete)(struct store_conn *c, int64_t user_id, int64_t id);
    /* Ids of the live tasks carrying the tag. */
    int (*tag_task_ids)(struct store_conn *c, int64_t user_id, int64_t tag_id, int64_t **ids,
                        size_t *n);

    int (*outbox_append)(struct store_conn *c, struct outbox_row *r); /* sets r->seq */
    /* Rows with seq > after, in seq order; only unpublished ones if asked. */
    int (*outbox_fetch)(struct store_conn *c, int64_t after, int limit, bool unpublished_only,
                        struct outbox_row **out, size_t *n);
    int (*outbox_mark_published)(struct store_conn *c, const int64_t *seqs, size_t n,
                                 int64_t now);
    /* Unpublished count and the created_at of the oldest (0 if none). */
    int (*outbox_stats)(struct store_conn *c, int64_t *depth, int64_t *oldest);
    /* The task-events of one task of the user, oldest first. */
    int (*task_history)(struct store_conn *c, int64_t user_id, int64_t task_id,
                        struct outbox_row **out, size_t *n);

    /*
     * Consumers (roles/consumer.c): records that `consumer` processed `event_id`,
     * inside the transaction of its effect. TOCK_ECONFLICT when already recorded
     * (a redelivery: the caller rolls back and skips it); never aborts the
     * transaction on that conflict.
     */
    int (*processed_mark)(struct store_conn *c, const char *consumer, const char *event_id,
                          int64_t now);
    /* Appends r (sets r->id); a row with the same event_id already there is not an error. */
    int (*audit_append)(struct store_conn *c, struct audit_row *r);
    /* The user's rows matching q, newest first (time, id DESC): up to q->limit + 1. */
    int (*audit_list)(struct store_conn *c, int64_t user_id, const struct audit_query *q,
                      struct audit_row **out, size_t *n);
    /* Deletes up to `limit` rows created before `before`; *deleted gets the count. */
    int (*audit_prune)(struct store_conn *c, int64_t before, int limit, int64_t *deleted);

    /* ---- outbox claiming and retention (roles/relay.c) ---- */
    /*
     * Inside an open write transaction: up to `limit` unpublished rows in id order,
     * claimed so that no other relay publishes a row of the same users until this
     * transaction ends (PostgreSQL: a per-user advisory lock in the relay's own
     * namespace, then FOR UPDATE SKIP LOCKED on the rows; users another relay holds
     * are skipped this round). So several relays share the work and each user's
     * events still go out in order.
     */
    int (*outbox_claim)(struct store_conn *c, int limit, struct outbox_row **out, size_t *n);
    /*
     * Deletes up to `limit` published rows with published_at < before, moving the
     * task-events among them to event_log first (history keeps working);
     * *pruned gets the rows deleted.
     */
    int (*outbox_prune)(struct store_conn *c, int64_t before, int limit, int64_t *pruned);
    /* Deletes up to `limit` processed_events marks older than before. */
    int (*processed_prune)(struct store_conn *c, int64_t before, int limit, int64_t *deleted);

    /* ---- dead letters (service/dlq.c) ---- */
    /* Removes the mark, so the consumer processes the event again (a DLQ replay). */
    int (*processed_unmark)(struct store_conn *c, const char *consumer, const char *event_id);
    /*
     * tock.deadletter events with seq > after, oldest first (outbox and event_log),
     * up to limit; each row's `replayed` tells whether it was replayed already.
     */
    int (*deadletter_list)(struct store_conn *c, int64_t after, int limit,
                           struct outbox_row **out, size_t *n);
    /* ---- recurrence ---- */
    /*
     * Whether the user's series already has that occurrence number, counting
     * deleted tasks (they keep their unique (series_id, occurrence) key). Reads only,
     * so a "no" never aborts the transaction the way a failed insert would.
     */
    int (*task_occurrence_exists)(struct store_conn *c, int64_t user_id, int64_t series_id,
                                  int64_t occurrence, bool *exists);
    /* ---- reminders (store_*_reminders.c) ---- */
    int (*reminder_insert)(struct store_conn *c, struct reminder *r); /* sets r->id */
    int (*reminder_get)(struct store_conn *c, int64_t user_id, int64_t id, struct reminder *out);
    /* Writes fire_at, state, fired_at, late, snoozes, updated_at of r (by id and user). */
    int (*reminder_update)(struct store_conn *c, const struct reminder *r);
    int (*reminder_delete)(struct store_conn *c, int64_t user_id, int64_t id);
    /* The task's reminders (every state), by fire time then id. */
    int (*reminder_list_task)(struct store_conn *c, int64_t user_id, int64_t task_id,
                              struct reminder **out, size_t *n);
    /* The user's pending reminders with from <= fire_at < to, soonest first, up to limit. */
    int (*reminder_list_user)(struct store_conn *c, int64_t user_id, int64_t from, int64_t to,
                              int limit, struct reminder **out, size_t *n);
    /* Cancels the task's pending reminders; *n (may be NULL) gets the count. */
    int (*reminder_cancel_task)(struct store_conn *c, int64_t task_id, int64_t now,
                                int64_t *n);
    /* The earliest fire_at of any pending reminder (any user); 0 when none. */
    int (*reminder_next)(struct store_conn *c, int64_t *fire_at);
    /*
     * Scheduler: claims up to limit pending reminders with fire_at <= now (soonest
     * first; PostgreSQL skips rows another transaction holds) and marks them fired
     * at now (late when now - fire_at > late_ms), in the caller's transaction.
     * Returns them with their tasks' title and due.
     */
    int (*reminder_claim_due)(struct store_conn *c, int64_t now, int limit, int64_t late_ms,
                              struct reminder_fire **out, size_t *n);
    /*
     * Optional (NULL: outbox_append per row). Appends rows[0..n) in order, with the
     * same per-user ordering guarantees as outbox_append, in fewer round trips (seq
     * is not set). For the scheduler's bursts of reminder.due events.
     */
    int (*outbox_append_batch)(struct store_conn *c, const struct outbox_row *rows, size_t n);

    /* ---- notifications (store_*_notify.c) ---- */
    /* TOCK_ENOTFOUND when the user has no row (the caller uses the defaults). */
    int (*notify_prefs_get)(struct store_conn *c, int64_t user_id, struct notify_prefs *out);
    int (*notify_prefs_put)(struct store_conn *c, const struct notify_prefs *p); /* upsert */
    int (*notification_insert)(struct store_conn *c, struct notification *n); /* sets id */
    /* Newest first; before_id 0: from the newest; up to limit + 1 rows. */
    int (*notification_list)(struct store_conn *c, int64_t user_id, bool unread_only,
                             int64_t before_id, int limit, struct notification **out,
                             size_t *n);
    int (*notification_get)(struct store_conn *c, int64_t user_id, int64_t id,
                            struct notification *out);
    /* Marks one (id) or all (id 0) unread notifications read; *changed the count. */
    int (*notification_mark_read)(struct store_conn *c, int64_t user_id, int64_t id,
                                  int64_t now, int64_t *changed);
    /*
     * Inserts d (sets d->id); TOCK_ECONFLICT, without aborting the transaction,
     * when a row for the same (reminder_id, fired_at, channel) exists.
     */
    int (*delivery_insert)(struct store_conn *c, struct delivery *d);
    /*
     * Pending rows with send_at <= now, soonest first, up to limit, locked for the
     * caller's transaction (PostgreSQL: SKIP LOCKED, so notifier replicas split them).
     */
    int (*delivery_due)(struct store_conn *c, int64_t now, int limit, struct delivery **out,
                        size_t *n);
    /* Pending rows of user+channel with send_at <= until except id, locked likewise. */
    int (*delivery_group)(struct store_conn *c, int64_t user_id, const char *channel,
                          int64_t until, int64_t except_id, struct delivery **out,
                          size_t *n);
    /* Writes state, send_at, attempts, group_id, last_error, log, updated_at, sent_at, payload. */
    int (*delivery_update)(struct store_conn *c, const struct delivery *d);
    /* The user's deliveries, newest first; before_id 0: from the newest; limit + 1 rows. */
    int (*delivery_list)(struct store_conn *c, int64_t user_id, int64_t before_id, int limit,
                         struct delivery **out, size_t *n);
    /* The earliest send_at of any pending delivery; 0 when none. */
    int (*delivery_next)(struct store_conn *c, int64_t *send_at);
    /* ---- sync (roles/sync.c, docs/sync.md) ---- */
    /* The outbox seq of the row with event_id; TOCK_ENOTFOUND when absent (pruned). */
    int (*outbox_seq_of)(struct store_conn *c, const char *event_id, int64_t *seq);
    /*
     * The user's task-updates rows with seq > after, in seq order, up to limit. Only
     * seq, type, event_id, topic, user_id and event_json are filled.
     */
    int (*sync_rows)(struct store_conn *c, int64_t user_id, int64_t after, int limit,
                     struct outbox_row **out, size_t *n);
    /*
     * The user's highest visible outbox seq (0: none), the lowest seq still kept
     * (0: empty outbox) and the highest seq ever assigned (0: none).
     */
    int (*sync_bounds)(struct store_conn *c, int64_t user_id, int64_t *user_max,
                       int64_t *oldest, int64_t *hwm);
    /* ---- mcp sessions (store_*_mcp.c) ---- */
    int (*mcp_session_insert)(struct store_conn *c, const struct mcp_session_row *r);
    /* The session with that hash (any user: the caller compares user_id). */
    int (*mcp_session_get)(struct store_conn *c, const char *id_hash,
                           struct mcp_session_row *out);
    int (*mcp_session_touch)(struct store_conn *c, const char *id_hash, int64_t now);
    /* TOCK_ENOTFOUND when the user has no session with that hash. */
    int (*mcp_session_delete)(struct store_conn *c, int64_t user_id, const char *id_hash);
    /*
     * Deletes every session idle since before idle_before (any user), and the
     * user's sessions beyond the `keep` most recently used.
     */
    int (*mcp_session_prune)(struct store_conn *c, int64_t user_id, int64_t idle_before,
                             int keep);
    /*
     * Deliveries left "sending" since before stale_before (the notifier died during
     * the attempt): webhooks become pending again at now (the receiver dedupes by
     * delivery id); e-mails become dead (never risk a second e-mail). *n: the count.
     */
    int (*delivery_recover)(struct store_conn *c, int64_t stale_before, int64_t now,
                            int64_t *n);
    /* ---- chat ---- */
    int (*conversation_insert)(struct store_conn *c, struct conversation *cv); /* sets id */
    /* TOCK_ENOTFOUND unless the conversation exists and is the user's. */
    int (*conversation_get)(struct store_conn *c, int64_t user_id, int64_t id,
                            struct conversation *out);
    /* Writes title, state, message_count, updated_at (by id and user). */
    int (*conversation_update)(struct store_conn *c, const struct conversation *cv);
    /* Deletes it and its messages; TOCK_ENOTFOUND unless it is the user's. */
    int (*conversation_delete)(struct store_conn *c, int64_t user_id, int64_t id);
    /* The user's conversations, most recently updated first, up to limit. */
    int (*conversation_list)(struct store_conn *c, int64_t user_id, int limit,
                             struct conversation **out, size_t *n);
    /* Deletes the user's conversations beyond the `keep` most recently updated. */
    int (*conversation_prune)(struct store_conn *c, int64_t user_id, int keep);
    int (*chat_message_insert)(struct store_conn *c, struct chat_message *m); /* sets id */
    /* Messages of a conversation of the user with id > after_id, oldest first, up to limit. */
    int (*chat_message_list)(struct store_conn *c, int64_t user_id, int64_t conversation_id,
                             int64_t after_id, int limit, struct chat_message **out,
                             size_t *n);
};

/* The backend registry: picks by URL scheme ("sqlite:", "postgres://"). */
int store_open(const char *url, const struct store_config *cfg, struct store **out,
               const struct store_ops **ops, char *err, size_t errlen);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

#endif
