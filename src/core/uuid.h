/* uuid.h — UUIDv7 text from a millisecond timestamp and 10 random bytes (pure). */
#ifndef TOCK_CORE_UUID_H
#define TOCK_CORE_UUID_H

#include <stdint.h>

/* Writes the 36-character lower-case form plus NUL into out[37]. */
void uuid7_format(int64_t ms, const uint8_t rnd[10], char out[37]);

#endif
