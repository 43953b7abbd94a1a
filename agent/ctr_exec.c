/* SPDX-License-Identifier: Apache-2.0 */
/* exec sessions of a running container, driven by the libev loop.
 *
 * Two ways in:
 *   POST /v1/containers/{id}/exec {Cmd, ...}        runs at once (NDJSON, or upgraded for -i)
 *   POST /v1/containers/{id}/exec {..., "Create": true} -> 201 {"Id"}   (docker's create)
 *   POST /v1/exec/{id}/start {ConsoleSize, Detach}  runs a created exec (upgraded or not)
 *   POST /v1/exec/{id}/resize?h=&w=                 the console's size (Tty)
 *   GET  /v1/exec/{id}/json                         docker's exec inspect (ExitCode, Running)
 *
 * With "Tty": true the process gets a pty made from the container's own devpts (the runtime
 * sends the master over a console socket, like for a container's init): the master is the
 * process's stdin and output, relayed raw; the daemon watches the client's input for the detach
 * keys. The exit code of a Tty exec is read from /json after the stream ended. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "cleanup.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "json.h"
#include "runtime/container.h"
#include "strv.h"
#include "unixsock.h"
#include "xalloc.h"

#define EXEC_IN_MAX (256u * 1024u)
/* Exec records kept per container (created, running or finished for /json); the oldest
 * finished or never started ones go first. */
#define EXEC_KEEP 64
/* Output queued for a slower client above which the pipes are not read (the process blocks
 * on its full pipe, as on a terminal) until the queue has drained. */
#define EXEC_OUT_HIGH (1u << 20)

struct exec_sess {
        struct exec_sess *next;
        struct ctr *c;
        char *id;     /* NULL: a one-shot exec (not kept after it ends) */
        json_t *body; /* the create body */
        bool started; /* the process was spawned */
        bool done;    /* it ended (exit_code valid) */
        int exit_code;
        pid_t pid;
        struct http_req *req; /* NULL when detached or the client left */
        ev_child child;
        ev_io out, err;
        int out_fd, err_fd;
        bool out_paused; /* out/err not read until the client's queue drains */
        bool exited;
        int status;
        /* exec -i: an upgraded connection (multiplexed frames out, stdin in) */
        bool upgraded;
        int in_fd;
        ev_io inw;
        char *in_buf;
        size_t in_len;
        bool in_eof;
        /* exec -t: the console socket until the master arrives, then out_fd is the master */
        bool tty;
        int con_fd;
        ev_io conw;
        int master; /* a copy of the master for resizes (-1) */
        unsigned short pend_h, pend_w;
        unsigned char keys[8];
        size_t n_keys, matched;
};

static void exec_in_close(struct exec_sess *s) {
        ev_io_stop(s->c->m->loop, &s->inw);
        s->in_fd = safe_close(s->in_fd);
        free(s->in_buf);
        s->in_buf = NULL;
        s->in_len = 0;
}

/* Reads the output pipes again (the queue drained, or nobody is left to wait for). */
static void exec_out_resume(struct exec_sess *s) {
        struct ev_loop *loop = s->c->m->loop;

        if (!s->out_paused)
                return;
        s->out_paused = false;
        if (s->out_fd >= 0)
                ev_io_start(loop, &s->out);
        if (s->err_fd >= 0)
                ev_io_start(loop, &s->err);
}

/* Stops reading the pipes while more than EXEC_OUT_HIGH wait for the client. */
static void exec_out_throttle(struct exec_sess *s) {
        struct ev_loop *loop = s->c->m->loop;
        size_t pending;

        if (!s->req)
                return;
        pending = s->upgraded ? http_upgraded_pending(s->req) : http_stream_pending(s->req);
        if (pending <= EXEC_OUT_HIGH)
                return;
        s->out_paused = true;
        ev_io_stop(loop, &s->out);
        ev_io_stop(loop, &s->err);
}

static void exec_stream_drained(struct http_req *req, void *ud) {
        (void)req;
        exec_out_resume(ud);
}

/* Ends the client's side: the upgraded stream or the NDJSON one. */
static void exec_req_end(struct exec_sess *s) {
        struct http_req *req = TAKE_PTR(s->req);

        if (!req)
                return;
        exec_out_resume(s); /* what is left of the output is read and dropped */
        if (!s->upgraded)
                http_stream_on_drain(req, NULL, NULL);
        http_req_on_close(req, NULL, NULL);
        if (s->upgraded)
                http_upgraded_end(req);
        else
                http_stream_end(req);
}

/* Output to an upgraded client: docker's frame (stream 1, 2; 3 carries the exit record), or raw
 * bytes with a console. */
static void exec_frame(struct exec_sess *s, int stream, const char *data, size_t len) {
        unsigned char hdr[8] = {(unsigned char)stream,
                                0,
                                0,
                                0,
                                (unsigned char)(len >> 24),
                                (unsigned char)(len >> 16),
                                (unsigned char)(len >> 8),
                                (unsigned char)len};

        if (!s->req)
                return;
        if (!s->tty)
                (void)http_upgraded_write(s->req, hdr, sizeof(hdr));
        (void)http_upgraded_write(s->req, data, len);
}

/* Stops every watcher and closes every fd of a session (not its record). */
static void exec_release(struct exec_sess *s) {
        struct ev_loop *loop = s->c->m->loop;

        ev_child_stop(loop, &s->child);
        ev_io_stop(loop, &s->out);
        ev_io_stop(loop, &s->err);
        ev_io_stop(loop, &s->conw);
        s->out_fd = safe_close(s->out_fd);
        s->err_fd = safe_close(s->err_fd);
        s->con_fd = safe_close(s->con_fd);
        s->master = safe_close(s->master);
        exec_in_close(s);
}

static void exec_free(struct exec_sess *s) {
        exec_release(s);
        exec_req_end(s);
        json_decref(s->body);
        free(s->id);
        free(s);
}

static void exec_unlink(struct exec_sess *s) {
        for (struct exec_sess **pp = &s->c->execs; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        return;
                }
}

static void exec_finish(struct exec_sess *s) {
        if (!s->exited || s->out_fd >= 0 || s->err_fd >= 0 || s->con_fd >= 0)
                return;
        s->exit_code = WIFEXITED(s->status)     ? WEXITSTATUS(s->status)
                       : WIFSIGNALED(s->status) ? 128 + WTERMSIG(s->status)
                                                : 255;
        s->done = true;
        exec_release(s);
        if (s->req) {
                _cleanup_json_ json_t *j = json_pack("{s:i}", "ExitCode", s->exit_code);

                if (s->upgraded && !s->tty) {
                        _cleanup_free_ char *rec = json_dump_str(j, true);

                        exec_frame(s, 3, rec, strlen(rec));
                } else if (!s->upgraded)
                        (void)http_stream_write_json(s->req, j);
                exec_req_end(s);
        }
        if (!s->id) {
                exec_unlink(s);
                exec_free(s);
        }
}

static void exec_closed(struct http_req *req, void *ud) {
        struct exec_sess *s = ud;

        (void)req;
        exec_req_end(s);
        exec_in_close(s); /* without a console the process reads EOF */
}

static void exec_in_update(struct exec_sess *s) {
        struct ev_loop *loop = s->c->m->loop;

        if (s->in_len == 0 && s->in_eof && s->in_fd >= 0)
                exec_in_close(s);
        if (s->in_fd >= 0 && s->in_len > 0 && !ev_is_active(&s->inw))
                ev_io_start(loop, &s->inw);
        else if ((s->in_fd < 0 || s->in_len == 0) && ev_is_active(&s->inw))
                ev_io_stop(loop, &s->inw);
        if (s->req)
                http_upgraded_pause(s->req, s->in_len >= EXEC_IN_MAX);
}

static void exec_inw_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct exec_sess *s = w->data;

        (void)loop;
        (void)revents;
        while (s->in_len > 0) {
                ssize_t n = write(s->in_fd, s->in_buf, s->in_len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) { /* the process closed its stdin */
                        exec_in_close(s);
                        break;
                }
                memmove(s->in_buf, s->in_buf + n, s->in_len - (size_t)n);
                s->in_len -= (size_t)n;
        }
        exec_in_update(s);
}

static void exec_in_append(struct exec_sess *s, const void *data, size_t len) {
        s->in_buf = xrealloc(s->in_buf, s->in_len + len);
        memcpy(s->in_buf + s->in_len, data, len);
        s->in_len += len;
}

/* With a console: the client's bytes minus the detach sequence; the whole sequence detaches
 * (the process runs on), a partial one that breaks off is input. */
static void exec_on_data(struct http_req *req, const char *data, size_t len, void *ud) {
        struct exec_sess *s = ud;
        const unsigned char *p = (const unsigned char *)data;

        (void)req;
        if (s->in_fd < 0 && !(s->tty && s->con_fd >= 0)) /* a console's master may come later */
                return;
        if (!s->tty || s->n_keys == 0) {
                exec_in_append(s, data, len);
                exec_in_update(s);
                return;
        }
        for (size_t i = 0; i < len; i++) {
                if (p[i] == s->keys[s->matched]) {
                        if (++s->matched < s->n_keys)
                                continue;
                        /* Detached: the client's stream ends, the process keeps its pty. */
                        s->matched = 0;
                        exec_in_update(s);
                        exec_req_end(s);
                        return;
                }
                if (s->matched > 0) {
                        exec_in_append(s, s->keys, s->matched);
                        s->matched = 0;
                        if (p[i] == s->keys[0]) {
                                s->matched = 1;
                                continue;
                        }
                }
                exec_in_append(s, &p[i], 1);
        }
        exec_in_update(s);
}

static void exec_on_eof(struct http_req *req, void *ud) {
        struct exec_sess *s = ud;

        (void)req;
        if (s->tty)
                return; /* a console has no EOF to pass on: the session ends with the process */
        s->in_eof = true;
        exec_in_update(s);
}

static const struct http_upgrade_ops exec_up_ops = {
        .on_data = exec_on_data, .on_eof = exec_on_eof, .on_drain = exec_stream_drained};

static void exec_pipe(struct exec_sess *s, ev_io *w, int *fd, const char *stream) {
        char buf[16384];
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) { /* a pty master reads EIO once the last slave is closed */
                ev_io_stop(s->c->m->loop, w);
                *fd = safe_close(*fd);
                exec_finish(s);
                return;
        }
        if (s->req && s->upgraded)
                exec_frame(s, streq(stream, "stderr") ? 2 : 1, buf, (size_t)n);
        else if (s->req) {
                _cleanup_json_ json_t *j = json_pack("{s:s,s:o}", "stream", stream, "data",
                                                     ctr_json_bytes(buf, (size_t)n));
                (void)http_stream_write_json(s->req, j);
        }
        exec_out_throttle(s);
}

static void exec_out_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct exec_sess *s = w->data;

        (void)loop;
        (void)revents;
        exec_pipe(s, w, &s->out_fd, "stdout");
}

static void exec_err_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct exec_sess *s = w->data;

        (void)loop;
        (void)revents;
        exec_pipe(s, w, &s->err_fd, "stderr");
}

static int exec_set_size(struct exec_sess *s, unsigned h, unsigned w) {
        struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};

        if (s->master < 0) { /* not there yet: applied when it comes */
                s->pend_h = (unsigned short)h;
                s->pend_w = (unsigned short)w;
                return 0;
        }
        return ioctl(s->master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* The runtime sent the pty master over the console socket (or failed before: EOF). */
static void exec_con_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct exec_sess *s = w->data;
        int fd;

        (void)revents;
        fd = unix_recv_fd(s->con_fd, MSG_DONTWAIT);
        if (fd == -EAGAIN)
                return;
        ev_io_stop(loop, w);
        s->con_fd = safe_close(s->con_fd);
        if (fd < 0) {
                exec_finish(s); /* the helper reports why on its stderr */
                return;
        }
        (void)fcntl(fd, F_SETFL, O_NONBLOCK);
        s->master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (s->pend_h > 0)
                (void)exec_set_size(s, s->pend_h, s->pend_w);
        if (json_get_bool(s->body, "AttachStdin", false) && s->req) {
                s->in_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                ev_io_set(&s->inw, s->in_fd, EV_WRITE);
                exec_in_update(s);
        }
        s->out_fd = fd;
        ev_io_set(&s->out, s->out_fd, EV_READ);
        ev_io_start(loop, &s->out);
}

static void exec_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct exec_sess *s = w->data;
        char code[16];
        int st;

        (void)loop;
        (void)revents;
        s->exited = true;
        s->status = st = w->rstatus;
        ev_child_stop(loop, w);
        snprintf(code, sizeof(code), "%d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        ctr_event(s->c, "exec_die", json_pack("{s:s}", "exitCode", code));
        exec_finish(s);
}

/* The exec'd process's spec: the container's process with Cmd, Env, WorkingDir, User, Tty. */
static int exec_process(struct ctr *c, const json_t *body, const json_t *start, struct spec **ret,
                        struct err **errp) {
        _cleanup_free_ char *path = xasprintf("%s/bundle/config.json", c->dir);
        _cleanup_(spec_freep) struct spec *s = NULL;
        const json_t *cmd = json_object_get(body, "Cmd"), *v;
        const json_t *size = json_object_get(start ? start : body, "ConsoleSize");
        const char *wd = json_get_str(body, "WorkingDir", ""),
                   *user = json_get_str(body, "User", "");
        size_t i;
        int r;

        if (!json_is_array(cmd) || json_array_size(cmd) == 0)
                return err_setx(errp, EINVAL, "Cmd: no command specified");
        if (size && !json_is_null(size) &&
            (!json_is_array(size) || json_array_size(size) != 2 ||
             json_integer_value(json_array_get(size, 0)) < 0 ||
             json_integer_value(json_array_get(size, 0)) > 65535 ||
             json_integer_value(json_array_get(size, 1)) < 0 ||
             json_integer_value(json_array_get(size, 1)) > 65535)) {
                r = err_setx(errp, EINVAL, "ConsoleSize: expected [height, width], 0-65535");
                err_set_field(errp, "ConsoleSize");
                return r;
        }
        r = spec_load(path, &s, errp);
        if (r < 0)
                return r;
        strv_free(s->process.args);
        s->process.args = xnew0(char *, 1);
        json_array_foreach (cmd, i, v) {
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL, "Cmd[%zu]: must be a string", i);
                strv_push(&s->process.args, json_string_value(v));
        }
        json_array_foreach (json_object_get(body, "Env"), i, v) {
                const char *kv = json_string_value(v);
                size_t klen;
                bool done = false;

                if (!kv || !strchr(kv, '='))
                        continue;
                klen = strcspn(kv, "=");
                for (char **e = s->process.env; e && *e; e++)
                        if (strncmp(*e, kv, klen + 1) == 0) {
                                free(*e);
                                *e = xstrdup(kv);
                                done = true;
                        }
                if (!done)
                        strv_push(&s->process.env, kv);
        }
        if (wd[0]) {
                if (wd[0] != '/')
                        return err_setx(errp, EINVAL, "WorkingDir: '%s' is not absolute", wd);
                free(s->process.cwd);
                s->process.cwd = xstrdup(wd);
        }
        if (user[0]) {
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
                _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
                gid_t *gids = NULL;
                size_t n = 0;

                if (rootfd < 0)
                        return err_set(errp, errno, "open '%s'", rootfs);
                r = ctr_resolve_user(rootfd, user, &s->process.user.uid, &s->process.user.gid,
                                     &gids, &n, errp);
                if (r < 0)
                        return r;
                free(s->process.user.additional_gids);
                s->process.user.additional_gids = gids;
                s->process.user.n_additional_gids = n;
        }
        s->process.terminal = json_get_bool(body, "Tty", false);
        s->process.console_height = s->process.console_width = 0;
        if (s->process.terminal && json_is_array(size)) {
                s->process.console_height =
                        (unsigned short)json_integer_value(json_array_get(size, 0));
                s->process.console_width =
                        (unsigned short)json_integer_value(json_array_get(size, 1));
        }
        if (s->process.terminal) {
                /* TERM as docker sets it for a console, unless given */
                bool has = false;

                STRV_FOREACH (e, s->process.env)
                        if (strncmp(*e, "TERM=", 5) == 0)
                                has = true;
                if (!has)
                        strv_push(&s->process.env, "TERM=xterm");
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* The helper's SIGTERM kills the exec'd process (it is in its own session): how the health
 * checks enforce their timeout. */
static volatile sig_atomic_t helper_term;
static volatile pid_t helper_child;

static void helper_sigterm(int sig) {
        (void)sig;
        helper_term = 1;
        if (helper_child > 0)
                (void)kill(helper_child, SIGKILL);
}

_noreturn_ static void exec_helper(struct ctr *c, const struct spec *s, int in, int out, int err,
                                   int con) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_err_ struct err *e = NULL;
        int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC), status;
        pid_t pid;

        /* The daemon's handlers (libev's) must not run here. */
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, helper_sigterm);
        signal(SIGINT, SIG_DFL);
        if (nfd < 0 || dup2(in >= 0 ? in : nfd, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(126);
        /* Nothing of the daemon's stays open here (its lock, listeners, connections), except
         * the console socket, moved to 3. */
        if (con >= 0) {
                if (con != 3 && dup2(con, 3) < 0)
                        _exit(126);
                con = 3;
        }
        (void)close_range(con >= 0 ? 4 : 3, ~0U, 0);
        if (rt_state_load(c->m->oci_root, c->id, &st, &e) < 0 ||
            rt_exec(st, &(struct rt_exec_opts){.process = &s->process, .console_fd = con}, &pid,
                    &e) < 0) {
                const char *msg = err_msg(e);
                dprintf(2, "berth: %s\n", msg);
                _exit(strstr(msg, "not found") ? 127 : 126);
        }
        if (con >= 0)
                (void)close(con);
        helper_child = pid;
        if (helper_term)
                (void)kill(pid, SIGKILL);
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
                _exit(255);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int exec_spawn(struct ctr *c, const json_t *body, const json_t *start, int in_fd, int out_fd,
                      int err_fd, int con_fd, pid_t *ret_pid, struct err **errp) {
        _cleanup_(spec_freep) struct spec *s = NULL;
        pid_t pid;
        int r;

        r = exec_process(c, body, start, &s, errp);
        if (r < 0)
                return r;
        pid = fork();
        if (pid < 0)
                return err_set(errp, errno, "fork");
        if (pid == 0)
                exec_helper(c, s, in_fd, out_fd, err_fd, con_fd);
        *ret_pid = pid;
        return 0;
}

int ctr_exec_spawn(struct ctr *c, const json_t *body, int out_fd, int err_fd, pid_t *ret_pid,
                   struct err **errp) {
        return exec_spawn(c, body, NULL, -EBADF, out_fd, err_fd, -EBADF, ret_pid, errp);
}

static struct exec_sess *exec_new(struct ctr *c) {
        struct exec_sess *x = xnew0(struct exec_sess, 1);

        x->c = c;
        x->out_fd = x->err_fd = x->in_fd = x->con_fd = x->master = -EBADF;
        x->exit_code = -1;
        ev_io_init(&x->inw, exec_inw_cb, 0, EV_WRITE);
        ev_io_init(&x->out, exec_out_cb, 0, EV_READ);
        ev_io_init(&x->err, exec_err_cb, 0, EV_READ);
        ev_io_init(&x->conw, exec_con_cb, 0, EV_READ);
        ev_child_init(&x->child, exec_child_cb, 0, 0);
        x->inw.data = x->out.data = x->err.data = x->conw.data = x->child.data = x;
        return x;
}

static void exec_events(struct ctr *c, const json_t *body) {
        _cleanup_free_ char *what = NULL, *cmd = NULL;
        _cleanup_strv_ char **args = NULL;
        const json_t *v;
        size_t i;

        json_array_foreach (json_object_get(body, "Cmd"), i, v)
                strv_push(&args, json_string_value(v));
        cmd = strv_join(args, " ");
        what = xasprintf("exec_create: %s", cmd);
        ctr_event(c, what, NULL);
        free(what);
        what = xasprintf("exec_start: %s", cmd);
        ctr_event(c, what, NULL);
}

static int exec_check_running(struct ctr *c, struct http_req *req) {
        if (!ctr_running(c) || json_get_bool(ctr_state(c), "Paused", false)) {
                http_reply_error(req, 409, "Conflict", "Container %s is %s", c->id,
                                 ctr_running(c) ? "paused, unpause the container before exec"
                                                : "not running");
                return -EBUSY;
        }
        return 0;
}

/* Spawns x's process (x->body) and answers req: 201 {Pid} when detached, else the stream. */
static void exec_run(struct exec_sess *x, const json_t *start, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = x->c;
        const json_t *body = x->body;
        bool detach = json_get_bool(start ? start : body, "Detach", false);
        bool tty = json_get_bool(body, "Tty", false);
        bool in = !detach && json_get_bool(body, "AttachStdin", false) &&
                  (tty || http_req_wants_upgrade(req));
        _cleanup_close_pair_ int inp[2] = {-EBADF, -EBADF}, out[2] = {-EBADF, -EBADF},
                                 err[2] = {-EBADF, -EBADF}, con[2] = {-EBADF, -EBADF};
        _cleanup_free_ char *keys = NULL;
        const char *dk = json_get_str(start, "DetachKeys", json_get_str(body, "DetachKeys", ""));
        pid_t pid = 0;
        int r;

        x->tty = tty;
        if (tty && ctr_parse_detach_keys(dk[0] ? dk : "ctrl-p,ctrl-q", &keys, &e) < 0) {
                err_set_field(&e, "DetachKeys");
                http_reply_err(req, e);
                return;
        }
        for (char *k = keys, *end; k && *k && x->n_keys < sizeof(x->keys); k = end) {
                x->keys[x->n_keys++] = (unsigned char)strtoul(k, &end, 10);
                if (*end == ',')
                        end++;
        }
        /* Only the daemon's read ends are non-blocking: the process's stdout and stderr block
         * when the pipe is full (while the client is slow), as they would on a terminal. */
        if ((in && !tty && pipe2(inp, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
            pipe2(err, O_CLOEXEC) < 0 || fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 ||
            fcntl(err[0], F_SETFL, O_NONBLOCK) < 0 ||
            (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0)) {
                http_reply_error(req, 500, "Internal", "pipe: %s", strerror(errno));
                return;
        }
        r = exec_spawn(c, body, start, inp[0], out[1], err[1], con[1], &pid, &e);
        out[1] = safe_close(out[1]);
        err[1] = safe_close(err[1]);
        inp[0] = safe_close(inp[0]);
        con[1] = safe_close(con[1]);
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        x->started = true;
        x->pid = pid;
        if (tty) {
                /* the helper's own messages (command not found) come on err; no output pipe */
                out[0] = safe_close(out[0]);
                x->con_fd = TAKE_FD(con[0]);
                (void)fcntl(x->con_fd, F_SETFL, O_NONBLOCK);
                ev_io_set(&x->conw, x->con_fd, EV_READ);
                ev_io_start(c->m->loop, &x->conw);
        } else {
                x->out_fd = TAKE_FD(out[0]);
                ev_io_set(&x->out, x->out_fd, EV_READ);
                ev_io_start(c->m->loop, &x->out);
        }
        x->err_fd = TAKE_FD(err[0]);
        ev_io_set(&x->err, x->err_fd, EV_READ);
        ev_io_start(c->m->loop, &x->err);
        x->in_fd = TAKE_FD(inp[1]);
        if (x->in_fd >= 0) {
                (void)fcntl(x->in_fd, F_SETFL, O_NONBLOCK);
                ev_io_set(&x->inw, x->in_fd, EV_WRITE);
        }
        ev_child_set(&x->child, pid, 0);
        ev_child_start(c->m->loop, &x->child);
        exec_events(c, body);
        if (detach) {
                _cleanup_json_ json_t *j = json_pack("{s:i}", "Pid", (int)pid);
                http_reply_json(req, 201, j);
                return;
        }
        x->req = req;
        http_req_on_close(req, exec_closed, x);
        if (!in && !tty)
                http_stream_on_drain(req, exec_stream_drained, x);
        if (in || tty) {
                x->upgraded = true;
                http_req_upgrade(req,
                                 tty ? "application/vnd.docker.raw-stream"
                                     : "application/vnd.docker.multiplexed-stream",
                                 &exec_up_ops, x);
                return;
        }
        http_stream_begin(req, 200, "application/x-ndjson");
}

/* Drops the oldest records that are not running beyond EXEC_KEEP. */
static void exec_prune(struct ctr *c) {
        size_t n = 0;

        for (struct exec_sess *s = c->execs; s; s = s->next)
                n++;
        while (n >= EXEC_KEEP) {
                struct exec_sess *old = NULL;

                for (struct exec_sess *s = c->execs; s; s = s->next)
                        if (!s->started || s->done)
                                old = s; /* the list is newest first: the last one is oldest */
                if (!old)
                        return;
                exec_unlink(old);
                exec_free(old);
                n--;
        }
}

void ctr_exec(struct ctr *c, const json_t *body, struct http_req *req) {
        struct exec_sess *x;

        if (exec_check_running(c, req) < 0)
                return;
        if (json_get_bool(body, "Create", false)) {
                _cleanup_(spec_freep) struct spec *s = NULL;
                _cleanup_err_ struct err *e = NULL;
                _cleanup_json_ json_t *ans = NULL;

                /* docker's create: checked now, run by /exec/{id}/start */
                if (exec_process(c, body, NULL, &s, &e) < 0) {
                        http_reply_err(req, e);
                        return;
                }
                exec_prune(c);
                x = exec_new(c);
                x->id = random_hex(32);
                x->body = json_deep_copy(body);
                x->next = c->execs;
                c->execs = x;
                ans = json_pack("{s:s}", "Id", x->id);
                http_reply_json(req, 201, ans);
                return;
        }
        x = exec_new(c);
        x->body = json_deep_copy(body);
        x->next = c->execs;
        c->execs = x;
        exec_run(x, NULL, req);
        if (!x->started) {
                exec_unlink(x);
                exec_free(x);
        }
}

struct exec_sess *ctr_exec_find(struct ctr_mgr *m, const char *id) {
        for (size_t i = 0; id && id[0] && i < m->n; i++)
                for (struct exec_sess *s = m->v[i]->execs; s; s = s->next)
                        if (s->id && streq(s->id, id))
                                return s;
        return NULL;
}

void ctr_exec_start(struct exec_sess *x, const json_t *start, struct http_req *req) {
        if (x->started) {
                http_reply_error(req, 409, "conflict", "exec %s has already started", x->id);
                return;
        }
        if (exec_check_running(x->c, req) < 0)
                return;
        exec_run(x, start, req);
}

int ctr_exec_resize(struct exec_sess *x, unsigned h, unsigned w, struct err **errp) {
        int r;

        if (!x->tty)
                return err_setx(errp, EINVAL, "exec %s has no console (created without Tty)",
                                x->id);
        if (!x->started || x->done)
                return err_setx(errp, EBUSY, "exec %s is not running", x->id);
        if (h == 0 || w == 0 || h > 65535 || w > 65535)
                return err_setx(errp, EINVAL, "h, w: expected 1-65535, got %u x %u", h, w);
        r = exec_set_size(x, h, w);
        if (r < 0)
                return err_setx(errp, -r, "set the console size: %s", strerror(-r));
        return 0;
}

json_t *ctr_exec_inspect(const struct exec_sess *x) {
        const json_t *cmd = json_object_get(x->body, "Cmd");
        json_t *args = json_array();
        bool running = x->started && !x->done;

        for (size_t i = 1; i < json_array_size(cmd); i++)
                json_array_append(args, json_array_get(cmd, i));
        return json_pack("{s:s,s:s,s:b,s:o,s:b,s:b,s:b,s:b,s:i,s:{s:b,s:s,s:o,s:s,s:b}}", "ID",
                         x->id, "ContainerID", x->c->id, "Running", running, "ExitCode",
                         x->done ? json_integer(x->exit_code) : json_null(), "OpenStdin",
                         json_get_bool(x->body, "AttachStdin", false), "OpenStdout", true,
                         "OpenStderr", true, "CanRemove", x->done, "Pid",
                         x->started ? (int)x->pid : 0, "ProcessConfig", "tty",
                         x->tty || json_get_bool(x->body, "Tty", false), "entrypoint",
                         json_string_value(json_array_get(cmd, 0)) ?: "", "arguments", args, "user",
                         json_get_str(x->body, "User", ""), "privileged", false);
}

void ctr_exec_end(struct ctr *c) {
        /* Exec sessions outlive nothing: detach them from their requests and the container. */
        while (c->execs) {
                struct exec_sess *s = c->execs;

                c->execs = s->next;
                exec_free(s);
        }
}
