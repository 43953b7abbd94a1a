/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "sched.h"
#include "strv.h"
#include "xalloc.h"

#define SCHED_GROUPS_MAX 100000

struct sched_group {
        char *name;
        struct sched_constraint *cons;
        size_t n_cons;
        unsigned max_per_node;
        uint64_t cpu_millis, memory;
        char **reasons;   /* distinct static failure reasons */
        int *static_fail; /* per node: -1 eligible, else index into reasons */
        unsigned *count;  /* per node: pods of this group */
};

struct sched {
        const struct obs_node *nodes;
        size_t n_nodes;
        bool *up;
        uint64_t *used_cpu, *used_mem;
        struct sched_group *groups;
        size_t n_groups, alloc_groups;
};

static const char *const field_prefix[_SCHED_FIELD_MAX] = {
        [SCHED_FIELD_LABEL] = "node.labels.",
        [SCHED_FIELD_HOSTNAME] = "node.hostname",
        [SCHED_FIELD_ROLE] = "node.role",
        [SCHED_FIELD_ID] = "node.id",
};

int sched_constraint_parse(const char *s, struct sched_constraint *ret, struct err **errp) {
        struct sched_constraint c = {};
        const char *op, *lhs_end, *val;
        _cleanup_free_ char *lhs = NULL;

        op = strstr(s, "==");
        c.equal = true;
        if (!op || (strstr(s, "!=") && strstr(s, "!=") < op)) {
                op = strstr(s, "!=");
                c.equal = false;
        }
        if (!op)
                return err_setx(errp, EINVAL, "constraint '%s': expected == or !=", s);
        lhs_end = op;
        while (lhs_end > s && lhs_end[-1] == ' ')
                lhs_end--;
        while (*s == ' ')
                s++;
        lhs = xstrndup(s, (size_t)(lhs_end - s));
        val = op + 2;
        while (*val == ' ')
                val++;
        if (!*val)
                return err_setx(errp, EINVAL, "constraint '%s': empty value", s);

        if (str_startswith(lhs, field_prefix[SCHED_FIELD_LABEL])) {
                c.field = SCHED_FIELD_LABEL;
                if (!lhs[strlen(field_prefix[SCHED_FIELD_LABEL])])
                        return err_setx(errp, EINVAL, "constraint '%s': empty label key", s);
        } else if (streq(lhs, "node.hostname"))
                c.field = SCHED_FIELD_HOSTNAME;
        else if (streq(lhs, "node.role"))
                c.field = SCHED_FIELD_ROLE;
        else if (streq(lhs, "node.id"))
                c.field = SCHED_FIELD_ID;
        else
                return err_setx(
                        errp, EINVAL,
                        "constraint '%s': unknown attribute '%s' (expected node.labels.KEY, "
                        "node.hostname, node.role or node.id)",
                        s, lhs);

        c.value = xstrdup(val);
        /* Trailing blanks are not part of the value. */
        for (size_t n = strlen(c.value); n > 0 && c.value[n - 1] == ' '; n--)
                c.value[n - 1] = 0;
        if (c.field == SCHED_FIELD_ROLE && !streq(c.value, "manager") &&
            !streq(c.value, "worker")) {
                int r = err_setx(errp, EINVAL, "constraint '%s': node.role is manager or worker",
                                 s);
                free(c.value);
                return r;
        }
        if (c.field == SCHED_FIELD_LABEL)
                c.key = xstrdup(lhs + strlen(field_prefix[SCHED_FIELD_LABEL]));
        c.text = xasprintf("%s%s%s", lhs, c.equal ? "==" : "!=", c.value);
        *ret = c;
        return 0;
}

void sched_constraint_done(struct sched_constraint *c) {
        free(c->key);
        free(c->value);
        free(c->text);
        *c = (struct sched_constraint){};
}

bool sched_constraint_match(const struct sched_constraint *c, const struct obs_node *n) {
        const char *v = NULL;

        switch (c->field) {
        case SCHED_FIELD_LABEL:
                v = obs_node_label(n, c->key);
                break;
        case SCHED_FIELD_HOSTNAME:
                v = n->name;
                break;
        case SCHED_FIELD_ROLE:
                v = n->role;
                break;
        case SCHED_FIELD_ID:
                v = n->id;
                break;
        case _SCHED_FIELD_MAX:
        case _SCHED_FIELD_INVALID:
        default:
                return false;
        }
        /* A missing label is "not equal" to anything (docker's rule). */
        return streq_ptr(v, c->value) == c->equal;
}

struct sched *sched_new(const struct obs_node *nodes, size_t n_nodes, uint64_t now_usec,
                        uint64_t node_timeout_ms) {
        struct sched *s = xnew0(struct sched, 1);
        uint64_t newest = 0, timeout = node_timeout_ms * USEC_PER_MSEC;

        s->nodes = nodes;
        s->n_nodes = n_nodes;
        s->up = xnew0(bool, n_nodes + 1);
        s->used_cpu = xnew0(uint64_t, n_nodes + 1);
        s->used_mem = xnew0(uint64_t, n_nodes + 1);
        for (size_t i = 0; i < n_nodes; i++)
                if (nodes[i].ready && !nodes[i].fenced)
                        newest = MAX(newest, nodes[i].last_heartbeat_usec);
        for (size_t i = 0; i < n_nodes; i++) {
                uint64_t hb = nodes[i].last_heartbeat_usec;
                /* Down means silent for the timeout while others were heard: when no node
                 * reported for that long, the controller itself was stalled or cut off (a
                 * busy loop handles queued heartbeats late), and nothing is moved. */
                bool fresh = hb >= now_usec || now_usec - hb <= timeout || newest - hb <= timeout;

                s->up[i] = nodes[i].ready && !nodes[i].fenced && fresh;
                s->used_cpu[i] = nodes[i].used_cpu_millis;
                s->used_mem[i] = nodes[i].used_memory;
        }
        return s;
}

struct sched *sched_free(struct sched *s) {
        if (!s)
                return NULL;
        for (size_t g = 0; g < s->n_groups; g++) {
                struct sched_group *gr = &s->groups[g];
                for (size_t i = 0; i < gr->n_cons; i++)
                        sched_constraint_done(&gr->cons[i]);
                free(gr->cons);
                free(gr->name);
                strv_free(gr->reasons);
                free(gr->static_fail);
                free(gr->count);
        }
        free(s->groups);
        free(s->up);
        free(s->used_cpu);
        free(s->used_mem);
        free(s);
        return NULL;
}

void sched_freep(struct sched **s) {
        *s = sched_free(*s);
}

bool sched_node_up(const struct sched *s, size_t node) {
        return node < s->n_nodes && s->up[node];
}

const struct obs_node *sched_node(const struct sched *s, size_t node) {
        return node < s->n_nodes ? &s->nodes[node] : NULL;
}

size_t sched_node_index(const struct sched *s, const char *id) {
        size_t lo = 0, hi = s->n_nodes;

        /* Nodes are sorted by id (observed_from_json). */
        while (id && lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(s->nodes[mid].id, id);
                if (c == 0)
                        return mid;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return SIZE_MAX;
}

static int reason_index(struct sched_group *g, char *reason_take) {
        size_t i = 0;

        STRV_FOREACH (r, g->reasons) {
                if (streq(*r, reason_take)) {
                        free(reason_take);
                        return (int)i;
                }
                i++;
        }
        strv_push_take(&g->reasons, reason_take);
        return (int)i;
}

static char *static_failure(const struct sched *s, const struct sched_group *g, size_t i,
                            char *const *volumes) {
        const struct obs_node *n = &s->nodes[i];

        if (!streq(n->availability, "active"))
                return xasprintf("unavailable (%s)", n->availability);
        if (!s->up[i])
                return xstrdup(n->fenced ? "fenced" : "down");
        for (size_t k = 0; k < g->n_cons; k++)
                if (!sched_constraint_match(&g->cons[k], n))
                        return xasprintf("do not match constraint %s", g->cons[k].text);
        /* Volume affinity: a named volume that some node (not fenced) holds pins the pod to
         * that node, even when it is down: two nodes must never run the same stateful pod. */
        STRV_FOREACH (v, volumes) {
                bool somewhere = false;
                for (size_t j = 0; j < s->n_nodes && !somewhere; j++)
                        somewhere = !s->nodes[j].fenced && strv_contains(s->nodes[j].volumes, *v);
                if (somewhere && !strv_contains(n->volumes, *v))
                        return xasprintf("do not hold volume '%s'", *v);
        }
        return NULL;
}

int sched_add_group(struct sched *s, const char *name, char *const *constraints,
                    unsigned max_per_node, uint64_t cpu_millis, uint64_t memory,
                    char *const *volumes, struct err **errp) {
        struct sched_group g = {};
        size_t n = strv_length(constraints);
        int r;

        if (s->n_groups >= SCHED_GROUPS_MAX)
                return err_setx(errp, E2BIG, "too many scheduling groups");
        g.cons = xnew0(struct sched_constraint, n + 1);
        for (size_t i = 0; i < n; i++) {
                r = sched_constraint_parse(constraints[i], &g.cons[i], errp);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                sched_constraint_done(&g.cons[k]);
                        free(g.cons);
                        (void)err_wrap(errp, "service '%s': placement.constraints[%zu]", name, i);
                        return r;
                }
                g.n_cons++;
        }
        g.name = xstrdup(name);
        g.max_per_node = max_per_node;
        g.cpu_millis = cpu_millis;
        g.memory = memory;
        g.static_fail = xnew(int, s->n_nodes + 1);
        g.count = xnew0(unsigned, s->n_nodes + 1);
        for (size_t i = 0; i < s->n_nodes; i++) {
                char *why = static_failure(s, &g, i, volumes);
                g.static_fail[i] = why ? reason_index(&g, why) : -1;
        }
        XGROW(s->groups, s->alloc_groups, s->n_groups + 1);
        s->groups[s->n_groups] = g;
        return (int)s->n_groups++;
}

void sched_account(struct sched *s, int group, size_t node) {
        struct sched_group *g = &s->groups[group];

        if (node >= s->n_nodes)
                return;
        g->count[node]++;
        s->used_cpu[node] += g->cpu_millis;
        s->used_mem[node] += g->memory;
}

void sched_reserve(struct sched *s, size_t node, uint64_t cpu_millis, uint64_t memory) {
        if (node >= s->n_nodes)
                return;
        s->used_cpu[node] += cpu_millis;
        s->used_mem[node] += memory;
}

void sched_unaccount(struct sched *s, int group, size_t node) {
        struct sched_group *g = &s->groups[group];

        if (node >= s->n_nodes || g->count[node] == 0)
                return;
        g->count[node]--;
        s->used_cpu[node] -= MIN(s->used_cpu[node], g->cpu_millis);
        s->used_mem[node] -= MIN(s->used_mem[node], g->memory);
}

/* NULL when node takes one more pod of g, else a static string naming why not. */
static const char *dynamic_failure(const struct sched *s, const struct sched_group *g, size_t i) {
        const struct obs_node *n = &s->nodes[i];

        if (g->max_per_node && g->count[i] >= g->max_per_node)
                return "at max_replicas_per_node";
        if (g->cpu_millis && s->used_cpu[i] + g->cpu_millis > n->cpu_millis)
                return "insufficient cpu";
        if (g->memory && s->used_mem[i] + g->memory > n->memory)
                return "insufficient memory";
        return NULL;
}

bool sched_fits(struct sched *s, int group, size_t node) {
        const struct sched_group *g = &s->groups[group];

        return node < s->n_nodes && g->static_fail[node] < 0 && !dynamic_failure(s, g, node);
}

static double load(const struct sched *s, size_t i) {
        const struct obs_node *n = &s->nodes[i];
        double c = n->cpu_millis ? (double)s->used_cpu[i] / (double)n->cpu_millis : 1.0;
        double m = n->memory ? (double)s->used_mem[i] / (double)n->memory : 1.0;

        return c + m;
}

static char *explain(const struct sched *s, const struct sched_group *g, size_t exclude) {
        _cleanup_strv_ char **cats = NULL;
        _cleanup_free_ unsigned *counts = NULL;
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *list = NULL;
        size_t n_cats = 0, alloc = 0;

        for (size_t i = 0; i < s->n_nodes; i++) {
                const char *why;
                size_t k = 0;

                if (i == exclude)
                        why = "replaced here";
                else if (g->static_fail[i] >= 0)
                        why = g->reasons[g->static_fail[i]];
                else
                        why = dynamic_failure(s, g, i);
                if (!why)
                        continue;
                STRV_FOREACH (c, cats) {
                        if (streq(*c, why))
                                break;
                        k++;
                }
                if (k == n_cats) {
                        strv_push(&cats, why);
                        XGROW(counts, alloc, n_cats + 1);
                        counts[n_cats++] = 0;
                }
                counts[k]++;
        }
        for (size_t k = 0; k < n_cats; k++)
                strv_push_take(&parts, xasprintf("%u %s", counts[k], cats[k]));
        list = strv_join(parts, ", ");
        if (s->n_nodes == 0)
                return xstrdup("0/0 nodes available: no nodes");
        return xasprintf("0/%zu nodes available: %s", s->n_nodes, list);
}

int sched_place(struct sched *s, int group, size_t exclude, size_t *ret_node, char **ret_reason) {
        struct sched_group *g = &s->groups[group];
        size_t best = SIZE_MAX;
        unsigned best_count = 0;
        double best_load = 0;

        for (size_t i = 0; i < s->n_nodes; i++) {
                double l;

                if (g->static_fail[i] >= 0 || i == exclude || dynamic_failure(s, g, i))
                        continue;
                l = load(s, i);
                if (best == SIZE_MAX || g->count[i] < best_count ||
                    (g->count[i] == best_count && l < best_load)) {
                        best = i;
                        best_count = g->count[i];
                        best_load = l;
                }
        }
        if (best == SIZE_MAX) {
                if (ret_reason)
                        *ret_reason = explain(s, g, exclude);
                return -ENOSPC;
        }
        sched_account(s, group, best);
        *ret_node = best;
        return 0;
}

unsigned sched_count(const struct sched *s, int group, size_t node) {
        return node < s->n_nodes ? s->groups[group].count[node] : 0;
}

size_t sched_rebalance_target(struct sched *s, int group, size_t from) {
        const struct sched_group *g = &s->groups[group];
        size_t best = SIZE_MAX;

        if (from >= s->n_nodes)
                return SIZE_MAX;
        for (size_t i = 0; i < s->n_nodes; i++) {
                if (i == from || g->count[i] + 2 > g->count[from] || !sched_fits(s, group, i))
                        continue;
                if (best == SIZE_MAX || g->count[i] < g->count[best] ||
                    (g->count[i] == g->count[best] && load(s, i) < load(s, best)))
                        best = i;
        }
        return best;
}
