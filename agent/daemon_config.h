/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* /etc/berth/daemon.json (or --config-file): settings read at start and again on SIGHUP.
 * Keys (docker's names where docker has the setting):
 *   "log-level"                 "error" | "warn" | "info" | "debug"           reloadable
 *   "debug"                     true = log-level debug                        reloadable
 *   "insecure-registries"       ["host:port", ...]: plain HTTP pulls/pushes   reloadable
 *   "labels"                    ["key=value", ...]: node labels                reloadable
 *   "max-concurrent-downloads"  layers pulled in parallel (1..64, default 3)   reloadable
 *   "live-restore"              containers keep running when the daemon stops (default true)
 *   "shutdown-timeout"          seconds to wait for in-flight requests at stop (default 15)
 *   "restart-backoff-max-ms"    cap of the restart policy's backoff (default 60000)  reloadable
 *                               for containers (re)loaded or created afterwards
 *   "events-journal-size"       bytes of the event history on disk, <root>/events/ (4096 to
 *                               1 GiB, default 2 MiB; the older half rolls off); at start only
 *   "default-address-pools"     [{"base": "10.10.0.0/16", "size": 24}, ...]: subnets for the
 *                               default network and networks created without --subnet
 *                               (replace docker's defaults); read at start only, the
 *                               --default-address-pool flags win
 * An unknown key or a wrong type is an error naming the file and the key; at start that stops
 * the daemon, on reload the old settings stay. A missing file is an empty configuration. */

#define DAEMON_CONFIG_DEFAULT "/etc/berth/daemon.json"

struct daemon_config {
        int log_level; /* -1: not set */
        char **insecure_registries;
        char **labels;
        unsigned max_concurrent_downloads;
        bool live_restore;
        unsigned shutdown_timeout;
        unsigned restart_backoff_max_ms;
        uint64_t events_journal_size;
        char **default_address_pools; /* "base=CIDR,size=N" each (netd.h) */
        char *userns_remap;           /* "userns-remap": default or USER[:GROUP] (at start only) */
};

void daemon_config_init(struct daemon_config *c);
void daemon_config_done(struct daemon_config *c);
int daemon_config_load(const char *path, struct daemon_config *ret, struct err **errp);
