/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "cluster_proxy.h"
#include "json.h"
#include "uhttp.h"
#include "xalloc.h"

bool cluster_may_have(const struct err *e) {
        return e && strstr(err_msg(e), "No such container");
}

int cluster_stream(const struct cli_ctx *ctx, const char *container, const char *method,
                   const char *path, const json_t *body, http_line_fn *on_line, void *ud,
                   struct err **errp) {
        _cleanup_json_ json_t *req = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        req = json_pack("{s:s, s:s, s:s}", "container", container, "method", method, "path", path);
        if (body) {
                text = json_dump_str(body, false);
                json_object_set_new(req, "body", json_string(text));
        }
        r = client_stream(ctx, "POST", "/v1/cluster/proxy", req, on_line, ud, errp);
        if (r == -ENOENT || r == -EOPNOTSUPP) {
                /* A daemon without a controller has no such route: the container is simply not
                 * there. Keep the controller's message when it gave one. */
                if (!*errp || !strstr(err_msg(*errp), "No such container")) {
                        err_freep(errp);
                        return err_setx(errp, ENOENT, "No such container: %s", container);
                }
        }
        return r;
}

/* ---- streams: the tunnel transport ----
 *
 * The CLI runs one command per process, so the container a cluster context is for is kept here
 * (the transport's calls carry only the target and the call). */
static const struct http_transport *tun_base;
static char *tun_container;

#define TUN_HEAD_TIMEOUT_MS 30000
#define TUN_BUF (64u * 1024u)

static int64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* POST /v1/cluster/proxy, upgraded: *ret_raw carries the node engine's verbatim answer to
 * call. Without a stream, ret_resp holds the controller's own (error) answer. */
static int tun_open(const struct http_target *t, const struct http_call *call, bool upgrade,
                    struct http_raw **ret_raw, struct http_response *ret_resp, struct err **errp) {
        _cleanup_json_ json_t *spec = NULL;
        _cleanup_free_ char *text = NULL;

        spec = json_pack("{s:s, s:s, s:s, s:b}", "container", tun_container, "method",
                         call->method ? call->method
                         : upgrade    ? "POST"
                                      : "GET",
                         "path", call->path ? call->path : "/", "upgrade", upgrade);
        if (call->body)
                json_object_set_new(spec, "body", json_stringn(call->body, call->body_len));
        text = json_dump_str(spec, false);
        return tun_base->upgrade(t,
                                 &(struct http_call){.method = "POST",
                                                     .path = "/v1/cluster/proxy",
                                                     .body = text,
                                                     .body_len = strlen(text),
                                                     .timeout_ms = TUN_HEAD_TIMEOUT_MS},
                                 ret_raw, ret_resp, errp);
}

/* Reads the node's answer from raw into p until it is complete (for an upgrade: its head).
 * The bytes behind it stay in buf[*ret_off, *ret_len). timeout_ms 0: no deadline (a stream). */
static int tun_read(struct http_raw *raw, struct uhttp_resp *p, long timeout_ms, char *buf,
                    size_t *ret_off, size_t *ret_len, struct err **errp) {
        int64_t deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;

        *ret_off = *ret_len = 0;
        while (!uhttp_resp_done(p)) {
                ssize_t n = http_raw_recv(raw, buf, TUN_BUF), k;

                if (n == -EAGAIN) {
                        struct pollfd pf = {.fd = http_raw_fd(raw), .events = POLLIN};
                        int64_t left = deadline ? deadline - mono_ms() : -1;

                        if (deadline && left <= 0)
                                return err_setx(errp, ETIMEDOUT,
                                                "the node did not answer within %ld ms",
                                                timeout_ms);
                        if (poll(&pf, 1, left > INT32_MAX ? INT32_MAX : (int)left) < 0 &&
                            errno != EINTR)
                                return err_set(errp, errno, "poll");
                        continue;
                }
                if (n < 0)
                        n = 0; /* a reset: the parser says whether the answer was complete */
                k = uhttp_resp_feed(p, buf, (size_t)n, errp);
                if (k < 0)
                        return (int)k;
                if (n == 0 && !uhttp_resp_done(p))
                        return err_setx(errp, ECONNRESET, "the node's answer was cut short");
                *ret_off = (size_t)k;
                *ret_len = (size_t)n;
        }
        return 0;
}

static int tun_request(const struct http_target *t, const struct http_call *call,
                       struct http_response *ret, struct err **errp) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        _cleanup_(http_raw_freep) struct http_raw *raw = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t off, len;
        int r;

        r = tun_open(t, call, false, &raw, ret, errp);
        if (r < 0 || !raw)
                return r;
        http_response_done(ret);
        p = uhttp_resp_new(&(struct uhttp_resp_opts){.on_line = call->on_line, .ud = call->ud});
        buf = xmalloc(TUN_BUF);
        r = tun_read(raw, p, call->timeout_ms, buf, &off, &len, errp);
        if (r < 0)
                return r;
        uhttp_resp_take(p, ret);
        return 0;
}

/* The engine's upgraded stream inside the controller's. */
static ssize_t tun_raw_send(void *impl, const void *data, size_t len) {
        return http_raw_send(impl, data, len);
}

static ssize_t tun_raw_recv(void *impl, void *buf, size_t len) {
        return http_raw_recv(impl, buf, len);
}

static void tun_raw_free(void *impl) {
        http_raw_free(impl);
}

static const struct http_raw_ops tun_raw_ops = {
        .send = tun_raw_send,
        .recv = tun_raw_recv,
        .free = tun_raw_free,
};

static int tun_upgrade(const struct http_target *t, const struct http_call *call,
                       struct http_raw **ret_raw, struct http_response *ret_resp,
                       struct err **errp) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        _cleanup_(http_raw_freep) struct http_raw *raw = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t off, len;
        int fd, r;

        *ret_raw = NULL;
        r = tun_open(t, call, true, &raw, ret_resp, errp);
        if (r < 0 || !raw)
                return r;
        http_response_done(ret_resp);
        p = uhttp_resp_new(&(struct uhttp_resp_opts){.upgrade = true, .max_body = 1024 * 1024});
        buf = xmalloc(TUN_BUF);
        r = tun_read(raw, p, call->timeout_ms > 0 ? call->timeout_ms : TUN_HEAD_TIMEOUT_MS, buf,
                     &off, &len, errp);
        if (r < 0)
                return r;
        uhttp_resp_take(p, ret_resp);
        if (ret_resp->status != 101 && ret_resp->status != 200)
                return 0;
        fd = http_raw_fd(raw);
        *ret_raw = http_raw_new(fd, &tun_raw_ops, TAKE_PTR(raw), buf + off, len - off);
        return 0;
}

static const struct http_transport tun_transport = {
        .name = "cluster",
        .tls = true,
        .request = tun_request,
        .upgrade = tun_upgrade,
};

void cluster_ctx(const struct cli_ctx *ctx, const char *container, struct cli_ctx *ret) {
        *ret = *ctx;
        if (ctx->http != &tun_transport)
                tun_base = ctx->http;
        free(tun_container);
        tun_container = xstrdup(container);
        ret->http = &tun_transport;
}

int cluster_fix_err(int r, const char *container, struct err **errp) {
        /* A daemon without a controller has no proxy route: the container is simply not
         * there. Keep the controller's message when it gave one. */
        if ((r == -ENOENT || r == -EOPNOTSUPP) &&
            (!*errp || !strstr(err_msg(*errp), "No such container"))) {
                err_freep(errp);
                return err_setx(errp, ENOENT, "No such container: %s", container);
        }
        return r;
}
