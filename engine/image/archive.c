/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "image/errwrap.h"
#include "image/gzblob.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

static void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

static char *now_rfc3339(void) {
        time_t t = time(NULL);
        struct tm tm;
        char buf[64];

        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

/* Media type of a stored layer blob from its magic bytes. */
static const char *layer_media_type_of(struct image_store *s, const char *digest) {
        _cleanup_free_ char *p = image_store_blob_path(s, digest);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        unsigned char m[4] = {};

        if (fd >= 0 && fd_read_full(fd, m, 4) == 4) {
                if (m[0] == 0x1f && m[1] == 0x8b)
                        return MT_OCI_LAYER_GZIP;
                if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                        return MT_OCI_LAYER_ZSTD;
        }
        return MT_OCI_LAYER;
}

static int64_t blob_size(struct image_store *s, const char *digest) {
        _cleanup_free_ char *p = image_store_blob_path(s, digest);
        struct stat st;

        return stat(p, &st) < 0 ? -1 : (int64_t)st.st_size;
}

int image_register(struct image_store *s, const char *config_digest, char *const *layer_digests,
                   const char *manifest_digest, char *const *refs, struct image **ret,
                   struct err **errp) {
        _cleanup_(image_config_freep) struct image_config *cfg = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *cbuf = NULL, *mdigest = NULL;
        size_t clen, n = strv_length(layer_digests);
        int r;

        r = image_store_read_blob(s, config_digest, BLOB_CONFIG_MAX, &cbuf, &clen, errp);
        if (r < 0)
                return r;
        r = image_config_parse(cbuf, clen, &cfg, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "image config %s", config_digest);
        if (strv_length(cfg->diff_ids) != n)
                return err_setx(errp, EINVAL, "image %s: %zu layers but %zu diff ids in the config",
                                config_digest, n, strv_length(cfg->diff_ids));
        img = xnew0(struct image, 1);
        img->id = xstrdup(config_digest);
        img->created = xstrdup(cfg->created ? cfg->created : "");
        img->layers = strv_copy(layer_digests);
        if (!img->layers)
                img->layers = xnew0(char *, 1);
        img->diff_ids = strv_copy(cfg->diff_ids);
        img->chain_ids = chain_ids_compute(cfg->diff_ids);
        for (size_t i = 0; i < n; i++) {
                uint64_t size = 0;
                r = layer_unpack_blob(s, layer_digests[i], cfg->diff_ids[i], img->chain_ids[i],
                                      &size, errp);
                if (r < 0)
                        return r;
                img->size += (int64_t)size;
        }
        if (!manifest_digest) {
                _cleanup_json_ json_t *m = NULL, *layers = json_array();
                _cleanup_free_ char *text = NULL;

                for (size_t i = 0; i < n; i++)
                        json_array_append_new(
                                layers, json_pack("{s:s,s:s,s:I}", "mediaType",
                                                  layer_media_type_of(s, layer_digests[i]),
                                                  "digest", layer_digests[i], "size",
                                                  (json_int_t)blob_size(s, layer_digests[i])));
                m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
                              MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest",
                              config_digest, "size", (json_int_t)clen, "layers", layers);
                text = json_dump_str(m, false);
                r = image_store_put_blob(s, text, strlen(text), NULL, &mdigest, errp);
                if (r < 0)
                        return r;
                manifest_digest = mdigest;
        }
        img->manifest_digest = xstrdup(manifest_digest);
        r = image_store_add(s, img, refs, errp);
        if (r < 0)
                return r;
        strv_free(img->refs);
        img->refs = strv_copy(refs);
        if (ret)
                *ret = TAKE_PTR(img);
        return 0;
}

/* ---- --change ---- */

/* JSON array form ["a","b"] or the shell form wrapped in /bin/sh -c. */
static int parse_cmd(const char *arg, bool shell, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        size_t i;
        json_t *v;

        if (arg[0] == '[') {
                if (json_parse(arg, strlen(arg), "change", &j, NULL) >= 0 && json_is_array(j)) {
                        json_array_foreach (j, i, v)
                                if (!json_is_string(v))
                                        return err_setx(errp, EINVAL, "element %zu is not a string",
                                                        i);
                        *ret = TAKE_PTR(j);
                        return 0;
                }
        }
        if (!shell)
                return err_setx(errp, EINVAL, "expected a JSON array");
        *ret = json_pack("[s,s,s]", "/bin/sh", "-c", arg);
        return 0;
}

static json_t *obj_get_or_new(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (!json_is_object(v)) {
                v = json_object();
                json_object_set_new(o, key, v);
        }
        return v;
}

/* "k=v k2=v2" or the legacy "k v" form. */
static int parse_kv(json_t *config, const char *instr, const char *arg, struct err **errp) {
        bool env = streq(instr, "ENV");
        _cleanup_strv_ char **words = NULL;
        const char *eq = strchr(arg, '=');
        const char *sp = strpbrk(arg, " \t");

        if (!eq || (sp && sp < eq)) {
                _cleanup_free_ char *k = sp ? xstrndup(arg, (size_t)(sp - arg)) : xstrdup(arg);
                const char *v = sp ? sp + strspn(sp, " \t") : "";
                if (!sp)
                        return err_setx(errp, EINVAL, "%s needs KEY=VALUE", instr);
                strv_push_take(&words, xasprintf("%s=%s", k, v));
        } else
                words = strv_split(arg, " \t");
        STRV_FOREACH (w, words) {
                char *e = strchr(*w, '=');
                if (!e || e == *w)
                        return err_setx(errp, EINVAL, "%s: '%s' is not KEY=VALUE", instr, *w);
                *e = 0;
                if (env) {
                        json_t *a = json_object_get(config, "Env");
                        json_t *nv = json_array();
                        size_t i, klen = strlen(*w);
                        json_t *x;
                        json_array_foreach (a, i, x)
                                if (!(json_is_string(x) &&
                                      strncmp(json_string_value(x), *w, klen) == 0 &&
                                      json_string_value(x)[klen] == '='))
                                        json_array_append(nv, x);
                        json_array_append_new(nv, json_sprintf("%s=%s", *w, e + 1));
                        json_object_set_new(config, "Env", nv);
                } else
                        json_object_set_new(obj_get_or_new(config, "Labels"), *w,
                                            json_string(e + 1));
        }
        return 0;
}

int image_apply_changes(json_t *config, char *const *changes, struct err **errp) {
        STRV_FOREACH (c, changes) {
                const char *s = *c + strspn(*c, " \t");
                size_t n = strcspn(s, " \t");
                _cleanup_free_ char *instr = xstrndup(s, n);
                const char *arg = s + n + strspn(s + n, " \t");
                int r = 0;

                for (char *p = instr; *p; p++)
                        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
                if (!*arg) {
                        r = err_setx(errp, EINVAL, "missing argument");
                } else if (streq(instr, "CMD") || streq(instr, "ENTRYPOINT")) {
                        json_t *v = NULL;
                        r = parse_cmd(arg, true, &v, errp);
                        if (r >= 0)
                                json_object_set_new(config,
                                                    streq(instr, "CMD") ? "Cmd" : "Entrypoint", v);
                } else if (streq(instr, "ENV") || streq(instr, "LABEL")) {
                        r = parse_kv(config, instr, arg, errp);
                } else if (streq(instr, "WORKDIR")) {
                        if (arg[0] != '/')
                                r = err_setx(errp, EINVAL, "WORKDIR must be absolute");
                        else
                                json_object_set_new(config, "WorkingDir", json_string(arg));
                } else if (streq(instr, "USER")) {
                        json_object_set_new(config, "User", json_string(arg));
                } else if (streq(instr, "STOPSIGNAL")) {
                        json_object_set_new(config, "StopSignal", json_string(arg));
                } else if (streq(instr, "EXPOSE")) {
                        _cleanup_strv_ char **ports = strv_split(arg, " \t");
                        STRV_FOREACH (p, ports) {
                                char *end;
                                unsigned long port = strtoul(*p, &end, 10);
                                if (end == *p || port == 0 || port > 65535 ||
                                    (*end && !streq(end, "/tcp") && !streq(end, "/udp") &&
                                     !streq(end, "/sctp"))) {
                                        r = err_setx(errp, EINVAL, "invalid port '%s'", *p);
                                        break;
                                }
                                _cleanup_free_ char *k =
                                        xasprintf("%lu%s", port, *end ? end : "/tcp");
                                json_object_set_new(obj_get_or_new(config, "ExposedPorts"), k,
                                                    json_object());
                        }
                } else if (streq(instr, "VOLUME")) {
                        _cleanup_json_ json_t *v = NULL;
                        size_t i;
                        json_t *x;
                        if (arg[0] == '[')
                                r = parse_cmd(arg, false, &v, errp);
                        else {
                                _cleanup_strv_ char **l = strv_split(arg, " \t");
                                v = json_array();
                                STRV_FOREACH (p, l)
                                        json_array_append_new(v, json_string(*p));
                        }
                        json_array_foreach (v, i, x)
                                json_object_set_new(obj_get_or_new(config, "Volumes"),
                                                    json_string_value(x), json_object());
                } else
                        r = err_setx(errp, EINVAL,
                                     "unknown instruction '%s' (supported: CMD, "
                                     "ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, "
                                     "VOLUME, WORKDIR)",
                                     instr);
                if (r < 0)
                        return err_wrap_r(r, errp, "invalid --change '%s'", *c);
        }
        return 0;
}

/* ---- import ---- */

static int build_and_register(struct image_store *s, const char *layer_digest, const char *diff_id,
                              const struct import_opts *o, struct image **ret, struct err **errp) {
        _cleanup_json_ json_t *cfg = NULL, *config = json_object();
        _cleanup_free_ char *created = now_rfc3339(), *text = NULL, *cdigest = NULL;
        _cleanup_strv_ char **refs = NULL;
        const char *os, *arch, *variant;
        char *layers[] = {(char *)layer_digest, NULL};
        int r;

        r = image_apply_changes(config, o ? o->changes : NULL, errp);
        if (r < 0)
                return r;
        platform_host(&os, &arch, &variant);
        cfg = json_pack("{s:s,s:s,s:s,s:O,s:{s:s,s:[s]},s:[{s:s,s:s,s:s}]}", "created", created,
                        "architecture", arch, "os", os, "config", config, "rootfs", "type",
                        "layers", "diff_ids", diff_id, "history", "created", created, "created_by",
                        "berth import", "comment", o && o->message ? o->message : "");
        if (!cfg)
                return err_setx(errp, EINVAL, "build image config");
        if (variant)
                json_object_set_new(cfg, "variant", json_string(variant));
        text = json_dump_str(cfg, false);
        r = image_store_put_blob(s, text, strlen(text), NULL, &cdigest, errp);
        if (r < 0)
                return r;
        if (o && o->ref)
                strv_push(&refs, o->ref);
        return image_register(s, cdigest, layers, NULL, refs, ret, errp);
}

/* Validates the reference before any content is written. */
static int check_ref(const char *ref, struct err **errp) {
        _cleanup_(ref_freep) struct image_ref *r = NULL;

        return ref ? ref_parse(ref, &r, errp) : 0;
}

int image_import_fd(struct image_store *s, int fd, const struct import_opts *o, struct image **ret,
                    struct err **errp) {
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        _cleanup_(gz_blob_freep) struct gz_blob *w = NULL;
        _cleanup_close_ int hold = -EBADF;
        _cleanup_free_ char *digest = NULL, *diff_id = NULL;
        struct archive_entry *e;
        char buf[64 * 1024];
        int r;

        r = check_ref(o ? o->ref : NULL, errp);
        if (r < 0)
                return r;
        hold = image_store_hold(s, errp);
        if (hold < 0)
                return hold;
        r = gz_blob_open(s, &w, errp);
        if (r < 0)
                return r;
        a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, sizeof(buf)) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK)
                return err_setx(errp, EINVAL, "import: cannot read input: %s",
                                archive_error_string(a));
        for (;;) {
                la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
                if (n < 0)
                        return err_setx(errp, EIO, "import: read input: %s",
                                        archive_error_string(a));
                if (n == 0)
                        break;
                r = gz_blob_write(w, buf, (size_t)n, errp);
                if (r < 0)
                        return r;
        }
        r = gz_blob_commit(w, &digest, &diff_id, NULL, errp);
        if (r < 0)
                return r;
        r = build_and_register(s, digest, diff_id, o, ret, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "import");
        return 0;
}

static la_ssize_t blob_write_cb(struct archive *a, void *ud, const void *buf, size_t n) {
        struct err *e = NULL;

        if (gz_blob_write(ud, buf, n, &e) < 0) {
                archive_set_error(a, e->code, "%s", e->msg);
                err_free(e);
                return -1;
        }
        return (la_ssize_t)n;
}

/* Writes the tree under dir as a pax tar into w (which compresses it). */
static int tar_dir(const char *dir, struct gz_blob *w, struct err **errp) {
        _cleanup_(archive_read_freep) struct archive *disk = NULL;
        _cleanup_(archive_write_freep) struct archive *out = NULL;
        size_t dlen = strlen(dir);
        struct archive_entry *e;
        char buf[64 * 1024];

        disk = archive_read_disk_new();
        out = archive_write_new();
        archive_read_disk_set_standard_lookup(disk);
        archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
        archive_write_set_format_pax_restricted(out);
        archive_write_set_bytes_in_last_block(out, 1);
        if (archive_write_open2(out, w, NULL, blob_write_cb, NULL, NULL) != ARCHIVE_OK)
                return err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(out));
        if (archive_read_disk_open(disk, dir) != ARCHIVE_OK)
                return err_setx(errp, ENOENT, "open '%s': %s", dir, archive_error_string(disk));
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                const char *path;
                int k;

                e = archive_entry_new();
                k = archive_read_next_header2(disk, e);
                if (k == ARCHIVE_EOF) {
                        archive_entry_free(e);
                        break;
                }
                if (k < ARCHIVE_WARN) {
                        archive_entry_free(e);
                        return err_setx(errp, EIO, "read '%s': %s", dir,
                                        archive_error_string(disk));
                }
                archive_read_disk_descend(disk);
                path = archive_entry_pathname(e);
                if (strlen(path) <= dlen) {
                        archive_entry_free(e);
                        continue; /* the root itself */
                }
                {
                        _cleanup_free_ char *rel = xstrdup(path + dlen + (path[dlen] == '/'));
                        archive_entry_set_pathname(e, rel);
                }
                if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
                        fd = open(archive_entry_sourcepath(e), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (fd < 0) {
                                k = errno;
                                archive_entry_free(e);
                                return err_set(errp, k, "open '%s'", path);
                        }
                }
                if (archive_write_header(out, e) < ARCHIVE_WARN) {
                        archive_entry_free(e);
                        return err_setx(errp, EIO, "tar '%s': %s", path, archive_error_string(out));
                }
                archive_entry_free(e);
                while (fd >= 0) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n < 0)
                                return err_set(errp, errno, "read '%s'", path);
                        if (n == 0)
                                break;
                        if (archive_write_data(out, buf, (size_t)n) != n)
                                return err_setx(errp, EIO, "tar '%s': %s", path,
                                                archive_error_string(out));
                }
        }
        if (archive_write_close(out) != ARCHIVE_OK)
                return err_setx(errp, EIO, "tar '%s': %s", dir, archive_error_string(out));
        return 0;
}

int image_import_dir(struct image_store *s, const char *dir, const struct import_opts *o,
                     struct image **ret, struct err **errp) {
        _cleanup_(gz_blob_freep) struct gz_blob *w = NULL;
        _cleanup_close_ int hold = -EBADF;
        _cleanup_free_ char *digest = NULL, *diff_id = NULL;
        struct stat st;
        int r;

        r = check_ref(o ? o->ref : NULL, errp);
        if (r < 0)
                return r;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return err_setx(errp, ENOTDIR, "import: '%s' is not a directory", dir);
        hold = image_store_hold(s, errp);
        if (hold < 0)
                return hold;
        r = gz_blob_open(s, &w, errp);
        if (r < 0)
                return r;
        r = tar_dir(dir, w, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "import");
        r = gz_blob_commit(w, &digest, &diff_id, NULL, errp);
        if (r < 0)
                return r;
        r = build_and_register(s, digest, diff_id, o, ret, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "import '%s'", dir);
        return 0;
}
