/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "image/store.h"

/* Layer unpacking (OCI image-spec layer.md). The stream may be uncompressed, gzip or zstd (any
 * filter libarchive detects). Extraction is fd-relative and never follows a symlink: every parent
 * directory is opened component by component with O_NOFOLLOW below the destination, ".."
 * components are refused, absolute names are made relative, hard-link targets resolve the same
 * way inside the destination. OCI whiteouts become overlayfs whiteouts: ".wh.NAME" a 0:0
 * character device, ".wh..wh..opq" the trusted.overlay.opaque=y xattr on the directory (as
 * non-root: user.overlay.opaque, for overlayfs' userxattr mode). Ownership is applied only when
 * running as root. */

/* Extracts the tar stream read from fd into the (empty) directory dest_dfd, synchronously.
 * ret_diff_id receives the sha256 of the decompressed stream, ret_size its length. Meant to be
 * run in a forked helper by the agent. */
int layer_unpack_fd(int fd, int dest_dfd, char **ret_diff_id, uint64_t *ret_size,
                    struct err **errp);
/* Reads up to n bytes of the layer stream into buf: the count, 0 at its end, or a negative
 * errno. */
typedef ssize_t layer_read_fn(void *userdata, void *buf, size_t n);
/* Same, with the stream read through rd (a download that is also written elsewhere). */
int layer_unpack_stream(layer_read_fn *rd, void *userdata, int dest_dfd, char **ret_diff_id,
                        uint64_t *ret_size, struct err **errp);

/* Unpacks the stream from fd into images/layers/<chain_id>/diff: extraction into images/tmp,
 * diff id checked against expected_diff_id (when not NULL), then renamed into place. A layer that
 * is already present is success. ret_size (optional) gets the uncompressed size. */
int layer_unpack_to_store(struct image_store *s, int fd, const char *expected_diff_id,
                          const char *chain_id, uint64_t *ret_size, struct err **errp);

/* The two halves of layer_unpack_to_store, for callers that extract while downloading:
 * layer_stage_new creates images/tmp/<dir>/diff and opens it; layer_stage_commit checks the
 * diff id, writes layer.json and renames the stage into layers/<chain hex> (a layer that
 * appeared meanwhile wins; the stage is removed on every failure). */
int layer_stage_new(struct image_store *s, char **ret_stage, int *ret_dfd, struct err **errp);
int layer_stage_commit(struct image_store *s, const char *stage, const char *chain_id,
                       const char *diff_id, const char *expected_diff_id, uint64_t size,
                       struct err **errp);
/* layer_stage_commit in two steps, for a pull that syncs the store once before it publishes
 * anything: layer_stage_finish checks the diff id and writes layer.json (fsynced when sync is
 * set), layer_stage_publish renames the stage into place. Both remove the stage on failure. */
int layer_stage_finish(const char *stage, const char *diff_id, const char *expected_diff_id,
                       uint64_t size, bool sync, struct err **errp);
int layer_stage_publish(struct image_store *s, const char *stage, const char *chain_id,
                        struct err **errp);

/* Same, from a blob already in the store. */
int layer_unpack_blob(struct image_store *s, const char *blob_digest, const char *expected_diff_id,
                      const char *chain_id, uint64_t *ret_size, struct err **errp);

/* Uncompressed size recorded for a stored layer (layers/<hex>/layer.json); 0 when unknown. */
uint64_t layer_stored_size(struct image_store *s, const char *chain_id);
