/* SPDX-License-Identifier: Apache-2.0 */
/* What a secret's create request and a stored sealed value go through: base64_decode of any
 * text (what decodes encodes to as many characters, and back to the same bytes) and
 * sbox_open of any text under a fixed key (never succeeds on a forgery, never crashes). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "err.h"
#include "secretbox.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_ws(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += strchr(" \n\r\t", *s) != NULL;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *dec = NULL, *enc = NULL, *plain = NULL, *sealed = NULL;
        struct sbox_key key;
        size_t n = 0, len = 0;

        if (size > 65536)
                return 0;
        s = xstrndup((const char *)data, size);
        if (base64_decode(s, &dec, &n) == 0) {
                _cleanup_free_ char *again = NULL;
                size_t n2 = 0;

                /* Padding and whitespace are checked; unused low bits are not (Go's
                 * StdEncoding), so the bytes, not the text, must survive a round trip. */
                enc = base64_encode(dec, n);
                if (strlen(enc) != strlen(s) - count_ws(s) || base64_decode(enc, &again, &n2) < 0 ||
                    n2 != n || memcmp(again, dec, n) != 0)
                        abort();
        }
        memset(key.k, 0x42, sizeof(key.k));
        {
                _cleanup_err_ struct err *e = NULL;

                if (sbox_open(&key, "fuzz", s, &plain, &len, &e) == 0)
                        abort(); /* a forgery opened */
        }
        /* And what seals opens. */
        if (sbox_seal(&key, "fuzz", data, size, &sealed, NULL) < 0)
                abort();
        free(plain);
        plain = NULL;
        if (sbox_open(&key, "fuzz", sealed, &plain, &len, NULL) < 0 || len != size ||
            memcmp(plain, data, size) != 0)
                abort();
        return 0;
}
