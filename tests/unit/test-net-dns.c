/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded DNS server: packet logic without sockets, then the server on loopback with a
 * fake upstream resolver run by the test itself (never the host's resolvers). */
#include <arpa/inet.h>
#include <ev.h>
#include <ldns/ldns.h>
#include <stdlib.h>

#include "cleanup.h"
#include "net/dns.h"
#include "tap.h"
#include "xalloc.h"

static uint8_t *mkquery(const char *name, ldns_rr_type type, uint16_t edns, size_t *len) {
        ldns_pkt *p = NULL;
        uint8_t *w = NULL;

        if (ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
                abort();
        ldns_pkt_set_id(p, 0x1234);
        if (edns)
                ldns_pkt_set_edns_udp_size(p, edns);
        if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
                abort();
        ldns_pkt_free(p);
        return w;
}

/* Runs one query through dns_answer and parses the response. */
static int ask(struct dns_table *t, const char *name, ldns_rr_type type, uint16_t edns, bool tcp,
               ldns_pkt **ret) {
        _cleanup_free_ uint8_t *q = NULL, *r = NULL;
        size_t ql, rl;
        int k;

        q = mkquery(name, type, edns, &ql);
        k = dns_answer(t, q, ql, tcp, &r, &rl);
        if (k <= 0)
                return k;
        if (ldns_wire2pkt(ret, r, rl) != LDNS_STATUS_OK)
                return -EPROTO;
        if (!tcp && rl > (edns ? edns : 512u))
                return -E2BIG;
        return k;
}

static uint32_t answer_ip(const ldns_pkt *p, size_t i) {
        const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
        uint32_t v;

        memcpy(&v, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 4);
        return ntohl(v);
}

static void test_table(void) {
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        _cleanup_err_ struct err *e = NULL;

        ASSERT_EQ(dns_table_add(t, "web", 0xac120002u, NULL), 1);
        ASSERT_EQ(dns_table_add(t, "WEB.", 0xac120002u, NULL), 0);
        ASSERT_EQ(dns_table_add(t, "db.internal", 0xac120003u, NULL), 1);
        ASSERT_ERR(dns_table_add(t, "bad name", 1, &e), EINVAL);
        ASSERT_STREQ(e->msg, "invalid DNS name 'bad name'");
        ASSERT_ERR(dns_table_add(t, "a..b", 1, NULL), EINVAL);
        ASSERT_ERR(dns_table_add(t, "", 1, NULL), EINVAL);
        ASSERT_EQ(dns_table_add(t, "x.", 1, NULL), 1);
        ASSERT_EQ(dns_table_remove(t, "web", 0xac120002u), 1);
        ASSERT_EQ(dns_table_remove(t, "web", 0xac120002u), 0);
        ASSERT_EQ(dns_table_add(t, "alias", 0xac120003u, NULL), 1);
        ASSERT_EQ(dns_table_remove_ip(t, 0xac120003u), 2);
        ASSERT_EQ(dns_table_remove_ip(t, 1), 1);
}

static void test_answers(void) {
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        ldns_pkt *p = NULL;

        ASSERT_OK(dns_table_add(t, "web", 0xac120002u, NULL));
        ASSERT_OK(dns_table_add(t, "db", 0xac120003u, NULL));
        ASSERT_OK(dns_table_add(t, "database", 0xac120003u, NULL));

        ASSERT_EQ(ask(t, "Web.", LDNS_RR_TYPE_A, 0, false, &p), 1);
        ASSERT_EQ(ldns_pkt_id(p), 0x1234);
        ASSERT_TRUE(ldns_pkt_qr(p));
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        ASSERT_EQ(answer_ip(p, 0), 0xac120002u);
        ldns_pkt_free(p);

        /* known name, other type: empty NOERROR */
        ASSERT_EQ(ask(t, "web.", LDNS_RR_TYPE_AAAA, 0, false, &p), 1);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
        ASSERT_EQ(ldns_pkt_ancount(p), 0);
        ldns_pkt_free(p);

        /* unknown single label: NXDOMAIN; dotted names go upstream */
        ASSERT_EQ(ask(t, "nope.", LDNS_RR_TYPE_A, 0, false, &p), 1);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
        ldns_pkt_free(p);
        ASSERT_EQ(ask(t, "example.org.", LDNS_RR_TYPE_A, 0, false, &p), 0);

        /* reverse lookups */
        ASSERT_EQ(ask(t, "3.0.18.172.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0, false, &p), 1);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        {
                _cleanup_free_ char *s =
                        ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
                ASSERT_STREQ(s, "db.");
        }
        ldns_pkt_free(p);
        ASSERT_EQ(ask(t, "9.0.18.172.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0, false, &p), 0);
}

static uint8_t *drop(uint8_t *p) {
        free(p);
        return NULL;
}

/* A container's view over several networks: the first table knowing a name answers. */
static void test_view_tables(void) {
        _cleanup_dns_table_ struct dns_table *a = dns_table_new(), *b = dns_table_new();
        _cleanup_free_ uint8_t *q = NULL, *r = NULL;
        struct dns_table *both[3] = {a, NULL, b};
        ldns_pkt *p = NULL;
        size_t ql, rl;

        ASSERT_OK(dns_table_add(a, "web", 0x0a000102u, NULL));
        ASSERT_OK(dns_table_add(a, "both", 0x0a000103u, NULL));
        ASSERT_OK(dns_table_add(b, "db", 0x0a000202u, NULL));
        ASSERT_OK(dns_table_add(b, "both", 0x0a000203u, NULL));

        q = mkquery("db.", LDNS_RR_TYPE_A, 0, &ql);
        ASSERT_EQ(dns_answer_tables(both, 3, q, ql, false, &r, &rl), 1);
        ASSERT_EQ(ldns_wire2pkt(&p, r, rl), LDNS_STATUS_OK);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        ASSERT_EQ(answer_ip(p, 0), 0x0a000202u);
        ldns_pkt_free(p);
        r = drop(r);
        /* the same query against the first table alone: NXDOMAIN */
        ASSERT_EQ(dns_answer_tables(both, 1, q, ql, false, &r, &rl), 1);
        ASSERT_EQ(ldns_wire2pkt(&p, r, rl), LDNS_STATUS_OK);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
        ldns_pkt_free(p);
        r = drop(r);
        q = drop(q);
        /* a name on both networks: the first network's address only */
        q = mkquery("both.", LDNS_RR_TYPE_A, 0, &ql);
        ASSERT_EQ(dns_answer_tables(both, 3, q, ql, false, &r, &rl), 1);
        ASSERT_EQ(ldns_wire2pkt(&p, r, rl), LDNS_STATUS_OK);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        ASSERT_EQ(answer_ip(p, 0), 0x0a000103u);
        ldns_pkt_free(p);
        r = drop(r);
        q = drop(q);
        /* PTR from the second table */
        q = mkquery("2.2.0.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0, &ql);
        ASSERT_EQ(dns_answer_tables(both, 3, q, ql, false, &r, &rl), 1);
        ASSERT_EQ(ldns_wire2pkt(&p, r, rl), LDNS_STATUS_OK);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        ldns_pkt_free(p);
}

static void test_replicas_rotate(void) {
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        uint32_t first[3];
        ldns_pkt *p = NULL;

        for (uint32_t i = 0; i < 3; i++)
                ASSERT_OK(dns_table_add(t, "api", 0x0a000002u + i, NULL));
        for (int k = 0; k < 3; k++) {
                uint32_t sum = 0;

                ASSERT_EQ(ask(t, "api.", LDNS_RR_TYPE_A, 0, false, &p), 1);
                ASSERT_EQ(ldns_pkt_ancount(p), 3);
                for (size_t i = 0; i < 3; i++)
                        sum += answer_ip(p, i) - 0x0a000002u;
                first[k] = answer_ip(p, 0);
                ldns_pkt_free(p);
                ASSERT_EQ(sum, 3); /* 0 + 1 + 2: every replica, once */
        }
        ASSERT_NE(first[0], first[1]);
        ASSERT_NE(first[1], first[2]);
        ASSERT_NE(first[0], first[2]);
}

static void test_truncation(void) {
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        ldns_pkt *p = NULL;

        for (uint32_t i = 0; i < 60; i++)
                ASSERT_OK(dns_table_add(t, "big", 0x0a000100u + i, NULL));
        ASSERT_EQ(ask(t, "big.", LDNS_RR_TYPE_A, 0, false, &p), 1);
        ASSERT_TRUE(ldns_pkt_tc(p));
        ASSERT_EQ(ldns_pkt_ancount(p), 0);
        ldns_pkt_free(p);
        ASSERT_EQ(ask(t, "big.", LDNS_RR_TYPE_A, 0, true, &p), 1);
        ASSERT_FALSE(ldns_pkt_tc(p));
        ASSERT_EQ(ldns_pkt_ancount(p), 60);
        ldns_pkt_free(p);
        ASSERT_EQ(ask(t, "big.", LDNS_RR_TYPE_A, 4096, false, &p), 1);
        ASSERT_FALSE(ldns_pkt_tc(p));
        ASSERT_EQ(ldns_pkt_ancount(p), 60);
        ldns_pkt_free(p);
}

static void test_malformed(void) {
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        uint8_t hdr[12] = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0};
        uint8_t *r = NULL;
        size_t rl = 0;

        ASSERT_ERR(dns_answer(t, hdr, 5, false, &r, &rl), EBADMSG);
        /* claims two questions, has none: FORMERR with the same id */
        ASSERT_EQ(dns_answer(t, hdr, sizeof(hdr), false, &r, &rl), 1);
        ASSERT_EQ(rl, 12);
        ASSERT_EQ(r[0], 0xab);
        ASSERT_EQ(r[1], 0xcd);
        ASSERT_TRUE(r[2] & 0x80);
        ASSERT_EQ(r[3] & 0xf, LDNS_RCODE_FORMERR);
        free(r);
        /* responses are never answered */
        hdr[2] = 0x81;
        ASSERT_ERR(dns_answer(t, hdr, sizeof(hdr), false, &r, &rl), EBADMSG);
        /* other opcodes: NOTIMP */
        hdr[2] = 0x10;
        ASSERT_EQ(dns_answer(t, hdr, sizeof(hdr), false, &r, &rl), 1);
        ASSERT_EQ(r[3] & 0xf, LDNS_RCODE_NOTIMPL);
        free(r);
        ASSERT_OK(dns_servfail(hdr, sizeof(hdr), &r, &rl));
        ASSERT_EQ(r[3] & 0xf, LDNS_RCODE_SERVFAIL);
        free(r);
}

static void test_resolv_conf(void) {
        _cleanup_free_ struct sockaddr_storage *v = NULL;
        size_t n = 0;

        ASSERT_OK(dns_parse_resolv_conf("# x\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n"
                                        "search lan\nnameserver ::1\nnameserver fd00::1\n",
                                        &v, &n));
        ASSERT_EQ(n, 2);
        ASSERT_EQ(v[0].ss_family, AF_INET);
        ASSERT_EQ(v[1].ss_family, AF_INET6);
}

/* ---- sockets on loopback ---- */

struct fake_upstream {
        int fd, tcp_fd;
        ev_io io, tcp_io;
        int queries, tcp_queries;
        bool silent; /* never answers */
};

/* The fake resolver's answer: 192.0.2.77 for every A question; names starting with "big" get
 * 40 addresses over TCP and an empty truncated answer over UDP. */
static uint8_t *fake_answer(const uint8_t *buf, size_t n, bool tcp, size_t *ret_len) {
        ldns_pkt *q = NULL, *r = NULL;
        uint8_t *wire = NULL;
        _cleanup_free_ char *owner = NULL;
        bool big;

        if (ldns_wire2pkt(&q, buf, n) != LDNS_STATUS_OK)
                return NULL;
        owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
        big = owner && strncmp(owner, "big", 3) == 0;
        r = ldns_pkt_new();
        ldns_pkt_set_id(r, ldns_pkt_id(q));
        ldns_pkt_set_qr(r, true);
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION,
                         ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
        if (big && !tcp)
                ldns_pkt_set_tc(r, true);
        for (int i = 0; i < (big ? (tcp ? 40 : 0) : 1); i++) {
                ldns_rr *rr = NULL;
                _cleanup_free_ char *txt =
                        xasprintf("%s 60 IN A 192.0.2.%d", owner, big ? 100 + i : 77);

                if (ldns_rr_new_frm_str(&rr, txt, 0, NULL, NULL) == LDNS_STATUS_OK)
                        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
        }
        if (ldns_pkt2wire(&wire, r, ret_len) != LDNS_STATUS_OK)
                wire = NULL;
        ldns_pkt_free(r);
        ldns_pkt_free(q);
        return wire;
}

static void upstream_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct fake_upstream *u = container_of(w, struct fake_upstream, io);
        _cleanup_free_ uint8_t *wire = NULL;
        uint8_t buf[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        size_t wl = 0;
        ssize_t n;

        (void)loop;
        (void)revents;
        n = recvfrom(u->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n <= 0)
                return;
        u->queries++;
        if (u->silent)
                return;
        wire = fake_answer(buf, (size_t)n, false, &wl);
        if (wire)
                (void)sendto(u->fd, wire, wl, 0, (struct sockaddr *)&from, fl);
}

struct fake_tcp_conn {
        ev_io io;
        struct fake_upstream *u;
        uint8_t buf[600];
        size_t len;
};

static void fake_tcp_conn_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct fake_tcp_conn *c = container_of(w, struct fake_tcp_conn, io);
        ssize_t n;

        (void)revents;
        n = read(w->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n > 0)
                c->len += (size_t)n;
        if (n > 0 && c->len >= 2 && c->len >= 2 + (size_t)(c->buf[0] << 8 | c->buf[1])) {
                _cleanup_free_ uint8_t *wire = NULL;
                size_t wl = 0;

                c->u->tcp_queries++;
                wire = fake_answer(c->buf + 2, c->len - 2, true, &wl);
                if (wire) {
                        uint8_t lp[2] = {(uint8_t)(wl >> 8), (uint8_t)wl};
                        (void)!write(w->fd, lp, 2);
                        (void)!write(w->fd, wire, wl);
                }
        } else if (n > 0)
                return;
        ev_io_stop(loop, w);
        close(w->fd);
        free(c);
}

static void upstream_tcp_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct fake_upstream *u = container_of(w, struct fake_upstream, tcp_io);
        struct fake_tcp_conn *c;
        int fd;

        (void)revents;
        fd = accept4(u->tcp_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return;
        c = xnew0(struct fake_tcp_conn, 1);
        c->u = u;
        ev_io_init(&c->io, fake_tcp_conn_cb, fd, EV_READ);
        ev_io_start(loop, &c->io);
}

struct client {
        ev_io io;
        ev_timer guard;
        uint8_t buf[4096];
        ssize_t len;
};

static void client_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct client *c = container_of(w, struct client, io);

        (void)revents;
        c->len = recv(w->fd, c->buf, sizeof(c->buf), 0);
        ev_break(loop, EVBREAK_ALL);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

/* Sends q over UDP (or TCP with the length prefix) and runs the loop until the answer comes
 * (or a 10 s guard against hanging forever). Returns the parsed answer or NULL. */
static ldns_pkt *roundtrip(struct ev_loop *loop, const struct sockaddr_in *srv, const char *name,
                           bool tcp) {
        _cleanup_free_ uint8_t *q = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct client c = {.len = -1};
        ldns_pkt *p = NULL;
        size_t ql;

        q = mkquery(name, LDNS_RR_TYPE_A, 0, &ql);
        fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)srv, sizeof(*srv)) < 0)
                return NULL;
        if (tcp) {
                uint8_t lenp[2] = {(uint8_t)(ql >> 8), (uint8_t)ql};
                if (send(fd, lenp, 2, 0) != 2)
                        return NULL;
        }
        if (send(fd, q, ql, 0) != (ssize_t)ql)
                return NULL;
        ev_io_init(&c.io, client_cb, fd, EV_READ);
        ev_timer_init(&c.guard, guard_cb, 10., 0.);
        ev_io_start(loop, &c.io);
        ev_timer_start(loop, &c.guard);
        ev_run(loop, 0);
        ev_io_stop(loop, &c.io);
        ev_timer_stop(loop, &c.guard);
        if (tcp && c.len > 2) {
                if (ldns_wire2pkt(&p, c.buf + 2, (size_t)c.len - 2) != LDNS_STATUS_OK)
                        return NULL;
        } else if (!tcp && c.len > 0) {
                if (ldns_wire2pkt(&p, c.buf, (size_t)c.len) != LDNS_STATUS_OK)
                        return NULL;
        }
        return p;
}

static void test_server_loopback(void) {
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        _cleanup_dns_server_ struct dns_server *s = NULL, *s2 = NULL;
        struct fake_upstream up = {.fd = -1, .tcp_fd = -1};
        struct sockaddr_in la = {.sin_family = AF_INET}, srv, ua;
        struct sockaddr_storage ups[1] = {};
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        socklen_t ul = sizeof(ua);
        ldns_pkt *p;

        ASSERT_NOT_NULL(loop);
        la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        /* the fake upstream needs one port for UDP and TCP: a free UDP port may be taken
         * for TCP by another test running beside this one, so try a bounded number */
        for (int tries = 0; tries < 64 && up.tcp_fd < 0; tries++) {
                if (up.fd >= 0)
                        close(up.fd);
                up.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                ASSERT_TRUE(up.fd >= 0);
                ASSERT_OK(bind(up.fd, (struct sockaddr *)&la, sizeof(la)));
                ul = sizeof(ua);
                ASSERT_OK(getsockname(up.fd, (struct sockaddr *)&ua, &ul));
                up.tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ASSERT_TRUE(up.tcp_fd >= 0);
                if (bind(up.tcp_fd, (struct sockaddr *)&ua, sizeof(ua)) < 0) {
                        close(up.tcp_fd);
                        up.tcp_fd = -1;
                }
        }
        ASSERT_TRUE(up.tcp_fd >= 0);
        memcpy(&ups[0], &ua, sizeof(ua));
        ev_io_init(&up.io, upstream_cb, up.fd, EV_READ);
        ev_io_start(loop, &up.io);
        ASSERT_OK(listen(up.tcp_fd, 4));
        ev_io_init(&up.tcp_io, upstream_tcp_cb, up.tcp_fd, EV_READ);
        ev_io_start(loop, &up.tcp_io);

        ASSERT_OK(dns_table_add(t, "web", 0xac120002u, NULL));
        ASSERT_OK(dns_server_new(loop, &la, t, ups, 1, 2000, &s, NULL));
        ASSERT_OK(dns_server_local(s, &srv));

        p = roundtrip(loop, &srv, "web.", false);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        ASSERT_EQ(answer_ip(p, 0), 0xac120002u);
        ldns_pkt_free(p);
        ASSERT_EQ(up.queries, 0);

        p = roundtrip(loop, &srv, "web.", true);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(answer_ip(p, 0), 0xac120002u);
        ldns_pkt_free(p);

        /* forwarded, answered by the fake upstream, id restored */
        p = roundtrip(loop, &srv, "www.example.org.", false);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(ldns_pkt_id(p), 0x1234);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        ASSERT_EQ(answer_ip(p, 0), 0xc000024du);
        ldns_pkt_free(p);
        ASSERT_EQ(up.queries, 1);
        p = roundtrip(loop, &srv, "tcp.example.org.", true);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(answer_ip(p, 0), 0xc000024du);
        ldns_pkt_free(p);

        /* a truncated upstream answer: UDP clients get it as is, TCP clients get the full
         * answer fetched again over TCP */
        p = roundtrip(loop, &srv, "big.example.org.", false);
        ASSERT_NOT_NULL(p);
        ASSERT_TRUE(ldns_pkt_tc(p));
        ldns_pkt_free(p);
        ASSERT_EQ(up.tcp_queries, 0);
        p = roundtrip(loop, &srv, "big.example.org.", true);
        ASSERT_NOT_NULL(p);
        ASSERT_FALSE(ldns_pkt_tc(p));
        ASSERT_EQ(ldns_pkt_ancount(p), 40);
        ASSERT_EQ(ldns_pkt_id(p), 0x1234);
        ldns_pkt_free(p);
        ASSERT_EQ(up.tcp_queries, 1);

        /* the table is live: the daemon's updates show at once */
        ASSERT_OK(dns_table_add(t, "late", 0xac120009u, NULL));
        p = roundtrip(loop, &srv, "late.", false);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(answer_ip(p, 0), 0xac120009u);
        ldns_pkt_free(p);

        /* a silent upstream ends in SERVFAIL after the timeout */
        up.silent = true;
        {
                struct sockaddr_in la2 = la, srv2;

                ASSERT_OK(dns_server_new(loop, &la2, t, ups, 1, 100, &s2, NULL));
                ASSERT_OK(dns_server_local(s2, &srv2));
                p = roundtrip(loop, &srv2, "slow.example.org.", false);
                ASSERT_NOT_NULL(p);
                ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
                ASSERT_EQ(ldns_pkt_id(p), 0x1234);
                ldns_pkt_free(p);
        }
        s = dns_server_free(s);
        s2 = dns_server_free(s2);
        ev_io_stop(loop, &up.io);
        ev_io_stop(loop, &up.tcp_io);
        close(up.fd);
        close(up.tcp_fd);
        ev_loop_destroy(loop);
}

TAP_MAIN(test_table, test_answers, test_view_tables, test_replicas_rotate, test_truncation,
         test_malformed, test_resolv_conf, test_server_loopback)
