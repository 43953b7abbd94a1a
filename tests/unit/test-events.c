/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "fileio.h"
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
        _cleanup_(event_bus_freep) struct event_bus *b = event_bus_new();
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

static struct event_bus *bus_with_journal(const char *dir, uint64_t max) {
        struct event_bus *b = event_bus_new();
        struct event_journal *j = NULL;

        if (event_journal_open(dir, max, &j, NULL) < 0)
                abort();
        event_bus_set_journal(b, j);
        return b;
}

static void test_history_since_until(void) {
        char dir[] = "/tmp/berth-events-XXXXXX";
        struct seen s = {}, s2 = {}, s3 = {};
        struct event_sub *sub;

        ASSERT_NOT_NULL(mkdtemp(dir));
        {
                _cleanup_(event_bus_freep) struct event_bus *b = bus_with_journal(dir, 1 << 20);

                for (int i = 1; i <= 10; i++)
                        pub(b, (uint64_t)i * 100, "container", i % 2 ? "start" : "die", "x", "n");
                /* since 0 means "no history"; since 700 the last 4 */
                sub = event_subscribe(b, NULL, 0, 0, on_event, &s);
                ASSERT_EQ(s.n, 0);
                event_unsubscribe(b, sub);
                sub = event_subscribe(b, NULL, 700, 0, on_event, &s);
                ASSERT_EQ(s.n, 4);
                ASSERT_STREQ(s.actions, "start,die,start,die,");
                event_unsubscribe(b, sub);
        }
        {
                /* a new bus on the same journal (a restarted daemon) sees the old events */
                _cleanup_(event_bus_freep) struct event_bus *b = bus_with_journal(dir, 1 << 20);
                struct event_filter f = {};

                sub = event_subscribe(b, NULL, 800, 900, on_event, &s2);
                ASSERT_EQ(s2.n, 2);
                event_unsubscribe(b, sub);
                ASSERT_OK(event_filter_add(&f, "event=die", NULL));
                sub = event_subscribe(b, &f, 1, 0, on_event, &s3);
                ASSERT_EQ(s3.n, 5);
                pub(b, 1100, "container", "die", "x", "n");
                pub(b, 1200, "container", "start", "x", "n");
                ASSERT_EQ(s3.n, 6); /* live, filtered */
                event_unsubscribe(b, sub);
                event_filter_done(&f);
        }
        ASSERT_OK(rm_rf(dir, NULL));
}

static void count_cb(const struct event *ev, void *ud) {
        uint64_t *last = ud;

        last[0]++;
        last[1] = ev->time_nsec;
        if (!last[2])
                last[2] = ev->time_nsec;
}

static void test_journal_bound(void) {
        char dir[] = "/tmp/berth-events-XXXXXX";
        _cleanup_free_ char *cur = NULL, *old = NULL;
        _cleanup_(event_journal_freep) struct event_journal *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        uint64_t seen[3] = {};
        struct stat a, b;
        unsigned skipped = 1;

        ASSERT_NOT_NULL(mkdtemp(dir));
        cur = xasprintf("%s/events.log", dir);
        old = xasprintf("%s/events.log.1", dir);
        ASSERT_ERR(event_journal_open(dir, 100, &j, &e), EINVAL);
        ASSERT_OK(event_journal_open(dir, 8192, &j, NULL));
        for (uint64_t i = 1; i <= 1000; i++) {
                _cleanup_json_ json_t *attrs = json_pack("{s:s}", "name", "web");
                struct event ev = {.time_nsec = i,
                                   .type = (char *)"container",
                                   .action = (char *)"die",
                                   .id = (char *)"0123456789abcdef",
                                   .attributes = attrs};
                ASSERT_OK(event_journal_append(j, &ev, NULL));
        }
        ASSERT_EQ(stat(cur, &a), 0);
        ASSERT_EQ(stat(old, &b), 0);
        ASSERT_TRUE(a.st_size + b.st_size <= 8192);
        ASSERT_OK(event_journal_read(j, 1, 0, NULL, count_cb, seen, &skipped, NULL));
        ASSERT_EQ(skipped, 0);
        /* the newest are all there, in order, without a gap; the oldest rolled off */
        ASSERT_EQ(seen[1], 1000);
        ASSERT_EQ(seen[0], 1000 - seen[2] + 1);
        ASSERT_TRUE(seen[2] > 1);
        ASSERT_TRUE(seen[0] > 40);
        ASSERT_OK(rm_rf(dir, NULL));
}

static void test_journal_cut_line(void) {
        char dir[] = "/tmp/berth-events-XXXXXX";
        _cleanup_free_ char *cur = NULL;
        struct seen s = {};
        unsigned skipped = 0;

        ASSERT_NOT_NULL(mkdtemp(dir));
        cur = xasprintf("%s/events.log", dir);
        {
                _cleanup_(event_bus_freep) struct event_bus *b = bus_with_journal(dir, 1 << 20);
                pub(b, 100, "container", "start", "x", "n");
                pub(b, 200, "container", "die", "x", "n");
        }
        {
                /* a daemon killed in the middle of a write, and a line that is not JSON */
                _cleanup_close_ int fd = open(cur, O_WRONLY | O_APPEND | O_CLOEXEC);
                static const char junk[] = "not json\n{\"time\":300,\"type\":\"contai";
                ASSERT_TRUE(fd >= 0);
                ASSERT_OK(fd_write_full(fd, junk, strlen(junk)));
        }
        {
                _cleanup_(event_bus_freep) struct event_bus *b = bus_with_journal(dir, 1 << 20);
                struct event_journal *j = NULL;
                struct event_sub *sub;

                pub(b, 400, "container", "restart", "x", "n");
                sub = event_subscribe(b, NULL, 1, 0, on_event, &s);
                ASSERT_STREQ(s.actions, "start,die,restart,");
                event_unsubscribe(b, sub);
                ASSERT_OK(event_journal_open(dir, 1 << 20, &j, NULL));
                ASSERT_OK(event_journal_read(j, 1, 0, NULL, on_event, &s, &skipped, NULL));
                ASSERT_EQ(skipped, 2);
                event_journal_free(j);
        }
        ASSERT_OK(rm_rf(dir, NULL));
}

static void test_json_and_filter_parse(void) {
        _cleanup_(event_bus_freep) struct event_bus *b = event_bus_new();
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

TAP_MAIN(test_filters, test_history_since_until, test_journal_bound, test_journal_cut_line,
         test_json_and_filter_parse)
