/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/init.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *mktemp_dir(void) {
        char *t = xstrdup("/tmp/berth-test-runtime.XXXXXX");
        if (!mkdtemp(t))
                abort();
        return t;
}

static void touch(const char *dir, const char *file) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0)
                close(fd);
}

static char *slurp(const char *dir, const char *file) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        char *s = NULL;
        if (read_file(p, 4096, &s, NULL, NULL) < 0)
                return xstrdup("(missing)");
        return s;
}

static void test_cgroup_paths(void) {
        _cleanup_err_ struct err *e = NULL;
        char *p = NULL;

        ASSERT_OK(cg_resolve_path(NULL, "c1", "/process_api/x", &p, NULL));
        ASSERT_STREQ(p, "/process_api/x/berth/c1");
        free(p);
        ASSERT_OK(cg_resolve_path("/abs//path/", "c1", "/own", &p, NULL));
        ASSERT_STREQ(p, "/abs/path");
        free(p);
        ASSERT_OK(cg_resolve_path("rel/c", "c1", "/", &p, NULL));
        ASSERT_STREQ(p, "/rel/c");
        free(p);
        p = NULL;
        ASSERT_ERR(cg_resolve_path("/a/../b", "c1", "/", &p, &e), EINVAL);
        ASSERT_NULL(p);
        ASSERT_STREQ(err_msg(e), "cgroup path '/a/../b' must not contain '..'");
        e = err_free(e);
        ASSERT_ERR(cg_resolve_path("system.slice:berth:c1", "c1", "/", &p, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(cg_resolve_path("/", "c1", "/", &p, &e), EINVAL);
}

static void test_cgroup_own_path(void) {
        const char *self = "9:name=systemd:/\n8:pids:/a\n2:cpu,cpuacct:/c\n"
                           "4:memory:/process_api/x\n0::/u\n";
        _cleanup_free_ char *mem = cg_own_path(self, "memory");
        _cleanup_free_ char *cpu = cg_own_path(self, "cpuacct");
        _cleanup_free_ char *v2 = cg_own_path(self, NULL);
        _cleanup_free_ char *none = cg_own_path(self, "blkio");

        ASSERT_STREQ(mem, "/process_api/x");
        ASSERT_STREQ(cpu, "/c");
        ASSERT_STREQ(v2, "/u");
        ASSERT_STREQ(none, "/");
}

static void test_cgroup_json_roundtrip(void) {
        _cleanup_free_ char *root = mktemp_dir();
        _cleanup_free_ char *mem = xasprintf("%s/memory", root), *pids = xasprintf("%s/pids", root);
        _cleanup_(cg_freep) struct cg *cg = NULL, *back = NULL;
        _cleanup_json_ json_t *j = NULL;

        mkdir(mem, 0755);
        mkdir(pids, 0755);
        ASSERT_OK(cg_new(CG_DRIVER_HYBRID, root, NULL, "c9", "4:memory:/m\n8:pids:/p\n0::/u\n", &cg,
                         NULL));
        ASSERT_STREQ(cg->v1_path[CG_V1_MEMORY], "/m/berth/c9");
        ASSERT_STREQ(cg->v1_path[CG_V1_PIDS], "/p/berth/c9");
        ASSERT_NULL(cg->v1_path[CG_V1_CPU]); /* controller not mounted under root */
        ASSERT_STREQ(cg->v2_path, "/u/berth/c9");
        ASSERT_TRUE(cg->ops == &cg_hybrid_ops);
        j = cg_to_json(cg);
        ASSERT_OK(cg_from_json(j, &back, NULL));
        ASSERT_EQ(back->driver, CG_DRIVER_HYBRID);
        ASSERT_STREQ(back->v1_path[CG_V1_PIDS], "/p/berth/c9");
        ASSERT_STREQ(back->v2_path, "/u/berth/c9");
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_cgroup_v2_relative_paths_start_at_root(void) {
        _cleanup_(cg_freep) struct cg *cg = NULL;

        ASSERT_OK(cg_new(CG_DRIVER_V2, "/nonexistent", NULL, "c3", "0::/user.slice/s.scope\n", &cg,
                         NULL));
        ASSERT_STREQ(cg->v2_path, "/berth/c3");
        ASSERT_NULL(cg->v1_path[CG_V1_MEMORY]);
        ASSERT_TRUE(cg->ops == &cg_v2_ops);
}

static void test_cgroup_v1_writes(void) {
        _cleanup_free_ char *root = mktemp_dir();
        _cleanup_(cg_freep) struct cg *cg = NULL;
        struct spec_resources res = {.mem_limit = 64 << 20,
                                     .has_mem_limit = true,
                                     .mem_swap = -1,
                                     .has_mem_swap = true,
                                     .cpu_shares = 512,
                                     .cpu_quota = 50000,
                                     .cpu_period = 100000,
                                     .pids_limit = 42};
        const char *ctrls[] = {"memory", "cpu", "pids"};

        for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
                _cleanup_free_ char *d = xasprintf("%s/%s/berth/c1", root, ctrls[i]);
                ASSERT_OK(mkdir_p(d, 0755, NULL));
        }
        ASSERT_OK(cg_new(CG_DRIVER_V1, root, "/berth/c1", "c1", "", &cg, NULL));
        {
                _cleanup_free_ char *m = xasprintf("%s/memory/berth/c1", root);
                _cleanup_free_ char *c = xasprintf("%s/cpu/berth/c1", root);
                _cleanup_free_ char *p = xasprintf("%s/pids/berth/c1", root);
                touch(m, "memory.limit_in_bytes");
                touch(m, "memory.memsw.limit_in_bytes");
                touch(c, "cpu.shares");
                touch(c, "cpu.cfs_period_us");
                touch(c, "cpu.cfs_quota_us");
                touch(p, "pids.max");
                ASSERT_OK(cg->ops->apply(cg, &res, NULL, 0, NULL));
                _cleanup_free_ char *a = slurp(m, "memory.limit_in_bytes");
                _cleanup_free_ char *b = slurp(m, "memory.memsw.limit_in_bytes");
                _cleanup_free_ char *s = slurp(c, "cpu.shares");
                _cleanup_free_ char *q = slurp(c, "cpu.cfs_quota_us");
                _cleanup_free_ char *pm = slurp(p, "pids.max");
                ASSERT_STREQ(a, "67108864");
                ASSERT_STREQ(b, "-1");
                ASSERT_STREQ(s, "512");
                ASSERT_STREQ(q, "50000");
                ASSERT_STREQ(pm, "42");
        }
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_cgroup_v2_writes(void) {
        _cleanup_free_ char *dir = mktemp_dir();
        struct spec_throttle thr = {8, 0, 1048576};
        struct spec_resources res = {.mem_limit = 64 << 20,
                                     .has_mem_limit = true,
                                     .mem_swap = 128 << 20,
                                     .has_mem_swap = true,
                                     .mem_reservation = 32 << 20,
                                     .has_mem_reservation = true,
                                     .cpu_shares = 1024,
                                     .cpu_quota = 50000,
                                     .pids_limit = -1,
                                     .blkio_weight = 500,
                                     .cpus = (char *)"0",
                                     .throttle = {&thr},
                                     .n_throttle = {1}};
        static const char *const files[] = {"memory.max", "memory.swap.max", "memory.low",
                                            "cpu.weight", "cpu.max",         "pids.max",
                                            "io.weight",  "io.max",          "cpuset.cpus"};
        static const char *const want[] = {"67108864",     "67108864",         "33554432",
                                           "39",           "50000 100000",     "max",
                                           "default 4950", "8:0 rbps=1048576", "0"};

        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                touch(dir, files[i]);
        ASSERT_OK(cg_v2_apply_dir(dir, &res, NULL));
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *s = slurp(dir, files[i]);
                ASSERT_STREQ(s, want[i]);
        }
        ASSERT_OK(rm_rf(dir, NULL));
}

static void test_cgroup_v2_missing_file_errors(void) {
        _cleanup_free_ char *dir = mktemp_dir();
        _cleanup_err_ struct err *e = NULL;
        struct spec_resources res = {.pids_limit = 5};

        /* a limit whose controller is not enabled: named, with the ones that are */
        _cleanup_free_ char *ctl = xasprintf("%s/cgroup.controllers", dir);

        ASSERT_OK(write_file_atomic(ctl, "cpu memory\n", 11, 0644, NULL));
        ASSERT_ERR(cg_v2_apply_dir(dir, &res, &e), EOPNOTSUPP);
        ASSERT_TRUE(str_startswith(err_msg(e),
                                   "pids limit (--pids-limit): the cgroup v2 controller 'pids'"));
        ASSERT_TRUE(strstr(err_msg(e), "(enabled controllers: 'cpu memory')") != NULL);
        ASSERT_OK(rm_rf(dir, NULL));
}

/* The device filter on a real cgroup2 (the unified tree of this machine, or a pure v2 host): a
 * child moved into it can open /dev/null but not /dev/kmsg. */
static void test_devices_bpf_attach(void) {
        const char *base = access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0
                                   ? "/sys/fs/cgroup/unified"
                                   : "/sys/fs/cgroup";
        _cleanup_free_ char *dir = xasprintf("%s/berth-test-bpf-%d", base, (int)getpid());
        struct spec_dev_rule deny_all = {false, 'a', -1, -1, "rwm"};
        _cleanup_err_ struct err *e = NULL;
        void *insns = NULL;
        size_t n = 0;
        int status = 0, r;
        pid_t pid;
        char buf[32];

        ASSERT_OK(cg_devices_bpf_build(&deny_all, 1, &insns, &n));
        ASSERT_TRUE(n > 10);
        free(insns);
        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (access("/dev/kmsg", F_OK) < 0)
                TAP_SKIP("no /dev/kmsg");
        if (mkdir(dir, 0755) < 0)
                TAP_SKIP("cannot create a cgroup2 directory");
        r = cg_v2_devices_attach(dir, &deny_all, 1, &e);
        if (r < 0) {
                rmdir(dir);
                printf("# %s\n", err_msg(e));
                TAP_SKIP("cannot load BPF programs here");
        }
        /* The child waits until it has been moved into the cgroup, then checks. */
        {
                int p[2];
                ASSERT_OK(pipe2(p, O_CLOEXEC));
                pid = fork();
                if (pid == 0) {
                        char c;
                        close(p[1]);
                        if (read(p[0], &c, 1) != 1)
                                _exit(2);
                        int ok = open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0;
                        int denied = open("/dev/kmsg", O_RDONLY | O_CLOEXEC) < 0 && errno == EPERM;
                        _exit(ok && denied ? 0 : 1);
                }
                close(p[0]);
                snprintf(buf, sizeof(buf), "%d", (int)pid);
                r = cg_write(dir, "cgroup.procs", buf, NULL);
                (void)!write(p[1], "x", 1);
                close(p[1]);
                waitpid(pid, &status, 0);
        }
        rmdir(dir);
        ASSERT_OK(r);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* Builds ROOT/{etc/marker, dir/, escape -> ../../../../etc, abs -> /etc, loop -> loop}. */
static char *make_tree(void) {
        char *root = mktemp_dir();
        _cleanup_free_ char *etc = xasprintf("%s/etc", root), *d = xasprintf("%s/dir", root);
        _cleanup_free_ char *esc = xasprintf("%s/escape", root), *abs = xasprintf("%s/abs", root);
        _cleanup_free_ char *loop = xasprintf("%s/loop", root);

        mkdir(etc, 0755);
        mkdir(d, 0755);
        touch(etc, "marker");
        (void)!symlink("../../../../etc", esc);
        (void)!symlink("/etc", abs);
        (void)!symlink("loop", loop);
        return root;
}

static bool same_file(int fd, const char *path) {
        struct stat a, b;
        return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
               a.st_dev == b.st_dev;
}

/* The checks shared by the openat2 path and the fallback; returns 0 when all pass. */
static int check_resolver(int (*fn)(int, const char *, bool, bool), const char *root) {
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *marker = xasprintf("%s/etc/marker", root);
        _cleanup_free_ char *made = xasprintf("%s/etc/new/sub", root);
        int fd;

        fd = fn(rootfd, "/abs/marker", false, false);
        if (fd < 0 || !same_file(fd, marker))
                return 1;
        close(fd);
        fd = fn(rootfd, "escape/marker", false, false);
        if (fd < 0 || !same_file(fd, marker))
                return 2;
        close(fd);
        fd = fn(rootfd, "../../../etc/marker", false, false);
        if (fd < 0 || !same_file(fd, marker))
                return 3;
        close(fd);
        /* /etc/passwd of the host must not be reachable. */
        fd = fn(rootfd, "escape/passwd", false, false);
        if (fd != -ENOENT)
                return 4;
        fd = fn(rootfd, "loop/x", false, false);
        if (fd != -ELOOP)
                return 5;
        /* Creation through a symlink lands inside the root. */
        fd = fn(rootfd, "abs/new/sub", true, false);
        if (fd < 0 || !same_file(fd, made))
                return 6;
        close(fd);
        return 0;
}

static void test_open_in_root(void) {
        _cleanup_free_ char *root = make_tree();

        ASSERT_EQ(check_resolver(rt_open_in_root, root), 0);
        ASSERT_OK(rm_rf(root, NULL));
        free(root);
        root = make_tree();
        ASSERT_EQ(check_resolver(rt_open_in_root_walk, root), 0);
        ASSERT_OK(rm_rf(root, NULL));
}

/* STYLE C10: openat2 made to fail with ENOSYS through seccomp forces the fallback walk. */
static void test_open_in_root_without_openat2(void) {
        _cleanup_free_ char *root = make_tree();
        int status = 0;
        pid_t pid = fork();

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
                if (!ctx ||
                    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) < 0 ||
                    seccomp_load(ctx) < 0)
                        _exit(100);
                if (syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) >= 0 || errno != ENOSYS)
                        _exit(101);
                _exit(check_resolver(rt_open_in_root, root));
        }
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_find_exec(void) {
        _cleanup_free_ char *dir = mktemp_dir();
        _cleanup_free_ char *a = xasprintf("%s/a", dir), *b = xasprintf("%s/b", dir);
        _cleanup_free_ char *envpath = NULL;
        char path[4096];
        char *envp[2] = {NULL, NULL};

        mkdir(a, 0755);
        mkdir(b, 0755);
        touch(a, "tool"); /* not executable */
        touch(b, "tool");
        touch(b, "plain");
        {
                _cleanup_free_ char *t = xasprintf("%s/tool", b);
                chmod(t, 0755);
        }
        envpath = xasprintf("PATH=%s:%s", a, b);
        envp[0] = envpath;
        ASSERT_OK(rt_find_exec("tool", envp, path, sizeof(path)));
        ASSERT_TRUE(str_endswith(path, "/b/tool"));
        ASSERT_ERR(rt_find_exec("plain", envp, path, sizeof(path)), EACCES);
        ASSERT_ERR(rt_find_exec("nope", envp, path, sizeof(path)), ENOENT);
        ASSERT_ERR(rt_find_exec("/nonexistent/x", envp, path, sizeof(path)), ENOENT);
        ASSERT_ERR(rt_find_exec(a, envp, path, sizeof(path)), EACCES); /* a directory */
        ASSERT_OK(rm_rf(dir, NULL));
}

static void test_ids_and_status_names(void) {
        ASSERT_TRUE(rt_id_valid("abc"));
        ASSERT_TRUE(rt_id_valid("a.b_c-1"));
        ASSERT_FALSE(rt_id_valid(""));
        ASSERT_FALSE(rt_id_valid("../x"));
        ASSERT_FALSE(rt_id_valid(".hidden"));
        ASSERT_FALSE(rt_id_valid("a/b"));
        ASSERT_STREQ(rt_status_to_string(RT_STATUS_PAUSED), "paused");
        ASSERT_STREQ(cg_driver_to_string(CG_DRIVER_HYBRID), "hybrid");
        ASSERT_EQ(cg_driver_from_string("v2"), CG_DRIVER_V2);
        ASSERT_EQ(cg_driver_from_string("v3"), _CG_DRIVER_INVALID);
}

static void test_sysctl_validation(void) {
        struct spec_sysctl sys[] = {{(char *)"net.ipv4.ip_forward", (char *)"1"}};
        struct spec_namespace ns[] = {{SPEC_NS_NET, NULL}};
        struct spec s = {.sysctls = sys, .n_sysctls = 1};
        _cleanup_err_ struct err *e = NULL;

        ASSERT_ERR(rt_validate_sysctls(&s, &e), EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "needs its own namespace") != NULL);
        s.namespaces = ns;
        s.n_namespaces = 1;
        ASSERT_OK(rt_validate_sysctls(&s, NULL));
        sys[0].key = (char *)"vm.overcommit_memory";
        e = err_free(e);
        ASSERT_ERR(rt_validate_sysctls(&s, &e), EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "not namespaced") != NULL);
}

/* The v2 driver against a real cgroup2: on this hybrid machine the unified tree has no
 * controllers, but placement, freeze, listing, cgroup.kill and removal are all v2 code paths. */
static void test_cgroup_v2_driver_live(void) {
        const char *root = access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0
                                   ? "/sys/fs/cgroup/unified"
                                   : "/sys/fs/cgroup";
        _cleanup_(cg_freep) struct cg *cg = NULL;
        _cleanup_free_ char *name = xasprintf("/berth-test-v2-%d/c1", (int)getpid());
        _cleanup_free_ char *parent = xasprintf("%s/berth-test-v2-%d", root, (int)getpid());
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct spec_resources none = {.mem_limit = -1};
        size_t n = 0;
        int status = 0;
        pid_t pid;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (access(root, W_OK) < 0)
                TAP_SKIP("no writable cgroup2");
        ASSERT_OK(cg_new(CG_DRIVER_V2, root, name, "c1", "", &cg, NULL));
        ASSERT_OK(cg->ops->create(cg, &e));
        ASSERT_OK(cg->ops->apply(cg, &none, NULL, 0, &e));
        pid = fork();
        if (pid == 0) {
                pause();
                _exit(0);
        }
        ASSERT_OK(cg->ops->add_pid(cg, pid, &e));
        ASSERT_OK(cg->ops->pids(cg, &pids, &n, &e));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pids[0], pid);
        ASSERT_OK(cg->ops->freeze(cg, true, &e));
        ASSERT_EQ(cg->ops->is_frozen(cg, NULL), 1);
        ASSERT_OK(cg->ops->freeze(cg, false, &e));
        ASSERT_EQ(cg->ops->is_frozen(cg, NULL), 0);
        ASSERT_OK(cg_kill_all(cg, SIGKILL, &e));
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status));
        ASSERT_EQ(cg->ops->destroy(cg, &e), 1);
        ASSERT_EQ(cg->ops->destroy(cg, &e), 0); /* idempotent */
        ASSERT_EQ(rmdir(parent), 0);
}

/* cg_kill_all on real v1 hierarchies against processes that fork all the time: one frozen
 * round must leave none behind, so the cgroup can be removed (cg_rmdir waits about 2 s for it
 * to empty, then fails) and every process is gone. */
static void test_cgroup_v1_kill_all_forkers(void) {
        _cleanup_(cg_freep) struct cg *cg = NULL;
        _cleanup_free_ char *name = xasprintf("/berth-test-v1-%d/c1", (int)getpid());
        _cleanup_err_ struct err *e = NULL;
        struct spec_resources none = {.mem_limit = -1};
        static const char *const ctrls[] = {"cpu",     "cpuacct", "cpuset", "memory",
                                            "devices", "freezer", "blkio",  "pids"};
        int go[2], ready[2], status = 0, r;
        char b = 0;
        pid_t pid;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (access("/sys/fs/cgroup/freezer/cgroup.procs", W_OK) < 0)
                TAP_SKIP("no cgroup v1 freezer hierarchy");
        ASSERT_OK(cg_new(CG_DRIVER_V1, "/sys/fs/cgroup", name, "c1", "", &cg, NULL));
        ASSERT_OK(cg->ops->create(cg, &e));
        ASSERT_OK(cg->ops->apply(cg, &none, NULL, 0, &e));
        ASSERT_OK(pipe2(go, O_CLOEXEC));
        ASSERT_OK(pipe2(ready, O_CLOEXEC));
        pid = fork();
        if (pid == 0) {
                if (read(go[0], &b, 1) != 1)
                        _exit(1);
                for (int i = 0; i < 4; i++)
                        if (fork() == 0) {
                                /* bounded: 150 children each, which stay; one born
                                 * between a listing and the kill would survive a kill
                                 * that is not atomic */
                                for (int k = 0; k < 150; k++)
                                        if (fork() == 0) {
                                                pause();
                                                _exit(0);
                                        }
                                pause();
                                _exit(0);
                        }
                if (write(ready[1], "r", 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        ASSERT_OK(cg->ops->add_pid(cg, pid, &e));
        ASSERT_EQ(write(go[1], "g", 1), 1);
        ASSERT_EQ(read(ready[0], &b, 1), 1);
        /* kill while the forkers are busy (bounded wait of 2 s for 50 processes) */
        for (int i = 0; i < 200; i++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                if (cg->ops->pids(cg, &pids, &n, NULL) < 0 || n > 50)
                        break;
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        ASSERT_OK(cg_kill_all(cg, SIGKILL, &e));
        /* bounded wait (5 s); on failure the leader is killed so the test ends */
        for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        if (kill(pid, 0) == 0) {
                (void)kill(pid, SIGKILL);
                (void)waitpid(pid, &status, 0);
                ASSERT_TRUE(!"the leader survived cg_kill_all");
        }
        ASSERT_TRUE(WIFSIGNALED(status));
        r = cg->ops->destroy(cg, &e);
        if (r != 1) /* clean up what escaped before failing */
                for (int i = 0; i < 20 && cg->ops->destroy(cg, NULL) != 1; i++)
                        (void)cg_kill_all(cg, SIGKILL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
                _cleanup_free_ char *d =
                        xasprintf("/sys/fs/cgroup/%s/berth-test-v1-%d", ctrls[i], (int)getpid());
                (void)rmdir(d);
                ASSERT_TRUE(access(d, F_OK) < 0);
        }
        ASSERT_EQ(r, 1);
        safe_close(go[0]);
        safe_close(go[1]);
        safe_close(ready[0]);
        safe_close(ready[1]);
}

TAP_MAIN(test_cgroup_paths, test_cgroup_own_path, test_cgroup_json_roundtrip,
         test_cgroup_v2_relative_paths_start_at_root, test_cgroup_v1_writes, test_cgroup_v2_writes,
         test_cgroup_v2_missing_file_errors, test_devices_bpf_attach, test_open_in_root,
         test_open_in_root_without_openat2, test_find_exec, test_ids_and_status_names,
         test_sysctl_validation, test_cgroup_v2_driver_live, test_cgroup_v1_kill_all_forkers);
