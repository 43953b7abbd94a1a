/* SPDX-License-Identifier: Apache-2.0 */
/* The socket-free parts of the HTTP stack: request parser, router, query helpers. */
#include <string.h>

#include "cleanup.h"
#include "http_request.h"
#include "http_router.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void h_a(struct http_req *req, void *ud) {
        (void)req;
        (void)ud;
}
static void h_b(struct http_req *req, void *ud) {
        (void)req;
        (void)ud;
}

static void test_parse_simple(void) {
        _cleanup_(http_request_freep) struct http_request *r = NULL;
        const char *in = "POST /v1/x%20y?a=1&b=two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         "X-Thing: Yes\r\n\r\nhelloGET /next HTTP/1.1\r\n\r\n";
        size_t used = 0;
        int status = 0;

        ASSERT_OK(http_request_parse(in, strlen(in), NULL, &r, &used, &status, NULL));
        ASSERT_STREQ(r->method, "POST");
        ASSERT_STREQ(r->path, "/v1/x%20y");
        ASSERT_STREQ(r->query, "a=1&b=two");
        ASSERT_STREQ(http_request_header(r, "x-thing"), "Yes");
        ASSERT_STREQ(http_request_header(r, "CONTENT-LENGTH"), "5");
        ASSERT_NULL(http_request_header(r, "missing"));
        ASSERT_EQ(r->body_len, 5);
        ASSERT_STREQ(r->body, "hello");
        ASSERT_TRUE(r->keep_alive);
        /* Stops right after the first request. */
        ASSERT_EQ(used, strstr(in, "GET /next") - in);
}

static void test_parse_chunked_body(void) {
        _cleanup_(http_request_freep) struct http_request *r = NULL;
        const char *in =
                "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";

        ASSERT_OK(http_request_parse(in, strlen(in), NULL, &r, NULL, NULL, NULL));
        ASSERT_STREQ(r->body, "abcde");
        ASSERT_FALSE(r->keep_alive);
}

static void test_parse_errors(void) {
        struct {
                const char *in;
                int status;
        } cases[] = {
                {"GARBAGE\r\n\r\n", 400},
                {"GET /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413},
                {"GET x HTTP/1.1\r\n\r\n", 400},
                {"GET /x HTTP/2.0\r\n\r\n", 505},
                {"GET /x HTTP/1.1\r\nHost: a", 400}, /* truncated */
                {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        };
        struct http_limits lim = {.max_body_size = 1000};

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(http_request_freep) struct http_request *r = NULL;
                _cleanup_err_ struct err *e = NULL;
                int status = 0;

                printf("# case %zu\n", i);
                ASSERT_ERR(http_request_parse(cases[i].in, strlen(cases[i].in), &lim, &r, NULL,
                                              &status, &e),
                           EBADMSG);
                ASSERT_EQ(status, cases[i].status);
                ASSERT_NOT_NULL(e);
                ASSERT_NULL(r);
        }
}

static void test_parse_limits(void) {
        struct http_limits lim = {.max_header_size = 200, .max_headers = 3, .max_body_size = 4};
        _cleanup_free_ char *big = NULL, *many = NULL;
        const char *body =
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n0"
                "\r\n\r\n";
        int status = 0;
        struct http_request *r = NULL;

        big = xasprintf("GET /x HTTP/1.1\r\nX-Big: %0300d\r\n\r\n", 1);
        ASSERT_ERR(http_request_parse(big, strlen(big), &lim, &r, NULL, &status, NULL), EBADMSG);
        ASSERT_EQ(status, 431);
        many = xstrdup("GET /x HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n");
        ASSERT_ERR(http_request_parse(many, strlen(many), &lim, &r, NULL, &status, NULL), EBADMSG);
        ASSERT_EQ(status, 431);
        /* Chunked bodies have no Content-Length: the limit applies while reading. */
        ASSERT_ERR(http_request_parse(body, strlen(body), &lim, &r, NULL, &status, NULL), EBADMSG);
        ASSERT_EQ(status, 413);
}

static void test_parse_incremental(void) {
        const char *in = "GET /a?x HTTP/1.1\r\nHost: h\r\n\r\n";
        struct http_reqparser rp;
        struct http_request *r;

        http_reqparser_init(&rp, NULL);
        /* One byte at a time. */
        for (size_t i = 0; i < strlen(in); i++) {
                ASSERT_FALSE(rp.complete);
                ASSERT_EQ(http_reqparser_feed(&rp, in + i, 1), 1);
        }
        ASSERT_TRUE(rp.complete);
        r = http_reqparser_take(&rp);
        ASSERT_STREQ(r->path, "/a");
        ASSERT_STREQ(r->query, "x");
        http_request_free(r);
        /* A second request on the same parser. */
        ASSERT_EQ(http_reqparser_feed(&rp, in, strlen(in)), (ssize_t)strlen(in));
        ASSERT_TRUE(rp.complete);
        r = http_reqparser_take(&rp);
        ASSERT_STREQ(r->method, "GET");
        http_request_free(r);
        http_reqparser_done(&rp);
}

static void test_router(void) {
        _cleanup_router_ struct http_router *rt = http_router_new();
        const struct http_route *route = NULL;
        _cleanup_strv_ char **params = NULL;
        _cleanup_free_ char *allow = NULL;
        _cleanup_err_ struct err *e = NULL;
        static const struct http_route table[] = {
                {"GET", "/v1/containers/{id}/logs", h_a}, {"GET", "/v1/containers/json", h_b},
                {"GET", "/v1/containers/{id}", h_a},      {"DELETE", "/v1/containers/{id}", h_b},
                {"GET", "/v1/images/{name*}", h_b},       {},
        };

        ASSERT_OK(http_router_add_table(rt, table, NULL));
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/containers/abc/logs", &route, &params, NULL),
                  200);
        ASSERT_TRUE(route->fn == h_a);
        ASSERT_STREQ(route->pattern, "/v1/containers/{id}/logs");
        ASSERT_STREQ(http_query_get(params, "id"), "abc");
        params = strv_free(params);

        /* Literal beats parameter. */
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/containers/json", &route, &params, NULL), 200);
        ASSERT_TRUE(route->fn == h_b);
        params = strv_free(params);

        /* Parameters are decoded. */
        ASSERT_EQ(http_router_match(rt, "DELETE", "/v1/containers/a%2Fb", &route, &params, NULL),
                  200);
        ASSERT_STREQ(http_query_get(params, "id"), "a/b");
        params = strv_free(params);

        ASSERT_EQ(http_router_match(rt, "GET", "/v1/images/library/busybox", &route, &params, NULL),
                  200);
        ASSERT_STREQ(http_query_get(params, "name"), "library/busybox");
        params = strv_free(params);

        ASSERT_EQ(http_router_match(rt, "POST", "/v1/containers/x", &route, &params, &allow), 405);
        ASSERT_STREQ(allow, "GET, DELETE");
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/nope", &route, &params, NULL), 404);
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/containers/", &route, &params, NULL), 404);
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/containers//logs", &route, &params, NULL), 404);
        ASSERT_EQ(http_router_match(rt, "GET", "/v1/containers/%zz", &route, &params, NULL), 400);

        /* Bad patterns and duplicates are refused. */
        ASSERT_ERR(http_router_add(rt, "GET", "/v1/containers/{id}", h_b, &e), EEXIST);
        e = err_free(e);
        ASSERT_ERR(http_router_add(rt, "GET", "v1", h_b, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(http_router_add(rt, "GET", "/a/{x*}/b", h_b, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(http_router_add(rt, "GET", "/a/{bad-name}", h_b, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "bad parameter name"));
}

static void test_query(void) {
        _cleanup_strv_ char **q = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned long long n = 0;
        bool b = false;

        ASSERT_OK(http_query_parse("all=1&name=a+b%21&flag&tail=100&name=second&=x", &q, NULL));
        ASSERT_STREQ(http_query_get(q, "name"), "second");
        ASSERT_STREQ(http_query_get(q, "flag"), "");
        ASSERT_NULL(http_query_get(q, "nope"));
        ASSERT_OK(http_query_get_bool(q, "all", false, &b, NULL));
        ASSERT_TRUE(b);
        ASSERT_OK(http_query_get_bool(q, "flag", true, &b, NULL));
        ASSERT_FALSE(b);
        ASSERT_OK(http_query_get_bool(q, "missing", true, &b, NULL));
        ASSERT_TRUE(b);
        ASSERT_ERR(http_query_get_bool(q, "name", false, &b, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "'name'"));
        e = err_free(e);
        ASSERT_OK(http_query_get_uint(q, "tail", 0, 1000, &n, NULL));
        ASSERT_EQ(n, 100);
        ASSERT_ERR(http_query_get_uint(q, "tail", 0, 10, &n, &e), ERANGE);
        e = err_free(e);
        ASSERT_ERR(http_query_get_uint(q, "name", 0, 10, &n, &e), EINVAL);
        e = err_free(e);
        q = strv_free(q);
        ASSERT_OK(http_query_parse("a=%41%42", &q, NULL));
        ASSERT_STREQ(http_query_get(q, "a"), "AB");
        q = strv_free(q);
        ASSERT_ERR(http_query_parse("a=%4", &q, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(http_query_parse("a=%00", &q, &e), EINVAL);
        ASSERT_OK(http_query_parse(NULL, &q, NULL));
        ASSERT_EQ(strv_length(q), 0);
}

static void test_escape(void) {
        _cleanup_free_ char *e = http_escape("a b/c~");
        _cleanup_free_ char *d = NULL;

        ASSERT_STREQ(e, "a%20b%2Fc~");
        ASSERT_OK(http_unescape(e, strlen(e), false, &d));
        ASSERT_STREQ(d, "a b/c~");
        ASSERT_STREQ(http_status_text(404), "Not Found");
        ASSERT_STREQ(http_status_text(431), "Request Header Fields Too Large");
}

TAP_MAIN(test_parse_simple, test_parse_chunked_body, test_parse_errors, test_parse_limits,
         test_parse_incremental, test_router, test_query, test_escape)
