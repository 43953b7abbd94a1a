/* SPDX-License-Identifier: Apache-2.0 */
/* The reverse channel's node lookup (orchestrator/tunnel.h): a container "<pod>.<name>" belongs
 * to the node whose report lists the pod; the longest pod name wins; no partial matches. */
#include <stdlib.h>

#include "cleanup.h"
#include "json.h"
#include "tap.h"
#include "tunnel.h"

static void test_locate(void) {
        _cleanup_json_ json_t *nodes =
                json_loads("[{\"id\": \"n1\", \"pods\": [{\"id\": \"shop.web.1.abc\"}, {\"id\": "
                           "\"shop.db.1.d\"}]},"
                           " {\"id\": \"n2\", \"pods\": [{\"id\": \"shop.web.2.abc\"}, {\"id\": "
                           "\"shop.web.1.abc.x\"}]},"
                           " {\"id\": \"n3\"}]",
                           0, NULL);
        char *n;

        ASSERT_NOT_NULL(nodes);
        n = tunnel_locate(nodes, "shop.web.1.abc.web");
        ASSERT_STREQ(n, "n1");
        free(n);
        n = tunnel_locate(nodes, "shop.web.2.abc.web");
        ASSERT_STREQ(n, "n2");
        free(n);
        /* The longer pod name is the better match. */
        n = tunnel_locate(nodes, "shop.web.1.abc.x.web");
        ASSERT_STREQ(n, "n2");
        free(n);
        ASSERT_NULL(tunnel_locate(nodes, "shop.web.1.abc"));      /* the pod itself, no container */
        ASSERT_NULL(tunnel_locate(nodes, "shop.web.1.abc."));     /* empty container name */
        ASSERT_NULL(tunnel_locate(nodes, "shop.web.1.abcd.web")); /* not at a dot */
        ASSERT_NULL(tunnel_locate(nodes, "other"));
        ASSERT_NULL(tunnel_locate(NULL, "shop.web.1.abc.web"));
}

TAP_MAIN(test_locate)
