/* SPDX-License-Identifier: Apache-2.0 */
/* agent/pod_body.c: the create body of pod containers from the canonical model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "pod_body.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static json_t *parse(const char *text) {
        json_t *j = NULL;

        if (json_parse(text, strlen(text), "test", &j, NULL) < 0)
                abort();
        return j;
}

static const char STACK[] =
        "{\"networks\": {\"front\": {\"name\": \"shop_front\"}, \"back\": {}},"
        " \"volumes\": {\"data\": {\"name\": \"shop_data\"}},"
        " \"services\": {\"web\": {\"container_name\": \"webby\","
        "                          \"endpoint\": {\"service\": \"websvc\", \"mode\": \"vip\","
        "                           \"ports\": [{\"port\": 80, \"target\": 8080}]},"
        "                          \"vips\": {\"front\": \"10.96.0.5\"}}}}";

static const char POD[] =
        "{\"networks\": {\"front\": {\"aliases\": [\"www\", \"web\"], \"ipv4_address\": "
        "\"10.1.0.9\"},"
        "               \"back\": {}},"
        " \"hostname\": \"h1\", \"dns\": [\"9.9.9.9\"], \"extra_hosts\": [{\"host\": \"x\", "
        "\"ip\": \"1.2.3.4\"}],"
        " \"stop_signal\": \"SIGINT\", \"stop_grace_period_ms\": 3000,"
        " \"containers\": [{\"name\": \"web\", \"image\": \"busybox\", \"env\": {\"A\": \"1\"},"
        "   \"command\": [\"sh\"], \"user\": \"1000\","
        "   \"ports\": [{\"target\": 80, \"published\": \"8080\", \"host_ip\": \"127.0.0.1\", "
        "\"protocol\": \"tcp\"},"
        "               {\"target\": 53, \"published\": \"\", \"protocol\": \"udp\"}],"
        "   \"mounts\": [{\"type\": \"volume\", \"source\": \"data\", \"target\": \"/data\", "
        "\"read_only\": false},"
        "                {\"type\": \"bind\", \"source\": \"/etc\", \"target\": \"/host-etc\", "
        "\"read_only\": true},"
        "                {\"type\": \"tmpfs\", \"target\": \"/t\", \"tmpfs\": {\"size\": 4096, "
        "\"mode\": 448}},"
        "                {\"type\": \"secret\", \"source\": \"tok\", \"target\": "
        "\"/run/secrets/tok\"}],"
        "   \"resources\": {\"limits\": {\"cpus\": 0.5, \"memory\": 67108864, \"pids\": 20},"
        "                   \"reservations\": {\"memory\": 1048576}},"
        "   \"security\": {\"cap_add\": [\"NET_ADMIN\"], \"read_only\": true, "
        "\"no_new_privileges\": true},"
        "   \"ulimits\": {\"nofile\": {\"soft\": 10, \"hard\": 20}}, \"sysctls\": "
        "{\"net.core.somaxconn\": 512},"
        "   \"tmpfs\": [\"/run:size=1m\"], \"init\": true, \"labels\": {\"app\": \"shop\", "
        "\"berth.pod\": \"evil\"},"
        "   \"logging\": {\"driver\": \"json-file\", \"options\": {\"max-size\": \"1m\"}}},"
        "  {\"name\": \"side\", \"image\": \"busybox\", \"ports\": [{\"target\": 9000, "
        "\"published\": \"9000-9010\"}]}]}";

static struct pod_spec spec_of(const json_t *pod, const json_t *stack) {
        return (struct pod_spec){.name = "shop.web.1.abc",
                                 .stack = "shop",
                                 .service = "web",
                                 .hash = "abc",
                                 .slot = 1,
                                 .pod = pod,
                                 .stack_model = stack};
}

static void test_owner_networks_ports_and_fields(void) {
        _cleanup_json_ json_t *pod = parse(POD), *stack = parse(STACK), *body = NULL;
        _cleanup_strv_ char **warn = NULL;
        struct pod_spec spec = spec_of(pod, stack);
        const json_t *hc, *eps, *front, *m;
        size_t i;
        json_t *a;
        bool seen_www = false, seen_web = false, seen_webby = false, seen_svc = false;

        ASSERT_OK(pod_body_build(
                &(struct pod_body_opts){.spec = &spec,
                                        .ct = json_array_get(json_object_get(pod, "containers"), 0),
                                        .count = 2,
                                        .secrets_dir = "/run/berth/pods/x"},
                &body, &warn, NULL));
        hc = json_object_get(body, "HostConfig");
        /* Networks sorted: back first (NetworkMode), the model's name for front. */
        ASSERT_STREQ(json_get_str(hc, "NetworkMode", ""), "shop_back");
        eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
        ASSERT_EQ(json_object_size(eps), 2u);
        front = json_object_get(eps, "shop_front");
        ASSERT_NOT_NULL(front);
        ASSERT_STREQ(json_get_str(json_object_get(front, "IPAMConfig"), "IPv4Address", ""),
                     "10.1.0.9");
        json_array_foreach (json_object_get(front, "Aliases"), i, a) {
                seen_www |= streq(json_string_value(a), "www");
                seen_web |= streq(json_string_value(a), "web");
                seen_webby |= streq(json_string_value(a), "webby");
                seen_svc |= streq(json_string_value(a), "websvc");
        }
        /* The service names are not aliases (pod_vip.c keeps them), not even as explicit
         * aliases. */
        ASSERT_TRUE(seen_www && !seen_web && seen_webby && !seen_svc);
        ASSERT_EQ(json_array_size(json_object_get(front, "Aliases")), 3u);
        {
                const char *l = json_get_str(json_object_get(body, "Labels"), "berth.endpoint", "");
                _cleanup_json_ json_t *ep = parse(l);
                _cleanup_json_ json_t *want = parse(
                        "{\"stack\": \"shop\", \"service\": \"web\", \"names\": [\"web\", "
                        "\"websvc\"], \"mode\": \"vip\", \"ports\": [{\"port\": 80, "
                        "\"target\": 8080, \"protocol\": \"tcp\"}], \"vips\": {\"shop_front\": "
                        "\"10.96.0.5\"}}");
                ASSERT_TRUE(json_equal(ep, want));
        }
        /* Every container's ports on the owner. */
        ASSERT_STREQ(
                json_get_str(
                        json_array_get(
                                json_object_get(json_object_get(hc, "PortBindings"), "80/tcp"), 0),
                        "HostPort", ""),
                "8080");
        ASSERT_STREQ(
                json_get_str(json_array_get(json_object_get(json_object_get(hc, "PortBindings"),
                                                            "9000/tcp"),
                                            0),
                             "HostPort", ""),
                "9000-9010");
        ASSERT_NULL(json_object_get(json_object_get(hc, "PortBindings"), "53/udp"));
        ASSERT_NOT_NULL(json_object_get(json_object_get(body, "ExposedPorts"), "53/udp"));
        /* The rest of the model. */
        ASSERT_STREQ(json_get_str(body, "Hostname", ""), "h1");
        ASSERT_STREQ(json_get_str(body, "StopSignal", ""), "SIGINT");
        ASSERT_STREQ(json_get_str(body, "User", ""), "1000");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(body, "Env"), 0)), "A=1");
        ASSERT_EQ(json_get_int(hc, "NanoCpus", 0), 500000000);
        ASSERT_EQ(json_get_int(hc, "Memory", 0), 67108864);
        ASSERT_EQ(json_get_int(hc, "PidsLimit", 0), 20);
        ASSERT_EQ(json_get_int(hc, "MemoryReservation", 0), 1048576);
        ASSERT_TRUE(json_get_bool(hc, "ReadonlyRootfs", false));
        ASSERT_TRUE(json_get_bool(hc, "Init", false));
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(hc, "SecurityOpt"), 0)),
                     "no-new-privileges:true");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(hc, "CapAdd"), 0)),
                     "NET_ADMIN");
        ASSERT_STREQ(json_get_str(json_array_get(json_object_get(hc, "Ulimits"), 0), "Name", ""),
                     "nofile");
        ASSERT_STREQ(json_get_str(json_object_get(hc, "Sysctls"), "net.core.somaxconn", ""), "512");
        ASSERT_STREQ(json_get_str(json_object_get(hc, "Tmpfs"), "/run", ""), "size=1m");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(hc, "ExtraHosts"), 0)),
                     "x:1.2.3.4");
        ASSERT_STREQ(json_get_str(json_object_get(hc, "LogConfig"), "Type", ""), "json-file");
        /* berth's labels win over the model's. */
        ASSERT_STREQ(json_get_str(json_object_get(body, "Labels"), "berth.pod", ""),
                     "shop.web.1.abc");
        ASSERT_STREQ(json_get_str(json_object_get(body, "Labels"), "app", ""), "shop");
        ASSERT_STREQ(json_get_str(json_object_get(body, "Labels"), "berth.stop_grace_ms", ""),
                     "3000");
        /* Mounts. */
        m = json_object_get(hc, "Mounts");
        ASSERT_EQ(json_array_size(m), 4u);
        ASSERT_STREQ(json_get_str(json_array_get(m, 0), "Source", ""), "shop_data");
        ASSERT_STREQ(json_get_str(json_array_get(m, 1), "Type", ""), "bind");
        ASSERT_TRUE(json_get_bool(json_array_get(m, 1), "ReadOnly", false));
        ASSERT_EQ(
                json_get_int(json_object_get(json_array_get(m, 2), "TmpfsOptions"), "SizeBytes", 0),
                4096);
        ASSERT_STREQ(json_get_str(json_array_get(m, 3), "Type", ""), "bind");
        ASSERT_STREQ(json_get_str(json_array_get(m, 3), "Source", ""), "/run/berth/pods/x/c0-m3");
        ASSERT_TRUE(json_get_bool(json_array_get(m, 3), "ReadOnly", false));
        ASSERT_NULL(warn);
}

static void test_second_container_joins_the_owner(void) {
        _cleanup_json_ json_t *pod = parse(POD), *stack = parse(STACK), *body = NULL;
        struct pod_spec spec = spec_of(pod, stack);
        const json_t *hc;

        ASSERT_OK(pod_body_build(
                &(struct pod_body_opts){.spec = &spec,
                                        .ct = json_array_get(json_object_get(pod, "containers"), 1),
                                        .index = 1,
                                        .count = 2,
                                        .owner = "abc123"},
                &body, NULL, NULL));
        hc = json_object_get(body, "HostConfig");
        ASSERT_STREQ(json_get_str(hc, "NetworkMode", ""), "container:abc123");
        ASSERT_STREQ(json_get_str(hc, "IpcMode", ""), "container:abc123");
        ASSERT_NULL(json_object_get(hc, "PortBindings"));
        ASSERT_NULL(json_object_get(body, "NetworkingConfig"));
        ASSERT_NULL(json_object_get(body, "Hostname"));
        ASSERT_STREQ(json_get_str(json_object_get(body, "Labels"), "berth.index", ""), "1");
}

static void test_default_network_and_modes(void) {
        _cleanup_json_ json_t *pod =
                parse("{\"containers\": [{\"name\": \"a\", \"image\": \"i\"}]}");
        _cleanup_json_ json_t *host = parse("{\"network_mode\": \"host\", \"containers\": "
                                            "[{\"name\": \"a\", \"image\": \"i\"}]}");
        _cleanup_json_ json_t *svc = parse("{\"network_mode\": \"service:db\", \"containers\": "
                                           "[{\"name\": \"a\", \"image\": \"i\"}]}");
        _cleanup_json_ json_t *body = NULL, *body2 = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct pod_spec spec = spec_of(pod, NULL);
        _cleanup_strv_ char **keys = pod_network_keys(&spec);

        ASSERT_EQ(strv_length(keys), 1u);
        ASSERT_STREQ(keys[0], "default");
        ASSERT_OK(pod_body_build(
                &(struct pod_body_opts){.spec = &spec,
                                        .ct = json_array_get(json_object_get(pod, "containers"), 0),
                                        .count = 1},
                &body, NULL, NULL));
        ASSERT_STREQ(json_get_str(json_object_get(body, "HostConfig"), "NetworkMode", ""),
                     "shop_default");
        spec.pod = host;
        ASSERT_OK(pod_body_build(
                &(struct pod_body_opts){
                        .spec = &spec,
                        .ct = json_array_get(json_object_get(host, "containers"), 0),
                        .count = 1},
                &body2, NULL, NULL));
        ASSERT_STREQ(json_get_str(json_object_get(body2, "HostConfig"), "NetworkMode", ""), "host");
        spec.pod = svc;
        ASSERT_ERR(pod_body_build(
                           &(struct pod_body_opts){
                                   .spec = &spec,
                                   .ct = json_array_get(json_object_get(svc, "containers"), 0),
                                   .count = 1},
                           &body, NULL, &e),
                   EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "services.web.network_mode") != NULL);
}

static void test_unsupported_fields(void) {
        _cleanup_json_ json_t *pod = parse("{\"containers\": [{\"name\": \"a\", \"image\": \"i\", "
                                           "\"devices\": [\"/dev/kvm\"]}]}");
        _cleanup_json_ json_t *shm = parse(
                "{\"containers\": [{\"name\": \"a\", \"image\": \"i\", \"shm_size\": 1024}]}");
        _cleanup_json_ json_t *sub = parse(
                "{\"containers\": [{\"name\": \"a\", \"image\": \"i\", \"mounts\": [{\"type\": "
                "\"volume\", "
                "\"source\": \"v\", \"target\": \"/v\", \"volume\": {\"subpath\": \"x\"}}]}]}");
        _cleanup_json_ json_t *body = NULL;
        _cleanup_strv_ char **warn = NULL;
        _cleanup_err_ struct err *e = NULL, *e2 = NULL;
        struct pod_spec spec = spec_of(pod, NULL);

        ASSERT_ERR(pod_body_build(
                           &(struct pod_body_opts){
                                   .spec = &spec,
                                   .ct = json_array_get(json_object_get(pod, "containers"), 0),
                                   .count = 1},
                           &body, &warn, &e),
                   EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "services.web.containers[0].devices") != NULL);
        spec.pod = sub;
        ASSERT_ERR(pod_body_build(
                           &(struct pod_body_opts){
                                   .spec = &spec,
                                   .ct = json_array_get(json_object_get(sub, "containers"), 0),
                                   .count = 1},
                           &body, &warn, &e2),
                   EINVAL);
        ASSERT_TRUE(strstr(err_msg(e2), "mounts[0]: volume.subpath") != NULL);
        spec.pod = shm;
        ASSERT_OK(pod_body_build(
                &(struct pod_body_opts){.spec = &spec,
                                        .ct = json_array_get(json_object_get(shm, "containers"), 0),
                                        .count = 1},
                &body, &warn, NULL));
        ASSERT_EQ(strv_length(warn), 1u);
        ASSERT_TRUE(strstr(warn[0], "shm_size") != NULL);
}

TAP_MAIN(test_owner_networks_ports_and_fields, test_second_container_joins_the_owner,
         test_default_network_and_modes, test_unsupported_fields);
