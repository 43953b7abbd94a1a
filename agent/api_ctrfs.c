/* SPDX-License-Identifier: Apache-2.0 */
/* Container file-system routes: commit, changes (diff), export, archive (cp). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
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

const struct http_route api_ctrfs_routes[] = {
        {"POST", "/v1/containers/{id}/export", h_export},
        {"POST", "/v1/containers/{id}/copy-out", h_copy_out},
        {"POST", "/v1/containers/{id}/copy-in", h_copy_in},
        {"POST", "/v1/containers/{id}/commit", h_commit},
        {"GET", "/v1/containers/{id}/changes", h_changes},
        {},
};
