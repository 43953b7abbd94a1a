/* SPDX-License-Identifier: Apache-2.0 */
/* Container state on disk (STATE_ROOT/<id>/state.json, versioned and written atomically, STYLE
 * C17) and the status derived from the kernel's view of the init process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/container.h"
#include "strv.h"
#include "xalloc.h"

#define STATE_VERSION 1

static const char *const status_names[_RT_STATUS_MAX] = {
        [RT_STATUS_CREATING] = "creating", [RT_STATUS_CREATED] = "created",
        [RT_STATUS_RUNNING] = "running",   [RT_STATUS_STOPPED] = "stopped",
        [RT_STATUS_PAUSED] = "paused",
};

const char *rt_status_to_string(enum rt_status s) {
        return s < _RT_STATUS_MAX ? status_names[s] : "unknown";
}

bool rt_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 128)
                return false;
        if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
              (id[0] >= '0' && id[0] <= '9')))
                return false;
        return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

struct rt_state *rt_state_free(struct rt_state *st) {
        if (!st)
                return NULL;
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->oci_version);
        free(st->created);
        json_decref(st->annotations);
        cg_free(st->cg);
        free(st->dir);
        strv_free(st->warnings);
        spec_free(st->spec);
        free(st);
        return NULL;
}

void rt_state_freep(struct rt_state **st) {
        *st = rt_state_free(*st);
}

/* Field 22 of /proc/PID/stat; 0 when the process is gone. Also reports a zombie as gone. */
uint64_t rt_proc_start_time(pid_t pid) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        char *p;
        unsigned long long v = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (read_file(path, 4096, &buf, NULL, NULL) < 0)
                return 0;
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return 0;
        p += 2;
        if (*p == 'Z' || *p == 'X')
                return 0;
        /* p points at field 3; skip to field 22. */
        for (int f = 3; f < 22 && p; f++) {
                p = strchr(p, ' ');
                if (p)
                        p++;
        }
        if (!p || sscanf(p, "%llu", &v) != 1)
                return 0;
        return v;
}

enum rt_status rt_state_status(const struct rt_state *st) {
        _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
        struct stat s;

        if (st->pid <= 0 || rt_proc_start_time(st->pid) != st->start_time)
                return RT_STATUS_STOPPED;
        if (stat(fifo, &s) == 0)
                return RT_STATUS_CREATED;
        if (st->cg && st->cg->ops->is_frozen(st->cg, NULL) == 1)
                return RT_STATUS_PAUSED;
        return RT_STATUS_RUNNING;
}

json_t *rt_state_to_json(const struct rt_state *st) {
        enum rt_status s = rt_state_status(st);
        json_t *j = json_object();

        json_object_set_new(j, "ociVersion",
                            json_string(st->oci_version ? st->oci_version : "1.1.0"));
        json_object_set_new(j, "id", json_string(st->id));
        json_object_set_new(j, "status", json_string(rt_status_to_string(s)));
        json_object_set_new(j, "pid", json_integer(s == RT_STATUS_STOPPED ? 0 : st->pid));
        json_object_set_new(j, "bundle", json_string(st->bundle));
        json_object_set_new(j, "rootfs", json_string(st->rootfs));
        json_object_set_new(j, "created", json_string(st->created));
        json_object_set_new(j, "annotations",
                            st->annotations ? json_incref(st->annotations) : json_object());
        return j;
}

int rt_state_save(const struct rt_state *st, struct err **errp) {
        _cleanup_json_ json_t *j = json_object();
        _cleanup_free_ char *path = xasprintf("%s/state.json", st->dir);

        json_object_set_new(j, "version", json_integer(STATE_VERSION));
        json_object_set_new(j, "id", json_string(st->id));
        json_object_set_new(j, "ociVersion", json_string(st->oci_version));
        json_object_set_new(j, "bundle", json_string(st->bundle));
        json_object_set_new(j, "rootfs", json_string(st->rootfs));
        json_object_set_new(j, "pid", json_integer(st->pid));
        json_object_set_new(j, "startTime", json_integer((json_int_t)st->start_time));
        json_object_set_new(j, "created", json_string(st->created));
        json_object_set_new(j, "annotations", json_incref(st->annotations));
        if (st->cg)
                json_object_set_new(j, "cgroup", cg_to_json(st->cg));
        return json_replace_path(path, j, errp);
}

int rt_state_load(const char *state_root, const char *id, struct rt_state **ret,
                  struct err **errp) {
        _cleanup_(rt_state_freep) struct rt_state *st = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!rt_id_valid(id))
                return err_setx(errp, EINVAL, "invalid container id '%s'", id ? id : "");
        path = xasprintf("%s/%s/state.json", state_root, id);
        r = json_load_path(path, 1 << 20, &j, errp);
        if (r == -ENOENT) {
                err_freep(errp);
                return err_setx(errp, ENOENT, "container '%s' does not exist", id);
        }
        if (r < 0)
                return r;
        if (json_get_int(j, "version", 0) != STATE_VERSION)
                return err_setx(errp, EINVAL, "%s: unsupported state version", path);
        st = xnew0(struct rt_state, 1);
        st->id = xstrdup(id);
        st->dir = xasprintf("%s/%s", state_root, id);
        st->bundle = xstrdup(json_get_str(j, "bundle", ""));
        st->rootfs = xstrdup(json_get_str(j, "rootfs", ""));
        st->oci_version = xstrdup(json_get_str(j, "ociVersion", "1.1.0"));
        st->created = xstrdup(json_get_str(j, "created", ""));
        st->pid = (pid_t)json_get_int(j, "pid", 0);
        st->start_time = (uint64_t)json_get_int(j, "startTime", 0);
        st->annotations = json_object_get(j, "annotations")
                                  ? json_incref(json_object_get(j, "annotations"))
                                  : json_object();
        if (json_object_get(j, "cgroup")) {
                r = cg_from_json(json_object_get(j, "cgroup"), &st->cg, errp);
                if (r < 0)
                        return err_wrap(errp, "%s", path);
        }
        *ret = TAKE_PTR(st);
        return 0;
}

int rt_list(const char *state_root, char ***ret, struct err **errp) {
        _cleanup_closedir_ DIR *d = opendir(state_root);
        _cleanup_strv_ char **l = xnew0(char *, 1);
        struct dirent *de;

        if (!d) {
                if (errno == ENOENT) {
                        *ret = TAKE_PTR(l);
                        return 0;
                }
                return err_set(errp, errno, "open '%s'", state_root);
        }
        while ((de = readdir(d)))
                if (rt_id_valid(de->d_name))
                        strv_push(&l, de->d_name);
        qsort_safe(l, strv_length(l), sizeof(char *), strv_cmp);
        *ret = TAKE_PTR(l);
        return 0;
}
