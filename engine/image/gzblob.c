/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "cleanup.h"
#include "image/gzblob.h"
#include "xalloc.h"

/* Level 6 is zlib's default and what docker and containerd push with. */
#define GZ_LEVEL 6
#define GZ_OUT 65536

struct gz_blob {
        struct blob_writer *w;
        z_stream z;
        gz_header header; /* zlib keeps a pointer to it until the header is written */
        bool z_ready;
        EVP_MD_CTX *md; /* of the uncompressed bytes */
        uint64_t in_size;
        unsigned char out[GZ_OUT];
};

struct gz_blob *gz_blob_free(struct gz_blob *g) {
        if (!g)
                return NULL;
        if (g->z_ready)
                deflateEnd(&g->z);
        if (g->md)
                EVP_MD_CTX_free(g->md);
        blob_writer_free(g->w);
        free(g);
        return NULL;
}

void gz_blob_freep(struct gz_blob **g) {
        *g = gz_blob_free(*g);
}

int gz_blob_open(struct image_store *s, struct gz_blob **ret, struct err **errp) {
        _cleanup_(gz_blob_freep) struct gz_blob *g = xnew0(struct gz_blob, 1);
        int r;

        r = blob_writer_open(s, NULL, -1, &g->w, errp);
        if (r < 0)
                return r;
        /* 15 + 16: a gzip wrapper; the header set below has no name and mtime 0 */
        if (deflateInit2(&g->z, GZ_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return err_setx(errp, ENOMEM, "initialise gzip");
        g->z_ready = true;
        g->header.os = 3; /* unix */
        if (deflateSetHeader(&g->z, &g->header) != Z_OK)
                return err_setx(errp, EINVAL, "gzip header");
        g->md = EVP_MD_CTX_new();
        if (!g->md || !EVP_DigestInit_ex(g->md, EVP_sha256(), NULL))
                oom();
        *ret = TAKE_PTR(g);
        return 0;
}

/* Runs deflate with `flush` until it needs more input (or, for Z_FINISH, until the end). */
static int gz_pump(struct gz_blob *g, int flush, struct err **errp) {
        for (;;) {
                int z, r;
                size_t have;

                g->z.next_out = g->out;
                g->z.avail_out = sizeof(g->out);
                z = deflate(&g->z, flush);
                if (z == Z_STREAM_ERROR)
                        return err_setx(errp, EIO, "gzip: %s", g->z.msg ? g->z.msg : "error");
                have = sizeof(g->out) - g->z.avail_out;
                if (have > 0) {
                        r = blob_writer_write(g->w, g->out, have, errp);
                        if (r < 0)
                                return r;
                }
                if (flush == Z_FINISH ? z == Z_STREAM_END
                                      : g->z.avail_out != 0 && g->z.avail_in == 0)
                        return 0;
        }
}

int gz_blob_write(struct gz_blob *g, const void *buf, size_t n, struct err **errp) {
        const unsigned char *p = buf;

        if (!EVP_DigestUpdate(g->md, buf, n))
                oom();
        g->in_size += n;
        /* avail_in is a uInt: feed large buffers in slices */
        while (n > 0) {
                size_t k = n > (1u << 30) ? (1u << 30) : n;
                int r;

                g->z.next_in = (unsigned char *)p;
                g->z.avail_in = (uInt)k;
                r = gz_pump(g, Z_NO_FLUSH, errp);
                if (r < 0)
                        return r;
                p += k;
                n -= k;
        }
        return 0;
}

int gz_blob_commit(struct gz_blob *g, char **ret_digest, char **ret_diff_id,
                   uint64_t *ret_uncompressed_size, struct err **errp) {
        _cleanup_free_ char *digest = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        int r;

        g->z.next_in = NULL;
        g->z.avail_in = 0;
        r = gz_pump(g, Z_FINISH, errp);
        if (r < 0)
                return r;
        if (!EVP_DigestFinal_ex(g->md, md, &mdlen))
                oom();
        r = blob_writer_commit(g->w, &digest, errp);
        if (r < 0)
                return r;
        if (ret_diff_id) {
                char *s = xmalloc(7 + 2 * mdlen + 1);
                memcpy(s, "sha256:", 7);
                for (unsigned i = 0; i < mdlen; i++)
                        snprintf(s + 7 + 2 * i, 3, "%02x", md[i]);
                *ret_diff_id = s;
        }
        if (ret_uncompressed_size)
                *ret_uncompressed_size = g->in_size;
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        return 0;
}

bool layer_magic_compressed(const unsigned char *m, size_t n) {
        if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
                return true; /* gzip */
        if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                return true; /* zstd */
        if (n >= 6 && memcmp(m,
                             "\xfd"
                             "7zXZ\0",
                             6) == 0)
                return true; /* xz */
        if (n >= 3 && memcmp(m, "BZh", 3) == 0)
                return true; /* bzip2 */
        return false;
}
