/* SPDX-License-Identifier: Apache-2.0 */
/* orchestrator/secretbox.c (AES-256-GCM of secret values) and common/base64.c. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "fileio.h"
#include "secretbox.h"
#include "tap.h"
#include "xalloc.h"

static void test_base64(void) {
        static const struct {
                const char *plain, *enc;
        } v[] = {{"", ""},
                 {"f", "Zg=="},
                 {"fo", "Zm8="},
                 {"foo", "Zm9v"},
                 {"foob", "Zm9vYg=="},
                 {"fooba", "Zm9vYmE="},
                 {"foobar", "Zm9vYmFy"}};
        static const char *const bad[] = {"Zg=",  "Z",        "Zm9v=", "Zm9vY", "Zm$v",
                                          "=Zm9", "Zg==Zg==", "Zm8=x", "Zm8"};
        const unsigned char bin[] = {0, 0xff, 0x10, 0, 0x80};

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                _cleanup_free_ char *e = base64_encode(v[i].plain, strlen(v[i].plain)), *d = NULL;
                size_t n;

                ASSERT_STREQ(e, v[i].enc);
                ASSERT_OK(base64_decode(v[i].enc, &d, &n));
                ASSERT_EQ(n, strlen(v[i].plain));
                ASSERT_TRUE(memcmp(d, v[i].plain, n) == 0);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_free_ char *d = NULL;
                size_t n;

                if (base64_decode(bad[i], &d, &n) != -EINVAL) {
                        printf("#   accepted bad base64 '%s'\n", bad[i]);
                        ASSERT_TRUE(false);
                }
        }
        {
                _cleanup_free_ char *e = base64_encode(bin, sizeof(bin)), *d = NULL;
                size_t n;

                ASSERT_OK(base64_decode(e, &d, &n));
                ASSERT_EQ(n, sizeof(bin));
                ASSERT_TRUE(memcmp(d, bin, n) == 0);
        }
}

static void rm_dir(const char *dir) {
        (void)rm_rf(dir, NULL);
}

static void test_key_file(void) {
        char dir[] = "/tmp/test-secretbox-XXXXXX";
        _cleanup_free_ char *path = NULL;
        struct sbox_key k1, k2;
        struct stat st;
        struct err *e = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        path = xasprintf("%s/secrets.key", dir);
        ASSERT_OK(sbox_key_load(path, &k1, NULL));
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(st.st_size, SBOX_KEY_LEN);
        ASSERT_OK(sbox_key_load(path, &k2, NULL));
        ASSERT_TRUE(memcmp(k1.k, k2.k, SBOX_KEY_LEN) == 0);
        /* Readable by others: refused, naming the file. */
        ASSERT_OK(chmod(path, 0644));
        ASSERT_ERR(sbox_key_load(path, &k2, &e), EPERM);
        ASSERT_TRUE(strstr(e->msg, "secrets.key") != NULL);
        e = err_free(e);
        /* Another size: refused. */
        ASSERT_OK(chmod(path, 0600));
        ASSERT_OK(truncate(path, 5));
        ASSERT_ERR(sbox_key_load(path, &k2, &e), EINVAL);
        e = err_free(e);
        rm_dir(dir);
}

static void test_round_trip_and_tamper(void) {
        struct sbox_key k, other;
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *p = NULL, *tampered = NULL;
        const char value[] = "hunter2\0binary";
        struct err *e = NULL;
        size_t n;

        memset(k.k, 7, sizeof(k.k));
        memset(other.k, 8, sizeof(other.k));
        ASSERT_OK(sbox_seal(&k, "secrets/a", value, sizeof(value), &s1, NULL));
        ASSERT_OK(sbox_seal(&k, "secrets/a", value, sizeof(value), &s2, NULL));
        ASSERT_TRUE(sbox_is_sealed(s1));
        /* A fresh nonce per value: the same value never seals the same way. */
        ASSERT_TRUE(strcmp(s1, s2) != 0);
        ASSERT_TRUE(strstr(s1, "hunter2") == NULL);
        ASSERT_OK(sbox_open(&k, "secrets/a", s1, &p, &n, NULL));
        ASSERT_EQ(n, sizeof(value));
        ASSERT_TRUE(memcmp(p, value, n) == 0);
        free(p);
        p = NULL;

        ASSERT_ERR(sbox_open(&other, "secrets/a", s1, &p, &n, &e), EBADMSG);
        e = err_free(e);
        ASSERT_ERR(sbox_open(&k, "secrets/b", s1, &p, &n, &e), EBADMSG);
        e = err_free(e);
        /* One flipped bit anywhere (here in the middle of the ciphertext). */
        tampered = xstrdup(s1);
        tampered[strlen(tampered) / 2] = tampered[strlen(tampered) / 2] == 'A' ? 'B' : 'A';
        ASSERT_ERR(sbox_open(&k, "secrets/a", tampered, &p, &n, &e), EBADMSG);
        e = err_free(e);
        ASSERT_ERR(sbox_open(&k, "secrets/a", "v1:AAAA", &p, &n, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(sbox_open(&k, "secrets/a", "plain", &p, &n, &e), EINVAL);
        e = err_free(e);
        ASSERT_NULL(p);
        /* An empty value seals and opens too. */
        free(s2);
        s2 = NULL;
        ASSERT_OK(sbox_seal(&k, "x", "", 0, &s2, NULL));
        ASSERT_OK(sbox_open(&k, "x", s2, &p, &n, NULL));
        ASSERT_EQ(n, 0);
}

TAP_MAIN(test_base64, test_key_file, test_round_trip_and_tamper);
