/*
 * tools_tasks.c — the task and tag tools: their rows (schemas, hints) and
 * handlers. Handlers turn validated arguments into the same service inputs the
 * REST handlers build (task_input, list query parameters parsed by core's
 * filter_parse), so a tool call and the equivalent REST call validate, write and
 * emit exactly the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/tools.h"
#include "core/filter.h"
#include "core/task.h"
#include "obs/clock.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- schema fragments (JSON text, joined at compile time) ---- */

#define S_ID "{\"type\":\"string\",\"minLength\":1,\"maxLength\":20,\"description\":\"The task id (as returned by add_task or list_tasks).\"}"
#define S_VERSION                                                                          \
    "{\"type\":\"integer\",\"minimum\":1,\"description\":\"Optional: only act if the task "  \
    "still has this version (optimistic concurrency); otherwise the call fails with "        \
    "precondition_failed.\"}"
#define S_STATUS "{\"type\":\"string\",\"enum\":[\"todo\",\"in_progress\",\"done\"]}"
#define S_PRIORITY "{\"type\":\"string\",\"enum\":[\"none\",\"low\",\"medium\",\"high\",\"urgent\"]}"
#define S_TAG "{\"type\":\"string\",\"minLength\":1,\"maxLength\":" STR(TAG_NAME_MAX) "}"
#define S_RECUR_IN                                                                         \
    "{\"type\":[\"object\",\"null\"],\"description\":\"Repeat the task: an RFC 5545 RRULE "  \
    "(e.g. FREQ=WEEKLY;BYDAY=MO,TH or FREQ=MONTHLY;BYMONTHDAY=1) expanded in the task's "    \
    "time zone; needs a due date. recur_from 'due' keeps the fixed schedule, 'completion' "  \
    "counts from when it is done. null stops repeating.\",\"properties\":{\"rrule\":"        \
    "{\"type\":\"string\",\"minLength\":1,\"maxLength\":" STR(RRULE_MAX) "},\"recur_from\":"  \
    "{\"type\":\"string\",\"enum\":[\"due\",\"completion\"]}},\"required\":[\"rrule\"],"      \
    "\"additionalProperties\":false}"
#define S_DUE_DESC                                                                          \
    "\"description\":\"When it is due: YYYY-MM-DD (a whole day), YYYY-MM-DDTHH:MM (local "   \
    "time in the task's time zone) or an RFC 3339 instant.\""

/* Task fields settable on create and update (the nullable ones clear on update). */
#define TASK_IN_PROPS(NUL)                                                                  \
    "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":" STR(TASK_TITLE_MAX) "},"  \
    "\"description\":{\"type\":" NUL("string") ",\"maxLength\":" STR(TASK_DESC_MAX) "},"     \
    "\"status\":" S_STATUS ",\"priority\":" S_PRIORITY ","                                  \
    "\"tags\":{\"type\":" NUL("array") ",\"maxItems\":" STR(TASK_TAGS_MAX) ",\"items\":" S_TAG \
    ",\"description\":\"Tag names (letters, digits, - and _), replacing the task's tags.\"}," \
    "\"due\":{\"type\":" NUL("string") ",\"maxLength\":40," S_DUE_DESC "},"                  \
    "\"timezone\":{\"type\":\"string\",\"maxLength\":64,\"description\":\"IANA time zone of " \
    "the due time (default: the user's).\"},"                                               \
    "\"recurrence\":" S_RECUR_IN
#define PLAIN(t) "\"" t "\""
#define NULLABLE(t) "[\"" t "\",\"null\"]"

#define S_TASK                                                                              \
    "{\"type\":\"object\",\"properties\":{"                                                 \
    "\"id\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"                          \
    "\"description\":{\"type\":\"string\"},\"status\":" S_STATUS ",\"priority\":" S_PRIORITY \
    ",\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"                        \
    "\"due\":{\"type\":[\"string\",\"null\"]},\"timezone\":{\"type\":\"string\"},"           \
    "\"due_at\":{\"type\":[\"string\",\"null\"]},\"overdue\":{\"type\":\"boolean\"},"        \
    "\"recurrence\":{\"type\":[\"object\",\"null\"],\"properties\":{\"rrule\":{\"type\":"     \
    "\"string\"},\"recur_from\":{\"type\":\"string\",\"enum\":[\"due\",\"completion\"]}},"   \
    "\"required\":[\"rrule\",\"recur_from\"]},"                                            \
    "\"series_id\":{\"type\":\"string\"},\"occurrence\":{\"type\":\"integer\"},"            \
    "\"created_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"},"            \
    "\"completed_at\":{\"type\":[\"string\",\"null\"]},\"version\":{\"type\":\"integer\"}},"  \
    "\"required\":[\"id\",\"title\",\"description\",\"status\",\"priority\",\"tags\",\"due\"," \
    "\"timezone\",\"due_at\",\"overdue\",\"recurrence\",\"series_id\",\"occurrence\","        \
    "\"created_at\",\"updated_at\",\"completed_at\",\"version\"]}"

#define S_ID_ONLY "{\"type\":\"object\",\"properties\":{\"id\":" S_ID "},\"required\":[\"id\"],\"additionalProperties\":false}"
#define S_ID_VERSION                                                                        \
    "{\"type\":\"object\",\"properties\":{\"id\":" S_ID ",\"expected_version\":" S_VERSION   \
    "},\"required\":[\"id\"],\"additionalProperties\":false}"

#define SORT_KEYS(f) "\"" f ":asc\",\"" f ":desc\""
#define S_LIST_IN                                                                           \
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"                  \
    "\"q\":{\"type\":\"string\",\"maxLength\":" STR(FILTER_Q_MAX) ",\"description\":\"Full-" \
    "text search over title, description and tags; the last word matches as a prefix.\"}," \
    "\"status\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":3,\"items\":" S_STATUS     \
    ",\"description\":\"Only these statuses.\"},"                                           \
    "\"priority\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":5,\"items\":" S_PRIORITY  \
    ",\"description\":\"Only these priorities.\"},"                                         \
    "\"tags\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":" STR(TASK_TAGS_MAX)          \
    ",\"items\":" S_TAG ",\"description\":\"Only tasks with these tags (all of them, or any " \
    "with tag_mode any).\"},"                                                               \
    "\"tag_mode\":{\"type\":\"string\",\"enum\":[\"all\",\"any\"]},"                        \
    "\"due_before\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"Due at or "     \
    "before: YYYY-MM-DD (the whole day counts), YYYY-MM-DDTHH:MM or RFC 3339.\"},"          \
    "\"due_after\":{\"type\":\"string\",\"maxLength\":40,\"description\":\"Due at or after, " \
    "same forms as due_before.\"},"                                                         \
    "\"overdue\":{\"type\":\"boolean\"},\"has_due\":{\"type\":\"boolean\"},"                \
    "\"recurring\":{\"type\":\"boolean\"},"                                                 \
    "\"series_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":20,\"description\":"  \
    "\"Only the occurrences of one recurring series.\"},"                                   \
    "\"sort\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":" STR(FILTER_SORT_MAX)        \
    ",\"items\":{\"type\":\"string\",\"enum\":[" SORT_KEYS("priority") "," SORT_KEYS("due_at") \
    "," SORT_KEYS("created_at") "," SORT_KEYS("updated_at") "," SORT_KEYS("title") ","       \
    SORT_KEYS("rank") "]},\"description\":\"Sort keys in order (default due_at:asc, "        \
    "priority:desc; with q: rank:desc). rank needs q.\"},"                                  \
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":" STR(FILTER_LIMIT_MAX)       \
    ",\"description\":\"Page size (default " STR(FILTER_LIMIT_DEFAULT) ").\"},"             \
    "\"cursor\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2048,\"description\":"   \
    "\"next_cursor of the previous page (same filters and sort).\"}}}"

/* ---- helpers ---- */

static int64_t arg_id(json_t *args, const char *key)
{
    return id_parse(json_string_value(json_object_get(args, key)));
}

static int64_t arg_version(json_t *args)
{
    json_t *v = json_object_get(args, "expected_version");
    return v ? (int64_t)json_number_value(v) : -1;
}

static json_t *task_result(const struct task *t)
{
    return task_to_json(t, clock_now_ms());
}

/*
 * Reads the task members of validated args into in; *tags (caller frees) holds
 * the borrowed tag strings.
 */
static int task_input_from(json_t *args, struct task_input *in, const char ***tags)
{
    memset(in, 0, sizeof *in);
    *tags = NULL;
    json_t *v;
    if ((v = json_object_get(args, "title"))) {
        in->set |= TI_TITLE;
        in->title = json_string_value(v);
    }
    if ((v = json_object_get(args, "description"))) {
        in->set |= TI_DESC;
        in->description = json_string_value(v); /* NULL for null: clear */
    }
    if ((v = json_object_get(args, "status"))) {
        in->set |= TI_STATUS;
        in->status = task_status_parse(json_string_value(v));
    }
    if ((v = json_object_get(args, "priority"))) {
        in->set |= TI_PRIORITY;
        in->priority = task_priority_parse(json_string_value(v));
    }
    if ((v = json_object_get(args, "tags"))) {
        in->set |= TI_TAGS;
        size_t n = json_array_size(v);
        if (n) {
            if (!(*tags = calloc(n, sizeof **tags)))
                return TOCK_ENOMEM;
            for (size_t i = 0; i < n; i++)
                (*tags)[i] = json_string_value(json_array_get(v, i));
            in->tags = *tags;
            in->ntags = n;
        }
    }
    if ((v = json_object_get(args, "due"))) {
        in->set |= TI_DUE;
        in->due = json_string_value(v);
    }
    if ((v = json_object_get(args, "timezone"))) {
        in->set |= TI_TZ;
        in->timezone = json_string_value(v);
    }
    if ((v = json_object_get(args, "recurrence"))) {
        in->set |= TI_RECUR;
        if (json_is_object(v)) {
            in->rrule = json_string_value(json_object_get(v, "rrule"));
            const char *from = json_string_value(json_object_get(v, "recur_from"));
            in->recur_from = from && !strcmp(from, "completion") ? RECUR_COMPLETION : RECUR_DUE;
        }
    }
    return 0;
}

/* ---- handlers ---- */

static int add_task(const struct tool_env *env, json_t *args, json_t **result,
                    struct tock_error *e)
{
    struct task_input in;
    const char **tags;
    int rc = task_input_from(args, &in, &tags);
    struct task t;
    if (!rc)
        rc = svc_task_create(env->svc, env->ctx, &in, &t, e);
    free(tags);
    if (rc)
        return rc;
    *result = task_result(&t);
    task_release(&t);
    return 0;
}

static int get_task(const struct tool_env *env, json_t *args, json_t **result,
                    struct tock_error *e)
{
    (void)e;
    int64_t id = arg_id(args, "id");
    struct task t;
    int rc = id ? svc_task_get(env->svc, env->ctx, id, &t) : TOCK_ENOTFOUND;
    if (rc)
        return rc;
    *result = task_result(&t);
    task_release(&t);
    return 0;
}

static int update_task(const struct tool_env *env, json_t *args, json_t **result,
                       struct tock_error *e)
{
    int64_t id = arg_id(args, "id");
    if (!id)
        return TOCK_ENOTFOUND;
    struct task_input in;
    const char **tags;
    int rc = task_input_from(args, &in, &tags);
    struct task t;
    if (!rc && !in.set)
        rc = tock_fail(e, TOCK_EINVAL, "", "give at least one field to change");
    if (!rc)
        rc = svc_task_update(env->svc, env->ctx, id, arg_version(args), &in, &t, e);
    free(tags);
    if (rc)
        return rc;
    *result = task_result(&t);
    task_release(&t);
    return 0;
}

static int complete_or_reopen(const struct tool_env *env, json_t *args, json_t **result,
                              bool complete)
{
    int64_t id = arg_id(args, "id");
    struct task t;
    int rc = !id       ? TOCK_ENOTFOUND
             : complete ? svc_task_complete(env->svc, env->ctx, id, arg_version(args), &t)
                        : svc_task_reopen(env->svc, env->ctx, id, arg_version(args), &t);
    if (rc)
        return rc;
    *result = task_result(&t);
    task_release(&t);
    return 0;
}

static int complete_task(const struct tool_env *env, json_t *args, json_t **result,
                         struct tock_error *e)
{
    (void)e;
    return complete_or_reopen(env, args, result, true);
}

static int reopen_task(const struct tool_env *env, json_t *args, json_t **result,
                       struct tock_error *e)
{
    (void)e;
    return complete_or_reopen(env, args, result, false);
}

static int delete_task(const struct tool_env *env, json_t *args, json_t **result,
                       struct tock_error *e)
{
    (void)e;
    int64_t id = arg_id(args, "id");
    int rc = id ? svc_task_delete(env->svc, env->ctx, id, arg_version(args)) : TOCK_ENOTFOUND;
    if (rc)
        return rc;
    char ids[24];
    id_str(id, ids);
    *result = json_pack("{s:s,s:b}", "id", ids, "deleted", 1);
    return 0;
}

/* PATCH {"recurrence": null}: the series ends; this and past occurrences stay. */
static int stop_recurrence(const struct tool_env *env, json_t *args, json_t **result,
                           struct tock_error *e)
{
    int64_t id = arg_id(args, "id");
    if (!id)
        return TOCK_ENOTFOUND;
    struct task_input in = {.set = TI_RECUR, .rrule = NULL};
    struct task t;
    int rc = svc_task_update(env->svc, env->ctx, id, arg_version(args), &in, &t, e);
    if (rc)
        return rc;
    *result = task_result(&t);
    task_release(&t);
    return 0;
}

/* The list query as the REST API's query parameters, so core parses both the same. */
struct qp {
    struct qparam p[16 + TASK_TAGS_MAX];
    size_t n;
    char owned[8][160]; /* joined enum lists */
    size_t nowned;
};

static void qp_add(struct qp *q, const char *name, const char *value)
{
    if (q->n < sizeof q->p / sizeof *q->p)
        q->p[q->n++] = (struct qparam){name, value};
}

/* An array of enum strings as the comma list the REST API takes. */
static void qp_join(struct qp *q, const char *name, json_t *arr)
{
    if (!arr || q->nowned == 8)
        return;
    char *s = q->owned[q->nowned++];
    size_t off = 0, i;
    json_t *x;
    s[0] = 0;
    json_array_foreach(arr, i, x)
    {
        int w = snprintf(s + off, 160 - off, "%s%s", i ? "," : "", json_string_value(x));
        if (w < 0 || (size_t)w >= 160 - off)
            break;
        off += (size_t)w;
    }
    qp_add(q, name, s);
}

static int list_tasks(const struct tool_env *env, json_t *args, json_t **result,
                      struct tock_error *e)
{
    struct qp q;
    q.n = q.nowned = 0;
    static const char *const str_keys[] = {"q", "tag_mode", "due_before", "due_after",
                                           "series_id", "cursor"};
    for (size_t i = 0; i < sizeof str_keys / sizeof *str_keys; i++) {
        json_t *v = json_object_get(args, str_keys[i]);
        if (v)
            qp_add(&q, str_keys[i], json_string_value(v));
    }
    qp_join(&q, "status", json_object_get(args, "status"));
    qp_join(&q, "priority", json_object_get(args, "priority"));
    qp_join(&q, "sort", json_object_get(args, "sort"));
    static const char *const bool_keys[] = {"overdue", "has_due", "recurring"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(args, bool_keys[i]);
        if (v)
            qp_add(&q, bool_keys[i], json_is_true(v) ? "true" : "false");
    }
    char limit[24];
    json_t *lv = json_object_get(args, "limit");
    if (lv) {
        snprintf(limit, sizeof limit, "%lld", (long long)json_number_value(lv));
        qp_add(&q, "limit", limit);
    }
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(args, "tags"), i, tag) qp_add(&q, "tag",
                                                                     json_string_value(tag));

    int64_t now = clock_now_ms();
    struct task_filter f;
    int rc = filter_parse(&f, q.p, q.n, env->ctx->timezone, now, e);
    if (rc) {
        /* The REST name of the tag filter is "tag"; name the tool's argument. */
        if (rc == TOCK_EINVAL && !strcmp(e->field, "tag"))
            snprintf(e->field, sizeof e->field, "tags");
        filter_release(&f);
        return rc;
    }
    struct task *v = NULL;
    size_t n = 0;
    char *next = NULL;
    rc = svc_task_list(env->svc, env->ctx, &f, &v, &n, &next);
    filter_release(&f);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(items, task_to_json(&v[k], now));
    svc_tasks_free(v, n);
    *result = json_pack("{s:o,s:o}", "items", items, "next_cursor",
                        next ? json_string(next) : json_null());
    free(next);
    return 0;
}

static int list_tags(const struct tool_env *env, json_t *args, json_t **result,
                     struct tock_error *e)
{
    const char *prefix = json_string_value(json_object_get(args, "prefix"));
    struct tag *v = NULL;
    size_t n = 0;
    int rc = svc_tag_list(env->svc, env->ctx, prefix, &v, &n, e);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        char ids[24];
        id_str(v[i].id, ids);
        json_array_append_new(items,
                              json_pack("{s:s,s:s,s:o,s:I}", "id", ids, "name", v[i].name,
                                        "color", v[i].color[0] ? json_string(v[i].color)
                                                               : json_null(),
                                        "task_count", (json_int_t)v[i].task_count));
    }
    free(v);
    *result = json_pack("{s:o}", "items", items);
    return 0;
}

/* ---- the table ---- */

const struct tool tools_tasks[] = {
    {"add_task", "Add a task",
     "Create a task for the user. Only title is required. Give due as a local date or "
     "date-time in the user's time zone, tags as plain names, and recurrence as an RRULE "
     "for repeating tasks. Returns the created task.",
     "{\"type\":\"object\",\"properties\":{" TASK_IN_PROPS(PLAIN)
     "},\"required\":[\"title\"],\"additionalProperties\":false}",
     S_TASK, false, false, false, add_task},
    {"get_task", "Get a task", "Fetch one task of the user by id.", S_ID_ONLY, S_TASK, true,
     false, true, get_task},
    {"list_tasks", "List and search tasks",
     "List the user's tasks, one page at a time: full-text search (q), filters by status, "
     "priority, tags, due range, overdue, has_due, recurring and series, and multi-key sort. "
     "Returns items and next_cursor (null on the last page). Deleted tasks never appear.",
     S_LIST_IN,
     "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":" S_TASK
     "},\"next_cursor\":{\"type\":[\"string\",\"null\"]}},\"required\":[\"items\","
     "\"next_cursor\"]}",
     true, false, true, list_tasks},
    {"update_task", "Update a task",
     "Change some fields of a task; fields not given stay as they are. description, tags, due "
     "and recurrence accept null to clear them. Returns the updated task.",
     "{\"type\":\"object\",\"properties\":{\"id\":" S_ID ",\"expected_version\":" S_VERSION
     "," TASK_IN_PROPS(NULLABLE) "},\"required\":[\"id\"],\"additionalProperties\":false}",
     S_TASK, false, true, true, update_task},
    {"complete_task", "Complete a task",
     "Mark a task done. For a repeating task the next occurrence is created automatically. "
     "Returns the task.",
     S_ID_VERSION, S_TASK, false, false, true, complete_task},
    {"reopen_task", "Reopen a task", "Mark a done task as not done (todo) again. Returns the task.",
     S_ID_VERSION, S_TASK, false, false, true, reopen_task},
    {"delete_task", "Delete a task",
     "Delete a task (its history stays in the audit log). Returns {id, deleted: true}.",
     S_ID_VERSION,
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"deleted\":{\"type\":"
     "\"boolean\"}},\"required\":[\"id\",\"deleted\"]}",
     false, true, true, delete_task},
    {"list_tags", "List tags",
     "List the user's tags with how many live tasks carry each; prefix narrows the list "
     "(autocomplete).",
     "{\"type\":\"object\",\"properties\":{\"prefix\":{\"type\":\"string\",\"maxLength\":"
     STR(TAG_NAME_MAX) "}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"color\":{\"type\":[\"string\",\"null\"]},\"task_count\":{\"type\":\"integer\"}},"
     "\"required\":[\"id\",\"name\",\"color\",\"task_count\"]}}},\"required\":[\"items\"]}",
     true, false, true, list_tags},
    {"stop_recurrence", "Stop repeating a task",
     "End a repeating task's series: the task keeps its due date but no next occurrence will "
     "be created; past occurrences stay. Returns the task (unchanged if it was not repeating).",
     S_ID_VERSION, S_TASK, false, true, true, stop_recurrence},
};

const size_t tools_tasks_n = sizeof tools_tasks / sizeof tools_tasks[0];
