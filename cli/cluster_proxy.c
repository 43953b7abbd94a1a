/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "cluster_proxy.h"
#include "json.h"
#include "xalloc.h"

bool cluster_may_have(const struct err *e) {
        return e && strstr(err_msg(e), "No such container");
}

int cluster_stream(const struct cli_ctx *ctx, const char *container, const char *method,
                   const char *path, const json_t *body, http_line_fn *on_line, void *ud,
                   struct err **errp) {
        _cleanup_json_ json_t *req = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        req = json_pack("{s:s, s:s, s:s}", "container", container, "method", method, "path", path);
        if (body) {
                text = json_dump_str(body, false);
                json_object_set_new(req, "body", json_string(text));
        }
        r = client_stream(ctx, "POST", "/v1/cluster/proxy", req, on_line, ud, errp);
        if (r == -ENOENT || r == -EOPNOTSUPP) {
                /* A daemon without a controller has no such route: the container is simply not
                 * there. Keep the controller's message when it gave one. */
                if (!*errp || !strstr(err_msg(*errp), "No such container")) {
                        err_freep(errp);
                        return err_setx(errp, ENOENT, "No such container: %s", container);
                }
        }
        return r;
}
