/* SPDX-License-Identifier: Apache-2.0 */
/* Network commands (docker's names and flags): network create, ls, inspect, rm, prune, connect,
 * disconnect. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "http_request.h"
#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

/* Asks "Are you sure you want to continue? [y/N]" on the terminal. */
static bool confirm(const char *what) {
        char buf[16] = "";

        fprintf(stderr, "WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ",
                what);
        if (!fgets(buf, sizeof(buf), stdin))
                return false;
        return buf[0] == 'y' || buf[0] == 'Y';
}

static int cmd_create(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth network create [OPTIONS] NETWORK\n\n"
                "Create a network.\n\n"
                "Options:\n"
                "  -d, --driver DRIVER   bridge (default) or overlay\n"
                "      --subnet CIDR     subnet (default: picked from the address pools)\n"
                "      --gateway IP      gateway address (default: first address)\n"
                "      --ip-range CIDR   allocate container addresses from this range\n"
                "      --internal        no access to the outside\n"
                "      --attachable      let containers attach (recorded)\n"
                "  -o, --opt K=V         driver option (com.docker.network.driver.mtu, "
                "com.docker.network.bridge.enable_icc)\n"
                "      --label K=V       metadata\n"
                "  -h, --help            this help\n";
        static const struct option opts[] = {{"driver", required_argument, NULL, 'd'},
                                             {"subnet", required_argument, NULL, 'S'},
                                             {"gateway", required_argument, NULL, 'G'},
                                             {"ip-range", required_argument, NULL, 'R'},
                                             {"internal", no_argument, NULL, 'I'},
                                             {"attachable", no_argument, NULL, 'A'},
                                             {"opt", required_argument, NULL, 'o'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *body = json_object(), *o = json_object(), *labels = json_object(),
                              *cfg = json_object(), *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1)
                switch (c) {
                case 'd':
                        json_object_set_new(body, "Driver", json_string(optarg));
                        break;
                case 'S':
                case 'G':
                case 'R':
                        json_object_set_new(cfg,
                                            c == 'S'   ? "Subnet"
                                            : c == 'G' ? "Gateway"
                                                       : "IPRange",
                                            json_string(optarg));
                        break;
                case 'I':
                        json_object_set_new(body, "Internal", json_true());
                        break;
                case 'A':
                        json_object_set_new(body, "Attachable", json_true());
                        break;
                case 'o':
                case 'l':
                        if (cli_kv_add(c == 'o' ? o : labels, c == 'o' ? "--opt" : "--label",
                                       optarg) < 0)
                                return EXIT_USAGE;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 1)
                return USAGE_ERROR(usage, "'network create' requires exactly 1 argument");
        if (json_object_size(cfg) > 0 && !json_object_get(cfg, "Subnet"))
                return USAGE_ERROR(usage, "--gateway and --ip-range need --subnet");
        json_object_set_new(body, "Name", json_string(argv[optind]));
        json_object_set(body, "Options", o);
        json_object_set(body, "Labels", labels);
        if (json_object_size(cfg) > 0)
                json_object_set_new(body, "IPAM",
                                    json_pack("{s:s,s:[O]}", "Driver", "default", "Config", cfg));
        r = client_call(ctx, "POST", "/v1/networks/create", body, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(ans, "Id", ""));
        return 0;
}

/* docker's network ls filters: name=SUBSTR, id=PREFIX, driver=D, label=K[=V],
 * type=custom|builtin, scope=S. 1 match, 0 no, -EINVAL unknown. */
static int net_filter(const json_t *n, const char *f, struct err **errp) {
        const char *eq = strchr(f, '='), *v;
        _cleanup_free_ char *k = NULL;

        if (!eq)
                return err_setx(errp, EINVAL, "invalid filter '%s': expected KEY=VALUE", f);
        k = xstrndup(f, (size_t)(eq - f));
        v = eq + 1;
        if (streq(k, "name"))
                return strstr(json_get_str(n, "Name", ""), v) != NULL;
        if (streq(k, "id"))
                return str_startswith(json_get_str(n, "Id", ""), v);
        if (streq(k, "driver"))
                return streq(json_get_str(n, "Driver", ""), v);
        if (streq(k, "scope"))
                return streq(json_get_str(n, "Scope", ""), v);
        if (streq(k, "type")) {
                bool builtin = streq(json_get_str(n, "Name", ""), "bridge");
                if (!streq(v, "custom") && !streq(v, "builtin"))
                        return err_setx(errp, EINVAL, "invalid filter 'type=%s': custom|builtin",
                                        v);
                return streq(v, "builtin") == builtin;
        }
        if (streq(k, "label")) {
                const char *e2 = strchr(v, '=');
                _cleanup_free_ char *lk = e2 ? xstrndup(v, (size_t)(e2 - v)) : xstrdup(v);
                const json_t *lv = json_object_get(json_object_get(n, "Labels"), lk);

                return lv && (!e2 || streq(json_string_value(lv) ?: "", e2 + 1));
        }
        return err_setx(errp, EINVAL, "invalid filter '%s'", k);
}

static int cmd_ls(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth network ls [OPTIONS]\n\n"
                                    "List networks.\n\n"
                                    "Options:\n"
                                    "  -f, --filter K=V     name=, id=, driver=, label=, type=\n"
                                    "      --format FORMAT  table (default), json, or a template\n"
                                    "  -q, --quiet          only show network ids\n"
                                    "      --no-trunc       do not truncate ids\n"
                                    "  -h, --help           this help\n";
        static const struct option opts[] = {
                {"filter", required_argument, NULL, 'f'}, {"format", required_argument, NULL, 'F'},
                {"quiet", no_argument, NULL, 'q'},        {"no-trunc", no_argument, NULL, 'T'},
                {"help", no_argument, NULL, 'h'},         {}};
        _cleanup_json_ json_t *list = NULL, *rows = json_array();
        _cleanup_strv_ char **filters = xnew0(char *, 1);
        _cleanup_err_ struct err *e = NULL;
        const char *format = ctx->format;
        bool quiet = false, no_trunc = false;
        json_t *n;
        size_t i;
        int c, r;

        while ((c = getopt_long(argc, argv, "f:qh", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        strv_push(&filters, optarg);
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (optind < argc)
                return USAGE_ERROR(usage, "'network ls' accepts no arguments");
        r = client_call(ctx, "GET", "/v1/networks", NULL, &list, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (list, i, n) {
                bool match = true;
                json_t *row;

                STRV_FOREACH (f, filters) {
                        r = net_filter(n, *f, &e);
                        if (r < 0)
                                return cli_report(TAKE_PTR(e), EXIT_USAGE);
                        match = match && r > 0;
                }
                if (!match)
                        continue;
                row = json_deep_copy(n);
                json_object_set_new(row, "ID",
                                    no_trunc ? json_string(json_get_str(n, "Id", ""))
                                             : json_sprintf("%.12s", json_get_str(n, "Id", "")));
                json_array_append_new(rows, row);
        }
        if (quiet) {
                json_array_foreach (rows, i, n)
                        printf("%s\n", json_get_str(n, "ID", ""));
                return 0;
        }
        if (format && streq(format, "json")) {
                _cleanup_free_ char *s = json_dumps(list, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
                printf("%s\n", s ? s : "[]");
                return 0;
        }
        r = fmt_print_list(stdout, format, "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}",
                           rows, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

static int cmd_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth network inspect [OPTIONS] NETWORK [NETWORK...]\n\n"
                "Display detailed information on one or more networks.\n\n"
                "Options:\n"
                "  -f, --format FORMAT  a template, or json (default)\n"
                "  -h, --help           this help\n";

        return client_inspect_each(ctx, argc, argv, usage, "network inspect", "/v1/networks");
}

static int cmd_rm(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth network rm NETWORK [NETWORK...]\n\n"
                                    "Remove one or more networks.\n";
        int rc = 0;

        if (argc >= 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                fputs(usage, stdout);
                return 0;
        }
        if (argc < 2)
                return USAGE_ERROR(usage, "'network rm' requires at least 1 argument");
        for (int k = 1; k < argc; k++) {
                _cleanup_free_ char *id = http_escape(argv[k]),
                                    *path = xasprintf("/v1/networks/%s", id);
                _cleanup_err_ struct err *e = NULL;
                int r = client_call(ctx, "DELETE", path, NULL, NULL, &e);

                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(r));
                        continue;
                }
                printf("%s\n", argv[k]);
        }
        return rc;
}

static int cmd_prune(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth network prune [OPTIONS]\n\n"
                                    "Remove all unused networks.\n\n"
                                    "Options:\n"
                                    "  -f, --force  do not prompt for confirmation\n"
                                    "  -h, --help   this help\n";
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        bool force = false;
        json_t *v;
        size_t i;
        int c, r;

        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (!force && !confirm("all custom networks not used by at least one container"))
                return 0;
        r = client_call(ctx, "POST", "/v1/networks/prune", NULL, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (json_array_size(json_object_get(ans, "NetworksDeleted")) > 0)
                printf("Deleted Networks:\n");
        json_array_foreach (json_object_get(ans, "NetworksDeleted"), i, v)
                printf("%s\n", json_string_value(v));
        return 0;
}

static int connect_common(const struct cli_ctx *ctx, int argc, char **argv, bool connect) {
        static const char cusage[] = "Usage: berth network connect [OPTIONS] NETWORK CONTAINER\n\n"
                                     "Connect a container to a network.\n\n"
                                     "Options:\n"
                                     "      --ip IP        IPv4 address\n"
                                     "      --alias NAME   network-scoped alias (repeatable)\n"
                                     "  -h, --help         this help\n";
        static const char dusage[] =
                "Usage: berth network disconnect [OPTIONS] NETWORK CONTAINER\n\n"
                "Disconnect a container from a network.\n\n"
                "Options:\n"
                "  -f, --force  disconnect even if the endpoint cannot be cleaned up\n"
                "  -h, --help   this help\n";
        static const struct option opts[] = {{"ip", required_argument, NULL, 'i'},
                                             {"alias", required_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        const char *usage = connect ? cusage : dusage;
        _cleanup_json_ json_t *body = json_object(), *aliases = json_array();
        _cleanup_free_ char *id = NULL, *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *ip = NULL;
        bool force = false;
        int c, r;

        while ((c = getopt_long(argc, argv, connect ? "h" : "fh", opts, NULL)) != -1)
                switch (c) {
                case 'i':
                        if (!connect)
                                goto bad;
                        ip = optarg;
                        break;
                case 'a':
                        if (!connect)
                                goto bad;
                        json_array_append_new(aliases, json_string(optarg));
                        break;
                case 'f':
                        force = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                bad:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 2)
                return USAGE_ERROR(usage, "%s",
                                   connect ? "'network connect' requires exactly 2 arguments"
                                           : "'network disconnect' requires exactly 2 "
                                             "arguments");
        json_object_set_new(body, "Container", json_string(argv[optind + 1]));
        if (connect) {
                json_t *epc = json_object();
                json_object_set(epc, "Aliases", aliases);
                if (ip)
                        json_object_set_new(epc, "IPAMConfig",
                                            json_pack("{s:s}", "IPv4Address", ip));
                json_object_set_new(body, "EndpointConfig", epc);
        } else
                json_object_set_new(body, "Force", json_boolean(force));
        id = http_escape(argv[optind]);
        path = xasprintf("/v1/networks/%s/%s", id, connect ? "connect" : "disconnect");
        r = client_call(ctx, "POST", path, body, NULL, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

static int cmd_connect(const struct cli_ctx *ctx, int argc, char **argv) {
        return connect_common(ctx, argc, argv, true);
}

static int cmd_disconnect(const struct cli_ctx *ctx, int argc, char **argv) {
        return connect_common(ctx, argc, argv, false);
}

const struct cli_cmd cli_network_cmds[] = {
        {"network create", "Create a network", cmd_create},
        {"network ls", "List networks", cmd_ls},
        {"network inspect", "Display detailed information on networks", cmd_inspect},
        {"network rm", "Remove networks", cmd_rm},
        {"network prune", "Remove all unused networks", cmd_prune},
        {"network connect", "Connect a container to a network", cmd_connect},
        {"network disconnect", "Disconnect a container from a network", cmd_disconnect},
        {},
};
