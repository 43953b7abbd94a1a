/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include <http_parser.h>

#include "err.h"
#include "macro.h"

/* One parsed HTTP/1.1 request, independent of any socket, so the parser can be unit tested and
 * fuzzed on plain buffers. */
struct http_request {
        char *method;     /* "GET" */
        char *url;        /* raw request target "/v1/x?y=1" */
        char *path;       /* the target's path, still percent-encoded: "/v1/x" */
        char *query;      /* the raw query string without '?', or NULL */
        char **headers;   /* name, value, name, value ... (names lower-case), NULL-terminated */
        size_t n_headers; /* number of name/value pairs */
        char *body;       /* NUL-terminated copy of the body (may contain NULs), or NULL */
        size_t body_len;
        unsigned short http_major, http_minor;
        bool keep_alive;
        bool expect_continue; /* "Expect: 100-continue" */
};

struct http_request *http_request_free(struct http_request *r);
void http_request_freep(struct http_request **r);

/* Returns the value of the first header called name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

struct http_limits {
        size_t max_header_size; /* request line + headers, bytes */
        size_t max_headers;     /* number of header lines */
        size_t max_body_size;   /* bytes */
};
#define HTTP_DEFAULT_MAX_HEADER_SIZE (64u * 1024u)
#define HTTP_DEFAULT_MAX_HEADERS 100u
#define HTTP_DEFAULT_MAX_BODY_SIZE (4u * 1024u * 1024u)

/* Incremental request parser (http-parser underneath) that enforces the limits. */
struct http_reqparser {
        http_parser p;
        struct http_limits lim;
        struct http_request *req; /* being built */
        size_t header_bytes;
        bool in_value;      /* last header callback was a value */
        bool headers_done;  /* the current request's headers are complete */
        bool complete;      /* a whole request is ready in req */
        bool started;       /* at least one byte of the current request arrived */
        int status;         /* error status to answer with (400, 413, 431, 505) */
        const char *reason; /* why, for the error body */
        size_t body_alloc;
        /* Streamed bodies (the server's opt-in routes): with pause_at_headers the parser stops
         * after each request's headers (head_paused) and checks no body size; the caller then
         * either calls http_reqparser_stream_body() or checks http_reqparser_body_too_large()
         * itself, and resumes with http_reqparser_resume(). */
        bool pause_at_headers, head_paused;
        bool streaming;
        void (*body_fn)(void *ud, const char *data, size_t len);
        void *body_ud;
        uint64_t body_max, streamed;
};

void http_reqparser_init(struct http_reqparser *rp, const struct http_limits *lim);
void http_reqparser_done(struct http_reqparser *rp);
/* Feeds bytes. Stops right after a complete request (rp->complete, take it with
 * http_reqparser_take()). Returns the number of bytes consumed, or -EBADMSG when the input is
 * bad, with rp->status and rp->reason telling the answer. len == 0 signals EOF. */
ssize_t http_reqparser_feed(struct http_reqparser *rp, const char *data, size_t len);
void http_reqparser_resume(struct http_reqparser *rp);
/* The declared Content-Length exceeds the parser's body limit. */
bool http_reqparser_body_too_large(const struct http_reqparser *rp);
/* The current request's body goes to fn in pieces instead of being buffered, up to max bytes
 * (0: no limit; more is a 413). -EFBIG when the declared Content-Length is already above max. */
int http_reqparser_stream_body(struct http_reqparser *rp,
                               void (*fn)(void *ud, const char *data, size_t len), void *ud,
                               uint64_t max);
/* Hands the completed request over and readies the parser for the next one on the connection. */
struct http_request *http_reqparser_take(struct http_reqparser *rp);

/* Parses one whole request from a buffer (for tests and fuzzing). On failure returns -EBADMSG
 * and sets *ret_status to the HTTP status the server would answer. */
int http_request_parse(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request **ret, size_t *ret_consumed, int *ret_status,
                       struct err **errp);

/* Percent-decodes s ('+' stays '+' unless form is true, then it becomes ' '). Rejects bad escapes
 * and embedded NULs with -EINVAL. */
int http_unescape(const char *s, size_t len, bool form, char **ret);
/* Percent-encodes everything but unreserved characters (RFC 3986). */
char *http_escape(const char *s);

/* Parses "a=1&b=two&c" into a strv of decoded name, value pairs ("c" gets ""). */
int http_query_parse(const char *query, char ***ret, struct err **errp);
/* Last value given for name, or NULL. */
const char *http_query_get(char *const *pairs, const char *name);
/* "1", "true", "yes" -> true; "0", "false", "no", "" -> false; missing -> def; else -EINVAL. */
int http_query_get_bool(char *const *pairs, const char *name, bool def, bool *ret,
                        struct err **errp);
/* Non-negative decimal integer up to max; missing -> def; else -EINVAL / -ERANGE. */
int http_query_get_uint(char *const *pairs, const char *name, unsigned long long def,
                        unsigned long long max, unsigned long long *ret, struct err **errp);

/* "Not Found" for 404, "Unknown" for anything unknown. */
const char *http_status_text(int status);
