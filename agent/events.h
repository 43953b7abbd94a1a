/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* The daemon's event stream (`berth events`, issue #6): a bounded in-memory history plus live
 * subscribers, with docker's event shape and filters (type, event, container, image, network,
 * volume, label). Single-threaded: publish and deliver run on the daemon's loop. */

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

struct event_bus;
struct event_sub;

struct event_bus *event_bus_new(unsigned capacity);
struct event_bus *event_bus_free(struct event_bus *b);
void event_bus_freep(struct event_bus **b);

/* Records and delivers an event; takes ownership of attributes (may be NULL). */
void event_publish(struct event_bus *b, uint64_t time_nsec, const char *type, const char *action,
                   const char *id, json_t *attributes);

/* Subscribes with a filter (copied). Events of the history at or after since_nsec (0 = none of
 * the history) are delivered at once, in order; then live ones until unsubscribed.
 * until_nsec 0 = unbounded (history delivery stops at until, live delivery is the caller's). */
struct event_sub *event_subscribe(struct event_bus *b, const struct event_filter *f,
                                  uint64_t since_nsec, uint64_t until_nsec, event_cb *cb,
                                  void *userdata);
void event_unsubscribe(struct event_bus *b, struct event_sub *s);
unsigned event_bus_subscribers(const struct event_bus *b);
