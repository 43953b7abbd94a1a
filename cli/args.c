/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cleanup.h"
#include "cli.h"
#include "macro.h"
#include "strv.h"
#include "xalloc.h"

int cli_kv_add(json_t *obj, const char *flag, const char *s) {
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *k = NULL;

        if (!eq || eq == s) {
                fprintf(stderr, "berth: invalid argument '%s' for '%s': expected KEY=VALUE\n", s,
                        flag);
                return -EXIT_USAGE;
        }
        k = xstrndup(s, (size_t)(eq - s));
        json_object_set_new(obj, k, json_string(eq + 1));
        return 0;
}

int cli_filter_add(json_t *filters, const char *s, const char *const *keys, const char *keys_text) {
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *k = NULL;
        json_t *a;

        if (!eq || eq == s) {
                fprintf(stderr, "berth: invalid filter '%s': expected KEY=VALUE\n", s);
                return -EXIT_USAGE;
        }
        k = xstrndup(s, (size_t)(eq - s));
        if (keys && !strv_contains((char *const *)keys, k)) {
                fprintf(stderr, "berth: invalid filter '%s' (%s)\n", k, keys_text);
                return -EXIT_USAGE;
        }
        a = json_object_get(filters, k);
        if (!a) {
                a = json_array();
                json_object_set_new(filters, k, a);
        }
        json_array_append_new(a, json_string(eq + 1));
        return 0;
}
