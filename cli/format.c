/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "format.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define MAX_TEMPLATE_SIZE (64u * 1024u)

struct sbuf {
        char *s;
        size_t len, alloc;
};

static void sb_add(struct sbuf *b, const char *p, size_t n) {
        if (b->len + n + 1 > b->alloc) {
                b->alloc = MAX(b->alloc * 2, b->len + n + 64);
                b->s = xrealloc(b->s, b->alloc);
        }
        memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s) {
        sb_add(b, s, strlen(s));
}

/* "\t" and "\n" typed as two characters become the real ones. */
static char *unescape_tabs(const char *s) {
        struct sbuf b = {};

        sb_add(&b, "", 0);
        for (; *s; s++) {
                if (s[0] == '\\' && s[1] == 't') {
                        sb_add(&b, "\t", 1);
                        s++;
                } else if (s[0] == '\\' && s[1] == 'n') {
                        sb_add(&b, "\n", 1);
                        s++;
                } else
                        sb_add(&b, s, 1);
        }
        return b.s;
}

/* Looks up ".A.B" in v. Returns NULL for a missing key. */
static const json_t *lookup(const json_t *v, const char *path, size_t len) {
        const json_t *cur = v;
        size_t i = 1;

        if (len == 1)
                return v;
        while (i < len) {
                size_t j = i;
                _cleanup_free_ char *key = NULL;

                while (j < len && path[j] != '.')
                        j++;
                key = xstrndup(path + i, j - i);
                cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
                if (!cur)
                        return NULL;
                i = j + 1;
        }
        return cur;
}

static bool valid_path(const char *p, size_t n) {
        if (n == 0 || p[0] != '.')
                return false;
        for (size_t i = 1; i < n; i++) {
                if (p[i] == '.') {
                        if (p[i - 1] == '.' || i == n - 1)
                                return false;
                } else if (!isalnum((unsigned char)p[i]) && p[i] != '_')
                        return false;
        }
        return true;
}

static void render_value(struct sbuf *b, const json_t *v) {
        char num[64];

        if (!v) {
                sb_adds(b, "<no value>");
                return;
        }
        switch (json_typeof(v)) {
        case JSON_STRING:
                sb_add(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                sb_adds(b, num);
                break;
        case JSON_REAL:
                snprintf(num, sizeof(num), "%g", json_real_value(v));
                sb_adds(b, num);
                break;
        case JSON_TRUE:
                sb_adds(b, "true");
                break;
        case JSON_FALSE:
                sb_adds(b, "false");
                break;
        case JSON_NULL:
                sb_adds(b, "<nil>");
                break;
        case JSON_OBJECT:
        case JSON_ARRAY:
        default: {
                _cleanup_free_ char *s = json_dump_str(v, false);
                sb_adds(b, s);
                break;
        }
        }
}

static void header_for(struct sbuf *b, const char *path, size_t n) {
        const char *last = path;

        for (size_t i = 0; i < n; i++)
                if (path[i] == '.')
                        last = path + i + 1;
        if (last == path + n) {
                sb_adds(b, "VALUE");
                return;
        }
        for (const char *p = last; p < path + n; p++) {
                char c = (char)toupper((unsigned char)*p);
                sb_add(b, &c, 1);
        }
}

/* Evaluates one action's words: [FUNC] PATH. */
static int eval_action(struct sbuf *b, const char *act, size_t len, const json_t *v, bool header,
                       size_t pos, struct err **errp) {
        _cleanup_strv_ char **words = NULL;
        _cleanup_free_ char *text = xstrndup(act, len);
        const char *fn = NULL, *path;
        size_t n;

        words = strv_split(text, " \t\r\n");
        n = strv_length(words);
        if (n == 0)
                return err_setx(errp, EINVAL, "template: empty action at position %zu", pos);
        if (n > 2)
                return err_setx(errp, EINVAL,
                                "template: unsupported action '{{%s}}' at position %zu", text, pos);
        if (n == 2)
                fn = words[0];
        path = words[n - 1];
        if (!valid_path(path, strlen(path)))
                return err_setx(
                        errp, EINVAL,
                        "template: bad field '%s' at position %zu (expected .Field or .A.B)", path,
                        pos);
        if (fn && !streq(fn, "json") && !streq(fn, "upper") && !streq(fn, "lower"))
                return err_setx(errp, EINVAL,
                                "template: unknown function '%s' at position %zu (json, upper, "
                                "lower)",
                                fn, pos);
        if (header) {
                header_for(b, path, strlen(path));
                return 0;
        }
        v = lookup(v, path, strlen(path));
        if (fn && streq(fn, "json")) {
                _cleanup_free_ char *s = v ? json_dump_str(v, false) : xstrdup("null");
                sb_adds(b, s);
        } else if (fn) {
                struct sbuf tmp = {};
                _cleanup_free_ char *owned = NULL;

                render_value(&tmp, v);
                owned = tmp.s;
                for (size_t i = 0; owned && owned[i]; i++)
                        owned[i] = (char)(streq(fn, "upper") ? toupper((unsigned char)owned[i])
                                                             : tolower((unsigned char)owned[i]));
                if (owned)
                        sb_adds(b, owned);
        } else
                render_value(b, v);
        return 0;
}

int fmt_render(const char *tmpl, const json_t *v, bool header, char **ret, struct err **errp) {
        _cleanup_free_ char *t = NULL;
        struct sbuf b = {};
        const char *p;

        if (strlen(tmpl) > MAX_TEMPLATE_SIZE)
                return err_setx(errp, EINVAL, "template: longer than %u bytes", MAX_TEMPLATE_SIZE);
        t = unescape_tabs(tmpl);
        sb_add(&b, "", 0);
        p = t;
        while (*p) {
                const char *open = strstr(p, "{{"), *close, *a, *z;
                size_t text_len = open ? (size_t)(open - p) : strlen(p);
                int r;

                if (open && open[2] == '-' && open[3] && isspace((unsigned char)open[3]))
                        /* {{- trims the whitespace before the action. */
                        while (text_len > 0 && isspace((unsigned char)p[text_len - 1]))
                                text_len--;
                sb_add(&b, p, text_len);
                if (!open)
                        break;
                close = strstr(open + 2, "}}");
                if (!close) {
                        free(b.s);
                        return err_setx(errp, EINVAL, "template: unclosed action at position %zu",
                                        (size_t)(open - t));
                }
                a = open + 2;
                z = close;
                if (*a == '-' && isspace((unsigned char)a[1]))
                        a++;
                if (z > a && z[-1] == '-' && z - 1 > a && isspace((unsigned char)z[-2]))
                        z--;
                r = eval_action(&b, a, (size_t)(z - a), v, header, (size_t)(open - t), errp);
                if (r < 0) {
                        free(b.s);
                        return r;
                }
                p = close + 2;
                if (z < close) /* -}} trims the whitespace after the action */
                        while (isspace((unsigned char)*p))
                                p++;
        }
        *ret = b.s;
        return 0;
}

char *fmt_align(const char *text) {
        _cleanup_strv_ char **lines = NULL;
        size_t *widths = NULL, n_cols = 0;
        struct sbuf b = {};
        size_t nl = strlen(text);

        /* Keep empty lines: split by hand. */
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, "\n");
                strv_push_take(&lines, xstrndup(p, n));
                p += n + (p[n] == '\n');
        }
        STRV_FOREACH (l, lines) {
                size_t col = 0;

                for (const char *p = *l;; col++) {
                        size_t n = strcspn(p, "\t");
                        if (!p[n])
                                break; /* the last cell is not padded */
                        if (col >= n_cols) {
                                widths = xreallocarray(widths, col + 1, sizeof(size_t));
                                for (size_t k = n_cols; k <= col; k++)
                                        widths[k] = 0;
                                n_cols = col + 1;
                        }
                        widths[col] = MAX(widths[col], n);
                        p += n + 1;
                }
        }
        sb_add(&b, "", 0);
        STRV_FOREACH (l, lines) {
                size_t col = 0;

                for (const char *p = *l;; col++) {
                        size_t n = strcspn(p, "\t"), w;

                        sb_add(&b, p, n);
                        if (!p[n])
                                break;
                        w = MAX((size_t)10, widths[col] + 3);
                        for (size_t k = n; k < w; k++)
                                sb_add(&b, " ", 1);
                        p += n + 1;
                }
                if (*(l + 1) || (nl > 0 && text[nl - 1] == '\n'))
                        sb_add(&b, "\n", 1);
        }
        free(widths);
        return b.s;
}

int fmt_print_list(FILE *f, const char *format, const char *default_table, const json_t *items,
                   struct err **errp) {
        struct sbuf out = {};
        const char *tmpl;
        bool table = false;
        size_t i;
        json_t *item;
        int r;

        if (!format || streq(format, "table"))
                format = default_table;
        if (streq(format, "json")) {
                _cleanup_free_ char *s = json_dump_str(items, true);
                fputs(s, f);
                return 0;
        }
        tmpl = format;
        if (str_startswith(format, "table")) {
                table = true;
                tmpl = format + 5;
                while (*tmpl == ' ')
                        tmpl++;
        }
        sb_add(&out, "", 0);
        if (table) {
                _cleanup_free_ char *h = NULL;

                r = fmt_render(tmpl, NULL, true, &h, errp);
                if (r < 0) {
                        free(out.s);
                        return r;
                }
                sb_adds(&out, h);
                sb_add(&out, "\n", 1);
        }
        json_array_foreach (items, i, item) {
                _cleanup_free_ char *row = NULL;

                r = fmt_render(tmpl, item, false, &row, errp);
                if (r < 0) {
                        free(out.s);
                        return r;
                }
                sb_adds(&out, row);
                sb_add(&out, "\n", 1);
        }
        if (table) {
                _cleanup_free_ char *aligned = fmt_align(out.s);
                fputs(aligned, f);
        } else
                fputs(out.s, f);
        free(out.s);
        return 0;
}

int fmt_print_one(FILE *f, const char *format, const json_t *obj, struct err **errp) {
        _cleanup_free_ char *s = NULL;
        int r;

        if (!format || streq(format, "table"))
                return 0;
        if (streq(format, "json")) {
                s = json_dump_str(obj, true);
                fputs(s, f);
                return 1;
        }
        r = fmt_render(format, obj, false, &s, errp);
        if (r < 0)
                return r;
        fprintf(f, "%s\n", s);
        return 1;
}

int fmt_print_all(FILE *f, const char *format, const json_t *arr, struct err **errp) {
        size_t i;
        json_t *j;

        if (format && !streq(format, "json") && !streq(format, "table")) {
                json_array_foreach (arr, i, j) {
                        int r = fmt_print_one(f, format, j, errp);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        _cleanup_free_ char *s = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        fprintf(f, "%s\n", s ? s : "[]");
        return 0;
}
