/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Cluster membership over TLS (docs/cluster.md): the token-authorized join that signs a node
 * certificate, its renewal, the public CA, and the join token. The routes are served by the
 * "cluster" daemon addon, which also prints the join token when the daemon starts. */

#include <stdint.h>

#include <jansson.h>

#include "controller.h"
#include "daemon_env.h"
#include "err.h"

struct http_req;

/* The core of a remote join, without HTTP. body: {"secret", "name", "labels", "advertise_addr",
 * "csr", "allocatable"}. Checks the secret against <pki_dir>/join-tokens.json (-EACCES),
 * refuses a name that is already a node (-EEXIST), signs the CSR (CN = node id, SAN =
 * advertise_addr, valid cert_sec seconds: 0 is CSR_NODE_SEC) and records the node. Nothing is
 * recorded on failure. *ret: {"id", "revision", "certificate", "ca"}. */
int cluster_join(struct controller *c, const char *pki_dir, uint64_t cert_sec, const json_t *body,
                 uint64_t now_usec, json_t **ret, struct err **errp);

/* A join by a node that presents its certificate (CN = cn): allowed only for a node that exists
 * and under its own name; keeps the operator's labels. */
int cluster_rejoin(struct controller *c, const char *cn, const json_t *body, uint64_t now_usec,
                   json_t **ret, struct err **errp);

/* The renewal of node id's certificate: body {"csr", "advertise_addr"}. *ret: {"certificate"}. */
int cluster_renew(struct controller *c, const char *pki_dir, uint64_t cert_sec, const char *id,
                  const json_t *body, json_t **ret, struct err **errp);

/* After `node rm`: adds every certificate serial signed for node id to
 * <pki_dir>/revoked-serials (which the TLS listener checks), and deletes the node's certificate
 * record and its assignments. Returns the number of newly revoked serials. */
int cluster_revoke_node(struct controller *c, const char *pki_dir, const char *id,
                        struct err **errp);

/* POST /v1/nodes/join over TLS: the controller's join handler hands TLS requests here. */
void cluster_join_tls(struct http_req *req, void *userdata, struct controller *c);

extern const struct daemon_addon cluster_addon;
