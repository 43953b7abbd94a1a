/* SPDX-License-Identifier: Apache-2.0 */
/* Streams of a container: logs (with follow) and exec sessions, both as NDJSON on the daemon's
 * streaming responses, both driven by the libev loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "cleanup.h"
#include "clog.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "runtime/container.h"
#include "strv.h"
#include "xalloc.h"

#define FOLLOW_INTERVAL 0.1

struct follower {
        struct follower *next;
        struct ctr *c;
        struct http_req *req;
        ev_timer timer;
        char *path;
        uint64_t offset;
        struct ctr_logs_opts o;
};

/* JSON string of bytes that may not be UTF-8: invalid bytes become U+FFFD. */
static json_t *json_bytes(const char *s, size_t len) {
        json_t *j = json_stringn(s, len);
        _cleanup_free_ char *fixed = NULL;
        size_t k = 0;

        if (j)
                return j;
        fixed = xmalloc(len * 3 + 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch < 0x80)
                        fixed[k++] = (char)ch;
                else {
                        fixed[k++] = (char)0xef;
                        fixed[k++] = (char)0xbf;
                        fixed[k++] = (char)0xbd;
                }
        }
        return json_stringn(fixed, k);
}

static int write_entry(const struct clog_entry *e, void *ud) {
        struct follower *f = ud;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *t = NULL;

        if ((e->stream == CLOG_STDOUT && !f->o.stdout_) ||
            (e->stream == CLOG_STDERR && !f->o.stderr_))
                return 0;
        if (f->o.since_nsec && e->ts_nsec < f->o.since_nsec)
                return 0;
        if (f->o.until_nsec && e->ts_nsec > f->o.until_nsec)
                return 0;
        t = clog_format_time(e->ts_nsec);
        j = json_pack("{s:s,s:o,s:s}", "stream", e->stream == CLOG_STDOUT ? "stdout" : "stderr",
                      "log", json_bytes(e->log, e->len), "time", t);
        if (http_stream_write_json(f->req, j) == -EPIPE)
                return -EPIPE;
        return 0;
}

static void follower_free(struct follower *f, json_t *last) {
        struct follower **pp;

        for (pp = &f->c->followers; *pp; pp = &(*pp)->next)
                if (*pp == f) {
                        *pp = f->next;
                        break;
                }
        ev_timer_stop(f->c->m->loop, &f->timer);
        http_req_on_close(f->req, NULL, NULL);
        if (last)
                (void)http_stream_write_json(f->req, last);
        http_stream_end(f->req);
        free(f->path);
        free(f);
}

static void follower_closed(struct http_req *req, void *ud) {
        (void)req;
        follower_free(ud, NULL);
}

static void follow_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct follower *f = w->data;

        (void)loop;
        (void)revents;
        if (clog_read_from(f->path, &f->offset, write_entry, f, NULL) == -EPIPE)
                follower_free(f, NULL);
}

void ctr_logs(struct ctr *c, const struct ctr_logs_opts *o, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;
        struct follower *f = xnew0(struct follower, 1);
        int r;

        f->c = c;
        f->req = req;
        f->o = *o;
        f->path = xstrdup(json_get_str(c->rec, "LogPath", ""));
        http_stream_begin(req, 200, "application/x-ndjson");
        r = clog_read(f->path,
                      &(struct clog_read_opts){.tail = o->tail,
                                               .since_nsec = o->since_nsec,
                                               .until_nsec = o->until_nsec},
                      write_entry, f, &f->offset, &e);
        if (r < 0 || !o->follow ||
            (!ctr_running(c) && c->sv.state != SV_BACKOFF && c->sv.state != SV_STARTING)) {
                if (r < 0 && r != -EPIPE) {
                        _cleanup_json_ json_t *j = json_pack("{s:s}", "error", err_msg(e));
                        (void)http_stream_write_json(req, j);
                }
                http_stream_end(req);
                free(f->path);
                free(f);
                return;
        }
        f->next = c->followers;
        c->followers = f;
        ev_timer_init(&f->timer, follow_cb, FOLLOW_INTERVAL, FOLLOW_INTERVAL);
        f->timer.data = f;
        ev_timer_start(c->m->loop, &f->timer);
        http_req_on_close(req, follower_closed, f);
}

void ctr_streams_exit(struct ctr *c) {
        while (c->followers) {
                struct follower *f = c->followers;
                _cleanup_json_ json_t *last = json_pack(
                        "{s:I}", "exit", (json_int_t)json_get_int(ctr_state(c), "ExitCode", 0));

                (void)clog_read_from(f->path, &f->offset, write_entry, f, NULL);
                follower_free(f, last);
        }
}

/* ---- exec ---- */

struct exec_sess {
        struct exec_sess *next;
        struct ctr *c;
        struct http_req *req; /* NULL when detached or the client left */
        ev_child child;
        ev_io out, err;
        int out_fd, err_fd;
        bool exited;
        int status;
        /* berth-attach: exec -i, an upgraded connection (multiplexed frames out, stdin in) */
        bool upgraded;
        int in_fd;
        ev_io inw;
        char *in_buf;
        size_t in_len;
        bool in_eof;
};

#define EXEC_IN_MAX (256u * 1024u)

static void exec_in_close(struct exec_sess *s) {
        ev_io_stop(s->c->m->loop, &s->inw);
        s->in_fd = safe_close(s->in_fd);
        free(s->in_buf);
        s->in_buf = NULL;
        s->in_len = 0;
}

/* Ends the client's side: the upgraded stream or the NDJSON one. */
static void exec_req_end(struct exec_sess *s) {
        struct http_req *req = TAKE_PTR(s->req);

        if (!req)
                return;
        http_req_on_close(req, NULL, NULL);
        if (s->upgraded)
                http_upgraded_end(req);
        else
                http_stream_end(req);
}

/* Output to an upgraded client: docker's frame (stream 1, 2; 3 carries the exit record). */
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
        (void)http_upgraded_write(s->req, hdr, sizeof(hdr));
        (void)http_upgraded_write(s->req, data, len);
}

static void exec_finish(struct exec_sess *s) {
        struct ev_loop *loop = s->c->m->loop;
        struct exec_sess **pp;

        if (!s->exited || s->out_fd >= 0 || s->err_fd >= 0)
                return;
        for (pp = &s->c->execs; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        ev_child_stop(loop, &s->child);
        exec_in_close(s);
        if (s->req) {
                int code = WIFEXITED(s->status)     ? WEXITSTATUS(s->status)
                           : WIFSIGNALED(s->status) ? 128 + WTERMSIG(s->status)
                                                    : 255;
                _cleanup_json_ json_t *j = json_pack("{s:i}", "ExitCode", code);

                if (s->upgraded) {
                        _cleanup_free_ char *rec = json_dump_str(j, true);

                        exec_frame(s, 3, rec, strlen(rec));
                } else
                        (void)http_stream_write_json(s->req, j);
                exec_req_end(s);
        }
        free(s);
}

static void exec_closed(struct http_req *req, void *ud) {
        struct exec_sess *s = ud;

        (void)req;
        exec_req_end(s);
        exec_in_close(s); /* the process reads EOF */
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

static void exec_on_data(struct http_req *req, const char *data, size_t len, void *ud) {
        struct exec_sess *s = ud;

        (void)req;
        if (s->in_fd < 0)
                return;
        s->in_buf = xrealloc(s->in_buf, s->in_len + len);
        memcpy(s->in_buf + s->in_len, data, len);
        s->in_len += len;
        exec_in_update(s);
}

static void exec_on_eof(struct http_req *req, void *ud) {
        struct exec_sess *s = ud;

        (void)req;
        s->in_eof = true;
        exec_in_update(s);
}

static const struct http_upgrade_ops exec_up_ops = {.on_data = exec_on_data, .on_eof = exec_on_eof};

static void exec_pipe(struct exec_sess *s, ev_io *w, int *fd, const char *stream) {
        char buf[16384];
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                ev_io_stop(s->c->m->loop, w);
                *fd = safe_close(*fd);
                exec_finish(s);
                return;
        }
        if (s->req && s->upgraded)
                exec_frame(s, streq(stream, "stderr") ? 2 : 1, buf, (size_t)n);
        else if (s->req) {
                _cleanup_json_ json_t *j = json_pack("{s:s,s:o}", "stream", stream, "data",
                                                     json_bytes(buf, (size_t)n));
                (void)http_stream_write_json(s->req, j);
        }
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

static void exec_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct exec_sess *s = w->data;

        (void)loop;
        (void)revents;
        s->exited = true;
        s->status = w->rstatus;
        ev_child_stop(loop, w);
        {
                char code[16];
                int st = s->status;

                snprintf(code, sizeof(code), "%d",
                         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                ctr_event(s->c, "exec_die", json_pack("{s:s}", "exitCode", code));
        }
        exec_finish(s);
}

/* The exec'd process's spec: the container's process with Cmd, Env, WorkingDir, User. */
static int exec_process(struct ctr *c, const json_t *body, struct spec **ret, struct err **errp) {
        _cleanup_free_ char *path = xasprintf("%s/bundle/config.json", c->dir);
        _cleanup_(spec_freep) struct spec *s = NULL;
        const json_t *cmd = json_object_get(body, "Cmd"), *v;
        const char *wd = json_get_str(body, "WorkingDir", ""),
                   *user = json_get_str(body, "User", "");
        size_t i;
        int r;

        if (!json_is_array(cmd) || json_array_size(cmd) == 0)
                return err_setx(errp, EINVAL, "Cmd: no command specified");
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
        s->process.terminal = false;
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

_noreturn_ static void exec_helper(struct ctr *c, const struct spec *s, int in, int out, int err) {
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
        /* Nothing of the daemon's stays open here (its lock, listeners, connections). */
        (void)close_range(3, ~0U, 0);
        if (rt_state_load(c->m->oci_root, c->id, &st, &e) < 0 ||
            rt_exec(st, &(struct rt_exec_opts){.process = &s->process, .console_fd = -1}, &pid,
                    &e) < 0) {
                const char *msg = err_msg(e);
                dprintf(2, "berth: %s\n", msg);
                _exit(strstr(msg, "not found") ? 127 : 126);
        }
        helper_child = pid;
        if (helper_term)
                (void)kill(pid, SIGKILL);
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
                _exit(255);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int exec_spawn(struct ctr *c, const json_t *body, int in_fd, int out_fd, int err_fd,
                      pid_t *ret_pid, struct err **errp) {
        _cleanup_(spec_freep) struct spec *s = NULL;
        pid_t pid;
        int r;

        r = exec_process(c, body, &s, errp);
        if (r < 0)
                return r;
        pid = fork();
        if (pid < 0)
                return err_set(errp, errno, "fork");
        if (pid == 0)
                exec_helper(c, s, in_fd, out_fd, err_fd);
        *ret_pid = pid;
        return 0;
}

int ctr_exec_spawn(struct ctr *c, const json_t *body, int out_fd, int err_fd, pid_t *ret_pid,
                   struct err **errp) {
        return exec_spawn(c, body, -EBADF, out_fd, err_fd, ret_pid, errp);
}

void ctr_exec(struct ctr *c, const json_t *body, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;
        bool detach = json_get_bool(body, "Detach", false);
        /* berth-attach: exec -i goes over an upgraded connection */
        bool in =
                !detach && json_get_bool(body, "AttachStdin", false) && http_req_wants_upgrade(req);
        _cleanup_close_pair_ int inp[2] = {-EBADF, -EBADF};
        struct exec_sess *x;
        int out[2], err[2], r;
        pid_t pid = 0;

        if (!ctr_running(c) || json_get_bool(ctr_state(c), "Paused", false)) {
                http_reply_error(req, 409, "Conflict", "Container %s is %s", c->id,
                                 ctr_running(c) ? "paused, unpause the container before exec"
                                                : "not running");
                return;
        }
        if (in && pipe2(inp, O_CLOEXEC) < 0) {
                http_reply_error(req, 500, "Internal", "pipe: %s", strerror(errno));
                return;
        }
        if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) {
                http_reply_error(req, 500, "Internal", "pipe: %s", strerror(errno));
                return;
        }
        if (pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
                http_reply_error(req, 500, "Internal", "pipe: %s", strerror(errno));
                safe_close(out[0]);
                safe_close(out[1]);
                return;
        }
        r = exec_spawn(c, body, inp[0], out[1], err[1], &pid, &e);
        safe_close(out[1]);
        safe_close(err[1]);
        inp[0] = safe_close(inp[0]);
        if (r < 0) {
                http_reply_err(req, e);
                safe_close(out[0]);
                safe_close(err[0]);
                return;
        }
        x = xnew0(struct exec_sess, 1);
        x->c = c;
        x->out_fd = out[0];
        x->err_fd = err[0];
        x->in_fd = TAKE_FD(inp[1]);
        if (x->in_fd >= 0)
                (void)fcntl(x->in_fd, F_SETFL, O_NONBLOCK);
        ev_io_init(&x->inw, exec_inw_cb, x->in_fd >= 0 ? x->in_fd : 0, EV_WRITE);
        x->inw.data = x;
        ev_child_init(&x->child, exec_child_cb, pid, 0);
        x->child.data = x;
        ev_child_start(c->m->loop, &x->child);
        ev_io_init(&x->out, exec_out_cb, x->out_fd, EV_READ);
        ev_io_init(&x->err, exec_err_cb, x->err_fd, EV_READ);
        x->out.data = x->err.data = x;
        ev_io_start(c->m->loop, &x->out);
        ev_io_start(c->m->loop, &x->err);
        x->next = c->execs;
        c->execs = x;
        {
                _cleanup_free_ char *what = NULL;
                _cleanup_strv_ char **args = NULL;
                _cleanup_free_ char *cmd = NULL;
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
        if (detach) {
                _cleanup_json_ json_t *j = json_pack("{s:i}", "Pid", (int)pid);
                http_reply_json(req, 201, j);
                return;
        }
        x->req = req;
        http_req_on_close(req, exec_closed, x);
        if (in) {
                x->upgraded = true;
                http_req_upgrade(req, "application/vnd.docker.multiplexed-stream", &exec_up_ops, x);
                return;
        }
        http_stream_begin(req, 200, "application/x-ndjson");
}

void ctr_streams_end(struct ctr *c) {
        ctr_attach_end(c); /* berth-attach */
        while (c->followers)
                follower_free(c->followers, NULL);
        /* Exec sessions outlive nothing: detach them from their requests and the container. */
        while (c->execs) {
                struct exec_sess *s = c->execs;

                c->execs = s->next;
                ev_child_stop(c->m->loop, &s->child);
                ev_io_stop(c->m->loop, &s->out);
                ev_io_stop(c->m->loop, &s->err);
                safe_close(s->out_fd);
                safe_close(s->err_fd);
                exec_in_close(s);
                exec_req_end(s);
                free(s);
        }
}
