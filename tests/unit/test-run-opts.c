/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "run_opts.h"
#include "tap.h"
#include "xalloc.h"

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, e, ...) run_opts_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), true, (o), (e))

static const char *jpath_str(json_t *j, const char *a, const char *b) {
        json_t *x = json_object_get(j, a);
        return json_string_value(b ? json_object_get(x, b) : x);
}

static void test_basic_run(void) {
        struct run_opts o = {};
        json_t *hc;

        ASSERT_OK(PARSE(&o, NULL, "run", "-d", "--name", "web", "-e", "A=1", "-l", "tier=fe", "-w",
                        "/srv", "-u", "1000:1000", "--rm", "busybox", "sh", "-c", "echo hi"));
        ASSERT_TRUE(o.detach);
        ASSERT_TRUE(o.auto_remove);
        ASSERT_STREQ(o.name, "web");
        ASSERT_STREQ(jpath_str(o.body, "Image", NULL), "busybox");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(o.body, "Cmd"), 2)),
                     "echo hi");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(o.body, "Env"), 0)), "A=1");
        ASSERT_STREQ(jpath_str(o.body, "Labels", "tier"), "fe");
        ASSERT_STREQ(jpath_str(o.body, "WorkingDir", NULL), "/srv");
        ASSERT_STREQ(jpath_str(o.body, "User", NULL), "1000:1000");
        hc = json_object_get(o.body, "HostConfig");
        ASSERT_TRUE(json_is_true(json_object_get(hc, "AutoRemove")));
        ASSERT_STREQ(jpath_str(hc, "NetworkMode", NULL), "default");
        run_opts_done(&o);
}

static void test_publish(void) {
        _cleanup_json_ json_t *exp = json_object(), *b = json_object();
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL;
        json_t *arr;

        ASSERT_OK(parse_publish("8080:80", exp, b, NULL));
        ASSERT_OK(parse_publish("127.0.0.1:5353:53/udp", exp, b, NULL));
        ASSERT_OK(parse_publish("9000-9001:90-91", exp, b, NULL));
        ASSERT_OK(parse_publish("[::1]:7000:70", exp, b, NULL));
        ASSERT_OK(parse_publish("443", exp, b, NULL));
        arr = json_object_get(b, "80/tcp");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(arr, 0), "HostPort")),
                     "8080");
        arr = json_object_get(b, "53/udp");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(arr, 0), "HostIp")),
                     "127.0.0.1");
        arr = json_object_get(b, "91/tcp");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(arr, 0), "HostPort")),
                     "9001");
        arr = json_object_get(b, "70/tcp");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(arr, 0), "HostIp")), "::1");
        arr = json_object_get(b, "443/tcp");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(arr, 0), "HostPort")), "");
        ASSERT_NOT_NULL(json_object_get(exp, "53/udp"));
        ASSERT_ERR(parse_publish("80:99999", exp, b, &e1), EINVAL);
        ASSERT_ERR(parse_publish("80/icmp", exp, b, &e2), EINVAL);
        ASSERT_ERR(parse_publish("1-3:1-2", exp, b, &e3), EINVAL);
        ASSERT_NOT_NULL(strstr(e1->msg, "--publish"));
}

static void test_conflicts(void) {
        struct run_opts o = {};
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        ASSERT_ERR(PARSE(&o, &e1, "run", "--rm", "--restart", "always", "img"), EINVAL);
        ASSERT_STREQ(e1->msg, "conflicting options: --restart and --rm");
        ASSERT_ERR(PARSE(&o, &e2, "run", "--network", "host", "-p", "80:80", "img"), EINVAL);
        ASSERT_NOT_NULL(strstr(e2->msg, "host"));
        ASSERT_ERR(PARSE(&o, &e3, "run", "--no-healthcheck", "--health-cmd", "true", "img"),
                   EINVAL);
        ASSERT_ERR(PARSE(&o, &e4, "run", "--ip", "10.0.0.2", "img"), EINVAL);
        ASSERT_NULL(o.body);
}

static void test_bad_values_name_the_flag(void) {
        struct run_opts o = {};
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL,
                                 *e6 = NULL, *e7 = NULL, *e8 = NULL;

        ASSERT_ERR(PARSE(&o, &e1, "run", "-m", "lots", "img"), EINVAL);
        ASSERT_NOT_NULL(strstr(e1->msg, "'--memory'"));
        ASSERT_ERR(PARSE(&o, &e2, "run", "--cpus", "-1", "img"), EINVAL);
        ASSERT_ERR(PARSE(&o, &e3, "run", "--restart", "sometimes", "img"), EINVAL);
        ASSERT_ERR(PARSE(&o, &e4, "run", "--bogus", "img"), EINVAL);
        ASSERT_STREQ(e4->msg, "unknown flag: '--bogus'");
        ASSERT_ERR(PARSE(&o, &e5, "run", "-d"), EINVAL);
        ASSERT_NOT_NULL(strstr(e5->msg, "requires at least 1 argument"));
        ASSERT_ERR(PARSE(&o, &e6, "run", "--ulimit", "nofile=10:5", "img"), EINVAL);
        ASSERT_ERR(PARSE(&o, &e7, "run", "--health-interval", "soon", "--health-cmd", "x", "img"),
                   EINVAL);
        ASSERT_ERR(PARSE(&o, &e8, "run", "--name", "bad/name", "img"), EINVAL);
}

static void test_resources_and_health(void) {
        struct run_opts o = {};
        json_t *hc, *h;

        ASSERT_OK(PARSE(&o, NULL, "run", "-m", "512m", "--cpus", "1.5", "--pids-limit", "100",
                        "--ulimit", "nofile=1024:2048", "--health-cmd", "true", "--health-interval",
                        "1m30s", "--health-retries", "3", "--restart", "on-failure:5", "--cap-add",
                        "NET_ADMIN", "--cap-drop", "ALL", "img"));
        hc = json_object_get(o.body, "HostConfig");
        ASSERT_EQ(json_integer_value(json_object_get(hc, "Memory")), 512 * 1024 * 1024);
        ASSERT_EQ(json_integer_value(json_object_get(hc, "NanoCpus")), 1500000000);
        ASSERT_EQ(json_integer_value(json_object_get(hc, "PidsLimit")), 100);
        ASSERT_EQ(json_integer_value(json_object_get(
                          json_array_get(json_object_get(hc, "Ulimits"), 0), "Hard")),
                  2048);
        ASSERT_STREQ(jpath_str(json_object_get(hc, "RestartPolicy"), "Name", NULL), "on-failure");
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(hc, "RestartPolicy"),
                                                     "MaximumRetryCount")),
                  5);
        h = json_object_get(o.body, "Healthcheck");
        ASSERT_EQ(json_integer_value(json_object_get(h, "Interval")), 90000000000LL);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(h, "Test"), 0)), "CMD-SHELL");
        run_opts_done(&o);
}

static void test_mounts_and_volumes(void) {
        struct run_opts o = {};
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL;
        json_t *hc, *m;

        ASSERT_OK(PARSE(&o, NULL, "run", "-v", "data:/data", "-v", "/host:/ctr:ro", "-v", "/anon",
                        "--mount", "type=tmpfs,target=/t,tmpfs-size=64m", "--tmpfs", "/run:size=1m",
                        "img"));
        hc = json_object_get(o.body, "HostConfig");
        ASSERT_EQ(json_array_size(json_object_get(hc, "Binds")), 2);
        ASSERT_NOT_NULL(json_object_get(json_object_get(o.body, "Volumes"), "/anon"));
        m = json_array_get(json_object_get(hc, "Mounts"), 0);
        ASSERT_STREQ(jpath_str(m, "Type", NULL), "tmpfs");
        ASSERT_EQ(json_integer_value(
                          json_object_get(json_object_get(m, "TmpfsOptions"), "SizeBytes")),
                  64 * 1024 * 1024);
        ASSERT_STREQ(jpath_str(json_object_get(hc, "Tmpfs"), "/run", NULL), "size=1m");
        run_opts_done(&o);
        ASSERT_ERR(PARSE(&o, &e1, "run", "-v", "data:relative", "img"), EINVAL);
        ASSERT_ERR(PARSE(&o, &e2, "run", "--mount", "type=bind,target=/x", "img"), EINVAL);
        ASSERT_ERR(PARSE(&o, &e3, "run", "-v", "/a:/b:bogus", "img"), EINVAL);
}

static void test_env_file(void) {
        char path[] = "/tmp/berth-envfile-XXXXXX";
        int fd = mkstemp(path);
        _cleanup_json_ json_t *arr = json_array();
        _cleanup_err_ struct err *e = NULL;
        const char *text = "# comment\n\nA=1\nB=two words\n  C=3\r\nBERTH_TEST_UNSET_VAR\n";

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(fd_write_full(fd, text, strlen(text)));
        close(fd);
        ASSERT_OK(parse_env_file(path, arr, NULL));
        ASSERT_EQ(json_array_size(arr), 3);
        ASSERT_STREQ(json_string_value(json_array_get(arr, 1)), "B=two words");
        ASSERT_STREQ(json_string_value(json_array_get(arr, 2)), "C=3");
        unlink(path);
        ASSERT_ERR(parse_env_file(path, arr, &e), ENOENT);
        ASSERT_NOT_NULL(strstr(e->msg, "--env-file"));
}

static void test_durations_sizes(void) {
        int64_t v;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(parse_go_duration("--x", "1h2m3s", &v, NULL));
        ASSERT_EQ(v, 3723000000000LL);
        ASSERT_OK(parse_go_duration("--x", "500ms", &v, NULL));
        ASSERT_EQ(v, 500000000LL);
        ASSERT_OK(parse_go_duration("--x", "1.5s", &v, NULL));
        ASSERT_EQ(v, 1500000000LL);
        ASSERT_ERR(parse_go_duration("--x", "5", &v, &e), EINVAL);
        ASSERT_OK(parse_bytes("--x", "1g", &v, NULL));
        ASSERT_EQ(v, 1073741824LL);
        ASSERT_OK(parse_bytes("--x", "100", &v, NULL));
        ASSERT_EQ(v, 100);
        ASSERT_OK(parse_bytes("--x", "64MB", &v, NULL));
        ASSERT_EQ(v, 64 * 1024 * 1024);
}

TAP_MAIN(test_basic_run, test_publish, test_conflicts, test_bad_values_name_the_flag,
         test_resources_and_health, test_mounts_and_volumes, test_env_file, test_durations_sizes)
