/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "supervise.h"
#include "xalloc.h"

static const char *const policy_names[_RESTART_POLICY_MAX] = {
        [RESTART_NO] = "no",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_ALWAYS] = "always",
        [RESTART_UNLESS_STOPPED] = "unless-stopped",
};

const char *restart_policy_to_string(enum restart_policy p) {
        return p >= 0 && p < _RESTART_POLICY_MAX ? policy_names[p] : "invalid";
}

int restart_spec_parse(const char *s, struct restart_spec *ret, struct err **errp) {
        const char *colon;
        size_t n;

        if (!s || !*s) {
                *ret = (struct restart_spec){.policy = RESTART_NO};
                return 0;
        }
        colon = strchr(s, ':');
        n = colon ? (size_t)(colon - s) : strlen(s);
        for (int p = 0; p < _RESTART_POLICY_MAX; p++) {
                if (strlen(policy_names[p]) != n || strncmp(s, policy_names[p], n) != 0)
                        continue;
                if (colon) {
                        char *end;
                        unsigned long v;

                        if (p != RESTART_ON_FAILURE)
                                return err_setx(errp, EINVAL,
                                                "invalid restart policy '%s': maximum retry "
                                                "count can only be used with 'on-failure'",
                                                s);
                        errno = 0;
                        v = strtoul(colon + 1, &end, 10);
                        if (!colon[1] || *end || errno || v > 1000000 || colon[1] == '-')
                                return err_setx(errp, EINVAL,
                                                "invalid restart policy '%s': bad maximum "
                                                "retry count",
                                                s);
                        *ret = (struct restart_spec){.policy = p, .max_retries = (unsigned)v};
                        return 0;
                }
                *ret = (struct restart_spec){.policy = p};
                return 0;
        }
        return err_setx(errp, EINVAL,
                        "invalid restart policy '%s': expected no, on-failure[:N], always or "
                        "unless-stopped",
                        s);
}

char *restart_spec_format(const struct restart_spec *s) {
        if (s->policy == RESTART_ON_FAILURE && s->max_retries > 0)
                return xasprintf("on-failure:%u", s->max_retries);
        return xstrdup(restart_policy_to_string(s->policy));
}

bool restart_after_exit(const struct restart_spec *s, int exit_code, unsigned restart_count,
                        bool manually_stopped) {
        if (manually_stopped)
                return false;
        switch (s->policy) {
        case RESTART_ALWAYS:
        case RESTART_UNLESS_STOPPED:
                return true;
        case RESTART_ON_FAILURE:
                return exit_code != 0 && (s->max_retries == 0 || restart_count < s->max_retries);
        case RESTART_NO:
        default:
                return false;
        }
}

bool restart_on_daemon_start(const struct restart_spec *s, int last_exit_code,
                             unsigned restart_count, bool manually_stopped) {
        switch (s->policy) {
        case RESTART_ALWAYS:
                /* docker: a manually stopped "always" container comes back with the daemon */
                return true;
        case RESTART_UNLESS_STOPPED:
                return !manually_stopped;
        case RESTART_ON_FAILURE:
                return !manually_stopped && last_exit_code != 0 &&
                       (s->max_retries == 0 || restart_count < s->max_retries);
        case RESTART_NO:
        default:
                return false;
        }
}

static const char *const state_names[_SV_STATE_MAX] = {
        [SV_DOWN] = "down",         [SV_UP] = "up",
        [SV_STOPPING] = "stopping", [SV_BACKOFF] = "backoff",
        [SV_STARTING] = "starting",
};

const char *sv_state_to_string(enum sv_state s) {
        return s >= 0 && s < _SV_STATE_MAX ? state_names[s] : "invalid";
}

void sv_init(struct sv *sv, const struct restart_spec *restart, const struct sv_ops *ops,
             void *ud) {
        *sv = (struct sv){
                .state = SV_DOWN,
                .restart = *restart,
                .stop_signal = SIGTERM,
                .stop_timeout_usec = 10 * 1000 * 1000ULL,
                .backoff_cap_usec = SV_BACKOFF_CAP_USEC,
                .ops = ops,
                .ud = ud,
        };
}

uint64_t sv_backoff_usec(struct sv *sv, uint64_t now) {
        unsigned shift;

        if (sv->started_usec && now >= sv->started_usec &&
            now - sv->started_usec >= SV_BACKOFF_RESET_USEC)
                sv->recent_deaths = 0;
        sv->recent_deaths++;
        if (sv->recent_deaths <= 1)
                return 0;
        shift = MIN(sv->recent_deaths - 2, 20u);
        return MIN(SV_BACKOFF_START_USEC << shift, sv->backoff_cap_usec);
}

static void record_exit(struct sv *sv, uint64_t now) {
        unsigned slot = (sv->tally_head + sv->tally_n) % SV_TALLY_MAX;

        if (sv->tally_n == SV_TALLY_MAX) {
                slot = sv->tally_head;
                sv->tally_head = (sv->tally_head + 1) % SV_TALLY_MAX;
        } else
                sv->tally_n++;
        sv->tally[slot] =
                (struct sv_exit){.at_usec = now, .code = sv->exit_code, .oom = sv->exit_oom};
        if (sv->exit_oom)
                sv->ops->event(sv, "oom", sv->ud);
        sv->ops->event(sv, "die", sv->ud);
}

static void sv_exited_after_spawn_failure(struct sv *sv);

/* Starts an incarnation. A spawn failure is an exit with 125: after a restart it follows the
 * policy; a start asked by a user (docker start) is reported to them and not retried. */
static void do_spawn(struct sv *sv, bool is_restart) {
        int r;

        sv->spawn_is_restart = is_restart;
        sv->started_usec = sv->ops->now_usec(sv->ud);
        sv->restart_pending = false;
        r = sv->ops->spawn(sv, sv->ud);
        if (r < 0) {
                sv->state = SV_UP;
                sv->exit_code = 125;
                sv->exit_oom = false;
                sv_exited_after_spawn_failure(sv);
                return;
        }
        if (r > 0) {
                sv->state = SV_STARTING;
                return;
        }
        sv->state = SV_UP;
        sv->ops->event(sv, is_restart ? "restart" : "start", sv->ud);
}

static void on_exit_decide(struct sv *sv) {
        uint64_t now = sv->ops->now_usec(sv->ud), delay;
        bool again =
                sv->restart_pending || restart_after_exit(&sv->restart, sv->exit_code,
                                                          sv->restart_count, sv->manually_stopped);

        record_exit(sv, now);
        if (!again) {
                sv->state = SV_DOWN;
                return;
        }
        delay = sv->restart_pending ? 0 : sv_backoff_usec(sv, now);
        sv->restart_count++;
        if (delay == 0) {
                do_spawn(sv, true);
                return;
        }
        sv->state = SV_BACKOFF;
        sv->ops->arm_timer(sv, delay, sv->ud);
}

static void sv_exited_after_spawn_failure(struct sv *sv) {
        if (!sv->spawn_is_restart) {
                record_exit(sv, sv->ops->now_usec(sv->ud));
                sv->state = SV_DOWN;
                return;
        }
        on_exit_decide(sv);
}

/* Actions, one per table entry. */
static void act_start(struct sv *sv) {
        sv->manually_stopped = false;
        do_spawn(sv, false);
}

static void act_mark_stopped(struct sv *sv) {
        sv->manually_stopped = true;
}

static void act_stop(struct sv *sv) {
        sv->manually_stopped = true;
        sv->state = SV_STOPPING;
        sv->ops->signal(sv, sv->stop_signal, sv->ud);
        sv->ops->arm_timer(sv, sv->stop_timeout_usec, sv->ud);
}

static void act_restart_running(struct sv *sv) {
        /* restart of a running container: stop it, then start it at once */
        sv->restart_pending = true;
        sv->state = SV_STOPPING;
        sv->ops->signal(sv, sv->stop_signal, sv->ud);
        sv->ops->arm_timer(sv, sv->stop_timeout_usec, sv->ud);
}

static void act_on_exit(struct sv *sv) {
        on_exit_decide(sv);
}

static void act_on_stopped(struct sv *sv) {
        sv->ops->disarm_timer(sv, sv->ud);
        if (sv->restart_pending) {
                sv->manually_stopped = false;
                on_exit_decide(sv);
                return;
        }
        record_exit(sv, sv->ops->now_usec(sv->ud));
        sv->state = SV_DOWN;
        sv->ops->event(sv, "stop", sv->ud);
}

static void act_kill(struct sv *sv) {
        sv->ops->signal(sv, SIGKILL, sv->ud);
        sv->ops->event(sv, "kill", sv->ud);
}

static void act_backoff_done(struct sv *sv) {
        do_spawn(sv, true);
}

static void act_cancel_backoff(struct sv *sv) {
        sv->ops->disarm_timer(sv, sv->ud);
        sv->manually_stopped = true;
        sv->state = SV_DOWN;
}

static void act_start_now(struct sv *sv) {
        sv->ops->disarm_timer(sv, sv->ud);
        sv->manually_stopped = false;
        do_spawn(sv, false);
}

static void act_unhealthy(struct sv *sv) {
        if (!sv->restart_on_unhealthy)
                return;
        sv->restart_pending = true;
        sv->state = SV_STOPPING;
        sv->ops->signal(sv, SIGKILL, sv->ud);
        sv->ops->arm_timer(sv, sv->stop_timeout_usec, sv->ud);
}

/* A stop asked while the spawn is under way: the stop follows once it runs (or is moot). */
static void act_stop_after_start(struct sv *sv) {
        sv->manually_stopped = true;
        sv->stop_after_start = true;
}

static void act_spawned(struct sv *sv) {
        sv->state = SV_UP;
        sv->ops->event(sv, sv->spawn_is_restart ? "restart" : "start", sv->ud);
        if (sv->stop_after_start) {
                sv->stop_after_start = false;
                act_stop(sv);
        }
}

static void act_spawn_failed(struct sv *sv) {
        sv->stop_after_start = false;
        sv->state = SV_UP;
        sv->exit_code = 125;
        sv->exit_oom = false;
        sv_exited_after_spawn_failure(sv);
}

typedef void sv_action_fn(struct sv *sv);

/* NULL = the event is ignored in that state. Review this table, not scattered conditions. */
static sv_action_fn *const sv_actions[_SV_STATE_MAX][_SV_EV_MAX] = {
        [SV_DOWN] = {[SV_EV_WANT_UP] = act_start, [SV_EV_WANT_DOWN] = act_mark_stopped},
        [SV_UP] = {[SV_EV_WANT_UP] = act_restart_running,
                   [SV_EV_WANT_DOWN] = act_stop,
                   [SV_EV_EXITED] = act_on_exit,
                   [SV_EV_UNHEALTHY] = act_unhealthy},
        [SV_STOPPING] = {[SV_EV_EXITED] = act_on_stopped, [SV_EV_TIMER] = act_kill},
        [SV_BACKOFF] = {[SV_EV_WANT_UP] = act_start_now,
                        [SV_EV_WANT_DOWN] = act_cancel_backoff,
                        [SV_EV_TIMER] = act_backoff_done},
        [SV_STARTING] = {[SV_EV_WANT_DOWN] = act_stop_after_start,
                         [SV_EV_SPAWNED] = act_spawned,
                         [SV_EV_SPAWN_FAILED] = act_spawn_failed},
};

void sv_dispatch(struct sv *sv, enum sv_event ev) {
        sv_action_fn *fn;

        if (sv->state < 0 || sv->state >= _SV_STATE_MAX || ev < 0 || ev >= _SV_EV_MAX)
                return;
        fn = sv_actions[sv->state][ev];
        if (fn)
                fn(sv);
}

bool sv_exit_restarts_at_once(const struct sv *sv, int exit_code, uint64_t now) {
        unsigned deaths = sv->recent_deaths;

        if (sv->state == SV_STOPPING)
                return sv->restart_pending;
        if (sv->state != SV_UP)
                return false;
        if (sv->restart_pending)
                return true;
        if (!restart_after_exit(&sv->restart, exit_code, sv->restart_count, sv->manually_stopped))
                return false;
        /* as sv_backoff_usec() will count it */
        if (sv->started_usec && now >= sv->started_usec &&
            now - sv->started_usec >= SV_BACKOFF_RESET_USEC)
                deaths = 0;
        return deaths == 0;
}
