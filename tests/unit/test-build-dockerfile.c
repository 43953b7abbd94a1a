/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "build/dockerfile.h"
#include "cleanup.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static struct dockerfile *parse(const char *s, struct err **e) {
        struct dockerfile *df = NULL;
        if (df_parse(s, strlen(s), "Dockerfile", &df, e) < 0)
                return NULL;
        return df;
}

static void test_every_instruction(void) {
        static const char text[] = "FROM busybox AS base\n"
                                   "run echo hi\n"
                                   "CMD [\"sh\", \"-c\", \"x\"]\n"
                                   "LABEL a=b \"c d\"=\"e f\"\n"
                                   "MAINTAINER Jane <j@x>\n"
                                   "EXPOSE 80/tcp 53/udp\n"
                                   "ENV A=1 B=\"two words\"\n"
                                   "ADD a.tar /x/\n"
                                   "COPY --from=base --chown=1:2 --chmod=0644 a b /dst/\n"
                                   "ENTRYPOINT top -b\n"
                                   "VOLUME [\"/data\"]\n"
                                   "USER nobody\n"
                                   "WORKDIR /app\n"
                                   "ARG V=1\n"
                                   "ONBUILD RUN make\n"
                                   "STOPSIGNAL SIGKILL\n"
                                   "HEALTHCHECK --interval=5s CMD true\n"
                                   "SHELL [\"/bin/ash\", \"-c\"]\n";
        static const enum df_cmd want[] = {
                DF_FROM,    DF_RUN, DF_CMD,     DF_LABEL,      DF_MAINTAINER,  DF_EXPOSE,
                DF_ENV,     DF_ADD, DF_COPY,    DF_ENTRYPOINT, DF_VOLUME,      DF_USER,
                DF_WORKDIR, DF_ARG, DF_ONBUILD, DF_STOPSIGNAL, DF_HEALTHCHECK, DF_SHELL};
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        _cleanup_err_ struct err *e = NULL;

        df = parse(text, &e);
        ASSERT_NOT_NULL(df);
        ASSERT_EQ(df->n_instrs, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                ASSERT_EQ(df->instrs[i].cmd, want[i]);
                ASSERT_EQ(df->instrs[i].line, i + 1);
        }
        ASSERT_TRUE(df->instrs[2].json);
        ASSERT_EQ(strv_length(df->instrs[2].args), 3);
        ASSERT_STREQ(df->instrs[2].args[2], "x");
        ASSERT_FALSE(df->instrs[9].json);
        ASSERT_STREQ(df->instrs[9].rest, "top -b");
        ASSERT_EQ(df->instrs[8].n_flags, 3);
        ASSERT_STREQ(df_instr_flag(&df->instrs[8], "from", NULL), "base");
        ASSERT_STREQ(df_instr_flag(&df->instrs[8], "chmod", NULL), "0644");
        ASSERT_STREQ(df->instrs[8].rest, "a b /dst/");
        ASSERT_NOT_NULL(df->instrs[14].onbuild);
        ASSERT_EQ(df->instrs[14].onbuild->cmd, DF_RUN);
        ASSERT_STREQ(df->instrs[14].onbuild->rest, "make");
        ASSERT_STREQ(df_instr_flag(&df->instrs[16], "interval", NULL), "5s");
        ASSERT_STREQ(df->instrs[4].rest, "Jane <j@x>");
}

static void test_continuation_and_comments(void) {
        static const char text[] = "FROM x\n"
                                   "RUN echo a \\\n"
                                   "# a comment inside\n"
                                   "\n"
                                   "  b \\\n"
                                   "  c\n"
                                   "# trailing comment\n"
                                   "ENV K=v\n";
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        _cleanup_err_ struct err *e = NULL;

        df = parse(text, &e);
        ASSERT_NOT_NULL(df);
        ASSERT_EQ(df->n_instrs, 3);
        ASSERT_STREQ(df->instrs[1].rest, "echo a   b   c");
        ASSERT_EQ(df->instrs[1].line, 2);
        ASSERT_EQ(df->instrs[2].line, 8);
}

static void test_escape_directive(void) {
        static const char text[] = "# syntax=docker/dockerfile:1\n"
                                   "# escape=`\n"
                                   "\n"
                                   "FROM x\n"
                                   "COPY c:\\src `\n"
                                   "  c:\\dst\n"
                                   "ENV P=a`$b\n";
        static const char late[] = "FROM x\n# escape=`\nRUN a \\\n b\n";
        _cleanup_(df_freep) struct dockerfile *df = NULL, *df2 = NULL, *df3 = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_strv_ char **args = NULL;
        struct df_vars v = {};

        df = parse(text, &e);
        ASSERT_NOT_NULL(df);
        ASSERT_EQ(df->escape, '`');
        ASSERT_STREQ(df->syntax, "docker/dockerfile:1");
        ASSERT_EQ(df->n_instrs, 3);
        ASSERT_STREQ(df->instrs[1].rest, "c:\\src   c:\\dst");
        df_vars_set(&v, "b", "X");
        ASSERT_OK(df_expand_instr(&df->instrs[2], df->escape, &v, &args, NULL, &e));
        ASSERT_STREQ(args[0], "P=a$b");
        df_vars_done(&v);

        /* Not at the top: a comment, and the backslash stays the escape char. */
        df2 = parse(late, &e);
        ASSERT_NOT_NULL(df2);
        ASSERT_EQ(df2->escape, '\\');
        ASSERT_EQ(df2->n_instrs, 2);

        df3 = parse("# escape=x\nFROM a\n", &e);
        ASSERT_NULL(df3);
        ASSERT_STREQ(e->msg, "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
}

static void test_heredocs(void) {
        static const char text[] = "FROM x\n"
                                   "RUN <<EOF\n"
                                   "echo $HOME\n"
                                   "EOF\n"
                                   "RUN cat <<A <<-'B' > f\n"
                                   "first\n"
                                   "A\n"
                                   "\tsecond\n"
                                   "\tB\n"
                                   "COPY <<\"CONF\" /etc/c.conf\n"
                                   "k=$v\n"
                                   "CONF\n"
                                   "CMD done\n";
        _cleanup_(df_freep) struct dockerfile *df = NULL, *bad = NULL;
        _cleanup_err_ struct err *e = NULL;

        df = parse(text, &e);
        ASSERT_NOT_NULL(df);
        ASSERT_EQ(df->n_instrs, 5);
        ASSERT_EQ(df->instrs[1].n_heredocs, 1);
        ASSERT_STREQ(df->instrs[1].heredocs[0].name, "EOF");
        ASSERT_STREQ(df->instrs[1].heredocs[0].content, "echo $HOME\n");
        ASSERT_TRUE(df->instrs[1].heredocs[0].expand);
        ASSERT_EQ(df->instrs[2].n_heredocs, 2);
        ASSERT_STREQ(df->instrs[2].heredocs[0].content, "first\n");
        ASSERT_STREQ(df->instrs[2].heredocs[1].name, "B");
        ASSERT_STREQ(df->instrs[2].heredocs[1].content, "second\n");
        ASSERT_FALSE(df->instrs[2].heredocs[1].expand);
        ASSERT_TRUE(df->instrs[2].heredocs[1].chomp);
        ASSERT_EQ(df->instrs[3].cmd, DF_COPY);
        ASSERT_STREQ(df->instrs[3].heredocs[0].name, "CONF");
        ASSERT_FALSE(df->instrs[3].heredocs[0].expand);
        ASSERT_EQ(df->instrs[4].line, 13);

        bad = parse("FROM x\nRUN <<EOF\necho\n", &e);
        ASSERT_NULL(bad);
        ASSERT_STREQ(e->msg, "Dockerfile:2: unterminated heredoc 'EOF' (no line 'EOF' found)");
}

static void test_json_vs_shell(void) {
        _cleanup_(df_freep) struct dockerfile *df = NULL, *bad = NULL;
        _cleanup_err_ struct err *e = NULL;

        df = parse("FROM x\nCMD [\"a\", \"b c\"]\nCMD [not json]\nRUN [\"x\", 1]\n", &e);
        ASSERT_NOT_NULL(df);
        ASSERT_TRUE(df->instrs[1].json);
        ASSERT_STREQ(df->instrs[1].args[1], "b c");
        ASSERT_FALSE(df->instrs[2].json);
        ASSERT_STREQ(df->instrs[2].rest, "[not json]");
        ASSERT_FALSE(df->instrs[3].json);

        bad = parse("FROM x\nSHELL /bin/sh -c\n", &e);
        ASSERT_NULL(bad);
        ASSERT_STREQ(e->msg, "Dockerfile:2: SHELL requires the arguments to be in JSON form");
}

static void test_substitution(void) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"$A", "a"},
                {"${A}x", "ax"},
                {"${U:-def}", "def"},
                {"${E:-def}", "def"},
                {"${E-def}", ""},
                {"${A:+set}", "set"},
                {"${E:+set}", ""},
                {"${E+set}", "set"},
                {"${U+set}", ""},
                {"'$A'", "$A"},
                {"\"$A b\"", "a b"},
                {"\\$A", "$A"},
                {"\"\\$A\"", "$A"},
                {"${U:-${A}y}", "ay"},
                {"$", "$"},
                {"a$-b", "a$-b"},
                {"pre${A}post $U.", "preapost ."},
        };
        struct df_vars v = {};
        _cleanup_err_ struct err *e = NULL;
        _cleanup_strv_ char **words = NULL;

        df_vars_set(&v, "A", "a");
        df_vars_set(&v, "E", "");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                if (df_lex_word(cases[i].in, '\\', &v, &out, &e) < 0) {
                        df_vars_done(&v);
                        ASSERT_NULL(cases[i].in);
                }
                if (!streq(out, cases[i].out))
                        df_vars_done(&v);
                ASSERT_STREQ(out, cases[i].out);
        }
        ASSERT_ERR(df_lex_word("${U:?must be set}", '\\', &v, &(char *){NULL}, &e), EINVAL);
        ASSERT_STREQ(e->msg, "U: must be set");
        e = err_free(e);
        ASSERT_ERR(df_lex_word("${A", '\\', &v, &(char *){NULL}, &e), EINVAL);
        e = err_free(e);
        ASSERT_ERR(df_lex_word("'open", '\\', &v, &(char *){NULL}, &e), EINVAL);
        ASSERT_OK(df_lex_words("x \"y z\"  $A", '\\', &v, &words, &e));
        df_vars_done(&v);
        ASSERT_EQ(strv_length(words), 3);
        ASSERT_STREQ(words[1], "y z");
        ASSERT_STREQ(words[2], "a");
}

static void test_expand_where_docker_does(void) {
        static const char text[] = "FROM x\n"
                                   "RUN echo $A\n"
                                   "CMD echo $A\n"
                                   "WORKDIR /w/$A\n"
                                   "COPY --chown=$A ${A}.txt /d/\n"
                                   "ENV B=$A C=\"$A $A\"\n"
                                   "ENV legacy value $A here\n"
                                   "LABEL \"k.$A\"=v\n"
                                   "EXPOSE ${P:-80}\n"
                                   "USER $A:$A\n";
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct df_vars v = {};
        char **a[9] = {};
        _cleanup_strv_ char **flags = NULL;

        df = parse(text, &e);
        ASSERT_NOT_NULL(df);
        df_vars_set(&v, "A", "q");
        for (size_t i = 1; i < df->n_instrs; i++)
                ASSERT_OK(df_expand_instr(&df->instrs[i], '\\', &v, &a[i - 1],
                                          i == 4 ? &flags : NULL, &e));
        df_vars_done(&v);
        ASSERT_STREQ(a[0][0], "echo $A");
        ASSERT_STREQ(a[1][0], "echo $A");
        ASSERT_STREQ(a[2][0], "/w/q");
        ASSERT_STREQ(a[3][0], "q.txt");
        ASSERT_STREQ(flags[0], "q");
        ASSERT_STREQ(a[4][0], "B=q");
        ASSERT_STREQ(a[4][1], "C=q q");
        ASSERT_STREQ(a[5][0], "legacy=value q here");
        ASSERT_STREQ(a[6][0], "k.q=v");
        ASSERT_STREQ(a[7][0], "80");
        ASSERT_STREQ(a[8][0], "q:q");
        for (size_t i = 0; i < ELEMENTSOF(a); i++)
                strv_free(a[i]);
}

static void test_arg_scoping(void) {
        static const char text[] = "ARG BASE=busybox\n"
                                   "ARG TAG\n"
                                   "FROM ${BASE}:${TAG:-latest} AS Build\n"
                                   "RUN true\n"
                                   "FROM build\n"
                                   "ARG BASE\n"
                                   "FROM 1 as third\n";
        static const char *const bargs[] = {"TAG=1.36", NULL};
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct df_stages s = {};

        df = parse(text, &e);
        ASSERT_NOT_NULL(df);
        ASSERT_OK(df_stages(df, "Dockerfile", NULL, &s, &e));
        ASSERT_EQ(s.n, 3);
        ASSERT_STREQ(s.stages[0].base, "busybox:latest");
        ASSERT_STREQ(s.stages[0].name, "build");
        ASSERT_EQ(s.stages[0].end_idx, 4);
        ASSERT_EQ(s.stages[1].base_stage, 0);
        ASSERT_EQ(s.stages[2].base_stage, 1);
        ASSERT_STREQ(df_vars_get(&s.meta_args, "BASE"), "busybox");
        ASSERT_NULL(df_vars_get(&s.meta_args, "TAG"));
        ASSERT_EQ(df_stage_find(&s, "BUILD", 3), 0);
        ASSERT_EQ(df_stage_find(&s, "2", 2), -1);
        df_stages_done(&s);

        ASSERT_OK(df_stages(df, "Dockerfile", (char *const *)bargs, &s, &e));
        ASSERT_STREQ(s.stages[0].base, "busybox:1.36");
        df_stages_done(&s);
        ASSERT_TRUE(df_is_predefined_arg("HTTP_PROXY"));
        ASSERT_TRUE(df_is_predefined_arg("no_proxy"));
        ASSERT_FALSE(df_is_predefined_arg("PATH"));
}

static void test_stage_errors(void) {
        static const struct {
                const char *text, *msg;
        } cases[] = {
                {"RUN x\nFROM a\n", "Dockerfile:1: RUN before the first FROM: only ARG may come "
                                    "before FROM"},
                {"FROM a AS x\nFROM b AS X\n", "Dockerfile:2: duplicate stage name 'x'"},
                {"FROM a AS 1x\n", "Dockerfile:1: invalid stage name '1x'"},
                {"ARG A\n", "Dockerfile: no FROM instruction"},
                {"FROM ${A:?required}\n", "Dockerfile:1: FROM: A: required"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(df_freep) struct dockerfile *df = NULL;
                _cleanup_err_ struct err *e = NULL;
                struct df_stages s = {};

                df = parse(cases[i].text, &e);
                ASSERT_NOT_NULL(df);
                ASSERT_ERR(df_stages(df, "Dockerfile", NULL, &s, &e), EINVAL);
                ASSERT_STREQ(e->msg, cases[i].msg);
        }
}

static void test_parse_errors(void) {
        static const struct {
                const char *text, *msg;
        } cases[] = {
                {"FROM a\n\n\n\n\n\nRUNN x\n", "Dockerfile:7: unknown instruction: RUNN"},
                {"FROM a\nCOPY --frm=x a b\n", "Dockerfile:2: unknown flag for COPY: --frm"},
                {"FROM a\nADD --keep-git-dir=true git@x:y /z\n",
                 "Dockerfile:2: ADD --keep-git-dir is not supported: berth does not fetch git "
                 "repositories"},
                {"FROM a\nCOPY onlyone\n", "Dockerfile:2: COPY requires at least two arguments"},
                {"FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments "
                               "(FROM image [AS name])"},
                {"FROM a\nENV\n", "Dockerfile:2: ENV requires at least one argument"},
                {"FROM a\nENV a=1 b\n",
                 "Dockerfile:2: ENV names can not be blank and need '=': 'b'"},
                {"FROM a\nONBUILD FROM x\n",
                 "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"},
                {"FROM a\nHEALTHCHECK NONE x\n",
                 "Dockerfile:2: HEALTHCHECK NONE takes no other arguments"},
                {"FROM a\nUSER a b\n", "Dockerfile:2: USER requires exactly one argument"},
                {"FROM a\nRUN \"unterminated\n", "Dockerfile:2: unterminated quote"},
                {"# escape=`\n# escape=\\\nFROM a\n",
                 "Dockerfile:2: only one escape parser directive can be used"},
                {"\n# just a comment\n", "Dockerfile: the Dockerfile has no instructions"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(df_freep) struct dockerfile *df = NULL;
                _cleanup_err_ struct err *e = NULL;

                df = parse(cases[i].text, &e);
                ASSERT_NULL(df);
                ASSERT_NOT_NULL(e);
                ASSERT_STREQ(e->msg, cases[i].msg);
        }
}

static void test_case_insensitive(void) {
        _cleanup_(df_freep) struct dockerfile *df = NULL;
        _cleanup_err_ struct err *e = NULL;

        df = parse("from a\nCoPy x y\nworkdir /a\r\n", &e);
        ASSERT_NOT_NULL(df);
        ASSERT_EQ(df->instrs[0].cmd, DF_FROM);
        ASSERT_EQ(df->instrs[1].cmd, DF_COPY);
        ASSERT_EQ(df->instrs[2].cmd, DF_WORKDIR);
        ASSERT_STREQ(df->instrs[2].rest, "/a");
        ASSERT_STREQ(df_cmd_name(df_cmd_from_name("onbuild")), "ONBUILD");
}

TAP_MAIN(test_every_instruction, test_continuation_and_comments, test_escape_directive,
         test_heredocs, test_json_vs_shell, test_substitution, test_expand_where_docker_does,
         test_arg_scoping, test_stage_errors, test_parse_errors, test_case_insensitive);
