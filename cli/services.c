/* SPDX-License-Identifier: Apache-2.0 */
/* `berth service ps`: where each replica of a stack's service runs, and why a pending one is not
 * placed (the controller's last plan, docs/cluster.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "http_request.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

#define SERVICE_PS_TABLE                                                                           \
        "table {{.Slot}}\t{{.Node}}\t{{.State}}\t{{.Health}}\t{{.Restarts}}\t{{.Reason}}"

static const char ps_usage[] =
        "Usage: berth service ps [-p STACK] [--format FORMAT] SERVICE\n\n"
        "List the replicas of a service: the node each runs on, its state and health, and why a\n"
        "pending or waiting one is not placed. SERVICE may be written STACK/SERVICE.\n\n"
        "Options:\n"
        "  -p, --project-name STACK   the stack (default: the only stack with that service)\n"
        "      --format FORMAT        table (default), json or a Go-style template\n";

static int cmd_service_ps(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"format", required_argument, NULL, 'F'},
                {"project-name", required_argument, NULL, 'p'},
                {},
        };
        _cleanup_json_ json_t *pods = NULL, *rows = json_array(), *mine = json_array();
        _cleanup_free_ char *stack = NULL, *path = NULL, *esc = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *format = ctx->format, *service, *slash;
        size_t i;
        json_t *p;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "hp:", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        fputs(ps_usage, stdout);
                        return 0;
                case 'F':
                        format = optarg;
                        break;
                case 'p':
                        free(stack);
                        stack = xstrdup(optarg);
                        break;
                default:
                        fputs(ps_usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind != argc - 1) {
                log_error(NULL, "service ps: expected one SERVICE");
                fputs(ps_usage, stderr);
                return EXIT_USAGE;
        }
        service = argv[optind];
        slash = strchr(service, '/');
        if (slash) {
                if (stack || slash == service || !slash[1]) {
                        log_error(NULL, "service ps: bad SERVICE '%s' (STACK/SERVICE, or -p STACK)",
                                  service);
                        return EXIT_USAGE;
                }
                stack = xstrndup(service, (size_t)(slash - service));
                service = slash + 1;
        }
        if (stack) {
                esc = http_escape(stack);
                path = xasprintf("/v1/pods?stack=%s", esc);
        } else
                path = xstrdup("/v1/pods");
        r = client_call(ctx, "GET", path, NULL, &pods, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (pods, i, p) {
                if (!streq_ptr(json_get_str(p, "service", NULL), service))
                        continue;
                if (!stack)
                        stack = xstrdup(json_get_str(p, "stack", ""));
                else if (!streq_ptr(json_get_str(p, "stack", NULL), stack)) {
                        (void)err_setx(&e, EINVAL,
                                       "service '%s' is in several stacks ('%s', '%s'): use -p",
                                       service, stack, json_get_str(p, "stack", ""));
                        return cli_report(TAKE_PTR(e), EXIT_USAGE);
                }
                json_array_append(mine, p);
        }
        if (json_array_size(mine) == 0) {
                (void)err_setx(&e, ENOENT, "no replicas of service '%s'%s%s%s", service,
                               stack ? " in stack '" : "", stack ? stack : "", stack ? "'" : "");
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        }
        if (format && streq(format, "json")) {
                _cleanup_free_ char *s = json_dump_str(mine, true);
                fputs(s, stdout);
                return 0;
        }
        json_array_foreach (mine, i, p)
                json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "Slot",
                                                      json_get_int(p, "slot", 0), "Node",
                                                      json_get_str(p, "node", "-"), "State",
                                                      json_get_str(p, "state", ""), "Health",
                                                      json_get_str(p, "health", "none"), "Restarts",
                                                      json_get_int(p, "restarts", 0), "Reason",
                                                      json_get_str(p, "reason", "")));
        r = fmt_print_list(stdout, format, SERVICE_PS_TABLE, rows, &e);
        return r < 0 ? cli_report(TAKE_PTR(e), EXIT_USAGE) : 0;
}

const struct cli_cmd cli_service_cmds[] = {
        {"service ps", "list a service's replicas: node, state, and why one is pending",
         cmd_service_ps},
        {},
};
