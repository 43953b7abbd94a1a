/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "fileio.h"
#include "json.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

#define VOL_RECORD_MAX (256u << 10)

struct vol *vol_free(struct vol *v) {
        if (!v)
                return NULL;
        free(v->name);
        free(v->driver);
        free(v->dir);
        free(v->mountpoint);
        free(v->created);
        if (v->labels)
                json_decref(v->labels);
        if (v->options)
                json_decref(v->options);
        free(v);
        return NULL;
}

void vol_freep(struct vol **v) {
        *v = vol_free(*v);
}

struct vol **vol_list_free(struct vol **l) {
        if (l) {
                for (struct vol **p = l; *p; p++)
                        vol_free(*p);
                free(l);
        }
        return NULL;
}

bool vol_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n < 2 || n > 255 || !isalnum((unsigned char)name[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
                        return false;
        return true;
}

static char *rfc3339_now(void) {
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

static int check_string_map(const json_t *o, const char *what, struct err **errp) {
        const char *k;
        json_t *v;

        if (!o)
                return 0;
        if (!json_is_object(o))
                return err_setx(errp, EINVAL, "%s must be an object of strings", what);
        json_object_foreach ((json_t *)o, k, v) {
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL, "%s '%s': value must be a string", what, k);
        }
        return 0;
}

static int vol_from_json(const char *root, const char *name, const json_t *j, struct vol **ret,
                         struct err **errp) {
        _cleanup_(vol_freep) struct vol *v = NULL;
        json_t *labels = json_object_get(j, "labels"), *opts = json_object_get(j, "options");

        if (json_get_int(j, "version", 0) != VOL_RECORD_VERSION)
                return err_setx(errp, EINVAL, "volume '%s': unsupported record version", name);
        if (!streq_ptr(json_get_str(j, "name", NULL), name))
                return err_setx(errp, EINVAL, "volume '%s': record names another volume", name);
        v = xnew0(struct vol, 1);
        v->name = xstrdup(name);
        v->driver = xstrdup(json_get_str(j, "driver", "local"));
        v->dir = xasprintf("%s/volumes/%s", root, name);
        v->mountpoint = xasprintf("%s/_data", v->dir);
        v->created = xstrdup(json_get_str(j, "created", ""));
        v->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        v->options = json_is_object(opts) ? json_deep_copy(opts) : json_object();
        v->anonymous = json_get_bool(j, "anonymous", false);
        *ret = TAKE_PTR(v);
        return 0;
}

int vol_get(const char *root, const char *name, struct vol **ret, struct err **errp) {
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!vol_name_valid(name))
                return err_setx(errp, EINVAL,
                                "invalid volume name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                "allowed",
                                name ? name : "");
        path = xasprintf("%s/volumes/%s/volume.json", root, name);
        r = json_load_path(path, VOL_RECORD_MAX, &j, &e);
        if (r == -ENOENT)
                return err_setx(errp, ENOENT, "no such volume: %s", name);
        if (r < 0)
                return err_move(errp, TAKE_PTR(e));
        return vol_from_json(root, name, j, ret, errp);
}

json_t *vol_to_json(const struct vol *v) {
        json_t *j = json_object();

        json_object_set_new(j, "Name", json_string(v->name));
        json_object_set_new(j, "Driver", json_string(v->driver));
        json_object_set_new(j, "Mountpoint", json_string(v->mountpoint));
        json_object_set_new(j, "CreatedAt", json_string(v->created));
        json_object_set(j, "Labels", v->labels);
        json_object_set(j, "Options", v->options);
        json_object_set_new(j, "Scope", json_string("local"));
        json_object_set_new(j, "Anonymous", json_boolean(v->anonymous));
        return j;
}

int vol_create(const char *root, const char *name, const char *driver, const json_t *labels,
               const json_t *options, bool anonymous, struct vol **ret, struct err **errp) {
        _cleanup_free_ char *gen = NULL, *dir = NULL, *tmpdir = NULL, *data = NULL, *voldir = NULL;
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_(vol_freep) struct vol *v = NULL;
        _cleanup_free_ char *created = NULL;
        const char *k;
        json_t *val;
        int r;

        if (!driver || !*driver)
                driver = "local";
        if (!streq(driver, "local"))
                return err_setx(errp, EINVAL, "volume driver '%s' is not supported (only 'local')",
                                driver);
        if (!name) {
                gen = random_hex(32);
                name = gen;
                anonymous = true;
        }
        if (!vol_name_valid(name))
                return err_setx(errp, EINVAL,
                                "invalid volume name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                "allowed",
                                name);
        r = check_string_map(labels, "label", errp);
        if (r < 0)
                return r;
        r = check_string_map(options, "option", errp);
        if (r < 0)
                return r;
        if (options)
                json_object_foreach ((json_t *)options, k, val) {
                        if (!streq(k, "type") && !streq(k, "device") && !streq(k, "o"))
                                return err_setx(errp, EINVAL,
                                                "invalid option '%s' for the local volume "
                                                "driver: only type, device and o",
                                                k);
                }

        /* Existing volume: docker returns it unchanged. */
        r = vol_get(root, name, &v, NULL);
        if (r == 0) {
                *ret = TAKE_PTR(v);
                return 0;
        }

        voldir = xasprintf("%s/volumes", root);
        r = mkdir_p(voldir, 0711, errp);
        if (r < 0)
                return r;
        /* Build the whole volume under a temporary name, then rename it into place, so a crash
         * or a failure leaves nothing that looks like a volume. */
        tmpdir = xasprintf("%s/.tmp-%s", voldir, name);
        (void)rm_rf(tmpdir, NULL);
        if (mkdir(tmpdir, 0701) < 0)
                return err_set(errp, errno, "create '%s'", tmpdir);
        data = xasprintf("%s/_data", tmpdir);
        if (mkdir(data, 0755) < 0) {
                r = err_set(errp, errno, "create '%s'", data);
                goto fail;
        }
        created = rfc3339_now();
        rec = json_pack("{s:i,s:s,s:s,s:s,s:b}", "version", VOL_RECORD_VERSION, "name", name,
                        "driver", driver, "created", created, "anonymous", anonymous);
        json_object_set_new(rec, "labels", labels ? json_deep_copy(labels) : json_object());
        json_object_set_new(rec, "options", options ? json_deep_copy(options) : json_object());
        free(data);
        data = xasprintf("%s/volume.json", tmpdir);
        r = json_save_path(data, rec, errp);
        if (r < 0)
                goto fail;
        dir = xasprintf("%s/%s", voldir, name);
        if (rename(tmpdir, dir) < 0) {
                r = err_set(errp, errno, "create volume '%s'", name);
                goto fail;
        }
        r = vol_from_json(root, name, rec, ret, errp);
        return r < 0 ? r : 1;
fail:
        (void)rm_rf(tmpdir, NULL);
        return r;
}

static int vol_cmp(const void *a, const void *b) {
        return strcmp((*(struct vol *const *)a)->name, (*(struct vol *const *)b)->name);
}

int vol_list(const char *root, struct vol ***ret, struct err **errp) {
        _cleanup_free_ char *dir = xasprintf("%s/volumes", root);
        _cleanup_closedir_ DIR *d = NULL;
        struct vol **l = xnew0(struct vol *, 1);
        size_t n = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = l;
                        return 0;
                }
                vol_list_free(l);
                return err_set(errp, errno, "open '%s'", dir);
        }
        while ((de = readdir(d))) {
                struct vol *v = NULL;

                if (de->d_name[0] == '.' || !vol_name_valid(de->d_name))
                        continue;
                /* A broken record is skipped here; inspect reports it. */
                if (vol_get(root, de->d_name, &v, NULL) < 0)
                        continue;
                l = xreallocarray(l, n + 2, sizeof(*l));
                l[n++] = v;
                l[n] = NULL;
        }
        qsort_safe(l, n, sizeof(*l), vol_cmp);
        *ret = l;
        return 0;
}

int vol_remove(const char *root, const char *name, bool in_use, bool force, struct err **errp) {
        _cleanup_(vol_freep) struct vol *v = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *tomb = NULL;
        int r;

        r = vol_get(root, name, &v, &e);
        if (r == -ENOENT && force)
                return 0;
        if (r < 0)
                return err_move(errp, TAKE_PTR(e));
        if (in_use)
                return err_setx(errp, EBUSY, "remove volume '%s': volume is in use", name);
        /* Rename first so a half-removed volume is never listed. */
        tomb = xasprintf("%s/volumes/.rm-%s", root, name);
        (void)rm_rf(tomb, NULL);
        if (rename(v->dir, tomb) < 0)
                return err_set(errp, errno, "remove volume '%s'", name);
        r = rm_rf(tomb, errp);
        if (r < 0)
                return err_wrap(errp, "remove volume '%s'", name);
        return 1;
}

int vol_is_empty(const struct vol *v, struct err **errp) {
        _cleanup_closedir_ DIR *d = opendir(v->mountpoint);
        struct dirent *de;

        if (!d)
                return err_set(errp, errno, "open '%s'", v->mountpoint);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        return 0;
        return 1;
}

int vol_copy_from(const struct vol *v, int src_dirfd, struct err **errp) {
        _cleanup_close_ int dfd = -EBADF;
        struct stat st;
        int r;

        dfd = open(v->mountpoint, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return err_set(errp, errno, "open '%s'", v->mountpoint);
        r = copy_tree_at(src_dirfd, dfd, errp);
        if (r < 0)
                return err_wrap(errp, "fill volume '%s'", v->name);
        /* The volume root takes the owner and mode of the image directory, as docker does. */
        if (fstat(src_dirfd, &st) == 0) {
                (void)fchown(dfd, st.st_uid, st.st_gid);
                (void)fchmod(dfd, st.st_mode & 07777);
        }
        return 0;
}

int vol_filter_match(const struct vol *v, const char *filter, bool in_use, struct err **errp) {
        const char *eq = strchr(filter, '=');
        _cleanup_free_ char *key = NULL;
        const char *val;

        if (!eq)
                return err_setx(errp, EINVAL, "bad filter '%s': expected KEY=VALUE", filter);
        key = xstrndup(filter, (size_t)(eq - filter));
        val = eq + 1;
        if (streq(key, "name"))
                return strstr(v->name, val) != NULL;
        if (streq(key, "driver"))
                return streq(v->driver, val);
        if (streq(key, "dangling")) {
                if (streq(val, "true") || streq(val, "1"))
                        return !in_use;
                if (streq(val, "false") || streq(val, "0"))
                        return in_use;
                return err_setx(errp, EINVAL, "bad filter '%s': dangling takes true or false",
                                filter);
        }
        if (streq(key, "label")) {
                const char *eq2 = strchr(val, '=');
                _cleanup_free_ char *lk = eq2 ? xstrndup(val, (size_t)(eq2 - val)) : xstrdup(val);
                json_t *lv = json_object_get(v->labels, lk);

                if (!lv)
                        return 0;
                return !eq2 || streq_ptr(json_string_value(lv), eq2 + 1);
        }
        return err_setx(errp, EINVAL, "invalid filter '%s'", key);
}
