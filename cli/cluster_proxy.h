/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Cluster-wide `logs` and `exec` (issue #10): a container the daemon's own node does not have
 * may run on another node of the cluster; the controller runs the same request there through
 * its reverse channel (POST /v1/cluster/proxy, orchestrator/tunnel.h) and returns the node's
 * whole answer. */

#include <stdbool.h>

#include <jansson.h>

#include "client.h"
#include "err.h"
#include "http_client.h"

/* Whether a local request's error means "this node has no such container" (and so another node
 * may), not another missing thing (an exec's command, say). */
bool cluster_may_have(const struct err *e);

/* Runs method path (body may be NULL) on the node that has container, through the controller,
 * and hands the answer's lines to on_line like client_stream(). -ENOENT when no node has it
 * (or the daemon has no controller). */
int cluster_stream(const struct cli_ctx *ctx, const char *container, const char *method,
                   const char *path, const json_t *body, http_line_fn *on_line, void *ud,
                   struct err **errp);
