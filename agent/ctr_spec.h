/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* Turning a container record (docker's shape: Config, HostConfig, Mounts) into an OCI
 * config.json, and the pure rules behind it (agent/ctr_spec.c). */

/* docker's Entrypoint/Cmd merge: a request Entrypoint that is non-empty replaces the image's and
 * drops the image's Cmd; an empty one ([] or [""]) clears the image's Entrypoint; a request Cmd
 * replaces the image's Cmd. req_* are JSON arrays or NULL (absent). ret_entrypoint and ret_cmd
 * get the effective values (possibly empty vectors); -EINVAL "no command specified" when the
 * result is empty. */
int ctr_resolve_command(const json_t *req_entrypoint, const json_t *req_cmd,
                        char *const *img_entrypoint, char *const *img_cmd, char ***ret_entrypoint,
                        char ***ret_cmd, struct err **errp);

/* The environment: the image's, overridden per key by the request's (array of "K=V" or "K"),
 * with PATH defaulted and HOSTNAME set first as docker does. */
char **ctr_merge_env(char *const *img_env, const json_t *req_env, const char *hostname);

/* Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+, a leading '/' allowed and dropped. */
bool ctr_name_valid(const char *name);
/* docker-like "adjective_surname" from a random number. */
char *ctr_name_generate(uint64_t rnd);

/* /etc/hosts for a container: localhost entries, then "IP\tNAME" per ExtraHosts "NAME:IP". */
char *ctr_hosts_file(const char *hostname, const json_t *extra_hosts);
/* /etc/resolv.conf: from Dns/DnsSearch/DnsOptions when given, else host_resolv (may be NULL). */
char *ctr_resolv_file(const json_t *host_config, const char *host_resolv);

struct ctr_spec_in {
        const json_t *rec; /* the container record */
        const char *rootfs;
        const char *ctr_dir; /* holds hosts, hostname, resolv.conf */
        uid_t uid;           /* resolved Config.User */
        gid_t gid;
        gid_t *gids;
        size_t n_gids;
        const char *netns_path; /* container:NAME network mode, or NULL */
};

/* Builds the OCI config.json. Errors name the HostConfig field. */
/* --init: where berth-init is bind-mounted (read-only) in the container, and where it is on
 * the host (next to the berth binary); ENOENT naming it when it is missing. */
#define CTR_INIT_PATH "/dev/init"
int ctr_init_path(char **ret, struct err **errp);

int ctr_spec_build(const struct ctr_spec_in *in, json_t **ret, struct err **errp);
/* ctr_userns.c: a remapped container's user namespace and maps (none without BerthUserns). */
void ctr_userns_spec(const json_t *rec, json_t *linux_);

/* Resolves "user[:group]" (names or numbers) against the rootfs's /etc/passwd and /etc/group,
 * read inside rootfs_fd. ret_gids gets the supplementary groups of a named user. */
int ctr_resolve_user(int rootfs_fd, const char *user, uid_t *ret_uid, gid_t *ret_gid,
                     gid_t **ret_gids, size_t *ret_n, struct err **errp);
