/* SPDX-License-Identifier: Apache-2.0 */
/* The reconcile loop end to end on an in-memory store, with simulated agents that run whatever
 * is assigned to their node and report it: first deploy with a health-gated dependency, a
 * rolling update, a scale down, an update that fails and rolls back. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "reconcile.h"
#include "strv.h"
#include "store-test.h"
#include "tap.h"
#include "xalloc.h"

#define ROUNDS_MAX 12
#define STEP_USEC (10 * USEC_PER_SEC)

static const char *const node_ids[] = {"n1", "n2", "n3"};

/* Exit code the simulated agents give pods of this hash prefix (0 = they keep running). */
static const char *failing_hash;
/* A node whose agent stopped reporting: its document keeps the old pods and heartbeat. */
static const char *down_node;

static json_t *service_json(const char *name, unsigned replicas, const char *hash, bool hc,
                            const char *dep) {
        json_t *s = json_pack("{s:s, s:s, s:i, s:s, s:{s:i, s:s, s:s, s:i}, s:{s:i, s:s},"
                              " s:{s:{s:s}, s:[{s:s, s:s, s:o}]}}",
                              "name", name, "kind", "service", "replicas", (int)replicas, "hash",
                              hash, "update", "parallelism", 1, "order", "stop-first",
                              "failure_action", "rollback", "monitor_ms", 30000, "rollback",
                              "parallelism", 0, "order", "stop-first", "pod", "restart", "policy",
                              "always", "containers", "name", name, "image", hash, "healthcheck",
                              hc ? json_pack("{s:[s]}", "test", "CMD") : json_null());
        if (dep)
                json_object_set_new(s, "depends_on",
                                    json_pack("{s:{s:s}}", dep, "condition", "service_healthy"));
        return s;
}

static int put_json(struct store *s, const char *key, const json_t *j) {
        _cleanup_free_ char *v = json_dump_str(j, false);
        return store_put(s, key, v, STORE_ANY_REV, NULL, NULL);
}

/* Every agent runs its assignments and reports them in nodes/<id>. */
static bool drop_old; /* the node that comes back lost its pods */

static void agents_report(struct store *s, uint64_t now) {
        for (size_t n = 0; n < ELEMENTSOF(node_ids); n++) {
                _cleanup_free_ char *nk = xasprintf("nodes/%s", node_ids[n]);
                _cleanup_free_ char *prefix = xasprintf("assignments/%s/", node_ids[n]);
                _cleanup_json_ json_t *old = store_test_doc(s, nk);
                json_t *doc =
                        json_pack("{s:s, s:b, s:b, s:I, s:[]}", "id", node_ids[n], "ready", 1,
                                  "reported", 1, "last_heartbeat_usec", (json_int_t)now, "pods");
                json_t *pods = json_object_get(doc, "pods");
                struct store_kv *kvs = NULL;
                size_t nk_ = 0;

                if (down_node && streq(down_node, node_ids[n])) {
                        json_decref(doc);
                        if (old) {
                                json_object_set_new(old, "ready", json_false());
                                (void)put_json(s, nk, old);
                        }
                        continue;
                }
                (void)store_list(s, prefix, &kvs, &nk_, NULL);
                for (size_t i = 0; i < nk_; i++) {
                        _cleanup_json_ json_t *a = NULL;
                        const json_t *op;
                        size_t k;
                        uint64_t started = now;
                        const char *hash;
                        bool hc, fail;

                        bool kept = false;

                        (void)json_parse(kvs[i].value, strlen(kvs[i].value), "a", &a, NULL);
                        hash = json_get_str(a, "hash", "");
                        /* A superseded assignment: the pod is reported only if it still ran. */
                        json_array_foreach (json_object_get(old, "pods"), k, op)
                                if (json_get_int(op, "slot", 0) == json_get_int(a, "slot", -1) &&
                                    streq(json_get_str(op, "service", ""),
                                          json_get_str(a, "service", "")))
                                        kept = true;
                        if (json_is_true(json_object_get(a, "superseded")) && (!kept || drop_old))
                                continue;
                        json_array_foreach (json_object_get(old, "pods"), k, op)
                                if (json_get_int(op, "slot", 0) == json_get_int(a, "slot", -1) &&
                                    streq(json_get_str(op, "service", ""),
                                          json_get_str(a, "service", "")) &&
                                    streq(json_get_str(op, "hash", ""), hash))
                                        started = (uint64_t)json_get_int(op, "started_at_usec", 0);
                        hc = !json_is_null(json_object_get(
                                json_array_get(
                                        json_object_get(json_object_get(a, "pod"), "containers"),
                                        0),
                                "healthcheck"));
                        fail = failing_hash && str_startswith(hash, failing_hash);
                        json_array_append_new(
                                pods, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:i, s:s, s:I}",
                                                "stack", json_get_str(a, "stack", ""), "service",
                                                json_get_str(a, "service", ""), "slot",
                                                (json_int_t)json_get_int(a, "slot", 0), "node",
                                                node_ids[n], "hash", hash, "state",
                                                fail ? "exited" : "running", "exit_code",
                                                fail ? 1 : 0, "health", hc ? "healthy" : "none",
                                                "started_at_usec", (json_int_t)started));
                }
                store_kvs_free(kvs, nk_);
                (void)put_json(s, nk, doc);
                json_decref(doc);
        }
}

struct round_stats {
        unsigned rounds;
        unsigned max_web_replaces;
        unsigned rollbacks;
};

/* Reconciles until a plan does nothing but KEEP. Returns the number of rounds or -1. */
static int converge(struct store *s, uint64_t *now, struct round_stats *st) {
        for (unsigned round = 1; round <= ROUNDS_MAX; round++) {
                _cleanup_(plan_done) struct plan p = {};
                _cleanup_err_ struct err *e = NULL;
                unsigned web_replaces = 0;

                *now += STEP_USEC;
                if (reconcile_stack(s, "shop", *now, 0, &p, &e) < 0) {
                        printf("# reconcile: %s\n", err_msg(e));
                        return -1;
                }
                if (getenv("VERBOSE")) {
                        _cleanup_free_ char *sum = plan_summary(&p);
                        printf("# round %u:\n%s", round, sum);
                }
                for (size_t i = 0; i < p.n_ops; i++)
                        if (p.ops[i].kind == PLAN_REPLACE && streq(p.ops[i].service, "web"))
                                web_replaces++;
                st->max_web_replaces = MAX(st->max_web_replaces, web_replaces);
                st->rollbacks += (unsigned)p.count[PLAN_ROLLBACK];
                if (p.count[PLAN_KEEP] == p.n_ops) {
                        st->rounds = round;
                        return (int)round;
                }
                agents_report(s, *now);
        }
        return -1;
}

static unsigned count_prefix(struct store *s, const char *prefix, const char *hash) {
        struct store_kv *kvs = NULL;
        size_t n = 0;
        unsigned c = 0;

        (void)store_list(s, prefix, &kvs, &n, NULL);
        for (size_t i = 0; i < n; i++)
                c += !hash || strstr(kvs[i].value, hash) != NULL;
        store_kvs_free(kvs, n);
        return c;
}

static json_t *stack_json(unsigned web_replicas, const char *web_hash, json_t *rollout) {
        json_t *web = service_json("web", web_replicas, web_hash, false, "db");

        if (rollout)
                json_object_set_new(web, "x-rollout", rollout);
        return json_pack("{s:i, s:s, s:{s:o, s:o}}", "version", 1, "name", "shop", "services",
                         "web", web, "db", service_json("db", 1, "dbhash1", true, NULL));
}

static void lifecycle(struct store *s) {
        _cleanup_json_ json_t *v1 = NULL, *v2 = NULL, *v3 = NULL, *v4 = NULL;
        struct round_stats st = {};
        uint64_t now = 1000 * USEC_PER_SEC;
        json_t *old_pod;

        agents_report(s, now);

        /* Deploy: db first, web once db is healthy, then nothing left to do. */
        v1 = stack_json(3, "webhash1", NULL);
        ASSERT_OK(put_json(s, "stacks/shop", v1));
        ASSERT_EQ(converge(s, &now, &st), 3);
        ASSERT_EQ(count_prefix(s, "assignments/", NULL), 4);
        ASSERT_EQ(count_prefix(s, "assignments/n1/", "\"service\":\"web\""), 1);
        ASSERT_EQ(count_prefix(s, "assignments/n2/", "\"service\":\"web\""), 1);
        ASSERT_EQ(count_prefix(s, "assignments/n3/", "\"service\":\"web\""), 1);
        ASSERT_EQ(count_prefix(s, "pods/shop/web/", NULL), 3);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"reserved\":{\"cpu_millis\":0,\"memory\":0}"),
                  4);

        /* Rolling update, one pod at a time. */
        old_pod = json_deep_copy(
                json_object_get(json_object_get(json_object_get(v1, "services"), "web"), "pod"));
        v2 = stack_json(3, "webhash2",
                        json_pack("{s:s, s:s, s:o}", "state", "updating", "previous_hash",
                                  "webhash1", "previous_pod", old_pod));
        ASSERT_OK(put_json(s, "stacks/shop", v2));
        st = (struct round_stats){};
        ASSERT_TRUE(converge(s, &now, &st) >= 4);
        ASSERT_EQ(st.max_web_replaces, 1);
        ASSERT_EQ(count_prefix(s, "assignments/", "webhash2"), 3);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"hash\":\"webhash1\""), 0);
        ASSERT_EQ(count_prefix(s, "assignments/", NULL), 4);
        {
                /* The finished update was recorded (DONE). */
                _cleanup_json_ json_t *cur = store_test_doc(s, "stacks/shop");
                ASSERT_STREQ(json_get_str(json_object_get(
                                                  json_object_get(json_object_get(cur, "services"),
                                                                  "web"),
                                                  "x-rollout"),
                                          "state", NULL),
                             "none");
        }

        /* Scale down. */
        v3 = stack_json(1, "webhash2", NULL);
        ASSERT_OK(put_json(s, "stacks/shop", v3));
        st = (struct round_stats){};
        ASSERT_EQ(converge(s, &now, &st), 2);
        ASSERT_EQ(count_prefix(s, "assignments/", NULL), 2);
        ASSERT_EQ(count_prefix(s, "pods/shop/web/", NULL), 1);

        /* An update whose pods exit at once is rolled back to the previous template. */
        v4 = stack_json(
                1, "webhash3",
                json_pack("{s:s, s:s, s:O}", "state", "updating", "previous_hash", "webhash2",
                          "previous_pod",
                          json_object_get(json_object_get(json_object_get(v3, "services"), "web"),
                                          "pod")));
        ASSERT_OK(put_json(s, "stacks/shop", v4));
        failing_hash = "webhash3";
        st = (struct round_stats){};
        ASSERT_TRUE(converge(s, &now, &st) > 0);
        failing_hash = NULL;
        ASSERT_EQ(st.rollbacks, 1);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"hash\":\"webhash2\""), 1);
        ASSERT_EQ(count_prefix(s, "assignments/", "webhash3"), 0);
        {
                _cleanup_json_ json_t *cur = store_test_doc(s, "stacks/shop");
                ASSERT_STREQ(json_get_str(json_object_get(
                                                  json_object_get(json_object_get(cur, "services"),
                                                                  "web"),
                                                  "x-rollout"),
                                          "state", NULL),
                             "rollback");
        }
}

static void test_reconcile_lifecycle_mem(void) {
        _cleanup_(store_freep) struct store *s = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        lifecycle(s);
}

static void test_reconcile_lifecycle_sqlite(void) {
        _cleanup_free_ char *root = NULL;
        char tmpl[] = "/tmp/berth-test-reconcile.XXXXXX";

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        root = xstrdup(tmpl);
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_OK(store_open_root(root, &s, NULL));
                lifecycle(s);
        }
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_reconcile_node_down(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *v = NULL;
        struct round_stats st = {};
        uint64_t now = 1000 * USEC_PER_SEC;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        agents_report(s, now);
        v = json_pack("{s:i, s:s, s:{s:o}}", "version", 1, "name", "shop", "services", "web",
                      service_json("web", 3, "webhash1", false, NULL));
        ASSERT_OK(put_json(s, "stacks/shop", v));
        ASSERT_EQ(converge(s, &now, &st), 2);
        ASSERT_EQ(count_prefix(s, "assignments/n3/", NULL), 1);

        /* n3 goes away: its pod is started elsewhere; its assignment stays, superseded, so
         * that n3's agent keeps the pod should it come back, without restarting it. */
        down_node = "n3";
        agents_report(s, now);
        ASSERT_EQ(converge(s, &now, &st), 2);
        ASSERT_EQ(count_prefix(s, "assignments/n3/", "\"superseded\":true"), 1);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"service\":\"web\""), 4);
        ASSERT_EQ(count_prefix(s, "pods/shop/web/", "\"node\":\"n3\""), 0);

        /* n3 comes back with its pod still running: the replacement is settled, so the stale
         * copy is stopped (superseded) and its assignment withdrawn; then, the spread being
         * 2/1/0, one pod moves back to n3 start-first (rebalancing): START there, and the old
         * pod stopped once the new one runs. */
        down_node = NULL;
        agents_report(s, now);
        ASSERT_EQ(count_prefix(s, "nodes/n3", "\"slot\":"), 1);
        ASSERT_EQ(converge(s, &now, &st), 4);
        ASSERT_EQ(count_prefix(s, "assignments/n3/", NULL), 1);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"superseded\":true"), 0);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"service\":\"web\""), 3);
        ASSERT_EQ(count_prefix(s, "pods/shop/web/", "\"node\":\"n3\""), 1);

        /* n1 goes away and comes back empty: its old pod is not started there again (its
         * assignment stays superseded); a pod moves back by rebalancing instead. */
        down_node = "n1";
        agents_report(s, now);
        ASSERT_EQ(converge(s, &now, &st), 2);
        ASSERT_EQ(count_prefix(s, "assignments/n1/", "\"superseded\":true"), 1);
        down_node = NULL;
        drop_old = true;
        agents_report(s, now);
        drop_old = false;
        ASSERT_EQ(count_prefix(s, "nodes/n1", "\"pods\":[]"), 1);
        ASSERT_EQ(converge(s, &now, &st), 3);
        /* (the superseded record of the pod n1 no longer has stays: nothing reports it) */
        ASSERT_EQ(count_prefix(s, "assignments/n1/", "\"superseded\":true"), 1);
        ASSERT_EQ(count_prefix(s, "assignments/n1/", NULL), 2);
        ASSERT_EQ(count_prefix(s, "assignments/", "\"service\":\"web\""), 4);
        ASSERT_EQ(count_prefix(s, "pods/shop/web/", "\"node\":\"n1\""), 1);
}

static void test_reconcile_errors(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_err_ struct err *e = NULL, *e2 = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_ERR(reconcile_stack(s, "nope", 0, 0, NULL, &e), ENOENT);
        ASSERT_EQ(store_put(s, "stacks/bad", "{\"name\":\"bad\",\"services\":[]}", STORE_ANY_REV,
                            NULL, NULL),
                  1);
        ASSERT_ERR(reconcile_stack(s, "bad", 0, 0, NULL, &e2), EINVAL);
        ASSERT_STREQ(e2->msg, "stack 'bad': services: expected an object");
        /* Nothing was written. */
        ASSERT_EQ(count_prefix(s, "assignments/", NULL), 0);
}

TAP_MAIN(test_reconcile_lifecycle_mem, test_reconcile_lifecycle_sqlite, test_reconcile_node_down,
         test_reconcile_errors);
