/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite store backend: WAL journal, synchronous=NORMAL (a crash may lose the last commits but
 * never corrupts), a busy timeout, a versioned schema and cached prepared statements. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cleanup.h"
#include "store-backend.h"
#include "strv.h"
#include "xalloc.h"

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 5000

enum stmt_id {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,
        STMT_GET,
        STMT_LIST_ALL,
        STMT_LIST_RANGE,
        STMT_MODREV,
        STMT_INSERT,
        STMT_UPDATE,
        STMT_DELETE,
        STMT_LOG,
        STMT_TRIM,
        STMT_LOG_COUNT,
        STMT_LOG_NTH,
        STMT_CHANGES,
        STMT_META_SET,
        STMT_META_GET,
        _STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT txn",
        [STMT_RELEASE] = "RELEASE txn",
        [STMT_ROLLBACK_TO] = "ROLLBACK TO txn",
        [STMT_GET] = "SELECT key, value, create_rev, mod_rev, version FROM kv WHERE key = ?1",
        [STMT_LIST_ALL] = "SELECT key, value, create_rev, mod_rev, version FROM kv ORDER BY key",
        [STMT_LIST_RANGE] = "SELECT key, value, create_rev, mod_rev, version FROM kv "
                            "WHERE key >= ?1 AND key < ?2 ORDER BY key",
        [STMT_MODREV] = "SELECT mod_rev FROM kv WHERE key = ?1",
        [STMT_INSERT] = "INSERT INTO kv(key, value, create_rev, mod_rev, version) "
                        "VALUES (?1, ?2, ?3, ?3, 1)",
        [STMT_UPDATE] = "UPDATE kv SET value = ?2, mod_rev = ?3, version = version + 1 "
                        "WHERE key = ?1",
        [STMT_DELETE] = "DELETE FROM kv WHERE key = ?1",
        [STMT_LOG] = "INSERT INTO changelog(rev, type, key, value) VALUES (?1, ?2, ?3, ?4)",
        [STMT_TRIM] = "DELETE FROM changelog WHERE seq <= ?1",
        [STMT_LOG_COUNT] = "SELECT COUNT(*) FROM changelog",
        [STMT_LOG_NTH] = "SELECT seq, rev FROM changelog ORDER BY seq LIMIT 1 OFFSET ?1",
        [STMT_CHANGES] = "SELECT rev, type, key, value FROM changelog WHERE rev > ?1 "
                         "ORDER BY seq",
        [STMT_META_GET] = "SELECT v FROM meta WHERE k = ?1",
        [STMT_META_SET] = "INSERT INTO meta(k, v) VALUES (?1, ?2) "
                          "ON CONFLICT(k) DO UPDATE SET v = excluded.v",
};

struct sq {
        sqlite3 *db;
        char *path;
        sqlite3_stmt *stmts[_STMT_MAX];
        uint64_t rev, compact_rev;
        bool in_batch; /* inside store_batch_begin(): transactions are savepoints */
};

static struct sq *sq_of(struct store *s) {
        return s->backend;
}

static int sq_err(struct sq *q, struct err **errp, const char *what) {
        int code = sqlite3_errcode(q->db);
        int e = code == SQLITE_BUSY || code == SQLITE_LOCKED      ? EBUSY
                : code == SQLITE_FULL                             ? ENOSPC
                : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? EUCLEAN
                                                                  : EIO;
        return err_setx(errp, e, "store '%s': %s: %s", q->path, what, sqlite3_errmsg(q->db));
}

/* Returns the cached statement, reset and with its bindings cleared. */
static int stmt(struct sq *q, enum stmt_id id, sqlite3_stmt **ret, struct err **errp) {
        if (!q->stmts[id] && sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                                &q->stmts[id], NULL) != SQLITE_OK)
                return sq_err(q, errp, "prepare statement");
        sqlite3_reset(q->stmts[id]);
        sqlite3_clear_bindings(q->stmts[id]);
        *ret = q->stmts[id];
        return 0;
}

/* Runs a statement that returns no rows. */
static int step_done(struct sq *q, sqlite3_stmt *st, struct err **errp, const char *what) {
        int rc = sqlite3_step(st);

        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return sq_err(q, errp, what);
        return 0;
}

static int exec_simple(struct sq *q, enum stmt_id id, struct err **errp) {
        sqlite3_stmt *st;
        int r = stmt(q, id, &st, errp);

        if (r < 0)
                return r;
        return step_done(q, st, errp, stmt_sql[id]);
}

static void row_to_kv(sqlite3_stmt *st, struct store_kv *kv) {
        kv->key = xstrdup((const char *)sqlite3_column_text(st, 0));
        kv->value = xstrdup((const char *)sqlite3_column_text(st, 1));
        kv->create_rev = (uint64_t)sqlite3_column_int64(st, 2);
        kv->mod_rev = (uint64_t)sqlite3_column_int64(st, 3);
        kv->version = (uint64_t)sqlite3_column_int64(st, 4);
}

static int sq_get(struct store *s, const char *key, struct store_kv *ret, struct err **errp) {
        struct sq *q = sq_of(s);
        sqlite3_stmt *st;
        int r, rc;

        r = stmt(q, STMT_GET, &st, errp);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                sqlite3_reset(st);
                return err_setx(errp, ENOENT, "store key '%s' not found", key);
        }
        if (rc != SQLITE_ROW) {
                r = sq_err(q, errp, "get");
                sqlite3_reset(st);
                return r;
        }
        row_to_kv(st, ret);
        sqlite3_reset(st);
        return 0;
}

static int sq_list(struct store *s, const char *prefix, struct store_kv **ret, size_t *ret_n,
                   struct err **errp) {
        struct sq *q = sq_of(s);
        _cleanup_free_ char *upper = NULL;
        struct store_kv *out = NULL;
        size_t n = 0, alloc = 0;
        sqlite3_stmt *st;
        int r, rc;

        if (*prefix) {
                /* Keys are printable ASCII, so prefix with its last byte incremented is a tight
                 * exclusive upper bound that keeps the query on the primary key index. */
                upper = xstrdup(prefix);
                upper[strlen(upper) - 1]++;
                r = stmt(q, STMT_LIST_RANGE, &st, errp);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, upper, -1, SQLITE_STATIC);
        } else {
                r = stmt(q, STMT_LIST_ALL, &st, errp);
                if (r < 0)
                        return r;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                XGROW(out, alloc, n + 1);
                row_to_kv(st, &out[n++]);
        }
        if (rc != SQLITE_DONE) {
                r = sq_err(q, errp, "list");
                sqlite3_reset(st);
                store_kvs_free(out, n);
                return r;
        }
        sqlite3_reset(st);
        *ret = out;
        *ret_n = n;
        return 0;
}

static int meta_set(struct sq *q, const char *k, uint64_t v, struct err **errp) {
        sqlite3_stmt *st;
        int r = stmt(q, STMT_META_SET, &st, errp);

        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
        return step_done(q, st, errp, "set meta");
}

/* Mod revision of key, 0 when absent. */
static int mod_rev(struct sq *q, const char *key, uint64_t *ret, struct err **errp) {
        sqlite3_stmt *st;
        int r, rc;

        r = stmt(q, STMT_MODREV, &st, errp);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = (uint64_t)sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
                *ret = 0;
        else
                r = sq_err(q, errp, "read mod revision");
        sqlite3_reset(st);
        return r;
}

/* Drops the oldest changelog rows beyond changelog_max; records the compacted revision. */
static int trim(struct store *s, struct sq *q, uint64_t *compact_rev, struct err **errp) {
        sqlite3_stmt *st;
        int64_t count;
        int r, rc;

        r = stmt(q, STMT_LOG_COUNT, &st, errp);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                r = sq_err(q, errp, "count changelog");
                sqlite3_reset(st);
                return r;
        }
        count = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if ((uint64_t)count <= s->changelog_max)
                return 0;

        /* The last row to drop is the (excess)th oldest; the compacted revision is its revision
         * (any part of it gone means that whole revision can no longer be replayed). */
        int64_t cut;
        r = stmt(q, STMT_LOG_NTH, &st, errp);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, count - (int64_t)s->changelog_max - 1);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                r = sq_err(q, errp, "find compaction point");
                sqlite3_reset(st);
                return r;
        }
        cut = sqlite3_column_int64(st, 0);
        *compact_rev = (uint64_t)sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
        r = stmt(q, STMT_TRIM, &st, errp);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, cut);
        r = step_done(q, st, errp, "trim changelog");
        if (r < 0)
                return r;
        return meta_set(q, "compact_rev", *compact_rev, errp);
}

static int apply_ops(struct store *s, struct sq *q, const struct store_op *ops, size_t n_ops,
                     uint64_t rev, struct store_event *evs, size_t *n_evs, struct err **errp) {
        sqlite3_stmt *st;
        int r;

        for (size_t i = 0; i < n_ops; i++) {
                uint64_t actual;

                r = mod_rev(q, ops[i].key, &actual, errp);
                if (r < 0)
                        return r;
                if (ops[i].expect_mod_rev != STORE_ANY_REV &&
                    (uint64_t)ops[i].expect_mod_rev != actual)
                        return store_err_conflict(errp, ops[i].key, ops[i].expect_mod_rev, actual);
        }

        for (size_t i = 0; i < n_ops; i++) {
                uint64_t actual;
                bool put = ops[i].type == STORE_OP_PUT;

                r = mod_rev(q, ops[i].key, &actual, errp);
                if (r < 0)
                        return r;
                if (!put && actual == 0)
                        continue;
                r = stmt(q, put ? (actual ? STMT_UPDATE : STMT_INSERT) : STMT_DELETE, &st, errp);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, ops[i].key, -1, SQLITE_STATIC);
                if (put) {
                        sqlite3_bind_text(st, 2, ops[i].value, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(st, 3, (sqlite3_int64)rev);
                }
                r = step_done(q, st, errp, put ? "put" : "delete");
                if (r < 0)
                        return r;

                r = stmt(q, STMT_LOG, &st, errp);
                if (r < 0)
                        return r;
                sqlite3_bind_int64(st, 1, (sqlite3_int64)rev);
                sqlite3_bind_int(st, 2, put ? STORE_EVENT_PUT : STORE_EVENT_DELETE);
                sqlite3_bind_text(st, 3, ops[i].key, -1, SQLITE_STATIC);
                if (put)
                        sqlite3_bind_text(st, 4, ops[i].value, -1, SQLITE_STATIC);
                r = step_done(q, st, errp, "append changelog");
                if (r < 0)
                        return r;

                evs[(*n_evs)++] = (struct store_event){
                        .rev = rev,
                        .type = put ? STORE_EVENT_PUT : STORE_EVENT_DELETE,
                        .key = xstrdup(ops[i].key),
                        .value = put ? xstrdup(ops[i].value) : NULL,
                };
        }
        (void)s;
        return 0;
}

static int meta_get(struct sq *q, const char *k, int64_t *ret, struct err **errp) {
        sqlite3_stmt *st;
        int r, rc;

        r = stmt(q, STMT_META_GET, &st, errp);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
                r = err_setx(errp, EUCLEAN, "store '%s': meta key '%s' missing", q->path, k);
        else
                r = sq_err(q, errp, "read meta");
        sqlite3_reset(st);
        return r;
}

/* Re-reads the revisions: another handle on the same file may have committed since. */
static int refresh(struct sq *q, struct err **errp) {
        int64_t rev = 0, compact = 0;
        int r;

        r = meta_get(q, "revision", &rev, errp);
        if (r >= 0)
                r = meta_get(q, "compact_rev", &compact, errp);
        if (r < 0)
                return r;
        if (rev < 0 || compact < 0 || compact > rev)
                return err_setx(errp, EUCLEAN, "store '%s': bad revisions %lld/%lld", q->path,
                                (long long)rev, (long long)compact);
        q->rev = (uint64_t)rev;
        q->compact_rev = (uint64_t)compact;
        return 0;
}

/* A batch is one SQLite transaction around many store transactions (each a savepoint in it):
 * a reconcile pass that writes 10 000 assignments commits once, not 10 000 times. */
static int sq_batch(struct store *s, bool begin, struct err **errp) {
        struct sq *q = sq_of(s);
        int r;

        if (begin) {
                r = exec_simple(q, STMT_BEGIN, errp);
                if (r >= 0)
                        q->in_batch = true;
                return r;
        }
        q->in_batch = false;
        r = exec_simple(q, STMT_COMMIT, errp);
        if (r < 0) {
                /* What the batch's transactions reported is lost: re-read the revisions. */
                (void)exec_simple(q, STMT_ROLLBACK, NULL);
                (void)refresh(q, NULL);
        }
        return r;
}

static int sq_txn(struct store *s, const struct store_op *ops, size_t n_ops, uint64_t *ret_rev,
                  struct store_event **ret_events, size_t *ret_n_events, struct err **errp) {
        struct sq *q = sq_of(s);
        struct store_event *evs = xnew0(struct store_event, n_ops);
        size_t n_evs = 0;
        uint64_t rev, compact_rev;
        int r;

        r = exec_simple(q, q->in_batch ? STMT_SAVEPOINT : STMT_BEGIN, errp);
        if (r < 0) {
                free(evs);
                return r;
        }
        /* Under the write lock now: the revisions read here are the latest. */
        r = refresh(q, errp);
        rev = q->rev + 1;
        compact_rev = q->compact_rev;
        if (r >= 0)
                r = apply_ops(s, q, ops, n_ops, rev, evs, &n_evs, errp);
        if (r >= 0 && n_evs > 0) {
                r = meta_set(q, "revision", rev, errp);
                if (r >= 0)
                        r = trim(s, q, &compact_rev, errp);
        }
        if (r >= 0)
                r = exec_simple(q, q->in_batch ? STMT_RELEASE : STMT_COMMIT, errp);
        if (r < 0) {
                if (q->in_batch) {
                        (void)exec_simple(q, STMT_ROLLBACK_TO, NULL);
                        (void)exec_simple(q, STMT_RELEASE, NULL);
                } else
                        (void)exec_simple(q, STMT_ROLLBACK, NULL);
                store_events_free(evs, n_evs);
                return r;
        }

        if (n_evs == 0) {
                free(evs);
                *ret_rev = q->rev;
                *ret_events = NULL;
                *ret_n_events = 0;
                return 0;
        }
        q->rev = rev;
        q->compact_rev = compact_rev;
        *ret_rev = rev;
        *ret_events = evs;
        *ret_n_events = n_evs;
        return 1;
}

static int sq_changes(struct store *s, const char *prefix, uint64_t from_rev,
                      struct store_event **ret, size_t *ret_n, struct err **errp) {
        struct sq *q = sq_of(s);
        struct store_event *out = NULL;
        size_t n = 0, alloc = 0;
        sqlite3_stmt *st;
        int r, rc;

        if (from_rev < q->compact_rev)
                return store_err_compacted(errp, from_rev, q->compact_rev);
        r = stmt(q, STMT_CHANGES, &st, errp);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)from_rev);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *key = (const char *)sqlite3_column_text(st, 2);
                const char *value = (const char *)sqlite3_column_text(st, 3);

                if (!str_startswith(key, prefix))
                        continue;
                XGROW(out, alloc, n + 1);
                out[n++] = (struct store_event){
                        .rev = (uint64_t)sqlite3_column_int64(st, 0),
                        .type = sqlite3_column_int(st, 1) == STORE_EVENT_DELETE ? STORE_EVENT_DELETE
                                                                                : STORE_EVENT_PUT,
                        .key = xstrdup(key),
                        .value = value ? xstrdup(value) : NULL,
                };
        }
        if (rc != SQLITE_DONE) {
                r = sq_err(q, errp, "read changelog");
                sqlite3_reset(st);
                store_events_free(out, n);
                return r;
        }
        sqlite3_reset(st);
        *ret = out;
        *ret_n = n;
        return 0;
}

static uint64_t sq_revision(struct store *s) {
        return sq_of(s)->rev;
}

static uint64_t sq_compact_revision(struct store *s) {
        return sq_of(s)->compact_rev;
}

static void sq_close(struct store *s) {
        struct sq *q = sq_of(s);

        if (!q)
                return;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(q->stmts[i]);
        sqlite3_close(q->db);
        free(q->path);
        free(q);
        s->backend = NULL;
}

/* The page cache grows up to cache_size (2 000 KiB) with the store's writes and stays: an
 * idle daemon gives it back (sqlite3_db_release_memory works without
 * SQLITE_ENABLE_MEMORY_MANAGEMENT). */
static void sq_release_memory(struct store *s) {
        struct sq *q = s->backend;

        (void)sqlite3_db_release_memory(q->db);
}

const struct store_ops store_sqlite_ops = {
        .name = "sqlite",
        .get = sq_get,
        .list = sq_list,
        .txn = sq_txn,
        .batch = sq_batch,
        .changes = sq_changes,
        .revision = sq_revision,
        .compact_revision = sq_compact_revision,
        .close = sq_close,
        .release_memory = sq_release_memory,
};

static const char schema_sql[] =
        "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL,"
        " create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL, version INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS changelog(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " rev INTEGER NOT NULL, type INTEGER NOT NULL, key TEXT NOT NULL, value TEXT);"
        "CREATE INDEX IF NOT EXISTS changelog_rev ON changelog(rev);"
        "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema_version', 1), ('revision', 0),"
        " ('compact_rev', 0);";

static int sq_setup(struct sq *q, struct err **errp) {
        int64_t version = 0;
        int r;

        sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
        if (sqlite3_exec(q->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(q->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
                return sq_err(q, errp, "set journal mode");
        if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                return sq_err(q, errp, "begin schema transaction");
        if (sqlite3_exec(q->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
                r = sq_err(q, errp, "create schema");
                (void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
                return r;
        }
        if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                return sq_err(q, errp, "commit schema");

        r = meta_get(q, "schema_version", &version, errp);
        if (r < 0)
                return r;
        if (version != SCHEMA_VERSION)
                return err_setx(errp, EPROTO,
                                "store '%s': schema version %lld, this berth knows %d", q->path,
                                (long long)version, SCHEMA_VERSION);
        return refresh(q, errp);
}

int store_open_sqlite(const char *path, size_t changelog_max, struct store **ret,
                      struct err **errp) {
        _cleanup_(store_freep) struct store *s = NULL;
        struct sq *q;
        int r;

        s = store_new_internal(&store_sqlite_ops, changelog_max);
        q = xnew0(struct sq, 1);
        q->path = xstrdup(path);
        s->backend = q;

        /* sqlite opens its files with O_CLOEXEC itself (unix VFS, since 3.8). */
        if (sqlite3_open_v2(path, &q->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                    SQLITE_OPEN_EXRESCODE,
                            NULL) != SQLITE_OK) {
                if (!q->db)
                        return err_setx(errp, ENOMEM, "store '%s': cannot allocate", path);
                return sq_err(q, errp, "open");
        }
        r = sq_setup(q, errp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}
