/* SPDX-License-Identifier: Apache-2.0 */
/* orchestrator/secrets.c: the controller's secret and config objects over a SQLite store, a
 * stack using them (external and inline), and nothing of a value in plain text in state.db. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "controller.h"
#include "controller_int.h"
#include "fileio.h"
#include "json.h"
#include "secrets.h"
#include "store.h"
#include "tap.h"
#include "xalloc.h"

#define NOW (1000 * USEC_PER_SEC)
#define VALUE "s3cr3t-Value-4711"

struct env {
        char dir[64];
        char *db;
        struct controller *c;
};

static void env_done(struct env *t) {
        t->c = controller_free(t->c);
        free(t->db);
        if (t->dir[0])
                (void)rm_rf(t->dir, NULL);
}

static int env_init(struct env *t) {
        _cleanup_free_ char *key = NULL;
        struct store *s = NULL;
        int r;

        strcpy(t->dir, "/tmp/test-secrets-XXXXXX");
        if (!mkdtemp(t->dir))
                return -errno;
        t->db = xasprintf("%s/state.db", t->dir);
        r = store_open_sqlite(t->db, 0, &s, NULL);
        if (r < 0)
                return r;
        r = controller_new(NULL, s, &t->c, NULL);
        if (r < 0)
                return r;
        key = xasprintf("%s/secrets.key", t->dir);
        secrets_set_key_path(t->c, key);
        return 0;
}

static int create(struct env *t, enum sobj_kind kind, const char *name, const char *value,
                  struct err **errp) {
        _cleanup_free_ char *b = base64_encode(value, strlen(value));
        _cleanup_json_ json_t *body = json_pack("{s:s, s:{s:s}, s:s}", "Name", name, "Labels",
                                                "env", "prod", "Data", b),
                              *ans = NULL;

        return secrets_create(t->c, kind, body, &ans, errp);
}

/* Whether the bytes of needle occur in the file (or its WAL). */
static bool file_has(const char *path, const char *needle) {
        _cleanup_free_ char *buf = NULL, *wal = xasprintf("%s-wal", path);
        size_t n = 0;
        bool found = false;

        if (read_file(path, 64u << 20, &buf, &n, NULL) >= 0)
                found = memmem(buf, n, needle, strlen(needle)) != NULL;
        free(buf);
        buf = NULL;
        if (!found && read_file(wal, 64u << 20, &buf, &n, NULL) >= 0)
                found = memmem(buf, n, needle, strlen(needle)) != NULL;
        return found;
}

static void test_api(void) {
        _cleanup_(env_done) struct env t = {};
        _cleanup_json_ json_t *list = NULL, *doc = NULL, *f = NULL, *cfg = NULL;
        struct err *e = NULL;
        _cleanup_free_ char *big = NULL;

        ASSERT_OK(env_init(&t));
        ASSERT_OK(create(&t, SOBJ_SECRET, "db_password", VALUE, NULL));
        ASSERT_OK(create(&t, SOBJ_SECRET, "api.key", "other", NULL));
        /* Names unique, validated like docker's. */
        ASSERT_ERR(create(&t, SOBJ_SECRET, "db_password", "x", &e), EEXIST);
        ASSERT_TRUE(strstr(e->msg, "'db_password' already exists") != NULL);
        e = err_free(e);
        ASSERT_ERR(create(&t, SOBJ_SECRET, "-bad", "x", &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "'-bad'") != NULL);
        e = err_free(e);
        ASSERT_ERR(create(&t, SOBJ_SECRET, "a/b", "x", &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(create(&t, SOBJ_SECRET, "empty", "", &e), E2BIG);
        e = err_free(e);
        big = xmalloc(SECRET_DATA_MAX + 2);
        memset(big, 'x', SECRET_DATA_MAX + 1);
        big[SECRET_DATA_MAX + 1] = 0;
        ASSERT_ERR(create(&t, SOBJ_SECRET, "big", big, &e), E2BIG);
        ASSERT_TRUE(strstr(e->msg, "500 KiB") != NULL);
        e = err_free(e);
        big[SECRET_DATA_MAX] = 0;
        ASSERT_OK(create(&t, SOBJ_SECRET, "big", big, NULL));
        {
                _cleanup_json_ json_t *body = json_pack("{s:s, s:s}", "Name", "b64", "Data",
                                                        "not base64!"),
                                      *ans = NULL;
                ASSERT_ERR(secrets_create(t.c, SOBJ_SECRET, body, &ans, &e), EINVAL);
                ASSERT_TRUE(strstr(e->msg, "Data") != NULL);
                e = err_free(e);
        }

        ASSERT_OK(secrets_list(t.c, SOBJ_SECRET, NULL, &list, NULL));
        ASSERT_EQ(json_array_size(list), 3);
        ASSERT_STREQ(json_get_str(json_object_get(json_array_get(list, 0), "Spec"), "Name", ""),
                     "api.key");
        /* No value in any listing. */
        {
                _cleanup_free_ char *s = json_dump_str(list, false);
                ASSERT_NULL(strstr(s, "sealed"));
                ASSERT_NULL(strstr(s, "Data"));
        }
        f = json_pack("{s:[s]}", "name", "db_");
        json_decref(list);
        ASSERT_OK(secrets_list(t.c, SOBJ_SECRET, f, &list, NULL));
        ASSERT_EQ(json_array_size(list), 1);
        json_decref(f);
        f = json_pack("{s:[s]}", "label", "env=dev");
        json_decref(list);
        ASSERT_OK(secrets_list(t.c, SOBJ_SECRET, f, &list, NULL));
        ASSERT_EQ(json_array_size(list), 0);
        json_decref(f);
        f = json_pack("{s:[s]}", "bogus", "x");
        json_decref(list);
        list = NULL;
        ASSERT_ERR(secrets_list(t.c, SOBJ_SECRET, f, &list, &e), EINVAL);
        e = err_free(e);

        ASSERT_OK(secrets_inspect(t.c, SOBJ_SECRET, "db_password", &doc, NULL));
        ASSERT_EQ(strlen(json_get_str(doc, "ID", "")), 25);
        ASSERT_STREQ(
                json_get_str(json_object_get(json_object_get(doc, "Spec"), "Labels"), "env", ""),
                "prod");
        ASSERT_NULL(json_object_get(doc, "sealed"));
        {
                /* By an ID prefix too. */
                _cleanup_free_ char *pre = xstrndup(json_get_str(doc, "ID", ""), 12);
                _cleanup_json_ json_t *d2 = NULL;

                ASSERT_OK(secrets_inspect(t.c, SOBJ_SECRET, pre, &d2, NULL));
                ASSERT_STREQ(json_get_str(json_object_get(d2, "Spec"), "Name", ""), "db_password");
        }
        json_decref(doc);
        doc = NULL;
        ASSERT_ERR(secrets_inspect(t.c, SOBJ_SECRET, "nope", &doc, &e), ENOENT);
        e = err_free(e);

        /* Configs show their data (base64), like docker's. */
        ASSERT_OK(create(&t, SOBJ_CONFIG, "nginx.conf", "listen 80;", NULL));
        ASSERT_OK(secrets_inspect(t.c, SOBJ_CONFIG, "nginx.conf", &cfg, NULL));
        ASSERT_STREQ(json_get_str(json_object_get(cfg, "Spec"), "Data", ""), "bGlzdGVuIDgwOw==");

        ASSERT_OK(secrets_delete(t.c, SOBJ_SECRET, "api.key", NULL));
        ASSERT_ERR(secrets_delete(t.c, SOBJ_SECRET, "api.key", &e), ENOENT);
        e = err_free(e);

        /* The value is nowhere in the database file in plain text. */
        ASSERT_FALSE(file_has(t.db, VALUE));
        ASSERT_TRUE(file_has(t.db, "db_password"));
}

static json_t *stack_model(void) {
        return json_pack(
                "{s:s, s:{s:{s:s, s:b, s:s}, s:{s:s, s:n, s:s, s:b}}, s:{s:{s:s, s:s, s:i, "
                "s:s, s:{s:[{s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}]}}}}",
                "name", "shop", "secrets", "pw", "name", "db_password", "external", 1, "origin",
                "compose.yaml:12:3", "tok", "name", "shop_tok", "file", "content", "inline-" VALUE,
                "external", 0, "services", "web", "name", "web", "kind", "service", "replicas", 1,
                "hash", "a000000000000001", "pod", "containers", "name", "web", "image", "busybox",
                "mounts", "type", "secret", "source", "pw", "target", "/run/secrets/pw", "type",
                "secret", "source", "tok", "target", "/run/secrets/tok");
}

/* What controller.c's stack_parts() hands secrets_resolve_parts(), from the stored stack. */
static json_t *stored_parts(struct env *t) {
        struct store_kv kv = {};
        json_t *m = NULL;

        if (store_get(controller_store(t->c), "stacks/shop", &kv, NULL) < 0)
                return NULL;
        (void)json_parse(kv.value, strlen(kv.value), kv.key, &m, NULL);
        store_kv_done(&kv);
        if (m)
                secrets_resolve_parts(t->c, "shop", m);
        return m;
}

static json_t *up_body(json_t *m) {
        return json_pack("{s:o}", "model", m);
}

static void test_stack(void) {
        _cleanup_(env_done) struct env t = {};
        _cleanup_json_ json_t *res = NULL, *body = NULL, *a = NULL;
        struct err *e = NULL;
        const json_t *secs;
        _cleanup_free_ char *v1 = NULL, *v2 = NULL;
        size_t n;

        ASSERT_OK(env_init(&t));
        /* Missing external secret: refused before anything is stored, naming file:line. */
        body = up_body(stack_model());
        ASSERT_ERR(controller_up(t.c, "shop", body, NOW, &res, &e), EINVAL);
        ASSERT_TRUE(strstr(e->msg, "compose.yaml:12:3: secrets.pw: external secret "
                                   "'db_password' not found") != NULL);
        e = err_free(e);
        {
                struct store_kv kv = {};
                ASSERT_ERR(store_get(controller_store(t.c), "stacks/shop", &kv, NULL), ENOENT);
        }

        ASSERT_OK(create(&t, SOBJ_SECRET, "db_password", VALUE, NULL));
        ASSERT_OK(controller_up(t.c, "shop", body, NOW, &res, NULL));
        /* The inline value is stored sealed. */
        ASSERT_FALSE(file_has(t.db, "inline-" VALUE));
        ASSERT_FALSE(file_has(t.db, VALUE));

        /* The agents get both values. */
        a = stored_parts(&t);
        secs = json_object_get(a, "secrets");
        ASSERT_NOT_NULL(secs);
        ASSERT_OK(base64_decode(json_get_str(json_object_get(secs, "pw"), "content_base64", ""),
                                &v1, &n));
        ASSERT_STREQ(v1, VALUE);
        ASSERT_OK(base64_decode(json_get_str(json_object_get(secs, "tok"), "content_base64", ""),
                                &v2, &n));
        ASSERT_STREQ(v2, "inline-" VALUE);
        ASSERT_NULL(json_object_get(json_object_get(secs, "tok"), "content_sealed"));

        /* In use: refused, naming the stack and the service. */
        ASSERT_ERR(secrets_delete(t.c, SOBJ_SECRET, "db_password", &e), EBUSY);
        ASSERT_TRUE(strstr(e->msg, "stack 'shop' (service 'web')") != NULL);
        e = err_free(e);
        /* After down, it goes. */
        json_decref(res);
        res = NULL;
        ASSERT_OK(controller_down(t.c, "shop", 0, &res, NULL));
        ASSERT_OK(secrets_delete(t.c, SOBJ_SECRET, "db_password", NULL));
}

static void test_wrong_key(void) {
        _cleanup_(env_done) struct env t = {};
        _cleanup_json_ json_t *res = NULL, *body = NULL, *a = NULL;
        _cleanup_free_ char *key = NULL;
        const json_t *secs;

        ASSERT_OK(env_init(&t));
        ASSERT_OK(create(&t, SOBJ_SECRET, "db_password", VALUE, NULL));
        body = up_body(stack_model());
        ASSERT_OK(controller_up(t.c, "shop", body, NOW, &res, NULL));
        /* Another key file: the values do not open, and the agents get an error instead. */
        key = xasprintf("%s/other.key", t.dir);
        secrets_set_key_path(t.c, key);
        a = stored_parts(&t);
        secs = json_object_get(a, "secrets");
        ASSERT_NULL(json_object_get(json_object_get(secs, "pw"), "content_base64"));
        ASSERT_TRUE(strstr(json_get_str(json_object_get(secs, "pw"), "error", ""),
                           "does not open") != NULL);
        ASSERT_TRUE(strstr(json_get_str(json_object_get(secs, "tok"), "error", ""),
                           "does not open") != NULL);
}

TAP_MAIN(test_api, test_stack, test_wrong_key);
