/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "net/net.h"
#include "strv.h"
#include "xalloc.h"

#define NET_NAME_MAX 64
#define NET_STATE_MAX (16u << 20)

static const char *const net_driver_table[_NET_DRIVER_MAX] = {
        [NET_DRIVER_BRIDGE] = "bridge",
        [NET_DRIVER_OVERLAY] = "overlay",
};

static const struct net_driver_ops *const net_driver_ops_table[_NET_DRIVER_MAX] = {
        [NET_DRIVER_BRIDGE] = &net_bridge_ops,
        [NET_DRIVER_OVERLAY] = &net_overlay_ops,
};

const char *net_driver_to_string(enum net_driver d) {
        return d >= 0 && d < _NET_DRIVER_MAX ? net_driver_table[d] : NULL;
}

enum net_driver net_driver_from_string(const char *s) {
        for (int i = 0; s && i < _NET_DRIVER_MAX; i++)
                if (streq(net_driver_table[i], s))
                        return (enum net_driver)i;
        return _NET_DRIVER_INVALID;
}

const struct net_driver_ops *net_driver_ops(enum net_driver d) {
        return d >= 0 && d < _NET_DRIVER_MAX ? net_driver_ops_table[d] : NULL;
}

/* docker's rule for network names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; they are also file names. */
static int net_name_check(const char *name, struct err **errp) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > NET_NAME_MAX)
                return err_setx(errp, EINVAL, "invalid network name '%s': 1 to %d characters",
                                name ? name : "", NET_NAME_MAX);
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '.' || c == '-'));
                if (!ok)
                        return err_setx(
                                errp, EINVAL,
                                "invalid network name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-]* "
                                "is allowed",
                                name);
        }
        return 0;
}

static int parse_bool_opt(const char *key, const char *v, bool *ret, struct err **errp) {
        if (streq(v, "true") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "false") || streq(v, "0"))
                *ret = false;
        else
                return err_setx(errp, EINVAL, "option '%s': expected true or false, got '%s'", key,
                                v);
        return 0;
}

/* datapath: set to 1 (macvlan) or 0 (bridge) by NET_OVERLAY_DATAPATH_OPT, left alone
 * otherwise. */
static int net_apply_options(struct net_network *n, char *const *options, int *datapath,
                             struct err **errp) {
        if (strv_length(options) > NET_MAX_OPTIONS)
                return err_setx(errp, E2BIG, "too many network options (max %d)", NET_MAX_OPTIONS);
        STRV_FOREACH (o, options) {
                _cleanup_free_ char *key = NULL;
                const char *eq = strchr(*o, '='), *v;

                if (!eq)
                        return err_setx(errp, EINVAL, "option '%s': expected KEY=VALUE", *o);
                key = xstrndup(*o, (size_t)(eq - *o));
                v = eq + 1;
                if (streq(key, "com.docker.network.driver.mtu")) {
                        char *end = NULL;
                        unsigned long mtu;

                        errno = 0;
                        mtu = strtoul(v, &end, 10);
                        if (!*v || *end || errno || mtu < 68 || mtu > 65535)
                                return err_setx(errp, EINVAL,
                                                "option '%s': MTU must be 68..65535, got '%s'", key,
                                                v);
                        n->mtu = (uint32_t)mtu;
                } else if (streq(key, "com.docker.network.bridge.enable_icc")) {
                        int r = parse_bool_opt(key, v, &n->icc, errp);
                        if (r < 0)
                                return r;
                } else if (streq(key, NET_OVERLAY_DATAPATH_OPT)) {
                        if (streq(v, "macvlan"))
                                *datapath = 1;
                        else if (streq(v, "bridge"))
                                *datapath = 0;
                        else
                                return err_setx(errp, EINVAL,
                                                "option '%s': expected macvlan or bridge, got "
                                                "'%s'",
                                                key, v);
                } else
                        return err_setx(errp, EINVAL, "unknown network option '%s'", key);
        }
        return 0;
}

bool net_overlay_egress(const struct net_network *n) {
        return n->driver == NET_DRIVER_OVERLAY && n->node_ip != 0;
}

bool net_routes_out(const struct net_network *n) {
        return !n->internal || net_overlay_egress(n);
}

/* Overlay networks carry traffic between hosts (no shared gateway out), so they are internal;
 * egress, when the host has an address on the network, goes through that address
 * (net_overlay_egress());
 * the VXLAN header costs 50 bytes of a 1500-byte underlay MTU. */
static int net_overlay_options(struct net_network *n, const struct net_create_opts *o,
                               struct err **errp) {
        int r;

        if (n->driver != NET_DRIVER_OVERLAY) {
                if (o->vni || o->vtep_local || o->vtep_dev || o->node_ip)
                        return err_setx(errp, EINVAL,
                                        "network '%s': vni, vtep and node_ip options need driver "
                                        "overlay",
                                        o->name);
                return 0;
        }
        if (o->vni == 0 || o->vni > 0xffffff) {
                err_setx(errp, EINVAL, "network '%s': vni must be 1..16777215", o->name);
                err_set_field(errp, "vni");
                return -EINVAL;
        }
        r = ipam_ip_parse(o->vtep_local, &n->vtep, errp);
        if (r < 0) {
                err_wrap(errp, "network '%s': vtep_local", o->name);
                err_set_field(errp, "vtep_local");
                return r;
        }
        if (o->vtep_dev) {
                if (!nl_ifname_valid(o->vtep_dev)) {
                        err_setx(errp, EINVAL, "network '%s': invalid vtep_dev '%s'", o->name,
                                 o->vtep_dev);
                        err_set_field(errp, "vtep_dev");
                        return -EINVAL;
                }
                n->vtep_dev = xstrdup(o->vtep_dev);
        }
        if (o->node_ip) {
                r = ipam_ip_parse(o->node_ip, &n->node_ip, errp);
                if (r < 0) {
                        err_wrap(errp, "network '%s': node_ip", o->name);
                        err_set_field(errp, "node_ip");
                        return r;
                }
        }
        n->vni = o->vni;
        n->internal = true;
        if (n->mtu == 0)
                n->mtu = 1450;
        return 0;
}

int net_network_new(const struct net_create_opts *o, const struct net_context *ctx,
                    struct net_network **ret, struct err **errp) {
        _cleanup_net_network_ struct net_network *n = NULL;
        _cleanup_free_ char *id = NULL;
        struct ipam_subnet sub;
        char cidr[19], other[19];
        int r, datapath = -1;

        r = net_name_check(o->name, errp);
        if (r < 0)
                return r;
        n = xnew0(struct net_network, 1);
        n->name = xstrdup(o->name);
        n->icc = true;
        n->internal = o->internal;
        n->driver = net_driver_from_string(o->driver ? o->driver : "bridge");
        if (n->driver < 0)
                return err_setx(errp, EINVAL,
                                "unknown network driver '%s' (available: bridge, overlay)",
                                o->driver);
        for (size_t i = 0; i < ctx->n_networks; i++)
                if (streq(ctx->networks[i]->name, o->name))
                        return err_setx(errp, EEXIST, "network '%s' already exists", o->name);
        r = net_apply_options(n, o->options, &datapath, errp);
        if (r < 0)
                return err_wrap(errp, "network '%s'", o->name);
        r = net_overlay_options(n, o, errp);
        if (r < 0)
                return r;
        /* The overlay's data path: macvlan children of the VXLAN device (no veth, bridge nor
         * br_netfilter per frame: docs/networking.md "Overlay driver"), except where icc=false
         * must be enforced between the containers of a host, which macvlan's bridge mode
         * cannot do: there the bridge. */
        if (datapath >= 0 && n->driver != NET_DRIVER_OVERLAY)
                return err_setx(errp, EINVAL, "network '%s': option '%s' needs driver overlay",
                                o->name, NET_OVERLAY_DATAPATH_OPT);
        if (datapath > 0 && !n->icc)
                return err_setx(errp, EINVAL,
                                "network '%s': option '%s=macvlan' cannot enforce "
                                "com.docker.network.bridge.enable_icc=false (use bridge)",
                                o->name, NET_OVERLAY_DATAPATH_OPT);
        n->macvlan = n->driver == NET_DRIVER_OVERLAY && (datapath >= 0 ? datapath > 0 : n->icc);

        if (o->subnet) {
                r = ipam_init(&n->ipam, o->subnet, o->gateway, o->ip_range, errp);
                if (r < 0)
                        return err_wrap(errp, "network '%s'", o->name);
        } else {
                _cleanup_free_ struct ipam_subnet *used = NULL;
                size_t nu = 0;

                if (o->gateway || o->ip_range)
                        return err_setx(errp, EINVAL,
                                        "network '%s': --gateway and --ip-range need --subnet",
                                        o->name);
                used = xnew0(struct ipam_subnet, ctx->n_networks + ctx->n_host + 1);
                for (size_t i = 0; i < ctx->n_networks; i++)
                        used[nu++] = ctx->networks[i]->ipam.subnet;
                for (size_t i = 0; i < ctx->n_host; i++)
                        used[nu++] = ctx->host[i];
                r = ipam_pick_subnet(ctx->pools ? ctx->pools : ipam_default_pools,
                                     ctx->pools ? ctx->n_pools : ipam_default_pools_n, used, nu,
                                     &sub, errp);
                if (r < 0)
                        return err_wrap(errp, "network '%s'", o->name);
                ipam_cidr_format(&sub, cidr);
                r = ipam_init(&n->ipam, cidr, NULL, NULL, errp);
                if (r < 0)
                        return r;
        }
        ipam_cidr_format(&n->ipam.subnet, cidr);
        if (n->node_ip &&
            (!ipam_contains(&n->ipam.subnet, n->node_ip) || n->node_ip == n->ipam.gateway ||
             n->node_ip == n->ipam.subnet.net || n->node_ip == ipam_broadcast(&n->ipam.subnet))) {
                err_setx(errp, EINVAL,
                         "network '%s': node_ip must be a host address of subnet '%s' other than "
                         "the gateway",
                         o->name, cidr);
                err_set_field(errp, "node_ip");
                return -EINVAL;
        }
        for (size_t i = 0; i < ctx->n_networks; i++)
                if (ipam_overlaps(&n->ipam.subnet, &ctx->networks[i]->ipam.subnet)) {
                        ipam_cidr_format(&ctx->networks[i]->ipam.subnet, other);
                        err_setx(errp, EEXIST,
                                 "network '%s': subnet '%s' overlaps network '%s' (%s)", o->name,
                                 cidr, ctx->networks[i]->name, other);
                        err_set_field(errp, "subnet");
                        return -EEXIST;
                }
        for (size_t i = 0; i < ctx->n_host; i++)
                if (ipam_overlaps(&n->ipam.subnet, &ctx->host[i])) {
                        ipam_cidr_format(&ctx->host[i], other);
                        err_setx(errp, EEXIST, "network '%s': subnet '%s' overlaps host route %s",
                                 o->name, cidr, other);
                        err_set_field(errp, "subnet");
                        return -EEXIST;
                }

        if (o->is_default && o->default_ifname && !nl_ifname_valid(o->default_ifname))
                return err_setx(errp, EINVAL, "invalid bridge name '%s'", o->default_ifname);
        id = random_hex(NET_ID_LEN / 2);
        n->ifname = o->is_default
                            ? xstrdup(o->default_ifname ? o->default_ifname : NET_DEFAULT_IFNAME)
                            : xasprintf("br-%.12s", id);
        n->id = TAKE_PTR(id);
        *ret = TAKE_PTR(n);
        return 0;
}

struct net_network *net_network_free(struct net_network *n) {
        if (!n)
                return NULL;
        free(n->name);
        free(n->id);
        free(n->ifname);
        free(n->vtep_dev);
        ipam_done(&n->ipam);
        free(n);
        return NULL;
}

void net_network_freep(struct net_network **n) {
        *n = net_network_free(*n);
}

json_t *net_network_to_json(const struct net_network *n) {
        json_t *j = json_object();

        json_object_set_new(j, "version", json_integer(NET_STATE_VERSION));
        json_object_set_new(j, "name", json_string(n->name));
        json_object_set_new(j, "id", json_string(n->id));
        json_object_set_new(j, "driver", json_string(net_driver_to_string(n->driver)));
        json_object_set_new(j, "ifname", json_string(n->ifname));
        json_object_set_new(j, "internal", json_boolean(n->internal));
        json_object_set_new(j, "icc", json_boolean(n->icc));
        json_object_set_new(j, "mtu", json_integer(n->mtu));
        json_object_set_new(j, "ipam", ipam_to_json(&n->ipam));
        if (n->driver == NET_DRIVER_OVERLAY) {
                char ip[16];

                ipam_ip_format(n->vtep, ip);
                json_object_set_new(j, "vni", json_integer(n->vni));
                json_object_set_new(j, "vtep", json_string(ip));
                json_set_str(j, "vtep_dev", n->vtep_dev);
                json_object_set_new(j, "datapath", json_string(n->macvlan ? "macvlan" : "bridge"));
                if (n->node_ip) {
                        ipam_ip_format(n->node_ip, ip);
                        json_object_set_new(j, "node_ip", json_string(ip));
                }
        }
        return j;
}

static bool is_hex_id(const char *s) {
        if (!s || strlen(s) != NET_ID_LEN)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

int net_network_from_json(const json_t *j, struct net_network **ret, struct err **errp) {
        _cleanup_net_network_ struct net_network *n = NULL;
        const char *name = json_get_str(j, "name", NULL), *ifname = json_get_str(j, "ifname", NULL);
        int64_t version = json_get_int(j, "version", 0), mtu = json_get_int(j, "mtu", 0);
        int r;

        if (version != NET_STATE_VERSION)
                return err_setx(errp, EINVAL, "unsupported network state version %" PRId64,
                                version);
        r = net_name_check(name, errp);
        if (r < 0)
                return r;
        n = xnew0(struct net_network, 1);
        n->name = xstrdup(name);
        if (!is_hex_id(json_get_str(j, "id", NULL)))
                return err_setx(errp, EINVAL, "network '%s': invalid id", name);
        n->id = xstrdup(json_get_str(j, "id", NULL));
        n->driver = net_driver_from_string(json_get_str(j, "driver", NULL));
        if (n->driver < 0)
                return err_setx(errp, EINVAL, "network '%s': unknown driver", name);
        if (!nl_ifname_valid(ifname))
                return err_setx(errp, EINVAL, "network '%s': invalid ifname", name);
        n->ifname = xstrdup(ifname);
        n->internal = json_get_bool(j, "internal", false);
        n->icc = json_get_bool(j, "icc", true);
        if (mtu < 0 || mtu > 65535)
                return err_setx(errp, EINVAL, "network '%s': invalid mtu", name);
        n->mtu = (uint32_t)mtu;
        r = ipam_from_json(json_object_get(j, "ipam"), &n->ipam, errp);
        if (r < 0)
                return err_wrap(errp, "network '%s'", name);
        if (n->driver == NET_DRIVER_OVERLAY) {
                struct net_create_opts o = {.name = name,
                                            .vni = (uint32_t)json_get_int(j, "vni", 0),
                                            .vtep_local = json_get_str(j, "vtep", NULL),
                                            .vtep_dev = json_get_str(j, "vtep_dev", NULL),
                                            .node_ip = json_get_str(j, "node_ip", NULL)};
                uint32_t mtu_saved = n->mtu;
                const char *dp;

                if (json_get_int(j, "vni", 0) > 0xffffff)
                        return err_setx(errp, EINVAL, "network '%s': invalid vni", name);
                r = net_overlay_options(n, &o, errp);
                if (r < 0)
                        return r;
                n->mtu = mtu_saved;
                n->internal = true;
                /* Networks saved before the macvlan path have no "datapath": bridge. */
                dp = json_get_str(j, "datapath", "bridge");
                if (!streq(dp, "bridge") && !streq(dp, "macvlan"))
                        return err_setx(errp, EINVAL, "network '%s': invalid datapath '%s'", name,
                                        dp);
                n->macvlan = streq(dp, "macvlan");
                if (n->macvlan && !n->icc)
                        return err_setx(errp, EINVAL,
                                        "network '%s': datapath macvlan with icc false", name);
        }
        *ret = TAKE_PTR(n);
        return 0;
}

int net_network_save(const char *root, const struct net_network *n, struct err **errp) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_json_ json_t *j = NULL;
        int r;

        dir = xasprintf("%s/networks", root);
        r = mkdir_p(dir, 0700, errp);
        if (r < 0)
                return r;
        path = xasprintf("%s/%s.json", dir, n->name);
        j = net_network_to_json(n);
        r = json_save_path(path, j, errp);
        if (r < 0)
                return err_wrap(errp, "save network '%s'", n->name);
        return 0;
}

int net_network_load(const char *root, const char *name, struct net_network **ret,
                     struct err **errp) {
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_t *j = NULL;
        int r;

        r = net_name_check(name, errp);
        if (r < 0)
                return r;
        path = xasprintf("%s/networks/%s.json", root, name);
        r = json_load_path(path, NET_STATE_MAX, &j, errp);
        if (r < 0)
                return err_wrap(errp, "load network '%s'", name);
        r = net_network_from_json(j, ret, errp);
        if (r < 0)
                return err_wrap(errp, "'%s'", path);
        return 0;
}

static int net_cmp(const void *a, const void *b) {
        return strcmp((*(struct net_network *const *)a)->name,
                      (*(struct net_network *const *)b)->name);
}

int net_network_load_all(const char *root, struct net_network ***ret, size_t *ret_n,
                         struct err **errp) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct net_network **l = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;

        dir = xasprintf("%s/networks", root);
        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return err_set(errp, errno, "open '%s'", dir);
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL;
                struct net_network *x;
                int r;

                if (de->d_name[0] == '.' || !str_endswith(de->d_name, ".json"))
                        continue;
                name = xstrndup(de->d_name, strlen(de->d_name) - 5);
                r = net_network_load(root, name, &x, errp);
                if (r < 0) {
                        net_network_list_free(l, n);
                        return r;
                }
                XGROW(l, allocated, n + 1);
                l[n++] = x;
        }
        if (n > 1)
                qsort_safe(l, n, sizeof(*l), net_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
}

void net_network_list_free(struct net_network **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                net_network_free(l[i]);
        free(l);
}

int net_network_remove_state(const char *root, const char *name, struct err **errp) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = net_name_check(name, errp);
        if (r < 0)
                return r;
        path = xasprintf("%s/networks/%s.json", root, name);
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return 0;
                return err_set(errp, errno, "remove '%s'", path);
        }
        return 1;
}

/* FNV-1a: stable, cheap, and enough to keep names of one host apart. */
void net_instance_name(const char *root, char buf[NET_INSTANCE_MAX]) {
        size_t n = root ? strlen(root) : 0;
        uint32_t h = 2166136261u;

        while (n > 1 && root[n - 1] == '/')
                n--;
        if (n == 0 || (n == strlen(NET_DEFAULT_ROOT) && !strncmp(root, NET_DEFAULT_ROOT, n))) {
                snprintf(buf, NET_INSTANCE_MAX, "berth");
                return;
        }
        for (size_t i = 0; i < n; i++)
                h = (h ^ (uint8_t)root[i]) * 16777619u;
        snprintf(buf, NET_INSTANCE_MAX, "berth-%08x", h);
}

void net_instance_bridge(const char *instance, char buf[NET_INSTANCE_MAX]) {
        if (!instance || streq(instance, "berth"))
                snprintf(buf, NET_INSTANCE_MAX, "%s", NET_DEFAULT_IFNAME);
        else
                snprintf(buf, NET_INSTANCE_MAX, "%s", instance);
}

void net_host_ifname(const char *net_id, const char *ep_id, char buf[16]) {
        uint32_t h = 2166136261u;

        for (const char *p = net_id; p && *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        h = (h ^ '/') * 16777619u;
        for (const char *p = ep_id; p && *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        snprintf(buf, 16, "vb%08x", h);
}

int net_endpoint_new(struct net_network *n, const char *id, const char *ifname,
                     const char *requested_ip, const char *requested_mac, struct net_endpoint **ret,
                     struct err **errp) {
        _cleanup_net_endpoint_ struct net_endpoint *ep = NULL;
        uint32_t want = 0;
        char host[16];
        int r;

        if (!id || !id[0] || strlen(id) > 128)
                return err_setx(errp, EINVAL, "invalid endpoint id '%s'", id ? id : "");
        if (!nl_ifname_valid(ifname))
                return err_setx(errp, EINVAL, "invalid interface name '%s'", ifname ? ifname : "");
        ep = xnew0(struct net_endpoint, 1);
        if (requested_mac && nl_mac_parse(requested_mac, ep->mac) < 0)
                return err_setx(errp, EINVAL, "invalid --mac-address '%s'", requested_mac);
        if (requested_mac && (ep->mac[0] & 1))
                return err_setx(errp, EINVAL, "invalid --mac-address '%s': multicast address",
                                requested_mac);
        if (requested_ip) {
                r = ipam_ip_parse(requested_ip, &want, errp);
                if (r < 0)
                        return err_wrap(errp, "--ip");
        }
        r = ipam_alloc(&n->ipam, id, want, &ep->ip, errp);
        if (r < 0)
                return err_wrap(errp, "network '%s'", n->name);
        if (!requested_mac) {
                ep->mac[0] = 0x02;
                ep->mac[1] = 0x42;
                ep->mac[2] = (uint8_t)(ep->ip >> 24);
                ep->mac[3] = (uint8_t)(ep->ip >> 16);
                ep->mac[4] = (uint8_t)(ep->ip >> 8);
                ep->mac[5] = (uint8_t)ep->ip;
        }
        net_host_ifname(n->id, id, host);
        ep->id = xstrdup(id);
        ep->ifname = xstrdup(ifname);
        ep->host_ifname = xstrdup(host);
        *ret = TAKE_PTR(ep);
        return 0;
}

struct net_endpoint *net_endpoint_free(struct net_endpoint *ep) {
        if (!ep)
                return NULL;
        free(ep->id);
        free(ep->host_ifname);
        free(ep->ifname);
        free(ep);
        return NULL;
}

void net_endpoint_freep(struct net_endpoint **ep) {
        *ep = net_endpoint_free(*ep);
}

int net_sysctl_write(const char *path, const char *value, struct err **errp) {
        _cleanup_free_ char *full = NULL;
        _cleanup_close_ int fd = -EBADF;
        char cur[64] = "";
        ssize_t n;
        int r;

        if (strstr(path, ".."))
                return err_setx(errp, EINVAL, "invalid sysctl path '%s'", path);
        full = xasprintf("/proc/sys/%s", path);
        fd = open(full, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open sysctl '%s'", full);
        n = read(fd, cur, sizeof(cur) - 1);
        if (n > 0) {
                cur[n] = 0;
                cur[strcspn(cur, "\n")] = 0;
                if (streq(cur, value))
                        return 0;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return err_set(errp, errno, "seek sysctl '%s'", full);
        r = fd_write_full(fd, value, strlen(value));
        if (r < 0)
                return err_set(errp, -r, "write '%s' to sysctl '%s'", value, full);
        return 1;
}
