/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/resource.h>

#include "runtime/init.h"

/* Runs in the container's init before the uid switch: raising a hard limit needs
 * CAP_SYS_RESOURCE, which root still has at that point. */
int rt_rlimits_apply(const struct spec_process *p, struct rt_cerr *ce) {
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
                if (setrlimit(p->rlimits[i].resource, &rl) < 0)
                        return rt_cerr_set(ce, errno, "setrlimit %d", p->rlimits[i].resource);
        }
        return 0;
}
