/* SPDX-License-Identifier: Apache-2.0 */
/* `berth oci`: runc/crun-compatible command line over engine/runtime. Errors are reported once,
 * here (STYLE C4). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "oci/oci.h"
#include "runtime/caps.h"
#include "runtime/container.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "strv.h"
#include "xalloc.h"

/* Exit code 2 for bad command lines, as the rest of berth. */
#define EXIT_BERTH_USAGE 2

struct oci_ctx {
        const char *root;
};

static int report(struct err *e, const char *what, const char *id) {
        if (id)
                log_error(id, "Failed to %s '%s': %s", what, id, err_msg(e));
        else
                log_error(NULL, "Failed to %s: %s", what, err_msg(e));
        err_free(e);
        return EXIT_FAILURE;
}

/* Non-fatal problems the runtime collected (failed poststart/poststop hooks). */
static void report_warnings(const struct rt_state *st) {
        STRV_FOREACH (w, st->warnings)
                log_warn(st->id, "%s, ignoring", *w);
}

_printf_(1, 0) static int usage_error(const char *fmt, const char *arg) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        log_error(NULL, fmt, arg ? arg : "");
#pragma GCC diagnostic pop
        return EXIT_BERTH_USAGE;
}

static const char *need_id(int argc, char **argv) {
        if (optind >= argc)
                return NULL;
        return argv[optind];
}

/* Connects to the console socket given by podman/conmon (--console-socket). */
static int connect_console(const char *path, struct err **errp) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return err_setx(errp, ENAMETOOLONG, "--console-socket '%s': path too long", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(errp, errno, "connect to console socket '%s'", path);
        return TAKE_FD(fd);
}

static int parse_signal(const char *s) {
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {
                {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
                {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
                {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
                {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
                {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
                {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
                {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
                {"PWR", SIGPWR},       {"SYS", SIGSYS},
        };
        char *end;
        long v;

        if (str_startswith(s, "SIG"))
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (strcasecmp(sigs[i].name, s) == 0)
                        return sigs[i].sig;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v <= 0 || v >= _NSIG)
                return -EINVAL;
        return (int)v;
}

static int exit_code_of(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return EXIT_FAILURE;
}

/* Forwarding of the caller's signals to the foreground container (run/exec). The one mutable
 * global of this file: a signal handler has no other way to find the pid. */
static volatile sig_atomic_t fwd_pid;

static void forward_signal(int sig) {
        if (fwd_pid > 0)
                (void)kill((pid_t)fwd_pid, sig);
}

static void install_forwarding(pid_t pid) {
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};

        fwd_pid = pid;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void)sigaction(sigs[i], &sa, NULL);
}

enum {
        OPT_BUNDLE = 0x100,
        OPT_PID_FILE,
        OPT_CONSOLE_SOCKET,
        OPT_NO_PIVOT,
        OPT_NO_NEW_KEYRING,
        OPT_PRESERVE_FDS,
        OPT_ALL,
        OPT_FORCE,
        OPT_FORMAT,
        OPT_PROCESS,
        OPT_CWD,
        OPT_ROOTLESS,
        OPT_DETACH,
        OPT_TTY,
        OPT_ENV,
        OPT_USER,
        OPT_KEEP,
};

struct create_args {
        const char *bundle, *pid_file, *console_socket, *id;
        bool detach, keep;
};

static int parse_create_args(int argc, char **argv, bool is_run, struct create_args *a) {
        static const struct option opts[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"pid-file", required_argument, NULL, OPT_PID_FILE},
                {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
                {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
                {"no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING},
                {"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
                {"detach", no_argument, NULL, 'd'},
                {"keep", no_argument, NULL, OPT_KEEP},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        *a = (struct create_args){.bundle = "."};
        optind = 1;
        while ((c = getopt_long(argc, argv, is_run ? "b:dh" : "b:h", opts, NULL)) != -1)
                switch (c) {
                case 'b':
                        a->bundle = optarg;
                        break;
                case OPT_PID_FILE:
                        a->pid_file = optarg;
                        break;
                case OPT_CONSOLE_SOCKET:
                        a->console_socket = optarg;
                        break;
                case OPT_NO_PIVOT:
                        return usage_error("--no-pivot is not supported (pivot_root is always "
                                           "used)%s",
                                           NULL);
                case OPT_NO_NEW_KEYRING:
                        break; /* we never create a session keyring */
                case OPT_PRESERVE_FDS:
                        if (strcmp(optarg, "0") != 0)
                                return usage_error("--preserve-fds '%s': only 0 is supported",
                                                   optarg);
                        break;
                case 'd':
                        a->detach = true;
                        break;
                case OPT_KEEP:
                        a->keep = true;
                        break;
                case 'h':
                        printf("Usage: berth oci %s [--bundle DIR] [--pid-file F] "
                               "[--console-socket S]%s ID\n",
                               is_run ? "run" : "create", is_run ? " [-d|--detach] [--keep]" : "");
                        return -1;
                default:
                        return EXIT_BERTH_USAGE;
                }
        a->id = need_id(argc, argv);
        if (!a->id)
                return usage_error("missing container ID%s", NULL);
        if (optind + 1 < argc)
                return usage_error("unexpected argument '%s'", argv[optind + 1]);
        return 0;
}

static int cmd_create(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_close_ int console = -EBADF;
        struct create_args a;
        struct err *e = NULL;
        int r;

        r = parse_create_args(argc, argv, false, &a);
        if (r != 0)
                return r < 0 ? 0 : r;
        if (a.console_socket) {
                console = connect_console(a.console_socket, &e);
                if (console < 0)
                        return report(e, "create container", a.id);
        }
        r = rt_create(&(struct rt_create_opts){.state_root = ctx->root,
                                               .id = a.id,
                                               .bundle = a.bundle,
                                               .console_fd = console,
                                               .pid_file = a.pid_file},
                      &st, &e);
        if (r < 0)
                return report(e, "create container", a.id);
        return 0;
}

static int load(const struct oci_ctx *ctx, int argc, char **argv, struct rt_state **ret,
                const char *what) {
        struct err *e = NULL;
        const char *id = need_id(argc, argv);

        if (!id)
                return usage_error("missing container ID%s", NULL);
        if (rt_state_load(ctx->root, id, ret, &e) < 0)
                return report(e, what, id);
        return 0;
}

/* Parses only --help and, for commands that have them, a few flags. */
static int simple_opts(int argc, char **argv, const char *usage, bool *force, bool *all,
                       const char **format) {
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {"all", no_argument, NULL, 'a'},
                {"format", required_argument, NULL, OPT_FORMAT},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+fahF:", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        if (!force)
                                return usage_error("unknown option --force%s", NULL);
                        *force = true;
                        break;
                case 'a':
                        if (!all)
                                return usage_error("unknown option --all%s", NULL);
                        *all = true;
                        break;
                case 'F':
                case OPT_FORMAT:
                        if (!format)
                                return usage_error("unknown option --format%s", NULL);
                        *format = optarg;
                        break;
                case 'h':
                        printf("Usage: berth oci %s\n", usage);
                        return -1;
                default:
                        return EXIT_BERTH_USAGE;
                }
        return 0;
}

static int cmd_start(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        struct err *e = NULL;
        int r = simple_opts(argc, argv, "start ID", NULL, NULL, NULL);

        if (r != 0)
                return r < 0 ? 0 : r;
        r = load(ctx, argc, argv, &st, "start container");
        if (r != 0)
                return r;
        if (rt_start(st, &e) < 0)
                return report(e, "start container", st->id);
        report_warnings(st);
        return 0;
}

static int cmd_state(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *s = NULL;
        int r = simple_opts(argc, argv, "state ID", NULL, NULL, NULL);

        if (r != 0)
                return r < 0 ? 0 : r;
        r = load(ctx, argc, argv, &st, "get the state of container");
        if (r != 0)
                return r;
        j = rt_state_to_json(st);
        s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        return 0;
}

static int cmd_kill(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        struct err *e = NULL;
        bool all = false;
        int sig = SIGTERM;
        int r = simple_opts(argc, argv, "kill [--all] ID [SIGNAL]", NULL, &all, NULL);

        if (r != 0)
                return r < 0 ? 0 : r;
        if (optind + 1 < argc) {
                sig = parse_signal(argv[optind + 1]);
                if (sig < 0)
                        return usage_error("unknown signal '%s'", argv[optind + 1]);
        }
        r = load(ctx, argc, argv, &st, "kill container");
        if (r != 0)
                return r;
        if (rt_kill(st, sig, all, &e) < 0)
                return report(e, "kill container", st->id);
        return 0;
}

static int cmd_delete(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        struct err *e = NULL;
        bool force = false;
        int r = simple_opts(argc, argv, "delete [--force] ID", &force, NULL, NULL);

        if (r != 0)
                return r < 0 ? 0 : r;
        if (!need_id(argc, argv))
                return usage_error("missing container ID%s", NULL);
        if (rt_state_load(ctx->root, argv[optind], &st, &e) < 0) {
                /* runc: deleting a missing container with --force succeeds. */
                if (force && e && e->code == ENOENT) {
                        err_free(e);
                        return 0;
                }
                return report(e, "delete container", argv[optind]);
        }
        if (rt_delete(st, force, &e) < 0)
                return report(e, "delete container", st->id);
        report_warnings(st);
        return 0;
}

static int cmd_pause_resume(const struct oci_ctx *ctx, int argc, char **argv, bool pause) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        struct err *e = NULL;
        int r = simple_opts(argc, argv, pause ? "pause ID" : "resume ID", NULL, NULL, NULL);

        if (r != 0)
                return r < 0 ? 0 : r;
        r = load(ctx, argc, argv, &st, pause ? "pause container" : "resume container");
        if (r != 0)
                return r;
        if (rt_pause(st, pause, &e) < 0)
                return report(e, pause ? "pause container" : "resume container", st->id);
        return 0;
}

static int cmd_pause(const struct oci_ctx *ctx, int argc, char **argv) {
        return cmd_pause_resume(ctx, argc, argv, true);
}

static int cmd_resume(const struct oci_ctx *ctx, int argc, char **argv) {
        return cmd_pause_resume(ctx, argc, argv, false);
}

static int cmd_ps(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        const char *format = "table";
        struct err *e = NULL;
        size_t n = 0;
        int r = simple_opts(argc, argv, "ps [--format table|json] ID", NULL, NULL, &format);

        if (r != 0)
                return r < 0 ? 0 : r;
        if (!streq(format, "table") && !streq(format, "json"))
                return usage_error("--format '%s': want table or json", format);
        r = load(ctx, argc, argv, &st, "list processes of container");
        if (r != 0)
                return r;
        if (rt_pids(st, &pids, &n, &e) < 0)
                return report(e, "list processes of container", st->id);
        if (streq(format, "json")) {
                _cleanup_json_ json_t *a = json_array();
                _cleanup_free_ char *s = NULL;
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, json_integer(pids[i]));
                s = json_dumps(a, 0);
                printf("%s\n", s);
                return 0;
        }
        printf("PID\n");
        for (size_t i = 0; i < n; i++)
                printf("%d\n", (int)pids[i]);
        return 0;
}

static int cmd_list(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_strv_ char **ids = NULL;
        const char *format = "table";
        _cleanup_json_ json_t *arr = json_array();
        struct err *e = NULL;
        int r = simple_opts(argc, argv, "list [--format table|json]", NULL, NULL, &format);

        if (r != 0)
                return r < 0 ? 0 : r;
        if (rt_list(ctx->root, &ids, &e) < 0)
                return report(e, "list containers", NULL);
        if (streq(format, "table"))
                printf("%-24s %-8s %-8s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
        STRV_FOREACH (id, ids) {
                _cleanup_(rt_state_freep) struct rt_state *st = NULL;
                json_t *j;
                if (rt_state_load(ctx->root, *id, &st, NULL) < 0)
                        continue;
                j = rt_state_to_json(st);
                if (streq(format, "table"))
                        printf("%-24s %-8lld %-8s %-40s %s\n", st->id,
                               (long long)json_get_int(j, "pid", 0), json_get_str(j, "status", ""),
                               st->bundle, st->created);
                json_array_append_new(arr, j);
        }
        if (!streq(format, "table")) {
                _cleanup_free_ char *s = json_dumps(arr, 0);
                printf("%s\n", s);
        }
        return 0;
}

/* Creates, starts and (unless detached) waits for the container, then deletes it; exits with
 * the container's code (128+N for a signal, as a shell). */
static int cmd_run(const struct oci_ctx *ctx, int argc, char **argv) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_close_pair_ int cs[2] = {-EBADF, -EBADF};
        _cleanup_close_ int console = -EBADF, master = -EBADF;
        _cleanup_(spec_freep) struct spec *spec = NULL;
        _cleanup_free_ char *cfg = NULL;
        struct create_args a;
        struct err *e = NULL;
        int r, status = 0;

        r = parse_create_args(argc, argv, true, &a);
        if (r != 0)
                return r < 0 ? 0 : r;
        cfg = xasprintf("%s/config.json", a.bundle);
        if (spec_load(cfg, &spec, &e) < 0)
                return report(e, "run container", a.id);
        if (a.console_socket) {
                console = connect_console(a.console_socket, &e);
                if (console < 0)
                        return report(e, "run container", a.id);
        } else if (spec->process.terminal) {
                if (a.detach)
                        return usage_error("a detached container with a terminal needs "
                                           "--console-socket%s",
                                           NULL);
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cs) < 0)
                        return report((err_set(&e, errno, "socketpair"), e), "run container", a.id);
                console = TAKE_FD(cs[1]);
        }
        r = rt_create(&(struct rt_create_opts){.state_root = ctx->root,
                                               .id = a.id,
                                               .bundle = a.bundle,
                                               .console_fd = console,
                                               .pid_file = a.pid_file,
                                               .spec = spec},
                      &st, &e);
        console = safe_close(console);
        if (r < 0) {
                /* docker's convention: 127 not found, 126 cannot invoke. */
                int code = e && e->code == ENOENT && strstr(err_msg(e), "exec:")   ? 127
                           : e && e->code == EACCES && strstr(err_msg(e), "exec:") ? 126
                                                                                   : 1;
                report(e, "run container", a.id);
                return code;
        }
        /* start and delete run its poststart/poststop hooks: no second read of the bundle */
        st->spec = TAKE_PTR(spec);
        if (cs[0] >= 0) {
                master = oci_tty_receive_master(cs[0]);
                if (master < 0) {
                        err_set(&e, -master, "receive the container's terminal");
                        (void)rt_delete(st, true, NULL);
                        return report(e, "run container", a.id);
                }
        }
        if (!a.detach)
                install_forwarding(st->pid);
        if (rt_start(st, &e) < 0) {
                (void)rt_delete(st, true, NULL);
                return report(e, "start container", a.id);
        }
        report_warnings(st);
        strv_free(st->warnings);
        st->warnings = NULL;
        if (a.detach)
                return 0;
        if (master >= 0)
                r = oci_tty_proxy_and_wait(master, st->pid, &status);
        else
                r = RETRY_EINTR(waitpid(st->pid, &status, 0)) < 0 ? -errno : 0;
        fwd_pid = 0;
        if (r < 0) {
                err_set(&e, -r, "wait for the container");
                return report(e, "run container", a.id);
        }
        if (!a.keep && rt_delete(st, true, &e) < 0)
                report(e, "delete container", a.id);
        report_warnings(st);
        return exit_code_of(status);
}

static int cmd_exec(const struct oci_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                {"process", required_argument, NULL, 'p'},
                {"tty", no_argument, NULL, 't'},
                {"cwd", required_argument, NULL, OPT_CWD},
                {"env", required_argument, NULL, 'e'},
                {"user", required_argument, NULL, 'u'},
                {"detach", no_argument, NULL, 'd'},
                {"pid-file", required_argument, NULL, OPT_PID_FILE},
                {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
                {"no-new-privs", no_argument, NULL, OPT_NO_NEW_KEYRING},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_(spec_freep) struct spec *spec = NULL;
        _cleanup_strv_ char **extra_env = NULL;
        _cleanup_close_pair_ int cs[2] = {-EBADF, -EBADF};
        _cleanup_close_ int console = -EBADF, master = -EBADF;
        const char *process_file = NULL, *cwd = NULL, *user = NULL, *pid_file = NULL;
        const char *console_socket = NULL;
        struct spec_process proc = {};
        bool tty = false, detach = false, nnp = false;
        struct err *e = NULL;
        _cleanup_free_ char *cfg = NULL;
        pid_t pid;
        int c, r, status = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+p:te:u:dh", opts, NULL)) != -1)
                switch (c) {
                case 'p':
                        process_file = optarg;
                        break;
                case 't':
                        tty = true;
                        break;
                case OPT_CWD:
                        cwd = optarg;
                        break;
                case 'e':
                        if (!strchr(optarg, '='))
                                return usage_error("--env '%s': want NAME=VALUE", optarg);
                        strv_push(&extra_env, optarg);
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'd':
                        detach = true;
                        break;
                case OPT_PID_FILE:
                        pid_file = optarg;
                        break;
                case OPT_CONSOLE_SOCKET:
                        console_socket = optarg;
                        break;
                case OPT_NO_NEW_KEYRING:
                        nnp = true;
                        break;
                case 'h':
                        printf("Usage: berth oci exec [--process FILE] [-t] [-d] [--cwd DIR] "
                               "[-e NAME=VALUE] [-u UID[:GID]] ID [COMMAND ARGS...]\n");
                        return 0;
                default:
                        return EXIT_BERTH_USAGE;
                }
        r = load(ctx, argc, argv, &st, "exec in container");
        if (r != 0)
                return r;
        if (!process_file && optind + 1 >= argc)
                return usage_error("exec needs --process FILE or a command%s", NULL);
        if (process_file) {
                _cleanup_json_ json_t *j = NULL;
                if (json_load_path(process_file, SPEC_MAX_BYTES, &j, &e) < 0 ||
                    spec_process_from_json(j, process_file, &proc, &e) < 0)
                        return report(e, "exec in container", st->id);
        } else {
                /* Start from the container's own process settings. */
                cfg = xasprintf("%s/config.json", st->bundle);
                if (spec_load(cfg, &spec, &e) < 0)
                        return report(e, "exec in container", st->id);
                proc = spec->process;
                memset(&spec->process, 0, sizeof(spec->process));
                strv_free(proc.args);
                proc.args = strv_copy(argv + optind + 1);
                proc.terminal = tty;
                if (cwd) {
                        if (cwd[0] != '/') {
                                spec_process_done(&proc);
                                return usage_error("--cwd '%s' must be absolute", cwd);
                        }
                        free(proc.cwd);
                        proc.cwd = xstrdup(cwd);
                }
                STRV_FOREACH (x, extra_env)
                        strv_push(&proc.env, *x);
                if (user) {
                        unsigned uid, gid;
                        int n = sscanf(user, "%u:%u", &uid, &gid);
                        if (n < 1) {
                                spec_process_done(&proc);
                                return usage_error("--user '%s': want UID[:GID]", user);
                        }
                        proc.user.uid = uid;
                        proc.user.gid = n == 2 ? gid : 0;
                        proc.user.n_additional_gids = 0;
                }
                if (nnp)
                        proc.no_new_privileges = true;
        }
        if (console_socket) {
                console = connect_console(console_socket, &e);
                if (console < 0) {
                        spec_process_done(&proc);
                        return report(e, "exec in container", st->id);
                }
        } else if (proc.terminal) {
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cs) < 0) {
                        spec_process_done(&proc);
                        return report((err_set(&e, errno, "socketpair"), e), "exec", st->id);
                }
                console = TAKE_FD(cs[1]);
        }
        r = rt_exec(st, &(struct rt_exec_opts){.process = &proc, .console_fd = console}, &pid, &e);
        spec_process_done(&proc);
        console = safe_close(console);
        if (r < 0) {
                int code = e && e->code == ENOENT && strstr(err_msg(e), "exec:")   ? 127
                           : e && e->code == EACCES && strstr(err_msg(e), "exec:") ? 126
                                                                                   : 1;
                report(e, "exec in container", st->id);
                return code;
        }
        if (pid_file) {
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
                if (write_file_atomic(pid_file, buf, (size_t)n, 0644, &e) < 0)
                        report(e, "write pid file", st->id);
        }
        if (detach)
                return 0;
        install_forwarding(pid);
        /* start and delete run its poststart/poststop hooks: no second read of the bundle */
        st->spec = TAKE_PTR(spec);
        if (cs[0] >= 0) {
                master = oci_tty_receive_master(cs[0]);
                if (master >= 0)
                        r = oci_tty_proxy_and_wait(master, pid, &status);
                else
                        r = RETRY_EINTR(waitpid(pid, &status, 0)) < 0 ? -errno : 0;
        } else
                r = RETRY_EINTR(waitpid(pid, &status, 0)) < 0 ? -errno : 0;
        fwd_pid = 0;
        if (r < 0) {
                err_set(&e, -r, "wait for the process");
                return report(e, "exec in container", st->id);
        }
        return exit_code_of(status);
}

/* `events --stats ID`: one stats sample in runc's JSON shape. The streaming form (OOM
 * notifications) is not offered. */
static int cmd_events(const struct oci_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                {"stats", no_argument, NULL, 's'},
                {"interval", required_argument, NULL, 'i'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *out = NULL;
        struct cg_stats cs = {};
        struct err *e = NULL;
        bool stats = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
                switch (c) {
                case 's':
                        stats = true;
                        break;
                case 'i':
                        break;
                case 'h':
                        printf("Usage: berth oci events --stats ID\n");
                        return 0;
                default:
                        return EXIT_BERTH_USAGE;
                }
        if (!stats)
                return usage_error("events: only --stats (one sample) is supported%s", NULL);
        r = load(ctx, argc, argv, &st, "get stats of container");
        if (r != 0)
                return r;
        if (!st->cg)
                return report((err_setx(&e, ENOTSUP, "no cgroup"), e), "get stats of container",
                              st->id);
        if (st->cg->ops->stats(st->cg, &cs, &e) < 0)
                return report(e, "get stats of container", st->id);
        j = json_pack("{s:s, s:s, s:{s:{s:{s:I}}, s:{s:{s:I, s:I, s:I}, s:I}, s:{s:I, s:I}}}",
                      "type", "stats", "id", st->id, "data", "cpu", "usage", "total",
                      (json_int_t)cs.cpu_usage_ns, "memory", "usage", "usage",
                      (json_int_t)cs.mem_usage, "limit", (json_int_t)cs.mem_limit, "max",
                      (json_int_t)cs.mem_max_usage, "oom_kill", (json_int_t)cs.oom_kills, "pids",
                      "current", (json_int_t)cs.pids_current, "limit", (json_int_t)cs.pids_limit);
        out = json_dumps(j, JSON_PRESERVE_ORDER);
        printf("%s\n", out);
        return 0;
}

static int cmd_spec(const struct oci_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"rootless", no_argument, NULL, OPT_ROOTLESS},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *bundle = ".";
        bool rootless = false;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *path = NULL, *s = NULL;
        struct err *e = NULL;
        int c;
        (void)ctx;

        optind = 1;
        while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1)
                switch (c) {
                case 'b':
                        bundle = optarg;
                        break;
                case OPT_ROOTLESS:
                        rootless = true;
                        break;
                case 'h':
                        printf("Usage: berth oci spec [--bundle DIR] [--rootless]\n");
                        return 0;
                default:
                        return EXIT_BERTH_USAGE;
                }
        path = xasprintf("%s/config.json", bundle);
        if (access(path, F_OK) == 0)
                return usage_error("'%s' exists: remove it first", path);
        j = spec_default_json(rootless);
        s = json_dumps(j, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
        if (write_file_atomic(path, s, strlen(s), 0644, &e) < 0)
                return report(e, "write", path);
        return 0;
}

static json_t *strv_to_json(const char *const *l) {
        json_t *a = json_array();
        for (; l && *l; l++)
                json_array_append_new(a, json_string(*l));
        return a;
}

static int cmd_features(const struct oci_ctx *ctx, int argc, char **argv) {
        static const char *const mount_opts[] = {
                "async",         "atime",      "bind",      "defaults",   "dev",
                "diratime",      "dirsync",    "exec",      "mand",       "noatime",
                "nodev",         "nodiratime", "noexec",    "nomand",     "norelatime",
                "nostrictatime", "nosuid",     "private",   "rbind",      "relatime",
                "remount",       "ro",         "rprivate",  "rshared",    "rslave",
                "runbindable",   "rw",         "shared",    "slave",      "strictatime",
                "suid",          "sync",       "tmpcopyup", "unbindable", NULL,
        };
        static const char *const ns[] = {"cgroup", "ipc",  "mount", "network",
                                         "pid",    "user", "uts",   NULL};
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *s = NULL;
        json_t *caps = json_array(), *lx;
        (void)ctx;
        (void)argc;
        (void)argv;

        for (int i = 0; i <= caps_last_known(); i++)
                json_array_append_new(caps, json_string(caps_to_name(i)));
        lx = json_pack("{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:{s:b, s:o, s:o, s:o}, s:{s:b}, "
                       "s:{s:b}}",
                       "namespaces", strv_to_json(ns), "capabilities", caps, "cgroup", "v1", 1,
                       "v2", 1, "systemd", 0, "systemdUser", 0, "seccomp", "enabled", 1, "actions",
                       strv_to_json(sc_action_names), "operators", strv_to_json(sc_op_names),
                       "archs", strv_to_json(sc_arch_names), "apparmor", "enabled", 0, "selinux",
                       "enabled", 0);
        j = json_pack("{s:s, s:s, s:[s, s, s, s, s, s], s:o, s:o, s:{s:s}}", "ociVersionMin",
                      "1.0.0", "ociVersionMax", "1.1.0", "hooks", "prestart", "createRuntime",
                      "createContainer", "startContainer", "poststart", "poststop", "mountOptions",
                      strv_to_json(mount_opts), "linux", lx, "annotations", "org.berth.seccomp",
                      "unconfined");
        s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        return 0;
}

struct oci_cmd {
        const char *name, *summary;
        int (*fn)(const struct oci_ctx *ctx, int argc, char **argv);
};

static const struct oci_cmd cmds[] = {
        {"create", "create a container from a bundle (waits for start)", cmd_create},
        {"start", "run the process of a created container", cmd_start},
        {"run", "create and start a container (foreground unless -d)", cmd_run},
        {"state", "print the state of a container as JSON", cmd_state},
        {"kill", "send a signal to a container's init (or --all processes)", cmd_kill},
        {"delete", "delete a stopped container (--force kills it first)", cmd_delete},
        {"exec", "run a process in a running container", cmd_exec},
        {"ps", "list the processes of a container", cmd_ps},
        {"events", "print resource usage (--stats)", cmd_events},
        {"list", "list containers", cmd_list},
        {"pause", "freeze every process of a container", cmd_pause},
        {"resume", "thaw a paused container", cmd_resume},
        {"spec", "write a default config.json", cmd_spec},
        {"features", "print the runtime's features as JSON", cmd_features},
        {},
};

static void usage(FILE *f) {
        fprintf(f, "Usage: berth oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] "
                   "COMMAND ...\n\nAn OCI runtime (runtime-spec 1.1), compatible with runc.\n\n"
                   "Commands:\n");
        for (const struct oci_cmd *c = cmds; c->name; c++)
                fprintf(f, "  %-10s %s\n", c->name, c->summary);
}

int oci_main(int argc, char **argv) {
        static const struct option opts[] = {
                {"root", required_argument, NULL, 'r'},
                {"log", required_argument, NULL, 'l'},
                {"log-format", required_argument, NULL, 'f'},
                {"debug", no_argument, NULL, 'D'},
                {"systemd-cgroup", no_argument, NULL, 's'},
                {"rootless", required_argument, NULL, 'R'},
                {"criu", required_argument, NULL, 'c'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'v'},
                {},
        };
        struct oci_ctx ctx = {.root = RT_DEFAULT_STATE_ROOT};
        enum log_format fmt = LOG_FMT_TEXT;
        enum log_level lvl = LOG_LVL_WARN;
        const char *log_path = NULL;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1)
                switch (c) {
                case 'r':
                        ctx.root = optarg;
                        break;
                case 'l':
                        log_path = optarg;
                        break;
                case 'f':
                        if (streq(optarg, "json"))
                                fmt = LOG_FMT_JSON;
                        else if (!streq(optarg, "text"))
                                return usage_error("--log-format '%s': want text or json", optarg);
                        break;
                case 'D':
                        lvl = LOG_LVL_DEBUG;
                        break;
                case 's':
                        log_error(NULL, "--systemd-cgroup is not supported: berth manages "
                                        "cgroupfs directly (use a path cgroupsPath)");
                        return EXIT_BERTH_USAGE;
                case 'R':
                case 'c':
                        break; /* accepted for compatibility; rootless is detected */
                case 'v':
                        printf("berth oci version 1.1.0 (runtime-spec 1.1.0)\n");
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return EXIT_BERTH_USAGE;
                }
        log_setup("berth oci", fmt, lvl);
        if (log_path) {
                int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (fd < 0) {
                        log_error(NULL, "Failed to open log '%s': %s", log_path, strerror(errno));
                        return EXIT_FAILURE;
                }
                log_set_fd(fd); /* kept open for the life of the command */
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_BERTH_USAGE;
        }
        for (const struct oci_cmd *cmd = cmds; cmd->name; cmd++)
                if (streq(cmd->name, argv[optind]))
                        return cmd->fn(&ctx, argc - optind, argv + optind);
        log_error(NULL, "unknown command '%s' (see 'berth oci --help')", argv[optind]);
        return EXIT_BERTH_USAGE;
}
