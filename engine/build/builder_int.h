/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internals shared by builder.c (stages, instructions, cache) and builder_run.c (RUN). */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "build/builder.h"
#include "build/dockerfile.h"
#include "err.h"
#include "macro.h"

/* The image being built at one step: its config and layer blobs, and the cache key chain. */
struct bstate {
        json_t *cfg;
        char **layers;
        char *key;
        json_t *steps; /* the step records of the chain so far (BLD_CACHE_FIELD) */
        bool cmd_set;  /* CMD given in this stage (ENTRYPOINT then keeps it) */
};

struct builder {
        const struct build_opts *o;
        struct dockerfile *df;
        struct df_stages stages;
        struct bstate *done; /* final state per stage (cfg NULL when not built) */
        const char *name;    /* Dockerfile name for messages */
        size_t step, n_steps;
        char *tmp;                         /* <root>/build-tmp */
        char *cache_dir;                   /* <root>/build-cache */
        struct bld_cache_from *cache_from; /* o->cache_from images found */
        size_t n_cache_from;
};

/* The top-level key of the image config where berth records the steps that made the image
 * (builder_cache.c): [{"key", "layers", "history", "config", "author"}...], one per step of
 * the final stage's chain, in order. A build --cache-from that image reuses them. */
#define BLD_CACHE_FIELD "berth.build.cache.v1"

struct run_mount {
        char *source, *target;
        bool readonly;
};

void bld_say(struct builder *b, const char *fmt, ...) _printf_(2, 3);
/* Builds stage si into b->done[si] (the stages it needs must be done). */
int bld_build_stage(struct builder *b, size_t si, struct err **errp);
/* Sets dep[j] for every stage j that stage si needs directly (FROM, COPY --from, RUN --mount
 * from=). */
void bld_stage_deps(struct builder *b, size_t si, bool *dep);
/* Builds the stages marked in need, independent ones at the same time (builder_par.c). */
int bld_run_stages(struct builder *b, const bool *need, struct err **errp);
/* The image config's "config" object (created when missing). */
json_t *bld_cfg_config(struct bstate *st);
char **bld_json_strv(const json_t *a);
json_t *bld_strv_to_json(char *const *l);
/* Unpacked layer dirs of st, top first. */
char **bld_lower_dirs(struct builder *b, struct bstate *st);
/* Writes dir as a gzip-compressed layer and adds it to st; dir becomes the unpacked layer in
 * the store (upper: it is an overlay upper dir) or, when it cannot be moved, the tar is unpacked
 * and dir is left for the caller to remove. */
int bld_layer_from_dir(struct builder *b, struct bstate *st, const char *dir, bool upper,
                       struct err **errp);
/* builder_layer.c: moves dir into the store as the unpacked layer chain_id. 1: done (or the
 * layer was there already), 0: not possible here (another file system), <0: error. */
int bld_layer_adopt(struct builder *b, const char *dir, bool upper, const char *diff_id,
                    const char *chain_id, uint64_t size, struct err **errp);
char *bld_sha256_hex(const char *s);
/* Makes cfg (referenced) and layers st's state at key when every layer blob is in the store. */
bool bld_state_adopt(struct builder *b, const char *key, json_t *cfg, char *const *layers,
                     struct bstate *st);

/* builder_cache.c: --cache-from. Opens o->cache_from (pulled when missing; an image that cannot
 * be had is reported in the progress and skipped). */
void bld_cache_from_open(struct builder *b);
void bld_cache_from_free(struct builder *b);
/* Loads the state a cache_from image recorded for key into st; returns the image's name, or
 * NULL. */
const char *bld_cache_from_load(struct builder *b, const char *key, struct bstate *st);
/* Appends st's current state (its key, layer and history counts, "config") to st->steps. */
void bld_steps_record(struct bstate *st);

void bld_run_mounts_free(struct run_mount *m, size_t n);
/* Parses the --mount flags of a RUN (cache and bind mounts). Temporary directories made for
 * from= go to *cleanup_dirs for the caller to remove. */
int bld_parse_run_mounts(struct builder *b, const struct df_instr *in, char *const *flags,
                         struct run_mount **ret, size_t *ret_n, char ***cleanup_dirs,
                         struct err **errp);
/* The network of one RUN: the build's namespace (o->netns_path, or the host's network when
 * there is none), the host's, or none. */
enum bld_net {
        BLD_NET_BUILD,
        BLD_NET_HOST,
        BLD_NET_NONE,
};

/* Runs args in a container on an overlay of st's layers and adds the upper dir as a layer. */
int bld_run_container(struct builder *b, struct bstate *st, const struct df_instr *in,
                      char *const *args, const struct run_mount *mounts, size_t n_mounts,
                      char *const *extra_env, enum bld_net net, struct err **errp);
