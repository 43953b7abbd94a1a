/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "parse.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void test_durations(void) {
        static const struct {
                const char *in;
                int64_t ms;
        } ok[] = {{"0", 0},          {"1s", 1000},           {"500ms", 500}, {"1m30s", 90000},
                  {"1.5h", 5400000}, {"2h3m4s5ms", 7384005}, {"100us", 0},   {"1500000ns", 1}};
        static const char *const bad[] = {"", "10", "1x", "-1s", "s", "1m 30s", "abc"};

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                int64_t v = -1;
                ASSERT_OK(parse_duration_ms(ok[i].in, &v, NULL));
                ASSERT_EQ(v, ok[i].ms);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *msg = NULL;
                int64_t v;
                ASSERT_ERR(parse_duration_ms(bad[i], &v, &msg), EINVAL);
                ASSERT_NOT_NULL(msg);
        }
}

static void test_sizes_quantities(void) {
        int64_t v;
        double d;

        ASSERT_OK(parse_size("512", &v, NULL));
        ASSERT_EQ(v, 512);
        ASSERT_OK(parse_size("128m", &v, NULL));
        ASSERT_EQ(v, 128 * 1024 * 1024);
        ASSERT_OK(parse_size("1GB", &v, NULL));
        ASSERT_EQ(v, 1024LL * 1024 * 1024);
        ASSERT_OK(parse_size("1.5k", &v, NULL));
        ASSERT_EQ(v, 1536);
        ASSERT_ERR(parse_size("1zb", &v, NULL), EINVAL);
        ASSERT_ERR(parse_size("-1m", &v, NULL), EINVAL);

        ASSERT_OK(parse_quantity("500m", &d, NULL));
        ASSERT_TRUE(d > 0.4999 && d < 0.5001);
        ASSERT_OK(parse_quantity("128Mi", &d, NULL));
        ASSERT_EQ((int64_t)d, 134217728);
        ASSERT_OK(parse_quantity("1G", &d, NULL));
        ASSERT_EQ((int64_t)d, 1000000000);
        ASSERT_OK(parse_quantity("1e3", &d, NULL));
        ASSERT_EQ((int64_t)d, 1000);
        ASSERT_ERR(parse_quantity("12 gigs", &d, NULL), EINVAL);
        ASSERT_ERR(parse_quantity("1Qi", &d, NULL), EINVAL);
}

static void test_ports(void) {
        _cleanup_json_ json_t *a = json_array();
        _cleanup_free_ char *s = NULL, *msg = NULL;

        ASSERT_OK(parse_port_short("127.0.0.1:8000-8001:80-81/udp", a, NULL));
        ASSERT_OK(parse_port_short("[::1]:53:53", a, NULL));
        ASSERT_OK(parse_port_short("9000-9010:9000", a, NULL));
        s = json_dumps(a, JSON_COMPACT);
        ASSERT_STREQ(
                s,
                "[{\"target\":80,\"published\":\"8000\",\"host_ip\":\"127.0.0.1\",\"protocol\":"
                "\"udp\",\"mode\":\"ingress\",\"name\":null},{\"target\":81,\"published\":\"8001\","
                "\"host_ip\":\"127.0.0.1\",\"protocol\":\"udp\",\"mode\":\"ingress\",\"name\":null}"
                ","
                "{\"target\":53,\"published\":\"53\",\"host_ip\":\"::1\",\"protocol\":\"tcp\","
                "\"mode\":\"ingress\",\"name\":null},{\"target\":9000,\"published\":\"9000-9010\","
                "\"host_ip\":\"\",\"protocol\":\"tcp\",\"mode\":\"ingress\",\"name\":null}]");
        ASSERT_ERR(parse_port_short("abc", a, &msg), EINVAL);
        ASSERT_STREQ(msg, "expected \"[HOST_IP:][HOST:]CONTAINER[/PROTO]\", got \"abc\"");
        ASSERT_ERR(parse_port_short("80:80/icmp", a, NULL), EINVAL);
        ASSERT_ERR(parse_port_short("0:80", a, NULL), EINVAL);
        ASSERT_ERR(parse_port_short("8000:80-81", a, NULL), EINVAL);
        ASSERT_ERR(parse_port_short("1-2000", a, NULL), EINVAL);
}

static void test_levenshtein(void) {
        static const char *const keys[] = {"image", "ports", "environment", "networks", NULL};

        ASSERT_EQ(levenshtein("", ""), 0);
        ASSERT_EQ(levenshtein("kitten", "sitting"), 3);
        ASSERT_EQ(levenshtein("image", "imgae"), 2);
        ASSERT_EQ(levenshtein("abc", ""), 3);
        ASSERT_STREQ(did_you_mean("imgae", keys), "image");
        ASSERT_STREQ(did_you_mean("enviroment", keys), "environment");
        ASSERT_NULL(did_you_mean("zzzzzzzz", keys));
        ASSERT_NULL(did_you_mean("x", keys));
}

static const char *lookup(const char *name, void *ud) {
        return env_list_get(ud, name);
}

static void test_interpolation(void) {
        char *env[] = {(char *)"A=alpha", (char *)"E=", NULL};
        static const struct {
                const char *in, *out;
        } ok[] = {
                {"plain", "plain"},        {"$A-${A}", "alpha-alpha"},
                {"${B:-def}", "def"},      {"${E:-def}", "def"},
                {"${E-def}", ""},          {"${B-def}", "def"},
                {"${A:+alt}", "alt"},      {"${E:+alt}", ""},
                {"${E+alt}", "alt"},       {"$$A $${A}", "$A ${A}"},
                {"${B:-${A}x}", "alphax"}, {"${A:?msg}", "alpha"},
                {"cost $5", "cost $5"},    {"$", "$"},
        };
        _cleanup_strv_ char **warnings = NULL;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *out = NULL;
                ASSERT_OK(interpolate(ok[i].in, lookup, env, &out, NULL, &warnings));
                ASSERT_STREQ(out, ok[i].out);
        }
        ASSERT_NULL(warnings);
        {
                _cleanup_free_ char *out = NULL, *msg = NULL;
                ASSERT_OK(interpolate("x${MISSING}y", lookup, env, &out, NULL, &warnings));
                ASSERT_STREQ(out, "xy");
                ASSERT_EQ(strv_length(warnings), 1);
                ASSERT_ERR(interpolate("${B:?please set B}", lookup, env, &out, &msg, NULL),
                           EINVAL);
                ASSERT_STREQ(msg, "required variable B is missing a value: please set B");
        }
        {
                _cleanup_free_ char *out = NULL, *msg = NULL;
                ASSERT_ERR(interpolate("${A", lookup, env, &out, &msg, NULL), EINVAL);
                ASSERT_STREQ(msg,
                             "invalid interpolation format for \"${A\": missing closing brace");
        }
        {
                _cleanup_free_ char *out = NULL, *msg = NULL;
                ASSERT_ERR(interpolate("${A!}", lookup, env, &out, &msg, NULL), EINVAL);
        }
}

static void test_envfile(void) {
        _cleanup_strv_ char **kv = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *env[] = {(char *)"HOME=/root", NULL};
        _cleanup_strv_ char **bad = NULL;

        ASSERT_OK(envfile_parse("# c\n\nexport A=1\nB = two # comment\nC=\"x\\ny $A\"\nD='$A'\n"
                                "E=${HOME}/x\nBARE\n",
                                "t.env", lookup, env, &kv, NULL));
        ASSERT_EQ(strv_length(kv), 5);
        ASSERT_STREQ(env_list_get(kv, "A"), "1");
        ASSERT_STREQ(env_list_get(kv, "B"), "two");
        ASSERT_STREQ(env_list_get(kv, "C"), "x\ny 1");
        ASSERT_STREQ(env_list_get(kv, "D"), "$A");
        ASSERT_STREQ(env_list_get(kv, "E"), "/root/x");
        ASSERT_ERR(envfile_parse("OK=1\n=bad\n", "t.env", NULL, NULL, &bad, &e), EINVAL);
        ASSERT_STREQ(e->msg, "t.env:2: invalid line \"=bad\" (expected KEY=VALUE)");
}

static void test_shell_split(void) {
        _cleanup_strv_ char **a = NULL, **b = NULL;
        _cleanup_free_ char *j = NULL, *msg = NULL;

        ASSERT_OK(shell_split("sh -c 'echo \"hi there\"' a\\ b \"q\\\"x\"  ", &a, NULL));
        j = strv_join(a, "|");
        ASSERT_STREQ(j, "sh|-c|echo \"hi there\"|a b|q\"x");
        ASSERT_ERR(shell_split("echo 'unterminated", &b, &msg), EINVAL);
        ASSERT_STREQ(msg, "unterminated single quote in \"echo 'unterminated\"");
}

static void test_image_refs(void) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                {"nginx", "docker.io/library/nginx:latest"},
                {"nginx:1.25", "docker.io/library/nginx:1.25"},
                {"user/app", "docker.io/user/app:latest"},
                {"ghcr.io/o/r:v1", "ghcr.io/o/r:v1"},
                {"localhost:5000/a_b/c-d:x", "localhost:5000/a_b/c-d:x"},
                {"localhost/app", "localhost/app:latest"},
        };
        static const char *const bad[] = {"",     "Nginx", "nginx:",          "nginx:bad tag",
                                          "a//b", "-a",    "nginx@sha256:zz", "a/b/"};

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *out = NULL;
                ASSERT_OK(image_ref_normalize(ok[i].in, &out, NULL));
                ASSERT_STREQ(out, ok[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *out = NULL, *msg = NULL;
                ASSERT_ERR(image_ref_normalize(bad[i], &out, &msg), EINVAL);
        }
}

TAP_MAIN(test_durations, test_sizes_quantities, test_ports, test_levenshtein, test_interpolation,
         test_envfile, test_shell_split, test_image_refs)
