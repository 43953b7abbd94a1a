/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay driver: one VXLAN device per network and host. Learning is off and ARP is
 * proxied: the caller programs every remote endpoint as an FDB entry (MAC -> remote VTEP) and a
 * permanent neighbour (IP -> MAC), so neither ARP broadcasts nor unknown unicast ever cross the
 * underlay. The gateway address exists on every host (for the embedded DNS) without conflicts,
 * since broadcasts stay local.
 *
 * Two data paths (net_network.macvlan; docs/networking.md "Overlay driver" says why):
 * - macvlan (the default): every container's interface is a macvlan child (bridge mode) of the
 *   VXLAN device, born in the container's namespace; the host's gateway and node addresses are
 *   on one more child in the host's namespace, named like the bridge would be. Frames between
 *   containers and the VXLAN device cross no veth, no bridge and no host netfilter hook.
 * - bridge (icc=false, or asked for): a bridge network (bridge.c) with the VXLAN device as a
 *   port. */
#include <arpa/inet.h>
#include <stdio.h>

#include "cleanup.h"
#include "net/net.h"
#include "strv.h"
#include "xalloc.h"

void net_overlay_ifname(const struct net_network *n, char buf[16]) {
        snprintf(buf, 16, "vx-%.12s", n->id);
}

static struct nl_ip ip4(uint32_t host_order) {
        struct nl_ip ip = {.family = AF_INET};

        ip.v4.s_addr = htonl(host_order);
        return ip;
}

/* The host's side of a macvlan-path network: one more child of the VXLAN device named like
 * the bridge would be (so the firewall's rules, the DNS server and route_localnet name it the
 * same way), with the gateway and this host's own address, up; IPv4 forwarding and
 * route_localnet as the bridge driver sets them for a network that routes out. Its MAC comes
 * from the node address (unique across hosts) or the gateway, like an overlay bridge's. */
static int overlay_host_child(struct nl *nl, const struct net_network *n, const char *vx,
                              struct err **errp) {
        int r = nl_link_add_macvlan(nl, n->ifname, vx, -1, n->mtu, NULL, errp);

        return r < 0 ? r : net_host_iface_setup(nl, n, errp);
}

/* bridge path: the bridge network, then the VXLAN device as one of its ports. macvlan path:
 * the VXLAN device, up, then the host's child on it. */
static int overlay_create(struct nl *nl, const struct net_network *n, struct err **errp) {
        struct nl_vxlan vx = {.vni = n->vni,
                              .local = ip4(n->vtep),
                              .dev = n->vtep_dev,
                              .mtu = n->mtu,
                              .port = NET_OVERLAY_VXLAN_PORT,
                              .learning = false,
                              .proxy = true};
        char name[16];
        int created, r;

        net_overlay_ifname(n, name);
        if (n->macvlan) {
                created = nl_link_add_vxlan(nl, name, &vx, errp);
                if (created < 0)
                        return err_wrap(errp, "overlay network '%s'", n->name);
                r = nl_link_set_up(nl, name, true, errp);
                if (r >= 0)
                        r = overlay_host_child(nl, n, name, errp);
                if (r < 0) {
                        /* The VXLAN device takes its children with it. */
                        if (created > 0)
                                (void)nl_link_del(nl, name, NULL);
                        return err_wrap(errp, "overlay network '%s'", n->name);
                }
                return created;
        }
        created = net_bridge_ops.create(nl, n, errp);
        if (created < 0)
                return created;
        r = nl_link_add_vxlan(nl, name, &vx, errp);
        if (r >= 0)
                r = nl_link_set_master(nl, name, n->ifname, errp);
        if (r >= 0)
                r = nl_link_set_up(nl, name, true, errp);
        if (r < 0) {
                if (created > 0) {
                        (void)nl_link_del(nl, name, NULL);
                        (void)nl_link_del(nl, n->ifname, NULL);
                }
                return err_wrap(errp, "overlay network '%s'", n->name);
        }
        return created;
}

/* Deleting the VXLAN device also deletes every macvlan child of it, the containers' ones in
 * their namespaces included. */
static int overlay_remove(struct nl *nl, const struct net_network *n, struct err **errp) {
        char name[16];
        int r, r2;

        net_overlay_ifname(n, name);
        r = nl_link_del(nl, name, errp);
        if (r < 0)
                return err_wrap(errp, "remove overlay network '%s'", n->name);
        if (n->macvlan) {
                r2 = nl_link_del(nl, n->ifname, errp);
                if (r2 < 0)
                        return err_wrap(errp, "remove overlay network '%s'", n->name);
                return r > 0 || r2 > 0;
        }
        return net_bridge_ops.remove(nl, n, errp);
}

/* The container's interface on the macvlan path: a child of the VXLAN device born in the
 * container's namespace with the endpoint's name, MAC and MTU, then its address. */
static int overlay_plug(struct nl *nl, struct nl *cnl, const struct net_network *n,
                        const struct net_endpoint *ep, int netns_fd, struct err **errp) {
        struct nl_ip ip = ip4(ep->ip);
        char vx[16];
        int r;

        r = nl_link_exists(cnl, ep->ifname, errp);
        if (r < 0)
                return r;
        if (r > 0)
                return err_setx(errp, EEXIST, "interface '%s' already exists in the container",
                                ep->ifname);
        net_overlay_ifname(n, vx);
        r = nl_link_add_macvlan(nl, ep->ifname, vx, netns_fd, n->mtu, ep->mac, errp);
        if (r < 0)
                return r;
        r = nl_addr_add(cnl, ep->ifname, &ip, n->ipam.subnet.len, errp);
        if (r >= 0)
                r = nl_link_set_up(cnl, ep->ifname, true, errp);
        if (r >= 0)
                r = nl_link_set_up(cnl, "lo", true, errp);
        if (r < 0)
                (void)nl_link_del(cnl, ep->ifname, NULL);
        return r;
}

/* Service VIPs are reached through the gateway (the host DNATs them to a replica, local or
 * remote). Egress: with this host's own address on the network, the default route goes
 * through it (an existing one, from a network connected before, is kept). That address is on
 * the local bridge (or the host's macvlan child) only and no peer entry names it, so its ARP
 * is answered locally and the traffic never crosses VXLAN; the host masquerades it out
 * (engine/net/nft.c). Without one, the network stays east-west only. */
static int overlay_connect(struct nl *nl, const struct net_network *n,
                           const struct net_endpoint *ep, int netns_fd, struct err **errp) {
        struct nl_ip dst = ip4(NET_OVERLAY_SERVICE_RANGE), gw = ip4(n->ipam.gateway);
        struct nl_ip self = ip4(n->node_ip), def = {.family = AF_INET};
        _cleanup_nl_ struct nl *cnl = NULL;
        int r;

        r = nl_open_netns(netns_fd, &cnl, errp);
        if (r < 0)
                return err_wrap(errp, "connect '%s' to network '%s'", ep->id, n->name);
        if (n->macvlan) {
                r = overlay_plug(nl, cnl, n, ep, netns_fd, errp);
                if (r < 0)
                        return err_wrap(errp, "connect '%s' to network '%s'", ep->id, n->name);
        } else {
                r = net_bridge_ops.connect(nl, n, ep, netns_fd, errp);
                if (r < 0)
                        return r;
        }
        r = nl_route_add(cnl, &dst, NET_OVERLAY_SERVICE_PREFIX, &gw, NULL, errp);
        if (r >= 0 && net_overlay_egress(n))
                r = nl_route_add(cnl, &def, 0, &self, NULL, errp);
        if (r < 0) {
                if (n->macvlan)
                        (void)nl_link_del(cnl, ep->ifname, NULL);
                else
                        (void)net_bridge_ops.disconnect(nl, n, ep, NULL);
                return err_wrap(errp, "connect '%s' to network '%s': routes", ep->id, n->name);
        }
        return 1;
}

/* On the macvlan path the host has nothing of the endpoint: its interface is in the
 * container's namespace and goes with it (net_overlay_unplug() takes it out of a namespace
 * that lives on). */
static int overlay_disconnect(struct nl *nl, const struct net_network *n,
                              const struct net_endpoint *ep, struct err **errp) {
        if (n->macvlan)
                return 0;
        return net_bridge_ops.disconnect(nl, n, ep, errp);
}

int net_overlay_unplug(const struct net_network *n, const struct net_endpoint *ep, int netns_fd,
                       struct err **errp) {
        _cleanup_nl_ struct nl *cnl = NULL;
        char kind[32];
        int r;

        if (n->driver != NET_DRIVER_OVERLAY || !n->macvlan)
                return err_setx(errp, EINVAL, "network '%s' has no macvlan data path", n->name);
        r = nl_open_netns(netns_fd, &cnl, errp);
        if (r >= 0)
                r = nl_link_exists(cnl, ep->ifname, errp);
        if (r > 0) {
                /* Only the interface this network made: never another one of that name. */
                r = nl_link_kind(cnl, ep->ifname, kind, sizeof(kind), errp);
                if (r >= 0 && !streq(kind, "macvlan"))
                        return err_setx(errp, EEXIST,
                                        "disconnect '%s' from network '%s': '%s' in the "
                                        "container is a %s, not the network's macvlan",
                                        ep->id, n->name, ep->ifname, kind[0] ? kind : "device");
                if (r >= 0)
                        r = nl_link_del(cnl, ep->ifname, errp);
        }
        if (r < 0)
                return err_wrap(errp, "disconnect '%s' from network '%s'", ep->id, n->name);
        return r;
}

const struct net_driver_ops net_overlay_ops = {
        .name = "overlay",
        .create = overlay_create,
        .remove = overlay_remove,
        .connect = overlay_connect,
        .disconnect = overlay_disconnect,
};

static int overlay_check(const struct net_network *n, const struct net_overlay_peer *p,
                         struct err **errp) {
        char ip[16], net[19];

        if (n->driver != NET_DRIVER_OVERLAY)
                return err_setx(errp, EINVAL, "network '%s' is not an overlay network", n->name);
        if (!ipam_contains(&n->ipam.subnet, p->ip)) {
                ipam_ip_format(p->ip, ip);
                ipam_cidr_format(&n->ipam.subnet, net);
                return err_setx(errp, EINVAL, "peer address %s is not in subnet '%s'", ip, net);
        }
        if (p->mac[0] & 1)
                return err_setx(errp, EINVAL, "peer MAC must be unicast");
        return 0;
}

int net_overlay_peer_add(struct nl *nl, const struct net_network *n,
                         const struct net_overlay_peer *p, struct err **errp) {
        struct nl_ip vtep = ip4(p->vtep), ip = ip4(p->ip);
        char name[16];
        int r;

        r = overlay_check(n, p, errp);
        if (r < 0)
                return r;
        net_overlay_ifname(n, name);
        r = nl_fdb_add(nl, name, p->mac, &vtep, errp);
        if (r >= 0)
                r = nl_neigh_add(nl, name, &ip, p->mac, errp);
        if (r < 0)
                return err_wrap(errp, "overlay network '%s': add peer", n->name);
        return 1;
}

int net_overlay_peer_del(struct nl *nl, const struct net_network *n,
                         const struct net_overlay_peer *p, struct err **errp) {
        struct nl_ip vtep = ip4(p->vtep), ip = ip4(p->ip);
        char name[16];
        int r, r2;

        r = overlay_check(n, p, errp);
        if (r < 0)
                return r;
        net_overlay_ifname(n, name);
        r = nl_neigh_del(nl, name, &ip, errp);
        if (r < 0)
                return err_wrap(errp, "overlay network '%s': delete peer", n->name);
        r2 = nl_fdb_del(nl, name, p->mac, &vtep, errp);
        if (r2 < 0)
                return err_wrap(errp, "overlay network '%s': delete peer", n->name);
        return r > 0 || r2 > 0;
}
