/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink layer against the kernel, inside a private network namespace (root only). */
#include "cleanup.h"
#include "net-test.h"
#include "net/nl.h"
#include "tap.h"

static bool in_netns;

static void test_enter(void) {
        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root and CAP_SYS_ADMIN for a private network namespace");
        in_netns = true;
}

static void test_pure_helpers(void) {
        uint8_t mac[NL_MAC_LEN];
        struct nl_ip ip;
        char buf[18];

        ASSERT_OK(nl_mac_parse("02:42:AC:11:00:02", mac));
        nl_mac_format(mac, buf);
        ASSERT_STREQ(buf, "02:42:ac:11:00:02");
        ASSERT_ERR(nl_mac_parse("02:42:ac:11:00", mac), EINVAL);
        ASSERT_ERR(nl_mac_parse("02-42-ac-11-00-02", mac), EINVAL);
        ASSERT_ERR(nl_mac_parse("02:42:ac:11:00:0g", mac), EINVAL);
        ASSERT_OK(nl_ip_parse("10.1.2.3", &ip));
        ASSERT_EQ(ip.family, AF_INET);
        ASSERT_OK(nl_ip_parse("fd00::1", &ip));
        ASSERT_EQ(ip.family, AF_INET6);
        ASSERT_ERR(nl_ip_parse("10.1.2", &ip), EINVAL);
}

static void test_links(void) {
        _cleanup_nl_ struct nl *nl = NULL;
        _cleanup_err_ struct err *e = NULL;
        char kind[32];
        int idx;

        if (!in_netns)
                TAP_SKIP("not root");
        ASSERT_OK(nl_open(&nl, NULL));
        ASSERT_EQ(nl_link_add_bridge(nl, "br-t0", 1400, NULL), 1);
        ASSERT_EQ(nl_link_add_bridge(nl, "br-t0", 1400, NULL), 0); /* idempotent */
        ASSERT_OK(nl_link_kind(nl, "br-t0", kind, sizeof(kind), NULL));
        ASSERT_STREQ(kind, "bridge");
        ASSERT_OK(nl_link_index(nl, "br-t0", &idx, NULL));
        ASSERT_TRUE(idx > 1);
        ASSERT_OK(nl_link_set_up(nl, "br-t0", true, NULL));

        /* a non-bridge under the same name is a conflict */
        ASSERT_EQ(nl_link_add_veth(nl, "vt0", "vt0p", -1, 0, NULL, NULL), 1);
        ASSERT_ERR(nl_link_add_bridge(nl, "vt0", 0, &e), EEXIST);
        ASSERT_TRUE(strstr(e->msg, "not a bridge") != NULL);
        e = err_free(e);

        ASSERT_OK(nl_link_set_master(nl, "vt0", "br-t0", NULL));
        ASSERT_OK(nl_link_set_mtu(nl, "vt0", 1300, NULL));
        ASSERT_OK(nl_link_set_mac(nl, "vt0", (const uint8_t[]){2, 0x42, 1, 2, 3, 4}, NULL));
        ASSERT_OK(nl_link_rename(nl, "vt0p", "vt0q", NULL));
        ASSERT_EQ(nl_link_exists(nl, "vt0p", NULL), 0);
        ASSERT_EQ(nl_link_exists(nl, "vt0q", NULL), 1);
        ASSERT_EQ(nt_sh(-1, "ip -o link show vt0 | grep -q 'mtu 1300.*master br-t0'"), 0);
        ASSERT_EQ(nt_sh(-1, "ip -o link show vt0 | grep -q '02:42:01:02:03:04'"), 0);

        /* kernel errors come back with the extended-ack text */
        ASSERT_ERR(nl_link_set_mtu(nl, "vt0", 10, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "set MTU of 'vt0' to 10") != NULL);
        ASSERT_TRUE(strchr(e->msg, '(') != NULL);
        e = err_free(e);

        ASSERT_ERR(nl_link_index(nl, "nope0", &idx, &e), ENODEV);
        ASSERT_TRUE(strstr(e->msg, "'nope0'") != NULL);
        e = err_free(e);
        ASSERT_ERR(nl_link_add_bridge(nl, "bad/name", 0, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(nl_link_add_bridge(nl, "waytoolonginterfacename", 0, &e), EINVAL);

        ASSERT_EQ(nl_link_del(nl, "vt0", NULL), 1);
        ASSERT_EQ(nl_link_del(nl, "vt0", NULL), 0);
        ASSERT_EQ(nl_link_exists(nl, "vt0q", NULL), 0); /* peer went with it */
        ASSERT_EQ(nl_link_del(nl, "br-t0", NULL), 1);
}

static void test_veth_in_netns_and_addresses(void) {
        _cleanup_nl_ struct nl *nl = NULL, *cnl = NULL;
        _cleanup_close_ int ns = -EBADF;
        struct nl_ip ip, gw, def = {.family = AF_INET};
        uint8_t mac[NL_MAC_LEN] = {2, 0x42, 10, 9, 0, 2};

        if (!in_netns)
                TAP_SKIP("not root");
        ns = nt_new_netns();
        ASSERT_TRUE(ns >= 0);
        ASSERT_OK(nl_open(&nl, NULL));
        ASSERT_OK(nl_open_netns(ns, &cnl, NULL));
        ASSERT_EQ(nl_link_add_bridge(nl, "br-t1", 0, NULL), 1);
        ASSERT_OK(nl_link_set_up(nl, "br-t1", true, NULL));
        ASSERT_OK(nl_ip_parse("10.9.0.1", &gw));
        ASSERT_EQ(nl_addr_add(nl, "br-t1", &gw, 24, NULL), 1);
        ASSERT_EQ(nl_addr_add(nl, "br-t1", &gw, 24, NULL), 0);
        ASSERT_EQ(nl_addr_count(nl, "br-t1", AF_INET, NULL), 1);

        ASSERT_EQ(nl_link_add_veth(nl, "vt1", "eth0", ns, 0, mac, NULL), 1);
        ASSERT_EQ(nl_link_exists(nl, "eth0", NULL), 0);
        ASSERT_EQ(nl_link_exists(cnl, "eth0", NULL), 1);
        ASSERT_OK(nl_link_set_master(nl, "vt1", "br-t1", NULL));
        ASSERT_OK(nl_link_set_up(nl, "vt1", true, NULL));
        ASSERT_OK(nl_ip_parse("10.9.0.2", &ip));
        ASSERT_EQ(nl_addr_add(cnl, "eth0", &ip, 24, NULL), 1);
        ASSERT_OK(nl_link_set_up(cnl, "eth0", true, NULL));
        ASSERT_OK(nl_link_set_up(cnl, "lo", true, NULL));
        ASSERT_EQ(nl_route_add(cnl, &def, 0, &gw, NULL, NULL), 1);
        ASSERT_EQ(nl_route_add(cnl, &def, 0, &gw, NULL, NULL), 0);
        ASSERT_EQ(nt_sh(ns, "ip route | grep -q 'default via 10.9.0.1 dev eth0'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip link show eth0 | grep -q 02:42:0a:09:00:02"), 0);
        ASSERT_EQ(nt_sh(ns, "busybox ping -c1 -W2 10.9.0.1 >/dev/null"), 0);

        {
                _cleanup_free_ struct nl_route *rt = NULL;
                size_t n = 0;
                bool found = false;

                ASSERT_OK(nl_route_list4(nl, &rt, &n, NULL));
                for (size_t i = 0; i < n; i++)
                        if (rt[i].dst_len == 24 && rt[i].dst.v4.s_addr == htonl(0x0a090000))
                                found = true;
                ASSERT_TRUE(found);
        }
        ASSERT_EQ(nl_route_del(cnl, &def, 0, &gw, NULL, NULL), 1);
        ASSERT_EQ(nl_route_del(cnl, &def, 0, &gw, NULL, NULL), 0);
        ASSERT_EQ(nl_addr_del(nl, "br-t1", &gw, 24, NULL), 1);
        ASSERT_EQ(nl_addr_del(nl, "br-t1", &gw, 24, NULL), 0);
        ASSERT_EQ(nl_link_del(nl, "vt1", NULL), 1);
        ASSERT_EQ(nl_link_exists(cnl, "eth0", NULL), 0);
        ASSERT_EQ(nl_link_del(nl, "br-t1", NULL), 1);
}

/* nl_veth_connect: the host end up in its bridge, the container end up with its address, lo up
 * and the default route; a leftover host end is replaced, a taken container name is an error,
 * and a failure after the pair was made deletes it. */
static void test_veth_connect(void) {
        _cleanup_nl_ struct nl *nl = NULL, *cnl = NULL;
        _cleanup_close_ int ns = -EBADF;
        _cleanup_err_ struct err *e = NULL;
        const uint8_t mac[NL_MAC_LEN] = {2, 0x42, 10, 77, 0, 2};
        struct nl_ip gw, off;
        struct nl_veth_opts o = {.name = "vc0",
                                 .peer = "eth0",
                                 .master = "br-vc",
                                 .mtu = 1400,
                                 .peer_mac = mac,
                                 .prefixlen = 24,
                                 .gw = &gw};

        if (!in_netns)
                TAP_SKIP("not root");
        ASSERT_OK(nl_open(&nl, NULL));
        ns = nt_new_netns();
        ASSERT_TRUE(ns >= 0);
        ASSERT_OK(nl_open_netns(ns, &cnl, NULL));
        o.peer_netns_fd = ns;
        ASSERT_OK(nl_ip_parse("10.77.0.2", &o.addr));
        ASSERT_OK(nl_ip_parse("10.77.0.1", &gw));
        ASSERT_EQ(nl_link_add_bridge(nl, "br-vc", 1400, NULL), 1);
        ASSERT_OK(nl_addr_add(nl, "br-vc", &gw, 24, NULL));
        ASSERT_OK(nl_link_set_up(nl, "br-vc", true, NULL));

        /* a host end left by a crash under the same name is replaced */
        ASSERT_EQ(nl_link_add_veth(nl, "vc0", "vc0old", -1, 0, NULL, NULL), 1);
        ASSERT_EQ(nl_veth_connect(nl, cnl, &o, NULL), 1);
        ASSERT_EQ(nl_link_exists(nl, "vc0old", NULL), 0);
        ASSERT_EQ(nt_sh(-1, "ip -o link show vc0 | grep -q 'UP.*mtu 1400.*master br-vc'"), 0);
        ASSERT_EQ(nt_sh(-1, "ip -d -o link show vc0 | grep -q 'hairpin on'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip -o link show eth0 | grep -q 'UP.*mtu 1400'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip -o link show eth0 | grep -q '02:42:0a:4d:00:02'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip -o link show lo | grep -q 'UP'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip -o -4 addr show eth0 | grep -q '10.77.0.2/24'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip route show default | grep -q 'via 10.77.0.1 dev eth0'"), 0);
        ASSERT_EQ(nt_sh(ns, "busybox ping -c1 -W2 10.77.0.1 >/dev/null"), 0);

        /* the container's name is taken: an error naming it, and the host end stays as it is */
        ASSERT_ERR(nl_veth_connect(nl, cnl, &o, &e), EEXIST);
        ASSERT_TRUE(strstr(e->msg, "'eth0' already exists in the container") != NULL);
        e = err_free(e);
        ASSERT_EQ(nl_link_exists(nl, "vc0", NULL), 1);

        /* a second network: no gateway in reach fails after the pair was made, which is
         * deleted on both sides */
        ASSERT_OK(nl_ip_parse("10.78.0.1", &off));
        o.name = "vc1";
        o.peer = "eth1";
        o.gw = &off;
        ASSERT_OK(nl_ip_parse("10.79.0.2", &o.addr));
        ASSERT_ERR(nl_veth_connect(nl, cnl, &o, &e), ENETUNREACH);
        ASSERT_TRUE(strstr(e->msg, "add default route") != NULL);
        e = err_free(e);
        ASSERT_EQ(nl_link_exists(nl, "vc1", NULL), 0);
        ASSERT_EQ(nl_link_exists(cnl, "eth1", NULL), 0);

        /* an internal network (no gateway) keeps the existing default route */
        o.gw = NULL;
        ASSERT_EQ(nl_veth_connect(nl, cnl, &o, NULL), 1);
        ASSERT_EQ(nt_sh(ns, "ip -o -4 addr show eth1 | grep -q '10.79.0.2/24'"), 0);
        ASSERT_EQ(nt_sh(ns, "ip route show default | grep -q 'via 10.77.0.1 dev eth0'"), 0);

        /* an unknown bridge fails before anything is made */
        o.name = "vc2";
        o.peer = "eth2";
        o.master = "br-nope";
        ASSERT_ERR(nl_veth_connect(nl, cnl, &o, &e), ENODEV);
        ASSERT_EQ(nl_link_exists(nl, "vc2", NULL), 0);

        ASSERT_EQ(nl_link_del(nl, "vc0", NULL), 1);
        ASSERT_EQ(nl_link_del(nl, "vc1", NULL), 1);
        ASSERT_EQ(nl_link_del(nl, "br-vc", NULL), 1);
}

static void test_vxlan_fdb_neigh(void) {
        _cleanup_nl_ struct nl *nl = NULL;
        struct nl_vxlan vx = {.vni = 4242, .port = 4789};
        struct nl_ip vtep, peer;
        uint8_t mac[NL_MAC_LEN] = {2, 0x42, 10, 0, 0, 5};

        if (!in_netns)
                TAP_SKIP("not root");
        ASSERT_OK(nl_open(&nl, NULL));
        ASSERT_OK(nl_ip_parse("127.0.0.1", &vx.local));
        ASSERT_EQ(nl_link_add_vxlan(nl, "vx-t", &vx, NULL), 1);
        ASSERT_EQ(nl_link_add_vxlan(nl, "vx-t", &vx, NULL), 0);
        ASSERT_EQ(nt_sh(-1, "ip -d link show vx-t | grep -q 'vxlan id 4242.*nolearning'"), 0);
        ASSERT_OK(nl_ip_parse("127.0.0.2", &vtep));
        ASSERT_EQ(nl_fdb_add(nl, "vx-t", mac, &vtep, NULL), 1);
        ASSERT_EQ(nt_sh(-1, "bridge fdb show dev vx-t | grep -q '02:42:0a:00:00:05 dst 127.0.0.2'"),
                  0);
        ASSERT_OK(nl_link_set_up(nl, "vx-t", true, NULL));
        ASSERT_OK(nl_ip_parse("10.0.0.5", &peer));
        ASSERT_EQ(nl_neigh_add(nl, "vx-t", &peer, mac, NULL), 1);
        ASSERT_EQ(nt_sh(-1, "ip neigh show dev vx-t | grep -q '10.0.0.5 lladdr 02:42:0a:00:00:05 "
                            "PERMANENT'"),
                  0);
        ASSERT_EQ(nl_neigh_del(nl, "vx-t", &peer, NULL), 1);
        ASSERT_EQ(nl_neigh_del(nl, "vx-t", &peer, NULL), 0);
        ASSERT_EQ(nl_fdb_del(nl, "vx-t", mac, &vtep, NULL), 1);
        ASSERT_EQ(nl_fdb_del(nl, "vx-t", mac, &vtep, NULL), 0);
        ASSERT_EQ(nl_link_del(nl, "vx-t", NULL), 1);
        vx.vni = 0;
        ASSERT_ERR(nl_link_add_vxlan(nl, "vx-t", &vx, NULL), EINVAL);
}

TAP_MAIN(test_enter, test_pure_helpers, test_links, test_veth_in_netns_and_addresses,
         test_veth_connect, test_vxlan_fdb_neigh)
