/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "xalloc.h"

int json_parse(const char *buf, size_t len, const char *what, json_t **ret, struct err **errp) {
        json_error_t e;
        json_t *j;

        j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
        if (!j)
                return err_setx(errp, EINVAL, "%s: invalid JSON at line %d column %d: %s", what,
                                e.line, e.column, e.text);
        *ret = j;
        return 0;
}

int json_load_path(const char *path, size_t max, json_t **ret, struct err **errp) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = read_file(path, max, &buf, &len, errp);
        if (r < 0)
                return r;
        return json_parse(buf, len, path, ret, errp);
}

char *json_dump_str(const json_t *j, bool nl) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        char *r;

        if (!s)
                oom();
        if (!nl)
                return s;
        r = xasprintf("%s\n", s);
        free(s);
        return r;
}

int json_save_path(const char *path, const json_t *j, struct err **errp) {
        _cleanup_free_ char *s = json_dump_str(j, true);

        return write_file_atomic(path, s, strlen(s), 0600, errp);
}

int json_replace_path(const char *path, const json_t *j, struct err **errp) {
        _cleanup_free_ char *s = json_dump_str(j, true);

        return write_file_replace(path, s, strlen(s), 0600, errp);
}

const char *json_get_str(const json_t *o, const char *key, const char *def) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : def;
}

int64_t json_get_int(const json_t *o, const char *key, int64_t def) {
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

bool json_get_bool(const json_t *o, const char *key, bool def) {
        json_t *v = json_object_get(o, key);
        return json_is_boolean(v) ? json_is_true(v) : def;
}

void json_set_str(json_t *o, const char *key, const char *s) {
        json_object_set_new(o, key, s ? json_string(s) : json_null());
}
