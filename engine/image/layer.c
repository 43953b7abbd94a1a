/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "image/errwrap.h"
#include "image/gunzip.h"
#include "fileio.h"
#include "image/layer.h"
#include "image/ref.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META_PREFIX ".wh..wh."
#define MAX_DEPTH 256

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

/* The decompressed byte stream: gzip goes through ISA-L (gunzip.c), anything else through
 * libarchive's "raw" reader (zstd, xz, bzip2, plain tar); every byte handed to the tar reader
 * passes through the hash. peek holds the first bytes of fd, read to tell the two apart. */
#define TEE_BUF (256 * 1024)
#define PEEK_LEN 6

struct tee {
        layer_read_fn *read;
        void *read_ud;
        unsigned char peek[PEEK_LEN];
        size_t peek_len, peek_off;
        struct archive *raw;
        struct gunzip *gz;
        EVP_MD_CTX *md;
        uint64_t size;
        char *buf;
        char errmsg[160]; /* why the stream failed, for reporting */
        char rawbuf[64 * 1024];
};

static ssize_t src_read_cb(void *ud, void *buf, size_t n) {
        struct tee *t = ud;
        ssize_t k;

        do
                k = t->read(t->read_ud, buf, n);
        while (k == -EINTR);
        return k;
}

static ssize_t fd_read(void *ud, void *buf, size_t n) {
        ssize_t k = read(*(int *)ud, buf, n);
        return k < 0 ? -errno : k;
}

/* libarchive's raw reader: the peeked bytes, then the rest of fd. */
static la_ssize_t raw_read(struct archive *a, void *ud, const void **buf) {
        struct tee *t = ud;
        ssize_t k;

        *buf = t->rawbuf;
        if (t->peek_off < t->peek_len) {
                size_t n = t->peek_len - t->peek_off;
                memcpy(t->rawbuf, t->peek + t->peek_off, n);
                t->peek_off = t->peek_len;
                return (la_ssize_t)n;
        }
        k = src_read_cb(t, t->rawbuf, sizeof(t->rawbuf));
        if (k < 0) {
                archive_set_error(a, (int)-k, "read: %s", strerror((int)-k));
                return -1;
        }
        return k;
}

static la_ssize_t tee_read(struct archive *a, void *ud, const void **buf) {
        struct tee *t = ud;
        la_ssize_t n;

        if (t->gz) {
                n = gunzip_read(t->gz, t->buf, TEE_BUF);
                if (n < 0) {
                        snprintf(t->errmsg, sizeof(t->errmsg), "gzip: %s at byte %" PRIu64,
                                 gunzip_error(t->gz), gunzip_consumed(t->gz));
                        archive_set_error(a, EIO, "%s", t->errmsg);
                        return -1;
                }
        } else {
                n = archive_read_data(t->raw, t->buf, TEE_BUF);
                if (n < 0) {
                        snprintf(t->errmsg, sizeof(t->errmsg), "%s", archive_error_string(t->raw));
                        archive_set_error(a, EIO, "%s", t->errmsg);
                        return -1;
                }
        }
        if (n > 0 && !EVP_DigestUpdate(t->md, t->buf, (size_t)n))
                oom();
        t->size += (uint64_t)n;
        *buf = t->buf;
        return n;
}

struct dir_time {
        char *path;
        struct timespec ts[2];
};

struct unpack {
        int root;
        bool privileged;
        uid_t uid;
        gid_t gid;
        struct dir_time *dirs;
        size_t n_dirs, alloc_dirs;
        const char *opaque_xattr;
        /* The parent directory of the last entry, kept open: tars list a directory's files
         * together, and each would walk its path from the root again. Dropped as soon as an
         * entry names it or one of its ancestors (which may replace it). */
        char *parent;  /* clean relative path; "" is the root */
        int parent_fd; /* -EBADF: none */
        gid_t new_gid; /* the group a new entry gets there (set-group-ID directory or ours) */
};

/* Turns an entry name into a clean relative path: leading '/' and "." components dropped,
 * ".." refused. Returns NULL for the root itself. */
static int clean_path(const char *name, char **ret, struct err **errp) {
        _cleanup_strv_ char **parts = strv_split(name, "/");
        _cleanup_strv_ char **out = NULL;

        if (strlen(name) >= PATH_MAX)
                return err_setx(errp, ENAMETOOLONG, "layer entry name too long");
        STRV_FOREACH (p, parts) {
                if (streq(*p, "."))
                        continue;
                if (streq(*p, ".."))
                        return err_setx(errp, EPERM, "layer entry '%s': '..' is not allowed", name);
                strv_push(&out, *p);
        }
        if (strv_length(out) > MAX_DEPTH)
                return err_setx(errp, ENAMETOOLONG, "layer entry '%s': too deep", name);
        *ret = out ? strv_join(out, "/") : NULL;
        return 0;
}

/* Opens the parent directory of path (clean, relative) below root, component by component,
 * never following symlinks; missing directories are created when create is set. */
static int open_parent(int root, const char *path, bool create, int *ret_fd, const char **ret_name,
                       struct err **errp) {
        _cleanup_close_ int cur = -EBADF;
        _cleanup_free_ char *copy = xstrdup(path);
        char *p = copy, *slash;

        cur = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return err_set(errp, errno, "open layer root");
        while ((slash = strchr(p, '/'))) {
                int next;

                *slash = 0;
                next = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST)
                                return err_set(errp, errno, "layer entry '%s': create '%s'", path,
                                               p);
                        next = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (next < 0) {
                        if (errno == ELOOP || errno == ENOTDIR)
                                return err_setx(errp, EPERM,
                                                "layer entry '%s': parent '%s' is a symlink or "
                                                "not a directory; refusing to follow it",
                                                path, p);
                        return err_set(errp, errno, "layer entry '%s': open '%s'", path, p);
                }
                safe_close(cur);
                cur = next;
                p = slash + 1;
        }
        *ret_fd = TAKE_FD(cur);
        *ret_name = path + (p - copy);
        return 0;
}

static void parent_drop(struct unpack *u) {
        u->parent_fd = safe_close(u->parent_fd);
        free(u->parent);
        u->parent = NULL;
}

/* Drops the cached parent when path (an entry about to be created, replaced or removed) is it
 * or one of its ancestors. */
static void parent_forget(struct unpack *u, const char *path) {
        size_t n = strlen(path);

        if (u->parent && strncmp(u->parent, path, n) == 0 &&
            (u->parent[n] == 0 || u->parent[n] == '/'))
                parent_drop(u);
}

/* The parent directory of path (clean, relative) and the entry's name in it, created when
 * missing; the fd stays owned by u. */
static int parent_open(struct unpack *u, const char *path, int *ret_fd, const char **ret_name,
                       struct err **errp) {
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : 0;
        const char *name;
        struct stat st;
        int fd, r;

        if (!u->parent || strlen(u->parent) != n || strncmp(u->parent, path, n) != 0) {
                parent_drop(u);
                r = open_parent(u->root, path, true, &fd, &name, errp);
                if (r < 0)
                        return r;
                if (fstat(fd, &st) < 0) {
                        r = err_set(errp, errno, "layer entry '%s': stat parent", path);
                        safe_close(fd);
                        return r;
                }
                u->parent_fd = fd;
                u->parent = xstrndup(path, n);
                u->new_gid = (st.st_mode & S_ISGID) ? st.st_gid : u->gid;
        }
        *ret_fd = u->parent_fd;
        *ret_name = slash ? slash + 1 : path;
        return 0;
}

/* Removes whatever is at name so that a new entry can take its place (later entries win). */
static int remove_existing(int pfd, const char *name, const char *path, struct err **errp) {
        if (unlinkat(pfd, name, 0) >= 0 || errno == ENOENT)
                return 0;
        if (errno == EISDIR && unlinkat(pfd, name, AT_REMOVEDIR) >= 0)
                return 0;
        return err_set(errp, errno, "layer entry '%s': replace existing entry", path);
}

static int apply_xattrs(struct unpack *u, struct archive_entry *e, int fd, int pfd,
                        const char *name, const char *path, struct err **errp) {
        const char *xname;
        const void *val;
        size_t len;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &xname, &val, &len) == ARCHIVE_OK) {
                int r;

                if (fd >= 0)
                        r = fsetxattr(fd, xname, val, len, 0);
                else {
                        _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, name);
                        r = lsetxattr(p, xname, val, len, 0);
                }
                if (r < 0) {
                        if (errno == ENOTSUP || (errno == EPERM && !u->privileged))
                                continue;
                        return err_set(errp, errno, "layer entry '%s': set xattr '%s'", path,
                                       xname);
                }
        }
        return 0;
}

/* created: the entry was just made, so it is owned by our uid and the parent's new_gid. */
static int apply_owner(struct unpack *u, struct archive_entry *e, int pfd, const char *name,
                       const char *path, bool created, struct err **errp) {
        if (!u->privileged)
                return 0;
        if (created && (uid_t)archive_entry_uid(e) == u->uid &&
            (gid_t)archive_entry_gid(e) == u->new_gid)
                return 0;
        if (fchownat(pfd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "layer entry '%s': chown", path);
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2]) {
        ts[0].tv_sec =
                archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
        ts[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e)
                                                      : archive_entry_mtime_nsec(e);
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int write_data(struct archive *a, struct archive_entry *e, int fd, const char *path,
                      struct err **errp) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int64_t end = 0;
        int r;

        for (;;) {
                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return err_setx(errp, EIO, "layer entry '%s': %s", path,
                                        archive_error_string(a));
                if (off != end && lseek(fd, off, SEEK_SET) < 0)
                        return err_set(errp, errno, "layer entry '%s': seek", path);
                r = fd_write_full(fd, buf, len);
                if (r < 0)
                        return err_set(errp, -r, "layer entry '%s': write", path);
                end = off + (int64_t)len;
        }
        /* a sparse tail: the last block ended before the file */
        if (archive_entry_size_is_set(e) && end < archive_entry_size(e) &&
            ftruncate(fd, archive_entry_size(e)) < 0)
                return err_set(errp, errno, "layer entry '%s': truncate", path);
        return 0;
}

static int extract_entry(struct unpack *u, struct archive *a, struct archive_entry *e,
                         struct err **errp) {
        _cleanup_free_ char *path = NULL, *lpath = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *name = NULL, *base, *hl;
        mode_t mode = archive_entry_mode(e);
        struct timespec ts[2];
        bool created = true;
        int pfd = -EBADF, r;

        r = clean_path(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", &path, errp);
        if (r < 0)
                return r;
        if (!path)
                return 0; /* the root itself: its metadata belongs to the container dir */
        parent_forget(u, path);
        r = parent_open(u, path, &pfd, &name, errp);
        if (r < 0)
                return r;
        base = name;
        entry_times(e, ts);

        /* Whiteouts. */
        if (streq(base, WH_OPAQUE)) {
                if (u->privileged)
                        u->opaque_xattr = "trusted.overlay.opaque";
                if (fsetxattr(pfd, u->opaque_xattr, "y", 1, 0) < 0)
                        return err_set(errp, errno, "layer entry '%s': mark directory opaque",
                                       path);
                return 0;
        }
        if (str_startswith(base, WH_META_PREFIX))
                return 0; /* other AUFS metadata (.wh..wh.plnk etc.) carries nothing for us */
        if (str_startswith(base, WH_PREFIX)) {
                const char *victim = base + strlen(WH_PREFIX);
                if (!*victim || streq(victim, ".") || streq(victim, ".."))
                        return err_setx(errp, EINVAL, "layer entry '%s': bad whiteout", path);
                r = remove_existing(pfd, victim, path, errp);
                if (r < 0)
                        return r;
                if (mknodat(pfd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
                        return err_set(errp, errno, "layer entry '%s': create whiteout", path);
                return 0;
        }

        hl = archive_entry_hardlink(e);
        if (hl) {
                _cleanup_close_ int tpfd = -EBADF;
                const char *tname;
                struct stat st;

                r = clean_path(hl, &lpath, errp);
                if (r < 0)
                        return err_wrap_r(r, errp, "hard link '%s'", path);
                if (!lpath)
                        return err_setx(errp, EPERM, "layer entry '%s': hard link to the root",
                                        path);
                r = open_parent(u->root, lpath, false, &tpfd, &tname, errp);
                if (r < 0)
                        return err_wrap_r(r, errp, "hard link '%s'", path);
                if (fstatat(tpfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno,
                                       "layer entry '%s': hard link target '%s' is not in the "
                                       "layer",
                                       path, hl);
                if (S_ISDIR(st.st_mode))
                        return err_setx(errp, EPERM,
                                        "layer entry '%s': hard link to directory '%s'", path, hl);
                r = linkat(tpfd, tname, pfd, name, 0);
                if (r < 0 && errno == EEXIST) {
                        r = remove_existing(pfd, name, path, errp);
                        if (r < 0)
                                return r;
                        r = linkat(tpfd, tname, pfd, name, 0);
                }
                if (r < 0)
                        return err_set(errp, errno, "layer entry '%s': link to '%s'", path, hl);
                return 0;
        }

        switch (mode & S_IFMT) {
        case S_IFDIR: {
                struct stat st;
                if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && !S_ISDIR(st.st_mode)) {
                        r = remove_existing(pfd, name, path, errp);
                        if (r < 0)
                                return r;
                }
                if (mkdirat(pfd, name, 0700) < 0) {
                        if (errno != EEXIST)
                                return err_set(errp, errno, "layer entry '%s': mkdir", path);
                        created = false;
                }
                fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return err_set(errp, errno, "layer entry '%s': open directory", path);
                r = apply_owner(u, e, pfd, name, path, created, errp);
                if (r < 0)
                        return r;
                if (fchmod(fd, mode & 07777) < 0)
                        return err_set(errp, errno, "layer entry '%s': chmod", path);
                r = apply_xattrs(u, e, fd, pfd, name, path, errp);
                if (r < 0)
                        return r;
                /* Later entries change the mtime; apply it at the end. */
                XGROW(u->dirs, u->alloc_dirs, u->n_dirs + 1);
                u->dirs[u->n_dirs].path = TAKE_PTR(path);
                memcpy(u->dirs[u->n_dirs].ts, ts, sizeof(ts));
                u->n_dirs++;
                return 0;
        }
        case S_IFREG:
                fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && errno == EEXIST) {
                        r = remove_existing(pfd, name, path, errp);
                        if (r < 0)
                                return r;
                        fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                    0600);
                }
                if (fd < 0)
                        return err_set(errp, errno, "layer entry '%s': create", path);
                r = write_data(a, e, fd, path, errp);
                if (r < 0)
                        return r;
                r = apply_owner(u, e, pfd, name, path, true, errp);
                if (r < 0)
                        return r;
                /* after chown, which clears set-id bits */
                if (fchmod(fd, mode & 07777) < 0)
                        return err_set(errp, errno, "layer entry '%s': chmod", path);
                r = apply_xattrs(u, e, fd, pfd, name, path, errp);
                if (r < 0)
                        return r;
                if (futimens(fd, ts) < 0)
                        return err_set(errp, errno, "layer entry '%s': set times", path);
                return 0;
        case S_IFLNK: {
                const char *target = archive_entry_symlink(e);
                if (!target || !*target)
                        return err_setx(errp, EINVAL, "layer entry '%s': symlink without target",
                                        path);
                /* Only created, never followed while extracting. */
                r = symlinkat(target, pfd, name);
                if (r < 0 && errno == EEXIST) {
                        r = remove_existing(pfd, name, path, errp);
                        if (r < 0)
                                return r;
                        r = symlinkat(target, pfd, name);
                }
                if (r < 0)
                        return err_set(errp, errno, "layer entry '%s': symlink", path);
                r = apply_owner(u, e, pfd, name, path, true, errp);
                if (r < 0)
                        return r;
                r = apply_xattrs(u, e, -EBADF, pfd, name, path, errp);
                if (r < 0)
                        return r;
                if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "layer entry '%s': set times", path);
                return 0;
        }
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
                r = mknodat(pfd, name, (mode & S_IFMT) | (mode & 07777), archive_entry_rdev(e));
                if (r < 0 && errno == EEXIST) {
                        r = remove_existing(pfd, name, path, errp);
                        if (r < 0)
                                return r;
                        r = mknodat(pfd, name, (mode & S_IFMT) | (mode & 07777),
                                    archive_entry_rdev(e));
                }
                if (r < 0)
                        return err_set(errp, errno, "layer entry '%s': mknod", path);
                r = apply_owner(u, e, pfd, name, path, true, errp);
                if (r < 0)
                        return r;
                if (fchmodat(pfd, name, mode & 07777, 0) < 0)
                        return err_set(errp, errno, "layer entry '%s': chmod", path);
                r = apply_xattrs(u, e, -EBADF, pfd, name, path, errp);
                if (r < 0)
                        return r;
                if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "layer entry '%s': set times", path);
                return 0;
        case S_IFSOCK:
                return 0; /* tar cannot carry a useful socket */
        default:
                return err_setx(errp, EINVAL, "layer entry '%s': unsupported file type 0%o", path,
                                (unsigned)(mode & S_IFMT));
        }
}

static int fix_dir_times(struct unpack *u, struct err **errp) {
        for (size_t i = u->n_dirs; i > 0; i--) {
                struct dir_time *d = &u->dirs[i - 1];
                _cleanup_close_ int pfd = -EBADF;
                const char *name;
                int r;

                r = open_parent(u->root, d->path, false, &pfd, &name, errp);
                if (r < 0)
                        return r;
                if (utimensat(pfd, name, d->ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
                        return err_set(errp, errno, "layer entry '%s': set times", d->path);
        }
        return 0;
}

int layer_unpack_fd(int fd, int dest_dfd, char **ret_diff_id, uint64_t *ret_size,
                    struct err **errp) {
        return layer_unpack_stream(fd_read, &fd, dest_dfd, ret_diff_id, ret_size, errp);
}

int layer_unpack_stream(layer_read_fn *rd, void *userdata, int dest_dfd, char **ret_diff_id,
                        uint64_t *ret_size, struct err **errp) {
        _cleanup_(archive_freep) struct archive *raw = NULL, *tar = NULL;
        struct unpack u = {.root = dest_dfd,
                           .privileged = geteuid() == 0,
                           .uid = geteuid(),
                           .gid = getegid(),
                           .opaque_xattr = "user.overlay.opaque",
                           .parent_fd = -EBADF};
        struct tee t = {};
        struct archive_entry *e;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        int r = 0;

        t.md = EVP_MD_CTX_new();
        if (!t.md || !EVP_DigestInit_ex(t.md, EVP_sha256(), NULL))
                oom();
        t.read = rd;
        t.read_ud = userdata;
        t.buf = xmalloc(TEE_BUF);
        while (t.peek_len < PEEK_LEN) {
                ssize_t k = src_read_cb(&t, t.peek + t.peek_len, PEEK_LEN - t.peek_len);
                if (k < 0) {
                        r = err_set(errp, (int)-k, "layer: read stream");
                        goto out;
                }
                if (k == 0)
                        break;
                t.peek_len += (size_t)k;
        }
        tar = archive_read_new();
        if (!tar)
                oom();
        if (gunzip_magic(t.peek, t.peek_len))
                t.gz = gunzip_new(src_read_cb, &t, t.peek, t.peek_len);
        else {
                raw = archive_read_new();
                if (!raw)
                        oom();
                archive_read_support_filter_all(raw);
                archive_read_support_format_raw(raw);
                if (archive_read_open(raw, &t, NULL, raw_read, NULL) != ARCHIVE_OK ||
                    archive_read_next_header(raw, &e) != ARCHIVE_OK) {
                        r = err_setx(errp, EINVAL, "layer: cannot read stream: %s",
                                     archive_error_string(raw));
                        goto out;
                }
                t.raw = raw;
        }
        archive_read_support_format_tar(tar);
        archive_read_support_format_gnutar(tar);
        if (archive_read_open(tar, &t, NULL, tee_read, NULL) != ARCHIVE_OK) {
                r = err_setx(errp, EINVAL, "layer: not a tar archive: %s",
                             archive_error_string(tar));
                goto out;
        }
        for (;;) {
                int k = archive_read_next_header(tar, &e);
                if (k == ARCHIVE_EOF)
                        break;
                if (k < ARCHIVE_WARN) {
                        r = err_setx(errp, EINVAL, "layer: bad tar stream: %s",
                                     archive_error_string(tar));
                        goto out;
                }
                r = extract_entry(&u, tar, e, errp);
                if (r < 0)
                        goto out;
        }
        /* Hash what the tar reader did not need (end-of-archive padding). */
        for (;;) {
                const void *b;
                la_ssize_t n = tee_read(tar, &t, &b);
                if (n < 0) {
                        r = err_setx(errp, EIO, "layer: read stream: %s", t.errmsg);
                        goto out;
                }
                if (n == 0)
                        break;
        }
        r = fix_dir_times(&u, errp);
        if (r < 0)
                goto out;
        if (!EVP_DigestFinal_ex(t.md, md, &mdlen))
                oom();
        {
                char *s = xmalloc(7 + 2 * mdlen + 1);
                memcpy(s, "sha256:", 7);
                for (unsigned i = 0; i < mdlen; i++)
                        sprintf(s + 7 + 2 * i, "%02x", md[i]);
                *ret_diff_id = s;
        }
        if (ret_size)
                *ret_size = t.size;
out:
        parent_drop(&u);
        for (size_t i = 0; i < u.n_dirs; i++)
                free(u.dirs[i].path);
        free(u.dirs);
        EVP_MD_CTX_free(t.md);
        gunzip_free(t.gz);
        free(t.buf);
        return r;
}

uint64_t layer_stored_size(struct image_store *s, const char *chain_id) {
        _cleanup_free_ char *dir = image_store_layer_dir(s, chain_id), *p = NULL;
        _cleanup_json_ json_t *j = NULL;

        p = xasprintf("%s/layer.json", dir);
        if (json_load_path(p, 65536, &j, NULL) < 0)
                return 0;
        return (uint64_t)json_get_int(j, "size", 0);
}

int layer_stage_new(struct image_store *s, char **ret_stage, int *ret_dfd, struct err **errp) {
        _cleanup_free_ char *tmp = NULL, *diff = NULL;
        int r, dfd;

        r = image_store_mkdtemp(s, &tmp, errp);
        if (r < 0)
                return r;
        diff = xasprintf("%s/diff", tmp);
        if (mkdir(diff, 0755) < 0) {
                r = err_set(errp, errno, "create '%s'", diff);
                (void)rm_rf(tmp, NULL);
                return r;
        }
        dfd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = err_set(errp, errno, "open '%s'", diff);
                (void)rm_rf(tmp, NULL);
                return r;
        }
        *ret_stage = TAKE_PTR(tmp);
        *ret_dfd = dfd;
        return 0;
}

int layer_stage_finish(const char *stage, const char *diff_id, const char *expected_diff_id,
                       uint64_t size, bool sync, struct err **errp) {
        _cleanup_free_ char *meta = NULL;
        _cleanup_json_ json_t *j = NULL;
        int r;

        if (expected_diff_id && !streq(diff_id, expected_diff_id)) {
                r = err_setx(errp, EBADMSG, "layer diff id mismatch: expected %s, got %s",
                             expected_diff_id, diff_id);
                goto fail;
        }
        j = json_pack("{s:i,s:s,s:I}", "version", 1, "diff_id", diff_id, "size", (json_int_t)size);
        meta = xasprintf("%s/layer.json", stage);
        r = sync ? json_save_path(meta, j, errp) : json_replace_path(meta, j, errp);
        if (r < 0)
                goto fail;
        return 0;
fail:
        (void)rm_rf(stage, NULL);
        return r;
}

int layer_stage_publish(struct image_store *s, const char *stage, const char *chain_id,
                        struct err **errp) {
        _cleanup_free_ char *dest = image_store_layer_dir(s, chain_id);
        int r;

        if (rename(stage, dest) >= 0)
                return 0;
        if (errno == EEXIST || errno == ENOTEMPTY) {
                (void)rm_rf(stage, NULL); /* another pull won the race */
                return 0;
        }
        r = err_set(errp, errno, "rename layer into '%s'", dest);
        (void)rm_rf(stage, NULL);
        return r;
}

int layer_stage_commit(struct image_store *s, const char *stage, const char *chain_id,
                       const char *diff_id, const char *expected_diff_id, uint64_t size,
                       struct err **errp) {
        int r = layer_stage_finish(stage, diff_id, expected_diff_id, size, true, errp);

        if (r < 0)
                return r;
        return layer_stage_publish(s, stage, chain_id, errp);
}

int layer_unpack_to_store(struct image_store *s, int fd, const char *expected_diff_id,
                          const char *chain_id, uint64_t *ret_size, struct err **errp) {
        _cleanup_free_ char *stage = NULL, *diff_id = NULL;
        _cleanup_close_ int dfd = -EBADF;
        uint64_t size = 0;
        int r;

        r = digest_validate(chain_id, errp);
        if (r < 0)
                return r;
        if (image_store_has_layer(s, chain_id)) {
                if (ret_size)
                        *ret_size = layer_stored_size(s, chain_id);
                return 0;
        }
        r = layer_stage_new(s, &stage, &dfd, errp);
        if (r < 0)
                return r;
        r = layer_unpack_fd(fd, dfd, &diff_id, &size, errp);
        if (r < 0) {
                (void)rm_rf(stage, NULL);
                return r;
        }
        r = layer_stage_commit(s, stage, chain_id, diff_id, expected_diff_id, size, errp);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = size;
        return 0;
}

int layer_unpack_blob(struct image_store *s, const char *blob_digest, const char *expected_diff_id,
                      const char *chain_id, uint64_t *ret_size, struct err **errp) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = digest_validate(blob_digest, errp);
        if (r < 0)
                return r;
        p = image_store_blob_path(s, blob_digest);
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(errp, errno, "open layer blob %s", blob_digest);
        r = layer_unpack_to_store(s, fd, expected_diff_id, chain_id, ret_size, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "unpack layer %s", blob_digest);
        return 0;
}
