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

static int nft_validate_services(const struct nft_state *s, struct err **errp) {
        char ip[16], net[19];

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
                if (n->internal && e->n_ports > 0)
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

static void emit_publish(struct sbuf *b, const struct nft_state *s) {
        char hip[16], cip[16];

        for (size_t i = 0; i < s->n_eps; i++) {
                const struct nft_endpoint *e = &s->eps[i];

                ipam_ip_format(e->ip, cip);
                for (size_t k = 0; k < e->n_ports; k++) {
                        const struct nft_publish *p = &e->ports[k];

                        ipam_ip_format(p->host_ip, hip);
                        for (unsigned port = p->host_port; port <= p->host_port_end; port++) {
                                sb_printf(b, "\t\t");
                                if (p->host_ip)
                                        sb_printf(b, "ip daddr %s ", hip);
                                sb_printf(b, "%s dport %u dnat to %s:%u\n", proto_name(p->proto),
                                          port, cip, p->ctr_port + (port - p->host_port));
                        }
                }
        }
}

static void emit_services(struct sbuf *b, const struct nft_state *s) {
        char vip[16], be[16];

        for (size_t i = 0; i < s->n_svcs; i++) {
                const struct nft_service *v = &s->svcs[i];
                unsigned tport = v->target_port ? v->target_port : v->port;

                if (v->n_backends == 0)
                        continue;
                ipam_ip_format(v->vip, vip);
                sb_printf(b, "\t\tip daddr %s %s dport %u dnat ip to ", vip, proto_name(v->proto),
                          v->port);
                if (v->n_backends == 1) {
                        ipam_ip_format(v->backends[0], be);
                        sb_printf(b, "%s:%u\n", be, tport);
                        continue;
                }
                sb_printf(b, "numgen inc mod %zu map { ", v->n_backends);
                for (size_t k = 0; k < v->n_backends; k++) {
                        ipam_ip_format(v->backends[k], be);
                        sb_printf(b, "%s%zu : %s . %u", k ? ", " : "", k, be, tport);
                }
                sb_printf(b, " }\n");
        }
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
        sb_printf(&b,
                  "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; "
                  "policy accept;\n%s\t\tfib daddr type local jump publish\n\t}\n",
                  s->n_svcs ? "\t\tjump services\n" : "");
        sb_printf(&b,
                  "\tchain output {\n\t\ttype nat hook output priority -100; policy "
                  "accept;\n%s\t\tfib daddr type local jump publish\n\t}\n",
                  s->n_svcs ? "\t\tjump services\n" : "");
        if (s->n_svcs) {
                sb_printf(&b, "\tchain services {\n");
                emit_services(&b, s);
                sb_printf(&b, "\t}\n");
        }
        sb_printf(&b, "\tchain publish {\n");
        emit_publish(&b, s);
        sb_printf(&b, "\t}\n");

        sb_printf(&b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; "
                      "policy accept;\n");
        for (size_t i = 0; i < s->n_nets; i++) {
                const struct net_network *n = s->nets[i];

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
        for (size_t i = 0; i < s->n_nets; i++) {
                const struct net_network *n = s->nets[i];

                if (!n->icc)
                        any_icc_off = true;
                if (!n->internal)
                        continue;
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
        sb_printf(&b, "\t}\n}\n");

        /* icc=false: frames between two ports of the bridge are dropped in the bridge family,
         * which needs neither br_netfilter nor the bridge-nf-call sysctls. */
        if (any_icc_off) {
                sb_printf(&b,
                          "table bridge %s {\n\tchain forward {\n\t\ttype filter hook "
                          "forward priority filter; policy accept;\n",
                          t);
                for (size_t i = 0; i < s->n_nets; i++) {
                        struct sbuf set = {};
                        size_t members = 0;

                        if (s->nets[i]->icc)
                                continue;
                        for (size_t j = 0; j < s->n_eps; j++) {
                                if (!streq(s->eps[j].network, s->nets[i]->name))
                                        continue;
                                sb_printf(&set, "%s\"%s\"", members ? ", " : "",
                                          s->eps[j].host_ifname);
                                members++;
                        }
                        if (members > 1)
                                sb_printf(&b, "\t\tiifname { %s } oifname { %s } drop\n", set.p,
                                          set.p);
                        free(set.p);
                }
                sb_printf(&b, "\t}\n}\n");
        }
        *ret = b.p;
        return 0;
}

int nft_apply(const char *script, struct err **errp) {
        struct nft_ctx *ctx;
        int r;

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
