/* env.c — see env.h. */
#include "obs/env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int env_int(const char *name, int def, int min, int max, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        snprintf(err, errlen, "%s must be an integer %d-%d", name, min, max);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int env_i64(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out, char *err,
            size_t errlen)
{
    const char *v = getenv(name);
    *out = def;
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        snprintf(err, errlen, "%s must be an integer %lld-%lld", name, (long long)min,
                 (long long)max);
        return -1;
    }
    *out = (int64_t)x;
    return 0;
}

int duration_parse_ms(const char *s, int64_t *out_ms)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || x < 0)
        return -1;
    int64_t mul;
    if (*end == 0 || strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else if (strcmp(end, "h") == 0)
        mul = 3600000;
    else if (strcmp(end, "d") == 0)
        mul = 86400000;
    else
        return -1;
    if (x > INT64_MAX / mul)
        return -1;
    *out_ms = (int64_t)x * mul;
    return 0;
}

int env_duration_ms(const char *name, int64_t def_ms, int64_t min_ms, int64_t max_ms,
                    int64_t *out_ms, char *err, size_t errlen)
{
    const char *v = getenv(name);
    *out_ms = def_ms;
    if (!v || !*v)
        return 0;
    int64_t ms;
    if (duration_parse_ms(v, &ms) || ms < min_ms || ms > max_ms) {
        snprintf(err, errlen,
                 "%s must be a duration like 90s, 15m, 12h or 7d (from %lld ms to %lld ms)",
                 name, (long long)min_ms, (long long)max_ms);
        return -1;
    }
    *out_ms = ms;
    return 0;
}
