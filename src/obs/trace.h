/*
 * trace.h — W3C trace context. Each request gets a traceparent: the caller's trace
 * id when it sent a valid header (a new span id for us), else a new trace.
 */
#ifndef TOCK_OBS_TRACE_H
#define TOCK_OBS_TRACE_H

#define TRACEPARENT_LEN 55

/* Fills out[56] with "00-<trace>-<span>-<flags>" derived from header (may be NULL). */
void trace_from_header(const char *header, char out[TRACEPARENT_LEN + 1]);
/* Random lower-case hex of n bytes into out (2n+1 chars). */
void trace_random_hex(char *out, int nbytes);

#endif
