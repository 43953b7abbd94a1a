/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "build/context.h"
#include "err.h"
#include "image/store.h"

/* Executes a Dockerfile against a build context and registers the result in the image store
 * (docs/build.md). Blocking: the agent runs it in a forked helper. */

/* Receives one line of progress text (no trailing newline): "Step 2/7 : RUN make",
 * " ---> Using cache", the output of RUN steps, " ---> sha256:...". */
typedef void build_progress_fn(void *ud, const char *line);

struct build_opts {
        struct image_store *store;
        const char *root; /* berth root: build-cache/ and build-tmp/ live below it */
        struct build_context *ctx;
        const char *dockerfile;        /* path inside the context; default "Dockerfile" */
        const char *dockerfile_inline; /* the Dockerfile's text (then dockerfile only names it) */
        char **tags;                   /* references to tag the result with */
        char **build_args;             /* "K=V" */
        char **labels;                 /* "K=V", added to the final image */
        const char *target;            /* stage name or index; default: the last stage */
        bool no_cache;
        char **cache_from; /* images whose recorded steps may be reused (docs/build.md) */
        unsigned jobs;     /* stages built at the same time; 0: the number of CPUs (at least 2) */
        bool pull;         /* pull base images even when present (missing ones always are) */
        bool network_none; /* RUN without network */
        const char *netns_path; /* RUN joins this network namespace (the build's endpoint on the
                                 * default bridge); NULL: the host's network */
        build_progress_fn *progress;
        void *progress_ud;
};

/* Builds; on success *ret_id (optional) receives the image id. On failure nothing is tagged and
 * every container, mount and temporary directory of the build is gone. Errors name the
 * Dockerfile line ("Dockerfile:7: ..."). */
int build_image(const struct build_opts *o, char **ret_id, struct err **errp);

/* Reads the Dockerfile at path (relative to the context; must stay inside it). */
int build_read_dockerfile(const struct build_context *ctx, const char *path, char **ret,
                          size_t *ret_len, struct err **errp);
