/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Revoked certificate serials (docs/cluster.md): `berth node rm` adds the removed node's
 * certificate serials to a file under the PKI directory, and the TLS listener refuses a client
 * whose certificate serial is listed, at the handshake and on every request. The file holds
 * one serial per line, upper-case hex without leading zeros (OpenSSL's BN_bn2hex form). */

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/x509.h>

#include "err.h"

#define REVOKE_FILE_MAX (4 * 1024 * 1024)

/* The serial of x as upper-case hex (allocated). */
char *revoke_serial_of(X509 *x);
/* The serial of a PEM certificate. */
int revoke_pem_serial(const char *cert_pem, char **ret, struct err **errp);
/* Adds serials (strv) to the file at path (created 0644 when missing, rewritten atomically).
 * Returns the number of serials that were new. */
int revoke_add(const char *path, char *const *serials, struct err **errp);

/* A cached view of the file: re-read only when its mtime, size or inode change. */
struct revoke_cache {
        char **serials;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        bool loaded;
};

/* Whether serial is listed in the file at path. A missing file lists nothing; a file that
 * cannot be read keeps the last list seen (fail closed for what was revoked before). */
bool revoke_check(struct revoke_cache *c, const char *path, const char *serial);
void revoke_cache_done(struct revoke_cache *c);
