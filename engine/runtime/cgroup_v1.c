/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v1 driver: one directory per controller hierarchy (ROOT/<controller>/<path>). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"
#include "fileio.h"
#include "runtime/cgroup.h"
#include "strv.h"
#include "xalloc.h"

const struct spec_dev_rule cg_default_dev_rules[] = {
        {true, 'c', 1, 3, "rwm"},    /* /dev/null */
        {true, 'c', 1, 5, "rwm"},    /* /dev/zero */
        {true, 'c', 1, 7, "rwm"},    /* /dev/full */
        {true, 'c', 1, 8, "rwm"},    /* /dev/random */
        {true, 'c', 1, 9, "rwm"},    /* /dev/urandom */
        {true, 'c', 5, 0, "rwm"},    /* /dev/tty */
        {true, 'c', 5, 1, "rwm"},    /* /dev/console */
        {true, 'c', 5, 2, "rwm"},    /* /dev/ptmx */
        {true, 'c', 136, -1, "rwm"}, /* /dev/pts/N */
};
const size_t cg_default_dev_rules_len = ELEMENTSOF(cg_default_dev_rules);

static char *v1_dir(const struct cg *cg, enum cg_v1_ctrl c) {
        if (!cg->v1_path[c])
                return NULL;
        return xasprintf("%s/%s%s", cg->root, cg_v1_ctrl_name(c), cg->v1_path[c]);
}

/* cpuset children start empty and refuse tasks: copy the parent's cpus/mems down every level. */
static int cpuset_init(const struct cg *cg, struct err **errp) {
        _cleanup_free_ char *base = xasprintf("%s/cpuset", cg->root);
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *cur = NULL;
        int r;

        if (!cg->v1_path[CG_V1_CPUSET])
                return 0;
        parts = strv_split(cg->v1_path[CG_V1_CPUSET], "/");
        cur = xstrdup(base);
        STRV_FOREACH (p, parts) {
                _cleanup_free_ char *next = xasprintf("%s/%s", cur, *p);
                static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *mine = NULL, *parent = NULL;
                        if (cg_read(next, files[i], &mine, NULL) < 0)
                                continue;
                        if (mine[0] != '\n' && mine[0] != '\0')
                                continue;
                        r = cg_read(cur, files[i], &parent, errp);
                        if (r < 0)
                                return r;
                        r = cg_write(next, files[i], parent, errp);
                        if (r < 0)
                                return r;
                }
                free(cur);
                cur = TAKE_PTR(next);
        }
        return 0;
}

static int v1_create(struct cg *cg, struct err **errp) {
        int r;

        for (int c = 0; c < _CG_V1_MAX; c++) {
                _cleanup_free_ char *d = v1_dir(cg, c);
                if (!d)
                        continue;
                r = mkdir_p(d, 0755, errp);
                if (r < 0)
                        return err_wrap(errp, "create cgroup");
        }
        return cpuset_init(cg, errp);
}

static int write_u64_or_max(const char *dir, const char *file, int64_t v, struct err **errp) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRId64, v < 0 ? (int64_t)-1 : v);
        return cg_write(dir, file, buf, errp);
}

static int dev_rule_string(const struct spec_dev_rule *d, char *buf, size_t n) {
        char maj[24], min[24];

        if (d->type == 'a')
                return snprintf(buf, n, "a *:* %s", d->access);
        if (d->major < 0)
                snprintf(maj, sizeof(maj), "*");
        else
                snprintf(maj, sizeof(maj), "%" PRId64, d->major);
        if (d->minor < 0)
                snprintf(min, sizeof(min), "*");
        else
                snprintf(min, sizeof(min), "%" PRId64, d->minor);
        return snprintf(buf, n, "%c %s:%s %s", d->type, maj, min, d->access);
}

static int v1_devices(const char *dir, const struct spec_resources *res,
                      const struct spec_device *devs, size_t n_devs, struct err **errp) {
        char buf[80];
        int r;

        /* Start from deny-all, then replay the spec's list in order, then the defaults. */
        r = cg_write(dir, "devices.deny", "a", errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_devices; i++) {
                const struct spec_dev_rule *d = &res->devices[i];
                dev_rule_string(d, buf, sizeof(buf));
                if (d->type == 'a' && !d->allow)
                        continue; /* already deny-all */
                r = cg_write(dir, d->allow ? "devices.allow" : "devices.deny", buf, errp);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_devs; i++) {
                struct spec_dev_rule d = {true, devs[i].type == 'b' ? 'b' : 'c', devs[i].major,
                                          devs[i].minor, "rwm"};
                if (devs[i].type == 'p')
                        continue;
                dev_rule_string(&d, buf, sizeof(buf));
                r = cg_write(dir, "devices.allow", buf, errp);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < cg_default_dev_rules_len; i++) {
                dev_rule_string(&cg_default_dev_rules[i], buf, sizeof(buf));
                r = cg_write(dir, "devices.allow", buf, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_apply(struct cg *cg, const struct spec_resources *res, const struct spec_device *devs,
                    size_t n_devs, struct err **errp) {
        _cleanup_free_ char *mem = v1_dir(cg, CG_V1_MEMORY), *cpu = v1_dir(cg, CG_V1_CPU);
        _cleanup_free_ char *cpuset = v1_dir(cg, CG_V1_CPUSET), *pids = v1_dir(cg, CG_V1_PIDS);
        _cleanup_free_ char *blkio = v1_dir(cg, CG_V1_BLKIO), *dev = v1_dir(cg, CG_V1_DEVICES);
        char buf[80];
        int r = 0;

        if (res->has_mem_limit || res->has_mem_swap || res->has_mem_reservation ||
            res->disable_oom_killer) {
                if (!mem)
                        return err_setx(errp, ENOTSUP, "memory controller not available");
                if (res->has_mem_limit)
                        r = write_u64_or_max(mem, "memory.limit_in_bytes", res->mem_limit, errp);
                if (r >= 0 && res->has_mem_swap)
                        r = write_u64_or_max(mem, "memory.memsw.limit_in_bytes", res->mem_swap,
                                             errp);
                if (r >= 0 && res->has_mem_reservation)
                        r = write_u64_or_max(mem, "memory.soft_limit_in_bytes",
                                             res->mem_reservation, errp);
                if (r >= 0 && res->disable_oom_killer)
                        r = cg_write(mem, "memory.oom_control", "1", errp);
                if (r < 0)
                        return r;
        }
        if (res->cpu_shares || res->cpu_quota || res->cpu_period) {
                if (!cpu)
                        return err_setx(errp, ENOTSUP, "cpu controller not available");
                if (res->cpu_shares) {
                        snprintf(buf, sizeof(buf), "%" PRIu64, res->cpu_shares);
                        r = cg_write(cpu, "cpu.shares", buf, errp);
                }
                if (r >= 0 && res->cpu_period) {
                        snprintf(buf, sizeof(buf), "%" PRIu64, res->cpu_period);
                        r = cg_write(cpu, "cpu.cfs_period_us", buf, errp);
                }
                if (r >= 0 && res->cpu_quota)
                        r = write_u64_or_max(cpu, "cpu.cfs_quota_us", res->cpu_quota, errp);
                if (r < 0)
                        return r;
        }
        if (res->cpus || res->mems) {
                if (!cpuset)
                        return err_setx(errp, ENOTSUP, "cpuset controller not available");
                if (res->cpus)
                        r = cg_write(cpuset, "cpuset.cpus", res->cpus, errp);
                if (r >= 0 && res->mems)
                        r = cg_write(cpuset, "cpuset.mems", res->mems, errp);
                if (r < 0)
                        return r;
        }
        if (res->pids_limit) {
                if (!pids)
                        return err_setx(errp, ENOTSUP, "pids controller not available");
                if (res->pids_limit < 0)
                        r = cg_write(pids, "pids.max", "max", errp);
                else {
                        snprintf(buf, sizeof(buf), "%" PRId64, res->pids_limit);
                        r = cg_write(pids, "pids.max", buf, errp);
                }
                if (r < 0)
                        return r;
        }
        if (res->blkio_weight) {
                if (!blkio)
                        return err_setx(errp, ENOTSUP, "blkio controller not available");
                snprintf(buf, sizeof(buf), "%u", res->blkio_weight);
                r = cg_write(blkio, "blkio.weight", buf, errp);
                if (r == -ENOENT)
                        r = cg_write(blkio, "blkio.bfq.weight", buf, errp);
                if (r < 0)
                        return r;
        }
        for (int k = 0; k < 4; k++) {
                static const char *const files[4] = {
                        "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                        "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
                for (size_t i = 0; i < res->n_throttle[k]; i++) {
                        if (!blkio)
                                return err_setx(errp, ENOTSUP, "blkio controller not available");
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64,
                                 res->throttle[k][i].major, res->throttle[k][i].minor,
                                 res->throttle[k][i].rate);
                        r = cg_write(blkio, files[k], buf, errp);
                        if (r < 0)
                                return r;
                }
        }
        if (dev) {
                r = v1_devices(dev, res, devs, n_devs, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_add_pid(struct cg *cg, pid_t pid, struct err **errp) {
        char buf[32];
        int r;

        snprintf(buf, sizeof(buf), "%d", (int)pid);
        for (int c = 0; c < _CG_V1_MAX; c++) {
                _cleanup_free_ char *d = v1_dir(cg, c);
                if (!d)
                        continue;
                r = cg_write(d, "cgroup.procs", buf, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_is_frozen(struct cg *cg, struct err **errp) {
        _cleanup_free_ char *d = v1_dir(cg, CG_V1_FREEZER), *s = NULL;
        int r;

        if (!d)
                return err_setx(errp, ENOTSUP, "freezer controller not available");
        r = cg_read(d, "freezer.state", &s, errp);
        if (r < 0)
                return r;
        return str_startswith(s, "FROZEN") ? 1 : 0;
}

static int v1_freeze(struct cg *cg, bool frozen, struct err **errp) {
        _cleanup_free_ char *d = v1_dir(cg, CG_V1_FREEZER);
        int r;

        if (!d)
                return err_setx(errp, ENOTSUP, "freezer controller not available");
        r = cg_write(d, "freezer.state", frozen ? "FROZEN" : "THAWED", errp);
        if (r < 0)
                return r;
        /* FREEZING can take a moment; wait a bounded time for the final state. */
        for (int i = 0; i < 500; i++) {
                _cleanup_free_ char *s = NULL;
                r = cg_read(d, "freezer.state", &s, errp);
                if (r < 0)
                        return r;
                if (str_startswith(s, frozen ? "FROZEN" : "THAWED"))
                        return 0;
                if (frozen && i % 50 == 49)
                        (void)cg_write(d, "freezer.state", "FROZEN", NULL);
                cg_poll_sleep(i);
        }
        return err_setx(errp, ETIMEDOUT, "cgroup '%s' did not reach state %s", d,
                        frozen ? "FROZEN" : "THAWED");
}

static int v1_stats(struct cg *cg, struct cg_stats *ret, struct err **errp) {
        _cleanup_free_ char *mem = v1_dir(cg, CG_V1_MEMORY), *acct = v1_dir(cg, CG_V1_CPUACCT);
        _cleanup_free_ char *pids = v1_dir(cg, CG_V1_PIDS), *oom = NULL;
        struct cg_stats s = {};
        (void)errp;

        if (mem) {
                (void)cg_read_u64(mem, "memory.usage_in_bytes", &s.mem_usage);
                (void)cg_read_u64(mem, "memory.limit_in_bytes", &s.mem_limit);
                (void)cg_read_u64(mem, "memory.max_usage_in_bytes", &s.mem_max_usage);
                if (cg_read(mem, "memory.oom_control", &oom, NULL) >= 0) {
                        char *k = strstr(oom, "oom_kill ");
                        if (k)
                                s.oom_kills = strtoull(k + 9, NULL, 10);
                }
        }
        if (acct)
                (void)cg_read_u64(acct, "cpuacct.usage", &s.cpu_usage_ns);
        if (pids) {
                (void)cg_read_u64(pids, "pids.current", &s.pids_current);
                (void)cg_read_u64(pids, "pids.max", &s.pids_limit);
        }
        *ret = s;
        return 0;
}

static int v1_pids(struct cg *cg, pid_t **ret, size_t *ret_n, struct err **errp) {
        /* Every process is in every hierarchy; pids (or memory) is the one to read. */
        static const enum cg_v1_ctrl order[] = {CG_V1_PIDS, CG_V1_MEMORY, CG_V1_FREEZER, CG_V1_CPU};
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                _cleanup_free_ char *d = v1_dir(cg, order[i]);
                if (d)
                        return cg_read_pids(d, ret, ret_n, errp);
        }
        return err_setx(errp, ENOTSUP, "no cgroup controller to list processes");
}

static int v1_destroy(struct cg *cg, struct err **errp) {
        int r, changed = 0;

        for (int c = 0; c < _CG_V1_MAX; c++) {
                _cleanup_free_ char *d = v1_dir(cg, c);
                if (!d)
                        continue;
                r = cg_rmdir(d, errp);
                if (r < 0)
                        return r;
                changed |= r;
        }
        return changed;
}

const struct cg_ops cg_v1_ops = {
        .create = v1_create,
        .apply = v1_apply,
        .add_pid = v1_add_pid,
        .freeze = v1_freeze,
        .is_frozen = v1_is_frozen,
        .stats = v1_stats,
        .pids = v1_pids,
        .destroy = v1_destroy,
};
