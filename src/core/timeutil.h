/*
 * timeutil.h — civil-calendar arithmetic and the textual time formats tock speaks:
 * RFC 3339 instants (int64 epoch milliseconds UTC) and local wall times
 * ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM"). Pure functions: no I/O, no time zones
 * (see tz.h for those).
 */
#ifndef TOCK_CORE_TIMEUTIL_H
#define TOCK_CORE_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

/* A local wall time; has_time false means a whole day (hour/min/sec are 0). */
struct local_dt {
    int year, month, day, hour, minute, second;
    bool has_time;
};

int64_t days_from_civil(int y, int m, int d);
void civil_from_days(int64_t z, int *y, int *m, int *d);
int days_in_month(int y, int m);

/* Seconds since the epoch of the wall time read as if it were UTC. */
int64_t local_naive_seconds(const struct local_dt *t);
void local_from_naive_seconds(int64_t s, struct local_dt *t);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 32 bytes). */
void time_fmt_rfc3339(int64_t ms, char *out);
/*
 * Parses an RFC 3339 date-time with a Z or ±HH:MM offset (fraction optional).
 * Returns 0 or TOCK_EINVAL.
 */
int time_parse_rfc3339(const char *s, int64_t *ms);
/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (exactly), checking the calendar. */
int time_parse_local(const char *s, struct local_dt *out);
/* Formats as "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (out at least 20 bytes). */
void time_fmt_local(const struct local_dt *t, char *out);

#endif
