/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The requests the controller's reverse channel carries to a node's engine (docs/cluster.md,
 * "Cluster-wide logs and exec"): checked on the controller (orchestrator/tunnel.c) and again
 * on the agent (agent/node.c, agent/node_stream.c), and written by the agent onto its engine's
 * socket for a streamed request. */

#include <stdbool.h>

#include "err.h"

/* method is GET or POST; path is /v1/containers/... or /v1/exec/... (exec -t's start, resize
 * and inspect) made of visible ASCII only (no space, control byte or DEL: nothing that could
 * end the request line), without a ".." segment. Errors name the field. */
int tunnel_req_check(const char *method, const char *path, struct err **errp);

/* The HTTP/1.1 request for a streamed request (tunnel_req_check()ed method and path; body may
 * be NULL). With upgrade it asks for "Connection: Upgrade" (an upgraded exec); without, for
 * "Connection: close", so that the engine closes after its answer and nothing the client sends
 * behind it can become a second request. */
char *tunnel_req_text(const char *method, const char *path, const char *body, bool upgrade);
