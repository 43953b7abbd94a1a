/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "jointoken.h"
#include "xalloc.h"

#define MAX_PEM_SIZE (1024 * 1024)
#define MAX_STORE_SIZE (64 * 1024)

static void to_hex(const unsigned char *in, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 0xf];
        }
        out[2 * n] = '\0';
}

static bool is_hex64(const char *s, size_t len) {
        if (len != JOINTOKEN_HEX_LEN)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int jointoken_parse(const char *s, struct jointoken *ret, struct err **errp) {
        const char *ca, *secret, *dash;
        size_t plen = strlen(JOINTOKEN_PREFIX);

        if (!s || !*s)
                return err_setx(errp, EINVAL, "join token: empty");
        if (strncmp(s, JOINTOKEN_PREFIX "-", plen + 1) != 0)
                return err_setx(errp, EINVAL,
                                "join token: does not start with '" JOINTOKEN_PREFIX "-' "
                                "(not a berth join token, or from an incompatible version)");
        ca = s + plen + 1;
        dash = strchr(ca, '-');
        if (!dash)
                return err_setx(errp, EINVAL,
                                "join token: expected " JOINTOKEN_PREFIX "-<ca sha256>-<secret>");
        if (!is_hex64(ca, (size_t)(dash - ca)))
                return err_setx(errp, EINVAL,
                                "join token: the CA hash must be 64 lowercase hex digits");
        secret = dash + 1;
        if (!is_hex64(secret, strlen(secret)))
                return err_setx(errp, EINVAL,
                                "join token: the secret must be 64 lowercase hex digits "
                                "(truncated or extra characters?)");
        memcpy(ret->ca_sha256, ca, JOINTOKEN_HEX_LEN);
        ret->ca_sha256[JOINTOKEN_HEX_LEN] = '\0';
        memcpy(ret->secret, secret, JOINTOKEN_HEX_LEN);
        ret->secret[JOINTOKEN_HEX_LEN] = '\0';
        return 0;
}

char *jointoken_format(const struct jointoken *t) {
        char *s = NULL;

        if (asprintf(&s, "%s-%s-%s", JOINTOKEN_PREFIX, t->ca_sha256, t->secret) < 0)
                oom();
        return s;
}

int jointoken_ca_sha256(const char *ca_path, char ret[JOINTOKEN_HEX_LEN + 1], struct err **errp) {
        _cleanup_free_ char *pem = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        size_t len = 0;
        BIO *b;
        X509 *x;
        int r, ok;

        r = read_file(ca_path, MAX_PEM_SIZE, &pem, &len, errp);
        if (r < 0)
                return r;
        b = BIO_new_mem_buf(pem, (int)len);
        if (!b)
                oom();
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        if (!x)
                return err_setx(errp, EINVAL, "'%s': not a PEM certificate", ca_path);
        ok = X509_digest(x, EVP_sha256(), md, &n);
        X509_free(x);
        if (ok != 1 || n != JOINTOKEN_HEX_LEN / 2)
                return err_setx(errp, EPROTO, "'%s': cannot hash the certificate", ca_path);
        to_hex(md, n, ret);
        return 0;
}

static void sha256_hex(const void *data, size_t len, char out[JOINTOKEN_HEX_LEN + 1]) {
        unsigned char md[32];
        unsigned int n = 0;

        if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof(md))
                abort();
        to_hex(md, n, out);
        OPENSSL_cleanse(md, sizeof(md));
}

/* secret = HMAC-SHA256(sha256(ca.key file), nonce), in hex. */
static int derive_secret(const char *pki_dir, const char *nonce, char out[JOINTOKEN_HEX_LEN + 1],
                         struct err **errp) {
        _cleanup_free_ char *path = NULL, *key = NULL;
        unsigned char kh[32], mac[32];
        unsigned int n = 0;
        size_t len = 0, maclen = 0;
        int r;

        path = xasprintf("%s/ca.key", pki_dir);
        r = read_file(path, MAX_PEM_SIZE, &key, &len, errp);
        if (r < 0)
                return err_wrap(errp, "derive the join secret");
        if (EVP_Digest(key, len, kh, &n, EVP_sha256(), NULL) != 1)
                abort();
        OPENSSL_cleanse(key, len);
        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, kh, sizeof(kh),
                       (const unsigned char *)nonce, strlen(nonce), mac, sizeof(mac), &maclen) ||
            maclen != sizeof(mac)) {
                OPENSSL_cleanse(kh, sizeof(kh));
                return err_setx(errp, EPROTO, "derive the join secret: HMAC failed");
        }
        to_hex(mac, sizeof(mac), out);
        OPENSSL_cleanse(kh, sizeof(kh));
        OPENSSL_cleanse(mac, sizeof(mac));
        return 0;
}

static int store_load(const char *path, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        const char *nonce, *hash;
        int r;

        r = json_load_path(path, MAX_STORE_SIZE, &j, errp);
        if (r < 0)
                return r;
        nonce = json_get_str(j, "nonce", NULL);
        hash = json_get_str(j, "secret_sha256", NULL);
        if (!json_is_object(j) || json_get_int(j, "version", 0) != 1)
                return err_setx(errp, EINVAL, "'%s': field 'version': expected 1", path);
        if (!nonce || !is_hex64(nonce, strlen(nonce)))
                return err_setx(errp, EINVAL, "'%s': field 'nonce': expected 64 hex digits", path);
        if (!hash || !is_hex64(hash, strlen(hash)))
                return err_setx(errp, EINVAL, "'%s': field 'secret_sha256': expected 64 hex digits",
                                path);
        *ret = TAKE_PTR(j);
        return 0;
}

static int store_new(const char *pki_dir, const char *path, uint64_t ttl_usec, struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *nonce = NULL, *data = NULL;
        char secret[JOINTOKEN_HEX_LEN + 1], hash[JOINTOKEN_HEX_LEN + 1];
        int r;

        nonce = random_hex(32);
        r = derive_secret(pki_dir, nonce, secret, errp);
        if (r < 0)
                return r;
        sha256_hex(secret, strlen(secret), hash);
        OPENSSL_cleanse(secret, sizeof(secret));
        j = json_pack("{s:i, s:s, s:s, s:I}", "version", 1, "nonce", nonce, "secret_sha256", hash,
                      "created_usec", (json_int_t)realtime_usec());
        if (!j)
                oom();
        if (ttl_usec > 0)
                json_object_set_new(j, "expires_usec",
                                    json_integer((json_int_t)(realtime_usec() + ttl_usec)));
        data = json_dump_str(j, true);
        return write_file_atomic(path, data, strlen(data), 0600, errp);
}

int jointoken_get(const char *pki_dir, bool rotate, uint64_t ttl_usec, char **ret,
                  uint64_t *ret_expires_usec, struct err **errp) {
        _cleanup_free_ char *path = NULL, *ca = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct jointoken t;
        char hash[JOINTOKEN_HEX_LEN + 1];
        bool made = false;
        int r;

        ca = xasprintf("%s/ca.crt", pki_dir);
        r = jointoken_ca_sha256(ca, t.ca_sha256, errp);
        if (r < 0)
                return err_wrap(errp, "join token");
        path = xasprintf("%s/%s", pki_dir, JOINTOKEN_FILE);
        if (rotate || access(path, F_OK) < 0) {
                if (!rotate && errno != ENOENT)
                        return err_set(errp, errno, "join token: access '%s'", path);
                r = store_new(pki_dir, path, rotate ? ttl_usec : 0, errp);
                if (r < 0)
                        return err_wrap(errp, "join token");
                made = true;
        }
        r = store_load(path, &j, errp);
        if (r < 0)
                return err_wrap(errp, "join token");
        r = derive_secret(pki_dir, json_get_str(j, "nonce", NULL), t.secret, errp);
        if (r < 0)
                return r;
        /* ca.key changed since the token was made: the stored hash no longer fits. */
        sha256_hex(t.secret, strlen(t.secret), hash);
        if (strcmp(hash, json_get_str(j, "secret_sha256", "")) != 0) {
                OPENSSL_cleanse(&t, sizeof(t));
                return err_setx(errp, ESTALE,
                                "join token: '%s' does not match the CA key; rotate the token",
                                path);
        }
        *ret = jointoken_format(&t);
        OPENSSL_cleanse(&t, sizeof(t));
        if (ret_expires_usec)
                *ret_expires_usec = (uint64_t)json_get_int(j, "expires_usec", 0);
        return made ? 1 : 0;
}

int jointoken_check_secret(const char *pki_dir, const char *secret, struct err **errp) {
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *j = NULL;
        char hash[JOINTOKEN_HEX_LEN + 1];
        const char *stored;
        uint64_t expires;
        int r;

        path = xasprintf("%s/%s", pki_dir, JOINTOKEN_FILE);
        r = store_load(path, &j, errp);
        if (r == -ENOENT) {
                err_freep(errp);
                return err_setx(errp, EACCES, "join token: no token was issued");
        }
        if (r < 0)
                return err_wrap(errp, "join token");
        if (!secret || !is_hex64(secret, strlen(secret)))
                return err_setx(errp, EACCES, "join token: wrong secret");
        sha256_hex(secret, strlen(secret), hash);
        stored = json_get_str(j, "secret_sha256", "");
        if (CRYPTO_memcmp(hash, stored, JOINTOKEN_HEX_LEN) != 0)
                return err_setx(errp, EACCES, "join token: wrong secret");
        /* only a caller with the right secret learns that it expired */
        expires = (uint64_t)json_get_int(j, "expires_usec", 0);
        if (expires > 0 && realtime_usec() >= expires) {
                time_t t = (time_t)(expires / 1000000);
                struct tm tm;
                char when[32] = "";

                gmtime_r(&t, &tm);
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
                return err_setx(errp, EACCES,
                                "join token: expired at %s; make a new one with `berth node "
                                "token --rotate`",
                                when);
        }
        return 0;
}
