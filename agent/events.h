/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* The daemon's event stream (`berth events`, issue #6): live subscribers in memory and the
 * history in a bounded journal on disk (<root>/events/, events_journal.c), with docker's event
 * shape and filters (type, event, container, image, network, volume, label). The history
 * outlives the daemon: `events --since` sees events from before a restart. Single-threaded:
 * publish and deliver run on the daemon's loop. */

struct event {
        uint64_t time_nsec;
        char *type;         /* container, image, network, volume, daemon */
        char *action;       /* create, start, die, health_status: healthy, ... */
        char *id;           /* the object's id */
        json_t *attributes; /* object of strings: name, image, exitCode, ... (owned) */
};

struct event_filter {
        char **types, **actions, **containers, **images, **networks, **volumes, **labels;
};

/* Parses docker's filters JSON ({"type":["container"],"event":["die"],...} or the older
 * {"type":{"container":true}}). Unknown keys are -EINVAL naming the key. */
int event_filter_parse(const json_t *filters, struct event_filter *ret, struct err **errp);
/* Parses one "key=value" CLI filter into f. */
int event_filter_add(struct event_filter *f, const char *kv, struct err **errp);
void event_filter_done(struct event_filter *f);
bool event_filter_match(const struct event_filter *f, const struct event *ev);

/* docker's JSON: {"Type","Action","Actor":{"ID","Attributes"},"scope":"local","time",
 * "timeNano"} plus the legacy status/id/from for containers. */
json_t *event_to_json(const struct event *ev);

typedef void event_cb(const struct event *ev, void *userdata);

/* The journal: DIR/events.log and DIR/events.log.1, JSON lines, at most max_bytes together
 * (the older half rolls off whole). Appends are one write(2) each, never fsync'ed; a line cut
 * short by a crash is skipped by the reader. */
#define EVENT_JOURNAL_MIN_BYTES 4096u
#define EVENT_JOURNAL_DEFAULT_BYTES (2u << 20)
struct event_journal;
int event_journal_open(const char *dir, uint64_t max_bytes, struct event_journal **ret,
                       struct err **errp);
struct event_journal *event_journal_free(struct event_journal *j);
void event_journal_freep(struct event_journal **j);
int event_journal_append(struct event_journal *j, const struct event *ev, struct err **errp);
/* Calls cb, oldest first, for each event at or after since_nsec and (until_nsec != 0) at or
 * before until_nsec that matches f (NULL: all). Lines that do not parse are skipped and
 * counted in *ret_skipped (may be NULL). The event passed to cb is valid during the call. */
int event_journal_read(struct event_journal *j, uint64_t since_nsec, uint64_t until_nsec,
                       const struct event_filter *f, event_cb *cb, void *userdata,
                       unsigned *ret_skipped, struct err **errp);

struct event_bus;
struct event_sub;

struct event_bus *event_bus_new(void);
struct event_bus *event_bus_free(struct event_bus *b);
void event_bus_freep(struct event_bus **b);
/* Gives the bus its history (takes ownership). Without one, events only go to subscribers. */
void event_bus_set_journal(struct event_bus *b, struct event_journal *j);

/* Records and delivers an event; takes ownership of attributes (may be NULL). A failed journal
 * write is logged (once until writes work again) and the event is still delivered. */
void event_publish(struct event_bus *b, uint64_t time_nsec, const char *type, const char *action,
                   const char *id, json_t *attributes);

/* Subscribes with a filter (copied). Events of the history at or after since_nsec (0 = none of
 * the history) are delivered at once, in order; then live ones until unsubscribed.
 * until_nsec 0 = unbounded (history delivery stops at until, live delivery is the caller's).
 * A history that cannot be read is logged and not delivered. */
struct event_sub *event_subscribe(struct event_bus *b, const struct event_filter *f,
                                  uint64_t since_nsec, uint64_t until_nsec, event_cb *cb,
                                  void *userdata);
void event_unsubscribe(struct event_bus *b, struct event_sub *s);
unsigned event_bus_subscribers(const struct event_bus *b);
