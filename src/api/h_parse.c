/*
 * h_parse.c — the quick-add language over HTTP: POST /api/v1/parse returns the
 * parse of one line (core/nl.h); POST /api/v1/tasks with {"text": ...} creates a
 * task from it (the hooks below, called from h_tasks.c). docs/assistant.md.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/reminder.h"
#include "core/nl.h"
#include "obs/clock.h"

/*
 * Validates text/timezone/now and parses. zone NULL = the caller's zone, now_s
 * NULL = the server clock. On a bad input fills resp and returns NULL.
 */
static struct nl_result *run_parse(json_t *b, const char *zone, const char *now_s,
                                   const struct svc_ctx *ctx, struct http_resp *resp)
{
    json_t *jt = json_object_get(b, "text");
    if (!jt) {
        http_error(resp, 400, "invalid_argument", "text is required", "text");
        return NULL;
    }
    if (!json_is_string(jt)) {
        http_error(resp, 400, "invalid_argument", "text must be a string", "text");
        return NULL;
    }
    const char *text = json_string_value(jt);
    size_t len = json_string_length(jt);
    if (len > NL_TEXT_MAX) {
        http_error(resp, 400, "invalid_argument", "text is longer than 1000 bytes", "text");
        return NULL;
    }
    if (strlen(text) != len) {
        http_error(resp, 400, "invalid_argument", "strings must not contain NUL", "text");
        return NULL;
    }
    if (!zone)
        zone = ctx->timezone;
    else if (!tz_valid(zone)) {
        http_error(resp, 400, "invalid_argument", "timezone must be an IANA zone name", "timezone");
        return NULL;
    }
    struct nl_options opt = {.zone = zone};
    if (now_s) {
        int64_t ms;
        if (time_parse_local(now_s, &opt.now) == 0 && opt.now.has_time) {
            /* a local wall time in zone */
        } else if (time_parse_rfc3339(now_s, &ms) == 0 &&
                   tz_utc_to_local(zone, ms, &opt.now) == 0) {
            opt.now.second = 0;
        } else {
            http_error(resp, 400, "invalid_argument",
                       "now must be YYYY-MM-DDTHH:MM (local) or an RFC 3339 instant", "now");
            return NULL;
        }
    } else if (tz_utc_to_local(zone, clock_now_ms(), &opt.now)) {
        api_fail(resp, TOCK_EINTERNAL, NULL);
        return NULL;
    }
    struct nl_result *r = malloc(sizeof *r);
    if (!r) {
        api_fail(resp, TOCK_ENOMEM, NULL);
        return NULL;
    }
    struct tock_error e = {0};
    int rc = nl_parse(text, len, &opt, r, &e);
    if (rc) {
        free(r);
        api_fail(resp, rc, &e);
        return NULL;
    }
    return r;
}

void api_h_parse(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"text", "timezone", "now", NULL};
    const char *zone = NULL, *now_s = NULL;
    if (api_only_fields(b, fields, resp) && api_str(b, "timezone", true, &zone, resp) >= 0 &&
        api_str(b, "now", true, &now_s, resp) >= 0) {
        struct nl_result *r = run_parse(b, zone, now_s, &ctx, resp);
        if (r) {
            const char *text = json_string_value(json_object_get(b, "text"));
            json_t *j = nl_result_json(r, text, strlen(text));
            if (j)
                api_json(resp, 200, j);
            else
                api_fail(resp, TOCK_ENOMEM, NULL);
            free(r);
        }
    }
    json_decref(b);
}

/* ---- quick add: POST /api/v1/tasks {"text": ...} ---- */

struct api_quick_add {
    struct nl_result r;
    json_t *parsed;
    char due[20];
    const char *tags[TASK_TAGS_MAX];
    struct reminder_input rem[NL_REMINDERS_MAX]; /* the parsed reminders, as task input */
    char rem_at[NL_REMINDERS_MAX][24];
};

bool api_quick_add_begin(json_t *b, const struct svc_ctx *ctx, struct api_quick_add **qa,
                         struct http_resp *resp)
{
    *qa = NULL;
    if (!json_object_get(b, "text"))
        return true;
    /* An explicit timezone is the zone of the parse too (if it is a valid one;
     * otherwise the task validation reports it). */
    json_t *jz = json_object_get(b, "timezone");
    const char *zone = NULL;
    if (json_is_string(jz) && tz_valid(json_string_value(jz)))
        zone = json_string_value(jz);
    struct nl_result *r = run_parse(b, zone, NULL, ctx, resp);
    if (!r)
        return false;
    const char *text = json_string_value(json_object_get(b, "text"));
    if (!r->title[0] && !json_object_get(b, "title")) {
        free(r);
        http_error(resp, 400, "invalid_argument", "text leaves no title once parsed", "text");
        return false;
    }
    struct api_quick_add *q = calloc(1, sizeof *q);
    if (!q) {
        free(r);
        api_fail(resp, TOCK_ENOMEM, NULL);
        return false;
    }
    q->r = *r;
    free(r);
    q->parsed = nl_result_json(&q->r, text, strlen(text));
    if (!q->parsed) {
        free(q);
        api_fail(resp, TOCK_ENOMEM, NULL);
        return false;
    }
    json_object_del(b, "text");
    *qa = q;
    return true;
}

void api_quick_add_fill(struct api_quick_add *qa, struct task_input *in)
{
    nl_to_task_input(&qa->r, in, qa->due, qa->tags);
    /* "remind me ..." in the text, unless the body gives "reminders" itself. */
    if (in->reminders_set || qa->r.nreminders == 0)
        return;
    for (size_t i = 0; i < qa->r.nreminders && i < NL_REMINDERS_MAX; i++) {
        const struct nl_reminder *nr = &qa->r.reminders[i];
        struct reminder_input *ri = &qa->rem[i];
        memset(ri, 0, sizeof *ri);
        if (nr->is_at) {
            snprintf(qa->rem_at[i], sizeof qa->rem_at[i], "%04d-%02d-%02dT%02d:%02d",
                     nr->at.year, nr->at.month, nr->at.day, nr->at.hour, nr->at.minute);
            ri->at = qa->rem_at[i];
        } else {
            ri->is_offset = true;
            ri->offset_minutes = nr->offset_minutes;
        }
    }
    in->reminders = qa->rem;
    in->nreminders = qa->r.nreminders;
    in->reminders_set = true;
}

void api_quick_add_respond(struct api_quick_add *qa, struct http_resp *resp)
{
    /* The task object gets one more member, "parsed": the parse that made it. */
    char *p = json_dumps(qa->parsed, JSON_COMPACT);
    if (!p)
        return;
    struct buf *body = &resp->body;
    if (body->len && body->data[body->len - 1] == '}') {
        body->data[--body->len] = 0;
        if (buf_puts(body, ",\"parsed\":") || buf_puts(body, p) || buf_puts(body, "}"))
            api_fail(resp, TOCK_ENOMEM, NULL);
    }
    free(p);
}

void api_quick_add_free(struct api_quick_add *qa)
{
    if (!qa)
        return;
    json_decref(qa->parsed);
    free(qa);
}
