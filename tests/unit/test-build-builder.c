/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/builder.h"
#include "cleanup.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/store.h"
#include "json.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

/* A berth root with a tiny busybox image, and a context directory per test. */
struct fixture {
        char *root, *ctx;
        struct image_store *store;
        char **progress;
        bool host_net;
        unsigned jobs;
};

static void progress_cb(void *ud, const char *line) {
        struct fixture *f = ud;
        strv_push(&f->progress, line);
}

static void write_at(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
        _cleanup_free_ char *d = xstrdup(p);
        *strrchr(d, '/') = 0;
        (void)mkdir_p(d, 0755, NULL);
        (void)write_file_atomic(p, content, strlen(content), 0644, NULL);
}

static int fixture_setup(struct fixture *f) {
        char tmpl[] = "/tmp/berth-build-XXXXXX";
        _cleanup_free_ char *rootfs = NULL, *bin = NULL, *bb = NULL;
        static const char *const applets[] = {"sh",   "echo", "cat",   "ls",    "mkdir",
                                              "test", "true", "id",    "touch", "rm",
                                              "seq",  "wc",   "false", "sleep", "["};
        struct err *e = NULL;

        *f = (struct fixture){};
        if (!mkdtemp(tmpl))
                return -1;
        f->root = xstrdup(tmpl);
        f->ctx = xasprintf("%s/ctx", f->root);
        rootfs = xasprintf("%s/rootfs", f->root);
        bin = xasprintf("%s/bin", rootfs);
        if (mkdir_p(bin, 0755, NULL) < 0 || mkdir_p(f->ctx, 0755, NULL) < 0)
                return -1;
        bb = xasprintf("%s/busybox", bin);
        {
                _cleanup_free_ char *data = NULL;
                size_t len;
                if (read_file("/bin/busybox", 8u << 20, &data, &len, NULL) < 0)
                        return -1;
                if (write_file_atomic(bb, data, len, 0755, NULL) < 0)
                        return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(applets); i++) {
                _cleanup_free_ char *l = xasprintf("%s/%s", bin, applets[i]);
                (void)symlink("busybox", l);
        }
        write_at(rootfs, "etc/passwd",
                 "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n");
        write_at(rootfs, "etc/group", "root:x:0:\napp:x:1000:\n");
        if (image_store_open(f->root, &f->store, &e) < 0)
                goto fail;
        if (image_import_dir(f->store, rootfs,
                             &(struct import_opts){.ref = "docker.io/library/busybox:test"}, NULL,
                             &e) < 0)
                goto fail;
        return 0;
fail:
        printf("# %s\n", err_msg(e));
        err_free(e);
        return -1;
}

static void fixture_done(struct fixture *f) {
        image_store_free(f->store);
        if (f->root)
                (void)rm_rf(f->root, NULL);
        free(f->root);
        free(f->ctx);
        strv_free(f->progress);
}

static int do_build(struct fixture *f, const char *dockerfile, char **tags, char **bargs,
                    const char *target, char **ret_id, struct err **e) {
        _cleanup_(build_context_freep) struct build_context *c = NULL;
        int r;

        write_at(f->ctx, "Dockerfile", dockerfile);
        f->progress = strv_free(f->progress);
        r = build_context_open_dir(f->ctx, &c, e);
        if (r < 0)
                return r;
        struct build_opts o = {.store = f->store,
                               .root = f->root,
                               .ctx = c,
                               .tags = tags,
                               .build_args = bargs,
                               .target = target,
                               .network_none = !f->host_net,
                               .jobs = f->jobs,
                               .progress = progress_cb,
                               .progress_ud = f};
        return build_image(&o, ret_id, e);
}

static json_t *config_of(struct fixture *f, const char *name) {
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *buf = NULL;
        json_t *j = NULL;
        size_t len;

        if (image_store_get(f->store, name, &img, NULL) < 0)
                return NULL;
        if (image_store_read_blob(f->store, img->id, 1u << 20, &buf, &len, NULL) < 0)
                return NULL;
        (void)json_parse(buf, len, "config", &j, NULL);
        return j;
}

static size_t count_prefix(char **l, const char *s) {
        size_t n = 0;
        STRV_FOREACH (x, l)
                n += strstr(*x, s) != NULL;
        return n;
}

static size_t count_eq(char **l, const char *s) {
        size_t n = 0;
        STRV_FOREACH (x, l)
                n += streq(*x, s);
        return n;
}

static void test_metadata_instructions(void) {
        static const char df[] = "FROM busybox:test\n"
                                 "MAINTAINER Jane <j@example.com>\n"
                                 "ENV A=1 B=\"two words\"\n"
                                 "ENV C=${A}x\n"
                                 "LABEL org.test=\"$B\"\n"
                                 "EXPOSE 80 53/udp\n"
                                 "VOLUME /data\n"
                                 "WORKDIR /app\n"
                                 "WORKDIR sub\n"
                                 "USER app\n"
                                 "STOPSIGNAL SIGINT\n"
                                 "HEALTHCHECK --interval=5s --retries=2 CMD true\n"
                                 "ONBUILD RUN echo child\n"
                                 "ENTRYPOINT [\"/bin/sh\"]\n"
                                 "CMD echo hi\n";
        struct fixture f;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        char *tags[] = {(char *)"meta:1", NULL};

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        if (do_build(&f, df, tags, NULL, NULL, NULL, &e) < 0)
                printf("# %s\n", err_msg(e));
        cfg = config_of(&f, "meta:1");
        fixture_done(&f);
        ASSERT_NOT_NULL(cfg);
        json_t *c = json_object_get(cfg, "config");
        ASSERT_STREQ(json_get_str(cfg, "author", NULL), "Jane <j@example.com>");
        _cleanup_free_ char *env = json_dump_str(json_object_get(c, "Env"), false);
        ASSERT_TRUE(strstr(env, "\"B=two words\"") != NULL);
        ASSERT_TRUE(strstr(env, "\"C=1x\"") != NULL);
        ASSERT_STREQ(json_get_str(json_object_get(c, "Labels"), "org.test", NULL), "two words");
        ASSERT_NOT_NULL(json_object_get(json_object_get(c, "ExposedPorts"), "80/tcp"));
        ASSERT_NOT_NULL(json_object_get(json_object_get(c, "ExposedPorts"), "53/udp"));
        ASSERT_NOT_NULL(json_object_get(json_object_get(c, "Volumes"), "/data"));
        ASSERT_STREQ(json_get_str(c, "WorkingDir", NULL), "/app/sub");
        ASSERT_STREQ(json_get_str(c, "User", NULL), "app");
        ASSERT_STREQ(json_get_str(c, "StopSignal", NULL), "SIGINT");
        json_t *hc = json_object_get(c, "Healthcheck");
        ASSERT_EQ(json_get_int(hc, "Interval", 0), 5000000000LL);
        ASSERT_EQ(json_get_int(hc, "Retries", 0), 2);
        _cleanup_free_ char *t = json_dump_str(json_object_get(hc, "Test"), false);
        ASSERT_STREQ(t, "[\"CMD-SHELL\",\"true\"]");
        _cleanup_free_ char *ob = json_dump_str(json_object_get(c, "OnBuild"), false);
        ASSERT_STREQ(ob, "[\"RUN echo child\"]");
        _cleanup_free_ char *ep = json_dump_str(json_object_get(c, "Entrypoint"), false);
        ASSERT_STREQ(ep, "[\"/bin/sh\"]");
        _cleanup_free_ char *cmd = json_dump_str(json_object_get(c, "Cmd"), false);
        ASSERT_STREQ(cmd, "[\"/bin/sh\",\"-c\",\"echo hi\"]");
        json_t *h = json_object_get(cfg, "history");
        json_t *last = json_array_get(h, json_array_size(h) - 1);
        ASSERT_STREQ(json_get_str(last, "created_by", NULL),
                     "CMD [\"/bin/sh\" \"-c\" \"echo hi\"]");
        ASSERT_TRUE(json_get_bool(last, "empty_layer", false));
}

static void test_run_copy_cache(void) {
        static const char df[] = "FROM busybox:test\n"
                                 "COPY . /src/\n"
                                 "RUN cat /src/a.txt > /out.txt && echo built-$V\n"
                                 "ARG V=1\n"
                                 "RUN echo v=$V > /v.txt\n"
                                 "COPY <<EOF /here.txt\n"
                                 "doc $V\n"
                                 "EOF\n";
        struct fixture f;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *id1 = NULL, *id2 = NULL, *id3 = NULL;
        char *tags[] = {(char *)"app:1", NULL};
        size_t hits2, hits3;
        bool saw_output;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        write_at(f.ctx, "a.txt", "hello\n");
        write_at(f.ctx, "b.txt", "other\n");
        write_at(f.ctx, ".dockerignore", "b.txt\n");
        int r = do_build(&f, df, tags, NULL, NULL, &id1, &e);
        if (r < 0)
                printf("# %s\n", err_msg(e));
        saw_output = count_eq(f.progress, "built-") == 1;
        /* Same again: every step from the cache, same image. */
        if (r >= 0)
                r = do_build(&f, df, tags, NULL, NULL, &id2, &e);
        hits2 = count_prefix(f.progress, "Using cache");

        /* One file changed: the COPY misses and so does everything after it. */
        write_at(f.ctx, "a.txt", "changed\n");
        write_at(f.ctx, "b.txt", "ignored change\n");
        if (r >= 0)
                r = do_build(&f, df, tags, NULL, NULL, &id3, &e);
        hits3 = count_prefix(f.progress, "Using cache");
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_strv_ char **lowers = NULL;
        if (r >= 0 && image_store_get(f.store, "app:1", &img, NULL) >= 0)
                lowers = image_lower_dirs(f.store, img);
        _cleanup_free_ char *out = NULL, *v = NULL, *here = NULL, *ign = NULL;
        size_t len;
        if (lowers) {
                char *p;
                for (size_t i = 0; lowers[i]; i++) {
                        p = xasprintf("%s/out.txt", lowers[i]);
                        if (!out)
                                (void)read_file(p, 100, &out, &len, NULL);
                        free(p);
                        p = xasprintf("%s/v.txt", lowers[i]);
                        if (!v)
                                (void)read_file(p, 100, &v, &len, NULL);
                        free(p);
                        p = xasprintf("%s/here.txt", lowers[i]);
                        if (!here)
                                (void)read_file(p, 100, &here, &len, NULL);
                        free(p);
                        p = xasprintf("%s/src/b.txt", lowers[i]);
                        if (!ign)
                                (void)read_file(p, 100, &ign, &len, NULL);
                        free(p);
                }
        }
        fixture_done(&f);
        ASSERT_OK(r);
        ASSERT_TRUE(saw_output);
        ASSERT_STREQ(id1, id2);
        ASSERT_EQ(hits2, 5);
        ASSERT_EQ(hits3, 0);
        ASSERT_TRUE(strcmp(id1, id3) != 0);
        ASSERT_STREQ(out, "changed\n");
        ASSERT_STREQ(v, "v=1\n");
        ASSERT_STREQ(here, "doc 1\n");
        ASSERT_NULL(ign);
}

static void test_failing_run(void) {
        static const char df[] = "FROM busybox:test\n"
                                 "RUN echo first\n"
                                 "RUN echo oops && exit 3\n";
        struct fixture f;
        _cleanup_err_ struct err *e = NULL;
        char *tags[] = {(char *)"bad:1", NULL};
        struct image *img = NULL;
        int r, got;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        r = do_build(&f, df, tags, NULL, NULL, NULL, &e);
        got = image_store_get(f.store, "bad:1", &img, NULL);
        image_free(img);
        _cleanup_free_ char *tmpdir = xasprintf("%s/build-tmp", f.root);
        _cleanup_strv_ char **left = NULL;
        {
                _cleanup_closedir_ DIR *d = opendir(tmpdir);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.' && !streq(de->d_name, "oci"))
                                strv_push(&left, de->d_name);
        }
        fixture_done(&f);
        ASSERT_ERR(r, EIO);
        ASSERT_STREQ(e->msg, "Dockerfile:3: RUN: process \"/bin/sh -c echo oops && exit 3\" did "
                             "not complete successfully: exit code: 3\noops");
        ASSERT_EQ(got, -ENOENT);
        ASSERT_NULL(left);
}

static void test_multistage_and_errors(void) {
        static const char df[] = "FROM busybox:test AS build\n"
                                 "RUN mkdir -p /out && echo artifact > /out/a\n"
                                 "FROM busybox:test AS unused\n"
                                 "RUN exit 1\n"
                                 "FROM scratch\n"
                                 "COPY --from=build /out/a /a\n"
                                 "COPY --from=0 /bin/busybox /busybox\n"
                                 "CMD [\"/busybox\", \"cat\", \"/a\"]\n";
        static const char escape[] = "FROM busybox:test\n"
                                     "\n"
                                     "COPY ../x /x\n";
        struct fixture f;
        _cleanup_err_ struct err *e = NULL, *e2 = NULL, *e3 = NULL;
        char *tags[] = {(char *)"multi:1", NULL};
        int r, r2, r3;
        _cleanup_json_ json_t *cfg = NULL;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        r = do_build(&f, df, tags, NULL, NULL, NULL, &e);
        if (r < 0)
                printf("# %s\n", err_msg(e));
        cfg = config_of(&f, "multi:1");
        r2 = do_build(&f, escape, NULL, NULL, NULL, NULL, &e2);
        r3 = do_build(&f, df, NULL, NULL, "nosuch", NULL, &e3);
        _cleanup_err_ struct err *e5 = NULL;
        int r5 = do_build(&f, "FROM --platform=linux/s390x busybox:test\n", NULL, NULL, NULL, NULL,
                          &e5);
        /* A variable used before the ARG that declares it later in the stage; a declared one
         * and an escaped dollar are fine. */
        _cleanup_err_ struct err *e6 = NULL, *e7 = NULL;
        int r6 = do_build(&f, "FROM busybox:test\nENV A=1\nLABEL v=${SRC}\nARG SRC=/etc\n", NULL,
                          NULL, NULL, NULL, &e6);
        int r7 = do_build(
                &f,
                "FROM busybox:test\nARG SRC\nLABEL v=$SRC w=\\$LATER x=${LATER:-d}\nARG LATER\n",
                NULL, NULL, NULL, NULL, &e7);
        if (r7 < 0)
                printf("# %s\n", err_msg(e7));
        /* A missing base is pulled; a closed loopback port makes that fail at once. */
        _cleanup_err_ struct err *e4 = NULL;
        int r4 = do_build(&f, "FROM 127.0.0.1:1/nosuch:1\n", NULL, NULL, NULL, NULL, &e4);
        fixture_done(&f);
        ASSERT_TRUE(r4 < 0);
        ASSERT_TRUE(str_startswith(e4->msg, "Dockerfile:1: FROM: image '127.0.0.1:1/nosuch:1' "
                                            "not found locally, and pulling it failed: "));
        ASSERT_OK(r);
        ASSERT_NOT_NULL(cfg);
        ASSERT_EQ(json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")), 2);
        ASSERT_ERR(r2, EPERM);
        ASSERT_STREQ(e2->msg, "Dockerfile:3: COPY: '../x' is outside the build context");
        ASSERT_ERR(r5, EINVAL);
        ASSERT_TRUE(str_startswith(e5->msg, "Dockerfile:1: FROM --platform=linux/s390x: only the "
                                            "host platform"));
        ASSERT_ERR(r3, ENOENT);
        ASSERT_STREQ(e3->msg, "target stage 'nosuch' could not be found");
        ASSERT_ERR(r6, EINVAL);
        ASSERT_STREQ(e6->msg, "Dockerfile:3: LABEL: variable 'SRC' is used before its ARG "
                              "(Dockerfile:4)");
        ASSERT_OK(r7);
}

static void test_onbuild_and_args(void) {
        static const char parent[] = "FROM busybox:test\n"
                                     "ONBUILD ENV FROM_TRIGGER=yes\n";
        static const char child[] = "ARG BASE=parent:1\n"
                                    "FROM ${BASE}\n"
                                    "ENV SEEN=${BASE:-unset}\n"
                                    "ARG BASE\n"
                                    "ENV AFTER=${BASE}\n";
        struct fixture f;
        _cleanup_err_ struct err *e = NULL;
        char *ptags[] = {(char *)"parent:1", NULL}, *ctags[] = {(char *)"child:1", NULL};
        _cleanup_json_ json_t *cfg = NULL;
        int r;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        r = do_build(&f, parent, ptags, NULL, NULL, NULL, &e);
        if (r >= 0)
                r = do_build(&f, child, ctags, NULL, NULL, NULL, &e);
        if (r < 0)
                printf("# %s\n", err_msg(e));
        cfg = config_of(&f, "child:1");
        fixture_done(&f);
        ASSERT_OK(r);
        json_t *c = json_object_get(cfg, "config");
        _cleanup_free_ char *env = json_dump_str(json_object_get(c, "Env"), false);
        ASSERT_TRUE(strstr(env, "FROM_TRIGGER=yes") != NULL);
        ASSERT_TRUE(strstr(env, "SEEN=unset") != NULL);
        ASSERT_TRUE(strstr(env, "AFTER=parent:1") != NULL);
        ASSERT_NULL(json_object_get(c, "OnBuild"));
}

/* Files in the top layer of an image (relative paths, sorted by the walk). */
static bool top_layer_has(struct fixture *f, const char *name, const char *rel) {
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_strv_ char **l = NULL;
        _cleanup_free_ char *p = NULL;

        if (image_store_get(f->store, name, &img, NULL) < 0)
                return false;
        l = image_lower_dirs(f->store, img);
        p = xasprintf("%s/%s", l[0], rel);
        return access(p, F_OK) == 0;
}

static void test_run_mounts(void) {
        static const char df[] =
                "FROM busybox:test\n"
                "ARG N=1\n"
                "RUN --mount=type=cache,target=/cache --mount=type=bind,source=data,"
                "target=/ctx echo $N >> /cache/runs && cat /ctx/x > /copied\n";
        struct fixture f;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *runs = NULL, *cachedir = NULL;
        char *tags[] = {(char *)"mnt:1", NULL};
        char *a1[] = {(char *)"N=1", NULL}, *a2[] = {(char *)"N=2", NULL};
        bool has_copied = false, has_cache = true, has_resolv = true, has_ctx = true;
        int r;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        f.host_net = true;
        write_at(f.ctx, "data/x", "bound\n");
        r = do_build(&f, df, tags, a1, NULL, NULL, &e);
        if (r >= 0)
                r = do_build(&f, df, tags, a2, NULL, NULL, &e);
        if (r < 0)
                printf("# %s\n", err_msg(e));
        else {
                has_copied = top_layer_has(&f, "mnt:1", "copied");
                has_cache = top_layer_has(&f, "mnt:1", "cache");
                has_ctx = top_layer_has(&f, "mnt:1", "ctx");
                has_resolv = top_layer_has(&f, "mnt:1", "etc/resolv.conf");
        }
        /* The cache dir persisted across both builds. */
        _cleanup_free_ char *h = digest_of("/cache", 6);
        cachedir = xasprintf("%s/build-cache/mounts/%s/runs", f.root, h + 7);
        size_t len;
        (void)read_file(cachedir, 100, &runs, &len, NULL);
        fixture_done(&f);
        ASSERT_OK(r);
        ASSERT_TRUE(has_copied);
        ASSERT_FALSE(has_cache);
        ASSERT_FALSE(has_ctx);
        ASSERT_FALSE(has_resolv);
        ASSERT_STREQ(runs, "1\n2\n");
}

/* Stages "one" and "two" each wait (bounded) for the other's marker in a shared cache mount:
 * they only both succeed when they run at the same time. */
static char *rendezvous_df(const char *id, unsigned tries, bool fail_two) {
        static const char wait[] =
                "RUN --mount=type=cache,id=%s,target=/c touch /c/%s && i=0 && "
                "while [ ! -e /c/%s ] && [ $i -lt %u ]; do sleep 0.1; i=$((i+1)); done && "
                "test -e /c/%s && echo %s >/%s\n";
        _cleanup_free_ char *w1 = xasprintf(wait, id, "one", "two", tries, "two", "r1", "r1");
        _cleanup_free_ char *w2 = xasprintf(wait, id, "two", "one", tries, "one", "r2", "r2");
        return xasprintf("FROM busybox:test AS one\n%s"
                         "FROM busybox:test AS two\n%s%s"
                         "FROM busybox:test\n"
                         "COPY --from=one /r1 /r1\n"
                         "COPY --from=two /r2 /r2\n",
                         w1, w2, fail_two ? "RUN echo broken && exit 4\n" : "");
}

static void test_parallel_stages(void) {
        _cleanup_free_ char *df = rendezvous_df("par", 300, false);
        _cleanup_free_ char *serial = rendezvous_df("ser", 20, false);
        _cleanup_free_ char *failing = rendezvous_df("fail", 300, true);
        _cleanup_err_ struct err *e = NULL, *e2 = NULL, *e3 = NULL;
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_strv_ char **progress = NULL;
        char *tags[] = {(char *)"par:1", NULL};
        struct fixture f;
        int r, r2, r3;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        ASSERT_OK(fixture_setup(&f));
        f.jobs = 2;
        r = do_build(&f, df, tags, NULL, NULL, NULL, &e);
        if (r < 0)
                printf("# %s\n", err_msg(e));
        cfg = config_of(&f, "par:1");
        progress = strv_copy(f.progress);
        /* One job at a time: the first stage waits for a stage that never runs beside it. */
        f.jobs = 1;
        r2 = do_build(&f, serial, NULL, NULL, NULL, NULL, &e2);
        /* A failing stage: the other one finishes, the error names the line, nothing is left. */
        f.jobs = 2;
        r3 = do_build(&f, failing, NULL, NULL, NULL, NULL, &e3);
        _cleanup_free_ char *tmpdir = xasprintf("%s/build-tmp", f.root);
        _cleanup_strv_ char **left = NULL;
        {
                _cleanup_closedir_ DIR *d = opendir(tmpdir);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.' && !streq(de->d_name, "oci"))
                                strv_push(&left, de->d_name);
        }
        fixture_done(&f);
        ASSERT_OK(r);
        ASSERT_NOT_NULL(cfg);
        /* busybox + COPY r1 + COPY r2 */
        ASSERT_EQ(json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")), 3);
        ASSERT_TRUE(count_prefix(progress, "[one] Step 2/7 : RUN") == 1);
        ASSERT_TRUE(count_prefix(progress, "[two] Step 4/7 : RUN") == 1);
        ASSERT_TRUE(count_prefix(progress, "Step 6/7 : COPY --from=one") == 1);
        ASSERT_ERR(r2, EIO);
        ASSERT_TRUE(str_startswith(e2->msg, "Dockerfile:2: RUN: "));
        ASSERT_ERR(r3, EIO);
        ASSERT_TRUE(strstr(e3->msg, "Dockerfile:5: RUN: process \"/bin/sh -c echo broken && exit "
                                    "4\" did not complete successfully: exit code: 4") != NULL);
        ASSERT_NULL(left);
}

TAP_MAIN(test_metadata_instructions, test_run_copy_cache, test_failing_run,
         test_multistage_and_errors, test_onbuild_and_args, test_run_mounts, test_parallel_stages);
