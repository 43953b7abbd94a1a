/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "exec.h"
#include "strv.h"
#include "xalloc.h"

enum phase {
        PHASE_ROLLOUT,
        PHASE_STOP,
        PHASE_REPLACE_STOP_FIRST,
        PHASE_START,
        PHASE_REPLACE_START_FIRST,
        _PHASE_MAX,
};

static int phase_of(const struct plan_op *op) {
        switch (op->kind) {
        case PLAN_ROLLBACK:
        case PLAN_PAUSE:
        case PLAN_DONE:
                return PHASE_ROLLOUT;
        case PLAN_STOP:
        case PLAN_REMOVE:
                return PHASE_STOP;
        case PLAN_REPLACE:
                return op->order == ORDER_START_FIRST ? PHASE_REPLACE_START_FIRST
                                                      : PHASE_REPLACE_STOP_FIRST;
        case PLAN_START:
                return PHASE_START;
        case PLAN_KEEP:
        case PLAN_WAIT:
        case _PLAN_KIND_MAX:
        case _PLAN_KIND_INVALID:
        default:
                return -1;
        }
}

static int run_op(const char *stack, const struct plan_op *op, const struct executor_ops *ops,
                  void *ud, unsigned *calls, struct err **errp) {
        int r;

        switch (op->kind) {
        case PLAN_ROLLBACK:
        case PLAN_PAUSE:
        case PLAN_DONE:
                (*calls)++;
                return ops->set_rollout(ud, stack, op->service,
                                        op->kind == PLAN_ROLLBACK ? ROLLOUT_ROLLBACK
                                        : op->kind == PLAN_PAUSE  ? ROLLOUT_PAUSED
                                                                  : ROLLOUT_NONE,
                                        errp);
        case PLAN_STOP:
                (*calls)++;
                return ops->stop(ud, stack, op, op->node, op->hash, errp);
        case PLAN_REMOVE:
                (*calls)++;
                return ops->remove(ud, stack, op, errp);
        case PLAN_START:
                (*calls)++;
                return ops->start(ud, stack, op, errp);
        case PLAN_REPLACE:
                if (op->order == ORDER_START_FIRST) {
                        (*calls)++;
                        r = ops->start(ud, stack, op, errp);
                        if (r < 0)
                                return r;
                        (*calls)++;
                        return ops->stop(ud, stack, op, op->old_node, op->old_hash, errp);
                }
                (*calls)++;
                r = ops->stop(ud, stack, op, op->old_node, op->old_hash, errp);
                if (r < 0)
                        return r;
                (*calls)++;
                return ops->start(ud, stack, op, errp);
        case PLAN_KEEP:
        case PLAN_WAIT:
        case _PLAN_KIND_MAX:
        case _PLAN_KIND_INVALID:
        default:
                return 0;
        }
}

int plan_apply(const struct plan *p, const struct executor_ops *ops, void *ud, struct err **errp) {
        struct err *first = NULL;
        unsigned calls = 0;
        int first_r = 0;

        if (!ops || !ops->start || !ops->stop || !ops->remove || !ops->set_rollout)
                return err_setx(errp, EINVAL, "executor lacks a required operation");

        for (int ph = 0; ph < _PHASE_MAX; ph++)
                for (size_t i = 0; i < p->n_ops; i++) {
                        const struct plan_op *op = &p->ops[i];
                        _cleanup_err_ struct err *e = NULL;
                        int r;

                        if (phase_of(op) != ph)
                                continue;
                        if (ops->ready && !ops->ready(ud, p->stack, op))
                                continue;
                        r = run_op(p->stack, op, ops, ud, &calls, &e);
                        if (r >= 0)
                                continue;
                        if (!e)
                                (void)err_setx(&e, -r, "executor failed");
                        {
                                _cleanup_free_ char *name = plan_op_name(op);
                                (void)err_wrap(&e, "%s '%s'", plan_kind_to_string(op->kind), name);
                        }
                        if (ops->failed)
                                ops->failed(ud, p->stack, op, e);
                        if (!first) {
                                first = TAKE_PTR(e);
                                first_r = r;
                        }
                }
        if (first) {
                (void)err_move(errp, first);
                return first_r;
        }
        return (int)calls;
}

/* ---- recording executor ---- */

static int rec_line(struct exec_recorder *r, const char *verb, const char *name, char *line_take,
                    struct err **errp) {
        _cleanup_free_ char *key = xasprintf("%s %s", verb, name);

        strv_push_take(&r->lines, line_take);
        if (strv_contains(r->fail, key))
                return err_setx(errp, EIO, "%s failed (injected)", key);
        return 0;
}

static int rec_start(void *ud, const char *stack, const struct plan_op *op, struct err **errp) {
        _cleanup_free_ char *name = plan_op_name(op);

        return rec_line(ud, "start", name,
                        xasprintf("start %s %s on %s %s gen %llu", stack, name, op->node,
                                  op->hash ? op->hash : "-", (unsigned long long)op->generation),
                        errp);
}

static int rec_stop(void *ud, const char *stack, const struct plan_op *op, const char *node,
                    const char *hash, struct err **errp) {
        _cleanup_free_ char *name = plan_op_name(op);

        return rec_line(ud, "stop", name,
                        xasprintf("stop %s %s on %s %s", stack, name, node, hash ? hash : "-"),
                        errp);
}

static int rec_remove(void *ud, const char *stack, const struct plan_op *op, struct err **errp) {
        _cleanup_free_ char *name = plan_op_name(op);

        return rec_line(ud, "remove", name,
                        xasprintf("remove %s %s on %s %s", stack, name, op->node,
                                  op->hash ? op->hash : "-"),
                        errp);
}

static int rec_set_rollout(void *ud, const char *stack, const char *service,
                           enum rollout_state state, struct err **errp) {
        return rec_line(
                ud, "rollout", service,
                xasprintf("rollout %s %s %s", stack, service, rollout_state_to_string(state)),
                errp);
}

static void rec_failed(void *ud, const char *stack, const struct plan_op *op, const struct err *e) {
        struct exec_recorder *r = ud;

        (void)stack;
        (void)e;
        strv_push_take(&r->failed, plan_op_name(op));
}

static bool rec_ready(void *ud, const char *stack, const struct plan_op *op) {
        struct exec_recorder *r = ud;
        _cleanup_free_ char *name = plan_op_name(op);

        (void)stack;
        return !strv_contains(r->skip, name);
}

const struct executor_ops exec_recorder_ops = {
        .start = rec_start,
        .stop = rec_stop,
        .remove = rec_remove,
        .set_rollout = rec_set_rollout,
        .failed = rec_failed,
        .ready = rec_ready,
};

void exec_recorder_done(struct exec_recorder *r) {
        r->lines = strv_free(r->lines);
        r->fail = strv_free(r->fail);
        r->failed = strv_free(r->failed);
        r->skip = strv_free(r->skip);
}

char *plan_op_key(const char *stack, const struct plan_op *op) {
        return xasprintf("%s/%s/%u", stack, op->service, op->slot);
}

/* ---- backoff ---- */

uint64_t backoff_delay(unsigned prior_failures, uint64_t base_usec, uint64_t cap_usec) {
        if (!base_usec)
                base_usec = BACKOFF_BASE_USEC;
        if (!cap_usec)
                cap_usec = BACKOFF_CAP_USEC;
        /* Shifting past the cap's magnitude would overflow; 2^40 * base is far beyond any cap. */
        if (prior_failures >= 40 || base_usec > (cap_usec >> prior_failures))
                return cap_usec;
        return MIN(base_usec << prior_failures, cap_usec);
}

static struct backoff_entry *find(const struct backoff *b, const char *key) {
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->entries[i].key, key))
                        return &b->entries[i];
        return NULL;
}

uint64_t backoff_failed(struct backoff *b, const char *key, uint64_t now_usec) {
        struct backoff_entry *e = find(b, key);

        if (!e) {
                XGROW(b->entries, b->alloc, b->n + 1);
                e = &b->entries[b->n++];
                *e = (struct backoff_entry){.key = xstrdup(key)};
        }
        e->next_usec = now_usec + backoff_delay(e->failures, b->base_usec, b->cap_usec);
        if (e->failures < UINT32_MAX)
                e->failures++;
        return e->next_usec;
}

bool backoff_succeeded(struct backoff *b, const char *key) {
        struct backoff_entry *e = find(b, key);

        if (!e)
                return false;
        free(e->key);
        *e = b->entries[--b->n];
        return true;
}

bool backoff_ready(const struct backoff *b, const char *key, uint64_t now_usec) {
        const struct backoff_entry *e = find(b, key);

        return !e || now_usec >= e->next_usec;
}

uint64_t backoff_next(const struct backoff *b) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < b->n; i++)
                next = MIN(next, b->entries[i].next_usec);
        return next;
}

void backoff_done(struct backoff *b) {
        for (size_t i = 0; i < b->n; i++)
                free(b->entries[i].key);
        free(b->entries);
        *b = (struct backoff){};
}
