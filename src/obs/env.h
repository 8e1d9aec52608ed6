/*
 * env.h — reading numeric and duration settings from the environment, with
 * range checks and a message naming the variable when a value is wrong.
 */
#ifndef TOCK_OBS_ENV_H
#define TOCK_OBS_ENV_H

#include <stddef.h>
#include <stdint.h>

/* Unset or empty: *out = def. Else an integer in [min, max], or -1 with err set. */
int env_int(const char *name, int def, int min, int max, int *out, char *err, size_t errlen);
/* The same for a 64-bit integer. */
int env_i64(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out, char *err,
            size_t errlen);
/*
 * A duration: an integer with a unit suffix ms, s, m, h or d ("7d", "90s",
 * "500ms"); a bare integer means seconds. Unset or empty: *out_ms = def_ms.
 * Must lie in [min_ms, max_ms], else -1 with err set.
 */
int env_duration_ms(const char *name, int64_t def_ms, int64_t min_ms, int64_t max_ms,
                    int64_t *out_ms, char *err, size_t errlen);
/* Parses a duration string as above; -1 when malformed or out of int64 range. */
int duration_parse_ms(const char *s, int64_t *out_ms);

#endif
