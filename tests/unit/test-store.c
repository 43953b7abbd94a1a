/* SPDX-License-Identifier: Apache-2.0 */
/* The store, against both backends: every test body runs once on memory and once on SQLite. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cleanup.h"
#include "fileio.h"
#include "store.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static char *tmpdir;

static void tmpdir_cleanup(void) {
        if (tmpdir) {
                (void)rm_rf(tmpdir, NULL);
                free(tmpdir);
                tmpdir = NULL;
        }
}

static int open_backend(int which, size_t changelog_max, struct store **ret) {
        static unsigned seq;
        _cleanup_free_ char *path = NULL;

        if (which == 0)
                return store_open_mem(changelog_max, ret, NULL);
        if (!tmpdir) {
                char tmpl[] = "/tmp/berth-test-store.XXXXXX";
                if (!mkdtemp(tmpl))
                        return -errno;
                tmpdir = xstrdup(tmpl);
                atexit(tmpdir_cleanup);
        }
        path = xasprintf("%s/state-%u.db", tmpdir, seq++);
        return store_open_sqlite(path, changelog_max, ret, NULL);
}

static void test_put_get_list(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                struct store_kv kv = {};
                struct store_kv *kvs = NULL;
                size_t n = 0;
                uint64_t rev = 0;

                ASSERT_OK(open_backend(b, 0, &s));
                ASSERT_EQ(store_revision(s), 0);
                ASSERT_ERR(store_get(s, "stacks/shop", &kv, NULL), ENOENT);

                ASSERT_EQ(store_put(s, "stacks/shop", "{\"a\":1}", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(rev, 1);
                ASSERT_EQ(store_put(s, "services/shop/web", "{}", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(store_put(s, "services/shop/db", "{}", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(store_put(s, "services/shopx/db", "[]", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(store_put(s, "stacks/shop", "{\"a\":2}", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(rev, 5);
                ASSERT_EQ(store_revision(s), 5);

                ASSERT_OK(store_get(s, "stacks/shop", &kv, NULL));
                ASSERT_STREQ(kv.value, "{\"a\":2}");
                ASSERT_EQ(kv.create_rev, 1);
                ASSERT_EQ(kv.mod_rev, 5);
                ASSERT_EQ(kv.version, 2);
                store_kv_done(&kv);

                ASSERT_OK(store_list(s, "services/shop/", &kvs, &n, NULL));
                ASSERT_EQ(n, 2);
                ASSERT_STREQ(kvs[0].key, "services/shop/db");
                ASSERT_STREQ(kvs[1].key, "services/shop/web");
                store_kvs_free(kvs, n);

                ASSERT_OK(store_list(s, "", &kvs, &n, NULL));
                ASSERT_EQ(n, 4);
                store_kvs_free(kvs, n);
                ASSERT_OK(store_list(s, "nodes/", &kvs, &n, NULL));
                ASSERT_EQ(n, 0);
                store_kvs_free(kvs, n);
        }
}

static void test_bad_input(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL;

                ASSERT_OK(open_backend(b, 0, &s));
                ASSERT_ERR(store_put(s, "pods/x", "{bad", STORE_ANY_REV, NULL, &e1), EINVAL);
                ASSERT_TRUE(strstr(e1->msg, "pods/x") && strstr(e1->msg, "invalid JSON"));
                ASSERT_ERR(store_put(s, "a//b", "{}", STORE_ANY_REV, NULL, &e2), EINVAL);
                ASSERT_TRUE(strstr(e2->msg, "empty path component") != NULL);
                ASSERT_ERR(store_put(s, "a b", "{}", STORE_ANY_REV, NULL, &e3), EINVAL);
                ASSERT_ERR(store_put(s, "", "{}", STORE_ANY_REV, NULL, NULL), EINVAL);
                ASSERT_EQ(store_revision(s), 0);
        }
}

static void test_cas_and_delete(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_err_ struct err *e = NULL, *e2 = NULL;
                struct store_kv kv = {};
                uint64_t rev = 0;

                ASSERT_OK(open_backend(b, 0, &s));
                ASSERT_EQ(store_put(s, "nodes/n1", "{}", STORE_ABSENT, &rev, NULL), 1);
                ASSERT_ERR(store_put(s, "nodes/n1", "{}", STORE_ABSENT, NULL, &e), ECANCELED);
                ASSERT_TRUE(strstr(e->msg, "'nodes/n1' exists") != NULL);
                ASSERT_ERR(store_put(s, "nodes/n1", "{\"x\":1}", 7, NULL, &e2), ECANCELED);
                ASSERT_TRUE(strstr(e2->msg, "expected 7") != NULL);
                ASSERT_EQ(store_put(s, "nodes/n1", "{\"x\":1}", (int64_t)rev, &rev, NULL), 1);
                ASSERT_EQ(rev, 2);
                ASSERT_EQ(store_revision(s), 2);

                ASSERT_ERR(store_delete(s, "nodes/n1", 1, NULL, NULL), ECANCELED);
                ASSERT_EQ(store_delete(s, "nodes/n1", 2, &rev, NULL), 1);
                ASSERT_EQ(rev, 3);
                ASSERT_ERR(store_get(s, "nodes/n1", &kv, NULL), ENOENT);
                /* Idempotent delete: no revision bump. */
                ASSERT_EQ(store_delete(s, "nodes/n1", STORE_ANY_REV, &rev, NULL), 0);
                ASSERT_EQ(store_revision(s), 3);
                ASSERT_ERR(store_delete(s, "nodes/n1", 3, NULL, NULL), ECANCELED);
        }
}

static void test_txn(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_err_ struct err *e = NULL;
                struct store_kv *kvs = NULL;
                struct store_kv kv = {};
                size_t n = 0;
                uint64_t rev = 0;

                ASSERT_OK(open_backend(b, 0, &s));
                ASSERT_EQ(store_put(s, "pods/shop/web/1", "{\"n\":1}", STORE_ANY_REV, NULL, NULL),
                          1);

                struct store_op ok[] = {
                        {STORE_OP_PUT, "pods/shop/web/2", "{\"n\":2}", STORE_ABSENT},
                        {STORE_OP_PUT, "assignments/n1/shop.web.2", "{}", STORE_ANY_REV},
                        {STORE_OP_DELETE, "pods/shop/web/1", NULL, 1},
                };
                ASSERT_EQ(store_txn(s, ok, ELEMENTSOF(ok), &rev, NULL), 1);
                ASSERT_EQ(rev, 2);
                ASSERT_OK(store_get(s, "pods/shop/web/2", &kv, NULL));
                ASSERT_EQ(kv.mod_rev, 2);
                store_kv_done(&kv);

                /* The last condition fails: nothing of the first op may be applied. */
                struct store_op bad[] = {
                        {STORE_OP_PUT, "pods/shop/web/3", "{}", STORE_ANY_REV},
                        {STORE_OP_PUT, "pods/shop/web/2", "{}", 1},
                };
                ASSERT_ERR(store_txn(s, bad, ELEMENTSOF(bad), NULL, &e), ECANCELED);
                ASSERT_ERR(store_get(s, "pods/shop/web/3", &kv, NULL), ENOENT);
                ASSERT_EQ(store_revision(s), 2);

                struct store_op dup[] = {
                        {STORE_OP_PUT, "a", "{}", STORE_ANY_REV},
                        {STORE_OP_DELETE, "a", NULL, STORE_ANY_REV},
                };
                ASSERT_ERR(store_txn(s, dup, ELEMENTSOF(dup), NULL, NULL), EINVAL);

                ASSERT_OK(store_list(s, "pods/", &kvs, &n, NULL));
                ASSERT_EQ(n, 1);
                store_kvs_free(kvs, n);
        }
}

struct rec {
        char **lines;
        int stop_after; /* cancel the watch after this many events (0 = never) */
        int seen;
        struct store *s;
        bool write_back;
};

static int rec_cb(const struct store_event *ev, void *ud) {
        struct rec *r = ud;

        strv_push_take(&r->lines, xasprintf("%llu %s %s", (unsigned long long)ev->rev,
                                            ev->type == STORE_EVENT_PUT ? "put" : "del", ev->key));
        r->seen++;
        if (r->write_back && streq(ev->key, "pods/a"))
                (void)store_put(r->s, "pods/b", "{}", STORE_ANY_REV, NULL, NULL);
        if (r->stop_after && r->seen >= r->stop_after)
                return -1;
        return 0;
}

static void test_watch_catch_up(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_strv_ char **l1 = NULL, **l2 = NULL;
                struct rec r1 = {}, r2 = {.stop_after = 2};
                _cleanup_free_ char *j1 = NULL, *j2 = NULL;
                uint64_t id = 0;

                ASSERT_OK(open_backend(b, 0, &s));
                ASSERT_EQ(store_put(s, "pods/a", "{}", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_put(s, "nodes/n1", "{}", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_put(s, "pods/b", "{}", STORE_ANY_REV, NULL, NULL), 1);

                /* From revision 1: catches up with rev 3 only (rev 2 is outside the prefix). */
                ASSERT_OK(store_watch(s, "pods/", 1, rec_cb, &r1, &id, NULL));
                ASSERT_OK(store_watch(s, "", 0, rec_cb, &r2, NULL, NULL));
                ASSERT_EQ(store_delete(s, "pods/a", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_put(s, "nodes/n2", "{}", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_unwatch(s, id), 1);
                ASSERT_EQ(store_unwatch(s, id), 0);
                ASSERT_EQ(store_put(s, "pods/c", "{}", STORE_ANY_REV, NULL, NULL), 1);

                l1 = TAKE_PTR(r1.lines);
                l2 = TAKE_PTR(r2.lines);
                j1 = strv_join(l1, ",");
                j2 = strv_join(l2, ",");
                ASSERT_STREQ(j1, "3 put pods/b,4 del pods/a");
                ASSERT_STREQ(j2, "1 put pods/a,2 put nodes/n1");
        }
}

static void test_watch_write_from_callback(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_strv_ char **l1 = NULL, **l2 = NULL;
                _cleanup_free_ char *j1 = NULL, *j2 = NULL;
                struct rec r1 = {.write_back = true}, r2 = {};

                ASSERT_OK(open_backend(b, 0, &s));
                r1.s = s;
                ASSERT_OK(store_watch(s, "pods/", 0, rec_cb, &r1, NULL, NULL));
                ASSERT_OK(store_watch(s, "pods/", 0, rec_cb, &r2, NULL, NULL));
                ASSERT_EQ(store_put(s, "pods/a", "{}", STORE_ANY_REV, NULL, NULL), 1);
                l1 = TAKE_PTR(r1.lines);
                l2 = TAKE_PTR(r2.lines);
                j1 = strv_join(l1, ",");
                j2 = strv_join(l2, ",");
                /* Both watchers see both revisions, in order, although r1 wrote rev 2 while
                 * rev 1 was being delivered. */
                ASSERT_STREQ(j1, "1 put pods/a,2 put pods/b");
                ASSERT_STREQ(j2, "1 put pods/a,2 put pods/b");
        }
}

struct nested {
        struct store *s;
        struct rec inner;
        bool registered;
};

static int nested_cb(const struct store_event *ev, void *ud) {
        struct nested *n = ud;

        /* On the first event, write once more and register a second watch from revision 0:
         * it must see each revision exactly once although rev 2 is still queued. */
        if (!n->registered) {
                n->registered = true;
                (void)store_put(n->s, "x/2", "2", STORE_ANY_REV, NULL, NULL);
                (void)store_watch(n->s, "x/", 0, rec_cb, &n->inner, NULL, NULL);
        }
        (void)ev;
        return 0;
}

static void test_watch_registered_from_callback(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_strv_ char **l = NULL;
                _cleanup_free_ char *j = NULL;
                struct nested n = {};

                ASSERT_OK(open_backend(b, 0, &s));
                n.s = s;
                ASSERT_OK(store_watch(s, "x/", 0, nested_cb, &n, NULL, NULL));
                ASSERT_EQ(store_put(s, "x/1", "1", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_put(s, "x/3", "3", STORE_ANY_REV, NULL, NULL), 1);
                l = TAKE_PTR(n.inner.lines);
                j = strv_join(l, ",");
                ASSERT_STREQ(j, "1 put x/1,2 put x/2,3 put x/3");
        }
}

static void test_compaction(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_err_ struct err *e = NULL;
                _cleanup_strv_ char **l = NULL;
                _cleanup_free_ char *j = NULL;
                struct rec r = {};

                ASSERT_OK(open_backend(b, 3, &s));
                for (int i = 0; i < 5; i++) {
                        _cleanup_free_ char *k = xasprintf("pods/p%d", i);
                        ASSERT_EQ(store_put(s, k, "{}", STORE_ANY_REV, NULL, NULL), 1);
                }
                /* Changelog keeps revs 3..5: compacted up to 2. */
                ASSERT_EQ(store_compact_revision(s), 2);
                ASSERT_ERR(store_watch(s, "", 1, rec_cb, &r, NULL, &e), ESTALE);
                ASSERT_TRUE(strstr(e->msg, "compacted") != NULL);
                ASSERT_NULL(r.lines);
                ASSERT_OK(store_watch(s, "", 2, rec_cb, &r, NULL, NULL));
                l = TAKE_PTR(r.lines);
                j = strv_join(l, ",");
                ASSERT_STREQ(j, "3 put pods/p2,4 put pods/p3,5 put pods/p4");
        }
}

/* Deterministic pseudo-random numbers (no libc state, same sequence everywhere). */
static uint32_t lcg(uint64_t *st) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        return (uint32_t)(*st >> 33);
}

static int digest_cb(const struct store_event *ev, void *ud) {
        strv_push_take((char ***)ud, xasprintf("%llu%c%s=%s", (unsigned long long)ev->rev,
                                               ev->type == STORE_EVENT_PUT ? '+' : '-', ev->key,
                                               ev->value ? ev->value : ""));
        return 0;
}

/* The same random sequence of puts, CAS puts, deletes and transactions on both backends must
 * give the same results, revisions, errors, contents and watch streams. */
static void test_backends_agree(void) {
        _cleanup_(store_freep) struct store *m = NULL, *q = NULL;
        _cleanup_strv_ char **em = NULL, **eq = NULL;
        _cleanup_free_ char *jm = NULL, *jq = NULL;
        unsigned outcomes[4] = {};
        uint64_t seed = 42;

        ASSERT_OK(open_backend(0, 64, &m));
        ASSERT_OK(open_backend(1, 64, &q));
        ASSERT_OK(store_watch(m, "k/", 0, digest_cb, &em, NULL, NULL));
        ASSERT_OK(store_watch(q, "k/", 0, digest_cb, &eq, NULL, NULL));
        for (int i = 0; i < 600; i++) {
                char keys[4][16], vals[4][24];
                struct store_op ops[4];
                unsigned n = 1 + lcg(&seed) % 4;
                int rm, rq;

                for (unsigned k = 0; k < n; k++) {
                        unsigned pick = lcg(&seed) % 100;
                        struct store_kv kv = {};
                        int64_t expect = STORE_ANY_REV;

                        /* Distinct keys within one transaction: k/<k>/<x>. */
                        snprintf(keys[k], sizeof(keys[k]), "%s/%u/%u", pick < 90 ? "k" : "z", k,
                                 lcg(&seed) % 6);
                        snprintf(vals[k], sizeof(vals[k]), "{\"i\":%d}", i);
                        if (pick % 3 == 0) {
                                /* CAS: right revision half of the time, else a wrong one. */
                                if (store_get(m, keys[k], &kv, NULL) >= 0) {
                                        expect = (int64_t)kv.mod_rev - (lcg(&seed) % 2);
                                        store_kv_done(&kv);
                                } else
                                        expect = lcg(&seed) % 2 ? STORE_ABSENT : 3;
                        }
                        ops[k] = (struct store_op){
                                .type = pick % 4 == 1 ? STORE_OP_DELETE : STORE_OP_PUT,
                                .key = keys[k],
                                .value = vals[k],
                                .expect_mod_rev = expect,
                        };
                }
                rm = store_txn(m, ops, n, NULL, NULL);
                rq = store_txn(q, ops, n, NULL, NULL);
                ASSERT_EQ(rm, rq);
                outcomes[rm == -ECANCELED ? 0 : rm == 0 ? 1 : rm == 1 ? 2 : 3]++;
                ASSERT_EQ(store_revision(m), store_revision(q));
                ASSERT_EQ(store_compact_revision(m), store_compact_revision(q));
        }
        /* Every kind of outcome happened: conflicts, no-ops, commits; nothing else. */
        ASSERT_TRUE(outcomes[0] > 20);
        ASSERT_TRUE(outcomes[1] > 5);
        ASSERT_TRUE(outcomes[2] > 100);
        ASSERT_EQ(outcomes[3], 0);
        ASSERT_TRUE(store_revision(m) > 100);
        ASSERT_TRUE(store_compact_revision(m) > 0);
        {
                struct store_kv *a = NULL, *b = NULL;
                size_t na = 0, nb = 0;
                bool same;

                ASSERT_OK(store_list(m, "", &a, &na, NULL));
                ASSERT_OK(store_list(q, "", &b, &nb, NULL));
                same = na == nb;
                for (size_t i = 0; same && i < na; i++)
                        same = streq(a[i].key, b[i].key) && streq(a[i].value, b[i].value) &&
                               a[i].mod_rev == b[i].mod_rev && a[i].create_rev == b[i].create_rev &&
                               a[i].version == b[i].version;
                store_kvs_free(a, na);
                store_kvs_free(b, nb);
                ASSERT_TRUE(same);
        }
        jm = strv_join(em, "\n");
        jq = strv_join(eq, "\n");
        ASSERT_TRUE(strv_length(em) > 100);
        ASSERT_STREQ(jm, jq);
        /* And a late watcher catching up from the changelog sees the tail of the same stream. */
        {
                _cleanup_strv_ char **lm = NULL, **lq = NULL;
                _cleanup_free_ char *sm = NULL, *sq = NULL;
                uint64_t from = store_compact_revision(m);

                ASSERT_OK(store_watch(m, "k/", from, digest_cb, &lm, NULL, NULL));
                ASSERT_OK(store_watch(q, "k/", from, digest_cb, &lq, NULL, NULL));
                sm = strv_join(lm, "\n");
                sq = strv_join(lq, "\n");
                ASSERT_STREQ(sm, sq);
                ASSERT_TRUE(str_endswith(jm, sm));
        }
}

static int count_cb(const struct store_event *ev, void *ud) {
        (void)ev;
        (*(int *)ud)++;
        return 0;
}

static void notify_cb(uint64_t rev, void *ud) {
        *(uint64_t *)ud = rev;
}

static void test_notify(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        uint64_t last = 0;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        store_set_notify(s, notify_cb, &last);
        ASSERT_EQ(store_put(s, "a", "1", STORE_ANY_REV, NULL, NULL), 1);
        ASSERT_EQ(store_put(s, "b", "2", STORE_ANY_REV, NULL, NULL), 1);
        ASSERT_EQ(last, 2);
        ASSERT_EQ(store_delete(s, "zz", STORE_ANY_REV, NULL, NULL), 0);
        ASSERT_EQ(last, 2);
}

static void test_sqlite_persistence(void) {
        _cleanup_free_ char *root = NULL, *db = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct store_kv kv = {};
        int count = 0;
        char tmpl[] = "/tmp/berth-test-store-root.XXXXXX";

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        root = xstrdup(tmpl);
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_OK(store_open_root(root, &s, NULL));
                ASSERT_EQ(store_put(s, "stacks/a", "{\"v\":1}", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_put(s, "stacks/b", "{\"v\":2}", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_delete(s, "stacks/a", STORE_ANY_REV, NULL, NULL), 1);
        }
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_OK(store_open_root(root, &s, NULL));
                ASSERT_EQ(store_revision(s), 3);
                ASSERT_ERR(store_get(s, "stacks/a", &kv, NULL), ENOENT);
                ASSERT_OK(store_get(s, "stacks/b", &kv, NULL));
                ASSERT_STREQ(kv.value, "{\"v\":2}");
                ASSERT_EQ(kv.mod_rev, 2);
                store_kv_done(&kv);
                /* The changelog survives too: a watcher can catch up across a restart. */
                ASSERT_OK(store_watch(s, "stacks/", 1, count_cb, &count, NULL, NULL));
                ASSERT_EQ(count, 2);
                ASSERT_EQ(store_put(s, "stacks/c", "{}", STORE_ANY_REV, NULL, NULL), 1);
                ASSERT_EQ(store_revision(s), 4);
                ASSERT_EQ(count, 3);
        }
        /* Garbage in place of the database is a clear error. */
        db = xasprintf("%s/controller/state.db", root);
        ASSERT_OK(write_file_atomic(db, "not a database, not at all, no", 30, 0600, NULL));
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_TRUE(store_open_root(root, &s, &e) < 0);
                ASSERT_NULL(s);
                ASSERT_TRUE(strstr(e->msg, "state.db") != NULL);
        }
        ASSERT_OK(rm_rf(root, NULL));
}

static void test_sqlite_two_handles_and_schema(void) {
        _cleanup_free_ char *path = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct store_kv kv = {};
        sqlite3 *db = NULL;
        char tmpl[] = "/tmp/berth-test-store-2h.XXXXXX";

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        path = xasprintf("%s/state.db", tmpl);
        {
                _cleanup_(store_freep) struct store *a = NULL, *b = NULL;
                uint64_t rev = 0;

                ASSERT_OK(store_open_sqlite(path, 0, &a, NULL));
                ASSERT_OK(store_open_sqlite(path, 0, &b, NULL));
                ASSERT_EQ(store_put(a, "k1", "1", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(rev, 1);
                /* b has not seen rev 1 yet, but its commit is still numbered after it. */
                ASSERT_EQ(store_put(b, "k2", "2", STORE_ANY_REV, &rev, NULL), 1);
                ASSERT_EQ(rev, 2);
                ASSERT_EQ(store_put(a, "k1", "3", 1, &rev, NULL), 1);
                ASSERT_EQ(rev, 3);
                ASSERT_OK(store_get(b, "k1", &kv, NULL));
                ASSERT_STREQ(kv.value, "3");
                store_kv_done(&kv);
                /* an idle daemon's trim: the cache goes, the data stays */
                {
                        sqlite3_int64 before = sqlite3_memory_used();
                        store_release_memory(a);
                        store_release_memory(b);
                        ASSERT_TRUE(sqlite3_memory_used() < before);
                }
                ASSERT_OK(store_get(a, "k2", &kv, NULL));
                ASSERT_STREQ(kv.value, "2");
                store_kv_done(&kv);
        }
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET v = 7 WHERE k = 'schema_version'", NULL, NULL,
                               NULL),
                  SQLITE_OK);
        sqlite3_close(db);
        {
                _cleanup_(store_freep) struct store *s = NULL;
                ASSERT_ERR(store_open_sqlite(path, 0, &s, &e), EPROTO);
                ASSERT_TRUE(strstr(e->msg, "schema version 7") != NULL);
        }
        ASSERT_OK(rm_rf(tmpl, NULL));
}

TAP_MAIN(test_put_get_list, test_bad_input, test_cas_and_delete, test_txn, test_watch_catch_up,
         test_watch_write_from_callback, test_watch_registered_from_callback, test_compaction,
         test_notify, test_sqlite_persistence, test_sqlite_two_handles_and_schema,
         test_backends_agree);
