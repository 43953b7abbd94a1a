/* SPDX-License-Identifier: Apache-2.0 */
/* Compose interpolation (compose-spec 12-interpolation) over a node tree, and the project's
 * environment (.env / --env-file and the process environment). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "spec_util.h"
#include "compose.h"
#include "fileio.h"
#include "parse.h"
#include "strv.h"
#include "xalloc.h"

extern char **environ;

struct lookup {
        struct compose_ctx *c;
        char *const *extra;
};

static const char *lookup_fn(const char *name, void *ud) {
        struct lookup *l = ud;
        const char *v = env_list_get(l->extra, name);

        return v ? v : compose_env_get(l->c, name);
}

/* Interpolates every scalar value below n in place (keys are left alone). */
static int interp_node(struct lookup *l, struct ynode *n, struct err **errp) {
        if (n->kind == YNODE_SCALAR) {
                _cleanup_free_ char *out = NULL, *msg = NULL;

                if (!memchr(n->str, '$', n->len))
                        return 0;
                _cleanup_strv_ char **warnings = NULL;
                if (interpolate(n->str, lookup_fn, l, &out, &msg, &warnings) < 0)
                        return ynode_err(errp, n, "%s", msg);
                STRV_FOREACH (w, warnings)
                        warn_push(&l->c->warnings, n, "%s", *w);
                free(n->str);
                n->len = strlen(out);
                n->str = TAKE_PTR(out);
                /* An interpolated value is a string, even when it ends up empty. */
                n->plain = false;
                return 0;
        }
        for (size_t i = 0; i < n->n_kids; i++) {
                int r;
                /* Map keys are not interpolated; values are. */
                if (n->kind == YNODE_MAP && i % 2 == 0)
                        continue;
                r = interp_node(l, n->kids[i], errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

int compose_interpolate_tree(struct compose_ctx *c, char *const *extra_env, struct ynode *n,
                             struct err **errp) {
        struct lookup l = {.c = c, .extra = extra_env};

        return interp_node(&l, n, errp);
}

static const char *process_lookup(const char *name, void *ud) {
        struct compose_ctx *c = ud;

        return compose_env_get(c, name);
}

int compose_env_setup(struct compose_ctx *c, struct err **errp) {
        char *const *proc = c->opts->environ ? c->opts->environ : environ;
        _cleanup_strv_ char **files = NULL;
        int r;

        /* The process environment first, so that .env values can refer to it; then .env, then
         * the process environment again: it wins over .env like in compose. */
        c->env = strv_copy(proc);
        if (c->opts->env_files)
                files = strv_copy(c->opts->env_files);
        else {
                _cleanup_free_ char *def = xasprintf("%s/.env", c->project_dir);
                if (access(def, F_OK) == 0)
                        strv_push(&files, def);
        }
        STRV_FOREACH (f, files) {
                _cleanup_free_ char *buf = NULL, *abs = NULL;
                _cleanup_strv_ char **kv = NULL;

                abs = (*f)[0] == '/' ? xstrdup(*f) : xasprintf("%s/%s", c->project_dir, *f);
                if (c->opts->env_files && (*f)[0] != '/') {
                        _cleanup_free_ char *cwd = getcwd(NULL, 0);
                        free(abs);
                        abs = xasprintf("%s/%s", cwd ? cwd : ".", *f);
                }
                r = spec_read_file(abs, 1024 * 1024, &buf, NULL, errp);
                if (r < 0)
                        return err_wrap(errp, "env file '%s'", *f);
                r = envfile_parse(buf, *f, process_lookup, c, &kv, errp);
                if (r < 0)
                        return r;
                STRV_FOREACH (e, kv)
                        strv_push(&c->env, *e);
        }
        for (char *const *e = proc; e && *e; e++)
                strv_push(&c->env, *e);
        return 0;
}
