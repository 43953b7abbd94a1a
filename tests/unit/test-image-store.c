/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/store.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *mkroot(void) {
        char *p = xstrdup("/tmp/berth-test-store-XXXXXX");
        if (!mkdtemp(p))
                abort();
        return p;
}

static size_t count_dir(const char *path) {
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

static void test_blob_roundtrip(void) {
        _cleanup_free_ char *root = mkroot(), *digest = NULL, *buf = NULL, *tmp = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_free_ char *want = digest_of("hello", 5);
        size_t len;

        ASSERT_OK(image_store_open(root, &s, NULL));
        ASSERT_STREQ(want,
                     "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        ASSERT_OK(image_store_put_blob(s, "hello", 5, want, &digest, NULL));
        ASSERT_STREQ(digest, want);
        ASSERT_TRUE(image_store_has_blob(s, want));
        ASSERT_OK(image_store_read_blob(s, want, 100, &buf, &len, NULL));
        ASSERT_EQ(len, 5);
        ASSERT_TRUE(memcmp(buf, "hello", 5) == 0);
        tmp = xasprintf("%s/images/tmp", root);
        ASSERT_EQ(count_dir(tmp), 0);
        (void)rm_rf(root, NULL);
}

static void test_blob_mismatch(void) {
        _cleanup_free_ char *root = mkroot(), *tmp = NULL, *blobs = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(blob_writer_freep) struct blob_writer *w = NULL;
        _cleanup_free_ char *want = digest_of("hello", 5);
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(image_store_open(root, &s, NULL));
        /* wrong content */
        ASSERT_ERR(image_store_put_blob(s, "hellO", 5, want, NULL, &e), EBADMSG);
        ASSERT_NOT_NULL(strstr(e->msg, "digest mismatch"));
        e = err_free(e);
        /* truncated: fewer bytes than announced */
        ASSERT_OK(blob_writer_open(s, want, 5, &w, NULL));
        ASSERT_OK(blob_writer_write(w, "hell", 4, NULL));
        ASSERT_ERR(blob_writer_commit(w, NULL, &e), EBADMSG);
        ASSERT_NOT_NULL(strstr(e->msg, "size 4"));
        e = err_free(e);
        w = blob_writer_free(w);
        /* too long */
        ASSERT_OK(blob_writer_open(s, want, 5, &w, NULL));
        ASSERT_ERR(blob_writer_write(w, "hello!", 6, &e), EBADMSG);
        w = blob_writer_free(w);
        /* bad digest */
        ASSERT_ERR(blob_writer_open(s, "sha256:../../x", 5, &w, NULL), EINVAL);

        ASSERT_FALSE(image_store_has_blob(s, want));
        tmp = xasprintf("%s/images/tmp", root);
        blobs = xasprintf("%s/images/blobs/sha256", root);
        ASSERT_EQ(count_dir(tmp), 0);
        ASSERT_EQ(count_dir(blobs), 0);
        (void)rm_rf(root, NULL);
}

static void test_corrupt_blob_detected(void) {
        _cleanup_free_ char *root = mkroot(), *path = NULL, *buf = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_free_ char *d = NULL;

        ASSERT_OK(image_store_open(root, &s, NULL));
        ASSERT_OK(image_store_put_blob(s, "data", 4, NULL, &d, NULL));
        path = image_store_blob_path(s, d);
        ASSERT_OK(write_file_atomic(path, "dat4", 4, 0644, NULL));
        ASSERT_ERR(image_store_read_blob(s, d, 100, &buf, NULL, NULL), EBADMSG);
        (void)rm_rf(root, NULL);
}

static void test_stale_tmp_removed(void) {
        _cleanup_free_ char *root = mkroot(), *junk = NULL, *tmp = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;

        ASSERT_OK(image_store_open(root, &s, NULL));
        s = image_store_free(s);
        junk = xasprintf("%s/images/tmp/blob-stale", root);
        ASSERT_OK(write_file_atomic(junk, "x", 1, 0600, NULL));
        ASSERT_OK(image_store_open(root, &s, NULL));
        tmp = xasprintf("%s/images/tmp", root);
        ASSERT_EQ(count_dir(tmp), 0);
        (void)rm_rf(root, NULL);
}

/* tmp/ carries the TOPDIR hint on ext4 (stage dirs spread over block groups). */
static void test_tmp_topdir_hint(void) {
        _cleanup_free_ char *root = mkroot(), *tmp = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct statfs sf;
        int flags = 0;

        ASSERT_OK(image_store_open(root, &s, NULL));
        tmp = xasprintf("%s/images/tmp", root);
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        if (fstatfs(fd, &sf) < 0 || sf.f_type != EXT4_SUPER_MAGIC ||
            ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
                (void)rm_rf(root, NULL);
                TAP_SKIP("not ext4");
        }
        ASSERT_TRUE(flags & FS_TOPDIR_FL);
        (void)rm_rf(root, NULL);
}

static void test_chain_ids(void) {
        char *diffs[] = {"sha256:aa", "sha256:bb", NULL};
        _cleanup_strv_ char **c = chain_ids_compute(diffs);
        _cleanup_free_ char *want = digest_of("sha256:aa sha256:bb", 19);

        ASSERT_EQ(strv_length(c), 2);
        ASSERT_STREQ(c[0], "sha256:aa");
        ASSERT_STREQ(c[1], want);
}

/* Builds a fake image whose one layer dir exists, with its config text unique per call. */
static void fake_image(struct image_store *s, const char *cfg, const char *layer_content,
                       struct image **ret) {
        _cleanup_(image_freep) struct image *img = xnew0(struct image, 1);
        _cleanup_free_ char *ld = NULL, *diff = NULL, *lblob = NULL;
        char *man = NULL;

        if (image_store_put_blob(s, cfg, strlen(cfg), NULL, &img->id, NULL) < 0)
                abort();
        man = xasprintf("{\"m\":\"%s\"}", cfg);
        if (image_store_put_blob(s, man, strlen(man), NULL, &img->manifest_digest, NULL) < 0)
                abort();
        free(man);
        if (image_store_put_blob(s, layer_content, strlen(layer_content), NULL, &lblob, NULL) < 0)
                abort();
        strv_push(&img->layers, lblob);
        strv_push(&img->diff_ids, lblob);
        img->chain_ids = chain_ids_compute(img->diff_ids);
        ld = image_store_layer_dir(s, img->chain_ids[0]);
        diff = xasprintf("%s/diff", ld);
        if (mkdir_p(diff, 0755, NULL) < 0)
                abort();
        img->created = xstrdup("2024-01-01T00:00:00Z");
        img->size = 42;
        *ret = TAKE_PTR(img);
}

static void test_index_and_gc(void) {
        _cleanup_free_ char *root = mkroot(), *blobs = NULL, *layers = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *a = NULL, *b = NULL, *got = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct image **list = NULL;
        size_t n = 0;
        char *refs_a[] = {"busybox", "localhost:5000/bb:1", NULL};
        char *refs_b[] = {"other:2", NULL};

        ASSERT_OK(image_store_open(root, &s, NULL));
        fake_image(s, "{\"cfg\":\"a\"}", "layer-shared", &a);
        fake_image(s, "{\"cfg\":\"b\"}", "layer-shared", &b);
        ASSERT_OK(image_store_add(s, a, refs_a, NULL));
        ASSERT_OK(image_store_add(s, b, refs_b, NULL));

        ASSERT_OK(image_store_get(s, "busybox:latest", &got, NULL));
        ASSERT_STREQ(got->id, a->id);
        ASSERT_EQ(strv_length(got->refs), 2);
        ASSERT_EQ(got->size, 42);
        got = image_free(got);
        ASSERT_OK(image_store_get(s, "docker.io/library/busybox", &got, NULL));
        got = image_free(got);
        ASSERT_OK(image_store_get(s, a->id + 7 /* bare hex prefix */, &got, NULL));
        ASSERT_STREQ(got->id, a->id);
        got = image_free(got);
        ASSERT_ERR(image_store_get(s, "nosuch", &got, &e), ENOENT);
        ASSERT_NOT_NULL(strstr(e->msg, "no such image: 'nosuch'"));
        e = err_free(e);

        ASSERT_OK(image_store_tag(s, "other:2", "newtag", NULL));
        ASSERT_OK(image_store_get(s, "newtag", &got, NULL));
        ASSERT_STREQ(got->id, b->id);
        got = image_free(got);
        ASSERT_OK(image_store_list(s, &list, &n, NULL));
        ASSERT_EQ(n, 2);
        image_list_free(list, n);

        /* Removing by id with several references needs force. */
        ASSERT_ERR(image_store_remove(s, a->id, false, &e), EBUSY);
        e = err_free(e);
        /* Untag only. */
        ASSERT_EQ(image_store_remove(s, "busybox", false, NULL), 0);
        ASSERT_OK(image_store_get(s, a->id, &got, NULL));
        got = image_free(got);
        /* Last reference: the image and its unique blobs (config, manifest) go. */
        blobs = xasprintf("%s/images/blobs/sha256", root);
        layers = xasprintf("%s/images/layers", root);
        ASSERT_EQ(count_dir(blobs), 5);
        ASSERT_EQ(image_store_remove(s, "localhost:5000/bb:1", false, NULL), 1);
        ASSERT_ERR(image_store_get(s, a->id, &got, NULL), ENOENT);
        ASSERT_EQ(count_dir(blobs), 3);
        ASSERT_EQ(count_dir(layers), 1); /* shared with b */
        ASSERT_TRUE(image_store_has_blob(s, b->id));
        ASSERT_EQ(image_store_remove(s, b->id, true, NULL), 1);
        ASSERT_EQ(count_dir(blobs), 0);
        ASSERT_EQ(count_dir(layers), 0);
        (void)rm_rf(root, NULL);
}

static void test_add_refuses_missing_content(void) {
        _cleanup_free_ char *root = mkroot(), *idx = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *a = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *ld = NULL;
        char *refs[] = {"busybox", NULL};

        ASSERT_OK(image_store_open(root, &s, NULL));
        fake_image(s, "{\"cfg\":\"a\"}", "layer", &a);
        ld = image_store_layer_dir(s, a->chain_ids[0]);
        ASSERT_OK(rm_rf(ld, NULL));
        ASSERT_ERR(image_store_add(s, a, refs, &e), ENOENT);
        ASSERT_NOT_NULL(strstr(e->msg, "not unpacked"));
        idx = xasprintf("%s/images/index.json", root);
        ASSERT_TRUE(access(idx, F_OK) < 0);
        (void)rm_rf(root, NULL);
}

static void test_gc_busy_while_held(void) {
        _cleanup_free_ char *root = mkroot();
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_close_ int hold = -EBADF;
        size_t freed = 0;

        ASSERT_OK(image_store_open(root, &s, NULL));
        ASSERT_OK(image_store_put_blob(s, "orphan", 6, NULL, NULL, NULL));
        hold = image_store_hold(s, NULL);
        ASSERT_TRUE(hold >= 0);
        ASSERT_ERR(image_store_gc(s, &freed, NULL), EBUSY);
        hold = safe_close(hold);
        ASSERT_OK(image_store_gc(s, &freed, NULL));
        ASSERT_EQ(freed, 1);
        (void)rm_rf(root, NULL);
}

TAP_MAIN(test_blob_roundtrip, test_tmp_topdir_hint, test_blob_mismatch, test_corrupt_blob_detected,
         test_stale_tmp_removed, test_chain_ids, test_index_and_gc,
         test_add_refuses_missing_content, test_gc_busy_while_held)
