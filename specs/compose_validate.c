/* SPDX-License-Identifier: Apache-2.0 */
/* Checks across services of a finished model: references, dependency cycles, names and host
 * ports that would collide at run time. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cleanup.h"
#include "compose.h"
#include "strv.h"
#include "xalloc.h"

/* Reports at the node services.SVC[.KEY[.SUB]] when the source tree is known, else with the
 * path only. */
static int verr(struct err **errp, const struct ynode *root, const char *svc, const char *key,
                const char *sub, const char *fmt, ...) _printf_(6, 7);
static int verr(struct err **errp, const struct ynode *root, const char *svc, const char *key,
                const char *sub, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *path = NULL;
        const struct ynode *n = ynode_map_get(ynode_map_get(root, "services"), svc), *m;
        va_list ap;
        int r;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (n && key && (m = ynode_map_get(n, key))) {
                n = m;
                if (sub) {
                        /* sub names a map key: point at the key itself. */
                        for (size_t i = 0; n->kind == YNODE_MAP && i + 1 < n->n_kids; i += 2)
                                if (streq(n->kids[i]->str, sub)) {
                                        n = n->kids[i + 1];
                                        break;
                                }
                }
        }
        if (n)
                return ynode_err(errp, n, "%s", msg);
        path = xasprintf("services.%s%s%s%s%s", svc, key ? "." : "", key ? key : "", sub ? "." : "",
                         sub ? sub : "");
        r = err_setx(errp, EINVAL, "%s: %s", path, msg);
        err_set_field(errp, path);
        return r;
}

/* Depth-first search for a cycle; on finding one, *ret_cycle is "a -> b -> a". */
static bool find_cycle(const json_t *services, const char *name, char ***stack, char ***done,
                       char **ret_cycle) {
        const json_t *deps = json_object_get(json_object_get(services, name), "depends_on");
        const char *d;
        json_t *v;

        if (strv_contains(*done, name))
                return false;
        if (strv_contains(*stack, name)) {
                bool on = false;
                _cleanup_strv_ char **cyc = NULL;
                STRV_FOREACH (s, *stack) {
                        if (streq(*s, name))
                                on = true;
                        if (on)
                                strv_push(&cyc, *s);
                }
                strv_push(&cyc, name);
                *ret_cycle = strv_join(cyc, " -> ");
                return true;
        }
        strv_push(stack, name);
        json_object_foreach ((json_t *)deps, d, v) {
                (void)v;
                if (find_cycle(services, d, stack, done, ret_cycle))
                        return true;
        }
        free((*stack)[strv_length(*stack) - 1]);
        (*stack)[strv_length(*stack) - 1] = NULL;
        strv_push(done, name);
        return false;
}

int model_validate(const json_t *model, const struct ynode *root, struct err **errp) {
        const json_t *services = json_object_get(model, "services"), *svc;
        _cleanup_strv_ char **done = NULL, **names_seen = NULL;
        _cleanup_json_ json_t *ports_seen = json_object();
        const char *name;

        json_object_foreach ((json_t *)services, name, svc) {
                const json_t *deps = json_object_get(svc, "depends_on"), *v, *pod, *ctr, *p;
                const char *cn = json_string_value(json_object_get(svc, "container_name"));
                json_int_t replicas = json_integer_value(json_object_get(svc, "replicas"));
                const char *dn, *nm;
                size_t i, j;

                json_object_foreach ((json_t *)deps, dn, v) {
                        if (!json_object_get(services, dn))
                                return verr(errp, root, name, "depends_on", dn,
                                            "service '%s' depends on undefined service '%s'", name,
                                            dn);
                        if (streq(dn, name))
                                return verr(errp, root, name, "depends_on", dn,
                                            "service '%s' depends on itself", name);
                }
                if (cn && replicas > 1)
                        return verr(errp, root, name, "container_name", NULL,
                                    "container_name '%s' cannot be used with %lld replicas "
                                    "(container names must be unique)",
                                    cn, (long long)replicas);
                if (cn) {
                        STRV_FOREACH (s, names_seen) {
                                const char *eq = strchr(*s, '=');
                                if (strncmp(*s, cn, (size_t)(eq - *s)) == 0 &&
                                    strlen(cn) == (size_t)(eq - *s))
                                        return verr(
                                                errp, root, name, "container_name", NULL,
                                                "container_name '%s' is also used by service '%s'",
                                                cn, eq + 1);
                        }
                        strv_push_take(&names_seen, xasprintf("%s=%s", cn, name));
                }
                pod = json_object_get(svc, "pod");
                nm = json_string_value(json_object_get(pod, "network_mode"));
                if (nm && str_startswith(nm, "service:") && !json_object_get(services, nm + 8))
                        return verr(errp, root, name, "network_mode", NULL,
                                    "network_mode refers to undefined service '%s'", nm + 8);
                json_array_foreach (json_object_get(pod, "containers"), i, ctr)
                        json_array_foreach (json_object_get(ctr, "ports"), j, p) {
                                const char *pub =
                                        json_string_value(json_object_get(p, "published"));
                                const char *hip = json_string_value(json_object_get(p, "host_ip"));
                                const char *proto =
                                        json_string_value(json_object_get(p, "protocol"));
                                _cleanup_free_ char *key = NULL;
                                if (!pub || !*pub)
                                        continue;
                                /* Ingress mode (the default) may go through the routing
                                 * mesh: the controller's up decides (mesh_check_replicas). */
                                if (replicas > 1 && !strchr(pub, '-') &&
                                    streq_ptr(json_string_value(json_object_get(p, "mode")),
                                              "host"))
                                        return verr(
                                                errp, root, name, "ports", NULL,
                                                "host port %s is published by %lld replicas (use a "
                                                "range or drop the host port)",
                                                pub, (long long)replicas);
                                key = xasprintf("%s/%s", pub, proto);
                                const char *ip = hip && *hip ? hip : "0.0.0.0";
                                json_t *users = json_object_get(ports_seen, key), *u;
                                size_t k;
                                if (!users) {
                                        users = json_array();
                                        json_object_set_new(ports_seen, key, users);
                                }
                                /* The same port on the wildcard address collides with any address.
                                 */
                                json_array_foreach (users, k, u) {
                                        const char *uip =
                                                json_string_value(json_object_get(u, "ip"));
                                        if (streq(uip, ip) || streq(uip, "0.0.0.0") ||
                                            streq(ip, "0.0.0.0"))
                                                return verr(errp, root, name, "ports", NULL,
                                                            "host port %s/%s is already published "
                                                            "by service '%s'",
                                                            pub, proto,
                                                            json_string_value(
                                                                    json_object_get(u, "svc")));
                                }
                                json_array_append_new(
                                        users, json_pack("{s:s,s:s}", "ip", ip, "svc", name));
                        }
        }
        json_object_foreach ((json_t *)services, name, svc) {
                _cleanup_strv_ char **stack = NULL;
                _cleanup_free_ char *cycle = NULL;
                (void)svc;
                if (find_cycle(services, name, &stack, &done, &cycle))
                        return verr(errp, root, name, "depends_on", NULL, "dependency cycle: %s",
                                    cycle);
        }
        return 0;
}
