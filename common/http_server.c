/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cleanup.h"
#include "fileio.h"
#include "http_server.h"
#include "unixsock.h"
#include "json.h"
#include "revoke.h"
#include "strv.h"
#include "xalloc.h"

#define IN_BUF_MAX (64u * 1024u)         /* unparsed input kept per connection */
#define OUT_BUF_MAX (8u * 1024u * 1024u) /* unsent stream output before writers get -ENOBUFS */
#define LINGER_SECONDS 2.0               /* draining input after the last response, before close */
#define ACCEPT_BATCH 64

enum conn_state {
        CONN_HANDSHAKE, /* TLS handshake in progress */
        CONN_READING,   /* reading (and parsing) a request */
        CONN_HANDLING,  /* a handler owns the current request */
        CONN_CLOSING,   /* flushing the last response, input discarded */
        CONN_LINGER,    /* write side shut, draining input until EOF or a timeout */
        CONN_UPGRADED,  /* 101 sent: a raw bidirectional stream owned by the handler */
};

enum timer_phase { PH_NONE, PH_HANDSHAKE, PH_IDLE, PH_HEADER, PH_BODY, PH_WRITE, PH_LINGER };

struct listener {
        struct http_server *srv;
        struct listener *next;
        ev_io io;
        ev_timer pause; /* accept paused after running out of fds */
        int fd;
        SSL_CTX *tls;
        char *unix_path;
};

struct conn {
        struct http_server *srv;
        struct conn *prev, *next;
        int fd;
        SSL *ssl;
        bool read_wants_write;
        ev_io rio, wio;
        ev_timer timer;
        enum timer_phase phase;
        enum conn_state state;
        char *in;
        size_t in_len;
        char *out;
        size_t out_len, out_off, out_alloc;
        struct http_reqparser rp;
        bool sent_continue;
        bool processing; /* inside conn_process() */
        bool read_eof;   /* the client closed its side while we still write */
        bool up_shut_wr; /* upgraded: shut the write side once the output is flushed */
        struct http_req *req;
        char *peer_cn;
        struct http_req *sreq; /* dispatched at its headers, its body still arriving */
        char *peer_serial;     /* hex, for the revocation list */
};

struct http_req {
        struct conn *conn; /* NULL once the client is gone */
        struct http_request *rq;
        char **params;
        char **query;
        char **resp_headers;
        void (*on_close)(struct http_req *req, void *ud);
        void *on_close_ud;
        bool keep_alive;
        bool streaming, chunked;
        bool tls;
        char *peer_cn;
        uint64_t start_usec; /* monotonic, when the request was complete */
        /* streamed request body (HTTP_ROUTE_STREAM_BODY) */
        void (*on_chunk)(struct http_req *req, const char *data, size_t len, void *ud);
        void (*on_end)(struct http_req *req, void *ud);
        void *body_ud;
        bool body_paused;
        const struct http_upgrade_ops *up_ops; /* set once upgraded */
        void *up_ud;
        bool up_paused;
        void (*on_drain)(struct http_req *req, void *ud); /* a streamed reply's backpressure */
        void *on_drain_ud;
};

struct http_server {
        struct ev_loop *loop;
        struct http_server_config cfg;
        const struct http_router *router;
        void *userdata;
        struct listener *listeners;
        struct conn *conns;
        unsigned n_conns;
        bool shutting_down, shutdown_done;
        ev_timer shutdown_timer;
        void (*shutdown_cb)(struct http_server *s, void *ud);
        void *shutdown_ud;
        char *revoked_file; /* http_tls_config.revoked_file of the TLS listener */
        struct revoke_cache revoked;
};

static void conn_process(struct conn *c);
static void conn_update_io(struct conn *c);
static void conn_start_linger(struct conn *c);
static void conn_free(struct conn *c);

/* ---- requests ---- */

static void body_buf_chunk(struct http_req *req, const char *data, size_t len, void *ud);

static struct http_req *req_free(struct http_req *req) {
        if (!req)
                return NULL;
        if (req->on_chunk == body_buf_chunk)
                free(req->body_ud); /* the client left in the middle of a buffered body */
        http_request_free(req->rq);
        strv_free(req->params);
        strv_free(req->query);
        strv_free(req->resp_headers);
        free(req->peer_cn);
        free(req);
        return NULL;
}

const char *http_req_method(const struct http_req *req) {
        return req->rq->method;
}

const char *http_req_path(const struct http_req *req) {
        return req->rq->path;
}

const char *http_req_header(const struct http_req *req, const char *name) {
        return http_request_header(req->rq, name);
}

const char *http_req_param(const struct http_req *req, const char *name) {
        return http_query_get(req->params, name);
}

const char *http_req_query(const struct http_req *req, const char *name) {
        return http_query_get(req->query, name);
}

char *const *http_req_query_pairs(const struct http_req *req) {
        return req->query;
}

const char *http_req_body(const struct http_req *req, size_t *ret_len) {
        if (ret_len)
                *ret_len = req->rq->body_len;
        return req->rq->body ? req->rq->body : "";
}

int http_req_json(const struct http_req *req, json_t **ret, struct err **errp) {
        if (req->rq->body_len == 0)
                return err_setx(errp, ENODATA, "request body: a JSON body is required");
        return json_parse(req->rq->body, req->rq->body_len, "request body", ret, errp);
}

bool http_req_is_tls(const struct http_req *req) {
        return req->tls;
}

const char *http_req_peer_cn(const struct http_req *req) {
        return req->peer_cn;
}

uint64_t http_req_start_usec(const struct http_req *req) {
        return req->start_usec;
}

bool http_req_connected(const struct http_req *req) {
        return req->conn != NULL;
}

void http_req_on_close(struct http_req *req, void (*fn)(struct http_req *req, void *ud), void *ud) {
        req->on_close = fn;
        req->on_close_ud = ud;
}

void http_req_add_header(struct http_req *req, const char *name, const char *value) {
        /* Header injection guard: names and values never carry CR or LF. */
        if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
                return;
        strv_push(&req->resp_headers, name);
        strv_push(&req->resp_headers, value);
}

/* ---- output ---- */

static void out_append(struct conn *c, const void *data, size_t len) {
        if (c->out_off > 0 && c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        if (c->out_len + len > c->out_alloc) {
                if (c->out_off > 0) {
                        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
                        c->out_len -= c->out_off;
                        c->out_off = 0;
                }
                if (c->out_len + len > c->out_alloc) {
                        c->out_alloc = MAX(c->out_alloc * 2, c->out_len + len + 1024);
                        c->out = xrealloc(c->out, c->out_alloc);
                }
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
}

static void out_printf(struct conn *c, const char *fmt, ...) _printf_(2, 3);
static void out_printf(struct conn *c, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        out_append(c, s, strlen(s));
}

/* Status line and headers. len < 0 means chunked (or close-delimited for HTTP/1.0). */
static void out_head(struct conn *c, int status, const char *content_type, ssize_t len,
                     bool keep_alive, bool chunked, char *const *extra) {
        out_printf(c, "HTTP/1.1 %d %s\r\nServer: berth\r\nConnection: %s\r\n", status,
                   http_status_text(status), keep_alive ? "keep-alive" : "close");
        if (content_type)
                out_printf(c, "Content-Type: %s\r\n", content_type);
        if (len >= 0)
                out_printf(c, "Content-Length: %zd\r\n", len);
        else if (chunked)
                out_printf(c, "Transfer-Encoding: chunked\r\n");
        for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
                out_printf(c, "%s: %s\r\n", extra[i], extra[i + 1]);
        out_append(c, "\r\n", 2);
}

static void conn_timer(struct conn *c, enum timer_phase ph, double seconds) {
        if (c->phase == ph && ph != PH_WRITE)
                return;
        ev_timer_stop(c->srv->loop, &c->timer);
        c->phase = ph;
        if (ph == PH_NONE)
                return;
        ev_timer_set(&c->timer, seconds, 0.);
        ev_timer_start(c->srv->loop, &c->timer);
}

/* The current exchange's response has been queued: go on with the next request, or close. */
static void conn_response_queued(struct conn *c, bool keep_alive) {
        c->req = NULL;
        if (keep_alive && !c->srv->shutting_down && !c->read_eof) {
                c->state = CONN_READING;
                c->sent_continue = false;
                conn_timer(c, PH_IDLE, c->srv->cfg.idle_timeout);
        } else {
                c->state = CONN_CLOSING;
                conn_timer(c, PH_WRITE, c->srv->cfg.write_timeout);
        }
        conn_update_io(c);
}

/* An error answered straight from the connection (no handler involved); closes afterwards. */
static void conn_error_reply(struct conn *c, int status, const char *code, const char *msg) {
        _cleanup_json_ json_t *j =
                json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
        _cleanup_free_ char *body = json_dump_str(j, true);

        out_head(c, status, "application/json", (ssize_t)strlen(body), false, false, NULL);
        out_append(c, body, strlen(body));
        conn_response_queued(c, false);
}

static void access_log(const struct http_req *req, int status) {
        const struct http_server_config *cfg = &req->conn->srv->cfg;

        if (cfg->access_log)
                cfg->access_log(req, status, req->conn->srv->userdata);
}

static bool req_keep_alive(const struct http_req *req) {
        return req->keep_alive && req->conn && !req->conn->srv->shutting_down;
}

/* An answer while the body still streams in (a refusal): the rest of the body is discarded and
 * the connection closes after the answer. */
static void req_stop_body(struct http_req *req) {
        if (req->conn && req->conn->sreq == req) {
                req->conn->sreq = NULL;
                req->keep_alive = false;
        }
}

void http_reply(struct http_req *req, int status, const char *content_type, const void *body,
                size_t len) {
        struct conn *c = req->conn;

        req_stop_body(req);
        if (req->streaming) {
                /* A reply after the stream started can only end it. */
                http_stream_end(req);
                return;
        }
        if (c) {
                bool ka = req_keep_alive(req);
                bool head = streq(req->rq->method, "HEAD");

                access_log(req, status);
                out_head(c, status, content_type, (ssize_t)len, ka, false, req->resp_headers);
                if (!head && len > 0)
                        out_append(c, body, len);
                conn_response_queued(c, ka);
        }
        req_free(req);
}

void http_reply_json(struct http_req *req, int status, const json_t *j) {
        _cleanup_free_ char *s = json_dump_str(j, true);

        http_reply(req, status, "application/json", s, strlen(s));
}

static void reply_error_body(struct http_req *req, int status, const char *code, const char *msg,
                             const char *field) {
        _cleanup_json_ json_t *j =
                json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);

        if (field)
                json_object_set_new(json_object_get(j, "error"), "field", json_string(field));
        http_reply_json(req, status, j);
}

void http_reply_error(struct http_req *req, int status, const char *code, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        reply_error_body(req, status, code, msg, NULL);
}

int http_status_for_errno(int code, const char **ret_code) {
        int status;
        const char *c;

        switch (code) {
        case ENOENT:
        case ENXIO:
                status = 404, c = "not_found";
                break;
        case EINVAL:
        case EBADMSG:
        case ENODATA:
        case ERANGE:
        case E2BIG:
                status = 400, c = "invalid";
                break;
        case EEXIST:
        case EBUSY:
        case ENOTEMPTY:
                status = 409, c = "conflict";
                break;
        case EPERM:
        case EACCES:
                status = 403, c = "forbidden";
                break;
        case ETIMEDOUT:
                status = 504, c = "timeout";
                break;
        case EOPNOTSUPP:
                status = 501, c = "not_supported";
                break;
        case EAGAIN:
                status = 503, c = "unavailable";
                break;
        default:
                status = 500, c = "internal";
                break;
        }
        if (ret_code)
                *ret_code = c;
        return status;
}

void http_reply_err(struct http_req *req, const struct err *e) {
        const char *code;
        int status = http_status_for_errno(e ? e->code : EIO, &code);

        reply_error_body(req, status, code, err_msg(e), e ? e->field : NULL);
}

void http_stream_begin(struct http_req *req, int status, const char *content_type) {
        struct conn *c = req->conn;

        if (req->streaming)
                return;
        req_stop_body(req);
        req->streaming = true;
        /* HTTP/1.0 has no chunked encoding: the stream ends when the connection closes. */
        req->chunked = req->rq->http_minor >= 1;
        if (!req->chunked)
                req->keep_alive = false;
        if (!c)
                return;
        access_log(req, status);
        out_head(c, status, content_type, -1, req_keep_alive(req), req->chunked, req->resp_headers);
        conn_update_io(c);
}

int http_stream_write(struct http_req *req, const void *data, size_t len) {
        struct conn *c = req->conn;

        if (!c)
                return -EPIPE;
        if (!req->streaming)
                http_stream_begin(req, 200, "application/x-ndjson");
        if (len == 0)
                return 0; /* a zero-length chunk would end the stream */
        if (c->out_len - c->out_off > OUT_BUF_MAX)
                return -ENOBUFS;
        if (req->chunked)
                out_printf(c, "%zx\r\n", len);
        out_append(c, data, len);
        if (req->chunked)
                out_append(c, "\r\n", 2);
        conn_update_io(c);
        return 0;
}

int http_stream_write_json(struct http_req *req, const json_t *j) {
        _cleanup_free_ char *s = json_dump_str(j, true);

        return http_stream_write(req, s, strlen(s));
}

void http_stream_end(struct http_req *req) {
        struct conn *c = req->conn;

        if (c) {
                bool ka;

                if (!req->streaming)
                        http_stream_begin(req, 200, "application/x-ndjson");
                ka = req_keep_alive(req);
                if (req->chunked)
                        out_append(c, "0\r\n\r\n", 5);
                conn_response_queued(c, ka);
        }
        req_free(req);
}

size_t http_stream_pending(const struct http_req *req) {
        return req->conn ? req->conn->out_len - req->conn->out_off : 0;
}

void http_stream_on_drain(struct http_req *req, void (*cb)(struct http_req *req, void *ud),
                          void *ud) {
        req->on_drain = cb;
        req->on_drain_ud = ud;
}

/* ---- upgraded connections (docker's hijack) ---- */

bool http_req_wants_upgrade(const struct http_req *req) {
        const char *conn = http_req_header(req, "connection");
        const char *up = http_req_header(req, "upgrade");

        return conn && up && strcasestr(conn, "upgrade");
}

void http_req_upgrade(struct http_req *req, const char *content_type,
                      const struct http_upgrade_ops *ops, void *ud) {
        struct conn *c = req->conn;
        const char *proto = http_req_header(req, "upgrade");

        req->up_ops = ops;
        req->up_ud = ud;
        req->streaming = true; /* no other reply from here on */
        req->keep_alive = false;
        if (!c)
                return;
        access_log(req, http_req_wants_upgrade(req) ? 101 : 200);
        if (http_req_wants_upgrade(req))
                out_printf(c,
                           "HTTP/1.1 101 UPGRADED\r\nServer: berth\r\nConnection: Upgrade\r\n"
                           "Upgrade: %s\r\n",
                           strpbrk(proto, "\r\n") ? "tcp" : proto);
        else
                /* Not asked to upgrade: the raw stream follows a 200 and ends with the
                 * connection (what docker does for such clients). */
                out_printf(c, "HTTP/1.1 200 OK\r\nServer: berth\r\nConnection: close\r\n");
        if (content_type)
                out_printf(c, "Content-Type: %s\r\n", content_type);
        for (char **h = req->resp_headers; h && h[0] && h[1]; h += 2)
                out_printf(c, "%s: %s\r\n", h[0], h[1]);
        out_append(c, "\r\n", 2);
        c->state = CONN_UPGRADED;
        conn_timer(c, PH_NONE, 0);
        conn_update_io(c);
        /* Bytes the client sent right behind the request are the stream's first bytes. */
        if (c->in_len > 0) {
                _cleanup_free_ char *early = xmemdup(c->in, c->in_len);
                size_t n = c->in_len;

                c->in_len = 0;
                ops->on_data(req, early, n, ud);
        }
        if (c->read_eof && c->state == CONN_UPGRADED && c->req == req && ops->on_eof)
                ops->on_eof(req, ud);
}

int http_upgraded_write(struct http_req *req, const void *data, size_t len) {
        struct conn *c = req->conn;

        if (!c || c->state != CONN_UPGRADED || c->up_shut_wr)
                return -EPIPE;
        if (c->out_len - c->out_off > OUT_BUF_MAX)
                return -ENOBUFS;
        if (len == 0)
                return 0;
        out_append(c, data, len);
        conn_update_io(c);
        return 0;
}

size_t http_upgraded_pending(const struct http_req *req) {
        return req->conn ? req->conn->out_len - req->conn->out_off : 0;
}

void http_upgraded_pause(struct http_req *req, bool pause) {
        req->up_paused = pause;
        if (req->conn && req->conn->state == CONN_UPGRADED)
                conn_update_io(req->conn);
}

/* The write side's half-close, once everything queued is out: a TLS close_notify and a TCP
 * shutdown, so the client reads EOF and may still send. */
static void conn_up_shut(struct conn *c) {
        if (c->ssl)
                (void)SSL_shutdown(c->ssl);
        (void)shutdown(c->fd, SHUT_WR);
}

void http_upgraded_shutdown_write(struct http_req *req) {
        struct conn *c = req->conn;

        if (!c || c->state != CONN_UPGRADED || c->up_shut_wr)
                return;
        c->up_shut_wr = true;
        if (c->out_off == c->out_len)
                conn_up_shut(c);
}

bool http_upgraded_read_eof(const struct http_req *req) {
        return !req->conn || req->conn->read_eof;
}

void http_upgraded_end(struct http_req *req) {
        struct conn *c = req->conn;

        if (c) {
                /* Flush what is queued, shut the write side (the client sees EOF), linger
                 * for its close. */
                c->req = NULL;
                c->state = CONN_CLOSING;
                conn_timer(c, PH_WRITE, c->srv->cfg.write_timeout);
                if (c->out_off == c->out_len) {
                        /* Never freed from here (callers may run inside a callback of c):
                         * with the client's EOF already seen, the linger ends at once. */
                        conn_start_linger(c);
                        if (c->read_eof) {
                                conn_timer(c, PH_NONE, 0.);
                                conn_timer(c, PH_LINGER, 0.);
                        }
                } else
                        conn_update_io(c);
        }
        req_free(req);
}

/* ---- connections ---- */

static void conn_free(struct conn *c) {
        struct http_server *s = c->srv;
        struct http_req *req;

        ev_io_stop(s->loop, &c->rio);
        ev_io_stop(s->loop, &c->wio);
        ev_timer_stop(s->loop, &c->timer);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;

        req = TAKE_PTR(c->sreq);
        if (req) {
                req->conn = NULL;
                if (req->on_close)
                        req->on_close(req, req->on_close_ud);
        }
        req = TAKE_PTR(c->req);
        if (req) {
                /* The handler still holds req: detach it and tell it the client is gone. */
                req->conn = NULL;
                if (req->on_close)
                        req->on_close(req, req->on_close_ud);
        }
        if (c->ssl)
                SSL_free(c->ssl);
        safe_close(c->fd);
        http_reqparser_done(&c->rp);
        free(c->in);
        free(c->out);
        free(c->peer_cn);
        free(c->peer_serial);
        free(c);

        if (s->shutting_down && s->n_conns == 0 && !s->shutdown_done) {
                /* Report from the loop, never from inside this call chain. */
                ev_timer_stop(s->loop, &s->shutdown_timer);
                ev_timer_set(&s->shutdown_timer, 0., 0.);
                ev_timer_start(s->loop, &s->shutdown_timer);
        }
}

static ssize_t conn_recv(struct conn *c, char *buf, size_t n) {
        if (c->ssl) {
                int r, e;

                ERR_clear_error();
                r = SSL_read(c->ssl, buf, (int)MIN(n, (size_t)INT32_MAX));
                if (r > 0)
                        return r;
                e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                        return -EAGAIN;
                if (e == SSL_ERROR_WANT_WRITE) {
                        c->read_wants_write = true;
                        return -EAGAIN;
                }
                if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
                        return 0;
                return -EIO;
        }
        for (;;) {
                ssize_t r = recv(c->fd, buf, n, 0);
                if (r >= 0)
                        return r;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

static ssize_t conn_send(struct conn *c, const char *buf, size_t n) {
        if (c->ssl) {
                int r, e;

                ERR_clear_error();
                r = SSL_write(c->ssl, buf, (int)MIN(n, (size_t)INT32_MAX));
                if (r > 0)
                        return r;
                e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                        return -EAGAIN;
                return -EPIPE;
        }
        for (;;) {
                ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
                if (r >= 0)
                        return r;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

static void conn_update_io(struct conn *c) {
        struct ev_loop *loop = c->srv->loop;
        bool want_read = !c->read_eof && (c->state == CONN_HANDSHAKE || c->state == CONN_CLOSING ||
                                          c->state == CONN_LINGER || c->in_len < IN_BUF_MAX);

        if (c->state == CONN_UPGRADED)
                want_read = !c->read_eof && !(c->req && c->req->up_paused);
        else if (c->state == CONN_READING && c->sreq && c->sreq->body_paused)
                want_read = false;
        bool want_write = c->out_len > c->out_off || c->read_wants_write;

        if (want_read && !ev_is_active(&c->rio))
                ev_io_start(loop, &c->rio);
        else if (!want_read && ev_is_active(&c->rio))
                ev_io_stop(loop, &c->rio);
        if (want_write && !ev_is_active(&c->wio))
                ev_io_start(loop, &c->wio);
        else if (!want_write && ev_is_active(&c->wio))
                ev_io_stop(loop, &c->wio);
}

static void conn_start_linger(struct conn *c) {
        c->state = CONN_LINGER;
        if (c->ssl)
                (void)SSL_shutdown(c->ssl);
        (void)shutdown(c->fd, SHUT_WR);
        conn_timer(c, PH_LINGER, LINGER_SECONDS);
        conn_update_io(c);
}

/* Writes what is queued. Returns false when the connection was freed. */
static bool conn_flush(struct conn *c) {
        bool progress = false;

        while (c->out_off < c->out_len) {
                ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);
                if (n == -EAGAIN)
                        break;
                if (n < 0) {
                        conn_free(c);
                        return false;
                }
                c->out_off += (size_t)n;
                progress = true;
        }
        if (c->out_off == c->out_len) {
                c->out_off = c->out_len = 0;
                if (c->state == CONN_CLOSING) {
                        if (c->read_eof) {
                                conn_free(c);
                                return false;
                        }
                        conn_start_linger(c);
                        return true;
                }
                if ((c->state == CONN_HANDLING || c->state == CONN_UPGRADED) &&
                    c->phase == PH_WRITE)
                        conn_timer(c, PH_NONE, 0);
                if (c->state == CONN_UPGRADED && c->up_shut_wr && progress)
                        conn_up_shut(c);
                if (c->state == CONN_UPGRADED && progress && c->req && c->req->up_ops->on_drain) {
                        conn_update_io(c);
                        c->req->up_ops->on_drain(c->req, c->req->up_ud);
                        return true; /* the callback may have ended the stream: c is live */
                }
                if (c->state == CONN_HANDLING && progress && c->req && c->req->streaming &&
                    c->req->on_drain) {
                        conn_update_io(c);
                        c->req->on_drain(c->req, c->req->on_drain_ud);
                        return true; /* the callback may have ended the stream: c is live */
                }
        } else if (progress && (c->state == CONN_HANDLING || c->state == CONN_CLOSING ||
                                c->state == CONN_UPGRADED))
                conn_timer(c, PH_WRITE, c->srv->cfg.write_timeout);
        else if ((c->state == CONN_HANDLING || c->state == CONN_UPGRADED) && c->phase == PH_NONE)
                conn_timer(c, PH_WRITE, c->srv->cfg.write_timeout);
        conn_update_io(c);
        return true;
}

bool http_tls_anonymous_allowed(const char *method, const char *path) {
        return (strcmp(method, "POST") == 0 && strcmp(path, "/v1/nodes/join") == 0) ||
               (strcmp(method, "GET") == 0 && strcmp(path, "/v1/cluster/ca") == 0);
}

static void conn_dispatch(struct conn *c) {
        struct http_server *s = c->srv;
        _cleanup_free_ char *allow = NULL;
        const struct http_route *route = NULL;
        struct http_req *req;
        int status;

        req = xnew0(struct http_req, 1);
        req->start_usec = now_usec();
        req->rq = http_reqparser_take(&c->rp);
        req->conn = c;
        req->keep_alive = req->rq->keep_alive;
        req->peer_cn = c->peer_cn ? xstrdup(c->peer_cn) : NULL;
        req->tls = c->ssl != NULL;
        c->req = req;
        c->state = CONN_HANDLING;
        conn_timer(c, PH_NONE, 0);

        if (http_query_parse(req->rq->query, &req->query, NULL) < 0) {
                http_reply_error(req, 400, "invalid", "bad query string");
                return;
        }
        /* TLS without a verified client certificate: only the join exception (see
         * http_tls_anonymous_allowed()); everything else needs the certificate. */
        if (c->ssl && !c->peer_cn && !http_tls_anonymous_allowed(req->rq->method, req->rq->path)) {
                http_reply_error(req, 401, "unauthorized",
                                 "a client certificate signed by the cluster CA is required");
                return;
        }
        /* Checked on every request too: a certificate revoked while its connection stays open
         * (keep-alive) loses access at its next request. */
        if (c->peer_serial && revoke_check(&s->revoked, s->revoked_file, c->peer_serial)) {
                req->keep_alive = false;
                http_reply_error(req, 403, "revoked", "the client certificate has been revoked");
                return;
        }
        status = http_router_match(s->router, req->rq->method, req->rq->path, &route, &req->params,
                                   &allow);
        switch (status) {
        case 200:
                route->fn(req, s->userdata);
                return;
        case 405:
                http_req_add_header(req, "Allow", allow);
                http_reply_error(req, 405, "method_not_allowed", "method %s is not allowed on '%s'",
                                 req->rq->method, req->rq->path);
                return;
        case 400:
                http_reply_error(req, 400, "invalid", "bad escape in path '%s'", req->rq->path);
                return;
        default:
                http_reply_error(req, 404, "not_found", "no route for %s '%s'", req->rq->method,
                                 req->rq->path);
                return;
        }
}

/* ---- streamed request bodies ---- */

void http_req_body_stream(struct http_req *req,
                          void (*on_chunk)(struct http_req *req, const char *data, size_t len,
                                           void *ud),
                          void (*on_end)(struct http_req *req, void *ud), void *ud) {
        req->on_chunk = on_chunk;
        req->on_end = on_end;
        req->body_ud = ud;
}

void http_req_body_pause(struct http_req *req, bool pause) {
        struct conn *c = req->conn;

        req->body_paused = pause;
        if (!c || c->sreq != req)
                return;
        if (pause)
                conn_update_io(c);
        else
                conn_process(c); /* what is buffered goes on at once */
}

struct body_buf {
        size_t max;
        void (*on_end)(struct http_req *req, void *ud);
        void *ud;
};

static void body_buf_chunk(struct http_req *req, const char *data, size_t len, void *ud) {
        struct body_buf *b = ud;
        struct http_request *r = req->rq;

        if (len > b->max - MIN(b->max, r->body_len)) {
                req->on_end = NULL;
                req->on_chunk = NULL;
                free(b);
                http_reply_error(req, 413, "too_large", "request body too large");
                return;
        }
        r->body = xrealloc(r->body, r->body_len + len + 1);
        memcpy(r->body + r->body_len, data, len);
        r->body_len += len;
        r->body[r->body_len] = '\0';
}

static void body_buf_end(struct http_req *req, void *ud) {
        struct body_buf b = *(struct body_buf *)ud;

        req->on_chunk = NULL;
        free(ud);
        b.on_end(req, b.ud);
}

void http_req_body_buffer(struct http_req *req, size_t max,
                          void (*on_end)(struct http_req *req, void *ud), void *ud) {
        struct body_buf *b = xnew0(struct body_buf, 1);

        *b = (struct body_buf){.max = max, .on_end = on_end, .ud = ud};
        http_req_body_stream(req, body_buf_chunk, body_buf_end, b);
}

static void conn_body_cb(void *ud, const char *data, size_t len) {
        struct conn *c = ud;
        struct http_req *req = c->sreq;

        if (!req)
                return; /* answered already: the rest is discarded */
        /* An idle deadline while a streamed body flows (uploads may take long). */
        conn_timer(c, PH_NONE, 0);
        conn_timer(c, PH_BODY, c->srv->cfg.body_timeout);
        if (req->on_chunk)
                req->on_chunk(req, data, len, req->body_ud);
}

static char **strv_copy_n(char *const *v) {
        char **out = NULL;

        for (size_t i = 0; v && v[i]; i++)
                strv_push(&out, v[i]);
        return out ? out : xnew0(char *, 1);
}

/* The head of the request being parsed, for a handler that runs before its body. */
static struct http_request *head_copy(const struct http_reqparser *rp) {
        const struct http_request *r = rp->req;
        struct http_request *h = xnew0(struct http_request, 1);

        h->method = xstrdup(r->method);
        h->url = xstrdup(r->url);
        h->path = xstrdup(r->path);
        h->query = r->query ? xstrdup(r->query) : NULL;
        h->headers = strv_copy_n(r->headers);
        h->n_headers = r->n_headers;
        h->http_major = r->http_major;
        h->http_minor = r->http_minor;
        h->expect_continue = r->expect_continue;
        h->keep_alive = http_should_keep_alive(&rp->p);
        return h;
}

/* The headers are in (the parser is paused): buffered body, or streamed to a handler now. */
static void conn_check_head(struct conn *c) {
        struct http_server *s = c->srv;
        _cleanup_free_ char *allow = NULL;
        const struct http_route *route = NULL;
        char **params = NULL;
        struct http_req *req;
        int status;

        status = http_router_match(s->router, c->rp.req->method, c->rp.req->path, &route, &params,
                                   &allow);
        if (status != 200 || !(route->flags & HTTP_ROUTE_STREAM_BODY) || (c->ssl && !c->peer_cn) ||
            http_reqparser_stream_body(&c->rp, conn_body_cb, c, route->max_body) < 0) {
                strv_free(params);
                if ((status == 200 && (route->flags & HTTP_ROUTE_STREAM_BODY) &&
                     !(c->ssl && !c->peer_cn)) ||
                    http_reqparser_body_too_large(&c->rp)) {
                        c->in_len = 0;
                        conn_error_reply(c, 413, "too_large", "request body too large");
                        return;
                }
                /* Buffered as usual; dispatched when complete. */
                http_reqparser_resume(&c->rp);
                return;
        }
        http_reqparser_resume(&c->rp);
        req = xnew0(struct http_req, 1);
        req->start_usec = now_usec();
        req->rq = head_copy(&c->rp);
        req->conn = c;
        req->keep_alive = req->rq->keep_alive;
        req->peer_cn = c->peer_cn ? xstrdup(c->peer_cn) : NULL;
        req->tls = c->ssl != NULL;
        req->params = params;
        c->sreq = req;
        if (http_query_parse(req->rq->query, &req->query, NULL) < 0) {
                http_reply_error(req, 400, "invalid", "bad query string");
                return;
        }
        route->fn(req, s->userdata);
}

/* The streamed body ended: the handler's on_end runs, the request is now an ordinary one. */
static void conn_stream_complete(struct conn *c) {
        struct http_req *req = TAKE_PTR(c->sreq);

        http_request_free(http_reqparser_take(&c->rp));
        if (!req)
                return;
        c->req = req;
        c->state = CONN_HANDLING;
        conn_timer(c, PH_NONE, 0);
        if (req->on_end)
                req->on_end(req, req->body_ud);
}

/* The connection failed under a streamed body: the handler hears of it as a vanished client. */
static void conn_stream_abort(struct conn *c) {
        struct http_req *req = TAKE_PTR(c->sreq);

        if (!req)
                return;
        req->conn = NULL;
        if (req->on_close)
                req->on_close(req, req->on_close_ud);
}

/* Parses buffered input and dispatches complete requests while the connection is reading. */
static void conn_process(struct conn *c) {
        if (c->processing)
                return; /* a handler resumed its body from inside a callback: the loop goes on */
        c->processing = true;
        while (c->state == CONN_READING && !(c->sreq && c->sreq->body_paused)) {
                ssize_t n = 0;

                if (c->in_len > 0) {
                        n = http_reqparser_feed(&c->rp, c->in, c->in_len);
                        if (n < 0) {
                                const struct http_reqparser *rp = &c->rp;
                                const char *code = rp->status == 413   ? "too_large"
                                                   : rp->status == 431 ? "header_too_large"
                                                                       : "bad_request";

                                c->in_len = 0;
                                c->processing = false;
                                conn_stream_abort(c);
                                conn_error_reply(c, rp->status, code,
                                                 rp->reason ? rp->reason : "bad request");
                                return;
                        }
                        memmove(c->in, c->in + n, c->in_len - (size_t)n);
                        c->in_len -= (size_t)n;
                }
                if (c->rp.head_paused) {
                        conn_check_head(c);
                        continue;
                }
                if (c->rp.complete) {
                        if (c->rp.streaming)
                                conn_stream_complete(c);
                        else
                                conn_dispatch(c);
                        continue;
                }
                if (c->rp.headers_done) {
                        if (c->rp.req && c->rp.req->expect_continue && !c->sent_continue) {
                                c->sent_continue = true;
                                out_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
                        }
                        if (!c->rp.streaming) /* streamed: an idle timer, reset per piece */
                                conn_timer(c, PH_BODY, c->srv->cfg.body_timeout);
                } else if (c->rp.started)
                        conn_timer(c, PH_HEADER, c->srv->cfg.header_timeout);
                else
                        conn_timer(c, PH_IDLE, c->srv->cfg.idle_timeout);
                break;
        }
        c->processing = false;
        if (c->state == CONN_READING && c->read_eof && !c->sreq) {
                /* The client half-closed in the middle of (or between) requests. */
                conn_free(c);
                return;
        }
        conn_update_io(c);
}

static void conn_handshake(struct conn *c) {
        X509 *peer;
        int r, e;

        ERR_clear_error();
        r = SSL_do_handshake(c->ssl);
        if (r == 1) {
                c->state = CONN_READING;
                c->read_wants_write = false;
                peer = SSL_get1_peer_certificate(c->ssl);
                if (peer) {
                        char cn[256];

                        if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
                                                      cn, sizeof(cn)) > 0)
                                c->peer_cn = xstrdup(cn);
                        /* A revoked certificate completes the handshake so that each of
                         * its requests gets a clear 403 saying why (conn_dispatch) instead of
                         * a dropped connection the client cannot explain. */
                        c->peer_serial = revoke_serial_of(peer);
                        X509_free(peer);
                }
                conn_timer(c, PH_IDLE, c->srv->cfg.idle_timeout);
                conn_update_io(c);
                return;
        }
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                c->read_wants_write = e == SSL_ERROR_WANT_WRITE;
                conn_update_io(c);
                return;
        }
        /* Failed handshake (no or untrusted client certificate): drop the connection. */
        conn_free(c);
}

/* Upgraded: bytes go straight to the handler, a bounded batch per event (fairness). Nothing is
 * buffered here, so pausing stops reading from the socket at once (backpressure). */
static void conn_upgraded_read(struct conn *c) {
        char buf[16384];

        for (int i = 0;
             i < 16 && c->state == CONN_UPGRADED && c->req && !c->req->up_paused && !c->read_eof;
             i++) {
                ssize_t n = conn_recv(c, buf, sizeof(buf));

                if (n == -EAGAIN)
                        break;
                if (n < 0) {
                        conn_free(c);
                        return;
                }
                if (n == 0) {
                        /* Half-close: the client will send no more, but may still read. */
                        c->read_eof = true;
                        conn_update_io(c);
                        if (c->req->up_ops->on_eof)
                                c->req->up_ops->on_eof(c->req, c->req->up_ud);
                        return;
                }
                c->req->up_ops->on_data(c->req, buf, (size_t)n, c->req->up_ud);
        }
        conn_update_io(c);
}

static void conn_on_readable(struct conn *c) {
        char discard[4096];

        if (c->state == CONN_HANDSHAKE) {
                conn_handshake(c);
                return;
        }
        c->read_wants_write = false;
        if (c->state == CONN_UPGRADED) {
                conn_upgraded_read(c);
                return;
        }
        for (;;) {
                ssize_t n;

                if (c->state == CONN_CLOSING || c->state == CONN_LINGER) {
                        n = conn_recv(c, discard, sizeof(discard));
                        if (n == -EAGAIN)
                                break;
                        if (n <= 0) {
                                if (c->state == CONN_LINGER || n < 0) {
                                        conn_free(c);
                                        return;
                                }
                                c->read_eof = true; /* the response may still go out */
                                break;
                        }
                        continue;
                }
                if (c->in_len >= IN_BUF_MAX)
                        break;
                if (!c->in)
                        c->in = xmalloc(IN_BUF_MAX);
                n = conn_recv(c, c->in + c->in_len, IN_BUF_MAX - c->in_len);
                if (n == -EAGAIN)
                        break;
                if (n == 0 && c->in_len > 0) {
                        /* A half-close right behind a request (a raw client that sends its
                         * whole input at once): answer what is buffered, then close. */
                        c->read_eof = true;
                        break;
                }
                if (n <= 0) {
                        /* EOF or error: the client is gone (a half-closed client cannot be told
                         * apart from a vanished one here, and no API client half-closes). */
                        conn_free(c);
                        return;
                }
                c->in_len += (size_t)n;
        }
        if (c->state == CONN_READING)
                conn_process(c);
        else
                conn_update_io(c);
}

static void conn_rio_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct conn *c = container_of(w, struct conn, rio);

        (void)loop;
        (void)revents;
        conn_on_readable(c);
}

static void conn_wio_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct conn *c = container_of(w, struct conn, wio);

        (void)loop;
        (void)revents;
        if (c->state == CONN_HANDSHAKE) {
                conn_handshake(c);
                return;
        }
        if (c->read_wants_write) {
                conn_on_readable(c);
                return;
        }
        if (!conn_flush(c))
                return;
        if (c->state == CONN_READING && c->in_len > 0)
                conn_process(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct conn *c = container_of(w, struct conn, timer);

        (void)loop;
        (void)revents;
        c->phase = PH_NONE;
        if (c->state == CONN_READING && c->rp.started) {
                /* A slow client: answer 408 and close. */
                c->in_len = 0;
                conn_stream_abort(c);
                conn_error_reply(c, 408, "timeout", "timed out waiting for the request");
                return;
        }
        conn_free(c);
}

static void conn_new(struct http_server *s, int fd, SSL_CTX *tls) {
        struct conn *c = xnew0(struct conn, 1);

        c->srv = s;
        c->fd = fd;
        c->state = CONN_READING;
        http_reqparser_init(&c->rp, &s->cfg.limits);
        c->rp.pause_at_headers = true; /* conn_check_head() picks buffered or streamed */
        ev_io_init(&c->rio, conn_rio_cb, fd, EV_READ);
        ev_io_init(&c->wio, conn_wio_cb, fd, EV_WRITE);
        ev_init(&c->timer, conn_timer_cb);
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;

        if (tls) {
                c->ssl = SSL_new(tls);
                if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
                        conn_free(c);
                        return;
                }
                SSL_set_accept_state(c->ssl);
                SSL_set_mode(c->ssl,
                             SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
                c->state = CONN_HANDSHAKE;
                conn_timer(c, PH_HANDSHAKE, s->cfg.header_timeout);
        } else
                conn_timer(c, PH_IDLE, s->cfg.idle_timeout);
        conn_update_io(c);
}

static void listener_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct listener *l = container_of(w, struct listener, io);
        struct http_server *s = l->srv;

        (void)loop;
        (void)revents;
        for (int i = 0; i < ACCEPT_BATCH; i++) {
                int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                            errno == ENOMEM) {
                                /* The pending connection stays in the backlog and the watcher
                                 * would fire again at once: pause accepting for a moment. */
                                ev_io_stop(s->loop, &l->io);
                                ev_timer_set(&l->pause, 0.1, 0.);
                                ev_timer_start(s->loop, &l->pause);
                        }
                        return; /* EAGAIN, or a transient error: the next event retries */
                }
                if (s->n_conns >= s->cfg.max_conns) {
                        static const char busy[] =
                                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                "Content-Type: application/json\r\nContent-Length: 70\r\n\r\n"
                                "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many "
                                "connections\"}}\n";

                        if (!l->tls)
                                (void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
                        safe_close(fd);
                        continue;
                }
                conn_new(s, fd, l->tls);
        }
}

static void listener_pause_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct listener *l = container_of(w, struct listener, pause);

        (void)revents;
        ev_io_start(loop, &l->io);
}

/* ---- server ---- */

static void shutdown_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct http_server *s = container_of(w, struct http_server, shutdown_timer);

        (void)loop;
        (void)revents;
        while (s->conns)
                conn_free(s->conns);
        ev_timer_stop(s->loop, &s->shutdown_timer);
        if (!s->shutdown_done) {
                s->shutdown_done = true;
                if (s->shutdown_cb)
                        s->shutdown_cb(s, s->shutdown_ud);
        }
}

int http_server_new(struct ev_loop *loop, const struct http_server_config *cfg,
                    const struct http_router *router, void *userdata, struct http_server **ret,
                    struct err **errp) {
        struct http_server *s;

        if (!loop || !router)
                return err_setx(errp, EINVAL, "http server: a loop and a router are required");
        s = xnew0(struct http_server, 1);
        s->loop = loop;
        s->router = router;
        s->userdata = userdata;
        if (cfg)
                s->cfg = *cfg;
        if (s->cfg.header_timeout <= 0)
                s->cfg.header_timeout = 10;
        if (s->cfg.body_timeout <= 0)
                s->cfg.body_timeout = 30;
        if (s->cfg.idle_timeout <= 0)
                s->cfg.idle_timeout = 60;
        if (s->cfg.write_timeout <= 0)
                s->cfg.write_timeout = 30;
        if (s->cfg.max_conns == 0)
                s->cfg.max_conns = 1024;
        ev_init(&s->shutdown_timer, shutdown_timer_cb);
        *ret = s;
        return 0;
}

static void listener_close(struct http_server *s, struct listener *l) {
        ev_io_stop(s->loop, &l->io);
        ev_timer_stop(s->loop, &l->pause);
        safe_close(l->fd);
        if (l->unix_path)
                (void)unlink(l->unix_path);
        free(l->unix_path);
        if (l->tls)
                SSL_CTX_free(l->tls);
        free(l);
}

struct http_server *http_server_free(struct http_server *s) {
        if (!s)
                return NULL;
        s->shutdown_done = true; /* no callback from here on */
        while (s->conns)
                conn_free(s->conns);
        while (s->listeners) {
                struct listener *l = s->listeners;
                s->listeners = l->next;
                listener_close(s, l);
        }
        ev_timer_stop(s->loop, &s->shutdown_timer);
        free(s->revoked_file);
        revoke_cache_done(&s->revoked);
        free(s);
        return NULL;
}

void http_server_freep(struct http_server **s) {
        *s = http_server_free(*s);
}

unsigned http_server_n_conns(const struct http_server *s) {
        return s->n_conns;
}

static void listener_add(struct http_server *s, int fd, SSL_CTX *tls, const char *unix_path) {
        struct listener *l = xnew0(struct listener, 1);

        l->srv = s;
        l->fd = fd;
        l->tls = tls;
        l->unix_path = unix_path ? xstrdup(unix_path) : NULL;
        ev_io_init(&l->io, listener_cb, fd, EV_READ);
        ev_init(&l->pause, listener_pause_cb);
        ev_io_start(s->loop, &l->io);
        l->next = s->listeners;
        s->listeners = l;
}

int http_server_listen_unix(struct http_server *s, const char *path, mode_t mode, gid_t gid,
                            struct err **errp) {
        _cleanup_close_ int fd = -EBADF, dirfd = -EBADF;
        struct sockaddr_un sa;
        struct stat st;

        if (s->shutting_down)
                return err_setx(errp, ESHUTDOWN, "listen on '%s': server is shutting down", path);
        if (unix_sockaddr(path, &sa, &dirfd, errp) < 0)
                return err_wrap(errp, "listen on '%s'", path);

        /* A socket left by a previous run is replaced; anything else at the path is an error.
         * The caller guarantees no live server owns it (the daemon holds the root lock). */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return err_setx(errp, EEXIST,
                                        "listen on '%s': path exists and is not a socket", path);
                if (unlink(path) < 0)
                        return err_set(errp, errno, "remove stale socket '%s'", path);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(errp, errno, "create unix socket");
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(errp, errno, "bind '%s'", path);
        if (chmod(path, mode) < 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)) {
                int r = err_set(errp, errno, "set permissions of '%s'", path);
                (void)unlink(path);
                return r;
        }
        if (listen(fd, 128) < 0) {
                int r = err_set(errp, errno, "listen on '%s'", path);
                (void)unlink(path);
                return r;
        }
        listener_add(s, TAKE_FD(fd), NULL, path);
        return 0;
}

static int tls_error(struct err **errp, const char *what) {
        char buf[256] = "unknown TLS error";
        unsigned long e = ERR_peek_last_error();

        if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return err_setx(errp, EPROTO, "%s: %s", what, buf);
}

static void ssl_ctx_freep(SSL_CTX **p) {
        if (*p)
                SSL_CTX_free(*p);
}

static int tls_server_ctx(const struct http_tls_config *tls, SSL_CTX **ret, struct err **errp) {
        _cleanup_(ssl_ctx_freep) SSL_CTX *ctx = NULL;
        STACK_OF(X509_NAME) * names;

        if (!tls || !tls->cert_file || !tls->key_file || !tls->ca_file)
                return err_setx(errp, EINVAL, "TLS listener needs a certificate, key and CA");
        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx)
                return tls_error(errp, "create TLS context");
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
        /* A client's TCP half-close on an upgraded stream (its stdin ended) reads as EOF, not
         * as an error: bodies are delimited by HTTP, not by the TLS close. */
        SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
        if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1)
                return tls_error(errp, tls->cert_file);
        if (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file, SSL_FILETYPE_PEM) != 1)
                return tls_error(errp, tls->key_file);
        if (SSL_CTX_check_private_key(ctx) != 1)
                return tls_error(errp, "server key does not match the certificate");
        if (SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1)
                return tls_error(errp, tls->ca_file);
        names = SSL_load_client_CA_file(tls->ca_file);
        if (names)
                SSL_CTX_set_client_CA_list(ctx, names);
        /* Mutual TLS only: no client certificate, or one that does not chain to the CA, fails
         * the handshake. */
        /* Request a client certificate and fail the handshake on one that does not chain to
         * the CA, but let a client without any certificate in: conn_dispatch() answers it 401
         * on every route except the join exception (docs/cluster.md). */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* Parses "host:port" / "[v6]:port". */
static int split_hostport(const char *addr, char **ret_host, char **ret_port, struct err **errp) {
        const char *colon, *host;
        size_t hlen;

        if (addr[0] == '[') {
                const char *close = strchr(addr, ']');
                if (!close || close[1] != ':')
                        return err_setx(errp, EINVAL,
                                        "bad listen address '%s': expected [ADDR]:PORT", addr);
                host = addr + 1;
                hlen = (size_t)(close - host);
                colon = close + 1;
        } else {
                colon = strrchr(addr, ':');
                if (!colon || colon == addr || strchr(addr, ':') != colon)
                        return err_setx(errp, EINVAL, "bad listen address '%s': expected ADDR:PORT",
                                        addr);
                host = addr;
                hlen = (size_t)(colon - addr);
        }
        if (!colon[1] || strlen(colon + 1) > 5 ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
            strtoul(colon + 1, NULL, 10) > 65535)
                return err_setx(errp, EINVAL, "bad listen address '%s': bad port", addr);
        *ret_host = xstrndup(host, hlen);
        *ret_port = xstrdup(colon + 1);
        return 0;
}

int http_listen_addr_check(const char *addr, struct err **errp) {
        _cleanup_free_ char *host = NULL, *port = NULL;
        unsigned char buf[sizeof(struct in6_addr)];
        int r;

        r = split_hostport(addr, &host, &port, errp);
        if (r < 0)
                return r;
        if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
                return err_setx(errp, EINVAL, "bad listen address '%s': '%s' is not an IP address",
                                addr, host);
        return 0;
}

int http_server_listen_tls(struct http_server *s, const char *addr,
                           const struct http_tls_config *tls, int *ret_port, struct err **errp) {
        _cleanup_(ssl_ctx_freep) SSL_CTX *ctx = NULL;
        _cleanup_free_ char *host = NULL, *port = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *ai = NULL;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int r, one = 1;

        if (s->shutting_down)
                return err_setx(errp, ESHUTDOWN, "listen on '%s': server is shutting down", addr);
        r = split_hostport(addr, &host, &port, errp);
        if (r < 0)
                return r;
        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return err_setx(errp, EINVAL, "bad listen address '%s': %s", addr, gai_strerror(r));
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                freeaddrinfo(ai);
                return err_set(errp, errno, "create socket for '%s'", addr);
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                freeaddrinfo(ai);
                return err_set(errp, errno, "bind '%s'", addr);
        }
        freeaddrinfo(ai);
        if (listen(fd, 128) < 0)
                return err_set(errp, errno, "listen on '%s'", addr);
        r = tls_server_ctx(tls, &ctx, errp);
        if (r < 0)
                return err_wrap(errp, "listen on '%s'", addr);
        if (ret_port) {
                if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
                        return err_set(errp, errno, "getsockname '%s'", addr);
                *ret_port = ss.ss_family == AF_INET6
                                    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
        if (tls->revoked_file) {
                free(s->revoked_file);
                s->revoked_file = xstrdup(tls->revoked_file);
        }
        listener_add(s, TAKE_FD(fd), TAKE_PTR(ctx), NULL);
        return 0;
}

void http_server_shutdown(struct http_server *s, double timeout,
                          void (*done)(struct http_server *s, void *ud), void *ud) {
        struct conn *c, *next;

        if (s->shutting_down)
                return;
        s->shutting_down = true;
        s->shutdown_cb = done;
        s->shutdown_ud = ud;
        while (s->listeners) {
                struct listener *l = s->listeners;
                s->listeners = l->next;
                listener_close(s, l);
        }
        for (c = s->conns; c; c = next) {
                next = c->next;
                if (c->state == CONN_HANDSHAKE ||
                    (c->state == CONN_READING && !c->rp.started && c->out_off == c->out_len))
                        conn_free(c);
        }
        ev_timer_stop(s->loop, &s->shutdown_timer);
        ev_timer_set(&s->shutdown_timer, s->n_conns == 0 ? 0. : timeout, 0.);
        ev_timer_start(s->loop, &s->shutdown_timer);
}
