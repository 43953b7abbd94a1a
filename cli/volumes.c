/* SPDX-License-Identifier: Apache-2.0 */
/* Volume commands (docker's names and flags): volume create, ls, inspect, rm, prune. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http_request.h"
#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

static int cmd_create(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth volume create [OPTIONS] [VOLUME]\n\n"
                                    "Create a volume.\n\n"
                                    "Options:\n"
                                    "  -d, --driver DRIVER  local (default)\n"
                                    "  -o, --opt K=V        driver option: type, device, o\n"
                                    "      --label K=V      metadata\n"
                                    "  -h, --help           this help\n";
        static const struct option opts[] = {
                {"driver", required_argument, NULL, 'd'}, {"opt", required_argument, NULL, 'o'},
                {"label", required_argument, NULL, 'l'},  {"name", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},         {}};
        _cleanup_json_ json_t *body = json_object(), *o = json_object(), *labels = json_object(),
                              *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *name = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1)
                switch (c) {
                case 'd':
                        json_object_set_new(body, "Driver", json_string(optarg));
                        break;
                case 'o':
                case 'l':
                        if (cli_kv_add(c == 'o' ? o : labels, c == 'o' ? "--opt" : "--label",
                                       optarg) < 0)
                                return EXIT_USAGE;
                        break;
                case 'n':
                        name = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind > 1)
                return USAGE_ERROR(usage, "'volume create' accepts at most 1 argument");
        if (optind < argc) {
                if (name && !streq(name, argv[optind]))
                        return USAGE_ERROR(usage, "conflicting names: --name and the argument");
                name = argv[optind];
        }
        if (name)
                json_object_set_new(body, "Name", json_string(name));
        json_object_set(body, "DriverOpts", o);
        json_object_set(body, "Labels", labels);
        r = client_call(ctx, "POST", "/v1/volumes/create", body, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(ans, "Name", ""));
        return 0;
}

static int cmd_ls(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth volume ls [OPTIONS]\n\n"
                "List volumes.\n\n"
                "Options:\n"
                "  -f, --filter K=V     dangling=true|false, name=, label=K[=V], driver=\n"
                "      --format FORMAT  table (default), json, or a template\n"
                "  -q, --quiet          only show volume names\n"
                "  -h, --help           this help\n";
        static const struct option opts[] = {{"filter", required_argument, NULL, 'f'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *ans = NULL, *filters = json_object();
        _cleanup_free_ char *path = NULL, *fs = NULL, *fenc = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *format = ctx->format;
        bool quiet = false;
        json_t *v, *list;
        size_t i;
        int c, r;

        while ((c = getopt_long(argc, argv, "f:qh", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        if (cli_filter_add(filters, optarg, NULL, NULL) < 0)
                                return EXIT_USAGE;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (optind < argc)
                return USAGE_ERROR(usage, "'volume ls' accepts no arguments");
        fs = json_dumps(filters, JSON_COMPACT);
        fenc = http_escape(fs ? fs : "{}");
        path = xasprintf("/v1/volumes?filters=%s", fenc);
        r = client_call(ctx, "GET", path, NULL, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        list = json_object_get(ans, "Volumes");
        if (quiet) {
                json_array_foreach (list, i, v)
                        printf("%s\n", json_get_str(v, "Name", ""));
                return 0;
        }
        if (format && streq(format, "json")) {
                _cleanup_free_ char *s = json_dumps(list, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
                printf("%s\n", s ? s : "[]");
                return 0;
        }
        r = fmt_print_list(stdout, format, "table {{.Driver}}\\t{{.Name}}", list, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

static int cmd_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth volume inspect [OPTIONS] VOLUME [VOLUME...]\n\n"
                                    "Display detailed information on one or more volumes.\n\n"
                                    "Options:\n"
                                    "  -f, --format FORMAT  a template, or json (default)\n"
                                    "  -h, --help           this help\n";

        return client_inspect_each(ctx, argc, argv, usage, "volume inspect", "/v1/volumes");
}

static int cmd_rm(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth volume rm [OPTIONS] VOLUME [VOLUME...]\n\n"
                                    "Remove one or more volumes.\n\n"
                                    "Options:\n"
                                    "  -f, --force  no error for missing volumes\n"
                                    "  -h, --help   this help\n";
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {}};
        bool force = false;
        int c, rc = 0;

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
        if (argc - optind < 1)
                return USAGE_ERROR(usage, "'volume rm' requires at least 1 argument");
        for (int k = optind; k < argc; k++) {
                _cleanup_free_ char *id = http_escape(argv[k]),
                                    *path = xasprintf("/v1/volumes/%s%s", id,
                                                      force ? "?force=1" : "");
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
        static const char usage[] =
                "Usage: berth volume prune [OPTIONS]\n\n"
                "Remove unused anonymous volumes (with -a, all unused ones).\n\n"
                "Options:\n"
                "  -a, --all    also named volumes\n"
                "  -f, --force  do not prompt for confirmation\n"
                "  -h, --help   this help\n";
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        bool force = false, all = false;
        json_t *v;
        size_t i;
        int c, r;

        while ((c = getopt_long(argc, argv, "afh", opts, NULL)) != -1)
                switch (c) {
                case 'a':
                        all = true;
                        break;
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
        if (!force) {
                char buf[16] = "";

                fprintf(stderr,
                        "WARNING! This will remove %s volumes not used by at least one "
                        "container.\nAre you sure you want to continue? [y/N] ",
                        all ? "all local" : "anonymous local");
                if (!fgets(buf, sizeof(buf), stdin) || (buf[0] != 'y' && buf[0] != 'Y'))
                        return 0;
        }
        r = client_call(ctx, "POST", all ? "/v1/volumes/prune?all=1" : "/v1/volumes/prune", NULL,
                        &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (json_array_size(json_object_get(ans, "VolumesDeleted")) > 0)
                printf("Deleted Volumes:\n");
        json_array_foreach (json_object_get(ans, "VolumesDeleted"), i, v)
                printf("%s\n", json_string_value(v));
        printf("\nTotal reclaimed space: %" PRId64 "B\n",
               (int64_t)json_get_int(ans, "SpaceReclaimed", 0));
        return 0;
}

const struct cli_cmd cli_volume_cmds[] = {
        {"volume create", "Create a volume", cmd_create},
        {"volume ls", "List volumes", cmd_ls},
        {"volume inspect", "Display detailed information on volumes", cmd_inspect},
        {"volume rm", "Remove volumes", cmd_rm},
        {"volume prune", "Remove unused volumes", cmd_prune},
        {},
};
