/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "nodes.h"
#include "strv.h"
#include "xalloc.h"

/* Read-modify-write of one record is retried this often when a concurrent write wins. */
#define CAS_RETRIES 5

static const char *const agent_fields[] = {
        "name",    "role",         "ready", "allocatable", "allocated",
        "volumes", "heartbeat_ms", "pods",  "errors",      "advertise_addr"};
static const char *const operator_fields[] = {"labels", "availability", "fenced"};

int node_id_valid(const char *id, struct err **errp) {
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > NODE_ID_MAX)
                return err_setx(errp, EINVAL, "node id '%s' must have 1 to %d characters",
                                id ? id : "", NODE_ID_MAX);
        if (id[0] == '.' || id[0] == '-')
                return err_setx(errp, EINVAL, "node id '%s' must not start with '%c'", id, id[0]);
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
                            id[i]))
                        return err_setx(errp, EINVAL,
                                        "node id '%s' has an invalid character at offset %zu", id,
                                        i);
        return 0;
}

static bool in(const char *const *l, size_t n, const char *k) {
        for (size_t i = 0; i < n; i++)
                if (streq(l[i], k))
                        return true;
        return false;
}

/* Validates a complete node document by parsing it as a one-node observed state. */
static int validate(const char *id, const json_t *doc, struct err **errp) {
        _cleanup_(observed_freep) struct observed *o = NULL;
        _cleanup_json_ json_t *wrap = NULL;
        json_t *node = json_deep_copy(doc), *pods;
        int r;

        pods = json_incref(json_object_get(node, "pods"));
        json_object_del(node, "pods");
        if (!pods)
                pods = json_array();
        wrap = json_pack("{s:[o], s:o}", "nodes", node, "pods", pods);
        if (!wrap)
                return err_setx(errp, EINVAL, "node '%s': pods: expected an array", id);
        r = observed_from_json(wrap, &o, errp);
        if (r < 0) {
                (void)err_wrap(errp, "node '%s'", id);
                return r;
        }
        return 0;
}

static int load(struct store *s, const char *key, json_t **ret, uint64_t *ret_rev,
                struct err **errp) {
        struct store_kv kv = {};
        int r;

        r = store_get(s, key, &kv, errp);
        if (r < 0)
                return r;
        r = json_parse(kv.value, strlen(kv.value), key, ret, errp);
        *ret_rev = kv.mod_rev;
        store_kv_done(&kv);
        return r;
}

int node_report(struct store *s, const char *id, const json_t *status, uint64_t now_usec,
                struct err **errp) {
        _cleanup_free_ char *key = NULL;
        int r;

        r = node_id_valid(id, errp);
        if (r < 0)
                return r;
        if (!json_is_object(status))
                return err_setx(errp, EINVAL, "node '%s': status: expected an object", id);
        /* Only agent_fields are taken from the report; anything else in it (operator and
         * controller fields, unknown keys) is ignored, like unknown keys everywhere. */
        {
                const json_t *pods = json_object_get(status, "pods"), *p;
                size_t i;
                json_array_foreach (pods, i, p) {
                        const char *pn = json_get_str(p, "node", NULL);
                        if (pn && !streq(pn, id))
                                return err_setx(errp, EINVAL,
                                                "node '%s': pods[%zu].node: reported by another "
                                                "node ('%s')",
                                                id, i, pn);
                }
        }
        key = xasprintf("nodes/%s", id);

        for (int attempt = 0; attempt < CAS_RETRIES; attempt++) {
                _cleanup_json_ json_t *old = NULL, *doc = json_object();
                _cleanup_free_ char *text = NULL;
                uint64_t rev = 0;
                int64_t expect = STORE_ABSENT;
                _cleanup_err_ struct err *e = NULL;

                r = load(s, key, &old, &rev, &e);
                if (r < 0 && r != -ENOENT)
                        return err_move(errp, TAKE_PTR(e));
                if (r >= 0)
                        expect = (int64_t)rev;

                json_object_set_new(doc, "id", json_string(id));
                /* A report is a patch of the agent's fields: what it leaves out (the join's name,
                 * role and allocatable, say) keeps its last value. */
                for (size_t i = 0; i < ELEMENTSOF(agent_fields); i++) {
                        json_t *x = json_object_get(status, agent_fields[i]);
                        if (!x)
                                x = json_object_get(old, agent_fields[i]);
                        if (x)
                                json_object_set(doc, agent_fields[i], x);
                }
                for (size_t i = 0; i < ELEMENTSOF(operator_fields); i++) {
                        json_t *x = json_object_get(old, operator_fields[i]);
                        if (x)
                                json_object_set(doc, operator_fields[i], x);
                }
                json_object_set_new(doc, "reported", json_true());
                json_object_set_new(doc, "last_heartbeat_usec", json_integer((json_int_t)now_usec));
                /* Reported pods carry their node implicitly. */
                {
                        json_t *pods = json_object_get(doc, "pods"), *p;
                        size_t i;
                        if (pods) {
                                json_t *copy = json_deep_copy(pods);
                                json_array_foreach (copy, i, p)
                                        if (json_is_object(p))
                                                json_object_set_new(p, "node", json_string(id));
                                json_object_set_new(doc, "pods", copy);
                        }
                }
                r = validate(id, doc, errp);
                if (r < 0)
                        return r;
                text = json_dump_str(doc, false);
                r = store_put(s, key, text, expect, NULL, &e);
                if (r != -ECANCELED)
                        return r < 0 ? err_move(errp, TAKE_PTR(e)) : 0;
        }
        return err_setx(errp, EBUSY, "node '%s': record kept changing, gave up after %d tries", id,
                        CAS_RETRIES);
}

int node_update(struct store *s, const char *id, const json_t *patch, struct err **errp) {
        _cleanup_free_ char *key = NULL;
        const char *k;
        json_t *v;
        int r;

        r = node_id_valid(id, errp);
        if (r < 0)
                return r;
        if (!json_is_object(patch))
                return err_setx(errp, EINVAL, "node '%s': update: expected an object", id);
        json_object_foreach ((json_t *)patch, k, v)
                if (!in(operator_fields, ELEMENTSOF(operator_fields), k)) {
                        r = err_setx(
                                errp, EINVAL,
                                "node '%s': '%s' cannot be changed (labels, availability, fenced)",
                                id, k);
                        err_set_field(errp, k);
                        return r;
                }
        key = xasprintf("nodes/%s", id);

        for (int attempt = 0; attempt < CAS_RETRIES; attempt++) {
                _cleanup_json_ json_t *doc = NULL;
                _cleanup_free_ char *text = NULL;
                _cleanup_err_ struct err *e = NULL;
                uint64_t rev = 0;

                r = load(s, key, &doc, &rev, &e);
                if (r == -ENOENT)
                        return err_setx(errp, ENOENT, "node '%s' not found", id);
                if (r < 0)
                        return err_move(errp, TAKE_PTR(e));
                json_object_foreach ((json_t *)patch, k, v)
                        json_object_set(doc, k, v);
                r = validate(id, doc, errp);
                if (r < 0)
                        return r;
                text = json_dump_str(doc, false);
                r = store_put(s, key, text, (int64_t)rev, NULL, &e);
                if (r != -ECANCELED)
                        return r < 0 ? err_move(errp, TAKE_PTR(e)) : 0;
        }
        return err_setx(errp, EBUSY, "node '%s': record kept changing, gave up after %d tries", id,
                        CAS_RETRIES);
}

int node_remove(struct store *s, const char *id, struct err **errp) {
        _cleanup_free_ char *key = NULL;
        _cleanup_json_ json_t *doc = NULL;
        _cleanup_err_ struct err *e = NULL;
        uint64_t rev = 0;
        int r;

        r = node_id_valid(id, errp);
        if (r < 0)
                return r;
        key = xasprintf("nodes/%s", id);
        r = load(s, key, &doc, &rev, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return err_move(errp, TAKE_PTR(e));
        if (!json_is_true(json_object_get(doc, "fenced")) &&
            json_array_size(json_object_get(doc, "pods")) > 0)
                return err_setx(errp, EBUSY,
                                "node '%s' still runs %zu pods: drain or fence it first", id,
                                json_array_size(json_object_get(doc, "pods")));
        r = store_delete(s, key, (int64_t)rev, NULL, errp);
        return r < 0 ? r : 1;
}

int nodes_reset_reported(struct store *s, uint64_t now_usec, struct err **errp) {
        struct store_kv *kvs = NULL;
        struct store_op *ops = NULL;
        char **vals = NULL;
        size_t n = 0, n_ops = 0;
        int r;

        r = store_list(s, "nodes/", &kvs, &n, errp);
        if (r < 0)
                return r;
        ops = xnew0(struct store_op, n + 1);
        vals = xnew0(char *, n + 1);
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *doc = NULL;

                uint64_t hb;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &doc, NULL) < 0 ||
                    !json_is_object(doc))
                        continue;
                hb = (uint64_t)json_get_int(doc, "last_heartbeat_usec", 0);
                if (!json_is_true(json_object_get(doc, "reported")) && hb >= now_usec)
                        continue;
                json_object_set_new(doc, "reported", json_false());
                /* The grace of a node not heard from since this start runs from the start:
                 * the controller never declares a node down on a heartbeat age that includes
                 * its own downtime. */
                if (hb < now_usec)
                        json_object_set_new(doc, "last_heartbeat_usec",
                                            json_integer((json_int_t)now_usec));
                vals[n_ops] = json_dump_str(doc, false);
                ops[n_ops] = (struct store_op){STORE_OP_PUT, kvs[i].key, vals[n_ops],
                                               (int64_t)kvs[i].mod_rev};
                n_ops++;
        }
        r = n_ops ? store_txn(s, ops, n_ops, NULL, errp) : 0;
        for (size_t i = 0; i < n_ops; i++)
                free(vals[i]);
        free(vals);
        free(ops);
        store_kvs_free(kvs, n);
        return r < 0 ? r : (int)n;
}

int nodes_store_heartbeats(struct store *s, char *const *ids, const uint64_t *usecs, size_t n,
                           struct err **errp) {
        struct store_op *ops = xnew0(struct store_op, n + 1);
        char **keys = xnew0(char *, n + 1), **vals = xnew0(char *, n + 1);
        size_t n_ops = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *doc = NULL;
                struct store_kv kv = {};

                keys[n_ops] = xasprintf("nodes/%s", ids[i]);
                if (store_get(s, keys[n_ops], &kv, NULL) < 0 ||
                    json_parse(kv.value, strlen(kv.value), kv.key, &doc, NULL) < 0 ||
                    !json_is_object(doc) ||
                    (uint64_t)json_get_int(doc, "last_heartbeat_usec", 0) >= usecs[i]) {
                        /* gone, unreadable (the next report rewrites it) or already newer */
                        store_kv_done(&kv);
                        free(keys[n_ops]);
                        keys[n_ops] = NULL;
                        continue;
                }
                json_object_set_new(doc, "last_heartbeat_usec", json_integer((json_int_t)usecs[i]));
                vals[n_ops] = json_dump_str(doc, false);
                ops[n_ops] = (struct store_op){STORE_OP_PUT, keys[n_ops], vals[n_ops],
                                               (int64_t)kv.mod_rev};
                store_kv_done(&kv);
                n_ops++;
        }
        if (n_ops)
                r = store_txn(s, ops, n_ops, NULL, errp);
        for (size_t i = 0; i < n_ops; i++) {
                free(keys[i]);
                free(vals[i]);
        }
        free(keys);
        free(vals);
        free(ops);
        return r < 0 ? r : (int)n_ops;
}

const char *node_state(const json_t *doc, uint64_t now_usec, uint64_t grace_usec) {
        uint64_t hb = (uint64_t)json_get_int(doc, "last_heartbeat_usec", 0);
        uint64_t beat = (uint64_t)json_get_int(doc, "heartbeat_ms", 1000) * USEC_PER_MSEC;
        uint64_t age = now_usec > hb ? now_usec - hb : 0;

        if (json_is_true(json_object_get(doc, "fenced")))
                return "fenced";
        if (!json_get_bool(doc, "ready", false) || age > grace_usec)
                return "down";
        if (beat == 0)
                beat = USEC_PER_SEC;
        if (age > NODE_SUSPECT_BEATS * beat)
                return "suspect";
        return "ready";
}
