/* SPDX-License-Identifier: Apache-2.0 */
/* export and cp. Every path inside the container goes through rt_open_in_root() (openat2 with
 * RESOLVE_IN_ROOT); below the resolved entry the copy walks with *at() calls and O_NOFOLLOW. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_fs.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "image/layer_write.h"
#include "json.h"
#include "runtime/init.h"
#include "storage/overlay.h"
#include "strv.h"
#include "xalloc.h"

#define CP_MAX_DEPTH 256

void ctr_root_done(struct ctr_root *r) {
        safe_close(r->fd);
        if (r->unmount)
                (void)ovl_unmount(r->c->dir, NULL);
        free(r->path);
}

int ctr_root_open(struct ctr *c, struct ctr_root *ret, struct err **errp) {
        _cleanup_strv_ char **lowers = xnew0(char *, 1);
        char *rootfs = NULL;
        json_t *v;
        size_t i;
        int r;

        *ret = (struct ctr_root){.c = c, .fd = -EBADF};
        json_array_foreach (json_object_get(c->rec, "BerthLowerDirs"), i, v)
                strv_push(&lowers, json_string_value(v));
        r = ovl_prepare(c->dir, lowers, OVL_MODE_AUTO, &rootfs, errp);
        if (r < 0)
                return err_wrap(errp, "mount the root file system of container %s", c->id);
        ret->path = rootfs;
        ret->unmount = r > 0 && !ctr_running(c);
        ret->fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ret->fd < 0) {
                r = err_set(errp, errno, "open '%s'", rootfs);
                ctr_root_done(ret);
                return r;
        }
        return 0;
}

int ctr_root_open_live(struct ctr *c, struct ctr_root *ret, struct err **errp) {
        pid_t pid = (pid_t)json_get_int(ctr_state(c), "Pid", 0);

        if (!ctr_running(c) || pid <= 0)
                return ctr_root_open(c, ret, errp);
        /* the container's own view: its volumes, bind mounts and tmpfs mounts included */
        *ret = (struct ctr_root){.c = c, .fd = -EBADF};
        ret->path = xasprintf("/proc/%d/root", (int)pid);
        ret->fd = open(ret->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ret->fd < 0) {
                int r = err_set(errp, errno, "open the root of container %s", c->id);
                ctr_root_done(ret);
                return r;
        }
        return 0;
}

int ctr_export(struct ctr *c, const char *host_path, struct err **errp) {
        _cleanup_free_ char *tmp = xasprintf("%s.tmp", host_path);
        _cleanup_close_ int out = -EBADF;
        struct ctr_root root;
        int r;

        if (host_path[0] != '/')
                return err_setx(errp, EINVAL, "export: '%s' is not an absolute path", host_path);
        r = ctr_root_open(c, &root, errp);
        if (r < 0)
                return r;
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                r = err_set(errp, errno, "export: create '%s'", tmp);
        else
                r = layer_write_dir_fd(root.path, out, NULL, errp);
        ctr_root_done(&root);
        if (r >= 0 && fsync(out) < 0)
                r = err_set(errp, errno, "export: write '%s'", tmp);
        if (r >= 0 && rename(tmp, host_path) < 0)
                r = err_set(errp, errno, "export: rename to '%s'", host_path);
        if (r < 0) {
                if (out >= 0)
                        (void)unlink(tmp);
                return err_wrap(errp, "export container %s", c->id);
        }
        return 0;
}

/* ---- the copy engine ---- */

struct cp {
        bool keep_owner;
        const char *what; /* "container" path or "host" path, for messages */
        char buf[64 * 1024];
};

static char *proc_fd(int fd) {
        return xasprintf("/proc/self/fd/%d", fd);
}

static int set_meta(struct cp *cp, int dst_dir, const char *name, const struct stat *st,
                    bool is_link, const char *path, struct err **errp) {
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        if (cp->keep_owner &&
            fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "chown '%s'", path);
        if (!is_link && fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
                return err_set(errp, errno, "chmod '%s'", path);
        if (utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "set times of '%s'", path);
        return 0;
}

/* Makes room for a non-directory at name: an existing directory is an error, anything else
 * (including a symlink, which is never followed) is removed. */
static int clear_slot(int dst_dir, const char *name, const char *path, struct err **errp) {
        struct stat st;

        if (fstatat(dst_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : err_set(errp, errno, "stat '%s'", path);
        if (S_ISDIR(st.st_mode))
                return err_setx(errp, EISDIR,
                                "cannot overwrite directory '%s' with a non-directory", path);
        if (unlinkat(dst_dir, name, 0) < 0)
                return err_set(errp, errno, "replace '%s'", path);
        return 0;
}

static int copy_entry(struct cp *cp, int src, const struct stat *st, int dst_dir, const char *name,
                      const char *path, unsigned depth, struct err **errp);

static int copy_dir_contents(struct cp *cp, int src_dir, int dst, const char *path, unsigned depth,
                             struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd;

        if (depth > CP_MAX_DEPTH)
                return err_setx(errp, ENAMETOOLONG, "'%s': too deep", path);
        fd = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", path);
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return err_set(errp, ENOMEM, "open '%s'", path);
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                _cleanup_close_ int cfd = -EBADF;
                struct stat cst;
                int r;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                sub = xasprintf("%s/%s", path, de->d_name);
                cfd = openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (cfd < 0 || fstatat(cfd, "", &cst, AT_EMPTY_PATH) < 0)
                        return err_set(errp, errno, "open '%s'", sub);
                r = copy_entry(cp, cfd, &cst, dst, de->d_name, sub, depth + 1, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_entry(struct cp *cp, int src, const struct stat *st, int dst_dir, const char *name,
                      const char *path, unsigned depth, struct err **errp) {
        int r;

        if (S_ISDIR(st->st_mode)) {
                _cleanup_close_ int in = -EBADF, out = -EBADF;
                if (mkdirat(dst_dir, name, 0700) < 0 && errno != EEXIST)
                        return err_set(errp, errno, "create directory '%s'", path);
                out = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (out < 0)
                        return err_set(errp, errno == ENOTDIR || errno == ELOOP ? EEXIST : errno,
                                       "cannot copy directory to '%s': it exists and is not a "
                                       "directory",
                                       path);
                in = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (in < 0)
                        return err_set(errp, errno, "open '%s'", path);
                r = copy_dir_contents(cp, in, out, path, depth, errp);
                if (r < 0)
                        return r;
                return set_meta(cp, dst_dir, name, st, false, path, errp);
        }
        r = clear_slot(dst_dir, name, path, errp);
        if (r < 0)
                return r;
        if (S_ISREG(st->st_mode)) {
                _cleanup_free_ char *p = proc_fd(src);
                _cleanup_close_ int in = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                _cleanup_close_ int out = -EBADF;
                if (in < 0)
                        return err_set(errp, errno, "open '%s'", path);
                out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             0600);
                if (out < 0)
                        return err_set(errp, errno, "create '%s'", path);
                for (;;) {
                        ssize_t n = read(in, cp->buf, sizeof(cp->buf));
                        if (n < 0)
                                return err_set(errp, errno, "read '%s'", path);
                        if (n == 0)
                                break;
                        r = fd_write_full(out, cp->buf, (size_t)n);
                        if (r < 0)
                                return err_set(errp, -r, "write '%s'", path);
                }
        } else if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(src, "", target, PATH_MAX);
                if (n < 0)
                        return err_set(errp, errno, "read link '%s'", path);
                target[n] = 0;
                if (symlinkat(target, dst_dir, name) < 0)
                        return err_set(errp, errno, "create symlink '%s'", path);
                return set_meta(cp, dst_dir, name, st, true, path, errp);
        } else if (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
                if (mknodat(dst_dir, name, st->st_mode, st->st_rdev) < 0)
                        return err_set(errp, errno, "create '%s'", path);
        } else
                return err_setx(errp, EINVAL, "'%s': cannot copy a socket", path);
        return set_meta(cp, dst_dir, name, st, false, path, errp);
}

/* ---- docker's rules ---- */

struct cp_path {
        char *parent; /* "" for the root */
        char *name;   /* "." for the root and for "DIR/." */
        bool trailing_slash, trailing_dot;
};

static void cp_path_done(struct cp_path *p) {
        free(p->parent);
        free(p->name);
}

static void cp_path_split(const char *path, struct cp_path *ret) {
        _cleanup_free_ char *s = xstrdup(path);
        size_t n = strlen(s);
        char *slash;

        *ret = (struct cp_path){};
        ret->trailing_dot = (n >= 2 && streq(s + n - 2, "/.")) || streq(s, ".");
        while (n > 1 && s[n - 1] == '/') {
                s[--n] = 0;
                ret->trailing_slash = true;
        }
        slash = strrchr(s, '/');
        if (!slash) {
                ret->parent = xstrdup(".");
                ret->name = xstrdup(s);
        } else if (slash == s) {
                ret->parent = xstrdup("/");
                ret->name = xstrdup(s[1] ? s + 1 : ".");
        } else {
                ret->parent = xstrndup(s, (size_t)(slash - s));
                ret->name = xstrdup(slash + 1);
        }
}

/* Opens a path's parent directory and the entry itself (O_PATH). in_root >= 0: resolved inside
 * that root; otherwise a host path. */
static int open_path(int in_root, const struct cp_path *p, bool follow, int *ret_parent,
                     int *ret_entry) {
        _cleanup_close_ int parent = -EBADF, entry = -EBADF;

        if (in_root >= 0)
                parent = rt_open_in_root(in_root, p->parent, false, false);
        else {
                parent = open(p->parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0)
                        parent = -errno;
        }
        if (parent < 0)
                return parent;
        if (follow && in_root >= 0) {
                _cleanup_free_ char *full = xasprintf("%s/%s", p->parent, p->name);
                entry = rt_open_in_root(in_root, full, false, false);
        } else {
                entry = openat(parent, p->name, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
                if (entry < 0)
                        entry = -errno;
        }
        *ret_parent = TAKE_FD(parent);
        *ret_entry = entry; /* may be negative: does not exist */
        TAKE_FD(entry);
        return 0;
}

/* The copy from src (in src_root, or the host when < 0) to dest (in dst_root or the host). */
static int do_copy(int src_root, const char *src, int dst_root, const char *dest, bool follow,
                   bool keep_owner, struct err **errp) {
        _cleanup_close_ int sparent = -EBADF, sentry = -EBADF, dparent = -EBADF, dentry = -EBADF;
        _cleanup_free_ struct cp *cp = xnew0(struct cp, 1);
        struct cp_path sp, dp;
        struct stat sst, dst;
        int r;

        cp->keep_owner = keep_owner;
        cp_path_split(src, &sp);
        cp_path_split(dest, &dp);
        r = open_path(src_root, &sp, follow || sp.trailing_slash, &sparent, &sentry);
        if (r < 0 || sentry < 0) {
                r = err_set(errp, -(r < 0 ? r : sentry), "source '%s'", src);
                goto out;
        }
        if (fstatat(sentry, "", &sst, AT_EMPTY_PATH) < 0) {
                r = err_set(errp, errno, "stat '%s'", src);
                goto out;
        }
        if (sp.trailing_slash && !S_ISDIR(sst.st_mode)) {
                r = err_setx(errp, ENOTDIR, "source '%s' is not a directory", src);
                goto out;
        }
        r = open_path(dst_root, &dp, true, &dparent, &dentry);
        if (r < 0) {
                r = err_set(errp, -r, "destination '%s': parent directory", dest);
                goto out;
        }
        if (dentry >= 0 && fstatat(dentry, "", &dst, AT_EMPTY_PATH) == 0 && S_ISDIR(dst.st_mode)) {
                _cleanup_close_ int d = openat(dentry, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_free_ char *name = NULL;
                if (d < 0) {
                        r = err_set(errp, errno, "open '%s'", dest);
                        goto out;
                }
                if (S_ISDIR(sst.st_mode) && (sp.trailing_dot || streq(sp.name, "."))) {
                        _cleanup_close_ int in =
                                openat(sentry, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (in < 0) {
                                r = err_set(errp, errno, "open '%s'", src);
                                goto out;
                        }
                        r = copy_dir_contents(cp, in, d, dest, 0, errp);
                        goto out;
                }
                name = xstrdup(sp.name);
                r = copy_entry(cp, sentry, &sst, d, name, dest, 0, errp);
                goto out;
        }
        if (dentry >= 0 && S_ISDIR(sst.st_mode)) {
                r = err_setx(errp, ENOTDIR, "cannot copy directory '%s' to file '%s'", src, dest);
                goto out;
        }
        if (dentry < 0 && dp.trailing_slash && !S_ISDIR(sst.st_mode)) {
                r = err_setx(errp, ENOENT, "destination directory '%s' does not exist", dest);
                goto out;
        }
        {
                _cleanup_close_ int d = openat(dparent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d < 0) {
                        r = err_set(errp, errno, "open the parent of '%s'", dest);
                        goto out;
                }
                r = copy_entry(cp, sentry, &sst, d, dp.name, dest, 0, errp);
        }
out:
        cp_path_done(&sp);
        cp_path_done(&dp);
        return r;
}

static int check_paths(const char *ctr_path, const char *host_path, struct err **errp) {
        if (!ctr_path || !ctr_path[0])
                return err_setx(errp, EINVAL, "cp: the container path is empty");
        if (!host_path || host_path[0] != '/')
                return err_setx(errp, EINVAL, "cp: '%s' is not an absolute path on the host",
                                host_path ?: "");
        return 0;
}

int ctr_copy_out(struct ctr *c, const char *src, const char *host_dest, const struct ctr_cp_opts *o,
                 struct err **errp) {
        struct ctr_root root;
        int r;

        r = check_paths(src, host_dest, errp);
        if (r < 0)
                return r;
        r = ctr_root_open_live(c, &root, errp);
        if (r < 0)
                return r;
        r = do_copy(root.fd, src, -EBADF, host_dest, o->follow, o->archive, errp);
        ctr_root_done(&root);
        if (r < 0)
                return err_wrap(errp, "copy '%s' out of container %s", src, c->id);
        return 0;
}

int ctr_copy_in(struct ctr *c, const char *host_src, const char *dest, const struct ctr_cp_opts *o,
                struct err **errp) {
        struct ctr_root root;
        int r;

        r = check_paths(dest, host_src, errp);
        if (r < 0)
                return r;
        r = ctr_root_open_live(c, &root, errp);
        if (r < 0)
                return r;
        r = do_copy(-EBADF, host_src, root.fd, dest, o->follow, o->archive, errp);
        ctr_root_done(&root);
        if (r < 0)
                return err_wrap(errp, "copy '%s' into container %s", host_src, c->id);
        return 0;
}
