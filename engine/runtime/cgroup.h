/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "runtime/spec.h"

/* One cgroup interface, three drivers behind a const ops table (STYLE C15):
 *   v1      controllers mounted under ROOT/<controller>
 *   v2      the unified hierarchy at ROOT
 *   hybrid  v1 controllers plus a cgroup2 at ROOT/unified (this is where systemd keeps its
 *           tracking); resources go through v1, and the process is also placed in the v2 tree so
 *           that tools reading 0::/ see it. */
enum cg_driver {
        CG_DRIVER_V1,
        CG_DRIVER_V2,
        CG_DRIVER_HYBRID,
        _CG_DRIVER_MAX,
        _CG_DRIVER_INVALID = -EINVAL
};

enum cg_v1_ctrl {
        CG_V1_CPU,
        CG_V1_CPUACCT,
        CG_V1_CPUSET,
        CG_V1_MEMORY,
        CG_V1_DEVICES,
        CG_V1_FREEZER,
        CG_V1_BLKIO,
        CG_V1_PIDS,
        _CG_V1_MAX,
};

struct cg {
        enum cg_driver driver;
        const struct cg_ops *ops;
        char *root;                /* "/sys/fs/cgroup" */
        char *v1_path[_CG_V1_MAX]; /* absolute inside each hierarchy; NULL: controller absent */
        char *v2_path;             /* absolute inside the unified hierarchy; NULL for pure v1 */
};

struct cg_stats {
        uint64_t cpu_usage_ns;
        uint64_t mem_usage, mem_limit, mem_max_usage;
        uint64_t oom_kills;
        uint64_t pids_current, pids_limit; /* pids_limit 0: unlimited */
        bool mem_unavailable;              /* no memory controller for the cgroup (v2 without it) */
};

struct cg_ops {
        int (*create)(struct cg *cg, struct err **errp);
        int (*apply)(struct cg *cg, const struct spec_resources *res,
                     const struct spec_device *devs, size_t n_devs, struct err **errp);
        int (*add_pid)(struct cg *cg, pid_t pid, struct err **errp);
        int (*freeze)(struct cg *cg, bool frozen, struct err **errp);
        /* 1 frozen, 0 thawed */
        int (*is_frozen)(struct cg *cg, struct err **errp);
        int (*stats)(struct cg *cg, struct cg_stats *ret, struct err **errp);
        /* Reads cgroup.procs of the container's cgroup. */
        int (*pids)(struct cg *cg, pid_t **ret, size_t *ret_n, struct err **errp);
        /* Removes the cgroup; 1 removed, 0 already gone. */
        int (*destroy)(struct cg *cg, struct err **errp);
};

const char *cg_driver_to_string(enum cg_driver d);
enum cg_driver cg_driver_from_string(const char *s);
const char *cg_v1_ctrl_name(enum cg_v1_ctrl c);

/* Looks at ROOT: a cgroup2 mount there is v2; v1 controllers plus ROOT/unified (cgroup2) is
 * hybrid; otherwise v1. */
int cg_detect(const char *root, enum cg_driver *ret, struct err **errp);

/* Pure path logic. spec_path is linux.cgroupsPath (may be NULL: "berth/<id>"); an absolute path
 * is taken as is, a relative one is put under own (the caller's cgroup from /proc/self/cgroup for
 * that controller). Rejects "..", empty components are collapsed. */
int cg_resolve_path(const char *spec_path, const char *id, const char *own, char **ret,
                    struct err **errp);

/* Parses /proc/self/cgroup content: the path of a v1 controller (ctrl) or of the unified
 * hierarchy (ctrl NULL). Returns "/" when not listed. */
char *cg_own_path(const char *proc_self_cgroup, const char *ctrl);

/* Builds a handle: resolves paths against proc_self_cgroup (contents of /proc/self/cgroup) for
 * v1 and hybrid; on pure v2, relative paths start at the root. */
int cg_new(enum cg_driver driver, const char *root, const char *spec_path, const char *id,
           const char *proc_self_cgroup, struct cg **ret, struct err **errp);
struct cg *cg_free(struct cg *cg);
void cg_freep(struct cg **cg);

/* Serialized in the container state so later commands find the same cgroup. */
json_t *cg_to_json(const struct cg *cg);
int cg_from_json(const json_t *j, struct cg **ret, struct err **errp);

/* Sends sig to every process in the cgroup. For SIGKILL it uses cgroup.kill on v2, otherwise
 * freeze + signal + thaw: one round when the freeze worked (nothing escapes a kill while frozen),
 * else repeated (at most 20 rounds) until the cgroup is empty. It does not wait for the killed
 * tasks to leave the cgroup: cg_rmdir does. */
int cg_kill_all(struct cg *cg, int sig, struct err **errp);
/* Sleep of the i-th round of a bounded poll of cgroup state (freezer): 0.1 ms doubling to 2 ms
 * from round 5 on. */
void cg_poll_sleep(int i);

/* Helpers shared by the drivers (cgroup.c). */
int cg_write(const char *dir, const char *file, const char *val, struct err **errp);
int cg_read(const char *dir, const char *file, char **ret, struct err **errp);
int cg_read_u64(const char *dir, const char *file, uint64_t *ret);
int cg_read_pids(const char *dir, pid_t **ret, size_t *ret_n, struct err **errp);
int cg_rmdir(const char *dir, struct err **errp);

extern const struct cg_ops cg_v1_ops, cg_v2_ops, cg_hybrid_ops;

/* v2 helpers exposed for the hybrid driver and for tests (a temp dir can stand in for a cgroup2
 * mount). dir is the absolute directory of the container's cgroup. */
int cg_v2_apply_dir(const char *dir, const struct spec_resources *res, struct err **errp);

/* Builds and attaches the BPF_PROG_TYPE_CGROUP_DEVICE filter for a v2 cgroup (devices_bpf.c).
 * The rules are the spec's list followed by the default devices every container gets. */
int cg_v2_devices_attach(const char *dir, const struct spec_dev_rule *rules, size_t n_rules,
                         struct err **errp);
/* The program alone (for tests): instructions in *ret (struct bpf_insn[]). */
int cg_devices_bpf_build(const struct spec_dev_rule *rules, size_t n_rules, void **ret,
                         size_t *ret_n);

/* Devices every container may use whatever its spec says (null, zero, full, random, urandom,
 * tty, console, ptmx, /dev/pts/N), as runc does. */
extern const struct spec_dev_rule cg_default_dev_rules[];
extern const size_t cg_default_dev_rules_len;
