/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Node certificates for cluster joins (docs/cluster.md): the agent makes its ECDSA P-256 key
 * locally and sends only a certificate signing request; the controller signs it with the
 * cluster CA. The CSR's subject and extensions are ignored: the controller decides the name
 * (CN = node id), the SAN (the advertise address) and the validity. */

#include <stdint.h>
#include <time.h>

#include "err.h"

#define CSR_NODE_DAYS 90
#define CSR_NODE_SEC (CSR_NODE_DAYS * 86400ULL)
#define CSR_MIN_SEC 10ULL /* the shortest validity (tests: --node-cert-ttl) */
#define CSR_MAX_PEM (64 * 1024)

/* Generates a P-256 key, writes it to key_path (0600, atomically) and returns a PEM CSR signed
 * with it (CN = cn). */
int csr_new(const char *key_path, const char *cn, char **ret_csr_pem, struct err **errp);

/* Signs csr_pem with the CA in pki_dir (ca.crt, ca.key): CN = cn, SAN = IP or DNS name san (may
 * be NULL), usable as TLS client and server, valid for valid_sec seconds (CSR_MIN_SEC to 3650
 * days) from now, back-dated by 5 minutes for clock skew, or by valid_sec when shorter (so that
 * a short-lived certificate is renewed after a third of its life, csr_needs_renewal). Checks the
 * CSR's own signature and that its key is ECDSA P-256. Returns the PEM certificate. */
int csr_sign(const char *pki_dir, const char *csr_pem, const char *cn, const char *san,
             uint64_t valid_sec, char **ret_cert_pem, struct err **errp);

/* Validity and common name of a PEM certificate; any ret may be NULL. */
int csr_cert_info(const char *cert_pem, time_t *ret_not_before, time_t *ret_not_after,
                  char **ret_cn, struct err **errp);

/* True when less than a third of [not_before, not_after] is left at now. */
int csr_needs_renewal(time_t not_before, time_t not_after, time_t now);
