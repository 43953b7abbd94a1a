/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the node agent needs from a container runtime to run pods (STYLE C15: an ops table).
 * A pod is one replica of a service: its containers share network, IPC and UTS namespaces. Its
 * name is the assignment's: "<stack>.<service>.<slot>.<hash12>". Every container of a pod
 * carries the labels berth.stack, berth.service, berth.pod (the name), berth.slot, berth.hash,
 * berth.order (the service's place in its stack's dependency order: lower ones start first,
 * higher ones stop first), berth.generation and berth.recreate, so list_pods() can rebuild the
 * state from the runtime after a restart.
 *
 * Implementations: pods_fake.c (tests: records calls, lets tests set pod states, hold
 * removals) and pods_engine.c (the container manager). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

enum pod_rt_state {
        POD_RT_CREATED,
        POD_RT_RUNNING,
        POD_RT_EXITED,
        POD_RT_DEAD, /* cannot be started again (its container is gone or broken) */
        _POD_RT_STATE_MAX,
        _POD_RT_STATE_INVALID = -EINVAL,
};

enum pod_rt_health {
        POD_RT_HEALTH_NONE,
        POD_RT_HEALTH_STARTING,
        POD_RT_HEALTH_HEALTHY,
        POD_RT_HEALTH_UNHEALTHY,
        _POD_RT_HEALTH_MAX,
        _POD_RT_HEALTH_INVALID = -EINVAL,
};

const char *pod_rt_state_to_string(enum pod_rt_state s);
const char *pod_rt_health_to_string(enum pod_rt_health h);

/* What to create (all borrowed). */
struct pod_spec {
        const char *name;
        const char *stack, *service, *hash;
        unsigned slot;
        uint64_t generation;
        uint64_t order; /* dependency rank of the service in its stack */
        uint64_t recreate;
        const json_t *pod; /* the pod template of docs/model.md */
        /* The stack's shared parts the pod uses (NULL = none): {"networks", "volumes",
         * "secrets", "configs" of the model, "services": {NAME: {"container_name",
         * "endpoint"}}}. */
        const json_t *stack_model;
};

/* What a runtime reports of one pod. */
struct pod_status {
        char *name;
        char *stack, *service, *hash;
        unsigned slot;
        uint64_t generation, order, recreate;
        enum pod_rt_state state;
        int exit_code;
        enum pod_rt_health health;
        uint64_t started_at_usec;
};

void pod_status_done(struct pod_status *p);
void pod_statuses_free(struct pod_status *p, size_t n);

struct daemon_env;

/* r is 0 or a negative errno with e saying why (borrowed). */
typedef void pod_done_fn(void *ud, const char *name, int r, const struct err *e);
/* A pod's state may have changed by itself (see set_notify): name NULL. name set: the start of
 * that new pod failed after create_pod() returned, the runtime removed what it had created, and
 * e says why; the node treats it as a failed create (error reported, retried with backoff). */
typedef void pod_changed_fn(void *ud, const char *name, const struct err *e);

struct pod_runtime_ops {
        /* Optional: opens the runtime's state in the daemon (the ud of the calls below). */
        int (*open)(const struct daemon_env *env, void **ret_ud, struct err **errp);
        /* Optional: closes it; pending done callbacks of remove_pod are dropped, not run. */
        void (*close)(void *ud);
        /* Creates and starts the pod. */
        int (*create_pod)(void *ud, const struct pod_spec *spec, struct err **errp);
        /* Starts an exited pod again (restart policy). */
        int (*start_pod)(void *ud, const char *name, struct err **errp);
        /* Stops (grace period from the template, then SIGKILL) and removes the pod; a missing
         * pod is success. Stopping takes time, so this only starts it: done runs once the pod
         * is gone or removing failed (possibly before remove_pod returns). A negative return
         * means nothing was started and done will not run. timeout_s >= 0 overrides the
         * template's stop grace period (`berth down -t N`). */
        int (*remove_pod)(void *ud, const char *name, int timeout_s, pod_done_fn *done,
                          void *done_ud, struct err **errp);
        /* Every pod of this runtime with berth labels. */
        int (*list_pods)(void *ud, struct pod_status **ret, size_t *ret_n, struct err **errp);
        /* Optional: removes what the runtime made for stacks (their networks) that are not in
         * live (strv of stack names) and that nothing uses any more. Returns how many. */
        int (*gc_stacks)(void *ud, char *const *live);
        /* Optional: after each local pass, the assignments answer's "stacks" (may be NULL):
         * remote endpoints of overlay networks (agent/overlay_peers.h). */
        void (*sync_stacks)(void *ud, const json_t *stacks);
        /* Optional: fn(fn_ud) is called from the loop whenever a pod's state may have changed
         * without a call above (a start finished or failed, a container exited or vanished, a
         * health status changed, a health probe is due), possibly several times for one
         * change; the node agent then runs a pass and reports at once instead of at its next
         * tick. fn NULL stops it; close() stops it too. */
        void (*set_notify)(void *ud, pod_changed_fn *fn, void *fn_ud);
};

/* The fake runtime for tests: ud is a struct pod_fake. */
struct pod_fake {
        struct pod_status *pods;
        size_t n_pods, alloc_pods;
        char **calls;       /* strv: "create NAME", "start NAME", "remove NAME" */
        char **fail;        /* strv of calls ("create NAME") that fail with EIO */
        bool hold_removals; /* removals wait for pod_fake_finish_removals() */
        struct pod_fake_rm {
                char *name;
                pod_done_fn *done;
                void *ud;
        } * held;
        size_t n_held, alloc_held;
        pod_changed_fn *notify; /* set_notify: pod_fake_set() and pod_fake_fail_start() call it */
        void *notify_ud;
};
extern const struct pod_runtime_ops pod_fake_ops;
void pod_fake_done(struct pod_fake *f);
struct pod_status *pod_fake_find(struct pod_fake *f, const char *name);
/* Sets a pod's state (running pods get started_at_usec, exited ones exit_code). Returns -ENOENT
 * for an unknown pod. */
int pod_fake_set(struct pod_fake *f, const char *name, enum pod_rt_state state, int exit_code,
                 enum pod_rt_health health);
/* Completes the held removals (in the order they were asked for). */
void pod_fake_finish_removals(struct pod_fake *f);
/* The start of a new pod failed after its create: drops it and tells the notify function. */
int pod_fake_fail_start(struct pod_fake *f, const char *name, const char *why);
/* Drops a pod without a call, as if it vanished from the runtime. */
void pod_fake_forget(struct pod_fake *f, const char *name);
