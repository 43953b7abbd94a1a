/* SPDX-License-Identifier: Apache-2.0 */
/* Field-by-field difference of two canonical models, for `berth diff`. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "stacks_diff.h"
#include "strv.h"
#include "xalloc.h"

#define VALUE_SHOWN_MAX 60

static bool skipped(const char *key) {
        return streq(key, "up") || streq(key, "x-rollout") || streq(key, "hash");
}

static char *show(const json_t *v) {
        _cleanup_free_ char *s = NULL;

        if (!v)
                return xstrdup("(absent)");
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
                return xstrdup("?");
        if (strlen(s) > VALUE_SHOWN_MAX)
                return xasprintf("%.*s...", VALUE_SHOWN_MAX, s);
        return TAKE_PTR(s);
}

static void diff(FILE *f, const char *path, const json_t *a, const json_t *b, unsigned *n) {
        if (!a && !b)
                return;
        if (a && b && json_is_object(a) && json_is_object(b)) {
                const char *k;
                json_t *v;

                json_object_foreach ((json_t *)a, k, v) {
                        _cleanup_free_ char *p = xasprintf("%s%s%s", path, *path ? "." : "", k);
                        if (!skipped(k))
                                diff(f, p, v, json_object_get(b, k), n);
                }
                json_object_foreach ((json_t *)b, k, v) {
                        _cleanup_free_ char *p = xasprintf("%s%s%s", path, *path ? "." : "", k);
                        if (!skipped(k) && !json_object_get(a, k))
                                diff(f, p, NULL, v, n);
                }
                return;
        }
        if (a && b && json_is_array(a) && json_is_array(b) &&
            json_array_size(a) == json_array_size(b)) {
                for (size_t i = 0; i < json_array_size(a); i++) {
                        _cleanup_free_ char *p = xasprintf("%s[%zu]", path, i);
                        diff(f, p, json_array_get(a, i), json_array_get(b, i), n);
                }
                return;
        }
        if (a && b && json_equal((json_t *)a, (json_t *)b))
                return;
        {
                _cleanup_free_ char *sa = show(a), *sb = show(b);
                fprintf(f, "  %s: %s -> %s\n", path, sa, sb);
                (*n)++;
        }
}

void stack_print_diff(FILE *f, const json_t *old_model, const json_t *new_model) {
        unsigned n = 0;

        fprintf(f, "Changes to the stored stack:\n");
        if (!old_model) {
                fprintf(f, "  (new stack)\n");
                return;
        }
        diff(f, "services", json_object_get(old_model, "services"),
             json_object_get(new_model, "services"), &n);
        diff(f, "networks", json_object_get(old_model, "networks"),
             json_object_get(new_model, "networks"), &n);
        diff(f, "volumes", json_object_get(old_model, "volumes"),
             json_object_get(new_model, "volumes"), &n);
        if (!n)
                fprintf(f, "  (none)\n");
}
