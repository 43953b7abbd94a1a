/* SPDX-License-Identifier: Apache-2.0 */
/* Pure helpers of the container manager: reference lookup, ps status text, ps filters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clog.h"
#include "containers.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

int ctr_ref_index(const char *const *ids, const char *const *names, size_t n, const char *ref) {
        const char *name = ref[0] == '/' ? ref + 1 : ref;
        size_t rlen = strlen(ref);
        int found = -ENOENT;

        if (!ref[0])
                return -ENOENT;
        for (size_t i = 0; i < n; i++)
                if (streq(ids[i], ref))
                        return (int)i;
        for (size_t i = 0; i < n; i++) {
                const char *nm = names[i][0] == '/' ? names[i] + 1 : names[i];
                if (streq(nm, name))
                        return (int)i;
        }
        for (size_t i = 0; i < n; i++)
                if (strncmp(ids[i], ref, rlen) == 0) {
                        if (found >= 0)
                                return -EINVAL;
                        found = (int)i;
                }
        return found;
}

static char *human_duration(uint64_t usec) {
        uint64_t s = usec / USEC_PER_SEC;

        if (s < 1)
                return xstrdup("Less than a second");
        if (s == 1)
                return xstrdup("1 second");
        if (s < 60)
                return xasprintf("%llu seconds", (unsigned long long)s);
        if (s < 120)
                return xstrdup("About a minute");
        if (s < 3600)
                return xasprintf("%llu minutes", (unsigned long long)(s / 60));
        if (s < 7200)
                return xstrdup("About an hour");
        if (s < 48 * 3600)
                return xasprintf("%llu hours", (unsigned long long)(s / 3600));
        return xasprintf("%llu days", (unsigned long long)(s / 86400));
}

static uint64_t since(const char *t, uint64_t now_usec) {
        uint64_t ns = 0;

        if (!t || clog_parse_time(t, now_usec * NSEC_PER_USEC, &ns, NULL) < 0)
                return 0;
        return now_usec > ns / NSEC_PER_USEC ? now_usec - ns / NSEC_PER_USEC : 0;
}

char *ctr_status_text(const json_t *st, uint64_t now_usec) {
        const char *status = json_get_str(st, "Status", "created");
        _cleanup_free_ char *d = NULL;

        if (streq(status, "running") || streq(status, "paused")) {
                d = human_duration(since(json_get_str(st, "StartedAt", NULL), now_usec));
                const char *h = json_get_str(json_object_get(st, "Health"), "Status", "");

                if (streq(status, "paused"))
                        return xasprintf("Up %s (Paused)", d);
                /* docker's health suffix */
                return xasprintf("Up %s%s%s%s", d, h[0] ? " (" : "",
                                 streq(h, "starting") ? "health: starting" : h, h[0] ? ")" : "");
        }
        if (streq(status, "restarting")) {
                d = human_duration(since(json_get_str(st, "FinishedAt", NULL), now_usec));
                return xasprintf("Restarting (%d) %s ago", (int)json_get_int(st, "ExitCode", 0), d);
        }
        if (streq(status, "exited")) {
                d = human_duration(since(json_get_str(st, "FinishedAt", NULL), now_usec));
                return xasprintf("Exited (%d) %s ago", (int)json_get_int(st, "ExitCode", 0), d);
        }
        if (streq(status, "removing"))
                return xstrdup("Removal In Progress");
        return xstrdup("Created");
}

int ctr_filter_match(const json_t *rec, const char *filter, struct err **errp) {
        const char *eq = strchr(filter, '='), *v;
        const json_t *st = json_object_get(rec, "State");
        _cleanup_free_ char *key = NULL;

        if (!eq)
                return err_setx(errp, EINVAL, "bad format of filter (expected name=value): '%s'",
                                filter);
        key = xstrndup(filter, (size_t)(eq - filter));
        v = eq + 1;
        if (streq(key, "status")) {
                static const char *const ok[] = {"created", "restarting", "running", "removing",
                                                 "paused",  "exited",     "dead"};
                bool valid = false;
                for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                        valid = valid || streq(ok[i], v);
                if (!valid)
                        return err_setx(errp, EINVAL, "invalid filter 'status=%s'", v);
                return streq(json_get_str(st, "Status", ""), v);
        }
        if (streq(key, "name")) {
                const char *n = json_get_str(rec, "Name", "");
                return strstr(n[0] == '/' ? n + 1 : n, v[0] == '/' ? v + 1 : v) != NULL;
        }
        if (streq(key, "id"))
                return str_startswith(json_get_str(rec, "Id", ""), v);
        if (streq(key, "label")) {
                const json_t *labels = json_object_get(json_object_get(rec, "Config"), "Labels");
                const char *leq = strchr(v, '=');
                _cleanup_free_ char *k = leq ? xstrndup(v, (size_t)(leq - v)) : xstrdup(v);
                const json_t *lv = json_object_get(labels, k);

                if (!lv)
                        return 0;
                return !leq || streq(json_string_value(lv) ? json_string_value(lv) : "", leq + 1);
        }
        if (streq(key, "exited")) {
                char *end;
                long code = strtol(v, &end, 10);
                if (!v[0] || *end)
                        return err_setx(errp, EINVAL, "invalid filter 'exited=%s'", v);
                return streq(json_get_str(st, "Status", ""), "exited") &&
                       json_get_int(st, "ExitCode", -1) == code;
        }
        return err_setx(errp, EINVAL, "invalid filter '%s'", key);
}
