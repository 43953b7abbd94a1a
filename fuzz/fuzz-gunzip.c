/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "image/gunzip.h"

/* Layer blobs are outside input: the streaming gzip decoder must reject anything malformed
 * with an error, never crash or loop, whatever the chunking of the input. The first byte picks
 * the size of the reads (1..256 bytes), the rest is the stream. */
struct src {
        const uint8_t *p;
        size_t len, off, chunk;
};

static ssize_t src_read(void *ud, void *buf, size_t n) {
        struct src *s = ud;
        size_t k = s->len - s->off;

        if (k > n)
                k = n;
        if (k > s->chunk)
                k = s->chunk;
        memcpy(buf, s->p + s->off, k);
        s->off += k;
        return (ssize_t)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char out[65536];
        struct src s;
        struct gunzip *g;
        uint64_t total = 0;

        if (size < 1 || size > (1 << 20))
                return 0;
        s = (struct src){.p = data + 1, .len = size - 1, .chunk = (size_t)data[0] + 1};
        g = gunzip_new(src_read, &s, NULL, 0);
        for (;;) {
                ssize_t k = gunzip_read(g, out, sizeof(out));
                if (k <= 0)
                        break;
                total += (uint64_t)k;
                if (total > (256u << 20)) /* a bomb: stop, the layer size limit is elsewhere */
                        break;
        }
        gunzip_free(g);
        return 0;
}
