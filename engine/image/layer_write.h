/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "err.h"
#include "image/store.h"

/* Directory -> OCI layer tar (the inverse of layer.h's unpacker). The tree under dir is read as
 * an overlayfs upper directory: a 0:0 character device NAME becomes an empty ".wh.NAME" entry, a
 * directory with trusted.overlay.opaque=y (or user.overlay.opaque=y) gets a ".wh..wh..opq" entry
 * right after it; overlay's own xattrs are never copied. Entries are written in sorted order
 * (deterministic output for identical trees), hard links inside the tree become tar hard links,
 * other xattrs of regular files and directories are kept (security.capability matters), unix
 * sockets are left out (a tar cannot hold them). Nothing
 * outside dir is followed: every open is relative to the parent's fd with O_NOFOLLOW. */

/* Writes the tar (uncompressed pax) to out_fd. ret_size (optional) receives the bytes written. */
int layer_write_dir_fd(const char *dir, int out_fd, uint64_t *ret_size, struct err **errp);

/* Writes the tar as a blob into the store (uncompressed: blob digest == diff id). ret_digest gets
 * "sha256:...", ret_size (optional) the blob's length. Used by `commit` and the builder. */
int layer_from_dir(struct image_store *s, const char *dir, char **ret_digest, uint64_t *ret_size,
                   struct err **errp);

/* The same tar gzip-compressed into the store (OCI layer.v1.tar+gzip): ret_digest gets the blob
 * digest, ret_diff_id the sha256 of the uncompressed tar, ret_size (optional) its length. What
 * `commit` uses, so a pushed commit sends compressed layers. */
int layer_from_dir_gz(struct image_store *s, const char *dir, char **ret_digest, char **ret_diff_id,
                      uint64_t *ret_size, struct err **errp);
