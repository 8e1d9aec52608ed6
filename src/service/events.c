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

#include "core/timeutil.h"
#include "core/uuid.h"
#include "obs/clock.h"
#include "obs/rand.h"
#include "obs/trace.h"
#include "service/service.h"

#define EVENT_SCHEMA_VERSION 1

int svc_emit(struct svc *s, struct store_conn *c, struct svc_ctx *ctx, const char *topic,
             const char *type, int64_t task_id, json_t *data)
{
    int64_t now = clock_now_ms();
    uint8_t rnd[10];
    rand_fast(rnd, sizeof rnd);
    struct outbox_row r;
    memset(&r, 0, sizeof r);
    uuid7_format(now, rnd, r.event_id);
    char ts[32], uid[24], tid[24], tp[TRACEPARENT_LEN + 1];
    time_fmt_rfc3339(now, ts);
    id_str(ctx->user_id, uid);
    id_str(task_id, tid);
    if (!ctx->traceparent) {
        trace_from_header(NULL, ctx->trace_buf);
        ctx->traceparent = ctx->trace_buf;
    }
    snprintf(tp, sizeof tp, "%s", ctx->traceparent);
    json_object_set_new(data, "schema_version", json_integer(EVENT_SCHEMA_VERSION));
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "specversion", "1.0",
                           "id", r.event_id, "source", s->cfg.source, "type", type, "time", ts,
                           "subject", tid, "datacontenttype", "application/json", "userid", uid,
                           "traceparent", tp, "data", data);
    if (!ev)
        return TOCK_ENOMEM;
    r.event_json = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (!r.event_json)
        return TOCK_ENOMEM;
    snprintf(r.topic, sizeof r.topic, "%s", topic);
    snprintf(r.key, sizeof r.key, "%s", uid);
    snprintf(r.type, sizeof r.type, "%s", type);
    r.user_id = ctx->user_id;
    r.task_id = task_id;
    r.created_at = now;
    int rc = s->ops->outbox_append(c, &r);
    free(r.event_json);
    return rc;
}

int svc_emit_task(struct svc *s, struct store_conn *c, struct svc_ctx *ctx,
                  const char *type, const char *sync_change, const struct task *t,
                  json_t *changes)
{
    int64_t now = clock_now_ms();
    int rc = 0;
    if (type) {
        json_t *data = json_object();
        json_object_set_new(data, "task", task_to_json(t, now));
        if (changes)
            json_object_set(data, "changes", changes);
        rc = svc_emit(s, c, ctx, "task-events", type, t->id, data);
    }
    if (!rc && sync_change) {
        json_t *data = json_object();
        json_object_set_new(data, "change", json_string(sync_change));
        json_object_set_new(data, "task", task_to_json(t, now));
        rc = svc_emit(s, c, ctx, "task-updates", "task.sync", t->id, data);
    }
    return rc;
}
