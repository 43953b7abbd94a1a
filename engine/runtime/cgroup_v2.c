/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2 (unified) driver, and the hybrid driver that combines v1 controllers with placement
 * in the unified tree. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "fileio.h"
#include "runtime/cgroup.h"
#include "strv.h"
#include "xalloc.h"

static char *v2_dir(const struct cg *cg) {
        return xasprintf("%s%s", cg->root, cg->v2_path);
}

/* Enables the controllers we use in every ancestor's subtree_control (only those the parent
 * offers), so that the leaf gets memory.max etc. */
static int v2_enable_controllers(const struct cg *cg, struct err **errp) {
        _cleanup_strv_ char **parts = strv_split(cg->v2_path, "/");
        _cleanup_free_ char *cur = xstrdup(cg->root);
        size_t n = strv_length(parts);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *avail = NULL, *next = NULL;
                _cleanup_strv_ char **ctrls = NULL;
                static const char *const want[] = {"cpu", "cpuset", "memory", "pids", "io"};
                int r;

                r = cg_read(cur, "cgroup.controllers", &avail, errp);
                if (r < 0)
                        return r;
                ctrls = strv_split(avail, " \n");
                for (size_t k = 0; k < ELEMENTSOF(want); k++) {
                        char buf[32];
                        if (!strv_contains(ctrls, want[k]))
                                continue;
                        snprintf(buf, sizeof(buf), "+%s", want[k]);
                        r = cg_write(cur, "cgroup.subtree_control", buf, errp);
                        if (r < 0)
                                return err_wrap(errp, "enable controller '%s'", want[k]);
                }
                next = xasprintf("%s/%s", cur, parts[i]);
                free(cur);
                cur = TAKE_PTR(next);
                r = mkdir_p(cur, 0755, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v2_create(struct cg *cg, struct err **errp) {
        return v2_enable_controllers(cg, errp);
}

/* What a limit file is called on the command line, for errors. */
static const char *limit_name(const char *file) {
        static const struct {
                const char *prefix, *name;
        } names[] = {
                {"memory.max", "memory limit (--memory)"},
                {"memory.low", "memory reservation (--memory-reservation)"},
                {"memory.swap.max", "memory+swap limit (--memory-swap)"},
                {"cpu.weight", "cpu shares (--cpu-shares)"},
                {"cpu.max", "cpu quota (--cpus, --cpu-quota)"},
                {"cpuset.", "cpuset (--cpuset-cpus, --cpuset-mems)"},
                {"pids.max", "pids limit (--pids-limit)"},
                {"io.", "block io limits (--blkio-weight, --device-*-bps/iops)"},
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (str_startswith(file, names[i].prefix))
                        return names[i].name;
        return file;
}

/* A limit's write. Its file is missing when its controller is not enabled for the cgroup (a
 * host that keeps it on v1, or has not delegated it): said so, naming the controller and the
 * ones that are there. */
static int write_limit(const char *dir, const char *file, const char *val, struct err **errp) {
        _cleanup_free_ char *ctrl = xstrndup(file, strcspn(file, "."));
        _cleanup_free_ char *avail = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        r = cg_write(dir, file, val, &e);
        if (r != -ENOENT)
                return r < 0 ? err_move(errp, TAKE_PTR(e)) : r;
        (void)cg_read(dir, "cgroup.controllers", &avail, NULL);
        if (avail)
                avail[strcspn(avail, "\n")] = '\0';
        return err_setx(errp, EOPNOTSUPP,
                        "%s: the cgroup v2 controller '%s' is not available to '%s' (enabled "
                        "controllers: '%s')",
                        limit_name(file), ctrl, dir, avail ? avail : "");
}

static int write_max(const char *dir, const char *file, int64_t v, struct err **errp) {
        char buf[32];
        if (v < 0)
                snprintf(buf, sizeof(buf), "max");
        else
                snprintf(buf, sizeof(buf), "%" PRId64, v);
        return write_limit(dir, file, buf, errp);
}

/* cpu.shares (2..262144) to cpu.weight (1..10000), the formula runc and crun use. */
static uint64_t shares_to_weight(uint64_t shares) {
        if (shares == 0)
                return 0;
        if (shares < 2)
                shares = 2;
        return 1 + ((shares - 2) * 9999) / 262142;
}

int cg_v2_apply_dir(const char *dir, const struct spec_resources *res, struct err **errp) {
        char buf[128];
        int r;

        if (res->has_mem_limit) {
                r = write_max(dir, "memory.max", res->mem_limit, errp);
                if (r < 0)
                        return r;
        }
        if (res->has_mem_reservation) {
                r = write_max(dir, "memory.low", res->mem_reservation, errp);
                if (r < 0)
                        return r;
        }
        if (res->has_mem_swap) {
                /* v1's memsw counts memory+swap; v2's swap.max counts swap alone. */
                int64_t swap = res->mem_swap;
                if (swap >= 0 && res->has_mem_limit && res->mem_limit >= 0)
                        swap -= res->mem_limit;
                r = write_max(dir, "memory.swap.max", swap, errp);
                if (r < 0)
                        return r;
        }
        if (res->cpu_shares) {
                snprintf(buf, sizeof(buf), "%" PRIu64, shares_to_weight(res->cpu_shares));
                r = write_limit(dir, "cpu.weight", buf, errp);
                if (r < 0)
                        return r;
        }
        if (res->cpu_quota || res->cpu_period) {
                uint64_t period = res->cpu_period ? res->cpu_period : 100000;
                if (res->cpu_quota > 0)
                        snprintf(buf, sizeof(buf), "%" PRId64 " %" PRIu64, res->cpu_quota, period);
                else
                        snprintf(buf, sizeof(buf), "max %" PRIu64, period);
                r = write_limit(dir, "cpu.max", buf, errp);
                if (r < 0)
                        return r;
        }
        if (res->cpus) {
                r = write_limit(dir, "cpuset.cpus", res->cpus, errp);
                if (r < 0)
                        return r;
        }
        if (res->mems) {
                r = write_limit(dir, "cpuset.mems", res->mems, errp);
                if (r < 0)
                        return r;
        }
        if (res->pids_limit) {
                r = write_max(dir, "pids.max", res->pids_limit, errp);
                if (r < 0)
                        return r;
        }
        if (res->blkio_weight) {
                /* blkio.weight 10..1000 maps onto io.weight 1..10000. */
                uint64_t w = 1 + (res->blkio_weight - 10) * 9999 / 990;
                snprintf(buf, sizeof(buf), "default %" PRIu64, w);
                r = write_limit(dir, "io.weight", buf, errp);
                if (r < 0)
                        return r;
        }
        for (int k = 0; k < 4; k++) {
                static const char *const keys[4] = {"rbps", "wbps", "riops", "wiops"};
                for (size_t i = 0; i < res->n_throttle[k]; i++) {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
                                 res->throttle[k][i].major, res->throttle[k][i].minor, keys[k],
                                 res->throttle[k][i].rate);
                        r = write_limit(dir, "io.max", buf, errp);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int v2_apply(struct cg *cg, const struct spec_resources *res, const struct spec_device *devs,
                    size_t n_devs, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg);
        _cleanup_free_ struct spec_dev_rule *rules = NULL;
        size_t n = 0;
        int r;

        r = cg_v2_apply_dir(dir, res, errp);
        if (r < 0)
                return r;
        /* Device rules: the spec's list, then linux.devices, then the defaults. */
        rules = xnew0(struct spec_dev_rule, res->n_devices + n_devs + 1);
        for (size_t i = 0; i < res->n_devices; i++)
                rules[n++] = res->devices[i];
        for (size_t i = 0; i < n_devs; i++)
                if (devs[i].type != 'p')
                        rules[n++] = (struct spec_dev_rule){true, devs[i].type == 'b' ? 'b' : 'c',
                                                            devs[i].major, devs[i].minor, "rwm"};
        return cg_v2_devices_attach(dir, rules, n, errp);
}

static int v2_add_pid(struct cg *cg, pid_t pid, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg);
        char buf[32];

        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return cg_write(dir, "cgroup.procs", buf, errp);
}

static int v2_is_frozen(struct cg *cg, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg), *s = NULL;
        int r;

        r = cg_read(dir, "cgroup.freeze", &s, errp);
        if (r < 0)
                return r;
        return s[0] == '1';
}

static int v2_freeze(struct cg *cg, bool frozen, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg);
        int r;

        r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", errp);
        if (r < 0)
                return r;
        for (int i = 0; i < 500; i++) {
                _cleanup_free_ char *ev = NULL;
                r = cg_read(dir, "cgroup.events", &ev, errp);
                if (r < 0)
                        return r;
                if (strstr(ev, frozen ? "frozen 1" : "frozen 0"))
                        return 0;
                cg_poll_sleep(i);
        }
        return err_setx(errp, ETIMEDOUT, "cgroup '%s' did not %s", dir, frozen ? "freeze" : "thaw");
}

static uint64_t keyed(const char *s, const char *key) {
        const char *p = s;
        size_t n = strlen(key);

        while (p && *p) {
                if (strncmp(p, key, n) == 0 && p[n] == ' ')
                        return strtoull(p + n + 1, NULL, 10);
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return 0;
}

static int v2_stats(struct cg *cg, struct cg_stats *ret, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg), *cpu = NULL, *ev = NULL;
        struct cg_stats s = {};
        (void)errp;

        s.mem_unavailable = cg_read_u64(dir, "memory.current", &s.mem_usage) < 0;
        (void)cg_read_u64(dir, "memory.max", &s.mem_limit);
        (void)cg_read_u64(dir, "memory.peak", &s.mem_max_usage);
        if (cg_read(dir, "memory.events", &ev, NULL) >= 0)
                s.oom_kills = keyed(ev, "oom_kill");
        if (cg_read(dir, "cpu.stat", &cpu, NULL) >= 0)
                s.cpu_usage_ns = keyed(cpu, "usage_usec") * 1000;
        if (cg_read_u64(dir, "pids.current", &s.pids_current) < 0) {
                /* no pids controller: its tasks, counted (every thread of a domain cgroup) */
                _cleanup_free_ char *t = NULL;
                if (cg_read(dir, "cgroup.threads", &t, NULL) >= 0)
                        for (const char *p = t; *p; p++)
                                s.pids_current += *p == '\n';
        }
        (void)cg_read_u64(dir, "pids.max", &s.pids_limit);
        *ret = s;
        return 0;
}

static int v2_pids(struct cg *cg, pid_t **ret, size_t *ret_n, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg);
        return cg_read_pids(dir, ret, ret_n, errp);
}

static int v2_destroy(struct cg *cg, struct err **errp) {
        _cleanup_free_ char *dir = v2_dir(cg);
        return cg_rmdir(dir, errp);
}

const struct cg_ops cg_v2_ops = {
        .create = v2_create,
        .apply = v2_apply,
        .add_pid = v2_add_pid,
        .freeze = v2_freeze,
        .is_frozen = v2_is_frozen,
        .stats = v2_stats,
        .pids = v2_pids,
        .destroy = v2_destroy,
};

/* Hybrid: controllers are v1; the unified tree only tracks membership (no controllers are
 * enabled there on such systems), so we mkdir and place the process, nothing else. */
static char *hybrid_dir(const struct cg *cg) {
        return xasprintf("%s/unified%s", cg->root, cg->v2_path);
}

static int hybrid_create(struct cg *cg, struct err **errp) {
        _cleanup_free_ char *d = hybrid_dir(cg);
        int r;

        r = cg_v1_ops.create(cg, errp);
        if (r < 0)
                return r;
        return mkdir_p(d, 0755, errp);
}

static int hybrid_add_pid(struct cg *cg, pid_t pid, struct err **errp) {
        _cleanup_free_ char *d = hybrid_dir(cg);
        char buf[32];
        int r;

        r = cg_v1_ops.add_pid(cg, pid, errp);
        if (r < 0)
                return r;
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return cg_write(d, "cgroup.procs", buf, errp);
}

static int hybrid_destroy(struct cg *cg, struct err **errp) {
        _cleanup_free_ char *d = hybrid_dir(cg);
        int r, r2;

        r = cg_v1_ops.destroy(cg, errp);
        if (r < 0)
                return r;
        r2 = cg_rmdir(d, errp);
        if (r2 < 0)
                return r2;
        return r | r2;
}

static int hybrid_apply(struct cg *cg, const struct spec_resources *res,
                        const struct spec_device *devs, size_t n_devs, struct err **errp) {
        return cg_v1_ops.apply(cg, res, devs, n_devs, errp);
}
static int hybrid_freeze(struct cg *cg, bool frozen, struct err **errp) {
        return cg_v1_ops.freeze(cg, frozen, errp);
}
static int hybrid_is_frozen(struct cg *cg, struct err **errp) {
        return cg_v1_ops.is_frozen(cg, errp);
}
static int hybrid_stats(struct cg *cg, struct cg_stats *ret, struct err **errp) {
        return cg_v1_ops.stats(cg, ret, errp);
}
static int hybrid_pids(struct cg *cg, pid_t **ret, size_t *ret_n, struct err **errp) {
        return cg_v1_ops.pids(cg, ret, ret_n, errp);
}

const struct cg_ops cg_hybrid_ops = {
        .create = hybrid_create,
        .apply = hybrid_apply,
        .add_pid = hybrid_add_pid,
        .freeze = hybrid_freeze,
        .is_frozen = hybrid_is_frozen,
        .stats = hybrid_stats,
        .pids = hybrid_pids,
        .destroy = hybrid_destroy,
};
