/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Secret values at rest in the controller's store (docs/controller.md "Secrets and configs"):
 * AES-256-GCM under one data key, a random 96-bit nonce per value, and the record's store key
 * as additional data (a sealed value copied into another record does not open there).
 *
 * The data key is <root>/controller/secrets.key: 32 random bytes, mode 0600, made at first use.
 * It is the unlock key (swarm's without autolock): whoever has it and state.db has the
 * secrets. */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SBOX_KEY_LEN 32

struct sbox_key {
        uint8_t k[SBOX_KEY_LEN];
};

/* Reads the key at path, or creates it (0600, O_EXCL, fsync'ed) when missing. A file of
 * another size, or readable by others, is an error naming it. */
int sbox_key_load(const char *path, struct sbox_key *ret, struct err **errp);

/* "v1:" + base64(nonce | ciphertext | tag) of data under key, bound to aad. */
int sbox_seal(const struct sbox_key *key, const char *aad, const void *data, size_t len, char **ret,
              struct err **errp);

/* The value sealed in text: EBADMSG when it was changed, sealed under another key or for
 * another aad; EINVAL when text is not a sealed value. *ret is NUL-terminated (not counted). */
int sbox_open(const struct sbox_key *key, const char *aad, const char *text, char **ret,
              size_t *ret_len, struct err **errp);

/* True when s looks like sbox_seal()'s output. */
static inline int sbox_is_sealed(const char *s) {
        return s && s[0] == 'v' && s[1] == '1' && s[2] == ':';
}
