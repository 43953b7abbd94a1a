/* SPDX-License-Identifier: Apache-2.0 */
/* Service names and VIPs of stack pods (pod_vip.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "containers.h"
#include "ip4.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "net/dns.h"
#include "net/netmgr.h"
#include "pod_vip.h"
#include "strv.h"
#include "xalloc.h"

/* A usable address: 0.0.0.0 is none. */
static bool parse_ip(const char *s, uint32_t *ret) {
        return ip4_parse(s, ret) && *ret != 0;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

static void push_unique(char ***l, char *s) {
        if (strv_contains(*l, s)) {
                free(s);
                return;
        }
        strv_push_take(l, s);
}

/* The nft service for vip:port/proto, created on first use. */
static struct nft_service *svc_get(struct pod_vip_plan *p, size_t *alloc, const char *name,
                                   uint32_t vip, int proto, uint16_t port, uint16_t target) {
        for (size_t i = 0; i < p->n_svcs; i++)
                if (p->svcs[i].vip == vip && p->svcs[i].port == port && p->svcs[i].proto == proto)
                        return &p->svcs[i];
        XGROW(p->svcs, *alloc, p->n_svcs + 1);
        p->svcs[p->n_svcs] = (struct nft_service){
                .name = xasprintf("%s:%u/%s", name, port, proto == IPPROTO_UDP ? "udp" : "tcp"),
                .vip = vip,
                .proto = proto,
                .port = port,
                .target_port = target,
        };
        return &p->svcs[p->n_svcs++];
}

static void backend_add(struct nft_service *s, uint32_t ip) {
        uint32_t *b = (uint32_t *)s->backends;

        for (size_t i = 0; i < s->n_backends; i++)
                if (b[i] == ip)
                        return;
        if (s->n_backends >= NFT_MAX_BACKENDS)
                return;
        b = xrealloc(b, (s->n_backends + 1) * sizeof(uint32_t));
        b[s->n_backends++] = ip;
        s->backends = b;
}

static void member_add(struct pod_vip_plan *p, size_t *alloc, const struct pod_vip_member *m,
                       bool (*vip_usable)(void *ud, uint32_t vip), void *ud) {
        const json_t *ep = m->endpoint, *ports = json_object_get(ep, "ports"), *names;
        const char *mode = json_get_str(ep, "mode", "vip");
        const char *net;
        json_t *a;

        names = json_object_get(ep, "names");
        json_object_foreach ((json_t *)m->addrs, net, a) {
                const char *vip_s = json_get_str(json_object_get(ep, "vips"), net, NULL);
                uint32_t ip, vip = 0;
                bool use_vip;
                size_t i;
                json_t *n, *pt;

                if (!parse_ip(json_string_value(a), &ip))
                        continue;
                use_vip = streq(mode, "vip") && json_array_size(ports) > 0 &&
                          parse_ip(vip_s, &vip) && (!vip_usable || vip_usable(ud, vip));
                json_array_foreach (names, i, n) {
                        if (!json_is_string(n) || !json_string_value(n)[0])
                                continue;
                        if (use_vip)
                                push_unique(&p->dns, xasprintf("%s\t%s\t%s", net,
                                                               json_string_value(n), vip_s));
                        else if (m->ready)
                                push_unique(&p->dns,
                                            xasprintf("%s\t%s\t%s", net, json_string_value(n),
                                                      json_string_value(a)));
                }
                if (!use_vip)
                        continue;
                json_array_foreach (ports, i, pt) {
                        int64_t port = json_get_int(pt, "port", 0);
                        int64_t target = json_get_int(pt, "target", port);
                        const char *proto = json_get_str(pt, "protocol", "tcp");
                        _cleanup_free_ char *sname = NULL;
                        struct nft_service *s;

                        if (port < 1 || port > 65535 || target < 1 || target > 65535 ||
                            (!streq(proto, "tcp") && !streq(proto, "udp")))
                                continue;
                        sname = xasprintf("%s/%s@%s", json_get_str(ep, "stack", ""),
                                          json_get_str(ep, "service", ""), net);
                        s = svc_get(p, alloc, sname, vip,
                                    streq(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP, (uint16_t)port,
                                    (uint16_t)target);
                        if (m->ready)
                                backend_add(s, ip);
                }
        }
}

void pod_vip_plan_compute(const struct pod_vip_member *m, size_t n,
                          bool (*vip_usable)(void *ud, uint32_t vip), void *ud,
                          struct pod_vip_plan *ret) {
        struct pod_vip_plan p = {.dns = xnew0(char *, 1)};
        _cleanup_strv_ char **parts = NULL;
        size_t alloc = 0;

        for (size_t i = 0; i < n; i++)
                member_add(&p, &alloc, &m[i], vip_usable, ud);
        qsort_safe(p.dns, strv_length(p.dns), sizeof(char *), strv_cmp);
        for (size_t i = 0; i < p.n_svcs; i++) {
                struct nft_service *s = &p.svcs[i];
                _cleanup_free_ char *bes = xstrdup("");

                qsort_safe((uint32_t *)s->backends, s->n_backends, sizeof(uint32_t), cmp_u32);
                for (size_t k = 0; k < s->n_backends; k++) {
                        char *t = xasprintf("%s %08x", bes, s->backends[k]);
                        free(bes);
                        bes = t;
                }
                strv_push_take(&parts, xasprintf("%08x:%u/%d->%u%s", s->vip, s->port, s->proto,
                                                 s->target_port, bes));
        }
        qsort_safe(parts, strv_length(parts), sizeof(char *), strv_cmp);
        p.key = strv_join(parts, ";");
        *ret = p;
}

void pod_vip_plan_done(struct pod_vip_plan *p) {
        p->dns = strv_free(p->dns);
        for (size_t i = 0; i < p->n_svcs; i++) {
                free((char *)p->svcs[i].name);
                free((uint32_t *)p->svcs[i].backends);
        }
        free(p->svcs);
        p->svcs = NULL;
        p->n_svcs = 0;
        free(p->key);
        p->key = NULL;
}

/* ---- in the daemon ---- */

struct pod_vip {
        struct daemon *daemon;
        char **ready;     /* pods ready at the last sync */
        char **withdrawn; /* owner container ids of pods on their way out */
        char **dns;       /* applied DNS entries */
        char *key;        /* applied nft services (pod_vip_plan.key) */
        char *failed;     /* the key that failed last (logged once) */
        json_t *remote;   /* replicas on other nodes (pod_vip_set_remote) */
        json_t *mesh;     /* routing mesh ports (pod_vip_set_mesh) */
};

struct pod_vip *pod_vip_new(struct daemon *d) {
        struct pod_vip *v = xnew0(struct pod_vip, 1);

        v->daemon = d;
        return v;
}

struct pod_vip *pod_vip_free(struct pod_vip *v) {
        if (!v)
                return NULL;
        strv_free(v->ready);
        strv_free(v->withdrawn);
        strv_free(v->dns);
        free(v->key);
        free(v->failed);
        json_decref(v->remote);
        json_decref(v->mesh);
        free(v);
        return NULL;
}

static bool vip_usable(void *ud, uint32_t vip) {
        struct netmgr *m = ud;

        for (size_t i = 0; i < netmgr_n_networks(m); i++)
                if (ipam_contains(&netmgr_network_at(m, i)->ipam.subnet, vip))
                        return false;
        return true;
}

static const char *label(const json_t *info, const char *key) {
        return json_get_str(json_object_get(json_object_get(info, "Config"), "Labels"), key, NULL);
}

/* Applies DNS entry "net\tname\tip" (add or remove). */
static void dns_apply(struct netmgr *m, const char *entry, bool add) {
        _cleanup_strv_ char **f = strv_split(entry, "\t");
        struct dns_table *t;
        uint32_t ip;

        if (strv_length(f) != 3 || !parse_ip(f[2], &ip))
                return;
        t = netmgr_dns_table(m, f[0]);
        if (!t)
                return;
        if (add)
                (void)dns_table_add(t, f[1], ip, NULL);
        else
                (void)dns_table_remove(t, f[1], ip);
}

/* The routing mesh: each {"vip", "port", "protocol", "published"} gives the service of
 * vip:port/protocol its published port on every local address (nft_service.published). */
static void mesh_apply(const json_t *mesh, struct pod_vip_plan *p) {
        const json_t *e;
        size_t i;

        json_array_foreach (mesh, i, e) {
                int proto = streq(json_get_str(e, "protocol", "tcp"), "udp") ? IPPROTO_UDP
                                                                             : IPPROTO_TCP;
                int64_t port = json_get_int(e, "port", 0), pub = json_get_int(e, "published", 0);
                uint32_t vip;

                if (!parse_ip(json_get_str(e, "vip", NULL), &vip) || pub < 1 || pub > 65535)
                        continue;
                for (size_t k = 0; k < p->n_svcs; k++) {
                        struct nft_service *s = &p->svcs[k];
                        char *key;

                        if (s->vip != vip || s->port != port || s->proto != proto)
                                continue;
                        s->published = (uint16_t)pub;
                        key = xasprintf("%s;mesh %08x:%u/%d@%u", p->key ? p->key : "", s->vip,
                                        s->port, s->proto, s->published);
                        free(p->key);
                        p->key = key;
                }
        }
}

static void recompute(struct pod_vip *v) {
        struct netmgr *m = v->daemon->net;
        struct ctr **all = NULL;
        size_t n = v->daemon->ctrs ? ctr_all(v->daemon->ctrs, &all) : 0;
        size_t n_remote = json_array_size(v->remote);
        _cleanup_free_ struct pod_vip_member *mem = xnew0(struct pod_vip_member, n + n_remote + 1);
        _cleanup_json_ json_t *keep = json_array();
        _cleanup_strv_ char **seen = NULL, **still = NULL;
        struct pod_vip_plan p = {};
        size_t k = 0;

        if (!m)
                return;
        for (size_t i = 0; i < n; i++) {
                const json_t *info = ctr_record(all[i]);
                const char *epl = label(info, "berth.endpoint"), *pod = label(info, "berth.pod");
                const char *id = json_get_str(info, "Id", "");
                const json_t *nets =
                        json_object_get(json_object_get(info, "NetworkSettings"), "Networks");
                json_t *ep = NULL, *addrs = json_object(), *nv;
                const char *net;

                push_unique(&seen, xstrdup(id));
                if (!epl || !pod || json_parse(epl, strlen(epl), "berth.endpoint", &ep, NULL) < 0) {
                        json_decref(addrs);
                        continue;
                }
                json_object_foreach ((json_t *)nets, net, nv) {
                        const char *ip = json_get_str(nv, "IPAddress", "");
                        if (ip[0])
                                json_object_set_new(addrs, net, json_string(ip));
                }
                json_array_append_new(keep, ep);
                json_array_append_new(keep, addrs);
                json_array_append_new(keep, json_string(pod));
                mem[k++] = (struct pod_vip_member){
                        .pod = json_string_value(json_array_get(keep, json_array_size(keep) - 1)),
                        .ready = strv_contains(v->ready, pod) && !strv_contains(v->withdrawn, id),
                        .endpoint = ep,
                        .addrs = addrs,
                };
        }
        /* Replicas on other nodes, reached over an overlay network. */
        for (size_t i = 0; i < n_remote; i++) {
                const json_t *r = json_array_get(v->remote, i);

                mem[k++] = (struct pod_vip_member){
                        .pod = json_get_str(r, "pod", ""),
                        .ready = json_is_true(json_object_get(r, "ready")),
                        .endpoint = json_object_get(r, "endpoint"),
                        .addrs = json_object_get(r, "addrs"),
                };
        }
        /* Withdrawn pods are forgotten once their containers are gone. */
        STRV_FOREACH (w, v->withdrawn)
                if (strv_contains(seen, *w))
                        strv_push(&still, *w);
        strv_free(v->withdrawn);
        v->withdrawn = TAKE_PTR(still);

        pod_vip_plan_compute(mem, k, vip_usable, m, &p);
        mesh_apply(v->mesh, &p);
        /* Removals first: a replica leaves before anything else changes. */
        STRV_FOREACH (d, v->dns)
                if (!strv_contains(p.dns, *d))
                        dns_apply(m, *d, false);
        STRV_FOREACH (d, p.dns)
                dns_apply(m, *d, true); /* idempotent; re-adds what a disconnect dropped */
        strv_free(v->dns);
        v->dns = TAKE_PTR(p.dns);
        if (!streq_ptr(p.key, v->key)) {
                _cleanup_err_ struct err *e = NULL;

                if (netmgr_set_services(m, p.svcs, p.n_svcs, &e) >= 0) {
                        free(v->key);
                        v->key = TAKE_PTR(p.key);
                        free(v->failed);
                        v->failed = NULL;
                } else if (!streq_ptr(p.key, v->failed)) {
                        log_warn(NULL, "Failed to set the service VIPs: %s (retrying)", err_msg(e));
                        free(v->failed);
                        v->failed = TAKE_PTR(p.key);
                }
        }
        pod_vip_plan_done(&p);
}

void pod_vip_sync(struct pod_vip *v, const struct pod_status *pods, size_t n) {
        if (!v)
                return;
        v->ready = strv_free(v->ready);
        for (size_t i = 0; i < n; i++)
                if (pods[i].state == POD_RT_RUNNING && (pods[i].health == POD_RT_HEALTH_NONE ||
                                                        pods[i].health == POD_RT_HEALTH_HEALTHY))
                        strv_push(&v->ready, pods[i].name);
        recompute(v);
}

void pod_vip_set_remote(struct pod_vip *v, const json_t *members) {
        if (!v ||
            (v->remote ? json_equal(v->remote, (json_t *)members) : json_array_size(members) == 0))
                return;
        json_decref(v->remote);
        v->remote = json_array_size(members) ? json_deep_copy(members) : NULL;
        recompute(v);
}

void pod_vip_set_mesh(struct pod_vip *v, const json_t *mesh) {
        if (!v || (v->mesh ? json_equal(v->mesh, (json_t *)mesh) : json_array_size(mesh) == 0))
                return;
        json_decref(v->mesh);
        v->mesh = json_array_size(mesh) ? json_deep_copy(mesh) : NULL;
        recompute(v);
}

void pod_vip_withdraw(struct pod_vip *v, const char *pod) {
        struct ctr **all = NULL;
        size_t n;
        bool any = false;

        if (!v || !v->daemon->ctrs)
                return;
        /* By container id: a recreated pod may come back under the same name. */
        n = ctr_all(v->daemon->ctrs, &all);
        for (size_t i = 0; i < n; i++) {
                const json_t *info = ctr_record(all[i]);
                const char *id = json_get_str(info, "Id", "");

                if (!streq_ptr(label(info, "berth.pod"), pod) || !label(info, "berth.endpoint") ||
                    strv_contains(v->withdrawn, id))
                        continue;
                strv_push(&v->withdrawn, id);
                any = true;
        }
        if (any && strv_contains(v->ready, pod))
                recompute(v);
}
