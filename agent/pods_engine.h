/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pods.h"

/* The pod runtime over the container manager (agent/containers.h); its open() needs the
 * daemon's container manager (struct daemon's ctrs). */
extern const struct pod_runtime_ops pods_engine_ops;
