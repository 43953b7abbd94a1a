/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>

#include "build/dockerfile.h"
#include "cleanup.h"
#include "strv.h"

/* Parses arbitrary text as a Dockerfile, then splits it into stages and expands every
 * instruction with a small variable set: nothing may crash or leak. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        struct df_stages st = {};
        struct df_vars v = {};
        struct err *e = NULL;

        if (size > 65536)
                return 0;
        if (df_parse((const char *)data, size, "Dockerfile", &df, &e) < 0) {
                err_free(e);
                return 0;
        }
        if (df_stages(df, "Dockerfile", NULL, &st, &e) < 0) {
                err_free(e);
                e = NULL;
        } else
                df_stages_done(&st);
        df_vars_set(&v, "A", "a b");
        df_vars_set(&v, "E", "");
        for (size_t i = 0; i < df->n_instrs; i++) {
                char **args = NULL, **flags = NULL;
                if (df_expand_instr(&df->instrs[i], df->escape, &v, &args, &flags, &e) < 0) {
                        err_free(e);
                        e = NULL;
                        continue;
                }
                if (!args)
                        abort();
                strv_free(args);
                strv_free(flags);
        }
        df_vars_done(&v);
        return 0;
}
