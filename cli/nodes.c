/* SPDX-License-Identifier: Apache-2.0 */
/* `berth node ls|inspect|update|rm|token`: the cluster's nodes, as the controller records them
 * (docs/cluster.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "strv.h"
#include "xalloc.h"

#define NODE_TABLE                                                                                 \
        "table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Availability}}\t{{.Address}}\t{{.Labels}}\t"    \
        "{{.Heartbeat}}"

/* Parses the common "-h" / "--format" options; returns optind, or -exit code, or 0 on --help. */
static int simple_opts(int argc, char **argv, const char *usage, const char **format,
                       const struct option *extra, int (*on)(int c, void *ud), void *ud) {
        struct option opts[16] = {};
        size_t n = 0;
        int c;

        opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
        opts[n++] = (struct option){"format", required_argument, NULL, 'F'};
        for (; extra && extra->name && n < ELEMENTSOF(opts) - 1; extra++)
                opts[n++] = *extra;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                }
                if (c == 'F' && format) {
                        *format = optarg;
                        continue;
                }
                if (c != '?' && on && on(c, ud) == 0)
                        continue;
                fputs(usage, stderr);
                return -EXIT_USAGE;
        }
        return optind;
}

static char *labels_str(const json_t *labels) {
        _cleanup_strv_ char **l = NULL;
        const char *k;
        json_t *v;

        json_object_foreach ((json_t *)labels, k, v)
                strv_push_take(&l, xasprintf("%s=%s", k, json_string_value(v) ?: ""));
        return l ? strv_join(l, ",") : xstrdup("");
}

static char *age_str(json_int_t sec, bool never) {
        if (never)
                return xstrdup("never");
        if (sec < 60)
                return xasprintf("%llds ago", (long long)sec);
        if (sec < 3600)
                return xasprintf("%lldm ago", (long long)sec / 60);
        if (sec < 86400)
                return xasprintf("%lldh ago", (long long)sec / 3600);
        return xasprintf("%lldd ago", (long long)sec / 86400);
}

static const char ls_usage[] = "Usage: berth node ls [--format FORMAT]\n\n"
                               "List the cluster's nodes.\n";

static int cmd_ls(const struct cli_ctx *ctx, int argc, char **argv) {
        _cleanup_json_ json_t *nodes = NULL, *rows = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *format = ctx->format;
        size_t i;
        json_t *n;
        int r;

        r = simple_opts(argc, argv, ls_usage, &format, NULL, NULL, NULL);
        if (r <= 0)
                return -r;
        if (r < argc) {
                log_error(NULL, "node ls: unexpected argument '%s'", argv[r]);
                return EXIT_USAGE;
        }
        r = client_call(ctx, "GET", "/v1/nodes", NULL, &nodes, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (format && streq(format, "json")) {
                _cleanup_free_ char *s = json_dump_str(nodes, true);
                fputs(s, stdout);
                return 0;
        }
        rows = json_array();
        json_array_foreach (nodes, i, n) {
                _cleanup_free_ char *labels = labels_str(json_object_get(n, "labels"));
                _cleanup_free_ char *age = age_str(json_get_int(n, "heartbeat_age_sec", 0),
                                                   json_get_int(n, "last_heartbeat_usec", 0) == 0);

                json_array_append_new(rows,
                                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                                                json_get_str(n, "id", ""), "Name",
                                                json_get_str(n, "name", ""), "Status",
                                                json_get_str(n, "status", ""), "Availability",
                                                json_get_str(n, "availability", ""), "Address",
                                                json_get_str(n, "advertise_addr", "-"), "Labels",
                                                labels, "Heartbeat", age));
        }
        r = fmt_print_list(stdout, format, NODE_TABLE, rows, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

static const char inspect_usage[] = "Usage: berth node inspect [--format FORMAT] NODE...\n\n"
                                    "Show nodes in detail (JSON).\n";

static int cmd_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        const char *format = ctx->format;
        _cleanup_json_ json_t *all = json_array();
        int r, rc = 0;

        r = simple_opts(argc, argv, inspect_usage, &format, NULL, NULL, NULL);
        if (r <= 0)
                return -r;
        if (r >= argc) {
                log_error(NULL, "node inspect: requires at least one node");
                return EXIT_USAGE;
        }
        for (int i = r; i < argc; i++) {
                _cleanup_free_ char *path = xasprintf("/v1/nodes/%s", argv[i]);
                _cleanup_err_ struct err *e = NULL;
                json_t *n = NULL;
                int k;

                if (strpbrk(argv[i], "/?#%")) {
                        log_error(NULL, "node inspect: bad node name '%s'", argv[i]);
                        rc = 1;
                        continue;
                }
                k = client_call(ctx, "GET", path, NULL, &n, &e);
                if (k < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(k));
                        continue;
                }
                json_array_append_new(all, n);
        }
        if (format && !streq(format, "json") && !streq(format, "table")) {
                size_t i;
                json_t *n;
                json_array_foreach (all, i, n) {
                        _cleanup_err_ struct err *e = NULL;
                        if (fmt_print_one(stdout, format, n, &e) < 0)
                                return cli_report(TAKE_PTR(e), EXIT_USAGE);
                }
        } else {
                _cleanup_free_ char *s = json_dumps(all, JSON_INDENT(4) | JSON_SORT_KEYS);
                if (s)
                        printf("%s\n", s);
        }
        return rc;
}

struct update_opts {
        json_t *add;
        char **rm;
        const char *availability;
        bool bad;
};

enum { OPT_LABEL_ADD = 1000, OPT_LABEL_RM, OPT_AVAIL, OPT_ROTATE, OPT_FORCE, OPT_TTL };

static int update_opt(int c, void *ud) {
        struct update_opts *o = ud;
        const char *eq;

        switch (c) {
        case OPT_LABEL_ADD:
                eq = strchr(optarg, '=');
                if (!eq || eq == optarg) {
                        log_error(NULL, "node update: --label-add '%s': expected KEY=VALUE",
                                  optarg);
                        o->bad = true;
                        return 0;
                }
                {
                        _cleanup_free_ char *k = xstrndup(optarg, (size_t)(eq - optarg));
                        json_object_set_new(o->add, k, json_string(eq + 1));
                }
                return 0;
        case OPT_LABEL_RM:
                strv_push(&o->rm, optarg);
                return 0;
        case OPT_AVAIL:
                if (!streq(optarg, "active") && !streq(optarg, "pause") &&
                    !streq(optarg, "drain")) {
                        log_error(NULL,
                                  "node update: --availability '%s': expected active, pause or "
                                  "drain",
                                  optarg);
                        o->bad = true;
                }
                o->availability = optarg;
                return 0;
        default:
                return -1;
        }
}

static const char update_usage[] =
        "Usage: berth node update [OPTIONS] NODE\n\n"
        "Change a node's labels or availability.\n\n"
        "Options:\n"
        "      --label-add KEY=VALUE              add or change a label (repeatable)\n"
        "      --label-rm KEY                     remove a label (repeatable)\n"
        "      --availability active|pause|drain  scheduling availability\n";

static int cmd_update(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option extra[] = {
                {"label-add", required_argument, NULL, OPT_LABEL_ADD},
                {"label-rm", required_argument, NULL, OPT_LABEL_RM},
                {"availability", required_argument, NULL, OPT_AVAIL},
                {},
        };
        _cleanup_json_ json_t *add = json_object(), *cur = NULL, *patch = NULL, *res = NULL;
        _cleanup_strv_ char **rm = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *path = NULL;
        struct update_opts o = {.add = add};
        json_t *labels;
        int r;

        r = simple_opts(argc, argv, update_usage, NULL, extra, update_opt, &o);
        rm = o.rm;
        if (r <= 0)
                return -r;
        if (o.bad)
                return EXIT_USAGE;
        if (argc - r != 1) {
                log_error(NULL, "node update: requires exactly one node");
                return EXIT_USAGE;
        }
        if (strpbrk(argv[r], "/?#%")) {
                log_error(NULL, "node update: bad node name '%s'", argv[r]);
                return EXIT_USAGE;
        }
        if (json_object_size(add) == 0 && !rm && !o.availability) {
                log_error(NULL, "node update: nothing to change (--label-add, --label-rm, "
                                "--availability)");
                return EXIT_USAGE;
        }
        path = xasprintf("/v1/nodes/%s", argv[r]);
        patch = json_object();
        if (json_object_size(add) > 0 || rm) {
                /* labels replace as a whole: start from the current ones */
                r = client_call(ctx, "GET", path, NULL, &cur, &e);
                if (r < 0)
                        return cli_report(TAKE_PTR(e), client_exit_code(r));
                labels = json_object_get(cur, "labels");
                labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
                json_object_update(labels, add);
                STRV_FOREACH (k, rm)
                        json_object_del(labels, *k);
                json_object_set_new(patch, "labels", labels);
        }
        if (o.availability)
                json_object_set_new(patch, "availability", json_string(o.availability));
        r = client_call(ctx, "PATCH", path, patch, &res, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", argv[argc - 1]);
        return 0;
}

static int rm_opt(int c, void *ud) {
        if (c != OPT_FORCE)
                return -1;
        *(bool *)ud = true;
        return 0;
}

static const char rm_usage[] = "Usage: berth node rm [--force] NODE...\n\n"
                               "Remove nodes from the cluster. Without --force, a node that still\n"
                               "reports pods is refused.\n";

static int cmd_rm(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option extra[] = {
                {"force", no_argument, NULL, OPT_FORCE},
                {},
        };
        bool force = false;
        int r, rc = 0;

        r = simple_opts(argc, argv, rm_usage, NULL, extra, rm_opt, &force);
        if (r <= 0)
                return -r;
        if (r >= argc) {
                log_error(NULL, "node rm: requires at least one node");
                return EXIT_USAGE;
        }
        for (int i = r; i < argc; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_err_ struct err *e = NULL;
                int k;

                if (strpbrk(argv[i], "/?#%")) {
                        log_error(NULL, "node rm: bad node name '%s'", argv[i]);
                        rc = 1;
                        continue;
                }
                path = xasprintf("/v1/nodes/%s%s", argv[i], force ? "?force=1" : "");
                k = client_call(ctx, "DELETE", path, NULL, NULL, &e);
                if (k < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(k));
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return rc;
}

static const char token_usage[] =
        "Usage: berth node token [--rotate [--ttl DURATION]]\n\n"
        "Print the cluster's join token; --rotate replaces it (the previous token stops\n"
        "working); --ttl makes the new token expire after DURATION (e.g. 24h, 90m).\n";

struct token_opts {
        bool rotate;
        const char *ttl;
};

static int token_opt(int c, void *ud) {
        struct token_opts *o = ud;

        if (c == OPT_ROTATE)
                o->rotate = true;
        else if (c == OPT_TTL)
                o->ttl = optarg;
        else
                return -1;
        return 0;
}

static int cmd_token(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option extra[] = {
                {"rotate", no_argument, NULL, OPT_ROTATE},
                {"ttl", required_argument, NULL, OPT_TTL},
                {},
        };
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *path = NULL, *msg = NULL;
        struct token_opts o = {};
        int64_t ttl_ms = 0;
        json_int_t exp;
        int r;

        r = simple_opts(argc, argv, token_usage, NULL, extra, token_opt, &o);
        if (r <= 0)
                return -r;
        if (r < argc) {
                log_error(NULL, "node token: unexpected argument '%s'", argv[r]);
                return EXIT_USAGE;
        }
        if (o.ttl && !o.rotate) {
                log_error(NULL, "node token: --ttl applies to a new token: add --rotate");
                return EXIT_USAGE;
        }
        if (o.ttl && (parse_duration_ms(o.ttl, &ttl_ms, &msg) < 0 || ttl_ms < 1000)) {
                log_error(NULL, "node token: --ttl '%s': %s", o.ttl,
                          msg ?: "expected a duration of at least 1s, like 24h or 90m");
                return EXIT_USAGE;
        }
        if (!o.rotate)
                path = xstrdup("/v1/cluster/token");
        else if (o.ttl)
                path = xasprintf("/v1/cluster/token/rotate?ttl=%lld", (long long)(ttl_ms / 1000));
        else
                path = xstrdup("/v1/cluster/token/rotate");
        r = client_call(ctx, o.rotate ? "POST" : "GET", path, NULL, &res, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(res, "token", ""));
        exp = json_get_int(res, "expires_usec", 0);
        if (exp > 0) {
                time_t t = (time_t)(exp / 1000000);
                struct tm tm;
                char when[32] = "";

                gmtime_r(&t, &tm);
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
                fflush(stdout);
                fprintf(stderr, "(expires at %s)\n", when);
        }
        return 0;
}

const struct cli_cmd cli_node_cmds[] = {
        {"node ls", "list the cluster's nodes", cmd_ls},
        {"node inspect", "show nodes in detail", cmd_inspect},
        {"node update", "change a node's labels or availability", cmd_update},
        {"node rm", "remove nodes from the cluster", cmd_rm},
        {"node token", "print or rotate the join token", cmd_token},
        {},
};
