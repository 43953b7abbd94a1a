/* SPDX-License-Identifier: Apache-2.0 */
/* The layer downloads of a pull. Each layer missing from the store gets a forked worker that
 * does everything for it in one pass over the HTTP body: sha256 of the compressed bytes, the
 * blob written to a temp file, inflate, sha256 of the tar (the diff id) and extraction into a
 * stage directory. The worker reports progress and its result on a pipe; the parent only
 * watches those pipes, so the workers of the largest layers keep both cores busy without a
 * byte being copied between processes. Nothing is published until every layer passed: then
 * one syncfs makes the blobs and the unpacked layers durable, they are renamed into blobs/ and
 * layers/, and a second syncfs makes the renames durable before the image is registered (the
 * store's file system may have no journal to order them). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/errwrap.h"
#include "image/layer.h"
#include "image/registry_int.h"
#include "strv.h"
#include "xalloc.h"

#define REPORT_MAX 8192

struct worker {
        const struct descriptor *d;
        const char *diff_id, *chain_id;
        struct blob_writer *w; /* the temp file the worker fills (the parent's copy) */
        char *stage;           /* images/tmp/dir-XXXXXX: its diff/ is the worker's target */
        pid_t pid;
        int fd; /* the worker's reports */
        unsigned attempt;
        uint64_t due_ms; /* retry not before */
        enum {
                W_QUEUED,  /* not started, or waiting for its retry */
                W_RUNNING, /* downloading and unpacking */
                W_DONE,    /* verified, waiting to be published (or already in the store) */
        } state;
        char buf[REPORT_MAX]; /* report bytes not yet split into lines */
        size_t len;
        char *final; /* the last line: "OK ...", "ER ..." or "RT ..." */
};

static uint64_t mono_ms(void) {
        return now_usec() / 1000;
}

/* ---- worker side ---- */

/* The HTTP body as a stream the extractor pulls from: a read runs the transfer until the write
 * callback has queued bytes (resp.queue) or the transfer ended. */
struct body_src {
        CURLM *m;
        CURL *c;
        struct resp *r;
        bool done;
        CURLcode cc;
};

static bool body_ok(const struct body_src *b) {
        return b->cc == CURLE_OK && b->r->status >= 200 && b->r->status < 300 && !b->r->werr;
}

static int body_pump(struct body_src *b) {
        CURLMsg *msg;
        int running = 0, msgs;

        if (curl_multi_perform(b->m, &running) != CURLM_OK) {
                b->done = true;
                b->cc = CURLE_FAILED_INIT;
                return -EIO;
        }
        while ((msg = curl_multi_info_read(b->m, &msgs)))
                if (msg->msg == CURLMSG_DONE) {
                        b->done = true;
                        b->cc = msg->data.result;
                }
        if (!b->done && b->r->queue_off == b->r->queue_len)
                curl_multi_poll(b->m, NULL, 0, 1000, NULL);
        return 0;
}

static ssize_t body_read(void *userdata, void *buf, size_t n) {
        struct body_src *b = userdata;
        struct resp *r = b->r;
        size_t k;

        while (r->queue_off == r->queue_len) {
                if (b->done)
                        return body_ok(b) ? 0 : -EIO;
                if (r->paused) {
                        /* may call the write callback at once */
                        r->paused = false;
                        curl_easy_pause(b->c, CURLPAUSE_CONT);
                        continue;
                }
                if (body_pump(b) < 0)
                        return -EIO;
        }
        k = MIN(n, r->queue_len - r->queue_off);
        memcpy(buf, r->queue_buf + r->queue_off, k);
        r->queue_off += k;
        return (ssize_t)k;
}

static void report(int fd, const char *fmt, ...) _printf_(2, 3);
static void report(int fd, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                oom();
        va_end(ap);
        for (char *c = line; *c; c++)
                if (*c == '\n')
                        *c = ' ';
        (void)fd_write_full(fd, line, strlen(line));
        (void)fd_write_full(fd, "\n", 1);
}

static void worker_progress(void *userdata, const char *digest, uint64_t done, uint64_t total) {
        (void)digest;
        (void)total;
        report(*(int *)userdata, "P %" PRIu64, done);
}

/* How a transfer failed: "RT" (worth a retry) or "ER", and why. */
static void report_transfer(int fd, const struct worker *x, const struct body_src *b,
                            const char *errbuf) {
        const struct resp *r = b->r;

        if (r->werr)
                report(fd, "ER %d layer %s: %s", r->werr->code, x->d->digest, err_msg(r->werr));
        else if (b->cc != CURLE_OK)
                report(fd, "%s %d layer %s: %s", reg_curl_transient(b->cc) ? "RT" : "ER", EIO,
                       x->d->digest, *errbuf ? errbuf : curl_easy_strerror(b->cc));
        else {
                _cleanup_free_ char *m = resp_error(r);
                bool transient = r->status >= 500 || r->status == 429;
                report(fd, "%s %d layer %s: GET blob: %s", transient ? "RT" : "ER",
                       r->status == 404 ? ENOENT
                       : transient      ? EIO
                                        : EPROTO,
                       x->d->digest, m);
        }
}

/* In the forked worker: downloads x's blob into x->w and unpacks it into dfd (while it streams,
 * or after the download with no_stream), then reports on fd and exits. */
_noreturn_ static void worker_run(struct reg *g, struct worker *x, int dfd, int fd,
                                  bool no_stream) {
        _cleanup_free_ char *tail = xasprintf("blobs/%s", x->d->digest), *url = reg_url(g, tail);
        _cleanup_free_ char *diff = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        struct resp r = {.max = ERROR_BODY_MAX, .upload_fd = -EBADF};
        struct body_src b = {.r = &r};
        struct err *e = NULL;
        uint64_t size = 0;
        int k;

        r.w = x->w;
        r.queue = !no_stream;
        r.progress = worker_progress;
        r.userdata = &fd;
        r.digest = x->d->digest;
        r.total = (uint64_t)x->d->size;
        b.m = curl_multi_init();
        b.c = reg_easy_new(g, "GET", url, NULL, &r, true);
        if (!b.m)
                oom();
        curl_easy_setopt(b.c, CURLOPT_BUFFERSIZE, 256L << 10);
        curl_easy_setopt(b.c, CURLOPT_ERRORBUFFER, errbuf);
        if (curl_multi_add_handle(b.m, b.c) != CURLM_OK) {
                report(fd, "ER %d layer %s: start download", EIO, x->d->digest);
                _exit(0);
        }
        if (no_stream) {
                _cleanup_close_ int bfd = -EBADF;

                while (!b.done)
                        (void)body_pump(&b);
                if (!body_ok(&b)) {
                        report_transfer(fd, x, &b, errbuf);
                        _exit(0);
                }
                k = blob_writer_verify(x->w, &e);
                if (k >= 0) {
                        bfd = open(blob_writer_path(x->w), O_RDONLY | O_CLOEXEC);
                        if (bfd < 0)
                                k = err_set(&e, errno, "open '%s'", blob_writer_path(x->w));
                }
                if (k >= 0)
                        k = layer_unpack_fd(bfd, dfd, &diff, &size, &e);
        } else {
                k = layer_unpack_stream(body_read, &b, dfd, &diff, &size, &e);
                /* a failed transfer explains a failed unpack */
                if (b.done && !body_ok(&b)) {
                        report_transfer(fd, x, &b, errbuf);
                        _exit(0);
                }
                if (k >= 0)
                        k = blob_writer_verify(x->w, &e);
        }
        if (k < 0) {
                report(fd, "ER %d layer %s: %s", e ? e->code : -k, x->d->digest, err_msg(e));
                _exit(0);
        }
        /* The result first, so that the parent starts the next layer at once, then this
         * layer (and whatever else is dirty) to disk while the other workers still compute:
         * the parent's syncfs before publishing then has little left to wait for. An error
         * shows again there. */
        report(fd, "OK %s %" PRIu64, diff, size);
        fd = safe_close(fd);
        (void)syncfs(dfd);
        _exit(0);
}

/* ---- parent side ---- */

/* Stops x's worker and drops what it wrote: for a retry (the temp blob is truncated) or when
 * the pull fails. */
static void worker_stop(struct worker *x) {
        x->fd = safe_close(x->fd);
        if (x->pid > 0) {
                (void)kill(x->pid, SIGKILL);
                (void)waitpid(x->pid, NULL, 0);
                x->pid = 0;
        }
        if (x->stage)
                (void)rm_rf(x->stage, NULL);
        x->stage = (free(x->stage), NULL);
        x->final = (free(x->final), NULL);
        x->len = 0;
}

static int worker_start(struct reg *g, struct image_store *s, struct worker *xs, size_t n,
                        struct worker *x, bool no_stream, struct err **errp) {
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        _cleanup_close_ int dfd = -EBADF;
        pid_t pid, ppid;
        int r;

        if (!x->w) {
                r = blob_writer_open(s, x->d->digest, x->d->size, &x->w, errp);
                if (r < 0)
                        return r;
        } else {
                r = blob_writer_reset(x->w, errp);
                if (r < 0)
                        return r;
        }
        r = layer_stage_new(s, &x->stage, &dfd, errp);
        if (r < 0)
                return r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_set(errp, errno, "layer %s: worker pipe", x->d->digest);
        ppid = getpid();
        pid = fork();
        if (pid < 0)
                return err_set(errp, errno, "layer %s: fork worker", x->d->digest);
        if (pid == 0) {
                /* dies with the pull (its files are then left for the next store open) */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
                        _exit(1);
                for (size_t i = 0; i < n; i++)
                        safe_close(xs[i].fd);
                safe_close(p[0]);
                worker_run(g, x, dfd, p[1], no_stream);
        }
        x->pid = pid;
        x->fd = TAKE_FD(p[0]);
        (void)fcntl(x->fd, F_SETFL, O_NONBLOCK);
        x->state = W_RUNNING;
        return 0;
}

/* x's worker reported "OK <diff id> <size>": its layer is verified and unpacked (the worker
 * goes on syncing the file system, reaped at the end of the pull). Its slot is free. */
static int worker_ok(struct worker *x, const char *line, struct err **errp) {
        char diff[128];
        uint64_t size;
        int r;

        x->fd = safe_close(x->fd);
        if (sscanf(line + 3, "%127s %" SCNu64, diff, &size) != 2) {
                worker_stop(x);
                return err_setx(errp, EPROTO, "layer %s: bad worker report", x->d->digest);
        }
        r = layer_stage_finish(x->stage, diff, x->diff_id, size, false, errp);
        if (r < 0) {
                x->stage = (free(x->stage), NULL); /* removed */
                return err_wrap_r(r, errp, "layer %s", x->d->digest);
        }
        x->state = W_DONE;
        return 0;
}

/* One line of x's reports: progress goes to the caller's callback, "OK" ends the layer, an
 * error is kept for worker_end. */
static int worker_line(struct worker *x, const struct pull_opts *o, const char *line,
                       struct err **errp) {
        uint64_t done;

        if (sscanf(line, "P %" SCNu64, &done) == 1) {
                if (o && o->progress)
                        o->progress(o->userdata, x->d->digest, done, (uint64_t)x->d->size);
                return 0;
        }
        if (str_startswith(line, "OK "))
                return worker_ok(x, line, errp);
        free(x->final);
        x->final = xstrdup(line);
        return 0;
}

/* The worker's result, once its pipe reached EOF without "OK": queued for a retry, or an
 * error. */
static int worker_end(struct worker *x, struct reg *g, struct err **errp) {
        const char *f = x->final ? x->final : "";
        int code = EIO;

        x->fd = safe_close(x->fd);
        (void)waitpid(x->pid, NULL, 0);
        x->pid = 0;
        if ((str_startswith(f, "RT ") || str_startswith(f, "ER ")) &&
            sscanf(f + 3, "%d", &code) == 1) {
                const char *msg = strchr(f + 3, ' ');
                _cleanup_free_ char *m = xstrdup(msg ? msg + 1 : "failed");
                bool transient = f[0] == 'R';

                worker_stop(x); /* frees f */
                if (transient && x->attempt < g->retries) {
                        x->due_ms = mono_ms() + ((uint64_t)g->backoff_ms << x->attempt);
                        x->attempt++;
                        x->state = W_QUEUED;
                        return 0;
                }
                if (transient)
                        return err_setx(errp, code > 0 ? code : EIO, "%s (after %u attempts)", m,
                                        x->attempt + 1);
                return err_setx(errp, code > 0 ? code : EIO, "%s", m);
        }
        worker_stop(x);
        return err_setx(errp, EIO, "layer %s: worker died", x->d->digest);
}

/* Reads what x's worker reported; at EOF, ends it (worker_end). */
static int worker_read(struct worker *x, struct reg *g, const struct pull_opts *o,
                       struct err **errp) {
        for (;;) {
                ssize_t k = read(x->fd, x->buf + x->len, sizeof(x->buf) - 1 - x->len);
                char *nl;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return 0;
                if (k <= 0)
                        return worker_end(x, g, errp);
                x->len += (size_t)k;
                x->buf[x->len] = 0;
                while ((nl = strchr(x->buf, '\n'))) {
                        int r;

                        *nl = 0;
                        r = worker_line(x, o, x->buf, errp);
                        x->len -= (size_t)(nl + 1 - x->buf);
                        memmove(x->buf, nl + 1, x->len + 1);
                        if (r < 0)
                                return r;
                        if (x->state != W_RUNNING)
                                return 0;
                }
                if (x->len == sizeof(x->buf) - 1)
                        x->len = 0; /* a runaway line: dropped */
        }
}

/* After every worker succeeded: the data to disk, then into place, then the renames to disk
 * (the directories that received them). */
static int publish(struct image_store *s, struct worker *xs, size_t n,
                   struct blob_writer *const *extra, size_t n_extra, struct err **errp) {
        bool any = false;
        int r;

        for (size_t i = 0; i < n; i++)
                any = any || xs[i].w;
        for (size_t i = 0; i < n_extra; i++)
                any = any || extra[i];
        if (!any)
                return 0; /* everything was in the store */
        r = image_store_sync(s, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_extra; i++)
                if (extra[i]) {
                        r = blob_writer_publish_verified(extra[i], errp);
                        if (r < 0)
                                return r;
                }
        for (size_t i = 0; i < n; i++) {
                struct worker *x = &xs[i];
                if (!x->w)
                        continue;
                r = blob_writer_publish_verified(x->w, errp);
                if (r < 0)
                        return err_wrap_r(r, errp, "layer %s", x->d->digest);
                r = layer_stage_publish(s, x->stage, x->chain_id, errp);
                x->stage = (free(x->stage), NULL); /* renamed, or removed */
                if (r < 0)
                        return err_wrap_r(r, errp, "layer %s", x->d->digest);
        }
        return image_store_sync_dirs(s, errp);
}

int pull_layers(struct reg *g, struct image_store *s, const struct manifest *man,
                int (*meta)(void *ud, struct pull_meta *m, struct err **errp), void *ud,
                const struct pull_opts *o, struct err **errp) {
        size_t n = man->n_layers, running = 0;
        unsigned maxp = o && o->max_parallel ? o->max_parallel : 4;
        bool no_stream = o && o->no_stream_unpack;
        struct worker *xs = xnew0(struct worker, n + 1);
        _cleanup_free_ size_t *order = xnew0(size_t, n + 1);
        _cleanup_free_ struct pollfd *pfd = xnew0(struct pollfd, n + 1);
        _cleanup_free_ struct worker **px = xnew0(struct worker *, n + 1);
        struct pull_meta m = {};
        int k = 0;

        for (size_t i = 0; i < n; i++) {
                xs[i].d = &man->layers[i];
                xs[i].fd = -EBADF;
        }
        /* largest first (insertion sort: a handful of layers) */
        for (size_t i = 0; i < n; i++) {
                size_t j = i;
                for (; j > 0 && xs[order[j - 1]].d->size < xs[i].d->size; j--)
                        order[j] = order[j - 1];
                order[j] = i;
        }
        /* The layers whose blobs the store lacks are downloaded whatever the config says:
         * their workers start before the config is fetched. */
        for (size_t oi = 0; oi < n && running < maxp; oi++) {
                struct worker *x = &xs[order[oi]];
                if (image_store_has_blob(s, x->d->digest))
                        continue;
                k = worker_start(g, s, xs, n, x, no_stream, errp);
                if (k < 0)
                        goto out;
                running++;
        }
        k = meta(ud, &m, errp);
        if (k < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                struct worker *x = &xs[i];
                x->diff_id = m.diff_ids[i];
                x->chain_id = m.chain_ids[i];
                /* A layer whose blob is missing is downloaded even when it is unpacked in the
                 * store (registration needs the blob; the new stage is dropped at publishing). */
                if (x->state != W_QUEUED || !image_store_has_blob(s, x->d->digest))
                        continue;
                if (image_store_has_layer(s, x->chain_id))
                        x->state = W_DONE;
                else {
                        k = layer_unpack_blob(s, x->d->digest, x->diff_id, x->chain_id, NULL, errp);
                        if (k < 0)
                                goto out;
                        x->state = W_DONE;
                }
                if (o && o->progress)
                        o->progress(o->userdata, x->d->digest, (uint64_t)x->d->size,
                                    (uint64_t)x->d->size);
        }
        for (;;) {
                uint64_t now = mono_ms(), next_due = UINT64_MAX;
                bool all_done = true;
                int timeout = 1000;
                unsigned np = 0;

                for (size_t oi = 0; oi < n; oi++) {
                        struct worker *x = &xs[order[oi]];
                        if (x->state != W_DONE)
                                all_done = false;
                        if (x->state != W_QUEUED)
                                continue;
                        if (x->due_ms > now) {
                                next_due = MIN(next_due, x->due_ms);
                                continue;
                        }
                        if (running >= maxp)
                                continue;
                        k = worker_start(g, s, xs, n, x, no_stream, errp);
                        if (k < 0)
                                goto out;
                        running++;
                }
                if (all_done)
                        break;
                for (size_t i = 0; i < n; i++)
                        if (xs[i].state == W_RUNNING) {
                                pfd[np] = (struct pollfd){.fd = xs[i].fd, .events = POLLIN};
                                px[np++] = &xs[i];
                        }
                if (next_due != UINT64_MAX)
                        timeout = (int)MIN((uint64_t)timeout, next_due > now ? next_due - now : 0);
                if (poll(pfd, np, timeout) < 0 && errno != EINTR) {
                        k = err_set(errp, errno, "wait for the layer workers");
                        goto out;
                }
                for (unsigned i = 0; i < np; i++) {
                        struct worker *x = px[i];
                        if (!pfd[i].revents)
                                continue;
                        k = worker_read(x, g, o, errp);
                        if (k < 0)
                                goto out;
                        if (x->state != W_RUNNING)
                                running--;
                }
        }
        k = publish(s, xs, n, m.extra, m.n_extra, errp);
        /* the workers that reported OK are ending their syncfs: reap them (not killed) */
        for (size_t i = 0; k >= 0 && i < n; i++)
                if (xs[i].pid > 0) {
                        (void)waitpid(xs[i].pid, NULL, 0);
                        xs[i].pid = 0;
                }
out:
        for (size_t i = 0; i < n; i++) {
                worker_stop(&xs[i]);
                blob_writer_free(xs[i].w);
        }
        free(xs);
        return k;
}
