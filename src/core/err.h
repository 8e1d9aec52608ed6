/*
 * err.h — tock's one error enum. Every function that can fail returns 0 or a
 * negative TOCK_E* code; a human message goes into a caller-owned buffer.
 * Codes only grow: never renumber or reuse one. The mapping to HTTP status lives
 * in exactly one place (api/respond.c).
 */
#ifndef TOCK_CORE_ERR_H
#define TOCK_CORE_ERR_H

#include <stddef.h>

enum tock_err {
    TOCK_OK = 0,
    TOCK_EINVAL = -1,      /* a value failed validation (field names which) */
    TOCK_ENOTFOUND = -2,   /* no such object for this caller */
    TOCK_ECONFLICT = -3,   /* unique constraint (e-mail taken, ...) */
    TOCK_ESTALE = -4,      /* optimistic concurrency: version mismatch */
    TOCK_EAUTH = -5,       /* authentication failed */
    TOCK_ENOMEM = -6,      /* allocation failed */
    TOCK_ESTORE = -7,      /* storage failure (I/O, corruption, busy too long) */
    TOCK_EBUS = -8,        /* bus failure (broker down, ...) */
    TOCK_EJSON = -9,       /* malformed JSON */
    TOCK_ELIMIT = -10,     /* a limit was exceeded (rate, size) */
    TOCK_EINTERNAL = -11,  /* broken invariant */
    TOCK_EBUSY = -12,      /* database busy / locked */
};

/* Static description of an error code; never NULL. */
const char *tock_strerror(int err);

/*
 * A validation/business error with detail: the code, the offending field (may be
 * empty) and a message. Filled by the layer that detects the problem.
 */
struct tock_error {
    int code;
    char field[64];
    char message[256];
};

/* Sets e (if non-NULL) and returns code, so callers can `return tock_fail(...)`. */
int tock_fail(struct tock_error *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
