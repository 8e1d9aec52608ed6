/* h_tags.c — /api/v1/tags: list (autocomplete), create, rename/merge, recolor, delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static json_t *tag_json(const struct tag *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", api_id(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "color", t->color[0] ? json_string(t->color) : json_null());
    json_object_set_new(o, "task_count", json_integer(t->task_count));
    return o;
}

void api_h_tags_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    const char *prefix = NULL;
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, "prefix") == 0 && !prefix) {
            prefix = req->params[i].value;
        } else {
            http_error(resp, 400, "invalid_argument", "unknown or repeated query parameter",
                       req->params[i].name);
            return;
        }
    }
    struct tag *v = NULL;
    size_t n = 0;
    struct tock_error e = {0};
    int rc = svc_tag_list(app->svc, &ctx, prefix, &v, &n, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, tag_json(&v[i]));
    free(v);
    api_json(resp, 200, json_pack("{s:o}", "items", items));
}

/* color: absent -> *out NULL, null -> "", string -> it. */
static bool color_arg(json_t *b, const char **out, struct http_resp *resp)
{
    int r = api_str(b, "color", true, out, resp);
    if (r < 0)
        return false;
    if (r == 1 && !**out) {
        http_error(resp, 400, "invalid_argument", "color must be #rrggbb or null", "color");
        return false;
    }
    if (r == 2)
        *out = "";
    else if (r == 0)
        *out = NULL;
    return true;
}

void api_h_tags_create(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"name", "color", NULL};
    const char *name = NULL, *color = NULL;
    struct tock_error e = {0};
    if (api_only_fields(b, fields, resp) && api_str(b, "name", false, &name, resp) >= 0 &&
        color_arg(b, &color, resp)) {
        if (!name) {
            http_error(resp, 400, "invalid_argument", "name is required", "name");
        } else {
            struct tag t;
            bool created = false;
            int rc = svc_tag_create(app->svc, &ctx, name, color && *color ? color : NULL, &t,
                                    &created, &e);
            if (rc)
                api_fail(resp, rc, &e);
            else
                api_json(resp, created ? 201 : 200, tag_json(&t));
        }
    }
    json_decref(b);
}

void api_h_tag_patch(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    if (!id) {
        api_fail(resp, TOCK_ENOTFOUND, NULL);
        return;
    }
    json_t *b = api_body(req, resp);
    if (!b)
        return;
    static const char *const fields[] = {"name", "color", "id", "task_count", NULL};
    const char *name = NULL, *color = NULL;
    struct tock_error e = {0};
    if (api_only_fields(b, fields, resp) && api_str(b, "name", false, &name, resp) >= 0 &&
        color_arg(b, &color, resp)) {
        struct tag t;
        int rc = svc_tag_update(app->svc, &ctx, id, name, color, &t, &e);
        if (rc)
            api_fail(resp, rc, &e);
        else
            api_json(resp, 200, tag_json(&t));
    }
    json_decref(b);
}

void api_h_tag_delete(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    int rc = id ? svc_tag_delete(app->svc, &ctx, id) : TOCK_ENOTFOUND;
    if (rc)
        api_fail(resp, rc, NULL);
    else
        resp->status = 204;
}
