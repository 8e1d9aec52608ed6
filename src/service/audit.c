/*
 * audit.c (service) — reading the audit log: one page of the caller's entries,
 * newest first, with the keyset cursor for the next page. Read-only: nothing in
 * the services writes or deletes audit rows (the audit role appends them).
 */
#include <stdlib.h>

#include "service/service.h"

int svc_audit_list(struct svc *s, struct svc_ctx *ctx, const struct audit_query *q,
                   struct audit_row **out, size_t *n, char **next_cursor)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct audit_row *v = NULL;
    size_t m = 0;
    if (!(rc = s->ops->begin(c, false))) {
        rc = s->ops->audit_list(c, ctx->user_id, q, &v, &m);
        if (rc)
            s->ops->rollback(c);
        else
            rc = s->ops->commit(c);
    }
    s->ops->release(c);
    if (rc) {
        audit_rows_free(v, m);
        return rc;
    }
    *next_cursor = NULL;
    /* The store returns one extra row when there is a next page. */
    if (m > (size_t)q->limit) {
        m = (size_t)q->limit;
        free(v[m].payload);
        if (!(*next_cursor = audit_cursor_encode(&v[m - 1]))) {
            audit_rows_free(v, m);
            return TOCK_ENOMEM;
        }
    }
    *out = v;
    *n = m;
    return 0;
}
