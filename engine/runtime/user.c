/* SPDX-License-Identifier: Apache-2.0 */
/* User namespace maps (parent side) and the uid/gid switch (child side). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "runtime/init.h"
#include "xalloc.h"

static int write_map(pid_t pid, const char *file, const struct spec_idmap *m, size_t n,
                     struct err **errp) {
        char path[64], buf[4096];
        size_t len = 0;
        _cleanup_close_ int fd = -EBADF;

        for (size_t i = 0; i < n; i++) {
                int k = snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
                                 m[i].host_id, m[i].size);
                if (k < 0 || (size_t)k >= sizeof(buf) - len)
                        return err_setx(errp, E2BIG, "%s: too many mappings", file);
                len += (size_t)k;
        }
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", path);
        /* The kernel takes the whole map in a single write. */
        if (write(fd, buf, len) != (ssize_t)len)
                return err_set(errp, errno, "write '%s'", path);
        return 0;
}

int rt_user_write_maps(pid_t pid, const struct spec *spec, bool deny_setgroups, struct err **errp) {
        int r;

        if (deny_setgroups) {
                char path[64];
                _cleanup_close_ int fd = -EBADF;
                snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "deny", 4) != 4)
                        return err_set(errp, errno, "write '%s'", path);
        }
        r = write_map(pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, errp);
        if (r < 0)
                return r;
        return write_map(pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, errp);
}

/* Runs in the container's init: groups first (needs CAP_SETGID), then gid, then uid.
 * PR_SET_KEEPCAPS keeps the permitted set over setuid so that the spec's capabilities can be
 * applied after it. */
int rt_user_switch(const struct spec_user *u, struct rt_cerr *ce) {
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return rt_cerr_set(ce, errno, "prctl(PR_SET_KEEPCAPS)");
        if (setgroups(u->n_additional_gids, u->additional_gids) < 0 &&
            !(errno == EPERM && u->n_additional_gids == 0))
                return rt_cerr_set(ce, errno, "setgroups");
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return rt_cerr_set(ce, errno, "setresgid %u", (unsigned)u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return rt_cerr_set(ce, errno, "setresuid %u", (unsigned)u->uid);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return rt_cerr_set(ce, errno, "prctl(PR_SET_KEEPCAPS, 0)");
        return 0;
}
