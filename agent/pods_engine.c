/* SPDX-License-Identifier: Apache-2.0 */
/* The real pod runtime over the container manager (agent/containers.h). A pod's first
 * container owns the network, IPC and UTS namespaces; the others join them with container:<id>
 * modes. Every container carries the berth.* labels of pods.h, so the pods are rebuilt from the
 * containers after a restart.
 *
 * create, start and list call the container manager directly (they complete at once). Stopping
 * takes the grace period, and the container manager reports the end of a stop or removal only
 * to an HTTP request, so removal goes through the daemon's own API (stop with the grace, then
 * remove) with the curl multi client on the same loop: the same path `berth rm` takes. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "containers.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "pods.h"
#include "pods_engine.h"
#include "strv.h"
#include "xalloc.h"

#define STOP_GRACE_DEFAULT_SEC 10
#define STOP_GRACE_MAX_SEC 3600

struct pe_removal;

struct pe_step;

struct pods_engine {
        struct daemon *daemon;
        struct http_multi *http;
        struct http_target target;
        struct pe_removal *removals;
        struct pe_step *steps;
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

static struct ctr_mgr *mgr(struct pods_engine *pe) {
        return pe->daemon->ctrs;
}

static const char *label(const json_t *info, const char *key) {
        return json_get_str(json_object_get(json_object_get(info, "Config"), "Labels"), key,
                            NULL);
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
                _cleanup_json_ json_t *info = ctr_inspect(all[i - 1]);

                if (streq_ptr(label(info, "berth.pod"), pod))
                        json_array_append(list, info);
        }
        return list;
}

static char *container_name(const char *pod, const char *ctr) {
        return xasprintf("%s.%s", pod, ctr);
}

static json_t *env_list(const json_t *env) {
        json_t *l = json_array();
        const char *k;
        json_t *v;

        json_object_foreach ((json_t *)env, k, v)
                if (json_is_string(v))
                        json_array_append_new(l, json_sprintf("%s=%s", k, json_string_value(v)));
        return l;
}

/* The Engine-API create body of container i of the pod; owner is the first container's id. */
static json_t *create_body(const struct pod_spec *spec, const json_t *ct, size_t i, size_t n,
                           const char *owner) {
        const json_t *pod = spec->pod;
        const char *netmode = json_get_str(pod, "network_mode", NULL);
        _cleanup_free_ char *join = owner ? xasprintf("container:%s", owner) : NULL;
        json_t *labels, *hc, *body;
        char buf[32];

        labels = json_pack("{s:s, s:s, s:s, s:s}", "berth.stack", spec->stack, "berth.service",
                           spec->service, "berth.pod", spec->name, "berth.hash", spec->hash);
        snprintf(buf, sizeof(buf), "%u", spec->slot);
        json_object_set_new(labels, "berth.slot", json_string(buf));
        snprintf(buf, sizeof(buf), "%" PRIu64, spec->order);
        json_object_set_new(labels, "berth.order", json_string(buf));
        snprintf(buf, sizeof(buf), "%" PRIu64, spec->recreate);
        json_object_set_new(labels, "berth.recreate", json_string(buf));
        snprintf(buf, sizeof(buf), "%" PRIu64, spec->generation);
        json_object_set_new(labels, "berth.generation", json_string(buf));
        snprintf(buf, sizeof(buf), "%zu", i);
        json_object_set_new(labels, "berth.index", json_string(buf));
        snprintf(buf, sizeof(buf), "%" PRId64,
                 json_get_int(pod, "stop_grace_period_ms", STOP_GRACE_DEFAULT_SEC * 1000));
        json_object_set_new(labels, "berth.stop_grace_ms", json_string(buf));
        snprintf(buf, sizeof(buf), "%zu", n);
        json_object_set_new(labels, "berth.containers", json_string(buf));
        {
                const char *k;
                json_t *v;
                json_object_foreach (json_object_get(ct, "labels"), k, v)
                        if (json_is_string(v) && !str_startswith(k, "berth."))
                                json_object_set(labels, k, v);
        }

        /* The owner gets the pod's network; bridge networks are not in the engine yet, so a
         * pod without network_mode "host" runs with its own empty network namespace. */
        hc = json_pack("{s:s}", "NetworkMode",
                       join                              ? join
                       : streq_ptr(netmode, "host")      ? "host"
                                                         : "none");
        if (join) {
                json_object_set_new(hc, "IpcMode", json_string(join));
                json_object_set_new(hc, "UTSMode", json_string(join));
        }
        if (json_get_bool(json_object_get(ct, "security"), "privileged", false))
                json_object_set_new(hc, "Privileged", json_true());
        if (json_get_bool(json_object_get(ct, "security"), "read_only", false))
                json_object_set_new(hc, "ReadonlyRootfs", json_true());

        body = json_pack("{s:s, s:o, s:o, s:o}", "Image", json_get_str(ct, "image", ""), "Labels",
                         labels, "HostConfig", hc, "Env",
                         env_list(json_object_get(ct, "env")));
        if (json_is_array(json_object_get(ct, "command")))
                json_object_set(body, "Cmd", json_object_get(ct, "command"));
        if (json_is_array(json_object_get(ct, "entrypoint")))
                json_object_set(body, "Entrypoint", json_object_get(ct, "entrypoint"));
        if (json_get_str(ct, "working_dir", NULL))
                json_set_str(body, "WorkingDir", json_get_str(ct, "working_dir", NULL));
        if (json_get_str(ct, "user", NULL))
                json_set_str(body, "User", json_get_str(ct, "user", NULL));
        if (!join && json_get_str(pod, "hostname", NULL))
                json_set_str(body, "Hostname", json_get_str(pod, "hostname", NULL));
        if (json_get_str(pod, "stop_signal", NULL))
                json_set_str(body, "StopSignal", json_get_str(pod, "stop_signal", NULL));
        return body;
}

static int pe_remove(void *ud, const char *name, pod_done_fn *done, void *done_ud,
                     struct err **errp);

static void ignore_done(void *ud, const char *name, int r, const struct err *e) {
        (void)ud;
        if (r < 0)
                log_warn(name, "Failed to clean up pod '%s': %s, ignoring", name, err_msg(e));
}

static int pe_create(void *ud, const struct pod_spec *spec, struct err **errp) {
        struct pods_engine *pe = ud;
        const json_t *cts = json_object_get(spec->pod, "containers");
        _cleanup_free_ char *owner = NULL;
        size_t i, n = json_array_size(cts);
        json_t *ct;
        int r = 0;

        if (n == 0)
                return err_setx(errp, EINVAL, "pod '%s' has no containers", spec->name);
        json_array_foreach (cts, i, ct) {
                _cleanup_json_ json_t *body = create_body(spec, ct, i, n, owner);
                _cleanup_free_ char *cname =
                        container_name(spec->name, json_get_str(ct, "name", "main"));
                struct ctr *c = NULL;

                r = ctr_create(mgr(pe), cname, body, &c, errp);
                if (r >= 0)
                        r = ctr_start(c, errp);
                if (r < 0) {
                        (void)err_wrap(errp, "container '%s'", cname);
                        break;
                }
                if (!owner) {
                        _cleanup_json_ json_t *ci = ctr_inspect(c);
                        owner = xstrdup(json_get_str(ci, "Id", ""));
                }
        }
        if (r < 0) {
                /* Leave nothing half-created: the containers made so far go. */
                (void)pe_remove(pe, spec->name, ignore_done, NULL, NULL);
                return r;
        }
        return 0;
}

static int pe_start(void *ud, const char *name, struct err **errp) {
        struct pods_engine *pe = ud;
        _cleanup_json_ json_t *cts = pod_containers(pe, name);
        size_t i;
        json_t *info;

        if (json_array_size(cts) == 0)
                return err_setx(errp, ENOENT, "no such pod '%s'", name);
        json_array_foreach (cts, i, info) {
                struct ctr *c = NULL;
                int r = ctr_lookup(mgr(pe), json_get_str(info, "Id", ""), &c, errp);

                if (r >= 0)
                        r = ctr_start(c, errp);
                if (r < 0)
                        return err_wrap(errp, "start pod '%s'", name);
        }
        return 0;
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

        (void)errp;
        for (size_t i = n; i > 0; i--) {
                _cleanup_json_ json_t *info = ctr_inspect(all[i - 1]);
                const char *pod = label(info, "berth.pod");
                struct pod_status *p = NULL;
                enum pod_rt_state st;
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
                                .health = POD_RT_HEALTH_NONE,
                        };
                        want[k] = label_u64(info, "berth.containers");
                        have[k] = 1;
                        continue;
                }
                have[k]++;
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
        *ret = pods;
        *ret_n = n_pods;
        return 0;
}

static void removal_finish(struct pe_removal *rm) {
        struct pods_engine *pe = rm->pe;
        struct pe_removal **pp = &pe->removals;

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
        bool ok = r >= 0 && (resp->status / 100 == 2 || resp->status == 304 ||
                             resp->status == 404);

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
        _cleanup_free_ char *path = s->deleting
                                            ? xasprintf("/v1/containers/%s?force=1", s->id)
                                            : xasprintf("/v1/containers/%s/stop?t=%u", s->id,
                                                        s->grace);
        _cleanup_err_ struct err *e = NULL;

        if (http_multi_request(pe->http, &pe->target,
                               &(struct http_call){.method = s->deleting ? "DELETE" : "POST",
                                                   .path = path,
                                                   .timeout_ms = (long)(s->grace + 60) * 1000},
                               step_done, s, NULL, &e) < 0)
                step_done(-EIO, NULL, e, s);
}

static int pe_remove(void *ud, const char *name, pod_done_fn *done, void *done_ud,
                     struct err **errp) {
        struct pods_engine *pe = ud;
        _cleanup_json_ json_t *cts = pod_containers(pe, name);
        struct pe_removal *rm;
        size_t i;
        json_t *info;

        (void)errp;
        if (json_array_size(cts) == 0) {
                done(done_ud, name, 0, NULL);
                return 0;
        }
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
                s->rm = rm;
                s->id = xstrdup(json_get_str(info, "Id", ""));
                if (grace_ms < 0)
                        grace_ms = 0;
                s->grace = (unsigned)MIN(grace_ms / 1000, STOP_GRACE_MAX_SEC);
                s->next = pe->steps;
                pe->steps = s;
                step_next(s);
        }
        return 0;
}

static int pe_open(const struct daemon_env *env, void **ret_ud, struct err **errp) {
        struct daemon *d = container_of(env, struct daemon, env);
        _cleanup_free_ struct pods_engine *pe = xnew0(struct pods_engine, 1);
        int r;

        if (!d->ctrs)
                return err_setx(errp, EINVAL, "the container manager is not running");
        pe->daemon = d;
        pe->target = (struct http_target){.host = env->local_url};
        r = http_multi_new(env->loop, &pe->http, errp);
        if (r < 0)
                return r;
        *ret_ud = TAKE_PTR(pe);
        return 0;
}

static void pe_close(void *ud) {
        struct pods_engine *pe = ud;

        if (!pe)
                return;
        /* Transfers are aborted without their callbacks: free what they held. */
        http_multi_free(pe->http);
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
};
