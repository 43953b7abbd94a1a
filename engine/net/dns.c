/* SPDX-License-Identifier: Apache-2.0 */
/* The name table and the packet logic of the embedded DNS server (no sockets here). */
#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "net/dns.h"
#include "strv.h"
#include "xalloc.h"

#define DNS_HEADER_LEN 12
#define DNS_UDP_DEFAULT 512
#define DNS_EDNS_MAX 4096
#define DNS_MAX_ANSWERS 64

struct dns_entry {
        char *name;
        uint32_t ip;
};

struct dns_table {
        struct dns_entry *v;
        size_t n, allocated;
        unsigned rotation; /* advanced on every multi-address answer */
};

struct dns_table *dns_table_new(void) {
        return xnew0(struct dns_table, 1);
}

struct dns_table *dns_table_free(struct dns_table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                free(t->v[i].name);
        free(t->v);
        free(t);
        return NULL;
}

void dns_table_freep(struct dns_table **t) {
        *t = dns_table_free(*t);
}

/* Hostname rules (RFC 1123, plus '_' which docker accepts): labels of 1..63 characters, 253
 * in all, an optional trailing dot. Writes the lowercased name without the dot into buf. */
static bool dns_name_normalize(const char *name, char buf[254]) {
        size_t len = name ? strlen(name) : 0, label = 0;

        if (len > 0 && name[len - 1] == '.')
                len--;
        if (len == 0 || len > 253)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];

                if (c == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                } else if ((isalnum((unsigned char)c) || c == '-' || c == '_') && ++label <= 63)
                        c = (char)tolower((unsigned char)c);
                else
                        return false;
                buf[i] = c;
        }
        if (label == 0)
                return false;
        buf[len] = 0;
        return true;
}

int dns_table_add(struct dns_table *t, const char *name, uint32_t ip, struct err **errp) {
        char n[254];

        if (!dns_name_normalize(name, n))
                return err_setx(errp, EINVAL, "invalid DNS name '%s'", name ? name : "");
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].ip == ip && streq(t->v[i].name, n))
                        return 0;
        if (t->n >= DNS_MAX_NAMES)
                return err_setx(errp, ENOSPC, "DNS table full (%d names)", DNS_MAX_NAMES);
        XGROW(t->v, t->allocated, t->n + 1);
        t->v[t->n++] = (struct dns_entry){xstrdup(n), ip};
        return 1;
}

static void dns_table_drop(struct dns_table *t, size_t i) {
        free(t->v[i].name);
        memmove(t->v + i, t->v + i + 1, (t->n - i - 1) * sizeof(*t->v));
        t->n--;
}

int dns_table_remove(struct dns_table *t, const char *name, uint32_t ip) {
        char n[254];

        if (!dns_name_normalize(name, n))
                return 0;
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].ip == ip && streq(t->v[i].name, n)) {
                        dns_table_drop(t, i);
                        return 1;
                }
        return 0;
}

int dns_table_remove_ip(struct dns_table *t, uint32_t ip) {
        int removed = 0;

        for (size_t i = 0; i < t->n;)
                if (t->v[i].ip == ip) {
                        dns_table_drop(t, i);
                        removed++;
                } else
                        i++;
        return removed;
}

/* A bare header answer for packets ldns cannot parse: same id, QR set, no sections. */
static int dns_raw_error(const uint8_t *q, size_t qlen, uint8_t rcode, uint8_t **ret,
                         size_t *ret_len) {
        uint8_t *r;

        if (qlen < DNS_HEADER_LEN)
                return -EBADMSG;
        r = xnew0(uint8_t, DNS_HEADER_LEN);
        r[0] = q[0];
        r[1] = q[1];
        r[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
        r[3] = (uint8_t)(0x80 | rcode);         /* RA */
        *ret = r;
        *ret_len = DNS_HEADER_LEN;
        return 1;
}

int dns_servfail(const uint8_t *q, size_t qlen, uint8_t **ret, size_t *ret_len) {
        return dns_raw_error(q, qlen, LDNS_RCODE_SERVFAIL, ret, ret_len);
}

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4 (host order). */
static bool dns_parse_ptr(const char *name, uint32_t *ret) {
        unsigned o[4];
        char tail[32];

        if (sscanf(name, "%3u.%3u.%3u.%3u.%31s", &o[0], &o[1], &o[2], &o[3], tail) != 5 ||
            !streq(tail, "in-addr.arpa"))
                return false;
        for (int i = 0; i < 4; i++)
                if (o[i] > 255)
                        return false;
        *ret = o[3] << 24 | o[2] << 16 | o[1] << 8 | o[0];
        return true;
}

struct dns_lookup {
        uint8_t rcode;
        size_t n;
        uint32_t ips[DNS_MAX_ANSWERS];
        const char *ptr; /* name for a PTR answer */
};

/* Returns true when the tables are authoritative for the question. The first table that knows
 * the name (or address) answers alone: a container on several networks gets the address on the
 * earliest of them, which it reaches through that network's interface. */
static bool dns_lookup(struct dns_table *const *tables, size_t n_tables, const char *qname,
                       ldns_rr_type type, struct dns_lookup *l) {
        size_t first = SIZE_MAX, total = 0;
        struct dns_table *t = NULL;
        uint32_t ptr_ip;

        *l = (struct dns_lookup){.rcode = LDNS_RCODE_NOERROR};
        if (dns_parse_ptr(qname, &ptr_ip)) {
                for (size_t k = 0; k < n_tables; k++)
                        for (size_t i = 0; tables[k] && i < tables[k]->n; i++)
                                if (tables[k]->v[i].ip == ptr_ip) {
                                        if (type == LDNS_RR_TYPE_PTR)
                                                l->ptr = tables[k]->v[i].name;
                                        return true;
                                }
                return false;
        }
        for (size_t k = 0; k < n_tables && total == 0; k++) {
                t = tables[k];
                for (size_t i = 0; t && i < t->n; i++)
                        if (streq(t->v[i].name, qname)) {
                                if (first == SIZE_MAX)
                                        first = i;
                                total++;
                        }
        }
        if (total == 0) {
                /* Single-label names cannot exist upstream: answer for them ourselves. */
                if (strchr(qname, '.'))
                        return false;
                l->rcode = LDNS_RCODE_NXDOMAIN;
                return true;
        }
        if (type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_ANY)
                return true; /* the name exists, without records of this type */
        {
                size_t k = 0, start = total > 1 ? t->rotation++ % total : 0;
                uint32_t all[DNS_MAX_ANSWERS];

                for (size_t i = first; i < t->n && k < DNS_MAX_ANSWERS; i++)
                        if (streq(t->v[i].name, qname))
                                all[k++] = t->v[i].ip;
                total = k;
                for (size_t i = 0; i < total; i++)
                        l->ips[i] = all[(start + i) % total];
                l->n = total;
        }
        return true;
}

static ldns_pkt *dns_build(const ldns_pkt *q, const ldns_rr *question, const struct dns_lookup *l,
                           bool with_answers) {
        ldns_pkt *r = ldns_pkt_new();

        if (!r)
                oom();
        ldns_pkt_set_id(r, ldns_pkt_id(q));
        ldns_pkt_set_qr(r, true);
        ldns_pkt_set_aa(r, true);
        ldns_pkt_set_rd(r, ldns_pkt_rd(q));
        ldns_pkt_set_ra(r, true);
        ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
        ldns_pkt_set_rcode(r, l->rcode);
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
        if (ldns_pkt_edns_udp_size(q) > 0)
                ldns_pkt_set_edns_udp_size(r, DNS_EDNS_MAX);
        if (!with_answers)
                return r;
        for (size_t i = 0; i < l->n; i++) {
                ldns_rr *rr = ldns_rr_new();
                uint32_t be = htonl(l->ips[i]);

                ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(question)));
                ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
                ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
                ldns_rr_set_ttl(rr, DNS_TTL);
                ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &be));
                ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
        }
        if (l->ptr) {
                _cleanup_free_ char *fq = xasprintf("%s.", l->ptr);
                ldns_rr *rr = ldns_rr_new();
                ldns_rdf *d = ldns_dname_new_frm_str(fq);

                if (!d) {
                        ldns_rr_free(rr);
                        return r;
                }
                ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(question)));
                ldns_rr_set_type(rr, LDNS_RR_TYPE_PTR);
                ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
                ldns_rr_set_ttl(rr, DNS_TTL);
                ldns_rr_push_rdf(rr, d);
                ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
        }
        return r;
}

static int dns_encode(ldns_pkt *r, uint8_t **ret, size_t *ret_len) {
        uint8_t *wire = NULL;
        size_t len = 0;

        if (ldns_pkt2wire(&wire, r, &len) != LDNS_STATUS_OK || !wire)
                return -ENOMEM;
        *ret = wire;
        *ret_len = len;
        return 1;
}

int dns_answer(struct dns_table *t, const uint8_t *q, size_t qlen, bool tcp, uint8_t **ret,
               size_t *ret_len) {
        return dns_answer_tables(&t, 1, q, qlen, tcp, ret, ret_len);
}

int dns_answer_tables(struct dns_table *const *tables, size_t n_tables, const uint8_t *q,
                      size_t qlen, bool tcp, uint8_t **ret, size_t *ret_len) {
        ldns_pkt *pkt = NULL, *r = NULL;
        _cleanup_free_ char *qname = NULL;
        char norm[254];
        const ldns_rr *question;
        struct dns_lookup l;
        size_t limit;
        int rv;

        if (qlen < DNS_HEADER_LEN || qlen > 65535)
                return -EBADMSG;
        if (q[2] & 0x80)
                return -EBADMSG; /* a response: never answer those (loops, reflection) */
        if (((q[2] >> 3) & 0xf) != LDNS_PACKET_QUERY)
                return dns_raw_error(q, qlen, LDNS_RCODE_NOTIMPL, ret, ret_len);
        if (ldns_wire2pkt(&pkt, q, qlen) != LDNS_STATUS_OK)
                return dns_raw_error(q, qlen, LDNS_RCODE_FORMERR, ret, ret_len);
        if (ldns_pkt_qdcount(pkt) != 1 || ldns_pkt_ancount(pkt) != 0 ||
            ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1) {
                ldns_pkt_free(pkt);
                return dns_raw_error(q, qlen, LDNS_RCODE_FORMERR, ret, ret_len);
        }
        question = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
        qname = ldns_rdf2str(ldns_rr_owner(question));
        if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN || !qname ||
            !dns_name_normalize(qname, norm) ||
            !dns_lookup(tables, n_tables, norm, ldns_rr_get_type(question), &l)) {
                ldns_pkt_free(pkt);
                return 0; /* not ours: forward */
        }
        limit = tcp ? 65535 : DNS_UDP_DEFAULT;
        if (!tcp && ldns_pkt_edns_udp_size(pkt) > DNS_UDP_DEFAULT)
                limit = MIN((size_t)ldns_pkt_edns_udp_size(pkt), (size_t)DNS_EDNS_MAX);
        r = dns_build(pkt, question, &l, true);
        rv = dns_encode(r, ret, ret_len);
        if (rv > 0 && *ret_len > limit) {
                free(*ret);
                *ret = NULL;
                ldns_pkt_free(r);
                r = dns_build(pkt, question, &l, false);
                ldns_pkt_set_tc(r, true);
                rv = dns_encode(r, ret, ret_len);
        }
        ldns_pkt_free(r);
        ldns_pkt_free(pkt);
        return rv;
}
