/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What `berth daemon` hands to the parts it hosts without knowing them (dependency inversion:
 * agent/ never includes orchestrator/). main.c passes a list of addons to daemon_run(); each is
 * started after the API socket listens, may register routes on the daemon's router, and is
 * stopped in reverse order at shutdown. Handlers of every route get the daemon context as
 * userdata; its first member is a struct daemon_env, so an addon's handler finds its own state
 * with daemon_env_state(userdata, "name"). */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ev.h>

#include "err.h"

#define DAEMON_ADDONS_MAX 8

struct http_router;
struct daemon_env;

struct daemon_addon {
        const char *name;
        /* Starts the addon on loop; *ret_state is handed back to stop() and found by
         * daemon_env_state(). arg is the addon's own (e.g. the pod runtime a node agent uses).
         * A failure stops the daemon's start. */
        int (*start)(struct ev_loop *loop, const struct daemon_env *env, struct http_router *router,
                     const void *arg, void **ret_state, struct err **errp);
        const void *arg;
        void (*stop)(void *state);
        /* Optional: the daemon is idle; give back memory kept for speed (caches). */
        void (*trim)(void *state);
};

struct daemon_env {
        struct ev_loop *loop;
        const char *root;      /* --root */
        const char *run;       /* --run */
        const char *sock_path; /* <run>/berth.sock */
        const char *local_url; /* "unix://<run>/berth.sock": how local clients reach the API */
        const char *listen;    /* --listen ADDR:PORT, or NULL when there is no remote API */
        double heartbeat_sec;  /* --heartbeat: a node agent's status interval (0: default) */
        double node_grace_sec; /* --node-grace: a silent node is down after this (0: default) */
        uint64_t node_cert_ttl_sec; /* --node-cert-ttl: node certificates' validity (0: 90 d) */
        struct {
                const char *name;
                void *state;
        } addons[DAEMON_ADDONS_MAX];
        size_t n_addons;
};

static inline void *daemon_env_state(const void *env, const char *name) {
        const struct daemon_env *e = env;

        for (size_t i = 0; e && i < e->n_addons; i++)
                if (strcmp(e->addons[i].name, name) == 0)
                        return e->addons[i].state;
        return NULL;
}
