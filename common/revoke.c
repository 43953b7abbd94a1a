/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cleanup.h"
#include "fileio.h"
#include "revoke.h"
#include "strv.h"
#include "xalloc.h"

char *revoke_serial_of(X509 *x) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *hex, *ret;

        if (!bn)
                oom();
        hex = BN_bn2hex(bn);
        BN_free(bn);
        if (!hex)
                oom();
        ret = xstrdup(hex);
        OPENSSL_free(hex);
        return ret;
}

int revoke_pem_serial(const char *cert_pem, char **ret, struct err **errp) {
        BIO *b = BIO_new_mem_buf(cert_pem, -1);
        X509 *x;

        if (!b)
                oom();
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        if (!x) {
                ERR_clear_error();
                return err_setx(errp, EINVAL, "not a PEM certificate");
        }
        *ret = revoke_serial_of(x);
        X509_free(x);
        return 0;
}

static bool serial_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789ABCDEF-", s[i]))
                        return false;
        return true;
}

int revoke_add(const char *path, char *const *serials, struct err **errp) {
        _cleanup_free_ char *text = NULL, *out = NULL;
        _cleanup_strv_ char **list = NULL;
        int added = 0, r;

        r = read_file(path, REVOKE_FILE_MAX, &text, NULL, errp);
        if (r == -ENOENT)
                err_freep(errp);
        else if (r < 0)
                return r;
        list = text ? strv_split(text, "\n") : NULL;
        STRV_FOREACH (s, serials) {
                if (!serial_valid(*s))
                        return err_setx(errp, EINVAL, "revoke: bad serial '%s'", *s);
                if (strv_contains(list, *s))
                        continue;
                strv_push(&list, *s);
                added++;
        }
        if (added == 0)
                return 0;
        out = strv_join(list, "\n");
        {
                _cleanup_free_ char *data = xasprintf("%s\n", out);
                r = write_file_atomic(path, data, strlen(data), 0644, errp);
        }
        return r < 0 ? r : added;
}

bool revoke_check(struct revoke_cache *c, const char *path, const char *serial) {
        struct stat st;

        if (!path || !serial)
                return false;
        if (stat(path, &st) < 0) {
                if (errno == ENOENT) {
                        c->serials = strv_free(c->serials);
                        c->loaded = false;
                }
        } else if (!c->loaded || st.st_ino != c->ino || st.st_size != c->size ||
                   st.st_mtim.tv_sec != c->mtime.tv_sec || st.st_mtim.tv_nsec != c->mtime.tv_nsec) {
                _cleanup_free_ char *text = NULL;

                if (read_file(path, REVOKE_FILE_MAX, &text, NULL, NULL) >= 0) {
                        strv_free(c->serials);
                        c->serials = strv_split(text, "\n");
                        c->ino = st.st_ino;
                        c->size = st.st_size;
                        c->mtime = st.st_mtim;
                        c->loaded = true;
                }
        }
        return strv_contains(c->serials, serial);
}

void revoke_cache_done(struct revoke_cache *c) {
        c->serials = strv_free(c->serials);
        c->loaded = false;
}
