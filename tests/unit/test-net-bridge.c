/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge driver and nftables rules end to end, as root, inside a private network namespace
 * standing in for the host. "Containers" are further namespaces; an "outside" namespace joined
 * to the host by a veth pair stands in for another host on the LAN. */
#include <netinet/in.h>
#include <stdlib.h>

#include "cleanup.h"
#include "net-test.h"
#include "net/net.h"
#include "net/nft.h"
#include "net/nl.h"
#include "tap.h"

enum { NET_FRONT, NET_BACK, NET_INT, NET_QUIET, N_NETS };
enum { C_A1, C_A2, C_B1, C_I1, C_Q1, C_Q2, N_CTRS };

static const struct {
        const char *name, *subnet;
        bool internal;
        char *opts[2];
} net_specs[N_NETS] = {
        [NET_FRONT] = {"front", "10.201.0.0/24", false, {NULL}},
        [NET_BACK] = {"back", "10.202.0.0/24", false, {NULL}},
        [NET_INT] = {"int", "10.203.0.0/24", true, {NULL}},
        [NET_QUIET] = {"quiet",
                       "10.204.0.0/24",
                       false,
                       {"com.docker.network.bridge.enable_icc=false", NULL}},
};
static const struct {
        const char *id;
        int net;
} ctr_specs[N_CTRS] = {
        [C_A1] = {"a1", NET_FRONT}, [C_A2] = {"a2", NET_FRONT}, [C_B1] = {"b1", NET_BACK},
        [C_I1] = {"i1", NET_INT},   [C_Q1] = {"q1", NET_QUIET}, [C_Q2] = {"q2", NET_QUIET},
};

static bool ready;
static struct nl *nl;
static int outside = -1;
static struct net_network *nets[N_NETS];
static struct net_endpoint *eps[N_CTRS];
static int ctr_ns[N_CTRS];
static struct nft_publish ports[2];
static char ipbuf[N_CTRS][16];

static const char *ctr_ip(int c) {
        ipam_ip_format(eps[c]->ip, ipbuf[c]);
        return ipbuf[c];
}

static int sync_rules(struct err **errp) {
        struct nft_endpoint fe[N_CTRS];

        for (int c = 0; c < N_CTRS; c++)
                fe[c] = (struct nft_endpoint){
                        eps[c]->id, nets[ctr_specs[c].net]->name, eps[c]->host_ifname,
                        eps[c]->ip, c == C_A1 ? ports : NULL,     c == C_A1 ? 2 : 0};
        uint32_t backends[2] = {eps[C_A1]->ip, eps[C_A2]->ip};
        struct nft_service svc = {"web", 0x0a60000au /* 10.96.0.10 */, IPPROTO_TCP, 80, backends, 2,
                                  7005};

        return nft_sync(&(struct nft_state){nets, N_NETS, fe, N_CTRS, &svc, 1}, errp);
}

static void test_setup(void) {
        _cleanup_err_ struct err *e = NULL;

        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root for private network namespaces");
        ASSERT_OK(nl_open(&nl, NULL));
        outside = nt_new_netns();
        ASSERT_TRUE(outside >= 0);
        ASSERT_EQ(nl_link_add_veth(nl, "up0", "eth0", outside, 0, NULL, NULL), 1);
        ASSERT_EQ(nt_sh(-1, "ip addr add 10.250.0.1/24 dev up0 && ip link set up0 up"), 0);
        ASSERT_EQ(nt_sh(outside, "ip addr add 10.250.0.2/24 dev eth0 && ip link set eth0 up && "
                                 "ip link set lo up && ip route add default via 10.250.0.1"),
                  0);

        for (int i = 0; i < N_NETS; i++) {
                struct net_context ctx = {.networks = nets, .n_networks = (size_t)i};
                struct net_create_opts o = {.name = net_specs[i].name,
                                            .subnet = net_specs[i].subnet,
                                            .internal = net_specs[i].internal,
                                            .options = (char *const *)net_specs[i].opts};

                ASSERT_OK(net_network_new(&o, &ctx, &nets[i], &e));
                ASSERT_EQ(net_bridge_ops.create(nl, nets[i], &e), 1);
                ASSERT_EQ(net_bridge_ops.create(nl, nets[i], &e), 0);
        }
        for (int c = 0; c < N_CTRS; c++) {
                ctr_ns[c] = nt_new_netns();
                ASSERT_TRUE(ctr_ns[c] >= 0);
                ASSERT_OK(net_endpoint_new(nets[ctr_specs[c].net], ctr_specs[c].id, "eth0", NULL,
                                           NULL, &eps[c], &e));
                ASSERT_EQ(net_bridge_ops.connect(nl, nets[ctr_specs[c].net], eps[c], ctr_ns[c], &e),
                          1);
        }
        ASSERT_OK(nft_publish_parse("8080:80", &ports[0], NULL));
        ASSERT_OK(nft_publish_parse("5353:53/udp", &ports[1], NULL));
        ASSERT_OK(sync_rules(&e));
        ASSERT_OK(sync_rules(&e)); /* reconcile: same state again, no duplicates */
        ASSERT_EQ(nt_sh(-1, "test $(nft list ruleset | grep -o '\\. 8080 :' | wc -l) -eq 1"), 0);
        ready = true;
}

static void test_endpoint_config(void) {
        _cleanup_err_ struct err *e = NULL;

        if (!ready)
                TAP_SKIP("setup did not complete");
        ASSERT_EQ(nt_sh(ctr_ns[C_A1], "ip -o addr show eth0 | grep -q 'inet 10.201.0.2/24' && "
                                      "ip link show eth0 | grep -q 02:42:0a:c9:00:02 && "
                                      "ip route | grep -q 'default via 10.201.0.1'"),
                  0);
        ASSERT_EQ(nt_sh(ctr_ns[C_I1], "! ip route | grep -q default"), 0);
        ASSERT_EQ(nt_sh(-1, "test $(cat /proc/sys/net/ipv4/ip_forward) = 1"), 0);
        /* a second eth0 in the same container is refused and leaves nothing behind */
        {
                struct net_endpoint dup = *eps[C_A2];

                dup.host_ifname = "vbdup0";
                ASSERT_ERR(net_bridge_ops.connect(nl, nets[NET_FRONT], &dup, ctr_ns[C_A1], &e),
                           EEXIST);
                ASSERT_TRUE(strstr(e->msg, "'eth0' already exists") != NULL);
                ASSERT_EQ(nl_link_exists(nl, "vbdup0", NULL), 0);
        }
}

static void test_same_network(void) {
        pid_t s;

        if (!ready)
                TAP_SKIP("setup did not complete");
        s = nt_serve(ctr_ns[C_A2], SOCK_STREAM, "0.0.0.0", 7000);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(ctr_ns[C_A1], SOCK_STREAM, ctr_ip(C_A2), 7000, 3000));
        nt_reap(s);
        ASSERT_EQ(nt_sh(ctr_ns[C_A1], "busybox ping -c1 -W2 10.201.0.3 >/dev/null"), 0);
}

static void test_isolation(void) {
        pid_t s;
        bool ok;

        if (!ready)
                TAP_SKIP("setup did not complete");
        s = nt_serve(ctr_ns[C_B1], SOCK_STREAM, "0.0.0.0", 7001);
        ASSERT_TRUE(s > 0);
        ok = nt_ping(ctr_ns[C_A1], SOCK_STREAM, ctr_ip(C_B1), 7001, 500);
        nt_reap(s);
        ASSERT_FALSE(ok);
        /* icc=false: two containers of network quiet cannot talk */
        s = nt_serve(ctr_ns[C_Q2], SOCK_STREAM, "0.0.0.0", 7002);
        ASSERT_TRUE(s > 0);
        ok = nt_ping(ctr_ns[C_Q1], SOCK_STREAM, ctr_ip(C_Q2), 7002, 500);
        nt_reap(s);
        ASSERT_FALSE(ok);
}

static void test_outbound_and_internal(void) {
        pid_t s;
        bool ok;

        if (!ready)
                TAP_SKIP("setup did not complete");
        s = nt_serve(outside, SOCK_STREAM, "0.0.0.0", 7003);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(ctr_ns[C_B1], SOCK_STREAM, "10.250.0.2", 7003, 3000));
        nt_reap(s);
        /* icc=false still allows the way out */
        s = nt_serve(outside, SOCK_STREAM, "0.0.0.0", 7003);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(ctr_ns[C_Q1], SOCK_STREAM, "10.250.0.2", 7003, 3000));
        nt_reap(s);
        /* the internal network has no way out, even with a route added by hand */
        ASSERT_EQ(nt_sh(ctr_ns[C_I1], "ip route add default via 10.203.0.1"), 0);
        s = nt_serve(outside, SOCK_STREAM, "0.0.0.0", 7004);
        ASSERT_TRUE(s > 0);
        ok = nt_ping(ctr_ns[C_I1], SOCK_STREAM, "10.250.0.2", 7004, 500);
        nt_reap(s);
        ASSERT_FALSE(ok);
}

static void test_published_ports(void) {
        _cleanup_err_ struct err *e = NULL;
        pid_t s;

        if (!ready)
                TAP_SKIP("setup did not complete");
        /* from the host's loopback */
        s = nt_serve(ctr_ns[C_A1], SOCK_STREAM, "0.0.0.0", 80);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(-1, SOCK_STREAM, "127.0.0.1", 8080, 3000));
        nt_reap(s);
        s = nt_serve(ctr_ns[C_A1], SOCK_DGRAM, "0.0.0.0", 53);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(-1, SOCK_DGRAM, "127.0.0.1", 5353, 3000));
        nt_reap(s);
        /* from another host */
        s = nt_serve(ctr_ns[C_A1], SOCK_STREAM, "0.0.0.0", 80);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(outside, SOCK_STREAM, "10.250.0.1", 8080, 3000));
        nt_reap(s);
        s = nt_serve(ctr_ns[C_A1], SOCK_DGRAM, "0.0.0.0", 53);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(outside, SOCK_DGRAM, "10.250.0.1", 5353, 3000));
        nt_reap(s);
        /* hairpin: a container of the same network through the host address */
        s = nt_serve(ctr_ns[C_A1], SOCK_STREAM, "0.0.0.0", 80);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(ctr_ns[C_A2], SOCK_STREAM, "10.250.0.1", 8080, 3000));
        nt_reap(s);
        /* and from a container of another network */
        s = nt_serve(ctr_ns[C_A1], SOCK_STREAM, "0.0.0.0", 80);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(ctr_ns[C_B1], SOCK_STREAM, "10.250.0.1", 8080, 3000));
        nt_reap(s);

        /* a host port in use is refused with a clear error */
        s = nt_serve(-1, SOCK_STREAM, "127.0.0.1", 9099);
        ASSERT_TRUE(s > 0);
        {
                struct nft_publish p;
                int r;

                ASSERT_OK(nft_publish_parse("9099:80", &p, NULL));
                r = nft_port_check_free(&p, &e);
                nt_reap(s);
                ASSERT_ERR(r, EADDRINUSE);
                ASSERT_STREQ(e->msg, "host port 0.0.0.0:9099/tcp is already in use");
                ASSERT_OK(nft_port_check_free(&p, NULL));
        }
}

static void test_service_vip(void) {
        pid_t s1, s2;
        bool ok1, ok2;

        if (!ready)
                TAP_SKIP("setup did not complete");
        /* two one-shot backends: two connections succeed only if both were used */
        s1 = nt_serve(ctr_ns[C_A1], SOCK_STREAM, "0.0.0.0", 7005);
        s2 = nt_serve(ctr_ns[C_A2], SOCK_STREAM, "0.0.0.0", 7005);
        ASSERT_TRUE(s1 > 0 && s2 > 0);
        ok1 = nt_ping(ctr_ns[C_B1], SOCK_STREAM, "10.96.0.10", 80, 3000);
        ok2 = nt_ping(ctr_ns[C_B1], SOCK_STREAM, "10.96.0.10", 80, 3000);
        nt_reap(s1);
        nt_reap(s2);
        ASSERT_TRUE(ok1);
        ASSERT_TRUE(ok2);
}

static void test_teardown(void) {
        _cleanup_err_ struct err *e = NULL;

        if (!ready)
                TAP_SKIP("setup did not complete");
        for (int c = 0; c < N_CTRS; c++) {
                ASSERT_EQ(net_bridge_ops.disconnect(nl, nets[ctr_specs[c].net], eps[c], &e), 1);
                ASSERT_EQ(net_bridge_ops.disconnect(nl, nets[ctr_specs[c].net], eps[c], &e), 0);
                ASSERT_EQ(nt_sh(ctr_ns[c], "! ip link show eth0 2>/dev/null"), 0);
        }
        for (int i = 0; i < N_NETS; i++) {
                ASSERT_EQ(net_bridge_ops.remove(nl, nets[i], &e), 1);
                ASSERT_EQ(net_bridge_ops.remove(nl, nets[i], &e), 0);
        }
        /* tables that are not berth's are never touched */
        ASSERT_EQ(nt_sh(-1, "nft add table ip other && nft add chain ip other c"), 0);
        ASSERT_OK(nft_sync(&(struct nft_state){}, &e));
        ASSERT_OK(nft_sync(&(struct nft_state){}, &e));
        ASSERT_EQ(nt_sh(-1, "! nft list tables | grep -q berth"), 0);
        ASSERT_EQ(nt_sh(-1, "nft list chain ip other c >/dev/null && nft delete table ip other"),
                  0);
        ASSERT_EQ(nt_sh(-1, "! ip -o link | grep -Eq ' (br-|vb)'"), 0);
        ASSERT_EQ(nt_sh(-1, "! ip -o addr | grep -q ' 10.20'"), 0);
}

static void test_cleanup(void) {
        for (int c = 0; c < N_CTRS; c++) {
                eps[c] = net_endpoint_free(eps[c]);
                if (ctr_ns[c] > 0)
                        close(ctr_ns[c]);
        }
        for (int i = 0; i < N_NETS; i++)
                nets[i] = net_network_free(nets[i]);
        if (outside >= 0)
                close(outside);
        nl = nl_free(nl);
}

TAP_MAIN(test_setup, test_endpoint_config, test_same_network, test_isolation,
         test_outbound_and_internal, test_published_ports, test_service_vip, test_teardown,
         test_cleanup)
