/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/layer.h"
#include "image/layer_write.h"
#include "image/store.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *mkbase(void) {
        char *b = xstrdup("/tmp/berth-test-lw-XXXXXX");
        if (!mkdtemp(b))
                abort();
        return b;
}

static void put(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        if (write_file_atomic(p, content, strlen(content), 0644, NULL) < 0)
                abort();
}

/* An upper dir with every kind of entry overlayfs leaves behind. */
static void make_upper(const char *up) {
        _cleanup_free_ char *d = xasprintf("%s/d", up), *e = xasprintf("%s/e", up);
        _cleanup_free_ char *gone = xasprintf("%s/gone", up), *ew = xasprintf("%s/e/w", up);
        _cleanup_free_ char *a = xasprintf("%s/a", up), *a2 = xasprintf("%s/a2", up);
        _cleanup_free_ char *s = xasprintf("%s/s", up);

        if (mkdir(up, 0755) < 0 || mkdir(d, 0750) < 0 || mkdir(e, 0755) < 0)
                abort();
        put(up, "a", "hello");
        put(up, "d/x", "inside opaque");
        if (setxattr(d, "trusted.overlay.opaque", "y", 1, 0) < 0)
                abort();
        if (mknod(gone, S_IFCHR | 0, makedev(0, 0)) < 0 ||
            mknod(ew, S_IFCHR | 0, makedev(0, 0)) < 0)
                abort();
        if (link(a, a2) < 0 || symlink("/etc", s) < 0)
                abort();
}

/* Names in the tar at path, in order. */
static char **tar_names(const char *path) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char **names = xnew0(char *, 1);

        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, path, 10240) != ARCHIVE_OK)
                abort();
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
                strv_push(&names, archive_entry_pathname(e));
        archive_read_free(a);
        return names;
}

static void test_whiteouts_round_trip(void) {
        _cleanup_free_ char *base = NULL, *up = NULL, *tar = NULL, *dest = NULL, *diff = NULL;
        _cleanup_free_ char *p = NULL, *buf = NULL;
        _cleanup_strv_ char **names = NULL;
        _cleanup_close_ int fd = -EBADF, in = -EBADF, dfd = -EBADF;
        _cleanup_err_ struct err *e = NULL;
        uint64_t size = 0, usize = 0;
        struct stat st, st2;
        char v[4] = "";

        if (geteuid() != 0)
                TAP_SKIP("needs root (mknod, trusted xattrs)");
        base = mkbase();
        up = xasprintf("%s/upper", base);
        tar = xasprintf("%s/layer.tar", base);
        dest = xasprintf("%s/dest", base);
        make_upper(up);
        fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(layer_write_dir_fd(up, fd, &size, &e));
        ASSERT_TRUE(size > 0);
        ASSERT_TRUE(size % 512 == 0);

        names = tar_names(tar);
        ASSERT_TRUE(strv_contains(names, "a"));
        ASSERT_TRUE(strv_contains(names, "a2"));
        ASSERT_TRUE(strv_contains(names, ".wh.gone"));
        ASSERT_TRUE(strv_contains(names, "d/.wh..wh..opq"));
        ASSERT_TRUE(strv_contains(names, "e/.wh.w"));
        ASSERT_FALSE(strv_contains(names, "gone"));
        /* sorted: the opaque marker comes right after its directory */
        ASSERT_STREQ(names[0], "a");

        ASSERT_TRUE(mkdir(dest, 0755) == 0);
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        in = open(tar, O_RDONLY | O_CLOEXEC);
        ASSERT_OK(layer_unpack_fd(in, dfd, &diff, &usize, &e));
        ASSERT_EQ(usize, size);

        ASSERT_OK(read_file_at(dfd, "a", 100, &buf, NULL, &e));
        ASSERT_STREQ(buf, "hello");
        ASSERT_TRUE(fstatat(dfd, "gone", &st, AT_SYMLINK_NOFOLLOW) == 0);
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        ASSERT_TRUE(fstatat(dfd, "e/w", &st, AT_SYMLINK_NOFOLLOW) == 0);
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        p = xasprintf("%s/d", dest);
        ASSERT_EQ(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
        ASSERT_EQ(v[0], 'y');
        ASSERT_TRUE(stat(p, &st) == 0);
        ASSERT_EQ(st.st_mode & 07777, 0750);
        ASSERT_TRUE(fstatat(dfd, "d/x", &st, 0) == 0);
        ASSERT_TRUE(fstatat(dfd, "a", &st, 0) == 0 && fstatat(dfd, "a2", &st2, 0) == 0);
        ASSERT_EQ(st.st_ino, st2.st_ino);
        free(p);
        p = xasprintf("%s/s", dest);
        {
                char t[64] = "";
                ASSERT_EQ(readlink(p, t, sizeof(t) - 1), 4);
                ASSERT_STREQ(t, "/etc");
        }
        ASSERT_OK(rm_rf(base, NULL));
}

static void test_from_dir_store(void) {
        _cleanup_free_ char *base = NULL, *up = NULL, *d1 = NULL, *d2 = NULL, *diff = NULL;
        _cleanup_free_ char *blob = NULL, *dest = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_close_ int in = -EBADF, dfd = -EBADF;
        _cleanup_err_ struct err *e = NULL;
        uint64_t size = 0;

        base = mkbase();
        up = xasprintf("%s/upper", base);
        dest = xasprintf("%s/dest", base);
        ASSERT_TRUE(mkdir(up, 0755) == 0 && mkdir(dest, 0755) == 0);
        put(up, "f", "content");
        ASSERT_OK(image_store_open(base, &s, &e));
        ASSERT_OK(layer_from_dir(s, up, &d1, &size, &e));
        ASSERT_TRUE(strncmp(d1, "sha256:", 7) == 0);
        ASSERT_TRUE(image_store_has_blob(s, d1));
        /* deterministic: the same tree gives the same digest */
        ASSERT_OK(layer_from_dir(s, up, &d2, NULL, &e));
        ASSERT_STREQ(d1, d2);
        /* the blob is uncompressed: its digest is the diff id */
        blob = image_store_blob_path(s, d1);
        in = open(blob, O_RDONLY | O_CLOEXEC);
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(in >= 0 && dfd >= 0);
        ASSERT_OK(layer_unpack_fd(in, dfd, &diff, NULL, &e));
        ASSERT_STREQ(diff, d1);
        ASSERT_TRUE(faccessat(dfd, "f", F_OK, 0) == 0);
        ASSERT_OK(rm_rf(base, NULL));
}

static void test_errors(void) {
        _cleanup_free_ char *base = mkbase(), *up = NULL, *missing = NULL;
        _cleanup_close_ int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        struct err *e = NULL;

        missing = xasprintf("%s/nope", base);
        ASSERT_ERR(layer_write_dir_fd(missing, fd, NULL, &e), ENOENT);
        ASSERT_TRUE(strstr(e->msg, missing) != NULL);
        e = err_free(e);
        up = xasprintf("%s/up", base);
        ASSERT_TRUE(mkdir(up, 0755) == 0);
        put(up, ".wh.bad", "x");
        ASSERT_ERR(layer_write_dir_fd(up, fd, NULL, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, ".wh.bad") != NULL);
        e = err_free(e);
        ASSERT_OK(rm_rf(base, NULL));
}

/* The compressed variant: a gzip blob, a deterministic digest, the diff id of the plain tar. */
static void test_from_dir_gz(void) {
        _cleanup_free_ char *base = mkbase(), *up = NULL, *d1 = NULL, *d2 = NULL, *diff = NULL;
        _cleanup_free_ char *plain = NULL, *diff2 = NULL, *blob = NULL, *dest = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_close_ int in = -EBADF, dfd = -EBADF;
        _cleanup_err_ struct err *e = NULL;
        unsigned char m[2] = {};
        uint64_t size = 0, tsize = 0;

        up = xasprintf("%s/upper", base);
        dest = xasprintf("%s/dest", base);
        ASSERT_TRUE(mkdir(up, 0755) == 0 && mkdir(dest, 0755) == 0);
        put(up, "f", "content content content content");
        ASSERT_OK(image_store_open(base, &s, &e));
        ASSERT_OK(layer_from_dir_gz(s, up, &d1, &diff, &size, &e));
        ASSERT_TRUE(image_store_has_blob(s, d1));
        ASSERT_TRUE(!streq(d1, diff));
        ASSERT_OK(layer_from_dir_gz(s, up, &d2, NULL, NULL, &e));
        ASSERT_STREQ(d1, d2);
        /* the diff id and size are those of the uncompressed tar layer_from_dir writes */
        ASSERT_OK(layer_from_dir(s, up, &plain, &tsize, &e));
        ASSERT_STREQ(diff, plain);
        ASSERT_EQ(size, tsize);
        blob = image_store_blob_path(s, d1);
        in = open(blob, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(in >= 0);
        ASSERT_EQ(read(in, m, 2), 2);
        ASSERT_TRUE(m[0] == 0x1f && m[1] == 0x8b);
        ASSERT_TRUE(lseek(in, 0, SEEK_SET) == 0);
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(layer_unpack_fd(in, dfd, &diff2, NULL, &e));
        ASSERT_STREQ(diff2, diff);
        ASSERT_TRUE(faccessat(dfd, "f", F_OK, 0) == 0);
        ASSERT_OK(rm_rf(base, NULL));
}

/* Other xattrs are carried, overlay's never. */
static void test_xattrs(void) {
        _cleanup_free_ char *base = mkbase(), *up = NULL, *tar = NULL, *dest = NULL, *f = NULL;
        _cleanup_free_ char *diff = NULL;
        _cleanup_close_ int fd = -EBADF, in = -EBADF, dfd = -EBADF;
        _cleanup_err_ struct err *e = NULL;
        char v[16] = "";

        up = xasprintf("%s/up", base);
        tar = xasprintf("%s/l.tar", base);
        dest = xasprintf("%s/dest", base);
        ASSERT_TRUE(mkdir(up, 0755) == 0 && mkdir(dest, 0755) == 0);
        put(up, "f", "x");
        f = xasprintf("%s/f", up);
        if (setxattr(f, "user.berth", "kept", 4, 0) < 0) {
                (void)rm_rf(base, NULL);
                TAP_SKIP("no user xattrs on this file system");
        }
        if (geteuid() == 0)
                ASSERT_TRUE(setxattr(f, "trusted.overlay.origin", "o", 1, 0) == 0);
        fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(layer_write_dir_fd(up, fd, NULL, &e));
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        in = open(tar, O_RDONLY | O_CLOEXEC);
        ASSERT_OK(layer_unpack_fd(in, dfd, &diff, NULL, &e));
        free(f);
        f = xasprintf("%s/f", dest);
        ASSERT_EQ(getxattr(f, "user.berth", v, sizeof(v)), 4);
        ASSERT_TRUE(memcmp(v, "kept", 4) == 0);
        ASSERT_TRUE(getxattr(f, "trusted.overlay.origin", v, sizeof(v)) < 0);
        ASSERT_OK(rm_rf(base, NULL));
}

/* A unix socket left in an upper dir (a RUN that ran a server) is left out, not an error. */
static void test_socket_skipped(void) {
        _cleanup_free_ char *base = mkbase(), *up = NULL, *tar = NULL;
        _cleanup_close_ int fd = -EBADF, sk = -EBADF;
        _cleanup_strv_ char **names = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        up = xasprintf("%s/up", base);
        tar = xasprintf("%s/l.tar", base);
        ASSERT_TRUE(mkdir(up, 0755) == 0);
        put(up, "f", "x");
        ASSERT_TRUE((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", up) <
                    sizeof(sa.sun_path));
        sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(sk >= 0);
        ASSERT_TRUE(bind(sk, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(layer_write_dir_fd(up, fd, NULL, &e));
        names = tar_names(tar);
        ASSERT_EQ(strv_length(names), 1);
        ASSERT_STREQ(names[0], "f");
        ASSERT_OK(rm_rf(base, NULL));
}

TAP_MAIN(test_whiteouts_round_trip, test_from_dir_store, test_from_dir_gz, test_errors, test_xattrs,
         test_socket_skipped)
