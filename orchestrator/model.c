/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing of the planner's inputs from JSON into model.h structs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "strv.h"
#include "xalloc.h"

static const char *const svc_kind_table[_SVC_KIND_MAX] = {
        [SVC_SERVICE] = "service",
        [SVC_JOB] = "job",
};
static const char *const dep_cond_table[_DEP_COND_MAX] = {
        [DEP_STARTED] = "service_started",
        [DEP_HEALTHY] = "service_healthy",
        [DEP_COMPLETED] = "service_completed_successfully",
};
static const char *const order_table[_ORDER_MAX] = {
        [ORDER_STOP_FIRST] = "stop-first",
        [ORDER_START_FIRST] = "start-first",
};
static const char *const fail_table[_FAIL_MAX] = {
        [FAIL_PAUSE] = "pause",
        [FAIL_CONTINUE] = "continue",
        [FAIL_ROLLBACK] = "rollback",
};
static const char *const restart_table[_RESTART_MAX] = {
        [RESTART_NO] = "no",
        [RESTART_ALWAYS] = "always",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_UNLESS_STOPPED] = "unless-stopped",
};
static const char *const rollout_table[_ROLLOUT_MAX] = {
        [ROLLOUT_NONE] = "none",
        [ROLLOUT_UPDATING] = "updating",
        [ROLLOUT_PAUSED] = "paused",
        [ROLLOUT_ROLLBACK] = "rollback",
};
static const char *const pod_state_table[_POD_STATE_MAX] = {
        [POD_CREATED] = "created",
        [POD_RUNNING] = "running",
        [POD_EXITED] = "exited",
        [POD_DEAD] = "dead",
};
static const char *const health_table[_HEALTH_MAX] = {
        [HEALTH_NONE] = "none",
        [HEALTH_STARTING] = "starting",
        [HEALTH_HEALTHY] = "healthy",
        [HEALTH_UNHEALTHY] = "unhealthy",
};

static int table_lookup(const char *const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int)i;
        return -EINVAL;
}

const char *svc_kind_to_string(enum svc_kind k) {
        return (unsigned)k < _SVC_KIND_MAX ? svc_kind_table[k] : "?";
}
const char *dep_cond_to_string(enum dep_cond c) {
        return (unsigned)c < _DEP_COND_MAX ? dep_cond_table[c] : "?";
}
const char *update_order_to_string(enum update_order o) {
        return (unsigned)o < _ORDER_MAX ? order_table[o] : "?";
}
const char *rollout_state_to_string(enum rollout_state s) {
        return (unsigned)s < _ROLLOUT_MAX ? rollout_table[s] : "?";
}
const char *pod_state_to_string(enum pod_state s) {
        return (unsigned)s < _POD_STATE_MAX ? pod_state_table[s] : "?";
}

/* Field-path helpers: every error names where in the document it is. */
static int bad(struct err **errp, const char *path, const char *what) {
        int r = err_setx(errp, EINVAL, "%s: %s", path, what);
        err_set_field(errp, path);
        return r;
}

/* Optional enum string: missing or null gives def. */
static int get_enum(const json_t *o, const char *key, const char *path, const char *const *table,
                    size_t n, int def, int *ret, struct err **errp) {
        const json_t *v = json_object_get(o, key);
        _cleanup_free_ char *p = xasprintf("%s.%s", path, key);
        int x;

        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_string(v))
                return bad(errp, p, "expected a string");
        x = table_lookup(table, n, json_string_value(v));
        if (x < 0) {
                _cleanup_free_ char *msg = NULL;
                _cleanup_strv_ char **names = NULL;
                _cleanup_free_ char *list = NULL;
                for (size_t i = 0; i < n; i++)
                        if (table[i])
                                strv_push(&names, table[i]);
                list = strv_join(names, ", ");
                msg = xasprintf("unknown value '%s' (expected one of %s)", json_string_value(v),
                                list);
                return bad(errp, p, msg);
        }
        *ret = x;
        return 0;
}

static int get_uint(const json_t *o, const char *key, const char *path, uint64_t max, uint64_t def,
                    uint64_t *ret, struct err **errp) {
        const json_t *v = json_object_get(o, key);
        _cleanup_free_ char *p = xasprintf("%s.%s", path, key);

        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) > max) {
                _cleanup_free_ char *msg = xasprintf("expected an integer between 0 and %llu",
                                                     (unsigned long long)max);
                return bad(errp, p, msg);
        }
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

static int get_bool(const json_t *o, const char *key, const char *path, bool def, bool *ret,
                    struct err **errp) {
        const json_t *v = json_object_get(o, key);
        _cleanup_free_ char *p = xasprintf("%s.%s", path, key);

        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_boolean(v))
                return bad(errp, p, "expected true or false");
        *ret = json_is_true(v);
        return 0;
}

/* Optional string; NULL when missing or null. */
static int get_str(const json_t *o, const char *key, const char *path, bool required, char **ret,
                   struct err **errp) {
        const json_t *v = json_object_get(o, key);
        _cleanup_free_ char *p = xasprintf("%s.%s", path, key);

        if (!v || json_is_null(v)) {
                if (required)
                        return bad(errp, p, "missing");
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v) || (required && json_string_length(v) == 0))
                return bad(errp, p, required ? "expected a non-empty string" : "expected a string");
        *ret = xstrdup(json_string_value(v));
        return 0;
}

static int get_strv(const json_t *o, const char *key, const char *path, char ***ret,
                    struct err **errp) {
        const json_t *v = json_object_get(o, key), *e;
        _cleanup_free_ char *p = xasprintf("%s.%s", path, key);
        _cleanup_strv_ char **l = NULL;
        size_t i;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_array(v))
                return bad(errp, p, "expected an array of strings");
        json_array_foreach (v, i, e) {
                if (!json_is_string(e)) {
                        _cleanup_free_ char *pi = xasprintf("%s[%zu]", p, i);
                        return bad(errp, pi, "expected a string");
                }
                strv_push(&l, json_string_value(e));
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_update(const json_t *o, const char *path, struct model_update *u,
                        struct err **errp) {
        uint64_t par = 1;
        int x, r;

        *u = (struct model_update){.parallelism = 1, .monitor_ms = 5000};
        if (!o || json_is_null(o))
                return 0;
        if (!json_is_object(o))
                return bad(errp, path, "expected an object");
        r = get_uint(o, "parallelism", path, 100000, 1, &par, errp);
        if (r < 0)
                return r;
        u->parallelism = (unsigned)par;
        r = get_uint(o, "delay_ms", path, UINT32_MAX, 0, &u->delay_ms, errp);
        if (r < 0)
                return r;
        r = get_uint(o, "monitor_ms", path, UINT32_MAX, 5000, &u->monitor_ms, errp);
        if (r < 0)
                return r;
        {
                const json_t *ratio = json_object_get(o, "max_failure_ratio");
                if (ratio && !json_is_null(ratio)) {
                        if (!json_is_number(ratio) || json_number_value(ratio) < 0 ||
                            json_number_value(ratio) > 1) {
                                _cleanup_free_ char *p = xasprintf("%s.max_failure_ratio", path);
                                return bad(errp, p, "expected a number between 0 and 1");
                        }
                        u->max_failure_ratio = json_number_value(ratio);
                }
        }
        r = get_enum(o, "order", path, order_table, _ORDER_MAX, ORDER_STOP_FIRST, &x, errp);
        if (r < 0)
                return r;
        u->order = x;
        r = get_enum(o, "failure_action", path, fail_table, _FAIL_MAX, FAIL_PAUSE, &x, errp);
        if (r < 0)
                return r;
        u->failure_action = x;
        return 0;
}

static void service_done(struct model_service *s) {
        free(s->name);
        free(s->container_name);
        for (size_t i = 0; i < s->n_deps; i++)
                free(s->deps[i].service);
        free(s->deps);
        strv_free(s->constraints);
        free(s->hash);
        strv_free(s->volumes);
        free(s->previous_hash);
}

/* Reservations, healthchecks and named volumes come from the pod's containers. */
static int parse_pod(const json_t *stack, const json_t *pod, const char *path,
                     struct model_service *s, struct err **errp) {
        const json_t *ctrs, *c;
        size_t i;
        int x, r;

        if (!json_is_object(pod))
                return bad(errp, path, "expected an object");
        r = get_enum(json_object_get(pod, "restart"), "policy", path, restart_table, _RESTART_MAX,
                     RESTART_NO, &x, errp);
        if (r < 0)
                return r;
        s->restart = x;

        ctrs = json_object_get(pod, "containers");
        if (ctrs && !json_is_array(ctrs)) {
                _cleanup_free_ char *p = xasprintf("%s.containers", path);
                return bad(errp, p, "expected an array");
        }
        json_array_foreach (ctrs, i, c) {
                _cleanup_free_ char *cp = xasprintf("%s.containers[%zu]", path, i);
                const json_t *res =
                        json_object_get(json_object_get(c, "resources"), "reservations");
                const json_t *cpus = json_object_get(res, "cpus"), *m, *mounts;
                uint64_t mem = 0;
                size_t k;

                if (!json_is_object(c))
                        return bad(errp, cp, "expected an object");
                if (cpus && !json_is_null(cpus)) {
                        if (!json_is_number(cpus) || json_number_value(cpus) < 0 ||
                            json_number_value(cpus) > 100000) {
                                _cleanup_free_ char *p =
                                        xasprintf("%s.resources.reservations.cpus", cp);
                                return bad(errp, p, "expected a number between 0 and 100000");
                        }
                        s->cpu_millis += (uint64_t)(json_number_value(cpus) * 1000.0 + 0.5);
                }
                if (res) {
                        _cleanup_free_ char *rp = xasprintf("%s.resources.reservations", cp);
                        r = get_uint(res, "memory", rp, UINT64_C(1) << 50, 0, &mem, errp);
                        if (r < 0)
                                return r;
                        s->memory += mem;
                }
                m = json_object_get(c, "healthcheck");
                if (m && !json_is_null(m))
                        s->has_healthcheck = true;

                mounts = json_object_get(c, "mounts");
                json_array_foreach (mounts, k, m) {
                        const char *src = json_get_str(m, "source", NULL);
                        const char *name;

                        if (!streq_ptr(json_get_str(m, "type", NULL), "volume") || !src || !*src)
                                continue;
                        /* Resolve the stack-level key to the volume's real name. */
                        name = json_get_str(json_object_get(json_object_get(stack, "volumes"), src),
                                            "name", src);
                        if (!strv_contains(s->volumes, name))
                                strv_push(&s->volumes, name);
                }
        }
        return 0;
}

static int parse_service(const json_t *stack, const char *key, const json_t *o,
                         struct model_service *s, struct err **errp) {
        _cleanup_free_ char *path = xasprintf("services.%s", key);
        const json_t *deps, *d, *ro;
        const char *dname;
        uint64_t u;
        int x, r;

        if (!json_is_object(o))
                return bad(errp, path, "expected an object");
        s->name = xstrdup(key);
        if (json_get_str(o, "name", NULL) && !streq(json_get_str(o, "name", NULL), key)) {
                _cleanup_free_ char *p = xasprintf("%s.name", path);
                return bad(errp, p, "does not match the service's key");
        }
        r = get_enum(o, "kind", path, svc_kind_table, _SVC_KIND_MAX, SVC_SERVICE, &x, errp);
        if (r < 0)
                return r;
        s->kind = x;
        r = get_uint(o, "replicas", path, MODEL_REPLICAS_MAX, 1, &u, errp);
        if (r < 0)
                return r;
        s->replicas = (unsigned)u;
        r = get_str(o, "container_name", path, false, &s->container_name, errp);
        if (r < 0)
                return r;
        if (s->container_name && s->replicas > 1) {
                _cleanup_free_ char *p = xasprintf("%s.container_name", path);
                return bad(errp, p, "only allowed with replicas 1");
        }
        r = get_str(o, "hash", path, true, &s->hash, errp);
        if (r < 0)
                return r;

        deps = json_object_get(o, "depends_on");
        if (deps && !json_is_null(deps) && !json_is_object(deps)) {
                _cleanup_free_ char *p = xasprintf("%s.depends_on", path);
                return bad(errp, p, "expected an object");
        }
        if (deps && json_is_object(deps))
                s->deps = xnew0(struct model_dep, json_object_size(deps));
        json_object_foreach ((json_t *)deps, dname, d) {
                _cleanup_free_ char *dp = xasprintf("%s.depends_on.%s", path, dname);
                struct model_dep *md = &s->deps[s->n_deps++];

                md->service = xstrdup(dname);
                if (!json_is_object(d))
                        return bad(errp, dp, "expected an object");
                r = get_enum(d, "condition", dp, dep_cond_table, _DEP_COND_MAX, DEP_STARTED, &x,
                             errp);
                if (r < 0)
                        return r;
                md->cond = x;
                r = get_bool(d, "restart", dp, false, &md->restart, errp);
                if (r < 0)
                        return r;
                r = get_bool(d, "required", dp, true, &md->required, errp);
                if (r < 0)
                        return r;
                if (streq(dname, key))
                        return bad(errp, dp, "a service cannot depend on itself");
        }

        {
                _cleanup_free_ char *up = xasprintf("%s.update", path);
                _cleanup_free_ char *rp = xasprintf("%s.rollback", path);
                r = parse_update(json_object_get(o, "update"), up, &s->update, errp);
                if (r < 0)
                        return r;
                r = parse_update(json_object_get(o, "rollback"), rp, &s->rollback, errp);
                if (r < 0)
                        return r;
        }
        {
                const json_t *pl = json_object_get(o, "placement");
                _cleanup_free_ char *pp = xasprintf("%s.placement", path);
                if (pl && !json_is_null(pl)) {
                        r = get_strv(pl, "constraints", pp, &s->constraints, errp);
                        if (r < 0)
                                return r;
                        r = get_uint(pl, "max_replicas_per_node", pp, MODEL_REPLICAS_MAX, 0, &u,
                                     errp);
                        if (r < 0)
                                return r;
                        s->max_per_node = (unsigned)u;
                }
        }
        {
                _cleanup_free_ char *pp = xasprintf("%s.pod", path);
                const json_t *pod = json_object_get(o, "pod");
                if (!pod)
                        return bad(errp, pp, "missing");
                r = parse_pod(stack, pod, pp, s, errp);
                if (r < 0)
                        return r;
        }

        ro = json_object_get(o, "x-rollout");
        if (ro && !json_is_null(ro)) {
                _cleanup_free_ char *rp = xasprintf("%s.x-rollout", path);
                if (!json_is_object(ro))
                        return bad(errp, rp, "expected an object");
                r = get_enum(ro, "state", rp, rollout_table, _ROLLOUT_MAX, ROLLOUT_NONE, &x, errp);
                if (r < 0)
                        return r;
                s->rollout = x;
                r = get_str(ro, "previous_hash", rp, false, &s->previous_hash, errp);
                if (r < 0)
                        return r;
                if (s->rollout == ROLLOUT_ROLLBACK && !s->previous_hash) {
                        _cleanup_free_ char *p = xasprintf("%s.previous_hash", rp);
                        return bad(errp, p, "required when state is rollback");
                }
        }
        return 0;
}

static int service_cmp(const void *a, const void *b) {
        return strcmp(((const struct model_service *)a)->name,
                      ((const struct model_service *)b)->name);
}

static int parse_up(const json_t *o, struct up_options *up, struct err **errp) {
        int r;

        up->node_timeout_ms = 30000;
        if (!o || json_is_null(o))
                return 0;
        if (!json_is_object(o))
                return bad(errp, "up", "expected an object");
        r = get_bool(o, "force_recreate", "up", false, &up->force_recreate, errp);
        if (r >= 0)
                r = get_bool(o, "no_recreate", "up", false, &up->no_recreate, errp);
        if (r >= 0)
                r = get_bool(o, "remove_orphans", "up", false, &up->remove_orphans, errp);
        if (r >= 0)
                r = get_strv(o, "services", "up", &up->services, errp);
        if (r >= 0)
                r = get_uint(o, "generation", "up", INT64_MAX, 0, &up->generation, errp);
        if (r >= 0)
                r = get_uint(o, "node_timeout_ms", "up", UINT32_MAX, 30000, &up->node_timeout_ms,
                             errp);
        if (r < 0)
                return r;
        if (up->force_recreate && up->no_recreate)
                return bad(errp, "up.no_recreate", "cannot be combined with force_recreate");
        return 0;
}

int model_stack_from_json(const json_t *j, struct model_stack **ret, struct err **errp) {
        _cleanup_(model_stack_freep) struct model_stack *s = NULL;
        const json_t *svcs, *o;
        const char *key;
        int r;

        if (!json_is_object(j))
                return bad(errp, "(model)", "expected an object");
        if (json_get_int(j, "version", 1) != 1)
                return bad(errp, "version", "unsupported model version (expected 1)");
        s = xnew0(struct model_stack, 1);
        r = get_str(j, "name", "(model)", true, &s->name, errp);
        if (r < 0)
                return r;
        svcs = json_object_get(j, "services");
        if (!json_is_object(svcs))
                return bad(errp, "services", "expected an object");
        if (json_object_size(svcs) > MODEL_SERVICES_MAX)
                return bad(errp, "services", "too many services");
        s->services = xnew0(struct model_service, json_object_size(svcs));
        json_object_foreach ((json_t *)svcs, key, o) {
                r = parse_service(j, key, o, &s->services[s->n_services++], errp);
                if (r < 0)
                        return r;
        }
        qsort_safe(s->services, s->n_services, sizeof(*s->services), service_cmp);
        r = parse_up(json_object_get(j, "up"), &s->up, errp);
        if (r < 0)
                return r;
        STRV_FOREACH (name, s->up.services)
                if (!model_stack_find(s, *name)) {
                        _cleanup_free_ char *m = xasprintf("unknown service '%s'", *name);
                        return bad(errp, "up.services", m);
                }
        *ret = TAKE_PTR(s);
        return 0;
}

struct model_stack *model_stack_free(struct model_stack *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_services; i++)
                service_done(&s->services[i]);
        free(s->services);
        free(s->name);
        strv_free(s->up.services);
        free(s);
        return NULL;
}

void model_stack_freep(struct model_stack **s) {
        *s = model_stack_free(*s);
}

const struct model_service *model_stack_find(const struct model_stack *s, const char *name) {
        struct model_service key = {.name = (char *)name};

        return bsearch(&key, s->services, s->n_services, sizeof(*s->services), service_cmp);
}

/* ---- observed ---- */

static int parse_node(const json_t *o, const char *path, struct obs_node *n, struct err **errp) {
        const json_t *labels, *v, *alloc, *used;
        const char *k;
        int r;

        if (!json_is_object(o))
                return bad(errp, path, "expected an object");
        r = get_str(o, "id", path, true, &n->id, errp);
        if (r >= 0)
                r = get_str(o, "name", path, false, &n->name, errp);
        if (r >= 0)
                r = get_str(o, "role", path, false, &n->role, errp);
        if (r >= 0)
                r = get_str(o, "availability", path, false, &n->availability, errp);
        if (r >= 0)
                r = get_bool(o, "ready", path, false, &n->ready, errp);
        if (r >= 0)
                r = get_bool(o, "reported", path, false, &n->reported, errp);
        if (r >= 0)
                r = get_bool(o, "fenced", path, false, &n->fenced, errp);
        if (r >= 0)
                r = get_uint(o, "last_heartbeat_usec", path, INT64_MAX, 0, &n->last_heartbeat_usec,
                             errp);
        if (r >= 0)
                r = get_strv(o, "volumes", path, &n->volumes, errp);
        if (r < 0)
                return r;
        if (!n->name)
                n->name = xstrdup(n->id);
        if (!n->role)
                n->role = xstrdup("worker");
        if (!n->availability)
                n->availability = xstrdup("active");
        if (!streq(n->role, "manager") && !streq(n->role, "worker")) {
                _cleanup_free_ char *p = xasprintf("%s.role", path);
                return bad(errp, p, "expected manager or worker");
        }
        if (!streq(n->availability, "active") && !streq(n->availability, "pause") &&
            !streq(n->availability, "drain")) {
                _cleanup_free_ char *p = xasprintf("%s.availability", path);
                return bad(errp, p, "expected active, pause or drain");
        }

        alloc = json_object_get(o, "allocatable");
        used = json_object_get(o, "allocated");
        {
                _cleanup_free_ char *ap = xasprintf("%s.allocatable", path);
                _cleanup_free_ char *up = xasprintf("%s.allocated", path);
                r = get_uint(alloc, "cpu_millis", ap, UINT32_MAX, 1000000, &n->cpu_millis, errp);
                if (r >= 0)
                        r = get_uint(alloc, "memory", ap, UINT64_C(1) << 56, UINT64_C(1) << 50,
                                     &n->memory, errp);
                if (r >= 0)
                        r = get_uint(used, "cpu_millis", up, UINT32_MAX, 0, &n->used_cpu_millis,
                                     errp);
                if (r >= 0)
                        r = get_uint(used, "memory", up, UINT64_C(1) << 56, 0, &n->used_memory,
                                     errp);
                if (r < 0)
                        return r;
        }

        labels = json_object_get(o, "labels");
        if (labels && !json_is_null(labels) && !json_is_object(labels)) {
                _cleanup_free_ char *p = xasprintf("%s.labels", path);
                return bad(errp, p, "expected an object of strings");
        }
        if (json_is_object(labels))
                n->labels = xnew0(struct obs_label, json_object_size(labels));
        json_object_foreach ((json_t *)labels, k, v) {
                if (!json_is_string(v)) {
                        _cleanup_free_ char *p = xasprintf("%s.labels.%s", path, k);
                        return bad(errp, p, "expected a string");
                }
                n->labels[n->n_labels].key = xstrdup(k);
                n->labels[n->n_labels++].value = xstrdup(json_string_value(v));
        }
        return 0;
}

static int parse_pod_obs(const json_t *o, const char *path, struct obs_pod *p, struct err **errp) {
        uint64_t u;
        int64_t code;
        int x, r;

        if (!json_is_object(o))
                return bad(errp, path, "expected an object");
        r = get_str(o, "stack", path, true, &p->stack, errp);
        if (r >= 0)
                r = get_str(o, "service", path, true, &p->service, errp);
        if (r >= 0)
                r = get_str(o, "node", path, true, &p->node, errp);
        if (r >= 0)
                r = get_str(o, "hash", path, true, &p->hash, errp);
        if (r >= 0)
                r = get_uint(o, "slot", path, MODEL_REPLICAS_MAX, 0, &u, errp);
        if (r < 0)
                return r;
        if (u == 0) {
                _cleanup_free_ char *sp = xasprintf("%s.slot", path);
                return bad(errp, sp, "expected an integer >= 1");
        }
        p->slot = (unsigned)u;
        r = get_enum(o, "state", path, pod_state_table, _POD_STATE_MAX, -1, &x, errp);
        if (r < 0)
                return r;
        if (x < 0) {
                _cleanup_free_ char *sp = xasprintf("%s.state", path);
                return bad(errp, sp, "missing");
        }
        p->state = x;
        r = get_enum(o, "health", path, health_table, _HEALTH_MAX, HEALTH_NONE, &x, errp);
        if (r < 0)
                return r;
        p->health = x;
        code = json_get_int(o, "exit_code", 0);
        if (code < -255 || code > 255) {
                _cleanup_free_ char *sp = xasprintf("%s.exit_code", path);
                return bad(errp, sp, "out of range");
        }
        p->exit_code = (int)code;
        r = get_uint(o, "started_at_usec", path, INT64_MAX, 0, &p->started_at_usec, errp);
        if (r >= 0)
                r = get_uint(o, "restarts", path, UINT32_MAX, 0, &u, errp);
        if (r < 0)
                return r;
        p->restarts = (unsigned)u;
        r = get_uint(o, "generation", path, INT64_MAX, 0, &p->generation, errp);
        if (r >= 0)
                r = get_bool(o, "superseded", path, false, &p->superseded, errp);
        if (r < 0)
                return r;
        {
                const json_t *res = json_object_get(o, "reserved");
                _cleanup_free_ char *rp = xasprintf("%s.reserved", path);
                if (res && !json_is_null(res) && !json_is_object(res))
                        return bad(errp, rp, "expected an object");
                r = get_uint(res, "cpu_millis", rp, UINT32_MAX, 0, &p->reserved_cpu_millis, errp);
                if (r >= 0)
                        r = get_uint(res, "memory", rp, UINT64_C(1) << 56, 0, &p->reserved_memory,
                                     errp);
        }
        return r;
}

static int node_cmp(const void *a, const void *b) {
        return strcmp(((const struct obs_node *)a)->id, ((const struct obs_node *)b)->id);
}

int observed_from_json(const json_t *j, struct observed **ret, struct err **errp) {
        _cleanup_(observed_freep) struct observed *o = NULL;
        const json_t *nodes, *pods, *v;
        size_t i;
        int r;

        if (!json_is_object(j))
                return bad(errp, "(observed)", "expected an object");
        nodes = json_object_get(j, "nodes");
        pods = json_object_get(j, "pods");
        if (nodes && !json_is_array(nodes))
                return bad(errp, "nodes", "expected an array");
        if (pods && !json_is_array(pods))
                return bad(errp, "pods", "expected an array");
        o = xnew0(struct observed, 1);
        o->nodes = xnew0(struct obs_node, json_array_size(nodes) + 1);
        o->pods = xnew0(struct obs_pod, json_array_size(pods) + 1);
        json_array_foreach (nodes, i, v) {
                _cleanup_free_ char *p = xasprintf("nodes[%zu]", i);
                r = parse_node(v, p, &o->nodes[o->n_nodes++], errp);
                if (r < 0)
                        return r;
        }
        qsort_safe(o->nodes, o->n_nodes, sizeof(*o->nodes), node_cmp);
        for (i = 1; i < o->n_nodes; i++)
                if (streq(o->nodes[i - 1].id, o->nodes[i].id)) {
                        _cleanup_free_ char *m =
                                xasprintf("duplicate node id '%s'", o->nodes[i].id);
                        return bad(errp, "nodes", m);
                }
        json_array_foreach (pods, i, v) {
                _cleanup_free_ char *p = xasprintf("pods[%zu]", i);
                r = parse_pod_obs(v, p, &o->pods[o->n_pods++], errp);
                if (r < 0)
                        return r;
                if (!observed_find_node(o, o->pods[o->n_pods - 1].node)) {
                        _cleanup_free_ char *np = xasprintf("%s.node", p);
                        _cleanup_free_ char *m =
                                xasprintf("unknown node '%s'", o->pods[o->n_pods - 1].node);
                        return bad(errp, np, m);
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

struct observed *observed_free(struct observed *o) {
        if (!o)
                return NULL;
        for (size_t i = 0; i < o->n_nodes; i++) {
                struct obs_node *n = &o->nodes[i];
                free(n->id);
                free(n->name);
                free(n->role);
                free(n->availability);
                for (size_t k = 0; k < n->n_labels; k++) {
                        free(n->labels[k].key);
                        free(n->labels[k].value);
                }
                free(n->labels);
                strv_free(n->volumes);
        }
        for (size_t i = 0; i < o->n_pods; i++) {
                free(o->pods[i].stack);
                free(o->pods[i].service);
                free(o->pods[i].node);
                free(o->pods[i].hash);
        }
        free(o->nodes);
        free(o->pods);
        free(o);
        return NULL;
}

void observed_freep(struct observed **o) {
        *o = observed_free(*o);
}

const struct obs_node *observed_find_node(const struct observed *o, const char *id) {
        struct obs_node key = {.id = (char *)id};

        if (!id)
                return NULL;
        return bsearch(&key, o->nodes, o->n_nodes, sizeof(*o->nodes), node_cmp);
}

const char *obs_node_label(const struct obs_node *n, const char *key) {
        for (size_t i = 0; i < n->n_labels; i++)
                if (streq(n->labels[i].key, key))
                        return n->labels[i].value;
        return NULL;
}
