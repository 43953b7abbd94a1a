/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

#include "err.h"
#include "image/store.h"

/* Images in and out of tarballs: import (a rootfs becomes a one-layer image), save (docker-archive
 * that is also an OCI image layout) and load (docker-archive from `docker save`, OCI layout as a
 * tar or a directory). Layers created here are stored uncompressed (OCI "layer.v1.tar"): the
 * blob digest is then the diff id, no recompression is needed, and registries accept them. */

struct import_opts {
        char **changes;      /* docker --change: CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL,
                                VOLUME, STOPSIGNAL */
        const char *message; /* history comment */
        const char *ref;     /* reference to tag, may be NULL */
};

/* Imports a rootfs tarball (optionally compressed) read from fd. */
int image_import_fd(struct image_store *s, int fd, const struct import_opts *o, struct image **ret,
                    struct err **errp);
/* Imports a directory tree as the rootfs. */
int image_import_dir(struct image_store *s, const char *dir, const struct import_opts *o,
                     struct image **ret, struct err **errp);

/* Applies docker --change instructions to a config's "config" object (exposed for tests). */
int image_apply_changes(json_t *config, char *const *changes, struct err **errp);

/* Registers an image from a stored config and layer blobs: unpacks missing layers, writes an OCI
 * manifest when manifest_digest is NULL, adds the record and tags refs. Used by import and load;
 * pull stores the registry's manifest itself and passes its digest. */
int image_register(struct image_store *s, const char *config_digest, char *const *layer_digests,
                   const char *manifest_digest, char *const *refs, struct image **ret,
                   struct err **errp);

/* Writes the named images (references or ids) as a tar to out_fd: docker-archive (manifest.json,
 * repositories, <config hex>.json, <layer hex>/layer.tar) plus an OCI layout (oci-layout,
 * index.json, blobs/sha256/). */
int image_save(struct image_store *s, char *const *names, int out_fd, struct err **errp);

/* Loads a docker-archive or OCI layout tar from fd. ret_refs (optional) gets the references that
 * were tagged, ret_ids the image ids. */
int image_load(struct image_store *s, int fd, char ***ret_refs, char ***ret_ids, struct err **errp);
/* Loads an OCI image layout directory. ref names the images when the layout's index has no
 * org.opencontainers.image.ref.name annotation (may be NULL). */
int image_load_oci_dir(struct image_store *s, const char *dir, const char *ref, char ***ret_refs,
                       char ***ret_ids, struct err **errp);
