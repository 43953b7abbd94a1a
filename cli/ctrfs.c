/* SPDX-License-Identifier: Apache-2.0 */
/* Container file-system commands: commit, diff. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "fileio.h"
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

static char *abs_path(const char *p) {
        char buf[PATH_MAX];

        if (p[0] == '/')
                return xstrdup(p);
        if (!getcwd(buf, sizeof(buf)))
                return NULL;
        return xasprintf("%s/%s", buf, p);
}

static int cmd_export(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth export [OPTIONS] CONTAINER\n\n"
                                    "Export a container's filesystem as a tar archive.\n\n"
                                    "Options:\n"
                                    "  -o, --output FILE   write to FILE instead of stdout\n"
                                    "  -h, --help          this help\n";
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_json_ json_t *body = NULL;
        _cleanup_free_ char *path = NULL, *url = NULL, *tmp = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *output = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1)
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 1)
                return USAGE_ERROR(usage, "'export' requires exactly one argument");
        if (!output && isatty(STDOUT_FILENO))
                return USAGE_ERROR(usage, "refusing to write a tar archive to a terminal; use -o "
                                          "or redirect stdout");
        if (output)
                path = abs_path(output);
        else {
                _cleanup_close_ int fd = -EBADF;
                tmp = xstrdup("/tmp/berth-export-XXXXXX");
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0) {
                        (void)err_set(&e, errno, "create a temporary file");
                        return cli_report(TAKE_PTR(e), 1);
                }
                path = xstrdup(tmp);
        }
        if (!path) {
                (void)err_set(&e, errno, "get the current directory");
                return cli_report(TAKE_PTR(e), 1);
        }
        body = json_pack("{s:s}", "Path", path);
        url = xasprintf("/v1/containers/%s/export", argv[optind]);
        r = client_call(ctx, "POST", url, body, NULL, &e);
        if (r >= 0 && tmp) {
                _cleanup_close_ int in = open(tmp, O_RDONLY | O_CLOEXEC);
                char buf[64 * 1024];
                ssize_t n;

                if (in < 0)
                        r = err_set(&e, errno, "open '%s'", tmp);
                while (r >= 0 && (n = read(in, buf, sizeof(buf))) != 0) {
                        if (n < 0)
                                r = err_set(&e, errno, "read '%s'", tmp);
                        else if (fd_write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
                                r = err_set(&e, errno, "write to stdout");
                }
        }
        if (tmp)
                (void)unlink(tmp);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

/* "NAME:PATH" names a container path unless it starts with '/' or '.' (docker's rule: local
 * paths with a colon are written ./a:b). ret_path points into arg. */
static bool split_ctr_arg(const char *arg, char **ret_ctr, const char **ret_path) {
        const char *colon = strchr(arg, ':');

        if (arg[0] == '/' || arg[0] == '.' || !colon || colon == arg)
                return false;
        *ret_ctr = xstrndup(arg, (size_t)(colon - arg));
        *ret_path = colon + 1;
        return true;
}

static int cmd_cp(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH\n"
                "       berth cp [OPTIONS] SRC_PATH CONTAINER:DEST_PATH\n\n"
                "Copy files/folders between a container and the local filesystem (docker's "
                "rules:\nSRC/. copies the contents of a directory; a DEST ending in '/' must "
                "be a directory).\n\n"
                "Options:\n"
                "  -a, --archive       keep uid/gid (otherwise the copies belong to root)\n"
                "  -L, --follow-link   follow a symlink in SRC_PATH\n"
                "  -h, --help          this help\n";
        static const struct option opts[] = {{"archive", no_argument, NULL, 'a'},
                                             {"follow-link", no_argument, NULL, 'L'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *body = NULL;
        _cleanup_free_ char *sctr = NULL, *dctr = NULL, *url = NULL, *host = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *spath = NULL, *dpath = NULL;
        bool archive = false, follow = false, in;
        int c, r;

        while ((c = getopt_long(argc, argv, "aLh", opts, NULL)) != -1)
                switch (c) {
                case 'a':
                        archive = true;
                        break;
                case 'L':
                        follow = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 2)
                return USAGE_ERROR(usage, "'cp' requires exactly two arguments");
        (void)split_ctr_arg(argv[optind], &sctr, &spath);
        (void)split_ctr_arg(argv[optind + 1], &dctr, &dpath);
        if (sctr && dctr)
                return USAGE_ERROR(usage, "copying between containers is not supported");
        if (!sctr && !dctr)
                return USAGE_ERROR(usage, "must specify at least one container source");
        if (streq(argv[optind], "-") || streq(argv[optind + 1], "-"))
                return USAGE_ERROR(usage, "'-' (tar streams on stdin/stdout) is not supported; "
                                          "use a path");
        in = dctr != NULL;
        host = abs_path(in ? argv[optind] : argv[optind + 1]);
        if (!host) {
                (void)err_set(&e, errno, "get the current directory");
                return cli_report(TAKE_PTR(e), 1);
        }
        body = json_pack("{s:s,s:s,s:b,s:b}", "Src", in ? host : spath, "Dest", in ? dpath : host,
                         "FollowLink", follow, "Archive", archive);
        url = xasprintf("/v1/containers/%s/%s", in ? dctr : sctr, in ? "copy-in" : "copy-out");
        r = client_call(ctx, "POST", url, body, NULL, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

const struct cli_cmd cli_ctrfs_cmds[] = {
        {"export", "Export a container's filesystem as a tar archive", cmd_export},
        {"container export", "Export a container's filesystem as a tar archive", cmd_export},
        {"cp", "Copy files/folders between a container and the local filesystem", cmd_cp},
        {"container cp", "Copy files/folders between a container and the local filesystem", cmd_cp},
        {"commit", "Create a new image from a container's changes", cmd_commit},
        {"container commit", "Create a new image from a container's changes", cmd_commit},
        {"container diff", "Inspect changes to files on a container's filesystem", cmd_diff},
        {},
};
