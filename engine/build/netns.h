/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "err.h"

/* A new, empty network namespace for a build's RUN steps (docs/build.md "RUN"): the daemon
 * connects it to the default bridge network with the network manager, and every RUN container
 * of the build joins it by path. Returns the namespace's fd (close-on-exec); the namespace lives
 * as long as an fd or a process holds it. */
int build_netns_new(struct err **errp);
