/* SPDX-License-Identifier: Apache-2.0 */
/* RUN steps: a container of the engine's runtime on an overlay of the stage's layers. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/builder_int.h"
#include "build/context.h"
#include "image/layer_write.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/container.h"
#include "runtime/spec.h"
#include "storage/overlay.h"
#include "strv.h"
#include "xalloc.h"

#define TAIL_LINES 10

void bld_run_mounts_free(struct run_mount *m, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(m[i].source);
                free(m[i].target);
        }
        free(m);
}

/* Collects the container's output, keeping the last lines for the error report. */
struct tail {
        char *lines[TAIL_LINES];
        size_t next;
};

static void tail_push(struct tail *t, const char *l) {
        free(t->lines[t->next % TAIL_LINES]);
        t->lines[t->next % TAIL_LINES] = xstrdup(l);
        t->next++;
}

static char *tail_join(struct tail *t) {
        char **l = NULL;
        size_t start = t->next > TAIL_LINES ? t->next - TAIL_LINES : 0;
        for (size_t i = start; i < t->next; i++)
                strv_push(&l, t->lines[i % TAIL_LINES]);
        char *s = strv_join(l, "\n");
        strv_free(l);
        return s;
}

static void tail_done(struct tail *t) {
        for (size_t i = 0; i < TAIL_LINES; i++)
                free(t->lines[i]);
}

/* In the forked helper: stdio to the pipe, create and start the container, wait, delete. Only
 * async-signal-safe-ish work and _exit, as this runs after fork. */
static _noreturn_ void run_helper(const char *state_root, const char *id, const char *bundle,
                                  int out_fd) {
        struct rt_state *st = NULL;
        struct err *e = NULL;
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC), status = 0;

        if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                _exit(125);
        if (rt_create(
                    &(struct rt_create_opts){
                            .state_root = state_root, .id = id, .bundle = bundle, .console_fd = -1},
                    &st, &e) < 0) {
                dprintf(2, "berth build: %s\n", err_msg(e));
                _exit(125);
        }
        if (rt_start(st, &e) < 0) {
                dprintf(2, "berth build: %s\n", err_msg(e));
                (void)rt_delete(st, true, NULL);
                _exit(125);
        }
        while (waitpid(st->pid, &status, 0) < 0 && errno == EINTR)
                ;
        (void)rt_delete(st, true, NULL);
        if (WIFEXITED(status))
                _exit(WEXITSTATUS(status));
        _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

static json_t *spec_mount(const char *src, const char *dst, bool ro) {
        return json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", dst, "type", "bind", "source",
                         src, "options", "rbind", ro ? "ro" : "rw", "nosuid");
}

/* Resolves the config's User in the rootfs to numbers. */
static int resolve_user(const char *user, const char *rootfs, uid_t *uid, gid_t *gid,
                        struct err **errp) {
        char *const lowers[] = {(char *)rootfs, NULL};
        if (!user || !*user) {
                *uid = 0;
                *gid = 0;
                return 0;
        }
        return parse_chown(user, lowers, uid, gid, errp);
}

int bld_run_container(struct builder *b, struct bstate *st, const struct df_instr *in,
                      char *const *args, const struct run_mount *mounts, size_t n_mounts,
                      char *const *extra_env, enum bld_net net, struct err **errp) {
        _cleanup_free_ char *w = NULL, *rootfs = NULL, *bundle = NULL, *cfgp = NULL, *id = NULL;
        _cleanup_free_ char *state_root = NULL, *empty = NULL, *cwdp = NULL, *upper = NULL;
        _cleanup_free_ char *hex = random_hex(8);
        _cleanup_strv_ char **lowers = bld_lower_dirs(b, st), **env = NULL, **created = NULL;
        _cleanup_json_ json_t *spec = NULL;
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        const char *cwd = json_get_str(bld_cfg_config(st), "WorkingDir", "");
        struct tail tail = {};
        bool net_none = net == BLD_NET_NONE;
        const char *netns = net == BLD_NET_BUILD ? b->o->netns_path : NULL;
        uid_t uid;
        gid_t gid;
        int r, status = 0;
        pid_t pid;

        w = xasprintf("%s/run-%s", b->tmp, hex);
        id = xasprintf("build-%s", hex);
        state_root = xasprintf("%s/oci", b->tmp);
        r = mkdir_p(w, 0700, errp);
        if (r < 0)
                return r;
        if (!lowers || !lowers[0]) {
                strv_free(lowers);
                lowers = NULL;
                empty = xasprintf("%s/empty", w);
                if (mkdir(empty, 0755) < 0) {
                        r = err_set(errp, errno, "create '%s'", empty);
                        goto out;
                }
                strv_push(&lowers, empty);
        }
        r = ovl_prepare(w, lowers, OVL_MODE_OVERLAY, &rootfs, errp);
        if (r < 0)
                goto out;
        if (!*cwd)
                cwd = "/";
        cwdp = xasprintf("%s%s", rootfs, cwd);
        (void)mkdir_p(cwdp, 0755, NULL);

        r = resolve_user(json_get_str(bld_cfg_config(st), "User", NULL), rootfs, &uid, &gid, errp);
        if (r < 0)
                goto out;

        spec = spec_default_json(false);
        json_t *proc = json_object_get(spec, "process");
        json_object_set_new(proc, "args", bld_strv_to_json(args));
        env = bld_json_strv(json_object_get(bld_cfg_config(st), "Env"));
        bool has_path = false;
        STRV_FOREACH (e, env)
                has_path |= str_startswith(*e, "PATH=");
        if (!has_path)
                strv_push(&env,
                          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        STRV_FOREACH (e, extra_env)
                strv_push(&env, *e);
        json_object_set_new(proc, "env", bld_strv_to_json(env));
        json_object_set_new(proc, "cwd", json_string(cwd));
        json_object_set_new(proc, "user",
                            json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
        json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", rootfs, "readonly", 0));
        json_object_set_new(spec, "hostname", json_string("buildkitsandbox"));
        /* Mount points the runtime creates are not content: note the missing ones to remove them
         * from the upper dir afterwards. */
        {
                _cleanup_free_ char *rc = xasprintf("%s/etc/resolv.conf", rootfs);
                if (!net_none && access(rc, F_OK) < 0)
                        strv_push(&created, "/etc/resolv.conf");
                for (size_t i = 0; i < n_mounts; i++) {
                        _cleanup_free_ char *t = xasprintf("%s%s", rootfs, mounts[i].target);
                        if (access(t, F_OK) < 0)
                                strv_push(&created, mounts[i].target);
                }
        }
        if (!net_none) {
                /* The build's namespace on the bridge: join it by path. Host networking: drop
                 * the network namespace. The host's resolv.conf either way. */
                json_t *ns = json_object_get(json_object_get(spec, "linux"), "namespaces");
                size_t i;
                json_t *v;
                json_array_foreach (ns, i, v)
                        if (streq_ptr(json_get_str(v, "type", NULL), "network")) {
                                if (netns)
                                        json_object_set_new(v, "path", json_string(netns));
                                else
                                        json_array_remove(ns, i);
                                break;
                        }
                json_array_append_new(json_object_get(spec, "mounts"),
                                      spec_mount("/etc/resolv.conf", "/etc/resolv.conf", true));
        }
        for (size_t i = 0; i < n_mounts; i++) {
                _cleanup_free_ char *t = xasprintf("%s%s", rootfs, mounts[i].target);
                (void)mkdir_p(t, 0755, NULL);
                json_array_append_new(
                        json_object_get(spec, "mounts"),
                        spec_mount(mounts[i].source, mounts[i].target, mounts[i].readonly));
        }
        bundle = xasprintf("%s/bundle", w);
        r = mkdir_p(bundle, 0700, errp);
        if (r < 0)
                goto out;
        cfgp = xasprintf("%s/config.json", bundle);
        r = json_save_path(cfgp, spec, errp);
        if (r < 0)
                goto out;
        r = mkdir_p(state_root, 0700, errp);
        if (r < 0)
                goto out;

        if (pipe2(p, O_CLOEXEC) < 0) {
                r = err_set(errp, errno, "pipe");
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = err_set(errp, errno, "fork");
                goto out;
        }
        if (pid == 0)
                run_helper(state_root, id, bundle, p[1]);
        p[1] = safe_close(p[1]);
        {
                _cleanup_fclose_ FILE *f = fdopen(p[0], "re");
                char *line = NULL;
                size_t cap = 0;
                ssize_t n;
                if (f)
                        p[0] = -EBADF;
                while (f && (n = getline(&line, &cap, f)) >= 0) {
                        if (n > 0 && line[n - 1] == '\n')
                                line[n - 1] = 0;
                        bld_say(b, "%s", line);
                        tail_push(&tail, line);
                }
                free(line);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        if (code != 0) {
                _cleanup_free_ char *t = tail_join(&tail), *cmd = strv_join((char **)args, " ");
                r = err_setx(errp, EIO,
                             "%s:%u: RUN: process \"%s\" did not complete successfully: exit "
                             "code: %d%s%s",
                             b->name, in->line, cmd, code, *t ? "\n" : "", t);
                goto out;
        }
        r = ovl_unmount(w, errp);
        if (r < 0)
                goto out;
        upper = xasprintf("%s/upper", w);
        STRV_FOREACH (c, created) {
                _cleanup_free_ char *u = xasprintf("%s%s", upper, *c);
                struct stat sb;
                if (lstat(u, &sb) < 0)
                        continue;
                if (S_ISDIR(sb.st_mode))
                        (void)rmdir(u); /* only when empty */
                else if (S_ISREG(sb.st_mode) && sb.st_size == 0)
                        (void)unlink(u);
        }
        r = bld_layer_from_dir(b, st, upper, true, errp);
out:
        tail_done(&tail);
        (void)ovl_remove(w, NULL);
        (void)rm_rf(w, NULL);
        return r;
}

/* Parses --mount flags of a RUN. */
int bld_parse_run_mounts(struct builder *b, const struct df_instr *in, char *const *flags,
                         struct run_mount **ret, size_t *ret_n, char ***cleanup_dirs,
                         struct err **errp) {
        struct run_mount *m = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t f = 0; f < in->n_flags; f++) {
                if (!streq(in->flags[f].name, "mount"))
                        continue;
                _cleanup_strv_ char **kv = strv_split(flags[f], ",");
                const char *type = "bind", *target = NULL, *source = NULL, *from = NULL, *id = NULL;
                bool rw = false;
                STRV_FOREACH (p, kv) {
                        char *eq = strchr(*p, '=');
                        const char *v = eq ? eq + 1 : "";
                        if (eq)
                                *eq = 0;
                        if (streq(*p, "type"))
                                type = v;
                        else if (streq(*p, "target") || streq(*p, "dst") ||
                                 streq(*p, "destination"))
                                target = v;
                        else if (streq(*p, "source") || streq(*p, "src"))
                                source = v;
                        else if (streq(*p, "from"))
                                from = v;
                        else if (streq(*p, "id"))
                                id = v;
                        else if (streq(*p, "rw") || streq(*p, "readwrite"))
                                rw = !eq || streq(v, "true");
                        else if (streq(*p, "ro") || streq(*p, "readonly"))
                                rw = eq && streq(v, "false");
                        else if (!streq(*p, "sharing") && !streq(*p, "mode") && !streq(*p, "uid") &&
                                 !streq(*p, "gid")) {
                                r = err_setx(errp, EINVAL, "%s:%u: RUN --mount: unknown key '%s'",
                                             b->name, in->line, *p);
                                goto fail;
                        }
                }
                if (!target || target[0] != '/') {
                        r = err_setx(errp, EINVAL,
                                     "%s:%u: RUN --mount needs an absolute target=", b->name,
                                     in->line);
                        goto fail;
                }
                m = xreallocarray(m, n + 1, sizeof(*m));
                m[n] = (struct run_mount){.target = path_clean(target)};
                if (streq(type, "cache")) {
                        _cleanup_free_ char *h = bld_sha256_hex(id ? id : target);
                        m[n].source = xasprintf("%s/mounts/%s", b->cache_dir, h);
                        r = mkdir_p(m[n].source, 0755, errp);
                        n++;
                        if (r < 0)
                                goto fail;
                } else if (streq(type, "bind")) {
                        _cleanup_free_ char *cl = path_clean(source ? source : ".");
                        const char *rel = cl;
                        while (*rel == '/')
                                rel++;
                        if (str_startswith(rel, "..")) {
                                n++;
                                r = err_setx(errp, EPERM,
                                             "%s:%u: RUN --mount source '%s' is outside the "
                                             "build context",
                                             b->name, in->line, source);
                                goto fail;
                        }
                        if (from) {
                                int si = df_stage_find(&b->stages, from, b->stages.n);
                                if (si < 0 || !b->done[si].cfg) {
                                        n++;
                                        r = err_setx(errp, ENOENT,
                                                     "%s:%u: RUN --mount from='%s': no such "
                                                     "stage",
                                                     b->name, in->line, from);
                                        goto fail;
                                }
                                _cleanup_free_ char *hex = random_hex(8);
                                char *dir = xasprintf("%s/from-%s", b->tmp, hex);
                                _cleanup_strv_ char **l = bld_lower_dirs(b, &b->done[si]);
                                strv_push_take(cleanup_dirs, dir);
                                r = mkdir_p(dir, 0755, errp);
                                if (r >= 0)
                                        r = ovl_copy_layers(l, dir, errp);
                                if (r < 0) {
                                        n++;
                                        goto fail;
                                }
                                m[n].source = xasprintf("%s/%s", dir, rel);
                        } else
                                m[n].source = xasprintf("%s/%s", b->o->ctx->dir, rel);
                        m[n].readonly = !rw;
                        n++;
                } else {
                        n++;
                        r = err_setx(errp, EINVAL,
                                     "%s:%u: RUN --mount type '%s' is not supported (cache or "
                                     "bind)",
                                     b->name, in->line, type);
                        goto fail;
                }
        }
        *ret = m;
        *ret_n = n;
        return 0;
fail:
        bld_run_mounts_free(m, n);
        return r;
}
