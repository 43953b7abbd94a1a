/* SPDX-License-Identifier: Apache-2.0 */
/* config.json (OCI runtime-spec 1.1) -> struct spec. Every value is checked against a limit
 * before anything uses it (STYLE C14); errors name the file and the field. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "runtime/caps.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/spec.h"
#include "strv.h"
#include "xalloc.h"

static const struct {
        const char *name, *proc;
        int flag;
} ns_table[_SPEC_NS_MAX] = {
        [SPEC_NS_PID] = {"pid", "pid", CLONE_NEWPID},
        [SPEC_NS_NET] = {"network", "net", CLONE_NEWNET},
        [SPEC_NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
        [SPEC_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
        [SPEC_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
        [SPEC_NS_USER] = {"user", "user", CLONE_NEWUSER},
        [SPEC_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
        [SPEC_NS_TIME] = {"time", "time", 0x00000080 /* CLONE_NEWTIME */},
};

const char *spec_ns_name(enum spec_ns ns) {
        return ns >= 0 && ns < _SPEC_NS_MAX ? ns_table[ns].name : NULL;
}
const char *spec_ns_proc_name(enum spec_ns ns) {
        return ns >= 0 && ns < _SPEC_NS_MAX ? ns_table[ns].proc : NULL;
}
int spec_ns_clone_flag(enum spec_ns ns) {
        return ns >= 0 && ns < _SPEC_NS_MAX ? ns_table[ns].flag : 0;
}
enum spec_ns spec_ns_from_name(const char *s) {
        for (int i = 0; i < _SPEC_NS_MAX; i++)
                if (streq(ns_table[i].name, s))
                        return (enum spec_ns)i;
        return _SPEC_NS_INVALID;
}

static const struct {
        const char *name;
        int res;
} rlimit_table[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

int spec_rlimit_from_name(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (streq(rlimit_table[i].name, s))
                        return rlimit_table[i].res;
        return -1;
}

const char *spec_rlimit_name(int res) {
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (rlimit_table[i].res == res)
                        return rlimit_table[i].name;
        return "RLIMIT_?";
}

/* "WHAT: FIELD: message", EINVAL. */
_printf_(4, 5) static int bad(struct err **errp, const char *what, const char *field,
                              const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        va_start(ap, fmt);
        m = xvasprintf(fmt, ap);
        va_end(ap);
        err_setx(errp, EINVAL, "%s: %s: %s", what, field, m);
        err_set_field(errp, field);
        return -EINVAL;
}

/* Optional string; NULL when absent. */
static int get_str(const json_t *o, const char *key, const char *what, const char *field,
                   char **ret, struct err **errp) {
        json_t *v = json_object_get(o, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return bad(errp, what, field, "must be a string");
        if (json_string_length(v) > SPEC_MAX_STR ||
            strlen(json_string_value(v)) != json_string_length(v))
                return bad(errp, what, field, "too long or contains NUL");
        *ret = xstrdup(json_string_value(v));
        return 0;
}

static int get_bool(const json_t *o, const char *key, const char *what, const char *field,
                    bool *ret, struct err **errp) {
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return bad(errp, what, field, "must be a boolean");
        *ret = json_is_true(v);
        return 0;
}

/* Integer in [min, max]; returns 1 when present. */
static int get_int(const json_t *o, const char *key, const char *what, const char *field,
                   int64_t min, int64_t max, int64_t *ret, struct err **errp) {
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return bad(errp, what, field, "must be an integer");
        if (json_integer_value(v) < min || json_integer_value(v) > max)
                return bad(errp, what, field, "%" JSON_INTEGER_FORMAT " out of range",
                           json_integer_value(v));
        *ret = json_integer_value(v);
        return 1;
}

/* Array of strings, at most max; NULL when absent. */
static int get_strv(const json_t *o, const char *key, const char *what, const char *field,
                    size_t max, char ***ret, struct err **errp) {
        _cleanup_strv_ char **l = NULL;
        json_t *v = json_object_get(o, key), *e;
        size_t i;

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return bad(errp, what, field, "must be an array of strings");
        if (json_array_size(v) > max)
                return bad(errp, what, field, "more than %zu entries", max);
        l = xnew0(char *, 1);
        json_array_foreach (v, i, e) {
                if (!json_is_string(e))
                        return bad(errp, what, field, "entry %zu must be a string", i);
                if (json_string_length(e) > SPEC_MAX_STR ||
                    strlen(json_string_value(e)) != json_string_length(e))
                        return bad(errp, what, field, "entry %zu too long or contains NUL", i);
                strv_push(&l, json_string_value(e));
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool path_ok(const char *p) {
        return p && p[0] == '/' && strlen(p) < PATH_MAX;
}

void spec_process_done(struct spec_process *p) {
        if (!p)
                return;
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        free(p->user.additional_gids);
        for (int i = 0; i < _SPEC_CAP_SET_MAX; i++)
                free(p->caps[i]);
        free(p->rlimits);
        free(p->apparmor_profile);
        memset(p, 0, sizeof(*p));
}

static int parse_user(const json_t *u, const char *what, struct spec_user *ret, struct err **errp) {
        json_t *g, *e;
        int64_t v;
        size_t i;
        int r;

        ret->umask = -1;
        if (!u)
                return 0;
        if (!json_is_object(u))
                return bad(errp, what, "process.user", "must be an object");
        v = 0;
        r = get_int(u, "uid", what, "process.user.uid", 0, UINT32_MAX - 1, &v, errp);
        if (r < 0)
                return r;
        ret->uid = (uid_t)v;
        v = 0;
        r = get_int(u, "gid", what, "process.user.gid", 0, UINT32_MAX - 1, &v, errp);
        if (r < 0)
                return r;
        ret->gid = (gid_t)v;
        r = get_int(u, "umask", what, "process.user.umask", 0, 0777, &v, errp);
        if (r < 0)
                return r;
        if (r > 0)
                ret->umask = (int)v;
        if (json_object_get(u, "username"))
                return bad(errp, what, "process.user.username", "not supported on Linux");
        g = json_object_get(u, "additionalGids");
        if (g && !json_is_null(g)) {
                if (!json_is_array(g) || json_array_size(g) > 256)
                        return bad(errp, what, "process.user.additionalGids",
                                   "must be an array of at most 256 gids");
                ret->additional_gids = xnew0(gid_t, json_array_size(g) + 1);
                json_array_foreach (g, i, e) {
                        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                            json_integer_value(e) >= UINT32_MAX)
                                return bad(errp, what, "process.user.additionalGids",
                                           "entry %zu must be a gid", i);
                        ret->additional_gids[ret->n_additional_gids++] =
                                (gid_t)json_integer_value(e);
                }
        }
        return 0;
}

static int parse_caps(const json_t *c, const char *what, struct spec_process *p,
                      struct err **errp) {
        static const char *const keys[_SPEC_CAP_SET_MAX] = {
                [SPEC_CAP_BOUNDING] = "bounding",       [SPEC_CAP_EFFECTIVE] = "effective",
                [SPEC_CAP_INHERITABLE] = "inheritable", [SPEC_CAP_PERMITTED] = "permitted",
                [SPEC_CAP_AMBIENT] = "ambient",
        };

        if (!c || json_is_null(c))
                return 0;
        if (!json_is_object(c))
                return bad(errp, what, "process.capabilities", "must be an object");
        p->has_caps = true;
        for (int s = 0; s < _SPEC_CAP_SET_MAX; s++) {
                _cleanup_strv_ char **names = NULL;
                char field[64];
                int r;

                snprintf(field, sizeof(field), "process.capabilities.%s", keys[s]);
                r = get_strv(c, keys[s], what, field, 128, &names, errp);
                if (r < 0)
                        return r;
                p->caps[s] = xnew0(int, strv_length(names) + 1);
                STRV_FOREACH (n, names) {
                        int cap = caps_from_name(*n);
                        if (cap < 0)
                                return bad(errp, what, field, "unknown capability '%s'", *n);
                        p->caps[s][p->n_caps[s]++] = cap;
                }
        }
        return 0;
}

static int parse_rlimits(const json_t *a, const char *what, struct spec_process *p,
                         struct err **errp) {
        json_t *e;
        size_t i;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 64)
                return bad(errp, what, "process.rlimits", "must be an array (at most 64)");
        p->rlimits = xnew0(struct spec_rlimit, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                char field[64];
                const char *t = json_get_str(e, "type", NULL);
                json_t *soft = json_object_get(e, "soft"), *hard = json_object_get(e, "hard");
                struct spec_rlimit *rl = &p->rlimits[p->n_rlimits];

                snprintf(field, sizeof(field), "process.rlimits[%zu]", i);
                if (!json_is_object(e) || !t)
                        return bad(errp, what, field, "must be an object with a type");
                rl->resource = spec_rlimit_from_name(t);
                if (rl->resource < 0)
                        return bad(errp, what, field, "unknown rlimit type '%s'", t);
                if (!json_is_integer(soft) || !json_is_integer(hard))
                        return bad(errp, what, field, "soft and hard must be integers");
                /* JSON cannot hold 2^64-1; runtimes treat any negative as infinity. */
                rl->soft = json_integer_value(soft) < 0 ? RLIM_INFINITY
                                                        : (uint64_t)json_integer_value(soft);
                rl->hard = json_integer_value(hard) < 0 ? RLIM_INFINITY
                                                        : (uint64_t)json_integer_value(hard);
                if (rl->soft > rl->hard)
                        return bad(errp, what, field, "soft limit above hard limit");
                p->n_rlimits++;
        }
        return 0;
}

int spec_process_from_json(const json_t *j, const char *what, struct spec_process *ret,
                           struct err **errp) {
        struct spec_process p = {};
        int64_t v;
        int r;

        if (!json_is_object(j)) {
                r = bad(errp, what, "process", "must be an object");
                goto fail;
        }
        r = get_strv(j, "args", what, "process.args", SPEC_MAX_ARGS, &p.args, errp);
        if (r < 0)
                goto fail;
        if (strv_length(p.args) == 0 || p.args[0][0] == '\0') {
                r = bad(errp, what, "process.args", "must be a non-empty array");
                goto fail;
        }
        r = get_strv(j, "env", what, "process.env", SPEC_MAX_ENV, &p.env, errp);
        if (r < 0)
                goto fail;
        STRV_FOREACH (e, p.env)
                if (!strchr(*e, '=') || (*e)[0] == '=') {
                        r = bad(errp, what, "process.env", "'%s' is not NAME=VALUE", *e);
                        goto fail;
                }
        r = get_str(j, "cwd", what, "process.cwd", &p.cwd, errp);
        if (r < 0)
                goto fail;
        if (!p.cwd)
                p.cwd = xstrdup("/");
        if (!path_ok(p.cwd)) {
                r = bad(errp, what, "process.cwd", "must be an absolute path");
                goto fail;
        }
        r = get_bool(j, "terminal", what, "process.terminal", &p.terminal, errp);
        if (r < 0)
                goto fail;
        {
                const json_t *cs = json_object_get(j, "consoleSize");
                int64_t h = 0, w = 0;

                if (cs) {
                        r = get_int(cs, "height", what, "process.consoleSize.height", 0, 65535, &h,
                                    errp);
                        if (r >= 0)
                                r = get_int(cs, "width", what, "process.consoleSize.width", 0,
                                            65535, &w, errp);
                        if (r < 0)
                                goto fail;
                        p.console_height = (unsigned short)h;
                        p.console_width = (unsigned short)w;
                }
        }
        r = get_bool(j, "noNewPrivileges", what, "process.noNewPrivileges", &p.no_new_privileges,
                     errp);
        if (r < 0)
                goto fail;
        r = get_int(j, "oomScoreAdj", what, "process.oomScoreAdj", -1000, 1000, &v, errp);
        if (r < 0)
                goto fail;
        if (r > 0) {
                p.has_oom_score_adj = true;
                p.oom_score_adj = (int)v;
        }
        r = parse_user(json_object_get(j, "user"), what, &p.user, errp);
        if (r < 0)
                goto fail;
        r = parse_caps(json_object_get(j, "capabilities"), what, &p, errp);
        if (r < 0)
                goto fail;
        r = parse_rlimits(json_object_get(j, "rlimits"), what, &p, errp);
        if (r < 0)
                goto fail;
        r = get_str(j, "apparmorProfile", what, "process.apparmorProfile", &p.apparmor_profile,
                    errp);
        if (r < 0)
                goto fail;
        *ret = p;
        return 0;
fail:
        spec_process_done(&p);
        return r;
}

static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
} mount_flag_table[] = {
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"nosuid", false, MS_NOSUID},
        {"suid", true, MS_NOSUID},
        {"nodev", false, MS_NODEV},
        {"dev", true, MS_NODEV},
        {"noexec", false, MS_NOEXEC},
        {"exec", true, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},
        {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},
        {"remount", false, MS_REMOUNT},
        {"mand", false, MS_MANDLOCK},
        {"nomand", true, MS_MANDLOCK},
        {"atime", true, MS_NOATIME},
        {"noatime", false, MS_NOATIME},
        {"diratime", true, MS_NODIRATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
        {"silent", false, MS_SILENT},
        {"loud", true, MS_SILENT},
        {"defaults", false, 0},
};

static const struct {
        const char *name;
        unsigned long flag;
} propagation_table[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static unsigned long propagation_from_name(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(propagation_table); i++)
                if (streq(propagation_table[i].name, s))
                        return propagation_table[i].flag;
        return 0;
}

int spec_mount_parse_options(struct spec_mount *m, struct err **errp) {
        _cleanup_strv_ char **data = NULL;
        unsigned long pr;

        m->flags = m->clear = m->propagation = 0;
        m->bind = m->recursive = false;
        STRV_FOREACH (o, m->options) {
                bool known = false;

                if (streq(*o, "bind") || streq(*o, "rbind")) {
                        m->bind = true;
                        m->recursive = m->recursive || streq(*o, "rbind");
                        continue;
                }
                pr = propagation_from_name(*o);
                if (pr) {
                        m->propagation = pr;
                        continue;
                }
                /* Accepted and ignored: tmpcopyup (crun's copy-up of the tmpfs target) and
                 * idmap options we do not support in the mount layer. */
                if (streq(*o, "tmpcopyup") || streq(*o, "notmpcopyup"))
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(mount_flag_table); i++)
                        if (streq(mount_flag_table[i].name, *o)) {
                                if (mount_flag_table[i].clear) {
                                        m->clear |= mount_flag_table[i].flag;
                                        m->flags &= ~mount_flag_table[i].flag;
                                } else {
                                        m->flags |= mount_flag_table[i].flag;
                                        m->clear &= ~mount_flag_table[i].flag;
                                }
                                known = true;
                                break;
                        }
                if (known)
                        continue;
                if (strchr(*o, ',')) {
                        err_setx(errp, EINVAL, "mount option '%s' contains a comma", *o);
                        return -EINVAL;
                }
                strv_push(&data, *o);
        }
        free(m->data);
        m->data = data ? strv_join(data, ",") : NULL;
        return 0;
}

static int parse_mounts(const json_t *a, const char *what, struct spec *s, struct err **errp) {
        json_t *e;
        size_t i;
        int r;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > SPEC_MAX_MOUNTS)
                return bad(errp, what, "mounts", "must be an array of at most %d", SPEC_MAX_MOUNTS);
        s->mounts = xnew0(struct spec_mount, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                struct spec_mount *m = &s->mounts[s->n_mounts];
                char field[64];

                snprintf(field, sizeof(field), "mounts[%zu]", i);
                if (!json_is_object(e))
                        return bad(errp, what, field, "must be an object");
                s->n_mounts++;
                r = get_str(e, "destination", what, field, &m->destination, errp);
                if (r < 0)
                        return r;
                if (!path_ok(m->destination))
                        return bad(errp, what, field, "destination must be an absolute path");
                r = get_str(e, "type", what, field, &m->type, errp);
                if (r < 0)
                        return r;
                r = get_str(e, "source", what, field, &m->source, errp);
                if (r < 0)
                        return r;
                r = get_strv(e, "options", what, field, 128, &m->options, errp);
                if (r < 0)
                        return r;
                r = spec_mount_parse_options(m, errp);
                if (r < 0)
                        return bad(errp, what, field, "%s", "bad option");
                if (m->type && streq(m->type, "bind"))
                        m->bind = true;
                if (!m->type && !m->bind)
                        return bad(errp, what, field, "needs a type or a bind option");
                if (m->bind && !m->source)
                        return bad(errp, what, field, "a bind mount needs a source");
        }
        return 0;
}

static int parse_idmaps(const json_t *a, const char *what, const char *field,
                        struct spec_idmap **ret, size_t *ret_n, struct err **errp) {
        json_t *e;
        size_t i;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 340)
                return bad(errp, what, field, "must be an array of at most 340 mappings");
        *ret = xnew0(struct spec_idmap, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                int64_t c = -1, h = -1, sz = -1;
                if (get_int(e, "containerID", what, field, 0, UINT32_MAX, &c, errp) < 0 ||
                    get_int(e, "hostID", what, field, 0, UINT32_MAX, &h, errp) < 0 ||
                    get_int(e, "size", what, field, 1, UINT32_MAX, &sz, errp) < 0)
                        return -EINVAL;
                if (c < 0 || h < 0 || sz < 1)
                        return bad(errp, what, field,
                                   "entry %zu needs containerID, hostID and size", i);
                (*ret)[(*ret_n)++] = (struct spec_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)sz};
        }
        return 0;
}

static int parse_devices(const json_t *a, const char *what, struct spec *s, struct err **errp) {
        json_t *e;
        size_t i;
        int64_t v;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > SPEC_MAX_ITEMS)
                return bad(errp, what, "linux.devices", "must be an array");
        s->devices = xnew0(struct spec_device, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                struct spec_device *d = &s->devices[s->n_devices];
                const char *t = json_get_str(e, "type", "");
                char field[64];

                snprintf(field, sizeof(field), "linux.devices[%zu]", i);
                s->n_devices++;
                if (get_str(e, "path", what, field, &d->path, errp) < 0)
                        return -EINVAL;
                if (!path_ok(d->path) || !str_startswith(d->path, "/dev/"))
                        return bad(errp, what, field, "path must be under /dev");
                if (strlen(t) != 1 || !strchr("cbup", t[0]))
                        return bad(errp, what, field, "type must be c, b, u or p");
                d->type = t[0];
                d->major = d->minor = 0;
                if (get_int(e, "major", what, field, 0, 0xfff, &d->major, errp) < 0 ||
                    get_int(e, "minor", what, field, 0, 0xfffff, &d->minor, errp) < 0)
                        return -EINVAL;
                if (get_int(e, "fileMode", what, field, 0, 07777, &v, errp) > 0) {
                        d->file_mode = (mode_t)v;
                        d->has_file_mode = true;
                }
                v = 0;
                if (get_int(e, "uid", what, field, 0, UINT32_MAX - 1, &v, errp) < 0)
                        return -EINVAL;
                d->uid = (uid_t)v;
                v = 0;
                if (get_int(e, "gid", what, field, 0, UINT32_MAX - 1, &v, errp) < 0)
                        return -EINVAL;
                d->gid = (gid_t)v;
        }
        return 0;
}

static int parse_throttle(const json_t *a, const char *what, const char *field,
                          struct spec_throttle **ret, size_t *ret_n, struct err **errp) {
        json_t *e;
        size_t i;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 256)
                return bad(errp, what, field, "must be an array");
        *ret = xnew0(struct spec_throttle, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                struct spec_throttle t = {-1, -1, 0};
                int64_t rate = -1;
                if (get_int(e, "major", what, field, 0, 0xfff, &t.major, errp) < 0 ||
                    get_int(e, "minor", what, field, 0, 0xfffff, &t.minor, errp) < 0 ||
                    get_int(e, "rate", what, field, 0, INT64_MAX, &rate, errp) < 0)
                        return -EINVAL;
                if (t.major < 0 || t.minor < 0 || rate < 0)
                        return bad(errp, what, field, "entry %zu needs major, minor and rate", i);
                t.rate = (uint64_t)rate;
                (*ret)[(*ret_n)++] = t;
        }
        return 0;
}

static int parse_dev_rules(const json_t *a, const char *what, struct spec_resources *res,
                           struct err **errp) {
        json_t *e;
        size_t i;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > SPEC_MAX_ITEMS)
                return bad(errp, what, "linux.resources.devices", "must be an array");
        res->devices = xnew0(struct spec_dev_rule, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                struct spec_dev_rule *d = &res->devices[res->n_devices];
                const char *t = json_get_str(e, "type", "a");
                const char *acc = json_get_str(e, "access", "rwm");
                char field[64];
                json_t *allow = json_object_get(e, "allow");

                snprintf(field, sizeof(field), "linux.resources.devices[%zu]", i);
                if (!json_is_boolean(allow))
                        return bad(errp, what, field, "allow must be a boolean");
                d->allow = json_is_true(allow);
                if (strlen(t) != 1 || !strchr("acb", t[0]))
                        return bad(errp, what, field, "type must be a, c or b");
                d->type = t[0];
                d->major = d->minor = -1;
                if (get_int(e, "major", what, field, -1, 0xfff, &d->major, errp) < 0 ||
                    get_int(e, "minor", what, field, -1, 0xfffff, &d->minor, errp) < 0)
                        return -EINVAL;
                if (strlen(acc) > 3 || strspn(acc, "rwm") != strlen(acc))
                        return bad(errp, what, field, "access must be a subset of rwm");
                snprintf(d->access, sizeof(d->access), "%s", acc[0] ? acc : "rwm");
                res->n_devices++;
        }
        return 0;
}

static int parse_resources(const json_t *o, const char *what, struct spec *s, struct err **errp) {
        struct spec_resources *res = &s->resources;
        json_t *mem, *cpu, *pids, *blk;
        int64_t v;
        int r;

        res->mem_limit = res->mem_reservation = res->mem_swap = -1;
        if (!o || json_is_null(o))
                return 0;
        if (!json_is_object(o))
                return bad(errp, what, "linux.resources", "must be an object");
        s->has_resources = true;

        mem = json_object_get(o, "memory");
        if (mem) {
                r = get_int(mem, "limit", what, "linux.resources.memory.limit", -1, INT64_MAX,
                            &res->mem_limit, errp);
                if (r < 0)
                        return r;
                res->has_mem_limit = r > 0;
                if (r > 0 && res->mem_limit >= 0 && res->mem_limit < 6 * 1024 * 1024)
                        return bad(errp, what, "linux.resources.memory.limit",
                                   "must be at least 6 MiB");
                r = get_int(mem, "reservation", what, "linux.resources.memory.reservation", -1,
                            INT64_MAX, &res->mem_reservation, errp);
                if (r < 0)
                        return r;
                res->has_mem_reservation = r > 0;
                r = get_int(mem, "swap", what, "linux.resources.memory.swap", -1, INT64_MAX,
                            &res->mem_swap, errp);
                if (r < 0)
                        return r;
                res->has_mem_swap = r > 0;
                if (res->has_mem_swap && res->mem_swap >= 0 && res->has_mem_limit &&
                    res->mem_limit >= 0 && res->mem_swap < res->mem_limit)
                        return bad(errp, what, "linux.resources.memory.swap",
                                   "must be at least the memory limit (it counts memory+swap)");
                r = get_bool(mem, "disableOOMKiller", what,
                             "linux.resources.memory.disableOOMKiller", &res->disable_oom_killer,
                             errp);
                if (r < 0)
                        return r;
        }
        cpu = json_object_get(o, "cpu");
        if (cpu) {
                v = 0;
                if (get_int(cpu, "shares", what, "linux.resources.cpu.shares", 0, 262144, &v,
                            errp) < 0)
                        return -EINVAL;
                res->cpu_shares = (uint64_t)v;
                if (get_int(cpu, "quota", what, "linux.resources.cpu.quota", -1, INT64_MAX,
                            &res->cpu_quota, errp) < 0)
                        return -EINVAL;
                v = 0;
                if (get_int(cpu, "period", what, "linux.resources.cpu.period", 0, 1000000, &v,
                            errp) < 0)
                        return -EINVAL;
                if (v > 0 && v < 1000)
                        return bad(errp, what, "linux.resources.cpu.period",
                                   "must be between 1000 and 1000000");
                res->cpu_period = (uint64_t)v;
                if (get_str(cpu, "cpus", what, "linux.resources.cpu.cpus", &res->cpus, errp) < 0 ||
                    get_str(cpu, "mems", what, "linux.resources.cpu.mems", &res->mems, errp) < 0)
                        return -EINVAL;
                if ((res->cpus && strspn(res->cpus, "0123456789,-") != strlen(res->cpus)) ||
                    (res->mems && strspn(res->mems, "0123456789,-") != strlen(res->mems)))
                        return bad(errp, what, "linux.resources.cpu",
                                   "cpus/mems must be a list like 0-2,4");
        }
        pids = json_object_get(o, "pids");
        if (pids) {
                r = get_int(pids, "limit", what, "linux.resources.pids.limit", INT64_MIN, INT64_MAX,
                            &res->pids_limit, errp);
                if (r < 0)
                        return r;
                if (res->pids_limit < 0)
                        res->pids_limit = -1;
        }
        blk = json_object_get(o, "blockIO");
        if (blk) {
                static const char *const keys[4] = {
                        "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                        "throttleWriteIOPSDevice"};
                v = 0;
                if (get_int(blk, "weight", what, "linux.resources.blockIO.weight", 0, 1000, &v,
                            errp) < 0)
                        return -EINVAL;
                if (v != 0 && v < 10)
                        return bad(errp, what, "linux.resources.blockIO.weight",
                                   "must be between 10 and 1000");
                res->blkio_weight = (uint16_t)v;
                for (int k = 0; k < 4; k++) {
                        char field[80];
                        snprintf(field, sizeof(field), "linux.resources.blockIO.%s", keys[k]);
                        if (parse_throttle(json_object_get(blk, keys[k]), what, field,
                                           &res->throttle[k], &res->n_throttle[k], errp) < 0)
                                return -EINVAL;
                }
        }
        return parse_dev_rules(json_object_get(o, "devices"), what, res, errp);
}

static int parse_linux(const json_t *l, const char *what, struct spec *s, struct err **errp) {
        json_t *a, *e;
        const char *key;
        size_t i;
        int r;

        if (!l || json_is_null(l))
                return 0;
        if (!json_is_object(l))
                return bad(errp, what, "linux", "must be an object");

        a = json_object_get(l, "namespaces");
        if (a && !json_is_null(a)) {
                if (!json_is_array(a) || json_array_size(a) > _SPEC_NS_MAX)
                        return bad(errp, what, "linux.namespaces",
                                   "must be an array of at most %d entries", _SPEC_NS_MAX);
                s->namespaces = xnew0(struct spec_namespace, json_array_size(a) + 1);
                json_array_foreach (a, i, e) {
                        const char *t = json_get_str(e, "type", "");
                        char field[64];
                        enum spec_ns ns = spec_ns_from_name(t);

                        snprintf(field, sizeof(field), "linux.namespaces[%zu]", i);
                        if (ns < 0)
                                return bad(errp, what, field, "unknown namespace type '%s'", t);
                        for (size_t k = 0; k < s->n_namespaces; k++)
                                if (s->namespaces[k].type == ns)
                                        return bad(errp, what, field, "duplicate namespace '%s'",
                                                   t);
                        s->namespaces[s->n_namespaces].type = ns;
                        r = get_str(e, "path", what, field, &s->namespaces[s->n_namespaces].path,
                                    errp);
                        s->n_namespaces++;
                        if (r < 0)
                                return r;
                        if (s->namespaces[s->n_namespaces - 1].path &&
                            !path_ok(s->namespaces[s->n_namespaces - 1].path))
                                return bad(errp, what, field, "path must be absolute");
                }
        }
        r = parse_idmaps(json_object_get(l, "uidMappings"), what, "linux.uidMappings",
                         &s->uid_mappings, &s->n_uid_mappings, errp);
        if (r < 0)
                return r;
        r = parse_idmaps(json_object_get(l, "gidMappings"), what, "linux.gidMappings",
                         &s->gid_mappings, &s->n_gid_mappings, errp);
        if (r < 0)
                return r;
        r = parse_devices(json_object_get(l, "devices"), what, s, errp);
        if (r < 0)
                return r;
        r = get_str(l, "cgroupsPath", what, "linux.cgroupsPath", &s->cgroups_path, errp);
        if (r < 0)
                return r;
        if (s->cgroups_path && (strstr(s->cgroups_path, "..") || strchr(s->cgroups_path, '\n')))
                return bad(errp, what, "linux.cgroupsPath", "must not contain '..'");
        r = parse_resources(json_object_get(l, "resources"), what, s, errp);
        if (r < 0)
                return r;

        a = json_object_get(l, "sysctl");
        if (a && !json_is_null(a)) {
                if (!json_is_object(a) || json_object_size(a) > 256)
                        return bad(errp, what, "linux.sysctl", "must be an object");
                s->sysctls = xnew0(struct spec_sysctl, json_object_size(a) + 1);
                json_object_foreach (a, key, e) {
                        if (!json_is_string(e))
                                return bad(errp, what, "linux.sysctl", "'%s' must be a string",
                                           key);
                        if (!key[0] || strstr(key, "..") || strchr(key, '/') == key ||
                            strlen(key) > 256)
                                return bad(errp, what, "linux.sysctl", "bad key '%s'", key);
                        s->sysctls[s->n_sysctls].key = xstrdup(key);
                        s->sysctls[s->n_sysctls].value = xstrdup(json_string_value(e));
                        s->n_sysctls++;
                }
        }

        e = json_object_get(l, "seccomp");
        if (e && !json_is_null(e)) {
                r = spec_seccomp_from_json(e, what, NULL, 0, &s->seccomp, errp);
                if (r < 0)
                        return r;
        }
        r = get_strv(l, "maskedPaths", what, "linux.maskedPaths", SPEC_MAX_ITEMS, &s->masked_paths,
                     errp);
        if (r < 0)
                return r;
        r = get_strv(l, "readonlyPaths", what, "linux.readonlyPaths", SPEC_MAX_ITEMS,
                     &s->readonly_paths, errp);
        if (r < 0)
                return r;
        STRV_FOREACH (p, s->masked_paths)
                if (!path_ok(*p))
                        return bad(errp, what, "linux.maskedPaths", "'%s' is not absolute", *p);
        STRV_FOREACH (p, s->readonly_paths)
                if (!path_ok(*p))
                        return bad(errp, what, "linux.readonlyPaths", "'%s' is not absolute", *p);
        key = json_get_str(l, "rootfsPropagation", NULL);
        if (key) {
                s->rootfs_propagation = propagation_from_name(key);
                if (!s->rootfs_propagation)
                        return bad(errp, what, "linux.rootfsPropagation",
                                   "unknown propagation '%s'", key);
        }
        return 0;
}

static const char *const hook_names[_SPEC_HOOK_MAX] = {
        [SPEC_HOOK_PRESTART] = "prestart",
        [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
        [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
        [SPEC_HOOK_START_CONTAINER] = "startContainer",
        [SPEC_HOOK_POSTSTART] = "poststart",
        [SPEC_HOOK_POSTSTOP] = "poststop",
};

const char *spec_hook_name(enum spec_hook_kind k) {
        return k < _SPEC_HOOK_MAX ? hook_names[k] : NULL;
}

static int parse_hooks(const json_t *o, const char *what, struct spec *s, struct err **errp) {
        const char *key;
        json_t *a;

        if (!o || json_is_null(o))
                return 0;
        if (!json_is_object(o))
                return bad(errp, what, "hooks", "must be an object");
        json_object_foreach ((json_t *)o, key, a) {
                enum spec_hook_kind k;
                json_t *e;
                size_t i;

                for (k = 0; k < _SPEC_HOOK_MAX; k++)
                        if (streq(hook_names[k], key))
                                break;
                if (k == _SPEC_HOOK_MAX)
                        return bad(errp, what, "hooks", "unknown hook kind '%s'", key);
                if (!json_is_array(a) || json_array_size(a) > 64)
                        return bad(errp, what, "hooks", "'%s' must be an array of at most 64", key);
                s->hooks[k] = xnew0(struct spec_hook, json_array_size(a) + 1);
                json_array_foreach (a, i, e) {
                        struct spec_hook *h = &s->hooks[k][s->n_hooks[k]];
                        char field[64];
                        int64_t t = 0;

                        snprintf(field, sizeof(field), "hooks.%s[%zu]", key, i);
                        if (!json_is_object(e))
                                return bad(errp, what, field, "must be an object");
                        s->n_hooks[k]++;
                        if (get_str(e, "path", what, field, &h->path, errp) < 0 ||
                            get_strv(e, "args", what, field, SPEC_MAX_ARGS, &h->args, errp) < 0 ||
                            get_strv(e, "env", what, field, SPEC_MAX_ENV, &h->env, errp) < 0 ||
                            get_int(e, "timeout", what, field, 1, 3600, &t, errp) < 0)
                                return -EINVAL;
                        if (!path_ok(h->path))
                                return bad(errp, what, field, "path must be absolute");
                        h->timeout = (int)t;
                }
        }
        return 0;
}

int spec_from_json(const json_t *j, const char *what, struct spec **ret, struct err **errp) {
        _cleanup_(spec_freep) struct spec *s = NULL;
        json_t *root, *ann;
        int r;

        if (!json_is_object(j))
                return bad(errp, what, "(top)", "must be a JSON object");
        s = xnew0(struct spec, 1);
        r = get_str(j, "ociVersion", what, "ociVersion", &s->oci_version, errp);
        if (r < 0)
                return r;
        if (!s->oci_version)
                return bad(errp, what, "ociVersion", "is required");
        if (!str_startswith(s->oci_version, "1."))
                return bad(errp, what, "ociVersion", "unsupported version '%s' (want 1.x)",
                           s->oci_version);
        root = json_object_get(j, "root");
        if (!json_is_object(root))
                return bad(errp, what, "root", "must be an object with a path");
        r = get_str(root, "path", what, "root.path", &s->root_path, errp);
        if (r < 0)
                return r;
        if (!s->root_path || !s->root_path[0])
                return bad(errp, what, "root.path", "is required");
        r = get_bool(root, "readonly", what, "root.readonly", &s->root_readonly, errp);
        if (r < 0)
                return r;
        r = get_str(j, "hostname", what, "hostname", &s->hostname, errp);
        if (r < 0)
                return r;
        if (s->hostname && strlen(s->hostname) > 64)
                return bad(errp, what, "hostname", "longer than 64 characters");
        r = get_str(j, "domainname", what, "domainname", &s->domainname, errp);
        if (r < 0)
                return r;
        if (s->domainname && strlen(s->domainname) > 64)
                return bad(errp, what, "domainname", "longer than 64 characters");
        if (!json_object_get(j, "process"))
                return bad(errp, what, "process", "is required");
        r = spec_process_from_json(json_object_get(j, "process"), what, &s->process, errp);
        if (r < 0)
                return r;
        r = parse_mounts(json_object_get(j, "mounts"), what, s, errp);
        if (r < 0)
                return r;
        r = parse_linux(json_object_get(j, "linux"), what, s, errp);
        if (r < 0)
                return r;
        if (!s->resources.has_mem_limit && !s->has_resources)
                s->resources.mem_limit = s->resources.mem_reservation = s->resources.mem_swap = -1;
        r = parse_hooks(json_object_get(j, "hooks"), what, s, errp);
        if (r < 0)
                return r;
        ann = json_object_get(j, "annotations");
        if (ann && !json_is_null(ann) && !json_is_object(ann))
                return bad(errp, what, "annotations", "must be an object");
        s->annotations = ann && json_is_object(ann) ? json_deep_copy(ann) : json_object();
        if (s->hostname) {
                bool uts = false;
                for (size_t i = 0; i < s->n_namespaces; i++)
                        uts = uts || (s->namespaces[i].type == SPEC_NS_UTS);
                if (!uts)
                        return bad(errp, what, "hostname",
                                   "setting a hostname needs a uts namespace");
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int spec_parse(const char *buf, size_t len, const char *what, struct spec **ret,
               struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        int r;

        r = json_parse(buf, len, what, &j, errp);
        if (r < 0)
                return r;
        return spec_from_json(j, what, ret, errp);
}

int spec_load(const char *path, struct spec **ret, struct err **errp) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = read_file(path, SPEC_MAX_BYTES, &buf, &len, errp);
        if (r < 0)
                return r;
        return spec_parse(buf, len, path, ret, errp);
}

struct spec_seccomp *spec_seccomp_free(struct spec_seccomp *s) {
        if (!s)
                return NULL;
        strv_free(s->architectures);
        for (size_t i = 0; i < s->n_rules; i++) {
                strv_free(s->rules[i].names);
                free(s->rules[i].args);
        }
        free(s->rules);
        free(s);
        return NULL;
}

void spec_seccomp_freep(struct spec_seccomp **s) {
        *s = spec_seccomp_free(*s);
}

struct spec *spec_free(struct spec *s) {
        if (!s)
                return NULL;
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        spec_process_done(&s->process);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].destination);
                free(s->mounts[i].type);
                free(s->mounts[i].source);
                strv_free(s->mounts[i].options);
                free(s->mounts[i].data);
        }
        free(s->mounts);
        for (size_t i = 0; i < s->n_namespaces; i++)
                free(s->namespaces[i].path);
        free(s->namespaces);
        free(s->uid_mappings);
        free(s->gid_mappings);
        for (size_t i = 0; i < s->n_devices; i++)
                free(s->devices[i].path);
        free(s->devices);
        free(s->cgroups_path);
        free(s->resources.cpus);
        free(s->resources.mems);
        for (int k = 0; k < 4; k++)
                free(s->resources.throttle[k]);
        free(s->resources.devices);
        for (size_t i = 0; i < s->n_sysctls; i++) {
                free(s->sysctls[i].key);
                free(s->sysctls[i].value);
        }
        free(s->sysctls);
        spec_seccomp_free(s->seccomp);
        strv_free(s->masked_paths);
        strv_free(s->readonly_paths);
        json_decref(s->annotations);
        for (int k = 0; k < _SPEC_HOOK_MAX; k++) {
                for (size_t i = 0; i < s->n_hooks[k]; i++) {
                        free(s->hooks[k][i].path);
                        strv_free(s->hooks[k][i].args);
                        strv_free(s->hooks[k][i].env);
                }
                free(s->hooks[k]);
        }
        free(s);
        return NULL;
}

void spec_freep(struct spec **s) {
        *s = spec_free(*s);
}
