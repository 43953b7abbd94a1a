/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "runtime/spec.h"

/* Runs one hook with state (the runtime-spec state JSON) on its stdin. Returns 0, or -errno with
 * a message in msg ("hook '/x' exited with status 3", "... timed out after 5 s"). Does not
 * allocate: usable in the container's init. */
int rt_hook_run(const struct spec_hook *h, const char *state, char *msg, size_t msglen);
/* Runs every hook of one kind in order; stops at the first failure. */
int rt_hooks_run(const struct spec *spec, enum spec_hook_kind k, const char *state, char *msg,
                 size_t msglen);
