/* SPDX-License-Identifier: Apache-2.0 */
/* The pure rules of the container manager: docker's Entrypoint/Cmd merge, env merge, names,
 * id-prefix lookup, /etc/hosts, ps status and filters, the OCI spec built from a record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "containers.h"
#include "ctr_spec.h"
#include "fileio.h"
#include "json.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static json_t *J(const char *s) {
        json_t *j = NULL;

        if (json_parse(s, strlen(s), "test", &j, NULL) < 0)
                abort();
        return j;
}

static char *joined(char *const *l) {
        return strv_join(l, " ");
}

/* Runs the merge and renders "ENTRYPOINT|CMD" or "error". */
static char *resolve(const char *req_ep, const char *req_cmd, char *const *img_ep,
                     char *const *img_cmd) {
        _cleanup_json_ json_t *ep = req_ep ? J(req_ep) : NULL, *cmd = req_cmd ? J(req_cmd) : NULL;
        _cleanup_strv_ char **e = NULL, **c = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_err_ struct err *err = NULL;

        if (ctr_resolve_command(ep, cmd, img_ep, img_cmd, &e, &c, &err) < 0)
                return xstrdup("error");
        a = joined(e);
        b = joined(c);
        return xasprintf("%s|%s", a, b);
}

static void test_command_resolution(void) {
        char *img_ep[] = {"/entry", "-x", NULL}, *img_cmd[] = {"serve", NULL};
        char *sh[] = {"sh", NULL};
        struct {
                const char *ep, *cmd;
                char **iep, **icmd;
                const char *want;
        } cases[] = {
                /* nothing given: the image's both */
                {NULL, NULL, img_ep, img_cmd, "/entry -x|serve"},
                /* a Cmd replaces the image's Cmd, keeps its Entrypoint */
                {NULL, "[\"run\",\"fast\"]", img_ep, img_cmd, "/entry -x|run fast"},
                /* an Entrypoint drops the image's Cmd */
                {"[\"/other\"]", NULL, img_ep, img_cmd, "/other|"},
                {"[\"/other\"]", "[\"a\"]", img_ep, img_cmd, "/other|a"},
                /* an empty Entrypoint clears the image's and keeps its Cmd */
                {"[]", NULL, img_ep, img_cmd, "|serve"},
                {"[\"\"]", NULL, img_ep, img_cmd, "|serve"},
                {"[\"\"]", "[\"ls\"]", img_ep, img_cmd, "|ls"},
                /* an empty Cmd is no Cmd */
                {NULL, "[]", NULL, sh, "|sh"},
                /* nothing anywhere */
                {NULL, NULL, NULL, NULL, "error"},
                {"[]", "[]", NULL, sh, "|sh"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got =
                        resolve(cases[i].ep, cases[i].cmd, cases[i].iep, cases[i].icmd);
                ASSERT_STREQ(got, cases[i].want);
        }
}

static void test_env_merge(void) {
        char *img[] = {"PATH=/img/bin", "A=1", "B=2", NULL};
        _cleanup_json_ json_t *req = J("[\"A=override\",\"C=3\",\"BARE\",\"=x\"]");
        _cleanup_strv_ char **env = ctr_merge_env(img, req, "h1");
        _cleanup_free_ char *s = joined(env);
        _cleanup_strv_ char **env2 = ctr_merge_env(NULL, NULL, NULL);
        _cleanup_free_ char *s2 = joined(env2);

        ASSERT_STREQ(s, "HOSTNAME=h1 PATH=/img/bin A=override B=2 C=3");
        ASSERT_STREQ(s2, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

static void test_names(void) {
        ASSERT_TRUE(ctr_name_valid("web"));
        ASSERT_TRUE(ctr_name_valid("/web-1.a_b"));
        ASSERT_FALSE(ctr_name_valid("w"));
        ASSERT_FALSE(ctr_name_valid("-web"));
        ASSERT_FALSE(ctr_name_valid("bad name"));
        ASSERT_FALSE(ctr_name_valid("a/b"));
        for (uint64_t r = 0; r < 2000; r += 37) {
                _cleanup_free_ char *n = ctr_name_generate(r * 7919);
                const char *us = strchr(n, '_');

                ASSERT_TRUE(ctr_name_valid(n));
                ASSERT_NOT_NULL(us);
                ASSERT_TRUE(us > n && us[1] != '\0');
        }
        {
                _cleanup_free_ char *a = ctr_name_generate(1), *b = ctr_name_generate(2);
                ASSERT_TRUE(!streq(a, b));
        }
}

static void test_ref_index(void) {
        const char *ids[] = {"abc123", "abd456", "ffff00"};
        const char *names[] = {"/web", "/db", "/abc"};

        ASSERT_EQ(ctr_ref_index(ids, names, 3, "abc123"), 0);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "web"), 0);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "/db"), 1);
        /* a name wins over an id prefix */
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "abc"), 2);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "abd"), 1);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "ff"), 2);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "ab"), -EINVAL);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, "zz"), -ENOENT);
        ASSERT_EQ(ctr_ref_index(ids, names, 3, ""), -ENOENT);
}

static void test_hosts_and_resolv(void) {
        _cleanup_json_ json_t *extra = J("[\"db:10.0.0.5\",\"broken\"]");
        _cleanup_free_ char *h = ctr_hosts_file("box1", extra);
        _cleanup_json_ json_t *hc = J("{\"Dns\":[\"1.1.1.1\"],\"DnsSearch\":[\"a.b\",\"c\"],"
                                      "\"DnsOptions\":[\"ndots:2\"]}");
        _cleanup_json_ json_t *empty = J("{}");
        _cleanup_free_ char *r = ctr_resolv_file(hc, "nameserver 9.9.9.9\n");
        _cleanup_free_ char *r2 = ctr_resolv_file(empty, "nameserver 9.9.9.9\n");

        ASSERT_TRUE(str_startswith(h, "127.0.0.1\tlocalhost\n"));
        ASSERT_NOT_NULL(strstr(h, "\n127.0.1.1\tbox1\n"));
        ASSERT_NOT_NULL(strstr(h, "\n10.0.0.5\tdb\n"));
        ASSERT_NULL(strstr(h, "broken"));
        ASSERT_STREQ(r, "nameserver 1.1.1.1\nsearch a.b c\noptions ndots:2\n");
        ASSERT_STREQ(r2, "nameserver 9.9.9.9\n");
}

static void test_status_and_filters(void) {
        _cleanup_json_ json_t *rec = J(
                "{\"Id\":\"abcdef\",\"Name\":\"/web-1\",\"Config\":{\"Labels\":{\"tier\":\"front\","
                "\"x\":\"\"}},\"State\":{\"Status\":\"exited\",\"ExitCode\":3,"
                "\"FinishedAt\":\"2026-01-01T00:00:00Z\"}}");
        _cleanup_json_ json_t *none = J("{}");
        _cleanup_json_ json_t *up =
                J("{\"Status\":\"running\",\"StartedAt\":\"2026-01-01T00:00:00Z\"}");
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL;
        _cleanup_err_ struct err *e = NULL;
        uint64_t t0 = 1767225600ULL * USEC_PER_SEC; /* 2026-01-01T00:00:00Z */

        s1 = ctr_status_text(json_object_get(rec, "State"), t0 + 5 * 60 * USEC_PER_SEC);
        s2 = ctr_status_text(up, t0 + 30 * USEC_PER_SEC);
        s3 = ctr_status_text(none, t0);
        ASSERT_STREQ(s1, "Exited (3) 5 minutes ago");
        ASSERT_STREQ(s2, "Up 30 seconds");
        ASSERT_STREQ(s3, "Created");

        ASSERT_EQ(ctr_filter_match(rec, "status=exited", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "status=running", NULL), 0);
        ASSERT_EQ(ctr_filter_match(rec, "name=web", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "name=db", NULL), 0);
        ASSERT_EQ(ctr_filter_match(rec, "label=tier", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "label=tier=front", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "label=tier=back", NULL), 0);
        ASSERT_EQ(ctr_filter_match(rec, "label=x=", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "id=abc", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "exited=3", NULL), 1);
        ASSERT_EQ(ctr_filter_match(rec, "exited=0", NULL), 0);
        ASSERT_EQ(ctr_filter_match(rec, "status=sleepy", &e), -EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "status=sleepy"));
        ASSERT_EQ(ctr_filter_match(rec, "color=red", NULL), -EINVAL);
        ASSERT_EQ(ctr_filter_match(rec, "noequals", NULL), -EINVAL);
        ASSERT_EQ(ctr_filter_match(rec, "exited=x", NULL), -EINVAL);
}

static const json_t *find_mount(const json_t *spec, const char *dst) {
        size_t i;
        json_t *m;

        json_array_foreach (json_object_get(spec, "mounts"), i, m)
                if (streq(json_get_str(m, "destination", ""), dst))
                        return m;
        return NULL;
}

static bool has_cap(const json_t *spec, const char *set, const char *cap) {
        size_t i;
        json_t *c;

        json_array_foreach (
                json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"),
                                set),
                i, c)
                if (streq(json_string_value(c), cap))
                        return true;
        return false;
}

static void test_spec_build(void) {
        _cleanup_json_ json_t *rec =
                J("{\"Id\":\"0123456789ab\",\"Path\":\"sh\",\"Args\":[\"-c\",\"true\"],"
                  "\"Config\":{\"Env\":[\"A=1\"],\"WorkingDir\":\"/w\",\"Hostname\":\"h\"},"
                  "\"HostConfig\":{\"NetworkMode\":\"host\",\"Memory\":8388608,\"NanoCpus\":"
                  "1500000000,\"PidsLimit\":20,\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":[\"CHOWN\"],"
                  "\"ReadonlyRootfs\":true,\"Tmpfs\":{\"/t\":\"size=1m\"},\"SecurityOpt\":"
                  "[\"no-new-privileges\"],\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,"
                  "\"Hard\":20}],\"Sysctls\":{\"net.core.somaxconn\":\"100\"}},"
                  "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/src\",\"Destination\":\"/dst\","
                  "\"RW\":false}]}");
        _cleanup_json_ json_t *spec = NULL, *bad = NULL;
        _cleanup_err_ struct err *e = NULL;
        const json_t *p, *lin, *m, *ns, *v;
        bool has_net = false;
        size_t i;

        ASSERT_OK(ctr_spec_build(
                &(struct ctr_spec_in){
                        .rec = rec, .rootfs = "/r", .ctr_dir = "/c", .uid = 5, .gid = 6},
                &spec, &e));
        p = json_object_get(spec, "process");
        lin = json_object_get(spec, "linux");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(p, "args"), 0)), "sh");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(p, "args"), 2)), "true");
        ASSERT_STREQ(json_get_str(p, "cwd", ""), "/w");
        ASSERT_EQ(json_get_int(json_object_get(p, "user"), "uid", -1), 5);
        ASSERT_TRUE(json_get_bool(p, "noNewPrivileges", false));
        ASSERT_TRUE(json_get_bool(json_object_get(spec, "root"), "readonly", false));
        ASSERT_STREQ(json_get_str(json_object_get(spec, "root"), "path", ""), "/r");
        ASSERT_STREQ(json_get_str(spec, "hostname", ""), "h");
        ASSERT_EQ(json_get_int(json_object_get(json_object_get(lin, "resources"), "memory"),
                               "limit", 0),
                  8388608);
        ASSERT_EQ(
                json_get_int(json_object_get(json_object_get(lin, "resources"), "cpu"), "quota", 0),
                150000);
        ASSERT_EQ(json_get_int(json_object_get(json_object_get(lin, "resources"), "pids"), "limit",
                               0),
                  20);
        ASSERT_TRUE(has_cap(spec, "bounding", "CAP_NET_ADMIN"));
        ASSERT_FALSE(has_cap(spec, "effective", "CAP_CHOWN"));
        ASSERT_TRUE(has_cap(spec, "effective", "CAP_KILL"));
        m = find_mount(spec, "/dst");
        ASSERT_NOT_NULL(m);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(m, "options"), 1)), "ro");
        ASSERT_NOT_NULL(find_mount(spec, "/t"));
        ASSERT_STREQ(json_get_str(find_mount(spec, "/etc/hosts"), "source", ""), "/c/hosts");
        ASSERT_NOT_NULL(find_mount(spec, "/etc/resolv.conf"));
        ns = json_object_get(lin, "namespaces");
        json_array_foreach (ns, i, v)
                if (streq(json_get_str(v, "type", ""), "network"))
                        has_net = true;
        ASSERT_FALSE(has_net);
        ASSERT_STREQ(json_get_str(json_object_get(lin, "sysctl"), "net.core.somaxconn", ""), "100");
        ASSERT_STREQ(json_get_str(lin, "cgroupsPath", ""), "/berth/0123456789ab");

        json_object_set_new(json_object_get(rec, "HostConfig"), "CapAdd", J("[\"NOPE\"]"));
        ASSERT_ERR(
                ctr_spec_build(&(struct ctr_spec_in){.rec = rec, .rootfs = "/r", .ctr_dir = "/c"},
                               &bad, &e),
                EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "HostConfig.CapAdd"));
}

#define PASSWD "root:x:0:0::/:/bin/sh\nbob::1001:1002::/:/bin/sh\n"
#define GROUP "root:x:0:\nbob:x:1002:\nwheel:x:10:bob,eve\nempty::11:\n"

static void test_resolve_user(void) {
        char dir[] = "/tmp/test-ctr-user.XXXXXX";
        _cleanup_free_ char *etc = NULL, *pw = NULL, *gr = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ gid_t *gids = NULL;
        size_t n = 0;
        uid_t uid;
        gid_t gid;

        ASSERT_NOT_NULL(mkdtemp(dir));
        etc = xasprintf("%s/etc", dir);
        pw = xasprintf("%s/etc/passwd", dir);
        gr = xasprintf("%s/etc/group", dir);
        ASSERT_OK(mkdir_p(etc, 0755, NULL));
        ASSERT_OK(write_file_atomic(pw, PASSWD, strlen(PASSWD), 0644, NULL));
        ASSERT_OK(write_file_atomic(gr, GROUP, strlen(GROUP), 0644, NULL));
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(ctr_resolve_user(fd, "bob", &uid, &gid, &gids, &n, NULL));
        ASSERT_EQ(uid, 1001);
        ASSERT_EQ(gid, 1002);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(gids[0], 10);
        free(gids);
        gids = NULL;
        ASSERT_OK(ctr_resolve_user(fd, "bob:wheel", &uid, &gid, &gids, &n, NULL));
        ASSERT_EQ(gid, 10);
        ASSERT_OK(ctr_resolve_user(fd, "bob:empty", &uid, &gid, &gids, &n, NULL));
        ASSERT_EQ(gid, 11);
        ASSERT_OK(ctr_resolve_user(fd, "77:88", &uid, &gid, &gids, &n, NULL));
        ASSERT_EQ(uid, 77);
        ASSERT_EQ(gid, 88);
        ASSERT_OK(ctr_resolve_user(fd, "", &uid, &gid, &gids, &n, NULL));
        ASSERT_EQ(uid, 0);
        ASSERT_ERR(ctr_resolve_user(fd, "nobody", &uid, &gid, &gids, &n, NULL), EINVAL);
        ASSERT_ERR(ctr_resolve_user(fd, "bob:nogroup", &uid, &gid, &gids, &n, NULL), EINVAL);
        ASSERT_OK(rm_rf(dir, NULL));
}

TAP_MAIN(test_command_resolution, test_env_merge, test_names, test_ref_index, test_hosts_and_resolv,
         test_status_and_filters, test_spec_build, test_resolve_user)
