/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay driver between two "hosts" (root): this process's private namespace and a second
 * namespace joined by a veth underlay; one container on each side. */
#include "cleanup.h"
#include "net-test.h"
#include "net/net.h"
#include "net/nl.h"
#include "tap.h"

static void test_overlay_two_hosts(void) {
        _cleanup_nl_ struct nl *nl = NULL, *nl2 = NULL;
        _cleanup_net_network_ struct net_network *n1 = NULL, *n2 = NULL;
        _cleanup_net_endpoint_ struct net_endpoint *a = NULL, *b = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int h2 = -EBADF, ca = -EBADF, cb = -EBADF;
        struct net_overlay_peer pa, pb;
        char vx[16], cmd[256];
        pid_t s;
        bool ok;

        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root for private network namespaces");
        h2 = nt_new_netns();
        ca = nt_new_netns();
        cb = nt_new_netns();
        ASSERT_TRUE(h2 >= 0 && ca >= 0 && cb >= 0);
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
                                                            .vni = 4100,
                                                            .vtep_local = "192.168.77.1",
                                                            .vtep_dev = "ul0"},
                                  &(struct net_context){}, &n1, &e));
        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "ov",
                                                            .driver = "overlay",
                                                            .subnet = "10.77.0.0/24",
                                                            .vni = 4100,
                                                            .vtep_local = "192.168.77.2",
                                                            .vtep_dev = "ul0"},
                                  &(struct net_context){}, &n2, &e));
        ASSERT_TRUE(n1->internal);
        ASSERT_EQ(n1->mtu, 1450);
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
                 "ip link show %s | grep -q 'master %s'",
                 vx, vx, vx, n1->ifname);
        ASSERT_EQ(nt_sh(-1, cmd), 0);

        ASSERT_OK(net_endpoint_new(n1, "ca", "eth0", NULL, NULL, &a, &e));
        ASSERT_OK(net_endpoint_new(n2, "cb", "eth0", "10.77.0.3", NULL, &b, &e));
        ASSERT_EQ(net_overlay_ops.connect(nl, n1, a, ca, &e), 1);
        ASSERT_EQ(net_overlay_ops.connect(nl2, n2, b, cb, &e), 1);
        ASSERT_EQ(nt_sh(ca, "ip link show eth0 | grep -q 'mtu 1450'"), 0);

        /* without peers nothing crosses the underlay */
        s = nt_serve(cb, SOCK_STREAM, "0.0.0.0", 7100);
        ASSERT_TRUE(s > 0);
        ok = nt_ping(ca, SOCK_STREAM, "10.77.0.3", 7100, 500);
        nt_reap(s);
        ASSERT_FALSE(ok);

        pa = (struct net_overlay_peer){.vtep = 0xc0a84d02u, .ip = b->ip};
        memcpy(pa.mac, b->mac, NL_MAC_LEN);
        pb = (struct net_overlay_peer){.vtep = 0xc0a84d01u, .ip = a->ip};
        memcpy(pb.mac, a->mac, NL_MAC_LEN);
        ASSERT_EQ(net_overlay_peer_add(nl, n1, &pa, &e), 1);
        ASSERT_EQ(net_overlay_peer_add(nl2, n2, &pb, &e), 1);
        ASSERT_EQ(net_overlay_peer_add(nl2, n2, &pb, &e), 1); /* replace: idempotent */
        s = nt_serve(cb, SOCK_STREAM, "0.0.0.0", 7100);
        ASSERT_TRUE(s > 0);
        ok = nt_ping(ca, SOCK_STREAM, "10.77.0.3", 7100, 3000);
        nt_reap(s);
        ASSERT_TRUE(ok);

        /* bad peers are refused */
        pa.ip = 0x0a780003u;
        ASSERT_ERR(net_overlay_peer_add(nl, n1, &pa, &e), EINVAL);
        ASSERT_STREQ(e->msg, "peer address 10.120.0.3 is not in subnet '10.77.0.0/24'");
        e = err_free(e);
        pa.ip = b->ip;

        ASSERT_EQ(net_overlay_peer_del(nl, n1, &pa, &e), 1);
        ASSERT_EQ(net_overlay_peer_del(nl, n1, &pa, &e), 0);
        ASSERT_EQ(net_overlay_ops.disconnect(nl, n1, a, &e), 1);
        ASSERT_EQ(net_overlay_ops.disconnect(nl2, n2, b, &e), 1);
        ASSERT_EQ(net_overlay_ops.remove(nl, n1, &e), 1);
        ASSERT_EQ(net_overlay_ops.remove(nl, n1, &e), 0);
        ASSERT_EQ(net_overlay_ops.remove(nl2, n2, &e), 1);
        ASSERT_EQ(nt_sh(-1, "! ip -o link | grep -Eq ' (br-|vx-|vb)'"), 0);
        ASSERT_EQ(nt_sh(h2, "! ip -o link | grep -Eq ' (br-|vx-|vb)'"), 0);
}

TAP_MAIN(test_overlay_two_hosts)
