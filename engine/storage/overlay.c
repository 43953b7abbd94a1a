/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "storage/overlay.h"
#include "strv.h"
#include "xalloc.h"

#define COPY_MARKER ".rootfs-copied"
/* mount(2) copies at most one page of options. */
#define OPTS_MAX 4000

int ovl_format_opts(char *const *lowers, const char *upper, const char *work, char **ret,
                    struct err **errp) {
        _cleanup_free_ char *joined = NULL;

        if (!lowers || !lowers[0])
                return err_setx(errp, EINVAL, "overlay: no lower directories");
        STRV_FOREACH (l, lowers)
                if (strpbrk(*l, ":,") || !**l)
                        return err_setx(errp, EINVAL, "overlay: unusable lower dir '%s'", *l);
        if (strpbrk(upper, ":,") || strpbrk(work, ":,"))
                return err_setx(errp, EINVAL, "overlay: ':' or ',' in upper/work dir");
        joined = strv_join(lowers, ":");
        *ret = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", joined, upper, work);
        return 0;
}

static bool is_mountpoint(const char *ctr_dir, const char *path) {
        struct stat a, b;

        if (stat(ctr_dir, &a) < 0 || stat(path, &b) < 0)
                return false;
        return a.st_dev != b.st_dev;
}

/* ---- copy fallback ---- */

static int rm_at(int dfd, const char *name, struct err **errp);

static int clear_dir(int fd, struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int dup_fd, r;

        dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup_fd < 0)
                return err_set(errp, errno, "open directory");
        d = fdopendir(dup_fd);
        if (!d) {
                safe_close(dup_fd);
                return err_set(errp, errno, "open directory");
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = rm_at(fd, de->d_name, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int rm_at(int dfd, const char *name, struct err **errp) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (unlinkat(dfd, name, 0) >= 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR)
                return err_set(errp, errno, "remove '%s'", name);
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", name);
        r = clear_dir(fd, errp);
        if (r < 0)
                return r;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
                return err_set(errp, errno, "remove '%s'", name);
        return 0;
}

static bool dir_is_opaque(int fd) {
        char v[2];

        return (fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y') ||
               (fgetxattr(fd, "user.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y');
}

static int copy_meta(int dst, const char *name, const struct stat *st, struct err **errp) {
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        if (geteuid() == 0 && fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "chown '%s'", name);
        if (!S_ISLNK(st->st_mode) && fchmodat(dst, name, st->st_mode & 07777, 0) < 0)
                return err_set(errp, errno, "chmod '%s'", name);
        if (utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "set times of '%s'", name);
        return 0;
}

static int copy_file(int src, int dst, const char *name, const struct stat *st, struct err **errp) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char buf[64 * 1024];

        in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return err_set(errp, errno, "open '%s'", name);
        out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return err_set(errp, errno, "create '%s'", name);
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                int r;
                if (n < 0)
                        return err_set(errp, errno, "read '%s'", name);
                if (n == 0)
                        break;
                r = fd_write_full(out, buf, (size_t)n);
                if (r < 0)
                        return err_set(errp, -r, "write '%s'", name);
        }
        (void)st;
        return 0;
}

static int copy_tree(int src, int dst, int depth, struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        if (depth > 512)
                return err_setx(errp, ELOOP, "directory tree too deep");
        fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open layer directory");
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return err_set(errp, errno, "open layer directory");
        }
        while ((de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st, dst_st;

                if (streq(n, ".") || streq(n, ".."))
                        continue;
                if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "stat '%s'", n);
                if (S_ISCHR(st.st_mode) && st.st_rdev == 0) { /* whiteout */
                        r = rm_at(dst, n, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int s = -EBADF, t = -EBADF;

                        s = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s < 0)
                                return err_set(errp, errno, "open '%s'", n);
                        if (fstatat(dst, n, &dst_st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                            (!S_ISDIR(dst_st.st_mode) || dir_is_opaque(s))) {
                                r = rm_at(dst, n, errp);
                                if (r < 0)
                                        return r;
                        }
                        if (mkdirat(dst, n, 0700) < 0 && errno != EEXIST)
                                return err_set(errp, errno, "mkdir '%s'", n);
                        t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (t < 0)
                                return err_set(errp, errno, "open '%s'", n);
                        r = copy_tree(s, t, depth + 1, errp);
                        if (r < 0)
                                return errp ? err_wrap(errp, "'%s'", n) : r;
                        r = copy_meta(dst, n, &st, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = rm_at(dst, n, errp);
                if (r < 0)
                        return r;
                if (S_ISREG(st.st_mode))
                        r = copy_file(src, dst, n, &st, errp);
                else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t k = readlinkat(src, n, target, sizeof(target) - 1);
                        if (k < 0)
                                return err_set(errp, errno, "readlink '%s'", n);
                        target[k] = 0;
                        if (symlinkat(target, dst, n) < 0)
                                return err_set(errp, errno, "symlink '%s'", n);
                } else if (mknodat(dst, n, st.st_mode, st.st_rdev) < 0)
                        return err_set(errp, errno, "mknod '%s'", n);
                if (r < 0)
                        return r;
                r = copy_meta(dst, n, &st, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ovl_copy_layers(char *const *lowers, const char *dest, struct err **errp) {
        _cleanup_close_ int dst = -EBADF;
        size_t n = strv_length(lowers);
        int r;

        dst = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
                return err_set(errp, errno, "open '%s'", dest);
        for (size_t i = n; i > 0; i--) {
                _cleanup_close_ int src = -EBADF;

                src = open(lowers[i - 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (src < 0)
                        return err_set(errp, errno, "open layer '%s'", lowers[i - 1]);
                r = copy_tree(src, dst, 0, errp);
                if (r < 0)
                        return errp ? err_wrap(errp, "copy layer '%s'", lowers[i - 1]) : r;
        }
        return 0;
}

/* ---- overlay ---- */

/* A volatile mount leaves work/work/incompat/volatile behind, and overlayfs refuses the next
 * mount of the same work dir while it is there (the upper may have lost writes in a crash).
 * Only throwaway layers are mounted volatile, so the marker is removed before any mount of the
 * dir (volatile again, or plain when such a container is started once more). */
static int clear_volatile_marker(const char *work, struct err **errp) {
        _cleanup_free_ char *m = xasprintf("%s/work/incompat/volatile", work);

        if (access(m, F_OK) < 0)
                return 0;
        return rm_rf(m, errp);
}

/* mount(2) of the overlay; with vol, "volatile" is added, and dropped again when the kernel
 * does not know it (before 5.10: EINVAL). */
static int mount_overlay(const char *rootfs, const char *opts, bool vol) {
        _cleanup_free_ char *vopts = vol ? xasprintf("%s,volatile", opts) : NULL;

        if (vol && strlen(vopts) <= OPTS_MAX) {
                if (mount("overlay", rootfs, "overlay", MS_NODEV, vopts) >= 0)
                        return 0;
                if (errno != EINVAL)
                        return -errno;
        }
        if (mount("overlay", rootfs, "overlay", MS_NODEV, opts) < 0)
                return -errno;
        return 0;
}

/* Mounts with relative short names from inside ctr_dir (see overlay.h). */
static int mount_short(const char *ctr_dir, char *const *lowers, const char *rootfs, bool vol,
                       struct err **errp) {
        _cleanup_free_ char *ldir = xasprintf("%s/l", ctr_dir), *opts = NULL;
        _cleanup_strv_ char **shorts = NULL;
        _cleanup_close_ int cwd = -EBADF;
        size_t i = 0;
        int r, saved;

        r = rm_rf(ldir, errp);
        if (r < 0)
                return r;
        if (mkdir(ldir, 0700) < 0)
                return err_set(errp, errno, "create '%s'", ldir);
        STRV_FOREACH (l, lowers) {
                _cleanup_free_ char *p = xasprintf("%s/%zx", ldir, i);
                if (symlink(*l, p) < 0)
                        return err_set(errp, errno, "create '%s'", p);
                strv_push_take(&shorts, xasprintf("l/%zx", i++));
        }
        r = ovl_format_opts(shorts, "upper", "work", &opts, errp);
        if (r < 0)
                return r;
        if (strlen(opts) > OPTS_MAX)
                return err_setx(errp, E2BIG, "overlay: %zu layers do not fit one mount",
                                strv_length(lowers));
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0)
                return err_set(errp, errno, "open working directory");
        if (chdir(ctr_dir) < 0)
                return err_set(errp, errno, "chdir '%s'", ctr_dir);
        r = mount_overlay(rootfs, opts, vol);
        saved = -r;
        if (fchdir(cwd) < 0)
                abort(); /* cannot happen with a valid fd; continuing in the wrong cwd is worse */
        if (r < 0)
                return err_set(errp, saved, "mount overlay on '%s'", rootfs);
        return 0;
}

int ovl_prepare(const char *ctr_dir, char *const *lowers, enum ovl_mode mode, char **ret_rootfs,
                struct err **errp) {
        return ovl_prepare_flags(ctr_dir, lowers, mode, 0, ret_rootfs, errp);
}

int ovl_prepare_flags(const char *ctr_dir, char *const *lowers, enum ovl_mode mode, unsigned flags,
                      char **ret_rootfs, struct err **errp) {
        bool vol = flags & OVL_VOLATILE;
        _cleanup_free_ char *upper = xasprintf("%s/upper", ctr_dir);
        _cleanup_free_ char *work = xasprintf("%s/work", ctr_dir);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", ctr_dir);
        _cleanup_free_ char *marker = xasprintf("%s/" COPY_MARKER, ctr_dir);
        _cleanup_free_ char *empty = NULL, *opts = NULL;
        _cleanup_strv_ char **l = NULL;
        int r;

        if (mode < 0 || mode >= _OVL_MODE_MAX)
                return err_setx(errp, EINVAL, "overlay: bad mode %d", (int)mode);
        if (is_mountpoint(ctr_dir, rootfs))
                goto mounted;
        if (access(marker, F_OK) == 0)
                goto copied;
        STRV_FOREACH (p, lowers)
                if ((*p)[0] != '/')
                        return err_setx(errp, EINVAL, "overlay: lower dir '%s' is not absolute",
                                        *p);
        const char *dirs[] = {ctr_dir, upper, work, rootfs};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                r = mkdir_p(dirs[i], 0700, errp);
                if (r < 0)
                        return r;
        }
        if (chmod(rootfs, 0755) < 0)
                return err_set(errp, errno, "chmod '%s'", rootfs);
        l = strv_copy(lowers);
        if (!l || !l[0]) {
                /* overlayfs needs a lower dir; an image without layers gets an empty one. */
                empty = xasprintf("%s/empty", ctr_dir);
                r = mkdir_p(empty, 0755, errp);
                if (r < 0)
                        return r;
                strv_free(l);
                l = NULL;
                strv_push(&l, empty);
        }

        if (mode != OVL_MODE_COPY) {
                r = ovl_format_opts(l, upper, work, &opts, errp);
                if (r < 0)
                        return r;
                r = clear_volatile_marker(work, errp);
                if (r < 0)
                        return r;
                if (strlen(opts) <= OPTS_MAX) {
                        r = mount_overlay(rootfs, opts, vol);
                        if (r >= 0)
                                goto mounted;
                        r = err_set(errp, -r, "mount overlay on '%s'", rootfs);
                } else
                        r = mount_short(ctr_dir, l, rootfs, vol, errp);
                if (r >= 0)
                        goto mounted;
                if (mode == OVL_MODE_OVERLAY ||
                    (-r != ENODEV && -r != EINVAL && -r != EPERM && -r != ENOTSUP))
                        return r;
                if (errp) /* falling back: the error is handled */
                        *errp = err_free(*errp);
        }

        r = ovl_copy_layers(l, rootfs, errp);
        if (r < 0) {
                (void)rm_rf(rootfs, NULL);
                return r;
        }
        r = write_file_atomic(marker, "", 0, 0600, errp);
        if (r < 0)
                return r;
copied:
        if (ret_rootfs)
                *ret_rootfs = TAKE_PTR(rootfs);
        return 0;
mounted:
        if (ret_rootfs)
                *ret_rootfs = TAKE_PTR(rootfs);
        return 1;
}

int ovl_unmount(const char *ctr_dir, struct err **errp) {
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", ctr_dir);

        if (!is_mountpoint(ctr_dir, rootfs))
                return 0;
        if (umount2(rootfs, MNT_DETACH) < 0) {
                if (errno == EINVAL || errno == ENOENT)
                        return 0;
                return err_set(errp, errno, "unmount '%s'", rootfs);
        }
        return 1;
}

int ovl_remove(const char *ctr_dir, struct err **errp) {
        static const char *const sub[] = {"rootfs", "upper", "work", "l", "empty", COPY_MARKER};
        int r;

        r = ovl_unmount(ctr_dir, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(sub); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", ctr_dir, sub[i]);
                r = rm_rf(p, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}
