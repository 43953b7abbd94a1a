/* SPDX-License-Identifier: Apache-2.0 */
/* Stack commands against the controller: up, down, ls, stack ps, diff, scale. The stack is
 * loaded and validated here (a bad file exits 2 and contacts nothing), then sent as the
 * canonical model (docs/model.md) to PUT /v1/stacks/{name}. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "json.h"
#include "stacks_check.h"
#include "stacks_build.h"
#include "stacks_diff.h"
#include "stacks_logs.h"
#include "stacks_stop.h"
#include "stacks_volumes.h"
#include "strv.h"
#include "xalloc.h"

#if __has_include("stack.h")
#include "stack.h"
#define HAVE_STACK_LOAD 1
#else
#define HAVE_STACK_LOAD 0
#endif

#define MODEL_FILE_MAX (16u * 1024u * 1024u)
/* --wait follows the stack with GET /v1/stacks/{name}?watch=REV (answered as soon as the stack,
 * its pods or a node report changed); a daemon without it answers at once without a
 * "revision", and the CLI then polls every 50 ms. A long poll lasts at most WAIT_WATCH_MS, so
 * --wait-timeout is checked at least that often. */
#define WAIT_POLL_USEC 50000
#define WAIT_WATCH_MS 1000u

/* Options shared by the stack commands. */
struct stack_args {
        char **files;
        char **profiles;
        const char *project;
};

static void stack_args_done(struct stack_args *a) {
        strv_free(a->files);
        strv_free(a->profiles);
}

/* Loads the stack: compose files or Kubernetes manifests through specs/, or a canonical model
 * as JSON (what `berth config --format json` prints). */
static int load_model(const struct stack_args *a, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *m = NULL;
        const char *first = a->files ? a->files[0] : NULL;
        int r;

        if (first && strv_length(a->files) == 1 && str_endswith(first, ".json")) {
                r = json_load_path(first, MODEL_FILE_MAX, &m, errp);
                if (r < 0)
                        return r;
                if (!json_is_object(m) || !json_is_object(json_object_get(m, "services")))
                        return err_setx(errp, EINVAL,
                                        "%s: not a canonical stack model (no 'services' object)",
                                        first);
        } else {
#if HAVE_STACK_LOAD
                r = stack_load(&(struct stack_load_opts){.files = a->files,
                                                         .project_name = a->project,
                                                         .profiles = a->profiles},
                               &m, errp);
                if (r < 0)
                        return r;
#else
                return err_setx(errp, ENOTSUP,
                                "%s: this build reads stacks as canonical model JSON only "
                                "(a .json file)",
                                first ? first : "compose.yaml");
#endif
        }
        if (a->project)
                json_set_str(m, "name", a->project);
        if (!json_get_str(m, "name", NULL))
                return err_setx(errp, EINVAL, "the stack has no name: give -p NAME");
        *ret = TAKE_PTR(m);
        return 0;
}

/* The stack's name from -p, or from the files. */
static int stack_name(const struct stack_args *a, char **ret, struct err **errp) {
        _cleanup_json_ json_t *m = NULL;
        int r;

        if (a->project) {
                *ret = xstrdup(a->project);
                return 0;
        }
        if (!a->files && !HAVE_STACK_LOAD)
                return err_setx(errp, EINVAL, "name the stack with -p NAME or -f FILE");
        r = load_model(a, &m, errp);
        if (r < 0)
                return r;
        *ret = xstrdup(json_get_str(m, "name", ""));
        return 0;
}

static char *stack_path(const char *name, const char *suffix) {
        return xasprintf("/v1/stacks/%s%s", name, suffix ? suffix : "");
}

static int report(struct err *e, int r) {
        return cli_report(e, client_exit_code(r));
}

/* "web/1     START    on n1: replicas 0 < 2", one line per op, in plan order (dependencies
 * first); KEEP lines only when all is true. */
static void print_plan(const json_t *res, bool all) {
        unsigned shown = 0;
        size_t i;
        json_t *op;

        json_array_foreach (json_object_get(res, "plan"), i, op) {
                const char *kind = json_get_str(op, "op", "");
                int64_t slot = json_get_int(op, "slot", 0);
                const char *node = json_get_str(op, "node", NULL);
                _cleanup_free_ char *name =
                        slot > 0 ? xasprintf("%s/%" PRId64, json_get_str(op, "service", ""), slot)
                                 : xstrdup(json_get_str(op, "service", ""));

                if (!all && streq(kind, "KEEP"))
                        continue;
                printf("  %-24s %-8s %s%s%s%s\n", name, kind, node ? "on " : "", node ? node : "",
                       node ? ": " : "", json_get_str(op, "reason", ""));
                shown++;
        }
        if (!shown)
                printf("  nothing to do: every service is up to date\n");
}

/* Whether every selected service is running (healthy when it has a health check) and every
 * job completed. *ret_pending gets the services still waited for. */
static bool stack_ready(const json_t *st, char *const *services, char **ret_pending) {
        _cleanup_strv_ char **pending = NULL;
        const char *name;
        json_t *svc;

        json_object_foreach (json_object_get(st, "services"), name, svc) {
                int64_t want = json_get_int(svc, "replicas", 0);
                bool job = streq(json_get_str(svc, "kind", "service"), "job");
                int64_t have = job ? json_get_int(svc, "completed", 0)
                               : json_get_bool(svc, "healthcheck", false)
                                       ? json_get_int(svc, "healthy", 0)
                                       : json_get_int(svc, "running", 0);

                if (services && !strv_contains(services, name))
                        continue;
                if (have < want)
                        strv_push_take(&pending,
                                       xasprintf("%s %" PRId64 "/%" PRId64, name, have, want));
        }
        *ret_pending = strv_join(pending, ", ");
        return !pending;
}

static int wait_ready(const struct cli_ctx *ctx, const char *name, char *const *services,
                      unsigned timeout_s) {
        _cleanup_free_ char *path = stack_path(name, NULL);
        struct timespec t0, now;
        bool tty = isatty(STDOUT_FILENO);
        _cleanup_free_ char *last = NULL;
        _cleanup_strv_ char **errors = NULL;

        uint64_t rev = 0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                _cleanup_json_ json_t *st = NULL;
                _cleanup_err_ struct err *e = NULL;
                _cleanup_free_ char *pending = NULL, *wpath = NULL;
                int r;

                if (rev > 0)
                        wpath = xasprintf("%s?watch=%" PRIu64 "&timeout=%u", path, rev,
                                          WAIT_WATCH_MS);
                r = client_call(ctx, "GET", wpath ? wpath : path, NULL, &st, &e);
                if (r < 0)
                        return report(TAKE_PTR(e), r);
                rev = json_integer_value(json_object_get(st, "revision")) > 0
                              ? (uint64_t)json_integer_value(json_object_get(st, "revision"))
                              : 0;
                if (stack_ready(st, services, &pending)) {
                        if (tty)
                                printf("\r\033[K");
                        printf("Stack '%s' is ready.\n", name);
                        return 0;
                }
                {
                        /* Pods the agent could not create: say why at once (it retries). */
                        size_t i;
                        json_t *p;

                        json_array_foreach (json_object_get(st, "pods"), i, p) {
                                _cleanup_free_ char *line = NULL;

                                if (!json_get_str(p, "error", NULL))
                                        continue;
                                line = xasprintf(
                                        "%s/%" PRId64 ": %s", json_get_str(p, "service", ""),
                                        json_get_int(p, "slot", 0), json_get_str(p, "error", ""));
                                if (strv_contains(errors, line))
                                        continue;
                                if (tty)
                                        printf("\r\033[K");
                                fprintf(stderr, "berth: pod %s (retrying)\n", line);
                                strv_push(&errors, line);
                        }
                }
                if (tty) {
                        printf("\r\033[KWaiting for: %s", pending);
                        fflush(stdout);
                } else if (!streq_ptr(last, pending)) {
                        printf("Waiting for: %s\n", pending);
                        free(last);
                        last = xstrdup(pending);
                }
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (timeout_s && now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
                        if (tty)
                                printf("\n");
                        fprintf(stderr, "berth: stack '%s' not ready after %u s: %s\n", name,
                                timeout_s, pending);
                        return 1;
                }
                if (rev == 0)
                        usleep(WAIT_POLL_USEC);
        }
}

static int parse_uint(const char *opt, const char *s, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max) {
                fprintf(stderr, "berth: invalid %s '%s': expected an integer 0..%u\n", opt, s, max);
                return -EINVAL;
        }
        *ret = (unsigned)v;
        return 0;
}

/* Applies "SVC=N" to the model's replicas. */
static int apply_scale(json_t *model, const char *spec, struct err **errp) {
        const char *eq = strchr(spec, '=');
        _cleanup_free_ char *svc = NULL;
        json_t *s;
        unsigned n;

        if (!eq || eq == spec)
                return err_setx(errp, EINVAL, "invalid scale '%s': expected SERVICE=REPLICAS",
                                spec);
        svc = xstrndup(spec, (size_t)(eq - spec));
        s = json_object_get(json_object_get(model, "services"), svc);
        if (!json_is_object(s))
                return err_setx(errp, ENOENT, "invalid scale '%s': no service '%s'", spec, svc);
        if (parse_uint("replicas", eq + 1, 100000, &n) < 0)
                return err_setx(errp, EINVAL, "invalid scale '%s'", spec);
        if (n > 1 && json_get_str(s, "container_name", NULL))
                return err_setx(errp, EINVAL,
                                "invalid scale '%s': service '%s' has a fixed container_name", spec,
                                svc);
        json_object_set_new(s, "replicas", json_integer(n));
        return 0;
}

static const char up_usage[] =
        "Usage: berth up [OPTIONS] [SERVICE...]\n\n"
        "Create or update a stack on the controller and print the plan.\n\n"
        "Options:\n"
        "  -f, --file FILE          stack file (repeatable; compose, Kubernetes, or model JSON)\n"
        "  -p, --project-name NAME  stack name\n"
        "  -d, --detach             return once the plan is applied\n"
        "      --dry-run            print the plan, change nothing\n"
        "      --force-recreate     replace pods even when unchanged\n"
        "      --no-recreate        keep outdated pods\n"
        "      --remove-orphans     remove pods of services no longer defined\n"
        "      --scale SVC=N        replicas of a service (repeatable)\n"
        "      --profile P          enable a profile (repeatable)\n"
        "      --wait               wait until services are running/healthy, jobs completed\n"
        "      --wait-timeout N     give up waiting after N seconds (default: no limit)\n"
        "      --build              build images (services with build:) before starting\n"
        "      --no-build           do not build images, even when missing\n"
        "  -h, --help               this help\n";

enum {
        OPT_DRY = 256,
        OPT_FORCE,
        OPT_NOREC,
        OPT_ORPHANS,
        OPT_SCALE,
        OPT_PROFILE,
        OPT_WAIT,
        OPT_WAIT_TIMEOUT,
        OPT_BUILD,
        OPT_NO_BUILD,
};

static int up_or_diff(const struct cli_ctx *ctx, int argc, char **argv, bool diff) {
        static const struct option opts[] = {
                {"file", required_argument, NULL, 'f'},
                {"project-name", required_argument, NULL, 'p'},
                {"detach", no_argument, NULL, 'd'},
                {"dry-run", no_argument, NULL, OPT_DRY},
                {"force-recreate", no_argument, NULL, OPT_FORCE},
                {"no-recreate", no_argument, NULL, OPT_NOREC},
                {"remove-orphans", no_argument, NULL, OPT_ORPHANS},
                {"scale", required_argument, NULL, OPT_SCALE},
                {"profile", required_argument, NULL, OPT_PROFILE},
                {"wait", no_argument, NULL, OPT_WAIT},
                {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
                {"build", no_argument, NULL, OPT_BUILD},
                {"no-build", no_argument, NULL, OPT_NO_BUILD},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(stack_args_done) struct stack_args a = {};
        _cleanup_strv_ char **scales = NULL, **services = NULL;
        _cleanup_json_ json_t *model = NULL, *body = NULL, *res = NULL, *old = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *path = NULL;
        bool detach = false, dry = diff, force = false, norec = false, orphans = false,
             wait = false;
        unsigned wait_timeout = 0, build = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "f:p:dh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        strv_push(&a.files, optarg);
                        break;
                case 'p':
                        a.project = optarg;
                        break;
                case 'd':
                        detach = true;
                        break;
                case OPT_DRY:
                        dry = true;
                        break;
                case OPT_FORCE:
                        force = true;
                        break;
                case OPT_NOREC:
                        norec = true;
                        break;
                case OPT_ORPHANS:
                        orphans = true;
                        break;
                case OPT_SCALE:
                        strv_push(&scales, optarg);
                        break;
                case OPT_PROFILE:
                        strv_push(&a.profiles, optarg);
                        break;
                case OPT_WAIT:
                        wait = true;
                        break;
                case OPT_WAIT_TIMEOUT:
                        if (parse_uint("--wait-timeout", optarg, 86400, &wait_timeout) < 0)
                                return EXIT_USAGE;
                        break;
                case OPT_BUILD:
                case OPT_NO_BUILD:
                        build |= c == OPT_BUILD ? 1 : 2;
                        break;
                case 'h':
                        fputs(up_usage, stdout);
                        return 0;
                default:
                        fputs(up_usage, stderr);
                        return EXIT_USAGE;
                }
        }
        for (int i = optind; i < argc; i++)
                strv_push(&services, argv[i]);
        if (build == 3) {
                fprintf(stderr, "berth: --build and --no-build exclude each other\n");
                return EXIT_USAGE;
        }
        if (force && norec) {
                fprintf(stderr, "berth: --force-recreate and --no-recreate exclude each other\n");
                return EXIT_USAGE;
        }

        /* Everything local first: a bad stack contacts nothing. */
        r = load_model(&a, &model, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        STRV_FOREACH (s, scales)
                if (apply_scale(model, *s, &e) < 0)
                        return cli_report(TAKE_PTR(e), EXIT_USAGE);
        if (stack_resolve_env_sources(model, &e) < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        STRV_FOREACH (s, services)
                if (!json_object_get(json_object_get(model, "services"), *s)) {
                        fprintf(stderr, "berth: no such service '%s' in stack '%s'\n", *s,
                                json_get_str(model, "name", ""));
                        return EXIT_USAGE;
                }

        (void)stack_warn_unsupported(stderr, model);
        /* Images of services with build: (cli/stacks_build.c); dry runs only look them up. */
        enum stack_build_mode bm = dry          ? STACK_BUILD_RESOLVE
                                   : build == 1 ? STACK_BUILD_ALWAYS
                                   : build == 2 ? STACK_BUILD_NEVER
                                                : STACK_BUILD_MISSING;
        r = stack_build_images(ctx, model,
                               &(struct stack_build_opts){.mode = bm, .services = services}, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        path = stack_path(json_get_str(model, "name", ""), NULL);
        if (diff) {
                _cleanup_err_ struct err *ge = NULL;
                r = client_call(ctx, "GET", path, NULL, &old, &ge);
                if (r < 0 && r != -ENOENT)
                        return report(TAKE_PTR(ge), r);
        }
        body = json_pack("{s:O, s:{s:b, s:b, s:b, s:b}}", "model", model, "options",
                         "force_recreate", force, "no_recreate", norec, "remove_orphans", orphans,
                         "dry_run", dry);
        if (services) {
                json_t *l = json_array();
                STRV_FOREACH (s, services)
                        json_array_append_new(l, json_string(*s));
                json_object_set_new(json_object_get(body, "options"), "services", l);
        }
        r = client_call(ctx, "PUT", path, body, &res, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        if (ctx->format && streq(ctx->format, "json")) {
                _cleanup_free_ char *s = json_dump_str(res, true);
                fputs(s, stdout);
        } else {
                printf("%s stack '%s' (generation %" PRId64 "):\n",
                       dry ? "Plan for" : "Applied plan to", json_get_str(res, "stack", ""),
                       json_get_int(res, "generation", 0));
                print_plan(res, false);
        }
        if (diff)
                stack_print_diff(stdout, json_object_get(old, "model"), model);
        if (dry)
                return 0;
        if (wait) {
                r = wait_ready(ctx, json_get_str(model, "name", ""), services, wait_timeout);
                if (r != 0 || detach)
                        return r;
        }
        if (!detach) {
                struct http_target t = {ctx->host, ctx->tls_cert, ctx->tls_key, ctx->tls_ca, 0};

                fprintf(stderr,
                        "Attaching to the logs of stack '%s' (Ctrl-C stops it, like compose; "
                        "use -d to leave it running)\n",
                        json_get_str(model, "name", ""));
                /* the thin berth's: unix hosts (stacks_follow.c); berth-engine's: libcurl */
                r = ctx->env->follow_logs
                            ? ctx->env->follow_logs(&t, json_get_str(model, "name", ""), &e)
                            : err_setx(&e, EPROTONOSUPPORT, "following logs needs berth-engine");
                if (r > 0)
                        r = stack_stop_foreground(ctx, json_get_str(model, "name", ""), &e);
                if (r < 0)
                        return report(TAKE_PTR(e), r);
        }
        return 0;
}

static int cmd_up(const struct cli_ctx *ctx, int argc, char **argv) {
        return up_or_diff(ctx, argc, argv, false);
}

static int cmd_diff(const struct cli_ctx *ctx, int argc, char **argv) {
        return up_or_diff(ctx, argc, argv, true);
}

/* Parses -f/-p (and -h) for the commands that only need the stack's name. */
static int parse_name_opts(int argc, char **argv, const char *usage, const char *extra,
                           const struct option *extra_opts, int (*on_extra)(int c, void *ud),
                           void *ud, struct stack_args *a) {
        struct option opts[16] = {
                {"file", required_argument, NULL, 'f'},
                {"project-name", required_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},
        };
        _cleanup_free_ char *shorts = xasprintf("f:p:h%s", extra ? extra : "");
        size_t n = 3;
        int c;

        for (const struct option *o = extra_opts; o && o->name && n < 15; o++)
                opts[n++] = *o;
        while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        strv_push(&a->files, optarg);
                        break;
                case 'p':
                        a->project = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                case '?':
                        fputs(usage, stderr);
                        return -EXIT_USAGE;
                default:
                        if (!on_extra || on_extra(c, ud) < 0) {
                                fputs(usage, stderr);
                                return -EXIT_USAGE;
                        }
                }
        }
        return 1;
}

static const char down_usage[] =
        "Usage: berth down [-p NAME | -f FILE] [-t SECONDS] [-v] [--remove-orphans]\n\n"
        "Remove a stack: its pods are stopped in reverse dependency order.\n\n"
        "Options:\n"
        "  -f, --file FILE          stack file (names the stack)\n"
        "  -p, --project-name NAME  stack name\n"
        "  -t, --timeout N          seconds each pod gets to stop (default: its stop grace)\n"
        "  -v, --volumes            also remove the stack's named volumes (not external ones)\n"
        "      --remove-orphans     also pods of services no longer defined (always done)\n"
        "  -h, --help               this help\n";

struct down_opts {
        unsigned timeout;
        bool have_timeout;
        bool volumes;
};

static int down_extra(int c, void *ud) {
        struct down_opts *d = ud;

        if (c == 't') {
                d->have_timeout = true;
                return parse_uint("--timeout", optarg, 3600, &d->timeout);
        }
        if (c == 'v') {
                d->volumes = true;
                return 0;
        }
        return c == OPT_ORPHANS ? 0 : -EINVAL;
}

static int cmd_down(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option extra[] = {
                {"timeout", required_argument, NULL, 't'},
                {"remove-orphans", no_argument, NULL, OPT_ORPHANS},
                {"volumes", no_argument, NULL, 'v'},
                {},
        };
        _cleanup_(stack_args_done) struct stack_args a = {};
        _cleanup_json_ json_t *res = NULL, *st = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *name = NULL, *path = NULL, *q = NULL;
        struct down_opts d = {};
        size_t i;
        json_t *p;
        int r;

        r = parse_name_opts(argc, argv, down_usage, "t:v", extra, down_extra, &d, &a);
        if (r <= 0)
                return -r;
        if (optind < argc) {
                fprintf(stderr, "berth: unexpected argument '%s'\n%s", argv[optind], down_usage);
                return EXIT_USAGE;
        }
        r = stack_name(&a, &name, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        if (d.volumes) {
                /* The stored model names the volumes (the file may have changed since). */
                path = stack_path(name, NULL);
                r = client_call(ctx, "GET", path, NULL, &st, &e);
                if (r < 0)
                        return report(TAKE_PTR(e), r);
                free(path);
        }
        q = d.have_timeout ? xasprintf("?timeout=%u", d.timeout) : xstrdup("");
        path = stack_path(name, q);
        r = client_call(ctx, "DELETE", path, NULL, &res, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        json_array_foreach (json_object_get(res, "removed"), i, p)
                printf("Removing %s/%s\n", name, json_string_value(p));
        if (d.volumes) {
                /* Each pod may take its stop grace (at most an hour), then removal. */
                r = stack_down_volumes(ctx, name, json_object_get(st, "model"),
                                       (d.have_timeout ? d.timeout : 3600) + 60, &e);
                if (r < 0)
                        return report(TAKE_PTR(e), r);
        }
        printf("Stack '%s' removed.\n", name);
        return 0;
}

static int cmd_ls(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth ls [--format FORMAT]\n\nList stacks.\n";
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'F'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_json_ json_t *res = NULL, *items = json_array();
        _cleanup_err_ struct err *e = NULL;
        const char *format = ctx->format;
        size_t i;
        json_t *s;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'F')
                        format = optarg;
                else if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                } else {
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        }
        r = client_call(ctx, "GET", "/v1/stacks", NULL, &res, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        json_array_foreach (res, i, s) {
                _cleanup_strv_ char **svcs = NULL;
                _cleanup_free_ char *joined = NULL;
                const char *sn;
                json_t *svc;

                json_object_foreach (json_object_get(s, "services"), sn, svc)
                        strv_push_take(&svcs, xasprintf("%s %" PRId64 "/%" PRId64, sn,
                                                        json_get_int(svc, "running", 0),
                                                        json_get_int(svc, "replicas", 0)));
                joined = strv_join(svcs, ", ");
                json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:s}", "Name",
                                                       json_get_str(s, "name", ""), "Status",
                                                       json_get_str(s, "status", ""), "Generation",
                                                       json_get_int(s, "generation", 0), "Services",
                                                       joined));
        }
        if (format && streq(format, "json")) {
                _cleanup_free_ char *out = json_dump_str(res, true);
                fputs(out, stdout);
                return 0;
        }
        r = fmt_print_list(stdout, format, "table {{.Name}}\t{{.Status}}\t{{.Services}}", items,
                           &e);
        return r < 0 ? cli_report(TAKE_PTR(e), EXIT_USAGE) : 0;
}

static const char ps_usage[] = "Usage: berth stack ps [-p NAME | -f FILE] [--format FORMAT]\n\n"
                               "List a stack's pods (every stack's without -p/-f).\n";

static int ps_extra(int c, void *ud) {
        const char **format = ud;

        if (c != 'F')
                return -EINVAL;
        *format = optarg;
        return 0;
}

bool cli_stack_ps_wanted(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        break;
                if (str_startswith(argv[i], "-p") || streq(argv[i], "--project-name") ||
                    str_startswith(argv[i], "--project-name="))
                        return true;
        }
        return false;
}

int cli_stack_ps(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option extra[] = {
                {"format", required_argument, NULL, 'F'},
                {},
        };
        _cleanup_(stack_args_done) struct stack_args a = {};
        _cleanup_json_ json_t *res = NULL, *items = json_array();
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *name = NULL, *path = NULL;
        const char *format = ctx->format;
        size_t i;
        json_t *p;
        int r;

        r = parse_name_opts(argc, argv, ps_usage, NULL, extra, ps_extra, &format, &a);
        if (r <= 0)
                return -r;
        if (a.project || a.files) {
                r = stack_name(&a, &name, &e);
                if (r < 0)
                        return cli_report(TAKE_PTR(e), EXIT_USAGE);
        }
        path = name ? xasprintf("/v1/pods?stack=%s", name) : xstrdup("/v1/pods");
        r = client_call(ctx, "GET", path, NULL, &res, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        if (format && streq(format, "json")) {
                _cleanup_free_ char *out = json_dump_str(res, true);
                fputs(out, stdout);
                return 0;
        }
        json_array_foreach (res, i, p) {
                const char *health = json_get_str(p, "health", "none");
                _cleanup_free_ char *state =
                        json_get_str(p, "error", NULL)
                                ? xasprintf("%s: %s", json_get_str(p, "state", ""),
                                            json_get_str(p, "error", ""))
                        : streq(health, "none")
                                ? xstrdup(json_get_str(p, "state", ""))
                                : xasprintf("%s (%s)", json_get_str(p, "state", ""), health);
                json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s}",
                                                       "Name", json_get_str(p, "id", ""), "Stack",
                                                       json_get_str(p, "stack", ""), "Service",
                                                       json_get_str(p, "service", ""), "Slot",
                                                       json_get_int(p, "slot", 0), "Node",
                                                       json_get_str(p, "node", ""), "State", state,
                                                       "Restarts", json_get_int(p, "restarts", 0),
                                                       "Hash", json_get_str(p, "hash", "")));
        }
        r = fmt_print_list(stdout, format,
                           "table {{.Stack}}\t{{.Service}}\t{{.Slot}}\t{{.Node}}\t{{.State}}\t"
                           "{{.Restarts}}\t{{.Name}}",
                           items, &e);
        return r < 0 ? cli_report(TAKE_PTR(e), EXIT_USAGE) : 0;
}

static int cmd_scale(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth scale [-p NAME | -f FILE] SERVICE=N...\n\n"
                                    "Set the replicas of services of a running stack.\n";
        _cleanup_(stack_args_done) struct stack_args a = {};
        _cleanup_json_ json_t *st = NULL, *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *name = NULL, *path = NULL;
        json_t *model;
        int r;

        r = parse_name_opts(argc, argv, usage, NULL, NULL, NULL, NULL, &a);
        if (r <= 0)
                return -r;
        if (optind >= argc) {
                fprintf(stderr, "berth: scale needs SERVICE=N\n%s", usage);
                return EXIT_USAGE;
        }
        r = stack_name(&a, &name, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        path = stack_path(name, NULL);
        r = client_call(ctx, "GET", path, NULL, &st, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        model = json_object_get(st, "model");
        if (!json_is_object(model)) {
                (void)err_setx(&e, EPROTO, "the daemon sent no model for stack '%s'", name);
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        }
        /* The stored model carries controller records; the controller recomputes them. */
        json_object_del(model, "up");
        for (int i = optind; i < argc; i++)
                if (apply_scale(model, argv[i], &e) < 0)
                        return cli_report(TAKE_PTR(e), EXIT_USAGE);
        body = json_pack("{s:O, s:{}}", "model", model, "options");
        r = client_call(ctx, "PUT", path, body, &res, &e);
        if (r < 0)
                return report(TAKE_PTR(e), r);
        print_plan(res, false);
        return 0;
}

const struct cli_cmd cli_stack_cmds[] = {
        {"up", "create or update a stack (compose file or Kubernetes manifests)", cmd_up},
        {"down", "remove a stack", cmd_down},
        {"ls", "list stacks", cmd_ls},
        {"stack ls", "list stacks", cmd_ls},
        {"stack ps", "list a stack's pods (also: berth ps -p NAME)", cli_stack_ps},
        {"diff", "show what 'up' would change, field by field, changing nothing", cmd_diff},
        {"scale", "set the replicas of a stack's services", cmd_scale},
        {},
};
