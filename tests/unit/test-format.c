/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "format.h"
#include "json.h"
#include "tap.h"

static json_t *sample(void) {
        return json_pack("{s:s,s:i,s:b,s:f,s:{s:s,s:[i,i]},s:n}", "Name", "web", "Count", 3, "Up",
                         1, "Ratio", 0.5, "Host", "Os", "linux", "Ports", 80, 443, "Nothing");
}

static void test_fields(void) {
        _cleanup_json_ json_t *j = sample();
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(fmt_render("{{.Name}} {{.Count}} {{.Up}} {{.Ratio}} {{.Host.Os}}", j, false, &s,
                             NULL));
        ASSERT_STREQ(s, "web 3 true 0.5 linux");
        free(s);
        ASSERT_OK(fmt_render(
                "{{json .Host}}|{{json .Name}}|{{.Host.Ports}}|{{.Missing}}|{{.Nothing}}", j, false,
                &s, NULL));
        ASSERT_STREQ(s, "{\"Os\":\"linux\",\"Ports\":[80,443]}|\"web\"|[80,443]|<no value>|<nil>");
        free(s);
        ASSERT_OK(fmt_render("{{ upper .Name }}-{{lower .Host.Os}}", j, false, &s, NULL));
        ASSERT_STREQ(s, "WEB-linux");
        free(s);
        ASSERT_OK(fmt_render("a  {{- .Name -}}  b\\tc", j, false, &s, NULL));
        ASSERT_STREQ(s, "awebb\tc");
        free(s);
        s = NULL;
        ASSERT_OK(fmt_render("{{json .}}", json_object_get(j, "Host"), false, &s, NULL));
        ASSERT_STREQ(s, "{\"Os\":\"linux\",\"Ports\":[80,443]}");
}

static void test_errors(void) {
        _cleanup_json_ json_t *j = sample();
        const char *bad[] = {"{{.Name",   "{{}}",           "{{Name}}", "{{printf .Name}}",
                             "{{.A..B}}", "{{json .A .B}}", "{{.A.}}"};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *s = NULL;
                _cleanup_err_ struct err *e = NULL;

                ASSERT_ERR(fmt_render(bad[i], j, false, &s, &e), EINVAL);
                ASSERT_NOT_NULL(strstr(e->msg, "template: "));
                ASSERT_NULL(s);
        }
}

static void test_align(void) {
        _cleanup_free_ char *a = fmt_align("ID\tNAME\tX\nabcdefghijkl\tn\tlast\n");

        ASSERT_STREQ(a, "ID             NAME      X\n"
                        "abcdefghijkl   n         last\n");
}

static void test_list(void) {
        _cleanup_json_ json_t *items = json_pack("[{s:s,s:s},{s:s,s:s}]", "ID", "a1", "Names",
                                                 "web", "ID", "b2222222222222", "Names", "db");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        ASSERT_OK(fmt_print_list(f, NULL, "table {{.ID}}\\t{{.Names}}", items, NULL));
        ASSERT_OK(fmt_print_list(f, "{{.Names}}", "table {{.ID}}", items, NULL));
        ASSERT_OK(fmt_print_list(f, "json", "table {{.ID}}", items, NULL));
        fclose(f);
        ASSERT_STREQ(buf, "ID               NAMES\n"
                          "a1               web\n"
                          "b2222222222222   db\n"
                          "web\ndb\n"
                          "[{\"ID\":\"a1\",\"Names\":\"web\"},{\"ID\":\"b2222222222222\",\"Names\":"
                          "\"db\"}]\n");
        free(buf);
}

static void test_one(void) {
        _cleanup_json_ json_t *j = sample();
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        _cleanup_err_ struct err *e = NULL;

        ASSERT_EQ(fmt_print_one(f, NULL, j, NULL), 0);
        ASSERT_EQ(fmt_print_one(f, "table", j, NULL), 0);
        ASSERT_EQ(fmt_print_one(f, "{{.Name}}", j, NULL), 1);
        ASSERT_ERR(fmt_print_one(f, "{{.Name", j, &e), EINVAL);
        fclose(f);
        ASSERT_STREQ(buf, "web\n");
        free(buf);
}

TAP_MAIN(test_fields, test_errors, test_align, test_list, test_one)
