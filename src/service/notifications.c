/*
 * notifications.c — notification operations: preferences, the in-app inbox, the
 * delivery log, test messages, and the notifier's units (enqueue one row per
 * channel for a fired reminder; claim due rows, folding digests and delivering
 * in-app ones in the transaction; record each e-mail/webhook attempt with
 * backoff and dead letters). Sending itself (SMTP, HTTP) is the notifier role's
 * job: no network I/O happens inside a transaction here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "obs/clock.h"
#include "obs/rand.h"
#include "service/service.h"

#define LOG_ENTRIES_MAX 50
#define BACKOFF_CAP_MS (6LL * 3600 * 1000)

static const unsigned channel_bits[] = {CH_IN_APP, CH_EMAIL, CH_WEBHOOK};

static int prefs_load(struct svc *s, struct store_conn *c, int64_t user_id,
                      struct notify_prefs *p)
{
    int rc = s->ops->notify_prefs_get(c, user_id, p);
    if (rc == TOCK_ENOTFOUND) {
        notify_prefs_default(p, user_id);
        rc = 0;
    }
    return rc;
}

int svc_notify_prefs_get(struct svc *s, struct svc_ctx *ctx, struct notify_prefs *out)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = prefs_load(s, c, ctx->user_id, out);
    s->ops->release(c);
    return rc;
}

/* Printable ASCII without spaces: URLs, addresses and secrets never need more. */
static bool plain(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

int svc_notify_prefs_put(struct svc *s, struct svc_ctx *ctx, struct notify_prefs *p,
                         struct tock_error *e)
{
    p->user_id = ctx->user_id;
    if (p->channels & ~(unsigned)CH_ALL)
        return tock_fail(e, TOCK_EINVAL, "channels", "unknown channel");
    if (p->email[0]) {
        const char *at = strchr(p->email, '@');
        if (!plain(p->email) || !at || at == p->email || !at[1] || strchr(at + 1, '@') ||
            strlen(p->email) > EMAIL_MAX)
            return tock_fail(e, TOCK_EINVAL, "email", "not a valid e-mail address");
    }
    if (p->webhook_url[0]) {
        bool scheme = strncmp(p->webhook_url, "https://", 8) == 0 ||
                      strncmp(p->webhook_url, "http://", 7) == 0;
        const char *host = strstr(p->webhook_url, "://") + (scheme ? 3 : 0);
        if (!scheme || !plain(p->webhook_url) || !*host || *host == '/')
            return tock_fail(e, TOCK_EINVAL, "webhook_url",
                             "webhook_url must be an http:// or https:// URL");
    }
    size_t sl = strlen(p->webhook_secret);
    if (sl && (sl < WEBHOOK_SECRET_MIN || !plain(p->webhook_secret)))
        return tock_fail(e, TOCK_EINVAL, "webhook_secret",
                         "webhook_secret must be %d-%d printable characters without spaces",
                         WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
    if ((p->channels & CH_WEBHOOK) && !p->webhook_url[0])
        return tock_fail(e, TOCK_EINVAL, "webhook_url", "the webhook channel needs webhook_url");
    if ((p->channels & CH_WEBHOOK) && !sl)
        return tock_fail(e, TOCK_EINVAL, "webhook_secret",
                         "the webhook channel needs webhook_secret");
    if ((p->quiet_start < 0) != (p->quiet_end < 0))
        return tock_fail(e, TOCK_EINVAL, p->quiet_start < 0 ? "quiet_start" : "quiet_end",
                         "give both quiet_start and quiet_end, or neither");
    if (p->digest_seconds < 0 || p->digest_seconds > DIGEST_SECONDS_MAX)
        return tock_fail(e, TOCK_EINVAL, "digest_seconds", "digest_seconds must be 0-%d",
                         DIGEST_SECONDS_MAX);
    p->updated_at = clock_now_ms();
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if (!(rc = s->ops->begin(c, true))) {
        rc = s->ops->notify_prefs_put(c, p);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    return rc;
}

int svc_notifications_list(struct svc *s, struct svc_ctx *ctx, bool unread_only,
                           int64_t before_id, int limit, struct notification **out, size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->notification_list(c, ctx->user_id, unread_only, before_id, limit, out, n);
    s->ops->release(c);
    return rc;
}

int svc_notification_read(struct svc *s, struct svc_ctx *ctx, int64_t id,
                          struct notification *out)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if (!(rc = s->ops->begin(c, true))) {
        int64_t changed = 0;
        rc = s->ops->notification_mark_read(c, ctx->user_id, id, clock_now_ms(), &changed);
        if (!rc && id)
            rc = s->ops->notification_get(c, ctx->user_id, id, out);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    return rc;
}

int svc_deliveries_list(struct svc *s, struct svc_ctx *ctx, int64_t before_id, int limit,
                        struct delivery **out, size_t *n)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->delivery_list(c, ctx->user_id, before_id, limit, out, n);
    s->ops->release(c);
    return rc;
}

static void new_uuid(char out[40])
{
    uint8_t rnd[10];
    rand_fast(rnd, sizeof rnd);
    uuid7_format(clock_now_ms(), rnd, out);
}

static void kick(struct svc *s)
{
    if (s->notify_kick)
        s->notify_kick(s->notify_kick_arg);
}

int svc_notify_test(struct svc *s, struct svc_ctx *ctx, struct delivery **out, size_t *n,
                    struct tock_error *e)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    struct notify_prefs p;
    struct delivery *v = calloc(3, sizeof *v);
    size_t m = 0;
    if (!v) {
        s->ops->release(c);
        return TOCK_ENOMEM;
    }
    if ((rc = s->ops->begin(c, true)))
        goto out;
    rc = prefs_load(s, c, ctx->user_id, &p);
    if (!rc && !p.channels)
        rc = tock_fail(e, TOCK_EINVAL, "channels", "no channel is enabled");
    int64_t now = clock_now_ms();
    for (size_t i = 0; !rc && i < 3; i++) {
        if (!(p.channels & channel_bits[i]))
            continue;
        struct delivery *d = &v[m];
        new_uuid(d->uuid);
        d->user_id = ctx->user_id;
        snprintf(d->channel, sizeof d->channel, "%s", notify_channel_name(channel_bits[i]));
        snprintf(d->kind, sizeof d->kind, "test");
        d->state = DELIVERY_PENDING;
        d->send_at = now;
        d->created_at = d->updated_at = now;
        if (!(d->payload = strdup("[]")) || !(d->log = strdup("[]")))
            rc = TOCK_ENOMEM;
        m++;
        if (!rc)
            rc = s->ops->delivery_insert(c, d);
    }
    rc = svc_finish(s, c, rc, false);
out:
    s->ops->release(c);
    if (rc) {
        deliveries_free(v, m);
        return rc;
    }
    kick(s);
    *out = v;
    *n = m;
    return 0;
}

/* The inbox/digest item of one reminder.due data object (new reference). */
static json_t *due_item(json_t *data)
{
    json_t *o = json_object();
    static const char *const keep[] = {"reminder_id", "task_id", "title", "due",
                                       "due_at",      "fire_at", "late"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        json_t *v = json_object_get(data, keep[i]);
        json_object_set(o, keep[i], v ? v : json_null());
    }
    return o;
}

int svc_notify_enqueue(struct svc *s, struct store_conn *c, int64_t user_id, json_t *data,
                       int64_t now)
{
    if (!json_is_object(data))
        return TOCK_EJSON;
    int64_t reminder_id = id_parse(json_string_value(json_object_get(data, "reminder_id")));
    int64_t task_id = id_parse(json_string_value(json_object_get(data, "task_id")));
    int64_t fired_at, fire_at;
    const char *fa = json_string_value(json_object_get(data, "fired_at"));
    const char *fi = json_string_value(json_object_get(data, "fire_at"));
    if (!reminder_id || !task_id || !fa || !fi || time_parse_rfc3339(fa, &fired_at) ||
        time_parse_rfc3339(fi, &fire_at))
        return TOCK_EJSON;
    struct notify_prefs p;
    struct user u;
    int rc = prefs_load(s, c, user_id, &p);
    if (!rc)
        rc = s->ops->user_by_id(c, user_id, &u);
    if (rc)
        return rc;
    if (!p.channels)
        return 0;
    int64_t base = now;
    if (p.digest_seconds > 0 && fire_at + p.digest_seconds * 1000 > base)
        base = fire_at + p.digest_seconds * 1000;
    int64_t send_at = base;
    if (quiet_release(u.timezone, p.quiet_start, p.quiet_end, base, &send_at))
        send_at = base;
    json_t *items = json_array();
    json_array_append_new(items, due_item(data));
    char *payload = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    if (!payload)
        return TOCK_ENOMEM;
    for (size_t i = 0; !rc && i < 3; i++) {
        if (!(p.channels & channel_bits[i]))
            continue;
        struct delivery d;
        memset(&d, 0, sizeof d);
        new_uuid(d.uuid);
        d.user_id = user_id;
        snprintf(d.channel, sizeof d.channel, "%s", notify_channel_name(channel_bits[i]));
        snprintf(d.kind, sizeof d.kind, "reminder");
        d.reminder_id = reminder_id;
        d.fired_at = fired_at;
        d.task_id = task_id;
        d.state = DELIVERY_PENDING;
        d.send_at = send_at;
        d.payload = payload;
        d.created_at = d.updated_at = now;
        rc = s->ops->delivery_insert(c, &d);
        if (rc == TOCK_ECONFLICT) /* already queued by an earlier delivery of the event */
            rc = 0;
    }
    free(payload);
    if (!rc)
        kick(s);
    return rc;
}

void notify_jobs_free(struct notify_job *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        delivery_release(&v[i].d);
    free(v);
}

/* Appends one attempt to d->log (kept to the last LOG_ENTRIES_MAX). */
static int log_attempt(struct delivery *d, int64_t now, bool ok, const char *detail)
{
    json_t *log = d->log ? json_loads(d->log, 0, NULL) : NULL;
    if (!json_is_array(log)) {
        json_decref(log);
        log = json_array();
    }
    char ts[32];
    time_fmt_rfc3339(now, ts);
    json_array_append_new(log, json_pack("{s:I, s:s, s:b, s:s}", "attempt",
                                         (json_int_t)d->attempts, "at", ts, "ok", ok, "detail",
                                         detail ? detail : ""));
    while (json_array_size(log) > LOG_ENTRIES_MAX)
        json_array_remove(log, 0);
    char *text = json_dumps(log, JSON_COMPACT);
    json_decref(log);
    if (!text)
        return TOCK_ENOMEM;
    free(d->log);
    d->log = text;
    return 0;
}

/* Title and body of the message for items (a JSON array of due items). */
static void message_text(const struct delivery *d, json_t *items, struct buf *title,
                         struct buf *body)
{
    size_t n = json_array_size(items);
    if (strcmp(d->kind, "test") == 0) {
        buf_puts(title, "Test notification from tock");
        buf_puts(body, "Your notification channel works.");
        return;
    }
    if (n == 1) {
        json_t *it = json_array_get(items, 0);
        const char *t = json_string_value(json_object_get(it, "title"));
        const char *due = json_string_value(json_object_get(it, "due"));
        buf_puts(title, t ? t : "Reminder");
        if (due)
            buf_printf(body, "Due %s", due);
        else
            buf_puts(body, "Reminder");
        return;
    }
    buf_printf(title, "%zu reminders", n);
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_object_get(json_array_get(items, i), "title"));
        buf_printf(body, "%s%s", i ? "\n" : "", t ? t : "");
    }
}

static int deliver_in_app(struct svc *s, struct store_conn *c, struct delivery *d,
                          json_t *items, int64_t now, char *detail, size_t dlen)
{
    struct notification n;
    memset(&n, 0, sizeof n);
    n.user_id = d->user_id;
    size_t count = json_array_size(items);
    snprintf(n.kind, sizeof n.kind, "%s",
             strcmp(d->kind, "test") == 0 ? "test" : count > 1 ? "digest" : "reminder");
    struct buf title = BUF_INIT, body = BUF_INIT, m = BUF_INIT;
    message_text(d, items, &title, &body);
    n.title = title.data;
    n.body = body.data;
    n.data = json_dumps(items, JSON_COMPACT);
    if (count == 1)
        n.task_id = id_parse(json_string_value(json_object_get(json_array_get(items, 0), "task_id")));
    n.created_at = now;
    int rc = n.data ? s->ops->notification_insert(c, &n) : TOCK_ENOMEM;
    if (!rc)
        rc = notification_write_members(&m, &n) ? TOCK_ENOMEM : 0;
    if (!rc) {
        struct svc_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.user_id = d->user_id;
        ctx.source = "tock/notifier";
        rc = svc_emit_raw(s, c, &ctx, "task-updates", "notification.created", n.task_id, &m);
    }
    if (!rc)
        snprintf(detail, dlen, "inbox notification %lld", (long long)n.id);
    free(n.data);
    buf_free(&title);
    buf_free(&body);
    buf_free(&m);
    return rc;
}

static bool in_list(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

int svc_notify_claim(struct svc *s, int64_t now, int limit, struct notify_job **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(c, true))) {
        s->ops->release(c);
        return rc;
    }
    struct delivery *v = NULL;
    size_t m = 0, nj = 0, nmerged = 0;
    struct notify_job *jobs = NULL;
    int64_t *merged = NULL;
    bool wrote = false;
    rc = s->ops->delivery_due(c, now, limit, &v, &m);
    if (!rc && m && (!(jobs = calloc(m, sizeof *jobs)) || !(merged = calloc(1, sizeof *merged))))
        rc = TOCK_ENOMEM;
    for (size_t i = 0; !rc && i < m; i++) {
        struct delivery *d = &v[i];
        if (in_list(merged, nmerged, d->id))
            continue; /* folded into an earlier digest of this batch */
        struct notify_prefs p;
        struct user u;
        if ((rc = prefs_load(s, c, d->user_id, &p)) || (rc = s->ops->user_by_id(c, d->user_id, &u)))
            break;
        json_t *items = json_loads(d->payload, 0, NULL);
        if (!json_is_array(items)) {
            json_decref(items);
            items = json_array();
        }
        if (strcmp(d->kind, "reminder") == 0 && p.digest_seconds > 0) {
            struct delivery *g = NULL;
            size_t ng = 0;
            rc = s->ops->delivery_group(c, d->user_id, d->channel, now + p.digest_seconds * 1000,
                                        d->id, &g, &ng);
            for (size_t k = 0; !rc && k < ng; k++) {
                json_t *gi = json_loads(g[k].payload, 0, NULL);
                if (json_is_array(gi))
                    json_array_extend(items, gi);
                json_decref(gi);
                g[k].state = DELIVERY_MERGED;
                g[k].group_id = d->id;
                g[k].updated_at = now;
                rc = s->ops->delivery_update(c, &g[k]);
                int64_t *nm = realloc(merged, (nmerged + 1) * sizeof *merged);
                if (!nm)
                    rc = TOCK_ENOMEM;
                else
                    (merged = nm)[nmerged++] = g[k].id;
            }
            deliveries_free(g, ng);
            if (!rc && ng) {
                char *text = json_dumps(items, JSON_COMPACT);
                if (!text)
                    rc = TOCK_ENOMEM;
                free(d->payload);
                d->payload = text;
            }
        }
        d->attempts++;
        d->updated_at = now;
        unsigned ch = notify_channel_parse(d->channel);
        char detail[128] = "";
        if (!rc && ch == CH_IN_APP) {
            rc = deliver_in_app(s, c, d, items, now, detail, sizeof detail);
            wrote = true;
            d->state = DELIVERY_SENT;
            d->sent_at = now;
            if (!rc)
                rc = log_attempt(d, now, true, detail);
        } else if (!rc && !(p.channels & ch) && strcmp(d->kind, "test") != 0) {
            /* The user turned the channel off since: nothing is sent. */
            d->state = DELIVERY_DEAD;
            rc = log_attempt(d, now, false, "channel disabled");
            free(d->last_error);
            d->last_error = strdup("channel disabled");
        } else if (!rc) {
            d->state = DELIVERY_SENDING;
            struct notify_job *j = &jobs[nj];
            j->prefs = p;
            snprintf(j->to_email, sizeof j->to_email, "%s", p.email[0] ? p.email : u.email);
        }
        json_decref(items);
        if (!rc)
            rc = s->ops->delivery_update(c, d);
        if (!rc && d->state == DELIVERY_SENDING) {
            jobs[nj].d = *d; /* hand the strings over */
            memset(d, 0, sizeof *d);
            nj++;
        }
    }
    free(merged);
    deliveries_free(v, m);
    rc = svc_finish(s, c, rc, wrote);
    s->ops->release(c);
    if (rc) {
        notify_jobs_free(jobs, nj);
        return rc;
    }
    *out = jobs;
    *n = nj;
    return 0;
}

int svc_notify_finish(struct svc *s, struct notify_job *job, bool ok, const char *detail,
                      int64_t backoff_ms, int max_attempts)
{
    struct delivery *d = &job->d;
    int64_t now = clock_now_ms();
    int rc = log_attempt(d, now, ok, detail);
    if (rc)
        return rc;
    d->updated_at = now;
    free(d->last_error);
    d->last_error = NULL;
    bool dead = false;
    if (ok) {
        d->state = DELIVERY_SENT;
        d->sent_at = now;
    } else {
        d->last_error = strdup(detail ? detail : "failed");
        if (d->attempts >= max_attempts) {
            d->state = DELIVERY_DEAD;
            dead = true;
        } else {
            int64_t wait = backoff_ms;
            for (int64_t k = 1; k < d->attempts && wait < BACKOFF_CAP_MS; k++)
                wait *= 2;
            d->state = DELIVERY_PENDING;
            d->send_at = now + (wait < BACKOFF_CAP_MS ? wait : BACKOFF_CAP_MS);
        }
    }
    struct store_conn *c;
    if ((rc = s->ops->acquire(s->store, &c)))
        return rc;
    if ((rc = s->ops->begin(c, true))) {
        s->ops->release(c);
        return rc;
    }
    rc = s->ops->delivery_update(c, d);
    if (!rc && dead) {
        json_t *items = json_loads(d->payload, 0, NULL);
        json_t *data = json_pack(
            "{s:{s:s, s:s, s:s, s:o}, s:s, s:s, s:I, s:s}", "original", "delivery_id", d->uuid,
            "channel", d->channel, "kind", d->kind, "reminders", items ? items : json_array(),
            "error", d->last_error ? d->last_error : "failed", "consumer", "notifier",
            "attempts", (json_int_t)d->attempts, "topic", "reminders");
        struct svc_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.user_id = d->user_id;
        ctx.source = "tock/notifier";
        rc = data ? svc_emit(s, c, &ctx, "dlq", "tock.deadletter", d->task_id, data)
                  : TOCK_ENOMEM;
    }
    rc = svc_finish(s, c, rc, dead);
    s->ops->release(c);
    return rc;
}

int svc_notify_next(struct svc *s, int64_t *send_at)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->delivery_next(c, send_at);
    s->ops->release(c);
    return rc;
}

int svc_notify_recover(struct svc *s, int64_t lease_ms, int64_t *n)
{
    *n = 0;
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if (!(rc = s->ops->begin(c, true))) {
        int64_t now = clock_now_ms();
        rc = s->ops->delivery_recover(c, now - lease_ms, now, n);
        rc = svc_finish(s, c, rc, false);
    }
    s->ops->release(c);
    return rc;
}
