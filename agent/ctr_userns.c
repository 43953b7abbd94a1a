/* SPDX-License-Identifier: Apache-2.0 */
/* Daemon-wide user namespace remap (docker's --userns-remap): container root is an unprivileged
 * host uid taken from /etc/subuid and /etc/subgid.
 *
 * - "default" uses the user and group "berth-remap", created (a system user without a home)
 *   with a 65536-id range after the highest range in use when they have none; "USER[:GROUP]"
 *   (names or numbers) uses that user's first ranges.
 * - Image layers are not idmapped: each remap gets its own chowned copy of every lower layer
 *   (<root>/userns/UID.GID/<layer>/diff, made once, atomically by rename; ids shifted by the
 *   range start, setuid/setgid bits and the overlay "opaque" mark kept).
 * - A remapped container's upper directory and its empty volumes belong to the mapped root; its
 *   directory is searchable (0711) so that the remapped init can reach its root file system.
 * - HostConfig.UsernsMode "host" opts a container out; --privileged needs it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "image/store.h"
#include "json.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

#define REMAP_DEFAULT_USER "berth-remap"
#define REMAP_DEFAULT_SIZE 65536u
#define SUBID_FIRST 100000u

/* The first range of name (or of the number id, when >= 0) in file; 0 found, -ENOENT. */
static int subid_lookup(const char *file, const char *name, long id, uint32_t *ret_start,
                        uint32_t *ret_n, uint32_t *ret_max_end) {
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        bool found = false;

        *ret_max_end = SUBID_FIRST;
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0) {
                char who[256];
                unsigned long start, n;

                if (sscanf(line, "%255[^:]:%lu:%lu", who, &start, &n) != 3)
                        continue;
                if (start + n > *ret_max_end && start + n <= UINT32_MAX)
                        *ret_max_end = (uint32_t)(start + n);
                if (found || !(streq(who, name) || (id >= 0 && strtol(who, NULL, 10) == id &&
                                                    who[strspn(who, "0123456789")] == 0)))
                        continue;
                if (n == 0 || start + n > UINT32_MAX)
                        continue;
                *ret_start = (uint32_t)start;
                *ret_n = (uint32_t)n;
                found = true;
        }
        return found ? 0 : -ENOENT;
}

static int subid_add(const char *file, const char *name, uint32_t start, uint32_t n,
                     struct err **errp) {
        _cleanup_close_ int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        _cleanup_free_ char *line = xasprintf("%s:%u:%u\n", name, start, n);

        if (fd < 0 || fd_write_full(fd, line, strlen(line)) < 0)
                return err_set(errp, errno, "userns-remap: add '%s' to '%s'", name, file);
        return 0;
}

/* "default": the berth-remap user (useradd --system) and its ranges. */
static int remap_default(struct err **errp) {
        uint32_t s, n, end_u, end_g;

        if (!getpwnam(REMAP_DEFAULT_USER)) {
                pid_t pid = fork();
                int st;

                if (pid < 0)
                        return err_set(errp, errno, "fork");
                if (pid == 0) {
                        int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (nfd >= 0) {
                                (void)dup2(nfd, 0);
                                (void)dup2(nfd, 1);
                        }
                        execlp("useradd", "useradd", "--system", "--no-create-home", "--shell",
                               "/usr/sbin/nologin", "--user-group", REMAP_DEFAULT_USER,
                               (char *)NULL);
                        _exit(127);
                }
                if (RETRY_EINTR(waitpid(pid, &st, 0)) < 0 || !WIFEXITED(st) ||
                    (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 9 /* exists */))
                        return err_setx(errp, EIO,
                                        "userns-remap: could not create the user '%s' (useradd "
                                        "failed)",
                                        REMAP_DEFAULT_USER);
        }
        (void)subid_lookup("/etc/subgid", "", -1, &s, &n, &end_g);
        if (subid_lookup("/etc/subuid", REMAP_DEFAULT_USER, -1, &s, &n, &end_u) == -ENOENT) {
                int r = subid_add("/etc/subuid", REMAP_DEFAULT_USER, MAX(end_u, end_g),
                                  REMAP_DEFAULT_SIZE, errp);
                if (r < 0)
                        return r;
        }
        (void)subid_lookup("/etc/subuid", "", -1, &s, &n, &end_u);
        if (subid_lookup("/etc/subgid", REMAP_DEFAULT_USER, -1, &s, &n, &end_g) == -ENOENT) {
                uint32_t us = 0, un = 0, e2;

                /* the same numbers as the uid range when they are free */
                (void)subid_lookup("/etc/subuid", REMAP_DEFAULT_USER, -1, &us, &un, &e2);
                return subid_add("/etc/subgid", REMAP_DEFAULT_USER,
                                 us >= end_g ? us : MAX(end_u, end_g), REMAP_DEFAULT_SIZE, errp);
        }
        return 0;
}

/* Every directory from "/" to path (included) must be searchable by others: the remapped init
 * walks to its root file system. */
static int check_searchable(const char *path, struct err **errp) {
        _cleanup_free_ char *p = xstrdup(path);

        for (;;) {
                struct stat st;
                char *slash;

                if (stat(p[0] ? p : "/", &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & 01))
                        return err_setx(errp, EACCES,
                                        "userns-remap: '%s' (mode %04o) is not searchable by the "
                                        "remapped root; allow it with chmod o+x",
                                        p[0] ? p : "/", st.st_mode & 07777);
                slash = strrchr(p, '/');
                if (!slash || !p[0])
                        return 0;
                *slash = 0;
        }
}

int ctr_userns_init(struct ctr_mgr *m, const char *spec, struct err **errp) {
        _cleanup_free_ char *user = NULL, *group = NULL;
        _cleanup_(image_store_freep) struct image_store *store = NULL;
        struct passwd *pw;
        struct group *gr;
        long uid_num = -1, gid_num = -1;
        uint32_t end;
        char *colon;
        int r;

        m->remap = (struct ctr_remap){};
        if (!spec || !spec[0])
                return 0;
        if (streq(spec, "default")) {
                r = remap_default(errp);
                if (r < 0)
                        return r;
                user = xstrdup(REMAP_DEFAULT_USER);
        } else
                user = xstrdup(spec);
        colon = strchr(user, ':');
        if (colon) {
                *colon = 0;
                group = xstrdup(colon + 1);
        }
        if (!user[0] || (group && !group[0]))
                return err_setx(errp, EINVAL,
                                "userns-remap: '%s': expected default or USER[:GROUP]", spec);
        /* names and numbers are both accepted, as in the subid files */
        pw = user[strspn(user, "0123456789")] == 0 ? getpwuid((uid_t)strtoul(user, NULL, 10))
                                                   : getpwnam(user);
        if (user[strspn(user, "0123456789")] == 0)
                uid_num = strtol(user, NULL, 10);
        else if (!pw)
                return err_setx(errp, ENOENT, "userns-remap: no such user '%s'", user);
        if (pw)
                uid_num = pw->pw_uid;
        if (!group)
                group = xstrdup(pw ? pw->pw_name : user);
        gr = group[strspn(group, "0123456789")] == 0 ? getgrgid((gid_t)strtoul(group, NULL, 10))
                                                     : getgrnam(group);
        if (group[strspn(group, "0123456789")] == 0)
                gid_num = strtol(group, NULL, 10);
        if (gr)
                gid_num = gr->gr_gid;
        if (subid_lookup("/etc/subuid", pw ? pw->pw_name : user, uid_num, &m->remap.uid,
                         &m->remap.uid_n, &end) < 0)
                return err_setx(errp, ENOENT,
                                "userns-remap: no range for '%s' in /etc/subuid (NAME:START:COUNT)",
                                user);
        if (subid_lookup("/etc/subgid", gr ? gr->gr_name : group, gid_num, &m->remap.gid,
                         &m->remap.gid_n, &end) < 0)
                return err_setx(errp, ENOENT,
                                "userns-remap: no range for '%s' in /etc/subgid (NAME:START:COUNT)",
                                group);
        /* the daemon's own directories, then every parent */
        if (chmod(m->root, 0711) < 0 || chmod(m->ctr_root, 0711) < 0)
                return err_set(errp, errno, "userns-remap: chmod '%s'", m->ctr_root);
        r = check_searchable(m->ctr_root, errp);
        if (r < 0)
                return r;
        m->remap.on = true;
        /* copies of images removed while the daemon was down, half-made ones of a crash */
        if (image_store_open(m->root, &store, NULL) >= 0) {
                _cleanup_free_ char *layers = xasprintf("%s/layers", image_store_dir(store));
                (void)ctr_userns_gc(m->root, layers, NULL, NULL);
        }
        return 0;
}

/* ---- the shifted copy of a layer ---- */

static uint32_t shift_uid, shift_gid, shift_un, shift_gn;
static size_t shift_prefix;
static const char *shift_src;

static int shift_one(const char *path, const struct stat *st, int type, struct FTW *f) {
        _cleanup_free_ char *src = NULL;
        char v[8];
        uid_t u = st->st_uid < shift_un ? shift_uid + st->st_uid : (uid_t)65534;
        gid_t g = st->st_gid < shift_gn ? shift_gid + st->st_gid : (gid_t)65534;

        (void)f;
        if (lchown(path, u, g) < 0)
                return -errno;
        if (type != FTW_SL && chmod(path, st->st_mode & 07777) < 0)
                return -errno;
        if (type == FTW_D || type == FTW_DP) {
                src = xasprintf("%s%s", shift_src, path + shift_prefix);
                if (lgetxattr(src, "trusted.overlay.opaque", v, sizeof(v)) > 0 &&
                    lsetxattr(path, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return -errno;
        }
        return 0;
}

/* <root>/userns/UID.GID/<layer>/diff for the lower dir lower; made when missing. */
static int shifted_lower(struct ctr_mgr *m, const char *lower, char **ret, struct err **errp) {
        _cleanup_free_ char *copy = xstrdup(lower), *base = NULL, *dir = NULL, *tmp = NULL,
                            *tmpdiff = NULL, *final = NULL;
        _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
        char *slash;
        int r;

        /* <root>/images/layers/<id>/diff: the layer's id names the copy */
        slash = strrchr(copy, '/');
        if (slash && streq(slash, "/diff"))
                *slash = 0;
        slash = strrchr(copy, '/');
        base = xstrdup(slash ? slash + 1 : copy);
        dir = xasprintf("%s/userns/%u.%u", m->root, m->remap.uid, m->remap.gid);
        final = xasprintf("%s/%s", dir, base);
        *ret = xasprintf("%s/diff", final);
        if (access(*ret, F_OK) == 0)
                return 0;
        r = mkdir_p(dir, 0711, errp);
        if (r < 0)
                return r;
        tmp = xasprintf("%s/.tmp-%s-%d", dir, base, (int)getpid());
        tmpdiff = xasprintf("%s/diff", tmp);
        (void)rm_rf(tmp, NULL);
        if (mkdir(tmp, 0711) < 0 || mkdir(tmpdiff, 0755) < 0) {
                r = err_set(errp, errno, "userns-remap: create '%s'", tmpdiff);
                goto fail;
        }
        sfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dfd = open(tmpdiff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0 || dfd < 0) {
                r = err_set(errp, errno, "userns-remap: open '%s'", sfd < 0 ? lower : tmpdiff);
                goto fail;
        }
        r = copy_tree_at(sfd, dfd, errp);
        if (r < 0)
                goto fail;
        shift_uid = m->remap.uid;
        shift_gid = m->remap.gid;
        shift_un = m->remap.uid_n;
        shift_gn = m->remap.gid_n;
        shift_prefix = strlen(tmpdiff);
        shift_src = lower;
        r = nftw(tmpdiff, shift_one, 64, FTW_PHYS | FTW_DEPTH);
        if (r != 0) {
                r = err_set(errp, r < 0 ? (errno ?: EIO) : -r,
                            "userns-remap: shift the owners in '%s'", tmpdiff);
                goto fail;
        }
        if (rename(tmp, final) < 0) {
                if (errno == EEXIST || errno == ENOTEMPTY) {
                        (void)rm_rf(tmp, NULL); /* made meanwhile */
                        return 0;
                }
                r = err_set(errp, errno, "userns-remap: rename to '%s'", final);
                goto fail;
        }
        return 0;
fail:
        (void)rm_rf(tmp, NULL);
        free(*ret);
        *ret = NULL;
        return r;
}

static json_t *strv_json(char *const *l) {
        json_t *a = json_array();

        STRV_FOREACH (s, l)
                json_array_append_new(a, json_string(*s));
        return a;
}

int ctr_userns_create(struct ctr_mgr *m, json_t *rec, struct err **errp) {
        const json_t *hc = json_object_get(rec, "HostConfig"), *v;
        const char *mode = json_get_str(hc, "UsernsMode", "");
        _cleanup_strv_ char **lowers = xnew0(char *, 1);
        _cleanup_free_ char *dir = NULL, *upper = NULL;
        size_t i;
        int r;

        if (mode[0] && !streq(mode, "host")) {
                r = err_setx(errp, EINVAL,
                             "HostConfig.UsernsMode: '%s' is not supported (\"host\" or empty; "
                             "the daemon's --userns-remap maps every other container)",
                             mode);
                err_set_field(errp, "HostConfig.UsernsMode");
                return r;
        }
        if (!m->remap.on || streq(mode, "host"))
                return 0;
        if (json_get_bool(hc, "Privileged", false)) {
                r = err_setx(errp, EINVAL,
                             "privileged mode is incompatible with user namespaces: add "
                             "--userns=host");
                err_set_field(errp, "HostConfig.Privileged");
                return r;
        }
        json_array_foreach (json_object_get(rec, "BerthLowerDirs"), i, v) {
                char *s = NULL;

                r = shifted_lower(m, json_string_value(v), &s, errp);
                if (r < 0)
                        return r;
                strv_push(&lowers, s);
                free(s);
        }
        json_object_set_new(rec, "BerthLowerDirs", strv_json(lowers));
        {
                _cleanup_free_ char *joined = strv_join(lowers, ":");
                json_object_set_new(json_object_get(json_object_get(rec, "GraphDriver"), "Data"),
                                    "LowerDir", json_string(joined));
        }
        json_object_set_new(rec, "BerthRootUid", json_integer(m->remap.uid));
        json_object_set_new(rec, "BerthRootGid", json_integer(m->remap.gid));
        json_object_set_new(rec, "BerthUserns",
                            json_pack("{s:I,s:I,s:I,s:I}", "Uid", (json_int_t)m->remap.uid,
                                      "UidCount", (json_int_t)m->remap.uid_n, "Gid",
                                      (json_int_t)m->remap.gid, "GidCount",
                                      (json_int_t)m->remap.gid_n));
        /* the container's directory (searchable) and its upper dir (the mapped root's) */
        dir = xasprintf("%s/%s", m->ctr_root, json_get_str(rec, "Id", ""));
        upper = xasprintf("%s/upper", dir);
        r = mkdir_p(upper, 0755, errp);
        if (r < 0)
                return r;
        if (chmod(dir, 0711) < 0 || chown(upper, m->remap.uid, m->remap.gid) < 0)
                return err_set(errp, errno, "userns-remap: set up '%s'", dir);
        /* empty volumes belong to the mapped root */
        json_array_foreach (json_object_get(rec, "Mounts"), i, v) {
                _cleanup_(vol_freep) struct vol *vol = NULL;

                if (!streq(json_get_str(v, "Type", ""), "volume"))
                        continue;
                if (vol_get(m->root, json_get_str(v, "Name", ""), &vol, NULL) < 0)
                        continue;
                if (vol_is_empty(vol, NULL) > 0 &&
                    chown(vol->mountpoint, m->remap.uid, m->remap.gid) < 0)
                        return err_set(errp, errno, "userns-remap: chown volume '%s'", vol->name);
                /* the remapped init binds it: <root>/volumes/<name> must be searchable */
                {
                        _cleanup_free_ char *parent = xstrdup(vol->dir);
                        char *slash = strrchr(parent, '/');

                        if (slash)
                                *slash = 0;
                        if (chmod(parent, 0711) < 0 || chmod(vol->dir, 0711) < 0)
                                return err_set(errp, errno, "userns-remap: chmod '%s'", vol->dir);
                }
        }
        return 0;
}

void ctr_userns_spec(const json_t *rec, json_t *linux_) {
        const json_t *u = json_object_get(rec, "BerthUserns");
        json_t *ns = json_object_get(linux_, "namespaces");

        if (!u)
                return;
        json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
        json_object_set_new(linux_, "uidMappings",
                            json_pack("[{s:i,s:I,s:I}]", "containerID", 0, "hostID",
                                      (json_int_t)json_get_int(u, "Uid", 0), "size",
                                      (json_int_t)json_get_int(u, "UidCount", 0)));
        json_object_set_new(linux_, "gidMappings",
                            json_pack("[{s:i,s:I,s:I}]", "containerID", 0, "hostID",
                                      (json_int_t)json_get_int(u, "Gid", 0), "size",
                                      (json_int_t)json_get_int(u, "GidCount", 0)));
}

/* ---- removing copies whose layer is gone ---- */

int ctr_userns_gc(const char *root, const char *layers_dir, size_t *ret_freed, struct err **errp) {
        _cleanup_free_ char *top = xasprintf("%s/userns", root);
        _cleanup_closedir_ DIR *d = opendir(top);
        struct dirent *de;
        size_t freed = 0;
        int r;

        if (!d) {
                if (errno == ENOENT)
                        goto done;
                return err_set(errp, errno, "userns-remap: open '%s'", top);
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *remap = NULL;
                _cleanup_closedir_ DIR *rd = NULL;
                struct dirent *le;

                if (de->d_name[0] == '.')
                        continue;
                remap = xasprintf("%s/%s", top, de->d_name);
                rd = opendir(remap);
                if (!rd)
                        continue; /* not a directory of copies */
                while ((le = readdir(rd))) {
                        _cleanup_free_ char *layer = NULL, *copy = NULL;

                        /* ".tmp-*" is a copy in the making (or left by a crash: made again) */
                        if (le->d_name[0] == '.' && !str_startswith(le->d_name, ".tmp-"))
                                continue;
                        if (le->d_name[0] != '.') {
                                layer = xasprintf("%s/%s", layers_dir, le->d_name);
                                if (access(layer, F_OK) == 0)
                                        continue;
                        } else {
                                /* .tmp-LAYER-PID: only when its maker is gone */
                                const char *dash = strrchr(le->d_name, '-');
                                if (dash && kill((pid_t)atoi(dash + 1), 0) == 0)
                                        continue;
                        }
                        copy = xasprintf("%s/%s", remap, le->d_name);
                        r = rm_rf(copy, errp);
                        if (r < 0)
                                return errp && *errp ? err_wrap(errp,
                                                                "userns-remap: remove the "
                                                                "copy '%s'",
                                                                copy)
                                                     : r;
                        freed++;
                }
        }
done:
        if (ret_freed)
                *ret_freed = freed;
        return 0;
}
