/*
 * tools_remote.c — tools forwarded to a running server's REST API (libcurl).
 * One table maps each tool to its endpoint; arguments become the JSON body or
 * the query string the REST API takes, `expected_version` becomes If-Match, and
 * REST error bodies become tool errors with the same code, field and message.
 */
#include "chat/tools_remote.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define REMOTE_RESPONSE_MAX (16u << 20)

struct tool_remote {
    CURL *curl;
    char base[512];
    char auth[4200]; /* "Authorization: Bearer ..." */
};

enum body_kind { BODY_NONE, BODY_ARGS, BODY_QUERY, BODY_STOP_RECURRENCE };

struct route {
    const char *tool, *method, *path; /* path: "{id}" is the id argument */
    enum body_kind body;
    const char *done; /* 204: answer {"id": <id>, <done>: true}; NULL: the JSON answer */
    const char *id_arg;   /* the argument "{id}" stands for (NULL: "id") */
    const char *when_arg; /* the route applies only when this argument is given */
};

static const struct route routes[] = {
    {"add_task", "POST", "/api/v1/tasks", BODY_ARGS, NULL, NULL, NULL},
    {"get_task", "GET", "/api/v1/tasks/{id}", BODY_NONE, NULL, NULL, NULL},
    {"list_tasks", "GET", "/api/v1/tasks", BODY_QUERY, NULL, NULL, NULL},
    {"update_task", "PATCH", "/api/v1/tasks/{id}", BODY_ARGS, NULL, NULL, NULL},
    {"complete_task", "POST", "/api/v1/tasks/{id}/complete", BODY_NONE, NULL, NULL, NULL},
    {"reopen_task", "POST", "/api/v1/tasks/{id}/reopen", BODY_NONE, NULL, NULL, NULL},
    {"delete_task", "DELETE", "/api/v1/tasks/{id}", BODY_NONE, "deleted", NULL, NULL},
    {"list_tags", "GET", "/api/v1/tags", BODY_QUERY, NULL, NULL, NULL},
    {"stop_recurrence", "PATCH", "/api/v1/tasks/{id}", BODY_STOP_RECURRENCE, NULL, NULL, NULL},
    {"set_reminder", "POST", "/api/v1/tasks/{id}/reminders", BODY_ARGS, NULL, "task_id", NULL},
    {"cancel_reminder", "DELETE", "/api/v1/reminders/{id}", BODY_NONE, "cancelled",
     "reminder_id", NULL},
    {"list_reminders", "GET", "/api/v1/tasks/{id}/reminders", BODY_NONE, NULL, "task_id",
     "task_id"},
    {"list_reminders", "GET", "/api/v1/reminders", BODY_QUERY, NULL, NULL, NULL},
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) ? 0 : size * n;
}

/* One request; *status and body (JSON text) on success, else TOCK_EBUSY + e. */
static int request(struct tool_remote *r, const char *method, const char *url,
                   const char *if_match, const char *body, long *status, struct buf *resp,
                   struct tock_error *e)
{
    CURL *c = r->curl;
    curl_easy_reset(c);
    struct curl_slist *h = curl_slist_append(NULL, r->auth);
    char im[48];
    if (if_match) {
        snprintf(im, sizeof im, "If-Match: \"%s\"", if_match);
        h = curl_slist_append(h, im);
    }
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (cc != CURLE_OK)
        return tock_fail(e, TOCK_EBUSY, "", "cannot reach the tock server: %s",
                         curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

int tool_remote_open(const char *base_url, const char *token, struct tool_remote **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8)) {
        snprintf(err, errlen, "TOCK_URL must start with http:// or https://");
        return TOCK_EINVAL;
    }
    if (!token || !*token || strlen(token) > 4096 || strpbrk(token, "\r\n")) {
        snprintf(err, errlen, "TOCK_URL needs TOCK_TOKEN (an API token or JWT)");
        return TOCK_EAUTH;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        return TOCK_ENOMEM;
    }
    struct tool_remote *r = calloc(1, sizeof *r);
    if (!r || !(r->curl = curl_easy_init())) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return TOCK_ENOMEM;
    }
    size_t n = strlen(base_url);
    while (n && base_url[n - 1] == '/')
        n--;
    if (n >= sizeof r->base) {
        tool_remote_close(r);
        snprintf(err, errlen, "TOCK_URL is too long");
        return TOCK_EINVAL;
    }
    snprintf(r->base, sizeof r->base, "%.*s", (int)n, base_url);
    snprintf(r->auth, sizeof r->auth, "Authorization: Bearer %s", token);
    char url[600];
    snprintf(url, sizeof url, "%s/api/v1/me", r->base);
    struct buf b;
    buf_init(&b, REMOTE_RESPONSE_MAX);
    long status = 0;
    struct tock_error e = {0};
    int rc = request(r, "GET", url, NULL, NULL, &status, &b, &e);
    buf_free(&b);
    if (!rc && status != 200)
        rc = status == 401 ? TOCK_EAUTH : TOCK_EBUSY;
    if (rc) {
        if (rc == TOCK_EAUTH)
            snprintf(err, errlen, "TOCK_TOKEN is not valid on %s", r->base);
        else if (e.message[0])
            snprintf(err, errlen, "%s (%s)", e.message, r->base);
        else
            snprintf(err, errlen, "%s/api/v1/me answered HTTP %ld", r->base, status);
        tool_remote_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void tool_remote_close(struct tool_remote *r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    free(r);
}

/* Appends "&name=value" (escaped) to q. */
static int query_add(CURL *c, struct buf *q, const char *name, const char *value)
{
    char *v = curl_easy_escape(c, value, 0);
    if (!v)
        return TOCK_ENOMEM;
    int rc = buf_printf(q, "%c%s=%s", q->len ? '&' : '?', name, v);
    curl_free(v);
    return rc;
}

/* The list tools' arguments as the REST query string (arrays as the API takes them). */
static int build_query(CURL *c, json_t *args, struct buf *q)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(args, k, v)
    {
        if (json_is_array(v) && !strcmp(k, "tags")) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) rc |= query_add(c, q, "tag", json_string_value(x));
        } else if (json_is_array(v)) {
            struct buf joined;
            buf_init(&joined, 0);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) rc |= buf_printf(&joined, "%s%s", i ? "," : "",
                                                         json_string_value(x));
            rc |= query_add(c, q, k, joined.data);
            buf_free(&joined);
        } else if (json_is_boolean(v)) {
            rc |= query_add(c, q, k, json_is_true(v) ? "true" : "false");
        } else if (json_is_number(v)) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_number_value(v));
            rc |= query_add(c, q, k, num);
        } else if (json_is_string(v)) {
            rc |= query_add(c, q, k, json_string_value(v));
        }
    }
    return rc ? TOCK_ENOMEM : 0;
}

static int code_of(const char *code)
{
    static const struct {
        const char *name;
        int rc;
    } map[] = {{"invalid_argument", TOCK_EINVAL}, {"invalid_json", TOCK_EINVAL},
               {"not_found", TOCK_ENOTFOUND},     {"conflict", TOCK_ECONFLICT},
               {"precondition_failed", TOCK_ESTALE}, {"rate_limited", TOCK_ELIMIT},
               {"unavailable", TOCK_EBUSY},       {"unauthorized", TOCK_EAUTH}};
    for (size_t i = 0; code && i < sizeof map / sizeof *map; i++)
        if (!strcmp(map[i].name, code))
            return map[i].rc;
    return TOCK_EINTERNAL;
}

/* A REST error body as the tool error (REST field names mapped to the tool's). */
static int rest_error(long status, json_t *body, struct tock_error *e)
{
    json_t *err = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *field = json_string_value(json_object_get(err, "field"));
    int rc = code ? code_of(code) : (status == 404 ? TOCK_ENOTFOUND : TOCK_EINTERNAL);
    if (field && !strcmp(field, "tag"))
        field = "tags";
    return tock_fail(e, rc, field ? field : "", "%s", msg ? msg : "the server refused the call");
}

int tool_remote_call(struct tool_remote *r, const struct tool *t, json_t *args,
                     json_t **result, struct tock_error *e)
{
    const struct route *rt = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !rt; i++)
        if (!strcmp(routes[i].tool, t->name) &&
            (!routes[i].when_arg || json_object_get(args, routes[i].when_arg)))
            rt = &routes[i];
    if (!rt)
        return tock_fail(e, TOCK_EINVAL, "", "%s is not available through TOCK_URL", t->name);

    const char *id_arg = rt->id_arg ? rt->id_arg : "id";
    struct buf url, q;
    buf_init(&url, 0);
    buf_init(&q, 0);
    char *body = NULL, *id = NULL;
    char version[24], *if_match = NULL;
    int rc = 0;
    const char *brace = strstr(rt->path, "{id}");
    if (brace) {
        if (!(id = curl_easy_escape(r->curl, json_string_value(json_object_get(args, id_arg)),
                                    0)))
            rc = TOCK_ENOMEM;
        else
            rc = buf_printf(&url, "%s%.*s%s%s", r->base, (int)(brace - rt->path), rt->path, id,
                            brace + 4);
    } else {
        rc = buf_printf(&url, "%s%s", r->base, rt->path);
    }
    json_t *ev = json_object_get(args, "expected_version");
    if (ev) {
        snprintf(version, sizeof version, "%lld", (long long)json_number_value(ev));
        if_match = version;
    }
    if (!rc && rt->body == BODY_QUERY) {
        rc = build_query(r->curl, args, &q);
        if (!rc)
            rc = buf_append(&url, q.data, q.len);
    } else if (!rc && rt->body == BODY_ARGS) {
        json_t *copy = json_copy(args);
        json_object_del(copy, id_arg);
        json_object_del(copy, "expected_version");
        if (!strcmp(rt->method, "PATCH") && json_object_size(copy) == 0)
            rc = tock_fail(e, TOCK_EINVAL, "", "give at least one field to change");
        else
            rc = (body = json_dumps(copy, JSON_COMPACT)) ? 0 : TOCK_ENOMEM;
        json_decref(copy);
    } else if (!rc && rt->body == BODY_STOP_RECURRENCE) {
        rc = (body = strdup("{\"recurrence\":null}")) ? 0 : TOCK_ENOMEM;
    }
    struct buf resp;
    buf_init(&resp, REMOTE_RESPONSE_MAX);
    long status = 0;
    if (!rc)
        rc = request(r, rt->method, url.data, if_match, body, &status, &resp, e);
    json_t *j = NULL;
    if (!rc && resp.len) {
        j = json_loadb(resp.data, resp.len, 0, NULL);
        if (!j)
            rc = tock_fail(e, TOCK_EBUSY, "", "the tock server answered HTTP %ld without JSON",
                           status);
    }
    if (!rc && (status < 200 || status > 299)) {
        rc = rest_error(status, j, e);
    } else if (!rc && rt->done) {
        *result = json_pack("{s:O,s:b}", "id", json_object_get(args, id_arg), rt->done, 1);
    } else if (!rc) {
        *result = j;
        j = NULL;
    }
    json_decref(j);
    buf_free(&resp);
    buf_free(&url);
    buf_free(&q);
    free(body);
    curl_free(id);
    return rc;
}
