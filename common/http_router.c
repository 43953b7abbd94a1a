/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http_request.h"
#include "http_router.h"
#include "strv.h"
#include "xalloc.h"

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_REST };

struct seg {
        enum seg_kind kind;
        char *text; /* the literal, or the parameter's name */
};

struct entry {
        struct http_route route;
        struct seg *segs;
        size_t n_segs;
};

struct http_router {
        struct entry *entries;
        size_t n_entries, n_alloc;
};

struct http_router *http_router_new(void) {
        return xnew0(struct http_router, 1);
}

static void entry_done(struct entry *e) {
        for (size_t i = 0; i < e->n_segs; i++)
                free(e->segs[i].text);
        free(e->segs);
}

struct http_router *http_router_free(struct http_router *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_entries; i++)
                entry_done(&r->entries[i]);
        free(r->entries);
        free(r);
        return NULL;
}

void http_router_freep(struct http_router **r) {
        *r = http_router_free(*r);
}

/* Splits a path after its leading '/' into segments ("/a/b" -> "a", "b"; "/" -> ""). */
static char **split_path(const char *path) {
        _cleanup_strv_ char **l = xnew0(char *, 1);
        const char *p = path + 1;

        for (;;) {
                size_t n = strcspn(p, "/");

                strv_push_take(&l, xstrndup(p, n));
                if (!p[n])
                        break;
                p += n + 1;
        }
        return TAKE_PTR(l);
}

static bool valid_name(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static bool same_pattern(const struct entry *a, const struct entry *b) {
        if (a->n_segs != b->n_segs)
                return false;
        for (size_t i = 0; i < a->n_segs; i++) {
                if (a->segs[i].kind != b->segs[i].kind)
                        return false;
                if (a->segs[i].kind == SEG_LITERAL && !streq(a->segs[i].text, b->segs[i].text))
                        return false;
        }
        return true;
}

int http_router_add(struct http_router *r, const char *method, const char *pattern,
                    http_handler_fn *fn, struct err **errp) {
        _cleanup_strv_ char **parts = NULL;
        struct entry e = {.route = {method, pattern, fn}};
        size_t n;

        if (!method || !*method || !fn)
                return err_setx(errp, EINVAL, "route '%s': method and handler are required",
                                pattern ? pattern : "(null)");
        if (!pattern || pattern[0] != '/')
                return err_setx(errp, EINVAL, "route '%s': pattern must start with '/'",
                                pattern ? pattern : "(null)");
        parts = split_path(pattern);
        n = strv_length(parts);
        e.segs = xnew0(struct seg, n);
        for (size_t i = 0; i < n; i++) {
                const char *s = parts[i];
                size_t len = strlen(s);

                if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
                        bool rest = len >= 3 && s[len - 2] == '*';
                        size_t nlen = len - 2 - (rest ? 1 : 0);

                        if (!valid_name(s + 1, nlen)) {
                                e.n_segs = i;
                                entry_done(&e);
                                return err_setx(errp, EINVAL,
                                                "route '%s': bad parameter name in '%s'", pattern,
                                                s);
                        }
                        if (rest && i != n - 1) {
                                e.n_segs = i;
                                entry_done(&e);
                                return err_setx(errp, EINVAL,
                                                "route '%s': '%s' must be the last segment",
                                                pattern, s);
                        }
                        e.segs[i].kind = rest ? SEG_REST : SEG_PARAM;
                        e.segs[i].text = xstrndup(s + 1, nlen);
                } else {
                        if (strpbrk(s, "{}")) {
                                e.n_segs = i;
                                entry_done(&e);
                                return err_setx(errp, EINVAL, "route '%s': bad segment '%s'",
                                                pattern, s);
                        }
                        e.segs[i].kind = SEG_LITERAL;
                        e.segs[i].text = xstrdup(s);
                }
                e.n_segs = i + 1;
        }
        for (size_t i = 0; i < r->n_entries; i++)
                if (streq(r->entries[i].route.method, method) && same_pattern(&r->entries[i], &e)) {
                        entry_done(&e);
                        return err_setx(errp, EEXIST, "route %s '%s' is defined twice", method,
                                        pattern);
                }
        XGROW(r->entries, r->n_alloc, r->n_entries + 1);
        r->entries[r->n_entries++] = e;
        return 0;
}

int http_router_add_table(struct http_router *r, const struct http_route *routes,
                          struct err **errp) {
        for (const struct http_route *rt = routes; rt->method; rt++) {
                int k = http_router_add(r, rt->method, rt->pattern, rt->fn, errp);
                if (k < 0)
                        return k;
                r->entries[r->n_entries - 1].route.flags = rt->flags;
                r->entries[r->n_entries - 1].route.max_body = rt->max_body;
        }
        return 0;
}

/* Matches decoded segments against an entry. Fills a specificity string (one char per segment,
 * 'a' literal < 'b' parameter < 'c' rest: smaller sorts first = more specific). */
static bool entry_match(const struct entry *e, char *const *segs, size_t n, char *spec) {
        if (n < e->n_segs)
                return false;
        for (size_t i = 0; i < e->n_segs; i++) {
                switch (e->segs[i].kind) {
                case SEG_LITERAL:
                        if (!streq(e->segs[i].text, segs[i]))
                                return false;
                        spec[i] = 'a';
                        break;
                case SEG_PARAM:
                        if (!*segs[i])
                                return false;
                        spec[i] = 'b';
                        break;
                case SEG_REST:
                        for (size_t j = i; j < n; j++)
                                if (!*segs[j])
                                        return false;
                        spec[i] = 'c';
                        spec[i + 1] = '\0';
                        return true;
                default:
                        return false;
                }
        }
        spec[e->n_segs] = '\0';
        return n == e->n_segs;
}

int http_router_match(const struct http_router *r, const char *method, const char *path,
                      const struct http_route **ret_route, char ***ret_params, char **ret_allow) {
        _cleanup_strv_ char **raw = NULL, **segs = NULL, **allow = NULL, **params = NULL;
        _cleanup_free_ char *spec = NULL, *best_spec = NULL;
        const struct entry *best = NULL;
        size_t n;

        if (!path || path[0] != '/')
                return 404;
        raw = split_path(path);
        n = strv_length(raw);
        segs = xnew0(char *, n + 1);
        for (size_t i = 0; i < n; i++)
                if (http_unescape(raw[i], strlen(raw[i]), false, &segs[i]) < 0)
                        return 400;
        spec = xmalloc(n + 2);
        best_spec = xmalloc(n + 2);

        for (size_t i = 0; i < r->n_entries; i++) {
                const struct entry *e = &r->entries[i];

                if (!entry_match(e, segs, n, spec))
                        continue;
                if (!streq(e->route.method, method)) {
                        if (!strv_contains(allow, e->route.method))
                                strv_push(&allow, e->route.method);
                        continue;
                }
                if (!best || strcmp(spec, best_spec) < 0) {
                        best = e;
                        strcpy(best_spec, spec);
                }
        }
        if (!best) {
                if (!allow)
                        return 404;
                if (ret_allow)
                        *ret_allow = strv_join(allow, ", ");
                return 405;
        }

        params = xnew0(char *, 1);
        for (size_t i = 0; i < best->n_segs; i++) {
                if (best->segs[i].kind == SEG_PARAM) {
                        strv_push(&params, best->segs[i].text);
                        strv_push(&params, segs[i]);
                } else if (best->segs[i].kind == SEG_REST) {
                        strv_push(&params, best->segs[i].text);
                        strv_push_take(&params, strv_join(segs + i, "/"));
                }
        }
        *ret_route = &best->route;
        if (ret_params)
                *ret_params = TAKE_PTR(params);
        return 200;
}
