/* SPDX-License-Identifier: Apache-2.0 */
/* The backend-independent half of the store: argument checks, JSON validation, watches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "fileio.h"
#include "store-backend.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

struct store_watch {
        struct store_watch *next;
        uint64_t id;
        char *prefix;
        store_watch_fn *fn;
        void *ud;
        uint64_t caught_up; /* revision the catch-up covered; older queued events are skipped */
        bool cancelled;
};

/* Events committed while callbacks run are queued here and delivered in order afterwards, so a
 * callback may write to the store without seeing events out of revision order. */
struct store_pending {
        struct store_pending *next;
        struct store_event *events;
        size_t n;
};

struct store_dispatch {
        bool active;
        struct store_pending *head, *tail;
};

/* One per store, kept beside the public struct so that store.h stays small. */
struct store_priv {
        struct store pub;
        struct store_dispatch dispatch;
};

static struct store_priv *priv(struct store *s) {
        return container_of(s, struct store_priv, pub);
}

void store_kv_done(struct store_kv *kv) {
        if (!kv)
                return;
        free(kv->key);
        free(kv->value);
        kv->key = kv->value = NULL;
}

void store_kvs_free(struct store_kv *kvs, size_t n) {
        for (size_t i = 0; kvs && i < n; i++)
                store_kv_done(&kvs[i]);
        free(kvs);
}

void store_events_free(struct store_event *evs, size_t n) {
        for (size_t i = 0; evs && i < n; i++) {
                free(evs[i].key);
                free(evs[i].value);
        }
        free(evs);
}

int store_key_valid(const char *key, struct err **errp) {
        size_t n;

        if (!key || !*key)
                return err_setx(errp, EINVAL, "store key is empty");
        n = strlen(key);
        if (n > STORE_KEY_MAX)
                return err_setx(errp, EINVAL, "store key '%.40s...' longer than %d bytes", key,
                                STORE_KEY_MAX);
        for (size_t i = 0; i < n; i++)
                if (key[i] <= ' ' || key[i] > '~')
                        return err_setx(errp, EINVAL,
                                        "store key '%s' has a non-printable or space character at "
                                        "offset %zu",
                                        key, i);
        if (key[0] == '/' || key[n - 1] == '/' || strstr(key, "//"))
                return err_setx(errp, EINVAL, "store key '%s' has an empty path component", key);
        return 0;
}

static int value_valid(const char *key, const char *value, bool dumped, struct err **errp) {
        json_error_t e;
        json_t *j;
        size_t n;

        if (!value)
                return err_setx(errp, EINVAL, "store put '%s': missing value", key);
        n = strlen(value);
        if (n > STORE_VALUE_MAX)
                return err_setx(errp, EINVAL, "store put '%s': value of %zu bytes exceeds %u", key,
                                n, STORE_VALUE_MAX);
        if (dumped)
                return 0;
        j = json_loadb(value, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
        if (!j)
                return err_setx(errp, EINVAL,
                                "store put '%s': invalid JSON at line %d column %d: %s", key,
                                e.line, e.column, e.text);
        json_decref(j);
        return 0;
}

static struct store *store_new(const struct store_ops *ops, size_t changelog_max) {
        struct store_priv *p = xnew0(struct store_priv, 1);

        p->pub.ops = ops;
        p->pub.changelog_max = changelog_max ? changelog_max : STORE_CHANGELOG_DEFAULT;
        p->pub.next_watch_id = 1;
        return &p->pub;
}

struct store *store_new_internal(const struct store_ops *ops, size_t changelog_max) {
        return store_new(ops, changelog_max);
}

struct store *store_free(struct store *s) {
        struct store_priv *p;

        if (!s)
                return NULL;
        p = priv(s);
        if (s->ops && s->ops->close)
                s->ops->close(s);
        while (s->watches) {
                struct store_watch *w = s->watches;
                s->watches = w->next;
                free(w->prefix);
                free(w);
        }
        while (p->dispatch.head) {
                struct store_pending *q = p->dispatch.head;
                p->dispatch.head = q->next;
                store_events_free(q->events, q->n);
                free(q);
        }
        free(p);
        return NULL;
}

void store_release_memory(struct store *s) {
        if (s && s->ops->release_memory)
                s->ops->release_memory(s);
}

void store_freep(struct store **s) {
        *s = store_free(*s);
}

int store_open_root(const char *root, struct store **ret, struct err **errp) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        dir = xasprintf("%s/controller", root);
        r = mkdir_p(dir, 0700, errp);
        if (r < 0)
                return r;
        path = xasprintf("%s/state.db", dir);
        return store_open_sqlite(path, 0, ret, errp);
}

int store_get(struct store *s, const char *key, struct store_kv *ret, struct err **errp) {
        int r;

        r = store_key_valid(key, errp);
        if (r < 0)
                return r;
        return s->ops->get(s, key, ret, errp);
}

int store_list(struct store *s, const char *prefix, struct store_kv **ret, size_t *ret_n,
               struct err **errp) {
        if (!prefix)
                prefix = "";
        if (strlen(prefix) > STORE_KEY_MAX)
                return err_setx(errp, EINVAL, "store prefix longer than %d bytes", STORE_KEY_MAX);
        return s->ops->list(s, prefix, ret, ret_n, errp);
}

static void sweep_watches(struct store *s) {
        struct store_watch **pw = &s->watches;

        while (*pw) {
                struct store_watch *w = *pw;
                if (w->cancelled) {
                        *pw = w->next;
                        free(w->prefix);
                        free(w);
                } else
                        pw = &w->next;
        }
}

static void deliver(struct store *s, const struct store_event *evs, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (struct store_watch *w = s->watches; w; w = w->next) {
                        if (w->cancelled || evs[i].rev <= w->caught_up ||
                            !str_startswith(evs[i].key, w->prefix))
                                continue;
                        if (w->fn(&evs[i], w->ud) < 0)
                                w->cancelled = true;
                }
}

/* Delivers the queue until it is empty; only the outermost caller runs this loop. */
static void drain(struct store *s) {
        struct store_dispatch *d = &priv(s)->dispatch;

        while (d->head) {
                struct store_pending *q = d->head;
                d->head = q->next;
                if (!d->head)
                        d->tail = NULL;
                deliver(s, q->events, q->n);
                if (s->notify && q->n > 0)
                        s->notify(q->events[0].rev, s->notify_ud);
                store_events_free(q->events, q->n);
                free(q);
        }
        d->active = false;
        sweep_watches(s);
}

static void enqueue(struct store *s, struct store_event *evs, size_t n) {
        struct store_dispatch *d = &priv(s)->dispatch;
        struct store_pending *q = xnew0(struct store_pending, 1);

        q->events = evs;
        q->n = n;
        if (d->tail)
                d->tail->next = q;
        else
                d->head = q;
        d->tail = q;
}

int store_txn(struct store *s, const struct store_op *ops, size_t n_ops, uint64_t *ret_rev,
              struct err **errp) {
        struct store_event *evs = NULL;
        size_t n_evs = 0;
        uint64_t rev = 0;
        int r;

        if (n_ops == 0)
                return err_setx(errp, EINVAL, "store transaction without operations");
        for (size_t i = 0; i < n_ops; i++) {
                r = store_key_valid(ops[i].key, errp);
                if (r < 0) {
                        (void)err_wrap(errp, "store transaction op %zu", i);
                        return r;
                }
                if (ops[i].expect_mod_rev < STORE_ANY_REV)
                        return err_setx(errp, EINVAL, "store op %zu on '%s': bad revision %lld", i,
                                        ops[i].key, (long long)ops[i].expect_mod_rev);
                switch (ops[i].type) {
                case STORE_OP_PUT:
                        r = value_valid(ops[i].key, ops[i].value, ops[i].dumped, errp);
                        if (r < 0)
                                return r;
                        break;
                case STORE_OP_DELETE:
                        break;
                case _STORE_OP_MAX:
                case _STORE_OP_INVALID:
                default:
                        return err_setx(errp, EINVAL, "store op %zu on '%s': unknown type %d", i,
                                        ops[i].key, (int)ops[i].type);
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(ops[j].key, ops[i].key))
                                return err_setx(errp, EINVAL,
                                                "store transaction touches '%s' twice", ops[i].key);
        }

        r = s->ops->txn(s, ops, n_ops, &rev, &evs, &n_evs, errp);
        if (r < 0)
                return r;
        if (ret_rev)
                *ret_rev = rev;
        if (n_evs == 0) {
                free(evs);
                return r;
        }

        enqueue(s, evs, n_evs);
        if (!priv(s)->dispatch.active) {
                priv(s)->dispatch.active = true;
                drain(s);
        }
        return r;
}

int store_put(struct store *s, const char *key, const char *value, int64_t expect_mod_rev,
              uint64_t *ret_rev, struct err **errp) {
        struct store_op op = {
                .type = STORE_OP_PUT,
                .key = key,
                .value = value,
                .expect_mod_rev = expect_mod_rev,
        };
        return store_txn(s, &op, 1, ret_rev, errp);
}

int store_delete(struct store *s, const char *key, int64_t expect_mod_rev, uint64_t *ret_rev,
                 struct err **errp) {
        struct store_op op = {
                .type = STORE_OP_DELETE,
                .key = key,
                .expect_mod_rev = expect_mod_rev,
        };
        return store_txn(s, &op, 1, ret_rev, errp);
}

int store_delete_prefix(struct store *s, const char *prefix, struct err **errp) {
        _cleanup_free_ struct store_op *ops = NULL;
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int r;

        r = store_list(s, prefix, &kvs, &n, errp);
        if (r < 0 || n == 0) {
                store_kvs_free(kvs, n);
                return r < 0 ? r : 0;
        }
        ops = xnew0(struct store_op, n);
        for (size_t i = 0; i < n; i++)
                ops[i] = (struct store_op){STORE_OP_DELETE, kvs[i].key, NULL, STORE_ANY_REV};
        r = store_txn(s, ops, n, NULL, errp);
        store_kvs_free(kvs, n);
        return r < 0 ? r : 0;
}

int store_batch_begin(struct store *s, struct err **errp) {
        int r;

        if (s->batch_depth == 0 && s->ops->batch) {
                r = s->ops->batch(s, true, errp);
                if (r < 0)
                        return r;
        }
        s->batch_depth++;
        return 0;
}

int store_batch_end(struct store *s, struct err **errp) {
        if (s->batch_depth == 0)
                return err_setx(errp, EINVAL, "store batch ended without a beginning");
        if (--s->batch_depth == 0 && s->ops->batch)
                return s->ops->batch(s, false, errp);
        return 0;
}

uint64_t store_revision(struct store *s) {
        return s->ops->revision(s);
}

uint64_t store_compact_revision(struct store *s) {
        return s->ops->compact_revision(s);
}

int store_watch(struct store *s, const char *prefix, uint64_t from_rev, store_watch_fn *fn,
                void *ud, uint64_t *ret_id, struct err **errp) {
        struct store_event *evs = NULL;
        struct store_watch *w;
        size_t n = 0;
        bool outer;
        int r;

        if (!fn)
                return err_setx(errp, EINVAL, "store watch without a callback");
        if (!prefix)
                prefix = "";
        r = s->ops->changes(s, prefix, from_rev, &evs, &n, errp);
        if (r < 0)
                return r;

        w = xnew0(struct store_watch, 1);
        w->id = s->next_watch_id++;
        w->prefix = xstrdup(prefix);
        w->fn = fn;
        w->ud = ud;
        /* The changelog read above covers everything committed so far, including events still
         * queued for delivery when this is called from a watch callback. */
        w->caught_up = s->ops->revision(s);

        /* Catch-up first, to this watcher only; commits made by its callback are queued and
         * reach it (and every other watcher) afterwards, in order. */
        outer = !priv(s)->dispatch.active;
        priv(s)->dispatch.active = true;
        for (size_t i = 0; i < n && !w->cancelled; i++)
                if (fn(&evs[i], ud) < 0)
                        w->cancelled = true;
        store_events_free(evs, n);
        w->next = s->watches;
        s->watches = w;
        if (ret_id)
                *ret_id = w->id;
        if (outer)
                drain(s);
        return 0;
}

int store_unwatch(struct store *s, uint64_t id) {
        for (struct store_watch *w = s->watches; w; w = w->next)
                if (w->id == id && !w->cancelled) {
                        w->cancelled = true;
                        if (!priv(s)->dispatch.active)
                                sweep_watches(s);
                        return 1;
                }
        return 0;
}

void store_set_notify(struct store *s, store_notify_fn *fn, void *ud) {
        s->notify = fn;
        s->notify_ud = ud;
}
