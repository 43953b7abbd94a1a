/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Service VIPs (vip_*): the controller gives every service with `endpoint.mode: vip` and at
 * least one endpoint port one virtual IPv4 address per stack network it is on, from the
 * service range VIP_RANGE. They live in the store, so they survive controller restarts and an
 * unchanged service keeps its address across `up`s:
 *
 *   vips/<stack>/<service>/<network key>   {"ip": "10.96.0.7"}
 *
 * Agents get them with their assignments (stacks.<stack>.services.<svc>.vips = {network key:
 * ip}), make the service name resolve to the VIP on that network and spread connections to
 * VIP:port over the healthy replicas (agent/pod_vip.c). A service without endpoint ports gets
 * no VIP (there is nothing to balance) and resolves to its replicas, like dnsrr. */

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "store.h"

/* 10.96.0.0/16 (Kubernetes' default service range is 10.96.0.0/12). */
#define VIP_RANGE_BASE 0x0a600000u
#define VIP_RANGE_PREFIX 16

/* The (service, network key) pairs of a canonical model that need a VIP, as
 * "<service>/<network key>" (sorted strv). */
char **vip_wanted(const json_t *model);
/* Makes the store hold exactly the VIPs the model wants for the stack: missing ones are
 * allocated (the lowest free address of the range, over every stack), ones no longer wanted
 * are released; kept ones never change. One transaction; -ENOSPC when the range is full. */
int vip_sync(struct store *s, const char *stack, const json_t *model, struct err **errp);
/* Releases every VIP of the stack (down). */
int vip_release(struct store *s, const char *stack, struct err **errp);
/* The stack's VIPs as {service: {network key: ip}} (empty when it has none). */
int vip_get(struct store *s, const char *stack, json_t **ret, struct err **errp);
