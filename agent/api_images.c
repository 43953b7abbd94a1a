/* SPDX-License-Identifier: Apache-2.0 */
/* Image routes. Quick local operations (list, inspect, history, tag, remove, logout) answer at
 * once; pull, push, load, import, save and login run in a forked helper (STYLE C11) that reports
 * newline-delimited JSON over a pipe: progress lines, then {"result": ...} or {"error": ...}.
 * Pull and push stream those lines to the client; the others answer with the final result. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "api_job.h"
#include "api_upload.h"
#include "containers.h"
#include "cleanup.h"
#include "events.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"
#include "image/store.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

/* ---- forked jobs (api_job.c) ---- */

typedef api_job_fn job_fn;

struct image_job {
        struct daemon *d;
        const char *action; /* the image event published on success, or NULL */
        json_t *args;
        bool stream;
};

static void image_event(struct daemon *d, const char *action, const char *id, const char *name) {
        json_t *attrs = json_object();

        if (name)
                json_object_set_new(attrs, "name", json_string(name));
        event_publish(d->events, realtime_usec() * 1000, "image", action, id, attrs);
}

/* docker's image events of a job that succeeded: the Actor is the reference (the image id
 * when there is none), the name attribute the reference. */
static void job_events(struct image_job *j, const json_t *res) {
        const json_t *v;
        size_t i;

        if (!j->action || !j->d->events)
                return;
        if (streq(j->action, "pull") || streq(j->action, "push"))
                image_event(j->d, j->action, json_get_str(res, "ref", ""),
                            json_get_str(res, "ref", ""));
        else if (streq(j->action, "import"))
                image_event(j->d, "import", json_get_str(res, "Id", ""),
                            json_get_str(j->args, "ref", NULL));
        else if (streq(j->action, "load")) {
                json_array_foreach (json_object_get(res, "refs"), i, v)
                        image_event(j->d, "load", json_string_value(v), json_string_value(v));
                if (json_array_size(json_object_get(res, "refs")) == 0)
                        json_array_foreach (json_object_get(res, "ids"), i, v)
                                image_event(j->d, "load", json_string_value(v), NULL);
        } else if (streq(j->action, "save"))
                json_array_foreach (json_object_get(j->args, "names"), i, v)
                        image_event(j->d, "save", json_string_value(v), json_string_value(v));
}

static void job_done(struct http_req *req, json_t *last, void *ud) {
        struct image_job *j = ud;
        json_t *err = json_object_get(last, "error");

        if (last && !json_is_object(err) && json_is_object(json_object_get(last, "result")))
                job_events(j, json_object_get(last, "result"));
        if (j->stream) {
                if (!last)
                        (void)http_stream_write(req, "{\"error\":{\"message\":\"helper died\"}}\n",
                                                37);
                http_stream_end(req);
        } else
                api_job_reply(req, last);
        json_decref(j->args);
        free(j);
}

/* Runs fn in a child. args is owned by the call. */
static void job_start(struct daemon *d, struct http_req *req, job_fn *fn, json_t *args, bool stream,
                      const char *action) {
        struct image_job *j = xnew0(struct image_job, 1);

        j->d = d;
        j->action = action;
        j->args = json_incref(args);
        j->stream = stream;
        api_job_start(d, req, fn, args, stream, job_done, j);
}

/* ---- helpers ---- */

static int open_store(struct daemon *d, struct image_store **ret, struct err **errp) {
        return image_store_open(d->root, ret, errp);
}

static void reply_err_take(struct http_req *req, struct err *e) {
        http_reply_err(req, e);
        err_free(e);
}

static json_t *image_summary(const struct image *img) {
        json_t *tags = json_array();

        STRV_FOREACH (r, img->refs) {
                _cleanup_(ref_freep) struct image_ref *p = NULL;
                _cleanup_free_ char *f = NULL;
                if (ref_parse(*r, &p, NULL) < 0)
                        continue;
                f = ref_familiar(p);
                json_array_append_new(tags, json_string(f));
        }
        return json_pack("{s:s,s:o,s:s,s:I,s:s,s:i}", "Id", img->id, "RepoTags", tags, "Created",
                         img->created, "Size", (json_int_t)img->size, "ManifestDigest",
                         img->manifest_digest, "Layers", (int)strv_length(img->layers));
}

/* Splits "{name*}" into the image name and the action suffix ("json", "history", "tag"...). */
static char *split_action(const char *param, const char *const *actions, const char **ret_action) {
        for (size_t i = 0; actions[i]; i++) {
                size_t n = strlen(param), a = strlen(actions[i]);
                if (n > a + 1 && param[n - a - 1] == '/' && streq(param + n - a, actions[i])) {
                        *ret_action = actions[i];
                        return xstrndup(param, n - a - 1);
                }
        }
        *ret_action = NULL;
        return xstrdup(param);
}

/* ---- quick routes ---- */

static void h_list(struct http_req *req, void *userdata) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_json_ json_t *out = json_array();
        struct err *e = NULL;
        struct image **l = NULL;
        size_t n = 0;

        if (open_store(userdata, &s, &e) < 0 || image_store_list(s, &l, &n, &e) < 0)
                return reply_err_take(req, e);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(out, image_summary(l[i]));
        image_list_free(l, n);
        http_reply_json(req, 200, out);
}

static void h_get(struct http_req *req, void *userdata) {
        static const char *const actions[] = {"json", "history", NULL};
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *name = NULL, *cbuf = NULL;
        _cleanup_json_ json_t *cfg = NULL, *out = NULL;
        struct err *e = NULL;
        const char *action;
        size_t clen;

        name = split_action(http_req_param(req, "name"), actions, &action);
        if (!action)
                return http_reply_error(req, 404, "not_found", "no such route");
        if (open_store(userdata, &s, &e) < 0 || image_store_get(s, name, &img, &e) < 0 ||
            image_store_read_blob(s, img->id, BLOB_CONFIG_MAX, &cbuf, &clen, &e) < 0 ||
            json_parse(cbuf, clen, "image config", &cfg, &e) < 0)
                return reply_err_take(req, e);
        if (streq(action, "json")) {
                out = image_summary(img);
                json_object_set_new(out, "Architecture",
                                    json_string(json_get_str(cfg, "architecture", "")));
                json_object_set_new(out, "Os", json_string(json_get_str(cfg, "os", "")));
                {
                        json_t *c = json_object_get(cfg, "config");
                        json_object_set_new(out, "Config", c ? json_incref(c) : json_object());
                }
                json_object_set_new(
                        out, "RootFS",
                        json_pack("{s:s,s:O}", "Type", "layers", "Layers",
                                  json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")));
                json_object_set_new(out, "GraphDriver", json_pack("{s:s}", "Name", "overlay"));
        } else {
                json_t *h = json_object_get(cfg, "history"), *v;
                size_t i;
                out = json_array();
                json_array_foreach (h, i, v)
                        json_array_insert_new(out, 0,
                                              json_pack("{s:s,s:s,s:s,s:b}", "Created",
                                                        json_get_str(v, "created", ""), "CreatedBy",
                                                        json_get_str(v, "created_by", ""),
                                                        "Comment", json_get_str(v, "comment", ""),
                                                        "EmptyLayer",
                                                        json_get_bool(v, "empty_layer", false)));
        }
        http_reply_json(req, 200, out);
}

/* The id of a container made from image_id, or NULL. */
static char *image_user(struct daemon *d, const char *image_id) {
        struct ctr **all = NULL;
        size_t n = d->ctrs ? ctr_all(d->ctrs, &all) : 0;
        char *found = NULL;

        for (size_t i = 0; i < n && !found; i++) {
                _cleanup_json_ json_t *j = ctr_inspect(all[i]);
                if (streq_ptr(json_get_str(j, "Image", NULL), image_id))
                        found = xstrdup(json_get_str(j, "Id", ""));
        }
        /* all is borrowed (ctr_all): not ours to free */
        return found;
}

static void h_delete(struct http_req *req, void *userdata) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_json_ json_t *out = json_array();
        const char *name = http_req_param(req, "name");
        struct err *e = NULL;
        bool force = false;
        int r;

        if (http_query_get_bool(http_req_query_pairs(req), "force", false, &force, &e) < 0 ||
            open_store(userdata, &s, &e) < 0 || image_store_get(s, name, &img, &e) < 0)
                return reply_err_take(req, e);
        /* Removing the last reference deletes the image's layers, which a container's overlay
         * still uses: refuse while any container (running or not) was made from it. Docker
         * keeps such an image untagged under -f; berth asks for the container to go first. */
        if (str_startswith(name, "sha256:") || strv_length(img->refs) <= 1 ||
            !strv_contains(img->refs, name)) {
                _cleanup_free_ char *user = image_user(userdata, img->id);
                if (user)
                        return http_reply_error(req, 409, "conflict",
                                                "conflict: unable to remove image '%s': "
                                                "container %.12s is using it%s",
                                                name, user,
                                                force ? " (remove the container first)"
                                                      : " (remove the container, or untag "
                                                        "with a more specific name)");
        }
        r = image_store_remove(s, name, force, &e);
        if (r < 0)
                return reply_err_take(req, e);
        if (!str_startswith(name, "sha256:") && strv_length(img->refs) > 0) {
                json_array_append_new(out, json_pack("{s:s}", "Untagged", name));
                if (((struct daemon *)userdata)->events)
                        image_event(userdata, "untag", img->id, name);
        }
        if (r == 1) {
                _cleanup_free_ char *layers = xasprintf("%s/layers", image_store_dir(s));
                struct err *ge = NULL;
                /* --userns-remap: the image's shifted layer copies go with its layers */
                if (ctr_userns_gc(((struct daemon *)userdata)->root, layers, NULL, &ge) < 0) {
                        log_warn(NULL, "rmi %s: %s", name, err_msg(ge));
                        err_free(ge);
                }
                json_array_append_new(out, json_pack("{s:s}", "Deleted", img->id));
                if (((struct daemon *)userdata)->events)
                        image_event(userdata, "delete", img->id, NULL);
        }
        http_reply_json(req, 200, out);
}

static void h_logout(struct http_req *req, void *userdata) {
        struct daemon *d = userdata;
        _cleanup_json_ json_t *body = NULL;
        const char *host;
        struct err *e = NULL;
        int r;

        if (http_req_json(req, &body, &e) < 0)
                return reply_err_take(req, e);
        host = json_get_str(body, "serveraddress", "docker.io");
        r = registry_logout(d->root, host, &e);
        if (r < 0)
                return reply_err_take(req, e);
        {
                _cleanup_json_ json_t *out = json_pack(
                        "{s:s}", "Status", r ? "Removed login credentials" : "Not logged in");
                http_reply_json(req, 200, out);
        }
}

/* ---- forked jobs ---- */

struct progress_state {
        int fd;
        const char *action;
        char last_digest[80];
        uint64_t last_done;
};

static void job_progress(void *ud, const char *digest, uint64_t done, uint64_t total) {
        struct progress_state *p = ud;
        _cleanup_json_ json_t *j = NULL;

        /* at most one line per 512 KiB per layer, plus the last one */
        if (streq(p->last_digest, digest) && done < total && done - p->last_done < (512u << 10))
                return;
        snprintf(p->last_digest, sizeof(p->last_digest), "%s", digest);
        p->last_done = done;
        j = json_pack("{s:s,s:s,s:{s:I,s:I}}", "status", done >= total ? "Complete" : p->action,
                      "id", digest, "progressDetail", "current", (json_int_t)done, "total",
                      (json_int_t)total);
        api_job_emit(p->fd, j);
}

/* --insecure-registry flags plus daemon.json "insecure-registries". */
static char **insecure_registries(const struct daemon *d) {
        char **l = strv_copy(d->insecure_registries_flag);

        STRV_FOREACH (x, d->config.insecure_registries)
                if (!strv_contains(l, *x))
                        strv_push(&l, *x);
        return l;
}

static int job_pull(struct daemon *d, json_t *args, int fd, json_t **ret, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        struct progress_state ps = {.fd = fd, .action = "Downloading"};
        _cleanup_strv_ char **insecure = insecure_registries(d);
        struct pull_opts o = {.progress = job_progress,
                              .userdata = &ps,
                              .insecure = insecure,
                              .certs_dir = d->registry_certs_dir};
        const char *name = json_get_str(args, "image", "");
        _cleanup_strv_ char **plat = NULL;
        int r;

        if (json_get_str(args, "platform", NULL)) {
                plat = strv_split(json_get_str(args, "platform", ""), "/");
                if (strv_length(plat) < 2)
                        return err_setx(errp, EINVAL, "platform: expected os/arch[/variant]");
                o.os = plat[0];
                o.arch = plat[1];
                o.variant = plat[2];
        }
        r = open_store(d, &s, errp);
        if (r >= 0)
                r = image_pull(s, name, &o, &img, errp);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s,s:s,s:s}", "status", "Pulled", "id", img->id, "ref",
                         img->refs && img->refs[0] ? img->refs[0] : name);
        return 0;
}

static int job_push(struct daemon *d, json_t *args, int fd, json_t **ret, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        struct progress_state ps = {.fd = fd, .action = "Pushing"};
        _cleanup_strv_ char **insecure = insecure_registries(d);
        struct push_opts o = {.progress = job_progress,
                              .userdata = &ps,
                              .insecure = insecure,
                              .certs_dir = d->registry_certs_dir};
        const char *name = json_get_str(args, "image", "");
        int r;

        r = open_store(d, &s, errp);
        if (r >= 0)
                r = image_push(s, name, json_get_str(args, "dest", NULL), &o, errp);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s,s:s}", "status", "Pushed", "ref", name);
        return 0;
}

static int job_load(struct daemon *d, json_t *args, int fd, json_t **ret, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_strv_ char **refs = NULL, **ids = NULL;
        const char *path = json_get_str(args, "path", "");
        _cleanup_close_ int in = -EBADF;
        json_t *jr, *ji;
        struct stat st;
        int r;

        (void)fd;
        r = open_store(d, &s, errp);
        if (r < 0)
                return r;
        if (json_object_get(args, "upload_fd")) /* berth-attach: a streamed upload */
                r = image_load(s, (int)json_get_int(args, "upload_fd", -1), &refs, &ids, errp);
        else if (stat(path, &st) < 0)
                return err_set(errp, errno, "load: '%s'", path);
        else if (S_ISDIR(st.st_mode))
                r = image_load_oci_dir(s, path, json_get_str(args, "ref", NULL), &refs, &ids, errp);
        else {
                in = open(path, O_RDONLY | O_CLOEXEC);
                if (in < 0)
                        return err_set(errp, errno, "load: open '%s'", path);
                r = image_load(s, in, &refs, &ids, errp);
        }
        if (r < 0)
                return r;
        jr = json_array();
        ji = json_array();
        STRV_FOREACH (x, refs) {
                _cleanup_(ref_freep) struct image_ref *pr = NULL;
                _cleanup_free_ char *fam = NULL;
                if (ref_parse(*x, &pr, NULL) < 0)
                        continue;
                fam = ref_familiar(pr);
                json_array_append_new(jr, json_string(fam));
        }
        STRV_FOREACH (x, ids)
                json_array_append_new(ji, json_string(*x));
        *ret = json_pack("{s:o,s:o}", "refs", jr, "ids", ji);
        return 0;
}

static int job_import(struct daemon *d, json_t *args, int fd, json_t **ret, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_strv_ char **changes = NULL;
        const char *path = json_get_str(args, "path", "");
        struct import_opts o = {.ref = json_get_str(args, "ref", NULL),
                                .message = json_get_str(args, "message", NULL)};
        _cleanup_close_ int in = -EBADF;
        struct stat st;
        json_t *v;
        size_t i;
        int r;

        (void)fd;
        json_array_foreach (json_object_get(args, "changes"), i, v)
                if (json_is_string(v))
                        strv_push(&changes, json_string_value(v));
        o.changes = changes;
        r = open_store(d, &s, errp);
        if (r < 0)
                return r;
        if (json_object_get(args, "upload_fd")) /* berth-attach: a streamed upload */
                r = image_import_fd(s, (int)json_get_int(args, "upload_fd", -1), &o, &img, errp);
        else if (stat(path, &st) < 0)
                return err_set(errp, errno, "import: '%s'", path);
        else if (S_ISDIR(st.st_mode))
                r = image_import_dir(s, path, &o, &img, errp);
        else {
                in = open(path, O_RDONLY | O_CLOEXEC);
                if (in < 0)
                        return err_set(errp, errno, "import: open '%s'", path);
                r = image_import_fd(s, in, &o, &img, errp);
        }
        if (r < 0)
                return r;
        *ret = json_pack("{s:s}", "Id", img->id);
        return 0;
}

static int job_save(struct daemon *d, json_t *args, int fd, json_t **ret, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_strv_ char **names = NULL;
        const char *path = json_get_str(args, "path", "");
        _cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
        _cleanup_close_ int out = -EBADF;
        json_t *v;
        size_t i;
        int r;

        (void)fd;
        json_array_foreach (json_object_get(args, "names"), i, v)
                if (json_is_string(v))
                        strv_push(&names, json_string_value(v));
        r = open_store(d, &s, errp);
        if (r < 0)
                return r;
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                return err_set(errp, errno, "save: create '%s'", tmp);
        r = image_save(s, names, out, errp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = err_set(errp, errno, "save: rename to '%s'", path);
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        *ret = json_object();
        return 0;
}

static int job_login(struct daemon *d, json_t *args, int fd, json_t **ret, struct err **errp) {
        _cleanup_strv_ char **insecure = insecure_registries(d);
        int r;

        (void)fd;
        r = registry_login(d->root, json_get_str(args, "serveraddress", "docker.io"),
                           json_get_str(args, "username", ""), json_get_str(args, "password", ""),
                           insecure, d->registry_certs_dir, errp);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s}", "Status", "Login Succeeded");
        return 0;
}

/* Validates a body field holding an absolute path on the daemon's host. */
static int need_abs_path(const json_t *body, const char *key, struct err **errp) {
        const char *p = json_get_str(body, key, NULL);

        if (!p || p[0] != '/') {
                int r = err_setx(errp, EINVAL, "%s: an absolute path is required", key);
                err_set_field(errp, key);
                return r;
        }
        return 0;
}

static void h_pull(struct http_req *req, void *userdata) {
        const char *img = http_req_query(req, "image"), *from = http_req_query(req, "fromImage");
        const char *tag = http_req_query(req, "tag"), *plat = http_req_query(req, "platform");
        _cleanup_(ref_freep) struct image_ref *r = NULL;
        _cleanup_free_ char *name = NULL;
        struct err *e = NULL;
        json_t *args;

        if (!img && from)
                name = tag && *tag ? xasprintf("%s:%s", from, tag) : xstrdup(from);
        else
                name = xstrdup(img ? img : "");
        if (ref_parse(name, &r, &e) < 0) {
                err_set_field(&e, "image");
                return reply_err_take(req, e);
        }
        args = json_pack("{s:s}", "image", name);
        if (plat)
                json_object_set_new(args, "platform", json_string(plat));
        job_start(userdata, req, job_pull, args, true, "pull");
}

static void h_post_named(struct http_req *req, void *userdata) {
        static const char *const actions[] = {"tag", "push", NULL};
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_free_ char *name = NULL, *target = NULL;
        const char *action, *repo, *tag;
        struct err *e = NULL;

        name = split_action(http_req_param(req, "name"), actions, &action);
        if (!action)
                return http_reply_error(req, 404, "not_found", "no such route");
        repo = http_req_query(req, "repo");
        tag = http_req_query(req, "tag");
        if (streq(action, "push")) {
                json_t *args = json_pack("{s:s}", "image", name);
                if (tag && *tag) {
                        _cleanup_(ref_freep) struct image_ref *r = NULL;
                        _cleanup_free_ char *repo_name = NULL;
                        if (ref_parse_name(name, &r, &e) < 0) {
                                json_decref(args);
                                return reply_err_take(req, e);
                        }
                        repo_name = ref_repository(r);
                        json_object_set_new(args, "dest", json_sprintf("%s:%s", repo_name, tag));
                }
                return job_start(userdata, req, job_push, args, true, "push");
        }
        if (!repo || !*repo)
                return http_reply_error(req, 400, "invalid",
                                        "tag: the 'repo' parameter is required");
        target = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
        if (open_store(userdata, &s, &e) < 0 || image_store_tag(s, name, target, &e) < 0)
                return reply_err_take(req, e);
        {
                _cleanup_(image_freep) struct image *img = NULL;
                struct daemon *d = userdata;

                if (d->events && image_store_get(s, target, &img, NULL) >= 0)
                        image_event(d, "tag", img->id, target);
        }
        http_reply(req, 201, "application/json", "{}", 2);
}

/* Body-driven jobs: load, import, save, login. */
static void body_job(struct http_req *req, void *userdata, job_fn *fn, const char *path_key,
                     const char *action) {
        json_t *body = NULL;
        struct err *e = NULL;

        if (http_req_json(req, &body, &e) < 0)
                return reply_err_take(req, e);
        if (!json_is_object(body)) {
                json_decref(body);
                return http_reply_error(req, 400, "invalid", "the body must be a JSON object");
        }
        /* docker-style capitalised keys are accepted too */
        {
                static const char *const keys[][2] = {{"Path", "path"},
                                                      {"Ref", "ref"},
                                                      {"Changes", "changes"},
                                                      {"Message", "message"},
                                                      {"Names", "names"}};
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (json_object_get(body, keys[i][0]) && !json_object_get(body, keys[i][1]))
                                json_object_set(body, keys[i][1],
                                                json_object_get(body, keys[i][0]));
        }
        if (path_key && need_abs_path(body, path_key, &e) < 0) {
                json_decref(body);
                return reply_err_take(req, e);
        }
        job_start(userdata, req, fn, body, false, action);
}

/* berth-attach: load and import take the archive itself as the body (streamed to a temporary
 * file, no size limit; ?ref=, ?message=, ?changes= for import), or as before a JSON body naming
 * a path on the daemon's host. */
struct upload_job {
        struct daemon *d;
        job_fn *fn;
        const char *action;
};

static void h_load_json(struct http_req *req, void *ud) {
        struct upload_job *u = ud;
        struct upload_job uj = *u;

        free(u);
        body_job(req, uj.d, uj.fn, "path", uj.action);
}

static void upload_done(struct http_req *req, int fd, void *ud) {
        struct upload_job *u = ud;
        json_t *args = json_object();
        char *const *q = http_req_query_pairs(req);

        json_object_set_new(args, "upload_fd", json_integer(fd));
        if (http_req_query(req, "ref"))
                json_object_set_new(args, "ref", json_string(http_req_query(req, "ref")));
        if (http_req_query(req, "message"))
                json_object_set_new(args, "message", json_string(http_req_query(req, "message")));
        json_object_set_new(args, "changes", json_array());
        for (size_t i = 0; q && q[i] && q[i + 1]; i += 2)
                if (streq(q[i], "changes"))
                        json_array_append_new(json_object_get(args, "changes"),
                                              json_string(q[i + 1]));
        /* The job's child inherits fd; ours goes once it is forked. */
        job_start(u->d, req, u->fn, args, false, u->action);
        safe_close(fd);
        free(u);
}

static void upload_job(struct http_req *req, void *userdata, job_fn *fn, const char *action) {
        struct daemon *d = userdata;
        const char *ct = http_req_header(req, "Content-Type");
        _cleanup_free_ char *dir = xasprintf("%s/tmp", d->root);
        struct upload_job *u = xnew0(struct upload_job, 1);
        struct err *e = NULL;

        *u = (struct upload_job){.d = d, .fn = fn, .action = action};
        if (ct && str_startswith(ct, "application/json")) {
                http_req_body_buffer(req, 1024 * 1024, h_load_json, u);
                return;
        }
        if (api_upload_spool(req, dir, upload_done, u, &e) < 0) {
                free(u);
                reply_err_take(req, e);
        }
}

static void h_load(struct http_req *req, void *userdata) {
        upload_job(req, userdata, job_load, "load");
}

static void h_import(struct http_req *req, void *userdata) {
        upload_job(req, userdata, job_import, "import");
}

static void h_save(struct http_req *req, void *userdata) {
        body_job(req, userdata, job_save, "path", "save");
}

static void h_login(struct http_req *req, void *userdata) {
        body_job(req, userdata, job_login, NULL, NULL);
}

const struct http_route api_images_routes[] = {
        {"GET", "/v1/images", h_list},
        {"POST", "/v1/images/pull", h_pull},
        {"POST", "/v1/images/load", h_load, HTTP_ROUTE_STREAM_BODY, 0},
        {"POST", "/v1/images/import", h_import, HTTP_ROUTE_STREAM_BODY, 0},
        {"POST", "/v1/images/save", h_save},
        {"GET", "/v1/images/{name*}", h_get},
        {"POST", "/v1/images/{name*}", h_post_named},
        {"DELETE", "/v1/images/{name*}", h_delete},
        {"POST", "/v1/auth", h_login},
        {"POST", "/v1/auth/logout", h_logout},
        {},
};
