/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "err.h"

struct http_req;

/* A request handler. userdata is the server's (the daemon context). The handler answers with one
 * of the http_reply*() functions or starts a stream, either before returning or later (it then
 * keeps req; see http_server.h for the lifetime rules). */
typedef void http_handler_fn(struct http_req *req, void *userdata);

/* One route. Pattern segments are literals or parameters: "/v1/containers/{id}/logs";
 * "{name*}" as the last segment matches the rest of the path (one or more segments). Literal
 * segments win over parameters, parameters over a rest-of-path match. */
struct http_route {
        const char *method; /* "GET", "POST", ... */
        const char *pattern;
        http_handler_fn *fn;
        /* HTTP_ROUTE_STREAM_BODY: the handler runs as soon as the headers are in and takes the
         * body in pieces (http_req_body_stream(), http_server.h) instead of a buffered body;
         * max_body then bounds it (0: no limit) instead of the server's limit. */
        unsigned flags;
        uint64_t max_body;
};
#define HTTP_ROUTE_STREAM_BODY 1u

struct http_router;

struct http_router *http_router_new(void);
struct http_router *http_router_free(struct http_router *r);
void http_router_freep(struct http_router **r);
#define _cleanup_router_ _cleanup_(http_router_freep)

/* Adds one route; rejects malformed patterns and duplicates (same method and pattern). */
int http_router_add(struct http_router *r, const char *method, const char *pattern,
                    http_handler_fn *fn, struct err **errp);
/* Adds an array of routes ended by an entry whose method is NULL. */
int http_router_add_table(struct http_router *r, const struct http_route *routes,
                          struct err **errp);

/* Looks up method + path (percent-encoded, as received). Returns an HTTP status: 200 with
 * *ret_route and *ret_params (strv of decoded name, value pairs) set; 404 when no pattern fits;
 * 405 when patterns fit but not with this method (*ret_allow lists the methods, "GET, POST");
 * 400 when the path has bad percent-escapes. */
int http_router_match(const struct http_router *r, const char *method, const char *path,
                      const struct http_route **ret_route, char ***ret_params, char **ret_allow);
