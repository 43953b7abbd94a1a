/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/store.h"
#include "json.h"
#include "layer-tar.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *mktmp(void) {
        char *p = xstrdup("/tmp/berth-test-archive-XXXXXX");
        if (!mkdtemp(p))
                abort();
        return p;
}

static void test_changes(void) {
        _cleanup_json_ json_t *c = json_object();
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *dump = NULL;
        char *ok[] = {"CMD [\"/bin/sh\",\"-c\",\"echo hi\"]",
                      "ENTRYPOINT /init --x",
                      "ENV A=1 B=2",
                      "ENV A 3",
                      "WORKDIR /srv",
                      "EXPOSE 80 53/udp",
                      "USER 1000:1000",
                      "LABEL a=b",
                      "VOLUME /data",
                      "stopsignal SIGINT",
                      NULL};
        char *bad1[] = {"FROM busybox", NULL};
        char *bad2[] = {"EXPOSE 99999", NULL};
        char *bad3[] = {"WORKDIR rel", NULL};

        ASSERT_OK(image_apply_changes(c, ok, NULL));
        dump = json_dump_str(c, false);
        ASSERT_STREQ(dump,
                     "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"Entrypoint\":[\"/bin/sh\","
                     "\"-c\",\"/init --x\"],\"Env\":[\"B=2\",\"A=3\"],\"WorkingDir\":\"/srv\","
                     "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"User\":\"1000:1000\","
                     "\"Labels\":{\"a\":\"b\"},\"Volumes\":{\"/data\":{}},\"StopSignal\":"
                     "\"SIGINT\"}");
        ASSERT_ERR(image_apply_changes(c, bad1, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "invalid --change 'FROM busybox': unknown instruction"));
        e = err_free(e);
        ASSERT_ERR(image_apply_changes(c, bad2, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "invalid port '99999'"));
        ASSERT_ERR(image_apply_changes(c, bad3, NULL), EINVAL);
}

/* Layer i of img is a gzip blob, listed as tar+gzip in the image's manifest. */
static void assert_gzip_layer(struct image_store *s, const struct image *img, size_t i) {
        _cleanup_(manifest_freep) struct manifest *m = NULL;
        _cleanup_free_ char *mbuf = NULL, *blob = NULL;
        _cleanup_close_ int fd = -EBADF;
        unsigned char magic[2] = {};
        size_t mlen;

        ASSERT_OK(image_store_read_blob(s, img->manifest_digest, BLOB_MANIFEST_MAX, &mbuf, &mlen,
                                        NULL));
        ASSERT_OK(manifest_parse(mbuf, mlen, NULL, &m, NULL));
        ASSERT_TRUE(m->n_layers > i);
        ASSERT_STREQ(m->layers[i].media_type, MT_OCI_LAYER_GZIP);
        ASSERT_STREQ(m->layers[i].digest, img->layers[i]);
        blob = image_store_blob_path(s, img->layers[i]);
        fd = open(blob, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(read(fd, magic, 2), 2);
        ASSERT_TRUE(magic[0] == 0x1f && magic[1] == 0x8b);
}

static void test_import_tarball(void) {
        static const struct tar_ent ents[] = {{"bin/", 'd'},
                                              {"bin/sh", 'f', "#!", 0755},
                                              {"etc/passwd", 'f', "root:x:0:0::/:/bin/sh\n"}};
        _cleanup_free_ char *root = mktmp(), *buf = NULL, *plain = NULL, *diff = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL, *got = NULL;
        _cleanup_(image_config_freep) struct image_config *cfg = NULL;
        _cleanup_free_ char *cbuf = NULL, *ld = NULL, *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *changes[] = {"CMD [\"/bin/sh\"]", "ENV PATH=/bin", NULL};
        struct import_opts o = {.changes = changes, .message = "hello", .ref = "local/test:1"};
        size_t len, plen, clen;
        struct stat st;

        ASSERT_OK(image_store_open(root, &s, NULL));
        plain = tar_build(ents, ELEMENTSOF(ents), "none", &plen);
        diff = digest_of(plain, plen);
        buf = tar_build(ents, ELEMENTSOF(ents), "gzip", &len);
        fd = tar_to_fd(buf, len);
        ASSERT_OK(image_import_fd(s, fd, &o, &img, NULL));
        ASSERT_STREQ(img->diff_ids[0], diff);
        /* stored gzip-compressed: a different blob digest, the diff id of the plain tar, and a
         * manifest that says so */
        ASSERT_TRUE(!streq(img->layers[0], diff));
        assert_gzip_layer(s, img, 0);
        ASSERT_OK(image_store_get(s, "local/test:1", &got, NULL));
        ASSERT_STREQ(got->id, img->id);
        ASSERT_EQ(got->size, (int64_t)plen);
        ASSERT_OK(image_store_read_blob(s, img->id, BLOB_CONFIG_MAX, &cbuf, &clen, NULL));
        ASSERT_OK(image_config_parse(cbuf, clen, &cfg, NULL));
        ASSERT_STREQ(cfg->cmd[0], "/bin/sh");
        ASSERT_STREQ(cfg->env[0], "PATH=/bin");
        ASSERT_STREQ(cfg->history[0].comment, "hello");
        ld = image_store_layer_dir(s, img->chain_ids[0]);
        p = xasprintf("%s/diff/bin/sh", ld);
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 0777, 0755);
        (void)rm_rf(root, NULL);
}

/* The same input gives the same compressed blob, so the same image. */
static void test_import_deterministic(void) {
        static const struct tar_ent ents[] = {{"a", 'f', "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}};
        _cleanup_free_ char *root = mktmp(), *buf = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *a = NULL, *b = NULL;
        struct import_opts o = {.ref = "det:1"};
        size_t len;
        int fd;

        ASSERT_OK(image_store_open(root, &s, NULL));
        buf = tar_build(ents, ELEMENTSOF(ents), "none", &len);
        fd = tar_to_fd(buf, len);
        ASSERT_OK(image_import_fd(s, fd, &o, &a, NULL));
        close(fd);
        fd = tar_to_fd(buf, len);
        ASSERT_OK(image_import_fd(s, fd, &o, &b, NULL));
        close(fd);
        ASSERT_STREQ(a->layers[0], b->layers[0]);
        ASSERT_STREQ(a->diff_ids[0], b->diff_ids[0]);
        (void)rm_rf(root, NULL);
}

static void test_import_dir(void) {
        _cleanup_free_ char *root = mktmp(), *src = mktmp(), *p = NULL, *q = NULL, *ld = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *content = NULL;
        struct import_opts o = {.ref = "dirimg"};
        char target[32];
        ssize_t k;

        ASSERT_OK(image_store_open(root, &s, NULL));
        p = xasprintf("%s/etc", src);
        ASSERT_OK(mkdir(p, 0755));
        free(p);
        p = xasprintf("%s/etc/hostname", src);
        ASSERT_OK(write_file_atomic(p, "box\n", 4, 0644, NULL));
        q = xasprintf("%s/link", src);
        ASSERT_OK(symlink("etc/hostname", q));
        ASSERT_OK(image_import_dir(s, src, &o, &img, NULL));
        assert_gzip_layer(s, img, 0);
        ASSERT_TRUE(!streq(img->layers[0], img->diff_ids[0]));
        ld = image_store_layer_dir(s, img->chain_ids[0]);
        free(p);
        p = xasprintf("%s/diff/etc/hostname", ld);
        ASSERT_OK(read_file(p, 100, &content, NULL, NULL));
        ASSERT_STREQ(content, "box\n");
        free(q);
        q = xasprintf("%s/diff/link", ld);
        k = readlink(q, target, sizeof(target) - 1);
        ASSERT_EQ(k, 12);
        (void)rm_rf(root, NULL);
        (void)rm_rf(src, NULL);
}

static void test_import_bad_ref_writes_nothing(void) {
        _cleanup_free_ char *root = mktmp(), *blobs = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct import_opts o = {.ref = "Bad:Ref"};
        _cleanup_close_ int fd = tar_to_fd("x", 1);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;

        ASSERT_OK(image_store_open(root, &s, NULL));
        ASSERT_ERR(image_import_fd(s, fd, &o, &img, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "lowercase"));
        blobs = xasprintf("%s/images/blobs/sha256", root);
        d = opendir(blobs);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        ASSERT_EQ(n, 0);
        (void)rm_rf(root, NULL);
}

static void import_small(struct image_store *s, const char *ref, const char *content,
                         struct image **ret) {
        struct tar_ent ents[] = {{"etc/", 'd'}, {"etc/data", 'f', content}};
        struct import_opts o = {.ref = ref};
        size_t len;
        _cleanup_free_ char *buf = tar_build(ents, ELEMENTSOF(ents), "gzip", &len);
        _cleanup_close_ int fd = tar_to_fd(buf, len);

        if (image_import_fd(s, fd, &o, ret, NULL) < 0)
                abort();
}

static void test_save_load(void) {
        _cleanup_free_ char *r1 = mktmp(), *r2 = mktmp(), *r3 = mktmp(), *out = NULL;
        _cleanup_free_ char *x = mktmp(), *mj = NULL, *diff = NULL;
        _cleanup_(image_store_freep) struct image_store *s1 = NULL, *s2 = NULL, *s3 = NULL;
        _cleanup_(image_freep) struct image *a = NULL, *b = NULL, *got = NULL;
        _cleanup_strv_ char **refs = NULL, **ids = NULL, **refs3 = NULL, **ids3 = NULL;
        _cleanup_close_ int fd = -EBADF, xfd = -EBADF;
        char *names[] = {"app:1", "app:2", "other", NULL};
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(image_store_open(r1, &s1, NULL));
        import_small(s1, "app:1", "one", &a);
        import_small(s1, "other", "two", &b);
        ASSERT_OK(image_store_tag(s1, "app:1", "app:2", NULL));
        out = xasprintf("%s/save.tar", x);
        fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(image_save(s1, names, fd, NULL));

        /* docker-archive view */
        ASSERT_OK(image_store_open(r2, &s2, NULL));
        ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
        if (image_load(s2, fd, &refs, &ids, &e) < 0)
                printf("# %s\n", err_msg(e));
        ASSERT_EQ(strv_length(refs), 3);
        ASSERT_TRUE(strv_contains(refs, "docker.io/library/app:2"));
        ASSERT_EQ(strv_length(ids), 2);
        ASSERT_OK(image_store_get(s2, "app:2", &got, NULL));
        ASSERT_STREQ(got->id, a->id);
        ASSERT_STREQ(got->diff_ids[0], a->diff_ids[0]);
        got = image_free(got);
        ASSERT_OK(image_store_get(s2, "other", &got, NULL));
        ASSERT_STREQ(got->id, b->id);
        got = image_free(got);

        /* OCI layout view: unpack the same tar, drop manifest.json, load the directory. */
        {
                _cleanup_free_ char *dir = xasprintf("%s/layout", x);
                ASSERT_OK(mkdir(dir, 0700));
                xfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
                ASSERT_OK(layer_unpack_fd(fd, xfd, &diff, NULL, NULL));
                mj = xasprintf("%s/manifest.json", dir);
                ASSERT_OK(unlink(mj));
                ASSERT_OK(image_store_open(r3, &s3, NULL));
                if (image_load_oci_dir(s3, dir, NULL, &refs3, &ids3, &e) < 0)
                        printf("# %s\n", err_msg(e));
                ASSERT_EQ(strv_length(refs3), 3);
                ASSERT_OK(image_store_get(s3, "app:1", &got, NULL));
                ASSERT_STREQ(got->id, a->id);
                ASSERT_STREQ(got->manifest_digest, a->manifest_digest);
        }
        (void)rm_rf(r1, NULL);
        (void)rm_rf(r2, NULL);
        (void)rm_rf(r3, NULL);
        (void)rm_rf(x, NULL);
}

static void test_load_refuses_escape(void) {
        static const struct tar_ent ents[] = {
                {"manifest.json", 'f', "[{\"Config\":\"../../../etc/passwd\",\"Layers\":[]}]"}};
        static const struct tar_ent ents2[] = {
                {"cfg", 'l', "/etc/passwd"},
                {"manifest.json", 'f', "[{\"Config\":\"cfg\",\"Layers\":[]}]"}};
        _cleanup_free_ char *root = mktmp(), *buf = NULL, *idx = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t len;
        int fd;

        ASSERT_OK(image_store_open(root, &s, NULL));
        buf = tar_build(ents, 1, "none", &len);
        fd = tar_to_fd(buf, len);
        ASSERT_ERR(image_load(s, fd, NULL, NULL, &e), EPERM);
        close(fd);
        ASSERT_NOT_NULL(strstr(e->msg, "leaves the archive"));
        e = err_free(e);
        free(buf);
        buf = tar_build(ents2, 2, "none", &len);
        fd = tar_to_fd(buf, len);
        ASSERT_TRUE(image_load(s, fd, NULL, NULL, &e) < 0);
        close(fd);
        ASSERT_NOT_NULL(strstr(e->msg, "'etc/passwd' in archive"));
        e = err_free(e);
        {
                static const struct tar_ent ents3[] = {
                        {"cfg", 'l', "../../x"},
                        {"manifest.json", 'f', "[{\"Config\":\"cfg\",\"Layers\":[]}]"}};
                free(buf);
                buf = tar_build(ents3, 2, "none", &len);
                fd = tar_to_fd(buf, len);
                ASSERT_ERR(image_load(s, fd, NULL, NULL, &e), EPERM);
                close(fd);
                ASSERT_NOT_NULL(strstr(e->msg, "leaves the archive"));
        }
        idx = xasprintf("%s/images/index.json", root);
        ASSERT_TRUE(access(idx, F_OK) < 0);
        (void)rm_rf(root, NULL);
}

/* docker save links identical layer.tar files between layer directories. */
static void test_load_docker_archive_with_links(void) {
        static const struct tar_ent layer[] = {{"f", 'f', "x"}};
        _cleanup_free_ char *root = mktmp(), *lt = NULL, *diff = NULL, *cfg = NULL, *mj = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_strv_ char **refs = NULL, **ids = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t ltlen, len;
        int fd;

        lt = tar_build(layer, 1, "none", &ltlen);
        diff = digest_of(lt, ltlen);
        cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                        "\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
                        diff, diff);
        mj = xstrdup("[{\"Config\":\"c.json\",\"RepoTags\":[\"linked:1\"],\"Layers\":["
                     "\"l1/layer.tar\",\"l2/layer.tar\"]}]");
        {
                struct tar_ent ents[] = {
                        {"c.json", 'f', cfg},
                        {"l1/layer.tar", 'f', lt, .data_len = ltlen},
                        {"l2/layer.tar", 'l', "../l1/layer.tar"},
                        {"manifest.json", 'f', mj},
                };
                buf = tar_build(ents, ELEMENTSOF(ents), "none", &len);
        }
        ASSERT_OK(image_store_open(root, &s, NULL));
        fd = tar_to_fd(buf, len);
        if (image_load(s, fd, &refs, &ids, &e) < 0)
                printf("# %s\n", err_msg(e));
        close(fd);
        ASSERT_NULL(e);
        ASSERT_TRUE(strv_contains(refs, "docker.io/library/linked:1"));
        {
                _cleanup_(image_freep) struct image *img = NULL;
                ASSERT_OK(image_store_get(s, "linked:1", &img, NULL));
                /* docker save's plain layer.tar is stored compressed; the diff ids stay */
                assert_gzip_layer(s, img, 0);
                ASSERT_STREQ(img->diff_ids[0], diff);
                ASSERT_STREQ(img->layers[0], img->layers[1]);
        }
        (void)rm_rf(root, NULL);
}

/* A docker-archive whose layer does not match the config's diff id is refused, uncompressed or
 * not, and nothing is registered. */
static void test_load_docker_archive_bad_diff_id(void) {
        static const struct tar_ent layer[] = {{"f", 'f', "x"}};
        _cleanup_free_ char *root = mktmp(), *lt = NULL, *cfg = NULL, *mj = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *kinds[] = {"none", "gzip"};

        ASSERT_OK(image_store_open(root, &s, NULL));
        cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                        "\"layers\",\"diff_ids\":[\"sha256:%064d\"]}}",
                        0);
        mj = xstrdup("[{\"Config\":\"c.json\",\"RepoTags\":[\"bad:1\"],\"Layers\":["
                     "\"l1/layer.tar\"]}]");
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                _cleanup_free_ char *buf = NULL;
                size_t ltlen, len;
                int fd;

                free(lt);
                lt = tar_build(layer, 1, kinds[k], &ltlen);
                struct tar_ent ents[] = {
                        {"c.json", 'f', cfg},
                        {"l1/layer.tar", 'f', lt, .data_len = ltlen},
                        {"manifest.json", 'f', mj},
                };
                buf = tar_build(ents, ELEMENTSOF(ents), "none", &len);
                fd = tar_to_fd(buf, len);
                ASSERT_TRUE(image_load(s, fd, NULL, NULL, &e) < 0);
                close(fd);
                ASSERT_NOT_NULL(strstr(e->msg, "manifest.json[0]"));
                e = err_free(e);
        }
        {
                _cleanup_(image_freep) struct image *img = NULL;
                ASSERT_TRUE(image_store_get(s, "bad:1", &img, NULL) < 0);
        }
        (void)rm_rf(root, NULL);
}

TAP_MAIN(test_changes, test_import_tarball, test_import_dir, test_import_bad_ref_writes_nothing,
         test_save_load, test_load_refuses_escape, test_load_docker_archive_with_links,
         test_load_docker_archive_bad_diff_id, test_import_deterministic)
