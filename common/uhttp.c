/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 over AF_UNIX without libcurl (uhttp.h), and the transport-neutral half of the blocking
 * client (http_call.h): response objects, host checks, raw streams. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "cleanup.h"
#include "strv.h"
#include "uhttp.h"
#include "xalloc.h"

#define MAX_RESPONSE_SIZE (256u * 1024u * 1024u)
#define MAX_LINE_SIZE (16u * 1024u * 1024u)
#define MAX_ERROR_BODY (1024u * 1024u) /* the error answer to an upgrade */
#define MAX_HEADER_PART (8u * 1024u)   /* one header name or value we keep */
#define READ_SIZE (64u * 1024u)
#define UPGRADE_TIMEOUT_MS 30000

void http_response_done(struct http_response *r) {
        free(r->body);
        free(r->content_type);
        *r = (struct http_response){};
}

int http_target_check(const struct http_target *t, struct err **errp) {
        const char *h = t ? t->host : NULL;

        if (!h || !*h)
                return err_setx(errp, EINVAL, "no host given");
        if (str_startswith(h, "unix://")) {
                if (h[7] != '/')
                        return err_setx(errp, EINVAL,
                                        "bad host '%s': expected unix:///absolute/path", h);
                return 0;
        }
        if (str_startswith(h, "https://")) {
                if (!h[8])
                        return err_setx(errp, EINVAL, "bad host '%s': expected https://HOST:PORT",
                                        h);
                if (t->tls_anonymous)
                        return 0;
                if (!t->tls_cert || !t->tls_key || !t->tls_ca)
                        return err_setx(errp, EINVAL,
                                        "host '%s' needs a client certificate, key and CA "
                                        "(--tlscert, --tlskey, --tlscacert)",
                                        h);
                return 0;
        }
        return err_setx(errp, EINVAL, "bad host '%s': expected unix:///PATH or https://HOST:PORT",
                        h);
}

/* ---- raw streams ---- */

struct http_raw {
        int fd;
        const struct http_raw_ops *ops; /* NULL: plain socket */
        void *impl;
        char *pending; /* stream bytes that came with the response head */
        size_t plen, poff;
};

struct http_raw *http_raw_new(int fd, const struct http_raw_ops *ops, void *impl,
                              const char *pending, size_t plen) {
        struct http_raw *raw = xnew0(struct http_raw, 1);

        raw->fd = fd;
        raw->ops = ops;
        raw->impl = impl;
        raw->pending = xmemdup(pending ? pending : "", plen + 1);
        raw->plen = plen;
        if (!ops) {
                int fl = fcntl(fd, F_GETFL);

                if (fl >= 0)
                        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        }
        return raw;
}

struct http_raw *http_raw_free(struct http_raw *raw) {
        if (!raw)
                return NULL;
        if (raw->ops)
                raw->ops->free(raw->impl); /* closes the socket */
        else
                safe_close(raw->fd);
        free(raw->pending);
        free(raw);
        return NULL;
}

void http_raw_freep(struct http_raw **raw) {
        *raw = http_raw_free(*raw);
}

int http_raw_fd(const struct http_raw *raw) {
        return raw->fd;
}

bool http_raw_has_pending(const struct http_raw *raw) {
        return raw->poff < raw->plen;
}

ssize_t http_raw_send(struct http_raw *raw, const void *data, size_t len) {
        ssize_t n;

        if (raw->ops)
                return raw->ops->send(raw->impl, data, len);
        n = send(raw->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
}

ssize_t http_raw_recv(struct http_raw *raw, void *buf, size_t len) {
        ssize_t n;

        if (raw->poff < raw->plen) {
                size_t k = MIN(len, raw->plen - raw->poff);

                memcpy(buf, raw->pending + raw->poff, k);
                raw->poff += k;
                return (ssize_t)k;
        }
        if (raw->ops)
                return raw->ops->recv(raw->impl, buf, len);
        n = recv(raw->fd, buf, len, MSG_DONTWAIT);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
}

int http_raw_shutdown_write(struct http_raw *raw) {
        /* A half-close (also under TLS: the server reads it as EOF, and the other direction keeps
         * working). */
        return shutdown(raw->fd, SHUT_WR) < 0 ? -errno : 0;
}

/* ---- the response parser ---- */

struct strbuf {
        char *p;
        size_t len, alloc;
};

static void strbuf_put(struct strbuf *b, const char *p, size_t n) {
        if (b->len + n + 1 > b->alloc) {
                b->alloc = MAX(b->alloc * 2, b->len + n + 1);
                b->p = xrealloc(b->p, b->alloc);
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
        b->p[b->len] = '\0';
}

struct uhttp_resp {
        http_parser p;
        struct uhttp_resp_opts o;
        long status;
        char *content_type;
        struct strbuf field, value; /* the header being read (names and values come in pieces) */
        bool in_value;
        struct strbuf body; /* the body, or the partial line when streaming */
        bool streaming;     /* a 2xx body going to on_line */
        bool head_done, done;
        int stop_r; /* why a callback stopped the parser: -EFBIG or on_line's return */
};

static struct uhttp_resp *resp_of(http_parser *p) {
        return container_of(p, struct uhttp_resp, p);
}

static void header_end(struct uhttp_resp *r) {
        if (r->field.len > 0 && strcasecmp(r->field.p, "Content-Type") == 0) {
                free(r->content_type);
                r->content_type = xstrndup(r->value.p ? r->value.p : "", r->value.len);
        }
        r->field.len = r->value.len = 0;
        r->in_value = false;
}

static int on_message_begin(http_parser *p) {
        struct uhttp_resp *r = resp_of(p);

        r->field.len = r->value.len = r->body.len = 0;
        r->in_value = false;
        return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
        struct uhttp_resp *r = resp_of(p);

        if (r->in_value)
                header_end(r);
        if (r->field.len + n <= MAX_HEADER_PART)
                strbuf_put(&r->field, at, n);
        return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
        struct uhttp_resp *r = resp_of(p);

        r->in_value = true;
        if (r->value.len + n <= MAX_HEADER_PART)
                strbuf_put(&r->value, at, n);
        return 0;
}

static bool interim(long status) {
        return status >= 100 && status < 200 && status != 101;
}

static int on_headers_complete(http_parser *p) {
        struct uhttp_resp *r = resp_of(p);

        header_end(r);
        r->status = p->status_code;
        if (interim(r->status))
                return 0; /* "100 Continue": no body; the real answer follows */
        r->head_done = true;
        r->streaming = r->o.on_line && r->status >= 200 && r->status <= 299;
        if (r->o.upgrade && (r->status == 101 || r->status == 200))
                return 2; /* no body: what follows is the raw stream */
        if (r->o.head_request)
                return 1;
        return 0;
}

static int deliver_line(struct uhttp_resp *r) {
        int k = r->o.on_line(r->body.p ? r->body.p : "", r->body.len, r->o.ud);

        r->body.len = 0;
        if (k < 0) {
                r->stop_r = k;
                return -1;
        }
        return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
        struct uhttp_resp *r = resp_of(p);
        size_t max = r->o.max_body ? r->o.max_body : MAX_RESPONSE_SIZE;

        if (!r->streaming) {
                if (r->body.len + n > max) {
                        r->stop_r = -EFBIG;
                        return -1;
                }
                strbuf_put(&r->body, at, n);
                return 0;
        }
        /* Hand out complete lines, keep the partial one. */
        max = r->o.max_body ? r->o.max_body : MAX_LINE_SIZE;
        for (size_t off = 0; off < n;) {
                const char *nl = memchr(at + off, '\n', n - off);
                size_t take = nl ? (size_t)(nl - (at + off)) : n - off;

                if (r->body.len + take > max) {
                        r->stop_r = -EFBIG;
                        return -1;
                }
                strbuf_put(&r->body, at + off, take);
                off += take;
                if (nl) {
                        off++;
                        if (deliver_line(r) < 0)
                                return -1;
                }
        }
        return 0;
}

static int on_message_complete(http_parser *p) {
        struct uhttp_resp *r = resp_of(p);

        if (interim(r->status) && !r->head_done)
                return 0;
        /* A last line without a newline. */
        if (r->streaming && r->body.len > 0 && deliver_line(r) < 0)
                return -1;
        r->done = true;
        /* One answer per connection: whatever follows is not ours to parse. */
        http_parser_pause(p, 1);
        return 0;
}

static const http_parser_settings settings = {
        .on_message_begin = on_message_begin,
        .on_header_field = on_header_field,
        .on_header_value = on_header_value,
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
};

struct uhttp_resp *uhttp_resp_new(const struct uhttp_resp_opts *o) {
        struct uhttp_resp *r = xnew0(struct uhttp_resp, 1);

        http_parser_init(&r->p, HTTP_RESPONSE);
        if (o)
                r->o = *o;
        return r;
}

struct uhttp_resp *uhttp_resp_free(struct uhttp_resp *r) {
        if (!r)
                return NULL;
        free(r->content_type);
        free(r->field.p);
        free(r->value.p);
        free(r->body.p);
        free(r);
        return NULL;
}

void uhttp_resp_freep(struct uhttp_resp **r) {
        *r = uhttp_resp_free(*r);
}

bool uhttp_resp_done(const struct uhttp_resp *r) {
        return r->done;
}

ssize_t uhttp_resp_feed(struct uhttp_resp *r, const char *data, size_t n, struct err **errp) {
        enum http_errno e;
        size_t k;

        if (r->done)
                return 0;
        if (r->stop_r < 0)
                return err_setx(errp, -r->stop_r, "answer already failed");
        k = http_parser_execute(&r->p, &settings, data, n);
        if (r->stop_r == -EFBIG)
                return err_setx(errp, EFBIG, "the answer is too large");
        if (r->stop_r < 0)
                return err_setx(errp, -r->stop_r, "the stream stopped");
        e = HTTP_PARSER_ERRNO(&r->p);
        if (r->done)
                return (ssize_t)MIN(k, n); /* paused at the end of the answer */
        if (e != HPE_OK) {
                if (n == 0 || e == HPE_INVALID_EOF_STATE)
                        return err_setx(errp, ECONNRESET,
                                        "the connection closed in the middle of the answer");
                return err_setx(errp, EPROTO, "malformed answer: %s", http_errno_description(e));
        }
        if (n == 0)
                return err_setx(errp, ECONNRESET,
                                r->head_done ? "the connection closed in the middle of the answer"
                                             : "the connection closed before an answer came");
        return (ssize_t)k;
}

void uhttp_resp_take(struct uhttp_resp *r, struct http_response *ret) {
        *ret = (struct http_response){.status = r->status};
        ret->content_type = TAKE_PTR(r->content_type);
        if (r->streaming || !r->body.p) {
                ret->body = xstrdup("");
        } else {
                ret->body = TAKE_PTR(r->body.p);
                ret->body_len = r->body.len;
                r->body = (struct strbuf){};
        }
}

/* ---- the connection ---- */

static int64_t mono_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready; deadline < 0: no limit. */
static int wait_fd(int fd, short events, int64_t deadline, const char *host, struct err **errp) {
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = events};
                int64_t left = deadline < 0 ? -1 : deadline - mono_msec();
                int k;

                if (deadline >= 0 && left <= 0)
                        return err_setx(errp, ETIMEDOUT, "request to '%s' timed out", host);
                k = poll(&pfd, 1, deadline < 0 ? -1 : (int)MIN(left, (int64_t)INT32_MAX));
                if (k > 0)
                        return 0;
                if (k < 0 && errno != EINTR)
                        return err_set(errp, errno, "poll");
        }
}

/* After a read or send on fd failed with errno: 0 to try again (it would have blocked: waited
 * for events; or it was interrupted), < 0 the connection's error. */
static int io_retry(int fd, short events, int64_t deadline, const char *host, struct err **errp) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
                return wait_fd(fd, events, deadline, host, errp);
        if (errno == EINTR)
                return 0;
        return err_setx(errp, ECONNRESET, "%s '%s' failed: %s",
                        events == POLLOUT ? "send to" : "read from", host, strerror(errno));
}

static int unix_connect(const struct http_target *t, int *ret_fd, struct err **errp) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        const char *path;
        int r, fl;

        r = http_target_check(t, errp);
        if (r < 0)
                return r;
        if (!str_startswith(t->host, "unix://"))
                return err_setx(errp, EPROTONOSUPPORT,
                                "host '%s': this client speaks to unix sockets only (https hosts "
                                "are served by berth-engine)",
                                t->host);
        path = t->host + 7;
        if (strlen(path) >= sizeof(sa.sun_path))
                return err_setx(errp, EINVAL, "socket path of '%s' is too long", t->host);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        /* Blocking: a unix connect completes at once or waits for the listener's backlog. */
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_setx(errp, ECONNREFUSED, "connect to '%s' failed: %s", t->host,
                                strerror(errno));
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return err_set(errp, errno, "fcntl");
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int send_all(int fd, const char *data, size_t len, int64_t deadline, const char *host,
                    struct err **errp) {
        while (len > 0) {
                ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
                int r;

                if (n < 0) {
                        r = io_retry(fd, POLLOUT, deadline, host, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Sends the body read from call->body_fd: its size when it is a regular file, chunked
 * otherwise. */
static int send_fd_body(int fd, const struct http_call *call, bool chunked, int64_t deadline,
                        const char *host, struct err **errp) {
        _cleanup_free_ char *buf = xmalloc(READ_SIZE + 32);

        for (;;) {
                char *data = buf + 16;
                ssize_t n = read(call->body_fd, data, READ_SIZE);
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_set(errp, errno, "read the body to send");
                if (n == 0)
                        return chunked ? send_all(fd, "0\r\n\r\n", 5, deadline, host, errp) : 0;
                if (chunked) {
                        /* The chunk's size line goes in front of the data, its CRLF behind. */
                        char head[16];
                        int hl = snprintf(head, sizeof(head), "%zx\r\n", (size_t)n);

                        data -= hl;
                        memcpy(data, head, (size_t)hl);
                        memcpy(data + hl + n, "\r\n", 2);
                        n += hl + 2;
                }
                r = send_all(fd, data, (size_t)n, deadline, host, errp);
                if (r < 0)
                        return r;
        }
}

static int send_request(int fd, const struct http_target *t, const struct http_call *call,
                        bool upgrade, int64_t deadline, struct err **errp) {
        const char *method = call->method ? call->method : upgrade ? "POST" : "GET";
        const char *path = call->path && call->path[0] == '/' ? call->path : "/";
        _cleanup_free_ char *head = NULL, *length = NULL;
        bool chunked = false;
        int r;

        if (strpbrk(method, " \r\n") || strpbrk(path, " \r\n"))
                return err_setx(errp, EINVAL, "bad request line '%s %s'", method, path);
        if (call->stream_body) {
                struct stat st;
                off_t pos = lseek(call->body_fd, 0, SEEK_CUR);

                if (fstat(call->body_fd, &st) == 0 && S_ISREG(st.st_mode) && pos >= 0)
                        length = xasprintf("Content-Length: %jd\r\n",
                                           (intmax_t)(st.st_size > pos ? st.st_size - pos : 0));
                else
                        chunked = true;
        } else if (call->body || upgrade) {
                length = xasprintf("Content-Length: %zu\r\n", call->body ? call->body_len : 0);
        }
        head = xasprintf("%s %s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth\r\n"
                         "Accept: application/json\r\n%s%s%s%s%s%s\r\n",
                         method, path, upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "",
                         length || chunked ? "Content-Type: " : "",
                         length || chunked ? call->content_type  ? call->content_type
                                             : call->stream_body ? "application/x-tar"
                                                                 : "application/json"
                                           : "",
                         length || chunked ? "\r\n" : "", length ? length : "",
                         chunked ? "Transfer-Encoding: chunked\r\n" : "");
        r = send_all(fd, head, strlen(head), deadline, t->host, errp);
        if (r < 0)
                return r;
        if (call->stream_body)
                return send_fd_body(fd, call, chunked, deadline, t->host, errp);
        if (call->body && call->body_len > 0)
                return send_all(fd, call->body, call->body_len, deadline, t->host, errp);
        return 0;
}

/* Reads and parses until the answer (or, for an upgrade, its head) is complete. The bytes
 * behind an upgrade's head go to *ret_rest. */
static int read_answer(int fd, struct uhttp_resp *p, int64_t deadline, const char *host,
                       char **ret_rest, size_t *ret_rest_len, struct err **errp) {
        _cleanup_free_ char *buf = xmalloc(READ_SIZE);

        while (!uhttp_resp_done(p)) {
                _cleanup_err_ struct err *e = NULL;
                ssize_t n = read(fd, buf, READ_SIZE), k;
                int r;

                if (n < 0) {
                        r = io_retry(fd, POLLIN, deadline, host, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                k = uhttp_resp_feed(p, buf, (size_t)n, &e);
                if (k < 0) {
                        err_move(errp, TAKE_PTR(e));
                        return err_wrap(errp, "answer from '%s'", host);
                }
                if (ret_rest && uhttp_resp_done(p)) {
                        *ret_rest_len = (size_t)(n - k);
                        *ret_rest = xmemdup(buf + k, (size_t)(n - k) + 1);
                }
        }
        return 0;
}

int uhttp_request(const struct http_target *t, const struct http_call *call,
                  struct http_response *ret, struct err **errp) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        int64_t deadline = call->timeout_ms > 0 ? mono_msec() + call->timeout_ms : -1;
        _cleanup_err_ struct err *send_e = NULL;
        int r, send_r;

        r = unix_connect(t, &fd, errp);
        if (r < 0)
                return r;
        p = uhttp_resp_new(&(struct uhttp_resp_opts){
                .on_line = call->on_line,
                .ud = call->ud,
                .head_request = call->method && streq(call->method, "HEAD"),
        });
        /* A server may answer (413, 400) before it read the whole body and close: its answer
         * is then what counts. */
        send_r = send_request(fd, t, call, false, deadline, &send_e);
        if (send_r < 0 && send_r != -ECONNRESET)
                return err_move(errp, TAKE_PTR(send_e));
        r = read_answer(fd, p, deadline, t->host, NULL, NULL, send_r < 0 ? NULL : errp);
        if (r < 0)
                return send_r < 0 ? err_move(errp, TAKE_PTR(send_e)) : r;
        uhttp_resp_take(p, ret);
        return 0;
}

int uhttp_upgrade(const struct http_target *t, const struct http_call *call,
                  struct http_raw **ret_raw, struct http_response *ret_resp, struct err **errp) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *rest = NULL;
        int64_t deadline =
                mono_msec() + (call->timeout_ms > 0 ? call->timeout_ms : UPGRADE_TIMEOUT_MS);
        size_t rest_len = 0;
        int r;

        *ret_raw = NULL;
        r = unix_connect(t, &fd, errp);
        if (r < 0)
                return r;
        p = uhttp_resp_new(&(struct uhttp_resp_opts){.upgrade = true, .max_body = MAX_ERROR_BODY});
        r = send_request(fd, t, call, true, deadline, errp);
        if (r < 0)
                return r;
        r = read_answer(fd, p, deadline, t->host, &rest, &rest_len, errp);
        if (r < 0)
                return r;
        uhttp_resp_take(p, ret_resp);
        if (ret_resp->status == 101 || ret_resp->status == 200)
                *ret_raw = http_raw_new(TAKE_FD(fd), NULL, NULL, rest, rest_len);
        return 0;
}

int uhttp_stream_open(const struct http_target *t, const struct http_call *call, int *ret_fd,
                      struct err **errp) {
        _cleanup_close_ int fd = -EBADF;
        int64_t deadline = mono_msec() + (call->timeout_ms > 0 ? call->timeout_ms : 10000);
        int r;

        r = unix_connect(t, &fd, errp);
        if (r < 0)
                return r;
        r = send_request(fd, t, call, false, deadline, errp);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

const struct http_transport http_transport_unix = {
        .name = "unix",
        .tls = false,
        .request = uhttp_request,
        .upgrade = uhttp_upgrade,
};
