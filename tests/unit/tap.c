/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

/* names is the stringified argument list of TAP_MAIN: "a, b, c". */
int tap_main_(tap_test_fn **fns, size_t n, const char *names) {
        const char *p = names;

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("1..%zu\n", n);
        for (size_t i = 0; i < n; i++) {
                char name[256];
                size_t k;

                while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t')
                        p++;
                k = strcspn(p, ",");
                while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\n'))
                        k--;
                snprintf(name, sizeof(name), "%.*s", (int)k, p);
                p += strcspn(p, ",");

                tap_st.cur_failed = false;
                tap_st.cur_skip = NULL;
                errno = 0;
                fns[i]();
                fflush(stdout);
                if (tap_st.cur_failed) {
                        tap_st.failed++;
                        printf("not ok %zu - %s\n", i + 1, name);
                } else if (tap_st.cur_skip)
                        printf("ok %zu - %s # SKIP %s\n", i + 1, name, tap_st.cur_skip);
                else
                        printf("ok %zu - %s\n", i + 1, name);
        }
        return tap_st.failed ? 1 : 0;
}
