/* SPDX-License-Identifier: Apache-2.0 */
/* build/berth-shim: `berth shim` as a small static binary (agent/shim.h). The daemon execs it
 * when it sits next to the berth binary: one per running container, so its size matters. */
#include "shim.h"

int main(int argc, char **argv) {
        /* Same argv as `berth shim ...`: argv[1] is "shim". */
        if (argc < 2)
                return 2;
        return shim_main(argc - 1, argv + 1);
}
