/* SPDX-License-Identifier: Apache-2.0 */
/* One daemon root, one set of kernel objects: instance names, per-instance nft tables, and two
 * network managers with different instances side by side on one "host" (a private network
 * namespace, root only), each with its own default bridge, subnet and published port. */
#include <ev.h>
#include <stdlib.h>

#include "cleanup.h"
#include "fileio.h"
#include "net-test.h"
#include "net/netmgr.h"
#include "net/nft.h"
#include "tap.h"
#include "xalloc.h"

static void test_instance_names(void) {
        char b[NET_INSTANCE_MAX], br[NET_INSTANCE_MAX];

        net_instance_name("/var/lib/berth", b);
        ASSERT_STREQ(b, "berth");
        net_instance_name("/var/lib/berth//", b);
        ASSERT_STREQ(b, "berth");
        net_instance_name(NULL, b);
        ASSERT_STREQ(b, "berth");
        net_instance_bridge(b, br);
        ASSERT_STREQ(br, "berth0");
        /* FNV-1a of the path, as tests/integration/helpers.bash computes it too */
        net_instance_name("/tmp/berth-root", b);
        ASSERT_STREQ(b, "berth-d90c903c");
        net_instance_name("/tmp/berth-root/", b);
        ASSERT_STREQ(b, "berth-d90c903c");
        net_instance_bridge(b, br);
        ASSERT_STREQ(br, "berth-d90c903c");
        ASSERT_TRUE(nl_ifname_valid(br));
        net_instance_name("/var/lib/berth2", b);
        ASSERT_TRUE(strncmp(b, "berth-", 6) == 0);

        ASSERT_TRUE(nft_table_name_valid("berth"));
        ASSERT_TRUE(nft_table_name_valid("berth-d90c903c"));
        ASSERT_FALSE(nft_table_name_valid(""));
        ASSERT_FALSE(nft_table_name_valid("Berth"));
        ASSERT_FALSE(nft_table_name_valid("berth x"));
        ASSERT_FALSE(nft_table_name_valid("1berth"));
        ASSERT_FALSE(nft_table_name_valid("berth;flush ruleset"));
}

static void test_ruleset_table(void) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *s = NULL, *d = NULL;

        /* an empty state deletes only the instance's own tables */
        ASSERT_OK(nft_ruleset(&(struct nft_state){.table = "berth-1234abcd"}, &s, &e));
        ASSERT_STREQ(s, "table ip berth-1234abcd\ndelete table ip berth-1234abcd\n"
                        "table bridge berth-1234abcd\ndelete table bridge berth-1234abcd\n");
        ASSERT_OK(nft_ruleset(&(struct nft_state){}, &d, &e));
        ASSERT_STREQ(d, "table ip berth\ndelete table ip berth\n"
                        "table bridge berth\ndelete table bridge berth\n");
        ASSERT_ERR(nft_ruleset(&(struct nft_state){.table = "x y"}, &s, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "'x y'"));
}

static bool ready;
static char root1[] = "/tmp/berth-inst1-XXXXXX", root2[] = "/tmp/berth-inst2-XXXXXX";
static struct ev_loop *loop;
static int ns[2] = {-1, -1};

static void test_setup(void) {
        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root for private network namespaces");
        ASSERT_NOT_NULL(mkdtemp(root1));
        ASSERT_NOT_NULL(mkdtemp(root2));
        loop = ev_loop_new(EVFLAG_AUTO);
        ASSERT_NOT_NULL(loop);
        for (int i = 0; i < 2; i++) {
                ns[i] = nt_new_netns();
                ASSERT_TRUE(ns[i] >= 0);
        }
        ready = true;
}

/* A one-shot server on port 80 of the container netns, reached from the host's loopback on the
 * published host port. */
static bool serve_ping(int netns, int host_port) {
        pid_t s = nt_serve(netns, SOCK_STREAM, "0.0.0.0", 80);
        bool ok;

        if (s <= 0)
                return false;
        ok = nt_ping(-1, SOCK_STREAM, "127.0.0.1", host_port, 3000);
        nt_reap(s);
        return ok;
}

static void test_two_instances(void) {
        _cleanup_netmgr_ struct netmgr *m1 = NULL, *m2 = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *p1[] = {"8081:80", NULL}, *p2[] = {"8082:80", NULL};
        char b1[19], b2[19];

        if (!ready)
                TAP_SKIP("setup did not complete");
        ASSERT_ERR(netmgr_new(loop, &(struct netmgr_opts){.root = root2, .instance = "Bad name"},
                              &m2, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_OK(netmgr_new(loop, &(struct netmgr_opts){.root = root1}, &m1, &e));
        ASSERT_OK(netmgr_new(loop, &(struct netmgr_opts){.root = root2, .instance = "berth-test2"},
                             &m2, &e));
        ASSERT_STREQ(netmgr_nft_table(m1), "berth");
        ASSERT_STREQ(netmgr_default_bridge(m1), "berth0");
        ASSERT_STREQ(netmgr_network_get(m1, "bridge")->ifname, "berth0");
        ASSERT_STREQ(netmgr_network_get(m2, "bridge")->ifname, "berth-test2");
        /* the second root's default network does not take the first one's subnet */
        ipam_cidr_format(&netmgr_network_get(m1, "bridge")->ipam.subnet, b1);
        ipam_cidr_format(&netmgr_network_get(m2, "bridge")->ipam.subnet, b2);
        ASSERT_STREQ(b1, "172.17.0.0/16");
        ASSERT_STREQ(b2, "172.18.0.0/16");

        ASSERT_OK(netmgr_connect(m1, "bridge",
                                 &(struct netmgr_connect_opts){.id = "a", .ports = p1}, ns[0], NULL,
                                 &e));
        ASSERT_OK(netmgr_connect(m2, "bridge",
                                 &(struct netmgr_connect_opts){.id = "b", .ports = p2}, ns[1], NULL,
                                 &e));
        ASSERT_EQ(nt_sh(-1, "nft list table ip berth | grep -q '\\. 8081 :'"), 0);
        ASSERT_EQ(nt_sh(-1, "! nft list table ip berth | grep -q '\\. 8082 :'"), 0);
        ASSERT_EQ(nt_sh(-1, "nft list table ip berth-test2 | grep -q '\\. 8082 :'"), 0);

        ASSERT_TRUE(serve_ping(ns[0], 8081));
        ASSERT_TRUE(serve_ping(ns[1], 8082));
        /* the two roots' networks are isolated from each other, both ways, while each container
         * still reaches the other's published port through the host */
        {
                pid_t srv = nt_serve(ns[1], SOCK_STREAM, "0.0.0.0", 80);
                bool direct;

                ASSERT_TRUE(srv > 0);
                direct = nt_ping(ns[0], SOCK_STREAM, "172.18.0.2", 80, 1000);
                nt_reap(srv);
                ASSERT_FALSE(direct);
                srv = nt_serve(ns[0], SOCK_STREAM, "0.0.0.0", 80);
                ASSERT_TRUE(srv > 0);
                direct = nt_ping(ns[1], SOCK_STREAM, "172.17.0.2", 80, 1000);
                nt_reap(srv);
                ASSERT_FALSE(direct);
                srv = nt_serve(ns[1], SOCK_STREAM, "0.0.0.0", 80);
                ASSERT_TRUE(srv > 0);
                direct = nt_ping(ns[0], SOCK_STREAM, "172.17.0.1", 8082, 3000);
                nt_reap(srv);
                ASSERT_TRUE(direct);
        }

        /* restart of the first manager (start-up reconciliation) leaves the second's rules */
        m1 = netmgr_free(m1);
        ASSERT_OK(netmgr_new(loop, &(struct netmgr_opts){.root = root1}, &m1, &e));
        ASSERT_EQ(
                nt_sh(-1,
                      "test $(nft list table ip berth-test2 | grep -o '\\. 8082 :' | wc -l) -eq 1"),
                0);
        ASSERT_EQ(nt_sh(-1, "test $(nft list table ip berth | grep -o '\\. 8081 :' | wc -l) -eq 1"),
                  0);
        ASSERT_TRUE(serve_ping(ns[1], 8082));
        ASSERT_TRUE(serve_ping(ns[0], 8081));

        /* removing everything of the first instance deletes only its tables */
        ASSERT_EQ(netmgr_disconnect_all(m1, "a", &e), 1);
        ASSERT_OK(nft_sync(&(struct nft_state){.table = netmgr_nft_table(m1)}, &e));
        ASSERT_EQ(nt_sh(-1, "! nft list tables | grep -q 'table ip berth$'"), 0);
        ASSERT_EQ(nt_sh(-1, "nft list tables | grep -q 'table ip berth-test2$'"), 0);
        ASSERT_TRUE(serve_ping(ns[1], 8082));
        ASSERT_EQ(netmgr_disconnect_all(m2, "b", &e), 1);
        ASSERT_OK(nft_sync(&(struct nft_state){.table = "berth-test2"}, &e));
        ASSERT_EQ(nt_sh(-1, "! nft list tables | grep -q berth"), 0);
}

static void test_cleanup(void) {
        for (int i = 0; i < 2; i++)
                if (ns[i] >= 0)
                        close(ns[i]);
        if (loop)
                ev_loop_destroy(loop);
        if (ready) {
                (void)rm_rf(root1, NULL);
                (void)rm_rf(root2, NULL);
        }
}

TAP_MAIN(test_instance_names, test_ruleset_table, test_setup, test_two_instances, test_cleanup)
