/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller's secret and config objects (docker's `secret`/`config` commands and swarm's
 * /secrets, /configs API), stored as documents `secrets/<name>` and `configs/<name>`; secret
 * values sealed with secretbox.h. Also what `up` does with a stack's secrets: external ones
 * must exist, inline values are sealed before the stack is stored, and the parts sent to agents
 * carry the opened values (docs/controller.md "Secrets and configs"). */

#include <stdbool.h>

#include <jansson.h>

#include "err.h"

#define SECRET_DATA_MAX (500u * 1024u) /* swarm's limit, for secrets and configs */
#define SECRET_NAME_MAX 64

struct controller;
struct http_router;

enum sobj_kind {
        SOBJ_SECRET,
        SOBJ_CONFIG,
        _SOBJ_KIND_MAX,
        _SOBJ_KIND_INVALID = -EINVAL,
};

/* Where the data key lives (<root>/controller/secrets.key); loaded or made at first use. */
void secrets_set_key_path(struct controller *c, const char *path);

/* docker's body {"Name", "Labels", "Data": base64}; *ret = {"ID"}. EEXIST for a taken name,
 * EINVAL naming the field, E2BIG above SECRET_DATA_MAX. */
int secrets_create(struct controller *c, enum sobj_kind kind, const json_t *body, json_t **ret,
                   struct err **errp);
/* Every object matching filters ({"name": [..], "label": [..], "id": [..]}, may be NULL),
 * sorted by name. Secrets never carry their value; configs carry Spec.Data. */
int secrets_list(struct controller *c, enum sobj_kind kind, const json_t *filters, json_t **ret,
                 struct err **errp);
/* One object by name, ID or unique ID prefix (ENOENT otherwise). */
int secrets_inspect(struct controller *c, enum sobj_kind kind, const char *ref, json_t **ret,
                    struct err **errp);
/* Removes it unless a stored stack uses it (EBUSY naming the stack and its services). */
int secrets_delete(struct controller *c, enum sobj_kind kind, const char *ref, struct err **errp);

/* Before stack's model is planned and stored: every external secret/config must exist (EINVAL
 * "FILE:LINE:COL: secrets.KEY: external secret 'NAME' not found"), and inline secret values
 * (content, Kubernetes data) are replaced by sealed ones (content_sealed, data_sealed). */
int secrets_prepare_model(struct controller *c, const char *stack, json_t *model,
                          struct err **errp);

/* The stack parts for agents (controller.c stack_parts()): replaces its "secrets" and
 * "configs" by copies where sealed values are opened and external objects resolved into
 * content_base64; a value that cannot be had gets "error" instead, which the agent reports. */
void secrets_resolve_parts(struct controller *c, const char *stack, json_t *parts);

int secrets_api_register(struct http_router *router, struct err **errp);
