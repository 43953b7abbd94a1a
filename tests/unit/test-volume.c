/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "tap.h"
#include "volume.h"
#include "xalloc.h"

static char *mkroot(void) {
        char tmpl[] = "/tmp/berth-vol-XXXXXX";

        if (!mkdtemp(tmpl))
                abort();
        return xstrdup(tmpl);
}

static void test_names(void) {
        ASSERT_TRUE(vol_name_valid("data"));
        ASSERT_TRUE(vol_name_valid("my_vol.1-x"));
        ASSERT_FALSE(vol_name_valid("a"));
        ASSERT_FALSE(vol_name_valid("-data"));
        ASSERT_FALSE(vol_name_valid("../etc"));
        ASSERT_FALSE(vol_name_valid("a/b"));
        ASSERT_FALSE(vol_name_valid(""));
}

static void test_create_get_remove(void) {
        _cleanup_free_ char *root = mkroot();
        _cleanup_(vol_freep) struct vol *v = NULL, *again = NULL, *got = NULL;
        _cleanup_json_ json_t *labels = json_pack("{s:s}", "app", "web");
        _cleanup_err_ struct err *e = NULL;
        struct stat st;

        ASSERT_EQ(vol_create(root, "data", NULL, labels, NULL, false, &v, NULL), 1);
        ASSERT_STREQ(v->name, "data");
        ASSERT_STREQ(v->driver, "local");
        ASSERT_OK(stat(v->mountpoint, &st));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        /* idempotent create returns the existing volume */
        ASSERT_EQ(vol_create(root, "data", NULL, NULL, NULL, false, &again, NULL), 0);
        ASSERT_STREQ(json_get_str(again->labels, "app", NULL), "web");
        ASSERT_OK(vol_get(root, "data", &got, NULL));
        ASSERT_STREQ(got->mountpoint, v->mountpoint);
        ASSERT_ERR(vol_remove(root, "data", true, false, &e), EBUSY);
        ASSERT_EQ(vol_remove(root, "data", false, false, NULL), 1);
        ASSERT_TRUE(access(v->dir, F_OK) < 0);
        ASSERT_EQ(vol_remove(root, "data", false, true, NULL), 0);
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_bad_input_leaves_nothing(void) {
        _cleanup_free_ char *root = mkroot(), *dir = NULL;
        _cleanup_json_ json_t *opts = json_pack("{s:s}", "bogus", "x");
        _cleanup_json_ json_t *badlabels = json_pack("{s:i}", "n", 1);
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
        struct vol *v = NULL;

        ASSERT_ERR(vol_create(root, "a/b", NULL, NULL, NULL, false, &v, &e1), EINVAL);
        ASSERT_ERR(vol_create(root, "good", NULL, NULL, opts, false, &v, &e2), EINVAL);
        ASSERT_NOT_NULL(strstr(e2->msg, "bogus"));
        ASSERT_ERR(vol_create(root, "good", NULL, badlabels, NULL, false, &v, &e3), EINVAL);
        ASSERT_ERR(vol_create(root, "good", "nfs", NULL, NULL, false, &v, &e4), EINVAL);
        ASSERT_NULL(v);
        dir = xasprintf("%s/volumes/good", root);
        ASSERT_TRUE(access(dir, F_OK) < 0);
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_anonymous_and_list(void) {
        _cleanup_free_ char *root = mkroot();
        _cleanup_(vol_freep) struct vol *a = NULL, *b = NULL;
        struct vol **l = NULL;
        int n = 0;

        ASSERT_EQ(vol_create(root, NULL, NULL, NULL, NULL, false, &a, NULL), 1);
        ASSERT_TRUE(a->anonymous);
        ASSERT_EQ(strlen(a->name), 64);
        ASSERT_EQ(vol_create(root, "zzz", NULL, NULL, NULL, false, &b, NULL), 1);
        ASSERT_OK(vol_list(root, &l, NULL));
        for (struct vol **p = l; *p; p++)
                n++;
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(l[1]->name, "zzz");
        ASSERT_EQ(vol_filter_match(l[1], "name=zz", false, NULL), 1);
        ASSERT_EQ(vol_filter_match(l[1], "dangling=true", true, NULL), 0);
        ASSERT_EQ(vol_filter_match(l[1], "dangling=true", false, NULL), 1);
        ASSERT_EQ(vol_filter_match(l[1], "label=x", false, NULL), 0);
        ASSERT_ERR(vol_filter_match(l[1], "colour=red", false, NULL), EINVAL);
        vol_list_free(l);
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_copy_from_image(void) {
        _cleanup_free_ char *root = mkroot(), *src = NULL, *p = NULL, *data = NULL;
        _cleanup_(vol_freep) struct vol *v = NULL;
        _cleanup_close_ int sfd = -EBADF;
        char buf[64];
        ssize_t k;

        src = xasprintf("%s/src", root);
        ASSERT_OK(mkdir_p(src, 0755, NULL));
        p = xasprintf("%s/sub", src);
        ASSERT_OK(mkdir(p, 0750));
        free(p);
        p = xasprintf("%s/sub/f", src);
        ASSERT_OK(write_file_atomic(p, "hello", 5, 0640, NULL));
        free(p);
        p = xasprintf("%s/escape", src);
        ASSERT_OK(symlink("/etc/passwd", p));

        ASSERT_EQ(vol_create(root, "filled", NULL, NULL, NULL, false, &v, NULL), 1);
        ASSERT_EQ(vol_is_empty(v, NULL), 1);
        sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(sfd >= 0);
        ASSERT_OK(vol_copy_from(v, sfd, NULL));
        ASSERT_EQ(vol_is_empty(v, NULL), 0);
        free(p);
        p = xasprintf("%s/sub/f", v->mountpoint);
        ASSERT_OK(read_file(p, 100, &data, NULL, NULL));
        ASSERT_STREQ(data, "hello");
        free(p);
        /* symlinks are copied as links, not followed */
        p = xasprintf("%s/escape", v->mountpoint);
        k = readlink(p, buf, sizeof(buf) - 1);
        ASSERT_TRUE(k > 0);
        buf[k] = 0;
        ASSERT_STREQ(buf, "/etc/passwd");
        ASSERT_OK(rm_rf(root, NULL));
}

TAP_MAIN(test_names, test_create_get_remove, test_bad_input_leaves_nothing, test_anonymous_and_list,
         test_copy_from_image)
