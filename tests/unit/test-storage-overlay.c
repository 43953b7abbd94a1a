/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <seccomp.h>

#include "cleanup.h"
#include "fileio.h"
#include "storage/overlay.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *mktmp(void) {
        char *p = xstrdup("/tmp/berth-test-ovl-XXXXXX");
        if (!mkdtemp(p))
                abort();
        return p;
}

static void put(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
        _cleanup_free_ char *parent = xstrdup(p);

        *strrchr(parent, '/') = 0;
        if (mkdir_p(parent, 0755, NULL) < 0 ||
            write_file_atomic(p, content, strlen(content), 0644, NULL) < 0)
                abort();
}

static char *slurp(const char *dir, const char *rel) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
        char *buf = NULL;

        if (read_file(p, 4096, &buf, NULL, NULL) < 0)
                return NULL;
        return buf;
}

static bool exists(const char *dir, const char *rel) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
        struct stat st;

        return lstat(p, &st) == 0;
}

static void test_format_opts(void) {
        char *l[] = {"/a", "/b", NULL};
        char *bad[] = {"/a:b", NULL};
        _cleanup_free_ char *o = NULL;

        ASSERT_OK(ovl_format_opts(l, "/u", "/w", &o, NULL));
        ASSERT_STREQ(o, "lowerdir=/a:/b,upperdir=/u,workdir=/w");
        ASSERT_ERR(ovl_format_opts(bad, "/u", "/w", &o, NULL), EINVAL);
        ASSERT_ERR(ovl_format_opts(NULL, "/u", "/w", &o, NULL), EINVAL);
}

/* base: keep, del, d/old; top: whiteout del, opaque d with d/new, changed keep. */
static void make_layers(const char *tmp, char **ret_top, char **ret_base) {
        char *base = xasprintf("%s/base", tmp), *top = xasprintf("%s/top", tmp);
        _cleanup_free_ char *wh = NULL, *d = NULL;

        put(base, "keep", "v1");
        put(base, "del", "x");
        put(base, "d/old", "o");
        put(base, "only-base", "b");
        put(top, "keep", "v2");
        put(top, "d/new", "n");
        wh = xasprintf("%s/del", top);
        if (mknod(wh, S_IFCHR, makedev(0, 0)) < 0)
                abort();
        d = xasprintf("%s/d", top);
        if (setxattr(d, "trusted.overlay.opaque", "y", 1, 0) < 0)
                abort();
        *ret_top = top;
        *ret_base = base;
}

static void check_view(const char *rootfs) {
        _cleanup_free_ char *keep = slurp(rootfs, "keep"), *nw = slurp(rootfs, "d/new");
        _cleanup_free_ char *ob = slurp(rootfs, "only-base");

        ASSERT_STREQ(keep, "v2");
        ASSERT_STREQ(nw, "n");
        ASSERT_STREQ(ob, "b");
        ASSERT_FALSE(exists(rootfs, "del"));
        ASSERT_FALSE(exists(rootfs, "d/old"));
}

static void test_copy_mode(void) {
        _cleanup_free_ char *tmp = mktmp(), *top = NULL, *base = NULL, *ctr = NULL;
        _cleanup_free_ char *rootfs = NULL;

        if (geteuid() != 0)
                TAP_SKIP("whiteout layers need root");
        make_layers(tmp, &top, &base);
        char *lowers[] = {top, base, NULL};
        ctr = xasprintf("%s/ctr", tmp);
        ASSERT_EQ(ovl_prepare(ctr, lowers, OVL_MODE_COPY, &rootfs, NULL), 0);
        check_view(rootfs);
        ASSERT_EQ(ovl_prepare(ctr, lowers, OVL_MODE_COPY, NULL, NULL), 0); /* idempotent */
        ASSERT_EQ(ovl_unmount(ctr, NULL), 0);
        ASSERT_OK(ovl_remove(ctr, NULL));
        ASSERT_FALSE(exists(ctr, "rootfs"));
        (void)rm_rf(tmp, NULL);
}

static void test_overlay_mount(void) {
        _cleanup_free_ char *tmp = mktmp(), *top = NULL, *base = NULL, *ctr = NULL;
        _cleanup_free_ char *rootfs = NULL, *up = NULL;

        if (geteuid() != 0)
                TAP_SKIP("mounting overlayfs needs root");
        make_layers(tmp, &top, &base);
        char *lowers[] = {top, base, NULL};
        ctr = xasprintf("%s/ctr", tmp);
        ASSERT_EQ(ovl_prepare(ctr, lowers, OVL_MODE_OVERLAY, &rootfs, NULL), 1);
        check_view(rootfs);
        put(rootfs, "written", "w");
        up = slurp(ctr, "upper/written");
        ASSERT_STREQ(up, "w");
        ASSERT_FALSE(exists(base, "written"));
        ASSERT_EQ(ovl_prepare(ctr, lowers, OVL_MODE_OVERLAY, NULL, NULL), 1);
        ASSERT_EQ(ovl_unmount(ctr, NULL), 1);
        ASSERT_EQ(ovl_unmount(ctr, NULL), 0);
        ASSERT_OK(ovl_remove(ctr, NULL));
        ASSERT_OK(ovl_remove(ctr, NULL));
        (void)rm_rf(tmp, NULL);
}

/* The mount options of the mount point at path, from /proc/self/mountinfo (super options). */
static char *mount_opts(const char *path) {
        _cleanup_free_ char *info = NULL;
        size_t len;

        if (read_file("/proc/self/mountinfo", 1u << 22, &info, &len, NULL) < 0)
                return NULL;
        for (char *line = strtok(info, "\n"); line; line = strtok(NULL, "\n")) {
                char mp[4096], *sep = strstr(line, " - ");
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && streq(mp, path) && sep)
                        return xstrdup(sep);
        }
        return NULL;
}

/* OVL_VOLATILE: the overlay carries "volatile", writes land in upper, and the same container
 * dir mounts again after an unmount (the kernel's incompat/volatile marker is cleared). */
static void test_overlay_volatile(void) {
        _cleanup_free_ char *tmp = mktmp(), *top = NULL, *base = NULL, *ctr = NULL;
        _cleanup_free_ char *rootfs = NULL, *up = NULL, *opts = NULL, *opts2 = NULL;

        if (geteuid() != 0)
                TAP_SKIP("mounting overlayfs needs root");
        make_layers(tmp, &top, &base);
        char *lowers[] = {top, base, NULL};
        ctr = xasprintf("%s/ctr", tmp);
        ASSERT_EQ(ovl_prepare_flags(ctr, lowers, OVL_MODE_OVERLAY, OVL_VOLATILE, &rootfs, NULL), 1);
        check_view(rootfs);
        opts = mount_opts(rootfs);
        ASSERT_NOT_NULL(opts);
        ASSERT_NOT_NULL(strstr(opts, "volatile"));
        put(rootfs, "written", "w");
        up = slurp(ctr, "upper/written");
        ASSERT_STREQ(up, "w");
        ASSERT_EQ(ovl_unmount(ctr, NULL), 1);
        ASSERT_EQ(ovl_prepare_flags(ctr, lowers, OVL_MODE_OVERLAY, OVL_VOLATILE, NULL, NULL), 1);
        ASSERT_EQ(ovl_unmount(ctr, NULL), 1);
        /* a plain mount of a dir that was volatile works too, and has no "volatile" */
        ASSERT_EQ(ovl_prepare(ctr, lowers, OVL_MODE_OVERLAY, NULL, NULL), 1);
        opts2 = mount_opts(rootfs);
        ASSERT_NOT_NULL(opts2);
        ASSERT_NULL(strstr(opts2, "volatile"));
        ASSERT_OK(ovl_remove(ctr, NULL));
        (void)rm_rf(tmp, NULL);
}

static void test_overlay_deep(void) {
        _cleanup_free_ char *tmp = mktmp(), *ctr = NULL, *rootfs = NULL, *b = NULL, *t = NULL;
        _cleanup_strv_ char **lowers = NULL;
        const size_t n = 120;

        if (geteuid() != 0)
                TAP_SKIP("mounting overlayfs needs root");
        /* Long lower paths: 120 * ~70 bytes is well past one page. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = xasprintf(
                        "%s/layers/0123456789abcdef0123456789abcdef0123456789abcdef-%03zu/diff",
                        tmp, i);
                _cleanup_free_ char *name = xasprintf("f%zu", i);
                put(d, name, "x");
                strv_push(&lowers, d);
        }
        ctr = xasprintf("%s/ctr", tmp);
        ASSERT_EQ(ovl_prepare(ctr, lowers, OVL_MODE_OVERLAY, &rootfs, NULL), 1);
        b = slurp(rootfs, "f0");
        t = slurp(rootfs, "f119");
        ASSERT_STREQ(b, "x");
        ASSERT_STREQ(t, "x");
        ASSERT_TRUE(exists(ctr, "l/77"));
        ASSERT_EQ(ovl_unmount(ctr, NULL), 1);
        ASSERT_OK(ovl_remove(ctr, NULL));
        (void)rm_rf(tmp, NULL);
}

/* Forces the fallback (STYLE C10): mount(2) fails with ENODEV under a seccomp filter in a child,
 * as on a kernel without overlayfs; AUTO must copy, OVERLAY must fail. */
static void test_auto_falls_back_without_overlay(void) {
        _cleanup_free_ char *tmp = mktmp(), *top = NULL, *base = NULL, *ctr = NULL, *ctr2 = NULL;
        int status = -1;
        pid_t pid;

        if (geteuid() != 0)
                TAP_SKIP("whiteout layers need root");
        make_layers(tmp, &top, &base);
        ctr = xasprintf("%s/ctr", tmp);
        ctr2 = xasprintf("%s/ctr2", tmp);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char *lowers[] = {top, base, NULL};
                _cleanup_free_ char *rootfs = NULL;
                scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
                if (!f || seccomp_rule_add(f, SCMP_ACT_ERRNO(ENODEV), SCMP_SYS(mount), 0) < 0 ||
                    seccomp_load(f) < 0)
                        _exit(10);
                if (ovl_prepare(ctr2, lowers, OVL_MODE_OVERLAY, NULL, NULL) != -ENODEV)
                        _exit(11);
                if (ovl_prepare(ctr, lowers, OVL_MODE_AUTO, &rootfs, NULL) != 0)
                        _exit(12);
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        {
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", ctr);
                check_view(rootfs);
        }
        ASSERT_EQ(ovl_unmount(ctr, NULL), 0);
        ASSERT_OK(ovl_remove(ctr, NULL));
        (void)rm_rf(tmp, NULL);
}

static void test_empty_image(void) {
        _cleanup_free_ char *tmp = mktmp(), *ctr = NULL;

        ctr = xasprintf("%s/ctr", tmp);
        ASSERT_EQ(ovl_prepare(ctr, NULL, OVL_MODE_COPY, NULL, NULL), 0);
        ASSERT_TRUE(exists(ctr, "rootfs"));
        ASSERT_OK(ovl_remove(ctr, NULL));
        (void)rm_rf(tmp, NULL);
}

TAP_MAIN(test_format_opts, test_copy_mode, test_overlay_mount, test_overlay_volatile,
         test_overlay_deep, test_auto_falls_back_without_overlay, test_empty_image)
