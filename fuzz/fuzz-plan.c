/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the planner's input parsers (desired model, observed state reported by agents) and the
 * planner itself. Input: desired JSON, a NUL byte, observed JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "exec.h"
#include "json.h"
#include "model.h"
#include "plan.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *sep = memchr(data, 0, size);
        _cleanup_json_ json_t *dj = NULL, *oj = NULL;
        _cleanup_(model_stack_freep) struct model_stack *d = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_free_ char *summary = NULL;
        struct exec_recorder rec = {};
        uint64_t total = 0;

        if (!sep || size > 64 * 1024)
                return 0;
        if (json_parse((const char *)data, (size_t)(sep - data), "desired", &dj, NULL) < 0 ||
            json_parse((const char *)sep + 1, size - (size_t)(sep - data) - 1, "observed", &oj,
                       NULL) < 0)
                return 0;
        if (observed_from_json(oj, &o, NULL) < 0 || model_stack_from_json(dj, &d, NULL) < 0)
                return 0;
        /* Keep each run short: a legal model may ask for 10^5 replicas per service. */
        for (size_t i = 0; i < d->n_services; i++)
                total += d->services[i].replicas;
        if (total > 2000 || o->n_nodes > 200)
                return 0;
        if (plan_compute(d, o, (uint64_t)json_get_int(oj, "now_usec", 0), &p, NULL) < 0)
                return 0;
        summary = plan_summary(&p);
        (void)plan_apply(&p, &exec_recorder_ops, &rec, NULL);
        exec_recorder_done(&rec);
        return 0;
}
