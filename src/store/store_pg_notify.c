/*
 * store_pg_notify.c — the PostgreSQL backend's notification ops: preferences, the
 * in-app inbox and the delivery records. The notifier's picks lock their rows
 * with FOR UPDATE SKIP LOCKED, so notifier replicas split the work and never send
 * one delivery twice. Part of store_pg_ops; see store.h for the contracts.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/pg_int.h"

int pg_notify_prefs_get(struct store_conn *base, int64_t user_id, struct notify_prefs *out)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT channels, email, webhook_url, webhook_secret, quiet_start, "
                         "quiet_end, digest_seconds, updated_at FROM notification_prefs WHERE "
                         "user_id = $1",
                         &p, &rc, "notify_prefs_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TOCK_ENOTFOUND;
    }
    notify_prefs_default(out, user_id);
    out->channels = (unsigned)pg_i64(r, 0, 0);
    snprintf(out->email, sizeof out->email, "%s", pg_txt(r, 0, 1));
    snprintf(out->webhook_url, sizeof out->webhook_url, "%s", pg_txt(r, 0, 2));
    snprintf(out->webhook_secret, sizeof out->webhook_secret, "%s", pg_txt(r, 0, 3));
    out->quiet_start = PQgetisnull(r, 0, 4) ? -1 : (int)pg_i64(r, 0, 4);
    out->quiet_end = PQgetisnull(r, 0, 5) ? -1 : (int)pg_i64(r, 0, 5);
    out->digest_seconds = pg_i64(r, 0, 6);
    out->updated_at = pg_i64(r, 0, 7);
    PQclear(r);
    return 0;
}

int pg_notify_prefs_put(struct store_conn *base, const struct notify_prefs *x)
{
    struct pg_params p = {0};
    pp_i64(&p, x->user_id);
    pp_i64(&p, x->channels);
    pp_text(&p, x->email[0] ? x->email : NULL);
    pp_text(&p, x->webhook_url[0] ? x->webhook_url : NULL);
    pp_text(&p, x->webhook_secret[0] ? x->webhook_secret : NULL);
    pp_i64_or_null(&p, x->quiet_start, x->quiet_start >= 0);
    pp_i64_or_null(&p, x->quiet_end, x->quiet_end >= 0);
    pp_i64(&p, x->digest_seconds);
    pp_i64(&p, x->updated_at);
    return pg_exec((struct pg_conn *)base,
                   "INSERT INTO notification_prefs (user_id, channels, email, webhook_url, "
                   "webhook_secret, quiet_start, quiet_end, digest_seconds, updated_at) VALUES "
                   "($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_id) DO UPDATE SET "
                   "channels = excluded.channels, email = excluded.email, webhook_url = "
                   "excluded.webhook_url, webhook_secret = excluded.webhook_secret, quiet_start "
                   "= excluded.quiet_start, quiet_end = excluded.quiet_end, digest_seconds = "
                   "excluded.digest_seconds, updated_at = excluded.updated_at",
                   &p, NULL, "notify_prefs_put");
}

int pg_notification_insert(struct store_conn *base, struct notification *n)
{
    struct pg_params p = {0};
    pp_i64(&p, n->user_id);
    pp_text(&p, n->kind);
    pp_text(&p, n->title);
    pp_text(&p, n->body);
    pp_i64_or_null(&p, n->task_id, n->task_id != 0);
    pp_text(&p, n->data);
    pp_i64(&p, n->created_at);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "INSERT INTO notifications (user_id, kind, title, body, task_id, data, "
                         "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                         &p, &rc, "notification_insert");
    if (!r)
        return rc;
    n->id = pg_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

#define NOTIF_COLS "id, user_id, kind, title, body, task_id, data, created_at, read_at"

static int read_notifications(struct pg_conn *c, const char *sql, const struct pg_params *p,
                              struct notification **out, size_t *n)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, "notifications");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct notification *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        int k = (int)i;
        struct notification *x = &v[i];
        x->id = pg_i64(r, k, 0);
        x->user_id = pg_i64(r, k, 1);
        snprintf(x->kind, sizeof x->kind, "%s", pg_txt(r, k, 2));
        x->title = strdup(pg_txt(r, k, 3));
        x->body = strdup(pg_txt(r, k, 4));
        x->task_id = pg_i64(r, k, 5);
        x->data = strdup(pg_txt(r, k, 6));
        x->created_at = pg_i64(r, k, 7);
        x->read_at = pg_i64(r, k, 8);
        if (!x->title || !x->body || !x->data) {
            PQclear(r);
            notifications_free(v, m);
            return TOCK_ENOMEM;
        }
    }
    PQclear(r);
    *out = v;
    *n = m;
    return 0;
}

int pg_notification_list(struct store_conn *base, int64_t user_id, bool unread_only,
                         int64_t before_id, int limit, struct notification **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, unread_only ? 1 : 0);
    pp_i64(&p, before_id);
    pp_i64(&p, limit + 1);
    return read_notifications((struct pg_conn *)base,
                              "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = $1 AND "
                              "($2::bigint = 0 OR read_at IS NULL) AND ($3::bigint = 0 OR id < "
                              "$3::bigint) ORDER BY id DESC LIMIT $4",
                              &p, out, n);
}

int pg_notification_get(struct store_conn *base, int64_t user_id, int64_t id,
                        struct notification *out)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, id);
    struct notification *v = NULL;
    size_t m = 0;
    int rc = read_notifications((struct pg_conn *)base,
                                "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = $1 "
                                "AND id = $2",
                                &p, &v, &m);
    if (rc)
        return rc;
    if (!m) {
        free(v);
        return TOCK_ENOTFOUND;
    }
    *out = v[0];
    free(v);
    return 0;
}

int pg_notification_mark_read(struct store_conn *base, int64_t user_id, int64_t id, int64_t now,
                              int64_t *changed)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, id);
    pp_i64(&p, now);
    return pg_exec((struct pg_conn *)base,
                   "UPDATE notifications SET read_at = $3 WHERE user_id = $1 AND ($2::bigint = 0 "
                   "OR id = $2::bigint) AND read_at IS NULL",
                   &p, changed, "notification_mark_read");
}

#define DELIV_COLS                                                                             \
    "id, uuid, user_id, channel, kind, reminder_id, fired_at, task_id, state, send_at, "       \
    "attempts, payload, group_id, last_error, log, created_at, updated_at, sent_at"

static int read_deliveries(struct pg_conn *c, const char *sql, const struct pg_params *p,
                           struct delivery **out, size_t *n)
{
    int rc;
    PGresult *r = pg_run(c, sql, p, &rc, "deliveries");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct delivery *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        int k = (int)i;
        struct delivery *d = &v[i];
        d->id = pg_i64(r, k, 0);
        snprintf(d->uuid, sizeof d->uuid, "%s", pg_txt(r, k, 1));
        d->user_id = pg_i64(r, k, 2);
        snprintf(d->channel, sizeof d->channel, "%s", pg_txt(r, k, 3));
        snprintf(d->kind, sizeof d->kind, "%s", pg_txt(r, k, 4));
        d->reminder_id = pg_i64(r, k, 5);
        d->fired_at = pg_i64(r, k, 6);
        d->task_id = pg_i64(r, k, 7);
        d->state = delivery_state_parse(pg_txt(r, k, 8));
        d->send_at = pg_i64(r, k, 9);
        d->attempts = pg_i64(r, k, 10);
        d->payload = strdup(pg_txt(r, k, 11));
        d->group_id = pg_i64(r, k, 12);
        d->last_error = PQgetisnull(r, k, 13) ? NULL : strdup(pg_txt(r, k, 13));
        d->log = strdup(pg_txt(r, k, 14));
        d->created_at = pg_i64(r, k, 15);
        d->updated_at = pg_i64(r, k, 16);
        d->sent_at = pg_i64(r, k, 17);
        if (!d->payload || !d->log || (!PQgetisnull(r, k, 13) && !d->last_error)) {
            PQclear(r);
            deliveries_free(v, m);
            return TOCK_ENOMEM;
        }
    }
    PQclear(r);
    *out = v;
    *n = m;
    return 0;
}

int pg_delivery_insert(struct store_conn *base, struct delivery *d)
{
    struct pg_params p = {0};
    pp_text(&p, d->uuid);
    pp_i64(&p, d->user_id);
    pp_text(&p, d->channel);
    pp_text(&p, d->kind);
    pp_i64_or_null(&p, d->reminder_id, d->reminder_id != 0);
    pp_i64_or_null(&p, d->fired_at, d->reminder_id != 0);
    pp_i64_or_null(&p, d->task_id, d->task_id != 0);
    pp_text(&p, delivery_state_name(d->state));
    pp_i64(&p, d->send_at);
    pp_i64(&p, d->attempts);
    pp_text(&p, d->payload);
    pp_i64_or_null(&p, d->group_id, d->group_id != 0);
    pp_text(&p, d->last_error);
    pp_text(&p, d->log ? d->log : "[]");
    pp_i64(&p, d->created_at);
    pp_i64(&p, d->updated_at);
    pp_i64_or_null(&p, d->sent_at, d->sent_at != 0);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "INSERT INTO notification_deliveries (uuid, user_id, channel, kind, "
                         "reminder_id, fired_at, task_id, state, send_at, attempts, payload, "
                         "group_id, last_error, log, created_at, updated_at, sent_at) VALUES "
                         "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
                         "$16, $17) ON CONFLICT (reminder_id, fired_at, channel) DO NOTHING "
                         "RETURNING id",
                         &p, &rc, "delivery_insert");
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return TOCK_ECONFLICT;
    }
    d->id = pg_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_delivery_due(struct store_conn *base, int64_t now, int limit, struct delivery **out,
                    size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, now);
    pp_i64(&p, limit);
    return read_deliveries((struct pg_conn *)base,
                           "SELECT " DELIV_COLS " FROM notification_deliveries WHERE state = "
                           "'pending' AND send_at <= $1 ORDER BY send_at, id LIMIT $2 FOR "
                           "UPDATE SKIP LOCKED",
                           &p, out, n);
}

int pg_delivery_group(struct store_conn *base, int64_t user_id, const char *channel,
                      int64_t until, int64_t except_id, struct delivery **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, until);
    pp_i64(&p, user_id);
    pp_text(&p, channel);
    pp_i64(&p, except_id);
    return read_deliveries((struct pg_conn *)base,
                           "SELECT " DELIV_COLS " FROM notification_deliveries WHERE state = "
                           "'pending' AND send_at <= $1 AND user_id = $2 AND channel = $3 AND "
                           "id <> $4 AND kind = 'reminder' ORDER BY send_at, id LIMIT 200 FOR "
                           "UPDATE SKIP LOCKED",
                           &p, out, n);
}

int pg_delivery_update(struct store_conn *base, const struct delivery *d)
{
    struct pg_params p = {0};
    pp_i64(&p, d->id);
    pp_text(&p, delivery_state_name(d->state));
    pp_i64(&p, d->send_at);
    pp_i64(&p, d->attempts);
    pp_i64_or_null(&p, d->group_id, d->group_id != 0);
    pp_text(&p, d->last_error);
    pp_text(&p, d->log ? d->log : "[]");
    pp_i64(&p, d->updated_at);
    pp_i64_or_null(&p, d->sent_at, d->sent_at != 0);
    pp_text(&p, d->payload ? d->payload : "[]");
    return pg_exec((struct pg_conn *)base,
                   "UPDATE notification_deliveries SET state = $2, send_at = $3, attempts = $4, "
                   "group_id = $5, last_error = $6, log = $7, updated_at = $8, sent_at = $9, "
                   "payload = $10 WHERE id = $1",
                   &p, NULL, "delivery_update");
}

int pg_delivery_list(struct store_conn *base, int64_t user_id, int64_t before_id, int limit,
                     struct delivery **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, before_id);
    pp_i64(&p, limit + 1);
    return read_deliveries((struct pg_conn *)base,
                           "SELECT " DELIV_COLS " FROM notification_deliveries WHERE user_id = "
                           "$1 AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3",
                           &p, out, n);
}

int pg_delivery_next(struct store_conn *base, int64_t *send_at)
{
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT min(send_at) FROM notification_deliveries WHERE state = "
                         "'pending'",
                         NULL, &rc, "delivery_next");
    if (!r)
        return rc;
    *send_at = PQntuples(r) ? pg_i64(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

int pg_delivery_recover(struct store_conn *base, int64_t stale_before, int64_t now, int64_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, stale_before);
    pp_i64(&p, now);
    return pg_exec((struct pg_conn *)base,
                   "UPDATE notification_deliveries SET state = CASE WHEN channel = 'webhook' "
                   "THEN 'pending' ELSE 'dead' END, last_error = CASE WHEN channel = 'webhook' "
                   "THEN 'interrupted while sending; retried' ELSE 'interrupted while sending; "
                   "not resent so that no message goes out twice' END, send_at = $2, "
                   "updated_at = $2 WHERE state = 'sending' AND updated_at < $1",
                   &p, n, "delivery_recover");
}
