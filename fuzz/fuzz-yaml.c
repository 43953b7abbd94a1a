/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the YAML node loader: parsing, alias expansion and merge keys under the limits, path
 * strings of every node, conversion to JSON and emitting back to YAML. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "json.h"
#include "yaml_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct ynode *n) {
        char *p = ynode_path(n);

        free(p);
        for (size_t i = 0; i < n->n_kids; i++)
                walk(n->kids[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct ysrc src = {.file = (char *)"fuzz.yaml", .dir = (char *)"/"};
        struct ynode **docs = NULL;
        struct err *e = NULL;
        size_t n = 0;

        if (yaml_load((const char *)data, size, &src, &docs, &n, &e) < 0) {
                err_free(e);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *j = ynode_to_json(docs[i]);
                char *out = NULL;

                walk(docs[i]);
                if (yaml_emit_json(j, &out, &e) < 0)
                        e = err_free(e);
                free(out);
                json_decref(j);
        }
        ynode_docs_free(docs, n);
        return 0;
}
