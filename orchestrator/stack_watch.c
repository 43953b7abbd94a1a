/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/stacks/{name} with its long-poll (stack_watch.h). The waiters hang off the
 * controller; store watches on stacks/, pods/ and nodes/ mark the ones whose stack may have
 * changed, and a zero timer answers them after the commit that woke them. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controller_int.h"
#include "fileio.h"
#include "http_server.h"
#include "json.h"
#include "stack_watch.h"
#include "strv.h"
#include "xalloc.h"

#define STACK_WATCH_TIMEOUT_MS 30000u
#define STACK_WATCH_TIMEOUT_MAX_MS 300000u

struct stack_waiter {
        struct stack_watch *sw;
        struct http_req *req;
        char *name;
        uint64_t rev;
        bool due;
        ev_timer timeout;
        struct stack_waiter *next;
};

struct stack_watch {
        struct controller *c;
        uint64_t ids[3];
        ev_timer flush;
        struct stack_waiter *waiters;
};

/* The stack's summary plus the revision it reflects. */
static void answer_now(struct controller *c, struct http_req *req, const char *name) {
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        uint64_t rev = store_revision(controller_store(c));

        if (controller_stacks(c, name, &res, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        json_object_set_new(res, "revision", json_integer((json_int_t)rev));
        http_reply_json(req, 200, res);
}

static void waiter_unlink(struct stack_waiter *w) {
        struct stack_waiter **p = &w->sw->waiters;

        while (*p && *p != w)
                p = &(*p)->next;
        if (*p)
                *p = w->next;
        ev_timer_stop(w->sw->c->loop, &w->timeout);
}

static void waiter_free(struct stack_waiter *w) {
        free(w->name);
        free(w);
}

static void waiter_answer(struct stack_waiter *w) {
        struct controller *c = w->sw->c;
        struct http_req *req = w->req;
        _cleanup_free_ char *name = TAKE_PTR(w->name);

        waiter_unlink(w);
        waiter_free(w);
        http_req_on_close(req, NULL, NULL);
        answer_now(c, req, name);
}

static void waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        (void)loop;
        (void)revents;
        waiter_answer(container_of(t, struct stack_waiter, timeout));
}

static void waiter_gone(struct http_req *req, void *ud) {
        struct stack_waiter *w = ud;

        waiter_unlink(w);
        waiter_free(w);
        /* The request must still be finished to be freed; the write is dropped. */
        http_reply(req, 204, NULL, NULL, 0);
}

static void flush_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        struct stack_watch *sw = container_of(t, struct stack_watch, flush);
        struct stack_waiter *w, *next;

        (void)loop;
        (void)revents;
        for (w = sw->waiters; w; w = next) {
                next = w->next;
                if (w->due)
                        waiter_answer(w);
        }
}

/* Whether a change of key may change stack name's summary: its record, its pod records, or
 * any node's report. */
static bool concerns(const char *key, const char *name) {
        size_t n = strlen(name);
        const char *rest;

        if (str_startswith(key, "nodes/"))
                return true;
        if (str_startswith(key, "stacks/"))
                rest = key + strlen("stacks/");
        else if (str_startswith(key, "pods/"))
                rest = key + strlen("pods/");
        else
                return false;
        return strncmp(rest, name, n) == 0 && (rest[n] == '\0' || rest[n] == '/');
}

static int on_change(const struct store_event *ev, void *ud) {
        struct stack_watch *sw = ud;
        bool any = false;

        for (struct stack_waiter *w = sw->waiters; w; w = w->next)
                if (!w->due && ev->rev > w->rev && concerns(ev->key, w->name))
                        w->due = any = true;
        if (any && !ev_is_active(&sw->flush))
                ev_timer_start(sw->c->loop, &sw->flush);
        return 0;
}

/* Whether something of stack name changed after rev (a compacted history counts as yes: the
 * client catches up from the answer). */
static bool changed_since(struct store *s, const char *name, uint64_t rev) {
        _cleanup_free_ char *sk = xasprintf("stacks/%s", name), *pk = xasprintf("pods/%s/", name);
        const char *prefixes[] = {"nodes/", sk, pk};
        bool changed = false;

        if (store_revision(s) <= rev)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(prefixes) && !changed; i++) {
                struct store_event *evs = NULL;
                size_t n = 0;

                if (s->ops->changes(s, prefixes[i], rev, &evs, &n, NULL) < 0)
                        return true;
                for (size_t k = 0; k < n && !changed; k++)
                        changed = concerns(evs[k].key, name);
                store_events_free(evs, n);
        }
        return changed;
}

static struct stack_watch *watch_get(struct controller *c, struct err **errp) {
        static const char *const prefixes[] = {"stacks/", "pods/", "nodes/"};
        struct stack_watch *sw;
        uint64_t rev;

        if (c->stack_watch)
                return c->stack_watch;
        sw = xnew0(struct stack_watch, 1);
        sw->c = c;
        rev = store_revision(c->store);
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (store_watch(c->store, prefixes[i], rev, on_change, sw, &sw->ids[i], errp) < 0) {
                        while (i-- > 0)
                                store_unwatch(c->store, sw->ids[i]);
                        free(sw);
                        return NULL;
                }
        ev_timer_init(&sw->flush, flush_cb, 0., 0.);
        c->stack_watch = sw;
        return sw;
}

void stack_get_or_watch(struct controller *c, struct http_req *req) {
        const char *name = http_req_param(req, "name");
        _cleanup_free_ char *key = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct store_kv kv = {};
        struct stack_watch *sw;
        struct stack_waiter *w;
        uint64_t watch, timeout_ms;
        int r;

        if (!name)
                name = "";
        if (ctl_query_u64(req, "watch", 0, INT64_MAX, &watch) < 0 ||
            ctl_query_u64(req, "timeout", STACK_WATCH_TIMEOUT_MS, STACK_WATCH_TIMEOUT_MAX_MS,
                          &timeout_ms) < 0)
                return;
        key = xasprintf("stacks/%s", name);
        r = store_get(c->store, key, &kv, NULL);
        store_kv_done(&kv);
        /* At once: no watch, no such stack (404), or changed since REV. */
        if (watch == 0 || timeout_ms == 0 || !c->loop || r < 0 ||
            changed_since(c->store, name, watch)) {
                answer_now(c, req, name);
                return;
        }
        sw = watch_get(c, &e);
        if (!sw) {
                http_reply_err(req, e);
                return;
        }
        w = xnew0(struct stack_waiter, 1);
        *w = (struct stack_waiter){.sw = sw, .req = req, .name = xstrdup(name), .rev = watch};
        w->next = sw->waiters;
        sw->waiters = w;
        ev_timer_init(&w->timeout, waiter_timeout_cb, (double)timeout_ms / 1000., 0.);
        ev_timer_start(c->loop, &w->timeout);
        http_req_on_close(req, waiter_gone, w);
}

void stack_watch_free(struct controller *c) {
        struct stack_watch *sw = c->stack_watch;

        if (!sw)
                return;
        while (sw->waiters)
                waiter_answer(sw->waiters);
        for (size_t i = 0; i < ELEMENTSOF(sw->ids); i++)
                store_unwatch(c->store, sw->ids[i]);
        ev_timer_stop(c->loop, &sw->flush);
        free(sw);
        c->stack_watch = NULL;
}
