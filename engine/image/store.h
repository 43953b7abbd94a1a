/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "macro.h"

/* Content store and image index under <root>/images (DESIGN §7):
 *
 *   blobs/sha256/<hex>      manifests, configs, layer blobs; written to tmp/, verified, renamed
 *   layers/<chainhex>/diff  unpacked layers; layers/<chainhex>/layer.json {diff_id, size}
 *   index.json              {"version":1, "refs":{full ref: image id}, "images":{id: record}}
 *   tmp/                    in-flight downloads and extractions
 *
 * Index updates hold an exclusive flock on images/index.lock. Operations that add content
 * (pull, load, import) hold a shared flock on images/gc.lock; garbage collection and the removal
 * of leftovers in tmp/ only run when the exclusive gc lock is free, so they never delete content
 * another process is still writing. */

#define IMAGE_INDEX_VERSION 1
#define BLOB_MANIFEST_MAX (4u << 20)
#define BLOB_CONFIG_MAX (8u << 20)

struct image_store;

/* Opens (creating if needed) the store under root; clears stale temp files. */
int image_store_open(const char *root, struct image_store **ret, struct err **errp);
struct image_store *image_store_free(struct image_store *s);
void image_store_freep(struct image_store **s);
/* "<root>/images" */
const char *image_store_dir(const struct image_store *s);

/* Takes the shared "content is being added" lock for the lifetime of the returned fd. */
int image_store_hold(struct image_store *s, struct err **errp);

/* Paths (allocated). digest must be valid (digest_validate). */
char *image_store_blob_path(const struct image_store *s, const char *digest);
char *image_store_layer_dir(const struct image_store *s, const char *chain_id);
bool image_store_has_blob(const struct image_store *s, const char *digest);
bool image_store_has_layer(const struct image_store *s, const char *chain_id);
/* syncfs(2) of the file system that holds the store: every file written there so far is
 * durable when it returns. */
int image_store_sync(struct image_store *s, struct err **errp);
/* fsync of blobs/sha256 and layers/: what was renamed into them is durable. */
int image_store_sync_dirs(struct image_store *s, struct err **errp);
/* Creates a fresh directory under tmp/ and returns its path. */
int image_store_mkdtemp(struct image_store *s, char **ret, struct err **errp);

/* Streaming blob writer: bytes go to a temp file while sha256 is computed. commit verifies the
 * digest and size (when given), fsyncs and renames into blobs/. Freeing an uncommitted writer
 * removes the temp file. */
struct blob_writer;
int blob_writer_open(struct image_store *s, const char *expected_digest, int64_t expected_size,
                     struct blob_writer **ret, struct err **errp);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t n, struct err **errp);
/* Discards what was written so far (used when a download restarts). */
int blob_writer_reset(struct blob_writer *w, struct err **errp);
uint64_t blob_writer_size(const struct blob_writer *w);
int blob_writer_commit(struct blob_writer *w, char **ret_digest, struct err **errp);
/* For a writer filled by a forked worker through its copy of w (a pull): the worker checks size
 * and digest with blob_writer_verify (nothing synced, nothing renamed); the parent, told that it
 * passed, syncs the store (image_store_sync) and then publishes the temp file under the expected
 * digest with blob_writer_publish_verified (no second hash, no fsync). */
int blob_writer_verify(struct blob_writer *w, struct err **errp);
int blob_writer_publish_verified(struct blob_writer *w, struct err **errp);
/* The temp file being written. */
const char *blob_writer_path(const struct blob_writer *w);
struct blob_writer *blob_writer_free(struct blob_writer *w);
void blob_writer_freep(struct blob_writer **w);

/* Whole-buffer helpers. read_blob verifies the content against its digest. */
int image_store_put_blob(struct image_store *s, const void *buf, size_t n, const char *expected,
                         char **ret_digest, struct err **errp);
int image_store_read_blob(struct image_store *s, const char *digest, size_t max, char **ret,
                          size_t *ret_len, struct err **errp);

/* sha256 of a buffer as "sha256:<hex>". */
char *digest_of(const void *buf, size_t n);
/* Chain ids from diff ids (OCI image spec): chain[0] = diff[0],
 * chain[i] = sha256(chain[i-1] + " " + diff[i]). Returns a NULL-terminated vector. */
char **chain_ids_compute(char *const *diff_ids);

struct image {
        char *id;              /* config digest */
        char *manifest_digest; /* the manifest that was pulled, loaded or built */
        char *created;         /* RFC 3339, from the config */
        int64_t size;          /* sum of uncompressed layer sizes */
        char **refs;           /* full references pointing at this image */
        char **layers;         /* layer blob digests, base first (as in the manifest) */
        char **diff_ids;
        char **chain_ids;
};
struct image *image_free(struct image *i);
void image_freep(struct image **i);
void image_list_free(struct image **l, size_t n);

/* The unpacked layer directories of img for an overlay mount, top layer first. */
char **image_lower_dirs(const struct image_store *s, const struct image *img);

/* Registers img (id, manifest, layers etc.) and points each of refs (full, normalised) at it.
 * Every blob and layer it names must already be present; otherwise nothing changes. */
int image_store_add(struct image_store *s, const struct image *img, char *const *refs,
                    struct err **errp);
/* Looks up a reference ("busybox", "docker.io/library/busybox:1"), a full id "sha256:...",
 * or an unambiguous id prefix of at least 4 hex characters. -ENOENT when absent. */
int image_store_get(struct image_store *s, const char *name, struct image **ret, struct err **errp);
int image_store_list(struct image_store *s, struct image ***ret, size_t *ret_n, struct err **errp);
/* Points target (a reference) at the image named by source. */
int image_store_tag(struct image_store *s, const char *source, const char *target,
                    struct err **errp);
/* docker rmi: a reference that is not the image's last one is only untagged; otherwise the
 * image is removed (refused with EBUSY when it still has other references and force is false),
 * then unused blobs and layers are collected. Returns 1 when the image record was deleted,
 * 0 when only a tag went away. */
int image_store_remove(struct image_store *s, const char *name, bool force, struct err **errp);
/* Deletes blobs and layer dirs that no image record uses. Returns -EBUSY when content is being
 * added by another operation. ret_freed (optional) receives the number of entries removed. */
int image_store_gc(struct image_store *s, size_t *ret_freed, struct err **errp);
