/* SPDX-License-Identifier: Apache-2.0 */
/* Forked request jobs (api_job.h): the child's NDJSON lines come back over a pipe watched by the
 * loop; the child is reaped by an ev_child watcher; done runs once the pipe is closed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "api.h"
#include "api_job.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "linebuf.h"
#include "xalloc.h"

#define JOB_LINE_MAX (1u << 20)

struct api_job {
        struct http_req *req;
        bool stream;
        api_job_done_fn *done;
        void *ud;
        ev_io io;
        ev_child child;
        int fd;
        struct line_buf lines;
        json_t *last;
        bool eof, reaped;
};

static void job_free(struct api_job *j) {
        safe_close(j->fd);
        line_buf_done(&j->lines);
        json_decref(j->last);
        free(j);
}

void api_job_emit(int fd, const json_t *j) {
        _cleanup_free_ char *s = json_dump_str(j, true);
        (void)fd_write_full(fd, s, strlen(s));
}

void api_job_reply(struct http_req *req, json_t *last) {
        json_t *err = json_object_get(last, "error");

        if (json_is_object(err)) {
                struct err e = {.code = (int)json_get_int(err, "errno", EIO),
                                .msg = (char *)json_get_str(err, "message", "failed")};
                http_reply_err(req, &e);
        } else if (last) {
                json_t *res = json_object_get(last, "result");
                _cleanup_json_ json_t *empty = json_object();
                http_reply_json(req, 200, res ? res : empty);
        } else
                http_reply_error(req, 500, "internal",
                                 "the request's helper exited without an "
                                 "answer");
}

static void job_line(void *ud, char *line, size_t len) {
        struct api_job *j = ud;
        json_t *v = json_loadb(line, len, 0, NULL);

        if (!v)
                return;
        json_decref(j->last);
        j->last = v;
        if (j->stream) {
                _cleanup_free_ char *s = json_dump_str(v, true);
                (void)http_stream_write(j->req, s, strlen(s));
        }
}

static void job_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct api_job *j = container_of(w, struct api_job, io);
        char chunk[16384];
        ssize_t n;

        (void)revents;
        n = read(j->fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0) {
                line_buf_feed(&j->lines, chunk, (size_t)n, JOB_LINE_MAX, job_line, j);
                return;
        }
        ev_io_stop(loop, w);
        j->fd = safe_close(j->fd);
        j->eof = true;
        j->done(j->req, j->last, j->ud);
        j->req = NULL;
        if (j->reaped)
                job_free(j);
}

static void job_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct api_job *j = container_of(w, struct api_job, child);

        (void)revents;
        ev_child_stop(loop, w);
        j->reaped = true;
        if (j->eof)
                job_free(j);
}

void api_job_start(struct daemon *d, struct http_req *req, api_job_fn *run, json_t *args,
                   bool stream, api_job_done_fn *done, void *ud) {
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        _cleanup_json_ json_t *owned = args;
        struct api_job *j;
        pid_t pid, ppid;

        ppid = getpid();
        pid = pipe2(p, O_CLOEXEC) < 0 ? -1 : fork();
        if (pid < 0) {
                _cleanup_json_ json_t *last = json_pack("{s:{s:s,s:i}}", "error", "message",
                                                        strerror(errno), "errno", errno);
                if (stream)
                        http_stream_begin(req, 200, "application/x-ndjson");
                return done(req, last, ud);
        }
        if (pid == 0) {
                struct err *e = NULL;
                json_t *res = NULL, *line;
                int r;

                /* The job dies with the daemon (kill -9 included): a pull must not register an
                 * image after the daemon is gone; a restart clears its tmp files. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
                        _exit(1);
                /* The child never touches the loop and leaves with _exit (STYLE C13). */
                signal(SIGPIPE, SIG_IGN);
                p[0] = safe_close(p[0]);
                /* the root lock stays the daemon's: a restarted daemon must not wait for us */
                d->lock_fd = safe_close(d->lock_fd);
                r = run(d, owned, p[1], &res, &e);
                if (r < 0)
                        line = json_pack("{s:{s:s,s:i}}", "error", "message", err_msg(e), "errno",
                                         e ? e->code : -r);
                else
                        line = json_pack("{s:o}", "result", res ? res : json_object());
                api_job_emit(p[1], line);
                _exit(r < 0 ? 1 : 0);
        }
        j = xnew0(struct api_job, 1);
        j->req = req;
        j->stream = stream;
        j->done = done;
        j->ud = ud;
        j->fd = TAKE_FD(p[0]);
        (void)fcntl(j->fd, F_SETFL, O_NONBLOCK);
        ev_io_init(&j->io, job_io_cb, j->fd, EV_READ);
        ev_io_start(d->loop, &j->io);
        ev_child_init(&j->child, job_child_cb, pid, 0);
        ev_child_start(d->loop, &j->child);
        if (stream)
                http_stream_begin(req, 200, "application/x-ndjson");
}
