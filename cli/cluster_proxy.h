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

/* Streams (logs -f, exec -i/-t/-d): a copy of ctx whose calls all go to the node that has
 * container, through the controller's tunnel stream (POST /v1/cluster/proxy, upgraded: the node
 * engine's answer comes back verbatim, with no size limit, and an upgraded exec's bytes flow
 * both ways). Use it with the usual client_* and cli_attach_* calls; the paths must be
 * /v1/containers/... or /v1/exec/... One container per process (the CLI runs one command). */
void cluster_ctx(const struct cli_ctx *ctx, const char *container, struct cli_ctx *ret);
/* A call through cluster_ctx() failed with r: a daemon without a controller (no such route)
 * becomes "No such container: NAME" (-ENOENT); other errors stay. */
int cluster_fix_err(int r, const char *container, struct err **errp);
