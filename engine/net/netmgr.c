#include <stdio.h>
/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "net/dns.h"
#include "net/netmgr.h"
#include "net/nft.h"
#include "strv.h"
#include "xalloc.h"

#define MGR_STATE_MAX (16u << 20)
#define MGR_MAX_PORTS 256
#define MGR_MAX_NAMES 64

struct mgr_ep {
        struct net_endpoint *ep;
        struct nft_publish *ports;
        size_t n_ports;
        char **names;
};

struct mgr_net {
        struct net_network *net;
        struct mgr_ep **eps;
        size_t n_eps, allocated;
        struct dns_table *dns;
        struct dns_server *srv;
        struct netmgr *m; /* for the DNS view over the container's other networks */
        bool live_dirty;  /* <name>.live is behind: netmgr_flush writes it */
};

struct netmgr {
        struct ev_loop *loop;
        struct nl *nl;
        char *root;
        struct ipam_pool *pools;
        size_t n_pools;
        struct sockaddr_storage *ups;
        size_t n_ups;
        uint16_t dns_port;
        bool no_dns;
        char table[NET_INSTANCE_MAX];  /* nft tables ip/bridge */
        char bridge[NET_INSTANCE_MAX]; /* default network's device */
        struct mgr_net **nets;
        size_t n_nets, allocated;
        struct nft_service *svcs; /* deep copies: name and backends owned */
        size_t n_svcs;
        struct mgr_unlink **unlinks; /* host ends being deleted in the background */
        size_t n_unlinks, allocated_unlinks;
        ev_prepare flush_w; /* writes the .live files left behind in this loop iteration */
};

static struct mgr_ep *mgr_ep_free(struct mgr_ep *e) {
        if (!e)
                return NULL;
        net_endpoint_free(e->ep);
        free(e->ports);
        strv_free(e->names);
        free(e);
        return NULL;
}

static void mgr_ep_freep(struct mgr_ep **e) {
        *e = mgr_ep_free(*e);
}

static struct mgr_net *mgr_net_free(struct mgr_net *mn) {
        if (!mn)
                return NULL;
        dns_server_free(mn->srv);
        dns_table_free(mn->dns);
        for (size_t i = 0; i < mn->n_eps; i++)
                mgr_ep_free(mn->eps[i]);
        free(mn->eps);
        net_network_free(mn->net);
        free(mn);
        return NULL;
}

static void mgr_net_freep(struct mgr_net **mn) {
        *mn = mgr_net_free(*mn);
}

static bool is_default(const struct net_network *n) {
        return streq(n->name, NET_DEFAULT_NAME);
}

static struct mgr_net *mgr_find(const struct netmgr *m, const char *name, size_t *ret_i) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (streq(m->nets[i]->net->name, name)) {
                        if (ret_i)
                                *ret_i = i;
                        return m->nets[i];
                }
        return NULL;
}

static struct mgr_ep *mgr_find_ep(const struct mgr_net *mn, const char *id, size_t *ret_i) {
        for (size_t i = 0; i < mn->n_eps; i++)
                if (streq(mn->eps[i]->ep->id, id)) {
                        if (ret_i)
                                *ret_i = i;
                        return mn->eps[i];
                }
        return NULL;
}

/* ---- persistence: the network record plus its endpoints ---- */

static json_t *mgr_ep_to_json(const struct mgr_ep *e) {
        json_t *j = json_object(), *ports = json_array(), *names = json_array();
        char ip[16], mac[18], p[64];

        ipam_ip_format(e->ep->ip, ip);
        nl_mac_format(e->ep->mac, mac);
        json_object_set_new(j, "id", json_string(e->ep->id));
        json_object_set_new(j, "ifname", json_string(e->ep->ifname));
        json_object_set_new(j, "host_ifname", json_string(e->ep->host_ifname));
        json_object_set_new(j, "ip", json_string(ip));
        json_object_set_new(j, "mac", json_string(mac));
        for (size_t i = 0; i < e->n_ports; i++) {
                nft_publish_format(&e->ports[i], p, sizeof(p));
                json_array_append_new(ports, json_string(p));
        }
        json_object_set_new(j, "ports", ports);
        STRV_FOREACH (n, e->names)
                json_array_append_new(names, json_string(*n));
        json_object_set_new(j, "names", names);
        return j;
}

/* Two files per network: <name>.json, written durably (fsync) when the network is created, and
 * <name>.live, the same document rewritten on every connect and disconnect by rename but without
 * fsync. A daemon crash cannot lose a rename (the page cache survives it); a machine crash loses
 * the containers too, so an old or torn .live only lists endpoints that are gone anyway, and
 * the network itself stays in .json. The loader prefers a valid .live of the same network id. */
static char *mgr_state_path(const struct netmgr *m, const char *name, const char *suffix) {
        return xasprintf("%s/networks/%s.%s", m->root, name, suffix);
}

static int mgr_save_full(const struct netmgr *m, const struct mgr_net *mn, bool durable,
                         struct err **errp) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *tmp = NULL, *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_close_ int fd = -EBADF;
        json_t *eps = json_array();
        int r;

        j = net_network_to_json(mn->net);
        for (size_t i = 0; i < mn->n_eps; i++)
                json_array_append_new(eps, mgr_ep_to_json(mn->eps[i]));
        json_object_set_new(j, "endpoints", eps);
        dir = xasprintf("%s/networks", m->root);
        r = mkdir_p(dir, 0700, errp);
        if (r < 0)
                return r;
        if (durable) {
                path = mgr_state_path(m, mn->net->name, "json");
                r = json_save_path(path, j, errp);
                if (r < 0)
                        return err_wrap(errp, "save network '%s'", mn->net->name);
                free(path);
                path = mgr_state_path(m, mn->net->name, "live");
                if (unlink(path) < 0 && errno != ENOENT)
                        return err_set(errp, errno, "remove '%s'", path);
                return 0;
        }
        path = mgr_state_path(m, mn->net->name, "live");
        tmp = xasprintf("%s.new", path);
        text = json_dump_str(j, true);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_set(errp, errno, "create '%s'", tmp);
        r = fd_write_full(fd, text, strlen(text));
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(tmp);
                return err_set(errp, -r, "save network '%s': write '%s'", mn->net->name, path);
        }
        return 0;
}

/* The endpoints changed: with a loop, <name>.live is written once at the end of this loop
 * iteration (netmgr_flush, from an ev_prepare watcher) however many containers connected or
 * left in it; 44 of the 50 attaches of an `up -d` of 50 services came in one iteration, each
 * rewriting the whole file through a new inode. Without a loop it is written now. */
static int mgr_save(struct netmgr *m, struct mgr_net *mn, struct err **errp) {
        if (!m->loop)
                return mgr_save_full(m, mn, false, errp);
        mn->live_dirty = true;
        if (!ev_is_active(&m->flush_w))
                ev_prepare_start(m->loop, &m->flush_w);
        return 0;
}

int netmgr_flush(struct netmgr *m, struct err **errp) {
        int ret = 0;

        for (size_t i = 0; i < m->n_nets; i++) {
                struct mgr_net *mn = m->nets[i];
                int r;

                if (!mn->live_dirty)
                        continue;
                /* on failure it stays dirty: the next flush tries again */
                r = mgr_save_full(m, mn, false, ret < 0 ? NULL : errp);
                if (r < 0) {
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                mn->live_dirty = false;
        }
        if (ret == 0 && m->loop)
                ev_prepare_stop(m->loop, &m->flush_w);
        return ret;
}

static void mgr_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
        struct netmgr *m = container_of(w, struct netmgr, flush_w);

        (void)loop;
        (void)revents;
        /* A failure leaves the files dirty and this watcher active: the next iteration tries
         * again. The state in memory is authoritative; the files matter after a crash. */
        (void)netmgr_flush(m, NULL);
}

static int mgr_parse_ports(char *const *specs, bool internal, const char *network,
                           struct nft_publish **ret, size_t *ret_n, struct err **errp) {
        _cleanup_free_ struct nft_publish *v = NULL;
        size_t n = strv_length(specs);
        int r;

        if (n > MGR_MAX_PORTS)
                return err_setx(errp, E2BIG, "too many published ports (max %d)", MGR_MAX_PORTS);
        if (n > 0 && internal)
                return err_setx(errp, EINVAL, "cannot publish ports on internal network '%s'",
                                network);
        v = xnew0(struct nft_publish, n + 1);
        for (size_t i = 0; i < n; i++) {
                r = nft_publish_parse(specs[i], &v[i], errp);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static int mgr_ep_from_json(struct mgr_net *mn, const json_t *j, struct mgr_ep **ret,
                            struct err **errp) {
        _cleanup_(mgr_ep_freep) struct mgr_ep *e = NULL;
        _cleanup_strv_ char **ports = NULL;
        const char *id = json_get_str(j, "id", NULL), *ip = json_get_str(j, "ip", NULL);
        const char *mac = json_get_str(j, "mac", NULL),
                   *host = json_get_str(j, "host_ifname", NULL);
        const char *ifname = json_get_str(j, "ifname", NULL);
        const json_t *a, *it;
        uint32_t v = 0;
        size_t i;
        int r;

        if (!id || !ip || !mac || !host || !ifname)
                return err_setx(errp, EINVAL,
                                "endpoint: missing id, ifname, host_ifname, ip or mac");
        e = xnew0(struct mgr_ep, 1);
        e->ep = xnew0(struct net_endpoint, 1);
        e->ep->id = xstrdup(id);
        e->ep->ifname = xstrdup(ifname);
        e->ep->host_ifname = xstrdup(host);
        if (!nl_ifname_valid(ifname) || !nl_ifname_valid(host))
                return err_setx(errp, EINVAL, "endpoint '%s': invalid interface name", id);
        r = ipam_ip_parse(ip, &v, errp);
        if (r < 0)
                return err_wrap(errp, "endpoint '%s'", id);
        e->ep->ip = v;
        if (!streq_ptr(ipam_owner(&mn->net->ipam, v), id))
                return err_setx(errp, EINVAL, "endpoint '%s': address %s is not allocated to it",
                                id, ip);
        if (nl_mac_parse(mac, e->ep->mac) < 0)
                return err_setx(errp, EINVAL, "endpoint '%s': invalid mac '%s'", id, mac);
        a = json_object_get(j, "ports");
        json_array_foreach (a, i, it)
                if (json_is_string(it))
                        strv_push(&ports, json_string_value(it));
        r = mgr_parse_ports(ports, !net_routes_out(mn->net), mn->net->name, &e->ports, &e->n_ports,
                            errp);
        if (r < 0)
                return err_wrap(errp, "endpoint '%s'", id);
        a = json_object_get(j, "names");
        json_array_foreach (a, i, it)
                if (json_is_string(it))
                        strv_push(&e->names, json_string_value(it));
        *ret = TAKE_PTR(e);
        return 0;
}

static int mgr_load_one(const char *path, struct mgr_net **ret, struct err **errp) {
        _cleanup_(mgr_net_freep) struct mgr_net *mn = NULL;
        _cleanup_(net_network_freep) struct net_network *ln = NULL;
        _cleanup_json_ json_t *j = NULL, *lj = NULL;
        _cleanup_free_ char *live = NULL;
        const json_t *a, *it;
        size_t i;
        int r;

        r = json_load_path(path, MGR_STATE_MAX, &j, errp);
        if (r < 0)
                return r;
        mn = xnew0(struct mgr_net, 1);
        r = net_network_from_json(j, &mn->net, errp);
        if (r < 0)
                return err_wrap(errp, "'%s'", path);
        /* The endpoints since creation (see mgr_save_full); a torn or foreign one is ignored. */
        live = xasprintf("%.*s.live", (int)(strlen(path) - strlen(".json")), path);
        if (json_load_path(live, MGR_STATE_MAX, &lj, NULL) >= 0 &&
            net_network_from_json(lj, &ln, NULL) >= 0 && streq(ln->id, mn->net->id) &&
            streq(ln->name, mn->net->name)) {
                net_network_free(mn->net);
                mn->net = TAKE_PTR(ln);
                json_decref(j);
                j = TAKE_PTR(lj);
                path = live;
        }
        a = json_object_get(j, "endpoints");
        if (a && !json_is_array(a))
                return err_setx(errp, EINVAL, "'%s': 'endpoints' must be an array", path);
        json_array_foreach (a, i, it) {
                struct mgr_ep *e = NULL;

                r = mgr_ep_from_json(mn, it, &e, errp);
                if (r < 0)
                        return err_wrap(errp, "'%s': endpoints[%zu]", path, i);
                XGROW(mn->eps, mn->allocated, mn->n_eps + 1);
                mn->eps[mn->n_eps++] = e;
        }
        *ret = TAKE_PTR(mn);
        return 0;
}

static int mgr_net_cmp(const void *a, const void *b) {
        return strcmp((*(struct mgr_net *const *)a)->net->name,
                      (*(struct mgr_net *const *)b)->net->name);
}

static void mgr_add(struct netmgr *m, struct mgr_net *mn) {
        XGROW(m->nets, m->allocated, m->n_nets + 1);
        m->nets[m->n_nets++] = mn;
        qsort_safe(m->nets, m->n_nets, sizeof(*m->nets), mgr_net_cmp);
}

static void mgr_del(struct netmgr *m, struct mgr_net *mn) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (m->nets[i] == mn) {
                        memmove(m->nets + i, m->nets + i + 1,
                                (m->n_nets - i - 1) * sizeof(*m->nets));
                        m->n_nets--;
                        return;
                }
}

static int mgr_load_all(struct netmgr *m, struct err **errp) {
        _cleanup_free_ char *dir = xasprintf("%s/networks", m->root);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : err_set(errp, errno, "open '%s'", dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct mgr_net *mn = NULL;
                int r;

                if (de->d_name[0] == '.' || !str_endswith(de->d_name, ".json"))
                        continue;
                path = xasprintf("%s/%s", dir, de->d_name);
                r = mgr_load_one(path, &mn, errp);
                if (r < 0)
                        return r;
                if (mgr_find(m, mn->net->name, NULL)) {
                        mgr_net_free(mn);
                        return err_setx(errp, EEXIST, "'%s': duplicate network", path);
                }
                mgr_add(m, mn);
        }
        return 0;
}

/* ---- deleting host ends without waiting ----
 *
 * Deleting a veth whose peer is in a container's namespace waits for the kernel: an RCU grace
 * period, and rtnl is held meanwhile by the cleanup of the namespace the container's exit just
 * started; measured 10-20 ms per container, longer than the rest of the networking of `run`.
 * When a container has stopped (netmgr_disconnect_all), its namespace dies with its last
 * process and the kernel deletes the pair with it, in the background. So the host end is left
 * to the kernel, and a timer of MGR_UNLINK_SEC deletes it only if it is still there then
 * (something kept the namespace alive: usually a cheap "no such device"). The names are
 * deterministic: connecting an endpoint whose host end is pending cancels the timer (the
 * driver's connect removes a leftover of that name itself), so the timer never deletes a new
 * link. Without a loop to run timers on, the host end is deleted at once. */

#define MGR_UNLINK_SEC 2.

struct mgr_unlink {
        ev_timer w;
        struct netmgr *m;
        char ifname[IFNAMSIZ];
};

static void mgr_unlink_forget(struct netmgr *m, struct mgr_unlink *u) {
        ev_timer_stop(m->loop, &u->w);
        for (size_t i = 0; i < m->n_unlinks; i++)
                if (m->unlinks[i] == u) {
                        m->unlinks[i] = m->unlinks[--m->n_unlinks];
                        break;
                }
        free(u);
}

static void mgr_unlink_due(struct ev_loop *loop, ev_timer *w, int revents) {
        struct mgr_unlink *u = container_of(w, struct mgr_unlink, w);
        struct netmgr *m = u->m;

        (void)loop;
        (void)revents;
        /* Failing here leaves a leftover that the next connect of this name removes; there is
         * no caller to report to. */
        (void)nl_link_del(m->nl, u->ifname, NULL);
        mgr_unlink_forget(m, u);
}

/* Cancels the pending deletion of ifname, if any. */
static void mgr_unlink_cancel(struct netmgr *m, const char *ifname) {
        for (size_t i = 0; i < m->n_unlinks; i++)
                if (streq(m->unlinks[i]->ifname, ifname)) {
                        mgr_unlink_forget(m, m->unlinks[i]);
                        return;
                }
}

static int mgr_unlink_later(struct netmgr *m, const char *ifname, struct err **errp) {
        struct mgr_unlink *u;

        mgr_unlink_cancel(m, ifname);
        if (!m->loop || strlen(ifname) >= IFNAMSIZ)
                return nl_link_del(m->nl, ifname, errp);
        u = xnew0(struct mgr_unlink, 1);
        u->m = m;
        snprintf(u->ifname, sizeof(u->ifname), "%s", ifname);
        ev_timer_init(&u->w, mgr_unlink_due, MGR_UNLINK_SEC, 0.);
        ev_timer_start(m->loop, &u->w);
        XGROW(m->unlinks, m->allocated_unlinks, m->n_unlinks + 1);
        m->unlinks[m->n_unlinks++] = u;
        return 1;
}

/* ---- firewall and DNS ---- */

/* The firewall's view of the manager (borrowed pointers). */
struct mgr_nft {
        struct net_network **nets;
        struct nft_endpoint *eps;
        struct nft_state st;
};

static void mgr_nft_done(struct mgr_nft *s) {
        free(s->nets);
        free(s->eps);
}

static void mgr_nft_state(const struct netmgr *m, struct mgr_nft *s) {
        size_t n_eps = 0, k = 0;

        for (size_t i = 0; i < m->n_nets; i++)
                n_eps += m->nets[i]->n_eps;
        s->nets = xnew0(struct net_network *, m->n_nets + 1);
        s->eps = xnew0(struct nft_endpoint, n_eps + 1);
        for (size_t i = 0; i < m->n_nets; i++) {
                const struct mgr_net *mn = m->nets[i];

                s->nets[i] = mn->net;
                for (size_t j = 0; j < mn->n_eps; j++) {
                        const struct mgr_ep *e = mn->eps[j];

                        s->eps[k++] =
                                (struct nft_endpoint){e->ep->id, mn->net->name, e->ep->host_ifname,
                                                      e->ep->ip, e->ports,      e->n_ports};
                }
        }
        s->st = (struct nft_state){.nets = s->nets,
                                   .n_nets = m->n_nets,
                                   .eps = s->eps,
                                   .n_eps = n_eps,
                                   .svcs = m->svcs,
                                   .n_svcs = m->n_svcs,
                                   .table = m->table};
}

/* The whole ruleset in one transaction: start-up reconciliation, network create and remove, and
 * the fallback when an incremental update fails (tables changed behind our back). */
static int mgr_sync(struct netmgr *m, struct err **errp) {
        _cleanup_(mgr_nft_done) struct mgr_nft s = {};
        int r;

        mgr_nft_state(m, &s);
        r = nft_sync(&s.st, errp);
        if (r < 0)
                return err_wrap(errp, "update firewall");
        return 0;
}

/* Adds (add) or deletes the firewall elements of endpoint e of mn, which the manager's state
 * already holds (add) or no longer holds (delete). Falls back to rewriting the whole ruleset
 * when the small transaction fails. */
static int mgr_sync_ep(struct netmgr *m, const struct mgr_net *mn, const struct mgr_ep *e, bool add,
                       struct err **errp) {
        _cleanup_(mgr_nft_done) struct mgr_nft s = {};
        _cleanup_free_ char *script = NULL;
        const struct nft_endpoint fe = {e->ep->id, mn->net->name, e->ep->host_ifname,
                                        e->ep->ip, e->ports,      e->n_ports};
        int r;

        mgr_nft_state(m, &s);
        r = nft_endpoint_script(&s.st, &fe, add, &script, NULL);
        if (r >= 0 && nft_apply(script, NULL) >= 0)
                return 0;
        return mgr_sync(m, errp);
}

/* Moves the firewall from the services old to m->svcs: only the VIPs that changed. */
static int mgr_sync_svcs(struct netmgr *m, const struct nft_service *old, size_t n_old,
                         struct err **errp) {
        _cleanup_(mgr_nft_done) struct mgr_nft s = {};
        _cleanup_free_ char *script = NULL;
        int r;

        mgr_nft_state(m, &s);
        r = nft_services_script(&s.st, old, n_old, &script, errp);
        if (r < 0)
                return r; /* invalid services: nothing changed */
        if (nft_apply(script, NULL) >= 0)
                return 0;
        return mgr_sync(m, errp);
}

/* The DNS view of the client at ip on mn: mn's table, then the tables of the client
 * container's other networks (in name order), so that it resolves the members of every network
 * it is on and of no other. */
static size_t mgr_dns_view(void *userdata, uint32_t ip, struct dns_table **tables, size_t max) {
        struct mgr_net *mn = userdata;
        const char *id = NULL;
        size_t n = 0;

        for (size_t i = 0; i < mn->n_eps && !id; i++)
                if (mn->eps[i]->ep->ip == ip)
                        id = mn->eps[i]->ep->id;
        if (!id || max == 0)
                return 0;
        tables[n++] = mn->dns;
        for (size_t i = 0; i < mn->m->n_nets && n < max; i++) {
                struct mgr_net *o = mn->m->nets[i];

                if (o != mn && o->dns && mgr_find_ep(o, id, NULL))
                        tables[n++] = o->dns;
        }
        return n;
}

static int mgr_dns_start(struct netmgr *m, struct mgr_net *mn, struct err **errp) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        int r;

        if (m->no_dns || is_default(mn->net) || mn->srv)
                return 0;
        if (!mn->dns) {
                mn->dns = dns_table_new();
                for (size_t i = 0; i < mn->n_eps; i++)
                        STRV_FOREACH (n, mn->eps[i]->names)
                                (void)dns_table_add(mn->dns, *n, mn->eps[i]->ep->ip, NULL);
        }
        a.sin_addr.s_addr = htonl(mn->net->ipam.gateway);
        a.sin_port = htons(m->dns_port);
        /* Internal networks resolve their own names only: forwarding would be a way out. */
        r = dns_server_new(m->loop, &a, mn->dns, m->ups, net_routes_out(mn->net) ? m->n_ups : 0, 0,
                           &mn->srv, errp);
        if (r < 0)
                return err_wrap(errp, "DNS for network '%s'", mn->net->name);
        mn->m = m;
        dns_server_set_view(mn->srv, mgr_dns_view, mn);
        return 0;
}

/* ---- public API ---- */

/* Writes "a.b.c.d/len" of the first connected IPv4 route of the default bridge device, if that
 * device exists; leaves buf empty otherwise. */
static void default_bridge_subnet(struct nl *nl, const char *bridge, char *buf, size_t n);

void netmgr_default_bridge_subnet(struct netmgr *m, char *buf, size_t n) {
        default_bridge_subnet(m->nl, m->bridge, buf, n);
}

static void default_bridge_subnet(struct nl *nl, const char *bridge, char *buf, size_t n) {
        _cleanup_free_ struct nl_route *routes = NULL;
        size_t n_routes = 0;
        int ifindex = 0;

        buf[0] = 0;
        if (nl_link_index(nl, bridge, &ifindex, NULL) < 0 || ifindex <= 0)
                return;
        if (nl_route_list4(nl, &routes, &n_routes, NULL) < 0)
                return;
        for (size_t i = 0; i < n_routes; i++) {
                char a[INET_ADDRSTRLEN];

                if (routes[i].ifindex != ifindex || routes[i].dst.family != AF_INET ||
                    routes[i].dst_len == 0 || routes[i].dst_len > 30)
                        continue;
                if (!inet_ntop(AF_INET, &routes[i].dst.v4, a, sizeof(a)))
                        continue;
                snprintf(buf, n, "%s/%u", a, routes[i].dst_len);
                return;
        }
}

int netmgr_new(struct ev_loop *loop, const struct netmgr_opts *o, struct netmgr **ret,
               struct err **errp) {
        _cleanup_(netmgr_freep) struct netmgr *m = NULL;
        int r;

        if (!o->root || !o->root[0])
                return err_setx(errp, EINVAL, "network manager: no state root");
        m = xnew0(struct netmgr, 1);
        m->loop = loop;
        ev_prepare_init(&m->flush_w, mgr_flush_cb);
        m->root = xstrdup(o->root);
        m->dns_port = o->dns_port ? o->dns_port : 53;
        m->no_dns = o->no_dns;
        if (o->instance && (!nft_table_name_valid(o->instance) || !nl_ifname_valid(o->instance)))
                return err_setx(errp, EINVAL, "network manager: invalid instance name '%s'",
                                o->instance);
        snprintf(m->table, sizeof(m->table), "%s", o->instance ? o->instance : NFT_TABLE_DEFAULT);
        net_instance_bridge(m->table, m->bridge);
        if (o->pools && o->n_pools) {
                m->pools = xmemdup(o->pools, o->n_pools * sizeof(*o->pools));
                m->n_pools = o->n_pools;
        }
        if (o->n_upstreams) {
                m->ups = xmemdup(o->upstreams, o->n_upstreams * sizeof(*o->upstreams));
                m->n_ups = o->n_upstreams;
        }
        r = nl_open(&m->nl, errp);
        if (r < 0)
                return r;
        r = mgr_load_all(m, errp);
        if (r < 0)
                return err_wrap(errp, "load networks");
        if (!o->no_default && !mgr_find(m, NET_DEFAULT_NAME, NULL)) {
                char adopt[INET_ADDRSTRLEN + 4] = "";

                /* The default bridge outlives the daemon (containers keep running). When it
                 * exists but the state is gone, take its subnet instead of adding one more
                 * address (and route) to it: the bridge would otherwise gather subnets. */
                default_bridge_subnet(m->nl, m->bridge, adopt, sizeof(adopt));
                r = netmgr_network_create(
                        m,
                        &(struct net_create_opts){.name = NET_DEFAULT_NAME,
                                                  .is_default = true,
                                                  .subnet = adopt[0] ? adopt : NULL},
                        NULL, errp);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_nets; i++) {
                struct mgr_net *mn = m->nets[i];

                r = net_driver_ops(mn->net->driver)->create(m->nl, mn->net, errp);
                if (r < 0)
                        return r;
                r = mgr_dns_start(m, mn, errp);
                if (r < 0)
                        return r;
        }
        r = mgr_sync(m, errp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static void svcs_free(struct nft_service *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free((char *)v[i].name);
                free((uint32_t *)v[i].backends);
        }
        free(v);
}

struct netmgr *netmgr_free(struct netmgr *m) {
        if (!m)
                return NULL;
        (void)netmgr_flush(m, NULL);
        if (m->loop)
                ev_prepare_stop(m->loop, &m->flush_w);
        /* what the kernel has not deleted by now goes now (usually nothing) */
        while (m->n_unlinks > 0) {
                (void)nl_link_del(m->nl, m->unlinks[0]->ifname, NULL);
                mgr_unlink_forget(m, m->unlinks[0]);
        }
        free(m->unlinks);
        svcs_free(m->svcs, m->n_svcs);
        for (size_t i = 0; i < m->n_nets; i++)
                mgr_net_free(m->nets[i]);
        free(m->nets);
        nl_free(m->nl);
        free(m->pools);
        free(m->ups);
        free(m->root);
        free(m);
        return NULL;
}

void netmgr_freep(struct netmgr **m) {
        *m = netmgr_free(*m);
}

const char *netmgr_nft_table(const struct netmgr *m) {
        return m->table;
}

const char *netmgr_default_bridge(const struct netmgr *m) {
        return m->bridge;
}

size_t netmgr_n_networks(const struct netmgr *m) {
        return m->n_nets;
}

const struct net_network *netmgr_network_at(const struct netmgr *m, size_t i) {
        return i < m->n_nets ? m->nets[i]->net : NULL;
}

const struct net_network *netmgr_network_get(const struct netmgr *m, const char *name) {
        struct mgr_net *mn = mgr_find(m, name, NULL);
        return mn ? mn->net : NULL;
}

size_t netmgr_n_endpoints(const struct netmgr *m, const char *network) {
        struct mgr_net *mn = mgr_find(m, network, NULL);
        return mn ? mn->n_eps : 0;
}

const struct net_endpoint *netmgr_endpoint_at(const struct netmgr *m, const char *network,
                                              size_t i) {
        struct mgr_net *mn = mgr_find(m, network, NULL);
        return mn && i < mn->n_eps ? mn->eps[i]->ep : NULL;
}

struct dns_table *netmgr_dns_table(struct netmgr *m, const char *network) {
        struct mgr_net *mn = mgr_find(m, network, NULL);
        return mn ? mn->dns : NULL;
}

int netmgr_network_create(struct netmgr *m, const struct net_create_opts *o,
                          const struct net_network **ret, struct err **errp) {
        _cleanup_free_ struct ipam_subnet *host = NULL;
        _cleanup_free_ struct net_network **nets = NULL;
        _cleanup_(mgr_net_freep) struct mgr_net *mn = NULL;
        const struct net_driver_ops *ops;
        struct mgr_net *added;
        size_t n_host = 0;
        int r;

        struct net_create_opts dflt;
        struct ipam_subnet adopted = {};
        bool have_adopted = false;

        r = ipam_host_subnets(m->nl, &host, &n_host, errp);
        if (r < 0)
                return err_wrap(errp, "create network '%s'", o->name ? o->name : "");
        if (o->is_default && o->subnet) {
                char cur[64];

                netmgr_default_bridge_subnet(m, cur, sizeof(cur));
                have_adopted = cur[0] && streq(cur, o->subnet) &&
                               ipam_cidr_parse(cur, &adopted, NULL) >= 0;
        }
        nets = xnew0(struct net_network *, m->n_nets + 1);
        for (size_t i = 0; i < m->n_nets; i++)
                nets[i] = m->nets[i]->net;
        /* Routes of berth's own bridges are already covered by the network overlap check (and
         * would only make the message less precise). */
        for (size_t i = 0; i < n_host;) {
                bool own = false;

                for (size_t k = 0; k < m->n_nets && !own; k++)
                        own = host[i].net == m->nets[k]->net->ipam.subnet.net &&
                              host[i].len == m->nets[k]->net->ipam.subnet.len;
                /* the default network adopting the subnet already on the shared default
                 * bridge (netmgr_default_bridge_subnet) */
                own = own || (o->is_default && have_adopted && host[i].net == adopted.net &&
                              host[i].len == adopted.len);
                if (own)
                        host[i] = host[--n_host];
                else
                        i++;
        }
        mn = xnew0(struct mgr_net, 1);
        if (o->is_default && !o->default_ifname) {
                dflt = *o;
                dflt.default_ifname = m->bridge;
                o = &dflt;
        }
        r = net_network_new(
                o, &(struct net_context){nets, m->n_nets, host, n_host, m->pools, m->n_pools},
                &mn->net, errp);
        if (r < 0)
                return r;
        ops = net_driver_ops(mn->net->driver);
        r = ops->create(m->nl, mn->net, errp);
        if (r < 0)
                return r;
        added = TAKE_PTR(mn);
        mgr_add(m, added);
        r = mgr_save_full(m, added, true, errp);
        if (r >= 0)
                r = mgr_dns_start(m, added, errp);
        if (r >= 0)
                r = mgr_sync(m, errp);
        if (r < 0) {
                mgr_del(m, added);
                (void)ops->remove(m->nl, added->net, NULL);
                (void)net_network_remove_state(m->root, added->net->name, NULL);
                (void)mgr_sync(m, NULL);
                mgr_net_free(added);
                return r;
        }
        if (ret)
                *ret = added->net;
        return 0;
}

static int mgr_network_remove(struct netmgr *m, const char *name, bool allow_default,
                              struct err **errp) {
        struct mgr_net *mn = mgr_find(m, name, NULL);
        _cleanup_free_ char *live = NULL;
        int r;

        if (!mn)
                return 0;
        if (is_default(mn->net) && !allow_default)
                return err_setx(errp, EPERM, "the default network '%s' cannot be removed", name);
        if (mn->n_eps > 0)
                return err_setx(errp, EBUSY, "network '%s' has %zu connected endpoint%s", name,
                                mn->n_eps, mn->n_eps == 1 ? "" : "s");
        mn->srv = dns_server_free(mn->srv);
        r = net_driver_ops(mn->net->driver)->remove(m->nl, mn->net, errp);
        if (r < 0) {
                (void)mgr_dns_start(m, mn, NULL);
                return r;
        }
        live = mgr_state_path(m, name, "live");
        if (unlink(live) < 0 && errno != ENOENT)
                r = err_set(errp, errno, "remove '%s'", live);
        else
                r = net_network_remove_state(m->root, name, errp);
        mgr_del(m, mn);
        mgr_net_free(mn);
        if (r < 0)
                return r;
        r = mgr_sync(m, errp);
        if (r < 0)
                return r;
        return 1;
}

int netmgr_network_remove(struct netmgr *m, const char *name, struct err **errp) {
        return mgr_network_remove(m, name, false, errp);
}

int netmgr_default_remove(struct netmgr *m, const char *name, struct err **errp) {
        return mgr_network_remove(m, name, true, errp);
}

/* Whether the endpoints of mn live in the containers only (overlay, macvlan path): nothing
 * of them on the host to delete, now or later. */
static bool mgr_ep_in_netns(const struct mgr_net *mn) {
        return mn->net->driver == NET_DRIVER_OVERLAY && mn->net->macvlan;
}

/* Undoes the driver's connect of ep: with netns_fd (>= 0) a macvlan-path interface is taken
 * out of the container too. */
static int mgr_unplug(struct netmgr *m, const struct mgr_net *mn, const struct net_endpoint *ep,
                      int netns_fd, struct err **errp) {
        if (mgr_ep_in_netns(mn) && netns_fd >= 0)
                return net_overlay_unplug(mn->net, ep, netns_fd, errp);
        return net_driver_ops(mn->net->driver)->disconnect(m->nl, mn->net, ep, errp);
}

int netmgr_connect(struct netmgr *m, const char *network, const struct netmgr_connect_opts *o,
                   int netns_fd, const struct net_endpoint **ret, struct err **errp) {
        _cleanup_(mgr_ep_freep) struct mgr_ep *e = NULL;
        _cleanup_dns_table_ struct dns_table *check = NULL;
        const struct net_driver_ops *ops;
        struct mgr_net *mn;
        struct mgr_ep *added;
        int r;

        mn = mgr_find(m, network, NULL);
        if (!mn)
                return err_setx(errp, ENOENT, "network '%s' not found", network);
        if (!o->id || mgr_find_ep(mn, o->id, NULL))
                return err_setx(errp, EEXIST, "'%s' is already connected to network '%s'",
                                o->id ? o->id : "", network);
        e = xnew0(struct mgr_ep, 1);
        r = mgr_parse_ports(o->ports, !net_routes_out(mn->net), network, &e->ports, &e->n_ports,
                            errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < e->n_ports; i++) {
                r = nft_port_check_free(&e->ports[i], errp);
                if (r < 0)
                        return r;
        }
        if (strv_length(o->names) > MGR_MAX_NAMES)
                return err_setx(errp, E2BIG, "too many DNS names (max %d)", MGR_MAX_NAMES);
        check = dns_table_new();
        STRV_FOREACH (n, o->names) {
                r = dns_table_add(check, *n, 1, errp);
                if (r < 0)
                        return r;
        }
        e->names = strv_copy(o->names);
        r = net_endpoint_new(mn->net, o->id, o->ifname ? o->ifname : "eth0", o->ip, o->mac, &e->ep,
                             errp);
        if (r < 0)
                return r;
        mgr_unlink_cancel(m, e->ep->host_ifname);
        ops = net_driver_ops(mn->net->driver);
        r = ops->connect(m->nl, mn->net, e->ep, netns_fd, errp);
        if (r < 0) {
                ipam_release_owner(&mn->net->ipam, o->id);
                return r;
        }
        added = TAKE_PTR(e);
        XGROW(mn->eps, mn->allocated, mn->n_eps + 1);
        mn->eps[mn->n_eps++] = added;
        r = mgr_sync_ep(m, mn, added, true, errp);
        if (r >= 0) {
                r = mgr_save(m, mn, errp);
                if (r < 0) {
                        mn->n_eps--;
                        (void)mgr_sync_ep(m, mn, added, false, NULL);
                        mn->n_eps++;
                }
        }
        if (r < 0) {
                mn->n_eps--;
                (void)mgr_unplug(m, mn, added->ep, netns_fd, NULL);
                ipam_release_owner(&mn->net->ipam, o->id);
                mgr_ep_free(added);
                return r;
        }
        if (mn->dns)
                STRV_FOREACH (n, added->names)
                        (void)dns_table_add(mn->dns, *n, added->ep->ip, NULL);
        if (ret)
                *ret = added->ep;
        return 0;
}

/* background: the container has stopped, see mgr_unlink_later (the bridge driver and the
 * overlay's bridge path disconnect by deleting the host end; a macvlan-path interface dies with
 * the container's namespace). netns_fd: the running container's namespace, or -1. */
static int mgr_disconnect(struct netmgr *m, const char *network, const char *id, bool background,
                          int netns_fd, struct err **errp) {
        struct mgr_net *mn = mgr_find(m, network, NULL);
        struct mgr_ep *e;
        size_t i;
        int r, r2;

        if (!mn)
                return err_setx(errp, ENOENT, "network '%s' not found", network);
        e = mgr_find_ep(mn, id, &i);
        if (!e)
                return 0;
        if (background && mgr_ep_in_netns(mn))
                r = 1;
        else if (background) {
                r = mgr_unlink_later(m, e->ep->host_ifname, errp);
                if (r < 0)
                        r = err_wrap(errp, "disconnect '%s' from network '%s'", id, network);
        } else {
                mgr_unlink_cancel(m, e->ep->host_ifname);
                r = mgr_unplug(m, mn, e->ep, netns_fd, errp);
        }
        if (r < 0)
                return r;
        if (mn->dns)
                dns_table_remove_ip(mn->dns, e->ep->ip);
        memmove(mn->eps + i, mn->eps + i + 1, (mn->n_eps - i - 1) * sizeof(*mn->eps));
        mn->n_eps--;
        ipam_release_owner(&mn->net->ipam, id);
        r = mgr_save(m, mn, errp);
        r2 = mgr_sync_ep(m, mn, e, false, r < 0 ? NULL : errp);
        mgr_ep_free(e);
        if (r < 0)
                return r;
        if (r2 < 0)
                return r2;
        return 1;
}

int netmgr_disconnect(struct netmgr *m, const char *network, const char *id, struct err **errp) {
        return mgr_disconnect(m, network, id, false, -1, errp);
}

int netmgr_disconnect_netns(struct netmgr *m, const char *network, const char *id, int netns_fd,
                            struct err **errp) {
        return mgr_disconnect(m, network, id, false, netns_fd, errp);
}

int netmgr_disconnect_all(struct netmgr *m, const char *id, struct err **errp) {
        int n = 0;

        for (size_t i = 0; i < m->n_nets; i++) {
                int r;

                if (!mgr_find_ep(m->nets[i], id, NULL))
                        continue;
                r = mgr_disconnect(m, m->nets[i]->net->name, id, true, -1, errp);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}

int netmgr_overlay_peer_add(struct netmgr *m, const char *network, const struct net_overlay_peer *p,
                            struct err **errp) {
        struct mgr_net *mn = mgr_find(m, network, NULL);

        if (!mn)
                return err_setx(errp, ENOENT, "network '%s' not found", network);
        return net_overlay_peer_add(m->nl, mn->net, p, errp);
}

int netmgr_overlay_peer_del(struct netmgr *m, const char *network, const struct net_overlay_peer *p,
                            struct err **errp) {
        struct mgr_net *mn = mgr_find(m, network, NULL);

        if (!mn)
                return err_setx(errp, ENOENT, "network '%s' not found", network);
        return net_overlay_peer_del(m->nl, mn->net, p, errp);
}

int netmgr_set_services(struct netmgr *m, const struct nft_service *svcs, size_t n,
                        struct err **errp) {
        struct nft_service *old = m->svcs, *v;
        size_t old_n = m->n_svcs;
        int r;

        if (n > 4096)
                return err_setx(errp, E2BIG, "too many services (max 4096)");
        if (n > 0 && !svcs)
                return err_setx(errp, EINVAL, "no services given");
        for (size_t i = 0; i < n; i++)
                if (svcs[i].n_backends > NFT_MAX_BACKENDS)
                        return err_setx(errp, E2BIG, "service '%s': more than %d backends",
                                        svcs[i].name ? svcs[i].name : "", NFT_MAX_BACKENDS);
        v = xnew0(struct nft_service, n + 1);
        for (size_t i = 0; i < n; i++) {
                v[i] = svcs[i];
                v[i].name = xstrdup(svcs[i].name ? svcs[i].name : "");
                v[i].backends = svcs[i].n_backends ? xmemdup(svcs[i].backends,
                                                             svcs[i].n_backends * sizeof(uint32_t))
                                                   : NULL;
        }
        m->svcs = v;
        m->n_svcs = n;
        r = mgr_sync_svcs(m, old, old_n, errp);
        if (r < 0) {
                m->svcs = old;
                m->n_svcs = old_n;
                svcs_free(v, n);
                return r;
        }
        svcs_free(old, old_n);
        return 0;
}
