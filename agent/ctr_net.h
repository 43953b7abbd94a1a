/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "containers.h"
#include "err.h"

/* Containers on berth networks (agent/ctr_net.c). The container record keeps the wanted
 * attachments in "BerthNetworks" ([{"Name","IPv4Address","MacAddress","Aliases":[]}], in connect
 * order) and what is live in docker's "NetworkSettings". */

/* At create, once the record is built: resolves NetworkMode ("default"/"bridge", a user
 * network), NetworkingConfig.EndpointsConfig and BerthExtraNetworks into BerthNetworks, checks
 * networks, addresses and published ports (host ports taken by berth or by another program),
 * adds the --link environment and fills an empty NetworkSettings. Does nothing for
 * none/host/container:. */
int ctr_net_create(struct ctr_mgr *m, json_t *rec, const json_t *body, struct err **errp);
/* Whether the container gets berth networks at start (then the start waits for ctr_net_attach). */
bool ctr_net_wanted(const json_t *rec);
/* resolv.conf for a container on a user network (its DNS at the gateway first), NULL when the
 * caller's default applies. */
char *ctr_net_resolv_file(struct ctr_mgr *m, const json_t *rec, const char *host_resolv);
/* Right after the runtime started the container (pid: its init): connects every network of
 * BerthNetworks, records NetworkSettings, rewrites /etc/hosts with the addresses. On failure
 * nothing stays connected. */
int ctr_net_attach(struct ctr *c, int pid, struct err **errp);
/* The container stopped or is removed: disconnects it everywhere (idempotent). */
void ctr_net_detach(struct ctr *c);
/* `network connect` / `disconnect`: updates BerthNetworks, and the live state when running. */
int ctr_net_connect(struct ctr *c, const char *network, const char *ip, const json_t *aliases,
                    struct err **errp);
int ctr_net_disconnect(struct ctr *c, const char *network, bool force, struct err **errp);
/* Daemon start: containers that are not running get no endpoint. */
void ctr_net_reconcile(struct ctr_mgr *m);
/* Whether a container record names the network (wanted or live). */
bool ctr_net_uses(const json_t *rec, const char *network);
