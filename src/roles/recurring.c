/*
 * recurring.c — the recurring role's consumer: task.completed -> the next
 * occurrence (see recurring.h). The handler runs in the framework's transaction;
 * all it writes goes through svc_recur_next.
 */
#include "roles/recurring.h"

#include <stdlib.h>
#include <string.h>

#include "obs/log.h"
#include "roles/consumer.h"

static const char *const recurring_topics[] = {"task-events"};
static const char *const recurring_types[] = {"task.completed"};

struct recurring {
    struct consumer *cons;
};

int recurring_handle(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                     void *arg)
{
    (void)arg;
    if (!ev->user_id || !ev->task_id) {
        log_msg(LOG_WARN, "recurring: event %s has no user or task; skipped", ev->id);
        return 0;
    }
    struct task done;
    /* Locking the completed task serializes handlers of the same occurrence. */
    int rc = svc->ops->task_get(c, ev->user_id, ev->task_id, true, &done);
    if (rc == TOCK_ENOTFOUND)
        return 0; /* deleted since: nothing continues its series */
    if (rc)
        return rc;
    struct svc_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.user_id = ev->user_id;
    snprintf(ctx.timezone, sizeof ctx.timezone, "%s", done.timezone);
    /* The new occurrence's events continue the completion's trace. */
    const char *tp = json_string_value(json_object_get(ev->json, "traceparent"));
    ctx.traceparent = tp && *tp ? tp : NULL;
    bool created = false;
    struct task next;
    memset(&next, 0, sizeof next);
    /* Reopened since (status no longer done): its next completion will continue it. */
    rc = svc_recur_next(svc, c, &ctx, &done, &next, &created);
    if (!rc && created) {
        log_msg(LOG_DEBUG, "recurring: task %lld -> occurrence %lld (task %lld, due %s)",
                (long long)done.id, (long long)next.occurrence, (long long)next.id,
                next.due_local);
        task_release(&next);
    }
    task_release(&done);
    return rc;
}

int recurring_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                    int max_attempts, struct recurring **out)
{
    struct recurring *r = calloc(1, sizeof *r);
    if (!r)
        return TOCK_ENOMEM;
    struct consumer_def def = {
        .name = "recurring",
        .topics = recurring_topics,
        .ntopics = 1,
        .types = recurring_types,
        .ntypes = 1,
        .handle = recurring_handle,
        .max_attempts = max_attempts,
    };
    int rc = consumer_new(svc, &def, &r->cons);
    if (!rc)
        rc = consumer_subscribe(r->cons, bus, bops);
    if (rc) {
        recurring_stop(r);
        return rc;
    }
    *out = r;
    return 0;
}

void recurring_cancel(struct recurring *r)
{
    if (r)
        consumer_cancel(r->cons);
}

void recurring_stop(struct recurring *r)
{
    if (!r)
        return;
    consumer_free(r->cons);
    free(r);
}
