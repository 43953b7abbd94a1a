/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "cleanup.h"
#include "image/gunzip.h"
#include "tap.h"
#include "xalloc.h"

/* gzip of buf (zlib, level lvl) appended to *out */
static void gz_append(unsigned char **out, size_t *len, const void *buf, size_t n, int lvl) {
        z_stream z = {};
        size_t cap = deflateBound(&z, n) + 64;

        if (deflateInit2(&z, lvl, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                abort();
        cap = deflateBound(&z, n) + 64;
        *out = xrealloc(*out, *len + cap);
        z.next_in = (unsigned char *)buf;
        z.avail_in = (uInt)n;
        z.next_out = *out + *len;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
                abort();
        *len += cap - z.avail_out;
        deflateEnd(&z);
}

struct src {
        const unsigned char *p;
        size_t len, off, chunk; /* chunk: the most one read returns */
};

static ssize_t src_read(void *ud, void *buf, size_t n) {
        struct src *s = ud;
        size_t k = s->len - s->off;

        if (k > n)
                k = n;
        if (s->chunk && k > s->chunk)
                k = s->chunk;
        memcpy(buf, s->p + s->off, k);
        s->off += k;
        return (ssize_t)k;
}

/* Decompresses everything; returns the byte count or the negative error. */
static ssize_t gunzip_all(const unsigned char *in, size_t len, size_t chunk, size_t peek,
                          unsigned char **ret, const char **ret_err) {
        struct src s = {.p = in + peek, .len = len - peek, .chunk = chunk};
        _cleanup_(gunzip_freep) struct gunzip *g = gunzip_new(src_read, &s, in, peek);
        unsigned char *out = NULL;
        size_t n = 0;

        for (;;) {
                ssize_t k;
                out = xrealloc(out, n + 4096);
                k = gunzip_read(g, out + n, 4096);
                if (k < 0) {
                        static char why[160];
                        snprintf(why, sizeof(why), "%s", gunzip_error(g));
                        *ret_err = why;
                        free(out);
                        return k;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        *ret = out;
        return (ssize_t)n;
}

static unsigned char *pattern(size_t n, unsigned seed) {
        unsigned char *p = xmalloc(n);
        for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                /* half noise, half text-like runs, so both literals and matches occur */
                p[i] = (i / 4096) % 2 ? (unsigned char)(seed >> 16) : (unsigned char)('a' + i % 7);
        }
        return p;
}

static void test_roundtrip_chunked(void) {
        size_t n = 300000;
        _cleanup_free_ unsigned char *data = pattern(n, 1), *gz = NULL;
        size_t gzlen = 0;
        const size_t chunks[] = {0, 1, 7, 4096};

        gz_append(&gz, &gzlen, data, n, 6);
        for (size_t i = 0; i < ELEMENTSOF(chunks); i++) {
                _cleanup_free_ unsigned char *out = NULL;
                const char *why = NULL;
                ssize_t k = gunzip_all(gz, gzlen, chunks[i], i % 2 ? 3 : 0, &out, &why);
                ASSERT_EQ(k, (ssize_t)n);
                ASSERT_TRUE(memcmp(out, data, n) == 0);
        }
}

static void test_multi_member_and_padding(void) {
        _cleanup_free_ unsigned char *a = pattern(70000, 2), *b = pattern(5000, 3), *gz = NULL,
                                     *out = NULL;
        size_t gzlen = 0;
        const char *why = NULL;
        ssize_t k;

        gz_append(&gz, &gzlen, a, 70000, 1);
        gz_append(&gz, &gzlen, b, 5000, 9);
        gz_append(&gz, &gzlen, "", 0, 6); /* an empty member */
        gz = xrealloc(gz, gzlen + 1024);
        memset(gz + gzlen, 0, 1024); /* zero padding after the last member */
        gzlen += 1024;
        k = gunzip_all(gz, gzlen, 1000, 0, &out, &why);
        ASSERT_EQ(k, 75000);
        ASSERT_TRUE(memcmp(out, a, 70000) == 0);
        ASSERT_TRUE(memcmp(out + 70000, b, 5000) == 0);
}

static void test_bad_streams(void) {
        size_t n = 100000;
        _cleanup_free_ unsigned char *data = pattern(n, 4), *gz = NULL, *bad = NULL;
        size_t gzlen = 0;
        unsigned char *out = NULL;
        const char *why = NULL;

        gz_append(&gz, &gzlen, data, n, 6);
        bad = xmalloc(gzlen + 16);

        /* truncated anywhere: in the header, the data, the trailer */
        const size_t cuts[] = {0, 2, 9, 100, gzlen / 2, gzlen - 8, gzlen - 1};
        for (size_t i = 0; i < ELEMENTSOF(cuts); i++) {
                ASSERT_EQ(gunzip_all(gz, cuts[i], 0, 0, &out, &why), -EPIPE);
                ASSERT_TRUE(strstr(why, cuts[i] ? "truncated" : "empty") != NULL);
        }
        /* CRC and length in the trailer */
        memcpy(bad, gz, gzlen);
        bad[gzlen - 6] ^= 0x55;
        ASSERT_EQ(gunzip_all(bad, gzlen, 0, 0, &out, &why), -EBADMSG);
        ASSERT_TRUE(strstr(why, "CRC") != NULL);
        memcpy(bad, gz, gzlen);
        bad[gzlen - 2] ^= 0x01;
        ASSERT_EQ(gunzip_all(bad, gzlen, 0, 0, &out, &why), -EBADMSG);
        /* corrupt deflate data */
        memcpy(bad, gz, gzlen);
        for (size_t i = 20; i < 60; i++)
                bad[i] = 0xff;
        ASSERT_EQ(gunzip_all(bad, gzlen, 0, 0, &out, &why), -EBADMSG);
        /* a bad header: unknown compression method */
        memcpy(bad, gz, gzlen);
        bad[2] = 7;
        ASSERT_EQ(gunzip_all(bad, gzlen, 0, 0, &out, &why), -EBADMSG);
        /* garbage after the stream */
        memcpy(bad, gz, gzlen);
        memcpy(bad + gzlen, "\0\0garbage", 9);
        ASSERT_EQ(gunzip_all(bad, gzlen + 9, 0, 0, &out, &why), -EBADMSG);
        ASSERT_TRUE(strstr(why, "garbage") != NULL);
}

static ssize_t fail_read(void *ud, void *buf, size_t n) {
        (void)ud;
        (void)buf;
        (void)n;
        return -EIO;
}

static void test_read_error(void) {
        _cleanup_(gunzip_freep) struct gunzip *g = gunzip_new(fail_read, NULL, NULL, 0);
        char buf[64];

        ASSERT_EQ(gunzip_read(g, buf, sizeof(buf)), -EIO);
}

TAP_MAIN(test_roundtrip_chunked, test_multi_member_and_padding, test_bad_streams, test_read_error)
