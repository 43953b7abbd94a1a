/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "xalloc.h"

/* Every route group of the agent API, in one table. Add a line per group. */
/* clang-format off */
static const struct http_route *const api_groups[] = {
        api_system_routes,
        api_events_routes,
        api_images_routes,
        api_container_routes,
        api_network_routes,
        api_volume_routes,
        api_build_routes,
        api_ctrfs_routes,
        api_df_routes,
};
/* clang-format on */

int api_register(struct http_router *r, struct err **errp) {
        for (size_t i = 0; i < ELEMENTSOF(api_groups); i++) {
                int k = http_router_add_table(r, api_groups[i], errp);
                if (k < 0)
                        return err_wrap(errp, "register API routes");
        }
        return 0;
}

unsigned api_count_entries(const char *root, const char *sub, bool dirs_only) {
        _cleanup_free_ char *path = xasprintf("%s/%s", root, sub);
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (dirs_only && de->d_type != DT_DIR)
                        continue;
                n++;
        }
        return n;
}
