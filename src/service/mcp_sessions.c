/*
 * mcp_sessions.c — MCP Streamable HTTP sessions: random ids (256 bits from the
 * CSPRNG) handed to the client once, stored only as a hash, bound to the user
 * who initialized them, expired after an idle period, capped per user. Kept in
 * the database so any api replica can serve a session's next request.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "obs/clock.h"
#include "service/service.h"

#define TOUCH_EVERY_MS 60000 /* last_used_at is kept to the minute */

static int id_hash(const char *id, char out[65])
{
    size_t n = strlen(id);
    if (n != MCP_SESSION_ID_LEN)
        return TOCK_ENOTFOUND;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return TOCK_ENOTFOUND;
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)id, n, NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
    return 0;
}

int svc_mcp_session_create(struct svc *s, struct svc_ctx *ctx, const char *version,
                           const struct mcp_session_limits *lim, char *id)
{
    unsigned char raw[MCP_SESSION_ID_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, MCP_SESSION_ID_LEN + 1, raw, sizeof raw);
    struct mcp_session_row r = {.user_id = ctx->user_id};
    id_hash(id, r.id_hash);
    snprintf(r.protocol_version, sizeof r.protocol_version, "%s", version);
    r.created_at = r.last_used_at = clock_now_ms();
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->begin(c, true);
    if (!rc) {
        /* Keep per_user - 1 older ones: with the new one that makes per_user. */
        rc = s->ops->mcp_session_prune(c, ctx->user_id, r.created_at - lim->idle_ms,
                                       lim->per_user - 1);
        if (!rc)
            rc = s->ops->mcp_session_insert(c, &r);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    return rc;
}

int svc_mcp_session_get(struct svc *s, struct svc_ctx *ctx, const char *id,
                        const struct mcp_session_limits *lim, char *version)
{
    char hash[65];
    int rc = id_hash(id, hash);
    if (rc)
        return rc;
    struct store_conn *c;
    if ((rc = s->ops->acquire(s->store, &c)))
        return rc;
    struct mcp_session_row r;
    int64_t now = clock_now_ms();
    rc = s->ops->mcp_session_get(c, hash, &r);
    if (!rc && (r.user_id != ctx->user_id || now - r.last_used_at > lim->idle_ms))
        rc = TOCK_ENOTFOUND;
    if (!rc && now - r.last_used_at > TOUCH_EVERY_MS) {
        /* Failing to record the use must not fail the request. */
        if (s->ops->begin(c, true) == 0)
            svc_finish(s, c, s->ops->mcp_session_touch(c, hash, now), false);
    }
    s->ops->release(c);
    if (!rc)
        snprintf(version, 16, "%s", r.protocol_version);
    return rc;
}

int svc_mcp_session_end(struct svc *s, struct svc_ctx *ctx, const char *id)
{
    char hash[65];
    int rc = id_hash(id, hash);
    if (rc)
        return rc;
    struct store_conn *c;
    if ((rc = s->ops->acquire(s->store, &c)))
        return rc;
    rc = s->ops->begin(c, true);
    if (!rc)
        rc = svc_finish(s, c, s->ops->mcp_session_delete(c, ctx->user_id, hash), false);
    s->ops->release(c);
    return rc;
}
