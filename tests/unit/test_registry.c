/*
 * test_registry.c — the tool registry: every row is well formed (names OpenAI
 * accepts, schemas that parse, are objects and use only the keywords the
 * validator knows), argument validation (types, required, enums, ranges,
 * unknown members, nested paths), the OpenAI `tools` list, and every tool
 * called on a real SQLite store with its result checked against its own
 * output schema (and bad calls turned into error results, not failures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/mcp.h"
#include "chat/schema.h"
#include "chat/tools.h"
#include "service/service.h"
#include "store/store.h"

#include "unit_store.h"

static json_t *J(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("bad test JSON: %s: %s", text, err.text);
    return j;
}

static const char *const required_tools[] = {"add_task",      "get_task",    "list_tasks",
                                             "update_task",   "complete_task", "reopen_task",
                                             "delete_task",   "list_tags",   "stop_recurrence",
                                             "set_reminder",  "cancel_reminder",
                                             "list_reminders", NULL};

static void rows_are_well_formed(void **state)
{
    (void)state;
    assert_true(tools_count() >= 12);
    for (const char *const *n = required_tools; *n; n++)
        assert_non_null(tool_find(*n));
    assert_null(tool_find("no_such_tool"));
    assert_null(tool_find(NULL));
    for (size_t i = 0; i < tools_count(); i++) {
        const struct tool *t = tool_at(i);
        size_t len = strlen(t->name);
        assert_true(len > 0 && len <= 64);
        for (const char *c = t->name; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
        assert_true(strlen(t->title) > 0 && strlen(t->description) > 20);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(tool_at(k)->name, t->name);
        const json_t *in = tool_input_schema(t), *out = tool_output_schema(t);
        assert_non_null(in);
        assert_non_null(out);
        assert_string_equal(json_string_value(json_object_get(in, "type")), "object");
        assert_string_equal(json_string_value(json_object_get(out, "type")), "object");
        assert_true(json_is_false(json_object_get(in, "additionalProperties")));
        if (!schema_supported(in) || !schema_supported(out))
            fail_msg("tool %s uses a schema keyword the validator ignores", t->name);
        /* Read-only tools are never destructive. */
        if (t->read_only)
            assert_false(t->destructive);
    }
    assert_null(tool_at(tools_count()));
}

static void expect_invalid(const char *schema, const char *value, const char *field,
                           const char *msg_part)
{
    json_t *s = J(schema), *v = J(value);
    struct tock_error e = {0};
    assert_int_equal(schema_validate(s, v, &e), TOCK_EINVAL);
    assert_string_equal(e.field, field);
    if (!strstr(e.message, msg_part))
        fail_msg("message '%s' lacks '%s'", e.message, msg_part);
    json_decref(s);
    json_decref(v);
}

static void expect_valid(const char *schema, const char *value)
{
    json_t *s = J(schema), *v = J(value);
    struct tock_error e = {0};
    if (schema_validate(s, v, &e))
        fail_msg("%s rejected: %s (%s)", value, e.message, e.field);
    json_decref(s);
    json_decref(v);
}

static void validation(void **state)
{
    (void)state;
    const char *s = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
                    "\"properties\":{\"a\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":3},"
                    "\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200},"
                    "\"e\":{\"type\":\"string\",\"enum\":[\"x\",\"y\"]},"
                    "\"z\":{\"type\":[\"string\",\"null\"]},"
                    "\"l\":{\"type\":\"array\",\"maxItems\":2,\"minItems\":1,"
                    "\"items\":{\"type\":\"string\",\"enum\":[\"p\",\"q\"]}},"
                    "\"o\":{\"type\":\"object\",\"properties\":{\"r\":{\"type\":\"boolean\"}},"
                    "\"required\":[\"r\"]}}}";
    expect_valid(s, "{\"a\":\"abc\"}");
    expect_valid(s, "{\"a\":\"\xc3\xa9\xc3\xa9\xc3\xa9\",\"n\":200,\"e\":\"y\",\"z\":null,"
                    "\"l\":[\"p\",\"q\"],\"o\":{\"r\":true}}");
    expect_valid(s, "{\"a\":\"a\",\"n\":3.0}"); /* an integral number is an integer */
    expect_invalid(s, "{}", "a", "a is required");
    expect_invalid(s, "[]", "", "the value must be an object");
    expect_invalid(s, "{\"a\":1}", "a", "a must be a string");
    expect_invalid(s, "{\"a\":\"\"}", "a", "at least 1 character");
    expect_invalid(s, "{\"a\":\"abcd\"}", "a", "at most 3 characters");
    expect_invalid(s, "{\"a\":\"a\",\"n\":0}", "n", "at least 1");
    expect_invalid(s, "{\"a\":\"a\",\"n\":201}", "n", "at most 200");
    expect_invalid(s, "{\"a\":\"a\",\"n\":1.5}", "n", "n must be an integer");
    expect_invalid(s, "{\"a\":\"a\",\"n\":\"5\"}", "n", "n must be an integer");
    expect_invalid(s, "{\"a\":\"a\",\"e\":\"w\"}", "e", "one of: x, y");
    expect_invalid(s, "{\"a\":\"a\",\"z\":5}", "z", "z must be a string or null");
    expect_invalid(s, "{\"a\":\"a\",\"l\":[]}", "l", "at least 1 item");
    expect_invalid(s, "{\"a\":\"a\",\"l\":[\"p\",\"p\",\"q\"]}", "l", "at most 2 items");
    expect_invalid(s, "{\"a\":\"a\",\"l\":[\"p\",\"w\"]}", "l[1]", "l[1] must be one of: p, q");
    expect_invalid(s, "{\"a\":\"a\",\"o\":{}}", "o.r", "o.r is required");
    expect_invalid(s, "{\"a\":\"a\",\"o\":{\"r\":1}}", "o.r", "o.r must be a boolean");
    expect_invalid(s, "{\"a\":\"a\",\"extra\":1}", "extra", "unknown argument extra");
}

static void openai_tools(void **state)
{
    (void)state;
    json_t *list = tools_openai();
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), tools_count());
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        assert_string_equal(json_string_value(json_object_get(x, "type")), "function");
        json_t *fn = json_object_get(x, "function");
        const struct tool *t = tool_at(i);
        assert_string_equal(json_string_value(json_object_get(fn, "name")), t->name);
        assert_string_equal(json_string_value(json_object_get(fn, "description")),
                            t->description);
        assert_true(json_equal(json_object_get(fn, "parameters"), tool_input_schema(t)));
        assert_int_equal(json_object_size(fn), 3);
    }
    json_decref(list);

    json_t *mcp = tools_mcp_list();
    json_t *tools = json_object_get(mcp, "tools");
    assert_int_equal(json_array_size(tools), tools_count());
    json_array_foreach(tools, i, x)
    {
        json_t *ann = json_object_get(x, "annotations");
        assert_true(json_is_boolean(json_object_get(ann, "readOnlyHint")));
        assert_true(json_is_boolean(json_object_get(ann, "destructiveHint")));
        assert_true(json_is_boolean(json_object_get(ann, "idempotentHint")));
        assert_true(json_is_object(json_object_get(x, "inputSchema")));
        assert_true(json_is_object(json_object_get(x, "outputSchema")));
    }
    json_decref(mcp);
}

/* ---- calls on a real store ---- */

struct fixture {
    struct unit_store u;
    struct tool_env env;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    unit_store_open(&f->u, 2, "Europe/Paris");
    f->env = (struct tool_env){.svc = &f->u.svc, .ctx = &f->u.ctx};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_store_close(&f->u);
    free(f);
    return 0;
}

/* Calls name with args (JSON text); checks success against the output schema. */
static json_t *call_ok(struct fixture *f, const char *name, const char *args)
{
    json_t *a = J(args);
    struct tool_result r;
    assert_int_equal(tool_call(&f->env, name, a, &r), 0);
    json_decref(a);
    if (r.is_error)
        fail_msg("%s(%s) failed: %s", name, args, r.message);
    struct tock_error e = {0};
    if (schema_validate(tool_output_schema(tool_find(name)), r.result, &e))
        fail_msg("%s result does not match its output schema: %s", name, e.message);
    return r.result;
}

static void call_err(struct fixture *f, const char *name, const char *args, const char *code,
                     const char *field)
{
    json_t *a = J(args);
    struct tool_result r;
    assert_int_equal(tool_call(&f->env, name, a, &r), 0);
    json_decref(a);
    assert_true(r.is_error);
    assert_true(strlen(r.message) > 0);
    json_t *err = json_object_get(r.result, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    json_t *fv = json_object_get(err, "field");
    if (field)
        assert_string_equal(json_is_string(fv) ? json_string_value(fv) : "(null)", field);
    else
        assert_true(json_is_null(fv));
    assert_string_equal(json_string_value(json_object_get(err, "message")), r.message);
    tool_result_release(&r);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void every_tool_on_a_real_store(void **state)
{
    struct fixture *f = *state;
    json_t *t = call_ok(f, "add_task",
                        "{\"title\":\"Pay rent\",\"due\":\"2030-01-01T09:00\",\"tags\":[\"Home\"],"
                        "\"priority\":\"high\",\"recurrence\":{\"rrule\":\"FREQ=MONTHLY\"}}");
    char id[24], args[256];
    snprintf(id, sizeof id, "%s", str(t, "id"));
    assert_string_equal(str(t, "timezone"), "Europe/Paris");
    assert_string_equal(str(t, "due"), "2030-01-01T09:00");
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "tags"), 0)), "home");
    json_decref(t);
    json_decref(call_ok(f, "add_task", "{\"title\":\"Buy milk\"}"));

    snprintf(args, sizeof args, "{\"id\":\"%s\"}", id);
    t = call_ok(f, "get_task", args);
    assert_string_equal(str(t, "title"), "Pay rent");
    json_decref(t);

    json_t *l = call_ok(f, "list_tasks", "{\"tags\":[\"home\"],\"priority\":[\"high\",\"urgent\"],"
                                         "\"status\":[\"todo\"],\"sort\":[\"priority:desc\","
                                         "\"title:asc\"],\"recurring\":true,\"limit\":5}");
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    json_decref(l);
    l = call_ok(f, "list_tasks", "{\"q\":\"mil\"}");
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    assert_string_equal(str(json_array_get(json_object_get(l, "items"), 0), "title"), "Buy milk");
    json_decref(l);
    l = call_ok(f, "list_tasks", "{\"limit\":1,\"sort\":[\"title:asc\"]}");
    assert_true(json_is_string(json_object_get(l, "next_cursor")));
    snprintf(args, sizeof args, "{\"limit\":1,\"sort\":[\"title:asc\"],\"cursor\":\"%s\"}",
             str(l, "next_cursor"));
    json_decref(l);
    l = call_ok(f, "list_tasks", args);
    assert_string_equal(str(json_array_get(json_object_get(l, "items"), 0), "title"), "Pay rent");
    assert_true(json_is_null(json_object_get(l, "next_cursor")));
    json_decref(l);

    snprintf(args, sizeof args, "{\"id\":\"%s\",\"expected_version\":1,\"title\":\"Pay the rent\","
                                "\"description\":null,\"tags\":null}",
             id);
    t = call_ok(f, "update_task", args);
    assert_string_equal(str(t, "title"), "Pay the rent");
    assert_int_equal(json_array_size(json_object_get(t, "tags")), 0);
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 2);
    json_decref(t);
    /* The same version again is stale now. */
    call_err(f, "update_task", args, "precondition_failed", "expected_version");

    json_t *tags = call_ok(f, "list_tags", "{\"prefix\":\"ho\"}");
    assert_int_equal(json_array_size(json_object_get(tags, "items")), 1);
    json_decref(tags);

    snprintf(args, sizeof args, "{\"id\":\"%s\"}", id);
    t = call_ok(f, "stop_recurrence", args);
    assert_true(json_is_null(json_object_get(t, "recurrence")));
    json_decref(t);
    t = call_ok(f, "complete_task", args);
    assert_string_equal(str(t, "status"), "done");
    json_decref(t);
    t = call_ok(f, "reopen_task", args);
    assert_string_equal(str(t, "status"), "todo");
    json_decref(t);
    t = call_ok(f, "delete_task", args);
    assert_string_equal(str(t, "id"), id);
    assert_true(json_is_true(json_object_get(t, "deleted")));
    json_decref(t);
    call_err(f, "get_task", args, "not_found", NULL);
    call_err(f, "complete_task", "{\"id\":\"999999\"}", "not_found", NULL);
    call_err(f, "get_task", "{\"id\":\"abc\"}", "not_found", NULL);
}

static void bad_calls_are_error_results(void **state)
{
    struct fixture *f = *state;
    call_err(f, "add_task", "{}", "invalid_argument", "title");
    call_err(f, "add_task", "{\"title\":\"x\",\"priority\":\"p9\"}", "invalid_argument",
             "priority");
    call_err(f, "add_task", "{\"title\":\"x\",\"bogus\":1}", "invalid_argument", "bogus");
    call_err(f, "add_task", "{\"title\":\"x\",\"tags\":[\"ok\",5]}", "invalid_argument",
             "tags[1]");
    /* Schema-valid but rejected by core, exactly as the REST API would. */
    call_err(f, "add_task", "{\"title\":\"x\",\"due\":\"2030-02-30\"}", "invalid_argument",
             "due");
    call_err(f, "add_task", "{\"title\":\"x\",\"recurrence\":{\"rrule\":\"FREQ=DAILY\"}}",
             "invalid_argument", "recurrence");
    call_err(f, "add_task", "{\"title\":\"x\",\"timezone\":\"Mars/Base\"}", "invalid_argument",
             "timezone");
    call_err(f, "list_tasks", "{\"sort\":[\"rank:desc\"]}", "invalid_argument", "sort");
    call_err(f, "list_tasks", "{\"limit\":0}", "invalid_argument", "limit");
    call_err(f, "list_tasks", "{\"cursor\":\"garbage\"}", "invalid_argument", "cursor");
    call_err(f, "list_tasks", "{\"due_before\":\"tomorrow\"}", "invalid_argument",
             "due_before");
    call_err(f, "list_tasks", "{\"tags\":[\"bad tag!\"]}", "invalid_argument", "tags");
    call_err(f, "update_task", "{\"id\":\"1\"}", "invalid_argument", NULL);
    call_err(f, "get_task", "{}", "invalid_argument", "id");

    struct tool_result r;
    assert_int_equal(tool_call(&f->env, "no_such_tool", NULL, &r), TOCK_ENOTFOUND);
    json_t *notobj = json_array();
    assert_int_equal(tool_call(&f->env, "list_tags", notobj, &r), 0);
    assert_true(r.is_error);
    tool_result_release(&r);
    json_decref(notobj);
    /* NULL arguments mean {}. */
    assert_int_equal(tool_call(&f->env, "list_tags", NULL, &r), 0);
    assert_false(r.is_error);
    tool_result_release(&r);
}


static void reminder_tools(void **state)
{
    struct fixture *f = *state;
    json_t *t = call_ok(f, "add_task", "{\"title\":\"Report\",\"due\":\"2030-03-04T10:00\"}");
    char id[24], args[256], rid[24];
    snprintf(id, sizeof id, "%s", str(t, "id"));
    json_decref(t);
    t = call_ok(f, "add_task", "{\"title\":\"No due\"}");
    char nodue[24];
    snprintf(nodue, sizeof nodue, "%s", str(t, "id"));
    json_decref(t);

    /* 30 minutes before 10:00 Paris (UTC+1 in March) is 08:30Z. */
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"offset_minutes\":30}", id);
    json_t *r = call_ok(f, "set_reminder", args);
    assert_string_equal(str(r, "kind"), "offset");
    assert_string_equal(str(r, "state"), "pending");
    assert_string_equal(str(r, "task_id"), id);
    assert_string_equal(str(r, "fire_at"), "2030-03-04T08:30:00.000Z");
    assert_int_equal(json_integer_value(json_object_get(r, "offset_minutes")), 30);
    snprintf(rid, sizeof rid, "%s", str(r, "id"));
    json_decref(r);
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"at\":\"2030-03-01T18:15\"}", id);
    r = call_ok(f, "set_reminder", args);
    assert_string_equal(str(r, "kind"), "at");
    assert_string_equal(str(r, "at"), "2030-03-01T17:15:00.000Z");
    json_decref(r);

    snprintf(args, sizeof args, "{\"task_id\":\"%s\"}", id);
    json_t *l = call_ok(f, "list_reminders", args);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 2);
    json_decref(l);
    l = call_ok(f, "list_reminders", "{\"from\":\"2030-03-02\",\"to\":\"2030-03-05\"}");
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    assert_string_equal(str(json_array_get(json_object_get(l, "items"), 0), "id"), rid);
    json_decref(l);
    l = call_ok(f, "list_reminders", "{\"limit\":1}");
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    json_decref(l);

    snprintf(args, sizeof args, "{\"reminder_id\":\"%s\"}", rid);
    r = call_ok(f, "cancel_reminder", args);
    assert_string_equal(str(r, "id"), rid);
    assert_true(json_is_true(json_object_get(r, "cancelled")));
    json_decref(r);
    call_err(f, "cancel_reminder", args, "not_found", NULL);
    snprintf(args, sizeof args, "{\"task_id\":\"%s\"}", id);
    l = call_ok(f, "list_reminders", args);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    json_decref(l);

    /* Bad calls: exactly one of offset_minutes and at, the REST rules, unknown ids. */
    call_err(f, "set_reminder", args, "invalid_argument", "offset_minutes");
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"offset_minutes\":5,\"at\":\"2030-01-01T00:00\"}", id);
    call_err(f, "set_reminder", args, "invalid_argument", "at");
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"offset_minutes\":-1}", id);
    call_err(f, "set_reminder", args, "invalid_argument", "offset_minutes");
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"at\":\"2001-01-01T00:00\"}", id);
    call_err(f, "set_reminder", args, "invalid_argument", "at");
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"at\":\"soon\"}", id);
    call_err(f, "set_reminder", args, "invalid_argument", "at");
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"offset_minutes\":10}", nodue);
    struct tool_result res;
    json_t *a = J(args);
    assert_int_equal(tool_call(&f->env, "set_reminder", a, &res), 0);
    json_decref(a);
    /* An offset without a due is allowed by the REST API too (it waits for a due). */
    if (res.is_error)
        assert_string_equal(json_string_value(json_object_get(json_object_get(res.result, "error"), "code")), "invalid_argument");
    tool_result_release(&res);
    call_err(f, "set_reminder", "{\"task_id\":\"999999\",\"offset_minutes\":10}", "not_found", NULL);
    call_err(f, "list_reminders", "{\"task_id\":\"999999\"}", "not_found", NULL);
    call_err(f, "list_reminders", "{\"from\":\"next week\"}", "invalid_argument", "from");
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"limit\":3}", id);
    call_err(f, "list_reminders", args, "invalid_argument", "task_id");
    call_err(f, "cancel_reminder", "{}", "invalid_argument", "reminder_id");
    snprintf(args, sizeof args, "{\"id\":\"%s\"}", id);
    json_decref(call_ok(f, "complete_task", args));
    snprintf(args, sizeof args, "{\"task_id\":\"%s\",\"offset_minutes\":10}", id);
    call_err(f, "set_reminder", args, "invalid_argument", "task");
}

/* ---- the MCP engine, without a transport ---- */

static json_t *rpc(struct fixture *f, struct mcp_session *s, const char *text)
{
    static const struct mcp_server_info info = {"tock", "tock tasks", "test"};
    json_t *reply = NULL;
    json_t *msg = mcp_parse(text, strlen(text), &reply);
    if (msg) {
        mcp_handle(&f->env, &info, s, msg, &reply);
        json_decref(msg);
    }
    return reply;
}

static int err_code(json_t *reply)
{
    return (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static void mcp_engine(void **state)
{
    struct fixture *f = *state;
    struct mcp_session s = {0};
    json_t *r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_int_equal(err_code(r), MCP_INVALID_REQUEST); /* not initialized */
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\",\"params\":"
                   "{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{}}}");
    json_t *res = json_object_get(r, "result");
    assert_string_equal(str(res, "protocolVersion"), MCP_PROTOCOL_LATEST);
    assert_string_equal(str(r, "id"), "a");
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":"
                   "{\"protocolVersion\":\"2025-03-26\"}}");
    assert_string_equal(str(json_object_get(r, "result"), "protocolVersion"), "2025-03-26");
    assert_string_equal(s.version, "2025-03-26");
    json_decref(r);
    assert_null(rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
    assert_null(rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}"));
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}");
    assert_int_equal(json_object_size(json_object_get(r, "result")), 0);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\"}");
    assert_int_equal(err_code(r), MCP_METHOD_NOT_FOUND);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"nope\"}}");
    assert_int_equal(err_code(r), MCP_INVALID_PARAMS);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"list_tags\",\"arguments\":[1]}}");
    assert_int_equal(err_code(r), MCP_INVALID_PARAMS);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\"}");
    assert_int_equal(err_code(r), MCP_INVALID_PARAMS);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"add_task\",\"arguments\":{\"title\":\"hi\"}}}");
    res = json_object_get(r, "result");
    assert_true(json_is_false(json_object_get(res, "isError")));
    json_t *sc = json_object_get(res, "structuredContent");
    json_t *text = J(str(json_array_get(json_object_get(res, "content"), 0), "text"));
    assert_true(json_equal(sc, text));
    json_decref(text);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"add_task\",\"arguments\":{}}}");
    res = json_object_get(r, "result");
    assert_true(json_is_true(json_object_get(res, "isError")));
    assert_null(json_object_get(res, "structuredContent"));
    json_decref(r);
    r = rpc(f, &s, "not json");
    assert_int_equal(err_code(r), MCP_PARSE_ERROR);
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = rpc(f, &s, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    assert_int_equal(err_code(r), MCP_INVALID_REQUEST);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"1.0\",\"id\":11,\"method\":\"ping\"}");
    assert_int_equal(err_code(r), MCP_INVALID_REQUEST);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 11);
    json_decref(r);
    r = rpc(f, &s, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}");
    assert_int_equal(err_code(r), MCP_INVALID_REQUEST);
    json_decref(r);
    char deep[200] = "";
    for (int i = 0; i < 40; i++)
        deep[i] = '[';
    r = rpc(f, &s, deep);
    assert_int_equal(err_code(r), MCP_PARSE_ERROR);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_well_formed),
        cmocka_unit_test(validation),
        cmocka_unit_test(openai_tools),
        cmocka_unit_test_setup_teardown(every_tool_on_a_real_store, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_calls_are_error_results, setup, teardown),
        cmocka_unit_test_setup_teardown(reminder_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(mcp_engine, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
