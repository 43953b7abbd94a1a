/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "net/ipam.h"
#include "net/nl.h"

/* Networks and endpoints (net_*), independent of the driver that realises them. */

enum net_driver {
        NET_DRIVER_BRIDGE,
        NET_DRIVER_OVERLAY,
        _NET_DRIVER_MAX,
        _NET_DRIVER_INVALID = -EINVAL,
};
const char *net_driver_to_string(enum net_driver d);
enum net_driver net_driver_from_string(const char *s);

#define NET_DEFAULT_NAME "bridge"
#define NET_DEFAULT_IFNAME "berth0"
#define NET_DEFAULT_ROOT "/var/lib/berth"
#define NET_INSTANCE_MAX 16 /* with the NUL; also an interface name */
#define NET_ID_LEN 64

/* The name of a daemon root's kernel objects, so that daemons with different roots on one host
 * own disjoint objects: "berth" for NET_DEFAULT_ROOT (docker's layout: bridge berth0, tables
 * `ip berth`/`bridge berth`), otherwise "berth-" + 8 hex digits of the FNV-1a hash of the root
 * path without trailing slashes (bridge and tables both named so). */
void net_instance_name(const char *root, char buf[NET_INSTANCE_MAX]);
/* The default network's bridge device of an instance: "berth0" for "berth", else the instance
 * name itself. */
void net_instance_bridge(const char *instance, char buf[NET_INSTANCE_MAX]);
#define NET_MAX_OPTIONS 64

struct net_network {
        char *name;
        char *id;     /* 64 hex characters */
        char *ifname; /* bridge device: "br-<12 hex of id>", "berth0" for the default network */
        enum net_driver driver;
        bool internal; /* no route out, no published ports */
        bool icc;      /* containers of the network may talk to each other (default true) */
        uint32_t mtu;  /* 0 = kernel default (1500) */
        struct ipam ipam;
        /* overlay only */
        uint32_t vni;   /* VXLAN network identifier, the same on every host */
        uint32_t vtep;  /* this host's underlay address (host order) */
        char *vtep_dev; /* underlay device, NULL = routed by the kernel */
        /* This host's own address on the network (0 = none), from the controller: a second
         * address of the bridge, whose MAC is derived from it (unique per host), and the
         * source address of service VIP traffic leaving on the network, so that a remote
         * replica's replies come back through this host's conntrack. */
        uint32_t node_ip;
        /* The overlay's data path (net_overlay_ops): true = the containers' interfaces are
         * macvlan (bridge mode) children of the VXLAN device and this host's addresses are on
         * one more child named ifname (no veth, no bridge, so no br_netfilter on the way);
         * false = a bridge named ifname with the VXLAN device and one veth per container as
         * ports (icc=false networks, the `berth.overlay.datapath=bridge` option, and networks
         * created before the macvlan path existed). */
        bool macvlan;
};

/* Egress of an overlay network (internal otherwise): with this host's own address on it, its
 * containers route out through that address (default route, masqueraded out of the host) and
 * may publish ports on the host, like a bridge network's. */
bool net_overlay_egress(const struct net_network *n);
/* Whether containers of the network reach outside it: not internal, or an overlay with egress. */
bool net_routes_out(const struct net_network *n);

struct net_endpoint {
        char *id;          /* the owner (container) id */
        char *host_ifname; /* host end of the veth pair, derived from network and endpoint ids */
        char *ifname;      /* name inside the container: eth0, eth1 ... */
        uint32_t ip;       /* host order */
        uint8_t mac[NL_MAC_LEN];
};

/* What the API receives for `network create`. */
struct net_create_opts {
        const char *name;
        const char *driver;   /* NULL = bridge */
        const char *subnet;   /* NULL = pick from the pools */
        const char *gateway;  /* NULL = first host address */
        const char *ip_range; /* NULL = whole subnet */
        bool internal;
        bool is_default;      /* the default network: device berth0, first pool subnet */
        char *const *options; /* "key=value": com.docker.network.driver.mtu,
                                 com.docker.network.bridge.enable_icc */
        /* overlay only: VNI (1..16777215), this host's VTEP address and underlay device */
        uint32_t vni;
        const char *vtep_local;
        const char *vtep_dev;
        const char *node_ip; /* this host's address on the network (net_network.node_ip) */
        /* the default network's bridge device; NULL = NET_DEFAULT_IFNAME */
        const char *default_ifname;
};

/* Everything a new network must not collide with. */
struct net_context {
        struct net_network *const *networks; /* existing berth networks */
        size_t n_networks;
        const struct ipam_subnet *host; /* host routes (ipam_host_subnets) */
        size_t n_host;
        const struct ipam_pool *pools; /* NULL = ipam_default_pools */
        size_t n_pools;
};

/* Validates the options and builds the network record (no kernel changes). Errors name the
 * argument or option. */
int net_network_new(const struct net_create_opts *o, const struct net_context *ctx,
                    struct net_network **ret, struct err **errp);
struct net_network *net_network_free(struct net_network *n);
void net_network_freep(struct net_network **n);
#define _cleanup_net_network_ _cleanup_(net_network_freep)

/* Persistence: <root>/networks/<name>.json, versioned, written atomically. */
#define NET_STATE_VERSION 1
json_t *net_network_to_json(const struct net_network *n);
int net_network_from_json(const json_t *j, struct net_network **ret, struct err **errp);
int net_network_save(const char *root, const struct net_network *n, struct err **errp);
int net_network_load(const char *root, const char *name, struct net_network **ret,
                     struct err **errp);
/* Loads every network of root, sorted by name. */
int net_network_load_all(const char *root, struct net_network ***ret, size_t *ret_n,
                         struct err **errp);
void net_network_list_free(struct net_network **l, size_t n);
/* Returns 1 if removed, 0 if there was no file. */
int net_network_remove_state(const char *root, const char *name, struct err **errp);

/* Allocates the endpoint's address (requested_ip NULL = next free) and MAC (requested_mac NULL =
 * 02:42 followed by the IPv4 address, like docker) in n->ipam. */
int net_endpoint_new(struct net_network *n, const char *id, const char *ifname,
                     const char *requested_ip, const char *requested_mac, struct net_endpoint **ret,
                     struct err **errp);
struct net_endpoint *net_endpoint_free(struct net_endpoint *ep);
void net_endpoint_freep(struct net_endpoint **ep);
#define _cleanup_net_endpoint_ _cleanup_(net_endpoint_freep)
/* The host-side veth name for (network, endpoint): "vb" + 8 hex digits, stable across restarts
 * so that teardown after a crash finds it. */
void net_host_ifname(const char *net_id, const char *ep_id, char buf[16]);

/* Driver interface (STYLE C15). Every operation is idempotent (STYLE C9): create/connect return
 * 1 when they changed something and 0 when it was already in place; remove/disconnect return 1
 * when they removed something and 0 when it was already gone. */
struct net_driver_ops {
        const char *name;
        int (*create)(struct nl *nl, const struct net_network *n, struct err **errp);
        int (*remove)(struct nl *nl, const struct net_network *n, struct err **errp);
        /* netns_fd: the container's network namespace. */
        int (*connect)(struct nl *nl, const struct net_network *n, const struct net_endpoint *ep,
                       int netns_fd, struct err **errp);
        int (*disconnect)(struct nl *nl, const struct net_network *n, const struct net_endpoint *ep,
                          struct err **errp);
};
extern const struct net_driver_ops net_bridge_ops;
/* overlay = a bridge network (always internal: east-west only) plus a VXLAN port; remote
 * endpoints are programmed as peers (FDB + proxied ARP entries) by the caller, who learns them
 * from the controller. */
extern const struct net_driver_ops net_overlay_ops;
struct net_overlay_peer {
        uint32_t vtep; /* remote host's underlay address (host order) */
        uint32_t ip;   /* remote endpoint address (host order) */
        uint8_t mac[NL_MAC_LEN];
};
/* The service VIP range an overlay endpoint routes through its gateway (overlay networks have
 * no default route): the controller's VIP_RANGE (orchestrator/vip.h). */
#define NET_OVERLAY_SERVICE_RANGE 0x0a600000u
#define NET_OVERLAY_SERVICE_PREFIX 16
/* The UDP port of every overlay network's VXLAN device (IANA's). */
#define NET_OVERLAY_VXLAN_PORT 4789
/* The option that picks an overlay network's data path: "macvlan" (the default unless
 * icc=false) or "bridge". */
#define NET_OVERLAY_DATAPATH_OPT "berth.overlay.datapath"
/* The VXLAN device of an overlay network: "vx-<12 hex of id>". */
void net_overlay_ifname(const struct net_network *n, char buf[16]);
/* Takes the endpoint's interface out of the container's namespace netns_fd on a macvlan-path
 * overlay network (the driver's disconnect cannot: nothing of it is on the host). Returns 1 if
 * removed, 0 if it was already gone; EEXIST if that name is not a macvlan. */
int net_overlay_unplug(const struct net_network *n, const struct net_endpoint *ep, int netns_fd,
                       struct err **errp);
int net_overlay_peer_add(struct nl *nl, const struct net_network *n,
                         const struct net_overlay_peer *p, struct err **errp);
int net_overlay_peer_del(struct nl *nl, const struct net_network *n,
                         const struct net_overlay_peer *p, struct err **errp);
/* The ops of a driver; never NULL for a valid enum value. */
const struct net_driver_ops *net_driver_ops(enum net_driver d);

/* Writes a sysctl under /proc/sys (path relative to it, e.g. "net/ipv4/ip_forward"). Returns 1
 * if the value changed, 0 if it already had it. */
/* The host's interface on network n (n->ifname: a bridge, or an overlay's macvlan child): its
 * MAC pinned to 02:42:<node address or gateway>, the gateway (and node) addresses, up; IPv4
 * forwarding and route_localnet when the network routes out (the first such network turns
 * forwarding on and berth never turns it off, as docker; published ports reached through
 * 127.0.0.1 are DNAT'ed to this interface, which the kernel only routes with route_localnet). */
int net_host_iface_setup(struct nl *nl, const struct net_network *n, struct err **errp);
int net_sysctl_write(const char *path, const char *value, struct err **errp);
