/* SPDX-License-Identifier: Apache-2.0 */
/* Store batches (store_batch_begin/end): many transactions, one commit. Each transaction keeps
 * its revision, atomicity and watch events; a failed one inside a batch undoes only itself;
 * batches nest; on SQLite a new connection sees all of it once the batch ended. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "store.h"
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

static char *db_path(void) {
        static unsigned seq;

        if (!tmpdir) {
                char tmpl[] = "/tmp/berth-test-batch.XXXXXX";
                if (!mkdtemp(tmpl))
                        return NULL;
                tmpdir = xstrdup(tmpl);
                atexit(tmpdir_cleanup);
        }
        return xasprintf("%s/state-%u.db", tmpdir, seq++);
}

static int count_events(const struct store_event *ev, void *ud) {
        (void)ev;
        (*(unsigned *)ud)++;
        return 0;
}

static void test_batch(void) {
        for (int b = 0; b < 2; b++) {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_free_ char *path = b ? db_path() : NULL;
                _cleanup_err_ struct err *e = NULL;
                struct store_kv kv = {};
                unsigned events = 0;
                uint64_t rev = 0;

                ASSERT_OK(b ? store_open_sqlite(path, 0, &s, NULL) : store_open_mem(0, &s, NULL));
                ASSERT_OK(store_watch(s, "a/", 0, count_events, &events, NULL, NULL));
                ASSERT_OK(store_batch_begin(s, NULL));
                ASSERT_EQ(store_put(s, "a/1", "{}", STORE_ABSENT, &rev, NULL), 1);
                ASSERT_EQ(rev, 1u);
                ASSERT_OK(store_batch_begin(s, NULL)); /* nested */
                ASSERT_EQ(store_put(s, "a/2", "{}", STORE_ABSENT, &rev, NULL), 1);
                ASSERT_EQ(rev, 2u);
                ASSERT_OK(store_batch_end(s, NULL));
                /* A failed transaction inside the batch undoes only itself. */
                struct store_op ops[2] = {{STORE_OP_PUT, "a/3", "{}", STORE_ABSENT},
                                          {STORE_OP_PUT, "a/1", "{}", STORE_ABSENT}};
                ASSERT_ERR(store_txn(s, ops, 2, NULL, &e), ECANCELED);
                ASSERT_ERR(store_get(s, "a/3", &kv, NULL), ENOENT);
                ASSERT_EQ(store_put(s, "a/4", "{}", STORE_ABSENT, &rev, NULL), 1);
                ASSERT_EQ(rev, 3u);
                ASSERT_EQ(events, 3u);
                ASSERT_OK(store_batch_end(s, NULL));
                ASSERT_EQ(store_revision(s), 3u);
                ASSERT_OK(store_get(s, "a/2", &kv, NULL));
                store_kv_done(&kv);
                if (b) {
                        _cleanup_(store_freep) struct store *other = NULL;
                        ASSERT_OK(store_open_sqlite(path, 0, &other, NULL));
                        ASSERT_EQ(store_revision(other), 3u);
                        ASSERT_OK(store_get(other, "a/4", &kv, NULL));
                        store_kv_done(&kv);
                }
        }
}

static void test_batch_end_unbalanced(void) {
        _cleanup_(store_freep) struct store *s = NULL;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_ERR(store_batch_end(s, &e), EINVAL);
}

TAP_MAIN(test_batch, test_batch_end_unbalanced)
