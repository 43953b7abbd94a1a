/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>

#include "image/manifest.h"

/* Manifests, indexes and image configs from a registry or an archive are outside input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct manifest *m = NULL;
        struct image_config *c = NULL;
        struct err *e = NULL;

        if (manifest_parse((const char *)data, size, NULL, &m, &e) >= 0) {
                const struct descriptor *d;
                if (manifest_kind_is_index(m->kind) &&
                    manifest_select(m, "linux", "amd64", NULL, &d, &e) < 0)
                        e = err_free(e);
                manifest_free(m);
        } else
                e = err_free(e);
        if (image_config_parse((const char *)data, size, &c, &e) >= 0)
                image_config_free(c);
        else
                err_free(e);
        return 0;
}
