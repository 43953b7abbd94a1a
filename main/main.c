/* SPDX-License-Identifier: Apache-2.0 */
/* berth-engine, the full multi-call binary: a thin dispatcher (STYLE C1). Long-running roles
 * (daemon, agent, shim, the OCI runtime) have their own entry points; every other word is a
 * client command, with every command and both transports linked in. The `berth` users run is
 * the thin client (main/client/berth.c), which execs this binary for what it cannot do. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_main.h"
#include "build.h"
#include "cli.h"
#include "controller.h"
#include "http_client.h"
#include "join.h"
#include "daemon.h"
#include "node.h"
#include "pods_engine.h"
#include "shim.h"
#include "stacks_logs.h"
#include "oci/oci.h"
#include "version.h"

struct role {
        const char *name;
        int (*main)(int argc, char **argv);
};

/* `berth daemon` hosts the controller (orchestrator/) without agent/ knowing it, and the local
 * node agent, which joins the controller over the daemon's own socket and runs pods on the
 * container manager. */
static int berth_daemon_main(int argc, char **argv) {
        struct daemon_addon addons[] = {controller_addon, node_addon, cluster_addon};

        addons[1].arg = &pods_engine_ops;
        return daemon_run(argc, argv, addons, ELEMENTSOF(addons));
}

/* `berth agent`: a node of a remote controller (agent/agent_main.c), same pod runtime. */
static int berth_agent_main(int argc, char **argv) {
        return agent_run(argc, argv, &pods_engine_ops);
}

/* `berth-engine oci ...` runs berth-runtime (the same code, linked statically and without
 * this binary's libraries) when it is installed, else the OCI runtime linked in here. */
static int berth_oci_main(int argc, char **argv) {
        int r = cli_exec_runtime(argc, argv);

        if (r != -ENOENT)
                return r;
        return oci_main(argc, argv);
}

static const struct role roles[] = {
        {"agent", berth_agent_main},
        {"daemon", berth_daemon_main},
        {"oci", berth_oci_main},
        {"shim", shim_main},
        {},
};

/* The command groups and hooks whose code needs libarchive, openssl or libcurl: only here. */
static const struct cli_cmd *const engine_groups[] = {cli_cert_cmds, cli_cp_cmds, NULL};
static const struct cli_env engine_env = {
        .http = &http_transport_full,
        .engine = true,
        .engine_groups = engine_groups,
        .tar_context = cli_tar_context,
        .follow_logs = stack_follow_logs,
};

int main(int argc, char **argv) {
        berth_version = BERTH_VERSION;
        berth_commit = BERTH_COMMIT;
        /* Set by the thin berth that exec'd us (cli_exec_engine): our children must not see it. */
        unsetenv("BERTH_ENGINE_EXEC");

        if (argc > 1)
                for (const struct role *r = roles; r->name; r++)
                        if (strcmp(argv[1], r->name) == 0)
                                return r->main(argc - 1, argv + 1);
        return cli_main(argc, argv, &engine_env);
}
