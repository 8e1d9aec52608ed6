/*
 * mcp.c — the MCP protocol engine: message parsing and classification, the
 * lifecycle, and the tools methods. It never does I/O: a transport hands in one
 * message and sends back the reply it gets.
 */
#include "chat/mcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const versions[] = {MCP_PROTOCOL_LATEST, "2025-06-18", "2025-03-26"};

bool mcp_version_supported(const char *v)
{
    for (size_t i = 0; v && i < sizeof versions / sizeof *versions; i++)
        if (!strcmp(versions[i], v))
            return true;
    return false;
}

/* Nesting depth of JSON text, ignoring brackets inside strings. */
static int depth_of(const char *s, size_t n)
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

json_t *mcp_error(const json_t *id, int code, const char *message)
{
    return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id",
                     id ? (json_t *)id : json_null(), "error", "code", code, "message", message);
}

json_t *mcp_parse(const char *text, size_t len, json_t **err_reply)
{
    *err_reply = NULL;
    if (depth_of(text, len) > MCP_DEPTH_MAX) {
        *err_reply = mcp_error(NULL, MCP_PARSE_ERROR, "Parse error: JSON nests too deeply");
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        char msg[200];
        snprintf(msg, sizeof msg, "Parse error: %s", err.text);
        *err_reply = mcp_error(NULL, MCP_PARSE_ERROR, msg);
        return NULL;
    }
    if (json_is_array(j)) {
        json_decref(j);
        *err_reply = mcp_error(NULL, MCP_INVALID_REQUEST,
                               "Invalid Request: batches are not supported");
        return NULL;
    }
    return j;
}

static bool id_ok(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id);
}

enum mcp_kind mcp_kind(const json_t *msg)
{
    if (!json_is_object(msg))
        return MCP_INVALID;
    const json_t *v = json_object_get(msg, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0"))
        return MCP_INVALID;
    const json_t *method = json_object_get(msg, "method"), *id = json_object_get(msg, "id");
    if (method) {
        if (!json_is_string(method))
            return MCP_INVALID;
        if (!id)
            return MCP_NOTIFICATION;
        return id_ok(id) ? MCP_REQUEST : MCP_INVALID;
    }
    bool has_result = json_object_get(msg, "result") != NULL;
    bool has_error = json_object_get(msg, "error") != NULL;
    return id && has_result != has_error ? MCP_RESPONSE : MCP_INVALID;
}

static json_t *ok(const json_t *id, json_t *result)
{
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", (json_t *)id, "result", result);
}

static json_t *initialize(const struct mcp_server_info *info, struct mcp_session *s,
                          const json_t *id, const json_t *params)
{
    const json_t *pv = json_object_get(params, "protocolVersion");
    if (!json_is_string(pv))
        return mcp_error(id, MCP_INVALID_PARAMS,
                         "Invalid params: protocolVersion (a string) is required");
    /* Echo the client's revision when we speak it, else offer ours. */
    const char *v = json_string_value(pv);
    snprintf(s->version, sizeof s->version, "%s",
             mcp_version_supported(v) ? v : MCP_PROTOCOL_LATEST);
    s->initialized = true;
    return ok(id, json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s,s:s},s:s}", "protocolVersion",
                            s->version, "capabilities", "tools", "listChanged", 0, "serverInfo",
                            "name", info->name, "title", info->title, "version", info->version,
                            "instructions",
                            "tock is the user's task list. Use list_tasks to find tasks (search, "
                            "filters, sort) and the other tools to add, change, complete, "
                            "reopen or delete them. Ids are opaque strings. Dates without a "
                            "time zone are in the user's zone."));
}

static json_t *tools_call(const struct tool_env *env, const json_t *id, const json_t *params)
{
    const json_t *name = json_object_get(params, "name");
    json_t *args = json_object_get(params, "arguments");
    if (!json_is_string(name))
        return mcp_error(id, MCP_INVALID_PARAMS, "Invalid params: name (a string) is required");
    if (args && !json_is_object(args) && !json_is_null(args))
        return mcp_error(id, MCP_INVALID_PARAMS,
                         "Invalid params: arguments must be an object");
    if (json_is_null(args))
        args = NULL;
    struct tool_result r;
    int rc = tool_call(env, json_string_value(name), args, &r);
    if (rc == TOCK_ENOTFOUND) {
        char msg[160];
        snprintf(msg, sizeof msg, "Unknown tool: %.100s", json_string_value(name));
        return mcp_error(id, MCP_INVALID_PARAMS, msg);
    }
    if (rc)
        return mcp_error(id, MCP_INTERNAL_ERROR, "Internal error");
    char *text = mcp_dump(r.result);
    json_t *res = text ? json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                                   text, "isError", r.is_error)
                       : NULL;
    free(text);
    if (res && !r.is_error)
        json_object_set(res, "structuredContent", r.result);
    tool_result_release(&r);
    if (!res)
        return mcp_error(id, MCP_INTERNAL_ERROR, "Internal error");
    return ok(id, res);
}

void mcp_handle(const struct tool_env *env, const struct mcp_server_info *info,
                struct mcp_session *s, json_t *msg, json_t **reply)
{
    *reply = NULL;
    enum mcp_kind kind = mcp_kind(msg);
    if (kind == MCP_NOTIFICATION || kind == MCP_RESPONSE)
        return; /* initialized, cancelled, progress...: nothing to answer */
    const json_t *id = json_object_get(msg, "id");
    if (kind == MCP_INVALID) {
        *reply = mcp_error(id_ok(id) ? id : NULL, MCP_INVALID_REQUEST,
                           "Invalid Request: not a JSON-RPC 2.0 request");
        return;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    const json_t *params = json_object_get(msg, "params");
    if (params && !json_is_object(params)) {
        *reply = mcp_error(id, MCP_INVALID_PARAMS, "Invalid params: params must be an object");
        return;
    }
    if (!strcmp(method, "initialize")) {
        *reply = initialize(info, s, id, params);
    } else if (!strcmp(method, "ping")) {
        *reply = ok(id, json_object());
    } else if (!s->initialized) {
        *reply = mcp_error(id, MCP_INVALID_REQUEST,
                           "Invalid Request: send initialize before other requests");
    } else if (!strcmp(method, "tools/list")) {
        *reply = ok(id, tools_mcp_list());
    } else if (!strcmp(method, "tools/call")) {
        *reply = tools_call(env, id, params);
    } else {
        char m[160];
        snprintf(m, sizeof m, "Method not found: %.100s", method);
        *reply = mcp_error(id, MCP_METHOD_NOT_FOUND, m);
    }
}

char *mcp_dump(const json_t *msg)
{
    /* Compact JSON escapes control characters in strings, so it is one line. */
    return json_dumps(msg, JSON_COMPACT);
}
