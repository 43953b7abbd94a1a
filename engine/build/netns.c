/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "build/netns.h"
#include "cleanup.h"

/* Made by unsharing the calling thread's network namespace and returning to the old one at once:
 * cheaper than a helper process passing the fd back, and safe because berth's daemons run one
 * thread (STYLE C11; engine/net/nl.c's nl_open_netns does the same). unshare(CLONE_NEWNET) needs
 * CAP_SYS_ADMIN only and touches no other namespace. */
int build_netns_new(struct err **errp) {
        _cleanup_close_ int self = -EBADF;
        int fd;

        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return err_set(errp, errno, "open own network namespace");
        if (unshare(CLONE_NEWNET) < 0)
                return err_set(errp, errno, "create a network namespace for the build");
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int saved = errno;
        /* Returning cannot fail for a namespace we were in a moment ago; staying in the new one
         * would cut the daemon off the network, so this is fatal. */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        if (fd < 0)
                return err_set(errp, saved, "open the build's network namespace");
        return fd;
}
