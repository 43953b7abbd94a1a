/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime library as the shim will use it: rt_create/rt_start/rt_exec/rt_delete with the
 * container's stdio on pipes. Needs root and busybox-static (skips otherwise). */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/container.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *make_bundle(const char *const *args) {
        char *dir = xstrdup("/tmp/berth-test-container.XXXXXX");
        _cleanup_free_ char *bin = NULL, *cfg = NULL, *sh = NULL, *bb = NULL;
        _cleanup_json_ json_t *spec = spec_default_json(false), *a = json_array();
        _cleanup_free_ char *cgpath = NULL;

        if (!mkdtemp(dir))
                abort();
        chmod(dir, 0755);
        bin = xasprintf("%s/rootfs/bin", dir);
        if (mkdir_p(bin, 0755, NULL) < 0)
                abort();
        bb = xasprintf("%s/busybox", bin);
        {
                _cleanup_free_ char *cmd = xasprintf("cp /bin/busybox %s", bb);
                if (system(cmd) != 0)
                        abort();
        }
        sh = xasprintf("%s/sh", bin);
        (void)!symlink("busybox", sh);
        for (; *args; args++)
                json_array_append_new(a, json_string(*args));
        json_object_set(json_object_get(spec, "process"), "args", a);
        cgpath = xasprintf("berth-unit/%d", (int)getpid());
        json_object_set_new(json_object_get(spec, "linux"), "cgroupsPath", json_string(cgpath));
        cfg = xasprintf("%s/config.json", dir);
        if (json_save_path(cfg, spec, NULL) < 0)
                abort();
        return dir;
}

static char *read_all(int fd) {
        char buf[4096];
        ssize_t n = fd_read_full(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        return xstrdup(buf);
}

static void test_create_start_with_pipes(void) {
        static const char *const args[] = {"/bin/sh", "-c",
                                           "read x; echo got $x; echo err >&2; exit 9", NULL};
        _cleanup_free_ char *bundle = NULL, *root = NULL, *out = NULL, *err_s = NULL;
        _cleanup_(rt_state_freep) struct rt_state *st = NULL, *again = NULL;
        _cleanup_err_ struct err *e = NULL;
        int in[2], o[2], er[2], status = 0;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (access("/bin/busybox", X_OK) < 0)
                TAP_SKIP("needs busybox-static");
        bundle = make_bundle(args);
        root = xasprintf("%s/state", bundle);
        ASSERT_OK(pipe2(in, O_CLOEXEC));
        ASSERT_OK(pipe2(o, O_CLOEXEC));
        ASSERT_OK(pipe2(er, O_CLOEXEC));
        ASSERT_OK(rt_create(&(struct rt_create_opts){.state_root = root,
                                                     .id = "u1",
                                                     .bundle = bundle,
                                                     .console_fd = -1,
                                                     .stdio_set = true,
                                                     .stdio = {in[0], o[1], er[1]}},
                            &st, &e));
        close(in[0]);
        close(o[1]);
        close(er[1]);
        ASSERT_EQ(rt_state_status(st), RT_STATUS_CREATED);
        ASSERT_OK(rt_state_load(root, "u1", &again, &e));
        ASSERT_EQ(again->pid, st->pid);
        ASSERT_OK(rt_start(st, &e));
        ASSERT_EQ(write(in[1], "hello\n", 6), 6);
        close(in[1]);
        out = read_all(o[0]);
        err_s = read_all(er[0]);
        close(o[0]);
        close(er[0]);
        ASSERT_EQ(waitpid(st->pid, &status, 0), st->pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 9);
        ASSERT_STREQ(out, "got hello\n");
        ASSERT_STREQ(err_s, "err\n");
        ASSERT_EQ(rt_state_status(st), RT_STATUS_STOPPED);
        ASSERT_OK(rt_delete(st, false, &e));
        ASSERT_TRUE(access(st->dir, F_OK) < 0);
        ASSERT_OK(rm_rf(bundle, NULL));
}

static void test_exec_with_pipes(void) {
        static const char *const args[] = {"/bin/sh", "-c", "read x", NULL};
        _cleanup_free_ char *bundle = NULL, *root = NULL, *out = NULL;
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_strv_ char **xargs = NULL;
        struct spec_process p = {};
        int in[2], o[2], status = 0;
        pid_t pid = 0;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (access("/bin/busybox", X_OK) < 0)
                TAP_SKIP("needs busybox-static");
        bundle = make_bundle(args);
        root = xasprintf("%s/state", bundle);
        ASSERT_OK(pipe2(in, O_CLOEXEC));
        ASSERT_OK(pipe2(o, O_CLOEXEC));
        ASSERT_OK(rt_create(&(struct rt_create_opts){.state_root = root,
                                                     .id = "u2",
                                                     .bundle = bundle,
                                                     .console_fd = -1,
                                                     .stdio_set = true,
                                                     .stdio = {in[0], -1, -1}},
                            &st, &e));
        close(in[0]);
        ASSERT_OK(rt_start(st, &e));
        strv_push(&xargs, "/bin/sh");
        strv_push(&xargs, "-c");
        strv_push(&xargs, "echo $$ $(hostname)");
        p.args = xargs;
        p.cwd = (char *)"/";
        p.user.umask = -1;
        ASSERT_OK(rt_exec(st,
                          &(struct rt_exec_opts){.process = &p,
                                                 .console_fd = -1,
                                                 .stdio_set = true,
                                                 .stdio = {-1, o[1], -1}},
                          &pid, &e));
        close(o[1]);
        out = read_all(o[0]);
        close(o[0]);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* A pid of the container's namespace (1 is its init), and its hostname. */
        ASSERT_TRUE(strstr(out, " berth\n") != NULL);
        ASSERT_TRUE(atoi(out) > 1 && atoi(out) < 100);
        close(in[1]); /* init's read returns: it exits */
        ASSERT_EQ(waitpid(st->pid, &status, 0), st->pid);
        ASSERT_OK(rt_delete(st, false, &e));
        ASSERT_OK(rm_rf(bundle, NULL));
}

/* The shared parent of the tests' cgroups (berth-unit/) goes last. */
static void test_cleanup_cgroup_parents(void) {
        if (geteuid() != 0)
                TAP_SKIP("needs root");
        (void)!system("rmdir /sys/fs/cgroup/*/berth-unit /sys/fs/cgroup/*/*/*/berth-unit "
                      "2>/dev/null");
        ASSERT_TRUE(access("/sys/fs/cgroup/pids/berth-unit", F_OK) < 0);
}

TAP_MAIN(test_create_start_with_pipes, test_exec_with_pipes, test_cleanup_cgroup_parents);
