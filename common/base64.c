/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "xalloc.h"

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *p, size_t n) {
        const unsigned char *in = p;
        char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
        size_t i;

        for (i = 0; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

                *o++ = b64_alphabet[v >> 18];
                *o++ = b64_alphabet[(v >> 12) & 63];
                *o++ = b64_alphabet[(v >> 6) & 63];
                *o++ = b64_alphabet[v & 63];
        }
        if (i < n) {
                uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

                *o++ = b64_alphabet[v >> 18];
                *o++ = b64_alphabet[(v >> 12) & 63];
                *o++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
                *o++ = '=';
        }
        *o = 0;
        return out;
}

static int b64_value(char ch) {
        if (ch >= 'A' && ch <= 'Z')
                return ch - 'A';
        if (ch >= 'a' && ch <= 'z')
                return ch - 'a' + 26;
        if (ch >= '0' && ch <= '9')
                return ch - '0' + 52;
        if (ch == '+')
                return 62;
        if (ch == '/')
                return 63;
        return -1;
}

int base64_decode(const char *s, char **ret, size_t *ret_n) {
        _cleanup_free_ char *out = xmalloc(strlen(s) / 4 * 3 + 4);
        uint32_t acc = 0;
        unsigned got = 0, pad = 0;
        size_t n = 0;

        for (const char *p = s; *p; p++) {
                int v;

                if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
                        continue;
                if (*p == '=') {
                        /* Only at the end of the last group: "xx==" or "xxx=". */
                        if (got < 2 || got + pad >= 4)
                                return -EINVAL;
                        pad++;
                        continue;
                }
                if (pad > 0)
                        return -EINVAL;
                v = b64_value(*p);
                if (v < 0)
                        return -EINVAL;
                acc = acc << 6 | (uint32_t)v;
                if (++got == 4) {
                        out[n++] = (char)(acc >> 16);
                        out[n++] = (char)(acc >> 8);
                        out[n++] = (char)acc;
                        acc = 0;
                        got = 0;
                }
        }
        /* The last group is complete or padded: "Zm8" is refused as Go's StdEncoding does. */
        if ((pad > 0 && got + pad != 4) || (pad == 0 && got != 0))
                return -EINVAL;
        if (got == 2) {
                out[n++] = (char)(acc >> 4);
        } else if (got == 3) {
                out[n++] = (char)(acc >> 10);
                out[n++] = (char)(acc >> 2);
        }
        out[n] = 0;
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}
