/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles (compose-spec 15-profiles): a service with `profiles` only exists when one of them
 * is active (--profile, COMPOSE_PROFILES, or "*" for all). */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "compose.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

static bool enabled(char *const *active, const json_t *profiles) {
        size_t i;
        json_t *p;

        if (json_array_size(profiles) == 0 || strv_contains(active, "*"))
                return true;
        json_array_foreach (profiles, i, p)
                if (strv_contains(active, json_string_value(p)))
                        return true;
        return false;
}

int compose_apply_profiles(struct compose_ctx *c, struct ynode *root, struct err **errp) {
        struct ynode *services = ynode_map_get(root, "services"), *k, *v;
        _cleanup_strv_ char **active = strv_copy(c->opts->profiles), **off = NULL;
        const char *envp = compose_env_get(c, "COMPOSE_PROFILES");
        int r;

        if (envp) {
                _cleanup_strv_ char **l = strv_split(envp, ",");
                STRV_FOREACH (p, l)
                        strv_push(&active, *p);
        }
        if (!services || services->kind != YNODE_MAP)
                return 0;
        YMAP_FOREACH(k, v, services) {
                _cleanup_json_ json_t *profiles = NULL;
                struct ynode *pn = ynode_map_get(v, "profiles");
                if (!pn)
                        continue;
                r = y_strv(pn, &profiles, errp);
                if (r < 0)
                        return r;
                if (!enabled(active, profiles))
                        strv_push(&off, k->str);
        }
        /* A service that stays must not need one that goes. */
        YMAP_FOREACH(k, v, services) {
                struct ynode *deps = ynode_map_get(v, "depends_on"), *dk, *dv;
                if (strv_contains(off, k->str) || !deps || deps->kind != YNODE_MAP)
                        continue;
                for (size_t i = 0; i + 1 < deps->n_kids;) {
                        bool required = true;
                        dk = deps->kids[i];
                        dv = deps->kids[i + 1];
                        if (!strv_contains(off, dk->str)) {
                                i += 2;
                                continue;
                        }
                        if (dv->kind == YNODE_MAP && ynode_map_get(dv, "required")) {
                                r = y_bool(ynode_map_get(dv, "required"), &required, errp);
                                if (r < 0)
                                        return r;
                        }
                        if (required)
                                return ynode_err(errp, dk,
                                                 "service '%s' depends on '%s', which is not "
                                                 "enabled by the active profiles",
                                                 k->str, dk->str);
                        warn_push(&c->warnings, dk,
                                  "optional dependency '%s' is disabled by profiles, ignoring",
                                  dk->str);
                        ynode_map_del(deps, dk->str);
                }
        }
        STRV_FOREACH (s, off)
                ynode_map_del(services, *s);
        return 0;
}
