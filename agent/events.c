/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

struct event_sub {
        struct event_filter filter;
        event_cb *cb;
        void *ud;
        struct event_sub *next;
};

struct event_bus {
        struct event_journal *journal;
        bool journal_failing; /* logged once until a write works again */
        struct event_sub *subs;
};

void event_filter_done(struct event_filter *f) {
        strv_free(f->types);
        strv_free(f->actions);
        strv_free(f->containers);
        strv_free(f->images);
        strv_free(f->networks);
        strv_free(f->volumes);
        strv_free(f->labels);
        *f = (struct event_filter){};
}

static char ***filter_slot(struct event_filter *f, const char *key) {
        if (strcmp(key, "type") == 0)
                return &f->types;
        if (strcmp(key, "event") == 0)
                return &f->actions;
        if (strcmp(key, "container") == 0)
                return &f->containers;
        if (strcmp(key, "image") == 0)
                return &f->images;
        if (strcmp(key, "network") == 0)
                return &f->networks;
        if (strcmp(key, "volume") == 0)
                return &f->volumes;
        if (strcmp(key, "label") == 0)
                return &f->labels;
        return NULL;
}

int event_filter_add(struct event_filter *f, const char *kv, struct err **errp) {
        const char *eq = strchr(kv, '=');
        _cleanup_free_ char *key = NULL;
        char ***slot;

        if (!eq || eq == kv || !eq[1])
                return err_setx(errp, EINVAL, "bad filter '%s': expected KEY=VALUE", kv);
        key = xstrndup(kv, (size_t)(eq - kv));
        slot = filter_slot(f, key);
        if (!slot)
                return err_setx(errp, EINVAL,
                                "invalid filter '%s': expected type, event, container, image, "
                                "network, volume or label",
                                key);
        strv_push(slot, eq + 1);
        return 0;
}

int event_filter_parse(const json_t *filters, struct event_filter *ret, struct err **errp) {
        struct event_filter f = {};
        const char *key;
        json_t *v;

        if (filters && !json_is_object(filters))
                return err_setx(errp, EINVAL, "filters: expected an object");
        json_object_foreach ((json_t *)filters, key, v) {
                char ***slot = filter_slot(&f, key);
                if (!slot) {
                        event_filter_done(&f);
                        return err_setx(errp, EINVAL, "invalid filter '%s'", key);
                }
                if (json_is_array(v)) {
                        size_t i;
                        json_t *x;
                        json_array_foreach (v, i, x) {
                                if (!json_is_string(x)) {
                                        event_filter_done(&f);
                                        return err_setx(errp, EINVAL,
                                                        "filter '%s': expected strings", key);
                                }
                                strv_push(slot, json_string_value(x));
                        }
                } else if (json_is_object(v)) {
                        const char *k2;
                        json_t *x;
                        json_object_foreach (v, k2, x)
                                if (json_is_true(x))
                                        strv_push(slot, k2);
                } else {
                        event_filter_done(&f);
                        return err_setx(errp, EINVAL, "filter '%s': expected a list", key);
                }
        }
        *ret = f;
        return 0;
}

static const char *attr(const struct event *ev, const char *k) {
        return json_string_value(json_object_get(ev->attributes, k));
}

static bool id_or_name_match(char **l, const struct event *ev) {
        const char *name = attr(ev, "name");

        if (!l)
                return true;
        STRV_FOREACH (x, l) {
                if (ev->id && str_startswith(ev->id, *x) && strlen(*x) >= 1)
                        return true;
                if (name && strcmp(name, *x) == 0)
                        return true;
        }
        return false;
}

static bool label_match(char **labels, const struct event *ev) {
        STRV_FOREACH (l, labels) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
                const char *v = attr(ev, k);
                if (!v || (eq && strcmp(v, eq + 1) != 0))
                        return false;
        }
        return true;
}

bool event_filter_match(const struct event_filter *f, const struct event *ev) {
        if (f->types && !strv_contains(f->types, ev->type))
                return false;
        if (f->actions) {
                /* "health_status" matches "health_status: healthy" too */
                bool ok = false;
                STRV_FOREACH (a, f->actions)
                        ok = ok || strcmp(*a, ev->action) == 0 ||
                             (str_startswith(ev->action, *a) && ev->action[strlen(*a)] == ':');
                if (!ok)
                        return false;
        }
        if (f->containers &&
            (strcmp(ev->type, "container") != 0 || !id_or_name_match(f->containers, ev)))
                return false;
        if (f->images) {
                const char *img = attr(ev, "image");
                bool ok = strcmp(ev->type, "image") == 0 ? id_or_name_match(f->images, ev)
                                                         : img && strv_contains(f->images, img);
                if (!ok)
                        return false;
        }
        if (f->networks && (strcmp(ev->type, "network") != 0 || !id_or_name_match(f->networks, ev)))
                return false;
        if (f->volumes && (strcmp(ev->type, "volume") != 0 || !id_or_name_match(f->volumes, ev)))
                return false;
        return label_match(f->labels, ev);
}

json_t *event_to_json(const struct event *ev) {
        json_t *j = json_object();

        json_object_set_new(j, "Type", json_string(ev->type));
        json_object_set_new(j, "Action", json_string(ev->action));
        json_object_set_new(j, "Actor",
                            json_pack("{s:s,s:O}", "ID", ev->id ? ev->id : "", "Attributes",
                                      ev->attributes ? ev->attributes : json_object()));
        json_object_set_new(j, "scope", json_string("local"));
        json_object_set_new(j, "time", json_integer((json_int_t)(ev->time_nsec / 1000000000ULL)));
        json_object_set_new(j, "timeNano", json_integer((json_int_t)ev->time_nsec));
        if (strcmp(ev->type, "container") == 0) {
                json_object_set_new(j, "status", json_string(ev->action));
                json_object_set_new(j, "id", json_string(ev->id ? ev->id : ""));
                if (attr(ev, "image"))
                        json_object_set_new(j, "from", json_string(attr(ev, "image")));
        }
        return j;
}

struct event_bus *event_bus_new(void) {
        return xnew0(struct event_bus, 1);
}

void event_bus_set_journal(struct event_bus *b, struct event_journal *j) {
        event_journal_free(b->journal);
        b->journal = j;
}

struct event_bus *event_bus_free(struct event_bus *b) {
        if (!b)
                return NULL;
        event_journal_free(b->journal);
        while (b->subs) {
                struct event_sub *s = b->subs;
                b->subs = s->next;
                event_filter_done(&s->filter);
                free(s);
        }
        free(b);
        return NULL;
}

void event_bus_freep(struct event_bus **b) {
        *b = event_bus_free(*b);
}

void event_publish(struct event_bus *b, uint64_t time_nsec, const char *type, const char *action,
                   const char *id, json_t *attributes) {
        _cleanup_json_ json_t *attrs = attributes ? attributes : json_object();
        const struct event e = {
                .time_nsec = time_nsec,
                .type = (char *)type,
                .action = (char *)action,
                .id = (char *)(id ? id : ""),
                .attributes = attrs,
        };

        if (b->journal) {
                _cleanup_err_ struct err *err = NULL;

                if (event_journal_append(b->journal, &e, &err) < 0) {
                        if (!b->journal_failing)
                                log_warn(NULL, "Failed to record event '%s %s' in the journal: %s",
                                         type, action, err_msg(err));
                        b->journal_failing = true;
                } else
                        b->journal_failing = false;
        }
        /* A callback may unsubscribe itself: keep the next pointer first. */
        for (struct event_sub *s = b->subs, *next; s; s = next) {
                next = s->next;
                if (event_filter_match(&s->filter, &e))
                        s->cb(&e, s->ud);
        }
}

static char **copy_l(char **l) {
        return l ? strv_copy(l) : NULL;
}

struct event_sub *event_subscribe(struct event_bus *b, const struct event_filter *f,
                                  uint64_t since_nsec, uint64_t until_nsec, event_cb *cb,
                                  void *userdata) {
        struct event_sub *s = xnew0(struct event_sub, 1);

        if (f)
                s->filter = (struct event_filter){
                        .types = copy_l(f->types),
                        .actions = copy_l(f->actions),
                        .containers = copy_l(f->containers),
                        .images = copy_l(f->images),
                        .networks = copy_l(f->networks),
                        .volumes = copy_l(f->volumes),
                        .labels = copy_l(f->labels),
                };
        s->cb = cb;
        s->ud = userdata;
        if (since_nsec && b->journal) {
                _cleanup_err_ struct err *err = NULL;

                if (event_journal_read(b->journal, since_nsec, until_nsec, &s->filter, cb, userdata,
                                       NULL, &err) < 0)
                        log_warn(NULL, "Failed to read the event journal, ignoring: %s",
                                 err_msg(err));
        }
        s->next = b->subs;
        b->subs = s;
        return s;
}

void event_unsubscribe(struct event_bus *b, struct event_sub *s) {
        for (struct event_sub **p = &b->subs; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        event_filter_done(&s->filter);
                        free(s);
                        return;
                }
}

unsigned event_bus_subscribers(const struct event_bus *b) {
        unsigned n = 0;

        for (struct event_sub *s = b->subs; s; s = s->next)
                n++;
        return n;
}
