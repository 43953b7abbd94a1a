/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes an agent's status report (the body of PUT /v1/nodes/{id}/status) through node_report()
 * into a memory store, then reads the observed state back the way the planner does. The first
 * byte picks the node id (so reports of several nodes interleave across one input's lines). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "nodes.h"
#include "reconcile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const ids[] = {"n1", "n2", "-bad", "n1.example"};
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        const uint8_t *p = data, *end = data + size;

        if (size > 64 * 1024 || store_open_mem(0, &s, NULL) < 0)
                return 0;
        /* Each line: <id byte><JSON>. */
        while (p < end) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
                const uint8_t *stop = nl ? nl : end;
                _cleanup_json_ json_t *j = NULL;

                if (stop - p > 1 && json_parse((const char *)p + 1, (size_t)(stop - p - 1),
                                               "status", &j, NULL) >= 0)
                        (void)node_report(s, ids[p[0] % 4], j, 1000, NULL);
                p = nl ? nl + 1 : end;
        }
        (void)nodes_reset_reported(s, 2000, NULL);
        (void)observed_from_store(s, &o, NULL);
        return 0;
}
