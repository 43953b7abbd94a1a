/* SPDX-License-Identifier: Apache-2.0 */
/* Node records: agent reports, operator updates, removal, the reset at controller start, and
 * that the planner sees them through observed_from_store(). */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "nodes.h"
#include "reconcile.h"
#include "store-test.h"
#include "tap.h"
#include "xalloc.h"

static void test_report_and_update(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *st = NULL, *st2 = NULL, *doc = NULL, *doc2 = NULL, *patch = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        st = json_loads("{\"name\":\"host1\",\"ready\":true,\"labels\":{\"zone\":\"evil\"},"
                        "\"fenced\":true,\"reported\":false,\"last_heartbeat_usec\":1,"
                        "\"allocatable\":{\"cpu_millis\":2000,\"memory\":1000},"
                        "\"pods\":[{\"stack\":\"shop\",\"service\":\"web\",\"slot\":1,"
                        "\"hash\":\"h\",\"state\":\"running\"}],\"extra\":1}",
                        0, NULL);
        ASSERT_OK(node_report(s, "n1", st, 5000, NULL));
        doc = store_test_doc(s, "nodes/n1");
        ASSERT_NOT_NULL(doc);
        ASSERT_STREQ(json_get_str(doc, "name", NULL), "host1");
        ASSERT_TRUE(json_get_bool(doc, "reported", false));
        ASSERT_EQ(json_get_int(doc, "last_heartbeat_usec", 0), 5000);
        /* Operator fields and unknown keys of a report are ignored. */
        ASSERT_NULL(json_object_get(doc, "labels"));
        ASSERT_NULL(json_object_get(doc, "fenced"));
        ASSERT_NULL(json_object_get(doc, "extra"));
        /* Pods get their node. */
        ASSERT_STREQ(json_get_str(json_array_get(json_object_get(doc, "pods"), 0), "node", NULL),
                     "n1");

        patch = json_loads("{\"labels\":{\"zone\":\"a\"},\"availability\":\"drain\"}", 0, NULL);
        ASSERT_OK(node_update(s, "n1", patch, NULL));
        /* A later report keeps the operator's fields and refreshes the agent's. */
        st2 = json_loads("{\"name\":\"host1\",\"ready\":false}", 0, NULL);
        ASSERT_OK(node_report(s, "n1", st2, 9000, NULL));
        doc2 = store_test_doc(s, "nodes/n1");
        ASSERT_STREQ(json_get_str(json_object_get(doc2, "labels"), "zone", NULL), "a");
        ASSERT_STREQ(json_get_str(doc2, "availability", NULL), "drain");
        ASSERT_FALSE(json_get_bool(doc2, "ready", true));
        /* What a report leaves out keeps its value. */
        ASSERT_EQ(json_array_size(json_object_get(doc2, "pods")), 1);
        ASSERT_EQ(json_get_int(json_object_get(doc2, "allocatable"), "cpu_millis", 0), 2000);
        ASSERT_EQ(json_get_int(doc2, "last_heartbeat_usec", 0), 9000);
}

static void test_bad_input(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *good = json_loads("{\"ready\":true}", 0, NULL);
        _cleanup_json_ json_t *badpod = json_loads(
                "{\"pods\":[{\"stack\":\"s\",\"service\":\"w\",\"slot\":0,\"hash\":\"h\","
                "\"state\":\"running\"}]}",
                0, NULL);
        _cleanup_json_ json_t *other = json_loads(
                "{\"pods\":[{\"stack\":\"s\",\"service\":\"w\",\"slot\":1,\"hash\":\"h\","
                "\"state\":\"running\",\"node\":\"n2\"}]}",
                0, NULL);
        _cleanup_json_ json_t *badavail = json_loads("{\"availability\":\"gone\"}", 0, NULL);
        _cleanup_json_ json_t *notmine = json_loads("{\"ready\":false}", 0, NULL);
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL,
                                 *e6 = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_ERR(node_report(s, "../x", good, 1, &e1), EINVAL);
        ASSERT_STREQ(e1->msg, "node id '../x' must not start with '.'");
        ASSERT_ERR(node_report(s, "n1", badpod, 1, &e2), EINVAL);
        ASSERT_STREQ(e2->msg, "node 'n1': pods[0].slot: expected an integer >= 1");
        ASSERT_ERR(node_report(s, "n1", other, 1, &e3), EINVAL);
        ASSERT_STREQ(e3->msg, "node 'n1': pods[0].node: reported by another node ('n2')");
        /* Nothing half-created. */
        ASSERT_EQ(store_revision(s), 0);

        ASSERT_ERR(node_update(s, "n1", notmine, &e4), EINVAL);
        ASSERT_STREQ(e4->msg,
                     "node 'n1': 'ready' cannot be changed (labels, availability, fenced)");
        ASSERT_ERR(node_update(s, "n1", badavail, &e5), ENOENT);
        ASSERT_STREQ(e5->msg, "node 'n1' not found");
        ASSERT_OK(node_report(s, "n1", good, 1, NULL));
        ASSERT_ERR(node_update(s, "n1", badavail, &e6), EINVAL);
        ASSERT_STREQ(e6->msg, "node 'n1': nodes[0].availability: expected active, pause or drain");
        ASSERT_EQ(store_revision(s), 1);
}

static void test_remove_and_reset(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        _cleanup_json_ json_t *busy = json_loads(
                "{\"ready\":true,\"pods\":[{\"stack\":\"s\",\"service\":\"w\",\"slot\":1,"
                "\"hash\":\"h\",\"state\":\"running\"}]}",
                0, NULL);
        _cleanup_json_ json_t *idle = json_loads("{\"ready\":true}", 0, NULL);
        _cleanup_json_ json_t *fence = json_loads("{\"fenced\":true}", 0, NULL);
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_OK(node_report(s, "n1", busy, 10, NULL));
        ASSERT_OK(node_report(s, "n2", idle, 10, NULL));
        ASSERT_OK(node_report(s, "n3", idle, 10, NULL));

        ASSERT_OK(observed_from_store(s, &o, NULL));
        ASSERT_EQ(o->n_nodes, 3);
        ASSERT_EQ(o->n_pods, 1);
        ASSERT_STREQ(o->pods[0].node, "n1");
        ASSERT_TRUE(o->nodes[0].reported);
        o = observed_free(o);

        ASSERT_EQ(nodes_reset_reported(s, 10, NULL), 3);
        ASSERT_OK(observed_from_store(s, &o, NULL));
        for (size_t i = 0; i < o->n_nodes; i++)
                ASSERT_FALSE(o->nodes[i].reported);
        o = observed_free(o);
        /* Already reset: nothing to write. */
        uint64_t rev = store_revision(s);
        ASSERT_EQ(nodes_reset_reported(s, 10, NULL), 3);
        ASSERT_EQ(store_revision(s), rev);

        ASSERT_ERR(node_remove(s, "n1", &e), EBUSY);
        ASSERT_TRUE(strstr(e->msg, "still runs 1 pods") != NULL);
        ASSERT_EQ(node_remove(s, "n2", NULL), 1);
        ASSERT_EQ(node_remove(s, "n2", NULL), 0);
        ASSERT_OK(node_update(s, "n1", fence, NULL));
        ASSERT_EQ(node_remove(s, "n1", NULL), 1);
        ASSERT_OK(observed_from_store(s, &o, NULL));
        ASSERT_EQ(o->n_nodes, 1);
        ASSERT_STREQ(o->nodes[0].id, "n3");
}

static void test_state(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *st = json_loads("{\"ready\":true,\"heartbeat_ms\":500}", 0, NULL);
        _cleanup_json_ json_t *doc = NULL, *doc2 = NULL;
        const uint64_t S = USEC_PER_SEC, grace = 5 * S;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_OK(node_report(s, "n1", st, 100 * S, NULL));
        doc = store_test_doc(s, "nodes/n1");
        ASSERT_STREQ(node_state(doc, 100 * S, grace), "ready");
        ASSERT_STREQ(node_state(doc, 100 * S + 1400000, grace), "ready");
        /* three heartbeats (1.5 s) missed: suspect; past the grace: down */
        ASSERT_STREQ(node_state(doc, 100 * S + 1600000, grace), "suspect");
        ASSERT_STREQ(node_state(doc, 105 * S, grace), "suspect");
        ASSERT_STREQ(node_state(doc, 105 * S + 1, grace), "down");
        json_object_set_new(doc, "fenced", json_true());
        ASSERT_STREQ(node_state(doc, 100 * S, grace), "fenced");

        /* A controller that starts later counts the grace from its start. */
        ASSERT_EQ(nodes_reset_reported(s, 200 * S, NULL), 1);
        doc2 = store_test_doc(s, "nodes/n1");
        ASSERT_FALSE(json_get_bool(doc2, "reported", true));
        ASSERT_EQ(json_get_int(doc2, "last_heartbeat_usec", 0), (json_int_t)(200 * S));
        ASSERT_STREQ(node_state(doc2, 204 * S, grace), "suspect");
        ASSERT_STREQ(node_state(doc2, 206 * S, grace), "down");
}

TAP_MAIN(test_report_and_update, test_bad_input, test_remove_and_reset, test_state);
