/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "http_client.h"
#include "strv.h"
#include "uhttp.h"
#include "xalloc.h"

#define MAX_RESPONSE_SIZE (256u * 1024u * 1024u)
#define MAX_LINE_SIZE (16u * 1024u * 1024u)

/* One transfer: the easy handle and what it collects. */
struct http_xfer {
        struct http_multi *multi;
        struct http_xfer *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char errbuf[CURL_ERROR_SIZE];
        http_line_fn *on_line;
        void *ud;
        int line_r;     /* negative return of on_line that stopped the transfer */
        bool too_large; /* response larger than MAX_RESPONSE_SIZE */
        char *buf;      /* body, or the partial line when streaming */
        size_t len, alloc;
        http_done_fn *done;
        void *done_ud;
        int body_fd; /* stream_body */
};

static void xfer_free(struct http_xfer *x) {
        if (!x)
                return;
        if (x->easy)
                curl_easy_cleanup(x->easy);
        curl_slist_free_all(x->headers);
        free(x->url);
        free(x->buf);
        free(x);
}

static void buf_append(struct http_xfer *x, const char *p, size_t n) {
        if (x->len + n + 1 > x->alloc) {
                x->alloc = MAX(x->alloc * 2, x->len + n + 1);
                x->buf = xrealloc(x->buf, x->alloc);
        }
        memcpy(x->buf + x->len, p, n);
        x->len += n;
        x->buf[x->len] = '\0';
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud) {
        struct http_xfer *x = ud;
        size_t n = size * nmemb;
        long status = 0;

        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (!x->on_line || status < 200 || status > 299) {
                if (x->len + n > MAX_RESPONSE_SIZE) {
                        x->too_large = true;
                        return 0;
                }
                buf_append(x, p, n);
                return n;
        }
        /* Streaming: hand out complete lines, keep the partial one. */
        for (size_t off = 0; off < n;) {
                const char *nl = memchr(p + off, '\n', n - off);
                size_t take = nl ? (size_t)(nl - (p + off)) : n - off;

                if (x->len + take > MAX_LINE_SIZE) {
                        x->too_large = true;
                        return 0;
                }
                buf_append(x, p + off, take);
                off += take;
                if (nl) {
                        int r = x->on_line(x->buf, x->len, x->ud);

                        x->len = 0;
                        off++;
                        if (r < 0) {
                                x->line_r = r;
                                return 0;
                        }
                }
        }
        return n;
}

/* curl's own sockets are not close-on-exec; the daemons fork and exec, so open them ourselves
 * (STYLE C7). */
static curl_socket_t open_socket_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *addr) {
        (void)ud;
        (void)purpose;
        return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static size_t read_fd_cb(char *buf, size_t size, size_t nmemb, void *ud) {
        int fd = *(int *)ud;
        ssize_t n;

        do
                n = read(fd, buf, size * nmemb);
        while (n < 0 && errno == EINTR);
        return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

/* Builds the easy handle for one call. */
static int xfer_new(const struct http_target *t, const struct http_call *call,
                    struct http_xfer **ret, struct err **errp) {
        struct http_xfer *x;
        const char *method = call->method ? call->method : "GET";
        const char *path = call->path && call->path[0] == '/' ? call->path : "/";
        int r;

        r = http_target_check(t, errp);
        if (r < 0)
                return r;
        x = xnew0(struct http_xfer, 1);
        x->easy = curl_easy_init();
        if (!x->easy)
                oom();
        x->on_line = call->on_line;
        x->ud = call->ud;

        if (str_startswith(t->host, "unix://")) {
                curl_easy_setopt(x->easy, CURLOPT_UNIX_SOCKET_PATH, t->host + 7);
                x->url = xasprintf("http://localhost%s", path);
        } else {
                size_t hl = strlen(t->host);

                while (hl > 8 && t->host[hl - 1] == '/')
                        hl--;
                x->url = xasprintf("%.*s%s", (int)hl, t->host, path);
                if (!t->tls_anonymous) {
                        curl_easy_setopt(x->easy, CURLOPT_SSLCERT, t->tls_cert);
                        curl_easy_setopt(x->easy, CURLOPT_SSLKEY, t->tls_key);
                }
                curl_easy_setopt(x->easy, CURLOPT_CAPATH, NULL);
                if (t->tls_ca) {
                        curl_easy_setopt(x->easy, CURLOPT_CAINFO, t->tls_ca);
                        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
                        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
                } else {
                        /* tls_anonymous without a CA: the caller pins what it receives. */
                        curl_easy_setopt(x->easy, CURLOPT_CAINFO, NULL);
                        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
                        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
                }
        }
        curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
        curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
        curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
        curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         t->connect_timeout_ms > 0 ? t->connect_timeout_ms : 10000L);
        if (call->timeout_ms > 0)
                curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, call->timeout_ms);
        curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
        if (streq(method, "HEAD"))
                curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
        x->headers = curl_slist_append(x->headers, "Expect:");
        x->headers = curl_slist_append(x->headers, "Accept: application/json");
        if (call->stream_body) {
                _cleanup_free_ char *ct =
                        xasprintf("Content-Type: %s",
                                  call->content_type ? call->content_type : "application/x-tar");
                struct stat st;
                off_t pos = lseek(call->body_fd, 0, SEEK_CUR);

                x->headers = curl_slist_append(x->headers, ct);
                x->body_fd = call->body_fd;
                curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
                curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, read_fd_cb);
                curl_easy_setopt(x->easy, CURLOPT_READDATA, &x->body_fd);
                curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                                 fstat(call->body_fd, &st) == 0 && S_ISREG(st.st_mode) && pos >= 0
                                         ? (curl_off_t)(st.st_size - pos)
                                         : (curl_off_t)-1);
                curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
        } else if (call->body) {
                _cleanup_free_ char *ct =
                        xasprintf("Content-Type: %s",
                                  call->content_type ? call->content_type : "application/json");

                x->headers = curl_slist_append(x->headers, ct);
                curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
                curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, call->body);
                /* COPYPOSTFIELDS switches to POST; keep the method asked for. */
                curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
        }
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
        *ret = x;
        return 0;
}

/* Turns a finished transfer into a response or an error. */
static int xfer_result(struct http_xfer *x, CURLcode cc, const char *host,
                       struct http_response *ret, struct err **errp) {
        const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
        char *ct = NULL;
        long status = 0;
        int code;

        if (x->line_r < 0)
                return err_setx(errp, -x->line_r, "stream from '%s' stopped", host);
        if (x->too_large)
                return err_setx(errp, EFBIG, "response from '%s' is too large", host);
        switch (cc) {
        case CURLE_OK:
                break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
                code = ECONNREFUSED;
                goto fail;
        case CURLE_OPERATION_TIMEDOUT:
                code = ETIMEDOUT;
                goto fail;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CIPHER:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
                code = str_startswith(host, "https://") ? EPROTO : ECONNRESET;
                goto fail;
        default:
                code = EIO;
                goto fail;
        }
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
        *ret = (struct http_response){.status = status};
        if (ct)
                ret->content_type = xstrdup(ct);
        if (x->on_line && status >= 200 && status <= 299) {
                /* A last line without a newline. */
                if (x->len > 0) {
                        int r = x->on_line(x->buf, x->len, x->ud);
                        if (r < 0) {
                                http_response_done(ret);
                                return err_setx(errp, -r, "stream from '%s' stopped", host);
                        }
                }
                ret->body = xstrdup("");
        } else {
                ret->body = x->buf ? TAKE_PTR(x->buf) : xstrdup("");
                ret->body_len = x->len;
        }
        return 0;
fail:
        return err_setx(errp, code, "request to '%s' failed: %s", host, detail);
}

int http_request(const struct http_target *t, const struct http_call *call,
                 struct http_response *ret, struct err **errp) {
        struct http_xfer *x = NULL;
        CURLcode cc;
        int r;

        if (t && t->host && str_startswith(t->host, "unix://"))
                return uhttp_request(t, call, ret, errp);
        r = xfer_new(t, call, &x, errp);
        if (r < 0)
                return r;
        cc = curl_easy_perform(x->easy);
        r = xfer_result(x, cc, t->host, ret, errp);
        xfer_free(x);
        return r;
}

/* ---- upgraded (raw) connections over TLS (unix sockets: uhttp.c) ---- */

static ssize_t curl_raw_send(void *impl, const void *data, size_t len) {
        struct http_xfer *x = impl;
        size_t n = 0;
        CURLcode cc = curl_easy_send(x->easy, data, len, &n);

        if (cc == CURLE_AGAIN)
                return -EAGAIN;
        if (cc != CURLE_OK)
                return -ECONNRESET;
        return (ssize_t)n;
}

static ssize_t curl_raw_recv(void *impl, void *buf, size_t len) {
        struct http_xfer *x = impl;
        size_t n = 0;
        CURLcode cc = curl_easy_recv(x->easy, buf, len, &n);

        if (cc == CURLE_AGAIN)
                return -EAGAIN;
        if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_RECV_ERROR || cc == CURLE_OK)
                return cc == CURLE_OK ? (ssize_t)n : -ECONNRESET;
        return -EIO;
}

static void curl_raw_free(void *impl) {
        xfer_free(impl); /* closes the socket */
}

static const struct http_raw_ops curl_raw_ops = {
        .send = curl_raw_send,
        .recv = curl_raw_recv,
        .free = curl_raw_free,
};

static int64_t mono_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events, bounded by deadline (monotonic ms). */
static int raw_wait(int fd, short events, int64_t deadline, const char *host, struct err **errp) {
        for (;;) {
                struct pollfd p = {.fd = fd, .events = events};
                int64_t left = deadline - mono_msec();
                int r;

                if (left <= 0)
                        return err_setx(errp, ETIMEDOUT, "request to '%s' timed out", host);
                r = poll(&p, 1, (int)left);
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return err_set(errp, errno, "poll");
        }
}

static int tls_send_all(struct http_xfer *x, int fd, const char *data, size_t len, int64_t deadline,
                        const char *host, struct err **errp) {
        while (len > 0) {
                ssize_t n = curl_raw_send(x, data, len);
                int r;

                if (n == -EAGAIN) {
                        r = raw_wait(fd, POLLOUT, deadline, host, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return err_setx(errp, ECONNRESET, "send to '%s' failed", host);
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

int http_upgrade(const struct http_target *t, const struct http_call *call,
                 struct http_raw **ret_raw, struct http_response *ret_resp, struct err **errp) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        _cleanup_free_ char *req = NULL, *buf = NULL;
        const char *method = call->method ? call->method : "POST";
        int64_t deadline = mono_msec() + (call->timeout_ms > 0 ? call->timeout_ms : 30000);
        struct http_xfer *x = NULL;
        curl_socket_t sock = CURL_SOCKET_BAD;
        size_t len = 0;
        ssize_t k = 0;
        CURLcode cc;
        int r, fd;

        *ret_raw = NULL;
        if (t && t->host && str_startswith(t->host, "unix://"))
                return uhttp_upgrade(t, call, ret_raw, ret_resp, errp);
        r = xfer_new(t, &(struct http_call){.method = "GET", .path = "/"}, &x, errp);
        if (r < 0)
                return r;
        curl_easy_setopt(x->easy, CURLOPT_CONNECT_ONLY, 1L);
        cc = curl_easy_perform(x->easy);
        if (cc != CURLE_OK) {
                struct http_response dummy = {};

                r = xfer_result(x, cc, t->host, &dummy, errp);
                http_response_done(&dummy);
                xfer_free(x);
                return r < 0 ? r : err_setx(errp, EIO, "connect to '%s' failed", t->host);
        }
        if (curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
            sock == CURL_SOCKET_BAD) {
                xfer_free(x);
                return err_setx(errp, EIO, "connect to '%s': no socket", t->host);
        }
        fd = (int)sock;
        req = xasprintf("%s %s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth\r\n"
                        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: %s\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        method, call->path && call->path[0] == '/' ? call->path : "/",
                        call->content_type ? call->content_type : "application/json",
                        call->body ? call->body_len : 0);
        r = tls_send_all(x, fd, req, strlen(req), deadline, t->host, errp);
        if (r >= 0 && call->body)
                r = tls_send_all(x, fd, call->body, call->body_len, deadline, t->host, errp);
        /* The answer's head, parsed like any other (uhttp.c); an error answer keeps its body. */
        p = uhttp_resp_new(&(struct uhttp_resp_opts){.upgrade = true, .max_body = 1024 * 1024});
        buf = xmalloc(65536);
        while (r >= 0 && !uhttp_resp_done(p)) {
                ssize_t n = curl_raw_recv(x, buf, 65536);

                if (n == -EAGAIN) {
                        r = raw_wait(fd, POLLIN, deadline, t->host, errp);
                        continue;
                }
                if (n < 0) {
                        r = err_setx(errp, ECONNRESET, "'%s' closed the connection", t->host);
                        break;
                }
                len = (size_t)n;
                k = uhttp_resp_feed(p, buf, len, errp);
                if (k < 0)
                        r = err_wrap(errp, "answer from '%s'", t->host);
        }
        if (r < 0) {
                xfer_free(x);
                return r;
        }
        uhttp_resp_take(p, ret_resp);
        if (ret_resp->status != 101 && ret_resp->status != 200) {
                xfer_free(x);
                return 0;
        }
        *ret_raw = http_raw_new(fd, &curl_raw_ops, x, buf + k, len - (size_t)k);
        return 0;
}

const struct http_transport http_transport_full = {
        .name = "full",
        .tls = true,
        .request = http_request,
        .upgrade = http_upgrade,
};

/* ---- curl multi on libev ---- */

struct http_multi {
        struct ev_loop *loop;
        CURLM *multi;
        ev_timer timer;
        struct http_xfer *xfers;
        unsigned n_xfers;
        bool in_check;
};

/* One socket curl wants watched. */
struct msock {
        struct http_multi *m;
        curl_socket_t fd;
        ev_io io;
};

static void check_done(struct http_multi *m) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(m->multi, &left))) {
                struct http_xfer *x = NULL;
                struct http_response resp = {};
                _cleanup_err_ struct err *e = NULL;
                int r;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                curl_multi_remove_handle(m->multi, x->easy);
                if (x->prev)
                        x->prev->next = x->next;
                else
                        m->xfers = x->next;
                if (x->next)
                        x->next->prev = x->prev;
                m->n_xfers--;
                r = xfer_result(x, msg->data.result, x->url, &resp, &e);
                if (x->done)
                        x->done(r, r < 0 ? NULL : &resp, e, x->done_ud);
                http_response_done(&resp);
                xfer_free(x);
        }
}

static void msock_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct msock *s = container_of(w, struct msock, io);
        struct http_multi *m = s->m;
        int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
        int running;

        (void)loop;
        curl_multi_socket_action(m->multi, s->fd, action, &running);
        check_done(m);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct http_multi *m = userp;
        struct msock *s = socketp;
        int events = 0;

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        ev_io_stop(m->loop, &s->io);
                        curl_multi_assign(m->multi, fd, NULL);
                        free(s);
                }
                return 0;
        }
        if (!s) {
                s = xnew0(struct msock, 1);
                s->m = m;
                s->fd = fd;
                ev_init(&s->io, msock_cb);
                curl_multi_assign(m->multi, fd, s);
        }
        if (what & CURL_POLL_IN)
                events |= EV_READ;
        if (what & CURL_POLL_OUT)
                events |= EV_WRITE;
        ev_io_stop(m->loop, &s->io);
        ev_io_set(&s->io, fd, events);
        ev_io_start(m->loop, &s->io);
        return 0;
}

static void mtimer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct http_multi *m = container_of(w, struct http_multi, timer);
        int running;

        (void)loop;
        (void)revents;
        curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(m);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        struct http_multi *m = userp;

        (void)multi;
        ev_timer_stop(m->loop, &m->timer);
        if (timeout_ms >= 0) {
                /* Never act from inside this callback: let the loop fire the timer. */
                ev_timer_set(&m->timer, (double)timeout_ms / 1000.0, 0.);
                ev_timer_start(m->loop, &m->timer);
        }
        return 0;
}

/* The open file descriptors (from /proc/self/fd), for spotting the ones a library opened. */
static int *open_fds(size_t *ret_n) {
        _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int *fds = NULL;
        size_t n = 0, alloc = 0;

        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
                        continue;
                XGROW(fds, alloc, n + 1);
                fds[n++] = atoi(de->d_name);
        }
        *ret_n = n;
        return fds;
}

int http_multi_new(struct ev_loop *loop, struct http_multi **ret, struct err **errp) {
        _cleanup_free_ int *before = NULL, *after = NULL;
        size_t n_before = 0, n_after = 0;
        struct http_multi *m;

        /* Reference-counted inside curl; easy handles would do it lazily, multi handles not. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return err_setx(errp, EIO, "initialise libcurl");
        m = xnew0(struct http_multi, 1);
        m->loop = loop;
        before = open_fds(&n_before);
        m->multi = curl_multi_init();
        /* curl's wake-up socketpair is not close-on-exec: fix what curl_multi_init() opened
         * (one thread, so every new fd is curl's). */
        after = open_fds(&n_after);
        for (size_t i = 0; i < n_after; i++) {
                bool old_fd = false;

                for (size_t k = 0; k < n_before && !old_fd; k++)
                        old_fd = before[k] == after[i];
                if (!old_fd) {
                        int fl = fcntl(after[i], F_GETFD);
                        if (fl >= 0)
                                (void)fcntl(after[i], F_SETFD, fl | FD_CLOEXEC);
                }
        }
        if (!m->multi) {
                free(m);
                return err_setx(errp, ENOMEM, "create curl multi handle");
        }
        ev_init(&m->timer, mtimer_cb);
        curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
        curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
        *ret = m;
        return 0;
}

static void xfer_unlink_free(struct http_multi *m, struct http_xfer *x) {
        curl_multi_remove_handle(m->multi, x->easy);
        if (x->prev)
                x->prev->next = x->next;
        else
                m->xfers = x->next;
        if (x->next)
                x->next->prev = x->prev;
        m->n_xfers--;
        xfer_free(x);
}

struct http_multi *http_multi_free(struct http_multi *m) {
        if (!m)
                return NULL;
        while (m->xfers)
                xfer_unlink_free(m, m->xfers);
        ev_timer_stop(m->loop, &m->timer);
        curl_multi_cleanup(m->multi);
        free(m);
        return NULL;
}

void http_multi_freep(struct http_multi **m) {
        *m = http_multi_free(*m);
}

int http_multi_request(struct http_multi *m, const struct http_target *t,
                       const struct http_call *call, http_done_fn *done, void *ud,
                       struct http_xfer **ret, struct err **errp) {
        struct http_xfer *x = NULL;
        CURLMcode mc;
        int r;

        r = xfer_new(t, call, &x, errp);
        if (r < 0)
                return r;
        x->multi = m;
        x->done = done;
        x->done_ud = ud;
        mc = curl_multi_add_handle(m->multi, x->easy);
        if (mc != CURLM_OK) {
                xfer_free(x);
                return err_setx(errp, EIO, "start request to '%s': %s", t->host,
                                curl_multi_strerror(mc));
        }
        x->next = m->xfers;
        if (m->xfers)
                m->xfers->prev = x;
        m->xfers = x;
        m->n_xfers++;
        if (ret)
                *ret = x;
        return 0;
}

void http_multi_cancel(struct http_multi *m, struct http_xfer *x) {
        if (x)
                xfer_unlink_free(m, x);
}

unsigned http_multi_running(const struct http_multi *m) {
        return m->n_xfers;
}
