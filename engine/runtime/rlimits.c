/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/resource.h>

#include "runtime/init.h"
#include "runtime/spec.h"

/* Runs in the container's init before the uid switch: raising a hard limit needs
 * CAP_SYS_RESOURCE, which root still has at that point. */
int rt_rlimits_apply(const struct spec_process *p, struct rt_cerr *ce) {
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
                struct rlimit now = {};

                if (setrlimit(p->rlimits[i].resource, &rl) == 0)
                        continue;
                if (errno == EPERM && getrlimit(p->rlimits[i].resource, &now) == 0)
                        return rt_cerr_set(ce, EPERM,
                                           "process.rlimits: %s hard %llu is above this "
                                           "host's hard limit %llu, which cannot be raised "
                                           "without CAP_SYS_RESOURCE",
                                           spec_rlimit_name(p->rlimits[i].resource),
                                           (unsigned long long)rl.rlim_max,
                                           (unsigned long long)now.rlim_max);
                return rt_cerr_set(ce, errno, "process.rlimits: set %s",
                                   spec_rlimit_name(p->rlimits[i].resource));
        }
        return 0;
}
