/* SPDX-License-Identifier: Apache-2.0 */
/* Stack networks, volumes, bind sources and secret files of a pod (pod_res.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_networks.h"
#include "base64.h"
#include "cleanup.h"
#include "ctr_internal.h"
#include "ctr_net.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "net/ipam.h"
#include "net/netmgr.h"
#include "netd.h"
#include "pod_body.h"
#include "pod_res.h"
#include "strv.h"
#include "volume.h"
#include "xalloc.h"

#define SECRET_MAX (1u << 20)   /* one secret or config file */
#define SECRETS_TMPFS_SIZE "8m" /* every secret file of a pod */

static const json_t *section(const struct pod_spec *spec, const char *name) {
        return json_object_get(spec->stack_model, name);
}

/* Whether the existing network n matches the model's def; *why says what differs. */
static bool net_matches(const struct net_network *n, const json_t *def, const char **why) {
        const char *driver = json_get_str(def, "driver", "bridge");
        const char *subnet = json_get_str(def, "subnet", NULL);
        char buf[20];

        if (!streq(driver, net_driver_to_string(n->driver))) {
                *why = "driver";
                return false;
        }
        /* Overlay networks are always internal (east-west only). */
        if (n->driver != NET_DRIVER_OVERLAY &&
            json_get_bool(def, "internal", false) != n->internal) {
                *why = "internal";
                return false;
        }
        ipam_cidr_format(&n->ipam.subnet, buf);
        if (subnet && !streq(subnet, buf)) {
                *why = "subnet";
                return false;
        }
        if (n->driver == NET_DRIVER_OVERLAY && json_get_int(def, "vni", 0) &&
            (int64_t)n->vni != json_get_int(def, "vni", 0)) {
                *why = "VXLAN network identifier";
                return false;
        }
        return true;
}

/* The MTU of the interface holding addr (this node's underlay address), 0 when none has it. */
static unsigned underlay_mtu(const char *addr) {
        struct ifaddrs *ifa = NULL;
        struct in_addr want;
        unsigned mtu = 0;

        if (!addr || inet_pton(AF_INET, addr, &want) != 1 || getifaddrs(&ifa) < 0)
                return 0;
        for (struct ifaddrs *i = ifa; i && !mtu; i = i->ifa_next) {
                struct ifreq ifr = {};
                _cleanup_close_ int fd = -EBADF;

                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
                    ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr != want.s_addr)
                        continue;
                fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->ifa_name);
                if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) >= 0 && ifr.ifr_mtu > 0)
                        mtu = (unsigned)ifr.ifr_mtu;
        }
        freeifaddrs(ifa);
        return mtu;
}

/* An overlay network of the controller (orchestrator/overlay.h): its VNI, this node's VTEP and
 * own address, and the MTU the VXLAN header leaves of the underlay's. */
static int overlay_body(const struct pod_spec *spec, const char *key, const json_t *def,
                        json_t *body, struct err **errp) {
        const char *vtep = json_get_str(def, "vtep_local", NULL);
        json_t *opts = json_object_get(body, "Options");
        unsigned mtu;

        if (!vtep)
                return err_setx(errp, EINVAL,
                                "stack '%s', service '%s': overlay network '%s' needs this "
                                "node's underlay address (berth agent --advertise-addr)",
                                spec->stack, spec->service, key);
        if (json_get_int(def, "vni", 0) <= 0)
                return err_setx(errp, EINVAL,
                                "stack '%s', service '%s': overlay network '%s' has no VNI from "
                                "the controller",
                                spec->stack, spec->service, key);
        mtu = underlay_mtu(vtep);
        if (mtu == 0)
                return err_setx(errp, EADDRNOTAVAIL,
                                "stack '%s', service '%s': overlay network '%s': no interface "
                                "of this node has the advertise address %s",
                                spec->stack, spec->service, key, vtep);
        json_object_set_new(body, "VNI", json_integer(json_get_int(def, "vni", 0)));
        json_set_str(body, "VtepLocal", vtep);
        if (json_get_str(def, "node_ip", NULL))
                json_set_str(body, "NodeIP", json_get_str(def, "node_ip", NULL));
        if (!json_is_object(opts)) {
                opts = json_object();
                json_object_set_new(body, "Options", opts);
        }
        if (!json_object_get(opts, "com.docker.network.driver.mtu") && mtu > 68 + 50)
                json_object_set_new(opts, "com.docker.network.driver.mtu",
                                    json_sprintf("%u", mtu - 50));
        return 0;
}

static int ensure_network(struct daemon *d, const struct pod_spec *spec, const char *key,
                          struct err **errp) {
        const json_t *def = json_object_get(section(spec, "networks"), key);
        json_t *v;
        _cleanup_free_ char *name = pod_stack_name(spec, "networks", key);
        _cleanup_json_ json_t *body = NULL, *labels = NULL, *cfg = NULL;
        const struct net_network *n;
        struct netmgr *m;
        const char *why = NULL, *k;
        int r;

        r = netd_get(d, &m, errp);
        if (r < 0)
                return err_wrap(errp, "stack '%s', service '%s', network '%s'", spec->stack,
                                spec->service, key);
        if (!def && !streq(key, "default"))
                return err_setx(errp, ENOENT,
                                "stack '%s', service '%s': network '%s' is not declared in the "
                                "stack",
                                spec->stack, spec->service, key);
        n = netmgr_network_get(m, name);
        if (json_get_bool(def, "external", false)) {
                if (!n)
                        return err_setx(errp, ENOENT,
                                        "stack '%s', service '%s': external network '%s' not "
                                        "found (create it with `berth network create %s`)",
                                        spec->stack, spec->service, name, name);
                return 0;
        }
        if (n) {
                if (!net_matches(n, def, &why))
                        return err_setx(errp, EEXIST,
                                        "stack '%s', service '%s': network '%s' exists with "
                                        "another %s than the stack declares; remove it or "
                                        "change the stack",
                                        spec->stack, spec->service, name, why);
                return 0;
        }
        labels = json_object();
        json_object_foreach (json_object_get(def, "labels"), k, v)
                if (json_is_string(v))
                        json_object_set(labels, k, v);
        json_object_set_new(labels, "com.docker.compose.project", json_string(spec->stack));
        json_object_set_new(labels, "com.docker.compose.network", json_string(key));
        json_object_set_new(labels, "berth.stack", json_string(spec->stack));
        cfg = json_object();
        if (json_get_str(def, "subnet", NULL))
                json_set_str(cfg, "Subnet", json_get_str(def, "subnet", NULL));
        if (json_get_str(def, "gateway", NULL))
                json_set_str(cfg, "Gateway", json_get_str(def, "gateway", NULL));
        if (json_get_str(def, "ip_range", NULL))
                json_set_str(cfg, "IPRange", json_get_str(def, "ip_range", NULL));
        body = json_pack("{s:s, s:s, s:b, s:O, s:{s:[O]}}", "Name", name, "Driver",
                         json_get_str(def, "driver", "bridge"), "Internal",
                         json_get_bool(def, "internal", false), "Labels", labels, "IPAM", "Config",
                         cfg);
        if (json_is_object(json_object_get(def, "options")))
                json_object_set_new(body, "Options",
                                    json_deep_copy(json_object_get(def, "options")));
        if (streq(json_get_str(def, "driver", ""), "overlay")) {
                r = overlay_body(spec, key, def, body, errp);
                if (r < 0)
                        return r;
        }
        r = api_network_create(d, body, errp);
        if (r < 0)
                return err_wrap(errp, "stack '%s', service '%s': create network '%s'", spec->stack,
                                spec->service, name);
        return 1;
}

int pod_res_stack_network(struct daemon *d, const char *stack, const json_t *parts, const char *key,
                          struct err **errp) {
        const struct pod_spec spec = {
                .name = "", .stack = stack, .service = "(routing mesh)", .stack_model = parts};

        return ensure_network(d, &spec, key, errp);
}

static int ensure_volume(struct daemon *d, const struct pod_spec *spec, const char *key,
                         struct err **errp) {
        const json_t *def = json_object_get(section(spec, "volumes"), key);
        json_t *v;
        _cleanup_free_ char *name = pod_stack_name(spec, "volumes", key);
        _cleanup_(vol_freep) struct vol *vol = NULL;
        _cleanup_json_ json_t *labels = NULL;
        const char *k;
        int r;

        if (!def)
                return err_setx(errp, ENOENT,
                                "stack '%s', service '%s': volume '%s' is not declared in the "
                                "stack",
                                spec->stack, spec->service, key);
        if (json_get_bool(def, "external", false)) {
                r = vol_get(d->root, name, &vol, errp);
                if (r < 0)
                        return err_wrap(errp,
                                        "stack '%s', service '%s': external volume '%s' not found",
                                        spec->stack, spec->service, name);
                return 0;
        }
        labels = json_object();
        json_object_foreach (json_object_get(def, "labels"), k, v)
                if (json_is_string(v))
                        json_object_set(labels, k, v);
        json_object_set_new(labels, "com.docker.compose.project", json_string(spec->stack));
        json_object_set_new(labels, "com.docker.compose.volume", json_string(key));
        json_object_set_new(labels, "berth.stack", json_string(spec->stack));
        r = vol_create(d->root, name, json_get_str(def, "driver", "local"), labels,
                       json_object_size(json_object_get(def, "driver_opts")) > 0
                               ? json_object_get(def, "driver_opts")
                               : NULL,
                       false, &vol, errp);
        if (r < 0)
                return err_wrap(errp, "stack '%s', service '%s': volume '%s'", spec->stack,
                                spec->service, name);
        return r;
}

static int check_bind(const struct pod_spec *spec, const json_t *m, struct err **errp) {
        const char *src = json_get_str(m, "source", NULL);
        struct stat st;
        int r;

        if (!src || src[0] != '/' || stat(src, &st) >= 0)
                return 0; /* pod_body_build names a relative source */
        if (!json_get_bool(json_object_get(m, "bind"), "create_host_path", false))
                return err_setx(errp, ENOENT,
                                "stack '%s', service '%s': bind mount source '%s' does not exist "
                                "(create it, or set bind.create_host_path)",
                                spec->stack, spec->service, src);
        r = mkdir_p(src, 0755, errp);
        if (r < 0)
                return err_wrap(errp, "stack '%s', service '%s': create bind source", spec->stack,
                                spec->service);
        return 0;
}

int pod_res_prepare(struct daemon *d, const struct pod_spec *spec, struct err **errp) {
        _cleanup_strv_ char **nets = pod_network_keys(spec);
        const json_t *ct, *m;
        size_t i, k;
        int r;

        STRV_FOREACH (n, nets) {
                r = ensure_network(d, spec, *n, errp);
                if (r < 0)
                        return r;
        }
        json_array_foreach (json_object_get(spec->pod, "containers"), i, ct)
                json_array_foreach (json_object_get(ct, "mounts"), k, m) {
                        const char *type = json_get_str(m, "type", "");
                        const char *src = json_get_str(m, "source", NULL);

                        if (streq(type, "volume") && src && src[0])
                                r = ensure_volume(d, spec, src, errp);
                        else if (streq(type, "bind"))
                                r = check_bind(spec, m, errp);
                        else
                                r = 0;
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* ---- secrets and configs ---- */

static char *secrets_dir(struct daemon *d, const char *pod) {
        return xasprintf("%s/pods/%s", d->run, pod);
}

void pod_secrets_cleanup(struct daemon *d, const char *pod) {
        _cleanup_free_ char *dir = secrets_dir(d, pod);

        /* Several mounts may be stacked after a crash; bounded. */
        for (int i = 0; i < 8 && umount2(dir, MNT_DETACH) >= 0; i++)
                ;
        (void)rm_rf(dir, NULL);
}

/* uid/gid of a mount: a number or a string of digits; def when absent. */
static int id_of(const json_t *m, const char *key, long def, long *ret, const char *field,
                 struct err **errp) {
        const json_t *v = json_object_get(m, key);
        char *end;

        *ret = def;
        if (!v || json_is_null(v))
                return 0;
        if (json_is_integer(v) && json_integer_value(v) >= 0 &&
            json_integer_value(v) <= 0x7fffffff) {
                *ret = (long)json_integer_value(v);
                return 0;
        }
        if (json_is_string(v)) {
                errno = 0;
                *ret = strtol(json_string_value(v), &end, 10);
                if (!errno && end != json_string_value(v) && !*end && *ret >= 0)
                        return 0;
        }
        return err_setx(errp, EINVAL, "%s.%s: must be a numeric id", field, key);
}

static int write_secret(const char *path, const char *data, size_t len, mode_t mode, long uid,
                        long gid, struct err **errp) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_setx(errp, errno, "create '%s'", path);
        if (fd_write_full(fd, data, len) < 0)
                return err_setx(errp, errno, "write '%s'", path);
        if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0 || fchmod(fd, mode) < 0)
                return err_setx(errp, errno, "set owner and mode of '%s'", path);
        return 0;
}

/* The content of a compose secret/config definition (file or inline content). */
static int secret_content(const json_t *def, const char *field, char **ret, size_t *ret_len,
                          struct err **errp) {
        const char *file = json_get_str(def, "file", NULL);
        const char *content = json_get_str(def, "content", NULL);
        const char *b64 = json_get_str(def, "content_base64", NULL);
        int r;

        if (b64) {
                /* From the controller's store, or sealed in the stack: opened by the controller
                 * and sent over the local socket or mutual TLS. */
                if (base64_decode(b64, ret, ret_len) < 0)
                        return err_setx(errp, EPROTO, "%s: the controller sent bad base64", field);
                return 0;
        }
        if (file) {
                r = read_file(file, SECRET_MAX, ret, ret_len, errp);
                return r < 0 ? err_wrap(errp, "%s.file", field) : 0;
        }
        if (content) {
                *ret = xstrdup(content);
                *ret_len = strlen(content);
                return 0;
        }
        if (json_get_str(def, "environment", NULL))
                return err_setx(errp, EINVAL,
                                "%s.environment: secrets from the environment of `up` are not "
                                "passed to agents; use file or content",
                                field);
        return err_setx(errp, EINVAL, "%s: has no file, content or data", field);
}

static int write_mount(const struct pod_spec *spec, const char *dir, size_t ci, size_t mi,
                       const json_t *m, struct err **errp) {
        const char *type = json_get_str(m, "type", ""), *src = json_get_str(m, "source", "");
        const json_t *defs = section(spec, streq(type, "secret") ? "secrets" : "configs");
        const json_t *def = json_object_get(defs, src), *data = json_object_get(def, "data");
        _cleanup_free_ char *path = pod_secret_path(dir, ci, mi);
        _cleanup_free_ char *field = xasprintf("%ss.%s", type, src);
        int64_t mode = json_get_int(m, "mode", 0444);
        long uid, gid;
        int r;

        if (!def)
                return err_setx(errp, ENOENT,
                                "stack '%s', service '%s': %s '%s' is not declared in the stack",
                                spec->stack, spec->service, type, src);
        if (json_get_str(def, "error", NULL))
                return err_setx(errp, EINVAL, "stack '%s', service '%s': %s", spec->stack,
                                spec->service, json_get_str(def, "error", ""));
        if (json_get_bool(def, "external", false) && !json_get_str(def, "content_base64", NULL))
                return err_setx(errp, EINVAL,
                                "stack '%s', service '%s': external %s '%s' was not resolved by "
                                "the controller",
                                spec->stack, spec->service, type, src);
        if (mode < 0 || mode > 07777)
                return err_setx(errp, EINVAL, "%s: mode %" PRId64 " is out of range", field, mode);
        r = id_of(m, "uid", 0, &uid, field, errp);
        if (r >= 0)
                r = id_of(m, "gid", 0, &gid, field, errp);
        if (r < 0)
                return r;
        if (json_is_object(data)) {
                /* Kubernetes: a directory with one file per key (or per item). */
                const json_t *items = json_object_get(m, "items"), *it, *v;
                const char *k;
                size_t i;

                if (mkdir(path, 0755) < 0)
                        return err_setx(errp, errno, "create '%s'", path);
                if (json_array_size(items) == 0)
                        json_object_foreach ((json_t *)data, k, v) {
                                _cleanup_free_ char *f = NULL;
                                const char *s = json_string_value(v);

                                if (!s || strchr(k, '/') || k[0] == '.')
                                        return err_setx(errp, EINVAL, "%s.data.%s: bad key", field,
                                                        k);
                                f = xasprintf("%s/%s", path, k);
                                r = write_secret(f, s, strlen(s), (mode_t)mode, uid, gid, errp);
                                if (r < 0)
                                        return r;
                        }
                json_array_foreach (items, i, it) {
                        const char *key = json_get_str(it, "key", ""),
                                   *p = json_get_str(it, "path", "");
                        const char *s = json_get_str(data, key, NULL);
                        _cleanup_free_ char *f = NULL;

                        if (!s || !p[0] || strstr(p, "..") || strchr(p, '/') || p[0] == '.')
                                return err_setx(errp, EINVAL,
                                                "%s: items[%zu]: no key '%s' or bad path '%s'",
                                                field, i, key, p);
                        f = xasprintf("%s/%s", path, p);
                        r = write_secret(f, s, strlen(s), (mode_t)mode, uid, gid, errp);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        {
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;

                r = secret_content(def, field, &buf, &len, errp);
                if (r >= 0)
                        r = write_secret(path, buf, len, (mode_t)mode, uid, gid, errp);
                if (r < 0)
                        return err_wrap(errp, "stack '%s', service '%s'", spec->stack,
                                        spec->service);
        }
        return 0;
}

int pod_secrets_prepare(struct daemon *d, const struct pod_spec *spec, char **ret_dir,
                        struct err **errp) {
        _cleanup_free_ char *dir = NULL, *parent = NULL;
        const json_t *ct, *m;
        bool any = false;
        size_t i, k;
        int r;

        json_array_foreach (json_object_get(spec->pod, "containers"), i, ct)
                json_array_foreach (json_object_get(ct, "mounts"), k, m) {
                        const char *t = json_get_str(m, "type", "");
                        any |= streq(t, "secret") || streq(t, "config");
                }
        if (!any) {
                *ret_dir = NULL;
                return 0;
        }
        pod_secrets_cleanup(d, spec->name); /* a leftover of a crashed create */
        parent = xasprintf("%s/pods", d->run);
        dir = secrets_dir(d, spec->name);
        r = mkdir_p(parent, 0700, errp);
        if (r >= 0 && mkdir(dir, 0700) < 0)
                r = err_setx(errp, errno, "create '%s'", dir);
        if (r < 0)
                return r;
        /* Secrets never touch a disk: a small tmpfs per pod, gone with the pod. */
        if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0700,size=" SECRETS_TMPFS_SIZE) < 0) {
                r = err_setx(errp, errno, "mount the secrets tmpfs on '%s'", dir);
                (void)rmdir(dir);
                return r;
        }
        json_array_foreach (json_object_get(spec->pod, "containers"), i, ct)
                json_array_foreach (json_object_get(ct, "mounts"), k, m) {
                        const char *t = json_get_str(m, "type", "");

                        if (!streq(t, "secret") && !streq(t, "config"))
                                continue;
                        r = write_mount(spec, dir, i, k, m, errp);
                        if (r < 0) {
                                pod_secrets_cleanup(d, spec->name);
                                return r;
                        }
                }
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

/* ---- garbage collection of stack networks ---- */

int pod_res_gc(struct daemon *d, char *const *live) {
        _cleanup_strv_ char **names = xnew0(char *, 1);
        struct ctr **all = NULL;
        size_t cn;
        int removed = 0;

        if (!d->net)
                return 0;
        cn = d->ctrs ? ctr_all(d->ctrs, &all) : 0;
        for (size_t i = 0; i < netmgr_n_networks(d->net); i++)
                strv_push(&names, netmgr_network_at(d->net, i)->name);
        STRV_FOREACH (nm, names) {
                _cleanup_json_ json_t *labels = api_network_labels(d, *nm);
                _cleanup_err_ struct err *e = NULL;
                const char *stack = json_get_str(labels, "berth.stack", NULL);
                bool used = false;

                if (!stack || strv_contains(live, stack))
                        continue;
                for (size_t i = 0; i < cn && !used; i++)
                        used = ctr_net_uses(all[i]->rec, *nm);
                if (used)
                        continue;
                if (api_network_remove(d, *nm, &e) < 0)
                        log_warn(NULL, "Failed to remove network '%s' of stack '%s': %s, ignoring",
                                 *nm, stack, err_msg(e));
                else
                        removed++;
        }
        return removed;
}
