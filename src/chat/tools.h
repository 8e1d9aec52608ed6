/*
 * tools.h — the one tool registry. Each tool is a table row: name, title,
 * description, the JSON Schema of its arguments and of its result, the MCP
 * behaviour hints, and a handler that calls the same services as the REST API
 * (same validation, same events). Three faces read it: MCP tools/list +
 * tools/call (chat/mcp.c), the chat agent (tool_call by name), and the OpenAI
 * `tools` list (tools_openai).
 *
 * Adding a tool: write its handler and its row in a tools_<area>.c file and
 * list that file's table in tools.c (`tables`). Schemas use only the keywords
 * chat/schema.h validates (test_registry checks).
 *
 * Ownership: rows and parsed schemas are static for the process lifetime.
 * A struct tool_result owns its `result` (tool_result_release).
 */
#ifndef TOCK_CHAT_TOOLS_H
#define TOCK_CHAT_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "service/service.h"

struct tool_remote;

/*
 * Who calls: the services and the acting user (borrowed for the call). With
 * `remote` set (tools_remote.h), calls go to a running server's REST API
 * instead and svc/ctx are unused.
 */
struct tool_env {
    struct svc *svc;
    struct svc_ctx *ctx;
    struct tool_remote *remote;
};

/*
 * A handler gets arguments already validated against its input schema (types,
 * required members, enums, ranges, no unknown members). On success it sets
 * *result to a new JSON object matching its output schema and returns 0; on
 * failure it returns a TOCK_E* and, for validation/business errors, fills e.
 */
typedef int (*tool_fn)(const struct tool_env *env, json_t *args, json_t **result,
                       struct tock_error *e);

struct tool {
    const char *name;          /* [a-z_], <= 64 chars (OpenAI's limit) */
    const char *title;         /* for people */
    const char *description;   /* for models: what it does and when to use it */
    const char *input_schema;  /* JSON text; type object */
    const char *output_schema; /* JSON text; type object */
    bool read_only, destructive, idempotent;
    tool_fn fn;
};

/* The outcome of one call, for any face. */
struct tool_result {
    json_t *result; /* owned: the structured result, or {"error":{code,message,field}} */
    bool is_error;  /* a validation or business failure (MCP isError) */
    char message[256]; /* when is_error: one sentence for people and models */
};

/* Every registered tool, in listing order. */
size_t tools_count(void);
const struct tool *tool_at(size_t i);
/* NULL when no tool has that name. */
const struct tool *tool_find(const char *name);
/* The parsed schemas of a registered tool (borrowed, process lifetime). */
const json_t *tool_input_schema(const struct tool *t);
const json_t *tool_output_schema(const struct tool *t);

/*
 * Calls tool `name` with `args` (a JSON object; NULL means {}), validating them
 * first. Returns TOCK_ENOTFOUND if no tool has that name (out untouched);
 * otherwise 0 with out filled: a success, or an error result (is_error) for
 * invalid arguments, business failures (not found, stale version, ...) and
 * storage failures. The caller releases out.
 */
int tool_call(const struct tool_env *env, const char *name, json_t *args,
              struct tool_result *out);
void tool_result_release(struct tool_result *r);

/* MCP: {"tools":[{name,title,description,inputSchema,outputSchema,annotations}]}. New ref. */
json_t *tools_mcp_list(void);
/*
 * OpenAI Chat Completions `tools`: [{"type":"function","function":{name,
 * description,parameters}}]. New ref.
 */
json_t *tools_openai(void);

/* ---- the tables (one per tools_<area>.c) ---- */
extern const struct tool tools_tasks[];
extern const size_t tools_tasks_n;
extern const struct tool tools_reminders[];
extern const size_t tools_reminders_n;

#endif
