/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "err.h"

/* err_wrap() that keeps the original code r when the caller passed errp == NULL (err_wrap alone
 * would turn it into -EIO then). */
#define err_wrap_r(r, errp, ...) ((errp) && *(errp) ? err_wrap((errp), __VA_ARGS__) : (r))
