/*
 * tools_reminders.c — the reminder tools: set_reminder, cancel_reminder,
 * list_reminders. Handlers build the same reminder_input the REST handlers
 * (api/h_reminders.c) build and call the same services, so a tool call and the
 * equivalent REST call validate and write exactly the same. The reminder JSON
 * is the REST shape (docs/reminders.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/tools.h"
#include "core/reminder.h"
#include "core/task.h"
#include "core/timeutil.h"
#include "core/tz.h"
#include "obs/clock.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define REMINDER_TOOL_LIST_DEFAULT 100
#define REMINDER_TOOL_LIST_MAX 500

#define S_RID(what)                                                                        \
    "{\"type\":\"string\",\"minLength\":1,\"maxLength\":20,\"description\":\"" what "\"}"
#define S_TIME_ARG(what)                                                                   \
    "{\"type\":\"string\",\"minLength\":1,\"maxLength\":40,\"description\":\"" what        \
    ": YYYY-MM-DDTHH:MM or YYYY-MM-DD (local time in the user's time zone) or an RFC 3339 " \
    "instant.\"}"

#define S_REMINDER                                                                          \
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"task_id\":{\"type\":" \
    "\"string\"},\"kind\":{\"type\":\"string\",\"enum\":[\"offset\",\"at\"]},"              \
    "\"offset_minutes\":{\"type\":\"integer\"},\"at\":{\"type\":[\"string\",\"null\"]},"    \
    "\"fire_at\":{\"type\":[\"string\",\"null\"]},\"state\":{\"type\":\"string\",\"enum\":"  \
    "[\"pending\",\"fired\",\"cancelled\"]},\"fired_at\":{\"type\":[\"string\",\"null\"]},"  \
    "\"late\":{\"type\":\"boolean\"},\"snoozes\":{\"type\":\"integer\"},\"created_at\":"    \
    "{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}},\"required\":[\"id\","      \
    "\"task_id\",\"kind\",\"fire_at\",\"state\",\"fired_at\",\"late\",\"snoozes\","          \
    "\"created_at\",\"updated_at\"]}"

static json_t *time_json(int64_t ms)
{
    if (!ms)
        return json_null();
    char b[32];
    time_fmt_rfc3339(ms, b);
    return json_string(b);
}

static json_t *id_json(int64_t id)
{
    char b[24];
    id_str(id, b);
    return json_string(b);
}

/* The REST API's reminder shape (api_reminder_json). */
static json_t *reminder_json(const struct reminder *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", id_json(r->id));
    json_object_set_new(o, "task_id", id_json(r->task_id));
    json_object_set_new(o, "kind", json_string(reminder_kind_name(r->kind)));
    if (r->kind == REMINDER_OFFSET)
        json_object_set_new(o, "offset_minutes", json_integer(r->offset_minutes));
    else
        json_object_set_new(o, "at", time_json(r->at_ms));
    json_object_set_new(o, "fire_at", time_json(r->fire_at));
    json_object_set_new(o, "state", json_string(reminder_state_name(r->state)));
    json_object_set_new(o, "fired_at", time_json(r->fired_at));
    json_object_set_new(o, "late", json_boolean(r->late));
    json_object_set_new(o, "snoozes", json_integer(r->snoozes));
    json_object_set_new(o, "created_at", time_json(r->created_at));
    json_object_set_new(o, "updated_at", time_json(r->updated_at));
    return o;
}

static json_t *reminder_list_json(struct reminder *v, size_t n)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, reminder_json(&v[i]));
    free(v);
    return json_pack("{s:o}", "items", items);
}

static int set_reminder(const struct tool_env *env, json_t *args, json_t **result,
                        struct tock_error *e)
{
    int64_t task_id = id_parse(json_string_value(json_object_get(args, "task_id")));
    json_t *off = json_object_get(args, "offset_minutes"), *at = json_object_get(args, "at");
    if ((off != NULL) == (at != NULL))
        return tock_fail(e, TOCK_EINVAL, off ? "at" : "offset_minutes",
                         "give exactly one of offset_minutes and at");
    if (!task_id)
        return TOCK_ENOTFOUND;
    struct reminder_input in = {0};
    if (off) {
        in.is_offset = true;
        in.offset_minutes = (int64_t)json_number_value(off);
    } else {
        in.at = json_string_value(at);
    }
    struct reminder r;
    int rc = svc_reminder_create(env->svc, env->ctx, task_id, &in, &r, e);
    if (rc == TOCK_ELIMIT) /* a per-task limit, not a rate: the REST API answers 409 */
        return tock_fail(e, TOCK_ECONFLICT, "task_id", "at most %d reminders per task",
                         REMINDERS_PER_TASK_MAX);
    if (rc)
        return rc;
    *result = reminder_json(&r);
    return 0;
}

static int cancel_reminder(const struct tool_env *env, json_t *args, json_t **result,
                           struct tock_error *e)
{
    (void)e;
    int64_t id = id_parse(json_string_value(json_object_get(args, "reminder_id")));
    int rc = id ? svc_reminder_delete(env->svc, env->ctx, id) : TOCK_ENOTFOUND;
    if (rc)
        return rc;
    *result = json_pack("{s:o,s:b}", "id", id_json(id), "cancelled", 1);
    return 0;
}

/* RFC 3339, or a local "YYYY-MM-DD[THH:MM]" in the user's zone (as GET /reminders). */
static int time_arg(json_t *args, const char *name, const char *zone, int64_t *ms,
                    struct tock_error *e)
{
    const char *v = json_string_value(json_object_get(args, name));
    if (!v)
        return 0;
    struct local_dt lt;
    if (time_parse_rfc3339(v, ms) == 0)
        return 0;
    if (time_parse_local(v, &lt) == 0 && lt.year >= TZ_YEAR_MIN && lt.year <= TZ_YEAR_MAX &&
        tz_local_to_utc(zone, &lt, ms) == 0)
        return 0;
    return tock_fail(e, TOCK_EINVAL, name,
                     "expected an RFC 3339 date-time or YYYY-MM-DD[THH:MM] (local)");
}

static int list_reminders(const struct tool_env *env, json_t *args, json_t **result,
                          struct tock_error *e)
{
    struct reminder *v = NULL;
    size_t n = 0;
    json_t *tid = json_object_get(args, "task_id");
    if (tid) {
        if (json_object_get(args, "from") || json_object_get(args, "to") ||
            json_object_get(args, "limit"))
            return tock_fail(e, TOCK_EINVAL, "task_id",
                             "task_id lists every reminder of one task; do not combine it "
                             "with from, to or limit");
        int64_t task_id = id_parse(json_string_value(tid));
        int rc = task_id ? svc_reminder_list_task(env->svc, env->ctx, task_id, &v, &n)
                         : TOCK_ENOTFOUND;
        if (rc)
            return rc;
        *result = reminder_list_json(v, n);
        return 0;
    }
    int64_t from = clock_now_ms(), to = INT64_MAX;
    int rc = time_arg(args, "from", env->ctx->timezone, &from, e);
    if (!rc)
        rc = time_arg(args, "to", env->ctx->timezone, &to, e);
    if (rc)
        return rc;
    json_t *lv = json_object_get(args, "limit");
    int limit = lv ? (int)json_number_value(lv) : REMINDER_TOOL_LIST_DEFAULT;
    rc = svc_reminder_list(env->svc, env->ctx, from, to, limit, &v, &n);
    if (rc)
        return rc;
    *result = reminder_list_json(v, n);
    return 0;
}

/* ---- the table ---- */

const struct tool tools_reminders[] = {
    {"set_reminder", "Set a reminder",
     "Remind the user about a task: either offset_minutes before its due time (the task "
     "needs a due date; a date-only due counts from 09:00 local) or at a given local time. "
     "Give exactly one of offset_minutes and at. Returns the reminder with its fire_at.",
     "{\"type\":\"object\",\"properties\":{\"task_id\":" S_RID("The task id.")
     ",\"offset_minutes\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":"
     STR(REMINDER_OFFSET_MAX_MINUTES) ",\"description\":\"Minutes before the task's due "
     "time (0: at the due time).\"},\"at\":" S_TIME_ARG("When to remind, in the future")
     "},\"required\":[\"task_id\"],\"additionalProperties\":false}",
     S_REMINDER, false, false, false, set_reminder},
    {"cancel_reminder", "Cancel a reminder",
     "Delete a reminder by its id (from set_reminder or list_reminders); it will not fire. "
     "Returns {id, cancelled: true}.",
     "{\"type\":\"object\",\"properties\":{\"reminder_id\":" S_RID("The reminder id.")
     "},\"required\":[\"reminder_id\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"cancelled\":"
     "{\"type\":\"boolean\"}},\"required\":[\"id\",\"cancelled\"]}",
     false, true, true, cancel_reminder},
    {"list_reminders", "List reminders",
     "With task_id: every reminder of that task (pending, fired and cancelled). Without: the "
     "user's pending reminders firing in [from, to) (default: from now on), soonest first.",
     "{\"type\":\"object\",\"properties\":{\"task_id\":" S_RID("Only this task's reminders.")
     ",\"from\":" S_TIME_ARG("Fires at or after (default now)")
     ",\"to\":" S_TIME_ARG("Fires before")
     ",\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":" STR(REMINDER_TOOL_LIST_MAX)
     ",\"description\":\"At most this many (default " STR(REMINDER_TOOL_LIST_DEFAULT)
     ").\"}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":" S_REMINDER
     "}},\"required\":[\"items\"]}",
     true, false, true, list_reminders},
};

const size_t tools_reminders_n = sizeof tools_reminders / sizeof tools_reminders[0];
