/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "err.h"

/* Copies the contents of the directory src_dirfd into dst_dirfd, recursively, keeping owners,
 * modes, times, symlinks (never followed), hard links inside the tree are copied as separate
 * files, device nodes and fifos are recreated. Existing entries in dst are replaced. Does not
 * cross into other file systems below src. */
int copy_tree_at(int src_dirfd, int dst_dirfd, struct err **errp);
