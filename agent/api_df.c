/* SPDX-License-Identifier: Apache-2.0 */
/* Disk usage and pruning: GET /v1/system/df, POST /v1/volumes/prune. Container and image prune
 * are client-driven over the existing list/remove routes (cli/ctrfs.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "containers.h"
#include "ctr_internal.h"
#include "image/layer.h"
#include "image/ref.h"
#include "image/store.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

#define DU_MAX_DEPTH 256

/* Apparent size of the tree below dfd (files and symlinks), never following symlinks. */
static uint64_t du_at(int dfd, unsigned depth) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        uint64_t sum = 0;
        int fd;

        if (depth > DU_MAX_DEPTH)
                return 0;
        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dirfd(d), de->d_name,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                sum += du_at(sub, depth + 1);
                } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
                        sum += (uint64_t)st.st_size;
        }
        return sum;
}

static uint64_t du(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? 0 : du_at(fd, 0);
}

/* Number of containers using the image id / the volume name. */
static unsigned image_users(struct ctr **v, size_t n, const char *id) {
        unsigned k = 0;

        for (size_t i = 0; i < n; i++)
                if (streq(json_get_str(v[i]->rec, "Image", ""), id))
                        k++;
        return k;
}

static unsigned volume_users(struct ctr **v, size_t n, const char *name) {
        unsigned k = 0;

        for (size_t i = 0; i < n; i++) {
                json_t *m;
                size_t j;
                json_array_foreach (json_object_get(v[i]->rec, "Mounts"), j, m)
                        if (streq(json_get_str(m, "Type", ""), "volume") &&
                            streq(json_get_str(m, "Name", ""), name)) {
                                k++;
                                break;
                        }
        }
        return k;
}

static json_t *df_images(struct daemon *d, struct ctr **cv, size_t cn, struct err **errp) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_json_ json_t *out = json_array(), *seen = json_object(), *active = json_object();
        struct image **l = NULL;
        size_t n = 0;
        uint64_t total = 0, used = 0;
        json_t *res;

        if (image_store_open(d->root, &s, errp) < 0 || image_store_list(s, &l, &n, errp) < 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_t *tags = json_array();
                unsigned users = image_users(cv, cn, l[i]->id);

                STRV_FOREACH (r, l[i]->refs) {
                        _cleanup_(ref_freep) struct image_ref *p = NULL;
                        _cleanup_free_ char *f = NULL;
                        if (ref_parse(*r, &p, NULL) < 0)
                                continue;
                        f = ref_familiar(p);
                        json_array_append_new(tags, json_string(f));
                }
                STRV_FOREACH (c, l[i]->chain_ids) {
                        uint64_t sz = layer_stored_size(s, *c);
                        if (!json_object_get(seen, *c)) {
                                json_object_set_new(seen, *c, json_true());
                                total += sz;
                        }
                        if (users > 0 && !json_object_get(active, *c)) {
                                json_object_set_new(active, *c, json_true());
                                used += sz;
                        }
                }
                json_array_append_new(out,
                                      json_pack("{s:s,s:o,s:s,s:I,s:i}", "Id", l[i]->id, "RepoTags",
                                                tags, "Created", l[i]->created, "Size",
                                                (json_int_t)l[i]->size, "Containers", (int)users));
        }
        image_list_free(l, n);
        res = json_pack("{s:O,s:I,s:I}", "Images", out, "LayersSize", (json_int_t)total,
                        "ImagesReclaimable", (json_int_t)(total - used));
        return res;
}

static void h_df(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *out = NULL, *ctrs = json_array(), *vols = json_array();
        struct vol **vl = NULL;
        struct ctr **cv;
        size_t cn = ctr_all(d->ctrs, &cv);
        uint64_t ctr_reclaim = 0, vol_total = 0, vol_reclaim = 0, ctr_total = 0;

        out = df_images(d, cv, cn, &e);
        if (!out) {
                http_reply_err(req, e);
                return;
        }
        for (size_t i = 0; i < cn; i++) {
                _cleanup_free_ char *upper = xasprintf("%s/upper", cv[i]->dir);
                uint64_t sz = du(upper);
                bool running = ctr_running(cv[i]);

                ctr_total += sz;
                if (!running)
                        ctr_reclaim += sz;
                json_array_append_new(ctrs,
                                      json_pack("{s:s,s:[s],s:s,s:I,s:s}", "Id", cv[i]->id, "Names",
                                                json_get_str(cv[i]->rec, "Name", ""), "Image",
                                                json_get_str(cv[i]->rec, "ImageName", ""), "SizeRw",
                                                (json_int_t)sz, "State",
                                                json_get_str(ctr_state(cv[i]), "Status", "")));
        }
        if (vol_list(d->root, &vl, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        for (size_t i = 0; vl && vl[i]; i++) {
                uint64_t sz = du(vl[i]->mountpoint);
                unsigned users = volume_users(cv, cn, vl[i]->name);

                vol_total += sz;
                if (users == 0)
                        vol_reclaim += sz;
                json_array_append_new(vols, json_pack("{s:s,s:s,s:I,s:i}", "Name", vl[i]->name,
                                                      "Mountpoint", vl[i]->mountpoint, "Size",
                                                      (json_int_t)sz, "RefCount", (int)users));
        }
        vol_list_free(vl);
        json_object_set(out, "Containers", ctrs);
        json_object_set_new(out, "ContainersSize", json_integer((json_int_t)ctr_total));
        json_object_set_new(out, "ContainersReclaimable", json_integer((json_int_t)ctr_reclaim));
        json_object_set(out, "Volumes", vols);
        json_object_set_new(out, "VolumesSize", json_integer((json_int_t)vol_total));
        json_object_set_new(out, "VolumesReclaimable", json_integer((json_int_t)vol_reclaim));
        /* the builder's cache lives elsewhere (engine/build); none is kept by this daemon yet */
        json_object_set_new(out, "BuildCache", json_array());
        http_reply_json(req, 200, out);
}

const struct http_route api_df_routes[] = {
        {"GET", "/v1/system/df", h_df},
        {},
};
