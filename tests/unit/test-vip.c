/* SPDX-License-Identifier: Apache-2.0 */
/* Service VIP allocation (orchestrator/vip.h): which services get one, persistence across
 * ups, uniqueness across stacks, release on down and when a service or network goes. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "strv.h"
#include "tap.h"
#include "vip.h"

/* web: vip with a port on two networks; db: vip without ports; cache: only an `expose`d port;
 * dns: dnsrr; host: host network; api: default network. */
static const char *const MODEL =
        "{\"services\":{"
        "\"web\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[{\"port\":80,\"target\":80}]},"
        "\"pod\":{\"networks\":{\"front\":{},\"back\":{}}}},"
        "\"db\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[]},\"pod\":{}},"
        "\"cache\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[]},"
        "\"pod\":{\"containers\":[{\"expose\":[\"6379/tcp\"]}]}},"
        "\"dns\":{\"endpoint\":{\"mode\":\"dnsrr\",\"ports\":[{\"port\":53,\"target\":53}]},"
        "\"pod\":{}},"
        "\"host\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[{\"port\":1,\"target\":1}]},"
        "\"pod\":{\"network_mode\":\"host\"}},"
        "\"api\":{\"endpoint\":{\"mode\":\"vip\",\"ports\":[{\"port\":8080,\"target\":80}]},"
        "\"pod\":{}}}}";

static json_t *model(void) {
        return json_loads(MODEL, 0, NULL);
}

static const char *ip_of(const json_t *vips, const char *svc, const char *net) {
        return json_string_value(json_object_get(json_object_get(vips, svc), net));
}

static void test_wanted(void) {
        _cleanup_json_ json_t *m = model();
        _cleanup_strv_ char **w = vip_wanted(m);
        _cleanup_free_ char *s = strv_join(w, " ");

        ASSERT_STREQ(s, "api/default cache/default web/back web/front");
}

static void test_allocate_and_keep(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_json_ json_t *m = model(), *v1 = NULL, *v2 = NULL, *v3 = NULL, *other = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_OK(vip_sync(s, "shop", m, NULL));
        ASSERT_OK(vip_get(s, "shop", &v1, NULL));
        ASSERT_STREQ(ip_of(v1, "api", "default"), "10.96.0.1");
        ASSERT_STREQ(ip_of(v1, "cache", "default"), "10.96.0.2");
        ASSERT_STREQ(ip_of(v1, "web", "back"), "10.96.0.3");
        ASSERT_STREQ(ip_of(v1, "web", "front"), "10.96.0.4");
        ASSERT_NULL(json_object_get(v1, "db"));
        ASSERT_NULL(json_object_get(v1, "dns"));
        ASSERT_NULL(json_object_get(v1, "host"));
        /* another up: nothing moves; another stack gets other addresses */
        ASSERT_OK(vip_sync(s, "shop", m, NULL));
        ASSERT_OK(vip_get(s, "shop", &v2, NULL));
        ASSERT_TRUE(json_equal(v1, v2));
        ASSERT_OK(vip_sync(s, "blog", m, NULL));
        ASSERT_OK(vip_get(s, "blog", &other, NULL));
        ASSERT_STREQ(ip_of(other, "api", "default"), "10.96.0.5");
        /* web leaves the back network and api goes: their addresses are released and the
         * lowest free one is reused; web/front keeps its own */
        json_object_del(
                json_object_get(json_object_get(json_object_get(m, "services"), "web"), "pod"),
                "networks");
        json_object_set_new(
                json_object_get(json_object_get(json_object_get(m, "services"), "web"), "pod"),
                "networks", json_pack("{s:{}}", "front"));
        json_object_del(json_object_get(m, "services"), "api");
        ASSERT_OK(vip_sync(s, "shop", m, NULL));
        ASSERT_OK(vip_get(s, "shop", &v3, NULL));
        ASSERT_EQ(json_object_size(v3), 2);
        ASSERT_STREQ(ip_of(v3, "cache", "default"), "10.96.0.2");
        ASSERT_STREQ(ip_of(v3, "web", "front"), "10.96.0.4");
        ASSERT_NULL(ip_of(v3, "web", "back"));
        json_decref(other);
        ASSERT_OK(vip_sync(s, "blog2", m, NULL));
        ASSERT_OK(vip_get(s, "blog2", &other, NULL));
        ASSERT_STREQ(ip_of(other, "cache", "default"), "10.96.0.1");
        ASSERT_STREQ(ip_of(other, "web", "front"), "10.96.0.3");
        /* down releases everything of that stack only */
        ASSERT_OK(vip_release(s, "shop", NULL));
        ASSERT_OK(vip_release(s, "shop", NULL));
        json_decref(v3);
        ASSERT_OK(vip_get(s, "shop", &v3, NULL));
        ASSERT_EQ(json_object_size(v3), 0);
        json_decref(other);
        ASSERT_OK(vip_get(s, "blog", &other, NULL));
        ASSERT_STREQ(ip_of(other, "api", "default"), "10.96.0.5");
}

static void test_persistent(void) {
        char dir[] = "/tmp/test-vip-XXXXXX";
        _cleanup_json_ json_t *m = model(), *v1 = NULL, *v2 = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_OK(store_open_root(dir, &s, NULL));
                ASSERT_OK(vip_sync(s, "shop", m, NULL));
                ASSERT_OK(vip_get(s, "shop", &v1, NULL));
        }
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_OK(store_open_root(dir, &s, NULL));
                ASSERT_OK(vip_sync(s, "shop", m, NULL));
                ASSERT_OK(vip_get(s, "shop", &v2, NULL));
        }
        ASSERT_TRUE(json_equal(v1, v2));
        ASSERT_EQ(json_object_size(v1), 3);
        {
                _cleanup_free_ char *cmd = NULL;
                ASSERT_TRUE(asprintf(&cmd, "rm -rf %s", dir) > 0);
                ASSERT_EQ(system(cmd), 0);
        }
}

TAP_MAIN(test_wanted, test_allocate_and_keep, test_persistent)
