/*
 * tools.c — the registry's mechanics: the list of tables, schemas parsed once,
 * lookup by name, the validated call with errors turned into results, and the
 * MCP and OpenAI listings. The tools themselves live in tools_<area>.c.
 */
#include "chat/tools.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/schema.h"
#include "chat/tools_remote.h"
#include "obs/metrics.h"

struct table {
    const struct tool *rows;
    const size_t *n;
};

/* Listing order: one line per tools_<area>.c. */
static const struct table tables[] = {
    {tools_tasks, &tools_tasks_n},
    {tools_reminders, &tools_reminders_n},
};

#define TOOLS_MAX 64

static const struct tool *all[TOOLS_MAX];
static json_t *in_schemas[TOOLS_MAX], *out_schemas[TOOLS_MAX];
static size_t nall;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static json_t *parse_schema(const char *name, const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j || !json_is_object(j)) {
        /* Our own literals: a broken one is a programming error. */
        fprintf(stderr, "tock: schema of tool %s does not parse: %s (column %d)\n", name,
                err.text, err.column);
        abort();
    }
    return j;
}

static void load(void)
{
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (size_t i = 0; i < *tables[t].n; i++) {
            if (nall == TOOLS_MAX)
                abort();
            const struct tool *row = &tables[t].rows[i];
            all[nall] = row;
            in_schemas[nall] = parse_schema(row->name, row->input_schema);
            out_schemas[nall] = parse_schema(row->name, row->output_schema);
            nall++;
        }
}

static void ensure(void)
{
    pthread_once(&once, load);
}

size_t tools_count(void)
{
    ensure();
    return nall;
}

const struct tool *tool_at(size_t i)
{
    ensure();
    return i < nall ? all[i] : NULL;
}

static long index_of(const struct tool *t)
{
    ensure();
    for (size_t i = 0; i < nall; i++)
        if (all[i] == t)
            return (long)i;
    return -1;
}

const struct tool *tool_find(const char *name)
{
    ensure();
    for (size_t i = 0; name && i < nall; i++)
        if (!strcmp(all[i]->name, name))
            return all[i];
    return NULL;
}

const json_t *tool_input_schema(const struct tool *t)
{
    long i = index_of(t);
    return i < 0 ? NULL : in_schemas[i];
}

const json_t *tool_output_schema(const struct tool *t)
{
    long i = index_of(t);
    return i < 0 ? NULL : out_schemas[i];
}

/* The REST API's error codes, so every face names a failure the same way. */
static const char *error_code(int rc)
{
    switch (rc) {
    case TOCK_EINVAL: return "invalid_argument";
    case TOCK_EJSON: return "invalid_json";
    case TOCK_ENOTFOUND: return "not_found";
    case TOCK_ECONFLICT: return "conflict";
    case TOCK_ESTALE: return "precondition_failed";
    case TOCK_EAUTH: return "unauthorized";
    case TOCK_ELIMIT: return "rate_limited";
    case TOCK_EBUSY: return "unavailable";
    default: return "internal";
    }
}

static void fail_result(struct tool_result *out, int rc, const struct tock_error *e)
{
    bool detail = e->code == rc && e->message[0];
    const char *msg;
    switch (rc) {
    case TOCK_ENOTFOUND: msg = "not found (no such task or tag for this user)"; break;
    case TOCK_ESTALE:
        msg = detail ? e->message : "the task has changed since that version; read it again";
        break;
    case TOCK_EBUSY: msg = detail ? e->message : "the database is busy; retry"; break;
    default: msg = detail ? e->message : tock_strerror(rc);
    }
    if (rc != TOCK_EINVAL && rc != TOCK_ENOTFOUND && rc != TOCK_ECONFLICT && rc != TOCK_ESTALE &&
        rc != TOCK_ELIMIT && rc != TOCK_EBUSY && rc != TOCK_EJSON)
        msg = "internal error";
    snprintf(out->message, sizeof out->message, "%s", msg);
    const char *field = e->code == rc && e->field[0] ? e->field : NULL;
    if (rc == TOCK_ESTALE)
        field = "expected_version"; /* the tools' name for If-Match */
    json_t *err = json_pack("{s:s,s:s,s:o}", "code", error_code(rc), "message", out->message,
                            "field", field ? json_string(field) : json_null());
    out->result = json_pack("{s:o}", "error", err);
    out->is_error = true;
}

int tool_call(const struct tool_env *env, const char *name, json_t *args,
              struct tool_result *out)
{
    const struct tool *t = tool_find(name);
    if (!t)
        return TOCK_ENOTFOUND;
    memset(out, 0, sizeof *out);
    json_t *empty = NULL;
    if (!args)
        args = empty = json_object();
    struct tock_error e = {0};
    int rc = json_is_object(args)
                 ? schema_validate(tool_input_schema(t), args, &e)
                 : tock_fail(&e, TOCK_EINVAL, "", "the arguments must be a JSON object");
    json_t *res = NULL;
    if (!rc)
        rc = env->remote ? tool_remote_call(env->remote, t, args, &res, &e)
                         : t->fn(env, args, &res, &e);
    json_decref(empty);
    /* Tool names are static (the rows), as the metrics registry needs. */
    metrics_counter_add("tock_tool_calls_total", "tool", t->name, 1);
    if (rc)
        metrics_counter_add("tock_tool_errors_total", "tool", t->name, 1);
    if (rc) {
        json_decref(res);
        fail_result(out, rc, &e);
        return out->result ? 0 : TOCK_ENOMEM;
    }
    if (!res)
        return TOCK_ENOMEM;
    out->result = res;
    return 0;
}

void tool_result_release(struct tool_result *r)
{
    json_decref(r->result);
    r->result = NULL;
}

json_t *tools_mcp_list(void)
{
    ensure();
    json_t *list = json_array();
    for (size_t i = 0; i < nall; i++) {
        const struct tool *t = all[i];
        json_t *ann = json_pack("{s:s,s:b,s:b,s:b,s:b}", "title", t->title, "readOnlyHint",
                                t->read_only, "destructiveHint", t->destructive,
                                "idempotentHint", t->idempotent, "openWorldHint", 0);
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:O,s:O,s:o}", "name", t->name,
                                              "title", t->title, "description", t->description,
                                              "inputSchema", in_schemas[i], "outputSchema",
                                              out_schemas[i], "annotations", ann));
    }
    return json_pack("{s:o}", "tools", list);
}

json_t *tools_openai(void)
{
    ensure();
    json_t *list = json_array();
    for (size_t i = 0; i < nall; i++) {
        const struct tool *t = all[i];
        json_t *fn = json_pack("{s:s,s:s,s:O}", "name", t->name, "description", t->description,
                               "parameters", in_schemas[i]);
        json_array_append_new(list, json_pack("{s:s,s:o}", "type", "function", "function", fn));
    }
    return list;
}
