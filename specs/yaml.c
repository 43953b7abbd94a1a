/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"
#include "yaml_tree.h"

struct ynode *ynode_new(enum ynode_kind kind, const struct ysrc *src, unsigned line, unsigned col) {
        struct ynode *n = xnew0(struct ynode, 1);

        n->kind = kind;
        n->src = src;
        n->line = line;
        n->col = col;
        return n;
}

struct ynode *ynode_new_scalar(const char *s, const struct ysrc *src, unsigned line, unsigned col) {
        struct ynode *n = ynode_new(YNODE_SCALAR, src, line, col);

        n->str = xstrdup(s ? s : "");
        n->len = strlen(n->str);
        n->plain = s == NULL;
        return n;
}

void ynode_free(struct ynode *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n_kids; i++)
                ynode_free(n->kids[i]);
        free(n->kids);
        free(n->str);
        free(n->tag);
        free(n);
}

void ynode_freep(struct ynode **n) {
        ynode_free(*n);
        *n = NULL;
}

void ynode_docs_free(struct ynode **docs, size_t n) {
        for (size_t i = 0; docs && i < n; i++)
                ynode_free(docs[i]);
        free(docs);
}

void ynode_append_take(struct ynode *parent, struct ynode *kid) {
        XGROW(parent->kids, parent->alloc_kids, parent->n_kids + 1);
        parent->kids[parent->n_kids++] = kid;
        kid->parent = parent;
}

/* Copies n; *budget counts the nodes created and the copy stops (returns NULL) when it runs
 * out. */
static struct ynode *copy_budget(const struct ynode *n, size_t *budget) {
        struct ynode *c;

        if (*budget == 0)
                return NULL;
        (*budget)--;
        c = ynode_new(n->kind, n->src, n->line, n->col);
        if (n->str) {
                c->str = xmemdup(n->str, n->len + 1);
                c->len = n->len;
        }
        c->plain = n->plain;
        c->tag = n->tag ? xstrdup(n->tag) : NULL;
        for (size_t i = 0; i < n->n_kids; i++) {
                struct ynode *k = copy_budget(n->kids[i], budget);
                if (!k) {
                        ynode_free(c);
                        return NULL;
                }
                ynode_append_take(c, k);
        }
        return c;
}

struct ynode *ynode_copy(const struct ynode *n) {
        size_t budget = SIZE_MAX;

        return n ? copy_budget(n, &budget) : NULL;
}

size_t ynode_map_len(const struct ynode *n) {
        return n && n->kind == YNODE_MAP ? n->n_kids / 2 : 0;
}

static ssize_t map_index(const struct ynode *n, const char *key) {
        if (!n || n->kind != YNODE_MAP)
                return -1;
        for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
                const char *k = n->kids[i]->str;
                /* Comparing the first byte first skips most strcmp calls. */
                if (k && k[0] == key[0] && streq(k, key))
                        return (ssize_t)i;
        }
        return -1;
}

struct ynode *ynode_map_get(const struct ynode *n, const char *key) {
        ssize_t i = map_index(n, key);

        return i < 0 ? NULL : n->kids[i + 1];
}

void ynode_map_set_take(struct ynode *map, const char *key, struct ynode *v) {
        ssize_t i = map_index(map, key);

        if (i >= 0) {
                ynode_free(map->kids[i + 1]);
                map->kids[i + 1] = v;
                v->parent = map;
                return;
        }
        struct ynode *k = ynode_new_scalar(key, v->src, v->line, v->col);
        k->plain = false;
        ynode_append_take(map, k);
        ynode_append_take(map, v);
}

bool ynode_map_del(struct ynode *map, const char *key) {
        ssize_t i = map_index(map, key);

        if (i < 0)
                return false;
        ynode_free(map->kids[i]);
        ynode_free(map->kids[i + 1]);
        memmove(map->kids + i, map->kids + i + 2, (map->n_kids - (size_t)i - 2) * sizeof(void *));
        map->n_kids -= 2;
        return true;
}

void ynode_reparent(struct ynode *n) {
        for (size_t i = 0; i < n->n_kids; i++) {
                n->kids[i]->parent = n;
                ynode_reparent(n->kids[i]);
        }
}

bool ynode_is_scalar(const struct ynode *n) {
        return n && n->kind == YNODE_SCALAR;
}

bool ynode_is_null(const struct ynode *n) {
        if (!n)
                return true;
        if (n->kind != YNODE_SCALAR || !n->plain)
                return false;
        if (n->tag && !streq(n->tag, "tag:yaml.org,2002:null"))
                return false;
        return n->len == 0 || streq(n->str, "~") || streq(n->str, "null") ||
               streq(n->str, "Null") || streq(n->str, "NULL");
}

const char *ynode_kind_name(const struct ynode *n) {
        if (ynode_is_null(n))
                return "null";
        switch (n->kind) {
        case YNODE_SCALAR:
                return "a scalar";
        case YNODE_SEQ:
                return "a list";
        case YNODE_MAP:
                return "a mapping";
        default:
                return "?";
        }
}

char *ynode_path(const struct ynode *n) {
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *out = NULL;
        size_t len = 0;

        for (; n && n->parent; n = n->parent) {
                const struct ynode *p = n->parent;
                size_t i;

                for (i = 0; i < p->n_kids && p->kids[i] != n; i++)
                        ;
                if (p->kind == YNODE_SEQ)
                        strv_push_take(&parts, xasprintf("[%zu]", i));
                else if (p->kind == YNODE_MAP) {
                        const struct ynode *k = p->kids[i & ~(size_t)1];
                        strv_push_take(&parts, xasprintf(".%s", k->str ? k->str : "?"));
                }
        }
        for (size_t i = 0; parts && parts[i]; i++)
                len += strlen(parts[i]);
        out = xmalloc(len + 1);
        out[0] = 0;
        for (size_t i = strv_length(parts); i > 0; i--)
                strcat(out, parts[i - 1]);
        if (out[0] == '.')
                memmove(out, out + 1, strlen(out));
        return TAKE_PTR(out);
}

int ynode_err(struct err **errp, const struct ynode *n, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *path = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (!n)
                return err_setx(errp, EINVAL, "%s", msg);
        path = ynode_path(n);
        if (*path)
                r = err_setx(errp, EINVAL, "%s:%u:%u: %s: %s", n->src ? n->src->file : "<input>",
                             n->line, n->col, path, msg);
        else
                r = err_setx(errp, EINVAL, "%s:%u:%u: %s", n->src ? n->src->file : "<input>",
                             n->line, n->col, msg);
        if (*path)
                err_set_field(errp, path);
        return r;
}

/* ---- loading ---- */

struct anchor {
        char *name;
        struct ynode *node;
        bool done;
};

struct loader {
        const struct ysrc *src;
        struct ynode *stack[YAML_MAX_DEPTH + 1];
        size_t depth;
        struct anchor *anchors;
        size_t n_anchors, alloc_anchors;
        size_t budget; /* nodes left */
        struct ynode **docs;
        size_t n_docs, alloc_docs;
};

static void loader_reset_anchors(struct loader *l) {
        for (size_t i = 0; i < l->n_anchors; i++)
                free(l->anchors[i].name);
        l->n_anchors = 0;
}

static int loader_err(struct loader *l, struct err **errp, const yaml_mark_t *m, const char *fmt,
                      ...) _printf_(4, 5);
static int loader_err(struct loader *l, struct err **errp, const yaml_mark_t *m, const char *fmt,
                      ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return err_setx(errp, EINVAL, "%s:%zu:%zu: %s", l->src ? l->src->file : "<input>",
                        m->line + 1, m->column + 1, msg);
}

static struct anchor *find_anchor(struct loader *l, const char *name) {
        /* Later definitions of the same anchor name override earlier ones. */
        for (size_t i = l->n_anchors; i > 0; i--)
                if (streq(l->anchors[i - 1].name, name))
                        return &l->anchors[i - 1];
        return NULL;
}

static void add_anchor(struct loader *l, const char *name, struct ynode *n) {
        XGROW(l->anchors, l->alloc_anchors, l->n_anchors + 1);
        l->anchors[l->n_anchors++] = (struct anchor){.name = xstrdup(name), .node = n};
}

static void mark_anchor_done(struct loader *l, struct ynode *n) {
        for (size_t i = 0; i < l->n_anchors; i++)
                if (l->anchors[i].node == n)
                        l->anchors[i].done = true;
}

static bool is_merge_key(const struct ynode *k) {
        return k->kind == YNODE_SCALAR && k->plain && streq(k->str, "<<");
}

static int cmp_keyp(const void *a, const void *b) {
        const struct ynode *x = *(struct ynode *const *)a, *y = *(struct ynode *const *)b;

        return strcmp(x->str, y->str);
}

/* Finds a duplicate key (sorting for big maps). */
static const struct ynode *find_dup_key(const struct ynode *m) {
        size_t n = m->n_kids / 2;

        if (n <= 16) {
                for (size_t i = 0; i < n; i++)
                        for (size_t j = i + 1; j < n; j++)
                                if (streq(m->kids[2 * i]->str, m->kids[2 * j]->str))
                                        return m->kids[2 * j];
                return NULL;
        }
        _cleanup_free_ struct ynode **keys = xnew(struct ynode *, n);
        for (size_t i = 0; i < n; i++)
                keys[i] = m->kids[2 * i];
        qsort_safe(keys, n, sizeof(*keys), cmp_keyp);
        for (size_t i = 1; i < n; i++)
                if (streq(keys[i - 1]->str, keys[i]->str))
                        return keys[i - 1]->line > keys[i]->line ? keys[i - 1] : keys[i];
        return NULL;
}

/* Applies "<<" merge keys: explicit keys win, then the merged maps in order. The merged values
 * are already private copies (aliases are expanded on sight), so they are moved, not copied. */
static int apply_merge(struct ynode *m, struct err **errp) {
        _cleanup_free_ struct ynode **srcs = NULL;
        size_t n_srcs = 0, alloc = 0, w = 0;
        int r = 0;

        for (size_t i = 0; i + 1 < m->n_kids; i += 2)
                if (is_merge_key(m->kids[i])) {
                        struct ynode *v = m->kids[i + 1];
                        if (v->kind == YNODE_MAP) {
                                XGROW(srcs, alloc, n_srcs + 1);
                                srcs[n_srcs++] = v;
                        } else if (v->kind == YNODE_SEQ) {
                                for (size_t j = 0; j < v->n_kids; j++) {
                                        if (v->kids[j]->kind != YNODE_MAP)
                                                return ynode_err(
                                                        errp, v->kids[j],
                                                        "merge key '<<' needs mappings, got %s",
                                                        ynode_kind_name(v->kids[j]));
                                        XGROW(srcs, alloc, n_srcs + 1);
                                        srcs[n_srcs++] = v->kids[j];
                                }
                        } else
                                return ynode_err(errp, v,
                                                 "merge key '<<' needs a mapping or a list of "
                                                 "mappings, got %s",
                                                 ynode_kind_name(v));
                }
        if (n_srcs == 0)
                return 0;

        /* Pull the merge entries out of m (keep them alive in a holder until done). */
        struct ynode *holder = ynode_new(YNODE_SEQ, m->src, m->line, m->col);
        for (size_t i = 0; i + 1 < m->n_kids; i += 2) {
                if (is_merge_key(m->kids[i])) {
                        ynode_append_take(holder, m->kids[i]);
                        ynode_append_take(holder, m->kids[i + 1]);
                        continue;
                }
                m->kids[w++] = m->kids[i];
                m->kids[w++] = m->kids[i + 1];
        }
        m->n_kids = w;
        for (size_t s = 0; s < n_srcs; s++)
                for (size_t i = 0; i + 1 < srcs[s]->n_kids; i += 2) {
                        struct ynode *k = srcs[s]->kids[i];
                        if (!k || ynode_map_get(m, k->str))
                                continue;
                        ynode_append_take(m, k);
                        ynode_append_take(m, srcs[s]->kids[i + 1]);
                        srcs[s]->kids[i] = srcs[s]->kids[i + 1] = NULL;
                }
        /* Moved-out slots are NULL: free what is left. */
        for (size_t s = 0; s < n_srcs; s++) {
                size_t k = 0;
                for (size_t i = 0; i < srcs[s]->n_kids; i++)
                        if (srcs[s]->kids[i])
                                srcs[s]->kids[k++] = srcs[s]->kids[i];
                srcs[s]->n_kids = k;
        }
        ynode_free(holder);
        return r;
}

/* Attaches a finished node to its container (or makes it a document root). */
static int attach(struct loader *l, struct ynode *n, struct err **errp) {
        if (l->depth == 0) {
                XGROW(l->docs, l->alloc_docs, l->n_docs + 1);
                l->docs[l->n_docs++] = n;
                return 0;
        }
        struct ynode *p = l->stack[l->depth - 1];
        if (p->kind == YNODE_MAP && p->n_kids % 2 == 0 && n->kind != YNODE_SCALAR) {
                int r = ynode_err(errp, n, "mapping keys must be scalars, got %s",
                                  ynode_kind_name(n));
                ynode_free(n);
                return r;
        }
        ynode_append_take(p, n);
        return 0;
}

static int take_node(struct loader *l, struct err **errp, const yaml_mark_t *m) {
        if (l->budget == 0)
                return loader_err(l, errp, m,
                                  "document has more than %u nodes (after alias expansion)",
                                  YAML_MAX_NODES);
        l->budget--;
        return 0;
}

static int handle_event(struct loader *l, yaml_event_t *ev, struct err **errp) {
        const yaml_mark_t *m = &ev->start_mark;
        unsigned line = (unsigned)m->line + 1, col = (unsigned)m->column + 1;
        struct ynode *n;
        const char *anchor = NULL, *tag = NULL;
        int r;

        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                loader_reset_anchors(l);
                return 0;
        case YAML_SCALAR_EVENT:
                r = take_node(l, errp, m);
                if (r < 0)
                        return r;
                n = ynode_new(YNODE_SCALAR, l->src, line, col);
                n->len = ev->data.scalar.length;
                n->str = xmemdup(ev->data.scalar.value, n->len + 1);
                n->str[n->len] = 0;
                n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                anchor = (const char *)ev->data.scalar.anchor;
                tag = (const char *)ev->data.scalar.tag;
                if (tag) {
                        n->tag = xstrdup(tag);
                        if (streq(tag, "tag:yaml.org,2002:str"))
                                n->plain = false;
                        else if (str_startswith(tag, "tag:yaml.org,2002:"))
                                n->plain = true;
                }
                if (anchor) {
                        add_anchor(l, anchor, n);
                        l->anchors[l->n_anchors - 1].done = true;
                }
                return attach(l, n, errp);
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
                if (l->depth >= YAML_MAX_DEPTH)
                        return loader_err(l, errp, m, "nesting deeper than %d levels",
                                          YAML_MAX_DEPTH);
                r = take_node(l, errp, m);
                if (r < 0)
                        return r;
                n = ynode_new(ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ : YNODE_MAP, l->src,
                              line, col);
                if (ev->type == YAML_SEQUENCE_START_EVENT) {
                        anchor = (const char *)ev->data.sequence_start.anchor;
                        tag = (const char *)ev->data.sequence_start.tag;
                } else {
                        anchor = (const char *)ev->data.mapping_start.anchor;
                        tag = (const char *)ev->data.mapping_start.tag;
                }
                if (tag)
                        n->tag = xstrdup(tag);
                /* Attach first so that the path of errors inside is right. */
                r = attach(l, n, errp);
                if (r < 0)
                        return r;
                if (l->depth == 0 && l->n_docs > 0 && l->docs[l->n_docs - 1] == n)
                        l->n_docs--; /* re-added at the end event */
                if (anchor)
                        add_anchor(l, anchor, n);
                l->stack[l->depth++] = n;
                return 0;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                n = l->stack[--l->depth];
                if (n->kind == YNODE_MAP) {
                        const struct ynode *dup;
                        r = apply_merge(n, errp);
                        if (r >= 0 && (dup = find_dup_key(n)))
                                r = ynode_err(errp, dup, "duplicate key '%s'", dup->str);
                        if (r < 0) {
                                /* A finished root is in neither the stack nor the documents. */
                                if (l->depth == 0)
                                        ynode_free(n);
                                return r;
                        }
                }
                mark_anchor_done(l, n);
                if (l->depth == 0) {
                        XGROW(l->docs, l->alloc_docs, l->n_docs + 1);
                        l->docs[l->n_docs++] = n;
                }
                return 0;
        case YAML_ALIAS_EVENT: {
                const char *name = (const char *)ev->data.alias.anchor;
                struct anchor *a = find_anchor(l, name);
                if (!a)
                        return loader_err(l, errp, m, "unknown anchor '%s'", name);
                if (!a->done)
                        return loader_err(l, errp, m, "alias '*%s' refers to itself", name);
                n = copy_budget(a->node, &l->budget);
                if (!n)
                        return loader_err(l, errp, m,
                                          "document has more than %u nodes (after alias expansion)",
                                          YAML_MAX_NODES);
                return attach(l, n, errp);
        }
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_STREAM_END_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        default:
                return 0;
        }
}

int yaml_load(const char *buf, size_t len, const struct ysrc *src, struct ynode ***ret_docs,
              size_t *ret_n, struct err **errp) {
        struct loader l = {.src = src, .budget = YAML_MAX_NODES};
        yaml_parser_t parser;
        bool done = false;
        int r = 0;

        if (len > YAML_MAX_FILE_SIZE)
                return err_setx(errp, EFBIG, "%s: file is larger than %u bytes",
                                src ? src->file : "<input>", YAML_MAX_FILE_SIZE);
        if (!yaml_parser_initialize(&parser))
                oom();
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        while (!done) {
                yaml_event_t ev;

                if (!yaml_parser_parse(&parser, &ev)) {
                        r = err_setx(
                                errp, EINVAL, "%s:%zu:%zu: %s%s%s", src ? src->file : "<input>",
                                parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                parser.problem ? parser.problem : "syntax error",
                                parser.context ? " " : "", parser.context ? parser.context : "");
                        break;
                }
                done = ev.type == YAML_STREAM_END_EVENT;
                r = handle_event(&l, &ev, errp);
                yaml_event_delete(&ev);
                if (r < 0)
                        break;
        }
        yaml_parser_delete(&parser);
        loader_reset_anchors(&l);
        free(l.anchors);
        if (r < 0) {
                /* Open containers are attached to their parents; free from the bottom. */
                if (l.depth > 0)
                        ynode_free(l.stack[0]);
                ynode_docs_free(l.docs, l.n_docs);
                return r;
        }
        *ret_docs = l.docs;
        *ret_n = l.n_docs;
        return 0;
}

/* ---- JSON conversion ---- */

static bool parse_int(const char *s, long long *ret) {
        char *end;
        int base = 10;
        const char *p = s;

        if (*p == '-' || *p == '+')
                p++;
        if (!isdigit((unsigned char)*p))
                return false;
        if (p[0] == '0' && p[1] == 'x') {
                base = 16;
                p += 2;
        } else if (p[0] == '0' && p[1] == 'o') {
                base = 8;
                p += 2;
        }
        errno = 0;
        long long v = strtoll(p, &end, base);
        if (errno || *end || end == p)
                return false;
        *ret = *s == '-' ? -v : v;
        return true;
}

static bool parse_float(const char *s, double *ret) {
        char *end;

        if (streq(s, ".inf") || streq(s, ".Inf") || streq(s, ".INF") || streq(s, "+.inf")) {
                *ret = INFINITY;
                return true;
        }
        if (streq(s, "-.inf") || streq(s, "-.Inf") || streq(s, "-.INF")) {
                *ret = -INFINITY;
                return true;
        }
        if (!*s || !strpbrk(s, "0123456789") || strpbrk(s, "xXnN_ \t"))
                return false;
        errno = 0;
        *ret = strtod(s, &end);
        return !errno && !*end;
}

json_t *ynode_to_json(const struct ynode *n) {
        json_t *j;

        switch (n->kind) {
        case YNODE_SCALAR: {
                long long i;
                double d;

                if (!n->plain)
                        return json_stringn(n->str, n->len);
                if (ynode_is_null(n))
                        return json_null();
                if (streq(n->str, "true") || streq(n->str, "True") || streq(n->str, "TRUE"))
                        return json_true();
                if (streq(n->str, "false") || streq(n->str, "False") || streq(n->str, "FALSE"))
                        return json_false();
                if (parse_int(n->str, &i))
                        return json_integer(i);
                if (parse_float(n->str, &d) && isfinite(d))
                        return json_real(d);
                return json_stringn(n->str, n->len);
        }
        case YNODE_SEQ:
                j = json_array();
                for (size_t i = 0; i < n->n_kids; i++)
                        json_array_append_new(j, ynode_to_json(n->kids[i]));
                return j;
        case YNODE_MAP:
                j = json_object();
                for (size_t i = 0; i + 1 < n->n_kids; i += 2)
                        json_object_set_new(j, n->kids[i]->str, ynode_to_json(n->kids[i + 1]));
                return j;
        default:
                return json_null();
        }
}

/* ---- emitting ---- */

static int write_handler(void *data, unsigned char *buf, size_t size) {
        FILE *f = data;

        return fwrite(buf, 1, size, f) == size;
}

/* Would a plain scalar with this text read back as something other than this string? */
static bool needs_quotes(const char *s) {
        struct ynode probe = {
                .kind = YNODE_SCALAR, .str = (char *)s, .len = strlen(s), .plain = true};
        json_t *j;
        bool q;

        if (!*s)
                return true;
        j = ynode_to_json(&probe);
        q = !json_is_string(j);
        json_decref(j);
        return q;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, yaml_scalar_style_t style) {
        yaml_event_t ev;

        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                          style))
                return -ENOMEM;
        return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
}

static int emit_json(yaml_emitter_t *e, const json_t *j) {
        yaml_event_t ev;
        char buf[64];
        int r;

        switch (json_typeof(j)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *v;

                if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                         YAML_BLOCK_MAPPING_STYLE))
                        return -ENOMEM;
                if (!yaml_emitter_emit(e, &ev))
                        return -EIO;
                json_object_foreach ((json_t *)j, k, v) {
                        r = emit_scalar(e, k,
                                        needs_quotes(k) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                        : YAML_ANY_SCALAR_STYLE);
                        if (r < 0)
                                return r;
                        r = emit_json(e, v);
                        if (r < 0)
                                return r;
                }
                if (!yaml_mapping_end_event_initialize(&ev))
                        return -ENOMEM;
                return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *v;

                if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                          YAML_BLOCK_SEQUENCE_STYLE))
                        return -ENOMEM;
                if (!yaml_emitter_emit(e, &ev))
                        return -EIO;
                json_array_foreach ((json_t *)j, i, v) {
                        r = emit_json(e, v);
                        if (r < 0)
                                return r;
                }
                if (!yaml_sequence_end_event_initialize(&ev))
                        return -ENOMEM;
                return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
        }
        case JSON_STRING: {
                const char *s = json_string_value(j);
                return emit_scalar(e, s,
                                   needs_quotes(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                   : YAML_ANY_SCALAR_STYLE);
        }
        case JSON_INTEGER:
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
                return emit_scalar(e, buf, YAML_PLAIN_SCALAR_STYLE);
        case JSON_REAL:
                snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
                if (!strpbrk(buf, ".e"))
                        strcat(buf, ".0");
                return emit_scalar(e, buf, YAML_PLAIN_SCALAR_STYLE);
        case JSON_TRUE:
                return emit_scalar(e, "true", YAML_PLAIN_SCALAR_STYLE);
        case JSON_FALSE:
                return emit_scalar(e, "false", YAML_PLAIN_SCALAR_STYLE);
        case JSON_NULL:
        default:
                return emit_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
        }
}

int yaml_emit_json(const json_t *j, char **ret, struct err **errp) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        yaml_emitter_t e;
        yaml_event_t ev;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return err_set(errp, errno, "open memory stream");
        if (!yaml_emitter_initialize(&e))
                oom();
        yaml_emitter_set_output(&e, write_handler, f);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_width(&e, -1);
        if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
            !yaml_emitter_emit(&e, &ev))
                r = -EIO;
        if (r == 0 && (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
                       !yaml_emitter_emit(&e, &ev)))
                r = -EIO;
        if (r == 0)
                r = emit_json(&e, j);
        if (r == 0 && (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev)))
                r = -EIO;
        if (r == 0 && (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev)))
                r = -EIO;
        yaml_emitter_delete(&e);
        fclose(f);
        if (r < 0)
                return err_setx(errp, EIO, "emit YAML: %s", e.problem ? e.problem : "failed");
        *ret = TAKE_PTR(buf);
        return 0;
}
