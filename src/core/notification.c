/* notification.c — names, defaults and release functions of notification.h. */
#include "core/notification.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/task.h"
#include "core/timeutil.h"

void notify_prefs_default(struct notify_prefs *p, int64_t user_id)
{
    memset(p, 0, sizeof *p);
    p->user_id = user_id;
    p->channels = CH_IN_APP;
    p->quiet_start = p->quiet_end = -1;
}

const char *notify_channel_name(unsigned ch)
{
    switch (ch) {
    case CH_IN_APP: return "in_app";
    case CH_EMAIL: return "email";
    case CH_WEBHOOK: return "webhook";
    default: return "";
    }
}

unsigned notify_channel_parse(const char *s)
{
    if (strcmp(s, "in_app") == 0)
        return CH_IN_APP;
    if (strcmp(s, "email") == 0)
        return CH_EMAIL;
    if (strcmp(s, "webhook") == 0)
        return CH_WEBHOOK;
    return 0;
}

static const char *const dstates[] = {"pending", "sending", "sent", "merged", "dead"};

const char *delivery_state_name(int state)
{
    return state >= 0 && state < 5 ? dstates[state] : "pending";
}

int delivery_state_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, dstates[i]) == 0)
            return i;
    return -1;
}

void notification_release(struct notification *n)
{
    free(n->title);
    free(n->body);
    free(n->data);
    n->title = n->body = n->data = NULL;
}

void notifications_free(struct notification *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        notification_release(&v[i]);
    free(v);
}

void delivery_release(struct delivery *d)
{
    free(d->payload);
    free(d->last_error);
    free(d->log);
    d->payload = d->last_error = d->log = NULL;
}

void deliveries_free(struct delivery *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        delivery_release(&v[i]);
    free(v);
}

int notification_write_members(struct buf *b, const struct notification *n)
{
    char id[24], ts[32];
    int rc = 0;
    id_str(n->id, id);
    rc |= buf_printf(b, "\"id\":\"%s\",\"kind\":", id);
    rc |= buf_json_str(b, n->kind);
    rc |= buf_puts(b, ",\"title\":");
    rc |= buf_json_str(b, n->title);
    rc |= buf_puts(b, ",\"body\":");
    rc |= buf_json_str(b, n->body);
    if (n->task_id) {
        id_str(n->task_id, id);
        rc |= buf_printf(b, ",\"task_id\":\"%s\"", id);
    } else {
        rc |= buf_puts(b, ",\"task_id\":null");
    }
    rc |= buf_puts(b, ",\"reminders\":");
    rc |= buf_puts(b, n->data && n->data[0] ? n->data : "[]");
    time_fmt_rfc3339(n->created_at, ts);
    rc |= buf_printf(b, ",\"created_at\":\"%s\",\"read_at\":", ts);
    if (n->read_at) {
        time_fmt_rfc3339(n->read_at, ts);
        rc |= buf_printf(b, "\"%s\"", ts);
    } else {
        rc |= buf_puts(b, "null");
    }
    return rc;
}
