/*
 * server.c — libmicrohttpd glue: limits, request ids, body reading, routing,
 * access log and metrics. Runs MHD with an internal epoll thread pool, so handlers
 * may block on the database without stalling other connections.
 *
 * Request flow (MHD calls on_request several times per request):
 *   uri_logged()  -> allocates the request state, remembers the raw URI length
 *   1st call      -> header/URL/body-size limits; early errors are answered here
 *                    (MHD then closes the connection, which is what we want)
 *   upload calls  -> append to the body, capped while reading, never after
 *   last call     -> route, run the handler, queue the response, log, count
 *   completed()   -> frees the state
 * Normal responses are queued only after the body is complete, so keep-alive holds.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "obs/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "obs/trace.h"

#define ROUTE_UNMATCHED "unmatched"

struct http_server {
    struct MHD_Daemon *d;
    struct http_config cfg;
    const struct http_route *routes;
    size_t nroutes;
    void *app;
};

/* ---- WebSocket upgrade: what a 101 response hands the socket to ---- */
struct upgrade_box {
    http_upgrade_fn fn;
    http_upgrade_abort_fn abort_fn;
    void *arg;
    bool called;
};

struct req_state {
    int64_t start_ns;
    size_t uri_len;
    bool started;
    bool too_large;
    size_t discarded;
    struct buf body;
    struct upgrade_box *up; /* ---- WebSocket: set once a 101 is queued ---- */
};

void http_set_header(struct http_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders == HTTP_MAX_RESP_HEADERS)
        return;
    resp->hname[resp->nheaders] = name;
    snprintf(resp->hvalue[resp->nheaders], sizeof resp->hvalue[0], "%s", value);
    resp->nheaders++;
}

void http_error(struct http_resp *resp, int status, const char *code, const char *message,
                const char *field)
{
    resp->status = status;
    buf_reset(&resp->body);
    buf_puts(&resp->body, "{\"error\":{\"code\":");
    buf_json_str(&resp->body, code);
    buf_puts(&resp->body, ",\"message\":");
    buf_json_str(&resp->body, message);
    buf_puts(&resp->body, ",\"field\":");
    if (field && *field)
        buf_json_str(&resp->body, field);
    else
        buf_puts(&resp->body, "null");
    buf_puts(&resp->body, "}}");
    resp->content_type = "application/json";
}

const char *http_header(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, name);
}

static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct req_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->start_ns = clock_mono_ns();
    st->uri_len = uri ? strlen(uri) : 0;
    buf_init(&st->body, 0);
    return st;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req_state *st = *con_cls;
    if (st) {
        /*
         * MHD runs the upgrade handler right after the 101 is sent and calls this
         * only when the connection ends (for an upgraded one: after
         * http_upgrade_close), in the same thread: a handler not called by now
         * never will be.
         */
        if (st->up) {
            if (!st->up->called && st->up->abort_fn)
                st->up->abort_fn(st->up->arg);
            free(st->up);
        }
        buf_free(&st->body);
        free(st);
        *con_cls = NULL;
    }
}

struct hdr_sum {
    size_t bytes;
    size_t count;
};

static enum MHD_Result sum_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct hdr_sum *s = cls;
    s->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
    s->count++;
    return MHD_YES;
}

struct param_ctx {
    struct http_req *req;
    bool overflow;
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct param_ctx *p = cls;
    if (p->req->nparams == HTTP_MAX_PARAMS) {
        p->overflow = true;
        return MHD_NO;
    }
    p->req->params[p->req->nparams].name = key;
    p->req->params[p->req->nparams].value = value ? value : "";
    p->req->nparams++;
    return MHD_YES;
}

/* Matches path against pattern; fills path params. */
static bool match(const char *pattern, const char *path, struct http_req *req)
{
    const char *p = pattern, *q = path;
    size_t np = 0;
    while (*p && *q) {
        if (*p != '/' || *q != '/')
            return false;
        p++;
        q++;
        const char *pe = strchr(p, '/'), *qe = strchr(q, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t ql = qe ? (size_t)(qe - q) : strlen(q);
        if (pl >= 2 && p[0] == '{') {
            if (ql == 0 || np == HTTP_MAX_PATH_PARAMS)
                return false;
            np++;
        } else if (pl != ql || strncmp(p, q, pl) != 0) {
            return false;
        }
        p += pl;
        q += ql;
    }
    if (*p || *q)
        return false;
    /* Second pass to record the segments (only on a full match). */
    req->npath_params = 0;
    p = pattern;
    q = path;
    while (*p) {
        p++;
        q++;
        const char *pe = strchr(p, '/'), *qe = strchr(q, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t ql = qe ? (size_t)(qe - q) : strlen(q);
        if (pl >= 2 && p[0] == '{')
            req->path_params[req->npath_params++] = q; /* terminated below */
        p += pl;
        q += ql;
    }
    return true;
}

static const char *status_text_code(int status)
{
    switch (status) {
    case 400: return "invalid_argument";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 431: return "header_too_large";
    case 503: return "unavailable";
    }
    return "error";
}

static void access_log(struct http_req *req, int status, double ms)
{
    char ts[32], line[1024];
    time_fmt_rfc3339(clock_now_ms(), ts);
    char uid[32] = "null";
    if (req->user_id)
        snprintf(uid, sizeof uid, "\"%lld\"", (long long)req->user_id);
    /* request_id is printable ASCII without quotes or backslashes (see sane_id). */
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"method\":\"%s\","
                     "\"route\":\"%s\",\"status\":%d,\"duration_ms\":%.3f,\"request_id\":\"%s\","
                     "\"user_id\":%s,\"trace_id\":\"%.32s\",\"remote\":\"%s\"}",
                     ts, req->method, req->route, status, ms, req->request_id, uid,
                     req->traceparent + 3, req->remote_addr);
    if (n > 0 && (size_t)n < sizeof line)
        log_line(line, (size_t)n);
}

static bool sane_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
            return false;
    return true;
}

/* ---- WebSocket upgrade ---- */
static void upgrade_trampoline(void *cls, struct MHD_Connection *conn, void *con_cls,
                               const char *extra_in, size_t extra_in_size, MHD_socket sock,
                               struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)con_cls;
    struct upgrade_box *box = cls;
    box->called = true;
    /* MHD turns Nagle back on for upgraded sockets; frames are complete when written. */
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    box->fn(box->arg, sock, extra_in, extra_in_size, urh);
}

void http_upgrade(struct http_resp *resp, http_upgrade_fn fn, http_upgrade_abort_fn abort_fn,
                  void *arg)
{
    resp->status = 101;
    buf_reset(&resp->body);
    resp->upgrade = fn;
    resp->upgrade_abort = abort_fn;
    resp->upgrade_arg = arg;
}

void http_upgrade_close(void *handle)
{
    MHD_upgrade_action((struct MHD_UpgradeResponseHandle *)handle, MHD_UPGRADE_ACTION_CLOSE);
}

static struct MHD_Response *upgrade_response(struct req_state *st, struct http_resp *resp)
{
    struct upgrade_box *box = calloc(1, sizeof *box);
    if (!box)
        return NULL;
    box->fn = resp->upgrade;
    box->abort_fn = resp->upgrade_abort;
    box->arg = resp->upgrade_arg;
    struct MHD_Response *r = MHD_create_response_for_upgrade(upgrade_trampoline, box);
    if (!r) {
        free(box);
        return NULL;
    }
    st->up = box; /* completed() frees it, and aborts if the handler never ran */
    return r;
}

static enum MHD_Result send_resp(struct http_server *srv, struct MHD_Connection *conn,
                                 struct req_state *st, struct http_req *req,
                                 struct http_resp *resp)
{
    size_t len;
    char *body = buf_detach(&resp->body, &len);
    struct MHD_Response *r;
    if (resp->upgrade && resp->status == 101) {
        free(body);
        len = 0;
        r = upgrade_response(st, resp);
        if (!r) {
            if (resp->upgrade_abort)
                resp->upgrade_abort(resp->upgrade_arg);
            return MHD_NO;
        }
    } else {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (resp->status == 101)
        ; /* no body, no Content-Type */
    else if (len || resp->status != 204)
        MHD_add_response_header(r, "Content-Type",
                                resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    for (int i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->hname[i], resp->hvalue[i]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    double ms = (double)(clock_mono_ns() - st->start_ns) / 1e6;
    metrics_http_observe(req->route, req->method, resp->status, ms / 1000.0);
    if (srv->cfg.access_log)
        access_log(req, resp->status, ms);
    return ret;
}

static const char *method_static(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER";
}

static void init_req(struct http_req *req, struct MHD_Connection *conn, const char *method,
                     const char *url)
{
    memset(req, 0, sizeof *req);
    req->method = method_static(method);
    req->path = url;
    req->route = ROUTE_UNMATCHED;
    req->conn = conn;
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && sane_id(rid))
        snprintf(req->request_id, sizeof req->request_id, "%s", rid);
    else
        trace_random_hex(req->request_id, 8);
    trace_from_header(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"),
                      req->traceparent);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                  req->remote_addr, sizeof req->remote_addr);
    else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
                  req->remote_addr, sizeof req->remote_addr);
}

static enum MHD_Result early_error(struct http_server *srv, struct MHD_Connection *conn,
                                   struct req_state *st, const char *method, const char *url,
                                   int status, const char *message)
{
    struct http_req req;
    struct http_resp resp;
    init_req(&req, conn, method, url);
    memset(&resp, 0, sizeof resp);
    buf_init(&resp.body, 0);
    http_error(&resp, status, status_text_code(status), message, NULL);
    return send_resp(srv, conn, st, &req, &resp);
}

static bool json_content_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    /* application/cloudevents+json: structured CloudEvents from the Dapr sidecar. */
    static const char *const types[] = {"application/json", "application/cloudevents+json"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' '))
            return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct req_state *st = *con_cls;
    if (!st)
        return MHD_NO;
    if (!st->started) {
        st->started = true;
        if (st->uri_len > srv->cfg.max_url)
            return early_error(srv, conn, st, method, "", 414, "URL too long");
        struct hdr_sum hs = {0, 0};
        MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_headers, &hs);
        if (hs.bytes > srv->cfg.max_header || hs.count > 100)
            return early_error(srv, conn, st, method, url, 431, "request headers too large");
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (*end || v > srv->cfg.max_body)
                return early_error(srv, conn, st, method, url, 413, "request body too large");
        }
        const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
        bool has_body = (cl && strcmp(cl, "0") != 0) || te;
        if (has_body && !json_content_type(MHD_lookup_connection_value(
                            conn, MHD_HEADER_KIND, "Content-Type")))
            return early_error(srv, conn, st, method, url, 415,
                               "request bodies must be application/json");
        st->body.cap_limit = srv->cfg.max_body;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large && buf_append(&st->body, upload_data, *upload_data_size) != 0)
            st->too_large = true;
        if (st->too_large) {
            st->discarded += *upload_data_size;
            /* A sender that keeps going far past the limit is cut off. */
            if (st->discarded > 16 * srv->cfg.max_body)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_large)
        return early_error(srv, conn, st, method, url, 413, "request body too large");

    struct http_req req;
    struct http_resp resp;
    init_req(&req, conn, method, url);
    memset(&resp, 0, sizeof resp);
    buf_init(&resp.body, 0);
    resp.status = 200;
    req.body = st->body.data;
    req.body_len = st->body.len;
    struct param_ctx pc = {&req, false};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &pc);
    if (pc.overflow) {
        http_error(&resp, 400, "invalid_argument", "too many query parameters", NULL);
        return send_resp(srv, conn, st, &req, &resp);
    }

    /* Route: exact method match first; collect methods of path matches for 405. */
    const char *lookup = strcmp(req.method, "HEAD") == 0 ? "GET" : req.method;
    const struct http_route *hit = NULL;
    char allow[128] = "";
    char path_copy[2048];
    if (strlen(url) >= sizeof path_copy) {
        http_error(&resp, 404, "not_found", "no such route", NULL);
        return send_resp(srv, conn, st, &req, &resp);
    }
    for (size_t i = 0; i < srv->nroutes && !hit; i++) {
        const struct http_route *r = &srv->routes[i];
        struct http_req probe = req;
        if (!match(r->pattern, url, &probe))
            continue;
        if (strcmp(r->method, lookup) == 0) {
            hit = r;
            req.npath_params = probe.npath_params;
            /* Copy the path so each parameter can be NUL-terminated in place. */
            snprintf(path_copy, sizeof path_copy, "%s", url);
            for (size_t k = 0; k < probe.npath_params; k++) {
                char *seg = path_copy + (probe.path_params[k] - url);
                char *slash = strchr(seg, '/');
                if (slash)
                    *slash = 0;
                req.path_params[k] = seg;
            }
        } else if (!strstr(allow, r->method)) {
            size_t n = strlen(allow);
            snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", r->method);
        }
    }
    if (!hit) {
        if (allow[0]) {
            http_error(&resp, 405, "method_not_allowed", "method not allowed on this route",
                       NULL);
            http_set_header(&resp, "Allow", allow);
        } else {
            http_error(&resp, 404, "not_found", "no such route", NULL);
        }
        return send_resp(srv, conn, st, &req, &resp);
    }
    req.route = hit->pattern;
    hit->fn(&req, &resp, srv->app);
    return send_resp(srv, conn, st, &req, &resp);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Responses larger than MHD's write buffer go out in several writes; with Nagle on,
 * the second waits for the client's delayed ACK (~40 ms). Every response is complete
 * when queued, so there is nothing to coalesce: disable Nagle per connection.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)socket_context;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        int one = 1;
        setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/*
 * Percent-decoding for paths and query values, like MHD's own, except that %00
 * stays literally "%00": a decoded NUL would silently cut a path short.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

int http_start(const struct http_config *cfg, const struct http_route *routes, size_t nroutes,
               void *app, struct http_server **out, char *err, size_t errlen)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return TOCK_ENOMEM;
    s->cfg = *cfg;
    s->routes = routes;
    s->nroutes = nroutes;
    s->app = app;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO;
    if (cfg->allow_upgrade)
        flags |= MHD_ALLOW_UPGRADE; /* ---- WebSocket ---- */
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, cfg->host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "TOCK_LISTEN: '%s' is not an IP address", cfg->host);
        free(s);
        return TOCK_EINVAL;
    }
    s->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)1024, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_URI_LOG_CALLBACK, uri_logged, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        s, MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or no permission)", cfg->host,
                 cfg->port);
        free(s);
        return TOCK_EINVAL;
    }
    *out = s;
    return 0;
}

int http_port(struct http_server *s)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void http_quiesce(struct http_server *s)
{
    if (s && s->d) {
        MHD_socket fd = MHD_quiesce_daemon(s->d);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    free(s);
}
