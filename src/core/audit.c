/*
 * audit.c — the audit query's parameters and cursor. The cursor is base64url of
 * "a1:<time>:<id>" (the last row's sort values); it is opaque to clients and
 * checked strictly on the way back in.
 */
#include "core/audit.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/task.h"

void audit_rows_free(struct audit_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].payload);
    free(rows);
}

bool audit_type_known(const char *type)
{
    static const char *const types[] = {
        "task.created",       "task.updated",  "task.completed",     "task.deleted",
        "task.sync",          "reminder.scheduled", "reminder.due", "reminder.cancelled",
        "tock.deadletter"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!*s || strlen(s) > 20)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

static int cursor_decode(struct audit_query *q, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 120)
        return TOCK_EINVAL;
    char raw[100];
    size_t rawlen = 0;
    if (sodium_base642bin((unsigned char *)raw, sizeof raw - 1, v, n, NULL, &rawlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return TOCK_EINVAL;
    raw[rawlen] = '\0';
    if (strncmp(raw, "a1:", 3) != 0)
        return TOCK_EINVAL;
    char *t = raw + 3, *colon = strchr(t, ':');
    if (!colon)
        return TOCK_EINVAL;
    *colon = '\0';
    if (!parse_i64(t, &q->after_time) || !parse_i64(colon + 1, &q->after_id) ||
        q->after_id <= 0)
        return TOCK_EINVAL;
    q->has_cursor = true;
    return 0;
}

char *audit_cursor_encode(const struct audit_row *last)
{
    char raw[64];
    int len = snprintf(raw, sizeof raw, "a1:%" PRId64 ":%" PRId64, last->time, last->id);
    size_t cap = sodium_base64_ENCODED_LEN((size_t)len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, (const unsigned char *)raw, (size_t)len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

int audit_query_parse(struct audit_query *q, const struct qparam *params, size_t n,
                      const char *user_tz, struct tock_error *e)
{
    memset(q, 0, sizeof *q);
    q->limit = AUDIT_LIMIT_DEFAULT;
    static const char *const names[] = {"type", "task_id", "from", "to", "cursor", "limit"};
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = params[i].name, *v = params[i].value;
        size_t idx = 0;
        while (idx < sizeof names / sizeof *names && strcmp(names[idx], k) != 0)
            idx++;
        if (idx == sizeof names / sizeof *names)
            return tock_fail(e, TOCK_EINVAL, k, "unknown query parameter");
        if (seen & (1u << idx))
            return tock_fail(e, TOCK_EINVAL, k, "parameter given more than once");
        seen |= 1u << idx;
        switch (idx) {
        case 0:
            if (!audit_type_known(v))
                return tock_fail(e, TOCK_EINVAL, k, "unknown event type");
            snprintf(q->type, sizeof q->type, "%s", v);
            break;
        case 1:
            if (!(q->task_id = id_parse(v)))
                return tock_fail(e, TOCK_EINVAL, k, "not a task id");
            break;
        case 2:
            if (filter_bound_parse(v, user_tz, false, &q->from))
                return tock_fail(e, TOCK_EINVAL, k,
                                 "expected an RFC 3339 time or a local date (YYYY-MM-DD)");
            q->has_from = true;
            break;
        case 3:
            if (filter_bound_parse(v, user_tz, true, &q->to))
                return tock_fail(e, TOCK_EINVAL, k,
                                 "expected an RFC 3339 time or a local date (YYYY-MM-DD)");
            q->has_to = true;
            break;
        case 4:
            if (cursor_decode(q, v))
                return tock_fail(e, TOCK_EINVAL, k, "not a valid cursor");
            break;
        default: {
            int64_t l = 0;
            if (!parse_i64(v, &l) || l < 1 || l > AUDIT_LIMIT_MAX)
                return tock_fail(e, TOCK_EINVAL, k, "limit must be 1-%d", AUDIT_LIMIT_MAX);
            q->limit = (int)l;
        }
        }
    }
    if (q->has_from && q->has_to && q->from > q->to)
        return tock_fail(e, TOCK_EINVAL, "from", "from is after to");
    return 0;
}
