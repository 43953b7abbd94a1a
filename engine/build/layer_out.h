/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "err.h"
#include "image/store.h"

/* Turns a directory (a RUN's overlay upper dir, or the files a COPY produced) into an
 * uncompressed OCI layer blob in the store: entries in sorted order, overlayfs whiteouts (0:0
 * character devices) written as ".wh.NAME" files and opaque directories (trusted.overlay.opaque
 * or user.overlay.opaque = "y") followed by ".wh..wh..opq". The blob digest is also the diff id. */
int build_layer_from_dir(struct image_store *s, const char *dir, char **ret_digest,
                         struct err **errp);
