/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `berth daemon [--root DIR] [--run DIR] [--listen ADDR:PORT] [--log-level L] [--log-format F]` */
int daemon_main(int argc, char **argv);
