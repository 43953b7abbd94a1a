/* SPDX-License-Identifier: Apache-2.0 */
/* Daemon-level networking: the network manager's life cycle and the default network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "log.h"
#include "net/dns.h"
#include "net/ipam.h"
#include "net/netmgr.h"
#include "netd.h"
#include "strv.h"
#include "xalloc.h"

/* "172.30.0.1/16" -> subnet "172.30.0.0/16", gateway "172.30.0.1". */
static int bip_split(const char *bip, char **ret_subnet, char **ret_gw, struct err **errp) {
        const char *slash = strchr(bip, '/');
        _cleanup_free_ char *ip = NULL;
        struct ipam_subnet s;
        char *end, buf[19];
        uint32_t a;
        long len;

        if (!slash)
                return err_setx(errp, EINVAL,
                                "--bip: '%s' is not an address with a prefix length "
                                "(e.g. 172.30.0.1/16)",
                                bip);
        ip = xstrndup(bip, (size_t)(slash - bip));
        if (ipam_ip_parse(ip, &a, NULL) < 0)
                return err_setx(errp, EINVAL, "--bip: invalid address '%s'", ip);
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || len < 8 || len > 30)
                return err_setx(errp, EINVAL, "--bip: invalid prefix length '%s' (8..30)",
                                slash + 1);
        s.len = (unsigned)len;
        s.net = a & ipam_mask(s.len);
        if (a == s.net || a == ipam_broadcast(&s))
                return err_setx(errp, EINVAL,
                                "--bip: '%s' is the network or broadcast address of its subnet",
                                ip);
        ipam_cidr_format(&s, buf);
        *ret_subnet = xstrdup(buf);
        *ret_gw = TAKE_PTR(ip);
        return 0;
}

int netd_check_opts(const struct netd_opts *o, struct err **errp) {
        _cleanup_free_ char *subnet = NULL, *gw = NULL;
        struct ipam_subnet fc, sn;
        int r;

        if (o->bip) {
                r = bip_split(o->bip, &subnet, &gw, errp);
                if (r < 0)
                        return r;
        }
        if (o->fixed_cidr) {
                if (ipam_cidr_parse(o->fixed_cidr, &fc, errp) < 0)
                        return err_wrap(errp, "--fixed-cidr");
                if (subnet && ipam_cidr_parse(subnet, &sn, NULL) >= 0 &&
                    (fc.len < sn.len || !ipam_contains(&sn, fc.net)))
                        return err_setx(errp, EINVAL,
                                        "--fixed-cidr: %s is not inside --bip's "
                                        "subnet %s",
                                        o->fixed_cidr, subnet);
        }
        STRV_FOREACH (p, o->pools) {
                struct ipam_pool pool;

                if (ipam_pool_parse_spec(*p, &pool, errp) < 0)
                        return err_wrap(errp, "--default-address-pool");
        }
        if (o->no_bridge && (o->bip || o->fixed_cidr || o->mtu))
                return err_setx(errp, EINVAL,
                                "--bridge none conflicts with --bip, --fixed-cidr and --mtu");
        if (o->mtu && (o->mtu < 68 || o->mtu > 65535))
                return err_setx(errp, EINVAL, "--mtu: %u is out of range (68..65535)", o->mtu);
        return 0;
}

/* 1: created now, 0: there already (or --bridge none). */
static int create_default(struct netmgr *m, const struct netd_opts *o, struct err **errp) {
        _cleanup_free_ char *subnet = NULL, *gw = NULL, *mtu = NULL;
        char *opts[2] = {};
        int r;

        if (o->no_bridge || netmgr_network_get(m, NET_DEFAULT_NAME))
                return 0;
        if (o->bip) {
                r = bip_split(o->bip, &subnet, &gw, errp);
                if (r < 0)
                        return r;
        } else {
                char adopt[64];

                netmgr_default_bridge_subnet(m, adopt, sizeof(adopt));
                if (adopt[0])
                        subnet = xstrdup(adopt);
        }
        if (o->mtu) {
                mtu = xasprintf("com.docker.network.driver.mtu=%u", o->mtu);
                opts[0] = mtu;
        }
        r = netmgr_network_create(m,
                                  &(struct net_create_opts){.name = NET_DEFAULT_NAME,
                                                            .is_default = true,
                                                            .subnet = subnet,
                                                            .gateway = gw,
                                                            .ip_range = o->fixed_cidr,
                                                            .options = opts},
                                  NULL, errp);
        if (r < 0)
                return err_wrap(errp, "create the default network '%s'", NET_DEFAULT_NAME);
        return 1;
}

int netd_config_pools(const char *path, const json_t *v, char ***ret, struct err **errp) {
        _cleanup_strv_ char **l = NULL;
        const json_t *it;
        size_t i;

        if (!json_is_array(v))
                return err_setx(errp, EINVAL,
                                "%s: \"default-address-pools\": expected an array of "
                                "{\"base\": CIDR, \"size\": N}",
                                path);
        json_array_foreach (v, i, it) {
                const json_t *base = json_object_get(it, "base"),
                             *size = json_object_get(it, "size");
                struct ipam_pool pool;
                char *spec;
                int r;

                if (!json_is_object(it) || json_object_size(it) != 2 || !json_is_string(base) ||
                    !json_is_integer(size))
                        return err_setx(errp, EINVAL,
                                        "%s: \"default-address-pools\"[%zu]: expected "
                                        "{\"base\": CIDR, \"size\": N}",
                                        path, i);
                spec = xasprintf("base=%s,size=%lld", json_string_value(base),
                                 (long long)json_integer_value(size));
                strv_push_take(&l, spec);
                r = ipam_pool_parse_spec(spec, &pool, errp);
                if (r < 0)
                        return err_wrap(errp, "%s: \"default-address-pools\"[%zu]", path, i);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int netd_open(struct daemon *d, const struct netd_opts *o, struct err **errp) {
        _cleanup_(netmgr_freep) struct netmgr *m = NULL;
        _cleanup_free_ struct sockaddr_storage *ups = NULL;
        _cleanup_free_ char *resolv = NULL;
        _cleanup_free_ struct ipam_pool *pools = NULL;
        char instance[NET_INSTANCE_MAX];
        size_t n_ups = 0, len, n_pools = 0;
        int r;

        if (o->pools && o->pools[0]) {
                pools = xnew0(struct ipam_pool, strv_length(o->pools));
                STRV_FOREACH (p, o->pools) {
                        r = ipam_pool_parse_spec(*p, &pools[n_pools++], errp);
                        if (r < 0)
                                return err_wrap(errp, "--default-address-pool");
                }
        }
        if (read_file("/etc/resolv.conf", 1u << 20, &resolv, &len, NULL) >= 0)
                (void)dns_parse_resolv_conf(resolv, &ups, &n_ups);
        net_instance_name(d->root, instance);
        r = netmgr_new(d->loop,
                       &(struct netmgr_opts){.root = d->root,
                                             .pools = pools,
                                             .n_pools = n_pools,
                                             .upstreams = ups,
                                             .n_upstreams = n_ups,
                                             .no_default = true,
                                             .instance = instance},
                       &m, errp);
        if (r < 0)
                return err_wrap(errp, "start networking");
        r = create_default(m, o, errp);
        if (r < 0)
                return r;
        d->net_default_made = r > 0;
        d->net = TAKE_PTR(m);
        return 0;
}

void netd_undo_start(struct daemon *d) {
        _cleanup_err_ struct err *e = NULL;

        if (!d->net || !d->net_default_made)
                return;
        if (netmgr_default_remove(d->net, NET_DEFAULT_NAME, &e) < 0)
                log_warn(NULL, "Could not remove the default network of this failed start: %s",
                         err_msg(e));
        d->net_default_made = false;
}

void netd_close(struct daemon *d) {
        d->net = netmgr_free(d->net);
        d->net_err = err_free(d->net_err);
}

int netd_get(struct daemon *d, struct netmgr **ret, struct err **errp) {
        if (!d->net)
                return err_setx(errp, ENETDOWN, "networking is not available in this daemon: %s",
                                d->net_err ? err_msg(d->net_err) : "not started");
        *ret = d->net;
        return 0;
}

json_t *netd_info(const struct daemon *d) {
        char instance[NET_INSTANCE_MAX], bridge[NET_INSTANCE_MAX];

        net_instance_name(d->root, instance);
        net_instance_bridge(instance, bridge);
        return json_pack("{s:s,s:s}", "NftTable", instance, "DefaultBridge", bridge);
}
