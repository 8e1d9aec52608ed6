/*
 * h_ws.c — GET /api/v1/ws: the WebSocket opening handshake (docs/sync.md).
 * Checks the upgrade request (RFC 6455 4.2.1), authenticates (Authorization:
 * Bearer, a "bearer.<token>" subprotocol next to "tock.v1", or ?token=), parses
 * ?since=, asks the sync hub for a slot (limits) and the replay, then answers
 * 101 and hands the socket to the hub. Every failure is a JSON error before the
 * upgrade: 400/426 bad handshake, 401 auth, 429 per-user limit, 503 global limit
 * or no sync role.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "http/ws.h"
#include "roles/sync.h"

#define WS_SUBPROTOCOL "tock.v1"
#define WS_TOKEN_PREFIX "bearer."
#define WS_TOKEN_MAX 4096

static const char *query(struct http_req *req, const char *name, int *count)
{
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0) {
            v = req->params[i].value;
            (*count)++;
        }
    return v;
}

/*
 * Scans Sec-WebSocket-Protocol: sets *has_tock when "tock.v1" is offered and
 * copies a "bearer.<token>" entry into tok. false when an entry is malformed.
 */
static bool scan_protocols(const char *h, bool *has_tock, char *tok, size_t toklen)
{
    *has_tock = false;
    tok[0] = 0;
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t n = (size_t)(e - s);
        if (n == strlen(WS_SUBPROTOCOL) && strncmp(s, WS_SUBPROTOCOL, n) == 0) {
            *has_tock = true;
        } else if (n > strlen(WS_TOKEN_PREFIX) &&
                   strncmp(s, WS_TOKEN_PREFIX, strlen(WS_TOKEN_PREFIX)) == 0) {
            size_t tl = n - strlen(WS_TOKEN_PREFIX);
            if (tl >= toklen)
                return false;
            memcpy(tok, s + strlen(WS_TOKEN_PREFIX), tl);
            tok[tl] = 0;
        }
    }
    return true;
}

static bool parse_since(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

void api_h_ws(struct http_req *req, struct http_resp *resp, void *arg)
{
    struct api_app *app = arg;
    if (!app->sync) {
        http_error(resp, 503, "unavailable",
                   "real-time sync is not running on this server (role sync)", NULL);
        return;
    }
    struct ws_handshake hs = {http_header(req, "Upgrade"), http_header(req, "Connection"),
                              http_header(req, "Sec-WebSocket-Key"),
                              http_header(req, "Sec-WebSocket-Version")};
    const char *why;
    int st = ws_handshake_check(&hs, &why);
    if (st) {
        http_error(resp, st, st == 426 ? "upgrade_required" : "invalid_argument", why, NULL);
        if (st == 426) {
            http_set_header(resp, "Upgrade", "websocket");
            http_set_header(resp, "Sec-WebSocket-Version", "13");
        }
        return;
    }

    /* The credential: header, then subprotocol, then query. */
    char *tok = malloc(WS_TOKEN_MAX);
    if (!tok) {
        api_fail(resp, TOCK_ENOMEM, NULL);
        return;
    }
    tok[0] = 0;
    bool has_tock = false;
    const char *protos = http_header(req, "Sec-WebSocket-Protocol");
    if (protos && !scan_protocols(protos, &has_tock, tok, WS_TOKEN_MAX)) {
        free(tok);
        http_error(resp, 400, "invalid_argument", "Sec-WebSocket-Protocol entry too long",
                   "Sec-WebSocket-Protocol");
        return;
    }
    if (protos && !has_tock) {
        free(tok);
        http_error(resp, 400, "invalid_argument",
                   "the only subprotocol is \"tock.v1\" (offer it, plus \"bearer.<token>\" to "
                   "authenticate this way)",
                   "Sec-WebSocket-Protocol");
        return;
    }
    int nq = 0;
    const char *qtok = query(req, "token", &nq);
    const char *auth = http_header(req, "Authorization");
    const char *bearer = NULL;
    if (auth) {
        if (strncasecmp(auth, "Bearer ", 7) == 0) {
            bearer = auth + 7;
            while (*bearer == ' ')
                bearer++;
        }
    } else if (tok[0]) {
        bearer = tok;
    } else if (qtok && nq == 1) {
        bearer = qtok;
    }
    struct user u;
    int rc = bearer && *bearer ? svc_authenticate(app->svc, bearer, &u) : TOCK_EAUTH;
    free(tok);
    if (rc) {
        api_fail(resp, rc,
                 &(struct tock_error){TOCK_EAUTH, "",
                                      "a valid token is required (Authorization: Bearer, "
                                      "subprotocol bearer.<token>, or ?token=)"});
        return;
    }
    req->user_id = u.id;

    int ns = 0;
    const char *since_s = query(req, "since", &ns);
    int64_t since = 0;
    if (ns > 1 || (since_s && !parse_since(since_s, &since))) {
        http_error(resp, 400, "invalid_argument",
                   "since must be a cursor from this API (a decimal number)", "since");
        return;
    }

    char accept[29];
    if (ws_accept_key(hs.key, accept)) { /* checked above; keeps the invariant local */
        http_error(resp, 400, "invalid_argument", "bad Sec-WebSocket-Key", NULL);
        return;
    }
    struct sync_conn *conn = NULL;
    rc = sync_conn_open(app->sync, u.id, since_s != NULL, since, &conn);
    if (rc == SYNC_LIMIT_USER) {
        http_error(resp, 429, "too_many_connections",
                   "this user has the most WebSocket connections allowed (TOCK_WS_MAX_PER_USER)",
                   NULL);
        http_set_header(resp, "Retry-After", "5");
        return;
    }
    if (rc == SYNC_LIMIT_GLOBAL || rc == SYNC_CLOSING) {
        http_error(resp, 503, "unavailable",
                   rc == SYNC_CLOSING ? "the server is shutting down"
                                    : "the server has the most WebSocket connections allowed "
                                      "(TOCK_WS_MAX_CONNS)",
                   NULL);
        http_set_header(resp, "Retry-After", "5");
        return;
    }
    if (rc) {
        api_fail(resp, rc, NULL);
        return;
    }
    http_upgrade(resp, sync_conn_attach, sync_conn_abort, conn);
    http_set_header(resp, "Upgrade", "websocket");
    http_set_header(resp, "Sec-WebSocket-Accept", accept);
    if (has_tock)
        http_set_header(resp, "Sec-WebSocket-Protocol", WS_SUBPROTOCOL);
}
