/* SPDX-License-Identifier: Apache-2.0 */
/* Remote endpoints of overlay networks: FDB, neighbours, DNS, VIP members (overlay_peers.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "api.h"
#include "ip4.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "net/dns.h"
#include "net/netmgr.h"
#include "overlay_peers.h"
#include "pod_res.h"
#include "pod_vip.h"
#include "strv.h"
#include "xalloc.h"

struct overlay_peers {
        struct daemon *daemon;
        char **fdb;   /* applied: "net id\tnet name\tvtep\tip\tmac" */
        char **dns;   /* applied: "net id\tnet name\tname\tip" */
        char *failed; /* the mesh network error logged last (logged once) */
};

struct overlay_peers *overlay_peers_new(struct daemon *d) {
        struct overlay_peers *p = xnew0(struct overlay_peers, 1);

        p->daemon = d;
        return p;
}

struct overlay_peers *overlay_peers_free(struct overlay_peers *p) {
        if (!p)
                return NULL;
        strv_free(p->fdb);
        strv_free(p->dns);
        free(p->failed);
        free(p);
        return NULL;
}

/* A usable address: 0.0.0.0 is none. */
static bool parse_ip(const char *s, uint32_t *ret) {
        return ip4_parse(s, ret) && *ret != 0;
}

static bool parse_mac(const char *s, uint8_t mac[NL_MAC_LEN]) {
        unsigned b[6];

        if (!s ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
                return false;
        for (size_t i = 0; i < 6; i++)
                mac[i] = (uint8_t)b[i];
        return true;
}

/* The network of a stack's key on this node, when it is an overlay network here. */
static const struct net_network *local_net(struct netmgr *m, const char *stack, const json_t *parts,
                                           const char *key) {
        const char *nm = json_get_str(json_object_get(json_object_get(parts, "networks"), key),
                                      "name", NULL);
        _cleanup_free_ char *name = nm && nm[0] ? xstrdup(nm) : xasprintf("%s_%s", stack, key);
        const struct net_network *n = netmgr_network_get(m, name);

        return n && n->driver == NET_DRIVER_OVERLAY ? n : NULL;
}

/* Applies (add) or removes one "net id\tnet name\tvtep\tip\tmac" entry. */
static int fdb_apply(struct netmgr *m, const char *entry, bool add, struct err **errp) {
        _cleanup_strv_ char **f = strv_split(entry, "\t");
        struct net_overlay_peer peer = {};
        const struct net_network *n;

        if (strv_length(f) != 5 || !parse_ip(f[2], &peer.vtep) || !parse_ip(f[3], &peer.ip) ||
            !parse_mac(f[4], peer.mac))
                return err_setx(errp, EINVAL, "bad overlay endpoint '%s'", entry);
        n = netmgr_network_get(m, f[1]);
        if (!n || !streq(n->id, f[0]))
                return 0; /* the network went, with its VXLAN device and entries */
        return add ? netmgr_overlay_peer_add(m, f[1], &peer, errp)
                   : netmgr_overlay_peer_del(m, f[1], &peer, errp);
}

static void dns_apply(struct netmgr *m, const char *entry, bool add) {
        _cleanup_strv_ char **f = strv_split(entry, "\t");
        const struct net_network *n;
        struct dns_table *t;
        uint32_t ip;

        if (strv_length(f) != 4 || !parse_ip(f[3], &ip))
                return;
        n = netmgr_network_get(m, f[1]);
        t = n && streq(n->id, f[0]) ? netmgr_dns_table(m, f[1]) : NULL;
        if (!t)
                return;
        if (add)
                (void)dns_table_add(t, f[2], ip, NULL);
        else
                (void)dns_table_remove(t, f[2], ip);
}

/* The remote pod's member (pod_vip.h) in members, created on first use. */
static json_t *member(json_t *members, const char *pod, const json_t *e) {
        json_t *mb = json_object_get(members, pod);

        if (!mb) {
                mb = json_pack("{s:s, s:b, s:o, s:{}}", "pod", pod, "ready",
                               json_is_true(json_object_get(e, "ready")), "endpoint",
                               json_deep_copy(json_object_get(e, "endpoint")), "addrs");
                /* VIPs by network name, as the local label has them. */
                json_object_set_new(json_object_get(mb, "endpoint"), "vips", json_object());
                json_object_set_new(members, pod, mb);
        }
        return mb;
}

/* The routing mesh of a stack (docs/cluster.md "Routing mesh"): this node answers on the
 * published ports even without a replica, so it needs the overlay networks they reach the
 * replicas on; the ports go to pod_vip, for the networks this node has. */
static void mesh_collect(struct overlay_peers *p, const char *stack, const json_t *parts,
                         json_t *out) {
        struct netmgr *m = p->daemon->net;
        const json_t *e;
        size_t i;

        json_array_foreach (json_object_get(parts, "mesh"), i, e) {
                const char *key = json_get_str(e, "network", "");

                if (!m || !local_net(m, stack, parts, key)) {
                        _cleanup_err_ struct err *err = NULL;

                        if (pod_res_stack_network(p->daemon, stack, parts, key, &err) < 0) {
                                if (!streq_ptr(p->failed, err_msg(err))) {
                                        log_warn(NULL,
                                                 "Failed to create the network of the routing "
                                                 "mesh: %s (retrying)",
                                                 err_msg(err));
                                        free(p->failed);
                                        p->failed = xstrdup(err_msg(err));
                                }
                                continue;
                        }
                        m = p->daemon->net; /* the first network starts the manager */
                        if (!m || !local_net(m, stack, parts, key))
                                continue;
                }
                json_array_append_new(
                        out, json_pack("{s:s, s:I, s:s, s:I}", "vip", json_get_str(e, "vip", ""),
                                       "port", (json_int_t)json_get_int(e, "port", 0), "protocol",
                                       json_get_str(e, "protocol", "tcp"), "published",
                                       (json_int_t)json_get_int(e, "published", 0)));
        }
}

void overlay_peers_sync(struct overlay_peers *p, const json_t *stacks, struct pod_vip *vip) {
        struct netmgr *m = p ? p->daemon->net : NULL;
        _cleanup_strv_ char **fdb = xnew0(char *, 1), **dns = xnew0(char *, 1), **kept = NULL;
        _cleanup_json_ json_t *members = json_object(), *mesh = json_array();
        const char *stack;
        json_t *parts;

        if (!p)
                return;
        json_object_foreach ((json_t *)stacks, stack, parts)
                if (json_array_size(json_object_get(parts, "mesh")) > 0)
                        mesh_collect(p, stack, parts, mesh);
        m = p->daemon->net;
        if (!m)
                return;
        json_object_foreach ((json_t *)stacks, stack, parts) {
                const json_t *e;
                size_t i;

                json_array_foreach (json_object_get(json_object_get(parts, "overlay"), "endpoints"),
                                    i, e) {
                        const char *key = json_get_str(e, "network", "");
                        const char *ip = json_get_str(e, "ip", ""), *pod;
                        const struct net_network *n = local_net(m, stack, parts, key);
                        const json_t *nm, *vips;
                        size_t k;

                        if (!n)
                                continue;
                        strv_push_take(&fdb, xasprintf("%s\t%s\t%s\t%s\t%s", n->id, n->name,
                                                       json_get_str(e, "vtep", ""), ip,
                                                       json_get_str(e, "mac", "")));
                        pod = json_get_str(e, "pod", NULL);
                        if (!pod)
                                continue; /* a node's own address */
                        json_array_foreach (json_object_get(e, "names"), k, nm)
                                if (json_is_string(nm))
                                        strv_push_take(&dns,
                                                       xasprintf("%s\t%s\t%s\t%s", n->id, n->name,
                                                                 json_string_value(nm), ip));
                        if (!json_is_object(json_object_get(e, "endpoint")))
                                continue;
                        {
                                json_t *mb = member(members, pod, e);
                                json_t *ep = json_object_get(mb, "endpoint");

                                json_object_set_new(json_object_get(mb, "addrs"), n->name,
                                                    json_string(ip));
                                vips = json_object_get(
                                        json_object_get(json_object_get(e, "endpoint"), "vips"),
                                        key);
                                if (json_is_string(vips))
                                        json_object_set(json_object_get(ep, "vips"), n->name,
                                                        (json_t *)vips);
                        }
                }
        }
        /* Removals first, then additions (idempotent in the kernel). */
        STRV_FOREACH (x, p->fdb) {
                _cleanup_err_ struct err *e = NULL;

                if (strv_contains(fdb, *x))
                        continue;
                if (fdb_apply(m, *x, false, &e) < 0)
                        log_warn(NULL, "Failed to remove an overlay endpoint: %s", err_msg(e));
        }
        STRV_FOREACH (x, fdb) {
                _cleanup_err_ struct err *e = NULL;

                if (strv_contains(p->fdb, *x)) {
                        strv_push(&kept, *x);
                        continue;
                }
                if (fdb_apply(m, *x, true, &e) < 0)
                        log_warn(NULL, "Failed to add an overlay endpoint: %s", err_msg(e));
                else
                        strv_push(&kept, *x);
        }
        strv_free(p->fdb);
        p->fdb = TAKE_PTR(kept);
        STRV_FOREACH (x, p->dns)
                if (!strv_contains(dns, *x))
                        dns_apply(m, *x, false);
        STRV_FOREACH (x, dns)
                dns_apply(m, *x, true);
        strv_free(p->dns);
        p->dns = TAKE_PTR(dns);
        {
                _cleanup_json_ json_t *list = json_array();
                const char *pod;
                json_t *mb;

                json_object_foreach (members, pod, mb)
                        json_array_append(list, mb);
                pod_vip_set_remote(vip, list);
        }
        pod_vip_set_mesh(vip, mesh);
}
