/* SPDX-License-Identifier: Apache-2.0 */
/* Node liveness in the controller's memory (orchestrator/controller_live.c, heartbeat.c): a
 * report that only repeats the last one writes nothing and asks for no pass, one that changes
 * pod state is stored and asks for a pass, liveness is judged from the in-memory time, and the
 * times are stored lazily without asking for a pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controller.h"
#include "controller_int.h"
#include "heartbeat.h"
#include "json.h"
#include "nodes.h"
#include "strv.h"
#include "store-test.h"
#include "tap.h"
#include "xalloc.h"

#define S USEC_PER_SEC
#define T0 (1000 * S)

static json_t *report(const char *state) {
        return json_pack("{s:[{s:s, s:s, s:i, s:s, s:s, s:s}], s:i}", "pods", "stack", "shop",
                         "service", "web", "slot", 1, "hash", "h1", "id", "shop.web.1.h1", "state",
                         state, "heartbeat_ms", 1000);
}

/* A controller (no loop) with nodes n1 and n2 joined at T0. */
static struct controller *new_ctl(void) {
        struct controller *c = NULL;
        struct store *s = NULL;

        if (store_open_mem(0, &s, NULL) < 0 || controller_new(NULL, s, &c, NULL) < 0)
                return NULL;
        controller_set_node_grace(c, 5 * S);
        for (int i = 1; i <= 2; i++) {
                _cleanup_json_ json_t *b = json_pack("{s:s}", "name", i == 1 ? "n1" : "n2"),
                                      *res = NULL;
                if (controller_join(c, b, T0, &res, NULL) < 0)
                        return controller_free(c);
        }
        controller_reconcile_all(c, T0);
        return c;
}

static void test_heartbeat_only_writes_nothing(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl();
        _cleanup_json_ json_t *r1 = report("running"), *r2 = report("running"), *doc = NULL;
        uint64_t rev;

        ASSERT_NOT_NULL(c);
        /* The first report after the start is stored (it marks the node reported). */
        rev = store_revision(controller_store(c));
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 1 * S, NULL));
        ASSERT_TRUE(store_revision(controller_store(c)) > rev);
        ASSERT_TRUE(controller_pass_wanted(c));
        controller_reconcile_all(c, T0 + 1 * S);
        ASSERT_FALSE(controller_pass_wanted(c));

        /* The same report again: only the heartbeat is new. */
        rev = store_revision(controller_store(c));
        ASSERT_OK(controller_status(c, "n1", r2, T0 + 2 * S, NULL));
        ASSERT_OK(controller_status(c, "n1", r2, T0 + 3 * S, NULL));
        ASSERT_EQ(store_revision(controller_store(c)), rev);
        ASSERT_FALSE(controller_pass_wanted(c));
        ASSERT_EQ(controller_node_seen(c, "n1"), T0 + 3 * S);
        doc = store_test_doc(controller_store(c), "nodes/n1");
        ASSERT_EQ(json_get_int(doc, "last_heartbeat_usec", 0), (json_int_t)(T0 + 1 * S));
}

static void test_changed_report_is_stored(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl();
        _cleanup_json_ json_t *r1 = report("running"), *r2 = report("exited"), *doc = NULL;
        uint64_t rev;

        ASSERT_NOT_NULL(c);
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 1 * S, NULL));
        controller_reconcile_all(c, T0 + 1 * S);
        rev = store_revision(controller_store(c));
        ASSERT_OK(controller_status(c, "n1", r2, T0 + 2 * S, NULL));
        ASSERT_TRUE(store_revision(controller_store(c)) > rev);
        ASSERT_TRUE(controller_pass_wanted(c));
        doc = store_test_doc(controller_store(c), "nodes/n1");
        ASSERT_STREQ(json_get_str(json_array_get(json_object_get(doc, "pods"), 0), "state", ""),
                     "exited");
}

/* An operator change rewrites the record: the next report is stored again (it could not be
 * compared with what the record now holds). */
static void test_record_changed_behind(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl();
        _cleanup_json_ json_t *r1 = report("running"), *patch = NULL;
        uint64_t rev;

        ASSERT_NOT_NULL(c);
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 1 * S, NULL));
        patch = json_pack("{s:s}", "availability", "pause");
        ASSERT_OK(node_update(controller_store(c), "n1", patch, NULL));
        rev = store_revision(controller_store(c));
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 2 * S, NULL));
        ASSERT_TRUE(store_revision(controller_store(c)) > rev);
}

/* A node never joined gets ENOENT even with a report the table could match. */
static void test_unknown_node(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl();
        _cleanup_json_ json_t *r1 = report("running");
        _cleanup_err_ struct err *e = NULL;

        ASSERT_NOT_NULL(c);
        ASSERT_ERR(controller_status(c, "n9", r1, T0 + 1 * S, &e), ENOENT);
        ASSERT_EQ(controller_node_seen(c, "n9"), 0u);
}

/* Liveness: n1 keeps sending heartbeat-only reports, n2 goes silent. Only the change of n2
 * (down after the grace, then back) asks for a pass; n1's repeated reports never do. */
static void test_liveness_from_memory(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl();
        _cleanup_json_ json_t *r1 = report("running"), *r2 = json_pack("{s:[]}", "pods");

        ASSERT_NOT_NULL(c);
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 1 * S, NULL));
        ASSERT_OK(controller_status(c, "n2", r2, T0 + 1 * S, NULL));
        controller_reconcile_all(c, T0 + 1 * S);
        ASSERT_EQ(controller_check_liveness(c, T0 + 2 * S), 0u);
        for (uint64_t t = 2; t <= 6; t++)
                ASSERT_OK(controller_status(c, "n1", r1, T0 + t * S, NULL));
        ASSERT_FALSE(controller_pass_wanted(c));
        /* n2 silent since T0+1s: n1's report at T0+7s (more than the grace after n2's last) makes
         * it down, and asks for a pass; n1 is up although its stored heartbeat is T0+1s. */
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 7 * S, NULL));
        ASSERT_TRUE(controller_pass_wanted(c));
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 8 * S, NULL));
        ASSERT_EQ(controller_check_liveness(c, T0 + 8 * S), 0u);
        controller_reconcile_all(c, T0 + 8 * S);
        ASSERT_EQ(controller_check_liveness(c, T0 + 8 * S), 0u);
        /* n2 back with the same report: no write, but a pass. */
        ASSERT_OK(controller_status(c, "n2", r2, T0 + 9 * S, NULL));
        ASSERT_TRUE(controller_pass_wanted(c));
        ASSERT_EQ(controller_check_liveness(c, T0 + 9 * S), 0u);
}

/* The times are stored lazily, in one transaction, and that write asks for no pass. */
static void test_store_heartbeats(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl();
        _cleanup_json_ json_t *r1 = report("running"), *doc = NULL, *doc2 = NULL;
        uint64_t rev;

        ASSERT_NOT_NULL(c);
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 1 * S, NULL));
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 4 * S, NULL));
        controller_reconcile_all(c, T0 + 4 * S);
        rev = store_revision(controller_store(c));
        ASSERT_EQ(controller_store_heartbeats(c, T0 + 5 * S, NULL), 1);
        ASSERT_EQ(store_revision(controller_store(c)), rev + 1);
        ASSERT_FALSE(controller_pass_wanted(c));
        doc = store_test_doc(controller_store(c), "nodes/n1");
        ASSERT_EQ(json_get_int(doc, "last_heartbeat_usec", 0), (json_int_t)(T0 + 4 * S));
        ASSERT_TRUE(json_get_bool(doc, "reported", false));
        /* Nothing newer: nothing written. */
        ASSERT_EQ(controller_store_heartbeats(c, T0 + 6 * S, NULL), 0);
        ASSERT_EQ(store_revision(controller_store(c)), rev + 1);
        /* And the report that follows is still a heartbeat only. */
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 7 * S, NULL));
        ASSERT_EQ(store_revision(controller_store(c)), rev + 1);
        doc2 = store_test_doc(controller_store(c), "nodes/n1");
        ASSERT_EQ(json_get_int(doc2, "last_heartbeat_usec", 0), (json_int_t)(T0 + 4 * S));
}

/* A controller restart: the stored record is "not reported" again, and the first report after
 * the start is stored whatever it holds (the "heard once since my start" rule). */
static void test_restart_keeps_rule(void) {
        _cleanup_(controller_freep) struct controller *c = new_ctl(), *c2 = NULL;
        _cleanup_json_ json_t *r1 = report("running"), *doc = NULL, *doc2 = NULL;
        struct store *s;
        uint64_t rev;

        ASSERT_NOT_NULL(c);
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 1 * S, NULL));
        ASSERT_OK(controller_status(c, "n1", r1, T0 + 3 * S, NULL));
        ASSERT_EQ(controller_store_heartbeats(c, T0 + 3 * S, NULL), 1);
        /* Hand the store over to a new controller, as a restart would. */
        s = controller_store(c);
        c->store = NULL;
        ASSERT_OK(controller_new(NULL, s, &c2, NULL));
        doc = store_test_doc(s, "nodes/n1");
        ASSERT_FALSE(json_get_bool(doc, "reported", true));
        rev = store_revision(s);
        ASSERT_OK(controller_status(c2, "n1", r1, T0 + 4 * S, NULL));
        ASSERT_TRUE(store_revision(s) > rev);
        doc2 = store_test_doc(s, "nodes/n1");
        ASSERT_TRUE(json_get_bool(doc2, "reported", false));
}

static void test_hb_table(void) {
        struct hb_table t = {};
        _cleanup_strv_ char **ids = NULL;
        _cleanup_free_ uint64_t *usecs = NULL;

        ASSERT_FALSE(hb_seen(&t, "a", "{}", 10));
        ASSERT_NULL(hb_get(&t, "a", false));
        hb_stored(&t, "a", xstrdup("{}"), 10);
        hb_stored(&t, "b", xstrdup("{\"x\":1}"), 10);
        ASSERT_TRUE(hb_seen(&t, "a", "{}", 20));
        ASSERT_FALSE(hb_seen(&t, "b", "{\"x\":2}", 20));
        ASSERT_EQ(hb_due(&t, &ids, &usecs), 2u);
        ASSERT_EQ(usecs[0], 20u);
        hb_forget_report(&t, "a");
        ASSERT_FALSE(hb_seen(&t, "a", "{}", 30));
        /* Both silent since 20-30: nobody was heard after them, nothing is down. */
        ASSERT_EQ(hb_check(&t, 100, 50), 0u);
        /* b heard at 90: a (seen 30) is down, relative to b. */
        hb_seen(&t, "b", "{\"x\":1}", 90);
        ASSERT_EQ(hb_check(&t, 100, 50), 1u);
        ASSERT_TRUE(hb_get(&t, "a", false)->down);
        ASSERT_FALSE(hb_get(&t, "b", false)->down);
        ASSERT_EQ(hb_check(&t, 100, 50), 0u);
        hb_remove(&t, "a");
        ASSERT_NULL(hb_get(&t, "a", false));
        ASSERT_NOT_NULL(hb_get(&t, "b", false));
        hb_table_done(&t);
}

TAP_MAIN(test_heartbeat_only_writes_nothing, test_changed_report_is_stored,
         test_record_changed_behind, test_unknown_node, test_liveness_from_memory,
         test_store_heartbeats, test_restart_keeps_rule, test_hb_table)
