/* SPDX-License-Identifier: Apache-2.0 */
/* The real pod runtime over the container manager (agent/containers.h). A pod's first
 * container owns the network, IPC and UTS namespaces; the others join them with container:<id>
 * modes. Every container carries the berth.* labels of pods.h, so the pods are rebuilt from the
 * containers after a restart.
 *
 * create and list call the container manager directly; starts are asynchronous (struct pe_seq:
 * each container once the one before runs, driven by ctr_start_watch()), queued by create_pod
 * and begun on the next loop iteration, at most PE_STARTS_MAX pods at once; a new pod whose
 * start fails is removed and the node told why (set_notify). Stopping
 * takes the grace period, and the container manager reports the end of a stop or removal only
 * to an HTTP request, so removal goes through the daemon's own API (stop with the grace, then
 * remove; without a grace only the forced remove) with the curl multi client on the same loop:
 * the same path `berth rm` takes. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "containers.h"
#include "events.h"
#include "fileio.h"
#include "health.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "pod_body.h"
#include "pod_res.h"
#include "overlay_peers.h"
#include "pod_vip.h"
#include "pods.h"
#include "pods_engine.h"
#include "strv.h"
#include "xalloc.h"

#define STOP_GRACE_DEFAULT_SEC 10
#define STOP_GRACE_MAX_SEC 3600
/* Pod starts under way at once (start sequences begun and not finished). Each start's work
 * on the loop (root file system, bundle, fork of the shim, network attach) is short; most of a
 * start is the shim's and the container init's, beside the loop, so every start of a pass
 * is begun at once up to this bound (measured: 8 or 16 at once made `up` of 50 services 2-3
 * times slower on a loaded machine, docs/orchestrator.md). The bound keeps a stack of
 * thousands from forking thousands of shims together. */
#define PE_STARTS_MAX 64

struct pe_removal;

struct pe_step;
struct pe_probe;
struct pe_seq;

struct pods_engine {
        struct daemon *daemon;
        struct http_multi *http;
        struct http_target target;
        struct pe_removal *removals;
        struct pe_step *steps;
        struct pe_probe *probes;
        struct pod_vip *vip;         /* service names and VIPs (pod_vip.h) */
        struct overlay_peers *peers; /* remote overlay endpoints (overlay_peers.h) */
        struct pe_seq *seqs;
        /* set_notify: told when a pod changes by itself (container events of pods, the end of
         * a start sequence, a health status change, a probe falling due) */
        pod_changed_fn *notify;
        void *notify_ud;
        struct event_sub *sub;
        ev_timer probe_due; /* the next health probe is due: a pass starts it */
        ev_timer pump;      /* begin queued start sequences (seq_pump) */
};

/* One pod's start: its containers in order, each once the one before runs (the first owns the
 * namespaces the others join), on the loop: a slow start never blocks the API. */
struct pe_seq {
        struct pods_engine *pe;
        char *name;
        char **ids;
        size_t i, n;
        bool remove_on_failure; /* a new pod: leave nothing half-created */
        bool begun;             /* out of the queue: its starts are under way */
        struct pe_seq *next;
};

/* Health checking of one container incarnation (agent/health.h decides the status): the probe
 * is an exec through the daemon's API, whose last line carries the exit code. */
struct pe_probe {
        struct pods_engine *pe;
        char *id;
        char *started; /* State.StartedAt: a restart resets the health */
        struct health_config cfg;
        struct health h;
        uint64_t next_usec, probe_start_usec;
        int last_exit;
        bool probing, seen;
        struct http_xfer *x;
        struct pe_probe *next;
};

/* One pod's removal: every container stopped, then removed; done when none is left. */
struct pe_removal {
        struct pods_engine *pe;
        char *name;
        pod_done_fn *done;
        void *ud;
        unsigned pending;
        int r;
        struct err *e;
        struct pe_removal *next;
};

/* One container of a removal: stop, then delete. */
struct pe_step {
        struct pe_removal *rm;
        char *id;
        unsigned grace;
        bool deleting;
        struct pe_step *next;
};

/* The HTTP client, made at its first use: curl_global_init() initialises OpenSSL, which faults
 * in megabytes of libcrypto that an idle daemon does not need. */
static struct http_multi *pe_http(struct pods_engine *pe, struct err **errp) {
        if (!pe->http && http_multi_new(pe->daemon->loop, &pe->http, errp) < 0)
                return NULL;
        return pe->http;
}

static struct ctr_mgr *mgr(struct pods_engine *pe) {
        return pe->daemon->ctrs;
}

static const char *label(const json_t *info, const char *key) {
        return json_get_str(json_object_get(json_object_get(info, "Config"), "Labels"), key, NULL);
}

static uint64_t label_u64(const json_t *info, const char *key) {
        const char *v = label(info, key);
        return v ? strtoull(v, NULL, 10) : 0;
}

/* The pod's containers (inspect documents), in their index order. */
static json_t *pod_containers(struct pods_engine *pe, const char *pod) {
        json_t *list = json_array();
        struct ctr **all = NULL;
        size_t n = ctr_all(mgr(pe), &all);

        for (size_t i = n; i > 0; i--) { /* ctr_all is newest first */
                const json_t *info = ctr_record(all[i - 1]);

                if (streq_ptr(label(info, "berth.pod"), pod))
                        json_array_append(list, (json_t *)info);
        }
        return list;
}

static char *container_name(const char *pod, const char *ctr) {
        return xasprintf("%s.%s", pod, ctr);
}

static int pe_remove(void *ud, const char *name, int timeout_s, pod_done_fn *done, void *done_ud,
                     struct err **errp);

static void ignore_done(void *ud, const char *name, int r, const struct err *e) {
        (void)ud;
        if (r < 0)
                log_warn(name, "Failed to clean up pod '%s': %s, ignoring", name, err_msg(e));
}

static void notify(struct pods_engine *pe) {
        if (pe->notify)
                pe->notify(pe->notify_ud, NULL, NULL);
}

/* Begins queued start sequences on the next loop iteration (never inside the caller's pass:
 * a start that fails at once then still fails after create_pod() returned). */
static void pump_soon(struct pods_engine *pe) {
        struct ev_loop *loop = pe->daemon->loop;

        if (loop && !ev_is_active(&pe->pump)) {
                ev_timer_set(&pe->pump, 0., 0.);
                ev_timer_start(loop, &pe->pump);
        }
}

static struct pe_seq *seq_find(struct pods_engine *pe, const char *name) {
        for (struct pe_seq *q = pe->seqs; q; q = q->next)
                if (streq(q->name, name))
                        return q;
        return NULL;
}

static void seq_started(void *ud, struct ctr *c, int r, const struct err *e);

/* Unlinks and frees q, no longer watching the container it waited for. */
static void seq_free(struct pe_seq *q) {
        struct pe_seq **pp = &q->pe->seqs;
        struct ctr *c = NULL;

        while (*pp && *pp != q)
                pp = &(*pp)->next;
        if (*pp)
                *pp = q->next;
        if (q->begun && q->i < q->n && ctr_lookup(mgr(q->pe), q->ids[q->i], &c, NULL) >= 0)
                ctr_start_unwatch(c, seq_started, q);
        if (q->begun)
                pump_soon(q->pe); /* a place for a queued one */
        strv_free(q->ids);
        free(q->name);
        free(q);
}

static void seq_fail(struct pe_seq *q, const struct err *e) {
        struct pods_engine *pe = q->pe;
        _cleanup_free_ char *name = xstrdup(q->name);
        bool remove = q->remove_on_failure;

        _cleanup_err_ struct err *why = NULL;

        log_error(name, "Failed to start pod '%s': container %s: %s", name,
                  q->i < q->n ? q->ids[q->i] : "?", err_msg(e));
        (void)err_setx(&why, e ? e->code : EIO, "container %s: %s",
                       q->i < q->n ? q->ids[q->i] : "?", err_msg(e));
        q->i = q->n; /* nothing watched any more */
        seq_free(q);
        if (!remove) {
                notify(pe);
                return;
        }
        (void)pe_remove(pe, name, 0, ignore_done, NULL, NULL);
        /* The node retries it with backoff and reports why (pods.h). */
        if (pe->notify)
                pe->notify(pe->notify_ud, name, why);
}

/* Starts the next container that is not running; frees q when every one runs or one failed. */
static void seq_next(struct pe_seq *q) {
        while (q->i < q->n) {
                _cleanup_err_ struct err *e = NULL;
                struct ctr *c = NULL;
                int r = ctr_lookup(mgr(q->pe), q->ids[q->i], &c, &e);

                if (r >= 0)
                        r = ctr_start_watch(c, seq_started, q, &e);
                if (r < 0) {
                        seq_fail(q, e);
                        return;
                }
                if (r == 0)
                        return; /* seq_started() follows */
                q->i++;
        }
        log_info(q->name, "Pod '%s' started", q->name);
        {
                struct pods_engine *pe = q->pe;
                seq_free(q);
                notify(pe);
        }
}

static void seq_started(void *ud, struct ctr *c, int r, const struct err *e) {
        struct pe_seq *q = ud;

        (void)c;
        if (r < 0) {
                seq_fail(q, e);
                return;
        }
        q->i++;
        seq_next(q);
}

/* Begins queued sequences, oldest first, while fewer than PE_STARTS_MAX are under way. */
static void seq_pump(struct pods_engine *pe) {
        for (;;) {
                unsigned begun = 0;
                struct pe_seq *first = NULL;

                for (struct pe_seq *q = pe->seqs; q; q = q->next)
                        if (q->begun)
                                begun++;
                        else if (!first)
                                first = q;
                if (!first || begun >= PE_STARTS_MAX)
                        return;
                first->begun = true;
                seq_next(first); /* may free it; the list is walked again */
        }
}

static void pump_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        seq_pump(container_of(w, struct pods_engine, pump));
}

/* Queues the start of the containers ids (taken) of pod name, in order; seq_pump begins it. */
static void seq_begin(struct pods_engine *pe, const char *name, char **ids_take,
                      bool remove_on_failure) {
        struct pe_seq *q = xnew0(struct pe_seq, 1), **tail = &pe->seqs;

        *q = (struct pe_seq){.pe = pe,
                             .name = xstrdup(name),
                             .ids = ids_take,
                             .n = strv_length(ids_take),
                             .remove_on_failure = remove_on_failure};
        while (*tail)
                tail = &(*tail)->next;
        *tail = q;
        if (pe->daemon->loop)
                pump_soon(pe);
        else
                seq_pump(pe);
}

static int pe_create(void *ud, const struct pod_spec *spec, struct err **errp) {
        struct pods_engine *pe = ud;
        const json_t *cts = json_object_get(spec->pod, "containers");
        _cleanup_free_ char *owner = NULL, *secrets = NULL;
        _cleanup_strv_ char **warnings = NULL, **ids = NULL;
        size_t i, n = json_array_size(cts);
        json_t *ct;
        int r = 0;

        if (n == 0)
                return err_setx(errp, EINVAL, "pod '%s' has no containers", spec->name);
        if (json_array_size(json_object_get(spec->pod, "init_containers")) > 0)
                strv_push_take(&warnings,
                               xasprintf("services.%s.init_containers: not run yet, ignored",
                                         spec->service));
        json_array_foreach (cts, i, ct) {
                static const char *const kinds[] = {"liveness", "readiness", "startup"};
                const json_t *pr = json_object_get(ct, "probes");
                bool any = false;

                for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                        any |= json_is_object(json_object_get(pr, kinds[k]));
                if (any)
                        strv_push_take(&warnings,
                                       xasprintf("services.%s.containers[%zu].probes: Kubernetes "
                                                 "probes are not run yet (healthcheck is), "
                                                 "ignored",
                                                 spec->service, i));
        }
        r = pod_res_prepare(pe->daemon, spec, errp);
        if (r >= 0)
                r = pod_secrets_prepare(pe->daemon, spec, &secrets, errp);
        if (r < 0)
                return r;
        json_array_foreach (cts, i, ct) {
                _cleanup_json_ json_t *body = NULL;
                _cleanup_free_ char *cname =
                        container_name(spec->name, json_get_str(ct, "name", "main"));
                struct ctr *c = NULL;

                r = pod_body_build(&(struct pod_body_opts){.spec = spec,
                                                           .ct = ct,
                                                           .index = i,
                                                           .count = n,
                                                           .owner = owner,
                                                           .secrets_dir = secrets},
                                   &body, &warnings, errp);
                if (r >= 0)
                        /* No fsync per record: 2 per container were most of a 50-service
                         * up on the loop; a pod whose record a power cut loses is made again
                         * from its assignment. */
                        r = ctr_create_ex(mgr(pe), cname, body, false, &c, errp);
                if (r < 0) {
                        (void)err_wrap(errp, "container '%s'", cname);
                        break;
                }
                strv_push(&ids, json_get_str(ctr_record(c), "Id", ""));
                if (!owner)
                        owner = xstrdup(json_get_str(ctr_record(c), "Id", ""));
        }
        STRV_FOREACH (w, warnings)
                log_warn(spec->name, "Pod '%s': %s", spec->name, *w);
        if (r < 0) {
                /* Leave nothing half-created: the containers made so far go, and with the last
                 * one the secrets. */
                (void)pe_remove(pe, spec->name, 0, ignore_done, NULL, NULL);
                return r;
        }
        /* Started on the loop; a failure then removes the pod (its containers show the error
         * meanwhile). */
        seq_begin(pe, spec->name, TAKE_PTR(ids), true);
        return 0;
}

static int pe_start(void *ud, const char *name, struct err **errp) {
        struct pods_engine *pe = ud;
        _cleanup_json_ json_t *cts = pod_containers(pe, name);
        _cleanup_strv_ char **ids = NULL;
        size_t i;
        json_t *info;

        if (json_array_size(cts) == 0)
                return err_setx(errp, ENOENT, "no such pod '%s'", name);
        if (seq_find(pe, name))
                return 0; /* its start is under way */
        json_array_foreach (cts, i, info)
                strv_push(&ids, json_get_str(info, "Id", ""));
        seq_begin(pe, name, TAKE_PTR(ids), false);
        return 0;
}

static void probe_free(struct pe_probe *p) {
        if (p->x)
                http_multi_cancel(p->pe->http, p->x);
        free(p->id);
        free(p->started);
        health_config_done(&p->cfg);
        health_done(&p->h);
        free(p);
}

/* Arms probe_due for the earliest probe that is not running, so a probe starts on time
 * (probes start from a pass, pe_list) rather than at the agent's next tick. */
static void probes_arm(struct pods_engine *pe) {
        struct ev_loop *loop = pe->daemon->loop;
        uint64_t next = UINT64_MAX, now;

        if (!loop || !pe->notify)
                return;
        for (struct pe_probe *p = pe->probes; p; p = p->next)
                if (p->cfg.test && !p->probing && p->next_usec < next)
                        next = p->next_usec;
        ev_timer_stop(loop, &pe->probe_due);
        if (next == UINT64_MAX)
                return;
        now = realtime_usec();
        ev_timer_set(&pe->probe_due, next > now ? (double)(next - now) / 1e6 : 0., 0.);
        ev_timer_start(loop, &pe->probe_due);
}

static void probe_due_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct pods_engine *pe = container_of(w, struct pods_engine, probe_due);

        (void)loop;
        (void)revents;
        notify(pe);
}

/* The model's healthcheck ({"test", "interval_ms", ...}) as a health config; false when there
 * is none to run. */
static bool probe_config(const char *text, struct health_config *ret) {
        _cleanup_json_ json_t *hc = NULL;
        const json_t *test;
        size_t i;
        json_t *v;

        if (json_parse(text, strlen(text), "berth.healthcheck", &hc, NULL) < 0)
                return false;
        test = json_object_get(hc, "test");
        if (!json_is_array(test) || json_array_size(test) < 2)
                return false;
        json_array_foreach (test, i, v)
                if (json_is_string(v))
                        strv_push(&ret->test, json_string_value(v));
        if (!streq(ret->test[0], "CMD") && !streq(ret->test[0], "CMD-SHELL"))
                return false;
#define MS(key, def) ((uint64_t)json_get_int(hc, key, def) * USEC_PER_MSEC)
        ret->interval_usec = MS("interval_ms", 30000);
        ret->timeout_usec = MS("timeout_ms", 30000);
        ret->start_period_usec = MS("start_period_ms", 0);
        ret->start_interval_usec = MS("start_interval_ms", 5000);
#undef MS
        ret->retries = (unsigned)json_get_int(hc, "retries", 3);
        if (ret->interval_usec == 0)
                ret->interval_usec = 30 * USEC_PER_SEC;
        if (ret->timeout_usec == 0)
                ret->timeout_usec = 30 * USEC_PER_SEC;
        return true;
}

static int probe_line(const char *line, size_t len, void *ud) {
        struct pe_probe *p = ud;
        _cleanup_json_ json_t *j = NULL;

        if (json_parse(line, len, "exec line", &j, NULL) >= 0 && json_object_get(j, "ExitCode"))
                p->last_exit = (int)json_get_int(j, "ExitCode", -1);
        return 0;
}

static void probe_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct pe_probe *p = ud;
        uint64_t now = realtime_usec();
        int code = r >= 0 && resp->status / 100 == 2 ? p->last_exit : -1;
        enum health_status before = p->h.status;

        (void)e;
        p->x = NULL;
        p->probing = false;
        if (code > 1)
                code = 1;
        health_record(&p->h, &p->cfg, p->probe_start_usec, now, code,
                      xstrdup(code == -1 ? "probe failed or timed out" : ""));
        p->next_usec = now + health_next_delay(&p->h, &p->cfg, now);
        if (p->h.status != before)
                notify(p->pe);
        else
                probes_arm(p->pe);
}

static void probe_start(struct pe_probe *p, uint64_t now) {
        _cleanup_json_ json_t *body = NULL, *cmd = json_array();
        _cleanup_free_ char *path = xasprintf("/v1/containers/%s/exec", p->id), *text = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (streq(p->cfg.test[0], "CMD-SHELL")) {
                _cleanup_free_ char *sh = strv_join(p->cfg.test + 1, " ");
                json_array_append_new(cmd, json_string("/bin/sh"));
                json_array_append_new(cmd, json_string("-c"));
                json_array_append_new(cmd, json_string(sh));
        } else
                STRV_FOREACH (a, p->cfg.test + 1)
                        json_array_append_new(cmd, json_string(*a));
        body = json_pack("{s:O}", "Cmd", cmd);
        text = json_dump_str(body, false);
        p->last_exit = -1;
        p->probe_start_usec = now;
        if (!pe_http(p->pe, &e) ||
            http_multi_request(
                    p->pe->http, &p->pe->target,
                    &(struct http_call){.method = "POST",
                                        .path = path,
                                        .body = text,
                                        .body_len = strlen(text),
                                        .timeout_ms = (long)(p->cfg.timeout_usec / USEC_PER_MSEC),
                                        .on_line = probe_line,
                                        .ud = p},
                    probe_done, p, &p->x, &e) < 0) {
                p->next_usec = now + p->cfg.interval_usec;
                return;
        }
        p->probing = true;
}

/* The health of a running container with a health check, probing when due. */
static enum pod_rt_health container_health(struct pods_engine *pe, const json_t *info,
                                           uint64_t now) {
        const char *hc = label(info, "berth.healthcheck");
        const char *id = json_get_str(info, "Id", "");
        const char *started = json_get_str(json_object_get(info, "State"), "StartedAt", "");
        struct pe_probe *p;

        if (!hc)
                return POD_RT_HEALTH_NONE;
        for (p = pe->probes; p; p = p->next)
                if (streq(p->id, id))
                        break;
        if (p && !streq(p->started, started)) {
                /* A new incarnation: health starts over. */
                free(p->started);
                p->started = xstrdup(started);
                health_reset(&p->h, now);
                p->next_usec = now;
        }
        if (!p) {
                p = xnew0(struct pe_probe, 1);
                p->pe = pe;
                p->id = xstrdup(id);
                p->started = xstrdup(started);
                if (!probe_config(hc, &p->cfg)) {
                        p->cfg.test = strv_free(p->cfg.test);
                        p->h.status = HEALTH_NONE;
                } else
                        health_reset(&p->h, now);
                p->next_usec = now;
                p->next = pe->probes;
                pe->probes = p;
        }
        p->seen = true;
        if (!p->cfg.test)
                return POD_RT_HEALTH_NONE;
        if (!p->probing && now >= p->next_usec)
                probe_start(p, now);
        switch (p->h.status) {
        case HEALTH_STARTING:
                return POD_RT_HEALTH_STARTING;
        case HEALTH_HEALTHY:
                return POD_RT_HEALTH_HEALTHY;
        case HEALTH_UNHEALTHY:
                return POD_RT_HEALTH_UNHEALTHY;
        case HEALTH_NONE:
        case _HEALTH_MAX:
        default:
                return POD_RT_HEALTH_NONE;
        }
}

/* Forgets the probes of containers that are gone or not running. */
static void probes_gc(struct pods_engine *pe) {
        struct pe_probe **pp = &pe->probes;

        while (*pp) {
                struct pe_probe *p = *pp;

                if (p->seen) {
                        p->seen = false;
                        pp = &p->next;
                        continue;
                }
                *pp = p->next;
                probe_free(p);
        }
}

static enum pod_rt_state container_state(const json_t *info, int *ret_exit) {
        const json_t *st = json_object_get(info, "State");
        const char *s = json_get_str(st, "Status", "");

        *ret_exit = (int)json_get_int(st, "ExitCode", 0);
        if (streq(s, "running") || streq(s, "restarting") || streq(s, "paused"))
                return POD_RT_RUNNING;
        if (streq(s, "created"))
                return POD_RT_CREATED;
        if (streq(s, "dead") || streq(s, "removing"))
                return POD_RT_DEAD;
        return POD_RT_EXITED;
}

static int pe_list(void *ud, struct pod_status **ret, size_t *ret_n, struct err **errp) {
        struct pods_engine *pe = ud;
        struct pod_status *pods = NULL;
        size_t n_pods = 0, alloc = 0;
        struct ctr **all = NULL;
        size_t n = ctr_all(mgr(pe), &all);
        /* Containers each pod should have (label) and has. */
        _cleanup_free_ uint64_t *want = xnew0(uint64_t, n + 1);
        _cleanup_free_ uint64_t *have = xnew0(uint64_t, n + 1);
        uint64_t now = realtime_usec();

        (void)errp;
        for (size_t i = n; i > 0; i--) {
                const json_t *info = ctr_record(all[i - 1]);
                const char *pod = label(info, "berth.pod");
                struct pod_status *p = NULL;
                enum pod_rt_state st;
                enum pod_rt_health hl;
                int code;

                if (!pod || !label(info, "berth.stack") || !label(info, "berth.service") ||
                    !label(info, "berth.hash"))
                        continue;
                size_t k;

                for (k = 0; k < n_pods; k++)
                        if (streq(pods[k].name, pod)) {
                                p = &pods[k];
                                break;
                        }
                st = container_state(info, &code);
                hl = st == POD_RT_RUNNING ? container_health(pe, info, now) : POD_RT_HEALTH_NONE;
                if (!p) {
                        XGROW(pods, alloc, n_pods + 1);
                        p = &pods[n_pods++];
                        *p = (struct pod_status){
                                .name = xstrdup(pod),
                                .stack = xstrdup(label(info, "berth.stack")),
                                .service = xstrdup(label(info, "berth.service")),
                                .hash = xstrdup(label(info, "berth.hash")),
                                .slot = (unsigned)label_u64(info, "berth.slot"),
                                .generation = label_u64(info, "berth.generation"),
                                .order = label_u64(info, "berth.order"),
                                .recreate = label_u64(info, "berth.recreate"),
                                .state = st,
                                .exit_code = code,
                                .health = hl,
                        };
                        want[k] = label_u64(info, "berth.containers");
                        have[k] = 1;
                        continue;
                }
                have[k]++;
                /* Unhealthy beats starting beats healthy beats none. */
                if (hl == POD_RT_HEALTH_UNHEALTHY ||
                    (hl == POD_RT_HEALTH_STARTING && p->health != POD_RT_HEALTH_UNHEALTHY) ||
                    (hl == POD_RT_HEALTH_HEALTHY && p->health == POD_RT_HEALTH_NONE))
                        p->health = hl;
                /* The pod is as far as its worst container. */
                if (st == POD_RT_DEAD || (st == POD_RT_EXITED && p->state != POD_RT_DEAD) ||
                    (st == POD_RT_CREATED && p->state == POD_RT_RUNNING)) {
                        p->state = st;
                        p->exit_code = code;
                }
        }
        /* A pod missing some of its containers is dead: it cannot be started again. */
        for (size_t k = 0; k < n_pods; k++)
                if (want[k] && have[k] < want[k])
                        pods[k].state = POD_RT_DEAD;
        probes_gc(pe);
        probes_arm(pe);
        pod_vip_sync(pe->vip, pods, n_pods);
        *ret = pods;
        *ret_n = n_pods;
        return 0;
}

static void removal_finish(struct pe_removal *rm) {
        struct pods_engine *pe = rm->pe;
        struct pe_removal **pp = &pe->removals;

        if (rm->r >= 0)
                pod_secrets_cleanup(pe->daemon, rm->name);

        while (*pp && *pp != rm)
                pp = &(*pp)->next;
        if (*pp)
                *pp = rm->next;
        rm->done(rm->ud, rm->name, rm->r, rm->e);
        err_free(rm->e);
        free(rm->name);
        free(rm);
}

static void step_free(struct pe_step *s) {
        struct pe_step **pp = &s->rm->pe->steps;

        while (*pp && *pp != s)
                pp = &(*pp)->next;
        if (*pp)
                *pp = s->next;
        free(s->id);
        free(s);
}

static void step_next(struct pe_step *s);

static void step_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct pe_step *s = ud;
        struct pe_removal *rm = s->rm;
        /* 404: already gone; 304: not running. */
        bool ok = r >= 0 && (resp->status / 100 == 2 || resp->status == 304 || resp->status == 404);

        if (!ok) {
                if (rm->r >= 0 && r < 0)
                        rm->r = err_setx(&rm->e, -r, "container %s: %s", s->id, err_msg(e));
                else if (rm->r >= 0)
                        rm->r = err_setx(&rm->e, EIO, "container %s: HTTP %ld: %.200s", s->id,
                                         resp->status, resp->body ? resp->body : "");
                goto finished;
        }
        if (!s->deleting) {
                s->deleting = true;
                step_next(s);
                return;
        }
finished:
        step_free(s);
        if (--rm->pending == 0)
                removal_finish(rm);
}

static void step_next(struct pe_step *s) {
        struct pods_engine *pe = s->rm->pe;
        _cleanup_free_ char *path =
                s->deleting ? xasprintf("/v1/containers/%s?force=1", s->id)
                            : xasprintf("/v1/containers/%s/stop?t=%u", s->id, s->grace);
        _cleanup_err_ struct err *e = NULL;

        if (!pe_http(pe, &e) ||
            http_multi_request(pe->http, &pe->target,
                               &(struct http_call){.method = s->deleting ? "DELETE" : "POST",
                                                   .path = path,
                                                   .timeout_ms = (long)(s->grace + 60) * 1000},
                               step_done, s, NULL, &e) < 0)
                step_done(-EIO, NULL, e, s);
}

static int pe_remove(void *ud, const char *name, int timeout_s, pod_done_fn *done, void *done_ud,
                     struct err **errp) {
        struct pods_engine *pe = ud;
        _cleanup_json_ json_t *cts = pod_containers(pe, name);
        struct pe_removal *rm;
        size_t i;
        json_t *info;

        (void)errp;
        if (seq_find(pe, name))
                seq_free(seq_find(pe, name)); /* no further starts */
        if (json_array_size(cts) == 0) {
                pod_secrets_cleanup(pe->daemon, name);
                done(done_ud, name, 0, NULL);
                return 0;
        }
        /* Out of DNS and the VIPs before the stop signal. */
        pod_vip_withdraw(pe->vip, name);
        rm = xnew0(struct pe_removal, 1);
        *rm = (struct pe_removal){.pe = pe, .name = xstrdup(name), .done = done, .ud = done_ud};
        rm->next = pe->removals;
        pe->removals = rm;
        rm->pending = (unsigned)json_array_size(cts);
        json_array_foreach (cts, i, info) {
                struct pe_step *s = xnew0(struct pe_step, 1);
                int64_t grace_ms = STOP_GRACE_DEFAULT_SEC * 1000;
                const char *g = label(info, "berth.stop_grace_ms");

                if (g)
                        grace_ms = strtoll(g, NULL, 10);
                if (timeout_s >= 0)
                        grace_ms = (int64_t)timeout_s * 1000;
                s->rm = rm;
                s->id = xstrdup(json_get_str(info, "Id", ""));
                if (grace_ms < 0)
                        grace_ms = 0;
                s->grace = (unsigned)MIN(grace_ms / 1000, STOP_GRACE_MAX_SEC);
                /* Without a grace period a stop is a kill: the forced delete does it, in one
                 * request instead of two (`down -t 0`). */
                s->deleting = s->grace == 0;
                s->next = pe->steps;
                pe->steps = s;
                step_next(s);
        }
        return 0;
}

static void pe_sync_stacks(void *ud, const json_t *stacks) {
        struct pods_engine *pe = ud;

        overlay_peers_sync(pe->peers, stacks, pe->vip);
}

static int pe_gc_stacks(void *ud, char *const *live) {
        struct pods_engine *pe = ud;

        return pod_res_gc(pe->daemon, live);
}

/* A container of a pod started, died, was removed...: its pod may have changed. */
static void pe_event(const struct event *ev, void *ud) {
        struct pods_engine *pe = ud;

        if (streq(ev->action, "start") || streq(ev->action, "die") ||
            streq(ev->action, "destroy") || streq(ev->action, "pause") ||
            streq(ev->action, "unpause"))
                notify(pe);
}

static void pe_set_notify(void *ud, pod_changed_fn *fn, void *fn_ud) {
        struct pods_engine *pe = ud;

        pe->notify = fn;
        pe->notify_ud = fn_ud;
        if (fn && !pe->sub && pe->daemon->events) {
                char *types[] = {(char *)"container", NULL};
                char *labels[] = {(char *)"berth.pod", NULL};
                struct event_filter f = {.types = types, .labels = labels};

                pe->sub = event_subscribe(pe->daemon->events, &f, 0, 0, pe_event, pe);
        } else if (!fn && pe->sub) {
                event_unsubscribe(pe->daemon->events, pe->sub);
                pe->sub = NULL;
        }
        if (!fn && pe->daemon->loop)
                ev_timer_stop(pe->daemon->loop, &pe->probe_due);
}

static int pe_open(const struct daemon_env *env, void **ret_ud, struct err **errp) {
        struct daemon *d = container_of(env, struct daemon, env);
        _cleanup_free_ struct pods_engine *pe = xnew0(struct pods_engine, 1);

        if (!d->ctrs)
                return err_setx(errp, EINVAL, "the container manager is not running");
        pe->daemon = d;
        pe->target = (struct http_target){.host = env->local_url};
        pe->vip = pod_vip_new(d);
        pe->peers = overlay_peers_new(d);
        ev_timer_init(&pe->probe_due, probe_due_cb, 0., 0.);
        ev_timer_init(&pe->pump, pump_cb, 0., 0.);
        *ret_ud = TAKE_PTR(pe);
        return 0;
}

static void pe_close(void *ud) {
        struct pods_engine *pe = ud;

        if (!pe)
                return;
        pe_set_notify(pe, NULL, NULL);
        /* Transfers are aborted without their callbacks: free what they held. */
        if (pe->http)
                http_multi_free(pe->http);
        pe->http = NULL;
        pe->vip = pod_vip_free(pe->vip);
        pe->peers = overlay_peers_free(pe->peers);
        while (pe->probes) {
                struct pe_probe *p = pe->probes;
                pe->probes = p->next;
                p->x = NULL;
                probe_free(p);
        }
        while (pe->seqs)
                seq_free(pe->seqs);
        if (pe->daemon->loop) /* after the sequences: freeing one arms it */
                ev_timer_stop(pe->daemon->loop, &pe->pump);
        while (pe->steps) {
                struct pe_step *st = pe->steps;
                pe->steps = st->next;
                free(st->id);
                free(st);
        }
        while (pe->removals) {
                struct pe_removal *rm = pe->removals;
                pe->removals = rm->next;
                err_free(rm->e);
                free(rm->name);
                free(rm);
        }
        free(pe);
}

const struct pod_runtime_ops pods_engine_ops = {
        .open = pe_open,
        .close = pe_close,
        .create_pod = pe_create,
        .start_pod = pe_start,
        .remove_pod = pe_remove,
        .list_pods = pe_list,
        .gc_stacks = pe_gc_stacks,
        .sync_stacks = pe_sync_stacks,
        .set_notify = pe_set_notify,
};
