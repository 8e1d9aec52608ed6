/* buf.c — growable NUL-terminated byte string; see buf.h for the invariants. */
#include "core/buf.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty[1];

void buf_init(struct buf *b, size_t cap_limit)
{
    b->data = empty;
    b->len = 0;
    b->alloc = 0;
    b->cap_limit = cap_limit;
}

void buf_free(struct buf *b)
{
    if (b->alloc)
        free(b->data);
    b->data = empty;
    b->len = b->alloc = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->data[0] = 0;
}

static int grow(struct buf *b, size_t extra)
{
    if (b->cap_limit && b->len + extra > b->cap_limit)
        return TOCK_ELIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    char *p = b->alloc ? realloc(b->data, n) : malloc(n);
    if (!p)
        return TOCK_ENOMEM;
    if (!b->alloc)
        p[0] = 0;
    b->data = p;
    b->alloc = n;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    int rc = grow(b, len);
    if (rc)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return TOCK_EINVAL;
    int rc = grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int buf_json_str(struct buf *b, const char *s)
{
    size_t start = b->len;
    int rc = buf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (!rc && *p) {
        /* Copy the longest run that needs no escaping in one append. */
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            rc = buf_append(b, run, (size_t)(p - run));
        if (rc || !*p)
            break;
        char esc[8];
        switch (*p) {
        case '"': rc = buf_append(b, "\\\"", 2); break;
        case '\\': rc = buf_append(b, "\\\\", 2); break;
        case '\n': rc = buf_append(b, "\\n", 2); break;
        case '\r': rc = buf_append(b, "\\r", 2); break;
        case '\t': rc = buf_append(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            rc = buf_append(b, esc, 6);
        }
        p++;
    }
    if (!rc)
        rc = buf_append(b, "\"", 1);
    if (rc && b->alloc) {
        /* All or nothing, like every other append. */
        b->len = start;
        b->data[start] = 0;
    }
    return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->alloc ? b->data : strdup("");
    if (len)
        *len = b->len;
    b->data = empty;
    b->len = b->alloc = 0;
    return p;
}
