/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes PodSpec and containers into the model's pod. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "kube_internal.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

static const char *const podspec_keys[] = {"containers",
                                           "initContainers",
                                           "volumes",
                                           "restartPolicy",
                                           "hostname",
                                           "subdomain",
                                           "hostNetwork",
                                           "dnsPolicy",
                                           "dnsConfig",
                                           "hostAliases",
                                           "terminationGracePeriodSeconds",
                                           "securityContext",
                                           "nodeSelector",
                                           NULL};
static const char *const container_keys[] = {"name",
                                             "image",
                                             "imagePullPolicy",
                                             "command",
                                             "args",
                                             "env",
                                             "envFrom",
                                             "ports",
                                             "resources",
                                             "volumeMounts",
                                             "livenessProbe",
                                             "readinessProbe",
                                             "startupProbe",
                                             "securityContext",
                                             "workingDir",
                                             "tty",
                                             "stdin",
                                             NULL};
static const char *const env_keys[] = {"name", "value", "valueFrom", NULL};
static const char *const value_from_keys[] = {"configMapKeyRef", "secretKeyRef", NULL};
static const char *const key_ref_keys[] = {"name", "key", "optional", NULL};
static const char *const env_from_keys[] = {"configMapRef", "secretRef", "prefix", NULL};
static const char *const ref_keys[] = {"name", "optional", NULL};
static const char *const port_keys[] = {"containerPort", "hostPort", "protocol",
                                        "name",          "hostIP",   NULL};
static const char *const resources_keys[] = {"requests", "limits", NULL};
static const char *const quantity_keys[] = {"cpu", "memory", NULL};
static const char *const mount_keys[] = {"name", "mountPath", "readOnly", "subPath", NULL};
static const char *const probe_keys[] = {"exec",
                                         "httpGet",
                                         "tcpSocket",
                                         "initialDelaySeconds",
                                         "periodSeconds",
                                         "timeoutSeconds",
                                         "successThreshold",
                                         "failureThreshold",
                                         NULL};
static const char *const exec_keys[] = {"command", NULL};
static const char *const http_keys[] = {"path", "port", "host", "scheme", "httpHeaders", NULL};
static const char *const tcp_keys[] = {"port", "host", NULL};
static const char *const sc_keys[] = {"runAsUser",
                                      "runAsGroup",
                                      "runAsNonRoot",
                                      "readOnlyRootFilesystem",
                                      "capabilities",
                                      "privileged",
                                      "allowPrivilegeEscalation",
                                      NULL};
static const char *const pod_sc_keys[] = {"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup",
                                          NULL};
static const char *const caps_keys[] = {"add", "drop", NULL};
static const char *const volume_keys[] = {
        "name", "emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim", NULL};
static const char *const emptydir_keys[] = {"medium", "sizeLimit", NULL};
static const char *const hostpath_keys[] = {"path", "type", NULL};
static const char *const cmvol_keys[] = {"name", "items", "defaultMode", "optional", NULL};
static const char *const secvol_keys[] = {"secretName", "items", "defaultMode", "optional", NULL};
static const char *const pvc_keys[] = {"claimName", "readOnly", NULL};
static const char *const items_keys[] = {"key", "path", "mode", NULL};
static const char *const dnsconfig_keys[] = {"nameservers", "searches", "options", NULL};
static const char *const alias_keys[] = {"ip", "hostnames", NULL};

int kube_unsupported(struct kube_ctx *k, const struct ynode *n, const char *what,
                     struct err **errp) {
        if (k->warn) {
                warn_push(k->warn, n, "%s is not supported, ignoring", what);
                return 0;
        }
        return ynode_err(errp, n, "%s is not supported by berth", what);
}

static int check(struct kube_ctx *k, const struct ynode *n, const char *const *keys,
                 struct err **errp) {
        return y_check_keys_as(n, keys, false, k->warn, "unsupported field", errp);
}

static int str_at(const struct ynode *m, const char *key, bool required, const char **ret,
                  struct err **errp) {
        const struct ynode *n = ynode_map_get(m, key);

        *ret = NULL;
        if (!n) {
                if (required)
                        return ynode_err(errp, m, "missing required field '%s'", key);
                return 0;
        }
        return y_str(n, ret, errp);
}

/* A port given as a number or as the name of a container port. */
static int resolve_port(const struct ynode *n, const json_t *ctr, int *ret, struct err **errp) {
        const char *s;
        size_t i;
        json_t *p;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        if (parse_port_number(s, false, ret, NULL) == 0)
                return 0;
        json_array_foreach (json_object_get(ctr, "ports"), i, p)
                if (streq_ptr(json_string_value(json_object_get(p, "name")), s)) {
                        *ret = (int)json_integer_value(json_object_get(p, "target"));
                        return 0;
                }
        return ynode_err(errp, n, "port \"%s\" is neither a number nor a named container port", s);
}

/* A liveness/readiness/startup probe with Kubernetes defaults; named ports resolved. */
static int probe(struct kube_ctx *k, const struct ynode *n, const json_t *ctr, json_t **ret,
                 struct err **errp) {
        _cleanup_json_ json_t *p =
                json_pack("{s:i,s:i,s:i,s:i,s:i}", "initial_delay_ms", 0, "period_ms", 10000,
                          "timeout_ms", 1000, "success_threshold", 1, "failure_threshold", 3);
        static const struct {
                const char *key, *as;
                int64_t mult;
        } ints[] = {{"initialDelaySeconds", "initial_delay_ms", 1000},
                    {"periodSeconds", "period_ms", 1000},
                    {"timeoutSeconds", "timeout_ms", 1000},
                    {"successThreshold", "success_threshold", 1},
                    {"failureThreshold", "failure_threshold", 1}};
        const struct ynode *e, *h, *t, *f;
        int handlers = 0, r, port;

        if (!n || ynode_is_null(n)) {
                *ret = json_null();
                return 0;
        }
        r = check(k, n, probe_keys, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(ints); i++)
                if ((f = ynode_map_get(n, ints[i].key))) {
                        int64_t v;
                        if ((r = y_int(f, 0, INT32_MAX, &v, errp)) < 0)
                                return r;
                        json_object_set_new(p, ints[i].as, json_integer(v * ints[i].mult));
                }
        if ((e = ynode_map_get(n, "exec"))) {
                json_t *cmd = NULL;
                handlers++;
                if ((r = check(k, e, exec_keys, errp)) < 0)
                        return r;
                if (!ynode_map_get(e, "command"))
                        return ynode_err(errp, e, "missing required field 'command'");
                if ((r = y_strv(ynode_map_get(e, "command"), &cmd, errp)) < 0)
                        return r;
                json_object_set_new(p, "type", json_string("exec"));
                json_object_set_new(p, "command", cmd);
        }
        if ((h = ynode_map_get(n, "httpGet"))) {
                const char *path = "/", *host = NULL, *scheme = "HTTP";
                handlers++;
                if ((r = check(k, h, http_keys, errp)) < 0)
                        return r;
                if (!ynode_map_get(h, "port"))
                        return ynode_err(errp, h, "missing required field 'port'");
                if ((r = resolve_port(ynode_map_get(h, "port"), ctr, &port, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(h, "path")) && (r = y_str(f, &path, errp)) < 0)
                        return r;
                if ((r = str_at(h, "host", false, &host, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(h, "scheme"))) {
                        if ((r = y_str(f, &scheme, errp)) < 0)
                                return r;
                        if (!streq(scheme, "HTTP") && !streq(scheme, "HTTPS"))
                                return ynode_err(errp, f, "expected HTTP or HTTPS, got \"%s\"",
                                                 scheme);
                }
                json_object_set_new(p, "type", json_string("http"));
                json_object_set_new(p, "path", json_string(path));
                json_object_set_new(p, "port", json_integer(port));
                json_set_str(p, "host", host);
                json_object_set_new(p, "scheme", json_string(scheme));
                json_object_set_new(p, "http_headers",
                                    (f = ynode_map_get(h, "httpHeaders")) ? ynode_to_json(f)
                                                                          : json_array());
        }
        if ((t = ynode_map_get(n, "tcpSocket"))) {
                const char *host = NULL;
                handlers++;
                if ((r = check(k, t, tcp_keys, errp)) < 0)
                        return r;
                if (!ynode_map_get(t, "port"))
                        return ynode_err(errp, t, "missing required field 'port'");
                if ((r = resolve_port(ynode_map_get(t, "port"), ctr, &port, errp)) < 0)
                        return r;
                if ((r = str_at(t, "host", false, &host, errp)) < 0)
                        return r;
                json_object_set_new(p, "type", json_string("tcp"));
                json_object_set_new(p, "port", json_integer(port));
                json_set_str(p, "host", host);
        }
        if (handlers != 1)
                return ynode_err(errp, n, "a probe needs exactly one of exec, httpGet, tcpSocket");
        *ret = TAKE_PTR(p);
        return 0;
}

/* Looks up key in the named ConfigMap or Secret; *ret stays NULL for optional misses. */
static int lookup_ref(struct kube_ctx *k, const struct ynode *ref, bool secret, const char *key,
                      const char **ret, struct err **errp) {
        const char *name;
        bool optional = false;
        const struct ynode *f;
        const json_t *obj;
        int r;

        r = str_at(ref, "name", true, &name, errp);
        if (r < 0)
                return r;
        if ((f = ynode_map_get(ref, "optional")) && (r = y_bool(f, &optional, errp)) < 0)
                return r;
        obj = json_object_get(secret ? k->secrets : k->configmaps, name);
        *ret = NULL;
        if (!obj) {
                if (optional)
                        return 0;
                return ynode_err(errp, ynode_map_get(ref, "name"), "%s '%s' is not defined",
                                 secret ? "Secret" : "ConfigMap", name);
        }
        if (!key)
                return 0;
        *ret = json_string_value(json_object_get(obj, key));
        if (!*ret && !optional)
                return ynode_err(errp, ynode_map_get(ref, "key") ? ynode_map_get(ref, "key") : ref,
                                 "%s '%s' has no key '%s'", secret ? "Secret" : "ConfigMap", name,
                                 key);
        return 0;
}

/* envFrom first (with prefixes), then env entries (value or valueFrom) over them. */
static int env(struct kube_ctx *k, const struct ynode *c, json_t *ctr, struct err **errp) {
        const struct ynode *l = ynode_map_get(c, "env"), *ef = ynode_map_get(c, "envFrom");
        json_t *out = json_object();
        int r;

        json_object_set_new(ctr, "env", out);
        if (ef && !ynode_is_null(ef)) {
                if ((r = y_seq(ef, errp)) < 0)
                        return r;
                for (size_t i = 0; i < ef->n_kids; i++) {
                        const struct ynode *it = ef->kids[i], *ref;
                        const char *prefix = "", *key, *dummy;
                        bool secret;
                        json_t *v;
                        if ((r = check(k, it, env_from_keys, errp)) < 0 ||
                            (r = str_at(it, "prefix", false, &prefix, errp)) < 0)
                                return r;
                        if (!prefix)
                                prefix = "";
                        secret = ynode_map_get(it, "secretRef") != NULL;
                        ref = ynode_map_get(it, secret ? "secretRef" : "configMapRef");
                        if (!ref)
                                return ynode_err(errp, it,
                                                 "envFrom needs configMapRef or secretRef");
                        if ((r = check(k, ref, ref_keys, errp)) < 0 ||
                            (r = lookup_ref(k, ref, secret, NULL, &dummy, errp)) < 0)
                                return r;
                        const char *name = ynode_map_get(ref, "name")->str;
                        json_object_foreach (
                                json_object_get(secret ? k->secrets : k->configmaps, name), key,
                                v) {
                                _cleanup_free_ char *kk = xasprintf("%s%s", prefix, key);
                                json_object_set(out, kk, v);
                        }
                }
        }
        if (!l || ynode_is_null(l))
                return 0;
        if ((r = y_seq(l, errp)) < 0)
                return r;
        for (size_t i = 0; i < l->n_kids; i++) {
                const struct ynode *it = l->kids[i], *vf;
                const char *name, *value = NULL;
                if ((r = check(k, it, env_keys, errp)) < 0 ||
                    (r = str_at(it, "name", true, &name, errp)) < 0)
                        return r;
                if ((vf = ynode_map_get(it, "valueFrom"))) {
                        const struct ynode *ref;
                        const char *key;
                        bool secret;
                        if ((r = check(k, vf, value_from_keys, errp)) < 0)
                                return r;
                        secret = ynode_map_get(vf, "secretKeyRef") != NULL;
                        ref = ynode_map_get(vf, secret ? "secretKeyRef" : "configMapKeyRef");
                        if (!ref)
                                return ynode_err(errp, vf,
                                                 "valueFrom needs configMapKeyRef or secretKeyRef");
                        if ((r = check(k, ref, key_ref_keys, errp)) < 0 ||
                            (r = str_at(ref, "key", true, &key, errp)) < 0 ||
                            (r = lookup_ref(k, ref, secret, key, &value, errp)) < 0)
                                return r;
                        if (!value)
                                continue;
                } else {
                        const struct ynode *v = ynode_map_get(it, "value");
                        if (v && (r = y_str_or_null(v, &value, errp)) < 0)
                                return r;
                }
                json_object_set_new(out, name, json_string(value ? value : ""));
        }
        return 0;
}

/* Container ports; a hostPort publishes the port on the node. */
static int ports(struct kube_ctx *k, const struct ynode *c, json_t *ctr, struct err **errp) {
        const struct ynode *l = ynode_map_get(c, "ports");
        json_t *out = json_array();
        int r;

        json_object_set_new(ctr, "ports", out);
        if (!l || ynode_is_null(l))
                return 0;
        if ((r = y_seq(l, errp)) < 0)
                return r;
        for (size_t i = 0; i < l->n_kids; i++) {
                const struct ynode *it = l->kids[i], *f;
                _cleanup_free_ char *msg = NULL, *proto = NULL;
                const char *name = NULL, *hip = "", *s;
                int target, host = 0;
                if ((r = check(k, it, port_keys, errp)) < 0)
                        return r;
                if ((r = str_at(it, "containerPort", true, &s, errp)) < 0)
                        return r;
                if (parse_port_number(s, false, &target, &msg) < 0)
                        return ynode_err(errp, ynode_map_get(it, "containerPort"), "%s", msg);
                if ((f = ynode_map_get(it, "hostPort"))) {
                        if ((r = y_str(f, &s, errp)) < 0)
                                return r;
                        if (parse_port_number(s, false, &host, &msg) < 0)
                                return ynode_err(errp, f, "%s", msg);
                }
                proto = xstrdup("tcp");
                if ((f = ynode_map_get(it, "protocol"))) {
                        if ((r = y_str(f, &s, errp)) < 0)
                                return r;
                        if (!streq(s, "TCP") && !streq(s, "UDP") && !streq(s, "SCTP"))
                                return ynode_err(errp, f, "expected TCP, UDP or SCTP, got \"%s\"",
                                                 s);
                        free(proto);
                        proto = xstrdup(s);
                        for (char *p = proto; *p; p++)
                                *p = (char)(*p - 'A' + 'a');
                }
                if ((r = str_at(it, "name", false, &name, errp)) < 0 ||
                    (r = str_at(it, "hostIP", false, &hip, errp)) < 0)
                        return r;
                _cleanup_free_ char *pub = host ? xasprintf("%d", host) : xstrdup("");
                json_array_append_new(out,
                                      json_pack("{s:i,s:s,s:s,s:s,s:s,s:s?}", "target", target,
                                                "published", pub, "host_ip", hip ? hip : "",
                                                "protocol", proto, "mode", "host", "name", name));
        }
        return 0;
}

static int quantity(const struct ynode *n, bool cpu, double *ret, struct err **errp) {
        _cleanup_free_ char *msg = NULL;
        const char *s;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        if (parse_quantity(s, ret, &msg) < 0)
                return ynode_err(errp, n, "%s", msg);
        if (!cpu)
                *ret = (double)(int64_t)(*ret + 0.999);
        return 0;
}

/* requests -> reservations, limits -> limits; cpu in cores, memory in bytes. */
static int resources(struct kube_ctx *k, const struct ynode *c, json_t *ctr, struct err **errp) {
        const struct ynode *res = ynode_map_get(c, "resources"), *lim, *req, *f;
        double cpu = 0, mem = 0, rcpu = 0, rmem = 0;
        int r;

        if (res && !ynode_is_null(res)) {
                if ((r = check(k, res, resources_keys, errp)) < 0)
                        return r;
                lim = ynode_map_get(res, "limits");
                req = ynode_map_get(res, "requests");
                if (lim && (r = check(k, lim, quantity_keys, errp)) < 0)
                        return r;
                if (req && (r = check(k, req, quantity_keys, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(lim, "cpu")) && (r = quantity(f, true, &cpu, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(lim, "memory")) && (r = quantity(f, false, &mem, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(req, "cpu")) && (r = quantity(f, true, &rcpu, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(req, "memory")) && (r = quantity(f, false, &rmem, errp)) < 0)
                        return r;
                if (cpu > 0 && rcpu > cpu)
                        return ynode_err(errp, ynode_map_get(req, "cpu"),
                                         "cpu request is above the cpu limit");
                if (mem > 0 && rmem > mem)
                        return ynode_err(errp, ynode_map_get(req, "memory"),
                                         "memory request is above the memory limit");
        }
        json_object_set_new(ctr, "resources",
                            json_pack("{s:{s:f,s:I,s:i},s:{s:f,s:I}}", "limits", "cpus", cpu,
                                      "memory", (json_int_t)mem, "pids", 0, "reservations", "cpus",
                                      rcpu, "memory", (json_int_t)rmem));
        return 0;
}

/* Container securityContext over the pod-level defaults (user and group). */
static int security(struct kube_ctx *k, const struct ynode *c, const struct ynode *pod_sc,
                    json_t *ctr, struct err **errp) {
        const struct ynode *sc = ynode_map_get(c, "securityContext"), *f, *caps;
        json_t *o =
                json_pack("{s:b,s:b,s:[],s:[],s:b,s:[],s:n}", "privileged", 0, "read_only", 0,
                          "cap_add", "cap_drop", "no_new_privileges", 0, "security_opt", "user_ns");
        int64_t uid = -1, gid = -1;
        bool b, nonroot = false;
        int r;

        json_object_set_new(ctr, "security", o);
        /* Pod-level user/group are defaults for every container. */
        if (pod_sc && !ynode_is_null(pod_sc)) {
                if ((f = ynode_map_get(pod_sc, "runAsUser")) &&
                    (r = y_int(f, 0, UINT32_MAX - 1, &uid, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(pod_sc, "runAsGroup")) &&
                    (r = y_int(f, 0, UINT32_MAX - 1, &gid, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(pod_sc, "runAsNonRoot")) &&
                    (r = y_bool(f, &nonroot, errp)) < 0)
                        return r;
        }
        if (sc && !ynode_is_null(sc)) {
                if ((r = check(k, sc, sc_keys, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(sc, "runAsUser")) &&
                    (r = y_int(f, 0, UINT32_MAX - 1, &uid, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(sc, "runAsGroup")) &&
                    (r = y_int(f, 0, UINT32_MAX - 1, &gid, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(sc, "runAsNonRoot")) && (r = y_bool(f, &nonroot, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(sc, "readOnlyRootFilesystem"))) {
                        if ((r = y_bool(f, &b, errp)) < 0)
                                return r;
                        json_object_set_new(o, "read_only", json_boolean(b));
                }
                if ((f = ynode_map_get(sc, "privileged"))) {
                        if ((r = y_bool(f, &b, errp)) < 0)
                                return r;
                        json_object_set_new(o, "privileged", json_boolean(b));
                }
                if ((f = ynode_map_get(sc, "allowPrivilegeEscalation"))) {
                        if ((r = y_bool(f, &b, errp)) < 0)
                                return r;
                        json_object_set_new(o, "no_new_privileges", json_boolean(!b));
                }
                if ((caps = ynode_map_get(sc, "capabilities"))) {
                        json_t *l;
                        if ((r = check(k, caps, caps_keys, errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(caps, "add"))) {
                                if ((r = y_strv(f, &l, errp)) < 0)
                                        return r;
                                json_object_set_new(o, "cap_add", l);
                        }
                        if ((f = ynode_map_get(caps, "drop"))) {
                                if ((r = y_strv(f, &l, errp)) < 0)
                                        return r;
                                json_object_set_new(o, "cap_drop", l);
                        }
                }
        }
        if (nonroot && uid == 0)
                return ynode_err(errp, sc ? sc : pod_sc, "runAsNonRoot is set but runAsUser is 0");
        json_object_set_new(o, "run_as_non_root", json_boolean(nonroot));
        if (uid >= 0 && gid >= 0)
                json_object_set_new(ctr, "user",
                                    json_sprintf("%lld:%lld", (long long)uid, (long long)gid));
        else if (uid >= 0)
                json_object_set_new(ctr, "user", json_sprintf("%lld", (long long)uid));
        else if (gid >= 0)
                return ynode_err(errp, sc ? sc : pod_sc, "runAsGroup needs runAsUser");
        else
                json_object_set_new(ctr, "user", json_null());
        return 0;
}

/* File modes: decimal as in JSON manifests (420), or octal with a leading 0 (0644) as YAML 1.1
 * and kubectl read them. */
static int mode_value(const struct ynode *n, int64_t *ret, struct err **errp) {
        const char *s;
        char *end;
        long v;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        errno = 0;
        v = strtol(s, &end, s[0] == '0' && s[1] ? 8 : 10);
        if (errno || *end || end == s || v < 0 || v > 0777)
                return ynode_err(errp, n, "expected a file mode (0-0777), got \"%s\"", s);
        *ret = v;
        return 0;
}

/* Pod volumes by name -> a mount template (target filled in per volumeMount). */
static int pod_volumes(struct kube_ctx *k, const char *svc, const struct ynode *spec, json_t *vols,
                       struct err **errp) {
        const struct ynode *l = ynode_map_get(spec, "volumes");
        int r;

        if (!l || ynode_is_null(l))
                return 0;
        if ((r = y_seq(l, errp)) < 0)
                return r;
        for (size_t i = 0; i < l->n_kids; i++) {
                const struct ynode *it = l->kids[i], *f;
                _cleanup_json_ json_t *m = NULL;
                const char *name, *s;
                int kinds = 0;

                if ((r = check(k, it, volume_keys, errp)) < 0 ||
                    (r = str_at(it, "name", true, &name, errp)) < 0)
                        return r;
                if (json_object_get(vols, name))
                        return ynode_err(errp, ynode_map_get(it, "name"), "duplicate volume '%s'",
                                         name);
                /* Exactly one source, checked before anything is built. */
                static const char *const sources[] = {"emptyDir", "hostPath", "configMap", "secret",
                                                      "persistentVolumeClaim"};
                for (size_t j = 0; j < ELEMENTSOF(sources); j++)
                        if (ynode_map_get(it, sources[j]))
                                kinds++;
                if (kinds != 1)
                        return ynode_err(errp, it,
                                         "volume '%s' needs exactly one of emptyDir, hostPath, "
                                         "configMap, secret, persistentVolumeClaim",
                                         name);
                if ((f = ynode_map_get(it, "emptyDir"))) {
                        const char *medium = NULL;
                        if (!ynode_is_null(f)) {
                                if ((r = check(k, f, emptydir_keys, errp)) < 0 ||
                                    (r = str_at(f, "medium", false, &medium, errp)) < 0)
                                        return r;
                        }
                        if (medium && streq(medium, "Memory")) {
                                double size = 0;
                                if (ynode_map_get(f, "sizeLimit") &&
                                    (r = quantity(ynode_map_get(f, "sizeLimit"), false, &size,
                                                  errp)) < 0)
                                        return r;
                                m = json_pack("{s:s,s:n,s:{s:I,s:i}}", "type", "tmpfs", "source",
                                              "tmpfs", "size", (json_int_t)size, "mode", 0);
                        } else if (medium && *medium)
                                return ynode_err(
                                        errp, ynode_map_get(f, "medium"),
                                        "expected emptyDir medium \"\" or \"Memory\", got \"%s\"",
                                        medium);
                        else {
                                /* A pod-private volume shared by the pod's containers. */
                                _cleanup_free_ char *vn = xasprintf("%s-%s", svc, name);
                                _cleanup_free_ char *full = xasprintf("%s_%s", k->project, vn);
                                json_object_set_new(json_object_get(k->model, "volumes"), vn,
                                                    json_pack("{s:s,s:s,s:b,s:{},s:{s:s}}", "name",
                                                              full, "driver", "local", "external",
                                                              0, "driver_opts", "labels",
                                                              "berth.kube.emptydir", "true"));
                                m = json_pack("{s:s,s:s,s:{s:b,s:n}}", "type", "volume", "source",
                                              vn, "volume", "nocopy", 0, "subpath");
                        }
                }
                if ((f = ynode_map_get(it, "hostPath"))) {
                        const char *type = "";
                        if ((r = check(k, f, hostpath_keys, errp)) < 0 ||
                            (r = str_at(f, "path", true, &s, errp)) < 0 ||
                            (r = str_at(f, "type", false, &type, errp)) < 0)
                                return r;
                        if (s[0] != '/')
                                return ynode_err(errp, ynode_map_get(f, "path"),
                                                 "hostPath \"%s\" must be absolute", s);
                        if (!type)
                                type = "";
                        if (!strv_contains((char *[]){"", "DirectoryOrCreate", "Directory",
                                                      "FileOrCreate", "File", "Socket",
                                                      "CharDevice", "BlockDevice", NULL},
                                           type))
                                return ynode_err(errp, ynode_map_get(f, "type"),
                                                 "unknown hostPath type \"%s\"", type);
                        m = json_pack("{s:s,s:s,s:{s:b,s:n,s:n}}", "type", "bind", "source", s,
                                      "bind", "create_host_path",
                                      streq(type, "") || streq(type, "DirectoryOrCreate"),
                                      "propagation", "selinux");
                }
                bool is_cm = (f = ynode_map_get(it, "configMap")) != NULL;
                if (is_cm || (f = ynode_map_get(it, "secret"))) {
                        bool optional = false;
                        const struct ynode *items, *o;
                        int64_t mode = 0644;
                        if ((r = check(k, f, is_cm ? cmvol_keys : secvol_keys, errp)) < 0 ||
                            (r = str_at(f, is_cm ? "name" : "secretName", true, &s, errp)) < 0)
                                return r;
                        if ((o = ynode_map_get(f, "optional")) &&
                            (r = y_bool(o, &optional, errp)) < 0)
                                return r;
                        if ((o = ynode_map_get(f, "defaultMode")) &&
                            (r = mode_value(o, &mode, errp)) < 0)
                                return r;
                        const json_t *obj = json_object_get(is_cm ? k->configmaps : k->secrets, s);
                        if (!obj && !optional)
                                return ynode_err(errp,
                                                 ynode_map_get(f, is_cm ? "name" : "secretName"),
                                                 "%s '%s' is not defined",
                                                 is_cm ? "ConfigMap" : "Secret", s);
                        json_t *its = json_array();
                        if ((items = ynode_map_get(f, "items"))) {
                                if ((r = y_seq(items, errp)) < 0) {
                                        json_decref(its);
                                        return r;
                                }
                                for (size_t j = 0; j < items->n_kids; j++) {
                                        const char *key, *path;
                                        if ((r = check(k, items->kids[j], items_keys, errp)) < 0 ||
                                            (r = str_at(items->kids[j], "key", true, &key, errp)) <
                                                    0 ||
                                            (r = str_at(items->kids[j], "path", true, &path,
                                                        errp)) < 0) {
                                                json_decref(its);
                                                return r;
                                        }
                                        if (obj && !json_object_get(obj, key)) {
                                                json_decref(its);
                                                return ynode_err(
                                                        errp, ynode_map_get(items->kids[j], "key"),
                                                        "%s '%s' has no key '%s'",
                                                        is_cm ? "ConfigMap" : "Secret", s, key);
                                        }
                                        json_array_append_new(its, json_pack("{s:s,s:s}", "key",
                                                                             key, "path", path));
                                }
                        }
                        m = json_pack("{s:s,s:s,s:o,s:I,s:b}", "type", is_cm ? "config" : "secret",
                                      "source", s, "items", its, "mode", (json_int_t)mode,
                                      "optional", optional);
                }
                if ((f = ynode_map_get(it, "persistentVolumeClaim"))) {
                        bool ro = false;
                        if ((r = check(k, f, pvc_keys, errp)) < 0 ||
                            (r = str_at(f, "claimName", true, &s, errp)) < 0)
                                return r;
                        if (ynode_map_get(f, "readOnly") &&
                            (r = y_bool(ynode_map_get(f, "readOnly"), &ro, errp)) < 0)
                                return r;
                        if (!json_object_get(k->pvcs, s))
                                return ynode_err(errp, ynode_map_get(f, "claimName"),
                                                 "PersistentVolumeClaim '%s' is not defined", s);
                        m = json_pack("{s:s,s:s,s:b,s:{s:b,s:n}}", "type", "volume", "source", s,
                                      "pvc_read_only", ro, "volume", "nocopy", 0, "subpath");
                }
                json_object_set_new(vols, name, TAKE_PTR(m));
        }
        return 0;
}

/* volumeMounts: each names a pod volume; subPath is not supported. */
static int mounts(struct kube_ctx *k, const struct ynode *c, const json_t *vols, json_t *ctr,
                  struct err **errp) {
        const struct ynode *l = ynode_map_get(c, "volumeMounts");
        json_t *out = json_array();
        int r;

        json_object_set_new(ctr, "mounts", out);
        json_object_set_new(ctr, "tmpfs", json_array());
        if (!l || ynode_is_null(l))
                return 0;
        if ((r = y_seq(l, errp)) < 0)
                return r;
        for (size_t i = 0; i < l->n_kids; i++) {
                const struct ynode *it = l->kids[i], *f;
                const char *name, *path;
                const json_t *tmpl;
                bool ro = false;
                json_t *m;

                if ((r = check(k, it, mount_keys, errp)) < 0 ||
                    (r = str_at(it, "name", true, &name, errp)) < 0 ||
                    (r = str_at(it, "mountPath", true, &path, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(it, "subPath")))
                        return ynode_err(errp, f, "subPath is not supported by berth");
                if ((f = ynode_map_get(it, "readOnly")) && (r = y_bool(f, &ro, errp)) < 0)
                        return r;
                if (path[0] != '/')
                        return ynode_err(errp, ynode_map_get(it, "mountPath"),
                                         "mountPath \"%s\" must be absolute", path);
                tmpl = json_object_get(vols, name);
                if (!tmpl)
                        return ynode_err(errp, ynode_map_get(it, "name"),
                                         "volume '%s' is not defined in the pod's volumes", name);
                m = json_deep_copy(tmpl);
                if (json_is_true(json_object_get(m, "pvc_read_only")))
                        ro = true;
                json_object_del(m, "pvc_read_only");
                json_object_set_new(m, "target", json_string(path));
                json_object_set_new(
                        m, "read_only",
                        json_boolean(
                                ro ||
                                streq(json_string_value(json_object_get(m, "type")), "secret") ||
                                streq(json_string_value(json_object_get(m, "type")), "config")));
                json_array_append_new(out, m);
        }
        return 0;
}

/* One container (or init container) into the model. */
static int container(struct kube_ctx *k, const struct ynode *c, const json_t *vols,
                     const struct ynode *pod_sc, bool init, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *ctr = json_object(), *p = NULL;
        _cleanup_free_ char *img = NULL, *msg = NULL;
        const char *name, *image, *pp = "missing", *wd = NULL;
        const struct ynode *f;
        bool tty = false, stdin_open = false;
        json_t *l;
        int r;

        if ((r = check(k, c, container_keys, errp)) < 0 ||
            (r = str_at(c, "name", true, &name, errp)) < 0 ||
            (r = str_at(c, "image", true, &image, errp)) < 0)
                return r;
        if (image_ref_normalize(image, &img, &msg) < 0)
                return ynode_err(errp, ynode_map_get(c, "image"), "%s", msg);
        if ((f = ynode_map_get(c, "imagePullPolicy"))) {
                const char *s;
                if ((r = y_str(f, &s, errp)) < 0)
                        return r;
                if (streq(s, "Always"))
                        pp = "always";
                else if (streq(s, "Never"))
                        pp = "never";
                else if (streq(s, "IfNotPresent"))
                        pp = "missing";
                else
                        return ynode_err(errp, f,
                                         "expected Always, Never or IfNotPresent, got \"%s\"", s);
        }
        json_object_set_new(ctr, "name", json_string(name));
        json_object_set_new(ctr, "image", json_string(img));
        json_object_set_new(ctr, "pull_policy", json_string(pp));
        json_object_set_new(ctr, "build", json_null());
        /* Kubernetes command replaces the entrypoint, args the command. */
        json_object_set_new(ctr, "entrypoint", json_null());
        json_object_set_new(ctr, "command", json_null());
        if ((f = ynode_map_get(c, "command"))) {
                if ((r = y_strv(f, &l, errp)) < 0)
                        return r;
                json_object_set_new(ctr, "entrypoint", l);
        }
        if ((f = ynode_map_get(c, "args"))) {
                if ((r = y_strv(f, &l, errp)) < 0)
                        return r;
                json_object_set_new(ctr, "command", l);
        }
        if ((r = env(k, c, ctr, errp)) < 0 || (r = str_at(c, "workingDir", false, &wd, errp)) < 0)
                return r;
        json_set_str(ctr, "working_dir", wd);
        if ((r = ports(k, c, ctr, errp)) < 0)
                return r;
        json_object_set_new(ctr, "expose", json_array());
        if ((r = mounts(k, c, vols, ctr, errp)) < 0 || (r = resources(k, c, ctr, errp)) < 0 ||
            (r = security(k, c, pod_sc, ctr, errp)) < 0)
                return r;
        json_object_set_new(ctr, "healthcheck", json_null());
        p = json_object();
        static const char *const probes[][2] = {{"livenessProbe", "liveness"},
                                                {"readinessProbe", "readiness"},
                                                {"startupProbe", "startup"}};
        for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
                json_t *pr = NULL;
                f = ynode_map_get(c, probes[i][0]);
                if (f && init)
                        return ynode_err(errp, f, "init containers cannot have probes");
                if ((r = probe(k, f, ctr, &pr, errp)) < 0)
                        return r;
                json_object_set_new(p, probes[i][1], pr);
        }
        json_object_set_new(ctr, "probes", TAKE_PTR(p));
        if ((f = ynode_map_get(c, "tty")) && (r = y_bool(f, &tty, errp)) < 0)
                return r;
        if ((f = ynode_map_get(c, "stdin")) && (r = y_bool(f, &stdin_open, errp)) < 0)
                return r;
        json_object_set_new(ctr, "init", json_false());
        json_object_set_new(ctr, "tty", json_boolean(tty));
        json_object_set_new(ctr, "stdin_open", json_boolean(stdin_open));
        json_object_set_new(ctr, "labels", json_object());
        json_object_set_new(ctr, "logging",
                            json_pack("{s:s,s:{}}", "driver", "json-file", "options"));
        json_object_set_new(ctr, "ulimits", json_object());
        json_object_set_new(ctr, "sysctls", json_object());
        json_object_set_new(ctr, "shm_size", json_integer(0));
        json_object_set_new(ctr, "devices", json_array());
        json_object_set_new(ctr, "stop_signal", json_null());
        *ret = TAKE_PTR(ctr);
        return 0;
}

/* containers or initContainers of a PodSpec into pod[as]; names must be unique in the pod. */
static int containers(struct kube_ctx *k, const struct ynode *spec, const char *key,
                      const json_t *vols, json_t *pod, const char *as, json_t *names,
                      struct err **errp) {
        const struct ynode *l = ynode_map_get(spec, key),
                           *psc = ynode_map_get(spec, "securityContext");
        json_t *out = json_array();
        int r;

        json_object_set_new(pod, as, out);
        if (!l || ynode_is_null(l)) {
                if (streq(key, "containers"))
                        return ynode_err(errp, spec, "missing required field 'containers'");
                return 0;
        }
        if ((r = y_seq(l, errp)) < 0)
                return r;
        if (l->n_kids == 0 && streq(key, "containers"))
                return ynode_err(errp, l, "a pod needs at least one container");
        for (size_t i = 0; i < l->n_kids; i++) {
                json_t *c = NULL;
                const char *n;
                if ((r = container(k, l->kids[i], vols, psc, streq(key, "initContainers"), &c,
                                   errp)) < 0)
                        return r;
                n = json_string_value(json_object_get(c, "name"));
                if (json_object_get(names, n)) {
                        r = ynode_err(errp, ynode_map_get(l->kids[i], "name"),
                                      "duplicate container name '%s'", n);
                        json_decref(c);
                        return r;
                }
                json_object_set_new(names, n, json_true());
                json_array_append_new(out, c);
        }
        return 0;
}

int kube_pod(struct kube_ctx *k, const char *svc_name, const struct ynode *meta,
             const struct ynode *spec, json_t *svc, struct err **errp) {
        _cleanup_json_ json_t *pod = json_object(), *vols = json_object(), *names = json_object();
        const struct ynode *f;
        const char *s = NULL;
        int64_t grace = 30;
        bool host_net = false;
        int r;

        if ((r = y_map(spec, errp)) < 0 || (r = check(k, spec, podspec_keys, errp)) < 0)
                return r;
        if ((f = ynode_map_get(spec, "securityContext")) && !ynode_is_null(f) &&
            (r = check(k, f, pod_sc_keys, errp)) < 0)
                return r;
        if (f && ynode_map_get(f, "fsGroup") &&
            (r = kube_unsupported(k, ynode_map_get(f, "fsGroup"), "fsGroup", errp)) < 0)
                return r;
        if ((r = str_at(spec, "hostname", false, &s, errp)) < 0)
                return r;
        json_set_str(pod, "hostname", s);
        if ((r = str_at(spec, "subdomain", false, &s, errp)) < 0)
                return r;
        json_set_str(pod, "domainname", s);
        /* Labels and annotations are strings (selectors compare them as such). */
        static const char *const meta_maps[] = {"labels", "annotations"};
        for (size_t i = 0; i < ELEMENTSOF(meta_maps); i++) {
                const struct ynode *m = meta ? ynode_map_get(meta, meta_maps[i]) : NULL;
                json_t *o = NULL;
                if (m && !ynode_is_null(m)) {
                        if ((r = y_str_map(m, &o, errp)) < 0)
                                return r;
                } else
                        o = json_object();
                json_object_set_new(pod, meta_maps[i], o);
        }
        /* DNS */
        json_t *dns = json_array(), *search = json_array(), *dopts = json_array();
        json_object_set_new(pod, "dns", dns);
        json_object_set_new(pod, "dns_search", search);
        json_object_set_new(pod, "dns_options", dopts);
        if ((f = ynode_map_get(spec, "dnsPolicy"))) {
                if ((r = y_str(f, &s, errp)) < 0)
                        return r;
                if (!strv_contains((char *[]){"ClusterFirst", "ClusterFirstWithHostNet", "Default",
                                              "None", NULL},
                                   s))
                        return ynode_err(
                                errp, f,
                                "expected ClusterFirst, ClusterFirstWithHostNet, Default or "
                                "None, got \"%s\"",
                                s);
                json_object_set_new(pod, "dns_policy", json_string(s));
        }
        if ((f = ynode_map_get(spec, "dnsConfig")) && !ynode_is_null(f)) {
                const struct ynode *o;
                json_t *l;
                if ((r = check(k, f, dnsconfig_keys, errp)) < 0)
                        return r;
                if ((o = ynode_map_get(f, "nameservers"))) {
                        if ((r = y_strv(o, &l, errp)) < 0)
                                return r;
                        json_array_extend(dns, l);
                        json_decref(l);
                }
                if ((o = ynode_map_get(f, "searches"))) {
                        if ((r = y_strv(o, &l, errp)) < 0)
                                return r;
                        json_array_extend(search, l);
                        json_decref(l);
                }
                if ((o = ynode_map_get(f, "options"))) {
                        if ((r = y_seq(o, errp)) < 0)
                                return r;
                        for (size_t i = 0; i < o->n_kids; i++) {
                                const char *n, *v = NULL;
                                if ((r = check(k, o->kids[i],
                                               (const char *const[]){"name", "value", NULL},
                                               errp)) < 0 ||
                                    (r = str_at(o->kids[i], "name", true, &n, errp)) < 0 ||
                                    (r = str_at(o->kids[i], "value", false, &v, errp)) < 0)
                                        return r;
                                json_array_append_new(dopts, v ? json_sprintf("%s:%s", n, v)
                                                               : json_string(n));
                        }
                }
        }
        json_t *hosts = json_array();
        json_object_set_new(pod, "extra_hosts", hosts);
        if ((f = ynode_map_get(spec, "hostAliases")) && !ynode_is_null(f)) {
                if ((r = y_seq(f, errp)) < 0)
                        return r;
                for (size_t i = 0; i < f->n_kids; i++) {
                        const struct ynode *it = f->kids[i];
                        const char *ip;
                        json_t *hn = NULL, *h;
                        size_t j;
                        if ((r = check(k, it, alias_keys, errp)) < 0 ||
                            (r = str_at(it, "ip", true, &ip, errp)) < 0)
                                return r;
                        if (!ynode_map_get(it, "hostnames"))
                                return ynode_err(errp, it, "missing required field 'hostnames'");
                        if ((r = y_strv(ynode_map_get(it, "hostnames"), &hn, errp)) < 0)
                                return r;
                        json_array_foreach (hn, j, h)
                                json_array_append_new(hosts,
                                                      json_pack("{s:O,s:s}", "host", h, "ip", ip));
                        json_decref(hn);
                }
        }
        if ((f = ynode_map_get(spec, "hostNetwork")) && (r = y_bool(f, &host_net, errp)) < 0)
                return r;
        json_object_set_new(pod, "network_mode", host_net ? json_string("host") : json_null());
        json_object_set_new(pod, "networks",
                            host_net ? json_object()
                                     : json_pack("{s:{s:[],s:n,s:n}}", "default", "aliases",
                                                 "ipv4_address", "ipv6_address"));
        /* Restart policy; Deployments insist on Always (checked by the caller). */
        const char *policy = "always";
        if ((f = ynode_map_get(spec, "restartPolicy"))) {
                if ((r = y_str(f, &s, errp)) < 0)
                        return r;
                if (streq(s, "Always"))
                        policy = "always";
                else if (streq(s, "OnFailure"))
                        policy = "on-failure";
                else if (streq(s, "Never"))
                        policy = "no";
                else
                        return ynode_err(errp, f, "expected Always, OnFailure or Never, got \"%s\"",
                                         s);
        }
        json_object_set_new(pod, "restart",
                            json_pack("{s:s,s:i,s:i,s:i}", "policy", policy, "max_retries", 0,
                                      "delay_ms", 0, "window_ms", 0));
        json_object_set_new(pod, "stop_signal", json_string("SIGTERM"));
        if ((f = ynode_map_get(spec, "terminationGracePeriodSeconds")) &&
            (r = y_int(f, 0, 86400 * 365, &grace, errp)) < 0)
                return r;
        json_object_set_new(pod, "stop_grace_period_ms", json_integer(grace * 1000));
        if ((r = pod_volumes(k, svc_name, spec, vols, errp)) < 0 ||
            (r = containers(k, spec, "initContainers", vols, pod, "init_containers", names, errp)) <
                    0 ||
            (r = containers(k, spec, "containers", vols, pod, "containers", names, errp)) < 0)
                return r;
        if ((f = ynode_map_get(spec, "nodeSelector")) && !ynode_is_null(f)) {
                const struct ynode *kk, *vv;
                json_t *cons = json_object_get(json_object_get(svc, "placement"), "constraints");
                if ((r = y_map(f, errp)) < 0)
                        return r;
                YMAP_FOREACH(kk, vv, f) {
                        const char *v;
                        if ((r = y_str(vv, &v, errp)) < 0)
                                return r;
                        json_array_append_new(cons, json_sprintf("node.labels.%s==%s", kk->str, v));
                }
        }
        json_object_set(svc, "pod", pod);
        return 0;
}
