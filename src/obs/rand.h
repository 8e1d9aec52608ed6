/*
 * rand.h — fast random bytes for ids (event UUIDs, trace and request ids). Each
 * thread keeps a pool refilled from libsodium's CSPRNG (the kernel's getrandom),
 * so a request costs no random syscalls. Not for keys or tokens: those call
 * randombytes_buf directly.
 */
#ifndef TOCK_OBS_RAND_H
#define TOCK_OBS_RAND_H

#include <stddef.h>

void rand_fast(void *out, size_t n);

#endif
