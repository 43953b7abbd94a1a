/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "csr.h"
#include "fileio.h"
#include "xalloc.h"

static void pkey_freep(EVP_PKEY **p) {
        if (*p)
                EVP_PKEY_free(*p);
}
static void x509_freep(X509 **p) {
        if (*p)
                X509_free(*p);
}
static void req_freep(X509_REQ **p) {
        if (*p)
                X509_REQ_free(*p);
}
static void bio_freep(BIO **p) {
        if (*p)
                BIO_free(*p);
}

static int ossl_err(struct err **errp, const char *what) {
        char buf[256] = "unknown error";
        unsigned long e = ERR_peek_last_error();

        if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return err_setx(errp, EPROTO, "%s: %s", what, buf);
}

static char *bio_to_str(BIO *b) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        char *s = xmalloc((size_t)n + 1);

        memcpy(s, data, (size_t)n);
        s[n] = '\0';
        return s;
}

int csr_new(const char *key_path, const char *cn, char **ret_csr_pem, struct err **errp) {
        _cleanup_(pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_(req_freep) X509_REQ *req = NULL;
        _cleanup_(bio_freep) BIO *kb = NULL, *rb = NULL;
        _cleanup_free_ char *kpem = NULL;
        X509_NAME *name;
        int r;

        if (!cn || !*cn || strlen(cn) > 64)
                return err_setx(errp, EINVAL, "certificate request: bad name");
        key = EVP_EC_gen("P-256");
        if (!key)
                return ossl_err(errp, "generate ECDSA P-256 key");
        req = X509_REQ_new();
        if (!req)
                oom();
        X509_REQ_set_version(req, 0);
        name = X509_REQ_get_subject_name(req);
        if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) ||
            !X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
                return ossl_err(errp, "make certificate request");
        kb = BIO_new(BIO_s_mem());
        rb = BIO_new(BIO_s_mem());
        if (!kb || !rb)
                oom();
        if (!PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
            !PEM_write_bio_X509_REQ(rb, req))
                return ossl_err(errp, "encode certificate request");
        kpem = bio_to_str(kb);
        r = write_file_atomic(key_path, kpem, strlen(kpem), 0600, errp);
        explicit_bzero(kpem, strlen(kpem));
        if (r < 0)
                return r;
        *ret_csr_pem = bio_to_str(rb);
        return 0;
}

static int load_pem_file(const char *path, BIO **ret, struct err **errp) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        BIO *b;
        int r;

        r = read_file(path, CSR_MAX_PEM, &data, &len, errp);
        if (r < 0)
                return r;
        b = BIO_new(BIO_s_mem());
        if (!b)
                oom();
        BIO_write(b, data, (int)len);
        explicit_bzero(data, len);
        *ret = b;
        return 0;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value, struct err **errp) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return ossl_err(errp, value);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        return 0;
}

static int check_p256(EVP_PKEY *k, struct err **errp) {
        char group[64] = "";
        size_t n = 0;

        if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
            !EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &n) ||
            strcmp(group, "prime256v1") != 0) {
                ERR_clear_error();
                return err_setx(errp, EINVAL, "field 'csr': the key must be ECDSA P-256");
        }
        return 0;
}

int csr_sign(const char *pki_dir, const char *csr_pem, const char *cn, const char *san,
             uint64_t valid_sec, char **ret_cert_pem, struct err **errp) {
        _cleanup_(pkey_freep) EVP_PKEY *ca_key = NULL;
        _cleanup_(x509_freep) X509 *ca = NULL, *x = NULL;
        _cleanup_(req_freep) X509_REQ *req = NULL;
        _cleanup_(bio_freep) BIO *cb = NULL, *kb = NULL, *rb = NULL, *out = NULL;
        _cleanup_free_ char *path = NULL, *sanv = NULL;
        unsigned char serial[16], buf[sizeof(struct in6_addr)];
        EVP_PKEY *pub;
        BIGNUM *bn;
        X509_NAME *name;
        int r;

        if (!csr_pem || strlen(csr_pem) > CSR_MAX_PEM)
                return err_setx(errp, EINVAL, "field 'csr': missing or too large");
        if (!cn || !*cn || strlen(cn) > 64)
                return err_setx(errp, EINVAL, "certificate name: 1 to 64 characters");
        if (valid_sec < CSR_MIN_SEC || valid_sec > 3650ULL * 86400)
                return err_setx(errp, EINVAL, "certificate validity: %llu s to 3650 days",
                                (unsigned long long)CSR_MIN_SEC);
        if (san) {
                if (inet_pton(AF_INET, san, buf) == 1 || inet_pton(AF_INET6, san, buf) == 1)
                        sanv = xasprintf("IP:%s", san);
                else if (*san && strlen(san) <= 253 &&
                         strspn(san, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789.-") == strlen(san))
                        sanv = xasprintf("DNS:%s", san);
                else
                        return err_setx(errp, EINVAL,
                                        "field 'advertise_addr': '%s' is not an IP address or "
                                        "host name",
                                        san);
        }

        rb = BIO_new_mem_buf(csr_pem, -1);
        if (!rb)
                oom();
        req = PEM_read_bio_X509_REQ(rb, NULL, NULL, NULL);
        if (!req) {
                ERR_clear_error();
                return err_setx(errp, EINVAL, "field 'csr': not a PEM certificate request");
        }
        pub = X509_REQ_get0_pubkey(req);
        if (!pub)
                return err_setx(errp, EINVAL, "field 'csr': no public key");
        r = check_p256(pub, errp);
        if (r < 0)
                return r;
        if (X509_REQ_verify(req, pub) != 1) {
                ERR_clear_error();
                return err_setx(errp, EINVAL, "field 'csr': bad signature");
        }

        path = xasprintf("%s/ca.crt", pki_dir);
        r = load_pem_file(path, &cb, errp);
        if (r < 0)
                return r;
        ca = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        if (!ca)
                return ossl_err(errp, path);
        free(path);
        path = xasprintf("%s/ca.key", pki_dir);
        r = load_pem_file(path, &kb, errp);
        if (r < 0)
                return r;
        ca_key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        if (!ca_key)
                return ossl_err(errp, path);

        x = X509_new();
        if (!x)
                oom();
        X509_set_version(x, 2);
        if (getentropy(serial, sizeof(serial)) < 0)
                return err_set(errp, errno, "getentropy");
        serial[0] &= 0x7f;
        bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
                BN_free(bn);
                return ossl_err(errp, "set serial number");
        }
        BN_free(bn);
        X509_gmtime_adj(X509_getm_notBefore(x), -(long)(valid_sec < 300 ? valid_sec : 300));
        X509_time_adj_ex(X509_getm_notAfter(x), (int)(valid_sec / 86400), (long)(valid_sec % 86400),
                         NULL);
        X509_set_pubkey(x, pub);
        name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"berth", -1, -1,
                                   0);
        if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0))
                return ossl_err(errp, "set certificate name");
        X509_set_issuer_name(x, X509_get_subject_name(ca));
        r = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE", errp);
        if (r >= 0)
                r = add_ext(x, ca, NID_key_usage, "critical,digitalSignature", errp);
        if (r >= 0)
                r = add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth", errp);
        if (r >= 0)
                r = add_ext(x, ca, NID_authority_key_identifier, "keyid:always", errp);
        if (r >= 0 && sanv)
                r = add_ext(x, ca, NID_subject_alt_name, sanv, errp);
        if (r < 0)
                return r;
        if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
                return ossl_err(errp, "sign certificate");
        out = BIO_new(BIO_s_mem());
        if (!out)
                oom();
        if (!PEM_write_bio_X509(out, x))
                return ossl_err(errp, "encode certificate");
        *ret_cert_pem = bio_to_str(out);
        return 0;
}

int csr_cert_info(const char *cert_pem, time_t *ret_not_before, time_t *ret_not_after,
                  char **ret_cn, struct err **errp) {
        _cleanup_(x509_freep) X509 *x = NULL;
        _cleanup_(bio_freep) BIO *b = NULL;
        struct tm tm;
        char cn[256];

        b = BIO_new_mem_buf(cert_pem, -1);
        if (!b)
                oom();
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x) {
                ERR_clear_error();
                return err_setx(errp, EINVAL, "not a PEM certificate");
        }
        if (ret_not_before) {
                if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1)
                        return ossl_err(errp, "certificate notBefore");
                *ret_not_before = timegm(&tm);
        }
        if (ret_not_after) {
                if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
                        return ossl_err(errp, "certificate notAfter");
                *ret_not_after = timegm(&tm);
        }
        if (ret_cn) {
                if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                              sizeof(cn)) < 0)
                        return err_setx(errp, EINVAL, "certificate has no common name");
                *ret_cn = xstrdup(cn);
        }
        return 0;
}

int csr_needs_renewal(time_t not_before, time_t not_after, time_t now) {
        if (not_after <= not_before)
                return 1;
        return (not_after - now) * 3 < (not_after - not_before);
}
