/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "cleanup.h"
#include "health.h"
#include "json.h"
#include "tap.h"
#include "xalloc.h"

#define S USEC_PER_SEC

static void test_config_merge(void) {
        _cleanup_json_ json_t *img =
                json_pack("{s:[s,s],s:I,s:i}", "Test", "CMD-SHELL", "curl -f localhost", "Interval",
                          (json_int_t)10000000000LL, "Retries", 5);
        _cleanup_json_ json_t *ctr = json_pack("{s:I}", "Timeout", (json_int_t)2000000000LL);
        _cleanup_json_ json_t *none = json_pack("{s:[s]}", "Test", "NONE");
        _cleanup_json_ json_t *bad = json_pack("{s:[s]}", "Test", "RUN");
        _cleanup_err_ struct err *e = NULL;
        struct health_config c;
        bool on;

        ASSERT_OK(health_config_from_json(img, ctr, &c, &on, NULL));
        ASSERT_TRUE(on);
        ASSERT_STREQ(c.test[1], "curl -f localhost");
        ASSERT_EQ(c.interval_usec, 10 * S);
        ASSERT_EQ(c.timeout_usec, 2 * S);
        ASSERT_EQ(c.retries, 5);
        health_config_done(&c);
        ASSERT_OK(health_config_from_json(img, none, &c, &on, NULL));
        ASSERT_FALSE(on);
        ASSERT_OK(health_config_from_json(NULL, NULL, &c, &on, NULL));
        ASSERT_FALSE(on);
        ASSERT_ERR(health_config_from_json(bad, NULL, &c, &on, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "'RUN'"));
}

static void test_transitions(void) {
        _cleanup_json_ json_t *hc = json_pack("{s:[s,s],s:i}", "Test", "CMD", "true", "Retries", 2);
        struct health_config c;
        struct health h = {};
        bool on;

        ASSERT_OK(health_config_from_json(NULL, hc, &c, &on, NULL));
        health_reset(&h, 100 * S);
        ASSERT_EQ(h.status, HEALTH_STARTING);
        ASSERT_FALSE(health_record(&h, &c, 101 * S, 101 * S, 1, xstrdup("no")));
        ASSERT_EQ(h.status, HEALTH_STARTING);
        ASSERT_TRUE(health_record(&h, &c, 102 * S, 102 * S, 1, xstrdup("no")));
        ASSERT_EQ(h.status, HEALTH_UNHEALTHY);
        ASSERT_TRUE(health_record(&h, &c, 103 * S, 103 * S, 0, xstrdup("ok")));
        ASSERT_EQ(h.status, HEALTH_HEALTHY);
        ASSERT_EQ(h.failing_streak, 0);
        ASSERT_FALSE(health_record(&h, &c, 104 * S, 104 * S, 1, NULL));
        ASSERT_EQ(h.status, HEALTH_HEALTHY);
        ASSERT_TRUE(health_record(&h, &c, 105 * S, 105 * S, -1, xstrdup("timed out")));
        ASSERT_EQ(h.status, HEALTH_UNHEALTHY);
        health_done(&h);
        health_config_done(&c);
}

static void test_start_period(void) {
        _cleanup_json_ json_t *hc = json_pack(
                "{s:[s,s],s:i,s:I,s:I}", "Test", "CMD", "true", "Retries", 1, "StartPeriod",
                (json_int_t)60000000000LL, "Interval", (json_int_t)30000000000LL);
        struct health_config c;
        struct health h = {};
        bool on;

        ASSERT_OK(health_config_from_json(NULL, hc, &c, &on, NULL));
        health_reset(&h, 0);
        /* failures inside the start period do not make it unhealthy */
        for (int i = 1; i <= 5; i++)
                ASSERT_FALSE(health_record(&h, &c, (uint64_t)i * S, (uint64_t)i * S, 1, NULL));
        ASSERT_EQ(h.status, HEALTH_STARTING);
        ASSERT_EQ(health_next_delay(&h, &c, 10 * S), 5 * S);
        ASSERT_TRUE(health_record(&h, &c, 61 * S, 61 * S, 1, NULL));
        ASSERT_EQ(h.status, HEALTH_UNHEALTHY);
        ASSERT_EQ(health_next_delay(&h, &c, 62 * S), 30 * S);
        health_done(&h);
        health_config_done(&c);
}

static void test_log_keeps_last_five(void) {
        _cleanup_json_ json_t *hc = json_pack("{s:[s,s]}", "Test", "CMD", "true");
        _cleanup_json_ json_t *j = NULL;
        struct health_config c;
        struct health h = {};
        bool on;
        char out[16];

        ASSERT_OK(health_config_from_json(NULL, hc, &c, &on, NULL));
        health_reset(&h, 0);
        for (int i = 0; i < 8; i++) {
                snprintf(out, sizeof(out), "run %d", i);
                health_record(&h, &c, (uint64_t)i * S, (uint64_t)i * S, 0, xstrdup(out));
        }
        j = health_to_json(&h);
        ASSERT_STREQ(json_string_value(json_object_get(j, "Status")), "healthy");
        ASSERT_EQ(json_array_size(json_object_get(j, "Log")), HEALTH_LOG_MAX);
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(j, "Log"), 0),
                                                       "Output")),
                     "run 3");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(j, "Log"), 4),
                                                       "Output")),
                     "run 7");
        health_done(&h);
        health_config_done(&c);
}

TAP_MAIN(test_config_merge, test_transitions, test_start_period, test_log_keeps_last_five)
