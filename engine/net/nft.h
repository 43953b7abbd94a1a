/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "net/net.h"

/* nftables for berth networks (nft_*): NAT out of the networks, published ports, isolation.
 * berth owns `table ip berth` and `table bridge berth` and nothing else. The whole desired
 * ruleset is computed by a pure function and applied in one libnftables transaction that
 * deletes and recreates both tables, so applying is atomic and reconciling after a restart
 * leaves neither duplicates nor leftovers. What changes with containers (published ports, icc
 * port sets, service VIPs) lives in sets and maps, so a container connect/disconnect or a
 * service update is a small element transaction (nft_endpoint_script, nft_services_script)
 * instead of a rewrite. */

#define NFT_MAX_RANGE 1024

/* One `-p [ip:]hostPort[-end]:containerPort[-end][/tcp|udp]`. */
struct nft_publish {
        int proto;        /* IPPROTO_TCP or IPPROTO_UDP */
        uint32_t host_ip; /* host order; 0 = every host address */
        uint16_t host_port, host_port_end;
        uint16_t ctr_port, ctr_port_end;
};
int nft_publish_parse(const char *spec, struct nft_publish *ret, struct err **errp);
/* "127.0.0.1:8080-8081:80-81/tcp" */
void nft_publish_format(const struct nft_publish *p, char *buf, size_t n);

/* An endpoint as the firewall sees it. */
struct nft_endpoint {
        const char *id;
        const char *network;     /* network name */
        const char *host_ifname; /* host end of its veth */
        uint32_t ip;             /* host order */
        const struct nft_publish *ports;
        size_t n_ports;
};

/* A service VIP: connections to vip:port are spread round robin over the backends (DNAT in
 * prerouting and output, so containers of any network and the host reach it). */
struct nft_service {
        const char *name;
        uint32_t vip; /* host order */
        int proto;    /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t port;
        const uint32_t *backends; /* host order; none = no rule (the VIP does not answer) */
        size_t n_backends;
        uint16_t target_port; /* 0 = port */
        /* The routing mesh (docs/cluster.md): when not 0, connections to this port of any
         * local address (like a published port) go to the same backends. */
        uint16_t published;
};

#define NFT_MAX_BACKENDS 1024

#define NFT_TABLE_DEFAULT "berth"
#define NFT_TABLE_MAX 32
/* Lower-case letter first, then a-z, 0-9, '-', '_'; at most NFT_TABLE_MAX characters. */
bool nft_table_name_valid(const char *name);

struct nft_state {
        struct net_network *const *nets;
        size_t n_nets;
        const struct nft_endpoint *eps;
        size_t n_eps;
        const struct nft_service *svcs;
        size_t n_svcs;
        /* berth's tables `ip TABLE` and `bridge TABLE`: one pair per daemon root
         * (net_instance_name), so daemons with different roots leave each other's rules alone.
         * NULL = NFT_TABLE_DEFAULT. */
        const char *table;
};

/* Pure: the complete nft script for the state (no I/O). Rejects ports published twice, ports
 * on internal networks, endpoints of unknown networks, duplicate service VIP ports and VIPs
 * inside a network's subnet, naming them. With no networks the
 * script only deletes berth's tables. */
int nft_ruleset(const struct nft_state *s, char **ret, struct err **errp);
/* Incremental updates (one small transaction each, against the tables nft_ruleset made):
 * Pure: the script adding (add) or deleting endpoint e's elements: its published ports in the
 * maps publish_ip/publish_any and, on an icc=false network, its host interface in the bridge
 * set noicc. For add, s must already contain e: the whole state is validated first (ports
 * published twice are refused naming both). An endpoint with nothing to add gives "". */
int nft_endpoint_script(const struct nft_state *s, const struct nft_endpoint *e, bool add,
                        char **ret, struct err **errp);
/* Pure: the script that changes the services of old (what is applied) into s->svcs: a removed
 * VIP loses its element of the verdict map `services` and its chain, a new one gets both, one
 * whose backends changed gets its chain's rule replaced; unchanged ones are not touched.
 * s->svcs is validated like in nft_ruleset. */
int nft_services_script(const struct nft_state *s, const struct nft_service *old, size_t n_old,
                        char **ret, struct err **errp);
/* Runs a script in one transaction (an empty script does nothing); errors carry nft's message. */
int nft_apply(const char *script, struct err **errp);
/* nft_ruleset + nft_apply. */
int nft_sync(const struct nft_state *s, struct err **errp);
/* Fails with EADDRINUSE if a host port of p cannot be bound right now (TCP or UDP). */
int nft_port_check_free(const struct nft_publish *p, struct err **errp);
