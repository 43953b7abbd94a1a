/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/layer.h"
#include "image/store.h"
#include "layer-tar.h"
#include "tap.h"
#include "xalloc.h"

struct sandbox {
        char *base; /* contains dest/ and outside/ */
        char *dest;
        char *outside;
        int dfd;
};

static void sandbox_new(struct sandbox *sb) {
        sb->base = xstrdup("/tmp/berth-test-layer-XXXXXX");
        if (!mkdtemp(sb->base))
                abort();
        sb->dest = xasprintf("%s/dest", sb->base);
        sb->outside = xasprintf("%s/outside", sb->base);
        if (mkdir(sb->dest, 0755) < 0 || mkdir(sb->outside, 0755) < 0)
                abort();
        sb->dfd = open(sb->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void sandbox_done(struct sandbox *sb) {
        safe_close(sb->dfd);
        (void)rm_rf(sb->base, NULL);
        free(sb->base);
        free(sb->dest);
        free(sb->outside);
}

static size_t count_dir(const char *path) {
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

static int unpack(struct sandbox *sb, const struct tar_ent *ents, size_t n, const char *comp,
                  char **ret_diff, struct err **errp) {
        size_t len;
        _cleanup_free_ char *buf = tar_build(ents, n, comp, &len);
        _cleanup_close_ int fd = tar_to_fd(buf, len);
        _cleanup_free_ char *diff = NULL;
        int r;

        r = layer_unpack_fd(fd, sb->dfd, &diff, NULL, errp);
        if (r >= 0 && ret_diff)
                *ret_diff = TAKE_PTR(diff);
        return r;
}

static const struct tar_ent basic[] = {
        {"./", 'd'},
        {"./etc/", 'd', NULL, 0750},
        {"etc/hostname", 'f', "box\n", 0640},
        {"/usr/bin/tool", 'f', "#!/bin/sh\n", 04755},
        {"bin", 'l', "usr/bin"},
        {"usr/bin/tool2", 'h', "usr/bin/tool"},
        {"run/fifo", 'p'},
        {"etc/hostname", 'f', "second\n", 0644}, /* a later entry replaces an earlier one */
};

static void test_unpack_basic(void) {
        const char *comps[] = {"none", "gzip", "zstd"};
        size_t plain_len;
        _cleanup_free_ char *plain = tar_build(basic, ELEMENTSOF(basic), "none", &plain_len);
        _cleanup_free_ char *want = digest_of(plain, plain_len);

        for (size_t c = 0; c < ELEMENTSOF(comps); c++) {
                struct sandbox sb;
                _cleanup_free_ char *diff = NULL, *buf = NULL, *lnk = NULL, *p = NULL;
                _cleanup_err_ struct err *e = NULL;
                struct stat st, st2;
                char target[64];
                ssize_t k;

                sandbox_new(&sb);
                if (unpack(&sb, basic, ELEMENTSOF(basic), comps[c], &diff, &e) < 0)
                        printf("# %s: %s\n", comps[c], err_msg(e));
                ASSERT_STREQ(diff, want);
                p = xasprintf("%s/etc/hostname", sb.dest);
                ASSERT_OK(read_file(p, 100, &buf, NULL, NULL));
                ASSERT_STREQ(buf, "second\n");
                ASSERT_OK(fstatat(sb.dfd, "etc", &st, 0));
                ASSERT_EQ(st.st_mode & 07777, 0750);
                ASSERT_EQ(st.st_mtime, 1700000000);
                ASSERT_OK(fstatat(sb.dfd, "usr/bin/tool", &st, 0));
                ASSERT_EQ(st.st_mode & 07777, 04755);
                ASSERT_EQ(st.st_mtime, 1700000000);
                ASSERT_OK(fstatat(sb.dfd, "usr/bin/tool2", &st2, 0));
                ASSERT_EQ(st.st_ino, st2.st_ino);
                k = readlinkat(sb.dfd, "bin", target, sizeof(target) - 1);
                ASSERT_EQ(k, 7);
                target[k] = 0;
                ASSERT_STREQ(target, "usr/bin");
                ASSERT_OK(fstatat(sb.dfd, "run/fifo", &st, AT_SYMLINK_NOFOLLOW));
                ASSERT_TRUE(S_ISFIFO(st.st_mode));
                sandbox_done(&sb);
        }
}

static void test_unpack_whiteouts(void) {
        static const struct tar_ent ents[] = {
                {"gone.txt", 'f', "x"}, /* replaced by the whiteout below */
                {".wh.gone.txt", 'f', ""},      {"dir/.wh..wh..opq", 'f', ""},
                {"dir/keep", 'f', "k"},         {"sub/.wh.deleted", 'f', ""},
                {".wh..wh.plnk/1234", 'f', ""},
        };
        struct sandbox sb;
        _cleanup_err_ struct err *e = NULL;
        struct stat st;
        char v[8];

        if (geteuid() != 0)
                TAP_SKIP("whiteouts need CAP_MKNOD");
        sandbox_new(&sb);
        if (unpack(&sb, ents, ELEMENTSOF(ents), "none", NULL, &e) < 0)
                printf("# %s\n", err_msg(e));
        ASSERT_NULL(e);
        ASSERT_OK(fstatat(sb.dfd, "gone.txt", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, makedev(0, 0));
        ASSERT_OK(fstatat(sb.dfd, "sub/deleted", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_TRUE(fstatat(sb.dfd, ".wh.gone.txt", &st, AT_SYMLINK_NOFOLLOW) < 0);
        ASSERT_TRUE(fstatat(sb.dfd, "dir/.wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) < 0);
        {
                _cleanup_free_ char *d = xasprintf("%s/dir", sb.dest);
                ASSERT_EQ(getxattr(d, "trusted.overlay.opaque", v, sizeof(v)), 1);
                ASSERT_EQ(v[0], 'y');
        }
        ASSERT_OK(fstatat(sb.dfd, "dir/keep", &st, 0));
        sandbox_done(&sb);
}

static void test_unpack_devices_and_caps(void) {
        static const struct tar_ent ents[] = {
                {"dev/null", 'c', NULL, 0666, NULL, 1, 3},
                {"bin/ping", 'f', "elf", 0755,
                 "security.capability=\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00"
                 "\x00\x00\x00\x00\x00\x00",
                 0, 0, 20},
        };
        struct sandbox sb;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *p = NULL;
        struct stat st;
        char v[64];

        if (geteuid() != 0)
                TAP_SKIP("device nodes need root");
        sandbox_new(&sb);
        if (unpack(&sb, ents, ELEMENTSOF(ents), "gzip", NULL, &e) < 0)
                printf("# %s\n", err_msg(e));
        ASSERT_NULL(e);
        ASSERT_OK(fstatat(sb.dfd, "dev/null", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(major(st.st_rdev), 1);
        ASSERT_EQ(minor(st.st_rdev), 3);
        p = xasprintf("%s/bin/ping", sb.dest);
        ASSERT_EQ(getxattr(p, "security.capability", v, sizeof(v)), 20);
        ASSERT_EQ((unsigned char)v[5], 0x20);
        sandbox_done(&sb);
}

struct escape {
        const char *what;
        struct tar_ent ents[3];
        size_t n;
        const char *msg;
};

/* Owners: a new entry is chowned only when the tar's owner is not what creation gave it (our
 * uid, and the parent's group when the parent is set-group-ID). And a layer whose entries
 * replace a directory with a symlink and then name a path through it is still refused. */
static void test_unpack_owners(void) {
        static const struct tar_ent ents[] = {
                {"sg/", 'd', NULL, 02775, .uid = 0, .gid = 50},
                {"sg/root-file", 'f', "r", 0644}, /* 0:0 below a setgid 50 dir */
                {"sg/group-file", 'f', "g", 0644, .gid = 50},
                {"sg/user-file", 'f', "u", 04755, .uid = 1000, .gid = 1000},
                {"sg/link", 'l', "root-file", .uid = 7, .gid = 8},
                {"plain/", 'd', NULL, 0755},
                {"plain/f", 'f', "x", 0600},
                {"plain/g", 'f', "y", 0640, .gid = 42},
        };
        static const struct tar_ent swap[] = {
                {"d/", 'd', NULL, 0755},
                {"d/.wh..wh..opq", 'f', ""},
                {"d", 'l', "/tmp"},
                {"d/evil", 'f', "x"},
        };
        struct sandbox sb;
        _cleanup_err_ struct err *e = NULL;
        struct stat st;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        sandbox_new(&sb);
        if (unpack(&sb, ents, ELEMENTSOF(ents), "gzip", NULL, &e) < 0)
                printf("# %s\n", err_msg(e));
        ASSERT_NULL(e);
        ASSERT_OK(fstatat(sb.dfd, "sg", &st, 0));
        ASSERT_EQ(st.st_gid, 50);
        ASSERT_EQ(st.st_mode & 07777, 02775);
        ASSERT_OK(fstatat(sb.dfd, "sg/root-file", &st, 0));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_gid, 0);
        ASSERT_OK(fstatat(sb.dfd, "sg/group-file", &st, 0));
        ASSERT_EQ(st.st_gid, 50);
        ASSERT_OK(fstatat(sb.dfd, "sg/user-file", &st, 0));
        ASSERT_EQ(st.st_uid, 1000);
        ASSERT_EQ(st.st_gid, 1000);
        ASSERT_EQ(st.st_mode & 07777, 04755); /* set after the chown that clears it */
        ASSERT_OK(fstatat(sb.dfd, "sg/link", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 7);
        ASSERT_EQ(st.st_gid, 8);
        ASSERT_OK(fstatat(sb.dfd, "plain/f", &st, 0));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_gid, 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_OK(fstatat(sb.dfd, "plain/g", &st, 0));
        ASSERT_EQ(st.st_gid, 42);
        sandbox_done(&sb);

        sandbox_new(&sb);
        e = err_free(e);
        ASSERT_TRUE(unpack(&sb, swap, ELEMENTSOF(swap), "none", NULL, &e) < 0);
        printf("# %s\n", err_msg(e));
        ASSERT_NOT_NULL(strstr(err_msg(e), "d/evil"));
        ASSERT_TRUE(access("/tmp/evil", F_OK) < 0);
        ASSERT_EQ(count_dir(sb.outside), 0);
        sandbox_done(&sb);
}

static void test_unpack_escapes(void) {
        struct sandbox sb;
        sandbox_new(&sb);
        _cleanup_free_ char *out_link = xstrdup(sb.outside);
        const struct escape cases[] = {
                {"dotdot", {{"../outside/evil", 'f', "x"}}, 1, "'..' is not allowed"},
                {"inner dotdot", {{"a/../../outside/evil", 'f', "x"}}, 1, "'..' is not allowed"},
                {"symlink abs",
                 {{"a", 'l', "/etc"}, {"a/passwd", 'f', "pwned"}},
                 2,
                 "refusing to follow"},
                {"symlink outside",
                 {{"a", 'l', out_link}, {"a/evil", 'f', "x"}},
                 2,
                 "refusing to follow"},
                {"symlink rel",
                 {{"a", 'l', "../outside"}, {"a/evil", 'f', "x"}},
                 2,
                 "refusing to follow"},
                {"symlink parent dir",
                 {{"d/", 'd'}, {"d/up", 'l', "../.."}, {"d/up/outside/evil", 'f', "x"}},
                 3,
                 "refusing to follow"},
                {"hardlink dotdot", {{"h", 'h', "../outside/target"}}, 1, "'..' is not allowed"},
                {"hardlink abs", {{"h", 'h', "/etc/passwd"}}, 1, "hard link 'h'"},
                {"hardlink via symlink",
                 {{"a", 'l', "/etc"}, {"h", 'h', "a/passwd"}},
                 2,
                 "refusing to follow"},
                {"whiteout dotdot", {{"x/.wh...", 'f', ""}}, 1, "bad whiteout"},
        };
        _cleanup_free_ char *target = xasprintf("%s/target", sb.outside);
        struct stat before, after;

        ASSERT_OK(write_file_atomic(target, "t", 1, 0644, NULL));
        ASSERT_OK(stat("/etc/passwd", &before));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_err_ struct err *e = NULL;
                int r;

                r = unpack(&sb, cases[i].ents, cases[i].n, "none", NULL, &e);
                if (r >= 0 || !strstr(err_msg(e), cases[i].msg))
                        printf("# %s: r=%d %s\n", cases[i].what, r, err_msg(e));
                ASSERT_TRUE(r < 0);
                ASSERT_NOT_NULL(strstr(e->msg, cases[i].msg));
                ASSERT_EQ(count_dir(sb.outside), 1);
                (void)rm_rf(sb.dest, NULL);
                ASSERT_OK(mkdir(sb.dest, 0755));
                safe_close(sb.dfd);
                sb.dfd = open(sb.dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        ASSERT_OK(stat("/etc/passwd", &after));
        ASSERT_EQ(before.st_mtime, after.st_mtime);
        ASSERT_EQ(before.st_size, after.st_size);
        sandbox_done(&sb);
}

static void test_absolute_made_relative(void) {
        static const struct tar_ent ents[] = {{"/abs/file", 'f', "in"}, {"//x//y", 'f', "z"}};
        struct sandbox sb;
        struct stat st;

        sandbox_new(&sb);
        ASSERT_OK(unpack(&sb, ents, ELEMENTSOF(ents), "none", NULL, NULL));
        ASSERT_OK(fstatat(sb.dfd, "abs/file", &st, 0));
        ASSERT_OK(fstatat(sb.dfd, "x/y", &st, 0));
        sandbox_done(&sb);
}

static void test_garbage_refused(void) {
        struct sandbox sb;
        _cleanup_close_ int fd = tar_to_fd("this is not a tar archive at all, not even close", 48);
        _cleanup_free_ char *diff = NULL;
        _cleanup_err_ struct err *e = NULL;

        sandbox_new(&sb);
        ASSERT_TRUE(layer_unpack_fd(fd, sb.dfd, &diff, NULL, &e) < 0);
        ASSERT_NOT_NULL(e);
        sandbox_done(&sb);
}

static void test_store_diff_id_check(void) {
        static const struct tar_ent ents[] = {{"f", 'f', "data"}};
        _cleanup_free_ char *root = xstrdup("/tmp/berth-test-lstore-XXXXXX");
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_free_ char *buf = NULL, *diff = NULL, *tmp = NULL, *layers = NULL, *f = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *bogus =
                "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        uint64_t size = 0;
        size_t len;
        int fd;

        ASSERT_NOT_NULL(mkdtemp(root));
        ASSERT_OK(image_store_open(root, &s, NULL));
        buf = tar_build(ents, 1, "gzip", &len);
        fd = tar_to_fd(buf, len);
        ASSERT_ERR(layer_unpack_to_store(s, fd, bogus, bogus, NULL, &e), EBADMSG);
        safe_close(fd);
        ASSERT_NOT_NULL(strstr(e->msg, "diff id mismatch"));
        tmp = xasprintf("%s/images/tmp", root);
        layers = xasprintf("%s/images/layers", root);
        ASSERT_EQ(count_dir(tmp), 0);
        ASSERT_EQ(count_dir(layers), 0);

        free(buf);
        buf = tar_build(ents, 1, "none", &len);
        diff = digest_of(buf, len);
        free(buf);
        buf = tar_build(ents, 1, "gzip", &len);
        fd = tar_to_fd(buf, len);
        ASSERT_OK(layer_unpack_to_store(s, fd, diff, diff, &size, NULL));
        safe_close(fd);
        ASSERT_TRUE(image_store_has_layer(s, diff));
        ASSERT_EQ(layer_stored_size(s, diff), size);
        ASSERT_TRUE(size >= 1024);
        {
                _cleanup_free_ char *ld = image_store_layer_dir(s, diff);
                f = xasprintf("%s/diff/f", ld);
        }
        ASSERT_TRUE(access(f, F_OK) == 0);
        (void)rm_rf(root, NULL);
}

TAP_MAIN(test_unpack_basic, test_unpack_whiteouts, test_unpack_devices_and_caps, test_unpack_owners,
         test_unpack_escapes, test_absolute_made_relative, test_garbage_refused,
         test_store_diff_id_check)
