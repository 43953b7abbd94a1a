/* SPDX-License-Identifier: Apache-2.0 */
/* Starting a container: mount the rootfs, prepare /etc files, volumes and the OCI bundle, then
 * start a detached `berth shim` and read its one-line report. Also the daemon's side of the shim
 * socket. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
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
#include "ctr_internal.h"
#include "unixsock.h"
#include "ctr_net.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "net/netmgr.h"
#include "runtime/init.h"
#include "storage/overlay.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

#define SHIM_REPORT_TIMEOUT_MSEC 60000

/* Writes a generated file (replaced by rename, not synced: it is rebuilt before every start); an
 * immediate restart (c->restart_kept) skips the write when the file already holds that
 * content. */
static int write_generated(struct ctr *c, const char *path, const char *data, mode_t mode,
                           struct err **errp) {
        size_t len = strlen(data);

        if (c->restart_kept) {
                _cleanup_free_ char *old = NULL;
                size_t old_len = 0;

                if (read_file(path, len + 1, &old, &old_len, NULL) >= 0 && old_len == len &&
                    memcmp(old, data, len) == 0)
                        return 0;
        }
        return write_file_replace(path, data, len, mode, errp);
}

static int write_etc_files(struct ctr *c, struct err **errp) {
        const json_t *cfg = json_object_get(c->rec, "Config"),
                     *hc = json_object_get(c->rec, "HostConfig");
        const char *hostname = json_get_str(cfg, "Hostname", "");
        bool host_net = streq(json_get_str(hc, "NetworkMode", ""), "host");
        _cleanup_free_ char *hosts = NULL, *resolv = NULL, *host_resolv = NULL, *hn = NULL,
                            *p = NULL;
        size_t len;
        int r;

        if (host_net && read_file("/etc/hosts", 1u << 20, &hosts, &len, NULL) >= 0)
                ;
        else
                hosts = ctr_hosts_file(hostname, json_object_get(hc, "ExtraHosts"));
        (void)read_file("/etc/resolv.conf", 1u << 20, &host_resolv, &len, NULL);
        resolv = ctr_net_resolv_file(c->m, c->rec, host_resolv) /* berth-net */
                         ?: ctr_resolv_file(hc, host_resolv);
        hn = xasprintf("%s\n", hostname);
        p = xasprintf("%s/hosts", c->dir);
        r = write_generated(c, p, hosts, 0644, errp);
        if (r < 0)
                return r;
        free(p);
        p = xasprintf("%s/hostname", c->dir);
        r = write_generated(c, p, hn, 0644, errp);
        if (r < 0)
                return r;
        free(p);
        p = xasprintf("%s/resolv.conf", c->dir);
        return write_generated(c, p, resolv, 0644, errp);
}

/* Fills empty named/anonymous volumes from the image content at their destination. */
static int fill_volumes(struct ctr *c, int rootfd, struct err **errp) {
        json_t *m;
        size_t i;

        json_array_foreach (json_object_get(c->rec, "Mounts"), i, m) {
                _cleanup_(vol_freep) struct vol *v = NULL;
                _cleanup_close_ int pfd = -EBADF, dfd = -EBADF;
                _cleanup_free_ char *proc = NULL;
                int r;

                if (!streq(json_get_str(m, "Type", ""), "volume") ||
                    json_get_bool(m, "BerthNoCopy", false))
                        continue;
                r = vol_get(c->m->root, json_get_str(m, "Name", ""), &v, errp);
                if (r < 0)
                        return r;
                if (vol_is_empty(v, NULL) <= 0)
                        continue;
                pfd = rt_open_in_root(rootfd, json_get_str(m, "Destination", ""), false, false);
                if (pfd < 0)
                        continue; /* nothing in the image there */
                proc = xasprintf("/proc/self/fd/%d", pfd);
                dfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                r = vol_copy_from(v, dfd, errp);
                if (r < 0)
                        return err_wrap(errp, "fill volume '%s' from the image", v->name);
        }
        return 0;
}

/* Whether the start may fill a volume from the image: two starts doing that at once could
 * both find the volume empty, so those prepare on the loop, one after another. */
static bool fills_volumes(const struct ctr *c) {
        json_t *m;
        size_t i;

        json_array_foreach (json_object_get(c->rec, "Mounts"), i, m)
                if (streq(json_get_str(m, "Type", ""), "volume") &&
                    !json_get_bool(m, "BerthNoCopy", false))
                        return true;
        return false;
}

static int netns_path(struct ctr *c, char **ret, struct err **errp) {
        const char *net = json_get_str(json_object_get(c->rec, "HostConfig"), "NetworkMode", "");
        struct ctr *other;
        int r;

        *ret = NULL;
        if (!str_startswith(net, "container:"))
                return 0;
        r = ctr_lookup(c->m, net + 10, &other, errp);
        if (r < 0)
                return err_wrap(errp, "HostConfig.NetworkMode");
        if (!ctr_running(other))
                return err_setx(errp, EINVAL, "cannot join network of a non running container: %s",
                                net + 10);
        *ret = xasprintf("/proc/%d/ns/net",
                         (int)json_get_int(json_object_get(other->rec, "State"), "Pid", 0));
        return 0;
}

/* Mounts the rootfs and writes <dir>/bundle/config.json; netns: the namespace joined
 * (netns_path). Runs in the forked shim launcher (spawn_shim) unless the start fills volumes,
 * so it reads c and the daemon's state but changes nothing the daemon keeps in memory. */
static int prepare_bundle(struct ctr *c, const char *netns, struct err **errp) {
        const json_t *cfg = json_object_get(c->rec, "Config"),
                     *hc = json_object_get(c->rec, "HostConfig");
        _cleanup_strv_ char **lowers = NULL;
        _cleanup_free_ char *rootfs = NULL, *bundle = NULL, *spec_path = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_json_ json_t *spec = NULL;
        const char *wd = json_get_str(cfg, "WorkingDir", "");
        size_t n_gids = 0, i;
        json_t *v;
        uid_t uid;
        gid_t gid;
        int r;

        lowers = xnew0(char *, 1);
        json_array_foreach (json_object_get(c->rec, "BerthLowerDirs"), i, v)
                strv_push(&lowers, json_string_value(v));
        /* A writable layer removed at exit (AutoRemove, or the CLI's foreground --rm, which
         * removes it itself after reading the exit code) is mounted volatile: no sync of the
         * file system under it at unmount (docs/bench.md). */
        r = ovl_prepare_flags(c->dir, lowers, OVL_MODE_AUTO,
                              json_get_bool(hc, "AutoRemove", false) ||
                                              json_get_bool(hc, "BerthEphemeral", false)
                                      ? OVL_VOLATILE
                                      : 0,
                              &rootfs, errp);
        if (r < 0)
                return err_wrap(errp, "prepare the root file system");
        rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return err_set(errp, errno, "open '%s'", rootfs);
        /* overlayfs shows the upper dir's mode on "/": give it the image's (docker does too) */
        if (lowers[0]) {
                struct stat lsb, rsb;

                if (stat(lowers[0], &lsb) == 0 && fstat(rootfd, &rsb) == 0 &&
                    (lsb.st_mode & 07777) != (rsb.st_mode & 07777) &&
                    chmod(rootfs, lsb.st_mode & 07777) < 0)
                        return err_set(errp, errno, "chmod '%s'", rootfs);
        }
        r = ctr_resolve_user(rootfd, json_get_str(cfg, "User", ""), &uid, &gid, &gids, &n_gids,
                             errp);
        if (r < 0)
                return r;
        if (wd[0]) {
                _cleanup_close_ int wfd = -EBADF;

                wfd = rt_open_in_root(rootfd, wd, true, false);
                if (wfd < 0)
                        return err_set(errp, -wfd, "create working directory '%s'", wd);
        }
        r = fill_volumes(c, rootfd, errp);
        if (r >= 0)
                r = write_etc_files(c, errp);
        if (r < 0)
                return r;
        r = ctr_spec_build(&(struct ctr_spec_in){.rec = c->rec,
                                                 .rootfs = rootfs,
                                                 .ctr_dir = c->dir,
                                                 .uid = uid,
                                                 .gid = gid,
                                                 .gids = gids,
                                                 .n_gids = n_gids,
                                                 .netns_path = netns},
                           &spec, errp);
        if (r < 0)
                return r;
        bundle = xasprintf("%s/bundle", c->dir);
        r = mkdir_p(bundle, 0700, errp);
        if (r < 0)
                return r;
        spec_path = xasprintf("%s/config.json", bundle);
        {
                _cleanup_free_ char *text = json_dump_str(spec, true); /* as json_save_path */

                return write_generated(c, spec_path, text, 0600, errp);
        }
}

static void intermediate_reaped(struct ev_loop *loop, ev_child *w, int revents) {
        (void)revents;
        ev_child_stop(loop, w);
        free(w);
}

/* Forks, detaches (setsid + second fork) and execs `berth shim`. The intermediate process is
 * reaped by libev. Returns the read end of the status pipe. */
static int spawn_shim(struct ctr *c, bool prepare, const char *netns, int *ret_status_fd,
                      int *ret_go_fd, struct err **errp) {
        const json_t *lc = json_object_get(json_object_get(c->rec, "HostConfig"), "LogConfig");
        const json_t *lcfg = json_object_get(lc, "Config");
        char max_size[32] = "0", max_file[16] = "1", exe[PATH_MAX] = "";
        ssize_t n;
        int sp[2], go[2] = {-EBADF, -EBADF};
        pid_t pid;
        uint64_t sz;
        ev_child *w;

        if (json_get_str(lcfg, "max-size", NULL) &&
            clog_parse_size(json_get_str(lcfg, "max-size", ""), &sz, NULL) >= 0) {
                snprintf(max_size, sizeof(max_size), "%llu", (unsigned long long)sz);
                if (json_get_str(lcfg, "max-file", NULL))
                        snprintf(max_file, sizeof(max_file), "%d",
                                 MAX(1, atoi(json_get_str(lcfg, "max-file", "1"))));
        }
        /* The small static berth-shim next to our binary when it is there (one runs per
         * container), else `berth shim` from our own binary, by its path. */
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        if (n <= 0 || str_endswith(exe, " (deleted)"))
                strcpy(exe, "/proc/self/exe");
        else {
                char *slash = strrchr(exe, '/');

                if (slash && (size_t)(slash - exe) + sizeof("/berth-shim") <= sizeof(exe)) {
                        char cand[PATH_MAX];

                        snprintf(cand, sizeof(cand), "%.*s/berth-shim", (int)(slash - exe), exe);
                        if (access(cand, X_OK) == 0)
                                strcpy(exe, cand);
                }
        }
        if (pipe2(sp, O_CLOEXEC) < 0)
                return err_set(errp, errno, "pipe");
        /* berth-net: the "go" pipe of the start handshake (see ctr_do_start) */
        if (ret_go_fd && pipe2(go, O_CLOEXEC) < 0) {
                int e = errno;
                safe_close(sp[0]);
                safe_close(sp[1]);
                return err_set(errp, e, "pipe");
        }
        pid = fork();
        if (pid < 0) {
                int e = errno;
                safe_close(sp[0]);
                safe_close(sp[1]);
                safe_close(go[0]);
                safe_close(go[1]);
                return err_set(errp, e, "fork");
        }
        if (pid == 0) {
                sigset_t all;
                char *argv[] = {"berth",
                                "shim",
                                "--root",
                                c->m->root,
                                "--run",
                                c->m->run,
                                "--id",
                                c->id,
                                "--status-fd",
                                "3",
                                "--log-max-size",
                                max_size,
                                "--log-max-file",
                                max_file,
                                NULL,
                                NULL,
                                NULL,
                                NULL};
                const json_t *cfg = json_object_get(c->rec, "Config");
                size_t na = ELEMENTSOF(argv) - 4;

                /* The bundle is made here, beside the loop and the other starts (mounts and
                 * new files are most of a start's time); a failure is reported like the
                 * shim's own, and the daemon undoes the mount (start_finish). */
                if (prepare) {
                        struct err *pe = NULL;

                        if (prepare_bundle(c, netns, &pe) < 0) {
                                for (char *q = pe->msg; *q; q++)
                                        if (*q == '\n')
                                                *q = ' ';
                                (void)dprintf(sp[1], "err %d %s\n", pe->code, pe->msg);
                                _exit(1);
                        }
                }

                if (json_get_bool(cfg, "Tty", false))
                        argv[na++] = (char *)"--tty";
                /* berth-attach: keep the container's stdin open for attaches */
                if (json_get_bool(cfg, "OpenStdin", false))
                        argv[na++] = (char *)"--stdin";
                if (json_get_bool(cfg, "OpenStdin", false) &&
                    json_get_bool(cfg, "StdinOnce", false))
                        argv[na++] = (char *)"--stdin-once";
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (setsid() < 0)
                        _exit(1);
                pid = fork();
                if (pid != 0)
                        _exit(pid < 0 ? 1 : 0);
                if (go[0] >= 0 && go[0] <= 4 && (go[0] = fcntl(go[0], F_DUPFD_CLOEXEC, 10)) < 0)
                        _exit(1);
                if (dup2(sp[1], 3) < 0)
                        _exit(1);
                if (go[0] >= 0 && (dup2(go[0], 4) < 0 || setenv("BERTH_SHIM_START_FD", "4", 1) < 0))
                        _exit(1);
                (void)close_range(go[0] >= 0 ? 5 : 4, ~0U, 0);
                {
                        int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (nfd >= 0) {
                                (void)dup2(nfd, 0);
                                (void)dup2(nfd, 1);
                                (void)dup2(nfd, 2);
                        }
                }
                if (chdir("/") < 0)
                        _exit(1);
                execv(exe, argv);
                _exit(127);
        }
        safe_close(sp[1]);
        safe_close(go[0]);
        if (ret_go_fd)
                *ret_go_fd = go[1];
        w = xnew0(ev_child, 1);
        ev_child_init(w, intermediate_reaped, pid, 0);
        ev_child_start(c->m->loop, w);
        *ret_status_fd = sp[0];
        return 0;
}

/* ---- the start, on the loop ----
 *
 * The shim reports one line per step on the status pipe: "created PID" (only with the network
 * handshake: the init waits for a byte on the go pipe while we connect its networks), then
 * "ok PID" or "err CODE MSG". The pipe is watched by an ev_io, so the daemon goes on serving
 * while a shim starts; the outcome reaches the container manager through ctr_start_done(). */

struct ctr_starting {
        struct ctr *c;
        int status_fd, go_fd;
        ev_io io;
        ev_timer timeout;
        char buf[2048];
        size_t len;
        pid_t pid;
        struct err *err; /* the network attach failed: wait for the shim to give up, then fail */
        ev_prepare go_w; /* lets an attached container run at the end of the loop iteration */
};

static struct ctr_starting *starting_free(struct ctr_starting *s) {
        if (!s)
                return NULL;
        ev_io_stop(s->c->m->loop, &s->io);
        ev_timer_stop(s->c->m->loop, &s->timeout);
        ev_prepare_stop(s->c->m->loop, &s->go_w);
        safe_close(s->status_fd);
        safe_close(s->go_fd);
        err_free(s->err);
        free(s);
        return NULL;
}

static void exit_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct ctr *c = w->data;

        (void)loop;
        (void)revents;
        ctr_on_exit(c);
}

void ctr_start_cancel(struct ctr *c) {
        c->starting = starting_free(c->starting);
}

/* Records the outcome of the start in c's record (as the synchronous start did), then tells the
 * container manager. Takes ownership of e. */
static void start_finish(struct ctr *c, int r, pid_t pid, struct err *e) {
        json_t *st = ctr_state(c);
        bool gone = false;

        c->starting = starting_free(c->starting);
        if (r < 0)
                ctr_net_detach(c); /* berth-net */
        if (r >= 0 && ctr_shim_connect(c, NULL) < 0)
                gone = true; /* it ran and exited already: exit.json tells how */
        if (r < 0) {
                _cleanup_free_ char *t = ctr_now_str();
                const char *msg = err_msg(e);
                int code = 125;

                if (strstr(msg, "not found in $PATH") || (-r == ENOENT && strstr(msg, "exec")))
                        code = 127;
                else if (-r == EACCES || strstr(msg, "ermission denied"))
                        code = 126;
                (void)ovl_unmount(c->dir, NULL);
                ctr_set_status(c, json_get_str(st, "StartedAt", "")[0] ? "exited" : "created");
                json_object_set_new(st, "ExitCode", json_integer(code));
                json_object_set_new(st, "Error", json_string(msg));
                if (json_get_str(st, "StartedAt", "")[0])
                        json_object_set_new(st, "FinishedAt", json_string(t));
                (void)ctr_save_state(c);
                ctr_start_done(c, r, e);
                return;
        }
        {
                _cleanup_free_ char *t = ctr_now_str();

                ctr_set_status(c, "running");
                json_object_set_new(st, "Pid", json_integer(pid));
                json_object_set_new(st, "ExitCode", json_integer(0));
                json_object_set_new(st, "Error", json_string(""));
                json_object_set_new(st, "OOMKilled", json_false());
                json_object_set_new(st, "StartedAt", json_string(t));
                json_object_set_new(st, "FinishedAt", json_string("0001-01-01T00:00:00Z"));
        }
        c->ran = true;
        (void)ctr_save_state(c);
        log_info(c->id, "Container started, pid %d", (int)pid);
        if (gone) {
                /* Handled from the loop, after the start has been published. */
                ev_timer_init(&c->exit_timer, exit_timer_cb, 0., 0.);
                c->exit_timer.data = c;
                ev_timer_start(c->m->loop, &c->exit_timer);
        }
        err_free(e);
        ctr_start_done(c, 0, NULL);
}

/* Lets the container run (the shim waits for a byte on go_fd), or with e (taken) makes the
 * shim remove it: closing go_fd without a byte does that, its "err" line follows, and we
 * report our own error then. */
static void start_go(struct ctr_starting *s, struct err *e) {
        if (!e && write(s->go_fd, "g", 1) != 1)
                (void)err_set(&e, errno, "let the container run");
        s->go_fd = safe_close(s->go_fd);
        if (e)
                s->err = e;
}

/* The attaches of one loop iteration are written to the network files once (netmgr_flush),
 * before any of those containers runs: no container runs with an address the files do not
 * record, and 50 containers attached in one iteration cost one write, not 50. */
static void go_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
        struct ctr_starting *s = container_of(w, struct ctr_starting, go_w);
        struct err *e = NULL;

        (void)revents;
        ev_prepare_stop(loop, w);
        if (s->c->m->d->net && netmgr_flush(s->c->m->d->net, &e) < 0)
                (void)err_wrap(&e, "save the network state");
        start_go(s, e);
}

/* Handles one report line. Returns true when the start is over (s is freed then). */
static bool start_line(struct ctr_starting *s, char *line) {
        struct ctr *c = s->c;
        struct err *e = NULL;
        int r;

        if (str_startswith(line, "created ")) { /* berth-net: the start handshake */
                s->pid = (pid_t)atoi(line + 8);
                if (s->go_fd < 0)
                        return false;
                r = ctr_net_wanted(c->rec) ? ctr_net_attach(c, s->pid, &e) : 0;
                if (r >= 0) /* berth-attach: before the process runs */
                        ctr_attach_connect_pending(c);
                if (r >= 0 && ctr_net_wanted(c->rec)) {
                        ev_prepare_start(c->m->loop, &s->go_w);
                        return false;
                }
                start_go(s, r < 0 ? e : NULL);
                return false;
        }
        if (s->err) {
                e = TAKE_PTR(s->err);
                start_finish(c, -e->code, 0, e);
                return true;
        }
        if (str_startswith(line, "ok ")) {
                start_finish(c, 0, (pid_t)atoi(line + 3), NULL);
                return true;
        }
        if (str_startswith(line, "err ")) {
                char *msg;
                int code = (int)strtol(line + 4, &msg, 10);

                if (code <= 0)
                        code = EIO;
                r = err_setx(&e, code, "%s", msg[0] == ' ' ? msg + 1 : msg);
                start_finish(c, r, 0, e);
                return true;
        }
        r = err_setx(&e, EIO, "the shim exited without reporting");
        start_finish(c, r, 0, e);
        return true;
}

/* Reads what the status pipe holds. Returns true when the start is over. */
static bool start_step(struct ctr_starting *s) {
        ssize_t n = read(s->status_fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
        char *nl;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return false;
        if (n <= 0) {
                /* EOF or an error: whatever is there is the last word; a start that ends
                 * after "created" without its outcome failed */
                s->buf[s->len] = '\0';
                if (str_startswith(s->buf, "created "))
                        s->buf[0] = '\0';
                return start_line(s, s->buf);
        }
        s->len += (size_t)n;
        s->buf[s->len] = '\0';
        while ((nl = strchr(s->buf, '\n'))) {
                size_t used = (size_t)(nl - s->buf) + 1;
                char line[sizeof(s->buf)];

                memcpy(line, s->buf, used - 1);
                line[used - 1] = '\0';
                memmove(s->buf, s->buf + used, s->len - used + 1);
                s->len -= used;
                if (start_line(s, line))
                        return true;
        }
        if (s->len == sizeof(s->buf) - 1) {
                s->buf[s->len] = '\0';
                return start_line(s, s->buf);
        }
        return false;
}

static void start_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop;
        (void)revents;
        (void)start_step(container_of(w, struct ctr_starting, io));
}

static void start_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct ctr_starting *s = container_of(w, struct ctr_starting, timeout);
        struct err *e = NULL;
        int r;

        (void)loop;
        (void)revents;
        r = err_setx(&e, ETIMEDOUT, "the shim did not report in time");
        start_finish(s->c, r, 0, e);
}

int ctr_do_start(struct ctr *c, struct err **errp) {
        _cleanup_close_ int status_fd = -EBADF, go_fd = -EBADF;
        const char *wd = json_get_str(json_object_get(c->rec, "Config"), "WorkingDir", "");
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *netns = NULL;
        bool in_launcher = !fills_volumes(c);
        struct ctr_starting *s;
        int r;

        if (wd[0] && wd[0] != '/')
                r = err_setx(&e, EINVAL,
                             "Config.WorkingDir: the working directory '%s' is not an absolute "
                             "path",
                             wd);
        else
                r = netns_path(c, &netns, &e);
        if (r >= 0 && !in_launcher)
                r = prepare_bundle(c, netns, &e);
        if (r >= 0)
                r = spawn_shim(c, in_launcher, netns, &status_fd,
                               ctr_net_wanted(c->rec) || ctr_attach_pending(c) ? &go_fd : NULL, &e);
        if (r < 0) {
                /* Recorded like a failure reported by the shim; ctr_start_done is not called:
                 * the caller sees the error at once. */
                json_t *st = ctr_state(c);
                _cleanup_free_ char *t = ctr_now_str();

                ctr_net_detach(c); /* berth-net */
                (void)ovl_unmount(c->dir, NULL);
                ctr_set_status(c, json_get_str(st, "StartedAt", "")[0] ? "exited" : "created");
                json_object_set_new(st, "ExitCode", json_integer(125));
                json_object_set_new(st, "Error", json_string(err_msg(e)));
                if (json_get_str(st, "StartedAt", "")[0])
                        json_object_set_new(st, "FinishedAt", json_string(t));
                (void)ctr_save_state(c);
                return err_move(errp, TAKE_PTR(e));
        }
        (void)fcntl(status_fd, F_SETFL, O_NONBLOCK);
        s = xnew0(struct ctr_starting, 1);
        s->c = c;
        s->status_fd = TAKE_FD(status_fd);
        s->go_fd = TAKE_FD(go_fd);
        ev_io_init(&s->io, start_io_cb, s->status_fd, EV_READ);
        ev_timer_init(&s->timeout, start_timeout_cb, SHIM_REPORT_TIMEOUT_MSEC / 1000., 0.);
        ev_prepare_init(&s->go_w, go_prepare_cb);
        ev_io_start(c->m->loop, &s->io);
        ev_timer_start(c->m->loop, &s->timeout);
        ctr_start_cancel(c);
        c->starting = s;
        return 1;
}

/* ---- the shim connection ---- */

static void shim_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct ctr *c = w->data;
        ssize_t n;

        (void)loop;
        (void)revents;
        n = read(c->shim_fd, c->shim_buf + c->shim_len, sizeof(c->shim_buf) - 1 - c->shim_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0) {
                c->shim_len += (size_t)n;
                c->shim_buf[c->shim_len] = '\0';
                if (!strstr(c->shim_buf, "\"exited\"")) {
                        /* keep only the unfinished last line */
                        char *nl = strrchr(c->shim_buf, '\n');
                        if (nl) {
                                size_t rest = c->shim_len - (size_t)(nl + 1 - c->shim_buf);
                                memmove(c->shim_buf, nl + 1, rest + 1);
                                c->shim_len = rest;
                        }
                        if (c->shim_len < sizeof(c->shim_buf) - 1)
                                return;
                }
        }
        /* EOF, an error, or the exit line: the container is gone. */
        ctr_on_exit(c);
}

int ctr_shim_connect(struct ctr *c, struct err **errp) {
        struct sockaddr_un sa;
        _cleanup_free_ char *path = xasprintf("%s/shims/%s.sock", c->m->run, c->id);
        _cleanup_close_ int fd = -EBADF, dirfd = -EBADF;

        if (unix_sockaddr(path, &sa, &dirfd, errp) < 0)
                return err_wrap(errp, "shim socket");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(errp, errno, "connect to the shim at '%s'", path);
        ctr_shim_disconnect(c);
        c->shim_fd = TAKE_FD(fd);
        c->shim_len = 0;
        ev_io_init(&c->shim_io, shim_io_cb, c->shim_fd, EV_READ);
        c->shim_io.data = c;
        ev_io_start(c->m->loop, &c->shim_io);
        return 0;
}

void ctr_shim_disconnect(struct ctr *c) {
        if (c->shim_fd < 0)
                return;
        ev_io_stop(c->m->loop, &c->shim_io);
        c->shim_fd = safe_close(c->shim_fd);
}
