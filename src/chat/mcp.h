/*
 * mcp.h — the Model Context Protocol server, transport-neutral: JSON-RPC 2.0
 * parsing, the lifecycle (initialize / version negotiation / ping), and
 * tools/list + tools/call over the tool registry. chat/mcp_stdio.c runs it over
 * stdin/stdout; api/h_mcp.c over Streamable HTTP.
 *
 * Revision 2025-11-25; 2025-06-18 and 2025-03-26 are accepted. No batches.
 */
#ifndef TOCK_CHAT_MCP_H
#define TOCK_CHAT_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "chat/tools.h"

#define MCP_PROTOCOL_LATEST "2025-11-25"
#define MCP_VERSION_MAX 16
#define MCP_DEPTH_MAX 32

/* JSON-RPC error codes. */
enum {
    MCP_PARSE_ERROR = -32700,
    MCP_INVALID_REQUEST = -32600,
    MCP_METHOD_NOT_FOUND = -32601,
    MCP_INVALID_PARAMS = -32602,
    MCP_INTERNAL_ERROR = -32603,
};

enum mcp_kind { MCP_REQUEST, MCP_NOTIFICATION, MCP_RESPONSE, MCP_INVALID };

/* One client's protocol state (the HTTP face keeps it in the session row). */
struct mcp_session {
    bool initialized;
    char version[MCP_VERSION_MAX]; /* negotiated protocol revision */
};

struct mcp_server_info {
    const char *name, *title, *version;
};

bool mcp_version_supported(const char *v);

/*
 * Parses one message (UTF-8 JSON text; duplicate keys and nesting beyond
 * MCP_DEPTH_MAX rejected). Returns a new reference, or NULL with *err_reply set
 * to the JSON-RPC error to send (-32700 parse error, -32600 for a batch).
 */
json_t *mcp_parse(const char *text, size_t len, json_t **err_reply);

/* What msg is: a request (method + id), a notification (method, no id), a response
 * from the client (result/error + id), or invalid. */
enum mcp_kind mcp_kind(const json_t *msg);

/*
 * Handles one parsed message for the user in env. *reply is a new reference to
 * the response, or NULL when none is due (notifications, client responses).
 * An initialize request sets s->initialized and s->version.
 */
void mcp_handle(const struct tool_env *env, const struct mcp_server_info *info,
                struct mcp_session *s, json_t *msg, json_t **reply);

/* A JSON-RPC error response (id borrowed; NULL -> null). New reference. */
json_t *mcp_error(const json_t *id, int code, const char *message);

/* Compact one-line JSON text (no newline inside), caller frees; NULL on OOM. */
char *mcp_dump(const json_t *msg);

#endif
