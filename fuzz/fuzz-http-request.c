/* SPDX-License-Identifier: Apache-2.0 */
/* Feeds bytes through the server's request path without sockets: the incremental parser (in two
 * pieces, split where the first byte says), the limits, the router and the query parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http_request.h"
#include "http_router.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void h(struct http_req *req, void *ud) {
        (void)req;
        (void)ud;
}

static const struct http_route routes[] = {
        {"GET", "/v1/ping", h},
        {"GET", "/v1/containers/{id}/logs", h},
        {"GET", "/v1/containers/json", h},
        {"DELETE", "/v1/containers/{id}", h},
        {"GET", "/v1/images/{name*}", h},
        {},
};

static void route(const struct http_router *rt, const struct http_request *r) {
        const struct http_route *route = NULL;
        _cleanup_strv_ char **params = NULL, **query = NULL;
        _cleanup_free_ char *allow = NULL;
        int status;

        status = http_router_match(rt, r->method, r->path, &route, &params, &allow);
        if (status == 200 && (!route || !params))
                abort();
        if (status == 405 && !allow)
                abort();
        if (http_query_parse(r->query, &query, NULL) >= 0)
                (void)http_query_get(query, "all");
        (void)http_request_header(r, "content-type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct http_router *rt;
        struct http_limits lim = {
                .max_header_size = 4096, .max_headers = 32, .max_body_size = 8192};
        struct http_reqparser rp;
        size_t split, off = 0;

        if (!rt) {
                rt = http_router_new();
                if (http_router_add_table(rt, routes, NULL) < 0)
                        abort();
        }
        if (size < 1)
                return 0;
        split = data[0] % (size + 1);
        data++;
        size--;
        split = split > size ? size : split;

        http_reqparser_init(&rp, &lim);
        /* Pieces as they might arrive from a socket, and every request in the buffer. */
        while (off < size) {
                size_t end = off < split ? split : size;
                ssize_t n = http_reqparser_feed(&rp, (const char *)data + off, end - off);

                if (n < 0) {
                        if (rp.status < 400 || rp.status > 505)
                                abort();
                        break;
                }
                off += (size_t)n;
                if (rp.complete) {
                        struct http_request *r = http_reqparser_take(&rp);

                        if (!r || !r->method || !r->path || r->path[0] != '/')
                                abort();
                        if (r->body_len > lim.max_body_size)
                                abort();
                        route(rt, r);
                        http_request_free(r);
                } else if (n == 0)
                        break;
        }
        if (off >= size && !rp.status)
                (void)http_reqparser_feed(&rp, NULL, 0);
        http_reqparser_done(&rp);
        return 0;
}
