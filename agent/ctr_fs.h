/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "containers.h"
#include "err.h"

/* Container file-system commands (agent/ctr_fs.c): commit and diff. */

struct ctr_commit_opts {
        const char *ref;     /* REPO[:TAG] to tag, may be NULL */
        const char *author;  /* may be NULL */
        const char *comment; /* history comment, may be NULL */
        char **changes;      /* docker --change instructions */
        bool pause;          /* freeze a running container while its upper dir is read */
};

/* The container's upper dir becomes a new layer on top of its image's layers; the new image's
 * config is the image's config overridden by the container's (Cmd, Entrypoint, Env, ...) with
 * the changes applied, plus a history entry. ret_id receives the new image id. */
int ctr_commit(struct ctr *c, const struct ctr_commit_opts *o, char **ret_id, struct err **errp);

/* docker diff: [{"Path":"/x","Kind":0|1|2}] (0 changed, 1 added, 2 deleted), sorted by path. */
int ctr_changes(struct ctr *c, json_t **ret, struct err **errp);
