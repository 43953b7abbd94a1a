/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "run_opts.h"
#include "strv.h"
#include "xalloc.h"

#define ENV_FILE_MAX (1u << 20)

void run_opts_done(struct run_opts *o) {
        if (o->body)
                json_decref(o->body);
        free(o->name);
        free(o->cidfile);
        free(o->pull);
        free(o->detach_keys);
        strv_free(o->attach);
        *o = (struct run_opts){};
}

int parse_bytes(const char *flag, const char *s, int64_t *ret, struct err **errp) {
        char *end;
        double v;
        double mul = 1;

        errno = 0;
        if (!s || !*s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
                goto bad;
        v = strtod(s, &end);
        if (errno || v < 0)
                goto bad;
        switch (tolower((unsigned char)*end)) {
        case 0:
                break;
        case 'b':
                break;
        case 'k':
                mul = 1024.0;
                break;
        case 'm':
                mul = 1024.0 * 1024;
                break;
        case 'g':
                mul = 1024.0 * 1024 * 1024;
                break;
        case 't':
                mul = 1024.0 * 1024 * 1024 * 1024;
                break;
        default:
                goto bad;
        }
        if (*end) {
                end++;
                if (mul != 1 && tolower((unsigned char)*end) == 'b')
                        end++;
                if (*end)
                        goto bad;
        }
        if (v * mul > (double)INT64_MAX)
                goto bad;
        *ret = (int64_t)(v * mul);
        return 0;
bad:
        return err_setx(errp, EINVAL, "invalid argument '%s' for '%s': expected a size like 512m",
                        s ? s : "", flag);
}

int parse_go_duration(const char *flag, const char *s, int64_t *ret_nsec, struct err **errp) {
        static const struct {
                const char *unit;
                double ns;
        } units[] = {
                {"ns", 1},  {"us", 1e3}, {"µs", 1e3},   {"ms", 1e6},
                {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
        };
        const char *p = s;
        double total = 0;

        if (!s || !*s)
                goto bad;
        if (strcmp(s, "0") == 0) {
                *ret_nsec = 0;
                return 0;
        }
        while (*p) {
                char *end;
                double v;
                size_t best = 0;
                double mul = 0;

                errno = 0;
                v = strtod(p, &end);
                if (end == p || errno || v < 0 || *p == '-' || *p == '+')
                        goto bad;
                p = end;
                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t k = strlen(units[i].unit);
                        if (k > best && strncmp(p, units[i].unit, k) == 0) {
                                best = k;
                                mul = units[i].ns;
                        }
                }
                if (!best)
                        goto bad;
                p += best;
                total += v * mul;
        }
        if (total > (double)INT64_MAX)
                goto bad;
        *ret_nsec = (int64_t)total;
        return 0;
bad:
        return err_setx(errp, EINVAL,
                        "invalid argument '%s' for '%s': expected a duration like 30s or 1m30s",
                        s ? s : "", flag);
}

int parse_nano_cpus(const char *flag, const char *s, int64_t *ret, struct err **errp) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || end == s || v < 0 || v > 1e6)
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '%s': expected a number of CPUs like "
                                "1.5",
                                s, flag);
        *ret = (int64_t)(v * 1e9 + 0.5);
        return 0;
}

static int parse_port_range(const char *s, unsigned *lo, unsigned *hi) {
        char *end;
        unsigned long a, b;

        if (!*s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        a = strtoul(s, &end, 10);
        if (errno || a < 1 || a > 65535)
                return -EINVAL;
        b = a;
        if (*end == '-') {
                const char *q = end + 1;
                if (!isdigit((unsigned char)*q))
                        return -EINVAL;
                b = strtoul(q, &end, 10);
                if (errno || b < a || b > 65535)
                        return -EINVAL;
        }
        if (*end)
                return -EINVAL;
        *lo = (unsigned)a;
        *hi = (unsigned)b;
        return 0;
}

int parse_publish(const char *s, json_t *exposed, json_t *bindings, struct err **errp) {
        _cleanup_free_ char *copy = xstrdup(s), *ip = NULL;
        char *proto = NULL, *host = NULL, *ctr, *p;
        unsigned clo, chi, hlo = 0, hhi = 0;

        p = strrchr(copy, '/');
        if (p) {
                *p = 0;
                proto = p + 1;
                if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
                    strcmp(proto, "sctp") != 0)
                        return err_setx(errp, EINVAL,
                                        "invalid argument '%s' for '--publish': unknown protocol "
                                        "'%s' (tcp, udp or sctp)",
                                        s, proto);
        }
        /* IPv6 host addresses come in brackets: [::1]:8080:80 */
        if (copy[0] == '[') {
                char *rb = strchr(copy, ']');
                if (!rb || rb[1] != ':')
                        goto bad;
                ip = xstrndup(copy + 1, (size_t)(rb - copy - 1));
                host = rb + 2;
        } else {
                char *c1 = strchr(copy, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2) {
                        ip = xstrndup(copy, (size_t)(c1 - copy));
                        host = c1 + 1;
                } else if (c1)
                        host = copy;
        }
        if (host) {
                char *c = strchr(host, ':');
                if (!c)
                        goto bad;
                *c = 0;
                ctr = c + 1;
        } else
                ctr = copy;
        if (parse_port_range(ctr, &clo, &chi) < 0)
                goto bad;
        if (host && *host) {
                if (parse_port_range(host, &hlo, &hhi) < 0)
                        goto bad;
                if (hhi - hlo != chi - clo && !(hlo != hhi && clo == chi))
                        return err_setx(errp, EINVAL,
                                        "invalid argument '%s' for '--publish': host and "
                                        "container port ranges differ in size",
                                        s);
        }
        for (unsigned port = clo; port <= chi; port++) {
                _cleanup_free_ char *key = xasprintf("%u/%s", port, proto ? proto : "tcp");
                json_t *arr;
                char hp[16] = "";

                json_object_set_new(exposed, key, json_object());
                arr = json_object_get(bindings, key);
                if (!arr) {
                        arr = json_array();
                        json_object_set_new(bindings, key, arr);
                }
                if (hlo) {
                        if (clo == chi && hlo != hhi)
                                snprintf(hp, sizeof(hp), "%u-%u", hlo, hhi);
                        else
                                snprintf(hp, sizeof(hp), "%u", hlo + (port - clo));
                }
                json_array_append_new(
                        arr, json_pack("{s:s,s:s}", "HostIp", ip ? ip : "", "HostPort", hp));
        }
        return 0;
bad:
        return err_setx(errp, EINVAL,
                        "invalid argument '%s' for '--publish': expected "
                        "[IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]",
                        s);
}

int parse_ulimit(const char *s, json_t **ret, struct err **errp) {
        static const char *const names[] = {
                "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
                "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",    "as"};
        _cleanup_free_ char *name = NULL;
        const char *eq = strchr(s, '='), *v;
        long long soft, hard;
        char *end;
        bool known = false;

        if (!eq || eq == s)
                goto bad;
        name = xstrndup(s, (size_t)(eq - s));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                known = known || strcmp(names[i], name) == 0;
        if (!known)
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '--ulimit': unknown "
                                "limit '%s'",
                                s, name);
        v = eq + 1;
        errno = 0;
        soft = strtoll(v, &end, 10);
        if (errno || end == v)
                goto bad;
        hard = soft;
        if (*end == ':') {
                const char *h = end + 1;
                hard = strtoll(h, &end, 10);
                if (errno || end == h)
                        goto bad;
        }
        if (*end || soft < -1 || hard < -1)
                goto bad;
        if (soft > hard && hard != -1)
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '--ulimit': soft limit %lld is above "
                                "hard limit %lld",
                                s, soft, hard);
        *ret = json_pack("{s:s,s:I,s:I}", "Name", name, "Soft", (json_int_t)soft, "Hard",
                         (json_int_t)hard);
        return 0;
bad:
        return err_setx(errp, EINVAL,
                        "invalid argument '%s' for '--ulimit': expected NAME=SOFT[:HARD]", s);
}

static bool truthy(const char *v, bool *ret) {
        if (!v || !*v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
                *ret = true;
                return true;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
                *ret = false;
                return true;
        }
        return false;
}

int parse_mount(const char *s, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *m = json_object();
        _cleanup_strv_ char **fields = strv_split(s, ",");
        const char *type = NULL;
        bool have_target = false;

        STRV_FOREACH (f, fields) {
                char *eq = strchr(*f, '=');
                const char *val = eq ? eq + 1 : NULL;
                _cleanup_free_ char *key = eq ? xstrndup(*f, (size_t)(eq - *f)) : xstrdup(*f);
                bool b;

                if (strcmp(key, "type") == 0 && val) {
                        if (strcmp(val, "bind") && strcmp(val, "volume") && strcmp(val, "tmpfs"))
                                return err_setx(errp, EINVAL,
                                                "invalid argument '%s' for '--mount': type "
                                                "must be bind, volume or tmpfs",
                                                s);
                        type = val;
                        json_object_set_new(m, "Type", json_string(val));
                } else if ((strcmp(key, "source") == 0 || strcmp(key, "src") == 0) && val) {
                        json_object_set_new(m, "Source", json_string(val));
                } else if ((strcmp(key, "target") == 0 || strcmp(key, "destination") == 0 ||
                            strcmp(key, "dst") == 0) &&
                           val) {
                        if (val[0] != '/')
                                return err_setx(errp, EINVAL,
                                                "invalid argument '%s' for '--mount': target "
                                                "must be an absolute path",
                                                s);
                        json_object_set_new(m, "Target", json_string(val));
                        have_target = true;
                } else if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
                        if (!truthy(val, &b))
                                goto bad;
                        json_object_set_new(m, "ReadOnly", json_boolean(b));
                } else if (strcmp(key, "bind-propagation") == 0 && val) {
                        json_object_set_new(m, "BindOptions",
                                            json_pack("{s:s}", "Propagation", val));
                } else if (strcmp(key, "volume-nocopy") == 0) {
                        if (!truthy(val, &b))
                                goto bad;
                        json_object_set_new(m, "VolumeOptions", json_pack("{s:b}", "NoCopy", b));
                } else if (strcmp(key, "tmpfs-size") == 0 && val) {
                        int64_t sz;
                        int r = parse_bytes("--mount tmpfs-size", val, &sz, errp);
                        if (r < 0)
                                return r;
                        json_t *t = json_object_get(m, "TmpfsOptions");
                        if (!t)
                                json_object_set_new(m, "TmpfsOptions", t = json_object());
                        json_object_set_new(t, "SizeBytes", json_integer(sz));
                } else if (strcmp(key, "tmpfs-mode") == 0 && val) {
                        char *end;
                        unsigned long mode = strtoul(val, &end, 8);
                        if (*end || mode > 07777)
                                goto bad;
                        json_t *t = json_object_get(m, "TmpfsOptions");
                        if (!t)
                                json_object_set_new(m, "TmpfsOptions", t = json_object());
                        json_object_set_new(t, "Mode", json_integer((json_int_t)mode));
                } else
                        return err_setx(errp, EINVAL,
                                        "invalid argument '%s' for '--mount': unknown field "
                                        "'%s'",
                                        s, key);
        }
        if (!type)
                json_object_set_new(m, "Type", json_string(type = "volume"));
        if (!have_target)
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '--mount': target is required", s);
        if (strcmp(type, "bind") == 0 && !json_object_get(m, "Source"))
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '--mount': a bind mount needs a "
                                "source",
                                s);
        if (strcmp(type, "tmpfs") == 0 && json_object_get(m, "Source"))
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '--mount': a tmpfs mount takes no "
                                "source",
                                s);
        *ret = TAKE_PTR(m);
        return 0;
bad:
        return err_setx(errp, EINVAL, "invalid argument '%s' for '--mount'", s);
}

int parse_env_file(const char *path, json_t *arr, struct err **errp) {
        _cleanup_free_ char *data = NULL;
        char *save = NULL, *line;
        unsigned lineno = 0;
        int r;

        r = read_file(path, ENV_FILE_MAX, &data, NULL, errp);
        if (r < 0)
                return err_wrap(errp, "--env-file");
        /* strtok_r would merge empty lines; count lines by hand for error positions */
        for (line = data; line; line = save) {
                char *nl = strchr(line, '\n');
                save = nl ? nl + 1 : NULL;
                if (nl)
                        *nl = 0;
                lineno++;
                size_t n = strlen(line);
                if (n && line[n - 1] == '\r')
                        line[--n] = 0;
                while (*line == ' ' || *line == '\t')
                        line++;
                if (!*line || *line == '#')
                        continue;
                char *eq = strchr(line, '=');
                _cleanup_free_ char *key = eq ? xstrndup(line, (size_t)(eq - line)) : xstrdup(line);
                if (!*key || strpbrk(key, " \t"))
                        return err_setx(errp, EINVAL, "%s:%u: invalid variable name '%s'", path,
                                        lineno, key);
                if (eq)
                        json_array_append_new(arr, json_string(line));
                else {
                        const char *v = getenv(key);
                        if (v)
                                json_array_append_new(arr, json_sprintf("%s=%s", key, v));
                }
        }
        return 0;
}

static int parse_keyval_into(const char *flag, const char *s, json_t *obj, bool need_eq,
                             struct err **errp) {
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *k = NULL;

        if ((!eq && need_eq) || eq == s || !*s)
                return err_setx(errp, EINVAL, "invalid argument '%s' for '%s': expected KEY=VALUE",
                                s, flag);
        k = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
        json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
        return 0;
}

/* "-v SRC:DST[:OPTS]" or "-v DST" (anonymous volume). */
static int parse_volume(const char *s, json_t *binds, json_t *volumes, struct err **errp) {
        _cleanup_strv_ char **parts = NULL;
        size_t n;

        if (!*s)
                goto bad;
        parts = strv_split(s, ":");
        n = strv_length(parts);
        if (n == 1) {
                if (parts[0][0] != '/')
                        goto bad;
                json_object_set_new(volumes, parts[0], json_object());
                return 0;
        }
        if (n > 3 || parts[1][0] != '/')
                goto bad;
        if (n == 3) {
                _cleanup_strv_ char **opts = strv_split(parts[2], ",");
                STRV_FOREACH (o, opts) {
                        static const char *const ok[] = {
                                "ro",      "rw",        "z",      "Z",         "nocopy",
                                "private", "rprivate",  "shared", "rshared",   "slave",
                                "rslave",  "delegated", "cached", "consistent"};
                        bool good = false;
                        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                                good = good || strcmp(*o, ok[i]) == 0;
                        if (!good)
                                return err_setx(errp, EINVAL,
                                                "invalid argument '%s' for '--volume': unknown "
                                                "option '%s'",
                                                s, *o);
                }
        }
        json_array_append_new(binds, json_string(s));
        return 0;
bad:
        return err_setx(errp, EINVAL,
                        "invalid argument '%s' for '--volume': expected "
                        "[SOURCE:]/CONTAINER/PATH[:OPTIONS]",
                        s);
}

enum {
        O_ADD_HOST = 1000,
        O_BLKIO_WEIGHT,
        O_CAP_ADD,
        O_CAP_DROP,
        O_CGROUP_PARENT,
        O_CIDFILE,
        O_CPU_PERIOD,
        O_CPU_QUOTA,
        O_CPUS,
        O_CPUSET_CPUS,
        O_CPUSET_MEMS,
        O_DETACH_KEYS,
        O_DEVICE,
        O_DNS,
        O_DNS_OPTION,
        O_DNS_SEARCH,
        O_DOMAINNAME,
        O_ENTRYPOINT,
        O_ENV_FILE,
        O_EXPOSE,
        O_GROUP_ADD,
        O_HEALTH_CMD,
        O_HEALTH_INTERVAL,
        O_HEALTH_RETRIES,
        O_HEALTH_START_PERIOD,
        O_HEALTH_TIMEOUT,
        O_HEALTH_ON_FAILURE,
        O_NO_HEALTHCHECK,
        O_INIT,
        O_IP,
        O_IPC,
        O_LABEL_FILE,
        O_LINK,
        O_LOG_DRIVER,
        O_LOG_OPT,
        O_MAC,
        O_MEMORY_RESERVATION,
        O_MEMORY_SWAP,
        O_MOUNT,
        O_NAME,
        O_NETWORK,
        O_NETWORK_ALIAS,
        O_OOM_KILL_DISABLE,
        O_PID,
        O_PIDS_LIMIT,
        O_PLATFORM,
        O_PRIVILEGED,
        O_PULL,
        O_READ_ONLY,
        O_RESTART,
        O_RM,
        O_SECURITY_OPT,
        O_SHM_SIZE,
        O_STOP_SIGNAL,
        O_STOP_TIMEOUT,
        O_SYSCTL,
        O_TMPFS,
        O_ULIMIT,
        O_USERNS,
        O_UTS,
        O_VOLUMES_FROM,
        O_HELP,
};

static const struct option run_options[] = {
        {"attach", required_argument, NULL, 'a'},
        {"add-host", required_argument, NULL, O_ADD_HOST},
        {"blkio-weight", required_argument, NULL, O_BLKIO_WEIGHT},
        {"cap-add", required_argument, NULL, O_CAP_ADD},
        {"cap-drop", required_argument, NULL, O_CAP_DROP},
        {"cgroup-parent", required_argument, NULL, O_CGROUP_PARENT},
        {"cidfile", required_argument, NULL, O_CIDFILE},
        {"cpu-period", required_argument, NULL, O_CPU_PERIOD},
        {"cpu-quota", required_argument, NULL, O_CPU_QUOTA},
        {"cpu-shares", required_argument, NULL, 'c'},
        {"cpus", required_argument, NULL, O_CPUS},
        {"cpuset-cpus", required_argument, NULL, O_CPUSET_CPUS},
        {"cpuset-mems", required_argument, NULL, O_CPUSET_MEMS},
        {"detach", no_argument, NULL, 'd'},
        {"detach-keys", required_argument, NULL, O_DETACH_KEYS},
        {"device", required_argument, NULL, O_DEVICE},
        {"dns", required_argument, NULL, O_DNS},
        {"dns-option", required_argument, NULL, O_DNS_OPTION},
        {"dns-opt", required_argument, NULL, O_DNS_OPTION},
        {"dns-search", required_argument, NULL, O_DNS_SEARCH},
        {"domainname", required_argument, NULL, O_DOMAINNAME},
        {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
        {"env", required_argument, NULL, 'e'},
        {"env-file", required_argument, NULL, O_ENV_FILE},
        {"expose", required_argument, NULL, O_EXPOSE},
        {"group-add", required_argument, NULL, O_GROUP_ADD},
        {"health-cmd", required_argument, NULL, O_HEALTH_CMD},
        {"health-interval", required_argument, NULL, O_HEALTH_INTERVAL},
        {"health-retries", required_argument, NULL, O_HEALTH_RETRIES},
        {"health-start-period", required_argument, NULL, O_HEALTH_START_PERIOD},
        {"health-timeout", required_argument, NULL, O_HEALTH_TIMEOUT},
        {"health-on-failure", required_argument, NULL, O_HEALTH_ON_FAILURE},
        {"no-healthcheck", no_argument, NULL, O_NO_HEALTHCHECK},
        {"hostname", required_argument, NULL, 'h'},
        {"init", no_argument, NULL, O_INIT},
        {"interactive", no_argument, NULL, 'i'},
        {"ip", required_argument, NULL, O_IP},
        {"ipc", required_argument, NULL, O_IPC},
        {"label", required_argument, NULL, 'l'},
        {"label-file", required_argument, NULL, O_LABEL_FILE},
        {"link", required_argument, NULL, O_LINK},
        {"log-driver", required_argument, NULL, O_LOG_DRIVER},
        {"log-opt", required_argument, NULL, O_LOG_OPT},
        {"mac-address", required_argument, NULL, O_MAC},
        {"memory", required_argument, NULL, 'm'},
        {"memory-reservation", required_argument, NULL, O_MEMORY_RESERVATION},
        {"memory-swap", required_argument, NULL, O_MEMORY_SWAP},
        {"mount", required_argument, NULL, O_MOUNT},
        {"name", required_argument, NULL, O_NAME},
        {"network", required_argument, NULL, O_NETWORK},
        {"net", required_argument, NULL, O_NETWORK},
        {"network-alias", required_argument, NULL, O_NETWORK_ALIAS},
        {"net-alias", required_argument, NULL, O_NETWORK_ALIAS},
        {"oom-kill-disable", no_argument, NULL, O_OOM_KILL_DISABLE},
        {"pid", required_argument, NULL, O_PID},
        {"pids-limit", required_argument, NULL, O_PIDS_LIMIT},
        {"platform", required_argument, NULL, O_PLATFORM},
        {"privileged", no_argument, NULL, O_PRIVILEGED},
        {"publish", required_argument, NULL, 'p'},
        {"publish-all", no_argument, NULL, 'P'},
        {"pull", required_argument, NULL, O_PULL},
        {"quiet", no_argument, NULL, 'q'},
        {"read-only", no_argument, NULL, O_READ_ONLY},
        {"restart", required_argument, NULL, O_RESTART},
        {"rm", no_argument, NULL, O_RM},
        {"security-opt", required_argument, NULL, O_SECURITY_OPT},
        {"shm-size", required_argument, NULL, O_SHM_SIZE},
        {"stop-signal", required_argument, NULL, O_STOP_SIGNAL},
        {"stop-timeout", required_argument, NULL, O_STOP_TIMEOUT},
        {"sysctl", required_argument, NULL, O_SYSCTL},
        {"tmpfs", required_argument, NULL, O_TMPFS},
        {"tty", no_argument, NULL, 't'},
        {"ulimit", required_argument, NULL, O_ULIMIT},
        {"user", required_argument, NULL, 'u'},
        {"userns", required_argument, NULL, O_USERNS},
        {"uts", required_argument, NULL, O_UTS},
        {"volume", required_argument, NULL, 'v'},
        {"volumes-from", required_argument, NULL, O_VOLUMES_FROM},
        {"workdir", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, O_HELP},
        {},
};

static json_t *obj_child(json_t *o, const char *key, bool array) {
        json_t *c = json_object_get(o, key);

        if (!c) {
                c = array ? json_array() : json_object();
                json_object_set_new(o, key, c);
        }
        return c;
}

static int parse_int_flag(const char *flag, const char *s, long long lo, long long hi,
                          long long *ret, struct err **errp) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < lo || v > hi)
                return err_setx(errp, EINVAL,
                                "invalid argument '%s' for '%s': expected an integer from %lld "
                                "to %lld",
                                s, flag, lo, hi);
        *ret = v;
        return 0;
}

static bool signal_name_valid(const char *s) {
        static const char *const names[] = {
                "HUP",  "INT",    "QUIT", "ILL",   "TRAP", "ABRT", "BUS",  "FPE",
                "KILL", "USR1",   "SEGV", "USR2",  "PIPE", "ALRM", "TERM", "STKFLT",
                "CHLD", "CONT",   "STOP", "TSTP",  "TTIN", "TTOU", "URG",  "XCPU",
                "XFSZ", "VTALRM", "PROF", "WINCH", "IO",   "PWR",  "SYS",
        };
        char *end;
        long n;

        if (isdigit((unsigned char)s[0])) {
                n = strtol(s, &end, 10);
                return !*end && n > 0 && n < 65;
        }
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        if (strncmp(s, "RTMIN", 5) == 0 || strncmp(s, "RTMAX", 5) == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0)
                        return true;
        return false;
}

int run_opts_parse(int argc, char **argv, bool is_run, struct run_opts *ret, struct err **errp) {
        _cleanup_json_ json_t *body = json_object(), *hc = json_object();
        _cleanup_json_ json_t *health = NULL;
        struct run_opts o = {};
        const char *network = NULL, *restart = NULL, *ip = NULL, *mac = NULL;
        _cleanup_json_ json_t *aliases = json_array();
        bool publish_given = false, no_health = false;
        int c, r;
        long long v;
        int64_t n;

        json_object_set_new(body, "Env", json_array());
        json_object_set_new(body, "Labels", json_object());
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+a:c:de:h:il:m:p:Pqtu:v:w:", run_options, NULL)) !=
               -1) {
                switch (c) {
                case 'a':
                        if (strcmp(optarg, "stdin") && strcmp(optarg, "stdout") &&
                            strcmp(optarg, "stderr")) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--attach': stdin, "
                                             "stdout or stderr",
                                             optarg);
                                goto fail;
                        }
                        strv_push(&o.attach, optarg);
                        break;
                case O_ADD_HOST: {
                        const char *sep = strpbrk(optarg, ":=");
                        if (!sep || sep == optarg || !sep[1]) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--add-host': expected "
                                             "HOST:IP",
                                             optarg);
                                goto fail;
                        }
                        json_array_append_new(
                                obj_child(hc, "ExtraHosts", true),
                                json_sprintf("%.*s:%s", (int)(sep - optarg), optarg, sep + 1));
                        break;
                }
                case O_BLKIO_WEIGHT:
                        r = parse_int_flag("--blkio-weight", optarg, 10, 1000, &v, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(hc, "BlkioWeight", json_integer(v));
                        break;
                case O_CAP_ADD:
                        json_array_append_new(obj_child(hc, "CapAdd", true), json_string(optarg));
                        break;
                case O_CAP_DROP:
                        json_array_append_new(obj_child(hc, "CapDrop", true), json_string(optarg));
                        break;
                case O_CGROUP_PARENT:
                        json_object_set_new(hc, "CgroupParent", json_string(optarg));
                        break;
                case O_CIDFILE:
                        free(o.cidfile);
                        o.cidfile = xstrdup(optarg);
                        break;
                case O_CPU_PERIOD:
                        r = parse_int_flag("--cpu-period", optarg, 1000, 1000000, &v, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(hc, "CpuPeriod", json_integer(v));
                        break;
                case O_CPU_QUOTA:
                        r = parse_int_flag("--cpu-quota", optarg, -1, INT64_MAX, &v, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(hc, "CpuQuota", json_integer(v));
                        break;
                case 'c':
                        r = parse_int_flag("--cpu-shares", optarg, 0, 262144, &v, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(hc, "CpuShares", json_integer(v));
                        break;
                case O_CPUS:
                        r = parse_nano_cpus("--cpus", optarg, &n, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(hc, "NanoCpus", json_integer(n));
                        break;
                case O_CPUSET_CPUS:
                        json_object_set_new(hc, "CpusetCpus", json_string(optarg));
                        break;
                case O_CPUSET_MEMS:
                        json_object_set_new(hc, "CpusetMems", json_string(optarg));
                        break;
                case 'd':
                        if (!is_run)
                                goto unknown;
                        o.detach = true;
                        break;
                case O_DETACH_KEYS:
                        free(o.detach_keys);
                        o.detach_keys = xstrdup(optarg);
                        break;
                case O_DEVICE: {
                        _cleanup_strv_ char **p = strv_split(optarg, ":");
                        size_t k = strv_length(p);
                        if (k < 1 || k > 3 || p[0][0] != '/' ||
                            (k >= 2 && p[1][0] != '/' && k == 3)) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--device': expected "
                                             "HOST[:CONTAINER][:PERMISSIONS]",
                                             optarg);
                                goto fail;
                        }
                        const char *in = k >= 2 && p[1][0] == '/' ? p[1] : p[0];
                        const char *perm = k == 3                       ? p[2]
                                           : (k == 2 && p[1][0] != '/') ? p[1]
                                                                        : "rwm";
                        if (strspn(perm, "rwm") != strlen(perm) || !*perm) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--device': "
                                             "permissions must be a combination of r, w, m",
                                             optarg);
                                goto fail;
                        }
                        json_array_append_new(obj_child(hc, "Devices", true),
                                              json_pack("{s:s,s:s,s:s}", "PathOnHost", p[0],
                                                        "PathInContainer", in, "CgroupPermissions",
                                                        perm));
                        break;
                }
                case O_DNS:
                        json_array_append_new(obj_child(hc, "Dns", true), json_string(optarg));
                        break;
                case O_DNS_OPTION:
                        json_array_append_new(obj_child(hc, "DnsOptions", true),
                                              json_string(optarg));
                        break;
                case O_DNS_SEARCH:
                        json_array_append_new(obj_child(hc, "DnsSearch", true),
                                              json_string(optarg));
                        break;
                case O_DOMAINNAME:
                        json_object_set_new(body, "Domainname", json_string(optarg));
                        break;
                case O_ENTRYPOINT:
                        json_object_set_new(body, "Entrypoint",
                                            *optarg ? json_pack("[s]", optarg) : json_array());
                        break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                const char *val = getenv(optarg);
                                if (val)
                                        json_array_append_new(json_object_get(body, "Env"),
                                                              json_sprintf("%s=%s", optarg, val));
                        } else if (optarg[0] == '=') {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--env': empty variable "
                                             "name",
                                             optarg);
                                goto fail;
                        } else
                                json_array_append_new(json_object_get(body, "Env"),
                                                      json_string(optarg));
                        break;
                case O_ENV_FILE:
                        r = parse_env_file(optarg, json_object_get(body, "Env"), errp);
                        if (r < 0)
                                goto fail;
                        break;
                case O_EXPOSE: {
                        _cleanup_free_ char *copy = xstrdup(optarg);
                        char *slash = strchr(copy, '/');
                        unsigned lo, hi;
                        const char *proto = slash ? slash + 1 : "tcp";
                        if (slash)
                                *slash = 0;
                        if (parse_port_range(copy, &lo, &hi) < 0 ||
                            (strcmp(proto, "tcp") && strcmp(proto, "udp") &&
                             strcmp(proto, "sctp"))) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--expose': expected "
                                             "PORT[-END][/PROTOCOL]",
                                             optarg);
                                goto fail;
                        }
                        for (unsigned pt = lo; pt <= hi; pt++) {
                                _cleanup_free_ char *key = xasprintf("%u/%s", pt, proto);
                                json_object_set_new(obj_child(body, "ExposedPorts", false), key,
                                                    json_object());
                        }
                        break;
                }
                case O_GROUP_ADD:
                        json_array_append_new(obj_child(hc, "GroupAdd", true), json_string(optarg));
                        break;
                case O_HEALTH_CMD:
                        if (!health)
                                health = json_object();
                        json_object_set_new(health, "Test",
                                            json_pack("[s,s]", "CMD-SHELL", optarg));
                        break;
                case O_HEALTH_INTERVAL:
                case O_HEALTH_TIMEOUT:
                case O_HEALTH_START_PERIOD: {
                        const char *flag = c == O_HEALTH_INTERVAL  ? "--health-interval"
                                           : c == O_HEALTH_TIMEOUT ? "--health-timeout"
                                                                   : "--health-start-period";
                        const char *key = c == O_HEALTH_INTERVAL  ? "Interval"
                                          : c == O_HEALTH_TIMEOUT ? "Timeout"
                                                                  : "StartPeriod";
                        r = parse_go_duration(flag, optarg, &n, errp);
                        if (r < 0)
                                goto fail;
                        if (n != 0 && n < 1000000) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '%s': must be at least "
                                             "1ms",
                                             optarg, flag);
                                goto fail;
                        }
                        if (!health)
                                health = json_object();
                        json_object_set_new(health, key, json_integer(n));
                        break;
                }
                case O_HEALTH_RETRIES:
                        r = parse_int_flag("--health-retries", optarg, 0, 1000000, &v, errp);
                        if (r < 0)
                                goto fail;
                        if (!health)
                                health = json_object();
                        json_object_set_new(health, "Retries", json_integer(v));
                        break;
                case O_HEALTH_ON_FAILURE:
                        if (strcmp(optarg, "none") && strcmp(optarg, "restart") &&
                            strcmp(optarg, "kill") && strcmp(optarg, "stop")) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--health-on-failure': "
                                             "none, restart, kill or stop",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(hc, "HealthOnFailure", json_string(optarg));
                        break;
                case O_NO_HEALTHCHECK:
                        no_health = true;
                        break;
                case 'h':
                        json_object_set_new(body, "Hostname", json_string(optarg));
                        break;
                case O_INIT:
                        json_object_set_new(hc, "Init", json_true());
                        break;
                case 'i':
                        o.interactive = true;
                        break;
                case O_IP:
                        ip = optarg;
                        break;
                case O_IPC:
                        json_object_set_new(hc, "IpcMode", json_string(optarg));
                        break;
                case 'l':
                        r = parse_keyval_into("--label", optarg, json_object_get(body, "Labels"),
                                              false, errp);
                        if (r < 0)
                                goto fail;
                        break;
                case O_LABEL_FILE: {
                        _cleanup_json_ json_t *lines = json_array();
                        size_t i;
                        json_t *l;
                        r = parse_env_file(optarg, lines, errp);
                        if (r < 0)
                                goto fail;
                        json_array_foreach (lines, i, l) {
                                r = parse_keyval_into("--label-file", json_string_value(l),
                                                      json_object_get(body, "Labels"), false, errp);
                                if (r < 0)
                                        goto fail;
                        }
                        break;
                }
                case O_LINK: {
                        const char *colon = strchr(optarg, ':');
                        if (!*optarg || colon == optarg || (colon && !colon[1])) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--link': expected "
                                             "NAME[:ALIAS]",
                                             optarg);
                                goto fail;
                        }
                        json_array_append_new(obj_child(hc, "Links", true),
                                              colon ? json_string(optarg)
                                                    : json_sprintf("%s:%s", optarg, optarg));
                        break;
                }
                case O_LOG_DRIVER:
                        if (strcmp(optarg, "json-file") && strcmp(optarg, "none") &&
                            strcmp(optarg, "local")) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--log-driver': "
                                             "json-file, local or none",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(obj_child(hc, "LogConfig", false), "Type",
                                            json_string(optarg));
                        break;
                case O_LOG_OPT: {
                        json_t *lc = obj_child(hc, "LogConfig", false);
                        r = parse_keyval_into("--log-opt", optarg, obj_child(lc, "Config", false),
                                              true, errp);
                        if (r < 0)
                                goto fail;
                        break;
                }
                case O_MAC:
                        mac = optarg;
                        break;
                case 'm':
                case O_MEMORY_RESERVATION:
                case O_SHM_SIZE: {
                        const char *flag = c == 'm'                    ? "--memory"
                                           : c == O_MEMORY_RESERVATION ? "--memory-reservation"
                                                                       : "--shm-size";
                        r = parse_bytes(flag, optarg, &n, errp);
                        if (r < 0)
                                goto fail;
                        if (c == 'm' && n < 6 * 1024 * 1024) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--memory': minimum "
                                             "memory limit is 6MB",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(hc,
                                            c == 'm'                    ? "Memory"
                                            : c == O_MEMORY_RESERVATION ? "MemoryReservation"
                                                                        : "ShmSize",
                                            json_integer(n));
                        break;
                }
                case O_MEMORY_SWAP:
                        if (strcmp(optarg, "-1") == 0)
                                n = -1;
                        else {
                                r = parse_bytes("--memory-swap", optarg, &n, errp);
                                if (r < 0)
                                        goto fail;
                        }
                        json_object_set_new(hc, "MemorySwap", json_integer(n));
                        break;
                case O_MOUNT: {
                        json_t *m;
                        r = parse_mount(optarg, &m, errp);
                        if (r < 0)
                                goto fail;
                        json_array_append_new(obj_child(hc, "Mounts", true), m);
                        break;
                }
                case O_NAME:
                        if (!*optarg || !(isalnum((unsigned char)optarg[0])) ||
                            strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_.-") != strlen(optarg)) {
                                r = err_setx(errp, EINVAL,
                                             "invalid container name '%s': only "
                                             "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                             optarg);
                                goto fail;
                        }
                        free(o.name);
                        o.name = xstrdup(optarg);
                        break;
                case O_NETWORK:
                        if (network) {
                                /* several networks: later ones are connected after create */
                                json_array_append_new(obj_child(body, "BerthExtraNetworks", true),
                                                      json_string(optarg));
                                break;
                        }
                        network = optarg;
                        break;
                case O_NETWORK_ALIAS:
                        json_array_append_new(aliases, json_string(optarg));
                        break;
                case O_OOM_KILL_DISABLE:
                        json_object_set_new(hc, "OomKillDisable", json_true());
                        break;
                case O_PID:
                        json_object_set_new(hc, "PidMode", json_string(optarg));
                        break;
                case O_PIDS_LIMIT:
                        r = parse_int_flag("--pids-limit", optarg, -1, INT32_MAX, &v, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(hc, "PidsLimit", json_integer(v));
                        break;
                case O_PLATFORM:
                        if (strncmp(optarg, "linux", 5) != 0) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--platform': only "
                                             "linux platforms run here",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(body, "Platform", json_string(optarg));
                        break;
                case O_PRIVILEGED:
                        json_object_set_new(hc, "Privileged", json_true());
                        break;
                case 'p':
                        publish_given = true;
                        r = parse_publish(optarg, obj_child(body, "ExposedPorts", false),
                                          obj_child(hc, "PortBindings", false), errp);
                        if (r < 0)
                                goto fail;
                        break;
                case 'P':
                        publish_given = true;
                        json_object_set_new(hc, "PublishAllPorts", json_true());
                        break;
                case O_PULL:
                        if (strcmp(optarg, "missing") && strcmp(optarg, "always") &&
                            strcmp(optarg, "never")) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--pull': missing, "
                                             "always or never",
                                             optarg);
                                goto fail;
                        }
                        free(o.pull);
                        o.pull = xstrdup(optarg);
                        break;
                case 'q':
                        o.quiet = true;
                        break;
                case O_READ_ONLY:
                        json_object_set_new(hc, "ReadonlyRootfs", json_true());
                        break;
                case O_RESTART:
                        restart = optarg;
                        break;
                case O_RM:
                        o.auto_remove = true;
                        json_object_set_new(hc, "AutoRemove", json_true());
                        break;
                case O_SECURITY_OPT:
                        json_array_append_new(obj_child(hc, "SecurityOpt", true),
                                              json_string(optarg));
                        break;
                case O_STOP_SIGNAL:
                        if (!signal_name_valid(optarg)) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--stop-signal': "
                                             "unknown signal",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(body, "StopSignal", json_string(optarg));
                        break;
                case O_STOP_TIMEOUT:
                        r = parse_int_flag("--stop-timeout", optarg, -1, 86400 * 365, &v, errp);
                        if (r < 0)
                                goto fail;
                        json_object_set_new(body, "StopTimeout", json_integer(v));
                        break;
                case O_SYSCTL:
                        r = parse_keyval_into("--sysctl", optarg, obj_child(hc, "Sysctls", false),
                                              true, errp);
                        if (r < 0)
                                goto fail;
                        break;
                case O_TMPFS: {
                        const char *colon = strchr(optarg, ':');
                        _cleanup_free_ char *dst =
                                colon ? xstrndup(optarg, (size_t)(colon - optarg))
                                      : xstrdup(optarg);
                        if (dst[0] != '/') {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--tmpfs': expected "
                                             "/PATH[:OPTIONS]",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(obj_child(hc, "Tmpfs", false), dst,
                                            json_string(colon ? colon + 1 : ""));
                        break;
                }
                case 't':
                        o.tty = true;
                        break;
                case O_ULIMIT: {
                        json_t *u;
                        r = parse_ulimit(optarg, &u, errp);
                        if (r < 0)
                                goto fail;
                        json_array_append_new(obj_child(hc, "Ulimits", true), u);
                        break;
                }
                case 'u':
                        json_object_set_new(body, "User", json_string(optarg));
                        break;
                case O_USERNS:
                        json_object_set_new(hc, "UsernsMode", json_string(optarg));
                        break;
                case O_UTS:
                        json_object_set_new(hc, "UTSMode", json_string(optarg));
                        break;
                case 'v':
                        r = parse_volume(optarg, obj_child(hc, "Binds", true),
                                         obj_child(body, "Volumes", false), errp);
                        if (r < 0)
                                goto fail;
                        break;
                case O_VOLUMES_FROM:
                        json_array_append_new(obj_child(hc, "VolumesFrom", true),
                                              json_string(optarg));
                        break;
                case 'w':
                        if (optarg[0] != '/') {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--workdir': the "
                                             "working directory must be an absolute path",
                                             optarg);
                                goto fail;
                        }
                        json_object_set_new(body, "WorkingDir", json_string(optarg));
                        break;
                case O_HELP:
                        r = err_setx(errp, EAGAIN, "help");
                        goto fail;
                case ':':
                        r = err_setx(errp, EINVAL, "flag '%s' needs an argument", argv[optind - 1]);
                        goto fail;
                default:
                unknown:
                        r = err_setx(errp, EINVAL, "unknown flag: '%s'", argv[optind - 1]);
                        goto fail;
                }
        }

        if (optind >= argc) {
                r = err_setx(errp, EINVAL,
                             "'%s' requires at least 1 argument: IMAGE [COMMAND "
                             "[ARG...]]",
                             argv[0]);
                goto fail;
        }
        json_object_set_new(body, "Image", json_string(argv[optind]));
        if (optind + 1 < argc) {
                json_t *cmd = json_array();
                for (int i = optind + 1; i < argc; i++)
                        json_array_append_new(cmd, json_string(argv[i]));
                json_object_set_new(body, "Cmd", cmd);
        }

        /* Conflicts, as docker reports them. */
        if (o.auto_remove && restart && strcmp(restart, "no") != 0) {
                r = err_setx(errp, EINVAL, "conflicting options: --restart and --rm");
                goto fail;
        }
        if (o.detach && o.auto_remove && o.attach) {
                r = err_setx(errp, EINVAL, "conflicting options: --detach and --attach");
                goto fail;
        }
        if (network && (strcmp(network, "host") == 0 || strcmp(network, "none") == 0 ||
                        strncmp(network, "container:", 10) == 0)) {
                if (publish_given) {
                        r = err_setx(errp, EINVAL,
                                     "conflicting options: port publishing and the '%s' network "
                                     "mode",
                                     network);
                        goto fail;
                }
                if (json_object_get(body, "Hostname") && strcmp(network, "none") != 0) {
                        r = err_setx(errp, EINVAL,
                                     "conflicting options: --hostname and the '%s' network mode",
                                     network);
                        goto fail;
                }
                if (ip || mac || json_array_size(aliases) > 0) {
                        r = err_setx(errp, EINVAL,
                                     "conflicting options: --ip, --mac-address or "
                                     "--network-alias and the '%s' network mode",
                                     network);
                        goto fail;
                }
        }
        if (no_health && health) {
                r = err_setx(errp, EINVAL,
                             "conflicting options: --no-healthcheck and --health-* options");
                goto fail;
        }
        if (restart) {
                json_t *rp;
                const char *colon = strchr(restart, ':');
                size_t k = colon ? (size_t)(colon - restart) : strlen(restart);
                long long max = 0;

                if (!((k == 2 && !strncmp(restart, "no", 2)) ||
                      (k == 6 && !strncmp(restart, "always", 6)) ||
                      (k == 14 && !strncmp(restart, "unless-stopped", 14)) ||
                      (k == 10 && !strncmp(restart, "on-failure", 10)))) {
                        r = err_setx(errp, EINVAL,
                                     "invalid argument '%s' for '--restart': no, on-failure[:N], "
                                     "always or unless-stopped",
                                     restart);
                        goto fail;
                }
                if (colon) {
                        if (strncmp(restart, "on-failure", 10) != 0) {
                                r = err_setx(errp, EINVAL,
                                             "invalid argument '%s' for '--restart': a maximum "
                                             "retry count only goes with on-failure",
                                             restart);
                                goto fail;
                        }
                        r = parse_int_flag("--restart", colon + 1, 0, 1000000, &max, errp);
                        if (r < 0)
                                goto fail;
                }
                rp = json_pack("{s:s%,s:I}", "Name", restart, k, "MaximumRetryCount",
                               (json_int_t)max);
                json_object_set_new(hc, "RestartPolicy", rp);
        }
        if (no_health)
                json_object_set_new(body, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
        else if (health) {
                if (!json_object_get(health, "Test")) {
                        r = err_setx(errp, EINVAL,
                                     "--health-interval, --health-timeout, --health-retries and "
                                     "--health-start-period need --health-cmd here");
                        goto fail;
                }
                json_object_set(body, "Healthcheck", health);
        }
        json_object_set_new(hc, "NetworkMode", json_string(network ? network : "default"));
        if (network && (ip || mac || json_array_size(aliases) > 0)) {
                json_t *ep = json_object();
                if (json_array_size(aliases) > 0)
                        json_object_set(ep, "Aliases", aliases);
                if (ip)
                        json_object_set_new(ep, "IPAMConfig",
                                            json_pack("{s:s}", "IPv4Address", ip));
                if (mac)
                        json_object_set_new(ep, "MacAddress", json_string(mac));
                json_object_set_new(body, "NetworkingConfig",
                                    json_pack("{s:{s:o}}", "EndpointsConfig", network, ep));
        } else if (ip || json_array_size(aliases) > 0) {
                r = err_setx(errp, EINVAL,
                             "--ip and --network-alias need a user-defined network (--network)");
                goto fail;
        } else if (mac)
                json_object_set_new(body, "MacAddress", json_string(mac));

        json_object_set_new(body, "Tty", json_boolean(o.tty));
        json_object_set_new(body, "OpenStdin", json_boolean(o.interactive));
        json_object_set_new(body, "StdinOnce", json_boolean(o.interactive && !o.detach));
        json_object_set_new(body, "AttachStdin", json_boolean(o.interactive && !o.detach));
        json_object_set_new(body, "AttachStdout", json_boolean(!o.detach));
        json_object_set_new(body, "AttachStderr", json_boolean(!o.detach));
        if (o.name)
                json_object_set_new(body, "Name", json_string(o.name));
        json_object_set(body, "HostConfig", hc);
        o.body = TAKE_PTR(body);
        *ret = o;
        return 0;
fail:
        run_opts_done(&o);
        return r;
}
