/*
 * http.h — the HTTP server (libmicrohttpd, epoll + thread pool) and its router.
 * It knows sockets, limits, request ids, access logs and metrics; it knows no
 * tasks. Handlers get a fully read request and fill a response; the server sends
 * it, logs one JSON line and records metrics.
 *
 * Lifetime: everything in http_req is borrowed and valid only during the handler
 * call. The handler owns nothing it did not allocate; the response body buffer is
 * taken over by the server.
 */
#ifndef TOCK_HTTP_HTTP_H
#define TOCK_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/filter.h"

#define HTTP_MAX_PARAMS 100
#define HTTP_MAX_PATH_PARAMS 4
#define HTTP_MAX_RESP_HEADERS 8

struct http_req {
    const char *method;
    const char *path;
    struct qparam params[HTTP_MAX_PARAMS];
    size_t nparams;
    const char *body;
    size_t body_len;
    const char *path_params[HTTP_MAX_PATH_PARAMS];
    size_t npath_params;
    const char *route; /* the matched pattern (static) */
    char request_id[129];
    char traceparent[56];
    char remote_addr[64];
    int64_t user_id; /* set by the handler once authenticated (for the access log) */
    void *conn;      /* the MHD connection, for http_header() */
};

/* ---- WebSocket upgrade (http_upgrade below) ---- */
/*
 * Called once the 101 response is out, in the server's thread (must not block):
 * fd is the connection's socket, now owned by the callee until it calls
 * http_upgrade_close(handle) (never close(fd) directly). extra holds bytes the
 * client already sent after its request (treat them as read from fd).
 */
typedef void (*http_upgrade_fn)(void *arg, int fd, const char *extra, size_t extra_len,
                                void *handle);
/* Called instead when the upgrade did not happen (the 101 could not be sent). */
typedef void (*http_upgrade_abort_fn)(void *arg);

struct http_resp {
    int status;
    struct buf body;
    const char *content_type; /* static; default application/json */
    const char *hname[HTTP_MAX_RESP_HEADERS];
    char hvalue[HTTP_MAX_RESP_HEADERS][160];
    int nheaders;
    /* ---- WebSocket upgrade: set by http_upgrade() ---- */
    http_upgrade_fn upgrade;
    http_upgrade_abort_fn upgrade_abort;
    void *upgrade_arg;
};

typedef void (*http_handler_fn)(struct http_req *req, struct http_resp *resp, void *app);

struct http_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v1/tasks/{id}"; {x} matches one segment */
    http_handler_fn fn;
};

struct http_config {
    char host[64];
    int port;
    int threads;
    size_t max_body;
    size_t max_header;
    size_t max_url;
    unsigned max_connections;
    unsigned per_ip_connections; /* 0: no per-IP cap */
    unsigned idle_timeout_s;
    bool access_log;
    bool allow_upgrade; /* ---- WebSocket: MHD_ALLOW_UPGRADE (the sync role) ---- */
};

struct http_server;

/* Starts listening; routes must outlive the server. */
int http_start(const struct http_config *cfg, const struct http_route *routes, size_t nroutes,
               void *app, struct http_server **out, char *err, size_t errlen);
/* Stops accepting at once (quiesce); in-flight requests finish. */
void http_quiesce(struct http_server *s);
void http_stop(struct http_server *s);
/* The bound port (useful with port 0). */
int http_port(struct http_server *s);

/* A request header by case-insensitive name, or NULL. */
const char *http_header(struct http_req *req, const char *name);
/* Adds a response header (name static, value copied, truncated to fit). */
void http_set_header(struct http_resp *resp, const char *name, const char *value);
/* Fills resp with the JSON error shape {"error":{"code","message","field"}}. */
void http_error(struct http_resp *resp, int status, const char *code, const char *message,
                const char *field);

/* ---- WebSocket upgrade ---- */
/*
 * Makes resp a "101 Switching Protocols" (add its headers with http_set_header):
 * after it is sent, fn gets the socket; if it cannot be sent, abort gets arg.
 * Needs http_config.allow_upgrade.
 */
void http_upgrade(struct http_resp *resp, http_upgrade_fn fn, http_upgrade_abort_fn abort_fn,
                  void *arg);
/* Gives an upgraded socket back to the server, which closes it; any thread. */
void http_upgrade_close(void *handle);

#endif
