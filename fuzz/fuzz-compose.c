/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the compose loader end to end (interpolation, merge keys, extends, profiles,
 * every key parser, validation and hashing). */
#include "fuzz-stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* Inputs that look like Kubernetes are the other target's job. */
        if (size > 64 * 1024 || memmem(data, size, "apiVersion", 10))
                return 0;
        fuzz_stack_load(data, size, NULL);
        return 0;
}
