/* timeutil.c — calendar arithmetic (proleptic Gregorian) and time formats. */
#include "core/timeutil.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int64_t local_naive_seconds(const struct local_dt *t)
{
    return days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
           t->minute * 60 + t->second;
}

void local_from_naive_seconds(int64_t s, struct local_dt *t)
{
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    int64_t rem = s - days * 86400;
    civil_from_days(days, &t->year, &t->month, &t->day);
    t->hour = (int)(rem / 3600);
    t->minute = (int)(rem % 3600 / 60);
    t->second = (int)(rem % 60);
    t->has_time = true;
}

static void put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void time_fmt_rfc3339(int64_t ms, char *out)
{
    /* Hot path (every task in every response): no snprintf. Years outside 0-9999
     * cannot be produced by validated input and are clamped. */
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - s * 1000);
    struct local_dt t;
    local_from_naive_seconds(s, &t);
    if (t.year < 0)
        t.year = 0;
    if (t.year > 9999)
        t.year = 9999;
    memcpy(out, "0000-00-00T00:00:00.000Z", 25);
    put_digits(out, t.year, 4);
    put_digits(out + 5, t.month, 2);
    put_digits(out + 8, t.day, 2);
    put_digits(out + 11, t.hour, 2);
    put_digits(out + 14, t.minute, 2);
    put_digits(out + 17, t.second, 2);
    put_digits(out + 20, frac, 3);
}

/* Reads exactly n digits; returns -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int parse_date(const char *s, struct local_dt *t)
{
    if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return TOCK_EINVAL;
    t->year = digits(s, 4);
    t->month = digits(s + 5, 2);
    t->day = digits(s + 8, 2);
    if (t->year < 1 || t->month < 1 || t->month > 12 || t->day < 1 ||
        t->day > days_in_month(t->year, t->month))
        return TOCK_EINVAL;
    t->hour = t->minute = t->second = 0;
    t->has_time = false;
    return 0;
}

static int parse_hm(const char *s, struct local_dt *t)
{
    if (s[2] != ':')
        return TOCK_EINVAL;
    t->hour = digits(s, 2);
    t->minute = digits(s + 3, 2);
    if (t->hour < 0 || t->hour > 23 || t->minute < 0 || t->minute > 59)
        return TOCK_EINVAL;
    t->has_time = true;
    return 0;
}

int time_parse_local(const char *s, struct local_dt *out)
{
    size_t n = strlen(s);
    if (n != 10 && n != 16)
        return TOCK_EINVAL;
    if (parse_date(s, out))
        return TOCK_EINVAL;
    if (n == 16) {
        if (s[10] != 'T' || parse_hm(s + 11, out))
            return TOCK_EINVAL;
    }
    return 0;
}

void time_fmt_local(const struct local_dt *t, char *out)
{
    char tmp[96];
    if (t->has_time)
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d", t->year, t->month, t->day, t->hour,
                 t->minute);
    else
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", t->year, t->month, t->day);
    snprintf(out, 20, "%.19s", tmp);
}

int time_parse_rfc3339(const char *s, int64_t *ms)
{
    struct local_dt t;
    size_t n = strlen(s);
    if (n < 20 || n > 40 || parse_date(s, &t) || (s[10] != 'T' && s[10] != 't') ||
        parse_hm(s + 11, &t) || s[16] != ':')
        return TOCK_EINVAL;
    int sec = digits(s + 17, 2);
    if (sec < 0 || sec > 59)
        return TOCK_EINVAL;
    t.second = sec;
    const char *p = s + 19;
    int frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3)
                frac = frac * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return TOCK_EINVAL;
        for (int i = nd; i < 3; i++)
            frac *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2), om = -1;
        if (oh >= 0 && p[3] == ':')
            om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return TOCK_EINVAL;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return TOCK_EINVAL;
    }
    if (*p)
        return TOCK_EINVAL;
    *ms = (local_naive_seconds(&t) - off) * 1000 + frac;
    return 0;
}
