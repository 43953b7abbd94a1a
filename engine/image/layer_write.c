/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/errwrap.h"
#include "image/layer_write.h"
#include "image/gzblob.h"
#include "strv.h"
#include "xalloc.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define MAX_DEPTH 256
#define XATTR_LIST_MAX_LEN (64 * 1024)

struct sink {
        int fd;                /* >= 0: write here */
        struct blob_writer *w; /* otherwise: into this blob */
        struct gz_blob *gz;    /* or compressed into this one */
        uint64_t size;
        struct err *err; /* the first write error, reported instead of libarchive's text */
};

struct link {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct walk {
        struct archive *a;
        struct sink *sink;
        struct link *links;
        size_t n_links;
        char buf[64 * 1024];
};

static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

static void entry_freep(struct archive_entry **e) {
        if (*e)
                archive_entry_free(*e);
}

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf, size_t n) {
        struct sink *s = ud;
        int r;

        if (s->w)
                r = blob_writer_write(s->w, buf, n, s->err ? NULL : &s->err);
        else if (s->gz)
                r = gz_blob_write(s->gz, buf, n, s->err ? NULL : &s->err);
        else {
                r = fd_write_full(s->fd, buf, n);
                if (r < 0 && !s->err)
                        (void)err_set(&s->err, -r, "write layer");
        }
        if (r < 0) {
                archive_set_error(a, EIO, "write failed");
                return -1;
        }
        s->size += n;
        return (la_ssize_t)n;
}

/* Hands the sink's write error to errp (or drops it); returns its negative code. */
static int sink_err_take(struct sink *s, struct err **errp) {
        int code = s->err->code > 0 ? s->err->code : EIO;

        if (errp)
                *errp = TAKE_PTR(s->err);
        else
                s->err = err_free(s->err);
        return -code;
}

static int tar_fail(struct walk *w, const char *path, struct err **errp) {
        if (w->sink->err) {
                int r = sink_err_take(w->sink, errp);
                return err_wrap_r(r, errp, "layer entry '%s'", path);
        }
        return err_setx(errp, EIO, "layer entry '%s': %s", path, archive_error_string(w->a));
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in the directory dfd (without "." and ".."). */
static int list_dir(int dfd, const char *path, char ***ret, struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_ char **names = NULL;
        int fd;
        struct dirent *de;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", path);
        d = fdopendir(fd);
        if (!d) {
                int k = errno;
                safe_close(fd);
                return err_set(errp, k, "open '%s'", path);
        }
        names = xnew0(char *, 1);
        errno = 0;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                strv_push(&names, de->d_name);
                errno = 0;
        }
        if (errno)
                return err_set(errp, errno, "read '%s'", path);
        qsort_safe(names, strv_length(names), sizeof(char *), name_cmp);
        *ret = TAKE_PTR(names);
        return 0;
}

static bool is_overlay_xattr(const char *name) {
        return strncmp(name, "trusted.overlay.", 16) == 0 ||
               strncmp(name, "user.overlay.", 13) == 0;
}

static bool is_opaque(int fd) {
        char v[2];

        return (fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y') ||
               (fgetxattr(fd, "user.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y');
}

/* Copies the xattrs of fd (not overlay's) into the entry. */
static int add_xattrs(struct archive_entry *e, int fd, const char *path, struct err **errp) {
        _cleanup_free_ char *list = NULL;
        ssize_t n = flistxattr(fd, NULL, 0);

        if (n <= 0)
                return 0; /* none, or the file system has no xattrs */
        if (n > XATTR_LIST_MAX_LEN)
                return err_setx(errp, E2BIG, "'%s': too many xattrs", path);
        list = xmalloc((size_t)n);
        n = flistxattr(fd, list, (size_t)n);
        if (n < 0)
                return err_set(errp, errno, "list xattrs of '%s'", path);
        for (char *k = list; k < list + n; k += strlen(k) + 1) {
                _cleanup_free_ char *val = NULL;
                ssize_t vn;

                if (is_overlay_xattr(k))
                        continue;
                vn = fgetxattr(fd, k, NULL, 0);
                if (vn < 0) {
                        if (errno == ENODATA)
                                continue;
                        return err_set(errp, errno, "read xattr '%s' of '%s'", k, path);
                }
                val = xmalloc((size_t)vn + 1);
                vn = fgetxattr(fd, k, val, (size_t)vn);
                if (vn < 0)
                        return err_set(errp, errno, "read xattr '%s' of '%s'", k, path);
                archive_entry_xattr_add_entry(e, k, val, (size_t)vn);
        }
        return 0;
}

static struct archive_entry *entry_from_stat(const char *path, const struct stat *st) {
        struct archive_entry *e = archive_entry_new();

        if (!e)
                oom();
        archive_entry_set_pathname(e, path);
        archive_entry_copy_stat(e, st);
        archive_entry_set_uname(e, NULL);
        archive_entry_set_gname(e, NULL);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        archive_entry_unset_birthtime(e);
        return e;
}

static int write_header(struct walk *w, struct archive_entry *e, const char *path,
                        struct err **errp) {
        if (archive_write_header(w->a, e) < ARCHIVE_WARN)
                return tar_fail(w, path, errp);
        return 0;
}

/* An empty regular file entry owned by root (whiteout markers). */
static int write_marker(struct walk *w, const char *path, const struct stat *like,
                        struct err **errp) {
        _cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();

        if (!e)
                oom();
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 0);
        archive_entry_set_mtime(e, like->st_mtim.tv_sec, like->st_mtim.tv_nsec);
        return write_header(w, e, path, errp);
}

static int write_file_data(struct walk *w, int fd, const char *path, struct err **errp) {
        for (;;) {
                ssize_t n = read(fd, w->buf, sizeof(w->buf));
                if (n < 0)
                        return err_set(errp, errno, "read '%s'", path);
                if (n == 0)
                        return 0;
                if (archive_write_data(w->a, w->buf, (size_t)n) != n)
                        return tar_fail(w, path, errp);
        }
}

static int walk_dir(struct walk *w, int dfd, const char *prefix, unsigned depth, struct err **errp);

/* One entry NAME of the directory dfd; rel is its path in the layer. */
static int walk_entry(struct walk *w, int dfd, const char *name, const char *rel, unsigned depth,
                      struct err **errp) {
        _cleanup_(entry_freep) struct archive_entry *e = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(errp, errno, "stat '%s'", rel);
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                /* overlayfs whiteout */
                _cleanup_free_ char *wh = NULL;
                const char *slash = strrchr(rel, '/');

                wh = slash ? xasprintf("%.*s/" WH_PREFIX "%s", (int)(slash - rel), rel, name)
                           : xasprintf(WH_PREFIX "%s", name);
                return write_marker(w, wh, &st, errp);
        }
        if (S_ISSOCK(st.st_mode))
                return 0; /* a tar cannot hold a socket; docker leaves them out too */
        if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
                return err_setx(errp, EINVAL,
                                "'%s': a file name starting with '" WH_PREFIX
                                "' cannot be stored in a layer",
                                rel);
        e = entry_from_stat(rel, &st);
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                fd = openat(dfd, name,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                                    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0)
                        return err_set(errp, errno, "open '%s'", rel);
                r = add_xattrs(e, fd, rel, errp);
                if (r < 0)
                        return r;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(dfd, name, target, PATH_MAX);
                if (n < 0)
                        return err_set(errp, errno, "read link '%s'", rel);
                target[n] = 0;
                archive_entry_set_symlink(e, target);
        }
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < w->n_links; i++)
                        if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino) {
                                archive_entry_set_size(e, 0);
                                archive_entry_set_hardlink(e, w->links[i].path);
                                return write_header(w, e, rel, errp);
                        }
                w->links = xrealloc(w->links, (w->n_links + 1) * sizeof(*w->links));
                w->links[w->n_links++] =
                        (struct link){.dev = st.st_dev, .ino = st.st_ino, .path = xstrdup(rel)};
        }
        if (!S_ISREG(st.st_mode))
                archive_entry_set_size(e, 0);
        r = write_header(w, e, rel, errp);
        if (r < 0)
                return r;
        if (S_ISREG(st.st_mode))
                return write_file_data(w, fd, rel, errp);
        if (S_ISDIR(st.st_mode)) {
                if (is_opaque(fd)) {
                        _cleanup_free_ char *opq = xasprintf("%s/" WH_OPAQUE, rel);
                        r = write_marker(w, opq, &st, errp);
                        if (r < 0)
                                return r;
                }
                return walk_dir(w, fd, rel, depth + 1, errp);
        }
        return 0;
}

static int walk_dir(struct walk *w, int dfd, const char *prefix, unsigned depth,
                    struct err **errp) {
        _cleanup_strv_ char **names = NULL;
        int r;

        if (depth > MAX_DEPTH)
                return err_setx(errp, ENAMETOOLONG, "'%s': directory tree too deep", prefix);
        r = list_dir(dfd, prefix[0] ? prefix : ".", &names, errp);
        if (r < 0)
                return r;
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *rel = prefix[0] ? xasprintf("%s/%s", prefix, *n) : xstrdup(*n);
                r = walk_entry(w, dfd, *n, rel, depth, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_tree(const char *dir, struct sink *sink, struct err **errp) {
        _cleanup_(archive_write_freep) struct archive *a = NULL;
        _cleanup_close_ int root = -EBADF;
        struct walk w = {.sink = sink};
        struct stat st;
        int r;

        root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return err_set(errp, errno, "open '%s'", dir);
        if (fstat(root, &st) < 0)
                return err_set(errp, errno, "stat '%s'", dir);
        a = archive_write_new();
        if (!a)
                oom();
        archive_write_set_format_pax_restricted(a);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open2(a, sink, NULL, sink_write, NULL, NULL) != ARCHIVE_OK)
                return err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(a));
        w.a = a;
        r = walk_dir(&w, root, "", 0, errp);
        if (r >= 0 && is_opaque(root))
                r = err_setx(errp, EINVAL, "'%s': the top directory cannot be opaque", dir);
        for (size_t i = 0; i < w.n_links; i++)
                free(w.links[i].path);
        free(w.links);
        if (r < 0) {
                sink->err = err_free(sink->err);
                return err_wrap_r(r, errp, "tar '%s'", dir);
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                if (sink->err) {
                        r = sink_err_take(sink, errp);
                        return err_wrap_r(r, errp, "tar '%s'", dir);
                }
                return err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(a));
        }
        return 0;
}

int layer_write_dir_fd(const char *dir, int out_fd, uint64_t *ret_size, struct err **errp) {
        struct sink sink = {.fd = out_fd};
        int r;

        r = write_tree(dir, &sink, errp);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = sink.size;
        return 0;
}

int layer_from_dir(struct image_store *s, const char *dir, char **ret_digest, uint64_t *ret_size,
                   struct err **errp) {
        _cleanup_(blob_writer_freep) struct blob_writer *bw = NULL;
        struct sink sink = {.fd = -EBADF};
        int r;

        r = blob_writer_open(s, NULL, -1, &bw, errp);
        if (r < 0)
                return r;
        sink.w = bw;
        r = write_tree(dir, &sink, errp);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = blob_writer_size(bw);
        return blob_writer_commit(bw, ret_digest, errp);
}

int layer_from_dir_gz(struct image_store *s, const char *dir, char **ret_digest, char **ret_diff_id,
                      uint64_t *ret_size, struct err **errp) {
        _cleanup_(gz_blob_freep) struct gz_blob *gz = NULL;
        struct sink sink = {.fd = -EBADF};
        int r;

        r = gz_blob_open(s, &gz, errp);
        if (r < 0)
                return r;
        sink.gz = gz;
        r = write_tree(dir, &sink, errp);
        if (r < 0)
                return r;
        return gz_blob_commit(gz, ret_digest, ret_diff_id, ret_size, errp);
}
