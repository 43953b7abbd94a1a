/* SPDX-License-Identifier: Apache-2.0 */
/* `berth shim`: holds one container's stdio, log and exit status, so that the daemon can die and
 * come back without the container noticing. Plain poll(2), static buffers, no threads. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clog.h"
#include "fileio.h"
#include "json.h"
#include "runtime/container.h"
#include "shim.h"
#include "unixsock.h"
#include "shim_attach.h"
#include "shim_trim.h"
#include "xalloc.h"

#define SHIM_MAX_CLIENTS 8
#define SHIM_DRAIN_MSEC 300

struct shim {
        const char *id;
        char *ctr_dir, *sock_path, *exit_path, *state_root;
        struct clog_writer *log;
        struct rt_state *st;
        int out_fd, err_fd, sig_fd, listen_fd;
        int clients[SHIM_MAX_CLIENTS];
        char cbuf[SHIM_MAX_CLIENTS][64];
        size_t clen[SHIM_MAX_CLIENTS];
        bool exited;
        int wstatus;
        /* berth-attach: stdin and the attach socket (shim_attach.c) */
        struct shim_attach att;
        char *attach_path;
        int in_fd; /* stdin pipe's write end until handed to att */
        bool tty;
};

static char iobuf[16384];
static int sigchld_pipe = -1;

/* SIGCHLD through a self-pipe rather than a signalfd: a blocked signal mask would be inherited by
 * the container's processes. */
static void on_sigchld(int sig) {
        int saved = errno;

        (void)sig;
        (void)!write(sigchld_pipe, "c", 1);
        errno = saved;
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void status_report(int fd, const char *fmt, ...) _printf_(2, 3);
static void status_report(int fd, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        if (fd < 0)
                return;
        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        (void)fd_write_full(fd, s, strlen(s));
}

/* berth-net: with BERTH_SHIM_START_FD=N the shim reports "created PID" once the container's
 * init exists and waits for one byte on fd N before letting it run the process (the daemon
 * connects the networks in between); EOF means the daemon gave up. */
static int start_fd_take(void) {
        const char *v = getenv("BERTH_SHIM_START_FD");
        int fd = v ? atoi(v) : -1;

        (void)unsetenv("BERTH_SHIM_START_FD");
        if (fd < 3 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -EBADF;
        return fd;
}

static int start_wait(int status_fd, int start_fd, pid_t pid, struct err **errp) {
        char b;
        ssize_t n;

        status_report(status_fd, "created %d\n", (int)pid);
        do
                n = read(start_fd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                return err_setx(errp, ECANCELED, "the daemon cancelled the start");
        return 0;
}

/* Test hook: with BERTH_SHIM_TEST_HOLD=PATH in the daemon's environment every start waits, before
 * the container's process runs, until PATH exists (at most 60 s, then it goes on), so tests can
 * hold a start under way (tests/integration/supervisor.bats: a held pod start). */
static void test_hold(void) {
        const char *path = getenv("BERTH_SHIM_TEST_HOLD");

        if (!path || !path[0])
                return;
        for (int i = 0; i < 3000 && access(path, F_OK) < 0; i++)
                (void)nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
}

static int shim_listen(struct shim *s, struct err **errp) {
        struct sockaddr_un sa;
        _cleanup_close_ int fd = -EBADF, dirfd = -EBADF;

        int r = unix_sockaddr(s->sock_path, &sa, &dirfd, errp);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        (void)unlink(s->sock_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(errp, errno, "bind '%s'", s->sock_path);
        (void)chmod(s->sock_path, 0600);
        if (listen(fd, SHIM_MAX_CLIENTS) < 0)
                return err_set(errp, errno, "listen '%s'", s->sock_path);
        s->listen_fd = TAKE_FD(fd);
        return 0;
}

static void client_drop(struct shim *s, int i) {
        s->clients[i] = safe_close(s->clients[i]);
        s->clen[i] = 0;
}

static void client_send(struct shim *s, int i, const char *line) {
        if (s->clients[i] < 0)
                return;
        if (send(s->clients[i], line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                client_drop(s, i);
}

static void shim_accept(struct shim *s) {
        char line[64];
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return;
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                if (s->clients[i] < 0) {
                        s->clients[i] = fd;
                        snprintf(line, sizeof(line), "{\"status\":\"running\",\"pid\":%d}\n",
                                 (int)s->st->pid);
                        client_send(s, i, line);
                        return;
                }
        safe_close(fd);
}

static void client_command(struct shim *s, const char *cmd) {
        unsigned h, w;
        int sig;

        if (sscanf(cmd, "kill %d", &sig) == 1 && sig > 0 && sig < 65 && !s->exited)
                (void)rt_kill(s->st, sig, false, NULL);
        /* berth-attach: the console's size */
        if (sscanf(cmd, "resize %u %u", &h, &w) == 2 && s->tty && s->out_fd >= 0 && h > 0 &&
            w > 0 && h < 65536 && w < 65536)
                (void)ioctl(s->out_fd, TIOCSWINSZ,
                            &(struct winsize){.ws_row = (unsigned short)h,
                                              .ws_col = (unsigned short)w});
}

static void client_read(struct shim *s, int i) {
        char *nl;
        ssize_t n =
                read(s->clients[i], s->cbuf[i] + s->clen[i], sizeof(s->cbuf[i]) - 1 - s->clen[i]);

        if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        client_drop(s, i);
                return;
        }
        s->clen[i] += (size_t)n;
        s->cbuf[i][s->clen[i]] = '\0';
        while ((nl = strchr(s->cbuf[i], '\n'))) {
                size_t used = (size_t)(nl - s->cbuf[i]) + 1;

                *nl = '\0';
                client_command(s, s->cbuf[i]);
                memmove(s->cbuf[i], s->cbuf[i] + used, s->clen[i] - used + 1);
                s->clen[i] -= used;
        }
        if (s->clen[i] == sizeof(s->cbuf[i]) - 1)
                client_drop(s, i); /* a line that long is not ours */
}

/* Copies what a pipe holds into the log. Returns false at EOF. */
static bool pump(struct shim *s, int *fd, enum clog_stream stream) {
        ssize_t n = read(*fd, iobuf, sizeof(iobuf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        if (n <= 0) {
                *fd = safe_close(*fd);
                return false;
        }
        (void)clog_write(s->log, stream, iobuf, (size_t)n, now_nsec(), NULL);
        shim_attach_output(&s->att, stream == CLOG_STDERR ? SHIM_STDERR : SHIM_STDOUT, iobuf,
                           (size_t)n);
        return true;
}

static void reap(struct shim *s) {
        char drain[64];
        int status;

        while (read(s->sig_fd, drain, sizeof(drain)) > 0)
                ;
        for (;;) {
                pid_t p = waitpid(-1, &status, WNOHANG);
                if (p <= 0)
                        break;
                if (p == s->st->pid) {
                        s->exited = true;
                        s->wstatus = status;
                }
        }
}

static int shim_loop(struct shim *s) {
        uint64_t drain_deadline = 0;

        for (;;) {
                struct pollfd p[4 + SHIM_MAX_CLIENTS + SHIM_ATTACH_NPOLL];
                int n = 0, timeout = -1, r;
                bool blocked = shim_attach_blocked(&s->att);
                size_t na;

                if (s->exited) {
                        uint64_t now = now_usec();

                        if (!drain_deadline)
                                drain_deadline = now + SHIM_DRAIN_MSEC * USEC_PER_MSEC;
                        if ((s->out_fd < 0 && s->err_fd < 0) || now >= drain_deadline)
                                return 0;
                        timeout = (int)((drain_deadline - now) / USEC_PER_MSEC) + 1;
                }
                /* An attached client that does not read holds the output back. */
                p[n++] = (struct pollfd){.fd = blocked ? -1 : s->out_fd, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = blocked ? -1 : s->err_fd, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = s->sig_fd, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
                for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                        p[n++] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
                na = shim_attach_pollfds(&s->att, p + n);
                r = poll(p, (nfds_t)n + na, timeout);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                /* Attach clients first: one that connected before the start gets every byte. */
                shim_attach_handle(&s->att, p + n, na);
                if (p[0].revents)
                        pump(s, &s->out_fd, CLOG_STDOUT);
                if (p[1].revents)
                        pump(s, &s->err_fd, CLOG_STDERR);
                if (p[2].revents)
                        reap(s);
                if (p[3].revents)
                        shim_accept(s);
                for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                        if (p[4 + i].revents && s->clients[i] >= 0)
                                client_read(s, i);
        }
}

static json_t *exit_record(struct shim *s) {
        struct cg_stats stats = {};
        _cleanup_free_ char *t = clog_format_time(now_nsec());
        int code = 0, sig = 0;
        bool oom = false;

        if (WIFEXITED(s->wstatus))
                code = WEXITSTATUS(s->wstatus);
        else if (WIFSIGNALED(s->wstatus)) {
                sig = WTERMSIG(s->wstatus);
                code = 128 + sig;
        }
        if (s->st->cg && s->st->cg->ops->stats &&
            s->st->cg->ops->stats(s->st->cg, &stats, NULL) >= 0)
                oom = stats.oom_kills > 0;
        return json_pack("{s:i,s:i,s:b,s:s}", "ExitCode", code, "Signal", sig, "OOMKilled", oom,
                         "FinishedAt", t);
}

static int parse_args(int argc, char **argv, const char **root, const char **run, const char **id,
                      int *status_fd, uint64_t *max_size, unsigned *max_file, bool *tty,
                      bool *open_stdin, bool *stdin_once) {
        static const struct option opts[] = {
                {"root", required_argument, NULL, 'r'},
                {"run", required_argument, NULL, 'R'},
                {"id", required_argument, NULL, 'i'},
                {"status-fd", required_argument, NULL, 's'},
                {"log-max-size", required_argument, NULL, 'm'},
                {"log-max-file", required_argument, NULL, 'f'},
                {"tty", no_argument, NULL, 't'},
                {"stdin", no_argument, NULL, 'I'},
                {"stdin-once", no_argument, NULL, 'O'},
                {},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        *root = optarg;
                        break;
                case 'R':
                        *run = optarg;
                        break;
                case 'i':
                        *id = optarg;
                        break;
                case 's':
                        *status_fd = atoi(optarg);
                        break;
                case 'm':
                        *max_size = strtoull(optarg, NULL, 10);
                        break;
                case 'f':
                        *max_file = (unsigned)atoi(optarg);
                        break;
                case 't':
                        *tty = true;
                        break;
                case 'I':
                        *open_stdin = true;
                        break;
                case 'O':
                        *stdin_once = true;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (!*root || !*run || !*id || !rt_id_valid(*id) || *max_file < 1) {
                fprintf(stderr, "berth shim: --root, --run and a valid --id are required\n");
                return -EINVAL;
        }
        return 0;
}

/* Points our own 0/1/2 at /dev/null (or the stdin pipe) and the output pipes: the container's
 * init inherits them. */
static int setup_stdio(struct shim *s, bool open_stdin, struct err **errp) {
        _cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        _cleanup_close_pair_ int in[2] = {-EBADF, -EBADF};
        int out[2], err[2];

        if (null_fd < 0)
                return err_set(errp, errno, "open /dev/null");
        /* berth-attach: an open stdin without a console is a pipe we keep the write end of */
        if (open_stdin && !s->tty) {
                if (pipe2(in, O_CLOEXEC) < 0)
                        return err_set(errp, errno, "pipe");
        }
        if (pipe2(out, O_CLOEXEC) < 0)
                return err_set(errp, errno, "pipe");
        if (pipe2(err, O_CLOEXEC) < 0) {
                safe_close(out[0]);
                safe_close(out[1]);
                return err_set(errp, errno, "pipe");
        }
        if (dup2(in[0] >= 0 ? in[0] : null_fd, 0) < 0 || dup2(out[1], 1) < 0 ||
            dup2(err[1], 2) < 0) {
                int e = errno;
                safe_close(out[0]);
                safe_close(out[1]);
                safe_close(err[0]);
                safe_close(err[1]);
                return err_set(errp, e, "dup2");
        }
        safe_close(out[1]);
        safe_close(err[1]);
        s->in_fd = TAKE_FD(in[1]);
        s->out_fd = out[0];
        s->err_fd = err[0];
        (void)fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
        return 0;
}

static int recv_fd(int sock, struct err **errp) {
        int fd = unix_recv_fd(sock, MSG_DONTWAIT);

        if (fd == -EPROTO)
                return err_setx(errp, EPROTO, "the container sent no pty");
        if (fd < 0)
                return err_set(errp, -fd, "receive the container's pty");
        return fd;
}

static void stdio_release(void) {
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null_fd < 0)
                return;
        (void)dup2(null_fd, 0); /* berth-attach: the stdin pipe's read end is the container's */
        (void)dup2(null_fd, 1);
        (void)dup2(null_fd, 2);
        safe_close(null_fd);
}

static void shim_free(struct shim *s) {
        free(s->ctr_dir);
        free(s->sock_path);
        free(s->exit_path);
        free(s->state_root);
        free(s->attach_path);
        shim_attach_done(&s->att);
        safe_close(s->in_fd);
        s->log = clog_writer_free(s->log);
        s->st = rt_state_free(s->st);
        safe_close(s->out_fd);
        safe_close(s->err_fd);
        safe_close(s->sig_fd);
        safe_close(s->listen_fd);
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                safe_close(s->clients[i]);
}

int shim_main(int argc, char **argv) {
        _cleanup_(shim_free) struct shim s = {.out_fd = -EBADF,
                                              .err_fd = -EBADF,
                                              .sig_fd = -EBADF,
                                              .listen_fd = -EBADF,
                                              .in_fd = -EBADF};
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_free_ char *bundle = NULL, *log_path = NULL, *shims = NULL, *line = NULL;
        const char *root = NULL, *run = NULL;
        _cleanup_close_pair_ int console[2] = {-EBADF, -EBADF};
        uint64_t max_size = 0;
        unsigned max_file = 1;
        bool tty = false, open_stdin = false, stdin_once = false;
        int status_fd = -1;
        _cleanup_close_ int start_fd = start_fd_take(); /* berth-net */
        int sp[2], r;

        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                s.clients[i] = -EBADF;
        shim_attach_init(&s.att);
        if (parse_args(argc, argv, &root, &run, &s.id, &status_fd, &max_size, &max_file, &tty,
                       &open_stdin, &stdin_once) < 0)
                return 2;
        s.tty = tty;
        signal(SIGPIPE, SIG_IGN);
        s.ctr_dir = xasprintf("%s/containers/%s", root, s.id);
        s.exit_path = xasprintf("%s/" SHIM_EXIT_FILE, s.ctr_dir);
        s.state_root = xasprintf("%s/oci", run);
        shims = xasprintf("%s/shims", run);
        s.sock_path = xasprintf("%s/%s.sock", shims, s.id);
        s.attach_path = xasprintf("%s/%s.attach", shims, s.id);
        bundle = xasprintf("%s/bundle", s.ctr_dir);
        log_path = xasprintf("%s/%s-json.log", s.ctr_dir, s.id);

        if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
                r = err_set(&e, errno, "pipe");
        else {
                s.sig_fd = sp[0];
                sigchld_pipe = sp[1];
                sigaction(SIGCHLD,
                          &(struct sigaction){.sa_handler = on_sigchld,
                                              .sa_flags = SA_RESTART | SA_NOCLDSTOP},
                          NULL);
                r = mkdir_p(shims, 0700, &e);
        }
        if (r >= 0)
                r = mkdir_p(s.state_root, 0700, &e);
        if (r >= 0)
                r = clog_writer_open(log_path, max_size, max_file, &s.log, &e);
        if (r >= 0)
                r = setup_stdio(&s, open_stdin, &e);
        if (r >= 0) {
                _cleanup_(rt_state_freep) struct rt_state *old = NULL;

                /* A previous incarnation's runtime state (the daemon restarts us). */
                (void)unlink(s.exit_path);
                if (rt_state_load(s.state_root, s.id, &old, NULL) >= 0)
                        (void)rt_delete(old, true, NULL);
                if (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
                        r = err_set(&e, errno, "socketpair");
                else
                        r = rt_create(&(struct rt_create_opts){.state_root = s.state_root,
                                                               .id = s.id,
                                                               .bundle = bundle,
                                                               .console_fd = tty ? console[1] : -1},
                                      &s.st, &e);
        }
        if (r >= 0 && tty) {
                /* The init sent the pty master before reporting "created": read from it. */
                r = recv_fd(console[0], &e);
                if (r >= 0) {
                        s.out_fd = safe_close(s.out_fd);
                        s.err_fd = safe_close(s.err_fd);
                        s.out_fd = r;
                        (void)fcntl(s.out_fd, F_SETFL, O_NONBLOCK);
                        /* berth-attach: stdin goes to the console (its own fd, closed apart) */
                        if (open_stdin)
                                s.in_fd = fcntl(s.out_fd, F_DUPFD_CLOEXEC, 3);
                } else
                        (void)rt_delete(s.st, true, NULL);
        }
        if (r >= 0)
                r = shim_listen(&s, &e);
        if (r >= 0) /* berth-attach: before the start, so early attaches see everything */
                r = shim_attach_listen(&s.att, s.attach_path, TAKE_FD(s.in_fd), tty, stdin_once,
                                       &e);
        if (r >= 0 && start_fd >= 0) {
                r = start_wait(status_fd, start_fd, s.st->pid, &e); /* berth-net */
                if (r < 0)
                        (void)rt_delete(s.st, true, NULL);
        }
        if (r >= 0) {
                test_hold();
                r = rt_start(s.st, &e);
                if (r < 0)
                        (void)rt_delete(s.st, true, NULL);
        }
        stdio_release();
        if (r < 0) {
                (void)unlink(s.sock_path);
                (void)unlink(s.attach_path);
                status_report(status_fd, "err %d %s\n", e ? e->code : EIO, err_msg(e));
                return 1;
        }
        status_report(status_fd, "ok %d\n", (int)s.st->pid);
        safe_close(status_fd);

        shim_trim(); /* the start path's code is not needed again */
        (void)shim_loop(&s);
        (void)clog_flush(s.log, now_nsec(), NULL);
        rec = exit_record(&s);
        /* Without fsync (speed, docs/bench.md): only a power cut loses it, and then the
         * daemon finds no exit record and reports the container as exited with 255. */
        (void)json_replace_path(s.exit_path, rec, NULL);
        json_object_set_new(rec, "status", json_string("exited"));
        line = json_dump_str(rec, true);
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                client_send(&s, i, line);
        (void)unlink(s.attach_path);
        shim_attach_finish(&s.att, 2000); /* berth-attach: the rest of the output, then EOF */
        (void)rt_delete(s.st, true, NULL);
        (void)unlink(s.sock_path);
        return 0;
}
