/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes manifests into the canonical model: Pod, Deployment and Job become services,
 * Services become the endpoints of the workloads their selector matches, ConfigMaps,
 * Secrets and PersistentVolumeClaims become configs, secrets and volumes. */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "compose.h"
#include "fileio.h"
#include "kube_internal.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

static const char *const object_keys[] = {"apiVersion", "kind", "metadata",  "spec",       "data",
                                          "stringData", "type", "immutable", "binaryData", NULL};
static const char *const meta_keys[] = {"name", "namespace", "labels", "annotations", NULL};
static const char *const deploy_keys[] = {"replicas",
                                          "selector",
                                          "template",
                                          "strategy",
                                          "minReadySeconds",
                                          "progressDeadlineSeconds",
                                          "revisionHistoryLimit",
                                          NULL};
static const char *const job_keys[] = {"template",    "backoffLimit",          "completions",
                                       "parallelism", "activeDeadlineSeconds", NULL};
static const char *const template_keys[] = {"metadata", "spec", NULL};
static const char *const selector_keys[] = {"matchLabels", NULL};
static const char *const strategy_keys[] = {"type", "rollingUpdate", NULL};
static const char *const rolling_keys[] = {"maxSurge", "maxUnavailable", NULL};
static const char *const service_keys[] = {"type", "selector", "ports", "clusterIP", NULL};
static const char *const sport_keys[] = {"name",     "port",     "targetPort",
                                         "protocol", "nodePort", NULL};
static const char *const pvc_keys[] = {"accessModes", "resources", "storageClassName", "volumeMode",
                                       NULL};

struct kobj {
        const struct ynode *n;
        const char *kind, *name;
};

static bool dns_label_valid(const char *s) {
        size_t l = strlen(s);

        if (l == 0 || l > 253 || s[0] == '-' || s[0] == '.' || s[l - 1] == '-' || s[l - 1] == '.')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '.'))
                        return false;
        return true;
}

static int metadata(struct kube_ctx *k, const struct ynode *obj, const char **ret_name,
                    struct err **errp) {
        const struct ynode *m = ynode_map_get(obj, "metadata"), *n;
        int r;

        if (!m)
                return ynode_err(errp, obj, "missing required field 'metadata'");
        if ((r = y_check_keys_as(m, meta_keys, false, k->warn, "unsupported field", errp)) < 0)
                return r;
        n = ynode_map_get(m, "name");
        if (!n)
                return ynode_err(errp, m, "missing required field 'name'");
        if ((r = y_str(n, ret_name, errp)) < 0)
                return r;
        if (!dns_label_valid(*ret_name))
                return ynode_err(errp, n,
                                 "invalid name \"%s\" (lowercase letters, digits, '-' and '.')",
                                 *ret_name);
        return 0;
}

/* A ConfigMap or Secret: its data (Secret data base64-decoded, stringData as is) for later
 * references, and an entry in the model's configs or secrets. */
static int data_object(struct kube_ctx *k, const struct kobj *o, bool secret, struct err **errp) {
        const struct ynode *d = ynode_map_get(o->n, "data"),
                           *sd = ynode_map_get(o->n, "stringData"), *kk, *vv;
        _cleanup_json_ json_t *data = json_object();
        json_t *defs = secret ? k->secrets : k->configmaps;
        int r;

        if (json_object_get(defs, o->name))
                return ynode_err(errp, o->n, "%s '%s' is defined twice", o->kind, o->name);
        if (ynode_map_get(o->n, "binaryData"))
                return kube_unsupported(k, ynode_map_get(o->n, "binaryData"), "binaryData", errp);
        if (!secret && sd)
                return ynode_err(errp, sd, "a ConfigMap has no stringData (use data)");
        if (d && !ynode_is_null(d)) {
                if ((r = y_map(d, errp)) < 0)
                        return r;
                YMAP_FOREACH(kk, vv, d) {
                        const char *s;
                        if ((r = y_str_or_null(vv, &s, errp)) < 0)
                                return r;
                        if (secret) {
                                _cleanup_free_ char *dec = NULL;
                                size_t n_dec;
                                json_t *v;
                                /* Kubernetes' own decoder is as strict: padding required. */
                                if (base64_decode(s ? s : "", &dec, &n_dec) < 0)
                                        return ynode_err(errp, vv,
                                                         "invalid base64 (standard alphabet, "
                                                         "'=' padding)");
                                /* The value may become an environment variable: text only
                                 * (json_string refuses what is not UTF-8). */
                                v = strlen(dec) == n_dec ? json_string(dec) : NULL;
                                if (!v)
                                        return ynode_err(errp, vv,
                                                         "binary data is not supported (the "
                                                         "decoded value must be UTF-8 text "
                                                         "without NUL bytes)");
                                json_object_set_new(data, kk->str, v);
                        } else
                                json_object_set_new(data, kk->str, json_string(s ? s : ""));
                }
        }
        if (sd && !ynode_is_null(sd)) {
                if ((r = y_map(sd, errp)) < 0)
                        return r;
                YMAP_FOREACH(kk, vv, sd) {
                        const char *s;
                        if ((r = y_str_or_null(vv, &s, errp)) < 0)
                                return r;
                        json_object_set_new(data, kk->str, json_string(s ? s : ""));
                }
        }
        if (secret) {
                const struct ynode *t = ynode_map_get(o->n, "type");
                const char *ts;
                if (t) {
                        if ((r = y_str(t, &ts, errp)) < 0)
                                return r;
                        if (!streq(ts, "Opaque"))
                                return kube_unsupported(k, t, "Secret type other than Opaque",
                                                        errp);
                }
        }
        json_object_set(defs, o->name, data);
        json_object_set_new(json_object_get(k->model, secret ? "secrets" : "configs"), o->name,
                            json_pack("{s:s++,s:n,s:n,s:n,s:b,s:{},s:O}", "name", k->project, "_",
                                      o->name, "file", "environment", "content", "external", 0,
                                      "labels", "data", data));
        return 0;
}

/* A PersistentVolumeClaim becomes a named volume (with its requested size). */
static int pvc(struct kube_ctx *k, const struct kobj *o, struct err **errp) {
        const struct ynode *spec = ynode_map_get(o->n, "spec"), *f;
        double size = 0;
        int r;

        if (json_object_get(k->pvcs, o->name))
                return ynode_err(errp, o->n, "PersistentVolumeClaim '%s' is defined twice",
                                 o->name);
        if (spec &&
            (r = y_check_keys_as(spec, pvc_keys, false, k->warn, "unsupported field", errp)) < 0)
                return r;
        f = ynode_map_get(ynode_map_get(ynode_map_get(spec, "resources"), "requests"), "storage");
        if (f) {
                _cleanup_free_ char *msg = NULL;
                const char *s;
                if ((r = y_str(f, &s, errp)) < 0)
                        return r;
                if (parse_quantity(s, &size, &msg) < 0)
                        return ynode_err(errp, f, "%s", msg);
        }
        json_object_set_new(k->pvcs, o->name, json_true());
        json_object_set_new(json_object_get(k->model, "volumes"), o->name,
                            json_pack("{s:s++,s:s,s:b,s:{},s:{},s:I}", "name", k->project, "_",
                                      o->name, "driver", "local", "external", 0, "driver_opts",
                                      "labels", "size", (json_int_t)size));
        return 0;
}

static json_t *service_skeleton(const char *name, const char *kind, int64_t replicas) {
        json_t *upd = json_pack("{s:i,s:i,s:s,s:s,s:i,s:f}", "parallelism", 1, "delay_ms", 0,
                                "order", "stop-first", "failure_action", "pause", "monitor_ms",
                                5000, "max_failure_ratio", 0.0);
        /* rollback gets its own copy: the two are changed separately. */
        return json_pack(
                "{s:s,s:s,s:s,s:I,s:n,s:{},s:{},s:o,s:o,s:{s:[],s:[],s:i},s:{s:s,s:[]},s:n}",
                "name", name, "kind", kind, "mode", "replicated", "replicas", (json_int_t)replicas,
                "container_name", "labels", "depends_on", "update", upd, "rollback",
                json_deep_copy(upd), "placement", "constraints", "preferences",
                "max_replicas_per_node", 0, "endpoint", "mode", "vip", "ports", "hash");
}

/* maxSurge / maxUnavailable: an integer or a percentage of replicas (surge rounds up,
 * unavailable rounds down, like Kubernetes). */
static int int_or_percent(const struct ynode *n, int64_t replicas, bool round_up, int64_t *ret,
                          struct err **errp) {
        const char *s;
        char *end;
        long v;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        v = strtol(s, &end, 10);
        if (end == s || v < 0 || (*end && !streq(end, "%")))
                return ynode_err(errp, n, "expected an integer or a percentage, got \"%s\"", s);
        if (*end)
                *ret = round_up ? (v * replicas + 99) / 100 : v * replicas / 100;
        else
                *ret = v;
        return 0;
}

/* Deployment strategy into the service's update settings. */
static int strategy(struct kube_ctx *k, const struct ynode *st, int64_t replicas, json_t *svc,
                    struct err **errp) {
        json_t *upd = json_object_get(svc, "update");
        int64_t surge = (25 * replicas + 99) / 100, unavail = 25 * replicas / 100;
        const char *type = "RollingUpdate";
        const struct ynode *f, *ru;
        int r;

        if (st && !ynode_is_null(st)) {
                if ((r = y_check_keys_as(st, strategy_keys, false, k->warn, "unsupported field",
                                         errp)) < 0)
                        return r;
                if ((f = ynode_map_get(st, "type")) && (r = y_str(f, &type, errp)) < 0)
                        return r;
                if (!streq(type, "RollingUpdate") && !streq(type, "Recreate"))
                        return ynode_err(errp, f, "expected RollingUpdate or Recreate, got \"%s\"",
                                         type);
                ru = ynode_map_get(st, "rollingUpdate");
                if (ru && streq(type, "Recreate"))
                        return ynode_err(errp, ru,
                                         "rollingUpdate cannot be used with type Recreate");
                if (ru && !ynode_is_null(ru)) {
                        if ((r = y_check_keys_as(ru, rolling_keys, false, k->warn,
                                                 "unsupported field", errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(ru, "maxSurge")) &&
                            (r = int_or_percent(f, replicas, true, &surge, errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(ru, "maxUnavailable")) &&
                            (r = int_or_percent(f, replicas, false, &unavail, errp)) < 0)
                                return r;
                        if (surge == 0 && unavail == 0)
                                return ynode_err(errp, ru,
                                                 "maxSurge and maxUnavailable cannot both be 0");
                }
        }
        if (streq(type, "Recreate")) {
                /* All old pods go before new ones start. */
                json_object_set_new(upd, "parallelism", json_integer(0));
                json_object_set_new(upd, "order", json_string("stop-first"));
                surge = 0;
                unavail = replicas;
        } else {
                json_object_set_new(
                        upd, "parallelism",
                        json_integer(MAX(surge, unavail) > 0 ? MAX(surge, unavail) : 1));
                json_object_set_new(upd, "order",
                                    json_string(unavail == 0 ? "start-first" : "stop-first"));
        }
        json_object_set_new(upd, "strategy",
                            json_string(streq(type, "Recreate") ? "recreate" : "rolling"));
        json_object_set_new(upd, "max_surge", json_integer(surge));
        json_object_set_new(upd, "max_unavailable", json_integer(unavail));
        return 0;
}

/* A pod template: metadata checked, spec into svc.pod; its labels returned for selectors. */
static int template(struct kube_ctx *k, const char *name, const struct ynode *spec, json_t *svc,
                    const struct ynode **ret_labels, struct err **errp) {
        const struct ynode *t = ynode_map_get(spec, "template"), *m;
        int r;

        if (!t)
                return ynode_err(errp, spec, "missing required field 'template'");
        if ((r = y_check_keys_as(t, template_keys, false, k->warn, "unsupported field", errp)) < 0)
                return r;
        m = ynode_map_get(t, "metadata");
        if (m && (r = y_check_keys_as(m, meta_keys, false, k->warn, "unsupported field", errp)) < 0)
                return r;
        if (!ynode_map_get(t, "spec"))
                return ynode_err(errp, t, "missing required field 'spec'");
        *ret_labels = ynode_map_get(m, "labels");
        return kube_pod(k, name, m, ynode_map_get(t, "spec"), svc, errp);
}

/* Pod, Deployment or Job into a model service. */
static int workload(struct kube_ctx *k, const struct kobj *o, struct err **errp) {
        const struct ynode *spec = ynode_map_get(o->n, "spec"), *f, *labels = NULL;
        json_t *services = json_object_get(k->model, "services");
        _cleanup_json_ json_t *svc = NULL;
        int64_t replicas = 1;
        int r;

        if (json_object_get(services, o->name))
                return ynode_err(errp, o->n, "a workload named '%s' is defined twice", o->name);
        if (!spec)
                return ynode_err(errp, o->n, "missing required field 'spec'");
        if (streq(o->kind, "Pod")) {
                svc = service_skeleton(o->name, "service", 1);
                if ((r = kube_pod(k, o->name, ynode_map_get(o->n, "metadata"), spec, svc, errp)) <
                    0)
                        return r;
                if (!streq(json_string_value(json_object_get(
                                   json_object_get(json_object_get(svc, "pod"), "restart"),
                                   "policy")),
                           "always"))
                        json_object_set_new(svc, "kind", json_string("job"));
        } else if (streq(o->kind, "Deployment")) {
                const struct ynode *sel, *ml, *kk, *vv;
                if ((r = y_check_keys_as(spec, deploy_keys, false, k->warn, "unsupported field",
                                         errp)) < 0)
                        return r;
                if ((f = ynode_map_get(spec, "replicas")) &&
                    (r = y_int(f, 0, 100000, &replicas, errp)) < 0)
                        return r;
                svc = service_skeleton(o->name, "service", replicas);
                if ((r = template(k, o->name, spec, svc, &labels, errp)) < 0)
                        return r;
                const char *pol = json_string_value(json_object_get(
                        json_object_get(json_object_get(svc, "pod"), "restart"), "policy"));
                if (!streq(pol, "always"))
                        return ynode_err(
                                errp,
                                ynode_map_get(
                                        ynode_map_get(ynode_map_get(spec, "template"), "spec"),
                                        "restartPolicy"),
                                "a Deployment's pods must have restartPolicy Always");
                sel = ynode_map_get(spec, "selector");
                if (!sel)
                        return ynode_err(errp, spec, "missing required field 'selector'");
                if ((r = y_check_keys_as(sel, selector_keys, false, NULL, "unsupported field",
                                         errp)) < 0)
                        return r;
                ml = ynode_map_get(sel, "matchLabels");
                if (!ml || ynode_map_len(ml) == 0)
                        return ynode_err(errp, sel, "selector needs matchLabels");
                if ((r = y_map(ml, errp)) < 0)
                        return r;
                YMAP_FOREACH(kk, vv, ml) {
                        const struct ynode *l = ynode_map_get(labels, kk->str);
                        if (!l || !ynode_is_scalar(vv) || !streq(l->str, vv->str))
                                return ynode_err(
                                        errp, vv,
                                        "selector %s=%s does not match the template's labels",
                                        kk->str, ynode_is_scalar(vv) ? vv->str : "?");
                }
                if ((r = strategy(k, ynode_map_get(spec, "strategy"), replicas, svc, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(spec, "minReadySeconds"))) {
                        int64_t v;
                        if ((r = y_int(f, 0, INT32_MAX, &v, errp)) < 0)
                                return r;
                        json_object_set_new(json_object_get(svc, "update"), "monitor_ms",
                                            json_integer(v * 1000));
                }
                /* Kept in the model so that nothing given is lost; the orchestrator may use the
                 * deadline to declare a rollout failed. */
                static const char *const extra[][2] = {
                        {"progressDeadlineSeconds", "progress_deadline_ms"},
                        {"revisionHistoryLimit", "revision_history_limit"}};
                for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                        if ((f = ynode_map_get(spec, extra[i][0]))) {
                                int64_t v;
                                if ((r = y_int(f, 0, INT32_MAX, &v, errp)) < 0)
                                        return r;
                                json_object_set_new(json_object_get(svc, "update"), extra[i][1],
                                                    json_integer(i == 0 ? v * 1000 : v));
                        }
        } else { /* Job */
                int64_t backoff = 6, completions = 1, parallelism = 1, deadline = 0;
                if ((r = y_check_keys_as(spec, job_keys, false, k->warn, "unsupported field",
                                         errp)) < 0)
                        return r;
                if ((f = ynode_map_get(spec, "backoffLimit")) &&
                    (r = y_int(f, 0, INT32_MAX, &backoff, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(spec, "completions")) &&
                    (r = y_int(f, 1, 100000, &completions, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(spec, "parallelism")) &&
                    (r = y_int(f, 1, 100000, &parallelism, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(spec, "activeDeadlineSeconds")) &&
                    (r = y_int(f, 1, INT32_MAX, &deadline, errp)) < 0)
                        return r;
                svc = service_skeleton(o->name, "job", parallelism);
                if ((r = template(k, o->name, spec, svc, &labels, errp)) < 0)
                        return r;
                json_t *rs = json_object_get(json_object_get(svc, "pod"), "restart");
                if (streq(json_string_value(json_object_get(rs, "policy")), "always"))
                        return ynode_err(errp,
                                         ynode_map_get(ynode_map_get(spec, "template"), "spec"),
                                         "a Job's pods need restartPolicy OnFailure or Never");
                json_object_set_new(rs, "max_retries", json_integer(backoff));
                json_object_set_new(svc, "completions", json_integer(completions));
                json_object_set_new(svc, "deadline_ms", json_integer(deadline * 1000));
        }
        {
                const struct ynode *ml = ynode_map_get(ynode_map_get(o->n, "metadata"), "labels");
                if (ml) {
                        json_t *l = NULL;
                        if ((r = y_str_map(ml, &l, errp)) < 0)
                                return r;
                        json_object_set_new(svc, "labels", l);
                }
        }
        json_object_set_new(services, o->name, TAKE_PTR(svc));
        return 0;
}

/* Does every selector label appear in the pod's labels? */
static bool selector_matches(const json_t *sel, const json_t *labels) {
        const char *key;
        json_t *v;

        json_object_foreach ((json_t *)sel, key, v)
                if (!json_equal(json_object_get(labels, key), v))
                        return false;
        return json_object_size(sel) > 0;
}

/* A Service: the endpoint (ports, vip or dnsrr, node ports) of every workload its selector
 * matches; an error when it matches none or one already exposed. */
static int kube_service(struct kube_ctx *k, const struct kobj *o, struct err **errp) {
        const struct ynode *spec = ynode_map_get(o->n, "spec"), *f, *pl;
        _cleanup_json_ json_t *sel = NULL, *ports = json_array();
        const char *type = "ClusterIP", *cip = NULL, *name;
        json_t *svc;
        bool matched = false;
        int r;

        if (!spec)
                return ynode_err(errp, o->n, "missing required field 'spec'");
        if ((r = y_check_keys_as(spec, service_keys, false, k->warn, "unsupported field", errp)) <
            0)
                return r;
        if ((f = ynode_map_get(spec, "type")) && (r = y_str(f, &type, errp)) < 0)
                return r;
        if (!streq(type, "ClusterIP") && !streq(type, "NodePort"))
                return kube_unsupported(k, f, "Service type other than ClusterIP and NodePort",
                                        errp);
        if ((f = ynode_map_get(spec, "clusterIP")) && (r = y_str(f, &cip, errp)) < 0)
                return r;
        if (cip && !streq(cip, "None"))
                return ynode_err(errp, f, "only clusterIP: None (headless) can be set, got \"%s\"",
                                 cip);
        if (cip && streq(type, "NodePort"))
                return ynode_err(errp, f, "a headless Service cannot be a NodePort");
        f = ynode_map_get(spec, "selector");
        if (!f || ynode_map_len(f) == 0)
                return ynode_err(errp, spec,
                                 "a Service needs a selector (Services without selectors are not "
                                 "supported)");
        if ((r = y_str_map(f, &sel, errp)) < 0)
                return r;
        pl = ynode_map_get(spec, "ports");
        if (pl && !ynode_is_null(pl)) {
                if ((r = y_seq(pl, errp)) < 0)
                        return r;
                for (size_t i = 0; i < pl->n_kids; i++) {
                        const struct ynode *it = pl->kids[i];
                        _cleanup_free_ char *msg = NULL;
                        const char *s, *pname = NULL, *tgt;
                        int port, np = 0;
                        json_t *pj;
                        if ((r = y_check_keys_as(it, sport_keys, false, k->warn,
                                                 "unsupported field", errp)) < 0)
                                return r;
                        f = ynode_map_get(it, "port");
                        if (!f)
                                return ynode_err(errp, it, "missing required field 'port'");
                        if ((r = y_str(f, &s, errp)) < 0)
                                return r;
                        if (parse_port_number(s, false, &port, &msg) < 0)
                                return ynode_err(errp, f, "%s", msg);
                        tgt = s;
                        if ((f = ynode_map_get(it, "targetPort")) && (r = y_str(f, &tgt, errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(it, "name")) && (r = y_str(f, &pname, errp)) < 0)
                                return r;
                        _cleanup_free_ char *proto = xstrdup("tcp");
                        if ((f = ynode_map_get(it, "protocol"))) {
                                if ((r = y_str(f, &s, errp)) < 0)
                                        return r;
                                if (!streq(s, "TCP") && !streq(s, "UDP") && !streq(s, "SCTP"))
                                        return ynode_err(errp, f,
                                                         "expected TCP, UDP or SCTP, got \"%s\"",
                                                         s);
                                free(proto);
                                proto = xstrdup(streq(s, "TCP")   ? "tcp"
                                                : streq(s, "UDP") ? "udp"
                                                                  : "sctp");
                        }
                        if ((f = ynode_map_get(it, "nodePort"))) {
                                if (!streq(type, "NodePort"))
                                        return ynode_err(errp, f, "nodePort needs type: NodePort");
                                if ((r = y_str(f, &s, errp)) < 0)
                                        return r;
                                if (parse_port_number(s, false, &np, &msg) < 0)
                                        return ynode_err(errp, f, "%s", msg);
                        }
                        pj = json_pack("{s:s?,s:i,s:s,s:s}", "name", pname, "port", port,
                                       "target_name", tgt, "protocol", proto);
                        json_object_set_new(pj, "node_port", np ? json_integer(np) : json_null());
                        json_object_set_new(pj, "node", json_integer((json_int_t)i));
                        json_array_append_new(ports, pj);
                }
        }
        json_object_foreach (json_object_get(k->model, "services"), name, svc) {
                json_t *pod = json_object_get(svc, "pod"), *ep = json_object_get(svc, "endpoint"),
                       *p;
                size_t i;
                if (!selector_matches(sel, json_object_get(pod, "labels")))
                        continue;
                if (json_object_get(ep, "service"))
                        return ynode_err(
                                errp, o->n,
                                "Service '%s' selects '%s', already exposed by Service '%s'",
                                o->name, name, json_string_value(json_object_get(ep, "service")));
                matched = true;
                json_object_set_new(ep, "service", json_string(o->name));
                json_object_set_new(ep, "mode", json_string(cip ? "dnsrr" : "vip"));
                json_object_set_new(
                        ep, "type",
                        json_string(streq(type, "NodePort") ? "node_port" : "cluster_ip"));
                json_array_foreach (ports, i, p) {
                        const char *tn = json_string_value(json_object_get(p, "target_name"));
                        int target = 0;
                        size_t ci, pi;
                        json_t *c, *cp;
                        if (parse_port_number(tn, false, &target, NULL) < 0) {
                                json_array_foreach (json_object_get(pod, "containers"), ci, c)
                                        json_array_foreach (json_object_get(c, "ports"), pi, cp)
                                                if (streq_ptr(json_string_value(
                                                                      json_object_get(cp, "name")),
                                                              tn))
                                                        target = (int)json_integer_value(
                                                                json_object_get(cp, "target"));
                                if (!target)
                                        return ynode_err(
                                                errp,
                                                ynode_map_get(pl->kids[json_integer_value(
                                                                      json_object_get(p, "node"))],
                                                              "targetPort"),
                                                "targetPort \"%s\" is not a named port of '%s'", tn,
                                                name);
                        }
                        json_array_append_new(json_object_get(ep, "ports"),
                                              json_pack("{s:O,s:O,s:i,s:O,s:O}", "name",
                                                        json_object_get(p, "name"), "port",
                                                        json_object_get(p, "port"), "target",
                                                        target, "protocol",
                                                        json_object_get(p, "protocol"), "node_port",
                                                        json_object_get(p, "node_port")));
                }
                /* The Service name resolves to the workload on the stack network. */
                json_t *net = json_object_get(json_object_get(pod, "networks"), "default");
                if (net)
                        json_array_append_new(json_object_get(net, "aliases"),
                                              json_string(o->name));
        }
        if (!matched)
                return ynode_err(errp, ynode_map_get(spec, "selector"),
                                 "Service '%s' selects no Pod, Deployment or Job", o->name);
        return 0;
}

static const struct {
        const char *kind, *api;
} kinds[] = {
        {"Pod", "v1"},
        {"Service", "v1"},
        {"ConfigMap", "v1"},
        {"Secret", "v1"},
        {"PersistentVolumeClaim", "v1"},
        {"List", "v1"},
        {"Deployment", "apps/v1"},
        {"Job", "batch/v1"},
};

/* Checks one document (kind, apiVersion, metadata) and adds it, or a List's items, to objs. */
static int collect(struct kube_ctx *k, const struct ynode *n, struct kobj **objs, size_t *n_objs,
                   size_t *alloc, unsigned depth, struct err **errp) {
        const struct ynode *kn, *an;
        const char *kind, *api;
        bool known = false;
        int r;

        if (ynode_is_null(n))
                return 0;
        if ((r = y_map(n, errp)) < 0)
                return r;
        kn = ynode_map_get(n, "kind");
        an = ynode_map_get(n, "apiVersion");
        if (!kn)
                return ynode_err(errp, n, "missing required field 'kind'");
        if (!an)
                return ynode_err(errp, n, "missing required field 'apiVersion'");
        if ((r = y_str(kn, &kind, errp)) < 0 || (r = y_str(an, &api, errp)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq(kinds[i].kind, kind)) {
                        known = true;
                        if (!streq(kinds[i].api, api))
                                return ynode_err(errp, an, "%s needs apiVersion %s, got \"%s\"",
                                                 kind, kinds[i].api, api);
                }
        if (!known) {
                if (k->warn) {
                        warn_push(k->warn, kn, "kind '%s' is not supported, ignoring", kind);
                        return 0;
                }
                return ynode_err(errp, kn,
                                 "kind '%s' is not supported by berth (supported: Pod, "
                                 "Deployment, Job, Service, ConfigMap, Secret, "
                                 "PersistentVolumeClaim, List)",
                                 kind);
        }
        if (streq(kind, "List")) {
                const struct ynode *items = ynode_map_get(n, "items");
                if (depth > 0)
                        return ynode_err(errp, n, "nested Lists are not supported");
                if ((r = y_check_keys_as(
                             n,
                             (const char *const[]){"apiVersion", "kind", "items", "metadata", NULL},
                             false, k->warn, "unsupported field", errp)) < 0)
                        return r;
                if (!items || ynode_is_null(items))
                        return 0;
                if ((r = y_seq(items, errp)) < 0)
                        return r;
                for (size_t i = 0; i < items->n_kids; i++)
                        if ((r = collect(k, items->kids[i], objs, n_objs, alloc, depth + 1, errp)) <
                            0)
                                return r;
                return 0;
        }
        if ((r = y_check_keys_as(n, object_keys, false, k->warn, "unsupported field", errp)) < 0)
                return r;
        XGROW(*objs, *alloc, *n_objs + 1);
        (*objs)[*n_objs] = (struct kobj){.n = n, .kind = kind};
        r = metadata(k, n, &(*objs)[*n_objs].name, errp);
        if (r < 0)
                return r;
        (*n_objs)++;
        return 0;
}

int kube_load(const struct stack_load_opts *o, char *const *files, json_t **ret,
              struct err **errp) {
        _cleanup_(compose_ctx_done) struct compose_ctx cc = {.opts = o, .sources = json_array()};
        struct kube_ctx k = {.opts = o};
        _cleanup_free_ struct kobj *objs = NULL;
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *dir = NULL;
        struct ynode **all = NULL;
        size_t n_all = 0, n_objs = 0, alloc = 0, alloc_all = 0;
        int r = 0;

        k.warn = o->lenient ? &k.warnings : NULL;
        STRV_FOREACH (f, files) {
                _cleanup_free_ char *buf = NULL, *abs = NULL, *d = NULL;
                struct ynode **docs = NULL;
                size_t n = 0, len = 0;
                if (streq(*f, "-")) {
                        abs = xstrdup("<stdin>");
                        buf = xstrdup(o->stdin_data ? o->stdin_data : "");
                        len = strlen(buf);
                        d = xstrdup(cwd ? cwd : ".");
                } else {
                        abs = (*f)[0] == '/' ? path_normalize(*f) : ({
                                _cleanup_free_ char *j = xasprintf("%s/%s", cwd ? cwd : ".", *f);
                                path_normalize(j);
                        });
                        r = spec_read_file(abs, YAML_MAX_FILE_SIZE, &buf, &len, errp);
                        if (r < 0) {
                                r = err_wrap(errp, "read manifest '%s'", abs);
                                goto out;
                        }
                        d = xstrdup(abs);
                        dirname(d);
                }
                if (!dir)
                        dir = xstrdup(d);
                r = yaml_load(buf, len, compose_src_add(&cc, abs, d), &docs, &n, errp);
                if (r < 0)
                        goto out;
                json_array_append_new(cc.sources, json_string(abs));
                for (size_t i = 0; i < n; i++) {
                        XGROW(all, alloc_all, n_all + 1);
                        all[n_all++] = docs[i];
                }
                free(docs);
        }
        for (size_t i = 0; i < n_all; i++) {
                r = collect(&k, all[i], &objs, &n_objs, &alloc, 0, errp);
                if (r < 0)
                        goto out;
        }
        {
                const char *raw = o->project_name;
                const struct ynode *nsn = NULL;
                for (size_t i = 0; i < n_objs && !nsn; i++)
                        nsn = ynode_map_get(ynode_map_get(objs[i].n, "metadata"), "namespace");
                if (!raw && nsn && ynode_is_scalar(nsn))
                        raw = nsn->str;
                if (!raw && dir)
                        raw = strrchr(dir, '/') && strrchr(dir, '/')[1] ? strrchr(dir, '/') + 1
                                                                        : dir;
                k.project = stack_project_name_normalize(raw ? raw : "default");
                if (!k.project) {
                        r = err_setx(errp, EINVAL, "invalid project name \"%s\"", raw);
                        goto out;
                }
        }
        k.model = json_pack("{s:i,s:s,s:s,s:O,s:{},s:{},s:{},s:{},s:{}}", "version", 1, "name",
                            k.project, "project_dir", dir ? dir : ".", "sources", cc.sources,
                            "services", "networks", "volumes", "secrets", "configs");
        k.configmaps = json_object();
        k.secrets = json_object();
        k.pvcs = json_object();
        /* Data objects first: workloads refer to them. */
        for (size_t i = 0; i < n_objs && r >= 0; i++) {
                if (streq(objs[i].kind, "ConfigMap"))
                        r = data_object(&k, &objs[i], false, errp);
                else if (streq(objs[i].kind, "Secret"))
                        r = data_object(&k, &objs[i], true, errp);
                else if (streq(objs[i].kind, "PersistentVolumeClaim"))
                        r = pvc(&k, &objs[i], errp);
        }
        for (size_t i = 0; i < n_objs && r >= 0; i++)
                if (strv_contains((char *[]){"Pod", "Deployment", "Job", NULL}, objs[i].kind))
                        r = workload(&k, &objs[i], errp);
        for (size_t i = 0; i < n_objs && r >= 0; i++)
                if (streq(objs[i].kind, "Service"))
                        r = kube_service(&k, &objs[i], errp);
        if (r < 0)
                goto out;
        if (json_object_size(json_object_get(k.model, "services")) == 0) {
                r = err_setx(errp, EINVAL, "%s: no Pod, Deployment or Job found", files[0]);
                goto out;
        }
        {
                _cleanup_free_ char *nm = xasprintf("%s_default", k.project);
                json_object_set_new(json_object_get(k.model, "networks"), "default",
                                    json_pack("{s:s,s:s,s:b,s:b,s:b,s:b,s:n,s:n,s:n,s:{},s:{}}",
                                              "name", nm, "driver", "bridge", "external", 0,
                                              "internal", 0, "attachable", 0, "enable_ipv6", 0,
                                              "subnet", "gateway", "ip_range", "options",
                                              "labels"));
        }
        r = model_validate(k.model, NULL, errp);
        if (r < 0)
                goto out;
        stack_model_hash(k.model);
        if (o->ret_warnings)
                STRV_FOREACH (w, k.warnings)
                        strv_push(o->ret_warnings, *w);
        *ret = TAKE_PTR(k.model);
out:
        ynode_docs_free(all, n_all);
        json_decref(k.model);
        json_decref(k.configmaps);
        json_decref(k.secrets);
        json_decref(k.pvcs);
        free(k.project);
        strv_free(k.warnings);
        return r;
}
