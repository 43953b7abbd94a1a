/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internals shared by registry.c (HTTP, auth, pull) and push.c. Not for other layers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "err.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"
#include "image/store.h"

#define ERROR_BODY_MAX (64u << 10)

struct reg {
        char *host; /* as in the reference: "localhost:5000", "docker.io" */
        char *base; /* "https://registry-1.docker.io" */
        char *repo; /* "library/busybox" */
        char *user, *pass;
        char *token;               /* bearer token, once obtained */
        bool basic;                /* registry asked for Basic */
        const char *scope_actions; /* "pull" or "pull,push" */
        unsigned retries, backoff_ms;
        /* TLS material from <certs_dir>/<host>/ (ca.crt, client.cert + client.key); NULL: none */
        char *ca_pem; /* every .crt file of the host's certs.d dir, concatenated (host_cas) */
        size_t ca_pem_len;
        char *cert_file, *key_file;
        char *certs_hint;   /* "<certs_dir>/<host>/ca.crt", named in certificate errors */
        CURL *easy;         /* reused by reg_do_full: one connection for consecutive requests */
        char *cert_problem; /* client.cert without client.key or the reverse: every request fails */
        bool may_plain;     /* loopback or insecure: fall back to HTTP if the host has no TLS */
};

struct resp {
        long status;
        char *body;
        size_t len, max;
        bool too_big;
        struct blob_writer *w; /* when set, the body goes here */
        struct err *werr;
        char *content_type, *www_auth, *location;
        /* progress */
        registry_progress_fn *progress;
        void *userdata;
        const char *digest;
        uint64_t total;
        /* upload source */
        int upload_fd;
        uint64_t upload_left;
        uint64_t progress_last; /* bytes at the last progress call */
        /* streaming unpack (a pull's layer worker): body bytes are also queued for the
         * extractor, which reads them from queue_buf[queue_off, queue_len); with QUEUE_MAX
         * bytes waiting, the transfer pauses until the extractor has taken them all */
        bool queue, paused;
        char *queue_buf;
        size_t queue_len, queue_off, queue_cap;
};

#define QUEUE_MAX (1u << 20)

void resp_reset(struct resp *r);
/* The registry's error message of a failed response (allocated). */
char *resp_error(const struct resp *r);
/* One request with retries of transient failures, the auth dance and the HTTPS-to-HTTP
 * fallback for loopback/insecure hosts; tail is relative to /v2/<repo>/, absolute ("/v2/") or a
 * full URL. The upload comes from upload_fd (upload_len bytes from upload_off). */
int reg_do_full(struct reg *g, const char *method, const char *tail, const char *accept,
                const char *content_type, const char *extra_header, int upload_fd,
                uint64_t upload_off, uint64_t upload_len, struct resp *r, struct err **errp);
int reg_do(struct reg *g, const char *method, const char *tail, const char *accept,
           const char *content_type, int upload_fd, uint64_t upload_len, struct resp *r,
           struct err **errp);
int reg_init(struct reg *g, const char *root, const struct image_ref *ref, char *const *insecure,
             const char *certs_dir, const char *actions, unsigned retries, unsigned backoff_ms);
void reg_free(struct reg *g);
/* A curl handle for one request of g (auth, TLS material, callbacks filling r). */
CURL *reg_easy_new(const struct reg *g, const char *method, const char *url,
                   struct curl_slist *hdrs, struct resp *r, bool with_auth);
/* tail relative to /v2/<repo>/, absolute ("/v2/") or a full URL (allocated). */
char *reg_url(const struct reg *g, const char *tail);
/* A curl failure worth a retry (connection reset, timeout, ...). */
bool reg_curl_transient(CURLcode cc);
/* What a pull learns from the image config: the diff id and chain id of each layer of the
 * manifest, and the verified blobs published with the layers (NULL entries skipped; the config
 * and manifest). */
struct pull_meta {
        char *const *diff_ids, *const *chain_ids;
        struct blob_writer *const *extra;
        size_t n_extra;
};
/* The layers of a pull that are not in the store yet (pull_layers.c): downloaded, verified and
 * unpacked by forked workers, then published into the store after one sync with the extra
 * blobs. The workers of the largest layers whose blobs are missing start first, then meta()
 * fetches the config (its round trip overlaps their downloads) and fills *m, valid until
 * pull_layers returns. */
int pull_layers(struct reg *g, struct image_store *s, const struct manifest *man,
                int (*meta)(void *ud, struct pull_meta *m, struct err **errp), void *ud,
                const struct pull_opts *o, struct err **errp);
/* The root the store was opened with (allocated). */
char *store_root(struct image_store *s);
