/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "reconcile.h"
#include "strv.h"
#include "xalloc.h"

#define DOC_MAX STORE_VALUE_MAX

char *key_pod(const char *stack, const char *service, unsigned slot) {
        return xasprintf("pods/%s/%s/%u", stack, service, slot);
}

char *key_assignment(const char *node, const char *stack, const char *service, unsigned slot,
                     const char *hash) {
        return xasprintf("assignments/%s/%s.%s.%u.%.12s", node, stack, service, slot,
                         hash ? hash : "-");
}

/* The pod template whose hash is hash: the service's current one or the previous one kept in
 * its rollout record. Borrowed from stack. */
static const json_t *find_template(const json_t *stack, const char *service, const char *hash) {
        const json_t *svc = json_object_get(json_object_get(stack, "services"), service);
        const json_t *ro = json_object_get(svc, "x-rollout");

        if (streq_ptr(json_get_str(svc, "hash", NULL), hash))
                return json_object_get(svc, "pod");
        if (streq_ptr(json_get_str(ro, "previous_hash", NULL), hash))
                return json_object_get(ro, "previous_pod");
        return NULL;
}

/* The sum of the template's container reservations, as the agent reports it back. */
static json_t *reserved_of(const json_t *tmpl) {
        const json_t *c;
        double cpus = 0;
        json_int_t mem = 0;
        size_t i;

        json_array_foreach (json_object_get(tmpl, "containers"), i, c) {
                const json_t *r = json_object_get(json_object_get(c, "resources"), "reservations");
                if (json_is_number(json_object_get(r, "cpus")))
                        cpus += json_number_value(json_object_get(r, "cpus"));
                if (json_is_integer(json_object_get(r, "memory")))
                        mem += json_integer_value(json_object_get(r, "memory"));
        }
        return json_pack("{s:I, s:I}", "cpu_millis", (json_int_t)(cpus * 1000.0 + 0.5), "memory",
                         mem);
}

static int se_start(void *ud, const char *stack, const struct plan_op *op, struct err **errp) {
        struct store_exec *x = ud;
        const json_t *tmpl = find_template(x->stack, op->service, op->hash);
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_free_ char *pk = NULL, *ak = NULL, *val = NULL;
        int r;

        if (!tmpl)
                return err_setx(errp, ENOENT, "no pod template %.12s for service '%s'",
                                op->hash ? op->hash : "-", op->service);
        rec = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:o, s:O}", "stack", stack, "service",
                        op->service, "slot", (json_int_t)op->slot, "node", op->node, "hash",
                        op->hash, "generation", (json_int_t)op->generation, "reserved",
                        reserved_of(tmpl), "pod", tmpl);
        if (!rec)
                return err_setx(errp, EINVAL, "cannot build the pod record of '%s/%u'", op->service,
                                op->slot);
        val = json_dump_str(rec, false);
        pk = key_pod(stack, op->service, op->slot);
        ak = key_assignment(op->node, stack, op->service, op->slot, op->hash);
        struct store_op ops[2] = {
                {STORE_OP_PUT, pk, val, STORE_ANY_REV, true},
                {STORE_OP_PUT, ak, val, STORE_ANY_REV, true},
        };
        struct store_op all[3] = {ops[0], ops[1]};
        size_t n = 2;
        _cleanup_free_ char *old_ak = NULL, *old_val = NULL;

        /* A pod moved off a down node keeps its old assignment, marked superseded: should the
         * node come back, its agent keeps a pod that still runs (but never creates or restarts
         * it) until the planner sees the replacement settled and stops it, so the slot is never
         * left without a healthy pod, and a node that comes back empty starts nothing. */
        if (op->kind == PLAN_START && op->old_node && !streq(op->old_node, op->node)) {
                struct store_kv kv = {};
                _cleanup_json_ json_t *oj = NULL;

                old_ak = key_assignment(op->old_node, stack, op->service, op->slot, op->old_hash);
                if (store_get(x->store, old_ak, &kv, NULL) >= 0 &&
                    json_parse(kv.value, strlen(kv.value), old_ak, &oj, NULL) >= 0 &&
                    json_is_object(oj) && !json_is_true(json_object_get(oj, "superseded"))) {
                        json_object_set_new(oj, "superseded", json_true());
                        old_val = json_dump_str(oj, false);
                        all[n++] = (struct store_op){STORE_OP_PUT, old_ak, old_val,
                                                     (int64_t)kv.mod_rev, true};
                }
                store_kv_done(&kv);
        }
        r = store_txn(x->store, all, n, NULL, errp);
        return r < 0 ? r : 0;
}

/* Deletes the assignment, and the slot's pod record when it still names this pod. */
static int unassign(struct store_exec *x, const char *stack, const char *service, unsigned slot,
                    const char *node, const char *hash, struct err **errp) {
        _cleanup_free_ char *pk = key_pod(stack, service, slot);
        _cleanup_free_ char *ak = key_assignment(node, stack, service, slot, hash);
        _cleanup_json_ json_t *j = NULL;
        struct store_kv kv = {};
        struct store_op ops[2];
        size_t n = 0;
        int r;

        ops[n++] = (struct store_op){STORE_OP_DELETE, ak, NULL, STORE_ANY_REV};
        r = store_get(x->store, pk, &kv, NULL);
        if (r >= 0 && json_parse(kv.value, strlen(kv.value), pk, &j, NULL) >= 0 &&
            streq_ptr(json_get_str(j, "node", NULL), node) &&
            streq_ptr(json_get_str(j, "hash", NULL), hash))
                /* CAS: a concurrent start for the slot wins over this delete. */
                ops[n++] = (struct store_op){STORE_OP_DELETE, pk, NULL, (int64_t)kv.mod_rev};
        store_kv_done(&kv);
        r = store_txn(x->store, ops, n, NULL, errp);
        return r < 0 ? r : 0;
}

static int se_stop(void *ud, const char *stack, const struct plan_op *op, const char *node,
                   const char *hash, struct err **errp) {
        return unassign(ud, stack, op->service, op->slot, node, hash, errp);
}

static int se_remove(void *ud, const char *stack, const struct plan_op *op, struct err **errp) {
        return unassign(ud, stack, op->service, op->slot, op->node, op->hash, errp);
}

static int se_set_rollout(void *ud, const char *stack, const char *service,
                          enum rollout_state state, struct err **errp) {
        struct store_exec *x = ud;
        _cleanup_free_ char *key = xasprintf("stacks/%s", stack), *val = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct store_kv kv = {};
        json_t *svc, *ro;
        int r;

        r = store_get(x->store, key, &kv, errp);
        if (r < 0)
                return r;
        r = json_parse(kv.value, strlen(kv.value), key, &j, errp);
        if (r < 0) {
                store_kv_done(&kv);
                return r;
        }
        svc = json_object_get(json_object_get(j, "services"), service);
        if (!json_is_object(svc)) {
                store_kv_done(&kv);
                return err_setx(errp, ENOENT, "stack '%s' has no service '%s'", stack, service);
        }
        ro = json_object_get(svc, "x-rollout");
        if (!json_is_object(ro)) {
                ro = json_object();
                json_object_set_new(svc, "x-rollout", ro);
        }
        json_object_set_new(ro, "state", json_string(rollout_state_to_string(state)));
        val = json_dump_str(j, false);
        /* CAS on the revision read: a concurrent `up` is not overwritten. */
        r = store_put(x->store, key, val, (int64_t)kv.mod_rev, NULL, errp);
        store_kv_done(&kv);
        return r < 0 ? r : 0;
}

const struct executor_ops store_exec_ops = {
        .start = se_start,
        .stop = se_stop,
        .remove = se_remove,
        .set_rollout = se_set_rollout,
};

/* Pods the controller placed (pods/<stack>/<svc>/<slot>) that their node has not reported yet
 * are observed as "created" on that node: a placement in flight counts like a pod that is
 * starting, so later passes neither place the slot again nor start a second move. */
static int add_pending(struct store *s, const json_t *nodes, json_t *pods, struct err **errp) {
        _cleanup_json_ json_t *seen = json_object(), *known = json_object();
        json_t **recs = NULL;
        struct store_kv *kvs = NULL;
        size_t n = 0, i;
        json_t *p;
        int r;

        json_array_foreach (nodes, i, p)
                json_object_set_new(known, json_get_str(p, "id", ""), json_true());
        json_array_foreach (pods, i, p) {
                _cleanup_free_ char *k = xasprintf(
                        "%s/%s/%lld/%s/%s", json_get_str(p, "stack", ""),
                        json_get_str(p, "service", ""), (long long)json_get_int(p, "slot", 0),
                        json_get_str(p, "node", ""), json_get_str(p, "hash", ""));
                json_object_set_new(seen, k, json_true());
        }
        r = store_list(s, "pods/", &kvs, &n, errp);
        if (r < 0)
                return r;
        /* Each record parsed once, for both loops below (10 000 of them at scale). */
        recs = xnew0(json_t *, n + 1);
        for (i = 0; i < n; i++) {
                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &recs[i], NULL) < 0)
                        recs[i] = NULL;
                /* Only the small fields are read below: the template goes at once (10 000
                 * parsed templates held together were a third of the controller's peak). */
                json_object_del(recs[i], "pod");
                json_object_del(recs[i], "reserved");
        }
        /* A reported pod whose slot's record names another node or template is superseded: the
         * planner never prefers it as the slot's pod. */
        {
                _cleanup_json_ json_t *want = json_object();

                for (i = 0; i < n; i++) {
                        const json_t *rec = recs[i];
                        _cleanup_free_ char *k = NULL;

                        if (!rec)
                                continue;
                        k = xasprintf("%s/%s/%lld", json_get_str(rec, "stack", ""),
                                      json_get_str(rec, "service", ""),
                                      (long long)json_get_int(rec, "slot", 0));
                        json_object_set_new(want, k,
                                            json_sprintf("%s/%s", json_get_str(rec, "node", ""),
                                                         json_get_str(rec, "hash", "")));
                }
                json_array_foreach (pods, i, p) {
                        _cleanup_free_ char *k =
                                xasprintf("%s/%s/%lld", json_get_str(p, "stack", ""),
                                          json_get_str(p, "service", ""),
                                          (long long)json_get_int(p, "slot", 0));
                        _cleanup_free_ char *v = xasprintf("%s/%s", json_get_str(p, "node", ""),
                                                           json_get_str(p, "hash", ""));
                        const char *w = json_string_value(json_object_get(want, k));

                        if (w && !streq(w, v))
                                json_object_set_new(p, "superseded", json_true());
                }
        }
        for (i = 0; i < n; i++) {
                const json_t *rec = recs[i];
                _cleanup_free_ char *k = NULL;
                const char *node;

                if (!json_is_object(rec))
                        continue;
                node = json_get_str(rec, "node", NULL);
                if (!node || !json_object_get(known, node) || json_get_int(rec, "slot", 0) < 1 ||
                    !json_get_str(rec, "stack", NULL) || !json_get_str(rec, "service", NULL) ||
                    !json_get_str(rec, "hash", NULL))
                        continue;
                k = xasprintf("%s/%s/%lld/%s/%s", json_get_str(rec, "stack", ""),
                              json_get_str(rec, "service", ""),
                              (long long)json_get_int(rec, "slot", 0), node,
                              json_get_str(rec, "hash", ""));
                if (json_object_get(seen, k))
                        continue;
                json_array_append_new(pods,
                                      json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "stack",
                                                json_get_str(rec, "stack", ""), "service",
                                                json_get_str(rec, "service", ""), "slot",
                                                (json_int_t)json_get_int(rec, "slot", 0), "node",
                                                node, "hash", json_get_str(rec, "hash", ""),
                                                "state", "created", "generation",
                                                (json_int_t)json_get_int(rec, "generation", 0)));
        }
        for (i = 0; i < n; i++)
                json_decref(recs[i]);
        free(recs);
        store_kvs_free(kvs, n);
        return 0;
}

int observed_from_store(struct store *s, struct observed **ret, struct err **errp) {
        _cleanup_json_ json_t *all = json_pack("{s:[], s:[]}", "nodes", "pods");
        json_t *nodes = json_object_get(all, "nodes"), *pods = json_object_get(all, "pods");
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int r;

        r = store_list(s, "nodes/", &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_t *doc = NULL, *p;
                size_t k;

                r = json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &doc, errp);
                if (r < 0)
                        goto out;
                if (!json_is_object(doc)) {
                        json_decref(doc);
                        r = err_setx(errp, EINVAL, "%s: expected an object", kvs[i].key);
                        goto out;
                }
                json_array_foreach (json_object_get(doc, "pods"), k, p)
                        json_array_append(pods, p);
                json_object_del(doc, "pods");
                json_array_append_new(nodes, doc);
        }
        r = add_pending(s, nodes, pods, errp);
        if (r >= 0)
                r = observed_from_json(all, ret, errp);
out:
        store_kvs_free(kvs, n);
        return r;
}

int reconcile_stack(struct store *s, const char *name, uint64_t now_usec, uint64_t node_timeout_ms,
                    struct plan *ret_plan, struct err **errp) {
        return reconcile_stack_fixed(s, name, now_usec, node_timeout_ms, NULL, NULL, ret_plan,
                                     errp);
}

int reconcile_stack_fixed(struct store *s, const char *name, uint64_t now_usec,
                          uint64_t node_timeout_ms, observed_fix_fn *fix, void *fix_ud,
                          struct plan *ret_plan, struct err **errp) {
        _cleanup_free_ char *key = xasprintf("stacks/%s", name);
        _cleanup_(model_stack_freep) struct model_stack *m = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct store_kv kv = {};
        struct plan p = {};
        int r;

        r = store_get(s, key, &kv, errp);
        if (r < 0)
                return r;
        r = json_parse(kv.value, strlen(kv.value), key, &j, errp);
        store_kv_done(&kv);
        if (r >= 0)
                r = model_stack_from_json(j, &m, errp);
        if (r < 0) {
                (void)err_wrap(errp, "stack '%s'", name);
                return r;
        }
        if (node_timeout_ms)
                m->up.node_timeout_ms = node_timeout_ms;
        r = observed_from_store(s, &o, errp);
        if (r < 0)
                return r;
        if (fix)
                fix(o, fix_ud);
        r = plan_compute(m, o, now_usec, &p, errp);
        if (r < 0) {
                (void)err_wrap(errp, "plan stack '%s'", name);
                return r;
        }

        struct store_exec x = {.store = s, .stack = j};
        r = plan_apply(&p, &store_exec_ops, &x, errp);
        if (ret_plan)
                *ret_plan = p;
        else
                plan_done(&p);
        return r < 0 ? r : 0;
}
