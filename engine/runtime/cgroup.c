/* SPDX-License-Identifier: Apache-2.0 */
/* Driver-independent cgroup code: detection, path logic, state (de)serialization, file helpers
 * and the bounded kill loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include <linux/magic.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/cgroup.h"
#include "strv.h"
#include "xalloc.h"

static const char *const driver_names[_CG_DRIVER_MAX] = {
        [CG_DRIVER_V1] = "v1",
        [CG_DRIVER_V2] = "v2",
        [CG_DRIVER_HYBRID] = "hybrid",
};

static const struct cg_ops *const driver_ops[_CG_DRIVER_MAX] = {
        [CG_DRIVER_V1] = &cg_v1_ops,
        [CG_DRIVER_V2] = &cg_v2_ops,
        [CG_DRIVER_HYBRID] = &cg_hybrid_ops,
};

static const char *const v1_names[_CG_V1_MAX] = {
        [CG_V1_CPU] = "cpu",       [CG_V1_CPUACCT] = "cpuacct", [CG_V1_CPUSET] = "cpuset",
        [CG_V1_MEMORY] = "memory", [CG_V1_DEVICES] = "devices", [CG_V1_FREEZER] = "freezer",
        [CG_V1_BLKIO] = "blkio",   [CG_V1_PIDS] = "pids",
};

const char *cg_driver_to_string(enum cg_driver d) {
        return d >= 0 && d < _CG_DRIVER_MAX ? driver_names[d] : NULL;
}

enum cg_driver cg_driver_from_string(const char *s) {
        for (int i = 0; i < _CG_DRIVER_MAX; i++)
                if (streq_ptr(driver_names[i], s))
                        return (enum cg_driver)i;
        return _CG_DRIVER_INVALID;
}

const char *cg_v1_ctrl_name(enum cg_v1_ctrl c) {
        return c >= 0 && c < _CG_V1_MAX ? v1_names[c] : NULL;
}

static bool is_fs(const char *path, long magic) {
        struct statfs s;
        return statfs(path, &s) == 0 && s.f_type == magic;
}

int cg_detect(const char *root, enum cg_driver *ret, struct err **errp) {
        _cleanup_free_ char *unified = xasprintf("%s/unified", root);
        _cleanup_free_ char *mem = xasprintf("%s/memory", root);
        _cleanup_free_ char *pids = xasprintf("%s/pids", root);

        if (is_fs(root, CGROUP2_SUPER_MAGIC)) {
                *ret = CG_DRIVER_V2;
                return 0;
        }
        if (!is_fs(mem, CGROUP_SUPER_MAGIC) && !is_fs(pids, CGROUP_SUPER_MAGIC))
                return err_setx(errp, ENOENT, "no cgroup hierarchy found under '%s'", root);
        *ret = is_fs(unified, CGROUP2_SUPER_MAGIC) ? CG_DRIVER_HYBRID : CG_DRIVER_V1;
        return 0;
}

int cg_resolve_path(const char *spec_path, const char *id, const char *own, char **ret,
                    struct err **errp) {
        _cleanup_free_ char *p = NULL;
        _cleanup_strv_ char **parts = NULL, **out = NULL;
        _cleanup_free_ char *joined = NULL;

        if (spec_path && spec_path[0] && strchr(spec_path, ':'))
                return err_setx(errp, EINVAL,
                                "cgroupsPath '%s' looks like a systemd slice:prefix:name; the "
                                "systemd cgroup driver is not supported",
                                spec_path);
        if (!spec_path || !spec_path[0])
                p = xasprintf("%s/berth/%s", own ? own : "/", id);
        else if (spec_path[0] == '/')
                p = xstrdup(spec_path);
        else
                p = xasprintf("%s/%s", own ? own : "/", spec_path);
        parts = strv_split(p, "/");
        out = xnew0(char *, 1);
        STRV_FOREACH (c, parts) {
                if (streq(*c, "..") || streq(*c, "."))
                        return err_setx(errp, EINVAL, "cgroup path '%s' must not contain '%s'", p,
                                        *c);
                strv_push(&out, *c);
        }
        if (!out[0])
                return err_setx(errp, EINVAL, "cgroup path '%s' is the root cgroup", p);
        joined = strv_join(out, "/");
        *ret = xasprintf("/%s", joined);
        return 0;
}

char *cg_own_path(const char *proc_self_cgroup, const char *ctrl) {
        _cleanup_strv_ char **lines = strv_split(proc_self_cgroup ? proc_self_cgroup : "", "\n");

        STRV_FOREACH (l, lines) {
                char *c1 = strchr(*l, ':'), *c2;
                if (!c1)
                        continue;
                c2 = strchr(c1 + 1, ':');
                if (!c2)
                        continue;
                *c2 = '\0';
                if (!ctrl) {
                        if (c1[1] == '\0' && str_startswith(*l, "0:"))
                                return xstrdup(c2[1] ? c2 + 1 : "/");
                        continue;
                }
                _cleanup_strv_ char **names = strv_split(c1 + 1, ",");
                if (strv_contains(names, ctrl))
                        return xstrdup(c2[1] ? c2 + 1 : "/");
        }
        return xstrdup("/");
}

int cg_new(enum cg_driver driver, const char *root, const char *spec_path, const char *id,
           const char *proc_self_cgroup, struct cg **ret, struct err **errp) {
        _cleanup_(cg_freep) struct cg *cg = NULL;
        int r;

        if (driver < 0 || driver >= _CG_DRIVER_MAX)
                return err_setx(errp, EINVAL, "unknown cgroup driver %d", driver);
        cg = xnew0(struct cg, 1);
        cg->driver = driver;
        cg->ops = driver_ops[driver];
        cg->root = xstrdup(root);
        if (driver != CG_DRIVER_V2)
                for (int c = 0; c < _CG_V1_MAX; c++) {
                        _cleanup_free_ char *own = cg_own_path(proc_self_cgroup, v1_names[c]);
                        _cleanup_free_ char *mnt = xasprintf("%s/%s", root, v1_names[c]);
                        struct stat st;

                        if (stat(mnt, &st) < 0)
                                continue;
                        r = cg_resolve_path(spec_path, id, own, &cg->v1_path[c], errp);
                        if (r < 0)
                                return r;
                }
        if (driver != CG_DRIVER_V1) {
                /* On a pure v2 host our own cgroup usually holds processes, and the "no
                 * internal processes" rule would then forbid enabling controllers below it:
                 * relative paths start at the root there (as runc's fs2 driver does). */
                _cleanup_free_ char *own =
                        driver == CG_DRIVER_V2 ? xstrdup("/") : cg_own_path(proc_self_cgroup, NULL);
                r = cg_resolve_path(spec_path, id, own, &cg->v2_path, errp);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

struct cg *cg_free(struct cg *cg) {
        if (!cg)
                return NULL;
        free(cg->root);
        for (int c = 0; c < _CG_V1_MAX; c++)
                free(cg->v1_path[c]);
        free(cg->v2_path);
        free(cg);
        return NULL;
}

void cg_freep(struct cg **cg) {
        *cg = cg_free(*cg);
}

json_t *cg_to_json(const struct cg *cg) {
        json_t *j = json_object(), *v1 = json_object();

        json_object_set_new(j, "driver", json_string(cg_driver_to_string(cg->driver)));
        json_object_set_new(j, "root", json_string(cg->root));
        for (int c = 0; c < _CG_V1_MAX; c++)
                if (cg->v1_path[c])
                        json_object_set_new(v1, v1_names[c], json_string(cg->v1_path[c]));
        json_object_set_new(j, "v1", v1);
        json_set_str(j, "v2", cg->v2_path);
        return j;
}

int cg_from_json(const json_t *j, struct cg **ret, struct err **errp) {
        _cleanup_(cg_freep) struct cg *cg = NULL;
        enum cg_driver d = cg_driver_from_string(json_get_str(j, "driver", ""));
        const char *root = json_get_str(j, "root", NULL);
        json_t *v1 = json_object_get(j, "v1");

        if (d < 0 || !root)
                return err_setx(errp, EINVAL, "state: bad cgroup record");
        cg = xnew0(struct cg, 1);
        cg->driver = d;
        cg->ops = driver_ops[d];
        cg->root = xstrdup(root);
        for (int c = 0; c < _CG_V1_MAX; c++) {
                const char *p = json_get_str(v1, v1_names[c], NULL);
                if (p && p[0] == '/' && !strstr(p, ".."))
                        cg->v1_path[c] = xstrdup(p);
        }
        if (json_get_str(j, "v2", NULL)) {
                const char *p = json_get_str(j, "v2", NULL);
                if (p[0] != '/' || strstr(p, ".."))
                        return err_setx(errp, EINVAL, "state: bad cgroup v2 path");
                cg->v2_path = xstrdup(p);
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

int cg_write(const char *dir, const char *file, const char *val, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(val);

        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", p);
        /* cgroup files take one value per write(2). */
        if (write(fd, val, n) != (ssize_t)n)
                return err_set(errp, errno ? errno : EIO, "write '%s' to '%s'", val, p);
        return 0;
}

int cg_read(const char *dir, const char *file, char **ret, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        return read_file(p, 1 << 20, ret, NULL, errp);
}

int cg_read_u64(const char *dir, const char *file, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        unsigned long long v;
        int r;

        r = cg_read(dir, file, &s, NULL);
        if (r < 0)
                return r;
        if (strncmp(s, "max", 3) == 0) {
                *ret = 0;
                return 0;
        }
        if (sscanf(s, "%llu", &v) != 1)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_read_pids(const char *dir, pid_t **ret, size_t *ret_n, struct err **errp) {
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_ char **l = NULL;
        pid_t *pids;
        size_t n = 0;
        int r;

        r = cg_read(dir, "cgroup.procs", &s, errp);
        if (r < 0)
                return r;
        l = strv_split(s, "\n");
        pids = xnew0(pid_t, strv_length(l) + 1);
        STRV_FOREACH (x, l) {
                int v = atoi(*x);
                if (v > 0)
                        pids[n++] = v;
        }
        *ret = pids;
        *ret_n = n;
        return 0;
}

/* rmdir with a bounded wait: processes that were just killed leave the cgroup a little after
 * their parent reaped them. */
int cg_rmdir(const char *dir, struct err **errp) {
        /* 1 ms steps doubling to 64 ms: about 2 s in all. */
        for (long i = 0, ms = 1; i < 40; i++, ms = MIN(ms * 2, 64L)) {
                if (rmdir(dir) == 0)
                        return 1;
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return err_set(errp, errno, "remove cgroup '%s'", dir);
                nanosleep(&(struct timespec){0, ms * 1000 * 1000}, NULL);
        }
        return err_set(errp, EBUSY, "remove cgroup '%s'", dir);
}

void cg_poll_sleep(int i) {
        /* 0.1 ms doubling to 2 ms: a state that settles at once costs 0.1 ms, not 2 ms. */
        long us = i < 5 ? 100L << i : 2000L;

        nanosleep(&(struct timespec){0, us * 1000}, NULL);
}

int cg_kill_all(struct cg *cg, int sig, struct err **errp) {
        int r;

        if (sig == SIGKILL && cg->v2_path && cg->driver == CG_DRIVER_V2) {
                _cleanup_free_ char *dir = xasprintf("%s%s", cg->root, cg->v2_path);
                r = cg_write(dir, "cgroup.kill", "1", NULL);
                if (r == 0)
                        return 0;
                /* kernels before 5.14 have no cgroup.kill: fall through to the loop */
        }
        for (int round = 0; round < 20; round++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                bool frozen;

                frozen = cg->ops->freeze(cg, true, NULL) >= 0;
                r = cg->ops->pids(cg, &pids, &n, errp);
                if (r < 0) {
                        if (frozen)
                                (void)cg->ops->freeze(cg, false, NULL);
                        return r == -ENOENT ? 0 : r;
                }
                for (size_t i = 0; i < n; i++)
                        if (kill(pids[i], sig) < 0 && errno != ESRCH) {
                                if (frozen)
                                        (void)cg->ops->freeze(cg, false, NULL);
                                return err_set(errp, errno, "kill pid %d", pids[i]);
                        }
                if (frozen)
                        (void)cg->ops->freeze(cg, false, NULL);
                /* Killed while frozen: every task was listed (none can fork while frozen) and
                 * has SIGKILL pending before it runs again, and a task with a fatal signal
                 * pending cannot fork. So none escapes and no second round is needed (it cost
                 * a 5 ms sleep in the daemon's loop per stop: docs/bench.md). Callers that need
                 * the cgroup empty wait for it (cg_rmdir). */
                if (sig != SIGKILL || n == 0 || frozen)
                        return 0;
                nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
        }
        return err_setx(errp, EBUSY, "processes keep appearing in the cgroup");
}
