/* SPDX-License-Identifier: Apache-2.0 */
/* System commands: version, info. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "json.h"
#include "strv.h"
#include "version.h"

/* Parses the options every read-only system command takes: -f/--format and -h/--help. */
static int parse_format_opts(const struct cli_ctx *ctx, int argc, char **argv, const char *usage,
                             const char **ret_format) {
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        *ret_format = ctx->format;
        while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        *ret_format = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return -EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berth: unexpected argument '%s'\n%s", argv[optind], usage);
                return -EXIT_USAGE;
        }
        return 1;
}

static json_t *client_version_json(void) {
        struct utsname u;

        uname(&u);
        return json_pack("{s:s,s:s,s:s,s:s,s:s}", "Version", berth_version, "ApiVersion",
                         BERTH_API_VERSION, "GitCommit", berth_commit, "Os", "linux", "Arch",
                         u.machine);
}

static void print_part(const char *title, const json_t *j) {
        printf("%s:\n", title);
        printf(" Version:       %s\n", json_get_str(j, "Version", ""));
        printf(" API version:   %s\n", json_get_str(j, "ApiVersion", ""));
        printf(" Git commit:    %s\n", json_get_str(j, "GitCommit", ""));
        printf(" OS/Arch:       %s/%s\n", json_get_str(j, "Os", ""), json_get_str(j, "Arch", ""));
        if (json_object_get(j, "KernelVersion"))
                printf(" Kernel:        %s\n", json_get_str(j, "KernelVersion", ""));
}

static int cmd_version(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth version [--format FORMAT]\n\n"
                "Show the berth version information of the client and, when it answers, the "
                "daemon.\n\n"
                "Options:\n"
                "  -f, --format FORMAT  json, or a template such as '{{.Server.Version}}'\n"
                "  -h, --help           this help\n";
        _cleanup_json_ json_t *all = NULL, *server = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *format;
        int r;

        r = parse_format_opts(ctx, argc, argv, usage, &format);
        if (r <= 0)
                return -r;
        all = json_pack("{s:o}", "Client", client_version_json());
        r = client_call(ctx, "GET", "/v1/version", NULL, &server, &e);
        json_object_set(all, "Server", server ? server : json_null());

        if (format && !streq(format, "table")) {
                _cleanup_err_ struct err *fe = NULL;
                int k = fmt_print_one(stdout, format, all, &fe);
                if (k < 0)
                        return cli_report(TAKE_PTR(fe), EXIT_USAGE);
        } else {
                print_part("Client", json_object_get(all, "Client"));
                if (server) {
                        printf("\n");
                        print_part("Server", server);
                }
        }
        fflush(stdout);
        if (r < 0)
                return cli_report(TAKE_PTR(e), 1);
        return 0;
}

static void print_strings(const char *title, const json_t *a) {
        size_t i;
        json_t *v;

        printf(" %s:\n", title);
        json_array_foreach (a, i, v)
                printf("  %s\n", json_is_string(v) ? json_string_value(v) : "");
}

static int cmd_info(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth info [--format FORMAT]\n\n"
                "Display system-wide information from the daemon.\n\n"
                "Options:\n"
                "  -f, --format FORMAT  json, or a template such as '{{.CgroupMode}}'\n"
                "  -h, --help           this help\n";
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *format;
        int r;

        r = parse_format_opts(ctx, argc, argv, usage, &format);
        if (r <= 0)
                return -r;
        r = client_call(ctx, "GET", "/v1/info", NULL, &j, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        r = fmt_print_one(stdout, format, j, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        if (r > 0)
                return 0;

        printf("Server:\n");
        printf(" Containers:        %lld\n", (long long)json_get_int(j, "Containers", 0));
        printf(" Images:            %lld\n", (long long)json_get_int(j, "Images", 0));
        printf(" Networks:          %lld\n", (long long)json_get_int(j, "Networks", 0));
        printf(" Volumes:           %lld\n", (long long)json_get_int(j, "Volumes", 0));
        printf(" Server Version:    %s\n", json_get_str(j, "ServerVersion", ""));
        printf(" API Version:       %s\n", json_get_str(j, "ApiVersion", ""));
        printf(" Storage Driver:    %s\n", json_get_str(j, "StorageDriver", ""));
        printf(" Cgroup Driver:     %s\n", json_get_str(j, "CgroupDriver", ""));
        printf(" Cgroup Version:    %s\n", json_get_str(j, "CgroupMode", ""));
        print_strings("Security Options", json_object_get(j, "SecurityOptions"));
        printf(" Kernel Version:    %s\n", json_get_str(j, "KernelVersion", ""));
        printf(" Operating System:  %s\n", json_get_str(j, "OperatingSystem", ""));
        printf(" Architecture:      %s\n", json_get_str(j, "Architecture", ""));
        printf(" CPUs:              %lld\n", (long long)json_get_int(j, "NCPU", 0));
        printf(" Total Memory:      %.1fGiB\n",
               (double)json_get_int(j, "MemTotal", 0) / (1024.0 * 1024.0 * 1024.0));
        printf(" Name:              %s\n", json_get_str(j, "Name", ""));
        printf(" Root Dir:          %s\n", json_get_str(j, "RootDir", ""));
        printf(" Run Dir:           %s\n", json_get_str(j, "RunDir", ""));
        printf(" Daemon PID:        %lld\n", (long long)json_get_int(j, "Pid", 0));
        return 0;
}

const struct cli_cmd cli_system_cmds[] = {
        {"version", "Show the berth version information", cmd_version},
        {"info", "Display system-wide information", cmd_info},
        {},
};
