/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/containers/... and the minimal image routes the container commands need (import, list). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "clog.h"
#include "containers.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/ref.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

static struct ctr_mgr *mgr(void *ud) {
        struct daemon *d = ud;
        return d->ctrs;
}

/* Finds {id} or answers 404 and returns NULL. */
static struct ctr *find(struct http_req *req, void *ud) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c;

        if (ctr_lookup(mgr(ud), http_req_param(req, "id"), &c, &e) < 0) {
                http_reply_err(req, e);
                return NULL;
        }
        return c;
}

static bool q_bool(struct http_req *req, const char *name, bool *ret) {
        _cleanup_err_ struct err *e = NULL;

        if (http_query_get_bool(http_req_query_pairs(req), name, false, ret, &e) < 0) {
                http_reply_err(req, e);
                return false;
        }
        return true;
}

/* ?t=N: -1 when absent. */
static bool q_timeout(struct http_req *req, int *ret) {
        _cleanup_err_ struct err *e = NULL;
        unsigned long long t;

        *ret = -1;
        if (!http_req_query(req, "t"))
                return true;
        if (http_query_get_uint(http_req_query_pairs(req), "t", 0, 86400, &t, &e) < 0) {
                http_reply_err(req, e);
                return false;
        }
        *ret = (int)t;
        return true;
}

static void h_create(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *body = NULL, *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c;

        if (http_req_json(req, &body, &e) < 0 ||
            ctr_create(mgr(ud), http_req_query(req, "name"), body, &c, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        log_info(c->id, "Container created as '%s'", ctr_name(c));
        ctr_event(c, "create", NULL);
        ans = json_pack("{s:s,s:[]}", "Id", c->id, "Warnings");
        http_reply_json(req, 201, ans);
}

/* filters: docker's JSON form {"status":["running"],"label":["a=b"]}: values of one key are
 * alternatives, except labels, which must all match (as in docker); keys must all match. */
static int filters_match(const json_t *filters, const json_t *rec, struct err **errp) {
        const char *key;
        json_t *vals;

        json_object_foreach ((json_t *)filters, key, vals) {
                bool every = streq(key, "label");
                bool any = false;
                size_t i;
                json_t *v;

                if (!json_is_array(vals))
                        return err_setx(errp, EINVAL, "filters: '%s' must map to an array", key);
                json_array_foreach (vals, i, v) {
                        _cleanup_free_ char *f =
                                xasprintf("%s=%s", key, json_string_value(v) ?: "");
                        int r = ctr_filter_match(rec, f, errp);
                        if (r < 0)
                                return r;
                        if (every && r == 0)
                                return 0;
                        any = any || r > 0;
                }
                if (!any)
                        return 0;
        }
        return 1;
}

static void h_list(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *filters = NULL, *out = json_array();
        _cleanup_err_ struct err *e = NULL;
        const char *fs = http_req_query(req, "filters");
        struct ctr **v;
        size_t n = ctr_all(mgr(ud), &v);
        bool all;

        if (!q_bool(req, "all", &all))
                return;
        if (fs && fs[0] &&
            (json_parse(fs, strlen(fs), "filters", &filters, &e) < 0 || !json_is_object(filters))) {
                if (!e)
                        err_setx(&e, EINVAL, "filters: must be a JSON object");
                http_reply_err(req, e);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                int r;

                if (!all && !ctr_running(v[i]) && !json_object_get(filters, "status") &&
                    !json_object_get(filters, "exited"))
                        continue;
                r = filters ? filters_match(filters, v[i]->rec, &e) : 1;
                if (r < 0) {
                        http_reply_err(req, e);
                        return;
                }
                if (r > 0)
                        json_array_append_new(out, ctr_summary(v[i]));
        }
        http_reply_json(req, 200, out);
}

static void h_inspect(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);
        _cleanup_json_ json_t *j = NULL;

        if (!c)
                return;
        j = ctr_inspect(c);
        http_reply_json(req, 200, j);
}

static void h_start(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);

        if (c)
                ctr_start_req(c, req);
}

static void h_stop(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);
        int t;

        if (c && q_timeout(req, &t))
                ctr_stop(c, t, req);
}

static void h_restart(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);
        int t;

        if (c && q_timeout(req, &t))
                ctr_restart(c, t, req);
}

static void h_kill(struct http_req *req, void *ud) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);
        const char *s;
        int sig;

        if (!c)
                return;
        s = http_req_query(req, "signal");
        sig = ctr_parse_signal(s ? s : "SIGKILL");
        if (sig < 0) {
                http_reply_error(req, 400, "BadRequest", "Invalid signal: %s", s);
                return;
        }
        if (ctr_kill(c, sig, &e) < 0)
                http_reply_err(req, e);
        else
                http_reply(req, 204, NULL, "", 0);
}

static void h_pause(struct http_req *req, void *ud, bool pause) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);

        if (!c)
                return;
        if (ctr_pause(c, pause, &e) < 0)
                http_reply_err(req, e);
        else
                http_reply(req, 204, NULL, "", 0);
}

static void h_do_pause(struct http_req *req, void *ud) {
        h_pause(req, ud, true);
}

static void h_unpause(struct http_req *req, void *ud) {
        h_pause(req, ud, false);
}

static void h_wait(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);
        const char *cond;

        if (!c)
                return;
        cond = http_req_query(req, "condition");
        if (cond && !streq(cond, "not-running") && !streq(cond, "next-exit")) {
                http_reply_error(req, 400, "BadRequest",
                                 "invalid condition '%s' (not-running|next-exit)", cond);
                return;
        }
        ctr_wait(c, cond && streq(cond, "next-exit"), req);
}

static void h_rename(struct http_req *req, void *ud) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);
        const char *name;

        if (!c)
                return;
        name = http_req_query(req, "name");
        if (!name || !name[0]) {
                http_reply_error(req, 400, "BadRequest",
                                 "rename: the name query parameter is "
                                 "required");
                return;
        }
        if (ctr_rename(c, name, &e) < 0)
                http_reply_err(req, e);
        else
                http_reply(req, 204, NULL, "", 0);
}

static void h_remove(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);
        bool force, vols;

        if (c && q_bool(req, "force", &force) && q_bool(req, "v", &vols))
                ctr_remove(c, force, vols, req);
}

static void h_top(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);

        if (!c)
                return;
        if (ctr_top(c, &j, &e) < 0)
                http_reply_err(req, e);
        else
                http_reply_json(req, 200, j);
}

static bool q_time(struct http_req *req, const char *name, uint64_t *ret) {
        _cleanup_err_ struct err *e = NULL;
        const char *s = http_req_query(req, name);

        *ret = 0;
        if (!s || !s[0] || streq(s, "0"))
                return true;
        if (clog_parse_time(s, realtime_usec() * NSEC_PER_USEC, ret, &e) < 0) {
                err_wrap(&e, "%s", name);
                http_reply_err(req, e);
                return false;
        }
        return true;
}

static void h_logs(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);
        struct ctr_logs_opts o = {.tail = -1};
        const char *tail;
        bool out_set, err_set;

        if (!c)
                return;
        tail = http_req_query(req, "tail");
        out_set = http_req_query(req, "stdout") != NULL;
        err_set = http_req_query(req, "stderr") != NULL;
        if (!q_bool(req, "follow", &o.follow) || !q_bool(req, "timestamps", &o.timestamps) ||
            !q_bool(req, "stdout", &o.stdout_) || !q_bool(req, "stderr", &o.stderr_) ||
            !q_time(req, "since", &o.since_nsec) || !q_time(req, "until", &o.until_nsec))
                return;
        if (!out_set && !err_set)
                o.stdout_ = o.stderr_ = true;
        if (tail && tail[0] && !streq(tail, "all")) {
                char *end;
                long long n = strtoll(tail, &end, 10);

                if (*end || n < 0) {
                        http_reply_error(req, 400, "BadRequest",
                                         "tail: expected a number or 'all', got '%s'", tail);
                        return;
                }
                o.tail = n;
        }
        ctr_logs(c, &o, req);
}

/* GET /v1/containers/{id}/stats?stream=0|1[&one-shot=1] (ctr_stats.c) */
static void h_stats(struct http_req *req, void *ud) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);
        bool stream = true, one_shot = false;

        if (!c)
                return;
        /* docker streams unless stream=0 */
        if (http_query_get_bool(http_req_query_pairs(req), "stream", true, &stream, &e) < 0 ||
            http_query_get_bool(http_req_query_pairs(req), "one-shot", false, &one_shot, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        if (one_shot && stream) {
                (void)err_setx(&e, EINVAL, "one-shot: needs stream=0");
                http_reply_err(req, e);
                return;
        }
        if (one_shot)
                ctr_stats_once(c, req);
        else
                ctr_stats_request(c, stream, req);
}

/* POST /v1/containers/{id}/update (ctr_stats.c) */
static void h_update(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *body = NULL, *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);

        if (!c)
                return;
        if (http_req_json(req, &body, &e) < 0 || ctr_update(c, body, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        ans = json_pack("{s:[]}", "Warnings");
        http_reply_json(req, 200, ans);
}

/* POST /v1/containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=K (upgraded;
 * ctr_attach.c) */
static void h_attach(struct http_req *req, void *ud) {
        struct ctr *c = find(req, ud);

        if (c)
                ctr_attach(c, req);
}

/* The console size of a resize request (?h=ROWS&w=COLUMNS), or false with a 400 sent. */
static bool resize_query(struct http_req *req, unsigned *h, unsigned *w) {
        const char *hs = http_req_query(req, "h"), *ws = http_req_query(req, "w");

        if (!hs || !ws || sscanf(hs, "%u", h) != 1 || sscanf(ws, "%u", w) != 1) {
                http_reply_error(req, 400, "invalid", "h, w: both are required numbers");
                return false;
        }
        return true;
}

/* POST /v1/containers/{id}/resize?h=ROWS&w=COLUMNS */
static void h_resize(struct http_req *req, void *ud) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);
        unsigned h, w;

        if (!c || !resize_query(req, &h, &w))
                return; /* answered: req is gone */
        if (ctr_resize(c, h, w, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 200, NULL, "", 0);
}

static void h_exec(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = find(req, ud);

        if (!c)
                return;
        if (http_req_json(req, &body, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        ctr_exec(c, body, req);
}

/* Finds exec {id} or answers 404. */
static struct exec_sess *find_exec(struct http_req *req, void *ud) {
        struct exec_sess *x = ctr_exec_find(mgr(ud), http_req_param(req, "id"));

        if (!x)
                http_reply_error(req, 404, "not found", "No such exec instance: %s",
                                 http_req_param(req, "id"));
        return x;
}

/* POST /v1/exec/{id}/start {Detach, ConsoleSize, DetachKeys} (ctr_exec.c) */
static void h_exec_start(struct http_req *req, void *ud) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct exec_sess *x = find_exec(req, ud);
        size_t len = 0;

        if (!x)
                return;
        (void)http_req_body(req, &len);
        if (len > 0 && http_req_json(req, &body, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        ctr_exec_start(x, body, req);
}

/* POST /v1/exec/{id}/resize?h=ROWS&w=COLUMNS */
static void h_exec_resize(struct http_req *req, void *ud) {
        _cleanup_err_ struct err *e = NULL;
        struct exec_sess *x = find_exec(req, ud);
        unsigned h, w;

        if (!x || !resize_query(req, &h, &w))
                return; /* answered: req is gone */
        if (ctr_exec_resize(x, h, w, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 200, NULL, "", 0);
}

/* GET /v1/exec/{id}/json */
static void h_exec_inspect(struct http_req *req, void *ud) {
        struct exec_sess *x = find_exec(req, ud);
        _cleanup_json_ json_t *j = NULL;

        if (!x)
                return;
        j = ctr_exec_inspect(x);
        http_reply_json(req, 200, j);
}

/* ---- images ---- */

const struct http_route api_container_routes[] = {
        {"POST", "/v1/containers", h_create},
        {"GET", "/v1/containers", h_list},
        {"GET", "/v1/containers/{id}/json", h_inspect},
        {"POST", "/v1/containers/{id}/start", h_start},
        {"POST", "/v1/containers/{id}/stop", h_stop},
        {"POST", "/v1/containers/{id}/restart", h_restart},
        {"POST", "/v1/containers/{id}/kill", h_kill},
        {"POST", "/v1/containers/{id}/pause", h_do_pause},
        {"POST", "/v1/containers/{id}/unpause", h_unpause},
        {"POST", "/v1/containers/{id}/wait", h_wait},
        {"POST", "/v1/containers/{id}/rename", h_rename},
        {"DELETE", "/v1/containers/{id}", h_remove},
        {"GET", "/v1/containers/{id}/top", h_top},
        {"GET", "/v1/containers/{id}/logs", h_logs},
        {"POST", "/v1/containers/{id}/exec", h_exec},
        {"GET", "/v1/containers/{id}/stats", h_stats},
        {"POST", "/v1/containers/{id}/update", h_update},
        {"POST", "/v1/containers/{id}/attach", h_attach},
        {"POST", "/v1/containers/{id}/resize", h_resize},
        {"POST", "/v1/exec/{id}/start", h_exec_start},
        {"POST", "/v1/exec/{id}/resize", h_exec_resize},
        {"GET", "/v1/exec/{id}/json", h_exec_inspect},
        {},
};
