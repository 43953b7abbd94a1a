/* SPDX-License-Identifier: Apache-2.0 */
/* The network manager end to end (root): persistence across a restart, rollback on errors,
 * DNS from inside a container namespace, published ports. Runs in a private namespace. */
#include <ev.h>
#include <ldns/ldns.h>
#include <stdlib.h>

#include "cleanup.h"
#include "fileio.h"
#include "net-test.h"
#include "net/dns.h"
#include "net/netmgr.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static bool ready;
static char root[] = "/tmp/berth-netmgr-XXXXXX";
static struct ev_loop *loop;
static int ns[3] = {-1, -1, -1};

struct wait_pipe {
        ev_io io;
        ev_timer guard;
};

static void pipe_cb(struct ev_loop *l, ev_io *w, int revents) {
        (void)w;
        (void)revents;
        ev_break(l, EVBREAK_ALL);
}

static void guard_cb(struct ev_loop *l, ev_timer *w, int revents) {
        (void)w;
        (void)revents;
        ev_break(l, EVBREAK_ALL);
}

/* Resolves name (type A) from inside netns through server:53 while the loop runs the server.
 * Returns the first address (host order), 0 for an empty answer, or (uint32_t)-1 on failure. */
static uint32_t resolve_in(int netns, const char *server, const char *name) {
        struct wait_pipe w;
        uint32_t ip = (uint32_t)-1;
        int pfd[2];
        pid_t pid;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return ip;
        pid = fork();
        if (pid == 0) {
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
                ldns_pkt *q = NULL, *r = NULL;
                uint8_t *wire = NULL, buf[1500];
                struct pollfd p;
                uint32_t out = (uint32_t)-1;
                size_t wl;
                ssize_t n;
                int s;

                if (setns(netns, CLONE_NEWNET) < 0)
                        _exit(1);
                inet_pton(AF_INET, server, &sa.sin_addr);
                s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                        _exit(1);
                if (ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
                                               LDNS_RD) != LDNS_STATUS_OK ||
                    ldns_pkt2wire(&wire, q, &wl) != LDNS_STATUS_OK)
                        _exit(1);
                if (send(s, wire, wl, 0) == (ssize_t)wl) {
                        p = (struct pollfd){.fd = s, .events = POLLIN};
                        if (poll(&p, 1, 5000) == 1 && (n = recv(s, buf, sizeof(buf), 0)) > 0 &&
                            ldns_wire2pkt(&r, buf, (size_t)n) == LDNS_STATUS_OK) {
                                out = 0;
                                if (ldns_pkt_ancount(r) > 0) {
                                        memcpy(&out,
                                               ldns_rdf_data(ldns_rr_rdf(
                                                       ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0)),
                                               4);
                                        out = ntohl(out);
                                }
                        }
                }
                (void)!write(pfd[1], &out, sizeof(out));
                _exit(0);
        }
        close(pfd[1]);
        if (pid > 0) {
                ev_io_init(&w.io, pipe_cb, pfd[0], EV_READ);
                ev_timer_init(&w.guard, guard_cb, 10., 0.);
                ev_io_start(loop, &w.io);
                ev_timer_start(loop, &w.guard);
                ev_run(loop, 0);
                ev_io_stop(loop, &w.io);
                ev_timer_stop(loop, &w.guard);
                if (read(pfd[0], &ip, sizeof(ip)) != sizeof(ip))
                        ip = (uint32_t)-1;
                nt_reap(pid);
        }
        close(pfd[0]);
        return ip;
}

static void test_setup(void) {
        if (nt_enter_private_netns() < 0)
                TAP_SKIP("needs root for private network namespaces");
        ASSERT_NOT_NULL(mkdtemp(root));
        loop = ev_loop_new(EVFLAG_AUTO);
        ASSERT_NOT_NULL(loop);
        for (int i = 0; i < 3; i++) {
                ns[i] = nt_new_netns();
                ASSERT_TRUE(ns[i] >= 0);
        }
        ready = true;
}

static void test_lifecycle(void) {
        _cleanup_netmgr_ struct netmgr *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        const struct net_network *app = NULL;
        const struct net_endpoint *ep = NULL;
        char *names1[] = {"web", "www", NULL}, *names2[] = {"web", "db", NULL};
        char *ports1[] = {"8080:80", NULL}, *ports_clash[] = {"8080:81", NULL};
        struct netmgr_opts o = {.root = root};
        char buf[19];
        pid_t s;

        if (!ready)
                TAP_SKIP("setup did not complete");
        ASSERT_OK(netmgr_new(loop, &o, &m, &e));
        ASSERT_EQ(netmgr_n_networks(m), 1);
        ASSERT_STREQ(netmgr_network_at(m, 0)->ifname, "berth0");
        ipam_cidr_format(&netmgr_network_get(m, "bridge")->ipam.subnet, buf);
        ASSERT_STREQ(buf, "172.17.0.0/16");

        ASSERT_OK(netmgr_network_create(m, &(struct net_create_opts){.name = "app"}, &app, &e));
        ipam_cidr_format(&app->ipam.subnet, buf);
        ASSERT_STREQ(buf, "172.18.0.0/16");
        ASSERT_ERR(netmgr_network_create(m, &(struct net_create_opts){.name = "app"}, NULL, &e),
                   EEXIST);
        e = err_free(e);
        ASSERT_OK(netmgr_network_create(m,
                                        &(struct net_create_opts){.name = "iso",
                                                                  .subnet = "10.99.0.0/24",
                                                                  .internal = true},
                                        NULL, &e));

        ASSERT_OK(netmgr_network_create(
                m,
                &(struct net_create_opts){
                        .name = "ov", .driver = "overlay", .vni = 42, .vtep_local = "127.0.0.1"},
                NULL, &e));
        ASSERT_ERR(netmgr_overlay_peer_add(m, "app", &(struct net_overlay_peer){}, &e), EINVAL);
        e = err_free(e);

        ASSERT_OK(netmgr_connect(
                m, "app",
                &(struct netmgr_connect_opts){.id = "c1", .names = names1, .ports = ports1}, ns[0],
                &ep, &e));
        ASSERT_EQ(ep->ip, 0xac120002u);
        ASSERT_OK(netmgr_connect(m, "app",
                                 &(struct netmgr_connect_opts){.id = "c2", .names = names2}, ns[1],
                                 NULL, &e));
        /* a clashing port is refused and leaves nothing behind */
        ASSERT_ERR(netmgr_connect(m, "app",
                                  &(struct netmgr_connect_opts){.id = "c3", .ports = ports_clash},
                                  ns[2], NULL, &e),
                   EADDRINUSE);
        e = err_free(e);
        ASSERT_EQ(nt_sh(ns[2], "! ip link show eth0 2>/dev/null"), 0);
        ASSERT_EQ(nt_sh(-1, "test $(ip -o link | grep -c ' vb') -eq 2"), 0);
        ASSERT_ERR(netmgr_connect(m, "iso",
                                  &(struct netmgr_connect_opts){.id = "c3", .ports = ports1}, ns[2],
                                  NULL, &e),
                   EINVAL);
        e = err_free(e);
        ASSERT_ERR(netmgr_connect(m, "nope", &(struct netmgr_connect_opts){.id = "c3"}, ns[2], NULL,
                                  &e),
                   ENOENT);
        e = err_free(e);

        /* DNS from inside a container, on the gateway */
        ASSERT_EQ(resolve_in(ns[0], "172.18.0.1", "db"), 0xac120003u);
        ASSERT_EQ(resolve_in(ns[1], "172.18.0.1", "www"), 0xac120002u);
        ASSERT_EQ(resolve_in(ns[1], "172.18.0.1", "missing"), 0);

        s = nt_serve(ns[0], SOCK_STREAM, "0.0.0.0", 80);
        ASSERT_TRUE(s > 0);
        ASSERT_TRUE(nt_ping(-1, SOCK_STREAM, "127.0.0.1", 8080, 3000));
        nt_reap(s);

        /* service VIPs: a bad set is refused and the good one stays */
        {
                uint32_t be[2] = {0xac120002u, 0xac120003u};
                struct nft_service ok = {"web", 0x0a60000au, IPPROTO_TCP, 80, be, 2, 7010};
                struct nft_service bad = {"bad", 0xac120009u, IPPROTO_TCP, 80, be, 1, 0};
                bool ok1;

                ASSERT_OK(netmgr_set_services(m, &ok, 1, &e));
                ASSERT_ERR(netmgr_set_services(m, &bad, 1, &e), EINVAL);
                e = err_free(e);
                ASSERT_EQ(nt_sh(-1, "nft list map ip berth services | grep -q 10.96.0.10"), 0);
                s = nt_serve(ns[0], SOCK_STREAM, "0.0.0.0", 7010);
                ASSERT_TRUE(s > 0);
                /* from c2: backend 0 (c1) first; c2 itself would be the second pick */
                ok1 = nt_ping(ns[1], SOCK_STREAM, "10.96.0.10", 80, 3000);
                nt_reap(s);
                ASSERT_TRUE(ok1);
                ASSERT_OK(netmgr_set_services(m, NULL, 0, &e));
                ASSERT_EQ(nt_sh(-1, "! nft list ruleset | grep -q 10.96.0.10"), 0);
        }

        ASSERT_ERR(netmgr_network_remove(m, "app", &e), EBUSY);
        e = err_free(e);
        ASSERT_ERR(netmgr_network_remove(m, "bridge", &e), EPERM);
}

static void test_restart(void) {
        _cleanup_netmgr_ struct netmgr *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        const struct net_endpoint *ep = NULL;
        struct netmgr_opts o = {.root = root};

        if (!ready)
                TAP_SKIP("setup did not complete");
        ASSERT_OK(netmgr_new(loop, &o, &m, &e));
        ASSERT_EQ(netmgr_n_networks(m), 4);
        ASSERT_EQ(netmgr_network_get(m, "ov")->vni, 42);
        ASSERT_EQ(netmgr_n_endpoints(m, "app"), 2);
        ASSERT_STREQ(netmgr_endpoint_at(m, "app", 1)->id, "c2");
        ASSERT_NULL(netmgr_endpoint_at(m, "app", 2));
        ASSERT_EQ(netmgr_n_endpoints(m, "nope"), 0);
        ASSERT_EQ(nt_sh(-1, "test $(nft list ruleset | grep -o '\\. 8080 :' | wc -l) -eq 1"), 0);
        ASSERT_EQ(resolve_in(ns[1], "172.18.0.1", "db"), 0xac120003u);
        /* allocation continues where it was */
        ASSERT_OK(netmgr_connect(m, "app", &(struct netmgr_connect_opts){.id = "c3"}, ns[2], &ep,
                                 &e));
        ASSERT_EQ(ep->ip, 0xac120004u);

        for (int i = 0; i < 3; i++) {
                char id[3] = {'c', (char)('1' + i), 0};

                ASSERT_EQ(netmgr_disconnect_all(m, id, &e), 1);
                ASSERT_EQ(netmgr_disconnect_all(m, id, &e), 0);
        }
        /* gone from DNS (the veth itself goes with the namespace, or by timer) */
        ASSERT_TRUE(resolve_in(ns[1], "172.18.0.1", "db") != 0xac120003u);
        ASSERT_EQ(netmgr_network_remove(m, "app", &e), 1);
        ASSERT_EQ(netmgr_network_remove(m, "app", &e), 0);
        ASSERT_EQ(netmgr_network_remove(m, "iso", &e), 1);
        ASSERT_EQ(netmgr_network_remove(m, "ov", &e), 1);
        /* the test holds the namespaces, so the host ends wait for their timer; freeing the
         * manager deletes them at once */
        m = netmgr_free(m);
        ASSERT_EQ(nt_sh(-1, "! ip -o link | grep -Eq ' (br-|vb|vx-)'"), 0);
        ASSERT_EQ(nt_sh(-1, "! nft list ruleset | grep -Eq '\\. [0-9]+ :'"), 0);
        {
                _cleanup_free_ char *p = NULL;

                p = xasprintf("%s/networks/app.json", root);
                ASSERT_TRUE(access(p, F_OK) < 0);
        }
}

static void test_cleanup(void) {
        for (int i = 0; i < 3; i++)
                if (ns[i] >= 0)
                        close(ns[i]);
        if (loop)
                ev_loop_destroy(loop);
        if (ready)
                (void)rm_rf(root, NULL);
}

static void run_loop_for(double sec) {
        ev_timer t;

        ev_timer_init(&t, guard_cb, sec, 0.);
        ev_timer_start(loop, &t);
        ev_run(loop, 0);
        ev_timer_stop(loop, &t);
}

/* Connects in one loop iteration write the network's endpoint file once, at the end of the
 * iteration (or at netmgr_flush), with every endpoint in it; a connect that fails among them
 * leaves the others and nothing of its own. */
static void test_live_batch(void) {
        _cleanup_netmgr_ struct netmgr *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *live = NULL, *text = NULL, *cmd = NULL;
        char r2[] = "/tmp/berth-netmgr-lb-XXXXXX", id[8];
        struct netmgr_opts o = {.root = r2, .no_dns = true, .no_default = true};

        if (!ready)
                TAP_SKIP("setup did not complete");
        ASSERT_NOT_NULL(mkdtemp(r2));
        ASSERT_OK(netmgr_new(loop, &o, &m, &e));
        ASSERT_OK(netmgr_network_create(
                m, &(struct net_create_opts){.name = "lb", .subnet = "10.98.0.0/24"}, NULL, &e));
        live = xasprintf("%s/networks/lb.live", r2);
        cmd = xasprintf("[ $(ip -o link show master %s | wc -l) = 3 ]",
                        netmgr_network_get(m, "lb")->ifname);
        for (int i = 0; i < 3; i++) {
                snprintf(id, sizeof(id), "lb%d", i);
                ASSERT_OK(netmgr_connect(m, "lb",
                                         &(struct netmgr_connect_opts){.id = id, .ifname = "eth5"},
                                         ns[i], NULL, &e));
        }
        /* the name is taken in that namespace: undone, the others stay */
        ASSERT_ERR(netmgr_connect(m, "lb",
                                  &(struct netmgr_connect_opts){.id = "lbx", .ifname = "eth5"},
                                  ns[0], NULL, &e),
                   EEXIST);
        e = err_free(e);
        ASSERT_EQ(netmgr_n_endpoints(m, "lb"), 3);
        ASSERT_EQ(nt_sh(-1, cmd), 0);
        /* nothing written per connect: the file comes at the end of the iteration */
        ASSERT_EQ(access(live, F_OK), -1);
        run_loop_for(0.05);
        ASSERT_OK(read_file(live, 1 << 20, &text, NULL, &e));
        ASSERT_NOT_NULL(strstr(text, "\"lb0\""));
        ASSERT_NOT_NULL(strstr(text, "\"lb1\""));
        ASSERT_NOT_NULL(strstr(text, "\"lb2\""));
        ASSERT_NULL(strstr(text, "\"lbx\""));
        free(text);
        text = NULL;
        /* the disconnects likewise, and netmgr_flush writes at once */
        for (int i = 0; i < 3; i++) {
                snprintf(id, sizeof(id), "lb%d", i);
                ASSERT_EQ(netmgr_disconnect(m, "lb", id, &e), 1);
        }
        ASSERT_OK(netmgr_flush(m, &e));
        ASSERT_OK(read_file(live, 1 << 20, &text, NULL, &e));
        ASSERT_NULL(strstr(text, "\"lb0\""));
        ASSERT_OK(netmgr_flush(m, &e)); /* nothing left to write */
        ASSERT_EQ(netmgr_network_remove(m, "lb", &e), 1);
        m = netmgr_free(m);
        ASSERT_OK(rm_rf(r2, &e));
}

/* A stopped container's host end is left to the kernel (it goes with the namespace) and deleted
 * by a timer if still there; connecting the same endpoint again cancels that timer. Here the
 * test holds the namespace, so the timer has to do it. */
static void test_background_unlink(void) {
        _cleanup_netmgr_ struct netmgr *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        const struct net_endpoint *ep = NULL;
        char r2[] = "/tmp/berth-netmgr-bg-XXXXXX", cmd[96];
        struct netmgr_opts o = {.root = r2, .no_dns = true, .no_default = true};

        if (!ready)
                TAP_SKIP("setup did not complete");
        ASSERT_NOT_NULL(mkdtemp(r2));
        ASSERT_OK(netmgr_new(loop, &o, &m, &e));
        ASSERT_OK(netmgr_network_create(
                m, &(struct net_create_opts){.name = "bg", .subnet = "10.99.0.0/24"}, NULL, &e));
        ASSERT_OK(
                netmgr_connect(m, "bg", &(struct netmgr_connect_opts){.id = "x1"}, ns[0], &ep, &e));
        snprintf(cmd, sizeof(cmd), "ip link show %s >/dev/null 2>&1", ep->host_ifname);
        ASSERT_EQ(netmgr_disconnect_all(m, "x1", &e), 1);
        ASSERT_EQ(netmgr_n_endpoints(m, "bg"), 0);
        ASSERT_EQ(nt_sh(-1, cmd), 0); /* not waited for */
        /* the same endpoint in another namespace (a restarted container): the leftover of the
         * same name is replaced, and the cancelled timer does not delete the new link */
        ASSERT_OK(
                netmgr_connect(m, "bg", &(struct netmgr_connect_opts){.id = "x1"}, ns[1], &ep, &e));
        run_loop_for(2.5);
        ASSERT_EQ(nt_sh(-1, cmd), 0);
        ASSERT_EQ(nt_sh(ns[0], "! ip link show eth0 2>/dev/null"), 0);
        ASSERT_EQ(nt_sh(ns[1], "ip link show eth0 >/dev/null"), 0);
        ASSERT_EQ(netmgr_disconnect_all(m, "x1", &e), 1);
        for (int i = 0; i < 50 && nt_sh(-1, cmd) == 0; i++)
                run_loop_for(0.1);
        ASSERT_NE(nt_sh(-1, cmd), 0);
        ASSERT_EQ(netmgr_network_remove(m, "bg", &e), 1);
        m = netmgr_free(m);
        ASSERT_OK(rm_rf(r2, &e));
}

TAP_MAIN(test_setup, test_lifecycle, test_restart, test_background_unlink, test_live_batch,
         test_cleanup)
