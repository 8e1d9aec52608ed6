/*
 * sync.c — the sync hub (see sync.h and docs/sync.md).
 *
 * Cursor: the outbox seq of a task-updates row. A live event is mapped to its
 * seq by its event id (outbox_seq_of, indexed); a resuming client's missed
 * changes are the user's task-updates rows with seq > since. Per user, outbox
 * seqs follow commit order on both stores, so "seq > cursor" is exact.
 *
 * No gap, no duplicate at the switch from replay to live: the connection is
 * registered (live events are buffered in `pending`) BEFORE the outbox is read.
 * An event is delivered only after its commit, so anything delivered before the
 * registration is in the replay; anything committed after the read arrives live.
 * Both sets may overlap: every connection keeps the last seq it sent, and any
 * event with seq <= it is skipped (this also drops bus redeliveries).
 *
 * Write path: an event's frame is encoded once (struct frame, refcounted) and
 * queued on each of the user's connections, then written right away from the
 * calling thread (non-blocking); what the socket does not take waits for EPOLLOUT
 * in the hub thread. A connection whose queue would pass queue_bytes is closed
 * with 1008: its queue is dropped (except a frame already partly written), a
 * close frame queued, and the socket closed once that is out or after 5 s.
 */
#include "roles/sync.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/task.h"
#include "http/http.h"
#include "http/ws.h"
#include "obs/clock.h"
#include "obs/env.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "obs/rand.h"

#define USER_BUCKETS 4096
#define CLOSE_GRACE_NS (5 * 1000000000LL)
#define EPOLL_BATCH 256

struct frame {
    int refs;
    size_t len;
    uint8_t data[];
};

struct qent {
    struct frame *f;
    int64_t seq; /* pending (catch-up) entries only */
    struct qent *next;
};

enum conn_state { CS_PENDING, CS_OPEN, CS_CLOSING, CS_DEAD };

struct sync_conn {
    struct sync_hub *hub;
    int64_t user_id;
    enum conn_state state;
    int fd;
    void *urh;
    bool in_epoll, want_out;
    bool catching_up;
    int64_t last_seq;
    /* Out queue: head->f is written from offset `off`. */
    struct qent *qhead, *qtail;
    size_t off, queued;
    /* Live events that arrived during the replay. */
    struct qent *phead, *ptail;
    size_t pqueued;
    struct ws_parser parser;
    uint8_t *rbuf;
    size_t rlen, rcap;
    int64_t last_rx_ns, ping_sent_ns;
    int64_t close_deadline_ns;
    bool close_sent, close_received;
    bool discard;  /* after a protocol error: input is dropped until the peer closes */
    bool shut_wr;  /* our side of the TCP stream is finished */
    struct sync_conn *unext, *uprev; /* the user's list */
    struct sync_conn *anext, *aprev; /* all connections */
    struct sync_conn *dnext;         /* graveyard */
};

struct user_slot {
    int64_t user_id;
    int count;
    struct sync_conn *head;
    struct user_slot *next;
};

struct sync_hub {
    struct svc *svc;
    struct sync_config cfg;
    char group[32];
    pthread_mutex_t mu;
    pthread_t thread;
    bool thread_started;
    bool stopping, closing;
    int epfd, evfd;
    int nconns;
    struct user_slot *users[USER_BUCKETS];
    struct sync_conn *all;
    struct sync_conn *graveyard;
};

static const char *const sync_topics[] = {"task-updates"};

/* ---------------------------------------------------------------- config */

int sync_config_from_env(struct sync_config *cfg, char *err, size_t errlen)
{
    int64_t conns, per_user, ping, queue, msg, resume;
    if (env_i64("TOCK_WS_MAX_CONNS", 10000, 1, 1000000, &conns, err, errlen) ||
        env_i64("TOCK_WS_MAX_PER_USER", 50, 1, 1000000, &per_user, err, errlen) ||
        env_i64("TOCK_WS_PING_SECONDS", 30, 1, 3600, &ping, err, errlen) ||
        env_i64("TOCK_WS_QUEUE_BYTES", 4 << 20, 4096, 1LL << 30, &queue, err, errlen) ||
        env_i64("TOCK_WS_MAX_MESSAGE", 65536, 125, 16 << 20, &msg, err, errlen) ||
        env_i64("TOCK_WS_RESUME_MAX", 1000, 1, 1000000, &resume, err, errlen))
        return -1;
    cfg->max_conns = (int)conns;
    cfg->max_per_user = (int)per_user;
    cfg->ping_s = (int)ping;
    cfg->queue_bytes = (size_t)queue;
    cfg->max_message = (size_t)msg;
    cfg->resume_max = (int)resume;
    return 0;
}

/* ---------------------------------------------------------------- frames */

static struct frame *frame_new(int opcode, const char *payload, size_t len)
{
    uint8_t h[WS_MAX_HEADER];
    size_t hl = ws_frame_header(h, opcode, true, len, NULL);
    struct frame *f = malloc(sizeof *f + hl + len);
    if (!f)
        return NULL;
    f->refs = 1;
    f->len = hl + len;
    memcpy(f->data, h, hl);
    if (len)
        memcpy(f->data + hl, payload, len);
    return f;
}

static struct frame *frame_close(uint16_t code, const char *reason)
{
    struct buf b = BUF_INIT;
    if (ws_encode_close(&b, code, reason, NULL)) {
        buf_free(&b);
        return NULL;
    }
    struct frame *f = malloc(sizeof *f + b.len);
    if (f) {
        f->refs = 1;
        f->len = b.len;
        memcpy(f->data, b.data, b.len);
    }
    buf_free(&b);
    return f;
}

static void frame_unref(struct frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

static void qlist_free(struct qent *q)
{
    while (q) {
        struct qent *n = q->next;
        frame_unref(q->f);
        free(q);
        q = n;
    }
}

/* ---------------------------------------------------------------- users */

static struct user_slot **slot_ref(struct sync_hub *h, int64_t user_id)
{
    uint64_t x = (uint64_t)user_id * 0x9E3779B97F4A7C15ull;
    struct user_slot **p = &h->users[(x >> 32) % USER_BUCKETS];
    while (*p && (*p)->user_id != user_id)
        p = &(*p)->next;
    return p;
}

static void conn_unlink(struct sync_hub *h, struct sync_conn *c)
{
    struct user_slot **sp = slot_ref(h, c->user_id);
    struct user_slot *s = *sp;
    if (s) {
        if (c->uprev)
            c->uprev->unext = c->unext;
        else
            s->head = c->unext;
        if (c->unext)
            c->unext->uprev = c->uprev;
        if (--s->count == 0) {
            *sp = s->next;
            free(s);
        }
    }
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        h->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    h->nconns--;
}

static void conn_free(struct sync_conn *c)
{
    qlist_free(c->qhead);
    qlist_free(c->phead);
    ws_parser_free(&c->parser);
    free(c->rbuf);
    free(c);
}

/* Removes a connection with a socket: out of epoll, socket back to the server. */
static void conn_kill(struct sync_hub *h, struct sync_conn *c, const char *reason)
{
    if (c->state == CS_DEAD)
        return;
    if (c->in_epoll)
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->in_epoll = false;
    conn_unlink(h, c);
    c->state = CS_DEAD;
    if (c->urh)
        http_upgrade_close(c->urh);
    c->urh = NULL;
    metrics_counter_add("tock_ws_closed_total", "reason", reason, 1);
    c->dnext = h->graveyard;
    h->graveyard = c;
}

/* ---------------------------------------------------------------- writing */

static void set_want_out(struct sync_hub *h, struct sync_conn *c, bool on)
{
    if (!c->in_epoll || c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u),
                             .data.ptr = c};
    epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

/* false when out of memory (the caller drops the connection: the client resumes). */
static bool enqueue(struct sync_conn *c, struct frame *f)
{
    struct qent *q = malloc(sizeof *q);
    if (!q)
        return false;
    f->refs++;
    q->f = f;
    q->seq = 0;
    q->next = NULL;
    if (c->qtail)
        c->qtail->next = q;
    else
        c->qhead = q;
    c->qtail = q;
    c->queued += f->len;
    return true;
}

/* Writes what the socket takes. false when the connection died. */
static bool flush(struct sync_hub *h, struct sync_conn *c)
{
    /* No socket yet (attach pending): the queue waits; attach flushes it. */
    if (c->state == CS_PENDING || c->state == CS_DEAD || c->fd < 0)
        return true;
    while (c->qhead) {
        struct frame *f = c->qhead->f;
        ssize_t n = send(c->fd, f->data + c->off, f->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_want_out(h, c, true);
                return true;
            }
            conn_kill(h, c, "write_error");
            return false;
        }
        c->off += (size_t)n;
        c->queued -= (size_t)n;
        if (c->off == f->len) {
            struct qent *q = c->qhead;
            c->qhead = q->next;
            if (!c->qhead)
                c->qtail = NULL;
            frame_unref(f);
            free(q);
            c->off = 0;
        }
    }
    set_want_out(h, c, false);
    if (c->state == CS_CLOSING && c->close_sent && c->close_received) {
        conn_kill(h, c, "closed");
        return false;
    }
    if (c->state == CS_CLOSING && c->close_sent && c->discard && !c->shut_wr) {
        /* Close frame out; EOF follows it. Closing now could reset the stream (RST
         * for unread input) before the peer reads the close: wait for its EOF. */
        shutdown(c->fd, SHUT_WR);
        c->shut_wr = true;
    }
    return true;
}

/*
 * Starts the closing handshake: the queue is dropped (but a frame partly on the
 * wire is finished), a close frame follows; the socket goes once the peer
 * answers or after CLOSE_GRACE_NS.
 */
static void start_close(struct sync_hub *h, struct sync_conn *c, uint16_t code, const char *reason)
{
    if (c->state != CS_OPEN && c->state != CS_PENDING)
        return;
    if (c->qhead) {
        struct qent *rest = c->off ? c->qhead->next : c->qhead;
        if (c->off) {
            c->qhead->next = NULL;
            c->qtail = c->qhead;
            c->queued = c->qhead->f->len - c->off;
        } else {
            c->qhead = c->qtail = NULL;
            c->queued = 0;
        }
        qlist_free(rest);
    }
    struct frame *f = frame_close(code, reason);
    if (f) {
        enqueue(c, f);
        frame_unref(f);
    }
    c->close_sent = true;
    c->state = CS_CLOSING;
    c->close_deadline_ns = clock_mono_ns() + CLOSE_GRACE_NS;
    flush(h, c);
}

/* Queues f on c if c has not seen seq yet (live path); closes a connection over its cap. */
static void deliver(struct sync_hub *h, struct sync_conn *c, struct frame *f, int64_t seq)
{
    if (c->state != CS_OPEN && c->state != CS_PENDING)
        return;
    if (c->catching_up) {
        struct qent *q = malloc(sizeof *q);
        if (!q)
            return;
        f->refs++;
        q->f = f;
        q->seq = seq;
        q->next = NULL;
        if (c->ptail)
            c->ptail->next = q;
        else
            c->phead = q;
        c->ptail = q;
        c->pqueued += f->len;
        return;
    }
    if (seq && seq <= c->last_seq)
        return;
    if (c->queued + f->len > h->cfg.queue_bytes) {
        metrics_counter_add("tock_ws_slow_clients_total", "reason", "queue_full", 1);
        char why[96];
        snprintf(why, sizeof why, "too slow: more than %zu bytes unsent", h->cfg.queue_bytes);
        start_close(h, c, WS_CLOSE_POLICY, why);
        return;
    }
    if (seq)
        c->last_seq = seq;
    if (!c->qhead && c->state == CS_OPEN) {
        /* The common case: nothing waiting, so write straight from the shared frame. */
        ssize_t n = send(c->fd, f->data, f->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)f->len)
            return;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_kill(h, c, "write_error");
            return;
        }
        if (!enqueue(c, f)) {
            conn_kill(h, c, "oom");
            return;
        }
        if (n > 0) {
            c->off = (size_t)n;
            c->queued -= (size_t)n;
        }
        set_want_out(h, c, true);
        return;
    }
    if (!enqueue(c, f)) {
        if (c->fd >= 0)
            conn_kill(h, c, "oom");
        else
            start_close(h, c, WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    flush(h, c);
}

static void wake(struct sync_hub *h)
{
    uint64_t one = 1;
    ssize_t w = write(h->evfd, &one, sizeof one);
    (void)w;
}

/* ---------------------------------------------------------------- messages */

static int64_t seq_of(struct sync_hub *h, const char *event_id, int *rc)
{
    struct svc *s = h->svc;
    struct store_conn *c;
    int64_t seq = 0;
    if ((*rc = s->ops->acquire(s->store, &c)))
        return 0;
    *rc = s->ops->outbox_seq_of(c, event_id, &seq);
    s->ops->release(c);
    return seq;
}

/*
 * The client message for one task-updates event (NULL for types not forwarded):
 * {"type":"task.sync","cursor","change","task"} or
 * {"type":"notification","cursor","notification"}.
 */
static struct frame *event_frame(const char *type, json_t *data, int64_t seq)
{
    struct buf b = BUF_INIT;
    char cur[24];
    id_str(seq, cur);
    int rc = 0;
    if (strcmp(type, "task.sync") == 0) {
        json_t *change = json_object_get(data, "change"), *task = json_object_get(data, "task");
        if (!json_is_string(change) || !json_is_object(task))
            return NULL;
        char *t = json_dumps(task, JSON_COMPACT);
        if (!t)
            return NULL;
        rc |= buf_printf(&b, "{\"type\":\"task.sync\",\"cursor\":\"%s\",\"change\":", cur);
        rc |= buf_json_str(&b, json_string_value(change));
        rc |= buf_puts(&b, ",\"task\":");
        rc |= buf_puts(&b, t);
        rc |= buf_puts(&b, "}");
        free(t);
    } else if (strcmp(type, "notification.created") == 0) {
        if (!json_is_object(data))
            return NULL;
        json_t *copy = json_copy(data);
        if (!copy)
            return NULL;
        json_object_del(copy, "schema_version");
        char *t = json_dumps(copy, JSON_COMPACT);
        json_decref(copy);
        if (!t)
            return NULL;
        rc |= buf_printf(&b, "{\"type\":\"notification\",\"cursor\":\"%s\",\"notification\":", cur);
        rc |= buf_puts(&b, t);
        rc |= buf_puts(&b, "}");
        free(t);
    } else {
        return NULL;
    }
    struct frame *f = rc ? NULL : frame_new(WS_OP_TEXT, b.data, b.len);
    buf_free(&b);
    return f;
}

static struct frame *event_frame_json(const char *event_json, size_t len, int64_t seq,
                                      int64_t *user_id)
{
    json_error_t je;
    json_t *ev = json_loadb(event_json, len, 0, &je);
    if (!ev)
        return NULL;
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *uid = json_string_value(json_object_get(ev, "userid"));
    struct frame *f = NULL;
    if (type && uid) {
        if (user_id)
            *user_id = id_parse(uid);
        f = event_frame(type, json_object_get(ev, "data"), seq);
    }
    json_decref(ev);
    return f;
}

/* The bus handler: one task-updates event to the user's sockets on this process. */
static int on_event(const struct bus_msg *msg, void *arg)
{
    struct sync_hub *h = arg;
    int64_t user_id = id_parse(msg->key);
    pthread_mutex_lock(&h->mu);
    bool wanted = user_id > 0 && *slot_ref(h, user_id) != NULL && !h->closing;
    pthread_mutex_unlock(&h->mu);
    if (!wanted)
        return 0; /* nobody here: no database look-up, no parsing */
    json_error_t je;
    json_t *ev = json_loadb(msg->value, msg->len, 0, &je);
    if (!ev)
        return 0;
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *id = json_string_value(json_object_get(ev, "id"));
    const char *uid = json_string_value(json_object_get(ev, "userid"));
    if (!type || !id || !uid || id_parse(uid) != user_id ||
        (strcmp(type, "task.sync") != 0 && strcmp(type, "notification.created") != 0)) {
        json_decref(ev);
        return 0;
    }
    int rc = 0;
    int64_t seq = seq_of(h, id, &rc);
    if (rc) {
        json_decref(ev);
        if (rc == TOCK_ENOTFOUND)
            return 0; /* pruned, or from another database: nothing to send */
        log_msg(LOG_WARN, "sync: cannot map event %s to its cursor (%s)", id, tock_strerror(rc));
        return rc;
    }
    const char *label = strcmp(type, "task.sync") == 0 ? "task.sync" : "notification";
    struct frame *f = event_frame(type, json_object_get(ev, "data"), seq);
    json_decref(ev);
    if (!f)
        return 0;
    int64_t t0 = clock_mono_ns();
    pthread_mutex_lock(&h->mu);
    struct user_slot *s = *slot_ref(h, user_id);
    for (struct sync_conn *c = s ? s->head : NULL, *n; c; c = n) {
        n = c->unext;
        deliver(h, c, f, seq);
    }
    frame_unref(f);
    bool dead = h->graveyard != NULL;
    pthread_mutex_unlock(&h->mu);
    int64_t ns = clock_mono_ns() - t0;
    metrics_counter_add("tock_ws_fanout_seconds_total", "type", label, (uint64_t)(ns > 0 ? ns : 0));
    if (dead)
        wake(h); /* the hub thread frees them */
    metrics_counter_add("tock_ws_events_total", "type", label, 1);
    return 0;
}

/* ---------------------------------------------------------------- open / attach */

int sync_conn_count(struct sync_hub *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->nconns;
    pthread_mutex_unlock(&h->mu);
    return n;
}

static struct frame *text_frame(const char *type, int64_t cursor)
{
    char cur[24], msg[96];
    id_str(cursor, cur);
    int n = snprintf(msg, sizeof msg, "{\"type\":\"%s\",\"cursor\":\"%s\"}", type, cur);
    return frame_new(WS_OP_TEXT, msg, (size_t)n);
}

/* Reads the replay; *resync when it cannot be exact. Rows are the caller's. */
static int load_replay(struct sync_hub *h, int64_t user_id, bool has_since, int64_t since,
                       bool *resync, int64_t *cursor, struct outbox_row **rows, size_t *n)
{
    struct svc *s = h->svc;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    *rows = NULL;
    *n = 0;
    *resync = false;
    if ((rc = s->ops->begin(c, false))) {
        s->ops->release(c);
        return rc;
    }
    int64_t user_max = 0, oldest = 0, hwm = 0;
    rc = s->ops->sync_bounds(c, user_id, &user_max, &oldest, &hwm);
    if (!rc && has_since) {
        /* Exact only if nothing after `since` was pruned and the cursor is from here. */
        bool valid = since <= hwm && since >= (oldest ? oldest - 1 : hwm);
        if (valid) {
            rc = s->ops->sync_rows(c, user_id, since, h->cfg.resume_max + 1, rows, n);
            if (!rc && *n > (size_t)h->cfg.resume_max) {
                outbox_rows_free(*rows, *n);
                *rows = NULL;
                *n = 0;
                valid = false;
            }
        }
        *resync = !valid;
        *cursor = valid ? since : user_max;
    } else {
        *cursor = user_max;
    }
    if (rc)
        s->ops->rollback(c);
    else
        rc = s->ops->commit(c);
    s->ops->release(c);
    if (rc) {
        outbox_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

int sync_conn_open(struct sync_hub *h, int64_t user_id, bool has_since, int64_t since,
                   struct sync_conn **out)
{
    struct sync_conn *c = calloc(1, sizeof *c);
    if (!c)
        return TOCK_ENOMEM;
    c->hub = h;
    c->user_id = user_id;
    c->state = CS_PENDING;
    c->fd = -1;
    c->catching_up = true;
    ws_parser_init(&c->parser, true, h->cfg.max_message);

    pthread_mutex_lock(&h->mu);
    struct user_slot **sp = slot_ref(h, user_id);
    int result = 0;
    if (h->closing)
        result = SYNC_CLOSING;
    else if (h->nconns >= h->cfg.max_conns)
        result = SYNC_LIMIT_GLOBAL;
    else if (*sp && (*sp)->count >= h->cfg.max_per_user)
        result = SYNC_LIMIT_USER;
    else if (!*sp && !(*sp = calloc(1, sizeof **sp)))
        result = TOCK_ENOMEM;
    if (result) {
        pthread_mutex_unlock(&h->mu);
        conn_free(c);
        return result;
    }
    struct user_slot *s = *sp;
    s->user_id = user_id;
    s->count++;
    c->unext = s->head;
    if (s->head)
        s->head->uprev = c;
    s->head = c;
    c->anext = h->all;
    if (h->all)
        h->all->aprev = c;
    h->all = c;
    h->nconns++;
    pthread_mutex_unlock(&h->mu);

    /* Registered: from here on live events queue up in c->pending. */
    bool resync = false;
    int64_t cursor = 0;
    struct outbox_row *rows = NULL;
    size_t n = 0;
    int rc = load_replay(h, user_id, has_since, since, &resync, &cursor, &rows, &n);
    /* Encode outside the lock (fan-out waits on it); rows of other types give NULL. */
    struct frame **frames = NULL;
    struct frame *first = NULL;
    if (!rc) {
        frames = calloc(n ? n : 1, sizeof *frames);
        first = text_frame(resync ? "resync" : "hello", cursor);
        if (!frames || !first)
            rc = TOCK_ENOMEM;
        for (size_t i = 0; !rc && i < n; i++)
            frames[i] = event_frame_json(rows[i].event_json, strlen(rows[i].event_json),
                                         rows[i].seq, NULL);
    }

    pthread_mutex_lock(&h->mu);
    bool ok = !rc && enqueue(c, first);
    c->last_seq = cursor;
    for (size_t i = 0; ok && i < n; i++) {
        if (frames[i])
            ok = enqueue(c, frames[i]);
        c->last_seq = rows[i].seq;
    }
    frame_unref(first);
    for (size_t i = 0; frames && i < n; i++)
        frame_unref(frames[i]);
    free(frames);
    outbox_rows_free(rows, n);
    if (!ok) {
        conn_unlink(h, c);
        conn_free(c); /* under the lock: its queues share frames with other sockets */
        pthread_mutex_unlock(&h->mu);
        return rc ? rc : TOCK_ENOMEM;
    }
    /* Switch to live: what arrived meanwhile, minus what the replay already had. */
    c->catching_up = false;
    struct qent *p = c->phead;
    c->phead = c->ptail = NULL;
    c->pqueued = 0;
    for (struct qent *q = p; q; q = q->next)
        deliver(h, c, q->f, q->seq);
    qlist_free(p);
    pthread_mutex_unlock(&h->mu);
    metrics_counter_add("tock_ws_opened_total", "resume",
                        !has_since ? "none" : resync ? "resync" : "exact", 1);
    *out = c;
    return 0;
}

void sync_conn_abort(void *arg)
{
    struct sync_conn *c = arg;
    struct sync_hub *h = c->hub;
    pthread_mutex_lock(&h->mu);
    conn_unlink(h, c);
    conn_free(c); /* under the lock: its queues share frames with other sockets */
    pthread_mutex_unlock(&h->mu);
    metrics_counter_add("tock_ws_closed_total", "reason", "upgrade_failed", 1);
}

static void handle_input(struct sync_hub *h, struct sync_conn *c, const uint8_t *data, size_t len);

void sync_conn_attach(void *arg, int fd, const char *extra, size_t extra_len, void *handle)
{
    struct sync_conn *c = arg;
    struct sync_hub *h = c->hub;
    pthread_mutex_lock(&h->mu);
    c->fd = fd;
    c->urh = handle;
    c->last_rx_ns = clock_mono_ns();
    if (h->closing) {
        c->state = CS_OPEN;
        conn_kill(h, c, "shutdown");
        pthread_mutex_unlock(&h->mu);
        wake(h);
        return;
    }
    bool closing = c->state == CS_CLOSING; /* went over its cap before the socket came */
    c->state = closing ? CS_CLOSING : CS_OPEN;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        conn_kill(h, c, "epoll_error");
        pthread_mutex_unlock(&h->mu);
        wake(h);
        return;
    }
    c->in_epoll = true;
    if (extra_len)
        handle_input(h, c, (const uint8_t *)extra, extra_len);
    if (c->state != CS_DEAD)
        flush(h, c);
    pthread_mutex_unlock(&h->mu);
    if (h->graveyard)
        wake(h);
}

/* ---------------------------------------------------------------- reading */

static void on_text(struct sync_hub *h, struct sync_conn *c, const uint8_t *data, size_t len)
{
    /* Clients may send {"type":"ping"}; everything else is ignored. */
    json_error_t je;
    json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && strcmp(type, "ping") == 0) {
        static const char pong[] = "{\"type\":\"pong\"}";
        struct frame *f = frame_new(WS_OP_TEXT, pong, sizeof pong - 1);
        if (f) {
            enqueue(c, f);
            frame_unref(f);
        }
        flush(h, c);
    }
    json_decref(j);
}

/* Feeds received bytes to the parser and acts on each event. Lock held. */
static void handle_input(struct sync_hub *h, struct sync_conn *c, const uint8_t *data, size_t len)
{
    if (c->discard)
        return;
    if (c->rlen + len > c->rcap) {
        size_t want = c->rlen + len;
        size_t cap = c->rcap ? c->rcap : 512;
        while (cap < want)
            cap *= 2;
        uint8_t *nb = realloc(c->rbuf, cap);
        if (!nb) {
            conn_kill(h, c, "oom");
            return;
        }
        c->rbuf = nb;
        c->rcap = cap;
    }
    memcpy(c->rbuf + c->rlen, data, len);
    c->rlen += len;
    c->last_rx_ns = clock_mono_ns();
    c->ping_sent_ns = 0; /* any traffic proves the peer alive */
    size_t off = 0;
    while (c->state == CS_OPEN || c->state == CS_CLOSING) {
        struct ws_event ev;
        size_t used = 0;
        uint16_t code = 0;
        int rc = ws_parse(&c->parser, c->rbuf + off, c->rlen - off, &used, &ev, &code);
        off += used;
        if (rc == WS_FAIL) {
            c->discard = true; /* nothing more is parsed */
            metrics_counter_add("tock_ws_protocol_errors_total", "reason",
                                code == WS_CLOSE_TOO_BIG    ? "too_big"
                                : code == WS_CLOSE_BAD_DATA ? "bad_utf8"
                                                            : "protocol",
                                1);
            if (c->state == CS_OPEN)
                start_close(h, c, code, code == WS_CLOSE_TOO_BIG ? "message too big"
                                        : code == WS_CLOSE_BAD_DATA ? "invalid UTF-8"
                                                                    : "protocol error");
            else
                flush(h, c);
            break;
        }
        if (rc == WS_NEED_MORE) {
            if (used == 0)
                break;
            continue;
        }
        if (ev.type == WS_EV_PING && c->state == CS_OPEN) {
            struct frame *f = frame_new(WS_OP_PONG, (const char *)ev.data, ev.len);
            if (f) {
                enqueue(c, f);
                frame_unref(f);
            }
            flush(h, c);
        } else if (ev.type == WS_EV_CLOSE) {
            c->close_received = true;
            if (c->state == CS_OPEN) {
                uint16_t code_back =
                    ev.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.close_code;
                start_close(h, c, code_back, "");
            } else {
                flush(h, c);
            }
            if (c->state != CS_DEAD && !c->qhead)
                conn_kill(h, c, "closed");
            break;
        } else if (ev.type == WS_EV_MESSAGE && ev.opcode == WS_OP_TEXT && c->state == CS_OPEN) {
            on_text(h, c, ev.data, ev.len);
        }
    }
    if (c->state == CS_DEAD)
        return;
    if (c->discard)
        off = c->rlen;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (c->rlen == 0 && c->rcap > 4096) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
}

static void on_readable(struct sync_hub *h, struct sync_conn *c)
{
    uint8_t tmp[16384];
    for (int i = 0; i < 4 && (c->state == CS_OPEN || c->state == CS_CLOSING); i++) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n > 0) {
            handle_input(h, c, tmp, (size_t)n);
            if ((size_t)n < sizeof tmp)
                return;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        conn_kill(h, c, n == 0 ? "peer_closed" : "read_error");
        return;
    }
}

/* ---------------------------------------------------------------- hub thread */

static void timers(struct sync_hub *h, int64_t now)
{
    int64_t ping_ns = (int64_t)h->cfg.ping_s * 1000000000LL;
    for (struct sync_conn *c = h->all, *n; c; c = n) {
        n = c->anext;
        if (c->fd < 0)
            continue; /* not attached yet: attach or abort comes */
        if (c->state == CS_CLOSING && now >= c->close_deadline_ns) {
            conn_kill(h, c, "close_timeout");
        } else if (c->state == CS_OPEN) {
            if (c->ping_sent_ns && now - c->ping_sent_ns >= ping_ns) {
                conn_kill(h, c, "ping_timeout");
            } else if (!c->ping_sent_ns && now - c->last_rx_ns >= ping_ns) {
                struct frame *f = frame_new(WS_OP_PING, "tock", 4);
                if (f) {
                    enqueue(c, f);
                    frame_unref(f);
                }
                c->ping_sent_ns = now;
                flush(h, c);
            }
        }
    }
}

static void bury(struct sync_hub *h)
{
    struct sync_conn *g = h->graveyard;
    h->graveyard = NULL;
    while (g) {
        struct sync_conn *n = g->dnext;
        conn_free(g);
        g = n;
    }
}

static void *run(void *arg)
{
    struct sync_hub *h = arg;
    struct epoll_event evs[EPOLL_BATCH];
    int64_t next_tick = clock_mono_ns();
    for (;;) {
        int n = epoll_wait(h->epfd, evs, EPOLL_BATCH, 250);
        pthread_mutex_lock(&h->mu);
        if (h->stopping) {
            pthread_mutex_unlock(&h->mu);
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t v;
                ssize_t r = read(h->evfd, &v, sizeof v);
                (void)r;
                continue;
            }
            struct sync_conn *c = evs[i].data.ptr;
            if (c->state == CS_DEAD)
                continue; /* killed earlier in this batch; freed below */
            if (evs[i].events & EPOLLOUT)
                flush(h, c);
            if (c->state != CS_DEAD && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
                                                         EPOLLERR)))
                on_readable(h, c);
        }
        int64_t now = clock_mono_ns();
        if (now >= next_tick) {
            timers(h, now);
            next_tick = now + 1000000000LL;
        }
        bury(h);
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

/* ---------------------------------------------------------------- lifecycle */

int sync_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
               const struct sync_config *cfg, struct sync_hub **out)
{
    struct sync_hub *h = calloc(1, sizeof *h);
    if (!h)
        return TOCK_ENOMEM;
    h->svc = svc;
    h->cfg = *cfg;
    pthread_mutex_init(&h->mu, NULL);
    h->epfd = -1;
    h->evfd = -1;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->epfd < 0 || h->evfd < 0) {
        sync_stop(h);
        return TOCK_EINTERNAL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->evfd, &ev);
    /* A group of its own: every replica gets every event. */
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    uint8_t r[2];
    rand_fast(r, sizeof r);
    snprintf(h->group, sizeof h->group, "sync-%.10s-%d-%02x%02x", host, (int)getpid(), r[0], r[1]);
    int rc = bops->subscribe(bus, h->group, sync_topics, 1, on_event, h);
    if (rc) {
        sync_stop(h);
        return rc;
    }
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        sync_stop(h);
        return TOCK_EINTERNAL;
    }
    h->thread_started = true;
    log_msg(LOG_INFO, "sync: consumer group %s, up to %d WebSockets (%d per user)", h->group,
            cfg->max_conns, cfg->max_per_user);
    *out = h;
    return 0;
}

void sync_close_all(struct sync_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->closing = true;
    for (struct sync_conn *c = h->all, *n; c; c = n) {
        n = c->anext;
        if (c->state == CS_OPEN) {
            start_close(h, c, WS_CLOSE_GOING_AWAY, "server shutting down");
            if (c->state != CS_DEAD)
                conn_kill(h, c, "shutdown");
        } else if (c->state == CS_CLOSING && c->fd >= 0) {
            conn_kill(h, c, "shutdown");
        }
        /* No socket yet: its attach or abort callback still comes and frees it. */
    }
    pthread_mutex_unlock(&h->mu);
    wake(h);
}

void sync_stop(struct sync_hub *h)
{
    if (!h)
        return;
    if (h->thread_started) {
        pthread_mutex_lock(&h->mu);
        h->stopping = true;
        pthread_mutex_unlock(&h->mu);
        wake(h);
        pthread_join(h->thread, NULL);
    }
    /* The HTTP server is stopped: no attach/abort can come any more. */
    for (struct sync_conn *c = h->all, *n; c; c = n) {
        n = c->anext;
        if (c->state == CS_PENDING) {
            conn_unlink(h, c);
            conn_free(c);
        } else {
            c->urh = NULL; /* the server is gone, and its sockets with it */
            conn_kill(h, c, "shutdown");
        }
    }
    bury(h);
    for (size_t i = 0; i < USER_BUCKETS; i++) {
        while (h->users[i]) {
            struct user_slot *s = h->users[i];
            h->users[i] = s->next;
            free(s);
        }
    }
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->evfd >= 0)
        close(h->evfd);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
