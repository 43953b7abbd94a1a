/* SPDX-License-Identifier: Apache-2.0 */
/* The pure part of agent/pod_vip.c: which DNS entries and nft services a set of replicas
 * gives (VIP vs DNS round robin, only ready replicas, VIPs that cannot be used). */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "pod_vip.h"
#include "strv.h"
#include "tap.h"

static json_t *parse(const char *s) {
        json_t *j = json_loads(s, 0, NULL);

        if (!j)
                abort();
        return j;
}

#define WEB_EP                                                                                     \
        "{\"stack\": \"shop\", \"service\": \"web\", \"names\": [\"web\", \"websvc\"], "           \
        "\"mode\": \"vip\", \"ports\": [{\"port\": 80, \"target\": 8080, \"protocol\": "           \
        "\"tcp\"}, {\"port\": 53, \"target\": 53, \"protocol\": \"udp\"}], "                       \
        "\"vips\": {\"shop_front\": \"10.96.0.5\"}}"

static void test_vip(void) {
        _cleanup_json_ json_t *ep = parse(WEB_EP);
        _cleanup_json_ json_t *a1 = parse("{\"shop_front\": \"10.1.0.2\", \"shop_back\": "
                                          "\"10.2.0.2\"}");
        _cleanup_json_ json_t *a2 = parse("{\"shop_front\": \"10.1.0.3\", \"shop_back\": "
                                          "\"10.2.0.3\"}");
        _cleanup_json_ json_t *a3 = parse("{\"shop_front\": \"10.1.0.4\", \"shop_back\": "
                                          "\"10.2.0.4\"}");
        struct pod_vip_member m[] = {
                {"shop.web.2.x", true, ep, a2},
                {"shop.web.1.x", true, ep, a1},
                {"shop.web.3.x", false, ep, a3}, /* unhealthy or stopping */
        };
        struct pod_vip_plan p = {};
        _cleanup_free_ char *dns = NULL;

        pod_vip_plan_compute(m, 3, NULL, NULL, &p);
        dns = strv_join(p.dns, ",");
        /* front: the VIP; back (no VIP there): the ready replicas */
        ASSERT_STREQ(dns, "shop_back\tweb\t10.2.0.2,shop_back\tweb\t10.2.0.3,"
                          "shop_back\twebsvc\t10.2.0.2,shop_back\twebsvc\t10.2.0.3,"
                          "shop_front\tweb\t10.96.0.5,shop_front\twebsvc\t10.96.0.5");
        ASSERT_EQ(p.n_svcs, 2u);
        ASSERT_STREQ(p.svcs[0].name, "shop/web@shop_front:80/tcp");
        ASSERT_EQ(p.svcs[0].vip, 0x0a600005u);
        ASSERT_EQ(p.svcs[0].port, 80);
        ASSERT_EQ(p.svcs[0].target_port, 8080);
        ASSERT_EQ(p.svcs[0].n_backends, 2u);
        ASSERT_EQ(p.svcs[0].backends[0], 0x0a010002u); /* sorted */
        ASSERT_EQ(p.svcs[0].backends[1], 0x0a010003u);
        ASSERT_STREQ(p.svcs[1].name, "shop/web@shop_front:53/udp");
        ASSERT_STREQ(p.key, "0a600005:53/17->53 0a010002 0a010003;"
                            "0a600005:80/6->8080 0a010002 0a010003");
        pod_vip_plan_done(&p);

        /* nobody ready: the name still resolves to the VIP, which has no backends */
        m[0].ready = m[1].ready = false;
        pod_vip_plan_compute(m, 3, NULL, NULL, &p);
        free(dns);
        dns = strv_join(p.dns, ",");
        ASSERT_STREQ(dns, "shop_front\tweb\t10.96.0.5,shop_front\twebsvc\t10.96.0.5");
        ASSERT_EQ(p.n_svcs, 2u);
        ASSERT_EQ(p.svcs[0].n_backends, 0u);
        pod_vip_plan_done(&p);
}

static bool not_10_96(void *ud, uint32_t vip) {
        (void)ud;
        return (vip >> 16) != 0x0a60;
}

static void test_dnsrr_and_fallbacks(void) {
        _cleanup_json_ json_t *rr = parse("{\"names\": [\"db\"], \"mode\": \"dnsrr\", \"ports\": "
                                          "[{\"port\": 5432, \"target\": 5432}], \"vips\": "
                                          "{\"n\": \"10.96.0.9\"}}");
        _cleanup_json_ json_t *noports =
                parse("{\"names\": [\"cache\"], \"mode\": \"vip\", \"ports\": [], \"vips\": {}}");
        _cleanup_json_ json_t *vip = parse(WEB_EP);
        _cleanup_json_ json_t *a = parse("{\"n\": \"10.3.0.2\"}"),
                              *b = parse("{\"n\": \"10.3.0.3\"}");
        _cleanup_json_ json_t *f = parse("{\"shop_front\": \"10.1.0.2\"}");
        struct pod_vip_member m[] = {
                {"db1", true, rr, a},
                {"db2", false, rr, b},
                {"c1", true, noports, b},
                {"w1", true, vip, f},
        };
        struct pod_vip_plan p = {};
        _cleanup_free_ char *dns = NULL;

        /* the VIP lies in a local subnet: web falls back to its replicas */
        pod_vip_plan_compute(m, 4, not_10_96, NULL, &p);
        dns = strv_join(p.dns, ",");
        ASSERT_STREQ(dns, "n\tcache\t10.3.0.3,n\tdb\t10.3.0.2,shop_front\tweb\t10.1.0.2,"
                          "shop_front\twebsvc\t10.1.0.2");
        ASSERT_EQ(p.n_svcs, 0u);
        ASSERT_STREQ(p.key, "");
        pod_vip_plan_done(&p);
        pod_vip_plan_compute(NULL, 0, NULL, NULL, &p);
        ASSERT_EQ(strv_length(p.dns), 0u);
        pod_vip_plan_done(&p);
}

TAP_MAIN(test_vip, test_dnsrr_and_fallbacks)
