/* SPDX-License-Identifier: Apache-2.0 */
/* Container events on the daemon's bus (issue #6): docker's actions and attributes. */
#include <stdio.h>

#include "ctr_internal.h"
#include "api.h"
#include "events.h"
#include "fileio.h"
#include "json.h"

void ctr_event(struct ctr *c, const char *action, json_t *extra_take) {
        const json_t *cfg = json_object_get(c->rec, "Config");
        json_t *attrs = json_object(), *labels = json_object_get(cfg, "Labels");
        const char *k;
        json_t *v;

        /* docker puts the container's labels among the attributes, then its own keys */
        json_object_foreach (labels, k, v)
                if (json_is_string(v))
                        json_object_set(attrs, k, v);
        json_object_set_new(attrs, "name", json_string(ctr_name(c)));
        json_object_set_new(attrs, "image", json_string(json_get_str(cfg, "Image", "")));
        if (extra_take) {
                json_object_update(attrs, extra_take);
                json_decref(extra_take);
        }
        if (!c->m->d || !c->m->d->events) {
                json_decref(attrs);
                return;
        }
        event_publish(c->m->d->events, realtime_usec() * 1000, "container", action, c->id, attrs);
}

void ctr_event_die(struct ctr *c, int exit_code) {
        char code[16];

        snprintf(code, sizeof(code), "%d", exit_code);
        ctr_event(c, "die", json_pack("{s:s}", "exitCode", code));
}

void ctr_event_kill(struct ctr *c, int sig) {
        char s[16];

        snprintf(s, sizeof(s), "%d", sig);
        ctr_event(c, "kill", json_pack("{s:s}", "signal", s));
}

void ctr_volume_event(struct ctr_mgr *m, const char *action, const char *name) {
        if (!m->d)
                return;
        event_publish(m->d->events, realtime_usec() * 1000, "volume", action, name,
                      json_pack("{s:s}", "driver", "local"));
}
