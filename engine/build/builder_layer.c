/* SPDX-License-Identifier: Apache-2.0 */
/* A step's directory (COPY's copied files, WORKDIR's directory, RUN's overlay upper dir) becomes
 * the unpacked layer in the store by a rename, after its tar has been written: unpacking the tar
 * again would create every file a second time, the most expensive part of a build with many
 * small files (ext4 file creation). The directory then holds what the unpacker would have made
 * from the tar (the store's unpacked form is overlayfs's: 0:0 character device whiteouts and
 * trusted.overlay.opaque directories), once the few things the tar leaves out are dropped. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build/builder_int.h"
#include "cleanup.h"
#include "fileio.h"
#include "image/layer.h"
#include "image/store.h"
#include "strv.h"
#include "xalloc.h"

#define XATTR_LIST_MAX_LEN 65536
#define NFTW_FDS 32

static const char OPAQUE_T[] = "trusted.overlay.opaque";
static const char OPAQUE_U[] = "user.overlay.opaque";

/* Overlay's bookkeeping on an upper dir entry (origin, impure, redirect...): the tar writer
 * leaves it out, and in a lower layer it could mislead overlayfs. An opaque marker is kept, as
 * trusted.overlay.opaque (the form the unpacker writes). Unix sockets are not in the tar. */
static int clean_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
        char list[XATTR_LIST_MAX_LEN];
        ssize_t n;
        bool opaque = false;

        (void)type;
        (void)ftw;
        if (S_ISSOCK(sb->st_mode))
                return unlink(path) < 0 ? -1 : 0;
        if (S_ISLNK(sb->st_mode))
                return 0; /* no trusted.* xattrs on symlinks that matter here */
        n = llistxattr(path, list, sizeof(list));
        if (n < 0)
                return errno == ENOTSUP ? 0 : -1;
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
                const char *name = list + i;
                if (!str_startswith(name, "trusted.overlay.") &&
                    !str_startswith(name, "user.overlay."))
                        continue;
                if (streq(name, OPAQUE_T) || streq(name, OPAQUE_U)) {
                        char v[2] = {};
                        if (lgetxattr(path, name, v, sizeof(v)) == 1 && v[0] == 'y')
                                opaque = true;
                }
                if (lremovexattr(path, name) < 0)
                        return -1;
        }
        if (opaque && lsetxattr(path, OPAQUE_T, "y", 1, 0) < 0)
                return -1;
        return 0;
}

int bld_layer_adopt(struct builder *b, const char *dir, bool upper, const char *diff_id,
                    const char *chain_id, uint64_t size, struct err **errp) {
        _cleanup_free_ char *stage = NULL, *diff = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (image_store_has_layer(b->o->store, chain_id))
                return 1; /* an identical layer is there already */
        if (upper && nftw(dir, clean_entry, NFTW_FDS, FTW_PHYS | FTW_MOUNT) != 0)
                return err_set(errp, errno, "prepare '%s' as a layer", dir);
        r = layer_stage_new(b->o->store, &stage, &dfd, errp);
        if (r < 0)
                return r;
        diff = xasprintf("%s/diff", stage);
        /* The unpacker's layer root: 0755 root:root (the tar has no entry for it). */
        if (rmdir(diff) < 0 || chmod(dir, 0755) < 0 || lchown(dir, 0, 0) < 0 ||
            rename(dir, diff) < 0) {
                int e = errno;
                (void)rm_rf(stage, NULL);
                if (e == EXDEV)
                        return 0; /* another file system: the caller unpacks the tar */
                return err_set(errp, e, "move '%s' into the image store", dir);
        }
        r = layer_stage_commit(b->o->store, stage, chain_id, diff_id, NULL, size, errp);
        return r < 0 ? r : 1;
}
