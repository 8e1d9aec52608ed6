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

int rrule_check(const char *rule)
{
    static const char *const names[] = {"FREQ",     "INTERVAL",  "COUNT",     "UNTIL",
                                        "BYSECOND", "BYMINUTE",  "BYHOUR",    "BYDAY",
                                        "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH",
                                        "BYSETPOS", "WKST"};
    unsigned seen = 0;
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
    return 0;
}
