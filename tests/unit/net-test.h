/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers for the root networking tests: everything lives in namespaces the test creates. The
 * test process first moves itself into a fresh network namespace (its "host"), so bridges, nft
 * tables and sysctls it touches vanish with it; "containers" are further namespaces held only by
 * file descriptors. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Moves the calling process into a new, empty network namespace with loopback up. Returns 0, or
 * -1 when not permitted (the caller skips). */
static inline int nt_enter_private_netns(void) {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
                return -1;
        return system("ip link set lo up") == 0 ? 0 : -1;
}

/* Creates a new network namespace and returns an fd to it, staying in the current one. */
static inline int nt_new_netns(void) {
        int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1;

        if (self < 0)
                return -1;
        if (unshare(CLONE_NEWNET) == 0) {
                fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                if (setns(self, CLONE_NEWNET) < 0)
                        abort();
        }
        close(self);
        return fd;
}

/* Runs a shell command inside the namespace (fd < 0 = current). Returns its exit status. */
static inline int nt_sh(int netns_fd, const char *cmd) {
        pid_t pid = fork();
        int st;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                        _exit(126);
                execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
                _exit(127);
        }
        if (waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A one-shot server in a namespace: forks a child that binds addr:port (TCP or UDP), answers one
 * client with "pong" and exits. Returns the child's pid once it listens. */
static inline pid_t nt_serve(int netns_fd, int type, const char *addr, int port) {
        int pfd[2];
        pid_t pid;
        char c;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                char buf[64];
                int s, one = 1;

                alarm(20);
                close(pfd[0]);
                if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                        _exit(2);
                /* keep nothing of the parent's (e.g. DNS sockets of the code under test) */
                if (pfd[1] > 3)
                        close_range(3, (unsigned)pfd[1] - 1, 0);
                close_range((unsigned)pfd[1] + 1, ~0u, 0);
                inet_pton(AF_INET, addr, &sa.sin_addr);
                s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
                setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                        _exit(3);
                if (type == SOCK_STREAM && listen(s, 4) < 0)
                        _exit(4);
                (void)!write(pfd[1], "r", 1);
                if (type == SOCK_STREAM) {
                        int c2 = accept(s, NULL, NULL);
                        if (c2 < 0 || read(c2, buf, sizeof(buf)) <= 0)
                                _exit(5);
                        (void)!write(c2, "pong", 4);
                        close(c2);
                } else {
                        if (recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) <= 0)
                                _exit(5);
                        (void)!sendto(s, "pong", 4, 0, (struct sockaddr *)&from, fl);
                }
                _exit(0);
        }
        close(pfd[1]);
        if (read(pfd[0], &c, 1) != 1) {
                close(pfd[0]);
                waitpid(pid, NULL, 0);
                return -1;
        }
        close(pfd[0]);
        return pid;
}

/* Ends a server child started by nt_serve (by its pid) and reaps it. */
static inline void nt_reap(pid_t pid) {
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
}

/* Client in a namespace: sends "ping" to addr:port and expects "pong" within timeout_ms.
 * Returns true on success. */
static inline bool nt_ping(int netns_fd, int type, const char *addr, int port, int timeout_ms) {
        pid_t pid = fork();
        int st;

        if (pid < 0)
                return false;
        if (pid == 0) {
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
                struct pollfd p;
                char buf[8] = "";
                int s;

                if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                        _exit(2);
                inet_pton(AF_INET, addr, &sa.sin_addr);
                s = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (s < 0)
                        _exit(3);
                if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
                        _exit(4);
                p = (struct pollfd){.fd = s, .events = POLLOUT};
                if (poll(&p, 1, timeout_ms) != 1 || (p.revents & (POLLERR | POLLHUP)))
                        _exit(5);
                if (send(s, "ping", 4, 0) != 4)
                        _exit(6);
                p = (struct pollfd){.fd = s, .events = POLLIN};
                if (poll(&p, 1, timeout_ms) != 1)
                        _exit(7);
                if (recv(s, buf, sizeof(buf) - 1, 0) != 4 || strcmp(buf, "pong") != 0)
                        _exit(8);
                _exit(0);
        }
        if (waitpid(pid, &st, 0) < 0)
                return false;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A TCP server in namespace `to` on port, a ping to addr:port from namespace `from`: whether
 * it answered within timeout_ms. */
static inline bool nt_connects(int from, int to, const char *addr, int port, int timeout_ms) {
        pid_t s = nt_serve(to, SOCK_STREAM, "0.0.0.0", port);
        bool ok;

        if (s <= 0)
                return false;
        ok = nt_ping(from, SOCK_STREAM, addr, port, timeout_ms);
        nt_reap(s);
        return ok;
}
