/*
 * authcache.h — a bounded cache of verified JWTs: token -> (user id, exp). A
 * JWT's validity is a pure function of the token and the secret, so caching the
 * verification is exact (exp is still checked on every use). API tokens are not
 * cached: revoking one must take effect at once.
 */
#ifndef TOCK_SERVICE_AUTHCACHE_H
#define TOCK_SERVICE_AUTHCACHE_H

#include <stdbool.h>
#include <stdint.h>

struct authcache;

struct authcache *authcache_new(void);
void authcache_free(struct authcache *c);
/* True and *user_id when token is cached and not expired at now_s. */
bool authcache_get(struct authcache *c, const char *token, int64_t now_s, int64_t *user_id);
void authcache_put(struct authcache *c, const char *token, int64_t user_id, int64_t exp_s);

#endif
