/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "err.h"

/* The cluster PKI (openssl EVP, ECDSA P-256). A PKI directory holds
 *   ca.crt, ca.key          the cluster CA (self-signed, 10 years)
 *   server.crt, server.key  the daemon's certificate (SANs: hostname, localhost, 127.0.0.1, ::1,
 *                           and the --listen addresses)
 * Keys are written 0600, atomically. */

enum pki_usage { PKI_CLIENT, PKI_SERVER };

/* Creates what is missing in dir: the CA, then a server certificate with the SANs wanted. An
 * existing server certificate that lacks one of them is reissued. Returns 1 when something was
 * created, 0 when everything was in place. sans: "DNS:name" / "IP:addr" entries (or bare names
 * and addresses), may be NULL. */
int pki_ensure(const char *dir, const char *hostname, char *const *sans, struct err **errp);

/* Issues NAME.crt and NAME.key in out_dir, signed by the CA in pki_dir (CN = name). Refuses to
 * overwrite existing files (-EEXIST). */
int pki_issue(const char *pki_dir, const char *name, enum pki_usage usage, char *const *sans,
              const char *out_dir, struct err **errp);

/* "sha256:<64 hex>" of the DER certificate at path (the CA pin for join tokens). */
int pki_fingerprint(const char *cert_path, char **ret, struct err **errp);

/* Checks that the certificate at cert_path chains to the CA at ca_path. -EKEYREJECTED when it
 * does not. */
int pki_verify(const char *ca_path, const char *cert_path, struct err **errp);
