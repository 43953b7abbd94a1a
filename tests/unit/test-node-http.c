/* SPDX-License-Identifier: Apache-2.0 */
/* The controller and a node agent on one libev loop, talking HTTP over a unix socket as in
 * `berth daemon`: join, long-poll of assignments, status reports, convergence, down. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "controller.h"
#include "controller_int.h"
#include "http_client.h"
#include "http_router.h"
#include "http_server.h"
#include "json.h"
#include "node.h"
#include "pods.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define GUARD_SEC 30.0

struct harness {
        struct ev_loop *loop;
        char dir[64];
        char *sock, *url;
        struct daemon_env env;
        struct controller *ctl;
        struct http_router *router;
        struct http_server *http;
        struct node *node;
        struct pod_fake fake;
        ev_timer check, guard;
        size_t want_pods;
        const char *want_name; /* and this pod exists (NULL: any) */
        bool timed_out;
        /* run_until_pred: the loop runs until pred(h) */
        bool (*pred)(struct harness *h);
        /* the long poll of test_stack_watch */
        struct http_multi *client;
        long status;
        char *body;
        bool answered;
};

static void harness_done(struct harness *h) {
        http_multi_free(h->client);
        free(h->body);
        h->node = node_free(h->node);
        h->ctl = controller_free(h->ctl);
        h->http = http_server_free(h->http);
        h->router = http_router_free(h->router);
        pod_fake_done(&h->fake);
        if (h->sock)
                unlink(h->sock);
        if (h->dir[0])
                rmdir(h->dir);
        free(h->sock);
        free(h->url);
        if (h->loop)
                ev_loop_destroy(h->loop);
}

/* status_interval: the node's report tick (seconds). */
static int harness_init_interval(struct harness *h, double status_interval) {
        struct store *s = NULL;
        int r;

        *h = (struct harness){};
        snprintf(h->dir, sizeof(h->dir), "/tmp/test-node-http-XXXXXX");
        if (!mkdtemp(h->dir))
                return -errno;
        h->sock = xasprintf("%s/berth.sock", h->dir);
        h->url = xasprintf("unix://%s", h->sock);
        h->loop = ev_loop_new(EVFLAG_AUTO);
        r = store_open_mem(0, &s, NULL);
        if (r >= 0)
                r = controller_new(h->loop, s, &h->ctl, NULL);
        if (r < 0)
                return r;
        h->env = (struct daemon_env){.loop = h->loop, .local_url = h->url};
        h->env.addons[0].name = "controller";
        h->env.addons[0].state = h->ctl;
        h->env.n_addons = 1;
        h->router = http_router_new();
        r = http_server_new(h->loop, &(struct http_server_config){}, h->router, &h->env, &h->http,
                            NULL);
        if (r >= 0)
                r = http_server_listen_unix(h->http, h->sock, 0600, (gid_t)-1, NULL);
        if (r >= 0)
                r = node_new(h->loop,
                             &(struct node_config){.name = "n1",
                                                   .controller = {.host = h->url},
                                                   .rt = &pod_fake_ops,
                                                   .rt_ud = &h->fake,
                                                   .status_interval = status_interval},
                             &h->node, NULL);
        return r;
}

static int harness_init(struct harness *h) {
        return harness_init_interval(h, 0.05);
}

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct harness *h = container_of(w, struct harness, check);
        size_t running = 0;

        (void)revents;
        for (size_t i = 0; i < h->fake.n_pods; i++)
                if (h->fake.pods[i].state == POD_RT_RUNNING)
                        running++;
        if (h->pred ? h->pred(h)
                    : running == h->want_pods && h->fake.n_pods == h->want_pods &&
                              (!h->want_name || pod_fake_find(&h->fake, h->want_name)))
                ev_break(loop, EVBREAK_ONE);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct harness *h = container_of(w, struct harness, guard);

        (void)revents;
        h->timed_out = true;
        ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until the fake runtime holds want running pods (or the guard fires). */
static bool run_until(struct harness *h, size_t want) {
        h->want_pods = want;
        h->timed_out = false;
        ev_timer_init(&h->check, check_cb, 0.02, 0.02);
        ev_timer_init(&h->guard, guard_cb, GUARD_SEC, 0.);
        ev_timer_start(h->loop, &h->check);
        ev_timer_start(h->loop, &h->guard);
        ev_run(h->loop, 0);
        ev_timer_stop(h->loop, &h->check);
        ev_timer_stop(h->loop, &h->guard);
        return !h->timed_out;
}

static json_t *model(const char *web_hash) {
        return json_pack("{s:s, s:{s:{s:s, s:i, s:s, s:{s:{s:s}, s:[{s:s, s:s}]}},"
                         " s:{s:s, s:i, s:s, s:{s:{s:s}, s:[{s:s, s:s}]}, s:{s:{s:s}}}}}",
                         "name", "demo", "services", "db", "name", "db", "replicas", 1, "hash",
                         "d000000000000001", "pod", "restart", "policy", "always", "containers",
                         "name", "db", "image", "busybox", "web", "name", "web", "replicas", 2,
                         "hash", web_hash, "pod", "restart", "policy", "always", "containers",
                         "name", "web", "image", "busybox", "depends_on", "db", "condition",
                         "service_started");
}

static void test_http_round_trip(void) {
        _cleanup_(harness_done) struct harness h = {};
        _cleanup_json_ json_t *res = NULL, *body = NULL, *down = NULL, *pods = NULL;
        size_t creates = 0;

        ASSERT_OK(harness_init(&h));
        ASSERT_OK(controller_api_register(h.router, NULL));
        ASSERT_OK(node_start(h.node, NULL));
        body = json_pack("{s:o}", "model", model("e000000000000001"));
        ASSERT_OK(controller_up(h.ctl, "demo", body, 1, &res, NULL));
        ASSERT_TRUE(run_until(&h, 3));
        ASSERT_TRUE(node_synced(h.node));
        STRV_FOREACH (c, h.fake.calls)
                if (str_startswith(*c, "create "))
                        creates++;
        ASSERT_EQ(creates, 3);
        /* The reports reached the controller. */
        ASSERT_TRUE(run_until(&h, 3));
        ASSERT_OK(controller_pods(h.ctl, "demo", &pods, NULL));
        ASSERT_EQ(json_array_size(pods), 3);

        /* A new web template: both web pods replaced, db untouched. */
        json_decref(res);
        res = NULL;
        json_decref(body);
        body = json_pack("{s:o}", "model", model("f000000000000002"));
        ASSERT_OK(controller_up(h.ctl, "demo", body, 2, &res, NULL));
        /* one pod at a time: three run in between, so wait for the last one */
        h.want_name = "demo.web.2.f00000000000";
        ASSERT_TRUE(run_until(&h, 3));
        h.want_name = NULL;
        ASSERT_NOT_NULL(pod_fake_find(&h.fake, "demo.web.1.f00000000000"));
        ASSERT_NOT_NULL(pod_fake_find(&h.fake, "demo.web.2.f00000000000"));
        ASSERT_NOT_NULL(pod_fake_find(&h.fake, "demo.db.1.d00000000000"));
        creates = 0;
        STRV_FOREACH (c, h.fake.calls)
                if (str_startswith(*c, "create demo.db."))
                        creates++;
        ASSERT_EQ(creates, 1);

        /* Local healing: a crashed pod is restarted by the node on its own. */
        ASSERT_OK(pod_fake_set(&h.fake, "demo.db.1.d00000000000", POD_RT_EXITED, 1,
                               POD_RT_HEALTH_NONE));
        ASSERT_TRUE(run_until(&h, 3));
        ASSERT_TRUE(strv_contains(h.fake.calls, "start demo.db.1.d00000000000"));

        ASSERT_OK(controller_down(h.ctl, "demo", -1, &down, NULL));
        ASSERT_EQ(json_array_size(json_object_get(down, "removed")), 3);
        ASSERT_TRUE(run_until(&h, 0));
        ASSERT_EQ(h.fake.n_pods, 0);
}

/* Runs the loop until pred(h) holds (or the guard fires). */
static bool run_until_pred(struct harness *h, bool (*pred)(struct harness *h)) {
        bool ok;

        h->pred = pred;
        ok = run_until(h, 0);
        h->pred = NULL;
        return ok;
}

/* The state the controller has for pod demo.db.1 ("" when none). */
static char *db_state(struct harness *h) {
        _cleanup_json_ json_t *pods = NULL;
        size_t i;
        json_t *p;

        if (controller_pods(h->ctl, "demo", &pods, NULL) < 0)
                return xstrdup("");
        json_array_foreach (pods, i, p)
                if (streq(json_get_str(p, "service", ""), "db"))
                        return xstrdup(json_get_str(p, "state", ""));
        return xstrdup("");
}

static bool db_exited(struct harness *h) {
        _cleanup_free_ char *st = db_state(h);
        return streq(st, "exited");
}

static bool three_created(struct harness *h) {
        return h->fake.n_pods == 3;
}

static json_t *model_no_restart(void) {
        json_t *m = model("e000000000000001");

        json_object_set_new(
                json_object_get(json_object_get(json_object_get(m, "services"), "db"), "pod"),
                "restart", json_pack("{s:s}", "policy", "no"));
        return m;
}

/* A pod that changes by itself (here: exits) is reported at once, not at the node's next
 * tick: with a 60 s tick, the controller must see the exit well before the 30 s guard. */
static void test_report_at_once(void) {
        _cleanup_(harness_done) struct harness h = {};
        _cleanup_json_ json_t *res = NULL, *body = NULL;

        ASSERT_OK(harness_init_interval(&h, 60.0));
        ASSERT_OK(controller_api_register(h.router, NULL));
        ASSERT_OK(node_start(h.node, NULL));
        body = json_pack("{s:o}", "model", model_no_restart());
        ASSERT_OK(controller_up(h.ctl, "demo", body, 1, &res, NULL));
        ASSERT_TRUE(run_until_pred(&h, three_created));
        ASSERT_OK(pod_fake_set(&h.fake, "demo.db.1.d00000000000", POD_RT_EXITED, 3,
                               POD_RT_HEALTH_NONE));
        ASSERT_TRUE(run_until_pred(&h, db_exited));
        /* restart policy no: left exited, never started again */
        ASSERT_FALSE(strv_contains(h.fake.calls, "start demo.db.1.d00000000000"));
}

static void watch_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct harness *h = ud;

        (void)e;
        h->answered = true;
        h->status = r < 0 ? -1 : resp->status;
        free(h->body);
        h->body = r < 0 ? NULL : xstrdup(resp->body);
}

static bool answered(struct harness *h) {
        return h->answered;
}

/* GET /v1/stacks/{name}?watch=REV&timeout=MS on the loop; returns the answer's JSON (NULL on
 * a transport error), *ret_status its status. */
static json_t *get_stack(struct harness *h, const char *query, long *ret_status) {
        _cleanup_free_ char *path = xasprintf("/v1/stacks/demo%s", query);
        json_t *j = NULL;

        h->answered = false;
        if (!h->client && http_multi_new(h->loop, &h->client, NULL) < 0)
                return NULL;
        if (http_multi_request(h->client, &(struct http_target){.host = h->url},
                               &(struct http_call){.path = path, .timeout_ms = 20000}, watch_done,
                               h, NULL, NULL) < 0)
                return NULL;
        if (!run_until_pred(h, answered) || !h->body)
                return NULL;
        *ret_status = h->status;
        (void)json_parse(h->body, strlen(h->body), "answer", &j, NULL);
        return j;
}

/* The stack long poll `up --wait` follows: answered with the revision at once without watch,
 * parked until the stack changes with it, and answered when the timeout passes. */
static void test_stack_watch(void) {
        _cleanup_(harness_done) struct harness h = {};
        _cleanup_json_ json_t *res = NULL, *body = NULL, *a = NULL, *b = NULL, *c = NULL,
                              *bad = NULL;
        _cleanup_free_ char *q = NULL, *q2 = NULL;
        uint64_t rev;
        long status = 0;

        ASSERT_OK(harness_init_interval(&h, 60.0));
        ASSERT_OK(controller_api_register(h.router, NULL));
        ASSERT_OK(node_start(h.node, NULL));
        body = json_pack("{s:o}", "model", model_no_restart());
        ASSERT_OK(controller_up(h.ctl, "demo", body, 1, &res, NULL));
        ASSERT_TRUE(run_until_pred(&h, three_created));

        a = get_stack(&h, "", &status);
        ASSERT_NOT_NULL(a);
        ASSERT_EQ(status, 200);
        rev = (uint64_t)json_get_int(a, "revision", 0);
        ASSERT_TRUE(rev > 0);
        ASSERT_TRUE(json_is_object(json_object_get(a, "services")));

        /* Nothing changes: answered when the timeout passes, with the same revision. */
        q = xasprintf("?watch=%" PRIu64 "&timeout=50", rev);
        b = get_stack(&h, q, &status);
        ASSERT_NOT_NULL(b);
        ASSERT_EQ(status, 200);
        ASSERT_EQ((uint64_t)json_get_int(b, "revision", 0), rev);

        /* The db pod exits while a watch is parked: answered with the new state. */
        q2 = xasprintf("?watch=%" PRIu64 "&timeout=20000", rev);
        {
                _cleanup_free_ char *path = xasprintf("/v1/stacks/demo%s", q2);

                h.answered = false;
                ASSERT_OK(http_multi_request(h.client, &(struct http_target){.host = h.url},
                                             &(struct http_call){.path = path, .timeout_ms = 20000},
                                             watch_done, &h, NULL, NULL));
        }
        ASSERT_OK(pod_fake_set(&h.fake, "demo.db.1.d00000000000", POD_RT_EXITED, 3,
                               POD_RT_HEALTH_NONE));
        ASSERT_TRUE(run_until_pred(&h, answered));
        ASSERT_EQ(h.status, 200);
        ASSERT_OK(json_parse(h.body, strlen(h.body), "answer", &c, NULL));
        ASSERT_TRUE((uint64_t)json_get_int(c, "revision", 0) > rev);
        ASSERT_EQ(
                json_get_int(json_object_get(json_object_get(c, "services"), "db"), "running", -1),
                0);

        /* Bad input names the parameter; an unknown stack is 404 even with a watch. */
        bad = get_stack(&h, "?watch=x", &status);
        ASSERT_EQ(status, 400);
        ASSERT_NOT_NULL(strstr(h.body, "'watch'"));
        {
                _cleanup_json_ json_t *none = NULL;
                _cleanup_free_ char *path = xasprintf("/v1/stacks/nope?watch=%" PRIu64, rev);

                h.answered = false;
                ASSERT_OK(http_multi_request(h.client, &(struct http_target){.host = h.url},
                                             &(struct http_call){.path = path, .timeout_ms = 20000},
                                             watch_done, &h, NULL, NULL));
                ASSERT_TRUE(run_until_pred(&h, answered));
                ASSERT_EQ(h.status, 404);
        }
}

static bool db_error_reported(struct harness *h) {
        _cleanup_json_ json_t *pods = NULL;
        size_t i;
        json_t *p;

        if (controller_pods(h->ctl, "demo", &pods, NULL) < 0)
                return false;
        json_array_foreach (pods, i, p)
                if (streq(json_get_str(p, "service", ""), "db") &&
                    strstr(json_get_str(p, "error", ""), "no such binary"))
                        return true;
        return false;
}

static size_t db_creates(struct harness *h) {
        size_t n = 0;

        STRV_FOREACH (c, h->fake.calls)
                if (str_startswith(*c, "create demo.db."))
                        n++;
        return n;
}

static bool db_created_again(struct harness *h) {
        return db_creates(h) == 2 && pod_fake_find(&h->fake, "demo.db.1.d00000000000");
}

/* A new pod whose start fails after create_pod returned (the runtime removed it): the node
 * reports why, as for a failed create, and creates it again after a backoff. */
static void test_async_start_failure(void) {
        _cleanup_(harness_done) struct harness h = {};
        _cleanup_json_ json_t *res = NULL, *body = NULL;

        ASSERT_OK(harness_init_interval(&h, 60.0));
        ASSERT_OK(controller_api_register(h.router, NULL));
        ASSERT_OK(node_start(h.node, NULL));
        body = json_pack("{s:o}", "model", model_no_restart());
        ASSERT_OK(controller_up(h.ctl, "demo", body, 1, &res, NULL));
        ASSERT_TRUE(run_until_pred(&h, three_created));
        ASSERT_EQ(db_creates(&h), 1);
        ASSERT_OK(
                pod_fake_fail_start(&h.fake, "demo.db.1.d00000000000", "exec: no such binary 'x'"));
        ASSERT_NULL(pod_fake_find(&h.fake, "demo.db.1.d00000000000"));
        ASSERT_TRUE(run_until_pred(&h, db_error_reported));
        ASSERT_TRUE(run_until_pred(&h, db_created_again));
        ASSERT_EQ(pod_fake_fail_start(&h.fake, "nope", "x"), -ENOENT);
}

TAP_MAIN(test_http_round_trip, test_report_at_once, test_stack_watch, test_async_start_failure)
