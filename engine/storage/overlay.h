/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "err.h"

/* Container root file systems from image layers.
 *
 * <ctr_dir>/upper, <ctr_dir>/work and <ctr_dir>/rootfs are created; rootfs is an overlay mount
 * of the lower dirs (top layer first) with upper/work on top. When the lowerdir option would not
 * fit in one page (deep images), short symlinks <ctr_dir>/l/<n> -> lower dir are created and the
 * mount is made with relative names from inside <ctr_dir> (docker's overlay2 trick): that step
 * changes the working directory of the calling process for the duration of mount(2), so call it
 * from a single-threaded helper. When overlayfs is unavailable, the layers are copied into
 * rootfs, bottom first, applying whiteouts and opaque directories. */

enum ovl_mode {
        OVL_MODE_AUTO,    /* overlay, or the copy when overlay cannot be mounted */
        OVL_MODE_OVERLAY, /* overlay only */
        OVL_MODE_COPY,    /* always copy (tests, file systems overlay cannot use) */
        _OVL_MODE_MAX,
        _OVL_MODE_INVALID = -EINVAL,
};

/* Builds "lowerdir=A:B,upperdir=U,workdir=W" (pure). Paths with ':' or ',' are refused. */
int ovl_format_opts(char *const *lowers, const char *upper, const char *work, char **ret,
                    struct err **errp);

/* Prepares <ctr_dir>/rootfs. Returns 1 when an overlay was mounted, 0 when the layers were
 * copied. Calling it again on a prepared dir is fine (returns the same state). ret_rootfs is
 * optional. */
int ovl_prepare(const char *ctr_dir, char *const *lowers, enum ovl_mode mode, char **ret_rootfs,
                struct err **errp);

/* Flags of ovl_prepare_flags. OVL_VOLATILE: mount with overlayfs' "volatile" option, which
 * skips every sync of the upper file system, including the one at unmount (a full sync of the
 * file system holding <ctr_dir>: milliseconds, more when the disk is busy). Only for writable
 * layers thrown away when the container exits (run --rm; podman does the same): after a crash
 * their content is not trusted. Kernels without the option (before 5.10) get a normal mount. */
enum { OVL_VOLATILE = 1 << 0 };

/* ovl_prepare with flags (above). */
int ovl_prepare_flags(const char *ctr_dir, char *const *lowers, enum ovl_mode mode, unsigned flags,
                      char **ret_rootfs, struct err **errp);

/* Unmounts <ctr_dir>/rootfs. 1 when something was unmounted, 0 when it was not mounted. */
int ovl_unmount(const char *ctr_dir, struct err **errp);

/* Unmounts and deletes rootfs, upper, work and l/ (the container's writable layer). */
int ovl_remove(const char *ctr_dir, struct err **errp);

/* Copies the layers (top first) into dest applying whiteouts: the copy fallback, exposed for
 * tests and for `export`. */
int ovl_copy_layers(char *const *lowers, const char *dest, struct err **errp);
