/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "sched.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define NOW (1000ULL * USEC_PER_SEC)

static struct observed *load(const char *text) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct observed *o = NULL;

        if (json_parse(text, strlen(text), "test", &j, &e) < 0 ||
            observed_from_json(j, &o, &e) < 0) {
                printf("# %s\n", err_msg(e));
                return NULL;
        }
        return o;
}

#define NODE(id, extra)                                                                            \
        "{\"id\":\"" id                                                                            \
        "\",\"ready\":true,\"reported\":true,\"last_heartbeat_usec\":999000000" extra "}"

static void test_constraint_parse(void) {
        struct sched_constraint c = {};
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL;

        ASSERT_OK(sched_constraint_parse("node.labels.zone == a", &c, NULL));
        ASSERT_EQ(c.field, SCHED_FIELD_LABEL);
        ASSERT_STREQ(c.key, "zone");
        ASSERT_STREQ(c.value, "a");
        ASSERT_TRUE(c.equal);
        ASSERT_STREQ(c.text, "node.labels.zone==a");
        sched_constraint_done(&c);

        ASSERT_OK(sched_constraint_parse("node.role!=manager", &c, NULL));
        ASSERT_EQ(c.field, SCHED_FIELD_ROLE);
        ASSERT_FALSE(c.equal);
        sched_constraint_done(&c);

        ASSERT_ERR(sched_constraint_parse("node.colour==red", &c, &e1), EINVAL);
        ASSERT_TRUE(strstr(e1->msg, "unknown attribute 'node.colour'") != NULL);
        ASSERT_ERR(sched_constraint_parse("node.labels.zone=a", &c, &e2), EINVAL);
        ASSERT_ERR(sched_constraint_parse("node.role==boss", &c, &e3), EINVAL);
        ASSERT_TRUE(strstr(e3->msg, "manager or worker") != NULL);
}

static void test_constraints_and_reason(void) {
        _cleanup_(observed_freep) struct observed *o = load("{\"nodes\":[" NODE(
                "n1", ",\"labels\":{\"zone\":\"a\"},\"allocatable\":"
                      "{\"memory\":100}") "," NODE("n2", ",\"labels\":{\"zone\":"
                                                         "\"b\"}") "," NODE("n3", ",\"role\""
                                                                                  ":\"manage"
                                                                                  "r\"") "]"
                                                                                         "}");
        _cleanup_(sched_freep) struct sched *s = NULL;
        _cleanup_strv_ char **cons = NULL;
        _cleanup_free_ char *reason = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t node = SIZE_MAX;
        int g, g2;

        ASSERT_NOT_NULL(o);
        s = sched_new(o->nodes, o->n_nodes, NOW, 30000);
        strv_push(&cons, "node.labels.zone==a");
        g = sched_add_group(s, "web", cons, 0, 0, 60, NULL, NULL);
        ASSERT_OK(g);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_STREQ(sched_node(s, node)->id, "n1");
        ASSERT_ERR(sched_place(s, g, SIZE_MAX, &node, &reason), ENOSPC);
        ASSERT_STREQ(reason,
                     "0/3 nodes available: 1 insufficient memory, 2 do not match constraint "
                     "node.labels.zone==a");

        strv_free(cons);
        cons = NULL;
        strv_push(&cons, "node.role==manager");
        g2 = sched_add_group(s, "db", cons, 0, 0, 0, NULL, NULL);
        ASSERT_OK(sched_place(s, g2, SIZE_MAX, &node, NULL));
        ASSERT_STREQ(sched_node(s, node)->id, "n3");

        strv_free(cons);
        cons = NULL;
        strv_push(&cons, "node.bogus==1");
        ASSERT_ERR(sched_add_group(s, "bad", cons, 0, 0, 0, NULL, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "service 'bad': placement.constraints[0]") != NULL);
}

static void test_spread(void) {
        _cleanup_(observed_freep) struct observed *o =
                load("{\"nodes\":[" NODE("n1", "") "," NODE("n2", "") "," NODE("n3", "") "]}");
        _cleanup_(sched_freep) struct sched *s = NULL;
        unsigned per[3] = {};
        size_t node;
        int g, other;

        ASSERT_NOT_NULL(o);
        s = sched_new(o->nodes, o->n_nodes, NOW, 30000);
        other = sched_add_group(s, "other", NULL, 0, 0, 0, NULL, NULL);
        g = sched_add_group(s, "web", NULL, 0, 0, 0, NULL, NULL);
        /* Another service's pods do not count for spread. */
        sched_account(s, other, 0);
        sched_account(s, other, 0);
        for (int i = 0; i < 9; i++) {
                ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
                per[node]++;
        }
        ASSERT_EQ(per[0], 3);
        ASSERT_EQ(per[1], 3);
        ASSERT_EQ(per[2], 3);
        /* exclude: never that node. */
        ASSERT_OK(sched_place(s, g, 0, &node, NULL));
        ASSERT_NE(node, 0);
}

static void test_resources_and_max_per_node(void) {
        _cleanup_(observed_freep) struct observed *o = load("{\"nodes\":[" NODE(
                "n1",
                ",\"allocatable\":{\"cpu_millis\":1000,\"memory\":1000},"
                "\"allocated\":{\"cpu_millis\":500}") "," NODE("n2",
                                                               ",\"allocatable\":{\"cpu_millis\":"
                                                               "2000,\"memory\":1000}") "]}");
        _cleanup_(sched_freep) struct sched *s = NULL;
        _cleanup_free_ char *reason = NULL, *reason2 = NULL;
        size_t node;
        int g, h;

        ASSERT_NOT_NULL(o);
        s = sched_new(o->nodes, o->n_nodes, NOW, 30000);
        g = sched_add_group(s, "api", NULL, 0, 500, 100, NULL, NULL);
        /* Least allocated first: n2 is empty. Counts tie after the first two. */
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 1);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 0);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 1);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 1);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 1);
        ASSERT_ERR(sched_place(s, g, SIZE_MAX, &node, &reason), ENOSPC);
        ASSERT_STREQ(reason, "0/2 nodes available: 2 insufficient cpu");
        sched_unaccount(s, g, 1);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 1);

        h = sched_add_group(s, "one-each", NULL, 1, 0, 0, NULL, NULL);
        ASSERT_OK(sched_place(s, h, SIZE_MAX, &node, NULL));
        ASSERT_OK(sched_place(s, h, SIZE_MAX, &node, NULL));
        ASSERT_ERR(sched_place(s, h, SIZE_MAX, &node, &reason2), ENOSPC);
        ASSERT_STREQ(reason2, "0/2 nodes available: 2 at max_replicas_per_node");
}

static void test_down_and_volume_affinity(void) {
        _cleanup_(observed_freep) struct observed *o =
                load("{\"nodes\":[" NODE("n1", ",\"volumes\":[\"shop_data\"]") "," NODE(
                        "n2", ",\"availability\":\"drain\"") "," NODE("n3", "") ",{\"id\":\"n4\","
                                                                                "\"ready\":true,"
                                                                                "\"last_heartbeat_"
                                                                                "usec\":1}]}");
        _cleanup_(sched_freep) struct sched *s = NULL;
        _cleanup_strv_ char **vols = NULL;
        _cleanup_free_ char *reason = NULL;
        size_t node;
        int g;

        ASSERT_NOT_NULL(o);
        s = sched_new(o->nodes, o->n_nodes, NOW, 30000);
        ASSERT_TRUE(sched_node_up(s, 0));
        ASSERT_FALSE(sched_node_up(s, 3)); /* heartbeat too old */
        strv_push(&vols, "shop_data");
        g = sched_add_group(s, "db", NULL, 0, 0, 0, vols, NULL);
        ASSERT_OK(sched_place(s, g, SIZE_MAX, &node, NULL));
        ASSERT_EQ(node, 0);
        ASSERT_ERR(sched_place(s, g, 0, &node, &reason), ENOSPC);
        ASSERT_STREQ(reason, "0/4 nodes available: 1 replaced here, 1 unavailable (drain), 1 do "
                             "not hold volume 'shop_data', 1 down");
}

static void test_bad_observed(void) {
        _cleanup_json_ json_t *j =
                json_loads("{\"nodes\":[{\"id\":\"n1\",\"role\":\"boss\"}]}", 0, NULL);
        _cleanup_json_ json_t *j2 = json_loads(
                "{\"nodes\":[{\"id\":\"n1\"}],\"pods\":[{\"stack\":\"s\",\"service\":\"w\","
                "\"slot\":1,\"node\":\"n9\",\"hash\":\"h\",\"state\":\"running\"}]}",
                0, NULL);
        _cleanup_err_ struct err *e = NULL, *e2 = NULL;
        struct observed *o = NULL;

        ASSERT_ERR(observed_from_json(j, &o, &e), EINVAL);
        ASSERT_STREQ(e->msg, "nodes[0].role: expected manager or worker");
        ASSERT_ERR(observed_from_json(j2, &o, &e2), EINVAL);
        ASSERT_STREQ(e2->msg, "pods[0].node: unknown node 'n9'");
        ASSERT_NULL(o);
}

TAP_MAIN(test_constraint_parse, test_constraints_and_reason, test_spread,
         test_resources_and_max_per_node, test_down_and_volume_affinity, test_bad_observed);
