/* h_ops.c — /healthz, /readyz, /metrics and the service index at /. */
#include <stdio.h>

#include "api/api.h"
#include "roles/sync.h"
#include "obs/metrics.h"

void api_h_healthz(struct http_req *req, struct http_resp *resp, void *a)
{
    (void)req;
    (void)a;
    api_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void api_h_readyz(struct http_req *req, struct http_resp *resp, void *a)
{
    (void)req;
    struct api_app *app = a;
    bool stopping = atomic_load(&app->shutting_down);
    int db = svc_ready(app->svc);
    bool ok = !stopping && db == 0;
    json_t *checks = json_pack("{s:s,s:s}", "db", db == 0 ? "ok" : tock_strerror(db),
                               "shutdown", stopping ? "in progress" : "no");
    if (app->bus && app->bus_ops && app->bus_ops->health) {
        int bus = app->bus_ops->health(app->bus);
        if (bus_is_dapr(app->bus_ops)) {
            /* Dapr: the pod's own sidecar must answer /v1.0/healthz with 204. */
            ok = ok && bus == 0;
            json_object_set_new(checks, "bus",
                                json_string(bus == 0 ? "ok" : "sidecar not healthy"));
        } else {
            /*
             * A remote broker being down is reported but does not make the process
             * unready: every replica would drop out at once, while the outbox is
             * there precisely to keep the API writing through a broker outage.
             */
            json_object_set_new(checks, "bus", json_string(bus == 0 ? "ok" : "unreachable"));
        }
    }
    json_t *roles = json_object();
    for (size_t i = 0; i < app->nroles; i++) {
        const struct api_role *r = &app->roles[i];
        const char *detail = NULL;
        int st = r->status ? r->status(r->arg, &detail) : API_ROLE_READY;
        if (stopping)
            st = API_ROLE_NOT_READY, detail = "shutting down";
        ok = ok && st != API_ROLE_NOT_READY;
        const char *word = st == API_ROLE_READY      ? "ready"
                           : st == API_ROLE_DEGRADED ? "degraded"
                                                     : "not ready";
        json_object_set_new(roles, r->name,
                            detail ? json_pack("{s:s,s:s}", "status", word, "detail", detail)
                                   : json_pack("{s:s}", "status", word));
    }
    api_json(resp, ok ? 200 : 503,
             json_pack("{s:s,s:o,s:o}", "status", ok ? "ready" : "not ready", "checks", checks,
                       "roles", roles));
}

void api_h_metrics(struct http_req *req, struct http_resp *resp, void *a)
{
    (void)req;
    struct api_app *app = a;
    buf_reset(&resp->body);
    metrics_render(&resp->body);
    int64_t depth = 0, age = 0;
    if (svc_outbox_stats(app->svc, &depth, &age) == 0) {
        metrics_render_gauge(&resp->body, "tock_outbox_depth",
                             "Outbox events not yet published to the bus.", (double)depth);
        metrics_render_gauge(&resp->body, "tock_outbox_oldest_age_seconds",
                             "Age of the oldest unpublished outbox event.", (double)age / 1000.0);
    }
    if (app->sync) /* ---- sync ---- */
        metrics_render_gauge(&resp->body, "tock_ws_connections",
                             "WebSockets open (or opening) on this process.",
                             (double)sync_conn_count(app->sync));
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void api_h_root(struct http_req *req, struct http_resp *resp, void *a)
{
    (void)req;
    struct api_app *app = a;
    api_json(resp, 200,
             json_pack("{s:s,s:s,s:s}", "name", "tock", "version", app->version, "api",
                       "/api/v1"));
}
