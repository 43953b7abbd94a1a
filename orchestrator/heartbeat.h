/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller's in-memory view of node liveness (issue #10): when each node was last heard
 * and what it last reported. A status report that repeats the last stored one (only the
 * heartbeat is new) updates the time here and nothing else: no store write, no reconcile pass.
 * Liveness is judged from these times; the store keeps them lazily (hb_due()).
 *
 * One entry per node id. Lookups are linear: a controller has hundreds of nodes at most, and a
 * report costs one lookup. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct hb_entry {
        char *id;
        uint64_t seen_usec;   /* last report (any), on the controller's clock */
        uint64_t stored_usec; /* last_heartbeat_usec as the store holds it */
        char *report;         /* the last stored report's agent fields (canonical JSON); NULL
                               * when unknown (the record changed behind us, or never stored) */
        bool down;            /* judged down at the last hb_check() */
};

struct hb_table {
        struct hb_entry *e;
        size_t n, alloc;
};

void hb_table_done(struct hb_table *t);
/* The entry of id, created (seen 0) when create is set, else NULL when absent. The pointer is
 * valid until the next call that creates or removes an entry. */
struct hb_entry *hb_get(struct hb_table *t, const char *id, bool create);
void hb_remove(struct hb_table *t, const char *id);

/* The canonical text of a status report (keys sorted, compact), what hb_seen() compares. */
char *hb_report_text(const json_t *status);

/* A report arrived for id at now_usec. Returns true when it is a heartbeat only: the entry
 * holds a stored report equal to text, so nothing the planner reads changed. The seen time of
 * a known entry moves to now_usec either way; an unknown id is left alone (false). */
bool hb_seen(struct hb_table *t, const char *id, const char *text, uint64_t now_usec);
/* The report text was stored (node_report()) at now_usec: takes ownership of text_take. */
void hb_stored(struct hb_table *t, const char *id, char *text_take, uint64_t now_usec);
/* The node's record changed behind the table's back (a join, an operator update, a removal):
 * the next report is stored whatever it holds. */
void hb_forget_report(struct hb_table *t, const char *id);

/* Updates each entry's down flag and returns how many changed: a node that went silent or came
 * back needs a reconcile pass. Down is the planner's rule: silent for longer than grace_usec at
 * now_usec while another node was heard more than grace_usec after it (so the flip happens
 * when that other node's report arrives, and a pass then sees the node down). */
size_t hb_check(struct hb_table *t, uint64_t now_usec, uint64_t grace_usec);

/* The ids whose seen time is newer than what the store holds (allocated strv, NULL when none),
 * with their times in *ret_usecs (allocated). */
size_t hb_due(const struct hb_table *t, char ***ret_ids, uint64_t **ret_usecs);
