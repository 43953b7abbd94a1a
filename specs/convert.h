/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "json.h"

/* Writes a model as Kubernetes manifests (multi-document YAML) or as a compose file. What the
 * target cannot express is an error naming the service and the field. */
int convert_to_kube(const json_t *model, char **ret, struct err **errp);
int convert_to_compose(const json_t *model, char **ret, struct err **errp);
