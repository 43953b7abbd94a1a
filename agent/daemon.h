/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `berth daemon [--root DIR] [--run DIR] [--listen ADDR:PORT] [--log-level L] [--log-format F]` */
#include <stddef.h>

#include "daemon_env.h"

int daemon_main(int argc, char **argv);
/* The same, hosting addons (the controller, the local node agent), started in order. */
int daemon_run(int argc, char **argv, const struct daemon_addon *addons, size_t n_addons);
