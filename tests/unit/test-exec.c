/* SPDX-License-Identifier: Apache-2.0 */
/* plan_apply ordering and failure handling with the recording executor, and the backoff table. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "exec.h"
#include "json.h"
#include "plan.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void push(struct plan *p, enum plan_kind kind, const char *svc, unsigned slot,
                 const char *node, const char *old_node, enum update_order order) {
        XGROW(p->ops, p->alloc_ops, p->n_ops + 1);
        p->ops[p->n_ops++] = (struct plan_op){
                .kind = kind,
                .service = xstrdup(svc),
                .slot = slot,
                .node = node ? xstrdup(node) : NULL,
                .old_node = old_node ? xstrdup(old_node) : NULL,
                .hash = xstrdup("new"),
                .old_hash = old_node ? xstrdup("old") : NULL,
                .order = order,
                .reason = xstrdup("test"),
        };
}

static void build(struct plan *p) {
        p->stack = xstrdup("s");
        push(p, PLAN_START, "db", 1, "n1", NULL, ORDER_STOP_FIRST);
        push(p, PLAN_REPLACE, "web", 1, "n1", "n1", ORDER_START_FIRST);
        push(p, PLAN_KEEP, "web", 2, "n2", NULL, ORDER_STOP_FIRST);
        push(p, PLAN_REPLACE, "api", 1, "n2", "n1", ORDER_STOP_FIRST);
        push(p, PLAN_STOP, "web", 3, "n3", NULL, ORDER_STOP_FIRST);
        push(p, PLAN_WAIT, "web", 4, NULL, NULL, ORDER_STOP_FIRST);
        push(p, PLAN_REMOVE, "old", 1, "n2", NULL, ORDER_STOP_FIRST);
        push(p, PLAN_ROLLBACK, "api", 0, NULL, NULL, ORDER_STOP_FIRST);
}

static void test_apply_order(void) {
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_free_ char *got = NULL;
        struct exec_recorder rec = {};
        int r;

        build(&p);
        r = plan_apply(&p, &exec_recorder_ops, &rec, NULL);
        got = strv_join(rec.lines, "\n");
        exec_recorder_done(&rec);
        ASSERT_EQ(r, 8);
        ASSERT_STREQ(got, "rollout s api rollback\n"
                          "stop s web/3 on n3 new\n"
                          "remove s old/1 on n2 new\n"
                          "stop s api/1 on n1 old\n"
                          "start s api/1 on n2 new gen 0\n"
                          "start s db/1 on n1 new gen 0\n"
                          "start s web/1 on n1 new gen 0\n"
                          "stop s web/1 on n1 old");
}

static void test_apply_failure_continues(void) {
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_free_ char *got = NULL, *failed = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct exec_recorder rec = {};
        int r;

        build(&p);
        strv_push(&rec.fail, "stop api/1");
        strv_push(&rec.fail, "start db/1");
        r = plan_apply(&p, &exec_recorder_ops, &rec, &e);
        got = strv_join(rec.lines, "\n");
        failed = strv_join(rec.failed, ",");
        exec_recorder_done(&rec);
        ASSERT_EQ(r, -EIO);
        /* The first failure is reported, with the op. */
        ASSERT_STREQ(e->msg, "REPLACE 'api/1': stop api/1 failed (injected)");
        ASSERT_STREQ(failed, "api/1,db/1");
        /* A failed stop of a stop-first replace skips its start; other ops still run. */
        ASSERT_STREQ(got, "rollout s api rollback\n"
                          "stop s web/3 on n3 new\n"
                          "remove s old/1 on n2 new\n"
                          "stop s api/1 on n1 old\n"
                          "start s db/1 on n1 new gen 0\n"
                          "start s web/1 on n1 new gen 0\n"
                          "stop s web/1 on n1 old");
}

static void test_apply_skips_not_ready(void) {
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_free_ char *got = NULL, *key = NULL;
        struct exec_recorder rec = {};
        int r;

        build(&p);
        strv_push(&rec.skip, "web/1");
        strv_push(&rec.skip, "api");
        r = plan_apply(&p, &exec_recorder_ops, &rec, NULL);
        got = strv_join(rec.lines, "\n");
        exec_recorder_done(&rec);
        ASSERT_EQ(r, 5);
        ASSERT_STREQ(got, "stop s web/3 on n3 new\n"
                          "remove s old/1 on n2 new\n"
                          "stop s api/1 on n1 old\n"
                          "start s api/1 on n2 new gen 0\n"
                          "start s db/1 on n1 new gen 0");
        key = plan_op_key("s", &p.ops[1]);
        ASSERT_STREQ(key, "s/web/1");
}

static void test_plan_to_json(void) {
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *text = NULL;

        build(&p);
        p.count[PLAN_START] = 1;
        p.count[PLAN_REPLACE] = 2;
        j = plan_to_json(&p);
        ASSERT_NOT_NULL(j);
        ASSERT_EQ(json_array_size(json_object_get(j, "ops")), 8);
        text = json_dumps(json_array_get(json_object_get(j, "ops"), 1), JSON_COMPACT);
        ASSERT_STREQ(text, "{\"kind\":\"REPLACE\",\"service\":\"web\",\"slot\":1,\"node\":\"n1\","
                           "\"old_node\":\"n1\",\"hash\":\"new\",\"old_hash\":\"old\",\"order\":"
                           "\"start-first\",\"reason\":\"test\"}");
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "counts"), "REPLACE")), 2);
        ASSERT_NULL(json_object_get(json_object_get(j, "counts"), "STOP"));
        ASSERT_STREQ(json_string_value(json_object_get(j, "stack")), "s");
}

static void test_apply_bad_executor(void) {
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_err_ struct err *e = NULL;
        struct executor_ops none = {};

        build(&p);
        ASSERT_ERR(plan_apply(&p, &none, NULL, &e), EINVAL);
}

static void test_backoff(void) {
        struct backoff b = {};
        uint64_t now = 1000 * USEC_PER_SEC;

        ASSERT_EQ(backoff_delay(0, 0, 0), 100 * USEC_PER_MSEC);
        ASSERT_EQ(backoff_delay(1, 0, 0), 200 * USEC_PER_MSEC);
        ASSERT_EQ(backoff_delay(3, 0, 0), 800 * USEC_PER_MSEC);
        ASSERT_EQ(backoff_delay(12, 0, 0), BACKOFF_CAP_USEC);
        ASSERT_EQ(backoff_delay(63, 0, 0), BACKOFF_CAP_USEC);
        ASSERT_EQ(backoff_delay(5, 10, 100), 100);

        ASSERT_TRUE(backoff_ready(&b, "shop/web/1", now));
        ASSERT_EQ(backoff_next(&b), UINT64_MAX);
        ASSERT_EQ(backoff_failed(&b, "shop/web/1", now), now + 100 * USEC_PER_MSEC);
        ASSERT_FALSE(backoff_ready(&b, "shop/web/1", now + 99 * USEC_PER_MSEC));
        ASSERT_TRUE(backoff_ready(&b, "shop/web/1", now + 100 * USEC_PER_MSEC));
        ASSERT_EQ(backoff_failed(&b, "shop/web/1", now), now + 200 * USEC_PER_MSEC);
        ASSERT_EQ(backoff_failed(&b, "shop/db/1", now), now + 100 * USEC_PER_MSEC);
        ASSERT_EQ(backoff_next(&b), now + 100 * USEC_PER_MSEC);
        ASSERT_TRUE(backoff_ready(&b, "other", now));
        ASSERT_TRUE(backoff_succeeded(&b, "shop/db/1"));
        ASSERT_FALSE(backoff_succeeded(&b, "shop/db/1"));
        ASSERT_EQ(backoff_next(&b), now + 200 * USEC_PER_MSEC);
        /* After success the count starts over. */
        ASSERT_TRUE(backoff_succeeded(&b, "shop/web/1"));
        ASSERT_EQ(backoff_failed(&b, "shop/web/1", now), now + 100 * USEC_PER_MSEC);
        backoff_done(&b);
}

TAP_MAIN(test_apply_order, test_apply_failure_continues, test_apply_skips_not_ready,
         test_plan_to_json, test_apply_bad_executor, test_backoff);
