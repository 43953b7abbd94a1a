/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "tap.h"
#include "xalloc.h"
#include "yaml_tree.h"

static const struct ysrc src = {.file = (char *)"t.yaml", .dir = (char *)"/tmp"};

static int load1(const char *s, struct ynode **ret, struct err **errp) {
        struct ynode **docs = NULL;
        size_t n = 0;
        int r = yaml_load(s, strlen(s), &src, &docs, &n, errp);

        if (r < 0)
                return r;
        *ret = n > 0 ? docs[0] : NULL;
        for (size_t i = 1; i < n; i++)
                ynode_free(docs[i]);
        free(docs);
        return 0;
}

static void test_positions_and_path(void) {
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_free_ char *p = NULL;

        ASSERT_OK(
                load1("services:\n  web:\n    ports:\n      - \"80\"\n      - 90\n", &root, NULL));
        struct ynode *ports =
                ynode_map_get(ynode_map_get(ynode_map_get(root, "services"), "web"), "ports");
        ASSERT_NOT_NULL(ports);
        ASSERT_EQ(ports->kind, YNODE_SEQ);
        ASSERT_EQ(ports->n_kids, 2);
        ASSERT_EQ(ports->kids[1]->line, 5);
        ASSERT_EQ(ports->kids[1]->col, 9);
        ASSERT_FALSE(ports->kids[0]->plain);
        ASSERT_TRUE(ports->kids[1]->plain);
        p = ynode_path(ports->kids[1]);
        ASSERT_STREQ(p, "services.web.ports[1]");
}

static void test_anchor_merge(void) {
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(load1("base: &b {a: 1, b: 2}\n"
                        "other: &o {c: 3, a: 9}\n"
                        "x:\n  <<: *b\n  b: 5\n"
                        "y:\n  <<: [*o, *b]\n"
                        "z: *b\n",
                        &root, NULL));
        j = ynode_to_json(root);
        s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        ASSERT_STREQ(s, "{\"base\":{\"a\":1,\"b\":2},\"other\":{\"a\":9,\"c\":3},\"x\":{\"a\":1,"
                        "\"b\":5},\"y\":{\"a\":9,\"b\":2,\"c\":3},\"z\":{\"a\":1,\"b\":2}}");
}

static void test_multi_doc_and_scalars(void) {
        struct ynode **docs = NULL;
        size_t n = 0;
        const char *in = "a: !!str 12\nb: ~\nc: 0x10\nd: 1.5\ne: 'true'\n---\n- 1\n---\n";

        ASSERT_OK(yaml_load(in, strlen(in), &src, &docs, &n, NULL));
        ASSERT_EQ(n, 3);
        json_t *j = ynode_to_json(docs[0]);
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        ynode_docs_free(docs, n);
        ASSERT_STREQ(s, "{\"a\":\"12\",\"b\":null,\"c\":16,\"d\":1.5,\"e\":\"true\"}");
        free(s);
}

static void test_errors(void) {
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL;

        ASSERT_ERR(load1("a: 1\nb:\n  c: 1\n  c: 2\n", &root, &e1), EINVAL);
        ASSERT_STREQ(e1->msg, "t.yaml:4:3: b.c: duplicate key 'c'");
        ASSERT_STREQ(e1->field, "b.c");
        {
                /* A duplicate at the top level: the unfinished root must not leak. */
                _cleanup_err_ struct err *e6 = NULL;
                ASSERT_ERR(load1("a: 1\na: 2\n", &root, &e6), EINVAL);
                ASSERT_STREQ(e6->msg, "t.yaml:2:1: a: duplicate key 'a'");
        }
        ASSERT_ERR(load1("a: *nope\n", &root, &e2), EINVAL);
        ASSERT_STREQ(e2->msg, "t.yaml:1:4: unknown anchor 'nope'");
        ASSERT_ERR(load1("a: [1, 2\n", &root, &e3), EINVAL);
        ASSERT_TRUE(strncmp(e3->msg, "t.yaml:", 7) == 0);
        ASSERT_ERR(load1("x: &a [1, *a]\n", &root, &e4), EINVAL);
        ASSERT_STREQ(e4->msg, "t.yaml:1:11: alias '*a' refers to itself");
        ASSERT_ERR(load1("x:\n  <<: 3\n", &root, &e5), EINVAL);
        ASSERT_STREQ(e5->msg, "t.yaml:2:7: x.<<: merge key '<<' needs a mapping or a list of "
                              "mappings, got a scalar");
}

static void test_limits(void) {
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL;
        _cleanup_free_ char *deep = NULL, *laughs = NULL;
        size_t n = YAML_MAX_DEPTH + 2;

        deep = xmalloc(n * 2 + 1);
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        deep[2 * n] = 0;
        ASSERT_ERR(load1(deep, &root, &e1), EINVAL);
        ASSERT_TRUE(strstr(e1->msg, "nesting deeper than 64") != NULL);

        laughs = xstrdup("a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                         "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                         "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                         "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                         "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                         "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n");
        ASSERT_ERR(load1(laughs, &root, &e2), EINVAL);
        ASSERT_TRUE(strstr(e2->msg, "more than 1048576 nodes") != NULL);
}

static void test_emit(void) {
        _cleanup_json_ json_t *j =
                json_pack("{s:s,s:[i,s,b],s:n,s:s}", "a", "x", "l", 1, "true", 1, "n", "k", "");
        _cleanup_free_ char *out = NULL;

        ASSERT_OK(yaml_emit_json(j, &out, NULL));
        ASSERT_STREQ(out, "a: x\nl:\n- 1\n- \"true\"\n- true\nn: null\nk: \"\"\n");
}

TAP_MAIN(test_positions_and_path, test_anchor_merge, test_multi_doc_and_scalars, test_errors,
         test_limits, test_emit)
