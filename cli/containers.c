/* SPDX-License-Identifier: Apache-2.0 */
/* Container commands: create, run, start, stop, kill, restart, pause, unpause, rm, wait, ps,
 * inspect, logs, rename, top, exec, port; plus import and images. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "http_request.h"
#include "cli.h"
#include "client.h"
#include "cluster_proxy.h"
#include "fileio.h"
#include "format.h"
#include "json.h"
#include "run_opts.h"
#include "strv.h"
#include "xalloc.h"

/* Runs fn on every operand, printing the operand on success like docker; exit 1 if any failed. */
static int for_each(const struct cli_ctx *ctx, int argc, char **argv, int first, const char *method,
                    const char *suffix, const char *query) {
        int rc = 0;

        for (int i = first; i < argc; i++) {
                _cleanup_free_ char *id = http_escape(argv[i]);
                _cleanup_free_ char *path =
                        xasprintf("/v1/containers/%s%s%s", id, suffix, query ? query : "");
                _cleanup_err_ struct err *e = NULL;
                int r = client_call(ctx, method, path, NULL, NULL, &e);

                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(r));
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return rc;
}

/* Parses the simple options of a command: help plus what the caller lists. Returns the index
 * of the first operand, 0 after --help, or -EXIT_USAGE. */
static int simple_opts(int argc, char **argv, const char *usage, const char *shortopts,
                       const struct option *longopts, int min_operands,
                       void (*on_opt)(int c, const char *arg, void *ud), void *ud) {
        _cleanup_free_ char *so = xasprintf("+h%s", shortopts ? shortopts : "");
        struct option all[16] = {};
        size_t n = 0;
        int c;

        for (; longopts && longopts[n].name && n < ELEMENTSOF(all) - 2; n++)
                all[n] = longopts[n];
        all[n] = (struct option){"help", no_argument, NULL, 'h'};
        optind = 0;
        while ((c = getopt_long(argc, argv, so, all, NULL)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                }
                if (c == '?' || !on_opt) {
                        fputs(usage, stderr);
                        return -EXIT_USAGE;
                }
                on_opt(c, optarg, ud);
        }
        if (argc - optind < min_operands) {
                fprintf(stderr, "berth: '%s' requires at least %d argument%s\n%s", argv[0],
                        min_operands, min_operands == 1 ? "" : "s", usage);
                return -EXIT_USAGE;
        }
        return optind;
}

/* Exit code of a failed start, as docker's: 127 command not found, 126 not executable. */
static int start_exit_code(const struct err *e, int r) {
        const char *m = err_msg(e);

        if (strstr(m, "not found in $PATH") || strstr(m, "no such file or directory") ||
            (strstr(m, "exec") && strstr(m, "No such file")))
                return EXIT_NOT_FOUND;
        if (strstr(m, "ermission denied") || strstr(m, "not executable"))
                return EXIT_CANNOT_INVOKE;
        return r == -ECONNREFUSED ? EXIT_BERTH_FAILED : EXIT_BERTH_FAILED;
}

/* ---- create / run ---- */

static void run_usage(bool is_run) {
        printf("Usage: berth %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
               "%s a container from an image, with docker's flags:\n"
               "  --name, -e/--env, --env-file, -w/--workdir, -u/--user, -h/--hostname,\n"
               "  -l/--label, --entrypoint, -v/--volume, --mount, --tmpfs, --read-only,\n"
               "  -m/--memory, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit,\n"
               "  --blkio-weight, --ulimit, --sysctl, --cap-add, --cap-drop, --privileged,\n"
               "  --security-opt, --network none|host|container:NAME, --restart, --rm,\n"
               "  --stop-signal, --stop-timeout, --log-opt max-size=/max-file=%s\n",
               is_run ? "run" : "create", is_run ? "Run" : "Create", is_run ? ", -d/--detach" : "");
}

/* Parses run/create flags: 1 parsed, 0 after --help, else the exit code (negated). */
static int parse_run(int argc, char **argv, bool is_run, struct run_opts *o) {
        _cleanup_err_ struct err *e = NULL;
        int r = run_opts_parse(argc, argv, is_run, o, &e);

        if (r == -EAGAIN) {
                run_usage(is_run);
                return 0;
        }
        if (r < 0)
                return -cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        return 1;
}

static int do_create(const struct cli_ctx *ctx, struct run_opts *o, char **ret_id) {
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_free_ char *path = NULL, *name = o->name ? http_escape(o->name) : NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        path = name ? xasprintf("/v1/containers?name=%s", name) : xstrdup("/v1/containers");
        r = client_call(ctx, "POST", path, o->body, &ans, &e);
        if (r < 0) {
                if (r == -ENOENT && strstr(err_msg(e), "No such image"))
                        fprintf(stderr, "Unable to find image '%s' locally\n",
                                json_get_str(o->body, "Image", ""));
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        }
        *ret_id = xstrdup(json_get_str(ans, "Id", ""));
        if (o->cidfile) {
                _cleanup_err_ struct err *e2 = NULL;
                if (write_file_atomic(o->cidfile, *ret_id, strlen(*ret_id), 0644, &e2) < 0)
                        return cli_report(TAKE_PTR(e2), EXIT_BERTH_FAILED);
        }
        return 0;
}

static int cmd_create(const struct cli_ctx *ctx, int argc, char **argv) {
        _cleanup_free_ char *id = NULL;
        struct run_opts o = {};
        int r;

        r = parse_run(argc, argv, false, &o);
        if (r <= 0) {
                run_opts_done(&o);
                return -r;
        }
        r = do_create(ctx, &o, &id);
        if (r == 0)
                printf("%s\n", id);
        run_opts_done(&o);
        return r;
}

struct log_sink {
        bool timestamps;
        int exit_code; /* -1 until {"exit":N} */
};

static int on_log_line(const char *line, size_t len, void *ud) {
        struct log_sink *s = ud;
        _cleanup_json_ json_t *j = NULL;
        const char *log;
        FILE *f;

        if (json_parse(line, len, "log line", &j, NULL) < 0)
                return 0;
        if (json_object_get(j, "exit")) {
                s->exit_code = (int)json_get_int(j, "exit", 0);
                return 0;
        }
        if (json_object_get(j, "error")) {
                fprintf(stderr, "berth: %s\n", json_get_str(j, "error", ""));
                return 0;
        }
        log = json_get_str(j, "log", "");
        f = streq(json_get_str(j, "stream", ""), "stderr") ? stderr : stdout;
        if (s->timestamps)
                fprintf(f, "%s ", json_get_str(j, "time", ""));
        fwrite(log, 1, json_string_length(json_object_get(j, "log")), f);
        fflush(f);
        return 0;
}

static int wait_exit(const struct cli_ctx *ctx, const char *id, int *ret_code) {
        _cleanup_free_ char *path = xasprintf("/v1/containers/%s/wait", id);
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r = client_call(ctx, "POST", path, NULL, &ans, &e);

        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        *ret_code = (int)json_get_int(ans, "StatusCode", 0);
        return 0;
}

static void remove_quietly(const struct cli_ctx *ctx, const char *id) {
        _cleanup_free_ char *path = xasprintf("/v1/containers/%s?force=1&v=1", id);
        _cleanup_err_ struct err *e = NULL;

        if (client_call(ctx, "DELETE", path, NULL, NULL, &e) < 0)
                cli_report(TAKE_PTR(e), 0);
}

static int cmd_run(const struct cli_ctx *ctx, int argc, char **argv) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *id = NULL, *path = NULL;
        struct log_sink sink = {.exit_code = -1};
        struct run_opts o = {};
        struct cli_attach *att = NULL;
        bool client_rm;
        int r, code = 0;

        r = parse_run(argc, argv, true, &o);
        if (r <= 0) {
                run_opts_done(&o);
                return -r;
        }
        /* Foreground --rm is done here after the exit code is known; -d --rm by the daemon. */
        client_rm = o.auto_remove && !o.detach;
        if (client_rm) {
                json_t *hc = json_object_get(o.body, "HostConfig");

                json_object_set_new(hc, "AutoRemove", json_false());
                /* removed by us at exit: the daemon mounts its layer volatile (docs/bench.md) */
                json_object_set_new(hc, "BerthEphemeral", json_true());
        }
        r = do_create(ctx, &o, &id);
        if (r != 0)
                goto out;
        if (!o.detach && (o.interactive || o.tty)) {
                /* -i / -t: attach before the start (the daemon holds it until the process
                 * runs), so stdin is there from the beginning and no output is missed. */
                r = cli_attach_open(ctx, id,
                                    &(struct attach_opts){.in = o.interactive,
                                                          .tty = o.tty,
                                                          .detach_keys = o.detach_keys},
                                    &att, &e);
                if (r < 0) {
                        r = cli_report(TAKE_PTR(e), client_exit_code(r));
                        remove_quietly(ctx, id);
                        goto out;
                }
        }
        path = xasprintf("/v1/containers/%s/start", id);
        r = client_call(ctx, "POST", path, NULL, NULL, &e);
        if (r < 0) {
                code = start_exit_code(e, r);
                cli_report(TAKE_PTR(e), 0);
                if (o.auto_remove)
                        remove_quietly(ctx, id);
                cli_attach_free(att);
                r = code;
                goto out;
        }
        if (att) {
                r = cli_attach_relay(ctx, att, &e);
                if (r < 0)
                        cli_report(TAKE_PTR(e), 0);
                if (r == 1) { /* detached: it runs on */
                        r = 0;
                        goto out;
                }
                if (wait_exit(ctx, id, &code) != 0)
                        code = EXIT_BERTH_FAILED;
                if (client_rm)
                        remove_quietly(ctx, id);
                r = code;
                goto out;
        }
        if (o.detach) {
                printf("%s\n", id);
                r = 0;
                goto out;
        }
        free(path);
        path = xasprintf("/v1/containers/%s/logs?follow=1&stdout=1&stderr=1", id);
        r = client_stream(ctx, "GET", path, NULL, on_log_line, &sink, &e);
        if (r < 0)
                cli_report(TAKE_PTR(e), 0);
        if (sink.exit_code >= 0)
                code = sink.exit_code;
        else if (wait_exit(ctx, id, &code) != 0)
                code = EXIT_BERTH_FAILED;
        if (client_rm)
                remove_quietly(ctx, id);
        r = code;
out:
        run_opts_done(&o);
        return r;
}

/* ---- lifecycle ---- */

struct start_opts {
        bool attach, interactive;
        const char *detach_keys;
};

static void start_opt(int c, const char *arg, void *ud) {
        struct start_opts *o = ud;

        if (c == 'a')
                o->attach = true;
        else if (c == 'i')
                o->interactive = true;
        else if (c == 'k')
                o->detach_keys = arg;
}

/* start -a with a console or -i: the attach goes first, then the start (berth-attach). */
static int start_attached(const struct cli_ctx *ctx, const char *name,
                          const struct start_opts *so) {
        _cleanup_free_ char *id = http_escape(name);
        _cleanup_free_ char *path = xasprintf("/v1/containers/%s/json", id);
        _cleanup_json_ json_t *info = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct cli_attach *a = NULL;
        const json_t *cfg;
        int r, code = 0;

        r = client_call(ctx, "GET", path, NULL, &info, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        cfg = json_object_get(info, "Config");
        r = cli_attach_open(ctx, name,
                            &(struct attach_opts){.in = so->interactive &&
                                                        json_get_bool(cfg, "OpenStdin", false),
                                                  .tty = json_get_bool(cfg, "Tty", false),
                                                  .detach_keys = so->detach_keys},
                            &a, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        free(path);
        path = xasprintf("/v1/containers/%s/start", id);
        r = client_call(ctx, "POST", path, NULL, NULL, &e);
        if (r < 0) {
                cli_attach_free(a);
                return cli_report(TAKE_PTR(e), start_exit_code(e, r));
        }
        r = cli_attach_relay(ctx, a, &e);
        if (r < 0)
                cli_report(TAKE_PTR(e), 0);
        if (r == 1)
                return 0;
        if (wait_exit(ctx, id, &code) != 0)
                return EXIT_BERTH_FAILED;
        return code;
}

static int cmd_start(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth start [-a [-i]] CONTAINER...\n\n"
                "Start one or more stopped containers.\n\n"
                "  -a, --attach           stream the output and exit with the container's code "
                "(one container)\n"
                "  -i, --interactive      also forward stdin (a container created with -i)\n"
                "      --detach-keys KEYS the sequence that detaches (default ctrl-p,ctrl-q)\n";
        static const struct option lo[] = {{"attach", no_argument, NULL, 'a'},
                                           {"interactive", no_argument, NULL, 'i'},
                                           {"detach-keys", required_argument, NULL, 'k'},
                                           {}};
        struct start_opts o = {};
        int first = simple_opts(argc, argv, usage, "ai", lo, 1, start_opt, &o);

        if (first <= 0)
                return -first;
        if (o.interactive && !o.attach)
                o.attach = true; /* docker: -i attaches stdin, which needs the attach */
        if (o.attach && argc - first == 1 && (o.interactive || o.detach_keys))
                return start_attached(ctx, argv[first], &o);
        if (o.attach) {
                _cleanup_free_ char *id = http_escape(argv[first]);
                _cleanup_free_ char *path = xasprintf("/v1/containers/%s/start", id);
                _cleanup_err_ struct err *e = NULL;
                struct log_sink sink = {.exit_code = -1};
                int r, code = 0;

                if (argc - first != 1) {
                        fprintf(stderr, "berth: you cannot start and attach multiple containers "
                                        "at once\n");
                        return EXIT_USAGE;
                }
                r = client_call(ctx, "POST", path, NULL, NULL, &e);
                if (r < 0)
                        return cli_report(TAKE_PTR(e), start_exit_code(e, r));
                free(path);
                path = xasprintf("/v1/containers/%s/logs?follow=1&stdout=1&stderr=1&since=%lld", id,
                                 (long long)(realtime_usec() / USEC_PER_SEC - 1));
                if (client_stream(ctx, "GET", path, NULL, on_log_line, &sink, &e) < 0)
                        cli_report(TAKE_PTR(e), 0);
                if (sink.exit_code >= 0)
                        return sink.exit_code;
                if (wait_exit(ctx, id, &code) != 0)
                        return EXIT_BERTH_FAILED;
                return code;
        }
        return for_each(ctx, argc, argv, first, "POST", "/start", NULL);
}

struct time_opt {
        char *query;
        bool bad;
        const char *name;
};

static void time_opt(int c, const char *arg, void *ud) {
        struct time_opt *o = ud;
        char *end;
        long v;

        if (c != 't' && c != 's')
                return;
        if (c == 's') {
                _cleanup_free_ char *s = http_escape(arg);
                free(o->query);
                o->query = xasprintf("?signal=%s", s);
                return;
        }
        v = strtol(arg, &end, 10);
        if (*end || v < 0 || v > 86400) {
                fprintf(stderr, "berth: invalid --time '%s': expected seconds (0-86400)\n", arg);
                o->bad = true;
                return;
        }
        free(o->query);
        o->query = xasprintf("?t=%ld", v);
}

static int stop_like(const struct cli_ctx *ctx, int argc, char **argv, const char *usage,
                     const char *suffix) {
        static const struct option lo[] = {{"time", required_argument, NULL, 't'}, {}};
        struct time_opt o = {};
        int first = simple_opts(argc, argv, usage, "t:", lo, 1, time_opt, &o), r;

        if (first <= 0 || o.bad) {
                free(o.query);
                return first <= 0 ? -first : EXIT_USAGE;
        }
        r = for_each(ctx, argc, argv, first, "POST", suffix, o.query);
        free(o.query);
        return r;
}

static int cmd_stop(const struct cli_ctx *ctx, int argc, char **argv) {
        return stop_like(ctx, argc, argv,
                         "Usage: berth stop [-t SECONDS] CONTAINER...\n\n"
                         "Stop containers: the stop signal, then SIGKILL after the grace time.\n\n"
                         "  -t, --time N   seconds to wait before killing (default 10)\n",
                         "/stop");
}

static int cmd_restart(const struct cli_ctx *ctx, int argc, char **argv) {
        return stop_like(ctx, argc, argv,
                         "Usage: berth restart [-t SECONDS] CONTAINER...\n\n"
                         "Restart containers.\n\n"
                         "  -t, --time N   seconds to wait before killing (default 10)\n",
                         "/restart");
}

static int cmd_kill(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth kill [-s SIGNAL] CONTAINER...\n\n"
                                    "Send a signal (default SIGKILL) to running containers.\n\n"
                                    "  -s, --signal SIG   signal name or number\n";
        static const struct option lo[] = {{"signal", required_argument, NULL, 's'}, {}};
        struct time_opt o = {};
        int first = simple_opts(argc, argv, usage, "s:", lo, 1, time_opt, &o), r;

        if (first <= 0) {
                free(o.query);
                return -first;
        }
        r = for_each(ctx, argc, argv, first, "POST", "/kill", o.query);
        free(o.query);
        return r;
}

#define SIMPLE_CMD(fn, usage_text, method, suffix)                                                 \
        static int fn(const struct cli_ctx *ctx, int argc, char **argv) {                          \
                int first = simple_opts(argc, argv, usage_text, NULL, NULL, 1, NULL, NULL);        \
                if (first <= 0)                                                                    \
                        return -first;                                                             \
                return for_each(ctx, argc, argv, first, method, suffix, NULL);                     \
        }

SIMPLE_CMD(cmd_pause, "Usage: berth pause CONTAINER...\n\nFreeze all processes of containers.\n",
           "POST", "/pause")
SIMPLE_CMD(cmd_unpause, "Usage: berth unpause CONTAINER...\n\nThaw paused containers.\n", "POST",
           "/unpause")

struct rm_opts {
        bool force, volumes;
};

static void rm_opt(int c, const char *arg, void *ud) {
        struct rm_opts *o = ud;

        (void)arg;
        if (c == 'f')
                o->force = true;
        else if (c == 'v')
                o->volumes = true;
}

static int cmd_rm(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth rm [-f] [-v] CONTAINER...\n\n"
                                    "Remove containers.\n\n"
                                    "  -f, --force     kill a running container first\n"
                                    "  -v, --volumes   also remove its anonymous volumes\n";
        static const struct option lo[] = {
                {"force", no_argument, NULL, 'f'}, {"volumes", no_argument, NULL, 'v'}, {}};
        struct rm_opts o = {};
        _cleanup_free_ char *q = NULL;
        int first = simple_opts(argc, argv, usage, "fv", lo, 1, rm_opt, &o);

        if (first <= 0)
                return -first;
        q = xasprintf("?force=%d&v=%d", o.force, o.volumes);
        return for_each(ctx, argc, argv, first, "DELETE", "", q);
}

static int cmd_wait(const struct cli_ctx *ctx, int argc, char **argv) {
        int first = simple_opts(argc, argv,
                                "Usage: berth wait CONTAINER...\n\n"
                                "Block until containers stop, then print their exit codes.\n",
                                NULL, NULL, 1, NULL, NULL);
        int rc = 0;

        if (first <= 0)
                return -first;
        for (int i = first; i < argc; i++) {
                _cleanup_free_ char *id = http_escape(argv[i]);
                int code, r = wait_exit(ctx, id, &code);

                if (r != 0)
                        rc = r;
                else
                        printf("%d\n", code);
        }
        return rc;
}

static int cmd_rename(const struct cli_ctx *ctx, int argc, char **argv) {
        _cleanup_free_ char *id = NULL, *name = NULL, *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        int first = simple_opts(argc, argv,
                                "Usage: berth rename CONTAINER NEW_NAME\n\nRename a container.\n",
                                NULL, NULL, 2, NULL, NULL),
            r;

        if (first <= 0)
                return -first;
        id = http_escape(argv[first]);
        name = http_escape(argv[first + 1]);
        path = xasprintf("/v1/containers/%s/rename?name=%s", id, name);
        r = client_call(ctx, "POST", path, NULL, NULL, &e);
        return r < 0 ? cli_report(TAKE_PTR(e), client_exit_code(r)) : 0;
}

/* ---- ps / inspect / top / port ---- */

struct ps_opts {
        bool all, quiet, no_trunc;
        const char *format;
        json_t *filters;
        bool bad;
};

static void ps_opt(int c, const char *arg, void *ud) {
        struct ps_opts *o = ud;

        switch (c) {
        case 'a':
                o->all = true;
                break;
        case 'q':
                o->quiet = true;
                break;
        case 'T':
                o->no_trunc = true;
                break;
        case 'f': {
                const char *eq = strchr(arg, '=');
                _cleanup_free_ char *k = NULL;
                json_t *arr;

                if (!eq) {
                        fprintf(stderr, "berth: bad format of filter (expected name=value): '%s'\n",
                                arg);
                        o->bad = true;
                        return;
                }
                k = xstrndup(arg, (size_t)(eq - arg));
                arr = json_object_get(o->filters, k);
                if (!arr) {
                        arr = json_array();
                        json_object_set_new(o->filters, k, arr);
                }
                json_array_append_new(arr, json_string(eq + 1));
                break;
        }
        case 'F':
                o->format = arg;
                break;
        default:
                break;
        }
}

static char *ago(int64_t created) {
        int64_t d = (int64_t)(realtime_usec() / USEC_PER_SEC) - created;

        if (d < 60)
                return xasprintf("%lld seconds ago", (long long)MAX(d, 1));
        if (d < 3600)
                return xasprintf("%lld minutes ago", (long long)(d / 60));
        if (d < 86400)
                return xasprintf("%lld hours ago", (long long)(d / 3600));
        return xasprintf("%lld days ago", (long long)(d / 86400));
}

static json_t *ps_row(const json_t *s, bool no_trunc) {
        const char *id = json_get_str(s, "Id", ""), *cmd = json_get_str(s, "Command", "");
        const char *name = json_string_value(json_array_get(json_object_get(s, "Names"), 0));
        _cleanup_free_ char *c = NULL, *created = ago(json_get_int(s, "Created", 0));
        json_t *row;

        if (!no_trunc && strlen(cmd) > 20)
                c = xasprintf("\"%.19s…\"", cmd);
        else
                c = xasprintf("\"%s\"", cmd);
        row = json_pack("{s:s%,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", id,
                        no_trunc ? strlen(id) : MIN(strlen(id), (size_t)12), "Image",
                        json_get_str(s, "Image", ""), "Command", c, "CreatedAt", created, "Status",
                        json_get_str(s, "Status", ""), "Ports", "", "Names",
                        name ? (name[0] == '/' ? name + 1 : name) : "", "State",
                        json_get_str(s, "State", ""));
        json_object_set(row, "Labels", json_object_get(s, "Labels"));
        return row;
}

static int cmd_ps(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth ps [-a] [-q] [--no-trunc] [--filter K=V]... [--format FMT]\n\n"
                "List containers (running ones unless -a).\n\n"
                "  -a, --all          all containers\n"
                "  -q, --quiet        ids only\n"
                "      --no-trunc     full ids and commands\n"
                "  -f, --filter K=V   status=, name=, label=K[=V], id=, exited=\n"
                "      --format FMT   table, json, or a template\n";
        static const struct option lo[] = {
                {"all", no_argument, NULL, 'a'},          {"quiet", no_argument, NULL, 'q'},
                {"no-trunc", no_argument, NULL, 'T'},     {"filter", required_argument, NULL, 'f'},
                {"format", required_argument, NULL, 'F'}, {}};
        _cleanup_json_ json_t *filters = json_object(), *list = NULL, *rows = json_array();
        _cleanup_free_ char *path = NULL, *fenc = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ps_opts o = {.filters = filters, .format = ctx->format};
        int first = simple_opts(argc, argv, usage, "aqf:", lo, 0, ps_opt, &o), r;
        size_t i;
        json_t *v;

        if (first <= 0)
                return -first;
        if (o.bad)
                return EXIT_USAGE;
        if (first < argc) {
                fprintf(stderr, "berth: 'ps' takes no arguments\n%s", usage);
                return EXIT_USAGE;
        }
        {
                _cleanup_free_ char *fs = json_dump_str(filters, false);
                fenc = http_escape(fs);
        }
        path = xasprintf("/v1/containers?all=%d&filters=%s", o.all, fenc);
        r = client_call(ctx, "GET", path, NULL, &list, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        json_array_foreach (list, i, v) {
                if (o.quiet) {
                        const char *id = json_get_str(v, "Id", "");
                        printf("%.*s\n", o.no_trunc ? (int)strlen(id) : 12, id);
                        continue;
                }
                json_array_append_new(rows, ps_row(v, o.no_trunc));
        }
        if (o.quiet)
                return 0;
        if (fmt_print_list(stdout, o.format,
                           "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.CreatedAt}}\\t"
                           "{{.Status}}\\t{{.Ports}}\\t{{.Names}}",
                           rows, &e) < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

static void format_opt(int c, const char *arg, void *ud) {
        if (c == 'f')
                *(const char **)ud = arg;
}

static int cmd_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] = "Usage: berth inspect [-f FORMAT] CONTAINER...\n\n"
                                    "Show the low-level record of containers as JSON.\n\n"
                                    "  -f, --format FMT   a template rendered per container\n";
        static const struct option lo[] = {{"format", required_argument, NULL, 'f'}, {}};
        _cleanup_json_ json_t *all = json_array();
        const char *format = ctx->format;
        int first = simple_opts(argc, argv, usage, "f:", lo, 1, format_opt, &format), rc = 0;

        if (first <= 0)
                return -first;
        for (int i = first; i < argc; i++) {
                _cleanup_free_ char *id = http_escape(argv[i]);
                _cleanup_free_ char *path = xasprintf("/v1/containers/%s/json", id);
                _cleanup_err_ struct err *e = NULL;
                json_t *j = NULL;
                int r = client_call(ctx, "GET", path, NULL, &j, &e);

                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), 1);
                        continue;
                }
                if (format && !streq(format, "json") && !streq(format, "table")) {
                        _cleanup_free_ char *out = NULL;
                        _cleanup_err_ struct err *e2 = NULL;

                        r = fmt_render(format, j, false, &out, &e2);
                        json_decref(j);
                        if (r < 0)
                                return cli_report(TAKE_PTR(e2), EXIT_USAGE);
                        printf("%s\n", out);
                        continue;
                }
                json_array_append_new(all, j);
        }
        if (!format || streq(format, "json") || streq(format, "table")) {
                _cleanup_free_ char *s = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
                printf("%s\n", s);
        }
        return rc;
}

static int cmd_top(const struct cli_ctx *ctx, int argc, char **argv) {
        _cleanup_free_ char *id = NULL, *path = NULL, *text = xstrdup(""), *aligned = NULL;
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        int first = simple_opts(argc, argv,
                                "Usage: berth top CONTAINER\n\nList the processes of a "
                                "container.\n",
                                NULL, NULL, 1, NULL, NULL),
            r;
        size_t i;
        json_t *p;

        if (first <= 0)
                return -first;
        id = http_escape(argv[first]);
        path = xasprintf("/v1/containers/%s/top", id);
        r = client_call(ctx, "GET", path, NULL, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        free(text);
        text = xstrdup("PID\tCMD\n");
        json_array_foreach (json_object_get(ans, "Processes"), i, p) {
                char *n = xasprintf("%s%s\t%s\n", text, json_string_value(json_array_get(p, 0)),
                                    json_string_value(json_array_get(p, 1)));
                free(text);
                text = n;
        }
        aligned = fmt_align(text);
        fputs(aligned, stdout);
        return 0;
}

/* "80/tcp" -> 80 for sorting; keys without a number sort last. */
static int port_key_cmp(const void *a, const void *b) {
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        long px = strtol(x, NULL, 10), py = strtol(y, NULL, 10);

        if (px != py)
                return px < py ? -1 : 1;
        return strcmp(x, y);
}

/* Prints "HOSTIP:HOSTPORT" lines of one container port, with "KEY -> " in front when key is
 * given. Returns how many. */
static size_t port_print(const char *key, const json_t *binds) {
        const json_t *b;
        size_t i, n = 0;

        json_array_foreach (binds, i, b) {
                const char *ip = json_get_str(b, "HostIp", "");
                const char *hp = json_get_str(b, "HostPort", "");

                if (!hp[0])
                        continue;
                if (key)
                        printf("%s -> ", key);
                printf("%s:%s\n", ip[0] ? ip : "0.0.0.0", hp);
                n++;
        }
        return n;
}

/* docker port: the ports actually bound (NetworkSettings.Ports: host ports chosen for -P and
 * -p 80 included) of a running container, all sorted by container port, or those of one
 * PRIVATE_PORT[/PROTO] (tcp by default). */
static int cmd_port(const struct cli_ctx *ctx, int argc, char **argv) {
        _cleanup_free_ char *id = NULL, *path = NULL, *want = NULL;
        _cleanup_free_ const char **keys = NULL;
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_err_ struct err *e = NULL;
        int first = simple_opts(argc, argv,
                                "Usage: berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nList the "
                                "port mappings of a container, or the host addresses of one "
                                "of its ports.\n",
                                NULL, NULL, 1, NULL, NULL),
            r;
        const json_t *ports, *binds;
        const char *key;
        size_t n = 0;

        if (first <= 0)
                return -first;
        if (argc - first > 2) {
                fprintf(stderr, "berth: error: 'port' takes CONTAINER and at most one "
                                "PRIVATE_PORT[/PROTO]\n");
                return EXIT_USAGE;
        }
        if (argc - first == 2) {
                const char *a = argv[first + 1], *slash = strchr(a, '/');
                char *end;
                long v;

                errno = 0;
                v = strtol(a, &end, 10);
                if (errno || end == a || v < 1 || v > 65535 || (*end && end != slash) ||
                    (slash && !streq(slash, "/tcp") && !streq(slash, "/udp") &&
                     !streq(slash, "/sctp"))) {
                        fprintf(stderr,
                                "berth: error: invalid port '%s' (expected PORT[/tcp|udp|sctp], "
                                "PORT 1..65535)\n",
                                a);
                        return EXIT_USAGE;
                }
                want = xasprintf("%ld%s", v, slash ? slash : "/tcp");
        }
        id = http_escape(argv[first]);
        path = xasprintf("/v1/containers/%s/json", id);
        r = client_call(ctx, "GET", path, NULL, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        ports = json_object_get(json_object_get(ans, "NetworkSettings"), "Ports");
        if (want) {
                if (port_print(NULL, json_object_get(ports, want)) == 0) {
                        fprintf(stderr, "berth: error: no public port '%s' published for '%s'\n",
                                want, argv[first]);
                        return EXIT_FAILURE;
                }
                return 0;
        }
        keys = xnew0(const char *, json_object_size(ports) + 1);
        json_object_foreach ((json_t *)ports, key, binds)
                keys[n++] = key;
        qsort_safe(keys, n, sizeof(*keys), port_key_cmp);
        for (size_t i = 0; i < n; i++)
                port_print(keys[i], json_object_get(ports, keys[i]));
        return 0;
}

/* ---- logs ---- */

struct logs_opts {
        bool follow, timestamps;
        char *query;
        bool bad;
};

static void logs_opt(int c, const char *arg, void *ud) {
        struct logs_opts *o = ud;
        _cleanup_free_ char *v = arg ? http_escape(arg) : NULL;
        const char *key = c == 'n' ? "tail" : c == 'S' ? "since" : c == 'U' ? "until" : NULL;

        if (c == 'f')
                o->follow = true;
        else if (c == 't')
                o->timestamps = true;
        else if (key) {
                char *q = xasprintf("%s&%s=%s", o->query, key, v);
                free(o->query);
                o->query = q;
        }
}

static int cmd_logs(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth logs [-f] [-t] [-n N] [--since T] [--until T] CONTAINER\n\n"
                "Show a container's output.\n\n"
                "  -f, --follow       keep streaming until the container stops\n"
                "  -t, --timestamps   prefix each line with its time\n"
                "  -n, --tail N       the last N lines (or 'all')\n"
                "      --since T      from T (RFC 3339, Unix time, or a duration like 10m)\n"
                "      --until T      up to T\n";
        static const struct option lo[] = {
                {"follow", no_argument, NULL, 'f'},      {"timestamps", no_argument, NULL, 't'},
                {"tail", required_argument, NULL, 'n'},  {"since", required_argument, NULL, 'S'},
                {"until", required_argument, NULL, 'U'}, {}};
        struct logs_opts o = {.query = xstrdup("")};
        _cleanup_free_ char *id = NULL, *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct log_sink sink = {.exit_code = -1};
        int first = simple_opts(argc, argv, usage, "ftn:", lo, 1, logs_opt, &o), r;

        if (first <= 0) {
                free(o.query);
                return -first;
        }
        id = http_escape(argv[first]);
        path = xasprintf("/v1/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d%s", id,
                         o.follow, o.timestamps, o.query);
        free(o.query);
        sink.timestamps = o.timestamps;
        r = client_stream(ctx, "GET", path, NULL, on_log_line, &sink, &e);
        if (r == -ENOENT && cluster_may_have(e)) {
                /* Not on this node: another node of the cluster may have it (a follow
                 * streams through the controller's tunnel). */
                err_freep(&e);
                if (o.follow) {
                        struct cli_ctx cctx;

                        cluster_ctx(ctx, argv[first], &cctx);
                        r = client_stream(&cctx, "GET", path, NULL, on_log_line, &sink, &e);
                        r = cluster_fix_err(r, argv[first], &e);
                } else
                        r = cluster_stream(ctx, argv[first], "GET", path, NULL, on_log_line, &sink,
                                           &e);
        }
        return r < 0 ? cli_report(TAKE_PTR(e), client_exit_code(r)) : 0;
}

/* ---- exec ---- */

struct exec_opts {
        json_t *body;
        bool bad;
        const char *detach_keys;
};

static void exec_opt(int c, const char *arg, void *ud) {
        struct exec_opts *o = ud;

        switch (c) {
        case 'd':
                json_object_set_new(o->body, "Detach", json_true());
                break;
        case 'e':
                if (!strchr(arg, '=')) {
                        const char *v = getenv(arg);
                        if (v) {
                                json_array_append_new(json_object_get(o->body, "Env"),
                                                      json_sprintf("%s=%s", arg, v));
                        }
                } else
                        json_array_append_new(json_object_get(o->body, "Env"), json_string(arg));
                break;
        case 'w':
                json_object_set_new(o->body, "WorkingDir", json_string(arg));
                break;
        case 'i': /* berth-attach */
                json_object_set_new(o->body, "AttachStdin", json_true());
                break;
        case 't':
                json_object_set_new(o->body, "Tty", json_true());
                break;
        case 'K':
                o->detach_keys = arg;
                break;
        case 'u':
                json_object_set_new(o->body, "User", json_string(arg));
                break;
        default:
                break;
        }
}

struct exec_sink {
        int code;
};

static int on_exec_line(const char *line, size_t len, void *ud) {
        struct exec_sink *s = ud;
        _cleanup_json_ json_t *j = NULL;
        const json_t *data;

        if (json_parse(line, len, "exec output", &j, NULL) < 0)
                return 0;
        if (json_object_get(j, "ExitCode")) {
                s->code = (int)json_get_int(j, "ExitCode", 0);
                return 0;
        }
        data = json_object_get(j, "data");
        fwrite(json_string_value(data) ?: "", 1, json_string_length(data),
               streq(json_get_str(j, "stream", ""), "stderr") ? stderr : stdout);
        return 0;
}

/* exec -t: docker's create, start (upgraded, raw console) with the terminal's size, the exit
 * code from the exec's inspect. */
static int exec_tty(const struct cli_ctx *ctx, const char *container, const char *path,
                    json_t *body, const char *detach_keys) {
        _cleanup_json_ json_t *created = NULL, *start = NULL, *info = NULL;
        _cleanup_free_ char *ipath = NULL, *esc = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct attach_opts ao = {.in = json_get_bool(body, "AttachStdin", false),
                                 .tty = true,
                                 .detach_keys = detach_keys};
        struct cli_attach *a = NULL;
        struct cli_ctx cctx;
        unsigned h, w;
        int r;

        json_object_set_new(body, "Create", json_true());
        r = client_call(ctx, "POST", path, body, &created, &e);
        if (r == -ENOENT && cluster_may_have(e)) {
                /* On another node: every call of the session goes there (create, start,
                 * resizes, the exit code). */
                err_freep(&e);
                cluster_ctx(ctx, container, &cctx);
                ctx = &cctx;
                r = client_call(ctx, "POST", path, body, &created, &e);
                r = cluster_fix_err(r, container, &e);
        }
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        start = json_object();
        if (cli_attach_console_size(&h, &w))
                json_object_set_new(start, "ConsoleSize", json_pack("[i,i]", (int)h, (int)w));
        if (detach_keys)
                json_object_set_new(start, "DetachKeys", json_string(detach_keys));
        r = cli_attach_open_exec_tty(ctx, json_get_str(created, "Id", ""), start, &ao, &a, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        r = cli_attach_relay(ctx, a, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        if (r == 1)
                return 0; /* detached: the command runs on */
        esc = http_escape(json_get_str(created, "Id", ""));
        ipath = xasprintf("/v1/exec/%s/json", esc);
        r = client_call(ctx, "GET", ipath, NULL, &info, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (!json_is_integer(json_object_get(info, "ExitCode"))) {
                fprintf(stderr, "berth: the exec's output ended before its exit code was known\n");
                return EXIT_BERTH_FAILED;
        }
        return (int)json_get_int(info, "ExitCode", EXIT_BERTH_FAILED);
}

static int cmd_exec(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND "
                "[ARG...]\n\n"
                "Run a command in a running container.\n\n"
                "  -d, --detach             run in the background\n"
                "  -i, --interactive        forward stdin (its EOF closes the command's stdin)\n"
                "  -t, --tty                a console (pty) for the command\n"
                "      --detach-keys KEYS   with -t: the sequence that detaches (ctrl-p,ctrl-q)\n"
                "  -e, --env K=V            set an environment variable\n"
                "  -w, --workdir DIR        working directory\n"
                "  -u, --user USER          user[:group], names or numbers\n";
        static const struct option lo[] = {{"detach", no_argument, NULL, 'd'},
                                           {"interactive", no_argument, NULL, 'i'},
                                           {"tty", no_argument, NULL, 't'},
                                           {"detach-keys", required_argument, NULL, 'K'},
                                           {"env", required_argument, NULL, 'e'},
                                           {"workdir", required_argument, NULL, 'w'},
                                           {"user", required_argument, NULL, 'u'},
                                           {}};
        _cleanup_json_ json_t *body = json_pack("{s:[],s:[]}", "Cmd", "Env");
        struct exec_opts o = {.body = body};
        struct exec_sink sink = {.code = -1};
        _cleanup_free_ char *id = NULL, *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        int first = simple_opts(argc, argv, usage, "dite:w:u:", lo, 2, exec_opt, &o), r;

        if (first <= 0)
                return -first;
        for (int i = first + 1; i < argc; i++)
                json_array_append_new(json_object_get(body, "Cmd"), json_string(argv[i]));
        id = http_escape(argv[first]);
        path = xasprintf("/v1/containers/%s/exec", id);
        if (json_get_bool(body, "Detach", false)) {
                r = client_call(ctx, "POST", path, body, NULL, &e);
                if (r == -ENOENT && cluster_may_have(e)) {
                        struct cli_ctx cctx;

                        err_freep(&e);
                        cluster_ctx(ctx, argv[first], &cctx);
                        r = client_call(&cctx, "POST", path, body, NULL, &e);
                        r = cluster_fix_err(r, argv[first], &e);
                }
                return r < 0 ? cli_report(TAKE_PTR(e), client_exit_code(r)) : 0;
        }
        if (json_get_bool(body, "Tty", false))
                return exec_tty(ctx, argv[first], path, body, o.detach_keys);
        if (json_get_bool(body, "AttachStdin", false)) {
                /* -i: an upgraded connection; the exit code comes as the last record */
                struct cli_attach *a = NULL;
                struct cli_ctx cctx;
                int code = -1;

                r = cli_attach_open_exec(ctx, path, body, &a, &e);
                if (r == -ENOENT && cluster_may_have(e)) {
                        err_freep(&e);
                        cluster_ctx(ctx, argv[first], &cctx);
                        ctx = &cctx;
                        r = cli_attach_open_exec(ctx, path, body, &a, &e);
                        r = cluster_fix_err(r, argv[first], &e);
                }
                if (r >= 0)
                        r = cli_attach_relay_code(ctx, a, &code, &e);
                if (r < 0)
                        return cli_report(TAKE_PTR(e), client_exit_code(r));
                return code >= 0 ? code : EXIT_BERTH_FAILED;
        }
        r = client_stream(ctx, "POST", path, body, on_exec_line, &sink, &e);
        if (r == -ENOENT && cluster_may_have(e)) {
                /* Not on this node: another node of the cluster may have it. */
                err_freep(&e);
                r = cluster_stream(ctx, argv[first], "POST", path, body, on_exec_line, &sink, &e);
        }
        fflush(stdout);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return sink.code >= 0 ? sink.code : EXIT_BERTH_FAILED;
}

/* ---- images: import, images ---- */

struct import_opts_cli {
        json_t *changes;
        const char *message;
};

const struct cli_cmd cli_container_cmds[] = {
        {"create", "Create a container", cmd_create},
        {"run", "Create and start a container", cmd_run},
        {"start", "Start containers", cmd_start},
        {"stop", "Stop containers", cmd_stop},
        {"restart", "Restart containers", cmd_restart},
        {"kill", "Send a signal to containers", cmd_kill},
        {"pause", "Pause containers", cmd_pause},
        {"unpause", "Unpause containers", cmd_unpause},
        {"rm", "Remove containers", cmd_rm},
        {"wait", "Wait for containers to stop, print exit codes", cmd_wait},
        {"rename", "Rename a container", cmd_rename},
        {"ps", "List containers", cmd_ps},
        {"inspect", "Show containers' records", cmd_inspect},
        {"top", "List a container's processes", cmd_top},
        {"port", "List a container's port mappings", cmd_port},
        {"logs", "Show a container's output", cmd_logs},
        {"exec", "Run a command in a running container", cmd_exec},
        {"attach", "Attach stdin and output to a running container", cli_cmd_attach},
        {},
};
