/*
 * auth.c — accounts and credentials: argon2id password hashes (libsodium), HS256
 * session JWTs (libjwt; any other alg, "none" included, is refused), API tokens
 * ("tock_" + 43 chars of base64url randomness, stored as SHA-256 hex), and the
 * failed-login throttle. Unknown e-mail and wrong password look the same to the
 * caller, in message and in time (a dummy hash is verified for unknown e-mails).
 */
#include <ctype.h>
#include <errno.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/clock.h"
#include "service/authcache.h"
#include "service/ratelimit.h"
#include "service/service.h"

#define API_TOKEN_PREFIX "tock_"

int svc_init(struct svc *s, struct store *store, const struct store_ops *ops,
             const struct svc_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->store = store;
    s->ops = ops;
    s->cfg = *cfg;
    if (!s->cfg.source)
        s->cfg.source = "tock/api";
    s->login_limit = ratelimit_new(cfg->login_max_failures, cfg->login_window_s);
    s->jwt_cache = authcache_new();
    return s->login_limit && s->jwt_cache ? 0 : TOCK_ENOMEM;
}

void svc_free(struct svc *s)
{
    ratelimit_free(s->login_limit);
    s->login_limit = NULL;
    authcache_free(s->jwt_cache);
    s->jwt_cache = NULL;
}

/* local@domain.tld with conservative character sets; lower-cases into out. */
static int email_normalize(const char *in, char out[EMAIL_MAX + 1])
{
    size_t n = strlen(in);
    if (n < 3 || n > EMAIL_MAX)
        return TOCK_EINVAL;
    const char *at = strchr(in, '@');
    if (!at || at == in || strchr(at + 1, '@') || (size_t)(at - in) > 64)
        return TOCK_EINVAL;
    for (const char *p = in; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return TOCK_EINVAL;
    }
    const char *dom = at + 1;
    const char *dot = strrchr(dom, '.');
    if (!dot || dot == dom || strlen(dot + 1) < 2 || strstr(dom, "..") || dom[0] == '-')
        return TOCK_EINVAL;
    for (const char *p = dom; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '-' || c == '.'))
            return TOCK_EINVAL;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    return 0;
}

int svc_jwt_issue(struct svc *s, int64_t user_id, char **token, int64_t *expires_at)
{
    jwt_t *j = NULL;
    char sub[24];
    id_str(user_id, sub);
    int64_t now = clock_now_ms() / 1000;
    *expires_at = (now + s->cfg.jwt_ttl_s) * 1000;
    int rc = TOCK_ENOMEM;
    if (jwt_new(&j) || jwt_set_alg(j, JWT_ALG_HS256, s->cfg.jwt_secret, (int)s->cfg.jwt_secret_len) ||
        jwt_add_grant(j, "sub", sub) || jwt_add_grant_int(j, "iat", (long)now) ||
        jwt_add_grant_int(j, "exp", (long)(now + s->cfg.jwt_ttl_s)))
        goto out;
    char *t = jwt_encode_str(j);
    if (!t)
        goto out;
    *token = strdup(t);
    free(t);
    rc = *token ? 0 : TOCK_ENOMEM;
out:
    jwt_free(j);
    return rc;
}

static int with_conn_user(struct svc *s, int64_t id, struct user *out)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->user_by_id(c, id, out);
    s->ops->release(c);
    return rc;
}

int svc_register(struct svc *s, const struct register_input *in, struct user *out, char **token,
                 int64_t *expires_at, struct tock_error *e)
{
    struct user u;
    memset(&u, 0, sizeof u);
    if (!in->email || email_normalize(in->email, u.email))
        return tock_fail(e, TOCK_EINVAL, "email", "a valid e-mail address is required");
    size_t plen = in->password ? strlen(in->password) : 0;
    if (plen < PASSWORD_MIN || plen > PASSWORD_MAX)
        return tock_fail(e, TOCK_EINVAL, "password", "password must be 8-1024 bytes");
    if (in->display_name) {
        if (text_check(in->display_name, 0, DISPLAY_NAME_MAX, false))
            return tock_fail(e, TOCK_EINVAL, "display_name",
                             "display_name must be at most 100 characters");
        snprintf(u.display_name, sizeof u.display_name, "%s", in->display_name);
    }
    const char *tz = in->timezone ? in->timezone : "UTC";
    if (!tz_valid(tz))
        return tock_fail(e, TOCK_EINVAL, "timezone", "unknown time zone (use an IANA name)");
    snprintf(u.timezone, sizeof u.timezone, "%s", tz);
    if (crypto_pwhash_str(u.password_hash, in->password, plen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return TOCK_ENOMEM;
    u.created_at = clock_now_ms();
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->begin(c, true);
    if (!rc) {
        rc = s->ops->user_insert(c, &u);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    if (rc == TOCK_ECONFLICT)
        return tock_fail(e, TOCK_ECONFLICT, "email", "that e-mail is already registered");
    if (rc)
        return rc;
    if ((rc = svc_jwt_issue(s, u.id, token, expires_at)))
        return rc;
    *out = u;
    return 0;
}

int svc_login(struct svc *s, const char *email, const char *password, struct user *out,
              char **token, int64_t *expires_at, int *retry_after, struct tock_error *e)
{
    char norm[EMAIL_MAX + 1];
    int64_t now = clock_now_ms();
    const char *key = email_normalize(email, norm) == 0 ? norm : email;
    if ((*retry_after = ratelimit_check(s->login_limit, key, now)))
        return tock_fail(e, TOCK_ELIMIT, NULL, "too many failed logins; try again later");
    struct user u;
    int rc = TOCK_ENOTFOUND;
    if (key == norm) {
        struct store_conn *c;
        if ((rc = s->ops->acquire(s->store, &c)))
            return rc;
        rc = s->ops->user_by_email(c, norm, &u);
        s->ops->release(c);
        if (rc && rc != TOCK_ENOTFOUND)
            return rc;
    }
    size_t plen = strlen(password);
    bool ok;
    if (rc == 0) {
        ok = crypto_pwhash_str_verify(u.password_hash, password, plen) == 0;
    } else {
        /* Same work for an unknown e-mail, so timing does not reveal accounts. */
        static char dummy[crypto_pwhash_STRBYTES];
        static int have_dummy;
        if (!__atomic_load_n(&have_dummy, __ATOMIC_ACQUIRE)) {
            char tmp[crypto_pwhash_STRBYTES];
            if (crypto_pwhash_str(tmp, "tock-dummy-password", 19,
                                  crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0) {
                memcpy(dummy, tmp, sizeof dummy);
                __atomic_store_n(&have_dummy, 1, __ATOMIC_RELEASE);
            }
        } else {
            if (crypto_pwhash_str_verify(dummy, password, plen) == 0)
                ok = false;
        }
        ok = false;
    }
    if (!ok) {
        ratelimit_fail(s->login_limit, key, now);
        return tock_fail(e, TOCK_EAUTH, NULL, "wrong e-mail or password");
    }
    ratelimit_reset(s->login_limit, key);
    if ((rc = svc_jwt_issue(s, u.id, token, expires_at)))
        return rc;
    *out = u;
    return 0;
}

static void token_hash(const char *token, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, 65, h, sizeof h);
}

static int jwt_user(struct svc *s, const char *bearer, int64_t *user_id)
{
    int64_t now_s = clock_now_ms() / 1000;
    if (authcache_get(s->jwt_cache, bearer, now_s, user_id))
        return 0;
    jwt_t *j = NULL;
    if (jwt_decode(&j, bearer, s->cfg.jwt_secret, (int)s->cfg.jwt_secret_len) != 0 || !j)
        return TOCK_EAUTH;
    int rc = TOCK_EAUTH;
    if (jwt_get_alg(j) != JWT_ALG_HS256)
        goto out;
    errno = 0;
    long exp = jwt_get_grant_int(j, "exp");
    if (errno || exp <= now_s)
        goto out;
    const char *sub = jwt_get_grant(j, "sub");
    if (!sub || !(*user_id = id_parse(sub)))
        goto out;
    authcache_put(s->jwt_cache, bearer, *user_id, exp);
    rc = 0;
out:
    jwt_free(j);
    return rc;
}

int svc_authenticate(struct svc *s, const char *bearer, struct user *out)
{
    size_t n = strlen(bearer);
    if (n == 0 || n > 4096)
        return TOCK_EAUTH;
    int64_t user_id = 0;
    int rc;
    if (strncmp(bearer, API_TOKEN_PREFIX, strlen(API_TOKEN_PREFIX)) == 0) {
        char hash[65];
        token_hash(bearer, hash);
        struct store_conn *c;
        if ((rc = s->ops->acquire(s->store, &c)))
            return rc;
        int64_t token_id = 0, last = 0, now = clock_now_ms();
        rc = s->ops->token_lookup(c, hash, &token_id, &user_id, &last);
        if (!rc)
            rc = s->ops->user_by_id(c, user_id, out);
        if (!rc && now - last > 60000) {
            /* last_used_at to the minute, through a normal write unit (group commit);
             * failing to record it must not fail the request. */
            if (s->ops->begin(c, true) == 0)
                svc_finish(s, c, s->ops->token_touch(c, token_id, now), false);
        }
        s->ops->release(c);
        return rc == TOCK_ENOTFOUND ? TOCK_EAUTH : rc;
    }
    if ((rc = jwt_user(s, bearer, &user_id)))
        return rc;
    rc = with_conn_user(s, user_id, out);
    return rc == TOCK_ENOTFOUND ? TOCK_EAUTH : rc;
}

int svc_me_get(struct svc *s, struct svc_ctx *ctx, struct user *out)
{
    return with_conn_user(s, ctx->user_id, out);
}

int svc_user_by_email(struct svc *s, const char *email, struct user *out)
{
    char norm[EMAIL_MAX + 1];
    if (email_normalize(email, norm))
        return TOCK_EINVAL;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->user_by_email(c, norm, out);
    s->ops->release(c);
    return rc;
}

int svc_me_update(struct svc *s, struct svc_ctx *ctx, const char *display_name,
                  const char *timezone, struct user *out, struct tock_error *e)
{
    if (display_name && text_check(display_name, 0, DISPLAY_NAME_MAX, false))
        return tock_fail(e, TOCK_EINVAL, "display_name",
                         "display_name must be at most 100 characters");
    if (timezone && !tz_valid(timezone))
        return tock_fail(e, TOCK_EINVAL, "timezone", "unknown time zone (use an IANA name)");
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct user u;
    if (!(rc = s->ops->begin(c, true))) {
        rc = s->ops->user_by_id(c, ctx->user_id, &u);
        if (!rc) {
            if (display_name)
                snprintf(u.display_name, sizeof u.display_name, "%s", display_name);
            if (timezone)
                snprintf(u.timezone, sizeof u.timezone, "%s", timezone);
            rc = s->ops->user_update(c, &u);
        }
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    if (!rc)
        *out = u;
    return rc;
}

int svc_token_create(struct svc *s, struct svc_ctx *ctx, const char *name, struct api_token *out,
                     char **secret, struct tock_error *e)
{
    if (!name || text_check(name, 1, TOKEN_NAME_MAX, false))
        return tock_fail(e, TOCK_EINVAL, "name", "name must be 1-100 characters");
    unsigned char rnd[32];
    randombytes_buf(rnd, sizeof rnd);
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, rnd, sizeof rnd, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char token[80], hash[65];
    snprintf(token, sizeof token, API_TOKEN_PREFIX "%s", b64);
    token_hash(token, hash);
    struct api_token t;
    memset(&t, 0, sizeof t);
    t.user_id = ctx->user_id;
    snprintf(t.name, sizeof t.name, "%s", name);
    t.created_at = clock_now_ms();
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if (!(rc = s->ops->begin(c, true))) {
        rc = s->ops->token_insert(c, &t, hash);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    if (rc == TOCK_ELIMIT)
        return tock_fail(e, TOCK_EINVAL, "name", "at most %d API tokens per user",
                         TOKENS_PER_USER_MAX);
    if (rc)
        return rc;
    if (!(*secret = strdup(token)))
        return TOCK_ENOMEM;
    *out = t;
    return 0;
}

int svc_token_list(struct svc *s, struct svc_ctx *ctx, struct api_token **out, size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->token_list(c, ctx->user_id, out, n);
    s->ops->release(c);
    return rc;
}

int svc_token_delete(struct svc *s, struct svc_ctx *ctx, int64_t id)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if (!(rc = s->ops->begin(c, true))) {
        rc = s->ops->token_delete(c, ctx->user_id, id);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    return rc;
}
