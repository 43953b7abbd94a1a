/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by fuzz-compose.c and fuzz-kube.c: writes the input to a file in a private temporary
 * directory and runs stack_load() on it with an empty environment. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "stack.h"
#include "strv.h"

static inline void fuzz_stack_load(const uint8_t *data, size_t size, const char *prefix) {
        static char dir[] = "/tmp/berth-fuzz.XXXXXX";
        static char path[64];
        char *files[] = {path, NULL}, *env[] = {NULL};
        char **warnings = NULL;
        struct stack_load_opts o = {.files = files, .environ = env, .ret_warnings = &warnings};
        json_t *model = NULL;
        struct err *e = NULL;
        FILE *f;

        if (!path[0]) {
                if (!mkdtemp(dir))
                        abort();
                snprintf(path, sizeof(path), "%s/stack.yaml", dir);
        }
        f = fopen(path, "we");
        if (!f)
                abort();
        if (prefix)
                fputs(prefix, f);
        fwrite(data, 1, size, f);
        fclose(f);
        if (stack_load(&o, &model, &e) == 0) {
                char *h = stack_pod_hash(model);
                free(h);
                json_decref(model);
        } else
                err_free(e);
        strv_free(warnings);
}
