/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "client.h"
#include "format.h"
#include "http_request.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define CALL_TIMEOUT_MS (5L * 60L * 1000L)

static struct http_target target_of(const struct cli_ctx *ctx) {
        return (struct http_target){
                .host = ctx->host,
                .tls_cert = ctx->tls_cert,
                .tls_key = ctx->tls_key,
                .tls_ca = ctx->tls_ca,
        };
}

static int errno_for_status(long status) {
        switch (status) {
        case 400:
                return EINVAL;
        case 403:
                return EACCES;
        case 404:
                return ENOENT;
        case 409:
                return EEXIST;
        case 413:
                return EFBIG;
        case 408:
        case 504:
                return ETIMEDOUT;
        default:
                return EIO;
        }
}

/* Turns a non-2xx answer into an error carrying the API's message. */
static int api_error(const struct http_response *resp, struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        const char *msg = NULL, *field = NULL;
        int code = errno_for_status(resp->status), r;

        if (json_parse(resp->body, resp->body_len, "response", &j, NULL) >= 0) {
                json_t *e = json_object_get(j, "error");
                msg = json_get_str(e, "message", NULL);
                field = json_get_str(e, "field", NULL);
        }
        if (msg)
                r = err_setx(errp, code, "%s", msg);
        else
                r = err_setx(errp, code, "daemon answered %ld %.*s", resp->status,
                             (int)MIN(resp->body_len, (size_t)200), resp->body);
        if (field)
                err_set_field(errp, field);
        return r;
}

static int do_call(const struct cli_ctx *ctx, const struct http_call *call,
                   struct http_response *ret, struct err **errp) {
        struct http_target t = target_of(ctx);
        struct http_response resp = {};
        _cleanup_err_ struct err *e = NULL;
        int r;

        r = ctx->http->request(&t, call, &resp, &e);
        if (r == -ECONNREFUSED)
                return err_setx(errp, ECONNREFUSED,
                                "Cannot connect to the berth daemon at %s: is 'berth daemon' "
                                "running?",
                                ctx->host);
        if (r < 0)
                return err_move(errp, TAKE_PTR(e));
        if (resp.status < 200 || resp.status > 299) {
                r = api_error(&resp, errp);
                http_response_done(&resp);
                return r;
        }
        *ret = resp;
        return 0;
}

int client_call_raw(const struct cli_ctx *ctx, const char *method, const char *path,
                    const json_t *body, struct http_response *ret, struct err **errp) {
        _cleanup_free_ char *b = body ? json_dump_str(body, false) : NULL;
        struct http_call call = {
                .method = method,
                .path = path,
                .body = b,
                .body_len = b ? strlen(b) : 0,
                .timeout_ms = CALL_TIMEOUT_MS,
        };

        return do_call(ctx, &call, ret, errp);
}

int client_call(const struct cli_ctx *ctx, const char *method, const char *path, const json_t *body,
                json_t **ret, struct err **errp) {
        struct http_response resp = {};
        json_t *j = NULL;
        int r;

        r = client_call_raw(ctx, method, path, body, &resp, errp);
        if (r < 0)
                return r;
        if (ret && resp.body_len > 0) {
                r = json_parse(resp.body, resp.body_len, "daemon response", &j, errp);
                if (r < 0) {
                        http_response_done(&resp);
                        return r;
                }
        }
        http_response_done(&resp);
        if (ret)
                *ret = j;
        return 0;
}

int client_stream(const struct cli_ctx *ctx, const char *method, const char *path,
                  const json_t *body, http_line_fn *on_line, void *ud, struct err **errp) {
        _cleanup_free_ char *b = body ? json_dump_str(body, false) : NULL;
        struct http_call call = {
                .method = method,
                .path = path,
                .body = b,
                .body_len = b ? strlen(b) : 0,
                .on_line = on_line,
                .ud = ud,
        };
        struct http_response resp = {};
        int r;

        r = do_call(ctx, &call, &resp, errp);
        http_response_done(&resp);
        return r;
}

int client_upload(const struct cli_ctx *ctx, const char *method, const char *path, int fd,
                  const char *content_type, json_t **ret, struct err **errp) {
        struct http_call call = {
                .method = method,
                .path = path,
                .content_type = content_type,
                .stream_body = true,
                .body_fd = fd,
        };
        struct http_response resp = {};
        json_t *j = NULL;
        int r;

        r = do_call(ctx, &call, &resp, errp);
        if (r < 0)
                return r;
        if (ret && resp.body_len > 0) {
                r = json_parse(resp.body, resp.body_len, "daemon response", &j, errp);
                if (r < 0) {
                        http_response_done(&resp);
                        return r;
                }
        }
        http_response_done(&resp);
        if (ret)
                *ret = j;
        return 0;
}

int client_upgrade(const struct cli_ctx *ctx, const char *method, const char *path,
                   const json_t *body, struct http_raw **ret, bool *ret_upgraded,
                   struct err **errp) {
        _cleanup_free_ char *b = body ? json_dump_str(body, false) : NULL;
        struct http_target t = target_of(ctx);
        struct http_response resp = {};
        _cleanup_err_ struct err *e = NULL;
        struct http_raw *raw = NULL;
        int r;

        r = ctx->http->upgrade(&t,
                               &(struct http_call){.method = method,
                                                   .path = path,
                                                   .body = b,
                                                   .body_len = b ? strlen(b) : 0,
                                                   .timeout_ms = CALL_TIMEOUT_MS},
                               &raw, &resp, &e);
        if (r == -ECONNREFUSED)
                return err_setx(errp, ECONNREFUSED,
                                "Cannot connect to the berth daemon at %s: is 'berth daemon' "
                                "running?",
                                ctx->host);
        if (r < 0)
                return err_move(errp, TAKE_PTR(e));
        if (!raw) {
                r = api_error(&resp, errp);
                http_response_done(&resp);
                return r;
        }
        if (ret_upgraded)
                *ret_upgraded = resp.status == 101;
        http_response_done(&resp);
        *ret = raw;
        return 0;
}

int client_exit_code(int r) {
        switch (-r) {
        case EINVAL:
        case ENOENT:
        case EEXIST:
        case EACCES:
        case EFBIG:
                return 1;
        default:
                return EXIT_BERTH_FAILED;
        }
}

int client_inspect_each(const struct cli_ctx *ctx, int argc, char **argv, const char *usage,
                        const char *what, const char *prefix) {
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {}};
        _cleanup_json_ json_t *all = json_array();
        _cleanup_err_ struct err *fe = NULL;
        const char *format = ctx->format;
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind < 1) {
                fprintf(stderr, "berth: '%s' requires at least 1 argument\n%s", what, usage);
                return EXIT_USAGE;
        }
        for (int k = optind; k < argc; k++) {
                _cleanup_free_ char *id = http_escape(argv[k]);
                _cleanup_free_ char *path = xasprintf("%s/%s", prefix, id);
                _cleanup_err_ struct err *e = NULL;
                json_t *ans = NULL;
                int r = client_call(ctx, "GET", path, NULL, &ans, &e);

                if (r < 0) {
                        rc = cli_report(TAKE_PTR(e), client_exit_code(r));
                        continue;
                }
                json_array_append_new(all, ans);
        }
        if (fmt_print_all(stdout, format, all, &fe) < 0)
                return cli_report(TAKE_PTR(fe), EXIT_USAGE);
        return rc;
}
