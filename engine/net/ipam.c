/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "net/ipam.h"
#include "net/nl.h"
#include "strv.h"
#include "xalloc.h"

/* Bounds a network's allocation table; a /16 holds 65534 hosts, far more than one node runs. */
#define IPAM_MAX_ALLOCS 65536

const struct ipam_pool ipam_default_pools[] = {
        {{0xac110000u, 16}, 16}, /* 172.17.0.0/16 */
        {{0xac120000u, 15}, 16}, /* 172.18-19 */
        {{0xac140000u, 14}, 16}, /* 172.20-23 */
        {{0xac180000u, 13}, 16}, /* 172.24-31 */
        {{0xc0a80000u, 16}, 20}, /* 192.168.0.0/16 in /20s */
};
const size_t ipam_default_pools_n = ELEMENTSOF(ipam_default_pools);

uint32_t ipam_mask(unsigned len) {
        return len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

bool ipam_contains(const struct ipam_subnet *s, uint32_t ip) {
        return (ip & ipam_mask(s->len)) == s->net;
}

bool ipam_overlaps(const struct ipam_subnet *a, const struct ipam_subnet *b) {
        unsigned len = MIN(a->len, b->len);
        return (a->net & ipam_mask(len)) == (b->net & ipam_mask(len));
}

uint32_t ipam_broadcast(const struct ipam_subnet *s) {
        return s->net | ~ipam_mask(s->len);
}

void ipam_ip_format(uint32_t ip, char buf[16]) {
        snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

void ipam_cidr_format(const struct ipam_subnet *s, char buf[19]) {
        char ip[16];

        ipam_ip_format(s->net, ip);
        snprintf(buf, 19, "%s/%u", ip, s->len);
}

int ipam_ip_parse(const char *s, uint32_t *ret, struct err **errp) {
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return err_setx(errp, EINVAL, "invalid IPv4 address '%s'", s ? s : "");
        *ret = ntohl(a.s_addr);
        return 0;
}

int ipam_cidr_parse(const char *s, struct ipam_subnet *ret, struct err **errp) {
        _cleanup_free_ char *ip = NULL;
        const char *slash;
        char *end = NULL;
        unsigned long len;
        uint32_t a = 0;

        slash = s ? strchr(s, '/') : NULL;
        if (!slash)
                return err_setx(errp, EINVAL, "invalid CIDR '%s': expected ADDRESS/PREFIX",
                                s ? s : "");
        ip = xstrndup(s, (size_t)(slash - s));
        errno = 0;
        len = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || len > 32 || slash[1] == '-' || slash[1] == '+')
                return err_setx(errp, EINVAL, "invalid CIDR '%s': prefix must be 0..32", s);
        if (ipam_ip_parse(ip, &a, NULL) < 0)
                return err_setx(errp, EINVAL, "invalid CIDR '%s': bad address '%s'", s, ip);
        if (a & ~ipam_mask((unsigned)len)) {
                char canon[19];
                struct ipam_subnet c = {a & ipam_mask((unsigned)len), (unsigned)len};

                ipam_cidr_format(&c, canon);
                return err_setx(errp, EINVAL,
                                "invalid CIDR '%s': host bits set (did you mean '%s'?)", s, canon);
        }
        *ret = (struct ipam_subnet){a, (unsigned)len};
        return 0;
}

int ipam_pools_parse(const char *s, struct ipam_pool **ret, size_t *ret_n, struct err **errp) {
        _cleanup_strv_ char **items = NULL;
        _cleanup_free_ struct ipam_pool *v = NULL;
        size_t n = 0;

        items = strv_split(s ? s : "", ",");
        if (strv_length(items) == 0)
                return err_setx(errp, EINVAL, "empty address pool list");
        v = xnew0(struct ipam_pool, strv_length(items));
        STRV_FOREACH (it, items) {
                _cleanup_free_ char *cidr = NULL;
                char *colon = strrchr(*it, ':'), *end = NULL;
                unsigned long size;
                int r;

                if (!colon)
                        return err_setx(errp, EINVAL, "address pool '%s': expected CIDR:SIZE", *it);
                cidr = xstrndup(*it, (size_t)(colon - *it));
                r = ipam_cidr_parse(cidr, &v[n].base, errp);
                if (r < 0)
                        return err_wrap(errp, "address pool '%s'", *it);
                errno = 0;
                size = strtoul(colon + 1, &end, 10);
                if (!colon[1] || *end || errno || size < v[n].base.len || size > 30)
                        return err_setx(errp, EINVAL,
                                        "address pool '%s': size must be between %u and 30", *it,
                                        v[n].base.len);
                v[n++].size = (unsigned)size;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int ipam_pool_parse_spec(const char *spec, struct ipam_pool *ret, struct err **errp) {
        _cleanup_strv_ char **items = strv_split(spec ? spec : "", ",");
        struct ipam_pool p = {};
        bool base = false, size = false;

        STRV_FOREACH (it, items) {
                char *eq = strchr(*it, '='), *end = NULL;
                unsigned long v;

                if (eq && eq - *it == 4 && strncmp(*it, "base", 4) == 0 && !base) {
                        if (ipam_cidr_parse(eq + 1, &p.base, errp) < 0)
                                return err_wrap(errp, "address pool '%s': base", spec);
                        base = true;
                } else if (eq && eq - *it == 4 && strncmp(*it, "size", 4) == 0 && !size) {
                        errno = 0;
                        v = strtoul(eq + 1, &end, 10);
                        if (!eq[1] || *end || errno || v > 30)
                                return err_setx(errp, EINVAL,
                                                "address pool '%s': size must be a prefix length "
                                                "up to 30",
                                                spec);
                        p.size = (unsigned)v;
                        size = true;
                } else
                        return err_setx(errp, EINVAL,
                                        "address pool '%s': unexpected '%s' (expected "
                                        "base=CIDR,size=N)",
                                        spec, *it);
        }
        if (!base || !size)
                return err_setx(errp, EINVAL, "address pool '%s': expected base=CIDR,size=N",
                                spec ? spec : "");
        if (p.size < p.base.len)
                return err_setx(errp, EINVAL,
                                "address pool '%s': size %u is shorter than the base's prefix "
                                "length %u",
                                spec, p.size, p.base.len);
        *ret = p;
        return 0;
}

int ipam_pick_subnet(const struct ipam_pool *pools, size_t n_pools, const struct ipam_subnet *used,
                     size_t n_used, struct ipam_subnet *ret, struct err **errp) {
        for (size_t p = 0; p < n_pools; p++) {
                uint64_t count = 1ull << (pools[p].size - pools[p].base.len);
                uint64_t step = 1ull << (32 - pools[p].size);

                for (uint64_t i = 0; i < count; i++) {
                        struct ipam_subnet c = {(uint32_t)(pools[p].base.net + i * step),
                                                pools[p].size};
                        bool busy = false;

                        for (size_t u = 0; u < n_used && !busy; u++) {
                                /* A used subnet larger than the whole pool candidate range
                                 * (e.g. a /8 route) blocks every candidate inside it. */
                                busy = ipam_overlaps(&c, &used[u]);
                                if (busy && used[u].len < c.len) {
                                        uint64_t end = (uint64_t)ipam_broadcast(&used[u]) + 1;
                                        if (end > c.net)
                                                i = (end - pools[p].base.net) / step - 1;
                                }
                        }
                        if (!busy) {
                                *ret = c;
                                return 0;
                        }
                }
        }
        return err_setx(errp, ENOSPC,
                        "no free subnet left in the address pools (all overlap existing networks "
                        "or host routes); give --subnet explicitly");
}

int ipam_host_subnets(struct nl *nl, struct ipam_subnet **ret, size_t *ret_n, struct err **errp) {
        _cleanup_free_ struct nl_route *rt = NULL;
        struct ipam_subnet *v;
        size_t n = 0, m = 0;
        int r;

        r = nl_route_list4(nl, &rt, &n, errp);
        if (r < 0)
                return r;
        v = xnew0(struct ipam_subnet, n + 1);
        for (size_t i = 0; i < n; i++) {
                if (rt[i].dst_len == 0)
                        continue; /* the default route overlaps everything by definition */
                v[m].len = rt[i].dst_len;
                v[m].net = ntohl(rt[i].dst.v4.s_addr) & ipam_mask(rt[i].dst_len);
                m++;
        }
        *ret = v;
        *ret_n = m;
        return 0;
}

int ipam_init(struct ipam *ipam, const char *subnet, const char *gateway, const char *ip_range,
              struct err **errp) {
        struct ipam x = {};
        char net[19], gw[16];
        int r;

        r = ipam_cidr_parse(subnet, &x.subnet, errp);
        if (r < 0) {
                err_set_field(errp, "subnet");
                return r;
        }
        if (x.subnet.len < 8 || x.subnet.len > 30) {
                err_setx(errp, EINVAL, "subnet '%s': prefix length must be between 8 and 30",
                         subnet);
                err_set_field(errp, "subnet");
                return -EINVAL;
        }
        ipam_cidr_format(&x.subnet, net);
        if (gateway) {
                r = ipam_ip_parse(gateway, &x.gateway, errp);
                if (r < 0) {
                        err_wrap(errp, "gateway");
                        err_set_field(errp, "gateway");
                        return r;
                }
                if (!ipam_contains(&x.subnet, x.gateway) || x.gateway == x.subnet.net ||
                    x.gateway == ipam_broadcast(&x.subnet)) {
                        err_setx(errp, EINVAL, "gateway '%s' is not a host address of subnet '%s'",
                                 gateway, net);
                        err_set_field(errp, "gateway");
                        return -EINVAL;
                }
        } else
                x.gateway = x.subnet.net + 1;
        if (ip_range) {
                r = ipam_cidr_parse(ip_range, &x.range, errp);
                if (r < 0) {
                        err_wrap(errp, "ip_range");
                        err_set_field(errp, "ip_range");
                        return r;
                }
                if (x.range.len < x.subnet.len || !ipam_contains(&x.subnet, x.range.net)) {
                        ipam_ip_format(x.gateway, gw);
                        err_setx(errp, EINVAL, "ip_range '%s' is not inside subnet '%s'", ip_range,
                                 net);
                        err_set_field(errp, "ip_range");
                        return -EINVAL;
                }
        } else
                x.range = x.subnet;
        ipam_done(ipam);
        *ipam = x;
        return 0;
}

void ipam_done(struct ipam *ipam) {
        for (size_t i = 0; i < ipam->n_allocs; i++)
                free(ipam->allocs[i].owner);
        free(ipam->allocs);
        ipam->allocs = NULL;
        ipam->n_allocs = ipam->allocated = 0;
}

/* Index of ip in the sorted table, or of the slot where it would go. */
static size_t ipam_find(const struct ipam *ipam, uint32_t ip, bool *found) {
        size_t lo = 0, hi = ipam->n_allocs;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ipam->allocs[mid].ip < ip)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < ipam->n_allocs && ipam->allocs[lo].ip == ip;
        return lo;
}

const char *ipam_owner(const struct ipam *ipam, uint32_t ip) {
        bool found;
        size_t i = ipam_find(ipam, ip, &found);
        return found ? ipam->allocs[i].owner : NULL;
}

static bool ipam_reserved(const struct ipam *ipam, uint32_t ip) {
        return ip == ipam->subnet.net || ip == ipam_broadcast(&ipam->subnet) || ip == ipam->gateway;
}

static void ipam_insert(struct ipam *ipam, size_t at, uint32_t ip, const char *owner) {
        XGROW(ipam->allocs, ipam->allocated, ipam->n_allocs + 1);
        memmove(ipam->allocs + at + 1, ipam->allocs + at,
                (ipam->n_allocs - at) * sizeof(*ipam->allocs));
        ipam->allocs[at] = (struct ipam_alloc){ip, xstrdup(owner)};
        ipam->n_allocs++;
}

int ipam_alloc(struct ipam *ipam, const char *owner, uint32_t requested, uint32_t *ret,
               struct err **errp) {
        char ip[16], net[19];
        bool found;
        size_t at;

        ipam_cidr_format(&ipam->subnet, net);
        if (ipam->n_allocs >= IPAM_MAX_ALLOCS)
                return err_setx(errp, ENOSPC, "subnet '%s': allocation limit reached", net);
        if (requested) {
                ipam_ip_format(requested, ip);
                if (!ipam_contains(&ipam->subnet, requested))
                        return err_setx(errp, EINVAL, "address %s is not in subnet '%s'", ip, net);
                if (ipam_reserved(ipam, requested))
                        return err_setx(errp, EADDRINUSE,
                                        "address %s is reserved in subnet '%s' (network, "
                                        "broadcast or gateway)",
                                        ip, net);
                at = ipam_find(ipam, requested, &found);
                if (found)
                        return err_setx(errp, EADDRINUSE, "address %s is already in use by '%s'",
                                        ip, ipam->allocs[at].owner);
                ipam_insert(ipam, at, requested, owner);
                *ret = requested;
                return 0;
        }
        /* Lowest free address of the range: walk candidates and the sorted table together. */
        at = ipam_find(ipam, ipam->range.net, &found);
        for (uint64_t c = ipam->range.net; c <= ipam_broadcast(&ipam->range); c++) {
                while (at < ipam->n_allocs && ipam->allocs[at].ip < c)
                        at++;
                if (at < ipam->n_allocs && ipam->allocs[at].ip == c)
                        continue;
                if (ipam_reserved(ipam, (uint32_t)c))
                        continue;
                ipam_insert(ipam, at, (uint32_t)c, owner);
                *ret = (uint32_t)c;
                return 0;
        }
        return err_setx(errp, ENOSPC, "no free address left in subnet '%s'", net);
}

int ipam_release(struct ipam *ipam, uint32_t ip) {
        bool found;
        size_t at = ipam_find(ipam, ip, &found);

        if (!found)
                return 0;
        free(ipam->allocs[at].owner);
        memmove(ipam->allocs + at, ipam->allocs + at + 1,
                (ipam->n_allocs - at - 1) * sizeof(*ipam->allocs));
        ipam->n_allocs--;
        return 1;
}

int ipam_release_owner(struct ipam *ipam, const char *owner) {
        int n = 0;

        for (size_t i = 0; i < ipam->n_allocs;) {
                if (streq(ipam->allocs[i].owner, owner)) {
                        ipam_release(ipam, ipam->allocs[i].ip);
                        n++;
                } else
                        i++;
        }
        return n;
}

json_t *ipam_to_json(const struct ipam *ipam) {
        json_t *j = json_object(), *a = json_array();
        char buf[19];

        ipam_cidr_format(&ipam->subnet, buf);
        json_object_set_new(j, "subnet", json_string(buf));
        ipam_ip_format(ipam->gateway, buf);
        json_object_set_new(j, "gateway", json_string(buf));
        if (ipam->range.net != ipam->subnet.net || ipam->range.len != ipam->subnet.len) {
                ipam_cidr_format(&ipam->range, buf);
                json_object_set_new(j, "ip_range", json_string(buf));
        }
        for (size_t i = 0; i < ipam->n_allocs; i++) {
                ipam_ip_format(ipam->allocs[i].ip, buf);
                json_array_append_new(
                        a, json_pack("{s:s, s:s}", "ip", buf, "owner", ipam->allocs[i].owner));
        }
        json_object_set_new(j, "allocations", a);
        return j;
}

int ipam_from_json(const json_t *j, struct ipam *ret, struct err **errp) {
        _cleanup_(ipam_done) struct ipam x = {};
        const json_t *a, *it;
        size_t i;
        int r;

        if (!json_is_object(j))
                return err_setx(errp, EINVAL, "ipam: expected an object");
        r = ipam_init(&x, json_get_str(j, "subnet", NULL), json_get_str(j, "gateway", NULL),
                      json_get_str(j, "ip_range", NULL), errp);
        if (r < 0)
                return r;
        a = json_object_get(j, "allocations");
        if (a && !json_is_array(a))
                return err_setx(errp, EINVAL, "ipam: 'allocations' must be an array");
        json_array_foreach (a, i, it) {
                const char *ip = json_get_str(it, "ip", NULL),
                           *owner = json_get_str(it, "owner", NULL);
                uint32_t v = 0, got;

                if (!owner)
                        return err_setx(errp, EINVAL, "ipam: allocations[%zu]: missing owner", i);
                r = ipam_ip_parse(ip, &v, errp);
                if (r >= 0)
                        r = ipam_alloc(&x, owner, v, &got, errp);
                if (r < 0)
                        return err_wrap(errp, "ipam: allocations[%zu]", i);
        }
        ipam_done(ret);
        *ret = x;
        x = (struct ipam){};
        return 0;
}
