/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay's macvlan data path through the network manager (root), in a private namespace:
 * endpoints are macvlan children of the VXLAN device in their namespaces, same-host traffic and
 * the host's address, a manager restart adopts what is there, disconnect of a running
 * container takes its interface out, a stopped one leaves nothing on the host, network remove
 * takes every child along, and nothing is left behind. */
#include <ev.h>
#include <stdlib.h>

#include "cleanup.h"
#include "fileio.h"
#include "net-test.h"
#include "net/netmgr.h"
#include "tap.h"

static void test_overlay_macvlan_netmgr(void) {
        _cleanup_netmgr_ struct netmgr *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int n0 = -EBADF, n1 = -EBADF, n2 = -EBADF;
        const struct net_network *net = NULL;
        const struct net_endpoint *ep = NULL;
        char r[] = "/tmp/berth-ovmgr-XXXXXX", cmd[256];
        struct ev_loop *loop;
        struct netmgr_opts o = {.root = r, .no_dns = true, .no_default = true};
        struct net_create_opts c = {.name = "ov",
                                    .driver = "overlay",
                                    .subnet = "10.98.0.0/24",
                                    .vni = 42,
                                    .vtep_local = "127.0.0.1",
                                    .node_ip = "10.98.0.254"};

        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root for private network namespaces");
        n0 = nt_new_netns();
        n1 = nt_new_netns();
        n2 = nt_new_netns();
        ASSERT_TRUE(n0 >= 0 && n1 >= 0 && n2 >= 0);
        ASSERT_NOT_NULL(mkdtemp(r));
        loop = ev_loop_new(EVFLAG_AUTO);
        ASSERT_NOT_NULL(loop);
        ASSERT_OK(netmgr_new(loop, &o, &m, &e));
        ASSERT_OK(netmgr_network_create(m, &c, &net, &e));
        ASSERT_TRUE(net->macvlan);
        ASSERT_OK(netmgr_connect(m, "ov", &(struct netmgr_connect_opts){.id = "c1"}, n0, &ep, &e));
        ASSERT_EQ(ep->ip, 0x0a620002u);
        ASSERT_OK(netmgr_connect(m, "ov", &(struct netmgr_connect_opts){.id = "c2"}, n1, NULL, &e));
        ASSERT_EQ(nt_sh(n0, "ip -d link show eth0 | grep -q 'macvlan mode bridge' && "
                            "ip route | grep -q 'default via 10.98.0.254'"),
                  0);
        /* on the host: the VXLAN device and its child with the host's addresses; no veth,
         * no bridge; the firewall names the child */
        snprintf(cmd, sizeof(cmd),
                 "ip -o link show type macvlan | grep -q ' %s@vx-' && "
                 "test $(ip -o link | wc -l) -eq 3 && "
                 "nft list ruleset | grep -q 'oifname != \"%s\" masquerade'",
                 net->ifname, net->ifname);
        ASSERT_EQ(nt_sh(-1, cmd), 0);
        ASSERT_TRUE(nt_connects(n0, n1, "10.98.0.3", 7200, 3000));
        ASSERT_TRUE(nt_connects(n1, -1, "10.98.0.254", 7201, 3000));

        /* an interface of that name in the container: refused, nothing created */
        ASSERT_EQ(nt_sh(n2, "ip link add eth0 type veth peer name eth1"), 0);
        ASSERT_ERR(netmgr_connect(m, "ov", &(struct netmgr_connect_opts){.id = "c3"}, n2, NULL, &e),
                   EEXIST);
        e = err_free(e);
        ASSERT_EQ(nt_sh(n2, "ip -d link show eth0 | grep -q veth && ip link del eth0"), 0);
        ASSERT_EQ(netmgr_n_endpoints(m, "ov"), 2);

        /* a restart (daemon, agent) adopts the network as it is; the containers keep flowing */
        m = netmgr_free(m);
        ASSERT_OK(netmgr_new(loop, &o, &m, &e));
        ASSERT_EQ(netmgr_n_endpoints(m, "ov"), 2);
        ASSERT_TRUE(netmgr_network_get(m, "ov")->macvlan);
        ASSERT_EQ(nt_sh(-1, "test $(ip -o link | wc -l) -eq 3"), 0);
        ASSERT_TRUE(nt_connects(n0, n1, "10.98.0.3", 7202, 3000));

        /* running container: taken out of its namespace */
        ASSERT_EQ(netmgr_disconnect_netns(m, "ov", "c1", n0, &e), 1);
        ASSERT_EQ(netmgr_disconnect_netns(m, "ov", "c1", n0, &e), 0);
        ASSERT_EQ(nt_sh(n0, "! ip link show eth0 2>/dev/null"), 0);
        /* stopped container: nothing of it on the host, nothing to wait for */
        ASSERT_EQ(netmgr_disconnect_all(m, "c2", &e), 1);
        ASSERT_EQ(netmgr_n_endpoints(m, "ov"), 0);
        ASSERT_EQ(nt_sh(-1, "test $(ip -o link | wc -l) -eq 3"), 0);
        /* the test holds that namespace: removing the network takes the child along */
        ASSERT_EQ(nt_sh(n1, "ip link show eth0 >/dev/null"), 0);
        ASSERT_EQ(netmgr_network_remove(m, "ov", &e), 1);
        ASSERT_EQ(nt_sh(n1, "! ip link show eth0 2>/dev/null"), 0);
        m = netmgr_free(m);
        ASSERT_EQ(nt_sh(-1, "! ip -o link | grep -Eq ' (br-|vb|vx-)' && "
                            "! nft list ruleset | grep -q berth"),
                  0);
        ev_loop_destroy(loop);
        ASSERT_OK(rm_rf(r, &e));
}

TAP_MAIN(test_overlay_macvlan_netmgr)
