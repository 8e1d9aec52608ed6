/*
 * rrule.c — strict validation of RFC 5545 RRULE text (§3.3.10). libical parses
 * leniently (it accepts BYMONTH=13 or an empty part), so every part is checked
 * here first: known names only, no repeats, values in range, COUNT xor UNTIL.
 * FREQ is limited to DAILY..YEARLY: a task that recurs every hour is a timer.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rrule.h"
#include "core/timeutil.h"

static const char *const days[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};

/* Parses a signed decimal of at most `maxdigits` digits; false if not one. */
static bool int_in(const char *s, size_t n, bool allow_sign, long min, long max, long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && allow_sign && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n || n - i > 6)
        return false;
    long v = 0;
    for (; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (out)
        *out = v;
    return v >= min && v <= max;
}

static bool is_day(const char *s, size_t n)
{
    if (n != 2)
        return false;
    for (int i = 0; i < 7; i++)
        if (strncmp(s, days[i], 2) == 0)
            return true;
    return false;
}

/* Checks each comma-separated item of a BYxxx list with the given range. */
static bool list_ok(const char *v, size_t n, long min, long max, bool signed_nonzero)
{
    size_t i = 0;
    if (n == 0)
        return false;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        long x;
        if (j == i || !int_in(v + i, j - i, signed_nonzero, signed_nonzero ? -max : min, max, &x))
            return false;
        if (signed_nonzero && x == 0)
            return false;
        i = j + 1;
    }
    return true;
}

static bool byday_ok(const char *v, size_t n)
{
    size_t i = 0;
    if (n == 0)
        return false;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t len = j - i;
        if (len < 2 || !is_day(v + j - 2, 2))
            return false;
        if (len > 2) {
            long ord;
            if (!int_in(v + i, len - 2, true, -53, 53, &ord) || ord == 0)
                return false;
        }
        i = j + 1;
    }
    return true;
}

static bool until_ok(const char *v, size_t n)
{
    /* YYYYMMDD or YYYYMMDDTHHMMSS with an optional Z. */
    if (n != 8 && n != 15 && n != 16)
        return false;
    long y, m, d;
    if (!int_in(v, 4, false, 1901, 2499, &y) || !int_in(v + 4, 2, false, 1, 12, &m) ||
        !int_in(v + 6, 2, false, 1, days_in_month((int)y, (int)m), &d))
        return false;
    if (n == 8)
        return true;
    if (v[8] != 'T' || !int_in(v + 9, 2, false, 0, 23, NULL) ||
        !int_in(v + 11, 2, false, 0, 59, NULL) || !int_in(v + 13, 2, false, 0, 60, NULL))
        return false;
    return n == 15 || v[15] == 'Z';
}

/* ---- recurrence: rules that can never match ---- */

/* Parses a validated comma list of signed integers; returns the count (at most cap). */
static size_t ints(const char *v, size_t n, long *out, size_t cap)
{
    size_t m = 0, i = 0;
    while (i < n && m < cap) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        long x = 0;
        bool neg = v[i] == '-';
        for (size_t k = i + (v[i] == '-' || v[i] == '+'); k < j; k++)
            x = x * 10 + (v[k] - '0');
        out[m++] = neg ? -x : x;
        i = j + 1;
    }
    return m;
}

/* Items of a validated BYDAY list: *ordinals gets how many carry an ordinal beyond ±5. */
static size_t byday_items(const char *v, size_t n, size_t *big_ordinals)
{
    size_t items = 0;
    *big_ordinals = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        long ord;
        if (j - i > 2 && int_in(v + i, j - i - 2, true, -53, 53, &ord) && (ord > 5 || ord < -5))
            (*big_ordinals)++;
        items++;
        i = j + 1;
    }
    return items;
}

struct byday {
    int ord, wd; /* ord 0: every such weekday; wd 0 = MO .. 6 = SU */
};

static size_t byday_parse(const char *v, size_t n, struct byday *out, size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < n && m < cap;) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        long ord = 0;
        if (j - i > 2)
            int_in(v + i, j - i - 2, true, -53, 53, &ord);
        int wd = 0;
        for (int d = 0; d < 7; d++)
            if (strncmp(v + j - 2, days[d], 2) == 0)
                wd = d;
        out[m++] = (struct byday){(int)ord, wd};
        i = j + 1;
    }
    return m;
}

/*
 * Whether any day of a whole 400-year Gregorian cycle passes the rule's day filters
 * (BYMONTH, BYMONTHDAY, BYYEARDAY, BYDAY with its ordinal counted within the month
 * for MONTHLY rules and YEARLY rules with BYMONTH, within the year otherwise). Every
 * instance of a rule is such a day, so "none" means the rule never matches. Rules
 * with BYWEEKNO are left to libical (week numbering depends on WKST), as are the
 * ordinals of a YEARLY rule whose BYDAY only limits BYMONTHDAY/BYYEARDAY (counted
 * as any such weekday: a superset, so nothing valid is refused). At most 146,097
 * cheap day checks, and only for rules with day filters.
 */
static bool some_day_matches(int freq, unsigned seen, const char *const vals[14],
                             const size_t lens[14])
{
    if ((seen & (1u << 10)) || !(seen & ((1u << 7) | (1u << 8) | (1u << 9) | (1u << 11))))
        return true;
    long months[12], mdays[31], ydays[366];
    struct byday bd[64];
    size_t nm = (seen & (1u << 11)) ? ints(vals[11], lens[11], months, 12) : 0;
    size_t nmd = (seen & (1u << 8)) ? ints(vals[8], lens[8], mdays, 31) : 0;
    size_t nyd = (seen & (1u << 9)) ? ints(vals[9], lens[9], ydays, 366) : 0;
    size_t nbd = (seen & (1u << 7)) ? byday_parse(vals[7], lens[7], bd, 64) : 0;
    bool in_month = freq == 2 || (freq == 3 && nm);
    bool ord_limits_only = freq == 3 && !nm && (nmd || nyd);
    for (int y = 2000; y < 2400; y++) {
        int ylen = days_in_month(y, 2) == 29 ? 366 : 365, yday = 0;
        for (int m = 1; m <= 12; m++) {
            int dim = days_in_month(y, m);
            bool mok = !nm;
            for (size_t i = 0; i < nm && !mok; i++)
                mok = months[i] == m;
            if (!mok) {
                yday += dim;
                continue;
            }
            int64_t z = days_from_civil(y, m, 1);
            for (int d = 1; d <= dim; d++, z++) {
                int yd = yday + d;
                bool ok = !nmd;
                for (size_t i = 0; i < nmd && !ok; i++)
                    ok = mdays[i] == d || mdays[i] == d - dim - 1;
                if (!ok)
                    continue;
                ok = !nyd;
                for (size_t i = 0; i < nyd && !ok; i++)
                    ok = ydays[i] == yd || ydays[i] == yd - ylen - 1;
                if (!ok)
                    continue;
                int wd = (int)(((z % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
                ok = !nbd;
                for (size_t i = 0; i < nbd && !ok; i++) {
                    if (bd[i].wd != wd)
                        continue;
                    if (bd[i].ord == 0 || ord_limits_only)
                        ok = true;
                    else if (in_month)
                        ok = bd[i].ord > 0 ? (d - 1) / 7 + 1 == bd[i].ord
                                           : (dim - d) / 7 + 1 == -bd[i].ord;
                    else
                        ok = bd[i].ord > 0 ? (yd - 1) / 7 + 1 == bd[i].ord
                                           : (ylen - yd) / 7 + 1 == -bd[i].ord;
                }
                if (ok)
                    return true;
            }
            yday += dim;
        }
    }
    return false;
}

/*
 * Refuses rules that can never produce an instance where that shows from the rule
 * itself: no month in BYMONTH has any BYMONTHDAY (Feb 30, Apr 31), a "6th Monday"
 * within a month, or BYSETPOS beyond the largest set a period can hold. libical would
 * otherwise search for such instances until the year 2582 (seconds of CPU per call).
 */
static bool can_match(int freq, unsigned seen, const char *const vals[14], const size_t lens[14])
{
    long months[12], mdays[31], pos[366];
    size_t nm = 12;
    for (int i = 0; i < 12; i++)
        months[i] = i + 1;
    if (seen & (1u << 11))
        nm = ints(vals[11], lens[11], months, 12);
    size_t nmd = (seen & (1u << 8)) ? ints(vals[8], lens[8], mdays, 31) : 0;
    if (nmd) {
        bool any = false;
        for (size_t i = 0; i < nm && !any; i++)
            for (size_t j = 0; j < nmd && !any; j++)
                any = labs(mdays[j]) <= days_in_month(2000, (int)months[i]); /* a leap year */
        if (!any)
            return false;
    }
    size_t nbd = 0, big = 0;
    if (seen & (1u << 7))
        nbd = byday_items(vals[7], lens[7], &big);
    /* Within a month (MONTHLY, or YEARLY with BYMONTH) an ordinal is at most ±5. */
    if (big && (freq == 2 || (freq == 3 && (seen & (1u << 11)))))
        return false;
    if (!some_day_matches(freq, seen, vals, lens))
        return false;
    if (!(seen & (1u << 12)))
        return true;
    /* The largest set one period can hold: days x times of day. */
    static const long period_days[] = {1, 7, 31, 366};
    long span = period_days[freq];
    if (nbd) {
        long by = freq == 1 ? (long)nbd : freq == 2 ? 5 * (long)nbd : 53 * (long)nbd;
        span = by < span ? by : span;
    }
    if (nmd) {
        long by = (long)nmd * (freq == 3 ? (long)nm : 1);
        span = by < span ? by : span;
    }
    long times = 1, x[61];
    for (int k = 4; k <= 6; k++)
        if (seen & (1u << k))
            times *= (long)ints(vals[k], lens[k], x, 61);
    size_t np = ints(vals[12], lens[12], pos, 366);
    for (size_t i = 0; i < np; i++)
        if (labs(pos[i]) <= span * times)
            return true;
    return false;
}

int rrule_check(const char *rule)
{
    static const char *const names[] = {"FREQ",     "INTERVAL",  "COUNT",     "UNTIL",
                                        "BYSECOND", "BYMINUTE",  "BYHOUR",    "BYDAY",
                                        "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH",
                                        "BYSETPOS", "WKST"};
    unsigned seen = 0;
    const char *vals[14] = {0};
    size_t lens[14] = {0};
    int freq = -1;             /* 0 DAILY, 1 WEEKLY, 2 MONTHLY, 3 YEARLY */
    bool byday_ordinal = false;
    const char *p = rule;
    if (!*p)
        return TOCK_EINVAL;
    while (1) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (n == 0 || !eq)
            return TOCK_EINVAL;
        size_t kl = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vl = n - kl - 1;
        int k = -1;
        for (int i = 0; i < 14; i++)
            if (strlen(names[i]) == kl && strncmp(p, names[i], kl) == 0)
                k = i;
        if (k < 0 || (seen & (1u << k)))
            return TOCK_EINVAL;
        seen |= 1u << k;
        vals[k] = v;
        lens[k] = vl;
        bool ok;
        switch (k) {
        case 0:
            freq = (vl == 5 && strncmp(v, "DAILY", 5) == 0)     ? 0
                   : (vl == 6 && strncmp(v, "WEEKLY", 6) == 0)  ? 1
                   : (vl == 7 && strncmp(v, "MONTHLY", 7) == 0) ? 2
                   : (vl == 6 && strncmp(v, "YEARLY", 6) == 0)  ? 3
                                                                 : -1;
            ok = freq >= 0;
            break;
        case 1: ok = int_in(v, vl, false, 1, 1000, NULL); break;
        case 2: ok = int_in(v, vl, false, 1, 100000, NULL); break;
        case 3: ok = until_ok(v, vl); break;
        case 4: ok = list_ok(v, vl, 0, 60, false); break;
        case 5: ok = list_ok(v, vl, 0, 59, false); break;
        case 6: ok = list_ok(v, vl, 0, 23, false); break;
        case 7:
            ok = byday_ok(v, vl);
            for (size_t i = 0; i < vl; i++)
                byday_ordinal = byday_ordinal || isdigit((unsigned char)v[i]);
            break;
        case 8: ok = list_ok(v, vl, 1, 31, true); break;
        case 9: ok = list_ok(v, vl, 1, 366, true); break;
        case 10: ok = list_ok(v, vl, 1, 53, true); break;
        case 11: ok = list_ok(v, vl, 1, 12, false); break;
        case 12: ok = list_ok(v, vl, 1, 366, true); break;
        default: ok = is_day(v, vl); break;
        }
        if (!ok)
            return TOCK_EINVAL;
        if (!end)
            break;
        p = end + 1;
    }
    /* FREQ is required; COUNT and UNTIL exclude each other. */
    if (!(seen & 1u) || ((seen & 4u) && (seen & 8u)))
        return TOCK_EINVAL;
    /* ---- recurrence: the rule-part combinations RFC 5545 §3.3.10 forbids ---- */
    enum { BYDAY = 1u << 7, BYMONTHDAY = 1u << 8, BYYEARDAY = 1u << 9, BYWEEKNO = 1u << 10,
           BYSETPOS = 1u << 12, ANY_BY = 0x0ff0u /* BYSECOND..BYMONTH */ };
    if (byday_ordinal && (freq < 2 || (freq == 3 && (seen & BYWEEKNO))))
        return TOCK_EINVAL; /* "2MO" only in MONTHLY or YEARLY (without BYWEEKNO) */
    if ((seen & BYMONTHDAY) && freq == 1)
        return TOCK_EINVAL;
    if ((seen & (BYYEARDAY | BYWEEKNO)) && freq != 3)
        return TOCK_EINVAL;
    if ((seen & BYSETPOS) && !(seen & ANY_BY))
        return TOCK_EINVAL;
    if (!can_match(freq, seen, vals, lens))
        return TOCK_EINVAL;
    return 0;
}
