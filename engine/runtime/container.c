/* SPDX-License-Identifier: Apache-2.0 */
/* Parent side of the container lifecycle: prepare everything, clone the init, drive the sync
 * protocol, persist the state; and start, kill, pause, delete. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "strv.h"
#include "xalloc.h"

static bool has_ns(const struct spec *s, enum spec_ns ns) {
        for (size_t i = 0; i < s->n_namespaces; i++)
                if (s->namespaces[i].type == ns)
                        return true;
        return false;
}

static bool new_ns(const struct spec *s, enum spec_ns ns) {
        for (size_t i = 0; i < s->n_namespaces; i++)
                if (s->namespaces[i].type == ns)
                        return s->namespaces[i].path == NULL;
        return false;
}

int rt_validate_sysctls(const struct spec *spec, struct err **errp) {
        for (size_t i = 0; i < spec->n_sysctls; i++) {
                const char *k = spec->sysctls[i].key;
                bool ok;

                if (str_startswith(k, "net."))
                        ok = has_ns(spec, SPEC_NS_NET);
                else if (str_startswith(k, "kernel.shm") || str_startswith(k, "kernel.msg") ||
                         streq(k, "kernel.sem") || str_startswith(k, "fs.mqueue."))
                        ok = has_ns(spec, SPEC_NS_IPC);
                else if (streq(k, "kernel.hostname") || streq(k, "kernel.domainname"))
                        ok = has_ns(spec, SPEC_NS_UTS);
                else
                        return err_setx(errp, EINVAL,
                                        "config.json: linux.sysctl: '%s' is not namespaced and "
                                        "cannot be set in a container",
                                        k);
                if (!ok)
                        return err_setx(errp, EINVAL,
                                        "config.json: linux.sysctl: '%s' needs its own namespace "
                                        "in linux.namespaces",
                                        k);
        }
        return 0;
}

static char *now_rfc3339(void) {
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

/* The state document hooks get on stdin. */
static char *hook_state(const struct rt_state *st, pid_t pid, const char *status) {
        _cleanup_json_ json_t *j =
                json_pack("{s:s, s:s, s:s, s:i, s:s, s:O}", "ociVersion",
                          st->oci_version ? st->oci_version : "1.1.0", "id", st->id, "status",
                          status, "pid", (int)pid, "bundle", st->bundle ? st->bundle : "",
                          "annotations", st->annotations ? st->annotations : json_object());
        return json_dump_str(j, false);
}

/* Runs hooks whose failure is only a warning (poststart, poststop). */
static void run_hooks_warn(struct rt_state *st, enum spec_hook_kind k, const char *status) {
        _cleanup_(spec_freep) struct spec *owned = NULL;
        _cleanup_free_ char *state = NULL;
        const struct spec *spec = st->spec;
        char msg[1024];

        if (!spec) {
                _cleanup_free_ char *cfg = xasprintf("%s/config.json", st->bundle);

                if (spec_load(cfg, &owned, NULL) < 0)
                        return;
                spec = owned;
        }
        if (spec->n_hooks[k] == 0)
                return;
        state = hook_state(st, st->pid, status);
        for (size_t i = 0; i < spec->n_hooks[k]; i++)
                if (rt_hook_run(&spec->hooks[k][i], state, msg, sizeof(msg)) < 0)
                        strv_push_take(&st->warnings, xasprintf("%s: %s", spec_hook_name(k), msg));
}

/* Kills and reaps a half-created init. */
static void kill_child(pid_t pid) {
        if (pid <= 0)
                return;
        (void)kill(pid, SIGKILL);
        (void)RETRY_EINTR(waitpid(pid, NULL, 0));
}

/* Capability sets for the init: the spec's, or docker's defaults when the spec has none. */
static void caps_from_spec(const struct spec_process *p, struct caps_sets *ret, bool *has) {
        *has = true;
        if (!p->has_caps) {
                /* OCI: no capabilities object means the process gets none. */
                for (int i = 0; i < 5; i++) {
                        ret->set[i] = NULL;
                        ret->n[i] = 0;
                }
                return;
        }
        for (int i = 0; i < 5; i++) {
                ret->set[i] = p->caps[i];
                ret->n[i] = p->n_caps[i];
        }
}

/* Seccomp: the spec's profile, or berth's default when the spec has none, unless the bundle
 * opts out with the annotation "org.berth.seccomp": "unconfined". */
static int seccomp_prepare(const struct spec *spec, const struct spec_process *p,
                           struct sc_prog *ret, struct err **errp) {
        _cleanup_(spec_seccomp_freep) struct spec_seccomp *def = NULL;
        const struct spec_seccomp *use = spec->seccomp;
        int r;

        if (!use) {
                if (streq_ptr(json_get_str(spec->annotations, "org.berth.seccomp", NULL),
                              "unconfined"))
                        return 0;
                r = sc_default_profile(
                        caps_mask(p->caps[SPEC_CAP_EFFECTIVE], p->n_caps[SPEC_CAP_EFFECTIVE]) |
                                caps_mask(p->caps[SPEC_CAP_BOUNDING], p->n_caps[SPEC_CAP_BOUNDING]),
                        &def, errp);
                if (r < 0)
                        return r;
                use = def;
        }
        r = sc_compile(use, ret, errp);
        if (r < 0)
                return err_wrap(errp, "seccomp profile");
        return 0;
}

static char *read_self_cgroup(void) {
        char *s = NULL;
        if (read_file("/proc/self/cgroup", 1 << 16, &s, NULL, NULL) < 0)
                return xstrdup("");
        return s;
}

/* Resolves the bundle and rootfs to absolute paths. */
static int bundle_paths(const char *bundle, const struct spec *spec, char **ret_bundle,
                        char **ret_rootfs, struct err **errp) {
        _cleanup_free_ char *b = NULL;
        char cwd[PATH_MAX];
        struct stat st;

        if (bundle[0] == '/')
                b = xstrdup(bundle);
        else {
                if (!getcwd(cwd, sizeof(cwd)))
                        return err_set(errp, errno, "getcwd");
                b = streq(bundle, ".") ? xstrdup(cwd) : xasprintf("%s/%s", cwd, bundle);
        }
        *ret_rootfs = spec->root_path[0] == '/' ? xstrdup(spec->root_path)
                                                : xasprintf("%s/%s", b, spec->root_path);
        if (stat(*ret_rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
                int e = errno ? errno : ENOTDIR;
                err_set(errp, e, "config.json: root.path: '%s' is not a directory", *ret_rootfs);
                free(*ret_rootfs);
                *ret_rootfs = NULL;
                return -e;
        }
        *ret_bundle = TAKE_PTR(b);
        return 0;
}

static int cgroup_prepare(const struct spec *spec, const char *id, const char *root,
                          struct cg **ret, struct err **errp) {
        _cleanup_(cg_freep) struct cg *cg = NULL;
        _cleanup_free_ char *self = read_self_cgroup();
        enum cg_driver d;
        int r;

        r = cg_detect(root, &d, errp);
        if (r < 0)
                return r;
        r = cg_new(d, root, spec->cgroups_path, id, self, &cg, errp);
        if (r < 0)
                return r;
        r = cg->ops->create(cg, errp);
        if (r < 0) {
                (void)cg->ops->destroy(cg, NULL);
                return r;
        }
        r = cg->ops->apply(cg, &spec->resources, spec->devices, spec->n_devices, errp);
        if (r < 0) {
                (void)cg->ops->destroy(cg, NULL);
                return err_wrap(errp, "apply linux.resources");
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

static void init_cgroup_mounts(struct rt_init *init, const struct cg *cg) {
        size_t n = 0;

        init->cgroup2 = cg && cg->driver == CG_DRIVER_V2;
        if (!cg || init->cgroup2)
                return;
        for (int c = 0; c < _CG_V1_MAX && n < ELEMENTSOF(init->cgroup_v1_ctrls) - 1; c++)
                if (cg->v1_path[c])
                        init->cgroup_v1_ctrls[n++] = cg_v1_ctrl_name(c);
}

static void close_ns_fds(int *fds) {
        for (int i = 0; i < _SPEC_NS_MAX; i++)
                fds[i] = safe_close(fds[i]);
}

/* clone3's arguments up to the cgroup field (CLONE_ARGS_SIZE_VER2, Linux 5.7), declared here:
 * the libc headers of older systems lack the struct or the flag. */
struct rt_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        uint64_t set_tid, set_tid_size, cgroup;
};
#define RT_CLONE_INTO_CGROUP 0x200000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* On cgroup v2 the child is born in the container's cgroup (clone3 with CLONE_INTO_CGROUP):
 * no write to cgroup.procs after the clone, and no instant in which the container's first
 * process runs in the runtime's cgroup. Returns the pid (0 in the child) with *ret_joined set,
 * -ENOSYS when the caller must clone and attach by itself (v1 and hybrid, which need the v1
 * writes anyway; kernels before 5.7; a seccomp filter that hides clone3), or -1 with errno for
 * a clone that failed for another reason. The probe result is kept (STYLE C10). */
static pid_t clone_into_cgroup(int clone_flags, const struct cg *cg, bool *ret_joined) {
        static bool unsupported;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        struct rt_clone_args a;
        pid_t pid;

        if (!cg || cg->driver != CG_DRIVER_V2 || !cg->v2_path || unsupported)
                return -ENOSYS;
        dir = xasprintf("%s%s", cg->root, cg->v2_path);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -ENOSYS; /* the attach after the clone reports it */
        a = (struct rt_clone_args){
                .flags = (uint64_t)(unsigned)clone_flags | RT_CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t)fd,
        };
        pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EPERM)) {
                /* EPERM: a seccomp filter of the caller's (clone3 is often denied outright) */
                unsupported = true;
                return -ENOSYS;
        }
        if (pid > 0)
                *ret_joined = true;
        return pid;
}

/* The shared part of create and exec: clone the child with flags, place it, sync. */
static int spawn(struct rt_init *init, int clone_flags, const struct spec *spec, struct cg *cg,
                 const struct rt_state *st, pid_t *ret_pid, struct err **errp) {
        _cleanup_close_pair_ int sp[2] = {-EBADF, -EBADF};
        struct rt_sync_msg m;
        bool joined = false;
        pid_t pid;
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return err_set(errp, errno, "socketpair");
        init->sync_fd = sp[1];
        pid = clone_into_cgroup(clone_flags, cg, &joined);
        if (pid == -ENOSYS)
                pid = (pid_t)syscall(SYS_clone, (unsigned long)clone_flags | SIGCHLD, NULL, NULL,
                                     NULL, NULL);
        if (pid < 0)
                return err_set(errp, errno, "clone");
        if (pid == 0) {
                sp[0] = safe_close(sp[0]);
                rt_init_run(init);
        }
        sp[1] = safe_close(sp[1]);

        if (init->userns) {
                r = rt_user_write_maps(pid, spec, geteuid() != 0, errp);
                if (r < 0)
                        goto fail;
        }
        if (cg && !joined) {
                r = cg->ops->add_pid(cg, pid, errp);
                if (r < 0) {
                        err_wrap(errp, "join cgroup");
                        goto fail;
                }
        }
        if (init->process->has_oom_score_adj) {
                char path[64], val[16];
                _cleanup_close_ int fd = -EBADF;
                snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
                snprintf(val, sizeof(val), "%d", init->process->oom_score_adj);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, val, strlen(val)) < 0) {
                        r = err_set(errp, errno, "set oom_score_adj");
                        goto fail;
                }
        }
        if (rt_sync_send(sp[0], RT_SYNC_GO, NULL) < 0) {
                r = err_set(errp, errno, "sync with the container init");
                goto fail;
        }
        if (init->want_state) {
                _cleanup_free_ char *state = hook_state(st, pid, "creating");
                if (strlen(state) >= init->state_cap) {
                        r = err_setx(errp, E2BIG, "container state too large for hooks");
                        goto fail;
                }
                if (send(sp[0], state, strlen(state), MSG_NOSIGNAL) < 0) {
                        r = err_set(errp, errno, "send state to the container init");
                        goto fail;
                }
        }
        for (;;) {
                r = rt_sync_recv(sp[0], &m);
                if (r < 0 || m.type != RT_SYNC_HOOKS)
                        break;
                /* prestart (deprecated) and createRuntime, in the runtime's namespaces. */
                {
                        _cleanup_free_ char *state = hook_state(st, pid, "creating");
                        char msg[1024];
                        r = rt_hooks_run(spec, SPEC_HOOK_PRESTART, state, msg, sizeof(msg));
                        if (r >= 0)
                                r = rt_hooks_run(spec, SPEC_HOOK_CREATE_RUNTIME, state, msg,
                                                 sizeof(msg));
                        if (r < 0) {
                                err_setx(errp, -r, "%s", msg);
                                goto fail;
                        }
                }
                if (rt_sync_send(sp[0], RT_SYNC_GO, NULL) < 0) {
                        r = err_set(errp, errno, "sync with the container init");
                        goto fail;
                }
        }
        if (r < 0) {
                err_setx(errp, EIO, "the container init died during setup");
                goto fail;
        }
        if (m.type == RT_SYNC_ERROR) {
                r = err_setx(errp, m.code > 0 ? m.code : EIO, "%s", m.msg);
                goto fail;
        }
        if (m.type != RT_SYNC_CREATED && m.type != RT_SYNC_EXECED) {
                r = err_setx(errp, EPROTO, "unexpected sync message %d", m.type);
                goto fail;
        }
        *ret_pid = pid;
        return 0;
fail:
        kill_child(pid);
        return r < 0 ? r : -EIO;
}

static int open_join_fds(const struct spec *spec, int *fds, int *ret_pidns_fd, struct err **errp) {
        for (size_t i = 0; i < spec->n_namespaces; i++) {
                const struct spec_namespace *ns = &spec->namespaces[i];
                int fd;

                if (!ns->path)
                        continue;
                fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return err_set(errp, errno, "config.json: linux.namespaces: open '%s'",
                                       ns->path);
                if (ns->type == SPEC_NS_PID)
                        *ret_pidns_fd = fd;
                else
                        fds[ns->type] = fd;
        }
        return 0;
}

int rt_create(const struct rt_create_opts *o, struct rt_state **ret, struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_(spec_freep) struct spec *owned = NULL;
        _cleanup_free_ char *cfg = NULL, *fifo = NULL;
        _cleanup_close_ int fifo_fd = -EBADF, pidns_fd = -EBADF, saved_pidns = -EBADF;
        struct spec *spec = o->spec;
        _cleanup_strv_ char **env = NULL;
        _cleanup_free_ char *state_buf = NULL;
        struct rt_init init = {};
        struct sc_prog prog = {};
        int flags = 0, r;
        bool dir_made = false;

        if (!rt_id_valid(o->id))
                return err_setx(errp, EINVAL,
                                "invalid container id '%s' (want [A-Za-z0-9][A-Za-z0-9_.-]*)",
                                o->id);
        if (!spec) {
                cfg = xasprintf("%s/config.json", o->bundle);
                r = spec_load(cfg, &owned, errp);
                if (r < 0)
                        return r;
                spec = owned;
        }
        r = rt_validate_sysctls(spec, errp);
        if (r < 0)
                return r;
        if (spec->process.terminal && o->console_fd < 0)
                return err_setx(errp, EINVAL,
                                "process.terminal is true but no --console-socket was given");

        st = xnew0(struct rt_state, 1);
        st->id = xstrdup(o->id);
        st->oci_version = xstrdup(spec->oci_version);
        st->annotations = json_incref(spec->annotations);
        st->created = now_rfc3339();
        st->dir = xasprintf("%s/%s", o->state_root, o->id);
        r = bundle_paths(o->bundle, spec, &st->bundle, &st->rootfs, errp);
        if (r < 0)
                return r;

        r = mkdir_p(o->state_root, 0700, errp);
        if (r < 0)
                return r;
        if (mkdir(st->dir, 0700) < 0) {
                if (errno == EEXIST)
                        return err_setx(errp, EEXIST, "container '%s' already exists", o->id);
                return err_set(errp, errno, "create '%s'", st->dir);
        }
        dir_made = true;
        fifo = xasprintf("%s/exec.fifo", st->dir);
        if (mkfifo(fifo, 0600) < 0) {
                r = err_set(errp, errno, "mkfifo '%s'", fifo);
                goto fail;
        }
        /* O_RDWR: the open does not wait for a writer, and the init keeps a reader open. */
        fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
        if (fifo_fd < 0) {
                r = err_set(errp, errno, "open '%s'", fifo);
                goto fail;
        }

        r = seccomp_prepare(spec, &spec->process, &prog, errp);
        if (r < 0)
                goto fail;

        for (int i = 0; i < _SPEC_NS_MAX; i++)
                init.ns_fds[i] = -EBADF;
        r = open_join_fds(spec, init.ns_fds, &pidns_fd, errp);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < spec->n_namespaces; i++)
                if (!spec->namespaces[i].path && spec->namespaces[i].type != SPEC_NS_CGROUP)
                        flags |= spec_ns_clone_flag(spec->namespaces[i].type);
        if ((flags & CLONE_NEWUSER) && (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0)) {
                r = err_setx(errp, EINVAL,
                             "config.json: linux.uidMappings: a new user namespace needs "
                             "uidMappings and gidMappings");
                goto fail;
        }
        if (!new_ns(spec, SPEC_NS_MOUNT) && !has_ns(spec, SPEC_NS_MOUNT)) {
                r = err_setx(errp, EINVAL,
                             "config.json: linux.namespaces: a mount namespace is required");
                goto fail;
        }

        r = cgroup_prepare(spec, o->id, o->cgroup_root ? o->cgroup_root : "/sys/fs/cgroup", &st->cg,
                           errp);
        if (r < 0)
                goto fail;

        env = strv_copy(spec->process.env);
        if (!env)
                env = xnew0(char *, 1);
        for (int i = 0; i < 3; i++)
                init.stdio[i] = o->stdio_set ? o->stdio[i] : -1;
        init.spec = spec;
        init.process = &spec->process;
        init.rootfs = st->rootfs;
        init.fifo_fd = fifo_fd;
        init.console_fd = o->console_fd;
        init.userns = flags & CLONE_NEWUSER;
        init.new_cgroupns = new_ns(spec, SPEC_NS_CGROUP);
        init.new_netns = new_ns(spec, SPEC_NS_NET);
        init.new_ipcns = new_ns(spec, SPEC_NS_IPC);
        init.new_utsns = new_ns(spec, SPEC_NS_UTS);
        init.new_mntns = has_ns(spec, SPEC_NS_MOUNT);
        init.seccomp = prog;
        init.envp = env;
        caps_from_spec(&spec->process, &init.caps, &init.has_caps);
        init_cgroup_mounts(&init, st->cg);

        if (pidns_fd >= 0) {
                /* Joining a pid namespace only affects children: enter it for the clone and
                 * come back right after. */
                saved_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (saved_pidns < 0 || setns(pidns_fd, CLONE_NEWPID) < 0) {
                        r = err_set(errp, errno, "join pid namespace");
                        goto fail;
                }
        }
        init.want_state = spec->n_hooks[SPEC_HOOK_CREATE_CONTAINER] > 0 ||
                          spec->n_hooks[SPEC_HOOK_START_CONTAINER] > 0;
        init.runtime_hooks = spec->n_hooks[SPEC_HOOK_PRESTART] > 0 ||
                             spec->n_hooks[SPEC_HOOK_CREATE_RUNTIME] > 0;
        if (init.want_state) {
                init.state_cap = 1 << 16;
                state_buf = xmalloc(init.state_cap);
                init.state_buf = state_buf;
        }
        r = spawn(&init, flags, spec, st->cg, st, &st->pid, errp);
        if (saved_pidns >= 0)
                (void)setns(saved_pidns, CLONE_NEWPID);
        if (r < 0)
                goto fail;
        st->start_time = rt_proc_start_time(st->pid);
        r = rt_state_save(st, errp);
        if (r < 0) {
                kill_child(st->pid);
                goto fail;
        }
        if (o->pid_file) {
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d", (int)st->pid);
                r = write_file_atomic(o->pid_file, buf, (size_t)n, 0644, errp);
                if (r < 0) {
                        kill_child(st->pid);
                        goto fail;
                }
        }
        close_ns_fds(init.ns_fds);
        sc_prog_done(&prog);
        *ret = TAKE_PTR(st);
        return 0;
fail:
        close_ns_fds(init.ns_fds);
        sc_prog_done(&prog);
        if (st->cg)
                (void)st->cg->ops->destroy(st->cg, NULL);
        if (dir_made)
                (void)rm_rf(st->dir, NULL);
        return r;
}

int rt_start(struct rt_state *st, struct err **errp) {
        _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
        _cleanup_close_ int fd = -EBADF;
        enum rt_status s = rt_state_status(st);

        if (s != RT_STATUS_CREATED)
                return err_setx(errp, EINVAL, "container '%s' is %s, not created", st->id,
                                rt_status_to_string(s));
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno == ENXIO ? ESRCH : errno,
                               "container '%s' init is not waiting", st->id);
        if (write(fd, "0", 1) != 1)
                return err_set(errp, errno, "start container '%s'", st->id);
        if (unlink(fifo) < 0)
                return err_set(errp, errno, "remove '%s'", fifo);
        run_hooks_warn(st, SPEC_HOOK_POSTSTART, "running");
        return 0;
}

int rt_kill(struct rt_state *st, int sig, bool all, struct err **errp) {
        enum rt_status s = rt_state_status(st);

        if (s == RT_STATUS_STOPPED)
                return err_setx(errp, ESRCH, "container '%s' is not running", st->id);
        if (all && st->cg)
                return cg_kill_all(st->cg, sig, errp);
        if (kill(st->pid, sig) < 0)
                return err_set(errp, errno, "kill container '%s'", st->id);
        return 0;
}

int rt_pause(struct rt_state *st, bool pause, struct err **errp) {
        enum rt_status s = rt_state_status(st);

        if (pause && s != RT_STATUS_RUNNING)
                return err_setx(errp, EINVAL, "container '%s' is %s, not running", st->id,
                                rt_status_to_string(s));
        if (!pause && s != RT_STATUS_PAUSED)
                return err_setx(errp, EINVAL, "container '%s' is %s, not paused", st->id,
                                rt_status_to_string(s));
        if (!st->cg)
                return err_setx(errp, ENOTSUP, "container '%s' has no cgroup", st->id);
        return st->cg->ops->freeze(st->cg, pause, errp);
}

int rt_pids(struct rt_state *st, pid_t **ret, size_t *ret_n, struct err **errp) {
        if (!st->cg)
                return err_setx(errp, ENOTSUP, "container '%s' has no cgroup", st->id);
        return st->cg->ops->pids(st->cg, ret, ret_n, errp);
}

int rt_delete(struct rt_state *st, bool force, struct err **errp) {
        enum rt_status s = rt_state_status(st);
        int r;

        if ((s == RT_STATUS_RUNNING || s == RT_STATUS_PAUSED) && !force)
                return err_setx(errp, EBUSY, "container '%s' is %s: stop it first or use --force",
                                st->id, rt_status_to_string(s));
        if (s != RT_STATUS_STOPPED) {
                if (s == RT_STATUS_PAUSED && st->cg)
                        (void)st->cg->ops->freeze(st->cg, false, NULL);
                if (st->cg) {
                        r = cg_kill_all(st->cg, SIGKILL, errp);
                        if (r < 0)
                                return r;
                } else if (kill(st->pid, SIGKILL) < 0 && errno != ESRCH)
                        return err_set(errp, errno, "kill container '%s'", st->id);
                /* Bounded wait for the init to be gone (its parent reaps it). */
                for (int i = 0; i < 500 && rt_proc_start_time(st->pid) == st->start_time; i++)
                        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
        }
        if (st->cg) {
                r = st->cg->ops->destroy(st->cg, errp);
                if (r < 0)
                        return r;
        }
        run_hooks_warn(st, SPEC_HOOK_POSTSTOP, "stopped");
        return rm_rf(st->dir, errp);
}

int rt_exec(struct rt_state *st, const struct rt_exec_opts *o, pid_t *ret_pid, struct err **errp) {
        _cleanup_(spec_freep) struct spec *spec = NULL;
        _cleanup_free_ char *cfg = xasprintf("%s/config.json", st->bundle);
        _cleanup_close_ int pidns = -EBADF, saved = -EBADF;
        _cleanup_strv_ char **env = NULL;
        struct rt_init init = {};
        struct sc_prog prog = {};
        enum rt_status s = rt_state_status(st);
        int r;

        if (s != RT_STATUS_RUNNING)
                return err_setx(errp, EINVAL, "container '%s' is %s, not running", st->id,
                                rt_status_to_string(s));
        r = spec_load(cfg, &spec, errp);
        if (r < 0)
                return r;
        if (o->process->terminal && o->console_fd < 0)
                return err_setx(errp, EINVAL, "a terminal was requested but no console socket");
        r = seccomp_prepare(spec, o->process, &prog, errp);
        if (r < 0)
                return r;
        for (int i = 0; i < _SPEC_NS_MAX; i++) {
                char p[64], q[64];
                struct stat a, b;

                init.ns_fds[i] = -EBADF;
                snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)st->pid, spec_ns_proc_name(i));
                snprintf(q, sizeof(q), "/proc/self/ns/%s", spec_ns_proc_name(i));
                if (stat(p, &a) < 0 || stat(q, &b) < 0)
                        continue;
                if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        continue; /* shared with us: nothing to join */
                if (i == SPEC_NS_PID) {
                        pidns = open(p, O_RDONLY | O_CLOEXEC);
                        continue;
                }
                init.ns_fds[i] = open(p, O_RDONLY | O_CLOEXEC);
                if (init.ns_fds[i] < 0) {
                        r = err_set(errp, errno, "open '%s'", p);
                        goto out;
                }
        }
        env = strv_copy(o->process->env);
        if (!env)
                env = xnew0(char *, 1);
        for (int i = 0; i < 3; i++)
                init.stdio[i] = o->stdio_set ? o->stdio[i] : -1;
        init.spec = spec;
        init.process = o->process;
        init.rootfs = st->rootfs;
        init.fifo_fd = -EBADF;
        init.console_fd = o->console_fd;
        init.exec_mode = true;
        init.seccomp = prog;
        init.envp = env;
        caps_from_spec(o->process, &init.caps, &init.has_caps);
        if (pidns >= 0) {
                saved = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (saved < 0 || setns(pidns, CLONE_NEWPID) < 0) {
                        r = err_set(errp, errno, "join pid namespace");
                        goto out;
                }
        }
        r = spawn(&init, 0, spec, st->cg, st, ret_pid, errp);
        if (saved >= 0)
                (void)setns(saved, CLONE_NEWPID);
out:
        close_ns_fds(init.ns_fds);
        sc_prog_done(&prog);
        return r;
}
