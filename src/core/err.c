/* err.c — descriptions of tock_err codes and the tock_fail helper. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tock_strerror(int err)
{
    switch (err) {
    case TOCK_OK: return "ok";
    case TOCK_EINVAL: return "invalid argument";
    case TOCK_ENOTFOUND: return "not found";
    case TOCK_ECONFLICT: return "conflict";
    case TOCK_ESTALE: return "version is not current";
    case TOCK_EAUTH: return "authentication failed";
    case TOCK_ENOMEM: return "out of memory";
    case TOCK_ESTORE: return "storage failure";
    case TOCK_EBUS: return "bus failure";
    case TOCK_EJSON: return "malformed JSON";
    case TOCK_ELIMIT: return "limit exceeded";
    case TOCK_EINTERNAL: return "internal error";
    case TOCK_EBUSY: return "database busy";
    }
    return "unknown error";
}

int tock_fail(struct tock_error *e, int code, const char *field, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return code;
}
