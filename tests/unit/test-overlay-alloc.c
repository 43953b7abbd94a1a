/* SPDX-License-Identifier: Apache-2.0 */
/* Overlay networks in the controller (orchestrator/overlay.h): VNI and subnet allocation, the
 * overlap refusal, pod and node addresses per assignment, release, and the endpoint table
 * the agents get. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "err.h"
#include "json.h"
#include "overlay.h"
#include "strv.h"
#include "tap.h"

static const char *const MODEL =
        "{\"networks\":{\"mesh\":{\"driver\":\"overlay\"},\"local\":{\"driver\":\"bridge\","
        "\"subnet\":\"10.128.0.0/16\"},\"ext\":{\"driver\":\"overlay\",\"external\":true}},"
        "\"services\":{\"web\":{\"container_name\":\"w\",\"endpoint\":{\"mode\":\"vip\","
        "\"ports\":[{\"port\":80,\"target\":8080}]},\"pod\":{\"networks\":{\"mesh\":"
        "{\"aliases\":[\"www\"]}}}}}}";

static json_t *doc(struct store *s, const char *key) {
        struct store_kv kv = {};
        json_t *j = NULL;

        if (store_get(s, key, &kv, NULL) >= 0)
                j = json_loads(kv.value, 0, NULL);
        store_kv_done(&kv);
        return j;
}

static void put(struct store *s, const char *key, const char *value) {
        ASSERT_OK(store_put(s, key, value, STORE_ANY_REV, NULL, NULL));
}

static void test_wanted_and_alloc(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *d = NULL, *d2 = NULL;
        _cleanup_strv_ char **w = overlay_wanted(m);
        _cleanup_free_ char *ws = strv_join(w, " ");

        ASSERT_STREQ(ws, "mesh");
        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_FALSE(overlay_any(s));
        put(s, "stacks/shop", MODEL);
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        ASSERT_TRUE(overlay_any(s));
        d = doc(s, "overlay/shop/mesh");
        ASSERT_NOT_NULL(d);
        ASSERT_EQ(json_get_int(d, "vni", 0), 4096);
        /* 10.128.0.0/16 is the stack's bridge network: the first free /24 after it */
        ASSERT_STREQ(json_get_str(d, "subnet", ""), "10.129.0.0/24");
        ASSERT_STREQ(json_get_str(d, "gateway", ""), "10.129.0.1");
        /* again: nothing moves; another stack gets another VNI and subnet */
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        d2 = doc(s, "overlay/shop/mesh");
        ASSERT_TRUE(json_equal(d, d2));
        json_decref(d2);
        {
                _cleanup_json_ json_t *m2 = json_loads(
                        "{\"networks\":{\"mesh\":{\"driver\":\"overlay\"}},\"services\":{}}", 0,
                        NULL);
                ASSERT_OK(overlay_sync_stack(s, "blog", m2, NULL));
        }
        d2 = doc(s, "overlay/blog/mesh");
        ASSERT_EQ(json_get_int(d2, "vni", 0), 4097);
        ASSERT_STREQ(json_get_str(d2, "subnet", ""), "10.129.1.0/24");
        ASSERT_OK(overlay_release(s, "blog", NULL));
        json_decref(d2);
        d2 = doc(s, "overlay/blog/mesh");
        ASSERT_NULL(d2);
}

static void test_overlap_refused(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *bad = NULL, *vipr = NULL;
        _cleanup_err_ struct err *e = NULL, *e2 = NULL;
        uint64_t rev;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        put(s, "stacks/shop", MODEL);
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        rev = store_revision(s);
        /* another stack's overlay network on a subnet overlapping shop's bridge network */
        bad = json_loads("{\"networks\":{\"o\":{\"driver\":\"overlay\",\"subnet\":"
                         "\"10.128.5.0/24\"}},\"services\":{}}",
                         0, NULL);
        ASSERT_ERR(overlay_sync_stack(s, "blog", bad, &e), EEXIST);
        ASSERT_NOT_NULL(strstr(err_msg(e), "networks.o.subnet: '10.128.5.0/24' overlaps network "
                                           "'shop_local' (10.128.0.0/16)"));
        ASSERT_EQ(store_revision(s), rev); /* nothing stored */
        vipr = json_loads("{\"networks\":{\"o\":{\"driver\":\"overlay\",\"subnet\":"
                          "\"10.96.0.0/24\"}},\"services\":{}}",
                          0, NULL);
        ASSERT_ERR(overlay_sync_stack(s, "blog", vipr, &e2), EEXIST);
        ASSERT_NOT_NULL(strstr(err_msg(e2), "the service VIP range"));
}

static void test_addresses_and_endpoints(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *d = NULL, *ans = NULL, *aj = NULL;
        const char *a1 = "{\"stack\":\"shop\",\"service\":\"web\",\"slot\":1,\"hash\":\"h\","
                         "\"pod\":{\"networks\":{\"mesh\":{\"aliases\":[\"www\"]}}}}";
        const char *a2 = "{\"stack\":\"shop\",\"service\":\"web\",\"slot\":2,\"hash\":\"h\","
                         "\"pod\":{\"networks\":{\"mesh\":{\"aliases\":[\"www\"]}}}}";
        const json_t *eps, *e;
        size_t i, pods = 0, nodes = 0;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        put(s, "stacks/shop", MODEL);
        put(s, "nodes/n1", "{\"id\":\"n1\",\"advertise_addr\":\"198.18.0.1\"}");
        put(s, "nodes/n2",
            "{\"id\":\"n2\",\"advertise_addr\":\"198.18.0.2\",\"pods\":[{\"id\":"
            "\"shop.web.2\",\"state\":\"running\",\"health\":\"none\"}]}");
        put(s, "assignments/n1/shop.web.1", a1);
        put(s, "assignments/n2/shop.web.2", a2);
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        ASSERT_EQ(overlay_assign(s, NULL), 1);
        ASSERT_EQ(overlay_assign(s, NULL), 0); /* stable */
        d = doc(s, "overlay/shop/mesh");
        ASSERT_STREQ(json_get_str(json_object_get(d, "pods"), "n1/shop.web.1", ""), "10.129.0.2");
        ASSERT_STREQ(json_get_str(json_object_get(d, "pods"), "n2/shop.web.2", ""), "10.129.0.3");
        ASSERT_STREQ(json_get_str(json_object_get(d, "nodes"), "n1", ""), "10.129.0.254");
        ASSERT_STREQ(json_get_str(json_object_get(d, "nodes"), "n2", ""), "10.129.0.253");

        /* n1's answer: its pod's address, the network, and n2's pod and node address */
        aj = json_loads(a1, 0, NULL);
        ans = json_pack("{s:[{s:s, s:s, s:s, s:O}], s:{s:{s:{s:{s:s}}, s:{s:{s:{s:s}}}}}}",
                        "assignments", "name", "shop.web.1", "stack", "shop", "service", "web",
                        "pod", json_object_get(aj, "pod"), "stacks", "shop", "networks", "mesh",
                        "driver", "overlay", "services", "web", "vips", "mesh", "10.96.0.1");
        ASSERT_OK(overlay_decorate(s, "n1", ans, NULL));
        {
                const json_t *net = json_object_get(
                        json_object_get(json_object_get(json_object_get(ans, "stacks"), "shop"),
                                        "networks"),
                        "mesh");
                const json_t *pod = json_object_get(
                        json_array_get(json_object_get(ans, "assignments"), 0), "pod");

                ASSERT_EQ(json_get_int(net, "vni", 0), 4096);
                ASSERT_STREQ(json_get_str(net, "vtep_local", ""), "198.18.0.1");
                ASSERT_STREQ(json_get_str(net, "node_ip", ""), "10.129.0.254");
                ASSERT_STREQ(json_get_str(json_object_get(json_object_get(pod, "networks"), "mesh"),
                                          "ipv4_address", ""),
                             "10.129.0.2");
        }
        eps = json_object_get(
                json_object_get(json_object_get(json_object_get(ans, "stacks"), "shop"), "overlay"),
                "endpoints");
        json_array_foreach (eps, i, e) {
                ASSERT_STREQ(json_get_str(e, "vtep", ""), "198.18.0.2");
                ASSERT_STREQ(json_get_str(e, "node", ""), "n2");
                if (json_get_str(e, "pod", NULL)) {
                        pods++;
                        ASSERT_STREQ(json_get_str(e, "ip", ""), "10.129.0.3");
                        ASSERT_STREQ(json_get_str(e, "mac", ""), "02:42:0a:81:00:03");
                        ASSERT_TRUE(json_is_true(json_object_get(e, "ready")));
                        ASSERT_STREQ(
                                json_string_value(json_array_get(json_object_get(e, "names"), 0)),
                                "w");
                        ASSERT_STREQ(json_get_str(json_object_get(json_object_get(e, "endpoint"),
                                                                  "vips"),
                                                  "mesh", ""),
                                     "10.96.0.1");
                } else {
                        nodes++;
                        ASSERT_STREQ(json_get_str(e, "ip", ""), "10.129.0.253");
                }
        }
        ASSERT_EQ(pods, 1);
        ASSERT_EQ(nodes, 1);

        /* the pod moves from n2 to n1: n2's addresses go, the new pod gets a new one */
        ASSERT_OK(store_delete(s, "assignments/n2/shop.web.2", STORE_ANY_REV, NULL, NULL));
        put(s, "assignments/n1/shop.web.2", a2);
        ASSERT_EQ(overlay_assign(s, NULL), 1);
        json_decref(d);
        d = doc(s, "overlay/shop/mesh");
        ASSERT_NULL(json_object_get(json_object_get(d, "pods"), "n2/shop.web.2"));
        ASSERT_NULL(json_object_get(json_object_get(d, "nodes"), "n2"));
        ASSERT_STREQ(json_get_str(json_object_get(d, "pods"), "n1/shop.web.2", ""), "10.129.0.3");
}

static void test_pending_address_left_out(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *ans = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        put(s, "stacks/shop", MODEL);
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        /* no address pass yet: the pod waits instead of getting a local address */
        ans = json_loads("{\"assignments\":[{\"name\":\"shop.web.1\",\"stack\":\"shop\","
                         "\"service\":\"web\",\"pod\":{\"networks\":{\"mesh\":{}}}}],"
                         "\"stacks\":{\"shop\":{\"networks\":{}}}}",
                         0, NULL);
        ASSERT_OK(overlay_decorate(s, "n1", ans, NULL));
        ASSERT_EQ(json_array_size(json_object_get(ans, "assignments")), 0);
}

/* A remote replica of a service without VIPs, on a node without an advertise address: no
 * entries from the latter, an empty VIP map for the former. */
static void test_no_vips_no_vtep(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = json_loads(MODEL, 0, NULL), *ans = NULL;
        const char *a = "{\"stack\":\"shop\",\"service\":\"web\",\"slot\":1,\"hash\":\"h\","
                        "\"pod\":{\"networks\":{\"mesh\":{}}}}";
        const json_t *eps;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        put(s, "stacks/shop", MODEL);
        put(s, "nodes/n2", "{\"id\":\"n2\",\"advertise_addr\":\"198.18.0.2\"}");
        put(s, "nodes/n3", "{\"id\":\"n3\"}");
        put(s, "assignments/n2/shop.web.1", a);
        put(s, "assignments/n3/shop.web.2", a);
        ASSERT_OK(overlay_sync_stack(s, "shop", m, NULL));
        ASSERT_EQ(overlay_assign(s, NULL), 1);
        ans = json_loads("{\"assignments\":[],\"stacks\":{\"shop\":{}}}", 0, NULL);
        ASSERT_OK(overlay_decorate(s, "n1", ans, NULL));
        eps = json_object_get(
                json_object_get(json_object_get(json_object_get(ans, "stacks"), "shop"), "overlay"),
                "endpoints");
        /* n2's pod and n2's own address; nothing of n3 */
        ASSERT_EQ(json_array_size(eps), 2);
        for (size_t i = 0; i < json_array_size(eps); i++) {
                const json_t *e = json_array_get(eps, i);

                ASSERT_STREQ(json_get_str(e, "node", ""), "n2");
                if (json_get_str(e, "pod", NULL)) {
                        ASSERT_EQ(json_object_size(
                                          json_object_get(json_object_get(e, "endpoint"), "vips")),
                                  0);
                        ASSERT_FALSE(json_is_true(json_object_get(e, "ready")));
                }
        }
}

TAP_MAIN(test_wanted_and_alloc, test_overlap_refused, test_addresses_and_endpoints,
         test_pending_address_left_out, test_no_vips_no_vtep)
