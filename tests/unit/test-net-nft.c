/* SPDX-License-Identifier: Apache-2.0 */
/* nft ruleset generation (pure) against golden files in tests/golden/nft/. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "net/nft.h"
#include "tap.h"
#include "xalloc.h"

static struct net_network *mknet(const char *name, const char *ifname, const char *subnet,
                                 bool internal, bool icc) {
        struct net_network *n = xnew0(struct net_network, 1);

        n->name = xstrdup(name);
        n->id = xstrdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        n->ifname = xstrdup(ifname);
        n->internal = internal;
        n->icc = icc;
        if (ipam_init(&n->ipam, subnet, NULL, NULL, NULL) < 0)
                abort();
        return n;
}

static void compare_golden(const char *got, const char *name, bool *ok) {
        _cleanup_free_ char *path = xasprintf("%s/tests/golden/nft/%s", SRCDIR, name);
        _cleanup_free_ char *want = NULL;
        size_t len;

        *ok = false;
        if (getenv("BERTH_UPDATE_GOLDEN"))
                (void)write_file_atomic(path, got, strlen(got), 0644, NULL);
        if (read_file(path, 1 << 20, &want, &len, NULL) < 0) {
                printf("# cannot read %s\n", path);
                return;
        }
        if (strcmp(want, got) != 0) {
                printf("# %s differs; got:\n%s", path, got);
                return;
        }
        *ok = true;
}

static void test_publish_parse(void) {
        _cleanup_err_ struct err *e = NULL;
        struct nft_publish p;
        char buf[64];

        ASSERT_OK(nft_publish_parse("8080:80", &p, NULL));
        ASSERT_EQ(p.proto, IPPROTO_TCP);
        ASSERT_EQ(p.host_ip, 0);
        ASSERT_EQ(p.host_port, 8080);
        ASSERT_EQ(p.ctr_port, 80);
        ASSERT_OK(nft_publish_parse("127.0.0.1:5000-5002:6000-6002/udp", &p, NULL));
        ASSERT_EQ(p.proto, IPPROTO_UDP);
        ASSERT_EQ(p.host_ip, 0x7f000001u);
        ASSERT_EQ(p.host_port_end, 5002);
        nft_publish_format(&p, buf, sizeof(buf));
        ASSERT_STREQ(buf, "127.0.0.1:5000-5002:6000-6002/udp");
        ASSERT_ERR(nft_publish_parse("80", &p, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(nft_publish_parse("8080:80/sctp", &p, &e), EINVAL);
        ASSERT_STREQ(e->msg, "invalid port mapping '8080:80/sctp': protocol must be tcp or udp");
        e = err_free(e);
        ASSERT_ERR(nft_publish_parse("0:80", &p, NULL), EINVAL);
        ASSERT_ERR(nft_publish_parse("70000:80", &p, NULL), EINVAL);
        ASSERT_ERR(nft_publish_parse("8080-8081:80", &p, NULL), EINVAL);
        ASSERT_ERR(nft_publish_parse("8081-8080:80-79", &p, NULL), EINVAL);
        ASSERT_ERR(nft_publish_parse("1.2.3:8080:80", &p, NULL), EINVAL);
        ASSERT_ERR(nft_publish_parse("1000-3000:1000-3000", &p, NULL), EINVAL);
}

static void test_empty_deletes_tables(void) {
        _cleanup_free_ char *s = NULL;
        struct nft_state st = {};

        ASSERT_OK(nft_ruleset(&st, &s, NULL));
        ASSERT_STREQ(s, "table ip berth\ndelete table ip berth\n"
                        "table bridge berth\ndelete table bridge berth\n");
}

static void test_golden_networks(void) {
        struct net_network *nets[3];
        struct nft_publish p[3];
        _cleanup_free_ char *s = NULL;
        bool ok;

        nets[0] = mknet("back", "br-000000000001", "172.19.0.0/16", false, false);
        nets[1] = mknet("bridge", "berth0", "172.17.0.0/16", false, true);
        nets[2] = mknet("db", "br-000000000002", "10.7.0.0/24", true, true);
        ASSERT_OK(nft_publish_parse("8080:80", &p[0], NULL));
        ASSERT_OK(nft_publish_parse("127.0.0.1:5353-5354:53-54/udp", &p[1], NULL));
        ASSERT_OK(nft_publish_parse("9000:9000", &p[2], NULL));
        {
                struct nft_endpoint eps[] = {
                        {"web", "bridge", "vb00000001", 0xac110002u, p, 2},
                        {"api", "back", "vb00000002", 0xac130002u, p + 2, 1},
                        {"worker", "back", "vb00000003", 0xac130003u, NULL, 0},
                        {"pg", "db", "vb00000004", 0x0a070002u, NULL, 0},
                };
                struct nft_state st = {nets, 3, eps, ELEMENTSOF(eps)};

                ASSERT_OK(nft_ruleset(&st, &s, NULL));
        }
        for (size_t i = 0; i < 3; i++)
                net_network_free(nets[i]);
        compare_golden(s, "three-networks.nft", &ok);
        ASSERT_TRUE(ok);
}

static void test_conflicts(void) {
        struct net_network *nets[2];
        struct nft_publish p[3];
        _cleanup_err_ struct err *e = NULL;
        char *s = NULL;

        nets[0] = mknet("a", "br-a", "10.1.0.0/24", false, true);
        nets[1] = mknet("i", "br-i", "10.2.0.0/24", true, true);
        ASSERT_OK(nft_publish_parse("8080:80", &p[0], NULL));
        ASSERT_OK(nft_publish_parse("127.0.0.1:8080:81", &p[1], NULL));
        ASSERT_OK(nft_publish_parse("8080:80/udp", &p[2], NULL));
        {
                struct nft_endpoint eps[] = {
                        {"c1", "a", "vb1", 0x0a010002u, p, 1},
                        {"c2", "a", "vb2", 0x0a010003u, p + 1, 2},
                };
                struct nft_state st = {nets, 2, eps, 2};

                ASSERT_ERR(nft_ruleset(&st, &s, &e), EADDRINUSE);
                ASSERT_STREQ(e->msg, "port 127.0.0.1:8080:81/tcp of 'c2' is already published by "
                                     "'c1' (8080:80/tcp)");
                e = err_free(e);
                /* the same port over UDP is fine */
                eps[1].ports = p + 2;
                eps[1].n_ports = 1;
                ASSERT_OK(nft_ruleset(&st, &s, NULL));
                free(s);
                s = NULL;
                eps[1].network = "i";
                ASSERT_ERR(nft_ruleset(&st, &s, &e), EINVAL);
                ASSERT_TRUE(strstr(e->msg, "internal network 'i'") != NULL);
                e = err_free(e);
                eps[1].network = "nope";
                ASSERT_ERR(nft_ruleset(&st, &s, &e), EINVAL);
        }
        ASSERT_NULL(s);
        net_network_free(nets[0]);
        net_network_free(nets[1]);
}

static void test_apply_error(void) {
        _cleanup_err_ struct err *e = NULL;

        ASSERT_ERR(nft_apply("table ip berth {\n\tbogus stuff\n}\n", &e), EIO);
        ASSERT_TRUE(strstr(e->msg, "apply nftables ruleset: ") != NULL);
        ASSERT_TRUE(strstr(e->msg, "syntax error") != NULL);
}

static void test_services(void) {
        struct net_network *nets[1];
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *s = NULL;
        uint32_t be[3] = {0xac120002u, 0xac120003u, 0xac120004u};
        struct nft_service svcs[] = {
                {"web", 0x0a60000au, IPPROTO_TCP, 80, be, 3, 8080},
                {"dns", 0x0a60000bu, IPPROTO_UDP, 53, be, 1, 0},
                {"idle", 0x0a60000cu, IPPROTO_TCP, 80, NULL, 0, 0},
        };
        bool ok;

        nets[0] = mknet("app", "br-000000000003", "172.18.0.0/16", false, true);
        {
                struct nft_state st = {nets, 1, NULL, 0, svcs, 3};

                ASSERT_OK(nft_ruleset(&st, &s, NULL));
                compare_golden(s, "services.nft", &ok);
                ASSERT_TRUE(ok);
                svcs[2].vip = 0x0a60000au; /* same VIP and port as web */
                ASSERT_ERR(nft_ruleset(&st, &s, &e), EEXIST);
                ASSERT_STREQ(e->msg, "service 'idle': 10.96.0.10:80/tcp is already used by "
                                     "service 'web'");
                e = err_free(e);
                svcs[2].vip = 0xac120063u; /* inside the network */
                ASSERT_ERR(nft_ruleset(&st, &s, &e), EINVAL);
                ASSERT_TRUE(strstr(e->msg, "inside network 'app'") != NULL);
                e = err_free(e);
                svcs[2].vip = 0;
                ASSERT_ERR(nft_ruleset(&st, &s, &e), EINVAL);
        }
        net_network_free(nets[0]);
}

/* Connect and disconnect change only the endpoint's own elements. */
static void test_endpoint_script(void) {
        struct net_network *nets[2];
        struct nft_publish p[2];
        _cleanup_err_ struct err *e = NULL;
        char *s = NULL;

        nets[0] = mknet("a", "br-a", "10.1.0.0/24", false, true);
        nets[1] = mknet("q", "br-q", "10.2.0.0/24", false, false); /* icc=false */
        ASSERT_OK(nft_publish_parse("8080-8081:80-81", &p[0], NULL));
        ASSERT_OK(nft_publish_parse("127.0.0.1:53:53/udp", &p[1], NULL));
        {
                struct nft_endpoint eps[] = {
                        {"c1", "a", "vb1", 0x0a010002u, p, 2},
                        {"c2", "q", "vb2", 0x0a020002u, NULL, 0},
                        {"c3", "a", "vb3", 0x0a010003u, p, 1},
                };
                struct nft_state st = {nets, 2, eps, 2, .table = "berth-t"};

                ASSERT_OK(nft_endpoint_script(&st, &eps[0], true, &s, NULL));
                ASSERT_STREQ(s, "add element ip berth-t publish_ip { 127.0.0.1 . udp . 53 : "
                                "10.1.0.2 . 53 }\nadd element ip berth-t publish_any { tcp . "
                                "8080 : 10.1.0.2 . 80, tcp . 8081 : 10.1.0.2 . 81 }\n");
                free(s);
                ASSERT_OK(nft_endpoint_script(&st, &eps[0], false, &s, NULL));
                ASSERT_STREQ(s, "delete element ip berth-t publish_ip { 127.0.0.1 . udp . 53 "
                                "}\ndelete element ip berth-t publish_any { tcp . 8080, tcp . "
                                "8081 }\n");
                free(s);
                ASSERT_OK(nft_endpoint_script(&st, &eps[1], true, &s, NULL));
                ASSERT_STREQ(s, "add element bridge berth-t noicc { \"vb2\" }\n");
                free(s);
                s = NULL;
                /* a clash with an endpoint already there is refused before anything runs */
                st.n_eps = 3;
                ASSERT_ERR(nft_endpoint_script(&st, &eps[2], true, &s, &e), EADDRINUSE);
                ASSERT_TRUE(strstr(e->msg, "already published by 'c1'") != NULL);
                e = err_free(e);
                eps[2].network = "nope";
                ASSERT_ERR(nft_endpoint_script(&st, &eps[2], false, &s, &e), EINVAL);
                ASSERT_NULL(s);
                eps[2].network = "a";
                eps[2].n_ports = 0;
                ASSERT_OK(nft_endpoint_script(&st, &eps[2], true, &s, NULL));
                ASSERT_STREQ(s, "");
                free(s);
        }
        net_network_free(nets[0]);
        net_network_free(nets[1]);
}

/* A service update touches only the VIPs that changed. */
static void test_services_script(void) {
        uint32_t be[3] = {0xac120002u, 0xac120003u, 0xac120004u};
        struct nft_service old[] = {
                {"web", 0x0a60000au, IPPROTO_TCP, 80, be, 2, 0},
                {"dns", 0x0a60000bu, IPPROTO_UDP, 53, be, 1, 0},
                {"gone", 0x0a60000cu, IPPROTO_TCP, 80, be, 1, 0},
        };
        struct nft_service now[] = {
                {"web", 0x0a60000au, IPPROTO_TCP, 80, be, 3, 0},
                {"dns", 0x0a60000bu, IPPROTO_UDP, 53, be, 1, 0},
                {"new", 0x0a60000du, IPPROTO_TCP, 443, be + 2, 1, 8443},
                {"idle", 0x0a60000eu, IPPROTO_TCP, 80, NULL, 0, 0},
        };
        struct nft_state st = {.svcs = now, .n_svcs = 4};
        _cleanup_err_ struct err *e = NULL;
        char *s = NULL;

        ASSERT_OK(nft_services_script(&st, old, 3, &s, NULL));
        ASSERT_STREQ(s, "delete element ip berth services { 10.96.0.12 . tcp . 80 }\n"
                        "flush chain ip berth svc-0a60000c-tcp-80\n"
                        "delete chain ip berth svc-0a60000c-tcp-80\n"
                        "flush chain ip berth svc-0a60000a-tcp-80\n"
                        "add rule ip berth svc-0a60000a-tcp-80 meta l4proto tcp dnat ip to "
                        "numgen inc mod 3 map { 0 : 172.18.0.2 . 80, 1 : 172.18.0.3 . 80, 2 : "
                        "172.18.0.4 . 80 }\n"
                        "add chain ip berth svc-0a60000d-tcp-443\n"
                        "add rule ip berth svc-0a60000d-tcp-443 meta l4proto tcp dnat ip to "
                        "172.18.0.4:8443\n"
                        "add element ip berth services { 10.96.0.13 . tcp . 443 : goto "
                        "svc-0a60000d-tcp-443 }\n");
        free(s);
        ASSERT_OK(nft_services_script(&st, now, 4, &s, NULL));
        ASSERT_STREQ(s, "");
        free(s);
        s = NULL;
        now[3].vip = 0x0a60000au;
        ASSERT_ERR(nft_services_script(&st, old, 3, &s, &e), EEXIST);
        ASSERT_NULL(s);
}

/* An overlay network with this host's own address: VIP traffic leaving on it is SNATed to that
 * address (a remote replica answers through this host); without one, nothing. */
static void test_overlay_node_snat(void) {
        struct net_network *nets[1];
        _cleanup_free_ char *s = NULL, *s2 = NULL;

        nets[0] = mknet("ov", "br-0000000000ov", "10.129.0.0/24", true, true);
        nets[0]->driver = NET_DRIVER_OVERLAY;
        {
                struct nft_state st = {nets, 1, NULL, 0};

                ASSERT_OK(nft_ruleset(&st, &s, NULL));
                nets[0]->node_ip = 0x0a8100feu;
                ASSERT_OK(nft_ruleset(&st, &s2, NULL));
        }
        net_network_free(nets[0]);
        ASSERT_NULL(strstr(s, "snat"));
        ASSERT_NOT_NULL(strstr(s2, "ip saddr 10.129.0.0/24 oifname \"br-0000000000ov\" ct status "
                                   "dnat snat to 10.129.0.254\n"));
        /* egress: out of the host masqueraded, the forward chain lets it out and the replies
         * back in (not from or to another berth network); nothing without a node address */
        ASSERT_NULL(strstr(s, "masquerade"));
        ASSERT_NULL(strstr(s, "established"));
        ASSERT_NOT_NULL(strstr(s2, "ip saddr 10.129.0.0/24 ip daddr != 10.129.0.0/24 oifname != "
                                   "\"br-0000000000ov\" masquerade\n"));
        ASSERT_NOT_NULL(strstr(s2, "iifname \"br-0000000000ov\" ip saddr 10.129.0.0/24 oifname "
                                   "!= \"br-0000000000ov\" oifname != { \"berth*\", \"br-*\" } "
                                   "accept\n"));
        ASSERT_NOT_NULL(strstr(s2, "oifname \"br-0000000000ov\" ip daddr 10.129.0.0/24 iifname "
                                   "!= \"br-0000000000ov\" iifname != { \"berth*\", \"br-*\" } "
                                   "ct state established,related accept\n"));
        /* before the drops that keep other traffic off the network */
        ASSERT_TRUE(strstr(s2, "established,related accept") <
                    strstr(s2, "oifname \"br-0000000000ov\" iifname != \"br-0000000000ov\" drop"));
        /* the ruleset is valid nft (checked when nft is there) */
        if (geteuid() == 0 && access("/usr/sbin/nft", X_OK) == 0) {
                _cleanup_free_ char *path = xasprintf("/tmp/test-net-nft-%d.nft", (int)getpid());
                _cleanup_free_ char *cmd = NULL;

                ASSERT_OK(write_file_atomic(path, s2, strlen(s2), 0644, NULL));
                cmd = xasprintf("nft -c -f %s", path);
                ASSERT_EQ(system(cmd), 0);
                (void)unlink(path);
        }
}

/* The routing mesh: a service's published port answers on every local address through the
 * VIP's chain; its element comes and goes with the service's backends and port; a clash with a
 * container's published port or another service's mesh port is refused naming both. */
static void test_mesh_ingress(void) {
        uint32_t be[2] = {0x0a800002u, 0x0a800003u};
        struct nft_service old[] = {
                {"s/web@n:80/tcp", 0x0a60000au, IPPROTO_TCP, 80, be, 1, 8080, 30080},
                {"s/api@n:81/tcp", 0x0a60000bu, IPPROTO_TCP, 81, be, 1, 0, 30081},
        };
        struct nft_service now[] = {
                {"s/web@n:80/tcp", 0x0a60000au, IPPROTO_TCP, 80, be, 2, 8080, 30080},
                {"s/api@n:81/tcp", 0x0a60000bu, IPPROTO_TCP, 81, be, 1, 0, 30082},
                {"s/idle@n:82/tcp", 0x0a60000cu, IPPROTO_TCP, 82, NULL, 0, 0, 30083},
        };
        struct nft_publish pub = {IPPROTO_TCP, 0, 30080, 30080, 80, 80};
        struct nft_endpoint ep = {"c1", "ov", "veth1", 0x0a800009u, &pub, 1};
        struct net_network *nets[1];
        struct nft_state st = {.svcs = now, .n_svcs = 3};
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *full = NULL;
        char *s = NULL;

        ASSERT_OK(nft_services_script(&st, old, 2, &s, NULL));
        ASSERT_STREQ(s,
                     "delete element ip berth ingress { tcp . 30081 }\n"
                     "flush chain ip berth svc-0a60000a-tcp-80\n"
                     "add rule ip berth svc-0a60000a-tcp-80 meta l4proto tcp dnat ip to "
                     "numgen inc mod 2 map { 0 : 10.128.0.2 . 8080, 1 : 10.128.0.3 . 8080 }\n"
                     "add element ip berth ingress { tcp . 30082 : goto svc-0a60000b-tcp-81 }\n");
        free(s);
        s = NULL;
        /* the whole ruleset: the map, its element, the lookup in publish */
        nets[0] = mknet("ov", "br-0000000000ov", "10.128.0.0/24", true, true);
        nets[0]->driver = NET_DRIVER_OVERLAY;
        nets[0]->node_ip = 0x0a8000feu;
        st.nets = nets;
        st.n_nets = 1;
        ASSERT_OK(nft_ruleset(&st, &full, NULL));
        ASSERT_NOT_NULL(strstr(full, "map ingress {\n\t\ttype inet_proto . inet_service : "
                                     "verdict\n\t\telements = { tcp . 30080 : goto "
                                     "svc-0a60000a-tcp-80, tcp . 30082 : goto "
                                     "svc-0a60000b-tcp-81 }\n"));
        ASSERT_NOT_NULL(strstr(full, "chain publish {\n\t\tmeta l4proto . th dport vmap "
                                     "@ingress\n"));
        ASSERT_NOT_NULL(strstr(full, "ip saddr != 10.128.0.0/24 oifname \"br-0000000000ov\" ct "
                                     "status dnat snat to 10.128.0.254\n"));
        ASSERT_NOT_NULL(strstr(full, "ct status dnat oifname \"br-0000000000ov\" accept\n"));
        /* a container's published port */
        st.eps = &ep;
        st.n_eps = 1;
        ASSERT_ERR(nft_services_script(&st, old, 2, &s, &e), EADDRINUSE);
        ASSERT_NULL(s);
        ASSERT_NOT_NULL(strstr(e->msg, "service 's/web@n:80/tcp': host port 30080/tcp of the "
                                       "routing mesh is already published by 'c1'"));
        e = err_free(e);
        st.n_eps = 0;
        /* another service's mesh port */
        now[1].published = 30080;
        ASSERT_ERR(nft_services_script(&st, old, 2, &s, &e), EADDRINUSE);
        ASSERT_NOT_NULL(strstr(e->msg, "already published by service 's/web@n:80/tcp'"));
        net_network_free(nets[0]);
}

/* The overlay fast path: frames bridged between containers of the subnet (neither end this
 * host: its gateway and node address stay tracked for DNS, VIPs and their SNAT) and the VTEP's
 * VXLAN packets are not tracked; the forward chain accepts a frame that stays on the overlay
 * bridge before any other rule, and frames that change bridge still meet every isolation rule.
 * One VXLAN rule per VTEP, however many overlay networks share it; nothing for bridge
 * networks. */
static void test_overlay_notrack(void) {
        struct net_network *nets[3];
        _cleanup_free_ char *s = NULL, *s2 = NULL;
        const char *fwd, *accept, *drop;

        nets[0] = mknet("ov", "br-0000000000ov", "10.129.0.0/24", true, true);
        nets[1] = mknet("ov2", "br-000000000ov2", "10.130.0.0/24", true, false);
        nets[2] = mknet("back", "br-000000000001", "172.19.0.0/16", false, true);
        for (int i = 0; i < 2; i++) {
                nets[i]->driver = NET_DRIVER_OVERLAY;
                nets[i]->vtep = 0xc6120002u;
        }
        nets[0]->node_ip = 0x0a8100feu;
        {
                struct nft_state st = {nets, 3, NULL, 0};
                struct nft_state bridge_only = {nets + 2, 1, NULL, 0};

                ASSERT_OK(nft_ruleset(&st, &s, NULL));
                ASSERT_OK(nft_ruleset(&bridge_only, &s2, NULL));
        }
        for (size_t i = 0; i < 3; i++)
                net_network_free(nets[i]);
        ASSERT_NOT_NULL(strstr(s, "\tchain overlay_notrack {\n\t\ttype filter hook prerouting "
                                  "priority raw; policy accept;\n"
                                  "\t\tiifname \"br-0000000000ov\" ip saddr 10.129.0.0/24 ip daddr "
                                  "10.129.0.0/24 ip daddr != { 10.129.0.1, 10.129.0.254 } notrack\n"
                                  "\t\tiifname \"br-000000000ov2\" ip saddr 10.130.0.0/24 ip daddr "
                                  "10.130.0.0/24 ip daddr != 10.130.0.1 notrack\n"
                                  "\t\tip daddr 198.18.0.2 udp dport 4789 notrack\n\t}\n"));
        ASSERT_NOT_NULL(strstr(s, "\tchain overlay_notrack_out {\n\t\ttype filter hook output "
                                  "priority raw; policy accept;\n"
                                  "\t\tip saddr 198.18.0.2 udp dport 4789 notrack\n\t}\n"));
        ASSERT_NULL(strstr(s, "br-000000000001\" ip saddr"));
        fwd = strstr(s, "\tchain forward {");
        ASSERT_NOT_NULL(fwd);
        accept =
                strstr(fwd, "\t\tiifname \"br-0000000000ov\" oifname \"br-0000000000ov\" accept\n");
        drop = strstr(fwd, " drop\n");
        ASSERT_NOT_NULL(accept);
        ASSERT_NOT_NULL(drop);
        ASSERT_TRUE(accept < drop);
        ASSERT_NULL(strstr(s, "oifname \"br-000000000001\" accept"));
        /* icc=false on an overlay is still the bridge table's. */
        ASSERT_NOT_NULL(strstr(s, "table bridge berth {"));
        ASSERT_NULL(strstr(s2, "notrack"));
        ASSERT_NULL(strstr(s2, "oifname \"br-000000000001\" accept"));
}

TAP_MAIN(test_publish_parse, test_services, test_apply_error, test_empty_deletes_tables,
         test_golden_networks, test_conflicts, test_endpoint_script, test_services_script,
         test_overlay_node_snat, test_mesh_ingress, test_overlay_notrack)
