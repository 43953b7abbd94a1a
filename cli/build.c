/* SPDX-License-Identifier: Apache-2.0 */
/* berth build (docs/build.md): sends the context to POST /v1/build and prints the progress. With
 * a local daemon (unix socket) the context directory's absolute path is sent and the daemon reads
 * it in place; with a remote daemon, or with "-" (a tar stream on stdin), the context travels as a
 * tar body. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "build.h"
#include "client.h"
#include "fileio.h"
#include "http_request.h"
#include "json.h"
#include "membuf.h"
#include "stacks_build.h"
#include "strv.h"
#include "xalloc.h"

struct build_state {
        bool quiet;
        const char *prefix;
        bool at_bol; /* the next stream text starts a line */
        char *error;
        char *id;
};

/* Prints stream text, with the prefix at the start of every line. */
static void print_stream(struct build_state *st, const char *s) {
        if (!st->prefix || !*st->prefix) {
                fputs(s, stdout);
                return;
        }
        while (*s) {
                const char *nl = strchr(s, '\n');
                size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
                if (st->at_bol)
                        fputs(st->prefix, stdout);
                fwrite(s, 1, n, stdout);
                st->at_bol = nl != NULL;
                s += n;
        }
}

static int on_line(const char *line, size_t len, void *ud) {
        struct build_state *st = ud;
        _cleanup_json_ json_t *j = json_loadb(line, len, 0, NULL);
        json_t *aux;

        if (!j)
                return 0;
        if (json_object_get(j, "error")) {
                free(st->error);
                st->error = xstrdup(json_get_str(j, "error", "build failed"));
                return 0;
        }
        aux = json_object_get(j, "aux");
        if (aux) {
                free(st->id);
                st->id = xstrdup(json_get_str(aux, "ID", ""));
                return 0;
        }
        if (!st->quiet) {
                print_stream(st, json_get_str(j, "stream", ""));
                fflush(stdout);
        }
        return 0;
}

static int read_stdin(struct membuf *out, struct err **errp) {
        char b[65536];
        for (;;) {
                ssize_t n = read(0, b, sizeof(b));
                if (n < 0)
                        return err_set(errp, errno, "read the build context from stdin");
                if (n == 0)
                        return 0;
                membuf_add(out, b, (size_t)n);
                if (out->len > CONTEXT_MAX)
                        return err_setx(errp, EFBIG, "build context larger than 2 GiB");
        }
}

static void add_kv(json_t *o, const char *arg, const char *what, struct err **errp) {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
                if (!strchr(arg, '=') && getenv(arg) && streq(what, "--build-arg")) {
                        json_object_set_new(o, arg, json_string(getenv(arg)));
                        return;
                }
                err_setx(errp, EINVAL, "invalid %s '%s': expected KEY=VALUE", what, arg);
                return;
        }
        _cleanup_free_ char *k = xstrndup(arg, (size_t)(eq - arg));
        json_object_set_new(o, k, json_string(eq + 1));
}

static void q_add(char **path, const char *key, const char *val) {
        _cleanup_free_ char *ev = http_escape(val);
        char *n = xasprintf("%s%s%s=%s", *path, strchr(*path, '?') ? "&" : "?", key, ev);
        free(*path);
        *path = n;
}

/* The name an inline Dockerfile gets inside a tar context. */
#define INLINE_DOCKERFILE ".berth-dockerfile-inline"

int cli_build_send(const struct cli_ctx *ctx, const struct cli_build_req *req, char **ret_id,
                   struct err **errp) {
        _cleanup_free_ char *path = xstrdup("/v1/build"), *body = NULL;
        struct build_state st = {.quiet = req->quiet, .prefix = req->prefix, .at_bol = true};
        struct membuf tarbuf = {};
        struct http_response resp = {};
        int r;

        STRV_FOREACH (t, req->tags)
                q_add(&path, "t", *t);
        if (req->target)
                q_add(&path, "target", req->target);
        if (req->network)
                q_add(&path, "network", req->network);
        if (req->buildargs && json_object_size(req->buildargs) > 0) {
                _cleanup_free_ char *s = json_dump_str(req->buildargs, false);
                q_add(&path, "buildargs", s);
        }
        if (req->labels && json_object_size(req->labels) > 0) {
                _cleanup_free_ char *s = json_dump_str(req->labels, false);
                q_add(&path, "labels", s);
        }
        if (req->cache_from && req->cache_from[0]) {
                _cleanup_json_ json_t *a = json_array();
                for (char *const *c = req->cache_from; *c; c++)
                        json_array_append_new(a, json_string(*c));
                _cleanup_free_ char *s = json_dump_str(a, false);
                q_add(&path, "cachefrom", s);
        }
        if (req->jobs) {
                char n[16];
                snprintf(n, sizeof(n), "%u", req->jobs);
                q_add(&path, "jobs", n);
        }
        if (req->nocache)
                q_add(&path, "nocache", "1");
        if (req->pull)
                q_add(&path, "pull", "1");
        if (req->quiet)
                q_add(&path, "q", "1");

        struct http_call call = {.method = "POST", .path = path, .on_line = on_line, .ud = &st};
        if (req->context && str_startswith(ctx->host, "unix://")) {
                /* A local daemon reads the directory in place. */
                _cleanup_json_ json_t *j = json_pack("{s:s}", "context", req->context);
                if (req->dockerfile_inline)
                        json_object_set_new(j, "dockerfile_inline",
                                            json_string(req->dockerfile_inline));
                else if (req->dockerfile)
                        q_add(&path, "dockerfile", req->dockerfile);
                body = json_dump_str(j, false);
                call.path = path;
                call.body = body;
                call.body_len = strlen(body);
                call.content_type = "application/json";
        } else {
                if (req->dockerfile_inline)
                        q_add(&path, "dockerfile", INLINE_DOCKERFILE);
                else if (req->dockerfile)
                        q_add(&path, "dockerfile", req->dockerfile);
                call.path = path;
                if (req->context) {
                        /* Only berth-engine talks to https hosts (the thin berth execs it). */
                        if (!ctx->env || !ctx->env->tar_context)
                                return err_setx(errp, EPROTONOSUPPORT,
                                                "sending the build context to '%s' needs "
                                                "berth-engine",
                                                ctx->host);
                        r = ctx->env->tar_context(req->context, INLINE_DOCKERFILE,
                                                  req->dockerfile_inline, &tarbuf.s, &tarbuf.len,
                                                  errp);
                        if (r < 0) {
                                free(tarbuf.s);
                                return r;
                        }
                        call.body = tarbuf.s ? tarbuf.s : "";
                        call.body_len = tarbuf.len;
                } else {
                        call.body = req->tar ? req->tar : "";
                        call.body_len = req->tar_len;
                }
                call.content_type = "application/x-tar";
        }

        struct http_target tg = {.host = ctx->host,
                                 .tls_cert = ctx->tls_cert,
                                 .tls_key = ctx->tls_key,
                                 .tls_ca = ctx->tls_ca};
        r = ctx->http->request(&tg, &call, &resp, errp);
        free(tarbuf.s);
        if (r >= 0 && (resp.status < 200 || resp.status >= 300)) {
                _cleanup_json_ json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
                const char *msg = json_get_str(json_object_get(j, "error"), "message", NULL);
                r = err_setx(errp, EINVAL, "%s",
                             msg ? msg : (resp.body ? resp.body : "build failed"));
        } else if (r >= 0 && (st.error || !st.id))
                r = err_setx(errp, EIO, "%s", st.error ? st.error : "no result from the daemon");
        if (!st.at_bol)
                putchar('\n');
        fflush(stdout);
        http_response_done(&resp);
        free(st.error);
        if (r < 0) {
                free(st.id);
                return r;
        }
        *ret_id = st.id;
        return 0;
}

static int cmd_build(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth build [OPTIONS] PATH | -\n"
                "       berth build [-f COMPOSE_FILE]... [OPTIONS] [SERVICE...]   (no PATH: the\n"
                "       services of a compose file, as 'berth stack build')\n\n"
                "Build an image from a Dockerfile.\n\n"
                "Options:\n"
                "  -t, --tag NAME           name and optionally tag the image (repeatable)\n"
                "  -f, --file FILE          Dockerfile inside the context (default Dockerfile)\n"
                "      --build-arg K=V      set a build-time variable (repeatable)\n"
                "      --target STAGE       build up to this stage\n"
                "      --no-cache           do not use the build cache\n"
                "      --cache-from IMAGE   reuse the build steps recorded in IMAGE (pulled when\n"
                "                           missing; repeatable)\n"
                "      --pull               pull base images even when they are present\n"
                "      --network MODE       network of RUN steps: default (the bridge), host or\n"
                "                           none\n"
                "  -j, --jobs N             stages built at the same time (default: the number\n"
                "                           of CPUs; 1: one after another)\n"
                "  -q, --quiet              only print the image id\n"
                "      --label K=V          set a label on the image (repeatable)\n"
                "  -h, --help               this help\n";
        static const struct option opts[] = {{"tag", required_argument, NULL, 't'},
                                             {"file", required_argument, NULL, 'f'},
                                             {"build-arg", required_argument, NULL, 'b'},
                                             {"target", required_argument, NULL, 'T'},
                                             {"no-cache", no_argument, NULL, 'n'},
                                             {"cache-from", required_argument, NULL, 'C'},
                                             {"pull", no_argument, NULL, 'p'},
                                             {"network", required_argument, NULL, 'N'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"jobs", required_argument, NULL, 'j'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *bargs = json_object(), *labels = json_object();
        _cleanup_strv_ char **tags = NULL, **cache_from = NULL;
        _cleanup_free_ char *file = NULL, *target = NULL, *network = NULL, *ctxdir = NULL;
        _cleanup_free_ char *id = NULL;
        struct err *e = NULL;
        struct membuf tarbuf = {};
        bool nocache = false, pull = false, quiet = false;
        unsigned jobs = 0;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+t:f:j:qh", opts, NULL)) >= 0) {
                switch (c) {
                case 't':
                        strv_push(&tags, optarg);
                        break;
                case 'f':
                        free(file);
                        file = xstrdup(optarg);
                        break;
                case 'b':
                        add_kv(bargs, optarg, "--build-arg", &e);
                        break;
                case 'l':
                        add_kv(labels, optarg, "--label", &e);
                        break;
                case 'T':
                        free(target);
                        target = xstrdup(optarg);
                        break;
                case 'n':
                        nocache = true;
                        break;
                case 'C':
                        if (!*optarg) {
                                fprintf(stderr, "berth: --cache-from needs an image name\n");
                                return EXIT_USAGE;
                        }
                        strv_push(&cache_from, optarg);
                        break;
                case 'p':
                        pull = true;
                        break;
                case 'N':
                        free(network);
                        network = xstrdup(optarg);
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'j': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || v < 1 || v > 8) {
                                fprintf(stderr, "berth: invalid --jobs '%s': expected 1 to 8\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        jobs = (unsigned)v;
                        break;
                }
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
                if (e)
                        return cli_report(e, EXIT_USAGE);
        }
        /* No context PATH: build the services of a compose file (docker compose build). */
        if (argc == optind || cli_build_is_compose(file, argc - optind, argv + optind))
                return cli_stack_build(ctx, argc, argv);
        if (argc - optind != 1) {
                fprintf(stderr, "berth: 'build' needs exactly one context PATH or '-'\n%s", usage);
                return EXIT_USAGE;
        }
        const char *arg = argv[optind];
        /* -f is relative to the working directory (as in docker); the daemon wants it relative
         * to the context. */
        if (file && !streq(arg, "-")) {
                char frp[PATH_MAX], crp[PATH_MAX];
                if (realpath(file, frp) && realpath(arg, crp)) {
                        size_t cl = strlen(crp);
                        if (strncmp(frp, crp, cl) != 0 || frp[cl] != '/') {
                                err_setx(&e, EINVAL,
                                         "the Dockerfile '%s' must be inside the build context "
                                         "'%s'",
                                         file, arg);
                                return cli_report(e, 1);
                        }
                        free(file);
                        file = xstrdup(frp + cl + 1);
                }
        }
        struct cli_build_req req = {.dockerfile = file,
                                    .tags = tags,
                                    .cache_from = cache_from,
                                    .buildargs = bargs,
                                    .labels = labels,
                                    .target = target,
                                    .network = network,
                                    .nocache = nocache,
                                    .pull = pull,
                                    .jobs = jobs,
                                    .quiet = quiet};
        if (streq(arg, "-")) {
                r = read_stdin(&tarbuf, &e);
                if (r < 0) {
                        free(tarbuf.s);
                        return cli_report(e, 1);
                }
                req.tar = tarbuf.s;
                req.tar_len = tarbuf.len;
        } else {
                struct stat sb;
                char rp[PATH_MAX];
                if (!realpath(arg, rp) || stat(rp, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                        err_setx(&e, ENOENT,
                                 "unable to prepare context: path '%s' is not a directory", arg);
                        return cli_report(e, 1);
                }
                ctxdir = xstrdup(rp);
                req.context = ctxdir;
        }
        r = cli_build_send(ctx, &req, &id, &e);
        free(tarbuf.s);
        if (r == -EIO) {
                fprintf(stderr, "ERROR: %s\n", err_msg(e));
                err_free(e);
                return 1;
        }
        if (r < 0)
                return cli_report(e, client_exit_code(r));
        if (quiet)
                printf("%s\n", id);
        return 0;
}

const struct cli_cmd cli_build_cmds[] = {
        {"build", "Build an image from a Dockerfile (or a compose file's services)", cmd_build},
        {"image build", "Build an image from a Dockerfile", cmd_build},
        {},
};
