/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The container runtime library: create/start/kill/delete/pause/exec of OCI bundles, with state
 * kept in STATE_ROOT/<id>/ (state.json, exec.fifo). Used by `berth oci` and by the per-container
 * `berth shim`. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

#define RT_DEFAULT_STATE_ROOT "/run/berth/oci"

enum rt_status {
        RT_STATUS_CREATING,
        RT_STATUS_CREATED,
        RT_STATUS_RUNNING,
        RT_STATUS_STOPPED,
        RT_STATUS_PAUSED,
        _RT_STATUS_MAX,
};
const char *rt_status_to_string(enum rt_status s);

struct rt_state {
        char *id;
        char *bundle; /* absolute */
        char *rootfs; /* absolute */
        char *oci_version;
        pid_t pid;
        uint64_t start_time; /* /proc/PID/stat starttime: guards against pid reuse */
        char *created;       /* RFC 3339, UTC */
        json_t *annotations; /* object */
        struct cg *cg;       /* NULL when no cgroup was set up */
        char *dir;           /* STATE_ROOT/<id> */
        /* Non-fatal problems of the last call (failed poststart/poststop hooks), for the caller
         * to log as warnings. */
        char **warnings;
        /* The config.json this process created the container from (not saved): start and
         * delete run its poststart/poststop hooks instead of reading the bundle again. */
        struct spec *spec;
};

struct rt_state *rt_state_free(struct rt_state *st);
void rt_state_freep(struct rt_state **st);

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 characters. */
bool rt_id_valid(const char *id);

/* Writes STATE_ROOT/<id>/state.json atomically. */
int rt_state_save(const struct rt_state *st, struct err **errp);
/* Field 22 of /proc/PID/stat, 0 when the process is gone or a zombie. */
uint64_t rt_proc_start_time(pid_t pid);

int rt_state_load(const char *state_root, const char *id, struct rt_state **ret, struct err **errp);
enum rt_status rt_state_status(const struct rt_state *st);
/* The runtime-spec state document: ociVersion, id, status, pid, bundle, annotations. */
json_t *rt_state_to_json(const struct rt_state *st);
/* Ids of all containers under state_root (sorted). */
int rt_list(const char *state_root, char ***ret, struct err **errp);

struct rt_create_opts {
        const char *state_root;
        const char *id;
        const char *bundle; /* directory holding config.json */
        int console_fd;     /* connected console socket (process.terminal), -1 */
        const char *pid_file;
        const char *cgroup_root; /* default "/sys/fs/cgroup" */
        /* The bundle's config.json when the caller has parsed it already (borrowed; rt_create
         * may fill in defaults); NULL: read from the bundle. */
        struct spec *spec;
        /* The container's stdin/stdout/stderr (for the shim: pipes or log files). -1 in a slot
         * (or stdio_set false) inherits the caller's. Ignored for a terminal. */
        bool stdio_set;
        int stdio[3];
};

/* Sets the container up and leaves its init waiting for rt_start. On failure nothing is left
 * behind (process killed, cgroup and state directory removed). */
int rt_create(const struct rt_create_opts *o, struct rt_state **ret, struct err **errp);
/* Lets a created container's init exec the process. */
int rt_start(struct rt_state *st, struct err **errp);
/* Signals the init (or, with all, every process in the cgroup). */
int rt_kill(struct rt_state *st, int sig, bool all, struct err **errp);
int rt_pause(struct rt_state *st, bool pause, struct err **errp);
/* Removes a stopped (or created) container; force kills a running one first. */
int rt_delete(struct rt_state *st, bool force, struct err **errp);
/* Pids in the container's cgroup. */
int rt_pids(struct rt_state *st, pid_t **ret, size_t *ret_n, struct err **errp);

struct rt_exec_opts {
        const struct spec_process *process;
        int console_fd; /* -1 */
        bool stdio_set; /* as in rt_create_opts */
        int stdio[3];
};
/* Starts a process inside a running container (joins every namespace of its init and its
 * cgroup, applies the same security settings). Returns the pid (our child). */
int rt_exec(struct rt_state *st, const struct rt_exec_opts *o, pid_t *ret_pid, struct err **errp);

/* Sysctls a container may set given its namespaces (runc's rule); -EINVAL with the key. */
int rt_validate_sysctls(const struct spec *spec, struct err **errp);
