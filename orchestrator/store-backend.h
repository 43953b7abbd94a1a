/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* For store backends only. */

#include "store.h"

/* A fresh handle for a backend, which then fills ->backend. */
struct store *store_new_internal(const struct store_ops *ops, size_t changelog_max);

/* The error for a watcher that fell behind the changelog. */
static inline int store_err_compacted(struct err **errp, uint64_t from_rev, uint64_t compact_rev) {
        return err_setx(errp, ESTALE,
                        "revision %llu is compacted (changelog starts after revision %llu): "
                        "re-list and watch from the list's revision",
                        (unsigned long long)from_rev, (unsigned long long)compact_rev);
}

static inline int store_err_conflict(struct err **errp, const char *key, int64_t expect,
                                     uint64_t actual) {
        if (expect == STORE_ABSENT)
                return err_setx(errp, ECANCELED,
                                "store key '%s' exists (mod revision %llu), expected absent", key,
                                (unsigned long long)actual);
        if (actual == 0)
                return err_setx(errp, ECANCELED,
                                "store key '%s' does not exist, expected mod revision %lld", key,
                                (long long)expect);
        return err_setx(errp, ECANCELED, "store key '%s' has mod revision %llu, expected %lld", key,
                        (unsigned long long)actual, (long long)expect);
}
