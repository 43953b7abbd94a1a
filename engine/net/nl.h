/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* rtnetlink over libmnl (STYLE C2: nl_*). One struct nl is one NETLINK_ROUTE socket bound to the
 * network namespace it was created in; every request is sent with NLM_F_ACK and a fresh sequence
 * number and waits for its answer, so calls are synchronous (rtnetlink answers in well under a
 * millisecond; nothing here waits on the network). Kernel errors carry the extended-ack message
 * when the kernel provides one.
 *
 * Idempotence (STYLE C9): create/add functions return 1 when they created something and 0 when
 * an identical object already existed; delete functions return 1 when they removed something
 * and 0 when it was already gone. */

struct nl;

/* Opens a NETLINK_ROUTE socket in the caller's network namespace. */
int nl_open(struct nl **ret, struct err **errp);
/* Opens a NETLINK_ROUTE socket inside the network namespace netns_fd refers to. The calling
 * thread joins that namespace with setns(), creates the socket and returns to its own namespace
 * before this function returns (a socket stays in the namespace it was created in). berth's
 * daemons are single-threaded, so no other code observes the short switch. */
int nl_open_netns(int netns_fd, struct nl **ret, struct err **errp);
struct nl *nl_free(struct nl *nl);
void nl_freep(struct nl **nl);
#define _cleanup_nl_ _cleanup_(nl_freep)

/* Generic address: family is AF_INET or AF_INET6. */
struct nl_ip {
        int family;
        union {
                struct in_addr v4;
                struct in6_addr v6;
        };
};

#define NL_MAC_LEN 6

/* Links. */
int nl_link_index(struct nl *nl, const char *name, int *ret_ifindex, struct err **errp);
/* Returns 1 if the link exists, 0 if not; never sets an error for a missing link. */
int nl_link_exists(struct nl *nl, const char *name, struct err **errp);
/* mtu 0 = kernel default. EEXIST is success only when the existing link is a bridge. */
int nl_link_add_bridge(struct nl *nl, const char *name, uint32_t mtu, struct err **errp);
/* Creates a veth pair: `name` in this socket's namespace and `peer` born directly inside the
 * namespace peer_netns_fd refers to (-1 = same namespace). peer_mac may be NULL (random), mtu 0
 * = default. Creating the peer in place avoids the RCU grace period a later move would cost. */
int nl_link_add_veth(struct nl *nl, const char *name, const char *peer, int peer_netns_fd,
                     uint32_t mtu, const uint8_t *peer_mac, struct err **errp);

/* A container's end of a bridge network (nl_veth_connect). */
struct nl_veth_opts {
        const char *name; /* host end, created in nl's namespace */
        const char *peer; /* container end, born in peer_netns_fd (cnl's namespace) */
        int peer_netns_fd;
        const char *master;      /* bridge the host end joins, NULL = none */
        uint32_t mtu;            /* 0 = default */
        const uint8_t *peer_mac; /* NULL = random */
        struct nl_ip addr;       /* the container end's address */
        unsigned prefixlen;
        const struct nl_ip *gw; /* default route in the container, NULL = none (an existing
                                 * one is kept) */
};
/* Creates the veth pair with the host end up and in master (one request), then in cnl (a
 * socket in the container's namespace) looks up the peer, puts the host end's bridge port in
 * hairpin mode (with a master) and sends the peer's link up, address, lo up and the default
 * route in one batch: five round trips where the separate calls take twelve.
 * EEXIST when the peer's name is taken in the container; a host end of the same name (left by
 * a crash) is deleted and the creation retried once. On failure the pair is deleted. Returns 1. */
int nl_veth_connect(struct nl *nl, struct nl *cnl, const struct nl_veth_opts *o, struct err **errp);

struct nl_vxlan {
        uint32_t vni;       /* 24 bits */
        struct nl_ip local; /* family 0 = unset */
        const char *dev;    /* underlay device, NULL = none */
        uint16_t port;      /* host order; 0 = 4789 */
        uint32_t mtu;       /* 0 = default */
        bool learning;      /* false for berth's overlay (FDB is programmed) */
        bool proxy;         /* answer ARP requests from the neighbour table */
};
int nl_link_add_vxlan(struct nl *nl, const char *name, const struct nl_vxlan *cfg,
                      struct err **errp);
/* Creates a macvlan device in bridge mode on lower (a link of this socket's namespace), born
 * directly inside the namespace netns_fd refers to (-1 = this one). mtu 0 = the lower's, mac
 * NULL = random. EEXIST is success only in this namespace and when the link is a macvlan. */
int nl_link_add_macvlan(struct nl *nl, const char *name, const char *lower, int netns_fd,
                        uint32_t mtu, const uint8_t *mac, struct err **errp);
int nl_link_set_up(struct nl *nl, const char *name, bool up, struct err **errp);
/* master NULL detaches. */
int nl_link_set_master(struct nl *nl, const char *name, const char *master, struct err **errp);
int nl_link_set_mtu(struct nl *nl, const char *name, uint32_t mtu, struct err **errp);
int nl_link_set_mac(struct nl *nl, const char *name, const uint8_t mac[NL_MAC_LEN],
                    struct err **errp);
int nl_link_rename(struct nl *nl, const char *name, const char *newname, struct err **errp);
/* Moves a link into another namespace (the slow path; kept for tools and benchmarks). */
int nl_link_set_netns(struct nl *nl, const char *name, int netns_fd, struct err **errp);
int nl_link_del(struct nl *nl, const char *name, struct err **errp);
/* Reads the link's kind (IFLA_INFO_KIND, "" when none) into buf of size n. */
int nl_link_kind(struct nl *nl, const char *name, char *buf, size_t n, struct err **errp);

/* Addresses. */
int nl_addr_add(struct nl *nl, const char *ifname, const struct nl_ip *ip, unsigned prefixlen,
                struct err **errp);
int nl_addr_del(struct nl *nl, const char *ifname, const struct nl_ip *ip, unsigned prefixlen,
                struct err **errp);
/* Number of addresses of the family (0 = any) on the link. */
int nl_addr_count(struct nl *nl, const char *ifname, int family, struct err **errp);

/* Routes in the main table. dst_len 0 = default route. gw may be NULL (link route), ifname may
 * be NULL when gw is given. */
int nl_route_add(struct nl *nl, const struct nl_ip *dst, unsigned dst_len, const struct nl_ip *gw,
                 const char *ifname, struct err **errp);
int nl_route_del(struct nl *nl, const struct nl_ip *dst, unsigned dst_len, const struct nl_ip *gw,
                 const char *ifname, struct err **errp);

struct nl_route {
        struct nl_ip dst;
        unsigned dst_len;
        int ifindex;
};
/* Dumps the IPv4 routes of the main table (ret is an array, free() it). */
int nl_route_list4(struct nl *nl, struct nl_route **ret, size_t *ret_n, struct err **errp);

/* Neighbours (permanent ARP/ND entries) and bridge FDB entries, for the overlay driver. */
int nl_neigh_add(struct nl *nl, const char *ifname, const struct nl_ip *ip,
                 const uint8_t mac[NL_MAC_LEN], struct err **errp);
int nl_neigh_del(struct nl *nl, const char *ifname, const struct nl_ip *ip, struct err **errp);
/* FDB entry on a vxlan device: frames for mac go to the VTEP dst. */
int nl_fdb_add(struct nl *nl, const char *ifname, const uint8_t mac[NL_MAC_LEN],
               const struct nl_ip *dst, struct err **errp);
int nl_fdb_del(struct nl *nl, const char *ifname, const uint8_t mac[NL_MAC_LEN],
               const struct nl_ip *dst, struct err **errp);

/* Helpers. */
/* 1..15 printable characters, none of / : " \ or space. */
bool nl_ifname_valid(const char *name);
int nl_ip_parse(const char *s, struct nl_ip *ret);
/* "02:42:ac:11:00:02" <-> bytes. */
int nl_mac_parse(const char *s, uint8_t ret[NL_MAC_LEN]);
void nl_mac_format(const uint8_t mac[NL_MAC_LEN], char buf[18]);
