/* SPDX-License-Identifier: Apache-2.0 */
/* Container record -> OCI config.json, with docker's rules for command, environment, names,
 * hosts files, users, resources and security options. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_spec.h"
#include "fileio.h"
#include "json.h"
#include "runtime/caps.h"
#include "runtime/init.h"
#include "runtime/spec.h"
#include "strv.h"
#include "xalloc.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char **json_strv(const json_t *a) {
        char **l = xnew0(char *, 1);
        size_t i;
        json_t *v;

        json_array_foreach (a, i, v)
                if (json_is_string(v))
                        strv_push(&l, json_string_value(v));
        return l;
}

static bool strv_blank(char *const *l) {
        return !l || !l[0] || (!l[1] && l[0][0] == '\0');
}

int ctr_resolve_command(const json_t *req_entrypoint, const json_t *req_cmd,
                        char *const *img_entrypoint, char *const *img_cmd, char ***ret_entrypoint,
                        char ***ret_cmd, struct err **errp) {
        _cleanup_strv_ char **ep = NULL, **cmd = NULL;
        bool has_ep = json_is_array(req_entrypoint);

        if (has_ep)
                ep = json_strv(req_entrypoint);
        if (json_is_array(req_cmd) && json_array_size(req_cmd) > 0)
                cmd = json_strv(req_cmd);
        if (strv_blank(ep)) {
                ep = strv_free(ep);
                if (!cmd)
                        cmd = strv_copy(img_cmd);
                if (!has_ep)
                        ep = strv_copy(img_entrypoint);
        }
        if (!ep)
                ep = xnew0(char *, 1);
        if (!cmd)
                cmd = xnew0(char *, 1);
        if (!ep[0] && !cmd[0])
                return err_setx(errp, EINVAL,
                                "no command specified: the image has no Cmd or Entrypoint and the "
                                "request gives none");
        *ret_entrypoint = TAKE_PTR(ep);
        *ret_cmd = TAKE_PTR(cmd);
        return 0;
}

static void env_set(char ***env, const char *kv) {
        size_t klen = strcspn(kv, "=");

        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, kv, klen) == 0 && ((*e)[klen] == '=' || (*e)[klen] == '\0')) {
                        free(*e);
                        *e = xstrdup(kv);
                        return;
                }
        strv_push(env, kv);
}

char **ctr_merge_env(char *const *img_env, const json_t *req_env, const char *hostname) {
        char **env = xnew0(char *, 1);
        bool has_path = false;
        size_t i;
        json_t *v;

        if (hostname) {
                _cleanup_free_ char *h = xasprintf("HOSTNAME=%s", hostname);
                strv_push(&env, h);
        }
        STRV_FOREACH (e, img_env)
                env_set(&env, *e);
        json_array_foreach (req_env, i, v) {
                const char *s = json_string_value(v);
                if (!s || !s[0] || s[0] == '=')
                        continue;
                if (!strchr(s, '=')) {
                        /* "K" alone: docker's CLI resolves it; a bare key here is dropped */
                        continue;
                }
                env_set(&env, s);
        }
        STRV_FOREACH (e, env)
                if (str_startswith(*e, "PATH="))
                        has_path = true;
        if (!has_path)
                strv_push(&env, DEFAULT_PATH);
        return env;
}

bool ctr_name_valid(const char *name) {
        if (name[0] == '/')
                name++;
        if (!isalnum((unsigned char)name[0]) || !name[1] || strlen(name) > 255)
                return false;
        for (const char *p = name + 1; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
                        return false;
        return true;
}

char *ctr_name_generate(uint64_t rnd) {
        static const char *const adj[] = {
                "amazing", "brave",    "calm",    "clever", "cool",   "eager",    "elastic",
                "fervent", "focused",  "gallant", "gentle", "happy",  "hopeful",  "jolly",
                "keen",    "kind",     "lucid",   "modest", "nifty",  "quirky",   "relaxed",
                "serene",  "sharp",    "stoic",   "sweet",  "tender", "trusting", "upbeat",
                "vibrant", "wizardly", "zealous", "busy",
        };
        static const char *const noun[] = {
                "archimedes", "babbage",  "bohr",     "curie",    "darwin",   "einstein", "euler",
                "faraday",    "fermat",   "galileo",  "gauss",    "hopper",   "hypatia",  "kepler",
                "knuth",      "lovelace", "maxwell",  "meitner",  "newton",   "noether",  "pascal",
                "planck",     "ritchie",  "shannon",  "tesla",    "thompson", "turing",   "wozniak",
                "yalow",      "lamport",  "dijkstra", "hamilton",
        };
        return xasprintf("%s_%s", adj[rnd % ELEMENTSOF(adj)],
                         noun[(rnd / ELEMENTSOF(adj)) % ELEMENTSOF(noun)]);
}

char *ctr_hosts_file(const char *hostname, const json_t *extra_hosts) {
        _cleanup_free_ char *extra = xstrdup("");
        size_t i;
        json_t *v;

        json_array_foreach (extra_hosts, i, v) {
                const char *s = json_string_value(v), *sep;
                char *n;

                if (!s || !(sep = strchr(s, ':')))
                        continue;
                n = xasprintf("%s%s\t%.*s\n", extra, sep + 1, (int)(sep - s), s);
                free(extra);
                extra = n;
        }
        return xasprintf("127.0.0.1\tlocalhost\n"
                         "::1\tlocalhost ip6-localhost ip6-loopback\n"
                         "fe00::0\tip6-localnet\n"
                         "ff00::0\tip6-mcastprefix\n"
                         "ff02::1\tip6-allnodes\n"
                         "ff02::2\tip6-allrouters\n"
                         "127.0.1.1\t%s\n%s",
                         hostname, extra);
}

char *ctr_resolv_file(const json_t *hc, const char *host_resolv) {
        const json_t *dns = json_object_get(hc, "Dns"), *search = json_object_get(hc, "DnsSearch"),
                     *opts = json_object_get(hc, "DnsOptions");
        _cleanup_free_ char *out = xstrdup("");
        size_t i;
        json_t *v;

        if (json_array_size(dns) == 0 && json_array_size(search) == 0 && json_array_size(opts) == 0)
                return xstrdup(host_resolv ? host_resolv : "");
        json_array_foreach (dns, i, v) {
                char *n = xasprintf("%snameserver %s\n", out, json_string_value(v));
                free(out);
                out = n;
        }
        if (json_array_size(search) > 0) {
                _cleanup_strv_ char **l = json_strv(search);
                _cleanup_free_ char *j = strv_join(l, " ");
                char *n = xasprintf("%ssearch %s\n", out, j);
                free(out);
                out = n;
        }
        if (json_array_size(opts) > 0) {
                _cleanup_strv_ char **l = json_strv(opts);
                _cleanup_free_ char *j = strv_join(l, " ");
                char *n = xasprintf("%soptions %s\n", out, j);
                free(out);
                out = n;
        }
        return TAKE_PTR(out);
}

/* Reads a file inside the rootfs (never following links out of it). */
static int read_in_root(int rootfs_fd, const char *path, char **ret) {
        _cleanup_close_ int pfd = rt_open_in_root(rootfs_fd, path, false, false);
        _cleanup_free_ char *proc = NULL;
        size_t len;

        if (pfd < 0)
                return pfd;
        proc = xasprintf("/proc/self/fd/%d", pfd);
        return read_file(proc, 1u << 20, ret, &len, NULL);
}

static bool is_number(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

/* Splits a passwd/group line on ':' keeping empty fields. */
static char **split_fields(const char *line) {
        char **f = xnew0(char *, 1);
        const char *p = line;

        for (;;) {
                const char *c = strchr(p, ':');
                _cleanup_free_ char *field = c ? xstrndup(p, (size_t)(c - p)) : xstrdup(p);

                strv_push(&f, field);
                if (!c)
                        return f;
                p = c + 1;
        }
}

/* Finds the line of a passwd/group file whose first field (or third, when numeric) matches. */
static char **db_find(const char *content, const char *key) {
        _cleanup_strv_ char **lines = strv_split(content ? content : "", "\n");
        bool num = is_number(key);

        STRV_FOREACH (l, lines) {
                char **f;

                if ((*l)[0] == '#')
                        continue;
                f = split_fields(*l);
                if (strv_length(f) >= 3 && streq(num ? f[2] : f[0], key))
                        return f;
                strv_free(f);
        }
        return NULL;
}

int ctr_resolve_user(int rootfs_fd, const char *user, uid_t *ret_uid, gid_t *ret_gid,
                     gid_t **ret_gids, size_t *ret_n, struct err **errp) {
        _cleanup_free_ char *passwd = NULL, *group = NULL, *u = NULL;
        _cleanup_strv_ char **pw = NULL, **glines = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        char *g;
        size_t n = 0;
        uid_t uid;
        gid_t gid = 0;

        *ret_gids = NULL;
        *ret_n = 0;
        if (!user || !user[0]) {
                *ret_uid = 0;
                *ret_gid = 0;
                return 0;
        }
        u = xstrdup(user);
        g = strchr(u, ':');
        if (g)
                *g++ = '\0';
        (void)read_in_root(rootfs_fd, "/etc/passwd", &passwd);
        (void)read_in_root(rootfs_fd, "/etc/group", &group);
        pw = db_find(passwd, u);
        if (pw) {
                uid = (uid_t)strtoul(pw[2], NULL, 10);
                gid = strv_length(pw) >= 4 && is_number(pw[3]) ? (gid_t)strtoul(pw[3], NULL, 10)
                                                               : 0;
        } else if (is_number(u))
                uid = (uid_t)strtoul(u, NULL, 10);
        else
                return err_setx(errp, EINVAL,
                                "unable to find user %s: no matching entries in passwd file", u);
        if (g) {
                _cleanup_strv_ char **gr = db_find(group, g);
                if (gr)
                        gid = (gid_t)strtoul(gr[2], NULL, 10);
                else if (is_number(g))
                        gid = (gid_t)strtoul(g, NULL, 10);
                else
                        return err_setx(errp, EINVAL,
                                        "unable to find group %s: no matching entries in group "
                                        "file",
                                        g);
        } else if (pw) {
                /* supplementary groups listing the user by name (4th field) */
                glines = strv_split(group ? group : "", "\n");
                STRV_FOREACH (l, glines) {
                        _cleanup_strv_ char **f = strv_split(*l, ":");
                        _cleanup_strv_ char **members = NULL;

                        if (strv_length(f) < 4)
                                continue;
                        members = strv_split(f[3], ",");
                        if (strv_contains(members, pw[0]) && n < 64) {
                                gids = xreallocarray(gids, n + 1, sizeof(gid_t));
                                gids[n++] = (gid_t)strtoul(f[2], NULL, 10);
                        }
                }
        }
        *ret_uid = uid;
        *ret_gid = gid;
        *ret_gids = TAKE_PTR(gids);
        *ret_n = n;
        return 0;
}

static json_t *bind_mount(const char *src, const char *dst, bool ro) {
        return json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dst, "type", "bind", "source", src,
                         "options", "rbind", ro ? "ro" : "rw");
}

/* Mounts from the record's Mounts (binds and volumes) and HostConfig.Tmpfs. */
static int add_mounts(const struct ctr_spec_in *in, json_t *mounts, struct err **errp) {
        const json_t *hc = json_object_get(in->rec, "HostConfig");
        const json_t *tmpfs = json_object_get(hc, "Tmpfs");
        const char *dst, *opts;
        json_t *m, *v;
        size_t i;

        json_array_foreach (json_object_get(in->rec, "Mounts"), i, m) {
                const char *type = json_get_str(m, "Type", "");
                const char *src = json_get_str(m, "Source", "");

                dst = json_get_str(m, "Destination", "");
                if (streq(type, "tmpfs")) {
                        json_t *o = json_pack("[s,s,s]", "nosuid", "nodev", "noexec");
                        const char *extra = json_get_str(m, "Mode", "");

                        if (extra[0])
                                json_array_append_new(o, json_string(extra));
                        json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination",
                                                                dst, "type", "tmpfs", "source",
                                                                "tmpfs", "options", o));
                        continue;
                }
                json_array_append_new(mounts, bind_mount(src, dst, !json_get_bool(m, "RW", true)));
        }
        json_object_foreach ((json_t *)tmpfs, dst, v) {
                json_t *o = json_pack("[s,s,s]", "nosuid", "nodev", "noexec");
                _cleanup_strv_ char **parts = NULL;

                if (dst[0] != '/')
                        return err_setx(errp, EINVAL,
                                        "HostConfig.Tmpfs: '%s' is not an absolute path", dst);
                opts = json_string_value(v);
                parts = strv_split(opts ? opts : "", ",");
                STRV_FOREACH (p, parts)
                        json_array_append_new(o, json_string(*p));
                json_array_append_new(mounts,
                                      json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
                                                "tmpfs", "source", "tmpfs", "options", o));
        }
        return 0;
}

static int set_resources(const json_t *hc, json_t *linux_, struct err **errp) {
        json_t *res = json_object_get(linux_, "resources"), *mem = json_object(),
               *cpu = json_object();
        int64_t v, nano = json_get_int(hc, "NanoCpus", 0),
                   period = json_get_int(hc, "CpuPeriod", 0);

        if ((v = json_get_int(hc, "Memory", 0)) > 0)
                json_object_set_new(mem, "limit", json_integer(v));
        if ((v = json_get_int(hc, "MemoryReservation", 0)) > 0)
                json_object_set_new(mem, "reservation", json_integer(v));
        if ((v = json_get_int(hc, "MemorySwap", 0)) != 0 && json_get_int(hc, "Memory", 0) > 0)
                json_object_set_new(mem, "swap", json_integer(v));
        if (json_get_bool(hc, "OomKillDisable", false))
                json_object_set_new(mem, "disableOOMKiller", json_true());
        if (json_object_size(mem))
                json_object_set(res, "memory", mem);
        json_decref(mem);

        if ((v = json_get_int(hc, "CpuShares", 0)) > 0)
                json_object_set_new(cpu, "shares", json_integer(v));
        if (nano > 0) {
                if (json_get_int(hc, "CpuQuota", 0) > 0)
                        return err_setx(errp, EINVAL,
                                        "HostConfig.NanoCpus: conflicts with CpuQuota (--cpus "
                                        "and --cpu-quota)");
                if (period <= 0)
                        period = 100000;
                json_object_set_new(cpu, "quota", json_integer(nano * period / 1000000000));
                json_object_set_new(cpu, "period", json_integer(period));
        } else {
                if ((v = json_get_int(hc, "CpuQuota", 0)) > 0)
                        json_object_set_new(cpu, "quota", json_integer(v));
                if (period > 0)
                        json_object_set_new(cpu, "period", json_integer(period));
        }
        if (json_get_str(hc, "CpusetCpus", "")[0])
                json_object_set_new(cpu, "cpus", json_string(json_get_str(hc, "CpusetCpus", "")));
        if (json_get_str(hc, "CpusetMems", "")[0])
                json_object_set_new(cpu, "mems", json_string(json_get_str(hc, "CpusetMems", "")));
        if (json_object_size(cpu))
                json_object_set(res, "cpu", cpu);
        json_decref(cpu);

        if ((v = json_get_int(hc, "PidsLimit", 0)) != 0)
                json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)v));
        if ((v = json_get_int(hc, "BlkioWeight", 0)) > 0)
                json_object_set_new(res, "blockIO", json_pack("{s:I}", "weight", (json_int_t)v));
        return 0;
}

static json_t *cap_json(const char *name) {
        return str_startswith(name, "CAP_") ? json_string(name) : json_sprintf("CAP_%s", name);
}

/* Every capability the daemon itself may hold (its bounding set): "all" cannot be more, e.g. on a
 * host whose root lacks CAP_SYS_RESOURCE (docker does the same). */
static void caps_add_all(json_t *set) {
        json_array_clear(set);
        for (int c = 0; c <= caps_last_known(); c++)
                if (caps_to_name(c) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                        json_array_append_new(set, json_string(caps_to_name(c)));
}

static int set_caps(const json_t *hc, json_t *process, bool privileged, struct err **errp) {
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        json_t *caps = json_object_get(process, "capabilities"), *v;
        size_t i;

        for (size_t s = 0; s < ELEMENTSOF(sets); s++) {
                json_t *set = json_object_get(caps, sets[s]);

                if (privileged) {
                        caps_add_all(set);
                        continue;
                }
                json_array_foreach (json_object_get(hc, "CapDrop"), i, v) {
                        _cleanup_json_ json_t *name = cap_json(json_string_value(v));
                        const char *n = json_string_value(name);

                        if (streq(n, "CAP_ALL")) {
                                json_array_clear(set);
                                continue;
                        }
                        if (caps_from_name(n) < 0)
                                return err_setx(errp, EINVAL,
                                                "HostConfig.CapDrop: unknown capability '%s'", n);
                        for (size_t k = json_array_size(set); k-- > 0;)
                                if (streq(json_string_value(json_array_get(set, k)), n))
                                        json_array_remove(set, k);
                }
                json_array_foreach (json_object_get(hc, "CapAdd"), i, v) {
                        _cleanup_json_ json_t *name = cap_json(json_string_value(v));
                        const char *n = json_string_value(name);
                        bool have = false;
                        size_t k;
                        json_t *e;

                        if (streq(n, "CAP_ALL")) {
                                caps_add_all(set);
                                continue;
                        }
                        if (caps_from_name(n) < 0)
                                return err_setx(errp, EINVAL,
                                                "HostConfig.CapAdd: unknown capability '%s'", n);
                        json_array_foreach (set, k, e)
                                if (streq(json_string_value(e), n))
                                        have = true;
                        if (!have)
                                json_array_append(set, name);
                }
        }
        return 0;
}

static int set_security(const json_t *hc, json_t *spec, json_t *process, json_t *linux_,
                        bool privileged, struct err **errp) {
        json_t *v;
        size_t i;

        json_object_set_new(process, "noNewPrivileges", json_false());
        if (privileged) {
                json_object_del(linux_, "maskedPaths");
                json_object_del(linux_, "readonlyPaths");
        }
        json_array_foreach (json_object_get(hc, "SecurityOpt"), i, v) {
                const char *s = json_string_value(v);

                if (!s)
                        continue;
                if (streq(s, "no-new-privileges") || streq(s, "no-new-privileges:true") ||
                    streq(s, "no-new-privileges=true"))
                        json_object_set_new(process, "noNewPrivileges", json_true());
                else if (streq(s, "no-new-privileges:false") || streq(s, "no-new-privileges=false"))
                        ;
                else if (streq(s, "seccomp=unconfined") || streq(s, "seccomp:unconfined"))
                        json_object_del(linux_, "seccomp");
                else if (str_startswith(s, "seccomp=") || str_startswith(s, "seccomp:")) {
                        _cleanup_err_ struct err *e = NULL;
                        json_t *prof = NULL;

                        if (json_parse(s + 8, strlen(s + 8), "seccomp profile", &prof, &e) < 0)
                                return err_setx(errp, EINVAL, "HostConfig.SecurityOpt[%zu]: %s", i,
                                                err_msg(e));
                        json_object_set_new(linux_, "seccomp", prof);
                } else if (str_startswith(s, "label") || str_startswith(s, "apparmor"))
                        ; /* no LSM labelling on this host: accepted like docker without SELinux */
                else
                        return err_setx(errp, EINVAL,
                                        "HostConfig.SecurityOpt[%zu]: invalid option '%s'", i, s);
        }
        (void)spec;
        return 0;
}

static int set_rlimits(const json_t *hc, json_t *process, struct err **errp) {
        json_t *rl = json_object_get(process, "rlimits"), *v;
        size_t i;

        json_array_foreach (json_object_get(hc, "Ulimits"), i, v) {
                const char *name = json_get_str(v, "Name", "");
                _cleanup_free_ char *type = NULL;
                json_t *e;
                size_t k;

                type = xasprintf("RLIMIT_%s", name);
                for (char *p = type; *p; p++)
                        *p = (char)toupper((unsigned char)*p);
                if (spec_rlimit_from_name(type) < 0)
                        return err_setx(errp, EINVAL,
                                        "HostConfig.Ulimits[%zu]: unknown ulimit '%s'", i, name);
                for (k = json_array_size(rl); k-- > 0;) {
                        e = json_array_get(rl, k);
                        if (streq(json_get_str(e, "type", ""), type))
                                json_array_remove(rl, k);
                }
                json_array_append_new(rl, json_pack("{s:s,s:I,s:I}", "type", type, "soft",
                                                    (json_int_t)json_get_int(v, "Soft", 0), "hard",
                                                    (json_int_t)json_get_int(v, "Hard", 0)));
        }
        return 0;
}

static void set_namespaces(const struct ctr_spec_in *in, const json_t *hc, json_t *linux_) {
        json_t *ns = json_object_get(linux_, "namespaces");
        const char *net = json_get_str(hc, "NetworkMode", "none");
        const char *pid = json_get_str(hc, "PidMode", ""), *ipc = json_get_str(hc, "IpcMode", "");

        for (size_t k = json_array_size(ns); k-- > 0;) {
                const char *t = json_get_str(json_array_get(ns, k), "type", "");

                if ((streq(t, "network") && streq(net, "host")) ||
                    (streq(t, "pid") && streq(pid, "host")) ||
                    (streq(t, "ipc") && streq(ipc, "host")) ||
                    (streq(t, "uts") && streq(json_get_str(hc, "UTSMode", ""), "host")))
                        json_array_remove(ns, k);
                else if (streq(t, "network") && in->netns_path)
                        json_object_set_new(json_array_get(ns, k), "path",
                                            json_string(in->netns_path));
        }
}

int ctr_init_path(char **ret, struct err **errp) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash, *p;

        if (n <= 0)
                return err_set(errp, errno, "HostConfig.Init: find our own binary");
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (!slash)
                return err_setx(errp, ENOENT, "HostConfig.Init: no berth-init next to '%s'", exe);
        p = xasprintf("%.*s/berth-init", (int)(slash - exe), exe);
        if (access(p, X_OK) < 0) {
                int r = err_set(errp, errno,
                                "HostConfig.Init: --init needs '%s' (built and installed with "
                                "berth)",
                                p);
                free(p);
                err_set_field(errp, "HostConfig.Init");
                return r;
        }
        *ret = p;
        return 0;
}

int ctr_spec_build(const struct ctr_spec_in *in, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *spec = spec_default_json(false);
        const json_t *cfg = json_object_get(in->rec, "Config"),
                     *hc = json_object_get(in->rec, "HostConfig");
        json_t *process = json_object_get(spec, "process"),
               *linux_ = json_object_get(spec, "linux"), *mounts = json_object_get(spec, "mounts"),
               *args = json_array(), *v, *sysctl;
        bool privileged = json_get_bool(hc, "Privileged", false);
        const char *key;
        size_t i;
        int r;

        if (json_get_bool(hc, "Init", false)) {
                /* --init: berth-init runs as PID 1 in front of the command (berth-attach) */
                _cleanup_free_ char *init = NULL;

                r = ctr_init_path(&init, errp);
                if (r < 0) {
                        json_decref(args);
                        return r;
                }
                json_array_append_new(args, json_string(CTR_INIT_PATH));
                json_array_append_new(args, json_string("--"));
                json_array_append_new(mounts, bind_mount(init, CTR_INIT_PATH, true));
        }
        json_array_append_new(args, json_string(json_get_str(in->rec, "Path", "")));
        json_array_foreach (json_object_get(in->rec, "Args"), i, v)
                json_array_append(args, v);
        json_object_set_new(process, "args", args);
        json_object_set(process, "env", json_object_get(cfg, "Env"));
        json_object_set_new(process, "cwd",
                            json_string(json_get_str(cfg, "WorkingDir", "")[0]
                                                ? json_get_str(cfg, "WorkingDir", "/")
                                                : "/"));
        json_object_set_new(process, "terminal", json_boolean(json_get_bool(cfg, "Tty", false)));
        {
                json_t *user = json_pack("{s:I,s:I}", "uid", (json_int_t)in->uid, "gid",
                                         (json_int_t)in->gid);
                if (in->n_gids > 0) {
                        json_t *g = json_array();
                        for (size_t k = 0; k < in->n_gids; k++)
                                json_array_append_new(g, json_integer(in->gids[k]));
                        json_object_set_new(user, "additionalGids", g);
                }
                json_object_set_new(process, "user", user);
        }
        json_object_set_new(spec, "root",
                            json_pack("{s:s,s:b}", "path", in->rootfs, "readonly",
                                      json_get_bool(hc, "ReadonlyRootfs", false)));
        json_object_set_new(spec, "hostname", json_string(json_get_str(cfg, "Hostname", "")));
        if (json_get_str(cfg, "Domainname", "")[0])
                json_object_set_new(spec, "domainname",
                                    json_string(json_get_str(cfg, "Domainname", "")));

        /* The runtime cannot remount the cgroup mount read-only on hybrid hosts yet: containers
         * get no /sys/fs/cgroup (docker's cgroupns=private view is a later addition). */
        for (size_t k = json_array_size(mounts); k-- > 0;)
                if (streq(json_get_str(json_array_get(mounts, k), "type", ""), "cgroup"))
                        json_array_remove(mounts, k);
        r = add_mounts(in, mounts, errp);
        if (r < 0)
                return r;
        {
                static const char *const files[] = {"hosts", "hostname", "resolv.conf"};
                for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                        _cleanup_free_ char *src = xasprintf("%s/%s", in->ctr_dir, files[k]);
                        _cleanup_free_ char *dst = xasprintf("/etc/%s", files[k]);
                        json_array_append_new(mounts, bind_mount(src, dst, false));
                }
        }
        r = set_resources(hc, linux_, errp);
        if (r >= 0)
                r = set_caps(hc, process, privileged, errp);
        if (r >= 0)
                r = set_security(hc, spec, process, linux_, privileged, errp);
        if (r >= 0)
                r = set_rlimits(hc, process, errp);
        if (r < 0)
                return r;
        set_namespaces(in, hc, linux_);
        ctr_userns_spec(in->rec, linux_); /* --userns-remap (ctr_userns.c) */
        sysctl = json_object_get(hc, "Sysctls");
        if (json_object_size(sysctl) > 0) {
                json_t *out = json_object();
                json_object_foreach ((json_t *)sysctl, key, v)
                        json_object_set(out, key, v);
                json_object_set_new(linux_, "sysctl", out);
        }
        json_object_set_new(linux_, "cgroupsPath",
                            json_sprintf("/berth/%s", json_get_str(in->rec, "Id", "")));
        *ret = TAKE_PTR(spec);
        return 0;
}
