/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Restart policies and the per-container supervision state machine (STYLE C16, issue #6).
 *
 * The machine is pure bookkeeping: it starts, signals and times through `struct sv_ops`, which
 * the agent implements with shims and libev timers, and the tests implement with a recorder.
 * Docker's semantics:
 *   no              never restarted
 *   on-failure[:N]  restarted after a non-zero exit, at most N times (0 = no limit)
 *   always          restarted after every exit; a manual stop holds until the daemon restarts
 *   unless-stopped  like always, but a manual stop also holds across daemon restarts
 * Timing: the first restart is immediate, then the delay doubles from 100 ms up to a cap
 * (default 1 min); it resets once an incarnation has stayed up 10 s. */

enum restart_policy {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
        RESTART_UNLESS_STOPPED,
        _RESTART_POLICY_MAX,
        _RESTART_POLICY_INVALID = -EINVAL,
};

struct restart_spec {
        enum restart_policy policy;
        unsigned max_retries; /* on-failure only; 0 = unlimited */
};

#define SV_BACKOFF_START_USEC (100 * 1000ULL)
#define SV_BACKOFF_CAP_USEC (60 * 1000 * 1000ULL)
#define SV_BACKOFF_RESET_USEC (10 * 1000 * 1000ULL)
#define SV_TALLY_MAX 16

/* Parses "no", "on-failure", "on-failure:N", "always", "unless-stopped". */
int restart_spec_parse(const char *s, struct restart_spec *ret, struct err **errp);
/* "on-failure:3" etc.; returns an allocated string. */
char *restart_spec_format(const struct restart_spec *s);
const char *restart_policy_to_string(enum restart_policy p);

/* Whether a container that exited with exit_code should run again. restart_count is how many
 * times it was already restarted. */
bool restart_after_exit(const struct restart_spec *s, int exit_code, unsigned restart_count,
                        bool manually_stopped);
/* Whether the daemon starts the container when it (re)starts: after a reboot or a daemon
 * restart that found the container not running. */
bool restart_on_daemon_start(const struct restart_spec *s, int last_exit_code,
                             unsigned restart_count, bool manually_stopped);

/* SV_STARTING: spawn answered "in progress" (> 0); SV_EV_SPAWNED or SV_EV_SPAWN_FAILED ends it. */
enum sv_state { SV_DOWN, SV_UP, SV_STOPPING, SV_BACKOFF, SV_STARTING, _SV_STATE_MAX };
enum sv_event {
        SV_EV_WANT_UP,      /* start or restart by request */
        SV_EV_WANT_DOWN,    /* stop by request (a manual stop) */
        SV_EV_EXITED,       /* the incarnation ended; sv->exit_* hold the result */
        SV_EV_TIMER,        /* the armed timer fired */
        SV_EV_UNHEALTHY,    /* health checks failed and the policy says restart */
        SV_EV_SPAWNED,      /* an asynchronous spawn reported the incarnation running */
        SV_EV_SPAWN_FAILED, /* an asynchronous spawn failed: an exit with code 125 */
        _SV_EV_MAX,
};

struct sv;

struct sv_ops {
        /* Starts a new incarnation: 0 when it runs, > 0 when it is under way (the caller then
         * dispatches SV_EV_SPAWNED or SV_EV_SPAWN_FAILED), < 0 on failure, which is handled like
         * an exit with code 125. */
        int (*spawn)(struct sv *sv, void *ud);
        /* Sends a signal to the incarnation's processes. */
        int (*signal)(struct sv *sv, int sig, void *ud);
        void (*arm_timer)(struct sv *sv, uint64_t usec, void *ud);
        void (*disarm_timer)(struct sv *sv, void *ud);
        uint64_t (*now_usec)(void *ud);
        /* Notification of lifecycle events: "start", "die", "restart", "kill", "oom", "stop". */
        void (*event)(struct sv *sv, const char *what, void *ud);
};

struct sv_exit {
        uint64_t at_usec;
        int code;
        bool oom;
};

struct sv {
        enum sv_state state;
        struct restart_spec restart;
        bool manually_stopped;
        bool restart_pending; /* a restart was asked (restart command, unhealthy) */
        bool restart_on_unhealthy;
        bool spawn_is_restart; /* the last spawn was a restart (else asked by a user) */
        bool stop_after_start; /* a stop was asked while SV_STARTING */
        int stop_signal;
        uint64_t stop_timeout_usec;

        unsigned restart_count;
        unsigned recent_deaths; /* drives the backoff; reset after 10 s of uptime */
        uint64_t backoff_cap_usec;
        uint64_t started_usec;

        /* Result of the last exit: set by the caller before SV_EV_EXITED. */
        int exit_code;
        bool exit_oom;

        struct sv_exit tally[SV_TALLY_MAX]; /* bounded ring of recent exits (s6 dtally) */
        unsigned tally_head, tally_n;

        const struct sv_ops *ops;
        void *ud;
};

void sv_init(struct sv *sv, const struct restart_spec *restart, const struct sv_ops *ops, void *ud);
void sv_dispatch(struct sv *sv, enum sv_event ev);
/* Whether an exit with exit_code at now, dispatched as SV_EV_EXITED, starts the next incarnation
 * at once (a policy restart without backoff, a `restart` or an unhealthy restart): then what
 * survives the exit (the rootfs mount, the generated files) is kept for it. Changes nothing. */
bool sv_exit_restarts_at_once(const struct sv *sv, int exit_code, uint64_t now);
const char *sv_state_to_string(enum sv_state s);
/* The delay before the next restart after a death at now (updates recent_deaths). */
uint64_t sv_backoff_usec(struct sv *sv, uint64_t now);
