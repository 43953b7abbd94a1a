/* SPDX-License-Identifier: Apache-2.0 */
/* The pure planner. Services are visited in dependency order; for each one the observed pods
 * are matched to slots 1..replicas and every slot gets exactly one op (plus STOPs for pods that
 * are no longer wanted). See docs/orchestrator.md for the rules in prose. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "plan.h"
#include "sched.h"
#include "strv.h"
#include "xalloc.h"

#define SHORT_HASH 12

static const char *const kind_table[_PLAN_KIND_MAX] = {
        [PLAN_START] = "START",       [PLAN_STOP] = "STOP",   [PLAN_REPLACE] = "REPLACE",
        [PLAN_REMOVE] = "REMOVE",     [PLAN_KEEP] = "KEEP",   [PLAN_WAIT] = "WAIT",
        [PLAN_ROLLBACK] = "ROLLBACK", [PLAN_PAUSE] = "PAUSE", [PLAN_DONE] = "DONE",
};

const char *plan_kind_to_string(enum plan_kind k) {
        return (unsigned)k < _PLAN_KIND_MAX ? kind_table[k] : "?";
}

void plan_done(struct plan *p) {
        for (size_t i = 0; i < p->n_ops; i++) {
                struct plan_op *op = &p->ops[i];
                free(op->service);
                free(op->node);
                free(op->old_node);
                free(op->hash);
                free(op->old_hash);
                free(op->reason);
        }
        free(p->ops);
        free(p->stack);
        *p = (struct plan){};
}

/* Per-service working state of one plan_compute call. */
struct svc_state {
        const struct model_service *svc;
        int group; /* scheduler group */
        bool selected;
        bool replaced;      /* this plan replaces some of its pods for a new template */
        unsigned moving;    /* slots with more than one pod: a replacement or move in flight */
        bool drain_started; /* this plan moves one of its pods off a drained node */
        bool visited, visiting;
        const struct obs_pod **pods; /* this stack's observed pods of the service */
        size_t n_pods;
};

struct ctx {
        const struct model_stack *d;
        const struct observed *o;
        uint64_t now;
        struct sched *sched;
        struct svc_state *st; /* parallel to d->services */
        size_t *order;        /* topological order of services */
        size_t n_order;
        size_t *path; /* services being visited, for naming a cycle */
        size_t depth;
        const char *unreported; /* an up node that has not reported yet, or NULL */
        struct plan *plan;
};

static struct plan_op *add_op(struct ctx *c, enum plan_kind kind, const char *service,
                              unsigned slot, const char *node, const char *hash, const char *fmt,
                              ...) _printf_(7, 8);
static struct plan_op *add_op(struct ctx *c, enum plan_kind kind, const char *service,
                              unsigned slot, const char *node, const char *hash, const char *fmt,
                              ...) {
        struct plan *p = c->plan;
        struct plan_op *op;
        va_list ap;

        XGROW(p->ops, p->alloc_ops, p->n_ops + 1);
        op = &p->ops[p->n_ops++];
        *op = (struct plan_op){
                .kind = kind,
                .service = xstrdup(service),
                .slot = slot,
                .node = node ? xstrdup(node) : NULL,
                .hash = hash ? xstrdup(hash) : NULL,
        };
        va_start(ap, fmt);
        op->reason = xvasprintf(fmt, ap);
        va_end(ap);
        p->count[kind]++;
        return op;
}

static const char *short_hash(const char *h, char buf[static SHORT_HASH + 1]) {
        snprintf(buf, SHORT_HASH + 1, "%s", h ? h : "-");
        return buf;
}

static bool node_up(const struct ctx *c, const char *id) {
        return sched_node_up(c->sched, sched_node_index(c->sched, id));
}

/* Running and, when the service has a healthcheck, healthy. */
static bool pod_settled(const struct model_service *svc, const struct obs_pod *p) {
        if (p->state != POD_RUNNING || p->health == HEALTH_UNHEALTHY)
                return false;
        if (svc->has_healthcheck || p->health != HEALTH_NONE)
                return p->health == HEALTH_HEALTHY;
        return true;
}

/* ---- dependency order ---- */

static int visit(struct ctx *c, size_t i, struct err **errp) {
        struct svc_state *s = &c->st[i];

        if (s->visited)
                return 0;
        if (s->visiting) {
                _cleanup_strv_ char **names = NULL;
                _cleanup_free_ char *cycle = NULL;
                size_t from = 0;

                while (from < c->depth && c->path[from] != i)
                        from++;
                for (size_t k = from; k < c->depth; k++)
                        strv_push(&names, c->st[c->path[k]].svc->name);
                strv_push(&names, s->svc->name);
                cycle = strv_join(names, " -> ");
                return err_setx(errp, EINVAL, "service '%s': dependency cycle %s", s->svc->name,
                                cycle);
        }
        s->visiting = true;
        c->path[c->depth++] = i;
        for (size_t k = 0; k < s->svc->n_deps; k++) {
                const struct model_dep *dep = &s->svc->deps[k];
                const struct model_service *ds = model_stack_find(c->d, dep->service);
                int r;

                if (!ds) {
                        if (!dep->required)
                                continue;
                        return err_setx(errp, EINVAL,
                                        "service '%s': depends on undefined service '%s'",
                                        s->svc->name, dep->service);
                }
                r = visit(c, (size_t)(ds - c->d->services), errp);
                if (r < 0)
                        return r;
        }
        s->visiting = false;
        s->visited = true;
        c->depth--;
        c->order[c->n_order++] = i;
        return 0;
}

/* Marks i and everything it depends on as selected. */
static void select_with_deps(struct ctx *c, size_t i) {
        struct svc_state *s = &c->st[i];

        if (s->selected)
                return;
        s->selected = true;
        for (size_t k = 0; k < s->svc->n_deps; k++) {
                const struct model_service *ds = model_stack_find(c->d, s->svc->deps[k].service);
                if (ds)
                        select_with_deps(c, (size_t)(ds - c->d->services));
        }
}

/* ---- dependency gating ---- */

/* NULL when every dependency meets its condition, else an allocated reason. */
static char *gate(struct ctx *c, const struct svc_state *s) {
        for (size_t k = 0; k < s->svc->n_deps; k++) {
                const struct model_dep *dep = &s->svc->deps[k];
                const struct model_service *ds = model_stack_find(c->d, dep->service);
                const struct svc_state *dst;
                unsigned ok = 0, want, last_slot = 0;

                if (!ds)
                        continue;
                dst = &c->st[ds - c->d->services];
                want = ds->replicas;
                for (size_t i = 0; i < dst->n_pods; i++) {
                        const struct obs_pod *p = dst->pods[i];
                        bool met = false;

                        if (p->slot > ds->replicas || !node_up(c, p->node))
                                continue;
                        if (ds->kind == SVC_JOB && p->generation != c->d->up.generation)
                                continue;
                        /* A slot counts once (old and new pod of a start-first replacement). */
                        if (p->slot == last_slot)
                                continue;
                        switch (dep->cond) {
                        case DEP_STARTED:
                                met = p->state == POD_RUNNING ||
                                      (ds->kind == SVC_JOB && p->state == POD_EXITED);
                                break;
                        case DEP_HEALTHY:
                                met = pod_settled(ds, p);
                                break;
                        case DEP_COMPLETED:
                                met = p->state == POD_EXITED && p->exit_code == 0;
                                break;
                        case _DEP_COND_MAX:
                        case _DEP_COND_INVALID:
                        default:
                                break;
                        }
                        if (met) {
                                ok++;
                                last_slot = p->slot;
                        }
                }
                if (ok < want)
                        return xasprintf("dependency '%s' not %s (%u/%u)", dep->service,
                                         dep->cond == DEP_STARTED   ? "started"
                                         : dep->cond == DEP_HEALTHY ? "healthy"
                                                                    : "completed successfully",
                                         ok, want);
        }
        return NULL;
}

/* The dependency of s with restart: true that this plan replaces, if any. */
static const char *restart_trigger(struct ctx *c, const struct svc_state *s) {
        for (size_t k = 0; k < s->svc->n_deps; k++) {
                const struct model_service *ds = model_stack_find(c->d, s->svc->deps[k].service);
                if (ds && s->svc->deps[k].restart && c->st[ds - c->d->services].replaced)
                        return ds->name;
        }
        return NULL;
}

/* ---- placement helpers ---- */

/* Places a new pod for slot; on success adds a START op, else a WAIT with the reason. */
static struct plan_op *start_slot(struct ctx *c, struct svc_state *s, unsigned slot,
                                  const char *hash, size_t exclude, const char *why) {
        _cleanup_free_ char *reason = NULL;
        size_t node;

        if (sched_place(c->sched, s->group, exclude, &node, &reason) < 0)
                return add_op(c, PLAN_WAIT, s->svc->name, slot, NULL, hash, "%s; unschedulable: %s",
                              why, reason);
        return add_op(c, PLAN_START, s->svc->name, slot, sched_node(c->sched, node)->id, hash, "%s",
                      why);
}

/* Adds a REPLACE of p: same node when it still fits, else another one. */
static void replace_pod(struct ctx *c, struct svc_state *s, const struct obs_pod *p,
                        const char *hash, enum update_order order, const char *why) {
        size_t old = sched_node_index(c->sched, p->node), node = old;
        _cleanup_free_ char *reason = NULL;
        struct plan_op *op;

        if (order == ORDER_STOP_FIRST)
                sched_unaccount(c->sched, s->group, old);
        if (sched_node_up(c->sched, old) && sched_fits(c->sched, s->group, old))
                sched_account(c->sched, s->group, old);
        else if (sched_place(c->sched, s->group, SIZE_MAX, &node, &reason) < 0) {
                if (order == ORDER_STOP_FIRST)
                        sched_account(c->sched, s->group, old);
                add_op(c, PLAN_WAIT, s->svc->name, p->slot, p->node, p->hash,
                       "%s; unschedulable: %s", why, reason);
                return;
        }
        op = add_op(c, PLAN_REPLACE, s->svc->name, p->slot, sched_node(c->sched, node)->id, hash,
                    "%s", why);
        op->old_node = xstrdup(p->node);
        op->old_hash = xstrdup(p->hash);
        op->order = order;
        op->generation = c->d->up.generation;
}

/* ---- rollout ---- */

struct rollout {
        const char *target;
        const struct model_update *cfg;
        bool paused;
        char *pause_reason;
};

/* Pods of the new template that failed within the monitor window: returns the first one and
 * counts them all in *ret_n. */
static const struct obs_pod *failed_update(const struct ctx *c, const struct svc_state *s,
                                           unsigned *ret_n) {
        const struct model_service *svc = s->svc;
        const struct obs_pod *first = NULL;

        *ret_n = 0;
        for (size_t i = 0; i < s->n_pods; i++) {
                const struct obs_pod *p = s->pods[i];
                bool bad = (p->state == POD_EXITED && p->exit_code != 0) || p->state == POD_DEAD ||
                           p->health == HEALTH_UNHEALTHY;
                bool recent = c->now < p->started_at_usec + svc->update.monitor_ms * USEC_PER_MSEC;

                if (streq(p->hash, svc->hash) && bad && recent) {
                        if (!first)
                                first = p;
                        (*ret_n)++;
                }
        }
        return first;
}

static void describe_failure(const struct obs_pod *p, char *buf, size_t n) {
        if (p->health == HEALTH_UNHEALTHY && p->state == POD_RUNNING)
                snprintf(buf, n, "unhealthy");
        else if (p->state == POD_DEAD)
                snprintf(buf, n, "dead");
        else
                snprintf(buf, n, "exited %d", p->exit_code);
}

static void rollout_decide(struct ctx *c, struct svc_state *s, struct rollout *ro) {
        const struct model_service *svc = s->svc;
        char h1[SHORT_HASH + 1], h2[SHORT_HASH + 1], what[32];
        const struct obs_pod *f;
        unsigned n_failed;

        *ro = (struct rollout){.target = svc->hash, .cfg = &svc->update};
        switch (svc->rollout) {
        case ROLLOUT_ROLLBACK:
                ro->target = svc->previous_hash;
                ro->cfg = &svc->rollback;
                return;
        case ROLLOUT_PAUSED:
                ro->paused = true;
                ro->pause_reason = xstrdup("update paused after a failure");
                return;
        case ROLLOUT_NONE:
        case ROLLOUT_UPDATING:
        case _ROLLOUT_MAX:
        case _ROLLOUT_INVALID:
        default:
                break;
        }
        /* Failures count only while an update is in progress: a pod that crashes long after
         * its update finished is the restart policy's business, not a reason to roll back. */
        if (svc->rollout != ROLLOUT_UPDATING || !svc->previous_hash ||
            streq(svc->previous_hash, svc->hash))
                return;
        f = failed_update(c, s, &n_failed);
        /* Up to max_failure_ratio of the replicas may fail without triggering the action. */
        if (!f || (double)n_failed <= svc->update.max_failure_ratio * (double)svc->replicas)
                return;
        describe_failure(f, what, sizeof(what));
        switch (svc->update.failure_action) {
        case FAIL_ROLLBACK:
                add_op(c, PLAN_ROLLBACK, svc->name, 0, NULL, svc->previous_hash,
                       "update failed: pod %s/%u (%s) %s; rolling back to %s", svc->name, f->slot,
                       short_hash(svc->hash, h1), what, short_hash(svc->previous_hash, h2));
                ro->target = svc->previous_hash;
                ro->cfg = &svc->rollback;
                break;
        case FAIL_PAUSE:
                add_op(c, PLAN_PAUSE, svc->name, 0, NULL, svc->hash,
                       "update failed: pod %s/%u (%s) %s; pausing the update", svc->name, f->slot,
                       short_hash(svc->hash, h1), what);
                ro->paused = true;
                ro->pause_reason =
                        xasprintf("update paused: pod %s/%u %s", svc->name, f->slot, what);
                break;
        case FAIL_CONTINUE:
        case _FAIL_MAX:
        case _FAIL_INVALID:
        default:
                break;
        }
}

/* ---- per-slot planning ---- */

static int pod_slot_cmp(const void *a, const void *b) {
        const struct obs_pod *x = *(const struct obs_pod *const *)a;
        const struct obs_pod *y = *(const struct obs_pod *const *)b;

        if (x->slot != y->slot)
                return x->slot < y->slot ? -1 : 1;
        return strcmp(x->node, y->node);
}

/* Whether node id takes part in placement: up and not drained. */
static bool node_usable(struct ctx *c, const char *id) {
        size_t ni = sched_node_index(c->sched, id);

        return sched_node_up(c->sched, ni) &&
               !streq(sched_node(c->sched, ni)->availability, "drain");
}

/* The pod that represents the slot: a live pod of the target template on an up node that is not
 * drained and not superseded (the controller's record names it: the replacement of a pod moved
 * off a node that came back, or off a drained node), else the newest such pod, else one on an
 * up node, else the first. */
static size_t pick_primary(struct ctx *c, const struct obs_pod *const *pods, size_t n,
                           const char *target) {
        size_t best = SIZE_MAX;

        for (size_t i = 0; i < n; i++)
                if (streq(pods[i]->hash, target) && pods[i]->state != POD_DEAD &&
                    !pods[i]->superseded && node_usable(c, pods[i]->node))
                        return i;
        for (size_t i = 0; i < n; i++)
                if (streq(pods[i]->hash, target) && pods[i]->state != POD_DEAD &&
                    node_usable(c, pods[i]->node) &&
                    (best == SIZE_MAX || pods[i]->started_at_usec > pods[best]->started_at_usec))
                        best = i;
        if (best != SIZE_MAX)
                return best;
        for (size_t i = 0; i < n; i++)
                if (streq(pods[i]->hash, target) && pods[i]->state != POD_DEAD &&
                    node_up(c, pods[i]->node))
                        return i;
        for (size_t i = 0; i < n; i++)
                if (node_up(c, pods[i]->node))
                        return i;
        return 0;
}

static const char *unreported_reason(struct ctx *c, char *buf, size_t n) {
        snprintf(buf, n, "waiting for node %s to report", c->unreported);
        return buf;
}

/* Pods above the replica count, or extra pods of a slot: stopped (once every node reported). */
static void stop_pod(struct ctx *c, struct svc_state *s, const struct obs_pod *p, const char *why) {
        char buf[256];

        if (c->unreported) {
                add_op(c, PLAN_WAIT, s->svc->name, p->slot, p->node, p->hash, "%s; %s", why,
                       unreported_reason(c, buf, sizeof(buf)));
                return;
        }
        sched_unaccount(c->sched, s->group, sched_node_index(c->sched, p->node));
        add_op(c, PLAN_STOP, s->svc->name, p->slot, p->node, p->hash, "%s", why);
}

/* Distinct slots with a pod, all of them or only those up to max_slot. */
static unsigned count_slots(const struct svc_state *s, unsigned max_slot) {
        unsigned n = 0;

        for (size_t i = 0; i < s->n_pods; i++)
                if ((i == 0 || s->pods[i]->slot != s->pods[i - 1]->slot) &&
                    s->pods[i]->slot <= max_slot)
                        n++;
        return n;
}

struct update_budget {
        unsigned budget; /* template replacements still allowed in this plan */
        bool unlimited;
        char *blocked; /* why no (more) replacements, once the budget is used up */
};

static void budget_init(struct ctx *c, struct svc_state *s, const struct rollout *ro,
                        struct update_budget *b) {
        unsigned in_flight = 0;
        uint64_t last_start = 0;

        *b = (struct update_budget){};
        for (size_t i = 0; i < s->n_pods; i++) {
                const struct obs_pod *p = s->pods[i];
                if (!streq(p->hash, ro->target) || p->slot > s->svc->replicas)
                        continue;
                if (!pod_settled(s->svc, p))
                        in_flight++;
                last_start = MAX(last_start, p->started_at_usec);
        }
        if (ro->cfg->parallelism == 0) {
                b->unlimited = true;
                return;
        }
        if (in_flight >= ro->cfg->parallelism) {
                b->blocked = xasprintf("rolling update: %u updated pod%s not ready yet "
                                       "(parallelism %u)",
                                       in_flight, in_flight == 1 ? "" : "s", ro->cfg->parallelism);
                return;
        }
        if (ro->cfg->delay_ms && last_start &&
            c->now < last_start + ro->cfg->delay_ms * USEC_PER_MSEC) {
                b->blocked = xasprintf("rolling update: delay %llums after the last update",
                                       (unsigned long long)ro->cfg->delay_ms);
                return;
        }
        b->budget = ro->cfg->parallelism - in_flight;
        b->blocked = xasprintf("rolling update: parallelism %u", ro->cfg->parallelism);
}

/* Handles one slot of a long-running service whose primary pod is p. */
static void plan_service_pod(struct ctx *c, struct svc_state *s, const struct rollout *ro,
                             struct update_budget *b, const char *gate_reason,
                             const struct obs_pod *p) {
        const struct model_service *svc = s->svc;
        char h1[SHORT_HASH + 1], h2[SHORT_HASH + 1], why[256];
        size_t ni = sched_node_index(c->sched, p->node);
        const char *trigger;

        if (!sched_node_up(c->sched, ni)) {
                const struct obs_node *n = sched_node(c->sched, ni);
                snprintf(why, sizeof(why), "node %s %s", p->node, n->fenced ? "fenced" : "down");
                if (svc->volumes && !n->fenced) {
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash,
                               "%s; stateful pod waits until the node is fenced", why);
                        return;
                }
                if (gate_reason) {
                        add_op(c, PLAN_WAIT, svc->name, p->slot, NULL, ro->target, "%s; %s", why,
                               gate_reason);
                        return;
                }
                sched_unaccount(c->sched, s->group, ni);
                struct plan_op *op = start_slot(c, s, p->slot, ro->target, ni, why);
                op->old_node = xstrdup(p->node);
                op->old_hash = xstrdup(p->hash);
                return;
        }

        if (streq(sched_node(c->sched, ni)->availability, "drain")) {
                snprintf(why, sizeof(why), "node %s drained", p->node);
                if (gate_reason)
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash, "%s; %s", why,
                               gate_reason);
                else if (svc->volumes)
                        /* A stateful pod stays pinned by its volume and waits (unschedulable):
                         * stop-first, should the volume ever be elsewhere. */
                        replace_pod(c, s, p, ro->target, ORDER_STOP_FIRST, why);
                else if (s->moving || s->drain_started)
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash,
                               "%s; one pod of '%s' moves at a time", why, svc->name);
                else {
                        /* Start-first: the replacement starts elsewhere; the old pod keeps
                         * running (its assignment superseded) until the replacement is settled,
                         * then it is stopped ("superseded by its replacement"). */
                        struct plan_op *op = start_slot(c, s, p->slot, ro->target, ni, why);
                        if (op->kind == PLAN_START) {
                                op->old_node = xstrdup(p->node);
                                op->old_hash = xstrdup(p->hash);
                                s->drain_started = true;
                        }
                }
                return;
        }

        if (p->state == POD_DEAD) {
                if (gate_reason)
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, ro->target,
                               "pod dead; %s", gate_reason);
                else
                        replace_pod(c, s, p, ro->target, ORDER_STOP_FIRST, "pod dead");
                return;
        }

        if (!streq(p->hash, ro->target) || c->d->up.force_recreate) {
                if (c->d->up.force_recreate)
                        snprintf(why, sizeof(why), "force recreate");
                else if (!streq(ro->target, svc->hash))
                        snprintf(why, sizeof(why), "rollback (%s -> %s)", short_hash(p->hash, h1),
                                 short_hash(ro->target, h2));
                else
                        snprintf(why, sizeof(why), "template hash changed (%s -> %s)",
                                 short_hash(p->hash, h1), short_hash(ro->target, h2));
                if (c->d->up.no_recreate) {
                        add_op(c, PLAN_KEEP, svc->name, p->slot, p->node, p->hash,
                               "%s but no_recreate is set", why);
                        return;
                }
                if (ro->paused) {
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash, "%s; %s", why,
                               ro->pause_reason);
                        return;
                }
                if (gate_reason) {
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash, "%s; %s", why,
                               gate_reason);
                        return;
                }
                if (!b->unlimited && b->budget == 0) {
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash, "%s; %s", why,
                               b->blocked);
                        return;
                }
                if (!b->unlimited)
                        b->budget--;
                s->replaced = true;
                replace_pod(c, s, p, ro->target, ro->cfg->order, why);
                return;
        }

        if (p->state == POD_RUNNING && p->health == HEALTH_UNHEALTHY) {
                if (gate_reason)
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, p->hash,
                               "container unhealthy; %s", gate_reason);
                else
                        replace_pod(c, s, p, ro->target, ORDER_STOP_FIRST, "container unhealthy");
                return;
        }

        if (p->state == POD_EXITED) {
                bool restarts = svc->restart == RESTART_ALWAYS ||
                                svc->restart == RESTART_UNLESS_STOPPED ||
                                (svc->restart == RESTART_ON_FAILURE && p->exit_code != 0);
                add_op(c, PLAN_KEEP, svc->name, p->slot, p->node, p->hash,
                       restarts ? "exited %d; the agent restarts it (restart policy %s)"
                                : "exited %d (restart policy %s)",
                       p->exit_code,
                       svc->restart == RESTART_NO           ? "no"
                       : svc->restart == RESTART_ALWAYS     ? "always"
                       : svc->restart == RESTART_ON_FAILURE ? "on-failure"
                                                            : "unless-stopped");
                return;
        }

        trigger = restart_trigger(c, s);
        if (trigger) {
                snprintf(why, sizeof(why), "dependency '%s' replaced (restart: true)", trigger);
                replace_pod(c, s, p, ro->target, ORDER_STOP_FIRST, why);
                return;
        }

        add_op(c, PLAN_KEEP, svc->name, p->slot, p->node, p->hash, "%s",
               pod_settled(svc, p) ? "up to date" : "starting");
}

/* Handles one slot of a job for this generation. */
static void plan_job_pod(struct ctx *c, struct svc_state *s, const char *gate_reason,
                         const struct obs_pod *p) {
        const struct model_service *svc = s->svc;
        uint64_t gen = c->d->up.generation;
        char why[256];
        size_t ni = sched_node_index(c->sched, p->node);
        bool done = p->state == POD_EXITED && p->generation == gen;

        if (p->generation < gen) {
                snprintf(why, sizeof(why), "job generation %llu < %llu",
                         (unsigned long long)p->generation, (unsigned long long)gen);
                if (gate_reason)
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, svc->hash, "%s; %s", why,
                               gate_reason);
                else
                        replace_pod(c, s, p, svc->hash, ORDER_STOP_FIRST, why);
                return;
        }
        if (done) {
                if (p->exit_code == 0)
                        add_op(c, PLAN_KEEP, svc->name, p->slot, p->node, p->hash, "job completed");
                else
                        add_op(c, PLAN_KEEP, svc->name, p->slot, p->node, p->hash,
                               "job failed (exit %d)", p->exit_code);
                return;
        }
        if (!sched_node_up(c->sched, ni) || p->state == POD_DEAD) {
                bool down = !sched_node_up(c->sched, ni);
                snprintf(why, sizeof(why), down ? "node %s down" : "pod dead", p->node);
                if (gate_reason)
                        add_op(c, PLAN_WAIT, svc->name, p->slot, p->node, svc->hash, "%s; %s", why,
                               gate_reason);
                else if (down) {
                        sched_unaccount(c->sched, s->group, ni);
                        struct plan_op *op = start_slot(c, s, p->slot, svc->hash, ni, why);
                        op->old_node = xstrdup(p->node);
                        op->old_hash = xstrdup(p->hash);
                        op->generation = gen;
                } else
                        replace_pod(c, s, p, svc->hash, ORDER_STOP_FIRST, why);
                return;
        }
        add_op(c, PLAN_KEEP, svc->name, p->slot, p->node, p->hash, "job running");
}

/* Every wanted slot has exactly one pod, of the target template, settled; nothing else. */
static bool update_complete(const struct svc_state *s, const struct rollout *ro) {
        if (s->n_pods != s->svc->replicas)
                return false;
        for (size_t i = 0; i < s->n_pods; i++) {
                const struct obs_pod *p = s->pods[i];
                if (p->slot != i + 1 || !streq(p->hash, ro->target) || !pod_settled(s->svc, p))
                        return false;
        }
        return true;
}

/* Rebalancing (docs/cluster.md): once every slot of a stateless service has exactly one
 * settled pod of its target template on a usable node, a pod on the node holding the most of
 * them moves to a node that takes one more and holds at least two fewer (a node that came back
 * or joined). The move is start-first, like a drain: START on the new node with the old pod
 * superseded; the old one is stopped only once the replacement is settled. One pod of a service
 * moves at a time: while any slot has two pods, nothing else moves. Returns the pod to move
 * (its highest slot on the busiest node) and sets *ret_to, or NULL. */
static const struct obs_pod *pick_rebalance(struct ctx *c, struct svc_state *s,
                                            const struct rollout *ro, const char *gate_reason,
                                            size_t *ret_to) {
        const struct model_service *svc = s->svc;
        const struct obs_pod *move = NULL;
        size_t from = SIZE_MAX;

        if (svc->kind != SVC_SERVICE || svc->volumes || gate_reason || c->unreported ||
            ro->paused || s->moving || s->n_pods != svc->replicas || c->d->up.force_recreate ||
            restart_trigger(c, s))
                return NULL;
        for (size_t i = 0; i < s->n_pods; i++) {
                const struct obs_pod *p = s->pods[i];
                size_t ni = sched_node_index(c->sched, p->node);

                if (p->slot != i + 1 || !streq(p->hash, ro->target) || !pod_settled(svc, p) ||
                    p->superseded || !node_usable(c, p->node))
                        return NULL;
                if (from == SIZE_MAX ||
                    sched_count(c->sched, s->group, ni) > sched_count(c->sched, s->group, from)) {
                        from = ni;
                        move = p;
                } else if (ni == from)
                        move = p;
        }
        if (!move)
                return NULL;
        *ret_to = sched_rebalance_target(c->sched, s->group, from);
        return *ret_to == SIZE_MAX ? NULL : move;
}

/* Moves p to node `to` (pick_rebalance): START there, the old pod superseded. */
static void rebalance_pod(struct ctx *c, struct svc_state *s, const struct obs_pod *p, size_t to) {
        size_t from = sched_node_index(c->sched, p->node);
        struct plan_op *op;

        sched_account(c->sched, s->group, to);
        op = add_op(c, PLAN_START, s->svc->name, p->slot, sched_node(c->sched, to)->id, p->hash,
                    "rebalance: node %s has %u pods of '%s', node %s %u", p->node,
                    sched_count(c->sched, s->group, from), s->svc->name,
                    sched_node(c->sched, to)->id, sched_count(c->sched, s->group, to) - 1);
        op->old_node = xstrdup(p->node);
        op->old_hash = xstrdup(p->hash);
}

static void plan_service(struct ctx *c, struct svc_state *s) {
        const struct model_service *svc = s->svc;
        _cleanup_free_ char *gate_reason = NULL;
        struct update_budget b = {};
        struct rollout ro = {};
        unsigned wanted = count_slots(s, svc->replicas);
        size_t i = 0, end = s->n_pods, rb_to = SIZE_MAX;
        const struct obs_pod *rb = NULL;
        char buf[256];

        if (!s->selected) {
                for (size_t k = 0; k < s->n_pods; k++)
                        add_op(c, PLAN_KEEP, svc->name, s->pods[k]->slot, s->pods[k]->node,
                               s->pods[k]->hash, "not selected");
                return;
        }

        gate_reason = gate(c, s);
        if (svc->kind == SVC_SERVICE) {
                rollout_decide(c, s, &ro);
                budget_init(c, s, &ro, &b);
        } else
                ro.target = svc->hash;

        for (size_t k = 1; k < s->n_pods; k++)
                if (s->pods[k]->slot == s->pods[k - 1]->slot &&
                    (k < 2 || s->pods[k - 2]->slot != s->pods[k]->slot))
                        s->moving++;

        rb = pick_rebalance(c, s, &ro, gate_reason, &rb_to);

        /* Scale down first, highest slots first: it frees room for the starts below. */
        while (end > 0 && s->pods[end - 1]->slot > svc->replicas) {
                snprintf(buf, sizeof(buf), "slot %u > replicas %u", s->pods[end - 1]->slot,
                         svc->replicas);
                stop_pod(c, s, s->pods[--end], buf);
        }

        for (unsigned slot = 1; slot <= svc->replicas; slot++) {
                size_t first = i, n, prim;

                while (i < end && s->pods[i]->slot == slot)
                        i++;
                n = i - first;
                if (n == 0) {
                        struct plan_op *op;
                        char why[128];

                        if (svc->kind == SVC_JOB)
                                snprintf(why, sizeof(why), "job generation %llu not run",
                                         (unsigned long long)c->d->up.generation);
                        else
                                snprintf(why, sizeof(why), "replicas %u < %u", wanted,
                                         svc->replicas);
                        if (gate_reason)
                                op = add_op(c, PLAN_WAIT, svc->name, slot, NULL, ro.target,
                                            "%s; %s", why, gate_reason);
                        else if (c->unreported)
                                op = add_op(c, PLAN_WAIT, svc->name, slot, NULL, ro.target,
                                            "%s; %s", why, unreported_reason(c, buf, sizeof(buf)));
                        else
                                op = start_slot(c, s, slot, ro.target, SIZE_MAX, why);
                        op->generation = c->d->up.generation;
                        continue;
                }

                prim = first + pick_primary(c, s->pods + first, n, ro.target);
                if (svc->kind == SVC_JOB)
                        plan_job_pod(c, s, gate_reason, s->pods[prim]);
                else if (s->pods[prim] == rb)
                        rebalance_pod(c, s, rb, rb_to);
                else
                        plan_service_pod(c, s, &ro, &b, gate_reason, s->pods[prim]);

                for (size_t k = first; k < i; k++) {
                        const struct obs_pod *x = s->pods[k];
                        if (k == prim)
                                continue;
                        if (!node_up(c, x->node))
                                /* Its assignment went when it was replaced; the agent stops it
                                 * if the node returns. */
                                add_op(c, PLAN_KEEP, svc->name, x->slot, x->node, x->hash,
                                       "left on down node %s, replaced on %s", x->node,
                                       s->pods[prim]->node);
                        else if (pod_settled(svc, s->pods[prim]) &&
                                 streq(s->pods[prim]->hash, ro.target)) {
                                if (streq(x->hash, s->pods[prim]->hash))
                                        snprintf(buf, sizeof(buf),
                                                 "superseded by its replacement on %s",
                                                 s->pods[prim]->node);
                                else
                                        snprintf(buf, sizeof(buf), "superseded by the updated pod");
                                stop_pod(c, s, x, buf);
                        } else
                                add_op(c, PLAN_KEEP, svc->name, x->slot, x->node, x->hash,
                                       "kept until the replacement is ready");
                }
        }
        if (svc->kind == SVC_SERVICE && svc->rollout == ROLLOUT_UPDATING && !ro.paused &&
            streq(ro.target, svc->hash) && update_complete(s, &ro))
                add_op(c, PLAN_DONE, svc->name, 0, NULL, svc->hash,
                       "update complete: %u/%u pods at %.12s and ready", svc->replicas,
                       svc->replicas, svc->hash);
        free(ro.pause_reason);
        free(b.blocked);
}

static void plan_orphans(struct ctx *c) {
        char buf[256];

        for (size_t i = 0; i < c->o->n_pods; i++) {
                const struct obs_pod *p = &c->o->pods[i];

                if (!streq(p->stack, c->d->name) || model_stack_find(c->d, p->service))
                        continue;
                if (!c->d->up.remove_orphans)
                        add_op(c, PLAN_KEEP, p->service, p->slot, p->node, p->hash,
                               "orphan: service '%s' not defined (remove_orphans not set)",
                               p->service);
                else if (c->unreported)
                        add_op(c, PLAN_WAIT, p->service, p->slot, p->node, p->hash,
                               "orphan: service '%s' not defined; %s", p->service,
                               unreported_reason(c, buf, sizeof(buf)));
                else
                        add_op(c, PLAN_REMOVE, p->service, p->slot, p->node, p->hash,
                               "orphan: service '%s' not defined", p->service);
        }
}

static void ctx_done(struct ctx *c) {
        for (size_t i = 0; c->st && i < c->d->n_services; i++)
                free(c->st[i].pods);
        free(c->st);
        free(c->order);
        free(c->path);
        sched_free(c->sched);
}

int plan_compute(const struct model_stack *desired, const struct observed *observed,
                 uint64_t now_usec, struct plan *ret, struct err **errp) {
        _cleanup_(ctx_done) struct ctx c = {
                .d = desired,
                .o = observed,
                .now = now_usec,
        };
        struct plan p = {};
        int r;

        c.plan = &p;
        c.sched = sched_new(observed->nodes, observed->n_nodes, now_usec,
                            desired->up.node_timeout_ms);
        c.st = xnew0(struct svc_state, desired->n_services + 1);
        c.order = xnew0(size_t, desired->n_services + 1);
        c.path = xnew0(size_t, desired->n_services + 1);

        for (size_t i = 0; i < observed->n_nodes; i++)
                if (sched_node_up(c.sched, i) && !observed->nodes[i].reported) {
                        c.unreported = observed->nodes[i].id;
                        break;
                }

        for (size_t i = 0; i < desired->n_services; i++) {
                const struct model_service *svc = &desired->services[i];
                struct svc_state *s = &c.st[i];

                s->svc = svc;
                r = sched_add_group(c.sched, svc->name, svc->constraints, svc->max_per_node,
                                    svc->cpu_millis, svc->memory, svc->volumes, errp);
                if (r < 0)
                        goto fail;
                s->group = r;
                s->pods = xnew0(const struct obs_pod *, observed->n_pods + 1);
        }
        for (size_t i = 0; i < observed->n_pods; i++) {
                const struct obs_pod *op = &observed->pods[i];
                const struct model_service *svc;
                struct svc_state *s;

                if (!streq(op->stack, desired->name)) {
                        /* Another stack's pod: only its resources matter here. */
                        if (op->state != POD_DEAD && op->state != POD_EXITED)
                                sched_reserve(c.sched, sched_node_index(c.sched, op->node),
                                              op->reserved_cpu_millis, op->reserved_memory);
                        continue;
                }
                svc = model_stack_find(desired, op->service);
                if (!svc)
                        continue;
                s = &c.st[svc - desired->services];
                s->pods[s->n_pods++] = op;
                if (op->state != POD_DEAD)
                        sched_account(c.sched, s->group, sched_node_index(c.sched, op->node));
        }
        for (size_t i = 0; i < desired->n_services; i++) {
                qsort_safe(c.st[i].pods, c.st[i].n_pods, sizeof(*c.st[i].pods), pod_slot_cmp);
                r = visit(&c, i, errp);
                if (r < 0)
                        goto fail;
        }

        if (desired->up.services)
                STRV_FOREACH (name, desired->up.services)
                        select_with_deps(
                                &c, (size_t)(model_stack_find(desired, *name) - desired->services));
        else
                for (size_t i = 0; i < desired->n_services; i++)
                        c.st[i].selected = true;

        for (size_t k = 0; k < c.n_order; k++)
                plan_service(&c, &c.st[c.order[k]]);
        plan_orphans(&c);

        p.stack = xstrdup(desired->name);
        *ret = p;
        return 0;
fail:
        plan_done(&p);
        return r;
}

static void set_str_if(json_t *o, const char *key, const char *v) {
        if (v)
                json_object_set_new(o, key, json_string(v));
}

json_t *plan_to_json(const struct plan *p) {
        json_t *j = json_object(), *counts = json_object(), *ops = json_array();

        set_str_if(j, "stack", p->stack);
        for (int k = 0; k < _PLAN_KIND_MAX; k++)
                if (p->count[k])
                        json_object_set_new(counts, kind_table[k],
                                            json_integer((json_int_t)p->count[k]));
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct plan_op *op = &p->ops[i];
                json_t *o = json_object();

                json_object_set_new(o, "kind", json_string(plan_kind_to_string(op->kind)));
                json_object_set_new(o, "service", json_string(op->service));
                if (op->slot)
                        json_object_set_new(o, "slot", json_integer(op->slot));
                set_str_if(o, "node", op->node);
                set_str_if(o, "old_node", op->old_node);
                set_str_if(o, "hash", op->hash);
                set_str_if(o, "old_hash", op->old_hash);
                if (op->kind == PLAN_REPLACE)
                        json_object_set_new(o, "order",
                                            json_string(update_order_to_string(op->order)));
                if (op->generation)
                        json_object_set_new(o, "generation",
                                            json_integer((json_int_t)op->generation));
                json_object_set_new(o, "reason", json_string(op->reason));
                json_array_append_new(ops, o);
        }
        json_object_set_new(j, "counts", counts);
        json_object_set_new(j, "ops", ops);
        return j;
}

char *plan_op_name(const struct plan_op *op) {
        if (op->slot == 0)
                return xstrdup(op->service);
        return xasprintf("%s/%u", op->service, op->slot);
}

char *plan_summary(const struct plan *p) {
        _cleanup_strv_ char **lines = NULL;

        for (size_t i = 0; i < p->n_ops; i++) {
                const struct plan_op *op = &p->ops[i];
                _cleanup_free_ char *name = plan_op_name(op), *where = NULL;

                switch (op->kind) {
                case PLAN_REPLACE:
                        if (streq_ptr(op->node, op->old_node))
                                where = xasprintf(" on %s (%s)", op->node,
                                                  update_order_to_string(op->order));
                        else
                                where = xasprintf(" on %s -> %s (%s)", op->old_node, op->node,
                                                  update_order_to_string(op->order));
                        break;
                case PLAN_ROLLBACK:
                case PLAN_PAUSE:
                case PLAN_DONE:
                        where = xstrdup("");
                        break;
                case PLAN_START:
                case PLAN_STOP:
                case PLAN_REMOVE:
                case PLAN_KEEP:
                case PLAN_WAIT:
                case _PLAN_KIND_MAX:
                case _PLAN_KIND_INVALID:
                default:
                        where = op->node ? xasprintf(" on %s", op->node) : xstrdup("");
                        break;
                }
                strv_push_take(&lines, xasprintf("%s %s%s: %s\n", plan_kind_to_string(op->kind),
                                                 name, where, op->reason));
        }
        return strv_join(lines, "");
}
