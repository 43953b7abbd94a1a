/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `berth agent --join https://ADDR:PORT --token T ...` (docs/cluster.md): joins a remote
 * controller (first start only: the node certificate is kept in <root>/node-tls/), then runs
 * the daemon without the controller, its node agent talking to the controller over mutual TLS
 * with the node certificate, which it renews when less than a third of its validity is left. */

#include "pods.h"

/* rt: the pod runtime the node agent drives (the one `berth daemon` gives its node agent). */
int agent_run(int argc, char **argv, const struct pod_runtime_ops *rt);
