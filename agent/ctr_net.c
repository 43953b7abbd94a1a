/* SPDX-License-Identifier: Apache-2.0 */
/* Containers on berth networks: the attachment plan made at create, the connections made at
 * start and undone at exit, network connect/disconnect of live containers, published ports,
 * --link environment and the /etc/hosts and /etc/resolv.conf contents. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_internal.h"
#include "ctr_net.h"
#include "events.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "net/dns.h"
#include "net/netmgr.h"
#include "net/nft.h"
#include "netd.h"
#include "strv.h"
#include "xalloc.h"

#define MAX_NETWORKS 16

static const char *net_mode(const json_t *rec) {
        return json_get_str(json_object_get(rec, "HostConfig"), "NetworkMode", "none");
}

/* Whether the container uses berth networks at all. */
static bool uses_networks(const json_t *rec) {
        const char *mode = net_mode(rec);

        return !streq(mode, "none") && !streq(mode, "host") && !str_startswith(mode, "container:");
}

static const char *canon_net(const char *name) {
        return streq(name, "default") || !name[0] ? NET_DEFAULT_NAME : name;
}

static void publish(struct ctr_mgr *m, const char *action, const struct net_network *n,
                    const char *ctr_id) {
        event_publish(m->d->events, realtime_usec() * 1000, "network", action, n->id,
                      json_pack("{s:s,s:s,s:s}", "container", ctr_id, "name", n->name, "type",
                                net_driver_to_string(n->driver)));
}

bool ctr_net_wanted(const json_t *rec) {
        return uses_networks(rec) && json_array_size(json_object_get(rec, "BerthNetworks")) > 0;
}

bool ctr_net_uses(const json_t *rec, const char *network) {
        size_t i;
        json_t *v;

        json_array_foreach (json_object_get(rec, "BerthNetworks"), i, v)
                if (streq(json_get_str(v, "Name", ""), network))
                        return true;
        return json_object_get(json_object_get(json_object_get(rec, "NetworkSettings"), "Networks"),
                               network) != NULL;
}

/* ---- ports ---- */

/* Host ports berth publishes for running containers other than self: "PORT/PROTO" entries. */
static char **berth_ports(struct ctr_mgr *m, const char *self) {
        char **l = xnew0(char *, 1);

        for (size_t k = 0; k < m->n; k++) {
                const json_t *ports;
                const char *key;
                json_t *binds, *b;
                size_t i;

                if (self && streq(m->v[k]->id, self))
                        continue;
                if (!ctr_running(m->v[k]))
                        continue;
                ports = json_object_get(json_object_get(m->v[k]->rec, "NetworkSettings"), "Ports");
                json_object_foreach ((json_t *)ports, key, binds) {
                        const char *proto = strchr(key, '/');
                        json_array_foreach (binds, i, b)
                                strv_push_take(&l,
                                               xasprintf("%s%s", json_get_str(b, "HostPort", ""),
                                                         proto ? proto : "/tcp"));
                }
        }
        return l;
}

static int port_check(char *const *taken, const char *host_ip, unsigned port, const char *proto,
                      struct err **errp) {
        _cleanup_free_ char *key = xasprintf("%u/%s", port, proto),
                            *spec = xasprintf("%s%s%u:%u/%s", host_ip, host_ip[0] ? ":" : "", port,
                                              port, proto);
        struct nft_publish p;
        int r;

        if (strv_contains(taken, key))
                return err_setx(errp, EADDRINUSE,
                                "Bind for %s:%u failed: port is already allocated by another "
                                "container",
                                host_ip[0] ? host_ip : "0.0.0.0", port);
        r = nft_publish_parse(spec, &p, errp);
        if (r < 0)
                return r;
        return nft_port_check_free(&p, errp);
}

/* A free port from the kernel's ephemeral range. */
static int ephemeral_port(char *const *taken, const char *host_ip, const char *proto, unsigned *ret,
                          struct err **errp) {
        for (int tries = 0; tries < 64; tries++) {
                struct sockaddr_in sa = {.sin_family = AF_INET};
                socklen_t len = sizeof(sa);
                _cleanup_close_ int fd =
                        socket(AF_INET,
                               (streq(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
                _cleanup_free_ char *key = NULL;

                if (fd < 0)
                        return err_set(errp, errno, "socket");
                if (host_ip[0] && inet_pton(AF_INET, host_ip, &sa.sin_addr) != 1)
                        return err_setx(errp, EINVAL, "invalid host IP '%s'", host_ip);
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
                    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
                        return err_set(errp, errno, "pick a free host port");
                key = xasprintf("%u/%s", ntohs(sa.sin_port), proto);
                if (strv_contains(taken, key))
                        continue;
                *ret = ntohs(sa.sin_port);
                return 0;
        }
        return err_setx(errp, EADDRINUSE, "no free host port found");
}

/* The -p/-P specs of rec for netmgr. With pick, empty host ports and ranges become concrete
 * free ports and *ret_ports gets docker's NetworkSettings.Ports; without, only fixed host ports
 * are checked. */
static int port_specs(struct ctr_mgr *m, const char *self, const json_t *rec, bool pick,
                      char ***ret, json_t **ret_ports, struct err **errp) {
        const json_t *hc = json_object_get(rec, "HostConfig"),
                     *bindings = json_object_get(hc, "PortBindings"),
                     *exposed = json_object_get(json_object_get(rec, "Config"), "ExposedPorts");
        bool all = json_get_bool(hc, "PublishAllPorts", false);
        _cleanup_strv_ char **taken = berth_ports(m, self), **specs = xnew0(char *, 1);
        _cleanup_json_ json_t *ports = json_object();
        const char *key;
        json_t *binds, *b;
        size_t i;
        int r;

        json_object_foreach ((json_t *)exposed, key, b)
                json_object_set_new(ports, key, json_null());
        json_object_foreach ((json_t *)bindings, key, binds) {
                char proto[8] = "tcp";
                unsigned cport;
                json_t *out = json_array();

                json_object_set_new(ports, key, out);
                if (sscanf(key, "%u/%7s", &cport, proto) < 1 || cport == 0 || cport > 65535 ||
                    (!streq(proto, "tcp") && !streq(proto, "udp")))
                        return err_setx(errp, EINVAL, "HostConfig.PortBindings: invalid port '%s'",
                                        key);
                json_array_foreach (binds, i, b) {
                        const char *hip = json_get_str(b, "HostIp", ""),
                                   *hp = json_get_str(b, "HostPort", "");
                        unsigned lo = 0, hi = 0, port = 0;
                        char tail;
                        int n = hp[0] ? sscanf(hp, "%u-%u%c", &lo, &hi, &tail) : 0;

                        if (n >= 1 && n < 2)
                                hi = lo;
                        if ((hp[0] && (n < 1 || n > 2)) ||
                            (n >= 1 && (lo == 0 || hi > 65535 || hi < lo)))
                                return err_setx(errp, EINVAL,
                                                "HostConfig.PortBindings: invalid host port '%s' "
                                                "for %s",
                                                hp, key);
                        if (streq(hip, "0.0.0.0"))
                                hip = "";
                        if (!pick && (lo == 0 || lo != hi)) {
                                if (hip[0]) {
                                        struct in_addr a;
                                        if (inet_pton(AF_INET, hip, &a) != 1)
                                                return err_setx(errp, EINVAL,
                                                                "HostConfig.PortBindings: "
                                                                "invalid host IP '%s'",
                                                                hip);
                                }
                                continue;
                        }
                        if (lo == 0) {
                                r = ephemeral_port(taken, hip, proto, &port, errp);
                                if (r < 0)
                                        return r;
                        } else
                                for (unsigned p = lo; p <= hi && !port; p++) {
                                        _cleanup_err_ struct err *e = NULL;

                                        r = port_check(taken, hip, p, proto, lo == hi ? errp : &e);
                                        if (r >= 0)
                                                port = p;
                                        else if (lo == hi)
                                                return r;
                                }
                        if (!port)
                                return err_setx(errp, EADDRINUSE,
                                                "no free host port in %u-%u for %s", lo, hi, key);
                        strv_push_take(&specs, xasprintf("%s%s%u:%u/%s", hip, hip[0] ? ":" : "",
                                                         port, cport, proto));
                        strv_push_take(&taken, xasprintf("%u/%s", port, proto));
                        json_array_append_new(out,
                                              json_pack("{s:s,s:s}", "HostIp",
                                                        hip[0] ? hip : "0.0.0.0", "HostPort", ""));
                        json_object_set_new(json_array_get(out, json_array_size(out) - 1),
                                            "HostPort", json_sprintf("%u", port));
                }
        }
        if (all && pick)
                json_object_foreach ((json_t *)exposed, key, b) {
                        char proto[8] = "tcp";
                        unsigned cport, port;

                        if (json_is_array(json_object_get(bindings, key)))
                                continue;
                        if (sscanf(key, "%u/%7s", &cport, proto) < 1 || cport == 0 ||
                            cport > 65535 || (!streq(proto, "tcp") && !streq(proto, "udp")))
                                return err_setx(errp, EINVAL, "ExposedPorts: invalid port '%s'",
                                                key);
                        r = ephemeral_port(taken, "", proto, &port, errp);
                        if (r < 0)
                                return r;
                        strv_push_take(&specs, xasprintf("%u:%u/%s", port, cport, proto));
                        strv_push_take(&taken, xasprintf("%u/%s", port, proto));
                        json_object_set_new(
                                ports, key,
                                json_pack("[{s:s,s:s}]", "HostIp", "0.0.0.0", "HostPort", ""));
                        json_object_set_new(json_array_get(json_object_get(ports, key), 0),
                                            "HostPort", json_sprintf("%u", port));
                }
        *ret = TAKE_PTR(specs);
        if (ret_ports)
                *ret_ports = TAKE_PTR(ports);
        return 0;
}

/* ---- create ---- */

static json_t *plan_entry(const char *name, const json_t *epc) {
        const json_t *ipam = json_object_get(epc, "IPAMConfig");
        json_t *aliases = json_object_get(epc, "Aliases");

        return json_pack("{s:s,s:s,s:s,s:o}", "Name", name, "IPv4Address",
                         json_get_str(ipam, "IPv4Address", ""), "MacAddress",
                         json_get_str(epc, "MacAddress", ""), "Aliases",
                         json_is_array(aliases) ? json_deep_copy(aliases) : json_array());
}

static int check_entry(struct netmgr *nm, const json_t *e, struct err **errp) {
        const char *name = json_get_str(e, "Name", ""), *ip = json_get_str(e, "IPv4Address", "");
        const struct net_network *n = netmgr_network_get(nm, name);
        uint32_t a;

        if (!n)
                return err_setx(errp, ENOENT, "network %s not found", name);
        if (ip[0]) {
                if (ipam_ip_parse(ip, &a, NULL) < 0)
                        return err_setx(errp, EINVAL, "invalid IPv4 address '%s' for network %s",
                                        ip, name);
                if (streq(name, NET_DEFAULT_NAME))
                        return err_setx(errp, EINVAL,
                                        "user specified IP address is supported on user defined "
                                        "networks only");
                if (!ipam_contains(&n->ipam.subnet, a) || a == n->ipam.gateway ||
                    a == n->ipam.subnet.net || a == ipam_broadcast(&n->ipam.subnet)) {
                        char sn[19];
                        ipam_cidr_format(&n->ipam.subnet, sn);
                        return err_setx(errp, EINVAL,
                                        "address %s is not a usable address of network %s (%s)", ip,
                                        name, sn);
                }
        }
        if (json_array_size(json_object_get(e, "Aliases")) > 0 && streq(name, NET_DEFAULT_NAME))
                return err_setx(errp, EINVAL,
                                "network-scoped aliases are supported on user defined networks "
                                "only");
        return 0;
}

static int link_env(struct ctr_mgr *m, json_t *rec, struct err **errp) {
        json_t *links = json_object_get(json_object_get(rec, "HostConfig"), "Links"), *l;
        json_t *env = json_object_get(json_object_get(rec, "Config"), "Env");
        const char *me = json_get_str(rec, "Name", "/");
        size_t i;

        json_array_foreach (links, i, l) {
                const char *s = json_string_value(l), *colon = s ? strchr(s, ':') : NULL;
                _cleanup_free_ char *target = NULL, *alias = NULL, *prefix = NULL;
                const char *ip, *key;
                struct ctr *o;
                json_t *v;
                bool first = true;

                if (!s)
                        continue;
                target = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
                alias = xstrdup(colon ? colon + 1 : s);
                if (target[0] == '/')
                        memmove(target, target + 1, strlen(target));
                if (ctr_lookup(m, target, &o, errp) < 0)
                        return err_wrap(errp, "HostConfig.Links: could not get container for %s",
                                        target);
                ip = json_get_str(json_object_get(o->rec, "NetworkSettings"), "IPAddress", "");
                prefix = xstrdup(alias);
                for (char *p = prefix; *p; p++)
                        *p = (*p >= 'a' && *p <= 'z')   ? (char)(*p - 32)
                             : (*p == '-' || *p == '.') ? '_'
                                                        : *p;
                json_array_append_new(env, json_sprintf("%s_NAME=%s/%s", prefix, me, alias));
                if (!ip[0])
                        continue;
                json_object_foreach (
                        json_object_get(json_object_get(o->rec, "Config"), "ExposedPorts"), key,
                        v) {
                        unsigned port;
                        char proto[8] = "tcp", up[8];

                        if (sscanf(key, "%u/%7s", &port, proto) < 1)
                                continue;
                        snprintf(up, sizeof(up), "%s", streq(proto, "udp") ? "UDP" : "TCP");
                        if (first)
                                json_array_append_new(env, json_sprintf("%s_PORT=%s://%s:%u",
                                                                        prefix, proto, ip, port));
                        first = false;
                        json_array_append_new(env, json_sprintf("%s_PORT_%u_%s=%s://%s:%u", prefix,
                                                                port, up, proto, ip, port));
                        json_array_append_new(
                                env, json_sprintf("%s_PORT_%u_%s_ADDR=%s", prefix, port, up, ip));
                        json_array_append_new(
                                env, json_sprintf("%s_PORT_%u_%s_PORT=%u", prefix, port, up, port));
                        json_array_append_new(env, json_sprintf("%s_PORT_%u_%s_PROTO=%s", prefix,
                                                                port, up, proto));
                }
        }
        return 0;
}

int ctr_net_create(struct ctr_mgr *m, json_t *rec, const json_t *body, struct err **errp) {
        const json_t *eps =
                json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
        _cleanup_json_ json_t *plan = json_array();
        _cleanup_strv_ char **specs = NULL;
        _cleanup_free_ char *first = xstrdup(canon_net(net_mode(rec)));
        const char *key;
        struct netmgr *nm;
        json_t *v;
        size_t i;
        int r;

        json_object_set_new(rec, "NetworkSettings",
                            json_pack("{s:{},s:{},s:s,s:s,s:s,s:i}", "Networks", "Ports",
                                      "IPAddress", "", "Gateway", "", "MacAddress", "",
                                      "IPPrefixLen", 0));
        if (!uses_networks(rec))
                return 0;
        r = netd_get(m->d, &nm, errp);
        if (r < 0)
                return err_wrap(errp, "HostConfig.NetworkMode");
        json_object_set_new(json_object_get(rec, "HostConfig"), "NetworkMode",
                            json_string(streq(first, NET_DEFAULT_NAME) ? "bridge" : first));
        json_array_append_new(plan, plan_entry(first, json_object_get(eps, first)));
        if (json_get_str(body, "MacAddress", "")[0])
                json_object_set_new(json_array_get(plan, 0), "MacAddress",
                                    json_string(json_get_str(body, "MacAddress", "")));
        json_object_foreach ((json_t *)eps, key, v)
                if (!streq(canon_net(key), first) && !streq(key, "default"))
                        json_array_append_new(plan, plan_entry(key, v));
        json_array_foreach (json_object_get(body, "BerthExtraNetworks"), i, v) {
                const char *n = json_string_value(v);
                bool dup = false;
                size_t k;
                json_t *e;

                if (!n)
                        return err_setx(errp, EINVAL, "BerthExtraNetworks: must be strings");
                json_array_foreach (plan, k, e)
                        dup |= streq(json_get_str(e, "Name", ""), canon_net(n));
                if (dup)
                        return err_setx(errp, EINVAL, "network %s is given twice", n);
                json_array_append_new(plan, plan_entry(canon_net(n), json_object_get(eps, n)));
        }
        if (json_array_size(plan) > MAX_NETWORKS)
                return err_setx(errp, E2BIG, "too many networks (max %d)", MAX_NETWORKS);
        json_array_foreach (plan, i, v) {
                r = check_entry(nm, v, errp);
                if (r < 0)
                        return err_wrap(errp,
                                        i == 0 ? "HostConfig.NetworkMode" : "NetworkingConfig");
        }
        r = port_specs(m, NULL, rec, false, &specs, NULL, errp);
        if (r < 0)
                return r;
        r = link_env(m, rec, errp);
        if (r < 0)
                return r;
        json_object_set(rec, "BerthNetworks", plan);
        return 0;
}

/* ---- /etc files ---- */

char *ctr_net_resolv_file(struct ctr_mgr *m, const json_t *rec, const char *host_resolv) {
        const json_t *hc = json_object_get(rec, "HostConfig");
        const json_t *plan = json_object_get(rec, "BerthNetworks"), *it;
        const struct net_network *n = NULL;
        _cleanup_json_ json_t *hc2 = NULL;
        json_t *dns;
        char gw[16];
        size_t k;

        if (!m->d->net || !uses_networks(rec))
                return NULL;
        /* the first network with an embedded DNS (not the default one): it answers for the
         * container's every network (netmgr's DNS view) */
        json_array_foreach (plan, k, it) {
                n = netmgr_network_get(m->d->net, json_get_str(it, "Name", ""));
                if (n && netmgr_dns_table(m->d->net, n->name))
                        break;
                n = NULL;
        }
        if (!n)
                return NULL;
        ipam_ip_format(n->ipam.gateway, gw);
        /* the network's DNS first, then --dns or the host's non-loopback upstreams */
        hc2 = json_deep_copy(hc);
        dns = json_object_get(hc2, "Dns");
        if (json_array_size(dns) == 0) {
                _cleanup_free_ struct sockaddr_storage *ups = NULL;
                size_t n_ups = 0;

                dns = json_array();
                json_object_set_new(hc2, "Dns", dns);
                if (host_resolv && dns_parse_resolv_conf(host_resolv, &ups, &n_ups) >= 0)
                        for (size_t i = 0; i < n_ups; i++) {
                                const struct sockaddr_in *sa = (const void *)&ups[i];
                                char b[INET6_ADDRSTRLEN] = "";

                                if (ups[i].ss_family == AF_INET)
                                        inet_ntop(AF_INET, &sa->sin_addr, b, sizeof(b));
                                else
                                        inet_ntop(AF_INET6,
                                                  &((const struct sockaddr_in6 *)(const void
                                                                                          *)&ups[i])
                                                           ->sin6_addr,
                                                  b, sizeof(b));
                                if (b[0])
                                        json_array_append_new(dns, json_string(b));
                        }
        }
        json_array_insert_new(dns, 0, json_string(gw));
        if (json_array_size(json_object_get(hc2, "DnsSearch")) == 0 && host_resolv) {
                /* keep the host's search domains, as docker does */
                _cleanup_strv_ char **lines = strv_split(host_resolv, "\n");
                json_t *s = json_array();

                json_object_set_new(hc2, "DnsSearch", s);
                STRV_FOREACH (l, lines) {
                        if (str_startswith(*l, "search ") || str_startswith(*l, "domain ")) {
                                _cleanup_strv_ char **w = strv_split(*l + 7, " \t");
                                STRV_FOREACH (x, w)
                                        json_array_append_new(s, json_string(*x));
                        }
                }
        }
        return ctr_resolv_file(hc2, host_resolv);
}

/* Rewrites <dir>/hosts in place (it is bind-mounted into the container). */
static void write_hosts(struct ctr *c) {
        const json_t *cfg = json_object_get(c->rec, "Config"),
                     *hc = json_object_get(c->rec, "HostConfig"),
                     *nets = json_object_get(json_object_get(c->rec, "NetworkSettings"),
                                             "Networks");
        _cleanup_free_ char *base = ctr_hosts_file(json_get_str(cfg, "Hostname", ""),
                                                   json_object_get(hc, "ExtraHosts"));
        _cleanup_free_ char *out = NULL, *path = xasprintf("%s/hosts", c->dir);
        _cleanup_close_ int fd = -EBADF;
        const char *key;
        json_t *v, *l;
        size_t i;

        out = xstrdup(base);
        json_object_foreach ((json_t *)nets, key, v) {
                const char *ip = json_get_str(v, "IPAddress", "");
                char *n;

                if (!ip[0])
                        continue;
                n = xasprintf("%s%s\t%s\n", out, ip, json_get_str(cfg, "Hostname", ""));
                free(out);
                out = n;
        }
        json_array_foreach (json_object_get(hc, "Links"), i, l) {
                const char *s = json_string_value(l), *colon = s ? strchr(s, ':') : NULL;
                _cleanup_free_ char *target = NULL;
                struct ctr *o;
                const char *ip;
                char *n;

                if (!s)
                        continue;
                target = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
                if (ctr_lookup(c->m, target[0] == '/' ? target + 1 : target, &o, NULL) < 0)
                        continue;
                ip = json_get_str(json_object_get(o->rec, "NetworkSettings"), "IPAddress", "");
                if (!ip[0])
                        continue;
                n = xasprintf("%s%s\t%s %s\n", out, ip, colon ? colon + 1 : target,
                              target[0] == '/' ? target + 1 : target);
                free(out);
                out = n;
        }
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || write(fd, out, strlen(out)) != (ssize_t)strlen(out))
                log_warn(c->id, "Could not update '%s': %m", path);
}

/* ---- attach / detach ---- */

static json_t *net_settings(struct ctr *c) {
        json_t *ns = json_object_get(c->rec, "NetworkSettings");

        if (!json_is_object(ns)) {
                ns = json_object();
                json_object_set_new(c->rec, "NetworkSettings", ns);
        }
        if (!json_is_object(json_object_get(ns, "Networks")))
                json_object_set_new(ns, "Networks", json_object());
        return ns;
}

/* Keeps the legacy top-level fields on the first connected network. */
static void settings_legacy(struct ctr *c) {
        json_t *ns = net_settings(c), *nets = json_object_get(ns, "Networks"), *first = NULL;
        json_t *plan = json_object_get(c->rec, "BerthNetworks"), *e;
        size_t i;

        json_array_foreach (plan, i, e) {
                json_t *x = json_object_get(nets, json_get_str(e, "Name", ""));
                if (x && json_get_str(x, "IPAddress", "")[0]) {
                        first = x;
                        break;
                }
        }
        json_object_set_new(ns, "IPAddress", json_string(json_get_str(first, "IPAddress", "")));
        json_object_set_new(ns, "Gateway", json_string(json_get_str(first, "Gateway", "")));
        json_object_set_new(ns, "MacAddress", json_string(json_get_str(first, "MacAddress", "")));
        json_object_set_new(ns, "IPPrefixLen", json_integer(json_get_int(first, "IPPrefixLen", 0)));
}

/* Connects one network (entry e of the plan) on the netns. */
static int connect_one(struct ctr *c, struct netmgr *nm, const json_t *e, unsigned index,
                       char *const *ports, int netns_fd, struct err **errp) {
        const char *name = json_get_str(e, "Name", ""), *ip = json_get_str(e, "IPv4Address", ""),
                   *mac = json_get_str(e, "MacAddress", "");
        const struct net_network *n = netmgr_network_get(nm, name);
        _cleanup_strv_ char **names = xnew0(char *, 1);
        _cleanup_free_ char *ifname = xasprintf("eth%u", index), *sid = xstrndup(c->id, 12);
        const struct net_endpoint *ep;
        char ipb[16], gw[16], macb[18];
        json_t *aliases = json_array(), *a;
        size_t i;
        int r;

        if (!n)
                return err_setx(errp, ENOENT, "network %s not found", name);
        strv_push(&names, ctr_name(c));
        strv_push(&names, sid);
        json_array_foreach (json_object_get(e, "Aliases"), i, a)
                if (json_string_value(a))
                        strv_push(&names, json_string_value(a));
        STRV_FOREACH (s, names)
                json_array_append_new(aliases, json_string(*s));
        r = netmgr_connect(nm, name,
                           &(struct netmgr_connect_opts){.id = c->id,
                                                         .ifname = ifname,
                                                         .ip = ip[0] ? ip : NULL,
                                                         .mac = mac[0] ? mac : NULL,
                                                         .ports = ports,
                                                         .names = names},
                           netns_fd, &ep, errp);
        if (r < 0) {
                json_decref(aliases);
                return err_wrap(errp, "connect to network %s", name);
        }
        ipam_ip_format(ep->ip, ipb);
        ipam_ip_format(n->ipam.gateway, gw);
        snprintf(macb, sizeof(macb), "%02x:%02x:%02x:%02x:%02x:%02x", ep->mac[0], ep->mac[1],
                 ep->mac[2], ep->mac[3], ep->mac[4], ep->mac[5]);
        json_object_set_new(json_object_get(net_settings(c), "Networks"), name,
                            json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:s}", "NetworkID", n->id,
                                      "EndpointID", ep->host_ifname, "Gateway", gw, "IPAddress",
                                      ipb, "IPPrefixLen", (int)n->ipam.subnet.len, "MacAddress",
                                      macb, "Aliases", aliases, "BerthIfname", ep->ifname));
        publish(c->m, "connect", n, c->id);
        return 0;
}

static int open_netns(int pid, struct err **errp) {
        _cleanup_free_ char *p = xasprintf("/proc/%d/ns/net", pid);
        int fd = open(p, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return err_set(errp, errno, "open the container's network namespace '%s'", p);
        return fd;
}

int ctr_net_attach(struct ctr *c, int pid, struct err **errp) {
        json_t *plan = json_object_get(c->rec, "BerthNetworks"), *e;
        _cleanup_strv_ char **specs = NULL;
        _cleanup_json_ json_t *ports = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct netmgr *nm;
        size_t i;
        int r;

        if (!uses_networks(c->rec) || json_array_size(plan) == 0)
                return 0;
        r = netd_get(c->m->d, &nm, errp);
        if (r < 0)
                return r;
        fd = open_netns(pid, errp);
        if (fd < 0)
                return fd;
        (void)netmgr_disconnect_all(nm, c->id, NULL); /* leftovers of an earlier run */
        r = port_specs(c->m, c->id, c->rec, true, &specs, &ports, errp);
        if (r < 0)
                return r;
        json_object_set_new(net_settings(c), "Networks", json_object());
        json_array_foreach (plan, i, e) {
                r = connect_one(c, nm, e, (unsigned)i, i == 0 ? specs : NULL, fd, errp);
                if (r < 0) {
                        (void)netmgr_disconnect_all(nm, c->id, NULL);
                        json_object_set_new(net_settings(c), "Networks", json_object());
                        return r;
                }
        }
        json_object_set(net_settings(c), "Ports", ports);
        json_object_set_new(net_settings(c), "SandboxKey", json_sprintf("/proc/%d/ns/net", pid));
        settings_legacy(c);
        write_hosts(c);
        return 0;
}

void ctr_net_detach(struct ctr *c) {
        _cleanup_err_ struct err *e = NULL;
        json_t *ns = json_object_get(c->rec, "NetworkSettings"), *v;
        const char *key;

        if (!c->m->d->net)
                return;
        if (netmgr_disconnect_all(c->m->d->net, c->id, &e) < 0)
                log_warn(c->id, "Could not disconnect the container's networks: %s", err_msg(e));
        json_object_foreach (json_object_get(ns, "Networks"), key, v) {
                const struct net_network *n = netmgr_network_get(c->m->d->net, key);

                if (n && json_get_str(v, "IPAddress", "")[0])
                        publish(c->m, "disconnect", n, c->id);
                json_object_set_new(v, "IPAddress", json_string(""));
                json_object_set_new(v, "Gateway", json_string(""));
                json_object_set_new(v, "EndpointID", json_string(""));
                json_object_set_new(v, "IPPrefixLen", json_integer(0));
        }
        if (ns) {
                json_object_set_new(ns, "Ports", json_object());
                json_object_set_new(ns, "SandboxKey", json_string(""));
                settings_legacy(c);
        }
}

/* ---- connect / disconnect of a container ---- */

int ctr_net_connect(struct ctr *c, const char *network, const char *ip, const json_t *aliases,
                    struct err **errp) {
        json_t *plan = json_object_get(c->rec, "BerthNetworks");
        _cleanup_json_ json_t *e = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct netmgr *nm;
        int r;

        r = netd_get(c->m->d, &nm, errp);
        if (r < 0)
                return r;
        if (!uses_networks(c->rec))
                return err_setx(errp, EINVAL,
                                "container %s uses network mode '%s': it cannot join networks",
                                ctr_name(c), net_mode(c->rec));
        network = canon_net(network);
        if (ctr_net_uses(c->rec, network))
                return err_setx(errp, EEXIST, "endpoint with name %s already exists in network %s",
                                ctr_name(c), network);
        if (json_array_size(plan) >= MAX_NETWORKS)
                return err_setx(errp, E2BIG, "too many networks (max %d)", MAX_NETWORKS);
        e = json_pack("{s:s,s:s,s:s,s:o}", "Name", network, "IPv4Address", ip ? ip : "",
                      "MacAddress", "", "Aliases",
                      json_is_array(aliases) ? json_deep_copy(aliases) : json_array());
        r = check_entry(nm, e, errp);
        if (r < 0)
                return r;
        if (ctr_running(c)) {
                fd = open_netns((int)json_get_int(ctr_state(c), "Pid", 0), errp);
                if (fd < 0)
                        return fd;
                r = connect_one(c, nm, e, (unsigned)json_array_size(plan), NULL, fd, errp);
                if (r < 0)
                        return r;
                settings_legacy(c);
                write_hosts(c);
        }
        if (!json_is_array(plan)) {
                plan = json_array();
                json_object_set_new(c->rec, "BerthNetworks", plan);
        }
        json_array_append(plan, e);
        return ctr_save(c);
}

int ctr_net_disconnect(struct ctr *c, const char *network, bool force, struct err **errp) {
        json_t *plan = json_object_get(c->rec, "BerthNetworks");
        json_t *nets = json_object_get(net_settings(c), "Networks");
        struct netmgr *nm;
        bool found = false;
        size_t i;
        int r;

        r = netd_get(c->m->d, &nm, errp);
        if (r < 0)
                return r;
        network = canon_net(network);
        for (i = json_array_size(plan); i-- > 0;)
                if (streq(json_get_str(json_array_get(plan, i), "Name", ""), network)) {
                        json_array_remove(plan, i);
                        found = true;
                }
        if (json_object_get(nets, network)) {
                const struct net_network *n = netmgr_network_get(nm, network);

                /* A running container's namespace: an overlay's macvlan interface is taken
                 * out of it (docs/networking.md "Overlay driver"); a namespace already gone
                 * took it along. */
                _cleanup_close_ int fd =
                        ctr_running(c) ? open_netns((int)json_get_int(ctr_state(c), "Pid", 0), NULL)
                                       : -EBADF;

                r = fd >= 0 ? netmgr_disconnect_netns(nm, network, c->id, fd, errp)
                            : netmgr_disconnect(nm, network, c->id, errp);
                if (r < 0 && !force)
                        return r;
                if (n && json_get_str(json_object_get(nets, network), "IPAddress", "")[0])
                        publish(c->m, "disconnect", n, c->id);
                json_object_del(nets, network);
                found = true;
        }
        if (!found)
                return err_setx(errp, ENOENT, "container %s is not connected to network %s",
                                ctr_name(c), network);
        settings_legacy(c);
        if (ctr_running(c))
                write_hosts(c);
        return ctr_save(c);
}

void ctr_net_reconcile(struct ctr_mgr *m) {
        if (!m->d->net)
                return;
        for (size_t i = 0; i < m->n; i++)
                if (!ctr_running(m->v[i]) && uses_networks(m->v[i]->rec))
                        (void)netmgr_disconnect_all(m->d->net, m->v[i]->id, NULL);
}
