/* SPDX-License-Identifier: Apache-2.0 */
/* In-memory store backend for tests: a sorted array of keys and an array of recent events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "store-backend.h"
#include "strv.h"
#include "xalloc.h"

struct mem {
        struct store_kv *kvs; /* sorted by key */
        size_t n_kvs, alloc_kvs;
        struct store_event *evs; /* oldest first */
        size_t n_evs, alloc_evs;
        uint64_t rev, compact_rev;
};

static struct mem *mem_of(struct store *s) {
        return s->backend;
}

/* Index of key, or the insertion point with *found false. */
static size_t mem_find(const struct mem *m, const char *key, bool *found) {
        size_t lo = 0, hi = m->n_kvs;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(m->kvs[mid].key, key);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

static void kv_copy(struct store_kv *dst, const struct store_kv *src) {
        *dst = *src;
        dst->key = xstrdup(src->key);
        dst->value = xstrdup(src->value);
}

static int mem_get(struct store *s, const char *key, struct store_kv *ret, struct err **errp) {
        struct mem *m = mem_of(s);
        bool found;
        size_t i = mem_find(m, key, &found);

        if (!found)
                return err_setx(errp, ENOENT, "store key '%s' not found", key);
        kv_copy(ret, &m->kvs[i]);
        return 0;
}

static int mem_list(struct store *s, const char *prefix, struct store_kv **ret, size_t *ret_n,
                    struct err **errp) {
        struct mem *m = mem_of(s);
        struct store_kv *out = NULL;
        size_t n = 0, alloc = 0;
        bool found;
        size_t i = mem_find(m, prefix, &found);

        (void)errp;
        for (; i < m->n_kvs && str_startswith(m->kvs[i].key, prefix); i++) {
                XGROW(out, alloc, n + 1);
                kv_copy(&out[n++], &m->kvs[i]);
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static void mem_log(struct store *s, struct mem *m, const struct store_event *ev) {
        XGROW(m->evs, m->alloc_evs, m->n_evs + 1);
        m->evs[m->n_evs] = *ev;
        m->evs[m->n_evs].key = xstrdup(ev->key);
        m->evs[m->n_evs].value = ev->value ? xstrdup(ev->value) : NULL;
        m->n_evs++;

        if (m->n_evs > s->changelog_max) {
                size_t drop = m->n_evs - s->changelog_max;
                for (size_t i = 0; i < drop; i++) {
                        m->compact_rev = m->evs[i].rev;
                        free(m->evs[i].key);
                        free(m->evs[i].value);
                }
                memmove(m->evs, m->evs + drop, (m->n_evs - drop) * sizeof(*m->evs));
                m->n_evs -= drop;
        }
}

static int mem_txn(struct store *s, const struct store_op *ops, size_t n_ops, uint64_t *ret_rev,
                   struct store_event **ret_events, size_t *ret_n_events, struct err **errp) {
        struct mem *m = mem_of(s);
        struct store_event *evs = NULL;
        size_t n_evs = 0;
        uint64_t rev = m->rev + 1;

        /* Check every condition before touching anything. */
        for (size_t i = 0; i < n_ops; i++) {
                bool found;
                size_t k = mem_find(m, ops[i].key, &found);
                uint64_t actual = found ? m->kvs[k].mod_rev : 0;

                if (ops[i].expect_mod_rev == STORE_ANY_REV)
                        continue;
                if ((uint64_t)ops[i].expect_mod_rev != actual)
                        return store_err_conflict(errp, ops[i].key, ops[i].expect_mod_rev, actual);
        }

        evs = xnew0(struct store_event, n_ops);
        for (size_t i = 0; i < n_ops; i++) {
                bool found;
                size_t k = mem_find(m, ops[i].key, &found);

                if (ops[i].type == STORE_OP_PUT) {
                        if (found) {
                                free(m->kvs[k].value);
                                m->kvs[k].value = xstrdup(ops[i].value);
                                m->kvs[k].mod_rev = rev;
                                m->kvs[k].version++;
                        } else {
                                XGROW(m->kvs, m->alloc_kvs, m->n_kvs + 1);
                                memmove(m->kvs + k + 1, m->kvs + k,
                                        (m->n_kvs - k) * sizeof(*m->kvs));
                                m->kvs[k] = (struct store_kv){
                                        .key = xstrdup(ops[i].key),
                                        .value = xstrdup(ops[i].value),
                                        .create_rev = rev,
                                        .mod_rev = rev,
                                        .version = 1,
                                };
                                m->n_kvs++;
                        }
                        evs[n_evs++] = (struct store_event){
                                .rev = rev,
                                .type = STORE_EVENT_PUT,
                                .key = xstrdup(ops[i].key),
                                .value = xstrdup(ops[i].value),
                        };
                } else {
                        if (!found)
                                continue;
                        store_kv_done(&m->kvs[k]);
                        memmove(m->kvs + k, m->kvs + k + 1, (m->n_kvs - k - 1) * sizeof(*m->kvs));
                        m->n_kvs--;
                        evs[n_evs++] = (struct store_event){
                                .rev = rev,
                                .type = STORE_EVENT_DELETE,
                                .key = xstrdup(ops[i].key),
                        };
                }
        }

        if (n_evs == 0) {
                free(evs);
                *ret_rev = m->rev;
                *ret_events = NULL;
                *ret_n_events = 0;
                return 0;
        }
        m->rev = rev;
        for (size_t i = 0; i < n_evs; i++)
                mem_log(s, m, &evs[i]);
        *ret_rev = rev;
        *ret_events = evs;
        *ret_n_events = n_evs;
        return 1;
}

static int mem_changes(struct store *s, const char *prefix, uint64_t from_rev,
                       struct store_event **ret, size_t *ret_n, struct err **errp) {
        struct mem *m = mem_of(s);
        struct store_event *out = NULL;
        size_t n = 0, alloc = 0;

        if (from_rev < m->compact_rev)
                return store_err_compacted(errp, from_rev, m->compact_rev);
        for (size_t i = 0; i < m->n_evs; i++) {
                if (m->evs[i].rev <= from_rev || !str_startswith(m->evs[i].key, prefix))
                        continue;
                XGROW(out, alloc, n + 1);
                out[n] = m->evs[i];
                out[n].key = xstrdup(m->evs[i].key);
                out[n].value = m->evs[i].value ? xstrdup(m->evs[i].value) : NULL;
                n++;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

static uint64_t mem_revision(struct store *s) {
        return mem_of(s)->rev;
}

static uint64_t mem_compact_revision(struct store *s) {
        return mem_of(s)->compact_rev;
}

static void mem_close(struct store *s) {
        struct mem *m = mem_of(s);

        if (!m)
                return;
        store_kvs_free(m->kvs, m->n_kvs);
        store_events_free(m->evs, m->n_evs);
        free(m);
        s->backend = NULL;
}

const struct store_ops store_mem_ops = {
        .name = "memory",
        .get = mem_get,
        .list = mem_list,
        .txn = mem_txn,
        .changes = mem_changes,
        .revision = mem_revision,
        .compact_revision = mem_compact_revision,
        .close = mem_close,
};

int store_open_mem(size_t changelog_max, struct store **ret, struct err **errp) {
        struct store *s = store_new_internal(&store_mem_ops, changelog_max);

        (void)errp;
        s->backend = xnew0(struct mem, 1);
        *ret = s;
        return 0;
}
