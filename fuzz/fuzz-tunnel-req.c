/* SPDX-License-Identifier: Apache-2.0 */
/* The reverse channel's requests (common/tunnel_req.h): input is FLAGS PATH '\0' BODY. A path
 * that tunnel_req_check() accepts, written by tunnel_req_text(), must parse with the server's
 * own parser as exactly one request with that method, target and body, nothing behind it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http_request.h"
#include "tunnel_req.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *path = NULL, *body = NULL, *text = NULL;
        _cleanup_(http_request_freep) struct http_request *r = NULL;
        const char *method, *nul;
        size_t used = 0, plen;
        int status = 0;
        bool upgrade;

        if (size < 1 || size > 8192)
                return 0;
        method = data[0] & 1 ? "POST" : "GET";
        upgrade = data[0] & 2;
        nul = memchr(data + 1, '\0', size - 1);
        plen = nul ? (size_t)(nul - (const char *)data - 1) : size - 1;
        path = xstrndup((const char *)data + 1, plen);
        body = nul ? xstrndup(nul + 1, size - 1 - plen - 1) : NULL;
        if (tunnel_req_check(method, path, NULL) < 0)
                return 0;
        if (body && strlen(body) != size - 1 - plen - 1)
                return 0; /* bodies are JSON text: no NUL */
        text = tunnel_req_text(method, path, body, upgrade);
        if (http_request_parse(text, strlen(text),
                               &(struct http_limits){.max_header_size = 65536,
                                                     .max_headers = 32,
                                                     .max_body_size = 65536},
                               &r, &used, &status, NULL) < 0)
                abort();
        if (used != strlen(text) || strcmp(r->method, method) != 0 || strcmp(r->url, path) != 0)
                abort();
        if (r->body_len != (body ? strlen(body) : 0) ||
            (r->body_len && memcmp(r->body, body, r->body_len) != 0))
                abort();
        return 0;
}
