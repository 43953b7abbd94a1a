/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "image/errwrap.h"
#include "fileio.h"
#include "image/ref.h"
#include "image/store.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

struct image_store {
        char *dir; /* <root>/images */
};

struct blob_writer {
        struct image_store *store;
        char *tmp_path;
        char *expected;
        int64_t expected_size;
        uint64_t size;
        int fd;
        EVP_MD_CTX *md;
};

static char *hex_digest(const unsigned char *md, unsigned n) {
        char *s = xmalloc(7 + 2 * n + 1);

        memcpy(s, "sha256:", 7);
        for (unsigned i = 0; i < n; i++)
                sprintf(s + 7 + 2 * i, "%02x", md[i]);
        return s;
}

char *digest_of(const void *buf, size_t n) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        if (!EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL))
                oom();
        return hex_digest(md, mdlen);
}

char **chain_ids_compute(char *const *diff_ids) {
        _cleanup_strv_ char **out = NULL;

        STRV_FOREACH (d, diff_ids) {
                if (!out)
                        strv_push(&out, *d);
                else {
                        _cleanup_free_ char *s = xasprintf("%s %s", out[strv_length(out) - 1], *d);
                        strv_push_take(&out, digest_of(s, strlen(s)));
                }
        }
        if (!out)
                out = xnew0(char *, 1);
        return TAKE_PTR(out);
}

const char *image_store_dir(const struct image_store *s) {
        return s->dir;
}

static const char *digest_hex(const char *digest) {
        const char *c = strchr(digest, ':');
        return c ? c + 1 : digest;
}

char *image_store_blob_path(const struct image_store *s, const char *digest) {
        return xasprintf("%s/blobs/sha256/%s", s->dir, digest_hex(digest));
}

char *image_store_layer_dir(const struct image_store *s, const char *chain_id) {
        return xasprintf("%s/layers/%s", s->dir, digest_hex(chain_id));
}

bool image_store_has_blob(const struct image_store *s, const char *digest) {
        _cleanup_free_ char *p = NULL;

        if (digest_validate(digest, NULL) < 0)
                return false;
        p = image_store_blob_path(s, digest);
        return access(p, F_OK) == 0;
}

bool image_store_has_layer(const struct image_store *s, const char *chain_id) {
        _cleanup_free_ char *p = NULL, *d = NULL;

        if (digest_validate(chain_id, NULL) < 0)
                return false;
        p = image_store_layer_dir(s, chain_id);
        d = xasprintf("%s/diff", p);
        return access(d, F_OK) == 0;
}

static int lock_file(struct image_store *s, const char *name, int op, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/%s", s->dir, name);
        _cleanup_close_ int fd = -EBADF;

        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_set(errp, errno, "open lock '%s'", p);
        if (RETRY_EINTR(flock(fd, op)) < 0)
                return err_set(errp, errno, "lock '%s'", p);
        return TAKE_FD(fd);
}

int image_store_hold(struct image_store *s, struct err **errp) {
        return lock_file(s, "gc.lock", LOCK_SH, errp);
}

struct image_store *image_store_free(struct image_store *s) {
        if (!s)
                return NULL;
        free(s->dir);
        free(s);
        return NULL;
}

void image_store_freep(struct image_store **s) {
        *s = image_store_free(*s);
}

/* Marks tmp/ as the top of a directory hierarchy (chattr +T): ext4's Orlov allocator then
 * spreads the stage directories that layers are unpacked into over the block groups instead of
 * packing them next to their parent. Without it every pull creates its files in the group that
 * the previous pull's just-deleted files freed, and ext4 (without a journal) skips each
 * recently deleted inode by reading its inode table block, for every file created: a quadratic
 * cost that took a third of the CPU time of a pull after an rmi. A hint only: file systems
 * without the flag ignore or refuse it, and nothing depends on it. */
static void tmp_topdir_hint(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int flags = 0;

        if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL))
                return;
        flags |= FS_TOPDIR_FL;
        (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

int image_store_open(const char *root, struct image_store **ret, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        static const char *const subdirs[] = {"blobs/sha256", "layers", "tmp"};
        _cleanup_close_ int gc = -EBADF;
        int r;

        s = xnew0(struct image_store, 1);
        s->dir = xasprintf("%s/images", root);
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", s->dir, subdirs[i]);
                r = mkdir_p(p, 0700, errp);
                if (r < 0)
                        return err_wrap_r(r, errp, "open image store '%s'", root);
                if (streq(subdirs[i], "tmp"))
                        tmp_topdir_hint(p);
        }

        /* Leftovers of interrupted operations: only when nobody is adding content. */
        gc = lock_file(s, "gc.lock", LOCK_EX | LOCK_NB, NULL);
        if (gc >= 0) {
                _cleanup_free_ char *tmp = xasprintf("%s/tmp", s->dir);
                _cleanup_closedir_ DIR *d = opendir(tmp);
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        _cleanup_free_ char *p = xasprintf("%s/%s", tmp, de->d_name);
                        r = rm_rf(p, errp);
                        if (r < 0)
                                return err_wrap_r(r, errp, "remove stale temp file");
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int image_store_sync(struct image_store *s, struct err **errp) {
        _cleanup_close_ int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return err_set(errp, errno, "open '%s'", s->dir);
        if (syncfs(fd) < 0)
                return err_set(errp, errno, "sync the file system of '%s'", s->dir);
        return 0;
}

int image_store_sync_dirs(struct image_store *s, struct err **errp) {
        static const char *const dirs[] = {"blobs/sha256", "layers"};

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", s->dir, dirs[i]);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (fd < 0)
                        return err_set(errp, errno, "open '%s'", p);
                if (fsync(fd) < 0)
                        return err_set(errp, errno, "sync '%s'", p);
        }
        return 0;
}

int image_store_mkdtemp(struct image_store *s, char **ret, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/tmp/dir-XXXXXX", s->dir);

        if (!mkdtemp(p))
                return err_set(errp, errno, "create temp directory in '%s/tmp'", s->dir);
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---- blobs ---- */

struct blob_writer *blob_writer_free(struct blob_writer *w) {
        if (!w)
                return NULL;
        w->fd = safe_close(w->fd);
        if (w->tmp_path)
                (void)unlink(w->tmp_path);
        free(w->tmp_path);
        free(w->expected);
        if (w->md)
                EVP_MD_CTX_free(w->md);
        free(w);
        return NULL;
}

void blob_writer_freep(struct blob_writer **w) {
        *w = blob_writer_free(*w);
}

int blob_writer_open(struct image_store *s, const char *expected_digest, int64_t expected_size,
                     struct blob_writer **ret, struct err **errp) {
        _cleanup_(blob_writer_freep) struct blob_writer *w = NULL;
        int r;

        if (expected_digest) {
                r = digest_validate(expected_digest, errp);
                if (r < 0)
                        return r;
        }
        w = xnew0(struct blob_writer, 1);
        w->fd = -EBADF;
        w->store = s;
        w->expected = expected_digest ? xstrdup(expected_digest) : NULL;
        w->expected_size = expected_size;
        w->tmp_path = xasprintf("%s/tmp/blob-XXXXXX", s->dir);
        w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
        if (w->fd < 0) {
                r = errno;
                free(w->tmp_path);
                w->tmp_path = NULL;
                return err_set(errp, r, "create temp file in '%s/tmp'", s->dir);
        }
        w->md = EVP_MD_CTX_new();
        if (!w->md || !EVP_DigestInit_ex(w->md, EVP_sha256(), NULL))
                oom();
        *ret = TAKE_PTR(w);
        return 0;
}

uint64_t blob_writer_size(const struct blob_writer *w) {
        return w->size;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t n, struct err **errp) {
        int r;

        if (w->expected_size >= 0 && w->size + n > (uint64_t)w->expected_size)
                return err_setx(errp, EBADMSG,
                                "blob %s: more data than the expected %" PRId64 " bytes",
                                w->expected ? w->expected : "", w->expected_size);
        r = fd_write_full(w->fd, buf, n);
        if (r < 0)
                return err_set(errp, -r, "write '%s'", w->tmp_path);
        if (!EVP_DigestUpdate(w->md, buf, n))
                oom();
        w->size += n;
        return 0;
}

int blob_writer_reset(struct blob_writer *w, struct err **errp) {
        if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
                return err_set(errp, errno, "truncate '%s'", w->tmp_path);
        if (!EVP_DigestInit_ex(w->md, EVP_sha256(), NULL))
                oom();
        w->size = 0;
        return 0;
}

/* Finishes the hash and checks size and digest against the expected ones. */
static int blob_writer_check(struct blob_writer *w, char **ret_digest, struct err **errp) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        _cleanup_free_ char *digest = NULL;

        if (!EVP_DigestFinal_ex(w->md, md, &mdlen))
                oom();
        digest = hex_digest(md, mdlen);
        if (w->expected_size >= 0 && w->size != (uint64_t)w->expected_size)
                return err_setx(errp, EBADMSG,
                                "blob %s: size %" PRIu64 " does not match the expected %" PRId64,
                                w->expected ? w->expected : digest, w->size, w->expected_size);
        if (w->expected && !streq(w->expected, digest))
                return err_setx(errp, EBADMSG, "blob digest mismatch: expected %s, got %s",
                                w->expected, digest);
        *ret_digest = TAKE_PTR(digest);
        return 0;
}

int blob_writer_verify(struct blob_writer *w, struct err **errp) {
        _cleanup_free_ char *digest = NULL;

        if (!w->expected)
                return err_setx(errp, EINVAL, "blob writer without an expected digest");
        return blob_writer_check(w, &digest, errp);
}

const char *blob_writer_path(const struct blob_writer *w) {
        return w->tmp_path;
}

int blob_writer_publish_verified(struct blob_writer *w, struct err **errp) {
        _cleanup_free_ char *path = NULL;

        if (!w->expected || !w->tmp_path)
                return err_setx(errp, EINVAL, "blob writer without an expected digest");
        if (fchmod(w->fd, 0644) < 0)
                return err_set(errp, errno, "chmod '%s'", w->tmp_path);
        path = image_store_blob_path(w->store, w->expected);
        if (rename(w->tmp_path, path) < 0)
                return err_set(errp, errno, "rename blob into '%s'", path);
        free(w->tmp_path);
        w->tmp_path = NULL;
        return 0;
}

int blob_writer_commit(struct blob_writer *w, char **ret_digest, struct err **errp) {
        _cleanup_free_ char *digest = NULL, *path = NULL;
        int r;

        r = blob_writer_check(w, &digest, errp);
        if (r < 0)
                return r;
        if (fsync(w->fd) < 0)
                return err_set(errp, errno, "sync '%s'", w->tmp_path);
        if (fchmod(w->fd, 0644) < 0)
                return err_set(errp, errno, "chmod '%s'", w->tmp_path);
        path = image_store_blob_path(w->store, digest);
        if (rename(w->tmp_path, path) < 0)
                return err_set(errp, errno, "rename blob into '%s'", path);
        free(w->tmp_path);
        w->tmp_path = NULL;
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        return 0;
}

int image_store_put_blob(struct image_store *s, const void *buf, size_t n, const char *expected,
                         char **ret_digest, struct err **errp) {
        _cleanup_(blob_writer_freep) struct blob_writer *w = NULL;
        int r;

        r = blob_writer_open(s, expected, expected ? (int64_t)n : -1, &w, errp);
        if (r < 0)
                return r;
        r = blob_writer_write(w, buf, n, errp);
        if (r < 0)
                return r;
        return blob_writer_commit(w, ret_digest, errp);
}

int image_store_read_blob(struct image_store *s, const char *digest, size_t max, char **ret,
                          size_t *ret_len, struct err **errp) {
        _cleanup_free_ char *path = NULL, *buf = NULL, *got = NULL;
        size_t len;
        int r;

        r = digest_validate(digest, errp);
        if (r < 0)
                return r;
        path = image_store_blob_path(s, digest);
        r = read_file(path, max, &buf, &len, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "read blob %s", digest);
        got = digest_of(buf, len);
        if (!streq(got, digest))
                return err_setx(errp, EBADMSG, "blob %s is corrupt (content hashes to %s)", digest,
                                got);
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}
