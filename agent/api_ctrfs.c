/* SPDX-License-Identifier: Apache-2.0 */
/* Container file-system routes: commit, changes (diff), export, archive (cp). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
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

static void archive_get(struct http_req *req, void *ud, bool head) {
        struct daemon *d = ud;
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", d->root), *stat = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct ctr *c = find(req, ud);
        const char *path;
        struct pump *p;

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
        if (ctr_archive_get(c, path, fd, &stat, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_req_add_header(req, "X-Docker-Container-Path-Stat", stat);
        if (head) {
                http_reply(req, 200, "application/x-tar", "", 0);
                return;
        }
        if (lseek(fd, 0, SEEK_SET) < 0) {
                http_reply_error(req, 500, "internal", "rewind: %s", strerror(errno));
                return;
        }
        p = xnew0(struct pump, 1);
        p->req = req;
        p->fd = TAKE_FD(fd);
        http_req_on_close(req, pump_closed, p);
        /* Without "Connection: Upgrade": 200, Connection: close and the tar until EOF. */
        http_req_upgrade(req, "application/x-tar", &pump_ops, p);
        pump_run(req, p);
}

/* GET /v1/containers/{id}/archive?path=P: a tar of P (its name as the top entry) */
static void h_archive_get(struct http_req *req, void *ud) {
        archive_get(req, ud, false);
}

/* HEAD /v1/containers/{id}/archive?path=P: X-Docker-Container-Path-Stat only */
static void h_archive_head(struct http_req *req, void *ud) {
        archive_get(req, ud, true);
}

struct put_job {
        struct daemon *d;
        char *id;
};

static void put_done(struct http_req *req, int fd, void *ud) {
        struct put_job *j = ud;
        struct daemon *d = j->d;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *id = j->id;
        struct ctr_archive_put_opts o = {};
        char *const *q = http_req_query_pairs(req);
        struct ctr *c;
        int r;

        free(j);
        r = ctr_lookup(d->ctrs, id, &c, &e);
        if (r >= 0 && (http_query_get_bool(q, "copyUIDGID", false, &o.copy_uid_gid, &e) < 0 ||
                       http_query_get_bool(q, "noOverwriteDirNonDir", false,
                                           &o.no_overwrite_dir_non_dir, &e) < 0 ||
                       http_query_get_bool(q, "cp", false, &o.cp, &e) < 0 ||
                       http_query_get_bool(q, "srcDir", false, &o.src_dir, &e) < 0))
                r = -EINVAL;
        if (r >= 0) {
                o.name = http_req_query(req, "name");
                ctr_root_ids(c, &o.root_uid, &o.root_gid);
                r = ctr_archive_put(c, http_req_query(req, "path"), fd, &o, &e);
        }
        safe_close(fd);
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 200, NULL, "", 0);
}

/* PUT /v1/containers/{id}/archive?path=DIR[&copyUIDGID=1][&noOverwriteDirNonDir=1]: the body is
 * a tar (streamed, any size), extracted into DIR. berth cp adds cp=1&name=N&srcDir=0|1: path is
 * then the cp destination with docker's rules. */
static void h_archive_put(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", d->root);
        struct err *e = NULL;
        struct put_job *j;
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
        j = xnew0(struct put_job, 1);
        j->d = d;
        j->id = xstrdup(c->id);
        if (api_upload_spool(req, tmp, put_done, j, &e) < 0) {
                free(j->id);
                free(j);
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
