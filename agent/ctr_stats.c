/* SPDX-License-Identifier: Apache-2.0 */
/* Resource usage and live limits of containers (issue #6): GET /v1/containers/{id}/stats in
 * docker's shape (from the container's cgroup, /proc/stat and the container's /proc/PID/net/dev)
 * and POST /v1/containers/{id}/update (memory, CPUs, pids limit, restart policy). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "json.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "strv.h"
#include "xalloc.h"

/* Sum of all CPUs' time in /proc/stat's first line, in nanoseconds (docker's system_cpu_usage). */
static uint64_t system_cpu_ns(void) {
        _cleanup_free_ char *buf = NULL;
        unsigned long long v, sum = 0;
        long tck = sysconf(_SC_CLK_TCK);
        size_t len = 0;
        char *p;
        int n;

        if (read_file("/proc/stat", 1u << 20, &buf, &len, NULL) < 0 || !str_startswith(buf, "cpu "))
                return 0;
        p = buf + 4;
        for (int i = 0; i < 8 && sscanf(p, " %llu%n", &v, &n) == 1; i++) {
                sum += v;
                p += n;
        }
        return tck > 0 ? sum * (1000000000ULL / (unsigned long long)tck) : 0;
}

static uint64_t host_mem_total(void) {
        _cleanup_free_ char *buf = NULL;
        unsigned long long kb = 0;
        size_t len = 0;
        char *p;

        if (read_file("/proc/meminfo", 1u << 20, &buf, &len, NULL) < 0)
                return 0;
        p = strstr(buf, "MemTotal:");
        if (p)
                (void)sscanf(p + 9, " %llu", &kb);
        return kb * 1024;
}

/* blkio: v1 blkio.throttle.io_service_bytes_recursive ("8:0 Read 4096"), v2 io.stat
 * ("8:0 rbytes=4096 wbytes=0 ..."). */
static json_t *blkio_json(const struct cg *cg) {
        json_t *arr = json_array();
        _cleanup_free_ char *buf = NULL, *dir = NULL;

        if (cg->driver != CG_DRIVER_V2 && cg->v1_path[CG_V1_BLKIO]) {
                dir = xasprintf("%s/%s%s", cg->root, cg_v1_ctrl_name(CG_V1_BLKIO),
                                cg->v1_path[CG_V1_BLKIO]);
                if (cg_read(dir, "blkio.throttle.io_service_bytes_recursive", &buf, NULL) < 0 &&
                    cg_read(dir, "blkio.throttle.io_service_bytes", &buf, NULL) < 0)
                        return arr;
                for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
                        unsigned maj, min;
                        unsigned long long v;
                        char op[16];

                        if (sscanf(l, "%u:%u %15s %llu", &maj, &min, op, &v) != 4 ||
                            (strcmp(op, "Read") && strcmp(op, "Write")))
                                continue;
                        op[0] = (char)(op[0] - 'A' + 'a');
                        json_array_append_new(arr,
                                              json_pack("{s:i,s:i,s:s,s:I}", "major", maj, "minor",
                                                        min, "op", op, "value", (json_int_t)v));
                }
        } else if (cg->v2_path) {
                dir = xasprintf("%s%s", cg->root, cg->v2_path);
                if (cg_read(dir, "io.stat", &buf, NULL) < 0)
                        return arr;
                for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
                        unsigned maj, min;
                        unsigned long long rb = 0, wb = 0;
                        char *p;

                        if (sscanf(l, "%u:%u", &maj, &min) != 2)
                                continue;
                        if ((p = strstr(l, "rbytes=")))
                                rb = strtoull(p + 7, NULL, 10);
                        if ((p = strstr(l, "wbytes=")))
                                wb = strtoull(p + 7, NULL, 10);
                        json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:I}", "major", maj,
                                                             "minor", min, "op", "read", "value",
                                                             (json_int_t)rb));
                        json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:I}", "major", maj,
                                                             "minor", min, "op", "write", "value",
                                                             (json_int_t)wb));
                }
        }
        return arr;
}

/* The interfaces of the container's network namespace but lo, from /proc/PID/net/dev; NULL when
 * there is none. */
static json_t *networks_json(pid_t pid) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/net/dev", (int)pid), *buf = NULL;
        json_t *nets = NULL;
        size_t len = 0;
        char *save = NULL;

        if (pid <= 0 || read_file(path, 1u << 20, &buf, &len, NULL) < 0)
                return NULL;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned long long f[16];
                char *colon = strchr(l, ':'), *name = l;

                if (!colon)
                        continue;
                *colon = '\0';
                while (*name == ' ')
                        name++;
                if (streq(name, "lo") ||
                    sscanf(colon + 1,
                           "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
                           "%llu %llu",
                           &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
                           &f[10], &f[11], &f[12], &f[13], &f[14], &f[15]) != 16)
                        continue;
                if (!nets)
                        nets = json_object();
                json_object_set_new(nets, name,
                                    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes",
                                              (json_int_t)f[0], "rx_packets", (json_int_t)f[1],
                                              "rx_errors", (json_int_t)f[2], "rx_dropped",
                                              (json_int_t)f[3], "tx_bytes", (json_int_t)f[8],
                                              "tx_packets", (json_int_t)f[9], "tx_errors",
                                              (json_int_t)f[10], "tx_dropped", (json_int_t)f[11]));
        }
        return nets;
}

static json_t *cpu_json(uint64_t total, uint64_t system) {
        return json_pack("{s:{s:I},s:I,s:i}", "cpu_usage", "total_usage", (json_int_t)total,
                         "system_cpu_usage", (json_int_t)system, "online_cpus",
                         (int)sysconf(_SC_NPROCESSORS_ONLN));
}

/* One sample of a running container, in docker's shape; precpu is the previous cpu_stats (or
 * NULL). */
int ctr_stats_sample(struct ctr *c, const json_t *precpu, json_t **ret, struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_free_ char *now = ctr_now_str();
        struct cg_stats s = {};
        uint64_t host_mem = host_mem_total();
        json_t *j, *nets;
        int r;

        if (!ctr_running(c))
                return err_setx(errp, EBUSY, "Container %s is not running", c->id);
        r = rt_state_load(c->m->oci_root, c->id, &st, errp);
        if (r < 0)
                return r;
        if (!st->cg)
                return err_setx(errp, ENOTSUP, "container %s has no cgroup", c->id);
        r = st->cg->ops->stats(st->cg, &s, errp);
        if (r < 0)
                return r;
        if (s.mem_limit == 0 || (host_mem > 0 && s.mem_limit > host_mem))
                s.mem_limit = host_mem; /* unlimited: the host's memory, as docker shows it */
        j = json_pack("{s:s,s:s,s:s,s:{s:I,s:I},s:o,s:{s:I,s:I,s:I},s:{s:o}}", "read", now, "id",
                      c->id, "name", json_get_str(c->rec, "Name", ""), "pids_stats", "current",
                      (json_int_t)s.pids_current, "limit", (json_int_t)s.pids_limit, "cpu_stats",
                      cpu_json(s.cpu_usage_ns, system_cpu_ns()), "memory_stats", "usage",
                      (json_int_t)s.mem_usage, "limit", (json_int_t)s.mem_limit, "max_usage",
                      (json_int_t)s.mem_max_usage, "blkio_stats", "io_service_bytes_recursive",
                      blkio_json(st->cg));
        json_object_set_new(j, "precpu_stats", precpu ? json_deep_copy(precpu) : json_object());
        if (s.mem_unavailable) /* docker's shape then: no usage, no limit */
                json_object_set_new(j, "memory_stats", json_object());
        nets = networks_json((pid_t)json_get_int(ctr_state(c), "Pid", 0));
        if (nets)
                json_object_set_new(j, "networks", nets);
        *ret = j;
        return 0;
}

/* ---- GET /v1/containers/{id}/stats?stream=0|1 ---- */

/* A stats request: a first sample now, the answer (or the next line of the stream) a second
 * later with the first as precpu_stats. The container is looked up by id at every tick: it may
 * be gone. */
struct stats_sess {
        struct ctr_mgr *m;
        char *id;
        struct http_req *req;
        bool stream, streaming;
        json_t *prev; /* the last cpu_stats */
        ev_timer tick;
};

static void stats_sess_free(struct stats_sess *x) {
        ev_timer_stop(x->m->loop, &x->tick);
        json_decref(x->prev);
        free(x->id);
        free(x);
}

static void stats_closed(struct http_req *req, void *ud) {
        struct stats_sess *x = ud;

        if (x->streaming)
                http_stream_end(req);
        else
                http_reply(req, 499, "text/plain", "", 0); /* finishes (frees) req */
        stats_sess_free(x);
}

static void stats_end(struct stats_sess *x) {
        http_req_on_close(x->req, NULL, NULL);
        if (x->streaming)
                http_stream_end(x->req);
        stats_sess_free(x);
}

static void stats_tick(struct ev_loop *loop, ev_timer *w, int revents) {
        struct stats_sess *x = w->data;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct ctr *c = NULL;

        (void)loop;
        (void)revents;
        if (ctr_lookup(x->m, x->id, &c, &e) < 0 || ctr_stats_sample(c, x->prev, &j, &e) < 0) {
                if (!x->streaming) {
                        http_req_on_close(x->req, NULL, NULL);
                        http_reply_err(x->req, e);
                        stats_sess_free(x);
                        return;
                }
                stats_end(x); /* a stream ends when the container stops or goes */
                return;
        }
        if (!x->stream) {
                http_req_on_close(x->req, NULL, NULL);
                http_reply_json(x->req, 200, j);
                stats_sess_free(x);
                return;
        }
        if (!x->streaming) {
                http_stream_begin(x->req, 200, "application/x-ndjson");
                x->streaming = true;
        }
        (void)http_stream_write_json(x->req, j);
        json_decref(x->prev);
        x->prev = json_incref(json_object_get(j, "cpu_stats"));
}

void ctr_stats_request(struct ctr *c, bool stream, struct http_req *req) {
        _cleanup_json_ json_t *first = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct stats_sess *x;

        if (ctr_stats_sample(c, NULL, &first, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        x = xnew0(struct stats_sess, 1);
        x->m = c->m;
        x->id = xstrdup(c->id);
        x->req = req;
        x->stream = stream;
        x->prev = json_incref(json_object_get(first, "cpu_stats"));
        ev_timer_init(&x->tick, stats_tick, 1., 1.);
        x->tick.data = x;
        ev_timer_start(c->m->loop, &x->tick);
        http_req_on_close(req, stats_closed, x);
}

void ctr_stats_once(struct ctr *c, struct http_req *req) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (ctr_stats_sample(c, NULL, &j, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply_json(req, 200, j);
}

/* ---- POST /v1/containers/{id}/update ---- */

static int write_limits(struct ctr *c, int64_t mem, int64_t nano, bool has_pids, int64_t pids,
                        struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        const struct cg *cg;
        char v[64];
        int r;

        r = rt_state_load(c->m->oci_root, c->id, &st, errp);
        if (r < 0)
                return r;
        cg = st->cg;
        if (!cg)
                return err_setx(errp, ENOTSUP, "container %s has no cgroup", c->id);
        if (cg->driver == CG_DRIVER_V2) {
                /* the engine's writes: a missing controller is named in the error */
                _cleanup_free_ char *dir = xasprintf("%s%s", cg->root, cg->v2_path);
                const struct spec_resources res = {
                        .has_mem_limit = mem > 0,
                        .mem_limit = mem,
                        .cpu_quota = nano > 0 ? nano * 100000 / 1000000000 : 0,
                        .cpu_period = nano > 0 ? 100000 : 0,
                        .pids_limit = !has_pids  ? 0
                                      : pids > 0 ? pids
                                                 : -1,
                };

                return cg_v2_apply_dir(dir, &res, errp);
        }
        if (mem > 0) {
                _cleanup_free_ char *dir = NULL;

                if (!cg->v1_path[CG_V1_MEMORY])
                        return err_setx(errp, ENOTSUP, "no memory cgroup controller");
                dir = xasprintf("%s/%s%s", cg->root, cg_v1_ctrl_name(CG_V1_MEMORY),
                                cg->v1_path[CG_V1_MEMORY]);
                snprintf(v, sizeof(v), "%" PRId64, mem);
                if ((r = cg_write(dir, "memory.limit_in_bytes", v, errp)) < 0)
                        return r;
        }
        if (nano > 0) {
                _cleanup_free_ char *dir = NULL;

                if (!cg->v1_path[CG_V1_CPU])
                        return err_setx(errp, ENOTSUP, "no cpu cgroup controller");
                dir = xasprintf("%s/%s%s", cg->root, cg_v1_ctrl_name(CG_V1_CPU),
                                cg->v1_path[CG_V1_CPU]);
                if ((r = cg_write(dir, "cpu.cfs_period_us", "100000", errp)) < 0)
                        return r;
                snprintf(v, sizeof(v), "%" PRId64, nano * 100000 / 1000000000);
                if ((r = cg_write(dir, "cpu.cfs_quota_us", v, errp)) < 0)
                        return r;
        }
        if (has_pids) {
                _cleanup_free_ char *dir = NULL;

                if (!cg->v1_path[CG_V1_PIDS])
                        return err_setx(errp, ENOTSUP, "no pids cgroup controller");
                dir = xasprintf("%s/%s%s", cg->root, cg_v1_ctrl_name(CG_V1_PIDS),
                                cg->v1_path[CG_V1_PIDS]);
                if (pids > 0)
                        snprintf(v, sizeof(v), "%" PRId64, pids);
                else
                        snprintf(v, sizeof(v), "max");
                if ((r = cg_write(dir, "pids.max", v, errp)) < 0)
                        return r;
        }
        return 0;
}

static int int_field(const json_t *body, const char *key, int64_t min, int64_t *ret, bool *has,
                     struct err **errp) {
        const json_t *v = json_object_get(body, key);

        *has = false;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < min)
                return err_setx(errp, EINVAL, "%s: expected an integer >= %lld", key,
                                (long long)min);
        *ret = json_integer_value(v);
        *has = true;
        return 0;
}

int ctr_update(struct ctr *c, const json_t *body, struct err **errp) {
        static const char *const known[] = {"Memory", "NanoCpus", "PidsLimit", "RestartPolicy",
                                            NULL};
        int64_t mem = 0, nano = 0, pids = 0;
        bool has_mem, has_nano, has_pids;
        struct restart_spec rs = c->sv.restart;
        const json_t *rp = json_object_get(body, "RestartPolicy"), *hc;
        const char *key;
        json_t *v;
        int r;

        if (!json_is_object(body))
                return err_setx(errp, EINVAL, "the body must be a JSON object");
        json_object_foreach ((json_t *)body, key, v)
                if (!strv_contains((char **)known, key))
                        return err_setx(errp, EINVAL,
                                        "%s: cannot be updated (Memory, NanoCpus, PidsLimit, "
                                        "RestartPolicy)",
                                        key);
        /* docker's minimum memory limit is 6 MB */
        if ((r = int_field(body, "Memory", 6 * 1024 * 1024, &mem, &has_mem, errp)) < 0 ||
            (r = int_field(body, "NanoCpus", 1000000, &nano, &has_nano, errp)) < 0 ||
            (r = int_field(body, "PidsLimit", -1, &pids, &has_pids, errp)) < 0)
                return r;
        if (has_nano && nano > (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000000000)
                return err_setx(errp, EINVAL,
                                "NanoCpus: range of CPUs is from 0.01 to %ld, as there are only "
                                "%ld CPUs available",
                                sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_ONLN));
        if (rp && !json_is_null(rp)) {
                const char *name = json_get_str(rp, "Name", "");
                int64_t max = json_get_int(rp, "MaximumRetryCount", 0);
                _cleanup_free_ char *spec =
                        max > 0 ? xasprintf("%s:%lld", name, (long long)max) : xstrdup(name);

                if (!json_is_object(rp))
                        return err_setx(errp, EINVAL, "RestartPolicy: expected an object");
                r = restart_spec_parse(spec, &rs, errp);
                if (r < 0) {
                        err_wrap(errp, "RestartPolicy");
                        return r;
                }
        }
        if (ctr_running(c) && (has_mem || has_nano || has_pids)) {
                r = write_limits(c, has_mem ? mem : 0, has_nano ? nano : 0, has_pids, pids, errp);
                if (r < 0)
                        return r;
        }
        hc = json_object_get(c->rec, "HostConfig");
        if (has_mem)
                json_object_set_new((json_t *)hc, "Memory", json_integer(mem));
        if (has_nano) {
                json_object_set_new((json_t *)hc, "NanoCpus", json_integer(nano));
                json_object_set_new((json_t *)hc, "CpuQuota", json_integer(0));
        }
        if (has_pids)
                json_object_set_new((json_t *)hc, "PidsLimit", json_integer(pids));
        if (rp && !json_is_null(rp)) {
                c->sv.restart = rs;
                json_object_set_new((json_t *)hc, "RestartPolicy",
                                    json_pack("{s:s,s:I}", "Name",
                                              restart_policy_to_string(rs.policy),
                                              "MaximumRetryCount", (json_int_t)rs.max_retries));
        }
        /* the bundle of the next start is written from the record, so the limits stay */
        r = ctr_save(c);
        if (r < 0)
                return err_setx(errp, EIO, "could not write the record of container %s", c->id);
        ctr_event(c, "update", NULL);
        return 0;
}
