/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the config.json parser (and the seccomp profile parser it contains). */
#include <stddef.h>
#include <stdint.h>

#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct spec *s = NULL;
        struct err *e = NULL;

        if (size > SPEC_MAX_BYTES)
                return 0;
        if (spec_parse((const char *)data, size, "config.json", &s, &e) == 0)
                spec_free(s);
        err_free(e);
        return 0;
}
