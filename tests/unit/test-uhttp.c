/* SPDX-License-Identifier: Apache-2.0 */
/* common/uhttp.c: the response parser fed in pieces (Content-Length, chunked, EOF-delimited,
 * streamed lines, upgrades, errors), then whole requests against a forked server on a unix
 * socket that answers in small writes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "strv.h"
#include "tap.h"
#include "uhttp.h"
#include "xalloc.h"

/* ---- the parser ---- */

struct lines {
        char **l;
        int stop_at; /* on_line returns -EPIPE at this line (1-based); 0: never */
};

static int collect_line(const char *line, size_t len, void *ud) {
        struct lines *ls = ud;

        strv_push_take(&ls->l, xstrndup(line, len));
        if (ls->stop_at && (int)strv_length(ls->l) == ls->stop_at)
                return -EPIPE;
        return 0;
}

/* Feeds text in pieces of step bytes (and an EOF when eof); returns the feed's last result. */
static ssize_t feed_in_steps(struct uhttp_resp *p, const char *text, size_t step, bool eof,
                             size_t *ret_used) {
        size_t len = strlen(text), off = 0;
        ssize_t k = 0;

        while (off < len && !uhttp_resp_done(p)) {
                size_t n = MIN(step, len - off);

                k = uhttp_resp_feed(p, text + off, n, NULL);
                if (k < 0)
                        return k;
                off += (size_t)k;
        }
        if (eof && !uhttp_resp_done(p))
                k = uhttp_resp_feed(p, NULL, 0, NULL);
        if (ret_used)
                *ret_used = off;
        return k;
}

static void test_content_length_byte_by_byte(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = uhttp_resp_new(NULL);
        struct http_response r = {};

        ASSERT_OK(feed_in_steps(p,
                                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                "Content-Length: 11\r\n\r\n{\"a\":\"xyz\"}",
                                1, false, NULL));
        ASSERT_TRUE(uhttp_resp_done(p));
        uhttp_resp_take(p, &r);
        ASSERT_EQ(r.status, 201);
        ASSERT_STREQ(r.content_type, "application/json");
        ASSERT_EQ(r.body_len, 11);
        ASSERT_STREQ(r.body, "{\"a\":\"xyz\"}");
        http_response_done(&r);
}

static void test_chunked_split(void) {
        static const char text[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";

        /* Every split point: chunk sizes, CRLFs and data cut anywhere. */
        for (size_t step = 1; step <= 9; step++) {
                _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = uhttp_resp_new(NULL);
                struct http_response r = {};

                ASSERT_OK(feed_in_steps(p, text, step, false, NULL));
                ASSERT_TRUE(uhttp_resp_done(p));
                uhttp_resp_take(p, &r);
                ASSERT_EQ(r.status, 200);
                ASSERT_STREQ(r.body, "hello, world");
                http_response_done(&r);
        }
}

static void test_streamed_lines(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        struct lines ls = {};
        struct http_response r = {};

        p = uhttp_resp_new(&(struct uhttp_resp_opts){.on_line = collect_line, .ud = &ls});
        /* Lines across chunk boundaries, an empty line, a last line without a newline. */
        ASSERT_OK(feed_in_steps(p,
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "4\r\n{\"a\"\r\n6\r\n:1}\n\n{\r\n3\r\n}\nx\r\n0\r\n\r\n",
                                3, false, NULL));
        ASSERT_TRUE(uhttp_resp_done(p));
        ASSERT_EQ(strv_length(ls.l), 4);
        ASSERT_STREQ(ls.l[0], "{\"a\":1}");
        ASSERT_STREQ(ls.l[1], "");
        ASSERT_STREQ(ls.l[2], "{}");
        ASSERT_STREQ(ls.l[3], "x");
        uhttp_resp_take(p, &r);
        ASSERT_STREQ(r.body, ""); /* the lines went to on_line */
        http_response_done(&r);
        strv_free(ls.l);
}

static void test_error_body_not_streamed(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        struct lines ls = {};
        struct http_response r = {};

        p = uhttp_resp_new(&(struct uhttp_resp_opts){.on_line = collect_line, .ud = &ls});
        ASSERT_OK(feed_in_steps(p, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nno\nx", 5,
                                false, NULL));
        uhttp_resp_take(p, &r);
        ASSERT_EQ(r.status, 404);
        ASSERT_STREQ(r.body, "no\nx");
        ASSERT_NULL(ls.l);
        http_response_done(&r);
}

static void test_eof_delimited_and_interim(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = uhttp_resp_new(NULL);
        struct http_response r = {};

        /* A 100 Continue first; then a body that ends with the connection. */
        ASSERT_OK(feed_in_steps(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nto eof", 4,
                                true, NULL));
        ASSERT_TRUE(uhttp_resp_done(p));
        uhttp_resp_take(p, &r);
        ASSERT_EQ(r.status, 200);
        ASSERT_STREQ(r.body, "to eof");
        http_response_done(&r);
}

static void test_head_has_no_body(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p =
                uhttp_resp_new(&(struct uhttp_resp_opts){.head_request = true});
        struct http_response r = {};

        ASSERT_OK(
                feed_in_steps(p, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 7, false, NULL));
        ASSERT_TRUE(uhttp_resp_done(p));
        uhttp_resp_take(p, &r);
        ASSERT_EQ(r.body_len, 0);
        http_response_done(&r);
}

static void test_upgrade_leaves_the_stream(void) {
        static const char text[] =
                "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                "\r\nraw bytes";
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p =
                uhttp_resp_new(&(struct uhttp_resp_opts){.upgrade = true});
        struct http_response r = {};
        size_t used = 0;

        ASSERT_OK(feed_in_steps(p, text, 5, false, &used));
        ASSERT_TRUE(uhttp_resp_done(p));
        ASSERT_STREQ(text + used, "raw bytes");
        uhttp_resp_take(p, &r);
        ASSERT_EQ(r.status, 101);
        http_response_done(&r);
}

static void test_parse_errors(void) {
        struct {
                const char *text;
                bool eof;
                int code;
        } cases[] = {
                {"HTTP/1.1 abc OK\r\n\r\n", false, EPROTO},
                {"SSH-2.0-OpenSSH\r\n", false, EPROTO},
                {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, EPROTO},
                {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, ECONNRESET},
                {"HTTP/1.1 200 OK\r\nContent-Le", true, ECONNRESET},
                {"", true, ECONNRESET},
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = uhttp_resp_new(NULL);

                printf("# case %zu\n", k);
                ASSERT_EQ(feed_in_steps(p, cases[k].text, 2, cases[k].eof, NULL), -cases[k].code);
                ASSERT_FALSE(uhttp_resp_done(p));
        }
}

static void test_limits_and_stops(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *big =
                uhttp_resp_new(&(struct uhttp_resp_opts){.max_body = 4});
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *stop = NULL;
        struct lines ls = {.stop_at = 2};

        ASSERT_EQ(feed_in_steps(big, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345", 64, false,
                                NULL),
                  -EFBIG);
        stop = uhttp_resp_new(&(struct uhttp_resp_opts){.on_line = collect_line, .ud = &ls});
        ASSERT_EQ(feed_in_steps(stop, "HTTP/1.1 200 OK\r\n\r\na\nb\nc\n", 64, false, NULL), -EPIPE);
        ASSERT_EQ(strv_length(ls.l), 2);
        strv_free(ls.l);
}

/* ---- requests against a forked server ---- */

enum serve_mode {
        SERVE_ECHO,    /* 200, chunked, the request as the body, in 3-byte writes */
        SERVE_CUT,     /* a head promising 100 bytes, 5 of them, then close */
        SERVE_SILENT,  /* reads the request and never answers */
        SERVE_UPGRADE, /* 101 + "hi" in the same write, then echoes until EOF */
        SERVE_LINES,   /* 200, chunked, three lines */
};

struct server {
        char dir[64];
        char *host;
        int lfd;
        pid_t pid;
};

static void server_stop(struct server *s) {
        if (s->pid > 0) {
                kill(s->pid, SIGKILL);
                (void)waitpid(s->pid, NULL, 0);
        }
        safe_close(s->lfd);
        if (s->host) {
                unlink(s->host + 7);
                rmdir(s->dir);
        }
        free(s->host);
        *s = (struct server){.lfd = -EBADF};
}

static void write_slowly(int fd, const char *p, size_t len, size_t step) {
        for (size_t off = 0; off < len; off += step) {
                if (write(fd, p + off, MIN(step, len - off)) < 0)
                        return;
                usleep(200);
        }
}

/* Reads one request: its head, then Content-Length bytes or chunks up to the last one. */
static char *read_request(int fd, size_t *ret_len) {
        char *buf = xmalloc(1 << 20);
        size_t len = 0;

        for (;;) {
                ssize_t n = read(fd, buf + len, (1 << 20) - 1 - len);
                char *end;

                if (n <= 0)
                        break;
                len += (size_t)n;
                buf[len] = '\0';
                end = strstr(buf, "\r\n\r\n");
                if (!end)
                        continue;
                if (strstr(buf, "Transfer-Encoding: chunked") ? strstr(end, "\r\n0\r\n\r\n") != NULL
                    : strstr(buf, "Content-Length: ")
                            ? len >= (size_t)(end + 4 - buf) +
                                              strtoul(strstr(buf, "Content-Length: ") + 16, NULL,
                                                      10)
                            : true)
                        break;
        }
        *ret_len = len;
        return buf;
}

static void serve_one(int cfd, enum serve_mode mode) {
        size_t len = 0;
        _cleanup_free_ char *req = read_request(cfd, &len);
        _cleanup_free_ char *out = NULL;
        char buf[4096];
        ssize_t n;

        switch (mode) {
        case SERVE_ECHO:
                out = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n0\r\n\r\n",
                                len, (int)len, req);
                write_slowly(cfd, out, strlen(out), 3);
                break;
        case SERVE_CUT:
                out = xstrdup("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n12345");
                write_slowly(cfd, out, strlen(out), 7);
                break;
        case SERVE_SILENT:
                pause();
                break;
        case SERVE_UPGRADE:
                out = xstrdup("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                              "\r\nhi");
                write_slowly(cfd, out, strlen(out), strlen(out));
                while ((n = read(cfd, buf, sizeof(buf))) > 0)
                        if (write(cfd, buf, (size_t)n) != n)
                                break;
                break;
        case SERVE_LINES:
                out = xstrdup("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "8\r\none\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n");
                write_slowly(cfd, out, strlen(out), 2);
                break;
        default:
                break;
        }
}

static int server_start(struct server *s, enum serve_mode mode) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        *s = (struct server){.lfd = -EBADF};
        snprintf(s->dir, sizeof(s->dir), "/tmp/test-uhttp-XXXXXX");
        if (!mkdtemp(s->dir))
                return -errno;
        s->host = xasprintf("unix://%s/sock", s->dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->host + 7);
        s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(s->lfd, 4) < 0)
                return -errno;
        s->pid = fork();
        if (s->pid < 0)
                return -errno;
        if (s->pid == 0) {
                int cfd;

                alarm(20); /* bounded, whatever the test does */
                cfd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (cfd >= 0)
                        serve_one(cfd, mode);
                _exit(0);
        }
        return 0;
}

static void test_request_echo(void) {
        struct server s;
        struct http_response r = {};
        struct http_target t;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(server_start(&s, SERVE_ECHO));
        t = (struct http_target){.host = s.host};
        ASSERT_OK(uhttp_request(&t,
                                &(struct http_call){.method = "PUT",
                                                    .path = "/v1/x?a=1",
                                                    .body = "{\"k\":1}",
                                                    .body_len = 7,
                                                    .timeout_ms = 10000},
                                &r, &e));
        server_stop(&s);
        ASSERT_EQ(r.status, 200);
        ASSERT_STREQ(r.content_type, "text/plain");
        ASSERT_TRUE(str_startswith(r.body, "PUT /v1/x?a=1 HTTP/1.1\r\n"));
        ASSERT_NOT_NULL(strstr(r.body, "\r\nContent-Type: application/json\r\n"));
        ASSERT_NOT_NULL(strstr(r.body, "\r\nContent-Length: 7\r\n"));
        ASSERT_TRUE(strlen(r.body) > 11 &&
                    streq(r.body + strlen(r.body) - 11, "\r\n\r\n{\"k\":1}"));
        http_response_done(&r);
}

static void test_request_chunked_upload(void) {
        _cleanup_close_pair_ int pipefd[2] = {-EBADF, -EBADF};
        struct server s;
        struct http_response r = {};
        struct http_target t;

        ASSERT_OK(pipe2(pipefd, O_CLOEXEC));
        ASSERT_EQ(write(pipefd[1], "hello", 5), 5);
        pipefd[1] = safe_close(pipefd[1]);
        ASSERT_OK(server_start(&s, SERVE_ECHO));
        t = (struct http_target){.host = s.host};
        ASSERT_OK(uhttp_request(&t,
                                &(struct http_call){.method = "POST",
                                                    .path = "/load",
                                                    .stream_body = true,
                                                    .body_fd = pipefd[0],
                                                    .timeout_ms = 10000},
                                &r, NULL));
        server_stop(&s);
        ASSERT_NOT_NULL(strstr(r.body, "\r\nTransfer-Encoding: chunked\r\n"));
        ASSERT_NOT_NULL(strstr(r.body, "\r\nContent-Type: application/x-tar\r\n"));
        ASSERT_NOT_NULL(strstr(r.body, "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        http_response_done(&r);
}

static void test_request_lines(void) {
        struct server s;
        struct http_response r = {};
        struct lines ls = {};
        struct http_target t;

        ASSERT_OK(server_start(&s, SERVE_LINES));
        t = (struct http_target){.host = s.host};
        ASSERT_OK(uhttp_request(
                &t,
                &(struct http_call){.path = "/logs?follow=1", .on_line = collect_line, .ud = &ls},
                &r, NULL));
        server_stop(&s);
        ASSERT_EQ(strv_length(ls.l), 3);
        ASSERT_STREQ(ls.l[2], "three");
        http_response_done(&r);
        strv_free(ls.l);
}

/* uhttp_stream_open: the request is sent, the socket handed over non-blocking, and the caller's
 * own poll + parser loop gets the streamed lines (the thin berth's foreground up). */
static void test_stream_open(void) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_err_ struct err *e = NULL;
        struct lines ls = {};
        struct server s;
        struct http_target t;
        char buf[16];
        int fl;

        ASSERT_OK(server_start(&s, SERVE_LINES));
        t = (struct http_target){.host = s.host};
        ASSERT_OK(uhttp_stream_open(&t, &(struct http_call){.path = "/logs?follow=1"}, &fd, &e));
        fl = fcntl(fd, F_GETFL);
        ASSERT_TRUE(fl >= 0 && (fl & O_NONBLOCK));
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        p = uhttp_resp_new(&(struct uhttp_resp_opts){.on_line = collect_line, .ud = &ls});
        /* bounded: at most 400 polls of 50 ms */
        for (int k = 0; k < 400 && !uhttp_resp_done(p); k++) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                ssize_t n;

                if (poll(&pfd, 1, 50) <= 0)
                        continue;
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                ASSERT_TRUE(n >= 0);
                ASSERT_TRUE(uhttp_resp_feed(p, buf, (size_t)n, NULL) >= 0);
                if (n == 0)
                        break;
        }
        server_stop(&s);
        ASSERT_TRUE(uhttp_resp_done(p));
        ASSERT_EQ(strv_length(ls.l), 3);
        ASSERT_STREQ(ls.l[0], "one");
        ASSERT_STREQ(ls.l[2], "three");
        strv_free(ls.l);

        /* only unix hosts; nothing listening is a connect error naming the host */
        fd = safe_close(fd);
        t = (struct http_target){.host = "https://127.0.0.1:1"};
        ASSERT_TRUE(uhttp_stream_open(&t, &(struct http_call){.path = "/"}, &fd, &e) < 0);
        ASSERT_NOT_NULL(e);
        e = err_free(e);
        t = (struct http_target){.host = "unix:///nonexistent/berth.sock"};
        ASSERT_EQ(uhttp_stream_open(&t, &(struct http_call){.path = "/"}, &fd, &e), -ECONNREFUSED);
        ASSERT_NOT_NULL(strstr(err_msg(e), "/nonexistent/berth.sock"));
        ASSERT_EQ(fd, -EBADF);
}

static void test_request_errors(void) {
        struct server s;
        struct http_response r = {};
        struct http_target t = {};
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        /* Nothing listening. */
        t.host = "unix:///nonexistent/berth-test.sock";
        ASSERT_ERR(uhttp_request(&t, &(struct http_call){.path = "/"}, &r, &e1), ECONNREFUSED);
        ASSERT_NOT_NULL(strstr(err_msg(e1), "/nonexistent/berth-test.sock"));
        /* Cut in the middle of the body. */
        ASSERT_OK(server_start(&s, SERVE_CUT));
        t = (struct http_target){.host = s.host};
        ASSERT_ERR(uhttp_request(&t, &(struct http_call){.path = "/"}, &r, &e2), ECONNRESET);
        server_stop(&s);
        /* No answer within the call's timeout. */
        ASSERT_OK(server_start(&s, SERVE_SILENT));
        t = (struct http_target){.host = s.host};
        ASSERT_ERR(uhttp_request(&t, &(struct http_call){.path = "/", .timeout_ms = 200}, &r, &e3),
                   ETIMEDOUT);
        server_stop(&s);
        /* Not a unix host; a bad request line. */
        t = (struct http_target){.host = "https://127.0.0.1:1", .tls_anonymous = true};
        ASSERT_ERR(uhttp_request(&t, &(struct http_call){.path = "/"}, &r, &e4), EPROTONOSUPPORT);
        t = (struct http_target){.host = "unix:///nonexistent/berth-test.sock"};
        ASSERT_ERR(uhttp_request(&t, &(struct http_call){.path = "/"}, &r, NULL), ECONNREFUSED);
}

static void test_upgrade_roundtrip(void) {
        _cleanup_(http_raw_freep) struct http_raw *raw = NULL;
        struct server s;
        struct http_response r = {};
        struct http_target t;
        char buf[16] = {};
        size_t got = 0;

        ASSERT_OK(server_start(&s, SERVE_UPGRADE));
        t = (struct http_target){.host = s.host};
        ASSERT_OK(uhttp_upgrade(&t, &(struct http_call){.path = "/attach", .timeout_ms = 10000},
                                &raw, &r, NULL));
        ASSERT_EQ(r.status, 101);
        http_response_done(&r);
        ASSERT_NOT_NULL(raw);
        /* "hi" came with the head; "yo" goes out and comes back. */
        ASSERT_TRUE(http_raw_has_pending(raw));
        ASSERT_EQ(http_raw_send(raw, "yo", 2), 2);
        for (int k = 0; k < 200 && got < 4; k++) {
                struct pollfd pfd = {.fd = http_raw_fd(raw), .events = POLLIN};
                ssize_t n;

                if (!http_raw_has_pending(raw))
                        (void)poll(&pfd, 1, 50);
                n = http_raw_recv(raw, buf + got, sizeof(buf) - 1 - got);
                if (n > 0)
                        got += (size_t)n;
                else if (n != -EAGAIN)
                        break;
        }
        ASSERT_STREQ(buf, "hiyo");
        ASSERT_OK(http_raw_shutdown_write(raw));
        raw = http_raw_free(raw);
        server_stop(&s);
}

TAP_MAIN(test_content_length_byte_by_byte, test_chunked_split, test_streamed_lines,
         test_error_body_not_streamed, test_eof_delimited_and_interim, test_head_has_no_body,
         test_upgrade_leaves_the_stream, test_parse_errors, test_limits_and_stops,
         test_request_echo, test_request_chunked_upload, test_request_lines, test_request_errors,
         test_upgrade_roundtrip, test_stream_open);
