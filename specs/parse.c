/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "parse.h"
#include "strv.h"
#include "xalloc.h"

/* Sets the caller's message (when wanted) and evaluates to -EINVAL. */
#define bad(ret_msg, ...)                                                                          \
        ((ret_msg) ? (void)(*(ret_msg) = xasprintf(__VA_ARGS__)) : (void)0, -EINVAL)

int parse_duration_ms(const char *s, int64_t *ret, char **ret_msg) {
        static const struct {
                const char *unit;
                double ms;
        } units[] = {
                {"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1},
                {"s", 1000},  {"m", 60000}, {"h", 3600000},
        };
        const char *p = s;
        double total = 0;

        if (streq(s, "0")) {
                *ret = 0;
                return 0;
        }
        if (!*p)
                return bad(ret_msg, "invalid duration \"%s\" (expected e.g. \"1m30s\", \"500ms\")",
                           s);
        while (*p) {
                char *end;
                double v;
                size_t best = 0, bi = 0;

                if (!isdigit((unsigned char)*p) && *p != '.')
                        return bad(ret_msg,
                                   "invalid duration \"%s\" (expected e.g. \"1m30s\", \"500ms\")",
                                   s);
                errno = 0;
                v = strtod(p, &end);
                if (errno || end == p || !isfinite(v))
                        return bad(ret_msg,
                                   "invalid duration \"%s\" (expected e.g. \"1m30s\", \"500ms\")",
                                   s);
                p = end;
                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t l = strlen(units[i].unit);
                        if (strncmp(p, units[i].unit, l) == 0 && l > best) {
                                best = l;
                                bi = i;
                        }
                }
                if (best == 0)
                        return bad(
                                ret_msg,
                                "invalid duration \"%s\" (missing unit; expected e.g. \"1m30s\", "
                                "\"500ms\")",
                                s);
                total += v * units[bi].ms;
                p += best;
        }
        if (total > 1e15)
                return bad(ret_msg, "duration \"%s\" is too long", s);
        *ret = (int64_t)total;
        return 0;
}

int parse_size(const char *s, int64_t *ret, char **ret_msg) {
        static const struct {
                const char *unit;
                double mult;
        } units[] = {
                {"", 1},
                {"b", 1},
                {"k", 1024.0},
                {"kb", 1024.0},
                {"m", 1048576.0},
                {"mb", 1048576.0},
                {"g", 1073741824.0},
                {"gb", 1073741824.0},
                {"t", 1099511627776.0},
                {"tb", 1099511627776.0},
        };
        char *end;
        double v;

        if (!isdigit((unsigned char)*s) && *s != '.')
                return bad(ret_msg, "invalid size \"%s\" (expected e.g. \"512m\", \"1g\")", s);
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !isfinite(v))
                return bad(ret_msg, "invalid size \"%s\" (expected e.g. \"512m\", \"1g\")", s);
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcasecmp(end, units[i].unit) == 0) {
                        double b = v * units[i].mult;
                        if (b > 9.0e18)
                                return bad(ret_msg, "size \"%s\" is too large", s);
                        *ret = (int64_t)b;
                        return 0;
                }
        return bad(ret_msg, "invalid size \"%s\" (expected e.g. \"512m\", \"1g\")", s);
}

int parse_quantity(const char *s, double *ret, char **ret_msg) {
        static const struct {
                const char *suffix;
                double mult;
        } sfx[] = {
                {"Ki", 1024.0},
                {"Mi", 1048576.0},
                {"Gi", 1073741824.0},
                {"Ti", 1099511627776.0},
                {"Pi", 1125899906842624.0},
                {"Ei", 1152921504606846976.0},
                {"n", 1e-9},
                {"u", 1e-6},
                {"m", 1e-3},
                {"", 1},
                {"k", 1e3},
                {"M", 1e6},
                {"G", 1e9},
                {"T", 1e12},
                {"P", 1e15},
                {"E", 1e18},
        };
        char *end;
        double v;

        if (!isdigit((unsigned char)*s) && *s != '.' && *s != '+')
                return bad(ret_msg, "invalid quantity \"%s\" (expected e.g. \"500m\", \"128Mi\")",
                           s);
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !isfinite(v) || v < 0 || strpbrk(s, "xX"))
                return bad(ret_msg, "invalid quantity \"%s\" (expected e.g. \"500m\", \"128Mi\")",
                           s);
        for (size_t i = 0; i < ELEMENTSOF(sfx); i++)
                if (streq(end, sfx[i].suffix)) {
                        *ret = v * sfx[i].mult;
                        return 0;
                }
        return bad(ret_msg, "invalid quantity \"%s\" (expected e.g. \"500m\", \"128Mi\")", s);
}

int parse_port_number(const char *s, bool allow_zero, int *ret, char **ret_msg) {
        char *end;
        long v;

        if (!isdigit((unsigned char)*s))
                return bad(ret_msg, "invalid port \"%s\" (expected 1-65535)", s);
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v > 65535 || (v == 0 && !allow_zero))
                return bad(ret_msg, "invalid port \"%s\" (expected 1-65535)", s);
        *ret = (int)v;
        return 0;
}

bool protocol_valid(const char *s) {
        return streq(s, "tcp") || streq(s, "udp") || streq(s, "sctp");
}

/* "A" or "A-B" -> [lo, hi]. */
static bool parse_range(const char *s, int *lo, int *hi) {
        _cleanup_free_ char *a = NULL;
        const char *dash = strchr(s, '-');

        if (!dash)
                return parse_port_number(s, false, lo, NULL) == 0 && (*hi = *lo, true);
        a = xstrndup(s, (size_t)(dash - s));
        if (parse_port_number(a, false, lo, NULL) < 0 ||
            parse_port_number(dash + 1, false, hi, NULL) < 0)
                return false;
        return *lo <= *hi;
}

#define PORT_EXPECTED "expected \"[HOST_IP:][HOST:]CONTAINER[/PROTO]\", got \"%s\""

int parse_port_short(const char *s, json_t *ports, char **ret_msg) {
        _cleanup_free_ char *copy = xstrdup(s), *host_ip = NULL;
        _cleanup_strv_ char **parts = NULL;
        const char *proto = "tcp", *host = NULL, *ctr;
        char *p = copy, *slash;
        int clo, chi, hlo = 0, hhi = 0;

        slash = strrchr(p, '/');
        if (slash) {
                *slash = 0;
                proto = slash + 1;
                if (!protocol_valid(proto))
                        return bad(ret_msg,
                                   "invalid protocol in \"%s\" (expected tcp, udp or sctp)", s);
        }
        if (*p == '[') {
                char *close = strchr(p, ']');
                if (!close || close[1] != ':')
                        return bad(ret_msg, PORT_EXPECTED, s);
                host_ip = xstrndup(p + 1, (size_t)(close - p - 1));
                p = close + 2;
                char *colon = strchr(p, ':');
                if (!colon)
                        return bad(ret_msg, PORT_EXPECTED, s);
                *colon = 0;
                host = p;
                ctr = colon + 1;
        } else {
                size_t n;
                /* Keep empty fields ("127.0.0.1::80"). */
                for (char *q = p;;) {
                        char *c = strchr(q, ':');
                        if (!c) {
                                strv_push(&parts, q);
                                break;
                        }
                        strv_push_take(&parts, xstrndup(q, (size_t)(c - q)));
                        q = c + 1;
                }
                n = strv_length(parts);
                if (n == 1)
                        ctr = parts[0];
                else if (n == 2) {
                        host = parts[0];
                        ctr = parts[1];
                } else {
                        /* Everything before the last two fields is the host IP (bare IPv6). */
                        _cleanup_free_ char *ip = NULL;
                        for (size_t i = 0; i + 2 < n; i++) {
                                char *t = ip ? xasprintf("%s:%s", ip, parts[i]) : xstrdup(parts[i]);
                                free(ip);
                                ip = t;
                        }
                        host_ip = TAKE_PTR(ip);
                        host = parts[n - 2];
                        ctr = parts[n - 1];
                }
        }
        if (!parse_range(ctr, &clo, &chi))
                return bad(ret_msg, PORT_EXPECTED, s);
        if (host && *host && !parse_range(host, &hlo, &hhi))
                return bad(ret_msg, PORT_EXPECTED, s);
        if (host && *host && hlo != hhi && clo != chi && hhi - hlo != chi - clo)
                return bad(ret_msg, "port ranges in \"%s\" have different lengths", s);
        if (host && *host && hlo == hhi && clo != chi)
                return bad(ret_msg, "a single host port cannot publish the range in \"%s\"", s);
        if (chi - clo > 1024)
                return bad(ret_msg, "port range in \"%s\" is larger than 1024 ports", s);
        for (int c = clo; c <= chi; c++) {
                _cleanup_free_ char *pub = NULL;
                if (!host || !*host)
                        pub = xstrdup("");
                else if (hlo == hhi)
                        pub = xasprintf("%d", hlo);
                else if (clo == chi)
                        pub = xasprintf("%d-%d", hlo, hhi);
                else
                        pub = xasprintf("%d", hlo + (c - clo));
                json_array_append_new(ports,
                                      json_pack("{s:i,s:s,s:s,s:s,s:s,s:n}", "target", c,
                                                "published", pub, "host_ip", host_ip ? host_ip : "",
                                                "protocol", proto, "mode", "ingress", "name"));
        }
        return 0;
}

int shell_split(const char *s, char ***ret, char **ret_msg) {
        _cleanup_strv_ char **out = NULL;
        _cleanup_free_ char *cur = xmalloc(strlen(s) + 1);
        size_t n = 0;
        bool in_word = false;

        for (const char *p = s; *p; p++) {
                char c = *p;
                if (c == '\'') {
                        const char *e = strchr(p + 1, '\'');
                        if (!e)
                                return bad(ret_msg, "unterminated single quote in \"%s\"", s);
                        memcpy(cur + n, p + 1, (size_t)(e - p - 1));
                        n += (size_t)(e - p - 1);
                        p = e;
                        in_word = true;
                } else if (c == '"') {
                        p++;
                        for (; *p && *p != '"'; p++) {
                                if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1]))
                                        p++;
                                cur[n++] = *p;
                        }
                        if (!*p)
                                return bad(ret_msg, "unterminated double quote in \"%s\"", s);
                        in_word = true;
                } else if (c == '\\') {
                        if (p[1]) {
                                p++;
                                cur[n++] = *p;
                        }
                        in_word = true;
                } else if (isspace((unsigned char)c)) {
                        if (in_word) {
                                strv_push_take(&out, xstrndup(cur, n));
                                n = 0;
                                in_word = false;
                        }
                } else {
                        cur[n++] = c;
                        in_word = true;
                }
        }
        if (in_word)
                strv_push_take(&out, xstrndup(cur, n));
        if (!out)
                out = xnew0(char *, 1);
        *ret = TAKE_PTR(out);
        return 0;
}

static bool path_component_valid(const char *c, size_t len) {
        if (len == 0 || !isalnum((unsigned char)c[0]) || !isalnum((unsigned char)c[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)c[i];
                if (isupper(ch))
                        return false;
                if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
                        return false;
                if (!isalnum(ch) && i + 1 < len && !isalnum((unsigned char)c[i + 1]) &&
                    !(ch == '_' && c[i + 1] == '_'))
                        return false;
        }
        return true;
}

int image_ref_normalize(const char *s, char **ret, char **ret_msg) {
        _cleanup_free_ char *name = NULL, *domain = NULL, *path = NULL;
        const char *at, *tag = NULL, *digest = NULL, *slash, *colon;

        if (!*s || strlen(s) > 1024)
                return bad(ret_msg, "invalid image reference \"%s\"", s);
        at = strchr(s, '@');
        if (at) {
                digest = at + 1;
                const char *c = strchr(digest, ':');
                if (!c || c == digest || strlen(c + 1) < 32)
                        return bad(ret_msg, "invalid digest in image reference \"%s\"", s);
                for (const char *q = c + 1; *q; q++)
                        if (!isxdigit((unsigned char)*q))
                                return bad(ret_msg, "invalid digest in image reference \"%s\"", s);
                name = xstrndup(s, (size_t)(at - s));
        } else
                name = xstrdup(s);
        /* A tag is after the last ':' that follows the last '/'. */
        slash = strrchr(name, '/');
        colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                tag = colon + 1;
                if (!*tag || strlen(tag) > 128 || !(isalnum((unsigned char)*tag) || *tag == '_'))
                        return bad(ret_msg, "invalid tag in image reference \"%s\"", s);
                for (const char *q = tag; *q; q++)
                        if (!isalnum((unsigned char)*q) && !strchr("_.-", *q))
                                return bad(ret_msg, "invalid tag in image reference \"%s\"", s);
                name[colon - name] = 0;
        }
        slash = strchr(name, '/');
        if (slash &&
            (memchr(name, '.', (size_t)(slash - name)) ||
             memchr(name, ':', (size_t)(slash - name)) || strncmp(name, "localhost/", 10) == 0)) {
                domain = xstrndup(name, (size_t)(slash - name));
                path = xstrdup(slash + 1);
                for (const char *q = domain; *q; q++)
                        if (!isalnum((unsigned char)*q) && !strchr(".-:[]", *q))
                                return bad(ret_msg, "invalid registry in image reference \"%s\"",
                                           s);
        } else {
                domain = xstrdup("docker.io");
                path = slash ? xstrdup(name) : xasprintf("library/%s", name);
        }
        for (const char *c = path;;) {
                const char *e = strchr(c, '/');
                size_t l = e ? (size_t)(e - c) : strlen(c);
                if (!path_component_valid(c, l))
                        return bad(ret_msg,
                                   "invalid image reference \"%s\" (repository names are lowercase "
                                   "letters, digits and separators)",
                                   s);
                if (!e)
                        break;
                c = e + 1;
        }
        if (digest)
                *ret = tag ? xasprintf("%s/%s:%s@%s", domain, path, tag, digest)
                           : xasprintf("%s/%s@%s", domain, path, digest);
        else
                *ret = xasprintf("%s/%s:%s", domain, path, tag ? tag : "latest");
        return 0;
}

size_t levenshtein(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        size_t prev[65], cur[65];

        if (la > 64 || lb > 64)
                return SIZE_MAX / 2;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
                        size_t m = del < ins ? del : ins;
                        cur[j] = sub < m ? sub : m;
                }
                memcpy(prev, cur, sizeof(size_t) * (lb + 1));
        }
        return prev[lb];
}

const char *did_you_mean(const char *word, const char *const *candidates) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, wl = strlen(word);

        for (const char *const *c = candidates; c && *c; c++) {
                size_t d = levenshtein(word, *c);
                if (d < best_d) {
                        best_d = d;
                        best = *c;
                }
        }
        /* Close enough: at most a third of the word wrong (and at least one edit allowed). */
        if (best && best_d <= MAX((size_t)2, wl / 3) && best_d < wl)
                return best;
        return NULL;
}

/* ---- interpolation ---- */

struct interp {
        var_lookup_fn lookup;
        void *ud;
        char ***warnings;
        const char *orig;
        char **msg;
        unsigned depth;
};

static void buf_add(char **buf, size_t *len, size_t *alloc, const char *s, size_t n) {
        XGROW(*buf, *alloc, *len + n + 1);
        memcpy(*buf + *len, s, n);
        *len += n;
        (*buf)[*len] = 0;
}

static bool name_start(char c) {
        return isalpha((unsigned char)c) || c == '_';
}
static bool name_char(char c) {
        return isalnum((unsigned char)c) || c == '_';
}

static int interp_run(struct interp *in, const char *s, size_t len, char **ret);

/* Finds the '}' that closes a "${" whose body starts at p (nested ${...} are skipped). */
static const char *find_close(const char *p, const char *end) {
        unsigned depth = 0;

        for (; p < end; p++) {
                if (*p == '$' && p + 1 < end && p[1] == '$') {
                        p++;
                        continue;
                }
                if (*p == '$' && p + 1 < end && p[1] == '{') {
                        depth++;
                        p++;
                } else if (*p == '}') {
                        if (depth == 0)
                                return p;
                        depth--;
                }
        }
        return NULL;
}

static int interp_braced(struct interp *in, const char *body, size_t blen, char **ret) {
        _cleanup_free_ char *name = NULL, *word = NULL;
        const char *p = body, *end = body + blen, *val;
        char op[3] = "";

        if (p >= end || !name_start(*p)) {
                *in->msg = xasprintf("invalid interpolation format for \"%s\": \"${%.*s}\"",
                                     in->orig, (int)blen, body);
                return -EINVAL;
        }
        while (p < end && name_char(*p))
                p++;
        name = xstrndup(body, (size_t)(p - body));
        if (p < end) {
                if (*p == ':' && p + 1 < end && strchr("-?+", p[1])) {
                        op[0] = ':';
                        op[1] = p[1];
                        p += 2;
                } else if (strchr("-?+", *p)) {
                        op[0] = *p;
                        p++;
                } else {
                        *in->msg = xasprintf("invalid interpolation format for \"%s\": \"${%.*s}\"",
                                             in->orig, (int)blen, body);
                        return -EINVAL;
                }
        }
        val = in->lookup ? in->lookup(name, in->ud) : NULL;
        bool set = val != NULL, nonempty = val && *val;
        if (!op[0]) {
                if (!set && in->warnings)
                        strv_push_take(in->warnings,
                                       xasprintf("The \"%s\" variable is not set. Defaulting to a "
                                                 "blank string.",
                                                 name));
                *ret = xstrdup(val ? val : "");
                return 0;
        }
        bool colon = op[0] == ':';
        char kind = colon ? op[1] : op[0];
        bool present = colon ? nonempty : set;
        int r;

        switch (kind) {
        case '-':
                if (present) {
                        *ret = xstrdup(val);
                        return 0;
                }
                return interp_run(in, p, (size_t)(end - p), ret);
        case '+':
                if (!present) {
                        *ret = xstrdup("");
                        return 0;
                }
                return interp_run(in, p, (size_t)(end - p), ret);
        case '?':
                if (present) {
                        *ret = xstrdup(val);
                        return 0;
                }
                r = interp_run(in, p, (size_t)(end - p), &word);
                if (r < 0)
                        return r;
                *in->msg = xasprintf("required variable %s is missing a value%s%s", name,
                                     *word ? ": " : "", word);
                return -EINVAL;
        default:
                return -EINVAL;
        }
}

static int interp_run(struct interp *in, const char *s, size_t len, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t olen = 0, alloc = 0;
        const char *p = s, *end = s + len;
        int r;

        if (++in->depth > 16) {
                *in->msg = xasprintf("interpolation nested too deeply in \"%s\"", in->orig);
                return -EINVAL;
        }
        buf_add(&out, &olen, &alloc, "", 0);
        while (p < end) {
                const char *d = memchr(p, '$', (size_t)(end - p));
                if (!d) {
                        buf_add(&out, &olen, &alloc, p, (size_t)(end - p));
                        break;
                }
                buf_add(&out, &olen, &alloc, p, (size_t)(d - p));
                if (d + 1 < end && d[1] == '$') {
                        buf_add(&out, &olen, &alloc, "$", 1);
                        p = d + 2;
                } else if (d + 1 < end && d[1] == '{') {
                        _cleanup_free_ char *v = NULL;
                        const char *close = find_close(d + 2, end);
                        if (!close) {
                                *in->msg = xasprintf("invalid interpolation format for \"%s\": "
                                                     "missing closing brace",
                                                     in->orig);
                                return -EINVAL;
                        }
                        r = interp_braced(in, d + 2, (size_t)(close - d - 2), &v);
                        if (r < 0)
                                return r;
                        buf_add(&out, &olen, &alloc, v, strlen(v));
                        p = close + 1;
                } else if (d + 1 < end && name_start(d[1])) {
                        _cleanup_free_ char *name = NULL;
                        const char *q = d + 1, *val;
                        while (q < end && name_char(*q))
                                q++;
                        name = xstrndup(d + 1, (size_t)(q - d - 1));
                        val = in->lookup ? in->lookup(name, in->ud) : NULL;
                        if (!val && in->warnings)
                                strv_push_take(in->warnings,
                                               xasprintf("The \"%s\" variable is not set. "
                                                         "Defaulting to a blank string.",
                                                         name));
                        if (val)
                                buf_add(&out, &olen, &alloc, val, strlen(val));
                        p = q;
                } else {
                        buf_add(&out, &olen, &alloc, "$", 1);
                        p = d + 1;
                }
        }
        in->depth--;
        *ret = TAKE_PTR(out);
        return 0;
}

int interpolate(const char *s, var_lookup_fn lookup, void *userdata, char **ret, char **ret_msg,
                char ***warnings) {
        _cleanup_free_ char *msg = NULL;
        struct interp in = {
                .lookup = lookup, .ud = userdata, .warnings = warnings, .orig = s, .msg = &msg};
        int r;

        r = interp_run(&in, s, strlen(s), ret);
        if (r < 0 && ret_msg)
                *ret_msg = TAKE_PTR(msg);
        return r;
}

const char *env_list_get(char *const *l, const char *key) {
        size_t kl = strlen(key);
        const char *found = NULL;

        STRV_FOREACH (e, l)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
                        found = *e + kl + 1;
        return found;
}

struct envfile_lookup {
        char **kv;
        var_lookup_fn lookup;
        void *ud;
};

static const char *envfile_lookup_fn(const char *name, void *ud) {
        struct envfile_lookup *l = ud;
        const char *v = env_list_get(l->kv, name);

        if (v)
                return v;
        return l->lookup ? l->lookup(name, l->ud) : NULL;
}

int envfile_parse(const char *buf, const char *fname, var_lookup_fn lookup, void *userdata,
                  char ***ret, struct err **errp) {
        struct envfile_lookup el = {.lookup = lookup, .ud = userdata};
        const char *p = buf;
        unsigned lineno = 0;

        while (*p) {
                _cleanup_free_ char *line = NULL, *key = NULL, *val = NULL, *msg = NULL;
                const char *nl = strchr(p, '\n'), *q, *k;
                size_t l = nl ? (size_t)(nl - p) : strlen(p);
                char *v;

                lineno++;
                line = xstrndup(p, l);
                p += l + (nl ? 1 : 0);
                if (l > 0 && line[l - 1] == '\r')
                        line[l - 1] = 0;
                q = line;
                while (isspace((unsigned char)*q))
                        q++;
                if (!*q || *q == '#')
                        continue;
                if (str_startswith(q, "export ") || str_startswith(q, "export\t"))
                        q += 7;
                while (isspace((unsigned char)*q))
                        q++;
                k = q;
                while (name_char(*q) || *q == '.' || *q == '-')
                        q++;
                key = xstrndup(k, (size_t)(q - k));
                while (*q == ' ' || *q == '\t')
                        q++;
                if (!*key || (*q && *q != '=')) {
                        strv_free(el.kv);
                        return err_setx(errp, EINVAL,
                                        "%s:%u: invalid line \"%s\" (expected KEY=VALUE)", fname,
                                        lineno, line);
                }
                if (!*q)
                        continue; /* a bare KEY sets nothing */
                q++;
                while (*q == ' ' || *q == '\t')
                        q++;
                if (*q == '\'') {
                        const char *e = strchr(q + 1, '\'');
                        if (!e) {
                                strv_free(el.kv);
                                return err_setx(errp, EINVAL, "%s:%u: unterminated quote", fname,
                                                lineno);
                        }
                        val = xstrndup(q + 1, (size_t)(e - q - 1));
                } else {
                        _cleanup_free_ char *raw = NULL;
                        if (*q == '"') {
                                size_t n = 0;
                                raw = xmalloc(strlen(q) + 1);
                                for (q++; *q && *q != '"'; q++) {
                                        if (*q == '\\' && q[1]) {
                                                q++;
                                                raw[n++] = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
                                        } else
                                                raw[n++] = *q;
                                }
                                raw[n] = 0;
                                if (!*q) {
                                        strv_free(el.kv);
                                        return err_setx(errp, EINVAL, "%s:%u: unterminated quote",
                                                        fname, lineno);
                                }
                        } else {
                                raw = xstrdup(q);
                                v = strstr(raw, " #");
                                if (v)
                                        *v = 0;
                                for (size_t n = strlen(raw);
                                     n > 0 && isspace((unsigned char)raw[n - 1]); n--)
                                        raw[n - 1] = 0;
                        }
                        if (interpolate(raw, envfile_lookup_fn, &el, &val, &msg, NULL) < 0) {
                                strv_free(el.kv);
                                return err_setx(errp, EINVAL, "%s:%u: %s", fname, lineno, msg);
                        }
                }
                strv_push_take(&el.kv, xasprintf("%s=%s", key, val));
        }
        if (!el.kv)
                el.kv = xnew0(char *, 1);
        *ret = el.kv;
        return 0;
}
