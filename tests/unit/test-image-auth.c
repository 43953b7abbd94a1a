/* SPDX-License-Identifier: Apache-2.0 */
/* Registry client pieces that need no network: challenges, loopback detection, auth.json. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/registry.h"
#include "json.h"
#include "tap.h"
#include "xalloc.h"

static void test_challenge(void) {
        struct auth_challenge c = {};

        ASSERT_OK(auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                       "service=\"registry.docker.io\",scope=\"repository:"
                                       "library/busybox:pull\"",
                                       &c, NULL));
        ASSERT_STREQ(c.scheme, "Bearer");
        ASSERT_STREQ(c.realm, "https://auth.docker.io/token");
        ASSERT_STREQ(c.service, "registry.docker.io");
        ASSERT_STREQ(c.scope, "repository:library/busybox:pull");
        auth_challenge_done(&c);
        ASSERT_OK(auth_challenge_parse("Basic realm=\"a \\\"quoted\\\" realm\"", &c, NULL));
        ASSERT_STREQ(c.scheme, "Basic");
        ASSERT_STREQ(c.realm, "a \"quoted\" realm");
        ASSERT_NULL(c.scope);
        auth_challenge_done(&c);
        ASSERT_OK(auth_challenge_parse("Bearer realm=http://x/t, SERVICE=s", &c, NULL));
        ASSERT_STREQ(c.realm, "http://x/t");
        ASSERT_STREQ(c.service, "s");
        auth_challenge_done(&c);
        ASSERT_ERR(auth_challenge_parse("Bearer realm=\"open", &c, NULL), EPROTO);
        ASSERT_ERR(auth_challenge_parse("   ", &c, NULL), EPROTO);
}

static void test_loopback(void) {
        ASSERT_TRUE(registry_host_is_loopback("localhost"));
        ASSERT_TRUE(registry_host_is_loopback("localhost:5000"));
        ASSERT_TRUE(registry_host_is_loopback("127.0.0.1:5000"));
        ASSERT_TRUE(registry_host_is_loopback("127.3.4.5"));
        ASSERT_TRUE(registry_host_is_loopback("[::1]:5000"));
        ASSERT_FALSE(registry_host_is_loopback("128.0.0.1"));
        ASSERT_FALSE(registry_host_is_loopback("localhost.example.com"));
        ASSERT_FALSE(registry_host_is_loopback("docker.io"));
        ASSERT_FALSE(registry_host_is_loopback("127.0.0.1.nip.io"));
}

static void test_credentials_and_logout(void) {
        _cleanup_free_ char *root = xstrdup("/tmp/berth-test-auth-XXXXXX"), *p = NULL;
        _cleanup_free_ char *u = NULL, *pw = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct stat st;

        ASSERT_NOT_NULL(mkdtemp(root));
        p = xasprintf("%s/auth.json", root);
        /* docker's format: base64("alice:s3cr:et") */
        const char *doc = "{\"auths\":{\"reg.example:5000\":{\"auth\":\"YWxpY2U6czNjcjpldA==\"}}}";
        ASSERT_OK(write_file_atomic(p, doc, strlen(doc), 0600, NULL));
        ASSERT_OK(registry_credentials(root, "reg.example:5000", &u, &pw, NULL));
        ASSERT_STREQ(u, "alice");
        ASSERT_STREQ(pw, "s3cr:et");
        ASSERT_ERR(registry_credentials(root, "other", &u, &pw, &e), ENOENT);
        ASSERT_EQ(registry_logout(root, "reg.example:5000", NULL), 1);
        ASSERT_EQ(registry_logout(root, "reg.example:5000", NULL), 0);
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_ERR(registry_credentials(root, "reg.example:5000", &u, &pw, NULL), ENOENT);
        (void)rm_rf(root, NULL);
}

TAP_MAIN(test_challenge, test_loopback, test_credentials_and_logout)
