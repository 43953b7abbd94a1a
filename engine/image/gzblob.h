/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "image/store.h"

/* A layer blob written gzip-compressed into the store (OCI "layer.v1.tar+gzip") while the
 * sha256 of the uncompressed stream (the layer's diff id) is computed in the same pass. Used by
 * import, commit and load of uncompressed docker-save layers, so what push sends is compressed.
 * The gzip stream is deterministic (no name, mtime 0, fixed level): the same tar always gives
 * the same blob digest. */

struct gz_blob;

int gz_blob_open(struct image_store *s, struct gz_blob **ret, struct err **errp);
/* Feeds n uncompressed bytes. */
int gz_blob_write(struct gz_blob *g, const void *buf, size_t n, struct err **errp);
/* Ends the stream and moves the blob into the store: its digest (of the compressed bytes), the
 * diff id (of the uncompressed bytes) and the uncompressed size; each ret_ may be NULL. */
int gz_blob_commit(struct gz_blob *g, char **ret_digest, char **ret_diff_id,
                   uint64_t *ret_uncompressed_size, struct err **errp);
struct gz_blob *gz_blob_free(struct gz_blob *g);
void gz_blob_freep(struct gz_blob **g);

/* True when the first bytes are the magic of a compression format the layer reader knows
 * (gzip, zstd, xz, bzip2): such a layer is stored as it is. */
bool layer_magic_compressed(const unsigned char *m, size_t n);
