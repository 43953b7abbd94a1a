/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay driver: a local bridge per network, like the bridge driver, plus a VXLAN device
 * enslaved to it. Learning is off and ARP is proxied: the caller programs every remote endpoint
 * as an FDB entry (MAC -> remote VTEP) and a permanent neighbour (IP -> MAC), so neither ARP
 * broadcasts nor unknown unicast ever cross the underlay. The gateway address exists on every
 * host's bridge (for the embedded DNS) without conflicts, since broadcasts stay local. */
#include <arpa/inet.h>
#include <stdio.h>

#include "cleanup.h"
#include "net/net.h"

void net_overlay_ifname(const struct net_network *n, char buf[16]) {
        snprintf(buf, 16, "vx-%.12s", n->id);
}

static struct nl_ip ip4(uint32_t host_order) {
        struct nl_ip ip = {.family = AF_INET};

        ip.v4.s_addr = htonl(host_order);
        return ip;
}

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

        created = net_bridge_ops.create(nl, n, errp);
        if (created < 0)
                return created;
        net_overlay_ifname(n, name);
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

static int overlay_remove(struct nl *nl, const struct net_network *n, struct err **errp) {
        char name[16];
        int r;

        net_overlay_ifname(n, name);
        r = nl_link_del(nl, name, errp);
        if (r < 0)
                return err_wrap(errp, "remove overlay network '%s'", n->name);
        return net_bridge_ops.remove(nl, n, errp);
}

/* Service VIPs are reached through the gateway (the host DNATs them to a replica, local or
 * remote). Egress: with this host's own address on the network, the default route goes
 * through it (an existing one, from a network connected before, is kept). That address is on
 * the local bridge only and no peer entry names it, so its ARP is answered on the local
 * bridge and the traffic never crosses VXLAN; the host masquerades it out (engine/net/nft.c).
 * Without one, the network stays east-west only. */
static int overlay_connect(struct nl *nl, const struct net_network *n,
                           const struct net_endpoint *ep, int netns_fd, struct err **errp) {
        struct nl_ip dst = ip4(NET_OVERLAY_SERVICE_RANGE), gw = ip4(n->ipam.gateway);
        struct nl_ip self = ip4(n->node_ip), def = {.family = AF_INET};
        _cleanup_nl_ struct nl *cnl = NULL;
        int r;

        r = net_bridge_ops.connect(nl, n, ep, netns_fd, errp);
        if (r < 0)
                return r;
        r = nl_open_netns(netns_fd, &cnl, errp);
        if (r >= 0)
                r = nl_route_add(cnl, &dst, NET_OVERLAY_SERVICE_PREFIX, &gw, NULL, errp);
        if (r < 0) {
                (void)net_bridge_ops.disconnect(nl, n, ep, NULL);
                return err_wrap(errp, "connect '%s' to network '%s': service route", ep->id,
                                n->name);
        }
        if (net_overlay_egress(n)) {
                r = nl_route_add(cnl, &def, 0, &self, NULL, errp);
                if (r < 0) {
                        (void)net_bridge_ops.disconnect(nl, n, ep, NULL);
                        return err_wrap(errp, "connect '%s' to network '%s': default route", ep->id,
                                        n->name);
                }
        }
        return 1;
}

static int overlay_disconnect(struct nl *nl, const struct net_network *n,
                              const struct net_endpoint *ep, struct err **errp) {
        return net_bridge_ops.disconnect(nl, n, ep, errp);
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
