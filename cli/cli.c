/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

/* One line per group (kept unformatted so that additions merge cleanly). */
/* clang-format off */
static const struct cli_cmd *const cli_groups[] = {
        cli_system_cmds,
        cli_cert_cmds,
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
        fprintf(f, "\nRun 'berth COMMAND --help' for more on a command.\n");
}

/* Finds the longest command name matching the leading words of argv ("image ls" before
 * "image"). Returns the number of words consumed, 0 when nothing matches. */
static int find_cmd(int argc, char **argv, const struct cli_cmd **ret) {
        int best = 0;

        for (size_t g = 0; g < ELEMENTSOF(cli_groups); g++)
                for (const struct cli_cmd *c = cli_groups[g]; c->name; c++) {
                        _cleanup_strv_ char **words = strv_split(c->name, " ");
                        int n = (int)strv_length(words), i;

                        if (n > argc || n <= best)
                                continue;
                        for (i = 0; i < n; i++)
                                if (strcmp(words[i], argv[i]) != 0)
                                        break;
                        if (i == n) {
                                best = n;
                                *ret = c;
                        }
                }
        return best;
}

int cli_main(int argc, char **argv) {
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
        };
        const struct cli_cmd *cmd = NULL;
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
                        return cli_main(2, (char *[]){argv[0], (char *)"version", NULL});
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
        /* `berth ps -p NAME` lists a stack's pods (cli/stacks_up.c); plain `ps` lists containers.
         */
        if (strcmp(argv[0], "ps") == 0 && cli_stack_ps_wanted(argc, argv)) {
                optind = 0;
                return cli_stack_ps(&ctx, argc, argv);
        }
        n = find_cmd(argc, argv, &cmd);
        if (n == 0) {
                log_error(NULL, "unknown command '%s'; see 'berth --help'", argv[0]);
                return EXIT_USAGE;
        }
        /* The command sees its own name as argv[0] and parses the rest with getopt. */
        optind = 0;
        return cmd->fn(&ctx, argc - n + 1, argv + n - 1);
}
