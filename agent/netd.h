/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "err.h"
#include "json.h"

/* The daemon's networking (agent/netd.c): creates the network manager at start-up with the
 * default network "bridge" (device berth0 for the default root, see net_instance_name) from
 * --bip/--fixed-cidr/--mtu, and frees it at exit without tearing the kernel state down (containers
 * outlive the daemon). */

struct netd_opts {
        char *bip;        /* --bip GATEWAY/LEN, NULL = subnet from the pool */
        char *fixed_cidr; /* --fixed-cidr CIDR: dynamic addresses of the default network */
        uint32_t mtu;     /* --mtu, 0 = kernel default */
        bool no_bridge;   /* --bridge none: no default network */
        /* --default-address-pool base=CIDR,size=N (repeatable, docker's syntax): the subnets of
         * the default network and of networks created without --subnet, instead of docker's
         * defaults. NULL = the defaults. */
        char *const *pools;
};

/* Checks the daemon flags (the error names the flag). */
int netd_check_opts(const struct netd_opts *o, struct err **errp);
/* daemon.json's "default-address-pools": [{"base": CIDR, "size": N}, ...] as
 * "base=CIDR,size=N" strings, each checked; errors name the file, key and index. */
int netd_config_pools(const char *path, const json_t *v, char ***ret, struct err **errp);
/* Opens d->net. Must run before the container manager opens (restarts attach networks). */
int netd_open(struct daemon *d, const struct netd_opts *o, struct err **errp);
void netd_close(struct daemon *d);
/* After a failed start: removes the default network (bridge, nft tables) if this start made it,
 * so that a daemon refused for a bad option leaves nothing on the host. */
void netd_undo_start(struct daemon *d);
/* d->net, or an error saying why networking is unavailable. */
int netd_get(struct daemon *d, struct netmgr **ret, struct err **errp);
/* {"NftTable", "DefaultBridge"}: the names of this root's kernel objects (net_instance_name),
 * for `berth info`. */
json_t *netd_info(const struct daemon *d);
