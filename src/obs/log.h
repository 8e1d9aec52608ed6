/*
 * log.h — structured JSON logs, one object per line: {"ts","level","msg",...}.
 * Written with a single write(2) per line so lines from different threads never
 * interleave. Goes to stdout by default (stderr for `tock mcp`, whose stdout is the
 * protocol).
 */
#ifndef TOCK_OBS_LOG_H
#define TOCK_OBS_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_setup(int fd, int min_level, const char *role);
int log_level_parse(const char *s); /* -1 if unknown */
/* A line with a formatted message. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A line with msg and extra members: `extra` is a JSON object body without braces
 * (e.g. "\"route\":\"/x\",\"status\":200") or NULL.
 */
void log_json(int level, const char *msg, const char *extra);
/* Writes a raw, already complete JSON line (newline appended). */
void log_line(const char *json, size_t len);

#endif
