/* SPDX-License-Identifier: Apache-2.0 */
/* The build context as a tar, for a daemon reached over https (cli/build.c sends a local
 * daemon the directory's path instead). libarchive: linked into berth-engine only, reached
 * through cli_env.tar_context. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "build.h"
#include "cleanup.h"
#include "membuf.h"
#include "xalloc.h"

static la_ssize_t tar_cb(struct archive *a, void *ud, const void *p, size_t n) {
        (void)a;
        membuf_add(ud, p, n);
        return (la_ssize_t)n;
}

/* Tars dir into memory (the daemon applies .dockerignore). An inline Dockerfile is added as the
 * last entry, named inline_name. */
int cli_tar_context(const char *dir, const char *inline_name, const char *inline_text, char **ret,
                    size_t *ret_len, struct err **errp) {
        struct membuf buf = {}, *out = &buf;
        struct archive *disk = archive_read_disk_new(), *w = archive_write_new();
        size_t dlen = strlen(dir);
        int r = 0;

        archive_read_disk_set_standard_lookup(disk);
        archive_write_set_format_pax_restricted(w);
        if (archive_write_open2(w, out, NULL, tar_cb, NULL, NULL) != ARCHIVE_OK ||
            archive_read_disk_open(disk, dir) != ARCHIVE_OK) {
                r = err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(disk));
                goto out;
        }
        for (;;) {
                struct archive_entry *e = archive_entry_new();
                int k = archive_read_next_header2(disk, e);
                if (k == ARCHIVE_EOF) {
                        archive_entry_free(e);
                        break;
                }
                if (k < ARCHIVE_WARN) {
                        archive_entry_free(e);
                        r = err_setx(errp, EIO, "read '%s': %s", dir, archive_error_string(disk));
                        goto out;
                }
                archive_read_disk_descend(disk);
                const char *path = archive_entry_pathname(e);
                if (strlen(path) <= dlen) {
                        archive_entry_free(e);
                        continue;
                }
                _cleanup_free_ char *rel = xstrdup(path + dlen + (path[dlen] == '/'));
                _cleanup_free_ char *src = xstrdup(archive_entry_sourcepath(e));
                archive_entry_set_pathname(e, rel);
                if (archive_write_header(w, e) < ARCHIVE_WARN) {
                        archive_entry_free(e);
                        r = err_setx(errp, EIO, "tar '%s': %s", rel, archive_error_string(w));
                        goto out;
                }
                if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
                        _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        char b[65536];
                        ssize_t n;
                        while (fd >= 0 && (n = read(fd, b, sizeof(b))) > 0)
                                archive_write_data(w, b, (size_t)n);
                }
                archive_entry_free(e);
                if (out->len > CONTEXT_MAX) {
                        r = err_setx(errp, EFBIG, "build context '%s' is larger than 2 GiB", dir);
                        goto out;
                }
        }
        if (inline_text) {
                struct archive_entry *e = archive_entry_new();
                size_t n = strlen(inline_text);
                archive_entry_set_pathname(e, inline_name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t)n);
                if (archive_write_header(w, e) < ARCHIVE_WARN ||
                    archive_write_data(w, inline_text, n) != (la_ssize_t)n)
                        r = err_setx(errp, EIO, "tar the inline Dockerfile: %s",
                                     archive_error_string(w));
                archive_entry_free(e);
                if (r < 0)
                        goto out;
        }
        archive_write_close(w);
out:
        archive_read_free(disk);
        archive_write_free(w);
        if (r < 0) {
                free(buf.s);
                return r;
        }
        *ret = buf.s;
        *ret_len = buf.len;
        return 0;
}
