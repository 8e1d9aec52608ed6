/*
 * h_notifications.c — /api/v1/notifications: the in-app inbox (list, mark read),
 * preferences (GET/PUT; the webhook secret is write-only), test messages and the
 * delivery log. JSON <-> service calls only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/reminder.h"

#define LIST_DEFAULT 50
#define LIST_MAX 200

static json_t *hhmm(int minutes)
{
    if (minutes < 0)
        return json_null();
    char b[16];
    snprintf(b, sizeof b, "%02d:%02d", (minutes / 60) % 24, minutes % 60);
    return json_string(b);
}

static json_t *prefs_json(const struct notify_prefs *p)
{
    json_t *ch = json_array();
    static const unsigned bits[] = {CH_IN_APP, CH_EMAIL, CH_WEBHOOK};
    for (size_t i = 0; i < 3; i++)
        if (p->channels & bits[i])
            json_array_append_new(ch, json_string(notify_channel_name(bits[i])));
    return json_pack("{s:o, s:o, s:o, s:b, s:o, s:o, s:I, s:o}", "channels", ch, "email",
                     p->email[0] ? json_string(p->email) : json_null(), "webhook_url",
                     p->webhook_url[0] ? json_string(p->webhook_url) : json_null(),
                     "webhook_secret_set", p->webhook_secret[0] != 0, "quiet_start",
                     hhmm(p->quiet_start), "quiet_end", hhmm(p->quiet_end), "digest_seconds",
                     (json_int_t)p->digest_seconds, "updated_at", api_time(p->updated_at));
}

void api_h_notify_prefs_get(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    struct notify_prefs p;
    int rc = svc_notify_prefs_get(app->svc, &ctx, &p);
    if (rc)
        api_fail(resp, rc, NULL);
    else
        api_json(resp, 200, prefs_json(&p));
}

/* A nullable string member into a fixed buffer: absent keeps, null clears. */
static bool str_member(json_t *b, const char *key, char *out, size_t cap,
                       struct http_resp *resp)
{
    const char *s;
    int r = api_str(b, key, true, &s, resp);
    if (r < 0)
        return false;
    if (r == 2)
        out[0] = 0;
    if (r == 1) {
        if (strlen(s) >= cap) {
            http_error(resp, 400, "invalid_argument", "too long", key);
            return false;
        }
        snprintf(out, cap, "%s", s);
    }
    return true;
}

static bool time_member(json_t *b, const char *key, int *out, struct http_resp *resp)
{
    const char *s;
    int r = api_str(b, key, true, &s, resp);
    if (r < 0)
        return false;
    if (r == 2)
        *out = -1;
    if (r == 1 && (*out = reminder_hhmm_parse(s)) < 0) {
        http_error(resp, 400, "invalid_argument", "expected HH:MM (24-hour) or null", key);
        return false;
    }
    return true;
}

void api_h_notify_prefs_put(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"channels",    "email",     "webhook_url",
                                         "webhook_secret", "quiet_start", "quiet_end",
                                         "digest_seconds", "webhook_secret_set", "updated_at",
                                         NULL};
    struct notify_prefs p;
    int rc = 0;
    if (!api_only_fields(b, fields, resp))
        goto out;
    if ((rc = svc_notify_prefs_get(app->svc, &ctx, &p))) {
        api_fail(resp, rc, NULL);
        goto out;
    }
    json_t *ch = json_object_get(b, "channels");
    if (ch) {
        if (!json_is_array(ch)) {
            http_error(resp, 400, "invalid_argument", "channels must be an array", "channels");
            goto out;
        }
        p.channels = 0;
        size_t i;
        json_t *v;
        json_array_foreach(ch, i, v)
        {
            unsigned bit = json_is_string(v) ? notify_channel_parse(json_string_value(v)) : 0;
            if (!bit) {
                http_error(resp, 400, "invalid_argument",
                           "channels are in_app, email and webhook", "channels");
                goto out;
            }
            p.channels |= bit;
        }
    }
    if (!str_member(b, "email", p.email, sizeof p.email, resp) ||
        !str_member(b, "webhook_url", p.webhook_url, sizeof p.webhook_url, resp) ||
        !str_member(b, "webhook_secret", p.webhook_secret, sizeof p.webhook_secret, resp) ||
        !time_member(b, "quiet_start", &p.quiet_start, resp) ||
        !time_member(b, "quiet_end", &p.quiet_end, resp))
        goto out;
    json_t *dg = json_object_get(b, "digest_seconds");
    if (dg) {
        if (!json_is_integer(dg)) {
            http_error(resp, 400, "invalid_argument", "digest_seconds must be an integer",
                       "digest_seconds");
            goto out;
        }
        p.digest_seconds = json_integer_value(dg);
    }
    struct tock_error e = {0};
    if ((rc = svc_notify_prefs_put(app->svc, &ctx, &p, &e)))
        api_fail(resp, rc, &e);
    else
        api_json(resp, 200, prefs_json(&p));
out:
    json_decref(b);
}

static bool list_params(struct http_req *req, struct http_resp *resp, bool *unread,
                        int64_t *before, int *limit)
{
    *limit = LIST_DEFAULT;
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].name, *v = req->params[i].value;
        if (unread && strcmp(k, "unread") == 0) {
            if (strcmp(v, "true") && strcmp(v, "false")) {
                http_error(resp, 400, "invalid_argument", "unread must be true or false", k);
                return false;
            }
            *unread = strcmp(v, "true") == 0;
        } else if (strcmp(k, "cursor") == 0) {
            if (!(*before = id_parse(v))) {
                http_error(resp, 400, "invalid_argument", "bad cursor", k);
                return false;
            }
        } else if (strcmp(k, "limit") == 0) {
            char *end = NULL;
            long long x = strtoll(v, &end, 10);
            if (!*v || *end || x < 1 || x > LIST_MAX) {
                http_error(resp, 400, "invalid_argument", "limit must be 1-200", k);
                return false;
            }
            *limit = (int)x;
        } else {
            http_error(resp, 400, "invalid_argument", "unknown parameter", k);
            return false;
        }
    }
    return true;
}

static int notification_append(struct buf *b, const struct notification *n)
{
    int rc = buf_puts(b, "{");
    rc |= notification_write_members(b, n);
    rc |= buf_puts(b, "}");
    return rc;
}

void api_h_notifications_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    bool unread = false;
    int64_t before = 0;
    int limit;
    if (!list_params(req, resp, &unread, &before, &limit))
        return;
    struct notification *v = NULL;
    size_t n = 0;
    int rc = svc_notifications_list(app->svc, &ctx, unread, before, limit, &v, &n);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    bool more = n > (size_t)limit;
    if (more)
        n = (size_t)limit;
    struct buf *b = &resp->body;
    buf_reset(b);
    int wrc = buf_puts(b, "{\"items\":[");
    for (size_t i = 0; !wrc && i < n; i++) {
        if (i)
            wrc |= buf_puts(b, ",");
        wrc |= notification_append(b, &v[i]);
    }
    if (more)
        wrc |= buf_printf(b, "],\"next_cursor\":\"%lld\"}", (long long)v[n - 1].id);
    else
        wrc |= buf_puts(b, "],\"next_cursor\":null}");
    notifications_free(v, more ? n + 1 : n);
    if (wrc)
        api_fail(resp, TOCK_ENOMEM, NULL);
    else
        resp->status = 200;
}

void api_h_notification_read(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    struct notification n;
    int rc = id ? svc_notification_read(app->svc, &ctx, id, &n) : TOCK_ENOTFOUND;
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    buf_reset(&resp->body);
    if (notification_append(&resp->body, &n))
        api_fail(resp, TOCK_ENOMEM, NULL);
    else
        resp->status = 200;
    notification_release(&n);
}

void api_h_notifications_read_all(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int rc = svc_notification_read(app->svc, &ctx, 0, NULL);
    if (rc)
        api_fail(resp, rc, NULL);
    else
        resp->status = 204;
}

static json_t *delivery_json(const struct delivery *d)
{
    json_t *log = json_loads(d->log ? d->log : "[]", 0, NULL);
    return json_pack("{s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", api_id(d->id), "delivery_id", d->uuid, "channel", d->channel, "kind",
                     d->kind, "state", delivery_state_name(d->state), "reminder_id",
                     d->reminder_id ? api_id(d->reminder_id) : json_null(), "task_id",
                     d->task_id ? api_id(d->task_id) : json_null(), "attempts",
                     (json_int_t)d->attempts, "send_at", api_time(d->send_at), "sent_at",
                     api_time(d->sent_at), "group_id",
                     d->group_id ? api_id(d->group_id) : json_null(), "last_error",
                     d->last_error ? json_string(d->last_error) : json_null(), "attempt_log",
                     log ? log : json_array(), "created_at", api_time(d->created_at));
}

void api_h_deliveries_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t before = 0;
    int limit;
    if (!list_params(req, resp, NULL, &before, &limit))
        return;
    struct delivery *v = NULL;
    size_t n = 0;
    int rc = svc_deliveries_list(app->svc, &ctx, before, limit, &v, &n);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    bool more = n > (size_t)limit;
    size_t shown = more ? (size_t)limit : n;
    json_t *items = json_array();
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, delivery_json(&v[i]));
    char cur[24];
    if (more)
        snprintf(cur, sizeof cur, "%lld", (long long)v[shown - 1].id);
    deliveries_free(v, n);
    api_json(resp, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
                                  more ? json_string(cur) : json_null()));
}

void api_h_notify_test(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    if (req->body_len) {
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
    struct delivery *v = NULL;
    size_t n = 0;
    struct tock_error e = {0};
    int rc = svc_notify_test(app->svc, &ctx, &v, &n, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, delivery_json(&v[i]));
    deliveries_free(v, n);
    api_json(resp, 202, json_pack("{s:o}", "deliveries", items));
}
