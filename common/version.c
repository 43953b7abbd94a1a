/* SPDX-License-Identifier: Apache-2.0 */
#include "version.h"

const char *berth_version = "0.0.0";
const char *berth_commit = "unknown";
