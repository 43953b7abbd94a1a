/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Dockerfile parsing (docs/build.md). Parsing is purely syntactic: instructions keep their raw
 * words; variable substitution happens when a stage is evaluated (df_vars, df_expand_instr),
 * because the values depend on ARG/ENV scoping and on the base image's Env. */

enum df_cmd {
        DF_ADD,
        DF_ARG,
        DF_CMD,
        DF_COPY,
        DF_ENTRYPOINT,
        DF_ENV,
        DF_EXPOSE,
        DF_FROM,
        DF_HEALTHCHECK,
        DF_LABEL,
        DF_MAINTAINER,
        DF_ONBUILD,
        DF_RUN,
        DF_SHELL,
        DF_STOPSIGNAL,
        DF_USER,
        DF_VOLUME,
        DF_WORKDIR,
        _DF_CMD_MAX,
        _DF_CMD_INVALID = -EINVAL,
};

const char *df_cmd_name(enum df_cmd c);
enum df_cmd df_cmd_from_name(const char *s); /* case-insensitive */

struct df_heredoc {
        char *name;    /* delimiter word, quotes removed */
        char *content; /* body, one '\n' after each line */
        bool expand;   /* false when the delimiter was quoted */
        bool chomp;    /* <<-: leading tabs were stripped */
};

struct df_flag {
        char *name;  /* without the leading "--" */
        char *value; /* raw (unexpanded); NULL for a bare boolean flag */
};

struct df_instr {
        enum df_cmd cmd;
        unsigned line;  /* first line of the instruction */
        char *original; /* the instruction as written, continuations joined */
        struct df_flag *flags;
        size_t n_flags;
        char *rest;  /* arguments after the flags, raw */
        bool json;   /* exec form: args holds the JSON array */
        char **args; /* JSON form: the array; otherwise raw words (quotes kept) */
        struct df_heredoc *heredocs;
        size_t n_heredocs;
        struct df_instr *onbuild; /* ONBUILD: the parsed trigger instruction */
};

struct dockerfile {
        char escape;  /* '\\' or '`' */
        char *syntax; /* "# syntax=" directive, or NULL */
        struct df_instr *instrs;
        size_t n_instrs;
};

/* Parses a Dockerfile. name is used in error messages ("Dockerfile:7: unknown instruction:
 * RUNN"). */
int df_parse(const char *text, size_t len, const char *name, struct dockerfile **ret,
             struct err **errp);
struct dockerfile *df_free(struct dockerfile *df);
void df_freep(struct dockerfile **df);

/* Parses one instruction line (used for ONBUILD triggers when they fire in a child build). */
int df_parse_instr(const char *line, char escape, const char *name, unsigned lineno,
                   struct df_instr **ret, struct err **errp);
void df_instr_free(struct df_instr *in);
void df_instr_freep(struct df_instr **in);

/* The value of flag `name` (raw), or NULL; *found tells a bare flag from an absent one. */
const char *df_instr_flag(const struct df_instr *in, const char *name, bool *found);

/* A set of variables (K=V strings, the last set wins). */
struct df_vars {
        char **kv;
};
void df_vars_done(struct df_vars *v);
void df_vars_set(struct df_vars *v, const char *key, const char *value);
const char *df_vars_get(const struct df_vars *v, const char *key);
bool df_vars_has(const struct df_vars *v, const char *key);

/* Processes one word like docker's shell lexer: quotes removed, the escape char escapes the
 * next character, and (when vars is not NULL) $VAR, ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:+x},
 * ${VAR+x}, ${VAR:?msg} substituted. */
int df_lex_word(const char *in, char escape, const struct df_vars *vars, char **ret,
                struct err **errp);
/* Same, splitting the result on unquoted whitespace into several words. */
int df_lex_words(const char *in, char escape, const struct df_vars *vars, char ***ret,
                 struct err **errp);

/* Substitutes $VAR and ${VAR...} only (no quote or escape processing): JSON-form arguments and
 * expanding heredocs. */
int df_expand_dollars(const char *in, const struct df_vars *vars, char **ret, struct err **errp);

/* True for the instructions in which docker substitutes variables. */
bool df_cmd_expands(enum df_cmd c);

/* Returns the instruction's arguments ready for execution: JSON form as is; RUN/CMD/ENTRYPOINT
 * shell form as one raw string; ENV/LABEL/ARG as "key=value" pairs; others split into words.
 * Variables are substituted from vars where docker does. Flag values are expanded into
 * *ret_flags (same order as in->flags, NULL for bare flags) when ret_flags is not NULL. */
int df_expand_instr(const struct df_instr *in, char escape, const struct df_vars *vars,
                    char ***ret_args, char ***ret_flags, struct err **errp);

/* The build arguments docker predefines: usable without an ARG line, not recorded in history. */
bool df_is_predefined_arg(const char *name);

/* One stage: its FROM instruction index, the expanded base and the optional name. */
struct df_stage {
        size_t from_idx; /* index of the FROM in df->instrs */
        size_t end_idx;  /* one past the stage's last instruction */
        char *base;      /* expanded image reference, "scratch" or a stage name/index */
        char *name;      /* "AS name" (lower-cased), or NULL */
        char *platform;  /* expanded --platform, or NULL */
        int base_stage;  /* index of the stage it builds on, or -1 */
};

struct df_stages {
        struct df_stage *stages;
        size_t n;
        struct df_vars meta_args; /* ARGs before the first FROM, with their resolved values */
};
void df_stages_done(struct df_stages *s);

/* Splits df into stages, expanding FROM lines with the global ARGs (build_args override their
 * defaults). Errors: no FROM, instructions other than ARG before the first FROM, duplicate stage
 * names, bad "AS". */
int df_stages(const struct dockerfile *df, const char *name, char *const *build_args,
              struct df_stages *ret, struct err **errp);
/* Finds a stage by name or index string; -1 if none. */
int df_stage_find(const struct df_stages *s, const char *name_or_index, size_t before);
