/* SPDX-License-Identifier: Apache-2.0 */
/* Container file-system commands: commit, diff. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "fileio.h"
#include "http_client.h"
#include "http_request.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

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
                path = path_absolute(output);
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

static char *human_size(int64_t n) {
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double)n;
        size_t u = 0;

        while (v >= 1000 && u + 1 < ELEMENTSOF(units)) {
                v /= 1000;
                u++;
        }
        return u == 0 ? xasprintf("%" PRIi64 "B", n) : xasprintf("%.3g%s", v, units[u]);
}

static int get_df(const struct cli_ctx *ctx, json_t **ret, struct err **errp) {
        return client_call(ctx, "GET", "/v1/system/df", NULL, ret, errp);
}

static void df_row(const char *type, size_t total, size_t active, int64_t size, int64_t reclaim) {
        _cleanup_free_ char *s = human_size(size), *r = human_size(reclaim);
        _cleanup_free_ char *rc =
                size > 0 ? xasprintf("%s (%d%%)", r, (int)(reclaim * 100 / size)) : xstrdup(r);

        printf("%-16s%-10zu%-10zu%-12s%s\n", type, total, active, s, rc);
}

static int cmd_df(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth system df [OPTIONS]\n\n"
                                    "Show disk usage: images, containers, local volumes, build "
                                    "cache.\n\n"
                                    "Options:\n"
                                    "  -v, --verbose   per-object details\n"
                                    "  -h, --help      this help\n";
        static const struct option opts[] = {
                {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_json_ json_t *df = NULL;
        _cleanup_err_ struct err *e = NULL;
        bool verbose = false;
        size_t i, active;
        json_t *v;
        int c;

        while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1)
                switch (c) {
                case 'v':
                        verbose = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (optind != argc)
                return USAGE_ERROR(usage, "'system df' accepts no arguments");
        if (get_df(ctx, &df, &e) < 0)
                return cli_report(TAKE_PTR(e), 1);
        if (ctx->format && streq(ctx->format, "json")) {
                _cleanup_free_ char *s = json_dump_str(df, true);
                fputs(s, stdout);
                return 0;
        }
        printf("%-16s%-10s%-10s%-12s%s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
        active = 0;
        json_array_foreach (json_object_get(df, "Images"), i, v)
                active += json_integer_value(json_object_get(v, "Containers")) > 0;
        df_row("Images", json_array_size(json_object_get(df, "Images")), active,
               json_integer_value(json_object_get(df, "LayersSize")),
               json_integer_value(json_object_get(df, "ImagesReclaimable")));
        active = 0;
        json_array_foreach (json_object_get(df, "Containers"), i, v)
                active += streq(json_get_str(v, "State", ""), "running") ||
                          streq(json_get_str(v, "State", ""), "paused");
        df_row("Containers", json_array_size(json_object_get(df, "Containers")), active,
               json_integer_value(json_object_get(df, "ContainersSize")),
               json_integer_value(json_object_get(df, "ContainersReclaimable")));
        active = 0;
        json_array_foreach (json_object_get(df, "Volumes"), i, v)
                active += json_integer_value(json_object_get(v, "RefCount")) > 0;
        df_row("Local Volumes", json_array_size(json_object_get(df, "Volumes")), active,
               json_integer_value(json_object_get(df, "VolumesSize")),
               json_integer_value(json_object_get(df, "VolumesReclaimable")));
        df_row("Build Cache", json_array_size(json_object_get(df, "BuildCache")), 0, 0, 0);
        if (!verbose)
                return 0;
        printf("\nImages space usage:\n\n%-40s%-20s%-12s%s\n", "REPOSITORY:TAG", "IMAGE ID", "SIZE",
               "CONTAINERS");
        json_array_foreach (json_object_get(df, "Images"), i, v) {
                json_t *tags = json_object_get(v, "RepoTags");
                const char *id = json_get_str(v, "Id", "");
                _cleanup_free_ char *s = human_size(json_integer_value(json_object_get(v, "Size")));
                printf("%-40s%-20.12s%-12s%d\n",
                       json_array_size(tags) ? json_string_value(json_array_get(tags, 0))
                                             : "<none>",
                       strncmp(id, "sha256:", 7) == 0 ? id + 7 : id, s,
                       (int)json_integer_value(json_object_get(v, "Containers")));
        }
        printf("\nContainers space usage:\n\n%-16s%-24s%-12s%s\n", "CONTAINER ID", "NAMES", "SIZE",
               "STATUS");
        json_array_foreach (json_object_get(df, "Containers"), i, v) {
                _cleanup_free_ char *s =
                        human_size(json_integer_value(json_object_get(v, "SizeRw")));
                const char *name =
                        json_string_value(json_array_get(json_object_get(v, "Names"), 0));
                printf("%-16.12s%-24s%-12s%s\n", json_get_str(v, "Id", ""),
                       name && name[0] == '/' ? name + 1 : name ?: "", s,
                       json_get_str(v, "State", ""));
        }
        printf("\nLocal Volumes space usage:\n\n%-40s%-10s%s\n", "VOLUME NAME", "LINKS", "SIZE");
        json_array_foreach (json_object_get(df, "Volumes"), i, v) {
                _cleanup_free_ char *s = human_size(json_integer_value(json_object_get(v, "Size")));
                printf("%-40s%-10d%s\n", json_get_str(v, "Name", ""),
                       (int)json_integer_value(json_object_get(v, "RefCount")), s);
        }
        return 0;
}

/* Asks "[y/N]" on stdin; true only for y/yes. */
static bool confirm(const char *warning) {
        char line[64];

        fprintf(stderr, "WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stderr);
        if (!fgets(line, sizeof(line), stdin))
                return false;
        line[strcspn(line, "\r\n")] = 0;
        return streq(line, "y") || streq(line, "Y") || streq(line, "yes");
}

/* Removes every container that is not running; prints the removed ids. ret_freed gets the sum
 * of their writable layers. */
static int prune_containers(const struct cli_ctx *ctx, int64_t *ret_freed, struct err **errp) {
        _cleanup_json_ json_t *list = NULL, *df = NULL;
        json_t *v;
        size_t i;
        int r;

        *ret_freed = 0;
        r = get_df(ctx, &df, errp);
        if (r < 0)
                return r;
        r = client_call(ctx, "GET", "/v1/containers?all=true", NULL, &list, errp);
        if (r < 0)
                return r;
        json_array_foreach (list, i, v) {
                const char *state = json_get_str(v, "State", ""), *id = json_get_str(v, "Id", "");
                _cleanup_free_ char *url = NULL;
                _cleanup_err_ struct err *e = NULL;
                json_t *x;
                size_t j;

                if (streq(state, "running") || streq(state, "paused") ||
                    streq(state, "restarting") || streq(state, "removing"))
                        continue;
                url = xasprintf("/v1/containers/%s", id);
                if (client_call(ctx, "DELETE", url, NULL, NULL, &e) < 0) {
                        fprintf(stderr, "berth: Failed to remove container %.12s: %s, ignoring\n",
                                id, err_msg(e));
                        continue;
                }
                json_array_foreach (json_object_get(df, "Containers"), j, x)
                        if (streq(json_get_str(x, "Id", ""), id))
                                *ret_freed += json_integer_value(json_object_get(x, "SizeRw"));
                printf("%s\n", id);
        }
        return 0;
}

/* Removes dangling images (all: every image no container uses); prints what went. */
static int prune_images(const struct cli_ctx *ctx, bool all, int64_t *ret_freed,
                        struct err **errp) {
        _cleanup_json_ json_t *df = NULL, *after = NULL;
        json_t *v;
        size_t i;
        int r;

        *ret_freed = 0;
        r = get_df(ctx, &df, errp);
        if (r < 0)
                return r;
        json_array_foreach (json_object_get(df, "Images"), i, v) {
                const char *id = json_get_str(v, "Id", "");
                _cleanup_free_ char *url = NULL;
                _cleanup_err_ struct err *e = NULL;

                if (json_integer_value(json_object_get(v, "Containers")) > 0)
                        continue;
                if (!all && json_array_size(json_object_get(v, "RepoTags")) > 0)
                        continue;
                url = xasprintf("/v1/images/%s?force=true", id);
                if (client_call(ctx, "DELETE", url, NULL, NULL, &e) < 0) {
                        fprintf(stderr, "berth: Failed to remove image %s: %s, ignoring\n", id,
                                err_msg(e));
                        continue;
                }
                printf("deleted: %s\n", id);
        }
        r = get_df(ctx, &after, errp);
        if (r < 0)
                return r;
        *ret_freed = json_integer_value(json_object_get(df, "LayersSize")) -
                     json_integer_value(json_object_get(after, "LayersSize"));
        if (*ret_freed < 0)
                *ret_freed = 0;
        return 0;
}

static int prune_volumes(const struct cli_ctx *ctx, int64_t *ret_freed, struct err **errp) {
        _cleanup_json_ json_t *out = NULL;
        json_t *v;
        size_t i;
        int r;

        r = client_call(ctx, "POST", "/v1/volumes/prune", NULL, &out, errp);
        if (r < 0)
                return r;
        json_array_foreach (json_object_get(out, "VolumesDeleted"), i, v)
                printf("%s\n", json_string_value(v));
        *ret_freed = json_integer_value(json_object_get(out, "SpaceReclaimed"));
        return 0;
}

static void print_reclaimed(int64_t n) {
        _cleanup_free_ char *s = human_size(n);
        printf("Total reclaimed space: %s\n", s);
}

static int prune_flags(int argc, char **argv, const char *usage, const char *optstring, bool *all,
                       bool *force, bool *volumes) {
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"volumes", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        int c;

        while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1)
                switch (c) {
                case 'a':
                        *all = true;
                        break;
                case 'f':
                        *force = true;
                        break;
                case 'V':
                        if (!volumes)
                                goto bad;
                        *volumes = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                default:
                bad:
                        fputs(usage, stderr);
                        return -EXIT_USAGE;
                }
        if (optind != argc) {
                fprintf(stderr, "berth: unexpected argument '%s'\n%s", argv[optind], usage);
                return -EXIT_USAGE;
        }
        return 0;
}

static int cmd_container_prune(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth container prune [OPTIONS]\n\n"
                                    "Remove all stopped containers.\n\n"
                                    "Options:\n"
                                    "  -f, --force   do not prompt for confirmation\n"
                                    "  -h, --help    this help\n";
        _cleanup_err_ struct err *e = NULL;
        bool all = false, force = false;
        int64_t freed;
        int r = prune_flags(argc, argv, usage, "fh", &all, &force, NULL);

        if (r != 0)
                return r > 0 ? 0 : -r;
        if (!force && !confirm("This will remove all stopped containers."))
                return 0;
        printf("Deleted Containers:\n");
        if (prune_containers(ctx, &freed, &e) < 0)
                return cli_report(TAKE_PTR(e), 1);
        print_reclaimed(freed);
        return 0;
}

static int cmd_image_prune(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth image prune [OPTIONS]\n\n"
                                    "Remove unused images.\n\n"
                                    "Options:\n"
                                    "  -a, --all     remove all images no container uses, not "
                                    "just dangling ones\n"
                                    "  -f, --force   do not prompt for confirmation\n"
                                    "  -h, --help    this help\n";
        _cleanup_err_ struct err *e = NULL;
        bool all = false, force = false;
        int64_t freed;
        int r = prune_flags(argc, argv, usage, "afh", &all, &force, NULL);

        if (r != 0)
                return r > 0 ? 0 : -r;
        if (!force && !confirm(all ? "This will remove all images without at least one "
                                     "container associated to them."
                                   : "This will remove all dangling images."))
                return 0;
        printf("Deleted Images:\n");
        if (prune_images(ctx, all, &freed, &e) < 0)
                return cli_report(TAKE_PTR(e), 1);
        print_reclaimed(freed);
        return 0;
}

static int cmd_system_prune(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth system prune [OPTIONS]\n\n"
                                    "Remove stopped containers, dangling images (all unused "
                                    "ones with -a) and, with --volumes, unused anonymous "
                                    "volumes.\n\n"
                                    "Options:\n"
                                    "  -a, --all       remove all unused images\n"
                                    "  -f, --force     do not prompt for confirmation\n"
                                    "      --volumes   prune anonymous volumes no container "
                                    "uses\n"
                                    "  -h, --help      this help\n";
        _cleanup_err_ struct err *e = NULL;
        bool all = false, force = false, volumes = false;
        int64_t f1 = 0, f2 = 0, f3 = 0;
        int r = prune_flags(argc, argv, usage, "afh", &all, &force, &volumes);

        if (r != 0)
                return r > 0 ? 0 : -r;
        if (!force) {
                _cleanup_free_ char *w = xasprintf(
                        "This will remove:\n  - all stopped containers\n%s  - %s",
                        volumes ? "  - all anonymous volumes not used by at least one "
                                  "container\n"
                                : "",
                        all ? "all images without at least one container associated to them"
                            : "all dangling images");
                if (!confirm(w))
                        return 0;
        }
        printf("Deleted Containers:\n");
        if (prune_containers(ctx, &f1, &e) < 0)
                return cli_report(TAKE_PTR(e), 1);
        if (volumes) {
                printf("\nDeleted Volumes:\n");
                if (prune_volumes(ctx, &f2, &e) < 0)
                        return cli_report(TAKE_PTR(e), 1);
        }
        printf("\nDeleted Images:\n");
        if (prune_images(ctx, all, &f3, &e) < 0)
                return cli_report(TAKE_PTR(e), 1);
        print_reclaimed(f1 + f2 + f3);
        return 0;
}

const struct cli_cmd cli_ctrfs_cmds[] = {
        {"system df", "Show docker-style disk usage", cmd_df},
        {"system prune", "Remove unused data", cmd_system_prune},
        {"container prune", "Remove all stopped containers", cmd_container_prune},
        {"image prune", "Remove unused images", cmd_image_prune},
        {"export", "Export a container's filesystem as a tar archive", cmd_export},
        {"container export", "Export a container's filesystem as a tar archive", cmd_export},
        {"commit", "Create a new image from a container's changes", cmd_commit},
        {"container commit", "Create a new image from a container's changes", cmd_commit},
        {"container diff", "Inspect changes to files on a container's filesystem", cmd_diff},
        {},
};
