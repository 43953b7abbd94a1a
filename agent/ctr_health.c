/* SPDX-License-Identifier: Apache-2.0 */
/* Health checks of running containers (issue #6): the probe is an exec inside the container
 * (ctr_exec_spawn) on a libev timer, bounded by the timeout (the helper kills the probe on
 * SIGTERM); results go into agent/health.c, whose State.Health lands in the record. A change of
 * status is a `health_status: X` event; unhealthy applies HostConfig.HealthOnFailure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "clog.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "health.h"
#include "image/manifest.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

struct ctr_health {
        struct ctr *c;
        struct health_config cfg;
        struct health h;
        ev_timer next;    /* the next probe */
        ev_timer timeout; /* the running probe's deadline */
        ev_child child;
        ev_io io;
        int out_fd;
        pid_t pid; /* the running probe's helper, 0 when none */
        bool timed_out;
        uint64_t probe_start; /* wall clock */
        char out[HEALTH_OUTPUT_MAX];
        size_t out_len;
};

static void probe_start(struct ctr_health *ch);

static void schedule(struct ctr_health *ch) {
        uint64_t d = health_next_delay(&ch->h, &ch->cfg, realtime_usec());

        ev_timer_stop(ch->c->m->loop, &ch->next);
        ev_timer_set(&ch->next, (double)d / 1e6, 0.);
        ev_timer_start(ch->c->m->loop, &ch->next);
}

static void publish_state(struct ctr_health *ch) {
        json_object_set_new(ctr_state(ch->c), "Health", health_to_json(&ch->h));
}

static void on_unhealthy(struct ctr *c) {
        const char *act =
                json_get_str(json_object_get(c->rec, "HostConfig"), "HealthOnFailure", "none");
        _cleanup_err_ struct err *e = NULL;

        if (streq(act, "kill")) {
                log_info(c->id, "Unhealthy: killing the container (health-on-failure=kill)");
                if (ctr_signal(c, SIGKILL, &e) < 0)
                        log_warn(c->id, "Failed to kill: %s, ignoring", err_msg(e));
        } else if (streq(act, "stop")) {
                log_info(c->id, "Unhealthy: stopping the container (health-on-failure=stop)");
                sv_dispatch(&c->sv, SV_EV_WANT_DOWN);
        } else if (streq(act, "restart")) {
                log_info(c->id, "Unhealthy: restarting the container (health-on-failure=restart)");
                c->sv.restart_on_unhealthy = true;
                sv_dispatch(&c->sv, SV_EV_UNHEALTHY);
        }
}

static void probe_drain(struct ctr_health *ch) {
        char buf[4096];
        ssize_t n;

        while ((n = read(ch->out_fd, buf, sizeof(buf))) > 0) {
                size_t k = MIN((size_t)n, sizeof(ch->out) - ch->out_len);

                memcpy(ch->out + ch->out_len, buf, k);
                ch->out_len += k;
        }
}

static void probe_end(struct ctr_health *ch, int status) {
        struct ctr *c = ch->c;
        struct ev_loop *loop = c->m->loop;
        int code;
        char *output;
        bool changed;

        probe_drain(ch);
        ev_io_stop(loop, &ch->io);
        ev_child_stop(loop, &ch->child);
        ev_timer_stop(loop, &ch->timeout);
        ch->out_fd = safe_close(ch->out_fd);
        ch->pid = 0;
        if (ch->timed_out) {
                code = -1;
                output = xasprintf("Health check exceeded timeout (%gs)",
                                   (double)ch->cfg.timeout_usec / 1e6);
        } else {
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                output = xstrndup(ch->out, ch->out_len);
        }
        changed = health_record(&ch->h, &ch->cfg, ch->probe_start, realtime_usec(), code, output);
        publish_state(ch);
        (void)ctr_save(c);
        schedule(ch);
        if (changed) {
                const char *s = health_status_to_string(ch->h.status);
                _cleanup_free_ char *action = xasprintf("health_status: %s", s);

                log_info(c->id, "Health status: %s", s);
                ctr_event(c, action, NULL);
                if (ch->h.status == HEALTH_UNHEALTHY)
                        on_unhealthy(c); /* may end the container; ch stays until the exit */
        }
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct ctr_health *ch = w->data;

        (void)loop;
        (void)revents;
        probe_end(ch, w->rstatus);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct ctr_health *ch = w->data;
        char buf[4096];
        ssize_t n;

        (void)revents;
        n = read(ch->out_fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                ev_io_stop(loop, w); /* EOF: the exit comes through child_cb */
                return;
        }
        {
                size_t k = MIN((size_t)n, sizeof(ch->out) - ch->out_len);

                memcpy(ch->out + ch->out_len, buf, k);
                ch->out_len += k;
        }
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct ctr_health *ch = w->data;

        (void)loop;
        (void)revents;
        if (ch->pid <= 0)
                return;
        ch->timed_out = true;
        (void)kill(ch->pid, SIGTERM); /* the helper kills the probe and exits */
}

static void next_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct ctr_health *ch = w->data;

        (void)loop;
        (void)revents;
        probe_start(ch);
}

static json_t *probe_body(const struct health_config *cfg) {
        json_t *cmd = json_array();

        if (streq(cfg->test[0], "CMD-SHELL")) {
                json_array_append_new(cmd, json_string("/bin/sh"));
                json_array_append_new(cmd, json_string("-c"));
                json_array_append_new(cmd, json_string(cfg->test[1]));
        } else
                STRV_FOREACH (a, cfg->test + 1)
                        json_array_append_new(cmd, json_string(*a));
        return json_pack("{s:o}", "Cmd", cmd);
}

static void probe_start(struct ctr_health *ch) {
        struct ctr *c = ch->c;
        struct ev_loop *loop = c->m->loop;
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        int p[2], r;
        pid_t pid;

        if (ch->pid > 0)
                return;
        if (!ctr_running(c) || json_get_bool(ctr_state(c), "Paused", false)) {
                schedule(ch); /* docker skips probes of paused containers */
                return;
        }
        ch->probe_start = realtime_usec();
        ch->timed_out = false;
        ch->out_len = 0;
        if (pipe2(p, O_CLOEXEC) < 0) {
                r = -errno;
                (void)health_record(&ch->h, &ch->cfg, ch->probe_start, realtime_usec(), -1,
                                    xasprintf("pipe: %s", strerror(-r)));
                publish_state(ch);
                schedule(ch);
                return;
        }
        body = probe_body(&ch->cfg);
        r = ctr_exec_spawn(c, body, p[1], p[1], &pid, &e);
        safe_close(p[1]);
        if (r < 0) {
                safe_close(p[0]);
                /* could not run: a failed probe, as in docker */
                ch->out_len = 0;
                ch->pid = 0;
                {
                        char *msg = xstrdup(err_msg(e));
                        bool changed = health_record(&ch->h, &ch->cfg, ch->probe_start,
                                                     realtime_usec(), -1, msg);

                        publish_state(ch);
                        (void)ctr_save(c);
                        schedule(ch);
                        if (changed) {
                                _cleanup_free_ char *action = xasprintf(
                                        "health_status: %s", health_status_to_string(ch->h.status));
                                ctr_event(c, action, NULL);
                                if (ch->h.status == HEALTH_UNHEALTHY)
                                        on_unhealthy(c);
                        }
                }
                return;
        }
        (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
        ch->out_fd = p[0];
        ch->pid = pid;
        ev_io_init(&ch->io, io_cb, ch->out_fd, EV_READ);
        ch->io.data = ch;
        ev_io_start(loop, &ch->io);
        ev_child_init(&ch->child, child_cb, pid, 0);
        ch->child.data = ch;
        ev_child_start(loop, &ch->child);
        ev_timer_set(&ch->timeout, (double)ch->cfg.timeout_usec / 1e6, 0.);
        ev_timer_start(loop, &ch->timeout);
}

void ctr_health_stop(struct ctr *c) {
        struct ctr_health *ch = c->health;
        struct ev_loop *loop = c->m->loop;

        if (!ch)
                return;
        ev_timer_stop(loop, &ch->next);
        ev_timer_stop(loop, &ch->timeout);
        ev_io_stop(loop, &ch->io);
        if (ch->pid > 0) {
                ev_child_stop(loop, &ch->child);
                (void)kill(ch->pid, SIGTERM);
                /* the helper exits at once after killing the probe; reap it here */
                (void)RETRY_EINTR(waitpid(ch->pid, NULL, 0));
        }
        safe_close(ch->out_fd);
        health_config_done(&ch->cfg);
        health_done(&ch->h);
        free(ch);
        c->health = NULL;
}

/* The effective check of c: the image's (kept in the record at create) and the container's. */
int ctr_health_config(const json_t *rec, struct health_config *ret, bool *ret_enabled,
                      struct err **errp) {
        return health_config_from_json(
                json_object_get(rec, "BerthImageHealthcheck"),
                json_object_get(json_object_get(rec, "Config"), "Healthcheck"), ret, ret_enabled,
                errp);
}

int ctr_health_prepare(json_t *rec, const struct healthcheck *image_hc, struct err **errp) {
        const char *hof = json_get_str(json_object_get(rec, "HostConfig"), "HealthOnFailure", "");
        struct health_config cfg = {};
        bool enabled = false;
        int r;

        if (image_hc) {
                json_t *t = json_array();

                STRV_FOREACH (a, image_hc->test)
                        json_array_append_new(t, json_string(*a));
                json_object_set_new(rec, "BerthImageHealthcheck",
                                    json_pack("{s:o,s:I,s:I,s:I,s:i}", "Test", t, "Interval",
                                              (json_int_t)image_hc->interval_ns, "Timeout",
                                              (json_int_t)image_hc->timeout_ns, "StartPeriod",
                                              (json_int_t)image_hc->start_period_ns, "Retries",
                                              image_hc->retries));
        }
        r = ctr_health_config(rec, &cfg, &enabled, errp);
        health_config_done(&cfg);
        if (r < 0)
                return r;
        if (hof[0] && !streq(hof, "none") && !streq(hof, "kill") && !streq(hof, "restart") &&
            !streq(hof, "stop"))
                return err_setx(errp, EINVAL,
                                "HostConfig.HealthOnFailure: invalid action '%s' (none, kill, "
                                "restart or stop)",
                                hof);
        return 0;
}

void ctr_health_start(struct ctr *c, bool adopted) {
        _cleanup_err_ struct err *e = NULL;
        struct ctr_health *ch;
        uint64_t started = realtime_usec();
        bool enabled = false;

        ctr_health_stop(c);
        ch = xnew0(struct ctr_health, 1);
        ch->c = c;
        ch->out_fd = -EBADF;
        if (ctr_health_config(c->rec, &ch->cfg, &enabled, &e) < 0 || !enabled) {
                if (e)
                        log_warn(c->id, "Failed to read the health check: %s, ignoring",
                                 err_msg(e));
                health_config_done(&ch->cfg);
                free(ch);
                json_object_del(ctr_state(c), "Health");
                return;
        }
        if (adopted) {
                uint64_t ns = 0;

                if (clog_parse_time(json_get_str(ctr_state(c), "StartedAt", ""), 0, &ns, NULL) >=
                            0 &&
                    ns > 0)
                        started = ns / 1000;
        }
        health_reset(&ch->h, started);
        if (adopted) {
                /* carry on from the status the daemon saw last */
                const json_t *old = json_object_get(ctr_state(c), "Health");
                int s = health_status_from_string(json_get_str(old, "Status", ""));

                if (s > HEALTH_NONE)
                        ch->h.status = (enum health_status)s;
                ch->h.failing_streak = (unsigned)json_get_int(old, "FailingStreak", 0);
        }
        ev_timer_init(&ch->next, next_cb, 0., 0.);
        ev_timer_init(&ch->timeout, timeout_cb, 0., 0.);
        ch->next.data = ch->timeout.data = ch;
        c->health = ch;
        publish_state(ch);
        schedule(ch);
}
