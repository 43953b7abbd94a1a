/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Streaming gzip decoder on ISA-L's igzip (several times faster than zlib's inflate), for
 * layer blobs. Reads compressed bytes from a callback and yields decompressed bytes; handles
 * multi-member streams (pigz, concatenated gzip) and checks every member's CRC32 and length.
 * Bytes after the last member must be zeros (tar-style padding); anything else is an error. */

struct gunzip;

/* Reads up to n compressed bytes into buf: the count, 0 at the end, or a negative errno. */
typedef ssize_t gunzip_read_fn(void *userdata, void *buf, size_t n);

/* prefix (may be NULL): bytes already read from the source, consumed first. */
struct gunzip *gunzip_new(gunzip_read_fn *read, void *userdata, const void *prefix,
                          size_t prefix_len);
struct gunzip *gunzip_free(struct gunzip *g);
void gunzip_freep(struct gunzip **g);

/* Decompresses into buf (up to n bytes): the count, 0 at the end of the stream, or a negative
 * errno (-EBADMSG for corrupt data, -EPIPE for a truncated stream, or the read callback's
 * error); gunzip_error() then says what was wrong. */
ssize_t gunzip_read(struct gunzip *g, void *buf, size_t n);
const char *gunzip_error(const struct gunzip *g);
/* Compressed bytes consumed so far. */
uint64_t gunzip_consumed(const struct gunzip *g);

static inline int gunzip_magic(const unsigned char *m, size_t n) {
        return n >= 3 && m[0] == 0x1f && m[1] == 0x8b && m[2] == 8;
}
