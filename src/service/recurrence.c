/*
 * recurrence.c — the service side of recurring tasks: making the next occurrence of
 * a completed one (inside the recurring consumer's transaction) and deleting a whole
 * series. The rules (which due comes next, when a series ends) are core/recur.c's;
 * this file only loads, writes and emits. See docs/recurrence.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/recur.h"
#include "obs/clock.h"
#include "obs/log.h"
#include "service/service.h"

/* The series start of t: its stored anchor, or its own due for rows without one. */
static int series_start(const struct task *t, struct local_dt *out)
{
    const char *s = t->series_start[0] ? t->series_start : t->due_local;
    return time_parse_local(s, out) ? TOCK_EINVAL : 0;
}

int svc_recur_next(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                   const struct task *done, struct task *out, bool *created)
{
    *created = false;
    if (!done->rrule || !done->has_due || done->status != TASK_DONE)
        return 0;
    int64_t series = done->series_id ? done->series_id : done->id;
    int64_t occ = done->occurrence ? done->occurrence : 1;
    bool exists = false;
    int rc = s->ops->task_occurrence_exists(c, done->user_id, series, occ + 1, &exists);
    if (rc || exists)
        return rc;

    struct recur_req q = {0};
    q.rrule = done->rrule;
    q.recur_from = done->recur_from;
    q.zone = done->timezone;
    q.due_ms = done->due_at;
    q.occurrence = occ;
    q.now_ms = clock_now_ms();
    q.completed_ms = done->completed_at ? done->completed_at : q.now_ms;
    if (series_start(done, &q.start) || time_parse_local(done->due_local, &q.due)) {
        log_msg(LOG_WARN, "recurring: task %lld has an unreadable due or series start; the "
                          "series ends",
                (long long)done->id);
        return 0;
    }
    struct local_dt next;
    rc = recur_next_due(&q, &next);
    if (rc == TOCK_ENOTFOUND)
        return 0; /* COUNT, UNTIL or the search bound ended the series */
    if (rc) {
        log_msg(LOG_WARN, "recurring: task %lld: rule cannot be expanded (%s); the series ends",
                (long long)done->id, tock_strerror(rc));
        return 0;
    }

    struct task t;
    memset(&t, 0, sizeof t);
    t.user_id = done->user_id;
    t.title = strdup(done->title);
    t.description = strdup(done->description ? done->description : "");
    t.rrule = strdup(done->rrule);
    if (!t.title || !t.description || !t.rrule) {
        task_release(&t);
        return TOCK_ENOMEM;
    }
    t.priority = done->priority;
    t.status = TASK_TODO;
    t.recur_from = done->recur_from;
    t.series_id = series;
    t.occurrence = occ + 1;
    snprintf(t.timezone, sizeof t.timezone, "%s", done->timezone);
    char due[20];
    time_fmt_local(&next, due);
    /* The due goes through core's rules (a time in a DST gap moves forward there). */
    struct task_input in = {0};
    in.set = TI_DUE | TI_TAGS;
    in.due = due;
    in.tags = (const char *const *)done->tags;
    in.ntags = done->ntags;
    struct tock_error e = {0};
    if ((rc = task_apply(&t, &in, done->timezone, &e))) {
        log_msg(LOG_WARN, "recurring: next occurrence of task %lld (due %s) is invalid: %s",
                (long long)done->id, due, e.message);
        task_release(&t);
        return rc == TOCK_EINVAL ? 0 : rc;
    }
    /* The series keeps its anchor (task_apply anchors a new rule at the due). */
    snprintf(t.series_start, sizeof t.series_start, "%s",
             done->series_start[0] ? done->series_start : done->due_local);
    int64_t now = clock_now_ms();
    t.created_at = t.updated_at = now;
    t.version = 1;
    /* A concurrent insert of the same occurrence fails on the unique key: the caller
     * retries and then finds it above. */
    rc = s->ops->task_insert(c, &t);
    /* The series' reminder offsets carry over to the new occurrence (same transaction). */
    if (!rc)
        rc = svc_reminders_copy_offsets(s, c, ctx, done->id, &t);
    if (!rc)
        rc = svc_emit_task(s, c, ctx, "task.created", "created", &t, NULL);
    if (rc) {
        task_release(&t);
        return rc;
    }
    *created = true;
    if (out)
        *out = t;
    else
        task_release(&t);
    return 0;
}

int svc_task_delete_series(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t if_match)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct task t;
    memset(&t, 0, sizeof t);
    struct task *open = NULL;
    size_t nopen = 0;
    struct task_filter f;
    memset(&f, 0, sizeof f);
    if ((rc = s->ops->begin(c, true)))
        goto out_release;
    rc = s->ops->task_get(c, ctx->user_id, id, true, &t);
    if (!rc && if_match >= 0 && if_match != t.version)
        rc = TOCK_ESTALE;
    if (rc)
        goto out;
    /* The other open occurrences of the series (normally none or one). */
    char sid[24];
    id_str(t.series_id ? t.series_id : t.id, sid);
    struct qparam qp[] = {{"series_id", sid}, {"status", "todo,in_progress"}, {"limit", "200"}};
    struct tock_error e = {0};
    int64_t now = clock_now_ms();
    if ((rc = filter_parse(&f, qp, 3, ctx->timezone, now, &e)))
        goto out;
    if ((rc = s->ops->task_list(c, ctx->user_id, &f, &open, &nopen, NULL)))
        goto out;
    for (size_t i = 0; !rc && i <= nopen; i++) {
        struct task *x = i < nopen ? &open[i] : &t;
        if (i < nopen && x->id == t.id)
            continue;
        free(x->rrule);
        x->rrule = NULL;
        x->series_start[0] = 0;
        x->deleted_at = now;
        x->updated_at = now;
        x->version++;
        rc = s->ops->task_update(c, x);
        if (!rc)
            rc = svc_emit_task(s, c, ctx, "task.deleted", "deleted", x, NULL);
    }
out:
    rc = svc_finish(s, c, rc, true);
out_release:
    s->ops->release(c);
    filter_release(&f);
    svc_tasks_free(open, nopen);
    task_release(&t);
    return rc;
}
