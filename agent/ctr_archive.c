/* SPDX-License-Identifier: Apache-2.0 */
/* docker's archive routes of a container: a tar of a path (GET), its stat (HEAD, the
 * X-Docker-Container-Path-Stat header) and the extraction of a tar into a directory (PUT).
 *
 * Safety: the container may be running and hostile. Every directory an entry lands in is
 * resolved inside the container's root with rt_open_in_root() (openat2 RESOLVE_IN_ROOT: a
 * symlink or ".." cannot lead out of it), entry names holding ".." are refused, the last
 * component is never followed (an existing non-directory there is removed first, a planted
 * symlink is replaced, never written through), and metadata is set through fds opened with
 * O_NOFOLLOW. The tar writer walks with *at() calls and O_NOFOLLOW as well. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "ctr_fs.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "json.h"
#include "runtime/init.h"
#include "strv.h"
#include "xalloc.h"

#define AR_MAX_DEPTH 256
#define AR_BLOCK (64u * 1024u)

static void archive_freep(struct archive **a) {
        if (*a)
                archive_free(*a);
}
#define _cleanup_archive_ _cleanup_(archive_freep)

static void entry_freep(struct archive_entry **e) {
        if (*e)
                archive_entry_free(*e);
}

/* "a/./b//c/" -> "a/b/c"; "" for the root; -EINVAL for "..". */
static int normalize(const char *name, char **ret) {
        _cleanup_free_ char *copy = xstrdup(name);
        _cleanup_free_ char *out = xstrdup("");
        char *save = NULL;

        for (char *k = strtok_r(copy, "/", &save); k; k = strtok_r(NULL, "/", &save)) {
                char *next;

                if (streq(k, "."))
                        continue;
                if (streq(k, ".."))
                        return -EINVAL;
                next = xasprintf("%s%s%s", out, out[0] ? "/" : "", k);
                free(out);
                out = next;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static char *join(const char *a, const char *b) {
        if (!b[0])
                return xstrdup(a);
        return xasprintf("%s%s%s", a, a[0] && a[strlen(a) - 1] == '/' ? "" : "/", b);
}

/* Opens the directory path of the container (in root) for writing entries: a real directory
 * fd. create makes missing components. */
static int open_dir_in_root(int rootfd, const char *path, bool create, struct err **errp) {
        _cleanup_close_ int p = rt_open_in_root(rootfd, path, create, false);
        int fd;

        if (p < 0)
                return err_set(errp, -p, "'%s'", path);
        fd = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "'%s'", path);
        return fd;
}

/* Removes what sits at name unless it is a directory (then: EISDIR). */
static int clear_slot(int dfd, const char *name, const char *what, struct err **errp) {
        struct stat st;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : err_set(errp, errno, "stat '%s'", what);
        if (S_ISDIR(st.st_mode))
                return err_setx(errp, EISDIR,
                                "cannot overwrite directory '%s' with a non-directory", what);
        if (unlinkat(dfd, name, 0) < 0)
                return err_set(errp, errno, "remove '%s'", what);
        return 0;
}

struct put {
        int rootfd;
        const char *dest; /* the directory entries land in (container path) */
        const struct ctr_archive_put_opts *o;
        /* the last parent directory: consecutive entries of one directory resolve it once (the
         * fd stays the directory resolved in the root even if the path changes meanwhile) */
        char *last_parent;
        int last_dfd;
        char buf[AR_BLOCK];
};

/* Owner, mode and times of the entry just made at dfd/name (type: its S_IFMT). */
static int set_meta(struct put *p, int dfd, const char *name, mode_t type, struct archive_entry *e,
                    const char *what, struct err **errp) {
        struct timespec ts[2] = {
                {.tv_nsec = UTIME_OMIT},
                {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)}};
        uid_t uid = p->o->copy_uid_gid ? (uid_t)archive_entry_uid(e) : p->o->root_uid;
        gid_t gid = p->o->copy_uid_gid ? (gid_t)archive_entry_gid(e) : p->o->root_gid;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *proc = NULL;
        struct stat st;

        if (!archive_entry_mtime_is_set(e))
                ts[1].tv_nsec = UTIME_OMIT;
        if (type == S_IFLNK) {
                if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "set the owner and times of '%s'", what);
                return 0;
        }
        fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return err_set(errp, errno, "open '%s'", what);
        if ((st.st_mode & S_IFMT) != type)
                return err_setx(errp, EBUSY, "'%s' changed while it was extracted", what);
        proc = xasprintf("/proc/self/fd/%d", fd);
        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0 ||
            chmod(proc, archive_entry_perm(e) & 07777) < 0 || utimensat(AT_FDCWD, proc, ts, 0) < 0)
                return err_set(errp, errno, "set the owner, mode and times of '%s'", what);
        return 0;
}

static int put_data(struct archive *a, struct archive_entry *e, int fd, const char *what,
                    struct err **errp) {
        const void *blk;
        size_t len;
        la_int64_t off;
        int r;

        while ((r = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
                if (pwrite(fd, blk, len, (off_t)off) != (ssize_t)len)
                        return err_set(errp, errno ? errno : EIO, "write '%s'", what);
        }
        if (r != ARCHIVE_EOF)
                return err_setx(errp, EIO, "read the archive at '%s': %s", what,
                                archive_error_string(a) ?: "error");
        /* a sparse file's hole at the end */
        if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
                return err_set(errp, errno, "write '%s'", what);
        return 0;
}

static int put_entry(struct put *p, struct archive *a, struct archive_entry *e, struct err **errp) {
        _cleanup_free_ char *rel = NULL, *dir = NULL, *parent = NULL, *what = NULL;
        int dfd;
        const char *name = archive_entry_pathname(e) ?: "";
        const char *base;
        mode_t type = archive_entry_filetype(e);
        const char *hl = archive_entry_hardlink(e);
        int r;

        if (normalize(name, &rel) < 0) {
                r = err_setx(errp, EINVAL, "archive entry '%s': '..' is not allowed", name);
                return r;
        }
        if (p->o->rename_from && p->o->rename_to) {
                size_t n = strlen(p->o->rename_from);

                if (strncmp(rel, p->o->rename_from, n) == 0 && (rel[n] == '/' || !rel[n])) {
                        char *next = xasprintf("%s%s", p->o->rename_to, rel + n);
                        free(rel);
                        rel = next;
                }
        }
        if (!rel[0])
                return 0; /* "./": the destination itself */
        what = join(p->dest, rel);
        base = strrchr(rel, '/');
        dir = base ? xstrndup(rel, (size_t)(base - rel)) : xstrdup("");
        base = base ? base + 1 : rel;
        parent = join(p->dest, dir);
        if (p->last_parent && streq(p->last_parent, parent))
                dfd = p->last_dfd;
        else {
                dfd = open_dir_in_root(p->rootfd, parent, true, errp);
                if (dfd < 0)
                        return err_wrap(errp, "archive entry '%s'", name);
                safe_close(p->last_dfd);
                free(p->last_parent);
                p->last_dfd = dfd;
                p->last_parent = TAKE_PTR(parent);
        }
        if (hl) {
                _cleanup_free_ char *trel = NULL, *target = NULL;
                _cleanup_close_ int tfd = -EBADF;
                struct stat st;

                if (normalize(hl, &trel) < 0 || !trel[0])
                        return err_setx(errp, EINVAL, "archive entry '%s': bad link target '%s'",
                                        name, hl);
                if (p->o->rename_from && p->o->rename_to &&
                    strncmp(trel, p->o->rename_from, strlen(p->o->rename_from)) == 0 &&
                    (trel[strlen(p->o->rename_from)] == '/' || !trel[strlen(p->o->rename_from)])) {
                        char *next = xasprintf("%s%s", p->o->rename_to,
                                               trel + strlen(p->o->rename_from));
                        free(trel);
                        trel = next;
                }
                target = join(p->dest, trel);
                tfd = rt_open_in_root(p->rootfd, target, false, false);
                if (tfd < 0)
                        return err_set(errp, -tfd, "archive entry '%s': link target '%s'", name,
                                       hl);
                if (fstat(tfd, &st) < 0 || !S_ISREG(st.st_mode))
                        return err_setx(errp, EINVAL,
                                        "archive entry '%s': link target '%s' is not a file", name,
                                        hl);
                r = clear_slot(dfd, base, what, errp);
                if (r < 0)
                        return r;
                if (linkat(tfd, "", dfd, base, AT_EMPTY_PATH) < 0)
                        return err_set(errp, errno, "link '%s'", what);
                return 0;
        }
        switch (type) {
        case AE_IFDIR: {
                struct stat st;

                if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
                        if (p->o->no_overwrite_dir_non_dir)
                                return err_setx(errp, EEXIST,
                                                "cannot overwrite non-directory '%s' with a "
                                                "directory",
                                                what);
                        if (unlinkat(dfd, base, 0) < 0)
                                return err_set(errp, errno, "remove '%s'", what);
                }
                if (mkdirat(dfd, base, 0700) < 0 && errno != EEXIST)
                        return err_set(errp, errno, "create directory '%s'", what);
                break;
        }
        case AE_IFREG: {
                _cleanup_close_ int fd = -EBADF;

                r = clear_slot(dfd, base, what, errp);
                if (r < 0)
                        return r;
                fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return err_set(errp, errno, "create '%s'", what);
                r = put_data(a, e, fd, what, errp);
                if (r < 0)
                        return r;
                break;
        }
        case AE_IFLNK:
                r = clear_slot(dfd, base, what, errp);
                if (r < 0)
                        return r;
                if (symlinkat(archive_entry_symlink(e) ?: "", dfd, base) < 0)
                        return err_set(errp, errno, "create symlink '%s'", what);
                break;
        case AE_IFIFO:
                r = clear_slot(dfd, base, what, errp);
                if (r < 0)
                        return r;
                if (mkfifoat(dfd, base, 0600) < 0)
                        return err_set(errp, errno, "create fifo '%s'", what);
                break;
        default:
                return err_setx(errp, EINVAL,
                                "archive entry '%s': device nodes and sockets are not extracted",
                                name);
        }
        return set_meta(p, dfd, base, type, e, what, errp);
}

/* Extracts the tar read from fd into the directory dir of root. */
static int put_tar(int rootfd, const char *dir, int fd, const struct ctr_archive_put_opts *o,
                   struct err **errp) {
        _cleanup_archive_ struct archive *a = archive_read_new();
        _cleanup_free_ struct put *p = xnew0(struct put, 1);
        struct archive_entry *e;
        int r;

        p->rootfd = rootfd;
        p->dest = dir;
        p->o = o;
        p->last_dfd = -EBADF;
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_read_support_filter_all(a);
        if (archive_read_open_fd(a, fd, AR_BLOCK) != ARCHIVE_OK)
                return err_setx(errp, EINVAL, "read the archive: %s",
                                archive_error_string(a) ?: "not a tar");
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                int k = put_entry(p, a, e, errp);
                if (k < 0) {
                        safe_close(p->last_dfd);
                        free(p->last_parent);
                        return k;
                }
        }
        safe_close(p->last_dfd);
        free(p->last_parent);
        if (r != ARCHIVE_EOF)
                return err_setx(errp, EINVAL, "read the archive: %s",
                                archive_error_string(a) ?: "not a tar");
        return 0;
}

/* Splits "/a/b/" into parent "/a" and name "b" ("/" has the name "."). */
static void split(const char *path, char **ret_parent, char **ret_name) {
        _cleanup_free_ char *s = xstrdup(path);
        size_t n = strlen(s);
        char *slash;

        while (n > 1 && s[n - 1] == '/')
                s[--n] = 0;
        slash = strrchr(s, '/');
        if (!slash) {
                *ret_parent = xstrdup("/");
                *ret_name = xstrdup(s);
        } else if (slash == s) {
                *ret_parent = xstrdup("/");
                *ret_name = xstrdup(s[1] ? s + 1 : ".");
        } else {
                *ret_parent = xstrndup(s, (size_t)(slash - s));
                *ret_name = xstrdup(slash + 1);
        }
}

int ctr_archive_put(struct ctr *c, const char *path, int fd, const struct ctr_archive_put_opts *o,
                    struct err **errp) {
        _cleanup_free_ char *parent = NULL, *name = NULL;
        struct ctr_archive_put_opts oo = *o;
        _cleanup_close_ int pfd = -EBADF;
        struct ctr_root root;
        struct stat st;
        bool exists;
        int r;

        if (!path || path[0] != '/')
                return err_setx(errp, EINVAL, "path: '%s' is not an absolute container path",
                                path ?: "");
        r = ctr_root_open_live(c, &root, errp);
        if (r < 0)
                return r;
        {
                _cleanup_close_ int ent = rt_open_in_root(root.fd, path, false, false);
                exists = ent >= 0 && fstat(ent, &st) == 0;
                if (ent < 0 && ent != -ENOENT) {
                        r = err_set(errp, -ent, "path '%s'", path);
                        goto out;
                }
        }
        if (!o->cp) {
                /* docker: path must be an existing directory */
                if (!exists)
                        r = err_setx(errp, ENOENT, "Could not find the file %s in container %s",
                                     path, ctr_name(c));
                else if (!S_ISDIR(st.st_mode))
                        r = err_setx(errp, ENOTDIR, "path '%s' is not a directory", path);
                else
                        r = put_tar(root.fd, path, fd, o, errp);
                goto out;
        }
        /* berth cp: docker's rules for the destination, the archive holds o->name */
        if (exists && S_ISDIR(st.st_mode)) {
                r = put_tar(root.fd, path, fd, o, errp);
                goto out;
        }
        if (exists && o->src_dir) {
                r = err_setx(errp, ENOTDIR, "cannot copy a directory to file '%s'", path);
                goto out;
        }
        if (!exists && path[strlen(path) - 1] == '/' && !o->src_dir) {
                r = err_setx(errp, ENOENT, "destination directory '%s' does not exist", path);
                goto out;
        }
        split(path, &parent, &name);
        pfd = rt_open_in_root(root.fd, parent, false, false);
        if (pfd < 0 || fstat(pfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
                r = err_set(errp, pfd < 0 ? -pfd : ENOTDIR,
                            "destination '%s': parent directory '%s'", path, parent);
                goto out;
        }
        if (!o->name || streq(o->name, ".")) {
                /* the contents of a directory: into a new directory named path */
                _cleanup_close_ int d = open_dir_in_root(root.fd, path, true, errp);
                r = d < 0 ? d : put_tar(root.fd, path, fd, o, errp);
                goto out;
        }
        oo.rename_from = o->name;
        oo.rename_to = name;
        r = put_tar(root.fd, parent, fd, &oo, errp);
out:
        ctr_root_done(&root);
        if (r < 0)
                return err_wrap(errp, "extract into '%s' of container %s", path, c->id);
        return 0;
}

/* ---- GET, HEAD ---- */

/* Go's os.FileMode bits, which docker's stat header carries. */
static uint32_t go_mode(mode_t m) {
        uint32_t g = m & 0777;

        switch (m & S_IFMT) {
        case S_IFDIR:
                g |= 1u << 31;
                break;
        case S_IFLNK:
                g |= 1u << 27;
                break;
        case S_IFIFO:
                g |= 1u << 25;
                break;
        case S_IFSOCK:
                g |= 1u << 24;
                break;
        case S_IFCHR:
                g |= (1u << 26) | (1u << 21);
                break;
        case S_IFBLK:
                g |= 1u << 26;
                break;
        default:
                break;
        }
        if (m & S_ISUID)
                g |= 1u << 23;
        if (m & S_ISGID)
                g |= 1u << 22;
        if (m & S_ISVTX)
                g |= 1u << 20;
        return g;
}

void ctr_root_ids(const struct ctr *c, uid_t *ret_uid, gid_t *ret_gid) {
        *ret_uid = (uid_t)json_get_int(c->rec, "BerthRootUid", 0);
        *ret_gid = (gid_t)json_get_int(c->rec, "BerthRootGid", 0);
}

struct get {
        struct archive *w;
        char buf[AR_BLOCK];
};

static int get_entry(struct get *g, int fd, const char *arcname, unsigned depth,
                     struct err **errp) {
        _cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();
        struct stat st;

        if (depth > AR_MAX_DEPTH)
                return err_setx(errp, ELOOP, "'%s': deeper than %d levels", arcname, AR_MAX_DEPTH);
        if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "stat '%s'", arcname);
        archive_entry_copy_stat(e, &st);
        archive_entry_set_pathname(e, arcname);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

                if (n < 0)
                        return err_set(errp, errno, "read link '%s'", arcname);
                target[n] = 0;
                archive_entry_set_symlink(e, target);
        } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                archive_entry_set_size(e, 0);
        if (archive_write_header(g->w, e) < ARCHIVE_WARN)
                return err_setx(errp, EIO, "write the archive at '%s': %s", arcname,
                                archive_error_string(g->w) ?: "error");
        if (S_ISREG(st.st_mode)) {
                _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", fd);
                /* the O_PATH fd was opened O_NOFOLLOW: reopening it cannot follow anything */
                _cleanup_close_ int in = open(proc, O_RDONLY | O_CLOEXEC);
                uint64_t left = (uint64_t)st.st_size;

                if (in < 0)
                        return err_set(errp, errno, "open '%s'", arcname);
                while (left > 0) {
                        ssize_t n = read(in, g->buf, MIN(sizeof(g->buf), left));

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return err_set(errp, errno, "read '%s'", arcname);
                        if (n == 0) /* it shrank: pad with zeros, the header has the size */
                                memset(g->buf, 0, (size_t)(n = (ssize_t)MIN(sizeof(g->buf), left)));
                        if (archive_write_data(g->w, g->buf, (size_t)n) != n)
                                return err_setx(errp, EIO, "write the archive: %s",
                                                archive_error_string(g->w) ?: "error");
                        left -= (uint64_t)n;
                }
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_strv_ char **names = NULL;
                int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d;
                struct dirent *de;

                if (dfd < 0)
                        return err_set(errp, errno, "open '%s'", arcname);
                d = fdopendir(dfd);
                if (!d) {
                        safe_close(dfd);
                        return err_set(errp, errno, "open '%s'", arcname);
                }
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                strv_push(&names, de->d_name);
                qsort_safe(names, strv_length(names), sizeof(char *), strv_cmp);
                STRV_FOREACH (n, names) {
                        _cleanup_free_ char *child =
                                streq(arcname, ".") ? xstrdup(*n) : xasprintf("%s/%s", arcname, *n);
                        _cleanup_close_ int cfd =
                                openat(dirfd(d), *n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        int r;

                        if (cfd < 0) {
                                if (errno == ENOENT)
                                        continue; /* gone meanwhile */
                                closedir(d);
                                return err_set(errp, errno, "open '%s'", child);
                        }
                        r = get_entry(g, cfd, child, depth + 1, errp);
                        if (r < 0) {
                                closedir(d);
                                return r;
                        }
                }
                closedir(d);
        }
        return 0;
}

int ctr_archive_get(struct ctr *c, const char *path, int out_fd, char **ret_stat,
                    struct err **errp) {
        _cleanup_free_ char *parent = NULL, *name = NULL, *ts = NULL, *dump = NULL;
        _cleanup_close_ int pfd = -EBADF, ent = -EBADF;
        _cleanup_json_ json_t *stat_j = NULL;
        char target[PATH_MAX] = "";
        struct ctr_root root;
        struct stat st;
        struct tm tm;
        size_t n;
        int r;

        if (!path || path[0] != '/')
                return err_setx(errp, EINVAL, "path: '%s' is not an absolute container path",
                                path ?: "");
        r = ctr_root_open_live(c, &root, errp);
        if (r < 0)
                return r;
        n = strlen(path);
        if (path[n - 1] == '/' || (n >= 2 && streq(path + n - 2, "/.")))
                ent = rt_open_in_root(root.fd, path, false, false); /* follows, in the root */
        else {
                split(path, &parent, &name);
                pfd = rt_open_in_root(root.fd, parent, false, false);
                ent = pfd < 0 ? pfd : openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (pfd >= 0 && ent < 0)
                        ent = -errno;
        }
        if (ent < 0) {
                r = ent == -ENOENT
                            ? err_setx(errp, ENOENT, "Could not find the file %s in container %s",
                                       path, ctr_name(c))
                            : err_set(errp, -ent, "path '%s'", path);
                goto out;
        }
        if (fstatat(ent, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
                r = err_set(errp, errno, "stat '%s'", path);
                goto out;
        }
        if (S_ISLNK(st.st_mode)) {
                ssize_t k = readlinkat(ent, "", target, sizeof(target) - 1);
                target[k > 0 ? k : 0] = 0;
        }
        free(name);
        free(parent);
        split(path, &parent, &name);
        gmtime_r(&st.st_mtim.tv_sec, &tm);
        ts = xmalloc(64);
        strftime(ts, 64, "%Y-%m-%dT%H:%M:%SZ", &tm);
        stat_j = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", streq(name, ".") ? "/" : name, "size",
                           (json_int_t)st.st_size, "mode", (json_int_t)go_mode(st.st_mode), "mtime",
                           ts, "linkTarget", target);
        dump = json_dump_str(stat_j, true);
        if (ret_stat)
                *ret_stat = base64_encode(dump, strlen(dump));
        if (out_fd >= 0) {
                _cleanup_archive_ struct archive *w = archive_write_new();
                _cleanup_free_ struct get *g = xnew0(struct get, 1);
                bool contents = path[n - 1] == '.' || streq(name, ".");

                g->w = w;
                archive_write_set_format_pax_restricted(w);
                if (archive_write_open_fd(w, out_fd) != ARCHIVE_OK) {
                        r = err_setx(errp, EIO, "write the archive: %s",
                                     archive_error_string(w) ?: "error");
                        goto out;
                }
                r = get_entry(g, ent, contents ? "." : name, 0, errp);
                if (r >= 0 && archive_write_close(w) != ARCHIVE_OK)
                        r = err_setx(errp, EIO, "write the archive: %s",
                                     archive_error_string(w) ?: "error");
        }
out:
        ctr_root_done(&root);
        if (r < 0)
                return err_wrap(errp, "archive '%s' of container %s", path, c->id);
        return 0;
}
