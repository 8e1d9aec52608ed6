/*
 * ws.c — RFC 6455 framing (see ws.h). Written from the RFC: section 4.2 (server
 * handshake), 5.2 (base framing), 5.4 (fragmentation), 5.5 (control frames),
 * 7.4 (close codes), 8.1 (UTF-8 handling).
 */
#include "http/ws.h"

#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- handshake ---- */

bool ws_header_has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    size_t tl = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == tl && strncasecmp(start, token, tl) == 0)
            return true;
    }
    return false;
}

static int decode_key(const char *key, unsigned char raw[16])
{
    if (!key)
        return -1;
    size_t n = strlen(key);
    if (n != 24) /* base64 of 16 bytes, padded */
        return -1;
    size_t bin_len = 0;
    unsigned char tmp[18];
    if (sodium_base642bin(tmp, sizeof tmp, key, n, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 16)
        return -1;
    memcpy(raw, tmp, 16);
    return 0;
}

int ws_accept_key(const char *key, char out[29])
{
    unsigned char raw[16];
    if (decode_key(key, raw))
        return -1;
    unsigned char cat[24 + sizeof WS_GUID];
    memcpy(cat, key, 24);
    memcpy(cat + 24, WS_GUID, sizeof WS_GUID - 1);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(cat, 24 + sizeof WS_GUID - 1, md);
    sodium_bin2base64(out, 29, md, sizeof md, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int ws_handshake_check(const struct ws_handshake *h, const char **why)
{
    if (!ws_header_has_token(h->upgrade, "websocket")) {
        *why = "this endpoint needs a WebSocket upgrade (Upgrade: websocket)";
        return 426;
    }
    if (!ws_header_has_token(h->connection, "upgrade")) {
        *why = "the Connection header must contain \"Upgrade\"";
        return 400;
    }
    if (!h->version || strcmp(h->version, "13") != 0) {
        *why = "unsupported Sec-WebSocket-Version (this server speaks 13)";
        return 426;
    }
    unsigned char raw[16];
    if (decode_key(h->key, raw)) {
        *why = "Sec-WebSocket-Key must be the base64 encoding of 16 bytes";
        return 400;
    }
    *why = "";
    return 0;
}

/* ---- UTF-8 ---- */

/*
 * State: bits 0-7 = continuation bytes still expected, 8-15 = lowest allowed
 * value of the next one, 16-23 = highest. The narrowed ranges after E0, ED, F0
 * and F4 reject overlong forms, surrogates and code points above U+10FFFF.
 */
static uint32_t utf8_state(unsigned need, unsigned lo, unsigned hi)
{
    return need | (lo << 8) | (hi << 16);
}

bool ws_utf8_step(uint32_t *state, const uint8_t *s, size_t n)
{
    uint32_t st = *state;
    for (size_t i = 0; i < n; i++) {
        unsigned b = s[i];
        unsigned need = st & 0xff;
        if (need == 0) {
            if (b < 0x80)
                continue;
            if (b >= 0xC2 && b <= 0xDF)
                st = utf8_state(1, 0x80, 0xBF);
            else if (b == 0xE0)
                st = utf8_state(2, 0xA0, 0xBF);
            else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
                st = utf8_state(2, 0x80, 0xBF);
            else if (b == 0xED)
                st = utf8_state(2, 0x80, 0x9F);
            else if (b == 0xF0)
                st = utf8_state(3, 0x90, 0xBF);
            else if (b >= 0xF1 && b <= 0xF3)
                st = utf8_state(3, 0x80, 0xBF);
            else if (b == 0xF4)
                st = utf8_state(3, 0x80, 0x8F);
            else
                return false;
        } else {
            unsigned lo = (st >> 8) & 0xff, hi = (st >> 16) & 0xff;
            if (b < lo || b > hi)
                return false;
            st = utf8_state(need - 1, 0x80, 0xBF);
        }
    }
    *state = st;
    return true;
}

bool ws_utf8_complete(uint32_t state)
{
    return (state & 0xff) == 0;
}

bool ws_close_code_valid(uint16_t code)
{
    if (code >= 1000 && code <= 1003)
        return true;
    if (code >= 1007 && code <= 1014)
        return true;
    return code >= 3000 && code <= 4999;
}

/* ---- parser ---- */

void ws_parser_init(struct ws_parser *p, bool server, size_t max_message)
{
    memset(p, 0, sizeof *p);
    p->server = server;
    p->max_message = max_message ? max_message : WS_MAX_MESSAGE_DEFAULT;
    p->max_frame = p->max_message;
    buf_init(&p->msg, p->max_message);
}

void ws_parser_free(struct ws_parser *p)
{
    buf_free(&p->msg);
    p->msg_opcode = 0;
}

static int fail(uint16_t *close_code, uint16_t code)
{
    *close_code = code;
    return WS_FAIL;
}

int ws_parse(struct ws_parser *p, uint8_t *in, size_t len, size_t *consumed,
             struct ws_event *ev, uint16_t *close_code)
{
    *consumed = 0;
    if (len < 2)
        return WS_NEED_MORE;
    bool fin = (in[0] & 0x80) != 0;
    int opcode = in[0] & 0x0f;
    bool masked = (in[1] & 0x80) != 0;
    uint64_t plen = in[1] & 0x7f;
    /* Header checks first: a bad frame fails before its payload is awaited. */
    if (in[0] & 0x70)
        return fail(close_code, WS_CLOSE_PROTOCOL); /* no extension negotiated */
    bool control = (opcode & 0x8) != 0;
    if (opcode != WS_OP_CONT && opcode != WS_OP_TEXT && opcode != WS_OP_BINARY &&
        opcode != WS_OP_CLOSE && opcode != WS_OP_PING && opcode != WS_OP_PONG)
        return fail(close_code, WS_CLOSE_PROTOCOL);
    if (masked != p->server)
        return fail(close_code, WS_CLOSE_PROTOCOL);
    if (control && (!fin || plen > WS_MAX_CONTROL))
        return fail(close_code, WS_CLOSE_PROTOCOL);
    if (opcode == WS_OP_CONT && !p->msg_opcode)
        return fail(close_code, WS_CLOSE_PROTOCOL);
    if ((opcode == WS_OP_TEXT || opcode == WS_OP_BINARY) && p->msg_opcode)
        return fail(close_code, WS_CLOSE_PROTOCOL);
    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return WS_NEED_MORE;
        plen = ((uint64_t)in[2] << 8) | in[3];
        if (plen < 126)
            return fail(close_code, WS_CLOSE_PROTOCOL); /* not minimal */
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return WS_NEED_MORE;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = (plen << 8) | in[2 + i];
        if (plen >> 63)
            return fail(close_code, WS_CLOSE_PROTOCOL);
        if (plen <= 0xffff)
            return fail(close_code, WS_CLOSE_PROTOCOL); /* not minimal */
        hlen = 10;
    }
    if (!control) {
        size_t have = opcode == WS_OP_CONT ? p->msg.len : 0;
        if (plen > p->max_frame || plen > p->max_message - have)
            return fail(close_code, WS_CLOSE_TOO_BIG);
    }
    size_t mask_at = hlen;
    if (masked)
        hlen += 4;
    if (len < hlen || len - hlen < plen)
        return WS_NEED_MORE;
    uint8_t *payload = in + hlen;
    if (masked) {
        const uint8_t *m = in + mask_at;
        for (size_t i = 0; i < plen; i++)
            payload[i] ^= m[i & 3];
    }
    size_t total = hlen + (size_t)plen;
    memset(ev, 0, sizeof *ev);

    if (control) {
        ev->data = payload;
        ev->len = (size_t)plen;
        if (opcode == WS_OP_PING) {
            ev->type = WS_EV_PING;
        } else if (opcode == WS_OP_PONG) {
            ev->type = WS_EV_PONG;
        } else {
            ev->type = WS_EV_CLOSE;
            if (plen == 1)
                return fail(close_code, WS_CLOSE_PROTOCOL);
            if (plen == 0) {
                ev->close_code = WS_CLOSE_NO_STATUS;
            } else {
                ev->close_code = (uint16_t)((payload[0] << 8) | payload[1]);
                if (!ws_close_code_valid(ev->close_code))
                    return fail(close_code, WS_CLOSE_PROTOCOL);
                uint32_t st = 0;
                if (!ws_utf8_step(&st, payload + 2, (size_t)plen - 2) || !ws_utf8_complete(st))
                    return fail(close_code, WS_CLOSE_BAD_DATA);
                ev->data = payload + 2;
                ev->len = (size_t)plen - 2;
            }
        }
        *consumed = total;
        return WS_GOT_EVENT;
    }

    /* A data frame: the first, a middle or the last fragment of a message. */
    if (opcode != WS_OP_CONT) {
        p->msg_opcode = opcode;
        p->utf8 = 0;
        buf_reset(&p->msg);
    }
    if (p->msg_opcode == WS_OP_TEXT && !ws_utf8_step(&p->utf8, payload, (size_t)plen))
        return fail(close_code, WS_CLOSE_BAD_DATA);
    if (buf_append(&p->msg, payload, (size_t)plen) != 0)
        return fail(close_code, WS_CLOSE_TOO_BIG);
    *consumed = total;
    if (!fin)
        return WS_NEED_MORE;
    if (p->msg_opcode == WS_OP_TEXT && !ws_utf8_complete(p->utf8))
        return fail(close_code, WS_CLOSE_BAD_DATA);
    ev->type = WS_EV_MESSAGE;
    ev->opcode = p->msg_opcode;
    ev->data = (const uint8_t *)p->msg.data;
    ev->len = p->msg.len;
    p->msg_opcode = 0; /* msg stays readable until the next call */
    return WS_GOT_EVENT;
}

/* ---- encoder ---- */

size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], int opcode, bool fin, uint64_t len,
                       const uint8_t *mask)
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    uint8_t mbit = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(mbit | len);
    } else if (len <= 0xffff) {
        out[n++] = (uint8_t)(mbit | 126);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(mbit | 127);
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

int ws_encode(struct buf *out, int opcode, const void *data, size_t len, const uint8_t *mask)
{
    uint8_t h[WS_MAX_HEADER];
    size_t hl = ws_frame_header(h, opcode, true, len, mask);
    size_t start = out->len;
    if (buf_append(out, h, hl) || (len && buf_append(out, data, len)))
        return TOCK_ENOMEM;
    if (mask) {
        uint8_t *p = (uint8_t *)out->data + start + hl;
        for (size_t i = 0; i < len; i++)
            p[i] ^= mask[i & 3];
    }
    return 0;
}

int ws_encode_close(struct buf *out, uint16_t code, const char *reason, const uint8_t *mask)
{
    uint8_t payload[WS_MAX_CONTROL];
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_MAX_CONTROL - 2) {
        n = WS_MAX_CONTROL - 2;
        /* Do not cut a UTF-8 sequence: back up to a lead or ASCII byte. */
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(payload + 2, reason, n);
    return ws_encode(out, WS_OP_CLOSE, payload, n + 2, mask);
}
