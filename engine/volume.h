/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "macro.h"

/* Named and anonymous volumes of the "local" driver (docker's semantics), kept under
 * <root>/volumes/<name>/: `_data/` holds the content, `volume.json` the record:
 *   {"version":1,"name":..,"driver":"local","labels":{},"options":{},"created":"RFC3339",
 *    "anonymous":false}
 * A volume with options type/device/o is mounted on use (like `docker volume create -o`). */

#define VOL_RECORD_VERSION 1

struct vol {
        char *name;
        char *driver;
        char *dir;        /* <root>/volumes/<name> */
        char *mountpoint; /* <dir>/_data */
        char *created;    /* RFC 3339 */
        json_t *labels;   /* object of strings, owned */
        json_t *options;  /* object of strings, owned: type, device, o */
        bool anonymous;
};

struct vol *vol_free(struct vol *v);
void vol_freep(struct vol **v);

/* True for names docker accepts: [a-zA-Z0-9][a-zA-Z0-9_.-]+ of at most 255 characters. */
bool vol_name_valid(const char *name);

/* Creates a volume. name NULL makes an anonymous volume with a random 64-hex name. labels and
 * options may be NULL; options other than type/device/o are refused. Creating a volume that
 * exists already returns the existing one (returns 0) when the driver matches, as docker does;
 * a new one returns 1. Nothing is left behind on failure. */
int vol_create(const char *root, const char *name, const char *driver, const json_t *labels,
               const json_t *options, bool anonymous, struct vol **ret, struct err **errp);
int vol_get(const char *root, const char *name, struct vol **ret, struct err **errp);
/* Lists every volume, sorted by name. ret is a NULL-terminated array. */
int vol_list(const char *root, struct vol ***ret, struct err **errp);
struct vol **vol_list_free(struct vol **l);
/* Removes a volume. A missing volume is -ENOENT unless force. in_use gives -EBUSY. */
int vol_remove(const char *root, const char *name, bool in_use, bool force, struct err **errp);

/* docker-style inspect JSON (Name, Driver, Mountpoint, CreatedAt, Labels, Options, Scope). */
json_t *vol_to_json(const struct vol *v);

/* Whether `_data` is empty (only then is it filled from the image, like docker). */
int vol_is_empty(const struct vol *v, struct err **errp);
/* Copies the tree at src (a directory inside an image rootfs, opened relative to nothing
 * outside it) into the volume's _data, keeping owners, modes, symlinks and times. Symlinks are
 * copied as links, never followed. */
int vol_copy_from(const struct vol *v, int src_dirfd, struct err **errp);

/* Matches `docker volume ls --filter`: name=SUBSTR, label=K or label=K=V, driver=D,
 * dangling=true|false (in_use says whether a container refers to the volume). Returns 1 for a
 * match, 0 otherwise, -EINVAL for an unknown filter. */
int vol_filter_match(const struct vol *v, const char *filter, bool in_use, struct err **errp);
