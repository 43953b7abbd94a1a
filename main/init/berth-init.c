/* SPDX-License-Identifier: Apache-2.0 */
/* build/berth-init: the minimal init that `berth run --init` puts in front of the container's
 * command (bind-mounted read-only at /dev/init; docs/containers.md). As PID 1 it
 *   - runs the command as its only direct child, in its own process group (the console's
 *     foreground group when there is a console),
 *   - forwards every signal it gets to that child (the kernel drops signals with a default
 *     action that are sent to a PID 1; blocked signals never are, so all are blocked here and
 *     taken with sigwaitinfo),
 *   - reaps every zombie that gets reparented to it,
 *   - exits with the child's status (128 + signal when it was killed).
 * Static, libc only, no allocation. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
        sigset_t all, old;
        pid_t child;
        int first = 1, status = 0;

        if (argc > 1 && strcmp(argv[1], "--") == 0)
                first = 2;
        if (first >= argc) {
                fprintf(stderr, "berth-init: usage: berth-init [--] COMMAND [ARG...]\n");
                return 2;
        }
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        child = fork();
        if (child < 0) {
                fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
                return 1;
        }
        if (child == 0) {
                /* Own process group; take the console's foreground if there is one. */
                (void)setpgid(0, 0);
                if (isatty(STDIN_FILENO)) {
                        signal(SIGTTOU, SIG_IGN);
                        (void)tcsetpgrp(STDIN_FILENO, getpid());
                        signal(SIGTTOU, SIG_DFL);
                }
                sigprocmask(SIG_SETMASK, &old, NULL);
                execvp(argv[first], argv + first);
                fprintf(stderr, "berth-init: exec '%s': %s\n", argv[first], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);

                if (sig < 0)
                        continue; /* EINTR */
                if (sig != SIGCHLD) {
                        (void)kill(child, sig);
                        continue;
                }
                for (;;) {
                        int st;
                        pid_t p = waitpid(-1, &st, WNOHANG);

                        if (p <= 0)
                                break;
                        if (p == child) {
                                status = st;
                                child = -1;
                        }
                }
                if (child < 0)
                        break;
        }
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
