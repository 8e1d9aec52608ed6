/*
 * tz.h — IANA time zones (via libical's zoneinfo reader): validation and
 * conversion between local wall time and UTC. Thread-safe: libical's zone cache
 * is guarded by one mutex owned by this module.
 */
#ifndef TOCK_CORE_TZ_H
#define TOCK_CORE_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/timeutil.h"

#define TZ_NAME_MAX 64
/*
 * Years outside this range are refused (TOCK_EINVAL). libical caches a zone's
 * transitions only up to 2582; past that every conversion recomputes them
 * (~80 ms under the zone lock), which a request could use to stall the server.
 */
#define TZ_YEAR_MIN 1900
#define TZ_YEAR_MAX 2500

/* True if name is a known IANA zone ("UTC" included). */
bool tz_valid(const char *name);

/*
 * Local wall time in zone -> epoch ms UTC. A time in a DST gap is read with the
 * offset in force before the gap (so 02:30 on a spring-forward day is 03:30 after);
 * an ambiguous time (fall back) takes its first occurrence. TOCK_EINVAL for an
 * unknown zone.
 */
int tz_local_to_utc(const char *zone, const struct local_dt *t, int64_t *ms);
/* Epoch ms UTC -> local wall time in zone (has_time = true). */
int tz_utc_to_local(const char *zone, int64_t ms, struct local_dt *out);

#endif
