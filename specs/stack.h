/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "err.h"
#include "json.h"

/* Loading a stack (compose files or Kubernetes manifests) into the canonical model
 * (docs/model.md). This is the entry point the CLI (`berth config`, `berth up`) and the
 * controller call. Nothing here talks to a daemon or logs. */
struct stack_load_opts {
        char *const *files;       /* -f FILE...; NULL: compose.yaml & co. in project_dir or "." */
        const char *project_name; /* -p; NULL: COMPOSE_PROJECT_NAME, name:, then the directory */
        const char *project_dir;  /* --project-directory; NULL: directory of the first file */
        char *const *env_files;   /* --env-file...; NULL: PROJECT_DIR/.env when present */
        char *const *profiles;    /* --profile...; also COMPOSE_PROFILES */
        char *const *environ;     /* "K=V" list; NULL: the process environment */
        bool lenient;             /* Kubernetes: unsupported fields are warnings, not errors */
        const char *stdin_data;   /* content of the file named "-"; NULL: read standard input */
        char ***ret_warnings;     /* optional: receives warnings (strv, caller frees) */
};

/* Loads, validates and normalises a stack. The format is detected from the content: any
 * document with top-level "apiVersion" and "kind" is a Kubernetes manifest. Errors read
 * "FILE:LINE:COL: PATH: message" with err->field set to PATH. */
int stack_load(const struct stack_load_opts *o, json_t **ret_model, struct err **errp);

/* sha256 hex over the key-sorted compact JSON of a pod. */
char *stack_pod_hash(const json_t *pod);
/* Sets services.*.hash for every service of a model. */
void stack_model_hash(json_t *model);
/* Normalises a project name like compose: lowercase, only [a-z0-9_-], starting with a letter
 * or digit. Returns NULL when nothing valid is left. */
char *stack_project_name_normalize(const char *s);
