/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "layer-tar.h"
#include "xalloc.h"

char *tar_build(const struct tar_ent *ents, size_t n, const char *compression, size_t *ret_len) {
        struct archive *a = archive_write_new();
        size_t cap = 1 << 20, used = 0;
        char *buf = xmalloc(cap);

        archive_write_set_format_pax_restricted(a);
        if (strcmp(compression, "gzip") == 0)
                archive_write_add_filter_gzip(a);
        else if (strcmp(compression, "zstd") == 0)
                archive_write_add_filter_zstd(a);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
                abort();
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                const struct tar_ent *t = &ents[i];
                size_t len = 0;

                archive_entry_set_pathname(e, t->name);
                archive_entry_set_mtime(e, 1700000000, 0);
                archive_entry_set_uid(e, t->uid);
                archive_entry_set_gid(e, t->gid);
                switch (t->type) {
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0755);
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_perm(e, 0777);
                        archive_entry_set_symlink(e, t->data);
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_hardlink(e, t->data);
                        break;
                case 'c':
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0666);
                        archive_entry_set_rdev(e, makedev(t->dev_major, t->dev_minor));
                        break;
                case 'p':
                        archive_entry_set_filetype(e, AE_IFIFO);
                        archive_entry_set_perm(e, 0644);
                        break;
                case 'f':
                default:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0644);
                        len = t->data_len ? t->data_len : t->data ? strlen(t->data) : 0;
                        archive_entry_set_size(e, (la_int64_t)len);
                        break;
                }
                if (t->xattr) {
                        const char *eq = strchr(t->xattr, '=');
                        char *k = xstrndup(t->xattr, (size_t)(eq - t->xattr));
                        archive_entry_xattr_add_entry(e, k, eq + 1,
                                                      t->xattr_len ? t->xattr_len : strlen(eq + 1));
                        free(k);
                }
                if (archive_write_header(a, e) != ARCHIVE_OK)
                        abort();
                if (len && archive_write_data(a, t->data, len) != (la_ssize_t)len)
                        abort();
                archive_entry_free(e);
        }
        archive_write_close(a);
        archive_write_free(a);
        *ret_len = used;
        return buf;
}

int tar_to_fd(const char *buf, size_t len) {
        char p[] = "/tmp/berth-test-tar-XXXXXX";
        int fd = mkostemp(p, O_CLOEXEC);

        if (fd < 0)
                abort();
        unlink(p);
        if (write(fd, buf, len) != (ssize_t)len)
                abort();
        lseek(fd, 0, SEEK_SET);
        return fd;
}
