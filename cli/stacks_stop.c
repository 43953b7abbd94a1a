/* SPDX-License-Identifier: Apache-2.0 */
/* Ctrl-C on a foreground `berth up` (stacks_stop.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "client.h"
#include "http_request.h"
#include "json.h"
#include "stacks_stop.h"
#include "strv.h"
#include "xalloc.h"

#define POLL_MS 100
#define STOP_WAIT_MAX_S 3700 /* the longest stop grace (an hour) and a margin */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
        (void)sig;
        interrupted = 1;
}

int stack_containers(const struct cli_ctx *ctx, const char *stack, json_t **ret,
                     struct err **errp) {
        _cleanup_free_ char *filters = xasprintf("{\"label\":[\"berth.stack=%s\"]}", stack);
        _cleanup_free_ char *q = http_escape(filters);
        _cleanup_free_ char *path = xasprintf("/v1/containers?all=1&filters=%s", q);
        _cleanup_json_ json_t *res = NULL;
        json_t *out, *c;
        size_t i;
        int r;

        r = client_call(ctx, "GET", path, NULL, &res, errp);
        if (r < 0)
                return r;
        out = json_object();
        json_array_foreach (res, i, c) {
                const char *name =
                        json_string_value(json_array_get(json_object_get(c, "Names"), 0));
                json_object_set_new(out, json_get_str(c, "Id", ""),
                                    json_string(name ? (name[0] == '/' ? name + 1 : name) : ""));
        }
        *ret = out;
        return 0;
}

static void kill_all(const struct cli_ctx *ctx, const json_t *ctrs) {
        const char *id;
        json_t *v;

        json_object_foreach ((json_t *)ctrs, id, v) {
                _cleanup_free_ char *path = xasprintf("/v1/containers/%s/kill", id);
                _cleanup_err_ struct err *e = NULL;

                if (client_call(ctx, "POST", path, NULL, NULL, &e) >= 0)
                        printf("Killed %s\n", json_string_value(v));
        }
        fflush(stdout);
}

int stack_stop_foreground(const struct cli_ctx *ctx, const char *stack, struct err **errp) {
        const struct timespec pause = {0, POLL_MS * 1000000L};
        struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
        _cleanup_free_ char *enc = http_escape(stack);
        _cleanup_free_ char *path = xasprintf("/v1/stacks/%s", enc);
        _cleanup_json_ json_t *left = NULL;
        bool killed = false;
        int r;

        interrupted = 0;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        printf("Gracefully stopping stack '%s'... (press Ctrl-C again to force)\n", stack);
        fflush(stdout);
        r = stack_containers(ctx, stack, &left, errp);
        if (r >= 0)
                r = client_call(ctx, "DELETE", path, NULL, NULL, errp);
        for (unsigned i = 0; r >= 0 && i < STOP_WAIT_MAX_S * (1000 / POLL_MS); i++) {
                _cleanup_json_ json_t *now = NULL;
                const char *id;
                json_t *v;
                void *tmp;

                r = stack_containers(ctx, stack, &now, errp);
                if (r < 0)
                        break;
                json_object_foreach_safe(left, tmp, id, v) {
                        if (json_object_get(now, id))
                                continue;
                        printf("Stopped %s\n", json_string_value(v));
                        json_object_del(left, id);
                }
                fflush(stdout);
                if (json_object_size(now) == 0)
                        break;
                if (interrupted && !killed) {
                        killed = true;
                        kill_all(ctx, now);
                }
                nanosleep(&pause, NULL);
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (r < 0)
                return err_wrap(errp, "stop stack '%s'", stack);
        printf("Stack '%s' stopped.\n", stack);
        return 0;
}
