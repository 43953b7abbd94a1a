/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "err.h"
#include "http_request.h"
#include "http_router.h"

/* An HTTP/1.1 server on one libev loop, no threads (STYLE C11). It listens on unix sockets and
 * on TCP with mutual TLS only. Requests are parsed with http-parser under limits, routed through
 * an http_router, and handed to handlers that answer at once or later.
 *
 * Lifetime of a request (struct http_req): it belongs to the handler from dispatch until the
 * handler finishes it with http_reply*() or http_stream_end(); those free it. If the client goes
 * away first, the close callback (http_req_on_close) runs, later writes are dropped, and the
 * handler must still finish req to free it. */

struct http_server;
struct http_req;

struct http_server_config {
        struct http_limits limits; /* zero fields take the defaults (64 KiB headers, 4 MiB body) */
        double header_timeout; /* s from a request's first byte to the end of its headers (10) */
        double body_timeout;   /* s from the end of the headers to the end of the body (30) */
        double idle_timeout;   /* s an idle keep-alive connection stays open (60) */
        double write_timeout;  /* s without write progress before the connection drops (30) */
        unsigned max_conns;    /* open connections; more are answered 503 and closed (1024) */
        /* Optional: runs when a handler's response (or stream) starts, with the server's
         * userdata; the place for an access log. Errors the server answers itself (400, 408,
         * 413, 431, 503) before any handler runs are not reported. */
        void (*access_log)(const struct http_req *req, int status, void *userdata);
};

struct http_tls_config {
        const char *cert_file; /* server certificate (PEM, may hold the chain) */
        const char *key_file;
        const char *ca_file; /* clients must present a certificate that chains to this CA */
        /* Optional: revoked client certificate serials (common/revoke.h); a client presenting
         * one is dropped after the handshake and refused (403) on every request. */
        const char *revoked_file;
};

/* router is borrowed and must outlive the server; userdata is passed to every handler. */
int http_server_new(struct ev_loop *loop, const struct http_server_config *cfg,
                    const struct http_router *router, void *userdata, struct http_server **ret,
                    struct err **errp);
/* Closes every connection at once (requests still held by handlers are detached, see above) and
 * removes the unix sockets it created. */
struct http_server *http_server_free(struct http_server *s);
void http_server_freep(struct http_server **s);

/* Listens on a unix socket: a stale socket at path is replaced, mode is applied (0660), and the
 * group is set when gid is not (gid_t)-1. */
int http_server_listen_unix(struct http_server *s, const char *path, mode_t mode, gid_t gid,
                            struct err **errp);
/* Listens on "ADDR:PORT" ("127.0.0.1:7443", "[::1]:7443", "0.0.0.0:0") with mutual TLS. Stores the
 * bound port in *ret_port when given (useful with port 0). */
int http_server_listen_tls(struct http_server *s, const char *addr,
                           const struct http_tls_config *tls, int *ret_port, struct err **errp);

/* The only requests a TLS client without a certificate may make (the cluster join, which the
 * join token authorizes, and the public CA certificate the joining agent pins); every other
 * request on TLS without a verified client certificate is answered 401. */
bool http_tls_anonymous_allowed(const char *method, const char *path);
/* Checks an "ADDR:PORT" listen address (numeric address, port 0-65535) without binding. */
int http_listen_addr_check(const char *addr, struct err **errp);

/* Graceful shutdown: stops accepting at once, closes idle connections, lets requests in flight
 * finish (their responses carry "Connection: close"), and after timeout seconds closes what is
 * left. done runs once, when no connection is left; the server can then be freed. */
void http_server_shutdown(struct http_server *s, double timeout,
                          void (*done)(struct http_server *s, void *ud), void *ud);
unsigned http_server_n_conns(const struct http_server *s);

/* Request accessors. */
const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);
const char *http_req_header(const struct http_req *req, const char *name);
/* A path parameter from the route pattern ("id" for "/v1/containers/{id}"), decoded. */
const char *http_req_param(const struct http_req *req, const char *name);
/* A decoded query parameter (last one wins), or NULL. The pairs suit http_query_get_bool() and
 * http_query_get_uint(); a bad query string gives no pairs (the request was answered 400). */
const char *http_req_query(const struct http_req *req, const char *name);
char *const *http_req_query_pairs(const struct http_req *req);
const char *http_req_body(const struct http_req *req, size_t *ret_len);
/* Parses the body as JSON (empty body -> -ENODATA). */
int http_req_json(const struct http_req *req, json_t **ret, struct err **errp);
/* The common name of the TLS client certificate, NULL on unix sockets. */
const char *http_req_peer_cn(const struct http_req *req);
/* True for a request that came over TLS (then a NULL peer CN means no client certificate). */
bool http_req_is_tls(const struct http_req *req);
/* False once the client has gone away. */
bool http_req_connected(const struct http_req *req);
/* Monotonic time (now_usec) at which the request was fully received. */
uint64_t http_req_start_usec(const struct http_req *req);

/* Runs fn(req, ud) once if the client goes away before req is finished. */
void http_req_on_close(struct http_req *req, void (*fn)(struct http_req *req, void *ud), void *ud);
/* Adds a response header (before the reply or stream starts). */
void http_req_add_header(struct http_req *req, const char *name, const char *value);

/* Finishing replies: each frees req. */
void http_reply(struct http_req *req, int status, const char *content_type, const void *body,
                size_t len);
void http_reply_json(struct http_req *req, int status, const json_t *j);
/* {"error":{"code":code,"message":...}} */
void http_reply_error(struct http_req *req, int status, const char *code, const char *fmt, ...)
        _printf_(4, 5);
/* Maps an error to a status by its errno (ENOENT 404, EINVAL 400, EEXIST/EBUSY 409, EPERM/EACCES
 * 403, ETIMEDOUT 504, others 500) and adds its field, if any. */
void http_reply_err(struct http_req *req, const struct err *e);

/* Streaming: chunked transfer, one write per chunk (newline-delimited JSON for events). */
void http_stream_begin(struct http_req *req, int status, const char *content_type);
/* Returns 0, -EPIPE when the client is gone, or -ENOBUFS when more than 8 MiB wait unsent. */
int http_stream_write(struct http_req *req, const void *data, size_t len);
/* Writes one JSON value and a newline as one chunk. */
int http_stream_write_json(struct http_req *req, const json_t *j);
/* Ends the stream and frees req. */
void http_stream_end(struct http_req *req);
/* Bytes of this stream queued and not yet sent (0 once the client is gone). */
size_t http_stream_pending(const struct http_req *req);
/* Backpressure for a producer faster than its client: cb runs each time everything queued has
 * been written (stop producing above a bound of http_stream_pending(), resume in cb). cb may
 * write or end the stream. NULL cb: no callback. */
void http_stream_on_drain(struct http_req *req, void (*cb)(struct http_req *req, void *ud),
                          void *ud);

/* Streamed request bodies (routes flagged HTTP_ROUTE_STREAM_BODY, http_router.h): the handler
 * runs when the headers are in and calls http_req_body_stream() before returning; on_chunk then
 * gets the body piece by piece (decoded from chunked encoding, in order) and on_end runs once
 * the body is complete; the handler answers from on_end or later as usual. An earlier answer
 * is a refusal: the rest of the body is discarded and the connection closes after it. If the
 * client goes away (or sends a bad body, or more than the route's max_body), the close callback
 * runs instead of on_end. While paused, nothing more is read (a few pieces of input already
 * buffered may still arrive before the pause takes effect; resuming may run callbacks at
 * once). The body deadline becomes an idle timer between pieces. */
void http_req_body_stream(struct http_req *req,
                          void (*on_chunk)(struct http_req *req, const char *data, size_t len,
                                           void *ud),
                          void (*on_end)(struct http_req *req, void *ud), void *ud);
void http_req_body_pause(struct http_req *req, bool pause);
/* For a streamed route that wants this body whole after all (a small JSON request): collects
 * up to max bytes (more: 413) so that http_req_body()/http_req_json() see it, then on_end. */
void http_req_body_buffer(struct http_req *req, size_t max,
                          void (*on_end)(struct http_req *req, void *ud), void *ud);

/* Connection upgrade (docker's "hijack" for attach and exec): the handler answers with
 * http_req_upgrade() and the socket becomes a raw bidirectional byte stream, driven by the loop.
 * With "Connection: Upgrade" + "Upgrade: P" in the request the answer is "101 UPGRADED"; a
 * request without them gets "200 OK" + "Connection: close" and the same raw stream.
 *
 * After the upgrade req stays with the handler until http_upgraded_end() (which frees it);
 * the close callback (http_req_on_close) tells it when the client vanished. Nothing is read
 * while paused (backpressure towards the client); http_upgraded_write() queues output (-ENOBUFS
 * above 8 MiB unsent, then wait for on_drain). */
struct http_upgrade_ops {
        /* Bytes from the client. May pause, write or end the stream. */
        void (*on_data)(struct http_req *req, const char *data, size_t len, void *ud);
        /* The client shut its write side (half-close: it still reads). Optional. */
        void (*on_eof)(struct http_req *req, void *ud);
        /* Everything queued has been written. Optional. */
        void (*on_drain)(struct http_req *req, void *ud);
};

/* True when the request asks for "Connection: Upgrade". */
bool http_req_wants_upgrade(const struct http_req *req);
/* Sends the 101 (or 200) head with content_type and switches to the raw stream. on_data may run
 * before this returns, with bytes the client sent right behind the request. */
void http_req_upgrade(struct http_req *req, const char *content_type,
                      const struct http_upgrade_ops *ops, void *ud);
/* 0, -EPIPE (client gone), -ENOBUFS (more than 8 MiB unsent). */
int http_upgraded_write(struct http_req *req, const void *data, size_t len);
size_t http_upgraded_pending(const struct http_req *req);
void http_upgraded_pause(struct http_req *req, bool pause);
/* Half-closes towards the client once what is queued is written (it reads EOF and may still
 * send; the stream stays with the handler until http_upgraded_end()). Later writes: -EPIPE. */
void http_upgraded_shutdown_write(struct http_req *req);
/* True once the client half-closed (or went away). */
bool http_upgraded_read_eof(const struct http_req *req);
/* Flushes what is queued, then shuts the write side so that the client reads EOF, and closes.
 * Frees req. */
void http_upgraded_end(struct http_req *req);

/* Status + code for an errno, as http_reply_err() uses them. */
int http_status_for_errno(int code, const char **ret_code);
