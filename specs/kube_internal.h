/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internal interface of the Kubernetes loader (specs/kube*.c). */

#include "json.h"
#include "kube.h"
#include "yaml_tree.h"

struct kube_ctx {
        const struct stack_load_opts *opts;
        char **warnings;
        char ***warn; /* &warnings when lenient, else NULL: unknown fields are errors */
        char *project;
        json_t *model;
        json_t *configmaps; /* name -> {key: value} */
        json_t *secrets;    /* name -> {key: value} (decoded) */
        json_t *pvcs;       /* name -> true */
};

/* Builds the pod of a model service from a PodSpec (and its template metadata). */
int kube_pod(struct kube_ctx *k, const char *svc_name, const struct ynode *meta,
             const struct ynode *spec, json_t *svc, struct err **errp);
/* Unsupported field in lenient mode is a warning, else an error. */
int kube_unsupported(struct kube_ctx *k, const struct ynode *n, const char *what,
                     struct err **errp);
