/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "xalloc.h"

char **strv_free(char **l) {
        int saved = errno;

        if (l) {
                for (char **s = l; *s; s++)
                        free(*s);
                free(l);
        }
        errno = saved;
        return NULL;
}

void strv_freep(char ***l) {
        *l = strv_free(*l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

void strv_push_take(char ***l, char *s) {
        size_t n = strv_length(*l);

        *l = xreallocarray(*l, n + 2, sizeof(char *));
        (*l)[n] = s;
        (*l)[n + 1] = NULL;
}

void strv_push(char ***l, const char *s) {
        strv_push_take(l, xstrdup(s));
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **r = xnew0(char *, n + 1);

        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(l[i]);
        return r;
}

bool strv_contains(char *const *l, const char *s) {
        STRV_FOREACH (i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

char *strv_join(char *const *l, const char *sep) {
        size_t len = 0, seplen = strlen(sep), n = 0;
        char *r, *p;

        STRV_FOREACH (s, l) {
                len += strlen(*s);
                n++;
        }
        if (n > 1)
                len += seplen * (n - 1);
        p = r = xmalloc(len + 1);
        STRV_FOREACH (s, l) {
                if (s != l) {
                        memcpy(p, sep, seplen);
                        p += seplen;
                }
                size_t k = strlen(*s);
                memcpy(p, *s, k);
                p += k;
        }
        *p = 0;
        return r;
}

char **strv_split(const char *s, const char *seps) {
        char **r = xnew0(char *, 1);

        while (*s) {
                size_t k;

                s += strspn(s, seps);
                k = strcspn(s, seps);
                if (k == 0)
                        break;
                strv_push_take(&r, xstrndup(s, k));
                s += k;
        }
        return r;
}

bool str_startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int strv_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}
