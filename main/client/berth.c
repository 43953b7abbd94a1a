/* SPDX-License-Identifier: Apache-2.0 */
/* The thin `berth`: the CLI alone, linked against the cli, specs and common layers and a few
 * small libraries (jansson, libyaml, http-parser), talking to the daemon's unix socket through
 * common/uhttp.c. It starts in about a millisecond where the full binary's 55 shared libraries
 * took 7-12 ms. The daemons, and the commands whose code needs libarchive, openssl or libcurl,
 * run in berth-engine (main/main.c): cli_main execs it with the same argv (cli.c,
 * cli_engine_cmds). */
#include "cli.h"
#include "stacks_follow.h"
#include "version.h"

static const struct cli_env thin_env = {
        .http = &http_transport_unix,
        .follow_logs = stack_follow_logs_unix,
};

int main(int argc, char **argv) {
        berth_version = BERTH_VERSION;
        berth_commit = BERTH_COMMIT;
        return cli_main(argc, argv, &thin_env);
}
