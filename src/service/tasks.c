/*
 * tasks.c — task operations. Every mutation is one write transaction: read the
 * current row (ownership is in the query), check If-Match, apply the change with
 * core's rules, write the row, append the events, commit. Nothing is half-applied:
 * any failure rolls the whole unit back.
 */
#include <stdlib.h>
#include <string.h>

#include "obs/clock.h"
#include "service/service.h"

void svc_tasks_free(struct task *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        task_release(&v[i]);
    free(v);
}

int svc_finish(struct svc *s, struct store_conn *c, int rc, bool wrote_events)
{
    if (rc) {
        s->ops->rollback(c);
        return rc;
    }
    rc = s->ops->commit(c);
    if (!rc && wrote_events && s->outbox_kick)
        s->outbox_kick(s->kick_arg);
    return rc;
}

int svc_task_create(struct svc *s, struct svc_ctx *ctx, const struct task_input *in,
                    struct task *out, struct tock_error *e)
{
    struct task t;
    memset(&t, 0, sizeof t);
    t.user_id = ctx->user_id;
    int rc = task_apply(&t, in, ctx->timezone, e);
    if (rc) {
        task_release(&t);
        return rc;
    }
    int64_t now = clock_now_ms();
    t.created_at = t.updated_at = now;
    t.version = 1;
    t.occurrence = 1;
    if (t.status == TASK_DONE)
        t.completed_at = now;
    struct store_conn *c;
    if ((rc = s->ops->acquire(s->store, &c))) {
        task_release(&t);
        return rc;
    }
    rc = s->ops->begin(c, true);
    if (!rc) {
        rc = s->ops->task_insert(c, &t);
        if (!rc)
            rc = svc_emit_task(s, c, ctx, "task.created", "created", &t, NULL);
        if (!rc && t.status == TASK_DONE)
            rc = svc_emit_task(s, c, ctx, "task.completed", NULL, &t, NULL);
        /* ---- reminders ---- */
        if (!rc && in->reminders_set)
            rc = svc_reminders_replace(s, c, ctx, &t, in->reminders, in->nreminders, e);
        rc = svc_finish(s, c, rc, true);
        if (!rc && ctx->reminders_changed)
            svc_reminders_kick(s);
    }
    s->ops->release(c);
    if (rc) {
        task_release(&t);
        return rc;
    }
    *out = t;
    return 0;
}

int svc_task_get(struct svc *s, struct svc_ctx *ctx, int64_t id, struct task *out)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->task_get(c, ctx->user_id, id, false, out);
    s->ops->release(c);
    return rc;
}

/*
 * The shared path of update/complete/reopen: loads the task, checks the version,
 * lets `change` produce the new state, then writes it with its events.
 */
static int mutate(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                  const struct task_input *in, int op, struct task *out, struct tock_error *e)
{
    enum { OP_UPDATE, OP_COMPLETE, OP_REOPEN };
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct task before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    json_t *changes = NULL;
    bool wrote = false;
    if ((rc = s->ops->begin(c, true)))
        goto out_release;
    if ((rc = s->ops->task_get(c, ctx->user_id, id, true, &before)))
        goto out;
    if (if_match >= 0 && if_match != before.version) {
        rc = tock_fail(e, TOCK_ESTALE, "If-Match", "the task has changed (version %lld)",
                       (long long)before.version);
        goto out;
    }
    if ((rc = task_copy(&after, &before)))
        goto out;
    int64_t now = clock_now_ms();
    if (op == OP_UPDATE) {
        if ((rc = task_apply(&after, in, ctx->timezone, e)))
            goto out;
    } else if (op == OP_COMPLETE) {
        after.status = TASK_DONE;
    } else {
        if (after.status == TASK_DONE)
            after.status = TASK_TODO;
    }
    if (after.status == TASK_DONE && before.status != TASK_DONE)
        after.completed_at = now;
    else if (after.status != TASK_DONE)
        after.completed_at = 0;
    changes = task_diff_json(&before, &after, now);
    if (json_object_size(changes) == 0) {
        /* ---- reminders: a PATCH of only "reminders" changes no task field ---- */
        if (in && in->reminders_set) {
            rc = svc_reminders_replace(s, c, ctx, &before, in->reminders, in->nreminders, e);
            rc = svc_finish(s, c, rc, false);
            if (rc)
                goto out_release;
            if (ctx->reminders_changed)
                svc_reminders_kick(s);
            *out = before;
            memset(&before, 0, sizeof before);
            goto out_release;
        }
        /* Nothing changed: no new version, no event. */
        s->ops->rollback(c);
        *out = before;
        memset(&before, 0, sizeof before);
        goto out_release;
    }
    after.version = before.version + 1;
    after.updated_at = now;
    if ((rc = s->ops->task_update(c, &after)))
        goto out;
    wrote = true;
    /* ---- reminders: follow the due, cancel on completion, or replace ---- */
    if ((rc = svc_reminders_task_changed(s, c, ctx, &before, &after)))
        goto out;
    if (in && in->reminders_set &&
        (rc = svc_reminders_replace(s, c, ctx, &after, in->reminders, in->nreminders, e)))
        goto out;
    bool completed = after.status == TASK_DONE && before.status != TASK_DONE;
    bool reopened = before.status == TASK_DONE && after.status != TASK_DONE;
    /* Fields other than the status bookkeeping changed? */
    bool other = false;
    const char *key;
    json_t *val;
    json_object_foreach(changes, key, val)
    {
        if (strcmp(key, "status") != 0 && strcmp(key, "completed_at") != 0 &&
            strcmp(key, "overdue") != 0)
            other = true;
    }
    if (completed) {
        if (other)
            rc = svc_emit_task(s, c, ctx, "task.updated", NULL, &after, changes);
        if (!rc)
            rc = svc_emit_task(s, c, ctx, "task.completed", "completed", &after, NULL);
    } else {
        rc = svc_emit_task(s, c, ctx, "task.updated", reopened ? "reopened" : "updated", &after,
                           changes);
    }
out:
    rc = svc_finish(s, c, rc, wrote);
    if (!rc && ctx->reminders_changed) /* ---- reminders ---- */
        svc_reminders_kick(s);
    if (!rc && wrote) {
        *out = after;
        memset(&after, 0, sizeof after);
    }
out_release:
    s->ops->release(c);
    json_decref(changes);
    task_release(&before);
    task_release(&after);
    return rc;
}

int svc_task_update(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                    const struct task_input *in, struct task *out, struct tock_error *e)
{
    return mutate(s, ctx, id, if_match, in, 0, out, e);
}

int svc_task_complete(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                      struct task *out)
{
    struct tock_error e;
    return mutate(s, ctx, id, if_match, NULL, 1, out, &e);
}

int svc_task_reopen(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match,
                    struct task *out)
{
    struct tock_error e;
    return mutate(s, ctx, id, if_match, NULL, 2, out, &e);
}

int svc_task_delete(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct task t;
    memset(&t, 0, sizeof t);
    if ((rc = s->ops->begin(c, true)))
        goto out_release;
    rc = s->ops->task_get(c, ctx->user_id, id, true, &t);
    if (!rc && if_match >= 0 && if_match != t.version)
        rc = TOCK_ESTALE;
    if (!rc) {
        int64_t now = clock_now_ms();
        t.deleted_at = now;
        t.updated_at = now;
        t.version++;
        rc = s->ops->task_update(c, &t);
    }
    if (!rc) /* ---- reminders: cancel the pending ones ---- */
        rc = svc_reminders_task_changed(s, c, ctx, &t, &t);
    if (!rc)
        rc = svc_emit_task(s, c, ctx, "task.deleted", "deleted", &t, NULL);
    rc = svc_finish(s, c, rc, true);
    if (!rc && ctx->reminders_changed)
        svc_reminders_kick(s);
out_release:
    s->ops->release(c);
    task_release(&t);
    return rc;
}

int svc_task_list(struct svc *s, struct svc_ctx *ctx, const struct task_filter *f,
                  struct task **out, size_t *n, char **next_cursor)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    double *ranks = NULL;
    struct task *v = NULL;
    size_t m = 0;
    rc = s->ops->task_list(c, ctx->user_id, f, &v, &m, &ranks);
    s->ops->release(c);
    if (rc)
        return rc;
    *next_cursor = NULL;
    if (m > (size_t)f->limit) {
        /* The extra row proves there is a next page; the cursor is the last shown. */
        task_release(&v[m - 1]);
        m--;
        *next_cursor = filter_cursor_encode(f, &v[m - 1], ranks[m - 1]);
        if (!*next_cursor) {
            free(ranks);
            svc_tasks_free(v, m);
            return TOCK_ENOMEM;
        }
    }
    free(ranks);
    *out = v;
    *n = m;
    return 0;
}

int svc_task_history(struct svc *s, struct svc_ctx *ctx, int64_t id, struct outbox_row **out,
                     size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct task t;
    rc = s->ops->begin(c, false);
    if (!rc)
        rc = s->ops->task_get(c, ctx->user_id, id, false, &t);
    if (!rc) {
        task_release(&t);
        rc = s->ops->task_history(c, ctx->user_id, id, out, n);
    }
    s->ops->rollback(c);
    s->ops->release(c);
    return rc;
}
