/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cleanup.h"
#include "image/ref.h"
#include "tap.h"
#include "xalloc.h"

#define D64 "sha256:e6a5b0d3b8ef5f3b4f6a3b3dd4e1a9e96f0fdc2f2ea0a7c6f0d1f1bd2ad62a8c"

struct ok_case {
        const char *in, *full, *familiar;
};

static const struct ok_case ok_cases[] = {
        {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
        {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"user/repo", "docker.io/user/repo:latest", "user/repo:latest"},
        {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
        {"localhost/foo", "localhost/foo:latest", "localhost/foo:latest"},
        {"localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1"},
        {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
        {"quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5"},
        {"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"},
        {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
        {"Foo/bar", "Foo/bar:latest", "Foo/bar:latest"},
        {"a.b-c/d__e.f-g---h_i:T_a.g-1", "a.b-c/d__e.f-g---h_i:T_a.g-1",
         "a.b-c/d__e.f-g---h_i:T_a.g-1"},
        {"busybox@" D64, "docker.io/library/busybox@" D64, "busybox@" D64},
        {"busybox:1@" D64, "docker.io/library/busybox:1@" D64, "busybox:1@" D64},
        {"host.example.com:443/ns/img:_tag", "host.example.com:443/ns/img:_tag",
         "host.example.com:443/ns/img:_tag"},
        {"a", "docker.io/library/a:latest", "a:latest"},
        {"0/1", "docker.io/0/1:latest", "0/1:latest"},
};

static void test_ref_valid(void) {
        for (size_t i = 0; i < ELEMENTSOF(ok_cases); i++) {
                _cleanup_(ref_freep) struct image_ref *r = NULL;
                _cleanup_err_ struct err *e = NULL;
                _cleanup_free_ char *full = NULL, *fam = NULL;

                if (ref_parse(ok_cases[i].in, &r, &e) < 0)
                        printf("# '%s': %s\n", ok_cases[i].in, err_msg(e));
                ASSERT_NOT_NULL(r);
                full = ref_full(r);
                fam = ref_familiar(r);
                ASSERT_STREQ(full, ok_cases[i].full);
                ASSERT_STREQ(fam, ok_cases[i].familiar);
        }
}

struct bad_case {
        const char *in, *msg;
};

static const struct bad_case bad_cases[] = {
        {"", "at least one component"},
        {"Busybox", "must be lowercase"},
        {"docker.io/Library/busybox", "must be lowercase"},
        {"busybox:", "invalid tag"},
        {":tag", "invalid reference format"},
        {"busybox:-tag", "invalid tag"},
        {"busybox:.tag", "invalid tag"},
        {"busybox:ta/g", "invalid reference format"},
        {"a..b", "invalid reference format"},
        {"a___b", "invalid reference format"},
        {"a/", "invalid reference format"},
        {"/a", "invalid reference format"},
        {"a//b", "invalid reference format"},
        {"_a", "invalid reference format"},
        {"a_", "invalid reference format"},
        {"a-", "invalid reference format"},
        {"-host.com/a", "invalid domain"},
        {"host-.com/a", "invalid domain"},
        {"localhost:/a", "invalid domain"},
        {"localhost:50a0/a", "invalid domain"},
        {"[zz]:5000/a", "invalid domain"},
        {"busybox@sha256:abc", "invalid digest format"},
        {"busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm"},
        {"busybox@sha256:0123456789abcdef0123456789abcdef", "invalid checksum digest length"},
        {"busybox@sha256:E6A5B0D3B8EF5F3B4F6A3B3DD4E1A9E96F0FDC2F2EA0A7C6F0D1F1BD2AD62A8C",
         "invalid checksum digest format"},
        {"busybox@", "invalid digest format"},
        {"e6a5b0d3b8ef5f3b4f6a3b3dd4e1a9e96f0fdc2f2ea0a7c6f0d1f1bd2ad62a8c", "64-byte hexadecimal"},
        {"a b", "invalid reference format"},
        {"a\tb", "invalid reference format"},
        {"a/b:c:d", "invalid reference format"},
};

static void test_ref_invalid(void) {
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                _cleanup_(ref_freep) struct image_ref *r = NULL;
                _cleanup_err_ struct err *e = NULL;

                ASSERT_ERR(ref_parse(bad_cases[i].in, &r, &e), EINVAL);
                ASSERT_NULL(r);
                ASSERT_NOT_NULL(e);
                if (!strstr(e->msg, bad_cases[i].msg))
                        printf("# '%s': got '%s'\n", bad_cases[i].in, e->msg);
                ASSERT_NOT_NULL(strstr(e->msg, bad_cases[i].msg));
        }
}

static void test_ref_lengths(void) {
        _cleanup_free_ char *tag128 = xmalloc(200), *tag129 = NULL, *name = NULL;
        _cleanup_(ref_freep) struct image_ref *r = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *s;

        memset(tag128, 'a', 128);
        tag128[128] = 0;
        s = xasprintf("img:%s", tag128);
        ASSERT_OK(ref_parse(s, &r, NULL));
        free(s);
        r = ref_free(r);
        tag129 = xasprintf("img:%sb", tag128);
        ASSERT_ERR(ref_parse(tag129, &r, NULL), EINVAL);

        /* docker.io/library/ (18) + 237 = 255 is fine, one more is too long. */
        name = xmalloc(300);
        memset(name, 'a', 237);
        name[237] = 0;
        ASSERT_OK(ref_parse(name, &r, NULL));
        r = ref_free(r);
        name[237] = 'a';
        name[238] = 0;
        ASSERT_ERR(ref_parse(name, &r, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "not be more than 255"));
}

static void test_ref_name_only(void) {
        _cleanup_(ref_freep) struct image_ref *r = NULL;
        _cleanup_free_ char *full = NULL, *fam = NULL;

        ASSERT_OK(ref_parse_name("busybox", &r, NULL));
        ASSERT_NULL(r->tag);
        full = ref_full(r);
        ASSERT_STREQ(full, "docker.io/library/busybox");
        fam = ref_familiar_name(r);
        ASSERT_STREQ(fam, "busybox");
}

static void test_digest_validate(void) {
        ASSERT_OK(digest_validate(D64, NULL));
        ASSERT_ERR(digest_validate("sha256:", NULL), EINVAL);
        ASSERT_ERR(digest_validate("sha256", NULL), EINVAL);
        ASSERT_ERR(digest_validate(D64 "0", NULL), EINVAL);
        ASSERT_ERR(
                digest_validate("sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaa", NULL),
                EINVAL);
}

TAP_MAIN(test_ref_valid, test_ref_invalid, test_ref_lengths, test_ref_name_only,
         test_digest_validate)
