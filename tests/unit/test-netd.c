/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's networking flags (agent/netd.h): --bip, --fixed-cidr, --mtu, --bridge none. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "netd.h"
#include "strv.h"
#include "tap.h"

static int check(const char *bip, const char *fc, uint32_t mtu, bool none, char **ret_msg) {
        _cleanup_err_ struct err *e = NULL;
        int r = netd_check_opts(&(struct netd_opts){(char *)bip, (char *)fc, mtu, none, NULL}, &e);

        *ret_msg = r < 0 ? strdup(err_msg(e)) : NULL;
        return r;
}

static void test_bip(void) {
        char *m = NULL;

        ASSERT_OK(check("172.30.0.1/16", NULL, 0, false, &m));
        ASSERT_OK(check("10.1.2.3/24", "10.1.2.128/25", 1400, false, &m));
        ASSERT_ERR(check("172.30.0.1", NULL, 0, false, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "--bip") != NULL);
        free(m);
        ASSERT_ERR(check("172.30.0.0/16", NULL, 0, false, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "network or broadcast") != NULL);
        free(m);
        ASSERT_ERR(check("300.1.1.1/16", NULL, 0, false, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "300.1.1.1") != NULL);
        free(m);
        ASSERT_ERR(check("10.0.0.1/40", NULL, 0, false, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "prefix") != NULL);
        free(m);
}

static void test_fixed_cidr_and_mtu(void) {
        char *m = NULL;

        ASSERT_ERR(check("10.1.2.1/24", "10.9.0.0/24", 0, false, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "--fixed-cidr") != NULL);
        free(m);
        ASSERT_ERR(check("10.1.2.1/24", "10.1.0.0/16", 0, false, &m), EINVAL);
        free(m);
        ASSERT_ERR(check(NULL, "10.1.2.5/24", 0, false, &m), EINVAL);
        free(m);
        ASSERT_ERR(check(NULL, NULL, 20, false, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "--mtu") != NULL);
        free(m);
        ASSERT_OK(check(NULL, NULL, 0, true, &m));
        ASSERT_ERR(check("10.1.2.1/24", NULL, 0, true, &m), EINVAL);
        ASSERT_TRUE(strstr(m, "--bridge none") != NULL);
        free(m);
}

static void test_pools(void) {
        _cleanup_err_ struct err *e = NULL;
        char *good[] = {"base=10.10.0.0/16,size=24", "base=10.20.0.0/16,size=20", NULL};
        char *bad[] = {"base=10.10.0.0/16,size=24", "base=10.20.0.0/16", NULL};
        _cleanup_json_ json_t *j = NULL;
        _cleanup_strv_ char **l = NULL;

        ASSERT_OK(netd_check_opts(&(struct netd_opts){.pools = good}, &e));
        ASSERT_ERR(netd_check_opts(&(struct netd_opts){.pools = bad}, &e), EINVAL);
        ASSERT_STREQ(err_msg(e), "--default-address-pool: address pool 'base=10.20.0.0/16': "
                                 "expected base=CIDR,size=N");
        e = err_free(e);
        j = json_loads("[{\"base\": \"10.30.0.0/16\", \"size\": 24}]", 0, NULL);
        ASSERT_OK(netd_config_pools("d.json", j, &l, &e));
        ASSERT_EQ(strv_length(l), 1);
        ASSERT_STREQ(l[0], "base=10.30.0.0/16,size=24");
        json_decref(j);
        j = json_loads("[{\"base\": \"10.30.0.0/16\", \"size\": 4}]", 0, NULL);
        ASSERT_ERR(netd_config_pools("d.json", j, &l, &e), EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "d.json: \"default-address-pools\"[0]: ") != NULL);
        e = err_free(e);
        json_decref(j);
        j = json_loads("[{\"base\": \"10.30.0.0/16\"}]", 0, NULL);
        ASSERT_ERR(netd_config_pools("d.json", j, &l, &e), EINVAL);
        e = err_free(e);
        json_decref(j);
        j = json_loads("{}", 0, NULL);
        ASSERT_ERR(netd_config_pools("d.json", j, &l, &e), EINVAL);
}

TAP_MAIN(test_bip, test_fixed_cidr_and_mtu, test_pools)
