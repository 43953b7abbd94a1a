/* SPDX-License-Identifier: Apache-2.0 */
/* berth stats and berth update: containers' resource usage and live limits (docker's output). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

static char *enc(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *p = out;

        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (isalnum(ch) || strchr("-_.~", ch))
                        *p++ = (char)ch;
                else {
                        *p++ = '%';
                        *p++ = hex[ch >> 4];
                        *p++ = hex[ch & 15];
                }
        }
        *p = '\0';
        return out;
}

/* docker's units: binary for memory ("1.5MiB"), decimal for I/O ("1.2kB"). */
static char *size_str(double v, bool binary) {
        static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB"};
        double base = binary ? 1024. : 1000.;
        size_t i = 0;

        while (v >= base && i + 1 < ELEMENTSOF(bin)) {
                v /= base;
                i++;
        }
        return xasprintf("%.4g%s", v, binary ? bin[i] : dec[i]);
}

static double num(const json_t *o, const char *a, const char *b) {
        const json_t *v = json_object_get(o, a);

        if (b)
                v = json_object_get(v, b);
        return json_is_integer(v) ? (double)json_integer_value(v) : json_number_value(v);
}

/* One row, with docker's --format fields. */
static json_t *stats_row(const json_t *s) {
        const json_t *cpu = json_object_get(s, "cpu_stats"),
                     *pre = json_object_get(s, "precpu_stats");
        const json_t *nets = json_object_get(s, "networks"), *v;
        double cpu_d = num(cpu, "cpu_usage", "total_usage") - num(pre, "cpu_usage", "total_usage");
        double sys_d = num(cpu, "system_cpu_usage", NULL) - num(pre, "system_cpu_usage", NULL);
        double cpus = num(cpu, "online_cpus", NULL), cpu_pc = 0, mem_pc = 0;
        double usage = num(json_object_get(s, "memory_stats"), "usage", NULL);
        double limit = num(json_object_get(s, "memory_stats"), "limit", NULL);
        double rx = 0, tx = 0, rd = 0, wr = 0;
        const char *name = json_get_str(s, "name", ""), *k;
        _cleanup_free_ char *mu = NULL, *ml = NULL, *nr = NULL, *nt = NULL, *br = NULL, *bw = NULL;
        size_t i;

        if (cpu_d > 0 && sys_d > 0)
                cpu_pc = cpu_d / sys_d * (cpus > 0 ? cpus : 1) * 100.;
        if (limit > 0)
                mem_pc = usage / limit * 100.;
        json_object_foreach ((json_t *)nets, k, v) {
                rx += num(v, "rx_bytes", NULL);
                tx += num(v, "tx_bytes", NULL);
        }
        json_array_foreach (
                json_object_get(json_object_get(s, "blkio_stats"), "io_service_bytes_recursive"), i,
                v) {
                if (streq(json_get_str(v, "op", ""), "read"))
                        rd += num(v, "value", NULL);
                else if (streq(json_get_str(v, "op", ""), "write"))
                        wr += num(v, "value", NULL);
        }
        mu = size_str(usage, true);
        ml = size_str(limit, true);
        nr = size_str(rx, false);
        nt = size_str(tx, false);
        br = size_str(rd, false);
        bw = size_str(wr, false);
        {
                json_t *row = json_object();
                const char *id = json_get_str(s, "id", "");

                json_object_set_new(row, "ID", json_string(id));
                json_object_set_new(row, "Container",
                                    json_stringn(id, MIN(strlen(id), (size_t)12)));
                json_object_set_new(row, "Name", json_string(name[0] == '/' ? name + 1 : name));
                json_object_set_new(row, "CPUPerc", json_sprintf("%.2f%%", cpu_pc));
                /* no memory controller (cgroup v2 without it): docker's "--" */
                bool no_mem = !json_object_get(json_object_get(s, "memory_stats"), "usage");
                json_object_set_new(row, "MemUsage",
                                    no_mem ? json_string("-- / --")
                                           : json_sprintf("%s / %s", mu, ml));
                json_object_set_new(row, "MemPerc",
                                    no_mem ? json_string("--") : json_sprintf("%.2f%%", mem_pc));
                json_object_set_new(row, "NetIO", json_sprintf("%s / %s", nr, nt));
                json_object_set_new(row, "BlockIO", json_sprintf("%s / %s", br, bw));
                json_object_set_new(row, "PIDs",
                                    json_sprintf("%.0f", num(json_object_get(s, "pids_stats"),
                                                             "current", NULL)));
                return row;
        }
}

static const char stats_usage[] =
        "Usage: berth stats [OPTIONS] [CONTAINER...]\n\n"
        "Display a live stream of containers' resource usage statistics (all running containers\n"
        "when none is named).\n\n"
        "Options:\n"
        "      --no-stream      print the first result only\n"
        "      --format FORMAT  json, or a template such as '{{.Name}} {{.CPUPerc}}'\n";

static const char stats_table[] = "table {{.Container}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t"
                                  "{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

static void print_table(const json_t *rows) {
        _cleanup_free_ char *aligned = NULL;
        char *text = xstrdup("CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\t"
                             "BLOCK I/O\tPIDS\n");
        const json_t *r;
        size_t i;

        json_array_foreach (rows, i, r) {
                char *n = xasprintf("%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", text,
                                    json_get_str(r, "Container", ""), json_get_str(r, "Name", ""),
                                    json_get_str(r, "CPUPerc", ""), json_get_str(r, "MemUsage", ""),
                                    json_get_str(r, "MemPerc", ""), json_get_str(r, "NetIO", ""),
                                    json_get_str(r, "BlockIO", ""), json_get_str(r, "PIDs", ""));
                free(text);
                text = n;
        }
        aligned = fmt_align(text);
        free(text);
        fputs(aligned, stdout);
}

/* The running containers' ids. */
static int running_ids(const struct cli_ctx *ctx, char ***ret, struct err **errp) {
        _cleanup_json_ json_t *list = NULL;
        _cleanup_strv_ char **ids = xnew0(char *, 1);
        const json_t *c;
        size_t i;
        int r;

        r = client_call(ctx, "GET", "/v1/containers", NULL, &list, errp);
        if (r < 0)
                return r;
        json_array_foreach (list, i, c)
                strv_push(&ids, json_get_str(c, "Id", ""));
        *ret = TAKE_PTR(ids);
        return 0;
}

static int cmd_stats(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        const char *format = ctx->format;
        bool no_stream = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1)
                switch (c) {
                case 'n':
                        no_stream = true;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        fputs(stats_usage, stdout);
                        return 0;
                default:
                        fputs(stats_usage, stderr);
                        return EXIT_USAGE;
                }
        /* Rounds of one-shot samples (one request per container, answered at once), a second
         * apart; each container's CPU % is against its sample of the round before, so a round
         * takes the same time for 1 or 50 containers. */
        _cleanup_json_ json_t *prevs = json_object(); /* id -> the previous cpu_stats */
        for (unsigned round = 0;; round++) {
                _cleanup_strv_ char **ids = NULL;
                _cleanup_json_ json_t *rows = json_array(), *seen = json_object();
                struct err *e = NULL;
                int r;

                if (optind < argc)
                        ids = strv_copy(argv + optind);
                else if ((r = running_ids(ctx, &ids, &e)) < 0)
                        return cli_report(e, client_exit_code(r));
                STRV_FOREACH (id, ids) {
                        _cleanup_free_ char *q = enc(*id);
                        _cleanup_free_ char *path =
                                xasprintf("/v1/containers/%s/stats?stream=0&one-shot=1", q);
                        _cleanup_json_ json_t *ans = NULL;
                        json_t *prev;

                        r = client_call(ctx, "GET", path, NULL, &ans, &e);
                        if (r < 0) {
                                /* a named container must exist and run; listed ones may stop */
                                if (optind < argc)
                                        return cli_report(e, client_exit_code(r));
                                e = err_free(e);
                                continue;
                        }
                        prev = json_object_get(prevs, *id);
                        if (prev)
                                json_object_set(ans, "precpu_stats", prev);
                        json_object_set(seen, *id, json_object_get(ans, "cpu_stats"));
                        json_array_append_new(rows, stats_row(ans));
                }
                /* containers that went are forgotten */
                json_decref(prevs);
                prevs = json_incref(seen);
                if (round > 0 || ids[0] == NULL) {
                        if (!no_stream)
                                fputs("\033[2J\033[H", stdout);
                        if (!format || streq(format, "table"))
                                print_table(rows);
                        else if (streq(format, "json")) {
                                const json_t *row;
                                size_t i;

                                json_array_foreach (rows, i, row) {
                                        _cleanup_free_ char *line = json_dumps(row, JSON_COMPACT);
                                        puts(line);
                                }
                        } else if ((r = fmt_print_list(stdout, format, stats_table, rows, &e)) < 0)
                                return cli_report(e, EXIT_USAGE);
                        fflush(stdout);
                        if (no_stream)
                                return 0;
                }
                (void)nanosleep(&(struct timespec){1, 0}, NULL);
        }
}

static const char update_usage[] =
        "Usage: berth update [OPTIONS] CONTAINER...\n\n"
        "Update the limits and the restart policy of containers (running ones at once).\n\n"
        "Options:\n"
        "  -m, --memory BYTES     memory limit (b, k, m, g suffixes; at least 6m)\n"
        "      --cpus N           number of CPUs (e.g. 0.5)\n"
        "      --pids-limit N     pids limit (-1 for unlimited)\n"
        "      --restart POLICY   no, on-failure[:N], always, unless-stopped\n";

static int parse_bytes(const char *s, int64_t *ret) {
        char *end;
        double v = strtod(s, &end);
        double mul = 1;

        if (end == s || v < 0)
                return -1;
        switch (tolower((unsigned char)*end)) {
        case '\0':
                break;
        case 'b':
                break;
        case 'k':
                mul = 1024.;
                break;
        case 'm':
                mul = 1024. * 1024;
                break;
        case 'g':
                mul = 1024. * 1024 * 1024;
                break;
        default:
                return -1;
        }
        if (*end && end[1] && !(tolower((unsigned char)end[1]) == 'b' && !end[2]))
                return -1;
        *ret = (int64_t)(v * mul);
        return 0;
}

static int cmd_update(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {{"memory", required_argument, NULL, 'm'},
                                             {"cpus", required_argument, NULL, 'c'},
                                             {"pids-limit", required_argument, NULL, 'p'},
                                             {"restart", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *body = json_object();
        int c, rc = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+hm:", opts, NULL)) != -1) {
                switch (c) {
                case 'm': {
                        int64_t v;

                        if (parse_bytes(optarg, &v) < 0) {
                                fprintf(stderr, "berth update: invalid --memory '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        json_object_set_new(body, "Memory", json_integer(v));
                        break;
                }
                case 'c': {
                        char *end;
                        double v = strtod(optarg, &end);

                        if (end == optarg || *end || v <= 0) {
                                fprintf(stderr, "berth update: invalid --cpus '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        json_object_set_new(body, "NanoCpus",
                                            json_integer((json_int_t)(v * 1e9 + 0.5)));
                        break;
                }
                case 'p': {
                        char *end;
                        long long v = strtoll(optarg, &end, 10);

                        if (end == optarg || *end || v < -1) {
                                fprintf(stderr, "berth update: invalid --pids-limit '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        json_object_set_new(body, "PidsLimit", json_integer(v));
                        break;
                }
                case 'r': {
                        const char *colon = strchr(optarg, ':');
                        _cleanup_free_ char *name =
                                colon ? xstrndup(optarg, (size_t)(colon - optarg))
                                      : xstrdup(optarg);
                        long long max = colon ? strtoll(colon + 1, NULL, 10) : 0;

                        json_object_set_new(body, "RestartPolicy",
                                            json_pack("{s:s,s:I}", "Name", name,
                                                      "MaximumRetryCount", (json_int_t)max));
                        break;
                }
                case 'h':
                        fputs(update_usage, stdout);
                        return 0;
                default:
                        fputs(update_usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "berth update: requires at least 1 container\n");
                fputs(update_usage, stderr);
                return EXIT_USAGE;
        }
        if (json_object_size(body) == 0) {
                fprintf(stderr, "berth update: nothing to update (--memory, --cpus, --pids-limit "
                                "or --restart)\n");
                return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *q = enc(argv[i]);
                _cleanup_free_ char *path = xasprintf("/v1/containers/%s/update", q);
                struct err *e = NULL;
                int r = client_call(ctx, "POST", path, body, NULL, &e);

                if (r < 0) {
                        rc = cli_report(e, client_exit_code(r));
                        continue;
                }
                puts(argv[i]);
        }
        return rc;
}

const struct cli_cmd cli_stats_cmds[] = {
        {"stats", "Display containers' resource usage", cmd_stats},
        {"update", "Update containers' limits and restart policy", cmd_update},
        {},
};
