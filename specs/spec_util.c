/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fileio.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

/* Describes what a node is for "got ..." in messages: the scalar text, or its kind. */
static char *got(const struct ynode *n) {
        if (n && n->kind == YNODE_SCALAR && !ynode_is_null(n))
                return xasprintf("\"%.64s\"", n->str);
        return xstrdup(ynode_kind_name(n));
}

static int expected(const struct ynode *n, const char *what, struct err **errp) {
        _cleanup_free_ char *g = got(n);

        return ynode_err(errp, n, "expected %s, got %s", what, g);
}

int y_map(const struct ynode *n, struct err **errp) {
        return n && n->kind == YNODE_MAP ? 0 : expected(n, "a mapping", errp);
}

int y_seq(const struct ynode *n, struct err **errp) {
        return n && n->kind == YNODE_SEQ ? 0 : expected(n, "a list", errp);
}

int y_str(const struct ynode *n, const char **ret, struct err **errp) {
        if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
                return expected(n, "a string", errp);
        if (strlen(n->str) != n->len)
                return ynode_err(errp, n, "string contains a NUL byte");
        *ret = n->str;
        return 0;
}

int y_str_or_null(const struct ynode *n, const char **ret, struct err **errp) {
        if (ynode_is_null(n)) {
                *ret = NULL;
                return 0;
        }
        return y_str(n, ret, errp);
}

int y_bool(const struct ynode *n, bool *ret, struct err **errp) {
        if (n && n->kind == YNODE_SCALAR) {
                if (strcasecmp(n->str, "true") == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(n->str, "false") == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return expected(n, "a boolean (true or false)", errp);
}

int y_int(const struct ynode *n, int64_t min, int64_t max, int64_t *ret, struct err **errp) {
        char *end;
        long long v;

        if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
                return expected(n, "an integer", errp);
        errno = 0;
        v = strtoll(n->str, &end, 10);
        if (errno || end == n->str || *end)
                return expected(n, "an integer", errp);
        if (v < min || v > max)
                return ynode_err(errp, n, "%lld is out of range (%lld..%lld)", v, (long long)min,
                                 (long long)max);
        *ret = v;
        return 0;
}

int y_number(const struct ynode *n, double *ret, struct err **errp) {
        char *end;
        double v;

        if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
                return expected(n, "a number", errp);
        errno = 0;
        v = strtod(n->str, &end);
        if (errno || end == n->str || *end || !isfinite(v) || strpbrk(n->str, "xXnN"))
                return expected(n, "a number", errp);
        *ret = v;
        return 0;
}

int y_strv(const struct ynode *n, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *a = json_array();
        int r;

        r = y_seq(n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                const char *s;
                r = y_str(n->kids[i], &s, errp);
                if (r < 0)
                        return r;
                json_array_append_new(a, json_string(s));
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int y_str_or_list(const struct ynode *n, json_t **ret, struct err **errp) {
        if (n && n->kind == YNODE_SCALAR && !ynode_is_null(n)) {
                *ret = json_pack("[s]", n->str);
                return 0;
        }
        if (n && n->kind == YNODE_SEQ)
                return y_strv(n, ret, errp);
        return expected(n, "a string or a list of strings", errp);
}

int y_str_map(const struct ynode *n, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *o = json_object();
        struct ynode *k, *v;
        int r;

        r = y_map(n, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, n) {
                const char *s;
                r = y_str_or_null(v, &s, errp);
                if (r < 0)
                        return r;
                json_object_set_new(o, k->str, json_string(s ? s : ""));
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int y_duration_ms(const struct ynode *n, int64_t *ret, struct err **errp) {
        _cleanup_free_ char *msg = NULL;
        const char *s;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        if (parse_duration_ms(s, ret, &msg) < 0)
                return ynode_err(errp, n, "%s", msg);
        return 0;
}

int y_size(const struct ynode *n, int64_t *ret, struct err **errp) {
        _cleanup_free_ char *msg = NULL;
        const char *s;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        if (parse_size(s, ret, &msg) < 0)
                return ynode_err(errp, n, "%s", msg);
        return 0;
}

char *y_where(const struct ynode *n) {
        _cleanup_free_ char *path = ynode_path(n);

        return xasprintf("%s:%u:%u: %s", n->src ? n->src->file : "<input>", n->line, n->col, path);
}

void warn_push(char ***warnings, const struct ynode *n, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *where = NULL;
        va_list ap;

        if (!warnings)
                return;
        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (!n) {
                strv_push(warnings, msg);
                return;
        }
        where = y_where(n);
        strv_push_take(warnings, xasprintf("%s: %s", where, msg));
}

int y_check_keys(const struct ynode *n, const char *const *known, bool allow_ext, char ***warnings,
                 struct err **errp) {
        return y_check_keys_as(n, known, allow_ext, warnings, "unknown key", errp);
}

int y_check_keys_as(const struct ynode *n, const char *const *known, bool allow_ext,
                    char ***warnings, const char *what, struct err **errp) {
        struct ynode *k, *v;
        int r;

        r = y_map(n, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, n) {
                bool ok = false;
                const char *hint;

                (void)v;
                if (allow_ext && str_startswith(k->str, "x-"))
                        continue;
                for (const char *const *c = known; *c && !ok; c++)
                        ok = streq(*c, k->str);
                if (ok)
                        continue;
                hint = did_you_mean(k->str, known);
                if (warnings) {
                        warn_push(warnings, k, "unsupported field '%s', ignoring", k->str);
                        continue;
                }
                if (hint)
                        return ynode_err(errp, k, "%s '%s' (did you mean '%s'?)", what, k->str,
                                         hint);
                return ynode_err(errp, k, "%s '%s'", what, k->str);
        }
        return 0;
}

char *path_normalize(const char *p) {
        _cleanup_strv_ char **parts = strv_split(p, "/"), **out = NULL;
        _cleanup_free_ char *j = NULL;
        bool abs = p[0] == '/';

        STRV_FOREACH (c, parts) {
                size_t n = strv_length(out);
                if (streq(*c, "."))
                        continue;
                if (streq(*c, "..")) {
                        if (n > 0 && !streq(out[n - 1], "..")) {
                                free(out[n - 1]);
                                out[n - 1] = NULL;
                        } else if (!abs)
                                strv_push(&out, "..");
                        continue;
                }
                strv_push(&out, *c);
        }
        j = strv_join(out, "/");
        if (abs)
                return xasprintf("/%s", j);
        return *j ? TAKE_PTR(j) : xstrdup(".");
}

char *y_abs_path(const struct ynode *n, const char *p, const char *home) {
        _cleanup_free_ char *joined = NULL;

        if (p[0] == '/')
                return path_normalize(p);
        if (p[0] == '~' && (p[1] == '/' || p[1] == 0) && home)
                joined = xasprintf("%s/%s", home, p + 1);
        else
                joined = xasprintf("%s/%s", n && n->src && n->src->dir ? n->src->dir : ".", p);
        return path_normalize(joined);
}

int spec_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err **errp) {
        struct stat st;

        if (stat(path, &st) < 0)
                return err_set(errp, errno, "open '%s'", path);
        if (!S_ISREG(st.st_mode))
                return err_setx(errp, EINVAL, "'%s' is not a regular file", path);
        return read_file(path, max, ret, ret_len, errp);
}

int y_check_name(const struct ynode *key, const char *what, struct err **errp) {
        const char *s = key->str;
        bool ok =
                s && *s &&
                ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'));

        for (const char *p = s; ok && *p; p++)
                ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
        if (!ok)
                return ynode_err(errp, key,
                                 "invalid %s name \"%s\" (letters, digits, '.', '_' and '-', "
                                 "starting with a letter or digit)",
                                 what, s ? s : "");
        return 0;
}
