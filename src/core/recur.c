/*
 * recur.c — the recurrence rules (see recur.h): the friendly form written out as an
 * RRULE, and the next occurrence of a series expanded with libical's recurrence
 * iterator in floating local time. It owns no state but the lock that serializes
 * libical's parser and iterator (libical's error state is process-wide); time zone
 * conversion happens in tz.c under its own lock (taken after this one, never the
 * other way round).
 */
#include "core/recur.h"
#include "core/task.h"
#include "core/tz.h"

#include <ctype.h>
#include <libical/ical.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the friendly form ---- */

struct out {
    char *p;
    size_t cap, len;
    bool overflow;
};

static void put_s(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->overflow || n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n + 1);
    o->len += n;
}

static void put_l(struct out *o, long v)
{
    char b[24];
    snprintf(b, sizeof b, "%ld", v);
    put_s(o, b);
}

/*
 * A list member: an integer or a non-empty array of integers in [min, max] (0 refused
 * when nonzero). Appends ";NAME=v1,v2" to o. Returns false (e filled) when invalid.
 */
static bool int_list(json_t *v, const char *name, const char *field, long min, long max,
                     bool nonzero, size_t max_items, struct out *o, struct tock_error *e)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if ((!json_is_array(v) && !json_is_integer(v)) || n == 0 || n > max_items) {
        tock_fail(e, TOCK_EINVAL, field, "%s must be an integer or a list of 1-%zu integers",
                  field, max_items);
        return false;
    }
    put_s(o, ";");
    put_s(o, name);
    put_s(o, "=");
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
        json_int_t k = json_is_integer(x) ? json_integer_value(x) : 0;
        if (!json_is_integer(x) || k < min || k > max || (nonzero && k == 0)) {
            tock_fail(e, TOCK_EINVAL, field, "%s values must be integers %ld..%ld%s", field, min,
                      max, nonzero ? " (not 0)" : "");
            return false;
        }
        put_s(o, i ? "," : "");
        put_l(o, (long)k);
    }
    return true;
}

static const char *const day_codes[] = {"mo", "tu", "we", "th", "fr", "sa", "su"};

/* "mo", "2mo", "-1fr", "+1su" (any case) -> "MO", "2MO", "-1FR", "+1SU". */
static bool weekday(const char *s, bool allow_ordinal, char out[8])
{
    size_t n = strlen(s);
    if (n < 2 || n > 5)
        return false;
    const char *d = s + n - 2;
    int day = -1;
    for (int i = 0; i < 7; i++)
        if (tolower((unsigned char)d[0]) == day_codes[i][0] &&
            tolower((unsigned char)d[1]) == day_codes[i][1])
            day = i;
    if (day < 0)
        return false;
    size_t ol = n - 2, i = 0;
    if (ol && !allow_ordinal)
        return false;
    if (ol && (s[0] == '+' || s[0] == '-'))
        i = 1;
    if (ol && (i == ol || ol - i > 2))
        return false;
    long ord = 0;
    for (size_t k = i; k < ol; k++) {
        if (!isdigit((unsigned char)s[k]))
            return false;
        ord = ord * 10 + (s[k] - '0');
    }
    if (ol && (ord < 1 || ord > 53))
        return false;
    for (size_t k = 0; k < ol; k++)
        out[k] = s[k];
    out[ol] = (char)toupper((unsigned char)d[0]);
    out[ol + 1] = (char)toupper((unsigned char)d[1]);
    out[ol + 2] = 0;
    return true;
}

static int parse_recur_from(json_t *from, int *recur_from, struct tock_error *e)
{
    *recur_from = RECUR_DUE;
    if (!from || json_is_null(from))
        return 0;
    const char *f = json_is_string(from) ? json_string_value(from) : "";
    if (strcmp(f, "due") == 0)
        *recur_from = RECUR_DUE;
    else if (strcmp(f, "completion") == 0)
        *recur_from = RECUR_COMPLETION;
    else
        return tock_fail(e, TOCK_EINVAL, "recurrence.recur_from",
                         "recurrence.recur_from must be due or completion");
    return 0;
}

static int friendly(json_t *rec, struct out *o, struct tock_error *e)
{
    static const char *const freqs[] = {"daily", "weekly", "monthly", "yearly"};
    json_t *fq = json_object_get(rec, "frequency");
    int freq = -1;
    for (int i = 0; i < 4 && json_is_string(fq); i++)
        if (strcmp(json_string_value(fq), freqs[i]) == 0)
            freq = i;
    if (freq < 0)
        return tock_fail(e, TOCK_EINVAL, "recurrence.frequency",
                         "recurrence.frequency must be daily, weekly, monthly or yearly");
    static const char *const up[] = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"};
    put_s(o, "FREQ=");
    put_s(o, up[freq]);
    json_t *v;
    if ((v = json_object_get(rec, "interval")) && !json_is_null(v)) {
        json_int_t k = json_is_integer(v) ? json_integer_value(v) : 0;
        if (k < 1 || k > 1000)
            return tock_fail(e, TOCK_EINVAL, "recurrence.interval",
                             "recurrence.interval must be an integer 1-1000");
        if (k > 1) {
            put_s(o, ";INTERVAL=");
            put_l(o, (long)k);
        }
    }
    bool by = false;
    if ((v = json_object_get(rec, "month")) && !json_is_null(v)) {
        if (!int_list(v, "BYMONTH", "recurrence.month", 1, 12, false, 12, o, e))
            return TOCK_EINVAL;
        by = true;
    }
    if ((v = json_object_get(rec, "month_day")) && !json_is_null(v)) {
        if (freq == 1)
            return tock_fail(e, TOCK_EINVAL, "recurrence.month_day",
                             "recurrence.month_day does not go with a weekly frequency");
        if (!int_list(v, "BYMONTHDAY", "recurrence.month_day", -31, 31, true, 31, o, e))
            return TOCK_EINVAL;
        by = true;
    }
    if ((v = json_object_get(rec, "weekdays")) && !json_is_null(v)) {
        size_t n = json_is_array(v) ? json_array_size(v) : 0;
        if (n == 0 || n > 60)
            return tock_fail(e, TOCK_EINVAL, "recurrence.weekdays",
                             "recurrence.weekdays must be a list of 1-60 days (mo..su)");
        put_s(o, ";BYDAY=");
        for (size_t i = 0; i < n; i++) {
            json_t *d = json_array_get(v, i);
            char code[8];
            /* RFC 5545: an ordinal ("2mo", "-1fr") only in a monthly or yearly rule. */
            if (!json_is_string(d) || !weekday(json_string_value(d), freq >= 2, code))
                return tock_fail(e, TOCK_EINVAL, "recurrence.weekdays",
                                 "recurrence.weekdays are mo, tu, we, th, fr, sa, su%s",
                                 freq >= 2 ? ", optionally with an ordinal (2mo, -1fr)" : "");
            put_s(o, i ? "," : "");
            put_s(o, code);
        }
        by = true;
    }
    if ((v = json_object_get(rec, "set_position")) && !json_is_null(v)) {
        if (!by)
            return tock_fail(e, TOCK_EINVAL, "recurrence.set_position",
                             "recurrence.set_position needs weekdays, month_day or month");
        if (!int_list(v, "BYSETPOS", "recurrence.set_position", -366, 366, true, 31, o, e))
            return TOCK_EINVAL;
    }
    json_t *count = json_object_get(rec, "count"), *until = json_object_get(rec, "until");
    if (count && json_is_null(count))
        count = NULL;
    if (until && json_is_null(until))
        until = NULL;
    if (count && until)
        return tock_fail(e, TOCK_EINVAL, "recurrence.until",
                         "recurrence takes count or until, not both");
    if (count) {
        json_int_t k = json_is_integer(count) ? json_integer_value(count) : 0;
        if (k < 1 || k > 100000)
            return tock_fail(e, TOCK_EINVAL, "recurrence.count",
                             "recurrence.count must be an integer 1-100000");
        put_s(o, ";COUNT=");
        put_l(o, (long)k);
    }
    if (until) {
        struct local_dt d;
        const char *s = json_is_string(until) ? json_string_value(until) : "";
        if (strlen(s) != 10 || time_parse_local(s, &d) || d.year < TZ_YEAR_MIN + 1 ||
            d.year > TZ_YEAR_MAX - 1)
            return tock_fail(e, TOCK_EINVAL, "recurrence.until",
                             "recurrence.until must be a date YYYY-MM-DD (1901-2499)");
        put_s(o, ";UNTIL=");
        put_l(o, (long)d.year * 10000 + d.month * 100 + d.day);
    }
    return 0;
}

int recur_parse_json(json_t *rec, char *rrule, size_t cap, int *recur_from,
                     struct tock_error *e)
{
    static const char *const known[] = {"rrule", "recur_from", "frequency", "interval",
                                        "weekdays", "month_day", "month", "set_position",
                                        "count", "until", NULL};
    if (!json_is_object(rec))
        return tock_fail(e, TOCK_EINVAL, "recurrence",
                         "recurrence must be an object ({rrule, recur_from} or {frequency, ...}) "
                         "or null");
    const char *key;
    json_t *val;
    json_object_foreach(rec, key, val)
    {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            char field[64];
            snprintf(field, sizeof field, "recurrence.%.40s", key);
            return tock_fail(e, TOCK_EINVAL, field, "unknown member of recurrence");
        }
    }
    int rc = parse_recur_from(json_object_get(rec, "recur_from"), recur_from, e);
    if (rc)
        return rc;
    json_t *rr = json_object_get(rec, "rrule");
    bool has_friendly = json_object_size(rec) > (size_t)(rr ? 1 : 0) +
                                                    (json_object_get(rec, "recur_from") ? 1 : 0);
    if (rr) {
        if (has_friendly)
            return tock_fail(e, TOCK_EINVAL, "recurrence",
                             "recurrence takes either rrule or the friendly form, not both");
        if (!json_is_string(rr))
            return tock_fail(e, TOCK_EINVAL, "recurrence.rrule",
                             "recurrence.rrule must be a string");
        const char *s = json_string_value(rr);
        if (strlen(s) >= cap)
            return tock_fail(e, TOCK_EINVAL, "recurrence.rrule",
                             "recurrence.rrule is longer than %zu characters", cap - 1);
        memcpy(rrule, s, strlen(s) + 1);
        return 0;
    }
    if (!json_object_get(rec, "frequency"))
        return tock_fail(e, TOCK_EINVAL, "recurrence",
                         "recurrence needs rrule or frequency");
    struct out o = {rrule, cap, 0, false};
    rrule[0] = 0;
    if ((rc = friendly(rec, &o, e)))
        return rc;
    if (o.overflow)
        return tock_fail(e, TOCK_EINVAL, "recurrence", "the rule is too long");
    return 0;
}

long recur_rule_count(const char *rrule)
{
    const char *p = rrule;
    while (p && *p) {
        if (strncmp(p, "COUNT=", 6) == 0) {
            char *end = NULL;
            long v = strtol(p + 6, &end, 10);
            return end != p + 6 && v > 0 && (*end == ';' || *end == 0) ? v : 0;
        }
        p = strchr(p, ';');
        if (p)
            p++;
    }
    return 0;
}

/* ---- expansion ---- */

static struct icaltimetype ical_from_local(const struct local_dt *t)
{
    struct icaltimetype r = icaltime_null_time();
    r.year = t->year;
    r.month = t->month;
    r.day = t->day;
    r.is_date = !t->has_time;
    if (t->has_time) {
        r.hour = t->hour;
        r.minute = t->minute;
        r.second = t->second;
    }
    r.zone = NULL; /* floating: the rule is expanded in local wall time */
    return r;
}

static int cmp_date(const struct local_dt *a, const struct local_dt *b)
{
    int64_t x = days_from_civil(a->year, a->month, a->day),
            y = days_from_civil(b->year, b->month, b->day);
    return x < y ? -1 : x > y;
}

enum until_kind { UNTIL_NONE, UNTIL_DATE, UNTIL_UTC, UNTIL_LOCAL };

int recur_next_after(const char *rrule, const struct local_dt *start, const char *zone,
                     const struct local_dt *after_date, int64_t after_ms, struct local_dt *out)
{
    if (!tz_valid(zone))
        return TOCK_EINVAL;
    bool dated = !start->has_time;
    /* The point to pass, as local naive seconds: candidates well before it skip the zone. */
    int64_t after_naive;
    struct local_dt after_local;
    if (dated) {
        after_local = *after_date;
        after_local.hour = after_local.minute = after_local.second = 0;
        after_local.has_time = false;
        after_naive = local_naive_seconds(&after_local);
    } else {
        if (tz_utc_to_local(zone, after_ms, &after_local))
            return TOCK_EINVAL;
        after_naive = local_naive_seconds(&after_local);
    }
    int rc = TOCK_ENOTFOUND;
    pthread_mutex_lock(&lock);
    icalerror_clear_errno();
    icalerror_set_errors_are_fatal(0);
    struct icalrecurrencetype r = icalrecurrencetype_from_string(rrule);
    if (r.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR) {
        icalerror_clear_errno();
        pthread_mutex_unlock(&lock);
        return TOCK_EINVAL;
    }
    /* The rule's own UNTIL is checked here, in the zone; COUNT by the caller. */
    enum until_kind uk = UNTIL_NONE;
    int64_t until_ms = 0, until_naive = 0;
    struct local_dt until_d = {0};
    if (!icaltime_is_null_time(r.until)) {
        until_d = (struct local_dt){r.until.year, r.until.month, r.until.day, r.until.hour,
                                    r.until.minute, r.until.second, !r.until.is_date};
        if (r.until.is_date) {
            uk = UNTIL_DATE;
        } else if (icaltime_is_utc(r.until)) {
            uk = UNTIL_UTC;
            until_ms = local_naive_seconds(&until_d) * 1000;
        } else {
            uk = UNTIL_LOCAL;
            until_naive = local_naive_seconds(&until_d);
        }
    }
    /* Search bound: an UNTIL of the same type as DTSTART, so libical stops there. */
    int base = after_local.year > start->year ? after_local.year : start->year;
    int cap_year = base + RECUR_SEARCH_YEARS;
    if (r.freq == ICAL_YEARLY_RECURRENCE)
        cap_year += r.interval;
    else if (r.freq == ICAL_MONTHLY_RECURRENCE)
        cap_year += r.interval / 12 + 1;
    if (cap_year > TZ_YEAR_MAX - 1)
        cap_year = TZ_YEAR_MAX - 1;
    struct local_dt cap = {cap_year, 12, 31, 23, 59, 59, !dated};
    r.until = ical_from_local(&cap);
    r.count = 0;
    /*
     * A daily or weekly series started long ago: move its start forward by whole
     * periods (INTERVAL days or weeks, so the phase and the weekday stay) to a little
     * before the point, instead of expanding decades of instances. COUNT is not
     * libical's business here, so the expansion after the point is the same.
     */
    struct local_dt from = *start;
    int64_t step = r.freq == ICAL_DAILY_RECURRENCE    ? r.interval
                   : r.freq == ICAL_WEEKLY_RECURRENCE ? 7 * (int64_t)r.interval
                                                       : 0;
    if (step > 0) {
        int64_t gap = days_from_civil(after_local.year, after_local.month, after_local.day) -
                      days_from_civil(start->year, start->month, start->day) - 8 - step;
        if (gap > 0)
            civil_from_days(days_from_civil(start->year, start->month, start->day) +
                                gap / step * step,
                            &from.year, &from.month, &from.day);
    }
    icalrecur_iterator *it = icalrecur_iterator_new(r, ical_from_local(&from));
    for (long n = 0; it && n < RECUR_SEARCH_MAX_INSTANCES; n++) {
        struct icaltimetype x = icalrecur_iterator_next(it);
        if (icaltime_is_null_time(x))
            break;
        struct local_dt c = {x.year, x.month, x.day, dated ? 0 : x.hour, dated ? 0 : x.minute,
                             dated ? 0 : x.second, !dated};
        int64_t naive = local_naive_seconds(&c);
        if (uk == UNTIL_DATE && cmp_date(&c, &until_d) > 0)
            break;
        if (uk == UNTIL_LOCAL && naive > until_naive)
            break;
        if (uk == UNTIL_UTC) {
            int64_t m;
            if (tz_local_to_utc(zone, &c, &m))
                break;
            if (m > until_ms)
                break;
        }
        if (dated) {
            if (cmp_date(&c, &after_local) <= 0)
                continue;
        } else {
            /* No zone is two days off its own wall clock: compare exactly only near the point. */
            if (naive < after_naive - 2 * 86400)
                continue;
            int64_t m;
            if (tz_local_to_utc(zone, &c, &m))
                break;
            if (m <= after_ms)
                continue;
        }
        *out = c;
        rc = 0;
        break;
    }
    if (it)
        icalrecur_iterator_free(it);
    icalerror_clear_errno();
    pthread_mutex_unlock(&lock);
    return rc;
}

int recur_next_due(const struct recur_req *q, struct local_dt *out)
{
    long count = recur_rule_count(q->rrule);
    if (count && q->occurrence + 1 > count)
        return TOCK_ENOTFOUND;
    struct local_dt start = q->start;
    if (q->recur_from == RECUR_COMPLETION) {
        /* Re-anchored at the completion's local date, keeping the series' time of day. */
        struct local_dt done;
        if (tz_utc_to_local(q->zone, q->completed_ms, &done))
            return TOCK_EINVAL;
        start.year = done.year;
        start.month = done.month;
        start.day = done.day;
        if (!start.has_time)
            return recur_next_after(q->rrule, &start, q->zone, &start, 0, out);
        int64_t from;
        if (tz_local_to_utc(q->zone, &start, &from))
            return TOCK_EINVAL;
        return recur_next_after(q->rrule, &start, q->zone, NULL, from, out);
    }
    if (!start.has_time) {
        struct local_dt today;
        if (tz_utc_to_local(q->zone, q->now_ms, &today))
            return TOCK_EINVAL;
        const struct local_dt *after = cmp_date(&q->due, &today) >= 0 ? &q->due : &today;
        return recur_next_after(q->rrule, &start, q->zone, after, 0, out);
    }
    int64_t after = q->due_ms > q->now_ms ? q->due_ms : q->now_ms;
    return recur_next_after(q->rrule, &start, q->zone, NULL, after, out);
}
