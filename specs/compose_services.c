/* SPDX-License-Identifier: Apache-2.0 */
/* Compose services (compose-spec 05-services) into model services of one-container pods. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "compose.h"
#include "fileio.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

static const char *const service_keys[] = {"image",
                                           "restart",
                                           "container_name",
                                           "volumes",
                                           "ports",
                                           "environment",
                                           "env_file",
                                           "expose",
                                           "depends_on",
                                           "hostname",
                                           "command",
                                           "entrypoint",
                                           "healthcheck",
                                           "networks",
                                           "build",
                                           "user",
                                           "working_dir",
                                           "labels",
                                           "profiles",
                                           "secrets",
                                           "configs",
                                           "network_mode",
                                           "cap_add",
                                           "cap_drop",
                                           "security_opt",
                                           "privileged",
                                           "read_only",
                                           "tmpfs",
                                           "init",
                                           "extra_hosts",
                                           "dns",
                                           "dns_search",
                                           "dns_opt",
                                           "logging",
                                           "links",
                                           "stop_signal",
                                           "stop_grace_period",
                                           "ulimits",
                                           "sysctls",
                                           "pids_limit",
                                           "shm_size",
                                           "mem_limit",
                                           "cpus",
                                           "devices",
                                           "pull_policy",
                                           "tty",
                                           "stdin_open",
                                           "domainname",
                                           "deploy",
                                           "scale",
                                           "mem_reservation",
                                           "annotations",
                                           NULL};
/* Compose keys berth knows but does not implement: an error says so instead of guessing. */
static const char *const unsupported_keys[] = {"attach",
                                               "blkio_config",
                                               "cgroup",
                                               "cgroup_parent",
                                               "cpu_count",
                                               "cpu_percent",
                                               "cpu_period",
                                               "cpu_quota",
                                               "cpu_rt_period",
                                               "cpu_rt_runtime",
                                               "cpu_shares",
                                               "cpuset",
                                               "credential_spec",
                                               "device_cgroup_rules",
                                               "develop",
                                               "external_links",
                                               "gpus",
                                               "group_add",
                                               "ipc",
                                               "isolation",
                                               "mac_address",
                                               "mem_swappiness",
                                               "memswap_limit",
                                               "oom_kill_disable",
                                               "oom_score_adj",
                                               "pid",
                                               "platform",
                                               "runtime",
                                               "storage_opt",
                                               "userns_mode",
                                               "uts",
                                               "volumes_from",
                                               "post_start",
                                               "pre_stop",
                                               "label_file",
                                               "models",
                                               "provider",
                                               NULL};
static const char *const healthcheck_keys[] = {
        "test",         "interval",       "timeout", "retries",
        "start_period", "start_interval", "disable", NULL};
static const char *const build_keys[] = {"context",     "dockerfile",        "args",    "target",
                                         "labels",      "cache_from",        "network", "shm_size",
                                         "extra_hosts", "no_cache",          "pull",    "tags",
                                         "platforms",   "dockerfile_inline", NULL};
static const char *const deploy_keys[] = {
        "mode",          "replicas",        "labels",    "resources",     "restart_policy",
        "update_config", "rollback_config", "placement", "endpoint_mode", NULL};
static const char *const resources_keys[] = {"limits", "reservations", NULL};
static const char *const limits_keys[] = {"cpus", "memory", "pids", NULL};
static const char *const reservations_keys[] = {"cpus", "memory", "devices", "generic_resources",
                                                NULL};
static const char *const restart_policy_keys[] = {"condition", "delay", "max_attempts", "window",
                                                  NULL};
static const char *const update_keys[] = {
        "parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order", NULL};
static const char *const placement_keys[] = {"constraints", "preferences", "max_replicas_per_node",
                                             NULL};
static const char *const depends_keys[] = {"condition", "restart", "required", NULL};
static const char *const svc_network_keys[] = {"aliases",     "ipv4_address",   "ipv6_address",
                                               "priority",    "link_local_ips", "mac_address",
                                               "driver_opts", "gw_priority",    NULL};
static const char *const logging_keys[] = {"driver", "options", NULL};
static const char *const ulimit_keys[] = {"soft", "hard", NULL};
static const char *const env_file_keys[] = {"path", "required", "format", NULL};
static const char *const device_keys[] = {"source", "target", "permissions", NULL};

struct svc {
        struct compose_ctx *c;
        const char *name;
        const struct ynode *n;
        const json_t *model;
        json_t *service, *pod, *ctr;
};

static const struct ynode *get(const struct svc *s, const char *key) {
        return ynode_map_get(s->n, key);
}

/* Optional string field into obj[as] (null when absent). */
static int opt_str(const struct ynode *n, json_t *obj, const char *as, struct err **errp) {
        const char *v = NULL;
        int r;

        if (n && (r = y_str_or_null(n, &v, errp)) < 0)
                return r;
        json_set_str(obj, as, v);
        return 0;
}

static int opt_bool(const struct ynode *n, json_t *obj, const char *as, struct err **errp) {
        bool v = false;
        int r;

        if (n && !ynode_is_null(n) && (r = y_bool(n, &v, errp)) < 0)
                return r;
        json_object_set_new(obj, as, json_boolean(v));
        return 0;
}

static int opt_list(const struct ynode *n, json_t *obj, const char *as, struct err **errp) {
        json_t *l = NULL;
        int r;

        if (!n || ynode_is_null(n)) {
                json_object_set_new(obj, as, json_array());
                return 0;
        }
        r = y_str_or_list(n, &l, errp);
        if (r < 0)
                return r;
        json_object_set_new(obj, as, l);
        return 0;
}

static int opt_map(const struct ynode *n, json_t *obj, const char *as, struct err **errp) {
        json_t *m = NULL;
        int r;

        if (!n || ynode_is_null(n)) {
                json_object_set_new(obj, as, json_object());
                return 0;
        }
        r = y_str_map(n, &m, errp);
        if (r < 0)
                return r;
        json_object_set_new(obj, as, m);
        return 0;
}

/* command / entrypoint: a string is split like a shell would; a list is taken as is. */
static int cmdline(const struct ynode *n, json_t *obj, const char *as, struct err **errp) {
        _cleanup_free_ char *msg = NULL;
        _cleanup_strv_ char **argv = NULL;
        json_t *a;
        int r;

        if (!n || ynode_is_null(n)) {
                json_object_set_new(obj, as, json_null());
                return 0;
        }
        if (n->kind == YNODE_SEQ) {
                r = y_strv(n, &a, errp);
                if (r < 0)
                        return r;
                json_object_set_new(obj, as, a);
                return 0;
        }
        if (n->kind != YNODE_SCALAR)
                return ynode_err(errp, n, "expected a string or a list of strings, got %s",
                                 ynode_kind_name(n));
        if (shell_split(n->str, &argv, &msg) < 0)
                return ynode_err(errp, n, "%s", msg);
        a = json_array();
        STRV_FOREACH (w, argv)
                json_array_append_new(a, json_string(*w));
        json_object_set_new(obj, as, a);
        return 0;
}

/* Reads one env_file entry (a path, or {path, required, format}) into env. */
static int env_file_load(struct svc *s, const struct ynode *it, json_t *env, struct err **errp) {
        const struct ynode *pn = it;
        _cleanup_free_ char *abs = NULL, *buf = NULL;
        _cleanup_strv_ char **kv = NULL;
        bool required = true;
        const char *p;
        int r;

        if (it->kind == YNODE_MAP) {
                r = y_check_keys(it, env_file_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                pn = ynode_map_get(it, "path");
                if (!pn)
                        return ynode_err(errp, it, "env_file needs a 'path'");
                if (ynode_map_get(it, "required") &&
                    (r = y_bool(ynode_map_get(it, "required"), &required, errp)) < 0)
                        return r;
        }
        r = y_str(pn, &p, errp);
        if (r < 0)
                return r;
        abs = y_abs_path(pn, p, compose_env_get(s->c, "HOME"));
        r = spec_read_file(abs, 1024 * 1024, &buf, NULL, NULL);
        if (r == -ENOENT && !required)
                return 0;
        if (r < 0)
                return ynode_err(errp, pn, "cannot read env file '%s': %s", abs, strerror(-r));
        r = envfile_parse(buf, abs, NULL, NULL, &kv, errp);
        if (r < 0)
                return r;
        STRV_FOREACH (e, kv) {
                char *eq = strchr(*e, '=');
                *eq = 0;
                json_object_set_new(env, *e, json_string(eq + 1));
        }
        return 0;
}

/* env_file entries first, then `environment` over them; a key without a value takes the
 * variable from the project environment, or is left out when that is unset. */
static int environment(struct svc *s, struct err **errp) {
        const struct ynode *ef = get(s, "env_file"), *en = get(s, "environment"), *k, *v;
        json_t *env = json_object();
        int r;

        json_object_set_new(s->ctr, "env", env);
        if (ef && !ynode_is_null(ef)) {
                r = y_seq(ef, errp);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ef->n_kids; i++) {
                        r = env_file_load(s, ef->kids[i], env, errp);
                        if (r < 0)
                                return r;
                }
        }
        if (!en || ynode_is_null(en))
                return 0;
        r = y_map(en, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, en) {
                const char *val;
                if (ynode_is_null(v)) {
                        /* "KEY" alone: the value comes from the environment, if set. */
                        val = compose_env_get(s->c, k->str);
                        if (val)
                                json_object_set_new(env, k->str, json_string(val));
                        continue;
                }
                r = y_str(v, &val, errp);
                if (r < 0)
                        return r;
                json_object_set_new(env, k->str, json_string(val));
        }
        return 0;
}

/* image (validated and normalised) and build; with build but no image the image is named
 * PROJECT-SERVICE, like compose. */
static int image_build(struct svc *s, struct err **errp) {
        const struct ynode *in = get(s, "image"), *bn = get(s, "build"), *f;
        _cleanup_free_ char *msg = NULL, *norm = NULL;
        const char *image = NULL;
        int r;

        if (in) {
                r = y_str(in, &image, errp);
                if (r < 0)
                        return r;
                if (image_ref_normalize(image, &norm, &msg) < 0)
                        return ynode_err(errp, in, "%s", msg);
        }
        if (bn && !ynode_is_null(bn)) {
                _cleanup_json_ json_t *b = json_object();
                _cleanup_free_ char *ctx = NULL;
                const char *p = ".";

                r = y_check_keys(bn, build_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                if ((f = ynode_map_get(bn, "context")) && (r = y_str(f, &p, errp)) < 0)
                        return r;
                ctx = strstr(p, "://") ? xstrdup(p)
                                       : y_abs_path(f ? f : bn, p, compose_env_get(s->c, "HOME"));
                json_object_set_new(b, "context", json_string(ctx));
                const char *df = "Dockerfile";
                if ((f = ynode_map_get(bn, "dockerfile")) && (r = y_str(f, &df, errp)) < 0)
                        return r;
                json_object_set_new(b, "dockerfile", json_string(df));
                r = opt_map(ynode_map_get(bn, "args"), b, "args", errp);
                if (r >= 0)
                        r = opt_str(ynode_map_get(bn, "target"), b, "target", errp);
                if (r >= 0)
                        r = opt_map(ynode_map_get(bn, "labels"), b, "labels", errp);
                if (r < 0)
                        return r;
                /* The builder's own options are passed through as written. */
                static const char *const passthrough[] = {
                        "cache_from", "network", "shm_size",  "extra_hosts",      "no_cache",
                        "pull",       "tags",    "platforms", "dockerfile_inline"};
                for (size_t i = 0; i < ELEMENTSOF(passthrough); i++)
                        if ((f = ynode_map_get(bn, passthrough[i])))
                                json_object_set_new(b, passthrough[i], ynode_to_json(f));
                json_object_set_new(s->ctr, "build", TAKE_PTR(b));
                if (!norm)
                        norm = xasprintf("%s-%s", s->c->project, s->name);
        } else {
                json_object_set_new(s->ctr, "build", json_null());
                if (!norm)
                        return ynode_err(errp, s->n,
                                         "service '%s' has neither an image nor a build section",
                                         s->name);
        }
        json_object_set_new(s->ctr, "image", json_string(norm));
        return 0;
}

static int pull_policy(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "pull_policy");
        const char *p = "missing";
        int r;

        if (n) {
                r = y_str(n, &p, errp);
                if (r < 0)
                        return r;
                if (streq(p, "if_not_present"))
                        p = "missing";
                if (!strv_contains((char *[]){"always", "never", "missing", "build", "daily",
                                              "weekly", NULL},
                                   p))
                        return ynode_err(errp, n,
                                         "expected always, never, missing, build, daily or "
                                         "weekly, got \"%s\"",
                                         p);
        }
        json_object_set_new(s->ctr, "pull_policy", json_string(p));
        return 0;
}

static json_t *default_health(void) {
        return json_pack("{s:[s],s:i,s:i,s:i,s:i,s:i}", "test", "NONE", "interval_ms", 30000,
                         "timeout_ms", 30000, "retries", 3, "start_period_ms", 0,
                         "start_interval_ms", 5000);
}

/* The healthcheck with every default explicit; a string test is CMD-SHELL. */
static int healthcheck(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "healthcheck"), *f;
        _cleanup_json_ json_t *h = NULL;
        static const struct {
                const char *key, *as;
        } durs[] = {{"interval", "interval_ms"},
                    {"timeout", "timeout_ms"},
                    {"start_period", "start_period_ms"},
                    {"start_interval", "start_interval_ms"}};
        bool disable = false;
        int r;

        if (!n || ynode_is_null(n)) {
                json_object_set_new(s->ctr, "healthcheck", json_null());
                return 0;
        }
        r = y_check_keys(n, healthcheck_keys, true, NULL, errp);
        if (r < 0)
                return r;
        h = default_health();
        if ((f = ynode_map_get(n, "disable")) && (r = y_bool(f, &disable, errp)) < 0)
                return r;
        f = ynode_map_get(n, "test");
        if (f && !disable) {
                json_t *t;
                if (f->kind == YNODE_SCALAR && !ynode_is_null(f)) {
                        t = json_pack("[s,s]", "CMD-SHELL", f->str);
                } else {
                        const char *first;
                        r = y_strv(f, &t, errp);
                        if (r < 0)
                                return r;
                        first = json_string_value(json_array_get(t, 0));
                        if (!first || (!streq(first, "CMD") && !streq(first, "CMD-SHELL") &&
                                       !streq(first, "NONE"))) {
                                json_decref(t);
                                return ynode_err(errp, f,
                                                 "healthcheck test must start with CMD, CMD-SHELL "
                                                 "or NONE");
                        }
                        if (!streq(first, "NONE") && json_array_size(t) < 2) {
                                json_decref(t);
                                return ynode_err(errp, f, "healthcheck test '%s' needs a command",
                                                 first);
                        }
                }
                json_object_set_new(h, "test", t);
        } else if (!disable)
                return ynode_err(errp, n, "healthcheck needs a 'test' (or disable: true)");
        for (size_t i = 0; i < ELEMENTSOF(durs); i++)
                if ((f = ynode_map_get(n, durs[i].key))) {
                        int64_t ms;
                        if ((r = y_duration_ms(f, &ms, errp)) < 0)
                                return r;
                        json_object_set_new(h, durs[i].as, json_integer(ms));
                }
        if ((f = ynode_map_get(n, "retries"))) {
                int64_t v;
                if ((r = y_int(f, 0, 1000000, &v, errp)) < 0)
                        return r;
                json_object_set_new(h, "retries", json_integer(v));
        }
        json_object_set_new(s->ctr, "healthcheck", TAKE_PTR(h));
        return 0;
}

static int expose(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "expose");
        json_t *a = json_array();
        int r;

        json_object_set_new(s->ctr, "expose", a);
        if (!n || ynode_is_null(n))
                return 0;
        r = y_seq(n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                _cleanup_free_ char *copy = NULL, *msg = NULL;
                const char *v, *proto = "tcp";
                char *slash, *dash;
                int lo, hi;

                r = y_str(n->kids[i], &v, errp);
                if (r < 0)
                        return r;
                copy = xstrdup(v);
                slash = strchr(copy, '/');
                if (slash) {
                        *slash = 0;
                        proto = slash + 1;
                        if (!protocol_valid(proto))
                                return ynode_err(errp, n->kids[i],
                                                 "expected \"PORT[/PROTO]\", got \"%s\"", v);
                }
                dash = strchr(copy, '-');
                if (dash)
                        *dash = 0;
                if (parse_port_number(copy, false, &lo, &msg) < 0 ||
                    (dash && parse_port_number(dash + 1, false, &hi, NULL) < 0))
                        return ynode_err(errp, n->kids[i], "expected \"PORT[/PROTO]\", got \"%s\"",
                                         v);
                json_array_append_new(a, dash ? json_sprintf("%s-%s/%s", copy, dash + 1, proto)
                                              : json_sprintf("%s/%s", copy, proto));
        }
        return 0;
}

/* `restart`, overridden by deploy.restart_policy when present (none -> no, any -> always). */
static int restart(struct svc *s, const struct ynode *deploy, struct err **errp) {
        const struct ynode *n = get(s, "restart"), *rp = ynode_map_get(deploy, "restart_policy"),
                           *f;
        _cleanup_json_ json_t *o = json_pack("{s:s,s:i,s:i,s:i}", "policy", "no", "max_retries", 0,
                                             "delay_ms", 0, "window_ms", 0);
        int r;

        if (n) {
                const char *p;
                r = y_str(n, &p, errp);
                if (r < 0)
                        return r;
                if (str_startswith(p, "on-failure:")) {
                        char *end;
                        long v = strtol(p + 11, &end, 10);
                        if (*end || end == p + 11 || v < 0)
                                return ynode_err(
                                        errp, n,
                                        "expected \"on-failure[:MAX_RETRIES]\", got \"%s\"", p);
                        json_object_set_new(o, "policy", json_string("on-failure"));
                        json_object_set_new(o, "max_retries", json_integer(v));
                } else if (strv_contains(
                                   (char *[]){"no", "always", "on-failure", "unless-stopped", NULL},
                                   p))
                        json_object_set_new(o, "policy", json_string(p));
                else if (streq(p, "false"))
                        json_object_set_new(o, "policy", json_string("no"));
                else
                        return ynode_err(
                                errp, n,
                                "expected no, always, on-failure[:N] or unless-stopped, got "
                                "\"%s\"",
                                p);
        }
        if (rp && !ynode_is_null(rp)) {
                r = y_check_keys(rp, restart_policy_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                if ((f = ynode_map_get(rp, "condition"))) {
                        const char *cnd;
                        if ((r = y_str(f, &cnd, errp)) < 0)
                                return r;
                        if (streq(cnd, "none"))
                                cnd = "no";
                        else if (streq(cnd, "any"))
                                cnd = "always";
                        else if (!streq(cnd, "on-failure"))
                                return ynode_err(errp, f,
                                                 "expected none, on-failure or any, got \"%s\"",
                                                 cnd);
                        json_object_set_new(o, "policy", json_string(cnd));
                } else
                        json_object_set_new(o, "policy", json_string("always"));
                if ((f = ynode_map_get(rp, "max_attempts"))) {
                        int64_t v;
                        if ((r = y_int(f, 0, INT32_MAX, &v, errp)) < 0)
                                return r;
                        json_object_set_new(o, "max_retries", json_integer(v));
                }
                static const char *const d[][2] = {{"delay", "delay_ms"}, {"window", "window_ms"}};
                for (size_t i = 0; i < ELEMENTSOF(d); i++)
                        if ((f = ynode_map_get(rp, d[i][0]))) {
                                int64_t ms;
                                if ((r = y_duration_ms(f, &ms, errp)) < 0)
                                        return r;
                                json_object_set_new(o, d[i][1], json_integer(ms));
                        }
        }
        json_object_set_new(s->pod, "restart", TAKE_PTR(o));
        return 0;
}

/* deploy.update_config / rollback_config with defaults, into svc[as]. */
static int update_config(const struct ynode *n, json_t *svc, const char *as, struct err **errp) {
        _cleanup_json_ json_t *o = json_pack("{s:i,s:i,s:s,s:s,s:i,s:f}", "parallelism", 1,
                                             "delay_ms", 0, "order", "stop-first", "failure_action",
                                             "pause", "monitor_ms", 5000, "max_failure_ratio", 0.0);
        const struct ynode *f;
        int r;

        if (n && !ynode_is_null(n)) {
                r = y_check_keys(n, update_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                if ((f = ynode_map_get(n, "parallelism"))) {
                        int64_t v;
                        if ((r = y_int(f, 0, INT32_MAX, &v, errp)) < 0)
                                return r;
                        json_object_set_new(o, "parallelism", json_integer(v));
                }
                static const char *const d[][2] = {{"delay", "delay_ms"},
                                                   {"monitor", "monitor_ms"}};
                for (size_t i = 0; i < ELEMENTSOF(d); i++)
                        if ((f = ynode_map_get(n, d[i][0]))) {
                                int64_t ms;
                                if ((r = y_duration_ms(f, &ms, errp)) < 0)
                                        return r;
                                json_object_set_new(o, d[i][1], json_integer(ms));
                        }
                if ((f = ynode_map_get(n, "order"))) {
                        const char *v;
                        if ((r = y_str(f, &v, errp)) < 0)
                                return r;
                        if (!streq(v, "stop-first") && !streq(v, "start-first"))
                                return ynode_err(errp, f,
                                                 "expected stop-first or start-first, got \"%s\"",
                                                 v);
                        json_object_set_new(o, "order", json_string(v));
                }
                if ((f = ynode_map_get(n, "failure_action"))) {
                        const char *v;
                        if ((r = y_str(f, &v, errp)) < 0)
                                return r;
                        if (!strv_contains((char *[]){"continue", "rollback", "pause", NULL}, v))
                                return ynode_err(errp, f,
                                                 "expected continue, rollback or pause, got \"%s\"",
                                                 v);
                        json_object_set_new(o, "failure_action", json_string(v));
                }
                if ((f = ynode_map_get(n, "max_failure_ratio"))) {
                        double v;
                        if ((r = y_number(f, &v, errp)) < 0)
                                return r;
                        if (v < 0 || v > 1)
                                return ynode_err(errp, f,
                                                 "expected a ratio between 0 and 1, got \"%s\"",
                                                 f->str);
                        json_object_set_new(o, "max_failure_ratio", json_real(v));
                }
        }
        json_object_set_new(svc, as, TAKE_PTR(o));
        return 0;
}

/* cpus and memory may come from the service keys or from deploy.resources; they must agree. */
static int resources(struct svc *s, const struct ynode *deploy, struct err **errp) {
        const struct ynode *res = ynode_map_get(deploy, "resources"), *lim = NULL, *rsv = NULL, *f;
        double cpus = 0, rcpus = 0;
        int64_t mem = 0, pids = 0, rmem = 0;
        int r;

        if (res && !ynode_is_null(res)) {
                if ((r = y_check_keys(res, resources_keys, true, NULL, errp)) < 0)
                        return r;
                lim = ynode_map_get(res, "limits");
                rsv = ynode_map_get(res, "reservations");
                if (lim && !ynode_is_null(lim) &&
                    (r = y_check_keys(lim, limits_keys, true, NULL, errp)) < 0)
                        return r;
                if (rsv && !ynode_is_null(rsv) &&
                    (r = y_check_keys(rsv, reservations_keys, true, NULL, errp)) < 0)
                        return r;
                if (rsv && ynode_map_get(rsv, "devices"))
                        return ynode_err(errp, ynode_map_get(rsv, "devices"),
                                         "device reservations (GPUs) are not supported by berth");
                if (rsv && ynode_map_get(rsv, "generic_resources"))
                        return ynode_err(errp, ynode_map_get(rsv, "generic_resources"),
                                         "generic resources are not supported by berth");
        }
        if ((f = ynode_map_get(lim, "cpus")) && (r = y_number(f, &cpus, errp)) < 0)
                return r;
        if ((f = ynode_map_get(lim, "memory")) && (r = y_size(f, &mem, errp)) < 0)
                return r;
        if ((f = ynode_map_get(lim, "pids")) && (r = y_int(f, -1, INT32_MAX, &pids, errp)) < 0)
                return r;
        if ((f = ynode_map_get(rsv, "cpus")) && (r = y_number(f, &rcpus, errp)) < 0)
                return r;
        if ((f = ynode_map_get(rsv, "memory")) && (r = y_size(f, &rmem, errp)) < 0)
                return r;
        if ((f = get(s, "cpus"))) {
                double v;
                if ((r = y_number(f, &v, errp)) < 0)
                        return r;
                if (cpus != 0 && v != cpus)
                        return ynode_err(errp, f, "cpus and deploy.resources.limits.cpus disagree");
                cpus = v;
        }
        if ((f = get(s, "mem_limit"))) {
                int64_t v;
                if ((r = y_size(f, &v, errp)) < 0)
                        return r;
                if (mem != 0 && v != mem)
                        return ynode_err(errp, f,
                                         "mem_limit and deploy.resources.limits.memory disagree");
                mem = v;
        }
        if ((f = get(s, "mem_reservation"))) {
                if ((r = y_size(f, &rmem, errp)) < 0)
                        return r;
        }
        if ((f = get(s, "pids_limit"))) {
                if ((r = y_int(f, -1, INT32_MAX, &pids, errp)) < 0)
                        return r;
        }
        if (cpus < 0)
                return ynode_err(errp, get(s, "cpus"), "cpus must not be negative");
        json_object_set_new(s->ctr, "resources",
                            json_pack("{s:{s:f,s:I,s:I},s:{s:f,s:I}}", "limits", "cpus", cpus,
                                      "memory", (json_int_t)mem, "pids", (json_int_t)pids,
                                      "reservations", "cpus", rcpus, "memory", (json_int_t)rmem));
        return 0;
}

/* Replicas (deploy.replicas, else scale), mode, labels, update/rollback, placement and
 * endpoint mode. */
static int deploy(struct svc *s, const struct ynode *d, struct err **errp) {
        const struct ynode *f, *pl;
        int64_t replicas = 1;
        const char *mode = "replicated", *ep = "vip";
        int r;

        if (d && !ynode_is_null(d) && (r = y_check_keys(d, deploy_keys, true, NULL, errp)) < 0)
                return r;
        if ((f = get(s, "scale")) && (r = y_int(f, 0, 100000, &replicas, errp)) < 0)
                return r;
        if ((f = ynode_map_get(d, "replicas")) && (r = y_int(f, 0, 100000, &replicas, errp)) < 0)
                return r;
        if ((f = ynode_map_get(d, "mode"))) {
                if ((r = y_str(f, &mode, errp)) < 0)
                        return r;
                if (!streq(mode, "replicated") && !streq(mode, "global"))
                        return ynode_err(errp, f, "expected replicated or global, got \"%s\"",
                                         mode);
                if (streq(mode, "global")) {
                        if (ynode_map_get(d, "replicas"))
                                return ynode_err(errp, ynode_map_get(d, "replicas"),
                                                 "replicas cannot be set with mode: global");
                        replicas = 1;
                }
        }
        json_object_set_new(s->service, "mode", json_string(mode));
        json_object_set_new(s->service, "replicas", json_integer(replicas));
        r = opt_map(ynode_map_get(d, "labels"), s->service, "labels", errp);
        if (r >= 0)
                r = update_config(ynode_map_get(d, "update_config"), s->service, "update", errp);
        if (r >= 0)
                r = update_config(ynode_map_get(d, "rollback_config"), s->service, "rollback",
                                  errp);
        if (r < 0)
                return r;
        pl = ynode_map_get(d, "placement");
        {
                _cleanup_json_ json_t *p = json_pack("{s:[],s:[],s:i}", "constraints",
                                                     "preferences", "max_replicas_per_node", 0);
                if (pl && !ynode_is_null(pl)) {
                        if ((r = y_check_keys(pl, placement_keys, true, NULL, errp)) < 0)
                                return r;
                        if ((r = opt_list(ynode_map_get(pl, "constraints"), p, "constraints",
                                          errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(pl, "preferences"))) {
                                json_t *prefs = ynode_to_json(f);
                                json_object_set_new(p, "preferences", prefs);
                        }
                        if ((f = ynode_map_get(pl, "max_replicas_per_node"))) {
                                int64_t v;
                                if ((r = y_int(f, 0, 100000, &v, errp)) < 0)
                                        return r;
                                json_object_set_new(p, "max_replicas_per_node", json_integer(v));
                        }
                }
                json_object_set_new(s->service, "placement", TAKE_PTR(p));
        }
        if ((f = ynode_map_get(d, "endpoint_mode"))) {
                if ((r = y_str(f, &ep, errp)) < 0)
                        return r;
                if (!streq(ep, "vip") && !streq(ep, "dnsrr"))
                        return ynode_err(errp, f, "expected vip or dnsrr, got \"%s\"", ep);
        }
        json_object_set_new(s->service, "endpoint", json_pack("{s:s,s:[]}", "mode", ep, "ports"));
        return 0;
}

static int depends_on(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "depends_on"), *k, *v, *f;
        json_t *deps = json_object();
        int r;

        json_object_set_new(s->service, "depends_on", deps);
        if (!n || ynode_is_null(n))
                return 0;
        r = y_map(n, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, n) {
                const char *cond = "service_started";
                bool rst = false, req = true;
                if (!ynode_is_null(v)) {
                        if ((r = y_check_keys(v, depends_keys, true, NULL, errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(v, "condition"))) {
                                if ((r = y_str(f, &cond, errp)) < 0)
                                        return r;
                                if (!strv_contains((char *[]){"service_started", "service_healthy",
                                                              "service_completed_successfully",
                                                              NULL},
                                                   cond))
                                        return ynode_err(errp, f,
                                                         "expected service_started, "
                                                         "service_healthy or "
                                                         "service_completed_successfully, got "
                                                         "\"%s\"",
                                                         cond);
                        }
                        if ((f = ynode_map_get(v, "restart")) && (r = y_bool(f, &rst, errp)) < 0)
                                return r;
                        if ((f = ynode_map_get(v, "required")) && (r = y_bool(f, &req, errp)) < 0)
                                return r;
                }
                json_object_set_new(deps, k->str,
                                    json_pack("{s:s,s:b,s:b}", "condition", cond, "restart", rst,
                                              "required", req));
        }
        return 0;
}

/* network_mode, or the networks the service joins (each must be declared; none means
 * `default`). */
static int networks(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "networks"), *nm = get(s, "network_mode"), *k, *v, *f;
        json_t *nets = json_object(), *top = json_object_get(s->model, "networks");
        const char *mode = NULL;
        int r;

        json_object_set_new(s->pod, "networks", nets);
        if (nm) {
                if ((r = y_str(nm, &mode, errp)) < 0)
                        return r;
                if (streq(mode, "bridge") || streq(mode, "default"))
                        mode = NULL;
                else if (!streq(mode, "host") && !streq(mode, "none") &&
                         !str_startswith(mode, "service:") && !str_startswith(mode, "container:"))
                        return ynode_err(errp, nm,
                                         "expected host, none, bridge, service:NAME or "
                                         "container:NAME, got \"%s\"",
                                         mode);
                if (mode && n && !ynode_is_null(n))
                        return ynode_err(errp, n,
                                         "networks cannot be combined with network_mode '%s'",
                                         mode);
        }
        json_set_str(s->pod, "network_mode", mode);
        if (mode)
                return 0;
        if (!n || ynode_is_null(n) || ynode_map_len(n) == 0) {
                json_object_set_new(
                        nets, "default",
                        json_pack("{s:[],s:n,s:n}", "aliases", "ipv4_address", "ipv6_address"));
                return 0;
        }
        r = y_map(n, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, n) {
                _cleanup_json_ json_t *o =
                        json_pack("{s:[],s:n,s:n}", "aliases", "ipv4_address", "ipv6_address");
                if (!json_object_get(top, k->str) && !streq(k->str, "default"))
                        return ynode_err(errp, k,
                                         "network '%s' is not declared in the top-level networks "
                                         "section",
                                         k->str);
                if (!ynode_is_null(v)) {
                        if ((r = y_check_keys(v, svc_network_keys, true, NULL, errp)) < 0)
                                return r;
                        if ((r = opt_list(ynode_map_get(v, "aliases"), o, "aliases", errp)) < 0)
                                return r;
                        static const char *const addrs[] = {"ipv4_address", "ipv6_address"};
                        for (size_t i = 0; i < ELEMENTSOF(addrs); i++)
                                if ((f = ynode_map_get(v, addrs[i]))) {
                                        unsigned char buf[16];
                                        const char *a;
                                        if ((r = y_str(f, &a, errp)) < 0)
                                                return r;
                                        if (inet_pton(i == 0 ? AF_INET : AF_INET6, a, buf) != 1)
                                                return ynode_err(
                                                        errp, f,
                                                        "expected an IPv%c address, got \"%s\"",
                                                        i == 0 ? '4' : '6', a);
                                        json_object_set_new(o, addrs[i], json_string(a));
                                }
                        static const char *const extra[] = {"priority", "gw_priority",
                                                            "link_local_ips", "mac_address",
                                                            "driver_opts"};
                        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                                if ((f = ynode_map_get(v, extra[i])))
                                        json_object_set_new(o, extra[i], ynode_to_json(f));
                }
                json_object_set_new(nets, k->str, TAKE_PTR(o));
        }
        return 0;
}

/* extra_hosts as a list ("h:ip", "h=ip", "h:[v6]") or a map (one IP or a list). */
static int extra_hosts(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "extra_hosts"), *k, *v;
        json_t *a = json_array();
        int r;

        json_object_set_new(s->pod, "extra_hosts", a);
        if (!n || ynode_is_null(n))
                return 0;
        if (n->kind == YNODE_MAP) {
                YMAP_FOREACH(k, v, n) {
                        json_t *ips = NULL;
                        size_t i;
                        json_t *ip;
                        if ((r = y_str_or_list(v, &ips, errp)) < 0)
                                return r;
                        json_array_foreach (ips, i, ip)
                                json_array_append_new(
                                        a, json_pack("{s:s,s:O}", "host", k->str, "ip", ip));
                        json_decref(ips);
                }
                return 0;
        }
        r = y_seq(n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                _cleanup_free_ char *host = NULL, *ip = NULL;
                const char *e, *sep;
                unsigned char buf[16];

                if ((r = y_str(n->kids[i], &e, errp)) < 0)
                        return r;
                sep = strchr(e, '=');
                if (!sep)
                        sep = strchr(e, ':');
                if (!sep || sep == e)
                        return ynode_err(errp, n->kids[i],
                                         "expected \"HOST:IP\" or \"HOST=IP\", got \"%s\"", e);
                host = xstrndup(e, (size_t)(sep - e));
                ip = xstrdup(sep + 1);
                if (ip[0] == '[' && ip[strlen(ip) - 1] == ']') {
                        memmove(ip, ip + 1, strlen(ip));
                        ip[strlen(ip) - 1] = 0;
                }
                if (!streq(ip, "host-gateway") &&
                    inet_pton(strchr(ip, ':') ? AF_INET6 : AF_INET, ip, buf) != 1)
                        return ynode_err(errp, n->kids[i],
                                         "expected \"HOST:IP\" or \"HOST=IP\", got \"%s\"", e);
                json_array_append_new(a, json_pack("{s:s,s:s}", "host", host, "ip", ip));
        }
        return 0;
}

static int logging(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "logging");
        _cleanup_json_ json_t *o = json_pack("{s:s,s:{}}", "driver", "json-file", "options");
        const struct ynode *f;
        int r;

        if (n && !ynode_is_null(n)) {
                if ((r = y_check_keys(n, logging_keys, true, NULL, errp)) < 0)
                        return r;
                if ((f = ynode_map_get(n, "driver"))) {
                        const char *d;
                        if ((r = y_str(f, &d, errp)) < 0)
                                return r;
                        json_object_set_new(o, "driver", json_string(d));
                }
                if ((r = opt_map(ynode_map_get(n, "options"), o, "options", errp)) < 0)
                        return r;
        }
        json_object_set_new(s->ctr, "logging", TAKE_PTR(o));
        return 0;
}

/* ulimits: a single number sets both limits, a map sets soft and hard. */
static int ulimits(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "ulimits"), *k, *v;
        json_t *o = json_object();
        int r;

        json_object_set_new(s->ctr, "ulimits", o);
        if (!n || ynode_is_null(n))
                return 0;
        if ((r = y_map(n, errp)) < 0)
                return r;
        YMAP_FOREACH(k, v, n) {
                int64_t soft, hard;
                if (v->kind == YNODE_MAP) {
                        if ((r = y_check_keys(v, ulimit_keys, true, NULL, errp)) < 0)
                                return r;
                        if (!ynode_map_get(v, "soft") || !ynode_map_get(v, "hard"))
                                return ynode_err(errp, v, "ulimit needs 'soft' and 'hard'");
                        if ((r = y_int(ynode_map_get(v, "soft"), -1, INT64_MAX, &soft, errp)) < 0 ||
                            (r = y_int(ynode_map_get(v, "hard"), -1, INT64_MAX, &hard, errp)) < 0)
                                return r;
                        if (hard >= 0 && soft > hard)
                                return ynode_err(errp, v,
                                                 "soft limit %lld is above hard limit %lld",
                                                 (long long)soft, (long long)hard);
                } else {
                        if ((r = y_int(v, -1, INT64_MAX, &soft, errp)) < 0)
                                return r;
                        hard = soft;
                }
                json_object_set_new(
                        o, k->str,
                        json_pack("{s:I,s:I}", "soft", (json_int_t)soft, "hard", (json_int_t)hard));
        }
        return 0;
}

/* devices: "HOST[:CONTAINER[:PERMS]]" or {source, target, permissions}. */
static int devices(struct svc *s, struct err **errp) {
        const struct ynode *n = get(s, "devices");
        json_t *a = json_array();
        int r;

        json_object_set_new(s->ctr, "devices", a);
        if (!n || ynode_is_null(n))
                return 0;
        if ((r = y_seq(n, errp)) < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                const struct ynode *it = n->kids[i];
                const char *src = NULL, *tgt = NULL, *perm = "rwm";
                _cleanup_strv_ char **p = NULL;

                if (it->kind == YNODE_MAP) {
                        if ((r = y_check_keys(it, device_keys, true, NULL, errp)) < 0)
                                return r;
                        if (!ynode_map_get(it, "source"))
                                return ynode_err(errp, it, "device needs a 'source'");
                        if ((r = y_str(ynode_map_get(it, "source"), &src, errp)) < 0)
                                return r;
                        tgt = src;
                        if (ynode_map_get(it, "target") &&
                            (r = y_str(ynode_map_get(it, "target"), &tgt, errp)) < 0)
                                return r;
                        if (ynode_map_get(it, "permissions") &&
                            (r = y_str(ynode_map_get(it, "permissions"), &perm, errp)) < 0)
                                return r;
                } else {
                        if ((r = y_str(it, &src, errp)) < 0)
                                return r;
                        p = strv_split(src, ":");
                        if (strv_length(p) < 1 || strv_length(p) > 3)
                                return ynode_err(
                                        errp, it,
                                        "expected \"HOST[:CONTAINER[:PERMISSIONS]]\", got \"%s\"",
                                        src);
                        src = p[0];
                        tgt = p[1] ? p[1] : p[0];
                        if (p[1] && p[2])
                                perm = p[2];
                }
                if (src[0] != '/' || tgt[0] != '/' || strspn(perm, "rwm") != strlen(perm))
                        return ynode_err(
                                errp, it,
                                "expected \"HOST[:CONTAINER[:PERMISSIONS]]\" with absolute "
                                "paths and permissions of r, w, m");
                json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "source", src, "target", tgt,
                                                   "permissions", perm));
        }
        return 0;
}

static int security(struct svc *s, struct err **errp) {
        json_t *o = json_object();
        const struct ynode *f;
        bool nnp = false;
        int r;

        json_object_set_new(s->ctr, "security", o);
        if ((r = opt_bool(get(s, "privileged"), o, "privileged", errp)) < 0 ||
            (r = opt_bool(get(s, "read_only"), o, "read_only", errp)) < 0 ||
            (r = opt_list(get(s, "cap_add"), o, "cap_add", errp)) < 0 ||
            (r = opt_list(get(s, "cap_drop"), o, "cap_drop", errp)) < 0 ||
            (r = opt_list(get(s, "security_opt"), o, "security_opt", errp)) < 0)
                return r;
        if ((f = get(s, "security_opt")) && f->kind == YNODE_SEQ)
                for (size_t i = 0; i < f->n_kids; i++)
                        if (streq(f->kids[i]->str, "no-new-privileges") ||
                            streq(f->kids[i]->str, "no-new-privileges:true") ||
                            streq(f->kids[i]->str, "no-new-privileges=true"))
                                nnp = true;
        json_object_set_new(o, "no_new_privileges", json_boolean(nnp));
        json_object_set_new(o, "user_ns", json_null());
        return 0;
}

static int one_int(const struct ynode *n, json_t *o, const char *as, struct err **errp) {
        int64_t v = 0;
        int r;

        if (n && (r = y_size(n, &v, errp)) < 0)
                return r;
        json_object_set_new(o, as, json_integer(v));
        return 0;
}

static int stop(struct svc *s, struct err **errp) {
        const struct ynode *f;
        const char *sig = "SIGTERM";
        int64_t ms = 10000;
        int r;

        if ((f = get(s, "stop_signal"))) {
                if ((r = y_str(f, &sig, errp)) < 0)
                        return r;
        }
        if ((f = get(s, "stop_grace_period")) && (r = y_duration_ms(f, &ms, errp)) < 0)
                return r;
        json_object_set_new(s->pod, "stop_signal", json_string(sig));
        json_object_set_new(s->pod, "stop_grace_period_ms", json_integer(ms));
        json_object_set_new(s->ctr, "stop_signal", json_null());
        return 0;
}

/* Endpoint ports: every container port the service is reached on (ports and expose). */
static void endpoint_ports(struct svc *s) {
        json_t *ep = json_object_get(json_object_get(s->service, "endpoint"), "ports"), *p;
        size_t i;

        json_array_foreach (json_object_get(s->ctr, "ports"), i, p) {
                json_int_t t = json_integer_value(json_object_get(p, "target"));
                bool dup = false;
                size_t j;
                json_t *q;
                json_array_foreach (ep, j, q)
                        if (json_integer_value(json_object_get(q, "target")) == t &&
                            json_equal(json_object_get(q, "protocol"),
                                       json_object_get(p, "protocol")))
                                dup = true;
                if (!dup)
                        json_array_append_new(ep, json_pack("{s:O,s:I,s:I,s:O,s:n}", "name",
                                                            json_object_get(p, "name"), "port", t,
                                                            "target", t, "protocol",
                                                            json_object_get(p, "protocol"),
                                                            "node_port"));
        }
}

/* One compose service into a model service with a one-container pod in out[name]. Every
 * key is checked; keys compose has but berth does not implement are errors. */
static int service(struct compose_ctx *c, const char *name, const struct ynode *n,
                   const json_t *model, json_t *out, struct err **errp) {
        _cleanup_json_ json_t *svc = json_object(), *pod = json_object(), *ctr = json_object();
        struct svc s = {.c = c,
                        .name = name,
                        .n = n,
                        .model = model,
                        .service = svc,
                        .pod = pod,
                        .ctr = ctr};
        const struct ynode *d = get(&s, "deploy"), *f;
        int r;

        for (const char *const *u = unsupported_keys; *u; u++)
                if ((f = get(&s, *u)))
                        return ynode_err(errp, f, "key '%s' is not supported by berth", *u);
        r = y_check_keys(n, service_keys, true, NULL, errp);
        if (r < 0)
                return r;
        json_object_set_new(svc, "name", json_string(name));
        json_object_set_new(svc, "kind", json_string("service"));
        r = deploy(&s, d, errp);
        if (r < 0)
                return r;
        if ((r = opt_str(get(&s, "container_name"), svc, "container_name", errp)) < 0 ||
            (r = depends_on(&s, errp)) < 0)
                return r;
        if ((r = opt_list(get(&s, "profiles"), svc, "profiles", errp)) < 0)
                return r;

        json_object_set_new(ctr, "name", json_string(name));
        if ((r = image_build(&s, errp)) < 0 || (r = pull_policy(&s, errp)) < 0 ||
            (r = cmdline(get(&s, "entrypoint"), ctr, "entrypoint", errp)) < 0 ||
            (r = cmdline(get(&s, "command"), ctr, "command", errp)) < 0 ||
            (r = environment(&s, errp)) < 0 ||
            (r = opt_str(get(&s, "working_dir"), ctr, "working_dir", errp)) < 0 ||
            (r = opt_str(get(&s, "user"), ctr, "user", errp)) < 0)
                return r;
        if ((f = get(&s, "working_dir")) && f->kind == YNODE_SCALAR && f->str[0] != '/' &&
            !ynode_is_null(f))
                return ynode_err(errp, f, "working_dir \"%s\" must be an absolute path", f->str);
        json_object_set_new(ctr, "ports", json_array());
        if ((f = get(&s, "ports")) && !ynode_is_null(f) &&
            (r = compose_ports(c, f, json_object_get(ctr, "ports"), errp)) < 0)
                return r;
        if ((r = expose(&s, errp)) < 0)
                return r;
        json_object_set_new(ctr, "mounts", json_array());
        if ((f = get(&s, "volumes")) && !ynode_is_null(f) &&
            (r = compose_volumes(c, f, model, json_object_get(ctr, "mounts"), errp)) < 0)
                return r;
        if ((f = get(&s, "secrets")) && !ynode_is_null(f) &&
            (r = compose_secret_refs(c, f, "secret", model, json_object_get(ctr, "mounts"), errp)) <
                    0)
                return r;
        if ((f = get(&s, "configs")) && !ynode_is_null(f) &&
            (r = compose_secret_refs(c, f, "config", model, json_object_get(ctr, "mounts"), errp)) <
                    0)
                return r;
        if ((r = resources(&s, d, errp)) < 0 || (r = healthcheck(&s, errp)) < 0)
                return r;
        json_object_set_new(ctr, "probes",
                            json_pack("{s:n,s:n,s:n}", "liveness", "readiness", "startup"));
        if ((r = security(&s, errp)) < 0 ||
            (r = opt_list(get(&s, "tmpfs"), ctr, "tmpfs", errp)) < 0 ||
            (r = opt_bool(get(&s, "init"), ctr, "init", errp)) < 0 ||
            (r = opt_bool(get(&s, "tty"), ctr, "tty", errp)) < 0 ||
            (r = opt_bool(get(&s, "stdin_open"), ctr, "stdin_open", errp)) < 0 ||
            (r = opt_map(get(&s, "labels"), ctr, "labels", errp)) < 0 ||
            (r = opt_map(get(&s, "annotations"), ctr, "annotations", errp)) < 0 ||
            (r = logging(&s, errp)) < 0 || (r = ulimits(&s, errp)) < 0 ||
            (r = opt_map(get(&s, "sysctls"), ctr, "sysctls", errp)) < 0 ||
            (r = one_int(get(&s, "shm_size"), ctr, "shm_size", errp)) < 0 ||
            (r = devices(&s, errp)) < 0 || (r = opt_list(get(&s, "links"), ctr, "links", errp)) < 0)
                return r;

        if ((r = opt_str(get(&s, "hostname"), pod, "hostname", errp)) < 0 ||
            (r = opt_str(get(&s, "domainname"), pod, "domainname", errp)) < 0 ||
            (r = opt_list(get(&s, "dns"), pod, "dns", errp)) < 0 ||
            (r = opt_list(get(&s, "dns_search"), pod, "dns_search", errp)) < 0 ||
            (r = opt_list(get(&s, "dns_opt"), pod, "dns_options", errp)) < 0 ||
            (r = extra_hosts(&s, errp)) < 0 || (r = networks(&s, errp)) < 0 ||
            (r = restart(&s, d, errp)) < 0 || (r = stop(&s, errp)) < 0)
                return r;
        json_object_set_new(pod, "init_containers", json_array());
        json_object_set_new(pod, "containers", json_pack("[O]", ctr));
        endpoint_ports(&s);
        json_object_set_new(svc, "hash", json_null());
        json_object_set(svc, "pod", pod);
        json_object_set_new(out, name, TAKE_PTR(svc));
        return 0;
}

int compose_services(struct compose_ctx *c, const struct ynode *root, json_t *model,
                     struct err **errp) {
        const struct ynode *services = ynode_map_get(root, "services"), *k, *v;
        json_t *out = json_object_get(model, "services");
        bool need_default = false;
        int r;

        if (!services || ynode_is_null(services))
                return ynode_err(errp, root, "no services defined");
        r = y_map(services, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, services) {
                if ((r = y_check_name(k, "service", errp)) < 0)
                        return r;
                if (!ynode_is_null(v) && (r = y_map(v, errp)) < 0)
                        return r;
                if (ynode_is_null(v))
                        return ynode_err(errp, v, "service '%s' is empty", k->str);
                r = service(c, k->str, v, model, out, errp);
                if (r < 0)
                        return r;
                if (json_object_get(
                            json_object_get(json_object_get(json_object_get(out, k->str), "pod"),
                                            "networks"),
                            "default"))
                        need_default = true;
        }
        /* Like compose: services without networks join PROJECT_default. */
        if (need_default && !json_object_get(json_object_get(model, "networks"), "default")) {
                _cleanup_free_ char *nm = xasprintf("%s_default", c->project);
                json_object_set_new(json_object_get(model, "networks"), "default",
                                    json_pack("{s:s,s:s,s:b,s:b,s:b,s:b,s:n,s:n,s:n,s:{},s:{}}",
                                              "name", nm, "driver", "bridge", "external", 0,
                                              "internal", 0, "attachable", 0, "enable_ipv6", 0,
                                              "subnet", "gateway", "ip_range", "options",
                                              "labels"));
        }
        return 0;
}
