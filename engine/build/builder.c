/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build/builder.h"
#include "build/builder_int.h"
#include "build/dockerfile.h"
#include "image/layer_write.h"
#include "cleanup.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"
#include "json.h"
#include "runtime/container.h"
#include "runtime/spec.h"
#include "storage/overlay.h"
#include "strv.h"
#include "xalloc.h"

#define DOCKERFILE_MAX (4u << 20)

static void bstate_done(struct bstate *b) {
        json_decref(b->cfg);
        json_decref(b->steps);
        strv_free(b->layers);
        free(b->key);
        *b = (struct bstate){};
}

static void bstate_copy(struct bstate *dst, const struct bstate *src) {
        dst->cfg = json_deep_copy(src->cfg);
        dst->layers = strv_copy(src->layers);
        if (!dst->layers)
                dst->layers = xnew0(char *, 1);
        dst->key = xstrdup(src->key);
        dst->steps = src->steps ? json_deep_copy(src->steps) : json_array();
        dst->cmd_set = false;
}

void bld_say(struct builder *b, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        if (!b->o->progress)
                return;
        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        b->o->progress(b->o->progress_ud, s);
}

static char *now_rfc3339(void) {
        char buf[64];
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

json_t *bld_cfg_config(struct bstate *st) {
        json_t *c = json_object_get(st->cfg, "config");
        if (!json_is_object(c)) {
                c = json_object();
                json_object_set_new(st->cfg, "config", c);
        }
        return c;
}

static json_t *obj_child(json_t *o, const char *key) {
        json_t *c = json_object_get(o, key);
        if (!json_is_object(c)) {
                c = json_object();
                json_object_set_new(o, key, c);
        }
        return c;
}

char **bld_json_strv(const json_t *a) {
        char **l = xnew0(char *, 1);
        size_t i;
        json_t *v;

        json_array_foreach (a, i, v)
                if (json_is_string(v))
                        strv_push(&l, json_string_value(v));
        return l;
}

json_t *bld_strv_to_json(char *const *l) {
        json_t *a = json_array();
        STRV_FOREACH (s, l)
                json_array_append_new(a, json_string(*s));
        return a;
}

static void history_add(struct bstate *st, const char *created_by, bool empty) {
        json_t *h = json_object_get(st->cfg, "history");
        _cleanup_free_ char *now = now_rfc3339();
        json_t *e;

        if (!json_is_array(h)) {
                h = json_array();
                json_object_set_new(st->cfg, "history", h);
        }
        e = json_pack("{s:s,s:s,s:s}", "created", now, "created_by", created_by, "comment",
                      "buildkit.dockerfile.v0");
        if (empty)
                json_object_set_new(e, "empty_layer", json_true());
        json_array_append_new(h, e);
        json_object_set_new(st->cfg, "created", json_string(now));
}

static char **diff_ids_of(struct bstate *st) {
        return bld_json_strv(json_object_get(json_object_get(st->cfg, "rootfs"), "diff_ids"));
}

/* Unpacked layer dirs, top first. */
char **bld_lower_dirs(struct builder *b, struct bstate *st) {
        _cleanup_strv_ char **diffs = diff_ids_of(st);
        _cleanup_strv_ char **chains = chain_ids_compute(diffs);
        size_t n = strv_length(chains);
        char **l = xnew0(char *, n + 1);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = image_store_layer_dir(b->o->store, chains[n - 1 - i]);
                l[i] = xasprintf("%s/diff", d);
        }
        return l;
}

/* Adds a layer blob (digest: the blob, diff_id: the sha256 of its uncompressed tar, made from
 * dir) to st and puts it into the store unpacked: dir itself is moved there when it can be. */
static int layer_add(struct builder *b, struct bstate *st, const char *digest, const char *diff_id,
                     const char *dir, bool upper, uint64_t size, struct err **errp) {
        json_t *rootfs = obj_child(st->cfg, "rootfs");
        json_t *diffs = json_object_get(rootfs, "diff_ids");
        _cleanup_strv_ char **d = NULL, **chains = NULL;
        const char *chain;
        int r;

        json_object_set_new(rootfs, "type", json_string("layers"));
        if (!json_is_array(diffs)) {
                diffs = json_array();
                json_object_set_new(rootfs, "diff_ids", diffs);
        }
        json_array_append_new(diffs, json_string(diff_id));
        strv_push(&st->layers, digest);
        d = diff_ids_of(st);
        chains = chain_ids_compute(d);
        chain = chains[strv_length(chains) - 1];
        r = bld_layer_adopt(b, dir, upper, diff_id, chain, size, errp);
        if (r != 0)
                return r < 0 ? r : 0;
        return layer_unpack_blob(b->o->store, digest, diff_id, chain, NULL, errp);
}

/* The tree under dir (an overlay upper dir or copied files) as a new gzip-compressed layer of
 * st: a push sends it as it is stored; the config records the uncompressed diff id. dir is
 * consumed (moved into the store, or left for the caller to remove). */
int bld_layer_from_dir(struct builder *b, struct bstate *st, const char *dir, bool upper,
                       struct err **errp) {
        _cleanup_free_ char *digest = NULL, *diff_id = NULL;
        uint64_t size = 0;
        int r;

        r = layer_from_dir_gz(b->o->store, dir, &digest, &diff_id, &size, errp);
        if (r < 0)
                return r;
        return layer_add(b, st, digest, diff_id, dir, upper, size, errp);
}

/* ---- the cache ---- */

char *bld_sha256_hex(const char *s) {
        _cleanup_free_ char *d = digest_of(s, strlen(s));
        return xstrdup(d + strlen("sha256:"));
}

static char *cache_path(struct builder *b, const char *key) {
        return xasprintf("%s/steps/%s.json", b->cache_dir, key);
}

/* Makes cfg and layers (blob digests) st's state at key, when every layer blob is in the store
 * (unpacking layer directories that were collected). Takes a reference to cfg. */
bool bld_state_adopt(struct builder *b, const char *key, json_t *cfg, char *const *layers,
                     struct bstate *st) {
        size_t n = strv_length((char **)layers);

        if (!json_is_object(cfg))
                return false;
        STRV_FOREACH (l, (char **)layers)
                if (!image_store_has_blob(b->o->store, *l))
                        return false;
        _cleanup_strv_ char **diffs =
                bld_json_strv(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"));
        _cleanup_strv_ char **chains = chain_ids_compute(diffs);
        if (strv_length(chains) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!image_store_has_layer(b->o->store, chains[i]) &&
                    layer_unpack_blob(b->o->store, layers[i], diffs[i], chains[i], NULL, NULL) < 0)
                        return false;
        json_decref(st->cfg);
        st->cfg = json_incref(cfg);
        strv_free(st->layers);
        st->layers = strv_copy((char **)layers);
        if (!st->layers)
                st->layers = xnew0(char *, 1);
        free(st->key);
        st->key = xstrdup(key);
        return true;
}

/* Loads a cached step result into st when every layer it names is still in the store. */
static bool cache_load(struct builder *b, const char *key, struct bstate *st) {
        _cleanup_free_ char *p = cache_path(b, key);
        _cleanup_json_ json_t *j = NULL;
        _cleanup_strv_ char **layers = NULL;

        if (b->o->no_cache || json_load_path(p, BLOB_CONFIG_MAX, &j, NULL) < 0)
                return false;
        layers = bld_json_strv(json_object_get(j, "layers"));
        return bld_state_adopt(b, key, json_object_get(j, "config"), layers, st);
}

static void cache_save(struct builder *b, const char *key, struct bstate *st) {
        _cleanup_free_ char *p = cache_path(b, key), *dir = xasprintf("%s/steps", b->cache_dir);
        _cleanup_json_ json_t *j = json_pack("{s:i,s:O,s:o}", "version", 1, "config", st->cfg,
                                             "layers", bld_strv_to_json(st->layers));
        if (mkdir_p(dir, 0700, NULL) >= 0)
                (void)json_save_path(p, j, NULL); /* a cache write failure only costs speed */
}

/* ---- variables ---- */

struct stage_vars {
        struct df_vars args; /* ARGs declared in this stage, with values */
        char **declared;     /* names declared (with or without a value) */
};

static void stage_vars_done(struct stage_vars *v) {
        df_vars_done(&v->args);
        strv_free(v->declared);
}

/* Variables for expansion: stage ARGs, then the image Env (ENV wins over ARG, as in docker). */
static void expansion_vars(struct bstate *st, const struct stage_vars *sv, struct df_vars *ret) {
        _cleanup_strv_ char **env = bld_json_strv(json_object_get(bld_cfg_config(st), "Env"));

        *ret = (struct df_vars){.kv = strv_copy(sv->args.kv)};
        STRV_FOREACH (e, env) {
                char *eq = strchr(*e, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *k = xstrndup(*e, (size_t)(eq - *e));
                df_vars_set(ret, k, eq + 1);
        }
}

/* The name an ARG instruction declares (its first word, up to '='). */
static char *arg_name(const struct df_instr *in) {
        const char *w = in->args && in->args[0] ? in->args[0] : in->rest;
        if (!w)
                return NULL;
        return xstrndup(w, strcspn(w, "= \t"));
}

/* A variable used in instruction i of stage si before the ARG that declares it later in the
 * stage: docker would silently substitute nothing; berth refuses it with both lines. Only
 * instructions where the builder substitutes variables are checked (RUN's shell expands its
 * own), and only plain $X and ${X}: ${X:-default} and the other modifiers deal with an unset X
 * on purpose (a global ARG not redeclared yet, as docker's documentation shows). */
static int check_arg_order(struct builder *b, size_t si, size_t i, struct bstate *st,
                           const struct stage_vars *sv, struct err **errp) {
        const struct df_stage *s = &b->stages.stages[si];
        const struct df_instr *in = &b->df->instrs[i];
        struct df_vars vars = {};
        int r = 0;

        if (!df_cmd_expands(in->cmd))
                return 0;
        expansion_vars(st, sv, &vars);
        for (const char *p = in->original; r == 0 && (p = strchr(p, '$'));) {
                bool escaped = p > in->original && p[-1] == b->df->escape, brace;
                p++;
                brace = *p == '{';
                if (brace)
                        p++;
                size_t n = 0;
                while (isalnum((unsigned char)p[n]) || p[n] == '_')
                        n++;
                /* ${X:-default} and the other modifiers handle an unset X on purpose */
                if (escaped || n == 0 || (brace && p[n] != '}'))
                        continue;
                _cleanup_free_ char *name = xstrndup(p, n);
                p += n;
                if (df_vars_has(&vars, name) || strv_contains(sv->declared, name) ||
                    df_is_predefined_arg(name))
                        continue;
                for (size_t j = i + 1; j < s->end_idx; j++) {
                        const struct df_instr *later = &b->df->instrs[j];
                        if (later->cmd != DF_ARG)
                                continue;
                        _cleanup_free_ char *decl = arg_name(later);
                        if (streq_ptr(decl, name)) {
                                r = err_setx(errp, EINVAL,
                                             "%s:%u: %s: variable '%s' is used before its ARG "
                                             "(%s:%u)",
                                             b->name, in->line, df_cmd_name(in->cmd), name, b->name,
                                             later->line);
                                break;
                        }
                }
        }
        df_vars_done(&vars);
        return r;
}

static const char *build_arg(struct builder *b, const char *key) {
        size_t kl = strlen(key);
        const char *v = NULL;
        STRV_FOREACH (a, b->o->build_args)
                if (strncmp(*a, key, kl) == 0 && (*a)[kl] == '=')
                        v = *a + kl + 1;
        return v;
}

static void env_set(struct bstate *st, const char *k, const char *v) {
        json_t *c = bld_cfg_config(st);
        json_t *env = json_object_get(c, "Env");
        size_t kl = strlen(k), i;
        json_t *e;

        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(c, "Env", env);
        }
        _cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
        json_array_foreach (env, i, e) {
                const char *s = json_string_value(e);
                if (s && strncmp(s, k, kl) == 0 && s[kl] == '=') {
                        json_array_set_new(env, i, json_string(kv));
                        return;
                }
        }
        json_array_append_new(env, json_string(kv));
}

/* ---- RUN ---- */

static char **stage_shell(struct bstate *st) {
        json_t *sh = json_object_get(bld_cfg_config(st), "Shell");
        if (json_is_array(sh) && json_array_size(sh) > 0)
                return bld_json_strv(sh);
        char **l = NULL;
        strv_push(&l, "/bin/sh");
        strv_push(&l, "-c");
        return l;
}

/* ---- COPY / ADD ---- */

static bool is_url(const char *s) {
        return str_startswith(s, "http://") || str_startswith(s, "https://");
}

static int do_copy(struct builder *b, struct bstate *st, const struct df_instr *in, char **args,
                   char *const *flags, const struct df_vars *vars, char **ret_sum, bool execute,
                   struct err **errp) {
        _cleanup_(build_context_freep) struct build_context *from_ctx = NULL;
        _cleanup_free_ char *hex = random_hex(8), *dir = NULL, *fromdir = NULL, *dest = NULL;
        _cleanup_strv_ char **lowers = bld_lower_dirs(b, st), **all = NULL, **sums = NULL;
        struct build_context *ctx = b->o->ctx;
        struct copy_attrs attrs = {.uid = 0, .gid = 0};
        size_t n = strv_length(args);
        const char *rawdest = args[n - 1];
        const char *cwd = json_get_str(bld_cfg_config(st), "WorkingDir", "");
        int r = 0;

        for (size_t f = 0; f < in->n_flags; f++) {
                const char *fn = in->flags[f].name;
                if (streq(fn, "chown"))
                        r = parse_chown(flags[f], lowers, &attrs.uid, &attrs.gid, errp);
                else if (streq(fn, "chmod")) {
                        r = parse_chmod(flags[f], &attrs.mode, errp);
                        attrs.has_mode = true;
                } else if (streq(fn, "from") && in->cmd == DF_COPY) {
                        int si = df_stage_find(&b->stages, flags[f], b->stages.n);
                        _cleanup_strv_ char **l = NULL;
                        if (si >= 0 && b->done[si].cfg)
                                l = bld_lower_dirs(b, &b->done[si]);
                        else {
                                _cleanup_(image_freep) struct image *img = NULL;
                                r = image_store_get(b->o->store, flags[f], &img, NULL);
                                if (r < 0) {
                                        r = err_setx(errp, ENOENT,
                                                     "%s:%u: COPY --from='%s': no such stage or "
                                                     "image",
                                                     b->name, in->line, flags[f]);
                                        goto out;
                                }
                                l = image_lower_dirs(b->o->store, img);
                        }
                        /* A read-only view of the stage: an overlay of its layers (nothing is
                         * copied; the mount goes away with the step). */
                        _cleanup_free_ char *view = NULL;
                        fromdir = xasprintf("%s/from-%s", b->tmp, hex);
                        r = mkdir_p(fromdir, 0755, errp);
                        if (r >= 0 && l && l[0])
                                r = ovl_prepare(fromdir, l, OVL_MODE_AUTO, &view, errp);
                        else if (r >= 0)
                                view = xstrdup(fromdir);
                        if (r >= 0)
                                r = build_context_open_dir(view, &from_ctx, errp);
                        if (r >= 0) {
                                ignore_rules_done(&from_ctx->ignore);
                                ctx = from_ctx;
                        }
                } else if (streq(fn, "link") || streq(fn, "checksum") || streq(fn, "parents") ||
                           streq(fn, "exclude")) {
                        if (!streq(fn, "link")) {
                                r = err_setx(errp, EINVAL, "%s:%u: %s --%s is not supported",
                                             b->name, in->line, df_cmd_name(in->cmd), fn);
                                goto out;
                        }
                }
                if (r < 0) {
                        err_wrap(errp, "%s:%u", b->name, in->line);
                        goto out;
                }
        }

        /* Destination: relative to WORKDIR, trailing slash kept. */
        if (rawdest[0] == '/')
                dest = xstrdup(rawdest);
        else
                dest = xasprintf("%s/%s", *cwd ? cwd : "", rawdest);
        if (str_endswith(rawdest, "/") && !str_endswith(dest, "/")) {
                char *t = xasprintf("%s/", dest);
                free(dest);
                dest = t;
        }

        /* Sources and their checksum (for the cache key). */
        for (size_t i = 0; i + 1 < n; i++) {
                const char *src = args[i];
                if (str_startswith(src, "<<")) {
                        for (size_t h = 0; h < in->n_heredocs; h++)
                                if (str_endswith(src, in->heredocs[h].name)) {
                                        _cleanup_free_ char *c = NULL;
                                        if (in->heredocs[h].expand)
                                                r = df_expand_dollars(in->heredocs[h].content, vars,
                                                                      &c, errp);
                                        else
                                                c = xstrdup(in->heredocs[h].content);
                                        if (r < 0)
                                                goto out;
                                        strv_push_take(&sums, digest_of(c, strlen(c)));
                                }
                        continue;
                }
                if (is_url(src)) {
                        if (in->cmd != DF_ADD) {
                                r = err_setx(errp, EINVAL,
                                             "%s:%u: COPY does not accept URLs ('%s'); use ADD",
                                             b->name, in->line, src);
                                goto out;
                        }
                        strv_push(&sums, src); /* URLs are keyed by name: docker re-downloads */
                        continue;
                }
                _cleanup_strv_ char **m = NULL;
                _cleanup_free_ char *sum = NULL;
                r = build_context_resolve(ctx, src, &m, errp);
                if (r < 0) {
                        err_wrap(errp, "%s:%u: %s", b->name, in->line, df_cmd_name(in->cmd));
                        goto out;
                }
                r = build_context_checksum(ctx->dfd, m, &ctx->ignore, &sum, errp);
                if (r < 0)
                        goto out;
                strv_push(&sums, sum);
                STRV_FOREACH (x, m)
                        strv_push(&all, *x);
        }
        {
                _cleanup_free_ char *j = strv_join(sums, ",");
                *ret_sum = xstrdup(j);
        }
        if (!execute)
                goto out;

        dir = xasprintf("%s/copy-%s", b->tmp, hex);
        r = mkdir_p(dir, 0755, errp);
        if (r < 0)
                goto out;
        if (n > 2 && !str_endswith(dest, "/")) {
                r = err_setx(errp, EINVAL,
                             "%s:%u: when using %s with more than one source file, the "
                             "destination must be a directory and end with a /",
                             b->name, in->line, df_cmd_name(in->cmd));
                goto out;
        }
        for (size_t i = 0; i + 1 < n; i++) {
                const char *src = args[i];
                if (str_startswith(src, "<<")) {
                        for (size_t h = 0; h < in->n_heredocs; h++)
                                if (str_endswith(src, in->heredocs[h].name)) {
                                        _cleanup_free_ char *c = NULL, *d2 = NULL;
                                        if (in->heredocs[h].expand)
                                                r = df_expand_dollars(in->heredocs[h].content, vars,
                                                                      &c, errp);
                                        else
                                                c = xstrdup(in->heredocs[h].content);
                                        if (r < 0)
                                                goto out;
                                        d2 = str_endswith(dest, "/")
                                                     ? xasprintf("%s%s", dest, in->heredocs[h].name)
                                                     : xstrdup(dest);
                                        r = build_copy_content(c, dir, d2, &attrs, errp);
                                        if (r < 0)
                                                goto out;
                                }
                        continue;
                }
                if (is_url(src)) {
                        r = build_add_url(src, dir, dest, &attrs, errp);
                        if (r < 0) {
                                err_wrap(errp, "%s:%u", b->name, in->line);
                                goto out;
                        }
                        continue;
                }
                _cleanup_strv_ char **m = NULL;
                r = build_context_resolve(ctx, src, &m, errp);
                if (r < 0)
                        goto out;
                if (in->cmd == DF_ADD && strv_length(m) == 1) {
                        r = build_add_archive(ctx->dfd, m[0], dir, dest, errp);
                        if (r < 0)
                                goto out;
                        if (r > 0)
                                continue;
                }
                r = build_copy(ctx->dfd, m, &ctx->ignore, dir,
                               strv_length(all) > 1 && !str_endswith(dest, "/") ? dest : dest,
                               &attrs, errp);
                if (r < 0) {
                        err_wrap(errp, "%s:%u: %s", b->name, in->line, df_cmd_name(in->cmd));
                        goto out;
                }
        }
        r = bld_layer_from_dir(b, st, dir, false, errp);
out:
        if (dir)
                (void)rm_rf(dir, NULL);
        from_ctx = build_context_free(from_ctx);
        if (fromdir) {
                (void)ovl_remove(fromdir, NULL);
                (void)rm_rf(fromdir, NULL);
        }
        return r;
}

/* ---- metadata instructions ---- */

static int64_t parse_duration_ns(const char *s, bool *ok) {
        char *end;
        double v = strtod(s, &end);
        double mul = 1e9;
        *ok = end != s;
        if (streq(end, "ns"))
                mul = 1;
        else if (streq(end, "us"))
                mul = 1e3;
        else if (streq(end, "ms"))
                mul = 1e6;
        else if (streq(end, "s") || !*end)
                mul = 1e9;
        else if (streq(end, "m"))
                mul = 60e9;
        else if (streq(end, "h"))
                mul = 3600e9;
        else
                *ok = false;
        if (v < 0)
                *ok = false;
        return (int64_t)(v * mul);
}

static json_t *cmd_json(struct bstate *st, const struct df_instr *in, char *const *args) {
        if (in->json)
                return bld_strv_to_json(args);
        _cleanup_strv_ char **sh = stage_shell(st);
        STRV_FOREACH (a, args)
                strv_push(&sh, *a);
        return bld_strv_to_json(sh);
}

static int apply_meta(struct builder *b, struct bstate *st, const struct df_instr *in, char **args,
                      char *const *flags, struct stage_vars *sv, struct err **errp) {
        json_t *c = bld_cfg_config(st);

        switch (in->cmd) {
        case DF_ENV:
                STRV_FOREACH (a, args) {
                        char *eq = strchr(*a, '=');
                        _cleanup_free_ char *k = xstrndup(*a, (size_t)(eq - *a));
                        if (!*k)
                                return err_setx(errp, EINVAL, "%s:%u: ENV names can not be blank",
                                                b->name, in->line);
                        env_set(st, k, eq + 1);
                }
                return 0;
        case DF_LABEL:
                STRV_FOREACH (a, args) {
                        char *eq = strchr(*a, '=');
                        _cleanup_free_ char *k = xstrndup(*a, (size_t)(eq - *a));
                        json_object_set_new(obj_child(c, "Labels"), k, json_string(eq + 1));
                }
                return 0;
        case DF_MAINTAINER:
                json_object_set_new(st->cfg, "author", json_string(args[0]));
                return 0;
        case DF_EXPOSE:
                STRV_FOREACH (a, args) {
                        _cleanup_free_ char *p =
                                strchr(*a, '/') ? xstrdup(*a) : xasprintf("%s/tcp", *a);
                        char *sl = strchr(p, '/');
                        *sl = 0;
                        char *end;
                        long lo = strtol(p, &end, 10), hi = lo;
                        if (*end == '-')
                                hi = strtol(end + 1, &end, 10);
                        if (*end || lo < 1 || hi > 65535 || hi < lo ||
                            (!streq(sl + 1, "tcp") && !streq(sl + 1, "udp") &&
                             !streq(sl + 1, "sctp")))
                                return err_setx(errp, EINVAL, "%s:%u: EXPOSE: invalid port '%s'",
                                                b->name, in->line, *a);
                        for (long port = lo; port <= hi; port++) {
                                _cleanup_free_ char *k = xasprintf("%ld/%s", port, sl + 1);
                                json_object_set_new(obj_child(c, "ExposedPorts"), k, json_object());
                        }
                }
                return 0;
        case DF_VOLUME:
                STRV_FOREACH (a, args) {
                        if (!**a)
                                return err_setx(errp, EINVAL, "%s:%u: VOLUME: empty path", b->name,
                                                in->line);
                        json_object_set_new(obj_child(c, "Volumes"), *a, json_object());
                }
                return 0;
        case DF_USER:
                json_object_set_new(c, "User", json_string(args[0]));
                return 0;
        case DF_STOPSIGNAL: {
                const char *s = args[0];
                bool ok = isdigit((unsigned char)*s)
                                  ? atoi(s) > 0 && atoi(s) < 65
                                  : str_startswith(s, "SIG") || isupper((unsigned char)*s);
                if (!ok)
                        return err_setx(errp, EINVAL, "%s:%u: STOPSIGNAL: invalid signal '%s'",
                                        b->name, in->line, s);
                json_object_set_new(c, "StopSignal", json_string(s));
                return 0;
        }
        case DF_CMD:
                json_object_set_new(c, "Cmd", cmd_json(st, in, args));
                st->cmd_set = true;
                return 0;
        case DF_ENTRYPOINT:
                json_object_set_new(c, "Entrypoint", cmd_json(st, in, args));
                if (!st->cmd_set)
                        json_object_set_new(c, "Cmd", json_null());
                return 0;
        case DF_SHELL:
                json_object_set_new(c, "Shell", bld_strv_to_json(args));
                return 0;
        case DF_ONBUILD: {
                json_t *ob = json_object_get(c, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(c, "OnBuild", ob);
                }
                json_array_append_new(ob, json_string(args[0]));
                return 0;
        }
        case DF_HEALTHCHECK: {
                _cleanup_free_ char *t0 = NULL;
                json_t *hc;
                if (strcasecmp(in->args[0], "NONE") == 0) {
                        json_object_set_new(c, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
                        return 0;
                }
                /* args[0] is "CMD ..." (raw); re-parse the part after CMD. */
                const char *rest = in->rest + 3;
                while (isspace((unsigned char)*rest))
                        rest++;
                json_t *test = json_array();
                _cleanup_json_ json_t *parsed = json_loads(rest, 0, NULL);
                if (rest[0] == '[' && json_is_array(parsed)) {
                        json_array_append_new(test, json_string("CMD"));
                        size_t i;
                        json_t *v;
                        json_array_foreach (parsed, i, v)
                                json_array_append(test, v);
                } else {
                        json_array_append_new(test, json_string("CMD-SHELL"));
                        json_array_append_new(test, json_string(rest));
                }
                hc = json_pack("{s:o}", "Test", test);
                for (size_t f = 0; f < in->n_flags; f++) {
                        static const char *const keys[][2] = {
                                {"interval", "Interval"},
                                {"timeout", "Timeout"},
                                {"start-period", "StartPeriod"},
                                {"start-interval", "StartInterval"},
                        };
                        bool ok = true;
                        if (streq(in->flags[f].name, "retries")) {
                                char *end;
                                long v = strtol(flags[f], &end, 10);
                                if (*end || v < 0) {
                                        json_decref(hc);
                                        return err_setx(errp, EINVAL,
                                                        "%s:%u: HEALTHCHECK --retries: invalid "
                                                        "'%s'",
                                                        b->name, in->line, flags[f]);
                                }
                                json_object_set_new(hc, "Retries", json_integer(v));
                                continue;
                        }
                        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                                if (streq(in->flags[f].name, keys[k][0])) {
                                        int64_t ns = parse_duration_ns(flags[f], &ok);
                                        if (ok)
                                                json_object_set_new(hc, keys[k][1],
                                                                    json_integer(ns));
                                }
                        if (!ok) {
                                json_decref(hc);
                                return err_setx(errp, EINVAL,
                                                "%s:%u: HEALTHCHECK --%s: invalid duration '%s'",
                                                b->name, in->line, in->flags[f].name, flags[f]);
                        }
                }
                json_object_set_new(c, "Healthcheck", hc);
                (void)t0;
                return 0;
        }
        case DF_ARG:
                STRV_FOREACH (a, args) {
                        char *eq = strchr(*a, '=');
                        _cleanup_free_ char *k = eq ? xstrndup(*a, (size_t)(eq - *a)) : xstrdup(*a);
                        const char *v = build_arg(b, k);
                        if (!v && eq)
                                v = eq + 1;
                        if (!v)
                                v = df_vars_get(&b->stages.meta_args, k);
                        if (!strv_contains(sv->declared, k))
                                strv_push(&sv->declared, k);
                        if (v)
                                df_vars_set(&sv->args, k, v);
                }
                return 0;
        default:
                return err_setx(errp, EINVAL, "%s:%u: unexpected instruction", b->name, in->line);
        }
}

/* The history text: BuildKit's format ("RUN /bin/sh -c make # buildkit"; metadata
 * instructions as written after expansion). */
static char *created_by(struct bstate *st, const struct df_instr *in, char **args) {
        _cleanup_free_ char *j = NULL;
        if (in->cmd == DF_RUN) {
                _cleanup_json_ json_t *a = cmd_json(st, in, args);
                _cleanup_strv_ char **l = bld_json_strv(a);
                j = strv_join(l, " ");
                return xasprintf("RUN %s # buildkit", j);
        }
        if (in->cmd == DF_CMD || in->cmd == DF_ENTRYPOINT || in->cmd == DF_SHELL) {
                /* BuildKit prints the final argv with Go's %q: ["/bin/sh" "-c" "x"]. */
                _cleanup_json_ json_t *a =
                        in->cmd == DF_SHELL ? bld_strv_to_json(args) : cmd_json(st, in, args);
                size_t i;
                json_t *v;
                char **q = NULL;
                json_array_foreach (a, i, v) {
                        _cleanup_json_ json_t *one = json_string(json_string_value(v));
                        strv_push_take(&q, json_dumps(one, JSON_ENCODE_ANY));
                }
                j = strv_join(q, " ");
                strv_free(q);
                return xasprintf("%s [%s]", df_cmd_name(in->cmd), j);
        }
        j = strv_join(args, " ");
        if (in->cmd == DF_COPY || in->cmd == DF_ADD) {
                _cleanup_free_ char *fl = NULL;
                char **f = NULL;
                for (size_t i = 0; i < in->n_flags; i++)
                        strv_push_take(&f, in->flags[i].value
                                                   ? xasprintf("--%s=%s ", in->flags[i].name,
                                                               in->flags[i].value)
                                                   : xasprintf("--%s ", in->flags[i].name));
                fl = f ? strv_join(f, "") : xstrdup("");
                strv_free(f);
                return xasprintf("%s %s%s # buildkit", df_cmd_name(in->cmd), fl, j);
        }
        return xasprintf("%s %s", df_cmd_name(in->cmd), j);
}

/* RUN's command line: JSON form as is; shell form through SHELL, heredoc bodies appended so the
 * shell reads them; a RUN that is only a heredoc runs the heredoc as the script. */
static char **run_args(struct bstate *st, const struct df_instr *in) {
        if (in->json)
                return strv_copy(in->args);
        _cleanup_strv_ char **sh = stage_shell(st);
        if (in->n_heredocs > 0) {
                bool only = true;
                STRV_FOREACH (a, in->args)
                        if (!str_startswith(*a, "<<") && !str_startswith(*a, "<<-"))
                                only = false;
                if (only && in->n_heredocs == 1) {
                        strv_push(&sh, in->heredocs[0].content);
                        return TAKE_PTR(sh);
                }
                _cleanup_free_ char *s = xstrdup(in->rest);
                for (size_t h = 0; h < in->n_heredocs; h++) {
                        char *t = xasprintf("%s\n%s%s", s, in->heredocs[h].content,
                                            in->heredocs[h].name);
                        free(s);
                        s = t;
                }
                strv_push(&sh, s);
                return TAKE_PTR(sh);
        }
        strv_push(&sh, in->rest);
        return TAKE_PTR(sh);
}

/* Executes one instruction on st. */
static int exec_instr(struct builder *b, struct bstate *st, const struct df_instr *in,
                      struct stage_vars *sv, struct err **errp) {
        _cleanup_strv_ char **args = NULL, **flags = NULL, **rargs = NULL, **extra = NULL;
        _cleanup_free_ char *sum = NULL, *keysrc = NULL, *key = NULL, *cb = NULL;
        struct df_vars vars = {};
        int r;

        expansion_vars(st, sv, &vars);
        r = df_expand_instr(in, b->df->escape, &vars, &args, &flags, errp);
        if (r < 0) {
                df_vars_done(&vars);
                return err_wrap(errp, "%s:%u", b->name, in->line);
        }
        b->step++;
        bld_say(b, "Step %zu/%zu : %s", b->step, b->n_steps, in->original);

        if (in->cmd == DF_RUN) {
                rargs = run_args(st, in);
                /* Build args are in RUN's environment (and in its cache key). */
                STRV_FOREACH (d, sv->declared) {
                        const char *v = df_vars_get(&sv->args, *d);
                        if (v)
                                strv_push_take(&extra, xasprintf("%s=%s", *d, v));
                }
                STRV_FOREACH (a, b->o->build_args) {
                        char *eq = strchr(*a, '=');
                        _cleanup_free_ char *k = eq ? xstrndup(*a, (size_t)(eq - *a)) : NULL;
                        if (k && df_is_predefined_arg(k))
                                strv_push(&extra, *a);
                }
        }
        if (in->cmd == DF_COPY || in->cmd == DF_ADD) {
                r = do_copy(b, st, in, args, flags, &vars, &sum, false, errp);
                if (r < 0) {
                        df_vars_done(&vars);
                        return r;
                }
        }
        cb = in->cmd == DF_RUN ? created_by(st, in, rargs) : created_by(st, in, args);
        {
                _cleanup_free_ char *fl = flags ? strv_join(flags, " ") : xstrdup("");
                _cleanup_free_ char *ex = extra ? strv_join(extra, " ") : xstrdup("");
                keysrc = xasprintf("%s\n%s\n%s\n%s\n%s", st->key, cb, fl, sum ? sum : "", ex);
        }
        key = bld_sha256_hex(keysrc);

        /* ARG only changes the stage's variables, which a cache hit must not skip. */
        if (in->cmd == DF_ARG) {
                r = apply_meta(b, st, in, args, flags, sv, errp);
                if (r < 0) {
                        df_vars_done(&vars);
                        return r;
                }
        }
        if (cache_load(b, key, st)) {
                bld_say(b, " ---> Using cache");
                bld_steps_record(st);
                df_vars_done(&vars);
                return 0;
        }
        const char *from_img = b->o->no_cache ? NULL : bld_cache_from_load(b, key, st);
        if (from_img) {
                bld_say(b, " ---> Using cache from %s", from_img);
                bld_steps_record(st);
                cache_save(b, key, st);
                df_vars_done(&vars);
                return 0;
        }
        bld_say(b, " ---> Running in %s", in->cmd == DF_RUN ? "container" : "builder");

        bool empty = true;
        switch (in->cmd) {
        case DF_RUN: {
                struct run_mount *m = NULL;
                size_t nm = 0;
                _cleanup_strv_ char **cleanup = NULL;
                const char *net = df_instr_flag(in, "network", NULL);
                if (net && !streq(net, "host") && !streq(net, "none") && !streq(net, "default")) {
                        df_vars_done(&vars);
                        return err_setx(errp, EINVAL,
                                        "%s:%u: RUN --network=%s is not supported (default, "
                                        "host, none)",
                                        b->name, in->line, net);
                }
                r = bld_parse_run_mounts(b, in, flags, &m, &nm, &cleanup, errp);
                if (r >= 0)
                        r = bld_run_container(b, st, in, rargs, m, nm, extra,
                                              b->o->network_none || streq_ptr(net, "none")
                                                      ? BLD_NET_NONE
                                              : streq_ptr(net, "host") ? BLD_NET_HOST
                                                                       : BLD_NET_BUILD,
                                              errp);
                bld_run_mounts_free(m, nm);
                STRV_FOREACH (d, cleanup)
                        (void)rm_rf(*d, NULL);
                empty = false;
                break;
        }
        case DF_COPY:
        case DF_ADD:
                free(sum);
                sum = NULL;
                r = do_copy(b, st, in, args, flags, &vars, &sum, true, errp);
                empty = false;
                break;
        case DF_WORKDIR: {
                const char *cur = json_get_str(bld_cfg_config(st), "WorkingDir", "");
                _cleanup_free_ char *j =
                        args[0][0] == '/' ? xstrdup(args[0]) : xasprintf("%s/%s", cur, args[0]);
                _cleanup_free_ char *cl = path_clean(j[0] == '/' ? j : "/");
                if (j[0] != '/') {
                        free(cl);
                        _cleanup_free_ char *abs = xasprintf("/%s", j);
                        cl = path_clean(abs);
                }
                json_object_set_new(bld_cfg_config(st), "WorkingDir", json_string(cl));
                /* Created as its own layer, as BuildKit does. */
                _cleanup_free_ char *hex = random_hex(8), *dir = NULL;
                dir = xasprintf("%s/workdir-%s", b->tmp, hex);
                _cleanup_free_ char *full = xasprintf("%s%s", dir, cl);
                r = mkdir_p(full, 0755, errp);
                if (r >= 0)
                        r = bld_layer_from_dir(b, st, dir, false, errp);
                (void)rm_rf(dir, NULL);
                empty = false;
                free(cb);
                cb = xasprintf("WORKDIR %s", cl);
                break;
        }
        case DF_ARG:
                break;
        default:
                r = apply_meta(b, st, in, args, flags, sv, errp);
                break;
        }
        df_vars_done(&vars);
        if (r < 0)
                return r;
        history_add(st, cb, empty);
        free(st->key);
        st->key = xstrdup(key);
        cache_save(b, key, st);
        bld_steps_record(st);
        return 0;
}

/* ---- stages ---- */

static int base_state(struct builder *b, size_t si, struct bstate *st, struct err **errp) {
        const struct df_stage *s = &b->stages.stages[si];
        const struct df_instr *from = &b->df->instrs[s->from_idx];
        int r;

        if (s->platform) {
                const char *os, *arch, *variant;
                platform_host(&os, &arch, &variant);
                _cleanup_free_ char *host = xasprintf("%s/%s", os, arch);
                _cleanup_free_ char *hostv = variant ? xasprintf("%s/%s", host, variant) : NULL;
                if (!streq(s->platform, host) && !streq_ptr(s->platform, hostv))
                        return err_setx(errp, EINVAL,
                                        "%s:%u: FROM --platform=%s: only the host platform (%s) "
                                        "can be built",
                                        b->name, from->line, s->platform, host);
        }
        if (s->base_stage >= 0) {
                bstate_copy(st, &b->done[s->base_stage]);
                return 0;
        }
        if (streq(s->base, "scratch")) {
                const char *os, *arch, *variant;
                platform_host(&os, &arch, &variant);
                st->cfg =
                        json_pack("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", arch, "os",
                                  os, "config", "rootfs", "type", "layers", "diff_ids", "history");
                st->layers = xnew0(char *, 1);
                st->key = xstrdup("scratch");
                st->steps = json_array();
                return 0;
        }
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        if (b->o->pull) {
                bld_say(b, " ---> Pulling %s", s->base);
                r = image_pull(b->o->store, s->base, &(struct pull_opts){}, &img, errp);
                if (r < 0)
                        return err_wrap(errp, "%s:%u: FROM: pull '%s'", b->name, from->line,
                                        s->base);
        } else
                r = image_store_get(b->o->store, s->base, &img, NULL);
        if (r == -ENOENT) {
                /* Not here: fetch it, as docker does. */
                bld_say(b, " ---> Pulling %s", s->base);
                r = image_pull(b->o->store, s->base, &(struct pull_opts){}, &img, errp);
                if (r < 0)
                        return err_wrap(errp,
                                        "%s:%u: FROM: image '%s' not found locally, and pulling "
                                        "it failed",
                                        b->name, from->line, s->base);
        }
        if (r < 0)
                return err_setx(errp, -r, "%s:%u: FROM: image '%s': %s", b->name, from->line,
                                s->base, strerror(-r));
        r = image_store_read_blob(b->o->store, img->id, BLOB_CONFIG_MAX, &buf, &len, errp);
        if (r < 0)
                return r;
        r = json_parse(buf, len, "image config", &st->cfg, errp);
        if (r < 0)
                return r;
        /* The base's own step records describe its build, not this one. */
        json_object_del(st->cfg, BLD_CACHE_FIELD);
        st->steps = json_array();
        st->layers = strv_copy(img->layers);
        if (!st->layers)
                st->layers = xnew0(char *, 1);
        st->key = xstrdup(img->id);
        return 0;
}

/* Runs the base's ONBUILD triggers (then clears them, as docker does). */
static int run_onbuild(struct builder *b, struct bstate *st, struct stage_vars *sv,
                       struct err **errp) {
        json_t *c = bld_cfg_config(st);
        _cleanup_strv_ char **triggers = bld_json_strv(json_object_get(c, "OnBuild"));
        int r;

        json_object_del(c, "OnBuild");
        STRV_FOREACH (t, triggers) {
                _cleanup_(df_instr_freep) struct df_instr *in = NULL;
                r = df_parse_instr(*t, b->df->escape, "ONBUILD", 0, &in, errp);
                if (r < 0)
                        return r;
                b->n_steps++;
                bld_say(b, "# Executing ONBUILD trigger: %s", *t);
                r = exec_instr(b, st, in, sv, errp);
                if (r < 0)
                        return err_wrap(errp, "ONBUILD trigger '%s'", *t);
        }
        return 0;
}

int bld_build_stage(struct builder *b, size_t si, struct err **errp) {
        const struct df_stage *s = &b->stages.stages[si];
        struct bstate st = {};
        struct stage_vars sv = {};
        int r;

        b->step++;
        bld_say(b, "Step %zu/%zu : %s", b->step, b->n_steps, b->df->instrs[s->from_idx].original);
        r = base_state(b, si, &st, errp);
        if (r >= 0) {
                bld_say(b, " ---> %s", st.key);
                r = run_onbuild(b, &st, &sv, errp);
        }
        for (size_t i = s->from_idx + 1; r >= 0 && i < s->end_idx; i++) {
                r = check_arg_order(b, si, i, &st, &sv, errp);
                if (r >= 0)
                        r = exec_instr(b, &st, &b->df->instrs[i], &sv, errp);
        }
        stage_vars_done(&sv);
        if (r < 0) {
                bstate_done(&st);
                return r;
        }
        b->done[si] = st;
        return 0;
}

void bld_stage_deps(struct builder *b, size_t si, bool *dep) {
        const struct df_stage *s = &b->stages.stages[si];

        if (s->base_stage >= 0)
                dep[s->base_stage] = true;
        for (size_t i = s->from_idx + 1; i < s->end_idx; i++) {
                const struct df_instr *in = &b->df->instrs[i];
                for (size_t f = 0; f < in->n_flags; f++) {
                        const char *v = in->flags[f].value;
                        _cleanup_free_ char *from = NULL;
                        if (!v)
                                continue;
                        if (in->cmd == DF_COPY && streq(in->flags[f].name, "from"))
                                from = xstrdup(v);
                        else if (in->cmd == DF_RUN && streq(in->flags[f].name, "mount")) {
                                const char *p = strstr(v, "from=");
                                if (p && (p == v || p[-1] == ','))
                                        from = xstrndup(p + 5, strcspn(p + 5, ","));
                        }
                        if (!from)
                                continue;
                        int d = df_stage_find(&b->stages, from, si);
                        if (d >= 0)
                                dep[d] = true;
                }
        }
}

/* Marks the stages the target needs: its base chain, COPY --from and RUN --mount from=. */
static void mark_needed(struct builder *b, size_t si, bool *need) {
        _cleanup_free_ bool *dep = NULL;

        if (need[si])
                return;
        need[si] = true;
        dep = xnew0(bool, b->stages.n);
        bld_stage_deps(b, si, dep);
        for (size_t i = 0; i < b->stages.n; i++)
                if (dep[i])
                        mark_needed(b, i, need);
}

int build_read_dockerfile(const struct build_context *ctx, const char *path, char **ret,
                          size_t *ret_len, struct err **errp) {
        _cleanup_free_ char *cl = path_clean(path ? path : "Dockerfile");
        const char *p = cl;
        int r;

        while (*p == '/')
                p++;
        if (str_startswith(p, ".."))
                return err_setx(errp, EPERM, "Dockerfile '%s' is outside the build context", path);
        r = read_file_at(ctx->dfd, p, DOCKERFILE_MAX, ret, ret_len, errp);
        if (r < 0)
                return err_wrap(errp, "read Dockerfile");
        return 0;
}

static int check_tags(char *const *tags, char ***ret, struct err **errp) {
        _cleanup_strv_ char **full = NULL;
        STRV_FOREACH (t, tags) {
                _cleanup_(ref_freep) struct image_ref *ref = NULL;
                int r = ref_parse(*t, &ref, errp);
                if (r < 0)
                        return err_wrap(errp, "tag '%s'", *t);
                strv_push_take(&full, ref_full(ref));
        }
        *ret = TAKE_PTR(full);
        return 0;
}

/* Whether the image with config text cfgtext and these layer blobs is in the store already and
 * every ref names it; *ret gets it then. */
static bool registered_as(struct image_store *s, const char *cfgtext, char *const *layers,
                          char *const *refs, struct image **ret) {
        _cleanup_free_ char *id = digest_of(cfgtext, strlen(cfgtext));
        _cleanup_(image_freep) struct image *img = NULL;
        size_t n = strv_length((char **)layers);

        if (image_store_get(s, id, &img, NULL) < 0 || !streq(img->id, id) ||
            strv_length(img->layers) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(img->layers[i], layers[i]))
                        return false;
        STRV_FOREACH (r, (char **)refs)
                if (!strv_contains(img->refs, *r))
                        return false;
        *ret = TAKE_PTR(img);
        return true;
}

int build_image(const struct build_opts *o, char **ret_id, struct err **errp) {
        _cleanup_free_ char *text = NULL, *cdigest = NULL, *cfgtext = NULL;
        _cleanup_strv_ char **refs = NULL;
        _cleanup_free_ bool *need = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        struct builder b = {.o = o};
        size_t len, target;
        int r;

        b.name = o->dockerfile ? o->dockerfile : "Dockerfile";
        r = check_tags(o->tags, &refs, errp);
        if (r < 0)
                return r;
        STRV_FOREACH (l, o->labels)
                if (!strchr(*l, '=') || **l == '=')
                        return err_setx(errp, EINVAL, "invalid label '%s': expected KEY=VALUE", *l);
        STRV_FOREACH (a, o->build_args)
                if (!strchr(*a, '=') || **a == '=')
                        return err_setx(errp, EINVAL,
                                        "invalid build argument '%s': expected KEY=VALUE", *a);
        if (o->dockerfile_inline) {
                len = strlen(o->dockerfile_inline);
                if (len > DOCKERFILE_MAX)
                        return err_setx(errp, EFBIG,
                                        "the inline Dockerfile is larger than %u bytes",
                                        DOCKERFILE_MAX);
                text = xstrdup(o->dockerfile_inline);
        } else {
                r = build_read_dockerfile(o->ctx, b.name, &text, &len, errp);
                if (r < 0)
                        return r;
        }
        r = df_parse(text, len, b.name, &b.df, errp);
        if (r < 0)
                return r;
        r = df_stages(b.df, b.name, o->build_args, &b.stages, errp);
        if (r < 0)
                goto out;
        target = b.stages.n - 1;
        if (o->target && *o->target) {
                int t = df_stage_find(&b.stages, o->target, b.stages.n);
                if (t < 0) {
                        r = err_setx(errp, ENOENT, "target stage '%s' could not be found",
                                     o->target);
                        goto out;
                }
                target = (size_t)t;
        }
        need = xnew0(bool, b.stages.n);
        mark_needed(&b, target, need);
        for (size_t i = 0; i < b.stages.n; i++)
                if (need[i])
                        b.n_steps += b.stages.stages[i].end_idx - b.stages.stages[i].from_idx;

        b.tmp = xasprintf("%s/build-tmp", o->root);
        b.cache_dir = xasprintf("%s/build-cache", o->root);
        r = mkdir_p(b.tmp, 0700, errp);
        if (r < 0)
                goto out;
        b.done = xnew0(struct bstate, b.stages.n);
        bld_cache_from_open(&b);
        r = bld_run_stages(&b, need, errp);
        if (r < 0)
                goto out;

        struct bstate *fin = &b.done[target];
        STRV_FOREACH (l, o->labels) {
                char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = xstrndup(*l, (size_t)(eq - *l));
                json_object_set_new(obj_child(bld_cfg_config(fin), "Labels"), k,
                                    json_string(eq + 1));
        }
        if (json_array_size(fin->steps) > 0)
                json_object_set(fin->cfg, BLD_CACHE_FIELD, fin->steps);
        if (!json_object_get(fin->cfg, "created")) {
                _cleanup_free_ char *now = now_rfc3339();
                json_object_set_new(fin->cfg, "created", json_string(now));
        }
        cfgtext = json_dump_str(fin->cfg, false);
        /* A rebuild that gives the image every tag already names (all steps cached) writes
         * nothing: each blob and index write is synced, which is most of a cached build. */
        if (!registered_as(o->store, cfgtext, fin->layers, refs, &img)) {
                r = image_store_put_blob(o->store, cfgtext, strlen(cfgtext), NULL, &cdigest, errp);
                if (r < 0)
                        goto out;
                r = image_register(o->store, cdigest, fin->layers, NULL, refs, &img, errp);
                if (r < 0)
                        goto out;
        }
        bld_say(&b, "Successfully built %s", img->id);
        STRV_FOREACH (t, o->tags)
                bld_say(&b, "Successfully tagged %s", *t);
        if (ret_id)
                *ret_id = xstrdup(img->id);
out:
        if (b.done)
                for (size_t i = 0; i < b.stages.n; i++)
                        bstate_done(&b.done[i]);
        free(b.done);
        bld_cache_from_free(&b);
        df_stages_done(&b.stages);
        df_free(b.df);
        free(b.tmp);
        free(b.cache_dir);
        return r;
}
