/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge driver: one Linux bridge per network, one veth pair per endpoint. */
#include <arpa/inet.h>
#include <string.h>

#include "cleanup.h"
#include "net/net.h"
#include "xalloc.h"

static struct nl_ip ip4(uint32_t host_order) {
        struct nl_ip ip = {.family = AF_INET};

        ip.v4.s_addr = htonl(host_order);
        return ip;
}

int net_host_iface_setup(struct nl *nl, const struct net_network *n, struct err **errp) {
        _cleanup_free_ char *rl = NULL;
        struct nl_ip gw = ip4(n->ipam.gateway), self = ip4(n->node_ip);
        /* An overlay's MAC comes from this host's own address on the network (unique across
         * hosts, the gateway is not); others from the gateway. */
        uint32_t macip = n->node_ip ? n->node_ip : n->ipam.gateway;
        /* A bridge whose address was never set takes the lowest MAC of its ports, so removing
         * a container's veth could change the gateway's MAC under every other container's ARP
         * cache (their routed traffic, DNS and VIPs included, stalls until the entry expires).
         * Pinned, like the endpoints' 02:42:<ip> addresses, to the gateway's address. */
        uint8_t mac[NL_MAC_LEN] = {0x02,
                                   0x42,
                                   (uint8_t)(macip >> 24),
                                   (uint8_t)(macip >> 16),
                                   (uint8_t)(macip >> 8),
                                   (uint8_t)macip};
        int r;

        r = nl_link_set_mac(nl, n->ifname, mac, errp);
        if (r >= 0)
                r = nl_addr_add(nl, n->ifname, &gw, n->ipam.subnet.len, errp);
        if (r >= 0 && n->node_ip)
                r = nl_addr_add(nl, n->ifname, &self, n->ipam.subnet.len, errp);
        if (r >= 0)
                r = nl_link_set_up(nl, n->ifname, true, errp);
        if (r >= 0 && net_routes_out(n)) {
                r = net_sysctl_write("net/ipv4/ip_forward", "1", errp);
                if (r >= 0) {
                        rl = xasprintf("net/ipv4/conf/%s/route_localnet", n->ifname);
                        r = net_sysctl_write(rl, "1", errp);
                }
        }
        return r;
}

/* Creates the bridge, gives it the gateway address and brings it up. */
static int bridge_create(struct nl *nl, const struct net_network *n, struct err **errp) {
        int r, created;

        created = nl_link_add_bridge(nl, n->ifname, n->mtu, errp);
        if (created < 0)
                return err_wrap(errp, "network '%s'", n->name);
        r = net_host_iface_setup(nl, n, errp);
        if (r < 0) {
                if (created > 0)
                        (void)nl_link_del(nl, n->ifname, NULL);
                return err_wrap(errp, "network '%s'", n->name);
        }
        return created;
}

/* Deleting the bridge takes its address and routes with it. Endpoints still attached lose
 * their uplink; the daemon disconnects them first. */
static int bridge_remove(struct nl *nl, const struct net_network *n, struct err **errp) {
        int r = nl_link_del(nl, n->ifname, errp);

        if (r < 0)
                return err_wrap(errp, "remove network '%s'", n->name);
        return r;
}

/* The pair is made by nl_veth_connect: both ends born up, the host end in the bridge, the
 * container side's address, lo and default route in one batch. Internal networks have no way
 * out: no default route (an existing one, from the first network connected, is kept). */
static int bridge_connect(struct nl *nl, const struct net_network *n, const struct net_endpoint *ep,
                          int netns_fd, struct err **errp) {
        _cleanup_nl_ struct nl *cnl = NULL;
        struct nl_ip gw = ip4(n->ipam.gateway);
        int r;

        r = nl_open_netns(netns_fd, &cnl, errp);
        if (r >= 0)
                r = nl_veth_connect(nl, cnl,
                                    &(struct nl_veth_opts){.name = ep->host_ifname,
                                                           .peer = ep->ifname,
                                                           .peer_netns_fd = netns_fd,
                                                           .master = n->ifname,
                                                           .mtu = n->mtu,
                                                           .peer_mac = ep->mac,
                                                           .addr = ip4(ep->ip),
                                                           .prefixlen = n->ipam.subnet.len,
                                                           .gw = n->internal ? NULL : &gw},
                                    errp);
        if (r < 0)
                return err_wrap(errp, "connect '%s' to network '%s'", ep->id, n->name);
        return 1;
}

/* Deleting the host end is enough: the kernel removes the peer with it, and nothing waits for
 * the container's namespace to be torn down. */
static int bridge_disconnect(struct nl *nl, const struct net_network *n,
                             const struct net_endpoint *ep, struct err **errp) {
        int r = nl_link_del(nl, ep->host_ifname, errp);

        if (r < 0)
                return err_wrap(errp, "disconnect '%s' from network '%s'", ep->id, n->name);
        return r;
}

const struct net_driver_ops net_bridge_ops = {
        .name = "bridge",
        .create = bridge_create,
        .remove = bridge_remove,
        .connect = bridge_connect,
        .disconnect = bridge_disconnect,
};
