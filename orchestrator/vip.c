/* SPDX-License-Identifier: Apache-2.0 */
/* Service VIP allocation in the controller's store (vip.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ip4.h"
#include "json.h"
#include "macro.h"
#include "strv.h"
#include "vip.h"
#include "xalloc.h"

#define VIP_MAX_OPS 4096

/* Endpoint ports, or compose `expose` ports of a container. */
static bool has_ports(const json_t *svc) {
        const json_t *ct;
        size_t i;

        if (json_array_size(json_object_get(json_object_get(svc, "endpoint"), "ports")) > 0)
                return true;
        json_array_foreach (json_object_get(json_object_get(svc, "pod"), "containers"), i, ct)
                if (json_array_size(json_object_get(ct, "expose")) > 0)
                        return true;
        return false;
}

char **vip_wanted(const json_t *model) {
        char **out = xnew0(char *, 1);
        const char *name;
        json_t *svc;

        json_object_foreach ((json_t *)json_object_get(model, "services"), name, svc) {
                const json_t *ep = json_object_get(svc, "endpoint");
                const json_t *pod = json_object_get(svc, "pod");
                const json_t *nets = json_object_get(pod, "networks");
                const char *k;
                json_t *v;
                size_t before = strv_length(out);

                if (!streq(json_get_str(ep, "mode", "vip"), "vip") || !has_ports(svc) ||
                    json_get_str(pod, "network_mode", NULL))
                        continue;
                json_object_foreach ((json_t *)nets, k, v)
                        strv_push_take(&out, xasprintf("%s/%s", name, k));
                if (strv_length(out) == before)
                        strv_push_take(&out, xasprintf("%s/default", name));
        }
        qsort_safe(out, strv_length(out), sizeof(char *), strv_cmp);
        return out;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

int vip_sync(struct store *s, const char *stack, const json_t *model, struct err **errp) {
        _cleanup_free_ char *prefix = xasprintf("vips/%s/", stack);
        _cleanup_strv_ char **want = vip_wanted(model), **keys = NULL, **values = NULL;
        _cleanup_free_ uint32_t *used = NULL;
        _cleanup_free_ struct store_op *ops = NULL;
        struct store_kv *kvs = NULL;
        size_t n = 0, n_used = 0, n_ops = 0, next = 0;
        uint32_t first = VIP_RANGE_BASE + 1,
                 last = VIP_RANGE_BASE + (1u << (32 - VIP_RANGE_PREFIX)) - 2;
        int r;

        r = store_list(s, "vips/", &kvs, &n, errp);
        if (r < 0)
                return r;
        used = xnew0(uint32_t, n + 1);
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = NULL;
                uint32_t ip;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) >= 0 &&
                    ip4_parse(json_get_str(j, "ip", NULL), &ip))
                        used[n_used++] = ip;
                /* A VIP of this stack that is no longer wanted goes. */
                if (str_startswith(kvs[i].key, prefix) &&
                    !strv_contains(want, kvs[i].key + strlen(prefix))) {
                        strv_push(&keys, kvs[i].key);
                        strv_push(&values, "");
                }
        }
        qsort_safe(used, n_used, sizeof(uint32_t), cmp_u32);
        STRV_FOREACH (w, want) {
                _cleanup_free_ char *key = xasprintf("%s%s", prefix, *w), *ip = NULL;
                bool have = false;

                for (size_t i = 0; i < n && !have; i++)
                        have = streq(kvs[i].key, key);
                if (have)
                        continue;
                /* The lowest free address: used[] is sorted, walk it along. */
                while (first <= last) {
                        while (next < n_used && used[next] < first)
                                next++;
                        if (next < n_used && used[next] == first) {
                                first++;
                                continue;
                        }
                        break;
                }
                if (first > last) {
                        store_kvs_free(kvs, n);
                        return err_setx(errp, ENOSPC,
                                        "stack '%s': service VIP range is full, no address for "
                                        "'%s'",
                                        stack, *w);
                }
                ip = ip4_format(first++);
                strv_push(&keys, key);
                strv_push_take(&values, xasprintf("{\"ip\":\"%s\"}", ip));
        }
        store_kvs_free(kvs, n);
        n_ops = strv_length(keys);
        if (n_ops == 0)
                return 0;
        if (n_ops > VIP_MAX_OPS)
                return err_setx(errp, E2BIG, "stack '%s': more than %d service VIPs", stack,
                                VIP_MAX_OPS);
        ops = xnew0(struct store_op, n_ops);
        for (size_t i = 0; i < n_ops; i++)
                ops[i] = values[i][0]
                                 ? (struct store_op){STORE_OP_PUT, keys[i], values[i], STORE_ABSENT}
                                 : (struct store_op){STORE_OP_DELETE, keys[i], NULL, STORE_ANY_REV};
        r = store_txn(s, ops, n_ops, NULL, errp);
        return r < 0 ? err_wrap(errp, "stack '%s': store service VIPs", stack) : 0;
}

int vip_release(struct store *s, const char *stack, struct err **errp) {
        _cleanup_free_ char *prefix = xasprintf("vips/%s/", stack);

        return store_delete_prefix(s, prefix, errp);
}

int vip_get(struct store *s, const char *stack, json_t **ret, struct err **errp) {
        _cleanup_free_ char *prefix = xasprintf("vips/%s/", stack);
        _cleanup_json_ json_t *out = json_object();
        struct store_kv *kvs = NULL;
        size_t n = 0;
        int r;

        r = store_list(s, prefix, &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = NULL;
                _cleanup_free_ char *svc = xstrdup(kvs[i].key + strlen(prefix));
                char *net = strchr(svc, '/');
                json_t *per;

                if (!net ||
                    json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) < 0 ||
                    !json_get_str(j, "ip", NULL))
                        continue;
                *net++ = 0;
                per = json_object_get(out, svc);
                if (!per) {
                        per = json_object();
                        json_object_set_new(out, svc, per);
                }
                json_object_set(per, net, json_object_get(j, "ip"));
        }
        store_kvs_free(kvs, n);
        *ret = TAKE_PTR(out);
        return 0;
}
