/* SPDX-License-Identifier: Apache-2.0 */
/* The container's file system view, set up in its init process inside its own mount namespace.
 * Every mount is its own small function; each says why it is safe for its input (STYLE C14).
 * Destinations are resolved inside the rootfs through a directory fd (STYLE C7). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "runtime/init.h"
#include "strv.h"

int rt_cerr_set(struct rt_cerr *ce, int code, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(ce->msg, sizeof(ce->msg), fmt, ap);
        va_end(ap);
        if (code != 0 && n >= 0 && (size_t)n < sizeof(ce->msg))
                snprintf(ce->msg + n, sizeof(ce->msg) - (size_t)n, ": %s", strerror(code));
        ce->code = code ? code : EIO;
        return -ce->code;
}

/* The fallback resolver. `resolved` is kept as a path relative to rootfd made only of components
 * already checked not to be symlinks; a symlink's target is spliced in front of the remaining
 * components (absolute targets restart at the root), and ".." never goes above the root. At most
 * 40 symlinks are followed, as the kernel does. */
int rt_open_in_root_walk(int rootfd, const char *path, bool create, bool create_file) {
        char resolved[PATH_MAX] = ".", rest[PATH_MAX], link[PATH_MAX];
        int links = 0;

        if (strlen(path) >= sizeof(rest))
                return -ENAMETOOLONG;
        snprintf(rest, sizeof(rest), "%s", path);
        for (;;) {
                char *p = rest, comp[NAME_MAX + 1], cand[PATH_MAX];
                struct stat st;
                size_t len;

                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;
                len = strcspn(p, "/");
                if (len > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, len);
                comp[len] = '\0';
                memmove(rest, p + len, strlen(p + len) + 1);
                if (streq(comp, "."))
                        continue;
                if (streq(comp, "..")) {
                        char *slash = strrchr(resolved, '/');
                        if (slash)
                                *slash = '\0';
                        else
                                snprintf(resolved, sizeof(resolved), ".");
                        continue;
                }
                if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", resolved, comp) >= sizeof(cand))
                        return -ENAMETOOLONG;
                if (fstatat(rootfd, cand, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        bool last = rest[strspn(rest, "/")] == '\0';
                        if (errno != ENOENT || !create)
                                return -errno;
                        if (last && create_file) {
                                int fd = openat(
                                        rootfd, cand,
                                        O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                                if (fd < 0 && errno != EEXIST)
                                        return -errno;
                                safe_close(fd);
                        } else if (mkdirat(rootfd, cand, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        if (fstatat(rootfd, cand, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return -errno;
                }
                if (S_ISLNK(st.st_mode)) {
                        ssize_t n;
                        char tmp[PATH_MAX];

                        if (++links > 40)
                                return -ELOOP;
                        n = readlinkat(rootfd, cand, link, sizeof(link) - 1);
                        if (n < 0)
                                return -errno;
                        link[n] = '\0';
                        if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", link, rest) >= sizeof(tmp))
                                return -ENAMETOOLONG;
                        memcpy(rest, tmp, strlen(tmp) + 1);
                        if (link[0] == '/')
                                snprintf(resolved, sizeof(resolved), ".");
                        continue;
                }
                memcpy(resolved, cand, strlen(cand) + 1);
        }
        return openat(rootfd, resolved, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int rt_open_in_root(int rootfd, const char *path, bool create, bool create_file) {
        /* Cached probe (STYLE C10/C12): once openat2 said ENOSYS we stop asking. */
        static bool no_openat2 = false;
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        if (!no_openat2) {
                fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd >= 0)
                        return fd;
                if (errno == ENOSYS)
                        no_openat2 = true;
                else if (errno != ENOENT || !create)
                        return -errno;
        }
        return rt_open_in_root_walk(rootfd, path, create, create_file);
}

static void fd_path(int fd, char *buf, size_t n) {
        snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* A /proc/self/fd path names the directory under a new mount, not the mount: follow-up
 * operations (remount, propagation) reopen the destination so that they act on the mount. */
static int reopen_target(int rootfd, const char *dest, int *fd, char *t, size_t n) {
        *fd = safe_close(*fd);
        *fd = rt_open_in_root(rootfd, dest, false, false);
        if (*fd < 0)
                return *fd;
        fd_path(*fd, t, n);
        return 0;
}

/* Safe: only changes propagation of our own (new, private) mount namespace so that nothing we
 * mount leaks back to the host. */
static int mount_make_root_propagation(unsigned long prop, struct rt_cerr *ce) {
        if (prop & MS_SHARED)
                prop = MS_SLAVE | MS_REC; /* shared is set on the new root after pivot_root */
        if (mount(NULL, "/", NULL, prop ? prop : (MS_SLAVE | MS_REC), NULL) < 0)
                return rt_cerr_set(ce, errno, "make / %s", prop ? "as requested" : "rslave");
        return 0;
}

/* Safe: binds the rootfs onto itself so that it is a mount point for pivot_root; the source is
 * the bundle's root, chosen by the caller of the runtime. */
static int mount_bind_rootfs(const char *rootfs, struct rt_cerr *ce) {
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return rt_cerr_set(ce, errno, "bind rootfs '%s'", rootfs);
        if (mount(NULL, rootfs, NULL, MS_PRIVATE, NULL) < 0)
                return rt_cerr_set(ce, errno, "make rootfs private");
        return 0;
}

/* Safe: a bind mount of a source the spec's author chose onto a destination resolved inside the
 * rootfs (target is a /proc/self/fd path of an fd opened in the root), then a remount that can
 * only add restrictions (ro, nosuid, ...). */
static int mount_bind(int rootfd, const struct spec_mount *m, const char *target0,
                      struct rt_cerr *ce) {
        unsigned long f = MS_BIND | (m->recursive ? MS_REC : 0);
        _cleanup_close_ int fd = -EBADF;
        char target[64];

        if (mount(m->source, target0, NULL, f, NULL) < 0)
                return rt_cerr_set(ce, errno, "bind '%s' on '%s'", m->source, m->destination);
        if (reopen_target(rootfd, m->destination, &fd, target, sizeof(target)) < 0)
                return rt_cerr_set(ce, -fd, "reopen '%s'", m->destination);
        if (m->flags & ~(unsigned long)MS_REMOUNT) {
                struct statvfs sv;
                unsigned long keep = 0;
                /* Flags the kernel locks on the mount must be kept in the remount. */
                if (statvfs(target, &sv) == 0)
                        keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RDONLY);
                if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | m->flags | keep, NULL) < 0)
                        return rt_cerr_set(ce, errno, "remount '%s' with its options",
                                           m->destination);
        }
        if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
                return rt_cerr_set(ce, errno, "set propagation of '%s'", m->destination);
        return 0;
}

/* Safe: a fresh kernel file system instance (proc, tmpfs, devpts, mqueue, sysfs) inside our own
 * namespaces; nothing of the host is exposed that the namespaces do not already scope. */
static int mount_fs(int rootfd, const struct spec_mount *m, const char *target0,
                    struct rt_cerr *ce) {
        _cleanup_close_ int fd = -EBADF;
        char target[64];

        if (mount(m->source ? m->source : m->type, target0, m->type, m->flags & ~MS_REMOUNT,
                  m->data) < 0)
                return rt_cerr_set(ce, errno, "mount %s on '%s'", m->type, m->destination);
        if (!m->propagation)
                return 0;
        if (reopen_target(rootfd, m->destination, &fd, target, sizeof(target)) < 0)
                return rt_cerr_set(ce, -fd, "reopen '%s'", m->destination);
        if (mount(NULL, target, NULL, m->propagation, NULL) < 0)
                return rt_cerr_set(ce, errno, "set propagation of '%s'", m->destination);
        return 0;
}

/* sysfs cannot be mounted without a new network namespace: fall back to a read-only recursive
 * bind of the host's /sys, as runc does. Safe: read-only, and only reached when the spec asked
 * for /sys while sharing the host's network namespace. */
static int mount_sysfs(int rootfd, const struct spec_mount *m, const char *target, bool new_netns,
                       struct rt_cerr *ce) {
        struct spec_mount b = *m;

        if (new_netns)
                return mount_fs(rootfd, m, target, ce);
        b.source = (char *)"/sys";
        b.recursive = true;
        b.flags |= MS_RDONLY;
        return mount_bind(rootfd, &b, target, ce);
}

/* A "cgroup" entry: the container's view of its cgroups. With a cgroup namespace the kernel
 * shows only the container's subtree. Safe: mounted read-only unless the spec said rw. */
static int mount_cgroup(const struct rt_init *init, int rootfd, const struct spec_mount *m,
                        const char *target0, struct rt_cerr *ce) {
        unsigned long f = m->flags & ~MS_REMOUNT;
        _cleanup_close_ int tfd = -EBADF;
        const char *target = target0;
        char tbuf[64];
        int r;

        if (init->cgroup2) {
                if (mount("cgroup2", target, "cgroup2", f, NULL) < 0)
                        return rt_cerr_set(ce, errno, "mount cgroup2 on '%s'", m->destination);
                return 0;
        }
        if (mount("tmpfs", target, "tmpfs", (f & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=755") < 0)
                return rt_cerr_set(ce, errno, "mount tmpfs on '%s'", m->destination);
        for (size_t i = 0; i < ELEMENTSOF(init->cgroup_v1_ctrls) && init->cgroup_v1_ctrls[i]; i++) {
                char sub[PATH_MAX], t[64];
                _cleanup_close_ int fd = -EBADF;

                snprintf(sub, sizeof(sub), "%s/%s", m->destination, init->cgroup_v1_ctrls[i]);
                fd = rt_open_in_root(rootfd, sub, true, false);
                if (fd < 0)
                        return rt_cerr_set(ce, -fd, "create '%s'", sub);
                fd_path(fd, t, sizeof(t));
                if (mount("cgroup", t, "cgroup", f, init->cgroup_v1_ctrls[i]) < 0)
                        return rt_cerr_set(ce, errno, "mount cgroup '%s'", sub);
        }
        if (f & MS_RDONLY) {
                if (reopen_target(rootfd, m->destination, &tfd, tbuf, sizeof(tbuf)) < 0)
                        return rt_cerr_set(ce, -tfd, "reopen '%s'", m->destination);
                target = tbuf;
                r = mount(NULL, target, NULL,
                          MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          NULL);
                if (r < 0)
                        return rt_cerr_set(ce, errno, "remount '%s' read-only", m->destination);
        }
        return 0;
}

static bool source_is_file(const struct spec_mount *m) {
        struct stat st;
        return m->bind && m->source && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode);
}

static const struct {
        const char *name;
        unsigned maj, min;
} default_devices[] = {
        {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Creates one device node in the container's /dev. Without a user namespace mknod works (the
 * device cgroup still decides access); inside one we bind the host's node instead. Safe: the
 * node is created through a resolved fd of the container's /dev, never by a path string. */
static int make_device(int rootfd, const char *path, char type, unsigned maj, unsigned min,
                       mode_t mode, uid_t uid, gid_t gid, bool userns, struct rt_cerr *ce) {
        char rel[PATH_MAX], t[64];
        const char *slash;
        _cleanup_close_ int dirfd = -EBADF, fd = -EBADF;
        mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;

        slash = strrchr(path, '/');
        snprintf(rel, sizeof(rel), "%.*s", (int)(slash - path), path);
        dirfd = rt_open_in_root(rootfd, rel[0] ? rel : "/", true, false);
        if (dirfd < 0)
                return rt_cerr_set(ce, -dirfd, "open parent of '%s'", path);
        fd_path(dirfd, t, sizeof(t));
        {
                _cleanup_close_ int d = open(t, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (d < 0)
                        return rt_cerr_set(ce, errno, "open '%s'", rel);
                (void)unlinkat(d, slash + 1, 0);
                if (!userns) {
                        if (mknodat(d, slash + 1, kind | (mode & 07777), makedev(maj, min)) < 0)
                                return rt_cerr_set(ce, errno, "mknod '%s'", path);
                        if (fchownat(d, slash + 1, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                                return rt_cerr_set(ce, errno, "chown '%s'", path);
                        return 0;
                }
                fd = openat(d, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                            0644);
                if (fd < 0)
                        return rt_cerr_set(ce, errno, "create '%s'", path);
                fd = safe_close(fd);
                fd = openat(d, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return rt_cerr_set(ce, errno, "open '%s'", path);
                fd_path(fd, t, sizeof(t));
                if (mount(path, t, NULL, MS_BIND, NULL) < 0)
                        return rt_cerr_set(ce, errno, "bind host '%s'", path);
        }
        return 0;
}

/* The standard /dev symlinks. Safe: created with symlinkat() in the container's own fresh /dev
 * tmpfs (opened through the rootfs fd); their targets are fixed strings resolved later by the
 * container, inside its own root. */
static int make_dev_symlinks(int rootfd, struct rt_cerr *ce) {
        static const char *const links[][2] = {
                {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"},
        };
        _cleanup_close_ int devp = rt_open_in_root(rootfd, "/dev", false, false);
        _cleanup_close_ int dev = -EBADF;
        char t[64];

        if (devp < 0)
                return rt_cerr_set(ce, -devp, "open /dev");
        fd_path(devp, t, sizeof(t));
        dev = open(t, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dev < 0)
                return rt_cerr_set(ce, errno, "open /dev");
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                (void)unlinkat(dev, links[i][1], 0);
                if (symlinkat(links[i][0], dev, links[i][1]) < 0)
                        return rt_cerr_set(ce, errno, "symlink /dev/%s", links[i][1]);
        }
        return 0;
}

int rt_mount_setup(const struct rt_init *init, struct rt_cerr *ce) {
        const struct spec *s = init->spec;
        _cleanup_close_ int rootfd = -EBADF;
        bool dev_is_tmpfs = false;
        int r;

        r = mount_make_root_propagation(s->rootfs_propagation, ce);
        if (r < 0)
                return r;
        r = mount_bind_rootfs(init->rootfs, ce);
        if (r < 0)
                return r;
        rootfd = open(init->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return rt_cerr_set(ce, errno, "open rootfs '%s'", init->rootfs);

        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct spec_mount *m = &s->mounts[i];
                _cleanup_close_ int fd = -EBADF;
                char target[64];

                fd = rt_open_in_root(rootfd, m->destination, true, source_is_file(m));
                if (fd < 0)
                        return rt_cerr_set(ce, -fd, "resolve mount destination '%s'",
                                           m->destination);
                fd_path(fd, target, sizeof(target));
                if (m->bind)
                        r = mount_bind(rootfd, m, target, ce);
                else if (streq(m->type, "sysfs"))
                        r = mount_sysfs(rootfd, m, target, init->new_netns, ce);
                else if (streq(m->type, "cgroup") || streq(m->type, "cgroup2"))
                        r = mount_cgroup(init, rootfd, m, target, ce);
                else
                        r = mount_fs(rootfd, m, target, ce);
                if (r < 0)
                        return r;
                if (streq(m->destination, "/dev") && streq_ptr(m->type, "tmpfs"))
                        dev_is_tmpfs = true;
        }

        if (dev_is_tmpfs) {
                mode_t old = umask(0);
                for (size_t i = 0; i < ELEMENTSOF(default_devices); i++) {
                        char p[32];
                        snprintf(p, sizeof(p), "/dev/%s", default_devices[i].name);
                        r = make_device(rootfd, p, 'c', default_devices[i].maj,
                                        default_devices[i].min, 0666, 0, 0, init->userns, ce);
                        if (r < 0) {
                                umask(old);
                                return r;
                        }
                }
                umask(old);
                r = make_dev_symlinks(rootfd, ce);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_devices; i++) {
                const struct spec_device *d = &s->devices[i];
                mode_t old = umask(0);
                r = make_device(rootfd, d->path, d->type == 'u' ? 'c' : d->type, (unsigned)d->major,
                                (unsigned)d->minor, d->has_file_mode ? d->file_mode : 0666, d->uid,
                                d->gid, init->userns, ce);
                umask(old);
                if (r < 0)
                        return r;
        }
        /* The process's cwd must exist; create it now, as root, like runc. */
        {
                _cleanup_close_ int fd = rt_open_in_root(rootfd, init->process->cwd, true, false);
                if (fd < 0)
                        return rt_cerr_set(ce, -fd, "create cwd '%s'", init->process->cwd);
        }
        return 0;
}

/* pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then drops the
 * old root without needing a directory for it inside the rootfs. The old root is made rslave
 * first so that the detach does not propagate anything to the host. */
int rt_mount_pivot(const char *rootfs, struct rt_cerr *ce) {
        _cleanup_close_ int oldroot = -EBADF, newroot = -EBADF;

        oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0)
                return rt_cerr_set(ce, errno, "open /");
        newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (newroot < 0)
                return rt_cerr_set(ce, errno, "open rootfs");
        if (fchdir(newroot) < 0)
                return rt_cerr_set(ce, errno, "chdir rootfs");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return rt_cerr_set(ce, errno, "pivot_root");
        if (fchdir(oldroot) < 0)
                return rt_cerr_set(ce, errno, "chdir old root");
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return rt_cerr_set(ce, errno, "make old root rslave");
        if (umount2(".", MNT_DETACH) < 0)
                return rt_cerr_set(ce, errno, "detach old root");
        if (chdir("/") < 0)
                return rt_cerr_set(ce, errno, "chdir /");
        return 0;
}

/* Safe: hides a path from the container: /dev/null over a file, an empty read-only tmpfs over a
 * directory. Paths that do not exist are skipped. */
static int mount_mask(const char *path, struct rt_cerr *ce) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : rt_cerr_set(ce, errno, "stat masked '%s'", path);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=0") < 0)
                        return rt_cerr_set(ce, errno, "mask directory '%s'", path);
                return 0;
        }
        if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
                return rt_cerr_set(ce, errno, "mask '%s'", path);
        return 0;
}

/* Safe: a read-only bind of a path onto itself only removes the ability to write. */
static int mount_readonly(const char *path, struct rt_cerr *ce) {
        struct statvfs sv;
        unsigned long keep = 0;

        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : rt_cerr_set(ce, errno, "bind '%s'", path);
        if (statvfs(path, &sv) == 0)
                keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
                       (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
                       (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, NULL) < 0)
                return rt_cerr_set(ce, errno, "remount '%s' read-only", path);
        return 0;
}

/* Writes the spec's sysctls through the container's own /proc/sys (namespaced keys only; the
 * parent validated them). */
static int apply_sysctls(const struct spec *s, struct rt_cerr *ce) {
        for (size_t i = 0; i < s->n_sysctls; i++) {
                char p[PATH_MAX];
                size_t n;
                _cleanup_close_ int fd = -EBADF;
                int k = snprintf(p, sizeof(p), "/proc/sys/%s", s->sysctls[i].key);

                for (char *c = p + 10; *c && k > 0; c++)
                        if (*c == '.')
                                *c = '/';
                fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return rt_cerr_set(ce, errno, "open sysctl '%s'", s->sysctls[i].key);
                n = strlen(s->sysctls[i].value);
                if (write(fd, s->sysctls[i].value, n) != (ssize_t)n)
                        return rt_cerr_set(ce, errno, "write sysctl '%s'", s->sysctls[i].key);
        }
        return 0;
}

int rt_mount_after_pivot(const struct rt_init *init, struct rt_cerr *ce) {
        const struct spec *s = init->spec;
        int r;

        r = apply_sysctls(s, ce);
        if (r < 0)
                return r;
        STRV_FOREACH (p, s->masked_paths) {
                r = mount_mask(*p, ce);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH (p, s->readonly_paths) {
                r = mount_readonly(*p, ce);
                if (r < 0)
                        return r;
        }
        if (s->rootfs_propagation & MS_SHARED &&
            mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
                return rt_cerr_set(ce, errno, "make / shared");
        /* Safe: read-only remount of the container's own root. */
        if (s->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                return rt_cerr_set(ce, errno, "remount / read-only");
        return 0;
}
