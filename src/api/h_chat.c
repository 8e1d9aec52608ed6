/*
 * h_chat.c — POST /api/v1/chat and /api/v1/conversations (docs/assistant.md):
 * JSON <-> chat_turn and the conversation services.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "chat/chat.h"

#define MESSAGES_PAGE_DEFAULT 100

static json_t *conversation_json(const struct conversation *cv)
{
    return json_pack("{s:o,s:s,s:I,s:o,s:o}", "id", api_id(cv->id), "title", cv->title,
                     "message_count", (json_int_t)cv->message_count, "created_at",
                     api_time(cv->created_at), "updated_at", api_time(cv->updated_at));
}

static json_t *message_json(const struct chat_message *m)
{
    json_t *actions = m->actions ? json_loads(m->actions, 0, NULL) : NULL;
    return json_pack("{s:o,s:s,s:s,s:o,s:o,s:o}", "id", api_id(m->id), "role", m->role,
                     "content", m->content, "actions", actions ? actions : json_null(),
                     "engine", m->engine[0] ? json_string(m->engine) : json_null(),
                     "created_at", api_time(m->created_at));
}

void api_h_chat(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"conversation_id", "message", NULL};
    if (!api_only_fields(b, fields, resp)) {
        json_decref(b);
        return;
    }
    json_t *cid = json_object_get(b, "conversation_id"), *msg = json_object_get(b, "message");
    int64_t conv = 0;
    if (cid && !json_is_null(cid)) {
        if (!json_is_string(cid)) {
            http_error(resp, 400, "invalid_argument", "conversation_id must be a string",
                       "conversation_id");
            json_decref(b);
            return;
        }
        conv = id_parse(json_string_value(cid));
        if (!conv) {
            api_fail(resp, TOCK_ENOTFOUND, NULL);
            json_decref(b);
            return;
        }
    }
    if (!json_is_string(msg)) {
        http_error(resp, 400, "invalid_argument",
                   msg ? "message must be a string" : "message is required", "message");
        json_decref(b);
        return;
    }
    if (strlen(json_string_value(msg)) != json_string_length(msg)) {
        http_error(resp, 400, "invalid_argument", "message must not contain NUL", "message");
        json_decref(b);
        return;
    }
    struct chat_out out;
    struct tock_error e = {0};
    int rc = chat_turn(app->chat, app->svc, &ctx, conv, json_string_value(msg), &out, &e);
    json_decref(b);
    if (rc == TOCK_ELIMIT) {
        http_error(resp, 409, "limit_reached", e.message, e.field);
        return;
    }
    if (rc) {
        api_fail(resp, rc, &e);
        return;
    }
    json_t *j = json_pack("{s:o,s:s,s:O,s:s}", "conversation_id", api_id(out.conversation_id),
                          "reply", out.reply, "actions", out.actions, "engine", out.engine);
    chat_out_release(&out);
    api_json(resp, 200, j);
}

void api_h_conversations_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    if (req->nparams) {
        http_error(resp, 400, "invalid_argument", "unknown parameter", req->params[0].name);
        return;
    }
    struct conversation *v = NULL;
    size_t n = 0;
    int rc = svc_conv_list(app->svc, &ctx, &v, &n);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, conversation_json(&v[i]));
    free(v);
    api_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_h_conversation_get(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    struct conversation cv;
    int rc = id ? svc_conv_get(app->svc, &ctx, id, &cv) : TOCK_ENOTFOUND;
    if (rc)
        api_fail(resp, rc, NULL);
    else
        api_json(resp, 200, conversation_json(&cv));
}

void api_h_conversation_messages(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]), after = 0;
    int limit = MESSAGES_PAGE_DEFAULT;
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].name, *v = req->params[i].value;
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        if (!strcmp(k, "limit")) {
            if (!*v || *end || x < 1 || x > CONV_MESSAGES_PAGE_MAX) {
                http_error(resp, 400, "invalid_argument", "limit must be 1-200", "limit");
                return;
            }
            limit = (int)x;
        } else if (!strcmp(k, "after")) {
            if (!*v || *end || x < 0) {
                http_error(resp, 400, "invalid_argument", "after must be a message id", "after");
                return;
            }
            after = x;
        } else {
            http_error(resp, 400, "invalid_argument", "unknown parameter", k);
            return;
        }
    }
    struct chat_message *v = NULL;
    size_t n = 0;
    int rc = id ? svc_conv_messages(app->svc, &ctx, id, after, limit, &v, &n) : TOCK_ENOTFOUND;
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, message_json(&v[i]));
    chat_messages_free(v, n);
    api_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_h_conversation_delete(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    int rc = id ? svc_conv_delete(app->svc, &ctx, id) : TOCK_ENOTFOUND;
    if (rc)
        api_fail(resp, rc, NULL);
    else
        resp->status = 204;
}
