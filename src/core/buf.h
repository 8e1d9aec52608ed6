/*
 * buf.h — a growable byte string (after git's strbuf). Invariant: `data` is always
 * NUL-terminated (an empty buf points at a static ""), `len` excludes the NUL.
 * `cap_limit` (0 = none) bounds growth for anything read from the network: an
 * append that would pass it fails with TOCK_ELIMIT and leaves the buf unchanged.
 */
#ifndef TOCK_CORE_BUF_H
#define TOCK_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap_limit;
};

#define BUF_INIT {(char *)"", 0, 0, 0}

void buf_init(struct buf *b, size_t cap_limit);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal (quotes and escapes included). */
int buf_json_str(struct buf *b, const char *s);
/* Hands the heap string to the caller (free with free()); the buf is reset. */
char *buf_detach(struct buf *b, size_t *len);

#endif
