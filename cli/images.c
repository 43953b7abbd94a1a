/* SPDX-License-Identifier: Apache-2.0 */
/* Image commands: pull, push, images / image ls, image inspect, history, tag, rmi, load, save,
 * import, login, logout. Flags follow docker's. Files are handed to the daemon by absolute path
 * (the API is local or mutual-TLS; bodies are capped), stdin/stdout go through a temp file. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "fileio.h"
#include "http_request.h"
#include "format.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

/* Image names go into the path unescaped except for characters the router would split on. */
static char *name_path(const char *name, const char *suffix) {
        return xasprintf("/v1/images/%s%s", name, suffix ? suffix : "");
}

static char *human_size(int64_t n) {
        const char *units[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double)n;
        size_t u = 0;

        while (v >= 1000 && u + 1 < ELEMENTSOF(units)) {
                v /= 1000;
                u++;
        }
        return u == 0 ? xasprintf("%lldB", (long long)n) : xasprintf("%.3g%s", v, units[u]);
}

static char *short_id(const char *id) {
        const char *h = str_startswith(id, "sha256:") ? id + 7 : id;
        return xstrndup(h, 12);
}

static int need_args(int argc, int min, const char *usage) {
        if (argc - optind < min) {
                fprintf(stderr, "berth: missing argument\n%s", usage);
                return -EXIT_USAGE;
        }
        return 0;
}

/* ---- pull / push ---- */

struct stream_state {
        bool quiet;
        char *last_error;
        char *result;
};

static int on_progress_line(const char *line, size_t len, void *ud) {
        struct stream_state *st = ud;
        _cleanup_json_ json_t *j = json_loadb(line, len, 0, NULL);
        json_t *err, *res;

        if (!j)
                return 0;
        err = json_object_get(j, "error");
        if (err) {
                free(st->last_error);
                st->last_error = xstrdup(json_get_str(err, "message", "failed"));
                return 0;
        }
        res = json_object_get(j, "result");
        if (res) {
                free(st->result);
                st->result = json_dump_str(res, false);
                if (!st->quiet)
                        printf("%s: %s\n", json_get_str(res, "status", "Done"),
                               json_get_str(res, "ref", json_get_str(res, "id", "")));
                else
                        printf("%s\n", json_get_str(res, "ref", ""));
                return 0;
        }
        if (!st->quiet && streq(json_get_str(j, "status", ""), "Complete")) {
                const char *id = json_get_str(j, "id", "");
                _cleanup_free_ char *sid = short_id(id);
                _cleanup_free_ char *sz =
                        human_size(json_get_int(json_object_get(j, "progressDetail"), "total", 0));
                printf("%s: Complete (%s)\n", sid, sz);
        }
        fflush(stdout);
        return 0;
}

static int run_stream(const struct cli_ctx *ctx, const char *path, bool quiet, const char *what) {
        struct stream_state st = {.quiet = quiet};
        _cleanup_err_ struct err *e = NULL;
        int r;

        r = client_stream(ctx, "POST", path, NULL, on_progress_line, &st, &e);
        if (r < 0) {
                free(st.last_error);
                free(st.result);
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        }
        if (st.last_error || !st.result) {
                struct err *fe = NULL;
                err_setx(&fe, EIO, "Failed to %s: %s", what,
                         st.last_error ? st.last_error : "no result from the daemon");
                free(st.last_error);
                free(st.result);
                return cli_report(fe, 1);
        }
        free(st.result);
        return 0;
}

static int cmd_pull(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
                "Download an image from a registry.\n\n"
                "Options:\n"
                "      --platform OS/ARCH[/VARIANT]  pull this platform instead of the host's\n"
                "  -q, --quiet                       only print the image reference\n"
                "  -h, --help                        this help\n";
        static const struct option opts[] = {{"platform", required_argument, NULL, 'p'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_free_ char *path = NULL, *img = NULL, *what = NULL, *plat = NULL;
        const char *platform = NULL;
        bool quiet = false;
        int c;

        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1)
                switch (c) {
                case 'p':
                        platform = optarg;
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
        if (argc - optind != 1)
                return USAGE_ERROR(usage, "'pull' requires exactly one argument");
        img = http_escape(argv[optind]);
        plat = platform ? http_escape(platform) : NULL;
        path = xasprintf("/v1/images/pull?image=%s%s%s", img, plat ? "&platform=" : "",
                         plat ? plat : "");
        what = xasprintf("pull '%s'", argv[optind]);
        return run_stream(ctx, path, quiet, what);
}

static int cmd_push(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth push [OPTIONS] NAME[:TAG]\n\n"
                                    "Upload an image to a registry.\n\n"
                                    "Options:\n"
                                    "  -q, --quiet  only print the image reference\n"
                                    "  -h, --help   this help\n";
        static const struct option opts[] = {
                {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_free_ char *path = NULL, *what = NULL;
        bool quiet = false;
        int c;

        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1)
                switch (c) {
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
        if (argc - optind != 1)
                return USAGE_ERROR(usage, "'push' requires exactly one argument");
        path = name_path(argv[optind], "/push");
        what = xasprintf("push '%s'", argv[optind]);
        return run_stream(ctx, path, quiet, what);
}

/* ---- listing and inspection ---- */

/* Parses "-f/--format", "-q/--quiet", "-a", "--no-trunc", "-h". */
struct list_opts {
        const char *format;
        bool quiet, no_trunc;
};

static int parse_list_opts(const struct cli_ctx *ctx, int argc, char **argv, const char *usage,
                           struct list_opts *o) {
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
                {"all", no_argument, NULL, 'a'},          {"no-trunc", no_argument, NULL, 'T'},
                {"help", no_argument, NULL, 'h'},         {}};
        int c;

        o->format = ctx->format;
        while ((c = getopt_long(argc, argv, "f:qah", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        o->format = optarg;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'a':
                        break;
                case 'T':
                        o->no_trunc = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return -EXIT_USAGE;
                }
        return 1;
}

static char *created_since(const char *created) {
        struct tm tm = {};
        time_t t, now = time(NULL);
        long d;

        if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm))
                return xstrdup("N/A");
        t = timegm(&tm);
        d = (long)(now - t);
        if (d < 60)
                return xstrdup("Less than a minute ago");
        if (d < 3600)
                return xasprintf("%ld minutes ago", d / 60);
        if (d < 86400)
                return xasprintf("%ld hours ago", d / 3600);
        return xasprintf("%ld days ago", d / 86400);
}

static int cmd_images(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth images [OPTIONS] [REPOSITORY[:TAG]]\n"
                                    "       berth image ls [OPTIONS] [REPOSITORY[:TAG]]\n\n"
                                    "List images.\n\n"
                                    "Options:\n"
                                    "  -f, --format FORMAT  table (default), json, or a template\n"
                                    "  -q, --quiet          only show image ids\n"
                                    "      --no-trunc       do not truncate ids\n"
                                    "  -h, --help           this help\n";
        _cleanup_json_ json_t *list = NULL, *rows = json_array();
        _cleanup_err_ struct err *e = NULL;
        struct list_opts o = {};
        const char *filter;
        json_t *img;
        size_t i;
        int r;

        r = parse_list_opts(ctx, argc, argv, usage, &o);
        if (r <= 0)
                return -r;
        filter = optind < argc ? argv[optind] : NULL;
        r = client_call(ctx, "GET", "/v1/images", NULL, &list, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (list, i, img) {
                const char *id = json_get_str(img, "Id", "");
                _cleanup_free_ char *sid = o.no_trunc ? xstrdup(id) : short_id(id);
                _cleanup_free_ char *size = human_size(json_get_int(img, "Size", 0));
                _cleanup_free_ char *since = created_since(json_get_str(img, "Created", NULL));
                json_t *tags = json_object_get(img, "RepoTags"), *t;
                size_t k;

                if (json_array_size(tags) == 0)
                        tags = NULL;
                for (k = 0; k < (tags ? json_array_size(tags) : 1); k++) {
                        const char *tag =
                                tags ? json_string_value(json_array_get(tags, k)) : "<none>:<none>";
                        const char *colon = strrchr(tag, ':');
                        _cleanup_free_ char *repo =
                                colon ? xstrndup(tag, (size_t)(colon - tag)) : xstrdup(tag);
                        if (colon && strchr(colon, '/')) {
                                free(repo);
                                repo = xstrdup(tag);
                                colon = NULL;
                        }
                        if (filter && !streq(filter, repo) && !streq(filter, tag))
                                continue;
                        t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", repo, "Tag",
                                      colon ? colon + 1 : "<none>", "ID", sid, "CreatedSince",
                                      since, "CreatedAt", json_get_str(img, "Created", ""), "Size",
                                      size);
                        json_array_append_new(rows, t);
                }
        }
        if (o.quiet) {
                _cleanup_strv_ char **seen = NULL;
                json_array_foreach (rows, i, img) {
                        const char *id = json_get_str(img, "ID", "");
                        if (strv_contains(seen, id))
                                continue;
                        strv_push(&seen, id);
                        printf("%s\n", id);
                }
                return 0;
        }
        r = fmt_print_list(
                stdout, o.format,
                "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}", rows,
                &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

static int cmd_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth image inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
                                    "Display detailed information on one or more images.\n\n"
                                    "Options:\n"
                                    "  -f, --format FORMAT  a template, or json (default)\n"
                                    "  -h, --help           this help\n";
        _cleanup_json_ json_t *all = json_array();
        struct list_opts o = {};
        int r, rc = 0;

        r = parse_list_opts(ctx, argc, argv, usage, &o);
        if (r <= 0)
                return -r;
        r = need_args(argc, 1, usage);
        if (r < 0)
                return -r;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *path = name_path(argv[i], "/json");
                _cleanup_err_ struct err *e = NULL;
                json_t *j = NULL;

                r = client_call(ctx, "GET", path, NULL, &j, &e);
                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(r));
                        continue;
                }
                json_array_append_new(all, j);
        }
        {
                _cleanup_err_ struct err *e = NULL;
                if (fmt_print_all(stdout, o.format, all, &e) < 0)
                        return cli_report(TAKE_PTR(e), EXIT_USAGE);
        }
        return rc;
}

static int cmd_history(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth history [OPTIONS] IMAGE\n\n"
                                    "Show the history of an image.\n\n"
                                    "Options:\n"
                                    "  -f, --format FORMAT  table (default), json, or a template\n"
                                    "  -q, --quiet          only show creation steps\n"
                                    "  -h, --help           this help\n";
        _cleanup_json_ json_t *h = NULL, *rows = json_array();
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *path = NULL;
        struct list_opts o = {};
        json_t *v;
        size_t i;
        int r;

        r = parse_list_opts(ctx, argc, argv, usage, &o);
        if (r <= 0)
                return -r;
        if (argc - optind != 1)
                return USAGE_ERROR(usage, "'history' requires exactly one argument");
        path = name_path(argv[optind], "/history");
        r = client_call(ctx, "GET", path, NULL, &h, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (h, i, v) {
                _cleanup_free_ char *since = created_since(json_get_str(v, "Created", NULL));
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s}", "CreatedSince", since,
                                                      "CreatedBy", json_get_str(v, "CreatedBy", ""),
                                                      "Comment", json_get_str(v, "Comment", "")));
        }
        r = fmt_print_list(stdout, o.format,
                           "table {{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Comment}}", rows, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

/* ---- tag / rmi ---- */

static int cmd_tag(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
                                    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.\n";
        _cleanup_free_ char *path = NULL, *repo = NULL, *erepo = NULL, *etag = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *target, *slash, *colon;
        int r;

        if (argc >= 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                fputs(usage, stdout);
                return 0;
        }
        if (argc != 3)
                return USAGE_ERROR(usage, "'tag' requires exactly two arguments");
        target = argv[2];
        slash = strrchr(target, '/');
        colon = strrchr(slash ? slash : target, ':');
        repo = colon ? xstrndup(target, (size_t)(colon - target)) : xstrdup(target);
        erepo = http_escape(repo);
        etag = http_escape(colon ? colon + 1 : "latest");
        {
                _cleanup_free_ char *base = name_path(argv[1], "/tag");
                path = xasprintf("%s?repo=%s&tag=%s", base, erepo, etag);
        }
        r = client_call(ctx, "POST", path, NULL, NULL, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

static int cmd_rmi(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
                                    "Remove one or more images.\n\n"
                                    "Options:\n"
                                    "  -f, --force  remove the image even with several tags\n"
                                    "  -h, --help   this help\n";
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"no-prune", no_argument, NULL, 'P'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        bool force = false;
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'P':
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind < 1)
                return USAGE_ERROR(usage, "'rmi' requires at least one argument");
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *base = name_path(argv[i], NULL), *path = NULL;
                _cleanup_json_ json_t *out = NULL;
                _cleanup_err_ struct err *e = NULL;
                json_t *v;
                size_t k;
                int r;

                path = xasprintf("%s%s", base, force ? "?force=1" : "");
                r = client_call(ctx, "DELETE", path, NULL, &out, &e);
                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(r));
                        continue;
                }
                json_array_foreach (out, k, v) {
                        if (json_object_get(v, "Untagged"))
                                printf("Untagged: %s\n", json_get_str(v, "Untagged", ""));
                        if (json_object_get(v, "Deleted"))
                                printf("Deleted: %s\n", json_get_str(v, "Deleted", ""));
                }
        }
        return rc;
}

/* ---- files: load, save, import ---- */

static bool is_dir(const char *p) {
        struct stat st;

        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void url_add(char **url, const char *k, const char *v) {
        _cleanup_free_ char *ev = http_escape(v);
        char *n = xasprintf("%s&%s=%s", *url, k, ev);

        free(*url);
        *url = n;
}

static int cmd_load(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth load [OPTIONS]\n\n"
                "Load images from a tar archive (docker save or OCI layout) or an OCI layout "
                "directory.\n\n"
                "Options:\n"
                "  -i, --input FILE  read from FILE instead of stdin\n"
                "  -q, --quiet       print only the loaded references\n"
                "  -h, --help        this help\n";
        static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *body = NULL, *out = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *input = NULL;
        json_t *v;
        size_t i;
        int c, r;

        while ((c = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1)
                switch (c) {
                case 'i':
                        input = optarg;
                        break;
                case 'q':
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (!input && isatty(STDIN_FILENO))
                return USAGE_ERROR(usage, "requested load from stdin, but stdin is empty");
        if (input && is_dir(input)) {
                /* An OCI layout directory: the daemon reads it (it must be on its host). */
                path = path_absolute(input);
                body = json_pack("{s:s}", "path", path);
                r = client_call(ctx, "POST", "/v1/images/load", body, &out, &e);
        } else {
                /* The archive goes over the connection: any size, any --host. */
                _cleanup_close_ int fd = input ? open(input, O_RDONLY | O_CLOEXEC) : -EBADF;

                if (input && fd < 0) {
                        err_set(&e, errno, "open '%s'", input);
                        return cli_report(TAKE_PTR(e), 1);
                }
                r = client_upload(ctx, "POST", "/v1/images/load", input ? fd : STDIN_FILENO,
                                  "application/x-tar", &out, &e);
        }
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (json_object_get(out, "refs"), i, v)
                printf("Loaded image: %s\n", json_string_value(v));
        if (json_array_size(json_object_get(out, "refs")) == 0)
                json_array_foreach (json_object_get(out, "ids"), i, v)
                        printf("Loaded image ID: %s\n", json_string_value(v));
        return 0;
}

static int cmd_save(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth save [OPTIONS] IMAGE [IMAGE...]\n\n"
                                    "Save images to a tar archive (docker-archive and OCI "
                                    "layout at once), to stdout by default.\n\n"
                                    "Options:\n"
                                    "  -o, --output FILE  write to FILE\n"
                                    "  -h, --help         this help\n";
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_free_ char *path = NULL, *tmpdir = NULL;
        _cleanup_json_ json_t *body = NULL, *names = json_array();
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
        if (argc - optind < 1)
                return USAGE_ERROR(usage, "'save' requires at least one argument");
        if (!output && isatty(STDOUT_FILENO))
                return USAGE_ERROR(usage, "refusing to write the archive to a terminal; use -o "
                                          "or redirect stdout");
        for (int i = optind; i < argc; i++)
                json_array_append_new(names, json_string(argv[i]));
        if (output)
                path = path_absolute(output);
        else {
                tmpdir = xstrdup("/tmp/berth-save-XXXXXX");
                if (!mkdtemp(tmpdir))
                        return cli_report(NULL, 1);
                (void)chmod(tmpdir, 0755);
                path = xasprintf("%s/out.tar", tmpdir);
        }
        body = json_pack("{s:O,s:s}", "names", names, "path", path);
        r = client_call(ctx, "POST", "/v1/images/save", body, NULL, &e);
        if (r >= 0 && tmpdir) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                char buf[65536];
                ssize_t n;
                while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                        if (fd_write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
                                break;
        }
        if (tmpdir)
                (void)rm_rf(tmpdir, NULL);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

static int cmd_import(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]\n\n"
                "Import the contents of a tarball (or directory) to create a filesystem image.\n\n"
                "Options:\n"
                "  -c, --change INSTR   apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV,\n"
                "                       EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)\n"
                "  -m, --message TEXT   commit message\n"
                "  -h, --help           this help\n";
        static const struct option opts[] = {{"change", required_argument, NULL, 'c'},
                                             {"message", required_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *body = NULL, *changes = json_array(), *out = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *message = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "c:m:h", opts, NULL)) != -1)
                switch (c) {
                case 'c':
                        json_array_append_new(changes, json_string(optarg));
                        break;
                case 'm':
                        message = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind < 1 || argc - optind > 2)
                return USAGE_ERROR(usage, "'import' requires one or two arguments");
        if (!streq(argv[optind], "-") && is_dir(argv[optind])) {
                /* A directory: the daemon reads it (it must be on its host). */
                path = path_absolute(argv[optind]);
                body = json_pack("{s:s,s:O}", "path", path, "changes", changes);
                if (optind + 1 < argc)
                        json_object_set_new(body, "ref", json_string(argv[optind + 1]));
                if (message)
                        json_object_set_new(body, "message", json_string(message));
                r = client_call(ctx, "POST", "/v1/images/import", body, &out, &e);
        } else {
                /* The tarball goes over the connection (streamed). */
                _cleanup_close_ int fd = streq(argv[optind], "-")
                                                 ? -EBADF
                                                 : open(argv[optind], O_RDONLY | O_CLOEXEC);
                _cleanup_free_ char *url = xstrdup("/v1/images/import?x=1");
                json_t *v;
                size_t i;

                if (!streq(argv[optind], "-") && fd < 0) {
                        err_set(&e, errno, "open '%s'", argv[optind]);
                        return cli_report(TAKE_PTR(e), 1);
                }
                if (optind + 1 < argc)
                        url_add(&url, "ref", argv[optind + 1]);
                if (message)
                        url_add(&url, "message", message);
                json_array_foreach (changes, i, v)
                        url_add(&url, "changes", json_string_value(v));
                r = client_upload(ctx, "POST", url, fd >= 0 ? fd : STDIN_FILENO,
                                  "application/x-tar", &out, &e);
        }
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(out, "Id", ""));
        return 0;
}

/* ---- login / logout ---- */

static char *read_line(FILE *f, bool echo) {
        struct termios old, t;
        bool tty = isatty(fileno(f)) && !echo;
        char *line = NULL;
        size_t n = 0;
        ssize_t k;

        if (tty && tcgetattr(fileno(f), &old) == 0) {
                t = old;
                t.c_lflag &= ~(tcflag_t)ECHO;
                tcsetattr(fileno(f), TCSANOW, &t);
        }
        k = getline(&line, &n, f);
        if (tty) {
                tcsetattr(fileno(f), TCSANOW, &old);
                fputc('\n', stderr);
        }
        if (k < 0) {
                free(line);
                return NULL;
        }
        line[strcspn(line, "\r\n")] = 0;
        return line;
}

static int cmd_login(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth login [OPTIONS] [SERVER]\n\n"
                                    "Log in to a registry (default docker.io).\n\n"
                                    "Options:\n"
                                    "  -u, --username USER     user name\n"
                                    "  -p, --password PASS     password (prefer --password-stdin)\n"
                                    "      --password-stdin    read the password from stdin\n"
                                    "  -h, --help              this help\n";
        static const struct option opts[] = {{"username", required_argument, NULL, 'u'},
                                             {"password", required_argument, NULL, 'p'},
                                             {"password-stdin", no_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_free_ char *user = NULL, *pass = NULL;
        _cleanup_json_ json_t *body = NULL, *out = NULL;
        _cleanup_err_ struct err *e = NULL;
        bool pw_stdin = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "u:p:h", opts, NULL)) != -1)
                switch (c) {
                case 'u':
                        free(user);
                        user = xstrdup(optarg);
                        break;
                case 'p':
                        free(pass);
                        pass = xstrdup(optarg);
                        break;
                case 'S':
                        pw_stdin = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind > 1)
                return USAGE_ERROR(usage, "'login' takes at most one argument");
        if (pw_stdin && pass)
                return USAGE_ERROR(usage, "--password and --password-stdin are mutually exclusive");
        if (pw_stdin && !user)
                return USAGE_ERROR(usage, "--password-stdin needs --username");
        if (!user) {
                fprintf(stderr, "Username: ");
                user = read_line(stdin, true);
        }
        if (!pass) {
                if (!pw_stdin)
                        fprintf(stderr, "Password: ");
                pass = read_line(stdin, false);
        }
        if (!user || !*user || !pass)
                return USAGE_ERROR(usage, "user name and password are required");
        body = json_pack("{s:s,s:s,s:s}", "serveraddress",
                         optind < argc ? argv[optind] : "docker.io", "username", user, "password",
                         pass);
        r = client_call(ctx, "POST", "/v1/auth", body, &out, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(out, "Status", "Login Succeeded"));
        return 0;
}

static int cmd_logout(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth logout [SERVER]\n\n"
                                    "Log out from a registry (default docker.io).\n";
        _cleanup_json_ json_t *body = NULL, *out = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *server = "docker.io";
        int r;

        if (argc > 2)
                return USAGE_ERROR(usage, "'logout' takes at most one argument");
        if (argc == 2) {
                if (streq(argv[1], "-h") || streq(argv[1], "--help")) {
                        fputs(usage, stdout);
                        return 0;
                }
                server = argv[1];
        }
        body = json_pack("{s:s}", "serveraddress", server);
        r = client_call(ctx, "POST", "/v1/auth/logout", body, &out, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(out, "Status", ""));
        return 0;
}

const struct cli_cmd cli_images_cmds[] = {
        {"pull", "Download an image from a registry", cmd_pull},
        {"image pull", "Download an image from a registry", cmd_pull},
        {"push", "Upload an image to a registry", cmd_push},
        {"image push", "Upload an image to a registry", cmd_push},
        {"images", "List images", cmd_images},
        {"image ls", "List images", cmd_images},
        {"image inspect", "Display detailed information on images", cmd_inspect},
        {"history", "Show the history of an image", cmd_history},
        {"image history", "Show the history of an image", cmd_history},
        {"tag", "Create a tag that refers to an image", cmd_tag},
        {"image tag", "Create a tag that refers to an image", cmd_tag},
        {"rmi", "Remove one or more images", cmd_rmi},
        {"image rm", "Remove one or more images", cmd_rmi},
        {"load", "Load images from a tar archive or OCI layout", cmd_load},
        {"image load", "Load images from a tar archive or OCI layout", cmd_load},
        {"save", "Save images to a tar archive", cmd_save},
        {"image save", "Save images to a tar archive", cmd_save},
        {"import", "Create an image from a rootfs tarball or directory", cmd_import},
        {"image import", "Create an image from a rootfs tarball or directory", cmd_import},
        {"login", "Log in to a registry", cmd_login},
        {"logout", "Log out from a registry", cmd_logout},
        {},
};
