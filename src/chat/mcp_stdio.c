/*
 * mcp_stdio.c — the stdio transport of chat/mcp.c: one message per line in,
 * one reply per line out. Lines are read in bounded chunks, so an endless line
 * costs at most MCP_STDIO_LINE_MAX bytes of memory.
 */
#include "chat/mcp_stdio.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "obs/log.h"

static int send_reply(FILE *out, json_t *reply)
{
    char *text = mcp_dump(reply);
    json_decref(reply);
    if (!text)
        return TOCK_ENOMEM;
    int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF || fflush(out) ? TOCK_EINTERNAL : 0;
    free(text);
    return rc;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

int mcp_stdio_run(const struct tool_env *env, const struct mcp_server_info *info, FILE *in,
                  FILE *out)
{
    struct mcp_session session = {0};
    struct buf line;
    buf_init(&line, MCP_STDIO_LINE_MAX);
    char chunk[8192];
    bool too_long = false;
    int rc = 0;
    while (!rc && fgets(chunk, sizeof chunk, in)) {
        size_t n = strlen(chunk);
        bool eol = n && chunk[n - 1] == '\n';
        if (eol)
            chunk[--n] = 0;
        if (!too_long && buf_append(&line, chunk, n))
            too_long = true;
        if (!eol && !feof(in))
            continue;
        json_t *reply = NULL;
        if (too_long) {
            log_msg(LOG_WARN, "mcp: discarded a message longer than %u bytes",
                    MCP_STDIO_LINE_MAX);
            reply = mcp_error(NULL, MCP_PARSE_ERROR, "Parse error: message too long");
        } else if (!blank(line.data, line.len)) {
            json_t *msg = mcp_parse(line.data, line.len, &reply);
            if (msg) {
                if (env->ctx)
                    env->ctx->traceparent = NULL; /* each message is its own trace */
                mcp_handle(env, info, &session, msg, &reply);
                json_decref(msg);
            }
        }
        buf_reset(&line);
        too_long = false;
        if (reply)
            rc = send_reply(out, reply);
    }
    buf_free(&line);
    return rc;
}
