/*
 * h_tasks.c — /api/v1/tasks: JSON <-> task_input, list query parameters ->
 * task_filter (parsed by core), and the task/list/history responses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/recur.h"
#include "obs/clock.h"

/* Fields a client may send back unchanged from a GET; they are ignored. */
static const char *const task_fields[] = {
    "title",      "description", "status",     "priority",   "tags",       "due",
    "timezone",   "recurrence",  "id",         "due_at",     "overdue",    "series_id",
    "occurrence", "created_at",  "updated_at", "completed_at", "version",
    "reminders", /* ---- reminders ---- */
    NULL};

/*
 * Reads the task members of body into in. tags_buf receives the borrowed tag
 * strings (caller frees the array); rrule_buf the recurrence rule in->rrule points
 * to. On error fills resp and returns false.
 */
static bool parse_task_input(json_t *b, struct task_input *in, const char ***tags_buf,
                             char rrule_buf[RRULE_MAX + 1], struct http_resp *resp)
{
    memset(in, 0, sizeof *in);
    *tags_buf = NULL;
    if (!api_only_fields(b, task_fields, resp))
        return false;
    const char *s;
    int r;
    if ((r = api_str(b, "title", false, &in->title, resp)) < 0)
        return false;
    if (r)
        in->set |= TI_TITLE;
    if ((r = api_str(b, "description", true, &in->description, resp)) < 0)
        return false;
    if (r)
        in->set |= TI_DESC;
    if ((r = api_str(b, "status", false, &s, resp)) < 0)
        return false;
    if (r) {
        if ((in->status = task_status_parse(s)) < 0) {
            http_error(resp, 400, "invalid_argument",
                       "status must be todo, in_progress or done", "status");
            return false;
        }
        in->set |= TI_STATUS;
    }
    if ((r = api_str(b, "priority", false, &s, resp)) < 0)
        return false;
    if (r) {
        if ((in->priority = task_priority_parse(s)) < 0) {
            http_error(resp, 400, "invalid_argument",
                       "priority must be none, low, medium, high or urgent", "priority");
            return false;
        }
        in->set |= TI_PRIORITY;
    }
    json_t *tags = json_object_get(b, "tags");
    if (tags && !json_is_null(tags)) {
        if (!json_is_array(tags)) {
            http_error(resp, 400, "invalid_argument", "tags must be an array of strings", "tags");
            return false;
        }
        size_t n = json_array_size(tags);
        if (n > TASK_TAGS_MAX) {
            http_error(resp, 400, "invalid_argument", "at most 50 tags per task", "tags");
            return false;
        }
        *tags_buf = calloc(n ? n : 1, sizeof **tags_buf);
        if (!*tags_buf) {
            api_fail(resp, TOCK_ENOMEM, NULL);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_array_get(tags, i);
            if (!json_is_string(t)) {
                char field[32];
                snprintf(field, sizeof field, "tags[%zu]", i);
                http_error(resp, 400, "invalid_argument", "tags must be strings", field);
                return false;
            }
            (*tags_buf)[i] = json_string_value(t);
        }
        in->tags = *tags_buf;
        in->ntags = n;
        in->set |= TI_TAGS;
    } else if (tags) {
        in->set |= TI_TAGS; /* null clears */
    }
    if ((r = api_str(b, "due", true, &in->due, resp)) < 0)
        return false;
    if (r)
        in->set |= TI_DUE;
    if ((r = api_str(b, "timezone", false, &in->timezone, resp)) < 0)
        return false;
    if (r)
        in->set |= TI_TZ;
    json_t *rec = json_object_get(b, "recurrence");
    if (rec) {
        in->set |= TI_RECUR;
        if (!json_is_null(rec)) {
            /* Both forms ({rrule} and the friendly one) become one RRULE in core. */
            struct tock_error e = {0};
            if (recur_parse_json(rec, rrule_buf, RRULE_MAX + 1, &in->recur_from, &e)) {
                api_fail(resp, TOCK_EINVAL, &e);
                return false;
            }
            in->rrule = rrule_buf;
        }
    }
    return true;
}

/* ---- reminders: a task's "reminders": [...] replaces its reminders ---- */
static bool parse_reminders(json_t *b, struct task_input *in, struct reminder_input **rem,
                            struct http_resp *resp)
{
    json_t *arr = json_object_get(b, "reminders");
    if (!arr)
        return true;
    if (!api_reminders_parse(arr, rem, &in->nreminders, resp))
        return false;
    in->reminders = *rem;
    in->reminders_set = true;
    return true;
}

static void send_task(struct http_resp *resp, int status, const struct task *t)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)t->version);
    http_set_header(resp, "ETag", etag);
    resp->status = status;
    buf_reset(&resp->body);
    if (task_write_json(&resp->body, t, clock_now_ms()))
        api_fail(resp, TOCK_ENOMEM, NULL);
}

void api_h_tasks_create(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    struct task_input in;
    const char **tags = NULL;
    struct reminder_input *rem = NULL; /* ---- reminders ---- */
    struct tock_error e = {0};
    struct api_quick_add *qa = NULL; /* ---- quick add: {"text": ...} (h_parse.c) ---- */
    if (!api_quick_add_begin(b, &ctx, &qa, resp)) {
        json_decref(b);
        return;
    }
    char rrule[RRULE_MAX + 1];
    if (parse_task_input(b, &in, &tags, rrule, resp) && parse_reminders(b, &in, &rem, resp)) {
        if (qa)
            api_quick_add_fill(qa, &in);
        struct task t;
        int rc = svc_task_create(app->svc, &ctx, &in, &t, &e);
        if (rc) {
            api_fail(resp, rc, &e);
        } else {
            char loc[64];
            snprintf(loc, sizeof loc, "/api/v1/tasks/%lld", (long long)t.id);
            http_set_header(resp, "Location", loc);
            send_task(resp, 201, &t);
            if (qa)
                api_quick_add_respond(qa, resp);
            task_release(&t);
        }
    }
    api_quick_add_free(qa);
    free(tags);
    free(rem);
    json_decref(b);
}

void api_h_task_get(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    struct task t;
    int rc = id ? svc_task_get(app->svc, &ctx, id, &t) : TOCK_ENOTFOUND;
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    send_task(resp, 200, &t);
    task_release(&t);
}

void api_h_task_patch(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    int64_t if_match;
    if (!api_auth(app, req, resp, &ctx) || !api_if_match(req, resp, &if_match))
        return;
    int64_t id = id_parse(req->path_params[0]);
    if (!id) {
        api_fail(resp, TOCK_ENOTFOUND, NULL);
        return;
    }
    json_t *b = api_body(req, resp);
    if (!b)
        return;
    struct task_input in;
    const char **tags = NULL;
    struct reminder_input *rem = NULL; /* ---- reminders ---- */
    struct tock_error e = {0};
    char rrule[RRULE_MAX + 1];
    if (parse_task_input(b, &in, &tags, rrule, resp) && parse_reminders(b, &in, &rem, resp)) {
        struct task t;
        int rc = svc_task_update(app->svc, &ctx, id, if_match, &in, &t, &e);
        if (rc) {
            api_fail(resp, rc, &e);
        } else {
            send_task(resp, 200, &t);
            task_release(&t);
        }
    }
    free(tags);
    free(rem);
    json_decref(b);
}

void api_h_task_delete(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    int64_t if_match;
    if (!api_auth(app, req, resp, &ctx) || !api_if_match(req, resp, &if_match))
        return;
    /* ---- recurrence: ?scope=occurrence (default) | series ---- */
    bool series = false;
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, "scope") != 0)
            continue;
        if (strcmp(req->params[i].value, "series") == 0) {
            series = true;
        } else if (strcmp(req->params[i].value, "occurrence") != 0) {
            http_error(resp, 400, "invalid_argument", "scope must be occurrence or series",
                       "scope");
            return;
        }
    }
    int64_t id = id_parse(req->path_params[0]);
    int rc = !id     ? TOCK_ENOTFOUND
             : series ? svc_task_delete_series(app->svc, &ctx, id, if_match)
                      : svc_task_delete(app->svc, &ctx, id, if_match);
    if (rc)
        api_fail(resp, rc, NULL);
    else
        resp->status = 204;
}

static void complete_or_reopen(struct http_req *req, struct http_resp *resp, void *a,
                               bool complete)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    int64_t if_match;
    if (!api_auth(app, req, resp, &ctx) || !api_if_match(req, resp, &if_match))
        return;
    if (req->body_len) {
        /* No body is needed; tolerate an empty object, reject anything else. */
        json_t *b = api_body(req, resp);
        if (!b)
            return;
        size_t n = json_object_size(b);
        json_decref(b);
        if (n) {
            http_error(resp, 400, "invalid_argument", "this endpoint takes no body", NULL);
            return;
        }
    }
    int64_t id = id_parse(req->path_params[0]);
    struct task t;
    int rc = !id ? TOCK_ENOTFOUND
             : complete ? svc_task_complete(app->svc, &ctx, id, if_match, &t)
                        : svc_task_reopen(app->svc, &ctx, id, if_match, &t);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    send_task(resp, 200, &t);
    task_release(&t);
}

void api_h_task_complete(struct http_req *req, struct http_resp *resp, void *a)
{
    complete_or_reopen(req, resp, a, true);
}

void api_h_task_reopen(struct http_req *req, struct http_resp *resp, void *a)
{
    complete_or_reopen(req, resp, a, false);
}

void api_h_tasks_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    struct task_filter f;
    struct tock_error e = {0};
    int64_t now = clock_now_ms();
    int rc = filter_parse(&f, req->params, req->nparams, ctx.timezone, now, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        filter_release(&f);
        return;
    }
    struct task *v = NULL;
    size_t n = 0;
    char *next = NULL;
    rc = svc_task_list(app->svc, &ctx, &f, &v, &n, &next);
    filter_release(&f);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    /* Written directly: the list is the API's hottest and largest response. */
    struct buf *b = &resp->body;
    buf_reset(b);
    int wrc = buf_puts(b, "{\"items\":[");
    for (size_t i = 0; !wrc && i < n; i++) {
        if (i)
            buf_append(b, ",", 1);
        wrc = task_write_json(b, &v[i], now);
    }
    svc_tasks_free(v, n);
    if (!wrc)
        wrc = buf_puts(b, "],\"next_cursor\":");
    if (!wrc)
        wrc = next ? buf_json_str(b, next) : buf_puts(b, "null");
    if (!wrc)
        wrc = buf_puts(b, "}");
    free(next);
    if (wrc)
        api_fail(resp, TOCK_ENOMEM, NULL);
    else
        resp->status = 200;
}

void api_h_task_history(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    struct outbox_row *rows = NULL;
    size_t n = 0;
    int rc = id ? svc_task_history(app->svc, &ctx, id, &rows, &n) : TOCK_ENOTFOUND;
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_loads(rows[i].event_json, 0, NULL);
        if (ev)
            json_array_append_new(items, ev);
    }
    outbox_rows_free(rows, n);
    api_json(resp, 200, json_pack("{s:o}", "items", items));
}
