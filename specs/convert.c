/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a model back out as compose or as Kubernetes manifests. Only what the target can
 * express is written; anything else is an error naming the service and the field, so that a
 * conversion never silently changes what runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "convert.h"
#include "strv.h"
#include "xalloc.h"
#include "yaml_tree.h"

#define cannot(errp, svc, field, to, why)                                                          \
        err_setx(errp, EINVAL, "service '%s': %s cannot be expressed in %s%s%s", svc, field, to,   \
                 (why)[0] ? ": " : "", why)

static bool empty(const json_t *j) {
        return !j || json_is_null(j) || (json_is_array(j) && json_array_size(j) == 0) ||
               (json_is_object(j) && json_object_size(j) == 0) || json_is_false(j) ||
               (json_is_integer(j) && json_integer_value(j) == 0) ||
               (json_is_real(j) && json_real_value(j) == 0);
}

/* Fields of a container that neither target knows how to carry. */
static int common_checks(const char *svc, const json_t *ctr, const char *to, struct err **errp) {
        static const char *const never[] = {"devices", "ulimits", "sysctls"};
        const json_t *lg = json_object_get(ctr, "logging");

        for (size_t i = 0; i < ELEMENTSOF(never); i++)
                if (!empty(json_object_get(ctr, never[i])) && streq(to, "Kubernetes"))
                        return cannot(errp, svc, never[i], to, "");
        if (streq(to, "Kubernetes") && lg &&
            !streq(json_string_value(json_object_get(lg, "driver")), "json-file"))
                return cannot(errp, svc, "logging", to, "");
        return 0;
}

/* ---- compose ---- */

static json_t *compose_mount(const json_t *m) {
        const char *type = json_string_value(json_object_get(m, "type"));
        json_t *o = json_pack("{s:s,s:O}", "type", type, "target", json_object_get(m, "target"));

        if (!json_is_null(json_object_get(m, "source")) && json_object_get(m, "source"))
                json_object_set(o, "source", json_object_get(m, "source"));
        if (json_is_true(json_object_get(m, "read_only")))
                json_object_set_new(o, "read_only", json_true());
        if (streq(type, "tmpfs") &&
            json_integer_value(json_object_get(json_object_get(m, "tmpfs"), "size")))
                json_object_set_new(
                        o, "tmpfs",
                        json_pack("{s:O}", "size",
                                  json_object_get(json_object_get(m, "tmpfs"), "size")));
        return o;
}

/* One model service as a compose service; errors for what compose cannot express. */
static int compose_service(const json_t *model, const char *name, const json_t *svc, json_t *out,
                           json_t *configs, struct err **errp) {
        const json_t *pod = json_object_get(svc, "pod"), *ctrs = json_object_get(pod, "containers"),
                     *ctr, *p, *m;
        _cleanup_json_ json_t *s = json_object();
        json_t *ports, *vols, *secs, *cfgs;
        const char *policy =
                json_string_value(json_object_get(json_object_get(pod, "restart"), "policy"));
        size_t i;
        int r;

        if (json_array_size(ctrs) != 1)
                return cannot(errp, name, "a pod with several containers", "compose", "");
        if (json_array_size(json_object_get(pod, "init_containers")) > 0)
                return cannot(errp, name, "init_containers", "compose", "");
        /* A job is a service that is not restarted once it succeeds: restart "no" or
         * "on-failure", as its pod already says. Several completions have no equivalent. */
        if (json_integer_value(json_object_get(svc, "completions")) > 1)
                return cannot(errp, name, "a job with several completions", "compose", "");
        ctr = json_array_get(ctrs, 0);
        /* Owned by s from the start so that every early return frees them. */
        json_object_set_new(s, "ports", ports = json_array());
        json_object_set_new(s, "volumes", vols = json_array());
        json_object_set_new(s, "secrets", secs = json_array());
        json_object_set_new(s, "configs", cfgs = json_array());
        if ((r = common_checks(name, ctr, "compose", errp)) < 0)
                return r;
        /* One exec probe (liveness or readiness) is what a compose healthcheck is; anything
         * else (HTTP and TCP probes, several probes, startup probes) is not. */
        const json_t *probe = NULL;
        static const char *const probes[] = {"liveness", "readiness", "startup"};
        for (i = 0; i < ELEMENTSOF(probes); i++) {
                const json_t *pr = json_object_get(json_object_get(ctr, "probes"), probes[i]);
                if (empty(pr))
                        continue;
                if (probe || i == 2 ||
                    !streq(json_string_value(json_object_get(pr, "type")), "exec"))
                        return cannot(errp, name, "probes other than one exec probe", "compose",
                                      "a healthcheck runs one command");
                probe = pr;
        }
        if (probe) {
                json_t *test = json_pack("[s]", "CMD");
                json_array_extend(test, json_object_get(probe, "command"));
                json_object_set_new(s, "healthcheck",
                                    json_pack("{s:o,s:s++,s:s++,s:s++,s:O}", "test", test,
                                              "interval", "", "", "", "timeout", "", "", "",
                                              "start_period", "", "", "", "retries",
                                              json_object_get(probe, "failure_threshold")));
                static const char *const d[][2] = {{"period_ms", "interval"},
                                                   {"timeout_ms", "timeout"},
                                                   {"initial_delay_ms", "start_period"}};
                for (i = 0; i < ELEMENTSOF(d); i++)
                        json_object_set_new(
                                json_object_get(s, "healthcheck"), d[i][1],
                                json_sprintf("%lldms", (long long)json_integer_value(
                                                               json_object_get(probe, d[i][0]))));
        }
        json_object_set(s, "image", json_object_get(ctr, "image"));
        if (!json_is_null(json_object_get(ctr, "entrypoint")))
                json_object_set(s, "entrypoint", json_object_get(ctr, "entrypoint"));
        if (!json_is_null(json_object_get(ctr, "command")))
                json_object_set(s, "command", json_object_get(ctr, "command"));
        if (!empty(json_object_get(ctr, "env")))
                json_object_set(s, "environment", json_object_get(ctr, "env"));
        static const char *const same[] = {"working_dir", "user", "labels",    "tmpfs",
                                           "init",        "tty",  "stdin_open"};
        for (i = 0; i < ELEMENTSOF(same); i++)
                if (!empty(json_object_get(ctr, same[i])))
                        json_object_set(s, same[i], json_object_get(ctr, same[i]));
        static const char *const pod_same[][2] = {{"hostname", "hostname"},
                                                  {"domainname", "domainname"},
                                                  {"dns", "dns"},
                                                  {"dns_search", "dns_search"},
                                                  {"dns_options", "dns_opt"},
                                                  {"network_mode", "network_mode"}};
        for (i = 0; i < ELEMENTSOF(pod_same); i++)
                if (!empty(json_object_get(pod, pod_same[i][0])))
                        json_object_set(s, pod_same[i][1], json_object_get(pod, pod_same[i][0]));
        json_array_foreach (json_object_get(ctr, "ports"), i, p) {
                json_t *o = json_pack("{s:O,s:O}", "target", json_object_get(p, "target"),
                                      "protocol", json_object_get(p, "protocol"));
                const char *pub = json_string_value(json_object_get(p, "published"));
                if (pub && *pub)
                        json_object_set_new(o, "published", json_string(pub));
                if (json_string_length(json_object_get(p, "host_ip")))
                        json_object_set(o, "host_ip", json_object_get(p, "host_ip"));
                json_array_append_new(ports, o);
        }
        json_array_foreach (json_object_get(ctr, "mounts"), i, m) {
                const char *type = json_string_value(json_object_get(m, "type"));
                if (streq(type, "secret") || streq(type, "config")) {
                        const json_t *def = json_object_get(
                                json_object_get(model,
                                                streq(type, "secret") ? "secrets" : "configs"),
                                json_string_value(json_object_get(m, "source")));
                        const json_t *data = json_object_get(def, "data");
                        if (data && streq(type, "secret"))
                                return cannot(errp, name, "a Secret with inline data", "compose",
                                              "compose secrets come from files or the environment");
                        if (data) {
                                const char *key;
                                json_t *val;
                                json_object_foreach ((json_t *)data, key, val) {
                                        _cleanup_free_ char *cn = xasprintf(
                                                "%s-%s",
                                                json_string_value(json_object_get(m, "source")),
                                                key);
                                        for (char *q = cn; *q; q++)
                                                if (*q == '.')
                                                        *q = '-';
                                        json_object_set_new(configs, cn,
                                                            json_pack("{s:O}", "content", val));
                                        json_array_append_new(
                                                cfgs,
                                                json_pack("{s:s,s:s++}", "source", cn, "target",
                                                          json_string_value(
                                                                  json_object_get(m, "target")),
                                                          "/", key));
                                }
                                continue;
                        }
                        json_array_append_new(streq(type, "secret") ? secs : cfgs,
                                              json_pack("{s:O,s:O}", "source",
                                                        json_object_get(m, "source"), "target",
                                                        json_object_get(m, "target")));
                        continue;
                }
                json_array_append_new(vols, compose_mount(m));
        }
        static const char *const lists[] = {"ports", "volumes", "secrets", "configs"};
        for (i = 0; i < ELEMENTSOF(lists); i++)
                if (json_array_size(json_object_get(s, lists[i])) == 0)
                        json_object_del(s, lists[i]);
        if (!json_is_null(json_object_get(svc, "container_name")))
                json_object_set(s, "container_name", json_object_get(svc, "container_name"));
        if (!empty(json_object_get(svc, "depends_on")))
                json_object_set(s, "depends_on", json_object_get(svc, "depends_on"));
        if (!json_object_get(pod, "network_mode") ||
            json_is_null(json_object_get(pod, "network_mode"))) {
                const char *net;
                json_t *v, *nets = json_object();
                json_object_foreach (json_object_get(pod, "networks"), net, v) {
                        json_t *o = json_object();
                        if (!empty(json_object_get(v, "aliases")))
                                json_object_set(o, "aliases", json_object_get(v, "aliases"));
                        if (!json_is_null(json_object_get(v, "ipv4_address")))
                                json_object_set(o, "ipv4_address",
                                                json_object_get(v, "ipv4_address"));
                        json_object_set_new(
                                nets, net, json_object_size(o) ? o : (json_decref(o), json_null()));
                }
                json_object_set_new(s, "networks", nets);
        }
        const json_t *rs = json_object_get(pod, "restart");
        if (streq(policy, "on-failure") &&
            json_integer_value(json_object_get(rs, "max_retries")) > 0)
                json_object_set_new(s, "restart",
                                    json_sprintf("on-failure:%lld",
                                                 (long long)json_integer_value(
                                                         json_object_get(rs, "max_retries"))));
        else if (!streq(policy, "no"))
                json_object_set_new(s, "restart", json_string(policy));
        const json_t *h = json_object_get(ctr, "healthcheck");
        if (!json_is_null(h) && h) {
                json_t *hc = json_pack("{s:O,s:O}", "test", json_object_get(h, "test"), "retries",
                                       json_object_get(h, "retries"));
                static const char *const d[][2] = {{"interval_ms", "interval"},
                                                   {"timeout_ms", "timeout"},
                                                   {"start_period_ms", "start_period"}};
                for (i = 0; i < ELEMENTSOF(d); i++)
                        json_object_set_new(
                                hc, d[i][1],
                                json_sprintf("%lldms", (long long)json_integer_value(
                                                               json_object_get(h, d[i][0]))));
                json_object_set_new(s, "healthcheck", hc);
        }
        json_t *lim = json_object_get(json_object_get(ctr, "resources"), "limits");
        json_t *dep = json_pack("{s:O}", "replicas", json_object_get(svc, "replicas"));
        if (!empty(json_object_get(lim, "cpus")) || !empty(json_object_get(lim, "memory"))) {
                json_t *l = json_object();
                if (!empty(json_object_get(lim, "cpus")))
                        json_object_set_new(l, "cpus",
                                            json_sprintf("%g", json_number_value(json_object_get(
                                                                       lim, "cpus"))));
                if (!empty(json_object_get(lim, "memory")))
                        json_object_set(l, "memory", json_object_get(lim, "memory"));
                json_object_set_new(dep, "resources", json_pack("{s:o}", "limits", l));
        }
        if (!empty(json_object_get(json_object_get(svc, "placement"), "constraints")))
                json_object_set_new(dep, "placement",
                                    json_pack("{s:O}", "constraints",
                                              json_object_get(json_object_get(svc, "placement"),
                                                              "constraints")));
        if (!empty(json_object_get(svc, "labels")))
                json_object_set(dep, "labels", json_object_get(svc, "labels"));
        json_object_set_new(s, "deploy", dep);
        json_object_set_new(out, name, TAKE_PTR(s));
        return 0;
}

int convert_to_compose(const json_t *model, char **ret, struct err **errp) {
        _cleanup_json_ json_t *c =
                json_pack("{s:O,s:{},s:{},s:{},s:{},s:{}}", "name", json_object_get(model, "name"),
                          "services", "networks", "volumes", "secrets", "configs");
        const char *name;
        json_t *v;
        int r;

        json_object_foreach (json_object_get(model, "services"), name, v) {
                r = compose_service(model, name, v, json_object_get(c, "services"),
                                    json_object_get(c, "configs"), errp);
                if (r < 0)
                        return r;
        }
        json_object_foreach (json_object_get(model, "networks"), name, v) {
                json_t *o = json_pack("{s:O,s:O}", "name", json_object_get(v, "name"), "driver",
                                      json_object_get(v, "driver"));
                if (json_is_true(json_object_get(v, "external")))
                        json_object_set_new(o, "external", json_true());
                if (json_is_true(json_object_get(v, "internal")))
                        json_object_set_new(o, "internal", json_true());
                if (!json_is_null(json_object_get(v, "subnet")))
                        json_object_set_new(o, "ipam",
                                            json_pack("{s:[{s:O}]}", "config", "subnet",
                                                      json_object_get(v, "subnet")));
                json_object_set_new(json_object_get(c, "networks"), name, o);
        }
        json_object_foreach (json_object_get(model, "volumes"), name, v) {
                json_t *o = json_pack("{s:O,s:O}", "name", json_object_get(v, "name"), "driver",
                                      json_object_get(v, "driver"));
                if (json_is_true(json_object_get(v, "external")))
                        json_object_set_new(o, "external", json_true());
                json_object_set_new(json_object_get(c, "volumes"), name, o);
        }
        json_object_foreach (json_object_get(model, "secrets"), name, v) {
                if (json_object_get(v, "data"))
                        continue; /* only reachable when unused: a mount would have failed */
                json_t *o = json_pack("{s:O}", "name", json_object_get(v, "name"));
                static const char *const k[] = {"file", "environment"};
                for (size_t i = 0; i < ELEMENTSOF(k); i++)
                        if (!json_is_null(json_object_get(v, k[i])))
                                json_object_set(o, k[i], json_object_get(v, k[i]));
                if (json_is_true(json_object_get(v, "external")))
                        json_object_set_new(o, "external", json_true());
                json_object_set_new(json_object_get(c, "secrets"), name, o);
        }
        json_object_foreach (json_object_get(model, "configs"), name, v) {
                if (json_object_get(v, "data"))
                        continue;
                json_t *o = json_pack("{s:O}", "name", json_object_get(v, "name"));
                static const char *const k[] = {"file", "environment", "content"};
                for (size_t i = 0; i < ELEMENTSOF(k); i++)
                        if (!json_is_null(json_object_get(v, k[i])) && json_object_get(v, k[i]))
                                json_object_set(o, k[i], json_object_get(v, k[i]));
                if (json_is_true(json_object_get(v, "external")))
                        json_object_set_new(o, "external", json_true());
                json_object_set_new(json_object_get(c, "configs"), name, o);
        }
        json_object_del(json_object_get(c, "networks"), "default");
        static const char *const secs[] = {"networks", "volumes", "secrets", "configs"};
        for (size_t i = 0; i < ELEMENTSOF(secs); i++)
                if (json_object_size(json_object_get(c, secs[i])) == 0)
                        json_object_del(c, secs[i]);
        return yaml_emit_json(c, ret, errp);
}

/* ---- Kubernetes ---- */

/* Kubernetes object names are DNS labels: lowercase, '-' for '_' and '.'. */
static char *kube_name(const char *s) {
        char *n = xstrdup(s);

        for (char *q = n; *q; q++) {
                if (*q >= 'A' && *q <= 'Z')
                        *q = (char)(*q - 'A' + 'a');
                else if (*q == '_' || *q == '.')
                        *q = '-';
        }
        return n;
}

/* "root" is the one name whose id is known without looking into the image. */
static bool id_of(const char *s, size_t len, long *ret) {
        char *end;

        if (len == 4 && strncmp(s, "root", 4) == 0) {
                *ret = 0;
                return true;
        }
        if (len == 0 || s[0] < '0' || s[0] > '9')
                return false;
        *ret = strtol(s, &end, 10);
        return (size_t)(end - s) == len && *ret >= 0;
}

static int kube_user(const char *svc, const char *user, json_t *sc, struct err **errp) {
        const char *colon = strchr(user, ':');
        long uid, gid;

        if (!id_of(user, colon ? (size_t)(colon - user) : strlen(user), &uid))
                return cannot(errp, svc, "a non-numeric user", "Kubernetes",
                              "runAsUser needs a uid");
        json_object_set_new(sc, "runAsUser", json_integer(uid));
        if (colon) {
                if (!id_of(colon + 1, strlen(colon + 1), &gid))
                        return cannot(errp, svc, "a non-numeric group", "Kubernetes",
                                      "runAsGroup needs a gid");
                json_object_set_new(sc, "runAsGroup", json_integer(gid));
        }
        return 0;
}

/* One model container as a Kubernetes container; its volumes go to vols and PVCs to
 * extra_docs. */
static int kube_container(const json_t *model, const char *svc, const json_t *ctr, json_t *vols,
                          json_t *extra_docs, json_t **ret, struct err **errp) {
        _cleanup_free_ char *cname = kube_name(json_string_value(json_object_get(ctr, "name")));
        _cleanup_json_ json_t *c =
                json_pack("{s:s,s:O}", "name", cname, "image", json_object_get(ctr, "image"));
        json_t *env = json_array(), *ports = json_array(), *mounts = json_array(),
               *sc = json_object(), *p, *m;
        const char *pp = json_string_value(json_object_get(ctr, "pull_policy")), *k;
        size_t i;
        int r;

        json_object_set_new(c, "env", env);
        json_object_set_new(c, "ports", ports);
        json_object_set_new(c, "volumeMounts", mounts);
        json_object_set_new(c, "securityContext", sc);
        if ((r = common_checks(svc, ctr, "Kubernetes", errp)) < 0)
                return r;
        if (!json_is_null(json_object_get(ctr, "build")))
                return cannot(errp, svc, "build", "Kubernetes", "build and push the image first");
        if (json_is_true(json_object_get(ctr, "init")))
                return cannot(errp, svc, "init", "Kubernetes", "");
        if (!empty(json_object_get(ctr, "shm_size")))
                return cannot(errp, svc, "shm_size", "Kubernetes", "");
        json_object_set_new(c, "imagePullPolicy",
                            json_string(streq(pp, "always")  ? "Always"
                                        : streq(pp, "never") ? "Never"
                                                             : "IfNotPresent"));
        if (!json_is_null(json_object_get(ctr, "entrypoint")))
                json_object_set(c, "command", json_object_get(ctr, "entrypoint"));
        if (!json_is_null(json_object_get(ctr, "command")))
                json_object_set(c, "args", json_object_get(ctr, "command"));
        json_object_foreach (json_object_get(ctr, "env"), k, p)
                json_array_append_new(env, json_pack("{s:s,s:O}", "name", k, "value", p));
        json_array_foreach (json_object_get(ctr, "ports"), i, p) {
                const char *proto = json_string_value(json_object_get(p, "protocol"));
                const char *pub = json_string_value(json_object_get(p, "published"));
                json_t *o = json_pack("{s:O,s:s}", "containerPort", json_object_get(p, "target"),
                                      "protocol",
                                      streq(proto, "udp")    ? "UDP"
                                      : streq(proto, "sctp") ? "SCTP"
                                                             : "TCP");
                if (pub && *pub) {
                        if (strchr(pub, '-')) {
                                json_decref(o);
                                return cannot(errp, svc, "a host port range", "Kubernetes", "");
                        }
                        json_object_set_new(o, "hostPort", json_integer(atoi(pub)));
                }
                if (json_string_length(json_object_get(p, "host_ip")))
                        json_object_set(o, "hostIP", json_object_get(p, "host_ip"));
                json_array_append_new(ports, o);
        }
        json_array_foreach (json_object_get(ctr, "mounts"), i, m) {
                const char *type = json_string_value(json_object_get(m, "type"));
                const char *src = json_string_value(json_object_get(m, "source"));
                _cleanup_free_ char *vname =
                        xasprintf("%s-%zu", json_string_value(json_object_get(ctr, "name")), i);
                json_t *vol = NULL;
                for (char *q = vname; *q; q++)
                        if (*q == '_' || *q == '.')
                                *q = '-';
                if (streq(type, "bind"))
                        vol = json_pack("{s:s,s:{s:s}}", "name", vname, "hostPath", "path", src);
                else if (streq(type, "tmpfs"))
                        vol = json_pack("{s:s,s:{s:s}}", "name", vname, "emptyDir", "medium",
                                        "Memory");
                else if (streq(type, "volume")) {
                        if (!src)
                                vol = json_pack("{s:s,s:{}}", "name", vname, "emptyDir");
                        else {
                                const json_t *def =
                                        json_object_get(json_object_get(model, "volumes"), src);
                                _cleanup_free_ char *claim = kube_name(src);
                                if (json_is_true(json_object_get(def, "external")))
                                        return cannot(errp, svc, "an external volume", "Kubernetes",
                                                      "");
                                vol = json_pack("{s:s,s:{s:s}}", "name", vname,
                                                "persistentVolumeClaim", "claimName", claim);
                                bool seen = false;
                                size_t j;
                                json_t *d;
                                json_array_foreach (extra_docs, j, d)
                                        if (streq(json_string_value(json_object_get(d, "kind")),
                                                  "PersistentVolumeClaim") &&
                                            streq(json_string_value(json_object_get(
                                                          json_object_get(d, "metadata"), "name")),
                                                  claim))
                                                seen = true;
                                if (!seen)
                                        json_array_append_new(
                                                extra_docs,
                                                json_pack("{s:s,s:s,s:{s:s},s:{s:[s],s:{s:{s:s}}}}",
                                                          "apiVersion", "v1", "kind",
                                                          "PersistentVolumeClaim", "metadata",
                                                          "name", claim, "spec", "accessModes",
                                                          "ReadWriteOnce", "resources", "requests",
                                                          "storage", "1Gi"));
                        }
                } else {
                        const json_t *def = json_object_get(
                                json_object_get(model,
                                                streq(type, "secret") ? "secrets" : "configs"),
                                src);
                        if (!json_object_get(def, "data"))
                                return cannot(errp, svc,
                                              streq(type, "secret") ? "a secret from a file"
                                                                    : "a config from a file",
                                              "Kubernetes",
                                              "create a Secret or ConfigMap with the content");
                        _cleanup_free_ char *ref = kube_name(src);
                        vol = streq(type, "secret") ? json_pack("{s:s,s:{s:s}}", "name", vname,
                                                                "secret", "secretName", ref)
                                                    : json_pack("{s:s,s:{s:s}}", "name", vname,
                                                                "configMap", "name", ref);
                }
                json_array_append_new(vols, vol);
                json_array_append_new(mounts, json_pack("{s:s,s:O,s:O}", "name", vname, "mountPath",
                                                        json_object_get(m, "target"), "readOnly",
                                                        json_object_get(m, "read_only")));
        }
        const json_t *sec = json_object_get(ctr, "security");
        if (json_is_true(json_object_get(sec, "privileged")))
                json_object_set_new(sc, "privileged", json_true());
        if (json_is_true(json_object_get(sec, "read_only")))
                json_object_set_new(sc, "readOnlyRootFilesystem", json_true());
        if (json_is_true(json_object_get(sec, "no_new_privileges")))
                json_object_set_new(sc, "allowPrivilegeEscalation", json_false());
        if (!empty(json_object_get(sec, "security_opt")))
                return cannot(errp, svc, "security_opt", "Kubernetes", "");
        if (!empty(json_object_get(sec, "cap_add")) || !empty(json_object_get(sec, "cap_drop")))
                json_object_set_new(sc, "capabilities",
                                    json_pack("{s:O,s:O}", "add", json_object_get(sec, "cap_add"),
                                              "drop", json_object_get(sec, "cap_drop")));
        if (json_string_value(json_object_get(ctr, "user")) &&
            (r = kube_user(svc, json_string_value(json_object_get(ctr, "user")), sc, errp)) < 0)
                return r;
        if (json_object_size(sc) == 0)
                json_object_del(c, "securityContext");
        const json_t *res = json_object_get(ctr, "resources");
        json_t *lim = json_object(), *req = json_object();
        static const char *const sides[] = {"limits", "reservations"};
        for (i = 0; i < 2; i++) {
                const json_t *side = json_object_get(res, sides[i]);
                json_t *to = i == 0 ? lim : req;
                if (!empty(json_object_get(side, "cpus")))
                        json_object_set_new(
                                to, "cpu",
                                json_sprintf("%lldm", (long long)(json_number_value(json_object_get(
                                                                          side, "cpus")) *
                                                                          1000 +
                                                                  0.5)));
                if (!empty(json_object_get(side, "memory")))
                        json_object_set(to, "memory", json_object_get(side, "memory"));
        }
        if (json_object_size(lim) || json_object_size(req))
                json_object_set_new(c, "resources",
                                    json_pack("{s:o,s:o}", "limits", lim, "requests", req));
        else {
                json_decref(lim);
                json_decref(req);
        }
        const json_t *h = json_object_get(ctr, "healthcheck");
        if (h && !json_is_null(h)) {
                const json_t *t = json_object_get(h, "test");
                const char *first = json_string_value(json_array_get(t, 0));
                json_t *cmd;
                if (streq(first, "CMD")) {
                        cmd = json_array();
                        for (size_t j = 1; j < json_array_size(t); j++)
                                json_array_append(cmd, json_array_get(t, j));
                } else if (streq(first, "CMD-SHELL"))
                        cmd = json_pack("[s,s,O]", "/bin/sh", "-c", json_array_get(t, 1));
                else
                        cmd = NULL;
                if (cmd)
                        json_object_set_new(
                                c, "livenessProbe",
                                json_pack("{s:{s:o},s:I,s:I,s:O,s:I}", "exec", "command", cmd,
                                          "periodSeconds",
                                          (json_int_t)(json_integer_value(
                                                               json_object_get(h, "interval_ms")) /
                                                       1000),
                                          "timeoutSeconds",
                                          (json_int_t)MAX(1, json_integer_value(json_object_get(
                                                                     h, "timeout_ms")) /
                                                                     1000),
                                          "failureThreshold", json_object_get(h, "retries"),
                                          "initialDelaySeconds",
                                          (json_int_t)(json_integer_value(json_object_get(
                                                               h, "start_period_ms")) /
                                                       1000)));
        }
        if (json_is_true(json_object_get(ctr, "tty")))
                json_object_set_new(c, "tty", json_true());
        if (json_is_true(json_object_get(ctr, "stdin_open")))
                json_object_set_new(c, "stdin", json_true());
        if (!json_is_null(json_object_get(ctr, "working_dir")))
                json_object_set(c, "workingDir", json_object_get(ctr, "working_dir"));
        *ret = TAKE_PTR(c);
        return 0;
}

/* One model service as a Deployment, Pod or Job, plus a Service for its endpoint ports. */
static int kube_workload(const json_t *model, const char *name, const json_t *svc, json_t *docs,
                         struct err **errp) {
        const json_t *pod = json_object_get(svc, "pod"), *c;
        const char *policy =
                json_string_value(json_object_get(json_object_get(pod, "restart"), "policy"));
        const char *kind = json_string_value(json_object_get(svc, "kind"));
        json_int_t replicas = json_integer_value(json_object_get(svc, "replicas"));
        _cleanup_free_ char *kname = kube_name(name);
        _cleanup_json_ json_t *spec = json_object(), *labels = NULL, *extra = json_array();
        json_t *ctrs = json_array(), *inits = json_array(), *vols = json_array();
        size_t i;
        int r;

        labels = json_pack("{s:s}", "app.kubernetes.io/name", kname);
        json_object_set_new(spec, "containers", ctrs);
        json_object_set_new(spec, "initContainers", inits);
        json_object_set_new(spec, "volumes", vols);
        if (streq(json_string_value(json_object_get(svc, "mode")), "global"))
                return cannot(errp, name, "mode global", "Kubernetes", "that needs a DaemonSet");
        if (!json_is_null(json_object_get(pod, "network_mode"))) {
                if (!streq(json_string_value(json_object_get(pod, "network_mode")), "host"))
                        return cannot(errp, name, "network_mode", "Kubernetes", "");
                json_object_set_new(spec, "hostNetwork", json_true());
        }
        json_array_foreach (json_object_get(pod, "containers"), i, c) {
                json_t *kc = NULL;
                if ((r = kube_container(model, name, c, vols, extra, &kc, errp)) < 0)
                        return r;
                json_array_append_new(ctrs, kc);
        }
        json_array_foreach (json_object_get(pod, "init_containers"), i, c) {
                json_t *kc = NULL;
                if ((r = kube_container(model, name, c, vols, extra, &kc, errp)) < 0)
                        return r;
                json_array_append_new(inits, kc);
        }
        if (json_array_size(inits) == 0)
                json_object_del(spec, "initContainers");
        if (json_array_size(vols) == 0)
                json_object_del(spec, "volumes");
        if (!json_is_null(json_object_get(pod, "hostname")))
                json_object_set(spec, "hostname", json_object_get(pod, "hostname"));
        if (!empty(json_object_get(pod, "dns")) || !empty(json_object_get(pod, "dns_search"))) {
                json_object_set_new(spec, "dnsPolicy", json_string("None"));
                json_object_set_new(spec, "dnsConfig",
                                    json_pack("{s:O,s:O}", "nameservers",
                                              json_object_get(pod, "dns"), "searches",
                                              json_object_get(pod, "dns_search")));
        }
        if (!empty(json_object_get(pod, "extra_hosts"))) {
                json_t *ha = json_array(), *e;
                json_array_foreach (json_object_get(pod, "extra_hosts"), i, e)
                        json_array_append_new(ha, json_pack("{s:O,s:[O]}", "ip",
                                                            json_object_get(e, "ip"), "hostnames",
                                                            json_object_get(e, "host")));
                json_object_set_new(spec, "hostAliases", ha);
        }
        json_object_set_new(
                spec, "terminationGracePeriodSeconds",
                json_integer(json_integer_value(json_object_get(pod, "stop_grace_period_ms")) /
                             1000));
        if (!empty(json_object_get(json_object_get(svc, "placement"), "constraints"))) {
                json_t *ns = json_object(), *con;
                json_array_foreach (
                        json_object_get(json_object_get(svc, "placement"), "constraints"), i, con) {
                        const char *s = json_string_value(con), *eq = strstr(s, "==");
                        if (!str_startswith(s, "node.labels.") || !eq)
                                return cannot(errp, name, "placement constraint", "Kubernetes", s);
                        _cleanup_free_ char *key = xstrndup(s + 12, (size_t)(eq - s - 12));
                        json_object_set_new(ns, key, json_string(eq + 2));
                }
                json_object_set_new(spec, "nodeSelector", ns);
        }
        json_t *annotations = json_object();
        const char *net;
        json_t *nv;
        _cleanup_strv_ char **nets = NULL;
        json_object_foreach (json_object_get(pod, "networks"), net, nv)
                if (!streq(net, "default"))
                        strv_push(&nets, net);
        if (nets) {
                _cleanup_free_ char *j = strv_join(nets, ",");
                json_object_set_new(annotations, "berth.io/networks", json_string(j));
        }
        json_t *doc;
        json_t *tmpl = json_pack("{s:{s:O,s:o},s:O}", "metadata", "labels", labels, "annotations",
                                 annotations, "spec", spec);
        if (streq(kind, "job")) {
                json_object_set_new(
                        spec, "restartPolicy",
                        json_string(streq(policy, "on-failure") ? "OnFailure" : "Never"));
                doc = json_pack("{s:s,s:s,s:{s:s},s:{s:O,s:I,s:o}}", "apiVersion", "batch/v1",
                                "kind", "Job", "metadata", "name", kname, "spec", "backoffLimit",
                                json_object_get(json_object_get(pod, "restart"), "max_retries"),
                                "parallelism", replicas, "template", tmpl);
        } else if (streq(policy, "always") || streq(policy, "unless-stopped")) {
                json_object_set_new(spec, "restartPolicy", json_string("Always"));
                const json_t *upd = json_object_get(svc, "update");
                json_t *strat =
                        streq(json_string_value(json_object_get(upd, "order")), "start-first")
                                ? json_pack("{s:s,s:{s:I,s:i}}", "type", "RollingUpdate",
                                            "rollingUpdate", "maxSurge",
                                            (json_int_t)MAX(1, json_integer_value(json_object_get(
                                                                       upd, "parallelism"))),
                                            "maxUnavailable", 0)
                                : json_pack("{s:s,s:{s:i,s:I}}", "type", "RollingUpdate",
                                            "rollingUpdate", "maxSurge", 0, "maxUnavailable",
                                            (json_int_t)MAX(1, json_integer_value(json_object_get(
                                                                       upd, "parallelism"))));
                doc = json_pack("{s:s,s:s,s:{s:s},s:{s:I,s:{s:O},s:o,s:o}}", "apiVersion",
                                "apps/v1", "kind", "Deployment", "metadata", "name", kname, "spec",
                                "replicas", replicas, "selector", "matchLabels", labels, "strategy",
                                strat, "template", tmpl);
        } else {
                if (replicas != 1)
                        return cannot(errp, name,
                                      "restart policy 'no' or 'on-failure' with several replicas",
                                      "Kubernetes", "a Deployment always restarts");
                json_object_set_new(
                        spec, "restartPolicy",
                        json_string(streq(policy, "on-failure") ? "OnFailure" : "Never"));
                doc = json_pack("{s:s,s:s,s:{s:s,s:O},s:O}", "apiVersion", "v1", "kind", "Pod",
                                "metadata", "name", kname, "labels", labels, "spec", spec);
                json_decref(tmpl);
        }
        /* Volumes shared by several services need their claim only once. */
        json_t *d;
        json_array_foreach (extra, i, d) {
                size_t j;
                json_t *o;
                bool dup = false;
                json_array_foreach (docs, j, o)
                        if (json_equal(json_object_get(o, "kind"), json_object_get(d, "kind")) &&
                            json_equal(json_object_get(o, "metadata"),
                                       json_object_get(d, "metadata")))
                                dup = true;
                if (!dup)
                        json_array_append(docs, d);
        }
        json_array_append_new(docs, doc);
        /* A Service for the endpoint ports. */
        const json_t *ep = json_object_get(svc, "endpoint"), *p;
        if (json_array_size(json_object_get(ep, "ports")) > 0) {
                json_t *sp = json_array();
                bool nodeport = false;
                json_array_foreach (json_object_get(ep, "ports"), i, p) {
                        const char *proto = json_string_value(json_object_get(p, "protocol"));
                        json_t *o = json_pack("{s:s,s:O,s:O,s:s}", "name", "", "port",
                                              json_object_get(p, "port"), "targetPort",
                                              json_object_get(p, "target"), "protocol",
                                              streq(proto, "udp")    ? "UDP"
                                              : streq(proto, "sctp") ? "SCTP"
                                                                     : "TCP");
                        json_object_set_new(o, "name",
                                            json_sprintf("%s-%lld", proto,
                                                         (long long)json_integer_value(
                                                                 json_object_get(p, "port"))));
                        if (!json_is_null(json_object_get(p, "node_port")) &&
                            json_object_get(p, "node_port")) {
                                json_object_set(o, "nodePort", json_object_get(p, "node_port"));
                                nodeport = true;
                        }
                        json_array_append_new(sp, o);
                }
                json_t *sspec = json_pack("{s:O,s:o}", "selector", labels, "ports", sp);
                if (streq(json_string_value(json_object_get(ep, "mode")), "dnsrr"))
                        json_object_set_new(sspec, "clusterIP", json_string("None"));
                if (nodeport)
                        json_object_set_new(sspec, "type", json_string("NodePort"));
                json_array_append_new(docs, json_pack("{s:s,s:s,s:{s:s},s:o}", "apiVersion", "v1",
                                                      "kind", "Service", "metadata", "name", kname,
                                                      "spec", sspec));
        }
        return 0;
}

int convert_to_kube(const json_t *model_in, char **ret, struct err **errp) {
        /* A private copy: inline config contents are turned into ConfigMap data below. */
        _cleanup_json_ json_t *docs = json_array(), *model = json_deep_copy(model_in);
        _cleanup_free_ char *out = NULL;
        size_t len = 0, i;
        const char *name;
        json_t *v, *d;
        int r;

        /* Inline config contents become one-key ConfigMaps first. */
        json_object_foreach (json_object_get(model, "configs"), name, v)
                if (!json_object_get(v, "data") && json_is_string(json_object_get(v, "content")))
                        json_object_set_new(
                                v, "data", json_pack("{s:O}", name, json_object_get(v, "content")));
        static const char *const kinds[][2] = {{"configs", "ConfigMap"}, {"secrets", "Secret"}};
        for (i = 0; i < ELEMENTSOF(kinds); i++)
                json_object_foreach (json_object_get(model, kinds[i][0]), name, v) {
                        _cleanup_free_ char *kn = kube_name(name);
                        if (!json_object_get(v, "data"))
                                continue;
                        d = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", kinds[i][1],
                                      "metadata", "name", kn);
                        if (i == 1)
                                json_object_set_new(d, "type", json_string("Opaque"));
                        json_object_set(d, i == 1 ? "stringData" : "data",
                                        json_object_get(v, "data"));
                        json_array_append_new(docs, d);
                }
        json_object_foreach (json_object_get(model, "services"), name, v) {
                r = kube_workload(model, name, v, docs, errp);
                if (r < 0)
                        return r;
        }
        json_array_foreach (docs, i, d) {
                _cleanup_free_ char *y = NULL;
                r = yaml_emit_json(d, &y, errp);
                if (r < 0)
                        return r;
                /* yaml_emit_json writes one "--- " free document; join with separators. */
                char *n = xasprintf("%s%s%s", out ? out : "", out ? "---\n" : "", y);
                free(out);
                out = n;
                len += strlen(y);
        }
        (void)len;
        *ret = out ? TAKE_PTR(out) : xstrdup("");
        return 0;
}
