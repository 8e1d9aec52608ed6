/*
 * tags.c — tag operations. Renaming onto an existing name merges the two tags;
 * deleting a tag removes it from its tasks. Both change tasks, so each affected
 * task gets a new version and a task.updated event (changes.tags) in the same
 * transaction, like any other task change.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "obs/clock.h"
#include "service/service.h"

static int color_check(const char *c)
{
    if (strlen(c) != 7 || c[0] != '#')
        return TOCK_EINVAL;
    for (int i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)c[i]))
            return TOCK_EINVAL;
    return 0;
}

int svc_tag_list(struct svc *s, struct svc_ctx *ctx, const char *prefix, struct tag **out,
                 size_t *n, struct tock_error *e)
{
    char norm[TAG_NAME_MAX + 1] = "";
    if (prefix && *prefix && tag_name_normalize(prefix, norm))
        return tock_fail(e, TOCK_EINVAL, "prefix", "prefix must be tag characters");
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->tag_list(c, ctx->user_id, norm, 1000, out, n);
    s->ops->release(c);
    return rc;
}

int svc_tag_create(struct svc *s, struct svc_ctx *ctx, const char *name, const char *color,
                   struct tag *out, bool *created, struct tock_error *e)
{
    struct tag t;
    memset(&t, 0, sizeof t);
    t.user_id = ctx->user_id;
    if (tag_name_normalize(name, t.name))
        return tock_fail(e, TOCK_EINVAL, "name", "a tag is 1-64 letters, digits, '-' or '_'");
    if (color && color_check(color))
        return tock_fail(e, TOCK_EINVAL, "color", "color must be #rrggbb");
    if (color)
        snprintf(t.color, sizeof t.color, "%s", color);
    /*
     * Two concurrent creates of one name both miss the lookup; the second insert
     * hits the unique key (on PostgreSQL that aborts its transaction). Its retry
     * finds the winner's tag: the answer is "exists", never a 409.
     */
    int rc = TOCK_ECONFLICT;
    for (int attempt = 0; attempt < 3 && rc == TOCK_ECONFLICT; attempt++) {
        struct store_conn *c;
        if ((rc = s->ops->acquire(s->store, &c)))
            return rc;
        if ((rc = s->ops->begin(c, true)) == 0) {
            rc = s->ops->tag_by_name(c, ctx->user_id, t.name, out);
            *created = false;
            if (rc == TOCK_ENOTFOUND) {
                rc = s->ops->tag_insert(c, &t);
                if (!rc) {
                    *out = t;
                    *created = true;
                }
            }
            rc = svc_finish(s, c, rc, false);
        }
        s->ops->release(c);
    }
    return rc;
}

/* Re-reads the given tasks after a tag change and writes a new version + events. */
static int touch_tasks(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                       const int64_t *ids, size_t n, struct task *befores)
{
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        struct task after;
        int rc = s->ops->task_get(c, ctx->user_id, ids[i], true, &after);
        if (rc)
            return rc;
        json_t *changes = task_diff_json(&befores[i], &after, now);
        if (json_object_size(changes)) {
            after.version = befores[i].version + 1;
            after.updated_at = now;
            rc = s->ops->task_update(c, &after);
            if (!rc)
                rc = svc_emit_task(s, c, ctx, "task.updated", "updated", &after, changes);
        }
        json_decref(changes);
        task_release(&after);
        if (rc)
            return rc;
    }
    return 0;
}

/* Loads the live tasks carrying tag_id (the "before" images). */
static int load_tagged(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, int64_t tag_id,
                       int64_t **ids, size_t *n, struct task **befores)
{
    int rc = s->ops->tag_task_ids(c, ctx->user_id, tag_id, ids, n);
    if (rc)
        return rc;
    *befores = calloc(*n ? *n : 1, sizeof **befores);
    if (!*befores)
        return TOCK_ENOMEM;
    for (size_t i = 0; i < *n; i++)
        if ((rc = s->ops->task_get(c, ctx->user_id, (*ids)[i], true, &(*befores)[i])))
            return rc;
    return 0;
}

static void free_tagged(int64_t *ids, size_t n, struct task *befores)
{
    if (befores)
        for (size_t i = 0; i < n; i++)
            task_release(&befores[i]);
    free(befores);
    free(ids);
}

int svc_tag_update(struct svc *s, struct svc_ctx *ctx, int64_t id, const char *name,
                   const char *color, struct tag *out, struct tock_error *e)
{
    char norm[TAG_NAME_MAX + 1] = "";
    if (name && tag_name_normalize(name, norm))
        return tock_fail(e, TOCK_EINVAL, "name", "a tag is 1-64 letters, digits, '-' or '_'");
    if (color && *color && color_check(color))
        return tock_fail(e, TOCK_EINVAL, "color", "color must be #rrggbb or null");
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    int64_t *ids = NULL;
    size_t n = 0;
    struct task *befores = NULL;
    struct tag t, other;
    bool wrote = false;
    if ((rc = s->ops->begin(c, true)))
        goto out_release;
    if ((rc = s->ops->tag_get(c, ctx->user_id, id, &t)))
        goto out;
    if (color)
        snprintf(t.color, sizeof t.color, "%s", color);
    if (name && strcmp(norm, t.name) != 0) {
        if ((rc = load_tagged(s, c, ctx, id, &ids, &n, &befores)))
            goto out;
        rc = s->ops->tag_by_name(c, ctx->user_id, norm, &other);
        if (rc == 0) {
            /* Merge into the existing tag; it keeps its color unless one was given. */
            if (color)
                snprintf(other.color, sizeof other.color, "%s", color);
            if ((rc = s->ops->tag_merge(c, ctx->user_id, id, other.id)) ||
                (rc = s->ops->tag_update(c, &other)))
                goto out;
            t = other;
        } else if (rc == TOCK_ENOTFOUND) {
            snprintf(t.name, sizeof t.name, "%s", norm);
            if ((rc = s->ops->tag_update(c, &t)))
                goto out;
        } else {
            goto out;
        }
        if ((rc = touch_tasks(s, c, ctx, ids, n, befores)))
            goto out;
        wrote = n > 0;
    } else if ((rc = s->ops->tag_update(c, &t))) {
        goto out;
    }
    rc = s->ops->tag_get(c, ctx->user_id, t.id, out);
out:
    rc = svc_finish(s, c, rc, wrote);
out_release:
    s->ops->release(c);
    free_tagged(ids, n, befores);
    return rc;
}

int svc_tag_delete(struct svc *s, struct svc_ctx *ctx, int64_t id)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    int64_t *ids = NULL;
    size_t n = 0;
    struct task *befores = NULL;
    struct tag t;
    if ((rc = s->ops->begin(c, true)))
        goto out_release;
    if (!(rc = s->ops->tag_get(c, ctx->user_id, id, &t)) &&
        !(rc = load_tagged(s, c, ctx, id, &ids, &n, &befores)) &&
        !(rc = s->ops->tag_delete(c, ctx->user_id, id)))
        rc = touch_tasks(s, c, ctx, ids, n, befores);
    rc = svc_finish(s, c, rc, n > 0);
out_release:
    s->ops->release(c);
    free_tagged(ids, n, befores);
    return rc;
}
