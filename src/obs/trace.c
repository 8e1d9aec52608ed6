/* trace.c — W3C traceparent parsing and generation (see SPECS.md). */
#include "obs/trace.h"
#include "obs/rand.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void trace_random_hex(char *out, int nbytes)
{
    unsigned char b[32];
    if (nbytes > 32)
        nbytes = 32;
    do {
        rand_fast(b, (size_t)nbytes);
    } while (sodium_is_zero(b, (size_t)nbytes));
    sodium_bin2hex(out, (size_t)nbytes * 2 + 1, b, (size_t)nbytes);
}

static bool lower_hex(const char *s, int n, bool *all_zero)
{
    *all_zero = true;
    for (int i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            *all_zero = false;
    }
    return true;
}

void trace_from_header(const char *h, char out[TRACEPARENT_LEN + 1])
{
    char span[17];
    trace_random_hex(span, 8);
    bool z1, z2, z3;
    if (h && strlen(h) >= TRACEPARENT_LEN && h[2] == '-' && h[35] == '-' && h[52] == '-' &&
        lower_hex(h, 2, &z3) && strncmp(h, "ff", 2) != 0 && lower_hex(h + 3, 32, &z1) && !z1 &&
        lower_hex(h + 36, 16, &z2) && !z2 && lower_hex(h + 53, 2, &z3) &&
        (strlen(h) == TRACEPARENT_LEN || (h[0] != '0' || h[1] != '0' ? h[55] == '-' : false))) {
        snprintf(out, TRACEPARENT_LEN + 1, "00-%.32s-%s-%.2s", h + 3, span, h + 53);
        return;
    }
    char trace[33];
    trace_random_hex(trace, 16);
    snprintf(out, TRACEPARENT_LEN + 1, "00-%s-%s-01", trace, span);
}
