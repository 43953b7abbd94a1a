/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The reverse channel to agents (issue #10: cluster-wide `logs` and `exec`). Agents connect
 * outward only, so the controller cannot call them: each agent holds a long poll
 * (GET /v1/nodes/{id}/tunnel) on which the controller hands it requests meant for its engine
 * API, and the agent posts each answer back (POST /v1/nodes/{id}/tunnel/{rid}) over a new
 * request on its own mutual-TLS connection. A client asks with POST /v1/cluster/proxy
 * {"container", "method", "path", "body"?, "node"?}: the controller finds the node whose
 * reported pods hold that container (container names are "<pod>.<container>") unless "node"
 * is given, queues the request, and answers the client with the node's status, content type
 * and body once the agent posted it. Answers are whole (buffered) unless the client asks for an
 * upgrade (Connection: Upgrade): then the agent dials back POST /v1/nodes/{id}/tunnel/{rid}/
 * stream (upgraded too) and the controller splices the two connections, so the client reads the
 * node engine's verbatim HTTP answer and its bytes reach the engine (logs -f, exec -i/-t; no
 * size limit, backpressure both ways). Limits of whole answers: TUNNEL_BODY_MAX per answer,
 * TUNNEL_PICKUP_SEC for an agent to take a request, TUNNEL_ANSWER_SEC for its answer (504 after
 * either). */

#include <stdbool.h>

#include <jansson.h>

#include "err.h"

/* An answer's body, within the server's 4 MiB request limit with its JSON escaping. */
#define TUNNEL_BODY_MAX (3u * 1024u * 1024u)
#define TUNNEL_PICKUP_SEC 10.0
#define TUNNEL_ANSWER_SEC 120.0
#define TUNNEL_POLL_MAX_MS 60000u

struct controller;
struct http_router;
struct tunnel;

struct tunnel *tunnel_free(struct tunnel *t);
int tunnel_api_register(struct http_router *router, struct err **errp);

/* The node whose last stored report lists a pod that container (a name) belongs to: allocated
 * id, or NULL with -ENOENT. Pure over the node records given ({"id", "pods": [{"id"}]}). */
char *tunnel_locate(const json_t *nodes, const char *container);
