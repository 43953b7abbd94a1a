/* SPDX-License-Identifier: Apache-2.0 */
/* `berth down -v`: removes a stack's named volumes after its pods (stacks_volumes.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "client.h"
#include "http_request.h"
#include "json.h"
#include "stacks_stop.h"
#include "stacks_volumes.h"
#include "xalloc.h"

#define POLL_MS 100

int stack_down_volumes(const struct cli_ctx *ctx, const char *stack, const json_t *model,
                       unsigned wait_s, struct err **errp) {
        const struct timespec pause = {0, POLL_MS * 1000000L};
        unsigned tries = wait_s * (1000 / POLL_MS);
        const json_t *vols = json_object_get(model, "volumes"), *v;
        const char *key;
        int r, failed = 0;

        if (json_object_size(vols) == 0)
                return 0;
        /* The volumes are in use until the pods are gone. */
        for (unsigned i = 0;; i++) {
                _cleanup_json_ json_t *left = NULL;

                r = stack_containers(ctx, stack, &left, errp);
                if (r < 0)
                        return r;
                r = (int)json_object_size(left);
                if (r == 0)
                        break;
                if (i >= tries)
                        return err_setx(errp, ETIMEDOUT,
                                        "stack '%s': %d container(s) still there after %u s; "
                                        "its volumes were kept",
                                        stack, r, wait_s);
                nanosleep(&pause, NULL);
        }
        json_object_foreach ((json_t *)vols, key, v) {
                _cleanup_free_ char *name = json_get_str(v, "name", NULL)
                                                    ? xstrdup(json_get_str(v, "name", NULL))
                                                    : xasprintf("%s_%s", stack, key);
                _cleanup_free_ char *enc = http_escape(name);
                _cleanup_free_ char *path = xasprintf("/v1/volumes/%s", enc);
                _cleanup_err_ struct err *e = NULL;

                if (json_get_bool(v, "external", false))
                        continue;
                r = client_call(ctx, "DELETE", path, NULL, NULL, &e);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "berth: Failed to remove volume '%s': %s\n", name,
                                err_msg(e));
                        failed = r;
                        continue;
                }
                printf("Removing volume %s\n", name);
        }
        if (failed < 0)
                return err_setx(errp, -failed, "stack '%s': some volumes could not be removed",
                                stack);
        return 0;
}
