/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

/* Embedded DNS for berth networks (dns_*). One server per user network listens on the
 * network's gateway address, port 53, in the host namespace (UDP and TCP); containers get that
 * address as their nameserver. It answers A and PTR records for the names in its table
 * (container names, aliases, --link aliases), empty NOERROR for other types of known names,
 * NXDOMAIN for unknown single-label names, and forwards everything else to upstream resolvers
 * without blocking. Packets are parsed and built with ldns. */

#define DNS_MAX_NAMES 65536
#define DNS_TTL 600

struct dns_table;
struct dns_table *dns_table_new(void);
struct dns_table *dns_table_free(struct dns_table *t);
void dns_table_freep(struct dns_table **t);
#define _cleanup_dns_table_ _cleanup_(dns_table_freep)
/* Adds name -> ip (host order). Names are case-insensitive, without a trailing dot; several
 * addresses per name (replicas) are answered together in rotating order. Returns 1 if added, 0
 * if the pair existed. */
int dns_table_add(struct dns_table *t, const char *name, uint32_t ip, struct err **errp);
/* Returns 1 if removed, 0 if absent. */
int dns_table_remove(struct dns_table *t, const char *name, uint32_t ip);
/* Removes every name of ip (a container leaving the network); returns how many. */
int dns_table_remove_ip(struct dns_table *t, uint32_t ip);

/* The pure part: answers one query from the table. Returns 1 with a response in *ret (free()
 * it), 0 when the query must be forwarded upstream, -EBADMSG when the packet must be dropped
 * (too short, or itself a response). Malformed queries get FORMERR, other opcodes NOTIMP.
 * Over UDP (tcp = false) answers larger than the client's limit (512 bytes, or its EDNS size)
 * are truncated with the TC bit set. */
int dns_answer(struct dns_table *t, const uint8_t *q, size_t qlen, bool tcp, uint8_t **ret,
               size_t *ret_len);
/* dns_answer over several tables (a container's view of all its networks): the first table
 * that knows a name answers for it; NULL entries are skipped. */
int dns_answer_tables(struct dns_table *const *tables, size_t n_tables, const uint8_t *q,
                      size_t qlen, bool tcp, uint8_t **ret, size_t *ret_len);
/* A SERVFAIL response to the query (for upstream failures). */
int dns_servfail(const uint8_t *q, size_t qlen, uint8_t **ret, size_t *ret_len);

struct dns_server;
/* Creates a server listening on listen_addr (UDP and TCP) driven by loop. The table is
 * borrowed: the caller keeps it alive and updates it as containers come and go. upstreams
 * (IPv4 or IPv6, may be empty) are tried in order with timeout_ms each. */
int dns_server_new(struct ev_loop *loop, const struct sockaddr_in *listen_addr,
                   struct dns_table *table, const struct sockaddr_storage *upstreams,
                   size_t n_upstreams, unsigned timeout_ms, struct dns_server **ret,
                   struct err **errp);
struct dns_server *dns_server_free(struct dns_server *s);
void dns_server_freep(struct dns_server **s);
#define _cleanup_dns_server_ _cleanup_(dns_server_freep)
/* A client's view: fills up to max tables to answer client (IPv4, host order) from, the
 * server's own table first. Returns how many were written; 0 = the server's table alone. */
#define DNS_VIEW_MAX 64
typedef size_t dns_view_fn(void *userdata, uint32_t client, struct dns_table **tables, size_t max);
/* Makes the server answer each client from the tables fn gives for its address (borrowed, valid
 * while the server lives). NULL restores the plain table. */
void dns_server_set_view(struct dns_server *s, dns_view_fn *fn, void *userdata);
/* The bound address (useful with port 0). */
int dns_server_local(const struct dns_server *s, struct sockaddr_in *ret);
/* Parses /etc/resolv.conf-style text into upstreams, skipping loopback nameservers (they would
 * not be reachable from containers and may point back at us). */
int dns_parse_resolv_conf(const char *text, struct sockaddr_storage **ret, size_t *ret_n);
