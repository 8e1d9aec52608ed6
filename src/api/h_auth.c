/* h_auth.c — accounts, sessions and API tokens: the /api/v1/auth routes and /api/v1/me. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static void session_json(struct http_resp *resp, int status, const struct user *u, char *token,
                         int64_t expires_at)
{
    json_t *o = json_object();
    json_object_set_new(o, "user", api_user_json(u));
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "expires_at", api_time(expires_at));
    free(token);
    api_json(resp, status, o);
}

void api_h_register(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    json_t *b = api_body(req, resp);
    if (!b)
        return;
    static const char *const fields[] = {"email", "password", "display_name", "timezone", NULL};
    struct register_input in = {0};
    struct tock_error e = {0};
    if (!api_only_fields(b, fields, resp) || api_str(b, "email", false, &in.email, resp) < 0 ||
        api_str(b, "password", false, &in.password, resp) < 0 ||
        api_str(b, "display_name", true, &in.display_name, resp) < 0 ||
        api_str(b, "timezone", true, &in.timezone, resp) < 0)
        goto out;
    if (!in.email) {
        http_error(resp, 400, "invalid_argument", "email is required", "email");
        goto out;
    }
    if (!in.password) {
        http_error(resp, 400, "invalid_argument", "password is required", "password");
        goto out;
    }
    struct user u;
    char *token = NULL;
    int64_t exp;
    int rc = svc_register(app->svc, &in, &u, &token, &exp, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        goto out;
    }
    req->user_id = u.id;
    session_json(resp, 201, &u, token, exp);
out:
    json_decref(b);
}

void api_h_login(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    json_t *b = api_body(req, resp);
    if (!b)
        return;
    static const char *const fields[] = {"email", "password", NULL};
    const char *email = NULL, *password = NULL;
    struct tock_error e = {0};
    if (!api_only_fields(b, fields, resp) || api_str(b, "email", false, &email, resp) < 0 ||
        api_str(b, "password", false, &password, resp) < 0)
        goto out;
    if (!email || !password) {
        http_error(resp, 400, "invalid_argument", "email and password are required",
                   email ? "password" : "email");
        goto out;
    }
    struct user u;
    char *token = NULL;
    int64_t exp;
    int retry = 0;
    int rc = svc_login(app->svc, email, password, &u, &token, &exp, &retry, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        if (rc == TOCK_ELIMIT) {
            char v[16];
            snprintf(v, sizeof v, "%d", retry);
            http_set_header(resp, "Retry-After", v);
        }
        goto out;
    }
    req->user_id = u.id;
    session_json(resp, 200, &u, token, exp);
out:
    json_decref(b);
}

void api_h_me_get(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    struct user u;
    int rc = svc_me_get(app->svc, &ctx, &u);
    if (rc)
        api_fail(resp, rc, NULL);
    else
        api_json(resp, 200, api_user_json(&u));
}

void api_h_me_patch(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"display_name", "timezone", "id", "email",
                                         "created_at", NULL};
    const char *dn = NULL, *tz = NULL;
    struct tock_error e = {0};
    int r1, r2;
    if (!api_only_fields(b, fields, resp) ||
        (r1 = api_str(b, "display_name", true, &dn, resp)) < 0 ||
        (r2 = api_str(b, "timezone", false, &tz, resp)) < 0)
        goto out;
    if (r1 == 2)
        dn = "";
    struct user u;
    int rc = svc_me_update(app->svc, &ctx, dn, tz, &u, &e);
    if (rc)
        api_fail(resp, rc, &e);
    else
        api_json(resp, 200, api_user_json(&u));
out:
    json_decref(b);
}

static json_t *token_json(const struct api_token *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", api_id(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "created_at", api_time(t->created_at));
    json_object_set_new(o, "last_used_at", api_time(t->last_used_at));
    return o;
}

void api_h_tokens_create(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    json_t *b = api_auth_body(app, req, resp, &ctx);
    if (!b)
        return;
    static const char *const fields[] = {"name", NULL};
    const char *name = NULL;
    struct tock_error e = {0};
    if (!api_only_fields(b, fields, resp) || api_str(b, "name", false, &name, resp) < 0)
        goto out;
    if (!name) {
        http_error(resp, 400, "invalid_argument", "name is required", "name");
        goto out;
    }
    struct api_token t;
    char *secret = NULL;
    int rc = svc_token_create(app->svc, &ctx, name, &t, &secret, &e);
    if (rc) {
        api_fail(resp, rc, &e);
        goto out;
    }
    json_t *o = token_json(&t);
    json_object_set_new(o, "token", json_string(secret));
    free(secret);
    api_json(resp, 201, o);
out:
    json_decref(b);
}

void api_h_tokens_list(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    struct api_token *v = NULL;
    size_t n = 0;
    int rc = svc_token_list(app->svc, &ctx, &v, &n);
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, token_json(&v[i]));
    free(v);
    api_json(resp, 200, json_pack("{s:o}", "items", items));
}

void api_h_tokens_delete(struct http_req *req, struct http_resp *resp, void *a)
{
    struct api_app *app = a;
    struct svc_ctx ctx;
    if (!api_auth(app, req, resp, &ctx))
        return;
    int64_t id = id_parse(req->path_params[0]);
    int rc = id ? svc_token_delete(app->svc, &ctx, id) : TOCK_ENOTFOUND;
    if (rc)
        api_fail(resp, rc, NULL);
    else
        resp->status = 204;
}
