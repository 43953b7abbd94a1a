/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "json.h"
#include "stack.h"

/* Loads Kubernetes manifests (Pod, Deployment, Service, ConfigMap, Secret,
 * PersistentVolumeClaim, Job, List) into the canonical model. Every unsupported kind or field
 * is an error naming it with its position, or a warning with o->lenient. */
int kube_load(const struct stack_load_opts *o, char *const *files, json_t **ret, struct err **errp);
