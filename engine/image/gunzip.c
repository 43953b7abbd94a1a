/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <isa-l/igzip_lib.h>

#include "image/gunzip.h"
#include "xalloc.h"

#define GUNZIP_IN (256 * 1024)

struct gunzip {
        struct inflate_state st;
        gunzip_read_fn *read;
        void *userdata;
        const unsigned char *prefix;
        size_t prefix_len;
        bool eof;  /* the source is exhausted */
        bool done; /* the last member ended and the rest was checked */
        uint64_t consumed;
        char error[128];
        unsigned char in[GUNZIP_IN];
};

struct gunzip *gunzip_new(gunzip_read_fn *read, void *userdata, const void *prefix,
                          size_t prefix_len) {
        struct gunzip *g = xnew0(struct gunzip, 1);

        g->read = read;
        g->userdata = userdata;
        g->prefix = prefix;
        g->prefix_len = prefix_len;
        isal_inflate_init(&g->st);
        g->st.crc_flag = ISAL_GZIP;
        return g;
}

struct gunzip *gunzip_free(struct gunzip *g) {
        free(g);
        return NULL;
}

void gunzip_freep(struct gunzip **g) {
        *g = gunzip_free(*g);
}

const char *gunzip_error(const struct gunzip *g) {
        return g->error[0] ? g->error : "no error";
}

uint64_t gunzip_consumed(const struct gunzip *g) {
        return g->consumed - g->st.avail_in;
}

static int fail(struct gunzip *g, int code, const char *what) {
        snprintf(g->error, sizeof(g->error), "%s", what);
        return -code;
}

/* Refills the input buffer when it is empty: 1 when bytes are there, 0 at EOF, or -errno. */
static int refill(struct gunzip *g) {
        ssize_t k;

        if (g->st.avail_in > 0)
                return 1;
        if (g->eof)
                return 0;
        if (g->prefix_len > 0) {
                size_t n = g->prefix_len < sizeof(g->in) ? g->prefix_len : sizeof(g->in);
                memcpy(g->in, g->prefix, n);
                g->prefix += n;
                g->prefix_len -= n;
                k = (ssize_t)n;
        } else {
                do
                        k = g->read(g->userdata, g->in, sizeof(g->in));
                while (k == -EINTR);
                if (k < 0)
                        return fail(g, (int)-k, "read error");
                if (k == 0) {
                        g->eof = true;
                        return 0;
                }
        }
        g->st.next_in = g->in;
        g->st.avail_in = (uint32_t)k;
        g->consumed += (uint64_t)k;
        return 1;
}

/* After a member: another member follows, or only zero padding up to EOF. */
static int next_member(struct gunzip *g) {
        for (;;) {
                int r = refill(g);
                if (r < 0)
                        return r;
                if (r == 0) {
                        g->done = true;
                        return 0;
                }
                if (g->st.next_in[0] == 0x1f) {
                        /* the header is parsed (and checked) by isal_inflate */
                        unsigned char *in = g->st.next_in;
                        uint32_t avail = g->st.avail_in;
                        isal_inflate_reset(&g->st);
                        g->st.crc_flag = ISAL_GZIP;
                        g->st.next_in = in;
                        g->st.avail_in = avail;
                        return 1;
                }
                while (g->st.avail_in > 0 && g->st.next_in[0] == 0) {
                        g->st.next_in++;
                        g->st.avail_in--;
                }
                if (g->st.avail_in > 0)
                        return fail(g, EBADMSG, "garbage after the end of the gzip stream");
        }
}

ssize_t gunzip_read(struct gunzip *g, void *buf, size_t n) {
        if (n > UINT32_MAX)
                n = UINT32_MAX;
        g->st.next_out = buf;
        g->st.avail_out = (uint32_t)n;
        while (g->st.avail_out == n && !g->done) {
                int r;

                if (g->st.block_state == ISAL_BLOCK_FINISH) {
                        r = next_member(g);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        continue;
                }
                r = refill(g);
                if (r < 0)
                        return r;
                if (r == 0)
                        return fail(g, EPIPE,
                                    g->consumed ? "truncated gzip stream" : "empty gzip stream");
                r = isal_inflate(&g->st);
                switch (r) {
                case ISAL_DECOMP_OK:
                case ISAL_END_INPUT:
                case ISAL_OUT_OVERFLOW:
                        break;
                case ISAL_INCORRECT_CHECKSUM:
                        return fail(g, EBADMSG, "gzip CRC or length mismatch");
                case ISAL_INVALID_WRAPPER:
                case ISAL_UNSUPPORTED_METHOD:
                        return fail(g, EBADMSG, "bad gzip header");
                default:
                        return fail(g, EBADMSG, "corrupt deflate data");
                }
        }
        return (ssize_t)(n - g->st.avail_out);
}
