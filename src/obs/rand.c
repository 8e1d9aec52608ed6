/* rand.c — per-thread pool of CSPRNG bytes; see rand.h. */
#include "obs/rand.h"

#include <sodium.h>
#include <string.h>

#define POOL 1024

static _Thread_local unsigned char pool[POOL];
static _Thread_local size_t left;

void rand_fast(void *out, size_t n)
{
    unsigned char *o = out;
    while (n) {
        if (!left) {
            randombytes_buf(pool, POOL);
            left = POOL;
        }
        size_t k = n < left ? n : left;
        memcpy(o, pool + POOL - left, k);
        sodium_memzero(pool + POOL - left, k); /* never hand out the same bytes twice */
        left -= k;
        o += k;
        n -= k;
    }
}
