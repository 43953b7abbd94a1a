/* SPDX-License-Identifier: Apache-2.0 */
/* The controller and a node agent on one libev loop, talking HTTP over a unix socket as in
 * `berth daemon`: join, long-poll of assignments, status reports, convergence, down. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "controller.h"
#include "controller_int.h"
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
};

static void harness_done(struct harness *h) {
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

static int harness_init(struct harness *h) {
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
                                                   .status_interval = 0.05},
                             &h->node, NULL);
        return r;
}

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct harness *h = container_of(w, struct harness, check);
        size_t running = 0;

        (void)revents;
        for (size_t i = 0; i < h->fake.n_pods; i++)
                if (h->fake.pods[i].state == POD_RT_RUNNING)
                        running++;
        if (running == h->want_pods && h->fake.n_pods == h->want_pods &&
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

TAP_MAIN(test_http_round_trip)
