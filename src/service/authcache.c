/* authcache.c — fixed-size, direct-mapped cache of verified JWTs; see authcache.h. */
#include "service/authcache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define AC_SLOTS 4096
#define AC_TOKEN_MAX 512 /* longer tokens are simply not cached */

struct entry {
    uint64_t hash;
    int64_t user_id, exp_s;
    char token[AC_TOKEN_MAX];
};

struct authcache {
    pthread_mutex_t mu;
    unsigned char key[crypto_shorthash_KEYBYTES];
    struct entry slots[AC_SLOTS];
};

struct authcache *authcache_new(void)
{
    struct authcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    randombytes_buf(c->key, sizeof c->key);
    return c;
}

void authcache_free(struct authcache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static uint64_t hash(struct authcache *c, const char *token, size_t n)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)token, n, c->key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v | 1;
}

bool authcache_get(struct authcache *c, const char *token, int64_t now_s, int64_t *user_id)
{
    size_t n = strlen(token);
    if (n >= AC_TOKEN_MAX)
        return false;
    uint64_t h = hash(c, token, n);
    struct entry *e = &c->slots[h % AC_SLOTS];
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    if (e->hash == h && strcmp(e->token, token) == 0 && e->exp_s > now_s) {
        *user_id = e->user_id;
        hit = true;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void authcache_put(struct authcache *c, const char *token, int64_t user_id, int64_t exp_s)
{
    size_t n = strlen(token);
    if (n >= AC_TOKEN_MAX)
        return;
    uint64_t h = hash(c, token, n);
    struct entry *e = &c->slots[h % AC_SLOTS];
    pthread_mutex_lock(&c->mu);
    e->hash = h;
    e->user_id = user_id;
    e->exp_s = exp_s;
    memcpy(e->token, token, n + 1);
    pthread_mutex_unlock(&c->mu);
}
