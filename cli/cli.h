/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "http_call.h"

/* Exit codes, as docker's: the container's own code passes through; these are berth's. */
enum {
        EXIT_BERTH_FAILED = 125,  /* berth itself failed */
        EXIT_CANNOT_INVOKE = 126, /* the command cannot be invoked */
        EXIT_NOT_FOUND = 127,     /* the command was not found */
        EXIT_USAGE = 2,           /* bad command line or stack file */
};

/* Prints "berth: MESSAGE" and the command's usage to stderr; evaluates to EXIT_USAGE. */
#define USAGE_ERROR(usage, ...)                                                                    \
        ({                                                                                         \
                fprintf(stderr, "berth: " __VA_ARGS__);                                            \
                fprintf(stderr, "\n%s", usage);                                                    \
                EXIT_USAGE;                                                                        \
        })

struct cli_env;

/* Global options every command sees. */
struct cli_ctx {
        const char *host;   /* --host / BERTH_HOST: unix:///run/berth/berth.sock or https://... */
        const char *format; /* --format: "table" (default), "json", or a template */
        const char *tls_cert, *tls_key, *tls_ca; /* client certificate for https hosts */
        const char *progname;
        const struct http_transport *http; /* to the daemon: cli_env.http */
        const struct cli_env *env;
};

struct cli_cmd {
        const char *name;    /* "run", "image ls", "network create" ... */
        const char *summary; /* one line for `berth --help` */
        int (*fn)(const struct cli_ctx *ctx, int argc, char **argv);
};

/* One array per command group (cli/<group>.c), each ended by an entry with name == NULL. */
extern const struct cli_cmd cli_system_cmds[];
extern const struct cli_cmd cli_events_cmds[];
extern const struct cli_cmd cli_cert_cmds[];
extern const struct cli_cmd cli_stacks_cmds[];
extern const struct cli_cmd cli_images_cmds[];
extern const struct cli_cmd cli_container_cmds[];
extern const struct cli_cmd cli_ctrfs_cmds[];
extern const struct cli_cmd cli_stack_cmds[];
extern const struct cli_cmd cli_stats_cmds[];
extern const struct cli_cmd cli_network_cmds[];
extern const struct cli_cmd cli_volume_cmds[];
extern const struct cli_cmd cli_secret_cmds[];
/* `berth ps -p NAME` is `berth stack ps -p NAME` (cli/stacks_up.c). */
bool cli_stack_ps_wanted(int argc, char **argv);
int cli_stack_ps(const struct cli_ctx *ctx, int argc, char **argv);
extern const struct cli_cmd cli_build_cmds[];
extern const struct cli_cmd cli_stacks_build_cmds[];
extern const struct cli_cmd cli_node_cmds[];
extern const struct cli_cmd cli_service_cmds[];
/* berth-engine only (cli_env.engine_groups): openssl, libarchive. */
extern const struct cli_cmd cli_cp_cmds[];

/* What differs between the two binaries built from these layers (docs/containers.md, "Two
 * binaries"): main/client/berth.c (the thin `berth`) passes http_transport_unix and no engine
 * parts; main/main.c (berth-engine) passes http_transport_full and the code that needs
 * libarchive, openssl or libcurl. The thin berth execs berth-engine, same argv, for every
 * command cli.c's cli_engine_cmds names and for https hosts, so it never reaches these. */
struct cli_env {
        const struct http_transport *http;
        bool engine;                                /* this is berth-engine */
        const struct cli_cmd *const *engine_groups; /* NULL-terminated */
        /* build: the context directory as a tar, for a daemon reached over https */
        int (*tar_context)(const char *dir, const char *inline_name, const char *inline_text,
                           char **ret, size_t *ret_len, struct err **errp);
        /* up in the foreground: follow the stack's logs (curl multi on libev) */
        int (*follow_logs)(const struct http_target *target, const char *stack, struct err **errp);
};

int cli_main(int argc, char **argv, const struct cli_env *env);

/* Replaces the process with berth-engine, same argv: $BERTH_ENGINE, else berth-engine beside
 * /proc/self/exe, else ../libexec/berth/berth-engine from there. Returns only on failure
 * (an exit code, the error reported). */
int cli_exec_engine(char **argv);

/* The path of a berth helper binary (berth-engine, berth-runtime): $ENV_NAME when set, else NAME
 * beside /proc/self/exe, else ../libexec/berth/NAME from there; NULL when none is executable. */
char *cli_helper_path(const char *name, const char *env_name);

/* `berth oci ARGS...` (argv[0] is "oci"): replaces the process with berth-runtime (found by
 * cli_helper_path, $BERTH_RUNTIME). Returns -ENOENT, nothing reported, when it is not installed,
 * else only on failure (an exit code, the error reported). */
int cli_exec_runtime(int argc, char **argv);

/* Reports an error the way every command does ("berth: Failed to ...: cause") and returns the
 * exit code to use. Frees e. */
int cli_report(struct err *e, int exit_code);
