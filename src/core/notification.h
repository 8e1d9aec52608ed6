/*
 * notification.h — the notification model (pure): per-user preferences (channels,
 * quiet hours, digest window), in-app inbox entries and delivery records, with
 * their limits and names. The notifier role (roles/notifier.c) and the service
 * (service/notifications.c) apply them; the store keeps the rows.
 *
 * Ownership: struct notification and struct delivery own their heap strings;
 * release with notification_release / delivery_release (the *_free variants free
 * arrays of them).
 */
#ifndef TOCK_CORE_NOTIFICATION_H
#define TOCK_CORE_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

enum notify_channel { CH_IN_APP = 1u << 0, CH_EMAIL = 1u << 1, CH_WEBHOOK = 1u << 2 };
#define CH_ALL (CH_IN_APP | CH_EMAIL | CH_WEBHOOK)

#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_SECRET_MIN 16
#define WEBHOOK_SECRET_MAX 256
#define DIGEST_SECONDS_MAX 86400

enum delivery_state {
    DELIVERY_PENDING = 0, /* waiting for send_at */
    DELIVERY_SENDING = 1, /* claimed by a notifier; the attempt is in flight */
    DELIVERY_SENT = 2,
    DELIVERY_MERGED = 3,  /* sent as part of the digest of group_id */
    DELIVERY_DEAD = 4,    /* attempts exhausted: dead-lettered */
};

struct notify_prefs {
    int64_t user_id;
    unsigned channels; /* CH_* bits */
    char email[EMAIL_MAX + 1];            /* "" = the account's e-mail */
    char webhook_url[WEBHOOK_URL_MAX + 1];
    char webhook_secret[WEBHOOK_SECRET_MAX + 1];
    int quiet_start, quiet_end; /* minutes after local midnight; -1: none */
    int64_t digest_seconds;
    int64_t updated_at;
};

struct notification {
    int64_t id, user_id, task_id;
    char kind[16]; /* "reminder", "digest", "test" */
    char *title, *body, *data; /* data: JSON text */
    int64_t created_at, read_at; /* read_at 0: unread */
};

struct delivery {
    int64_t id, user_id;
    char uuid[40];
    char channel[16]; /* "in_app", "email", "webhook" */
    char kind[16];    /* "reminder", "test" */
    int64_t reminder_id, fired_at, task_id; /* 0 for a test */
    int state;        /* DELIVERY_* */
    int64_t send_at;
    int64_t attempts;
    char *payload;    /* JSON text: the reminder.due data (or the test) */
    int64_t group_id; /* merged rows: the row that sent them */
    char *last_error; /* NULL: none */
    char *log;        /* JSON array of attempts */
    int64_t created_at, updated_at, sent_at;
};

/* Defaults for a user without a row: in-app only, no quiet hours, no digest. */
void notify_prefs_default(struct notify_prefs *p, int64_t user_id);
const char *notify_channel_name(unsigned ch);
unsigned notify_channel_parse(const char *s); /* 0 if unknown */
const char *delivery_state_name(int state);
int delivery_state_parse(const char *s);      /* -1 if unknown */

/*
 * Appends the members (without the enclosing braces) of the notification's JSON,
 * the shape GET /api/v1/notifications returns and notification.created carries:
 * id, kind, title, body, task_id, reminders (n->data), created_at, read_at.
 * 0 or TOCK_ENOMEM/TOCK_ELIMIT from the buf.
 */
struct buf;
int notification_write_members(struct buf *b, const struct notification *n);

void notification_release(struct notification *n);
void notifications_free(struct notification *v, size_t n);
void delivery_release(struct delivery *d);
void deliveries_free(struct delivery *v, size_t n);

#endif
