/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "strv.h"
#include "tap.h"
#include "unixsock.h"
#include "xalloc.h"

static int fail_inner(struct err **errp) {
        return err_set(errp, ENOENT, "open '%s'", "x");
}

static int fail_outer(struct err **errp) {
        int r = fail_inner(errp);
        if (r < 0)
                return err_wrap(errp, "load image '%s'", "busybox");
        return 0;
}

static void test_err_wrap(void) {
        _cleanup_err_ struct err *e = NULL;

        ASSERT_ERR(fail_outer(&e), ENOENT);
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->code, ENOENT);
        ASSERT_STREQ(e->msg, "load image 'busybox': open 'x': No such file or directory");
}

static void test_err_set_once(void) {
        _cleanup_err_ struct err *e = NULL;

        ASSERT_ERR(err_setx(&e, EINVAL, "first"), EINVAL);
        ASSERT_ERR(err_setx(&e, EPERM, "second"), EINVAL);
        ASSERT_STREQ(e->msg, "first");
        /* NULL errp is allowed and only returns the code */
        ASSERT_ERR(err_setx(NULL, EPERM, "ignored"), EPERM);
}

static void test_strv(void) {
        _cleanup_strv_ char **l = NULL;
        _cleanup_free_ char *j = NULL;

        l = strv_split("a,,b,c", ",");
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_TRUE(strv_contains(l, "b"));
        ASSERT_FALSE(strv_contains(l, "d"));
        j = strv_join(l, "-");
        ASSERT_STREQ(j, "a-b-c");
        ASSERT_TRUE(str_startswith("sha256:abc", "sha256:"));
        ASSERT_TRUE(str_endswith("x.tar.gz", ".gz"));
        ASSERT_FALSE(str_endswith("gz", ".tar.gz"));
}

/* mkdir_p: the leaf alone when its parent exists, the whole walk when not, an existing leaf is
 * success, and a file in the way is an error naming the path. */
static void test_mkdir_p(void) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *dir = NULL, *deep = NULL, *leaf = NULL, *file = NULL, *under = NULL;
        char tmpl[] = "/tmp/berth-test-XXXXXX";
        struct stat st;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        dir = xstrdup(tmpl);
        deep = xasprintf("%s/a/b/c", dir);
        ASSERT_OK(mkdir_p(deep, 0700, NULL));
        ASSERT_OK(stat(deep, &st));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        leaf = xasprintf("%s/a/b/d", dir);
        ASSERT_OK(mkdir_p(leaf, 0755, NULL));
        ASSERT_OK(stat(leaf, &st));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_OK(mkdir_p(leaf, 0755, NULL));
        file = xasprintf("%s/f", dir);
        ASSERT_OK(write_file_atomic(file, "x", 1, 0600, NULL));
        under = xasprintf("%s/f/g/h", dir);
        ASSERT_EQ(mkdir_p(under, 0755, &e), -ENOTDIR);
        ASSERT_NOT_NULL(strstr(err_msg(e), "/f/g"));
        ASSERT_OK(rm_rf(dir, NULL));
}

static void test_atomic_write(void) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *data = NULL, *tmp = NULL;
        char tmpl[] = "/tmp/berth-test-XXXXXX";
        struct stat st;
        size_t len;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        dir = xstrdup(tmpl);
        path = xasprintf("%s/a/b/state.json", dir);
        tmp = xasprintf("%s/a/b", dir);
        ASSERT_OK(mkdir_p(tmp, 0700, NULL));
        ASSERT_OK(write_file_atomic(path, "{\"version\":1}", 13, 0600, NULL));
        ASSERT_OK(read_file(path, 1024, &data, &len, NULL));
        ASSERT_EQ(len, 13);
        ASSERT_STREQ(data, "{\"version\":1}");
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        free(tmp);
        tmp = xasprintf("%s.new", path);
        ASSERT_TRUE(access(tmp, F_OK) < 0);
        ASSERT_OK(rm_rf(dir, NULL));
        ASSERT_TRUE(access(dir, F_OK) < 0);
        /* idempotent */
        ASSERT_OK(rm_rf(dir, NULL));
}

/* write_file_replace: same contract as write_file_atomic without the fsyncs: replaces an
 * existing file, applies the mode, leaves no .new behind, and fails cleanly on a missing
 * directory. json_replace_path goes through it. */
static void test_replace_write(void) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL, *data = NULL, *tmp = NULL, *missing = NULL;
        _cleanup_json_ json_t *j = NULL, *back = NULL;
        char tmpl[] = "/tmp/berth-test-XXXXXX";
        struct stat st;
        size_t len;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        dir = xstrdup(tmpl);
        path = xasprintf("%s/hosts", dir);
        ASSERT_OK(write_file_replace(path, "old\n", 4, 0600, NULL));
        ASSERT_OK(write_file_replace(path, "127.0.0.1 x\n", 12, 0644, NULL));
        ASSERT_OK(read_file(path, 1024, &data, &len, NULL));
        ASSERT_EQ(len, 12);
        ASSERT_STREQ(data, "127.0.0.1 x\n");
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0644);
        tmp = xasprintf("%s.new", path);
        ASSERT_TRUE(access(tmp, F_OK) < 0);
        missing = xasprintf("%s/no/such/file", dir);
        ASSERT_ERR(write_file_replace(missing, "x", 1, 0644, &e), ENOENT);
        ASSERT_NOT_NULL(strstr(err_msg(e), "no/such/file.new"));
        j = json_pack("{s:i}", "version", 2);
        ASSERT_OK(json_replace_path(path, j, NULL));
        ASSERT_OK(json_load_path(path, 1024, &back, NULL));
        ASSERT_EQ(json_get_int(back, "version", 0), 2);
        ASSERT_OK(rm_rf(dir, NULL));
}

static void test_read_file_limit(void) {
        _cleanup_err_ struct err *e = NULL;
        char *data = NULL;

        ASSERT_ERR(read_file("/proc/self/status", 10, &data, NULL, &e), EFBIG);
        ASSERT_NULL(data);
        ASSERT_NOT_NULL(e);
}

static void test_json_helpers(void) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(json_parse("{\"a\":\"x\",\"n\":3,\"b\":true}", 24, "test", &j, NULL));
        ASSERT_STREQ(json_get_str(j, "a", NULL), "x");
        ASSERT_EQ(json_get_int(j, "n", 0), 3);
        ASSERT_TRUE(json_get_bool(j, "b", false));
        ASSERT_STREQ(json_get_str(j, "missing", "def"), "def");
        s = json_dump_str(j, false);
        ASSERT_STREQ(s, "{\"a\":\"x\",\"n\":3,\"b\":true}");
        ASSERT_ERR(json_parse("{\"a\":1,\"a\":2}", 13, "dup", &j, &e), EINVAL);
}

static void test_random_hex(void) {
        _cleanup_free_ char *a = random_hex(32), *b = random_hex(32);

        ASSERT_EQ(strlen(a), 64);
        ASSERT_TRUE(strcmp(a, b) != 0);
        ASSERT_EQ(strspn(a, "0123456789abcdef"), 64);
}

/* A socket whose path is longer than sun_path binds and connects through its directory. */
static void test_unix_sockaddr_long(void) {
        _cleanup_free_ char *tmp = xstrdup("/tmp/berth-test-unixsock.XXXXXX"), *deep = NULL,
                            *path = NULL, *toolong = NULL;
        _cleanup_close_ int lfd = -EBADF, cfd = -EBADF, afd = -EBADF, d1 = -EBADF, d2 = -EBADF,
                            d3 = -EBADF;
        struct sockaddr_un sa;
        struct err *e = NULL;

        ASSERT_NOT_NULL(mkdtemp(tmp));
        deep = xasprintf("%s/%0120d", tmp, 0);
        ASSERT_EQ(mkdir(deep, 0700), 0);
        path = xasprintf("%s/s.sock", deep);
        ASSERT_TRUE(strlen(path) >= sizeof(sa.sun_path));
        ASSERT_OK(unix_sockaddr(path, &sa, &d1, &e));
        ASSERT_TRUE(d1 >= 0);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ASSERT_EQ(listen(lfd, 1), 0);
        ASSERT_EQ(access(path, F_OK), 0); /* made where the full path says */
        ASSERT_OK(unix_sockaddr(path, &sa, &d2, &e));
        cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_EQ(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        ASSERT_TRUE(afd >= 0);
        /* a short path is used as is; a name that cannot fit on its own is refused */
        ASSERT_OK(unix_sockaddr("/run/x.sock", &sa, &d3, &e));
        ASSERT_STREQ(sa.sun_path, "/run/x.sock");
        ASSERT_EQ(d3, -EBADF);
        toolong = xasprintf("%s/%0120d.sock", tmp, 1);
        ASSERT_ERR(unix_sockaddr(toolong, &sa, &d3, &e), ENAMETOOLONG);
        err_free(e);
        e = NULL;
        ASSERT_ERR(unix_sockaddr("", &sa, &d3, &e), EINVAL);
        err_free(e);
        (void)unlink(path);
        (void)rmdir(deep);
        (void)rmdir(tmp);
}

static void test_unix_recv_fd(void) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, got = -EBADF;
        int sp[2], pfd[2];
        char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 'x';
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf,
                            .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        char out = 0;

        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        a = sp[0];
        b = sp[1];
        ASSERT_EQ(unix_recv_fd(b, MSG_DONTWAIT), -EAGAIN);
        ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pfd[0], sizeof(int));
        ASSERT_EQ(sendmsg(a, &mh, 0), 1);
        got = unix_recv_fd(b, 0);
        ASSERT_TRUE(got >= 0);
        ASSERT_TRUE(fcntl(got, F_GETFD) & FD_CLOEXEC);
        ASSERT_EQ(write(pfd[1], "y", 1), 1); /* the received fd is the pipe's read end */
        ASSERT_EQ(read(got, &out, 1), 1);
        ASSERT_EQ(out, 'y');
        close(pfd[0]);
        close(pfd[1]);
        ASSERT_EQ(write(a, "z", 1), 1); /* a message without a descriptor */
        ASSERT_EQ(unix_recv_fd(b, 0), -EPROTO);
        a = safe_close(a);
        ASSERT_EQ(unix_recv_fd(b, 0), -EPROTO); /* the peer closed */
}

TAP_MAIN(test_err_wrap, test_err_set_once, test_strv, test_atomic_write, test_replace_write,
         test_read_file_limit, test_json_helpers, test_random_hex, test_unix_sockaddr_long,
         test_unix_recv_fd, test_mkdir_p)
