/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "cli.h"
#include "err.h"

/* The largest build context the CLI tars or reads from stdin: 2 GiB. */
#define CONTEXT_MAX (1ull << 31)

/* One POST /v1/build (docs/build.md), shared by `berth build` and the compose builds of
 * `berth up` / `berth stack build` (cli/stacks_build.c). */
struct cli_build_req {
        const char *context; /* absolute context directory; NULL: tar (stdin) below */
        const char *tar;     /* the context as a tar stream when context is NULL */
        size_t tar_len;
        const char *dockerfile;        /* relative to the context; NULL: "Dockerfile" */
        const char *dockerfile_inline; /* the Dockerfile's text (compose dockerfile_inline) */
        char *const *tags;
        char *const *cache_from;          /* images whose recorded build steps may be reused */
        const json_t *buildargs, *labels; /* JSON objects of strings, or NULL */
        const char *target, *network;
        unsigned jobs; /* stages built at the same time; 0: the daemon's default */
        bool nocache, pull, quiet;
        const char *prefix; /* printed before every progress line, e.g. "web | " */
};

/* Sends the build and prints its progress on stdout. With a local daemon (unix socket) the
 * context travels as its path, otherwise as a tar body. *ret_id gets the image id. A failed
 * build returns -EIO with the daemon's message (the Dockerfile line) in the error. */
int cli_build_send(const struct cli_ctx *ctx, const struct cli_build_req *req, char **ret_id,
                   struct err **errp);

/* Tars dir into memory (the daemon applies .dockerignore); an inline Dockerfile is added as the
 * last entry, named inline_name. cli/build_tar.c: berth-engine only (cli_env.tar_context). */
int cli_tar_context(const char *dir, const char *inline_name, const char *inline_text, char **ret,
                    size_t *ret_len, struct err **errp);
