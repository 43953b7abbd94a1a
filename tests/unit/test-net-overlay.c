/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay driver between two "hosts" (root): this process's private namespace and a second
 * namespace joined by a veth underlay; two containers on the first, one on the second. Both
 * data paths: macvlan children of the VXLAN device (the default) and the bridge. */
#include "cleanup.h"
#include "json.h"
#include "net-test.h"
#include "net/net.h"
#include "net/nft.h"
#include "net/nl.h"
#include "tap.h"

static void two_hosts(bool macvlan) {
        _cleanup_nl_ struct nl *nl = NULL, *nl2 = NULL;
        _cleanup_net_network_ struct net_network *n1 = NULL, *n2 = NULL;
        _cleanup_net_endpoint_ struct net_endpoint *a = NULL, *b = NULL, *c = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int h2 = -EBADF, ca = -EBADF, cb = -EBADF, cc = -EBADF;
        char *bridge_opts[] = {"berth.overlay.datapath=bridge", NULL};
        struct net_overlay_peer pa, pb;
        char vx[16], cmd[512];

        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root for private network namespaces");
        h2 = nt_new_netns();
        ca = nt_new_netns();
        cb = nt_new_netns();
        cc = nt_new_netns();
        ASSERT_TRUE(h2 >= 0 && ca >= 0 && cb >= 0 && cc >= 0);
        ASSERT_OK(nl_open(&nl, NULL));
        ASSERT_OK(nl_open_netns(h2, &nl2, NULL));
        ASSERT_EQ(nl_link_add_veth(nl, "ul0", "ul0", h2, 0, NULL, NULL), 1);
        ASSERT_EQ(nt_sh(-1, "ip addr add 192.168.77.1/24 dev ul0 && ip link set ul0 up"), 0);
        ASSERT_EQ(nt_sh(h2, "ip addr add 192.168.77.2/24 dev ul0 && ip link set ul0 up && "
                            "ip link set lo up"),
                  0);

        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "ov",
                                                            .driver = "overlay",
                                                            .subnet = "10.77.0.0/24",
                                                            .options = macvlan ? NULL : bridge_opts,
                                                            .vni = 4100,
                                                            .vtep_local = "192.168.77.1",
                                                            .vtep_dev = "ul0"},
                                  &(struct net_context){}, &n1, &e));
        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "ov",
                                                            .driver = "overlay",
                                                            .subnet = "10.77.0.0/24",
                                                            .options = macvlan ? NULL : bridge_opts,
                                                            .vni = 4100,
                                                            .vtep_local = "192.168.77.2",
                                                            .vtep_dev = "ul0"},
                                  &(struct net_context){}, &n2, &e));
        ASSERT_TRUE(n1->internal);
        ASSERT_EQ(n1->mtu, 1450);
        ASSERT_EQ(n1->macvlan, macvlan);
        /* only internal networks here: forwarding stays off */
        ASSERT_EQ(nt_sh(-1, "echo 0 > /proc/sys/net/ipv4/ip_forward"), 0);
        ASSERT_EQ(net_overlay_ops.create(nl, n1, &e), 1);
        ASSERT_EQ(net_overlay_ops.create(nl, n1, &e), 0);
        ASSERT_EQ(net_overlay_ops.create(nl2, n2, &e), 1);
        ASSERT_EQ(nt_sh(-1, "test $(cat /proc/sys/net/ipv4/ip_forward) = 0"), 0);
        net_overlay_ifname(n1, vx);
        snprintf(cmd, sizeof(cmd),
                 "ip -d link show %s | grep -q 'vxlan id 4100 local 192.168.77.1 dev ul0' && "
                 "ip -d link show %s | grep -q 'nolearning proxy' && "
                 "ip link show %s | grep -q ',UP'",
                 vx, vx, vx);
        ASSERT_EQ(nt_sh(-1, cmd), 0);
        if (macvlan)
                /* the host's addresses are on a macvlan child of the VXLAN device; no bridge */
                snprintf(cmd, sizeof(cmd),
                         "ip -d -o link show %s | grep -q '@%s: .*mtu 1450 .*macvlan mode "
                         "bridge' && ip -o addr show %s | grep -q 'inet 10.77.0.1/24' && "
                         "! ip -o link show type bridge | grep -q .",
                         n1->ifname, vx, n1->ifname);
        else
                snprintf(cmd, sizeof(cmd), "ip link show %s | grep -q 'master %s'", vx, n1->ifname);
        ASSERT_EQ(nt_sh(-1, cmd), 0);

        ASSERT_OK(net_endpoint_new(n1, "ca", "eth0", NULL, NULL, &a, &e));
        ASSERT_OK(net_endpoint_new(n1, "cc", "eth0", NULL, NULL, &c, &e));
        ASSERT_OK(net_endpoint_new(n2, "cb", "eth0", "10.77.0.9", NULL, &b, &e));
        ASSERT_EQ(net_overlay_ops.connect(nl, n1, a, ca, &e), 1);
        ASSERT_EQ(net_overlay_ops.connect(nl, n1, c, cc, &e), 1);
        ASSERT_EQ(net_overlay_ops.connect(nl2, n2, b, cb, &e), 1);
        ASSERT_EQ(nt_sh(ca, "ip link show eth0 | grep -q 'mtu 1450'"), 0);
        ASSERT_EQ(nt_sh(ca, "ip route | grep -q '10.96.0.0/16 via 10.77.0.1'"), 0);
        ASSERT_EQ(nt_sh(ca, macvlan ? "ip -d link show eth0 | grep -q 'macvlan mode bridge'"
                                    : "ip -d link show eth0 | grep -q 'veth'"),
                  0);
        /* a second connect of the same interface name is refused, nothing changed */
        ASSERT_ERR(net_overlay_ops.connect(nl, n1, a, ca, &e), EEXIST);
        e = err_free(e);

        /* same host: container to container and to the gateway (the host) */
        ASSERT_TRUE(nt_connects(cc, ca, "10.77.0.2", 7100, 3000));
        ASSERT_TRUE(nt_connects(ca, -1, "10.77.0.1", 7101, 3000));

        /* without peers nothing crosses the underlay */
        ASSERT_FALSE(nt_connects(ca, cb, "10.77.0.9", 7102, 500));

        pa = (struct net_overlay_peer){.vtep = 0xc0a84d02u, .ip = b->ip};
        memcpy(pa.mac, b->mac, NL_MAC_LEN);
        pb = (struct net_overlay_peer){.vtep = 0xc0a84d01u, .ip = a->ip};
        memcpy(pb.mac, a->mac, NL_MAC_LEN);
        ASSERT_EQ(net_overlay_peer_add(nl, n1, &pa, &e), 1);
        ASSERT_EQ(net_overlay_peer_add(nl2, n2, &pb, &e), 1);
        ASSERT_EQ(net_overlay_peer_add(nl2, n2, &pb, &e), 1); /* replace: idempotent */
        ASSERT_TRUE(nt_connects(ca, cb, "10.77.0.9", 7103, 3000));
        ASSERT_TRUE(nt_connects(cb, ca, "10.77.0.2", 7104, 3000));
        /* cc has no peer entry on host 2: the reply cannot come back */
        ASSERT_FALSE(nt_connects(cc, cb, "10.77.0.9", 7105, 500));

        /* bad peers are refused */
        pa.ip = 0x0a780003u;
        ASSERT_ERR(net_overlay_peer_add(nl, n1, &pa, &e), EINVAL);
        ASSERT_STREQ(e->msg, "peer address 10.120.0.3 is not in subnet '10.77.0.0/24'");
        e = err_free(e);
        pa.ip = b->ip;

        ASSERT_EQ(net_overlay_peer_del(nl, n1, &pa, &e), 1);
        ASSERT_EQ(net_overlay_peer_del(nl, n1, &pa, &e), 0);
        if (macvlan) {
                /* nothing of the endpoint on the host: it is taken out of the container */
                ASSERT_EQ(net_overlay_ops.disconnect(nl, n1, a, &e), 0);
                ASSERT_EQ(net_overlay_unplug(n1, a, ca, &e), 1);
                ASSERT_EQ(net_overlay_unplug(n1, a, ca, &e), 0);
                ASSERT_EQ(nt_sh(ca, "! ip link show eth0 2>/dev/null"), 0);
                /* another interface of that name is never taken */
                ASSERT_EQ(nt_sh(ca, "ip link add eth0 type veth peer name eth1"), 0);
                ASSERT_ERR(net_overlay_unplug(n1, a, ca, &e), EEXIST);
                e = err_free(e);
                ASSERT_EQ(nt_sh(ca, "ip link del eth0"), 0);
                /* the other containers' interfaces go with the VXLAN device */
        } else {
                ASSERT_EQ(net_overlay_ops.disconnect(nl, n1, a, &e), 1);
                ASSERT_EQ(net_overlay_ops.disconnect(nl, n1, c, &e), 1);
                ASSERT_EQ(net_overlay_ops.disconnect(nl2, n2, b, &e), 1);
                ASSERT_ERR(net_overlay_unplug(n1, a, ca, &e), EINVAL);
                e = err_free(e);
        }
        ASSERT_EQ(net_overlay_ops.remove(nl, n1, &e), 1);
        ASSERT_EQ(net_overlay_ops.remove(nl, n1, &e), 0);
        ASSERT_EQ(net_overlay_ops.remove(nl2, n2, &e), 1);
        ASSERT_EQ(nt_sh(-1, "! ip -o link | grep -Eq ' (br-|vx-|vb)'"), 0);
        ASSERT_EQ(nt_sh(h2, "! ip -o link | grep -Eq ' (br-|vx-|vb)'"), 0);
        ASSERT_EQ(nt_sh(cb, "! ip link show eth0 2>/dev/null"), 0);
        ASSERT_EQ(nt_sh(cc, "! ip link show eth0 2>/dev/null"), 0);
}

static void test_overlay_macvlan(void) {
        two_hosts(true);
}

static void test_overlay_bridge(void) {
        two_hosts(false);
}

/* The data path option: its values, where it applies, and that it survives a save. */
static void test_overlay_datapath_option(void) {
        _cleanup_net_network_ struct net_network *n = NULL, *back = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *j = NULL;
        char *bad[] = {"berth.overlay.datapath=vepa", NULL};
        char *mv[] = {"berth.overlay.datapath=macvlan", NULL};
        char *noicc[] = {"com.docker.network.bridge.enable_icc=false", NULL};
        char *mv_noicc[] = {"com.docker.network.bridge.enable_icc=false",
                            "berth.overlay.datapath=macvlan", NULL};
        struct net_create_opts o = {.name = "ov",
                                    .driver = "overlay",
                                    .subnet = "10.77.0.0/24",
                                    .vni = 7,
                                    .vtep_local = "192.168.77.1"};

        o.options = bad;
        ASSERT_ERR(net_network_new(&o, &(struct net_context){}, &n, &e), EINVAL);
        ASSERT_STREQ(e->msg, "network 'ov': option 'berth.overlay.datapath': expected macvlan or "
                             "bridge, got 'vepa'");
        e = err_free(e);
        o.options = mv_noicc;
        ASSERT_ERR(net_network_new(&o, &(struct net_context){}, &n, &e), EINVAL);
        ASSERT_STREQ(e->msg, "network 'ov': option 'berth.overlay.datapath=macvlan' cannot "
                             "enforce com.docker.network.bridge.enable_icc=false (use bridge)");
        e = err_free(e);
        o.options = mv;
        o.driver = "bridge";
        o.vni = 0;
        o.vtep_local = NULL;
        ASSERT_ERR(net_network_new(&o, &(struct net_context){}, &n, &e), EINVAL);
        ASSERT_STREQ(e->msg, "network 'ov': option 'berth.overlay.datapath' needs driver overlay");
        e = err_free(e);
        ASSERT_NULL(n);

        /* icc=false keeps the bridge path */
        o.driver = "overlay";
        o.vni = 7;
        o.vtep_local = "192.168.77.1";
        o.options = noicc;
        ASSERT_OK(net_network_new(&o, &(struct net_context){}, &n, &e));
        ASSERT_FALSE(n->macvlan);
        n = net_network_free(n);

        o.options = NULL;
        ASSERT_OK(net_network_new(&o, &(struct net_context){}, &n, &e));
        ASSERT_TRUE(n->macvlan);
        j = net_network_to_json(n);
        ASSERT_STREQ(json_get_str(j, "datapath", ""), "macvlan");
        ASSERT_OK(net_network_from_json(j, &back, &e));
        ASSERT_TRUE(back->macvlan);
        back = net_network_free(back);
        /* saved before the macvlan path existed: the bridge */
        json_object_del(j, "datapath");
        ASSERT_OK(net_network_from_json(j, &back, &e));
        ASSERT_FALSE(back->macvlan);
        back = net_network_free(back);
        json_object_set_new(j, "datapath", json_string("vepa"));
        ASSERT_ERR(net_network_from_json(j, &back, &e), EINVAL);
        ASSERT_STREQ(e->msg, "network 'ov': invalid datapath 'vepa'");
}

/* The firewall of a macvlan-path network: container frames never reach the host's hooks, so no
 * subnet notrack rule; the VXLAN packets are untracked as on the bridge path, and every rule
 * that names the network names the host's child (the network's ifname). */
static void test_overlay_nft_macvlan(void) {
        _cleanup_net_network_ struct net_network *mv = NULL, *br = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *s = NULL;
        char *bridge_opts[] = {"berth.overlay.datapath=bridge", NULL}, want[160];
        struct net_network *nets[2];

        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "mv",
                                                            .driver = "overlay",
                                                            .subnet = "10.77.0.0/24",
                                                            .vni = 7,
                                                            .vtep_local = "198.18.0.2",
                                                            .node_ip = "10.77.0.254"},
                                  &(struct net_context){}, &mv, &e));
        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "br",
                                                            .driver = "overlay",
                                                            .subnet = "10.78.0.0/24",
                                                            .options = bridge_opts,
                                                            .vni = 8,
                                                            .vtep_local = "198.18.0.2"},
                                  &(struct net_context){}, &br, &e));
        nets[0] = mv;
        nets[1] = br;
        {
                struct nft_state st = {nets, 2, NULL, 0};

                ASSERT_OK(nft_ruleset(&st, &s, &e));
        }
        snprintf(want, sizeof(want), "iifname \"%s\" ip saddr 10.77.0.0/24 ip daddr 10.77.0.0/24",
                 mv->ifname);
        ASSERT_NULL(strstr(s, want));
        snprintf(want, sizeof(want), "iifname \"%s\" ip saddr 10.78.0.0/24 ip daddr 10.78.0.0/24",
                 br->ifname);
        ASSERT_NOT_NULL(strstr(s, want));
        ASSERT_NOT_NULL(strstr(s, "ip daddr 198.18.0.2 udp dport 4789 notrack"));
        ASSERT_NOT_NULL(strstr(s, "ip saddr 198.18.0.2 udp dport 4789 notrack"));
        snprintf(want, sizeof(want),
                 "ip saddr 10.77.0.0/24 oifname \"%s\" ct status dnat snat to "
                 "10.77.0.254",
                 mv->ifname);
        ASSERT_NOT_NULL(strstr(s, want));
}

TAP_MAIN(test_overlay_macvlan, test_overlay_bridge, test_overlay_datapath_option,
         test_overlay_nft_macvlan)
