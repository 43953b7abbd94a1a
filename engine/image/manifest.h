/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "macro.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* The Accept header value covering all four manifest kinds. */
#define MANIFEST_ACCEPT                                                                            \
        MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST

#define MANIFEST_MAX_LAYERS 1000
#define MANIFEST_MAX_ENTRIES 1000

enum manifest_kind {
        MANIFEST_OCI,
        MANIFEST_OCI_INDEX,
        MANIFEST_DOCKER_V2,
        MANIFEST_DOCKER_LIST,
        _MANIFEST_KIND_MAX,
        _MANIFEST_KIND_INVALID = -EINVAL,
};

struct descriptor {
        char *media_type;
        char *digest;
        int64_t size;
        /* platform, for index entries */
        char *os, *arch, *variant;
};

struct manifest {
        enum manifest_kind kind;
        char *media_type;
        /* image manifests */
        struct descriptor config;
        struct descriptor *layers;
        size_t n_layers;
        /* indexes / manifest lists */
        struct descriptor *manifests;
        size_t n_manifests;
};

/* Kind from a media type; _MANIFEST_KIND_INVALID for anything else. */
enum manifest_kind manifest_kind_from_media_type(const char *mt);
static inline bool manifest_kind_is_index(enum manifest_kind k) {
        return k == MANIFEST_OCI_INDEX || k == MANIFEST_DOCKER_LIST;
}

/* Parses a manifest or index. content_type (the registry's Content-Type, may be NULL) is used
 * when the document has no mediaType field. Limits: BLOB_MANIFEST_MAX bytes, MANIFEST_MAX_*. */
int manifest_parse(const char *buf, size_t len, const char *content_type, struct manifest **ret,
                   struct err **errp);
struct manifest *manifest_free(struct manifest *m);
void manifest_freep(struct manifest **m);

/* This machine's platform in OCI terms (e.g. linux/amd64, linux/arm64/v8). */
void platform_host(const char **ret_os, const char **ret_arch, const char **ret_variant);
/* Picks the entry of an index for os/arch/variant (variant NULL = any; arm64 entries without a
 * variant match v8). -ENOENT names the available platforms. */
int manifest_select(const struct manifest *index, const char *os, const char *arch,
                    const char *variant, const struct descriptor **ret, struct err **errp);

/* Layer media types we can unpack. */
bool layer_media_type_supported(const char *mt);

struct healthcheck {
        char **test; /* ["CMD", ...], ["CMD-SHELL", cmd], ["NONE"] */
        int64_t interval_ns, timeout_ns, start_period_ns;
        int retries;
};

struct history_entry {
        char *created, *created_by, *comment;
        bool empty_layer;
};

struct image_config {
        char *created, *author, *architecture, *os, *variant;
        char **env, **entrypoint, **cmd;
        bool entrypoint_set, cmd_set; /* explicitly present (possibly empty) */
        char *working_dir, *user, *stop_signal;
        char **exposed_ports; /* "80/tcp" */
        char **volumes;
        char **labels; /* "key=value" */
        struct healthcheck *healthcheck;
        struct history_entry *history;
        size_t n_history;
        char **diff_ids;
};

/* Parses an image config (both OCI and docker use the same JSON). Limit BLOB_CONFIG_MAX. */
int image_config_parse(const char *buf, size_t len, struct image_config **ret, struct err **errp);
struct image_config *image_config_free(struct image_config *c);
void image_config_freep(struct image_config **c);
