/* SPDX-License-Identifier: Apache-2.0 */
/* The controller and the node agent's cores end to end without HTTP: the memory store, one
 * node with the fake pod runtime. Each round: the controller reconciles, the node reads its
 * assignments, reconciles its pods and reports them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "controller.h"
#include "json.h"
#include "node.h"
#include "pods.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define ROUNDS 8
#define NOW (1000 * USEC_PER_SEC)

static json_t *service(const char *name, unsigned replicas, const char *hash, const char *dep,
                       const char *env) {
        json_t *s = json_pack("{s:s, s:s, s:i, s:s, s:{s:{s:s}, s:[{s:s, s:s, s:{s:s}}]}}", "name",
                              name, "kind", "service", "replicas", (int)replicas, "hash", hash,
                              "pod", "restart", "policy", "always", "containers", "name", name,
                              "image", "busybox", "env", "V", env);
        if (dep)
                json_object_set_new(s, "depends_on",
                                    json_pack("{s:{s:s}}", dep, "condition", "service_started"));
        return s;
}

/* db <- api <- web (2 replicas); api's env and hash vary. */
static json_t *model(const char *api_hash, const char *api_env, unsigned web_replicas) {
        return json_pack("{s:s, s:{s:o, s:o, s:o}}", "name", "shop", "services", "db",
                         service("db", 1, "d000000000000001", NULL, "1"), "api",
                         service("api", 1, api_hash, "db", api_env), "web",
                         service("web", web_replicas, "e000000000000001", "api", "1"));
}

static json_t *up_body(json_t *m, bool dry) {
        return json_pack("{s:o, s:{s:b}}", "model", m, "options", "dry_run", dry);
}

static json_t *json_decref_ret(json_t *j) {
        json_decref(j);
        return NULL;
}

struct world {
        struct controller *ctl;
        struct node *node;
        struct pod_fake fake;
};

static void world_done(struct world *w) {
        w->ctl = controller_free(w->ctl);
        w->node = node_free(w->node);
        pod_fake_done(&w->fake);
}

/* A memory store, or SQLite at db. */
static int world_init(struct world *w, const char *db) {
        _cleanup_json_ json_t *res = NULL, *j = NULL;
        struct store *s = NULL;
        int r;

        *w = (struct world){};
        r = db ? store_open_sqlite(db, 0, &s, NULL) : store_open_mem(0, &s, NULL);
        if (r < 0)
                return r;
        r = controller_new(NULL, s, &w->ctl, NULL);
        if (r < 0)
                return r;
        r = node_new(NULL,
                     &(struct node_config){.name = "n1", .rt = &pod_fake_ops, .rt_ud = &w->fake},
                     &w->node, NULL);
        if (r < 0)
                return r;
        j = json_pack("{s:s}", "name", "n1");
        return controller_join(w->ctl, j, NOW, &res, NULL);
}

/* The node's half of a round: read assignments, reconcile, report. */
static int node_round(struct world *w, uint64_t now) {
        _cleanup_json_ json_t *a = NULL, *st = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        r = controller_assignments(w->ctl, "n1", &a, &e);
        if (r >= 0)
                r = node_set_assignments(w->node, a, &e);
        if (r >= 0)
                r = node_reconcile(w->node, now, &e);
        if (r >= 0)
                r = node_status_json(w->node, &st, &e);
        if (r >= 0)
                r = controller_status(w->ctl, "n1", st, now, &e);
        if (r < 0)
                printf("# node round: %s\n", err_msg(e));
        return r;
}

static int rounds(struct world *w, int n) {
        for (int i = 0; i < n; i++) {
                int r = node_round(w, NOW + (uint64_t)i * USEC_PER_SEC);
                if (r < 0)
                        return r;
                controller_reconcile_all(w->ctl, NOW + (uint64_t)i * USEC_PER_SEC);
        }
        return 0;
}

static size_t count_calls(const struct pod_fake *f, const char *prefix) {
        size_t n = 0;
        STRV_FOREACH (c, f->calls)
                if (str_startswith(*c, prefix))
                        n++;
        return n;
}

static size_t count_ops(const json_t *res, const char *kind) {
        size_t n = 0, i;
        json_t *op;

        json_array_foreach (json_object_get(res, "plan"), i, op)
                if (streq(json_get_str(op, "op", ""), kind))
                        n++;
        return n;
}

static int up(struct world *w, json_t *m, json_t **ret) {
        _cleanup_json_ json_t *b = up_body(m, false);
        return controller_up(w->ctl, "shop", b, NOW, ret, NULL);
}

static void test_up_converges(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *res = NULL, *pods = NULL;
        size_t i;
        json_t *p;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &res));
        /* The node has not reported since the controller started: nothing placed yet. */
        ASSERT_EQ(count_ops(res, "START"), 0);
        ASSERT_TRUE(count_ops(res, "WAIT") >= 1);
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(w.fake.n_pods, 4);
        ASSERT_EQ(count_calls(&w.fake, "create "), 4);
        /* Dependencies first: db, then api, then web. */
        ASSERT_TRUE(str_startswith(w.fake.calls[0], "create shop.db.1."));
        ASSERT_TRUE(str_startswith(w.fake.calls[1], "create shop.api.1."));
        ASSERT_TRUE(str_startswith(w.fake.calls[2], "create shop.web."));
        ASSERT_OK(controller_pods(w.ctl, "shop", &pods, NULL));
        ASSERT_EQ(json_array_size(pods), 4);
        json_array_foreach (pods, i, p)
                ASSERT_STREQ(json_get_str(p, "state", ""), "running");
}

static void test_up_again_changes_nothing(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *r2 = NULL;
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        calls = strv_length(w.fake.calls);
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r2));
        ASSERT_EQ(count_ops(r2, "KEEP"), 4);
        ASSERT_EQ(json_array_size(json_object_get(r2, "plan")), 4);
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(strv_length(w.fake.calls), calls);
}

static void test_env_change_replaces_one_service(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *r2 = NULL;
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        calls = strv_length(w.fake.calls);
        ASSERT_OK(up(&w, model("b000000000000002", "2", 2), &r2));
        ASSERT_EQ(count_ops(r2, "REPLACE"), 1);
        ASSERT_EQ(count_ops(r2, "KEEP"), 3);
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(strv_length(w.fake.calls), calls + 2);
        ASSERT_STREQ(w.fake.calls[calls], "remove shop.api.1.a00000000000");
        ASSERT_STREQ(w.fake.calls[calls + 1], "create shop.api.1.b00000000000");
        ASSERT_STREQ(pod_fake_find(&w.fake, "shop.api.1.b00000000000")->hash, "b000000000000002");
        ASSERT_EQ(w.fake.n_pods, 4);
        /* The same 12-character prefix still replaces: the agent compares the whole hash. */
        r2 = json_decref_ret(r2);
        ASSERT_OK(up(&w, model("b000000000000003", "3", 2), &r2));
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(strv_length(w.fake.calls), calls + 4);
        ASSERT_STREQ(pod_fake_find(&w.fake, "shop.api.1.b00000000000")->hash, "b000000000000003");
}

/* force_recreate replaces unchanged pods: same name, a new pod. It applies to that up only. */
static void test_force_recreate(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *r2 = NULL, *r3 = NULL, *b = NULL, *b3 = NULL;
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 1), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        calls = strv_length(w.fake.calls);
        b = json_pack("{s:o, s:{s:b, s:[s]}}", "model", model("a000000000000001", "1", 1),
                      "options", "force_recreate", true, "services", "db");
        ASSERT_OK(controller_up(w.ctl, "shop", b, NOW, &r2, NULL));
        ASSERT_TRUE(count_ops(r2, "REPLACE") >= 1);
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_TRUE(strv_contains(w.fake.calls + calls, "remove shop.db.1.d00000000000"));
        ASSERT_TRUE(strv_contains(w.fake.calls + calls, "create shop.db.1.d00000000000"));
        ASSERT_EQ(w.fake.n_pods, 3);
        /* A plain up afterwards changes nothing. */
        calls = strv_length(w.fake.calls);
        b3 = up_body(model("a000000000000001", "1", 1), false);
        ASSERT_OK(controller_up(w.ctl, "shop", b3, NOW, &r3, NULL));
        ASSERT_EQ(count_ops(r3, "REPLACE"), 0);
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(strv_length(w.fake.calls), calls);
}

static void test_unreported_node_keeps_pods(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *r2 = NULL, *a = NULL;
        char dir[] = "/tmp/test-controller-XXXXXX";
        _cleanup_free_ char *db = NULL;
        struct store *s = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        db = xasprintf("%s/state.db", dir);
        ASSERT_OK(world_init(&w, db));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        /* A controller restart over the same database: the node has not reported since. */
        w.ctl = controller_free(w.ctl);
        ASSERT_OK(store_open_sqlite(db, 0, &s, NULL));
        ASSERT_OK(controller_new(NULL, s, &w.ctl, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 1), &r2));
        ASSERT_EQ(count_ops(r2, "STOP"), 0);
        controller_reconcile_all(w.ctl, NOW);
        ASSERT_OK(controller_assignments(w.ctl, "n1", &a, NULL));
        ASSERT_EQ(json_array_size(json_object_get(a, "assignments")), 4);
        /* Once it reported, the extra replica goes. */
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(w.fake.n_pods, 3);
        ASSERT_NULL(pod_fake_find(&w.fake, "shop.web.2.e00000000000"));
        w.ctl = controller_free(w.ctl);
        unlink(db);
        {
                _cleanup_free_ char *wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm", db);
                unlink(wal);
                unlink(shm);
        }
        ASSERT_OK(rmdir(dir));
}

static void test_down_reverse_order(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *d = NULL, *stacks = NULL;
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        calls = strv_length(w.fake.calls);
        ASSERT_OK(controller_down(w.ctl, "shop", 0, &d, NULL));
        ASSERT_EQ(json_array_size(json_object_get(d, "removed")), 4);
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(w.fake.n_pods, 0);
        ASSERT_EQ(strv_length(w.fake.calls), calls + 4);
        /* down -t 0 reached the agent. */
        ASSERT_STREQ(w.fake.calls[calls + 3], "remove shop.db.1.d00000000000 t=0");
        ASSERT_TRUE(str_startswith(w.fake.calls[calls], "remove shop.web."));
        ASSERT_TRUE(str_startswith(w.fake.calls[calls + 1], "remove shop.web."));
        ASSERT_TRUE(str_startswith(w.fake.calls[calls + 2], "remove shop.api."));
        ASSERT_TRUE(str_startswith(w.fake.calls[calls + 3], "remove shop.db."));
        ASSERT_OK(controller_stacks(w.ctl, NULL, &stacks, NULL));
        ASSERT_EQ(json_array_size(stacks), 0);
        ASSERT_EQ(controller_down(w.ctl, "shop", -1, &d, NULL), -ENOENT);
}

/* With a runtime whose stops take time, a pod is stopped only once the newer ones are gone. */
/* With a runtime whose stops take time, a service's pods are stopped together, and only once
 * the services that depend on it are gone. */
static void test_down_stops_one_after_another(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *d = NULL;
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(w.fake.n_pods, 4);
        calls = strv_length(w.fake.calls);
        w.fake.hold_removals = true;
        ASSERT_OK(controller_down(w.ctl, "shop", -1, &d, NULL));
        ASSERT_OK(node_round(&w, NOW));
        ASSERT_EQ(strv_length(w.fake.calls), calls + 2);
        ASSERT_TRUE(str_startswith(w.fake.calls[calls], "remove shop.web."));
        ASSERT_TRUE(str_startswith(w.fake.calls[calls + 1], "remove shop.web."));
        /* Nothing more while web is stopping. */
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 0);
        pod_fake_finish_removals(&w.fake);
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 1);
        ASSERT_STREQ(w.fake.calls[calls + 2], "remove shop.api.1.a00000000000");
        pod_fake_finish_removals(&w.fake);
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 1);
        ASSERT_STREQ(w.fake.calls[calls + 3], "remove shop.db.1.d00000000000");
        pod_fake_finish_removals(&w.fake);
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 0);
        ASSERT_EQ(w.fake.n_pods, 0);
}

/* Services on one dependency level stop together: db and cache depend on nothing, api on db.
 * api goes first, alone; then db and cache in the same pass. */
static void test_down_parallel_levels(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *d = NULL;
        json_t *m = json_pack("{s:s, s:{s:o, s:o, s:o}}", "name", "shop", "services", "db",
                              service("db", 1, "d000000000000001", NULL, "1"), "cache",
                              service("cache", 1, "c000000000000001", NULL, "1"), "api",
                              service("api", 1, "a000000000000001", "db", "1"));
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, m, &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_EQ(w.fake.n_pods, 3);
        calls = strv_length(w.fake.calls);
        w.fake.hold_removals = true;
        ASSERT_OK(controller_down(w.ctl, "shop", -1, &d, NULL));
        ASSERT_OK(node_round(&w, NOW));
        ASSERT_EQ(strv_length(w.fake.calls), calls + 1);
        ASSERT_TRUE(str_startswith(w.fake.calls[calls], "remove shop.api."));
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 0); /* db waits for api */
        pod_fake_finish_removals(&w.fake);
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 2);
        ASSERT_EQ(strv_length(w.fake.calls), calls + 3);
        ASSERT_TRUE(str_startswith(w.fake.calls[calls + 1], "remove shop.cache."));
        ASSERT_TRUE(str_startswith(w.fake.calls[calls + 2], "remove shop.db."));
        pod_fake_finish_removals(&w.fake);
        ASSERT_EQ(node_reconcile(w.node, NOW, NULL), 0);
        ASSERT_EQ(w.fake.n_pods, 0);
}

static void test_dry_run_and_bad_model(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *res = NULL, *stacks = NULL, *bad = NULL, *b2 = NULL;
        _cleanup_err_ struct err *e = NULL;
        json_t *m;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(rounds(&w, 1));
        bad = up_body(model("a000000000000001", "1", 2), true);
        ASSERT_OK(controller_up(w.ctl, "shop", bad, NOW, &res, NULL));
        ASSERT_TRUE(json_is_true(json_object_get(res, "dry_run")));
        ASSERT_EQ(count_ops(res, "START"), 1); /* db; the others wait on it */
        ASSERT_OK(controller_stacks(w.ctl, NULL, &stacks, NULL));
        ASSERT_EQ(json_array_size(stacks), 0);

        m = model("a000000000000001", "1", 2);
        json_object_set_new(json_object_get(json_object_get(m, "services"), "web"), "replicas",
                            json_string("two"));
        b2 = up_body(m, false);
        ASSERT_EQ(controller_up(w.ctl, "shop", b2, NOW, &res, &e), -EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "services.web.replicas") != NULL);
        ASSERT_EQ(controller_stacks(w.ctl, "shop", &res, NULL), -ENOENT);
        ASSERT_EQ(controller_up(w.ctl, "bad/name", b2, NOW, &res, NULL), -EINVAL);
}

static void test_local_healing(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *a = NULL;
        const char *api = "shop.api.1.a00000000000";
        size_t calls;

        ASSERT_OK(world_init(&w, NULL));
        ASSERT_OK(up(&w, model("a000000000000001", "1", 2), &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        calls = strv_length(w.fake.calls);
        /* No controller from here on: the node heals on its own. */
        ASSERT_OK(pod_fake_set(&w.fake, api, POD_RT_EXITED, 3, POD_RT_HEALTH_NONE));
        ASSERT_EQ(node_reconcile(w.node, NOW + 100 * USEC_PER_SEC, NULL), 1);
        ASSERT_STREQ(w.fake.calls[calls], "start shop.api.1.a00000000000");
        ASSERT_EQ(pod_fake_find(&w.fake, api)->state, POD_RT_RUNNING);
        /* A second crash right away waits for the backoff. */
        ASSERT_OK(pod_fake_set(&w.fake, api, POD_RT_EXITED, 3, POD_RT_HEALTH_NONE));
        ASSERT_EQ(node_reconcile(w.node, NOW + 100 * USEC_PER_SEC, NULL), 0);
        ASSERT_EQ(node_reconcile(w.node, NOW + 101 * USEC_PER_SEC, NULL), 1);
        /* Unhealthy: replaced; vanished: created again. */
        ASSERT_OK(pod_fake_set(&w.fake, api, POD_RT_RUNNING, 0, POD_RT_HEALTH_UNHEALTHY));
        ASSERT_EQ(node_reconcile(w.node, NOW + 102 * USEC_PER_SEC, NULL), 2);
        ASSERT_EQ(pod_fake_find(&w.fake, api)->health, POD_RT_HEALTH_NONE);
        pod_fake_forget(&w.fake, "shop.db.1.d00000000000");
        ASSERT_EQ(node_reconcile(w.node, NOW + 103 * USEC_PER_SEC, NULL), 1);
        ASSERT_NOT_NULL(pod_fake_find(&w.fake, "shop.db.1.d00000000000"));
        /* A failing runtime call is reported, the rest still done. */
        strv_push(&w.fake.fail, "create shop.db.1.d00000000000");
        pod_fake_forget(&w.fake, "shop.db.1.d00000000000");
        pod_fake_forget(&w.fake, "shop.web.1.e00000000000");
        ASSERT_EQ(node_reconcile(w.node, NOW + 104 * USEC_PER_SEC, NULL), -EIO);
        ASSERT_NOT_NULL(pod_fake_find(&w.fake, "shop.web.1.e00000000000"));
        /* The failed create backs off: not retried at once, retried later. */
        calls = strv_length(w.fake.calls);
        ASSERT_EQ(node_reconcile(w.node, NOW + 104 * USEC_PER_SEC, NULL), 0);
        ASSERT_EQ(strv_length(w.fake.calls), calls);
        strv_free(w.fake.fail);
        w.fake.fail = NULL;
        ASSERT_EQ(node_reconcile(w.node, NOW + 105 * USEC_PER_SEC, NULL), 1);
        ASSERT_NOT_NULL(pod_fake_find(&w.fake, "shop.db.1.d00000000000"));
        /* Bad assignments are refused whole. */
        a = json_pack("{s:I, s:[{s:s}]}", "revision", 5, "assignments", "name", "x");
        ASSERT_EQ(node_set_assignments(w.node, a, NULL), -EPROTO);
}

/* A replica that cannot be placed is listed as pending with the scheduler's reason. */
static void test_pending_reason(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *res = NULL, *pods = NULL, *m = NULL;
        size_t i, pending = 0;
        json_t *p, *web;

        ASSERT_OK(world_init(&w, NULL));
        m = model("a000000000000001", "1", 2);
        web = json_object_get(json_object_get(m, "services"), "web");
        json_object_set_new(web, "placement",
                            json_pack("{s:[s]}", "constraints", "node.labels.zone==mars"));
        ASSERT_OK(up(&w, json_incref(m), &res));
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_OK(controller_pods(w.ctl, "shop", &pods, NULL));
        json_array_foreach (pods, i, p) {
                if (!streq(json_get_str(p, "service", ""), "web"))
                        continue;
                ASSERT_STREQ(json_get_str(p, "state", ""), "pending");
                ASSERT_NOT_NULL(strstr(json_get_str(p, "reason", ""),
                                       "do not match constraint node.labels.zone==mars"));
                pending++;
        }
        ASSERT_EQ(pending, 2);
}

/* Service VIPs: allocated at up (not by a dry run), sent with the assignments, kept by a
 * second up, released by down. */
static void test_vips(void) {
        _cleanup_(world_done) struct world w = {};
        _cleanup_json_ json_t *r1 = NULL, *r2 = NULL, *a = NULL, *d = NULL, *dry = NULL;
        json_t *m = model("a000000000000001", "1", 2), *m2;
        const json_t *web;

        json_object_set_new(json_object_get(json_object_get(m, "services"), "web"), "endpoint",
                            json_pack("{s:s, s:[{s:i, s:i}]}", "mode", "vip", "ports", "port", 80,
                                      "target", 8080));
        m2 = json_deep_copy(m);
        ASSERT_OK(world_init(&w, NULL));
        {
                _cleanup_json_ json_t *b = up_body(json_deep_copy(m), true);
                ASSERT_OK(controller_up(w.ctl, "shop", b, NOW, &dry, NULL));
        }
        ASSERT_OK(up(&w, m, &r1));
        ASSERT_OK(rounds(&w, ROUNDS));
        ASSERT_OK(controller_assignments(w.ctl, "n1", &a, NULL));
        web = json_object_get(
                json_object_get(json_object_get(json_object_get(a, "stacks"), "shop"), "services"),
                "web");
        ASSERT_STREQ(json_get_str(json_object_get(web, "vips"), "default", ""), "10.96.0.1");
        /* db has no ports: no VIP */
        ASSERT_NULL(json_object_get(
                json_object_get(
                        json_object_get(json_object_get(json_object_get(a, "stacks"), "shop"),
                                        "services"),
                        "db"),
                "vips"));
        ASSERT_OK(up(&w, m2, &r2));
        json_decref(a);
        ASSERT_OK(controller_assignments(w.ctl, "n1", &a, NULL));
        web = json_object_get(
                json_object_get(json_object_get(json_object_get(a, "stacks"), "shop"), "services"),
                "web");
        ASSERT_STREQ(json_get_str(json_object_get(web, "vips"), "default", ""), "10.96.0.1");
        ASSERT_OK(controller_down(w.ctl, "shop", 0, &d, NULL));
        {
                struct store_kv *kvs = NULL;
                size_t n = 9;
                ASSERT_OK(store_list(controller_store(w.ctl), "vips/", &kvs, &n, NULL));
                ASSERT_EQ(n, 0u);
                store_kvs_free(kvs, n);
        }
}

TAP_MAIN(test_vips, test_up_converges, test_pending_reason, test_up_again_changes_nothing,
         test_env_change_replaces_one_service, test_force_recreate, test_unreported_node_keeps_pods,
         test_down_reverse_order, test_down_stops_one_after_another, test_down_parallel_levels,
         test_dry_run_and_bad_model, test_local_healing)
