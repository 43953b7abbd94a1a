/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller's store: JSON documents under slash-separated keys (`stacks/<name>`,
 * `services/<stack>/<svc>`, `pods/<stack>/<svc>/<n>`, `nodes/<id>`, `assignments/<node>/<pod>`),
 * one global revision that every committed change bumps by one, and a bounded changelog that lets
 * a watcher catch up from an older revision (etcd's model, much smaller).
 *
 * Two backends behind one const ops table (STYLE C15): SQLite (`<root>/controller/state.db`) and
 * an in-memory one for tests. Watches are plain callbacks, delivered synchronously after each
 * commit in revision order; the controller drives them from its event loop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "macro.h"

#define STORE_KEY_MAX 512
#define STORE_VALUE_MAX (16u * 1024u * 1024u)
#define STORE_CHANGELOG_DEFAULT 10000

/* A key with its value (compact JSON text) and its revisions. */
struct store_kv {
        char *key;
        char *value;
        uint64_t create_rev; /* revision that created the key */
        uint64_t mod_rev;    /* revision of the last change */
        uint64_t version;    /* number of puts since creation */
};

void store_kv_done(struct store_kv *kv);
void store_kvs_free(struct store_kv *kvs, size_t n);

enum store_event_type {
        STORE_EVENT_PUT,
        STORE_EVENT_DELETE,
        _STORE_EVENT_MAX,
        _STORE_EVENT_INVALID = -EINVAL,
};

/* One change. Every event of one transaction carries the same revision. */
struct store_event {
        uint64_t rev;
        enum store_event_type type;
        char *key;
        char *value; /* NULL for deletes */
};

void store_events_free(struct store_event *evs, size_t n);

enum store_op_type {
        STORE_OP_PUT,
        STORE_OP_DELETE,
        _STORE_OP_MAX,
        _STORE_OP_INVALID = -EINVAL,
};

/* Compare-and-swap conditions on the key's mod revision. */
#define STORE_ANY_REV INT64_C(-1) /* no condition */
#define STORE_ABSENT INT64_C(0)   /* the key must not exist */

/* One operation of a transaction; all strings are borrowed. expect_mod_rev is STORE_ANY_REV,
 * STORE_ABSENT or the mod revision the key must have. */
struct store_op {
        enum store_op_type type;
        const char *key;
        const char *value; /* JSON text, for puts */
        int64_t expect_mod_rev;
        /* The value was just serialised by jansson (json_dumps of a json_t), so it is valid JSON:
         * store_txn checks its size but does not parse it again. Parsing every pod record and
         * assignment was a seventh of a 10 000-pod `up`. */
        bool dumped;
};

struct store;

/* A backend. Every function is atomic; txn checks every condition first and applies all the
 * operations or none, appends their events to the changelog and trims it. */
struct store_ops {
        const char *name;
        int (*get)(struct store *s, const char *key, struct store_kv *ret, struct err **errp);
        int (*list)(struct store *s, const char *prefix, struct store_kv **ret, size_t *ret_n,
                    struct err **errp);
        /* Returns 1 when something changed (revision bumped), 0 when the transaction was a
         * no-op (e.g. deleting absent keys). ret_events gets the events (maybe none). */
        int (*txn)(struct store *s, const struct store_op *ops, size_t n_ops, uint64_t *ret_rev,
                   struct store_event **ret_events, size_t *ret_n_events, struct err **errp);
        /* Events with rev > from_rev under prefix; -ESTALE when from_rev has been compacted. */
        int (*changes)(struct store *s, const char *prefix, uint64_t from_rev,
                       struct store_event **ret, size_t *ret_n, struct err **errp);
        uint64_t (*revision)(struct store *s);
        uint64_t (*compact_revision)(struct store *s);
        void (*close)(struct store *s);
        /* Optional: frees what the backend caches (an idle daemon's trim). */
        void (*release_memory)(struct store *s);
        /* Optional: begin (true) or end a batch of transactions committed together. */
        int (*batch)(struct store *s, bool begin, struct err **errp);
};

extern const struct store_ops store_mem_ops;
extern const struct store_ops store_sqlite_ops;

/* Called for every event under the watch's prefix. A negative return cancels the watch. */
typedef int store_watch_fn(const struct store_event *ev, void *ud);
/* Called once after every commit that changed something (e.g. to wake an event loop). */
typedef void store_notify_fn(uint64_t rev, void *ud);

struct store_watch;

struct store {
        const struct store_ops *ops;
        void *backend;
        size_t changelog_max;
        struct store_watch *watches;
        uint64_t next_watch_id;
        store_notify_fn *notify;
        void *notify_ud;
        unsigned batch_depth;
};

/* In-memory store keeping at most changelog_max events (0 = default). */
int store_open_mem(size_t changelog_max, struct store **ret, struct err **errp);
/* SQLite store at path (created with its schema when missing; the directory must exist). */
int store_open_sqlite(const char *path, size_t changelog_max, struct store **ret,
                      struct err **errp);
/* Opens <root>/controller/state.db, creating the directory. */
int store_open_root(const char *root, struct store **ret, struct err **errp);
struct store *store_free(struct store *s);
/* Frees the backend's caches (SQLite's page cache); the next reads refill them. */
void store_release_memory(struct store *s);
void store_freep(struct store **s);

/* -ENOENT when the key does not exist. */
int store_get(struct store *s, const char *key, struct store_kv *ret, struct err **errp);
/* Every key starting with prefix, sorted by key. "" lists everything. */
int store_list(struct store *s, const char *prefix, struct store_kv **ret, size_t *ret_n,
               struct err **errp);
/* Puts value (JSON text, validated) with an optional CAS condition. -ECANCELED when the condition
 * does not hold. ret_rev (may be NULL) gets the new revision. */
int store_put(struct store *s, const char *key, const char *value, int64_t expect_mod_rev,
              uint64_t *ret_rev, struct err **errp);
/* Deletes key; deleting an absent key without a condition is a no-op returning 0. */
int store_delete(struct store *s, const char *key, int64_t expect_mod_rev, uint64_t *ret_rev,
                 struct err **errp);
/* Deletes every key under prefix in one transaction (nothing to delete: 0). */
int store_delete_prefix(struct store *s, const char *prefix, struct err **errp);
/* Applies all ops atomically, or none (-ECANCELED naming the failed condition, -EINVAL for a
 * bad key/value). Returns 1 if the revision moved, 0 if nothing changed. */
int store_txn(struct store *s, const struct store_op *ops, size_t n_ops, uint64_t *ret_rev,
              struct err **errp);
uint64_t store_revision(struct store *s);
uint64_t store_compact_revision(struct store *s);

/* Groups the transactions until the matching store_batch_end() into one durable commit (SQLite:
 * one transaction, each store_txn a savepoint in it; the memory store needs nothing). Each
 * store_txn keeps its own atomicity, revision and watch events. Batches nest (only the outer
 * one commits). When the final commit fails, the batch's changes are gone although their
 * events were delivered: callers use it for work that is re-derived anyway (reconcile passes).
 * store_batch_end() must be called once for each successful store_batch_begin(). */
int store_batch_begin(struct store *s, struct err **errp);
int store_batch_end(struct store *s, struct err **errp);

/* Registers a watch on prefix and at once delivers every event after from_rev from the
 * changelog (catch-up). -ESTALE ("compacted") when from_rev is older than the changelog: the
 * watcher must re-list and watch from the list's revision. Further events are delivered after
 * each commit. ret_id (may be NULL) identifies the watch for store_unwatch(). */
int store_watch(struct store *s, const char *prefix, uint64_t from_rev, store_watch_fn *fn,
                void *ud, uint64_t *ret_id, struct err **errp);
/* Returns 1 if a watch was removed, 0 if there was none with that id. */
int store_unwatch(struct store *s, uint64_t id);
void store_set_notify(struct store *s, store_notify_fn *fn, void *ud);

/* Checks a key: non-empty, at most STORE_KEY_MAX bytes, printable ASCII, no "//", no leading or
 * trailing '/'. */
int store_key_valid(const char *key, struct err **errp);
