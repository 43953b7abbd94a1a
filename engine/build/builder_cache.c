/* SPDX-License-Identifier: Apache-2.0 */
/* `--cache-from` (docs/build.md "Cache from an image"). Every image berth builds records, under
 * the top-level config key BLD_CACHE_FIELD, one entry per step of its final stage's chain: the
 * step's cache key, how many layers and history entries the image had after it, and the
 * container config ("config") and author at that point. The rest of a step's state is a prefix
 * of the image itself (the first N layers and diff ids, the first H history entries), so an image
 * pulled on another machine carries everything a build needs to reuse its steps: a step whose
 * key matches a record takes that prefix instead of running. BuildKit's inline cache keeps its
 * records in the config the same way ("moby.buildkit.cache.v0"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/builder_int.h"
#include "cleanup.h"
#include "image/registry.h"
#include "image/store.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

struct bld_cache_from {
        char *name;
        json_t *cfg; /* the image's config, BLD_CACHE_FIELD removed */
        json_t *steps;
        char **layers; /* blob digests */
};

/* Reads one cache_from image; pulls it when it is not in the store (as docker does). */
static int cache_from_read(struct builder *b, const char *name, struct bld_cache_from *ret,
                           struct err **errp) {
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        size_t len;
        int r;

        r = image_store_get(b->o->store, name, &img, NULL);
        if (r == -ENOENT) {
                bld_say(b, "Pulling cache_from image %s", name);
                r = image_pull(b->o->store, name, &(struct pull_opts){}, &img, errp);
        } else if (r < 0)
                r = err_setx(errp, -r, "%s", strerror(-r));
        if (r < 0)
                return r;
        r = image_store_read_blob(b->o->store, img->id, BLOB_CONFIG_MAX, &buf, &len, errp);
        if (r < 0)
                return r;
        r = json_parse(buf, len, "image config", &cfg, errp);
        if (r < 0)
                return r;
        json_t *steps = json_object_get(cfg, BLD_CACHE_FIELD);
        if (!json_is_array(steps) || json_array_size(steps) == 0)
                return err_setx(errp, ENOENT, "it has no build cache records (not built by berth)");
        ret->name = xstrdup(name);
        ret->steps = json_incref(steps);
        json_object_del(cfg, BLD_CACHE_FIELD);
        ret->cfg = TAKE_PTR(cfg);
        ret->layers = strv_copy(img->layers);
        return 0;
}

void bld_cache_from_open(struct builder *b) {
        STRV_FOREACH (n, b->o->cache_from) {
                struct bld_cache_from c = {};
                _cleanup_err_ struct err *e = NULL;

                if (cache_from_read(b, *n, &c, &e) < 0) {
                        bld_say(b, "cache_from image %s is not used: %s", *n, err_msg(e));
                        continue;
                }
                b->cache_from = xrealloc(b->cache_from,
                                         (b->n_cache_from + 1) * sizeof(struct bld_cache_from));
                b->cache_from[b->n_cache_from++] = c;
        }
}

void bld_cache_from_free(struct builder *b) {
        for (size_t i = 0; i < b->n_cache_from; i++) {
                free(b->cache_from[i].name);
                json_decref(b->cache_from[i].cfg);
                json_decref(b->cache_from[i].steps);
                strv_free(b->cache_from[i].layers);
        }
        free(b->cache_from);
        b->cache_from = NULL;
        b->n_cache_from = 0;
}

/* Keeps the first n elements of the array a. */
static void array_truncate(json_t *a, size_t n) {
        while (json_array_size(a) > n)
                json_array_remove(a, json_array_size(a) - 1);
}

/* The state after a recorded step: the image's config with the prefix the record names. */
static bool cache_from_adopt(struct builder *b, const struct bld_cache_from *c, const json_t *rec,
                             const char *key, struct bstate *st) {
        json_int_t nl = json_get_int(rec, "layers", -1), nh = json_get_int(rec, "history", -1);
        json_t *rootfs, *diffs, *hist, *conf = json_object_get(rec, "config");
        size_t have = strv_length(c->layers);

        rootfs = json_object_get(c->cfg, "rootfs");
        diffs = json_object_get(rootfs, "diff_ids");
        hist = json_object_get(c->cfg, "history");
        if (nl < 0 || (size_t)nl > have || (size_t)nl > json_array_size(diffs) || nh < 0 ||
            (size_t)nh > json_array_size(hist) || !json_is_object(conf))
                return false;
        _cleanup_json_ json_t *cfg = json_deep_copy(c->cfg);
        array_truncate(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), (size_t)nl);
        array_truncate(json_object_get(cfg, "history"), (size_t)nh);
        json_object_set_new(cfg, "config", json_deep_copy(conf));
        if (json_is_string(json_object_get(rec, "author")))
                json_object_set(cfg, "author", json_object_get(rec, "author"));
        else
                json_object_del(cfg, "author");
        _cleanup_strv_ char **layers = xnew0(char *, (size_t)nl + 1);
        for (size_t i = 0; i < (size_t)nl; i++)
                layers[i] = xstrdup(c->layers[i]);
        return bld_state_adopt(b, key, cfg, layers, st);
}

const char *bld_cache_from_load(struct builder *b, const char *key, struct bstate *st) {
        for (size_t i = 0; i < b->n_cache_from; i++) {
                const struct bld_cache_from *c = &b->cache_from[i];
                size_t j;
                json_t *rec;

                json_array_foreach (c->steps, j, rec)
                        if (streq_ptr(json_get_str(rec, "key", NULL), key) &&
                            cache_from_adopt(b, c, rec, key, st))
                                return c->name;
        }
        return NULL;
}

void bld_steps_record(struct bstate *st) {
        json_t *rec = json_pack("{s:s,s:I,s:I,s:o}", "key", st->key, "layers",
                                (json_int_t)strv_length(st->layers), "history",
                                (json_int_t)json_array_size(json_object_get(st->cfg, "history")),
                                "config", json_deep_copy(bld_cfg_config(st)));
        json_t *author = json_object_get(st->cfg, "author");

        if (json_is_string(author))
                json_object_set(rec, "author", author);
        if (!st->steps)
                st->steps = json_array();
        json_array_append_new(st->steps, rec);
}
