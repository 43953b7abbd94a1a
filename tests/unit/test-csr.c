/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "csr.h"
#include "err.h"
#include "fileio.h"
#include "pki.h"
#include "tap.h"
#include "xalloc.h"

static char *make_pki(const char *tag) {
        char *dir = xasprintf("/tmp/test-csr-%s-XXXXXX", tag);

        if (!mkdtemp(dir) || pki_ensure(dir, "localhost", NULL, NULL) < 0) {
                free(dir);
                return NULL;
        }
        return dir;
}

static void test_sign(void) {
        _cleanup_free_ char *dir = make_pki("a"), *other = make_pki("b"), *key = NULL, *csr = NULL,
                            *crt = NULL, *cn = NULL, *crt_path = NULL, *ca_path = NULL,
                            *other_ca = NULL;
        _cleanup_err_ struct err *e = NULL;
        time_t nb = 0, na = 0, now = time(NULL);
        struct stat st;

        ASSERT_NOT_NULL(dir);
        ASSERT_NOT_NULL(other);
        key = xasprintf("%s/node.key", dir);
        ASSERT_OK(csr_new(key, "ignored-name", &csr, NULL));
        ASSERT_OK(stat(key, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_TRUE(strstr(csr, "BEGIN CERTIFICATE REQUEST") != NULL);
        /* the request carries no private key */
        ASSERT_TRUE(strstr(csr, "PRIVATE") == NULL);

        ASSERT_OK(csr_sign(dir, csr, "n-1234", "198.18.7.2", CSR_NODE_SEC, &crt, NULL));
        ASSERT_OK(csr_cert_info(crt, &nb, &na, &cn, NULL));
        ASSERT_STREQ(cn, "n-1234");
        ASSERT_TRUE(na - now > 89 * 86400 && na - now <= 90 * 86400 + 60);
        ASSERT_FALSE(csr_needs_renewal(nb, na, now));
        ASSERT_TRUE(csr_needs_renewal(nb, na, na - 29 * 86400));
        ASSERT_TRUE(csr_needs_renewal(nb, na, na + 1));

        /* a short validity (--node-cert-ttl 30s): back-dated by as much, renewed after a third */
        {
                _cleanup_free_ char *s = NULL;
                time_t snb, sna;

                ASSERT_OK(csr_sign(dir, csr, "n-1234", NULL, 30, &s, NULL));
                ASSERT_OK(csr_cert_info(s, &snb, &sna, NULL, NULL));
                ASSERT_TRUE(sna - snb >= 59 && sna - snb <= 61);
                ASSERT_TRUE(sna - now >= 29 && sna - now <= 32);
                ASSERT_FALSE(csr_needs_renewal(snb, sna, now));
                ASSERT_TRUE(csr_needs_renewal(snb, sna, now + 11));
        }

        /* it chains to this CA and not to another one */
        crt_path = xasprintf("%s/node.crt", dir);
        ASSERT_OK(write_file_atomic(crt_path, crt, strlen(crt), 0644, NULL));
        ca_path = xasprintf("%s/ca.crt", dir);
        ASSERT_OK(pki_verify(ca_path, crt_path, NULL));
        other_ca = xasprintf("%s/ca.crt", other);
        ASSERT_ERR(pki_verify(other_ca, crt_path, &e), EKEYREJECTED);
        e = err_free(e);

        /* bad inputs */
        ASSERT_ERR(csr_sign(dir, "garbage", "n", NULL, CSR_NODE_SEC, &cn, &e), EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "csr") != NULL);
        e = err_free(e);
        ASSERT_ERR(csr_sign(dir, csr, "n", "bad addr,IP:1.2.3.4", CSR_NODE_SEC, &cn, &e), EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "advertise_addr") != NULL);
        e = err_free(e);
        ASSERT_ERR(csr_sign(dir, csr, "", NULL, CSR_NODE_SEC, &cn, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(csr_sign(dir, csr, "n", NULL, 0, &cn, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(csr_sign(dir, csr, "n", NULL, CSR_MIN_SEC - 1, &cn, &e), EINVAL);
        e = err_free(e);
        {
                /* a tampered request fails its signature check */
                _cleanup_free_ char *bad = xstrdup(csr);
                char *p = strstr(bad, "-----END") - 10;

                *p = *p == 'A' ? 'B' : 'A';
                ASSERT_TRUE(csr_sign(dir, bad, "n", NULL, CSR_NODE_SEC, &cn, &e) < 0);
                e = err_free(e);
        }
        ASSERT_OK(rm_rf(dir, NULL));
        ASSERT_OK(rm_rf(other, NULL));
}

TAP_MAIN(test_sign)
