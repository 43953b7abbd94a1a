/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/networks/...: docker's network API on the network manager (agent/netd.h) and the
 * container records (agent/ctr_net.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_networks.h"
#include "cleanup.h"
#include "ctr_internal.h"
#include "ctr_net.h"
#include "events.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "net/netmgr.h"
#include "netd.h"
#include "strv.h"
#include "xalloc.h"

/* Labels, Attachable and Created are berth-side metadata of a network:
 * <root>/network-meta/<name>.json. */
static char *meta_path(struct daemon *d, const char *name) {
        return xasprintf("%s/network-meta/%s.json", d->root, name);
}

static json_t *meta_load(struct daemon *d, const char *name) {
        _cleanup_free_ char *p = meta_path(d, name);
        json_t *j = NULL;

        if (json_load_path(p, 1u << 20, &j, NULL) < 0 || !json_is_object(j)) {
                json_decref(j);
                j = json_object();
        }
        return j;
}

static struct netmgr *mgr_or_reply(struct http_req *req, struct daemon *d) {
        _cleanup_err_ struct err *e = NULL;
        struct netmgr *m;

        if (netd_get(d, &m, &e) < 0) {
                http_reply_err(req, e);
                return NULL;
        }
        return m;
}

/* Name, full id or unique id prefix. */
static const struct net_network *find_net(struct netmgr *m, const char *ref, struct err **errp) {
        const struct net_network *n = netmgr_network_get(m, ref), *hit = NULL;

        if (n)
                return n;
        for (size_t i = 0; i < netmgr_n_networks(m); i++) {
                n = netmgr_network_at(m, i);
                if (streq(n->id, ref))
                        return n;
                if (strlen(ref) >= 1 && str_startswith(n->id, ref)) {
                        if (hit) {
                                err_setx(errp, EINVAL, "network %s is ambiguous", ref);
                                return NULL;
                        }
                        hit = n;
                }
        }
        if (!hit)
                err_setx(errp, ENOENT, "network %s not found", ref);
        return hit;
}

static json_t *net_json(struct daemon *d, const struct net_network *n) {
        _cleanup_json_ json_t *meta = meta_load(d, n->name);
        json_t *ctrs = json_object(), *cfg, *opts = json_object();
        struct ctr **all;
        size_t cn = d->ctrs ? ctr_all(d->ctrs, &all) : 0;
        char sn[19], gw[16], rg[19];

        for (size_t i = 0; i < cn; i++) {
                const json_t *ep = json_object_get(
                        json_object_get(json_object_get(all[i]->rec, "NetworkSettings"),
                                        "Networks"),
                        n->name);
                const char *ip = json_get_str(ep, "IPAddress", "");

                if (!ip[0])
                        continue;
                json_object_set_new(ctrs, all[i]->id,
                                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", ctr_name(all[i]),
                                              "EndpointID", json_get_str(ep, "EndpointID", ""),
                                              "MacAddress", json_get_str(ep, "MacAddress", ""),
                                              "IPv4Address", "", "IPv6Address", ""));
                json_object_set_new(json_object_get(ctrs, all[i]->id), "IPv4Address",
                                    json_sprintf("%s/%d", ip, (int)n->ipam.subnet.len));
        }
        ipam_cidr_format(&n->ipam.subnet, sn);
        ipam_ip_format(n->ipam.gateway, gw);
        cfg = json_pack("{s:s,s:s}", "Subnet", sn, "Gateway", gw);
        if (n->ipam.range.len != n->ipam.subnet.len || n->ipam.range.net != n->ipam.subnet.net) {
                ipam_cidr_format(&n->ipam.range, rg);
                json_object_set_new(cfg, "IPRange", json_string(rg));
        }
        if (n->mtu)
                json_object_set_new(opts, "com.docker.network.driver.mtu",
                                    json_sprintf("%u", n->mtu));
        json_object_set_new(opts, "com.docker.network.bridge.enable_icc",
                            json_string(n->icc ? "true" : "false"));
        json_object_set_new(opts, "com.docker.network.bridge.name", json_string(n->ifname));
        if (n->driver == NET_DRIVER_OVERLAY)
                json_object_set_new(opts, NET_OVERLAY_DATAPATH_OPT,
                                    json_string(n->macvlan ? "macvlan" : "bridge"));
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:{},s:[o]},s:b,s:b,s:b,s:o,s:o,s:o}",
                         "Name", n->name, "Id", n->id, "Created",
                         json_get_str(meta, "Created", "0001-01-01T00:00:00Z"), "Scope",
                         n->driver == NET_DRIVER_OVERLAY ? "swarm" : "local", "Driver",
                         net_driver_to_string(n->driver), "EnableIPv6", 0, "IPAM", "Driver",
                         "default", "Options", "Config", cfg, "Internal", n->internal, "Attachable",
                         json_get_bool(meta, "Attachable", false), "Ingress", 0, "Containers", ctrs,
                         "Options", opts, "Labels",
                         json_object_get(meta, "Labels")
                                 ? json_deep_copy(json_object_get(meta, "Labels"))
                                 : json_object());
}

static void h_list(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        struct netmgr *m = mgr_or_reply(req, d);
        _cleanup_json_ json_t *out = json_array();

        if (!m)
                return;
        for (size_t i = 0; i < netmgr_n_networks(m); i++)
                json_array_append_new(out, net_json(d, netmgr_network_at(m, i)));
        http_reply_json(req, 200, out);
}

static void h_inspect(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        struct netmgr *m = mgr_or_reply(req, d);
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *out = NULL;
        const struct net_network *n;

        if (!m)
                return;
        n = find_net(m, http_req_param(req, "id"), &e);
        if (!n) {
                http_reply_err(req, e);
                return;
        }
        out = net_json(d, n);
        http_reply_json(req, 200, out);
}

/* "k=v" strings of a JSON object of strings; the error names field. */
static int kv_strv(const json_t *o, const char *field, char ***ret, struct err **errp) {
        _cleanup_strv_ char **l = xnew0(char *, 1);
        const char *k;
        json_t *v;

        if (o && !json_is_object(o) && !json_is_null(o))
                return err_setx(errp, EINVAL, "%s: must be an object", field);
        json_object_foreach ((json_t *)o, k, v) {
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL, "%s.%s: must be a string", field, k);
                strv_push_take(&l, xasprintf("%s=%s", k, json_string_value(v)));
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int do_create(struct daemon *d, struct netmgr *m, const json_t *b, json_t **ret,
                     struct err **errp) {
        const char *name = json_get_str(b, "Name", ""), *driver = json_get_str(b, "Driver", "");
        const json_t *ipam = json_object_get(b, "IPAM"), *cfgs = json_object_get(ipam, "Config"),
                     *cfg = json_array_get(cfgs, 0), *labels = json_object_get(b, "Labels");
        _cleanup_strv_ char **opts = NULL, **lab = NULL;
        _cleanup_free_ char *mp = NULL, *now = NULL;
        _cleanup_json_ json_t *meta = NULL;
        const struct net_network *n;
        int r;

        if (!name[0])
                return err_setx(errp, EINVAL, "Name: a network name is required");
        if (strlen(name) > 64 ||
            name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                              "VWXYZ0123456789_.-")] ||
            !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]))
                return err_setx(errp, EINVAL,
                                "Name: invalid network name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                                "are allowed (at most 64)",
                                name);
        if (streq(name, "host") || streq(name, "none") || streq(name, "default"))
                return err_setx(errp, EACCES,
                                "Name: %s is a pre-defined network and cannot be "
                                "created",
                                name);
        if (netmgr_network_get(m, name))
                return err_setx(errp, EEXIST, "network with name %s already exists", name);
        if (json_array_size(cfgs) > 1)
                return err_setx(errp, EINVAL,
                                "IPAM.Config: only one IPv4 configuration is "
                                "supported");
        if (json_is_string(json_object_get(ipam, "Driver")) &&
            !streq(json_get_str(ipam, "Driver", ""), "default"))
                return err_setx(errp, EINVAL, "IPAM.Driver: only 'default' is supported");
        r = kv_strv(json_object_get(b, "Options"), "Options", &opts, errp);
        if (r >= 0)
                r = kv_strv(labels, "Labels", &lab, errp);
        if (r < 0)
                return r;
        r = netmgr_network_create(
                m,
                &(struct net_create_opts){.name = name,
                                          .driver = driver[0] ? driver : NULL,
                                          .subnet = json_get_str(cfg, "Subnet", "")[0]
                                                            ? json_get_str(cfg, "Subnet", "")
                                                            : NULL,
                                          .gateway = json_get_str(cfg, "Gateway", "")[0]
                                                             ? json_get_str(cfg, "Gateway", "")
                                                             : NULL,
                                          .ip_range = json_get_str(cfg, "IPRange", "")[0]
                                                              ? json_get_str(cfg, "IPRange", "")
                                                              : NULL,
                                          .internal = json_get_bool(b, "Internal", false),
                                          .options = opts,
                                          /* berth: overlay networks of the controller */
                                          .vni = (uint32_t)json_get_int(b, "VNI", 0),
                                          .vtep_local = json_get_str(b, "VtepLocal", NULL),
                                          .node_ip = json_get_str(b, "NodeIP", NULL)},
                &n, errp);
        if (r < 0)
                return r;
        now = ctr_now_str();
        meta = json_pack("{s:s,s:b,s:o}", "Created", now, "Attachable",
                         json_get_bool(b, "Attachable", false), "Labels",
                         json_is_object(labels) ? json_deep_copy(labels) : json_object());
        mp = xasprintf("%s/network-meta", d->root);
        r = mkdir_p(mp, 0700, errp);
        free(mp);
        mp = meta_path(d, name);
        if (r >= 0)
                r = json_save_path(mp, meta, errp);
        if (r < 0) {
                (void)netmgr_network_remove(m, name, NULL);
                return err_wrap(errp, "save network metadata");
        }
        event_publish(
                d->events, realtime_usec() * 1000, "network", "create", n->id,
                json_pack("{s:s,s:s}", "name", n->name, "type", net_driver_to_string(n->driver)));
        *ret = json_pack("{s:s,s:s}", "Id", n->id, "Warning", "");
        return 0;
}

static void h_create(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        struct netmgr *m = mgr_or_reply(req, d);
        _cleanup_json_ json_t *body = NULL, *out = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (!m)
                return;
        if (http_req_json(req, &body, &e) < 0 || do_create(d, m, body, &out, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        log_info(NULL, "Network '%s' created", json_get_str(body, "Name", ""));
        http_reply_json(req, 201, out);
}

static int do_remove(struct daemon *d, struct netmgr *m, const struct net_network *n,
                     struct err **errp) {
        _cleanup_free_ char *id = xstrdup(n->id), *name = xstrdup(n->name), *mp = NULL;
        char type[16];
        int r;

        snprintf(type, sizeof(type), "%s", net_driver_to_string(n->driver));
        if (streq(name, NET_DEFAULT_NAME))
                return err_setx(errp, EACCES, "%s is a pre-defined network and cannot be removed",
                                name);
        r = netmgr_network_remove(m, name, errp);
        if (r < 0)
                return r;
        mp = meta_path(d, name);
        (void)unlink(mp);
        event_publish(d->events, realtime_usec() * 1000, "network", "destroy", id,
                      json_pack("{s:s,s:s}", "name", name, "type", type));
        return 0;
}

static void h_remove(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        struct netmgr *m = mgr_or_reply(req, d);
        _cleanup_err_ struct err *e = NULL;
        const struct net_network *n;

        if (!m)
                return;
        n = find_net(m, http_req_param(req, "id"), &e);
        if (!n || do_remove(d, m, n, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 204, NULL, NULL, 0);
}

static void h_prune(struct http_req *req, void *ud) {
        struct daemon *d = ud;
        struct netmgr *m = mgr_or_reply(req, d);
        _cleanup_json_ json_t *gone = json_array(), *out = NULL;
        _cleanup_strv_ char **names = xnew0(char *, 1);
        struct ctr **all;
        size_t cn;

        if (!m)
                return;
        cn = d->ctrs ? ctr_all(d->ctrs, &all) : 0;
        for (size_t i = 0; i < netmgr_n_networks(m); i++)
                strv_push(&names, netmgr_network_at(m, i)->name);
        STRV_FOREACH (nm, names) {
                _cleanup_err_ struct err *e = NULL;
                const struct net_network *n = netmgr_network_get(m, *nm);
                bool used = false;

                if (!n || streq(*nm, NET_DEFAULT_NAME))
                        continue;
                for (size_t i = 0; i < cn && !used; i++)
                        used = ctr_net_uses(all[i]->rec, *nm);
                if (used)
                        continue;
                if (do_remove(d, m, n, &e) >= 0)
                        json_array_append_new(gone, json_string(*nm));
        }
        out = json_pack("{s:O}", "NetworksDeleted", gone);
        http_reply_json(req, 200, out);
}

static void connect_common(struct http_req *req, void *ud, bool connect) {
        struct daemon *d = ud;
        struct netmgr *m = mgr_or_reply(req, d);
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        const struct net_network *n;
        const json_t *epc;
        struct ctr *c;
        int r;

        if (!m)
                return;
        n = find_net(m, http_req_param(req, "id"), &e);
        r = n ? http_req_json(req, &body, &e) : -ENOENT;
        if (r >= 0 && !json_get_str(body, "Container", "")[0])
                r = err_setx(&e, EINVAL, "Container: a container is required");
        if (r >= 0)
                r = ctr_lookup(d->ctrs, json_get_str(body, "Container", ""), &c, &e);
        if (r >= 0) {
                epc = json_object_get(body, "EndpointConfig");
                r = connect ? ctr_net_connect(c, n->name,
                                              json_get_str(json_object_get(epc, "IPAMConfig"),
                                                           "IPv4Address", NULL),
                                              json_object_get(epc, "Aliases"), &e)
                            : ctr_net_disconnect(c, n->name, json_get_bool(body, "Force", false),
                                                 &e);
        }
        if (r < 0) {
                http_reply_err(req, e);
                return;
        }
        http_reply(req, 200, NULL, NULL, 0);
}

static void h_connect(struct http_req *req, void *ud) {
        connect_common(req, ud, true);
}

static void h_disconnect(struct http_req *req, void *ud) {
        connect_common(req, ud, false);
}

const struct http_route api_network_routes[] = {
        {"GET", "/v1/networks", h_list},
        {"POST", "/v1/networks/create", h_create},
        {"POST", "/v1/networks/prune", h_prune},
        {"GET", "/v1/networks/{id}", h_inspect},
        {"DELETE", "/v1/networks/{id}", h_remove},
        {"POST", "/v1/networks/{id}/connect", h_connect},
        {"POST", "/v1/networks/{id}/disconnect", h_disconnect},
        {},
};

/* ---- for the pod runtime (agent/api_networks.h) ---- */

int api_network_create(struct daemon *d, const json_t *body, struct err **errp) {
        _cleanup_json_ json_t *out = NULL;
        struct netmgr *m;
        int r;

        r = netd_get(d, &m, errp);
        if (r < 0)
                return r;
        r = do_create(d, m, body, &out, errp);
        if (r < 0)
                return r;
        log_info(NULL, "Network '%s' created", json_get_str(body, "Name", ""));
        return 0;
}

int api_network_remove(struct daemon *d, const char *name, struct err **errp) {
        const struct net_network *n;
        struct netmgr *m;
        int r;

        r = netd_get(d, &m, errp);
        if (r < 0)
                return r;
        n = netmgr_network_get(m, name);
        if (!n)
                return 0;
        r = do_remove(d, m, n, errp);
        if (r < 0)
                return r;
        log_info(NULL, "Network '%s' removed", name);
        return 1;
}

json_t *api_network_labels(struct daemon *d, const char *name) {
        _cleanup_json_ json_t *meta = meta_load(d, name);
        json_t *l = json_object_get(meta, "Labels");

        return json_is_object(l) ? json_incref(l) : json_object();
}
