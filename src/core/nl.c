/*
 * nl.c — the quick-add parser: a tokenizer, a grammar of phrases (dates, times,
 * recurrences, priorities, tags, reminders, a leading command) matched left to
 * right, a resolution step (one winner per field, the rest returns to the title)
 * and the title left over. See nl.h for the contract and docs/assistant.md for
 * the language.
 *
 * Linear time: the main loop visits each token once; at each token every matcher
 * looks ahead at most a bounded number of tokens (lists are capped), and each
 * look counts one step. Resolution is linear in the phrases plus a constant
 * (the first-occurrence search of one recurrence, <= SEARCH_DAYS days).
 */
#include "core/nl.h"
#include "core/nl_words.h"
#include "core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keywords ---- */

enum word {
    W_NONE = -1,
#define X(w) W_##w,
    NL_WORDS(X)
#undef X
        W_COUNT
};

static const char *const word_text[] = {
#define X(w) #w,
    NL_WORDS(X)
#undef X
};

#define WORD_MAXLEN 15

static int word_lookup(const char *w)
{
    int lo = 0, hi = W_COUNT - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int r = strcmp(w, word_text[mid]);
        if (r == 0)
            return mid;
        if (r < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return W_NONE;
}

bool nl_selfcheck(void)
{
    for (int i = 1; i < W_COUNT; i++)
        if (strcmp(word_text[i - 1], word_text[i]) >= 0)
            return false;
    for (int i = 0; i < W_COUNT; i++)
        if (word_lookup(word_text[i]) != i || strlen(word_text[i]) > WORD_MAXLEN)
            return false;
    return true;
}

/* Monday = 0 .. Sunday = 6; -1 if w is not a weekday. */
static int weekday_of(int w, bool *plural, bool *abbrev)
{
    static const struct {
        int w, d;
        bool plural, abbrev;
    } t[] = {
        {W_monday, 0, 0, 0},    {W_mon, 0, 0, 1},        {W_mondays, 0, 1, 0},
        {W_tuesday, 1, 0, 0},   {W_tue, 1, 0, 1},        {W_tues, 1, 0, 1},
        {W_tuesdays, 1, 1, 0},  {W_wednesday, 2, 0, 0},  {W_wed, 2, 0, 1},
        {W_weds, 2, 0, 1},      {W_wednesdays, 2, 1, 0}, {W_thursday, 3, 0, 0},
        {W_thu, 3, 0, 1},       {W_thur, 3, 0, 1},       {W_thurs, 3, 0, 1},
        {W_thursdays, 3, 1, 0}, {W_friday, 4, 0, 0},     {W_fri, 4, 0, 1},
        {W_fridays, 4, 1, 0},   {W_saturday, 5, 0, 0},   {W_sat, 5, 0, 1},
        {W_saturdays, 5, 1, 0}, {W_sunday, 6, 0, 0},     {W_sun, 6, 0, 1},
        {W_sundays, 6, 1, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (t[i].w == w) {
            if (plural)
                *plural = t[i].plural;
            if (abbrev)
                *abbrev = t[i].abbrev;
            return t[i].d;
        }
    return -1;
}

/* 1..12, or 0. */
static int month_of(int w)
{
    switch (w) {
    case W_january:
    case W_jan:
        return 1;
    case W_february:
    case W_feb:
        return 2;
    case W_march:
    case W_mar:
        return 3;
    case W_april:
    case W_apr:
        return 4;
    case W_may:
        return 5;
    case W_june:
    case W_jun:
        return 6;
    case W_july:
    case W_jul:
        return 7;
    case W_august:
    case W_aug:
        return 8;
    case W_september:
    case W_sep:
    case W_sept:
        return 9;
    case W_october:
    case W_oct:
        return 10;
    case W_november:
    case W_nov:
        return 11;
    case W_december:
    case W_dec:
        return 12;
    default:
        return 0;
    }
}

static int numword_of(int w)
{
    switch (w) {
    case W_one:
        return 1;
    case W_two:
        return 2;
    case W_three:
        return 3;
    case W_four:
        return 4;
    case W_five:
        return 5;
    case W_six:
        return 6;
    case W_seven:
        return 7;
    case W_eight:
        return 8;
    case W_nine:
        return 9;
    case W_ten:
        return 10;
    case W_eleven:
        return 11;
    case W_twelve:
        return 12;
    case W_thirteen:
        return 13;
    case W_fourteen:
        return 14;
    case W_fifteen:
        return 15;
    case W_sixteen:
        return 16;
    case W_seventeen:
        return 17;
    case W_eighteen:
        return 18;
    case W_nineteen:
        return 19;
    case W_twenty:
        return 20;
    case W_thirty:
        return 30;
    case W_forty:
        return 40;
    case W_fifty:
        return 50;
    case W_sixty:
        return 60;
    default:
        return 0;
    }
}

static int ordword_of(int w)
{
    switch (w) {
    case W_first:
        return 1;
    case W_second:
        return 2;
    case W_third:
        return 3;
    case W_fourth:
        return 4;
    case W_fifth:
        return 5;
    case W_sixth:
        return 6;
    case W_seventh:
        return 7;
    case W_eighth:
        return 8;
    case W_ninth:
        return 9;
    case W_tenth:
        return 10;
    case W_eleventh:
        return 11;
    case W_twelfth:
        return 12;
    default:
        return 0;
    }
}

enum unit { U_NONE = 0, U_MIN, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_YEAR };

static int unit_of(int w)
{
    switch (w) {
    case W_m:
    case W_min:
    case W_mins:
    case W_minute:
    case W_minutes:
        return U_MIN;
    case W_h:
    case W_hr:
    case W_hrs:
    case W_hour:
    case W_hours:
        return U_HOUR;
    case W_d:
    case W_day:
    case W_days:
        return U_DAY;
    case W_w:
    case W_wk:
    case W_wks:
    case W_week:
    case W_weeks:
        return U_WEEK;
    case W_mo:
    case W_month:
    case W_months:
        return U_MONTH;
    case W_y:
    case W_yr:
    case W_yrs:
    case W_year:
    case W_years:
        return U_YEAR;
    default:
        return U_NONE;
    }
}

/* ---- tokens ---- */

enum { K_EOF = 0, K_WORD, K_NUM, K_PUNCT, K_TAG, K_QUOTE };

struct tok {
    uint16_t a, b; /* byte range */
    uint8_t kind;
    uint8_t sp;  /* whitespace (or the start) before it */
    int16_t w;   /* K_WORD: keyword id or W_NONE */
    int32_t num; /* K_NUM: value, -1 if more than 6 digits */
    uint8_t ndig;
    char ch; /* K_PUNCT */
};

/* ---- phrases ---- */

enum { FR_NONE = 0, FR_DAILY, FR_WEEKLY, FR_MONTHLY, FR_YEARLY };

#define REC_LIST_MAX 8

struct rec {
    int freq, interval;
    int nbd;
    int8_t bd_ord[REC_LIST_MAX], bd_wd[REC_LIST_MAX]; /* BYDAY items (ord 0 = every) */
    int nmd;
    int8_t md[REC_LIST_MAX]; /* BYMONTHDAY items */
    int am, ad;              /* yearly on month/day (0: none) */
    bool completion;
    bool ranged; /* a weekday range was said ("mon-fri") */
};

enum {
    F_DATE = 1 << 0,
    F_TIME = 1 << 1,
    F_REC = 1 << 2,
    F_END = 1 << 3,   /* COUNT / UNTIL */
    F_COMPL = 1 << 4, /* recur from completion */
    F_PRIO = 1 << 5,
    F_TAG = 1 << 6,
    F_REM = 1 << 7,
    F_CMD = 1 << 8,
};

struct phrase {
    uint16_t a, b; /* token range [a, b) */
    uint16_t fields;
    uint8_t kind;                  /* nl_span_kind */
    uint8_t s_time, s_rec, s_prio; /* strengths: 2 explicit, 1 weak */
    bool keep;
    int64_t day;  /* F_DATE: days since 1970-01-01 */
    int tmin;     /* F_TIME: minute of the day */
    bool pm_hint; /* evening words: a bare "at 7" near them means 19:00 */
    bool bare;    /* a time without am/pm that could be read as pm */
    struct rec rec;
    int prio;
    int count; /* F_END: COUNT, or 0 with until */
    int64_t until;
    int for_n, for_unit; /* F_END: "for 2 weeks" (resolved against the first due) */
    int rem0, nrem;
    int tagtok;
};

enum { R_OFFSET, R_AT, R_ABS, R_BEFORE_AT };

struct rem_raw {
    int kind;
    int offset;
    int64_t day;
    int tmin;
    bool has_time;
};

struct ctx {
    const char *s;
    int n;
    struct tok *t;
    int nt;
    struct tok eof;
    struct phrase *ph;
    int nph;
    struct rem_raw rem[NL_REMINDERS_MAX];
    int nrem;
    int drop_tok; /* a token no phrase covers that still leaves the title, or -1 */
    uint64_t steps;
    struct local_dt now;
    int64_t today;
    int nowmin;
    const char *zone;
};

#define DAY_MIN (days_from_civil(TZ_YEAR_MIN + 1, 1, 1))
#define DAY_MAX (days_from_civil(TZ_YEAR_MAX - 1, 12, 31))
#define SEARCH_DAYS 3000

static bool day_ok(int64_t z)
{
    return z >= DAY_MIN && z <= DAY_MAX;
}

static int wday(int64_t z)
{
    int r = (int)((z + 3) % 7);
    return r < 0 ? r + 7 : r;
}

static int64_t add_months(int64_t z, int64_t n)
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    int64_t total = (int64_t)y * 12 + (m - 1) + n;
    if (total < 0 || total > 12 * 9999)
        return INT64_MIN / 4;
    y = (int)(total / 12);
    m = (int)(total % 12) + 1;
    int dim = days_in_month(y, m);
    return days_from_civil(y, m, d > dim ? dim : d);
}

/* ---- token access (each look is one step) ---- */

static const struct tok *tk(struct ctx *c, int i)
{
    c->steps++;
    return (i >= 0 && i < c->nt) ? &c->t[i] : &c->eof;
}

static int wd(struct ctx *c, int i)
{
    const struct tok *t = tk(c, i);
    return t->kind == K_WORD ? t->w : W_NONE;
}

static bool isw(struct ctx *c, int i, int w)
{
    return w != W_NONE && wd(c, i) == w;
}

static bool ispu(struct ctx *c, int i, char ch)
{
    const struct tok *t = tk(c, i);
    return t->kind == K_PUNCT && t->ch == ch;
}

/* Token i is glued to the one before it (no whitespace between). */
static bool glued(struct ctx *c, int i)
{
    const struct tok *t = tk(c, i);
    return t->kind != K_EOF && !t->sp;
}

/* A phrase may start at token i (start of text, whitespace or punctuation before). */
static bool lb(struct ctx *c, int i)
{
    if (i == 0)
        return true;
    const struct tok *t = tk(c, i);
    if (t->sp)
        return true;
    const struct tok *p = tk(c, i - 1);
    return p->kind == K_PUNCT || p->kind == K_QUOTE;
}

/* A phrase may end before token j. */
static bool rb(struct ctx *c, int j)
{
    const struct tok *t = tk(c, j);
    if (t->kind == K_EOF || t->sp || t->kind == K_QUOTE)
        return true;
    if (t->kind != K_PUNCT)
        return false;
    if (strchr("/:-.'_@", t->ch)) {
        const struct tok *n = tk(c, j + 1);
        if (!n->sp && (n->kind == K_WORD || n->kind == K_NUM))
            return false;
    }
    return true;
}

/* ---- small grammar pieces; each returns the index after its match or -1 ---- */

/* A cardinal: up to 4 digits or a number word (or "a"/"an" = 1 when allow_a). */
static int m_num(struct ctx *c, int i, bool allow_a, int *v)
{
    const struct tok *t = tk(c, i);
    if (t->kind == K_NUM) {
        if (t->ndig > 4 || t->num < 0)
            return -1;
        *v = t->num;
        return i + 1;
    }
    if (t->kind == K_WORD) {
        int x = numword_of(t->w);
        if (x) {
            *v = x;
            return i + 1;
        }
        if (allow_a && (t->w == W_a || t->w == W_an)) {
            *v = 1;
            return i + 1;
        }
    }
    return -1;
}

/* An ordinal 1st..31st (digits + glued st/nd/rd/th) or first..twelfth. */
static int m_ord(struct ctx *c, int i, int *v)
{
    const struct tok *t = tk(c, i);
    if (t->kind == K_NUM && t->ndig <= 2 && t->num >= 1 && t->num <= 31) {
        int s = wd(c, i + 1);
        if (glued(c, i + 1) && (s == W_st || s == W_nd || s == W_rd || s == W_th)) {
            *v = t->num;
            return i + 2;
        }
        return -1;
    }
    if (t->kind == K_WORD && ordword_of(t->w)) {
        *v = ordword_of(t->w);
        return i + 1;
    }
    return -1;
}

/* A day of the month: an ordinal, or plain digits when plain_ok. */
static int m_mday(struct ctx *c, int i, bool plain_ok, int *v)
{
    int j = m_ord(c, i, v);
    if (j >= 0)
        return j;
    const struct tok *t = tk(c, i);
    if (plain_ok && t->kind == K_NUM && t->ndig <= 2 && t->num >= 1 && t->num <= 31 &&
        !(glued(c, i + 1) && tk(c, i + 1)->kind == K_WORD)) {
        *v = t->num;
        return i + 1;
    }
    return -1;
}

/* An optional explicit year after a date: [","] YYYY. */
static int m_year(struct ctx *c, int i, int *y)
{
    int j = i;
    if (ispu(c, j, ','))
        j++;
    const struct tok *t = tk(c, j);
    if (t->kind == K_NUM && t->ndig == 4 && t->num > TZ_YEAR_MIN && t->num < TZ_YEAR_MAX &&
        rb(c, j + 1)) {
        *y = t->num;
        return j + 1;
    }
    return -1;
}

/* "am"/"pm"/"a.m."/"p.m.": 1 am, 2 pm, 0 none. *end set when found. */
static int m_ampm(struct ctx *c, int i, int *end)
{
    int w = wd(c, i);
    if (w == W_am || w == W_pm) {
        *end = i + 1;
        return w == W_am ? 1 : 2;
    }
    if ((w == W_a || w == W_p) && ispu(c, i + 1, '.') && glued(c, i + 1) && isw(c, i + 2, W_m) &&
        glued(c, i + 2)) {
        *end = ispu(c, i + 3, '.') && glued(c, i + 3) ? i + 4 : i + 3;
        return w == W_a ? 1 : 2;
    }
    return 0;
}

struct tres {
    int tmin;
    bool weak, pm_hint, bare;
};

/* Parts of the day: morning 09:00, afternoon 15:00, evening 18:00, night 20:00. */
static int part_of_day(int w, bool *pm)
{
    *pm = true;
    switch (w) {
    case W_morning:
        *pm = false;
        return 9 * 60;
    case W_afternoon:
        return 15 * 60;
    case W_evening:
        return 18 * 60;
    case W_night:
        return 20 * 60;
    default:
        return -1;
    }
}

/* A time of day: [at|@|around|by] (H[:MM] am|pm | H:MM | H with "at" | noon | ...). */
static int m_time(struct ctx *c, int i, struct tres *r)
{
    memset(r, 0, sizeof *r);
    int k = i;
    bool with_at = false;
    int w = wd(c, k);
    if (w == W_at || w == W_around || w == W_by || w == W_before || ispu(c, k, '@')) {
        with_at = w == W_at || w == W_around || ispu(c, k, '@');
        k++;
        w = wd(c, k);
    }
    if (w == W_noon || w == W_midday) {
        r->tmin = 12 * 60;
        return k + 1;
    }
    if (w == W_midnight) {
        r->tmin = 0;
        return k + 1;
    }
    bool pm;
    int pd;
    if (k == i) {
        int j = k;
        if (w == W_this) {
            j++;
        } else if (w == W_in && isw(c, k + 1, W_the)) {
            j += 2;
        }
        if ((pd = part_of_day(wd(c, j), &pm)) >= 0) {
            r->tmin = pd;
            r->weak = true;
            r->pm_hint = pm;
            return j + 1;
        }
    }
    const struct tok *t = tk(c, k);
    if (t->kind != K_NUM || t->ndig > 2)
        return -1;
    int h = t->num, mi = 0, j = k + 1;
    bool has_min = false;
    int e_;
    bool dot = ispu(c, j, '.') && glued(c, j) && glued(c, j + 1) && m_ampm(c, j + 2, &e_);
    if ((ispu(c, j, ':') || dot) && glued(c, j) && glued(c, j + 1)) {
        const struct tok *m = tk(c, j + 1);
        if (m->kind != K_NUM || m->ndig != 2 || m->num > 59)
            return -1;
        mi = m->num;
        has_min = true;
        j += 2;
    }
    int end;
    int ap = m_ampm(c, j, &end);
    if (ap) {
        if (h < 1 || h > 12)
            return -1;
        h = h % 12 + (ap == 2 ? 12 : 0);
        j = end;
    } else if (has_min || with_at) {
        if (h > 23)
            return -1;
        r->bare = h >= 1 && h <= 11;
        if (!has_min && isw(c, j, W_o) && ispu(c, j + 1, '\'') && isw(c, j + 2, W_clock))
            j += 3;
    } else {
        return -1;
    }
    r->tmin = h * 60 + mi;
    return j;
}

struct dres {
    int64_t day;
    bool has_time;
    int tmin;
    bool pm_hint, weak_time;
};

/*
 * Next date on/after `from` whose day of month is d (skipping months without it).
 * "on the 15th" searches from tomorrow: the 15th must be ahead (NL.md).
 */
static int64_t next_mday(int64_t from, int d)
{
    int y, m, dd;
    civil_from_days(from, &y, &m, &dd);
    for (int k = 0; k < 13; k++) {
        if (d <= days_in_month(y, m)) {
            int64_t z = days_from_civil(y, m, d);
            if (z >= from)
                return z;
        }
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return INT64_MIN / 4;
}

/* The date of month/day: the given year, else this year or next if passed. */
static bool md_date(struct ctx *c, int y, int m, int d, bool year_given, int64_t *out)
{
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    if (year_given) {
        if (d > days_in_month(y, m))
            return false;
        *out = days_from_civil(y, m, d);
        return day_ok(*out);
    }
    int ty, tm, td;
    civil_from_days(c->today, &ty, &tm, &td);
    for (int yy = ty; yy <= ty + 8; yy++) {
        if (d > days_in_month(yy, m))
            continue;
        int64_t z = days_from_civil(yy, m, d);
        if (z >= c->today) {
            *out = z;
            return day_ok(z);
        }
    }
    return false;
}

/* MONTH DAY [YEAR] | DAY [of] MONTH [YEAR] | the DAY of MONTH [YEAR]. */
static int m_monthday(struct ctx *c, int i, int *om, int *od, int *oy)
{
    int j = i, m, d, y = 0, k;
    if (isw(c, j, W_the) && (k = m_mday(c, j + 1, false, &d)) >= 0 && isw(c, k, W_of) &&
        (m = month_of(wd(c, k + 1)))) {
        j = k + 2;
    } else if ((m = month_of(wd(c, j)))) {
        j++;
        if (ispu(c, j, '.') && glued(c, j))
            j++; /* "mar. 10" */
        if (isw(c, j, W_the))
            j++;
        if ((k = m_mday(c, j, true, &d)) < 0)
            return -1;
        j = k;
    } else if ((k = m_mday(c, j, true, &d)) >= 0) {
        j = k;
        if (isw(c, j, W_of))
            j++;
        if (!(m = month_of(wd(c, j))))
            return -1;
        j++;
    } else {
        return -1;
    }
    if ((k = m_year(c, j, &y)) >= 0)
        j = k;
    *om = m;
    *od = d;
    *oy = y;
    return j;
}

/* NUMBER UNIT, "half an hour", "an hour": minutes (time units) or days/months. */
struct dur {
    int unit;
    int64_t n;
};

static int m_dur(struct ctx *c, int i, struct dur *d)
{
    int v, j;
    if (isw(c, i, W_half) && (isw(c, i + 1, W_an) || isw(c, i + 1, W_a)) && isw(c, i + 2, W_hour)) {
        d->unit = U_MIN;
        d->n = 30;
        return i + 3;
    }
    if ((j = m_num(c, i, true, &v)) < 0)
        return -1;
    int u = unit_of(wd(c, j));
    if (u == U_NONE)
        return -1;
    d->unit = u;
    d->n = v;
    return j + 1;
}

/* now + a duration in the zone: elapsed time for minutes/hours, calendar otherwise. */
static bool dur_apply(struct ctx *c, const struct dur *d, struct dres *r)
{
    memset(r, 0, sizeof *r);
    switch (d->unit) {
    case U_DAY:
        r->day = c->today + d->n;
        break;
    case U_WEEK:
        r->day = c->today + 7 * d->n;
        break;
    case U_MONTH:
        r->day = add_months(c->today, d->n);
        break;
    case U_YEAR:
        r->day = add_months(c->today, 12 * d->n);
        break;
    default: {
        int64_t ms;
        if (tz_local_to_utc(c->zone, &c->now, &ms))
            return false;
        ms += d->n * (d->unit == U_HOUR ? 3600000 : 60000);
        struct local_dt lt;
        if (tz_utc_to_local(c->zone, ms, &lt))
            return false;
        r->day = days_from_civil(lt.year, lt.month, lt.day);
        r->has_time = true;
        r->tmin = lt.hour * 60 + lt.minute;
        break;
    }
    }
    return day_ok(r->day);
}

/* The nearest date after today with weekday d (strictly after). */
static int64_t next_wday(struct ctx *c, int d)
{
    int diff = (d - wday(c->today) + 7) % 7;
    return c->today + (diff ? diff : 7);
}

static int64_t monday_next_week(struct ctx *c)
{
    return c->today - wday(c->today) + 7;
}

/*
 * The date expressions (without connector). `after_connector` allows a lone
 * ordinal ("on 15th") and a bare weekday abbreviation anywhere.
 */
static int m_datecore(struct ctx *c, int i, bool after_connector, struct dres *r)
{
    memset(r, 0, sizeof *r);
    int w = wd(c, i), j, k, v, m, d, y;
    bool plural, abbrev;
    struct dur du;
    switch (w) {
    case W_today:
        r->day = c->today;
        return i + 1;
    case W_tomorrow:
    case W_tmr:
    case W_tmrw:
    case W_tmw:
        r->day = c->today + 1;
        return i + 1;
    case W_tonight:
        r->day = c->today;
        r->has_time = r->weak_time = r->pm_hint = true;
        r->tmin = 20 * 60;
        return i + 1;
    case W_day:
        if (isw(c, i + 1, W_after) && isw(c, i + 2, W_tomorrow)) {
            r->day = c->today + 2;
            return i + 3;
        }
        return -1;
    case W_the:
        if (isw(c, i + 1, W_day) && isw(c, i + 2, W_after) && isw(c, i + 3, W_tomorrow)) {
            r->day = c->today + 2;
            return i + 4;
        }
        if (isw(c, i + 1, W_weekend)) {
            r->day = c->today + (5 - wday(c->today) + 7) % 7;
            return i + 2;
        }
        if (isw(c, i + 1, W_end))
            return m_datecore(c, i + 1, false, r);
        if (isw(c, i + 1, W_last) && isw(c, i + 2, W_day) && isw(c, i + 3, W_of)) {
            j = i + 4;
            if (isw(c, j, W_the) || isw(c, j, W_this))
                j++;
            if (!isw(c, j, W_month))
                return -1;
            int yy, mm, d0;
            civil_from_days(c->today, &yy, &mm, &d0);
            r->day = days_from_civil(yy, mm, days_in_month(yy, mm));
            return j + 1;
        }
        if ((j = m_monthday(c, i, &m, &d, &y)) >= 0)
            return md_date(c, y, m, d, y != 0, &r->day) ? j : -1;
        if ((j = m_mday(c, i + 1, false, &d)) >= 0) {
            r->day = next_mday(c->today + 1, d);
            return day_ok(r->day) ? j : -1;
        }
        return -1;
    case W_this:
    case W_next:
    case W_coming: {
        int w2 = wd(c, i + 1);
        int dd = weekday_of(w2, &plural, &abbrev);
        if (dd >= 0 && !plural) {
            r->day = next_wday(c, dd);
            return i + 2;
        }
        if (w2 == W_weekend) {
            r->day = c->today + (5 - wday(c->today) + 7) % 7;
            if (w == W_next)
                r->day = monday_next_week(c) + 5;
            return i + 2;
        }
        if (w != W_next)
            return -1;
        if (w2 == W_week || w2 == W_wk) {
            r->day = monday_next_week(c);
            return i + 2;
        }
        if (w2 == W_month) {
            r->day = add_months(c->today, 1);
            int yy, mm, d0;
            civil_from_days(r->day, &yy, &mm, &d0);
            r->day = days_from_civil(yy, mm, 1);
            return day_ok(r->day) ? i + 2 : -1;
        }
        if (w2 == W_year) {
            int yy, mm, d0;
            civil_from_days(c->today, &yy, &mm, &d0);
            r->day = days_from_civil(yy + 1, 1, 1);
            return day_ok(r->day) ? i + 2 : -1;
        }
        return -1;
    }
    case W_weekend:
        r->day = c->today + (5 - wday(c->today) + 7) % 7;
        return i + 1;
    case W_end:
    case W_eom: {
        j = i + 1;
        int what = W_month;
        if (w == W_end) {
            if (!isw(c, j, W_of))
                return -1;
            j++;
            if (isw(c, j, W_the))
                j++;
            what = wd(c, j);
            j++;
        }
        int yy, mm, d0;
        civil_from_days(c->today, &yy, &mm, &d0);
        if (what == W_month)
            r->day = days_from_civil(yy, mm, days_in_month(yy, mm));
        else if (what == W_year)
            r->day = days_from_civil(yy, 12, 31);
        else if (what == W_week)
            r->day = c->today + (4 - wday(c->today) + 7) % 7;
        else
            return -1;
        return j;
    }
    case W_in:
    case W_within:
        if ((j = m_dur(c, i + 1, &du)) < 0 || du.n < 1 || du.n > 100000 || !dur_apply(c, &du, r))
            return -1;
        return j;
    default:
        break;
    }
    int dd = weekday_of(w, &plural, &abbrev);
    if (dd >= 0 && !plural) {
        j = i + 1;
        /* "friday, march 13": the explicit date wins */
        k = ispu(c, j, ',') ? j + 1 : j;
        if ((k = m_monthday(c, k, &m, &d, &y)) >= 0 && md_date(c, y, m, d, y != 0, &r->day))
            return k;
        if (isw(c, j, W_next) && isw(c, j + 1, W_week)) {
            r->day = monday_next_week(c) + dd;
            return j + 2;
        }
        /* A bare abbreviation ("sat", "sun", "wed") must be followed by the end,
         * punctuation, a number or another keyword to count as a date. */
        if (abbrev && !after_connector) {
            const struct tok *n = tk(c, j);
            if (n->kind == K_WORD && n->w == W_NONE)
                return -1;
            if (ispu(c, j, '.') && glued(c, j))
                j++;
        }
        r->day = next_wday(c, dd);
        return j;
    }
    if ((j = m_monthday(c, i, &m, &d, &y)) >= 0)
        return md_date(c, y, m, d, y != 0, &r->day) ? j : -1;
    const struct tok *t = tk(c, i);
    if (t->kind == K_NUM) {
        /* 2026-03-10 */
        if (t->ndig == 4 && ispu(c, i + 1, '-') && glued(c, i + 1) && glued(c, i + 2) &&
            tk(c, i + 2)->kind == K_NUM && ispu(c, i + 3, '-') && glued(c, i + 3) &&
            glued(c, i + 4) && tk(c, i + 4)->kind == K_NUM) {
            y = t->num;
            m = tk(c, i + 2)->num;
            d = tk(c, i + 4)->num;
            if (tk(c, i + 2)->ndig > 2 || tk(c, i + 4)->ndig > 2 || y <= TZ_YEAR_MIN ||
                y >= TZ_YEAR_MAX)
                return -1;
            return md_date(c, y, m, d, true, &r->day) ? i + 5 : -1;
        }
        /* 3/10 and 3/10/2027 (month/day) */
        if (t->ndig <= 2 && ispu(c, i + 1, '/') && glued(c, i + 1) && glued(c, i + 2) &&
            tk(c, i + 2)->kind == K_NUM && tk(c, i + 2)->ndig <= 2) {
            m = t->num;
            d = tk(c, i + 2)->num;
            j = i + 3;
            y = 0;
            if (ispu(c, j, '/') && glued(c, j) && glued(c, j + 1) && tk(c, j + 1)->kind == K_NUM) {
                const struct tok *yt = tk(c, j + 1);
                if (yt->ndig == 2)
                    y = 2000 + yt->num;
                else if (yt->ndig == 4 && yt->num > TZ_YEAR_MIN && yt->num < TZ_YEAR_MAX)
                    y = yt->num;
                else
                    return -1;
                j += 2;
            }
            return md_date(c, y, m, d, y != 0, &r->day) ? j : -1;
        }
        /* "15th" after on/by/due */
        if (after_connector && (j = m_ord(c, i, &v)) >= 0) {
            r->day = next_mday(c->today + 1, v);
            return day_ok(r->day) ? j : -1;
        }
    }
    /* "3 days from now", "a week from today" */
    if ((j = m_dur(c, i, &du)) >= 0 && isw(c, j, W_from) &&
        (isw(c, j + 1, W_now) || isw(c, j + 1, W_today)) && du.n >= 1 && du.n <= 100000 &&
        dur_apply(c, &du, r))
        return j + 2;
    return -1;
}

/* A date with an optional connector: on, by, before, for, due [on|by], starting, from. */
static int m_date(struct ctx *c, int i, struct dres *r)
{
    int w = wd(c, i), k = -1;
    if (w == W_on || w == W_by || w == W_before || w == W_for || w == W_starting ||
        w == W_beginning || w == W_from)
        k = i + 1;
    else if (w == W_due)
        k = (isw(c, i + 1, W_on) || isw(c, i + 1, W_by)) ? i + 2 : i + 1;
    if (k >= 0) {
        int j = m_datecore(c, k, true, r);
        if (j >= 0 && rb(c, j))
            return j;
        return -1;
    }
    return m_datecore(c, i, false, r);
}

/* ---- recurrence ---- */

static void rec_add_day(struct rec *r, int ord, int d)
{
    for (int i = 0; i < r->nbd; i++)
        if (r->bd_wd[i] == d && r->bd_ord[i] == ord)
            return;
    if (r->nbd < REC_LIST_MAX) {
        r->bd_ord[r->nbd] = (int8_t)ord;
        r->bd_wd[r->nbd++] = (int8_t)d;
    }
}

static void rec_add_md(struct rec *r, int d)
{
    for (int i = 0; i < r->nmd; i++)
        if (r->md[i] == d)
            return;
    if (r->nmd < REC_LIST_MAX)
        r->md[r->nmd++] = (int8_t)d;
}

/* A list separator: "," | "and" | ", and" | "&" | "/". Returns the next index or -1. */
static int m_sep(struct ctx *c, int i)
{
    if (ispu(c, i, ',') || ispu(c, i, '&') || ispu(c, i, '/'))
        return isw(c, i + 1, W_and) ? i + 2 : i + 1;
    if (isw(c, i, W_and))
        return i + 1;
    return -1;
}

/* monday [, wednesday] [and friday]: weekdays (singular or plural) into r. */
static int m_wdlist(struct ctx *c, int i, struct rec *r)
{
    int j = i, n = 0;
    while (n < 7) {
        int d = weekday_of(wd(c, j), NULL, NULL);
        if (d < 0)
            break;
        rec_add_day(r, 0, d);
        n++;
        j++;
        /* a range: "mon-fri", "monday to friday", "monday through friday" */
        int k = -1;
        if (ispu(c, j, '-'))
            k = j + 1;
        else if (isw(c, j, W_to) || isw(c, j, W_through) || isw(c, j, W_thru))
            k = j + 1;
        int d2 = k >= 0 ? weekday_of(wd(c, k), NULL, NULL) : -1;
        if (d2 >= 0) {
            for (int x = d; x != d2; x = (x + 1) % 7)
                rec_add_day(r, 0, x);
            rec_add_day(r, 0, d2);
            r->ranged = true;
            j = k + 1;
        }
        int s2 = m_sep(c, j);
        if (s2 < 0 || weekday_of(wd(c, s2), NULL, NULL) < 0)
            break;
        j = s2;
    }
    return n ? j : -1;
}

static void rec_weekdays(struct rec *r, bool weekend)
{
    r->freq = FR_WEEKLY;
    for (int d = weekend ? 5 : 0; d < (weekend ? 7 : 5); d++)
        rec_add_day(r, 0, d);
}

static int unit_freq(int u)
{
    switch (u) {
    case U_DAY:
        return FR_DAILY;
    case U_WEEK:
        return FR_WEEKLY;
    case U_MONTH:
        return FR_MONTHLY;
    case U_YEAR:
        return FR_YEARLY;
    default:
        return FR_NONE;
    }
}

/* "of the month" / "of every month" / "of each month" (optional). */
static int m_ofmonth(struct ctx *c, int i)
{
    if (!isw(c, i, W_of))
        return i;
    int w = wd(c, i + 1);
    if ((w == W_the || w == W_every || w == W_each) && isw(c, i + 2, W_month))
        return i + 3;
    return i;
}

/* "of every month" / "of each month" (required). */
static int m_ofevery(struct ctx *c, int i)
{
    if (isw(c, i, W_of) && (isw(c, i + 1, W_every) || isw(c, i + 1, W_each)) &&
        isw(c, i + 2, W_month))
        return i + 3;
    return -1;
}

/* 1st [, 10th] [and the 20th] -> BYMONTHDAY items (at most REC_LIST_MAX). */
static int m_mdlist(struct ctx *c, int i, struct rec *r)
{
    int e = i, d, n = 0;
    while (n < REC_LIST_MAX && (e = m_mday(c, e, false, &d)) >= 0) {
        rec_add_md(r, d);
        n++;
        int s = m_sep(c, e);
        if (s < 0)
            break;
        if (isw(c, s, W_the))
            s++;
        if (m_mday(c, s, false, &d) < 0)
            break;
        e = s;
    }
    return n ? e : -1;
}

/* ORD WEEKDAY or last WEEKDAY -> monthly nth weekday; "last day" -> BYMONTHDAY=-1. */
static int m_nth(struct ctx *c, int i, struct rec *r)
{
    int ord, j;
    if (isw(c, i, W_last)) {
        ord = -1;
        j = i + 1;
    } else if ((j = m_ord(c, i, &ord)) < 0 || ord > 5) {
        return -1;
    }
    bool plural;
    int d = weekday_of(wd(c, j), &plural, NULL);
    if (d >= 0) {
        r->freq = FR_MONTHLY;
        rec_add_day(r, ord, d);
        return m_ofmonth(c, j + 1);
    }
    if (ord == -1 && isw(c, j, W_day)) {
        r->freq = FR_MONTHLY;
        rec_add_md(r, -1);
        return m_ofmonth(c, j + 1);
    }
    return -1;
}

/* What follows "every": the unit, interval, days. */
static int m_recbody(struct ctx *c, int i, struct phrase *p)
{
    struct rec *r = &p->rec;
    int w = wd(c, i), j, v, m, d, y;
    bool pm;
    int pd;
    switch (w) {
    case W_day:
        r->freq = FR_DAILY;
        return i + 1;
    case W_weekday:
    case W_weekdays:
    case W_workday:
    case W_workdays:
        rec_weekdays(r, false);
        return i + 1;
    case W_business:
        if (isw(c, i + 1, W_day) || isw(c, i + 1, W_days)) {
            rec_weekdays(r, false);
            return i + 2;
        }
        return -1;
    case W_weekend:
    case W_weekends:
        rec_weekdays(r, true);
        return i + 1;
    case W_week:
        r->freq = FR_WEEKLY;
        return i + 1;
    case W_month:
        r->freq = FR_MONTHLY;
        return i + 1;
    case W_year:
        r->freq = FR_YEARLY;
        return i + 1;
    case W_quarter:
        r->freq = FR_MONTHLY;
        r->interval = 3;
        return i + 1;
    case W_morning:
    case W_mornings:
    case W_afternoon:
    case W_afternoons:
    case W_evening:
    case W_evenings:
    case W_night:
    case W_nights:
        pd = part_of_day(w == W_mornings     ? W_morning
                         : w == W_afternoons ? W_afternoon
                         : w == W_evenings   ? W_evening
                         : w == W_nights     ? W_night
                                             : w,
                         &pm);
        r->freq = FR_DAILY;
        p->fields |= F_TIME;
        p->s_time = 1;
        p->tmin = pd;
        p->pm_hint = pm;
        return i + 1;
    case W_other: {
        r->interval = 2;
        int u = unit_of(wd(c, i + 1));
        if (u != U_NONE && unit_freq(u)) {
            r->freq = unit_freq(u);
            return i + 2;
        }
        if ((j = m_wdlist(c, i + 1, r)) >= 0) {
            r->freq = FR_WEEKLY;
            return j;
        }
        return -1;
    }
    default:
        break;
    }
    if ((j = m_wdlist(c, i, r)) >= 0) {
        r->freq = FR_WEEKLY;
        return j;
    }
    if ((j = m_nth(c, i, r)) >= 0)
        return j;
    if ((j = m_monthday(c, i, &m, &d, &y)) >= 0 && y == 0) {
        if (d > days_in_month(2000, m))
            return -1;
        r->freq = FR_YEARLY;
        r->am = m;
        r->ad = d;
        return j;
    }
    /* every 3 days, every 2nd week, every 2 mondays */
    if ((j = m_ord(c, i, &v)) >= 0 || (j = m_num(c, i, false, &v)) >= 0) {
        if (v < 1 || v > 1000)
            return -1;
        int u = unit_of(wd(c, j));
        if (u != U_NONE && unit_freq(u)) {
            r->freq = unit_freq(u);
            r->interval = v;
            return j + 1;
        }
        int k;
        if ((k = m_wdlist(c, j, r)) >= 0) {
            r->freq = FR_WEEKLY;
            r->interval = v;
            return k;
        }
    }
    /* every 15th, every 1st and 15th [day] [of the month] */
    struct rec tmp = *r;
    if ((j = m_mdlist(c, i, &tmp)) >= 0) {
        if (isw(c, j, W_day))
            j++;
        *r = tmp;
        r->interval = 1;
        r->freq = FR_MONTHLY;
        return m_ofmonth(c, j);
    }
    return -1;
}

/* After the body: "on the 1st [and 15th]", "on the last day", "on monday", "on march 10". */
static int m_recfollow(struct ctx *c, int i, struct rec *r)
{
    int j = i;
    for (int rounds = 0; rounds < 2; rounds++) {
        if (!isw(c, j, W_on))
            break;
        int k = j + 1, m, d, y, e;
        struct rec tmp = *r;
        if (isw(c, k, W_the) && (e = m_nth(c, k + 1, &tmp)) >= 0 &&
            (r->freq == FR_MONTHLY || r->freq == FR_YEARLY)) {
            tmp.freq = r->freq == FR_YEARLY ? FR_YEARLY : FR_MONTHLY;
            if (tmp.freq == FR_YEARLY)
                break; /* "every year on the last friday": not supported */
            *r = tmp;
            j = e;
            continue;
        }
        if ((e = m_monthday(c, k, &m, &d, &y)) >= 0 && y == 0 &&
            (r->freq == FR_YEARLY || (r->freq == FR_NONE))) {
            if (d > days_in_month(2000, m))
                break;
            r->freq = FR_YEARLY;
            r->am = m;
            r->ad = d;
            j = e;
            continue;
        }
        int kk = isw(c, k, W_the) ? k + 1 : k;
        tmp.nmd = 0;
        if (r->freq == FR_MONTHLY && (e = m_mdlist(c, kk, &tmp)) >= 0) {
            *r = tmp;
            j = m_ofmonth(c, e);
            continue;
        }
        if (r->freq == FR_WEEKLY || r->freq == FR_DAILY) {
            if (isw(c, k, W_weekdays) || isw(c, k, W_weekends)) {
                bool we = isw(c, k, W_weekends);
                r->nbd = 0;
                rec_weekdays(r, we);
                j = k + 1;
                continue;
            }
            tmp.nbd = 0;
            if ((e = m_wdlist(c, k, &tmp)) >= 0) {
                if (r->freq == FR_DAILY && r->interval > 1)
                    break;
                tmp.freq = FR_WEEKLY;
                *r = tmp;
                j = e;
                continue;
            }
        }
        break;
    }
    return j;
}

static int m_rec(struct ctx *c, int i, struct phrase *p)
{
    struct rec *r = &p->rec;
    memset(r, 0, sizeof *r);
    r->interval = 1;
    int w = wd(c, i), j;
    if (w == W_every || w == W_each) {
        j = i + 1;
        if (ispu(c, j, '!') && glued(c, j)) {
            r->completion = true;
            j++;
        }
        if ((j = m_recbody(c, j, p)) < 0)
            return -1;
        p->s_rec = 2;
        return m_recfollow(c, j, r);
    }
    switch (w) {
    case W_daily:
    case W_everyday:
        r->freq = FR_DAILY;
        break;
    case W_nightly:
        r->freq = FR_DAILY;
        p->fields |= F_TIME;
        p->s_time = 1;
        p->tmin = 20 * 60;
        p->pm_hint = true;
        break;
    case W_weekly:
        r->freq = FR_WEEKLY;
        break;
    case W_biweekly:
    case W_fortnightly:
        r->freq = FR_WEEKLY;
        r->interval = 2;
        break;
    case W_monthly:
        r->freq = FR_MONTHLY;
        break;
    case W_quarterly:
        r->freq = FR_MONTHLY;
        r->interval = 3;
        break;
    case W_yearly:
    case W_annually:
        r->freq = FR_YEARLY;
        break;
    default:
        break;
    }
    if (r->freq) {
        p->s_rec = 1;
        return m_recfollow(c, i + 1, r);
    }
    /* "[on] the 1st and 15th of every month", "the last friday of each month" */
    j = w == W_on ? i + 1 : i;
    if (isw(c, j, W_the)) {
        struct rec tmp = *r;
        int e = m_nth(c, j + 1, &tmp);
        if (e >= 0 && e >= j + 4 && m_ofevery(c, e - 3) == e) {
            *r = tmp;
            p->s_rec = 2;
            return e;
        }
        tmp = *r;
        if ((e = m_mdlist(c, j + 1, &tmp)) >= 0) {
            int k = isw(c, e, W_day) ? e + 1 : e;
            if ((k = m_ofevery(c, k)) >= 0) {
                *r = tmp;
                r->freq = FR_MONTHLY;
                p->s_rec = 2;
                return k;
            }
        }
    }
    /* "weekdays", "on weekends", "mondays and thursdays" */
    int w2 = wd(c, j);
    if (w2 == W_weekdays || w2 == W_weekends) {
        rec_weekdays(r, w2 == W_weekends);
        p->s_rec = 1;
        return j + 1;
    }
    bool plural = false;
    if (weekday_of(w2, &plural, NULL) >= 0) {
        int e = m_wdlist(c, j, r);
        /* plural days ("mondays") or a range ("mon-fri") repeat */
        if (plural || r->ranged) {
            r->freq = FR_WEEKLY;
            p->s_rec = 1;
            return e;
        }
    }
    return -1;
}

/* "for 5 times", "5 times", "until june 1", "after completion". */
static int m_recmod(struct ctx *c, int i, struct phrase *p)
{
    int w = wd(c, i), j, v;
    if (w == W_until || w == W_till || w == W_til || w == W_ending || w == W_through ||
        w == W_thru) {
        struct dres d;
        j = i + 1;
        if (w == W_ending && isw(c, j, W_on))
            j++;
        if ((j = m_datecore(c, j, true, &d)) < 0)
            return -1;
        p->fields = F_END;
        p->until = d.day;
        return j;
    }
    if ((w == W_after || w == W_from) &&
        (isw(c, i + 1, W_completion) || isw(c, i + 1, W_completing))) {
        p->fields = F_COMPL;
        return i + 2;
    }
    if (w == W_for && (j = m_num(c, i + 1, true, &v)) >= 0 && v >= 1 && v <= 1000) {
        int u = unit_of(wd(c, j));
        if (u >= U_DAY) {
            p->fields = F_END;
            p->for_n = v;
            p->for_unit = u;
            return j + 1;
        }
    }
    j = w == W_for ? i + 1 : i;
    if ((j = m_num(c, j, false, &v)) >= 0 &&
        (isw(c, j, W_times) || isw(c, j, W_occurrences) || (v == 1 && isw(c, j, W_time)))) {
        if (v < 1 || v > 1000)
            return -1;
        p->fields = F_END;
        p->count = v;
        return j + 1;
    }
    return -1;
}

/* ---- priority, tags, reminders, command ---- */

static int prio_word(int w)
{
    switch (w) {
    case W_urgent:
    case W_top:
    case W_highest:
        return PRIO_URGENT;
    case W_high:
        return PRIO_HIGH;
    case W_medium:
    case W_med:
    case W_normal:
        return PRIO_MEDIUM;
    case W_low:
        return PRIO_LOW;
    default:
        return -1;
    }
}

static int m_prio(struct ctx *c, int i, struct phrase *p)
{
    int w = wd(c, i), x;
    p->s_prio = 2;
    if (w == W_p) {
        const struct tok *n = tk(c, i + 1);
        if (glued(c, i + 1) && n->kind == K_NUM && n->ndig == 1 && n->num >= 1 && n->num <= 4) {
            p->prio = PRIO_URGENT + 1 - n->num;
            return i + 2;
        }
        return -1;
    }
    if (ispu(c, i, '!') && glued(c, i + 1)) {
        if ((x = prio_word(wd(c, i + 1))) >= 0 && !isw(c, i + 1, W_top) &&
            !isw(c, i + 1, W_highest)) {
            p->prio = x;
            return i + 2;
        }
        return -1;
    }
    if (w == W_priority || w == W_prio) {
        int j = i + 1;
        if (ispu(c, j, ':') || ispu(c, j, '='))
            j++;
        if ((x = prio_word(wd(c, j))) >= 0) {
            p->prio = x;
            return j + 1;
        }
        const struct tok *n = tk(c, j);
        if (n->kind == K_NUM && n->ndig == 1 && n->num >= 1 && n->num <= 4) {
            p->prio = PRIO_URGENT + 1 - n->num;
            return j + 1;
        }
        return -1;
    }
    if ((x = prio_word(w)) >= 0 && isw(c, i + 1, W_priority)) {
        p->prio = x;
        return i + 2;
    }
    p->s_prio = 1;
    int j = i + 1;
    if (w == W_very && (isw(c, j, W_urgent) || isw(c, j, W_important))) {
        w = wd(c, j); /* "very important" */
        j++;
    }
    if (w == W_urgent || w == W_asap || w == W_important) {
        p->prio = w == W_important ? PRIO_HIGH : PRIO_URGENT;
        /* "urgent!" / "asap!!": the exclamation marks belong to the word */
        for (int k = 0; k < 3 && ispu(c, j, '!') && glued(c, j); k++)
            j++;
        return j;
    }
    return -1;
}

static bool rem_push(struct ctx *c, struct phrase *p, const struct rem_raw *r)
{
    if (c->nrem >= NL_REMINDERS_MAX)
        return false;
    if (p->nrem == 0)
        p->rem0 = c->nrem;
    c->rem[c->nrem++] = *r;
    p->nrem++;
    return true;
}

/* One reminder item; fills r. */
static int m_remitem(struct ctx *c, int i, struct rem_raw *r)
{
    memset(r, 0, sizeof *r);
    struct dur du;
    struct tres t;
    struct dres d;
    int j;
    /* "the day before", "the week before" */
    if (isw(c, i, W_the) && (isw(c, i + 1, W_day) || isw(c, i + 1, W_week)) &&
        (isw(c, i + 2, W_before) || isw(c, i + 2, W_earlier) || isw(c, i + 2, W_prior))) {
        du.unit = isw(c, i + 1, W_day) ? U_DAY : U_WEEK;
        du.n = 1;
        j = i + 2;
    } else {
        j = m_dur(c, i, &du);
    }
    if (j >= 0 && du.unit != U_MONTH && du.unit != U_YEAR) {
        int64_t mins = du.n * (du.unit == U_MIN    ? 1
                               : du.unit == U_HOUR ? 60
                               : du.unit == U_DAY  ? 1440
                                                   : 10080);
        if (mins > 525600)
            return -1;
        r->kind = R_OFFSET;
        r->offset = (int)mins;
        int w = wd(c, j);
        if (w == W_before || w == W_earlier || w == W_ahead || w == W_prior)
            j++;
        /* "2 days before at 9am": that day at that time */
        int k;
        if ((du.unit == U_DAY || du.unit == U_WEEK) && (isw(c, j, W_at) || ispu(c, j, '@')) &&
            (k = m_time(c, j, &t)) >= 0 && !t.weak) {
            r->kind = R_BEFORE_AT;
            r->tmin = t.tmin;
            r->has_time = true;
            j = k;
        }
        return j;
    }
    if ((j = m_time(c, i, &t)) >= 0 && !t.weak) {
        r->kind = R_AT;
        r->tmin = t.tmin;
        r->has_time = true;
        return j;
    }
    if ((j = m_date(c, i, &d)) >= 0) {
        r->kind = R_ABS;
        r->day = d.day;
        r->has_time = d.has_time && !d.weak_time;
        r->tmin = d.tmin;
        int k;
        if (!r->has_time && (k = m_time(c, j, &t)) >= 0) {
            r->has_time = true;
            r->tmin = t.tmin;
            j = k;
        }
        return j;
    }
    return -1;
}

static int m_remind(struct ctx *c, int i, struct phrase *p)
{
    int w = wd(c, i), j;
    bool me = false;
    if ((w == W_remind || w == W_alert || w == W_notify) && isw(c, i + 1, W_me)) {
        j = i + 2;
        me = w == W_remind;
    } else if (w == W_reminder) {
        j = i + 1;
        if (ispu(c, j, ':'))
            j++;
    } else if ((w == W_with || w == W_set) &&
               (isw(c, i + 1, W_reminder) ||
                ((isw(c, i + 1, W_a) || isw(c, i + 1, W_an)) && isw(c, i + 2, W_reminder)))) {
        j = isw(c, i + 1, W_reminder) ? i + 2 : i + 3;
        if (ispu(c, j, ':'))
            j++;
    } else {
        return -1;
    }
    p->fields = F_REM;
    struct rem_raw r;
    if (me && isw(c, j, W_to)) {
        memset(&r, 0, sizeof r);
        r.kind = R_OFFSET;
        return rem_push(c, p, &r) ? j + 1 : -1;
    }
    int k = j, n = 0, nrem0 = c->nrem;
    bool after_comma = false;
    while (n < NL_REMINDERS_MAX) {
        int e = m_remitem(c, k, &r);
        if (e < 0 || !rb(c, e))
            break;
        /* after a bare comma only an offset or "at TIME" continues the list: in
         * "remind me 1h before, tomorrow 5pm" the date is the task's */
        if (after_comma && r.kind != R_OFFSET && r.kind != R_BEFORE_AT && !isw(c, k, W_at) &&
            !ispu(c, k, '@'))
            break;
        if (!rem_push(c, p, &r))
            return -1;
        n++;
        j = e;
        int s = m_sep(c, e);
        if (s < 0)
            break;
        after_comma = ispu(c, e, ',') && s == e + 1;
        k = s;
    }
    /* "remind me at 7pm to call mom": the when is the task's due, the reminder is
     * at the due time, and "to" goes with "remind me" */
    if (me && n > 0 && isw(c, j, W_to) && c->drop_tok < 0) {
        c->nrem = nrem0;
        p->nrem = 0;
        memset(&r, 0, sizeof r);
        r.kind = R_OFFSET;
        c->drop_tok = j;
        return rem_push(c, p, &r) ? i + 2 : -1;
    }
    if (n == 0) {
        memset(&r, 0, sizeof r);
        r.kind = R_OFFSET;
        if (!rem_push(c, p, &r))
            return -1;
    }
    return j;
}

static bool is_colon(struct ctx *c, int i)
{
    return ispu(c, i, ':') || ispu(c, i, '-');
}

/* A leading "add", "add a task to", "todo:", "new task:", "create a task to". */
static int m_cmd(struct ctx *c, int i)
{
    int w = wd(c, i), j = i + 1;
    if (w == W_todo || w == W_task) {
        return ispu(c, j, ':') ? j + 1 : -1;
    }
    if (w != W_add && w != W_create && w != W_new)
        return -1;
    if (isw(c, j, W_a) || isw(c, j, W_an))
        j++;
    if (w != W_new && isw(c, j, W_new))
        j++;
    int n = wd(c, j);
    if (n == W_task || n == W_todo || n == W_item) {
        j++;
        if (isw(c, j, W_to) || is_colon(c, j))
            j++;
        return j;
    }
    if (w == W_add) {
        if (is_colon(c, i + 1))
            return i + 2;
        return i + 1;
    }
    return -1;
}

/* ---- tokenizer ---- */

static bool is_alpha(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool tag_char(unsigned char ch)
{
    return is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '_';
}

/* Curly double quotes: U+201C (opening), U+201D (closing). */
static int curly(const unsigned char *s, int i, int n)
{
    if (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0x9C || s[i + 2] == 0x9D))
        return s[i + 2] == 0x9C ? 1 : 2;
    return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or NUL). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned ch = s[i];
        if (ch == 0)
            return false;
        if (ch < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (ch >= 0xC2 && ch <= 0xDF) {
            len = 2;
            cp = ch & 0x1F;
        } else if (ch >= 0xE0 && ch <= 0xEF) {
            len = 3;
            cp = ch & 0x0F;
        } else if (ch >= 0xF0 && ch <= 0xF4) {
            len = 4;
            cp = ch & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

static void tokenize(struct ctx *c)
{
    const unsigned char *s = (const unsigned char *)c->s;
    int n = c->n, i = 0;
    bool sp = true;
    int no_closer_from = n + 1; /* no closing quote at or after this index */
    while (i < n) {
        c->steps++;
        unsigned char ch = s[i];
        if (ch <= 0x20 || ch == 0x7F) {
            sp = true;
            i++;
            continue;
        }
        struct tok t;
        memset(&t, 0, sizeof t);
        t.a = (uint16_t)i;
        t.sp = sp;
        t.w = W_NONE;
        sp = false;
        int q = ch == '"' ? 1 : curly(s, i, n);
        if (q) {
            int open_len = ch == '"' ? 1 : 3;
            int k = i + open_len, close = -1;
            if (k < no_closer_from) {
                for (; k < n; k++) {
                    c->steps++;
                    if (s[k] == '"') {
                        close = k + 1;
                        break;
                    }
                    if (curly(s, k, n) == 2) {
                        close = k + 3;
                        break;
                    }
                }
                if (close < 0)
                    no_closer_from = i;
            }
            if (close > 0) {
                t.kind = K_QUOTE;
                t.b = (uint16_t)close;
                c->t[c->nt++] = t;
                i = close;
                continue;
            }
        }
        if (ch == '#' && i + 1 < n && tag_char(s[i + 1]) &&
            (i == 0 || !(is_alpha(s[i - 1]) || is_digit(s[i - 1]) || s[i - 1] >= 0x80))) {
            int k = i + 1;
            while (k < n && tag_char(s[k]) && k - i <= TAG_NAME_MAX + 1) {
                c->steps++;
                k++;
            }
            if (k - i - 1 <= TAG_NAME_MAX && (k == n || s[k] < 0x80)) {
                t.kind = K_TAG;
                t.b = (uint16_t)k;
                c->t[c->nt++] = t;
                i = k;
                continue;
            }
        }
        if (is_alpha(ch) || (ch >= 0x80 && !curly(s, i, n))) {
            int k = i;
            bool ascii = true;
            char low[WORD_MAXLEN + 1];
            while (k < n && (is_alpha(s[k]) || (s[k] >= 0x80 && !curly(s, k, n)))) {
                c->steps++;
                if (s[k] >= 0x80)
                    ascii = false;
                else if (k - i < WORD_MAXLEN)
                    low[k - i] = (char)(s[k] | 0x20);
                k++;
            }
            t.kind = K_WORD;
            t.b = (uint16_t)k;
            if (ascii && k - i <= WORD_MAXLEN) {
                low[k - i] = 0;
                t.w = (int16_t)word_lookup(low);
            }
            c->t[c->nt++] = t;
            i = k;
            continue;
        }
        if (is_digit(ch)) {
            int k = i;
            int32_t v = 0;
            while (k < n && is_digit(s[k])) {
                c->steps++;
                if (k - i < 6)
                    v = v * 10 + (s[k] - '0');
                k++;
            }
            t.kind = K_NUM;
            t.b = (uint16_t)k;
            t.ndig = (uint8_t)(k - i > 200 ? 200 : k - i);
            t.num = k - i > 6 ? -1 : v;
            c->t[c->nt++] = t;
            i = k;
            continue;
        }
        /* Any other byte (ASCII punctuation, or a curly quote without its pair). */
        int len = ch >= 0x80 ? 3 : 1;
        t.kind = K_PUNCT;
        /* an unpaired curly quote is punctuation that matches nothing */
        t.ch = ch >= 0x80 ? '\x01' : (char)ch;
        t.b = (uint16_t)(i + len);
        c->t[c->nt++] = t;
        i += len;
    }
}

/* ---- the main loop ---- */

static int match_at(struct ctx *c, int i, struct phrase *p)
{
    memset(p, 0, sizeof *p);
    p->a = (uint16_t)i;
    p->tagtok = -1;
    int j;
    const struct tok *t = tk(c, i);
    if (t->kind == K_QUOTE)
        return -1;
    if (t->kind == K_TAG) {
        p->fields = F_TAG;
        p->kind = NL_SPAN_TAG;
        p->tagtok = i;
        return i + 1;
    }
    if (!lb(c, i))
        return -1;
    if (i == 0 && (j = m_cmd(c, i)) >= 0 && rb(c, j)) {
        p->fields = F_CMD;
        p->kind = NL_SPAN_COMMAND;
        return j;
    }
    int nrem0 = c->nrem;
    if ((j = m_remind(c, i, p)) >= 0 && rb(c, j)) {
        p->kind = NL_SPAN_REMINDER;
        return j;
    }
    c->nrem = nrem0;
    memset(p, 0, sizeof *p);
    p->a = (uint16_t)i;
    if ((j = m_prio(c, i, p)) >= 0 && rb(c, j)) {
        p->fields = F_PRIO;
        p->kind = NL_SPAN_PRIORITY;
        return j;
    }
    memset(p, 0, sizeof *p);
    p->a = (uint16_t)i;
    if ((j = m_rec(c, i, p)) >= 0 && rb(c, j)) {
        p->fields |= F_REC;
        p->kind = NL_SPAN_RECURRENCE;
        return j;
    }
    memset(p, 0, sizeof *p);
    p->a = (uint16_t)i;
    if ((j = m_recmod(c, i, p)) >= 0 && rb(c, j)) {
        p->kind = NL_SPAN_RECURRENCE;
        return j;
    }
    memset(p, 0, sizeof *p);
    p->a = (uint16_t)i;
    struct dres d;
    if ((j = m_date(c, i, &d)) >= 0 && rb(c, j)) {
        p->fields = F_DATE;
        p->kind = NL_SPAN_DATE;
        p->day = d.day;
        if (d.has_time) {
            p->fields |= F_TIME;
            p->tmin = d.tmin;
            p->s_time = d.weak_time ? 1 : 2;
            p->pm_hint = d.pm_hint;
        }
        return j;
    }
    struct tres tr;
    if ((j = m_time(c, i, &tr)) >= 0 && rb(c, j)) {
        p->fields = F_TIME;
        p->kind = NL_SPAN_TIME;
        p->tmin = tr.tmin;
        p->s_time = tr.weak ? 1 : 2;
        p->pm_hint = tr.pm_hint;
        p->bare = tr.bare;
        return j;
    }
    return -1;
}

/* ---- resolution ---- */

static bool rec_match(const struct rec *r, int64_t z)
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    int w = wday(z);
    int dim = days_in_month(y, m);
    if (r->nbd) {
        bool ok = false;
        for (int i = 0; i < r->nbd && !ok; i++) {
            if (r->bd_wd[i] != w)
                continue;
            int ord = r->bd_ord[i];
            if (ord == 0)
                ok = true;
            else if (ord > 0)
                ok = (d - 1) / 7 + 1 == ord;
            else
                ok = (dim - d) / 7 + 1 == -ord;
        }
        if (!ok)
            return false;
    }
    if (r->nmd) {
        bool ok = false;
        for (int i = 0; i < r->nmd && !ok; i++)
            ok = r->md[i] > 0 ? d == r->md[i] : d == dim + r->md[i] + 1;
        if (!ok)
            return false;
    }
    if (r->am && (m != r->am || d != r->ad))
        return false;
    return true;
}

static const char *const day_codes[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};

static void rrule_build(const struct rec *r, const struct phrase *end, bool timed, const char *zone,
                        char *out, size_t cap)
{
    static const char *const freq[] = {"", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"};
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(out + n, cap - n, __VA_ARGS__);                                          \
        if (w_ > 0)                                                                                \
            n = (size_t)w_ < cap - n ? n + (size_t)w_ : cap - 1;                                   \
    } while (0)
    PUT("FREQ=%s", freq[r->freq]);
    if (r->interval > 1)
        PUT(";INTERVAL=%d", r->interval);
    if (r->nbd) {
        PUT(";BYDAY=");
        bool first = true;
        /* plain days in week order, then the ordinal ones as said */
        for (int d = 0; d < 7; d++)
            for (int i = 0; i < r->nbd; i++)
                if (r->bd_wd[i] == d && r->bd_ord[i] == 0) {
                    PUT("%s%s", first ? "" : ",", day_codes[d]);
                    first = false;
                }
        for (int i = 0; i < r->nbd; i++)
            if (r->bd_ord[i]) {
                PUT("%s%d%s", first ? "" : ",", r->bd_ord[i], day_codes[r->bd_wd[i]]);
                first = false;
            }
    }
    if (r->nmd) {
        PUT(";BYMONTHDAY=");
        for (int i = 0; i < r->nmd; i++)
            PUT("%s%d", i ? "," : "", r->md[i]);
    }
    if (end && end->count) {
        PUT(";COUNT=%d", end->count);
    } else if (end) {
        int y, m, d;
        civil_from_days(end->until, &y, &m, &d);
        struct local_dt eod = {y, m, d, 23, 59, 59, true};
        int64_t ms;
        if (timed && tz_local_to_utc(zone, &eod, &ms) == 0) {
            struct local_dt u;
            local_from_naive_seconds(ms / 1000, &u);
            PUT(";UNTIL=%04d%02d%02dT%02d%02d%02dZ", u.year, u.month, u.day, u.hour, u.minute,
                u.second);
        } else {
            PUT(";UNTIL=%04d%02d%02d", y, m, d);
        }
    }
#undef PUT
}

static void set_dt(struct local_dt *o, int64_t z, bool has_time, int tmin)
{
    memset(o, 0, sizeof *o);
    civil_from_days(z, &o->year, &o->month, &o->day);
    o->has_time = has_time;
    if (has_time) {
        o->hour = tmin / 60;
        o->minute = tmin % 60;
    }
}

static bool span_push(struct nl_result *out, const struct ctx *c, const struct phrase *p)
{
    if (out->nspans >= NL_SPANS_MAX)
        return false;
    struct nl_span *s = &out->spans[out->nspans++];
    s->start = c->t[p->a].a;
    s->end = c->t[p->b - 1].b;
    s->kind = p->kind;
    return true;
}

static bool attach_left(char ch)
{
    return ch == ',' || ch == '.' || ch == ';' || ch == ':' || ch == '!' || ch == '?' || ch == ')';
}

static bool trim_char(unsigned char ch)
{
    return ch == ' ' || ch == ',' || ch == ';' || ch == ':' || ch == '-';
}

static void build_title(struct ctx *c, const uint8_t *covered, struct nl_result *out)
{
    size_t n = 0;
    bool gap = false;
    char *o = out->title;
    /* a bracket pair that only held removed phrases goes too: "Call mom (tomorrow)" */
    size_t open_at = 0;
    char open_ch = 0;
    bool open_removed = false;
    for (int i = 0; i < c->nt; i++) {
        c->steps++;
        const struct tok *t = &c->t[i];
        if (covered[i]) {
            gap = true;
            open_removed = true;
            continue;
        }
        if (t->kind == K_PUNCT && open_ch && open_removed &&
            t->ch == (open_ch == '(' ? ')' : ']')) {
            n = open_at;
            open_ch = 0;
            gap = true;
            continue;
        }
        if (t->kind == K_PUNCT && (t->ch == '(' || t->ch == '[')) {
            open_at = n;
            open_ch = t->ch;
            open_removed = false;
        } else {
            open_ch = 0;
        }
        /* "Call mom, tomorrow, about": the phrase's commas collapse into one */
        if (gap && t->kind == K_PUNCT && attach_left(t->ch) && n > 0 && o[n - 1] == t->ch)
            continue;
        bool space = n > 0 && (t->sp || gap);
        if (gap && !t->sp && t->kind == K_PUNCT && attach_left(t->ch))
            space = false;
        if (space && n < NL_TEXT_MAX)
            o[n++] = ' ';
        int a = t->a, b = t->b;
        if (t->kind == K_QUOTE) {
            a += c->s[a] == '"' ? 1 : 3;
            b -= c->s[b - 1] == '"' ? 1 : 3;
        }
        for (int k = a; k < b && n < NL_TEXT_MAX; k++) {
            unsigned char ch = (unsigned char)c->s[k];
            o[n++] = (char)(ch < 0x20 || ch == 0x7F ? ' ' : ch);
        }
        gap = false;
    }
    /* trim separators at both ends */
    size_t a = 0;
    while (a < n && trim_char((unsigned char)o[a]))
        a++;
    while (n > a && trim_char((unsigned char)o[n - 1]))
        n--;
    memmove(o, o + a, n - a);
    o[n - a] = 0;
}

static void resolve(struct ctx *c, struct nl_result *out)
{
    int wdate = -1, wtime = -1, wrec = -1, wprio = -1, wend = -1;
    for (int i = 0; i < c->nph; i++) {
        struct phrase *p = &c->ph[i];
        c->steps++;
        if ((p->fields & F_DATE) && wdate < 0)
            wdate = i;
        if ((p->fields & F_TIME) && (wtime < 0 || p->s_time > c->ph[wtime].s_time))
            wtime = i;
        if ((p->fields & F_REC) && (wrec < 0 || p->s_rec > c->ph[wrec].s_rec))
            wrec = i;
        if ((p->fields & F_PRIO) && (wprio < 0 || p->s_prio > c->ph[wprio].s_prio))
            wprio = i;
        if ((p->fields & F_END) && wend < 0)
            wend = i;
    }
    bool pm_hint = false;
    for (int i = 0; i < c->nph; i++) {
        struct phrase *p = &c->ph[i];
        c->steps++;
        if (p->fields & (F_TAG | F_REM | F_CMD))
            p->keep = true;
        if (i == wdate || i == wtime || i == wrec || i == wprio)
            p->keep = true;
        /* a part of the day refined by an explicit time ("this evening at 7") */
        if ((p->fields & F_TIME) && p->s_time == 1 && wtime >= 0 && c->ph[wtime].s_time == 2 &&
            !(p->fields & (F_DATE | F_REC))) {
            p->keep = true;
        }
        if ((p->fields & F_TIME) && p->pm_hint && p->keep)
            pm_hint = true;
        if (wrec >= 0 && ((p->fields & F_COMPL) || i == wend))
            p->keep = true;
    }
    /* tags: unique, at most TASK_TAGS_MAX */
    for (int i = 0; i < c->nph; i++) {
        struct phrase *p = &c->ph[i];
        if (!(p->fields & F_TAG))
            continue;
        const struct tok *t = &c->t[p->tagtok];
        char name[TAG_NAME_MAX + 1];
        size_t len = (size_t)(t->b - t->a - 1);
        for (size_t k = 0; k < len; k++) {
            char ch = c->s[t->a + 1 + k];
            name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch | 0x20) : ch;
        }
        name[len] = 0;
        bool dup = false;
        for (size_t k = 0; k < out->ntags && !dup; k++) {
            c->steps++;
            dup = strcmp(out->tags[k], name) == 0;
        }
        if (!dup) {
            if (out->ntags >= TASK_TAGS_MAX) {
                p->keep = false;
                continue;
            }
            memcpy(out->tags[out->ntags++], name, len + 1);
        }
    }

    /* time */
    bool has_time = wtime >= 0;
    int tmin = has_time ? c->ph[wtime].tmin : 0;
    if (has_time && c->ph[wtime].bare && pm_hint && tmin < 12 * 60)
        tmin += 12 * 60;
    bool has_date = wdate >= 0;
    int64_t day = has_date ? c->ph[wdate].day : 0;

    if (wrec >= 0) {
        struct rec r = c->ph[wrec].rec;
        int64_t start = has_date ? day : c->today;
        if (start < c->today)
            start = c->today;
        if (!r.nbd && !r.nmd && !r.am) {
            int y, m, d;
            civil_from_days(start, &y, &m, &d);
            if (r.freq == FR_WEEKLY)
                rec_add_day(&r, 0, wday(start));
            else if (r.freq == FR_MONTHLY)
                rec_add_md(&r, d);
            else if (r.freq == FR_YEARLY) {
                r.am = m;
                r.ad = d;
            }
        }
        int64_t first = INT64_MIN;
        for (int64_t z = start; z < start + SEARCH_DAYS; z++) {
            c->steps++;
            if (z == c->today && has_time && tmin < c->nowmin)
                continue;
            if (rec_match(&r, z)) {
                first = z;
                break;
            }
        }
        if (first != INT64_MIN && day_ok(first)) {
            out->has_rrule = true;
            out->has_due = true;
            set_dt(&out->due, first, has_time, tmin);
            /* implicit anchors repeat the first due date: leave them out */
            const struct rec *said = &c->ph[wrec].rec;
            struct phrase endp;
            const struct phrase *end = NULL;
            if (wend >= 0) {
                endp = c->ph[wend];
                end = &endp;
                if (endp.for_n) {
                    /* "every day for 10 days" = 10 times; otherwise up to the day before */
                    if (unit_freq(endp.for_unit) == said->freq && said->interval == 1 &&
                        !said->nbd && !said->nmd && !said->am) {
                        endp.count = endp.for_n;
                    } else {
                        int64_t n = endp.for_n;
                        endp.until =
                            endp.for_unit == U_DAY ? first + n - 1
                            : endp.for_unit == U_WEEK
                                ? first + 7 * n - 1
                                : add_months(first, endp.for_unit == U_MONTH ? n : 12 * n) - 1;
                    }
                }
            }
            rrule_build(said, end, has_time, c->zone, out->rrule, sizeof out->rrule);
            bool compl = said->completion;
            for (int i = 0; i < c->nph; i++)
                if (c->ph[i].fields & F_COMPL)
                    compl = true;
            out->recur_from = compl ? RECUR_COMPLETION : RECUR_DUE;
        } else {
            /* no occurrence: the recurrence and its modifiers go back to the title */
            for (int i = 0; i < c->nph; i++)
                if (i == wrec || (c->ph[i].fields & (F_COMPL | F_END)))
                    c->ph[i].keep = i == wdate || (i == wtime && i != wrec);
            if (wtime == wrec)
                has_time = false;
            wrec = -1;
        }
    }
    if (wrec < 0) {
        if (has_date) {
            out->has_due = true;
            set_dt(&out->due, day, has_time, tmin);
        } else if (has_time) {
            out->has_due = true;
            set_dt(&out->due, tmin > c->nowmin ? c->today : c->today + 1, true, tmin);
        }
    }
    if (wprio >= 0)
        out->priority = c->ph[wprio].prio;

    /* reminders, in the order said */
    for (int i = 0; i < c->nph; i++) {
        const struct phrase *p = &c->ph[i];
        if (!(p->fields & F_REM) || !p->keep)
            continue;
        for (int k = 0; k < p->nrem && out->nreminders < NL_REMINDERS_MAX; k++) {
            const struct rem_raw *r = &c->rem[p->rem0 + k];
            struct nl_reminder *o = &out->reminders[out->nreminders++];
            memset(o, 0, sizeof *o);
            if (r->kind == R_OFFSET) {
                o->offset_minutes = r->offset;
            } else if (r->kind == R_BEFORE_AT) {
                if (out->has_due) {
                    o->is_at = true;
                    int64_t z = days_from_civil(out->due.year, out->due.month, out->due.day);
                    set_dt(&o->at, z - r->offset / 1440, true, r->tmin);
                } else {
                    o->offset_minutes = r->offset;
                }
            } else if (r->kind == R_AT) {
                o->is_at = true;
                int64_t z;
                if (out->has_due)
                    z = days_from_civil(out->due.year, out->due.month, out->due.day);
                else
                    z = r->tmin > c->nowmin ? c->today : c->today + 1;
                set_dt(&o->at, z, true, r->tmin);
            } else {
                o->is_at = true;
                set_dt(&o->at, r->day, true, r->has_time ? r->tmin : 9 * 60);
            }
        }
    }
}

/* ---- entry point ---- */

int nl_parse(const char *text, size_t len, const struct nl_options *opt, struct nl_result *out,
             struct tock_error *e)
{
    memset(out, 0, offsetof(struct nl_result, spans));
    out->nspans = 0;
    out->steps = 0;
    if (len > NL_TEXT_MAX)
        return tock_fail(e, TOCK_EINVAL, "text", "text is longer than %d bytes", NL_TEXT_MAX);
    if (!utf8_ok((const unsigned char *)text, len))
        return tock_fail(e, TOCK_EINVAL, "text", "text must be UTF-8 without NUL");
    const struct local_dt *now = &opt->now;
    if (now->year <= TZ_YEAR_MIN + 1 || now->year >= TZ_YEAR_MAX - 10 || now->month < 1 ||
        now->month > 12 || now->day < 1 || now->day > days_in_month(now->year, now->month) ||
        now->hour < 0 || now->hour > 23 || now->minute < 0 || now->minute > 59)
        return tock_fail(e, TOCK_EINVAL, "now", "now is out of range");
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.s = text;
    c.n = (int)len;
    c.now = *now;
    c.now.second = 0;
    c.now.has_time = true;
    c.today = days_from_civil(now->year, now->month, now->day);
    c.nowmin = now->hour * 60 + now->minute;
    c.zone = opt->zone;
    c.eof.kind = K_EOF;
    c.eof.w = W_NONE;
    c.eof.sp = 1;
    c.drop_tok = -1;
    size_t ntok_max = len + 1;
    c.t = malloc(ntok_max * sizeof *c.t);
    c.ph = malloc(ntok_max * sizeof *c.ph);
    uint8_t *covered = calloc(ntok_max, 1);
    if (!c.t || !c.ph || !covered) {
        free(c.t);
        free(c.ph);
        free(covered);
        return tock_fail(e, TOCK_ENOMEM, "", "out of memory");
    }
    tokenize(&c);
    int i = 0;
    while (i < c.nt) {
        c.steps++;
        struct phrase *p = &c.ph[c.nph];
        int j = match_at(&c, i, p);
        if (j > i) {
            p->a = (uint16_t)i;
            p->b = (uint16_t)j;
            c.nph++;
            i = j;
        } else {
            i++;
        }
    }
    resolve(&c, out);
    for (int k = 0; k < c.nph; k++) {
        const struct phrase *p = &c.ph[k];
        if (!p->keep)
            continue;
        for (int t = p->a; t < p->b; t++)
            covered[t] = 1;
        span_push(out, &c, p);
    }
    if (c.drop_tok >= 0)
        covered[c.drop_tok] = 1;
    /* A conjunction left between two phrases, or after the last one, joined
     * nothing of the title: "Check in every weekday at 9 and remind me ...". */
    for (int k = 1; k < c.nt; k++) {
        c.steps++;
        const struct tok *t = &c.t[k];
        bool conj = (t->kind == K_WORD && (t->w == W_and || t->w == W_then)) ||
                    (t->kind == K_PUNCT && t->ch == '&');
        if (conj && !covered[k] && covered[k - 1] && (k + 1 == c.nt || covered[k + 1]))
            covered[k] = 1;
    }
    build_title(&c, covered, out);
    out->steps = c.steps;
    free(c.t);
    free(c.ph);
    free(covered);
    return 0;
}

const char *nl_span_kind_name(int kind)
{
    switch (kind) {
    case NL_SPAN_DATE:
        return "date";
    case NL_SPAN_TIME:
        return "time";
    case NL_SPAN_RECURRENCE:
        return "recurrence";
    case NL_SPAN_PRIORITY:
        return "priority";
    case NL_SPAN_TAG:
        return "tag";
    case NL_SPAN_REMINDER:
        return "reminder";
    case NL_SPAN_COMMAND:
        return "command";
    default:
        return "other";
    }
}
