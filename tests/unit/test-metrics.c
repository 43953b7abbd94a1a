/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "cleanup.h"
#include "metrics.h"
#include "tap.h"

static void collect(struct metric_text *t, void *ud) {
        int *n = ud;
        metric_text_family(t, "berth_containers", METRIC_GAUGE, "Containers by state.");
        metric_text_sample(t, "berth_containers", "state", "running", *n);
        metric_text_sample(t, "berth_containers", "state", "we\"ird\n", 0);
}

static void test_render(void) {
        _cleanup_(metrics_freep) struct metrics *m = metrics_new();
        static const double b[] = {0.001, 0.01, 0.1};
        _cleanup_free_ char *out = NULL;
        int running = 3;

        metrics_declare(m, "berth_restarts_total", METRIC_COUNTER, "Container restarts.", NULL, 0);
        metrics_declare(m, "berth_api_request_seconds", METRIC_HISTOGRAM, "API latency.", b, 3);
        metrics_add(m, "berth_restarts_total", NULL, NULL, 1);
        metrics_add(m, "berth_restarts_total", NULL, NULL, 2);
        metrics_observe(m, "berth_api_request_seconds", 0.0005);
        metrics_observe(m, "berth_api_request_seconds", 0.05);
        metrics_observe(m, "berth_api_request_seconds", 5);
        metrics_add_collector(m, collect, &running);
        out = metrics_render(m);
        ASSERT_NOT_NULL(
                strstr(out, "# TYPE berth_restarts_total counter\nberth_restarts_total 3\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_api_request_seconds_bucket{le=\"0.001\"} 1\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_api_request_seconds_bucket{le=\"0.01\"} 1\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_api_request_seconds_bucket{le=\"0.1\"} 2\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_api_request_seconds_bucket{le=\"+Inf\"} 3\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_api_request_seconds_count 3\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_containers{state=\"running\"} 3\n"));
        ASSERT_NOT_NULL(strstr(out, "berth_containers{state=\"we\\\"ird\\n\"} 0\n"));
}

static void test_labels_and_gauges(void) {
        _cleanup_(metrics_freep) struct metrics *m = metrics_new();
        _cleanup_free_ char *out = NULL;

        metrics_declare(m, "g", METRIC_GAUGE, "A gauge.", NULL, 0);
        metrics_declare(m, "g", METRIC_COUNTER, "ignored redeclaration", NULL, 0);
        metrics_set(m, "g", "code", "200", 1.5);
        metrics_set(m, "g", "code", "200", 2.25);
        metrics_set(m, "g", "code", "404", 7);
        metrics_add(m, "unknown", NULL, NULL, 1);
        out = metrics_render(m);
        ASSERT_NOT_NULL(strstr(out, "# TYPE g gauge\n"));
        ASSERT_NOT_NULL(strstr(out, "g{code=\"200\"} 2.25\n"));
        ASSERT_NOT_NULL(strstr(out, "g{code=\"404\"} 7\n"));
        ASSERT_NULL(strstr(out, "unknown"));
}

TAP_MAIN(test_render, test_labels_and_gauges)
