/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internal interface of the compose loader (specs/compose*.c). */

#include <stdbool.h>

#include "json.h"
#include "stack.h"
#include "yaml_tree.h"

struct compose_ctx {
        const struct stack_load_opts *opts;
        char *project_dir;
        char *project;   /* normalised project name */
        char **env;      /* "K=V": .env first, then the process environment (last wins) */
        char **warnings; /* collected warnings */
        json_t *sources; /* absolute paths of every file read */
        struct ysrc **srcs;
        size_t n_srcs, alloc_srcs;
        unsigned include_depth;
};

void compose_ctx_done(struct compose_ctx *c);
const char *compose_env_get(struct compose_ctx *c, const char *name);
/* Registers a source file; dir is where its relative paths resolve. */
const struct ysrc *compose_src_add(struct compose_ctx *c, const char *file, const char *dir);

/* Reads one compose file: YAML, every document merged, interpolated, short forms normalised
 * (compose_normalize). extra_env ("K=V") takes precedence over the context's environment. */
int compose_load_file(struct compose_ctx *c, const char *path, const char *dir,
                      char *const *extra_env, struct ynode **ret, struct err **errp);

/* compose_interp.c: interpolates every scalar value below n. */
int compose_interpolate_tree(struct compose_ctx *c, char *const *extra_env, struct ynode *n,
                             struct err **errp);
/* Reads the project environment: env files (or PROJECT_DIR/.env) and the process env. */
int compose_env_setup(struct compose_ctx *c, struct err **errp);

/* compose_merge.c */
/* Turns list forms into maps where compose merges by key (environment, labels, depends_on,
 * networks ...), and string forms of build/extends into maps. */
int compose_normalize(struct ynode *root, struct err **errp);
/* Merges over into base following the compose merge rules. Values are moved out of over;
 * the caller still frees over. */
int compose_merge(struct ynode *base, struct ynode *over, struct err **errp);
int compose_resolve_includes(struct compose_ctx *c, struct ynode *root, struct err **errp);
int compose_resolve_extends(struct compose_ctx *c, struct ynode *root, struct err **errp);

/* compose_profiles.c: removes services whose profiles are not active. */
int compose_apply_profiles(struct compose_ctx *c, struct ynode *root, struct err **errp);

/* compose_toplevel.c: networks, volumes, secrets, configs of the model. */
int compose_toplevel(struct compose_ctx *c, const struct ynode *root, json_t *model,
                     struct err **errp);
/* compose_services.c */
int compose_services(struct compose_ctx *c, const struct ynode *root, json_t *model,
                     struct err **errp);
/* compose_ports_volumes.c */
int compose_ports(struct compose_ctx *c, const struct ynode *n, json_t *ports, struct err **errp);
int compose_volumes(struct compose_ctx *c, const struct ynode *n, const json_t *model,
                    json_t *mounts, struct err **errp);
int compose_secret_refs(struct compose_ctx *c, const struct ynode *n, const char *kind,
                        const json_t *model, json_t *mounts, struct err **errp);

/* compose_validate.c: cross-service checks on a finished model (also used for kube). The
 * root node gives positions when available (NULL for kube). */
int model_validate(const json_t *model, const struct ynode *root, struct err **errp);

/* compose.c: loads a whole compose project. */
int compose_load(const struct stack_load_opts *o, char *const *files, json_t **ret,
                 struct err **errp);
