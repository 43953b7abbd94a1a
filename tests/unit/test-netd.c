/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's networking flags (agent/netd.h): --bip, --fixed-cidr, --mtu, --bridge none. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "netd.h"
#include "tap.h"

static int check(const char *bip, const char *fc, uint32_t mtu, bool none, char **ret_msg) {
        _cleanup_err_ struct err *e = NULL;
        int r = netd_check_opts(&(struct netd_opts){(char *)bip, (char *)fc, mtu, none}, &e);

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

TAP_MAIN(test_bip, test_fixed_cidr_and_mtu)
