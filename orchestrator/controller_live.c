/* SPDX-License-Identifier: Apache-2.0 */
/* Node liveness in the controller's memory (issue #10). Every status report is a heartbeat, and
 * with 100 nodes reporting every second, storing each one and planning after each made an
 * overloaded controller fall behind its own heartbeats and declare live nodes down. Now:
 *
 * - a report equal to the last stored one (canonical JSON, so only the time is new) updates
 *   the node's seen time in memory: no store write, no pass (ctl_heartbeat_only);
 * - a report that changes something is stored as before, and the nodes/ watch asks for a
 *   (spaced, coalesced) pass;
 * - the `live` timer judges liveness from the seen times and asks for a pass only when a node
 *   goes silent past the grace or comes back (hb_check), and stores the seen times lazily, at
 *   most every CONTROLLER_HB_STORE_SEC, in one transaction the nodes/ watch ignores;
 * - every pass and `node ls` read the newer of the stored and the in-memory time.
 *
 * The "heard once since my start" rule is unchanged: `reported` is reset in the store at start
 * and only a stored report sets it, and the table starts with no stored report, so the first
 * report of every node after a start is stored. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "controller_int.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "model.h"
#include "nodes.h"
#include "strv.h"
#include "xalloc.h"

/* The liveness timer's period for a grace: a tenth of it, within [50 ms, 100 ms]. Every report
 * checks too (a node is down relative to the others, so it is usually another node's report
 * that makes it down); the timer covers a controller that hears from nobody. */
static double live_period(uint64_t grace_usec) {
        double p = (double)grace_usec / (double)USEC_PER_SEC / 10.0;

        return p < 0.05 ? 0.05 : p > 0.1 ? 0.1 : p;
}

void ctl_fix_observed(struct observed *o, void *ud) {
        struct controller *c = ud;

        for (size_t i = 0; i < o->n_nodes; i++) {
                const struct hb_entry *e = hb_get(&c->hb, o->nodes[i].id, false);

                if (e && e->seen_usec > o->nodes[i].last_heartbeat_usec)
                        o->nodes[i].last_heartbeat_usec = e->seen_usec;
        }
}

uint64_t controller_node_seen(struct controller *c, const char *id) {
        const struct hb_entry *e = hb_get(&c->hb, id, false);

        return e ? e->seen_usec : 0;
}

bool ctl_heartbeat_only(struct controller *c, const char *node, const char *text,
                        uint64_t now_usec) {
        struct hb_entry *e = hb_get(&c->hb, node, false);
        bool was_down = e && e->down;
        bool only = hb_seen(&c->hb, node, text, now_usec);

        if (was_down) {
                /* Back after being judged down: the planner must look (stale copies,
                 * rebalancing), even if its report is the same as before it went away. */
                hb_get(&c->hb, node, false)->down = false;
                ctl_want_pass(c);
        }
        return only;
}

void ctl_live_node_changed(struct controller *c, const char *key, bool deleted) {
        const char *id = key + strlen("nodes/");

        if (deleted)
                hb_remove(&c->hb, id);
        else
                hb_forget_report(&c->hb, id);
}

int controller_store_heartbeats(struct controller *c, uint64_t now_usec, struct err **errp) {
        _cleanup_strv_ char **ids = NULL;
        _cleanup_free_ uint64_t *usecs = NULL;
        size_t n = hb_due(&c->hb, &ids, &usecs);
        int r;

        c->hb_stored_at = now_usec;
        if (n == 0)
                return 0;
        c->hb_writing = true;
        r = nodes_store_heartbeats(c->store, ids, usecs, n, errp);
        c->hb_writing = false;
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct hb_entry *e = hb_get(&c->hb, ids[i], false);
                if (e)
                        e->stored_usec = usecs[i];
        }
        return r;
}

size_t controller_check_liveness(struct controller *c, uint64_t now_usec) {
        size_t changed = hb_check(&c->hb, now_usec, c->grace_usec);

        if (changed > 0)
                ctl_want_pass(c);
        return changed;
}

static void live_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct controller *c = container_of(w, struct controller, live);
        uint64_t now = realtime_usec();

        (void)loop;
        (void)revents;
        controller_check_liveness(c, now);
        if (now - c->hb_stored_at >= (uint64_t)(CONTROLLER_HB_STORE_SEC * USEC_PER_SEC)) {
                _cleanup_err_ struct err *e = NULL;

                if (controller_store_heartbeats(c, now, &e) < 0)
                        log_warn(NULL, "Failed to store node heartbeats, ignoring: %s", err_msg(e));
        }
}

/* Fills the table from the stored nodes (after nodes_reset_reported()), so a node silent since
 * the start goes down after the grace like any other, and starts the timer. */
void ctl_live_start(struct controller *c) {
        struct store_kv *kvs = NULL;
        size_t n = 0;

        if (store_list(c->store, "nodes/", &kvs, &n, NULL) >= 0)
                for (size_t i = 0; i < n; i++) {
                        _cleanup_json_ json_t *doc = NULL;
                        struct hb_entry *e;

                        if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &doc, NULL) <
                            0)
                                continue;
                        e = hb_get(&c->hb, kvs[i].key + strlen("nodes/"), true);
                        e->seen_usec = e->stored_usec =
                                (uint64_t)json_get_int(doc, "last_heartbeat_usec", 0);
                }
        store_kvs_free(kvs, n);
        c->hb_stored_at = realtime_usec();
        if (c->loop) {
                double p = live_period(c->grace_usec);

                ev_timer_init(&c->live, live_cb, p, p);
                ev_timer_start(c->loop, &c->live);
        }
}

void ctl_live_stop(struct controller *c) {
        if (c->loop)
                ev_timer_stop(c->loop, &c->live);
        hb_table_done(&c->hb);
}

/* The grace changed (--node-grace, set after controller_new): the timer follows it. */
void ctl_live_regrace(struct controller *c) {
        if (c->loop && ev_is_active(&c->live)) {
                double p = live_period(c->grace_usec);

                ev_timer_stop(c->loop, &c->live);
                ev_timer_set(&c->live, p, p);
                ev_timer_start(c->loop, &c->live);
        }
}
