/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/volumes/...: docker's volume API on the local volumes library (engine/volume.h). "In use"
 * comes from the container records' Mounts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "ctr_internal.h"
#include "events.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

static bool vol_in_use(struct daemon *d, const char *name) {
        struct ctr **all;
        size_t n = d->ctrs ? ctr_all(d->ctrs, &all) : 0;

        for (size_t i = 0; i < n; i++) {
                json_t *m;
                size_t k;

                json_array_foreach (json_object_get(all[i]->rec, "Mounts"), k, m)
                        if (streq(json_get_str(m, "Type", ""), "volume") &&
                            streq(json_get_str(m, "Name", ""), name))
                                return true;
        }
        return false;
}

static void publish(struct daemon *d, const char *action, const char *name, const char *driver) {
        event_publish(d->events, realtime_usec() * 1000, "volume", action, name,
                      json_pack("{s:s}", "driver", driver));
}

static void h_create(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_json_ json_t *body = NULL, *out = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_(vol_freep) struct vol *v = NULL;
        const json_t *labels, *opts;
        const char *name, *driver;
        int r;

        r = http_req_json(req, &body, &e);
        if (r >= 0) {
                name = json_get_str(body, "Name", "");
                driver = json_get_str(body, "Driver", "");
                labels = json_object_get(body, "Labels");
                opts = json_object_get(body, "DriverOpts");
                if (labels && !json_is_object(labels) && !json_is_null(labels))
                        r = err_setx(&e, EINVAL, "Labels: must be an object");
                else if (opts && !json_is_object(opts) && !json_is_null(opts))
                        r = err_setx(&e, EINVAL, "DriverOpts: must be an object");
                else if (name[0] && !vol_name_valid(name))
                        r = err_setx(&e, EINVAL,
                                     "Name: invalid volume name '%s': only "
                                     "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                     name);
                else
                        r = vol_create(d->root, name[0] ? name : NULL, driver[0] ? driver : "local",
                                       json_is_object(labels) ? labels : NULL,
                                       json_is_object(opts) ? opts : NULL, !name[0], &v, &e);
        }
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        if (r > 0) {
                log_info(NULL, "Volume '%s' created", v->name);
                publish(d, "create", v->name, v->driver);
        }
        out = vol_to_json(v);
        http_reply_json(req, 201, out);
}

static void h_list(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_json_ json_t *out = json_array(), *filters = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_strv_ char **fl = xnew0(char *, 1);
        struct vol **l = NULL;
        const char *fq = http_req_query(req, "filters"), *key;
        json_t *vals, *x;
        size_t i;

        /* docker's filters={"dangling":["true"],"name":["x"]} */
        if (fq && fq[0]) {
                filters = json_loads(fq, 0, NULL);
                if (!json_is_object(filters)) {
                        http_reply_error(req, 400, "invalid_argument",
                                         "filters: invalid JSON object '%s'", fq);
                        return;
                }
                json_object_foreach (filters, key, vals) {
                        if (json_is_object(vals)) {
                                const char *k2;
                                json_object_foreach (vals, k2, x)
                                        strv_push_take(&fl, xasprintf("%s=%s", key, k2));
                        } else
                                json_array_foreach (vals, i, x)
                                        strv_push_take(&fl, xasprintf("%s=%s", key,
                                                                      json_string_value(x) ?: ""));
                }
        }
        if (vol_list(d->root, &l, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        for (i = 0; l[i]; i++) {
                bool used = vol_in_use(d, l[i]->name), match = true;

                STRV_FOREACH (f, fl) {
                        int r = vol_filter_match(l[i], *f, used, &e);
                        if (r < 0) {
                                vol_list_free(l);
                                http_reply_err(req, e);
                                return;
                        }
                        match = match && r > 0;
                }
                if (match)
                        json_array_append_new(out, vol_to_json(l[i]));
        }
        vol_list_free(l);
        {
                _cleanup_json_ json_t *ans = json_pack("{s:O,s:[]}", "Volumes", out, "Warnings");
                http_reply_json(req, 200, ans);
        }
}

static void h_inspect(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_(vol_freep) struct vol *v = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *out = NULL;

        if (vol_get(d->root, http_req_param(req, "name"), &v, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        out = vol_to_json(v);
        http_reply_json(req, 200, out);
}

static void h_remove(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_(vol_freep) struct vol *v = NULL;
        const char *name = http_req_param(req, "name");
        bool force = false;
        int r;

        if (http_query_get_bool(http_req_query_pairs(req), "force", false, &force, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        (void)vol_get(d->root, name, &v, NULL);
        r = vol_remove(d->root, name, vol_in_use(d, name), force, &e);
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        if (v)
                publish(d, "destroy", v->name, v->driver);
        http_reply(req, 204, NULL, NULL, 0);
}

/* Anonymous unused volumes; with all, named ones too. */
static void h_prune(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_json_ json_t *gone = json_array(), *out = NULL, *filters = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *fq = http_req_query(req, "filters");
        struct vol **l = NULL;
        bool all = false;
        uint64_t freed = 0;

        /* ?all=1 (berth's CLI) or docker's filters={"all":["true"]} */
        if (http_query_get_bool(http_req_query_pairs(req), "all", false, &all, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        if (!all && fq && fq[0]) {
                json_t *a;
                filters = json_loads(fq, 0, NULL);
                a = json_object_get(filters, "all");
                all = json_is_array(a) &&
                      (streq(json_string_value(json_array_get(a, 0)) ?: "", "true") ||
                       streq(json_string_value(json_array_get(a, 0)) ?: "", "1"));
        }
        if (vol_list(d->root, &l, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        for (size_t i = 0; l[i]; i++) {
                if ((!l[i]->anonymous && !all) || vol_in_use(d, l[i]->name))
                        continue;
                if (vol_remove(d->root, l[i]->name, false, false, NULL) >= 0) {
                        json_array_append_new(gone, json_string(l[i]->name));
                        publish(d, "destroy", l[i]->name, l[i]->driver);
                }
        }
        vol_list_free(l);
        out = json_pack("{s:O,s:I}", "VolumesDeleted", gone, "SpaceReclaimed", (json_int_t)freed);
        http_reply_json(req, 200, out);
}

const struct http_route api_volume_routes[] = {
        {"POST", "/v1/volumes/create", h_create},   {"GET", "/v1/volumes", h_list},
        {"POST", "/v1/volumes/prune", h_prune},     {"GET", "/v1/volumes/{name}", h_inspect},
        {"DELETE", "/v1/volumes/{name}", h_remove}, {},
};
