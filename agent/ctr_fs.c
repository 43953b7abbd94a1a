/* SPDX-License-Identifier: Apache-2.0 */
/* commit and diff: both read the container's overlay upper dir (<dir>/upper). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_fs.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "image/archive.h"
#include "image/layer_write.h"
#include "image/ref.h"
#include "json.h"
#include "runtime/init.h"
#include "strv.h"
#include "xalloc.h"

#define DIFF_MAX_DEPTH 256

/* Container config keys that override the image's in a committed image. */
static const char *const commit_keys[] = {
        "Cmd",    "Entrypoint",   "Env",     "WorkingDir", "User",
        "Labels", "ExposedPorts", "Volumes", "StopSignal", "Healthcheck",
};

static char *upper_dir(const struct ctr *c) {
        return xasprintf("%s/upper", c->dir);
}

/* The command line the container runs, for the history entry ("created_by"). */
static char *ctr_command_line(const struct ctr *c) {
        _cleanup_strv_ char **words = NULL;
        json_t *v;
        size_t i;

        strv_push(&words, json_get_str(c->rec, "Path", ""));
        json_array_foreach (json_object_get(c->rec, "Args"), i, v)
                if (json_is_string(v))
                        strv_push(&words, json_string_value(v));
        return strv_join(words, " ");
}

static int new_config(struct ctr *c, const struct ctr_commit_opts *o, const char *diff_id,
                      char **ret_digest, struct err **errp) {
        struct image_store *s = c->m->images;
        const char *image_id = json_get_str(c->rec, "Image", "");
        const json_t *ccfg = json_object_get(c->rec, "Config");
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_free_ char *buf = NULL, *now = ctr_now_str(), *cmdline = NULL, *text = NULL;
        json_t *config, *rootfs, *diff_ids, *history, *h;
        size_t len;
        int r;

        r = image_store_read_blob(s, image_id, BLOB_CONFIG_MAX, &buf, &len, errp);
        if (r < 0)
                return err_wrap(errp, "read the config of image %s", image_id);
        r = json_parse(buf, len, "image config", &cfg, errp);
        if (r < 0)
                return r;
        if (!json_is_object(cfg))
                return err_setx(errp, EINVAL, "image %s: the config is not an object", image_id);
        config = json_object_get(cfg, "config");
        if (!json_is_object(config)) {
                config = json_object();
                json_object_set_new(cfg, "config", config);
        }
        for (size_t i = 0; i < ELEMENTSOF(commit_keys); i++) {
                json_t *v = json_object_get(ccfg, commit_keys[i]);
                if (!v)
                        continue;
                if (json_is_null(v))
                        json_object_del(config, commit_keys[i]);
                else
                        json_object_set(config, commit_keys[i], v);
        }
        r = image_apply_changes(config, o->changes, errp);
        if (r < 0)
                return r;
        rootfs = json_object_get(cfg, "rootfs");
        if (!json_is_object(rootfs)) {
                rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
                json_object_set_new(cfg, "rootfs", rootfs);
        }
        diff_ids = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(diff_ids)) {
                diff_ids = json_array();
                json_object_set_new(rootfs, "diff_ids", diff_ids);
        }
        json_array_append_new(diff_ids, json_string(diff_id));
        history = json_object_get(cfg, "history");
        if (!json_is_array(history)) {
                history = json_array();
                json_object_set_new(cfg, "history", history);
        }
        cmdline = ctr_command_line(c);
        h = json_pack("{s:s,s:s}", "created", now, "created_by", cmdline);
        if (o->author && o->author[0])
                json_object_set_new(h, "author", json_string(o->author));
        if (o->comment && o->comment[0])
                json_object_set_new(h, "comment", json_string(o->comment));
        json_array_append_new(history, h);
        json_object_set_new(cfg, "created", json_string(now));
        if (o->author && o->author[0])
                json_object_set_new(cfg, "author", json_string(o->author));
        else
                json_object_del(cfg, "author");
        json_object_set_new(cfg, "container", json_string(c->id));
        text = json_dump_str(cfg, false);
        return image_store_put_blob(s, text, strlen(text), NULL, ret_digest, errp);
}

int ctr_commit(struct ctr *c, const struct ctr_commit_opts *o, char **ret_id, struct err **errp) {
        struct image_store *s = c->m->images;
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_(ref_freep) struct image_ref *ref = NULL;
        _cleanup_free_ char *full = NULL, *upper = upper_dir(c), *layer = NULL, *cdigest = NULL;
        _cleanup_free_ char *diff_id = NULL;
        _cleanup_strv_ char **layers = NULL, **refs = NULL;
        _cleanup_close_ int hold = -EBADF;
        _cleanup_(image_freep) struct image *out = NULL;
        bool paused = false;
        int r;

        if (o->ref && o->ref[0]) {
                r = ref_parse(o->ref, &ref, errp);
                if (r < 0)
                        return r;
                if (ref->digest)
                        return err_setx(errp, EINVAL,
                                        "invalid reference '%s': commit cannot tag a digest",
                                        o->ref);
                full = ref_full(ref);
                strv_push(&refs, full);
        }
        {
                /* validate the changes before anything is written */
                _cleanup_json_ json_t *probe = json_object();
                r = image_apply_changes(probe, o->changes, errp);
                if (r < 0)
                        return r;
        }
        r = image_store_get(s, json_get_str(c->rec, "Image", ""), &img, errp);
        if (r < 0)
                return err_wrap(errp, "the image of container %s", c->id);
        hold = image_store_hold(s, errp);
        if (hold < 0)
                return hold;
        if (mkdir(upper, 0755) < 0 && errno != EEXIST)
                return err_set(errp, errno, "create '%s'", upper);
        if (o->pause && ctr_running(c) && !json_get_bool(ctr_state(c), "Paused", false)) {
                r = ctr_pause(c, true, errp);
                if (r < 0)
                        return err_wrap(errp, "pause container %s", c->id);
                paused = true;
        }
        r = layer_from_dir_gz(s, upper, &layer, &diff_id, NULL, errp);
        if (paused)
                (void)ctr_pause(c, false, NULL);
        if (r < 0)
                return err_wrap(errp, "commit container %s", c->id);
        r = new_config(c, o, diff_id, &cdigest, errp);
        if (r < 0)
                return err_wrap(errp, "commit container %s", c->id);
        layers = strv_copy(img->layers);
        strv_push(&layers, layer);
        r = image_register(s, cdigest, layers, NULL, refs, &out, errp);
        if (r < 0)
                return err_wrap(errp, "commit container %s", c->id);
        *ret_id = TAKE_PTR(out->id);
        return 0;
}

/* ---- diff ---- */

/* Whether rel exists in the image (the lower dirs, top first, honouring whiteouts and opaque
 * directories of upper layers). */
static bool in_lowers(const int *lower_fds, const char *rel) {
        _cleanup_free_ char *parent = xstrdup(rel);
        char *slash = strrchr(parent, '/');
        const char *name = slash ? slash + 1 : rel;

        if (slash)
                *slash = 0;
        for (size_t i = 0; lower_fds[i] >= 0; i++) {
                _cleanup_close_ int pfd = -EBADF;
                struct stat st;
                char v[2];

                pfd = slash ? rt_open_in_root(lower_fds[i], parent, false, false)
                            : openat(lower_fds[i], ".", O_PATH | O_CLOEXEC);
                if (pfd < 0)
                        continue;
                if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
                                return false;
                        return true;
                }
                if (slash) {
                        _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", pfd);
                        if (getxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y')
                                return false;
                }
        }
        return false;
}

struct diff_walk {
        int *lower_fds;
        json_t *out;
};

static int diff_dir(struct diff_walk *w, int dfd, const char *prefix, bool added, unsigned depth,
                    struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd;

        if (depth > DIFF_MAX_DEPTH)
                return err_setx(errp, ENAMETOOLONG, "'%s': too deep", prefix);
        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", prefix[0] ? prefix : "/");
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return err_set(errp, ENOMEM, "open '%s'", prefix);
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *rel = NULL;
                struct stat st;
                int kind;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                rel = prefix[0] ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "stat '/%s'", rel);
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
                        kind = 2;
                else if (added || !in_lowers(w->lower_fds, rel))
                        kind = 1;
                else
                        kind = 0;
                json_array_append_new(w->out,
                                      json_pack("{s:s+,s:i}", "Path", "/", rel, "Kind", kind));
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dirfd(d), de->d_name,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        int r;
                        if (sub < 0)
                                return err_set(errp, errno, "open '/%s'", rel);
                        r = diff_dir(w, sub, rel, kind == 1, depth + 1, errp);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int path_cmp(const void *a, const void *b) {
        return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "Path")),
                      json_string_value(json_object_get(*(json_t *const *)b, "Path")));
}

int ctr_changes(struct ctr *c, json_t **ret, struct err **errp) {
        _cleanup_free_ char *upper = upper_dir(c);
        _cleanup_free_ int *fds = NULL;
        _cleanup_close_ int ufd = -EBADF;
        _cleanup_json_ json_t *out = json_array();
        _cleanup_free_ json_t **v = NULL;
        json_t *lowers = json_object_get(c->rec, "BerthLowerDirs"), *x;
        size_t n = json_array_size(lowers), i;
        struct diff_walk w = {.out = out};
        int r = 0;

        ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ufd < 0) {
                if (errno != ENOENT)
                        return err_set(errp, errno, "open '%s'", upper);
                *ret = TAKE_PTR(out); /* never started: no changes */
                return 0;
        }
        fds = xnew(int, n + 1);
        for (i = 0; i <= n; i++)
                fds[i] = -EBADF;
        json_array_foreach (lowers, i, x) {
                fds[i] = open(json_string_value(x) ?: "", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fds[i] < 0) {
                        r = err_set(errp, errno, "open image layer '%s'", json_string_value(x));
                        break;
                }
        }
        w.lower_fds = fds;
        if (r >= 0)
                r = diff_dir(&w, ufd, "", false, 0, errp);
        for (i = 0; i < n; i++)
                safe_close(fds[i]);
        if (r < 0)
                return err_wrap(errp, "diff container %s", c->id);
        n = json_array_size(out);
        v = xnew(json_t *, n + 1);
        json_array_foreach (out, i, x)
                v[i] = json_incref(x);
        qsort_safe(v, n, sizeof(*v), path_cmp);
        *ret = json_array();
        for (i = 0; i < n; i++)
                json_array_append_new(*ret, v[i]);
        return 0;
}
