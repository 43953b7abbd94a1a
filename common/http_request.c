/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "http_request.h"
#include "strv.h"
#include "xalloc.h"

struct http_request *http_request_free(struct http_request *r) {
        if (!r)
                return NULL;
        free(r->method);
        free(r->url);
        free(r->path);
        free(r->query);
        strv_free(r->headers);
        free(r->body);
        free(r);
        return NULL;
}

void http_request_freep(struct http_request **r) {
        *r = http_request_free(*r);
}

const char *http_request_header(const struct http_request *r, const char *name) {
        for (size_t i = 0; i < r->n_headers; i++)
                if (strcasecmp(r->headers[2 * i], name) == 0)
                        return r->headers[2 * i + 1];
        return NULL;
}

static struct http_reqparser *rp_of(http_parser *p) {
        return container_of(p, struct http_reqparser, p);
}

static int rp_fail(struct http_reqparser *rp, int status, const char *reason) {
        rp->status = status;
        rp->reason = reason;
        return -1; /* makes http-parser stop with an error (1 would mean "no body" in
                    * on_headers_complete) */
}

/* Appends len bytes to a heap string. */
static void str_append(char **s, const char *at, size_t len) {
        size_t old = *s ? strlen(*s) : 0;

        *s = xrealloc(*s, old + len + 1);
        memcpy(*s + old, at, len);
        (*s)[old + len] = '\0';
}

static int count_header_bytes(struct http_reqparser *rp, size_t len) {
        rp->header_bytes += len;
        if (rp->header_bytes > rp->lim.max_header_size)
                return rp_fail(rp, 431, "request header too large");
        return 0;
}

static int on_message_begin(http_parser *p) {
        struct http_reqparser *rp = rp_of(p);

        rp->req = http_request_free(rp->req);
        rp->req = xnew0(struct http_request, 1);
        rp->req->headers = xnew0(char *, 1);
        rp->header_bytes = 0;
        rp->in_value = false;
        rp->headers_done = false;
        rp->body_alloc = 0;
        rp->head_paused = rp->streaming = false;
        rp->body_fn = NULL;
        rp->body_ud = NULL;
        rp->body_max = rp->streamed = 0;
        return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
        struct http_reqparser *rp = rp_of(p);

        if (count_header_bytes(rp, len) != 0)
                return -1;
        str_append(&rp->req->url, at, len);
        return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
        struct http_reqparser *rp = rp_of(p);
        struct http_request *r = rp->req;

        if (count_header_bytes(rp, len + 4) != 0)
                return -1;
        if (r->n_headers == 0 || rp->in_value) {
                /* A new header line starts. */
                if (r->n_headers >= rp->lim.max_headers)
                        return rp_fail(rp, 431, "too many request headers");
                r->headers = xreallocarray(r->headers, 2 * r->n_headers + 3, sizeof(char *));
                r->headers[2 * r->n_headers] = xstrdup("");
                r->headers[2 * r->n_headers + 1] = xstrdup("");
                r->headers[2 * r->n_headers + 2] = NULL;
                r->n_headers++;
                rp->in_value = false;
        }
        str_append(&r->headers[2 * (r->n_headers - 1)], at, len);
        return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
        struct http_reqparser *rp = rp_of(p);
        struct http_request *r = rp->req;

        if (count_header_bytes(rp, len) != 0)
                return -1;
        if (r->n_headers == 0)
                return rp_fail(rp, 400, "header value without a name");
        if (memchr(at, '\0', len))
                return rp_fail(rp, 400, "NUL byte in a header value");
        rp->in_value = true;
        str_append(&r->headers[2 * r->n_headers - 1], at, len);
        return 0;
}

static int on_headers_complete(http_parser *p) {
        struct http_reqparser *rp = rp_of(p);
        struct http_request *r = rp->req;
        const char *q, *expect;
        size_t plen;

        for (size_t i = 0; i < r->n_headers; i++)
                for (char *c = r->headers[2 * i]; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
        if (p->http_major != 1)
                return rp_fail(rp, 505, "only HTTP/1.x is supported");
        if (!r->url || r->url[0] != '/')
                return rp_fail(rp, 400, "request target must be an absolute path");
        if (strlen(r->url) != strcspn(r->url, " \t\r\n"))
                return rp_fail(rp, 400, "bad request target");

        r->method = xstrdup(http_method_str(p->method));
        r->http_major = p->http_major;
        r->http_minor = p->http_minor;
        plen = strcspn(r->url, "?#");
        r->path = xstrndup(r->url, plen);
        q = r->url[plen] == '?' ? r->url + plen + 1 : NULL;
        if (q)
                r->query = xstrndup(q, strcspn(q, "#"));

        if (!rp->pause_at_headers && (p->flags & F_CONTENTLENGTH) &&
            p->content_length > rp->lim.max_body_size)
                return rp_fail(rp, 413, "request body too large");
        expect = http_request_header(r, "expect");
        if (expect && strcasecmp(expect, "100-continue") == 0)
                r->expect_continue = true;
        rp->headers_done = true;
        if (rp->pause_at_headers) {
                /* The caller decides between a buffered and a streamed body. */
                rp->head_paused = true;
                http_parser_pause(p, 1);
        }
        return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
        struct http_reqparser *rp = rp_of(p);
        struct http_request *r = rp->req;

        if (rp->streaming) {
                rp->streamed += len;
                if (rp->body_max && rp->streamed > rp->body_max)
                        return rp_fail(rp, 413, "request body too large");
                if (rp->body_fn)
                        rp->body_fn(rp->body_ud, at, len);
                return 0;
        }
        if (len > rp->lim.max_body_size - r->body_len)
                return rp_fail(rp, 413, "request body too large");
        if (r->body_len + len + 1 > rp->body_alloc) {
                size_t want = MAX(rp->body_alloc * 2, r->body_len + len + 1);
                /* Content-Length tells the final size; never allocate beyond the limit + 1. */
                want = MIN(want, rp->lim.max_body_size + 1);
                r->body = xrealloc(r->body, want);
                rp->body_alloc = want;
        }
        memcpy(r->body + r->body_len, at, len);
        r->body_len += len;
        r->body[r->body_len] = '\0';
        return 0;
}

static int on_message_complete(http_parser *p) {
        struct http_reqparser *rp = rp_of(p);

        rp->req->keep_alive = http_should_keep_alive(p);
        rp->complete = true;
        /* Stop right after this message; the caller resumes for the next one. */
        http_parser_pause(p, 1);
        return 0;
}

static const http_parser_settings rp_settings = {
        .on_message_begin = on_message_begin,
        .on_url = on_url,
        .on_header_field = on_header_field,
        .on_header_value = on_header_value,
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
};

void http_reqparser_init(struct http_reqparser *rp, const struct http_limits *lim) {
        *rp = (struct http_reqparser){};
        http_parser_init(&rp->p, HTTP_REQUEST);
        rp->lim = (struct http_limits){
                .max_header_size = HTTP_DEFAULT_MAX_HEADER_SIZE,
                .max_headers = HTTP_DEFAULT_MAX_HEADERS,
                .max_body_size = HTTP_DEFAULT_MAX_BODY_SIZE,
        };
        if (lim) {
                if (lim->max_header_size)
                        rp->lim.max_header_size = lim->max_header_size;
                if (lim->max_headers)
                        rp->lim.max_headers = lim->max_headers;
                if (lim->max_body_size)
                        rp->lim.max_body_size = lim->max_body_size;
        }
}

void http_reqparser_done(struct http_reqparser *rp) {
        rp->req = http_request_free(rp->req);
}

ssize_t http_reqparser_feed(struct http_reqparser *rp, const char *data, size_t len) {
        enum http_errno e;
        size_t n;

        if (rp->status)
                return -EBADMSG;
        if (rp->complete)
                return 0;
        if (len > 0)
                rp->started = true;
        else if (!rp->started)
                return 0; /* EOF between requests is fine */

        n = http_parser_execute(&rp->p, &rp_settings, data, len);
        e = HTTP_PARSER_ERRNO(&rp->p);
        if (e == HPE_PAUSED && (rp->complete || rp->head_paused))
                return (ssize_t)n;
        if (rp->status)
                return -EBADMSG;
        if (e == HPE_HEADER_OVERFLOW) {
                rp->status = 431;
                rp->reason = "request header too large";
                return -EBADMSG;
        }
        if (e != HPE_OK) {
                rp->status = 400;
                rp->reason = http_errno_description(e);
                return -EBADMSG;
        }
        if (len == 0) {
                rp->status = 400;
                rp->reason = "incomplete request";
                return -EBADMSG;
        }
        /* http-parser consumes everything it is given unless it stops with an error. */
        return (ssize_t)n;
}

void http_reqparser_resume(struct http_reqparser *rp) {
        if (!rp->head_paused)
                return;
        rp->head_paused = false;
        http_parser_pause(&rp->p, 0);
}

bool http_reqparser_body_too_large(const struct http_reqparser *rp) {
        return (rp->p.flags & F_CONTENTLENGTH) && rp->p.content_length > rp->lim.max_body_size;
}

int http_reqparser_stream_body(struct http_reqparser *rp,
                               void (*fn)(void *ud, const char *data, size_t len), void *ud,
                               uint64_t max) {
        if (max && (rp->p.flags & F_CONTENTLENGTH) && rp->p.content_length > max)
                return -EFBIG;
        rp->streaming = true;
        rp->body_fn = fn;
        rp->body_ud = ud;
        rp->body_max = max;
        return 0;
}

struct http_request *http_reqparser_take(struct http_reqparser *rp) {
        struct http_request *r;

        if (!rp->complete)
                return NULL;
        r = TAKE_PTR(rp->req);
        rp->complete = false;
        rp->started = false;
        rp->headers_done = false;
        rp->head_paused = rp->streaming = false;
        rp->body_fn = NULL;
        http_parser_pause(&rp->p, 0);
        return r;
}

int http_request_parse(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request **ret, size_t *ret_consumed, int *ret_status,
                       struct err **errp) {
        struct http_reqparser rp;
        ssize_t n;

        http_reqparser_init(&rp, lim);
        n = http_reqparser_feed(&rp, buf, len);
        if (n >= 0 && !rp.complete)
                n = http_reqparser_feed(&rp, NULL, 0);
        if (n < 0 || !rp.complete) {
                if (ret_status)
                        *ret_status = rp.status ? rp.status : 400;
                http_reqparser_done(&rp);
                return err_setx(errp, EBADMSG, "bad HTTP request: %s",
                                rp.reason ? rp.reason : "incomplete request");
        }
        if (ret_consumed)
                *ret_consumed = (size_t)n;
        *ret = http_reqparser_take(&rp);
        http_reqparser_done(&rp);
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int http_unescape(const char *s, size_t len, bool form, char **ret) {
        _cleanup_free_ char *out = xmalloc(len + 1);
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '%') {
                        int hi, lo;

                        if (i + 2 >= len)
                                return -EINVAL;
                        hi = unhex(s[i + 1]);
                        lo = unhex(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (char)(hi << 4 | lo);
                        i += 2;
                } else if (c == '+' && form)
                        c = ' ';
                if (c == '\0')
                        return -EINVAL;
                out[o++] = c;
        }
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

char *http_escape(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
                        *o++ = (char)c;
                else {
                        *o++ = '%';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o = '\0';
        return out;
}

int http_query_parse(const char *query, char ***ret, struct err **errp) {
        _cleanup_strv_ char **l = xnew0(char *, 1);
        const char *p = query ? query : "";

        while (*p) {
                size_t n = strcspn(p, "&"), k = strcspn(p, "=");
                char *name = NULL, *value = NULL;

                if (n > 0) {
                        size_t nlen = MIN(k, n);

                        if (http_unescape(p, nlen, true, &name) < 0)
                                return err_setx(errp, EINVAL,
                                                "bad escape in query parameter '%.*s'",
                                                (int)MIN(n, 64u), p);
                        if (nlen < n) {
                                if (http_unescape(p + nlen + 1, n - nlen - 1, true, &value) < 0) {
                                        int r = err_setx(errp, EINVAL,
                                                         "bad escape in query parameter '%s'",
                                                         name);
                                        free(name);
                                        return r;
                                }
                        } else
                                value = xstrdup("");
                        strv_push_take(&l, name);
                        strv_push_take(&l, value);
                }
                p += n;
                if (*p == '&')
                        p++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

const char *http_query_get(char *const *pairs, const char *name) {
        const char *v = NULL;

        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
                if (streq(pairs[i], name))
                        v = pairs[i + 1];
        return v;
}

int http_query_get_bool(char *const *pairs, const char *name, bool def, bool *ret,
                        struct err **errp) {
        const char *v = http_query_get(pairs, name);

        if (!v)
                *ret = def;
        else if (streq(v, "1") || streq(v, "true") || streq(v, "yes"))
                *ret = true;
        else if (streq(v, "0") || streq(v, "false") || streq(v, "no") || streq(v, ""))
                *ret = false;
        else
                return err_setx(errp, EINVAL, "query parameter '%s': expected a boolean, got '%s'",
                                name, v);
        return 0;
}

int http_query_get_uint(char *const *pairs, const char *name, unsigned long long def,
                        unsigned long long max, unsigned long long *ret, struct err **errp) {
        const char *v = http_query_get(pairs, name);
        unsigned long long x;
        char *end;

        if (!v) {
                *ret = def;
                return 0;
        }
        if (!isdigit((unsigned char)v[0]))
                return err_setx(errp, EINVAL, "query parameter '%s': expected a number, got '%s'",
                                name, v);
        errno = 0;
        x = strtoull(v, &end, 10);
        if (*end)
                return err_setx(errp, EINVAL, "query parameter '%s': expected a number, got '%s'",
                                name, v);
        if (errno == ERANGE || x > max)
                return err_setx(errp, ERANGE, "query parameter '%s': %s is larger than %llu", name,
                                v, max);
        *ret = x;
        return 0;
}

const char *http_status_text(int status) {
        switch (status) {
#define XX(num, name, string)                                                                      \
        case num:                                                                                  \
                return #string;
                HTTP_STATUS_MAP(XX)
#undef XX
        default:
                return "Unknown";
        }
}
