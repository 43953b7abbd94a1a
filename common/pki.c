/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "fileio.h"
#include "pki.h"
#include "strv.h"
#include "xalloc.h"

#define CA_DAYS (10 * 365 + 3)
#define LEAF_DAYS (5 * 365 + 1)
#define MAX_PEM_SIZE (1024 * 1024)

static void evp_pkey_freep(EVP_PKEY **p) {
        if (*p)
                EVP_PKEY_free(*p);
}
static void x509_freep(X509 **p) {
        if (*p)
                X509_free(*p);
}
static void bio_freep(BIO **p) {
        if (*p)
                BIO_free(*p);
}

static int ssl_err(struct err **errp, const char *what) {
        char buf[256] = "unknown error";
        unsigned long e = ERR_peek_last_error();

        if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return err_setx(errp, EPROTO, "%s: %s", what, buf);
}

static int load_cert(const char *path, X509 **ret, struct err **errp) {
        _cleanup_free_ char *pem = NULL;
        _cleanup_(bio_freep) BIO *b = NULL;
        size_t len;
        X509 *x;
        int r;

        r = read_file(path, MAX_PEM_SIZE, &pem, &len, errp);
        if (r < 0)
                return r;
        b = BIO_new_mem_buf(pem, (int)len);
        if (!b)
                oom();
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x)
                return ssl_err(errp, path);
        *ret = x;
        return 0;
}

static int load_key(const char *path, EVP_PKEY **ret, struct err **errp) {
        _cleanup_free_ char *pem = NULL;
        _cleanup_(bio_freep) BIO *b = NULL;
        size_t len;
        EVP_PKEY *k;
        int r;

        r = read_file(path, MAX_PEM_SIZE, &pem, &len, errp);
        if (r < 0)
                return r;
        b = BIO_new_mem_buf(pem, (int)len);
        if (!b)
                oom();
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        explicit_bzero(pem, len);
        if (!k)
                return ssl_err(errp, path);
        *ret = k;
        return 0;
}

/* Writes a BIO's contents to path atomically with mode. */
static int save_bio(BIO *b, const char *path, mode_t mode, struct err **errp) {
        char *data = NULL;
        long len = BIO_get_mem_data(b, &data);

        if (len <= 0)
                return err_setx(errp, EIO, "write '%s': nothing to write", path);
        return write_file_atomic(path, data, (size_t)len, mode, errp);
}

static int save_key(EVP_PKEY *k, const char *path, struct err **errp) {
        _cleanup_(bio_freep) BIO *b = BIO_new(BIO_s_mem());

        if (!b)
                oom();
        if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
                return ssl_err(errp, path);
        return save_bio(b, path, 0600, errp);
}

static int save_cert(X509 *x, const char *path, struct err **errp) {
        _cleanup_(bio_freep) BIO *b = BIO_new(BIO_s_mem());

        if (!b)
                oom();
        if (PEM_write_bio_X509(b, x) != 1)
                return ssl_err(errp, path);
        return save_bio(b, path, 0644, errp);
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value, struct err **errp) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return ssl_err(errp, value);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        return 0;
}

/* Turns "name", "1.2.3.4", "::1", "DNS:x", "IP:y" into a subjectAltName list. Rejects entries
 * with characters that would change the list's meaning. */
static int san_string(char *const *sans, char **ret, struct err **errp) {
        _cleanup_strv_ char **l = NULL;

        STRV_FOREACH (s, sans) {
                const char *v = *s;
                unsigned char buf[sizeof(struct in6_addr)];

                if (str_startswith(v, "DNS:") || str_startswith(v, "IP:"))
                        v = strchr(v, ':') + 1;
                if (!*v || strpbrk(v, ", \t\r\n"))
                        return err_setx(errp, EINVAL, "bad subject alternative name '%s'", *s);
                if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
                        strv_push_take(&l, xasprintf("IP:%s", v));
                else if (str_startswith(*s, "IP:"))
                        return err_setx(errp, EINVAL, "bad IP address in '%s'", *s);
                else
                        strv_push_take(&l, xasprintf("DNS:%s", v));
        }
        *ret = strv_join(l, ",");
        return 0;
}

/* Creates a key and a certificate; issuer NULL means self-signed CA. */
static int make_cert(const char *cn, bool ca, enum pki_usage usage, char *const *sans, X509 *issuer,
                     EVP_PKEY *issuer_key, X509 **ret_cert, EVP_PKEY **ret_key, struct err **errp) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_(x509_freep) X509 *x = NULL;
        _cleanup_free_ char *san = NULL;
        unsigned char serial[16];
        BIGNUM *bn;
        X509_NAME *name;
        int r;

        if (strlen(cn) > 64)
                return err_setx(errp, EINVAL, "certificate name '%s' is longer than 64 characters",
                                cn);
        key = EVP_EC_gen("P-256");
        if (!key)
                return ssl_err(errp, "generate ECDSA P-256 key");
        x = X509_new();
        if (!x)
                oom();
        X509_set_version(x, 2);
        if (getentropy(serial, sizeof(serial)) < 0)
                return err_set(errp, errno, "getentropy");
        serial[0] &= 0x7f; /* positive */
        bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
                BN_free(bn);
                return ssl_err(errp, "set serial number");
        }
        BN_free(bn);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_time_adj_ex(X509_getm_notAfter(x), ca ? CA_DAYS : LEAF_DAYS, 0, NULL);
        X509_set_pubkey(x, key);
        name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"berth", -1, -1,
                                   0);
        if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0))
                return ssl_err(errp, "set certificate name");
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);

        if (ca) {
                r = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", errp);
                if (r >= 0)
                        r = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign", errp);
                if (r >= 0)
                        r = add_ext(x, x, NID_subject_key_identifier, "hash", errp);
        } else {
                r = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE", errp);
                if (r >= 0)
                        r = add_ext(x, issuer, NID_key_usage, "critical,digitalSignature", errp);
                if (r >= 0)
                        r = add_ext(x, issuer, NID_ext_key_usage,
                                    usage == PKI_SERVER ? "serverAuth,clientAuth" : "clientAuth",
                                    errp);
                if (r >= 0)
                        r = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always", errp);
                if (r >= 0 && sans && *sans) {
                        r = san_string(sans, &san, errp);
                        if (r >= 0)
                                r = add_ext(x, issuer, NID_subject_alt_name, san, errp);
                }
        }
        if (r < 0)
                return r;
        if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
                return ssl_err(errp, "sign certificate");
        *ret_cert = TAKE_PTR(x);
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* True when cert covers every SAN wanted. */
static bool cert_has_sans(X509 *x, char *const *sans) {
        STRV_FOREACH (s, sans) {
                const char *v = *s;
                unsigned char buf[sizeof(struct in6_addr)];

                if (str_startswith(v, "DNS:") || str_startswith(v, "IP:"))
                        v = strchr(v, ':') + 1;
                if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1) {
                        if (X509_check_ip_asc(x, v, 0) != 1)
                                return false;
                } else if (X509_check_host(x, v, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
                        return false;
        }
        return true;
}

static int issue_into(X509 *ca, EVP_PKEY *ca_key, const char *cn, enum pki_usage usage,
                      char *const *sans, const char *crt_path, const char *key_path,
                      struct err **errp) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_(x509_freep) X509 *x = NULL;
        int r;

        r = make_cert(cn, false, usage, sans, ca, ca_key, &x, &key, errp);
        if (r < 0)
                return r;
        /* Key first: a certificate without its key is useless, the reverse is harmless. */
        r = save_key(key, key_path, errp);
        if (r < 0)
                return r;
        return save_cert(x, crt_path, errp);
}

int pki_ensure(const char *dir, const char *hostname, char *const *sans, struct err **errp) {
        _cleanup_free_ char *ca_crt = xasprintf("%s/ca.crt", dir);
        _cleanup_free_ char *ca_key_path = xasprintf("%s/ca.key", dir);
        _cleanup_free_ char *srv_crt = xasprintf("%s/server.crt", dir);
        _cleanup_free_ char *srv_key = xasprintf("%s/server.key", dir);
        _cleanup_(evp_pkey_freep) EVP_PKEY *ca_key = NULL;
        _cleanup_(x509_freep) X509 *ca = NULL, *srv = NULL;
        _cleanup_strv_ char **want = NULL;
        bool have_ca, changed = false;
        int r;

        r = mkdir_p(dir, 0700, errp);
        if (r < 0)
                return r;
        (void)chmod(dir, 0700);
        have_ca = access(ca_crt, F_OK) == 0;
        if (have_ca != (access(ca_key_path, F_OK) == 0))
                return err_setx(errp, EINVAL, "PKI '%s': one of ca.crt and ca.key is missing", dir);
        if (!have_ca) {
                r = make_cert("berth cluster CA", true, PKI_CLIENT, NULL, NULL, NULL, &ca, &ca_key,
                              errp);
                if (r >= 0)
                        r = save_key(ca_key, ca_key_path, errp);
                if (r >= 0)
                        r = save_cert(ca, ca_crt, errp);
                if (r < 0)
                        return err_wrap(errp, "create cluster CA in '%s'", dir);
                changed = true;
        } else {
                r = load_cert(ca_crt, &ca, errp);
                if (r >= 0)
                        r = load_key(ca_key_path, &ca_key, errp);
                if (r < 0)
                        return err_wrap(errp, "load cluster CA");
        }

        strv_push(&want, "localhost");
        strv_push(&want, "127.0.0.1");
        strv_push(&want, "::1");
        if (hostname && *hostname && !strv_contains(want, hostname))
                strv_push(&want, hostname);
        STRV_FOREACH (s, sans)
                if (!strv_contains(want, *s))
                        strv_push(&want, *s);

        if (!changed && access(srv_crt, F_OK) == 0 && access(srv_key, F_OK) == 0 &&
            load_cert(srv_crt, &srv, NULL) >= 0 && cert_has_sans(srv, want))
                return 0;
        r = issue_into(ca, ca_key, hostname && *hostname ? hostname : "localhost", PKI_SERVER, want,
                       srv_crt, srv_key, errp);
        if (r < 0)
                return err_wrap(errp, "issue server certificate in '%s'", dir);
        return 1;
}

int pki_issue(const char *pki_dir, const char *name, enum pki_usage usage, char *const *sans,
              const char *out_dir, struct err **errp) {
        _cleanup_free_ char *ca_crt = xasprintf("%s/ca.crt", pki_dir);
        _cleanup_free_ char *ca_key_path = xasprintf("%s/ca.key", pki_dir);
        _cleanup_free_ char *crt = NULL, *key = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *ca_key = NULL;
        _cleanup_(x509_freep) X509 *ca = NULL;
        int r;

        if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return err_setx(errp, EINVAL, "bad certificate name '%s'", name ? name : "");
        crt = xasprintf("%s/%s.crt", out_dir, name);
        key = xasprintf("%s/%s.key", out_dir, name);
        if (access(crt, F_OK) == 0 || access(key, F_OK) == 0)
                return err_setx(errp, EEXIST, "'%s' or '%s' already exists", crt, key);
        r = load_cert(ca_crt, &ca, errp);
        if (r >= 0)
                r = load_key(ca_key_path, &ca_key, errp);
        if (r < 0)
                return err_wrap(errp, "load cluster CA from '%s'", pki_dir);
        r = mkdir_p(out_dir, 0755, errp);
        if (r < 0)
                return r;
        r = issue_into(ca, ca_key, name, usage, sans, crt, key, errp);
        if (r < 0) {
                (void)unlink(key);
                (void)unlink(crt);
                return err_wrap(errp, "issue certificate '%s'", name);
        }
        return 0;
}

int pki_fingerprint(const char *cert_path, char **ret, struct err **errp) {
        _cleanup_(x509_freep) X509 *x = NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char *s, *p;
        int r;

        r = load_cert(cert_path, &x, errp);
        if (r < 0)
                return r;
        if (X509_digest(x, EVP_sha256(), md, &n) != 1)
                return ssl_err(errp, cert_path);
        s = xmalloc(7 + 2 * n + 1);
        p = stpcpy(s, "sha256:");
        for (unsigned i = 0; i < n; i++)
                p += sprintf(p, "%02x", md[i]);
        *ret = s;
        return 0;
}

int pki_verify(const char *ca_path, const char *cert_path, struct err **errp) {
        _cleanup_(x509_freep) X509 *ca = NULL, *x = NULL;
        X509_STORE *store;
        X509_STORE_CTX *ctx;
        int r, ok;

        r = load_cert(ca_path, &ca, errp);
        if (r >= 0)
                r = load_cert(cert_path, &x, errp);
        if (r < 0)
                return r;
        store = X509_STORE_new();
        ctx = X509_STORE_CTX_new();
        if (!store || !ctx)
                oom();
        X509_STORE_add_cert(store, ca);
        X509_STORE_CTX_init(ctx, store, x, NULL);
        ok = X509_verify_cert(ctx);
        if (ok != 1)
                r = err_setx(errp, EKEYREJECTED, "'%s' does not chain to '%s': %s", cert_path,
                             ca_path, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        ERR_clear_error();
        return ok == 1 ? 0 : r;
}
