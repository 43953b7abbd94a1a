/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "image/store.h"

/* Distribution API v2 client (libcurl). HTTPS with the system CAs by default, plus the host's
 * own CA and client certificate from <certs_dir>/<host[:port]>/{ca.crt,client.cert,client.key}
 * (docker's certs.d layout). Loopback registries (127.0.0.0/8, ::1, localhost) and the hosts
 * listed in `insecure` are tried over HTTPS first and use plain HTTP only when the server does
 * not speak TLS at all; a certificate that fails verification is an error, never a downgrade.
 * A host with a certs directory is HTTPS only.
 * Anonymous, Basic and Bearer-token auth; credentials come from <root>/auth.json in docker's
 * config.json format. Calls block: the agent runs them in a forked helper. */

typedef void registry_progress_fn(void *userdata, const char *digest, uint64_t done,
                                  uint64_t total);

#define REGISTRY_CERTS_DIR "/etc/berth/certs.d"

struct pull_opts {
        const char *os, *arch, *variant; /* NULL: this machine */
        char **insecure;                 /* "host[:port]" allowed over plain HTTP */
        const char *certs_dir;           /* NULL: REGISTRY_CERTS_DIR */
        registry_progress_fn *progress;
        void *userdata;
        unsigned max_parallel; /* concurrent layer downloads; 0 = 4 */
        unsigned retries;      /* per request, for 5xx and connection failures; 0 = 3 */
        unsigned backoff_ms;   /* first retry delay, doubled each time; 0 = 250 */
        bool no_stream_unpack; /* unpack after each download instead of while it streams */
};

struct push_opts {
        char **insecure;
        const char *certs_dir; /* NULL: REGISTRY_CERTS_DIR */
        registry_progress_fn *progress;
        void *userdata;
        const char *mount_from; /* repository path on the same registry to mount blobs from */
        uint64_t chunk_size;    /* 0: monolithic upload, else PATCH chunks of this size */
        unsigned retries;
        unsigned backoff_ms;
        unsigned max_parallel; /* concurrent blob uploads (forked workers); 0 = 4 */
};

/* Pulls ref into the store: manifest (index resolved to this platform), config, layers
 * downloaded in parallel. Each layer is extracted while it downloads, by a forked extractor fed
 * through a socket (the blob and diff id are verified before the extracted layer is moved into
 * place); with no_stream_unpack, right after its download instead. The image is registered only
 * after every digest was checked; on error nothing is registered. Forks and reaps its own
 * children: call it from a process that is not an event loop (the agent's helper). */
int image_pull(struct image_store *s, const char *ref, const struct pull_opts *o,
               struct image **ret, struct err **errp);

/* Pushes the image named `name` to dest (NULL: name itself): blobs the registry lacks (HEAD),
 * cross-repository mounts when mount_from is set, then the manifest. */
int image_push(struct image_store *s, const char *name, const char *dest, const struct push_opts *o,
               struct err **errp);

/* Verifies user/password against host (GET /v2/, following a Bearer challenge) and stores them
 * in <root>/auth.json (mode 0600). */
int registry_login(const char *root, const char *host, const char *user, const char *password,
                   char **insecure, const char *certs_dir, struct err **errp);
/* Removes host from auth.json. 1 when removed, 0 when there was nothing stored. */
int registry_logout(const char *root, const char *host, struct err **errp);
/* Credentials stored for host; -ENOENT when none. */
int registry_credentials(const char *root, const char *host, char **ret_user, char **ret_password,
                         struct err **errp);

/* Parses a WWW-Authenticate value: scheme ("Bearer"/"Basic") and the realm/service/scope
 * parameters (NULL when absent). Exposed for tests. */
struct auth_challenge {
        char *scheme, *realm, *service, *scope;
};
int auth_challenge_parse(const char *header, struct auth_challenge *ret, struct err **errp);
void auth_challenge_done(struct auth_challenge *c);

/* True for localhost, 127.0.0.0/8 and ::1 (with or without a port). */
bool registry_host_is_loopback(const char *host);
