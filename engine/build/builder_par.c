/* SPDX-License-Identifier: Apache-2.0 */
/* Stage scheduling (docs/build.md "Stages"): the stages the target needs form a graph (FROM
 * another stage, COPY --from, RUN --mount from=); every stage whose dependencies are built may
 * run. One runnable stage with nothing else running is built in this process, as before. When
 * several can run, each is built in a forked worker process, up to o->jobs at a time.
 *
 * Why processes: the build already runs in a helper forked by the daemon (the daemon's libev
 * loop never waits for it), a stage is a chain of blocking steps (RUN waits for its container,
 * COPY for the disk), and the builder's state is plain memory. A forked worker inherits the
 * finished stages it depends on, shares nothing mutable with its siblings but the file-based
 * image store and step cache (both write through temporary names and renames, as concurrent
 * pulls do), and reports back over a pipe, one JSON object per line: {"p": "progress line"},
 * then {"done": {"cfg", "layers", "key"}} or {"error": "...", "code": N}. The parent polls the
 * pipes and forwards each progress line prefixed with its stage ("[build] Step 3/9 : RUN make"),
 * so output stays attributed when stages interleave. When a stage fails, no new stage starts, the
 * running ones finish (a killed worker would leave its RUN container and mounts behind), and the
 * first error is returned. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/builder_int.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "linebuf.h"
#include "strv.h"
#include "xalloc.h"

#define JOBS_MAX 8
#define WORKER_LINE_MAX (4u << 20)

struct worker {
        pid_t pid;
        int fd;
        size_t si;
        struct line_buf lines;
        bool result; /* a done or error line arrived */
};

static unsigned default_jobs(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < 2 ? 2 : n > JOBS_MAX ? JOBS_MAX : (unsigned)n;
}

static char *stage_label(struct builder *b, size_t si) {
        const char *n = b->stages.stages[si].name;
        return n ? xstrdup(n) : xasprintf("stage-%zu", si);
}

static void worker_send(int fd, json_t *j) {
        _cleanup_free_ char *s = json_dump_str(j, false);
        _cleanup_free_ char *line = xasprintf("%s\n", s);
        (void)fd_write_full(fd, line, strlen(line));
        json_decref(j);
}

static void worker_progress(void *ud, const char *line) {
        worker_send(*(int *)ud, json_pack("{s:s}", "p", line));
}

/* The worker: builds stage si, reports, exits. Never returns. */
static _noreturn_ void worker_main(struct builder *b, size_t si, size_t step, int fd) {
        struct build_opts o = *b->o;
        struct err *e = NULL;
        int r;

        signal(SIGPIPE, SIG_IGN);
        o.progress = b->o->progress ? worker_progress : NULL;
        o.progress_ud = &fd;
        b->o = &o;
        if (b->step < step)
                b->step = step;
        r = bld_build_stage(b, si, &e);
        if (r < 0)
                worker_send(fd,
                            json_pack("{s:s,s:i}", "error", err_msg(e), "code", e ? e->code : -r));
        else {
                struct bstate *st = &b->done[si];
                worker_send(fd, json_pack("{s:{s:O,s:o,s:s,s:b,s:O}}", "done", "cfg", st->cfg,
                                          "layers", bld_strv_to_json(st->layers), "key", st->key,
                                          "cmd_set", st->cmd_set, "steps", st->steps));
        }
        _exit(r < 0 ? 1 : 0);
}

static int worker_start(struct builder *b, size_t si, size_t step, struct worker *w,
                        struct err **errp) {
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return err_set(errp, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                safe_close(p[0]);
                safe_close(p[1]);
                return err_set(errp, errno, "fork a stage worker");
        }
        if (pid == 0) {
                safe_close(p[0]);
                worker_main(b, si, step, p[1]);
        }
        safe_close(p[1]);
        *w = (struct worker){.pid = pid, .fd = p[0], .si = si};
        return 0;
}

/* One line from a worker. Sets *first_err on the first failure. */
static void worker_line(struct builder *b, struct worker *w, const char *line, size_t len,
                        struct err **first_err) {
        _cleanup_json_ json_t *j = json_loadb(line, len, 0, NULL);
        json_t *done;

        if (!j)
                return;
        if (json_is_string(json_object_get(j, "p"))) {
                _cleanup_free_ char *label = stage_label(b, w->si);
                bld_say(b, "[%s] %s", label, json_string_value(json_object_get(j, "p")));
                return;
        }
        done = json_object_get(j, "done");
        if (json_is_object(done)) {
                struct bstate *st = &b->done[w->si];
                st->cfg = json_incref(json_object_get(done, "cfg"));
                st->layers = bld_json_strv(json_object_get(done, "layers"));
                if (!st->layers)
                        st->layers = xnew0(char *, 1);
                st->key = xstrdup(json_get_str(done, "key", ""));
                st->cmd_set = json_get_bool(done, "cmd_set", false);
                st->steps = json_incref(json_object_get(done, "steps"));
                if (!json_is_array(st->steps)) {
                        json_decref(st->steps);
                        st->steps = json_array();
                }
                w->result = true;
                return;
        }
        if (json_object_get(j, "error")) {
                w->result = true;
                if (!*first_err)
                        err_setx(first_err, (int)json_get_int(j, "code", EIO), "%s",
                                 json_get_str(j, "error", "stage failed"));
        }
}

struct worker_ctx {
        struct builder *b;
        struct worker *w;
        struct err **first_err;
};

static void worker_line_cb(void *ud, char *line, size_t len) {
        struct worker_ctx *x = ud;

        worker_line(x->b, x->w, line, len, x->first_err);
}

/* Reads what a worker wrote; returns false at end of file. */
static bool worker_read(struct builder *b, struct worker *w, struct err **first_err) {
        char chunk[16384];
        ssize_t n = read(w->fd, chunk, sizeof(chunk));
        struct worker_ctx x = {b, w, first_err};

        if (n < 0 && errno == EINTR)
                return true;
        if (n <= 0)
                return false;
        line_buf_feed(&w->lines, chunk, (size_t)n, WORKER_LINE_MAX, worker_line_cb, &x);
        return true;
}

/* Reaps a worker whose pipe ended; a worker that died without a result is an error. */
static void worker_finish(struct builder *b, struct worker *w, struct err **first_err) {
        int status = 0;

        (void)RETRY_EINTR(waitpid(w->pid, &status, 0));
        if (!w->result && !*first_err) {
                _cleanup_free_ char *label = stage_label(b, w->si);
                err_setx(first_err, EIO, "stage '%s': the worker died (status 0x%x)", label,
                         (unsigned)status);
        }
        safe_close(w->fd);
        line_buf_done(&w->lines);
        *w = (struct worker){.fd = -EBADF};
}

int bld_run_stages(struct builder *b, const bool *need, struct err **errp) {
        size_t n = b->stages.n, running = 0, left = 0;
        _cleanup_free_ size_t *step = xnew0(size_t, n);
        _cleanup_free_ bool *started = xnew0(bool, n), *finished = xnew0(bool, n);
        _cleanup_free_ bool *deps = xnew0(bool, n *n);
        _cleanup_free_ struct worker *ws = NULL;
        struct err *first = NULL;
        unsigned jobs = b->o->jobs ? b->o->jobs : default_jobs();
        size_t acc = 0;
        int r;

        if (jobs > JOBS_MAX)
                jobs = JOBS_MAX;
        ws = xnew0(struct worker, jobs);
        for (size_t i = 0; i < jobs; i++)
                ws[i].fd = -EBADF;
        /* Step numbers: each stage's steps are numbered in file order, whatever runs first. */
        for (size_t i = 0; i < n; i++) {
                if (!need[i])
                        continue;
                step[i] = acc;
                acc += b->stages.stages[i].end_idx - b->stages.stages[i].from_idx;
                bld_stage_deps(b, i, deps + i * n);
                left++;
        }
        while (left > 0) {
                /* Start what can start. */
                size_t ready[JOBS_MAX], n_ready = 0;
                for (size_t i = 0; i < n && !first && n_ready < jobs - running; i++) {
                        bool ok = need[i] && !started[i];
                        for (size_t d = 0; ok && d < n; d++)
                                if (deps[i * n + d] && !finished[d])
                                        ok = false;
                        if (ok)
                                ready[n_ready++] = i;
                }
                if (n_ready == 1 && running == 0) {
                        /* Alone: build here, as a serial build always did. */
                        size_t si = ready[0];
                        started[si] = true;
                        if (b->step < step[si])
                                b->step = step[si];
                        r = bld_build_stage(b, si, errp);
                        if (r < 0)
                                return r;
                        finished[si] = true;
                        left--;
                        continue;
                }
                for (size_t k = 0; k < n_ready && !first; k++)
                        for (size_t s = 0; s < jobs; s++)
                                if (ws[s].pid == 0) {
                                        if (worker_start(b, ready[k], step[ready[k]], &ws[s],
                                                         &first) >= 0) {
                                                started[ready[k]] = true;
                                                running++;
                                        }
                                        break;
                                }
                if (running == 0) {
                        if (!first) /* cannot happen: a stage graph has no cycles */
                                err_setx(&first, EDEADLK, "no stage can be built");
                        break;
                }
                /* Wait for output. */
                struct pollfd pfd[JOBS_MAX];
                size_t idx[JOBS_MAX], np = 0;
                for (size_t s = 0; s < jobs; s++)
                        if (ws[s].pid > 0) {
                                pfd[np] = (struct pollfd){.fd = ws[s].fd, .events = POLLIN};
                                idx[np++] = s;
                        }
                if (RETRY_EINTR(poll(pfd, np, -1)) < 0) {
                        if (!first)
                                err_set(&first, errno, "poll");
                        break;
                }
                for (size_t k = 0; k < np; k++) {
                        struct worker *w = &ws[idx[k]];
                        if (!pfd[k].revents)
                                continue;
                        if (worker_read(b, w, &first))
                                continue;
                        size_t si = w->si;
                        bool ok = w->result && b->done[si].cfg;
                        worker_finish(b, w, &first);
                        running--;
                        if (ok) {
                                finished[si] = true;
                                left--;
                        }
                }
                if (first && running == 0)
                        break;
        }
        /* On an error the loop stops starting stages; the running ones finish first. */
        for (size_t s = 0; s < jobs; s++)
                if (ws[s].pid > 0) {
                        while (worker_read(b, &ws[s], &first))
                                ;
                        worker_finish(b, &ws[s], &first);
                }
        if (first) {
                *errp = first;
                return -first->code;
        }
        return 0;
}
