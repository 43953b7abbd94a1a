/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/build (docs/build.md). The build runs in a forked helper (STYLE C11) that writes
 * docker's progress objects as newline-delimited JSON to a pipe: {"stream": "..."} lines, then
 * {"aux":{"ID":"sha256:..."}} or {"error": "...", "errorDetail": {"message": "..."}}. They are
 * streamed to the client as they come.
 *
 * Query: t (repeatable), dockerfile, buildargs (JSON object), target, nocache, pull, labels (JSON
 * object), q, cachefrom (JSON array of image names), network (default|bridge|host|none), jobs
 * (stages built at the same time, 0-8; 0: the number of CPUs). Body: the context as a tar stream
 * (any compression libarchive reads), or, with Content-Type application/json, {"context":
 * "/abs/dir"} naming a directory on the daemon's host and optionally "dockerfile_inline" (the
 * Dockerfile's text). The CLI uses the JSON form when it talks to a local daemon over the unix
 * socket. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "api_upload.h"
#include "build/builder.h"
#include "build_recover.h"
#include "build/context.h"
#include "build/netns.h"
#include "cleanup.h"
#include "fileio.h"
#include "http_request.h"
#include "image/store.h"
#include "json.h"
#include "linebuf.h"
#include "log.h"
#include "net/netmgr.h"
#include "netd.h"
#include "strv.h"
#include "xalloc.h"

#define BUILD_LINE_MAX (1u << 20)

struct build_job {
        struct daemon *d;
        struct http_req *req;
        char *net_id; /* the build's endpoint on the default bridge (NULL: none) */
        int netns_fd;
        ev_io io;
        ev_child child;
        int fd;
        struct line_buf lines;
        bool eof, reaped, ended;
};

/* Disconnects the build's network namespace from the bridge (all RUN steps are over). */
static void bjob_net_done(struct build_job *j) {
        _cleanup_err_ struct err *e = NULL;

        if (j->net_id && j->d->net &&
            netmgr_disconnect(j->d->net, NET_DEFAULT_NAME, j->net_id, &e) < 0)
                log_warn(j->net_id,
                         "Failed to disconnect build '%s' from network '%s': %s, ignoring",
                         j->net_id, NET_DEFAULT_NAME, err_msg(e));
        free(j->net_id);
        j->net_id = NULL;
        j->netns_fd = safe_close(j->netns_fd);
}

static void bjob_free(struct build_job *j) {
        bjob_net_done(j);
        safe_close(j->fd);
        line_buf_done(&j->lines);
        free(j);
}

static void emit(int fd, json_t *j) {
        _cleanup_free_ char *s = json_dump_str(j, true);
        (void)fd_write_full(fd, s, strlen(s));
        json_decref(j);
}

struct emit_ctx {
        int fd;
        bool quiet;
};

static void progress_cb(void *ud, const char *line) {
        struct emit_ctx *c = ud;
        _cleanup_free_ char *s = xasprintf("%s\n", line);

        if (c->quiet)
                return;
        emit(c->fd, json_pack("{s:s}", "stream", s));
}

/* Adds "K=V" strings from a JSON object in the query parameter key. */
static int query_kv(struct http_req *req, const char *key, char ***out, struct err **errp) {
        const char *v = http_req_query(req, key);
        _cleanup_json_ json_t *j = NULL;
        const char *k;
        json_t *x;

        if (!v || !*v)
                return 0;
        j = json_loads(v, 0, NULL);
        if (!json_is_object(j)) {
                err_setx(errp, EINVAL, "query parameter '%s' must be a JSON object", key);
                err_set_field(errp, key);
                return -EINVAL;
        }
        json_object_foreach (j, k, x) {
                if (!json_is_string(x)) {
                        err_setx(errp, EINVAL,
                                 "query parameter '%s': value of '%s' must be a string", key, k);
                        err_set_field(errp, key);
                        return -EINVAL;
                }
                strv_push_take(out, xasprintf("%s=%s", k, json_string_value(x)));
        }
        return 0;
}

/* The helper: builds and reports. Never returns. */
static _noreturn_ void build_child(struct daemon *d, json_t *args, const char *body, size_t blen,
                                   int fd) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(build_context_freep) struct build_context *ctx = NULL;
        _cleanup_strv_ char **tags = NULL, **bargs = NULL, **labels = NULL, **cache_from = NULL;
        _cleanup_free_ char *id = NULL;
        struct err *e = NULL;
        json_t *v;
        size_t i;
        int r;

        /* Its own process group (what a daemon killed mid-build leaves is killed by group at
         * the next start, build_recover), and gone with the daemon: nobody would read it. */
        (void)setpgid(0, 0);
        /* Nothing of this helper (RUN helpers fork from it) may hold the daemon's root lock
         * once the daemon is gone: the next daemon could not start. */
        d->lock_fd = safe_close(d->lock_fd);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != d->pid)
                _exit(1);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGCHLD, SIG_DFL);
        json_array_foreach (json_object_get(args, "t"), i, v)
                strv_push(&tags, json_string_value(v));
        json_array_foreach (json_object_get(args, "buildargs"), i, v)
                strv_push(&bargs, json_string_value(v));
        json_array_foreach (json_object_get(args, "labels"), i, v)
                strv_push(&labels, json_string_value(v));
        json_array_foreach (json_object_get(args, "cachefrom"), i, v)
                strv_push(&cache_from, json_string_value(v));
        struct emit_ctx ec = {.fd = fd, .quiet = json_get_bool(args, "q", false)};
        int netns_fd = (int)json_get_int(args, "netns_fd", -1);
        _cleanup_free_ char *netns =
                netns_fd >= 0 ? xasprintf("/proc/%d/fd/%d", (int)getpid(), netns_fd) : NULL;

        r = image_store_open(d->root, &s, &e);
        if (r >= 0) {
                const char *dir = json_get_str(args, "context", NULL);
                if (dir)
                        r = build_context_open_dir(dir, &ctx, &e);
                else if (json_object_get(args, "upload_fd")) {
                        /* berth-attach: the streamed context, spooled to a file */
                        _cleanup_free_ char *hex = random_hex(8);
                        _cleanup_free_ char *tmp = xasprintf("%s/build-tmp/ctx-%s", d->root, hex);
                        _cleanup_free_ char *parent = xasprintf("%s/build-tmp", d->root);

                        r = mkdir_p(parent, 0700, &e);
                        if (r >= 0)
                                r = build_context_open_tar((int)json_get_int(args, "upload_fd", -1),
                                                           tmp, &ctx, &e);
                        if (r < 0)
                                (void)rm_rf(tmp, NULL);
                } else {
                        _cleanup_free_ char *hex = random_hex(8);
                        _cleanup_free_ char *tmp = xasprintf("%s/build-tmp/ctx-%s", d->root, hex);
                        _cleanup_free_ char *parent = xasprintf("%s/build-tmp", d->root);
                        int p[2];
                        r = mkdir_p(parent, 0700, &e);
                        if (r >= 0 && pipe2(p, O_CLOEXEC) < 0)
                                r = err_set(&e, errno, "pipe");
                        else if (r >= 0) {
                                /* Feed the body through a pipe from a small writer child. */
                                pid_t w = fork();
                                if (w == 0) {
                                        safe_close(p[0]);
                                        (void)fd_write_full(p[1], body, blen);
                                        _exit(0);
                                }
                                safe_close(p[1]);
                                r = build_context_open_tar(p[0], tmp, &ctx, &e);
                                safe_close(p[0]);
                                if (w > 0)
                                        (void)waitpid(w, NULL, 0);
                                if (r < 0)
                                        (void)rm_rf(tmp, NULL);
                        }
                }
        }
        if (r >= 0) {
                struct build_opts o = {
                        .store = s,
                        .root = d->root,
                        .ctx = ctx,
                        .dockerfile = json_get_str(args, "dockerfile", NULL),
                        .dockerfile_inline = json_get_str(args, "dockerfile_inline", NULL),
                        .tags = tags,
                        .build_args = bargs,
                        .labels = labels,
                        .target = json_get_str(args, "target", NULL),
                        .no_cache = json_get_bool(args, "nocache", false),
                        .cache_from = cache_from,
                        .jobs = (unsigned)json_get_int(args, "jobs", 0),
                        .pull = json_get_bool(args, "pull", false),
                        .network_none = streq(json_get_str(args, "network", "host"), "none"),
                        .netns_path = netns,
                        .progress = progress_cb,
                        .progress_ud = &ec,
                };
                r = build_image(&o, &id, &e);
        }
        if (r < 0)
                emit(fd, json_pack("{s:s,s:{s:s,s:i}}", "error", err_msg(e), "errorDetail",
                                   "message", err_msg(e), "code", e ? e->code : -r));
        else
                emit(fd, json_pack("{s:{s:s}}", "aux", "ID", id));
        _exit(r < 0 ? 1 : 0);
}

/* The build's network namespace on the default bridge network, connected before the helper
 * forks (the network manager lives in the daemon). Without a default network (the daemon runs
 * with --bridge none) "default" means the host's network; an explicit "bridge" is an error. */
static int build_net_open(struct daemon *d, struct build_job *j, bool required, struct err **errp) {
        _cleanup_free_ char *hex = random_hex(16);
        struct netmgr *nm;
        int r;

        r = netd_get(d, &nm, errp);
        if (r < 0 || !netmgr_network_get(nm, NET_DEFAULT_NAME)) {
                if (r >= 0 && required)
                        r = err_setx(errp, ENOENT,
                                     "the daemon has no default bridge network for the build");
                if (r < 0 && !required) {
                        *errp = err_free(*errp);
                        return 0;
                }
                err_set_field(errp, "network");
                return r;
        }
        r = build_netns_new(errp);
        if (r < 0)
                return r;
        j->netns_fd = r;
        j->net_id = xasprintf("build-%s", hex);
        r = netmgr_connect(nm, NET_DEFAULT_NAME, &(struct netmgr_connect_opts){.id = j->net_id},
                           j->netns_fd, NULL, errp);
        /* recorded on disk before a RUN step can use it (build_recover.c reads the file) */
        if (r >= 0) {
                r = netmgr_flush(nm, errp);
                if (r < 0)
                        (void)netmgr_disconnect(nm, NET_DEFAULT_NAME, j->net_id, NULL);
        }
        if (r < 0) {
                free(j->net_id);
                j->net_id = NULL;
                j->netns_fd = safe_close(j->netns_fd);
                return err_wrap(errp, "connect the build to network '%s'", NET_DEFAULT_NAME);
        }
        return 0;
}

/* A progress line of the helper, forwarded with its newline. */
static void bjob_line(void *ud, char *line, size_t len) {
        struct build_job *j = ud;

        (void)http_stream_write(j->req, line, len + 1);
}

static void bjob_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct build_job *j = container_of(w, struct build_job, io);
        char chunk[16384];
        ssize_t n;

        (void)revents;
        n = read(j->fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0) {
                line_buf_feed(&j->lines, chunk, (size_t)n, BUILD_LINE_MAX, bjob_line, j);
                return;
        }
        ev_io_stop(loop, w);
        j->fd = safe_close(j->fd);
        j->eof = true;
        http_stream_end(j->req);
        j->req = NULL;
        if (j->reaped)
                bjob_free(j);
}

static void bjob_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct build_job *j = container_of(w, struct build_job, child);

        (void)revents;
        ev_child_stop(loop, w);
        build_job_forget(j->d, w->pid);
        j->reaped = true;
        bjob_net_done(j);
        if (j->eof)
                bjob_free(j);
}

static bool query_all(struct http_req *req, const char *name, char ***out) {
        char *const *pairs = http_req_query_pairs(req);
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
                if (streq(pairs[i], name) && *pairs[i + 1])
                        strv_push(out, pairs[i + 1]);
        return true;
}

static void build_start(struct http_req *req, struct daemon *d, int upload_fd) {
        _cleanup_strv_ char **tags = NULL, **bargs = NULL, **labels = NULL;
        _cleanup_json_ json_t *args = NULL;
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        const char *ct = http_req_header(req, "Content-Type");
        const char *body;
        struct build_job *job = NULL;
        struct err *e = NULL;
        bool b;
        size_t blen;
        pid_t pid;

        query_all(req, "t", &tags);
        if (query_kv(req, "buildargs", &bargs, &e) < 0 || query_kv(req, "labels", &labels, &e) < 0)
                goto fail;
        args = json_object();
        json_object_set_new(args, "t", json_array());
        STRV_FOREACH (t, tags)
                json_array_append_new(json_object_get(args, "t"), json_string(*t));
        json_object_set_new(args, "buildargs", json_array());
        STRV_FOREACH (t, bargs)
                json_array_append_new(json_object_get(args, "buildargs"), json_string(*t));
        json_object_set_new(args, "labels", json_array());
        STRV_FOREACH (t, labels)
                json_array_append_new(json_object_get(args, "labels"), json_string(*t));
        /* cachefrom: a JSON array of image references, as docker's */
        const char *cf = http_req_query(req, "cachefrom");
        if (cf && *cf) {
                json_t *a = json_loads(cf, 0, NULL);
                bool ok = json_is_array(a);
                size_t i;
                json_t *v;
                json_array_foreach (a, i, v)
                        ok = ok && json_is_string(v) && *json_string_value(v);
                if (!ok) {
                        json_decref(a);
                        err_setx(&e, EINVAL,
                                 "query parameter 'cachefrom' must be a JSON array of image "
                                 "names");
                        err_set_field(&e, "cachefrom");
                        goto fail;
                }
                json_object_set_new(args, "cachefrom", a);
        }
        static const char *const strs[] = {"dockerfile", "target", "network"};
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                const char *v = http_req_query(req, strs[i]);
                if (v && *v)
                        json_object_set_new(args, strs[i], json_string(v));
        }
        static const char *const bools[] = {"nocache", "q", "pull"};
        for (size_t i = 0; i < ELEMENTSOF(bools); i++) {
                if (http_query_get_bool(http_req_query_pairs(req), bools[i], false, &b, &e) < 0)
                        goto fail;
                json_object_set_new(args, bools[i], json_boolean(b));
        }
        unsigned long long jobs = 0;
        if (http_query_get_uint(http_req_query_pairs(req), "jobs", 0, 8, &jobs, &e) < 0)
                goto fail;
        json_object_set_new(args, "jobs", json_integer((json_int_t)jobs));
        const char *net = json_get_str(args, "network", "default");
        if (!streq(net, "host") && !streq(net, "none") && !streq(net, "default") &&
            !streq(net, "bridge")) {
                err_setx(&e, EINVAL,
                         "network '%s' is not supported for builds (default, bridge, host, none)",
                         net);
                err_set_field(&e, "network");
                goto fail;
        }

        body = http_req_body(req, &blen);
        if (ct && str_startswith(ct, "application/json")) {
                _cleanup_json_ json_t *jb = NULL;
                if (http_req_json(req, &jb, &e) < 0)
                        goto fail;
                const char *dir = json_get_str(jb, "context", NULL);
                if (!dir || dir[0] != '/') {
                        err_setx(&e, EINVAL, "'context' must be an absolute directory path");
                        err_set_field(&e, "context");
                        goto fail;
                }
                struct stat st;
                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        err_setx(&e, ENOENT, "build context '%s' is not a directory", dir);
                        err_set_field(&e, "context");
                        goto fail;
                }
                json_object_set_new(args, "context", json_string(dir));
                json_t *inl = json_object_get(jb, "dockerfile_inline");
                if (inl && !json_is_string(inl)) {
                        err_setx(&e, EINVAL, "'dockerfile_inline' must be a string");
                        err_set_field(&e, "dockerfile_inline");
                        goto fail;
                }
                if (inl)
                        json_object_set(args, "dockerfile_inline", inl);
        } else if (blen == 0 && upload_fd < 0) {
                err_setx(&e, EINVAL, "the body must hold the build context (a tar stream)");
                goto fail;
        }
        if (upload_fd >= 0) /* the child inherits it */
                json_object_set_new(args, "upload_fd", json_integer(upload_fd));

        job = xnew0(struct build_job, 1);
        job->d = d;
        job->netns_fd = -EBADF;
        job->fd = -EBADF;
        if (streq(net, "default") || streq(net, "bridge")) {
                if (build_net_open(d, job, streq(net, "bridge"), &e) < 0)
                        goto fail;
                if (job->netns_fd >= 0)
                        json_object_set_new(args, "netns_fd", json_integer(job->netns_fd));
        }
        if (pipe2(p, O_CLOEXEC) < 0) {
                err_set(&e, errno, "pipe");
                goto fail;
        }
        pid = fork();
        if (pid < 0) {
                err_set(&e, errno, "fork");
                goto fail;
        }
        if (pid == 0) {
                p[0] = safe_close(p[0]);
                build_child(d, args, body, blen, p[1]);
        }
        (void)setpgid(pid, pid); /* as the child does: whichever runs first */
        build_job_record(d, pid, job->net_id);
        /* The child holds its own copy of the namespace fd for its RUN steps. */
        job->netns_fd = safe_close(job->netns_fd);
        job->req = req;
        job->fd = TAKE_FD(p[0]);
        (void)fcntl(job->fd, F_SETFL, O_NONBLOCK);
        ev_io_init(&job->io, bjob_io_cb, job->fd, EV_READ);
        ev_io_start(d->loop, &job->io);
        ev_child_init(&job->child, bjob_child_cb, pid, 0);
        ev_child_start(d->loop, &job->child);
        http_stream_begin(req, 200, "application/x-ndjson");
        return;
fail:
        if (job)
                bjob_free(job);
        http_reply_err(req, e);
        err_free(e);
}

/* berth-attach: the context is streamed (spooled to an unlinked file, no size limit); a JSON
 * body naming a directory on the daemon's host is read whole as before. */
static void build_json(struct http_req *req, void *ud) {
        build_start(req, ud, -EBADF);
}

static void build_uploaded(struct http_req *req, int fd, void *ud) {
        build_start(req, ud, fd);
        safe_close(fd);
}

static void h_build(struct http_req *req, void *userdata) {
        struct daemon *d = userdata;
        const char *ct = http_req_header(req, "Content-Type");
        _cleanup_free_ char *dir = xasprintf("%s/tmp", d->root);
        struct err *e = NULL;

        if (ct && str_startswith(ct, "application/json")) {
                http_req_body_buffer(req, 1024 * 1024, build_json, d);
                return;
        }
        if (api_upload_spool(req, dir, build_uploaded, d, &e) < 0) {
                http_reply_err(req, e);
                err_free(e);
        }
}

const struct http_route api_build_routes[] = {
        {"POST", "/v1/build", h_build, HTTP_ROUTE_STREAM_BODY, 0},
        {},
};
