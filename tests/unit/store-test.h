/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers for the tests of the controller's store users. */

#include <string.h>

#include <jansson.h>

#include "json.h"
#include "store.h"

/* The JSON document at key, or NULL when it is absent (the caller frees it). */
static inline json_t *store_test_doc(struct store *s, const char *key) {
        struct store_kv kv = {};
        json_t *j = NULL;

        if (store_get(s, key, &kv, NULL) < 0)
                return NULL;
        (void)json_parse(kv.value, strlen(kv.value), key, &j, NULL);
        store_kv_done(&kv);
        return j;
}
