/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing of the canonical model and of observed state: defaults, derived fields, and errors
 * that name the offending field. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static int parse_model(const char *text, struct model_stack **ret, struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        int r = json_parse(text, strlen(text), "test", &j, errp);

        if (r < 0)
                return r;
        return model_stack_from_json(j, ret, errp);
}

static void test_defaults_and_derived(void) {
        _cleanup_(model_stack_freep) struct model_stack *m = NULL;
        const struct model_service *db, *web;

        ASSERT_OK(parse_model(
                "{\"version\":1,\"name\":\"shop\",\"unknown\":{\"x\":1},"
                "\"volumes\":{\"data\":{\"name\":\"shop_data\"}},"
                "\"services\":{"
                " \"web\":{\"hash\":\"h1\",\"replicas\":3,\"depends_on\":{\"db\":{\"condition\":"
                "\"service_healthy\",\"restart\":true}},\"pod\":{\"restart\":{\"policy\":"
                "\"on-failure\"},\"containers\":[{\"resources\":{\"reservations\":{\"cpus\":0.25,"
                "\"memory\":100}}},{\"resources\":{\"reservations\":{\"cpus\":1,\"memory\":"
                "28}}}]}},"
                " \"db\":{\"hash\":\"h2\",\"kind\":\"job\",\"pod\":{\"containers\":[{"
                "\"healthcheck\":{\"test\":[\"CMD\",\"true\"]},\"mounts\":[{\"type\":\"volume\","
                "\"source\":\"data\",\"target\":\"/d\"},{\"type\":\"bind\",\"source\":\"/x\"},"
                "{\"type\":\"volume\",\"source\":\"cache\"}]}]},"
                "  \"x-rollout\":{\"state\":\"rollback\",\"previous_hash\":\"h0\"}}},"
                "\"up\":{\"remove_orphans\":true,\"generation\":4,\"services\":[\"web\"]}}",
                &m, NULL));
        ASSERT_STREQ(m->name, "shop");
        ASSERT_EQ(m->n_services, 2);
        /* Sorted by name. */
        ASSERT_STREQ(m->services[0].name, "db");
        db = model_stack_find(m, "db");
        web = model_stack_find(m, "web");
        ASSERT_NOT_NULL(db);
        ASSERT_NOT_NULL(web);
        ASSERT_NULL(model_stack_find(m, "nope"));

        ASSERT_EQ(web->replicas, 3);
        ASSERT_EQ(web->kind, SVC_SERVICE);
        ASSERT_EQ(web->restart, RESTART_ON_FAILURE);
        ASSERT_EQ(web->cpu_millis, 1250);
        ASSERT_EQ(web->memory, 128);
        ASSERT_EQ(web->n_deps, 1);
        ASSERT_EQ(web->deps[0].cond, DEP_HEALTHY);
        ASSERT_TRUE(web->deps[0].restart);
        ASSERT_TRUE(web->deps[0].required);
        ASSERT_EQ(web->update.parallelism, 1);
        ASSERT_EQ(web->update.order, ORDER_STOP_FIRST);
        ASSERT_EQ(web->update.monitor_ms, 5000);
        ASSERT_FALSE(web->has_healthcheck);
        ASSERT_EQ(web->rollout, ROLLOUT_NONE);

        ASSERT_EQ(db->kind, SVC_JOB);
        ASSERT_EQ(db->replicas, 1);
        ASSERT_EQ(db->restart, RESTART_NO);
        ASSERT_TRUE(db->has_healthcheck);
        ASSERT_EQ(strv_length(db->volumes), 2);
        ASSERT_STREQ(db->volumes[0], "shop_data");
        ASSERT_STREQ(db->volumes[1], "cache");
        ASSERT_EQ(db->rollout, ROLLOUT_ROLLBACK);
        ASSERT_STREQ(db->previous_hash, "h0");

        ASSERT_TRUE(m->up.remove_orphans);
        ASSERT_FALSE(m->up.force_recreate);
        ASSERT_EQ(m->up.generation, 4);
        ASSERT_EQ(m->up.node_timeout_ms, 30000);
        ASSERT_STREQ(m->up.services[0], "web");
}

struct bad_case {
        const char *json;
        const char *msg;
};

static void test_model_errors(void) {
        static const struct bad_case cases[] = {
                {"[]", "(model): expected an object"},
                {"{\"name\":\"s\",\"services\":{}, \"version\":2}",
                 "version: unsupported model version (expected 1)"},
                {"{\"services\":{}}", "(model).name: missing"},
                {"{\"name\":\"s\"}", "services: expected an object"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"pod\":{}}}}", "services.w.hash: missing"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\"}}}",
                 "services.w.pod: missing"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"replicas\":\"3\"}}}",
                 "services.w.replicas: expected an integer between 0 and 100000"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"kind\":\"daemon\"}}}",
                 "services.w.kind: unknown value 'daemon' (expected one of service, job)"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"replicas\":2,\"container_name\":\"x\"}}}",
                 "services.w.container_name: only allowed with replicas 1"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"depends_on\":{\"db\":{\"condition\":\"service_ready\"}}}}}",
                 "services.w.depends_on.db.condition: unknown value 'service_ready' (expected "
                 "one of service_started, service_healthy, service_completed_successfully)"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"depends_on\":{\"w\":{}}}}}",
                 "services.w.depends_on.w: a service cannot depend on itself"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"update\":{\"order\":\"sideways\"}}}}",
                 "services.w.update.order: unknown value 'sideways' (expected one of "
                 "stop-first, start-first)"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"rollback\":{\"max_failure_ratio\":1.5}}}}",
                 "services.w.rollback.max_failure_ratio: expected a number between 0 and 1"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"placement\":{\"constraints\":[1]}}}}",
                 "services.w.placement.constraints[0]: expected a string"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{\"containers\":"
                 "[{\"resources\":{\"reservations\":{\"cpus\":-1}}}]}}}}",
                 "services.w.pod.containers[0].resources.reservations.cpus: expected a number "
                 "between 0 and 100000"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{},"
                 "\"x-rollout\":{\"state\":\"rollback\"}}}}",
                 "services.w.x-rollout.previous_hash: required when state is rollback"},
                {"{\"name\":\"s\",\"services\":{\"w\":{\"hash\":\"h\",\"pod\":{}}},"
                 "\"up\":{\"services\":[\"db\"]}}",
                 "up.services: unknown service 'db'"},
                {"{\"name\":\"s\",\"services\":{},\"up\":{\"force_recreate\":true,"
                 "\"no_recreate\":true}}",
                 "up.no_recreate: cannot be combined with force_recreate"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(model_stack_freep) struct model_stack *m = NULL;
                _cleanup_err_ struct err *e = NULL;

                ASSERT_ERR(parse_model(cases[i].json, &m, &e), EINVAL);
                ASSERT_NULL(m);
                ASSERT_STREQ(e->msg, cases[i].msg);
                ASSERT_NOT_NULL(e->field);
        }
}

static void test_observed(void) {
        _cleanup_json_ json_t *j =
                json_loads("{\"nodes\":[{\"id\":\"n2\",\"labels\":{\"zone\":\"a\"}},{\"id\":\"n1\","
                           "\"role\":\"manager\",\"ready\":true}],\"pods\":[{\"stack\":\"s\","
                           "\"service\":\"w\",\"slot\":2,\"node\":\"n1\",\"hash\":\"h\",\"state\":"
                           "\"exited\",\"exit_code\":3,\"health\":\"unhealthy\"}]}",
                           0, NULL);
        _cleanup_(observed_freep) struct observed *o = NULL;
        const struct obs_node *n;

        ASSERT_NOT_NULL(j);
        ASSERT_OK(observed_from_json(j, &o, NULL));
        ASSERT_EQ(o->n_nodes, 2);
        ASSERT_STREQ(o->nodes[0].id, "n1");
        n = observed_find_node(o, "n2");
        ASSERT_NOT_NULL(n);
        ASSERT_STREQ(n->name, "n2");
        ASSERT_STREQ(n->role, "worker");
        ASSERT_STREQ(n->availability, "active");
        ASSERT_FALSE(n->ready);
        ASSERT_STREQ(obs_node_label(n, "zone"), "a");
        ASSERT_NULL(obs_node_label(n, "rack"));
        ASSERT_EQ(o->pods[0].state, POD_EXITED);
        ASSERT_EQ(o->pods[0].exit_code, 3);
        ASSERT_EQ(o->pods[0].health, HEALTH_UNHEALTHY);
        ASSERT_EQ(o->pods[0].slot, 2);
}

static void test_observed_errors(void) {
        static const struct bad_case cases[] = {
                {"{\"nodes\":{}}", "nodes: expected an array"},
                {"{\"nodes\":[{}]}", "nodes[0].id: missing"},
                {"{\"nodes\":[{\"id\":\"a\"},{\"id\":\"a\"}]}", "nodes: duplicate node id 'a'"},
                {"{\"nodes\":[{\"id\":\"a\",\"availability\":\"gone\"}]}",
                 "nodes[0].availability: expected active, pause or drain"},
                {"{\"nodes\":[{\"id\":\"a\",\"labels\":{\"k\":1}}]}",
                 "nodes[0].labels.k: expected a string"},
                {"{\"nodes\":[{\"id\":\"a\"}],\"pods\":[{\"stack\":\"s\",\"service\":\"w\","
                 "\"node\":\"a\",\"hash\":\"h\",\"state\":\"running\",\"slot\":0}]}",
                 "pods[0].slot: expected an integer >= 1"},
                {"{\"nodes\":[{\"id\":\"a\"}],\"pods\":[{\"stack\":\"s\",\"service\":\"w\","
                 "\"node\":\"a\",\"hash\":\"h\",\"slot\":1}]}",
                 "pods[0].state: missing"},
                {"{\"nodes\":[{\"id\":\"a\"}],\"pods\":[{\"stack\":\"s\",\"service\":\"w\","
                 "\"node\":\"a\",\"hash\":\"h\",\"slot\":1,\"state\":\"zombie\"}]}",
                 "pods[0].state: unknown value 'zombie' (expected one of created, running, "
                 "exited, dead)"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_t *j = json_loads(cases[i].json, 0, NULL);
                _cleanup_(observed_freep) struct observed *o = NULL;
                _cleanup_err_ struct err *e = NULL;

                ASSERT_NOT_NULL(j);
                ASSERT_ERR(observed_from_json(j, &o, &e), EINVAL);
                ASSERT_NULL(o);
                ASSERT_STREQ(e->msg, cases[i].msg);
        }
}

TAP_MAIN(test_defaults_and_derived, test_model_errors, test_observed, test_observed_errors);
