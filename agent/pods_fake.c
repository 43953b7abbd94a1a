/* SPDX-License-Identifier: Apache-2.0 */
/* The pod runtime interface's shared helpers and the fake runtime tests drive. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "pods.h"
#include "strv.h"
#include "xalloc.h"

static const char *const state_table[_POD_RT_STATE_MAX] = {
        [POD_RT_CREATED] = "created",
        [POD_RT_RUNNING] = "running",
        [POD_RT_EXITED] = "exited",
        [POD_RT_DEAD] = "dead",
};

static const char *const health_table[_POD_RT_HEALTH_MAX] = {
        [POD_RT_HEALTH_NONE] = "none",
        [POD_RT_HEALTH_STARTING] = "starting",
        [POD_RT_HEALTH_HEALTHY] = "healthy",
        [POD_RT_HEALTH_UNHEALTHY] = "unhealthy",
};

const char *pod_rt_state_to_string(enum pod_rt_state s) {
        return s >= 0 && s < _POD_RT_STATE_MAX ? state_table[s] : NULL;
}

const char *pod_rt_health_to_string(enum pod_rt_health h) {
        return h >= 0 && h < _POD_RT_HEALTH_MAX ? health_table[h] : NULL;
}

void pod_status_done(struct pod_status *p) {
        if (!p)
                return;
        free(p->name);
        free(p->stack);
        free(p->service);
        free(p->hash);
        *p = (struct pod_status){};
}

void pod_statuses_free(struct pod_status *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                pod_status_done(&p[i]);
        free(p);
}

static void pod_status_copy(struct pod_status *dst, const struct pod_status *src) {
        *dst = *src;
        dst->name = xstrdup(src->name);
        dst->stack = xstrdup(src->stack);
        dst->service = xstrdup(src->service);
        dst->hash = xstrdup(src->hash);
}

struct pod_status *pod_fake_find(struct pod_fake *f, const char *name) {
        for (size_t i = 0; i < f->n_pods; i++)
                if (streq(f->pods[i].name, name))
                        return &f->pods[i];
        return NULL;
}

static int fake_call(struct pod_fake *f, const char *verb, const char *name, struct err **errp) {
        _cleanup_free_ char *call = xasprintf("%s %s", verb, name);

        strv_push(&f->calls, call);
        if (strv_contains(f->fail, call))
                return err_setx(errp, EIO, "%s pod '%s': injected failure", verb, name);
        return 0;
}

static int fake_create(void *ud, const struct pod_spec *spec, struct err **errp) {
        struct pod_fake *f = ud;
        struct pod_status *p;
        int r;

        r = fake_call(f, "create", spec->name, errp);
        if (r < 0)
                return r;
        if (pod_fake_find(f, spec->name))
                return err_setx(errp, EEXIST, "pod '%s' already exists", spec->name);
        XGROW(f->pods, f->alloc_pods, f->n_pods + 1);
        p = &f->pods[f->n_pods++];
        *p = (struct pod_status){
                .name = xstrdup(spec->name),
                .stack = xstrdup(spec->stack),
                .service = xstrdup(spec->service),
                .hash = xstrdup(spec->hash),
                .slot = spec->slot,
                .generation = spec->generation,
                .order = spec->order,
                .recreate = spec->recreate,
                .state = POD_RT_RUNNING,
                .started_at_usec = 1,
        };
        return 0;
}

static int fake_start(void *ud, const char *name, struct err **errp) {
        struct pod_fake *f = ud;
        struct pod_status *p;
        int r;

        r = fake_call(f, "start", name, errp);
        if (r < 0)
                return r;
        p = pod_fake_find(f, name);
        if (!p)
                return err_setx(errp, ENOENT, "no such pod '%s'", name);
        p->state = POD_RT_RUNNING;
        p->exit_code = 0;
        return 0;
}

void pod_fake_forget(struct pod_fake *f, const char *name) {
        for (size_t i = 0; i < f->n_pods; i++)
                if (streq(f->pods[i].name, name)) {
                        pod_status_done(&f->pods[i]);
                        memmove(&f->pods[i], &f->pods[i + 1],
                                (f->n_pods - i - 1) * sizeof(f->pods[0]));
                        f->n_pods--;
                        return;
                }
}

static int fake_remove(void *ud, const char *name, int timeout_s, pod_done_fn *done, void *done_ud,
                       struct err **errp) {
        struct pod_fake *f = ud;
        int r;

        r = fake_call(f, "remove", name, errp);
        if (r < 0)
                return r;
        if (timeout_s >= 0) {
                char **last = &f->calls[strv_length(f->calls) - 1];
                char *with = xasprintf("%s t=%d", *last, timeout_s);
                free(*last);
                *last = with;
        }
        if (f->hold_removals) {
                XGROW(f->held, f->alloc_held, f->n_held + 1);
                f->held[f->n_held++] = (struct pod_fake_rm){xstrdup(name), done, done_ud};
                return 0;
        }
        pod_fake_forget(f, name);
        done(done_ud, name, 0, NULL);
        return 0;
}

void pod_fake_finish_removals(struct pod_fake *f) {
        struct pod_fake_rm *held = TAKE_PTR(f->held);
        size_t n = f->n_held;

        f->n_held = f->alloc_held = 0;
        for (size_t i = 0; i < n; i++) {
                pod_fake_forget(f, held[i].name);
                held[i].done(held[i].ud, held[i].name, 0, NULL);
                free(held[i].name);
        }
        free(held);
}

static int fake_list(void *ud, struct pod_status **ret, size_t *ret_n, struct err **errp) {
        struct pod_fake *f = ud;
        struct pod_status *l = xnew0(struct pod_status, f->n_pods + 1);

        (void)errp;
        for (size_t i = 0; i < f->n_pods; i++)
                pod_status_copy(&l[i], &f->pods[i]);
        *ret = l;
        *ret_n = f->n_pods;
        return 0;
}

static void fake_set_notify(void *ud, pod_changed_fn *fn, void *fn_ud) {
        struct pod_fake *f = ud;

        f->notify = fn;
        f->notify_ud = fn_ud;
}

const struct pod_runtime_ops pod_fake_ops = {
        .create_pod = fake_create,
        .start_pod = fake_start,
        .remove_pod = fake_remove,
        .list_pods = fake_list,
        .set_notify = fake_set_notify,
};

int pod_fake_set(struct pod_fake *f, const char *name, enum pod_rt_state state, int exit_code,
                 enum pod_rt_health health) {
        struct pod_status *p = pod_fake_find(f, name);

        if (!p)
                return -ENOENT;
        p->state = state;
        p->exit_code = state == POD_RT_EXITED ? exit_code : 0;
        p->health = health;
        if (f->notify)
                f->notify(f->notify_ud, NULL, NULL);
        return 0;
}

int pod_fake_fail_start(struct pod_fake *f, const char *name, const char *why) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *copy = xstrdup(name);

        if (!pod_fake_find(f, name))
                return -ENOENT;
        pod_fake_forget(f, name);
        (void)err_setx(&e, EIO, "%s", why);
        if (f->notify)
                f->notify(f->notify_ud, copy, e);
        return 0;
}

void pod_fake_done(struct pod_fake *f) {
        for (size_t i = 0; i < f->n_held; i++)
                free(f->held[i].name);
        free(f->held);
        pod_statuses_free(f->pods, f->n_pods);
        strv_free(f->calls);
        strv_free(f->fail);
        *f = (struct pod_fake){};
}
