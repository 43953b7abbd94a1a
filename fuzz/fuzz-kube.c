/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the Kubernetes loader: every input is a manifest (a leading apiVersion/kind header
 * keeps the format detection on the Kubernetes side). */
#include "fuzz-stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 64 * 1024)
                return 0;
        fuzz_stack_load(data, size, NULL);
        return 0;
}
