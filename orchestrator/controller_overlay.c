/* SPDX-License-Identifier: Apache-2.0 */
/* Overlay networks in the controller's loop (overlay.h): the address pass after each reconcile
 * pass, and waking the agents whose overlay view (endpoint table, addresses) changed. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controller_int.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "overlay.h"
#include "strv.h"
#include "xalloc.h"

/* FNV-1a, 64 bits, as hex: what a node was last given, without keeping it. */
static char *digest(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++) {
                h ^= (uint8_t)*s;
                h *= UINT64_C(0x100000001b3);
        }
        return xasprintf("%016" PRIx64, h);
}

static void bump(struct controller *c, const char *node, uint64_t rev) {
        for (size_t i = 0; i < c->n_revs; i++)
                if (streq(c->revs[i].node, node)) {
                        c->revs[i].rev = rev;
                        return;
                }
        XGROW(c->revs, c->alloc_revs, c->n_revs + 1);
        c->revs[c->n_revs++] = (struct node_rev){xstrdup(node), rev};
}

void ctl_overlay_pass(struct controller *c) {
        _cleanup_err_ struct err *e = NULL;
        struct store_kv *kvs = NULL;
        size_t n = 0;
        bool woke = false;

        if (!overlay_any(c->store)) {
                json_decref(c->overlay_digests);
                c->overlay_digests = NULL;
                return;
        }
        if (overlay_assign(c->store, &e) < 0)
                log_warn(NULL, "Failed to allocate overlay addresses: %s", err_msg(e));
        if (!c->overlay_digests)
                c->overlay_digests = json_object();
        if (store_list(c->store, "nodes/", &kvs, &n, NULL) < 0)
                return;
        /* A node's view changes when a pod elsewhere moves, goes or becomes ready, which does
         * not touch its own assignments: compare what it would get now with what it got. */
        for (size_t i = 0; i < n; i++) {
                const char *node = kvs[i].key + strlen("nodes/");
                _cleanup_json_ json_t *ans = NULL;
                _cleanup_free_ char *text = NULL, *d = NULL;

                if (controller_assignments(c, node, &ans, NULL) < 0)
                        continue;
                json_object_del(ans, "revision");
                json_object_del(ans, "stop_timeouts");
                text = json_dump_str(ans, false);
                d = digest(text);
                if (streq_ptr(json_get_str(c->overlay_digests, node, NULL), d))
                        continue;
                json_set_str(c->overlay_digests, node, d);
                bump(c, node, store_revision(c->store));
                woke = true;
        }
        store_kvs_free(kvs, n);
        if (woke)
                ctl_waiters_flush(c, false);
}
