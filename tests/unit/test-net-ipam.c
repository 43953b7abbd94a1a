/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "net/ipam.h"
#include "net/net.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void test_cidr_parse(void) {
        _cleanup_err_ struct err *e = NULL;
        struct ipam_subnet s;
        char buf[19];

        ASSERT_OK(ipam_cidr_parse("172.18.0.0/16", &s, NULL));
        ASSERT_EQ(s.net, 0xac120000u);
        ASSERT_EQ(s.len, 16);
        ipam_cidr_format(&s, buf);
        ASSERT_STREQ(buf, "172.18.0.0/16");
        ASSERT_ERR(ipam_cidr_parse("172.18.0.5/16", &s, &e), EINVAL);
        ASSERT_STREQ(e->msg, "invalid CIDR '172.18.0.5/16': host bits set (did you mean "
                             "'172.18.0.0/16'?)");
        e = err_free(e);
        ASSERT_ERR(ipam_cidr_parse("172.18.0.0", &s, NULL), EINVAL);
        ASSERT_ERR(ipam_cidr_parse("172.18.0.0/33", &s, NULL), EINVAL);
        ASSERT_ERR(ipam_cidr_parse("172.18.0.0/", &s, NULL), EINVAL);
        ASSERT_ERR(ipam_cidr_parse("172.18.0.0/1x", &s, NULL), EINVAL);
        ASSERT_ERR(ipam_cidr_parse("300.18.0.0/16", &s, NULL), EINVAL);
        ASSERT_ERR(ipam_cidr_parse(NULL, &s, NULL), EINVAL);
}

static void test_overlap(void) {
        struct ipam_subnet a = {0x0a000000u, 8}, b = {0x0a010000u, 16}, c = {0x0b000000u, 16};

        ASSERT_TRUE(ipam_overlaps(&a, &b));
        ASSERT_TRUE(ipam_overlaps(&b, &a));
        ASSERT_FALSE(ipam_overlaps(&a, &c));
        ASSERT_TRUE(ipam_contains(&b, 0x0a0100ffu));
        ASSERT_FALSE(ipam_contains(&b, 0x0a0200ffu));
        ASSERT_EQ(ipam_broadcast(&b), 0x0a01ffffu);
}

static void test_init_validation(void) {
        _cleanup_(ipam_done) struct ipam ip = {};
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(ipam_init(&ip, "10.5.0.0/24", NULL, NULL, NULL));
        ASSERT_EQ(ip.gateway, 0x0a050001u);
        ASSERT_ERR(ipam_init(&ip, "10.5.0.0/24", "10.6.0.1", NULL, &e), EINVAL);
        ASSERT_STREQ(e->msg, "gateway '10.6.0.1' is not a host address of subnet '10.5.0.0/24'");
        ASSERT_STREQ(e->field, "gateway");
        e = err_free(e);
        ASSERT_ERR(ipam_init(&ip, "10.5.0.0/24", "10.5.0.255", NULL, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(ipam_init(&ip, "10.5.0.0/24", NULL, "10.5.1.0/28", &e), EINVAL);
        ASSERT_STREQ(e->field, "ip_range");
        e = err_free(e);
        ASSERT_ERR(ipam_init(&ip, "10.5.0.0/24", NULL, "10.5.0.0/16", &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(ipam_init(&ip, "bogus", NULL, NULL, &e), EINVAL);
        ASSERT_STREQ(e->field, "subnet");
        e = err_free(e);
        ASSERT_ERR(ipam_init(&ip, "10.5.0.0/31", NULL, NULL, &e), EINVAL);
        /* the failed calls left the earlier valid state alone */
        ASSERT_EQ(ip.subnet.net, 0x0a050000u);
}

static void test_alloc(void) {
        _cleanup_(ipam_done) struct ipam ip = {};
        _cleanup_err_ struct err *e = NULL;
        uint32_t a;

        ASSERT_OK(ipam_init(&ip, "10.5.0.0/29", "10.5.0.1", NULL, NULL));
        ASSERT_OK(ipam_alloc(&ip, "c1", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a050002u);
        ASSERT_OK(ipam_alloc(&ip, "c2", 0x0a050004u, &a, NULL));
        ASSERT_OK(ipam_alloc(&ip, "c3", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a050003u);
        ASSERT_OK(ipam_alloc(&ip, "c4", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a050005u);
        ASSERT_ERR(ipam_alloc(&ip, "c5", 0x0a050004u, &a, &e), EADDRINUSE);
        ASSERT_STREQ(e->msg, "address 10.5.0.4 is already in use by 'c2'");
        e = err_free(e);
        ASSERT_ERR(ipam_alloc(&ip, "c5", 0x0a050001u, &a, NULL), EADDRINUSE); /* gateway */
        ASSERT_ERR(ipam_alloc(&ip, "c5", 0x0a050009u, &a, NULL), EINVAL);
        ASSERT_OK(ipam_alloc(&ip, "c5", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a050006u);
        ASSERT_ERR(ipam_alloc(&ip, "c6", 0, &a, &e), ENOSPC); /* .7 is broadcast */
        ASSERT_EQ(ipam_release(&ip, 0x0a050003u), 1);
        ASSERT_EQ(ipam_release(&ip, 0x0a050003u), 0);
        ASSERT_OK(ipam_alloc(&ip, "c6", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a050003u);
        ASSERT_STREQ(ipam_owner(&ip, 0x0a050003u), "c6");
        ASSERT_EQ(ipam_release_owner(&ip, "c2"), 1);
        ASSERT_NULL(ipam_owner(&ip, 0x0a050004u));
}

static void test_ip_range(void) {
        _cleanup_(ipam_done) struct ipam ip = {};
        uint32_t a;

        ASSERT_OK(ipam_init(&ip, "10.5.0.0/16", NULL, "10.5.3.0/24", NULL));
        ASSERT_OK(ipam_alloc(&ip, "c1", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a050300u);
        /* --ip may be anywhere in the subnet */
        ASSERT_OK(ipam_alloc(&ip, "c2", 0x0a050909u, &a, NULL));
}

static void test_pool_choice(void) {
        _cleanup_free_ struct ipam_pool *pools = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ipam_subnet got, used[3];
        size_t n;
        char buf[19];

        ASSERT_OK(ipam_pick_subnet(ipam_default_pools, ipam_default_pools_n, NULL, 0, &got, NULL));
        ipam_cidr_format(&got, buf);
        ASSERT_STREQ(buf, "172.17.0.0/16");
        used[0] = (struct ipam_subnet){0xac110000u, 16};
        used[1] = (struct ipam_subnet){0xac128000u, 24}; /* a host route inside 172.18 */
        ASSERT_OK(ipam_pick_subnet(ipam_default_pools, ipam_default_pools_n, used, 2, &got, NULL));
        ipam_cidr_format(&got, buf);
        ASSERT_STREQ(buf, "172.19.0.0/16");
        /* a host route covering all of 172.16/12 moves us to 192.168.0.0/20 */
        used[2] = (struct ipam_subnet){0xac100000u, 12};
        ASSERT_OK(ipam_pick_subnet(ipam_default_pools, ipam_default_pools_n, used, 3, &got, NULL));
        ipam_cidr_format(&got, buf);
        ASSERT_STREQ(buf, "192.168.0.0/20");

        ASSERT_OK(ipam_pools_parse("10.10.0.0/16:24", &pools, &n, NULL));
        ASSERT_EQ(n, 1);
        used[0] = (struct ipam_subnet){0x0a0a0000u, 24};
        ASSERT_OK(ipam_pick_subnet(pools, n, used, 1, &got, NULL));
        ipam_cidr_format(&got, buf);
        ASSERT_STREQ(buf, "10.10.1.0/24");
        used[0] = (struct ipam_subnet){0x0a000000u, 8};
        ASSERT_ERR(ipam_pick_subnet(pools, n, used, 1, &got, &e), ENOSPC);
        e = err_free(e);
        free(pools);
        pools = NULL;
        ASSERT_ERR(ipam_pools_parse("10.10.0.0/16:8", &pools, &n, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(ipam_pools_parse("10.10.0.0/16", &pools, &n, &e), EINVAL);
}

static void test_network_new(void) {
        _cleanup_net_network_ struct net_network *a = NULL, *b = NULL, *c = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ipam_subnet host[1] = {{0xac120000u, 16}};
        char *opts[] = {"com.docker.network.driver.mtu=1400",
                        "com.docker.network.bridge.enable_icc=false", NULL};
        char *bad_opts[] = {"com.docker.network.driver.mtu=12", NULL};
        char *unknown_opts[] = {"foo=bar", NULL};
        struct net_network *nets[2];
        struct net_context ctx = {.host = host, .n_host = 1};
        char buf[19];

        ASSERT_OK(net_network_new(
                &(struct net_create_opts){.name = NET_DEFAULT_NAME, .is_default = true}, &ctx, &a,
                NULL));
        ASSERT_STREQ(a->ifname, "berth0");
        ipam_cidr_format(&a->ipam.subnet, buf);
        ASSERT_STREQ(buf, "172.17.0.0/16");
        nets[0] = a;
        ctx.networks = nets;
        ctx.n_networks = 1;
        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "web", .options = opts}, &ctx,
                                  &b, NULL));
        ipam_cidr_format(&b->ipam.subnet, buf);
        ASSERT_STREQ(buf, "172.19.0.0/16"); /* 172.18 is a host route */
        ASSERT_EQ(strlen(b->ifname), 15);
        ASSERT_TRUE(strncmp(b->ifname, "br-", 3) == 0);
        ASSERT_EQ(b->mtu, 1400);
        ASSERT_FALSE(b->icc);
        nets[1] = b;
        ctx.n_networks = 2;

        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "web"}, &ctx, &c, &e), EEXIST);
        e = err_free(e);
        ASSERT_ERR(
                net_network_new(&(struct net_create_opts){.name = "x", .subnet = "172.19.5.0/24"},
                                &ctx, &c, &e),
                EEXIST);
        ASSERT_STREQ(e->msg, "network 'x': subnet '172.19.5.0/24' overlaps network 'web' "
                             "(172.19.0.0/16)");
        e = err_free(e);
        ASSERT_ERR(
                net_network_new(&(struct net_create_opts){.name = "x", .subnet = "172.18.0.0/24"},
                                &ctx, &c, &e),
                EEXIST);
        ASSERT_TRUE(strstr(e->msg, "overlaps host route 172.18.0.0/16") != NULL);
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "-x"}, &ctx, &c, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "x", .driver = "macvlan"},
                                   &ctx, &c, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "x", .options = bad_opts},
                                   &ctx, &c, &e),
                   EINVAL);
        ASSERT_TRUE(strstr(e->msg, "com.docker.network.driver.mtu") != NULL);
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "x", .options = unknown_opts},
                                   &ctx, &c, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "x", .gateway = "10.0.0.1"},
                                   &ctx, &c, &e),
                   EINVAL);
        ASSERT_NULL(c);
}

static void test_endpoint_and_persistence(void) {
        _cleanup_net_network_ struct net_network *n = NULL, *m = NULL;
        _cleanup_net_endpoint_ struct net_endpoint *ep1 = NULL, *ep2 = NULL, *ep3 = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct net_network **all = NULL;
        char tmpl[] = "/tmp/berth-ipam-XXXXXX", mac[18];
        struct net_context ctx = {};
        size_t nall = 0;
        uint32_t a;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        ASSERT_OK(net_network_new(
                &(struct net_create_opts){.name = "db", .subnet = "10.7.0.0/24", .internal = true},
                &ctx, &n, NULL));
        ASSERT_OK(net_endpoint_new(n, "ctr1", "eth0", NULL, NULL, &ep1, NULL));
        nl_mac_format(ep1->mac, mac);
        ASSERT_STREQ(mac, "02:42:0a:07:00:02");
        ASSERT_TRUE(strncmp(ep1->host_ifname, "vb", 2) == 0);
        ASSERT_OK(
                net_endpoint_new(n, "ctr2", "eth1", "10.7.0.50", "02:aa:bb:cc:dd:ee", &ep2, NULL));
        nl_mac_format(ep2->mac, mac);
        ASSERT_STREQ(mac, "02:aa:bb:cc:dd:ee");
        ASSERT_ERR(net_endpoint_new(n, "ctr3", "eth0", "10.7.0.50", NULL, &ep3, &e), EADDRINUSE);
        e = err_free(e);
        ASSERT_ERR(net_endpoint_new(n, "ctr3", "eth0", NULL, "01:00:00:00:00:01", &ep3, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_ERR(net_endpoint_new(n, "ctr3", "eth0", "10.7.0.x", NULL, &ep3, &e), EINVAL);
        ASSERT_NULL(ep3);
        ASSERT_OK(net_network_save(tmpl, n, NULL));

        /* reload and continue: the next address follows the persisted ones */
        ASSERT_OK(net_network_load(tmpl, "db", &m, NULL));
        ASSERT_STREQ(m->id, n->id);
        ASSERT_STREQ(m->ifname, n->ifname);
        ASSERT_TRUE(m->internal);
        ASSERT_EQ(m->ipam.n_allocs, 2);
        ASSERT_STREQ(ipam_owner(&m->ipam, 0x0a070032u), "ctr2");
        ASSERT_OK(ipam_alloc(&m->ipam, "ctr3", 0, &a, NULL));
        ASSERT_EQ(a, 0x0a070003u);
        ASSERT_OK(net_network_load_all(tmpl, &all, &nall, NULL));
        ASSERT_EQ(nall, 1);
        net_network_list_free(all, nall);

        /* corrupted state is reported with the file name */
        {
                _cleanup_free_ char *p = xasprintf("%s/networks/bad.json", tmpl);
                struct net_network *x = NULL;

                ASSERT_OK(write_file_atomic(p, "{\"version\":9}", 13, 0600, NULL));
                ASSERT_ERR(net_network_load(tmpl, "bad", &x, &e), EINVAL);
                ASSERT_TRUE(strstr(e->msg, "bad.json") != NULL);
                e = err_free(e);
                ASSERT_EQ(net_network_remove_state(tmpl, "bad", NULL), 1);
        }
        ASSERT_EQ(net_network_remove_state(tmpl, "db", NULL), 1);
        ASSERT_EQ(net_network_remove_state(tmpl, "db", NULL), 0);
        ASSERT_OK(rm_rf(tmpl, NULL));
}

static void test_overlay_options(void) {
        _cleanup_net_network_ struct net_network *n = NULL, *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct net_context ctx = {};

        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "ov",
                                                             .driver = "overlay",
                                                             .subnet = "10.8.0.0/24",
                                                             .vtep_local = "192.168.1.1"},
                                   &ctx, &n, &e),
                   EINVAL);
        ASSERT_STREQ(e->field, "vni");
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "ov",
                                                             .driver = "overlay",
                                                             .subnet = "10.8.0.0/24",
                                                             .vni = 7,
                                                             .vtep_local = "192.168.1"},
                                   &ctx, &n, &e),
                   EINVAL);
        ASSERT_STREQ(e->field, "vtep_local");
        e = err_free(e);
        ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "br", .vni = 7}, &ctx, &n, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "ov",
                                                            .driver = "overlay",
                                                            .subnet = "10.8.0.0/24",
                                                            .vni = 7,
                                                            .vtep_local = "192.168.1.1",
                                                            .vtep_dev = "eth0"},
                                  &ctx, &n, &e));
        ASSERT_TRUE(n->internal);
        ASSERT_EQ(n->mtu, 1450);
        j = net_network_to_json(n);
        ASSERT_OK(net_network_from_json(j, &m, &e));
        ASSERT_EQ(m->driver, NET_DRIVER_OVERLAY);
        ASSERT_EQ(m->vni, 7);
        ASSERT_EQ(m->vtep, 0xc0a80101u);
        ASSERT_STREQ(m->vtep_dev, "eth0");
        ASSERT_EQ(m->mtu, 1450);
        ASSERT_EQ(m->node_ip, 0);
}

/* node_ip: a host address of the subnet other than the gateway, persisted. */
static void test_overlay_node_ip(void) {
        static const char *const bad[] = {"10.8.1.5", "10.8.0.1", "10.8.0.0", "10.8.0.255",
                                          "10.8.0"};
        _cleanup_net_network_ struct net_network *n = NULL, *m = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct net_context ctx = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_err_ struct err *e = NULL;
                _cleanup_net_network_ struct net_network *x = NULL;

                ASSERT_ERR(net_network_new(&(struct net_create_opts){.name = "ov",
                                                                     .driver = "overlay",
                                                                     .subnet = "10.8.0.0/24",
                                                                     .vni = 7,
                                                                     .vtep_local = "192.168.1.1",
                                                                     .node_ip = bad[i]},
                                           &ctx, &x, &e),
                           EINVAL);
                ASSERT_STREQ(e->field, "node_ip");
        }
        {
                _cleanup_err_ struct err *e = NULL;

                ASSERT_ERR(net_network_new(
                                   &(struct net_create_opts){.name = "br", .node_ip = "10.8.0.2"},
                                   &ctx, &n, &e),
                           EINVAL);
        }
        ASSERT_OK(net_network_new(&(struct net_create_opts){.name = "ov",
                                                            .driver = "overlay",
                                                            .subnet = "10.8.0.0/24",
                                                            .vni = 7,
                                                            .vtep_local = "192.168.1.1",
                                                            .node_ip = "10.8.0.254"},
                                  &ctx, &n, NULL));
        ASSERT_EQ(n->node_ip, 0x0a0800feu);
        j = net_network_to_json(n);
        ASSERT_STREQ(json_get_str(j, "node_ip", ""), "10.8.0.254");
        ASSERT_OK(net_network_from_json(j, &m, NULL));
        ASSERT_EQ(m->node_ip, 0x0a0800feu);
}

/* docker's --default-address-pool syntax. */
static void test_pool_spec(void) {
        _cleanup_err_ struct err *e = NULL;
        struct ipam_pool p;

        ASSERT_OK(ipam_pool_parse_spec("base=10.10.0.0/16,size=24", &p, NULL));
        ASSERT_EQ(p.base.net, 0x0a0a0000u);
        ASSERT_EQ(p.base.len, 16);
        ASSERT_EQ(p.size, 24);
        ASSERT_OK(ipam_pool_parse_spec("size=20,base=172.80.0.0/12", &p, NULL));
        ASSERT_EQ(p.size, 20);
        ASSERT_EQ(p.base.len, 12);
        ASSERT_ERR(ipam_pool_parse_spec("base=10.10.0.0/16", &p, &e), EINVAL);
        ASSERT_STREQ(e->msg, "address pool 'base=10.10.0.0/16': expected base=CIDR,size=N");
        e = err_free(e);
        ASSERT_ERR(ipam_pool_parse_spec("base=10.10.0.0/16,size=8", &p, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "shorter than the base's prefix length 16") != NULL);
        e = err_free(e);
        ASSERT_ERR(ipam_pool_parse_spec("base=10.10.0.0/16,size=31", &p, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(ipam_pool_parse_spec("base=10.10.0.5/16,size=24", &p, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "base") != NULL);
        e = err_free(e);
        ASSERT_ERR(ipam_pool_parse_spec("base=10.10.0.0/16,size=24,gw=1", &p, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "unexpected 'gw=1'") != NULL);
        e = err_free(e);
        ASSERT_ERR(ipam_pool_parse_spec("base=10.10.0.0/16,base=10.11.0.0/16,size=24", &p, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_ERR(ipam_pool_parse_spec("", &p, &e), EINVAL);
}

TAP_MAIN(test_cidr_parse, test_overlay_options, test_overlay_node_ip, test_overlap,
         test_init_validation, test_alloc, test_ip_range, test_pool_choice, test_pool_spec,
         test_network_new, test_endpoint_and_persistence)
