/*
 * mcp_stdio.h — MCP over stdio: newline-delimited JSON-RPC on a pair of
 * streams. Only protocol messages go to `out`; logs go elsewhere (stderr).
 */
#ifndef TOCK_CHAT_MCP_STDIO_H
#define TOCK_CHAT_MCP_STDIO_H

#include <stddef.h>
#include <stdio.h>

#include "chat/mcp.h"

/* Longest accepted line; a longer one is discarded and answered with a parse error. */
#define MCP_STDIO_LINE_MAX (4u << 20)

/*
 * Reads messages from in until end of file, answering each request on out
 * (one line each, flushed). Returns 0 at end of input, TOCK_EINTERNAL if out
 * cannot be written (the client went away).
 */
int mcp_stdio_run(const struct tool_env *env, const struct mcp_server_info *info, FILE *in,
                  FILE *out);

#endif
