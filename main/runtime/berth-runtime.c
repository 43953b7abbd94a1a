/* SPDX-License-Identifier: Apache-2.0 */
/* build/berth-runtime: the OCI runtime alone (agent/oci/oci.c over engine/runtime/), linked
 * from main + agent/oci + engine + common with libseccomp, libcap and jansson only, statically
 * (libc too) in normal builds: no dynamic loading before the container starts. It takes runc's
 * command line directly (`berth-runtime run ID`, what podman --runtime and dockerd
 * --add-runtime give it) and the `berth oci` form (`berth-runtime oci run ID`), which is what
 * `berth oci ...` and `berth-engine oci ...` exec. */
#include <string.h>

#include "oci/oci.h"
#include "version.h"

int main(int argc, char **argv) {
        berth_version = BERTH_VERSION;
        berth_commit = BERTH_COMMIT;
        if (argc > 1 && strcmp(argv[1], "oci") == 0) {
                argc--;
                argv++;
        }
        return oci_main(argc, argv);
}
