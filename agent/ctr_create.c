/* SPDX-License-Identifier: Apache-2.0 */
/* Container creation: an Engine-API create body + the image -> a record on disk. Nothing is left
 * behind when it fails (directory, volumes created for it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "clog.h"
#include "ctr_internal.h"
#include "ctr_net.h"
#include "fileio.h"
#include "image/manifest.h"
#include "json.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

int ctr_parse_signal(const char *s) {
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {
                {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
                {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
                {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
                {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
                {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
                {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
                {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
                {"PWR", SIGPWR},       {"SYS", SIGSYS},
        };
        char *end;
        long n;

        if (!s || !s[0])
                return -EINVAL;
        n = strtol(s, &end, 10);
        if (!*end)
                return n > 0 && n < 65 ? (int)n : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (strcasecmp(s, sigs[i].name) == 0)
                        return sigs[i].sig;
        return -EINVAL;
}

static json_t *strv_to_json(char *const *l) {
        json_t *a = json_array();

        STRV_FOREACH (s, l)
                json_array_append_new(a, json_string(*s));
        return a;
}

struct create_ctx {
        struct ctr_mgr *m;
        char **new_volumes; /* created by this request: removed on failure */
        json_t *mounts;
};

static bool mount_dest_taken(const json_t *mounts, const char *dst) {
        size_t i;
        json_t *m;

        json_array_foreach (mounts, i, m)
                if (streq(json_get_str(m, "Destination", ""), dst))
                        return true;
        return false;
}

static int add_volume(struct create_ctx *x, const char *name, const char *dst, bool rw, bool nocopy,
                      const char *field, struct err **errp) {
        _cleanup_(vol_freep) struct vol *v = NULL;
        int r;

        if (name && !vol_name_valid(name))
                return err_setx(errp, EINVAL,
                                "%s: invalid volume name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                "allowed",
                                field, name);
        r = vol_create(x->m->root, name, "local", NULL, NULL, !name, &v, errp);
        if (r < 0)
                return err_wrap(errp, "%s", field);
        if (r > 0)
                strv_push(&x->new_volumes, v->name);
        json_array_append_new(x->mounts,
                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:b,s:b}", "Type",
                                        "volume", "Name", v->name, "Source", v->mountpoint,
                                        "Destination", dst, "Driver", "local", "Mode",
                                        rw ? "" : "ro", "RW", rw, "Propagation", "",
                                        "BerthAnonymous", !name, "BerthNoCopy", nocopy));
        return 0;
}

static int add_bind(struct create_ctx *x, const char *src, const char *dst, bool rw,
                    const char *field, struct err **errp) {
        struct stat sb;

        if (stat(src, &sb) < 0)
                return err_setx(errp, EINVAL, "%s: bind source path does not exist: %s", field,
                                src);
        json_array_append_new(x->mounts,
                              json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", src,
                                        "Destination", dst, "Mode", rw ? "" : "ro", "RW", rw,
                                        "Propagation", "rprivate"));
        return 0;
}

static int check_dest(const char *dst, const char *field, struct err **errp) {
        if (!dst || dst[0] != '/')
                return err_setx(errp, EINVAL,
                                "%s: invalid mount config: mount path must be absolute: '%s'",
                                field, dst ? dst : "");
        if (streq(dst, "/"))
                return err_setx(errp, EINVAL, "%s: invalid mount config: cannot mount over '/'",
                                field);
        return 0;
}

static int build_mounts(struct create_ctx *x, const json_t *hc, const json_t *volumes,
                        char *const *img_volumes, struct err **errp) {
        const json_t *v;
        const char *key;
        size_t i;
        int r;

        json_array_foreach (json_object_get(hc, "Binds"), i, v) {
                _cleanup_free_ char *field = xasprintf("HostConfig.Binds[%zu]", i);
                _cleanup_strv_ char **parts = strv_split(json_string_value(v) ?: "", ":");
                bool rw = true, nocopy = false;

                if (strv_length(parts) < 2 || strv_length(parts) > 3)
                        return err_setx(errp, EINVAL, "%s: invalid volume specification: '%s'",
                                        field, json_string_value(v) ?: "");
                if (parts[2]) {
                        _cleanup_strv_ char **opts = strv_split(parts[2], ",");
                        STRV_FOREACH (o, opts) {
                                if (streq(*o, "ro"))
                                        rw = false;
                                else if (streq(*o, "rw"))
                                        rw = true;
                                else if (streq(*o, "nocopy"))
                                        nocopy = true;
                                else if (!streq(*o, "z") && !streq(*o, "Z") &&
                                         !streq(*o, "rprivate") && !streq(*o, "private"))
                                        return err_setx(errp, EINVAL,
                                                        "%s: invalid mode '%s' in '%s'", field, *o,
                                                        json_string_value(v));
                        }
                }
                r = check_dest(parts[1], field, errp);
                if (r < 0)
                        return r;
                if (mount_dest_taken(x->mounts, parts[1]))
                        return err_setx(errp, EINVAL, "%s: duplicate mount point: %s", field,
                                        parts[1]);
                r = parts[0][0] == '/' ? add_bind(x, parts[0], parts[1], rw, field, errp)
                                       : add_volume(x, parts[0], parts[1], rw, nocopy, field, errp);
                if (r < 0)
                        return r;
        }
        json_array_foreach (json_object_get(hc, "Mounts"), i, v) {
                _cleanup_free_ char *field = xasprintf("HostConfig.Mounts[%zu]", i);
                const char *type = json_get_str(v, "Type", ""),
                           *src = json_get_str(v, "Source", NULL),
                           *dst = json_get_str(v, "Target", NULL);
                bool rw = !json_get_bool(v, "ReadOnly", false);

                r = check_dest(dst, field, errp);
                if (r < 0)
                        return r;
                if (mount_dest_taken(x->mounts, dst))
                        return err_setx(errp, EINVAL, "%s: duplicate mount point: %s", field, dst);
                if (streq(type, "bind")) {
                        if (!src || src[0] != '/')
                                return err_setx(errp, EINVAL,
                                                "%s: a bind mount needs an absolute source", field);
                        r = add_bind(x, src, dst, rw, field, errp);
                } else if (streq(type, "volume"))
                        r = add_volume(
                                x, src && src[0] ? src : NULL, dst, rw,
                                json_get_bool(json_object_get(v, "VolumeOptions"), "NoCopy", false),
                                field, errp);
                else if (streq(type, "tmpfs")) {
                        const json_t *to = json_object_get(v, "TmpfsOptions");
                        _cleanup_free_ char *opt = NULL;

                        if (json_get_int(to, "SizeBytes", 0) > 0)
                                opt = xasprintf("size=%lld",
                                                (long long)json_get_int(to, "SizeBytes", 0));
                        if (json_get_int(to, "Mode", 0) > 0) {
                                char *o =
                                        xasprintf("%s%smode=%llo", opt ? opt : "", opt ? "," : "",
                                                  (unsigned long long)json_get_int(to, "Mode", 0));
                                free(opt);
                                opt = o;
                        }
                        json_array_append_new(x->mounts,
                                              json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type",
                                                        "tmpfs", "Source", "", "Destination", dst,
                                                        "Mode", opt ? opt : "", "RW", true,
                                                        "Propagation", ""));
                        r = 0;
                } else
                        r = err_setx(errp, EINVAL, "%s: unknown mount type '%s'", field, type);
                if (r < 0)
                        return r;
        }
        /* Config.Volumes: anonymous volumes the request names (`run -v /data`), then the
         * image's VOLUMEs that nothing else covers. */
        json_object_foreach ((json_t *)volumes, key, v) {
                _cleanup_free_ char *field = xasprintf("Volumes[%s]", key);

                r = check_dest(key, field, errp);
                if (r < 0)
                        return r;
                if (mount_dest_taken(x->mounts, key))
                        continue;
                r = add_volume(x, NULL, key, true, false, field, errp);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH (p, img_volumes) {
                if (mount_dest_taken(x->mounts, *p) ||
                    json_object_get(json_object_get(hc, "Tmpfs"), *p))
                        continue;
                r = add_volume(x, NULL, *p, true, false, "image VOLUME", errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_network(struct ctr_mgr *m, const json_t *hc, struct err **errp) {
        const char *net = json_get_str(hc, "NetworkMode", "default");
        struct ctr *other;

        if (streq(net, "none") || streq(net, "host"))
                return 0;
        if (str_startswith(net, "container:")) {
                int r = ctr_lookup(m, net + 10, &other, errp);
                if (r < 0)
                        return err_wrap(errp, "HostConfig.NetworkMode");
                return 0;
        }
        return 0; /* berth-net: bridge and user networks are checked by ctr_net_create() */
}

static int check_log_config(const json_t *hc, struct err **errp) {
        const json_t *lc = json_object_get(hc, "LogConfig"), *cfg = json_object_get(lc, "Config");
        const char *type = json_get_str(lc, "Type", ""), *k;
        json_t *v;

        if (type[0] && !streq(type, "json-file"))
                return err_setx(errp, EINVAL,
                                "HostConfig.LogConfig.Type: logging driver '%s' is not supported "
                                "(json-file only)",
                                type);
        json_object_foreach ((json_t *)cfg, k, v) {
                const char *s = json_string_value(v);
                uint64_t n;

                if (streq(k, "max-size")) {
                        if (!s || clog_parse_size(s, &n, NULL) < 0)
                                return err_setx(errp, EINVAL,
                                                "HostConfig.LogConfig.Config.max-size: invalid "
                                                "size '%s'",
                                                s ? s : "");
                } else if (streq(k, "max-file")) {
                        if (!s || atoi(s) < 1)
                                return err_setx(errp, EINVAL,
                                                "HostConfig.LogConfig.Config.max-file: must be a "
                                                "positive integer, got '%s'",
                                                s ? s : "");
                } else
                        return err_setx(errp, EINVAL,
                                        "HostConfig.LogConfig.Config: unknown log option '%s'", k);
        }
        return 0;
}

static json_t *merge_labels(char *const *img_labels, const json_t *req) {
        json_t *l = json_object();
        const char *k;
        json_t *v;

        STRV_FOREACH (kv, img_labels) {
                const char *eq = strchr(*kv, '=');
                _cleanup_free_ char *key = eq ? xstrndup(*kv, (size_t)(eq - *kv)) : xstrdup(*kv);
                json_object_set_new(l, key, json_string(eq ? eq + 1 : ""));
        }
        json_object_foreach ((json_t *)req, k, v)
                if (json_is_string(v))
                        json_object_set(l, k, v);
        return l;
}

static int load_image(struct ctr_mgr *m, const char *name, struct image **ret_img,
                      struct image_config **ret_cfg, struct err **errp) {
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = image_store_get(m->images, name, &img, NULL);
        if (r == -ENOENT || r == -EINVAL)
                return err_setx(errp, ENOENT, "No such image: %s", name);
        if (r < 0)
                return err_set(errp, -r, "look up image '%s'", name);
        r = image_store_read_blob(m->images, img->id, BLOB_CONFIG_MAX, &buf, &len, errp);
        if (r >= 0)
                r = image_config_parse(buf, len, ret_cfg, errp);
        if (r < 0)
                return err_wrap(errp, "read the config of image '%s'", name);
        *ret_img = TAKE_PTR(img);
        return 0;
}

int ctr_create(struct ctr_mgr *m, const char *name, const json_t *body, struct ctr **ret,
               struct err **errp) {
        return ctr_create_ex(m, name, body, true, ret, errp);
}

int ctr_create_ex(struct ctr_mgr *m, const char *name, const json_t *body, bool sync,
                  struct ctr **ret, struct err **errp) {
        _cleanup_(image_freep) struct image *img = NULL;
        _cleanup_(image_config_freep) struct image_config *ic = NULL;
        _cleanup_strv_ char **ep = NULL, **cmd = NULL, **env = NULL, **lowers = NULL, **args = NULL;
        _cleanup_free_ char *id = NULL, *hostname = NULL, *created = NULL, *dir = NULL, *gen = NULL,
                            *lower_str = NULL;
        _cleanup_json_ json_t *rec = NULL, *cfg = NULL, *hc = NULL;
        struct create_ctx x = {.m = m};
        const char *image = json_get_str(body, "Image", NULL), *sig;
        int r;

        if (!json_is_object(body))
                return err_setx(errp, EINVAL, "the create body must be a JSON object");
        if (name && name[0]) {
                if (name[0] == '/')
                        name++;
                if (!ctr_name_valid(name))
                        return err_setx(
                                errp, EINVAL,
                                "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                                "are allowed",
                                name);
                if (ctr_name_taken(m, name))
                        return err_setx(errp, EEXIST,
                                        "Conflict. The container name \"/%s\" is already in use",
                                        name);
        } else {
                for (int tries = 0; tries < 100; tries++) {
                        _cleanup_free_ char *h = random_hex(8);
                        free(gen);
                        gen = ctr_name_generate(strtoull(h, NULL, 16));
                        if (!ctr_name_taken(m, gen))
                                break;
                }
                name = gen;
        }
        if (!image || !image[0])
                return err_setx(errp, EINVAL, "Image: an image is required");
        hc = json_deep_copy(json_object_get(body, "HostConfig") ?: json_object());
        if (!json_is_object(hc))
                return err_setx(errp, EINVAL, "HostConfig: must be an object");
        sig = json_get_str(body, "StopSignal", NULL);
        if (sig && sig[0] && ctr_parse_signal(sig) < 0)
                return err_setx(errp, EINVAL, "StopSignal: invalid signal '%s'", sig);
        if (json_get_bool(hc, "Init", false)) {
                _cleanup_free_ char *init = NULL;

                r = ctr_init_path(&init, errp);
                if (r < 0)
                        return r;
        }
        r = check_network(m, hc, errp);
        if (r >= 0)
                r = check_log_config(hc, errp);
        if (r >= 0)
                r = load_image(m, image, &img, &ic, errp);
        if (r < 0)
                goto fail;
        if (!json_object_get(hc, "NetworkMode"))
                json_object_set_new(hc, "NetworkMode", json_string("none"));

        id = random_hex(32);
        if (json_get_str(body, "Hostname", "")[0])
                hostname = xstrdup(json_get_str(body, "Hostname", ""));
        else if (streq(json_get_str(hc, "NetworkMode", ""), "host")) {
                char h[256] = "";
                (void)gethostname(h, sizeof(h) - 1);
                hostname = xstrdup(h);
        } else
                hostname = xstrndup(id, 12);
        r = ctr_resolve_command(json_object_get(body, "Entrypoint"), json_object_get(body, "Cmd"),
                                ic->entrypoint, ic->cmd, &ep, &cmd, errp);
        if (r < 0)
                goto fail;
        args = strv_copy(ep);
        STRV_FOREACH (s, cmd)
                strv_push(&args, *s);
        env = ctr_merge_env(ic->env, json_object_get(body, "Env"), hostname);

        cfg = json_deep_copy(body);
        json_object_del(cfg, "HostConfig");
        json_object_del(cfg, "NetworkingConfig");
        json_object_set_new(cfg, "Hostname", json_string(hostname));
        json_object_set_new(cfg, "Env", strv_to_json(env));
        json_object_set_new(cfg, "Cmd", strv_to_json(cmd));
        json_object_set_new(cfg, "Entrypoint", ep[0] ? strv_to_json(ep) : json_null());
        json_object_set_new(cfg, "Image", json_string(image));
        if (!json_get_str(cfg, "WorkingDir", "")[0])
                json_object_set_new(cfg, "WorkingDir", json_string(ic->working_dir ?: ""));
        if (!json_get_str(cfg, "User", "")[0])
                json_object_set_new(cfg, "User", json_string(ic->user ?: ""));
        if (!json_get_str(cfg, "StopSignal", "")[0] && ic->stop_signal)
                json_object_set_new(cfg, "StopSignal", json_string(ic->stop_signal));
        json_object_set_new(cfg, "Labels",
                            merge_labels(ic->labels, json_object_get(body, "Labels")));

        x.mounts = json_array();
        r = build_mounts(&x, hc, json_object_get(body, "Volumes"), ic->volumes, errp);
        if (r < 0)
                goto fail;

        lowers = image_lower_dirs(m->images, img);
        lower_str = strv_join(lowers, ":");
        dir = xasprintf("%s/%s", m->ctr_root, id);
        created = ctr_now_str();
        rec = json_pack(
                "{s:i,s:s,s:s,s:s,s:s,s:O,s:o,s:s,s:O,s:O,s:O,s:{s:s,s:b,s:b,s:b,s:b,s:b,s:i,"
                "s:i,s:s,s:s,s:s},s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s}},"
                "s:o}",
                "Version", CTR_RECORD_VERSION, "Id", id, "Name", "", "Created", created, "Path",
                args[0] ?: "", "Args", json_null(), "Image", json_string(img->id), "ImageName",
                image, "Config", cfg, "HostConfig", hc, "Mounts", x.mounts, "State", "Status",
                "created", "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0, "Dead", 0,
                "Pid", 0, "ExitCode", 0, "Error", "", "StartedAt", "", "FinishedAt", "",
                "RestartCount", 0, "Driver", "overlay", "Platform", "linux", "LogPath", "",
                "HostnamePath", "", "HostsPath", "", "ResolvConfPath", "", "GraphDriver", "Name",
                "overlay", "Data", "LowerDir", lower_str, "UpperDir", "", "WorkDir", "",
                "MergedDir", "", "BerthLowerDirs", strv_to_json(lowers));
        json_decref(x.mounts);
        x.mounts = NULL;
        if (!rec) {
                r = err_setx(errp, EINVAL, "could not build the container record");
                goto fail;
        }
        json_object_set_new(rec, "Name", json_sprintf("/%s", name));
        json_object_set_new(rec, "Args", strv_to_json(args[0] ? args + 1 : args));
        json_object_set_new(rec, "LogPath", json_sprintf("%s/%s-json.log", dir, id));
        json_object_set_new(rec, "HostnamePath", json_sprintf("%s/hostname", dir));
        json_object_set_new(rec, "HostsPath", json_sprintf("%s/hosts", dir));
        json_object_set_new(rec, "ResolvConfPath", json_sprintf("%s/resolv.conf", dir));
        r = ctr_net_create(m, rec, body, errp); /* berth-net */
        if (r < 0)
                goto fail;
        r = ctr_userns_create(m, rec, errp); /* --userns-remap (ctr_userns.c) */
        if (r < 0)
                goto fail;
        {
                json_t *gd = json_object_get(json_object_get(rec, "GraphDriver"), "Data");
                json_object_set_new(gd, "UpperDir", json_sprintf("%s/upper", dir));
                json_object_set_new(gd, "WorkDir", json_sprintf("%s/work", dir));
                json_object_set_new(gd, "MergedDir", json_sprintf("%s/rootfs", dir));
        }
        r = ctr_health_prepare(rec, ic->healthcheck, errp);
        if (r < 0)
                goto fail;
        r = mkdir_p(dir, 0700, errp);
        if (r < 0)
                goto fail;
        {
                struct ctr *c = ctr_add(m, TAKE_PTR(id), TAKE_PTR(rec));

                if ((sync ? ctr_save(c) : ctr_save_state(c)) < 0) {
                        r = err_setx(errp, EIO, "could not write the record of container %s",
                                     c->id);
                        (void)rm_rf(c->dir, NULL);
                        /* ctr_add put it first */
                        memmove(m->v, m->v + 1, (m->n - 1) * sizeof(*m->v));
                        m->n--;
                        json_decref(c->rec);
                        free(c->id);
                        free(c->dir);
                        free(c);
                        goto fail;
                }
                *ret = c;
        }
        STRV_FOREACH (v, x.new_volumes) /* sup: the implicit volume events */
                ctr_volume_event(m, "create", *v);
        strv_free(x.new_volumes);
        return 0;
fail:
        json_decref(x.mounts);
        STRV_FOREACH (v, x.new_volumes)
                (void)vol_remove(m->root, *v, false, true, NULL);
        strv_free(x.new_volumes);
        if (dir && r < 0 && access(dir, F_OK) == 0)
                (void)rm_rf(dir, NULL);
        return r;
}
