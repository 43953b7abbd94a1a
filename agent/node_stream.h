/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Streamed requests of the controller's reverse channel (orchestrator/tunnel.h, docs/cluster.md
 * "Streams"): `logs -f`, `exec -i`/`-t` of a container on this node, asked for through the
 * controller. For each, the node agent forks a helper (STYLE C11: nothing blocks the loop) that
 * dials the controller back, POST /v1/nodes/{id}/tunnel/{rid}/stream with Connection: Upgrade
 * over the node's mutual TLS, connects to its own engine's unix socket, writes the request
 * there and relays bytes both ways until the engine's answer ends (or the controller's side
 * goes away). The engine's answer passes verbatim (status line, headers, body); the client's
 * bytes reach the engine only after the engine answered 101 (an upgraded exec), and a request
 * that is not an upgrade is sent with "Connection: close" (common/tunnel_req.h), so nothing the
 * client sends can become a second request. The helper is named "berth-tunnel" (comm). Each
 * direction holds at most 64 KiB (backpressure: nothing more is read until it is written). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "http_call.h"

/* Checks spec {"method", "path", "body"?, "upgrade"?} (tunnel_req_check) and forks the helper
 * for request rid of the controller at ctl (this node's identity); engine is
 * "unix:///path". The child is reaped by the loop (libev reaps every child). */
int node_stream_start(const struct http_target *ctl, const char *node, uint64_t rid,
                      const char *engine, const json_t *spec, pid_t *ret_pid, struct err **errp);
