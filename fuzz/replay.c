/*
 * replay.c — runs the fuzz target without libFuzzer, so `make test` exercises it
 * (under ASan/UBSan in the sanitizer build): any files given on the command line
 * (a corpus), then a fixed-seed series of inputs — random bytes, and valid
 * masked frames (text, binary, fragments, pings, closes) with random mutations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void valid_stream(struct buf *b)
{
    uint8_t mask[4] = {(uint8_t)next(), (uint8_t)next(), (uint8_t)next(), (uint8_t)next()};
    uint8_t ctl = (uint8_t)(next() & 0x7f); /* server parser */
    buf_append(b, &ctl, 1);
    int frames = 1 + (int)(next() % 6);
    for (int i = 0; i < frames; i++) {
        char payload[300];
        size_t len = next() % sizeof payload;
        for (size_t k = 0; k < len; k++)
            payload[k] = (char)(0x20 + next() % 0x5f);
        switch (next() % 5) {
        case 0: ws_encode(b, WS_OP_TEXT, payload, len, mask); break;
        case 1: ws_encode(b, WS_OP_BINARY, payload, len, mask); break;
        case 2: ws_encode(b, WS_OP_PING, payload, len % 126, mask); break;
        case 3: ws_encode_close(b, 1000, "bye", mask); break;
        default: {
            uint8_t h[WS_MAX_HEADER];
            size_t hl = ws_frame_header(h, WS_OP_TEXT, false, 0, mask);
            buf_append(b, h, hl);
            ws_encode(b, WS_OP_PING, "x", 1, mask);
            hl = ws_frame_header(h, WS_OP_CONT, true, 0, mask);
            buf_append(b, h, hl);
        }
        }
    }
    /* Mutate a few bytes. */
    int flips = (int)(next() % 4);
    for (int i = 0; i < flips && b->len > 1; i++)
        b->data[1 + next() % (b->len - 1)] ^= (char)(1u << (next() % 8));
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "cannot open %s\n", argv[i]);
            return 1;
        }
        uint8_t data[1 << 16];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, n);
    }
    for (int i = 0; i < 20000; i++) {
        struct buf b = BUF_INIT;
        if (i % 2) {
            size_t n = next() % 512;
            for (size_t k = 0; k < n; k++) {
                uint8_t c = (uint8_t)next();
                buf_append(&b, &c, 1);
            }
        } else {
            valid_stream(&b);
        }
        LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
        buf_free(&b);
    }
    printf("fuzz_ws_replay: 20000 inputs ok\n");
    return 0;
}
