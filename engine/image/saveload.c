/* SPDX-License-Identifier: Apache-2.0 */
/* image_save / image_load (declared in archive.h): docker-archive and OCI image layouts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/errwrap.h"
#include "image/gzblob.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define LAYOUT_JSON_MAX (8u << 20)
#define ANN_CONTAINERD_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"

static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

static const char *hex_of(const char *digest) {
        return digest + 7; /* digests are validated "sha256:<hex>" */
}

static int tar_add_buf(struct archive *a, const char *name, const void *buf, size_t len,
                       struct err **errp) {
        struct archive_entry *e = archive_entry_new();
        int k;

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        k = archive_write_header(a, e);
        archive_entry_free(e);
        if (k != ARCHIVE_OK || (len && archive_write_data(a, buf, len) != (la_ssize_t)len))
                return err_setx(errp, EIO, "write '%s' to archive: %s", name,
                                archive_error_string(a));
        return 0;
}

static int tar_add_dir(struct archive *a, const char *name, struct err **errp) {
        struct archive_entry *e = archive_entry_new();
        int k;

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        k = archive_write_header(a, e);
        archive_entry_free(e);
        if (k != ARCHIVE_OK)
                return err_setx(errp, EIO, "write '%s' to archive: %s", name,
                                archive_error_string(a));
        return 0;
}

static int tar_add_blob(struct archive *a, struct image_store *s, const char *digest,
                        struct err **errp) {
        _cleanup_free_ char *path = image_store_blob_path(s, digest);
        _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", hex_of(digest));
        _cleanup_close_ int fd = -EBADF;
        struct archive_entry *e;
        char buf[64 * 1024];
        struct stat st;
        int k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0)
                return err_set(errp, errno, "open blob %s", digest);
        e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, st.st_size);
        k = archive_write_header(a, e);
        archive_entry_free(e);
        if (k != ARCHIVE_OK)
                return err_setx(errp, EIO, "write '%s' to archive: %s", name,
                                archive_error_string(a));
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0)
                        return err_set(errp, errno, "read blob %s", digest);
                if (n == 0)
                        break;
                if (archive_write_data(a, buf, (size_t)n) != n)
                        return err_setx(errp, EIO, "write '%s' to archive: %s", name,
                                        archive_error_string(a));
        }
        return 0;
}

int image_save(struct image_store *s, char *const *names, int out_fd, struct err **errp) {
        _cleanup_(archive_write_freep) struct archive *a = NULL;
        _cleanup_json_ json_t *mj = json_array(), *repos = json_object();
        _cleanup_json_ json_t *index = NULL, *entries = json_array();
        _cleanup_strv_ char **written = NULL, **ids = NULL;
        _cleanup_free_ char *text = NULL;
        int k;

        if (!names || !names[0])
                return err_setx(errp, EINVAL, "save: no images given");
        a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
                return err_setx(errp, EIO, "save: %s", archive_error_string(a));
        k = tar_add_dir(a, "blobs/", errp);
        if (k >= 0)
                k = tar_add_dir(a, "blobs/sha256/", errp);
        if (k < 0)
                return k;

        STRV_FOREACH (n, names) {
                _cleanup_(image_freep) struct image *img = NULL;
                _cleanup_(manifest_freep) struct manifest *man = NULL;
                _cleanup_(ref_freep) struct image_ref *ref = NULL;
                _cleanup_free_ char *mbuf = NULL, *full = NULL, *fam = NULL;
                json_t *layers, *tags, *entry;
                size_t mlen;

                k = image_store_get(s, *n, &img, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "save");
                k = image_store_read_blob(s, img->manifest_digest, BLOB_MANIFEST_MAX, &mbuf, &mlen,
                                          errp);
                if (k >= 0)
                        k = manifest_parse(mbuf, mlen, NULL, &man, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "save '%s'", *n);
                /* a reference names the tag to record; an id saves the image untagged */
                if (!str_startswith(*n, "sha256:") && ref_parse(*n, &ref, NULL) >= 0 &&
                    strv_contains(img->refs, (full = ref_full(ref))))
                        fam = ref_familiar(ref);

                const char *blobs[] = {img->manifest_digest, img->id};
                for (size_t i = 0; i < ELEMENTSOF(blobs); i++)
                        if (!strv_contains(written, blobs[i])) {
                                k = tar_add_blob(a, s, blobs[i], errp);
                                if (k < 0)
                                        return err_wrap_r(k, errp, "save '%s'", *n);
                                strv_push(&written, blobs[i]);
                        }
                layers = json_array();
                STRV_FOREACH (l, img->layers) {
                        if (!strv_contains(written, *l)) {
                                k = tar_add_blob(a, s, *l, errp);
                                if (k < 0) {
                                        json_decref(layers);
                                        return err_wrap_r(k, errp, "save '%s'", *n);
                                }
                                strv_push(&written, *l);
                        }
                        json_array_append_new(layers, json_sprintf("blobs/sha256/%s", hex_of(*l)));
                }
                entry = NULL;
                if (strv_contains(ids, img->id)) {
                        size_t i;
                        json_t *x;
                        json_array_foreach (mj, i, x)
                                if (str_endswith(json_get_str(x, "Config", ""), hex_of(img->id)))
                                        entry = x;
                }
                if (!entry) {
                        entry = json_object();
                        json_object_set_new(entry, "Config",
                                            json_sprintf("blobs/sha256/%s", hex_of(img->id)));
                        json_object_set_new(entry, "RepoTags", json_null());
                        json_object_set_new(entry, "Layers", layers);
                        json_array_append_new(mj, entry);
                        strv_push(&ids, img->id);
                } else
                        json_decref(layers);
                tags = json_object_get(entry, "RepoTags");
                if (fam) {
                        if (!json_is_array(tags)) {
                                tags = json_array();
                                json_object_set_new(entry, "RepoTags", tags);
                        }
                        json_array_append_new(tags, json_string(fam));
                        if (img->chain_ids[0]) {
                                _cleanup_free_ char *repo = ref_familiar_name(ref);
                                json_t *r = json_object_get(repos, repo);
                                if (!r) {
                                        r = json_object();
                                        json_object_set_new(repos, repo, r);
                                }
                                json_object_set_new(
                                        r, ref->tag,
                                        json_string(hex_of(
                                                img->chain_ids[strv_length(img->chain_ids) - 1])));
                        }
                }
                {
                        json_t *d =
                                json_pack("{s:s,s:s,s:I}", "mediaType", man->media_type, "digest",
                                          img->manifest_digest, "size", (json_int_t)mlen);
                        if (fam)
                                json_object_set_new(d, "annotations",
                                                    json_pack("{s:s,s:s}", ANN_CONTAINERD_NAME,
                                                              full, ANN_REF_NAME, ref->tag));
                        json_array_append_new(entries, d);
                }
        }
        text = json_dump_str(mj, true);
        k = tar_add_buf(a, "manifest.json", text, strlen(text), errp);
        if (k < 0)
                return k;
        free(text);
        text = json_dump_str(repos, true);
        k = tar_add_buf(a, "repositories", text, strlen(text), errp);
        if (k < 0)
                return k;
        k = tar_add_buf(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n", 31, errp);
        if (k < 0)
                return k;
        index = json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                          "manifests", entries);
        free(text);
        text = json_dump_str(index, true);
        k = tar_add_buf(a, "index.json", text, strlen(text), errp);
        if (k < 0)
                return k;
        if (archive_write_close(a) != ARCHIVE_OK)
                return err_setx(errp, EIO, "save: %s", archive_error_string(a));
        return 0;
}

/* ---- load ---- */

/* Opens path (relative, from an archive) below root without following any symlink. */
static int open_beneath(int root, const char *path, int flags, struct err **errp) {
        _cleanup_strv_ char **parts = strv_split(path, "/");
        _cleanup_close_ int cur = -EBADF;
        size_t n = strv_length(parts);

        if (n == 0)
                return err_setx(errp, EINVAL, "empty path in archive");
        cur = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return err_set(errp, errno, "open archive root");
        for (size_t i = 0; i < n; i++) {
                int next;
                if (streq(parts[i], ".."))
                        return err_setx(errp, EPERM, "path '%s' leaves the archive", path);
                if (streq(parts[i], "."))
                        continue;
                next = openat(cur, parts[i],
                              (i + 1 < n ? O_RDONLY | O_DIRECTORY : flags) | O_NOFOLLOW |
                                      O_CLOEXEC);
                if (next < 0)
                        return err_set(errp, errno, "open '%s' in archive", path);
                safe_close(cur);
                cur = next;
        }
        return TAKE_FD(cur);
}

/* Follows a symlink at path inside the archive (docker save links identical layer.tar files
 * across layer directories): the target is resolved lexically against path's directory and must
 * stay inside the archive. Returns the final relative path (allocated). */
static int resolve_links(int root, const char *path, char **ret, struct err **errp) {
        _cleanup_free_ char *cur = xstrdup(path);

        for (int depth = 0; depth < 8; depth++) {
                _cleanup_strv_ char **parts = NULL, **tparts = NULL;
                char target[PATH_MAX];
                struct stat st;
                ssize_t n;
                size_t np;

                if (fstatat(root, cur, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
                        *ret = TAKE_PTR(cur);
                        return 0;
                }
                n = readlinkat(root, cur, target, sizeof(target) - 1);
                if (n < 0)
                        return err_set(errp, errno, "readlink '%s' in archive", cur);
                target[n] = 0;
                parts = target[0] == '/' ? NULL : strv_split(cur, "/");
                np = strv_length(parts);
                if (np > 0) /* drop the link's own name */
                        free(parts[--np]), parts[np] = NULL;
                tparts = strv_split(target, "/");
                STRV_FOREACH (t, tparts) {
                        if (streq(*t, "."))
                                continue;
                        if (streq(*t, "..")) {
                                if (np == 0)
                                        return err_setx(errp, EPERM,
                                                        "link '%s' -> '%s' leaves the archive", cur,
                                                        target);
                                free(parts[--np]);
                                parts[np] = NULL;
                                continue;
                        }
                        strv_push(&parts, *t);
                        np++;
                }
                free(cur);
                cur = strv_join(parts, "/");
        }
        return err_setx(errp, ELOOP, "too many links at '%s' in archive", path);
}

/* Copies a file of the archive into the store, verifying it when expected is set. */
static int copy_in(struct image_store *s, int root, const char *path, const char *expected,
                   int64_t expected_size, char **ret_digest, struct err **errp) {
        _cleanup_(blob_writer_freep) struct blob_writer *w = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[64 * 1024];
        int k;

        if (expected && image_store_has_blob(s, expected)) {
                if (ret_digest)
                        *ret_digest = xstrdup(expected);
                return 0;
        }
        {
                _cleanup_free_ char *real = NULL;
                k = resolve_links(root, path, &real, errp);
                if (k < 0)
                        return k;
                fd = open_beneath(root, real, O_RDONLY, errp);
        }
        if (fd < 0)
                return fd;
        k = blob_writer_open(s, expected, expected_size, &w, errp);
        if (k < 0)
                return k;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0)
                        return err_set(errp, errno, "read '%s'", path);
                if (n == 0)
                        break;
                k = blob_writer_write(w, buf, (size_t)n, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "'%s'", path);
        }
        k = blob_writer_commit(w, ret_digest, errp);
        return k < 0 ? err_wrap_r(k, errp, "'%s'", path) : 0;
}

/* A layer of a docker-archive: stored as it is when compressed, else gzip-compressed (docker
 * save writes plain tars; the config's diff id is the digest of that tar and is checked when
 * the layer is unpacked at registration). */
static int copy_in_layer(struct image_store *s, int root, const char *path, char **ret_digest,
                         struct err **errp) {
        _cleanup_(gz_blob_freep) struct gz_blob *g = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *real = NULL;
        unsigned char buf[64 * 1024];
        ssize_t n;
        int k;

        k = resolve_links(root, path, &real, errp);
        if (k < 0)
                return k;
        fd = open_beneath(root, real, O_RDONLY, errp);
        if (fd < 0)
                return fd;
        n = pread(fd, buf, 6, 0);
        if (n < 0)
                return err_set(errp, errno, "read '%s'", path);
        if (layer_magic_compressed(buf, (size_t)n)) {
                fd = safe_close(fd);
                return copy_in(s, root, path, NULL, -1, ret_digest, errp);
        }
        k = gz_blob_open(s, &g, errp);
        if (k < 0)
                return k;
        for (;;) {
                n = read(fd, buf, sizeof(buf));
                if (n < 0)
                        return err_set(errp, errno, "read '%s'", path);
                if (n == 0)
                        break;
                k = gz_blob_write(g, buf, (size_t)n, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "'%s'", path);
        }
        k = gz_blob_commit(g, ret_digest, NULL, NULL, errp);
        return k < 0 ? err_wrap_r(k, errp, "'%s'", path) : 0;
}

static int read_json_beneath(int root, const char *path, json_t **ret, struct err **errp) {
        _cleanup_close_ int fd = open_beneath(root, path, O_RDONLY, errp);
        _cleanup_free_ char *buf = NULL, *p = NULL;
        size_t len;
        int k;

        if (fd < 0)
                return fd;
        /* the fd was opened without following symlinks; read it through its /proc name */
        p = xasprintf("/proc/self/fd/%d", fd);
        k = read_file(p, LAYOUT_JSON_MAX, &buf, &len, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "'%s'", path);
        return json_parse(buf, len, path, ret, errp);
}

static int load_docker_archive(struct image_store *s, int root, char ***refs_out, char ***ids_out,
                               struct err **errp) {
        _cleanup_json_ json_t *mj = NULL;
        json_t *entry;
        size_t i;
        int k;

        k = read_json_beneath(root, "manifest.json", &mj, errp);
        if (k < 0)
                return k;
        if (!json_is_array(mj))
                return err_setx(errp, EINVAL, "manifest.json: not an array");
        json_array_foreach (mj, i, entry) {
                _cleanup_free_ char *cdigest = NULL;
                _cleanup_strv_ char **layers = NULL, **refs = NULL;
                _cleanup_(image_freep) struct image *img = NULL;
                const char *cfg = json_get_str(entry, "Config", NULL);
                json_t *ls = json_object_get(entry, "Layers"), *v;
                size_t j;

                if (!cfg || !json_is_array(ls))
                        return err_setx(errp, EINVAL,
                                        "manifest.json[%zu]: Config or Layers "
                                        "missing",
                                        i);
                k = copy_in(s, root, cfg, NULL, -1, &cdigest, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "manifest.json[%zu].Config", i);
                json_array_foreach (ls, j, v) {
                        char *d = NULL;
                        if (!json_is_string(v))
                                return err_setx(errp, EINVAL,
                                                "manifest.json[%zu].Layers[%zu]: not a string", i,
                                                j);
                        k = copy_in_layer(s, root, json_string_value(v), &d, errp);
                        if (k < 0)
                                return err_wrap_r(k, errp, "manifest.json[%zu].Layers[%zu]", i, j);
                        strv_push_take(&layers, d);
                }
                json_array_foreach (json_object_get(entry, "RepoTags"), j, v) {
                        _cleanup_(ref_freep) struct image_ref *r = NULL;
                        if (!json_is_string(v))
                                continue;
                        k = ref_parse(json_string_value(v), &r, errp);
                        if (k < 0)
                                return err_wrap_r(k, errp, "manifest.json[%zu].RepoTags[%zu]", i,
                                                  j);
                        strv_push_take(&refs, ref_full(r));
                }
                if (!layers)
                        layers = xnew0(char *, 1);
                k = image_register(s, cdigest, layers, NULL, refs, &img, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "manifest.json[%zu]", i);
                STRV_FOREACH (r, refs)
                        strv_push(refs_out, *r);
                strv_push(ids_out, img->id);
        }
        return 0;
}

static char *blob_rel(const char *digest) {
        return xasprintf("blobs/sha256/%s", hex_of(digest));
}

/* One manifest (or index) descriptor of an OCI layout. */
static int load_oci_desc(struct image_store *s, int root, const char *mt, const char *digest,
                         int64_t size, const char *name, char ***refs_out, char ***ids_out,
                         int depth, struct err **errp) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *rel = NULL, *buf = NULL, *got = NULL;
        _cleanup_strv_ char **layers = NULL, **refs = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int k;

        k = digest_validate(digest, errp);
        if (k < 0)
                return k;
        if (size < 0 || size > BLOB_MANIFEST_MAX)
                return err_setx(errp, EFBIG, "manifest %s: bad size", digest);
        rel = blob_rel(digest);
        fd = open_beneath(root, rel, O_RDONLY, errp);
        if (fd < 0)
                return fd;
        buf = xmalloc((size_t)size + 1);
        if (fd_read_full(fd, buf, (size_t)size + 1) != size)
                return err_setx(errp, EBADMSG, "manifest %s: size differs from %" PRId64, digest,
                                size);
        len = (size_t)size;
        got = digest_of(buf, len);
        if (!streq(got, digest))
                return err_setx(errp, EBADMSG, "manifest digest mismatch: expected %s, got %s",
                                digest, got);
        k = manifest_parse(buf, len, mt, &m, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "manifest %s", digest);
        if (manifest_kind_is_index(m->kind)) {
                const struct descriptor *d;
                const char *os, *arch, *variant;
                if (depth > 2)
                        return err_setx(errp, ELOOP, "index %s: nested too deep", digest);
                platform_host(&os, &arch, &variant);
                k = manifest_select(m, os, arch, variant, &d, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "index %s", digest);
                return load_oci_desc(s, root, d->media_type, d->digest, d->size, name, refs_out,
                                     ids_out, depth + 1, errp);
        }
        for (size_t i = 0; i < m->n_layers; i++) {
                _cleanup_free_ char *lrel = blob_rel(m->layers[i].digest);
                k = copy_in(s, root, lrel, m->layers[i].digest, m->layers[i].size, NULL, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "layer %s", m->layers[i].digest);
                strv_push(&layers, m->layers[i].digest);
        }
        {
                _cleanup_free_ char *crel = blob_rel(m->config.digest);
                k = copy_in(s, root, crel, m->config.digest, m->config.size, NULL, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "config %s", m->config.digest);
        }
        k = image_store_put_blob(s, buf, len, digest, NULL, errp);
        if (k < 0)
                return k;
        if (name)
                strv_push(&refs, name);
        if (!layers)
                layers = xnew0(char *, 1);
        k = image_register(s, m->config.digest, layers, digest, refs, &img, errp);
        if (k < 0)
                return k;
        STRV_FOREACH (r, refs)
                strv_push(refs_out, *r);
        strv_push(ids_out, img->id);
        return 0;
}

/* Name for an index entry: the caller's ref, containerd's full name, or a full ref.name. */
static int oci_entry_name(const json_t *d, const char *ref, char **ret, struct err **errp) {
        json_t *ann = json_object_get(d, "annotations");
        const char *cn = json_get_str(ann, ANN_CONTAINERD_NAME, NULL);
        const char *rn = json_get_str(ann, ANN_REF_NAME, NULL);
        _cleanup_(ref_freep) struct image_ref *r = NULL;
        const char *pick = ref ? ref : cn ? cn : (rn && strchr(rn, '/')) ? rn : NULL;
        int k;

        *ret = NULL;
        if (!pick)
                return 0;
        k = ref_parse(pick, &r, errp);
        if (k < 0)
                return k;
        *ret = ref_full(r);
        return 0;
}

static int load_oci(struct image_store *s, int root, const char *ref, char ***refs_out,
                    char ***ids_out, struct err **errp) {
        _cleanup_json_ json_t *layout = NULL, *index = NULL;
        json_t *d;
        size_t i;
        int k;

        k = read_json_beneath(root, "oci-layout", &layout, errp);
        if (k < 0)
                return k;
        if (!streq_ptr(json_get_str(layout, "imageLayoutVersion", NULL), "1.0.0"))
                return err_setx(errp, EINVAL, "oci-layout: unsupported imageLayoutVersion");
        k = read_json_beneath(root, "index.json", &index, errp);
        if (k < 0)
                return k;
        if (!json_is_array(json_object_get(index, "manifests")))
                return err_setx(errp, EINVAL, "index.json: manifests missing");
        json_array_foreach (json_object_get(index, "manifests"), i, d) {
                _cleanup_free_ char *name = NULL;
                const char *digest = json_get_str(d, "digest", NULL);

                if (!digest)
                        return err_setx(errp, EINVAL, "index.json: manifests[%zu].digest missing",
                                        i);
                k = oci_entry_name(d, ref && i == 0 ? ref : NULL, &name, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "index.json: manifests[%zu]", i);
                k = load_oci_desc(s, root, json_get_str(d, "mediaType", NULL), digest,
                                  json_get_int(d, "size", -1), name, refs_out, ids_out, 0, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "index.json: manifests[%zu]", i);
        }
        return 0;
}

static int load_root(struct image_store *s, int root, const char *ref, char ***ret_refs,
                     char ***ret_ids, struct err **errp) {
        _cleanup_strv_ char **refs = NULL, **ids = NULL;
        struct stat st;
        int k;

        if (fstatat(root, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0 && !ref)
                k = load_docker_archive(s, root, &refs, &ids, errp);
        else if (fstatat(root, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0)
                k = load_oci(s, root, ref, &refs, &ids, errp);
        else
                return err_setx(errp, EINVAL,
                                "neither a docker archive (manifest.json) nor an OCI layout "
                                "(oci-layout)");
        if (k < 0)
                return k;
        if (ret_refs)
                *ret_refs = refs ? TAKE_PTR(refs) : xnew0(char *, 1);
        if (ret_ids)
                *ret_ids = ids ? TAKE_PTR(ids) : xnew0(char *, 1);
        return 0;
}

int image_load_oci_dir(struct image_store *s, const char *dir, const char *ref, char ***ret_refs,
                       char ***ret_ids, struct err **errp) {
        _cleanup_close_ int root = -EBADF, hold = -EBADF;
        int k;

        root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return err_set(errp, errno, "load: open '%s'", dir);
        hold = image_store_hold(s, errp);
        if (hold < 0)
                return hold;
        k = load_root(s, root, ref, ret_refs, ret_ids, errp);
        return k < 0 ? err_wrap_r(k, errp, "load '%s'", dir) : 0;
}

int image_load(struct image_store *s, int fd, char ***ret_refs, char ***ret_ids,
               struct err **errp) {
        _cleanup_close_ int root = -EBADF, hold = -EBADF;
        _cleanup_free_ char *tmp = NULL, *diff = NULL;
        uint64_t size;
        int k;

        hold = image_store_hold(s, errp);
        if (hold < 0)
                return hold;
        k = image_store_mkdtemp(s, &tmp, errp);
        if (k < 0)
                return k;
        root = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                k = err_set(errp, errno, "open '%s'", tmp);
                goto out;
        }
        /* The same confined extraction as layers: nothing can land outside tmp. */
        k = layer_unpack_fd(fd, root, &diff, &size, errp);
        if (k < 0)
                goto out;
        k = load_root(s, root, NULL, ret_refs, ret_ids, errp);
out:
        (void)rm_rf(tmp, NULL);
        return k < 0 ? err_wrap_r(k, errp, "load") : 0;
}
