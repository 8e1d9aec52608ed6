/*
 * bus_kafka.c — the Kafka bus (TOCK_BUS=kafka:HOST:PORT,...) on librdkafka.
 *
 * Producer: one idempotent producer (enable.idempotence=true, acks=all, at most 5
 * requests in flight, so librdkafka keeps per-partition order across retries).
 * Each message goes to topic TOCK_TOPIC_PREFIX + msg->topic with record key =
 * msg->key (the user id) and the CloudEvent as value in structured mode (header
 * content-type: application/cloudevents+json; charset=UTF-8). publish_batch
 * produces a whole relay batch, then serves delivery reports until every message
 * has one: a message counts as published only when the broker acknowledged it, and
 * the acknowledged prefix is what the relay marks. Only the caller's thread polls
 * the producer, so delivery reports arrive in that thread (pub_mu serializes
 * callers).
 *
 * Consumer: each subscribe() makes one consumer in group tock-<group> with
 * auto-commit and auto offset store off. start() runs a thread per subscription:
 * poll, call the handler, and only on 0 store and commit offset+1. On failure the
 * partition is sought back to the failed offset and the message is retried with
 * backoff, so nothing after it in that partition overtakes it.
 *
 * Configuration: every TOCK_KAFKA_<NAME> (except tock's own CREATE_TOPICS,
 * PARTITIONS, REPLICATION) becomes librdkafka property <name> lower-cased with
 * '_' -> '.'; see docs/kafka.md. This file reads the environment itself because the
 * property set is open-ended.
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "core/err.h"
#include "obs/log.h"

extern char **environ;

#define KAFKA_SUBS_MAX 32
#define KAFKA_TOPIC_MAX 250 /* Kafka's limit is 249 characters */
#define KAFKA_PREFIX_MAX 128
#define KAFKA_HEALTH_TIMEOUT_MS 2000
#define KAFKA_ADMIN_TIMEOUT_MS 15000
#define KAFKA_POLL_MS 200
#define KAFKA_BATCH_MAX 256 /* messages handed to a batch handler at once */
#define KAFKA_BACKOFF_MIN_MS 100
#define KAFKA_BACKOFF_MAX_MS 30000
#define KAFKA_CONTENT_TYPE "application/cloudevents+json; charset=UTF-8"

static const char *const TOCK_TOPICS[] = {"task-events", "task-updates", "reminders", "dlq"};
#define TOCK_NTOPICS (sizeof TOCK_TOPICS / sizeof *TOCK_TOPICS)

struct ksub {
    struct bus *bus;
    char group[64];
    rd_kafka_topic_partition_list_t *topics; /* prefixed names */
    bus_handler_fn fn;
    bus_batch_fn bfn; /* NULL: fn per message */
    void *arg;
    rd_kafka_t *rk; /* the consumer */
    pthread_t thread;
    bool running;
};

struct bus {
    rd_kafka_t *producer;
    char brokers[512];
    char prefix[KAFKA_PREFIX_MAX];
    pthread_mutex_t pub_mu;
    struct ksub subs[KAFKA_SUBS_MAX];
    size_t nsubs;
    bool started;
    atomic_bool stopping;
};

/* One batch's delivery state: slots[i] belongs to message i. */
struct dr_slot {
    bool done;
    rd_kafka_resp_err_t err;
    size_t *pending;
};

/* ---------------------------------------------------------------- configuration */

static bool is_tock_setting(const char *name)
{
    return strcmp(name, "CREATE_TOPICS") == 0 || strcmp(name, "PARTITIONS") == 0 ||
           strcmp(name, "REPLICATION") == 0;
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, name, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka: %s: %s", name, e);
        return TOCK_EINVAL;
    }
    return 0;
}

/* Applies every TOCK_KAFKA_<NAME> as librdkafka property <name>. */
static int conf_apply_env(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    static const char pfx[] = "TOCK_KAFKA_";
    for (char **ep = environ; ep && *ep; ep++) {
        if (strncmp(*ep, pfx, sizeof pfx - 1) != 0)
            continue;
        const char *name = *ep + sizeof pfx - 1;
        const char *eq = strchr(name, '=');
        if (!eq || eq == name)
            continue;
        char prop[128], var[160];
        size_t n = (size_t)(eq - name);
        if (n >= sizeof prop) {
            snprintf(err, errlen, "kafka: %.40s...: name too long", *ep);
            return TOCK_EINVAL;
        }
        memcpy(var, name, n);
        var[n] = 0;
        if (is_tock_setting(var))
            continue;
        for (size_t i = 0; i < n; i++) {
            char c = name[i];
            prop[i] = c == '_' ? '.' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        prop[n] = 0;
        char e[256];
        if (rd_kafka_conf_set(conf, prop, eq + 1, e, sizeof e) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka: TOCK_KAFKA_%s (librdkafka %s): %s", var, prop, e);
            return TOCK_EINVAL;
        }
    }
    return 0;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug */
    int lvl = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_msg(lvl, "kafka: %s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    (void)rk;
    /* Broker-down and transport errors are transient: librdkafka reconnects. */
    log_msg(err == RD_KAFKA_RESP_ERR__FATAL ? LOG_ERROR : LOG_WARN, "kafka: %s: %s",
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    struct dr_slot *s = m->_private;
    if (!s)
        return;
    s->done = true;
    s->err = m->err;
    (*s->pending)--;
}

/* A conf with what producer and consumers share: brokers, callbacks, TOCK_KAFKA_*. */
static rd_kafka_conf_t *conf_base(const struct bus *b, bool producer, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(err, errlen, "kafka: out of memory");
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (conf_set(conf, "bootstrap.servers", b->brokers, err, errlen) ||
        conf_set(conf, "client.id", "tock", err, errlen) ||
        (producer &&
         /* Fail a message after 10 s (not librdkafka's 5 min): the relay backs off and
            retries, and shutdown with the brokers down stays bounded. */
         conf_set(conf, "message.timeout.ms", "10000", err, errlen)) ||
        conf_apply_env(conf, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static void topic_name(const struct bus *b, const char *topic, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", b->prefix, topic);
}

static long env_long(const char *name, long def, long lo, long hi)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi)
        return -1;
    return n;
}

/* ---------------------------------------------------------------- topics */

/* Creates the tock topics that the cluster does not have yet. */
static int create_topics(struct bus *b, char *err, size_t errlen)
{
    long parts = env_long("TOCK_KAFKA_PARTITIONS", 6, 1, 100000);
    long repl = env_long("TOCK_KAFKA_REPLICATION", 3, 1, 100);
    if (parts < 0 || repl < 0) {
        snprintf(err, errlen,
                 "kafka: TOCK_KAFKA_PARTITIONS must be 1-100000 and "
                 "TOCK_KAFKA_REPLICATION 1-100");
        return TOCK_EINVAL;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(b->producer, 1, NULL, &md, KAFKA_ADMIN_TIMEOUT_MS);
    if (e) {
        snprintf(err, errlen, "kafka: cannot read cluster metadata from %s: %s", b->brokers,
                 rd_kafka_err2str(e));
        return TOCK_EBUS;
    }
    if (md->broker_cnt > 0 && repl > md->broker_cnt)
        repl = md->broker_cnt;
    rd_kafka_NewTopic_t *nt[TOCK_NTOPICS];
    size_t nnew = 0;
    int rc = 0;
    char name[KAFKA_TOPIC_MAX], e2[256];
    for (size_t i = 0; i < TOCK_NTOPICS && !rc; i++) {
        topic_name(b, TOCK_TOPICS[i], name, sizeof name);
        bool found = false;
        for (int t = 0; t < md->topic_cnt && !found; t++)
            found = strcmp(md->topics[t].topic, name) == 0 && !md->topics[t].err;
        if (found)
            continue;
        nt[nnew] = rd_kafka_NewTopic_new(name, (int)parts, (int)repl, e2, sizeof e2);
        if (!nt[nnew]) {
            snprintf(err, errlen, "kafka: topic %s: %s", name, e2);
            rc = TOCK_EINVAL;
            break;
        }
        nnew++;
    }
    rd_kafka_metadata_destroy(md);
    if (rc || nnew == 0)
        goto out;

    rd_kafka_queue_t *q = rd_kafka_queue_new(b->producer);
    rd_kafka_AdminOptions_t *opt =
        rd_kafka_AdminOptions_new(b->producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, KAFKA_ADMIN_TIMEOUT_MS, e2, sizeof e2);
    rd_kafka_AdminOptions_set_request_timeout(opt, KAFKA_ADMIN_TIMEOUT_MS, e2, sizeof e2);
    rd_kafka_CreateTopics(b->producer, nt, nnew, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KAFKA_ADMIN_TIMEOUT_MS + 5000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    if (!ev || !res) {
        snprintf(err, errlen, "kafka: CreateTopics: %s",
                 ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = TOCK_EBUS;
    } else if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "kafka: CreateTopics: %s", rd_kafka_event_error_string(ev));
        rc = TOCK_EBUS;
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            if (te == RD_KAFKA_RESP_ERR_NO_ERROR || te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                if (!te)
                    log_msg(LOG_INFO, "kafka: created topic %s (%ld partitions, replication %ld)",
                            rd_kafka_topic_result_name(tr[i]), parts, repl);
                continue;
            }
            const char *msg = rd_kafka_topic_result_error_string(tr[i]);
            snprintf(err, errlen, "kafka: cannot create topic %s: %s",
                     rd_kafka_topic_result_name(tr[i]), msg ? msg : rd_kafka_err2str(te));
            rc = TOCK_EBUS;
            break;
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
out:
    rd_kafka_NewTopic_destroy_array(nt, nnew);
    return rc;
}

/* ---------------------------------------------------------------- open / close */

static void kafka_close(struct bus *b);

static int kafka_open(const char *spec, struct bus **out, char *err, size_t errlen)
{
    if (!spec || !*spec) {
        snprintf(err, errlen, "TOCK_BUS: kafka needs brokers: kafka:HOST:PORT[,HOST:PORT...]");
        return TOCK_EINVAL;
    }
    struct bus *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return TOCK_ENOMEM;
    }
    pthread_mutex_init(&b->pub_mu, NULL);
    atomic_init(&b->stopping, false);
    int rc = TOCK_EINVAL;
    const char *prefix = getenv("TOCK_TOPIC_PREFIX");
    if ((size_t)snprintf(b->brokers, sizeof b->brokers, "%s", spec) >= sizeof b->brokers ||
        (size_t)snprintf(b->prefix, sizeof b->prefix, "%s", prefix ? prefix : "") >=
            sizeof b->prefix) {
        snprintf(err, errlen, "kafka: broker list or TOCK_TOPIC_PREFIX too long");
        goto fail;
    }
    rd_kafka_conf_t *conf = conf_base(b, true, err, errlen);
    if (!conf)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    /* After TOCK_KAFKA_*: "nothing lost, nothing reordered" depends on these. */
    if (conf_set(conf, "enable.idempotence", "true", err, errlen) ||
        conf_set(conf, "acks", "all", err, errlen) ||
        conf_set(conf, "max.in.flight.requests.per.connection", "5", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    char e[512];
    b->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!b->producer) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka: %s", e);
        goto fail;
    }
    const char *ct = getenv("TOCK_KAFKA_CREATE_TOPICS");
    if (ct && (strcmp(ct, "1") == 0 || strcmp(ct, "true") == 0) &&
        (rc = create_topics(b, err, errlen)))
        goto fail;
    *out = b;
    return 0;
fail:
    kafka_close(b);
    return rc ? rc : TOCK_EINVAL;
}

static void stop_consumers(struct bus *b);

static void kafka_close(struct bus *b)
{
    if (!b)
        return;
    stop_consumers(b);
    for (size_t i = 0; i < b->nsubs; i++) {
        if (b->subs[i].rk)
            rd_kafka_destroy(b->subs[i].rk);
        rd_kafka_topic_partition_list_destroy(b->subs[i].topics);
    }
    if (b->producer) {
        /* The relay waited for its deliveries; anything left is best effort. */
        if (rd_kafka_flush(b->producer, 5000))
            log_msg(LOG_WARN, "kafka: %d messages undelivered at close",
                    rd_kafka_outq_len(b->producer));
        rd_kafka_destroy(b->producer);
    }
    pthread_mutex_destroy(&b->pub_mu);
    free(b);
}

/* ---------------------------------------------------------------- producer */

static int kafka_publish_batch(struct bus *b, const struct bus_msg *msgs, size_t n,
                               size_t *published)
{
    *published = 0;
    if (n == 0)
        return 0;
    struct dr_slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return TOCK_ENOMEM;
    pthread_mutex_lock(&b->pub_mu);
    size_t pending = 0, produced = 0;
    rd_kafka_resp_err_t perr = RD_KAFKA_RESP_ERR_NO_ERROR;
    char name[KAFKA_TOPIC_MAX];
    for (; produced < n; produced++) {
        const struct bus_msg *m = &msgs[produced];
        topic_name(b, m->topic, name, sizeof name);
        slots[produced].pending = &pending;
        for (;;) {
            perr = rd_kafka_producev(b->producer, RD_KAFKA_V_TOPIC(name),
                                     RD_KAFKA_V_KEY(m->key, m->key ? strlen(m->key) : 0),
                                     RD_KAFKA_V_VALUE((void *)m->value, m->len),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_HEADER("content-type", KAFKA_CONTENT_TYPE, -1),
                                     RD_KAFKA_V_OPAQUE(&slots[produced]), RD_KAFKA_V_END);
            if (perr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(b->producer, 50); /* make room by serving deliveries */
        }
        if (perr)
            break;
        pending++;
    }
    /* Every produced message gets exactly one report (success or failure). */
    while (pending > 0)
        rd_kafka_poll(b->producer, 100);
    pthread_mutex_unlock(&b->pub_mu);

    size_t ok = 0;
    while (ok < produced && slots[ok].done && !slots[ok].err)
        ok++;
    if (ok < n) {
        rd_kafka_resp_err_t e = ok < produced ? slots[ok].err : perr;
        log_msg(LOG_WARN, "kafka: publish to %s%s failed: %s (%zu of %zu acknowledged)", b->prefix,
                msgs[ok].topic, rd_kafka_err2str(e), ok, n);
    }
    free(slots);
    *published = ok;
    return ok == n ? 0 : TOCK_EBUS;
}

static int kafka_publish(struct bus *b, const struct bus_msg *msg)
{
    size_t done;
    return kafka_publish_batch(b, msg, 1, &done);
}

static int kafka_health(struct bus *b)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(b->producer, 0, NULL, &md, KAFKA_HEALTH_TIMEOUT_MS);
    if (e)
        return TOCK_EBUS;
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* ---------------------------------------------------------------- consumers */

static int kafka_subscribe_batch(struct bus *b, const char *group, const char *const *topics,
                                 size_t ntopics, bus_handler_fn fn, bus_batch_fn bfn, void *arg)
{
    if (b->started || b->nsubs == KAFKA_SUBS_MAX || ntopics == 0)
        return TOCK_ELIMIT;
    char err[512], e[512], gid[80], name[KAFKA_TOPIC_MAX];
    snprintf(gid, sizeof gid, "tock-%s", group);
    rd_kafka_conf_t *conf = conf_base(b, false, err, sizeof err);
    if (!conf) {
        log_msg(LOG_ERROR, "%s", err);
        return TOCK_EINVAL;
    }
    if (conf_set(conf, "group.id", gid, err, sizeof err) ||
        conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err) ||
        (!getenv("TOCK_KAFKA_AUTO_OFFSET_RESET") &&
         conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err)) ||
        /*
         * A broker answers a fetch as soon as data arrives; this only bounds the wait
         * when it does not (librdkafka's mock cluster holds every fetch this long).
         */
        (!getenv("TOCK_KAFKA_FETCH_WAIT_MAX_MS") &&
         conf_set(conf, "fetch.wait.max.ms", "50", err, sizeof err))) {
        rd_kafka_conf_destroy(conf);
        log_msg(LOG_ERROR, "%s", err);
        return TOCK_EINVAL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        log_msg(LOG_ERROR, "kafka: consumer %s: %s", gid, e);
        return TOCK_EBUS;
    }
    rd_kafka_poll_set_consumer(rk);
    struct ksub *s = &b->subs[b->nsubs++];
    s->bus = b;
    snprintf(s->group, sizeof s->group, "%s", group);
    s->topics = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++) {
        topic_name(b, topics[i], name, sizeof name);
        rd_kafka_topic_partition_list_add(s->topics, name, RD_KAFKA_PARTITION_UA);
    }
    s->fn = fn;
    s->bfn = bfn;
    s->arg = arg;
    s->rk = rk;
    return 0;
}

static int kafka_subscribe(struct bus *b, const char *group, const char *const *topics,
                           size_t ntopics, bus_handler_fn fn, void *arg)
{
    return kafka_subscribe_batch(b, group, topics, ntopics, fn, NULL, arg);
}

/* Sleeps ms in small steps; false when the bus is stopping. */
static bool sleep_unless_stopping(struct bus *b, long ms)
{
    while (ms > 0 && !atomic_load(&b->stopping)) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !atomic_load(&b->stopping);
}

/* A polled message as the handlers see it (strings owned). */
struct kmsg {
    rd_kafka_message_t *m;
    char *key, *value, *id;
    struct bus_msg bm;
};

static int kmsg_init(struct bus *b, rd_kafka_message_t *m, struct kmsg *k)
{
    const char *full = rd_kafka_topic_name(m->rkt);
    size_t plen = strlen(b->prefix);
    const char *topic = strncmp(full, b->prefix, plen) == 0 ? full + plen : full;
    k->m = m;
    k->key = strndup(m->key ? (const char *)m->key : "", m->key ? m->key_len : 0);
    k->value = strndup(m->payload ? (const char *)m->payload : "", m->payload ? m->len : 0);
    if (!k->key || !k->value)
        return TOCK_ENOMEM;
    /* The event id, when the value is a CloudEvent (NULL otherwise). */
    json_t *ev = json_loadb(k->value, strlen(k->value), 0, NULL);
    const char *id = ev ? json_string_value(json_object_get(ev, "id")) : NULL;
    k->id = id ? strdup(id) : NULL;
    json_decref(ev);
    k->bm = (struct bus_msg){topic, k->key, k->value, strlen(k->value), k->id};
    return 0;
}

static void kmsg_release(struct kmsg *k)
{
    free(k->key);
    free(k->value);
    free(k->id);
    rd_kafka_message_destroy(k->m);
    memset(k, 0, sizeof *k);
}

/*
 * Polls up to KAFKA_BATCH_MAX messages: waits KAFKA_POLL_MS for the first, then
 * takes only what is already fetched. Errors are logged and skipped.
 */
static size_t poll_batch(struct ksub *s, struct kmsg *out, size_t max)
{
    size_t n = 0;
    while (n < max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, n ? 0 : KAFKA_POLL_MS);
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_msg(LOG_WARN, "kafka: group tock-%s: %s", s->group, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (kmsg_init(s->bus, m, &out[n])) {
            /*
             * Out of memory: read it again later. Seek its partition back to it, or the
             * next poll would go on after it and a later commit would skip it.
             */
            rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(pos, rd_kafka_topic_name(m->rkt), m->partition)
                ->offset = m->offset;
            rd_kafka_error_t *se = rd_kafka_seek_partitions(s->rk, pos, 5000);
            if (se)
                rd_kafka_error_destroy(se);
            rd_kafka_topic_partition_list_destroy(pos);
            kmsg_release(&out[n]);
            break;
        }
        n++;
    }
    return n;
}

/*
 * After handling v[0..n): offsets up to `done` are stored and committed; each
 * partition with a message left unhandled is sought back to its first one, so
 * it is read again (in order) after the backoff.
 */
static void settle(struct ksub *s, struct kmsg *v, size_t n, size_t done)
{
    rd_kafka_resp_err_t e;
    if (done) {
        rd_kafka_topic_partition_list_t *off = rd_kafka_topic_partition_list_new((int)done);
        for (size_t i = 0; i < done; i++) {
            rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(
                off, rd_kafka_topic_name(v[i].m->rkt), v[i].m->partition);
            if (!p)
                p = rd_kafka_topic_partition_list_add(off, rd_kafka_topic_name(v[i].m->rkt),
                                                      v[i].m->partition);
            p->offset = v[i].m->offset + 1;
        }
        if ((e = rd_kafka_offsets_store(s->rk, off)) ||
            (e = rd_kafka_commit(s->rk, off, 1 /* async: a lost commit only redelivers */)))
            log_msg(LOG_WARN, "kafka: group tock-%s: commit: %s", s->group, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(off);
    }
    if (done == n)
        return;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new((int)(n - done));
    for (size_t i = done; i < n; i++)
        if (!rd_kafka_topic_partition_list_find(pos, rd_kafka_topic_name(v[i].m->rkt),
                                                v[i].m->partition))
            rd_kafka_topic_partition_list_add(pos, rd_kafka_topic_name(v[i].m->rkt),
                                              v[i].m->partition)
                ->offset = v[i].m->offset;
    rd_kafka_error_t *se = rd_kafka_seek_partitions(s->rk, pos, 5000);
    if (se) {
        log_msg(LOG_WARN, "kafka: group tock-%s: seek: %s", s->group, rd_kafka_error_string(se));
        rd_kafka_error_destroy(se);
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

static void *consume(void *arg)
{
    struct ksub *s = arg;
    struct bus *b = s->bus;
    long backoff = 0;
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, s->topics);
    if (e) {
        log_msg(LOG_ERROR, "kafka: group tock-%s: subscribe: %s", s->group, rd_kafka_err2str(e));
        return NULL;
    }
    size_t cap = s->bfn ? KAFKA_BATCH_MAX : 1;
    struct kmsg *v = calloc(cap, sizeof *v);
    struct bus_msg *bms = calloc(cap, sizeof *bms);
    while (v && bms && !atomic_load(&b->stopping)) {
        size_t n = poll_batch(s, v, cap), done = 0;
        if (n == 0)
            continue;
        int rc;
        if (s->bfn) {
            for (size_t i = 0; i < n; i++)
                bms[i] = v[i].bm;
            rc = s->bfn(bms, n, &done, s->arg);
        } else {
            rc = s->fn(&v[0].bm, s->arg);
            done = rc ? 0 : 1;
        }
        if (done > n)
            done = n;
        settle(s, v, n, done);
        if (rc) {
            /* Not processed: read these offsets again, after a pause. */
            backoff = backoff ? backoff * 2 : KAFKA_BACKOFF_MIN_MS;
            if (backoff > KAFKA_BACKOFF_MAX_MS)
                backoff = KAFKA_BACKOFF_MAX_MS;
            log_msg(LOG_WARN,
                    "kafka: group tock-%s: handler failed (%s) at %s[%d]@%lld; retrying "
                    "in %ld ms",
                    s->group, tock_strerror(rc), rd_kafka_topic_name(v[done].m->rkt),
                    (int)v[done].m->partition, (long long)v[done].m->offset, backoff);
        } else {
            backoff = 0;
        }
        for (size_t i = 0; i < n; i++)
            kmsg_release(&v[i]);
        if (rc)
            sleep_unless_stopping(b, backoff);
    }
    if (!v || !bms)
        log_msg(LOG_ERROR, "kafka: group tock-%s: out of memory; consumer stopped", s->group);
    free(v);
    free(bms);
    /* Commit what was stored but maybe not yet committed, then leave the group. */
    rd_kafka_commit(s->rk, NULL, 0);
    rd_kafka_consumer_close(s->rk);
    return NULL;
}

static int kafka_start(struct bus *b)
{
    b->started = true;
    for (size_t i = 0; i < b->nsubs; i++) {
        struct ksub *s = &b->subs[i];
        if (pthread_create(&s->thread, NULL, consume, s) != 0) {
            log_msg(LOG_ERROR, "kafka: cannot start consumer thread for tock-%s", s->group);
            return TOCK_EINTERNAL;
        }
        s->running = true;
    }
    return 0;
}

static void stop_consumers(struct bus *b)
{
    atomic_store(&b->stopping, true);
    for (size_t i = 0; i < b->nsubs; i++) {
        if (b->subs[i].running) {
            pthread_join(b->subs[i].thread, NULL);
            b->subs[i].running = false;
        }
    }
}

static void kafka_stop(struct bus *b)
{
    stop_consumers(b);
}

const struct bus_ops bus_kafka_ops = {
    .name = "kafka",
    .open = kafka_open,
    .close = kafka_close,
    .publish = kafka_publish,
    .subscribe = kafka_subscribe,
    .start = kafka_start,
    .stop = kafka_stop,
    .health = kafka_health,
    .publish_batch = kafka_publish_batch,
    .subscribe_batch = kafka_subscribe_batch,
};
