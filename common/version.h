/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The build's version and commit, set once by main() from the compiler command line (only main/
 * is built with them). Read-only everywhere else. */
extern const char *berth_version;
extern const char *berth_commit;

#define BERTH_API_VERSION "1"
