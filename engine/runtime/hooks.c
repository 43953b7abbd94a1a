/* SPDX-License-Identifier: Apache-2.0 */
/* OCI hooks: each is run with the container state on stdin, its own args and env, and a bounded
 * wait when it has a timeout. Used by the parent (prestart, createRuntime, poststart, poststop)
 * and by the container's init (createContainer, startContainer). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "runtime/hooks.h"

int rt_hook_run(const struct spec_hook *h, const char *state, char *msg, size_t msglen) {
        char *const default_argv[] = {h->path, NULL};
        char *const empty_env[] = {NULL};
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(state);
        int status = 0;
        pid_t pid;

        /* The state goes through a memfd: no pipe to block on or SIGPIPE to catch. */
        fd = memfd_create("berth-hook-state", MFD_CLOEXEC);
        if (fd < 0 || write(fd, state, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0) {
                snprintf(msg, msglen, "hook '%s': prepare state: %s", h->path, strerror(errno));
                return -EIO;
        }
        pid = fork();
        if (pid < 0) {
                snprintf(msg, msglen, "hook '%s': fork: %s", h->path, strerror(errno));
                return -errno;
        }
        if (pid == 0) {
                if (dup2(fd, STDIN_FILENO) < 0)
                        _exit(127);
                execve(h->path, h->args ? h->args : default_argv, h->env ? h->env : empty_env);
                _exit(127);
        }
        if (h->timeout > 0) {
                /* Poll in 5 ms steps until the timeout: bounded by construction. */
                long steps = (long)h->timeout * 200;
                pid_t r = 0;
                for (long i = 0; i < steps; i++) {
                        r = waitpid(pid, &status, WNOHANG);
                        if (r != 0)
                                break;
                        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
                }
                if (r == 0) {
                        (void)kill(pid, SIGKILL);
                        (void)RETRY_EINTR(waitpid(pid, &status, 0));
                        snprintf(msg, msglen, "hook '%s' timed out after %d s", h->path,
                                 h->timeout);
                        return -ETIMEDOUT;
                }
        } else if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0) {
                snprintf(msg, msglen, "hook '%s': wait: %s", h->path, strerror(errno));
                return -errno;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                snprintf(msg, msglen, "hook '%s' exited with status %d", h->path,
                         WEXITSTATUS(status));
        else
                snprintf(msg, msglen, "hook '%s' killed by signal %d", h->path,
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -EIO;
}

int rt_hooks_run(const struct spec *spec, enum spec_hook_kind k, const char *state, char *msg,
                 size_t msglen) {
        for (size_t i = 0; i < spec->n_hooks[k]; i++) {
                int r = rt_hook_run(&spec->hooks[k][i], state, msg, msglen);
                if (r < 0)
                        return r;
        }
        return 0;
}
