/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "stack.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char tmpdir[] = "/tmp/berth-test-stack.XXXXXX";

static void write_at(const char *name, const char *content) {
        _cleanup_free_ char *p = xasprintf("%s/%s", tmpdir, name);
        FILE *f = fopen(p, "we");

        if (!f)
                abort();
        fputs(content, f);
        fclose(f);
}

static int load(const char *file, char **environ_, json_t **ret, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/%s", tmpdir, file);
        char *files[] = {p, NULL};
        struct stack_load_opts o = {.files = files,
                                    .environ = environ_ ? environ_ : (char *[]){NULL}};

        return stack_load(&o, ret, errp);
}

static const char *hash_of(const json_t *m, const char *svc) {
        return json_string_value(
                json_object_get(json_object_get(json_object_get(m, "services"), svc), "hash"));
}

static const char *ctr_field(const json_t *m, const char *svc, const char *key) {
        const json_t *s = json_object_get(json_object_get(m, "services"), svc);
        const json_t *c =
                json_array_get(json_object_get(json_object_get(s, "pod"), "containers"), 0);

        return json_string_value(json_object_get(c, key));
}

static void test_hash_stability(void) {
        _cleanup_json_ json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        write_at("a.yaml",
                 "services:\n  web:\n    image: nginx\n    environment: {A: '1', B: '2'}\n"
                 "  db: {image: postgres}\n");
        /* Scale, dependencies, key order and short vs long syntax do not matter to the pod. */
        write_at("b.yaml",
                 "services:\n  web:\n    environment: [B=2, A=1]\n    image: "
                 "docker.io/library/nginx:latest\n    deploy: {replicas: 5}\n    depends_on: "
                 "[db]\n  db: {image: postgres}\n");
        write_at("c.yaml",
                 "services:\n  web:\n    image: nginx:1.25\n    environment: {A: '1', B: '2'}\n");
        write_at("d.yaml",
                 "services:\n  web:\n    image: nginx\n    environment: {A: '1', B: '3'}\n");
        ASSERT_OK(load("a.yaml", NULL, &a, NULL));
        ASSERT_OK(load("b.yaml", NULL, &b, NULL));
        ASSERT_OK(load("c.yaml", NULL, &c, NULL));
        ASSERT_OK(load("d.yaml", NULL, &d, NULL));
        ASSERT_EQ(strlen(hash_of(a, "web")), 64);
        ASSERT_STREQ(hash_of(a, "web"), hash_of(b, "web"));
        ASSERT_TRUE(!streq(hash_of(a, "web"), hash_of(c, "web")));
        ASSERT_TRUE(!streq(hash_of(a, "web"), hash_of(d, "web")));
        ASSERT_TRUE(!streq(hash_of(a, "web"), hash_of(a, "db")));
        {
                _cleanup_free_ char *h = stack_pod_hash(json_object_get(
                        json_object_get(json_object_get(a, "services"), "web"), "pod"));
                ASSERT_STREQ(h, hash_of(a, "web"));
        }
}

static void test_environ_and_errors(void) {
        _cleanup_json_ json_t *m = NULL, *m2 = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *env[] = {(char *)"TAG=7", NULL};

        write_at("e.yaml", "services:\n  cache:\n    image: redis:${TAG:?}\n    ports: "
                           "['${PORT:-6379}:6379']\n");
        ASSERT_OK(load("e.yaml", env, &m, NULL));
        ASSERT_STREQ(ctr_field(m, "cache", "image"), "docker.io/library/redis:7");
        ASSERT_ERR(load("e.yaml", NULL, &m2, &e), EINVAL);
        ASSERT_NULL(m2);
        ASSERT_STREQ(e->field, "services.cache.image");
        ASSERT_TRUE(strstr(e->msg, "e.yaml:3:12: services.cache.image: required variable TAG") !=
                    NULL);
}

static void test_project_names(void) {
        _cleanup_free_ char *a = stack_project_name_normalize("My App_2"),
                            *b = stack_project_name_normalize("--x"),
                            *c = stack_project_name_normalize("!!");

        ASSERT_STREQ(a, "myapp_2");
        ASSERT_STREQ(b, "x");
        ASSERT_NULL(c);
}

static void test_kube_detection(void) {
        _cleanup_json_ json_t *m = NULL;

        write_at("k.yaml",
                 "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: "
                 "[{name: c, image: busybox}]\n");
        ASSERT_OK(load("k.yaml", NULL, &m, NULL));
        ASSERT_NOT_NULL(json_object_get(json_object_get(m, "services"), "p"));
        ASSERT_STREQ(ctr_field(m, "p", "image"), "docker.io/library/busybox:latest");
}

static void test_default_files(void) {
        _cleanup_json_ json_t *m = NULL;
        struct stack_load_opts o = {.environ = (char *[]){NULL}, .project_dir = tmpdir};

        write_at("docker-compose.yml", "services:\n  a: {image: x}\n");
        write_at("compose.override.yaml", "services:\n  b: {image: y}\n");
        ASSERT_OK(stack_load(&o, &m, NULL));
        ASSERT_EQ(json_object_size(json_object_get(m, "services")), 2);
        ASSERT_EQ(json_array_size(json_object_get(m, "sources")), 2);
}

static void test_stdin_data(void) {
        _cleanup_json_ json_t *m = NULL, *k = NULL, *bad = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *files[] = {(char *)"-", NULL};
        struct stack_load_opts o = {.files = files,
                                    .environ = (char *[]){NULL},
                                    .project_name = "buf",
                                    .stdin_data = "services:\n  a: {image: x}\n"};

        ASSERT_OK(stack_load(&o, &m, NULL));
        ASSERT_STREQ(json_string_value(json_object_get(m, "name")), "buf");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(m, "sources"), 0)),
                     "<stdin>");
        o.stdin_data = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: "
                       "[{name: c, image: busybox}]\n";
        ASSERT_OK(stack_load(&o, &k, NULL));
        ASSERT_NOT_NULL(json_object_get(json_object_get(k, "services"), "p"));
        o.stdin_data = "services:\n  a: {image: x, tty: maybe}\n";
        ASSERT_ERR(stack_load(&o, &bad, &e), EINVAL);
        ASSERT_STREQ(e->msg,
                     "<stdin>:2:22: services.a.tty: expected a boolean (true or false), got "
                     "\"maybe\"");
}

static void setup(void) {
        if (!mkdtemp(tmpdir))
                abort();
}

static void cleanup(void) {
        ASSERT_OK(rm_rf(tmpdir, NULL));
}

TAP_MAIN(setup, test_hash_stability, test_environ_and_errors, test_project_names,
         test_kube_detection, test_default_files, test_stdin_data, cleanup)
