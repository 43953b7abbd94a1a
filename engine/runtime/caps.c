/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "macro.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
        [0] = "CAP_CHOWN",
        [1] = "CAP_DAC_OVERRIDE",
        [2] = "CAP_DAC_READ_SEARCH",
        [3] = "CAP_FOWNER",
        [4] = "CAP_FSETID",
        [5] = "CAP_KILL",
        [6] = "CAP_SETGID",
        [7] = "CAP_SETUID",
        [8] = "CAP_SETPCAP",
        [9] = "CAP_LINUX_IMMUTABLE",
        [10] = "CAP_NET_BIND_SERVICE",
        [11] = "CAP_NET_BROADCAST",
        [12] = "CAP_NET_ADMIN",
        [13] = "CAP_NET_RAW",
        [14] = "CAP_IPC_LOCK",
        [15] = "CAP_IPC_OWNER",
        [16] = "CAP_SYS_MODULE",
        [17] = "CAP_SYS_RAWIO",
        [18] = "CAP_SYS_CHROOT",
        [19] = "CAP_SYS_PTRACE",
        [20] = "CAP_SYS_PACCT",
        [21] = "CAP_SYS_ADMIN",
        [22] = "CAP_SYS_BOOT",
        [23] = "CAP_SYS_NICE",
        [24] = "CAP_SYS_RESOURCE",
        [25] = "CAP_SYS_TIME",
        [26] = "CAP_SYS_TTY_CONFIG",
        [27] = "CAP_MKNOD",
        [28] = "CAP_LEASE",
        [29] = "CAP_AUDIT_WRITE",
        [30] = "CAP_AUDIT_CONTROL",
        [31] = "CAP_SETFCAP",
        [32] = "CAP_MAC_OVERRIDE",
        [33] = "CAP_MAC_ADMIN",
        [34] = "CAP_SYSLOG",
        [35] = "CAP_WAKE_ALARM",
        [36] = "CAP_BLOCK_SUSPEND",
        [37] = "CAP_AUDIT_READ",
        [38] = "CAP_PERFMON",
        [39] = "CAP_BPF",
        [40] = "CAP_CHECKPOINT_RESTORE",
};

const int caps_docker_default[] = {
        0 /* CHOWN */,        1 /* DAC_OVERRIDE */, 3 /* FOWNER */,
        4 /* FSETID */,       5 /* KILL */,         6 /* SETGID */,
        7 /* SETUID */,       8 /* SETPCAP */,      10 /* NET_BIND_SERVICE */,
        13 /* NET_RAW */,     18 /* SYS_CHROOT */,  27 /* MKNOD */,
        29 /* AUDIT_WRITE */, 31 /* SETFCAP */,
};
const size_t caps_docker_default_len = ELEMENTSOF(caps_docker_default);

int caps_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (cap_names[i] && strcasecmp(cap_names[i], name) == 0)
                        return (int)i;
        return -EINVAL;
}

const char *caps_to_name(int cap) {
        if (cap < 0 || (size_t)cap >= ELEMENTSOF(cap_names))
                return NULL;
        return cap_names[cap];
}

int caps_last_known(void) {
        return (int)ELEMENTSOF(cap_names) - 1;
}

uint64_t caps_mask(const int *caps, size_t n) {
        uint64_t m = 0;
        for (size_t i = 0; i < n; i++)
                if (caps[i] >= 0 && caps[i] < 64)
                        m |= 1ULL << caps[i];
        return m;
}

int caps_kernel_last(void) {
        int last = 0;
        while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
                last++;
        return last;
}

/* Dropping from the bounding set only removes privileges. The kernel bounds the loop, so
 * capabilities newer than our name table are dropped too. */
int caps_drop_bounding(const struct caps_sets *s, int *ret_cap) {
        uint64_t bounding = caps_mask(s->set[0], s->n[0]);
        int last = caps_kernel_last();

        *ret_cap = -1;
        for (int i = 0; i <= last; i++) {
                if (bounding & (1ULL << i))
                        continue;
                if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL) {
                        *ret_cap = i;
                        return -errno;
                }
        }
        return 0;
}

int caps_set(const struct caps_sets *s, int *ret_cap) {
        uint64_t eff = caps_mask(s->set[1], s->n[1]), inh = caps_mask(s->set[2], s->n[2]);
        uint64_t perm = caps_mask(s->set[3], s->n[3]), amb = caps_mask(s->set[4], s->n[4]);
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct d[2] = {
                {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
                {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
        };
        int last = caps_kernel_last();

        *ret_cap = -1;
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        /* A cap can only be ambient if it is also permitted and inheritable; like crun, an
         * ambient entry without them is skipped (EPERM), not fatal: `crun spec` writes such
         * sets. */
        for (int i = 0; i <= last; i++)
                if ((amb & (1ULL << i)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0 && errno != EPERM) {
                        *ret_cap = i;
                        return -errno;
                }
        return 0;
}
