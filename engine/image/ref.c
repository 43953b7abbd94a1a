/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image/errwrap.h"
#include "image/ref.h"
#include "strv.h"
#include "xalloc.h"

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c) {
        return is_alnum(c) || c == '_';
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* over s[0..n). */
static bool path_component_valid(const char *s, size_t n) {
        size_t i = 0;

        for (;;) {
                size_t start = i;

                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == start)
                        return false;
                if (i == n)
                        return true;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_') {
                        i++;
                        if (i < n && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else
                        return false;
        }
}

/* (?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) over s[0..n). */
static bool domain_component_valid(const char *s, size_t n) {
        if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* host(:port)? where host is dotted domain components or a bracketed IPv6 address. */
static bool domain_valid(const char *d) {
        const char *colon, *end;
        size_t n = strlen(d);

        if (d[0] == '[') {
                const char *close = strchr(d, ']');
                if (!close || close == d + 1)
                        return false;
                for (const char *p = d + 1; p < close; p++)
                        if (!is_hex(*p) && *p != ':')
                                return false;
                colon = close[1] == ':' ? close + 1 : NULL;
                if (!colon && close[1] != 0)
                        return false;
                end = close + 1;
        } else {
                const char *p = d;
                colon = strchr(d, ':');
                end = colon ? colon : d + n;
                for (;;) {
                        const char *dot = memchr(p, '.', (size_t)(end - p));
                        const char *ce = dot ? dot : end;
                        if (!domain_component_valid(p, (size_t)(ce - p)))
                                return false;
                        if (!dot)
                                break;
                        p = dot + 1;
                }
        }
        if (colon) {
                if (colon[1] == 0)
                        return false;
                for (const char *p = colon + 1; *p; p++)
                        if (*p < '0' || *p > '9')
                                return false;
        }
        (void)end;
        return true;
}

bool ref_tag_valid(const char *t) {
        size_t n = strlen(t);

        if (n == 0 || n > REF_TAG_MAX || !is_word(t[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
                        return false;
        return true;
}

/* Digest grammar of distribution/reference, then the algorithm's own rules (only sha256). */
int digest_validate(const char *d, struct err **errp) {
        const char *colon = strchr(d, ':');
        size_t hexlen;

        if (!colon || colon == d || !isalpha((unsigned char)d[0]))
                return err_setx(errp, EINVAL, "invalid digest format: '%s'", d);
        for (const char *p = d; p < colon; p++)
                if (!is_alnum(*p) && !strchr("-_+.", *p))
                        return err_setx(errp, EINVAL, "invalid digest format: '%s'", d);
        hexlen = strlen(colon + 1);
        if (hexlen < 32)
                return err_setx(errp, EINVAL, "invalid digest format: '%s'", d);
        for (const char *p = colon + 1; *p; p++)
                if (!is_hex(*p))
                        return err_setx(errp, EINVAL, "invalid digest format: '%s'", d);
        if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6) != 0)
                return err_setx(errp, EINVAL, "unsupported digest algorithm: '%s'", d);
        if (hexlen != 64)
                return err_setx(errp, EINVAL, "invalid checksum digest length: '%s'", d);
        for (const char *p = colon + 1; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        return err_setx(errp, EINVAL, "invalid checksum digest format: '%s'", d);
        return 0;
}

struct image_ref *ref_free(struct image_ref *r) {
        if (!r)
                return NULL;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r);
        return NULL;
}

void ref_freep(struct image_ref **r) {
        *r = ref_free(*r);
}

static int ref_parse_full(const char *s, bool add_latest, struct image_ref **ret,
                          struct err **errp) {
        _cleanup_(ref_freep) struct image_ref *r = NULL;
        _cleanup_free_ char *name = NULL;
        const char *at, *slash, *colon, *remainder;
        size_t n = strlen(s), i;
        char *p;
        int k;

        if (n == 0)
                return err_setx(errp, EINVAL,
                                "invalid reference format: repository name must have at least "
                                "one component");
        if (n > 4096)
                return err_setx(errp, EINVAL, "invalid reference format: reference too long");
        if (n == 64) {
                for (i = 0; i < 64 && is_lower_alnum(s[i]) && is_hex(s[i]); i++)
                        ;
                if (i == 64)
                        return err_setx(errp, EINVAL,
                                        "invalid repository name '%s', cannot specify 64-byte "
                                        "hexadecimal strings",
                                        s);
        }

        r = xnew0(struct image_ref, 1);
        at = strchr(s, '@');
        if (at) {
                r->digest = xstrdup(at + 1);
                k = digest_validate(r->digest, errp);
                if (k < 0)
                        return err_wrap_r(k, errp, "invalid reference '%s'", s);
                name = xstrndup(s, (size_t)(at - s));
        } else
                name = xstrdup(s);

        slash = strrchr(name, '/');
        colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                r->tag = xstrdup(colon + 1);
                if (!ref_tag_valid(r->tag))
                        return err_setx(errp, EINVAL,
                                        "invalid reference format: invalid tag in '%s'", s);
                name[colon - name] = 0;
        }
        if (name[0] == 0)
                return err_setx(errp, EINVAL, "invalid reference format: '%s'", s);

        /* splitDockerDomain */
        slash = strchr(name, '/');
        remainder = name;
        if (slash) {
                _cleanup_free_ char *first = xstrndup(name, (size_t)(slash - name));
                bool upper = false;
                for (p = first; *p; p++)
                        upper |= (*p >= 'A' && *p <= 'Z');
                if (strpbrk(first, ".:") || streq(first, "localhost") || upper) {
                        r->domain = TAKE_PTR(first);
                        remainder = slash + 1;
                }
        }
        if (!r->domain)
                r->domain = xstrdup(REF_DEFAULT_DOMAIN);
        if (streq(r->domain, "index.docker.io")) {
                free(r->domain);
                r->domain = xstrdup(REF_DEFAULT_DOMAIN);
        }
        if (!domain_valid(r->domain))
                return err_setx(errp, EINVAL, "invalid reference format: invalid domain in '%s'",
                                s);
        if (streq(r->domain, REF_DEFAULT_DOMAIN) && !strchr(remainder, '/'))
                r->path = xasprintf("library/%s", remainder);
        else
                r->path = xstrdup(remainder);

        for (p = r->path; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        return err_setx(errp, EINVAL,
                                        "invalid reference format: repository name must be "
                                        "lowercase: '%s'",
                                        s);
        for (const char *c = r->path;;) {
                const char *e = strchr(c, '/');
                size_t len = e ? (size_t)(e - c) : strlen(c);
                if (!path_component_valid(c, len))
                        return err_setx(errp, EINVAL, "invalid reference format: '%s'", s);
                if (!e)
                        break;
                c = e + 1;
        }
        if (strlen(r->domain) + 1 + strlen(r->path) > REF_NAME_MAX)
                return err_setx(errp, EINVAL,
                                "invalid reference format: repository name must not be more than "
                                "%d characters: '%.64s...'",
                                REF_NAME_MAX, s);

        if (add_latest && !r->tag && !r->digest)
                r->tag = xstrdup("latest");
        *ret = TAKE_PTR(r);
        return 0;
}

int ref_parse(const char *s, struct image_ref **ret, struct err **errp) {
        return ref_parse_full(s, true, ret, errp);
}

int ref_parse_name(const char *s, struct image_ref **ret, struct err **errp) {
        return ref_parse_full(s, false, ret, errp);
}

char *ref_repository(const struct image_ref *r) {
        return xasprintf("%s/%s", r->domain, r->path);
}

char *ref_full(const struct image_ref *r) {
        return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
                         r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *ref_familiar_name(const struct image_ref *r) {
        if (streq(r->domain, REF_DEFAULT_DOMAIN)) {
                if (str_startswith(r->path, "library/") && !strchr(r->path + 8, '/'))
                        return xstrdup(r->path + 8);
                return xstrdup(r->path);
        }
        return ref_repository(r);
}

char *ref_familiar(const struct image_ref *r) {
        _cleanup_free_ char *name = ref_familiar_name(r);

        return xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
                         r->digest ? "@" : "", r->digest ? r->digest : "");
}
