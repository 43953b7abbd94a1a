/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image/ref.h"
#include "xalloc.h"

/* Parses arbitrary text as an image reference; a parsed reference must re-parse from its full
 * form to the same full form. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *full = NULL, *full2 = NULL, *fam = NULL;
        struct image_ref *r = NULL, *r2 = NULL;
        struct err *e = NULL;

        if (size > 8192)
                return 0;
        s = xstrndup((const char *)data, size);
        if (ref_parse(s, &r, &e) < 0) {
                err_free(e);
                return 0;
        }
        full = ref_full(r);
        fam = ref_familiar(r);
        if (ref_parse(full, &r2, NULL) < 0)
                abort();
        full2 = ref_full(r2);
        if (strcmp(full, full2) != 0)
                abort();
        ref_free(r);
        ref_free(r2);
        return 0;
}
