/*
 * h_dapr.c — the endpoints the Dapr sidecar calls on the app (TOCK_BUS=dapr only;
 * with any other bus they answer 404 like an unknown path):
 *   GET  /dapr/subscribe          the programmatic subscriptions
 *   POST /events/{group}/{topic}  one delivery; 200 {"status":SUCCESS|RETRY|DROP},
 *                                 404 for a route no subscriber has
 * They carry no user: no bearer auth. When APP_API_TOKEN is set the sidecar sends
 * it as dapr-api-token and anything else gets 401. What the statuses mean is the
 * bus's business (bus_dapr_deliver); this file only speaks HTTP.
 */
#include <stdlib.h>

#include "api/api.h"
#include "core/err.h"

/* False (and resp filled) unless this is the Dapr bus and the caller is the sidecar. */
static bool dapr_guard(struct api_app *app, struct http_req *req, struct http_resp *resp)
{
    if (!app->bus || !app->bus_ops || !bus_is_dapr(app->bus_ops)) {
        http_error(resp, 404, "not_found", "not found", NULL);
        return false;
    }
    if (!bus_dapr_app_token_ok(app->bus, http_header(req, "dapr-api-token"))) {
        http_error(resp, 401, "unauthorized", "missing or wrong dapr-api-token", NULL);
        return false;
    }
    return true;
}

void api_h_dapr_subscribe(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    if (!dapr_guard(app, req, resp))
        return;
    char *json = NULL;
    if (bus_dapr_subscriptions_json(app->bus, &json)) {
        api_fail(resp, TOCK_ENOMEM, NULL);
        return;
    }
    buf_reset(&resp->body);
    if (buf_puts(&resp->body, json)) {
        free(json);
        api_fail(resp, TOCK_ENOMEM, NULL);
        return;
    }
    free(json);
    resp->status = 200;
}

void api_h_dapr_event(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    if (!dapr_guard(app, req, resp))
        return;
    const char *status = NULL;
    int rc = bus_dapr_deliver(app->bus, req->path_params[0], req->path_params[1], req->body,
                              req->body_len, &status);
    if (rc == TOCK_ENOTFOUND) {
        http_error(resp, 404, "not_found", "no subscription has this route", NULL);
        return;
    }
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    api_json(resp, 200, json_pack("{s:s}", "status", status));
}
