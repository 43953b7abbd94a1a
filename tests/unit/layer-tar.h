/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Builds small tar streams in memory for layer tests. */

#include <stddef.h>
#include <sys/types.h>

struct tar_ent {
        const char *name;
        char type; /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c' char dev, 'p' fifo */
        const char *data;  /* file content, or link target */
        mode_t mode;       /* permission bits; 0 = default */
        const char *xattr; /* "name=value" or NULL */
        unsigned dev_major, dev_minor;
        size_t xattr_len; /* value length when it embeds NULs; 0 = strlen */
        size_t data_len;  /* file content length when it embeds NULs; 0 = strlen */
        unsigned uid, gid;
};

/* compression: "none", "gzip" or "zstd". Returns malloc'ed bytes. */
char *tar_build(const struct tar_ent *ents, size_t n, const char *compression, size_t *ret_len);
/* Writes buf to a fresh temp file and returns an fd positioned at 0. */
int tar_to_fd(const char *buf, size_t len);
