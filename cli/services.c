/* SPDX-License-Identifier: Apache-2.0 */
/* `berth service ps`: where each replica of a stack's service runs, and why a pending one is not
 * placed (the controller's last plan, docs/cluster.md); `berth service logs`: the output of
 * every replica, wherever it runs. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "cluster_proxy.h"
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
        "  -f, --follow               keep streaming every replica's output until interrupted\n"
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

/* ---- service logs ---- */

static const char logs_usage[] =
        "Usage: berth service logs [-p STACK] [-f] [-n N] [-t] SERVICE\n\n"
        "Print the output of every replica of a service, wherever it runs: containers on other\n"
        "nodes are read through the controller. Each line is prefixed with SERVICE.SLOT (and the\n"
        "container's name in pods of several containers). SERVICE may be written STACK/SERVICE.\n\n"
        "Options:\n"
        "  -p, --project-name STACK   the stack (default: the only stack with that service)\n"
        "  -n, --tail N               the last N lines of each container\n"
        "  -t, --timestamps           show each line's time\n";

struct svc_log_sink {
        const char *prefix;
        bool timestamps;
};

static int svc_log_line(const char *line, size_t len, void *ud) {
        struct svc_log_sink *s = ud;
        _cleanup_json_ json_t *j = NULL;
        const char *log;
        size_t n;
        FILE *f;

        if (json_parse(line, len, "log line", &j, NULL) < 0 || !json_object_get(j, "log"))
                return 0;
        log = json_get_str(j, "log", "");
        n = json_string_length(json_object_get(j, "log"));
        f = streq(json_get_str(j, "stream", ""), "stderr") ? stderr : stdout;
        fprintf(f, "%s | ", s->prefix);
        if (s->timestamps)
                fprintf(f, "%s ", json_get_str(j, "time", ""));
        fwrite(log, 1, n, f);
        if (n == 0 || log[n - 1] != '\n')
                fputc('\n', f);
        fflush(f);
        return 0;
}

/* The container names of a service's pod template, from the stored stack. */
static char **service_containers(const struct cli_ctx *ctx, const char *stack, const char *svc,
                                 struct err **errp) {
        _cleanup_free_ char *esc = http_escape(stack), *path = xasprintf("/v1/stacks/%s", esc);
        _cleanup_json_ json_t *st = NULL;
        char **names = NULL;
        size_t i;
        json_t *c;

        if (client_call(ctx, "GET", path, NULL, &st, errp) < 0)
                return NULL;
        json_array_foreach (
                json_object_get(
                        json_object_get(
                                json_object_get(
                                        json_object_get(json_object_get(st, "model"), "services"),
                                        svc),
                                "pod"),
                        "containers"),
                i, c)
                if (json_get_str(c, "name", NULL))
                        strv_push(&names, json_get_str(c, "name", NULL));
        if (!names)
                (void)err_setx(errp, ENOENT, "service '%s' of stack '%s' has no containers", svc,
                               stack);
        return names;
}

static int cmd_service_logs(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"project-name", required_argument, NULL, 'p'},
                {"tail", required_argument, NULL, 'n'},
                {"timestamps", no_argument, NULL, 't'},
                {"follow", no_argument, NULL, 'f'},
                {},
        };
        _cleanup_json_ json_t *pods = NULL;
        _cleanup_free_ char *stack = NULL, *tail = NULL;
        _cleanup_strv_ char **ctrs = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *service, *slash;
        bool timestamps = false, follow = false;
        pid_t *kids = NULL;
        size_t n_kids = 0;
        int c, r, rc = 0;
        size_t i;
        json_t *p;

        optind = 1;
        while ((c = getopt_long(argc, argv, "hp:n:tf", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        fputs(logs_usage, stdout);
                        return 0;
                case 'p':
                        free(stack);
                        stack = xstrdup(optarg);
                        break;
                case 'n':
                        if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg)) {
                                log_error(NULL, "service logs: --tail: expected a number, got '%s'",
                                          optarg);
                                return EXIT_USAGE;
                        }
                        free(tail);
                        tail = xstrdup(optarg);
                        break;
                case 't':
                        timestamps = true;
                        break;
                case 'f':
                        follow = true;
                        break;
                default:
                        fputs(logs_usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind != argc - 1) {
                log_error(NULL, "service logs: expected one SERVICE");
                fputs(logs_usage, stderr);
                return EXIT_USAGE;
        }
        service = argv[optind];
        slash = strchr(service, '/');
        if (slash) {
                if (stack || slash == service || !slash[1]) {
                        log_error(NULL,
                                  "service logs: bad SERVICE '%s' (STACK/SERVICE, or -p STACK)",
                                  service);
                        return EXIT_USAGE;
                }
                stack = xstrndup(service, (size_t)(slash - service));
                service = slash + 1;
        }
        r = client_call(ctx, "GET", "/v1/pods", NULL, &pods, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (pods, i, p) {
                if (!streq_ptr(json_get_str(p, "service", NULL), service) ||
                    (stack && !streq_ptr(json_get_str(p, "stack", NULL), stack)))
                        continue;
                if (!stack)
                        stack = xstrdup(json_get_str(p, "stack", ""));
        }
        if (!stack) {
                (void)err_setx(&e, ENOENT, "no replicas of service '%s'", service);
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        }
        ctrs = service_containers(ctx, stack, service, &e);
        if (!ctrs)
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        json_array_foreach (pods, i, p) {
                const char *pod = json_get_str(p, "id", NULL);

                if (!pod || !streq_ptr(json_get_str(p, "service", NULL), service) ||
                    !streq_ptr(json_get_str(p, "stack", NULL), stack))
                        continue;
                STRV_FOREACH (cn, ctrs) {
                        _cleanup_free_ char *name = xasprintf("%s.%s", pod, *cn);
                        _cleanup_free_ char *esc = http_escape(name);
                        _cleanup_free_ char *path = xasprintf(
                                "/v1/containers/%s/"
                                "logs?stdout=1&stderr=1&timestamps=%d&follow=%d%s%s",
                                esc, timestamps, follow, tail ? "&tail=" : "", tail ? tail : "");
                        _cleanup_free_ char *prefix =
                                strv_length(ctrs) > 1 ? xasprintf("%s.%" PRId64 ".%s", service,
                                                                  json_get_int(p, "slot", 0), *cn)
                                                      : xasprintf("%s.%" PRId64, service,
                                                                  json_get_int(p, "slot", 0));
                        struct svc_log_sink sink = {prefix, timestamps};
                        _cleanup_err_ struct err *le = NULL;
                        pid_t pid = 0;

                        if (follow) {
                                /* One follower process per container: the streams run side
                                 * by side, each line written whole (svc_log_line flushes). */
                                fflush(NULL);
                                pid = fork();
                                if (pid < 0) {
                                        (void)err_set(&le, errno, "fork a follower");
                                        rc = cli_report(TAKE_PTR(le), EXIT_BERTH_FAILED);
                                        break;
                                }
                                if (pid > 0) {
                                        kids = xrealloc(kids, (n_kids + 1) * sizeof(*kids));
                                        kids[n_kids++] = pid;
                                        continue;
                                }
                                /* The followers end with the command (killed, not only
                                 * interrupted from the terminal). */
                                (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
                                if (getppid() == 1)
                                        _exit(EXIT_BERTH_FAILED);
                        }
                        r = client_stream(ctx, "GET", path, NULL, svc_log_line, &sink, &le);
                        if (r == -ENOENT && cluster_may_have(le)) {
                                err_freep(&le);
                                if (follow) {
                                        struct cli_ctx cctx;

                                        cluster_ctx(ctx, name, &cctx);
                                        r = client_stream(&cctx, "GET", path, NULL, svc_log_line,
                                                          &sink, &le);
                                        r = cluster_fix_err(r, name, &le);
                                } else
                                        r = cluster_stream(ctx, name, "GET", path, NULL,
                                                           svc_log_line, &sink, &le);
                        }
                        if (r < 0)
                                rc = cli_report(TAKE_PTR(le), client_exit_code(r));
                        if (follow) {
                                fflush(NULL);
                                _exit(rc);
                        }
                }
        }
        for (size_t k = 0; k < n_kids; k++) {
                int st = 0;

                while (waitpid(kids[k], &st, 0) < 0 && errno == EINTR)
                        ;
                if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
                        rc = WEXITSTATUS(st);
        }
        free(kids);
        return rc;
}

const struct cli_cmd cli_service_cmds[] = {
        {"service ps", "list a service's replicas: node, state, and why one is pending",
         cmd_service_ps},
        {"service logs", "print the output of a service's replicas, on every node",
         cmd_service_logs},
        {},
};
