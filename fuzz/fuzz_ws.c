/*
 * fuzz_ws.c — libFuzzer target for the WebSocket framing (src/http/ws.c). The
 * input is split into a control byte and a byte stream: the stream is fed to a
 * server-side parser in chunks whose sizes come from the control byte, exactly
 * as the sync hub feeds socket reads. Invariants checked on every event: text
 * messages are valid UTF-8, lengths stay within the limits, and a message
 * re-encoded as a masked frame parses back to the same bytes. The input is also
 * used as a Sec-WebSocket-Key and a header value for the handshake helpers.
 *
 * Built only with -DTOCK_FUZZ=ON and clang (fuzz_ws); fuzz/replay.c drives the
 * same function with deterministic random inputs in `make test` (fuzz_ws_replay).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static void round_trip(const struct ws_event *ev)
{
    static const uint8_t mask[4] = {1, 2, 3, 4};
    struct buf b = BUF_INIT;
    check(ws_encode(&b, ev->opcode, ev->data, ev->len, mask) == 0);
    struct ws_parser p;
    ws_parser_init(&p, true, WS_MAX_MESSAGE_DEFAULT);
    struct ws_event back;
    size_t used;
    uint16_t code;
    check(ws_parse(&p, (uint8_t *)b.data, b.len, &used, &back, &code) == WS_GOT_EVENT);
    check(used == b.len && back.len == ev->len);
    check(ev->len == 0 || memcmp(back.data, ev->data, ev->len) == 0);
    ws_parser_free(&p);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned ctl = data[0];
    uint8_t *in = malloc(size);
    if (!in)
        return 0;
    memcpy(in, data + 1, size - 1);
    size_t n = size - 1;

    struct ws_parser p;
    ws_parser_init(&p, (ctl & 0x80) == 0, (ctl & 0x40) ? 200 : 0);
    size_t step = (ctl & 0x3f) + 1, off = 0, avail = 0;
    for (;;) {
        avail = avail + step > n - off ? n - off : avail + step;
        struct ws_event ev;
        size_t used = 0;
        uint16_t code = 0;
        int rc = ws_parse(&p, in + off, avail, &used, &ev, &code);
        check(used <= avail);
        off += used;
        avail -= used;
        if (rc == WS_FAIL) {
            check(code == WS_CLOSE_PROTOCOL || code == WS_CLOSE_BAD_DATA ||
                  code == WS_CLOSE_TOO_BIG);
            break;
        }
        if (rc == WS_GOT_EVENT) {
            if (ev.type == WS_EV_MESSAGE) {
                check(ev.len <= p.max_message);
                if (ev.opcode == WS_OP_TEXT) {
                    uint32_t st = 0;
                    check(ws_utf8_step(&st, ev.data, ev.len) && ws_utf8_complete(st));
                }
                if (p.server)
                    round_trip(&ev);
            } else {
                check(ev.len <= WS_MAX_CONTROL);
            }
            continue;
        }
        if (used == 0 && avail == n - off)
            break; /* all bytes offered, no frame complete */
    }
    ws_parser_free(&p);

    /* Handshake helpers on the raw input as a string. */
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = 0;
        char acc[29];
        (void)ws_accept_key(s, acc);
        (void)ws_header_has_token(s, "upgrade");
        const char *why;
        struct ws_handshake h = {s, s, s, s};
        (void)ws_handshake_check(&h, &why);
        free(s);
    }
    free(in);
    return 0;
}
