/*
 * respond.c — what every handler shares: the one mapping from TOCK_E* to HTTP
 * status, strict JSON body parsing, bearer authentication and If-Match.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/timeutil.h"

#define JSON_DEPTH_MAX 32

void api_fail(struct http_resp *resp, int rc, const struct tock_error *e)
{
    const char *field = e && e->code == rc ? e->field : NULL;
    const char *msg = e && e->code == rc && e->message[0] ? e->message : tock_strerror(rc);
    switch (rc) {
    case TOCK_EINVAL: http_error(resp, 400, "invalid_argument", msg, field); break;
    case TOCK_EJSON: http_error(resp, 400, "invalid_json", msg, field); break;
    case TOCK_ENOTFOUND: http_error(resp, 404, "not_found", "not found", NULL); break;
    case TOCK_ECONFLICT: http_error(resp, 409, "conflict", msg, field); break;
    case TOCK_ESTALE:
        http_error(resp, 412, "precondition_failed",
                   e && e->code == rc ? msg : "the object has changed since that version",
                   "If-Match");
        break;
    case TOCK_EAUTH:
        http_error(resp, 401, "unauthorized", msg, NULL);
        http_set_header(resp, "WWW-Authenticate", "Bearer");
        break;
    case TOCK_ELIMIT: http_error(resp, 429, "rate_limited", msg, field); break;
    case TOCK_EBUSY:
        http_error(resp, 503, "unavailable", "the database is busy; retry", NULL);
        http_set_header(resp, "Retry-After", "1");
        break;
    default: http_error(resp, 500, "internal", "internal error", NULL); break;
    }
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return buf_append(data, buffer, size) ? -1 : 0;
}

void api_json(struct http_resp *resp, int status, json_t *j)
{
    resp->status = status;
    buf_reset(&resp->body);
    if (!j || json_dump_callback(j, dump_cb, &resp->body, JSON_COMPACT) != 0)
        http_error(resp, 500, "internal", "internal error", NULL);
    json_decref(j);
}

/* Nesting depth of JSON text, ignoring brackets inside strings. */
static int json_depth(const char *s, size_t n)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                max = depth;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

json_t *api_body(struct http_req *req, struct http_resp *resp)
{
    if (req->body_len == 0) {
        http_error(resp, 400, "invalid_json", "a JSON object body is required", NULL);
        return NULL;
    }
    if (json_depth(req->body, req->body_len) > JSON_DEPTH_MAX) {
        http_error(resp, 400, "invalid_json", "JSON nests deeper than 32 levels", NULL);
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "malformed JSON: %s (line %d, column %d)", err.text, err.line,
                 err.column);
        http_error(resp, 400, "invalid_json", msg, NULL);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_error(resp, 400, "invalid_json", "the body must be a JSON object", NULL);
        return NULL;
    }
    return j;
}

bool api_auth(struct api_app *app, struct http_req *req, struct http_resp *resp,
              struct svc_ctx *ctx)
{
    const char *h = http_header(req, "Authorization");
    memset(ctx, 0, sizeof *ctx);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        api_fail(resp, TOCK_EAUTH,
                 &(struct tock_error){TOCK_EAUTH, "", "a bearer token is required"});
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    struct user u;
    int rc = svc_authenticate(app->svc, tok, &u);
    if (rc) {
        if (rc == TOCK_EAUTH)
            api_fail(resp, rc,
                     &(struct tock_error){TOCK_EAUTH, "", "invalid or expired token"});
        else
            api_fail(resp, rc, NULL);
        return false;
    }
    ctx->user_id = u.id;
    snprintf(ctx->timezone, sizeof ctx->timezone, "%s", u.timezone);
    ctx->traceparent = req->traceparent;
    req->user_id = u.id;
    return true;
}

json_t *api_auth_body(struct api_app *app, struct http_req *req, struct http_resp *resp,
                      struct svc_ctx *ctx)
{
    return api_auth(app, req, resp, ctx) ? api_body(req, resp) : NULL;
}

bool api_if_match(struct http_req *req, struct http_resp *resp, int64_t *out)
{
    const char *h = http_header(req, "If-Match");
    *out = -1;
    if (!h || strcmp(h, "*") == 0)
        return true;
    char tmp[32];
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"' && n - 2 < sizeof tmp) {
        memcpy(tmp, h + 1, n - 2);
        tmp[n - 2] = 0;
        h = tmp;
    }
    int64_t v = id_parse(h);
    if (!v) {
        http_error(resp, 400, "invalid_argument", "If-Match must be a task version", "If-Match");
        return false;
    }
    *out = v;
    return true;
}

bool api_only_fields(json_t *o, const char *const *allowed, struct http_resp *resp)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field");
            http_error(resp, 400, "invalid_argument", msg, strlen(key) < 64 ? key : NULL);
            return false;
        }
    }
    return true;
}

int api_str(json_t *o, const char *key, bool nullable, const char **out, struct http_resp *resp)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (json_is_null(v) && nullable) {
        *out = NULL;
        return 2;
    }
    if (!json_is_string(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a string%s", key, nullable ? " or null" : "");
        http_error(resp, 400, "invalid_argument", msg, key);
        return -1;
    }
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v)) {
        http_error(resp, 400, "invalid_argument", "strings must not contain NUL", key);
        return -1;
    }
    return 1;
}

json_t *api_time(int64_t ms)
{
    if (!ms)
        return json_null();
    char b[32];
    time_fmt_rfc3339(ms, b);
    return json_string(b);
}

json_t *api_id(int64_t id)
{
    char b[24];
    id_str(id, b);
    return json_string(b);
}

json_t *api_user_json(const struct user *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", api_id(u->id));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "display_name", json_string(u->display_name));
    json_object_set_new(o, "timezone", json_string(u->timezone));
    json_object_set_new(o, "created_at", api_time(u->created_at));
    return o;
}
