/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"
#include "cleanup.h"
#include "json.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif

/* Filled in by main.c, which knows the build's version and commit. */
const char *cli_version = BERTH_VERSION;
const char *cli_commit = "unknown";

static int cmd_version(const struct cli_ctx *ctx, int argc, char **argv) {
        struct utsname u;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("Usage: berth version\n\nShow the berth version information.\n");
                return 0;
        }
        uname(&u);
        if (ctx->format && strcmp(ctx->format, "json") == 0) {
                _cleanup_json_ json_t *j =
                        json_pack("{s:{s:s,s:s,s:s,s:s}}", "Client", "Version", cli_version,
                                  "GitCommit", cli_commit, "Os", "linux", "Arch", u.machine);
                _cleanup_free_ char *s = json_dump_str(j, true);
                fputs(s, stdout);
                return 0;
        }
        printf("Client:\n Version:    %s\n Git commit: %s\n OS/Arch:    linux/%s\n", cli_version,
               cli_commit, u.machine);
        return 0;
}

const struct cli_cmd cli_system_cmds[] = {
        {"version", "Show the berth version information", cmd_version},
        {},
};
