/* SPDX-License-Identifier: Apache-2.0 */
/* The controller's routes (DESIGN §4): thin wrappers over controller.c, plus the long-poll of
 * GET /v1/nodes/{id}/assignments?watch=REV. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controller_int.h"
#include "fileio.h"
#include "http_router.h"
#include "http_server.h"
#include "join.h"
#include "json.h"
#include "log.h"
#include "secrets.h"
#include "stack_watch.h"
#include "strv.h"
#include "tunnel.h"
#include "xalloc.h"

static struct controller *ctl_of(struct http_req *req, void *userdata) {
        struct controller *c = daemon_env_state(userdata, "controller");

        if (!c)
                http_reply_error(req, 503, "unavailable", "the controller is not running");
        return c;
}

static void reply_result(struct http_req *req, int r, struct err *e, json_t *j) {
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply_json(req, 200, j);
}

int ctl_query_u64(struct http_req *req, const char *name, uint64_t def, uint64_t max,
                  uint64_t *ret) {
        const char *v = http_req_query(req, name);
        char *end;
        unsigned long long x;

        if (!v || !*v) {
                *ret = def;
                return 0;
        }
        errno = 0;
        x = strtoull(v, &end, 10);
        if (errno || *end || v[0] == '-' || x > max) {
                http_reply_error(req, 400, "invalid",
                                 "query parameter '%s': expected an integer "
                                 "0..%" PRIu64 ", got '%s'",
                                 name, max, v);
                return -EINVAL;
        }
        *ret = x;
        return 0;
}

/* Node-scoped routes over TLS serve only the node itself: the client certificate's CN must be
 * {id}. Unix-socket requests (the local node agent, the operator) are governed by the socket's
 * file mode. Answers 403 and returns false otherwise. */
static bool node_itself(struct http_req *req, const char *id) {
        const char *cn = http_req_peer_cn(req);

        if (!http_req_is_tls(req) || (cn && id && streq(cn, id)))
                return true;
        log_warn(id, "Refused %s %s from certificate '%s': not node '%s'", http_req_method(req),
                 http_req_path(req), cn ? cn : "-", id ? id : "");
        http_reply_error(req, 403, "forbidden",
                         "the client certificate (CN '%s') may only act for node '%s'",
                         cn ? cn : "-", cn ? cn : "-");
        return false;
}

static void h_stack_put(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = http_req_json(req, &body, &e);
        if (r >= 0)
                r = controller_up(c, http_req_param(req, "name"), body, realtime_usec(), &res, &e);
        reply_result(req, r, e, res);
}

static void h_stack_get(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);

        if (c)
                stack_get_or_watch(c, req); /* stack_watch.c: ?watch=REV long-polls */
}

static void h_stacks(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = controller_stacks(c, NULL, &res, &e);
        reply_result(req, r, e, res);
}

static void h_stack_delete(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        uint64_t timeout;
        int r;

        if (!c)
                return;
        /* timeout: seconds the agents give each pod to stop; absent = the pod's own grace. */
        if (ctl_query_u64(req, "timeout", UINT64_MAX, 3600, &timeout) < 0)
                return;
        r = controller_down(c, http_req_param(req, "name"),
                            timeout == UINT64_MAX ? -1 : (int)timeout, &res, &e);
        reply_result(req, r, e, res);
}

static void h_services(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = controller_services(c, http_req_query(req, "stack"), &res, &e);
        reply_result(req, r, e, res);
}

static void h_pods(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = controller_pods(c, http_req_query(req, "stack"), &res, &e);
        reply_result(req, r, e, res);
}

static void h_join(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        if (http_req_is_tls(req)) { /* token-authorized (join.c) */
                cluster_join_tls(req, userdata, c);
                return;
        }
        r = http_req_json(req, &body, &e);
        if (r >= 0)
                r = controller_join(c, body, realtime_usec(), &res, &e);
        if (r >= 0)
                log_info(json_get_str(res, "id", NULL), "Node '%s' joined",
                         json_get_str(res, "id", ""));
        reply_result(req, r, e, res);
}

static void h_status(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c || !node_itself(req, http_req_param(req, "id")))
                return;
        r = http_req_json(req, &body, &e);
        if (r >= 0)
                r = controller_status(c, http_req_param(req, "id"), body, realtime_usec(), &e);
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply(req, 204, NULL, NULL, 0);
}

static void waiter_unlink(struct ctl_waiter *w) {
        struct ctl_waiter **p = &w->ctl->waiters;

        while (*p && *p != w)
                p = &(*p)->next;
        if (*p)
                *p = w->next;
        if (w->ctl->loop)
                ev_timer_stop(w->ctl->loop, &w->timeout);
}

static void waiter_free(struct ctl_waiter *w) {
        free(w->node);
        free(w);
}

/* Answers w with the node's assignments and frees it. */
static void waiter_answer(struct ctl_waiter *w) {
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct http_req *req = w->req;
        int r;

        waiter_unlink(w);
        r = controller_assignments(w->ctl, w->node, &res, &e);
        waiter_free(w);
        reply_result(req, r, e, res);
}

/* The watch timed out and nothing the answer holds changed (the node's assignments, the stacks'
 * shared parts, pending stop timeouts): 304 without a body, so an idle cluster does not send
 * and parse every node's full list every CONTROLLER_WATCH_TIMEOUT_MS. */
static void waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        struct ctl_waiter *w = container_of(t, struct ctl_waiter, timeout);
        struct controller *c = w->ctl;
        struct http_req *req = w->req;

        (void)loop;
        (void)revents;
        if (controller_assignment_rev(c, w->node) <= w->rev && w->shared_gen == c->shared_gen &&
            !json_object_get(c->stop_timeouts, w->node)) {
                http_req_on_close(req, NULL, NULL);
                waiter_unlink(w);
                waiter_free(w);
                http_reply(req, 304, NULL, NULL, 0);
                return;
        }
        waiter_answer(w);
}

static void waiter_gone(struct http_req *req, void *ud) {
        struct ctl_waiter *w = ud;

        waiter_unlink(w);
        waiter_free(w);
        /* The request must still be finished to be freed; the write is dropped. */
        http_reply(req, 204, NULL, NULL, 0);
}

void ctl_waiters_flush(struct controller *c, bool all) {
        struct ctl_waiter *w = c->waiters, *next;

        for (; w; w = next) {
                next = w->next;
                if (all || controller_assignment_rev(c, w->node) > w->rev) {
                        http_req_on_close(w->req, NULL, NULL);
                        waiter_answer(w);
                }
        }
}

void ctl_waiters_free(struct controller *c) {
        ctl_waiters_flush(c, true);
}

static void h_assignments(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        struct ctl_waiter *w;
        uint64_t watch, timeout_ms;

        if (!c || !node_itself(req, http_req_param(req, "id")))
                return;
        if (ctl_query_u64(req, "watch", 0, INT64_MAX, &watch) < 0 ||
            ctl_query_u64(req, "timeout", CONTROLLER_WATCH_TIMEOUT_MS,
                          CONTROLLER_WATCH_TIMEOUT_MAX_MS, &timeout_ms) < 0)
                return;
        w = xnew0(struct ctl_waiter, 1);
        w->ctl = c;
        w->req = req;
        w->node = xstrdup(http_req_param(req, "id"));
        w->rev = watch;
        w->shared_gen = c->shared_gen;
        /* Answer at once: a first call, or the assignments moved past REV. */
        if (watch == 0 || controller_assignment_rev(c, w->node) > watch || !c->loop ||
            timeout_ms == 0) {
                waiter_answer(w);
                return;
        }
        w->next = c->waiters;
        c->waiters = w;
        ev_timer_init(&w->timeout, waiter_timeout_cb, (double)timeout_ms / 1000., 0.);
        ev_timer_start(c->loop, &w->timeout);
        http_req_on_close(req, waiter_gone, w);
}

static const struct http_route controller_routes[] = {
        {"GET", "/v1/stacks", h_stacks},
        {"GET", "/v1/stacks/{name}", h_stack_get},
        {"PUT", "/v1/stacks/{name}", h_stack_put},
        {"DELETE", "/v1/stacks/{name}", h_stack_delete},
        {"GET", "/v1/services", h_services},
        {"GET", "/v1/pods", h_pods},
        {"POST", "/v1/nodes/join", h_join},
        {"GET", "/v1/nodes/{id}/assignments", h_assignments},
        {"PUT", "/v1/nodes/{id}/status", h_status},
        {},
};

int controller_api_register(struct http_router *router, struct err **errp) {
        int r = http_router_add_table(router, controller_routes, errp);

        if (r >= 0)
                r = secrets_api_register(router, errp);
        return r < 0 ? r : tunnel_api_register(router, errp);
}
