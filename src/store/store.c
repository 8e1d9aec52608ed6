/* store.c — the backend registry: picks a store_ops table by URL scheme. */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

int store_open(const char *url, const struct store_config *cfg, struct store **out,
               const struct store_ops **ops, char *err, size_t errlen)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        *ops = &store_sqlite_ops;
        return store_sqlite_ops.open(url, cfg, out, err, errlen);
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        *ops = &store_pg_ops;
        return store_pg_ops.open(url, cfg, out, err, errlen);
    }
    snprintf(err, errlen,
             "TOCK_DB: unsupported database URL (use sqlite:PATH or postgres://...)");
    return TOCK_EINVAL;
}
