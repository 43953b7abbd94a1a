/* SPDX-License-Identifier: Apache-2.0 */
/* The routing mesh in the controller (orchestrator/mesh.h, overlay.h): which ports are mesh
 * ports, conflicts between stacks, every node with an advertise address on the network, the
 * stack's parts for a node without a replica, the pods' own bindings dropped; and overlay
 * networks by default (overlay_default_networks). */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "err.h"
#include "json.h"
#include "mesh.h"
#include "overlay.h"
#include "strv.h"
#include "tap.h"

/* web: compose port 8080 -> 80 (VIP port 80), a host-mode port, a host_ip port, a range;
 * api: a NodePort; solo: on a bridge network only; rr: dnsrr. */
static const char *const MODEL =
        "{\"networks\":{\"mesh\":{\"driver\":\"overlay\"},\"local\":{\"driver\":\"bridge\"}},"
        "\"services\":{"
        "\"web\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[{\"port\":80,\"target\":80,"
        "\"protocol\":\"tcp\"}]},\"pod\":{\"networks\":{\"mesh\":{}},\"containers\":[{\"ports\":["
        "{\"target\":80,\"published\":\"8080\",\"host_ip\":\"\",\"protocol\":\"tcp\","
        "\"mode\":\"ingress\"},"
        "{\"target\":81,\"published\":\"8081\",\"host_ip\":\"\",\"protocol\":\"tcp\","
        "\"mode\":\"host\"},"
        "{\"target\":82,\"published\":\"8082\",\"host_ip\":\"127.0.0.1\",\"protocol\":\"tcp\"},"
        "{\"target\":83,\"published\":\"9000-9001\",\"protocol\":\"tcp\"}]}]}},"
        "\"api\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[{\"port\":443,\"target\":8443,"
        "\"protocol\":\"tcp\",\"node_port\":30443}]},\"pod\":{\"networks\":{\"mesh\":{}},"
        "\"containers\":[{}]}},"
        "\"solo\":{\"pod\":{\"networks\":{\"local\":{}},\"containers\":[{\"ports\":["
        "{\"target\":80,\"published\":\"7070\",\"protocol\":\"tcp\"}]}]}},"
        "\"rr\":{\"endpoint\":{\"mode\":\"dnsrr\"},\"pod\":{\"networks\":{\"mesh\":{}},"
        "\"containers\":[{\"ports\":[{\"target\":80,\"published\":\"7071\",\"protocol\":"
        "\"tcp\"}]}]}}}}";

static void put(struct store *s, const char *key, const char *value) {
        ASSERT_OK(store_put(s, key, value, STORE_ANY_REV, NULL, NULL));
}

static json_t *doc(struct store *s, const char *key) {
        struct store_kv kv = {};
        json_t *j = NULL;

        if (store_get(s, key, &kv, NULL) >= 0)
                j = json_loads(kv.value, 0, NULL);
        store_kv_done(&kv);
        return j;
}

static void test_ports(void) {
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *p = NULL;
        _cleanup_free_ char *text = NULL;

        p = mesh_ports(m);
        text = json_dump_str(p, false);
        ASSERT_STREQ(text, "[{\"service\":\"web\",\"network\":\"mesh\",\"port\":80,\"protocol\":"
                           "\"tcp\",\"published\":8080},{\"service\":\"api\",\"network\":"
                           "\"mesh\",\"port\":443,\"protocol\":\"tcp\",\"published\":30443}]");
}

static void test_check_and_store(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *d = NULL, *none = NULL;
        _cleanup_err_ struct err *e = NULL, *e2 = NULL;
        _cleanup_json_ json_t *dup = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_OK(mesh_check(s, "shop", m, NULL));
        ASSERT_OK(mesh_store(s, "shop", m, NULL));
        d = doc(s, "mesh/shop");
        ASSERT_EQ(json_array_size(d), 2);
        /* the same stack again is no conflict; another stack on 8080 is */
        ASSERT_OK(mesh_check(s, "shop", m, NULL));
        ASSERT_ERR(mesh_check(s, "blog", m, &e), EADDRINUSE);
        ASSERT_NOT_NULL(strstr(err_msg(e), "services.web.ports: host port 8080/tcp is already "
                                           "published by service 'web' of stack 'shop' (the "
                                           "routing mesh publishes it on every node)"));
        /* two services of one stack on one port */
        dup = json_loads("{\"networks\":{\"mesh\":{\"driver\":\"overlay\"}},\"services\":{"
                         "\"a\":{\"pod\":{\"networks\":{\"mesh\":{}},\"containers\":[{\"ports\":[{"
                         "\"target\":80,\"published\":\"5000\",\"protocol\":\"tcp\"}]}]}},"
                         "\"b\":{\"pod\":{\"networks\":{\"mesh\":{}},\"containers\":[{\"ports\":[{"
                         "\"target\":81,\"published\":\"5000\",\"protocol\":\"tcp\"}]}]}}}}",
                         0, NULL);
        ASSERT_ERR(mesh_check(s, "two", dup, &e2), EADDRINUSE);
        ASSERT_NOT_NULL(strstr(err_msg(e2), "services.b.ports: host port 5000/tcp is already "
                                            "published by service 'a'"));
        /* without mesh ports the document goes; overlay_release drops it too */
        none = json_loads("{\"networks\":{},\"services\":{}}", 0, NULL);
        ASSERT_OK(mesh_store(s, "shop", none, NULL));
        json_decref(d);
        d = doc(s, "mesh/shop");
        ASSERT_NULL(d);
        ASSERT_OK(mesh_store(s, "shop", m, NULL));
        ASSERT_OK(overlay_release(s, "shop", NULL));
        d = doc(s, "mesh/shop");
        ASSERT_NULL(d);
}

/* Node n3 runs nothing of the stack: it still gets an address on the network, the stack in its
 * answer with the mesh ports and VIP; n1's pod loses its own binding of 8080 but keeps the
 * host-mode one. A hollow node (no advertise address) is left out. */
static void test_nodes_and_answer(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *d = NULL, *ans = NULL, *ans3 = NULL;
        _cleanup_strv_ char **st1 = NULL, **sth = NULL;
        _cleanup_free_ char *mesh3 = NULL;
        const json_t *ports;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        put(s, "stacks/shop", MODEL);
        put(s, "nodes/n1", "{\"id\":\"n1\",\"advertise_addr\":\"198.18.0.1\"}");
        put(s, "nodes/n3", "{\"id\":\"n3\",\"advertise_addr\":\"198.18.0.3\"}");
        put(s, "nodes/hollow", "{\"id\":\"hollow\"}");
        put(s, "assignments/n1/shop.web.1",
            "{\"stack\":\"shop\",\"service\":\"web\",\"slot\":1,\"hash\":\"h\",\"pod\":"
            "{\"networks\":{\"mesh\":{}}}}");
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        ASSERT_OK(mesh_store(s, "shop", m, NULL));
        ASSERT_EQ(overlay_assign(s, NULL), 1);
        d = doc(s, "overlay/shop/mesh");
        ASSERT_NOT_NULL(json_object_get(json_object_get(d, "nodes"), "n1"));
        ASSERT_NOT_NULL(json_object_get(json_object_get(d, "nodes"), "n3"));
        ASSERT_NULL(json_object_get(json_object_get(d, "nodes"), "hollow"));
        st1 = overlay_mesh_stacks(s, "n3");
        ASSERT_EQ(strv_length(st1), 1);
        sth = overlay_mesh_stacks(s, "hollow");
        ASSERT_EQ(strv_length(sth), 0);

        /* n3's answer: no assignment, the stack's parts with the mesh ports */
        ans3 = json_pack("{s:[], s:{s:{s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:{s:s}}}}}}", "assignments",
                         "stacks", "shop", "networks", "mesh", "driver", "overlay", "services",
                         "web", "vips", "mesh", "10.96.0.1", "api", "vips", "mesh", "10.96.0.2");
        ASSERT_OK(overlay_decorate(s, "n3", ans3, NULL));
        mesh3 = json_dump_str(
                json_object_get(json_object_get(json_object_get(ans3, "stacks"), "shop"), "mesh"),
                false);
        ASSERT_STREQ(mesh3, "[{\"network\":\"mesh\",\"vip\":\"10.96.0.1\",\"port\":80,"
                            "\"protocol\":\"tcp\",\"published\":8080},{\"network\":\"mesh\","
                            "\"vip\":\"10.96.0.2\",\"port\":443,\"protocol\":\"tcp\","
                            "\"published\":30443}]");

        /* n1's pod: 8080 is the mesh's, 8081 (host mode) stays its own */
        ans = json_loads("{\"assignments\":[{\"name\":\"shop.web.1\",\"stack\":\"shop\","
                         "\"service\":\"web\",\"pod\":{\"networks\":{\"mesh\":{}},\"containers\":"
                         "[{\"ports\":[{\"target\":80,\"published\":\"8080\",\"protocol\":"
                         "\"tcp\"},{\"target\":81,\"published\":\"8081\",\"protocol\":\"tcp\","
                         "\"mode\":\"host\"}]}]}}],\"stacks\":{\"shop\":{\"networks\":{\"mesh\":"
                         "{\"driver\":\"overlay\"}},\"services\":{\"web\":{\"vips\":{\"mesh\":"
                         "\"10.96.0.1\"}}}}}}",
                         0, NULL);
        ASSERT_OK(overlay_decorate(s, "n1", ans, NULL));
        ports = json_object_get(
                json_array_get(
                        json_object_get(
                                json_object_get(
                                        json_array_get(json_object_get(ans, "assignments"), 0),
                                        "pod"),
                                "containers"),
                        0),
                "ports");
        ASSERT_STREQ(json_get_str(json_array_get(ports, 0), "published", "?"), "");
        ASSERT_STREQ(json_get_str(json_array_get(ports, 1), "published", "?"), "8081");

        /* down: the stack leaves n3's answers, its addresses go */
        ASSERT_OK(overlay_release(s, "shop", NULL));
        strv_free(st1);
        st1 = overlay_mesh_stacks(s, "n3");
        ASSERT_EQ(strv_length(st1), 0);
}

static void test_default_overlay(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = NULL, *old = NULL;
        const char *text = "{\"networks\":{\"default\":{\"driver\":\"bridge\"},\"back\":{"
                           "\"driver\":\"bridge\"},\"pinned\":{\"driver\":\"bridge\","
                           "\"driver_explicit\":true},\"ext\":{\"driver\":\"bridge\","
                           "\"external\":true},\"mac\":{\"driver\":\"macvlan\"}},"
                           "\"services\":{}}";
        const json_t *n;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        /* one host with a VTEP, and hollow nodes: bridge as before */
        put(s, "nodes/vm", "{\"id\":\"vm\",\"advertise_addr\":\"198.18.0.1\"}");
        put(s, "nodes/h1", "{\"id\":\"h1\"}");
        put(s, "nodes/h2", "{\"id\":\"h2\",\"advertise_addr\":\"\"}");
        m = json_loads(text, 0, NULL);
        ASSERT_EQ(overlay_default_networks(s, m, NULL), 0);
        ASSERT_STREQ(json_get_str(json_object_get(json_object_get(m, "networks"), "default"),
                                  "driver", ""),
                     "bridge");
        /* a second host: driver-less networks of a new stack become overlays */
        put(s, "nodes/n2", "{\"id\":\"n2\",\"advertise_addr\":\"198.18.0.2\"}");
        ASSERT_EQ(overlay_default_networks(s, m, NULL), 2);
        n = json_object_get(m, "networks");
        ASSERT_STREQ(json_get_str(json_object_get(n, "default"), "driver", ""), "overlay");
        ASSERT_STREQ(json_get_str(json_object_get(n, "back"), "driver", ""), "overlay");
        ASSERT_STREQ(json_get_str(json_object_get(n, "pinned"), "driver", ""), "bridge");
        ASSERT_STREQ(json_get_str(json_object_get(n, "ext"), "driver", ""), "bridge");
        ASSERT_STREQ(json_get_str(json_object_get(n, "mac"), "driver", ""), "macvlan");
        /* an existing stack keeps the driver its networks have; a new network of it follows
         * the cluster */
        json_decref(m);
        m = json_loads(text, 0, NULL);
        old = json_loads("{\"networks\":{\"default\":{\"driver\":\"bridge\"}}}", 0, NULL);
        ASSERT_EQ(overlay_default_networks(s, m, old), 1);
        n = json_object_get(m, "networks");
        ASSERT_STREQ(json_get_str(json_object_get(n, "default"), "driver", ""), "bridge");
        ASSERT_STREQ(json_get_str(json_object_get(n, "back"), "driver", ""), "overlay");
}

/* Several replicas with a fixed host port: fine through the mesh (web's 8080, a range, a host
 * mode or host_ip port is left to the file's checks / refused as before), refused on a bridge
 * network naming the service and the port; one replica or a global service is fine. */
static void test_replicas(void) {
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL);
        _cleanup_err_ struct err *e = NULL;
        json_t *web, *solo;

        ASSERT_NOT_NULL(m);
        web = json_object_get(json_object_get(m, "services"), "web");
        solo = json_object_get(json_object_get(m, "services"), "solo");
        json_object_set_new(web, "replicas", json_integer(3));
        json_object_set_new(solo, "replicas", json_integer(1));
        /* web's 127.0.0.1:8082 is not a mesh port */
        ASSERT_ERR(mesh_check_replicas(m, &e), EINVAL);
        ASSERT_STREQ(e->msg, "services.web.ports: host port 8082 is published by 3 replicas (use "
                             "a range or drop the host port)");
        e = err_free(e);
        json_array_remove(
                json_object_get(
                        json_array_get(json_object_get(json_object_get(web, "pod"), "containers"),
                                       0),
                        "ports"),
                2);
        ASSERT_OK(mesh_check_replicas(m, NULL));
        json_object_set_new(solo, "replicas", json_integer(2));
        ASSERT_ERR(mesh_check_replicas(m, &e), EINVAL);
        ASSERT_STREQ(e->msg, "services.solo.ports: host port 7070 is published by 2 replicas (use "
                             "a range or drop the host port)");
        e = err_free(e);
        json_object_set_new(solo, "mode", json_string("global"));
        ASSERT_OK(mesh_check_replicas(m, NULL));
}

TAP_MAIN(test_ports, test_check_and_store, test_nodes_and_answer, test_default_overlay,
         test_replicas)
