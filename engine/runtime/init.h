/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the container's init (the cloned child) needs, prepared by the parent before clone so that
 * the child does no allocation of its own, and the sync protocol between them (STYLE C13). */

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

/* Child-side error: filled in by the init code, sent to the parent as data. */
struct rt_cerr {
        int code;
        char msg[1024];
};
int rt_cerr_set(struct rt_cerr *ce, int code, const char *fmt, ...) _printf_(3, 4);

enum rt_sync_type {
        RT_SYNC_GO = 1,      /* parent -> child: maps written, cgroup joined */
        RT_SYNC_CREATED = 2, /* child -> parent: set up, waiting for start */
        RT_SYNC_ERROR = 3,   /* child -> parent: {code, msg}, then the child _exits */
        RT_SYNC_EXECED = 4,  /* exec: the process is about to execve */
        RT_SYNC_HOOKS = 5,   /* child -> parent: namespaces and mounts ready, run prestart and
                              * createRuntime hooks, then answer GO */
};

struct rt_sync_msg {
        int type;
        int code;
        char msg[1024];
};

int rt_sync_send(int fd, int type, const struct rt_cerr *ce);
/* Reads one message; -EPIPE on EOF. */
int rt_sync_recv(int fd, struct rt_sync_msg *ret);

struct rt_init {
        const struct spec *spec;
        const struct spec_process *process; /* spec->process, or the exec'd one */
        const char *rootfs;                 /* absolute host path */
        int sync_fd;
        int fifo_fd;              /* exec.fifo (O_RDWR), -1: exec at once */
        int console_fd;           /* connected console socket, -1: none */
        int ns_fds[_SPEC_NS_MAX]; /* namespaces to join (setns), -1 otherwise */
        bool userns;              /* a new user namespace was created */
        bool new_cgroupns;        /* unshare(CLONE_NEWCGROUP) after being placed */
        bool new_netns, new_ipcns, new_utsns, new_mntns;
        const char *cgroup_v1_ctrls[16]; /* mounts for a "cgroup" entry on v1 hosts, NULL-ended */
        bool cgroup2;                    /* host is pure v2: mount cgroup2 */
        struct sc_prog seccomp;
        struct caps_sets caps;
        bool has_caps;
        char *const *envp;
        bool exec_mode; /* joining a running container: no mounts, no hostname */
        int stdio[3];   /* fds to install as 0, 1, 2; -1: keep */
        /* Hooks: the parent sends the state JSON right after GO when the init runs hooks
         * itself (createContainer, startContainer); it lands in state_buf (allocated before
         * clone). runtime_hooks: stop before pivot_root for prestart/createRuntime. */
        bool want_state, runtime_hooks;
        char *state_buf;
        size_t state_cap;
};

/* The init sequence run in the child. Never returns: execs the process or _exits after
 * reporting over sync_fd. */
_noreturn_ void rt_init_run(struct rt_init *init);

/* Pieces used by the init sequence (each its own small function). */
int rt_mount_setup(const struct rt_init *init, struct rt_cerr *ce);
int rt_mount_pivot(const char *rootfs, struct rt_cerr *ce);
int rt_mount_after_pivot(const struct rt_init *init, struct rt_cerr *ce);
int rt_rlimits_apply(const struct spec_process *p, struct rt_cerr *ce);
int rt_user_switch(const struct spec_user *u, struct rt_cerr *ce);

/* Resolves path inside the directory rootfd as if rootfd were "/" (symlinks and ".." cannot
 * leave it). Uses openat2(RESOLVE_IN_ROOT) when the kernel has it and walks the components with
 * O_NOFOLLOW otherwise. With create, missing components are made (directories, and the last one
 * as a file when create_file). Returns an O_PATH fd or -errno. */
int rt_open_in_root(int rootfd, const char *path, bool create, bool create_file);
/* Same, always taking the fallback walk (for tests and when openat2 is known missing). */
int rt_open_in_root_walk(int rootfd, const char *path, bool create, bool create_file);

/* Writes uid_map/gid_map of pid (and "deny" to setgroups when deny_setgroups). */
int rt_user_write_maps(pid_t pid, const struct spec *spec, bool deny_setgroups, struct err **errp);

/* PATH lookup inside the (already pivoted) root: fills path, returns 0, -ENOENT or -EACCES. */
int rt_find_exec(const char *name, char *const *envp, char *path, size_t n);
