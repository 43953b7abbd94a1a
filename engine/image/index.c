/* SPDX-License-Identifier: Apache-2.0 */
/* The image index (images/index.json): references and image records, plus garbage collection.
 * See store.h for the format and the locking rules. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "image/errwrap.h"
#include "fileio.h"
#include "image/ref.h"
#include "image/store.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define INDEX_MAX (64u << 20)

struct image *image_free(struct image *i) {
        if (!i)
                return NULL;
        free(i->id);
        free(i->manifest_digest);
        free(i->created);
        strv_free(i->refs);
        strv_free(i->layers);
        strv_free(i->diff_ids);
        strv_free(i->chain_ids);
        free(i);
        return NULL;
}

void image_freep(struct image **i) {
        *i = image_free(*i);
}

void image_list_free(struct image **l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                image_free(l[i]);
        free(l);
}

static json_t *strv_to_json(char *const *l) {
        json_t *a = json_array();

        STRV_FOREACH (s, l)
                json_array_append_new(a, json_string(*s));
        return a;
}

static int json_to_strv(const json_t *a, const char *what, char ***ret, struct err **errp) {
        _cleanup_strv_ char **l = NULL;
        size_t i;
        json_t *v;

        if (!json_is_array(a))
                return err_setx(errp, EINVAL, "%s: not an array", what);
        json_array_foreach (a, i, v) {
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL, "%s[%zu]: not a string", what, i);
                strv_push(&l, json_string_value(v));
        }
        if (!l)
                l = xnew0(char *, 1);
        *ret = TAKE_PTR(l);
        return 0;
}

static json_t *image_to_json(const struct image *img) {
        json_t *o = json_object();

        json_set_str(o, "id", img->id);
        json_set_str(o, "manifest", img->manifest_digest);
        json_set_str(o, "created", img->created);
        json_object_set_new(o, "size", json_integer(img->size));
        json_object_set_new(o, "layers", strv_to_json(img->layers));
        json_object_set_new(o, "diff_ids", strv_to_json(img->diff_ids));
        json_object_set_new(o, "chain_ids", strv_to_json(img->chain_ids));
        return o;
}

static int image_from_json(const json_t *idx, const char *id, const json_t *o, struct image **ret,
                           struct err **errp) {
        _cleanup_(image_freep) struct image *img = xnew0(struct image, 1);
        const char *k;
        json_t *v;
        int r;

        if (!json_is_object(o) || !json_is_string(json_object_get(o, "manifest")))
                return err_setx(errp, EINVAL, "index.json: images.%s: bad record", id);
        img->id = xstrdup(id);
        img->manifest_digest = xstrdup(json_get_str(o, "manifest", ""));
        img->created = xstrdup(json_get_str(o, "created", ""));
        img->size = json_get_int(o, "size", 0);
        r = json_to_strv(json_object_get(o, "layers"), "index.json: layers", &img->layers, errp);
        if (r >= 0)
                r = json_to_strv(json_object_get(o, "diff_ids"), "index.json: diff_ids",
                                 &img->diff_ids, errp);
        if (r >= 0)
                r = json_to_strv(json_object_get(o, "chain_ids"), "index.json: chain_ids",
                                 &img->chain_ids, errp);
        if (r < 0)
                return r;
        json_object_foreach ((json_t *)json_object_get(idx, "refs"), k, v)
                if (json_is_string(v) && streq(json_string_value(v), id))
                        strv_push(&img->refs, k);
        if (!img->refs)
                img->refs = xnew0(char *, 1);
        *ret = TAKE_PTR(img);
        return 0;
}

static int index_load(struct image_store *s, json_t **ret, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/index.json", image_store_dir(s));
        _cleanup_json_ json_t *j = NULL;
        int r;

        if (access(p, F_OK) < 0) {
                if (errno != ENOENT)
                        return err_set(errp, errno, "access '%s'", p);
                j = json_pack("{s:i,s:{},s:{}}", "version", IMAGE_INDEX_VERSION, "refs", "images");
                *ret = TAKE_PTR(j);
                return 0;
        }
        r = json_load_path(p, INDEX_MAX, &j, errp);
        if (r < 0)
                return r;
        if (json_get_int(j, "version", 0) != IMAGE_INDEX_VERSION)
                return err_setx(errp, EPROTO, "'%s': unsupported version %" PRId64, p,
                                json_get_int(j, "version", 0));
        if (!json_is_object(json_object_get(j, "refs")) ||
            !json_is_object(json_object_get(j, "images")))
                return err_setx(errp, EINVAL, "'%s': missing refs or images", p);
        *ret = TAKE_PTR(j);
        return 0;
}

static int index_save(struct image_store *s, const json_t *j, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/index.json", image_store_dir(s));

        return json_save_path(p, j, errp);
}

static int index_lock(struct image_store *s, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/index.lock", image_store_dir(s));
        _cleanup_close_ int fd = -EBADF;

        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", p);
        if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0)
                return err_set(errp, errno, "lock '%s'", p);
        return TAKE_FD(fd);
}

int image_store_add(struct image_store *s, const struct image *img, char *const *refs,
                    struct err **errp) {
        _cleanup_close_ int lock = -EBADF;
        _cleanup_json_ json_t *idx = NULL;
        int r;

        if (digest_validate(img->id, NULL) < 0 || !image_store_has_blob(s, img->id))
                return err_setx(errp, ENOENT, "image %s: config blob missing", img->id);
        if (!image_store_has_blob(s, img->manifest_digest))
                return err_setx(errp, ENOENT, "image %s: manifest blob %s missing", img->id,
                                img->manifest_digest);
        if (strv_length(img->chain_ids) != strv_length(img->diff_ids))
                return err_setx(errp, EINVAL, "image %s: chain ids do not match diff ids", img->id);
        STRV_FOREACH (c, img->chain_ids)
                if (!image_store_has_layer(s, *c))
                        return err_setx(errp, ENOENT, "image %s: layer %s not unpacked", img->id,
                                        *c);
        STRV_FOREACH (ref, refs) {
                _cleanup_(ref_freep) struct image_ref *pr = NULL;
                r = ref_parse(*ref, &pr, errp);
                if (r < 0)
                        return r;
        }

        lock = index_lock(s, errp);
        if (lock < 0)
                return lock;
        r = index_load(s, &idx, errp);
        if (r < 0)
                return r;
        json_object_set_new(json_object_get(idx, "images"), img->id, image_to_json(img));
        STRV_FOREACH (ref, refs) {
                _cleanup_(ref_freep) struct image_ref *pr = NULL;
                _cleanup_free_ char *full = NULL;
                (void)ref_parse(*ref, &pr, NULL);
                full = ref_full(pr);
                json_object_set_new(json_object_get(idx, "refs"), full, json_string(img->id));
        }
        return index_save(s, idx, errp);
}

static bool all_hex(const char *s) {
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

/* Resolves name to an image id within idx. Sets *ret_ref to the full reference when name was a
 * reference. */
static int index_resolve(const json_t *idx, const char *name, char **ret_id, char **ret_ref,
                         struct err **errp) {
        json_t *images = json_object_get(idx, "images");
        _cleanup_(ref_freep) struct image_ref *pr = NULL;
        const char *found = NULL, *k;
        size_t n = strlen(name);
        json_t *v;

        if (str_startswith(name, "sha256:") && json_object_get(images, name)) {
                *ret_id = xstrdup(name);
                if (ret_ref)
                        *ret_ref = NULL;
                return 0;
        }
        if (ref_parse(name, &pr, NULL) >= 0) {
                _cleanup_free_ char *full = ref_full(pr);
                json_t *id = json_object_get(json_object_get(idx, "refs"), full);
                if (json_is_string(id)) {
                        *ret_id = xstrdup(json_string_value(id));
                        if (ret_ref)
                                *ret_ref = TAKE_PTR(full);
                        return 0;
                }
        }
        if (str_startswith(name, "sha256:")) {
                name += 7;
                n -= 7;
        }
        if (n >= 4 && n <= 64 && all_hex(name)) {
                json_object_foreach (images, k, v) {
                        if (strncmp(k + 7, name, n) != 0)
                                continue;
                        if (found)
                                return err_setx(errp, EINVAL, "image id prefix '%s' is ambiguous",
                                                name);
                        found = k;
                }
                if (found) {
                        *ret_id = xstrdup(found);
                        if (ret_ref)
                                *ret_ref = NULL;
                        return 0;
                }
        }
        return err_setx(errp, ENOENT, "no such image: '%s'", name);
}

int image_store_get(struct image_store *s, const char *name, struct image **ret,
                    struct err **errp) {
        _cleanup_json_ json_t *idx = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        r = index_load(s, &idx, errp);
        if (r < 0)
                return r;
        r = index_resolve(idx, name, &id, NULL, errp);
        if (r < 0)
                return r;
        return image_from_json(idx, id, json_object_get(json_object_get(idx, "images"), id), ret,
                               errp);
}

int image_store_list(struct image_store *s, struct image ***ret, size_t *ret_n, struct err **errp) {
        _cleanup_json_ json_t *idx = NULL;
        struct image **l = NULL;
        size_t n = 0;
        const char *k;
        json_t *v;
        int r;

        r = index_load(s, &idx, errp);
        if (r < 0)
                return r;
        l = xnew0(struct image *, json_object_size(json_object_get(idx, "images")) + 1);
        json_object_foreach (json_object_get(idx, "images"), k, v) {
                r = image_from_json(idx, k, v, &l[n], errp);
                if (r < 0) {
                        image_list_free(l, n);
                        return r;
                }
                n++;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int image_store_tag(struct image_store *s, const char *source, const char *target,
                    struct err **errp) {
        _cleanup_(ref_freep) struct image_ref *pr = NULL;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_json_ json_t *idx = NULL;
        _cleanup_free_ char *id = NULL, *full = NULL;
        int r;

        r = ref_parse(target, &pr, errp);
        if (r < 0)
                return r;
        if (pr->digest)
                return err_setx(errp, EINVAL, "tag '%s': a tag cannot contain a digest", target);
        lock = index_lock(s, errp);
        if (lock < 0)
                return lock;
        r = index_load(s, &idx, errp);
        if (r < 0)
                return r;
        r = index_resolve(idx, source, &id, NULL, errp);
        if (r < 0)
                return r;
        full = ref_full(pr);
        json_object_set_new(json_object_get(idx, "refs"), full, json_string(id));
        return index_save(s, idx, errp);
}

int image_store_remove(struct image_store *s, const char *name, bool force, struct err **errp) {
        _cleanup_close_ int lock = -EBADF;
        _cleanup_json_ json_t *idx = NULL;
        _cleanup_free_ char *id = NULL, *ref = NULL;
        json_t *refs, *v;
        size_t nrefs = 0;
        const char *k;
        void *tmp;
        int r;

        lock = index_lock(s, errp);
        if (lock < 0)
                return lock;
        r = index_load(s, &idx, errp);
        if (r < 0)
                return r;
        r = index_resolve(idx, name, &id, &ref, errp);
        if (r < 0)
                return r;
        refs = json_object_get(idx, "refs");
        json_object_foreach (refs, k, v)
                if (streq(json_string_value(v), id))
                        nrefs++;

        if (ref && nrefs > 1) {
                json_object_del(refs, ref);
                r = index_save(s, idx, errp);
                return r < 0 ? r : 0;
        }
        if (!ref && nrefs > 1 && !force)
                return err_setx(errp, EBUSY,
                                "image %.19s is referenced by %zu references: remove them by "
                                "name or force the removal",
                                id, nrefs);
        json_object_foreach_safe(refs, tmp, k, v) if (streq(json_string_value(v), id))
                json_object_del(refs, k);
        json_object_del(json_object_get(idx, "images"), id);
        r = index_save(s, idx, errp);
        if (r < 0)
                return r;
        lock = safe_close(lock);
        /* Content shared with a pull in progress is collected later; the image is gone. */
        r = image_store_gc(s, NULL, NULL);
        (void)r;
        return 1;
}

/* Removes the entries of dir (a directory of "<hex>" names) that are not in keep. */
static int sweep(const char *dir, char *const *keep, size_t *freed, struct err **errp) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return err_set(errp, errno, "open '%s'", dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *digest = NULL, *p = NULL;
                if (de->d_name[0] == '.')
                        continue;
                digest = xasprintf("sha256:%s", de->d_name);
                if (strv_contains(keep, digest))
                        continue;
                p = xasprintf("%s/%s", dir, de->d_name);
                r = rm_rf(p, errp);
                if (r < 0)
                        return r;
                (*freed)++;
        }
        return 0;
}

int image_store_gc(struct image_store *s, size_t *ret_freed, struct err **errp) {
        _cleanup_free_ char *gcp = xasprintf("%s/gc.lock", image_store_dir(s));
        _cleanup_free_ char *blobs = NULL, *layers = NULL;
        _cleanup_close_ int gc = -EBADF, lock = -EBADF;
        _cleanup_json_ json_t *idx = NULL;
        _cleanup_strv_ char **keep_blobs = NULL, **keep_layers = NULL;
        size_t freed = 0;
        const char *k;
        json_t *v;
        int r;

        gc = open(gcp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (gc < 0)
                return err_set(errp, errno, "open '%s'", gcp);
        if (flock(gc, LOCK_EX | LOCK_NB) < 0)
                return err_set(errp, errno == EWOULDBLOCK ? EBUSY : errno,
                               "garbage-collect images: content is being added");
        lock = index_lock(s, errp);
        if (lock < 0)
                return lock;
        r = index_load(s, &idx, errp);
        if (r < 0)
                return r;
        json_object_foreach (json_object_get(idx, "images"), k, v) {
                _cleanup_(image_freep) struct image *img = NULL;
                r = image_from_json(idx, k, v, &img, errp);
                if (r < 0)
                        return r;
                strv_push(&keep_blobs, img->id);
                strv_push(&keep_blobs, img->manifest_digest);
                STRV_FOREACH (l, img->layers)
                        strv_push(&keep_blobs, *l);
                STRV_FOREACH (c, img->chain_ids)
                        strv_push(&keep_layers, *c);
        }
        blobs = xasprintf("%s/blobs/sha256", image_store_dir(s));
        layers = xasprintf("%s/layers", image_store_dir(s));
        r = sweep(blobs, keep_blobs, &freed, errp);
        if (r >= 0)
                r = sweep(layers, keep_layers, &freed, errp);
        if (r < 0)
                return err_wrap_r(r, errp, "garbage-collect images");
        if (ret_freed)
                *ret_freed = freed;
        return 0;
}

char **image_lower_dirs(const struct image_store *s, const struct image *img) {
        size_t n = strv_length(img->chain_ids);
        char **l = xnew0(char *, n + 1);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = image_store_layer_dir(s, img->chain_ids[n - 1 - i]);
                l[i] = xasprintf("%s/diff", d);
        }
        return l;
}
