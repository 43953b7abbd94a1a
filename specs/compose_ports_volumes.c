/* SPDX-License-Identifier: Apache-2.0 */
/* Short and long syntax of a compose service's ports, volumes, secrets and configs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "compose.h"
#include "parse.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

static const char *const port_keys[] = {"target", "published", "host_ip",      "protocol",
                                        "mode",   "name",      "app_protocol", NULL};

/* A long-syntax port mapping. */
static int port_long(const struct ynode *n, json_t *ports, struct err **errp) {
        _cleanup_free_ char *msg = NULL;
        const struct ynode *f;
        const char *s, *published = "", *host_ip = "", *proto = "tcp", *mode = "ingress",
                       *name = NULL;
        int target, lo, hi;
        int r;

        r = y_check_keys(n, port_keys, true, NULL, errp);
        if (r < 0)
                return r;
        f = ynode_map_get(n, "target");
        if (!f)
                return ynode_err(errp, n, "port needs a 'target'");
        r = y_str(f, &s, errp);
        if (r < 0)
                return r;
        if (parse_port_number(s, false, &target, &msg) < 0)
                return ynode_err(errp, f, "%s", msg);
        f = ynode_map_get(n, "published");
        if (f) {
                r = y_str_or_null(f, &published, errp);
                if (r < 0)
                        return r;
                if (!published)
                        published = "";
                if (*published) {
                        _cleanup_free_ char *a = xstrdup(published);
                        char *dash = strchr(a, '-');
                        if (dash)
                                *dash = 0;
                        if (parse_port_number(a, false, &lo, &msg) < 0 ||
                            (dash && parse_port_number(dash + 1, false, &hi, &msg) < 0))
                                return ynode_err(errp, f, "%s", msg);
                }
        }
        f = ynode_map_get(n, "host_ip");
        if (f && (r = y_str(f, &host_ip, errp)) < 0)
                return r;
        f = ynode_map_get(n, "protocol");
        if (f) {
                r = y_str(f, &proto, errp);
                if (r < 0)
                        return r;
                if (!protocol_valid(proto))
                        return ynode_err(errp, f, "expected tcp, udp or sctp, got \"%s\"", proto);
        }
        f = ynode_map_get(n, "mode");
        if (f) {
                r = y_str(f, &mode, errp);
                if (r < 0)
                        return r;
                if (!streq(mode, "host") && !streq(mode, "ingress"))
                        return ynode_err(errp, f, "expected host or ingress, got \"%s\"", mode);
        }
        f = ynode_map_get(n, "name");
        if (f && (r = y_str(f, &name, errp)) < 0)
                return r;
        json_array_append_new(ports, json_pack("{s:i,s:s,s:s,s:s,s:s,s:s?}", "target", target,
                                               "published", published, "host_ip", host_ip,
                                               "protocol", proto, "mode", mode, "name", name));
        return 0;
}

int compose_ports(struct compose_ctx *c, const struct ynode *n, json_t *ports, struct err **errp) {
        int r;

        (void)c;
        r = y_seq(n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                const struct ynode *it = n->kids[i];
                _cleanup_free_ char *msg = NULL;

                if (it->kind == YNODE_MAP) {
                        r = port_long(it, ports, errp);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (it->kind != YNODE_SCALAR || ynode_is_null(it))
                        return ynode_err(errp, it,
                                         "expected \"[HOST_IP:][HOST:]CONTAINER[/PROTO]\" or a "
                                         "mapping, got %s",
                                         ynode_kind_name(it));
                if (parse_port_short(it->str, ports, &msg) < 0)
                        return ynode_err(errp, it, "%s", msg);
        }
        return 0;
}

static json_t *mount_new(const char *type, const char *source, const char *target, bool ro) {
        return json_pack("{s:s,s:s?,s:s,s:b,s:{s:b,s:n},s:{s:b,s:n,s:n},s:{s:i,s:i}}", "type", type,
                         "source", source, "target", target, "read_only", ro, "volume", "nocopy", 0,
                         "subpath", "bind", "create_host_path", 1, "propagation", "selinux",
                         "tmpfs", "size", 0, "mode", 0);
}

static bool is_path(const char *s) {
        return s[0] == '/' || s[0] == '.' || s[0] == '~';
}

static int file_mode(const struct ynode *n, int64_t *ret, struct err **errp);

static int check_volume_ref(const struct ynode *n, const char *name, const json_t *model,
                            struct err **errp) {
        if (!json_object_get(json_object_get(model, "volumes"), name))
                return ynode_err(errp, n,
                                 "volume '%s' is not declared in the top-level volumes section",
                                 name);
        return 0;
}

static int check_target(const struct ynode *n, const char *t, struct err **errp) {
        if (t[0] != '/')
                return ynode_err(errp, n, "mount target \"%s\" must be an absolute path", t);
        return 0;
}

/* "[SOURCE:]TARGET[:MODE]": a path source is a bind mount, a name a declared volume,
 * no source an anonymous volume. */
static int volume_short(struct compose_ctx *c, const struct ynode *n, const json_t *model,
                        json_t *mounts, struct err **errp) {
        _cleanup_strv_ char **parts = NULL, **opts = NULL;
        const char *src = NULL, *tgt;
        json_t *m;
        bool ro = false, nocopy = false;
        const char *propagation = NULL, *selinux = NULL;
        size_t np;
        int r;

        /* Keep empty fields so that "::" errors instead of shifting. */
        for (const char *q = n->str;;) {
                const char *col = strchr(q, ':');
                strv_push_take(&parts, col ? xstrndup(q, (size_t)(col - q)) : xstrdup(q));
                if (!col)
                        break;
                q = col + 1;
        }
        np = strv_length(parts);
        if (np > 3 || np == 0 || !*parts[0] || (np >= 2 && !*parts[1]))
                return ynode_err(errp, n, "expected \"[SOURCE:]TARGET[:MODE]\", got \"%s\"",
                                 n->str);
        if (np == 1)
                tgt = parts[0];
        else {
                src = parts[0];
                tgt = parts[1];
        }
        if (np == 3) {
                opts = strv_split(parts[2], ",");
                STRV_FOREACH (o, opts) {
                        if (streq(*o, "ro"))
                                ro = true;
                        else if (streq(*o, "rw"))
                                ro = false;
                        else if (streq(*o, "nocopy"))
                                nocopy = true;
                        else if (streq(*o, "z") || streq(*o, "Z"))
                                selinux = *o;
                        else if (strv_contains((char *[]){"shared", "rshared", "slave", "rslave",
                                                          "private", "rprivate", NULL},
                                               *o))
                                propagation = *o;
                        else if (!strv_contains(
                                         (char *[]){"consistent", "cached", "delegated", NULL}, *o))
                                return ynode_err(errp, n,
                                                 "unknown volume option '%s' in \"%s\" (expected "
                                                 "ro, rw, z, Z, nocopy or a propagation mode)",
                                                 *o, n->str);
                }
        }
        r = check_target(n, tgt, errp);
        if (r < 0)
                return r;
        if (src && is_path(src)) {
                _cleanup_free_ char *abs = y_abs_path(n, src, compose_env_get(c, "HOME"));
                m = mount_new("bind", abs, tgt, ro);
                json_object_set_new(json_object_get(m, "bind"), "propagation",
                                    propagation ? json_string(propagation) : json_null());
                json_object_set_new(json_object_get(m, "bind"), "selinux",
                                    selinux ? json_string(selinux) : json_null());
        } else {
                if (src) {
                        r = check_volume_ref(n, src, model, errp);
                        if (r < 0)
                                return r;
                }
                m = mount_new("volume", src, tgt, ro);
                json_object_set_new(json_object_get(m, "volume"), "nocopy", json_boolean(nocopy));
        }
        json_array_append_new(mounts, m);
        return 0;
}

static const char *const volume_long_keys[] = {
        "type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency", NULL};
static const char *const bind_keys[] = {"propagation", "create_host_path", "selinux", NULL};
static const char *const vol_keys[] = {"nocopy", "subpath", NULL};
static const char *const tmpfs_keys[] = {"size", "mode", NULL};

/* A long-syntax mount (type volume, bind or tmpfs) with its type-specific options. */
static int volume_long(struct compose_ctx *c, const struct ynode *n, const json_t *model,
                       json_t *mounts, struct err **errp) {
        _cleanup_json_ json_t *m = NULL;
        const struct ynode *f, *sub;
        const char *type, *src = NULL, *tgt;
        bool ro = false;
        int r;

        r = y_check_keys(n, volume_long_keys, true, NULL, errp);
        if (r < 0)
                return r;
        f = ynode_map_get(n, "type");
        if (!f)
                return ynode_err(errp, n, "volume needs a 'type' (volume, bind or tmpfs)");
        r = y_str(f, &type, errp);
        if (r < 0)
                return r;
        if (!streq(type, "volume") && !streq(type, "bind") && !streq(type, "tmpfs"))
                return ynode_err(errp, f, "expected volume, bind or tmpfs, got \"%s\"", type);
        f = ynode_map_get(n, "target");
        if (!f)
                return ynode_err(errp, n, "volume needs a 'target'");
        r = y_str(f, &tgt, errp);
        if (r >= 0)
                r = check_target(f, tgt, errp);
        if (r < 0)
                return r;
        f = ynode_map_get(n, "source");
        if (f && (r = y_str_or_null(f, &src, errp)) < 0)
                return r;
        f = ynode_map_get(n, "read_only");
        if (f && (r = y_bool(f, &ro, errp)) < 0)
                return r;
        if (streq(type, "bind")) {
                _cleanup_free_ char *abs = NULL;
                if (!src)
                        return ynode_err(errp, n, "bind mount needs a 'source'");
                abs = y_abs_path(n, src, compose_env_get(c, "HOME"));
                m = mount_new(type, abs, tgt, ro);
        } else if (streq(type, "volume")) {
                if (src) {
                        r = check_volume_ref(ynode_map_get(n, "source"), src, model, errp);
                        if (r < 0)
                                return r;
                }
                m = mount_new(type, src, tgt, ro);
        } else {
                if (src)
                        return ynode_err(errp, ynode_map_get(n, "source"),
                                         "tmpfs mounts take no 'source'");
                m = mount_new(type, NULL, tgt, ro);
        }
        sub = ynode_map_get(n, "bind");
        if (sub) {
                json_t *b = json_object_get(m, "bind");
                if (!streq(type, "bind"))
                        return ynode_err(errp, sub, "'bind' options need type: bind");
                r = y_check_keys(sub, bind_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                if ((f = ynode_map_get(sub, "propagation"))) {
                        const char *p;
                        if ((r = y_str(f, &p, errp)) < 0)
                                return r;
                        json_object_set_new(b, "propagation", json_string(p));
                }
                if ((f = ynode_map_get(sub, "selinux"))) {
                        const char *p;
                        if ((r = y_str(f, &p, errp)) < 0)
                                return r;
                        if (!streq(p, "z") && !streq(p, "Z"))
                                return ynode_err(errp, f, "expected z or Z, got \"%s\"", p);
                        json_object_set_new(b, "selinux", json_string(p));
                }
                if ((f = ynode_map_get(sub, "create_host_path"))) {
                        bool v;
                        if ((r = y_bool(f, &v, errp)) < 0)
                                return r;
                        json_object_set_new(b, "create_host_path", json_boolean(v));
                }
        }
        sub = ynode_map_get(n, "volume");
        if (sub) {
                json_t *v = json_object_get(m, "volume");
                if (!streq(type, "volume"))
                        return ynode_err(errp, sub, "'volume' options need type: volume");
                r = y_check_keys(sub, vol_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                if ((f = ynode_map_get(sub, "nocopy"))) {
                        bool b;
                        if ((r = y_bool(f, &b, errp)) < 0)
                                return r;
                        json_object_set_new(v, "nocopy", json_boolean(b));
                }
                if ((f = ynode_map_get(sub, "subpath"))) {
                        const char *p;
                        if ((r = y_str(f, &p, errp)) < 0)
                                return r;
                        json_object_set_new(v, "subpath", json_string(p));
                }
        }
        sub = ynode_map_get(n, "tmpfs");
        if (sub) {
                json_t *t = json_object_get(m, "tmpfs");
                if (!streq(type, "tmpfs"))
                        return ynode_err(errp, sub, "'tmpfs' options need type: tmpfs");
                r = y_check_keys(sub, tmpfs_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                if ((f = ynode_map_get(sub, "size"))) {
                        int64_t sz;
                        if ((r = y_size(f, &sz, errp)) < 0)
                                return r;
                        json_object_set_new(t, "size", json_integer(sz));
                }
                if ((f = ynode_map_get(sub, "mode"))) {
                        int64_t mode = 0;
                        if ((r = file_mode(f, &mode, errp)) < 0)
                                return r;
                        json_object_set_new(t, "mode", json_integer(mode));
                }
        }
        json_array_append_new(mounts, TAKE_PTR(m));
        return 0;
}

int compose_volumes(struct compose_ctx *c, const struct ynode *n, const json_t *model,
                    json_t *mounts, struct err **errp) {
        int r;

        r = y_seq(n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                const struct ynode *it = n->kids[i];
                if (it->kind == YNODE_MAP)
                        r = volume_long(c, it, model, mounts, errp);
                else if (it->kind == YNODE_SCALAR && !ynode_is_null(it))
                        r = volume_short(c, it, model, mounts, errp);
                else
                        r = ynode_err(errp, it,
                                      "expected \"[SOURCE:]TARGET[:MODE]\" or a mapping, got %s",
                                      ynode_kind_name(it));
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *const ref_keys[] = {"source", "target", "uid", "gid", "mode", NULL};

/* Parses a file mode given as 0440 (octal, like compose) or 0o440. */
static int file_mode(const struct ynode *n, int64_t *ret, struct err **errp) {
        const char *s;
        char *end;
        long v;
        int r;

        r = y_str(n, &s, errp);
        if (r < 0)
                return r;
        if (str_startswith(s, "0o"))
                s += 2;
        errno = 0;
        /* Compose writes modes in octal with or without the leading 0 (0440, 1777). */
        v = strtol(s, &end, 8);
        if (errno || *end || end == s || v < 0 || v > 07777)
                return ynode_err(errp, n, "expected a file mode like 0440, got \"%s\"", n->str);
        *ret = v;
        return 0;
}

int compose_secret_refs(struct compose_ctx *c, const struct ynode *n, const char *kind,
                        const json_t *model, json_t *mounts, struct err **errp) {
        bool secret = streq(kind, "secret");
        const json_t *defs = json_object_get(model, secret ? "secrets" : "configs");
        int r;

        (void)c;
        r = y_seq(n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_kids; i++) {
                const struct ynode *it = n->kids[i], *f, *srcn = it;
                _cleanup_free_ char *target = NULL;
                const char *src, *t = NULL;
                json_t *m;

                if (it->kind == YNODE_MAP) {
                        r = y_check_keys(it, ref_keys, true, NULL, errp);
                        if (r < 0)
                                return r;
                        srcn = ynode_map_get(it, "source");
                        if (!srcn)
                                return ynode_err(errp, it, "%s reference needs a 'source'", kind);
                }
                r = y_str(srcn, &src, errp);
                if (r < 0)
                        return r;
                if (!json_object_get(defs, src))
                        return ynode_err(errp, srcn,
                                         "%s '%s' is not declared in the top-level %ss section",
                                         kind, src, kind);
                if (it->kind == YNODE_MAP && (f = ynode_map_get(it, "target")) &&
                    (r = y_str(f, &t, errp)) < 0)
                        return r;
                if (t && t[0] == '/')
                        target = xstrdup(t);
                else if (secret)
                        target = xasprintf("/run/secrets/%s", t ? t : src);
                else
                        target = xasprintf("/%s", t ? t : src);
                m = json_pack("{s:s,s:s,s:s,s:b,s:n,s:n,s:n}", "type", kind, "source", src,
                              "target", target, "read_only", 1, "uid", "gid", "mode");
                if (it->kind == YNODE_MAP) {
                        static const char *const ids[] = {"uid", "gid"};
                        for (size_t k = 0; k < ELEMENTSOF(ids); k++)
                                if ((f = ynode_map_get(it, ids[k]))) {
                                        const char *s;
                                        if ((r = y_str(f, &s, errp)) < 0) {
                                                json_decref(m);
                                                return r;
                                        }
                                        json_object_set_new(m, ids[k], json_string(s));
                                }
                        if ((f = ynode_map_get(it, "mode"))) {
                                int64_t mode = 0;
                                if ((r = file_mode(f, &mode, errp)) < 0) {
                                        json_decref(m);
                                        return r;
                                }
                                json_object_set_new(m, "mode", json_integer(mode));
                        }
                }
                json_array_append_new(mounts, m);
        }
        return 0;
}
