/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* The blocking HTTP client's types and its transports (docs/http.md, "Clients").
 *
 * Two transports implement the same calls: http_transport_unix (common/uhttp.c: HTTP/1.1 over
 * the daemon's unix socket, http-parser, no libcurl) and http_transport_full (common/
 * http_client.c: the same for unix:// hosts, libcurl for https:// ones). The thin `berth` links
 * only the first, berth-engine and the daemons the second; the CLI reaches its transport through
 * struct cli_ctx, so no code of the CLI names libcurl. */

/* Where to connect. host is "unix:///run/berth/berth.sock" or "https://host:port" (then the
 * client certificate, key and CA are required: the API speaks mutual TLS only). */
struct http_target {
        const char *host;
        const char *tls_cert, *tls_key, *tls_ca;
        /* No client certificate: only for the cluster join (docs/cluster.md). The server is
         * verified against tls_ca when given; without tls_ca it is not verified at all, and the
         * caller must check what it receives (the CA fetch, pinned by the join token's hash). */
        bool tls_anonymous;
        long connect_timeout_ms; /* 0: 10 s */
};

/* Called for each line of a 2xx response body (the newline removed); a negative return stops the
 * transfer and becomes the request's result. */
typedef int http_line_fn(const char *line, size_t len, void *ud);

struct http_call {
        const char *method; /* "GET" when NULL */
        const char *path;   /* "/v1/ping?x=1", already escaped */
        const char *body;   /* sent when not NULL */
        size_t body_len;
        const char *content_type; /* "application/json" when NULL and a body is given */
        long timeout_ms;          /* whole transfer; 0: none (streams) */
        http_line_fn *on_line;    /* optional: deliver a 2xx body line by line */
        void *ud;
        /* Streams the body from body_fd instead (blocking calls only): its size when it is a
         * regular file (read from its current offset), chunked transfer otherwise (a pipe). */
        bool stream_body;
        int body_fd;
};

struct http_response {
        long status;
        char *body; /* NUL-terminated; empty for streamed 2xx bodies */
        size_t body_len;
        char *content_type;
};
void http_response_done(struct http_response *r);

/* A connection after an upgrade (attach, exec -it): a raw bidirectional stream. */
struct http_raw;
struct http_raw *http_raw_free(struct http_raw *raw);
void http_raw_freep(struct http_raw **raw);
/* The socket to poll. Data may wait in the raw object (http_raw_has_pending) or inside TLS:
 * after POLLIN, call http_raw_recv() until it returns -EAGAIN. */
int http_raw_fd(const struct http_raw *raw);
bool http_raw_has_pending(const struct http_raw *raw);
/* Non-blocking: bytes moved, -EAGAIN, 0 at EOF (recv), or a negative errno. */
ssize_t http_raw_send(struct http_raw *raw, const void *data, size_t len);
ssize_t http_raw_recv(struct http_raw *raw, void *buf, size_t len);
/* Half-close: the server reads EOF, the stream towards us keeps going. */
int http_raw_shutdown_write(struct http_raw *raw);

/* How a raw stream moves bytes when it is not a plain socket (TLS through libcurl). impl is
 * the transport's own object, freed with the stream (it closes the socket). */
struct http_raw_ops {
        ssize_t (*send)(void *impl, const void *data, size_t len);
        ssize_t (*recv)(void *impl, void *buf, size_t len);
        void (*free)(void *impl);
};
/* Wraps a connected socket whose response head has been read: pending holds the stream bytes
 * that came behind it (copied). ops NULL: fd is a plain socket, owned (closed) by the stream and
 * switched to non-blocking. */
struct http_raw *http_raw_new(int fd, const struct http_raw_ops *ops, void *impl,
                              const char *pending, size_t plen);

/* Validates a host URL ("unix:///abs/path" or "https://host:port"). */
int http_target_check(const struct http_target *t, struct err **errp);

/* Blocking calls, one connection each.
 *
 * request: returns 0 with *ret filled for any HTTP status; a transport failure returns
 * -ECONNREFUSED (nothing listening, no socket), -ETIMEDOUT, -EPROTO (TLS or a malformed
 * answer), or another negative errno, with errp saying what happened.
 *
 * upgrade (attach, exec): sends the call with "Connection: Upgrade" and reads the answer head.
 * On 101 (or 200) *ret_raw is the raw stream and ret_resp->status says which; on any other
 * status *ret_raw is NULL and ret_resp holds the error answer. call->timeout_ms bounds the
 * exchange up to the head (0: 30 s). */
struct http_transport {
        const char *name;
        bool tls; /* handles https:// hosts too */
        int (*request)(const struct http_target *t, const struct http_call *call,
                       struct http_response *ret, struct err **errp);
        int (*upgrade)(const struct http_target *t, const struct http_call *call,
                       struct http_raw **ret_raw, struct http_response *ret_resp,
                       struct err **errp);
};
extern const struct http_transport http_transport_unix;
