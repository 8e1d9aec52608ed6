/*
 * test_ws.c — RFC 6455 framing: the RFC's own examples (sample key -> accept,
 * section 5.7 frames), handshake checks, every protocol error the parser must
 * detect (reserved bits, unknown opcodes, masking, non-minimal lengths, control
 * frame rules, fragmentation order, size limits, close codes, UTF-8 incl. a
 * sequence split across fragments), incremental feeding byte by byte, and the
 * encoder round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Feeds the whole buffer; returns the result of the last call. */
static int parse_all(struct ws_parser *p, uint8_t *in, size_t len, size_t *used,
                     struct ws_event *ev, uint16_t *code)
{
    size_t off = 0;
    for (;;) {
        size_t c = 0;
        int rc = ws_parse(p, in + off, len - off, &c, ev, code);
        off += c;
        if (rc != WS_NEED_MORE || c == 0) {
            *used = off;
            return rc;
        }
    }
}

static void test_rfc_accept_key(void **state)
{
    (void)state;
    char out[29];
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ws_accept_key("short", out), -1);
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -1);    /* unpadded */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", out), -1);  /* bad char */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZXg=", out), -1);  /* 17 bytes */
    assert_int_equal(ws_accept_key(NULL, out), -1);
}

static void test_handshake(void **state)
{
    (void)state;
    const char *why;
    struct ws_handshake ok = {"websocket", "keep-alive, Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13"};
    assert_int_equal(ws_handshake_check(&ok, &why), 0);
    struct ws_handshake h = ok;
    h.upgrade = NULL;
    assert_int_equal(ws_handshake_check(&h, &why), 426);
    h = ok;
    h.upgrade = "WebSocket";
    assert_int_equal(ws_handshake_check(&h, &why), 0);
    h = ok;
    h.connection = "keep-alive";
    assert_int_equal(ws_handshake_check(&h, &why), 400);
    h = ok;
    h.version = "8";
    assert_int_equal(ws_handshake_check(&h, &why), 426);
    h = ok;
    h.version = NULL;
    assert_int_equal(ws_handshake_check(&h, &why), 426);
    h = ok;
    h.key = "AAAA";
    assert_int_equal(ws_handshake_check(&h, &why), 400);
    h = ok;
    h.key = NULL;
    assert_int_equal(ws_handshake_check(&h, &why), 400);
    assert_true(ws_header_has_token(" a , upgrade ,b", "Upgrade"));
    assert_false(ws_header_has_token("upgraded", "upgrade"));
    assert_false(ws_header_has_token("", "upgrade"));
}

/* RFC 5.7: a single-frame unmasked text message (client side parses it). */
static void test_rfc_unmasked_text(void **state)
{
    (void)state;
    uint8_t f[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct ws_parser p;
    ws_parser_init(&p, false, 0);
    struct ws_event ev;
    size_t used;
    uint16_t code = 0;
    assert_int_equal(ws_parse(&p, f, sizeof f, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(used, sizeof f);
    assert_int_equal(ev.type, WS_EV_MESSAGE);
    assert_int_equal(ev.opcode, WS_OP_TEXT);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    /* The server side rejects an unmasked frame. */
    uint8_t g[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct ws_parser s;
    ws_parser_init(&s, true, 0);
    assert_int_equal(ws_parse(&s, g, sizeof g, &used, &ev, &code), WS_FAIL);
    assert_int_equal(code, WS_CLOSE_PROTOCOL);
    ws_parser_free(&p);
    ws_parser_free(&s);
}

/* RFC 5.7: a single-frame masked text message, fed one byte at a time. */
static void test_rfc_masked_text_bytewise(void **state)
{
    (void)state;
    uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_parser p;
    ws_parser_init(&p, true, 0);
    struct ws_event ev;
    size_t used;
    uint16_t code = 0;
    for (size_t n = 0; n < sizeof f; n++) {
        assert_int_equal(ws_parse(&p, f, n, &used, &ev, &code), WS_NEED_MORE);
        assert_int_equal(used, 0);
    }
    assert_int_equal(ws_parse(&p, f, sizeof f, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(used, sizeof f);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    /* A client must not accept a masked frame from a server. */
    uint8_t g[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_parser c;
    ws_parser_init(&c, false, 0);
    assert_int_equal(ws_parse(&c, g, sizeof g, &used, &ev, &code), WS_FAIL);
    ws_parser_free(&p);
    ws_parser_free(&c);
}

/* RFC 5.7: a fragmented unmasked text message "Hel" + "lo", with a ping between. */
static void test_rfc_fragments_with_ping(void **state)
{
    (void)state;
    uint8_t f[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x89, 0x05, 0x48, 0x65, 0x6c,
                   0x6c, 0x6f, 0x80, 0x02, 0x6c, 0x6f};
    struct ws_parser p;
    ws_parser_init(&p, false, 0);
    struct ws_event ev;
    size_t used, off = 0;
    uint16_t code = 0;
    assert_int_equal(ws_parse(&p, f, sizeof f, &used, &ev, &code), WS_NEED_MORE);
    assert_int_equal(used, 5);
    off += used;
    assert_int_equal(ws_parse(&p, f + off, sizeof f - off, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(ev.type, WS_EV_PING);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    off += used;
    assert_int_equal(ws_parse(&p, f + off, sizeof f - off, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(ev.type, WS_EV_MESSAGE);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    assert_int_equal(off + used, sizeof f);
    ws_parser_free(&p);
}

/* RFC 5.7: masked pong; 256-byte and 64 KiB binary headers (16/64-bit lengths). */
static void test_rfc_pong_and_lengths(void **state)
{
    (void)state;
    uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_parser p;
    ws_parser_init(&p, true, 70000);
    struct ws_event ev;
    size_t used;
    uint16_t code = 0;
    assert_int_equal(ws_parse(&p, pong, sizeof pong, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(ev.type, WS_EV_PONG);
    assert_memory_equal(ev.data, "Hello", 5);

    uint8_t h[WS_MAX_HEADER];
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 256, NULL), 4);
    assert_int_equal(h[0], 0x82);
    assert_int_equal(h[1], 0x7e);
    assert_int_equal(h[2], 0x01);
    assert_int_equal(h[3], 0x00);
    assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 65536, NULL), 10);
    assert_int_equal(h[1], 0x7f);
    const uint8_t len64[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    assert_memory_equal(h + 2, len64, 8);

    for (size_t n = 0; n < 3; n++) {
        size_t sizes[] = {125, 256, 65536};
        uint8_t *payload = malloc(sizes[n]);
        for (size_t i = 0; i < sizes[n]; i++)
            payload[i] = (uint8_t)i;
        struct buf b = BUF_INIT;
        assert_int_equal(ws_encode(&b, WS_OP_BINARY, payload, sizes[n], MASK), 0);
        assert_int_equal(ws_parse(&p, (uint8_t *)b.data, b.len, &used, &ev, &code), WS_GOT_EVENT);
        assert_int_equal(used, b.len);
        assert_int_equal(ev.opcode, WS_OP_BINARY);
        assert_int_equal(ev.len, sizes[n]);
        assert_memory_equal(ev.data, payload, sizes[n]);
        buf_free(&b);
        free(payload);
    }
    ws_parser_free(&p);
}

static void expect_fail(const uint8_t *frame, size_t n, bool server, uint16_t want)
{
    uint8_t *copy = malloc(n);
    memcpy(copy, frame, n);
    struct ws_parser p;
    ws_parser_init(&p, server, 0);
    struct ws_event ev;
    size_t used;
    uint16_t code = 0;
    assert_int_equal(parse_all(&p, copy, n, &used, &ev, &code), WS_FAIL);
    assert_int_equal(code, want);
    ws_parser_free(&p);
    free(copy);
}

static void test_protocol_errors(void **state)
{
    (void)state;
    /* Reserved bits. */
    expect_fail((const uint8_t[]){0xC1, 0x80, 1, 2, 3, 4}, 6, true, WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x91, 0x80, 1, 2, 3, 4}, 6, true, WS_CLOSE_PROTOCOL);
    /* Unknown opcodes (3 and 11). */
    expect_fail((const uint8_t[]){0x83, 0x80, 1, 2, 3, 4}, 6, true, WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x8B, 0x80, 1, 2, 3, 4}, 6, true, WS_CLOSE_PROTOCOL);
    /* Fragmented control frame; control frame over 125 bytes. */
    expect_fail((const uint8_t[]){0x09, 0x80, 1, 2, 3, 4}, 6, true, WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x89, 0xFE, 0x00, 0x7E}, 4, true, WS_CLOSE_PROTOCOL);
    /* Continuation without a start; a new message while one is in progress. */
    expect_fail((const uint8_t[]){0x80, 0x80, 1, 2, 3, 4}, 6, true, WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x01, 0x80, 1, 2, 3, 4, 0x81, 0x80, 1, 2, 3, 4}, 12, true,
                WS_CLOSE_PROTOCOL);
    /* Non-minimal lengths: 16-bit for 5, 64-bit for 200; top bit of 64-bit set. */
    expect_fail((const uint8_t[]){0x82, 0xFE, 0x00, 0x05}, 4, true, WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 200}, 10, true,
                WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, true,
                WS_CLOSE_PROTOCOL);
    /* Too big: rejected from the header alone (no payload present). */
    expect_fail((const uint8_t[]){0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0, 1}, 10, true,
                WS_CLOSE_TOO_BIG);
    /* Close with a 1-byte payload; reserved / unassigned close codes. */
    expect_fail((const uint8_t[]){0x88, 0x81, 0, 0, 0, 0, 0x03}, 7, true, WS_CLOSE_PROTOCOL);
    expect_fail((const uint8_t[]){0x88, 0x82, 0, 0, 0, 0, 0x03, 0xED}, 8, true,
                WS_CLOSE_PROTOCOL); /* 1005 */
    expect_fail((const uint8_t[]){0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE7}, 8, true,
                WS_CLOSE_PROTOCOL); /* 999 */
    expect_fail((const uint8_t[]){0x88, 0x82, 0, 0, 0, 0, 0x13, 0x88}, 8, true,
                WS_CLOSE_PROTOCOL); /* 5000 */
    /* Close reason that is not UTF-8. */
    expect_fail((const uint8_t[]){0x88, 0x83, 0, 0, 0, 0, 0x03, 0xE8, 0xFF}, 9, true,
                WS_CLOSE_BAD_DATA);
    /* Text that is not UTF-8: an overlong '/', a surrogate, a code point > U+10FFFF. */
    expect_fail((const uint8_t[]){0x81, 0x82, 0, 0, 0, 0, 0xC0, 0xAF}, 8, true, WS_CLOSE_BAD_DATA);
    expect_fail((const uint8_t[]){0x81, 0x83, 0, 0, 0, 0, 0xED, 0xA0, 0x80}, 9, true,
                WS_CLOSE_BAD_DATA);
    expect_fail((const uint8_t[]){0x81, 0x84, 0, 0, 0, 0, 0xF4, 0x90, 0x80, 0x80}, 10, true,
                WS_CLOSE_BAD_DATA);
    /* A text message ending inside a sequence. */
    expect_fail((const uint8_t[]){0x81, 0x82, 0, 0, 0, 0, 0xE2, 0x82}, 8, true, WS_CLOSE_BAD_DATA);
    /* Binary is not UTF-8 checked. */
    uint8_t bin[] = {0x82, 0x82, 0, 0, 0, 0, 0xC0, 0xAF};
    struct ws_parser p;
    ws_parser_init(&p, true, 0);
    struct ws_event ev;
    size_t used;
    uint16_t code;
    assert_int_equal(ws_parse(&p, bin, sizeof bin, &used, &ev, &code), WS_GOT_EVENT);
    ws_parser_free(&p);
}

/* "€" (E2 82 AC) split across two fragments is valid; an invalid byte fails on its fragment. */
static void test_utf8_across_fragments(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    uint8_t h[WS_MAX_HEADER];
    size_t hl = ws_frame_header(h, WS_OP_TEXT, false, 2, MASK);
    buf_append(&b, h, hl);
    uint8_t a[] = {0xE2 ^ MASK[0], 0x82 ^ MASK[1]};
    buf_append(&b, a, 2);
    hl = ws_frame_header(h, WS_OP_CONT, true, 1, MASK);
    buf_append(&b, h, hl);
    uint8_t c[] = {0xAC ^ MASK[0]};
    buf_append(&b, c, 1);
    struct ws_parser p;
    ws_parser_init(&p, true, 0);
    struct ws_event ev;
    size_t used;
    uint16_t code;
    assert_int_equal(parse_all(&p, (uint8_t *)b.data, b.len, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(ev.len, 3);
    assert_memory_equal(ev.data, "\xE2\x82\xAC", 3);
    ws_parser_free(&p);
    buf_free(&b);

    /* The first fragment alone already fails when its bytes cannot start anything valid. */
    uint8_t bad[] = {0x01, 0x82, 0, 0, 0, 0, 0xE2, 0x41};
    expect_fail(bad, sizeof bad, true, WS_CLOSE_BAD_DATA);

    uint32_t st = 0;
    assert_true(ws_utf8_step(&st, (const uint8_t *)"a\xF0\x9F", 3));
    assert_false(ws_utf8_complete(st));
    assert_true(ws_utf8_step(&st, (const uint8_t *)"\x98\x80", 2));
    assert_true(ws_utf8_complete(st));
    st = 0;
    assert_false(ws_utf8_step(&st, (const uint8_t *)"\xE0\x80\x80", 3)); /* overlong */
    st = 0;
    assert_false(ws_utf8_step(&st, (const uint8_t *)"\xF5", 1));
    st = 0;
    assert_false(ws_utf8_step(&st, (const uint8_t *)"\x80", 1));
}

/* The message limit counts all fragments; a frame at the limit is fine. */
static void test_message_limit(void **state)
{
    (void)state;
    struct ws_parser p;
    ws_parser_init(&p, true, 100);
    uint8_t payload[100];
    memset(payload, 'x', sizeof payload);
    struct buf b = BUF_INIT;
    ws_encode(&b, WS_OP_TEXT, payload, 100, MASK);
    struct ws_event ev;
    size_t used;
    uint16_t code;
    assert_int_equal(ws_parse(&p, (uint8_t *)b.data, b.len, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(ev.len, 100);
    buf_reset(&b);
    uint8_t h[WS_MAX_HEADER];
    size_t hl = ws_frame_header(h, WS_OP_BINARY, false, 60, MASK);
    buf_append(&b, h, hl);
    buf_append(&b, payload, 60);
    hl = ws_frame_header(h, WS_OP_CONT, true, 60, MASK);
    buf_append(&b, h, hl);
    buf_append(&b, payload, 60);
    assert_int_equal(parse_all(&p, (uint8_t *)b.data, b.len, &used, &ev, &code), WS_FAIL);
    assert_int_equal(code, WS_CLOSE_TOO_BIG);
    buf_free(&b);
    ws_parser_free(&p);
}

static void test_close_frames(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(ws_encode_close(&b, 1000, "bye", MASK), 0);
    assert_int_equal(ws_encode(&b, WS_OP_CLOSE, NULL, 0, MASK), 0);
    struct ws_parser p;
    ws_parser_init(&p, true, 0);
    struct ws_event ev;
    size_t used;
    uint16_t code;
    assert_int_equal(ws_parse(&p, (uint8_t *)b.data, b.len, &used, &ev, &code), WS_GOT_EVENT);
    assert_int_equal(ev.type, WS_EV_CLOSE);
    assert_int_equal(ev.close_code, 1000);
    assert_int_equal(ev.len, 3);
    assert_memory_equal(ev.data, "bye", 3);
    assert_int_equal(ws_parse(&p, (uint8_t *)b.data + used, b.len - used, &used, &ev, &code),
                     WS_GOT_EVENT);
    assert_int_equal(ev.close_code, WS_CLOSE_NO_STATUS);
    buf_free(&b);
    /* A long reason is cut to 123 bytes without splitting a character. */
    char reason[200];
    memset(reason, 0, sizeof reason);
    for (int i = 0; i < 70; i++)
        memcpy(reason + 2 * i, "\xC3\xA9", 2);
    struct buf c = BUF_INIT;
    assert_int_equal(ws_encode_close(&c, 1008, reason, NULL), 0);
    assert_int_equal(c.len, 2 + 2 + 122);
    memset(reason, 'a', sizeof reason - 1);
    assert_int_equal(ws_encode_close(&c, 1008, reason, NULL), 0);
    assert_int_equal(c.len, 126 + 2 + 125);
    buf_free(&c);
    assert_true(ws_close_code_valid(1000));
    assert_true(ws_close_code_valid(1013));
    assert_true(ws_close_code_valid(4999));
    assert_false(ws_close_code_valid(1004));
    assert_false(ws_close_code_valid(1006));
    assert_false(ws_close_code_valid(1015));
    assert_false(ws_close_code_valid(2999));
    ws_parser_free(&p);
}

/* Encoded frames parse back unchanged, also when fed in random-size chunks. */
static void test_round_trip_chunks(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    const char *msgs[] = {"", "a", "{\"type\":\"ping\"}", "h\xC3\xA9llo"};
    for (size_t i = 0; i < 4; i++)
        ws_encode(&b, WS_OP_TEXT, msgs[i], strlen(msgs[i]), MASK);
    ws_encode(&b, WS_OP_PING, "p", 1, MASK);
    struct ws_parser p;
    ws_parser_init(&p, true, 0);
    srand(7);
    size_t avail = 0, off = 0, got = 0;
    while (off < b.len) {
        avail += (size_t)(rand() % 5);
        if (off + avail > b.len)
            avail = b.len - off;
        struct ws_event ev;
        size_t used;
        uint16_t code;
        int rc = ws_parse(&p, (uint8_t *)b.data + off, avail, &used, &ev, &code);
        assert_int_not_equal(rc, WS_FAIL);
        off += used;
        avail -= used;
        if (rc == WS_GOT_EVENT) {
            if (got < 4) {
                assert_int_equal(ev.type, WS_EV_MESSAGE);
                assert_int_equal(ev.len, strlen(msgs[got]));
                assert_memory_equal(ev.data, msgs[got], ev.len);
            } else {
                assert_int_equal(ev.type, WS_EV_PING);
            }
            got++;
        }
    }
    assert_int_equal(got, 5);
    ws_parser_free(&p);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_accept_key),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_rfc_unmasked_text),
        cmocka_unit_test(test_rfc_masked_text_bytewise),
        cmocka_unit_test(test_rfc_fragments_with_ping),
        cmocka_unit_test(test_rfc_pong_and_lengths),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_utf8_across_fragments),
        cmocka_unit_test(test_message_limit),
        cmocka_unit_test(test_close_frames),
        cmocka_unit_test(test_round_trip_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
