/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster membership over TLS: POST /v1/nodes/join (token-authorized, the only route served to
 * a TLS client without a certificate besides GET /v1/cluster/ca), certificate renewal, the join
 * token, and the node listing and operator commands behind `berth node`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "csr.h"
#include "fileio.h"
#include "http_request.h"
#include "http_server.h"
#include "join.h"
#include "jointoken.h"
#include "json.h"
#include "log.h"
#include "nodes.h"
#include "revoke.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

struct cluster {
        char *pki_dir;
        uint64_t cert_sec; /* --node-cert-ttl: node certificates' validity (0: CSR_NODE_SEC) */
};

static const char *str_field(const json_t *body, const char *key, bool required,
                             struct err **errp) {
        const json_t *v = json_object_get(body, key);

        if (!v) {
                if (required)
                        err_setx(errp, EINVAL, "field '%s': required", key);
                return NULL;
        }
        if (!json_is_string(v)) {
                err_setx(errp, EINVAL, "field '%s': expected a string", key);
                return NULL;
        }
        return json_string_value(v);
}

/* Remembers the serial of a certificate signed for node id (certs/<id>), so that `node rm` can
 * revoke every certificate the node was given. */
static int record_serial(struct controller *c, const char *id, const char *crt, struct err **errp) {
        _cleanup_free_ char *key = xasprintf("certs/%s", id), *serial = NULL, *val = NULL;
        _cleanup_json_ json_t *doc = NULL;
        struct store_kv kv = {};
        int64_t expect = STORE_ABSENT;
        int r;

        r = revoke_pem_serial(crt, &serial, errp);
        if (r < 0)
                return r;
        r = store_get(controller_store(c), key, &kv, NULL);
        if (r >= 0) {
                doc = json_loads(kv.value, 0, NULL);
                expect = (int64_t)kv.mod_rev;
        }
        store_kv_done(&kv);
        if (!json_is_object(doc)) {
                json_decref(doc);
                doc = json_object();
        }
        if (!json_is_array(json_object_get(doc, "serials")))
                json_object_set_new(doc, "serials", json_array());
        json_array_append_new(json_object_get(doc, "serials"), json_string(serial));
        val = json_dump_str(doc, false);
        r = store_put(controller_store(c), key, val, expect, NULL, errp);
        return r < 0 ? r : 0;
}

int cluster_revoke_node(struct controller *c, const char *pki_dir, const char *id,
                        struct err **errp) {
        _cleanup_free_ char *key = xasprintf("certs/%s", id), *path = NULL;
        _cleanup_free_ char *prefix = xasprintf("assignments/%s/", id);
        _cleanup_strv_ char **serials = NULL;
        _cleanup_json_ json_t *doc = NULL;
        struct store_kv kv = {}, *kvs = NULL;
        struct store_op *ops = NULL;
        size_t n = 0, i;
        json_t *v;
        int r, added = 0;

        r = store_get(controller_store(c), key, &kv, errp);
        if (r == -ENOENT)
                err_freep(errp);
        else if (r < 0)
                return r;
        if (r >= 0)
                doc = json_loads(kv.value, 0, NULL);
        store_kv_done(&kv);
        json_array_foreach (json_object_get(doc, "serials"), i, v)
                if (json_is_string(v))
                        strv_push(&serials, json_string_value(v));
        if (serials) {
                path = xasprintf("%s/revoked-serials", pki_dir);
                added = revoke_add(path, serials, errp);
                if (added < 0)
                        return err_wrap(errp, "revoke the certificates of node '%s'", id);
        }
        /* The node's record of certificates and its assignments go with it. */
        r = store_list(controller_store(c), prefix, &kvs, &n, errp);
        if (r < 0)
                return r;
        ops = xnew0(struct store_op, n + 1);
        for (i = 0; i < n; i++)
                ops[i] = (struct store_op){STORE_OP_DELETE, kvs[i].key, NULL, STORE_ANY_REV};
        ops[n] = (struct store_op){STORE_OP_DELETE, key, NULL, STORE_ANY_REV};
        r = store_txn(controller_store(c), ops, n + 1, NULL, errp);
        free(ops);
        store_kvs_free(kvs, n);
        return r < 0 ? r : added;
}

static int read_ca(const char *pki_dir, char **ret, struct err **errp) {
        _cleanup_free_ char *path = xasprintf("%s/ca.crt", pki_dir);

        return read_file(path, CSR_MAX_PEM, ret, NULL, errp);
}

#define JOIN_MAX_SKEW_USEC (3600LL * 1000000)

int cluster_join(struct controller *c, const char *pki_dir, uint64_t cert_sec, const json_t *body,
                 uint64_t now_usec, json_t **ret, struct err **errp) {
        _cleanup_free_ char *crt = NULL, *ca = NULL, *key = NULL;
        _cleanup_json_ json_t *req = NULL, *res = NULL;
        struct store_kv kv = {};
        const char *secret, *name, *addr, *csr;
        const json_t *labels;
        struct err *fe = NULL;
        int r;

        if (!json_is_object(body))
                return err_setx(errp, EINVAL, "join: expected a JSON object");
        /* The secret first: nothing else is looked at for a caller without it. */
        secret = str_field(body, "secret", true, &fe);
        if (!secret) {
                err_free(fe);
                return err_setx(errp, EACCES, "join: wrong or missing join token");
        }
        r = jointoken_check_secret(pki_dir, secret, errp);
        if (r < 0)
                return r;
        /* The agent's clock (optional, sent by berth agent): beyond the hour of slack the
         * certificates allow (pki.c back-dates notBefore by 3600 s), TLS between the two would
         * fail later with an unhelpful error; say so now. */
        if (json_is_integer(json_object_get(body, "time_usec"))) {
                int64_t skew = (int64_t)json_integer_value(json_object_get(body, "time_usec")) -
                               (int64_t)now_usec;

                if (skew > JOIN_MAX_SKEW_USEC || skew < -JOIN_MAX_SKEW_USEC) {
                        r = err_setx(errp, EINVAL,
                                     "join: clock skew: the agent's clock is %lld s %s the "
                                     "controller's (at most %d s is allowed); fix the clocks "
                                     "(NTP) and join again",
                                     (long long)(skew < 0 ? -skew : skew) / 1000000,
                                     skew < 0 ? "behind" : "ahead of",
                                     (int)(JOIN_MAX_SKEW_USEC / 1000000));
                        err_set_field(errp, "time_usec");
                        return r;
                }
        }
        name = str_field(body, "name", true, errp);
        if (!name)
                return -EINVAL;
        r = node_id_valid(name, errp);
        if (r < 0) {
                err_set_field(errp, "name");
                return r;
        }
        addr = str_field(body, "advertise_addr", false, &fe);
        if (fe)
                return err_move(errp, fe);
        csr = str_field(body, "csr", true, errp);
        if (!csr)
                return -EINVAL;
        labels = json_object_get(body, "labels");
        if (labels) {
                const char *k;
                json_t *v;

                if (!json_is_object(labels))
                        return err_setx(errp, EINVAL, "field 'labels': expected an object");
                json_object_foreach ((json_t *)labels, k, v)
                        if (!json_is_string(v))
                                return err_setx(errp, EINVAL,
                                                "field 'labels.%s': expected a string", k);
        }

        key = xasprintf("nodes/%s", name);
        r = store_get(controller_store(c), key, &kv, errp);
        store_kv_done(&kv);
        if (r >= 0)
                return err_setx(errp, EEXIST, "join: node '%s' already exists", name);
        if (r != -ENOENT)
                return r;
        err_freep(errp);

        r = csr_sign(pki_dir, csr, name, addr, cert_sec ? cert_sec : CSR_NODE_SEC, &crt, errp);
        if (r < 0)
                return r;
        r = read_ca(pki_dir, &ca, errp);
        if (r < 0)
                return r;

        req = json_pack("{s:s, s:s}", "name", name, "role", "worker");
        if (!req)
                oom();
        if (labels)
                json_object_set(req, "labels", (json_t *)labels);
        if (json_is_object(json_object_get(body, "allocatable")))
                json_object_set(req, "allocatable", json_object_get(body, "allocatable"));
        if (addr)
                json_set_str(req, "advertise_addr", addr);
        r = controller_join(c, req, now_usec, &res, errp);
        if (r < 0)
                return r;
        r = record_serial(c, name, crt, errp);
        if (r < 0) {
                /* Nothing half-created: without its serial the certificate could not be
                 * revoked, so the node goes again. */
                _cleanup_free_ char *nk = xasprintf("nodes/%s", name);
                (void)store_delete(controller_store(c), nk, STORE_ANY_REV, NULL, NULL);
                return err_wrap(errp, "record the certificate of node '%s'", name);
        }
        json_object_set_new(res, "certificate", json_string(crt));
        json_object_set_new(res, "ca", json_string(ca));
        *ret = TAKE_PTR(res);
        return 0;
}

int cluster_rejoin(struct controller *c, const char *cn, const json_t *body, uint64_t now_usec,
                   json_t **ret, struct err **errp) {
        _cleanup_free_ char *key = NULL;
        _cleanup_json_ json_t *req = NULL;
        struct store_kv kv = {};
        const char *name = json_get_str(body, "name", NULL);
        int r;

        if (name && strcmp(name, cn) != 0)
                return err_setx(errp, EACCES,
                                "join: the certificate of '%s' cannot join as node '%s'", cn, name);
        key = xasprintf("nodes/%s", cn);
        r = store_get(controller_store(c), key, &kv, errp);
        store_kv_done(&kv);
        if (r == -ENOENT) {
                err_freep(errp);
                return err_setx(errp, EACCES,
                                "join: '%s' is not a node (removed?); join with a token", cn);
        }
        if (r < 0)
                return r;
        req = json_deep_copy(body);
        if (!json_is_object(req))
                return err_setx(errp, EINVAL, "join: expected a JSON object");
        json_object_set_new(req, "name", json_string(cn));
        json_object_set_new(req, "role", json_string("worker"));
        /* the operator owns the labels (node update); a re-join does not reset them */
        json_object_del(req, "labels");
        {
                _cleanup_json_ json_t *cur = NULL;
                struct store_kv kv2 = {};

                if (store_get(controller_store(c), key, &kv2, NULL) >= 0) {
                        cur = json_loads(kv2.value, 0, NULL);
                        if (json_is_object(json_object_get(cur, "labels")))
                                json_object_set(req, "labels", json_object_get(cur, "labels"));
                }
                store_kv_done(&kv2);
        }
        return controller_join(c, req, now_usec, ret, errp);
}

int cluster_renew(struct controller *c, const char *pki_dir, uint64_t cert_sec, const char *id,
                  const json_t *body, json_t **ret, struct err **errp) {
        _cleanup_free_ char *crt = NULL, *key = NULL;
        struct store_kv kv = {};
        struct err *fe = NULL;
        const char *csr, *addr;
        int r;

        key = xasprintf("nodes/%s", id);
        r = store_get(controller_store(c), key, &kv, errp);
        store_kv_done(&kv);
        if (r < 0)
                return r;
        csr = str_field(body, "csr", true, errp);
        if (!csr)
                return -EINVAL;
        addr = str_field(body, "advertise_addr", false, &fe);
        if (fe)
                return err_move(errp, fe);
        r = csr_sign(pki_dir, csr, id, addr, cert_sec ? cert_sec : CSR_NODE_SEC, &crt, errp);
        if (r < 0)
                return r;
        r = record_serial(c, id, crt, errp);
        if (r < 0)
                return err_wrap(errp, "record the certificate of node '%s'", id);
        *ret = json_pack("{s:s}", "certificate", crt);
        return 0;
}

/* ---- HTTP ---- */

static struct cluster *cluster_of(struct http_req *req, void *userdata) {
        struct cluster *cl = daemon_env_state(userdata, "cluster");

        if (!cl)
                http_reply_error(req, 503, "unavailable", "cluster membership is not running");
        return cl;
}

static struct controller *ctl_of(struct http_req *req, void *userdata) {
        struct controller *c = daemon_env_state(userdata, "controller");

        if (!c)
                http_reply_error(req, 503, "unavailable", "the controller is not running");
        return c;
}

static void reply(struct http_req *req, int r, const struct err *e, const json_t *j) {
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply_json(req, 200, j);
}

/* True when the TLS peer is a joined node: nodes may renew their own certificate and report,
 * but not read the join token or change nodes. Answers 403 then. */
static bool peer_is_node(struct http_req *req, struct controller *c) {
        _cleanup_free_ char *key = NULL;
        struct store_kv kv = {};
        const char *cn = http_req_peer_cn(req);
        int r;

        if (!http_req_is_tls(req) || !cn)
                return false;
        key = xasprintf("nodes/%s", cn);
        r = store_get(controller_store(c), key, &kv, NULL);
        store_kv_done(&kv);
        if (r < 0)
                return false;
        http_reply_error(req, 403, "forbidden", "node certificates cannot do this");
        return true;
}

void cluster_join_tls(struct http_req *req, void *userdata, struct controller *c) {
        struct cluster *cl = cluster_of(req, userdata);
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!cl)
                return;
        r = http_req_json(req, &body, &e);
        if (r >= 0 && http_req_peer_cn(req)) {
                /* A node that already has its certificate (the node agent's join at each start):
                 * it can only speak for itself. */
                r = cluster_rejoin(c, http_req_peer_cn(req), body, realtime_usec(), &res, &e);
                reply(req, r, e, res);
                return;
        }
        if (r >= 0)
                r = cluster_join(c, cl->pki_dir, cl->cert_sec, body, realtime_usec(), &res, &e);
        if (r >= 0)
                log_info(json_get_str(res, "id", NULL), "Node '%s' joined over TLS",
                         json_get_str(res, "id", ""));
        else
                log_warn(NULL, "Refused a join over TLS: %s", err_msg(e));
        reply(req, r, e, res);
}

static void h_ca(struct http_req *req, void *userdata) {
        struct cluster *cl = cluster_of(req, userdata);
        _cleanup_free_ char *ca = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (!cl)
                return;
        if (read_ca(cl->pki_dir, &ca, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 200, "application/x-pem-file", ca, strlen(ca));
}

static void token_reply(struct http_req *req, void *userdata, bool rotate) {
        struct cluster *cl = cluster_of(req, userdata);
        struct controller *c = cl ? ctl_of(req, userdata) : NULL;
        _cleanup_free_ char *tok = NULL;
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *ttl = http_req_query(req, "ttl");
        uint64_t expires = 0;
        long long secs = 0;
        char *end = NULL;
        int r;

        if (!c || peer_is_node(req, c))
                return;
        if (ttl) {
                errno = 0;
                secs = strtoll(ttl, &end, 10);
                if (!rotate || errno || end == ttl || *end || secs <= 0 ||
                    secs > 10LL * 365 * 86400)
                        return http_reply_error(req, 400, "invalid",
                                                "ttl: expected whole seconds from 1 to 10 years "
                                                "with a rotation, got '%s'",
                                                ttl);
        }
        r = jointoken_get(cl->pki_dir, rotate, (uint64_t)secs * 1000000, &tok, &expires, &e);
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        if (rotate)
                log_info(NULL, "Join token rotated%s; the previous token no longer works",
                         secs ? " with an expiry" : "");
        res = json_pack("{s:s, s:b}", "token", tok, "rotated", rotate);
        if (expires)
                json_object_set_new(res, "expires_usec", json_integer((json_int_t)expires));
        http_reply_json(req, 200, res);
}

static void h_token(struct http_req *req, void *userdata) {
        token_reply(req, userdata, false);
}

static void h_token_rotate(struct http_req *req, void *userdata) {
        token_reply(req, userdata, true);
}

static void h_renew(struct http_req *req, void *userdata) {
        struct cluster *cl = cluster_of(req, userdata);
        struct controller *c = cl ? ctl_of(req, userdata) : NULL;
        const char *id = http_req_param(req, "id"), *cn = http_req_peer_cn(req);
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        if (!cn || strcmp(cn, id) != 0) {
                http_reply_error(req, 403, "forbidden",
                                 "only node '%s' itself can renew its certificate", id);
                return;
        }
        r = http_req_json(req, &body, &e);
        if (r >= 0)
                r = cluster_renew(c, cl->pki_dir, cl->cert_sec, id, body, &res, &e);
        if (r >= 0)
                log_info(id, "Renewed the certificate of node '%s'", id);
        reply(req, r, e, res);
}

/* ---- node listing and operator changes (`berth node`) ---- */

/* A node record as the API shows it: the stored record plus "status" (ready | down) and
 * "heartbeat_age_sec" computed here, on the controller's clock, from the newer of the stored
 * heartbeat and the one the controller keeps in memory (stored lazily). */
static json_t *node_view(struct controller *c, const char *value, uint64_t now,
                         uint64_t grace_usec) {
        json_t *j = json_loads(value, 0, NULL);
        uint64_t hb, seen;

        if (!j)
                return NULL;
        hb = (uint64_t)json_get_int(j, "last_heartbeat_usec", 0);
        seen = controller_node_seen(c, json_get_str(j, "id", ""));
        if (seen > hb) {
                hb = seen;
                json_object_set_new(j, "last_heartbeat_usec", json_integer((json_int_t)hb));
        }
        json_object_set_new(j, "status", json_string(node_state(j, now, grace_usec)));
        json_object_set_new(j, "heartbeat_age_sec",
                            json_integer(hb && now > hb ? (json_int_t)((now - hb) / 1000000) : 0));
        if (!json_object_get(j, "availability"))
                json_object_set_new(j, "availability", json_string("active"));
        return j;
}

static void h_nodes(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct store_kv *kvs = NULL;
        uint64_t now = realtime_usec();
        size_t n = 0;

        if (!c)
                return;
        if (store_list(controller_store(c), "nodes/", &kvs, &n, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        res = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *v = node_view(c, kvs[i].value, now, controller_node_grace(c));

                if (v)
                        json_array_append_new(res, v);
        }
        store_kvs_free(kvs, n);
        http_reply_json(req, 200, res);
}

static int node_get(struct controller *c, const char *id, json_t **ret, struct err **errp) {
        _cleanup_free_ char *key = NULL;
        struct store_kv kv = {};
        int r;

        r = node_id_valid(id, errp);
        if (r < 0)
                return r;
        key = xasprintf("nodes/%s", id);
        r = store_get(controller_store(c), key, &kv, errp);
        if (r == -ENOENT) {
                err_freep(errp);
                return err_setx(errp, ENOENT, "no such node '%s'", id);
        }
        if (r < 0)
                return r;
        *ret = node_view(c, kv.value, realtime_usec(), controller_node_grace(c));
        store_kv_done(&kv);
        if (!*ret)
                return err_setx(errp, EIO, "node '%s': bad record", id);
        return 0;
}

static void h_node(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = node_get(c, http_req_param(req, "id"), &res, &e);
        reply(req, r, e, res);
}

static void h_node_update(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        const char *id = http_req_param(req, "id");
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c || peer_is_node(req, c))
                return;
        r = node_id_valid(id, &e);
        if (r >= 0)
                r = http_req_json(req, &body, &e);
        if (r >= 0)
                r = node_update(controller_store(c), id, body, &e);
        if (r >= 0)
                r = node_get(c, id, &res, &e);
        if (r >= 0)
                log_info(id, "Node '%s' updated", id);
        reply(req, r, e, res);
}

static void h_node_rm(struct http_req *req, void *userdata) {
        struct cluster *cl = cluster_of(req, userdata);
        struct controller *c = cl ? ctl_of(req, userdata) : NULL;
        const char *id = http_req_param(req, "id");
        _cleanup_json_ json_t *fence = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        bool force = false;
        int r, removed = 0, revoked = 0;

        if (!c || peer_is_node(req, c))
                return;
        r = http_query_get_bool(http_req_query_pairs(req), "force", false, &force, &e);
        if (r >= 0)
                r = node_id_valid(id, &e);
        if (r >= 0 && force) {
                /* --force: fence it first, so that pods it still reports do not block. */
                fence = json_pack("{s:b}", "fenced", true);
                r = node_update(controller_store(c), id, fence, &e);
        }
        if (r >= 0)
                removed = r = node_remove(controller_store(c), id, &e);
        /* Its certificates are revoked (also when the node record is already gone but its
         * serials are still known: a retry after a failed revocation). */
        if (r >= 0)
                r = revoked = cluster_revoke_node(c, cl->pki_dir, id, &e);
        if (r >= 0 && removed == 0 && revoked == 0)
                r = err_setx(&e, ENOENT, "no such node '%s'", id);
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        log_info(id, "Node '%s' removed, %d certificate(s) revoked", id, revoked);
        res = json_pack("{s:s, s:i}", "removed", id, "revoked", revoked);
        http_reply_json(req, 200, res);
}

static const struct http_route cluster_routes[] = {
        {"GET", "/v1/nodes", h_nodes},
        {"GET", "/v1/nodes/{id}", h_node},
        {"PATCH", "/v1/nodes/{id}", h_node_update},
        {"DELETE", "/v1/nodes/{id}", h_node_rm},
        {"GET", "/v1/cluster/ca", h_ca},
        {"GET", "/v1/cluster/token", h_token},
        {"POST", "/v1/cluster/token/rotate", h_token_rotate},
        {"POST", "/v1/nodes/{id}/renew", h_renew},
        {},
};

static int cluster_start(struct ev_loop *loop, const struct daemon_env *env,
                         struct http_router *router, const void *arg, void **ret_state,
                         struct err **errp) {
        _cleanup_free_ char *tok = NULL;
        struct cluster *cl;
        int r;

        (void)loop;
        (void)arg;
        r = http_router_add_table(router, cluster_routes, errp);
        if (r < 0)
                return r;
        cl = xnew0(struct cluster, 1);
        cl->pki_dir = xasprintf("%s/pki", env->root);
        cl->cert_sec = env->node_cert_ttl_sec;
        r = jointoken_get(cl->pki_dir, false, 0, &tok, NULL, errp);
        if (r < 0) {
                free(cl->pki_dir);
                free(cl);
                return r;
        }
        log_info(NULL, "Join token: %s", tok);
        /* With a remote API the token also goes alone on stdout, for scripts (like swarm init);
         * without one it is of no use to anybody and stdout stays the log's. */
        if (env->listen) {
                printf("%s\n", tok);
                fflush(stdout);
        }
        *ret_state = cl;
        return 0;
}

static void cluster_stop(void *state) {
        struct cluster *cl = state;

        if (!cl)
                return;
        free(cl->pki_dir);
        free(cl);
}

const struct daemon_addon cluster_addon = {
        .name = "cluster",
        .start = cluster_start,
        .stop = cluster_stop,
};
