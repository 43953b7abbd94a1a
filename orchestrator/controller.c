/* SPDX-License-Identifier: Apache-2.0 */
/* The controller's core: up, down, listings, node membership and the reconcile loop, over the
 * store. No HTTP here (controller_api.c), no engine anywhere. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controller_int.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "model.h"
#include "nodes.h"
#include "plan.h"
#include "reconcile.h"
#include "stack_watch.h"
#include "strv.h"
#include "mesh.h"
#include "overlay.h"
#include "secrets.h"
#include "tunnel.h"
#include "vip.h"
#include "xalloc.h"

#define NAME_MAX_LEN 63
#define NODE_ERRORS_MAX 1000 /* create errors kept per node report */

static int read_doc(struct store *s, const char *key, json_t **ret, uint64_t *ret_rev,
                    struct err **errp) {
        struct store_kv kv = {};
        int r;

        r = store_get(s, key, &kv, errp);
        if (r < 0)
                return r;
        r = json_parse(kv.value, strlen(kv.value), key, ret, errp);
        if (r >= 0 && ret_rev)
                *ret_rev = kv.mod_rev;
        store_kv_done(&kv);
        return r;
}

static int write_doc(struct store *s, const char *key, const json_t *j, int64_t expect,
                     struct err **errp) {
        _cleanup_free_ char *v = json_dump_str(j, false);

        return store_put(s, key, v, expect, NULL, errp);
}

/* Stack and node names become store key components and container labels. */
static int check_name(const char *what, const char *name, struct err **errp) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > NAME_MAX_LEN)
                return err_setx(errp, EINVAL, "%s name must be 1-%d characters", what,
                                NAME_MAX_LEN);
        for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && i > 0)))
                        return err_setx(errp, EINVAL,
                                        "%s name '%s' may only hold letters, digits, '-', '_' "
                                        "and '.'",
                                        what, name);
        }
        return 0;
}

/* ---- assignment revisions per node (fed by a store watch) ---- */

static struct node_rev *find_rev(struct controller *c, const char *node) {
        for (size_t i = 0; i < c->n_revs; i++)
                if (streq(c->revs[i].node, node))
                        return &c->revs[i];
        return NULL;
}

uint64_t controller_assignment_rev(struct controller *c, const char *node) {
        struct node_rev *nr = find_rev(c, node);

        return nr ? nr->rev : 0;
}

static void schedule(struct controller *c) {
        if (c->loop && (!ev_is_active(&c->kick) || c->kick_delayed)) {
                ev_timer_stop(c->loop, &c->kick);
                c->kick_delayed = false;
                ev_timer_set(&c->kick, 0., 0.);
                ev_timer_start(c->loop, &c->kick);
        }
}

/* A node changed (every status report is a heartbeat and writes nodes/<id>). With many nodes a
 * pass per report would leave the loop no time for the reports themselves, and heartbeats
 * handled late make live nodes look down (bench/sched.sh: 100 nodes x 100 pods). So such a pass
 * starts CONTROLLER_NODE_PASS_GAP_SEC, and at least twice the last pass's duration, after the
 * previous one ended: at most a third of the loop goes to passes. Stacks and assignment
 * waiters still go at once (schedule). */
static void schedule_node_pass(struct controller *c) {
        double gap, delay;

        if (!c->loop || ev_is_active(&c->kick))
                return;
        gap = MAX(CONTROLLER_NODE_PASS_GAP_SEC, 2.0 * c->pass_seconds);
        delay = c->pass_end + gap - ev_time();
        if (delay <= 0.0) {
                schedule(c);
                return;
        }
        ev_timer_set(&c->kick, delay, 0.);
        ev_timer_start(c->loop, &c->kick);
        c->kick_delayed = true;
}

static int watch_assignments(const struct store_event *ev, void *ud) {
        struct controller *c = ud;
        const char *rest = ev->key + strlen("assignments/");
        const char *slash = strchr(rest, '/');
        _cleanup_free_ char *node = NULL;
        struct node_rev *nr;

        if (!slash)
                return 0;
        node = xstrndup(rest, (size_t)(slash - rest));
        nr = find_rev(c, node);
        if (!nr) {
                XGROW(c->revs, c->alloc_revs, c->n_revs + 1);
                nr = &c->revs[c->n_revs++];
                nr->node = TAKE_PTR(node);
        }
        nr->rev = ev->rev;
        c->waiters_due = true;
        schedule(c);
        return 0;
}

/* A stack or its VIPs changed: what assignment answers carry of it must be computed again, and
 * a parked watch must not be told "unchanged". */
static void shared_changed(struct controller *c) {
        json_decref(c->shared_cache);
        c->shared_cache = NULL;
        c->shared_gen++;
}

static int watch_desired(const struct store_event *ev, void *ud) {
        struct controller *c = ud;

        (void)ev;
        shared_changed(c);
        c->dirty = true;
        schedule(c);
        return 0;
}

void ctl_want_pass(struct controller *c) {
        c->dirty = true;
        schedule(c);
}

bool controller_pass_wanted(const struct controller *c) {
        return c->dirty;
}

static int watch_vips(const struct store_event *ev, void *ud) {
        (void)ev;
        shared_changed(ud);
        return 0;
}

static int watch_nodes(const struct store_event *ev, void *ud) {
        struct controller *c = ud;

        /* The lazy heartbeat writes change nothing the planner reads. */
        if (c->hb_writing)
                return 0;
        ctl_live_node_changed(c, ev->key, ev->type == STORE_EVENT_DELETE);
        c->dirty = true;
        schedule_node_pass(c);
        return 0;
}

/* ---- the loop ---- */

/* Parked assignment watches are answered first, so agents start on new assignments while the
 * pass runs. Then the pass, unless the last one (or an up) ended less than its spacing ago
 * (CONTROLLER_NODE_PASS_GAP_SEC, at least twice its duration): then the kick is re-armed for
 * then, and the reports and watches that arrive meanwhile are handled first. */
static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct controller *c = container_of(w, struct controller, kick);
        double delay;

        (void)revents;
        c->kick_delayed = false;
        if (c->waiters_due) {
                c->waiters_due = false;
                ctl_waiters_flush(c, false);
        }
        if (!c->dirty)
                return;
        delay = c->pass_end + MAX(CONTROLLER_NODE_PASS_GAP_SEC, 2.0 * c->pass_seconds) - ev_time();
        if (delay > 0.0) {
                ev_timer_set(&c->kick, delay, 0.);
                ev_timer_start(loop, &c->kick);
                c->kick_delayed = true;
                return;
        }
        {
                double t0 = ev_time();

                controller_reconcile_all(c, realtime_usec());
                c->pass_end = ev_time();
                c->pass_seconds = c->pass_end - t0;
        }
}

static void resync_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct controller *c = container_of(w, struct controller, resync);

        (void)loop;
        (void)revents;
        controller_reconcile_all(c, realtime_usec());
}

/* Remembers the WAIT ops of a stack's last plan: why a slot waits (unschedulable, a
 * dependency, a fenced stateful pod...), for `berth service ps`. */
static void remember_waits(struct controller *c, const char *stack, const struct plan *p) {
        json_t *list = json_array();

        if (!c->waits)
                c->waits = json_object();
        for (size_t i = 0; i < p->n_ops; i++)
                if (p->ops[i].kind == PLAN_WAIT && p->ops[i].slot > 0)
                        json_array_append_new(list, json_pack("{s:s, s:I, s:s?, s:s}", "service",
                                                              p->ops[i].service, "slot",
                                                              (json_int_t)p->ops[i].slot, "node",
                                                              p->ops[i].node, "reason",
                                                              p->ops[i].reason));
        json_object_set_new(c->waits, stack, list);
}

/* A pass's (or an up's) writes go into the store as one commit (store_batch_begin). A batch that
 * cannot begin or commit is logged: the writes then are one commit each, or lost with the
 * commit, and the next pass (level-triggered) derives them again. */
static bool batch_begin(struct controller *c) {
        _cleanup_err_ struct err *e = NULL;

        if (store_batch_begin(c->store, &e) < 0) {
                log_warn(NULL, "Failed to begin a store batch, ignoring: %s", err_msg(e));
                return false;
        }
        return true;
}

static void batch_end(struct controller *c, bool began) {
        _cleanup_err_ struct err *e = NULL;

        if (began && store_batch_end(c->store, &e) < 0)
                log_warn(NULL, "Failed to commit a store batch, ignoring: %s", err_msg(e));
}

int controller_reconcile_all(struct controller *c, uint64_t now_usec) {
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int total = 0, r;
        bool batched;

        if (c->in_pass)
                return 0;
        c->in_pass = true;
        c->dirty = false;
        batched = batch_begin(c);
        r = store_list(c->store, "stacks/", &kvs, &n, NULL);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *name = kvs[i].key + strlen("stacks/");
                _cleanup_err_ struct err *e = NULL;
                struct plan p = {};
                int k;

                if (!backoff_ready(&c->backoff, name, now_usec))
                        continue;
                k = reconcile_stack_fixed(c->store, name, now_usec, c->grace_usec / USEC_PER_MSEC,
                                          ctl_fix_observed, c, &p, &e);
                if (k < 0 && k != -ENOENT) {
                        uint64_t next = backoff_failed(&c->backoff, name, now_usec);
                        log_warn(name,
                                 "Failed to reconcile stack '%s' (next try in %" PRIu64 " ms): %s",
                                 name, (uint64_t)((next - now_usec) / USEC_PER_MSEC), err_msg(e));
                } else
                        backoff_succeeded(&c->backoff, name);
                if (k >= 0)
                        remember_waits(c, name, &p);
                for (size_t j = 0; j < p.n_ops; j++)
                        if (p.ops[j].kind != PLAN_KEEP && p.ops[j].kind != PLAN_WAIT) {
                                _cleanup_free_ char *on = plan_op_name(&p.ops[j]);
                                log_info(name, "%s %s on %s: %s",
                                         plan_kind_to_string(p.ops[j].kind), on,
                                         p.ops[j].node ? p.ops[j].node : "-", p.ops[j].reason);
                                total++;
                        }
                plan_done(&p);
        }
        store_kvs_free(kvs, n);
        ctl_overlay_pass(c);
        batch_end(c, batched);
        c->in_pass = false;
        return total;
}

int controller_new(struct ev_loop *loop, struct store *store_take, struct controller **ret,
                   struct err **errp) {
        _cleanup_(controller_freep) struct controller *c = xnew0(struct controller, 1);
        uint64_t rev;
        int r;

        c->store = store_take;
        c->loop = loop;
        c->grace_usec = NODE_GRACE_DEFAULT_USEC;
        /* Every node starts as "not reported since this controller started" (DESIGN §6). */
        r = nodes_reset_reported(c->store, realtime_usec(), errp);
        if (r < 0)
                return err_wrap(errp, "reset node reports");
        rev = store_revision(c->store);
        r = store_watch(c->store, "assignments/", rev, watch_assignments, c, NULL, errp);
        if (r >= 0)
                r = store_watch(c->store, "stacks/", rev, watch_desired, c, NULL, errp);
        if (r >= 0)
                r = store_watch(c->store, "nodes/", rev, watch_nodes, c, NULL, errp);
        if (r >= 0)
                r = store_watch(c->store, "vips/", rev, watch_vips, c, NULL, errp);
        if (r < 0)
                return r;
        ctl_live_start(c);
        if (loop) {
                ev_timer_init(&c->kick, kick_cb, 0., 0.);
                ev_timer_init(&c->resync, resync_cb, CONTROLLER_RESYNC_SEC, CONTROLLER_RESYNC_SEC);
                ev_timer_start(loop, &c->resync);
                c->dirty = true;
                schedule(c);
        }
        *ret = TAKE_PTR(c);
        return 0;
}

struct controller *controller_free(struct controller *c) {
        if (!c)
                return NULL;
        ctl_waiters_free(c);
        stack_watch_free(c);
        c->tunnel = tunnel_free(c->tunnel);
        if (c->loop) {
                ev_timer_stop(c->loop, &c->kick);
                ev_timer_stop(c->loop, &c->resync);
        }
        ctl_live_stop(c);
        store_free(c->store);
        backoff_done(&c->backoff);
        json_decref(c->stop_timeouts);
        json_decref(c->waits);
        json_decref(c->overlay_digests);
        json_decref(c->shared_cache);
        secrets_set_key_path(c, NULL);
        for (size_t i = 0; i < c->n_revs; i++)
                free(c->revs[i].node);
        free(c->revs);
        free(c);
        return NULL;
}

void controller_freep(struct controller **c) {
        *c = controller_free(*c);
}

struct store *controller_store(struct controller *c) {
        return c->store;
}

void controller_set_node_grace(struct controller *c, uint64_t grace_usec) {
        c->grace_usec = grace_usec ? grace_usec : NODE_GRACE_DEFAULT_USEC;
        ctl_live_regrace(c);
}

uint64_t controller_node_grace(const struct controller *c) {
        return c->grace_usec;
}

/* ---- up ---- */

static json_t *plan_ops_json(const struct plan *p) {
        json_t *a = json_array();

        for (size_t i = 0; i < p->n_ops; i++) {
                const struct plan_op *op = &p->ops[i];
                json_t *o =
                        json_pack("{s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s?}", "op",
                                  plan_kind_to_string(op->kind), "service", op->service, "slot",
                                  (json_int_t)op->slot, "node", op->node, "old_node", op->old_node,
                                  "hash", op->hash, "old_hash", op->old_hash, "reason", op->reason);
                json_array_append_new(a, o);
        }
        return a;
}

/* Carries each service's rollout record: a changed template keeps the previous one beside it,
 * an unchanged one keeps its record. */
static void carry_rollout(json_t *model, const json_t *old) {
        const char *name;
        json_t *svc;

        json_object_foreach (json_object_get(model, "services"), name, svc) {
                const json_t *o = json_object_get(json_object_get(old, "services"), name);
                const char *oh = json_get_str(o, "hash", NULL);
                const char *nh = json_get_str(svc, "hash", NULL);

                if (!json_is_object(svc) || !o)
                        continue;
                if (streq_ptr(oh, nh)) {
                        json_t *ro = json_object_get(o, "x-rollout");
                        if (ro)
                                json_object_set(svc, "x-rollout", ro);
                } else if (oh && json_object_get(o, "pod"))
                        json_object_set_new(svc, "x-rollout",
                                            json_pack("{s:s, s:s, s:O}", "state", "updating",
                                                      "previous_hash", oh, "previous_pod",
                                                      json_object_get(o, "pod")));
        }
}

static int get_opt_bool(const json_t *o, const char *key, bool *ret, struct err **errp) {
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v)) {
                int r = err_setx(errp, EINVAL, "options.%s: expected true or false", key);
                err_set_field(errp, key);
                return r;
        }
        *ret = json_is_true(v);
        return 0;
}

/* force_recreate with an unchanged template: the new pod has the old one's assignment key, so
 * the assignment carries a recreate token the agent compares with its pod's. */
struct up_exec {
        struct store_exec base;
        bool force;
        uint64_t generation;
};

static int ux_start(void *ud, const char *stack, const struct plan_op *op, struct err **errp) {
        struct up_exec *x = ud;
        _cleanup_free_ char *ak = NULL;
        _cleanup_json_ json_t *j = NULL;
        uint64_t rev;
        int r;

        r = store_exec_ops.start(&x->base, stack, op, errp);
        if (r < 0 || !x->force || op->kind != PLAN_REPLACE || !streq_ptr(op->hash, op->old_hash))
                return r;
        ak = key_assignment(op->node, stack, op->service, op->slot, op->hash);
        r = read_doc(x->base.store, ak, &j, &rev, errp);
        if (r < 0)
                return r;
        json_object_set_new(j, "recreate", json_integer((json_int_t)x->generation));
        r = write_doc(x->base.store, ak, j, (int64_t)rev, errp);
        return r < 0 ? r : 0;
}

static int ux_stop(void *ud, const char *stack, const struct plan_op *op, const char *node,
                   const char *hash, struct err **errp) {
        struct up_exec *x = ud;

        /* Same slot, node and template: the start above re-issues it in place. */
        if (op->kind == PLAN_REPLACE && streq_ptr(hash, op->hash) && streq_ptr(node, op->node))
                return 0;
        return store_exec_ops.stop(&x->base, stack, op, node, hash, errp);
}

static int ux_remove(void *ud, const char *stack, const struct plan_op *op, struct err **errp) {
        struct up_exec *x = ud;

        return store_exec_ops.remove(&x->base, stack, op, errp);
}

static int ux_set_rollout(void *ud, const char *stack, const char *service,
                          enum rollout_state state, struct err **errp) {
        struct up_exec *x = ud;

        return store_exec_ops.set_rollout(&x->base, stack, service, state, errp);
}

static const struct executor_ops up_exec_ops = {
        .start = ux_start,
        .stop = ux_stop,
        .remove = ux_remove,
        .set_rollout = ux_set_rollout,
};

int controller_up(struct controller *c, const char *name, const json_t *body, uint64_t now_usec,
                  json_t **ret, struct err **errp) {
        double t0 = c->loop ? ev_time() : 0.0;
        _cleanup_free_ char *key = xasprintf("stacks/%s", name);
        _cleanup_json_ json_t *model = NULL, *old = NULL, *up = NULL, *res = NULL;
        _cleanup_(model_stack_freep) struct model_stack *m = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        const json_t *opts, *in;
        bool force = false, no_recreate = false, orphans = false, dry = false;
        uint64_t old_rev = 0, generation;
        struct plan p = {};
        int r;

        r = check_name("stack", name, errp);
        if (r < 0)
                return r;
        in = json_object_get(body, "model");
        if (!json_is_object(in))
                return err_setx(errp, EINVAL, "body: 'model' must be the stack's canonical model");
        opts = json_object_get(body, "options");
        if (opts && !json_is_null(opts) && !json_is_object(opts))
                return err_setx(errp, EINVAL, "body: 'options' must be an object");
        r = get_opt_bool(opts, "force_recreate", &force, errp);
        if (r >= 0)
                r = get_opt_bool(opts, "no_recreate", &no_recreate, errp);
        if (r >= 0)
                r = get_opt_bool(opts, "remove_orphans", &orphans, errp);
        if (r >= 0)
                r = get_opt_bool(opts, "dry_run", &dry, errp);
        if (r < 0)
                return r;
        if (json_get_str(in, "name", NULL) && !streq(json_get_str(in, "name", ""), name))
                return err_setx(errp, EINVAL, "model name '%s' does not match stack '%s'",
                                json_get_str(in, "name", ""), name);

        model = json_deep_copy(in);
        json_set_str(model, "name", name);
        r = secrets_prepare_model(c, name, model, errp);
        if (r < 0)
                return err_wrap(errp, "stack '%s'", name);
        r = read_doc(c->store, key, &old, &old_rev, NULL);
        if (r < 0)
                old = NULL;
        carry_rollout(model, old);
        generation = (uint64_t)json_get_int(json_object_get(old, "up"), "generation", 0) + 1;
        up = json_pack("{s:b, s:b, s:b, s:I}", "force_recreate", force, "no_recreate", no_recreate,
                       "remove_orphans", orphans, "generation", (json_int_t)generation);
        if (json_object_get(opts, "services") && !json_is_null(json_object_get(opts, "services")))
                json_object_set(up, "services", json_object_get(opts, "services"));
        json_object_set(model, "up", up);
        /* In a cluster (two or more nodes with an advertise address), stack networks without a
         * driver span the nodes (docs/cluster.md "Overlay by default"). */
        (void)overlay_default_networks(c->store, model, old);
        /* Now that the networks' drivers are known: a fixed host port of several replicas is
         * fine through the routing mesh only. */
        r = mesh_check_replicas(model, errp);
        if (r < 0)
                return r;

        r = model_stack_from_json(model, &m, errp);
        if (r < 0)
                return err_wrap(errp, "stack '%s'", name);
        m->up.node_timeout_ms = c->grace_usec / USEC_PER_MSEC;
        r = observed_from_store(c->store, &o, errp);
        if (r < 0)
                return r;
        ctl_fix_observed(o, c);
        r = plan_compute(m, o, now_usec, &p, errp);
        if (r < 0)
                return err_wrap(errp, "plan stack '%s'", name);

        if (!dry) {
                /* Overlay networks and service VIPs first: an overlapping subnet or a full
                 * range fails the up before anything changed. */
                r = mesh_check(c->store, name, model, errp);
                if (r >= 0)
                        r = overlay_sync_stack(c->store, name, model, errp);
                if (r >= 0)
                        r = vip_sync(c->store, name, model, errp);
                if (r >= 0)
                        r = mesh_store(c->store, name, model, errp);
                if (r < 0) {
                        plan_done(&p);
                        return r;
                }
                /* Stored without force_recreate: it applies to this up only. */
                json_object_set_new(json_object_get(model, "up"), "force_recreate", json_false());
                r = write_doc(c->store, key, model, old ? (int64_t)old_rev : STORE_ABSENT, errp);
                if (r >= 0) {
                        struct up_exec x = {{c->store, model}, force, generation};
                        _cleanup_err_ struct err *e = NULL;
                        bool batched = batch_begin(c);

                        /* Failed ops are retried by the loop: they go into the answer. */
                        if (plan_apply(&p, &up_exec_ops, &x, &e) < 0)
                                log_warn(name, "Failed to apply part of the plan of '%s': %s", name,
                                         err_msg(e));
                        ctl_overlay_pass(c);
                        batch_end(c, batched);
                        /* The up was a pass: the one its own writes ask for is spaced after it
                         * (kick_cb), so the agents' fetches and reports come first. */
                        if (c->loop) {
                                c->pass_end = ev_time();
                                c->pass_seconds = c->pass_end - t0;
                        }
                }
                if (r < 0) {
                        plan_done(&p);
                        return err_wrap(errp, "store stack '%s'", name);
                }
        }
        {
                _cleanup_free_ char *sum = plan_summary(&p);
                res = json_pack("{s:s, s:I, s:b, s:o, s:s}", "stack", name, "generation",
                                (json_int_t)generation, "dry_run", dry, "plan", plan_ops_json(&p),
                                "summary", sum);
        }
        plan_done(&p);
        *ret = TAKE_PTR(res);
        return 0;
}

/* ---- down ---- */

/* Services in dependency order (dependencies first); the ones in cycles last, by name. */
static char **dependency_order(const json_t *model) {
        const json_t *svcs = json_object_get(model, "services");
        _cleanup_strv_ char **order = NULL;
        size_t total = json_object_size(svcs);
        bool progress = true;

        while (progress && strv_length(order) < total) {
                const char *name;
                json_t *svc;

                progress = false;
                json_object_foreach ((json_t *)svcs, name, svc) {
                        const char *dep;
                        json_t *dv;
                        bool ready = true;

                        if (strv_contains(order, name))
                                continue;
                        json_object_foreach (json_object_get(svc, "depends_on"), dep, dv)
                                if (json_object_get(svcs, dep) && !strv_contains(order, dep))
                                        ready = false;
                        if (ready) {
                                strv_push(&order, name);
                                progress = true;
                        }
                }
        }
        {
                const char *name;
                json_t *svc;
                json_object_foreach ((json_t *)svcs, name, svc)
                        if (!strv_contains(order, name))
                                strv_push(&order, name);
        }
        return TAKE_PTR(order);
}

/* Each service's dependency level (berth-speed): 1 without dependencies in the stack, else one
 * more than its deepest dependency; services in cycles get one more than every other level.
 * The agent removes pods highest level first and waits for a level to be gone before the next
 * (agent/node.c), so services on one level, which cannot depend on each other, stop in
 * parallel: `down` of N independent services takes one stop, not N. */
static json_t *dependency_levels(const json_t *model) {
        const json_t *svcs = json_object_get(model, "services");
        _cleanup_strv_ char **order = dependency_order(model);
        json_t *levels = json_object();
        json_int_t max = 0;

        STRV_FOREACH (name, order) {
                const json_t *svc = json_object_get(svcs, *name);
                json_int_t lvl = 1;
                bool cyclic = false;
                const char *dep;
                json_t *dv;

                json_object_foreach ((json_t *)json_object_get(svc, "depends_on"), dep, dv) {
                        json_t *dl = json_object_get(levels, dep);
                        if (!json_object_get(svcs, dep))
                                continue;
                        if (!dl) /* not placed yet: a cycle (dependency_order puts them last) */
                                cyclic = true;
                        else if (json_integer_value(dl) + 1 > lvl)
                                lvl = json_integer_value(dl) + 1;
                }
                if (cyclic)
                        lvl = max + 1;
                if (lvl > max)
                        max = lvl;
                json_object_set_new(levels, *name, json_integer(lvl));
        }
        return levels;
}

/* Remembers `down -t` for the pod of an assignment key ("assignments/<node>/<pod>"). */
static void remember_stop_timeout(struct controller *c, const char *key, int timeout_s) {
        const char *rest = key + strlen("assignments/");
        const char *slash = strchr(rest, '/');
        _cleanup_free_ char *node = NULL;
        json_t *per;

        if (!slash)
                return;
        node = xstrndup(rest, (size_t)(slash - rest));
        if (!c->stop_timeouts)
                c->stop_timeouts = json_object();
        per = json_object_get(c->stop_timeouts, node);
        if (!per) {
                per = json_object();
                json_object_set_new(c->stop_timeouts, node, per);
        }
        json_object_set_new(
                per, slash + 1,
                json_pack("{s:i, s:I}", "t", timeout_s, "until",
                          (json_int_t)(realtime_usec() + CONTROLLER_STOP_TIMEOUT_KEEP_USEC)));
}

/* Deletes the assignments and pod records of one service (svc NULL: those of services the
 * model does not define) in one transaction. */
static int down_service(struct controller *c, const char *stack, const json_t *model,
                        const char *svc, int timeout_s, json_t *removed, struct err **errp) {
        struct store_kv *kvs = NULL;
        size_t n = 0;
        _cleanup_strv_ char **keys = NULL;
        _cleanup_free_ struct store_op *ops = NULL;
        size_t n_ops;
        int r;

        r = store_list(c->store, "assignments/", &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = NULL;
                const char *s;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                if (!streq_ptr(json_get_str(j, "stack", NULL), stack))
                        continue;
                s = json_get_str(j, "service", "");
                if (svc ? !streq(s, svc) : !!json_object_get(json_object_get(model, "services"), s))
                        continue;
                strv_push(&keys, kvs[i].key);
                json_array_append_new(removed,
                                      json_sprintf("%s/%" PRId64, s, json_get_int(j, "slot", 0)));
                if (timeout_s >= 0)
                        remember_stop_timeout(c, kvs[i].key, timeout_s);
        }
        store_kvs_free(kvs, n);
        kvs = NULL;
        n = 0;
        {
                _cleanup_free_ char *prefix =
                        svc ? xasprintf("pods/%s/%s/", stack, svc) : xasprintf("pods/%s/", stack);
                r = store_list(c->store, prefix, &kvs, &n, errp);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                const char *rest = kvs[i].key + strlen("pods/") + strlen(stack) + 1;
                const char *slash = strchr(rest, '/');
                _cleanup_free_ char *s = slash ? xstrndup(rest, (size_t)(slash - rest)) : NULL;

                if (!svc && s && json_object_get(json_object_get(model, "services"), s))
                        continue;
                strv_push(&keys, kvs[i].key);
        }
        store_kvs_free(kvs, n);
        n_ops = strv_length(keys);
        if (n_ops == 0)
                return 0;
        ops = xnew0(struct store_op, n_ops);
        for (size_t i = 0; i < n_ops; i++)
                ops[i] = (struct store_op){STORE_OP_DELETE, keys[i], NULL, STORE_ANY_REV};
        r = store_txn(c->store, ops, n_ops, NULL, errp);
        return r < 0 ? r : 0;
}

int controller_down(struct controller *c, const char *name, int timeout_s, json_t **ret,
                    struct err **errp) {
        _cleanup_free_ char *key = xasprintf("stacks/%s", name);
        _cleanup_json_ json_t *model = NULL, *removed = json_array();
        _cleanup_strv_ char **order = NULL;
        int r;

        r = check_name("stack", name, errp);
        if (r < 0)
                return r;
        r = read_doc(c->store, key, &model, NULL, NULL);
        if (r == -ENOENT)
                return err_setx(errp, ENOENT, "no such stack '%s'", name);
        if (r < 0)
                return err_set(errp, -r, "read stack '%s'", name);
        /* The stack goes first so no reconcile pass re-creates what is being removed. */
        r = store_delete(c->store, key, STORE_ANY_REV, NULL, errp);
        if (r < 0)
                return r;
        r = vip_release(c->store, name, errp);
        if (r >= 0)
                r = overlay_release(c->store, name, errp);
        if (r >= 0)
                r = down_service(c, name, model, NULL, timeout_s, removed, errp);
        order = dependency_order(model);
        for (size_t i = strv_length(order); r >= 0 && i > 0; i--)
                r = down_service(c, name, model, order[i - 1], timeout_s, removed, errp);
        if (r < 0)
                return err_wrap(errp, "remove stack '%s'", name);
        backoff_succeeded(&c->backoff, name);
        *ret = json_pack("{s:s, s:O}", "stack", name, "removed", removed);
        return 0;
}

/* ---- listings ---- */

/* Every reported pod, flattened, with its node. */
static json_t *reported_pods(struct controller *c, json_t *errors) {
        json_t *all = json_array();
        struct store_kv *kvs = NULL;
        size_t n = 0;

        if (store_list(c->store, "nodes/", &kvs, &n, NULL) < 0)
                return all;
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = NULL;
                size_t k;
                json_t *p;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                json_array_foreach (json_object_get(j, "pods"), k, p) {
                        json_t *cp = json_deep_copy(p);
                        json_set_str(cp, "node", json_get_str(j, "id", NULL));
                        json_array_append_new(all, cp);
                }
                json_array_foreach (json_object_get(j, "errors"), k, p) {
                        json_t *cp = json_deep_copy(p);
                        json_set_str(cp, "node", json_get_str(j, "id", NULL));
                        json_array_append_new(errors, cp);
                }
        }
        store_kvs_free(kvs, n);
        return all;
}

static const json_t *find_reported(const json_t *rep, const char *stack, const char *svc,
                                   int64_t slot, const char *node, const char *hash) {
        size_t i;
        json_t *p;

        /* On the record's node: a stale copy on a node that went down is not the slot's pod. */
        json_array_foreach (rep, i, p)
                if (streq_ptr(json_get_str(p, "stack", NULL), stack) &&
                    streq_ptr(json_get_str(p, "node", NULL), node) &&
                    streq_ptr(json_get_str(p, "service", NULL), svc) &&
                    json_get_int(p, "slot", -1) == slot &&
                    streq_ptr(json_get_str(p, "hash", NULL), hash))
                        return p;
        return NULL;
}

static void add_wait_reason(struct controller *c, json_t *pod) {
        const json_t *list = json_object_get(c->waits, json_get_str(pod, "stack", ""));
        size_t i;
        json_t *w;

        json_array_foreach (list, i, w)
                if (streq_ptr(json_get_str(w, "service", NULL), json_get_str(pod, "service", "")) &&
                    json_get_int(w, "slot", 0) == json_get_int(pod, "slot", -1)) {
                        json_object_set(pod, "reason", json_object_get(w, "reason"));
                        return;
                }
}

/* Slots the last plan could not place at all (no pod record): listed as pending with why. */
static void add_unplaced(struct controller *c, const char *stack, json_t *out) {
        const char *sn;
        json_t *list;

        json_object_foreach (c->waits, sn, list) {
                size_t i, k;
                json_t *w, *o;

                if (stack && !streq(stack, sn))
                        continue;
                json_array_foreach (list, i, w) {
                        bool listed = false;

                        json_array_foreach (out, k, o)
                                if (streq_ptr(json_get_str(o, "stack", NULL), sn) &&
                                    streq_ptr(json_get_str(o, "service", NULL),
                                              json_get_str(w, "service", "")) &&
                                    json_get_int(o, "slot", -1) == json_get_int(w, "slot", 0))
                                        listed = true;
                        if (listed)
                                continue;
                        json_array_append_new(
                                out,
                                json_pack("{s:s, s:s?, s:I, s:s, s:s, s:I, s:I, s:O?}", "stack", sn,
                                          "service", json_get_str(w, "service", NULL), "slot",
                                          json_get_int(w, "slot", 0), "state", "pending", "health",
                                          "none", "exit_code", 0, "restarts", 0, "reason",
                                          json_object_get(w, "reason")));
                }
        }
}

int controller_pods(struct controller *c, const char *stack, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *errs = json_array(), *rep = reported_pods(c, errs),
                              *out = json_array();
        _cleanup_free_ char *prefix = stack ? xasprintf("pods/%s/", stack) : xstrdup("pods/");
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int r;

        r = store_list(c->store, prefix, &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = NULL;
                const json_t *p;
                json_t *o;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                p = find_reported(rep, json_get_str(j, "stack", NULL),
                                  json_get_str(j, "service", NULL), json_get_int(j, "slot", -1),
                                  json_get_str(j, "node", NULL), json_get_str(j, "hash", NULL));
                o = json_pack("{s:s?, s:s?, s:I, s:s?, s:s?, s:s, s:s, s:I, s:I}", "stack",
                              json_get_str(j, "stack", NULL), "service",
                              json_get_str(j, "service", NULL), "slot",
                              (json_int_t)json_get_int(j, "slot", 0), "node",
                              json_get_str(j, "node", NULL), "hash", json_get_str(j, "hash", NULL),
                              "state", p ? json_get_str(p, "state", "unknown") : "pending",
                              "health", p ? json_get_str(p, "health", "none") : "none", "exit_code",
                              (json_int_t)(p ? json_get_int(p, "exit_code", 0) : 0), "restarts",
                              (json_int_t)(p ? json_get_int(p, "restarts", 0) : 0));
                if (p && json_get_str(p, "id", NULL))
                        json_set_str(o, "id", json_get_str(p, "id", NULL));
                /* no pod, or one being tried again after a failure: the failure is the news */
                if (!p || !streq(json_get_str(p, "state", ""), "running")) {
                        const json_t *f = find_reported(
                                errs, json_get_str(j, "stack", NULL),
                                json_get_str(j, "service", NULL), json_get_int(j, "slot", -1),
                                json_get_str(j, "node", NULL), json_get_str(j, "hash", NULL));
                        if (f) {
                                json_set_str(o, "state", "failed");
                                json_set_str(o, "error", json_get_str(f, "error", ""));
                        }
                }
                add_wait_reason(c, o);
                json_array_append_new(out, o);
        }
        store_kvs_free(kvs, n);
        add_unplaced(c, stack, out);
        *ret = TAKE_PTR(out);
        return 0;
}

/* {"name", "services": {svc: {"replicas", "running", "healthy", "kind", "hash"}}, ...} */
static json_t *stack_summary(const json_t *model, const json_t *pods) {
        const char *name = json_get_str(model, "name", "");
        json_t *svcs = json_object(), *svc;
        const char *sn;
        size_t total = 0, running = 0;

        json_object_foreach (json_object_get(model, "services"), sn, svc) {
                size_t run = 0, healthy = 0, exited = 0, i;
                bool hc = false;
                json_t *p;

                json_array_foreach (pods, i, p) {
                        if (!streq_ptr(json_get_str(p, "stack", NULL), name) ||
                            !streq_ptr(json_get_str(p, "service", NULL), sn))
                                continue;
                        if (streq(json_get_str(p, "state", ""), "running"))
                                run++;
                        if (streq(json_get_str(p, "health", ""), "healthy"))
                                healthy++;
                        if (streq(json_get_str(p, "state", ""), "exited") &&
                            json_get_int(p, "exit_code", -1) == 0)
                                exited++;
                }
                json_array_foreach (json_object_get(json_object_get(svc, "pod"), "containers"), i,
                                    p)
                        if (json_is_object(json_object_get(p, "healthcheck")))
                                hc = true;
                total += (size_t)json_get_int(svc, "replicas", 1);
                running += run;
                json_object_set_new(svcs, sn,
                                    json_pack("{s:s, s:I, s:I, s:I, s:I, s:s?, s:b}", "kind",
                                              json_get_str(svc, "kind", "service"), "replicas",
                                              json_get_int(svc, "replicas", 1), "running",
                                              (json_int_t)run, "healthy", (json_int_t)healthy,
                                              "completed", (json_int_t)exited, "hash",
                                              json_get_str(svc, "hash", NULL), "healthcheck", hc));
        }
        return json_pack("{s:s, s:I, s:o, s:s, s:O?}", "name", name, "generation",
                         json_get_int(json_object_get(model, "up"), "generation", 0), "services",
                         svcs, "status",
                         total == 0         ? "empty"
                         : running == 0     ? "pending"
                         : running >= total ? "running"
                                            : "partial",
                         "sources", json_object_get(model, "sources"));
}

int controller_stacks(struct controller *c, const char *name, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *pods = NULL, *out = NULL;
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int r;

        r = controller_pods(c, name, &pods, errp);
        if (r < 0)
                return r;
        if (name) {
                _cleanup_free_ char *key = xasprintf("stacks/%s", name);
                _cleanup_json_ json_t *model = NULL;

                r = read_doc(c->store, key, &model, NULL, NULL);
                if (r == -ENOENT)
                        return err_setx(errp, ENOENT, "no such stack '%s'", name);
                if (r < 0)
                        return err_set(errp, -r, "read stack '%s'", name);
                out = stack_summary(model, pods);
                json_object_set(out, "pods", pods);
                json_object_set(out, "model", model);
                *ret = TAKE_PTR(out);
                return 0;
        }
        r = store_list(c->store, "stacks/", &kvs, &n, errp);
        if (r < 0)
                return r;
        out = json_array();
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *model = NULL, *sp = NULL;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &model, NULL) < 0)
                        continue;
                if (controller_pods(c, json_get_str(model, "name", ""), &sp, NULL) < 0)
                        continue;
                json_array_append_new(out, stack_summary(model, sp));
        }
        store_kvs_free(kvs, n);
        *ret = TAKE_PTR(out);
        return 0;
}

int controller_services(struct controller *c, const char *stack, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *stacks = NULL, *out = json_array();
        size_t i;
        json_t *s;
        int r;

        if (stack) {
                json_t *one = NULL;
                r = controller_stacks(c, stack, &one, errp);
                if (r < 0)
                        return r;
                stacks = json_pack("[o]", one);
        } else {
                r = controller_stacks(c, NULL, &stacks, errp);
                if (r < 0)
                        return r;
        }
        json_array_foreach (stacks, i, s) {
                const char *sn;
                json_t *svc;

                json_object_foreach (json_object_get(s, "services"), sn, svc) {
                        json_t *o = json_deep_copy(svc);
                        json_set_str(o, "stack", json_get_str(s, "name", ""));
                        json_set_str(o, "name", sn);
                        json_array_append_new(out, o);
                }
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- nodes ---- */

int controller_join(struct controller *c, const json_t *body, uint64_t now_usec, json_t **ret,
                    struct err **errp) {
        const char *name = json_get_str(body, "name", NULL);
        _cleanup_free_ char *key = NULL;
        _cleanup_json_ json_t *old = NULL, *doc = NULL;
        uint64_t rev = 0;
        const json_t *labels = json_object_get(body, "labels");
        const json_t *alloc = json_object_get(body, "allocatable");
        int r;

        r = check_name("node", name, errp);
        if (r < 0) {
                err_set_field(errp, "name");
                return r;
        }
        if (labels && !json_is_object(labels))
                return err_setx(errp, EINVAL, "labels: expected an object");
        if (alloc && !json_is_object(alloc))
                return err_setx(errp, EINVAL, "allocatable: expected an object");
        key = xasprintf("nodes/%s", name);
        r = read_doc(c->store, key, &old, &rev, NULL);
        doc = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I}", "id", name, "name", name, "role",
                        json_get_str(body, "role", "manager"), "availability", "active", "ready",
                        true, "reported", false, "last_heartbeat_usec", (json_int_t)now_usec);
        json_object_set_new(doc, "labels", labels ? json_deep_copy(labels) : json_object());
        json_object_set_new(doc, "allocatable",
                            alloc ? json_deep_copy(alloc)
                                  : json_pack("{s:I, s:I}", "cpu_millis", 0, "memory", 0));
        /* A node joining again keeps its last report and its availability. */
        json_object_set_new(doc, "pods",
                            r >= 0 && json_is_array(json_object_get(old, "pods"))
                                    ? json_deep_copy(json_object_get(old, "pods"))
                                    : json_array());
        if (r >= 0 && json_object_get(old, "availability"))
                json_object_set(doc, "availability", json_object_get(old, "availability"));
        /* The underlay address the node gave at its join (its reports keep it current). */
        if (json_is_string(json_object_get(body, "advertise_addr")))
                json_object_set(doc, "advertise_addr", json_object_get(body, "advertise_addr"));
        else if (r >= 0 && json_is_string(json_object_get(old, "advertise_addr")))
                json_object_set(doc, "advertise_addr", json_object_get(old, "advertise_addr"));
        r = write_doc(c->store, key, doc, r >= 0 ? (int64_t)rev : STORE_ABSENT, errp);
        if (r < 0)
                return err_wrap(errp, "register node '%s'", name);
        *ret = json_pack("{s:s, s:I}", "id", name, "revision",
                         (json_int_t)store_revision(c->store));
        return 0;
}

int controller_status(struct controller *c, const char *node, const json_t *body, uint64_t now_usec,
                      struct err **errp) {
        _cleanup_free_ char *key = NULL;
        struct store_kv kv = {};
        int r;

        _cleanup_json_ json_t *copy = NULL, *keep = json_array();
        _cleanup_free_ char *text = NULL;
        const json_t *errs;
        size_t i;
        json_t *x;

        r = node_id_valid(node, errp);
        if (r < 0)
                return r;
        if (!json_is_object(body) || !json_is_array(json_object_get(body, "pods")))
                return err_setx(errp, EINVAL, "pods: expected an array");
        /* Pods the agent could not create, with why (shown by `stack ps`), bounded; a report
         * without errors clears the last ones. */
        copy = json_copy((json_t *)body);
        errs = json_object_get(body, "errors");
        json_array_foreach (errs, i, x)
                if (json_is_object(x) && json_get_str(x, "error", NULL) &&
                    json_array_size(keep) < NODE_ERRORS_MAX)
                        json_array_append(keep, x);
        json_object_set(copy, "errors", keep);
        /* Only the heartbeat is new: memory only, no store write, no pass (controller_live.c). */
        text = hb_report_text(copy);
        if (ctl_heartbeat_only(c, node, text, now_usec)) {
                /* A report is also what makes another, silent node down (relative rule). */
                controller_check_liveness(c, now_usec);
                return 0;
        }
        /* Only a joined node reports: a 404 sends the agent back to join (which refuses a
         * removed node). */
        key = xasprintf("nodes/%s", node);
        r = store_get(c->store, key, &kv, errp);
        store_kv_done(&kv);
        if (r == -ENOENT) {
                err_freep(errp);
                return err_setx(errp, ENOENT, "node '%s' has not joined", node);
        }
        if (r < 0)
                return r;
        r = node_report(c->store, node, copy, now_usec, errp);
        if (r < 0)
                return err_wrap(errp, "status of node '%s'", node);
        hb_stored(&c->hb, node, TAKE_PTR(text), now_usec);
        controller_check_liveness(c, now_usec);
        return 0;
}

/* What agents need of a stack beside the pod templates (docs/model.md): its networks,
 * volumes, secrets and configs, and per service the container_name and endpoint (DNS names,
 * VIPs). */
static json_t *stack_parts(const json_t *model) {
        static const char *const keys[] = {"networks", "volumes", "secrets", "configs"};
        json_t *out = json_object(), *svcs = json_object(), *svc;
        const char *name;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (json_is_object(json_object_get(model, keys[i])))
                        json_object_set(out, keys[i], json_object_get(model, keys[i]));
        json_object_foreach (json_object_get(model, "services"), name, svc) {
                json_t *e = json_object();

                if (json_is_string(json_object_get(svc, "container_name")))
                        json_object_set(e, "container_name",
                                        json_object_get(svc, "container_name"));
                if (json_is_object(json_object_get(svc, "endpoint")))
                        json_object_set(e, "endpoint", json_object_get(svc, "endpoint"));
                json_object_set_new(svcs, name, e);
        }
        json_object_set_new(out, "services", svcs);
        return out;
}

/* Adds each service's VIPs ({network key: ip}, vip.h) to stack_parts(). */
static json_t *stack_parts_vips(struct controller *c, const char *stack, json_t *parts) {
        _cleanup_json_ json_t *vips = NULL;
        json_t *svcs = json_object_get(parts, "services"), *v;
        const char *svc;

        if (vip_get(c->store, stack, &vips, NULL) < 0)
                return parts;
        json_object_foreach (vips, svc, v)
                if (json_object_get(svcs, svc))
                        json_object_set(json_object_get(svcs, svc), "vips", v);
        return parts;
}

/* What every assignment answer carries of a stack: {"parts": stack_parts() with VIPs, "ranks":
 * dependency_levels()}, computed once per change of stacks/ or vips/ (the watches drop the
 * cache), not once per answer: with 100 nodes fetching, the model's parse and the dependency
 * levels (quadratic in services) dominated the answers. Borrowed from the cache. */
static const json_t *stack_shared(struct controller *c, const char *stack) {
        _cleanup_free_ char *sk = NULL;
        _cleanup_json_ json_t *model = NULL;
        json_t *sh;

        if (!c->shared_cache)
                c->shared_cache = json_object();
        sh = json_object_get(c->shared_cache, stack);
        if (sh)
                return sh;
        sk = xasprintf("stacks/%s", stack);
        if (read_doc(c->store, sk, &model, NULL, NULL) >= 0) {
                json_t *parts = stack_parts_vips(c, stack, stack_parts(model));

                secrets_resolve_parts(c, stack, parts);
                sh = json_pack("{s:o, s:o}", "parts", parts, "ranks", dependency_levels(model));
        } else
                sh = json_pack("{s:{}}", "ranks");
        json_object_set_new(c->shared_cache, stack, sh);
        return sh;
}

/* The routing mesh (mesh.h): a node without a pod of a stack still gets the stack's parts
 * when the mesh puts it on the stack's overlay network. */
static void ctl_mesh_stacks(struct controller *c, const char *node, json_t *shared) {
        _cleanup_strv_ char **stacks = overlay_mesh_stacks(c->store, node);

        STRV_FOREACH (x, stacks)
                if (!json_object_get(shared, *x) && json_object_get(stack_shared(c, *x), "parts"))
                        json_object_set(shared, *x, json_object_get(stack_shared(c, *x), "parts"));
}

int controller_assignments(struct controller *c, const char *node, json_t **ret,
                           struct err **errp) {
        _cleanup_free_ char *prefix = xasprintf("assignments/%s/", node);
        _cleanup_json_ json_t *list = json_array();
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int r;

        r = check_name("node", node, errp);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *ranks = json_object();  /* stack -> {service: rank} */
        _cleanup_json_ json_t *shared = json_object(); /* stack -> stack_parts() */

        r = store_list(c->store, prefix, &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const char *stack;
                json_t *j = NULL, *rk;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0)
                        continue;
                json_set_str(j, "name", kvs[i].key + strlen(prefix));
                json_object_set_new(j, "rev", json_integer((json_int_t)kvs[i].create_rev));
                /* order: the service's place in its stack's dependency order; the agent starts
                 * lower ones first and stops higher ones first. */
                stack = json_get_str(j, "stack", "");
                rk = json_object_get(ranks, stack);
                if (!rk) {
                        const json_t *sh = stack_shared(c, stack);

                        if (json_object_get(sh, "parts"))
                                json_object_set(shared, stack, json_object_get(sh, "parts"));
                        rk = json_object_get(sh, "ranks");
                        json_object_set(ranks, stack, rk);
                }
                json_object_set_new(
                        j, "order",
                        json_integer(json_get_int(rk, json_get_str(j, "service", ""), 0)));
                json_array_append_new(list, j);
        }
        store_kvs_free(kvs, n);
        ctl_mesh_stacks(c, node, shared);
        *ret = json_pack("{s:I, s:O, s:O}", "revision", (json_int_t)store_revision(c->store),
                         "assignments", list, "stacks", shared);
        r = overlay_decorate(c->store, node, *ret, errp);
        if (r < 0) {
                json_decref(*ret);
                *ret = NULL;
                return r;
        }
        {
                json_t *per = json_object_get(c->stop_timeouts, node), *v, *out = NULL;
                uint64_t now = realtime_usec();
                const char *pod;
                void *tmp;

                json_object_foreach_safe(per, tmp, pod, v) {
                        if ((uint64_t)json_get_int(v, "until", 0) < now) {
                                json_object_del(per, pod);
                                continue;
                        }
                        if (!out)
                                out = json_object();
                        json_object_set_new(out, pod, json_integer(json_get_int(v, "t", 0)));
                }
                if (out)
                        json_object_set_new(*ret, "stop_timeouts", out);
        }
        return 0;
}

/* ---- the addon ---- */

static int controller_start(struct ev_loop *loop, const struct daemon_env *env,
                            struct http_router *router, const void *arg, void **ret_state,
                            struct err **errp) {
        _cleanup_(controller_freep) struct controller *c = NULL;
        struct store *s = NULL;
        int r;

        (void)arg;
        r = store_open_root(env->root, &s, errp);
        if (r < 0)
                return r;
        r = controller_new(loop, s, &c, errp); /* frees s on failure */
        if (r < 0)
                return r;
        controller_set_node_grace(c, (uint64_t)(env->node_grace_sec * (double)USEC_PER_SEC));
        {
                _cleanup_free_ char *kp = xasprintf("%s/controller/secrets.key", env->root);

                secrets_set_key_path(c, kp);
        }
        r = controller_api_register(router, errp);
        if (r < 0)
                return r;
        log_info(NULL,
                 "Controller started, store '%s/controller/state.db' at revision %" PRIu64
                 ", node grace %.1f s",
                 env->root, store_revision(s), (double)c->grace_usec / (double)USEC_PER_SEC);
        *ret_state = TAKE_PTR(c);
        return 0;
}

static void controller_stop(void *state) {
        controller_free(state);
}

static void controller_trim(void *state) {
        struct controller *c = state;

        store_release_memory(c->store);
}

const struct daemon_addon controller_addon = {
        .name = "controller",
        .start = controller_start,
        .stop = controller_stop,
        .trim = controller_trim,
};
