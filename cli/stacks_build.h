/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "cli.h"
#include "err.h"

/* Compose `build:` sections (docs/build.md "Compose"): `berth up` builds the images of its
 * services before it sends the stack, `berth stack build` / `berth build` without a PATH build
 * them on request. */
enum stack_build_mode {
        STACK_BUILD_MISSING, /* build when the image is missing (or pull_policy: build) */
        STACK_BUILD_ALWAYS,  /* up --build, stack build */
        STACK_BUILD_NEVER,   /* up --no-build: a missing image is an error naming the service */
        STACK_BUILD_RESOLVE, /* dry runs: look the images up, build nothing, fail on nothing */
};

struct stack_build_opts {
        enum stack_build_mode mode;
        char *const *services;   /* the services to build; NULL: every service with build: */
        const json_t *buildargs; /* --build-arg overrides (JSON object of strings), or NULL */
        bool nocache, pull, quiet;
};

/* Builds what o asks for, then records each built service's image id in its container's labels
 * ("berth.image.id"; the agent does not put berth.* labels on containers) and recomputes the
 * service's hash, so a rebuilt image recreates the service's containers and an unchanged one
 * keeps them. */
int stack_build_images(const struct cli_ctx *ctx, json_t *model, const struct stack_build_opts *o,
                       struct err **errp);

/* `berth stack build` (also `berth build` given no context PATH). */
int cli_stack_build(const struct cli_ctx *ctx, int argc, char **argv);

/* Whether `berth build -f FILE ARGS...` means a compose file (FILE ends in .yaml/.yml/.json and
 * no ARG is a directory). */
bool cli_build_is_compose(const char *file, int nargs, char *const *args);
