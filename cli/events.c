/* SPDX-License-Identifier: Apache-2.0 */
/* berth events: the daemon's event stream, with docker's flags and output. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "http_request.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

static const char events_usage[] =
        "Usage: berth events [OPTIONS]\n\n"
        "Get real-time events from the daemon.\n\n"
        "Options:\n"
        "  -f, --filter KEY=VALUE  filter output (type, event, container, image, network,\n"
        "                          volume, label); repeatable\n"
        "      --format FORMAT     json, or a template such as '{{.Action}}'\n"
        "      --since TIME        show events since TIME (RFC 3339, Unix time, or a duration\n"
        "                          like 10m before now)\n"
        "      --until TIME        stream events until TIME\n";

struct events_out {
        const char *format;
        int err;
};

static void print_default(const json_t *ev) {
        json_t *actor = json_object_get(ev, "Actor");
        json_t *attrs = json_object_get(actor, "Attributes");
        json_int_t ns = json_integer_value(json_object_get(ev, "timeNano"));
        time_t sec = (time_t)(ns / 1000000000);
        struct tm tm;
        char tbuf[32];
        const char *k;
        json_t *v;
        bool first = true;

        gmtime_r(&sec, &tm);
        strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
        printf("%s.%09lldZ %s %s %s", tbuf, (long long)(ns % 1000000000),
               json_get_str(ev, "Type", ""), json_get_str(ev, "Action", ""),
               json_get_str(actor, "ID", ""));
        if (json_object_size(attrs) > 0) {
                printf(" (");
                json_object_foreach (attrs, k, v) {
                        printf("%s%s=%s", first ? "" : ", ", k,
                               json_is_string(v) ? json_string_value(v) : "");
                        first = false;
                }
                printf(")");
        }
        printf("\n");
}

static int on_line(const char *line, size_t len, void *ud) {
        struct events_out *o = ud;
        _cleanup_json_ json_t *ev = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (len == 0)
                return 0;
        if (json_parse(line, len, "event", &ev, &e) < 0) {
                o->err = cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
                return -EPROTO;
        }
        if (o->format && strcmp(o->format, "table") != 0) {
                if (fmt_print_one(stdout, o->format, ev, &e) < 0) {
                        o->err = cli_report(TAKE_PTR(e), EXIT_USAGE);
                        return -EINVAL;
                }
        } else
                print_default(ev);
        fflush(stdout);
        return 0;
}

/* Turns "k=v" filters into docker's JSON {"k":["v",...]}. */
static int filters_json(char **filters, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *j = json_object();

        STRV_FOREACH (f, filters) {
                const char *eq = strchr(*f, '=');
                _cleanup_free_ char *k = NULL;
                json_t *arr;

                if (!eq || eq == *f || !eq[1])
                        return err_setx(errp, EINVAL,
                                        "invalid argument '%s' for '--filter': expected "
                                        "KEY=VALUE",
                                        *f);
                k = xstrndup(*f, (size_t)(eq - *f));
                arr = json_object_get(j, k);
                if (!arr)
                        json_object_set_new(j, k, arr = json_array());
                json_array_append_new(arr, json_string(eq + 1));
        }
        *ret = TAKE_PTR(j);
        return 0;
}

static int cmd_events(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                {"filter", required_argument, NULL, 'f'}, {"format", required_argument, NULL, 'F'},
                {"since", required_argument, NULL, 's'},  {"until", required_argument, NULL, 'u'},
                {"help", no_argument, NULL, 'h'},         {},
        };
        _cleanup_strv_ char **filters = NULL;
        _cleanup_json_ json_t *fj = NULL;
        _cleanup_free_ char *path = NULL, *fs = NULL, *q_since = NULL, *q_until = NULL,
                            *q_filters = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *since = NULL, *until = NULL;
        struct events_out out = {.format = ctx->format};
        int c, r;

        while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        strv_push(&filters, optarg);
                        break;
                case 'F':
                        out.format = optarg;
                        break;
                case 's':
                        since = optarg;
                        break;
                case 'u':
                        until = optarg;
                        break;
                case 'h':
                        fputs(events_usage, stdout);
                        return 0;
                default:
                        fputs(events_usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berth: 'events' takes no arguments\n%s", events_usage);
                return EXIT_USAGE;
        }
        r = filters_json(filters, &fj, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        fs = json_dump_str(fj, false);
        q_since = http_escape(since ? since : "");
        q_until = http_escape(until ? until : "");
        q_filters = http_escape(fs);
        path = xasprintf("/v1/events?since=%s&until=%s&filters=%s", q_since, q_until, q_filters);
        r = client_stream(ctx, "GET", path, NULL, on_line, &out, &e);
        if (out.err)
                return out.err;
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

const struct cli_cmd cli_events_cmds[] = {
        {"events", "Get real-time events from the daemon", cmd_events},
        {},
};
