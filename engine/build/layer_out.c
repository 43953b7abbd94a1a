/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "build/layer_out.h"
#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"

#define LAYER_MAX_DEPTH 256

static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

static void entry_freep(struct archive_entry **e) {
        if (*e)
                archive_entry_free(*e);
}

static la_ssize_t blob_cb(struct archive *a, void *ud, const void *buf, size_t n) {
        struct err *e = NULL;

        if (blob_writer_write(ud, buf, n, &e) < 0) {
                archive_set_error(a, e->code, "%s", e->msg);
                err_free(e);
                return -1;
        }
        return (la_ssize_t)n;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_opaque(int fd) {
        char v[4];
        ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
        if (n < 0)
                n = fgetxattr(fd, "user.overlay.opaque", v, sizeof(v));
        return n == 1 && v[0] == 'y';
}

static int write_plain(struct archive *out, const char *path, mode_t mode, struct err **errp) {
        _cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, mode);
        archive_entry_set_size(e, 0);
        if (archive_write_header(out, e) < ARCHIVE_WARN)
                return err_setx(errp, EIO, "tar '%s': %s", path, archive_error_string(out));
        return 0;
}

static int tar_tree(struct archive *out, int dfd, const char *rel, unsigned depth,
                    struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_ char **names = NULL;
        struct dirent *de;
        int fd, r;

        if (depth > LAYER_MAX_DEPTH)
                return err_setx(errp, ELOOP, "'%s': nested too deeply", rel);
        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return err_set(errp, errno, "dup");
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return err_set(errp, errno, "read '%s'", rel);
        }
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        if (names)
                qsort_safe(names, strv_length(names), sizeof(char *), cmp_str);

        STRV_FOREACH (nm, names) {
                _cleanup_free_ char *path = *rel ? xasprintf("%s/%s", rel, *nm) : xstrdup(*nm);
                _cleanup_(entry_freep) struct archive_entry *e = NULL;
                _cleanup_close_ int cfd = -EBADF;
                struct stat st;

                if (fstatat(dfd, *nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "stat '%s'", path);
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        _cleanup_free_ char *wh =
                                *rel ? xasprintf("%s/.wh.%s", rel, *nm) : xasprintf(".wh.%s", *nm);
                        r = write_plain(out, wh, 0644, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (S_ISSOCK(st.st_mode))
                        continue;
                e = archive_entry_new();
                archive_entry_copy_stat(e, &st);
                archive_entry_set_pathname(e, path);
                archive_entry_set_nlink(e, 1);
                if (S_ISLNK(st.st_mode)) {
                        char t[4096];
                        ssize_t n = readlinkat(dfd, *nm, t, sizeof(t) - 1);
                        if (n < 0)
                                return err_set(errp, errno, "read link '%s'", path);
                        t[n] = 0;
                        archive_entry_set_symlink(e, t);
                        archive_entry_set_size(e, 0);
                } else if (S_ISREG(st.st_mode)) {
                        cfd = openat(dfd, *nm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0)
                                return err_set(errp, errno, "open '%s'", path);
                } else
                        archive_entry_set_size(e, 0);
                if (archive_write_header(out, e) < ARCHIVE_WARN)
                        return err_setx(errp, EIO, "tar '%s': %s", path, archive_error_string(out));
                while (cfd >= 0) {
                        char buf[65536];
                        ssize_t n = read(cfd, buf, sizeof(buf));
                        if (n < 0)
                                return err_set(errp, errno, "read '%s'", path);
                        if (n == 0)
                                break;
                        if (archive_write_data(out, buf, (size_t)n) != n)
                                return err_setx(errp, EIO, "tar '%s': %s", path,
                                                archive_error_string(out));
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dfd, *nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                return err_set(errp, errno, "open '%s'", path);
                        if (is_opaque(sub)) {
                                _cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", path);
                                r = write_plain(out, opq, 0644, errp);
                                if (r < 0)
                                        return r;
                        }
                        r = tar_tree(out, sub, path, depth + 1, errp);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int build_layer_from_dir(struct image_store *s, const char *dir, char **ret_digest,
                         struct err **errp) {
        _cleanup_(blob_writer_freep) struct blob_writer *w = NULL;
        _cleanup_(archive_write_freep) struct archive *out = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (dfd < 0)
                return err_set(errp, errno, "open '%s'", dir);
        r = blob_writer_open(s, NULL, -1, &w, errp);
        if (r < 0)
                return r;
        out = archive_write_new();
        archive_write_set_format_pax_restricted(out);
        archive_write_set_bytes_in_last_block(out, 1);
        if (archive_write_open2(out, w, NULL, blob_cb, NULL, NULL) != ARCHIVE_OK)
                return err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(out));
        r = tar_tree(out, dfd, "", 0, errp);
        if (r < 0)
                return r;
        if (archive_write_close(out) != ARCHIVE_OK)
                return err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(out));
        return blob_writer_commit(w, ret_digest, errp);
}
