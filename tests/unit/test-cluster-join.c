/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "controller.h"
#include "csr.h"
#include "err.h"
#include "fileio.h"
#include "join.h"
#include "jointoken.h"
#include "json.h"
#include "pki.h"
#include "revoke.h"
#include "store.h"
#include "tap.h"
#include "xalloc.h"

static void ctl_freep(struct controller **c) {
        controller_free(*c);
}

static size_t n_nodes(struct controller *c) {
        struct store_kv *kvs = NULL;
        size_t n = 0;

        if (store_list(controller_store(c), "nodes/", &kvs, &n, NULL) < 0)
                return (size_t)-1;
        store_kvs_free(kvs, n);
        return n;
}

static void test_join(void) {
        char tmpl[] = "/tmp/test-cluster-join-XXXXXX";
        _cleanup_(ctl_freep) struct controller *c = NULL;
        _cleanup_free_ char *pki = NULL, *other = NULL, *tok = NULL, *key = NULL, *csr = NULL,
                            *cn = NULL, *oldtok = NULL;
        _cleanup_json_ json_t *body = NULL, *res = NULL, *res2 = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct store *s = NULL;
        struct jointoken t, old;
        time_t nb, na;

        ASSERT_NOT_NULL(mkdtemp(tmpl));
        pki = xasprintf("%s/pki", tmpl);
        other = xasprintf("%s/other", tmpl);
        ASSERT_OK(pki_ensure(pki, "ctl", NULL, NULL));
        ASSERT_OK(pki_ensure(other, "evil", NULL, NULL));
        ASSERT_OK(store_open_mem(0, &s, NULL));
        ASSERT_OK(controller_new(NULL, s, &c, NULL));
        ASSERT_OK(jointoken_get(pki, false, 0, &tok, NULL, NULL));
        ASSERT_OK(jointoken_parse(tok, &t, NULL));
        key = xasprintf("%s/node.key", tmpl);
        ASSERT_OK(csr_new(key, "n1", &csr, NULL));

        body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "secret", t.secret, "name", "n1",
                         "advertise_addr", "198.18.0.2", "csr", csr, "labels", "zone", "a");
        ASSERT_NOT_NULL(body);

        /* wrong secret: refused, nothing recorded */
        json_object_set_new(body, "secret", json_string("00"));
        ASSERT_ERR(cluster_join(c, pki, 0, body, 1, &res, &e), EACCES);
        e = err_free(e);
        json_object_del(body, "secret");
        ASSERT_ERR(cluster_join(c, pki, 0, body, 1, &res, &e), EACCES);
        e = err_free(e);
        ASSERT_EQ(n_nodes(c), 0);

        /* bad CSR: refused naming the field, nothing recorded */
        json_object_set_new(body, "secret", json_string(t.secret));
        json_object_set_new(body, "csr", json_string("nope"));
        ASSERT_ERR(cluster_join(c, pki, 0, body, 1, &res, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "'csr'"));
        e = err_free(e);
        json_object_set_new(body, "csr", json_string(csr));
        json_object_set_new(body, "labels", json_pack("{s:i}", "zone", 1));
        ASSERT_ERR(cluster_join(c, pki, 0, body, 1, &res, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "labels.zone"));
        e = err_free(e);
        json_object_set_new(body, "labels", json_pack("{s:s}", "zone", "a"));
        ASSERT_EQ(n_nodes(c), 0);

        /* the agent's clock two hours off the controller's (either way): refused, naming the
         * skew, nothing recorded; within the hour it joins */
        json_object_set_new(body, "time_usec", json_integer(1 + 7200LL * 1000000));
        ASSERT_ERR(cluster_join(c, pki, 0, body, 1, &res, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "clock skew: the agent's clock is 7200 s ahead of"));
        e = err_free(e);
        json_object_set_new(body, "time_usec", json_integer(1));
        ASSERT_ERR(cluster_join(c, pki, 0, body, 7200LL * 1000000 + 1, &res, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(err_msg(e), "7200 s behind"));
        e = err_free(e);
        ASSERT_EQ(n_nodes(c), 0);
        json_object_set_new(body, "time_usec", json_integer(1 + 600LL * 1000000));

        /* the right token: a certificate for the node, signed by the cluster CA */
        ASSERT_OK(cluster_join(c, pki, 0, body, 1, &res, NULL));
        ASSERT_STREQ(json_get_str(res, "id", NULL), "n1");
        ASSERT_OK(csr_cert_info(json_get_str(res, "certificate", ""), &nb, &na, &cn, NULL));
        ASSERT_STREQ(cn, "n1");
        ASSERT_TRUE(na - nb >= 90 * 86400);
        ASSERT_NOT_NULL(strstr(json_get_str(res, "ca", ""), "BEGIN CERTIFICATE"));
        ASSERT_EQ(n_nodes(c), 1);
        /* the node record keeps the address it advertised */
        {
                struct store_kv kv = {};
                _cleanup_json_ json_t *rec = NULL;

                ASSERT_OK(store_get(controller_store(c), "nodes/n1", &kv, NULL));
                ASSERT_OK(json_parse(kv.value, strlen(kv.value), "node", &rec, NULL));
                ASSERT_STREQ(json_get_str(rec, "advertise_addr", ""), "198.18.0.2");
                store_kv_done(&kv);
        }

        /* duplicate name */
        ASSERT_ERR(cluster_join(c, pki, 0, body, 2, &res2, &e), EEXIST);
        e = err_free(e);

        /* renewal */
        ASSERT_OK(cluster_renew(c, pki, 0, "n1", body, &res2, NULL));
        ASSERT_NOT_NULL(strstr(json_get_str(res2, "certificate", ""), "BEGIN CERTIFICATE"));
        json_decref(res2);
        res2 = NULL;
        /* with a short validity (--node-cert-ttl 30s) */
        ASSERT_OK(cluster_renew(c, pki, 30, "n1", body, &res2, NULL));
        ASSERT_OK(csr_cert_info(json_get_str(res2, "certificate", ""), &nb, &na, NULL, NULL));
        ASSERT_TRUE(na - nb <= 61);
        json_decref(res2);
        res2 = NULL;
        ASSERT_ERR(cluster_renew(c, pki, 0, "ghost", body, &res2, &e), ENOENT);
        e = err_free(e);

        /* rotation: the old secret no longer joins */
        oldtok = TAKE_PTR(tok);
        ASSERT_OK(jointoken_parse(oldtok, &old, NULL));
        ASSERT_EQ(jointoken_get(pki, true, 0, &tok, NULL, NULL), 1);
        json_object_set_new(body, "name", json_string("n2"));
        ASSERT_ERR(cluster_join(c, pki, 0, body, 3, &res2, &e), EACCES);
        e = err_free(e);
        ASSERT_EQ(n_nodes(c), 1);

        /* removal revokes every certificate (the join and two renewals) and drops the assignments
         */
        {
                _cleanup_free_ char *path = xasprintf("%s/revoked-serials", pki), *list = NULL;
                _cleanup_free_ char *serial = NULL;
                struct store_kv *kvs = NULL;
                size_t n = 0;

                ASSERT_OK(store_put(controller_store(c), "assignments/n1/shop.web.1.abc", "{}",
                                    STORE_ANY_REV, NULL, NULL));
                ASSERT_OK(revoke_pem_serial(json_get_str(res, "certificate", ""), &serial, NULL));
                ASSERT_EQ(cluster_revoke_node(c, pki, "n1", NULL), 3);
                ASSERT_OK(read_file(path, 65536, &list, NULL, NULL));
                ASSERT_NOT_NULL(strstr(list, serial));
                ASSERT_OK(store_list(controller_store(c), "assignments/n1/", &kvs, &n, NULL));
                ASSERT_EQ(n, 0);
                ASSERT_OK(store_list(controller_store(c), "certs/", &kvs, &n, NULL));
                ASSERT_EQ(n, 0);
                /* again: nothing new */
                ASSERT_EQ(cluster_revoke_node(c, pki, "n1", NULL), 0);
        }

        ASSERT_OK(rm_rf(tmpl, NULL));
}

TAP_MAIN(test_join)
