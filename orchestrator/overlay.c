/* SPDX-License-Identifier: Apache-2.0 */
/* Overlay network, pod and node address allocation in the controller's store (overlay.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ip4.h"
#include "json.h"
#include "macro.h"
#include "mesh.h"
#include "overlay.h"
#include "strv.h"
#include "vip.h"
#include "xalloc.h"

#define OVERLAY_PREFIX "overlay/"
#define OVERLAY_MAX_OPS 4096

static uint32_t mask_of(unsigned len) {
        return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

/* "a.b.c.d/len" with the host bits zero, len 8..30. */
static bool parse_cidr(const char *s, uint32_t *net, unsigned *len) {
        _cleanup_free_ char *ip = NULL;
        const char *slash = s ? strchr(s, '/') : NULL;
        char *end = NULL;
        unsigned long l;

        if (!slash)
                return false;
        ip = xstrndup(s, (size_t)(slash - s));
        errno = 0;
        l = strtoul(slash + 1, &end, 10);
        if (errno || !slash[1] || *end || l < 8 || l > 30 || !ip4_parse(ip, net))
                return false;
        *len = (unsigned)l;
        return (*net & ~mask_of(*len)) == 0;
}

static bool overlaps(uint32_t a, unsigned alen, uint32_t b, unsigned blen) {
        unsigned l = MIN(alen, blen);

        return (a & mask_of(l)) == (b & mask_of(l));
}

static char *mac_of(uint32_t ip) {
        return xasprintf("02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
                         ip & 0xff);
}

char **overlay_wanted(const json_t *model) {
        char **out = xnew0(char *, 1);
        const char *k;
        json_t *def;

        json_object_foreach ((json_t *)json_object_get(model, "networks"), k, def)
                if (streq(json_get_str(def, "driver", ""), "overlay") &&
                    !json_get_bool(def, "external", false))
                        strv_push(&out, k);
        qsort_safe(out, strv_length(out), sizeof(char *), strv_cmp);
        return out;
}

/* The records of the nodes/ in the store as {id: record}; NULL on a store error. */
static json_t *nodes_load(struct store *s) {
        struct store_kv *kvs = NULL;
        size_t n = 0;
        json_t *out;

        if (store_list(s, "nodes/", &kvs, &n, NULL) < 0)
                return NULL;
        out = json_object();
        for (size_t i = 0; i < n; i++) {
                json_t *j = NULL;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) >= 0)
                        json_object_set_new(out, kvs[i].key + strlen("nodes/"), j);
        }
        store_kvs_free(kvs, n);
        return out;
}

int overlay_default_networks(struct store *s, json_t *model, const json_t *old) {
        _cleanup_json_ json_t *nodes = nodes_load(s);
        const json_t *old_nets = json_object_get(old, "networks");
        const char *k;
        json_t *v, *def;
        int vteps = 0, changed = 0;

        json_object_foreach (nodes, k, v)
                if (mesh_node_eligible(v))
                        vteps++;
        if (vteps < 2)
                return 0; /* one host (or hollow nodes): bridge, exactly as before */
        json_object_foreach (json_object_get(model, "networks"), k, def) {
                const json_t *was = json_object_get(old_nets, k);

                if (!json_is_object(def) || json_get_bool(def, "external", false) ||
                    json_get_bool(def, "driver_explicit", false) ||
                    !streq(json_get_str(def, "driver", "bridge"), "bridge"))
                        continue;
                /* An existing stack network keeps its driver until the stack is down. */
                if (was && !streq(json_get_str(was, "driver", "bridge"), "overlay"))
                        continue;
                json_set_str(def, "driver", "overlay");
                changed++;
        }
        return changed;
}

bool overlay_any(struct store *s) {
        struct store_kv *kvs = NULL;
        size_t n = 0;

        if (store_list(s, OVERLAY_PREFIX, &kvs, &n, NULL) < 0)
                return false;
        store_kvs_free(kvs, n);
        return n > 0;
}

/* A subnet in use, with the name of what uses it (for errors). */
struct used_net {
        uint32_t net;
        unsigned len;
        char *name;
};

static void used_add(struct used_net **u, size_t *n, size_t *alloc, uint32_t net, unsigned len,
                     char *name_take) {
        XGROW(*u, *alloc, *n + 1);
        (*u)[(*n)++] = (struct used_net){net, len, name_take};
}

static void used_free(struct used_net *u, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(u[i].name);
        free(u);
}

static const struct used_net *used_overlap(const struct used_net *u, size_t n, uint32_t net,
                                           unsigned len) {
        for (size_t i = 0; i < n; i++)
                if (overlaps(u[i].net, u[i].len, net, len))
                        return &u[i];
        return NULL;
}

/* Declared subnets of every stack network in the store but this stack's, and of this stack's
 * networks other than skip (its overlay networks are handled apart). */
static int used_declared(struct store *s, const char *stack, const json_t *model,
                         struct used_net **u, size_t *n, size_t *alloc, struct err **errp) {
        struct store_kv *kvs = NULL;
        size_t nk = 0;
        int r;

        r = store_list(s, "stacks/", &kvs, &nk, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= nk; i++) {
                _cleanup_json_ json_t *j = NULL;
                const char *name = i < nk ? kvs[i].key + strlen("stacks/") : stack;
                const json_t *m;
                const char *k;
                json_t *def;

                if (i < nk) {
                        if (streq(name, stack) || json_parse(kvs[i].value, strlen(kvs[i].value),
                                                             kvs[i].key, &j, NULL) < 0)
                                continue;
                        m = j;
                } else
                        m = model;
                json_object_foreach ((json_t *)json_object_get(m, "networks"), k, def) {
                        uint32_t net;
                        unsigned len;

                        if (i == nk && streq(json_get_str(def, "driver", ""), "overlay"))
                                continue;
                        if (parse_cidr(json_get_str(def, "subnet", NULL), &net, &len))
                                used_add(u, n, alloc, net, len, xasprintf("%s_%s", name, k));
                }
        }
        store_kvs_free(kvs, nk);
        return 0;
}

int overlay_sync_stack(struct store *s, const char *stack, const json_t *model, struct err **errp) {
        _cleanup_free_ char *prefix = xasprintf(OVERLAY_PREFIX "%s/", stack);
        _cleanup_strv_ char **want = overlay_wanted(model), **keys = NULL, **values = NULL;
        _cleanup_free_ uint32_t *vnis = NULL;
        _cleanup_free_ struct store_op *ops = NULL;
        struct used_net *used = NULL;
        struct store_kv *kvs = NULL;
        size_t n = 0, n_used = 0, alloc_used = 0, n_vnis = 0, n_ops;
        int r;

        r = store_list(s, OVERLAY_PREFIX, &kvs, &n, errp);
        if (r < 0)
                return r;
        vnis = xnew0(uint32_t, n + strv_length(want) + 1);
        /* What exists: other stacks' networks and this stack's kept ones. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = NULL;
                bool mine = str_startswith(kvs[i].key, prefix);
                const char *key = kvs[i].key + (mine ? strlen(prefix) : strlen(OVERLAY_PREFIX));
                uint32_t net;
                unsigned len;

                if (mine && !strv_contains(want, key)) {
                        strv_push(&keys, kvs[i].key);
                        strv_push(&values, "");
                        continue;
                }
                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                if (mine) {
                        /* A declared subnet that changed is a new network. */
                        const char *decl = json_get_str(
                                json_object_get(json_object_get(model, "networks"), key), "subnet",
                                NULL);
                        if (decl && !streq(decl, json_get_str(j, "subnet", "")))
                                continue;
                }
                vnis[n_vnis++] = (uint32_t)json_get_int(j, "vni", 0);
                if (parse_cidr(json_get_str(j, "subnet", NULL), &net, &len)) {
                        char *name = xstrdup(key);
                        char *slash = strchr(name, '/');

                        if (slash)
                                *slash = '_';
                        used_add(&used, &n_used, &alloc_used, net, len,
                                 mine ? xasprintf("%s_%s", stack, name) : xstrdup(name));
                        free(name);
                }
        }
        r = used_declared(s, stack, model, &used, &n_used, &alloc_used, errp);
        if (r < 0)
                goto out;
        used_add(&used, &n_used, &alloc_used, VIP_RANGE_BASE, VIP_RANGE_PREFIX,
                 xstrdup("the service VIP range"));

        STRV_FOREACH (w, want) {
                _cleanup_free_ char *key = xasprintf("%s%s", prefix, *w), *gw = NULL, *sub = NULL;
                const json_t *def = json_object_get(json_object_get(model, "networks"), *w);
                const char *decl = json_get_str(def, "subnet", NULL);
                const struct used_net *o;
                bool have = false;
                uint32_t net = 0, vni = OVERLAY_VNI_FIRST, g;
                unsigned len = OVERLAY_SUBNET_PREFIX;

                for (size_t i = 0; i < n && !have; i++)
                        if (streq(kvs[i].key, key)) {
                                _cleanup_json_ json_t *j = NULL;

                                have = json_parse(kvs[i].value, strlen(kvs[i].value), key, &j,
                                                  NULL) >= 0 &&
                                       (!decl || streq(decl, json_get_str(j, "subnet", "")));
                        }
                if (have)
                        continue;
                if (decl) {
                        if (!parse_cidr(decl, &net, &len)) {
                                r = err_setx(errp, EINVAL,
                                             "networks.%s.subnet: '%s' is not an IPv4 subnet "
                                             "a.b.c.d/8..30 with the host bits zero",
                                             *w, decl);
                                goto out;
                        }
                        o = used_overlap(used, n_used, net, len);
                        if (o) {
                                _cleanup_free_ char *os = ip4_format(o->net);
                                r = err_setx(errp, EEXIST,
                                             "networks.%s.subnet: '%s' overlaps network '%s' "
                                             "(%s/%u)",
                                             *w, decl, o->name, os, o->len);
                                goto out;
                        }
                } else {
                        uint32_t last = OVERLAY_POOL_BASE | ~mask_of(OVERLAY_POOL_PREFIX);
                        bool found = false;

                        for (net = OVERLAY_POOL_BASE; net < last && !found;
                             net += 1u << (32 - OVERLAY_SUBNET_PREFIX))
                                if (!used_overlap(used, n_used, net, len)) {
                                        found = true;
                                        break;
                                }
                        if (!found) {
                                r = err_setx(errp, ENOSPC,
                                             "networks.%s: no free overlay subnet left in "
                                             "10.128.0.0/10",
                                             *w);
                                goto out;
                        }
                }
                /* The lowest free VNI. */
                for (bool taken = true; taken && vni <= OVERLAY_VNI_LAST;) {
                        taken = false;
                        for (size_t i = 0; i < n_vnis && !taken; i++)
                                taken = vnis[i] == vni;
                        if (taken)
                                vni++;
                }
                vnis[n_vnis++] = vni;
                g = net + 1;
                if (json_get_str(def, "gateway", NULL) &&
                    (!ip4_parse(json_get_str(def, "gateway", NULL), &g) ||
                     (g & mask_of(len)) != net || g == net || g == (net | ~mask_of(len)))) {
                        r = err_setx(errp, EINVAL,
                                     "networks.%s.gateway: '%s' is not a host address of '%s'", *w,
                                     json_get_str(def, "gateway", ""), decl ? decl : "");
                        goto out;
                }
                used_add(&used, &n_used, &alloc_used, net, len, xasprintf("%s_%s", stack, *w));
                sub = ip4_format(net);
                gw = ip4_format(g);
                strv_push(&keys, key);
                strv_push_take(&values, xasprintf("{\"vni\":%u,\"subnet\":\"%s/%u\",\"gateway\":"
                                                  "\"%s\",\"pods\":{},\"nodes\":{}}",
                                                  vni, sub, len, gw));
        }
        n_ops = strv_length(keys);
        r = 0;
        if (n_ops == 0)
                goto out;
        ops = xnew0(struct store_op, n_ops);
        for (size_t i = 0; i < n_ops; i++)
                ops[i] =
                        values[i][0]
                                ? (struct store_op){STORE_OP_PUT, keys[i], values[i], STORE_ANY_REV}
                                : (struct store_op){STORE_OP_DELETE, keys[i], NULL, STORE_ANY_REV};
        r = store_txn(s, ops, n_ops, NULL, errp);
        if (r < 0)
                (void)err_wrap(errp, "stack '%s': store overlay networks", stack);
        else
                r = 0;
out:
        store_kvs_free(kvs, n);
        used_free(used, n_used);
        return r;
}

int overlay_release(struct store *s, const char *stack, struct err **errp) {
        _cleanup_free_ char *prefix = xasprintf(OVERLAY_PREFIX "%s/", stack);
        _cleanup_free_ char *mesh = xasprintf(MESH_PREFIX "%s", stack);
        int r;

        /* The mesh ports first: no node keeps answering on them for a network going away. */
        r = store_delete(s, mesh, STORE_ANY_REV, NULL, errp);
        if (r < 0)
                return r;
        return store_delete_prefix(s, prefix, errp);
}

/* The network keys of a pod template (like the agent's pod_network_keys). */
char **overlay_pod_net_keys(const json_t *pod) {
        char **keys = xnew0(char *, 1);
        const char *k;
        json_t *v;

        if (json_get_str(pod, "network_mode", NULL))
                return keys;
        json_object_foreach ((json_t *)json_object_get(pod, "networks"), k, v)
                strv_push(&keys, k);
        if (!keys[0])
                strv_push(&keys, "default");
        return keys;
}

/* One overlay network document being worked on. */
struct ov_doc {
        char *key;   /* store key */
        char *stack; /* its stack */
        char *net;   /* its network key */
        json_t *doc;
        uint64_t mod_rev;
        char **want_pods, **want_nodes;
};

static void ov_docs_free(struct ov_doc *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].key);
                free(d[i].stack);
                free(d[i].net);
                json_decref(d[i].doc);
                strv_free(d[i].want_pods);
                strv_free(d[i].want_nodes);
        }
        free(d);
}

static int ov_docs_load(struct store *s, const char *only_stack, struct ov_doc **ret, size_t *ret_n,
                        struct err **errp) {
        _cleanup_free_ char *prefix =
                only_stack ? xasprintf(OVERLAY_PREFIX "%s/", only_stack) : xstrdup(OVERLAY_PREFIX);
        struct store_kv *kvs = NULL;
        struct ov_doc *d;
        size_t n = 0, k = 0;
        int r;

        r = store_list(s, prefix, &kvs, &n, errp);
        if (r < 0)
                return r;
        d = xnew0(struct ov_doc, n + 1);
        for (size_t i = 0; i < n; i++) {
                const char *rest = kvs[i].key + strlen(OVERLAY_PREFIX);
                const char *slash = strchr(rest, '/');
                json_t *j = NULL;

                if (!slash ||
                    json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                if (!json_is_object(json_object_get(j, "pods")))
                        json_object_set_new(j, "pods", json_object());
                if (!json_is_object(json_object_get(j, "nodes")))
                        json_object_set_new(j, "nodes", json_object());
                d[k++] = (struct ov_doc){.key = xstrdup(kvs[i].key),
                                         .stack = xstrndup(rest, (size_t)(slash - rest)),
                                         .net = xstrdup(slash + 1),
                                         .doc = j,
                                         .mod_rev = kvs[i].mod_rev,
                                         .want_pods = xnew0(char *, 1),
                                         .want_nodes = xnew0(char *, 1)};
        }
        store_kvs_free(kvs, n);
        *ret = d;
        *ret_n = k;
        return 0;
}

static bool ip_taken(const json_t *doc, uint32_t ip) {
        const char *k;
        json_t *v;
        uint32_t x;

        json_object_foreach ((json_t *)json_object_get(doc, "pods"), k, v)
                if (ip4_parse(json_string_value(v), &x) && x == ip)
                        return true;
        json_object_foreach ((json_t *)json_object_get(doc, "nodes"), k, v)
                if (ip4_parse(json_string_value(v), &x) && x == ip)
                        return true;
        return false;
}

/* The lowest (pods) or highest (nodes) free host address of the network; 0 when full. */
static uint32_t ip_pick(const json_t *doc, bool high) {
        uint32_t net, gw = 0;
        unsigned len;

        if (!parse_cidr(json_get_str(doc, "subnet", NULL), &net, &len))
                return 0;
        (void)ip4_parse(json_get_str(doc, "gateway", NULL), &gw);
        for (uint32_t i = 1; i < (~mask_of(len)); i++) {
                uint32_t ip = high ? (net | ~mask_of(len)) - i : net + i;

                if (ip != gw && !ip_taken(doc, ip))
                        return ip;
        }
        return 0;
}

/* Drops entries of obj not in want; gives the missing ones an address. Returns whether obj
 * changed, -ENOSPC when the network is full. */
static int ov_fill(json_t *doc, const char *field, char *const *want, bool high) {
        json_t *obj = json_object_get(doc, field), *v;
        const char *k;
        void *tmp;
        int changed = 0;

        json_object_foreach_safe(obj, tmp, k, v) if (!strv_contains(want, k)) {
                json_object_del(obj, k);
                changed = 1;
        }
        STRV_FOREACH (w, want) {
                uint32_t ip;

                if (json_is_string(json_object_get(obj, *w)))
                        continue;
                ip = ip_pick(doc, high);
                if (!ip)
                        return -ENOSPC;
                json_object_set_new(obj, *w,
                                    json_sprintf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
                                                 (ip >> 8) & 0xff, ip & 0xff));
                changed = 1;
        }
        return changed;
}

/* The routing mesh: every node with an advertise address is on the overlay networks that
 * carry a stack's mesh ports, with or without a replica there. */
static void mesh_want_nodes(struct store *s, struct ov_doc *docs, size_t nd) {
        _cleanup_json_ json_t *mesh = mesh_load(s), *nodes = NULL;
        const char *id;
        json_t *rec;

        if (json_object_size(mesh) == 0)
                return;
        nodes = nodes_load(s);
        for (size_t d = 0; d < nd; d++) {
                const json_t *e;
                size_t i;
                bool used = false;

                json_array_foreach (json_object_get(mesh, docs[d].stack), i, e)
                        used = used || streq(json_get_str(e, "network", ""), docs[d].net);
                if (!used)
                        continue;
                json_object_foreach (nodes, id, rec)
                        if (mesh_node_eligible(rec) && !strv_contains(docs[d].want_nodes, id))
                                strv_push(&docs[d].want_nodes, id);
        }
}

int overlay_assign(struct store *s, struct err **errp) {
        struct ov_doc *docs = NULL;
        struct store_kv *kvs = NULL;
        size_t nd = 0, n = 0, n_ops = 0;
        _cleanup_free_ struct store_op *ops = NULL;
        _cleanup_strv_ char **values = NULL;
        int r;

        r = ov_docs_load(s, NULL, &docs, &nd, errp);
        if (r < 0)
                return r;
        if (nd == 0) {
                ov_docs_free(docs, nd);
                return 0;
        }
        r = store_list(s, "assignments/", &kvs, &n, errp);
        if (r < 0) {
                ov_docs_free(docs, nd);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                const char *rest = kvs[i].key + strlen("assignments/");
                const char *slash = strchr(rest, '/');
                _cleanup_free_ char *node = NULL, *np = NULL;
                _cleanup_strv_ char **keys = NULL;
                _cleanup_json_ json_t *j = NULL;
                const char *stack;

                if (!slash ||
                    json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                node = xstrndup(rest, (size_t)(slash - rest));
                np = xstrdup(rest);
                stack = json_get_str(j, "stack", "");
                keys = overlay_pod_net_keys(json_object_get(j, "pod"));
                for (size_t d = 0; d < nd; d++) {
                        if (!streq(docs[d].stack, stack) || !strv_contains(keys, docs[d].net))
                                continue;
                        if (!strv_contains(docs[d].want_pods, np))
                                strv_push(&docs[d].want_pods, np);
                        if (!strv_contains(docs[d].want_nodes, node))
                                strv_push(&docs[d].want_nodes, node);
                }
        }
        store_kvs_free(kvs, n);
        mesh_want_nodes(s, docs, nd);
        ops = xnew0(struct store_op, nd);
        values = xnew0(char *, nd + 1);
        for (size_t d = 0; d < nd; d++) {
                int c1 = ov_fill(docs[d].doc, "pods", docs[d].want_pods, false);
                int c2 = c1 < 0 ? 0 : ov_fill(docs[d].doc, "nodes", docs[d].want_nodes, true);

                if (c1 < 0 || c2 < 0) {
                        r = err_setx(errp, ENOSPC,
                                     "stack '%s', overlay network '%s': no address left in %s",
                                     docs[d].stack, docs[d].net,
                                     json_get_str(docs[d].doc, "subnet", ""));
                        ov_docs_free(docs, nd);
                        return r;
                }
                if (!c1 && !c2)
                        continue;
                values[n_ops] = json_dump_str(docs[d].doc, false);
                ops[n_ops] = (struct store_op){STORE_OP_PUT, docs[d].key, values[n_ops],
                                               (int64_t)docs[d].mod_rev};
                n_ops++;
        }
        r = n_ops ? store_txn(s, ops, n_ops, NULL, errp) : 0;
        ov_docs_free(docs, nd);
        if (r < 0)
                return err_wrap(errp, "store overlay addresses");
        return n_ops > 0;
}

/* ---- the assignments answer ---- */

static const json_t *find_report(const json_t *nodes, const char *node, const char *pod) {
        const json_t *p;
        size_t i;

        json_array_foreach (json_object_get(json_object_get(nodes, node), "pods"), i, p)
                if (streq_ptr(json_get_str(p, "id", NULL), pod))
                        return p;
        return NULL;
}

static void names_add(json_t *names, const char *s) {
        const json_t *v;
        size_t i;

        if (!s || !s[0])
                return;
        json_array_foreach (names, i, v)
                if (streq_ptr(json_string_value(v), s))
                        return;
        json_array_append_new(names, json_string(s));
}

/* The service's endpoint as the agents' berth.endpoint label has it (agent/pod_vip.h), VIPs
 * by network key: names, mode, ports (the endpoint's and the containers' single `expose`
 * ports). */
static json_t *endpoint_of(const char *stack, const char *svc_name, const json_t *svc,
                           const json_t *vips) {
        const json_t *ep = json_object_get(svc, "endpoint"), *p, *ct;
        json_t *names = json_array(), *ports = json_array();
        size_t i, k;

        names_add(names, svc_name);
        names_add(names, json_get_str(ep, "service", NULL));
        json_array_foreach (json_object_get(ep, "ports"), i, p)
                json_array_append_new(
                        ports,
                        json_pack("{s:I, s:I, s:s}", "port", (json_int_t)json_get_int(p, "port", 0),
                                  "target",
                                  (json_int_t)json_get_int(p, "target", json_get_int(p, "port", 0)),
                                  "protocol", json_get_str(p, "protocol", "tcp")));
        json_array_foreach (json_object_get(json_object_get(svc, "pod"), "containers"), i, ct)
                json_array_foreach (json_object_get(ct, "expose"), k, p) {
                        char proto[8] = "tcp";
                        unsigned port = 0;

                        if (json_is_integer(p))
                                port = (unsigned)json_integer_value(p);
                        else if (!json_is_string(p) ||
                                 sscanf(json_string_value(p), "%u/%7s", &port, proto) < 1 ||
                                 strchr(json_string_value(p), '-'))
                                continue;
                        if (port < 1 || port > 65535)
                                continue;
                        json_array_append_new(ports, json_pack("{s:i, s:i, s:s}", "port", port,
                                                               "target", port, "protocol", proto));
                }
        return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o}", "stack", stack, "service", svc_name,
                         "names", names, "mode", json_get_str(ep, "mode", "vip"), "ports", ports,
                         "vips", vips ? json_incref((json_t *)vips) : json_object());
}

static bool ready(const json_t *report) {
        const char *h = json_get_str(report, "health", "none");

        return report && streq(json_get_str(report, "state", ""), "running") &&
               (streq(h, "none") || streq(h, "healthy"));
}

/* A single published port "8080"; 0 otherwise. */
static json_int_t published_of(const json_t *p) {
        const char *s = json_get_str(p, "published", "");
        char *end = NULL;
        long v;

        errno = 0;
        v = s[0] ? strtol(s, &end, 10) : 0;
        return errno || !end || *end || v < 1 || v > 65535 ? 0 : v;
}

/* The stack's routing mesh on this node (mesh.h): parts.mesh gets {network, vip, port,
 * protocol, published} of each mesh port whose network has an address of this node and whose
 * service has a VIP there; this node's pods lose their own bindings of those ports. */
static void mesh_decorate(const char *node, const char *stack, json_t *parts,
                          const struct ov_doc *docs, size_t nd, const json_t *mesh, json_t *list) {
        json_t *out = json_array(), *a;
        const json_t *e;
        size_t i;

        json_array_foreach (mesh, i, e) {
                const char *net = json_get_str(e, "network", ""),
                           *svc = json_get_str(e, "service", "");
                const char *vip = json_get_str(
                        json_object_get(json_object_get(json_object_get(parts, "services"), svc),
                                        "vips"),
                        net, NULL);
                bool on = false;

                for (size_t d = 0; d < nd && !on; d++)
                        on = streq(docs[d].net, net) &&
                             json_object_get(json_object_get(docs[d].doc, "nodes"), node);
                if (!on || !vip)
                        continue;
                json_array_append_new(
                        out, json_pack("{s:s, s:s, s:I, s:s, s:I}", "network", net, "vip", vip,
                                       "port", (json_int_t)json_get_int(e, "port", 0), "protocol",
                                       json_get_str(e, "protocol", "tcp"), "published",
                                       (json_int_t)json_get_int(e, "published", 0)));
        }
        if (json_array_size(out) > 0)
                json_object_set_new(parts, "mesh", out);
        else {
                json_object_del(parts, "mesh");
                json_decref(out);
        }
        json_array_foreach (list, i, a) {
                const json_t *ct, *p;
                size_t c, k, m;

                if (!streq_ptr(json_get_str(a, "stack", NULL), stack))
                        continue;
                json_array_foreach (json_object_get(json_object_get(a, "pod"), "containers"), c, ct)
                        json_array_foreach (json_object_get(ct, "ports"), k, p)
                                json_array_foreach (mesh, m, e)
                                        if (streq(json_get_str(e, "service", ""),
                                                  json_get_str(a, "service", "")) &&
                                            streq(json_get_str(e, "protocol", ""),
                                                  json_get_str(p, "protocol", "tcp")) &&
                                            published_of(p) == json_get_int(e, "published", 0)) {
                                                json_object_set_new((json_t *)p, "published",
                                                                    json_string(""));
                                                break;
                                        }
        }
}

/* Decorates one stack of the answer with its overlay networks (docs). */
static void decorate_stack(const char *node, const char *stack, json_t *parts,
                           const struct ov_doc *docs, size_t nd, const json_t *model,
                           const json_t *nodes, const struct store_kv *asg, size_t n_asg,
                           json_t *list, const json_t *mesh) {
        json_t *nets = json_object_get(parts, "networks"), *eps = json_array();
        const char *adv = json_get_str(json_object_get(nodes, node), "advertise_addr", NULL);
        size_t i;
        json_t *a;

        nets = nets ? json_deep_copy(nets) : json_object();
        json_object_set_new(parts, "networks", nets);
        for (size_t d = 0; d < nd; d++) {
                json_t *def = json_object_get(nets, docs[d].net);
                const char *nip = json_get_str(json_object_get(docs[d].doc, "nodes"), node, NULL);
                const char *k;
                json_t *v;

                if (!def) {
                        def = json_object();
                        json_object_set_new(nets, docs[d].net, def);
                }
                json_set_str(def, "driver", "overlay");
                json_set_str(def, "subnet", json_get_str(docs[d].doc, "subnet", NULL));
                json_set_str(def, "gateway", json_get_str(docs[d].doc, "gateway", NULL));
                json_object_set_new(def, "vni", json_integer(json_get_int(docs[d].doc, "vni", 0)));
                if (adv)
                        json_set_str(def, "vtep_local", adv);
                if (nip)
                        json_set_str(def, "node_ip", nip);
                /* The other nodes: their own addresses (VIP traffic comes from them). */
                json_object_foreach ((json_t *)json_object_get(docs[d].doc, "nodes"), k, v) {
                        const char *vtep =
                                json_get_str(json_object_get(nodes, k), "advertise_addr", NULL);
                        uint32_t ip;
                        _cleanup_free_ char *mac = NULL;

                        if (streq(k, node) || !vtep || !ip4_parse(json_string_value(v), &ip))
                                continue;
                        mac = mac_of(ip);
                        json_array_append_new(eps,
                                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "network",
                                                        docs[d].net, "ip", json_string_value(v),
                                                        "mac", mac, "vtep", vtep, "node", k));
                }
        }
        /* The pods on other nodes. */
        for (size_t x = 0; x < n_asg; x++) {
                const char *rest = asg[x].key + strlen("assignments/");
                const char *slash = strchr(rest, '/');
                _cleanup_free_ char *an = NULL;
                _cleanup_json_ json_t *j = NULL;
                _cleanup_strv_ char **keys = NULL;
                const json_t *svc, *pod;
                const char *sname, *vtep;

                if (!slash)
                        continue;
                an = xstrndup(rest, (size_t)(slash - rest));
                /* A superseded copy (its node went down, the replacement runs elsewhere) is no
                 * endpoint any more, even if its node comes back before it is stopped. */
                if (streq(an, node) ||
                    json_parse(asg[x].value, strlen(asg[x].value), asg[x].key, &j, NULL) < 0 ||
                    !streq_ptr(json_get_str(j, "stack", NULL), stack) ||
                    json_is_true(json_object_get(j, "superseded")))
                        continue;
                vtep = json_get_str(json_object_get(nodes, an), "advertise_addr", NULL);
                if (!vtep)
                        continue;
                sname = json_get_str(j, "service", "");
                svc = json_object_get(json_object_get(model, "services"), sname);
                pod = json_object_get(j, "pod");
                keys = overlay_pod_net_keys(pod);
                for (size_t d = 0; d < nd; d++) {
                        const char *ip =
                                json_get_str(json_object_get(docs[d].doc, "pods"), rest, NULL);
                        const json_t *cfg =
                                json_object_get(json_object_get(pod, "networks"), docs[d].net);
                        json_t *names = json_array(), *vips, *al;
                        _cleanup_free_ char *mac = NULL;
                        uint32_t ipv;
                        size_t q;

                        if (!strv_contains(keys, docs[d].net) || !ip4_parse(ip, &ipv)) {
                                json_decref(names);
                                continue;
                        }
                        mac = mac_of(ipv);
                        names_add(names, json_get_str(svc, "container_name", NULL));
                        names_add(names, slash + 1);
                        json_array_foreach (json_object_get(cfg, "aliases"), q, al)
                                if (!streq_ptr(json_string_value(al), sname))
                                        names_add(names, json_string_value(al));
                        vips = json_object_get(
                                json_object_get(json_object_get(parts, "services"), sname), "vips");
                        json_array_append_new(
                                eps,
                                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o}",
                                          "network", docs[d].net, "ip", ip, "mac", mac, "vtep",
                                          vtep, "node", an, "pod", slash + 1, "ready",
                                          ready(find_report(nodes, an, slash + 1)), "names", names,
                                          "endpoint", endpoint_of(stack, sname, svc, vips)));
                }
        }
        json_object_set_new(parts, "overlay", json_pack("{s:o}", "endpoints", eps));
        mesh_decorate(node, stack, parts, docs, nd, mesh, list);
        /* This node's pods: their addresses; one without any yet waits for the next pass. */
        for (i = 0; i < json_array_size(list); i++) {
                _cleanup_strv_ char **keys = NULL;
                _cleanup_free_ char *np = NULL;
                json_t *pod;
                bool missing = false;

                a = json_array_get(list, i);
                if (!streq_ptr(json_get_str(a, "stack", NULL), stack))
                        continue;
                pod = json_object_get(a, "pod");
                keys = overlay_pod_net_keys(pod);
                np = xasprintf("%s/%s", node, json_get_str(a, "name", ""));
                for (size_t d = 0; d < nd && !missing; d++) {
                        const char *ip =
                                json_get_str(json_object_get(docs[d].doc, "pods"), np, NULL);
                        json_t *pn, *cfg;

                        if (!strv_contains(keys, docs[d].net))
                                continue;
                        if (!ip) {
                                missing = true;
                                break;
                        }
                        pn = json_object_get(pod, "networks");
                        if (!json_is_object(pn)) {
                                pn = json_object();
                                json_object_set_new(pod, "networks", pn);
                        }
                        cfg = json_object_get(pn, docs[d].net);
                        if (!json_is_object(cfg)) {
                                cfg = json_object();
                                json_object_set_new(pn, docs[d].net, cfg);
                        }
                        json_set_str(cfg, "ipv4_address", ip);
                }
                if (missing) {
                        json_array_remove(list, i);
                        i--;
                }
        }
}

int overlay_decorate(struct store *s, const char *node, json_t *answer, struct err **errp) {
        json_t *stacks = json_object_get(answer, "stacks"), *parts;
        json_t *list = json_object_get(answer, "assignments");
        _cleanup_json_ json_t *nodes = json_object(), *mesh = NULL;
        struct store_kv *nk = NULL, *asg = NULL;
        size_t n_nk = 0, n_asg = 0;
        const char *stack;
        bool loaded = false;
        int r = 0;

        json_object_foreach (stacks, stack, parts) {
                _cleanup_free_ char *sk = xasprintf("stacks/%s", stack);
                _cleanup_json_ json_t *model = NULL;
                struct store_kv kv = {};
                struct ov_doc *docs = NULL;
                size_t nd = 0;

                r = ov_docs_load(s, stack, &docs, &nd, errp);
                if (r < 0)
                        break;
                if (nd == 0) {
                        ov_docs_free(docs, nd);
                        continue;
                }
                if (!loaded) {
                        loaded = true;
                        mesh = mesh_load(s);
                        r = store_list(s, "nodes/", &nk, &n_nk, errp);
                        if (r >= 0)
                                r = store_list(s, "assignments/", &asg, &n_asg, errp);
                        if (r < 0) {
                                ov_docs_free(docs, nd);
                                break;
                        }
                        for (size_t i = 0; i < n_nk; i++) {
                                json_t *j = NULL;

                                if (json_parse(nk[i].value, strlen(nk[i].value), nk[i].key, &j,
                                               NULL) >= 0)
                                        json_object_set_new(nodes, nk[i].key + strlen("nodes/"), j);
                        }
                }
                if (store_get(s, sk, &kv, NULL) >= 0)
                        (void)json_parse(kv.value, strlen(kv.value), sk, &model, NULL);
                store_kv_done(&kv);
                decorate_stack(node, stack, parts, docs, nd, model, nodes, asg, n_asg, list,
                               json_object_get(mesh, stack));
                ov_docs_free(docs, nd);
        }
        store_kvs_free(nk, n_nk);
        store_kvs_free(asg, n_asg);
        return r < 0 ? r : 0;
}

char **overlay_mesh_stacks(struct store *s, const char *node) {
        _cleanup_json_ json_t *mesh = mesh_load(s);
        char **out = xnew0(char *, 1);
        const char *stack;
        json_t *list;

        json_object_foreach (mesh, stack, list) {
                struct ov_doc *docs = NULL;
                size_t nd = 0;
                bool on = false;

                if (ov_docs_load(s, stack, &docs, &nd, NULL) < 0)
                        continue;
                for (size_t d = 0; d < nd && !on; d++) {
                        const json_t *e;
                        size_t i;

                        if (!json_object_get(json_object_get(docs[d].doc, "nodes"), node))
                                continue;
                        json_array_foreach (list, i, e)
                                on = on || streq(json_get_str(e, "network", ""), docs[d].net);
                }
                ov_docs_free(docs, nd);
                if (on)
                        strv_push(&out, stack);
        }
        return out;
}
