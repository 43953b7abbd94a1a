/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct nl;

/* IPv4 address management for berth networks (ipam_*). Addresses are kept in host byte order
 * (uint32_t) so arithmetic is plain; the helpers below convert at the edges. */

struct ipam_subnet {
        uint32_t net; /* host order, host bits zero */
        unsigned len; /* 0..32 */
};

/* "172.18.0.0/16". Host bits must be zero; the error names the canonical form. */
int ipam_cidr_parse(const char *s, struct ipam_subnet *ret, struct err **errp);
/* "a.b.c.d" (no prefix). */
int ipam_ip_parse(const char *s, uint32_t *ret, struct err **errp);
void ipam_ip_format(uint32_t ip, char buf[16]);
void ipam_cidr_format(const struct ipam_subnet *s, char buf[19]);
uint32_t ipam_mask(unsigned len);
bool ipam_contains(const struct ipam_subnet *s, uint32_t ip);
bool ipam_overlaps(const struct ipam_subnet *a, const struct ipam_subnet *b);
uint32_t ipam_broadcast(const struct ipam_subnet *s);

/* Default-subnet pool: `base` is cut into consecutive subnets of prefix `size`. */
struct ipam_pool {
        struct ipam_subnet base;
        unsigned size;
};
/* docker's defaults: 172.17.0.0/16 (the default bridge), 172.18-31.0.0/16, then
 * 192.168.0.0/16 cut into /20s. */
extern const struct ipam_pool ipam_default_pools[];
extern const size_t ipam_default_pools_n;
/* Parses "CIDR/SIZE,CIDR/SIZE" as "172.80.0.0/16:24,10.10.0.0/16:24" (base:size). */
int ipam_pools_parse(const char *s, struct ipam_pool **ret, size_t *ret_n, struct err **errp);

/* One pool in docker's syntax (--default-address-pool): "base=10.10.0.0/16,size=24", keys in
 * any order; size must lie between the base's prefix length and 30. */
int ipam_pool_parse_spec(const char *spec, struct ipam_pool *ret, struct err **errp);

/* The first pool subnet that overlaps none of `used`. ENOSPC when the pools are exhausted. */
int ipam_pick_subnet(const struct ipam_pool *pools, size_t n_pools, const struct ipam_subnet *used,
                     size_t n_used, struct ipam_subnet *ret, struct err **errp);
/* Host routes (main table, not default routes) as subnets, for overlap checks. */
int ipam_host_subnets(struct nl *nl, struct ipam_subnet **ret, size_t *ret_n, struct err **errp);

struct ipam_alloc {
        uint32_t ip;
        char *owner; /* endpoint id */
};

/* One network's address space: subnet, gateway, optional ip-range for dynamic allocation, and
 * the addresses handed out (sorted by ip). */
struct ipam {
        struct ipam_subnet subnet;
        uint32_t gateway;
        struct ipam_subnet range; /* == subnet when no ip-range was given */
        struct ipam_alloc *allocs;
        size_t n_allocs, allocated;
};

/* Validates and fills an ipam. subnet is required; gateway NULL = first host address; ip_range
 * NULL = whole subnet. Errors name the field ("subnet", "gateway", "ip_range"). */
int ipam_init(struct ipam *ipam, const char *subnet, const char *gateway, const char *ip_range,
              struct err **errp);
void ipam_done(struct ipam *ipam);

/* Allocates an address for owner: the requested one (0 = any) or the lowest free one in the
 * range. Never the network, broadcast or gateway address. EADDRINUSE / ENOSPC / EINVAL. */
int ipam_alloc(struct ipam *ipam, const char *owner, uint32_t requested, uint32_t *ret,
               struct err **errp);
/* Returns 1 if ip was allocated and is now free, 0 if it was not allocated. */
int ipam_release(struct ipam *ipam, uint32_t ip);
/* Releases every address of owner; returns how many. */
int ipam_release_owner(struct ipam *ipam, const char *owner);
const char *ipam_owner(const struct ipam *ipam, uint32_t ip);

/* JSON form: {"subnet":..., "gateway":..., "ip_range":..., "allocations":[{"ip","owner"}]}. */
json_t *ipam_to_json(const struct ipam *ipam);
int ipam_from_json(const json_t *j, struct ipam *ret, struct err **errp);
