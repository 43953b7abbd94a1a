/* SPDX-License-Identifier: Apache-2.0 */
/* `berth diff`'s field-by-field comparison of two canonical models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "stacks_diff.h"
#include "tap.h"

static char *render(const char *old_text, const char *new_text) {
        json_t *o = old_text ? json_loads(old_text, 0, NULL) : NULL;
        json_t *n = json_loads(new_text, 0, NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        stack_print_diff(f, o, n);
        fclose(f);
        json_decref(o);
        json_decref(n);
        return buf;
}

static void test_changed_fields(void) {
        _cleanup_free_ char *out = render(
                "{\"services\": {\"api\": {\"hash\": \"a\", \"replicas\": 1, \"pod\": "
                "{\"containers\": [{\"env\": {\"V\": \"1\", \"GONE\": \"x\"}}]}}, \"old\": {}}}",
                "{\"services\": {\"api\": {\"hash\": \"b\", \"replicas\": 2, \"pod\": "
                "{\"containers\": [{\"env\": {\"V\": \"2\"}}]}}, \"new\": {}}, "
                "\"up\": {\"generation\": 3}}");

        ASSERT_TRUE(strstr(out, "services.api.replicas: 1 -> 2\n") != NULL);
        ASSERT_TRUE(strstr(out, "services.api.pod.containers[0].env.V: \"1\" -> \"2\"\n") != NULL);
        ASSERT_TRUE(strstr(out, "services.api.pod.containers[0].env.GONE: \"x\" -> (absent)\n") !=
                    NULL);
        ASSERT_TRUE(strstr(out, "services.old: {} -> (absent)\n") != NULL);
        ASSERT_TRUE(strstr(out, "services.new: (absent) -> {}\n") != NULL);
        /* Derived and controller fields are not changes of the user's stack. */
        ASSERT_NULL(strstr(out, "hash"));
        ASSERT_NULL(strstr(out, "generation"));
}

static void test_no_change_and_new_stack(void) {
        _cleanup_free_ char *same = render("{\"services\": {\"a\": {\"replicas\": 1}}}",
                                           "{\"services\": {\"a\": {\"replicas\": 1}}}");
        _cleanup_free_ char *fresh = render(NULL, "{\"services\": {}}");

        ASSERT_TRUE(strstr(same, "(none)") != NULL);
        ASSERT_TRUE(strstr(fresh, "(new stack)") != NULL);
}

TAP_MAIN(test_changed_fields, test_no_change_and_new_stack)
