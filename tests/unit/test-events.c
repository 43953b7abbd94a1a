/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "cleanup.h"
#include "events.h"
#include "json.h"
#include "tap.h"
#include "xalloc.h"

struct seen {
        char actions[1024];
        int n;
};

static void on_event(const struct event *ev, void *ud) {
        struct seen *s = ud;
        strncat(s->actions, ev->action, sizeof(s->actions) - strlen(s->actions) - 2);
        strcat(s->actions, ",");
        s->n++;
}

static void pub(struct event_bus *b, uint64_t t, const char *type, const char *action,
                const char *id, const char *name) {
        event_publish(b, t, type, action, id,
                      json_pack("{s:s,s:s,s:s}", "name", name, "image", "busybox", "tier", "fe"));
}

static void test_filters(void) {
        _cleanup_(event_bus_freep) struct event_bus *b = event_bus_new(16);
        struct event_filter f = {};
        _cleanup_err_ struct err *e = NULL;
        struct seen s = {};
        struct event_sub *sub;

        ASSERT_OK(event_filter_add(&f, "type=container", NULL));
        ASSERT_OK(event_filter_add(&f, "event=die", NULL));
        ASSERT_OK(event_filter_add(&f, "event=health_status", NULL));
        ASSERT_OK(event_filter_add(&f, "container=web", NULL));
        ASSERT_ERR(event_filter_add(&f, "colour=red", &e), EINVAL);
        sub = event_subscribe(b, &f, 0, 0, on_event, &s);
        pub(b, 1, "container", "start", "abc", "web");
        pub(b, 2, "container", "die", "abc", "web");
        pub(b, 3, "container", "die", "def", "db");
        pub(b, 4, "container", "health_status: unhealthy", "abc", "web");
        pub(b, 5, "network", "die", "abc", "web");
        ASSERT_STREQ(s.actions, "die,health_status: unhealthy,");
        event_unsubscribe(b, sub);
        ASSERT_EQ(event_bus_subscribers(b), 0);
        pub(b, 6, "container", "die", "abc", "web");
        ASSERT_EQ(s.n, 2);
        event_filter_done(&f);
}

static void test_history_since_until_and_bound(void) {
        _cleanup_(event_bus_freep) struct event_bus *b = event_bus_new(4);
        struct seen s = {}, s2 = {};
        struct event_sub *sub;

        for (int i = 1; i <= 10; i++)
                pub(b, (uint64_t)i * 100, "container", i % 2 ? "start" : "die", "x", "n");
        /* only the last 4 are kept: times 700..1000 */
        sub = event_subscribe(b, NULL, 1, 0, on_event, &s);
        ASSERT_EQ(s.n, 4);
        ASSERT_STREQ(s.actions, "start,die,start,die,");
        event_unsubscribe(b, sub);
        sub = event_subscribe(b, NULL, 800, 900, on_event, &s2);
        ASSERT_EQ(s2.n, 2);
        event_unsubscribe(b, sub);
}

static void test_json_and_filter_parse(void) {
        _cleanup_(event_bus_freep) struct event_bus *b = event_bus_new(2);
        _cleanup_json_ json_t *filters =
                json_pack("{s:[s],s:{s:b}}", "label", "tier=fe", "type", "container", 1);
        _cleanup_json_ json_t *badf = json_pack("{s:[s]}", "bogus", "x");
        _cleanup_err_ struct err *e = NULL;
        struct event_filter f = {};
        struct seen s = {};
        struct event_sub *sub;

        ASSERT_OK(event_filter_parse(filters, &f, NULL));
        ASSERT_ERR(event_filter_parse(badf, &f, &e), EINVAL);
        sub = event_subscribe(b, &f, 0, 0, on_event, &s);
        pub(b, 1500000000123456789ULL, "container", "create", "abc123", "web");
        ASSERT_EQ(s.n, 1);
        event_unsubscribe(b, sub);
        event_filter_done(&f);
        {
                struct event ev = {.time_nsec = 1500000000123456789ULL,
                                   .type = (char *)"container",
                                   .action = (char *)"create",
                                   .id = (char *)"abc123",
                                   .attributes = json_pack("{s:s}", "image", "busybox")};
                _cleanup_json_ json_t *j = event_to_json(&ev);
                ASSERT_STREQ(json_string_value(json_object_get(j, "status")), "create");
                ASSERT_STREQ(json_string_value(json_object_get(j, "from")), "busybox");
                ASSERT_EQ(json_integer_value(json_object_get(j, "time")), 1500000000);
                ASSERT_STREQ(json_string_value(json_object_get(json_object_get(j, "Actor"), "ID")),
                             "abc123");
                json_decref(ev.attributes);
        }
}

TAP_MAIN(test_filters, test_history_since_until_and_bound, test_json_and_filter_parse)
