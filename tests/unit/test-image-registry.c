/* SPDX-License-Identifier: Apache-2.0 */
/* Pull/push against Debian's docker-registry on 127.0.0.1 (root only; skipped when the binary
 * is missing) and against a tiny fake registry that fails layer downloads. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "image/store.h"
#include "json.h"
#include "layer-tar.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

extern char **environ;

#define REGISTRY_BIN "/usr/bin/docker-registry"

static char *mktmp(const char *tag) {
        char *p = xasprintf("/tmp/berth-test-reg-%s-XXXXXX", tag);
        if (!mkdtemp(p))
                abort();
        return p;
}

static int free_port(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                abort();
        port = ntohs(a.sin_port);
        close(fd);
        return port;
}

static void sleep_ms(long ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static size_t discard(char *b, size_t s, size_t n, void *u) {
        (void)b;
        (void)u;
        return s * n;
}

/* Waits (bounded) until GET /v2/ answers at all. */
static bool wait_http(int port) {
        _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d/v2/", port);

        for (int i = 0; i < 100; i++) {
                CURL *c = curl_easy_init();
                long code = 0;
                curl_easy_setopt(c, CURLOPT_URL, url);
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
                curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
                if (curl_easy_perform(c) == CURLE_OK)
                        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
                curl_easy_cleanup(c);
                if (code == 200 || code == 401)
                        return true;
                sleep_ms(100);
        }
        return false;
}

struct registry {
        pid_t pid;
        int port;
        char *dir;
        char *host; /* "127.0.0.1:PORT" */
};

static bool registry_start(struct registry *r, const char *htpasswd) {
        _cleanup_free_ char *cfg = NULL, *yml = NULL, *log = NULL;
        char *argv[] = {REGISTRY_BIN, "serve", NULL, NULL};

        r->dir = mktmp("srv");
        r->port = free_port();
        r->host = xasprintf("127.0.0.1:%d", r->port);
        cfg = xasprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                        "    rootdirectory: %s/data\n  delete:\n    enabled: true\n"
                        "http:\n  addr: 127.0.0.1:%d\n%s%s%s",
                        r->dir, r->port,
                        htpasswd ? "auth:\n  htpasswd:\n    realm: berth\n"
                                   "    path: "
                                 : "",
                        htpasswd ? htpasswd : "", htpasswd ? "\n" : "");
        yml = xasprintf("%s/config.yml", r->dir);
        if (write_file_atomic(yml, cfg, strlen(cfg), 0600, NULL) < 0)
                return false;
        argv[2] = yml;
        log = xasprintf("%s/registry.log", r->dir);
        r->pid = fork();
        if (r->pid == 0) {
                /* the log file becomes stdout and stderr; dup2 clears O_CLOEXEC on them */
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(127);
                execve(REGISTRY_BIN, argv, environ);
                _exit(127);
        }
        return r->pid > 0 && wait_http(r->port);
}

static void registry_stop(struct registry *r) {
        if (r->pid > 0) {
                kill(r->pid, SIGTERM);
                waitpid(r->pid, NULL, 0);
        }
        if (r->dir)
                (void)rm_rf(r->dir, NULL);
        free(r->dir);
        free(r->host);
        *r = (struct registry){};
}

/* A busybox rootfs: /bin/busybox, a few applet links, /etc/passwd. */
static char *busybox_rootfs(void) {
        char *dir = mktmp("rootfs");
        _cleanup_free_ char *bin = xasprintf("%s/bin", dir), *etc = xasprintf("%s/etc", dir);
        _cleanup_free_ char *bb = xasprintf("%s/busybox", bin), *pw = xasprintf("%s/passwd", etc);
        _cleanup_free_ char *data = NULL;
        const char *applets[] = {"sh", "ls", "cat", "echo"};
        size_t len;

        if (mkdir(bin, 0755) < 0 || mkdir(etc, 0755) < 0)
                abort();
        if (read_file("/bin/busybox", 16 << 20, &data, &len, NULL) < 0 ||
            write_file_atomic(bb, data, len, 0755, NULL) < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(applets); i++) {
                _cleanup_free_ char *l = xasprintf("%s/%s", bin, applets[i]);
                if (symlink("busybox", l) < 0)
                        abort();
        }
        if (write_file_atomic(pw, "root:x:0:0:root:/root:/bin/sh\n", 30, 0644, NULL) < 0)
                abort();
        return dir;
}

static unsigned progress_calls;
static void count_progress(void *ud, const char *digest, uint64_t done, uint64_t total) {
        (void)ud;
        (void)digest;
        if (done <= total)
                progress_calls++;
}

static bool have_registry(void) {
        return access(REGISTRY_BIN, X_OK) == 0 && access("/bin/busybox", R_OK) == 0;
}

static void test_push_pull_roundtrip(void) {
        struct registry reg = {};
        _cleanup_free_ char *rootfs = NULL, *r1 = mktmp("a"), *r2 = mktmp("b"), *ref = NULL;
        _cleanup_free_ char *bb1 = NULL, *bb2 = NULL, *p1 = NULL, *p2 = NULL, *ld = NULL;
        _cleanup_(image_store_freep) struct image_store *s1 = NULL, *s2 = NULL;
        _cleanup_(image_freep) struct image *img = NULL, *pulled = NULL, *again = NULL;
        _cleanup_err_ struct err *e = NULL;
        char *changes[] = {"CMD [\"/bin/sh\"]", NULL};
        struct import_opts io = {.changes = changes};
        struct pull_opts po = {.progress = count_progress};
        size_t l1, l2;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (!have_registry())
                TAP_SKIP("docker-registry or busybox-static not installed");
        ASSERT_TRUE(registry_start(&reg, NULL));
        rootfs = busybox_rootfs();
        ref = xasprintf("%s/test/busybox:1", reg.host);
        io.ref = ref;
        ASSERT_OK(image_store_open(r1, &s1, NULL));
        ASSERT_OK(image_import_dir(s1, rootfs, &io, &img, NULL));
        if (image_push(s1, ref, NULL, NULL, &e) < 0)
                printf("# push: %s\n", err_msg(e));
        ASSERT_NULL(e);

        ASSERT_OK(image_store_open(r2, &s2, NULL));
        if (image_pull(s2, ref, &po, &pulled, &e) < 0)
                printf("# pull: %s\n", err_msg(e));
        ASSERT_NULL(e);
        ASSERT_STREQ(pulled->id, img->id);
        ASSERT_STREQ(pulled->manifest_digest, img->manifest_digest);
        ASSERT_TRUE(progress_calls > 0);
        ld = image_store_layer_dir(s2, pulled->chain_ids[0]);
        p2 = xasprintf("%s/diff/bin/busybox", ld);
        ASSERT_OK(read_file("/bin/busybox", 16 << 20, &bb1, &l1, NULL));
        ASSERT_OK(read_file(p2, 16 << 20, &bb2, &l2, NULL));
        ASSERT_EQ(l1, l2);
        ASSERT_TRUE(memcmp(bb1, bb2, l1) == 0);
        /* A second pull finds everything present. */
        ASSERT_OK(image_pull(s2, ref, NULL, &again, NULL));
        ASSERT_STREQ(again->id, img->id);
        /* Push to a second repository mounting blobs from the first, chunked. */
        {
                _cleanup_free_ char *ref2 = xasprintf("%s/other/bb:2", reg.host);
                _cleanup_(image_freep) struct image *p3 = NULL;
                struct push_opts pu = {.mount_from = "test/busybox", .chunk_size = 4096};
                ASSERT_OK(image_store_tag(s1, ref, ref2, NULL));
                if (image_push(s1, ref2, NULL, &pu, &e) < 0)
                        printf("# push 2: %s\n", err_msg(e));
                ASSERT_NULL(e);
                ASSERT_EQ(image_store_remove(s2, ref, false, NULL), 1);
                ASSERT_OK(image_pull(s2, ref2, NULL, &p3, NULL));
                ASSERT_STREQ(p3->id, img->id);
        }
        {
                _cleanup_free_ char *ref3 = xasprintf("%s/chunked/bb:3", reg.host);
                _cleanup_(image_freep) struct image *p4 = NULL;
                struct push_opts pu = {.chunk_size = 100000};
                ASSERT_OK(image_push(s1, ref, ref3, &pu, NULL));
                ASSERT_EQ(image_store_remove(s2, img->id, true, NULL), 1);
                ASSERT_OK(image_pull(s2, ref3, NULL, &p4, NULL));
                ASSERT_STREQ(p4->id, img->id);
        }
        /* Unknown tag: clear error, nothing registered. */
        {
                _cleanup_free_ char *missing = xasprintf("%s/test/busybox:nope", reg.host);
                _cleanup_(image_freep) struct image *x = NULL;
                ASSERT_ERR(image_pull(s2, missing, NULL, &x, &e), ENOENT);
                ASSERT_NOT_NULL(strstr(e->msg, "not found"));
                e = err_free(e);
        }
        /* skopeo's OCI layout and docker-archive outputs load into a store. */
        if (access("/usr/bin/skopeo", X_OK) == 0) {
                _cleanup_free_ char *r3 = mktmp("f"), *cmd = NULL, *oci = NULL, *da = NULL;
                _cleanup_(image_store_freep) struct image_store *s3 = NULL;
                _cleanup_(image_freep) struct image *l = NULL;
                _cleanup_strv_ char **refs = NULL, **ids = NULL, **refs2 = NULL, **ids2 = NULL;
                _cleanup_close_ int dfd = -EBADF;

                oci = xasprintf("%s/oci", r3);
                da = xasprintf("%s/da.tar", r3);
                cmd = xasprintf("skopeo copy -q --src-tls-verify=false docker://%s oci:%s:1 "
                                ">/dev/null 2>&1 && skopeo copy -q --src-tls-verify=false "
                                "docker://%s docker-archive:%s:skopeo/da:1 >/dev/null 2>&1",
                                ref, oci, ref, da);
                ASSERT_EQ(system(cmd), 0);
                ASSERT_OK(image_store_open(r3, &s3, NULL));
                if (image_load_oci_dir(s3, oci, "loaded/bb:1", &refs, &ids, &e) < 0)
                        printf("# oci load: %s\n", err_msg(e));
                ASSERT_NULL(e);
                ASSERT_OK(image_store_get(s3, "loaded/bb:1", &l, NULL));
                ASSERT_STREQ(l->id, img->id);
                dfd = open(da, O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(dfd >= 0);
                if (image_load(s3, dfd, &refs2, &ids2, &e) < 0)
                        printf("# docker-archive load: %s\n", err_msg(e));
                ASSERT_NULL(e);
                ASSERT_TRUE(strv_contains(refs2, "docker.io/skopeo/da:1"));
                ASSERT_STREQ(ids2[0], img->id);
                (void)rm_rf(r3, NULL);
        }
        (void)p1;
        registry_stop(&reg);
        (void)rm_rf(rootfs, NULL);
        (void)rm_rf(r1, NULL);
        (void)rm_rf(r2, NULL);
}

static void test_basic_auth(void) {
        struct registry reg = {};
        _cleanup_free_ char *r1 = mktmp("c"), *r2 = mktmp("d"), *ht = NULL, *cmd = NULL;
        _cleanup_free_ char *ref = NULL, *authp = NULL;
        _cleanup_(image_store_freep) struct image_store *s1 = NULL, *s2 = NULL;
        _cleanup_(image_freep) struct image *img = NULL, *pulled = NULL;
        _cleanup_err_ struct err *e = NULL;
        static const struct tar_ent ents[] = {{"hello", 'f', "world"}};
        struct import_opts io = {};
        struct stat st;
        size_t len;
        int fd;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (!have_registry() || access("/usr/bin/htpasswd", X_OK) < 0)
                TAP_SKIP("docker-registry or htpasswd not installed");
        ht = xasprintf("%s/htpasswd", r1);
        cmd = xasprintf("htpasswd -Bbc '%s' alice s3cret >/dev/null 2>&1", ht);
        ASSERT_EQ(system(cmd), 0);
        ASSERT_TRUE(registry_start(&reg, ht));
        ref = xasprintf("%s/private/img:1", reg.host);
        io.ref = ref;
        ASSERT_OK(image_store_open(r1, &s1, NULL));
        {
                _cleanup_free_ char *buf = tar_build(ents, 1, "none", &len);
                fd = tar_to_fd(buf, len);
        }
        ASSERT_OK(image_import_fd(s1, fd, &io, &img, NULL));
        close(fd);
        ASSERT_ERR(image_push(s1, ref, NULL, NULL, &e), EACCES);
        ASSERT_NOT_NULL(strstr(e->msg, "unauthorized"));
        e = err_free(e);
        ASSERT_ERR(registry_login(r1, reg.host, "alice", "wrong", NULL, NULL, &e), EACCES);
        e = err_free(e);
        authp = xasprintf("%s/auth.json", r1);
        ASSERT_TRUE(access(authp, F_OK) < 0);
        ASSERT_OK(registry_login(r1, reg.host, "alice", "s3cret", NULL, NULL, NULL));
        ASSERT_OK(stat(authp, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        if (image_push(s1, ref, NULL, NULL, &e) < 0)
                printf("# push: %s\n", err_msg(e));
        ASSERT_NULL(e);
        ASSERT_OK(image_store_open(r2, &s2, NULL));
        ASSERT_ERR(image_pull(s2, ref, NULL, &pulled, &e), EACCES);
        e = err_free(e);
        ASSERT_OK(registry_login(r2, reg.host, "alice", "s3cret", NULL, NULL, NULL));
        ASSERT_OK(image_pull(s2, ref, NULL, &pulled, NULL));
        ASSERT_STREQ(pulled->id, img->id);
        ASSERT_EQ(registry_logout(r2, reg.host, NULL), 1);
        registry_stop(&reg);
        (void)rm_rf(r1, NULL);
        (void)rm_rf(r2, NULL);
}

/* ---- fake registry: serves a manifest and config, answers 500 for the layer ---- */

struct fake {
        const char *manifest, *config;
        const char *manifest_path, *config_path;
        const char *layer_path; /* NULL: layers answer 500 */
        const char *layer;
        size_t layer_len;
        const char *token; /* when set, /v2/ needs "Bearer <token>" from /token */
        size_t layer_cut;  /* when set, the layer answer announces all and hangs up after this */
        int port;
};

static void fake_reply(int c, const char *status, const char *ct, const char *extra,
                       const void *body, size_t len) {
        char *hdr = xasprintf("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                              "Connection: close\r\n\r\n",
                              status, ct, len, extra ? extra : "");
        (void)!write(c, hdr, strlen(hdr));
        (void)!write(c, body, len);
        free(hdr);
}

static void fake_serve(int lfd, struct fake *f, int max_conns) {
        for (int i = 0; i < max_conns; i++) {
                char req[8192], path[1024] = "";
                ssize_t n = 0, k;
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

                if (c < 0)
                        _exit(1);
                while (n < (ssize_t)sizeof(req) - 1 &&
                       (k = read(c, req + n, sizeof(req) - 1 - (size_t)n)) > 0) {
                        n += k;
                        req[n] = 0;
                        if (strstr(req, "\r\n\r\n") || req[0] == 0x16)
                                break;
                }
                if (n > 0 && req[0] == 0x16) {
                        /* a TLS ClientHello: like a plain HTTP server, hang up */
                        close(c);
                        continue;
                }
                sscanf(req, "%*s %1023s", path);
                if (f->token && str_startswith(path, "/token")) {
                        /* the client must pass the challenge's service and scope */
                        if (strstr(path, "service=fake") &&
                            strstr(path, "scope=repository%3Afake%2Fimg%3Apull")) {
                                char *b = xasprintf("{\"token\":\"%s\"}", f->token);
                                fake_reply(c, "200 OK", "application/json", NULL, b, strlen(b));
                                free(b);
                        } else
                                fake_reply(c, "400 Bad Request", "application/json", NULL, "{}", 2);
                } else if (f->token && str_startswith(path, "/v2/") && !strstr(req, f->token)) {
                        char *h = xasprintf("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/"
                                            "token\",service=\"fake\",scope=\"repository:fake/"
                                            "img:pull\"\r\n",
                                            f->port);
                        fake_reply(c, "401 Unauthorized", "application/json", h, "{}", 2);
                        free(h);
                } else if (streq(path, "/v2/"))
                        fake_reply(c, "200 OK", "application/json", NULL, "{}", 2);
                else if (streq(path, f->manifest_path))
                        fake_reply(c, "200 OK", MT_OCI_MANIFEST, NULL, f->manifest,
                                   strlen(f->manifest));
                else if (streq(path, f->config_path))
                        fake_reply(c, "200 OK", "application/octet-stream", NULL, f->config,
                                   strlen(f->config));
                else if (f->layer_path && streq(path, f->layer_path) && f->layer_cut) {
                        char *h = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/"
                                            "octet-stream\r\nContent-Length: %zu\r\n\r\n",
                                            f->layer_len);
                        (void)!write(c, h, strlen(h));
                        (void)!write(c, f->layer, f->layer_cut);
                        free(h);
                } else if (f->layer_path && streq(path, f->layer_path))
                        fake_reply(c, "200 OK", "application/octet-stream", NULL, f->layer,
                                   f->layer_len);
                else {
                        const char *b =
                                "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"boom\"}]}";
                        fake_reply(c, "500 Internal Server Error", "application/json", NULL, b,
                                   strlen(b));
                }
                close(c);
        }
        _exit(0);
}

/* Listens on a loopback port and serves f from a child; returns its pid. */
static pid_t fake_start(struct fake *f) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        pid_t pid;

        if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(lfd, (struct sockaddr *)&a, &alen) < 0 || listen(lfd, 16) < 0)
                abort();
        f->port = ntohs(a.sin_port);
        pid = fork();
        if (pid < 0)
                abort();
        if (pid == 0) {
                /* berth tries TLS first on loopback and drops the connection when the answer is
                 * plain HTTP: a write to it must not kill the server */
                signal(SIGPIPE, SIG_IGN);
                fake_serve(lfd, f, 50);
        }
        close(lfd);
        return pid;
}

static void fake_stop(pid_t pid) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}

static void test_bearer_token_flow(void) {
        static const struct tar_ent ents[] = {{"etc/", 'd'}, {"etc/motd", 'f', "hi\n"}};
        _cleanup_free_ char *root = mktmp("g"), *plain = NULL, *gz = NULL, *diff = NULL;
        _cleanup_free_ char *ldigest = NULL, *config = NULL, *cdigest = NULL, *manifest = NULL;
        _cleanup_free_ char *cpath = NULL, *lpath = NULL, *ref = NULL, *motd = NULL, *ld = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t plen, glen;
        struct fake f = {};
        pid_t pid;

        plain = tar_build(ents, ELEMENTSOF(ents), "none", &plen);
        diff = digest_of(plain, plen);
        gz = tar_build(ents, ELEMENTSOF(ents), "gzip", &glen);
        ldigest = digest_of(gz, glen);
        config = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                           "\"layers\",\"diff_ids\":[\"%s\"]}}",
                           diff);
        cdigest = digest_of(config, strlen(config));
        manifest = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
                             "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                             "\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                             MT_OCI_MANIFEST, MT_OCI_CONFIG, cdigest, strlen(config),
                             MT_OCI_LAYER_GZIP, ldigest, glen);
        cpath = xasprintf("/v2/fake/img/blobs/%s", cdigest);
        lpath = xasprintf("/v2/fake/img/blobs/%s", ldigest);
        f = (struct fake){.manifest = manifest,
                          .config = config,
                          .manifest_path = "/v2/fake/img/manifests/v1",
                          .config_path = cpath,
                          .layer_path = lpath,
                          .layer = gz,
                          .layer_len = glen,
                          .token = "t0k3n"};
        pid = fake_start(&f);
        ASSERT_OK(image_store_open(root, &s, NULL));
        ref = xasprintf("127.0.0.1:%d/fake/img:v1", f.port);
        if (image_pull(s, ref, NULL, &img, &e) < 0)
                printf("# %s\n", err_msg(e));
        fake_stop(pid);
        ASSERT_NULL(e);
        ASSERT_STREQ(img->id, cdigest);
        ld = image_store_layer_dir(s, img->chain_ids[0]);
        {
                _cleanup_free_ char *p = xasprintf("%s/diff/etc/motd", ld);
                ASSERT_OK(read_file(p, 100, &motd, NULL, NULL));
        }
        ASSERT_STREQ(motd, "hi\n");
        (void)rm_rf(root, NULL);
}

static void test_server_error_names_layer(void) {
        _cleanup_free_ char *root = mktmp("e"), *config = NULL, *cdigest = NULL;
        _cleanup_free_ char *manifest = NULL, *mpath = NULL, *cpath = NULL, *ref = NULL;
        _cleanup_free_ char *idx = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *layer =
                "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        struct pull_opts po = {.retries = 2, .backoff_ms = 10};
        struct fake f = {};
        pid_t pid;

        config = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                           "\"layers\",\"diff_ids\":[\"%s\"]}}",
                           layer);
        cdigest = digest_of(config, strlen(config));
        manifest = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
                             "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                             "\"%s\",\"digest\":\"%s\",\"size\":10}]}",
                             MT_OCI_MANIFEST, MT_OCI_CONFIG, cdigest, strlen(config),
                             MT_OCI_LAYER_GZIP, layer);
        mpath = xstrdup("/v2/fake/img/manifests/latest");
        cpath = xasprintf("/v2/fake/img/blobs/%s", cdigest);
        f = (struct fake){.manifest = manifest,
                          .config = config,
                          .manifest_path = mpath,
                          .config_path = cpath};
        pid = fake_start(&f);

        ASSERT_OK(image_store_open(root, &s, NULL));
        ref = xasprintf("127.0.0.1:%d/fake/img", f.port);
        ASSERT_ERR(image_pull(s, ref, &po, &img, &e), EIO);
        fake_stop(pid);
        ASSERT_NOT_NULL(e);
        printf("# %s\n", e->msg);
        ASSERT_NOT_NULL(strstr(e->msg, "pull '127.0.0.1:"));
        ASSERT_NOT_NULL(strstr(e->msg, layer));
        ASSERT_NOT_NULL(strstr(e->msg, "HTTP 500"));
        ASSERT_NOT_NULL(strstr(e->msg, "after 3 attempts"));
        idx = xasprintf("%s/images/index.json", root);
        ASSERT_TRUE(access(idx, F_OK) < 0); /* nothing registered */
        (void)rm_rf(root, NULL);
}

static size_t count_entries(const char *root, const char *sub) {
        _cleanup_free_ char *p = xasprintf("%s/images/%s", root, sub);
        _cleanup_closedir_ DIR *d = opendir(p);
        struct dirent *de;
        size_t n = 0;

        while (d && (de = readdir(d)))
                n += de->d_name[0] != '.';
        return n;
}

/* Pulls from a fake registry whose layer is served as `served` while the manifest announces
 * `announced` bytes and the config `diff` as diff id. Returns the pull result; *ret_err. */
static size_t fake_layer_cut;
static bool fake_config_corrupt; /* the registry serves other config bytes than its digest */

static int fake_pull(const char *root, const char *served, size_t slen, const char *announced,
                     size_t alen, const char *diff, bool stream, struct image **ret,
                     struct err **ret_err) {
        _cleanup_free_ char *ldigest = digest_of(announced, alen), *config = NULL, *cdigest = NULL;
        _cleanup_free_ char *manifest = NULL, *cpath = NULL, *lpath = NULL, *ref = NULL;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        struct pull_opts po = {.retries = 1, .backoff_ms = 10, .no_stream_unpack = !stream};
        struct fake f = {};
        pid_t pid;
        int r;

        config = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                           "\"layers\",\"diff_ids\":[\"%s\"]}}",
                           diff);
        cdigest = digest_of(config, strlen(config));
        if (fake_config_corrupt)
                config[strlen(config) - 1] = ' ';
        manifest = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
                             "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                             "\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                             MT_OCI_MANIFEST, MT_OCI_CONFIG, cdigest, strlen(config),
                             MT_OCI_LAYER_GZIP, ldigest, alen);
        cpath = xasprintf("/v2/fake/img/blobs/%s", cdigest);
        lpath = xasprintf("/v2/fake/img/blobs/%s", ldigest);
        f = (struct fake){.manifest = manifest,
                          .config = config,
                          .manifest_path = "/v2/fake/img/manifests/latest",
                          .config_path = cpath,
                          .layer_path = lpath,
                          .layer = served,
                          .layer_len = slen,
                          .layer_cut = fake_layer_cut};
        pid = fake_start(&f);
        if (image_store_open(root, &s, NULL) < 0)
                abort();
        ref = xasprintf("127.0.0.1:%d/fake/img", f.port);
        r = image_pull(s, ref, &po, ret, ret_err);
        fake_stop(pid);
        return r;
}

static void test_stream_unpack_checks(void) {
        static const struct tar_ent ents[] = {{"a/b", 'f', "data"}, {"c", 'l', "a/b"}};
        static const struct tar_ent other[] = {{"x", 'f', "other"}};
        _cleanup_free_ char *plain = NULL, *gz = NULL, *gz2 = NULL, *diff = NULL;
        const char *bogus =
                "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        size_t plen, glen, g2len;

        plain = tar_build(ents, ELEMENTSOF(ents), "none", &plen);
        diff = digest_of(plain, plen);
        gz = tar_build(ents, ELEMENTSOF(ents), "gzip", &glen);
        gz2 = tar_build(other, 1, "gzip", &g2len);
        for (int stream = 0; stream < 2; stream++) {
                _cleanup_free_ char *r1 = mktmp("h"), *r2 = mktmp("i"), *r3 = mktmp("j");
                _cleanup_(image_freep) struct image *ok = NULL, *bad = NULL, *bad2 = NULL;
                _cleanup_err_ struct err *e = NULL, *e2 = NULL, *e3 = NULL;

                /* good */
                if (fake_pull(r1, gz, glen, gz, glen, diff, stream, &ok, &e) < 0)
                        printf("# stream=%d: %s\n", stream, err_msg(e));
                ASSERT_NULL(e);
                ASSERT_EQ(count_entries(r1, "layers"), 1);
                ASSERT_EQ(count_entries(r1, "tmp"), 0);
                /* the config names another diff id */
                ASSERT_ERR(fake_pull(r2, gz, glen, gz, glen, bogus, stream, &bad, &e2), EBADMSG);
                ASSERT_NOT_NULL(strstr(e2->msg, "diff id mismatch"));
                ASSERT_EQ(count_entries(r2, "layers"), 0);
                ASSERT_EQ(count_entries(r2, "tmp"), 0);
                {
                        _cleanup_free_ char *idx = xasprintf("%s/images/index.json", r2);
                        ASSERT_TRUE(access(idx, F_OK) < 0);
                }
                /* the registry serves other bytes than the manifest's digest */
                ASSERT_ERR(fake_pull(r3, gz2, g2len, gz, glen, diff, stream, &bad2, &e3), EBADMSG);
                printf("# stream=%d: %s\n", stream, e3->msg);
                ASSERT_EQ(count_entries(r3, "layers"), 0);
                ASSERT_EQ(count_entries(r3, "tmp"), 0);
                /* the registry hangs up in the middle of the blob (every attempt) */
                {
                        _cleanup_free_ char *r4 = mktmp("k");
                        _cleanup_(image_freep) struct image *bad3 = NULL;
                        _cleanup_err_ struct err *e4 = NULL;

                        fake_layer_cut = glen / 2;
                        ASSERT_ERR(fake_pull(r4, gz, glen, gz, glen, diff, stream, &bad3, &e4),
                                   EIO);
                        fake_layer_cut = 0;
                        printf("# stream=%d: %s\n", stream, e4->msg);
                        ASSERT_NOT_NULL(strstr(e4->msg, "layer sha256:"));
                        ASSERT_EQ(count_entries(r4, "layers"), 0);
                        ASSERT_EQ(count_entries(r4, "tmp"), 0);
                        (void)rm_rf(r4, NULL);
                }
                /* The layer workers start before the config is fetched: a config that fails
                 * its digest stops them and leaves nothing behind. */
                {
                        _cleanup_free_ char *r5 = mktmp("l");
                        _cleanup_(image_freep) struct image *bad4 = NULL;
                        _cleanup_err_ struct err *e5 = NULL;

                        fake_config_corrupt = true;
                        ASSERT_ERR(fake_pull(r5, gz, glen, gz, glen, diff, stream, &bad4, &e5),
                                   EBADMSG);
                        fake_config_corrupt = false;
                        printf("# stream=%d: %s\n", stream, e5->msg);
                        ASSERT_NOT_NULL(strstr(e5->msg, "config sha256:"));
                        ASSERT_EQ(count_entries(r5, "layers"), 0);
                        ASSERT_EQ(count_entries(r5, "blobs/sha256"), 0);
                        ASSERT_EQ(count_entries(r5, "tmp"), 0);
                        ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
                        (void)rm_rf(r5, NULL);
                }
                /* A layer that is unpacked but whose blob is gone: the blob is fetched again
                 * (registration needs it), the unpacked copy is kept. */
                {
                        _cleanup_(image_freep) struct image *again = NULL;
                        _cleanup_err_ struct err *e6 = NULL;
                        _cleanup_free_ char *ld = digest_of(gz, glen);
                        _cleanup_free_ char *bp =
                                xasprintf("%s/images/blobs/sha256/%s", r1, ld + strlen("sha256:"));

                        ASSERT_OK(unlink(bp));
                        if (fake_pull(r1, gz, glen, gz, glen, diff, stream, &again, &e6) < 0)
                                printf("# stream=%d: %s\n", stream, err_msg(e6));
                        ASSERT_NULL(e6);
                        ASSERT_STREQ(again->id, ok->id);
                        ASSERT_EQ(count_entries(r1, "layers"), 1);
                        ASSERT_EQ(count_entries(r1, "tmp"), 0);
                        ASSERT_OK(access(bp, F_OK));
                        ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
                }
                (void)rm_rf(r1, NULL);
                (void)rm_rf(r2, NULL);
                (void)rm_rf(r3, NULL);
        }
}

/* ---- parallel push of a multi-layer image ---- */

static char **pushed_digests;
static void record_push(void *ud, const char *digest, uint64_t done, uint64_t total) {
        (void)ud;
        if (done == total && !strv_contains(pushed_digests, digest))
                strv_push(&pushed_digests, digest);
}

/* A 5-layer image (bench/gen-image.py: this host's binaries) loaded from an OCI layout. */
static bool load_multi_layer(struct image_store *s, const char *dir, const char *ref,
                             struct image **ret) {
        _cleanup_free_ char *cmd = NULL, *layout = xasprintf("%s/layout", dir);
        _cleanup_strv_ char **refs = NULL, **ids = NULL;

        if (access("bench/gen-image.py", R_OK) < 0)
                return false;
        cmd = xasprintf("python3 bench/gen-image.py %s bin 5 3 %s >/dev/null 2>&1", layout, ref);
        if (system(cmd) != 0)
                return false;
        return image_load_oci_dir(s, layout, ref, &refs, &ids, NULL) >= 0 &&
               image_store_get(s, ref, ret, NULL) >= 0;
}

static void test_parallel_push(void) {
        struct registry reg = {};
        _cleanup_free_ char *r1 = mktmp("pp1"), *r2 = mktmp("pp2"), *ref = NULL, *bad = NULL;
        _cleanup_(image_store_freep) struct image_store *s1 = NULL, *s2 = NULL;
        _cleanup_(image_freep) struct image *img = NULL, *pulled = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct push_opts pu = {.progress = record_push};
        struct fake f = {};
        pid_t pid;

        if (geteuid() != 0)
                TAP_SKIP("needs root");
        if (!have_registry())
                TAP_SKIP("docker-registry or busybox-static not installed");
        ASSERT_TRUE(registry_start(&reg, NULL));
        ref = xasprintf("%s/multi/img:1", reg.host);
        ASSERT_OK(image_store_open(r1, &s1, NULL));
        if (!load_multi_layer(s1, r1, ref, &img)) {
                registry_stop(&reg);
                TAP_SKIP("could not build the multi-layer image (python3)");
        }
        ASSERT_EQ(strv_length(img->layers), 5u);
        if (image_push(s1, ref, NULL, &pu, &e) < 0)
                printf("# push: %s\n", err_msg(e));
        ASSERT_NULL(e);
        /* every layer and the config were reported complete, each by its worker */
        ASSERT_EQ(strv_length(pushed_digests), 6u);
        STRV_FOREACH (l, img->layers)
                ASSERT_TRUE(strv_contains(pushed_digests, *l));
        ASSERT_TRUE(strv_contains(pushed_digests, img->id));
        ASSERT_OK(image_store_open(r2, &s2, NULL));
        if (image_pull(s2, ref, NULL, &pulled, &e) < 0)
                printf("# pull: %s\n", err_msg(e));
        ASSERT_NULL(e);
        ASSERT_STREQ(pulled->id, img->id);
        ASSERT_STREQ(pulled->manifest_digest, img->manifest_digest);
        /* one worker at a time: each layer starts when the previous one reported its result
         * (before that worker's syncfs ends); every worker is reaped, nothing is left in tmp/ */
        {
                _cleanup_free_ char *r3 = mktmp("pp3");
                _cleanup_(image_store_freep) struct image_store *s3 = NULL;
                _cleanup_(image_freep) struct image *one = NULL;
                struct pull_opts po1 = {.max_parallel = 1};

                ASSERT_OK(image_store_open(r3, &s3, NULL));
                if (image_pull(s3, ref, &po1, &one, &e) < 0)
                        printf("# pull, one worker: %s\n", err_msg(e));
                ASSERT_NULL(e);
                ASSERT_STREQ(one->id, img->id);
                ASSERT_EQ(count_entries(r3, "layers"), 5);
                ASSERT_EQ(count_entries(r3, "tmp"), 0);
                ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) == 0); /* only the registry is left */
                (void)rm_rf(r3, NULL);
        }
        registry_stop(&reg);

        /* A registry that has the config but fails every layer: the error of one worker names
         * its layer, the others are stopped, and push returns. */
        {
                _cleanup_free_ char *cpath = xasprintf("/v2/fake/img/blobs/%s", img->id);
                struct push_opts po = {.retries = 1, .backoff_ms = 10};

                f = (struct fake){.manifest = "{}",
                                  .config = "{}",
                                  .manifest_path = "/v2/fake/img/manifests/1",
                                  .config_path = cpath};
                pid = fake_start(&f);
                bad = xasprintf("127.0.0.1:%d/fake/img:1", f.port);
                ASSERT_TRUE(image_push(s1, ref, bad, &po, &e) < 0);
                fake_stop(pid);
                ASSERT_NOT_NULL(e);
                printf("# %s\n", e->msg);
                ASSERT_NOT_NULL(strstr(e->msg, "push '"));
                ASSERT_NOT_NULL(strstr(e->msg, "layer sha256:"));
                ASSERT_NOT_NULL(strstr(e->msg, "HTTP 500"));
        }
        strv_free(pushed_digests);
        pushed_digests = NULL;
        (void)rm_rf(r1, NULL);
        (void)rm_rf(r2, NULL);
}

TAP_MAIN(test_push_pull_roundtrip, test_parallel_push, test_basic_auth,
         test_server_error_names_layer, test_bearer_token_flow, test_stream_unpack_checks)
