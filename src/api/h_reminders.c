/*
 * h_reminders.c — /api/v1/tasks/{id}/reminders, /api/v1/reminders: JSON <->
 * reminder_input, the reminder JSON shape, and the parsing of a task's
 * "reminders": [...] shared with h_tasks.c (api_reminders_parse).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/timeutil.h"
#include "core/tz.h"
#include "obs/clock.h"

#define REMINDER_LIST_DEFAULT 100
#define REMINDER_LIST_MAX 500

/* Input members, plus the read-only ones a client may send back from a GET. */
static const char *const reminder_fields[] = {
    "offset_minutes", "at",    "id",      "task_id",    "kind",       "fire_at", "state",
    "fired_at",       "late",  "snoozes", "created_at", "updated_at", NULL};

bool api_reminder_input(json_t *o, struct reminder_input *in, const char *prefix,
                        struct http_resp *resp)
{
    char field[64];
    memset(in, 0, sizeof *in);
    if (!json_is_object(o)) {
        snprintf(field, sizeof field, "%s", prefix[0] ? prefix : "body");
        http_error(resp, 400, "invalid_argument",
                   "a reminder is {\"offset_minutes\": N} or {\"at\": \"...\"}", field);
        return false;
    }
    if (!api_only_fields(o, reminder_fields, resp))
        return false;
    json_t *off = json_object_get(o, "offset_minutes"), *at = json_object_get(o, "at");
    if (off && json_is_null(off))
        off = NULL;
    if (at && json_is_null(at))
        at = NULL;
    if ((off != NULL) == (at != NULL)) {
        snprintf(field, sizeof field, "%s%s", prefix, off ? "at" : "offset_minutes");
        http_error(resp, 400, "invalid_argument", "give exactly one of offset_minutes and at",
                   field);
        return false;
    }
    if (off) {
        snprintf(field, sizeof field, "%soffset_minutes", prefix);
        if (!json_is_integer(off)) {
            http_error(resp, 400, "invalid_argument", "offset_minutes must be an integer", field);
            return false;
        }
        in->is_offset = true;
        in->offset_minutes = json_integer_value(off);
        return true;
    }
    if (!json_is_string(at)) {
        snprintf(field, sizeof field, "%sat", prefix);
        http_error(resp, 400, "invalid_argument", "at must be a string", field);
        return false;
    }
    in->at = json_string_value(at);
    return true;
}

bool api_reminders_parse(json_t *arr, struct reminder_input **out, size_t *n,
                         struct http_resp *resp)
{
    *out = NULL;
    *n = 0;
    if (json_is_null(arr))
        return true; /* null clears */
    if (!json_is_array(arr)) {
        http_error(resp, 400, "invalid_argument", "reminders must be an array", "reminders");
        return false;
    }
    size_t m = json_array_size(arr);
    if (m > REMINDERS_PER_TASK_MAX) {
        http_error(resp, 400, "invalid_argument", "at most 20 reminders per task", "reminders");
        return false;
    }
    struct reminder_input *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        api_fail(resp, TOCK_ENOMEM, NULL);
        return false;
    }
    for (size_t i = 0; i < m; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "reminders[%zu].", i);
        if (!api_reminder_input(json_array_get(arr, i), &v[i], prefix, resp)) {
            free(v);
            return false;
        }
    }
    *out = v;
    *n = m;
    return true;
}

json_t *api_reminder_json(const struct reminder *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", api_id(r->id));
    json_object_set_new(o, "task_id", api_id(r->task_id));
    json_object_set_new(o, "kind", json_string(reminder_kind_name(r->kind)));
    if (r->kind == REMINDER_OFFSET)
        json_object_set_new(o, "offset_minutes", json_integer(r->offset_minutes));
    else
        json_object_set_new(o, "at", api_time(r->at_ms));
    json_object_set_new(o, "fire_at", api_time(r->fire_at));
    json_object_set_new(o, "state", json_string(reminder_state_name(r->state)));
    json_object_set_new(o, "fired_at", api_time(r->fired_at));
    json_object_set_new(o, "late", json_boolean(r->late));
    json_object_set_new(o, "snoozes", json_integer(r->snoozes));
    json_object_set_new(o, "created_at", api_time(r->created_at));
    json_object_set_new(o, "updated_at", api_time(r->updated_at));
    return o;
}

static void send_list(struct http_resp *resp, struct reminder *v, size_t n)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, api_reminder_json(&v[i]));
    free(v);
    api_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_h_task_reminders_create(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    int64_t task_id = id_parse(req->path_params[0]);
    struct reminder_input in;
    if (api_reminder_input(b, &in, "", resp)) {
        struct reminder r;
        struct tock_error e = {0};
        int rc = task_id ? svc_reminder_create(app->svc, &ctx, task_id, &in, &r, &e)
                         : TOCK_ENOTFOUND;
        if (rc == TOCK_ELIMIT) /* a per-task limit, not a rate: 409 like other full states */
            http_error(resp, 409, "limit_reached", e.message, e.field);
        else if (rc)
            api_fail(resp, rc, &e);
        else {
            char loc[64];
            snprintf(loc, sizeof loc, "/api/v1/reminders/%lld", (long long)r.id);
            http_set_header(resp, "Location", loc);
            api_json(resp, 201, api_reminder_json(&r));
        }
    }
    json_decref(b);
}

void api_h_task_reminders_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t task_id = id_parse(req->path_params[0]);
    struct reminder *v = NULL;
    size_t n = 0;
    int rc = task_id ? svc_reminder_list_task(app->svc, &ctx, task_id, &v, &n) : TOCK_ENOTFOUND;
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    send_list(resp, v, n);
}

/* RFC 3339, or a local "YYYY-MM-DD[THH:MM]" in the caller's zone. */
static bool time_param(const char *v, const char *zone, const char *name, int64_t *ms,
                       struct http_resp *resp)
{
    struct local_dt lt;
    if (time_parse_rfc3339(v, ms) == 0)
        return true;
    if (time_parse_local(v, &lt) == 0 && lt.year >= TZ_YEAR_MIN && lt.year <= TZ_YEAR_MAX &&
        tz_local_to_utc(zone, &lt, ms) == 0)
        return true;
    http_error(resp, 400, "invalid_argument",
               "expected an RFC 3339 date-time or YYYY-MM-DD[THH:MM] (local)", name);
    return false;
}

void api_h_reminders_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t from = clock_now_ms(), to = INT64_MAX;
    int limit = REMINDER_LIST_DEFAULT;
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].name, *v = req->params[i].value;
        if (strcmp(k, "from") == 0) {
            if (!time_param(v, ctx.timezone, "from", &from, resp))
                return;
        } else if (strcmp(k, "to") == 0) {
            if (!time_param(v, ctx.timezone, "to", &to, resp))
                return;
        } else if (strcmp(k, "limit") == 0) {
            char *end = NULL;
            long long x = strtoll(v, &end, 10);
            if (!*v || *end || x < 1 || x > REMINDER_LIST_MAX) {
                http_error(resp, 400, "invalid_argument", "limit must be 1-500", "limit");
                return;
            }
            limit = (int)x;
        } else {
            http_error(resp, 400, "invalid_argument", "unknown parameter", k);
            return;
        }
    }
    struct reminder *v = NULL;
    size_t n = 0;
    int rc = svc_reminder_list(app->svc, &ctx, from, to, limit, &v, &n);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    send_list(resp, v, n);
}

void api_h_reminder_get(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    struct reminder r;
    int rc = id ? svc_reminder_get(app->svc, &ctx, id, &r) : TOCK_ENOTFOUND;
    if (rc)
        api_fail(resp, rc, NULL);
    else
        api_json(resp, 200, api_reminder_json(&r));
}

void api_h_reminder_delete(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    int rc = id ? svc_reminder_delete(app->svc, &ctx, id) : TOCK_ENOTFOUND;
    if (rc)
        api_fail(resp, rc, NULL);
    else
        resp->status = 204;
}

void api_h_reminder_snooze(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"minutes", NULL};
    int64_t id = id_parse(req->path_params[0]);
    if (api_only_fields(b, fields, resp)) {
        json_t *m = json_object_get(b, "minutes");
        if (!json_is_integer(m)) {
            http_error(resp, 400, "invalid_argument", "minutes must be an integer", "minutes");
        } else {
            struct reminder r;
            struct tock_error e = {0};
            int rc = id ? svc_reminder_snooze(app->svc, &ctx, id, json_integer_value(m), &r, &e)
                        : TOCK_ENOTFOUND;
            if (rc)
                api_fail(resp, rc, &e);
            else
                api_json(resp, 200, api_reminder_json(&r));
        }
    }
    json_decref(b);
}
