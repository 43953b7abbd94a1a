/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "build/context.h"
#include "cleanup.h"
#include "fileio.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void test_path_clean(void) {
        static const char *const cases[][2] = {
                {"a/./b/../c", "a/c"}, {"", "."},   {"/../x", "/x"}, {"../x", "../x"},
                {"a//b/", "a/b"},      {"./", "."}, {"/", "/"},      {"a/../..", ".."},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *c = path_clean(cases[i][0]);
                ASSERT_STREQ(c, cases[i][1]);
        }
}

/* Docker's documented .dockerignore examples (docs "Dockerfile reference: .dockerignore"). */
static void test_dockerignore_docs(void) {
        static const struct {
                const char *rules, *path;
                bool ignored;
        } cases[] = {
                {"# comment\n*/temp*\n", "somedir/temporary.txt", true},
                {"*/temp*\n", "somedir/temp", true},
                {"*/temp*\n", "temp.txt", false},
                {"*/temp*\n", "a/b/temp.txt", false},
                {"*/*/temp*\n", "somedir/subdir/temporary.txt", true},
                {"*/*/temp*\n", "somedir/temporary.txt", false},
                {"temp?\n", "tempa", true},
                {"temp?\n", "tempab", false},
                {"temp?\n", "temp", false},
                {"**/*.go\n", "main.go", true},
                {"**/*.go\n", "a/b/c/x.go", true},
                {"**/*.go\n", "a/b/c/x.gox", false},
                {"*.md\n!README.md\n", "README.md", false},
                {"*.md\n!README.md\n", "CHANGES.md", true},
                {"*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", true},
                {"*.md\n!README*.md\nREADME-secret.md\n", "README-public.md", false},
                {"*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md", false},
                {"/foo/bar\n", "foo/bar", true},
                {"./foo\n", "foo/x", true},
                {"foo/../bar\n", "bar", true},
                {"foo/../bar\n", "foo/bar", false},
                {"docs\n", "docs/a/b.md", true},
                {"docs\n!docs/keep.md\n", "docs/keep.md", false},
                {"docs\n!docs/keep.md\n", "docs/other.md", true},
                {"**\n!src\n", "src/main.c", false},
                {"**\n!src\n", "Makefile", true},
                {"[a-c].txt\n", "b.txt", true},
                {"[!a-c].txt\n", "b.txt", false},
                {"\\*.txt\n", "*.txt", true},
                {"\\*.txt\n", "a.txt", false},
                {"  spaced  \n\n", "spaced", true},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ignore_rules r = {};
                ASSERT_OK(ignore_parse(cases[i].rules, &r, NULL));
                bool got = ignore_matches(&r, cases[i].path);
                ignore_rules_done(&r);
                if (got != cases[i].ignored)
                        printf("# rules '%s' path '%s'\n", cases[i].rules, cases[i].path);
                ASSERT_EQ(got, cases[i].ignored);
        }
}

/* A pattern built to backtrack exponentially ends (as no match) instead of hanging. */
static void test_dockerignore_hostile(void) {
        char path[81];
        memset(path, 'a', 80);
        path[80] = 0;
        ASSERT_FALSE(ignore_pattern_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
        ASSERT_TRUE(ignore_pattern_match("*a*a*a*a", path));
        ASSERT_FALSE(ignore_pattern_match("**/**/**/**/**/**/**/**/**/**/b",
                                          "a/a/a/a/a/a/a/a/a/a/a/a/c"));
}

static char *make_tree(void) {
        char tmpl[] = "/tmp/berth-ctx-XXXXXX";
        if (!mkdtemp(tmpl))
                return NULL;
        char *d = xstrdup(tmpl);
        static const char *const files[] = {"a.txt",     "b.txt",          "c.md",
                                            "sub/x.txt", "sub/deep/y.txt", "skip/z.txt",
                                            "secret.key"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", d, files[i]);
                _cleanup_free_ char *dir = xstrdup(p);
                *strrchr(dir, '/') = 0;
                (void)mkdir_p(dir, 0755, NULL);
                (void)write_file_atomic(p, files[i], strlen(files[i]), 0644, NULL);
        }
        _cleanup_free_ char *ign = xasprintf("%s/.dockerignore", d);
        (void)write_file_atomic(ign, "skip\n*.key\n", 11, 0644, NULL);
        _cleanup_free_ char *l1 = xasprintf("%s/out", d), *l2 = xasprintf("%s/in", d);
        _cleanup_free_ char *l3 = xasprintf("%s/abs", d);
        (void)symlink("../../etc", l1);
        (void)symlink("sub/x.txt", l2);
        (void)symlink("/etc/passwd", l3);
        return d;
}

static void test_resolve(void) {
        _cleanup_free_ char *d = make_tree();
        _cleanup_(build_context_freep) struct build_context *c = NULL;
        _cleanup_strv_ char **m = NULL, **m2 = NULL, **m3 = NULL, **m4 = NULL, **m5 = NULL;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_NOT_NULL(d);
        ASSERT_OK(build_context_open_dir(d, &c, &e));
        ASSERT_OK(build_context_resolve(c, "*.txt", &m, &e));
        ASSERT_EQ(strv_length(m), 2);
        ASSERT_STREQ(m[0], "a.txt");
        ASSERT_STREQ(m[1], "b.txt");
        ASSERT_OK(build_context_resolve(c, "sub/*/y.txt", &m2, &e));
        ASSERT_EQ(strv_length(m2), 1);
        ASSERT_STREQ(m2[0], "sub/deep/y.txt");
        /* Absolute and dotted paths resolve inside the context. */
        ASSERT_OK(build_context_resolve(c, "/sub/../a.txt", &m3, &e));
        ASSERT_STREQ(m3[0], "a.txt");
        ASSERT_OK(build_context_resolve(c, "in", &m5, &e));
        ASSERT_STREQ(m5[0], "in");

        ASSERT_ERR(build_context_resolve(c, "../x", &m4, &e), EPERM);
        ASSERT_STREQ(e->msg, "'../x' is outside the build context");
        e = err_free(e);
        ASSERT_ERR(build_context_resolve(c, "out/passwd", &m4, &e), EPERM);
        e = err_free(e);
        ASSERT_ERR(build_context_resolve(c, "abs", &m4, &e), EPERM);
        e = err_free(e);
        ASSERT_ERR(build_context_resolve(c, "skip/z.txt", &m4, &e), ENOENT);
        e = err_free(e);
        ASSERT_ERR(build_context_resolve(c, "*.key", &m4, &e), ENOENT);
        e = err_free(e);
        ASSERT_ERR(build_context_resolve(c, "nope", &m4, &e), ENOENT);
        ASSERT_STREQ(e->msg, "'nope': not found in the build context");
        c = build_context_free(c);
        ASSERT_OK(rm_rf(d, NULL));
}

static void test_copy_and_checksum(void) {
        _cleanup_free_ char *d = make_tree(), *dst = NULL, *data = NULL, *p = NULL;
        _cleanup_free_ char *sum1 = NULL, *sum2 = NULL, *sum3 = NULL;
        _cleanup_(build_context_freep) struct build_context *c = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *const dirs[] = {(char *)".", NULL};
        char *const two[] = {(char *)"a.txt", (char *)"sub", NULL};
        struct copy_attrs at = {.uid = 0, .gid = 0, .mode = 0600, .has_mode = true};
        char tmpl[] = "/tmp/berth-dst-XXXXXX";
        struct stat st;
        size_t len;

        ASSERT_NOT_NULL(d);
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        dst = xstrdup(tmpl);
        ASSERT_OK(build_context_open_dir(d, &c, &e));

        ASSERT_ERR(build_copy(c->dfd, two, &c->ignore, dst, "/app", NULL, &e), EINVAL);
        e = err_free(e);
        ASSERT_OK(build_copy(c->dfd, two, &c->ignore, dst, "/app/", &at, &e));
        p = xasprintf("%s/app/a.txt", dst);
        ASSERT_OK(read_file(p, 100, &data, &len, NULL));
        ASSERT_STREQ(data, "a.txt");
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        free(p);
        /* A directory source copies its contents. */
        p = xasprintf("%s/app/deep/y.txt", dst);
        ASSERT_OK(stat(p, &st));
        free(p);
        /* The whole context minus ignored files. */
        ASSERT_OK(build_copy(c->dfd, dirs, &c->ignore, dst, "/all", NULL, &e));
        p = xasprintf("%s/all/skip/z.txt", dst);
        ASSERT_TRUE(stat(p, &st) < 0);
        free(p);
        p = xasprintf("%s/all/secret.key", dst);
        ASSERT_TRUE(stat(p, &st) < 0);
        free(p);
        p = xasprintf("%s/all/in", dst);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        free(p);
        /* Single file to a file name. */
        char *const one[] = {(char *)"b.txt", NULL};
        ASSERT_OK(build_copy(c->dfd, one, &c->ignore, dst, "renamed", NULL, &e));
        p = xasprintf("%s/renamed", dst);
        ASSERT_OK(stat(p, &st));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        free(p);
        p = NULL;
        ASSERT_OK(build_copy_content("hello\n", dst, "/etc/h.conf", NULL, &e));

        ASSERT_OK(build_context_checksum(c->dfd, dirs, &c->ignore, &sum1, &e));
        ASSERT_OK(build_context_checksum(c->dfd, dirs, &c->ignore, &sum2, &e));
        ASSERT_STREQ(sum1, sum2);
        /* Ignored files do not change the checksum; others do. */
        p = xasprintf("%s/skip/z.txt", d);
        ASSERT_OK(write_file_atomic(p, "changed", 7, 0644, NULL));
        free(sum2);
        ASSERT_OK(build_context_checksum(c->dfd, dirs, &c->ignore, &sum2, &e));
        ASSERT_STREQ(sum1, sum2);
        free(p);
        p = xasprintf("%s/sub/x.txt", d);
        ASSERT_OK(write_file_atomic(p, "changed", 7, 0644, NULL));
        ASSERT_OK(build_context_checksum(c->dfd, dirs, &c->ignore, &sum3, &e));
        ASSERT_TRUE(strcmp(sum1, sum3) != 0);

        c = build_context_free(c);
        ASSERT_OK(rm_rf(d, NULL));
        ASSERT_OK(rm_rf(dst, NULL));
}

static void test_chown_chmod(void) {
        char tmpl[] = "/tmp/berth-etc-XXXXXX";
        _cleanup_free_ char *d = NULL, *etc = NULL, *pw = NULL, *gr = NULL;
        _cleanup_err_ struct err *e = NULL;
        uid_t u;
        gid_t g;
        mode_t m;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        d = xstrdup(tmpl);
        etc = xasprintf("%s/etc", d);
        ASSERT_OK(mkdir_p(etc, 0755, NULL));
        pw = xasprintf("%s/passwd", etc);
        gr = xasprintf("%s/group", etc);
        ASSERT_OK(write_file_atomic(pw, "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/:/bin/sh\n",
                                    52, 0644, NULL));
        ASSERT_OK(write_file_atomic(gr, "root:x:0:\nstaff:x:50:\n", 22, 0644, NULL));
        char *const lowers[] = {d, NULL};

        ASSERT_OK(parse_chown("app", lowers, &u, &g, &e));
        ASSERT_EQ(u, 1000);
        ASSERT_EQ(g, 1001);
        ASSERT_OK(parse_chown("app:staff", lowers, &u, &g, &e));
        ASSERT_EQ(g, 50);
        ASSERT_OK(parse_chown("42", lowers, &u, &g, &e));
        ASSERT_EQ(u, 42);
        ASSERT_EQ(g, 42);
        ASSERT_OK(parse_chown("42:7", NULL, &u, &g, &e));
        ASSERT_EQ(g, 7);
        ASSERT_ERR(parse_chown("nobody", lowers, &u, &g, &e), ENOENT);
        ASSERT_STREQ(e->msg, "--chown 'nobody': unable to find user nobody: no matching entries "
                             "in passwd file");
        e = err_free(e);
        ASSERT_ERR(parse_chown("app:wheel", lowers, &u, &g, &e), ENOENT);
        e = err_free(e);
        ASSERT_OK(parse_chmod("0755", &m, &e));
        ASSERT_EQ(m, 0755);
        ASSERT_ERR(parse_chmod("u+x", &m, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(parse_chmod("17777", &m, &e), EINVAL);
        ASSERT_OK(rm_rf(d, NULL));
}

/* Writes a gzip-compressed tar holding dir/inner.txt. */
static int make_tgz(const char *path) {
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        int r = 0;

        archive_write_add_filter_gzip(a);
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_filename(a, path) != ARCHIVE_OK)
                r = -1;
        archive_entry_set_pathname(e, "dir/inner.txt");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 6);
        if (r == 0 &&
            (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, "inner\n", 6) != 6))
                r = -1;
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        return r;
}

static void test_add_archive(void) {
        _cleanup_free_ char *d = make_tree(), *dst = NULL, *tgz = NULL, *p = NULL, *data = NULL;
        _cleanup_(build_context_freep) struct build_context *c = NULL;
        _cleanup_err_ struct err *e = NULL;
        char tmpl[] = "/tmp/berth-add-XXXXXX";
        size_t len;

        ASSERT_NOT_NULL(d);
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        dst = xstrdup(tmpl);
        tgz = xasprintf("%s/x.tar.gz", d);
        ASSERT_OK(make_tgz(tgz));
        ASSERT_OK(build_context_open_dir(d, &c, &e));
        int r = build_add_archive(c->dfd, "x.tar.gz", dst, "/opt/", &e);
        if (r < 0)
                printf("# %s\n", err_msg(e));
        ASSERT_EQ(r, 1);
        p = xasprintf("%s/opt/dir/inner.txt", dst);
        ASSERT_OK(read_file(p, 100, &data, &len, NULL));
        ASSERT_STREQ(data, "inner\n");
        /* A plain file is not an archive: the caller copies it. */
        ASSERT_EQ(build_add_archive(c->dfd, "a.txt", dst, "/opt/", &e), 0);
        c = build_context_free(c);
        ASSERT_OK(rm_rf(d, NULL));
        ASSERT_OK(rm_rf(dst, NULL));
}

/* A one-shot HTTP server on 127.0.0.1 that answers n requests: /data.txt with a body, anything
 * else with 404. */
static pid_t serve(int n, int *ret_port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        pid_t pid;

        if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0 ||
            getsockname(s, (struct sockaddr *)&sa, &sl) < 0)
                return -1;
        *ret_port = ntohs(sa.sin_port);
        pid = fork();
        if (pid == 0) {
                for (int i = 0; i < n; i++) {
                        char req[2048] = {};
                        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                _exit(1);
                        ssize_t k = read(c, req, sizeof(req) - 1);
                        const char *ok = "HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\ndownload\n";
                        const char *nf = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
                        const char *ans = k > 0 && strstr(req, "GET /data.txt ") ? ok : nf;
                        (void)!write(c, ans, strlen(ans));
                        close(c);
                }
                _exit(0);
        }
        close(s);
        return pid;
}

static void test_add_url(void) {
        char tmpl[] = "/tmp/berth-url-XXXXXX";
        _cleanup_free_ char *dst = NULL, *url = NULL, *bad = NULL, *p = NULL, *data = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct stat st;
        int port = 0, status = 0, r1, r2;
        size_t len;
        pid_t pid;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        dst = xstrdup(tmpl);
        pid = serve(2, &port);
        ASSERT_TRUE(pid > 0);
        url = xasprintf("http://127.0.0.1:%d/data.txt", port);
        bad = xasprintf("http://127.0.0.1:%d/missing", port);
        r1 = build_add_url(url, dst, "/dl/", NULL, &e);
        r2 = build_add_url(bad, dst, "/dl/missing", NULL, &e);
        waitpid(pid, &status, 0);
        ASSERT_OK(r1);
        ASSERT_ERR(r2, EIO);
        ASSERT_TRUE(strstr(e->msg, "HTTP status 404") != NULL);
        p = xasprintf("%s/dl/data.txt", dst);
        ASSERT_OK(read_file(p, 100, &data, &len, NULL));
        ASSERT_STREQ(data, "download\n");
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        free(p);
        p = xasprintf("%s/dl/missing", dst);
        ASSERT_TRUE(access(p, F_OK) < 0);
        e = err_free(e);
        ASSERT_ERR(build_add_url("ftp://x/y", dst, "/", NULL, &e), EINVAL);
        ASSERT_OK(rm_rf(dst, NULL));
}

TAP_MAIN(test_path_clean, test_dockerignore_docs, test_dockerignore_hostile, test_resolve,
         test_copy_and_checksum, test_chown_chmod, test_add_archive, test_add_url);
