/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "heartbeat.h"
#include "macro.h"
#include "strv.h"
#include "xalloc.h"

void hb_table_done(struct hb_table *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->e[i].id);
                free(t->e[i].report);
        }
        free(t->e);
        *t = (struct hb_table){};
}

struct hb_entry *hb_get(struct hb_table *t, const char *id, bool create) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->e[i].id, id))
                        return &t->e[i];
        if (!create)
                return NULL;
        XGROW(t->e, t->alloc, t->n + 1);
        t->e[t->n] = (struct hb_entry){.id = xstrdup(id)};
        return &t->e[t->n++];
}

void hb_remove(struct hb_table *t, const char *id) {
        struct hb_entry *e = hb_get(t, id, false);

        if (!e)
                return;
        free(e->id);
        free(e->report);
        *e = t->e[--t->n];
}

char *hb_report_text(const json_t *status) {
        char *s = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);

        if (!s)
                abort(); /* jansson fails only on OOM for a valid value */
        return s;
}

bool hb_seen(struct hb_table *t, const char *id, const char *text, uint64_t now_usec) {
        struct hb_entry *e = hb_get(t, id, false);

        if (!e)
                return false;
        e->seen_usec = MAX(e->seen_usec, now_usec);
        return e->report && text && streq(e->report, text);
}

void hb_stored(struct hb_table *t, const char *id, char *text_take, uint64_t now_usec) {
        struct hb_entry *e = hb_get(t, id, true);

        free(e->report);
        e->report = text_take;
        e->seen_usec = MAX(e->seen_usec, now_usec);
        e->stored_usec = now_usec;
}

void hb_forget_report(struct hb_table *t, const char *id) {
        struct hb_entry *e = hb_get(t, id, false);

        if (e) {
                free(e->report);
                e->report = NULL;
        }
}

size_t hb_check(struct hb_table *t, uint64_t now_usec, uint64_t grace_usec) {
        uint64_t newest = 0;
        size_t changed = 0;

        for (size_t i = 0; i < t->n; i++)
                newest = MAX(newest, t->e[i].seen_usec);
        for (size_t i = 0; i < t->n; i++) {
                struct hb_entry *e = &t->e[i];
                /* The planner's rule (orchestrator/sched.c sched_new): down only while another
                 * node was heard more than the grace after this one; when all are silent the
                 * controller itself was stalled or cut off. */
                bool down = now_usec > e->seen_usec && now_usec - e->seen_usec > grace_usec &&
                            newest - e->seen_usec > grace_usec;

                if (down != e->down) {
                        e->down = down;
                        changed++;
                }
        }
        return changed;
}

size_t hb_due(const struct hb_table *t, char ***ret_ids, uint64_t **ret_usecs) {
        char **ids = NULL;
        uint64_t *usecs = NULL;
        size_t n = 0;

        for (size_t i = 0; i < t->n; i++)
                if (t->e[i].seen_usec > t->e[i].stored_usec) {
                        strv_push(&ids, t->e[i].id);
                        usecs = xreallocarray(usecs, n + 1, sizeof(*usecs));
                        usecs[n++] = t->e[i].seen_usec;
                }
        *ret_ids = ids;
        *ret_usecs = usecs;
        return n;
}
