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
};

/* Who is calling and under which trace; built by the API layer per request. */
struct svc_ctx {
    int64_t user_id;
    char timezone[TZ_NAME_MAX]; /* the caller's zone */
    const char *traceparent;    /* NULL: a new trace is started on first use */
    char trace_buf[56];         /* holds that trace, so one unit of work shares it */
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

#endif
