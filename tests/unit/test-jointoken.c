/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "fileio.h"
#include "jointoken.h"
#include "pki.h"
#include "tap.h"
#include "xalloc.h"

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_parse(void) {
        _cleanup_free_ char *s = NULL;
        struct jointoken t;
        static const char *const bad[] = {
                "",
                "BERTH2-" HEX_A "-" HEX_B,
                "BERTH1-" HEX_A,
                "BERTH1-" HEX_A "-" HEX_B "0",
                "BERTH1-" HEX_A "-" HEX_B "-",
                "BERTH1-0123-" HEX_B,
                "BERTH1-" HEX_A "-"
                "FEDCBA9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
                "berth1-" HEX_A "-" HEX_B,
                NULL,
        };

        ASSERT_OK(jointoken_parse("BERTH1-" HEX_A "-" HEX_B, &t, NULL));
        ASSERT_STREQ(t.ca_sha256, HEX_A);
        ASSERT_STREQ(t.secret, HEX_B);
        s = jointoken_format(&t);
        ASSERT_STREQ(s, "BERTH1-" HEX_A "-" HEX_B);
        for (size_t i = 0; bad[i]; i++) {
                _cleanup_err_ struct err *e = NULL;

                ASSERT_ERR(jointoken_parse(bad[i], &t, &e), EINVAL);
                ASSERT_NOT_NULL(e);
                ASSERT_TRUE(strstr(err_msg(e), "join token") != NULL);
                /* the secret is never echoed */
                ASSERT_TRUE(strstr(err_msg(e), HEX_B) == NULL);
        }
}

static char *make_pki(void) {
        char tmpl[] = "/tmp/test-jointoken-XXXXXX";
        char *dir;

        if (!mkdtemp(tmpl))
                return NULL;
        dir = xstrdup(tmpl);
        if (pki_ensure(dir, "localhost", NULL, NULL) < 0) {
                (void)rm_rf(dir, NULL);
                free(dir);
                return NULL;
        }
        return dir;
}

static void test_get_check_rotate(void) {
        _cleanup_free_ char *dir = make_pki(), *tok1 = NULL, *tok2 = NULL, *tok3 = NULL, *ca = NULL,
                            *fp = NULL, *store = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct jointoken t1, t3;
        char hash[JOINTOKEN_HEX_LEN + 1];
        struct stat st;

        ASSERT_NOT_NULL(dir);
        /* nothing issued yet: every secret is refused */
        ASSERT_ERR(jointoken_check_secret(dir, HEX_A, &e), EACCES);
        e = err_free(e);

        ASSERT_EQ(jointoken_get(dir, false, 0, &tok1, NULL, NULL), 1);
        ASSERT_EQ(jointoken_get(dir, false, 0, &tok2, NULL, NULL), 0);
        ASSERT_STREQ(tok1, tok2);
        ASSERT_OK(jointoken_parse(tok1, &t1, NULL));

        /* the CA part is the certificate's sha256, as pki_fingerprint() reports it */
        ca = xasprintf("%s/ca.crt", dir);
        ASSERT_OK(jointoken_ca_sha256(ca, hash, NULL));
        ASSERT_STREQ(t1.ca_sha256, hash);
        ASSERT_OK(pki_fingerprint(ca, &fp, NULL));
        ASSERT_STREQ(fp + strlen("sha256:"), hash);

        /* stored 0600, and without the secret in the clear */
        store = xasprintf("%s/%s", dir, JOINTOKEN_FILE);
        ASSERT_OK(stat(store, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        {
                _cleanup_free_ char *data = NULL;

                ASSERT_OK(read_file(store, 65536, &data, NULL, NULL));
                ASSERT_TRUE(strstr(data, t1.secret) == NULL);
        }

        ASSERT_OK(jointoken_check_secret(dir, t1.secret, NULL));
        ASSERT_ERR(jointoken_check_secret(dir, HEX_B, &e), EACCES);
        e = err_free(e);
        ASSERT_ERR(jointoken_check_secret(dir, "short", &e), EACCES);
        e = err_free(e);

        /* rotation: a new secret, the old one is refused, the CA part stays */
        ASSERT_EQ(jointoken_get(dir, true, 0, &tok3, NULL, NULL), 1);
        ASSERT_OK(jointoken_parse(tok3, &t3, NULL));
        ASSERT_STREQ(t3.ca_sha256, t1.ca_sha256);
        ASSERT_TRUE(strcmp(t3.secret, t1.secret) != 0);
        ASSERT_OK(jointoken_check_secret(dir, t3.secret, NULL));
        ASSERT_ERR(jointoken_check_secret(dir, t1.secret, &e), EACCES);
        e = err_free(e);

        /* a rotation with a time to live: valid before, "expired" after (said only to the
         * right secret); one without expiry reports 0 */
        {
                _cleanup_free_ char *tok4 = NULL, *tok5 = NULL;
                struct jointoken t4;
                uint64_t exp = 1;

                ASSERT_EQ(jointoken_get(dir, true, 3600ULL * 1000000, &tok4, &exp, NULL), 1);
                ASSERT_TRUE(exp > realtime_usec() + 3500ULL * 1000000);
                ASSERT_OK(jointoken_parse(tok4, &t4, NULL));
                ASSERT_OK(jointoken_check_secret(dir, t4.secret, NULL));
                ASSERT_EQ(jointoken_get(dir, true, 1, &tok5, &exp, NULL), 1);
                ASSERT_OK(jointoken_parse(tok5, &t4, NULL));
                usleep(2000);
                ASSERT_ERR(jointoken_check_secret(dir, t4.secret, &e), EACCES);
                ASSERT_NOT_NULL(strstr(err_msg(e), "expired at"));
                e = err_free(e);
                ASSERT_ERR(jointoken_check_secret(dir, HEX_B, &e), EACCES);
                ASSERT_NOT_NULL(strstr(err_msg(e), "wrong secret"));
                e = err_free(e);
                free(tok3);
                tok3 = NULL;
                ASSERT_EQ(jointoken_get(dir, true, 0, &tok3, &exp, NULL), 1);
                ASSERT_EQ(exp, 0);
                ASSERT_OK(jointoken_parse(tok3, &t3, NULL));
        }

        /* a corrupt store is an error naming the file and field */
        ASSERT_OK(write_file_atomic(store, "{\"version\":1,\"nonce\":\"x\"}", 25, 0600, NULL));
        ASSERT_ERR(jointoken_check_secret(dir, t3.secret, &e), EINVAL);
        ASSERT_TRUE(strstr(err_msg(e), "nonce") != NULL);
        e = err_free(e);

        ASSERT_OK(rm_rf(dir, NULL));
}

TAP_MAIN(test_parse, test_get_check_rotate)
