/*
 * reminders.c — reminder operations: the API's create/list/delete/snooze, the
 * hooks task operations call inside their own transaction (replace a task's
 * reminders, move offset reminders when the due changes, cancel them when the
 * task is completed or deleted, copy offsets to a series' next occurrence) and
 * the scheduler's "fire what is due" unit, which marks reminders fired and writes
 * their reminder.due events in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "obs/clock.h"
#include "obs/metrics.h"
#include "service/service.h"

void svc_reminders_kick(struct svc *s)
{
    if (s->reminder_kick)
        s->reminder_kick(s->reminder_kick_arg);
}

/* Unit of work on a live task of the caller: acquire, begin, load (locked). */
static int open_task(struct svc *s, struct svc_ctx *ctx, int64_t task_id, struct store_conn **c,
                     struct task *t)
{
    int rc = s->ops->acquire(s->store, c);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(*c, true))) {
        s->ops->release(*c);
        return rc;
    }
    if ((rc = s->ops->task_get(*c, ctx->user_id, task_id, true, t))) {
        s->ops->rollback(*c);
        s->ops->release(*c);
    }
    return rc;
}

static int count_task(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, int64_t task_id,
                      size_t *n)
{
    struct reminder *v = NULL;
    int rc = s->ops->reminder_list_task(c, ctx->user_id, task_id, &v, n);
    free(v);
    return rc;
}

int svc_reminder_create(struct svc *s, struct svc_ctx *ctx, int64_t task_id,
                        const struct reminder_input *in, struct reminder *out,
                        struct tock_error *e)
{
    struct store_conn *c;
    struct task t;
    int rc = open_task(s, ctx, task_id, &c, &t);
    if (rc)
        return rc;
    size_t n = 0;
    struct reminder r;
    if (t.status == TASK_DONE)
        rc = tock_fail(e, TOCK_EINVAL, "task", "the task is completed");
    if (!rc)
        rc = count_task(s, c, ctx, task_id, &n);
    if (!rc && n >= REMINDERS_PER_TASK_MAX)
        rc = tock_fail(e, TOCK_ELIMIT, "reminders", "at most %d reminders per task",
                       REMINDERS_PER_TASK_MAX);
    if (!rc)
        rc = reminder_from_input(&r, in, &t, clock_now_ms(), "", e);
    if (!rc)
        rc = s->ops->reminder_insert(c, &r);
    rc = svc_finish(s, c, rc, false);
    s->ops->release(c);
    task_release(&t);
    if (rc)
        return rc;
    svc_reminders_kick(s);
    *out = r;
    return 0;
}

int svc_reminder_list_task(struct svc *s, struct svc_ctx *ctx, int64_t task_id,
                           struct reminder **out, size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct task t;
    rc = s->ops->begin(c, false);
    if (!rc && !(rc = s->ops->task_get(c, ctx->user_id, task_id, false, &t))) {
        task_release(&t);
        rc = s->ops->reminder_list_task(c, ctx->user_id, task_id, out, n);
    }
    s->ops->rollback(c);
    s->ops->release(c);
    return rc;
}

int svc_reminder_list(struct svc *s, struct svc_ctx *ctx, int64_t from, int64_t to, int limit,
                      struct reminder **out, size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->reminder_list_user(c, ctx->user_id, from, to, limit, out, n);
    s->ops->release(c);
    return rc;
}

int svc_reminder_get(struct svc *s, struct svc_ctx *ctx, int64_t id, struct reminder *out)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->reminder_get(c, ctx->user_id, id, out);
    s->ops->release(c);
    return rc;
}

int svc_reminder_delete(struct svc *s, struct svc_ctx *ctx, int64_t id)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if (!(rc = s->ops->begin(c, true))) {
        rc = s->ops->reminder_delete(c, ctx->user_id, id);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    return rc;
}

int svc_reminder_snooze(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t minutes,
                        struct reminder *out, struct tock_error *e)
{
    if (minutes < 1 || minutes > REMINDER_SNOOZE_MAX_MINUTES)
        return tock_fail(e, TOCK_EINVAL, "minutes", "minutes must be 1-%d",
                         REMINDER_SNOOZE_MAX_MINUTES);
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct reminder r;
    struct task t;
    memset(&t, 0, sizeof t);
    if ((rc = s->ops->begin(c, true)))
        goto out_release;
    rc = s->ops->reminder_get(c, ctx->user_id, id, &r);
    if (!rc)
        rc = s->ops->task_get(c, ctx->user_id, r.task_id, true, &t);
    if (!rc && (r.state == REMINDER_CANCELLED || t.status == TASK_DONE))
        rc = tock_fail(e, TOCK_EINVAL, "id", "the reminder is cancelled (its task is done)");
    if (!rc) {
        int64_t now = clock_now_ms();
        r.fire_at = now + minutes * 60000;
        r.state = REMINDER_PENDING;
        r.fired_at = 0;
        r.late = false;
        r.snoozes++;
        r.updated_at = now;
        rc = s->ops->reminder_update(c, &r);
    }
    rc = svc_finish(s, c, rc, false);
    task_release(&t);
out_release:
    s->ops->release(c);
    if (rc)
        return rc;
    svc_reminders_kick(s);
    *out = r;
    return 0;
}

/* ---- hooks run inside task transactions ---- */

int svc_reminders_replace(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                          const struct task *t, const struct reminder_input *in, size_t n,
                          struct tock_error *e)
{
    if (n > REMINDERS_PER_TASK_MAX)
        return tock_fail(e, TOCK_EINVAL, "reminders", "at most %d reminders per task",
                         REMINDERS_PER_TASK_MAX);
    struct reminder *old = NULL;
    size_t m = 0;
    int rc = s->ops->reminder_list_task(c, ctx->user_id, t->id, &old, &m);
    for (size_t i = 0; !rc && i < m; i++)
        rc = s->ops->reminder_delete(c, ctx->user_id, old[i].id);
    free(old);
    int64_t now = clock_now_ms();
    for (size_t i = 0; !rc && i < n; i++) {
        char field[32];
        snprintf(field, sizeof field, "reminders[%zu].", i);
        struct reminder r;
        rc = reminder_from_input(&r, &in[i], t, now, field, e);
        if (!rc && t->status == TASK_DONE)
            r.state = REMINDER_CANCELLED;
        if (!rc)
            rc = s->ops->reminder_insert(c, &r);
    }
    if (!rc)
        ctx->reminders_changed = true;
    return rc;
}

static bool due_changed(const struct task *a, const struct task *b)
{
    return a->has_due != b->has_due || a->due_at != b->due_at ||
           a->due_has_time != b->due_has_time || strcmp(a->due_local, b->due_local) != 0 ||
           strcmp(a->timezone, b->timezone) != 0;
}

int svc_reminders_task_changed(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                               const struct task *before, const struct task *after)
{
    int64_t now = clock_now_ms();
    bool gone = after->deleted_at != 0;
    bool completed = after->status == TASK_DONE && before->status != TASK_DONE;
    bool reopened = before->status == TASK_DONE && after->status != TASK_DONE;
    if (gone || completed) {
        int64_t n = 0;
        int rc = s->ops->reminder_cancel_task(c, after->id, now, &n);
        if (!rc && n)
            ctx->reminders_changed = true;
        return rc;
    }
    bool moved = due_changed(before, after);
    if (!moved && !reopened)
        return 0;
    int64_t anchor = 0;
    if (reminder_anchor(after, &anchor))
        anchor = 0;
    struct reminder *v = NULL;
    size_t m = 0;
    int rc = s->ops->reminder_list_task(c, ctx->user_id, after->id, &v, &m);
    for (size_t i = 0; !rc && i < m; i++) {
        struct reminder r = v[i];
        int64_t fire = r.kind == REMINDER_OFFSET ? (anchor ? anchor - r.offset_minutes * 60000 : 0)
                                                 : r.fire_at;
        bool change = false;
        if (r.state == REMINDER_PENDING && r.kind == REMINDER_OFFSET && fire != r.fire_at) {
            /* Moves with the due (or waits without one). */
            r.fire_at = fire;
            change = true;
        } else if (r.state == REMINDER_FIRED && r.kind == REMINDER_OFFSET && moved && fire > now) {
            /* Fired for the old due; the new one is ahead: remind again. */
            r.fire_at = fire;
            r.state = REMINDER_PENDING;
            r.fired_at = 0;
            r.late = false;
            change = true;
        } else if (r.state == REMINDER_CANCELLED && reopened && fire > now) {
            /* Cancelled by the completion that was just undone. */
            r.fire_at = fire;
            r.state = REMINDER_PENDING;
            change = true;
        }
        if (change) {
            r.updated_at = now;
            rc = s->ops->reminder_update(c, &r);
            ctx->reminders_changed = true;
        }
    }
    free(v);
    return rc;
}

int svc_reminders_copy_offsets(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                               int64_t from_task_id, const struct task *to)
{
    struct reminder *v = NULL;
    size_t m = 0;
    int rc = s->ops->reminder_list_task(c, ctx->user_id, from_task_id, &v, &m);
    int64_t now = clock_now_ms();
    for (size_t i = 0; !rc && i < m; i++) {
        if (v[i].kind != REMINDER_OFFSET)
            continue;
        bool dup = false; /* one copy per distinct offset */
        for (size_t j = 0; j < i; j++)
            if (v[j].kind == REMINDER_OFFSET && v[j].offset_minutes == v[i].offset_minutes)
                dup = true;
        if (dup)
            continue;
        struct reminder_input in = {.is_offset = true, .offset_minutes = v[i].offset_minutes};
        struct reminder r;
        struct tock_error e;
        if (!to->has_due) {
            /* No due on the next occurrence: keep the offset, waiting for one. */
            memset(&r, 0, sizeof r);
            r.user_id = to->user_id;
            r.task_id = to->id;
            r.kind = REMINDER_OFFSET;
            r.offset_minutes = v[i].offset_minutes;
            r.created_at = r.updated_at = now;
        } else if ((rc = reminder_from_input(&r, &in, to, now, "", &e))) {
            break;
        }
        rc = s->ops->reminder_insert(c, &r);
    }
    free(v);
    if (!rc && m)
        ctx->reminders_changed = true;
    return rc;
}

/* ---- the scheduler's unit ---- */

int svc_reminder_next(struct svc *s, int64_t *fire_at)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->reminder_next(c, fire_at);
    s->ops->release(c);
    return rc;
}

/* The data members of reminder.due (see docs/events.md). */
static int due_members(struct buf *m, const struct reminder_fire *f)
{
    const struct reminder *r = &f->r;
    char ts[32], id[24];
    int rc = 0;
    id_str(r->id, id);
    rc |= buf_printf(m, "\"reminder_id\":\"%s\",", id);
    id_str(r->task_id, id);
    rc |= buf_printf(m, "\"task_id\":\"%s\",\"title\":", id);
    rc |= buf_json_str(m, f->title);
    rc |= buf_puts(m, ",\"due\":");
    rc |= f->has_due ? buf_json_str(m, f->due_local) : buf_puts(m, "null");
    rc |= buf_puts(m, ",\"due_at\":");
    if (f->has_due) {
        time_fmt_rfc3339(f->due_at, ts);
        rc |= buf_printf(m, "\"%s\"", ts);
    } else {
        rc |= buf_puts(m, "null");
    }
    rc |= buf_puts(m, ",\"timezone\":");
    rc |= buf_json_str(m, f->timezone);
    rc |= buf_printf(m, ",\"kind\":\"%s\",", reminder_kind_name(r->kind));
    if (r->kind == REMINDER_OFFSET) {
        rc |= buf_printf(m, "\"offset_minutes\":%lld,", (long long)r->offset_minutes);
    } else {
        time_fmt_rfc3339(r->at_ms, ts);
        rc |= buf_printf(m, "\"at\":\"%s\",", ts);
    }
    time_fmt_rfc3339(r->fire_at, ts);
    rc |= buf_printf(m, "\"fire_at\":\"%s\",", ts);
    time_fmt_rfc3339(r->fired_at, ts);
    rc |= buf_printf(m, "\"fired_at\":\"%s\",\"late\":%s,\"snoozes\":%lld", ts,
                     r->late ? "true" : "false", (long long)r->snoozes);
    return rc ? TOCK_ENOMEM : 0;
}

/*
 * Events are written user by user, soonest first: one user's reminder.due events keep
 * fire order, and concurrent schedulers take the per-user outbox locks (PostgreSQL) in
 * the same order, so they never deadlock on them.
 */
static int cmp_fire(const void *a, const void *b)
{
    const struct reminder *x = &((const struct reminder_fire *)a)->r;
    const struct reminder *y = &((const struct reminder_fire *)b)->r;
    if (x->user_id != y->user_id)
        return x->user_id < y->user_id ? -1 : 1;
    if (x->fire_at != y->fire_at)
        return x->fire_at < y->fire_at ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int svc_reminders_fire_due(struct svc *s, int64_t now, int limit, int64_t late_ms,
                           size_t *fired)
{
    *fired = 0;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(c, true))) {
        s->ops->release(c);
        return rc;
    }
    struct reminder_fire *v = NULL;
    size_t n = 0;
    rc = s->ops->reminder_claim_due(c, now, limit, late_ms, &v, &n);
    if (!rc && n > 1)
        qsort(v, n, sizeof *v, cmp_fire);
    struct buf m = BUF_INIT;
    struct outbox_row *rows = n ? calloc(n, sizeof *rows) : NULL;
    if (n && !rows)
        rc = TOCK_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        struct svc_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.user_id = v[i].r.user_id;
        ctx.source = "tock/scheduler";
        buf_reset(&m);
        rc = due_members(&m, &v[i]);
        if (!rc)
            rc = svc_event_build(s, &ctx, "reminders", "reminder.due", v[i].r.task_id, &m,
                                 &rows[i]);
    }
    /* One round trip for the burst where the store can (PostgreSQL). */
    if (!rc && n && s->ops->outbox_append_batch)
        rc = s->ops->outbox_append_batch(c, rows, n);
    for (size_t i = 0; !rc && n && !s->ops->outbox_append_batch && i < n; i++)
        rc = s->ops->outbox_append(c, &rows[i]);
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].event_json);
    free(rows);
    buf_free(&m);
    rc = svc_finish(s, c, rc, n > 0);
    s->ops->release(c);
    if (!rc) {
        *fired = n;
        for (size_t i = 0; i < n; i++) {
            int64_t late = now - v[i].r.fire_at;
            metrics_counter_add("tock_reminders_fired_total", "late",
                                v[i].r.late ? "true" : "false", 1);
            metrics_counter_add("tock_reminder_lateness_seconds_total", "role", "scheduler",
                                (uint64_t)(late > 0 ? late : 0) * 1000000);
        }
    }
    reminder_fires_free(v, n);
    return rc;
}
