/* log.c — JSON line logger; see log.h. */
#include "obs/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"

static int log_fd = 1;
static int log_min = LOG_INFO;
static char log_role[32] = "all";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(int fd, int min_level, const char *role)
{
    log_fd = fd;
    log_min = min_level;
    snprintf(log_role, sizeof log_role, "%s", role ? role : "all");
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_line(const char *json, size_t len)
{
    char stackbuf[2048];
    if (len + 1 <= sizeof stackbuf) {
        memcpy(stackbuf, json, len);
        stackbuf[len] = '\n';
        ssize_t w = write(log_fd, stackbuf, len + 1);
        (void)w;
        return;
    }
    struct buf b = BUF_INIT;
    if (buf_append(&b, json, len) == 0 && buf_append(&b, "\n", 1) == 0) {
        ssize_t w = write(log_fd, b.data, b.len);
        (void)w;
    }
    buf_free(&b);
}

void log_json(int level, const char *msg, const char *extra)
{
    if (level < log_min)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char ts[32];
    time_fmt_rfc3339((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, ts);
    struct buf b = BUF_INIT;
    buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"role\":", ts, level_names[level]);
    buf_json_str(&b, log_role);
    buf_puts(&b, ",\"msg\":");
    buf_json_str(&b, msg);
    if (extra && *extra) {
        buf_puts(&b, ",");
        buf_puts(&b, extra);
    }
    buf_puts(&b, "}");
    log_line(b.data, b.len);
    buf_free(&b);
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_json(level, msg, NULL);
}
