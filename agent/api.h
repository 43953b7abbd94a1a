/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "daemon_config.h"
#include "daemon_env.h"
#include "err.h"
#include "http_router.h"
#include "http_server.h"

/* The daemon context (STYLE C12: no globals). Handlers get it as their userdata:
 *     static void h(struct http_req *req, void *userdata) { struct daemon *d = userdata; ... } */
struct ctr_mgr;
struct netmgr;

struct daemon {
        struct daemon_env env; /* first: addons' handlers read it from their userdata */
        const struct daemon_addon *addons;
        size_t n_addons;
        struct ev_loop *loop;
        char *root;             /* --root, default /var/lib/berth */
        char *run;              /* --run, default /run/berth */
        char *listen;           /* --listen ADDR:PORT or NULL */
        char *sock_path;        /* <run>/berth.sock */
        char *pki_dir;          /* <root>/pki */
        char *local_url;        /* unix://<sock_path> */
        int lock_fd;            /* flock on <root>/berth.lock */
        double request_timeout; /* --request-timeout: header timeout, seconds */
        pid_t pid;
        uint64_t started_usec; /* realtime */
        struct http_router *router;
        struct http_server *http;
        ev_signal sigterm, sigint;
        struct event_bus *events; /* `berth events` history and subscribers */
        char *config_path;        /* --config-file, default /etc/berth/daemon.json */
        struct daemon_config config;
        bool log_level_from_flag; /* --log-level wins over the file */
        ev_signal sighup;
        struct metrics *metrics; /* /v1/metrics */
        bool shutting_down;
        struct ctr_mgr *ctrs; /* agent/containers.h */
        /* networking (agent/netd.h): NULL with net_err saying why when it could not start */
        struct netmgr *net;
        struct err *net_err;
        bool net_default_made; /* this start created the default network (undone if it fails) */
        char *net_bip, *net_fixed_cidr;  /* --bip, --fixed-cidr */
        uint32_t net_mtu;                /* --mtu */
        bool net_no_bridge;              /* --bridge none: no default network */
        char **net_pools;                /* --default-address-pool (repeatable) */
        char **insecure_registries_flag; /* --insecure-registry (repeatable) */
        const char *registry_certs_dir;  /* --registry-certs-dir (argv), NULL: default */
        const char *userns_remap_flag;   /* --userns-remap (argv), NULL: daemon.json's */
        /* idle trimming (daemon_trim.c) */
        ev_timer trim_timer;
        uint64_t trim_requests, trim_last_count;
        uint64_t trim_last_cpu_usec; /* the daemon's CPU time at the last tick */
        bool trim_dirty;
};

/* Route groups. Each engineer adds an array in their own agent/api_<group>.c, ended by {}, and
 * one line in api_groups[] in agent/api.c. */
extern const struct http_route api_system_routes[];
extern const struct http_route api_events_routes[];
extern const struct http_route api_images_routes[];
extern const struct http_route api_container_routes[];
extern const struct http_route api_network_routes[];
extern const struct http_route api_volume_routes[];
extern const struct http_route api_build_routes[];
extern const struct http_route api_ctrfs_routes[];
extern const struct http_route api_df_routes[];

/* Registers every group's routes. */
int api_register(struct http_router *r, struct err **errp);

/* Counts the entries of <root>/<sub> (directories when dirs_only). 0 when missing. */
unsigned api_count_entries(const char *root, const char *sub, bool dirs_only);
