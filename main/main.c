/* SPDX-License-Identifier: Apache-2.0 */
/* The berth multi-call binary: a thin dispatcher (STYLE C1). Long-running roles (daemon, agent,
 * shim, the OCI runtime) have their own entry points; every other word is a client command. */
#include <stdio.h>
#include <string.h>

#include "agent_main.h"
#include "cli.h"
#include "controller.h"
#include "join.h"
#include "daemon.h"
#include "node.h"
#include "pods_engine.h"
#include "shim.h"
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

static const struct role roles[] = {
        {"agent", berth_agent_main},
        {"daemon", berth_daemon_main},
        {"oci", oci_main},
        {"shim", shim_main},
        {},
};

int main(int argc, char **argv) {
        berth_version = BERTH_VERSION;
        berth_commit = BERTH_COMMIT;

        if (argc > 1)
                for (const struct role *r = roles; r->name; r++)
                        if (strcmp(argv[1], r->name) == 0)
                                return r->main(argc - 1, argv + 1);
        return cli_main(argc, argv);
}
