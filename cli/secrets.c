/* SPDX-License-Identifier: Apache-2.0 */
/* Secret and config commands (docker's names, flags and columns): secret create, ls, inspect,
 * rm and the same for config. The objects live in the controller (orchestrator/secrets.c);
 * stacks use them with `external: true`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "args.h"
#include "cli.h"
#include "client.h"
#include "fileio.h"
#include "format.h"
#include "http_request.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define VALUE_MAX (500u * 1024u) /* the controller's limit (SECRET_DATA_MAX) */

struct kind {
        const char *word;   /* secret */
        const char *prefix; /* /v1/secrets */
        const char *table;  /* default ls table */
};

static const struct kind secret_kind = {
        "secret", "/v1/secrets",
        "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Created}}\\t{{.Updated}}"};
static const struct kind config_kind = {"config", "/v1/configs",
                                        "table {{.ID}}\\t{{.Name}}\\t{{.Created}}\\t{{.Updated}}"};

/* The value from path, or from stdin for "-"; at most VALUE_MAX bytes. */
static int read_value(const char *what, const char *path, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        if (!streq(path, "-")) {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "berth: Failed to read the %s value from '%s': %s\n", what,
                                path, strerror(errno));
                        return -1;
                }
        }
        buf = xmalloc(VALUE_MAX + 2);
        n = fd_read_full(fd >= 0 ? fd : STDIN_FILENO, buf, VALUE_MAX + 1);
        if (n < 0) {
                fprintf(stderr, "berth: Failed to read the %s value from '%s': %s\n", what,
                        streq(path, "-") ? "stdin" : path, strerror((int)-n));
                return -1;
        }
        if (n == 0 || (size_t)n > VALUE_MAX) {
                fprintf(stderr, "berth: %s data from '%s' must be 1 byte to %u KiB%s\n", what,
                        streq(path, "-") ? "stdin" : path, VALUE_MAX / 1024,
                        n == 0 ? " (it is empty)" : " (it is larger)");
                return -1;
        }
        *ret_len = (size_t)n;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int cmd_create(const struct cli_ctx *ctx, const struct kind *k, int argc, char **argv) {
        _cleanup_free_ char *usage =
                xasprintf("Usage: berth %s create [OPTIONS] %s FILE|-\n\n"
                          "Create a %s from a file or from stdin (-) as its content.\n\n"
                          "Options:\n"
                          "  -l, --label K=V  metadata\n"
                          "  -h, --help       this help\n",
                          k->word, k->word[0] == 's' ? "SECRET" : "CONFIG", k->word);
        static const struct option opts[] = {
                {"label", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_json_ json_t *labels = json_object(), *ans = NULL, *body = NULL;
        _cleanup_free_ char *value = NULL, *b64 = NULL, *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1)
                switch (c) {
                case 'l': {
                        const char *eq = strchr(optarg, '=');
                        _cleanup_free_ char *key = NULL;

                        key = eq ? xstrndup(optarg, (size_t)(eq - optarg)) : xstrdup(optarg);
                        if (!*key) {
                                fprintf(stderr,
                                        "berth: invalid argument '%s' for '--label': expected "
                                        "KEY=VALUE\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
                        break;
                }
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 2)
                return USAGE_ERROR(usage, "'%s create' requires exactly 2 arguments", k->word);
        if (read_value(k->word, argv[optind + 1], &value, &len) < 0)
                return 1;
        b64 = base64_encode(value, len);
        explicit_bzero(value, len);
        body = json_pack("{s:s, s:O, s:s}", "Name", argv[optind], "Labels", labels, "Data", b64);
        explicit_bzero(b64, strlen(b64));
        path = xasprintf("%s/create", k->prefix);
        r = client_call(ctx, "POST", path, body, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        printf("%s\n", json_get_str(ans, "ID", ""));
        return 0;
}

static char *since(const char *when) {
        struct tm tm = {};
        long d;

        if (!when || !strptime(when, "%Y-%m-%dT%H:%M:%S", &tm))
                return xstrdup("N/A");
        d = (long)(time(NULL) - timegm(&tm));
        if (d < 60)
                return xstrdup("Less than a minute ago");
        if (d < 3600)
                return xasprintf("%ld minutes ago", d / 60);
        if (d < 86400)
                return xasprintf("%ld hours ago", d / 3600);
        return xasprintf("%ld days ago", d / 86400);
}

/* The fields docker's `secret ls`/`config ls` templates know. */
static json_t *ls_item(const json_t *doc) {
        const json_t *spec = json_object_get(doc, "Spec"), *v;
        _cleanup_free_ char *created = since(json_get_str(doc, "CreatedAt", NULL));
        _cleanup_free_ char *updated = since(json_get_str(doc, "UpdatedAt", NULL));
        _cleanup_strv_ char **labels = NULL;
        _cleanup_free_ char *ls = NULL;
        const char *lk;

        json_object_foreach ((json_t *)json_object_get(spec, "Labels"), lk, v)
                strv_push_take(
                        &labels,
                        xasprintf("%s=%s", lk, json_string_value(v) ? json_string_value(v) : ""));
        ls = labels ? strv_join(labels, ",") : xstrdup("");
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                         json_get_str(doc, "ID", ""), "Name", json_get_str(spec, "Name", ""),
                         "Driver", json_get_str(spec, "Driver", ""), "CreatedAt", created,
                         "UpdatedAt", updated, "Created", created, "Updated", updated, "Labels",
                         ls);
}

static const char *const filter_keys[] = {"name", "label", "id", NULL};

static int cmd_ls(const struct cli_ctx *ctx, const struct kind *k, int argc, char **argv) {
        _cleanup_free_ char *usage =
                xasprintf("Usage: berth %s ls [OPTIONS]\n\n"
                          "List %ss.\n\n"
                          "Options:\n"
                          "  -f, --filter K=V     name=, label=K[=V], id=\n"
                          "      --format FORMAT  table (default), json, or a template\n"
                          "  -q, --quiet          only show IDs\n"
                          "  -h, --help           this help\n",
                          k->word, k->word);
        static const struct option opts[] = {{"filter", required_argument, NULL, 'f'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_json_ json_t *ans = NULL, *filters = json_object(), *items = json_array();
        _cleanup_free_ char *path = NULL, *fs = NULL, *fenc = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *format = ctx->format;
        bool quiet = false;
        json_t *v;
        size_t i;
        int c, r;

        while ((c = getopt_long(argc, argv, "f:qh", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        if (cli_filter_add(filters, optarg, filter_keys, "name, label or id") < 0)
                                return EXIT_USAGE;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (optind < argc)
                return USAGE_ERROR(usage, "'%s ls' accepts no arguments", k->word);
        fs = json_dumps(filters, JSON_COMPACT);
        fenc = http_escape(fs ? fs : "{}");
        path = xasprintf("%s?filters=%s", k->prefix, fenc);
        r = client_call(ctx, "GET", path, NULL, &ans, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (quiet) {
                json_array_foreach (ans, i, v)
                        printf("%s\n", json_get_str(v, "ID", ""));
                return 0;
        }
        json_array_foreach (ans, i, v)
                json_array_append_new(items, ls_item(v));
        if (format && streq(format, "json")) {
                /* docker: one object per line */
                json_array_foreach (items, i, v) {
                        _cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                        printf("%s\n", s ? s : "{}");
                }
                return 0;
        }
        r = fmt_print_list(stdout, format, k->table, items, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_USAGE);
        return 0;
}

static int cmd_inspect(const struct cli_ctx *ctx, const struct kind *k, int argc, char **argv) {
        _cleanup_free_ char *usage = xasprintf(
                "Usage: berth %s inspect [OPTIONS] %s [%s...]\n\n"
                "Display detailed information on one or more %ss%s.\n\n"
                "Options:\n"
                "  -f, --format FORMAT  a template, or json (default)\n"
                "  -h, --help           this help\n",
                k->word, k->word[0] == 's' ? "SECRET" : "CONFIG",
                k->word[0] == 's' ? "SECRET" : "CONFIG", k->word,
                k->word[0] == 's' ? " (never their value)" : " (Spec.Data is the base64 content)");
        _cleanup_free_ char *what = xasprintf("%s inspect", k->word);

        return client_inspect_each(ctx, argc, argv, usage, what, k->prefix);
}

static int cmd_rm(const struct cli_ctx *ctx, const struct kind *k, int argc, char **argv) {
        _cleanup_free_ char *usage =
                xasprintf("Usage: berth %s rm %s [%s...]\n\n"
                          "Remove one or more %ss (refused while a stack uses it).\n\n"
                          "Options:\n"
                          "  -h, --help  this help\n",
                          k->word, k->word[0] == 's' ? "SECRET" : "CONFIG",
                          k->word[0] == 's' ? "SECRET" : "CONFIG", k->word);
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind < 1)
                return USAGE_ERROR(usage, "'%s rm' requires at least 1 argument", k->word);
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *id = http_escape(argv[i]);
                _cleanup_free_ char *path = xasprintf("%s/%s", k->prefix, id);
                _cleanup_err_ struct err *e = NULL;
                int r = client_call(ctx, "DELETE", path, NULL, NULL, &e);

                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(r));
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return rc;
}

static int secret_create(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_create(ctx, &secret_kind, argc, argv);
}
static int secret_ls(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_ls(ctx, &secret_kind, argc, argv);
}
static int secret_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_inspect(ctx, &secret_kind, argc, argv);
}
static int secret_rm(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_rm(ctx, &secret_kind, argc, argv);
}
static int config_create(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_create(ctx, &config_kind, argc, argv);
}
static int config_ls(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_ls(ctx, &config_kind, argc, argv);
}
static int config_inspect(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_inspect(ctx, &config_kind, argc, argv);
}
static int config_rm(const struct cli_ctx *ctx, int argc, char **argv) {
        return cmd_rm(ctx, &config_kind, argc, argv);
}

const struct cli_cmd cli_secret_cmds[] = {
        {"secret create", "Create a secret from a file or STDIN as content", secret_create},
        {"secret ls", "List secrets", secret_ls},
        {"secret inspect", "Display detailed information on one or more secrets", secret_inspect},
        {"secret rm", "Remove one or more secrets", secret_rm},
        {"config create", "Create a config from a file or STDIN", config_create},
        {"config ls", "List configs", config_ls},
        {"config inspect", "Display detailed information on one or more configs", config_inspect},
        {"config rm", "Remove one or more configs", config_rm},
        {},
};
