/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include <sys/capability.h>

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
        0 /* CHOWN */,        1 /* DAC_OVERRIDE */, 3 /* FOWNER */,      4 /* FSETID */,
        5 /* KILL */,         6 /* SETGID */,       7 /* SETUID */,      8 /* SETPCAP */,
        10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */, 18 /* SYS_CHROOT */, 27 /* MKNOD */,
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

int caps_keep_over_setuid(struct err **errp) {
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return err_set(errp, errno, "prctl(PR_SET_KEEPCAPS)");
        return 0;
}

/* Runs in the container's init, after mounts and the uid switch and before seccomp. Dropping
 * from the bounding set first is safe: it only removes privileges. The kernel's
 * cap_last_cap bounds the loop, so capabilities newer than our table are dropped too. */
int caps_apply(const struct caps_sets *s, struct err **errp) {
        uint64_t bounding = caps_mask(s->set[0], s->n[0]);
        uint64_t eff = caps_mask(s->set[1], s->n[1]);
        uint64_t inh = caps_mask(s->set[2], s->n[2]);
        uint64_t perm = caps_mask(s->set[3], s->n[3]);
        uint64_t amb = caps_mask(s->set[4], s->n[4]);
        cap_t c;
        int last = 63;

        /* The kernel says which caps exist; the bound loop stops at the first EINVAL. */
        for (int i = 0; i <= last; i++) {
                if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) < 0) {
                        last = i - 1;
                        break;
                }
                if (bounding & (1ULL << i))
                        continue;
                if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
                        return err_set(errp, errno, "drop capability %d from the bounding set",
                                       i);
        }

        c = cap_init();
        if (!c)
                return err_set(errp, errno, "cap_init");
        for (int i = 0; i <= last; i++) {
                cap_value_t v = i;
                if ((eff & (1ULL << i)) && cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
                        goto fail;
                if ((perm & (1ULL << i)) && cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) < 0)
                        goto fail;
                if ((inh & (1ULL << i)) && cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET) < 0)
                        goto fail;
        }
        if (cap_set_proc(c) < 0)
                goto fail;
        cap_free(c);

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return err_set(errp, errno, "clear ambient capabilities");
        for (int i = 0; i <= last; i++)
                if ((amb & (1ULL << i)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
                        return err_set(errp, errno, "raise ambient capability %s",
                                       caps_to_name(i) ? caps_to_name(i) : "?");
        return 0;
fail:;
        int e = errno;
        cap_free(c);
        return err_set(errp, e, "set process capabilities");
}
