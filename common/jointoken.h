/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Cluster join tokens (docs/cluster.md): "BERTH1-<ca>-<secret>", where <ca> is the sha256 of the
 * cluster CA certificate (DER, 64 lowercase hex digits) that a joining agent pins, and <secret>
 * is 64 lowercase hex digits the controller checks.
 *
 * The controller stores only sha256(secret) in <pki>/join-tokens.json (0600), with a random
 * nonce. The secret itself is HMAC-SHA256(key = sha256 of ca.key, nonce): whoever can read the
 * CA key can print the token again (`berth node token`) without it being stored in the clear,
 * and a rotation (a new nonce) invalidates the previous secret. */

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define JOINTOKEN_PREFIX "BERTH1"
#define JOINTOKEN_HEX_LEN 64
#define JOINTOKEN_FILE "join-tokens.json"

struct jointoken {
        char ca_sha256[JOINTOKEN_HEX_LEN + 1];
        char secret[JOINTOKEN_HEX_LEN + 1];
};

/* Parses a token; errors say which part is wrong (prefix, CA hash, secret), never echo the
 * secret. */
int jointoken_parse(const char *s, struct jointoken *ret, struct err **errp);

/* "BERTH1-<ca>-<secret>". */
char *jointoken_format(const struct jointoken *t);

/* The sha256 (64 hex) of the DER certificate at ca_path. */
int jointoken_ca_sha256(const char *ca_path, char ret[JOINTOKEN_HEX_LEN + 1], struct err **errp);

/* The current token of the PKI directory pki_dir (which holds ca.crt and ca.key). Creates
 * join-tokens.json when it is missing, and replaces its nonce when rotate is set (the previous
 * token stops working); a rotated token with ttl_usec > 0 expires that long after. Returns 1
 * when a new secret was made, 0 otherwise; *ret_expires_usec (when not NULL) is the token's
 * expiry (realtime) or 0 for never. */
int jointoken_get(const char *pki_dir, bool rotate, uint64_t ttl_usec, char **ret,
                  uint64_t *ret_expires_usec, struct err **errp);

/* Checks a presented secret against the stored hash in constant time. -EACCES when it does not
 * match, when the token expired (said only to a caller with the right secret) or when no token
 * was ever made; other errors for an unreadable store. */
int jointoken_check_secret(const char *pki_dir, const char *secret, struct err **errp);
