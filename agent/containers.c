/* SPDX-License-Identifier: Apache-2.0 */
/* The container manager: the table of containers, their records, and their lifecycle driven by
 * the supervision state machine. Creation (record building) lives in ctr_create.c, the start
 * path (rootfs, spec, shim) in ctr_start.c, streams (logs, exec) in ctr_stream.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "clog.h"
#include "containers.h"
#include "ctr_internal.h"
#include "ctr_net.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "runtime/container.h"
#include "shim.h"
#include "storage/overlay.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

/* ---- records ---- */

static int ctr_write(struct ctr *c, bool sync) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *p = xasprintf("%s/config.json", c->dir);
        int r;

        json_object_set_new(c->rec, "RestartCount", json_integer(c->sv.restart_count));
        json_object_set_new(c->rec, "BerthManuallyStopped", json_boolean(c->sv.manually_stopped));
        r = sync ? json_save_path(p, c->rec, &e) : json_replace_path(p, c->rec, &e);
        if (r < 0) {
                log_error(c->id, "Failed to save the container record: %s", err_msg(e));
                return -EIO;
        }
        return 0;
}

int ctr_save(struct ctr *c) {
        return ctr_write(c, true);
}

/* State transitions (started, exited, stopping, paused) skip the two fsyncs (3-9 ms each on
 * this disk, several per run: docs/bench.md). The rename still gives the old or the new record.
 * Only a power cut loses an unsynced write, and after one no container runs: ctr_load_one marks
 * a record that says running but has no shim as exited, and one that says created stays so. */
int ctr_save_state(struct ctr *c) {
        return ctr_write(c, false);
}

json_t *ctr_state(const struct ctr *c) {
        return json_object_get(c->rec, "State");
}

void ctr_set_status(struct ctr *c, const char *status) {
        json_t *st = ctr_state(c);

        json_object_set_new(st, "Status", json_string(status));
        json_object_set_new(st, "Running",
                            json_boolean(streq(status, "running") || streq(status, "paused")));
        json_object_set_new(st, "Paused", json_boolean(streq(status, "paused")));
        json_object_set_new(st, "Restarting", json_boolean(streq(status, "restarting")));
}

bool ctr_running(const struct ctr *c) {
        return json_get_bool(ctr_state(c), "Running", false);
}

char *ctr_now_str(void) {
        return clog_format_time(realtime_usec() * NSEC_PER_USEC);
}

/* ---- pending requests ---- */

static void pend_closed(struct http_req *req, void *ud) {
        struct pend *p = ud;
        struct pend **pp;

        for (pp = &p->c->pends; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        http_reply(req, 499, "text/plain", "", 0);
        free(p);
}

void ctr_pend_add(struct ctr *c, enum pend_kind kind, struct http_req *req) {
        struct pend *p = xnew0(struct pend, 1);

        p->c = c;
        p->kind = kind;
        p->req = req;
        p->next = c->pends;
        c->pends = p;
        http_req_on_close(req, pend_closed, p);
}

/* Answers every pending request of kind (all kinds for _PEND_MAX). */
static void pend_answer(struct ctr *c, enum pend_kind kind) {
        struct pend **pp = &c->pends;

        while (*pp) {
                struct pend *p = *pp;

                if (kind != _PEND_MAX && p->kind != kind) {
                        pp = &p->next;
                        continue;
                }
                *pp = p->next;
                http_req_on_close(p->req, NULL, NULL);
                switch (p->kind) {
                case PEND_WAIT: {
                        _cleanup_json_ json_t *j =
                                json_pack("{s:I}", "StatusCode",
                                          (json_int_t)json_get_int(ctr_state(c), "ExitCode", 0));
                        http_reply_json(p->req, 200, j);
                        break;
                }
                case PEND_RESTART:
                case PEND_START:
                case PEND_STOP:
                case PEND_REMOVE:
                case _PEND_MAX:
                default:
                        http_reply(p->req, 204, NULL, "", 0);
                        break;
                }
                free(p);
        }
}

/* Answers every pending request of kind with the error e (borrowed). */
static void pend_fail(struct ctr *c, enum pend_kind kind, const struct err *e) {
        struct pend **pp = &c->pends;

        while (*pp) {
                struct pend *p = *pp;

                if (p->kind != kind) {
                        pp = &p->next;
                        continue;
                }
                *pp = p->next;
                http_req_on_close(p->req, NULL, NULL);
                http_reply_err(p->req, e);
                free(p);
        }
}

/* ---- start watchers (ctr_start_watch) ---- */

struct start_watch {
        struct start_watch *next;
        ctr_started_fn *done;
        void *ud;
};

static void start_watches_free(struct ctr *c) {
        while (c->start_watches) {
                struct start_watch *w = c->start_watches;

                c->start_watches = w->next;
                free(w);
        }
}

/* Tells every watcher how the start ended; they may watch again (a new list). */
static void start_watches_notify(struct ctr *c, int r, const struct err *e) {
        struct start_watch *w = TAKE_PTR(c->start_watches);

        while (w) {
                struct start_watch *next = w->next;

                w->done(w->ud, c, r, e);
                free(w);
                w = next;
        }
}

void ctr_start_unwatch(struct ctr *c, ctr_started_fn *done, void *ud) {
        struct start_watch **pp = &c->start_watches;

        while (*pp) {
                struct start_watch *w = *pp;

                if (w->done == done && w->ud == ud) {
                        *pp = w->next;
                        free(w);
                        continue;
                }
                pp = &w->next;
        }
}

/* ---- the table ---- */

static struct ctr *ctr_free(struct ctr *c) {
        if (!c)
                return NULL;
        ctr_start_cancel(c);
        start_watches_free(c);
        ctr_shim_disconnect(c);
        ctr_health_stop(c);
        ev_timer_stop(c->m->loop, &c->sv_timer);
        ev_timer_stop(c->m->loop, &c->exit_timer);
        ctr_streams_end(c);
        pend_answer(c, _PEND_MAX);
        json_decref(c->rec);
        err_free(c->start_err);
        free(c->id);
        free(c->dir);
        free(c);
        return NULL;
}

struct ctr_mgr *ctr_mgr_free(struct ctr_mgr *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n; i++)
                ctr_free(m->v[i]);
        free(m->v);
        image_store_free(m->images);
        free(m->root);
        free(m->run);
        free(m->ctr_root);
        free(m->oci_root);
        free(m);
        return NULL;
}

void ctr_mgr_release_clients(struct ctr_mgr *m) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n; i++) {
                struct ctr *c = m->v[i];

                ctr_streams_end(c);
                while (c->pends) {
                        struct pend *p = c->pends;

                        c->pends = p->next;
                        http_req_on_close(p->req, NULL, NULL);
                        http_reply_error(p->req, 503, "ShuttingDown",
                                         "the berth daemon is shutting down");
                        free(p);
                }
        }
}

size_t ctr_all(struct ctr_mgr *m, struct ctr ***ret) {
        *ret = m->v;
        return m->n;
}

int ctr_lookup(struct ctr_mgr *m, const char *ref, struct ctr **ret, struct err **errp) {
        _cleanup_free_ const char **ids = xnew0(const char *, m->n + 1);
        _cleanup_free_ const char **names = xnew0(const char *, m->n + 1);
        int i;

        for (size_t k = 0; k < m->n; k++) {
                ids[k] = m->v[k]->id;
                names[k] = ctr_name(m->v[k]);
        }
        i = ctr_ref_index(ids, names, m->n, ref);
        if (i == -EINVAL)
                return err_setx(errp, EINVAL, "multiple containers match the id prefix '%s'", ref);
        if (i < 0)
                return err_setx(errp, ENOENT, "No such container: %s", ref);
        *ret = m->v[i];
        return 0;
}

const char *ctr_name(const struct ctr *c) {
        const char *n = json_get_str(c->rec, "Name", "");
        return n[0] == '/' ? n + 1 : n;
}

bool ctr_name_taken(struct ctr_mgr *m, const char *name) {
        for (size_t k = 0; k < m->n; k++)
                if (streq(ctr_name(m->v[k]), name))
                        return true;
        return false;
}

/* ---- supervision ---- */

static int sv_spawn(struct sv *sv, void *ud) {
        struct ctr *c = ud;
        _cleanup_err_ struct err *e = NULL;
        int r;

        (void)sv;
        r = ctr_do_start(c, &e);
        if (r < 0) {
                log_error(c->id, "Failed to start container: %s", err_msg(e));
                c->start_err = err_free(c->start_err);
                c->start_err = TAKE_PTR(e);
        }
        return r;
}

static int sv_signal(struct sv *sv, int sig, void *ud) {
        struct ctr *c = ud;
        _cleanup_err_ struct err *e = NULL;
        int r;

        (void)sv;
        r = ctr_signal(c, sig, &e);
        if (r < 0 && r != -ESRCH)
                log_warn(c->id, "Failed to send signal %d: %s, ignoring", sig, err_msg(e));
        return r;
}

static void sv_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct ctr *c = w->data;

        (void)loop;
        (void)revents;
        sv_dispatch(&c->sv, SV_EV_TIMER);
        ctr_after_sv(c);
}

static void sv_arm(struct sv *sv, uint64_t usec, void *ud) {
        struct ctr *c = ud;

        (void)sv;
        ev_timer_stop(c->m->loop, &c->sv_timer);
        ev_timer_set(&c->sv_timer, (double)usec / 1e6, 0.);
        ev_timer_start(c->m->loop, &c->sv_timer);
}

static void sv_disarm(struct sv *sv, void *ud) {
        struct ctr *c = ud;

        (void)sv;
        ev_timer_stop(c->m->loop, &c->sv_timer);
}

static uint64_t sv_now(void *ud) {
        (void)ud;
        return now_usec();
}

static void sv_event(struct sv *sv, const char *what, void *ud) {
        struct ctr *c = ud;

        log_info(c->id, "Container event: %s", what);
        if (streq(what, "start") || streq(what, "restart")) {
                pend_answer(c, PEND_RESTART);
                ctr_health_start(c, false);
        }
        /* kill is published where the signal is sent (ctr_signal) */
        if (streq(what, "die"))
                ctr_event_die(c, sv->exit_code);
        else if (streq(what, "restart")) {
                ctr_metrics_restart(c);
                ctr_event(c, "start", NULL);
                ctr_event(c, "restart", NULL);
        } else if (!streq(what, "kill"))
                ctr_event(c, what, NULL);
}

static const struct sv_ops ctr_sv_ops = {
        .spawn = sv_spawn,
        .signal = sv_signal,
        .arm_timer = sv_arm,
        .disarm_timer = sv_disarm,
        .now_usec = sv_now,
        .event = sv_event,
};

static void ctr_sv_setup(struct ctr *c) {
        const json_t *hc = json_object_get(c->rec, "HostConfig");
        const json_t *rp = json_object_get(hc, "RestartPolicy");
        const char *name = json_get_str(rp, "Name", "");
        struct restart_spec rs = {.policy = RESTART_NO};
        _cleanup_free_ char *spec = NULL;
        const char *sig = json_get_str(json_object_get(c->rec, "Config"), "StopSignal", "");

        if (name[0]) {
                spec = json_get_int(rp, "MaximumRetryCount", 0) > 0
                               ? xasprintf("%s:%lld", name,
                                           (long long)json_get_int(rp, "MaximumRetryCount", 0))
                               : xstrdup(name);
                (void)restart_spec_parse(spec, &rs, NULL);
        }
        sv_init(&c->sv, &rs, &ctr_sv_ops, c);
        c->sv.stop_signal = ctr_parse_signal(sig[0] ? sig : "SIGTERM");
        if (c->sv.stop_signal <= 0)
                c->sv.stop_signal = SIGTERM;
        c->sv.stop_timeout_usec =
                (uint64_t)json_get_int(json_object_get(c->rec, "Config"), "StopTimeout", 10) *
                USEC_PER_SEC;
        c->sv.restart_count = (unsigned)json_get_int(c->rec, "RestartCount", 0);
        c->sv.manually_stopped = json_get_bool(c->rec, "BerthManuallyStopped", false);
        if (c->m->d && c->m->d->config.restart_backoff_max_ms > 0)
                c->sv.backoff_cap_usec = (uint64_t)c->m->d->config.restart_backoff_max_ms * 1000;
        ev_timer_init(&c->sv_timer, sv_timer_cb, 0., 0.);
        c->sv_timer.data = c;
}

struct ctr *ctr_add(struct ctr_mgr *m, char *id_take, json_t *rec_take) {
        struct ctr *c = xnew0(struct ctr, 1);

        c->m = m;
        c->id = id_take;
        c->rec = rec_take;
        c->dir = xasprintf("%s/%s", m->ctr_root, c->id);
        c->shim_fd = -EBADF;
        ev_timer_init(&c->exit_timer, NULL, 0., 0.);
        ctr_sv_setup(c);
        m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
        memmove(m->v + 1, m->v, m->n * sizeof(*m->v));
        m->v[0] = c;
        m->n++;
        return c;
}

/* Removes c from the table and frees it. */
static void ctr_drop(struct ctr *c) {
        struct ctr_mgr *m = c->m;

        for (size_t i = 0; i < m->n; i++)
                if (m->v[i] == c) {
                        memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
                        m->n--;
                        break;
                }
        ctr_event(c, "destroy", NULL);
        ctr_free(c);
}

/* Deletes everything of a stopped container. */
static int ctr_destroy(struct ctr *c, bool volumes, struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_free_ char *sock = xasprintf("%s/shims/%s.sock", c->m->run, c->id);
        json_t *mnt;
        size_t i;
        int r;

        if (rt_state_load(c->m->oci_root, c->id, &st, NULL) >= 0)
                (void)rt_delete(st, true, NULL);
        (void)unlink(sock);
        ctr_net_detach(c); /* berth-net */
        r = ovl_remove(c->dir, errp);
        if (r < 0)
                return r;
        r = rm_rf(c->dir, errp);
        if (r < 0)
                return r;
        if (volumes)
                json_array_foreach (json_object_get(c->rec, "Mounts"), i, mnt) {
                        _cleanup_err_ struct err *e = NULL;

                        if (!json_get_bool(mnt, "BerthAnonymous", false))
                                continue;
                        if (vol_remove(c->m->root, json_get_str(mnt, "Name", ""), false, true, &e) <
                            0)
                                log_warn(c->id, "Failed to remove volume '%s': %s, ignoring",
                                         json_get_str(mnt, "Name", ""), err_msg(e));
                        else
                                ctr_volume_event(c->m, "destroy", json_get_str(mnt, "Name", ""));
                }
        log_info(c->id, "Container removed");
        return 0;
}

/* After each sv_dispatch: persist, auto-remove. */
void ctr_after_sv(struct ctr *c) {
        if (c->sv.state == SV_BACKOFF)
                ctr_set_status(c, "restarting");
        (void)ctr_save_state(c);
        if (c->sv.state == SV_DOWN && !ctr_running(c) && !c->removing &&
            json_get_bool(json_object_get(c->rec, "HostConfig"), "AutoRemove", false) && c->ran) {
                _cleanup_err_ struct err *e = NULL;

                ctr_streams_end(c);
                pend_answer(c, _PEND_MAX);
                if (ctr_destroy(c, true, &e) < 0)
                        log_error(c->id, "Failed to auto-remove the container: %s", err_msg(e));
                else
                        ctr_drop(c);
        }
}

/* ---- exits ---- */

void ctr_on_exit(struct ctr *c) {
        _cleanup_free_ char *path = xasprintf("%s/" SHIM_EXIT_FILE, c->dir);
        _cleanup_json_ json_t *ex = NULL;
        _cleanup_err_ struct err *e = NULL;
        json_t *st = ctr_state(c);
        bool keep;
        int code;

        ctr_shim_disconnect(c);
        ctr_health_stop(c);
        ev_timer_stop(c->m->loop, &c->exit_timer);
        if (json_load_path(path, 1u << 16, &ex, &e) < 0) {
                _cleanup_(rt_state_freep) struct rt_state *rst = NULL;
                _cleanup_free_ char *sock = xasprintf("%s/shims/%s.sock", c->m->run, c->id);

                log_warn(c->id, "The shim left no exit record (%s): recording exit 255",
                         err_msg(e));
                /* The shim died (killed, or a crash of the host that left /run): what it would
                 * have removed is removed here: the processes left, the cgroup, the runtime
                 * state and the socket. */
                if (rt_state_load(c->m->oci_root, c->id, &rst, NULL) >= 0)
                        (void)rt_delete(rst, true, NULL);
                (void)unlink(sock);
                ex = json_pack("{s:i,s:b}", "ExitCode", 255, "OOMKilled", 0);
                {
                        _cleanup_free_ char *t = ctr_now_str();
                        json_object_set_new(ex, "FinishedAt", json_string(t));
                }
        }
        code = (int)json_get_int(ex, "ExitCode", 255);
        /* A restart that follows at once keeps the rootfs mounted (ovl_prepare finds it): the
         * unmount alone costs milliseconds (an RCU grace period) and the mount is remade. */
        keep = !c->removing && sv_exit_restarts_at_once(&c->sv, code, now_usec());
        ctr_set_status(c, "exited");
        json_object_set_new(st, "Pid", json_integer(0));
        json_object_set_new(st, "ExitCode", json_integer(code));
        json_object_set_new(st, "OOMKilled", json_boolean(json_get_bool(ex, "OOMKilled", false)));
        json_object_set(st, "FinishedAt", json_object_get(ex, "FinishedAt"));
        if (!keep)
                (void)ovl_unmount(c->dir, NULL);
        ctr_net_detach(c); /* berth-net */
        log_info(c->id, "Container exited with code %d", code);
        (void)ctr_save_state(c);

        ctr_streams_exit(c);
        pend_answer(c, PEND_WAIT);
        pend_answer(c, PEND_STOP);
        c->sv.exit_code = code;
        c->sv.exit_oom = json_get_bool(ex, "OOMKilled", false);
        c->restart_kept = keep;
        sv_dispatch(&c->sv, SV_EV_EXITED);
        c->restart_kept = false;
        if (keep && c->sv.state != SV_STARTING && !ctr_running(c))
                (void)ovl_unmount(c->dir, NULL); /* the restart did not happen after all */
        if (c->removing) {
                _cleanup_err_ struct err *e2 = NULL;

                if (ctr_destroy(c, c->remove_volumes, &e2) < 0)
                        log_error(c->id, "Failed to remove the container: %s", err_msg(e2));
                ctr_streams_end(c);
                pend_answer(c, _PEND_MAX);
                ctr_drop(c);
                return;
        }
        ctr_after_sv(c);
}

/* ---- operations ---- */

/* The container was removed with rm -f while it started: finish the removal. Returns true when
 * c is gone. */
static bool ctr_remove_after_start(struct ctr *c) {
        _cleanup_err_ struct err *e = NULL;

        if (!c->removing || c->sv.state == SV_STARTING)
                return false;
        if (ctr_running(c)) {
                /* ctr_on_exit removes it */
                if (ctr_signal(c, SIGKILL, &e) < 0)
                        log_warn(c->id, "Failed to kill: %s, ignoring", err_msg(e));
                return false;
        }
        if (ctr_destroy(c, c->remove_volumes, &e) < 0)
                log_error(c->id, "Failed to remove the container: %s", err_msg(e));
        ctr_streams_end(c);
        pend_answer(c, _PEND_MAX);
        ctr_drop(c);
        return true;
}

void ctr_start_done(struct ctr *c, int r, struct err *e) {
        if (r < 0) {
                log_error(c->id, "Failed to start container: %s", err_msg(e));
                c->start_err = err_free(c->start_err);
                c->start_err = e;
                sv_dispatch(&c->sv, SV_EV_SPAWN_FAILED);
                pend_fail(c, PEND_START, c->start_err);
                if (c->sv.state != SV_STARTING) {
                        /* no other attempt is under way (a policy retry would be) */
                        pend_fail(c, PEND_RESTART, c->start_err);
                        pend_answer(c, PEND_STOP);
                }
                start_watches_notify(c, r, c->start_err);
                c->start_err = err_free(c->start_err);
        } else {
                sv_dispatch(&c->sv, SV_EV_SPAWNED);
                pend_answer(c, PEND_START);
                start_watches_notify(c, 0, NULL);
        }
        if (ctr_remove_after_start(c))
                return;
        ctr_after_sv(c); /* may remove c (AutoRemove) */
}

/* Begins a start; returns 0 when it ran or is under way, < 0 with *errp when it failed at once
 * (c may be gone then: AutoRemove). */
static int start_begin(struct ctr *c, struct err **errp) {
        if (c->removing)
                return err_setx(errp, EBUSY, "container %s is being removed", ctr_name(c));
        if (c->sv.state == SV_STARTING)
                return 0;
        c->start_err = err_free(c->start_err);
        sv_dispatch(&c->sv, SV_EV_WANT_UP);
        if (c->sv.state != SV_STARTING && !ctr_running(c) && c->start_err) {
                int r = -c->start_err->code;

                err_move(errp, TAKE_PTR(c->start_err));
                ctr_after_sv(c); /* may remove c (AutoRemove) */
                return r;
        }
        if (c->sv.state != SV_STARTING)
                ctr_after_sv(c);
        return 0;
}

int ctr_start_watch(struct ctr *c, ctr_started_fn *done, void *ud, struct err **errp) {
        struct start_watch *w;
        int r;

        if (ctr_running(c) && c->sv.state != SV_STARTING)
                return 1;
        r = start_begin(c, errp); /* c may be gone when it fails (AutoRemove) */
        if (r < 0)
                return r;
        if (c->sv.state != SV_STARTING)
                return ctr_running(c) ? 1 : err_setx(errp, EIO, "the container did not start");
        w = xnew0(struct start_watch, 1);
        w->done = done;
        w->ud = ud;
        w->next = c->start_watches;
        c->start_watches = w;
        return 0;
}

void ctr_start_req(struct ctr *c, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;

        if (ctr_running(c)) {
                if (req)
                        http_reply(req, 204, NULL, "", 0);
                return;
        }
        if (start_begin(c, &e) < 0) {
                if (req)
                        http_reply_err(req, e);
                return;
        }
        if (c->sv.state == SV_STARTING) {
                if (req)
                        ctr_pend_add(c, PEND_START, req);
                return;
        }
        if (req)
                http_reply(req, 204, NULL, "", 0);
}

int ctr_signal(struct ctr *c, int sig, struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        int r;

        r = rt_state_load(c->m->oci_root, c->id, &st, errp);
        if (r < 0)
                return r;
        if (sig == SIGKILL && json_get_bool(ctr_state(c), "Paused", false))
                (void)rt_pause(st, false, NULL);
        r = rt_kill(st, sig, sig == SIGKILL, errp);
        if (r >= 0)
                ctr_event_kill(c, sig);
        return r;
}

void ctr_stop(struct ctr *c, int timeout, struct http_req *req) {
        if (c->sv.state == SV_STARTING) {
                /* stopped once it runs, or at once if the start fails */
                if (timeout >= 0)
                        c->sv.stop_timeout_usec = (uint64_t)timeout * USEC_PER_SEC;
                ctr_pend_add(c, PEND_STOP, req);
                sv_dispatch(&c->sv, SV_EV_WANT_DOWN);
                (void)ctr_save_state(c);
                return;
        }
        if (!ctr_running(c)) {
                if (c->sv.state == SV_BACKOFF) {
                        sv_dispatch(&c->sv, SV_EV_WANT_DOWN);
                        ctr_set_status(c, "exited");
                        ctr_after_sv(c);
                        http_reply(req, 204, NULL, "", 0);
                        return;
                }
                http_reply(req, 204, NULL, "", 0);
                return;
        }
        if (timeout >= 0)
                c->sv.stop_timeout_usec = (uint64_t)timeout * USEC_PER_SEC;
        if (json_get_bool(ctr_state(c), "Paused", false))
                (void)ctr_pause(c, false, NULL);
        ctr_pend_add(c, PEND_STOP, req);
        sv_dispatch(&c->sv, SV_EV_WANT_DOWN);
        (void)ctr_save_state(c);
}

void ctr_restart(struct ctr *c, int timeout, struct http_req *req) {
        if (!ctr_running(c)) {
                ctr_start_req(c, req);
                return;
        }
        if (timeout >= 0)
                c->sv.stop_timeout_usec = (uint64_t)timeout * USEC_PER_SEC;
        ctr_pend_add(c, PEND_RESTART, req);
        sv_dispatch(&c->sv, SV_EV_WANT_UP);
}

int ctr_kill(struct ctr *c, int sig, struct err **errp) {
        if (!ctr_running(c))
                return err_setx(errp, EBUSY, "Container %s is not running", c->id);
        return ctr_signal(c, sig, errp);
}

int ctr_pause(struct ctr *c, bool pause, struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        int r;

        if (!ctr_running(c))
                return err_setx(errp, EBUSY, "Container %s is not running", c->id);
        if (pause == json_get_bool(ctr_state(c), "Paused", false))
                return err_setx(errp, EBUSY, "Container %s is %s", c->id,
                                pause ? "already paused" : "not paused");
        r = rt_state_load(c->m->oci_root, c->id, &st, errp);
        if (r >= 0)
                r = rt_pause(st, pause, errp);
        if (r < 0)
                return r;
        ctr_set_status(c, pause ? "paused" : "running");
        (void)ctr_save_state(c);
        ctr_event(c, pause ? "pause" : "unpause", NULL);
        return 0;
}

void ctr_remove(struct ctr *c, bool force, bool volumes, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;

        if (c->removing) {
                ctr_pend_add(c, PEND_REMOVE, req);
                return;
        }
        if (ctr_running(c)) {
                if (!force) {
                        http_reply_error(req, 409, "Conflict",
                                         "You cannot remove a running container %s. Stop the "
                                         "container before attempting removal or force remove",
                                         c->id);
                        return;
                }
                c->removing = true;
                c->remove_volumes = volumes;
                c->sv.manually_stopped = true;
                ctr_pend_add(c, PEND_REMOVE, req);
                if (ctr_signal(c, SIGKILL, &e) < 0)
                        log_warn(c->id, "Failed to kill: %s, ignoring", err_msg(e));
                return;
        }
        if (c->sv.state == SV_STARTING) {
                if (!force) {
                        http_reply_error(req, 409, "Conflict",
                                         "You cannot remove a starting container %s. Stop the "
                                         "container before attempting removal or force remove",
                                         c->id);
                        return;
                }
                /* finished by ctr_remove_after_start() when the start is over */
                c->removing = true;
                c->remove_volumes = volumes;
                c->sv.manually_stopped = true;
                ctr_pend_add(c, PEND_REMOVE, req);
                return;
        }
        if (c->sv.state == SV_BACKOFF)
                sv_dispatch(&c->sv, SV_EV_WANT_DOWN);
        ctr_streams_end(c);
        pend_answer(c, _PEND_MAX);
        if (ctr_destroy(c, volumes, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        ctr_drop(c);
        http_reply(req, 204, NULL, "", 0);
}

void ctr_wait(struct ctr *c, bool next_exit, struct http_req *req) {
        if (!next_exit && !ctr_running(c) && c->sv.state != SV_BACKOFF &&
            c->sv.state != SV_STARTING) {
                _cleanup_json_ json_t *j =
                        json_pack("{s:I}", "StatusCode",
                                  (json_int_t)json_get_int(ctr_state(c), "ExitCode", 0));
                http_reply_json(req, 200, j);
                return;
        }
        ctr_pend_add(c, PEND_WAIT, req);
}

int ctr_rename(struct ctr *c, const char *name, struct err **errp) {
        const char *n = name[0] == '/' ? name + 1 : name;

        if (!ctr_name_valid(n))
                return err_setx(errp, EINVAL,
                                "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                "allowed",
                                name);
        if (streq(ctr_name(c), n))
                return err_setx(errp, EINVAL,
                                "Renaming a container with the same name as its "
                                "current name");
        if (ctr_name_taken(c->m, n))
                return err_setx(errp, EEXIST,
                                "Conflict. The container name \"/%s\" is already in use", n);
        {
                _cleanup_free_ char *old = xstrdup(ctr_name(c));
                int r;

                json_object_set_new(c->rec, "Name", json_sprintf("/%s", n));
                r = ctr_save(c);
                ctr_event(c, "rename", json_pack("{s:s}", "oldName", old));
                return r;
        }
}

json_t *ctr_inspect(const struct ctr *c) {
        json_t *j = json_deep_copy(c->rec);
        const char *key;
        void *tmp;
        json_t *v;

        json_object_foreach_safe(j, tmp, key, v) if (str_startswith(key, "Berth"))
                json_object_del(j, key);
        {
                size_t i;
                json_array_foreach (json_object_get(j, "Mounts"), i, v) {
                        json_object_del(v, "BerthAnonymous");
                        json_object_del(v, "BerthNoCopy");
                }
        }
        return j;
}

const json_t *ctr_record(const struct ctr *c) {
        return c->rec;
}

json_t *ctr_summary(const struct ctr *c) {
        const json_t *cfg = json_object_get(c->rec, "Config");
        _cleanup_strv_ char **cmd = NULL;
        _cleanup_free_ char *command = NULL,
                            *status = ctr_status_text(ctr_state(c), realtime_usec());
        _cleanup_free_ char *name = xasprintf("/%s", ctr_name(c));
        json_t *args = json_object_get(c->rec, "Args"), *v, *mounts = json_array();
        uint64_t created = 0;
        size_t i;

        strv_push(&cmd, json_get_str(c->rec, "Path", ""));
        json_array_foreach (args, i, v)
                strv_push(&cmd, json_string_value(v));
        command = strv_join(cmd, " ");
        (void)clog_parse_time(json_get_str(c->rec, "Created", ""), 0, &created, NULL);
        json_array_foreach (json_object_get(c->rec, "Mounts"), i, v)
                json_array_append_new(mounts, json_string(json_get_str(v, "Name", "")[0]
                                                                  ? json_get_str(v, "Name", "")
                                                                  : json_get_str(v, "Source", "")));
        return json_pack("{s:s,s:[s],s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:o,s:s}", "Id", c->id, "Names",
                         name, "Image", json_get_str(cfg, "Image", ""), "ImageID",
                         json_get_str(c->rec, "Image", ""), "Command", command, "Created",
                         (json_int_t)(created / NSEC_PER_SEC), "State",
                         json_get_str(ctr_state(c), "Status", ""), "Status", status, "Labels",
                         json_object_get(cfg, "Labels")
                                 ? json_incref(json_object_get(cfg, "Labels"))
                                 : json_object(),
                         "Mounts", mounts, "Ports", "");
}

int ctr_top(struct ctr *c, json_t **ret, struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        json_t *procs;
        size_t n = 0;
        int r;

        if (!ctr_running(c))
                return err_setx(errp, EBUSY, "Container %s is not running", c->id);
        r = rt_state_load(c->m->oci_root, c->id, &st, errp);
        if (r >= 0)
                r = rt_pids(st, &pids, &n, errp);
        if (r < 0)
                return r;
        procs = json_array();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", (int)pids[i]);
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;

                if (read_file(path, 4096, &buf, &len, NULL) < 0)
                        continue;
                for (size_t k = 0; k + 1 < len; k++)
                        if (buf[k] == '\0')
                                buf[k] = ' ';
                {
                        char pid[16];
                        snprintf(pid, sizeof(pid), "%d", (int)pids[i]);
                        json_array_append_new(procs, json_pack("[s,s]", pid, buf));
                }
        }
        *ret = json_pack("{s:[s,s],s:o}", "Titles", "PID", "CMD", "Processes", procs);
        return 0;
}

/* ---- loading ---- */

static void ctr_load_one(struct ctr_mgr *m, const char *id) {
        _cleanup_free_ char *path = xasprintf("%s/%s/config.json", m->ctr_root, id);
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c;

        if (json_load_path(path, 16u << 20, &rec, &e) < 0 || !json_is_object(rec) ||
            json_get_int(rec, "Version", 0) != CTR_RECORD_VERSION ||
            !streq(json_get_str(rec, "Id", ""), id)) {
                log_error(id, "Failed to load container record '%s': %s, skipping", path,
                          e ? err_msg(e) : "not a container record of this version");
                return;
        }
        c = ctr_add(m, xstrdup(id), TAKE_PTR(rec));
        if (!ctr_running(c)) {
                if (streq(json_get_str(ctr_state(c), "Status", ""), "restarting"))
                        ctr_set_status(c, "exited");
                if (restart_on_daemon_start(&c->sv.restart,
                                            (int)json_get_int(ctr_state(c), "ExitCode", 0),
                                            c->sv.restart_count, c->sv.manually_stopped) &&
                    json_get_str(ctr_state(c), "StartedAt", "")[0]) {
                        log_info(c->id, "Restarting the container (restart policy)");
                        ctr_start_req(c, NULL);
                }
                return;
        }
        /* It was running: the shim either still holds it or left exit.json behind. */
        c->sv.state = SV_UP;
        c->ran = true;
        if (ctr_shim_connect(c, &e) < 0) {
                log_info(c->id, "The container exited while the daemon was down");
                ctr_on_exit(c);
        } else {
                log_info(c->id, "Reconnected to the container's shim");
                ctr_health_start(c, true);
        }
}

static int cmp_created_desc(const void *a, const void *b) {
        const struct ctr *x = *(struct ctr *const *)a, *y = *(struct ctr *const *)b;

        return strcmp(json_get_str(y->rec, "Created", ""), json_get_str(x->rec, "Created", ""));
}

int ctr_mgr_open(struct daemon *d, struct ctr_mgr **ret, struct err **errp) {
        _cleanup_(ctr_mgr_freep) struct ctr_mgr *m = xnew0(struct ctr_mgr, 1);
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_strv_ char **ids = NULL;
        struct dirent *de;
        int r;

        m->d = d;
        m->loop = d->loop;
        m->root = xstrdup(d->root);
        m->run = xstrdup(d->run);
        m->ctr_root = xasprintf("%s/containers", d->root);
        m->oci_root = xasprintf("%s/oci", d->run);
        r = mkdir_p(m->ctr_root, 0700, errp);
        if (r >= 0)
                r = mkdir_p(m->oci_root, 0700, errp);
        if (r >= 0)
                r = image_store_open(d->root, &m->images, errp);
        if (r >= 0) /* --userns-remap (ctr_userns.c) */
                r = ctr_userns_init(m, d->userns_remap_flag ?: d->config.userns_remap, errp);
        if (r < 0)
                return r;
        dir = opendir(m->ctr_root);
        if (!dir)
                return err_set(errp, errno, "open '%s'", m->ctr_root);
        ids = xnew0(char *, 1);
        while ((de = readdir(dir)))
                if (de->d_name[0] != '.' && de->d_type == DT_DIR)
                        strv_push(&ids, de->d_name);
        STRV_FOREACH (id, ids)
                ctr_load_one(m, *id);
        /* newest first, as ps lists them */
        if (m->n > 1)
                qsort_safe(m->v, m->n, sizeof(*m->v), cmp_created_desc);
        ctr_net_reconcile(m); /* berth-net */
        ctr_metrics_register(m);
        *ret = TAKE_PTR(m);
        return 0;
}

void ctr_mgr_freep(struct ctr_mgr **m) {
        *m = ctr_mgr_free(*m);
}
