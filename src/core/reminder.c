/*
 * reminder.c — reminder rules: names, the anchor of offset reminders, building a
 * reminder from client input and the quiet-hours window. See reminder.h.
 */
#include "core/reminder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/tz.h"

static const char *const kinds[] = {"offset", "at"};
static const char *const states[] = {"pending", "fired", "cancelled"};

const char *reminder_kind_name(int kind)
{
    return kind >= 0 && kind < 2 ? kinds[kind] : "offset";
}

const char *reminder_state_name(int state)
{
    return state >= 0 && state < 3 ? states[state] : "pending";
}

int reminder_kind_parse(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(s, kinds[i]) == 0)
            return i;
    return -1;
}

int reminder_state_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, states[i]) == 0)
            return i;
    return -1;
}

int reminder_anchor(const struct task *t, int64_t *ms)
{
    *ms = 0;
    if (!t->has_due)
        return 0;
    if (t->due_has_time) {
        *ms = t->due_at;
        return 0;
    }
    struct local_dt lt;
    if (time_parse_local(t->due_local, &lt))
        return TOCK_EINVAL;
    lt.hour = REMINDER_DATE_ONLY_HOUR;
    lt.minute = 0;
    lt.second = 0;
    lt.has_time = true;
    return tz_local_to_utc(t->timezone, &lt, ms);
}

int reminder_from_input(struct reminder *r, const struct reminder_input *in,
                        const struct task *t, int64_t now, const char *field,
                        struct tock_error *e)
{
    char f[64];
    memset(r, 0, sizeof *r);
    r->user_id = t->user_id;
    r->task_id = t->id;
    r->state = REMINDER_PENDING;
    r->created_at = r->updated_at = now;
    if (in->is_offset) {
        if (in->offset_minutes < 0 || in->offset_minutes > REMINDER_OFFSET_MAX_MINUTES) {
            snprintf(f, sizeof f, "%soffset_minutes", field);
            return tock_fail(e, TOCK_EINVAL, f, "offset_minutes must be 0-%d",
                             REMINDER_OFFSET_MAX_MINUTES);
        }
        if (!t->has_due) {
            snprintf(f, sizeof f, "%soffset_minutes", field);
            return tock_fail(e, TOCK_EINVAL, f,
                             "an offset reminder needs a task with a due date");
        }
        r->kind = REMINDER_OFFSET;
        r->offset_minutes = in->offset_minutes;
        int64_t anchor;
        if (reminder_anchor(t, &anchor))
            return tock_fail(e, TOCK_EINVAL, "due", "the task's due cannot be resolved");
        r->fire_at = anchor - in->offset_minutes * 60000;
        return 0;
    }
    snprintf(f, sizeof f, "%sat", field);
    if (!in->at)
        return tock_fail(e, TOCK_EINVAL, f, "give offset_minutes or at");
    struct local_dt lt;
    int64_t ms;
    if (time_parse_local(in->at, &lt) == 0) {
        if (!lt.has_time)
            return tock_fail(e, TOCK_EINVAL, f, "at needs a time (YYYY-MM-DDTHH:MM)");
        if (lt.year < TZ_YEAR_MIN || lt.year > TZ_YEAR_MAX ||
            tz_local_to_utc(t->timezone, &lt, &ms))
            return tock_fail(e, TOCK_EINVAL, f, "at is out of range");
    } else if (time_parse_rfc3339(in->at, &ms)) {
        return tock_fail(e, TOCK_EINVAL, f,
                         "at must be YYYY-MM-DDTHH:MM (local) or an RFC 3339 date-time");
    }
    if (ms <= now)
        return tock_fail(e, TOCK_EINVAL, f, "at must be in the future");
    if (ms > now + 100LL * 366 * 86400000)
        return tock_fail(e, TOCK_EINVAL, f, "at is too far in the future");
    r->kind = REMINDER_AT;
    r->at_ms = ms;
    r->fire_at = ms;
    return 0;
}

int reminder_hhmm_parse(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

int quiet_release(const char *zone, int start_min, int end_min, int64_t at, int64_t *release)
{
    *release = at;
    if (start_min < 0 || end_min < 0 || start_min == end_min)
        return 0;
    struct local_dt lt;
    int rc = tz_utc_to_local(zone, at, &lt);
    if (rc)
        return rc;
    int cur = lt.hour * 60 + lt.minute;
    bool inside = start_min < end_min ? (cur >= start_min && cur < end_min)
                                      : (cur >= start_min || cur < end_min);
    if (!inside)
        return 0;
    /* The window ends today at end_min, or tomorrow when it wraps and we are before midnight. */
    int64_t day = days_from_civil(lt.year, lt.month, lt.day);
    if (start_min > end_min && cur >= start_min)
        day++;
    struct local_dt end;
    memset(&end, 0, sizeof end);
    civil_from_days(day, &end.year, &end.month, &end.day);
    end.hour = end_min / 60;
    end.minute = end_min % 60;
    end.has_time = true;
    int64_t ms;
    if ((rc = tz_local_to_utc(zone, &end, &ms)))
        return rc;
    *release = ms > at ? ms : at;
    return 0;
}

void reminder_fires_free(struct reminder_fire *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].title);
    free(v);
}
