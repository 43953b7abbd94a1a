/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/errwrap.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/registry.h"
#include "image/registry_int.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define DOCKER_HUB_HOST "registry-1.docker.io"
#define DOCKER_HUB_AUTH_KEY "https://index.docker.io/v1/"
#define TOKEN_MAX (1u << 20)

/* ---- small helpers ---- */

bool registry_host_is_loopback(const char *host) {
        _cleanup_free_ char *h = NULL;
        struct in_addr a4;
        char *c;

        if (host[0] == '[') {
                c = strchr(host, ']');
                h = c ? xstrndup(host + 1, (size_t)(c - host - 1)) : xstrdup(host);
        } else {
                h = xstrdup(host);
                c = strrchr(h, ':');
                if (c && strchr(h, ':') == c)
                        *c = 0;
        }
        if (streq(h, "localhost") || streq(h, "::1"))
                return true;
        return inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static void msleep(unsigned ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

void auth_challenge_done(struct auth_challenge *c) {
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        *c = (struct auth_challenge){};
}

int auth_challenge_parse(const char *h, struct auth_challenge *ret, struct err **errp) {
        struct auth_challenge c = {};
        const char *p = h + strspn(h, " \t");
        size_t n = strcspn(p, " \t");

        if (n == 0)
                return err_setx(errp, EPROTO, "empty WWW-Authenticate header");
        c.scheme = xstrndup(p, n);
        p += n;
        while (*p) {
                _cleanup_free_ char *key = NULL, *val = NULL;
                size_t vlen = 0, cap;

                p += strspn(p, " \t,");
                if (!*p)
                        break;
                n = strcspn(p, "=");
                if (!p[n]) {
                        auth_challenge_done(&c);
                        return err_setx(errp, EPROTO, "bad WWW-Authenticate header '%s'", h);
                }
                key = xstrndup(p, n);
                p += n + 1;
                cap = strlen(p) + 1;
                val = xmalloc(cap);
                if (*p == '"') {
                        p++;
                        while (*p && *p != '"') {
                                if (*p == '\\' && p[1])
                                        p++;
                                val[vlen++] = *p++;
                        }
                        if (*p != '"') {
                                auth_challenge_done(&c);
                                return err_setx(errp, EPROTO,
                                                "unterminated quote in WWW-Authenticate '%s'", h);
                        }
                        p++;
                } else
                        while (*p && *p != ',' && *p != ' ')
                                val[vlen++] = *p++;
                val[vlen] = 0;
                for (char *k = key; *k; k++)
                        *k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
                if (streq(key, "realm"))
                        free(c.realm), c.realm = TAKE_PTR(val);
                else if (streq(key, "service"))
                        free(c.service), c.service = TAKE_PTR(val);
                else if (streq(key, "scope"))
                        free(c.scope), c.scope = TAKE_PTR(val);
        }
        *ret = c;
        return 0;
}

/* ---- auth.json ---- */

static char *auth_path(const char *root) {
        return xasprintf("%s/auth.json", root);
}

static const char *auth_key(const char *host) {
        return streq(host, "docker.io") || streq(host, DOCKER_HUB_HOST) ? DOCKER_HUB_AUTH_KEY
                                                                        : host;
}

int registry_credentials(const char *root, const char *host, char **ret_user, char **ret_password,
                         struct err **errp) {
        _cleanup_free_ char *p = auth_path(root), *dec = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *b64;
        size_t len;
        int n, r;
        char *colon;

        if (access(p, F_OK) < 0)
                return err_setx(errp, ENOENT, "no credentials for '%s'", host);
        r = json_load_path(p, 1 << 20, &j, errp);
        if (r < 0)
                return r;
        b64 = json_get_str(json_object_get(json_object_get(j, "auths"), auth_key(host)), "auth",
                           NULL);
        if (!b64)
                return err_setx(errp, ENOENT, "no credentials for '%s'", host);
        len = strlen(b64);
        dec = xmalloc(len + 4);
        n = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)b64, (int)len);
        if (n < 0)
                return err_setx(errp, EINVAL, "'%s': auths.%s.auth is not base64", p, host);
        dec[n] = 0;
        while (len > 0 && b64[len - 1] == '=' && n > 0) { /* DecodeBlock counts padding */
                dec[--n] = 0;
                len--;
        }
        colon = strchr(dec, ':');
        if (!colon)
                return err_setx(errp, EINVAL, "'%s': auths.%s.auth is not user:password", p, host);
        *colon = 0;
        *ret_user = xstrdup(dec);
        *ret_password = xstrdup(colon + 1);
        return 0;
}

static int auth_store(const char *root, const char *host, const char *user, const char *pass,
                      struct err **errp) {
        _cleanup_free_ char *p = auth_path(root), *plain = NULL, *b64 = NULL;
        _cleanup_json_ json_t *j = NULL;
        json_t *auths;
        int r;

        r = mkdir_p(root, 0700, errp);
        if (r < 0)
                return r;
        if (access(p, F_OK) == 0) {
                r = json_load_path(p, 1 << 20, &j, errp);
                if (r < 0)
                        return r;
        } else
                j = json_object();
        auths = json_object_get(j, "auths");
        if (!json_is_object(auths)) {
                auths = json_object();
                json_object_set_new(j, "auths", auths);
        }
        if (user) {
                plain = xasprintf("%s:%s", user, pass);
                b64 = xmalloc(strlen(plain) * 4 / 3 + 8);
                EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain,
                                (int)strlen(plain));
                json_object_set_new(auths, auth_key(host), json_pack("{s:s}", "auth", b64));
        } else {
                if (!json_object_get(auths, auth_key(host)))
                        return 0;
                json_object_del(auths, auth_key(host));
        }
        r = json_save_path(p, j, errp); /* 0600 */
        return r < 0 ? r : 1;
}

int registry_logout(const char *root, const char *host, struct err **errp) {
        _cleanup_free_ char *p = auth_path(root);

        if (access(p, F_OK) < 0)
                return 0;
        return auth_store(root, host, NULL, NULL, errp);
}

/* ---- HTTP ---- */

void resp_reset(struct resp *r) {
        free(r->body);
        free(r->content_type);
        free(r->www_auth);
        free(r->location);
        r->body = r->content_type = r->www_auth = r->location = NULL;
        r->len = 0;
        r->status = 0;
        r->too_big = false;
        free(r->queue_buf);
        r->queue_buf = NULL;
        r->queue_len = r->queue_off = r->queue_cap = 0;
        r->paused = false;
        r->progress_last = 0;
        r->werr = err_free(r->werr);
}

void reg_free(struct reg *g) {
        free(g->host);
        free(g->base);
        free(g->repo);
        free(g->user);
        free(g->pass);
        free(g->token);
        free(g->ca_pem);
        free(g->cert_file);
        free(g->key_file);
        free(g->certs_hint);
        free(g->cert_problem);
        if (g->easy)
                curl_easy_cleanup(g->easy);
        g->easy = NULL;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *ud) {
        struct resp *r = ud;
        size_t len = size * n;
        _cleanup_free_ char *line = xstrndup(buf, len);
        char *colon, *v, *e;

        if (str_startswith(line, "HTTP/")) { /* a new response (redirect, 100-continue) */
                free(r->content_type);
                free(r->www_auth);
                free(r->location);
                r->content_type = r->www_auth = r->location = NULL;
                return len;
        }
        colon = strchr(line, ':');
        if (!colon)
                return len;
        *colon = 0;
        v = colon + 1 + strspn(colon + 1, " \t");
        e = v + strlen(v);
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
                *--e = 0;
        if (strcasecmp(line, "content-type") == 0) {
                char *semi = strchr(v, ';');
                if (semi)
                        *semi = 0;
                free(r->content_type);
                r->content_type = xstrdup(v);
        } else if (strcasecmp(line, "www-authenticate") == 0 && !r->www_auth)
                r->www_auth = xstrdup(v);
        else if (strcasecmp(line, "location") == 0) {
                free(r->location);
                r->location = xstrdup(v);
        }
        return len;
}

#define PROGRESS_STEP (256u << 10)

/* Appends a chunk of the body for the extractor, after what it has not taken yet. */
static void queue_append(struct resp *r, const char *buf, size_t len) {
        if (r->queue_off == r->queue_len)
                r->queue_off = r->queue_len = 0;
        if (r->queue_len + len > r->queue_cap && r->queue_off > 0) {
                memmove(r->queue_buf, r->queue_buf + r->queue_off, r->queue_len - r->queue_off);
                r->queue_len -= r->queue_off;
                r->queue_off = 0;
        }
        if (r->queue_len + len > r->queue_cap) {
                r->queue_cap = MAX(r->queue_len + len, 2 * r->queue_cap);
                r->queue_buf = xrealloc(r->queue_buf, r->queue_cap);
        }
        memcpy(r->queue_buf + r->queue_len, buf, len);
        r->queue_len += len;
}

static size_t write_cb(char *buf, size_t size, size_t n, void *ud) {
        struct resp *r = ud;
        size_t len = size * n;

        if (r->w && r->status >= 200 && r->status < 300) {
                uint64_t done;

                if (r->queue && r->queue_len - r->queue_off >= QUEUE_MAX) {
                        r->paused = true;
                        return CURL_WRITEFUNC_PAUSE;
                }
                if (blob_writer_write(r->w, buf, len, &r->werr) < 0)
                        return 0;
                if (r->queue)
                        queue_append(r, buf, len);
                done = blob_writer_size(r->w);
                if (r->progress && (done - r->progress_last >= PROGRESS_STEP || done >= r->total)) {
                        r->progress_last = done;
                        r->progress(r->userdata, r->digest, done, r->total);
                }
                return len;
        }
        if (r->len + len > r->max) {
                r->too_big = true;
                return 0;
        }
        r->body = xrealloc(r->body, r->len + len + 1);
        memcpy(r->body + r->len, buf, len);
        r->len += len;
        r->body[r->len] = 0;
        return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud) {
        struct resp *r = ud;
        uint64_t left = r->upload_left;
        size_t want = size * n;

        if (left < want)
                want = (size_t)left;
        ssize_t k;
        if (want == 0)
                return 0;
        k = read(r->upload_fd, buf, want);
        if (k < 0)
                return CURL_READFUNC_ABORT;
        r->upload_left -= (uint64_t)k;
        return (size_t)k;
}

/* Status line of the first response, so the write callback knows whether to keep the body. */
static size_t header_status_cb(char *buf, size_t size, size_t n, void *ud) {
        struct resp *r = ud;
        int code;

        if (size * n > 9 && strncmp(buf, "HTTP/", 5) == 0 && sscanf(buf, "HTTP/%*s %d", &code) == 1)
                r->status = code;
        return header_cb(buf, size, n, ud);
}

char *reg_url(const struct reg *g, const char *fmt_tail) {
        if (str_startswith(fmt_tail, "http://") || str_startswith(fmt_tail, "https://"))
                return xstrdup(fmt_tail);
        if (fmt_tail[0] == '/')
                return xasprintf("%s%s", g->base, fmt_tail);
        return xasprintf("%s/v2/%s/%s", g->base, g->repo, fmt_tail);
}

/* The system CAs as a directory of hash links (SSL_CERT_DIR, else OpenSSL's default, e.g.
 * /usr/lib/ssl/certs -> /etc/ssl/certs made by update-ca-certificates), or NULL when it has none.
 * OpenSSL looks a CA up there only when it verifies a chain, where the bundle file would be
 * parsed whole (about 140 certificates, 15-20 ms) for every connection, even for the TLS probe
 * of a plain-HTTP loopback registry. And a certs.d ca.crt then adds to the system CAs instead
 * of replacing the bundle. Without hash links curl's own bundle is used. */
static const char *system_ca_dir(void) {
        static bool probed;
        static char *dir;

        if (!probed) {
                const char *d = getenv(X509_get_default_cert_dir_env());
                _cleanup_closedir_ DIR *dh = NULL;
                struct dirent *de;

                probed = true;
                if (!d || !*d)
                        d = X509_get_default_cert_dir();
                dh = opendir(d);
                while (dh && (de = readdir(dh))) {
                        const char *dot = strchr(de->d_name, '.');
                        if (dot && dot - de->d_name == 8 && dot[1] >= '0' && dot[1] <= '9' &&
                            strspn(de->d_name, "0123456789abcdef") == 8) {
                                dir = xstrdup(d);
                                break;
                        }
                }
        }
        return dir;
}

/* Sets up c (NULL: a new handle) for one request. A handle used again (curl_easy_reset) keeps
 * its connection to the registry open for the next request. */
static CURL *easy_setup(CURL *c, const struct reg *g, const char *method, const char *url,
                        struct curl_slist *hdrs, struct resp *r, bool with_auth) {
        if (c)
                curl_easy_reset(c);
        else
                c = curl_easy_init();
        if (!c)
                oom();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_USERAGENT, "berth");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_status_cb);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        if (streq(method, "GET"))
                curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        else if (streq(method, "HEAD"))
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else if (streq(method, "PUT") || streq(method, "PATCH")) {
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
                curl_easy_setopt(c, CURLOPT_READDATA, r);
                curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_left);
        } else
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (streq(method, "POST")) {
                curl_easy_setopt(c, CURLOPT_POST, 1L);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
        }
        if (with_auth) {
                if (g->token) {
                        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, g->token);
                        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
                } else if (g->basic && g->user) {
                        curl_easy_setopt(c, CURLOPT_USERNAME, g->user);
                        curl_easy_setopt(c, CURLOPT_PASSWORD, g->pass);
                        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
                }
        }
        if (hdrs)
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        /* The system CAs come from the hashed directory when there is one (see
         * system_ca_dir). The host's own CA adds to them, and it and the client certificate
         * apply to that host only (a token realm or a redirect elsewhere keeps the system
         * CAs). */
        if (system_ca_dir()) {
                curl_easy_setopt(c, CURLOPT_CAPATH, system_ca_dir());
                curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
        }
        if (str_startswith(url, g->base) && str_startswith(g->base, "https://")) {
                if (g->ca_pem) {
                        struct curl_blob b = {
                                .data = g->ca_pem, .len = g->ca_pem_len, .flags = CURL_BLOB_COPY};
                        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
                }
                if (g->cert_file && g->key_file) {
                        curl_easy_setopt(c, CURLOPT_SSLCERT, g->cert_file);
                        curl_easy_setopt(c, CURLOPT_SSLKEY, g->key_file);
                }
        }
        return c;
}

CURL *reg_easy_new(const struct reg *g, const char *method, const char *url,
                   struct curl_slist *hdrs, struct resp *r, bool with_auth) {
        return easy_setup(NULL, g, method, url, hdrs, r, with_auth);
}

/* A TLS failure turned into an error that says what to do about it. */
static int tls_error(const struct reg *g, const char *method, const char *url, CURLcode cc,
                     const char *errbuf, struct err **errp) {
        const char *why = *errbuf ? errbuf : curl_easy_strerror(cc);

        if (cc == CURLE_PEER_FAILED_VERIFICATION)
                return err_setx(errp, EIO,
                                "%s %s: TLS certificate of '%s' not trusted: %s (put the CA that "
                                "signed it in '%s' or another *.crt there%s)",
                                method, url, g->host, why, g->certs_hint,
                                g->ca_pem ? ", which holds different CAs" : "");
        return err_setx(errp, EIO, "%s %s: TLS error with '%s': %s", method, url, g->host, why);
}

/* The server ended the handshake with an alert about our (missing or untrusted) client
 * certificate. With TLS 1.3 the client learns it only when it reads, as a receive error. */
static bool tls_client_cert_refused(const char *errbuf) {
        return strstr(errbuf, "alert bad certificate") ||
               strstr(errbuf, "alert certificate required") || strstr(errbuf, "alert unknown ca") ||
               strstr(errbuf, "alert certificate unknown");
}

static int client_cert_error(const struct reg *g, const char *method, const char *url,
                             const char *errbuf, struct err **errp) {
        _cleanup_free_ char *dir = xstrdup(g->certs_hint);
        char *slash = strrchr(dir, '/');

        if (slash)
                *slash = 0;
        if (!g->cert_file || !g->key_file)
                return err_setx(errp, EACCES,
                                "%s %s: '%s' asks for a TLS client certificate: %s (put it in "
                                "'%s/client.cert' and its key in '%s/client.key')",
                                method, url, g->host, errbuf, dir, dir);
        return err_setx(errp, EACCES,
                        "%s %s: '%s' refused the TLS client certificate '%s': %s (is it signed "
                        "by a CA the registry trusts?)",
                        method, url, g->host, g->cert_file, errbuf);
}

static bool curl_tls_failure(CURLcode cc) {
        return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
               cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CACERT_BADFILE ||
               cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

/* Loopback and insecure hosts are tried over HTTPS first. A handshake that fails without a
 * TLS alert (a plain HTTP server answers the ClientHello with "HTTP/1.1 400", which OpenSSL
 * reports as "wrong version number", or just closes) moves the connection to HTTP. A server
 * that does speak TLS (it sent an alert, or its certificate failed verification) is never
 * downgraded: that is an error. Only the first connection decides. Returns true when it
 * switched. */
static bool reg_maybe_plain(struct reg *g, CURLcode cc, const char *errbuf) {
        char *b;

        if (!g->may_plain || cc != CURLE_SSL_CONNECT_ERROR || strstr(errbuf, "alert"))
                return false;
        g->may_plain = false;
        b = xasprintf("http://%s", g->base + strlen("https://"));
        free(g->base);
        g->base = b;
        return true;
}

bool reg_curl_transient(CURLcode cc) {
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* A registry error body {"errors":[{"code","message"}]} or the status line. */
char *resp_error(const struct resp *r) {
        _cleanup_json_ json_t *j = NULL;
        json_t *e0;

        if (r->body && json_parse(r->body, r->len, "error", &j, NULL) >= 0 &&
            (e0 = json_array_get(json_object_get(j, "errors"), 0)))
                return xasprintf("HTTP %ld: %s: %s", r->status, json_get_str(e0, "code", "?"),
                                 json_get_str(e0, "message", ""));
        return xasprintf("HTTP %ld", r->status);
}

static int fetch_token(struct reg *g, const struct auth_challenge *ch, struct err **errp);

/* One request with retries and the auth dance. The caller looks at r->status. The upload
 * (when upload_fd >= 0) is upload_len bytes from upload_off. */
int reg_do_full(struct reg *g, const char *method, const char *tail, const char *accept,
                const char *content_type, const char *extra_header, int upload_fd,
                uint64_t upload_off, uint64_t upload_len, struct resp *r, struct err **errp) {
        _cleanup_free_ char *url = reg_url(g, tail);
        bool auth_tried = false;
        unsigned attempt = 0, delay = g->backoff_ms;

        if (g->cert_problem)
                return err_setx(errp, EINVAL, "%s", g->cert_problem);

        for (;;) {
                struct curl_slist *hdrs = NULL;
                char errbuf[CURL_ERROR_SIZE] = "";
                CURLcode cc;
                CURL *c;

                resp_reset(r);
                if (!r->max)
                        r->max = ERROR_BODY_MAX;
                if (r->w && blob_writer_reset(r->w, errp) < 0)
                        return -EIO;
                if (upload_fd >= 0) {
                        if (lseek(upload_fd, (off_t)upload_off, SEEK_SET) < 0)
                                return err_set(errp, errno, "rewind upload");
                        r->upload_fd = upload_fd;
                        r->upload_left = upload_len;
                }
                if (accept) {
                        _cleanup_free_ char *h = xasprintf("Accept: %s", accept);
                        hdrs = curl_slist_append(hdrs, h);
                }
                if (content_type) {
                        _cleanup_free_ char *h = xasprintf("Content-Type: %s", content_type);
                        hdrs = curl_slist_append(hdrs, h);
                }
                if (extra_header)
                        hdrs = curl_slist_append(hdrs, extra_header);
                c = g->easy = easy_setup(g->easy, g, method, url, hdrs, r, true);
                curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
                cc = curl_easy_perform(c);
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
                /* the handle (and its connection) stays for the next request; the options that
                 * point at this call's buffers go at the next reset */
                curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
                curl_slist_free_all(hdrs);

                if (r->werr)
                        return err_move(errp, TAKE_PTR(r->werr));
                if (reg_maybe_plain(g, cc, errbuf)) {
                        free(url);
                        url = reg_url(g, tail);
                        continue;
                }
                if (cc == CURLE_OK)
                        g->may_plain = false;
                if (cc != CURLE_OK && tls_client_cert_refused(errbuf))
                        return client_cert_error(g, method, url, errbuf, errp);
                if (curl_tls_failure(cc))
                        return tls_error(g, method, url, cc, errbuf, errp);
                if (cc == CURLE_WRITE_ERROR && r->too_big)
                        return err_setx(errp, EFBIG, "%s %s: response larger than %zu bytes",
                                        method, url, r->max);
                if (cc != CURLE_OK || r->status >= 500 || r->status == 429) {
                        if ((cc == CURLE_OK || reg_curl_transient(cc)) && attempt < g->retries) {
                                attempt++;
                                msleep(delay);
                                delay *= 2;
                                continue;
                        }
                        if (cc != CURLE_OK)
                                return err_setx(errp, EIO, "%s %s: %s", method, url,
                                                *errbuf ? errbuf : curl_easy_strerror(cc));
                        {
                                _cleanup_free_ char *m = resp_error(r);
                                return err_setx(errp, EIO, "%s %s: %s (after %u attempts)", method,
                                                url, m, attempt + 1);
                        }
                }
                if (r->status == 401 && !auth_tried && r->www_auth) {
                        struct auth_challenge ch = {};
                        int k;

                        auth_tried = true;
                        k = auth_challenge_parse(r->www_auth, &ch, errp);
                        if (k < 0)
                                return k;
                        if (strcasecmp(ch.scheme, "bearer") == 0) {
                                k = fetch_token(g, &ch, errp);
                                auth_challenge_done(&ch);
                                if (k < 0)
                                        return k;
                                continue;
                        }
                        if (strcasecmp(ch.scheme, "basic") == 0 && g->user) {
                                auth_challenge_done(&ch);
                                g->basic = true;
                                continue;
                        }
                        auth_challenge_done(&ch);
                }
                if (r->status == 401)
                        return err_setx(errp, EACCES,
                                        "%s %s: unauthorized (%s); log in with the right "
                                        "credentials",
                                        method, url,
                                        g->user ? "credentials refused" : "no credentials stored");
                return 0;
        }
}

int reg_do(struct reg *g, const char *method, const char *tail, const char *accept,
           const char *content_type, int upload_fd, uint64_t upload_len, struct resp *r,
           struct err **errp) {
        return reg_do_full(g, method, tail, accept, content_type, NULL, upload_fd, 0, upload_len, r,
                           errp);
}

static int fetch_token(struct reg *g, const struct auth_challenge *ch, struct err **errp) {
        _cleanup_free_ char *url = NULL, *scope = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct resp r = {.max = TOKEN_MAX, .upload_fd = -EBADF};
        char errbuf[CURL_ERROR_SIZE] = "";
        const char *tok;
        CURLcode cc;
        CURL *c;
        int k;

        if (!ch->realm ||
            !(str_startswith(ch->realm, "https://") || str_startswith(ch->realm, "http://")))
                return err_setx(errp, EPROTO,
                                "registry '%s': bearer challenge without a usable "
                                "realm",
                                g->host);
        c = curl_easy_init();
        if (!c)
                oom();
        {
                char *svc = ch->service ? curl_easy_escape(c, ch->service, 0) : NULL;
                char *sc;
                scope = ch->scope ? xstrdup(ch->scope)
                        : g->repo ? xasprintf("repository:%s:%s", g->repo, g->scope_actions)
                                  : NULL;
                sc = scope ? curl_easy_escape(c, scope, 0) : NULL;
                url = xasprintf("%s%s%s%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
                                svc ? "service=" : "", svc ? svc : "", sc ? "&scope=" : "",
                                sc ? sc : "");
                curl_free(svc);
                curl_free(sc);
        }
        curl_easy_cleanup(c);
        c = reg_easy_new(g, "GET", url, NULL, &r, false);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        if (g->user) {
                curl_easy_setopt(c, CURLOPT_USERNAME, g->user);
                curl_easy_setopt(c, CURLOPT_PASSWORD, g->pass);
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        }
        cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_cleanup(c);
        if (cc != CURLE_OK) {
                k = err_setx(errp, EIO, "get token from '%s': %s", ch->realm,
                             *errbuf ? errbuf : curl_easy_strerror(cc));
                goto out;
        }
        if (r.status == 401 || r.status == 403) {
                k = err_setx(errp, EACCES, "get token from '%s': unauthorized (HTTP %ld)",
                             ch->realm, r.status);
                goto out;
        }
        if (r.status != 200) {
                k = err_setx(errp, EPROTO, "get token from '%s': HTTP %ld", ch->realm, r.status);
                goto out;
        }
        k = json_parse(r.body ? r.body : "", r.len, "token response", &j, errp);
        if (k < 0)
                goto out;
        tok = json_get_str(j, "token", json_get_str(j, "access_token", NULL));
        if (!tok || !*tok) {
                k = err_setx(errp, EPROTO, "token response from '%s' has no token", ch->realm);
                goto out;
        }
        free(g->token);
        g->token = xstrdup(tok);
        k = 0;
out:
        resp_reset(&r);
        return k;
}

/* <certs_dir>/<host>/NAME when it is a regular file, else NULL. */
static char *certs_file(const char *dir, const char *name) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        struct stat st;

        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        return TAKE_PTR(p);
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.crt of a host's certs.d directory (docker reads them all), concatenated in name
 * order, or NULL. They add to the system CAs: through the hashed directory when there is one
 * (see system_ca_dir), else the system bundle is put in front of them. */
static char *host_cas(const char *hostdir, size_t *ret_len) {
        _cleanup_strv_ char **names = NULL;
        _cleanup_closedir_ DIR *dh = opendir(hostdir);
        char *pem = NULL;
        size_t len = 0;
        struct dirent *de;

        while (dh && (de = readdir(dh)))
                if (str_endswith(de->d_name, ".crt") && de->d_name[0] != '.')
                        strv_push(&names, de->d_name);
        if (!names)
                return NULL;
        qsort_safe(names, strv_length(names), sizeof(char *), cmp_names);
        if (!system_ca_dir()) {
                const char *f = getenv(X509_get_default_cert_file_env());
                _cleanup_free_ char *b = NULL;
                size_t bl = 0;
                if (read_file(f && *f ? f : X509_get_default_cert_file(), 4u << 20, &b, &bl,
                              NULL) >= 0) {
                        pem = xrealloc(pem, len + bl + 1);
                        memcpy(pem + len, b, bl);
                        len += bl;
                        pem[len++] = '\n';
                }
        }
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *p = certs_file(hostdir, *n), *b = NULL;
                size_t bl = 0;
                if (!p || read_file(p, 1u << 20, &b, &bl, NULL) < 0)
                        continue;
                pem = xrealloc(pem, len + bl + 1);
                memcpy(pem + len, b, bl);
                len += bl;
                pem[len++] = '\n';
        }
        *ret_len = len;
        return pem;
}

int reg_init(struct reg *g, const char *root, const struct image_ref *ref, char *const *insecure,
             const char *certs_dir, const char *actions, unsigned retries, unsigned backoff_ms) {
        const char *host = streq(ref->domain, "docker.io") ? DOCKER_HUB_HOST : ref->domain;
        _cleanup_free_ char *hostdir = NULL;
        struct stat st;
        bool has_certs;

        *g = (struct reg){};
        hostdir = xasprintf("%s/%s", certs_dir ? certs_dir : REGISTRY_CERTS_DIR, ref->domain);
        has_certs = stat(hostdir, &st) == 0 && S_ISDIR(st.st_mode);
        if (has_certs) {
                g->ca_pem = host_cas(hostdir, &g->ca_pem_len);
                g->cert_file = certs_file(hostdir, "client.cert");
                g->key_file = certs_file(hostdir, "client.key");
                if (!g->cert_file != !g->key_file)
                        g->cert_problem =
                                xasprintf("'%s' has %s but not %s: a client certificate needs both",
                                          hostdir, g->cert_file ? "client.cert" : "client.key",
                                          g->cert_file ? "client.key" : "client.cert");
        }
        g->certs_hint = xasprintf("%s/ca.crt", hostdir);
        /* A host with a certs directory is TLS only, even on loopback or when listed insecure. */
        g->may_plain = !has_certs && (registry_host_is_loopback(ref->domain) ||
                                      strv_contains(insecure, ref->domain));
        g->host = xstrdup(ref->domain);
        g->base = xasprintf("https://%s", host);
        g->repo = xstrdup(ref->path);
        g->scope_actions = actions;
        g->retries = retries ? retries : 3;
        g->backoff_ms = backoff_ms ? backoff_ms : 250;
        if (root)
                (void)registry_credentials(root, ref->domain, &g->user, &g->pass, NULL);
        return 0;
}

char *store_root(struct image_store *s) {
        _cleanup_free_ char *d = xstrdup(image_store_dir(s));
        return xstrdup(dirname(d));
}

int registry_login(const char *root, const char *host, const char *user, const char *password,
                   char **insecure, const char *certs_dir, struct err **errp) {
        _cleanup_(ref_freep) struct image_ref *ref = NULL;
        _cleanup_free_ char *probe = NULL;
        struct resp r = {.upload_fd = -EBADF};
        struct reg g;
        int k;

        if (!user || !*user || !password)
                return err_setx(errp, EINVAL, "login: user and password are required");
        probe = xasprintf("%s/x", host);
        k = ref_parse(probe, &ref, errp);
        if (k < 0 || !streq(ref->domain, host))
                return k < 0 ? err_wrap_r(k, errp, "login: bad registry '%s'", host)
                             : err_setx(errp, EINVAL, "login: bad registry '%s'", host);
        reg_init(&g, NULL, ref, insecure, certs_dir, "pull", 1, 0);
        free(g.repo);
        g.repo = NULL;
        g.user = xstrdup(user);
        g.pass = xstrdup(password);
        k = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
        if (k == 0)
                k = reg_do(&g, "GET", "/v2/", NULL, NULL, -EBADF, 0, &r, errp);
        if (k >= 0 && r.status != 200)
                k = err_setx(errp, EACCES, "login to '%s' failed: HTTP %ld", host, r.status);
        if (k >= 0)
                k = auth_store(root, host, user, password, errp);
        resp_reset(&r);
        reg_free(&g);
        curl_global_cleanup();
        return k < 0 ? err_wrap_r(k, errp, "login to '%s'", host) : 0;
}

/* ---- pull ---- */

/* Fetches a manifest by tag or digest; verifies it against `digest` when given. */
static int get_manifest(struct reg *g, const char *what, const char *digest, char **ret_body,
                        size_t *ret_len, char **ret_type, char **ret_digest, struct err **errp) {
        _cleanup_free_ char *tail = xasprintf("manifests/%s", what), *got = NULL;
        struct resp r = {.max = BLOB_MANIFEST_MAX, .upload_fd = -EBADF};
        int k;

        k = reg_do(g, "GET", tail, MANIFEST_ACCEPT, NULL, -EBADF, 0, &r, errp);
        if (k < 0)
                goto out;
        if (r.status == 404) {
                k = err_setx(errp, ENOENT, "manifest '%s' not found", what);
                goto out;
        }
        if (r.status != 200) {
                _cleanup_free_ char *m = resp_error(&r);
                k = err_setx(errp, EPROTO, "get manifest '%s': %s", what, m);
                goto out;
        }
        got = digest_of(r.body ? r.body : "", r.len);
        if (digest && !streq(got, digest)) {
                k = err_setx(errp, EBADMSG, "manifest digest mismatch: expected %s, got %s", digest,
                             got);
                goto out;
        }
        *ret_body = r.body ? TAKE_PTR(r.body) : xstrdup("");
        *ret_len = r.len;
        *ret_type = r.content_type ? xstrdup(r.content_type) : NULL;
        *ret_digest = TAKE_PTR(got);
        k = 0;
out:
        resp_reset(&r);
        return k;
}

/* A small blob for the store, verified, as a temp file that pull_layers publishes with the
 * layers (NULL when the store has it already). */
static int small_blob_writer(struct image_store *s, const char *digest, const char *buf, size_t len,
                             struct blob_writer **ret, struct err **errp) {
        _cleanup_(blob_writer_freep) struct blob_writer *w = NULL;
        int k;

        *ret = NULL;
        if (image_store_has_blob(s, digest))
                return 0;
        k = blob_writer_open(s, digest, (int64_t)len, &w, errp);
        if (k >= 0)
                k = blob_writer_write(w, buf, len, errp);
        if (k >= 0)
                k = blob_writer_verify(w, errp);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(w);
        return 0;
}

/* The config: from the store when it is there, else downloaded into memory and verified. */
static int get_config(struct reg *g, struct image_store *s, const struct descriptor *d,
                      char **ret_buf, size_t *ret_len, struct err **errp) {
        _cleanup_free_ char *tail = xasprintf("blobs/%s", d->digest), *got = NULL;
        struct resp r = {.max = BLOB_CONFIG_MAX, .upload_fd = -EBADF};
        int k;

        if (image_store_has_blob(s, d->digest))
                return image_store_read_blob(s, d->digest, BLOB_CONFIG_MAX, ret_buf, ret_len, errp);
        if (d->size > BLOB_CONFIG_MAX)
                return err_setx(errp, EFBIG, "config %s larger than %u bytes", d->digest,
                                BLOB_CONFIG_MAX);
        k = reg_do(g, "GET", tail, NULL, NULL, -EBADF, 0, &r, errp);
        if (k >= 0 && r.status != 200) {
                _cleanup_free_ char *m = resp_error(&r);
                k = err_setx(errp, r.status == 404 ? ENOENT : EPROTO, "get blob %s: %s", d->digest,
                             m);
        }
        if (k >= 0 && r.too_big)
                k = err_setx(errp, EFBIG, "config %s larger than %u bytes", d->digest,
                             BLOB_CONFIG_MAX);
        if (k >= 0 && d->size >= 0 && r.len != (size_t)d->size)
                k = err_setx(errp, EBADMSG,
                             "blob %s: size %zu does not match the expected %" PRId64, d->digest,
                             r.len, d->size);
        if (k >= 0) {
                got = digest_of(r.body ? r.body : "", r.len);
                if (!streq(got, d->digest))
                        k = err_setx(errp, EBADMSG, "blob digest mismatch: expected %s, got %s",
                                     d->digest, got);
        }
        if (k >= 0) {
                *ret_buf = r.body ? TAKE_PTR(r.body) : xstrdup("");
                *ret_len = r.len;
        }
        resp_reset(&r);
        return k;
}

/* The config of a pull, fetched while the first layer workers start (pull_meta_get). */
struct pull_cfg {
        struct reg *g;
        struct image_store *s;
        const struct manifest *man;
        const char *mdigest, *mbody;
        size_t mlen;
        char *buf;
        size_t len;
        struct image_config *cfg;
        char **chain;
        struct blob_writer *small[2];
};

static int pull_meta_get(void *ud, struct pull_meta *m, struct err **errp) {
        struct pull_cfg *c = ud;
        const struct manifest *man = c->man;
        int k;

        k = get_config(c->g, c->s, &man->config, &c->buf, &c->len, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "config %s", man->config.digest);
        k = image_config_parse(c->buf, c->len, &c->cfg, errp);
        if (k < 0)
                return k;
        if (strv_length(c->cfg->diff_ids) != man->n_layers)
                return err_setx(errp, EPROTO, "manifest has %zu layers but the config %zu diff ids",
                                man->n_layers, strv_length(c->cfg->diff_ids));
        c->chain = chain_ids_compute(c->cfg->diff_ids);
        /* config and manifest are published with the layers, after the same sync */
        k = small_blob_writer(c->s, man->config.digest, c->buf, c->len, &c->small[0], errp);
        if (k >= 0)
                k = small_blob_writer(c->s, c->mdigest, c->mbody, c->mlen, &c->small[1], errp);
        if (k < 0)
                return k;
        *m = (struct pull_meta){.diff_ids = c->cfg->diff_ids,
                                .chain_ids = c->chain,
                                .extra = c->small,
                                .n_extra = ELEMENTSOF(c->small)};
        return 0;
}

static int pull_locked(struct image_store *s, const struct image_ref *ref, struct reg *g,
                       const struct pull_opts *o, struct image **ret, struct err **errp) {
        _cleanup_free_ char *body = NULL, *ctype = NULL, *mdigest = NULL, *full = NULL;
        _cleanup_(manifest_freep) struct manifest *man = NULL;
        _cleanup_strv_ char **layers = NULL, **refs = NULL;
        struct pull_cfg c = {};
        const char *os, *arch, *variant;
        size_t len;
        int k;

        platform_host(&os, &arch, &variant);
        if (o && o->arch) {
                os = o->os ? o->os : os;
                arch = o->arch;
                variant = o->variant;
        }
        k = get_manifest(g, ref->digest ? ref->digest : ref->tag, ref->digest, &body, &len, &ctype,
                         &mdigest, errp);
        if (k < 0)
                return k;
        k = manifest_parse(body, len, ctype, &man, errp);
        if (k < 0)
                return k;
        if (manifest_kind_is_index(man->kind)) {
                const struct descriptor *d;
                _cleanup_free_ char *sel = NULL;

                k = manifest_select(man, os, arch, variant, &d, errp);
                if (k < 0)
                        return k;
                sel = xstrdup(d->digest);
                free(body);
                free(ctype);
                free(mdigest);
                body = ctype = mdigest = NULL;
                man = manifest_free(man);
                k = get_manifest(g, sel, sel, &body, &len, &ctype, &mdigest, errp);
                if (k < 0)
                        return k;
                k = manifest_parse(body, len, ctype, &man, errp);
                if (k < 0)
                        return k;
                if (manifest_kind_is_index(man->kind))
                        return err_setx(errp, EPROTO, "manifest %s: nested index", sel);
        }
        c = (struct pull_cfg){
                .g = g, .s = s, .man = man, .mdigest = mdigest, .mbody = body, .mlen = len};
        k = pull_layers(g, s, man, pull_meta_get, &c, o, errp);
        for (size_t i = 0; i < ELEMENTSOF(c.small); i++)
                blob_writer_free(c.small[i]);
        free(c.buf);
        image_config_free(c.cfg);
        strv_free(c.chain);
        if (k < 0)
                return k;
        for (size_t i = 0; i < man->n_layers; i++)
                strv_push(&layers, man->layers[i].digest);
        full = ref_full(ref);
        strv_push(&refs, full);
        return image_register(s, man->config.digest, layers, mdigest, refs, ret, errp);
}

int image_pull(struct image_store *s, const char *name, const struct pull_opts *o,
               struct image **ret, struct err **errp) {
        _cleanup_(ref_freep) struct image_ref *ref = NULL;
        _cleanup_free_ char *root = NULL;
        _cleanup_close_ int hold = -EBADF;
        struct reg g;
        int k;

        k = ref_parse(name, &ref, errp);
        if (k < 0)
                return err_wrap_r(k, errp, "pull '%s'", name);
        hold = image_store_hold(s, errp);
        if (hold < 0)
                return hold;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return err_setx(errp, ENOMEM, "pull '%s': initialise libcurl", name);
        root = store_root(s);
        reg_init(&g, root, ref, o ? o->insecure : NULL, o ? o->certs_dir : NULL, "pull",
                 o ? o->retries : 0, o ? o->backoff_ms : 0);
        k = pull_locked(s, ref, &g, o, ret, errp);
        reg_free(&g);
        curl_global_cleanup();
        if (k < 0)
                return err_wrap_r(k, errp, "pull '%s'", name);
        return 0;
}
