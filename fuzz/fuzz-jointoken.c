/* SPDX-License-Identifier: Apache-2.0 */
/* Join tokens as typed by users: a parsed token formats back to the same text, and an error
 * never repeats the input's secret part. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "err.h"
#include "jointoken.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *again = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct jointoken t;

        if (size > 4096)
                return 0;
        s = xstrndup((const char *)data, size);
        if (jointoken_parse(s, &t, &e) < 0) {
                if (!e || !strstr(err_msg(e), "join token"))
                        abort();
                return 0;
        }
        again = jointoken_format(&t);
        if (strcmp(again, s) != 0)
                abort();
        return 0;
}
