/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Lets the kernel forget the shim's resident copy of its read-only, file-backed pages (its own
 * code: the start path is large, the steady-state loop small). Called once the container runs;
 * the pages the loop needs come back from the page cache on first use. Never touches a mapping
 * that is writable or holds private (copied-on-write) data, such as the relocated GOT. The
 * daemon calls it too, when idle (daemon_trim.c). */
void shim_trim(void);
