/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

#include "api.h"
#include "err.h"

/* The network API's operations for other parts of the agent (the pod runtime creates and
 * removes its stacks' networks through the same code `berth network create` takes). */

/* Creates a network from a docker-style create body (Name, Driver, Internal, IPAM.Config,
 * Options, Labels). EEXIST when a network of that name exists. */
int api_network_create(struct daemon *d, const json_t *body, struct err **errp);
/* Removes a network: 1 removed, 0 no such network, EBUSY while containers use it. */
int api_network_remove(struct daemon *d, const char *name, struct err **errp);
/* The labels a network was created with (a new reference; {} when none). */
json_t *api_network_labels(struct daemon *d, const char *name);
