/*
 * h_mcp.c — POST/DELETE /mcp: MCP over Streamable HTTP (revision 2025-11-25).
 * One JSON-RPC message per POST, answered with application/json (no SSE: the
 * server never needs to stream). The HTTP rules live here (Origin, bearer auth,
 * Mcp-Session-Id, MCP-Protocol-Version); the protocol is chat/mcp.c and the
 * sessions are service/mcp_sessions.c (in the database, so any replica serves
 * any session). GET has no route: the router answers 405 with Allow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "chat/mcp.h"

/* A JSON-RPC error as an HTTP error (transport-level problems). */
static void rpc_fail(struct http_resp *resp, int status, int code, const char *message)
{
    api_json(resp, status, mcp_error(NULL, code, message));
}

static bool origin_listed(const char *list, const char *origin)
{
    size_t on = strlen(origin);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        while (n && p[n - 1] == ' ')
            n--;
        if ((n == 1 && *p == '*') || (n == on && strncasecmp(p, origin, n) == 0))
            return true;
        p = end;
    }
    return false;
}

/*
 * DNS-rebinding guard: a browser page may only reach /mcp from our own origin
 * (the Origin's host:port is the Host we were reached at) or a listed one.
 * Clients that are not browsers send no Origin and pass.
 */
static bool origin_ok(struct api_app *app, struct http_req *req, struct http_resp *resp)
{
    const char *origin = http_header(req, "Origin");
    if (!origin)
        return true;
    const char *host = http_header(req, "Host");
    const char *sep = strstr(origin, "://");
    bool ok = (app->mcp_allowed_origins && origin_listed(app->mcp_allowed_origins, origin)) ||
              (sep && host && *host && strcasecmp(sep + 3, host) == 0 &&
               (!strncasecmp(origin, "http://", 7) || !strncasecmp(origin, "https://", 8)));
    if (!ok)
        rpc_fail(resp, 403, -32000, "Forbidden: Origin not allowed");
    return ok;
}

/* The session id header: present and well formed, else 400 (absent) or 404. */
static const char *session_header(struct http_req *req, struct http_resp *resp)
{
    const char *sid = http_header(req, "Mcp-Session-Id");
    if (!sid || !*sid) {
        rpc_fail(resp, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
        return NULL;
    }
    return sid;
}

static bool session_lookup(struct api_app *app, struct svc_ctx *ctx, const char *sid,
                           char version[16], struct http_resp *resp)
{
    int rc = svc_mcp_session_get(app->svc, ctx, sid, &app->mcp_limits, version);
    if (rc == TOCK_ENOTFOUND) {
        rpc_fail(resp, 404, -32001, "Session not found: initialize a new session");
        return false;
    }
    if (rc) {
        api_fail(resp, rc, NULL);
        return false;
    }
    return true;
}

static bool accepts_json(struct http_req *req)
{
    const char *a = http_header(req, "Accept");
    return !a || strcasestr(a, "application/json") || strstr(a, "*/*") ||
           strcasestr(a, "application/*");
}

void api_h_mcp_post(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!origin_ok(app, req, resp) || !api_auth(app, req, resp, &ctx))
        return;
    if (!accepts_json(req)) {
        rpc_fail(resp, 406, -32000, "Not Acceptable: the client must accept application/json");
        return;
    }
    const char *pv = http_header(req, "MCP-Protocol-Version");
    if (pv && !mcp_version_supported(pv)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Bad Request: unsupported MCP-Protocol-Version %.40s", pv);
        rpc_fail(resp, 400, -32000, msg);
        return;
    }
    json_t *reply = NULL;
    json_t *msg = req->body_len ? mcp_parse(req->body, req->body_len, &reply) : NULL;
    if (!msg) {
        if (!reply)
            reply = mcp_error(NULL, MCP_PARSE_ERROR, "Parse error: empty body");
        api_json(resp, 400, reply);
        return;
    }
    enum mcp_kind kind = mcp_kind(msg);
    const char *method = json_string_value(json_object_get(msg, "method"));
    struct mcp_server_info info = {"tock", "tock tasks", app->version};
    struct tool_env env = {.svc = app->svc, .ctx = &ctx};
    struct mcp_session st = {0};

    if (kind == MCP_REQUEST && !strcmp(method, "initialize")) {
        /* A new session; an Mcp-Session-Id sent along is not reused. */
        mcp_handle(&env, &info, &st, msg, &reply);
        json_decref(msg);
        if (st.initialized) {
            char sid[MCP_SESSION_ID_LEN + 1];
            int rc = svc_mcp_session_create(app->svc, &ctx, st.version, &app->mcp_limits, sid);
            if (rc) {
                json_decref(reply);
                api_fail(resp, rc, NULL);
                return;
            }
            http_set_header(resp, "Mcp-Session-Id", sid);
        }
        api_json(resp, 200, reply);
        return;
    }
    if (kind == MCP_INVALID) {
        mcp_handle(&env, &info, &st, msg, &reply);
        json_decref(msg);
        api_json(resp, 400, reply);
        return;
    }
    const char *sid = session_header(req, resp);
    if (!sid || !session_lookup(app, &ctx, sid, st.version, resp)) {
        json_decref(msg);
        return;
    }
    st.initialized = true;
    mcp_handle(&env, &info, &st, msg, &reply);
    json_decref(msg);
    if (!reply) {
        /* A notification or a response from the client: accepted, nothing to say. */
        resp->status = 202;
        buf_reset(&resp->body);
        return;
    }
    api_json(resp, 200, reply);
}

void api_h_mcp_delete(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!origin_ok(app, req, resp) || !api_auth(app, req, resp, &ctx))
        return;
    const char *sid = session_header(req, resp);
    if (!sid)
        return;
    int rc = svc_mcp_session_end(app->svc, &ctx, sid);
    if (rc == TOCK_ENOTFOUND) {
        rpc_fail(resp, 404, -32001, "Session not found");
        return;
    }
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    resp->status = 204;
    buf_reset(&resp->body);
}
