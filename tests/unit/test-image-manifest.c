/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cleanup.h"
#include "image/manifest.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DD "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define DE "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static int parse(const char *s, const char *ct, struct manifest **m, struct err **e) {
        return manifest_parse(s, strlen(s), ct, m, e);
}

static void test_docker_manifest(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        const char *s = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
                        "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":7,"
                        "\"digest\":\"" DA "\"},\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER_GZIP
                        "\",\"size\":100,\"digest\":\"" DB "\"},{\"mediaType\":\"" MT_OCI_LAYER_ZSTD
                        "\",\"size\":5,\"digest\":\"" DC "\"}]}";

        ASSERT_OK(parse(s, NULL, &m, NULL));
        ASSERT_EQ(m->kind, MANIFEST_DOCKER_V2);
        ASSERT_STREQ(m->config.digest, DA);
        ASSERT_EQ(m->config.size, 7);
        ASSERT_EQ(m->n_layers, 2);
        ASSERT_STREQ(m->layers[1].digest, DC);
        ASSERT_EQ(m->layers[0].size, 100);
}

static void test_oci_without_media_type(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL, *m2 = NULL;
        const char *s = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG
                        "\",\"size\":7,\"digest\":\"" DA "\"},\"layers\":[]}";

        ASSERT_OK(parse(s, NULL, &m, NULL));
        ASSERT_EQ(m->kind, MANIFEST_OCI);
        ASSERT_EQ(m->n_layers, 0);
        ASSERT_OK(parse(s, MT_OCI_MANIFEST, &m2, NULL));
        ASSERT_EQ(m2->kind, MANIFEST_OCI);
}

static const char *index_doc =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
        "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" DA "\","
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
        "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" DB "\","
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
        "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" DC "\","
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
        "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" DD "\","
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
        "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" DE "\","
        "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";

static void test_index_select(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_err_ struct err *e = NULL;
        const struct descriptor *d = NULL;
        const char *os, *arch, *var;

        ASSERT_OK(parse(index_doc, NULL, &m, NULL));
        ASSERT_EQ(m->kind, MANIFEST_OCI_INDEX);
        ASSERT_EQ(m->n_manifests, 5);
        ASSERT_OK(manifest_select(m, "linux", "amd64", NULL, &d, NULL));
        ASSERT_STREQ(d->digest, DD);
        ASSERT_OK(manifest_select(m, "linux", "arm64", "v8", &d, NULL));
        ASSERT_STREQ(d->digest, DC);
        ASSERT_OK(manifest_select(m, "linux", "arm64", NULL, &d, NULL));
        ASSERT_STREQ(d->digest, DC);
        ASSERT_OK(manifest_select(m, "linux", "arm", "v7", &d, NULL));
        ASSERT_STREQ(d->digest, DB);
        ASSERT_OK(manifest_select(m, "windows", "amd64", NULL, &d, NULL));
        ASSERT_STREQ(d->digest, DE);
        ASSERT_ERR(manifest_select(m, "linux", "s390x", NULL, &d, &e), ENOENT);
        ASSERT_NOT_NULL(strstr(e->msg, "linux/arm/v6"));
        ASSERT_NOT_NULL(strstr(e->msg, "linux/s390x"));

        platform_host(&os, &arch, &var);
        ASSERT_STREQ(os, "linux");
#if defined(__x86_64__)
        ASSERT_OK(manifest_select(m, os, arch, var, &d, NULL));
        ASSERT_STREQ(d->digest, DD);
#endif
}

static void test_docker_list(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        const struct descriptor *d = NULL;
        const char *s = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
                        "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"size\":1,\"digest\":\"" DA
                        "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

        ASSERT_OK(parse(s, NULL, &m, NULL));
        ASSERT_EQ(m->kind, MANIFEST_DOCKER_LIST);
        ASSERT_OK(manifest_select(m, "linux", "amd64", NULL, &d, NULL));
        ASSERT_STREQ(d->digest, DA);
}

struct bad {
        const char *doc, *msg;
};

static void test_manifest_invalid(void) {
        static const struct bad bad[] = {
                {"[]", "not a JSON object"},
                {"{", "invalid JSON"},
                {"{\"schemaVersion\":1}", "schemaVersion 1"},
                {"{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", "unsupported media type"},
                {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\"}", "config"},
                {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
                 "\",\"config\":{\"mediaType\":\"x\",\"size\":1,\"digest\":\"sha256:zz\"},"
                 "\"layers\":[]}",
                 "config.digest"},
                {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
                 "\",\"config\":{\"mediaType\":\"x\",\"size\":-1,\"digest\":\"" DA "\"},"
                 "\"layers\":[]}",
                 "config.size"},
                {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
                 "\",\"config\":{\"mediaType\":\"x\",\"size\":1,\"digest\":\"" DA "\"},"
                 "\"layers\":[{\"mediaType\":\"application/x-foo\",\"size\":1,\"digest\":\"" DA
                 "\"}]}",
                 "unsupported layer media type 'application/x-foo'"},
                {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\"}", "manifests"},
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(manifest_freep) struct manifest *m = NULL;
                _cleanup_err_ struct err *e = NULL;

                ASSERT_TRUE(parse(bad[i].doc, NULL, &m, &e) < 0);
                ASSERT_NULL(m);
                if (!strstr(e->msg, bad[i].msg))
                        printf("# case %zu: '%s'\n", i, e->msg);
                ASSERT_NOT_NULL(strstr(e->msg, bad[i].msg));
        }
}

static void test_manifest_too_big(void) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        size_t n = (4u << 20) + 1;
        _cleanup_free_ char *big = xmalloc(n);

        memset(big, ' ', n);
        ASSERT_ERR(manifest_parse(big, n, NULL, &m, NULL), EFBIG);
}

static void test_config(void) {
        _cleanup_(image_config_freep) struct image_config *c = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *s =
                "{\"created\":\"2024-01-01T00:00:00Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
                "\"config\":{\"Env\":[\"PATH=/bin\",\"A=b\"],\"Entrypoint\":[\"/init\"],"
                "\"Cmd\":[\"sh\",\"-c\",\"x\"],\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\","
                "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Volumes\":{\"/data\":{}},"
                "\"Labels\":{\"a\":\"1\"},\"StopSignal\":\"SIGQUIT\",\"Healthcheck\":{\"Test\":"
                "[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000,\"Retries\":3}},"
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DA "\",\"" DB "\"]},"
                "\"history\":[{\"created_by\":\"ADD x\"},{\"created_by\":\"ENV\",\"empty_layer\""
                ":true}]}";
        const char *bad = "{\"config\":{\"Env\":\"PATH=/bin\"},\"rootfs\":{\"type\":\"layers\","
                          "\"diff_ids\":[]}}";

        ASSERT_OK(image_config_parse(s, strlen(s), &c, NULL));
        ASSERT_STREQ(c->env[1], "A=b");
        ASSERT_STREQ(c->entrypoint[0], "/init");
        ASSERT_EQ(strv_length(c->cmd), 3);
        ASSERT_STREQ(c->working_dir, "/srv");
        ASSERT_STREQ(c->user, "1000:1000");
        ASSERT_STREQ(c->exposed_ports[0], "80/tcp");
        ASSERT_STREQ(c->exposed_ports[1], "53/udp");
        ASSERT_STREQ(c->volumes[0], "/data");
        ASSERT_STREQ(c->labels[0], "a=1");
        ASSERT_STREQ(c->stop_signal, "SIGQUIT");
        ASSERT_NOT_NULL(c->healthcheck);
        ASSERT_EQ(c->healthcheck->interval_ns, 5000000000LL);
        ASSERT_EQ(c->healthcheck->retries, 3);
        ASSERT_EQ(c->n_history, 2);
        ASSERT_TRUE(c->history[1].empty_layer);
        ASSERT_STREQ(c->diff_ids[1], DB);
        c = image_config_free(c);
        ASSERT_ERR(image_config_parse(bad, strlen(bad), &c, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "Env"));
}

TAP_MAIN(test_docker_manifest, test_oci_without_media_type, test_index_select, test_docker_list,
         test_manifest_invalid, test_manifest_too_big, test_config)
