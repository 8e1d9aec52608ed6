/*
 * dlq.c — the dead letters: listing the tock.deadletter events (outbox and
 * event_log) and replaying one. A replay is one transaction: it records the replay
 * under the reserved consumer name "dlq-replay" (so a dead letter is replayed at
 * most once; those marks are never pruned), removes the failed consumer's
 * processed mark of the original event, and appends the original event unchanged
 * (same id) to the outbox on its original topic. The relay delivers it again; the
 * consumer that dead-lettered it processes it, every other consumer skips it by id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/clock.h"
#include "service/service.h"

#define DLQ_REPLAY_CONSUMER "dlq-replay"

int svc_dlq_list(struct svc *s, int64_t after, int limit, struct outbox_row **out, size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->deadletter_list(c, after, limit, out, n);
    s->ops->release(c);
    return rc;
}

static int64_t parse_id(const char *s)
{
    char *end = NULL;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    return end && *end == 0 && v > 0 ? (int64_t)v : 0;
}

static int dlq_original(const struct outbox_row *dl, json_t **data_out, struct outbox_row *orig,
                     struct tock_error *e)
{
    json_t *ev = json_loads(dl->event_json, 0, NULL);
    json_t *data = ev ? json_object_get(ev, "data") : NULL;
    json_t *o = data ? json_object_get(data, "original") : NULL;
    const char *topic = data ? json_string_value(json_object_get(data, "topic")) : NULL;
    const char *consumer = data ? json_string_value(json_object_get(data, "consumer")) : NULL;
    const char *id = json_is_object(o) ? json_string_value(json_object_get(o, "id")) : NULL;
    const char *type = json_is_object(o) ? json_string_value(json_object_get(o, "type")) : NULL;
    const char *userid = json_is_object(o) ? json_string_value(json_object_get(o, "userid"))
                                           : NULL;
    if (!id || !type || !topic || !consumer || !*id || strlen(id) >= sizeof orig->event_id ||
        strlen(type) >= sizeof orig->type || strlen(topic) >= sizeof orig->topic) {
        json_decref(ev);
        return tock_fail(e, TOCK_EINVAL, "id",
                         "the dead letter's original is not a replayable CloudEvent "
                         "(a malformed message)");
    }
    memset(orig, 0, sizeof *orig);
    snprintf(orig->event_id, sizeof orig->event_id, "%s", id);
    snprintf(orig->type, sizeof orig->type, "%s", type);
    snprintf(orig->topic, sizeof orig->topic, "%s", topic);
    orig->user_id = parse_id(userid);
    snprintf(orig->key, sizeof orig->key, "%s", userid ? userid : dl->key);
    if (!orig->user_id)
        orig->user_id = dl->user_id;
    orig->task_id = parse_id(json_string_value(json_object_get(o, "subject")));
    orig->event_json = json_dumps(o, JSON_COMPACT);
    if (!orig->event_json) {
        json_decref(ev);
        return TOCK_ENOMEM;
    }
    *data_out = ev; /* keeps consumer alive for the caller */
    return 0;
}

int svc_dlq_replay(struct svc *s, const struct outbox_row *dl, char *consumer, size_t cap,
                   struct tock_error *e)
{
    json_t *ev = NULL;
    struct outbox_row orig;
    int rc = dlq_original(dl, &ev, &orig, e);
    if (rc)
        return rc;
    const char *who =
        json_string_value(json_object_get(json_object_get(ev, "data"), "consumer"));
    snprintf(consumer, cap, "%s", who);
    struct store_conn *c;
    if ((rc = s->ops->acquire(s->store, &c)) == 0) {
        if ((rc = s->ops->begin(c, true)) == 0) {
            rc = s->ops->processed_mark(c, DLQ_REPLAY_CONSUMER, dl->event_id, clock_now_ms());
            if (rc == TOCK_ECONFLICT)
                tock_fail(e, rc, "id", "dead letter %s was replayed already", dl->event_id);
            if (!rc)
                rc = s->ops->processed_unmark(c, who, orig.event_id);
            if (!rc) {
                orig.created_at = clock_now_ms();
                rc = s->ops->outbox_append(c, &orig);
            }
            rc = svc_finish(s, c, rc, true);
        }
        s->ops->release(c);
    }
    free(orig.event_json);
    json_decref(ev);
    return rc;
}
