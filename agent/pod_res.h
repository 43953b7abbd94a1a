/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "api.h"
#include "err.h"
#include "pods.h"

/* What a pod needs on its node before its containers are created (agent/pod_res.c): the stack
 * networks and named volumes (created through the same code as `berth network create` and
 * `berth volume create`, idempotent), bind mount sources, and its secret and config files. */

/* Creates the missing stack networks and named volumes of the pod and checks external ones
 * and bind sources. Errors name the stack, service and network/volume/path. */
int pod_res_prepare(struct daemon *d, const struct pod_spec *spec, struct err **errp);

/* Creates stack network key (of the stack's shared parts) when missing, without a pod: a node
 * of the routing mesh that runs no replica (overlay_peers.c). 1 when created. */
int pod_res_stack_network(struct daemon *d, const char *stack, const json_t *parts, const char *key,
                          struct err **errp);

/* Writes the pod's secret and config files into a tmpfs mounted at <run>/pods/<pod> (mode,
 * uid and gid of each mount). *ret_dir is that directory, or NULL when the pod has none. On
 * failure nothing is left mounted. */
int pod_secrets_prepare(struct daemon *d, const struct pod_spec *spec, char **ret_dir,
                        struct err **errp);
/* Unmounts and removes the pod's secrets directory (idempotent). */
void pod_secrets_cleanup(struct daemon *d, const char *pod);

/* Removes the networks made for stacks that are not in live (strv) once no container uses
 * them. Returns how many were removed. */
int pod_res_gc(struct daemon *d, char *const *live);
