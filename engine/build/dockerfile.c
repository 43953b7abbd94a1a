/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "build/dockerfile.h"
#include "cleanup.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define DF_MAX_SIZE (4u << 20)
#define DF_MAX_DEPTH 16

static const char *const df_cmd_names[_DF_CMD_MAX] = {
        [DF_ADD] = "ADD",
        [DF_ARG] = "ARG",
        [DF_CMD] = "CMD",
        [DF_COPY] = "COPY",
        [DF_ENTRYPOINT] = "ENTRYPOINT",
        [DF_ENV] = "ENV",
        [DF_EXPOSE] = "EXPOSE",
        [DF_FROM] = "FROM",
        [DF_HEALTHCHECK] = "HEALTHCHECK",
        [DF_LABEL] = "LABEL",
        [DF_MAINTAINER] = "MAINTAINER",
        [DF_ONBUILD] = "ONBUILD",
        [DF_RUN] = "RUN",
        [DF_SHELL] = "SHELL",
        [DF_STOPSIGNAL] = "STOPSIGNAL",
        [DF_USER] = "USER",
        [DF_VOLUME] = "VOLUME",
        [DF_WORKDIR] = "WORKDIR",
};

/* Flags each instruction accepts; instructions not listed take no flags. */
static const char *const df_cmd_flags[_DF_CMD_MAX][8] = {
        [DF_FROM] = {"platform"},
        [DF_RUN] = {"mount", "network", "security"},
        [DF_COPY] = {"from", "chown", "chmod", "link", "parents", "exclude"},
        [DF_ADD] = {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"},
        [DF_HEALTHCHECK] = {"interval", "timeout", "start-period", "start-interval", "retries"},
};

const char *df_cmd_name(enum df_cmd c) {
        if (c < 0 || c >= _DF_CMD_MAX)
                return NULL;
        return df_cmd_names[c];
}

enum df_cmd df_cmd_from_name(const char *s) {
        for (int i = 0; i < _DF_CMD_MAX; i++)
                if (strcasecmp(s, df_cmd_names[i]) == 0)
                        return (enum df_cmd)i;
        return _DF_CMD_INVALID;
}

bool df_cmd_expands(enum df_cmd c) {
        switch (c) {
        case DF_ADD:
        case DF_ARG:
        case DF_COPY:
        case DF_ENV:
        case DF_EXPOSE:
        case DF_FROM:
        case DF_LABEL:
        case DF_STOPSIGNAL:
        case DF_USER:
        case DF_VOLUME:
        case DF_WORKDIR:
                return true;
        default:
                return false;
        }
}

bool df_is_predefined_arg(const char *name) {
        static const char *const names[] = {
                "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(name, names[i]))
                        return true;
        return false;
}

/* A growable string. */
struct sbuf {
        char *s;
        size_t len, cap;
};

static void sb_addn(struct sbuf *b, const char *s, size_t n) {
        XGROW(b->s, b->cap, b->len + n + 1);
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = 0;
}

static void sb_addc(struct sbuf *b, char c) {
        sb_addn(b, &c, 1);
}

static void sb_adds(struct sbuf *b, const char *s) {
        sb_addn(b, s, strlen(s));
}

static char *sb_take(struct sbuf *b) {
        char *s = b->s ? b->s : xstrdup("");
        *b = (struct sbuf){};
        return s;
}

/* ---- variables ---- */

void df_vars_done(struct df_vars *v) {
        v->kv = strv_free(v->kv);
}

static ssize_t vars_find(const struct df_vars *v, const char *key) {
        size_t kl = strlen(key);
        ssize_t found = -1;

        for (size_t i = 0; v->kv && v->kv[i]; i++)
                if (strncmp(v->kv[i], key, kl) == 0 && v->kv[i][kl] == '=')
                        found = (ssize_t)i;
        return found;
}

void df_vars_set(struct df_vars *v, const char *key, const char *value) {
        ssize_t i = vars_find(v, key);
        char *kv = xasprintf("%s=%s", key, value);

        if (i >= 0) {
                free(v->kv[i]);
                v->kv[i] = kv;
        } else
                strv_push_take(&v->kv, kv);
}

const char *df_vars_get(const struct df_vars *v, const char *key) {
        ssize_t i = vars_find(v, key);
        return i < 0 ? NULL : v->kv[i] + strlen(key) + 1;
}

bool df_vars_has(const struct df_vars *v, const char *key) {
        return vars_find(v, key) >= 0;
}

/* ---- the shell-word lexer ---- */

struct lexer {
        const char *s;
        size_t pos;
        char esc;
        const struct df_vars *vars;
        struct err **errp;
        unsigned depth;
};

static int lex_until(struct lexer *lx, char stop, bool split, struct sbuf *cur, bool *started,
                     char ***words);

static bool is_name_char(char c) {
        return isalnum((unsigned char)c) || c == '_';
}

/* Handles the text after '$' at lx->pos. */
static int lex_dollar(struct lexer *lx, struct sbuf *out) {
        const char *s = lx->s;
        _cleanup_free_ char *name = NULL;
        const char *val;
        size_t start;
        int r;

        if (s[lx->pos] != '{') {
                start = lx->pos;
                while (is_name_char(s[lx->pos]))
                        lx->pos++;
                if (lx->pos == start) {
                        sb_addc(out, '$');
                        return 0;
                }
                name = xstrndup(s + start, lx->pos - start);
                val = df_vars_get(lx->vars, name);
                sb_adds(out, val ? val : "");
                return 0;
        }

        lx->pos++;
        start = lx->pos;
        while (is_name_char(s[lx->pos]))
                lx->pos++;
        if (lx->pos == start)
                return err_setx(lx->errp, EINVAL, "bad substitution: missing variable name");
        name = xstrndup(s + start, lx->pos - start);
        val = df_vars_get(lx->vars, name);

        if (s[lx->pos] == '}') {
                lx->pos++;
                sb_adds(out, val ? val : "");
                return 0;
        }

        bool colon = false;
        if (s[lx->pos] == ':') {
                colon = true;
                lx->pos++;
        }
        char mod = s[lx->pos];
        if (mod != '-' && mod != '+' && mod != '?')
                return err_setx(lx->errp, EINVAL,
                                "bad substitution: unsupported modifier in '${%s'", name);
        lx->pos++;

        struct sbuf word = {};
        bool started = false;
        if (++lx->depth > DF_MAX_DEPTH)
                return err_setx(lx->errp, EINVAL, "bad substitution: nested too deeply");
        r = lex_until(lx, '}', false, &word, &started, NULL);
        lx->depth--;
        _cleanup_free_ char *w = sb_take(&word);
        if (r < 0)
                return r;
        if (s[lx->pos] != '}')
                return err_setx(lx->errp, EINVAL, "bad substitution: missing '}' after '${%s'",
                                name);
        lx->pos++;

        bool set = colon ? (val && *val) : val != NULL;
        switch (mod) {
        case '-':
                sb_adds(out, set ? val : w);
                break;
        case '+':
                sb_adds(out, set ? w : "");
                break;
        case '?':
                if (!set)
                        return err_setx(lx->errp, EINVAL, "%s: %s", name,
                                        *w ? w : "parameter not set");
                sb_adds(out, val);
                break;
        default:
                return err_setx(lx->errp, EINVAL, "bad substitution");
        }
        return 0;
}

/* Processes characters until `stop` (not consumed) or the end of the string. In split mode,
 * unquoted whitespace ends the current word and words go to *words. */
static int lex_until(struct lexer *lx, char stop, bool split, struct sbuf *cur, bool *started,
                     char ***words) {
        const char *s = lx->s;
        int r;

        while (s[lx->pos] && s[lx->pos] != stop) {
                char c = s[lx->pos];

                if (split && isspace((unsigned char)c)) {
                        if (*started)
                                strv_push_take(words, sb_take(cur));
                        *started = false;
                        lx->pos++;
                        continue;
                }
                *started = true;
                if (c == lx->esc) {
                        lx->pos++;
                        if (s[lx->pos]) {
                                sb_addc(cur, s[lx->pos]);
                                lx->pos++;
                        } else
                                sb_addc(cur, c);
                        continue;
                }
                if (c == '\'') {
                        const char *end = strchr(s + lx->pos + 1, '\'');
                        if (!end)
                                return err_setx(lx->errp, EINVAL,
                                                "unexpected end of statement while looking for "
                                                "matching single-quote");
                        sb_addn(cur, s + lx->pos + 1, (size_t)(end - (s + lx->pos + 1)));
                        lx->pos = (size_t)(end - s) + 1;
                        continue;
                }
                if (c == '"') {
                        lx->pos++;
                        for (;;) {
                                char d = s[lx->pos];
                                if (!d)
                                        return err_setx(lx->errp, EINVAL,
                                                        "unexpected end of statement while "
                                                        "looking for matching double-quote");
                                if (d == '"') {
                                        lx->pos++;
                                        break;
                                }
                                if (d == lx->esc && s[lx->pos + 1] &&
                                    (s[lx->pos + 1] == '"' || s[lx->pos + 1] == '$' ||
                                     s[lx->pos + 1] == lx->esc)) {
                                        sb_addc(cur, s[lx->pos + 1]);
                                        lx->pos += 2;
                                        continue;
                                }
                                if (d == '$' && lx->vars) {
                                        lx->pos++;
                                        r = lex_dollar(lx, cur);
                                        if (r < 0)
                                                return r;
                                        continue;
                                }
                                sb_addc(cur, d);
                                lx->pos++;
                        }
                        continue;
                }
                if (c == '$' && lx->vars) {
                        lx->pos++;
                        r = lex_dollar(lx, cur);
                        if (r < 0)
                                return r;
                        continue;
                }
                sb_addc(cur, c);
                lx->pos++;
        }
        return 0;
}

int df_lex_word(const char *in, char escape, const struct df_vars *vars, char **ret,
                struct err **errp) {
        struct lexer lx = {.s = in, .esc = escape, .vars = vars, .errp = errp};
        struct sbuf cur = {};
        bool started = false;
        int r;

        r = lex_until(&lx, 0, false, &cur, &started, NULL);
        if (r < 0) {
                free(cur.s);
                return r;
        }
        *ret = sb_take(&cur);
        return 0;
}

int df_lex_words(const char *in, char escape, const struct df_vars *vars, char ***ret,
                 struct err **errp) {
        struct lexer lx = {.s = in, .esc = escape, .vars = vars, .errp = errp};
        _cleanup_strv_ char **words = NULL;
        struct sbuf cur = {};
        bool started = false;
        int r;

        r = lex_until(&lx, 0, true, &cur, &started, &words);
        if (r < 0) {
                free(cur.s);
                return r;
        }
        if (started)
                strv_push_take(&words, sb_take(&cur));
        free(cur.s);
        if (!words)
                words = xnew0(char *, 1);
        *ret = TAKE_PTR(words);
        return 0;
}

/* ---- raw word splitting (quotes and escapes kept) ---- */

struct rword {
        char *w;
        size_t start; /* offset in the source */
};

/* Splits s into raw words; returns the count or a negative errno on an unterminated quote. */
static int raw_words(const char *s, char esc, struct rword **ret, size_t *ret_n) {
        struct rword *v = NULL;
        size_t n = 0, cap = 0, i = 0;

        for (;;) {
                while (s[i] && isspace((unsigned char)s[i]))
                        i++;
                if (!s[i])
                        break;
                size_t start = i;
                while (s[i] && !isspace((unsigned char)s[i])) {
                        if (s[i] == esc && s[i + 1]) {
                                i += 2;
                                continue;
                        }
                        if (s[i] == '\'' || s[i] == '"') {
                                char q = s[i++];
                                while (s[i] && s[i] != q) {
                                        if (q == '"' && s[i] == esc && s[i + 1])
                                                i++;
                                        i++;
                                }
                                if (!s[i]) {
                                        for (size_t k = 0; k < n; k++)
                                                free(v[k].w);
                                        free(v);
                                        return -EINVAL;
                                }
                        }
                        i++;
                }
                XGROW(v, cap, n + 1);
                v[n].w = xstrndup(s + start, i - start);
                v[n].start = start;
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static void rwords_free(struct rword *v, size_t n) {
        for (size_t k = 0; k < n; k++)
                free(v[k].w);
        free(v);
}

/* ---- instructions ---- */

static void heredoc_done(struct df_heredoc *h) {
        free(h->name);
        free(h->content);
}

static void instr_done(struct df_instr *in) {
        free(in->original);
        for (size_t i = 0; i < in->n_flags; i++) {
                free(in->flags[i].name);
                free(in->flags[i].value);
        }
        free(in->flags);
        free(in->rest);
        strv_free(in->args);
        for (size_t i = 0; i < in->n_heredocs; i++)
                heredoc_done(&in->heredocs[i]);
        free(in->heredocs);
        df_instr_free(in->onbuild);
}

void df_instr_free(struct df_instr *in) {
        if (!in)
                return;
        instr_done(in);
        free(in);
}

void df_instr_freep(struct df_instr **in) {
        df_instr_free(*in);
        *in = NULL;
}

const char *df_instr_flag(const struct df_instr *in, const char *name, bool *found) {
        for (size_t i = in->n_flags; i > 0; i--)
                if (streq(in->flags[i - 1].name, name)) {
                        if (found)
                                *found = true;
                        return in->flags[i - 1].value;
                }
        if (found)
                *found = false;
        return NULL;
}

static bool cmd_has_json_form(enum df_cmd c) {
        return c == DF_RUN || c == DF_CMD || c == DF_ENTRYPOINT || c == DF_SHELL || c == DF_COPY ||
               c == DF_ADD || c == DF_VOLUME;
}

/* Tries s as a JSON array of strings. */
static bool parse_json_array(const char *s, char ***ret) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_strv_ char **l = NULL;
        json_t *v;
        size_t i;

        j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
        if (!j || !json_is_array(j))
                return false;
        json_array_foreach (j, i, v) {
                if (!json_is_string(v))
                        return false;
                strv_push(&l, json_string_value(v));
        }
        if (!l)
                l = xnew0(char *, 1);
        *ret = TAKE_PTR(l);
        return true;
}

static bool valid_heredoc_word(const char *w, const char **ret_delim, bool *ret_chomp) {
        while (isdigit((unsigned char)*w))
                w++;
        if (!str_startswith(w, "<<"))
                return false;
        w += 2;
        bool chomp = false;
        if (*w == '-') {
                chomp = true;
                w++;
        }
        if (!*w || strchr(w, '<'))
                return false;
        *ret_delim = w;
        *ret_chomp = chomp;
        return true;
}

/* Parses the instruction text (continuations already joined). Heredoc bodies are filled by the
 * caller; this only records their delimiters. */
static int parse_instr_text(const char *text, char esc, const char *name, unsigned lineno,
                            bool in_onbuild, struct df_instr **ret, struct err **errp) {
        _cleanup_(df_instr_freep) struct df_instr *in = NULL;
        struct rword *w = NULL;
        size_t nw = 0, k;
        int r;

        while (isspace((unsigned char)*text))
                text++;
        if (raw_words(text, esc, &w, &nw) < 0)
                return err_setx(errp, EINVAL, "%s:%u: unterminated quote", name, lineno);
        if (nw == 0) {
                free(w);
                return err_setx(errp, EINVAL, "%s:%u: empty instruction", name, lineno);
        }

        in = xnew0(struct df_instr, 1);
        in->line = lineno;
        in->original = xstrdup(text);
        in->cmd = df_cmd_from_name(w[0].w);
        if (in->cmd < 0) {
                r = err_setx(errp, EINVAL, "%s:%u: unknown instruction: %s", name, lineno, w[0].w);
                goto out;
        }

        /* Flags. */
        for (k = 1; k < nw && df_cmd_flags[in->cmd][0] && str_startswith(w[k].w, "--"); k++) {
                const char *f = w[k].w + 2;
                const char *eq = strchr(f, '=');
                _cleanup_free_ char *fname = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
                bool ok = false;

                if (!*fname)
                        break; /* a bare "--" ends the flags */
                for (size_t j = 0; j < 8 && df_cmd_flags[in->cmd][j]; j++)
                        if (streq(fname, df_cmd_flags[in->cmd][j]))
                                ok = true;
                if (!ok) {
                        r = err_setx(errp, EINVAL, "%s:%u: unknown flag for %s: --%s", name, lineno,
                                     df_cmd_names[in->cmd], fname);
                        goto out;
                }
                if (streq(fname, "keep-git-dir")) {
                        r = err_setx(errp, EINVAL,
                                     "%s:%u: ADD --keep-git-dir is not supported: berth does not "
                                     "fetch git repositories",
                                     name, lineno);
                        goto out;
                }
                in->flags = xreallocarray(in->flags, in->n_flags + 1, sizeof(*in->flags));
                in->flags[in->n_flags++] = (struct df_flag){.name = TAKE_PTR(fname),
                                                            .value = eq ? xstrdup(eq + 1) : NULL};
        }
        if (k < nw && streq(w[k].w, "--") && df_cmd_flags[in->cmd][0])
                k++;
        in->rest = xstrdup(k < nw ? text + w[k].start : "");
        /* Trim trailing whitespace. */
        for (size_t l = strlen(in->rest); l > 0 && isspace((unsigned char)in->rest[l - 1]); l--)
                in->rest[l - 1] = 0;

        if (in_onbuild &&
            (in->cmd == DF_ONBUILD || in->cmd == DF_FROM || in->cmd == DF_MAINTAINER)) {
                r = err_setx(errp, EINVAL, "%s:%u: %s isn't allowed as an ONBUILD trigger", name,
                             lineno, df_cmd_names[in->cmd]);
                goto out;
        }

        if (cmd_has_json_form(in->cmd) && in->rest[0] == '[' &&
            parse_json_array(in->rest, &in->args))
                in->json = true;
        else if (in->cmd == DF_SHELL) {
                r = err_setx(errp, EINVAL, "%s:%u: SHELL requires the arguments to be in JSON form",
                             name, lineno);
                goto out;
        }

        if (!in->json) {
                for (size_t j = k; j < nw; j++)
                        strv_push(&in->args, w[j].w);
                if (!in->args)
                        in->args = xnew0(char *, 1);
        }

        /* Per-instruction checks. */
        size_t na = strv_length(in->args);
        switch (in->cmd) {
        case DF_ENV:
        case DF_LABEL:
                if (na == 0) {
                        r = err_setx(errp, EINVAL, "%s:%u: %s requires at least one argument", name,
                                     lineno, df_cmd_names[in->cmd]);
                        goto out;
                }
                if (!strchr(in->args[0], '=')) {
                        /* Legacy "ENV key value": the rest of the line is the value. */
                        if (na < 2) {
                                r = err_setx(errp, EINVAL, "%s:%u: %s must have two arguments",
                                             name, lineno, df_cmd_names[in->cmd]);
                                goto out;
                        }
                        const char *val = in->rest + strlen(in->args[0]);
                        while (isspace((unsigned char)*val))
                                val++;
                        char *kv = xasprintf("%s=%s", in->args[0], val);
                        strv_free(in->args);
                        in->args = NULL;
                        strv_push_take(&in->args, kv);
                } else
                        STRV_FOREACH (a, in->args)
                                if (!strchr(*a, '=')) {
                                        r = err_setx(errp, EINVAL,
                                                     "%s:%u: %s names can not be blank and need "
                                                     "'=': '%s'",
                                                     name, lineno, df_cmd_names[in->cmd], *a);
                                        goto out;
                                }
                break;
        case DF_ARG:
                if (na == 0) {
                        r = err_setx(errp, EINVAL, "%s:%u: ARG requires at least one argument",
                                     name, lineno);
                        goto out;
                }
                STRV_FOREACH (a, in->args)
                        if (**a == '=') {
                                r = err_setx(errp, EINVAL, "%s:%u: ARG names can not be blank",
                                             name, lineno);
                                goto out;
                        }
                break;
        case DF_FROM:
                if (na != 1 && !(na == 3 && strcasecmp(in->args[1], "as") == 0)) {
                        r = err_setx(errp, EINVAL,
                                     "%s:%u: FROM requires either one or three arguments "
                                     "(FROM image [AS name])",
                                     name, lineno);
                        goto out;
                }
                break;
        case DF_COPY:
        case DF_ADD:
                if (na < 2 && !(na == 1 && str_startswith(in->args[0], "<<"))) {
                        r = err_setx(errp, EINVAL, "%s:%u: %s requires at least two arguments",
                                     name, lineno, df_cmd_names[in->cmd]);
                        goto out;
                }
                break;
        case DF_RUN:
        case DF_ENTRYPOINT:
        case DF_SHELL:
        case DF_EXPOSE:
        case DF_VOLUME:
        case DF_USER:
        case DF_WORKDIR:
        case DF_STOPSIGNAL:
        case DF_MAINTAINER:
        case DF_ONBUILD:
        case DF_HEALTHCHECK:
                if (na == 0) {
                        r = err_setx(errp, EINVAL, "%s:%u: %s requires at least one argument", name,
                                     lineno, df_cmd_names[in->cmd]);
                        goto out;
                }
                if (in->cmd == DF_SHELL && na == 0) {
                        r = err_setx(errp, EINVAL, "%s:%u: SHELL requires at least one argument",
                                     name, lineno);
                        goto out;
                }
                if (in->cmd == DF_HEALTHCHECK) {
                        if (strcasecmp(in->args[0], "NONE") == 0) {
                                if (na != 1 || in->n_flags > 0) {
                                        r = err_setx(errp, EINVAL,
                                                     "%s:%u: HEALTHCHECK NONE takes no other "
                                                     "arguments",
                                                     name, lineno);
                                        goto out;
                                }
                        } else if (strcasecmp(in->args[0], "CMD") != 0 || na < 2) {
                                r = err_setx(errp, EINVAL,
                                             "%s:%u: HEALTHCHECK expects NONE or CMD <command>",
                                             name, lineno);
                                goto out;
                        }
                }
                if ((in->cmd == DF_USER || in->cmd == DF_STOPSIGNAL) && na != 1) {
                        r = err_setx(errp, EINVAL, "%s:%u: %s requires exactly one argument", name,
                                     lineno, df_cmd_names[in->cmd]);
                        goto out;
                }
                break;
        case DF_CMD:
                break;
        case _DF_CMD_MAX:
        case _DF_CMD_INVALID:
        default:
                r = err_setx(errp, EINVAL, "%s:%u: unknown instruction", name, lineno);
                goto out;
        }

        if (in->cmd == DF_ONBUILD) {
                r = parse_instr_text(in->rest, esc, name, lineno, true, &in->onbuild, errp);
                if (r < 0)
                        goto out;
        }

        /* Heredoc delimiters (RUN, COPY, ADD), in order of appearance. */
        if (!in->json && (in->cmd == DF_RUN || in->cmd == DF_COPY || in->cmd == DF_ADD))
                STRV_FOREACH (a, in->args) {
                        const char *delim;
                        bool chomp;
                        if (!valid_heredoc_word(*a, &delim, &chomp))
                                continue;
                        _cleanup_free_ char *dname = NULL;
                        r = df_lex_word(delim, esc, NULL, &dname, errp);
                        if (r < 0) {
                                err_wrap(errp, "%s:%u: heredoc delimiter", name, lineno);
                                goto out;
                        }
                        if (!*dname) {
                                r = err_setx(errp, EINVAL, "%s:%u: empty heredoc delimiter", name,
                                             lineno);
                                goto out;
                        }
                        in->heredocs = xreallocarray(in->heredocs, in->n_heredocs + 1,
                                                     sizeof(*in->heredocs));
                        in->heredocs[in->n_heredocs++] = (struct df_heredoc){
                                .name = TAKE_PTR(dname),
                                .expand = !strpbrk(delim, "'\""),
                                .chomp = chomp,
                        };
                }

        *ret = TAKE_PTR(in);
        r = 0;
out:
        rwords_free(w, nw);
        return r;
}

int df_parse_instr(const char *line, char escape, const char *name, unsigned lineno,
                   struct df_instr **ret, struct err **errp) {
        return parse_instr_text(line, escape, name, lineno, false, ret, errp);
}

/* ---- the file ---- */

struct dockerfile *df_free(struct dockerfile *df) {
        if (!df)
                return NULL;
        for (size_t i = 0; i < df->n_instrs; i++)
                instr_done(&df->instrs[i]);
        free(df->instrs);
        free(df->syntax);
        free(df);
        return NULL;
}

void df_freep(struct dockerfile **df) {
        *df = df_free(*df);
}

static bool is_blank(const char *s) {
        for (; *s; s++)
                if (!isspace((unsigned char)*s))
                        return false;
        return true;
}

static bool is_comment(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return *s == '#';
}

/* Matches "# key=value"; returns false when the line is not a directive. */
static bool parse_directive(const char *line, char **ret_key, char **ret_val) {
        const char *p = line, *ks, *vs;

        while (*p == ' ' || *p == '\t')
                p++;
        if (*p++ != '#')
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        ks = p;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
                p++;
        if (p == ks)
                return false;
        size_t kl = (size_t)(p - ks);
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p++ != '=')
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        vs = p;
        size_t vl = strlen(vs);
        while (vl > 0 && isspace((unsigned char)vs[vl - 1]))
                vl--;
        *ret_key = xstrndup(ks, kl);
        for (char *c = *ret_key; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        *ret_val = xstrndup(vs, vl);
        return true;
}

/* Returns true if the line (right-trimmed) ends with the escape char, and strips it. */
static bool strip_continuation(char *line, char esc) {
        size_t l = strlen(line);
        while (l > 0 && isspace((unsigned char)line[l - 1]))
                l--;
        if (l > 0 && line[l - 1] == esc) {
                line[l - 1] = 0;
                return true;
        }
        return false;
}

int df_parse(const char *text, size_t len, const char *name, struct dockerfile **ret,
             struct err **errp) {
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        _cleanup_strv_ char **lines = NULL;
        size_t n_lines = 0, cap_lines = 0, i;
        bool seen_escape = false;
        int r;

        if (len > DF_MAX_SIZE)
                return err_setx(errp, EFBIG, "%s: larger than %u bytes", name, DF_MAX_SIZE);
        if (memchr(text, 0, len))
                return err_setx(errp, EINVAL, "%s: contains a NUL byte", name);

        /* Split into lines, dropping a UTF-8 BOM and \r before \n. */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
                text += 3;
                len -= 3;
        }
        for (size_t p = 0; p < len;) {
                const char *nl = memchr(text + p, '\n', len - p);
                size_t e = nl ? (size_t)(nl - text) : len;
                size_t l = e - p;
                if (l > 0 && text[p + l - 1] == '\r')
                        l--;
                XGROW(lines, cap_lines, n_lines + 2);
                lines[n_lines++] = xstrndup(text + p, l);
                lines[n_lines] = NULL;
                p = e + 1;
        }

        df = xnew0(struct dockerfile, 1);
        df->escape = '\\';

        /* Parser directives: only at the very top, before any other line. */
        for (i = 0; i < n_lines; i++) {
                _cleanup_free_ char *k = NULL, *v = NULL;
                if (!parse_directive(lines[i], &k, &v))
                        break;
                if (streq(k, "escape")) {
                        if (seen_escape)
                                return err_setx(errp, EINVAL,
                                                "%s:%zu: only one escape parser directive can be "
                                                "used",
                                                name, i + 1);
                        if (!streq(v, "\\") && !streq(v, "`"))
                                return err_setx(errp, EINVAL,
                                                "%s:%zu: invalid escape token '%s' does not "
                                                "match ` or \\",
                                                name, i + 1, v);
                        df->escape = v[0];
                        seen_escape = true;
                } else if (streq(k, "syntax")) {
                        if (df->syntax)
                                return err_setx(errp, EINVAL,
                                                "%s:%zu: only one syntax parser directive can be "
                                                "used",
                                                name, i + 1);
                        df->syntax = TAKE_PTR(v);
                } else if (!streq(k, "check"))
                        break; /* unknown directive: a plain comment, and the end of directives */
        }

        size_t cap_instrs = 0;
        while (i < n_lines) {
                if (is_blank(lines[i]) || is_comment(lines[i])) {
                        i++;
                        continue;
                }
                unsigned start = (unsigned)(i + 1);
                struct sbuf joined = {};
                _cleanup_free_ char *cur = xstrdup(lines[i++]);
                bool cont = strip_continuation(cur, df->escape);
                sb_adds(&joined, cur);
                while (cont) {
                        /* Comments and empty lines inside a continuation are skipped. */
                        while (i < n_lines && (is_comment(lines[i]) || is_blank(lines[i])))
                                i++;
                        if (i >= n_lines)
                                break;
                        free(cur);
                        cur = xstrdup(lines[i++]);
                        cont = strip_continuation(cur, df->escape);
                        sb_adds(&joined, cur);
                }
                _cleanup_free_ char *itext = sb_take(&joined);
                _cleanup_(df_instr_freep) struct df_instr *in = NULL;

                r = parse_instr_text(itext, df->escape, name, start, false, &in, errp);
                if (r < 0)
                        return r;

                /* Heredoc bodies follow the instruction, one after the other. */
                for (size_t h = 0; h < in->n_heredocs; h++) {
                        struct df_heredoc *hd = &in->heredocs[h];
                        struct sbuf body = {};
                        bool closed = false;
                        while (i < n_lines) {
                                const char *l = lines[i++];
                                if (hd->chomp)
                                        while (*l == '\t')
                                                l++;
                                if (streq(l, hd->name)) {
                                        closed = true;
                                        break;
                                }
                                sb_adds(&body, l);
                                sb_addc(&body, '\n');
                        }
                        hd->content = sb_take(&body);
                        if (!closed)
                                return err_setx(errp, EINVAL,
                                                "%s:%u: unterminated heredoc '%s' (no line "
                                                "'%s' found)",
                                                name, start, hd->name, hd->name);
                }

                XGROW(df->instrs, cap_instrs, df->n_instrs + 1);
                df->instrs[df->n_instrs++] = *in;
                free(TAKE_PTR(in));
        }

        if (df->n_instrs == 0)
                return err_setx(errp, EINVAL, "%s: the Dockerfile has no instructions", name);
        *ret = TAKE_PTR(df);
        return 0;
}

/* ---- evaluation ---- */

/* Lexes a raw "key=value" (or "key") word into "key=value"; with has_eq telling which. */
static int lex_kv(const char *raw, char esc, const struct df_vars *vars, char **ret,
                  struct err **errp) {
        const char *eq = strchr(raw, '=');
        _cleanup_free_ char *kraw = eq ? xstrndup(raw, (size_t)(eq - raw)) : xstrdup(raw);
        _cleanup_free_ char *k = NULL, *v = NULL;
        int r;

        r = df_lex_word(kraw, esc, vars, &k, errp);
        if (r < 0)
                return r;
        if (!eq) {
                *ret = TAKE_PTR(k);
                return 0;
        }
        r = df_lex_word(eq + 1, esc, vars, &v, errp);
        if (r < 0)
                return r;
        *ret = xasprintf("%s=%s", k, v);
        return 0;
}

int df_expand_dollars(const char *in, const struct df_vars *vars, char **ret, struct err **errp) {
        struct lexer lx = {.s = in, .esc = 0, .vars = vars, .errp = errp};
        struct sbuf b = {};
        int r;

        while (lx.s[lx.pos]) {
                if (lx.s[lx.pos] == '$') {
                        lx.pos++;
                        r = lex_dollar(&lx, &b);
                        if (r < 0) {
                                free(b.s);
                                return r;
                        }
                } else
                        sb_addc(&b, lx.s[lx.pos++]);
        }
        *ret = sb_take(&b);
        return 0;
}

int df_expand_instr(const struct df_instr *in, char escape, const struct df_vars *vars,
                    char ***ret_args, char ***ret_flags, struct err **errp) {
        _cleanup_strv_ char **out = NULL, **flags = NULL;
        const struct df_vars *ev = df_cmd_expands(in->cmd) ? vars : NULL;
        int r;

        switch (in->cmd) {
        case DF_RUN:
        case DF_CMD:
        case DF_ENTRYPOINT:
        case DF_HEALTHCHECK:
        case DF_MAINTAINER:
        case DF_ONBUILD:
                if (in->json)
                        out = strv_copy(in->args);
                else if (in->rest[0])
                        strv_push(&out, in->rest);
                break;
        case DF_SHELL:
                out = strv_copy(in->args);
                break;
        case DF_ENV:
        case DF_LABEL:
        case DF_ARG:
                STRV_FOREACH (a, in->args) {
                        char *kv = NULL;
                        r = lex_kv(*a, escape, ev, &kv, errp);
                        if (r < 0)
                                return err_wrap(errp, "%s", df_cmd_names[in->cmd]);
                        strv_push_take(&out, kv);
                }
                break;
        case DF_USER:
        case DF_WORKDIR:
        case DF_STOPSIGNAL: {
                char *w = NULL;
                r = df_lex_word(in->rest, escape, ev, &w, errp);
                if (r < 0)
                        return err_wrap(errp, "%s", df_cmd_names[in->cmd]);
                strv_push_take(&out, w);
                break;
        }
        case DF_ADD:
        case DF_COPY:
        case DF_EXPOSE:
        case DF_FROM:
        case DF_VOLUME:
                STRV_FOREACH (a, in->args) {
                        char *w = NULL;
                        if (in->json)
                                w = xstrdup(*a); /* JSON strings: no quote processing */
                        if (in->json && ev) {
                                free(w);
                                w = NULL;
                                r = df_expand_dollars(*a, ev, &w, errp);
                                if (r < 0)
                                        return err_wrap(errp, "%s", df_cmd_names[in->cmd]);
                        } else if (!in->json) {
                                r = df_lex_word(*a, escape, ev, &w, errp);
                                if (r < 0)
                                        return err_wrap(errp, "%s", df_cmd_names[in->cmd]);
                        }
                        strv_push_take(&out, w);
                }
                break;
        case _DF_CMD_MAX:
        case _DF_CMD_INVALID:
        default:
                return err_setx(errp, EINVAL, "line %u: unknown instruction", in->line);
        }
        if (!out)
                out = xnew0(char *, 1);

        if (ret_flags) {
                flags = xnew0(char *, in->n_flags + 1);
                for (size_t i = 0; i < in->n_flags; i++) {
                        if (!in->flags[i].value) {
                                flags[i] = xstrdup("true");
                                continue;
                        }
                        r = df_lex_word(in->flags[i].value, escape, ev, &flags[i], errp);
                        if (r < 0)
                                return err_wrap(errp, "%s --%s", df_cmd_names[in->cmd],
                                                in->flags[i].name);
                }
                *ret_flags = TAKE_PTR(flags);
        }
        *ret_args = TAKE_PTR(out);
        return 0;
}

/* ---- stages ---- */

void df_stages_done(struct df_stages *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->stages[i].base);
                free(s->stages[i].name);
                free(s->stages[i].platform);
        }
        free(s->stages);
        df_vars_done(&s->meta_args);
        *s = (struct df_stages){};
}

int df_stage_find(const struct df_stages *s, const char *name_or_index, size_t before) {
        char *end;
        unsigned long idx;

        for (size_t i = 0; i < before && i < s->n; i++)
                if (s->stages[i].name && strcasecmp(s->stages[i].name, name_or_index) == 0)
                        return (int)i;
        if (!*name_or_index || !isdigit((unsigned char)*name_or_index))
                return -1;
        errno = 0;
        idx = strtoul(name_or_index, &end, 10);
        if (errno || *end || idx >= before || idx >= s->n)
                return -1;
        return (int)idx;
}

static bool valid_stage_name(const char *s) {
        if (!isalpha((unsigned char)*s))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
                        return false;
        return true;
}

static const char *build_arg_lookup(char *const *build_args, const char *key) {
        size_t kl = strlen(key);
        const char *v = NULL;
        STRV_FOREACH (a, build_args)
                if (strncmp(*a, key, kl) == 0 && (*a)[kl] == '=')
                        v = *a + kl + 1;
        return v;
}

int df_stages(const struct dockerfile *df, const char *name, char *const *build_args,
              struct df_stages *ret, struct err **errp) {
        struct df_stages s = {};
        size_t cap = 0;
        int r;

        for (size_t i = 0; i < df->n_instrs; i++) {
                const struct df_instr *in = &df->instrs[i];
                _cleanup_strv_ char **args = NULL, **flags = NULL;

                if (s.n == 0 && in->cmd != DF_ARG && in->cmd != DF_FROM) {
                        r = err_setx(errp, EINVAL,
                                     "%s:%u: %s before the first FROM: only ARG may come before "
                                     "FROM",
                                     name, in->line, df_cmd_names[in->cmd]);
                        goto fail;
                }
                if (s.n == 0 && in->cmd == DF_ARG) {
                        r = df_expand_instr(in, df->escape, &s.meta_args, &args, NULL, errp);
                        if (r < 0) {
                                err_wrap(errp, "%s:%u", name, in->line);
                                goto fail;
                        }
                        STRV_FOREACH (a, args) {
                                char *eq = strchr(*a, '=');
                                _cleanup_free_ char *k =
                                        eq ? xstrndup(*a, (size_t)(eq - *a)) : xstrdup(*a);
                                const char *ov = build_arg_lookup(build_args, k);
                                if (ov)
                                        df_vars_set(&s.meta_args, k, ov);
                                else if (eq)
                                        df_vars_set(&s.meta_args, k, eq + 1);
                                /* Declared without a value and not given: stays unset. */
                        }
                        continue;
                }
                if (in->cmd != DF_FROM) {
                        s.stages[s.n - 1].end_idx = i + 1;
                        continue;
                }

                /* FROM sees the global ARGs and predefined proxy args only. */
                struct df_vars fv = {.kv = strv_copy(s.meta_args.kv)};
                STRV_FOREACH (a, build_args) {
                        char *eq = strchr(*a, '=');
                        if (!eq)
                                continue;
                        _cleanup_free_ char *k = xstrndup(*a, (size_t)(eq - *a));
                        if (df_is_predefined_arg(k))
                                df_vars_set(&fv, k, eq + 1);
                }
                r = df_expand_instr(in, df->escape, &fv, &args, &flags, errp);
                df_vars_done(&fv);
                if (r < 0) {
                        err_wrap(errp, "%s:%u", name, in->line);
                        goto fail;
                }

                XGROW(s.stages, cap, s.n + 1);
                struct df_stage *st = &s.stages[s.n++];
                *st = (struct df_stage){.from_idx = i, .end_idx = i + 1, .base_stage = -1};
                st->base = xstrdup(args[0]);
                for (size_t f = 0; f < in->n_flags; f++)
                        if (streq(in->flags[f].name, "platform")) {
                                free(st->platform);
                                st->platform = xstrdup(flags[f]);
                        }
                if (!*st->base) {
                        r = err_setx(errp, EINVAL, "%s:%u: FROM: base name '%s' expands to empty",
                                     name, in->line, in->args[0]);
                        goto fail;
                }
                if (args[1]) {
                        if (!valid_stage_name(args[2])) {
                                r = err_setx(errp, EINVAL, "%s:%u: invalid stage name '%s'", name,
                                             in->line, args[2]);
                                goto fail;
                        }
                        st->name = xstrdup(args[2]);
                        for (char *c = st->name; *c; c++)
                                *c = (char)tolower((unsigned char)*c);
                        for (size_t j = 0; j + 1 < s.n; j++)
                                if (streq_ptr(s.stages[j].name, st->name)) {
                                        r = err_setx(errp, EINVAL,
                                                     "%s:%u: duplicate stage name '%s'", name,
                                                     in->line, st->name);
                                        goto fail;
                                }
                }
                if (!strchr(st->base, '/') && !strchr(st->base, ':'))
                        st->base_stage = df_stage_find(&s, st->base, s.n - 1);
        }
        if (s.n == 0) {
                r = err_setx(errp, EINVAL, "%s: no FROM instruction", name);
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        df_stages_done(&s);
        return r;
}
