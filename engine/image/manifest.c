/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "image/errwrap.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/store.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

static const char *const kind_media_types[_MANIFEST_KIND_MAX] = {
        [MANIFEST_OCI] = MT_OCI_MANIFEST,
        [MANIFEST_OCI_INDEX] = MT_OCI_INDEX,
        [MANIFEST_DOCKER_V2] = MT_DOCKER_MANIFEST,
        [MANIFEST_DOCKER_LIST] = MT_DOCKER_LIST,
};

enum manifest_kind manifest_kind_from_media_type(const char *mt) {
        if (!mt)
                return _MANIFEST_KIND_INVALID;
        for (size_t i = 0; i < _MANIFEST_KIND_MAX; i++)
                if (streq(mt, kind_media_types[i]))
                        return (enum manifest_kind)i;
        return _MANIFEST_KIND_INVALID;
}

bool layer_media_type_supported(const char *mt) {
        static const char *const ok[] = {
                MT_OCI_LAYER,
                MT_OCI_LAYER_GZIP,
                MT_OCI_LAYER_ZSTD,
                MT_DOCKER_LAYER_GZIP,
                MT_DOCKER_LAYER_FOREIGN,
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        };
        for (size_t i = 0; mt && i < ELEMENTSOF(ok); i++)
                if (streq(mt, ok[i]))
                        return true;
        return false;
}

static void descriptor_done(struct descriptor *d) {
        free(d->media_type);
        free(d->digest);
        free(d->os);
        free(d->arch);
        free(d->variant);
}

struct manifest *manifest_free(struct manifest *m) {
        if (!m)
                return NULL;
        free(m->media_type);
        descriptor_done(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                descriptor_done(&m->layers[i]);
        free(m->layers);
        for (size_t i = 0; i < m->n_manifests; i++)
                descriptor_done(&m->manifests[i]);
        free(m->manifests);
        free(m);
        return NULL;
}

void manifest_freep(struct manifest **m) {
        *m = manifest_free(*m);
}

static int descriptor_parse(const json_t *o, const char *what, struct descriptor *d,
                            struct err **errp) {
        json_t *size = json_object_get(o, "size");
        const char *mt, *digest;
        int r;

        if (!json_is_object(o))
                return err_setx(errp, EINVAL, "%s: not an object", what);
        mt = json_get_str(o, "mediaType", NULL);
        digest = json_get_str(o, "digest", NULL);
        if (!mt)
                return err_setx(errp, EINVAL, "%s.mediaType: missing", what);
        if (!digest)
                return err_setx(errp, EINVAL, "%s.digest: missing", what);
        r = digest_validate(digest, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "%s.digest", what);
        if (!json_is_integer(size) || json_integer_value(size) < 0)
                return err_setx(errp, EINVAL, "%s.size: missing or negative", what);
        d->media_type = xstrdup(mt);
        d->digest = xstrdup(digest);
        d->size = json_integer_value(size);
        return 0;
}

int manifest_parse(const char *buf, size_t len, const char *content_type, struct manifest **ret,
                   struct err **errp) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *mt;
        json_t *arr, *v;
        size_t i;
        int r;

        if (len > BLOB_MANIFEST_MAX)
                return err_setx(errp, EFBIG, "manifest larger than %u bytes", BLOB_MANIFEST_MAX);
        r = json_parse(buf, len, "manifest", &j, errp);
        if (r < 0)
                return r;
        if (!json_is_object(j))
                return err_setx(errp, EINVAL, "manifest: not a JSON object");
        if (json_get_int(j, "schemaVersion", 0) != 2)
                return err_setx(errp, EINVAL,
                                "manifest: schemaVersion %" PRId64 " is not supported (only 2)",
                                json_get_int(j, "schemaVersion", 0));

        mt = json_get_str(j, "mediaType", NULL);
        if (!mt && content_type && !streq(content_type, "application/json"))
                mt = content_type;
        if (!mt) {
                /* OCI allows omitting mediaType: tell a manifest from an index by its shape. */
                if (json_object_get(j, "manifests"))
                        mt = MT_OCI_INDEX;
                else if (json_object_get(j, "config"))
                        mt = MT_OCI_MANIFEST;
        }
        m = xnew0(struct manifest, 1);
        m->kind = manifest_kind_from_media_type(mt);
        if (m->kind < 0)
                return err_setx(errp, EINVAL, "manifest: unsupported media type '%s'",
                                mt ? mt : "(none)");
        m->media_type = xstrdup(mt);

        if (manifest_kind_is_index(m->kind)) {
                arr = json_object_get(j, "manifests");
                if (!json_is_array(arr))
                        return err_setx(errp, EINVAL, "manifest: manifests: missing array");
                if (json_array_size(arr) > MANIFEST_MAX_ENTRIES)
                        return err_setx(errp, E2BIG, "manifest: more than %d entries",
                                        MANIFEST_MAX_ENTRIES);
                m->manifests = xnew0(struct descriptor, json_array_size(arr) + 1);
                json_array_foreach (arr, i, v) {
                        struct descriptor *d = &m->manifests[m->n_manifests];
                        json_t *p = json_object_get(v, "platform");
                        char what[64];

                        snprintf(what, sizeof(what), "manifest: manifests[%zu]", i);
                        r = descriptor_parse(v, what, d, errp);
                        m->n_manifests++;
                        if (r < 0)
                                return r;
                        if (json_is_object(p)) {
                                const char *os = json_get_str(p, "os", NULL);
                                const char *arch = json_get_str(p, "architecture", NULL);
                                const char *var = json_get_str(p, "variant", NULL);
                                d->os = os ? xstrdup(os) : NULL;
                                d->arch = arch ? xstrdup(arch) : NULL;
                                d->variant = var ? xstrdup(var) : NULL;
                        }
                }
        } else {
                r = descriptor_parse(json_object_get(j, "config"), "manifest: config", &m->config,
                                     errp);
                if (r < 0)
                        return r;
                arr = json_object_get(j, "layers");
                if (!json_is_array(arr))
                        return err_setx(errp, EINVAL, "manifest: layers: missing array");
                if (json_array_size(arr) > MANIFEST_MAX_LAYERS)
                        return err_setx(errp, E2BIG, "manifest: more than %d layers",
                                        MANIFEST_MAX_LAYERS);
                m->layers = xnew0(struct descriptor, json_array_size(arr) + 1);
                json_array_foreach (arr, i, v) {
                        char what[64];

                        snprintf(what, sizeof(what), "manifest: layers[%zu]", i);
                        r = descriptor_parse(v, what, &m->layers[m->n_layers], errp);
                        m->n_layers++;
                        if (r < 0)
                                return r;
                        if (!layer_media_type_supported(m->layers[i].media_type))
                                return err_setx(errp, EINVAL,
                                                "%s: unsupported layer media type '%s'", what,
                                                m->layers[i].media_type);
                }
        }
        *ret = TAKE_PTR(m);
        return 0;
}

void platform_host(const char **ret_os, const char **ret_arch, const char **ret_variant) {
        *ret_os = "linux";
#if defined(__x86_64__)
        *ret_arch = "amd64";
        *ret_variant = NULL;
#elif defined(__aarch64__)
        *ret_arch = "arm64";
        *ret_variant = "v8";
#elif defined(__arm__)
        *ret_arch = "arm";
        *ret_variant = "v7";
#elif defined(__i386__)
        *ret_arch = "386";
        *ret_variant = NULL;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        *ret_arch = "ppc64le";
        *ret_variant = NULL;
#elif defined(__s390x__)
        *ret_arch = "s390x";
        *ret_variant = NULL;
#elif defined(__riscv) && __riscv_xlen == 64
        *ret_arch = "riscv64";
        *ret_variant = NULL;
#else
        *ret_arch = "unknown";
        *ret_variant = NULL;
#endif
}

/* containerd's normalisation: arm64 without variant is v8; amd64 "v1" is the baseline. */
static const char *norm_variant(const char *arch, const char *variant) {
        if (streq(arch, "arm64") && (!variant || !*variant))
                return "v8";
        if (streq(arch, "amd64") && variant && streq(variant, "v1"))
                return NULL;
        return variant && *variant ? variant : NULL;
}

int manifest_select(const struct manifest *index, const char *os, const char *arch,
                    const char *variant, const struct descriptor **ret, struct err **errp) {
        _cleanup_strv_ char **seen = NULL;
        _cleanup_free_ char *list = NULL;
        const char *want_var = norm_variant(arch, variant);
        const struct descriptor *fallback = NULL;

        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct descriptor *d = &index->manifests[i];
                const char *var;

                if (!d->os || !d->arch)
                        continue;
                strv_push_take(&seen, xasprintf("%s/%s%s%s", d->os, d->arch, d->variant ? "/" : "",
                                                d->variant ? d->variant : ""));
                if (!streq(d->os, os) || !streq(d->arch, arch))
                        continue;
                if (manifest_kind_from_media_type(d->media_type) < 0 ||
                    manifest_kind_is_index(manifest_kind_from_media_type(d->media_type)))
                        continue;
                var = norm_variant(d->arch, d->variant);
                if (!variant || streq_ptr(var, want_var)) {
                        *ret = d;
                        return 0;
                }
                /* A variant-less entry still runs on a machine with a newer variant. */
                if (!var && !fallback)
                        fallback = d;
        }
        if (fallback) {
                *ret = fallback;
                return 0;
        }
        list = strv_join(seen, ", ");
        return err_setx(errp, ENOENT, "no manifest for platform %s/%s%s%s (available: %s)", os,
                        arch, variant ? "/" : "", variant ? variant : "", *list ? list : "none");
}

/* ---- image config ---- */

static void history_done(struct history_entry *h) {
        free(h->created);
        free(h->created_by);
        free(h->comment);
}

struct image_config *image_config_free(struct image_config *c) {
        if (!c)
                return NULL;
        free(c->created);
        free(c->author);
        free(c->architecture);
        free(c->os);
        free(c->variant);
        strv_free(c->env);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        strv_free(c->exposed_ports);
        strv_free(c->volumes);
        strv_free(c->labels);
        if (c->healthcheck) {
                strv_free(c->healthcheck->test);
                free(c->healthcheck);
        }
        for (size_t i = 0; i < c->n_history; i++)
                history_done(&c->history[i]);
        free(c->history);
        strv_free(c->diff_ids);
        free(c);
        return NULL;
}

void image_config_freep(struct image_config **c) {
        *c = image_config_free(*c);
}

static char *dup_opt(const json_t *o, const char *key) {
        const char *s = json_get_str(o, key, NULL);
        return s ? xstrdup(s) : NULL;
}

/* A string array or null; anything else names the field. */
static int str_array(const json_t *o, const char *key, char ***ret, bool *ret_set,
                     struct err **errp) {
        json_t *a = json_object_get(o, key);
        _cleanup_strv_ char **l = NULL;
        json_t *v;
        size_t i;

        if (ret_set)
                *ret_set = json_is_array(a);
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return err_setx(errp, EINVAL, "image config: %s: not an array", key);
        json_array_foreach (a, i, v) {
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL, "image config: %s[%zu]: not a string", key,
                                        i);
                strv_push(&l, json_string_value(v));
        }
        if (!l)
                l = xnew0(char *, 1);
        *ret = TAKE_PTR(l);
        return 0;
}

static int key_set(const json_t *o, const char *key, char ***ret, struct err **errp) {
        json_t *m = json_object_get(o, key), *v;
        const char *k;

        if (!m || json_is_null(m))
                return 0;
        if (!json_is_object(m))
                return err_setx(errp, EINVAL, "image config: %s: not an object", key);
        json_object_foreach (m, k, v)
                strv_push(ret, k);
        return 0;
}

int image_config_parse(const char *buf, size_t len, struct image_config **ret, struct err **errp) {
        _cleanup_(image_config_freep) struct image_config *c = NULL;
        _cleanup_json_ json_t *j = NULL;
        json_t *cfg, *rootfs, *hist, *labels, *hc, *v;
        const char *k;
        size_t i;
        int r;

        if (len > BLOB_CONFIG_MAX)
                return err_setx(errp, EFBIG, "image config larger than %u bytes", BLOB_CONFIG_MAX);
        r = json_parse(buf, len, "image config", &j, errp);
        if (r < 0)
                return r;
        if (!json_is_object(j))
                return err_setx(errp, EINVAL, "image config: not a JSON object");
        c = xnew0(struct image_config, 1);
        c->created = dup_opt(j, "created");
        c->author = dup_opt(j, "author");
        c->architecture = dup_opt(j, "architecture");
        c->os = dup_opt(j, "os");
        c->variant = dup_opt(j, "variant");

        cfg = json_object_get(j, "config");
        if (cfg && !json_is_null(cfg)) {
                if (!json_is_object(cfg))
                        return err_setx(errp, EINVAL, "image config: config: not an object");
                r = str_array(cfg, "Env", &c->env, NULL, errp);
                if (r >= 0)
                        r = str_array(cfg, "Entrypoint", &c->entrypoint, &c->entrypoint_set, errp);
                if (r >= 0)
                        r = str_array(cfg, "Cmd", &c->cmd, &c->cmd_set, errp);
                if (r >= 0)
                        r = key_set(cfg, "ExposedPorts", &c->exposed_ports, errp);
                if (r >= 0)
                        r = key_set(cfg, "Volumes", &c->volumes, errp);
                if (r < 0)
                        return r;
                c->working_dir = dup_opt(cfg, "WorkingDir");
                c->user = dup_opt(cfg, "User");
                c->stop_signal = dup_opt(cfg, "StopSignal");
                labels = json_object_get(cfg, "Labels");
                if (json_is_object(labels))
                        json_object_foreach (labels, k, v) {
                                if (!json_is_string(v))
                                        return err_setx(errp, EINVAL,
                                                        "image config: Labels.%s: not a string", k);
                                strv_push_take(&c->labels,
                                               xasprintf("%s=%s", k, json_string_value(v)));
                        }
                hc = json_object_get(cfg, "Healthcheck");
                if (json_is_object(hc)) {
                        c->healthcheck = xnew0(struct healthcheck, 1);
                        r = str_array(hc, "Test", &c->healthcheck->test, NULL, errp);
                        if (r < 0)
                                return r;
                        c->healthcheck->interval_ns = json_get_int(hc, "Interval", 0);
                        c->healthcheck->timeout_ns = json_get_int(hc, "Timeout", 0);
                        c->healthcheck->start_period_ns = json_get_int(hc, "StartPeriod", 0);
                        c->healthcheck->retries = (int)json_get_int(hc, "Retries", 0);
                }
        }

        rootfs = json_object_get(j, "rootfs");
        if (!json_is_object(rootfs))
                return err_setx(errp, EINVAL, "image config: rootfs: missing");
        if (!streq_ptr(json_get_str(rootfs, "type", NULL), "layers"))
                return err_setx(errp, EINVAL, "image config: rootfs.type: must be \"layers\"");
        r = str_array(rootfs, "diff_ids", &c->diff_ids, NULL, errp);
        if (r < 0)
                return r;
        if (!c->diff_ids)
                return err_setx(errp, EINVAL, "image config: rootfs.diff_ids: missing");
        if (strv_length(c->diff_ids) > MANIFEST_MAX_LAYERS)
                return err_setx(errp, E2BIG, "image config: more than %d layers",
                                MANIFEST_MAX_LAYERS);
        STRV_FOREACH (d, c->diff_ids) {
                r = digest_validate(*d, errp);
                if (r < 0)
                        return err_wrap_r(r, errp, "image config: rootfs.diff_ids");
        }

        hist = json_object_get(j, "history");
        if (json_is_array(hist)) {
                c->history = xnew0(struct history_entry, json_array_size(hist) + 1);
                json_array_foreach (hist, i, v) {
                        struct history_entry *h = &c->history[c->n_history++];
                        h->created = dup_opt(v, "created");
                        h->created_by = dup_opt(v, "created_by");
                        h->comment = dup_opt(v, "comment");
                        h->empty_layer = json_get_bool(v, "empty_layer", false);
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}
