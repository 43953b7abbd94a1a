/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "supervise.h"
#include "tap.h"

/* A recording harness: the fake clock and a log of every call the machine makes. */
struct rec {
        uint64_t now;
        char log[4096];
        int spawns;
        bool fail_spawn;
        bool async_spawn; /* spawn answers "under way" */
        uint64_t timer;   /* armed delay, 0 = none */
};

static void rlog(struct rec *r, const char *a, const char *b) {
        strncat(r->log, a, sizeof(r->log) - strlen(r->log) - 1);
        strncat(r->log, b, sizeof(r->log) - strlen(r->log) - 1);
}

static int r_spawn(struct sv *sv, void *ud) {
        struct rec *r = ud;
        (void)sv;
        r->spawns++;
        rlog(r, "spawn ", "");
        return r->fail_spawn ? -ENOENT : r->async_spawn ? 1 : 0;
}
static int r_signal(struct sv *sv, int sig, void *ud) {
        (void)sv;
        rlog(ud, sig == SIGKILL ? "KILL" : sig == SIGTERM ? "TERM" : "SIG", " ");
        return 0;
}
static void r_arm(struct sv *sv, uint64_t usec, void *ud) {
        struct rec *r = ud;
        char b[32];
        (void)sv;
        r->timer = usec;
        snprintf(b, sizeof(b), "arm(%llums) ", (unsigned long long)(usec / 1000));
        rlog(r, b, "");
}
static void r_disarm(struct sv *sv, void *ud) {
        (void)sv;
        ((struct rec *)ud)->timer = 0;
}
static uint64_t r_now(void *ud) {
        return ((struct rec *)ud)->now;
}
static void r_event(struct sv *sv, const char *what, void *ud) {
        (void)sv;
        rlog(ud, "<", what);
        rlog(ud, "> ", "");
}

static const struct sv_ops rec_ops = {
        .spawn = r_spawn,
        .signal = r_signal,
        .arm_timer = r_arm,
        .disarm_timer = r_disarm,
        .now_usec = r_now,
        .event = r_event,
};

static void exit_with(struct sv *sv, struct rec *r, int code, uint64_t after_usec) {
        r->now += after_usec;
        sv->exit_code = code;
        sv->exit_oom = false;
        sv_dispatch(sv, SV_EV_EXITED);
}

static void test_parse(void) {
        struct restart_spec s;
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL;
        _cleanup_free_ char *f = NULL;

        ASSERT_OK(restart_spec_parse("on-failure:3", &s, NULL));
        ASSERT_EQ(s.policy, RESTART_ON_FAILURE);
        ASSERT_EQ(s.max_retries, 3);
        f = restart_spec_format(&s);
        ASSERT_STREQ(f, "on-failure:3");
        ASSERT_OK(restart_spec_parse("unless-stopped", &s, NULL));
        ASSERT_EQ(s.policy, RESTART_UNLESS_STOPPED);
        ASSERT_OK(restart_spec_parse("", &s, NULL));
        ASSERT_EQ(s.policy, RESTART_NO);
        ASSERT_ERR(restart_spec_parse("always:3", &s, &e1), EINVAL);
        ASSERT_ERR(restart_spec_parse("sometimes", &s, &e2), EINVAL);
        ASSERT_ERR(restart_spec_parse("on-failure:x", &s, &e3), EINVAL);
        ASSERT_NOT_NULL(strstr(e2->msg, "sometimes"));
}

static void test_policy_rules(void) {
        struct restart_spec no = {RESTART_NO, 0}, onf = {RESTART_ON_FAILURE, 2},
                            always = {RESTART_ALWAYS, 0}, unless = {RESTART_UNLESS_STOPPED, 0};

        ASSERT_FALSE(restart_after_exit(&no, 1, 0, false));
        ASSERT_TRUE(restart_after_exit(&onf, 1, 1, false));
        ASSERT_FALSE(restart_after_exit(&onf, 1, 2, false));
        ASSERT_FALSE(restart_after_exit(&onf, 0, 0, false));
        ASSERT_TRUE(restart_after_exit(&always, 0, 100, false));
        ASSERT_FALSE(restart_after_exit(&always, 0, 0, true));
        /* daemon start: always comes back even after a manual stop, unless-stopped does not */
        ASSERT_TRUE(restart_on_daemon_start(&always, 0, 0, true));
        ASSERT_FALSE(restart_on_daemon_start(&unless, 0, 0, true));
        ASSERT_TRUE(restart_on_daemon_start(&unless, 0, 0, false));
        ASSERT_FALSE(restart_on_daemon_start(&onf, 0, 0, false));
        ASSERT_TRUE(restart_on_daemon_start(&onf, 3, 0, false));
        ASSERT_FALSE(restart_on_daemon_start(&no, 1, 0, false));
}

static void test_backoff_sequence(void) {
        struct restart_spec always = {RESTART_ALWAYS, 0};
        struct rec r = {.now = 1000};
        struct sv sv;
        uint64_t prev = 0;

        sv_init(&sv, &always, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        ASSERT_EQ(sv.state, SV_UP);
        /* first crash: restarted at once */
        exit_with(&sv, &r, 1, 10);
        ASSERT_EQ(sv.state, SV_UP);
        ASSERT_EQ(r.spawns, 2);
        ASSERT_EQ(sv.restart_count, 1);
        /* later crashes: growing delays from 100 ms, capped */
        for (int i = 0; i < 15; i++) {
                r.timer = 0;
                exit_with(&sv, &r, 1, 10);
                ASSERT_EQ(sv.state, SV_BACKOFF);
                ASSERT_TRUE(r.timer >= prev);
                ASSERT_TRUE(r.timer <= SV_BACKOFF_CAP_USEC);
                if (i == 0)
                        ASSERT_EQ(r.timer, SV_BACKOFF_START_USEC);
                prev = r.timer;
                r.now += r.timer;
                sv_dispatch(&sv, SV_EV_TIMER);
                ASSERT_EQ(sv.state, SV_UP);
        }
        ASSERT_EQ(prev, SV_BACKOFF_CAP_USEC);
        /* an incarnation that stayed up 10 s resets the backoff */
        exit_with(&sv, &r, 1, SV_BACKOFF_RESET_USEC + 1);
        ASSERT_EQ(sv.state, SV_UP);
        ASSERT_EQ(sv.tally_n, SV_TALLY_MAX);
}

static void test_manual_stop_and_kill_after_timeout(void) {
        struct restart_spec always = {RESTART_ALWAYS, 0};
        struct rec r = {.now = 1};
        struct sv sv;

        sv_init(&sv, &always, &rec_ops, &r);
        sv.stop_timeout_usec = 2000000;
        sv_dispatch(&sv, SV_EV_WANT_UP);
        sv_dispatch(&sv, SV_EV_WANT_DOWN);
        ASSERT_EQ(sv.state, SV_STOPPING);
        sv_dispatch(&sv, SV_EV_TIMER);
        exit_with(&sv, &r, 137, 1);
        ASSERT_EQ(sv.state, SV_DOWN);
        ASSERT_TRUE(sv.manually_stopped);
        ASSERT_STREQ(r.log, "spawn <start> TERM arm(2000ms) KILL <kill> <die> <stop> ");
}

static void test_on_failure_limit(void) {
        struct restart_spec onf = {RESTART_ON_FAILURE, 2};
        struct rec r = {.now = 1};
        struct sv sv;

        sv_init(&sv, &onf, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        exit_with(&sv, &r, 3, 1); /* restart 1, immediate */
        ASSERT_EQ(sv.state, SV_UP);
        exit_with(&sv, &r, 3, 1); /* restart 2, after backoff */
        ASSERT_EQ(sv.state, SV_BACKOFF);
        sv_dispatch(&sv, SV_EV_TIMER);
        exit_with(&sv, &r, 3, 1); /* limit reached */
        ASSERT_EQ(sv.state, SV_DOWN);
        ASSERT_EQ(sv.restart_count, 2);
        ASSERT_EQ(r.spawns, 3);
        /* exit 0 does not restart on-failure */
        sv_init(&sv, &onf, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        exit_with(&sv, &r, 0, 1);
        ASSERT_EQ(sv.state, SV_DOWN);
}

static void test_spawn_failure_backs_off(void) {
        struct restart_spec always = {RESTART_ALWAYS, 0};
        struct rec r = {.now = 1, .fail_spawn = true};
        struct sv sv;

        sv_init(&sv, &always, &rec_ops, &r);
        /* a start asked by a user that fails is reported, not retried */
        sv_dispatch(&sv, SV_EV_WANT_UP);
        ASSERT_EQ(sv.state, SV_DOWN);
        ASSERT_EQ(r.spawns, 1);
        ASSERT_EQ(sv.exit_code, 125);
        ASSERT_FALSE(sv.manually_stopped);
        /* restarts that fail: the immediate restart fails, then it waits instead of spinning */
        r.fail_spawn = false;
        sv_dispatch(&sv, SV_EV_WANT_UP);
        ASSERT_EQ(sv.state, SV_UP);
        r.fail_spawn = true;
        exit_with(&sv, &r, 1, 1);
        ASSERT_EQ(sv.state, SV_BACKOFF);
        ASSERT_EQ(r.spawns, 3);
        ASSERT_EQ(sv.exit_code, 125);
        /* a stop during backoff cancels it */
        sv_dispatch(&sv, SV_EV_WANT_DOWN);
        ASSERT_EQ(sv.state, SV_DOWN);
        ASSERT_EQ(r.timer, 0);
}

static void test_unhealthy_restart(void) {
        struct restart_spec no = {RESTART_NO, 0};
        struct rec r = {.now = 1};
        struct sv sv;

        sv_init(&sv, &no, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        sv_dispatch(&sv, SV_EV_UNHEALTHY); /* ignored without the policy */
        ASSERT_EQ(sv.state, SV_UP);
        sv.restart_on_unhealthy = true;
        sv_dispatch(&sv, SV_EV_UNHEALTHY);
        ASSERT_EQ(sv.state, SV_STOPPING);
        exit_with(&sv, &r, 137, 1);
        ASSERT_EQ(sv.state, SV_UP);
        ASSERT_EQ(r.spawns, 2);
        ASSERT_EQ(sv.restart_count, 1);
}

static void test_restart_command(void) {
        struct restart_spec no = {RESTART_NO, 0};
        struct rec r = {.now = 1};
        struct sv sv;

        sv_init(&sv, &no, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        sv_dispatch(&sv, SV_EV_WANT_UP); /* `restart` of a running container */
        ASSERT_EQ(sv.state, SV_STOPPING);
        exit_with(&sv, &r, 143, 1);
        ASSERT_EQ(sv.state, SV_UP);
        ASSERT_FALSE(sv.manually_stopped);
        ASSERT_EQ(r.spawns, 2);
}

static void test_async_spawn(void) {
        struct restart_spec always = {RESTART_ALWAYS, 0};
        struct rec r = {.now = 1, .async_spawn = true};
        struct sv sv;

        sv_init(&sv, &always, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        ASSERT_EQ(sv.state, SV_STARTING);
        sv_dispatch(&sv, SV_EV_WANT_UP); /* a second start while one is under way: nothing */
        sv_dispatch(&sv, SV_EV_EXITED);  /* cannot happen before it runs: ignored */
        ASSERT_EQ(r.spawns, 1);
        sv_dispatch(&sv, SV_EV_SPAWNED);
        ASSERT_EQ(sv.state, SV_UP);
        /* an exit restarts it at once; the restart is under way, then fails: backoff */
        exit_with(&sv, &r, 1, 10);
        ASSERT_EQ(sv.state, SV_STARTING);
        ASSERT_TRUE(sv.spawn_is_restart);
        sv_dispatch(&sv, SV_EV_SPAWN_FAILED);
        ASSERT_EQ(sv.exit_code, 125);
        ASSERT_EQ(sv.state, SV_BACKOFF);
        sv_dispatch(&sv, SV_EV_TIMER);
        ASSERT_EQ(sv.state, SV_STARTING);
        sv_dispatch(&sv, SV_EV_SPAWNED);
        ASSERT_EQ(sv.state, SV_UP);
        ASSERT_STREQ(r.log, "spawn <start> <die> spawn <die> arm(100ms) spawn <restart> ");
}

static void test_stop_while_starting(void) {
        struct restart_spec always = {RESTART_ALWAYS, 0};
        struct rec r = {.now = 1, .async_spawn = true};
        struct sv sv;

        /* the start succeeds: the stop follows it */
        sv_init(&sv, &always, &rec_ops, &r);
        sv.stop_timeout_usec = 1000000;
        sv_dispatch(&sv, SV_EV_WANT_UP);
        sv_dispatch(&sv, SV_EV_WANT_DOWN);
        ASSERT_EQ(sv.state, SV_STARTING);
        sv_dispatch(&sv, SV_EV_SPAWNED);
        ASSERT_EQ(sv.state, SV_STOPPING);
        exit_with(&sv, &r, 143, 1);
        ASSERT_EQ(sv.state, SV_DOWN);
        ASSERT_STREQ(r.log, "spawn <start> TERM arm(1000ms) <die> <stop> ");
        /* the start fails: it stays down, no restart for a stopped container */
        r.log[0] = '\0';
        sv_init(&sv, &always, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        sv_dispatch(&sv, SV_EV_WANT_DOWN);
        sv_dispatch(&sv, SV_EV_SPAWN_FAILED);
        ASSERT_EQ(sv.state, SV_DOWN);
        ASSERT_TRUE(sv.manually_stopped);
        ASSERT_FALSE(sv.stop_after_start);
        ASSERT_STREQ(r.log, "spawn <die> ");
}

/* Exits the incarnation; returns whether sv_exit_restarts_at_once() predicted that the next
 * one is spawned at once, in *ret_spawned whether it was. */
static bool exit_checked(struct sv *sv, struct rec *r, int code, uint64_t after_usec,
                         bool *ret_spawned) {
        bool predicted = sv_exit_restarts_at_once(sv, code, r->now + after_usec);
        int before = r->spawns;

        exit_with(sv, r, code, after_usec);
        *ret_spawned = r->spawns > before;
        return predicted;
}

#define EXIT_AT_ONCE(sv, r, code, after, want)                                                     \
        do {                                                                                       \
                bool spawned_;                                                                     \
                ASSERT_EQ(exit_checked(sv, r, code, after, &spawned_), want);                      \
                ASSERT_EQ(spawned_, want);                                                         \
        } while (0)

static void test_restarts_at_once(void) {
        struct restart_spec always = {RESTART_ALWAYS, 0}, onf = {RESTART_ON_FAILURE, 0},
                            no = {RESTART_NO, 0};
        struct rec r = {.now = 1000};
        struct sv sv;

        sv_init(&sv, &always, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        EXIT_AT_ONCE(&sv, &r, 1, 10, true);  /* the first restart */
        EXIT_AT_ONCE(&sv, &r, 1, 10, false); /* backoff */
        r.now += r.timer;
        sv_dispatch(&sv, SV_EV_TIMER);
        EXIT_AT_ONCE(&sv, &r, 0, SV_BACKOFF_RESET_USEC + 1, true); /* reset */
        /* a manual stop: the exit is not followed by a start */
        sv_dispatch(&sv, SV_EV_WANT_DOWN);
        EXIT_AT_ONCE(&sv, &r, 143, 10, false);
        /* `restart` of a running container: stop, then start at once */
        sv_dispatch(&sv, SV_EV_WANT_UP);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        ASSERT_EQ(sv.state, SV_STOPPING);
        EXIT_AT_ONCE(&sv, &r, 143, SV_BACKOFF_RESET_USEC + 1, true);

        memset(&r, 0, sizeof(r));
        r.now = 1000;
        sv_init(&sv, &onf, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        EXIT_AT_ONCE(&sv, &r, 0, 10, false);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        EXIT_AT_ONCE(&sv, &r, 2, 10, true);

        memset(&r, 0, sizeof(r));
        r.now = 1000;
        sv_init(&sv, &no, &rec_ops, &r);
        sv_dispatch(&sv, SV_EV_WANT_UP);
        EXIT_AT_ONCE(&sv, &r, 1, 10, false);
        /* not running: nothing to predict */
        ASSERT_FALSE(sv_exit_restarts_at_once(&sv, 1, r.now));
}

TAP_MAIN(test_parse, test_policy_rules, test_backoff_sequence,
         test_manual_stop_and_kill_after_timeout, test_on_failure_limit,
         test_spawn_failure_backs_off, test_unhealthy_restart, test_restart_command,
         test_async_spawn, test_stop_while_starting, test_restarts_at_once)
