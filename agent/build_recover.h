/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

struct daemon;

/* Builds in progress are noted in <root>/build-tmp/jobs/<pid>.json (the helper's pid, its start
 * time, its process group and its bridge endpoint) from the moment the helper is forked until it
 * is reaped. */
void build_job_record(struct daemon *d, pid_t pid, const char *net_id);
void build_job_forget(struct daemon *d, pid_t pid);

/* At daemon start, before the API serves (so no build of this daemon runs): releases what the
 * builds of a daemon that died (kill -9) left behind. Kills their helpers' process groups and
 * their RUN containers, unmounts every mount under <root>/build-tmp, removes the build's work
 * directories, and disconnects every "build-*" endpoint from the default bridge network (its
 * veth and address; the network namespace went with its last holder). Problems are logged as
 * warnings: a failure here must not keep the daemon from starting. */
void build_recover(struct daemon *d);
