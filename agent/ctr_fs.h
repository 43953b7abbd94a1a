/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

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

/* agent/ctr_cp.c: export and cp. Host paths are absolute paths on the daemon's host (as in the
 * images API); container paths are resolved in the container's root file system with
 * openat2(RESOLVE_IN_ROOT) so that no symlink inside the container leads out of it. A stopped
 * container's overlay is mounted for the operation and unmounted after. */

/* Writes a tar of the container's merged file system to host_path (via host_path.tmp). */
int ctr_export(struct ctr *c, const char *host_path, struct err **errp);

struct ctr_cp_opts {
        bool follow;  /* -L: follow a symlink in SRC */
        bool archive; /* -a: keep uid/gid (otherwise the copies belong to root) */
};
/* docker cp CONTAINER:src host_dest, with docker's rules for directories and a trailing "/.". */
int ctr_copy_out(struct ctr *c, const char *src, const char *host_dest, const struct ctr_cp_opts *o,
                 struct err **errp);
/* docker cp host_src CONTAINER:dest. */
int ctr_copy_in(struct ctr *c, const char *host_src, const char *dest, const struct ctr_cp_opts *o,
                struct err **errp);

/* The container's merged root (agent/ctr_cp.c): mounted for the operation when the container
 * is stopped (ctr_root_done() unmounts it then). */
struct ctr_root {
        struct ctr *c;
        int fd;
        char *path;
        bool unmount;
};
int ctr_root_open(struct ctr *c, struct ctr_root *ret, struct err **errp);
void ctr_root_done(struct ctr_root *r);
/* The same for cp and the archive routes: a running container's root is /proc/PID/root (what
 * its processes see, volumes and bind mounts included); a stopped one's is the merged overlay
 * (without its volumes). */
int ctr_root_open_live(struct ctr *c, struct ctr_root *ret, struct err **errp);

/* agent/ctr_archive.c: docker's archive routes. */
struct ctr_archive_put_opts {
        bool copy_uid_gid;             /* owners from the archive (else the container's root) */
        bool no_overwrite_dir_non_dir; /* docker's noOverwriteDirNonDir */
        uid_t root_uid;                /* the container's root on the host (userns remap) */
        gid_t root_gid;
        /* berth cp: path is the cp destination (docker's rules: an existing directory receives
         * the archive, otherwise its parent does with the top entry name renamed to path's last
         * component); the archive's top entry is name ("." for a directory's contents) */
        bool cp;
        const char *name;
        bool src_dir;
        /* internal: the top entry's rename */
        const char *rename_from, *rename_to;
};
/* The host uid/gid of the container's root (0 without a user namespace remap). */
void ctr_root_ids(const struct ctr *c, uid_t *ret_uid, gid_t *ret_gid);
/* PUT /containers/{id}/archive?path=: extracts the tar read from fd into path (an existing
 * directory, or with o->cp the cp destination). */
int ctr_archive_put(struct ctr *c, const char *path, int fd, const struct ctr_archive_put_opts *o,
                    struct err **errp);
/* GET/HEAD: writes the tar of path (top entry: its name; "PATH/." or "/": its contents) to out_fd
 * (when >= 0) and returns docker's X-Docker-Container-Path-Stat value (base64 JSON). */
int ctr_archive_get(struct ctr *c, const char *path, int out_fd, char **ret_stat,
                    struct err **errp);
