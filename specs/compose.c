/* SPDX-License-Identifier: Apache-2.0 */
/* Loading a compose project: files, environment, includes, merge, extends, profiles, then the
 * model (compose_toplevel.c, compose_services.c) and its validation. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "compose.h"
#include "fileio.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

void compose_ctx_done(struct compose_ctx *c) {
        free(c->project_dir);
        free(c->project);
        strv_free(c->env);
        strv_free(c->warnings);
        json_decref(c->sources);
        for (size_t i = 0; i < c->n_srcs; i++) {
                free(c->srcs[i]->file);
                free(c->srcs[i]->dir);
                free(c->srcs[i]);
        }
        free(c->srcs);
}

const char *compose_env_get(struct compose_ctx *c, const char *name) {
        return env_list_get(c->env, name);
}

const struct ysrc *compose_src_add(struct compose_ctx *c, const char *file, const char *dir) {
        struct ysrc *s = xnew0(struct ysrc, 1);

        s->file = xstrdup(file);
        s->dir = xstrdup(dir);
        XGROW(c->srcs, c->alloc_srcs, c->n_srcs + 1);
        c->srcs[c->n_srcs++] = s;
        return s;
}

int compose_load_file(struct compose_ctx *c, const char *path, const char *dir,
                      char *const *extra_env, struct ynode **ret, struct err **errp) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_ynode_ struct ynode *root = NULL;
        struct ynode **docs = NULL;
        const struct ysrc *src;
        size_t len = 0, n = 0;
        int r;

        if (streq(path, "-")) {
                /* stack_load() has read standard input already (or was given the text). */
                buf = xstrdup(c->opts->stdin_data ? c->opts->stdin_data : "");
                len = strlen(buf);
                path = "<stdin>";
        } else {
                r = spec_read_file(path, YAML_MAX_FILE_SIZE, &buf, &len, errp);
                if (r < 0)
                        return err_wrap(errp, "read compose file '%s'", path);
        }
        src = compose_src_add(c, path, dir);
        r = yaml_load(buf, len, src, &docs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = compose_interpolate_tree(c, extra_env, docs[i], errp);
                if (r >= 0)
                        r = compose_normalize(docs[i], errp);
                if (r >= 0 && !root)
                        root = TAKE_PTR(docs[i]);
                else if (r >= 0)
                        r = compose_merge(root, docs[i], errp);
        }
        ynode_docs_free(docs, n);
        if (r < 0)
                return r;
        if (!root)
                return err_setx(errp, EINVAL, "%s: empty compose file", path);
        json_array_append_new(c->sources, json_string(path));
        *ret = TAKE_PTR(root);
        return 0;
}

char *stack_project_name_normalize(const char *s) {
        _cleanup_free_ char *out = xmalloc(strlen(s) + 1);
        size_t n = 0;

        for (const char *p = s; *p; p++) {
                char ch = (char)tolower((unsigned char)*p);
                if (isalnum((unsigned char)ch) || ((ch == '_' || ch == '-') && n > 0))
                        out[n++] = ch;
        }
        out[n] = 0;
        return n > 0 ? TAKE_PTR(out) : NULL;
}

/* -p, then COMPOSE_PROJECT_NAME, then name:, then the project directory's name. */
static int project_name(struct compose_ctx *c, const struct ynode *root, struct err **errp) {
        const struct ynode *nn = ynode_map_get(root, "name");
        const char *raw = c->opts->project_name, *from = "-p";
        int r;

        if (!raw && compose_env_get(c, "COMPOSE_PROJECT_NAME") &&
            *compose_env_get(c, "COMPOSE_PROJECT_NAME")) {
                raw = compose_env_get(c, "COMPOSE_PROJECT_NAME");
                from = "COMPOSE_PROJECT_NAME";
        }
        if (!raw && nn) {
                r = y_str(nn, &raw, errp);
                if (r < 0)
                        return r;
                from = "name";
        }
        if (!raw) {
                raw = strrchr(c->project_dir, '/');
                raw = raw && raw[1] ? raw + 1 : c->project_dir;
                from = "the project directory";
        }
        c->project = stack_project_name_normalize(raw);
        if (!c->project) {
                if (nn && streq(from, "name"))
                        return ynode_err(errp, nn,
                                         "invalid project name \"%s\" (use lowercase letters, "
                                         "digits, '_' and '-', starting with a letter or digit)",
                                         raw);
                return err_setx(
                        errp, EINVAL,
                        "invalid project name \"%s\" from %s (use lowercase letters, digits, "
                        "'_' and '-', starting with a letter or digit)",
                        raw, from);
        }
        return 0;
}

static const char *const top_keys[] = {"version", "name",    "services", "networks", "volumes",
                                       "secrets", "configs", "include",  NULL};

int compose_load(const struct stack_load_opts *o, char *const *files, json_t **ret,
                 struct err **errp) {
        _cleanup_(compose_ctx_done) struct compose_ctx c = {.opts = o, .sources = json_array()};
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_json_ json_t *model = NULL;
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        _cleanup_strv_ char **abs = NULL;
        int r;

        STRV_FOREACH (f, files)
                strv_push_take(&abs, streq(*f, "-") ? xstrdup(*f)
                                     : (*f)[0] == '/'
                                             ? path_normalize(*f)
                                             : ({
                                                       _cleanup_free_ char *j = xasprintf(
                                                               "%s/%s", cwd ? cwd : ".", *f);
                                                       path_normalize(j);
                                               }));
        if (o->project_dir)
                c.project_dir = o->project_dir[0] == '/' ? path_normalize(o->project_dir) : ({
                        _cleanup_free_ char *j =
                                xasprintf("%s/%s", cwd ? cwd : ".", o->project_dir);
                        path_normalize(j);
                });
        else if (streq(abs[0], "-"))
                c.project_dir = xstrdup(cwd ? cwd : ".");
        else {
                c.project_dir = xstrdup(abs[0]);
                dirname(c.project_dir);
        }
        r = compose_env_setup(&c, errp);
        if (r < 0)
                return r;
        STRV_FOREACH (f, abs) {
                _cleanup_ynode_ struct ynode *one = NULL;
                r = compose_load_file(&c, *f, c.project_dir, NULL, &one, errp);
                if (r < 0)
                        return r;
                r = y_check_keys(one, top_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                r = compose_resolve_includes(&c, one, errp);
                if (r < 0)
                        return r;
                if (!root)
                        root = TAKE_PTR(one);
                else {
                        r = compose_merge(root, one, errp);
                        if (r < 0)
                                return r;
                }
        }
        r = compose_resolve_extends(&c, root, errp);
        if (r < 0)
                return r;
        r = project_name(&c, root, errp);
        if (r < 0)
                return r;
        r = compose_apply_profiles(&c, root, errp);
        if (r < 0)
                return r;

        model = json_object();
        json_object_set_new(model, "version", json_integer(1));
        json_object_set_new(model, "name", json_string(c.project));
        json_object_set_new(model, "project_dir", json_string(c.project_dir));
        json_object_set(model, "sources", c.sources);
        json_object_set_new(model, "services", json_object());
        r = compose_toplevel(&c, root, model, errp);
        if (r < 0)
                return r;
        r = compose_services(&c, root, model, errp);
        if (r < 0)
                return r;
        r = model_validate(model, root, errp);
        if (r < 0)
                return r;
        stack_model_hash(model);
        if (o->ret_warnings)
                STRV_FOREACH (w, c.warnings)
                        strv_push(o->ret_warnings, *w);
        *ret = TAKE_PTR(model);
        return 0;
}
