/* ops.c — operational queries for health, readiness and metrics. */
#include "obs/clock.h"
#include "service/service.h"

int svc_ready(struct svc *s)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    int applied = 0;
    rc = s->ops->ping(c, &applied);
    s->ops->release(c);
    return rc;
}

int svc_outbox_stats(struct svc *s, int64_t *depth, int64_t *oldest_age_ms)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    int64_t oldest = 0;
    rc = s->ops->outbox_stats(c, depth, &oldest);
    s->ops->release(c);
    if (!rc)
        *oldest_age_ms = oldest ? clock_now_ms() - oldest : 0;
    return rc;
}
