/* SPDX-License-Identifier: Apache-2.0 */
/* The container's init sequence, run in the cloned child. It reports failures to the parent as
 * {errno, message} over the sync socket and _exits (STYLE C13); it never calls exit(). The order
 * matters and is the one runc uses: namespaces, hostname, mounts, pivot_root, sysctls and
 * masks, terminal, (wait for start), rlimits, bounding set, uid switch, capabilities,
 * no_new_privs, seccomp, execve. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "strv.h"

int rt_sync_send(int fd, int type, const struct rt_cerr *ce) {
        struct rt_sync_msg m = {.type = type};

        if (ce) {
                m.code = ce->code;
                memcpy(m.msg, ce->msg, sizeof(m.msg));
                m.msg[sizeof(m.msg) - 1] = '\0';
        }
        if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
                return -errno;
        return 0;
}

int rt_sync_recv(int fd, struct rt_sync_msg *ret) {
        ssize_t n = RETRY_EINTR(recv(fd, ret, sizeof(*ret), 0));

        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if (n != (ssize_t)sizeof(*ret))
                return -EPROTO;
        ret->msg[sizeof(ret->msg) - 1] = '\0';
        return 0;
}

static const char *env_path(char *const *envp) {
        for (; envp && *envp; envp++)
                if (strncmp(*envp, "PATH=", 5) == 0)
                        return *envp + 5;
        return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* A regular file with an execute bit is what execve can run; EACCES otherwise. */
static int check_exec(const char *p) {
        struct stat st;

        if (stat(p, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
                return -EACCES;
        return 0;
}

int rt_find_exec(const char *name, char *const *envp, char *path, size_t n) {
        const char *p;
        int saw_eacces = 0;

        if (strchr(name, '/')) {
                if (strlen(name) >= n)
                        return -ENAMETOOLONG;
                memcpy(path, name, strlen(name) + 1);
                return check_exec(path);
        }
        p = env_path(envp);
        while (*p) {
                size_t len = strcspn(p, ":");
                int r;

                if ((size_t)snprintf(path, n, "%.*s/%s", (int)len, len ? p : ".", name) < n) {
                        r = check_exec(path);
                        if (r == 0)
                                return 0;
                        if (r == -EACCES)
                                saw_eacces = 1;
                }
                p += len;
                if (*p == ':')
                        p++;
        }
        return saw_eacces ? -EACCES : -ENOENT;
}

_noreturn_ static void fail(struct rt_init *init, struct rt_cerr *ce) {
        if (init->sync_fd >= 0)
                (void)rt_sync_send(init->sync_fd, RT_SYNC_ERROR, ce);
        _exit(EXIT_FAILURE);
}

/* Joins the namespaces given by path. User first, so that the others are entered with the
 * privileges of the target user namespace; mount last, since it changes our root. */
static int join_namespaces(struct rt_init *init, struct rt_cerr *ce) {
        static const enum spec_ns order[] = {SPEC_NS_USER, SPEC_NS_IPC,    SPEC_NS_UTS,
                                             SPEC_NS_NET,  SPEC_NS_CGROUP, SPEC_NS_TIME,
                                             SPEC_NS_MOUNT};
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                int fd = init->ns_fds[order[i]];
                if (fd < 0)
                        continue;
                if (setns(fd, spec_ns_clone_flag(order[i])) < 0)
                        return rt_cerr_set(ce, errno, "join %s namespace", spec_ns_name(order[i]));
        }
        return 0;
}

/* Creates the pty from the container's own devpts, hands the master to whoever listens on the
 * console socket and makes the slave our controlling terminal and stdio. */
static int setup_terminal(struct rt_init *init, struct rt_cerr *ce) {
        char name[64], cbuf[CMSG_SPACE(sizeof(int))];
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        struct iovec iov = {.iov_base = (char *)"pty", .iov_len = 3};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf,
                            .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return rt_cerr_set(ce, errno, "open /dev/ptmx");
        if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return rt_cerr_set(ce, errno, "unlock pty");
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return rt_cerr_set(ce, errno, "open '%s'", name);
        memset(cbuf, 0, sizeof(cbuf));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &master, sizeof(int));
        if (sendmsg(init->console_fd, &mh, MSG_NOSIGNAL) < 0)
                return rt_cerr_set(ce, errno, "send the pty over the console socket");
        init->console_fd = safe_close(init->console_fd);
        if (init->process->console_height > 0 && init->process->console_width > 0) {
                struct winsize ws = {.ws_row = init->process->console_height,
                                     .ws_col = init->process->console_width};

                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return rt_cerr_set(ce, errno, "set the console size");
        }
        if (setsid() < 0)
                return rt_cerr_set(ce, errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return rt_cerr_set(ce, errno, "set controlling terminal");
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        return rt_cerr_set(ce, errno, "dup2 pty");
        return 0;
}

/* prestart and createRuntime run in the parent (runtime namespaces) while we wait; then
 * createContainer runs here, in the container's namespaces, before pivot_root. */
static int run_creation_hooks(struct rt_init *init, struct rt_cerr *ce) {
        struct rt_sync_msg m;
        int r;

        if (init->runtime_hooks) {
                if (rt_sync_send(init->sync_fd, RT_SYNC_HOOKS, NULL) < 0)
                        return rt_cerr_set(ce, errno, "sync for hooks");
                r = rt_sync_recv(init->sync_fd, &m);
                if (r < 0 || m.type != RT_SYNC_GO)
                        _exit(EXIT_FAILURE); /* the parent reports the hook's failure */
        }
        if (init->spec->n_hooks[SPEC_HOOK_CREATE_CONTAINER] > 0) {
                r = rt_hooks_run(init->spec, SPEC_HOOK_CREATE_CONTAINER, init->state_buf, ce->msg,
                                 sizeof(ce->msg));
                if (r < 0) {
                        ce->code = -r;
                        return r;
                }
        }
        return 0;
}

/* Everything before the wait for `start`. */
static int init_prepare(struct rt_init *init, struct rt_cerr *ce) {
        const struct spec *s = init->spec;
        int r;

        r = join_namespaces(init, ce);
        if (r < 0)
                return r;
        if (init->userns) {
                /* Become root of the new user namespace (the parent wrote the maps). */
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        return rt_cerr_set(ce, errno, "become root in the user namespace");
        }
        if (init->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
                return rt_cerr_set(ce, errno, "create cgroup namespace");
        if (init->exec_mode)
                return 0;
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return rt_cerr_set(ce, errno, "sethostname '%s'", s->hostname);
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return rt_cerr_set(ce, errno, "setdomainname '%s'", s->domainname);
        if (init->new_mntns) {
                r = rt_mount_setup(init, ce);
                if (r < 0)
                        return r;
                r = run_creation_hooks(init, ce);
                if (r < 0)
                        return r;
                r = rt_mount_pivot(init->rootfs, ce);
                if (r < 0)
                        return r;
                r = rt_mount_after_pivot(init, ce);
                if (r < 0)
                        return r;
        } else if (chroot(init->rootfs) < 0 || chdir("/") < 0)
                return rt_cerr_set(ce, errno, "chroot '%s'", init->rootfs);
        return 0;
}

/* Everything after `start`, ending in execve. */
_noreturn_ static void init_exec(struct rt_init *init, const char *exe) {
        const struct spec_process *p = init->process;
        struct rt_cerr ce = {};
        int r, cap;

        r = rt_rlimits_apply(p, &ce);
        if (r < 0)
                goto fail;
        if (init->has_caps) {
                r = caps_drop_bounding(&init->caps, &cap);
                if (r < 0) {
                        rt_cerr_set(&ce, -r, "drop capability %d from the bounding set", cap);
                        goto fail;
                }
        }
        /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we have it. */
        if (!p->no_new_privileges && init->seccomp.filter) {
                r = sc_install(&init->seccomp);
                if (r < 0) {
                        rt_cerr_set(&ce, -r, "load seccomp filter");
                        goto fail;
                }
        }
        r = rt_user_switch(&p->user, &ce);
        if (r < 0)
                goto fail;
        if (init->has_caps) {
                r = caps_set(&init->caps, &cap);
                if (r < 0) {
                        rt_cerr_set(&ce, -r, "set capabilities (failed at %d)", cap);
                        goto fail;
                }
        }
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                rt_cerr_set(&ce, errno, "set no_new_privs");
                goto fail;
        }
        umask(p->user.umask >= 0 ? (mode_t)p->user.umask : 0022);
        if (chdir(p->cwd) < 0) {
                rt_cerr_set(&ce, errno, "chdir '%s'", p->cwd);
                goto fail;
        }
        if (p->no_new_privileges && init->seccomp.filter) {
                r = sc_install(&init->seccomp);
                if (r < 0) {
                        rt_cerr_set(&ce, -r, "load seccomp filter");
                        goto fail;
                }
        }
        if (init->exec_mode && init->sync_fd >= 0) {
                (void)rt_sync_send(init->sync_fd, RT_SYNC_EXECED, NULL);
                init->sync_fd = safe_close(init->sync_fd);
        }
        execve(exe, p->args, init->envp);
        r = errno;
        {
                char msg[PATH_MAX + 64];
                int n = snprintf(msg, sizeof(msg), "berth: exec '%s': %s\n", exe, strerror(r));
                if (n > 0)
                        (void)!write(STDERR_FILENO, msg, (size_t)n);
        }
        _exit(r == ENOENT ? 127 : 126);
fail:
        if (init->sync_fd >= 0)
                fail(init, &ce);
        {
                char msg[sizeof(ce.msg) + 16];
                int n = snprintf(msg, sizeof(msg), "berth: %s\n", ce.msg);
                if (n > 0)
                        (void)!write(STDERR_FILENO, msg, (size_t)n);
        }
        _exit(126);
}

void rt_init_run(struct rt_init *init) {
        struct rt_sync_msg m;
        struct rt_cerr ce = {};
        char exe[PATH_MAX];
        int r;

        /* Inherited descriptors must not reach the container: everything above stdio becomes
         * close-on-exec (ours already are). */
        (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        /* Die with the parent while we are still being set up. */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        r = rt_sync_recv(init->sync_fd, &m);
        if (r < 0 || m.type != RT_SYNC_GO)
                _exit(EXIT_FAILURE);

        if (init->want_state) {
                ssize_t n =
                        RETRY_EINTR(recv(init->sync_fd, init->state_buf, init->state_cap - 1, 0));
                if (n <= 0)
                        _exit(EXIT_FAILURE);
                init->state_buf[n] = '\0';
        }
        for (int i = 0; i < 3; i++)
                if (init->stdio[i] >= 0 && init->stdio[i] != i && dup2(init->stdio[i], i) < 0) {
                        rt_cerr_set(&ce, errno, "set up stdio %d", i);
                        fail(init, &ce);
                }
        r = init_prepare(init, &ce);
        if (r < 0)
                fail(init, &ce);
        if (init->process->terminal && init->console_fd >= 0) {
                r = setup_terminal(init, &ce);
                if (r < 0)
                        fail(init, &ce);
        }
        /* Look the program up now so that `create` reports a missing binary. */
        r = rt_find_exec(init->process->args[0], init->envp, exe, sizeof(exe));
        if (r < 0) {
                rt_cerr_set(&ce, -r, "exec: '%s'%s", init->process->args[0],
                            r == -ENOENT ? " not found in $PATH" : "");
                fail(init, &ce);
        }
        if (init->exec_mode)
                init_exec(init, exe);

        /* `create` exits once we are set up: stop dying with it first. */
        (void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (rt_sync_send(init->sync_fd, RT_SYNC_CREATED, NULL) < 0)
                _exit(EXIT_FAILURE);
        init->sync_fd = safe_close(init->sync_fd);

        /* Wait for `start`: it writes one byte into exec.fifo. */
        if (init->fifo_fd >= 0) {
                char c;
                ssize_t n = RETRY_EINTR(read(init->fifo_fd, &c, 1));
                if (n != 1)
                        _exit(EXIT_FAILURE);
                init->fifo_fd = safe_close(init->fifo_fd);
        }
        /* startContainer: in the container, after start, before the process. */
        if (init->spec->n_hooks[SPEC_HOOK_START_CONTAINER] > 0) {
                r = rt_hooks_run(init->spec, SPEC_HOOK_START_CONTAINER, init->state_buf, ce.msg,
                                 sizeof(ce.msg));
                if (r < 0) {
                        char msg[sizeof(ce.msg) + 16];
                        int n = snprintf(msg, sizeof(msg), "berth: %s\n", ce.msg);
                        if (n > 0)
                                (void)!write(STDERR_FILENO, msg, (size_t)n);
                        _exit(126);
                }
        }
        init_exec(init, exe);
}
