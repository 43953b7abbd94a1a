/* SPDX-License-Identifier: Apache-2.0 */
/* The Engine-API create body of a pod container (pod_body.h): the same body `berth run` builds
 * from its flags (cli/run_opts.c), here from the canonical model. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "macro.h"
#include "pod_body.h"
#include "strv.h"
#include "xalloc.h"

#define STOP_GRACE_DEFAULT_MS 10000

char *pod_stack_name(const struct pod_spec *spec, const char *section, const char *key) {
        const json_t *def = json_object_get(json_object_get(spec->stack_model, section), key);
        const char *name = json_get_str(def, "name", NULL);

        return name && name[0] ? xstrdup(name) : xasprintf("%s_%s", spec->stack, key);
}

char **pod_network_keys(const struct pod_spec *spec) {
        const char *mode = json_get_str(spec->pod, "network_mode", NULL);
        const json_t *nets = json_object_get(spec->pod, "networks");
        char **keys = xnew0(char *, 1);
        const char *k;
        json_t *v;

        if (mode)
                return keys;
        json_object_foreach ((json_t *)nets, k, v)
                strv_push(&keys, k);
        if (!keys[0])
                strv_push(&keys, "default");
        qsort_safe(keys, strv_length(keys), sizeof(char *), strv_cmp);
        return keys;
}

char *pod_secret_path(const char *dir, size_t ci, size_t mi) {
        return xasprintf("%s/c%zu-m%zu", dir, ci, mi);
}

static void set_label_num(json_t *labels, const char *key, uint64_t v) {
        json_object_set_new(labels, key, json_sprintf("%" PRIu64, v));
}

static json_t *pod_labels(const struct pod_spec *spec, const json_t *ct, size_t i, size_t n) {
        const json_t *hc = json_object_get(ct, "healthcheck");
        json_t *labels;
        const char *k;
        json_t *v;

        labels = json_object();
        /* The model's labels first: berth's own cannot be overridden. */
        json_object_foreach (json_object_get(ct, "labels"), k, v)
                if (json_is_string(v) && !str_startswith(k, "berth."))
                        json_object_set(labels, k, v);
        json_object_set_new(labels, "berth.stack", json_string(spec->stack));
        json_object_set_new(labels, "berth.service", json_string(spec->service));
        json_object_set_new(labels, "berth.pod", json_string(spec->name));
        json_object_set_new(labels, "berth.hash", json_string(spec->hash));
        json_object_set_new(labels, "com.docker.compose.project", json_string(spec->stack));
        json_object_set_new(labels, "com.docker.compose.service", json_string(spec->service));
        set_label_num(labels, "berth.slot", spec->slot);
        set_label_num(labels, "berth.order", spec->order);
        set_label_num(labels, "berth.recreate", spec->recreate);
        set_label_num(labels, "berth.generation", spec->generation);
        set_label_num(labels, "berth.index", i);
        set_label_num(labels, "berth.containers", n);
        json_object_set_new(labels, "berth.stop_grace_ms",
                            json_sprintf("%" PRId64, json_get_int(spec->pod, "stop_grace_period_ms",
                                                                  STOP_GRACE_DEFAULT_MS)));
        if (json_is_object(hc)) {
                _cleanup_free_ char *text = json_dump_str(hc, false);
                json_object_set_new(labels, "berth.healthcheck", json_string(text));
        }
        return labels;
}

static json_t *str_list(const json_t *a) {
        json_t *l = json_array();
        size_t i;
        json_t *v;

        json_array_foreach (a, i, v)
                if (json_is_string(v))
                        json_array_append(l, v);
        return l;
}

static json_t *env_list(const json_t *env) {
        json_t *l = json_array();
        const char *k;
        json_t *v;

        json_object_foreach ((json_t *)env, k, v) {
                if (json_is_string(v))
                        json_array_append_new(l, json_sprintf("%s=%s", k, json_string_value(v)));
                else if (json_is_null(v))
                        json_array_append_new(l, json_string(k));
        }
        return l;
}

static void alias_add(json_t *aliases, const char *a) {
        size_t i;
        json_t *v;

        if (!a || !a[0])
                return;
        json_array_foreach (aliases, i, v)
                if (streq(json_string_value(v), a))
                        return;
        json_array_append_new(aliases, json_string(a));
}

/* At most this many ports of one `expose` range go on a VIP. */
#define EXPOSE_RANGE_MAX 64

static void endpoint_port_add(json_t *ports, int64_t port, int64_t target, const char *proto) {
        size_t i;
        json_t *p;

        json_array_foreach (ports, i, p)
                if (json_get_int(p, "port", 0) == port &&
                    streq(json_get_str(p, "protocol", ""), proto))
                        return;
        json_array_append_new(ports, json_pack("{s:I, s:I, s:s}", "port", (json_int_t)port,
                                               "target", (json_int_t)target, "protocol", proto));
}

/* compose `expose` ports ("8080/tcp", "9000-9010/udp") are reached on the VIP too. */
static void expose_ports(const struct pod_spec *spec, json_t *ports) {
        const json_t *ct, *x;
        size_t i, k;

        json_array_foreach (json_object_get(spec->pod, "containers"), i, ct)
                json_array_foreach (json_object_get(ct, "expose"), k, x) {
                        const char *s = json_string_value(x) ? json_string_value(x) : "";
                        char proto[8] = "tcp";
                        unsigned lo = 0, hi = 0;

                        if (sscanf(s, "%u-%u/%7s", &lo, &hi, proto) < 2) {
                                if (sscanf(s, "%u/%7s", &lo, proto) < 1)
                                        continue;
                                hi = lo;
                        }
                        if (lo < 1 || hi > 65535 || hi < lo || hi - lo >= EXPOSE_RANGE_MAX)
                                continue;
                        for (unsigned port = lo; port <= hi; port++)
                                endpoint_port_add(ports, port, port, proto);
                }
}

/* The berth.endpoint label of the owner (agent/pod_vip.h): the service's DNS names, endpoint
 * mode and ports (the endpoint's and the containers' `expose`), and its VIPs by network
 * name. */
static json_t *endpoint_label(const struct pod_spec *spec, const json_t *svc, const json_t *vips) {
        const json_t *ep = json_object_get(svc, "endpoint"), *p;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *text = NULL;
        json_t *names = json_array(), *ports = json_array();
        size_t i;

        alias_add(names, spec->service);
        alias_add(names, json_get_str(ep, "service", NULL));
        json_array_foreach (json_object_get(ep, "ports"), i, p)
                endpoint_port_add(ports, json_get_int(p, "port", 0), json_get_int(p, "target", 0),
                                  json_get_str(p, "protocol", "tcp"));
        expose_ports(spec, ports);
        j = json_pack("{s:s, s:s, s:o, s:s, s:o, s:O}", "stack", spec->stack, "service",
                      spec->service, "names", names, "mode", json_get_str(ep, "mode", "vip"),
                      "ports", ports, "vips", vips);
        text = json_dump_str(j, false);
        return json_string(text);
}

/* NetworkMode and NetworkingConfig of the owner: every network of the pod, with the
 * container_name, the pod name and the template's aliases as DNS names. */
static int owner_networks(const struct pod_spec *spec, json_t *body, json_t *hc,
                          struct err **errp) {
        const char *mode = json_get_str(spec->pod, "network_mode", NULL);
        const json_t *nets = json_object_get(spec->pod, "networks");
        const json_t *svc =
                json_object_get(json_object_get(spec->stack_model, "services"), spec->service);
        _cleanup_strv_ char **keys = NULL;
        _cleanup_json_ json_t *vips = json_object();
        json_t *eps;

        if (mode && (streq(mode, "host") || streq(mode, "none"))) {
                json_object_set_new(hc, "NetworkMode", json_string(mode));
                return 0;
        }
        if (mode)
                return err_setx(errp, EINVAL,
                                "services.%s.network_mode: '%s' is not supported for stack "
                                "services (only host, none or the stack's networks)",
                                spec->service, mode);
        keys = pod_network_keys(spec);
        eps = json_object();
        json_object_set_new(body, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
        STRV_FOREACH (k, keys) {
                const json_t *cfg = json_object_get(nets, *k);
                _cleanup_free_ char *name = pod_stack_name(spec, "networks", *k);
                json_t *aliases = json_array(), *ep, *v;
                const char *ip = json_get_str(cfg, "ipv4_address", NULL);
                const json_t *vip = json_object_get(json_object_get(svc, "vips"), *k);
                size_t i;

                /* The service names are not aliases: pod_vip.c keeps them (ready replicas or
                 * the VIP), from the berth.endpoint label below. */
                alias_add(aliases, json_get_str(svc, "container_name", NULL));
                alias_add(aliases, spec->name);
                /* An alias that is a service name (specs add the Kubernetes Service's) is
                 * managed with it. */
                json_array_foreach (json_object_get(cfg, "aliases"), i, v)
                        if (!streq_ptr(json_string_value(v), spec->service) &&
                            !streq_ptr(json_string_value(v),
                                       json_get_str(json_object_get(svc, "endpoint"), "service",
                                                    NULL)))
                                alias_add(aliases, json_string_value(v));
                ep = json_pack("{s:o}", "Aliases", aliases);
                if (ip && ip[0])
                        json_object_set_new(ep, "IPAMConfig",
                                            json_pack("{s:s}", "IPv4Address", ip));
                if (k == keys)
                        json_object_set_new(hc, "NetworkMode", json_string(name));
                json_object_set_new(eps, name, ep);
                if (vip)
                        json_object_set(vips, name, (json_t *)vip);
        }
        json_object_set_new(json_object_get(body, "Labels"), "berth.endpoint",
                            endpoint_label(spec, svc, vips));
        return 0;
}

/* PortBindings and ExposedPorts of every container of the pod (they share the owner's
 * network namespace, so the owner publishes them all). */
static int pod_ports(const struct pod_spec *spec, json_t *body, json_t *hc, struct err **errp) {
        const json_t *cts = json_object_get(spec->pod, "containers"), *ct;
        json_t *bindings = json_object(), *exposed = json_object();
        size_t i;

        json_object_set_new(hc, "PortBindings", bindings);
        json_object_set_new(body, "ExposedPorts", exposed);
        json_array_foreach (cts, i, ct) {
                const json_t *p;
                size_t k;

                json_array_foreach (json_object_get(ct, "ports"), k, p) {
                        int64_t target = json_get_int(p, "target", 0);
                        const char *proto = json_get_str(p, "protocol", "tcp");
                        const char *pub = json_get_str(p, "published", "");
                        _cleanup_free_ char *key = NULL;
                        json_t *list;

                        if (target < 1 || target > 65535 ||
                            (!streq(proto, "tcp") && !streq(proto, "udp")))
                                return err_setx(errp, EINVAL,
                                                "services.%s.containers[%zu].ports[%zu]: port "
                                                "%" PRId64 "/%s cannot be published (1-65535, "
                                                "tcp or udp)",
                                                spec->service, i, k, target, proto);
                        key = xasprintf("%" PRId64 "/%s", target, proto);
                        json_object_set_new(exposed, key, json_object());
                        if (!pub[0])
                                continue;
                        list = json_object_get(bindings, key);
                        if (!list) {
                                list = json_array();
                                json_object_set_new(bindings, key, list);
                        }
                        json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp",
                                                              json_get_str(p, "host_ip", ""),
                                                              "HostPort", pub));
                }
        }
        return 0;
}

static int container_mounts(const struct pod_body_opts *o, json_t *hc, char ***warnings,
                            struct err **errp) {
        const struct pod_spec *spec = o->spec;
        json_t *mounts = json_array();
        const json_t *m;
        size_t i;

        json_object_set_new(hc, "Mounts", mounts);
        json_array_foreach (json_object_get(o->ct, "mounts"), i, m) {
                const char *type = json_get_str(m, "type", ""),
                           *src = json_get_str(m, "source", NULL),
                           *dst = json_get_str(m, "target", NULL);
                bool ro = json_get_bool(m, "read_only", false);
                _cleanup_free_ char *field = xasprintf("services.%s.containers[%zu].mounts[%zu]",
                                                       spec->service, o->index, i);
                json_t *e;

                if (!dst || dst[0] != '/')
                        return err_setx(errp, EINVAL, "%s: target must be an absolute path", field);
                e = json_pack("{s:s,s:s,s:b}", "Type", type, "Target", dst, "ReadOnly", ro);
                json_array_append_new(mounts, e);
                if (streq(type, "volume")) {
                        const json_t *vo = json_object_get(m, "volume");

                        if (json_get_str(vo, "subpath", NULL))
                                return err_setx(errp, EINVAL,
                                                "%s: volume.subpath is not supported by the engine",
                                                field);
                        if (src && src[0]) {
                                _cleanup_free_ char *name = pod_stack_name(spec, "volumes", src);
                                json_set_str(e, "Source", name);
                        } else
                                json_set_str(e, "Source", "");
                        if (json_get_bool(vo, "nocopy", false))
                                json_object_set_new(e, "VolumeOptions",
                                                    json_pack("{s:b}", "NoCopy", true));
                } else if (streq(type, "bind")) {
                        const json_t *bo = json_object_get(m, "bind");
                        const char *prop = json_get_str(bo, "propagation", NULL);

                        if (!src || src[0] != '/')
                                return err_setx(errp, EINVAL,
                                                "%s: a bind mount needs an absolute source", field);
                        if (prop && !streq(prop, "rprivate") && !streq(prop, "private"))
                                return err_setx(errp, EINVAL,
                                                "%s: bind.propagation '%s' is not supported by "
                                                "the engine (rprivate only)",
                                                field, prop);
                        if (json_get_str(bo, "selinux", NULL))
                                strv_push_take(warnings,
                                               xasprintf("%s: bind.selinux ignored (no SELinux "
                                                         "labelling in the engine)",
                                                         field));
                        json_set_str(e, "Source", src);
                } else if (streq(type, "tmpfs")) {
                        const json_t *to = json_object_get(m, "tmpfs");
                        json_t *opts = json_object();

                        if (json_get_int(to, "size", 0) > 0)
                                json_object_set_new(opts, "SizeBytes",
                                                    json_integer(json_get_int(to, "size", 0)));
                        if (json_get_int(to, "mode", 0) > 0)
                                json_object_set_new(opts, "Mode",
                                                    json_integer(json_get_int(to, "mode", 0)));
                        json_object_set_new(e, "TmpfsOptions", opts);
                } else if (streq(type, "secret") || streq(type, "config")) {
                        _cleanup_free_ char *path = NULL;

                        if (!o->secrets_dir)
                                return err_setx(errp, EINVAL, "%s: no %s directory for the pod",
                                                field, type);
                        json_set_str(e, "Type", "bind");
                        path = pod_secret_path(o->secrets_dir, o->index, i);
                        json_set_str(e, "Source", path);
                        json_object_set_new(e, "ReadOnly", json_true());
                } else
                        return err_setx(errp, EINVAL, "%s: unknown mount type '%s'", field, type);
        }
        return 0;
}

static void set_list(json_t *hc, const char *key, const json_t *a) {
        if (json_array_size(a) > 0)
                json_object_set_new(hc, key, str_list(a));
}

/* Resources, security, ulimits, sysctls, tmpfs, init, logging. */
static int container_host(const struct pod_body_opts *o, json_t *hc, char ***warnings,
                          struct err **errp) {
        const struct pod_spec *spec = o->spec;
        const json_t *ct = o->ct, *res = json_object_get(ct, "resources"),
                     *lim = json_object_get(res, "limits"),
                     *rsv = json_object_get(res, "reservations"),
                     *sec = json_object_get(ct, "security"), *log = json_object_get(ct, "logging");
        _cleanup_free_ char *field =
                xasprintf("services.%s.containers[%zu]", spec->service, o->index);
        json_t *v, *secopt;
        const char *k;
        size_t i;

        if (json_is_number(json_object_get(lim, "cpus")) &&
            json_number_value(json_object_get(lim, "cpus")) > 0)
                json_object_set_new(
                        hc, "NanoCpus",
                        json_integer(
                                (json_int_t)(json_number_value(json_object_get(lim, "cpus")) * 1e9 +
                                             0.5)));
        if (json_get_int(lim, "memory", 0) > 0)
                json_object_set_new(hc, "Memory", json_integer(json_get_int(lim, "memory", 0)));
        if (json_get_int(lim, "pids", 0) != 0)
                json_object_set_new(hc, "PidsLimit", json_integer(json_get_int(lim, "pids", 0)));
        if (json_get_int(rsv, "memory", 0) > 0)
                json_object_set_new(hc, "MemoryReservation",
                                    json_integer(json_get_int(rsv, "memory", 0)));

        if (json_get_bool(sec, "privileged", false))
                json_object_set_new(hc, "Privileged", json_true());
        if (json_get_bool(sec, "read_only", false))
                json_object_set_new(hc, "ReadonlyRootfs", json_true());
        set_list(hc, "CapAdd", json_object_get(sec, "cap_add"));
        set_list(hc, "CapDrop", json_object_get(sec, "cap_drop"));
        secopt = str_list(json_object_get(sec, "security_opt"));
        if (json_get_bool(sec, "no_new_privileges", false)) {
                bool have = false;
                json_array_foreach (secopt, i, v)
                        have |= str_startswith(json_string_value(v), "no-new-privileges");
                if (!have)
                        json_array_append_new(secopt, json_string("no-new-privileges:true"));
        }
        if (json_array_size(secopt) > 0)
                json_object_set_new(hc, "SecurityOpt", secopt);
        else
                json_decref(secopt);
        if (!json_is_null(json_object_get(sec, "user_ns")) && json_object_get(sec, "user_ns"))
                return err_setx(errp, EINVAL,
                                "%s.security.user_ns: user namespaces are not supported for stack "
                                "services",
                                field);

        if (json_object_size(json_object_get(ct, "ulimits")) > 0) {
                json_t *ul = json_array();
                json_object_set_new(hc, "Ulimits", ul);
                json_object_foreach (json_object_get(ct, "ulimits"), k, v)
                        json_array_append_new(
                                ul, json_pack("{s:s,s:I,s:I}", "Name", k, "Soft",
                                              (json_int_t)json_get_int(v, "soft", 0), "Hard",
                                              (json_int_t)json_get_int(v, "hard", 0)));
        }
        if (json_object_size(json_object_get(ct, "sysctls")) > 0) {
                json_t *sc = json_object();
                json_object_set_new(hc, "Sysctls", sc);
                json_object_foreach (json_object_get(ct, "sysctls"), k, v) {
                        if (json_is_string(v))
                                json_object_set(sc, k, v);
                        else if (json_is_integer(v))
                                json_object_set_new(sc, k,
                                                    json_sprintf("%" JSON_INTEGER_FORMAT,
                                                                 json_integer_value(v)));
                        else
                                return err_setx(errp, EINVAL,
                                                "%s.sysctls.%s: must be a string or a number",
                                                field, k);
                }
        }
        if (json_array_size(json_object_get(ct, "tmpfs")) > 0) {
                json_t *tm = json_object();
                json_object_set_new(hc, "Tmpfs", tm);
                json_array_foreach (json_object_get(ct, "tmpfs"), i, v) {
                        const char *s = json_string_value(v), *colon;
                        _cleanup_free_ char *path = NULL;

                        if (!s || s[0] != '/')
                                return err_setx(errp, EINVAL,
                                                "%s.tmpfs[%zu]: must be an absolute path", field,
                                                i);
                        colon = strchr(s, ':');
                        path = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
                        json_object_set_new(tm, path, json_string(colon ? colon + 1 : ""));
                }
        }
        if (json_get_bool(ct, "init", false))
                json_object_set_new(hc, "Init", json_true());
        if (json_is_object(log) && json_get_str(log, "driver", NULL)) {
                json_t *cfg = json_object();
                json_object_foreach (json_object_get(log, "options"), k, v)
                        if (json_is_string(v))
                                json_object_set(cfg, k, v);
                json_object_set_new(hc, "LogConfig",
                                    json_pack("{s:s,s:o}", "Type", json_get_str(log, "driver", ""),
                                              "Config", cfg));
        }
        if (json_get_int(ct, "shm_size", 0) > 0)
                strv_push_take(warnings,
                               xasprintf("%s.shm_size: ignored (the engine gives every container "
                                         "the default /dev/shm of 64 MiB)",
                                         field));
        if (json_array_size(json_object_get(ct, "devices")) > 0)
                return err_setx(errp, EINVAL,
                                "%s.devices: device access is not supported by the engine yet",
                                field);
        return 0;
}

int pod_body_build(const struct pod_body_opts *o, json_t **ret, char ***warnings,
                   struct err **errp) {
        const struct pod_spec *spec = o->spec;
        const json_t *pod = spec->pod, *ct = o->ct;
        _cleanup_json_ json_t *body = NULL;
        _cleanup_free_ char *join = o->owner ? xasprintf("container:%s", o->owner) : NULL;
        const char *stop = json_get_str(ct, "stop_signal", NULL);
        json_t *hc, *v;
        size_t i;
        int r;

        hc = json_object();
        body = json_pack("{s:s, s:o, s:o, s:o}", "Image", json_get_str(ct, "image", ""), "Labels",
                         pod_labels(spec, ct, o->index, o->count), "HostConfig", hc, "Env",
                         env_list(json_object_get(ct, "env")));
        if (join) {
                json_object_set_new(hc, "NetworkMode", json_string(join));
                json_object_set_new(hc, "IpcMode", json_string(join));
                json_object_set_new(hc, "UTSMode", json_string(join));
        } else {
                r = owner_networks(spec, body, hc, errp);
                if (r >= 0)
                        r = pod_ports(spec, body, hc, errp);
                if (r < 0)
                        return r;
                if (json_get_str(pod, "hostname", NULL))
                        json_set_str(body, "Hostname", json_get_str(pod, "hostname", NULL));
                if (json_get_str(pod, "domainname", NULL))
                        json_set_str(body, "Domainname", json_get_str(pod, "domainname", NULL));
        }
        set_list(hc, "Dns", json_object_get(pod, "dns"));
        set_list(hc, "DnsSearch", json_object_get(pod, "dns_search"));
        set_list(hc, "DnsOptions", json_object_get(pod, "dns_options"));
        if (json_array_size(json_object_get(pod, "extra_hosts")) > 0) {
                json_t *eh = json_array();
                json_object_set_new(hc, "ExtraHosts", eh);
                json_array_foreach (json_object_get(pod, "extra_hosts"), i, v)
                        json_array_append_new(eh, json_sprintf("%s:%s", json_get_str(v, "host", ""),
                                                               json_get_str(v, "ip", "")));
        }

        if (json_is_array(json_object_get(ct, "command")))
                json_object_set(body, "Cmd", json_object_get(ct, "command"));
        if (json_is_array(json_object_get(ct, "entrypoint")))
                json_object_set(body, "Entrypoint", json_object_get(ct, "entrypoint"));
        if (json_get_str(ct, "working_dir", NULL))
                json_set_str(body, "WorkingDir", json_get_str(ct, "working_dir", NULL));
        if (json_get_str(ct, "user", NULL))
                json_set_str(body, "User", json_get_str(ct, "user", NULL));
        if (!stop)
                stop = json_get_str(pod, "stop_signal", NULL);
        if (stop)
                json_set_str(body, "StopSignal", stop);
        if (json_get_bool(ct, "tty", false))
                json_object_set_new(body, "Tty", json_true());
        if (json_get_bool(ct, "stdin_open", false))
                json_object_set_new(body, "OpenStdin", json_true());

        r = container_host(o, hc, warnings, errp);
        if (r >= 0)
                r = container_mounts(o, hc, warnings, errp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}
