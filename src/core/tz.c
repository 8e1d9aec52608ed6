/*
 * tz.c — time zone conversion on top of libical's builtin (system zoneinfo)
 * zones. libical's zone objects expand their transition tables lazily and are
 * not safe to share between threads, so every call goes through `lock`.
 */
#include "core/tz.h"
#include "core/err.h"

#include <libical/ical.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
        return false;
    /* Files in the zoneinfo tree that are not zone names of their own. */
    static const char *const not_zones[] = {"localtime", "posixrules", "Factory", "leapseconds",
                                            "tzdata.zi", "zone.tab", "zone1970.tab",
                                            "iso3166.tab", "leap-seconds.list"};
    for (size_t i = 0; i < sizeof not_zones / sizeof *not_zones; i++)
        if (strcmp(name, not_zones[i]) == 0)
            return false;
    if (strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0 ||
        strncmp(name, "SystemV/", 8) == 0)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

/* Caller holds lock. */
static icaltimezone *zone_get(const char *name)
{
    if (!name_ok(name))
        return NULL;
    if (strcmp(name, "UTC") == 0)
        return icaltimezone_get_utc_timezone();
    return icaltimezone_get_builtin_timezone(name);
}

bool tz_valid(const char *name)
{
    pthread_mutex_lock(&lock);
    bool ok = zone_get(name) != NULL;
    pthread_mutex_unlock(&lock);
    return ok;
}

/* UTC offset in seconds at instant utc_s. Caller holds lock. */
static int64_t offset_at(icaltimezone *z, int64_t utc_s)
{
    struct icaltimetype lt = icaltime_from_timet_with_zone((time_t)utc_s, 0, z);
    struct local_dt t = {lt.year, lt.month, lt.day, lt.hour, lt.minute, lt.second, true};
    return local_naive_seconds(&t) - utc_s;
}

int tz_local_to_utc(const char *zone, const struct local_dt *t, int64_t *ms)
{
    if (t->year < TZ_YEAR_MIN || t->year > TZ_YEAR_MAX)
        return TOCK_EINVAL;
    pthread_mutex_lock(&lock);
    icaltimezone *z = zone_get(zone);
    if (!z) {
        pthread_mutex_unlock(&lock);
        return TOCK_EINVAL;
    }
    int64_t naive = local_naive_seconds(t);
    /* The offsets in force a day before and a day after bracket any transition. */
    int64_t before = offset_at(z, naive - 86400), after = offset_at(z, naive + 86400);
    int64_t a = naive - before, b = naive - after;
    bool a_ok = offset_at(z, a) == before, b_ok = offset_at(z, b) == after;
    pthread_mutex_unlock(&lock);
    int64_t s;
    if (a_ok && b_ok)
        s = a < b ? a : b; /* ambiguous: first occurrence */
    else if (a_ok)
        s = a;
    else if (b_ok)
        s = b;
    else
        s = a; /* in a gap: pre-transition offset moves it forward */
    *ms = s * 1000;
    return 0;
}

int tz_utc_to_local(const char *zone, int64_t ms, struct local_dt *out)
{
    /* Range check on the UTC instant (a day of slack either side for offsets). */
    if (ms < (days_from_civil(TZ_YEAR_MIN, 1, 2) * 86400) * 1000 ||
        ms >= (days_from_civil(TZ_YEAR_MAX, 12, 31) * 86400) * 1000)
        return TOCK_EINVAL;
    pthread_mutex_lock(&lock);
    icaltimezone *z = zone_get(zone);
    if (!z) {
        pthread_mutex_unlock(&lock);
        return TOCK_EINVAL;
    }
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t off = offset_at(z, s);
    pthread_mutex_unlock(&lock);
    local_from_naive_seconds(s + off, out);
    return 0;
}
