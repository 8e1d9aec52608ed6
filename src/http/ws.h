/*
 * ws.h — RFC 6455 (WebSocket) framing, pure: no sockets, no threads, no clocks.
 * The opening-handshake checks and the accept key, an incremental frame parser
 * over a caller-owned byte buffer, and frame encoders. The sync hub
 * (roles/sync.c) does the I/O; this module only turns bytes into events and
 * events into bytes, so it can be unit-tested and fuzzed on its own.
 *
 * Parser model: the caller appends received bytes to a buffer and calls
 * ws_parse() in a loop. Each call either needs more bytes (nothing consumed),
 * returns one event (a complete message, ping, pong or close) and how many bytes
 * it consumed, or fails with the close code to send (1002 protocol error, 1007
 * invalid UTF-8, 1009 too big). Payloads are unmasked in place, so the buffer
 * must be writable. Fragments of a data message are gathered in the parser
 * (control frames may arrive between them); text is validated as UTF-8 as each
 * fragment arrives, a sequence split across fragments included.
 *
 * Limits: a frame's payload is at most max_frame bytes and a message (all its
 * fragments) at most max_message bytes (both WS_MAX_MESSAGE_DEFAULT unless set);
 * the length check happens on the frame header, before any payload is buffered.
 * Control frames carry at most 125 bytes and are never fragmented (RFC 5.5).
 * Lengths must use the minimal encoding (RFC 5.2).
 */
#ifndef TOCK_HTTP_WS_H
#define TOCK_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define WS_MAX_MESSAGE_DEFAULT (64 * 1024)
#define WS_MAX_CONTROL 125
#define WS_MAX_HEADER 14 /* 2 + 8 (length) + 4 (mask) */

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes (RFC 7.4.1) used by tock. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_NO_STATUS 1005 /* never sent: "the close frame had no code" */
#define WS_CLOSE_BAD_DATA 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011
#define WS_CLOSE_TRY_AGAIN 1013

/* ---- opening handshake ---- */

/*
 * The request headers that matter (NULL when absent). Returns 0 when the request
 * is a valid WebSocket upgrade, else the HTTP status to answer — 426 (Upgrade
 * Required: no "Upgrade: websocket", or a Sec-WebSocket-Version other than 13;
 * answer with "Sec-WebSocket-Version: 13") or 400 (no "Connection: upgrade", or a
 * Sec-WebSocket-Key that is not base64 of 16 bytes) — with *why set to a static
 * message.
 */
struct ws_handshake {
    const char *upgrade, *connection, *key, *version;
};
int ws_handshake_check(const struct ws_handshake *h, const char **why);

/* True when the comma-separated header value has token (case-insensitive). */
bool ws_header_has_token(const char *value, const char *token);

/*
 * Sec-WebSocket-Accept for a client key: base64(SHA-1(key + GUID)), 28 chars +
 * NUL. Returns 0, or -1 when key is not base64 of exactly 16 bytes.
 */
int ws_accept_key(const char *key, char out[29]);

/* ---- parser ---- */

enum ws_event_type { WS_EV_MESSAGE = 1, WS_EV_PING, WS_EV_PONG, WS_EV_CLOSE };

struct ws_event {
    enum ws_event_type type;
    int opcode;          /* WS_OP_TEXT / WS_OP_BINARY for messages */
    const uint8_t *data; /* borrowed until the next ws_parse / ws_parser_free */
    size_t len;
    uint16_t close_code; /* WS_EV_CLOSE: the peer's code, WS_CLOSE_NO_STATUS if none */
};

struct ws_parser {
    bool server;        /* true: frames must be masked (from a client); false: must not */
    size_t max_frame;   /* 0: WS_MAX_MESSAGE_DEFAULT */
    size_t max_message; /* 0: WS_MAX_MESSAGE_DEFAULT */
    /* The data message being assembled. */
    int msg_opcode; /* 0: none in progress */
    struct buf msg;
    uint32_t utf8; /* incremental UTF-8 state of msg */
};

enum { WS_NEED_MORE = 0, WS_GOT_EVENT = 1, WS_FAIL = -1 };

void ws_parser_init(struct ws_parser *p, bool server, size_t max_message);
void ws_parser_free(struct ws_parser *p);
/*
 * Parses at most one frame from in[0..len). WS_NEED_MORE: nothing consumed (call
 * again with more bytes). WS_GOT_EVENT: *consumed bytes used, *ev filled. A data
 * frame that is not the last fragment is consumed without an event: then
 * WS_NEED_MORE is returned with *consumed > 0. WS_FAIL: *close_code is the code
 * to close with; the connection is finished.
 */
int ws_parse(struct ws_parser *p, uint8_t *in, size_t len, size_t *consumed,
             struct ws_event *ev, uint16_t *close_code);

/* Incremental UTF-8 validation: state starts at 0; false on an invalid byte. */
bool ws_utf8_step(uint32_t *state, const uint8_t *s, size_t n);
/* True when the state is between characters (a complete text). */
bool ws_utf8_complete(uint32_t state);

/* ---- encoder ---- */

/*
 * Appends one frame (FIN set) with the payload. mask NULL: unmasked (server to
 * client); else the 4-byte masking key (client to server). 0 or TOCK_ENOMEM.
 */
int ws_encode(struct buf *out, int opcode, const void *data, size_t len, const uint8_t *mask);
/* The frame header alone (FIN per fin); returns its length (2..14). */
size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], int opcode, bool fin, uint64_t len,
                       const uint8_t *mask);
/* A close frame with code and a reason (truncated to fit 125 bytes at a UTF-8 boundary). */
int ws_encode_close(struct buf *out, uint16_t code, const char *reason, const uint8_t *mask);

/* True for close codes a peer may send (RFC 7.4: 1000-1003, 1007-1014, 3000-4999). */
bool ws_close_code_valid(uint16_t code);

#endif
