/* SPDX-License-Identifier: Apache-2.0 */
/* The agent API's route table and helpers, without a running daemon. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "cleanup.h"
#include "fileio.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void test_routes_register(void) {
        _cleanup_router_ struct http_router *rt = http_router_new();
        _cleanup_err_ struct err *e = NULL;
        const struct http_route *route = NULL;
        _cleanup_free_ char *allow = NULL;

        ASSERT_OK(api_register(rt, NULL));
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/ping", &route, NULL, NULL), 200);
        ASSERT_EQ(http_router_match(rt, "HEAD", "/v1/ping", &route, NULL, NULL), 200);
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/version", &route, NULL, NULL), 200);
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/info", &route, NULL, NULL), 200);
        ASSERT_EQ(http_router_match(rt, "POST", "/v1/info", &route, NULL, &allow), 405);
        ASSERT_STREQ(allow, "GET");
        /* Registering the same groups twice is refused: duplicates are caught at startup. */
        ASSERT_ERR(api_register(rt, &e), EEXIST);
        ASSERT_NOT_NULL(strstr(e->msg, "defined twice"));
}

static void test_count_entries(void) {
        char dir[] = "/tmp/berth-api-XXXXXX";
        _cleanup_free_ char *a = NULL, *b = NULL, *f = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        a = xasprintf("%s/containers/a", dir);
        b = xasprintf("%s/containers/b", dir);
        f = xasprintf("%s/containers/file", dir);
        ASSERT_OK(mkdir_p(a, 0700, NULL));
        ASSERT_OK(mkdir_p(b, 0700, NULL));
        ASSERT_OK(write_file_atomic(f, "x", 1, 0600, NULL));
        ASSERT_EQ(api_count_entries(dir, "containers", true), 2);
        ASSERT_EQ(api_count_entries(dir, "containers", false), 3);
        ASSERT_EQ(api_count_entries(dir, "missing", true), 0);
        ASSERT_OK(rm_rf(dir, NULL));
}

TAP_MAIN(test_routes_register, test_count_entries)
