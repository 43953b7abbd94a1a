/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

/* One line per group (kept unformatted so that additions merge cleanly). */
/* clang-format off */
static const struct cli_cmd *const cli_groups[] = {
        cli_system_cmds,
        cli_events_cmds,
        cli_stacks_cmds,
        cli_images_cmds,
        cli_container_cmds,
        cli_stack_cmds,
        cli_network_cmds,
        cli_volume_cmds,
        cli_build_cmds,
        cli_stacks_build_cmds,
        cli_node_cmds,
        cli_service_cmds,
        cli_ctrfs_cmds,
        cli_stats_cmds,
        cli_secret_cmds,
};
/* clang-format on */

/* Where a command of cli_engine_cmds runs. */
enum cli_engine_when {
        CLI_ENGINE_ALWAYS, /* always in berth-engine */
        CLI_RUNTIME,       /* in berth-runtime (berth-engine when it is not installed) */
};

/* The commands the thin berth does not run itself: it execs berth-engine with the same argv
 * (`oci`: berth-runtime, main/runtime/). One line per command, with what needs the engine.
 * berth-engine runs the daemons from main/ and the others from cli_env.engine_groups. */
/* clang-format off */
static const struct cli_engine_cmd {
        const char *name;
        const char *summary; /* NULL: listed elsewhere in --help, or hidden */
        enum cli_engine_when when;
} cli_engine_cmds[] = {
        {"daemon", NULL, CLI_ENGINE_ALWAYS},                    /* every library */
        {"agent", NULL, CLI_ENGINE_ALWAYS},                     /* every library */
        {"shim", NULL, CLI_ENGINE_ALWAYS},                      /* started by the daemon */
        {"oci", "OCI runtime commands on a bundle (runc's CLI)", CLI_RUNTIME}, /* engine/ */
        {"cp", "Copy files/folders between a container and the local filesystem", CLI_ENGINE_ALWAYS}, /* libarchive */
        {"container cp", "Copy files/folders between a container and the local filesystem", CLI_ENGINE_ALWAYS},
        {"cert issue", "Issue a client certificate signed by the cluster CA", CLI_ENGINE_ALWAYS}, /* openssl */
        {"cert fingerprint", "Print the cluster CA's sha256 fingerprint", CLI_ENGINE_ALWAYS},
};
/* clang-format on */

#define DEFAULT_HOST "unix:///run/berth/berth.sock"

int cli_report(struct err *e, int exit_code) {
        log_error(NULL, "%s", err_msg(e));
        err_free(e);
        return exit_code;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: berth [OPTIONS] COMMAND [ARGS...]\n\n"
                "A container engine and declarative multi-container orchestrator.\n\n"
                "Options:\n"
                "  -H, --host URL        daemon socket or URL (env BERTH_HOST; default %s)\n"
                "      --format FORMAT   output format: table, json, or a Go-style template\n"
                "      --tlscert FILE    client certificate for https hosts\n"
                "      --tlskey FILE     client key for https hosts\n"
                "      --tlscacert FILE  cluster CA for https hosts\n"
                "      --log-level LVL   error|warn|info|debug\n"
                "  -v, --version         print the version and exit\n"
                "  -h, --help            this help\n\n"
                "Daemons:\n"
                "  daemon                run the controller and the local agent\n"
                "  agent                 join a remote controller as a node (--join, --token)\n\n"
                "Commands:\n",
                DEFAULT_HOST);
        for (size_t g = 0; g < ELEMENTSOF(cli_groups); g++)
                for (const struct cli_cmd *c = cli_groups[g]; c->name; c++)
                        fprintf(f, "  %-20s  %s\n", c->name, c->summary);
        for (size_t k = 0; k < ELEMENTSOF(cli_engine_cmds); k++)
                if (cli_engine_cmds[k].summary)
                        fprintf(f, "  %-20s  %s\n", cli_engine_cmds[k].name,
                                cli_engine_cmds[k].summary);
        fprintf(f, "\nRun 'berth COMMAND --help' for more on a command.\n");
}

/* How many leading words of argv the command name is ("image ls": 2), 0 when they differ. */
static int name_matches(const char *name, int argc, char **argv) {
        int i = 0;

        for (const char *w = name; *w; i++) {
                size_t n = strcspn(w, " ");

                if (i >= argc || strncmp(w, argv[i], n) != 0 || argv[i][n] != '\0')
                        return 0;
                w += n;
                w += strspn(w, " ");
        }
        return i;
}

/* Finds the longest command name matching the leading words of argv ("image ls" before
 * "image") in groups (NULL-terminated). Returns the number of words consumed, 0 when nothing
 * matches. */
static int find_in(const struct cli_cmd *const *groups, size_t n_groups, int argc, char **argv,
                   const struct cli_cmd **ret) {
        int best = 0;

        for (size_t g = 0; g < n_groups && groups[g]; g++)
                for (const struct cli_cmd *c = groups[g]; c->name; c++) {
                        int n = name_matches(c->name, argc, argv);

                        if (n > best) {
                                best = n;
                                *ret = c;
                        }
                }
        return best;
}

/* The cli_engine_cmds entry for argv when the thin berth must hand it over, else NULL. */
static const struct cli_engine_cmd *engine_cmd(int argc, char **argv) {
        const struct cli_engine_cmd *best = NULL;
        int best_n = 0;

        for (size_t k = 0; k < ELEMENTSOF(cli_engine_cmds); k++) {
                int n = name_matches(cli_engine_cmds[k].name, argc, argv);

                if (n > best_n) {
                        best_n = n;
                        best = &cli_engine_cmds[k];
                }
        }
        return best;
}

char *cli_helper_path(const char *name, const char *env_name) {
        const char *env = getenv(env_name);
        char exe[PATH_MAX];
        ssize_t n;
        char *slash;

        if (env && *env)
                return xstrdup(env);
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return NULL;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (!slash)
                return NULL;
        *slash = '\0';
        for (size_t k = 0; k < 2; k++) {
                char *p = xasprintf("%s/%s%s", exe, k == 0 ? "" : "../libexec/berth/", name);

                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

int cli_exec_engine(char **argv) {
        _cleanup_free_ char *path = cli_helper_path("berth-engine", "BERTH_ENGINE");

        /* berth-engine clears it: set again here means BERTH_ENGINE names a thin berth. */
        if (getenv("BERTH_ENGINE_EXEC")) {
                log_error(NULL, "'%s' is not berth-engine (it handed the command back)",
                          path ? path : "?");
                return EXIT_BERTH_FAILED;
        }
        if (!path) {
                log_error(NULL, "berth-engine not found beside this binary or in "
                                "../libexec/berth/ (set BERTH_ENGINE)");
                return EXIT_CANNOT_INVOKE;
        }
        setenv("BERTH_ENGINE_EXEC", "1", 1);
        execv(path, argv);
        log_error(NULL, "Failed to run '%s': %s", path, strerror(errno));
        unsetenv("BERTH_ENGINE_EXEC");
        return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
}

int cli_exec_runtime(int argc, char **argv) {
        _cleanup_free_ char *path = cli_helper_path("berth-runtime", "BERTH_RUNTIME");
        _cleanup_free_ char **args = NULL;

        if (!path)
                return -ENOENT;
        /* berth-runtime takes the `oci` word itself: [path, "oci", ARGS...]. */
        args = xnew0(char *, (size_t)argc + 2);
        args[0] = path;
        for (int k = 0; k < argc; k++)
                args[k + 1] = argv[k];
        execv(path, args);
        log_error(NULL, "Failed to run '%s': %s", path, strerror(errno));
        return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
}

int cli_main(int argc, char **argv, const struct cli_env *env) {
        static const struct option opts[] = {
                {"host", required_argument, NULL, 'H'},
                {"format", required_argument, NULL, 'F'},
                {"tlscert", required_argument, NULL, 'C'},
                {"tlskey", required_argument, NULL, 'K'},
                {"tlscacert", required_argument, NULL, 'A'},
                {"log-level", required_argument, NULL, 'L'},
                {"version", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct cli_ctx ctx = {
                .host = getenv("BERTH_HOST"),
                .progname = "berth",
                .http = env->http,
                .env = env,
        };
        const struct cli_cmd *cmd = NULL;
        char **argv_all = argv;
        int c, n;

        if (!ctx.host || !*ctx.host)
                ctx.host = DEFAULT_HOST;
        log_setup("berth", LOG_FMT_TEXT, LOG_LVL_WARN);

        /* Global options stop at the first non-option word: the command. */
        while ((c = getopt_long(argc, argv, "+H:vh", opts, NULL)) != -1) {
                switch (c) {
                case 'H':
                        ctx.host = optarg;
                        break;
                case 'F':
                        ctx.format = optarg;
                        break;
                case 'C':
                        ctx.tls_cert = optarg;
                        break;
                case 'K':
                        ctx.tls_key = optarg;
                        break;
                case 'A':
                        ctx.tls_ca = optarg;
                        break;
                case 'L': {
                        int l = log_level_from_string(optarg);
                        if (l < 0) {
                                log_error(NULL, "invalid --log-level '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        log_set_level(l);
                        break;
                }
                case 'v':
                        optind = 1;
                        return cli_main(2, (char *[]){argv[0], (char *)"version", NULL}, env);
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        argc -= optind;
        argv += optind;
        if (argc == 0) {
                usage(stderr);
                return EXIT_USAGE;
        }
        /* The thin berth hands over what it has no code for (cli_engine_cmds) and https hosts
         * (TLS is libcurl's, in berth-engine). */
        if (!env->engine) {
                const struct cli_engine_cmd *ec = engine_cmd(argc, argv);

                /* berth-runtime when installed, else berth-engine has the same code. */
                if (ec && ec->when == CLI_RUNTIME) {
                        int r = cli_exec_runtime(argc, argv);

                        if (r != -ENOENT)
                                return r;
                }
                if (ec || (str_startswith(ctx.host, "https://") && !env->http->tls))
                        return cli_exec_engine(argv_all);
        }
        /* `berth ps -p NAME` lists a stack's pods (cli/stacks_up.c); plain `ps` lists containers.
         */
        if (strcmp(argv[0], "ps") == 0 && cli_stack_ps_wanted(argc, argv)) {
                optind = 0;
                return cli_stack_ps(&ctx, argc, argv);
        }
        n = find_in(cli_groups, ELEMENTSOF(cli_groups), argc, argv, &cmd);
        if (env->engine_groups) {
                const struct cli_cmd *ecmd = NULL;
                int en = find_in(env->engine_groups, SIZE_MAX, argc, argv, &ecmd);

                if (en > n) {
                        n = en;
                        cmd = ecmd;
                }
        }
        if (n == 0) {
                log_error(NULL, "unknown command '%s'; see 'berth --help'", argv[0]);
                return EXIT_USAGE;
        }
        /* The command sees its own name as argv[0] and parses the rest with getopt. */
        optind = 0;
        return cmd->fn(&ctx, argc - n + 1, argv + n - 1);
}
