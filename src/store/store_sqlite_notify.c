/*
 * store_sqlite_notify.c — the SQLite backend's notification ops: preferences, the
 * in-app inbox and the delivery records the notifier works. Part of
 * store_sqlite_ops; see store.h for the contracts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite_int.h"

int sq_notify_prefs_get(struct store_conn *base, int64_t user_id, struct notify_prefs *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT channels, email, webhook_url, webhook_secret, "
                                  "quiet_start, quiet_end, digest_seconds, updated_at FROM "
                                  "notification_prefs WHERE user_id = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "notify_prefs_get");
    }
    notify_prefs_default(out, user_id);
    out->channels = (unsigned)sqlite3_column_int64(st, 0);
    snprintf(out->email, sizeof out->email, "%s", sq_col_text(st, 1));
    snprintf(out->webhook_url, sizeof out->webhook_url, "%s", sq_col_text(st, 2));
    snprintf(out->webhook_secret, sizeof out->webhook_secret, "%s", sq_col_text(st, 3));
    out->quiet_start = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
    out->quiet_end = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
    out->digest_seconds = sqlite3_column_int64(st, 6);
    out->updated_at = sqlite3_column_int64(st, 7);
    sqlite3_reset(st);
    return 0;
}

int sq_notify_prefs_put(struct store_conn *base, const struct notify_prefs *p)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "INSERT INTO notification_prefs (user_id, channels, email, webhook_url, "
           "webhook_secret, quiet_start, quiet_end, digest_seconds, updated_at) VALUES (?1, ?2, "
           "?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (user_id) DO UPDATE SET channels = "
           "excluded.channels, email = excluded.email, webhook_url = excluded.webhook_url, "
           "webhook_secret = excluded.webhook_secret, quiet_start = excluded.quiet_start, "
           "quiet_end = excluded.quiet_end, digest_seconds = excluded.digest_seconds, "
           "updated_at = excluded.updated_at");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, p->user_id);
    sqlite3_bind_int64(st, 2, p->channels);
    sq_bind_text(st, 3, p->email[0] ? p->email : NULL);
    sq_bind_text(st, 4, p->webhook_url[0] ? p->webhook_url : NULL);
    sq_bind_text(st, 5, p->webhook_secret[0] ? p->webhook_secret : NULL);
    sq_bind_i64_or_null(st, 6, p->quiet_start, p->quiet_start >= 0);
    sq_bind_i64_or_null(st, 7, p->quiet_end, p->quiet_end >= 0);
    sqlite3_bind_int64(st, 8, p->digest_seconds);
    sqlite3_bind_int64(st, 9, p->updated_at);
    return sq_exec_stmt(c, st, "notify_prefs_put");
}

int sq_notification_insert(struct store_conn *base, struct notification *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO notifications (user_id, kind, title, body, "
                                  "task_id, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, n->user_id);
    sq_bind_text(st, 2, n->kind);
    sq_bind_text(st, 3, n->title);
    sq_bind_text(st, 4, n->body);
    sq_bind_i64_or_null(st, 5, n->task_id, n->task_id != 0);
    sq_bind_text(st, 6, n->data);
    sqlite3_bind_int64(st, 7, n->created_at);
    int rc = sq_exec_stmt(c, st, "notification_insert");
    if (!rc)
        n->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static int read_notifications(struct sq_conn *c, sqlite3_stmt *st, struct notification **out,
                              size_t *n)
{
    struct notification *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct notification *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv)
            goto oom;
        v = nv;
        struct notification *x = &v[m++];
        memset(x, 0, sizeof *x);
        x->id = sqlite3_column_int64(st, 0);
        x->user_id = sqlite3_column_int64(st, 1);
        snprintf(x->kind, sizeof x->kind, "%s", sq_col_text(st, 2));
        x->title = strdup(sq_col_text(st, 3));
        x->body = strdup(sq_col_text(st, 4));
        x->task_id = sqlite3_column_int64(st, 5);
        x->data = strdup(sq_col_text(st, 6));
        x->created_at = sqlite3_column_int64(st, 7);
        x->read_at = sqlite3_column_int64(st, 8);
        if (!x->title || !x->body || !x->data)
            goto oom;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        notifications_free(v, m);
        return sq_err(c, rc, "notifications");
    }
    *out = v;
    *n = m;
    return 0;
oom:
    sqlite3_reset(st);
    notifications_free(v, m);
    return TOCK_ENOMEM;
}

#define NOTIF_COLS "id, user_id, kind, title, body, task_id, data, created_at, read_at"

int sq_notification_list(struct store_conn *base, int64_t user_id, bool unread_only,
                         int64_t before_id, int limit, struct notification **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = ?1 "
                                  "AND (?2 = 0 OR read_at IS NULL) AND (?3 = 0 OR id < ?3) "
                                  "ORDER BY id DESC LIMIT ?4");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int(st, 2, unread_only ? 1 : 0);
    sqlite3_bind_int64(st, 3, before_id);
    sqlite3_bind_int(st, 4, limit + 1);
    return read_notifications(c, st, out, n);
}

int sq_notification_get(struct store_conn *base, int64_t user_id, int64_t id,
                        struct notification *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = ?1 "
                                  "AND id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, id);
    struct notification *v = NULL;
    size_t m = 0;
    int rc = read_notifications(c, st, &v, &m);
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

int sq_notification_mark_read(struct store_conn *base, int64_t user_id, int64_t id, int64_t now,
                              int64_t *changed)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "UPDATE notifications SET read_at = ?3 WHERE user_id = ?1 AND "
                                  "(?2 = 0 OR id = ?2) AND read_at IS NULL");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int64(st, 3, now);
    int rc = sq_exec_stmt(c, st, "notification_mark_read");
    if (!rc)
        *changed = sqlite3_changes(c->db);
    return rc;
}

#define DELIV_COLS                                                                             \
    "id, uuid, user_id, channel, kind, reminder_id, fired_at, task_id, state, send_at, "       \
    "attempts, payload, group_id, last_error, log, created_at, updated_at, sent_at"

static int read_deliveries(struct sq_conn *c, sqlite3_stmt *st, struct delivery **out,
                           size_t *n)
{
    struct delivery *v = NULL;
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct delivery *nv = realloc(v, (m + 1) * sizeof *v);
        if (!nv)
            goto oom;
        v = nv;
        struct delivery *d = &v[m++];
        memset(d, 0, sizeof *d);
        d->id = sqlite3_column_int64(st, 0);
        snprintf(d->uuid, sizeof d->uuid, "%s", sq_col_text(st, 1));
        d->user_id = sqlite3_column_int64(st, 2);
        snprintf(d->channel, sizeof d->channel, "%s", sq_col_text(st, 3));
        snprintf(d->kind, sizeof d->kind, "%s", sq_col_text(st, 4));
        d->reminder_id = sqlite3_column_int64(st, 5);
        d->fired_at = sqlite3_column_int64(st, 6);
        d->task_id = sqlite3_column_int64(st, 7);
        d->state = delivery_state_parse(sq_col_text(st, 8));
        d->send_at = sqlite3_column_int64(st, 9);
        d->attempts = sqlite3_column_int64(st, 10);
        d->payload = strdup(sq_col_text(st, 11));
        d->group_id = sqlite3_column_int64(st, 12);
        if (sqlite3_column_type(st, 13) != SQLITE_NULL && !(d->last_error = strdup(sq_col_text(st, 13))))
            goto oom;
        d->log = strdup(sq_col_text(st, 14));
        d->created_at = sqlite3_column_int64(st, 15);
        d->updated_at = sqlite3_column_int64(st, 16);
        d->sent_at = sqlite3_column_int64(st, 17);
        if (!d->payload || !d->log)
            goto oom;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        deliveries_free(v, m);
        return sq_err(c, rc, "deliveries");
    }
    *out = v;
    *n = m;
    return 0;
oom:
    sqlite3_reset(st);
    deliveries_free(v, m);
    return TOCK_ENOMEM;
}

int sq_delivery_insert(struct store_conn *base, struct delivery *d)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "INSERT INTO notification_deliveries (uuid, user_id, channel, kind, reminder_id, "
           "fired_at, task_id, state, send_at, attempts, payload, group_id, last_error, log, "
           "created_at, updated_at, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
           "?11, ?12, ?13, ?14, ?15, ?16, ?17) ON CONFLICT (reminder_id, fired_at, channel) DO "
           "NOTHING");
    if (!st)
        return TOCK_ESTORE;
    sq_bind_text(st, 1, d->uuid);
    sqlite3_bind_int64(st, 2, d->user_id);
    sq_bind_text(st, 3, d->channel);
    sq_bind_text(st, 4, d->kind);
    sq_bind_i64_or_null(st, 5, d->reminder_id, d->reminder_id != 0);
    sq_bind_i64_or_null(st, 6, d->fired_at, d->reminder_id != 0);
    sq_bind_i64_or_null(st, 7, d->task_id, d->task_id != 0);
    sq_bind_text(st, 8, delivery_state_name(d->state));
    sqlite3_bind_int64(st, 9, d->send_at);
    sqlite3_bind_int64(st, 10, d->attempts);
    sq_bind_text(st, 11, d->payload);
    sq_bind_i64_or_null(st, 12, d->group_id, d->group_id != 0);
    sq_bind_text(st, 13, d->last_error);
    sq_bind_text(st, 14, d->log ? d->log : "[]");
    sqlite3_bind_int64(st, 15, d->created_at);
    sqlite3_bind_int64(st, 16, d->updated_at);
    sq_bind_i64_or_null(st, 17, d->sent_at, d->sent_at != 0);
    int rc = sq_exec_stmt(c, st, "delivery_insert");
    if (rc)
        return rc;
    if (sqlite3_changes(c->db) != 1)
        return TOCK_ECONFLICT;
    d->id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

int sq_delivery_due(struct store_conn *base, int64_t now, int limit, struct delivery **out,
                    size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " DELIV_COLS " FROM notification_deliveries WHERE "
                                  "state = 'pending' AND send_at <= ?1 ORDER BY send_at, id "
                                  "LIMIT ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    return read_deliveries(c, st, out, n);
}

int sq_delivery_group(struct store_conn *base, int64_t user_id, const char *channel,
                      int64_t until, int64_t except_id, struct delivery **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " DELIV_COLS " FROM notification_deliveries WHERE "
                                  "state = 'pending' AND send_at <= ?1 AND user_id = ?2 AND "
                                  "channel = ?3 AND id <> ?4 AND kind = 'reminder' ORDER BY "
                                  "send_at, id LIMIT 200");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, until);
    sqlite3_bind_int64(st, 2, user_id);
    sq_bind_text(st, 3, channel);
    sqlite3_bind_int64(st, 4, except_id);
    return read_deliveries(c, st, out, n);
}

int sq_delivery_update(struct store_conn *base, const struct delivery *d)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "UPDATE notification_deliveries SET state = ?2, send_at = ?3, "
                                  "attempts = ?4, group_id = ?5, last_error = ?6, log = ?7, "
                                  "updated_at = ?8, sent_at = ?9, payload = ?10 WHERE id = ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, d->id);
    sq_bind_text(st, 2, delivery_state_name(d->state));
    sqlite3_bind_int64(st, 3, d->send_at);
    sqlite3_bind_int64(st, 4, d->attempts);
    sq_bind_i64_or_null(st, 5, d->group_id, d->group_id != 0);
    sq_bind_text(st, 6, d->last_error);
    sq_bind_text(st, 7, d->log ? d->log : "[]");
    sqlite3_bind_int64(st, 8, d->updated_at);
    sq_bind_i64_or_null(st, 9, d->sent_at, d->sent_at != 0);
    sq_bind_text(st, 10, d->payload ? d->payload : "[]");
    return sq_exec_stmt(c, st, "delivery_update");
}

int sq_delivery_list(struct store_conn *base, int64_t user_id, int64_t before_id, int limit,
                     struct delivery **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " DELIV_COLS " FROM notification_deliveries WHERE "
                                  "user_id = ?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, before_id);
    sqlite3_bind_int(st, 3, limit + 1);
    return read_deliveries(c, st, out, n);
}

int sq_delivery_next(struct store_conn *base, int64_t *send_at)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT min(send_at) FROM notification_deliveries WHERE "
                                  "state = 'pending'");
    if (!st)
        return TOCK_ESTORE;
    int rc = sqlite3_step(st);
    *send_at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_err(c, rc, "delivery_next");
}

int sq_delivery_recover(struct store_conn *base, int64_t stale_before, int64_t now, int64_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(
        c, "UPDATE notification_deliveries SET state = CASE WHEN channel = 'webhook' THEN "
           "'pending' ELSE 'dead' END, last_error = CASE WHEN channel = 'webhook' THEN "
           "'interrupted while sending; retried' ELSE 'interrupted while sending; not resent "
           "so that no message goes out twice' END, send_at = ?2, updated_at = ?2 WHERE state "
           "= 'sending' AND updated_at < ?1");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, stale_before);
    sqlite3_bind_int64(st, 2, now);
    int rc = sq_exec_stmt(c, st, "delivery_recover");
    if (!rc)
        *n = sqlite3_changes(c->db);
    return rc;
}
