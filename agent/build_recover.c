/* SPDX-License-Identifier: Apache-2.0 */
/* What a build leaves when the daemon dies during it (docs/build.md "A daemon killed during a
 * build"), and its release at the next start. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "build_recover.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "net/netmgr.h"
#include "netd.h"
#include "runtime/container.h"
#include "strv.h"
#include "xalloc.h"

#define JOB_FILE_MAX 4096
/* How long to wait for a killed process group to be gone, in 10 ms steps. */
#define KILL_WAIT_STEPS 300

static char *jobs_dir(struct daemon *d) {
        return xasprintf("%s/build-tmp/jobs", d->root);
}

void build_job_record(struct daemon *d, pid_t pid, const char *net_id) {
        _cleanup_free_ char *dir = jobs_dir(d), *p = xasprintf("%s/%d.json", dir, (int)pid);
        _cleanup_json_ json_t *j = json_pack("{s:i,s:I,s:s?}", "pid", (int)pid, "start",
                                             (json_int_t)rt_proc_start_time(pid), "net", net_id);
        _cleanup_err_ struct err *e = NULL;

        if (mkdir_p(dir, 0700, &e) < 0 || json_save_path(p, j, &e) < 0)
                log_warn(NULL, "Failed to note build %d: %s, ignoring", (int)pid, err_msg(e));
}

void build_job_forget(struct daemon *d, pid_t pid) {
        _cleanup_free_ char *dir = jobs_dir(d), *p = xasprintf("%s/%d.json", dir, (int)pid);

        (void)unlink(p);
}

static void sleep_10ms(void) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        (void)nanosleep(&ts, NULL);
}

/* Kills the process group of a helper noted in file name, when it is still the same process
 * (its start time matches) or only its group is left (a pid is never reused while a group of
 * that id exists, so the group is still the build's). */
static void kill_job(const char *path) {
        _cleanup_json_ json_t *j = NULL;
        pid_t pid;
        uint64_t start, now;

        if (json_load_path(path, JOB_FILE_MAX, &j, NULL) < 0)
                return;
        pid = (pid_t)json_get_int(j, "pid", 0);
        start = (uint64_t)json_get_int(j, "start", 0);
        if (pid <= 1)
                return;
        now = rt_proc_start_time(pid);
        if (now != 0 && now != start)
                return; /* another process: the build's group is gone */
        if (killpg(pid, SIGKILL) < 0)
                return;
        log_info(NULL, "Killed the helper of an interrupted build (process group %d)", (int)pid);
        for (int i = 0; i < KILL_WAIT_STEPS && killpg(pid, 0) == 0; i++)
                sleep_10ms();
}

static void kill_jobs(struct daemon *d) {
        _cleanup_free_ char *dir = jobs_dir(d);
        _cleanup_closedir_ DIR *dh = opendir(dir);
        struct dirent *de;

        while (dh && (de = readdir(dh))) {
                if (!str_endswith(de->d_name, ".json"))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                kill_job(p);
        }
}

/* RUN containers (their state is under build-tmp/oci): killed and deleted with their cgroups. */
static void delete_run_containers(struct daemon *d) {
        _cleanup_free_ char *root = xasprintf("%s/build-tmp/oci", d->root);
        _cleanup_strv_ char **ids = NULL;

        if (access(root, F_OK) < 0 || rt_list(root, &ids, NULL) < 0)
                return;
        STRV_FOREACH (id, ids) {
                _cleanup_(rt_state_freep) struct rt_state *st = NULL;
                _cleanup_err_ struct err *e = NULL;

                if (rt_state_load(root, *id, &st, &e) < 0 || rt_delete(st, true, &e) < 0)
                        log_warn(*id,
                                 "Failed to delete the RUN container '%s' of an interrupted "
                                 "build: %s, ignoring",
                                 *id, err_msg(e));
        }
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

static int cmp_len_desc(const void *a, const void *b) {
        size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
        return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Every mount point below prefix (overlays of RUN steps and COPY --from), deepest first. */
static void unmount_below(const char *prefix) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_strv_ char **points = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, plen = strlen(prefix);

        if (!f)
                return;
        while (getline(&line, &cap, f) >= 0) {
                /* id parent major:minor root mount-point ... */
                char *save = NULL, *tok = strtok_r(line, " ", &save);
                for (int i = 0; tok && i < 4; i++)
                        tok = strtok_r(NULL, " ", &save);
                if (!tok)
                        continue;
                unescape_octal(tok);
                if (strncmp(tok, prefix, plen) == 0 && tok[plen] == '/')
                        strv_push(&points, tok);
        }
        size_t n = strv_length(points);
        if (n == 0)
                return;
        qsort_safe(points, n, sizeof(char *), cmp_len_desc);
        STRV_FOREACH (m, points)
                if (umount2(*m, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                        log_warn(NULL,
                                 "Failed to unmount '%s' of an interrupted build: %m, "
                                 "ignoring",
                                 *m);
}

/* The endpoints "build-*" on the default bridge: no build runs yet, so all are stale. */
static void release_endpoints(struct daemon *d) {
        _cleanup_strv_ char **ids = NULL;
        struct netmgr *nm = NULL;

        if (netd_get(d, &nm, NULL) < 0 || !netmgr_network_get(nm, NET_DEFAULT_NAME))
                return;
        for (size_t i = 0; i < netmgr_n_endpoints(nm, NET_DEFAULT_NAME); i++) {
                const struct net_endpoint *ep = netmgr_endpoint_at(nm, NET_DEFAULT_NAME, i);
                if (ep && str_startswith(ep->id, "build-"))
                        strv_push(&ids, ep->id);
        }
        STRV_FOREACH (id, ids) {
                _cleanup_err_ struct err *e = NULL;

                if (netmgr_disconnect(nm, NET_DEFAULT_NAME, *id, &e) < 0)
                        log_warn(*id,
                                 "Failed to release endpoint '%s' of an interrupted build: "
                                 "%s, ignoring",
                                 *id, err_msg(e));
                else
                        log_info(*id, "Released endpoint '%s' of an interrupted build", *id);
        }
}

void build_recover(struct daemon *d) {
        _cleanup_free_ char *tmp = xasprintf("%s/build-tmp", d->root);
        _cleanup_err_ struct err *e = NULL;
        struct stat st;

        if (lstat(tmp, &st) < 0) {
                release_endpoints(d);
                return;
        }
        kill_jobs(d);
        delete_run_containers(d);
        release_endpoints(d);
        unmount_below(tmp);
        if (rm_rf(tmp, &e) < 0)
                log_warn(NULL, "Failed to remove '%s': %s, ignoring", tmp, err_msg(e));
}
