/*
 * service.h — domain operations. Each call is one unit of work: it borrows a store
 * connection, runs one transaction that writes the rows *and* their outbox events,
 * commits, and gives the connection back. Services never parse wire JSON and never
 * see HTTP; validation rules come from core.
 *
 * Errors: 0 or a negative TOCK_E*; for validation and business errors `e` carries
 * the field and a message for the client.
 */
#ifndef TOCK_SERVICE_SERVICE_H
#define TOCK_SERVICE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/filter.h"
#include "core/model.h"
#include "core/task.h"
#include "store/store.h"

struct ratelimit;
struct authcache;

struct svc_config {
    const unsigned char *jwt_secret; /* borrowed; >= 32 bytes */
    size_t jwt_secret_len;
    int64_t jwt_ttl_s;
    int login_max_failures;
    int login_window_s;
    const char *source; /* CloudEvents source, e.g. "tock/api" */
};

struct svc {
    struct store *store;
    const struct store_ops *ops;
    struct svc_config cfg;
    struct ratelimit *login_limit;
    struct authcache *jwt_cache;
    /* Called after a commit that appended outbox rows (wakes the relay). */
    void (*outbox_kick)(void *arg);
    void *kick_arg;
    /* ---- reminders ---- */
    /* Called after a commit that changed pending reminders (wakes the scheduler). */
    void (*reminder_kick)(void *arg);
    void *reminder_kick_arg;
    /* ---- notifications ---- */
    /* Called after a commit that added due deliveries (wakes the notifier). */
    void (*notify_kick)(void *arg);
    void *notify_kick_arg;
};

/* Who is calling and under which trace; built by the API layer per request. */
struct svc_ctx {
    int64_t user_id;
    char timezone[TZ_NAME_MAX]; /* the caller's zone */
    const char *traceparent;    /* NULL: a new trace is started on first use */
    char trace_buf[56];         /* holds that trace, so one unit of work shares it */
    /* ---- reminders ---- */
    bool reminders_changed;     /* set by the reminder hooks: kick the scheduler after commit */
    const char *source;         /* CloudEvents source of this unit's events (NULL: cfg.source) */
};

int svc_init(struct svc *s, struct store *store, const struct store_ops *ops,
             const struct svc_config *cfg);
void svc_free(struct svc *s);

/* ---- accounts (service/auth.c) ---- */
struct register_input {
    const char *email, *password, *display_name, *timezone; /* optional ones NULL */
};
/* Creates the user and a session JWT (token: caller frees). */
int svc_register(struct svc *s, const struct register_input *in, struct user *out, char **token,
                 int64_t *expires_at, struct tock_error *e);
/* TOCK_EAUTH for any wrong e-mail/password; TOCK_ELIMIT (retry_after set) when throttled. */
int svc_login(struct svc *s, const char *email, const char *password, struct user *out,
              char **token, int64_t *expires_at, int *retry_after, struct tock_error *e);
/* Resolves a bearer credential (JWT or API token) to the user; TOCK_EAUTH otherwise. */
int svc_authenticate(struct svc *s, const char *bearer, struct user *out);
int svc_me_update(struct svc *s, struct svc_ctx *ctx, const char *display_name,
                  const char *timezone, struct user *out, struct tock_error *e);
int svc_me_get(struct svc *s, struct svc_ctx *ctx, struct user *out);
/* Creates an API token; *secret (caller frees) is shown once. */
int svc_token_create(struct svc *s, struct svc_ctx *ctx, const char *name, struct api_token *out,
                     char **secret, struct tock_error *e);
int svc_token_list(struct svc *s, struct svc_ctx *ctx, struct api_token **out, size_t *n);
int svc_token_delete(struct svc *s, struct svc_ctx *ctx, int64_t id);
/* Issues a JWT for user_id (caller frees). */
int svc_jwt_issue(struct svc *s, int64_t user_id, char **token, int64_t *expires_at);
/* Admin (CLI): user by e-mail. */
int svc_user_by_email(struct svc *s, const char *email, struct user *out);

/* ---- tasks (service/tasks.c); if_match < 0 means "no precondition" ---- */
int svc_task_create(struct svc *s, struct svc_ctx *ctx, const struct task_input *in,
                    struct task *out, struct tock_error *e);
int svc_task_get(struct svc *s, struct svc_ctx *ctx, int64_t id, struct task *out);
int svc_task_update(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                    const struct task_input *in, struct task *out, struct tock_error *e);
int svc_task_delete(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match);
int svc_task_complete(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                      struct task *out);
int svc_task_reopen(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                    struct task *out);
/* One page; *next_cursor is NULL on the last page (caller frees). */
int svc_task_list(struct svc *s, struct svc_ctx *ctx, const struct task_filter *f,
                  struct task **out, size_t *n, char **next_cursor);
void svc_tasks_free(struct task *v, size_t n);
int svc_task_history(struct svc *s, struct svc_ctx *ctx, int64_t id, struct outbox_row **out,
                     size_t *n);

/* ---- tags (service/tags.c) ---- */
int svc_tag_list(struct svc *s, struct svc_ctx *ctx, const char *prefix, struct tag **out,
                 size_t *n, struct tock_error *e);
/* *created tells whether a new tag was made (else the existing one is returned). */
int svc_tag_create(struct svc *s, struct svc_ctx *ctx, const char *name, const char *color,
                   struct tag *out, bool *created, struct tock_error *e);
/* name/color NULL: unchanged; color "" clears. Renaming onto an existing tag merges. */
int svc_tag_update(struct svc *s, struct svc_ctx *ctx, int64_t id, const char *name,
                   const char *color, struct tag *out, struct tock_error *e);
int svc_tag_delete(struct svc *s, struct svc_ctx *ctx, int64_t id);

/* ---- audit log (service/audit.c) ---- */
/* One page of the caller's audit entries, newest first; *next_cursor NULL on the last. */
int svc_audit_list(struct svc *s, struct svc_ctx *ctx, const struct audit_query *q,
                   struct audit_row **out, size_t *n, char **next_cursor);

/* ---- dead letters (service/dlq.c) ---- */
/* tock.deadletter events with seq > after, oldest first (outbox + event_log). */
int svc_dlq_list(struct svc *s, int64_t after, int limit, struct outbox_row **out, size_t *n);
/*
 * Replays dead letter dl: its original event goes back on its topic for the consumer
 * that gave up on it (named into consumer). TOCK_ECONFLICT when replayed already,
 * TOCK_EINVAL when the original was not a CloudEvent (e says so).
 */
int svc_dlq_replay(struct svc *s, const struct outbox_row *dl, char *consumer, size_t cap,
                   struct tock_error *e);

/* ---- operations (service/ops.c) ---- */
/* 0 when the database answers and every migration is applied. */
int svc_ready(struct svc *s);
/* Unpublished outbox rows and the age of the oldest, in ms (0 if none). */
int svc_outbox_stats(struct svc *s, int64_t *depth, int64_t *oldest_age_ms);

/*
 * Ends a write unit: rolls back if rc, else commits and, if it wrote events,
 * wakes the relay. Returns the unit's result. (For the service files.)
 */
int svc_finish(struct svc *s, struct store_conn *c, int rc, bool wrote_events);

/* ---- events (service/events.c) ---- */
/*
 * Appends one CloudEvent to the outbox inside the caller's transaction. `data` is
 * stolen (decref'd). type is e.g. "task.created"; topic "task-events".
 */
int svc_emit(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, const char *topic,
             const char *type, int64_t task_id, json_t *data);
/* The task-events event for a change of t plus its task.sync. */
int svc_emit_task(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                  const char *type, const char *sync_change, const struct task *t,
                  json_t *changes);

/* ---- recurrence (service/recurrence.c) ---- */
/*
 * Creates the next occurrence of the completed task `done` inside the caller's
 * transaction on c (the recurring consumer's): occurrence done->occurrence + 1 of the
 * same series, due per core/recur.h (completion time done->completed_at, now from the
 * clock), copying title, description, priority, tags (and reminder offsets: see the
 * marked place in recurrence.c), with its task.created + task.sync events. Nothing
 * is created (*created false, 0 returned) when done does not recur, its series
 * ended, or that occurrence already exists (live or deleted): a redelivered or
 * repeated completion never makes a second one. out (if non-NULL) receives the
 * new task when *created (release with task_release).
 */
int svc_recur_next(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                   const struct task *done, struct task *out, bool *created);
/*
 * DELETE ?scope=series: deletes the task and every other live, not completed
 * occurrence of its series, each with its recurrence cleared (so nothing continues
 * the series), one task.deleted event each. Completed occurrences stay as history.
 */
int svc_task_delete_series(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match);
/* ---- reminders (service/reminders.c) ---- */
/* Adds a reminder to a live, not completed task (at most REMINDERS_PER_TASK_MAX). */
int svc_reminder_create(struct svc *s, struct svc_ctx *ctx, int64_t task_id,
                        const struct reminder_input *in, struct reminder *out,
                        struct tock_error *e);
/* The task's reminders (every state); caller frees *out with free(). */
int svc_reminder_list_task(struct svc *s, struct svc_ctx *ctx, int64_t task_id,
                           struct reminder **out, size_t *n);
/* The caller's pending reminders with from <= fire_at < to, soonest first (limit rows). */
int svc_reminder_list(struct svc *s, struct svc_ctx *ctx, int64_t from, int64_t to, int limit,
                      struct reminder **out, size_t *n);
int svc_reminder_get(struct svc *s, struct svc_ctx *ctx, int64_t id, struct reminder *out);
int svc_reminder_delete(struct svc *s, struct svc_ctx *ctx, int64_t id);
/* Fires the reminder again `minutes` from now (1..REMINDER_SNOOZE_MAX_MINUTES). */
int svc_reminder_snooze(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t minutes,
                        struct reminder *out, struct tock_error *e);
/*
 * Hooks for task operations, run inside the caller's write transaction on c (they
 * neither commit nor roll back). Each sets ctx->reminders_changed when pending
 * reminders changed; the caller then calls svc_reminders_kick after its commit.
 *  - replace: the task's reminders become `in` (a task's "reminders": [...]).
 *  - task_changed: offset reminders follow a changed due (a fired one whose new
 *    time is ahead fires again); completing or deleting cancels the pending ones;
 *    reopening restores cancelled ones whose time is still ahead.
 *  - copy_offsets: gives task `to` (already inserted) the distinct offset
 *    reminders of task from_task_id, e.g. for a series' next occurrence.
 */
int svc_reminders_replace(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                          const struct task *t, const struct reminder_input *in, size_t n,
                          struct tock_error *e);
int svc_reminders_task_changed(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                               const struct task *before, const struct task *after);
int svc_reminders_copy_offsets(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                               int64_t from_task_id, const struct task *to);
/* Wakes the in-process scheduler (if any) to re-read the earliest pending reminder. */
void svc_reminders_kick(struct svc *s);
/* The earliest pending fire_at of any user (0: none). */
int svc_reminder_next(struct svc *s, int64_t *fire_at);
/*
 * The scheduler's unit: claims up to limit reminders due at `now`, marks them
 * fired (late when more than late_ms after fire_at) and appends one reminder.due
 * event each (topic reminders), in one transaction. *fired gets the count.
 */
int svc_reminders_fire_due(struct svc *s, int64_t now, int limit, int64_t late_ms,
                           size_t *fired);
/*
 * Appends one event whose data members (without braces) are already written in
 * `members` (see events.c); for producers that write their own data.
 */
struct buf;
/* Builds (without appending) the outbox row of such an event; out->event_json: free(). */
int svc_event_build(struct svc *s, struct svc_ctx *ctx, const char *topic, const char *type,
                    int64_t task_id, const struct buf *members, struct outbox_row *out);
int svc_emit_raw(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, const char *topic,
                 const char *type, int64_t task_id, const struct buf *members);

/* ---- notifications (service/notifications.c) ---- */
/* The caller's preferences (defaults when never set). */
int svc_notify_prefs_get(struct svc *s, struct svc_ctx *ctx, struct notify_prefs *out);
/* Validates p (every field; e names the bad one) and stores it as the caller's. */
int svc_notify_prefs_put(struct svc *s, struct svc_ctx *ctx, struct notify_prefs *p,
                         struct tock_error *e);
/* Newest first, up to limit (+1 row telling there is more); free with notifications_free. */
int svc_notifications_list(struct svc *s, struct svc_ctx *ctx, bool unread_only,
                           int64_t before_id, int limit, struct notification **out, size_t *n);
/* Marks one notification (id) or all (id 0) read. TOCK_ENOTFOUND for an unknown id. */
int svc_notification_read(struct svc *s, struct svc_ctx *ctx, int64_t id,
                          struct notification *out);
int svc_deliveries_list(struct svc *s, struct svc_ctx *ctx, int64_t before_id, int limit,
                        struct delivery **out, size_t *n);
/* Queues a test message on each enabled channel now (no quiet hours, no digest). */
int svc_notify_test(struct svc *s, struct svc_ctx *ctx, struct delivery **out, size_t *n,
                    struct tock_error *e);
/*
 * The notifier consumer's effect, inside its transaction on c: one delivery row per
 * enabled channel of the user for the reminder.due `data`, with send_at after the
 * digest window and outside quiet hours. A row that already exists (same reminder
 * firing and channel) is left alone.
 */
int svc_notify_enqueue(struct svc *s, struct store_conn *c, int64_t user_id, json_t *data,
                       int64_t now);
/* An e-mail or webhook delivery claimed for sending, with what sending needs. */
struct notify_job {
    struct delivery d;
    struct notify_prefs prefs;
    char to_email[EMAIL_MAX + 1];
};
void notify_jobs_free(struct notify_job *v, size_t n);
/*
 * The notifier's unit: takes up to limit due deliveries, folds digests, delivers
 * in-app ones (inbox row + notification.created) in the transaction, and marks
 * e-mail/webhook ones "sending", returning them for the caller to send outside any
 * transaction and report with svc_notify_finish.
 */
int svc_notify_claim(struct svc *s, int64_t now, int limit, struct notify_job **out, size_t *n);
/*
 * Records one attempt's outcome: sent; or pending again after backoff_ms * 2^(n-1);
 * or, at max_attempts, dead with a tock.deadletter event on dlq.
 */
int svc_notify_finish(struct svc *s, struct notify_job *job, bool ok, const char *detail,
                      int64_t backoff_ms, int max_attempts);
/* The earliest send_at of a pending delivery (0: none). */
int svc_notify_next(struct svc *s, int64_t *send_at);
/* ---- mcp sessions (service/mcp_sessions.c) ---- */
#define MCP_SESSION_ID_LEN 64 /* hex characters of a session id */
struct mcp_session_limits {
    int64_t idle_ms;  /* a session unused this long is gone */
    int per_user;     /* sessions kept per user (the least recently used go first) */
};
/*
 * Starts a session of the caller speaking `version`; id (MCP_SESSION_ID_LEN + 1
 * bytes) receives its random id. Prunes idle sessions and the caller's oldest
 * beyond the limit in the same transaction.
 */
int svc_mcp_session_create(struct svc *s, struct svc_ctx *ctx, const char *version,
                           const struct mcp_session_limits *lim, char *id);
/*
 * The caller's live session `id`: its protocol version (16 bytes). TOCK_ENOTFOUND
 * when unknown, ended, idle too long or another user's. Records the use (to the
 * minute).
 */
int svc_mcp_session_get(struct svc *s, struct svc_ctx *ctx, const char *id,
                        const struct mcp_session_limits *lim, char *version);
/* Ends the caller's session `id`; TOCK_ENOTFOUND if there is none. */
int svc_mcp_session_end(struct svc *s, struct svc_ctx *ctx, const char *id);
/* Recovers deliveries "sending" for longer than lease_ms (see store.h delivery_recover). */
int svc_notify_recover(struct svc *s, int64_t lease_ms, int64_t *n);

/* ---- chat (service/conversations.c) ---- */
#define CONV_PER_USER_MAX 100        /* a new one beyond: the least recently used goes */
#define CONV_MESSAGES_MAX 200        /* messages (user + assistant) per conversation */
#define CONV_MESSAGES_PAGE_MAX 200
/* The caller's conversation; TOCK_ENOTFOUND if unknown or another user's. */
int svc_conv_get(struct svc *s, struct svc_ctx *ctx, int64_t id, struct conversation *out);
/* The caller's conversations, most recently used first (at most CONV_PER_USER_MAX). */
int svc_conv_list(struct svc *s, struct svc_ctx *ctx, struct conversation **out, size_t *n);
int svc_conv_delete(struct svc *s, struct svc_ctx *ctx, int64_t id);
/* Messages with id > after, oldest first, up to limit (+ TOCK_ENOTFOUND as svc_conv_get). */
int svc_conv_messages(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t after, int limit,
                      struct chat_message **out, size_t *n);
/*
 * Records one turn in one transaction: the user's message and the reply (with its
 * actions JSON and engine), and the conversation's new state. cv->id 0 creates the
 * conversation (title from the message; the caller's oldest beyond
 * CONV_PER_USER_MAX are deleted) and sets cv->id. TOCK_ENOTFOUND when cv was
 * deleted meanwhile; TOCK_ELIMIT when it is full (CONV_MESSAGES_MAX).
 */
int svc_conv_save_turn(struct svc *s, struct svc_ctx *ctx, struct conversation *cv,
                       const char *message, const char *reply, const char *actions,
                       const char *engine);

#endif
