/* SPDX-License-Identifier: Apache-2.0 */
/* The reverse channel's requests (common/tunnel_req.h): what may go to a node's engine, and the
 * request the agent writes there for a stream, parsed back by the server's own parser: one
 * request, nothing smuggled behind it. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "http_request.h"
#include "tap.h"
#include "tunnel_req.h"

static void test_check(void) {
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(tunnel_req_check("GET", "/v1/containers/a.b/logs?follow=1&tail=all", NULL));
        ASSERT_OK(tunnel_req_check("POST", "/v1/exec/0123abcd/resize?h=13&w=91", NULL));
        ASSERT_OK(tunnel_req_check("POST", "/v1/containers/x/exec", NULL));
        /* not a container route */
        ASSERT_ERR(tunnel_req_check("GET", "/v1/images/json", &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "path: only /v1/containers/"));
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check("GET", NULL, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check("GET", "/v1/containersX", &e), EINVAL);
        e = err_free(e);
        /* methods */
        ASSERT_ERR(tunnel_req_check("DELETE", "/v1/containers/x", &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "method: GET or POST, got 'DELETE'"));
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check(NULL, "/v1/containers/x", &e), EINVAL);
        e = err_free(e);
        /* nothing that ends the request line or climbs out of the route */
        ASSERT_ERR(tunnel_req_check("GET", "/v1/containers/x HTTP/1.1", &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "byte 0x20 at offset 16"));
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check("GET", "/v1/containers/x\r\nHost: y", &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check("GET", "/v1/containers/x\x7f", &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check("GET", "/v1/containers/../images/json", &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "'..' segment"));
        e = err_free(e);
        ASSERT_ERR(tunnel_req_check("GET", "/v1/exec/..", &e), EINVAL);
        e = err_free(e);
        ASSERT_OK(tunnel_req_check("GET", "/v1/containers/a..b/logs", NULL));
}

static void parse_one(const char *text, const char *method, const char *url, const char *body,
                      const char *connection) {
        _cleanup_(http_request_freep) struct http_request *r = NULL;
        size_t used = 0;
        int status = 0;

        ASSERT_OK(http_request_parse(text, strlen(text), NULL, &r, &used, &status, NULL));
        ASSERT_EQ(used, strlen(text));
        ASSERT_STREQ(r->method, method);
        ASSERT_STREQ(r->url, url);
        ASSERT_EQ(r->body_len, strlen(body));
        if (*body)
                ASSERT_EQ(memcmp(r->body, body, r->body_len), 0);
        ASSERT_STREQ(http_request_header(r, "connection"), connection);
}

static void test_text(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        a = tunnel_req_text("GET", "/v1/containers/x/logs?follow=1", NULL, false);
        parse_one(a, "GET", "/v1/containers/x/logs?follow=1", "", "close");
        b = tunnel_req_text("POST", "/v1/containers/x/exec", "{\"Cmd\": [\"sh\"]}", true);
        parse_one(b, "POST", "/v1/containers/x/exec", "{\"Cmd\": [\"sh\"]}", "Upgrade");
        ASSERT_NOT_NULL(strstr(b, "\r\nUpgrade: tcp\r\n"));
        /* a body that looks like a request stays the body */
        c = tunnel_req_text("POST", "/v1/exec/1/start", "\r\n\r\nDELETE /v1/images/x HTTP/1.1\r\n",
                            false);
        parse_one(c, "POST", "/v1/exec/1/start", "\r\n\r\nDELETE /v1/images/x HTTP/1.1\r\n",
                  "close");
}

TAP_MAIN(test_check, test_text)
