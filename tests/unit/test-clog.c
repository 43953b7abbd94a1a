/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "clog.h"
#include "fileio.h"
#include "tap.h"
#include "xalloc.h"

#define T0 1700000000000000000ULL /* 2023-11-14T22:13:20Z */

struct collected {
        char text[8192];
        int n;
        int stderr_n;
};

static int collect(const struct clog_entry *e, void *ud) {
        struct collected *c = ud;

        strncat(c->text, e->log, sizeof(c->text) - strlen(c->text) - 1);
        c->n++;
        if (e->stream == CLOG_STDERR)
                c->stderr_n++;
        return 0;
}

static char *tmpdir(void) {
        char t[] = "/tmp/berth-clog-XXXXXX";
        if (!mkdtemp(t))
                abort();
        return xstrdup(t);
}

static void test_write_read_lines(void) {
        _cleanup_free_ char *d = tmpdir(), *p = NULL, *raw = NULL;
        _cleanup_(clog_writer_freep) struct clog_writer *w = NULL;
        struct collected c = {};
        uint64_t off = 0;

        p = xasprintf("%s/log.jsonl", d);
        ASSERT_OK(clog_writer_open(p, 0, 1, &w, NULL));
        ASSERT_OK(clog_write(w, CLOG_STDOUT, "hel", 3, T0, NULL));
        ASSERT_OK(clog_write(w, CLOG_STDOUT, "lo\nwor", 6, T0 + 1, NULL));
        ASSERT_OK(clog_write(w, CLOG_STDERR, "err \"q\"\t\x01\n", 10, T0 + 2, NULL));
        ASSERT_OK(clog_flush(w, T0 + 3, NULL));
        ASSERT_OK(read_file(p, 1 << 20, &raw, NULL, NULL));
        ASSERT_NOT_NULL(strstr(raw, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":"
                                    "\"2023-11-14T22:13:20.000000001Z\"}\n"));
        ASSERT_NOT_NULL(
                strstr(raw, "\"log\":\"err \\\"q\\\"\\t\\u0001\\n\",\"stream\":\"stderr\""));
        ASSERT_OK(clog_read(p, NULL, collect, &c, &off, NULL));
        ASSERT_EQ(c.n, 3);
        ASSERT_EQ(c.stderr_n, 1);
        ASSERT_STREQ(c.text, "hello\nerr \"q\"\t\x01\nwor");
        ASSERT_EQ(off, strlen(raw));
        ASSERT_OK(rm_rf(d, NULL));
}

static void test_tail_since_follow(void) {
        _cleanup_free_ char *d = tmpdir(), *p = NULL;
        _cleanup_(clog_writer_freep) struct clog_writer *w = NULL;
        struct collected c = {}, c2 = {}, c3 = {};
        struct clog_read_opts o = {.tail = 2};
        struct clog_read_opts since = {.tail = -1, .since_nsec = T0 + 3 * NSEC_PER_SEC};
        uint64_t off = 0;
        char line[32];

        p = xasprintf("%s/log.jsonl", d);
        ASSERT_OK(clog_writer_open(p, 0, 1, &w, NULL));
        for (int i = 0; i < 5; i++) {
                snprintf(line, sizeof(line), "l%d\n", i);
                ASSERT_OK(clog_write(w, CLOG_STDOUT, line, strlen(line), T0 + i * NSEC_PER_SEC,
                                     NULL));
        }
        ASSERT_OK(clog_read(p, &o, collect, &c, &off, NULL));
        ASSERT_STREQ(c.text, "l3\nl4\n");
        ASSERT_OK(clog_read(p, &since, collect, &c2, NULL, NULL));
        ASSERT_STREQ(c2.text, "l3\nl4\n");
        ASSERT_OK(clog_write(w, CLOG_STDOUT, "new\n", 4, T0 + 9 * NSEC_PER_SEC, NULL));
        ASSERT_OK(clog_read_from(p, &off, collect, &c3, NULL));
        ASSERT_STREQ(c3.text, "new\n");
        ASSERT_OK(rm_rf(d, NULL));
}

static void test_rotation(void) {
        _cleanup_free_ char *d = tmpdir(), *p = NULL, *p1 = NULL, *p3 = NULL;
        _cleanup_(clog_writer_freep) struct clog_writer *w = NULL;
        struct collected c = {};
        char line[64];
        struct stat st;

        p = xasprintf("%s/log.jsonl", d);
        p1 = xasprintf("%s.1", p);
        p3 = xasprintf("%s.3", p);
        ASSERT_OK(clog_writer_open(p, 300, 3, &w, NULL));
        for (int i = 0; i < 40; i++) {
                snprintf(line, sizeof(line), "line %02d\n", i);
                ASSERT_OK(clog_write(w, CLOG_STDOUT, line, strlen(line), T0 + i, NULL));
        }
        ASSERT_OK(stat(p, &st));
        ASSERT_TRUE(st.st_size <= 300);
        ASSERT_OK(access(p1, F_OK));
        ASSERT_TRUE(access(p3, F_OK) < 0);
        ASSERT_OK(clog_read(p, NULL, collect, &c, NULL, NULL));
        /* oldest kept entries first, newest last, in order */
        ASSERT_NOT_NULL(strstr(c.text, "line 39\n"));
        ASSERT_TRUE(c.n < 40);
        ASSERT_TRUE(strstr(c.text, "line 38\n") < strstr(c.text, "line 39\n"));
        ASSERT_OK(rm_rf(d, NULL));
}

static void test_long_line_split(void) {
        _cleanup_free_ char *d = tmpdir(), *p = NULL, *big = NULL;
        _cleanup_(clog_writer_freep) struct clog_writer *w = NULL;
        struct collected c = {};

        p = xasprintf("%s/log.jsonl", d);
        big = xmalloc(CLOG_LINE_MAX + 10);
        memset(big, 'x', CLOG_LINE_MAX + 10);
        ASSERT_OK(clog_writer_open(p, 0, 1, &w, NULL));
        ASSERT_OK(clog_write(w, CLOG_STDOUT, big, CLOG_LINE_MAX + 10, T0, NULL));
        ASSERT_OK(clog_flush(w, T0, NULL));
        ASSERT_OK(clog_read(p, NULL, collect, &c, NULL, NULL));
        ASSERT_EQ(c.n, 2);
        ASSERT_OK(rm_rf(d, NULL));
}

static void test_parse_time_size(void) {
        uint64_t t, s;
        _cleanup_err_ struct err *e = NULL, *e2 = NULL;

        ASSERT_OK(clog_parse_time("2023-11-14T22:13:20Z", 0, &t, NULL));
        ASSERT_EQ(t, T0);
        ASSERT_OK(clog_parse_time("2023-11-14T22:13:20.5Z", 0, &t, NULL));
        ASSERT_EQ(t, T0 + 500000000ULL);
        ASSERT_OK(clog_parse_time("2023-11-14T23:13:20+01:00", 0, &t, NULL));
        ASSERT_EQ(t, T0);
        ASSERT_OK(clog_parse_time("1700000000", 0, &t, NULL));
        ASSERT_EQ(t, T0);
        ASSERT_OK(clog_parse_time("10m", T0, &t, NULL));
        ASSERT_EQ(t, T0 - 600ULL * NSEC_PER_SEC);
        ASSERT_OK(clog_parse_time("1h30m", T0, &t, NULL));
        ASSERT_EQ(t, T0 - 5400ULL * NSEC_PER_SEC);
        ASSERT_ERR(clog_parse_time("yesterday", T0, &t, &e), EINVAL);
        ASSERT_OK(clog_parse_size("10m", &s, NULL));
        ASSERT_EQ(s, 10 * 1024 * 1024);
        ASSERT_OK(clog_parse_size("512k", &s, NULL));
        ASSERT_EQ(s, 512 * 1024);
        ASSERT_OK(clog_parse_size("100", &s, NULL));
        ASSERT_EQ(s, 100);
        ASSERT_ERR(clog_parse_size("10x", &s, &e2), EINVAL);
}

TAP_MAIN(test_write_read_lines, test_tail_since_follow, test_rotation, test_long_line_split,
         test_parse_time_size)
