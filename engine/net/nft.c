/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "net/nft.h"
#include "strv.h"
#include "xalloc.h"

/* The bridge names of every berth root: the default bridges (berth0, berth-<hash>) and the user
 * networks' br-<id>. */
#define NFT_BERTH_BRIDGES "{ \"berth*\", \"br-*\" }"

static const char *proto_name(int proto) {
        return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi) {
        char *end = NULL;
        unsigned long a, b;

        errno = 0;
        a = strtoul(s, &end, 10);
        if (end == s || errno || a < 1 || a > 65535 || *s == '-' || *s == '+')
                return -EINVAL;
        b = a;
        if (*end == '-') {
                const char *t = end + 1;
                b = strtoul(t, &end, 10);
                if (end == t || errno || b < a || b > 65535 || *t == '-' || *t == '+')
                        return -EINVAL;
        }
        if (*end)
                return -EINVAL;
        *lo = (uint16_t)a;
        *hi = (uint16_t)b;
        return 0;
}

int nft_publish_parse(const char *spec, struct nft_publish *ret, struct err **errp) {
        _cleanup_free_ char *s = NULL;
        struct nft_publish p = {.proto = IPPROTO_TCP};
        char *slash, *last, *host;

        if (!spec || !spec[0] || strlen(spec) > 64)
                return err_setx(errp, EINVAL, "invalid port mapping '%s'", spec ? spec : "");
        s = xstrdup(spec);
        slash = strchr(s, '/');
        if (slash) {
                *slash = 0;
                if (streq(slash + 1, "udp"))
                        p.proto = IPPROTO_UDP;
                else if (!streq(slash + 1, "tcp"))
                        return err_setx(errp, EINVAL,
                                        "invalid port mapping '%s': protocol must be tcp or udp",
                                        spec);
        }
        last = strrchr(s, ':');
        if (!last)
                return err_setx(errp, EINVAL,
                                "invalid port mapping '%s': expected [IP:]HOST_PORT:CONTAINER_PORT",
                                spec);
        *last = 0;
        if (parse_port_range(last + 1, &p.ctr_port, &p.ctr_port_end) < 0)
                return err_setx(errp, EINVAL, "invalid port mapping '%s': bad container port '%s'",
                                spec, last + 1);
        host = strrchr(s, ':');
        if (host) {
                struct in_addr a;

                *host++ = 0;
                if (inet_pton(AF_INET, s, &a) != 1)
                        return err_setx(errp, EINVAL,
                                        "invalid port mapping '%s': bad host address '%s'", spec,
                                        s);
                p.host_ip = ntohl(a.s_addr);
        } else
                host = s;
        if (parse_port_range(host, &p.host_port, &p.host_port_end) < 0)
                return err_setx(errp, EINVAL, "invalid port mapping '%s': bad host port '%s'", spec,
                                host);
        if (p.host_port_end - p.host_port != p.ctr_port_end - p.ctr_port)
                return err_setx(errp, EINVAL,
                                "invalid port mapping '%s': host and container ranges differ in "
                                "size",
                                spec);
        if (p.host_port_end - p.host_port >= NFT_MAX_RANGE)
                return err_setx(errp, EINVAL, "invalid port mapping '%s': more than %d ports", spec,
                                NFT_MAX_RANGE);
        *ret = p;
        return 0;
}

static void range_str(uint16_t lo, uint16_t hi, char *buf, size_t n) {
        if (lo == hi)
                snprintf(buf, n, "%u", lo);
        else
                snprintf(buf, n, "%u-%u", lo, hi);
}

void nft_publish_format(const struct nft_publish *p, char *buf, size_t n) {
        char ip[16] = "", h[12], c[12];

        if (p->host_ip)
                ipam_ip_format(p->host_ip, ip);
        range_str(p->host_port, p->host_port_end, h, sizeof(h));
        range_str(p->ctr_port, p->ctr_port_end, c, sizeof(c));
        snprintf(buf, n, "%s%s%s:%s/%s", ip, p->host_ip ? ":" : "", h, c, proto_name(p->proto));
}

static const struct net_network *find_net(const struct nft_state *s, const char *name) {
        for (size_t i = 0; i < s->n_nets; i++)
                if (streq(s->nets[i]->name, name))
                        return s->nets[i];
        return NULL;
}

static bool publish_clash(const struct nft_publish *a, const struct nft_publish *b) {
        return a->proto == b->proto && (!a->host_ip || !b->host_ip || a->host_ip == b->host_ip) &&
               a->host_port <= b->host_port_end && b->host_port <= a->host_port_end;
}

/* The mesh port of service i clashes with neither another service's nor a published port
 * of a container (every local address, like a published port). */
static int mesh_validate(const struct nft_state *s, size_t i, struct err **errp) {
        const struct nft_service *v = &s->svcs[i];
        struct nft_publish me = {
                .proto = v->proto, .host_port = v->published, .host_port_end = v->published};
        char pa[64];

        if (!v->published || v->n_backends == 0)
                return 0;
        for (size_t k = 0; k < i; k++)
                if (s->svcs[k].published == v->published && s->svcs[k].proto == v->proto &&
                    s->svcs[k].n_backends > 0)
                        return err_setx(errp, EADDRINUSE,
                                        "service '%s': host port %u/%s of the routing mesh is "
                                        "already published by service '%s'",
                                        v->name ? v->name : "", v->published, proto_name(v->proto),
                                        s->svcs[k].name ? s->svcs[k].name : "");
        for (size_t e = 0; e < s->n_eps; e++)
                for (size_t k = 0; k < s->eps[e].n_ports; k++)
                        if (publish_clash(&me, &s->eps[e].ports[k])) {
                                nft_publish_format(&s->eps[e].ports[k], pa, sizeof(pa));
                                return err_setx(errp, EADDRINUSE,
                                                "service '%s': host port %u/%s of the routing "
                                                "mesh is already published by '%s' (%s)",
                                                v->name ? v->name : "", v->published,
                                                proto_name(v->proto), s->eps[e].id, pa);
                        }
        return 0;
}

static int nft_validate_services(const struct nft_state *s, struct err **errp) {
        char ip[16], net[19];
        int r;

        for (size_t i = 0; i < s->n_svcs; i++) {
                const struct nft_service *v = &s->svcs[i];
                const char *name = v->name ? v->name : "";

                ipam_ip_format(v->vip, ip);
                if (!v->vip || !v->port || (v->proto != IPPROTO_TCP && v->proto != IPPROTO_UDP))
                        return err_setx(errp, EINVAL,
                                        "service '%s': needs a VIP, a port and tcp or udp", name);
                if (v->n_backends > NFT_MAX_BACKENDS)
                        return err_setx(errp, E2BIG, "service '%s': more than %d backends", name,
                                        NFT_MAX_BACKENDS);
                for (size_t k = 0; k < v->n_backends; k++)
                        if (!v->backends[k])
                                return err_setx(errp, EINVAL,
                                                "service '%s': backend %zu has no "
                                                "address",
                                                name, k);
                for (size_t k = 0; k < s->n_nets; k++)
                        if (ipam_contains(&s->nets[k]->ipam.subnet, v->vip)) {
                                ipam_cidr_format(&s->nets[k]->ipam.subnet, net);
                                return err_setx(errp, EINVAL,
                                                "service '%s': VIP %s is inside network '%s' (%s)",
                                                name, ip, s->nets[k]->name, net);
                        }
                r = mesh_validate(s, i, errp);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (s->svcs[k].vip == v->vip && s->svcs[k].port == v->port &&
                            s->svcs[k].proto == v->proto)
                                return err_setx(errp, EEXIST,
                                                "service '%s': %s:%u/%s is already used by "
                                                "service '%s'",
                                                name, ip, v->port, proto_name(v->proto),
                                                s->svcs[k].name ? s->svcs[k].name : "");
        }
        return 0;
}

static int nft_validate(const struct nft_state *s, struct err **errp) {
        char pa[64], pb[64];
        int r;

        r = nft_validate_services(s, errp);
        if (r < 0)
                return r;

        for (size_t i = 0; i < s->n_eps; i++) {
                const struct nft_endpoint *e = &s->eps[i];
                const struct net_network *n = find_net(s, e->network);

                if (!n)
                        return err_setx(errp, EINVAL, "endpoint '%s': unknown network '%s'", e->id,
                                        e->network);
                if (!net_routes_out(n) && e->n_ports > 0)
                        return err_setx(errp, EINVAL,
                                        "endpoint '%s': cannot publish ports on internal network "
                                        "'%s'",
                                        e->id, n->name);
                for (size_t k = 0; k < e->n_ports; k++)
                        for (size_t j = 0; j <= i; j++)
                                for (size_t l = 0; l < (j == i ? k : s->eps[j].n_ports); l++)
                                        if (publish_clash(&e->ports[k], &s->eps[j].ports[l])) {
                                                nft_publish_format(&e->ports[k], pa, sizeof(pa));
                                                nft_publish_format(&s->eps[j].ports[l], pb,
                                                                   sizeof(pb));
                                                return err_setx(errp, EADDRINUSE,
                                                                "port %s of '%s' is already "
                                                                "published by '%s' (%s)",
                                                                pa, e->id, s->eps[j].id, pb);
                                        }
        }
        return 0;
}

/* A growing text buffer (open_memstream would need error handling at every fprintf). */
struct sbuf {
        char *p;
        size_t n, allocated;
};

_printf_(2, 3) static void sb_printf(struct sbuf *b, const char *fmt, ...) {
        va_list ap;
        int len;

        va_start(ap, fmt);
        len = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        XGROW(b->p, b->allocated, b->n + (size_t)len + 1);
        va_start(ap, fmt);
        vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
        va_end(ap);
        b->n += (size_t)len;
}

/* Published ports live in two maps, so a container's ports are added and removed as elements
 * without touching the rules: publish_ip (a host address given) and publish_any (every
 * address). One element per port of a range. */
static void emit_publish_elems(struct sbuf *b, const struct nft_endpoint *e, bool with_ip,
                               bool data, bool *first) {
        char hip[16], cip[16];

        ipam_ip_format(e->ip, cip);
        for (size_t k = 0; k < e->n_ports; k++) {
                const struct nft_publish *p = &e->ports[k];

                if (!!p->host_ip != with_ip)
                        continue;
                ipam_ip_format(p->host_ip, hip);
                for (unsigned port = p->host_port; port <= p->host_port_end; port++) {
                        sb_printf(b, "%s", *first ? "" : ", ");
                        *first = false;
                        if (with_ip)
                                sb_printf(b, "%s . ", hip);
                        sb_printf(b, "%s . %u", proto_name(p->proto), port);
                        if (data)
                                sb_printf(b, " : %s . %u", cip,
                                          p->ctr_port + (port - p->host_port));
                }
        }
}

static void emit_publish_map(struct sbuf *b, const struct nft_state *s, bool with_ip) {
        bool first = true;

        sb_printf(b,
                  "\tmap %s {\n\t\ttype %sinet_proto . inet_service : ipv4_addr . "
                  "inet_service\n",
                  with_ip ? "publish_ip" : "publish_any", with_ip ? "ipv4_addr . " : "");
        for (size_t i = 0; i < s->n_eps; i++) {
                struct sbuf elems = {};
                bool was_first = first;

                emit_publish_elems(&elems, &s->eps[i], with_ip, true, &first);
                if (elems.p)
                        sb_printf(b, "%s%s", was_first ? "\t\telements = { " : "", elems.p);
                free(elems.p);
        }
        if (!first)
                sb_printf(b, " }\n");
        sb_printf(b, "\t}\n");
}

/* Each service VIP is an element of the verdict map `services` that jumps to a chain of its
 * own holding the round-robin DNAT, so one service changes without touching the others. */
static void svc_chain_name(const struct nft_service *v, char buf[40]) {
        snprintf(buf, 40, "svc-%08x-%s-%u", v->vip, proto_name(v->proto), v->port);
}

static void svc_key(const struct nft_service *v, char buf[40]) {
        char vip[16];

        ipam_ip_format(v->vip, vip);
        snprintf(buf, 40, "%s . %s . %u", vip, proto_name(v->proto), v->port);
}

static void emit_svc_rule(struct sbuf *b, const struct nft_service *v) {
        unsigned tport = v->target_port ? v->target_port : v->port;
        char be[16];

        sb_printf(b, "meta l4proto %s dnat ip to ", proto_name(v->proto));
        if (v->n_backends == 1) {
                ipam_ip_format(v->backends[0], be);
                sb_printf(b, "%s:%u", be, tport);
                return;
        }
        sb_printf(b, "numgen inc mod %zu map { ", v->n_backends);
        for (size_t k = 0; k < v->n_backends; k++) {
                ipam_ip_format(v->backends[k], be);
                sb_printf(b, "%s%zu : %s . %u", k ? ", " : "", k, be, tport);
        }
        sb_printf(b, " }");
}

static void emit_services(struct sbuf *b, const struct nft_state *s) {
        char name[40], key[40];
        bool first = true;

        for (size_t i = 0; i < s->n_svcs; i++) {
                const struct nft_service *v = &s->svcs[i];

                if (v->n_backends == 0)
                        continue;
                svc_chain_name(v, name);
                sb_printf(b, "\tchain %s {\n\t\t", name);
                emit_svc_rule(b, v);
                sb_printf(b, "\n\t}\n");
        }
        sb_printf(b, "\tmap services {\n\t\ttype ipv4_addr . inet_proto . inet_service : "
                     "verdict\n");
        for (size_t i = 0; i < s->n_svcs; i++) {
                const struct nft_service *v = &s->svcs[i];

                if (v->n_backends == 0)
                        continue;
                svc_chain_name(v, name);
                svc_key(v, key);
                sb_printf(b, "%s%s : goto %s", first ? "\t\telements = { " : ", ", key, name);
                first = false;
        }
        if (!first)
                sb_printf(b, " }\n");
        sb_printf(b, "\t}\n\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap "
                     "@services\n\t}\n");
        /* The routing mesh: a service's published port on every local address jumps to the
         * same chain as its VIP. */
        first = true;
        sb_printf(b, "\tmap ingress {\n\t\ttype inet_proto . inet_service : verdict\n");
        for (size_t i = 0; i < s->n_svcs; i++) {
                const struct nft_service *v = &s->svcs[i];

                if (v->n_backends == 0 || !v->published)
                        continue;
                svc_chain_name(v, name);
                sb_printf(b, "%s%s . %u : goto %s", first ? "\t\telements = { " : ", ",
                          proto_name(v->proto), v->published, name);
                first = false;
        }
        if (!first)
                sb_printf(b, " }\n");
        sb_printf(b, "\t}\n");
}

/* Overlay fast path (issue #10). Frames bridged between a container and the VXLAN device
 * cross br_netfilter (bridge-nf-call-iptables, on by default in every network namespace), so
 * conntrack and the forward chain saw every one of them twice per host, and the VXLAN packets
 * carrying them once more. None of it needs state: NAT on an overlay happens only where a
 * packet is addressed to this host (its gateway or node address, a VIP, a published port), and
 * those stay tracked. So: container to container within the subnet (neither end this host),
 * and the UDP packets of the VTEP, are not tracked; the forward chain accepts a frame that
 * enters and leaves the same overlay bridge first (no rule of it ever drops one; icc=false is
 * the bridge table's). Isolation between networks is untouched: it is decided on frames that
 * change bridge, which still go through every rule. */
static bool is_overlay(const struct net_network *n) {
        return n->driver == NET_DRIVER_OVERLAY;
}

static bool vtep_seen(const struct nft_state *s, size_t upto, uint32_t vtep) {
        for (size_t j = 0; j < upto; j++)
                if (is_overlay(s->nets[j]) && s->nets[j]->vtep == vtep)
                        return true;
        return false;
}

static void emit_overlay_notrack(struct sbuf *b, const struct nft_state *s) {
        char cidr[19], gw[16], self[16], vtep[16];
        bool any = false;

        for (size_t i = 0; i < s->n_nets; i++)
                any = any || is_overlay(s->nets[i]);
        if (!any)
                return;
        sb_printf(b, "\tchain overlay_notrack {\n\t\ttype filter hook prerouting priority raw; "
                     "policy accept;\n");
        for (size_t i = 0; i < s->n_nets; i++) {
                const struct net_network *n = s->nets[i];

                /* The macvlan path: container frames never reach the host's hooks. */
                if (!is_overlay(n) || n->macvlan)
                        continue;
                ipam_cidr_format(&n->ipam.subnet, cidr);
                ipam_ip_format(n->ipam.gateway, gw);
                sb_printf(b, "\t\tiifname \"%s\" ip saddr %s ip daddr %s ip daddr != ", n->ifname,
                          cidr, cidr);
                if (n->node_ip) {
                        ipam_ip_format(n->node_ip, self);
                        sb_printf(b, "{ %s, %s } notrack\n", gw, self);
                } else
                        sb_printf(b, "%s notrack\n", gw);
        }
        for (size_t i = 0; i < s->n_nets; i++)
                if (is_overlay(s->nets[i]) && s->nets[i]->vtep &&
                    !vtep_seen(s, i, s->nets[i]->vtep)) {
                        ipam_ip_format(s->nets[i]->vtep, vtep);
                        sb_printf(b, "\t\tip daddr %s udp dport %d notrack\n", vtep,
                                  NET_OVERLAY_VXLAN_PORT);
                }
        sb_printf(b, "\t}\n\tchain overlay_notrack_out {\n\t\ttype filter hook output priority "
                     "raw; policy accept;\n");
        for (size_t i = 0; i < s->n_nets; i++)
                if (is_overlay(s->nets[i]) && s->nets[i]->vtep &&
                    !vtep_seen(s, i, s->nets[i]->vtep)) {
                        ipam_ip_format(s->nets[i]->vtep, vtep);
                        sb_printf(b, "\t\tip saddr %s udp dport %d notrack\n", vtep,
                                  NET_OVERLAY_VXLAN_PORT);
                }
        sb_printf(b, "\t}\n");
}

bool nft_table_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > NFT_TABLE_MAX || !(name[0] >= 'a' && name[0] <= 'z'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
                      name[i] == '-' || name[i] == '_'))
                        return false;
        return true;
}

int nft_ruleset(const struct nft_state *s, char **ret, struct err **errp) {
        const char *t = s->table ? s->table : NFT_TABLE_DEFAULT;
        struct sbuf b = {};
        bool any_icc_off = false;
        char cidr[19];
        int r;

        if (!nft_table_name_valid(t))
                return err_setx(errp, EINVAL,
                                "invalid nftables table name '%s' (a-z first, then a-z, 0-9, "
                                "'-', '_'; at most %d characters)",
                                t, NFT_TABLE_MAX);
        r = nft_validate(s, errp);
        if (r < 0)
                return r;
        /* Adding before deleting makes the delete valid whether or not the table exists; the
         * whole script is one transaction. */
        sb_printf(&b, "table ip %s\ndelete table ip %s\n", t, t);
        sb_printf(&b, "table bridge %s\ndelete table bridge %s\n", t, t);
        if (s->n_nets == 0 && s->n_svcs == 0) {
                *ret = b.p;
                return 0;
        }

        sb_printf(&b, "table ip %s {\n", t);
        emit_publish_map(&b, s, true);
        emit_publish_map(&b, s, false);
        emit_services(&b, s);
        sb_printf(&b, "\tchain publish {\n\t\tmeta l4proto . th dport vmap @ingress\n");
        for (int k = 0; k < 2; k++)
                sb_printf(&b,
                          "\t\tmeta l4proto { tcp, udp } dnat ip to %smeta l4proto . th dport "
                          "map @%s\n",
                          k ? "" : "ip daddr . ", k ? "publish_any" : "publish_ip");
        sb_printf(&b, "\t}\n");
        sb_printf(&b, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; "
                      "policy accept;\n\t\tjump services\n\t\tfib daddr type local jump "
                      "publish\n\t}\n");
        sb_printf(&b, "\tchain output {\n\t\ttype nat hook output priority -100; policy "
                      "accept;\n\t\tjump services\n\t\tfib daddr type local jump publish\n\t}\n");

        emit_overlay_notrack(&b, s);
        sb_printf(&b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; "
                      "policy accept;\n");
        for (size_t i = 0; i < s->n_nets; i++) {
                const struct net_network *n = s->nets[i];

                if (n->internal && n->node_ip) {
                        char self[16];

                        /* Overlay: VIP traffic leaves with this host's own address on the
                         * network, so a remote replica answers through this host (conntrack
                         * undoes the DNAT), not straight to the client. */
                        ipam_cidr_format(&n->ipam.subnet, cidr);
                        ipam_ip_format(n->node_ip, self);
                        sb_printf(&b, "\t\tip saddr %s oifname \"%s\" ct status dnat snat to %s\n",
                                  cidr, n->ifname, self);
                        /* The routing mesh: a client outside the network (another host, this
                         * host) reaches a replica through this host's address too. */
                        sb_printf(&b,
                                  "\t\tip saddr != %s oifname \"%s\" ct status dnat snat to %s\n",
                                  cidr, n->ifname, self);
                        /* Egress: the containers' default route is this address; what leaves
                         * the host through any other interface goes out with the host's
                         * address there. Traffic between overlay addresses (bridged, maybe
                         * untracked) never matches: it does not leave through another
                         * interface. */
                        sb_printf(&b,
                                  "\t\tip saddr %s ip daddr != %s oifname != \"%s\" masquerade\n",
                                  cidr, cidr, n->ifname);
                }
                if (n->internal)
                        continue;
                ipam_cidr_format(&n->ipam.subnet, cidr);
                /* 127.0.0.1:port published ports reach the bridge thanks to route_localnet;
                 * the container must answer to an address it can route back to. */
                sb_printf(&b, "\t\tip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n", n->ifname);
                /* Hairpin: a container reaching a published port of its own network. */
                sb_printf(&b, "\t\tip saddr %s oifname \"%s\" ct status dnat masquerade\n", cidr,
                          n->ifname);
                sb_printf(&b, "\t\tip saddr %s oifname != \"%s\" masquerade\n", cidr, n->ifname);
        }
        sb_printf(&b, "\t}\n");

        sb_printf(&b, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy "
                      "accept;\n");
        for (size_t i = 0; i < s->n_nets; i++)
                if (is_overlay(s->nets[i]))
                        sb_printf(&b, "\t\tiifname \"%s\" oifname \"%s\" accept\n",
                                  s->nets[i]->ifname, s->nets[i]->ifname);
        for (size_t i = 0; i < s->n_nets; i++) {
                const struct net_network *n = s->nets[i];

                if (!n->icc)
                        any_icc_off = true;
                if (!n->internal)
                        continue;
                /* An overlay network is internal, but the routing mesh DNATs into it from
                 * outside (and the replies go back). */
                if (n->node_ip) {
                        sb_printf(&b,
                                  "\t\tct status dnat iifname \"%s\" accept\n"
                                  "\t\tct status dnat oifname \"%s\" accept\n",
                                  n->ifname, n->ifname);
                        /* Egress (routed through this host's address, so tracked): out of
                         * the host, not into another berth network, and the replies back. */
                        ipam_cidr_format(&n->ipam.subnet, cidr);
                        sb_printf(&b,
                                  "\t\tiifname \"%s\" ip saddr %s oifname != \"%s\" "
                                  "oifname != " NFT_BERTH_BRIDGES " accept\n",
                                  n->ifname, cidr, n->ifname);
                        sb_printf(&b,
                                  "\t\toifname \"%s\" ip daddr %s iifname != \"%s\" "
                                  "iifname != " NFT_BERTH_BRIDGES
                                  " ct state established,related accept\n",
                                  n->ifname, cidr, n->ifname);
                }
                sb_printf(&b, "\t\tiifname \"%s\" oifname != \"%s\" drop\n", n->ifname, n->ifname);
                sb_printf(&b, "\t\toifname \"%s\" iifname != \"%s\" drop\n", n->ifname, n->ifname);
        }
        /* Published ports stay reachable from other networks (like from any other host). */
        sb_printf(&b, "\t\tct status dnat accept\n");
        if (s->n_nets > 1)
                for (size_t i = 0; i < s->n_nets; i++) {
                        bool first = true;

                        sb_printf(&b, "\t\tiifname \"%s\" oifname { ", s->nets[i]->ifname);
                        for (size_t j = 0; j < s->n_nets; j++) {
                                if (j == i)
                                        continue;
                                sb_printf(&b, "%s\"%s\"", first ? "" : ", ", s->nets[j]->ifname);
                                first = false;
                        }
                        sb_printf(&b, " } drop\n");
                }
        /* Networks of other daemon roots (their own tables, bridges named like ours): traffic
         * between them and ours is dropped in both directions, whichever root runs which
         * version. */
        for (size_t i = 0; i < s->n_nets; i++) {
                const char *x = s->nets[i]->ifname;

                sb_printf(&b,
                          "\t\tiifname \"%s\" oifname != \"%s\" oifname " NFT_BERTH_BRIDGES
                          " drop\n",
                          x, x);
                sb_printf(&b,
                          "\t\toifname \"%s\" iifname != \"%s\" iifname " NFT_BERTH_BRIDGES
                          " drop\n",
                          x, x);
        }
        sb_printf(&b, "\t}\n}\n");

        /* icc=false: frames between two ports of the bridge are dropped in the bridge family,
         * which needs neither br_netfilter nor the bridge-nf-call sysctls. */
        if (any_icc_off) {
                bool first = true;

                sb_printf(&b, "table bridge %s {\n", t);
                sb_printf(&b, "\tset noicc {\n\t\ttype ifname\n");
                for (size_t j = 0; j < s->n_eps; j++) {
                        const struct net_network *n = find_net(s, s->eps[j].network);

                        if (n->icc)
                                continue;
                        sb_printf(&b, "%s\"%s\"", first ? "\t\telements = { " : ", ",
                                  s->eps[j].host_ifname);
                        first = false;
                }
                if (!first)
                        sb_printf(&b, " }\n");
                sb_printf(&b, "\t}\n\tchain forward {\n\t\ttype filter hook forward priority "
                              "filter; policy accept;\n\t\tiifname @noicc oifname @noicc "
                              "drop\n");
                sb_printf(&b, "\t}\n}\n");
        }
        *ret = b.p;
        return 0;
}

static const char *state_table(const struct nft_state *s, struct err **errp) {
        const char *t = s->table ? s->table : NFT_TABLE_DEFAULT;

        if (!nft_table_name_valid(t)) {
                (void)err_setx(errp, EINVAL, "invalid nftables table name '%s'", t);
                return NULL;
        }
        return t;
}

int nft_endpoint_script(const struct nft_state *s, const struct nft_endpoint *e, bool add,
                        char **ret, struct err **errp) {
        const char *t = state_table(s, errp), *verb = add ? "add" : "delete";
        const struct net_network *n;
        struct sbuf b = {};
        int r;

        if (!t)
                return -EINVAL;
        n = find_net(s, e->network);
        if (!n)
                return err_setx(errp, EINVAL, "endpoint '%s': unknown network '%s'", e->id,
                                e->network);
        if (add) {
                /* s already holds e: this finds clashes with every other endpoint. */
                r = nft_validate(s, errp);
                if (r < 0)
                        return r;
        }
        for (int k = 0; k < 2; k++) {
                struct sbuf elems = {};
                bool first = true;

                emit_publish_elems(&elems, e, k == 0, add, &first);
                if (elems.p)
                        sb_printf(&b, "%s element ip %s %s { %s }\n", verb, t,
                                  k == 0 ? "publish_ip" : "publish_any", elems.p);
                free(elems.p);
        }
        if (!n->icc)
                sb_printf(&b, "%s element bridge %s noicc { \"%s\" }\n", verb, t, e->host_ifname);
        *ret = b.p ? b.p : xstrdup("");
        return 0;
}

static const struct nft_service *svc_find(const struct nft_service *v, size_t n,
                                          const struct nft_service *key) {
        for (size_t i = 0; i < n; i++)
                if (v[i].n_backends > 0 && v[i].vip == key->vip && v[i].proto == key->proto &&
                    v[i].port == key->port)
                        return &v[i];
        return NULL;
}

static bool svc_same(const struct nft_service *a, const struct nft_service *b) {
        return (a->target_port ? a->target_port : a->port) ==
                       (b->target_port ? b->target_port : b->port) &&
               a->n_backends == b->n_backends &&
               memcmp(a->backends, b->backends, a->n_backends * sizeof(*a->backends)) == 0;
}

int nft_services_script(const struct nft_state *s, const struct nft_service *old, size_t n_old,
                        char **ret, struct err **errp) {
        const char *t = state_table(s, errp);
        _cleanup_strv_ char **ingress = NULL;
        char name[40], key[40];
        struct sbuf b = {};
        int r;

        if (!t)
                return -EINVAL;
        r = nft_validate_services(s, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_old; i++) {
                const struct nft_service *o = &old[i];

                const struct nft_service *v;

                if (o->n_backends == 0)
                        continue;
                v = svc_find(s->svcs, s->n_svcs, o);
                /* The mesh port goes first (its element jumps to the chain). */
                if (o->published && (!v || v->published != o->published))
                        sb_printf(&b, "delete element ip %s ingress { %s . %u }\n", t,
                                  proto_name(o->proto), o->published);
                if (v)
                        continue;
                svc_chain_name(o, name);
                svc_key(o, key);
                sb_printf(&b, "delete element ip %s services { %s }\n", t, key);
                sb_printf(&b, "flush chain ip %s %s\ndelete chain ip %s %s\n", t, name, t, name);
        }
        for (size_t i = 0; i < s->n_svcs; i++) {
                const struct nft_service *v = &s->svcs[i], *o;

                if (v->n_backends == 0)
                        continue;
                o = svc_find(old, n_old, v);
                svc_chain_name(v, name);
                if (v->published && (!o || o->published != v->published))
                        strv_push_take(
                                &ingress,
                                xasprintf("add element ip %s ingress { %s . %u : goto %s }\n", t,
                                          proto_name(v->proto), v->published, name));
                if (o && svc_same(o, v))
                        continue;
                if (o)
                        sb_printf(&b, "flush chain ip %s %s\n", t, name);
                else
                        sb_printf(&b, "add chain ip %s %s\n", t, name);
                sb_printf(&b, "add rule ip %s %s ", t, name);
                emit_svc_rule(&b, v);
                sb_printf(&b, "\n");
                if (!o) {
                        svc_key(v, key);
                        sb_printf(&b, "add element ip %s services { %s : goto %s }\n", t, key,
                                  name);
                }
        }
        /* New mesh ports last: their chains exist by now. */
        STRV_FOREACH (x, ingress)
                sb_printf(&b, "%s", *x);
        *ret = b.p ? b.p : xstrdup("");
        return 0;
}

int nft_apply(const char *script, struct err **errp) {
        struct nft_ctx *ctx;
        int r;

        if (!script[0])
                return 0;
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return err_setx(errp, ENOMEM, "create nftables context");
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                nft_ctx_free(ctx);
                return err_setx(errp, ENOMEM, "set up nftables buffers");
        }
        r = nft_run_cmd_from_buffer(ctx, script);
        if (r != 0) {
                _cleanup_free_ char *msg = xstrdup(nft_ctx_get_error_buffer(ctx));
                size_t len = strlen(msg);

                while (len > 0 && msg[len - 1] == '\n')
                        msg[--len] = 0;
                nft_ctx_free(ctx);
                return err_setx(errp, EIO, "apply nftables ruleset: %s",
                                msg[0] ? msg : "unknown error");
        }
        nft_ctx_free(ctx);
        return 0;
}

int nft_sync(const struct nft_state *s, struct err **errp) {
        _cleanup_free_ char *script = NULL;
        int r;

        r = nft_ruleset(s, &script, errp);
        if (r < 0)
                return r;
        return nft_apply(script, errp);
}

int nft_port_check_free(const struct nft_publish *p, struct err **errp) {
        for (unsigned port = p->host_port; port <= p->host_port_end; port++) {
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
                _cleanup_close_ int fd = -EBADF;
                char ip[16];

                sa.sin_addr.s_addr = htonl(p->host_ip);
                fd = socket(AF_INET,
                            (p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return err_set(errp, errno, "check host port %u", port);
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        int e = errno;

                        ipam_ip_format(p->host_ip, ip);
                        if (e == EADDRINUSE)
                                return err_setx(errp, EADDRINUSE,
                                                "host port %s:%u/%s is already in use", ip, port,
                                                proto_name(p->proto));
                        return err_set(errp, e, "check host port %s:%u/%s", ip, port,
                                       proto_name(p->proto));
                }
        }
        return 0;
}
