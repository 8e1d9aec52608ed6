/*
 * h_audit.c — GET /api/v1/audit: the caller's audit entries, newest first, with
 * filters (type, task_id, from, to) and keyset paging. Parameters are validated
 * in core (audit_query_parse); bad ones are 400 with the field.
 */
#include <stdlib.h>

#include "api/api.h"

void api_h_audit_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    struct audit_query q;
    struct tock_error e = {0};
    int rc = audit_query_parse(&q, req->params, req->nparams, ctx.timezone, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        return;
    }
    struct audit_row *v = NULL;
    size_t n = 0;
    char *next = NULL;
    if ((rc = svc_audit_list(app->svc, &ctx, &q, &v, &n, &next))) {
        api_fail(resp, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_loads(v[i].payload, 0, NULL);
        json_array_append_new(
            items, json_pack("{s:o, s:s, s:s, s:o, s:o, s:o}", "id", api_id(v[i].id), "event_id",
                             v[i].event_id, "type", v[i].type, "task_id",
                             v[i].task_id ? api_id(v[i].task_id) : json_null(), "time",
                             api_time(v[i].time), "event", ev ? ev : json_null()));
    }
    audit_rows_free(v, n);
    json_t *body = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                             next ? json_string(next) : json_null());
    free(next);
    api_json(resp, 200, body);
}
