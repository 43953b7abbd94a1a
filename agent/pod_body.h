/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "pods.h"

/* The Engine-API create body of a pod's container, from the pod template of docs/model.md
 * (agent/pod_body.c). Pure: no I/O, so the unit tests check it field by field.
 *
 * The first container of a pod (owner NULL) owns the network, IPC and UTS namespaces: it joins
 * the stack networks of the pod with its DNS aliases and carries every published port of the
 * pod. The others join it with container:<owner>. */

struct pod_body_opts {
        const struct pod_spec *spec;
        const json_t *ct; /* the container of spec->pod */
        size_t index, count;
        const char *owner;       /* id of the first container, NULL for the first one */
        const char *secrets_dir; /* per-pod directory of secret and config files, or NULL */
};

/* The full name of a network or volume of the stack: the model's "name", else <stack>_<key>. */
char *pod_stack_name(const struct pod_spec *spec, const char *section, const char *key);

/* The stack networks the pod joins, sorted (key names of the model; "default" when the
 * template names none). Empty for network_mode host/none. */
char **pod_network_keys(const struct pod_spec *spec);

/* The host file or directory of the secret/config mount m of container ci, under dir. */
char *pod_secret_path(const char *dir, size_t ci, size_t mi);

/* Builds the body. Fields the engine cannot honour are refused with an error naming the
 * field (services.SVC.containers[I].FIELD); fields it ignores on purpose are appended to
 * *warnings (strv, may be NULL). */
int pod_body_build(const struct pod_body_opts *o, json_t **ret, char ***warnings,
                   struct err **errp);
