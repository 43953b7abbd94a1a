/* SPDX-License-Identifier: Apache-2.0 */
/* Stack file commands that work offline: `berth config` (the normalised model, like
 * `docker compose config`) and `berth convert` (compose <-> Kubernetes). They never contact
 * the daemon. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "convert.h"
#include "json.h"
#include "log.h"
#include "stack.h"
#include "strv.h"
#include "xalloc.h"
#include "yaml_tree.h"

struct stack_args {
        char **files, **env_files, **profiles, **warnings;
        const char *project, *project_dir, *format;
        bool lenient;
};

static void stack_args_done(struct stack_args *a) {
        strv_free(a->files);
        strv_free(a->env_files);
        strv_free(a->profiles);
        strv_free(a->warnings);
}

enum {
        OPT_ENV_FILE = 0x100,
        OPT_PROFILE,
        OPT_FORMAT,
        OPT_SERVICES,
        OPT_VOLUMES,
        OPT_HASH,
        OPT_LENIENT,
        OPT_PROJECT_DIR,
        OPT_TO,
};

#define STACK_OPTS                                                                                 \
        {"file", required_argument, NULL, 'f'}, {"project-name", required_argument, NULL, 'p'},    \
                {"project-directory", required_argument, NULL, OPT_PROJECT_DIR},                   \
                {"env-file", required_argument, NULL, OPT_ENV_FILE},                               \
                {"profile", required_argument, NULL, OPT_PROFILE},                                 \
                {"lenient", no_argument, NULL, OPT_LENIENT},                                       \
                {"format", required_argument, NULL, OPT_FORMAT}, {                                 \
                "help", no_argument, NULL, 'h'                                                     \
        }

/* Handles an option every stack command shares; returns false for others. */
static bool stack_opt(struct stack_args *a, int c) {
        switch (c) {
        case 'f':
                strv_push(&a->files, optarg);
                return true;
        case 'p':
                a->project = optarg;
                return true;
        case OPT_PROJECT_DIR:
                a->project_dir = optarg;
                return true;
        case OPT_ENV_FILE:
                strv_push(&a->env_files, optarg);
                return true;
        case OPT_PROFILE:
                strv_push(&a->profiles, optarg);
                return true;
        case OPT_LENIENT:
                a->lenient = true;
                return true;
        case OPT_FORMAT:
                a->format = optarg;
                return true;
        default:
                return false;
        }
}

static int stack_args_load(struct stack_args *a, json_t **ret) {
        struct stack_load_opts o = {
                .files = a->files,
                .project_name = a->project,
                .project_dir = a->project_dir,
                .env_files = a->env_files,
                .profiles = a->profiles,
                .lenient = a->lenient,
                .ret_warnings = &a->warnings,
        };
        struct err *e = NULL;
        int r;

        r = stack_load(&o, ret, &e);
        STRV_FOREACH (w, a->warnings)
                log_warn(NULL, "%s", *w);
        if (r < 0)
                return cli_report(e, EXIT_USAGE);
        return 0;
}

static int print_json_or_yaml(const json_t *j, const char *format) {
        struct err *e = NULL;
        _cleanup_free_ char *out = NULL;

        if (streq(format, "json"))
                out = json_dumps(j, JSON_INDENT(2));
        else if (yaml_emit_json(j, &out, &e) < 0)
                return cli_report(e, EXIT_BERTH_FAILED);
        fputs(out, stdout);
        if (streq(format, "json"))
                fputc('\n', stdout);
        return 0;
}

static void config_usage(FILE *f) {
        fprintf(f, "Usage: berth config [OPTIONS]\n\n"
                   "Load, validate and print the normalised stack model.\n\n"
                   "Options:\n"
                   "  -f, --file FILE           compose file or Kubernetes manifest (repeatable)\n"
                   "  -p, --project-name NAME   project name\n"
                   "      --project-directory D  base directory for relative paths\n"
                   "      --env-file FILE       environment file for interpolation (repeatable)\n"
                   "      --profile NAME        enable a profile (repeatable)\n"
                   "      --format json|yaml    output format (default yaml)\n"
                   "      --services            print the service names\n"
                   "      --volumes             print the volume names\n"
                   "      --hash SERVICE|*      print the pod hash of services\n"
                   "      --lenient             Kubernetes: unsupported fields are warnings\n"
                   "  -q, --quiet               only validate\n");
}

static int cmd_config(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                STACK_OPTS,
                {"services", no_argument, NULL, OPT_SERVICES},
                {"volumes", no_argument, NULL, OPT_VOLUMES},
                {"hash", required_argument, NULL, OPT_HASH},
                {"quiet", no_argument, NULL, 'q'},
                {},
        };
        _cleanup_(stack_args_done) struct stack_args a = {.format = "yaml"};
        _cleanup_json_ json_t *model = NULL;
        bool services = false, volumes = false, quiet = false;
        const char *hash = NULL, *name;
        json_t *v;
        int c, r;

        if (ctx->format && (streq(ctx->format, "json") || streq(ctx->format, "yaml")))
                a.format = ctx->format;
        while ((c = getopt_long(argc, argv, "f:p:qh", opts, NULL)) != -1) {
                if (stack_opt(&a, c))
                        continue;
                switch (c) {
                case OPT_SERVICES:
                        services = true;
                        break;
                case OPT_VOLUMES:
                        volumes = true;
                        break;
                case OPT_HASH:
                        hash = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        config_usage(stdout);
                        return 0;
                default:
                        config_usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                log_error(NULL, "config: unexpected argument '%s'", argv[optind]);
                return EXIT_USAGE;
        }
        if (!streq(a.format, "json") && !streq(a.format, "yaml")) {
                log_error(NULL, "config: invalid --format '%s' (expected json or yaml)", a.format);
                return EXIT_USAGE;
        }
        r = stack_args_load(&a, &model);
        if (r != 0)
                return r;
        if (quiet)
                return 0;
        if (services) {
                json_object_foreach (json_object_get(model, "services"), name, v)
                        puts(name);
                return 0;
        }
        if (volumes) {
                json_object_foreach (json_object_get(model, "volumes"), name, v)
                        puts(name);
                return 0;
        }
        if (hash) {
                bool found = false;
                json_object_foreach (json_object_get(model, "services"), name, v)
                        if (streq(hash, "*") || streq(hash, name)) {
                                printf("%s %s\n", name,
                                       json_string_value(json_object_get(v, "hash")));
                                found = true;
                        }
                if (!found) {
                        log_error(NULL, "config: no such service '%s'", hash);
                        return EXIT_USAGE;
                }
                return 0;
        }
        return print_json_or_yaml(model, a.format);
}

static void convert_usage(FILE *f) {
        fprintf(f, "Usage: berth convert --to kube|compose [OPTIONS]\n\n"
                   "Convert a stack between compose and Kubernetes manifests.\n\n"
                   "Options:\n"
                   "      --to kube|compose     target format\n"
                   "  -f, --file FILE           input file (repeatable)\n"
                   "  -p, --project-name NAME   project name\n"
                   "      --env-file FILE       environment file for interpolation\n"
                   "      --profile NAME        enable a profile\n"
                   "      --lenient             Kubernetes: unsupported fields are warnings\n");
}

static int cmd_convert(const struct cli_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {
                STACK_OPTS,
                {"to", required_argument, NULL, OPT_TO},
                {},
        };
        _cleanup_(stack_args_done) struct stack_args a = {.format = "yaml"};
        _cleanup_json_ json_t *model = NULL;
        _cleanup_free_ char *text = NULL;
        const char *to = NULL;
        struct err *e = NULL;
        int c, r;

        (void)ctx;
        while ((c = getopt_long(argc, argv, "f:p:h", opts, NULL)) != -1) {
                if (stack_opt(&a, c))
                        continue;
                switch (c) {
                case OPT_TO:
                        to = optarg;
                        break;
                case 'h':
                        convert_usage(stdout);
                        return 0;
                default:
                        convert_usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (!to || (!streq(to, "kube") && !streq(to, "compose"))) {
                log_error(NULL, "convert: --to must be 'kube' or 'compose'");
                return EXIT_USAGE;
        }
        if (optind < argc) {
                log_error(NULL, "convert: unexpected argument '%s'", argv[optind]);
                return EXIT_USAGE;
        }
        r = stack_args_load(&a, &model);
        if (r != 0)
                return r;
        if (streq(to, "kube"))
                r = convert_to_kube(model, &text, &e);
        else
                r = convert_to_compose(model, &text, &e);
        if (r < 0)
                return cli_report(e, EXIT_USAGE);
        fputs(text, stdout);
        return 0;
}

const struct cli_cmd cli_stacks_cmds[] = {
        {"config", "Validate and print the normalised stack model", cmd_config},
        {"convert", "Convert a stack between compose and Kubernetes", cmd_convert},
        {},
};
