/* SPDX-License-Identifier: Apache-2.0 */
/* The routing mesh's ports in the controller's store (mesh.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ip4.h"
#include "json.h"
#include "macro.h"
#include "mesh.h"
#include "overlay.h"
#include "strv.h"
#include "xalloc.h"

/* A single published port "8080" (not a range), 1-65535; 0 otherwise. */
static int published_port(const char *s) {
        char *end = NULL;
        long v;

        if (!s || !s[0])
                return 0;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < 1 || v > 65535)
                return 0;
        return (int)v;
}

static void port_add(json_t *out, const char *svc, const char *net, json_int_t port,
                     const char *proto, int published) {
        if (port < 1 || port > 65535 || published < 1 ||
            (!streq(proto, "tcp") && !streq(proto, "udp")))
                return;
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:I, s:s, s:i}", "service", svc, "network", net,
                                        "port", port, "protocol", proto, "published", published));
}

/* The VIP port of container port p: the endpoint port with its target and protocol (compose
 * makes them equal), else the target itself. */
static json_int_t vip_port(const json_t *ep, const json_t *p) {
        json_int_t target = json_get_int(p, "target", 0);
        const json_t *q;
        size_t i;

        json_array_foreach (json_object_get(ep, "ports"), i, q)
                if (json_get_int(q, "target", json_get_int(q, "port", 0)) == target &&
                    streq(json_get_str(q, "protocol", "tcp"), json_get_str(p, "protocol", "tcp")))
                        return json_get_int(q, "port", target);
        return target;
}

json_t *mesh_ports(const json_t *model) {
        _cleanup_strv_ char **overlay = overlay_wanted(model);
        json_t *out = json_array(), *svc;
        const char *name;

        json_object_foreach ((json_t *)json_object_get(model, "services"), name, svc) {
                const json_t *ep = json_object_get(svc, "endpoint"), *p, *ct;
                const json_t *pod = json_object_get(svc, "pod");
                _cleanup_strv_ char **keys = NULL;
                const char *net = NULL;
                size_t i, k;

                if (!streq(json_get_str(ep, "mode", "vip"), "vip"))
                        continue;
                keys = overlay_pod_net_keys(pod);
                STRV_FOREACH (x, keys)
                        if (!net && strv_contains(overlay, *x))
                                net = *x;
                if (!net)
                        continue;
                /* compose: a container port published on every address in ingress mode; the
                 * VIP has it as port = target (specs/compose_services.c endpoint_ports). */
                json_array_foreach (json_object_get(pod, "containers"), i, ct)
                        json_array_foreach (json_object_get(ct, "ports"), k, p) {
                                const char *hip = json_get_str(p, "host_ip", "");

                                if (streq(json_get_str(p, "mode", "ingress"), "host") ||
                                    (hip[0] && !streq(hip, "0.0.0.0")))
                                        continue;
                                port_add(out, name, net, vip_port(ep, p),
                                         json_get_str(p, "protocol", "tcp"),
                                         published_port(json_get_str(p, "published", "")));
                        }
                /* Kubernetes: a NodePort Service's node_port goes to its port. */
                json_array_foreach (json_object_get(ep, "ports"), i, p)
                        if (json_is_integer(json_object_get(p, "node_port")))
                                port_add(out, name, net, json_get_int(p, "port", 0),
                                         json_get_str(p, "protocol", "tcp"),
                                         (int)json_get_int(p, "node_port", 0));
        }
        return out;
}

json_t *mesh_load(struct store *s) {
        struct store_kv *kvs = NULL;
        size_t n = 0;
        json_t *out;

        if (store_list(s, MESH_PREFIX, &kvs, &n, NULL) < 0)
                return NULL;
        out = json_object();
        for (size_t i = 0; i < n; i++) {
                json_t *j = NULL;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                if (json_is_array(j) && json_array_size(j) > 0)
                        json_object_set_new(out, kvs[i].key + strlen(MESH_PREFIX), j);
                else
                        json_decref(j);
        }
        store_kvs_free(kvs, n);
        return out;
}

/* The user of published/proto among the entries of list (another service, or one before
 * index upto). */
static const json_t *user_of(const json_t *list, size_t upto, const json_t *e) {
        const json_t *o;
        size_t i;

        json_array_foreach (list, i, o) {
                if (i >= upto)
                        break;
                if (json_get_int(o, "published", 0) == json_get_int(e, "published", 0) &&
                    streq(json_get_str(o, "protocol", ""), json_get_str(e, "protocol", "")))
                        return o;
        }
        return NULL;
}

int mesh_check(struct store *s, const char *stack, const json_t *model, struct err **errp) {
        _cleanup_json_ json_t *mine = mesh_ports(model), *all = NULL;
        const json_t *e, *o, *list;
        const char *other;
        size_t i;

        if (json_array_size(mine) == 0)
                return 0;
        all = mesh_load(s);
        if (!all)
                return err_setx(errp, EIO, "stack '%s': cannot read the routing mesh's ports",
                                stack);
        json_array_foreach (mine, i, e) {
                const char *svc = json_get_str(e, "service", "");
                const char *proto = json_get_str(e, "protocol", "");
                json_int_t pub = json_get_int(e, "published", 0);

                o = user_of(mine, i, e);
                if (o && !streq(json_get_str(o, "service", ""), svc))
                        return err_setx(errp, EADDRINUSE,
                                        "services.%s.ports: host port %" JSON_INTEGER_FORMAT
                                        "/%s is already published by service '%s' (the "
                                        "routing mesh publishes it on every node)",
                                        svc, pub, proto, json_get_str(o, "service", ""));
                json_object_foreach (all, other, list) {
                        if (streq(other, stack))
                                continue;
                        o = user_of(list, SIZE_MAX, e);
                        if (o)
                                return err_setx(errp, EADDRINUSE,
                                                "services.%s.ports: host port %" JSON_INTEGER_FORMAT
                                                "/%s is already published by service '%s' of "
                                                "stack '%s' (the routing mesh publishes it on "
                                                "every node)",
                                                svc, pub, proto, json_get_str(o, "service", ""),
                                                other);
                }
        }
        return 0;
}

/* Whether (service, published, protocol) is one of the mesh ports. */
static bool in_mesh(const json_t *mesh, const char *svc, int published, const char *proto) {
        const json_t *e;
        size_t i;

        json_array_foreach (mesh, i, e)
                if (streq(json_get_str(e, "service", ""), svc) &&
                    json_get_int(e, "published", 0) == published &&
                    streq(json_get_str(e, "protocol", ""), proto))
                        return true;
        return false;
}

int mesh_check_replicas(const json_t *model, struct err **errp) {
        _cleanup_json_ json_t *mesh = mesh_ports(model);
        const json_t *svc, *ct, *p;
        const char *name;

        json_object_foreach ((json_t *)json_object_get(model, "services"), name, svc) {
                json_int_t replicas = json_get_int(svc, "replicas", 1);
                size_t i, k;

                if (replicas <= 1 || streq(json_get_str(svc, "mode", "replicated"), "global"))
                        continue;
                json_array_foreach (json_object_get(json_object_get(svc, "pod"), "containers"), i,
                                    ct)
                        json_array_foreach (json_object_get(ct, "ports"), k, p) {
                                const char *pub = json_get_str(p, "published", "");
                                const char *proto = json_get_str(p, "protocol", "tcp");

                                /* host mode is the compose file's check (a Kubernetes hostPort
                                 * is host mode too: its scheduler spreads such pods) */
                                if (!pub[0] || strchr(pub, '-') ||
                                    !streq(json_get_str(p, "mode", "ingress"), "ingress"))
                                        continue;
                                if (in_mesh(mesh, name, published_port(pub), proto))
                                        continue;
                                return err_setx(errp, EINVAL,
                                                "services.%s.ports: host port %s is published by "
                                                "%" JSON_INTEGER_FORMAT
                                                " replicas (use a range or drop the host port)",
                                                name, pub, replicas);
                        }
        }
        return 0;
}

int mesh_store(struct store *s, const char *stack, const json_t *model, struct err **errp) {
        _cleanup_json_ json_t *mine = mesh_ports(model);
        _cleanup_free_ char *key = xasprintf(MESH_PREFIX "%s", stack), *text = NULL;
        int r;

        if (json_array_size(mine) == 0)
                r = store_delete(s, key, STORE_ANY_REV, NULL, errp);
        else {
                text = json_dump_str(mine, false);
                r = store_put(s, key, text, STORE_ANY_REV, NULL, errp);
        }
        if (r < 0)
                return err_wrap(errp, "stack '%s': store the routing mesh's ports", stack);
        return 0;
}

bool mesh_node_eligible(const json_t *node) {
        uint32_t ip;

        return ip4_parse(json_get_str(node, "advertise_addr", NULL), &ip) && ip != 0;
}
