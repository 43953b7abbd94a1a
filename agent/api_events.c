/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/events (NDJSON stream of docker-shaped events, with since/until/filters) and
 * GET /v1/metrics (Prometheus text). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "clog.h"
#include "events.h"
#include "fileio.h"
#include "json.h"
#include "metrics.h"
#include "xalloc.h"

struct events_watch {
        struct http_req *req;
        struct daemon *d;
        struct event_sub *sub;
        ev_timer until_timer;
        bool ended;
        bool replaying; /* inside event_subscribe: the history is being delivered */
};

static void watch_end(struct events_watch *w, bool end_stream) {
        if (w->ended)
                return;
        w->ended = true;
        /* During the replay the bus still holds w: h_events ends it after. */
        if (w->replaying) {
                if (end_stream)
                        http_stream_end(w->req);
                return;
        }
        if (w->sub)
                event_unsubscribe(w->d->events, w->sub);
        w->sub = NULL;
        ev_timer_stop(w->d->loop, &w->until_timer);
        if (end_stream)
                http_stream_end(w->req);
        free(w);
}

static void on_event(const struct event *ev, void *ud) {
        struct events_watch *w = ud;
        _cleanup_json_ json_t *j = NULL;

        if (w->ended)
                return;
        j = event_to_json(ev);
        if (http_stream_write_json(w->req, j) < 0)
                watch_end(w, true);
}

static void on_close(struct http_req *req, void *ud) {
        (void)req;
        watch_end(ud, true);
}

static void until_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        struct events_watch *w = container_of(t, struct events_watch, until_timer);

        (void)loop;
        (void)revents;
        watch_end(w, true);
}

static int query_time(struct http_req *req, const char *key, uint64_t now_ns, uint64_t *ret,
                      struct err **errp) {
        const char *v = http_req_query(req, key);

        *ret = 0;
        if (!v || !*v)
                return 0;
        if (clog_parse_time(v, now_ns, ret, errp) < 0)
                return err_wrap(errp, "query parameter '%s'", key);
        /* 0 means "not given" below; a given time of 0 is the start of the history */
        if (*ret == 0)
                *ret = 1;
        return 0;
}

static void h_events(struct http_req *req, void *userdata) {
        struct daemon *d = userdata;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *fj = NULL;
        struct event_filter f = {};
        uint64_t now_ns = realtime_usec() * 1000, since = 0, until = 0;
        const char *filters = http_req_query(req, "filters");
        struct events_watch *w;

        if (query_time(req, "since", now_ns, &since, &e) < 0 ||
            query_time(req, "until", now_ns, &until, &e) < 0)
                return http_reply_err(req, e);
        if (filters && *filters) {
                if (json_parse(filters, strlen(filters), "query parameter 'filters'", &fj, &e) <
                            0 ||
                    event_filter_parse(fj, &f, &e) < 0)
                        return http_reply_err(req, e);
        }
        http_stream_begin(req, 200, "application/x-ndjson");
        w = xnew0(struct events_watch, 1);
        w->req = req;
        w->d = d;
        ev_timer_init(&w->until_timer, until_cb, 0, 0);
        /* History first (docker replays events since `since`), then live events. */
        w->replaying = true;
        w->sub = event_subscribe(d->events, &f, since, until, on_event, w);
        w->replaying = false;
        event_filter_done(&f);
        if (w->ended) {
                event_unsubscribe(d->events, w->sub);
                free(w);
                return;
        }
        if (until) {
                if (until <= now_ns) {
                        watch_end(w, true);
                        return;
                }
                ev_timer_set(&w->until_timer, (double)(until - now_ns) / 1e9, 0);
                ev_timer_start(d->loop, &w->until_timer);
        }
        http_req_on_close(req, on_close, w);
}

static void h_metrics(struct http_req *req, void *userdata) {
        struct daemon *d = userdata;
        _cleanup_free_ char *text = metrics_render(d->metrics);

        http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
}

const struct http_route api_events_routes[] = {
        {"GET", "/v1/events", h_events},
        {"GET", "/v1/metrics", h_metrics},
        {},
};
