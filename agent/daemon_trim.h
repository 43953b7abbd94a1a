/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

struct daemon;

/* Idle trimming: once the daemon has been quiet for a while after some work, it returns its free
 * heap to the kernel (malloc_trim) and drops its resident copy of read-only library and program
 * pages (shim_trim): start-up and one-off paths (OpenSSL's initialisation, sqlite's, the
 * nftables parser) fault in megabytes of code that the idle loop never runs again. The pages
 * stay in the page cache and come back on first use. */
/* Also fixes malloc's mmap and trim thresholds (see daemon_trim.c). */
void daemon_trim_start(struct daemon *d);
void daemon_trim_stop(struct daemon *d);
/* Counts one unit of work (an API request): trimming waits for a quiet period. */
void daemon_trim_activity(struct daemon *d);
