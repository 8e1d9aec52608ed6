/*
 * events.c — building CloudEvents 1.0 (structured JSON) and appending them to the
 * outbox in the caller's transaction. The envelope is fixed here: specversion, id
 * (UUIDv7), source, type, time, subject (task id), datacontenttype, userid,
 * traceparent, data {schema_version, ...}. See docs/events.md.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "obs/clock.h"
#include "obs/rand.h"
#include "obs/trace.h"
#include "service/service.h"

#define EVENT_SCHEMA_VERSION 1

/*
 * Builds one event row whose data members (without braces, e.g. "\"task\":{...}") are
 * already written: the envelope is written directly, no JSON tree is built. This runs
 * inside the write unit, where every microsecond is serialized across requests.
 * r->event_json is heap memory the caller frees.
 */
static int build_raw(struct svc *s, struct svc_ctx *ctx, const char *topic, const char *type,
                     int64_t task_id, const struct buf *data_members, struct outbox_row *r)
{
    int64_t now = clock_now_ms();
    uint8_t rnd[10];
    rand_fast(rnd, sizeof rnd);
    memset(r, 0, sizeof *r);
    uuid7_format(now, rnd, r->event_id);
    char ts[32], uid[24], tid[24];
    time_fmt_rfc3339(now, ts);
    id_str(ctx->user_id, uid);
    id_str(task_id, tid);
    if (!ctx->traceparent) {
        trace_from_header(NULL, ctx->trace_buf);
        ctx->traceparent = ctx->trace_buf;
    }
    struct buf b = BUF_INIT;
    int rc = buf_puts(&b, "{\"specversion\":\"1.0\",\"id\":\"");
    rc |= buf_puts(&b, r->event_id);
    rc |= buf_puts(&b, "\",\"source\":");
    rc |= buf_json_str(&b, ctx->source ? ctx->source : s->cfg.source);
    rc |= buf_puts(&b, ",\"type\":");
    rc |= buf_json_str(&b, type);
    rc |= buf_printf(&b, ",\"time\":\"%.24s\",\"subject\":\"%s\",\"datacontenttype\":"
                         "\"application/json\",\"userid\":\"%s\",\"traceparent\":",
                     ts, tid, uid);
    rc |= buf_json_str(&b, ctx->traceparent);
    rc |= buf_printf(&b, ",\"data\":{\"schema_version\":%d,", EVENT_SCHEMA_VERSION);
    rc |= buf_append(&b, data_members->data, data_members->len);
    rc |= buf_puts(&b, "}}");
    if (rc) {
        buf_free(&b);
        return TOCK_ENOMEM;
    }
    r->event_json = buf_detach(&b, NULL);
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    snprintf(r->key, sizeof r->key, "%s", uid);
    snprintf(r->type, sizeof r->type, "%s", type);
    r->user_id = ctx->user_id;
    r->task_id = task_id;
    r->created_at = now;
    return 0;
}

/* Appends one event (see build_raw) to the outbox in the caller's transaction. */
static int emit_raw(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, const char *topic,
                    const char *type, int64_t task_id, const struct buf *data_members)
{
    struct outbox_row r;
    int rc = build_raw(s, ctx, topic, type, task_id, data_members, &r);
    if (!rc)
        rc = s->ops->outbox_append(c, &r);
    free(r.event_json);
    return rc;
}

static int dump_members(const char *buffer, size_t size, void *data)
{
    return buf_append(data, buffer, size) ? -1 : 0;
}

int svc_emit(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, const char *topic,
             const char *type, int64_t task_id, json_t *data)
{
    /* Members of the data object, written without its braces. */
    struct buf m = BUF_INIT;
    int rc = 0;
    const char *key;
    json_t *val;
    bool first = true;
    json_object_foreach(data, key, val)
    {
        if (strcmp(key, "schema_version") == 0)
            continue;
        rc |= buf_puts(&m, first ? "" : ",");
        rc |= buf_json_str(&m, key);
        rc |= buf_puts(&m, ":");
        if (json_dump_callback(val, dump_members, &m, JSON_COMPACT | JSON_ENCODE_ANY))
            rc = TOCK_ENOMEM;
        first = false;
    }
    json_decref(data);
    if (!rc)
        rc = emit_raw(s, c, ctx, topic, type, task_id, &m);
    buf_free(&m);
    return rc;
}

int svc_emit_task(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                  const char *type, const char *sync_change, const struct task *t,
                  json_t *changes)
{
    int64_t now = clock_now_ms();
    /* The snapshot is written once and shared by the event and its task.sync. */
    struct buf snap = BUF_INIT, m = BUF_INIT;
    int rc = task_write_json(&snap, t, now) ? TOCK_ENOMEM : 0;
    if (!rc && type) {
        rc |= buf_puts(&m, "\"task\":");
        rc |= buf_append(&m, snap.data, snap.len);
        if (changes) {
            rc |= buf_puts(&m, ",\"changes\":");
            if (json_dump_callback(changes, dump_members, &m, JSON_COMPACT))
                rc = TOCK_ENOMEM;
        }
        rc = rc ? TOCK_ENOMEM : emit_raw(s, c, ctx, "task-events", type, t->id, &m);
    }
    if (!rc && sync_change) {
        buf_reset(&m);
        rc |= buf_puts(&m, "\"change\":");
        rc |= buf_json_str(&m, sync_change);
        rc |= buf_puts(&m, ",\"task\":");
        rc |= buf_append(&m, snap.data, snap.len);
        rc = rc ? TOCK_ENOMEM : emit_raw(s, c, ctx, "task-updates", "task.sync", t->id, &m);
    }
    buf_free(&snap);
    buf_free(&m);
    return rc;
}

/* ---- reminders: the public forms of emit_raw and build_raw ---- */
int svc_event_build(struct svc *s, struct svc_ctx *ctx, const char *topic, const char *type,
                    int64_t task_id, const struct buf *members, struct outbox_row *out)
{
    return build_raw(s, ctx, topic, type, task_id, members, out);
}

int svc_emit_raw(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, const char *topic,
                 const char *type, int64_t task_id, const struct buf *members)
{
    return emit_raw(s, c, ctx, topic, type, task_id, members);
}
