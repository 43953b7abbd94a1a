/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* `berth create` / `berth run` options with docker's names and meanings, turned into the body
 * of POST /v1/containers, which uses docker's Engine API field names (Image, Cmd, Env,
 * HostConfig.PortBindings, ...). Every bad value is an error naming the flag and the value;
 * conflicting flags (--rm with a restart policy, -p with --network host, ...) are refused. */

struct run_opts {
        json_t *body;     /* the create request, owned */
        char *name;       /* --name, or NULL */
        bool detach;      /* -d */
        bool interactive; /* -i */
        bool tty;         /* -t */
        bool auto_remove; /* --rm */
        char *cidfile;    /* --cidfile */
        char *pull;       /* --pull missing|always|never */
        char *detach_keys;
        char **attach; /* -a streams */
        bool quiet;    /* -q (pull output) */
};

void run_opts_done(struct run_opts *o);

/* Parses argv (argv[0] is the command name) up to and including IMAGE [COMMAND [ARG...]].
 * is_run enables run-only flags (-d, --detach-keys, --rm applies to both). */
int run_opts_parse(int argc, char **argv, bool is_run, struct run_opts *ret, struct err **errp);

/* Value parsers shared with other commands (update, exec). Each names `flag` in its error. */
int parse_bytes(const char *flag, const char *s, int64_t *ret, struct err **errp);
int parse_go_duration(const char *flag, const char *s, int64_t *ret_nsec, struct err **errp);
int parse_nano_cpus(const char *flag, const char *s, int64_t *ret, struct err **errp);
/* "[ip:][hostPort[-end]:]containerPort[-end][/proto]" merged into ExposedPorts and
 * PortBindings (docker's JSON shapes). */
int parse_publish(const char *s, json_t *exposed, json_t *bindings, struct err **errp);
/* "NAME=SOFT[:HARD]" into a HostConfig.Ulimits entry. */
int parse_ulimit(const char *s, json_t **ret, struct err **errp);
/* "type=bind,source=/a,target=/b,readonly" into a HostConfig.Mounts entry. */
int parse_mount(const char *s, json_t **ret, struct err **errp);
/* Reads KEY=VALUE lines (comments and blank lines skipped; "KEY" alone takes the value from the
 * environment, as docker does) and appends them to arr. */
int parse_env_file(const char *path, json_t *arr, struct err **errp);
