/* SPDX-License-Identifier: Apache-2.0 */
/* Merging compose files (compose-spec 13-merge), `extends` and `include` (14-include). Files
 * are merged as node trees before anything is interpreted, so positions survive: an error in
 * an override file points into that file. */
#include <errno.h>
#include <libgen.h>
#include <string.h>

#include "cleanup.h"
#include "compose.h"
#include "fileio.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

/* "K=V" / "K" list items into a map; sep '=' (also ':' for extra_hosts). */
static int list_to_map(struct ynode *parent, const char *key, bool null_without_value,
                       struct err **errp) {
        struct ynode *l = ynode_map_get(parent, key), *m;

        if (!l || l->kind != YNODE_SEQ)
                return 0;
        m = ynode_new(YNODE_MAP, l->src, l->line, l->col);
        for (size_t i = 0; i < l->n_kids; i++) {
                struct ynode *it = l->kids[i], *k, *v;
                const char *s, *eq;
                int r;

                r = y_str(it, &s, errp);
                if (r < 0) {
                        ynode_free(m);
                        return r;
                }
                eq = strchr(s, '=');
                _cleanup_free_ char *name = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
                if (!*name) {
                        ynode_free(m);
                        return ynode_err(errp, it, "expected \"KEY=VALUE\", got \"%s\"", s);
                }
                k = ynode_new_scalar(name, it->src, it->line, it->col);
                k->plain = false;
                if (eq) {
                        v = ynode_new_scalar(eq + 1, it->src, it->line, it->col);
                        v->plain = false;
                } else if (null_without_value)
                        v = ynode_new_scalar(NULL, it->src, it->line, it->col);
                else {
                        v = ynode_new_scalar("", it->src, it->line, it->col);
                        v->plain = false;
                }
                if (ynode_map_get(m, name)) {
                        ynode_free(k);
                        ynode_map_set_take(m, name, v);
                        continue;
                }
                ynode_append_take(m, k);
                ynode_append_take(m, v);
        }
        ynode_map_set_take(parent, key, m);
        return 0;
}

/* A string value into a one-key map ({key: s}) or a one-item list. */
static void str_to_map(struct ynode *parent, const char *key, const char *inner) {
        struct ynode *s = ynode_map_get(parent, key), *m;

        if (!s || s->kind != YNODE_SCALAR || ynode_is_null(s))
                return;
        m = ynode_new(YNODE_MAP, s->src, s->line, s->col);
        ynode_map_set_take(m, inner, ynode_copy(s));
        ynode_map_set_take(parent, key, m);
}

static void str_to_list(struct ynode *parent, const char *key) {
        struct ynode *s = ynode_map_get(parent, key), *l;

        if (!s || s->kind != YNODE_SCALAR || ynode_is_null(s))
                return;
        l = ynode_new(YNODE_SEQ, s->src, s->line, s->col);
        ynode_append_take(l, ynode_copy(s));
        ynode_map_set_take(parent, key, l);
}

/* A list of names into a map name -> null (networks, depends_on). */
static int names_to_map(struct ynode *parent, const char *key, struct err **errp) {
        struct ynode *l = ynode_map_get(parent, key), *m;

        if (!l || l->kind != YNODE_SEQ)
                return 0;
        m = ynode_new(YNODE_MAP, l->src, l->line, l->col);
        for (size_t i = 0; i < l->n_kids; i++) {
                const char *s;
                int r = y_str(l->kids[i], &s, errp);
                if (r < 0) {
                        ynode_free(m);
                        return r;
                }
                if (ynode_map_get(m, s))
                        continue;
                ynode_append_take(m, ynode_copy(l->kids[i]));
                ynode_append_take(m, ynode_new_scalar(NULL, l->kids[i]->src, l->kids[i]->line,
                                                      l->kids[i]->col));
        }
        ynode_map_set_take(parent, key, m);
        return 0;
}

int compose_normalize(struct ynode *root, struct err **errp) {
        struct ynode *services, *k, *v;
        int r;

        if (root->kind != YNODE_MAP)
                return ynode_err(errp, root,
                                 "expected a mapping at the top of a compose file, got %s",
                                 ynode_kind_name(root));
        services = ynode_map_get(root, "services");
        if (!services || services->kind != YNODE_MAP)
                return 0;
        YMAP_FOREACH(k, v, services) {
                struct ynode *b, *d;
                (void)k;
                if (v->kind != YNODE_MAP)
                        continue;
                r = list_to_map(v, "environment", true, errp);
                if (r >= 0)
                        r = list_to_map(v, "labels", false, errp);
                if (r >= 0)
                        r = list_to_map(v, "sysctls", false, errp);
                if (r >= 0)
                        r = list_to_map(v, "annotations", false, errp);
                if (r >= 0)
                        r = names_to_map(v, "networks", errp);
                if (r >= 0)
                        r = names_to_map(v, "depends_on", errp);
                if (r < 0)
                        return r;
                str_to_map(v, "build", "context");
                str_to_map(v, "extends", "service");
                str_to_list(v, "env_file");
                str_to_list(v, "dns");
                str_to_list(v, "dns_search");
                str_to_list(v, "tmpfs");
                b = ynode_map_get(v, "build");
                if (b && b->kind == YNODE_MAP) {
                        r = list_to_map(b, "args", true, errp);
                        if (r >= 0)
                                r = list_to_map(b, "labels", false, errp);
                        if (r < 0)
                                return r;
                }
                d = ynode_map_get(v, "deploy");
                if (d && d->kind == YNODE_MAP) {
                        r = list_to_map(d, "labels", false, errp);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The identity of a list item for merging: the mount target of a volume or device, the
 * source of a secret or config, else the scalar text. NULL when it has none. */
static char *item_key(const char *list, const struct ynode *it) {
        if (streq(list, "volumes") || streq(list, "devices")) {
                if (it->kind == YNODE_MAP) {
                        const struct ynode *t = ynode_map_get(it, "target");
                        return t && t->kind == YNODE_SCALAR ? xstrdup(t->str) : NULL;
                }
                if (it->kind == YNODE_SCALAR) {
                        _cleanup_strv_ char **p = strv_split(it->str, ":");
                        size_t n = strv_length(p);
                        return n == 0 ? NULL : xstrdup(n == 1 ? p[0] : p[1]);
                }
                return NULL;
        }
        if (streq(list, "secrets") || streq(list, "configs")) {
                if (it->kind == YNODE_MAP) {
                        const struct ynode *t = ynode_map_get(it, "source");
                        return t && t->kind == YNODE_SCALAR ? xstrdup(t->str) : NULL;
                }
        }
        return it->kind == YNODE_SCALAR ? xstrdup(it->str) : NULL;
}

/* Appends over's items to base, replacing base items with the same identity (item_key). */
static void merge_seq(const char *key, struct ynode *base, struct ynode *over) {
        for (size_t i = 0; i < over->n_kids; i++) {
                struct ynode *it = over->kids[i];
                _cleanup_free_ char *ik = item_key(key, it);
                bool replaced = false;

                for (size_t j = 0; ik && j < base->n_kids && !replaced; j++) {
                        _cleanup_free_ char *bk = item_key(key, base->kids[j]);
                        if (bk && streq(bk, ik)) {
                                ynode_free(base->kids[j]);
                                base->kids[j] = it;
                                it->parent = base;
                                replaced = true;
                        }
                }
                if (!replaced)
                        ynode_append_take(base, it);
                over->kids[i] = NULL;
        }
        over->n_kids = 0;
}

static bool has_tag(const struct ynode *n, const char *tag) {
        return n->tag && streq(n->tag, tag);
}

/* Merges map over into base: maps recurse, lists merge (except commands, which replace),
 * everything else replaces; !reset removes the key and !override replaces without merging. */
static int merge_map(struct ynode *base, struct ynode *over, struct err **errp) {
        for (size_t i = 0; i + 1 < over->n_kids; i += 2) {
                struct ynode *k = over->kids[i], *v = over->kids[i + 1], *b;
                int r;

                if (has_tag(v, "!reset")) {
                        ynode_map_del(base, k->str);
                        continue;
                }
                b = ynode_map_get(base, k->str);
                if (b && !has_tag(v, "!override") && b->kind == YNODE_MAP && v->kind == YNODE_MAP) {
                        r = merge_map(b, v, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (b && !has_tag(v, "!override") && b->kind == YNODE_SEQ && v->kind == YNODE_SEQ &&
                    !streq(k->str, "command") && !streq(k->str, "entrypoint") &&
                    !streq(k->str, "test")) {
                        merge_seq(k->str, b, v);
                        continue;
                }
                over->kids[i + 1] = NULL;
                free(v->tag);
                v->tag = NULL;
                ynode_map_set_take(base, k->str, v);
        }
        return 0;
}

int compose_merge(struct ynode *base, struct ynode *over, struct err **errp) {
        int r;

        if (base->kind != YNODE_MAP)
                return ynode_err(errp, base, "expected a mapping, got %s", ynode_kind_name(base));
        if (over->kind != YNODE_MAP)
                return ynode_err(errp, over, "expected a mapping, got %s", ynode_kind_name(over));
        r = merge_map(base, over, errp);
        ynode_reparent(base);
        return r;
}

/* ---- include ---- */

static const char *const include_keys[] = {"path", "project_directory", "env_file", NULL};
static const char *const sections[] = {"services", "networks", "volumes",
                                       "secrets",  "configs",  NULL};

/* Loads one include entry (its files merged, its own includes resolved) and moves its
 * resources into root; a name defined on both sides is an error. */
static int include_one(struct compose_ctx *c, struct ynode *root, const struct ynode *it,
                       struct err **errp) {
        _cleanup_json_ json_t *paths = NULL, *env_files = NULL;
        _cleanup_ynode_ struct ynode *inc = NULL;
        _cleanup_strv_ char **extra = NULL;
        _cleanup_free_ char *pdir = NULL;
        const struct ynode *pn = it;
        size_t i;
        json_t *p;
        int r;

        if (it->kind == YNODE_MAP) {
                r = y_check_keys(it, include_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                pn = ynode_map_get(it, "path");
                if (!pn)
                        return ynode_err(errp, it, "include needs a 'path'");
                const struct ynode *d = ynode_map_get(it, "project_directory");
                if (d) {
                        const char *s;
                        r = y_str(d, &s, errp);
                        if (r < 0)
                                return r;
                        pdir = y_abs_path(d, s, compose_env_get(c, "HOME"));
                }
                const struct ynode *ef = ynode_map_get(it, "env_file");
                if (ef) {
                        r = y_str_or_list(ef, &env_files, errp);
                        if (r < 0)
                                return r;
                }
        }
        r = y_str_or_list(pn, &paths, errp);
        if (r < 0)
                return r;
        json_array_foreach (env_files, i, p) {
                _cleanup_free_ char *abs = y_abs_path(it, json_string_value(p), NULL), *buf = NULL;
                _cleanup_strv_ char **kv = NULL;
                r = spec_read_file(abs, 1024 * 1024, &buf, NULL, errp);
                if (r < 0)
                        return ynode_err(errp, it, "env_file '%s': %s", abs, strerror(-r));
                r = envfile_parse(buf, abs, NULL, NULL, &kv, errp);
                if (r < 0)
                        return r;
                STRV_FOREACH (e, kv)
                        strv_push(&extra, *e);
        }
        json_array_foreach (paths, i, p) {
                _cleanup_free_ char *abs = y_abs_path(pn, json_string_value(p), NULL), *dir = NULL;
                _cleanup_ynode_ struct ynode *one = NULL;

                dir = pdir ? xstrdup(pdir) : xstrdup(abs);
                if (!pdir)
                        dirname(dir);
                r = compose_load_file(c, abs, dir, extra, &one, errp);
                if (r < 0)
                        return r;
                if (!inc)
                        inc = TAKE_PTR(one);
                else {
                        r = compose_merge(inc, one, errp);
                        if (r < 0)
                                return r;
                }
        }
        if (!inc)
                return 0;
        r = compose_resolve_includes(c, inc, errp);
        if (r < 0)
                return r;
        for (const char *const *s = sections; *s; s++) {
                struct ynode *from = ynode_map_get(inc, *s), *to = ynode_map_get(root, *s);
                if (!from || ynode_is_null(from))
                        continue;
                r = y_map(from, errp);
                if (r < 0)
                        return r;
                if (!to || ynode_is_null(to)) {
                        to = ynode_new(YNODE_MAP, from->src, from->line, from->col);
                        ynode_map_set_take(root, *s, to);
                }
                for (size_t j = 0; j + 1 < from->n_kids; j += 2) {
                        struct ynode *k = from->kids[j];
                        struct ynode *existing = ynode_map_get(to, k->str);
                        if (existing)
                                return ynode_err(errp, existing,
                                                 "%s '%s' is also defined by included file %s:%u",
                                                 *s, k->str, k->src->file, k->line);
                        ynode_append_take(to, k);
                        ynode_append_take(to, from->kids[j + 1]);
                        from->kids[j] = from->kids[j + 1] = NULL;
                }
                from->n_kids = 0;
        }
        return 0;
}

int compose_resolve_includes(struct compose_ctx *c, struct ynode *root, struct err **errp) {
        struct ynode *inc = ynode_map_get(root, "include");
        int r = 0;

        if (!inc)
                return 0;
        if (++c->include_depth > 8) {
                c->include_depth--;
                return ynode_err(errp, inc, "includes nested more than 8 levels deep (a cycle?)");
        }
        r = y_seq(inc, errp);
        for (size_t i = 0; r >= 0 && i < inc->n_kids; i++)
                r = include_one(c, root, inc->kids[i], errp);
        c->include_depth--;
        if (r >= 0)
                ynode_map_del(root, "include");
        ynode_reparent(root);
        return r;
}

/* ---- extends ---- */

static const char *const extends_keys[] = {"service", "file", NULL};

/* Resolves `extends` of services[name] in place: the base (itself extended first) with the
 * service merged over it. visiting detects cycles. */
static int extend_service(struct compose_ctx *c, struct ynode *services, const char *name,
                          char ***visiting, unsigned depth, struct err **errp);

/* Resolves the base of svc (an `extends` node) into a private copy in *ret. */
static int load_base(struct compose_ctx *c, struct ynode *services, struct ynode *ext,
                     char ***visiting, unsigned depth, struct ynode **ret, struct err **errp) {
        _cleanup_ynode_ struct ynode *file_root = NULL;
        struct ynode *sn, *fn, *from = services, *base;
        const char *sname, *fname = NULL;
        int r;

        r = y_check_keys(ext, extends_keys, false, NULL, errp);
        if (r < 0)
                return r;
        sn = ynode_map_get(ext, "service");
        if (!sn)
                return ynode_err(errp, ext, "extends needs a 'service'");
        r = y_str(sn, &sname, errp);
        if (r < 0)
                return r;
        fn = ynode_map_get(ext, "file");
        if (fn) {
                _cleanup_free_ char *abs = NULL, *dir = NULL;
                r = y_str(fn, &fname, errp);
                if (r < 0)
                        return r;
                abs = y_abs_path(fn, fname, compose_env_get(c, "HOME"));
                dir = xstrdup(abs);
                dirname(dir);
                r = compose_load_file(c, abs, dir, NULL, &file_root, errp);
                if (r < 0)
                        return r;
                from = ynode_map_get(file_root, "services");
                if (!from || from->kind != YNODE_MAP)
                        return ynode_err(errp, fn, "'%s' has no services", fname);
        }
        base = ynode_map_get(from, sname);
        if (!base)
                return ynode_err(errp, sn, "extends unknown service '%s'%s%s", sname,
                                 fname ? " in " : "", fname ? fname : "");
        r = extend_service(c, from, sname, visiting, depth + 1, errp);
        if (r < 0)
                return r;
        base = ynode_map_get(from, sname);
        *ret = ynode_copy(base);
        return 0;
}

static int extend_service(struct compose_ctx *c, struct ynode *services, const char *name,
                          char ***visiting, unsigned depth, struct err **errp) {
        struct ynode *svc = ynode_map_get(services, name), *ext;
        _cleanup_ynode_ struct ynode *base = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        if (!svc || svc->kind != YNODE_MAP)
                return 0;
        ext = ynode_map_get(svc, "extends");
        if (!ext)
                return 0;
        id = xasprintf("%s#%s", ext->src ? ext->src->file : "", name);
        if (strv_contains(*visiting, id) || depth > 32)
                return ynode_err(errp, ext, "extends cycle through service '%s'", name);
        strv_push(visiting, id);
        r = y_map(ext, errp);
        if (r >= 0)
                r = load_base(c, services, ext, visiting, depth, &base, errp);
        if (r < 0)
                return r;
        svc = ynode_map_get(services, name);
        ynode_map_del(svc, "extends");
        ynode_map_del(base, "extends");
        _cleanup_ynode_ struct ynode *own = ynode_copy(svc);
        r = compose_merge(base, own, errp);
        if (r < 0)
                return r;
        ynode_map_set_take(services, name, TAKE_PTR(base));
        ynode_reparent(services);
        return 0;
}

int compose_resolve_extends(struct compose_ctx *c, struct ynode *root, struct err **errp) {
        struct ynode *services = ynode_map_get(root, "services");
        int r;

        if (!services || services->kind != YNODE_MAP)
                return 0;
        for (size_t i = 0; i + 1 < services->n_kids; i += 2) {
                _cleanup_strv_ char **visiting = NULL;
                _cleanup_free_ char *name = xstrdup(services->kids[i]->str);
                r = extend_service(c, services, name, &visiting, 0, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}
