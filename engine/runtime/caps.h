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

/* Applies the five sets in the calling (container init) process: drops the bounding set, sets
 * effective/permitted/inheritable, raises ambient. Must be called after the uid switch with
 * PR_SET_KEEPCAPS so that permitted caps survive. Sets given as capability numbers. */
struct caps_sets {
        const int *set[5]; /* bounding, effective, inheritable, permitted, ambient */
        size_t n[5];
};
int caps_apply(const struct caps_sets *s, struct err **errp);
/* Drops everything but the bounding set: called before setuid to keep caps over it. */
int caps_keep_over_setuid(struct err **errp);
/* Bitmask form of a list. */
uint64_t caps_mask(const int *caps, size_t n);
