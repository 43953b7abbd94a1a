/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Capability names and the process capability sets (libcap). */

#define CAPS_MAX 64

/* "CAP_CHOWN" -> 0; -EINVAL when unknown. */
int caps_from_name(const char *name);
/* 0 -> "CAP_CHOWN"; NULL when unknown. */
const char *caps_to_name(int cap);
/* The highest capability number this table knows (CAP_CHECKPOINT_RESTORE). */
int caps_last_known(void);

/* docker's default capability set (the 14 capabilities docker grants a container). */
extern const int caps_docker_default[];
extern const size_t caps_docker_default_len;

/* The five sets, as capability numbers: bounding, effective, inheritable, permitted, ambient. */
struct caps_sets {
        const int *set[5];
        size_t n[5];
};

/* Both run in the container's init and allocate nothing. caps_drop_bounding() needs
 * CAP_SETPCAP, so it runs before the uid switch; caps_set() runs after it (the permitted set
 * survives setuid through PR_SET_KEEPCAPS) and also raises the ambient set. They return 0 or
 * -errno; *ret_cap names the capability that failed (-1 otherwise). */
int caps_drop_bounding(const struct caps_sets *s, int *ret_cap);
int caps_set(const struct caps_sets *s, int *ret_cap);
/* The kernel's highest capability (/proc/sys/kernel/cap_last_cap, probed with PR_CAPBSET_READ). */
int caps_kernel_last(void);
/* Bitmask form of a list. */
uint64_t caps_mask(const int *caps, size_t n);
