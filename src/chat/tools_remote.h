/*
 * tools_remote.h — the registry's tools run against a running tock server
 * (`tock mcp` with TOCK_URL): each call is validated here against the tool's
 * input schema, then forwarded to the server's REST API with the user's bearer
 * token; the server applies its own validation and writes rows and events.
 * Results have the same shape as local calls (the REST API returns the same
 * JSON), so the output schemas hold.
 *
 * Not thread-safe: one remote per thread (stdio is single-threaded).
 */
#ifndef TOCK_CHAT_TOOLS_REMOTE_H
#define TOCK_CHAT_TOOLS_REMOTE_H

#include <jansson.h>
#include <stddef.h>

#include "chat/tools.h"

struct tool_remote;

/*
 * Connects to base_url (e.g. http://127.0.0.1:8080) as the holder of token and
 * checks the token with GET /api/v1/me. 0, or TOCK_EAUTH / TOCK_EBUSY
 * (unreachable) / TOCK_ENOMEM with err filled. Free with tool_remote_close.
 */
int tool_remote_open(const char *base_url, const char *token, struct tool_remote **out,
                     char *err, size_t errlen);
void tool_remote_close(struct tool_remote *r);

/* The tool_fn of remote mode (tool_call picks it when env->remote is set). */
int tool_remote_call(struct tool_remote *r, const struct tool *t, json_t *args,
                     json_t **result, struct tock_error *e);

#endif
