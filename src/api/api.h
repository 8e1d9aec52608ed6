/*
 * api.h — the REST handlers: JSON <-> service calls, errors -> status. Handlers
 * never talk SQL (they call services) and never build SQL-ish filters (core parses
 * them). The route table is the map of the API: read it to follow any endpoint
 * end to end (route -> handler -> service -> store).
 */
#ifndef TOCK_API_API_H
#define TOCK_API_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bus/bus.h"
#include "http/http.h"
#include "service/service.h"

struct chat_config; /* ---- chat: chat/chat.h ---- */

/*
 * A role this process runs, as /readyz reports it. status (NULL: always ready)
 * returns API_ROLE_READY, API_ROLE_DEGRADED (reported, still ready: e.g. the relay
 * cannot reach the bus; the outbox holds the events) or API_ROLE_NOT_READY, and
 * may set *detail to a static string.
 */
enum { API_ROLE_READY, API_ROLE_DEGRADED, API_ROLE_NOT_READY };
struct api_role {
    const char *name;
    int (*status)(void *arg, const char **detail);
    void *arg;
};
#define API_MAX_ROLES 16
struct sync_hub;

struct api_app {
    struct api_role roles[API_MAX_ROLES];
    size_t nroles;
    struct svc *svc;
    atomic_bool shutting_down; /* /readyz turns 503 once set */
    const char *version;
    struct bus *bus; /* for the Dapr routes (h_dapr.c); may be NULL */
    const struct bus_ops *bus_ops;
    struct sync_hub *sync; /* ---- sync: GET /api/v1/ws (h_ws.c); NULL without the role ---- */
    /* ---- mcp (h_mcp.c) ---- */
    const char *mcp_allowed_origins; /* comma list of extra origins, "*" = any; may be NULL */
    struct mcp_session_limits mcp_limits;
    /* ---- chat (h_chat.c) ---- */
    const struct chat_config *chat;
};

extern const struct http_route api_routes[];
extern const size_t api_nroutes;
/* What a process without the api role serves: /healthz, /readyz, /metrics, Dapr. */
extern const struct http_route api_ops_routes[];
extern const size_t api_ops_nroutes;

/* ---- helpers shared by the handler files (api/respond.c) ---- */

/* Maps a TOCK_E* (and optional detail) to the HTTP error response. */
void api_fail(struct http_resp *resp, int rc, const struct tock_error *e);
/* Sends j (stolen) with status. */
void api_json(struct http_resp *resp, int status, json_t *j);
/*
 * Parses the request body as a JSON object (duplicates rejected, depth <= 32,
 * UTF-8 checked). On failure fills resp and returns NULL.
 */
json_t *api_body(struct http_req *req, struct http_resp *resp);
/* Authenticates the bearer credential; fills ctx. On failure fills resp (401). */
bool api_auth(struct api_app *app, struct http_req *req, struct http_resp *resp,
              struct svc_ctx *ctx);
/* api_auth, then api_body: the start of every authenticated handler with a body. */
json_t *api_auth_body(struct api_app *app, struct http_req *req, struct http_resp *resp,
                      struct svc_ctx *ctx);
/* Parses If-Match: -1 when absent or "*"; false (and 400 in resp) when malformed. */
bool api_if_match(struct http_req *req, struct http_resp *resp, int64_t *out);
/* Rejects members of o not in allowed (NULL-terminated); false + 400 in resp. */
bool api_only_fields(json_t *o, const char *const *allowed, struct http_resp *resp);
/*
 * Optional string member: 0 absent, 1 string (*out set), 2 null (if nullable).
 * A wrong type fills resp with 400 and returns -1.
 */
int api_str(json_t *o, const char *key, bool nullable, const char **out,
            struct http_resp *resp);
json_t *api_user_json(const struct user *u);
json_t *api_time(int64_t ms); /* RFC 3339 string, or null for 0 */
json_t *api_id(int64_t id);

void api_h_register(struct http_req *, struct http_resp *, void *);
void api_h_login(struct http_req *, struct http_resp *, void *);
void api_h_me_get(struct http_req *, struct http_resp *, void *);
void api_h_me_patch(struct http_req *, struct http_resp *, void *);
void api_h_tokens_create(struct http_req *, struct http_resp *, void *);
void api_h_tokens_list(struct http_req *, struct http_resp *, void *);
void api_h_tokens_delete(struct http_req *, struct http_resp *, void *);
void api_h_tasks_create(struct http_req *, struct http_resp *, void *);
void api_h_tasks_list(struct http_req *, struct http_resp *, void *);
void api_h_task_get(struct http_req *, struct http_resp *, void *);
void api_h_task_patch(struct http_req *, struct http_resp *, void *);
void api_h_task_delete(struct http_req *, struct http_resp *, void *);
void api_h_task_complete(struct http_req *, struct http_resp *, void *);
void api_h_task_reopen(struct http_req *, struct http_resp *, void *);
void api_h_task_history(struct http_req *, struct http_resp *, void *);
void api_h_audit_list(struct http_req *, struct http_resp *, void *);
void api_h_tags_list(struct http_req *, struct http_resp *, void *);
void api_h_tags_create(struct http_req *, struct http_resp *, void *);
void api_h_tag_patch(struct http_req *, struct http_resp *, void *);
void api_h_tag_delete(struct http_req *, struct http_resp *, void *);
void api_h_healthz(struct http_req *, struct http_resp *, void *);
void api_h_readyz(struct http_req *, struct http_resp *, void *);
void api_h_metrics(struct http_req *, struct http_resp *, void *);
void api_h_root(struct http_req *, struct http_resp *, void *);
void api_h_dapr_subscribe(struct http_req *, struct http_resp *, void *);
void api_h_dapr_event(struct http_req *, struct http_resp *, void *);
/* ---- sync ---- */
void api_h_ws(struct http_req *, struct http_resp *, void *);

/* ---- reminders (h_reminders.c) ---- */
/* One reminder object ({offset_minutes} or {at}); field names are prefixed by prefix. */
bool api_reminder_input(json_t *o, struct reminder_input *in, const char *prefix,
                        struct http_resp *resp);
/* A task's "reminders": array (or null: none); *out is freed by the caller. */
bool api_reminders_parse(json_t *arr, struct reminder_input **out, size_t *n,
                         struct http_resp *resp);
json_t *api_reminder_json(const struct reminder *r);
void api_h_task_reminders_create(struct http_req *, struct http_resp *, void *);
void api_h_task_reminders_list(struct http_req *, struct http_resp *, void *);
void api_h_reminders_list(struct http_req *, struct http_resp *, void *);
void api_h_reminder_get(struct http_req *, struct http_resp *, void *);
void api_h_reminder_delete(struct http_req *, struct http_resp *, void *);
void api_h_reminder_snooze(struct http_req *, struct http_resp *, void *);

/* ---- notifications (h_notifications.c) ---- */
void api_h_notify_prefs_get(struct http_req *, struct http_resp *, void *);
void api_h_notify_prefs_put(struct http_req *, struct http_resp *, void *);
void api_h_notifications_list(struct http_req *, struct http_resp *, void *);
void api_h_notification_read(struct http_req *, struct http_resp *, void *);
void api_h_notifications_read_all(struct http_req *, struct http_resp *, void *);
void api_h_deliveries_list(struct http_req *, struct http_resp *, void *);
void api_h_notify_test(struct http_req *, struct http_resp *, void *);

/* ---- quick-add language (h_parse.c) ---- */
void api_h_parse(struct http_req *, struct http_resp *, void *);
/*
 * Quick add, called by POST /api/v1/tasks: without a "text" member sets *qa NULL
 * and returns true; with one, parses it (caller's zone, or the body's valid
 * "timezone"; server clock), removes "text" from b and returns the parse in *qa.
 * False (and 400 in resp) on a bad text.
 */
struct api_quick_add;
bool api_quick_add_begin(json_t *b, const struct svc_ctx *ctx, struct api_quick_add **qa,
                         struct http_resp *resp);
/* Fills the members of in that the body did not set explicitly. */
void api_quick_add_fill(struct api_quick_add *qa, struct task_input *in);
/* Adds "parsed" (the parse, reminders included) to the task response. */
void api_quick_add_respond(struct api_quick_add *qa, struct http_resp *resp);
void api_quick_add_free(struct api_quick_add *qa);
/* ---- mcp ---- */
void api_h_mcp_post(struct http_req *, struct http_resp *, void *);
void api_h_mcp_delete(struct http_req *, struct http_resp *, void *);
/* ---- chat (h_chat.c) ---- */
void api_h_chat(struct http_req *, struct http_resp *, void *);
void api_h_conversations_list(struct http_req *, struct http_resp *, void *);
void api_h_conversation_get(struct http_req *, struct http_resp *, void *);
void api_h_conversation_messages(struct http_req *, struct http_resp *, void *);
void api_h_conversation_delete(struct http_req *, struct http_resp *, void *);

#endif
