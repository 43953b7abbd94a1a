/* SPDX-License-Identifier: Apache-2.0 */
/* Push: blobs the registry lacks (HEAD), uploaded in parallel by forked workers, then the
 * manifest. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/errwrap.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"
#include "image/registry_int.h"
#include "macro.h"
#include "strv.h"
#include "xalloc.h"

/* Location headers may be relative to the registry. */
static char *abs_location(const struct reg *g, const char *loc) {
        if (str_startswith(loc, "http://") || str_startswith(loc, "https://"))
                return xstrdup(loc);
        return xasprintf("%s%s%s", g->base, loc[0] == '/' ? "" : "/", loc);
}

static char *append_query(const char *url, const char *q) {
        return xasprintf("%s%s%s", url, strchr(url, '?') ? "&" : "?", q);
}

static int push_blob(struct reg *g, struct image_store *s, const char *digest,
                     const struct push_opts *o, struct err **errp) {
        _cleanup_free_ char *tail = xasprintf("blobs/%s", digest), *path = NULL, *loc = NULL;
        _cleanup_free_ char *put = NULL, *q = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct resp r = {.upload_fd = -EBADF};
        struct stat st;
        int k;

        k = reg_do(g, "HEAD", tail, NULL, NULL, -EBADF, 0, &r, errp);
        if (k < 0)
                goto out;
        path = image_store_blob_path(s, digest);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0) {
                k = err_set(errp, errno, "open blob %s", digest);
                goto out;
        }
        if (r.status == 200) {
                if (o && o->progress)
                        o->progress(o->userdata, digest, (uint64_t)st.st_size,
                                    (uint64_t)st.st_size);
                k = 0;
                goto out;
        }
        if (o && o->mount_from) {
                _cleanup_free_ char *mt =
                        xasprintf("blobs/uploads/?mount=%s&from=%s", digest, o->mount_from);
                k = reg_do(g, "POST", mt, NULL, NULL, -EBADF, 0, &r, errp);
                if (k < 0)
                        goto out;
                if (r.status == 201) {
                        if (o->progress)
                                o->progress(o->userdata, digest, (uint64_t)st.st_size,
                                            (uint64_t)st.st_size);
                        goto out;
                }
        } else {
                k = reg_do(g, "POST", "blobs/uploads/", NULL, NULL, -EBADF, 0, &r, errp);
                if (k < 0)
                        goto out;
        }
        if (r.status != 202 || !r.location) {
                _cleanup_free_ char *m = resp_error(&r);
                k = err_setx(errp, EPROTO, "start upload of %s: %s", digest, m);
                goto out;
        }
        loc = abs_location(g, r.location);

        if (o && o->chunk_size > 0 && (uint64_t)st.st_size > o->chunk_size) {
                uint64_t off = 0;
                while (off < (uint64_t)st.st_size) {
                        uint64_t len = MIN(o->chunk_size, (uint64_t)st.st_size - off);
                        _cleanup_free_ char *range = NULL;

                        range = xasprintf("Content-Range: %" PRIu64 "-%" PRIu64, off,
                                          off + len - 1);
                        k = reg_do_full(g, "PATCH", loc, NULL, "application/octet-stream", range,
                                        fd, off, len, &r, errp);
                        if (k < 0)
                                goto out;
                        if (r.status != 202 || !r.location) {
                                _cleanup_free_ char *m = resp_error(&r);
                                k = err_setx(errp, EPROTO, "upload chunk of %s: %s", digest, m);
                                goto out;
                        }
                        free(loc);
                        loc = abs_location(g, r.location);
                        off += len;
                        if (o->progress)
                                o->progress(o->userdata, digest, off, (uint64_t)st.st_size);
                }
                q = xasprintf("digest=%s", digest);
                put = append_query(loc, q);
                k = reg_do(g, "PUT", put, NULL, "application/octet-stream", fd, 0, &r, errp);
        } else {
                q = xasprintf("digest=%s", digest);
                put = append_query(loc, q);
                k = reg_do(g, "PUT", put, NULL, "application/octet-stream", fd,
                           (uint64_t)st.st_size, &r, errp);
                if (k >= 0 && o && o->progress)
                        o->progress(o->userdata, digest, (uint64_t)st.st_size,
                                    (uint64_t)st.st_size);
        }
        if (k < 0)
                goto out;
        if (r.status != 201) {
                _cleanup_free_ char *m = resp_error(&r);
                k = err_setx(errp, EPROTO, "upload %s: %s", digest, m);
        }
out:
        resp_reset(&r);
        return k;
}

/* ---- parallel layer uploads ---- */

struct worker {
        pid_t pid;
        int fd; /* reports: "P <digest> <done> <total>\n", "E <errno> <message>\n" */
        uint64_t bytes;
        char buf[1024];
        size_t len;
};

static void report_progress(void *ud, const char *digest, uint64_t done, uint64_t total) {
        int fd = *(int *)ud;
        char line[256];
        int n = snprintf(line, sizeof(line), "P %s %" PRIu64 " %" PRIu64 "\n", digest, done, total);

        if (n > 0 && (size_t)n < sizeof(line))
                (void)fd_write_full(fd, line, (size_t)n);
}

/* A worker: pushes the layers assigned to it, reports on fd, never returns. */
_noreturn_ static void worker_run(struct reg *g, struct image_store *s, const struct manifest *man,
                                  const unsigned *assign, unsigned me, int fd,
                                  const struct push_opts *o) {
        struct push_opts wo = o ? *o : (struct push_opts){};

        /* the parent's handle and its connection stay the parent's (never cleaned up here: a
         * TLS close would write into the parent's session) */
        g->easy = NULL;

        wo.progress = report_progress;
        wo.userdata = &fd;
        for (size_t i = 0; i < man->n_layers; i++) {
                struct err *e = NULL;
                _cleanup_free_ char *line = NULL;
                int k;

                if (assign[i] != me)
                        continue;
                k = push_blob(g, s, man->layers[i].digest, &wo, &e);
                if (k >= 0)
                        continue;
                line = xasprintf("E %d layer %s: %s", e ? e->code : -k, man->layers[i].digest,
                                 err_msg(e));
                for (char *c = line; *c; c++)
                        if (*c == '\n')
                                *c = ' ';
                (void)fd_write_full(fd, line, strlen(line));
                (void)fd_write_full(fd, "\n", 1);
                _exit(1);
        }
        _exit(0);
}

/* Handles the complete lines in w->buf; returns the first error report (or 0). */
static int worker_lines(struct worker *w, const struct push_opts *o, struct err **errp) {
        char *nl;
        int r = 0;

        while ((nl = memchr(w->buf, '\n', w->len))) {
                char digest[160];
                uint64_t done, total;
                int code;

                *nl = 0;
                if (w->buf[0] == 'P' &&
                    sscanf(w->buf, "P %159s %" SCNu64 " %" SCNu64, digest, &done, &total) == 3) {
                        if (o && o->progress)
                                o->progress(o->userdata, digest, done, total);
                } else if (w->buf[0] == 'E' && sscanf(w->buf, "E %d", &code) == 1 && r == 0) {
                        const char *msg = strchr(w->buf + 2, ' ');
                        r = err_setx(errp, code > 0 ? code : EIO, "%s",
                                     msg ? msg + 1 : "upload failed");
                }
                w->len -= (size_t)(nl + 1 - w->buf);
                memmove(w->buf, nl + 1, w->len);
        }
        if (w->len == sizeof(w->buf)) /* a line longer than any report: drop it */
                w->len = 0;
        return r;
}

/* Uploads the layers with up to max_parallel forked workers (each gets the largest remaining
 * layer while it has the fewest bytes), then waits for all of them. A failure stops the
 * others. */
static int push_layers(struct reg *g, struct image_store *s, const struct manifest *man,
                       const struct push_opts *o, struct err **errp) {
        size_t n = man->n_layers;
        unsigned nw = o && o->max_parallel ? o->max_parallel : 4;
        _cleanup_free_ unsigned *assign = NULL;
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ struct worker *ws = NULL;
        int r = 0;

        if (n == 0)
                return 0;
        if (nw > n)
                nw = (unsigned)n;
        if (nw <= 1) {
                for (size_t i = 0; i < n; i++) {
                        r = push_blob(g, s, man->layers[i].digest, o, errp);
                        if (r < 0)
                                return err_wrap_r(r, errp, "layer %s", man->layers[i].digest);
                }
                return 0;
        }
        assign = xnew0(unsigned, n);
        order = xnew0(size_t, n);
        ws = xnew0(struct worker, nw);
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        /* largest first (insertion sort: a handful of layers) */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i;
                     j > 0 && man->layers[order[j]].size > man->layers[order[j - 1]].size; j--) {
                        size_t t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        for (size_t i = 0; i < n; i++) {
                unsigned best = 0;
                for (unsigned w = 1; w < nw; w++)
                        if (ws[w].bytes < ws[best].bytes)
                                best = w;
                assign[order[i]] = best;
                ws[best].bytes += (uint64_t)man->layers[order[i]].size;
        }
        for (unsigned w = 0; w < nw; w++)
                ws[w].fd = -EBADF;
        for (unsigned w = 0; w < nw && r >= 0; w++) {
                pid_t ppid = getpid();
                int p[2];

                if (pipe2(p, O_CLOEXEC) < 0) {
                        r = err_set(errp, errno, "push: pipe");
                        break;
                }
                ws[w].pid = fork();
                if (ws[w].pid < 0) {
                        r = err_set(errp, errno, "push: fork upload worker");
                        safe_close(p[0]);
                        safe_close(p[1]);
                        break;
                }
                if (ws[w].pid == 0) {
                        /* dies with the push */
                        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
                                _exit(1);
                        safe_close(p[0]);
                        worker_run(g, s, man, assign, w, p[1], o);
                }
                safe_close(p[1]);
                ws[w].fd = p[0];
        }
        /* read reports until every worker closed its pipe */
        for (;;) {
                struct pollfd pfd[64];
                unsigned map[64], np = 0;

                for (unsigned w = 0; w < nw && np < ELEMENTSOF(pfd); w++)
                        if (ws[w].fd >= 0) {
                                pfd[np] = (struct pollfd){.fd = ws[w].fd, .events = POLLIN};
                                map[np++] = w;
                        }
                if (np == 0)
                        break;
                if (poll(pfd, np, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        if (r >= 0)
                                r = err_set(errp, errno, "push: poll");
                        break;
                }
                for (unsigned i = 0; i < np; i++) {
                        struct worker *w = &ws[map[i]];
                        ssize_t k;

                        if (!pfd[i].revents)
                                continue;
                        k = read(w->fd, w->buf + w->len, sizeof(w->buf) - w->len);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                w->fd = safe_close(w->fd);
                                continue;
                        }
                        w->len += (size_t)k;
                        if (r >= 0) {
                                r = worker_lines(w, o, errp);
                                if (r < 0) /* stop the others */
                                        for (unsigned v = 0; v < nw; v++)
                                                if (ws[v].pid > 0 && v != map[i])
                                                        (void)kill(ws[v].pid, SIGKILL);
                        } else
                                w->len = 0;
                }
        }
        for (unsigned w = 0; w < nw; w++) {
                int status = 0;

                safe_close(ws[w].fd);
                if (ws[w].pid <= 0)
                        continue;
                if (r < 0)
                        (void)kill(ws[w].pid, SIGKILL);
                if (waitpid(ws[w].pid, &status, 0) > 0 && r >= 0 &&
                    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                        r = err_setx(errp, EIO, "push: upload worker died");
        }
        return r;
}

int image_push(struct image_store *s, const char *name, const char *dest, const struct push_opts *o,
               struct err **errp) {
        _cleanup_(ref_freep) struct image_ref *ref = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_(manifest_freep) struct manifest *man = NULL;
        _cleanup_free_ char *root = NULL, *body = NULL, *tail = NULL, *mpath = NULL;
        _cleanup_close_ int mfd = -EBADF;
        struct resp r = {.upload_fd = -EBADF};
        size_t len;
        struct reg g;
        int k;

        k = image_store_get(s, name, &img, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "push '%s'", name);
        k = ref_parse(dest ? dest : name, &ref, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "push '%s'", name);
        if (!ref->tag)
                return err_setx(errp, EINVAL, "push '%s': destination needs a tag", name);
        k = image_store_read_blob(s, img->manifest_digest, BLOB_MANIFEST_MAX, &body, &len, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "push '%s'", name);
        k = manifest_parse(body, len, NULL, &man, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "push '%s'", name);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return err_setx(errp, ENOMEM, "push '%s': initialise libcurl", name);
        root = store_root(s);
        reg_init(&g, root, ref, o ? o->insecure : NULL, o ? o->certs_dir : NULL, "pull,push",
                 o ? o->retries : 0, o ? o->backoff_ms : 0);
        /* The config first, alone: it settles TLS or plain HTTP and the token, which the
         * layer workers inherit. */
        k = push_blob(&g, s, man->config.digest, o, errp);
        if (k < 0)
                k = err_wrap_r(k, errp, "config %s", man->config.digest);
        if (k >= 0)
                k = push_layers(&g, s, man, o, errp);
        if (k >= 0) {
                mpath = image_store_blob_path(s, img->manifest_digest);
                mfd = open(mpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (mfd < 0)
                        k = err_set(errp, errno, "open manifest %s", img->manifest_digest);
        }
        if (k >= 0) {
                tail = xasprintf("manifests/%s", ref->tag);
                k = reg_do(&g, "PUT", tail, NULL, man->media_type, mfd, len, &r, errp);
                if (k >= 0 && r.status != 201) {
                        _cleanup_free_ char *m = resp_error(&r);
                        k = err_setx(errp, EPROTO, "put manifest: %s", m);
                }
        }
        resp_reset(&r);
        reg_free(&g);
        curl_global_cleanup();
        if (k < 0)
                return err_wrap_r(k, errp, "push '%s'", name);
        return 0;
}
