/* SPDX-License-Identifier: Apache-2.0 */
/* `berth up` without -d: follows the logs of every container of the stack, as they appear,
 * prefixed with "service-slot |", until SIGINT or SIGTERM. One libev loop drives every log
 * stream and a 1 s poll of the stack's containers through the curl multi client: berth-engine's,
 * for https hosts; the thin berth follows unix hosts with stacks_follow.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "cleanup.h"
#include "http_client.h"
#include "json.h"
#include "stacks_follow.h"
#include "stacks_logs.h"
#include "strv.h"
#include "xalloc.h"

#define POLL_SEC 1.0
#define FOLLOW_MAX 1024

struct follow;

struct logs {
        struct ev_loop *loop;
        struct http_multi *http;
        struct http_target target;
        char *list_path;
        struct http_xfer *list_x;
        ev_timer poll;
        ev_signal sigint, sigterm;
        struct follow *follows; /* containers being followed */
        char **seen;            /* ids followed before: re-attached without history */
        size_t n_follows;
        bool stop;
};

struct follow {
        struct logs *l;
        char *id;
        char *prefix;
        struct http_xfer *x;
        struct follow *next;
};

static void follow_free(struct follow *f) {
        struct follow **pp = &f->l->follows;

        while (*pp && *pp != f)
                pp = &(*pp)->next;
        if (*pp) {
                *pp = f->next;
                f->l->n_follows--;
        }
        free(f->id);
        free(f->prefix);
        free(f);
}

static int on_log_line(const char *line, size_t len, void *ud) {
        const struct follow *f = ud;

        stack_log_print(f->prefix, line, len);
        return 0;
}

static void follow_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct follow *f = ud;

        (void)r;
        (void)resp;
        (void)e;
        /* The container stopped (or went away): the next poll attaches again if it runs. */
        f->x = NULL;
        follow_free(f);
}

static void follow_start(struct logs *l, const char *id, const char *prefix) {
        bool again = strv_contains(l->seen, id);
        _cleanup_free_ char *path =
                xasprintf("/v1/containers/%s/logs?follow=1%s", id, again ? "&tail=0" : "");
        struct follow *f;

        if (l->n_follows >= FOLLOW_MAX)
                return;
        f = xnew0(struct follow, 1);
        f->l = l;
        f->id = xstrdup(id);
        f->prefix = xstrdup(prefix);
        if (http_multi_request(l->http, &l->target,
                               &(struct http_call){.path = path, .on_line = on_log_line, .ud = f},
                               follow_done, f, &f->x, NULL) < 0) {
                free(f->id);
                free(f->prefix);
                free(f);
                return;
        }
        f->next = l->follows;
        l->follows = f;
        l->n_follows++;
        if (!again)
                strv_push(&l->seen, id);
}

static bool following(const struct logs *l, const char *id) {
        for (const struct follow *f = l->follows; f; f = f->next)
                if (streq(f->id, id))
                        return true;
        return false;
}

static void list_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct logs *l = ud;
        _cleanup_json_ json_t *list = NULL;
        size_t i;
        json_t *c;

        (void)e;
        l->list_x = NULL;
        if (r < 0 || resp->status != 200 ||
            json_parse(resp->body, resp->body_len, "containers", &list, NULL) < 0)
                return;
        json_array_foreach (list, i, c) {
                const char *id = json_get_str(c, "Id", NULL);
                _cleanup_free_ char *prefix = NULL;

                if (!id || following(l, id))
                        continue;
                prefix = stack_log_prefix(c);
                follow_start(l, id, prefix);
        }
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct logs *l = container_of(w, struct logs, poll);

        (void)loop;
        (void)revents;
        if (l->list_x)
                return;
        (void)http_multi_request(l->http, &l->target,
                                 &(struct http_call){.path = l->list_path, .timeout_ms = 10000},
                                 list_done, l, &l->list_x, NULL);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        struct logs *l = w->data;

        (void)revents;
        l->stop = true;
        ev_break(loop, EVBREAK_ALL);
}

int stack_follow_logs(const struct http_target *target, const char *stack, struct err **errp) {
        struct logs l = {
                .target = *target,
                .list_path = stack_log_list_path(stack),
        };
        int r;

        l.loop = ev_loop_new(EVFLAG_AUTO);
        if (!l.loop) {
                free(l.list_path);
                return err_setx(errp, ENOMEM, "cannot create an event loop");
        }
        r = http_multi_new(l.loop, &l.http, errp);
        if (r >= 0) {
                ev_timer_init(&l.poll, poll_cb, 0., POLL_SEC);
                ev_timer_start(l.loop, &l.poll);
                ev_signal_init(&l.sigint, signal_cb, SIGINT);
                ev_signal_init(&l.sigterm, signal_cb, SIGTERM);
                l.sigint.data = l.sigterm.data = &l;
                ev_signal_start(l.loop, &l.sigint);
                ev_signal_start(l.loop, &l.sigterm);
                ev_run(l.loop, 0);
                ev_signal_stop(l.loop, &l.sigint);
                ev_signal_stop(l.loop, &l.sigterm);
                ev_timer_stop(l.loop, &l.poll);
        }
        /* Aborts the streams without their callbacks. */
        http_multi_free(l.http);
        while (l.follows)
                follow_free(l.follows);
        strv_free(l.seen);
        free(l.list_path);
        ev_loop_destroy(l.loop);
        return r < 0 ? r : l.stop ? 1 : 0;
}
