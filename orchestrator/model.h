/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The planner's inputs as small C structs, parsed from JSON:
 *  - the desired stack: the canonical model of docs/model.md (only the fields the orchestrator
 *    relies on; unknown keys ignored) plus the controller's own per-service rollout record and
 *    the options of this `up` (docs/orchestrator.md);
 *  - the observed cluster: nodes and pods as agents report them (format in
 *    docs/orchestrator.md).
 * Parse errors name the field ("services.web.replicas: expected an integer >= 0"). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "macro.h"

#define MODEL_REPLICAS_MAX 100000u
#define MODEL_SERVICES_MAX 10000u

enum svc_kind {
        SVC_SERVICE,
        SVC_JOB,
        _SVC_KIND_MAX,
        _SVC_KIND_INVALID = -EINVAL,
};

enum dep_cond {
        DEP_STARTED,
        DEP_HEALTHY,
        DEP_COMPLETED,
        _DEP_COND_MAX,
        _DEP_COND_INVALID = -EINVAL,
};

enum update_order {
        ORDER_STOP_FIRST,
        ORDER_START_FIRST,
        _ORDER_MAX,
        _ORDER_INVALID = -EINVAL,
};

enum failure_action {
        FAIL_PAUSE,
        FAIL_CONTINUE,
        FAIL_ROLLBACK,
        _FAIL_MAX,
        _FAIL_INVALID = -EINVAL,
};

enum restart_policy {
        RESTART_NO,
        RESTART_ALWAYS,
        RESTART_ON_FAILURE,
        RESTART_UNLESS_STOPPED,
        _RESTART_MAX,
        _RESTART_INVALID = -EINVAL,
};

/* Where a service's rolling update stands; the controller persists it in the service record
 * ("x-rollout") and updates it when the planner emits ROLLBACK or PAUSE. */
enum rollout_state {
        ROLLOUT_NONE,     /* nothing recorded: converge to `hash` */
        ROLLOUT_UPDATING, /* converging to `hash`, previous_hash known */
        ROLLOUT_PAUSED,   /* an updated pod failed and failure_action is pause */
        ROLLOUT_ROLLBACK, /* converging back to previous_hash */
        _ROLLOUT_MAX,
        _ROLLOUT_INVALID = -EINVAL,
};

const char *svc_kind_to_string(enum svc_kind k);
const char *dep_cond_to_string(enum dep_cond c);
const char *update_order_to_string(enum update_order o);
const char *rollout_state_to_string(enum rollout_state s);

struct model_dep {
        char *service;
        enum dep_cond cond;
        bool restart;
        bool required;
};

struct model_update {
        unsigned parallelism; /* 0 = all at once */
        uint64_t delay_ms;
        enum update_order order;
        enum failure_action failure_action;
        uint64_t monitor_ms;
        double max_failure_ratio; /* failures tolerated, as a fraction of replicas (0..1) */
};

struct model_service {
        char *name;
        enum svc_kind kind;
        unsigned replicas;
        char *container_name;
        struct model_dep *deps;
        size_t n_deps;
        struct model_update update, rollback;
        char **constraints;    /* strv */
        unsigned max_per_node; /* 0 = unlimited */
        char *hash;
        enum restart_policy restart;
        bool has_healthcheck; /* any container has a healthcheck */
        char **volumes;       /* names (stack-level keys resolved to `name`) of volume mounts */
        uint64_t cpu_millis;  /* sum of container reservations */
        uint64_t memory;      /* bytes, sum of container reservations */
        /* Controller record. */
        enum rollout_state rollout;
        char *previous_hash;
};

/* Options of this `up`. */
struct up_options {
        bool force_recreate;
        bool no_recreate;
        bool remove_orphans;
        char **services;          /* selected services (strv, NULL = all) */
        uint64_t generation;      /* bumped by each `up`; jobs run once per generation */
        uint64_t node_timeout_ms; /* a node without heartbeat for this long is down */
};

struct model_stack {
        char *name;
        struct model_service *services; /* sorted by name */
        size_t n_services;
        struct up_options up;
};

/* Parses a canonical model document. The optional "up" object holds struct up_options and each
 * service may hold "x-rollout": {"state": ..., "previous_hash": ...}. */
int model_stack_from_json(const json_t *j, struct model_stack **ret, struct err **errp);
struct model_stack *model_stack_free(struct model_stack *s);
void model_stack_freep(struct model_stack **s);
const struct model_service *model_stack_find(const struct model_stack *s, const char *name);

enum pod_state {
        POD_CREATED,
        POD_RUNNING,
        POD_EXITED,
        POD_DEAD,
        _POD_STATE_MAX,
        _POD_STATE_INVALID = -EINVAL,
};

enum pod_health {
        HEALTH_NONE,
        HEALTH_STARTING,
        HEALTH_HEALTHY,
        HEALTH_UNHEALTHY,
        _HEALTH_MAX,
        _HEALTH_INVALID = -EINVAL,
};

const char *pod_state_to_string(enum pod_state s);

struct obs_label {
        char *key, *value;
};

struct obs_node {
        char *id;
        char *name;
        char *role;         /* "manager" | "worker" */
        char *availability; /* "active" | "pause" | "drain" */
        struct obs_label *labels;
        size_t n_labels;
        bool ready;
        bool reported; /* has reported at least once since the controller started */
        bool fenced;   /* confirmed down or removed: its pods are gone for good */
        uint64_t last_heartbeat_usec;
        uint64_t cpu_millis, memory;           /* allocatable */
        uint64_t used_cpu_millis, used_memory; /* reserved by pods not listed in "pods" */
        char **volumes;                        /* named volumes this node holds */
};

struct obs_pod {
        char *stack;
        char *service;
        unsigned slot; /* 1-based */
        char *node;
        char *hash;
        enum pod_state state;
        int exit_code;
        enum pod_health health;
        uint64_t started_at_usec;
        unsigned restarts;
        uint64_t generation;
        bool superseded; /* the controller's pod record names another pod for this slot: a
                          * copy left on a node that was down or drained */
        uint64_t reserved_cpu_millis; /* "reserved": the pod's own reservations; counted for */
        uint64_t reserved_memory;     /* pods of other stacks (this stack's use the model) */
};

struct observed {
        struct obs_node *nodes; /* sorted by id */
        size_t n_nodes;
        struct obs_pod *pods;
        size_t n_pods;
};

int observed_from_json(const json_t *j, struct observed **ret, struct err **errp);
struct observed *observed_free(struct observed *o);
void observed_freep(struct observed **o);
const struct obs_node *observed_find_node(const struct observed *o, const char *id);
const char *obs_node_label(const struct obs_node *n, const char *key);
