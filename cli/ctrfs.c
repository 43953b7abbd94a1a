/* SPDX-License-Identifier: Apache-2.0 */
/* Container file-system commands: commit, diff. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define USAGE_ERROR(usage, ...)                                                                    \
        ({                                                                                         \
                fprintf(stderr, "berth: " __VA_ARGS__);                                            \
                fprintf(stderr, "\n%s", usage);                                                    \
                EXIT_USAGE;                                                                        \
        })

static int parse_bool(const char *s, bool *ret) {
        if (streq(s, "true") || streq(s, "1")) {
                *ret = true;
                return 0;
        }
        if (streq(s, "false") || streq(s, "0")) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

static int cmd_commit(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
                "Create a new image from a container's changes.\n\n"
                "Options:\n"
                "  -a, --author TEXT    author (e.g. \"Jane <jane@example.com>\")\n"
                "  -c, --change INSTR   apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV,\n"
                "                       EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)\n"
                "  -m, --message TEXT   commit message\n"
                "  -p, --pause[=BOOL]   pause the container during the commit (default true)\n"
                "  -h, --help           this help\n";
        static const struct option opts[] = {
                {"author", required_argument, NULL, 'a'},  {"change", required_argument, NULL, 'c'},
                {"message", required_argument, NULL, 'm'}, {"pause", optional_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},          {}};
        _cleanup_json_ json_t *body = json_object(), *changes = json_array(), *out = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        bool pause = true;
        int c, r;

        while ((c = getopt_long(argc, argv, "a:c:m:p::h", opts, NULL)) != -1)
                switch (c) {
                case 'a':
                        json_object_set_new(body, "Author", json_string(optarg));
                        break;
                case 'c':
                        json_array_append_new(changes, json_string(optarg));
                        break;
                case 'm':
                        json_object_set_new(body, "Comment", json_string(optarg));
                        break;
                case 'p':
                        if (optarg && parse_bool(optarg, &pause) < 0)
                                return USAGE_ERROR(
                                        usage, "--pause: expected true or false, got '%s'", optarg);
                        if (!optarg)
                                pause = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind < 1 || argc - optind > 2)
                return USAGE_ERROR(usage, "'commit' requires one or two arguments");
        json_object_set_new(body, "Changes", json_incref(changes));
        json_object_set_new(body, "Pause", json_boolean(pause));
        if (optind + 1 < argc)
                json_object_set_new(body, "Repo", json_string(argv[optind + 1]));
        path = xasprintf("/v1/containers/%s/commit", argv[optind]);
        r = client_call(ctx, "POST", path, body, &out, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(out, "Id", ""));
        return 0;
}

static int cmd_diff(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth container diff CONTAINER\n\n"
                                    "Inspect changes to files or directories on a container's "
                                    "filesystem (A added, C changed, D deleted).\n";
        _cleanup_json_ json_t *out = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        json_t *v;
        size_t i;
        int r;

        if (argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                fputs(usage, stdout);
                return 0;
        }
        if (argc != 2)
                return USAGE_ERROR(usage, "'diff' requires exactly one argument");
        path = xasprintf("/v1/containers/%s/changes", argv[1]);
        r = client_call(ctx, "GET", path, NULL, &out, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (ctx->format && streq(ctx->format, "json")) {
                _cleanup_free_ char *s = json_dump_str(out, true);
                fputs(s, stdout);
                return 0;
        }
        json_array_foreach (out, i, v) {
                json_int_t k = json_integer_value(json_object_get(v, "Kind"));
                printf("%c %s\n", k == 0 ? 'C' : k == 1 ? 'A' : 'D', json_get_str(v, "Path", ""));
        }
        return 0;
}

const struct cli_cmd cli_ctrfs_cmds[] = {
        {"commit", "Create a new image from a container's changes", cmd_commit},
        {"container commit", "Create a new image from a container's changes", cmd_commit},
        {"container diff", "Inspect changes to files on a container's filesystem", cmd_diff},
        {},
};
