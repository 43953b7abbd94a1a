/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "pki.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char dir[] = "/tmp/berth-pki-XXXXXX";

static char *p(const char *rel) {
        return xasprintf("%s/%s", dir, rel);
}

static void test_setup(void) {
        ASSERT_NOT_NULL(mkdtemp(dir));
}

static void test_ensure_creates_once(void) {
        _cleanup_free_ char *pki = p("a"), *key = p("a/ca.key"), *skey = p("a/server.key");
        _cleanup_free_ char *fp1 = NULL, *fp2 = NULL, *ca = p("a/ca.crt");
        struct stat st;

        ASSERT_EQ(pki_ensure(pki, "node1", NULL, NULL), 1);
        ASSERT_OK(stat(key, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(stat(skey, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(stat(pki, &st));
        ASSERT_EQ(st.st_mode & 0777, 0700);
        ASSERT_OK(pki_fingerprint(ca, &fp1, NULL));
        ASSERT_TRUE(str_startswith(fp1, "sha256:"));
        ASSERT_EQ(strlen(fp1), 7 + 64);
        /* Nothing to do the second time; the CA stays the same. */
        ASSERT_EQ(pki_ensure(pki, "node1", NULL, NULL), 0);
        ASSERT_OK(pki_fingerprint(ca, &fp2, NULL));
        ASSERT_STREQ(fp1, fp2);
}

static void test_server_sans(void) {
        _cleanup_free_ char *pki = p("a"), *ca = p("a/ca.crt"), *fp1 = NULL, *fp2 = NULL;
        _cleanup_free_ char *srv = p("a/server.crt");
        _cleanup_strv_ char **sans = NULL;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(pki_fingerprint(srv, &fp1, NULL));
        /* A new listen address reissues the server certificate, not the CA. */
        strv_push(&sans, "IP:10.1.2.3");
        ASSERT_EQ(pki_ensure(pki, "node1", sans, NULL), 1);
        ASSERT_OK(pki_fingerprint(srv, &fp2, NULL));
        ASSERT_FALSE(streq(fp1, fp2));
        ASSERT_EQ(pki_ensure(pki, "node1", sans, NULL), 0);
        ASSERT_OK(pki_verify(ca, srv, NULL));
        strv_push(&sans, "IP:not-an-ip");
        ASSERT_ERR(pki_ensure(pki, "node1", sans, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "not-an-ip"));
}

static void test_issue_and_verify(void) {
        _cleanup_free_ char *a = p("a"), *b = p("b"), *out = p("out");
        _cleanup_free_ char *ca_a = p("a/ca.crt"), *ca_b = p("b/ca.crt");
        _cleanup_free_ char *crt = p("out/alice.crt"), *key = p("out/alice.key");
        _cleanup_err_ struct err *e = NULL;
        struct stat st;

        ASSERT_EQ(pki_ensure(b, "node2", NULL, NULL), 1);
        ASSERT_OK(pki_issue(a, "alice", PKI_CLIENT, NULL, out, NULL));
        ASSERT_OK(stat(key, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(pki_verify(ca_a, crt, NULL));
        /* A certificate from another CA does not verify. */
        ASSERT_ERR(pki_verify(ca_b, crt, &e), EKEYREJECTED);
        ASSERT_NOT_NULL(strstr(e->msg, "does not chain"));
        e = err_free(e);
        /* No overwrite, no bad names, no CA. */
        ASSERT_ERR(pki_issue(a, "alice", PKI_CLIENT, NULL, out, &e), EEXIST);
        e = err_free(e);
        ASSERT_ERR(pki_issue(a, "../x", PKI_CLIENT, NULL, out, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(pki_issue(out, "bob", PKI_CLIENT, NULL, out, &e), ENOENT);
        ASSERT_NOT_NULL(strstr(e->msg, "load cluster CA"));
}

static void test_half_ca_refused(void) {
        _cleanup_free_ char *c = p("c"), *key = p("c/ca.key");
        _cleanup_err_ struct err *e = NULL;

        ASSERT_EQ(pki_ensure(c, "n", NULL, NULL), 1);
        ASSERT_OK(unlink(key));
        ASSERT_ERR(pki_ensure(c, "n", NULL, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "missing"));
}

static void test_cleanup(void) {
        ASSERT_OK(rm_rf(dir, NULL));
}

TAP_MAIN(test_setup, test_ensure_creates_once, test_server_sans, test_issue_and_verify,
         test_half_ca_refused, test_cleanup)
