/* SPDX-License-Identifier: Apache-2.0 */
/* Container file-system routes: commit, changes (diff), export, archive (cp). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "api.h"
#include "api_job.h"
#include "api_upload.h"
#include "cleanup.h"
#include "containers.h"
#include "ctr_fs.h"
#include "ctr_internal.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

static struct ctr *find(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c;

        if (ctr_lookup(d->ctrs, http_req_param(req, "id"), &c, &e) < 0) {
                http_reply_err(req, e);
                return NULL;
        }
        return c;
}

/* POST /v1/containers/{id}/commit {"Repo":"name:tag","Author","Comment","Changes":[],"Pause"} */
static void h_commit(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *body = NULL, *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_strv_ char **changes = NULL;
        _cleanup_free_ char *id = NULL;
        struct ctr_commit_opts o = {.pause = true};
        struct ctr *c = find(req, ud);
        json_t *v, *x;
        size_t i, blen = 0;

        if (!c)
                return;

        (void)http_req_body(req, &blen);
        if (blen > 0 && http_req_json(req, &body, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        if (body && !json_is_object(body)) {
                http_reply_error(req, 400, "invalid", "the body must be a JSON object");
                return;
        }
        v = json_object_get(body, "Changes");
        if (v && !json_is_array(v)) {
                http_reply_error(req, 400, "invalid", "Changes: expected an array of strings");
                return;
        }
        json_array_foreach (v, i, x) {
                if (!json_is_string(x)) {
                        http_reply_error(req, 400, "invalid", "Changes[%zu]: expected a string", i);
                        return;
                }
        }
        json_array_foreach (json_object_get(body, "Changes"), i, v)
                strv_push(&changes, json_string_value(v));
        o.ref = json_get_str(body, "Repo", NULL);
        o.author = json_get_str(body, "Author", NULL);
        o.comment = json_get_str(body, "Comment", NULL);
        o.pause = json_get_bool(body, "Pause", true);
        o.changes = changes;
        if (ctr_commit(c, &o, &id, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        log_info(c->id, "Container committed as image %s", id);
        ans = json_pack("{s:s}", "Id", id);
        http_reply_json(req, 201, ans);
}

static void h_changes(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *out = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);

        if (!c)
                return;
        if (ctr_changes(c, &out, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply_json(req, 200, out);
}

/* Parses a JSON object body; answers 400 and returns false otherwise. */
static bool body_obj(struct http_req *req, json_t **ret) {
        _cleanup_err_ struct err *e = NULL;

        if (http_req_json(req, ret, &e) < 0) {
                http_reply_err(req, e);
                return false;
        }
        if (!json_is_object(*ret)) {
                http_reply_error(req, 400, "invalid", "the body must be a JSON object");
                return false;
        }
        return true;
}

/* POST /v1/containers/{id}/export {"Path": absolute path on the daemon's host} */
static void h_export(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);

        if (!c || !body_obj(req, &body))
                return;
        if (ctr_export(c, json_get_str(body, "Path", ""), &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 204, NULL, "", 0);
}

/* POST /v1/containers/{id}/copy-out and copy-in:
 * {"Src","Dest","FollowLink":bool,"Archive":bool}; the host side is an absolute path. */
static void copy(struct http_req *req, void *ud, bool in) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);
        struct ctr_cp_opts o;
        const char *src, *dest;
        int r;

        if (!c || !body_obj(req, &body))
                return;
        src = json_get_str(body, "Src", "");
        dest = json_get_str(body, "Dest", "");
        o = (struct ctr_cp_opts){.follow = json_get_bool(body, "FollowLink", false),
                                 .archive = json_get_bool(body, "Archive", false)};
        r = in ? ctr_copy_in(c, src, dest, &o, &e) : ctr_copy_out(c, src, dest, &o, &e);
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 204, NULL, "", 0);
}

static void h_copy_out(struct http_req *req, void *ud) {
        copy(req, ud, false);
}

static void h_copy_in(struct http_req *req, void *ud) {
        copy(req, ud, true);
}

/* ---- docker's archive routes (agent/ctr_archive.c) ---- */

/* GET: the tar is made into an unlinked file first (the container is read once, quickly), then
 * pumped to the client under backpressure. */
struct pump {
        struct http_req *req;
        int fd;
};

static void pump_free(struct pump *p, bool end) {
        http_req_on_close(p->req, NULL, NULL);
        if (end)
                http_upgraded_end(p->req);
        safe_close(p->fd);
        free(p);
}

static void pump_run(struct http_req *req, void *ud) {
        struct pump *p = ud;
        char buf[256 * 1024];

        while (http_upgraded_pending(req) < 4u * 1024u * 1024u) {
                ssize_t n = read(p->fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || http_upgraded_write(req, buf, (size_t)n) < 0) {
                        pump_free(p, true);
                        return;
                }
        }
        /* on_drain calls again */
}

static void pump_data(struct http_req *req, const char *data, size_t len, void *ud) {
        (void)req;
        (void)data;
        (void)len;
        (void)ud; /* the client has nothing to say */
}

static void pump_closed(struct http_req *req, void *ud) {
        (void)req;
        pump_free(ud, false);
}

static const struct http_upgrade_ops pump_ops = {.on_data = pump_data, .on_drain = pump_run};

/* The archive routes' work runs in a forked job (api_job.c) so that a big tree never blocks the
 * loop. The child works in a mount namespace of its own: a stopped container's root file system
 * it mounts for the copy is neither seen nor unmounted by the daemon, whatever the daemon does
 * with the container meanwhile. */
static int fs_job_enter(struct daemon *d, json_t *args, struct ctr **ret, struct err **errp) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return err_set(errp, errno, "a private mount namespace for the copy");
        return ctr_lookup(d->ctrs, json_get_str(args, "id", ""), ret, errp);
}

static int archive_get_run(struct daemon *d, json_t *args, int out_fd, json_t **ret,
                           struct err **errp) {
        _cleanup_free_ char *stat = NULL;
        struct ctr *c;
        int r;

        (void)out_fd;
        r = fs_job_enter(d, args, &c, errp);
        if (r < 0)
                return r;
        r = ctr_archive_get(c, json_get_str(args, "path", ""), (int)json_get_int(args, "fd", -1),
                            &stat, errp);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s}", "stat", stat);
        return 0;
}

struct get_job {
        int fd; /* the tar, written by the child; -EBADF for HEAD */
        bool head;
};

static void archive_get_done(struct http_req *req, json_t *last, void *ud) {
        struct get_job *j = ud;
        _cleanup_close_ int fd = j->fd;
        json_t *res = json_object_get(last, "result");
        bool head = j->head;
        struct pump *p;

        free(j);
        if (!json_is_object(res))
                return api_job_reply(req, last);
        http_req_add_header(req, "X-Docker-Container-Path-Stat", json_get_str(res, "stat", ""));
        if (head)
                return http_reply(req, 200, "application/x-tar", "", 0);
        /* the child wrote through the same open file: rewind it */
        if (lseek(fd, 0, SEEK_SET) < 0)
                return http_reply_error(req, 500, "internal", "rewind: %s", strerror(errno));
        p = xnew0(struct pump, 1);
        p->req = req;
        p->fd = TAKE_FD(fd);
        http_req_on_close(req, pump_closed, p);
        /* Without "Connection: Upgrade": 200, Connection: close and the tar until EOF. */
        http_req_upgrade(req, "application/x-tar", &pump_ops, p);
        pump_run(req, p);
}

static void archive_get(struct http_req *req, void *ud, bool head) {
        struct daemon *d = ud;
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", d->root);
        _cleanup_close_ int fd = -EBADF;
        struct ctr *c = find(req, ud);
        struct get_job *j;
        const char *path;

        if (!c)
                return;
        path = http_req_query(req, "path");
        if (!path || !path[0]) {
                http_reply_error(req, 400, "invalid", "path: a container path is required");
                return;
        }
        if (!head) {
                (void)mkdir(tmp, 0700);
                fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                if (fd < 0) {
                        http_reply_error(req, 500, "internal", "create a file in '%s': %s", tmp,
                                         strerror(errno));
                        return;
                }
        }
        j = xnew0(struct get_job, 1);
        j->head = head;
        j->fd = fd;
        /* the child inherits fd (its number is in the args); ours stays for the pump */
        api_job_start(d, req, archive_get_run,
                      json_pack("{s:s,s:s,s:i}", "id", c->id, "path", path, "fd", head ? -1 : fd),
                      false, archive_get_done, j);
        fd = -EBADF; /* j->fd owns it now */
}

/* GET /v1/containers/{id}/archive?path=P: a tar of P (its name as the top entry) */
static void h_archive_get(struct http_req *req, void *ud) {
        archive_get(req, ud, false);
}

/* HEAD /v1/containers/{id}/archive?path=P: X-Docker-Container-Path-Stat only */
static void h_archive_head(struct http_req *req, void *ud) {
        archive_get(req, ud, true);
}

static int archive_put_run(struct daemon *d, json_t *args, int out_fd, json_t **ret,
                           struct err **errp) {
        struct ctr_archive_put_opts o = {
                .copy_uid_gid = json_get_bool(args, "copyUIDGID", false),
                .no_overwrite_dir_non_dir = json_get_bool(args, "noOverwriteDirNonDir", false),
                .cp = json_get_bool(args, "cp", false),
                .src_dir = json_get_bool(args, "srcDir", false),
                .name = json_get_str(args, "name", NULL),
        };
        struct ctr *c;
        int r;

        (void)out_fd;
        (void)ret;
        r = fs_job_enter(d, args, &c, errp);
        if (r < 0)
                return r;
        ctr_root_ids(c, &o.root_uid, &o.root_gid);
        return ctr_archive_put(c, json_get_str(args, "path", ""), (int)json_get_int(args, "fd", -1),
                               &o, errp);
}

static void archive_put_done(struct http_req *req, json_t *last, void *ud) {
        (void)ud;
        if (!json_is_object(json_object_get(last, "result")))
                return api_job_reply(req, last);
        http_reply(req, 200, NULL, "", 0);
}

static void put_done(struct http_req *req, int fd, void *ud) {
        struct daemon *d = ud;
        _cleanup_close_ int body = fd;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *args = NULL;
        char *const *q = http_req_query_pairs(req);
        bool copy = false, nodir = false, cp = false, src_dir = false;

        if (http_query_get_bool(q, "copyUIDGID", false, &copy, &e) < 0 ||
            http_query_get_bool(q, "noOverwriteDirNonDir", false, &nodir, &e) < 0 ||
            http_query_get_bool(q, "cp", false, &cp, &e) < 0 ||
            http_query_get_bool(q, "srcDir", false, &src_dir, &e) < 0)
                return http_reply_err(req, e);
        args = json_pack("{s:s,s:s,s:i,s:b,s:b,s:b,s:b}", "id", http_req_param(req, "id"), "path",
                         http_req_query(req, "path"), "fd", body, "copyUIDGID", copy,
                         "noOverwriteDirNonDir", nodir, "cp", cp, "srcDir", src_dir);
        if (http_req_query(req, "name"))
                json_object_set_new(args, "name", json_string(http_req_query(req, "name")));
        /* the child inherits the spooled body; ours goes once it is forked */
        api_job_start(d, req, archive_put_run, TAKE_PTR(args), false, archive_put_done, NULL);
}

/* PUT /v1/containers/{id}/archive?path=DIR[&copyUIDGID=1][&noOverwriteDirNonDir=1]: the body is
 * a tar (streamed, any size), extracted into DIR. berth cp adds cp=1&name=N&srcDir=0|1: path is
 * then the cp destination with docker's rules. */
static void h_archive_put(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", d->root);
        struct err *e = NULL;
        struct ctr *c = find(req, ud);
        const char *path;

        if (!c)
                return;
        path = http_req_query(req, "path");
        if (!path || path[0] != '/') {
                http_reply_error(req, 400, "invalid",
                                 "path: an absolute container path is required, got '%s'",
                                 path ?: "");
                return;
        }
        if (api_upload_spool(req, tmp, put_done, d, &e) < 0) {
                http_reply_err(req, e);
                err_free(e);
        }
}

const struct http_route api_ctrfs_routes[] = {
        {"GET", "/v1/containers/{id}/archive", h_archive_get},
        {"HEAD", "/v1/containers/{id}/archive", h_archive_head},
        {"PUT", "/v1/containers/{id}/archive", h_archive_put, HTTP_ROUTE_STREAM_BODY, 0},
        {"POST", "/v1/containers/{id}/export", h_export},
        {"POST", "/v1/containers/{id}/copy-out", h_copy_out},
        {"POST", "/v1/containers/{id}/copy-in", h_copy_in},
        {"POST", "/v1/containers/{id}/commit", h_commit},
        {"GET", "/v1/containers/{id}/changes", h_changes},
        {},
};
