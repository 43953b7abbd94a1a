/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded DNS server's sockets: UDP and TCP listeners and non-blocking forwarding to
 * upstream resolvers, all driven by the caller's libev loop (STYLE C11). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "net/dns.h"
#include "strv.h"
#include "xalloc.h"

#define DNS_MAX_PENDING 1024
#define DNS_MAX_CONNS 64
#define DNS_TCP_IDLE 10.0
#define DNS_UDP_BATCH 64
#define DNS_MSG_MAX 65535
#define DNS_TCP_OUT_MAX (256u << 10)

struct dns_conn;

struct dns_pending {
        struct dns_server *s;
        ev_timer timer;
        uint16_t up_id, orig_id;
        size_t upstream;
        struct sockaddr_storage client;
        socklen_t client_len;
        struct dns_conn *conn; /* TCP client, or NULL for UDP */
        uint8_t *query;
        size_t qlen;
        /* TCP retry towards the upstream when its UDP answer came back truncated and the client
         * asked over TCP (it can take the full answer). */
        int tcp_fd;
        ev_io tcp_io;
        uint8_t *tbuf; /* the length-prefixed query, then the reply being read */
        size_t tlen, toff;
        bool reading;
        uint8_t *truncated; /* the truncated UDP answer: sent if the TCP retry fails */
        size_t truncated_len;
        struct dns_pending *prev, *next;
};

struct dns_conn {
        struct dns_server *s;
        int fd;
        uint32_t peer; /* IPv4 client address (host order), 0 if not IPv4 */
        ev_io io;
        ev_timer idle;
        uint8_t in[2 + DNS_MSG_MAX];
        size_t in_len;
        uint8_t *out;
        size_t out_len, out_off;
        bool broken; /* its client stopped reading: freed once the current event is handled */
        struct dns_conn *prev, *next;
};

struct dns_server {
        struct ev_loop *loop;
        struct dns_table *table;
        dns_view_fn *view;
        void *view_ud;
        int udp_fd, tcp_fd, up4_fd, up6_fd;
        ev_io udp_io, tcp_io, up4_io, up6_io;
        struct sockaddr_storage *ups;
        size_t n_ups;
        double timeout;
        struct dns_pending *pending;
        size_t n_pending;
        struct dns_conn *conns;
        size_t n_conns;
        uint16_t next_id;
};

#define LIST_REMOVE(head, x)                                                                       \
        do {                                                                                       \
                if ((x)->prev)                                                                     \
                        (x)->prev->next = (x)->next;                                               \
                else                                                                               \
                        (head) = (x)->next;                                                        \
                if ((x)->next)                                                                     \
                        (x)->next->prev = (x)->prev;                                               \
                (x)->prev = (x)->next = NULL;                                                      \
        } while (0)
#define LIST_PREPEND(head, x)                                                                      \
        do {                                                                                       \
                (x)->prev = NULL;                                                                  \
                (x)->next = (head);                                                                \
                if (head)                                                                          \
                        (head)->prev = (x);                                                        \
                (head) = (x);                                                                      \
        } while (0)

static void conn_free(struct dns_conn *c);
static socklen_t ss_len(const struct sockaddr_storage *ss);

/* Queues a length-prefixed answer. Returns false when the client does not read its answers
 * (more than DNS_TCP_OUT_MAX queued): the caller drops the connection. */
static bool conn_queue(struct dns_conn *c, const uint8_t *msg, size_t len) {
        if (len > DNS_MSG_MAX)
                return true;
        if (c->out_len - c->out_off > DNS_TCP_OUT_MAX)
                return false;
        if (c->out_off == c->out_len) {
                free(c->out);
                c->out = NULL;
                c->out_len = c->out_off = 0;
        }
        c->out = xrealloc(c->out, c->out_len + 2 + len);
        c->out[c->out_len] = (uint8_t)(len >> 8);
        c->out[c->out_len + 1] = (uint8_t)len;
        memcpy(c->out + c->out_len + 2, msg, len);
        c->out_len += 2 + len;
        ev_io_stop(c->s->loop, &c->io);
        ev_io_set(&c->io, c->fd, EV_READ | EV_WRITE);
        ev_io_start(c->s->loop, &c->io);
        return true;
}

/* Sends a response to whoever asked: a UDP client address or a TCP connection. */
static void deliver(struct dns_server *s, const struct sockaddr_storage *client, socklen_t clen,
                    struct dns_conn *conn, const uint8_t *msg, size_t len) {
        if (conn) {
                if (!conn_queue(conn, msg, len))
                        conn->broken = true;
        } else if (clen > 0)
                /* UDP is best effort: a full socket buffer drops the answer, the client
                 * retries. */
                (void)sendto(s->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)client,
                             clen);
}

static void pending_free(struct dns_pending *p) {
        ev_timer_stop(p->s->loop, &p->timer);
        if (p->tcp_fd >= 0) {
                ev_io_stop(p->s->loop, &p->tcp_io);
                safe_close(p->tcp_fd);
        }
        LIST_REMOVE(p->s->pending, p);
        p->s->n_pending--;
        free(p->query);
        free(p->tbuf);
        free(p->truncated);
        free(p);
}

/* Answers the client with msg (id already restored) and ends the query. */
static void pending_finish(struct dns_pending *p, const uint8_t *msg, size_t len) {
        struct dns_conn *conn = p->conn;

        deliver(p->s, &p->client, p->client_len, conn, msg, len);
        pending_free(p);
        if (conn && conn->broken)
                conn_free(conn);
}

static void pending_tcp_fail(struct dns_pending *p) {
        _cleanup_free_ uint8_t *t = TAKE_PTR(p->truncated);

        pending_finish(p, t, p->truncated_len);
}

static void pending_tcp_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct dns_pending *p = container_of(w, struct dns_pending, tcp_io);
        ssize_t n;

        (void)revents;
        if (!p->reading) {
                n = send(p->tcp_fd, p->tbuf + p->toff, p->tlen - p->toff,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0) {
                        pending_tcp_fail(p);
                        return;
                }
                p->toff += (size_t)n;
                if (p->toff < p->tlen)
                        return;
                free(p->tbuf);
                p->tbuf = xmalloc(2 + DNS_MSG_MAX);
                p->tlen = 0;
                p->reading = true;
                ev_io_stop(loop, &p->tcp_io);
                ev_io_set(&p->tcp_io, p->tcp_fd, EV_READ);
                ev_io_start(loop, &p->tcp_io);
                return;
        }
        n = recv(p->tcp_fd, p->tbuf + p->tlen, 2 + DNS_MSG_MAX - p->tlen, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                pending_tcp_fail(p);
                return;
        }
        p->tlen += (size_t)n;
        if (p->tlen >= 2) {
                size_t len = (size_t)p->tbuf[0] << 8 | p->tbuf[1];

                if (p->tlen < 2 + len)
                        return;
                if (len < 12 || (uint16_t)(p->tbuf[2] << 8 | p->tbuf[3]) != p->up_id ||
                    !(p->tbuf[4] & 0x80)) {
                        pending_tcp_fail(p);
                        return;
                }
                p->tbuf[2] = (uint8_t)(p->orig_id >> 8);
                p->tbuf[3] = (uint8_t)p->orig_id;
                pending_finish(p, p->tbuf + 2, len);
        }
}

/* Starts the TCP retry; returns false when it cannot even start. */
static bool pending_tcp_start(struct dns_pending *p, const uint8_t *answer, size_t len) {
        struct dns_server *s = p->s;
        const struct sockaddr_storage *up = &s->ups[p->upstream];
        _cleanup_close_ int fd = -EBADF;

        fd = socket(up->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        if (connect(fd, (const struct sockaddr *)up, ss_len(up)) < 0 && errno != EINPROGRESS)
                return false;
        p->truncated = xmemdup(answer, len);
        p->truncated_len = len;
        p->tbuf = xmalloc(2 + p->qlen);
        p->tbuf[0] = (uint8_t)(p->qlen >> 8);
        p->tbuf[1] = (uint8_t)p->qlen;
        memcpy(p->tbuf + 2, p->query, p->qlen);
        p->tlen = 2 + p->qlen;
        p->tcp_fd = TAKE_FD(fd);
        ev_io_init(&p->tcp_io, pending_tcp_cb, p->tcp_fd, EV_WRITE);
        ev_io_start(s->loop, &p->tcp_io);
        ev_timer_stop(s->loop, &p->timer);
        ev_timer_set(&p->timer, s->timeout, 0.);
        ev_timer_start(s->loop, &p->timer);
        return true;
}

static int upstream_fd(struct dns_server *s, size_t i) {
        return s->ups[i].ss_family == AF_INET6 ? s->up6_fd : s->up4_fd;
}

static socklen_t ss_len(const struct sockaddr_storage *ss) {
        return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void pending_send(struct dns_pending *p) {
        struct dns_server *s = p->s;

        (void)sendto(upstream_fd(s, p->upstream), p->query, p->qlen, MSG_DONTWAIT,
                     (const struct sockaddr *)&s->ups[p->upstream], ss_len(&s->ups[p->upstream]));
        ev_timer_set(&p->timer, s->timeout, 0.);
        ev_timer_start(s->loop, &p->timer);
}

static void reply_servfail(struct dns_server *s, const uint8_t *q, size_t qlen,
                           const struct sockaddr_storage *client, socklen_t clen,
                           struct dns_conn *conn) {
        _cleanup_free_ uint8_t *r = NULL;
        size_t rlen;

        if (dns_servfail(q, qlen, &r, &rlen) > 0)
                deliver(s, client, clen, conn, r, rlen);
}

static void pending_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct dns_pending *p = container_of(w, struct dns_pending, timer);
        struct dns_conn *conn;

        (void)loop;
        (void)revents;
        if (p->tcp_fd >= 0) {
                pending_tcp_fail(p);
                return;
        }
        if (++p->upstream < p->s->n_ups) {
                pending_send(p);
                return;
        }
        p->query[0] = (uint8_t)(p->orig_id >> 8);
        p->query[1] = (uint8_t)p->orig_id;
        conn = p->conn;
        reply_servfail(p->s, p->query, p->qlen, &p->client, p->client_len, conn);
        pending_free(p);
        if (conn && conn->broken)
                conn_free(conn);
}

static bool id_in_use(struct dns_server *s, uint16_t id) {
        for (struct dns_pending *p = s->pending; p; p = p->next)
                if (p->up_id == id)
                        return true;
        return false;
}

static void forward(struct dns_server *s, const uint8_t *q, size_t qlen,
                    const struct sockaddr_storage *client, socklen_t clen, struct dns_conn *conn) {
        struct dns_pending *p;

        if (s->n_ups == 0 || s->n_pending >= DNS_MAX_PENDING) {
                reply_servfail(s, q, qlen, client, clen, conn);
                return;
        }
        p = xnew0(struct dns_pending, 1);
        p->s = s;
        p->tcp_fd = -EBADF;
        p->orig_id = (uint16_t)(q[0] << 8 | q[1]);
        /* Fresh ids make replies hard to spoof and keep clients with equal ids apart. */
        do
                p->up_id = s->next_id += 40503;
        while (id_in_use(s, p->up_id));
        p->query = xmemdup(q, qlen);
        p->qlen = qlen;
        p->query[0] = (uint8_t)(p->up_id >> 8);
        p->query[1] = (uint8_t)p->up_id;
        if (client)
                p->client = *client;
        p->client_len = clen;
        p->conn = conn;
        ev_timer_init(&p->timer, pending_timeout_cb, s->timeout, 0.);
        LIST_PREPEND(s->pending, p);
        s->n_pending++;
        pending_send(p);
}

static void handle_query(struct dns_server *s, const uint8_t *q, size_t qlen,
                         const struct sockaddr_storage *client, socklen_t clen,
                         struct dns_conn *conn) {
        _cleanup_free_ uint8_t *r = NULL;
        size_t rlen = 0;
        int k;

        if (s->view) {
                struct dns_table *tables[DNS_VIEW_MAX];
                uint32_t peer = 0;
                size_t n;

                if (conn)
                        peer = conn->peer;
                else if (client && client->ss_family == AF_INET)
                        peer = ntohl(((const struct sockaddr_in *)(const void *)client)
                                             ->sin_addr.s_addr);
                n = s->view(s->view_ud, peer, tables, DNS_VIEW_MAX);
                k = n > 0 ? dns_answer_tables(tables, n, q, qlen, conn != NULL, &r, &rlen)
                          : dns_answer(s->table, q, qlen, conn != NULL, &r, &rlen);
        } else
                k = dns_answer(s->table, q, qlen, conn != NULL, &r, &rlen);
        if (k > 0)
                deliver(s, client, clen, conn, r, rlen);
        else if (k == 0)
                forward(s, q, qlen, client, clen, conn);
}

static void udp_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct dns_server *s = container_of(w, struct dns_server, udp_io);
        uint8_t buf[DNS_MSG_MAX];

        (void)loop;
        (void)revents;
        for (int i = 0; i < DNS_UDP_BATCH; i++) {
                struct sockaddr_storage from;
                socklen_t fl = sizeof(from);
                ssize_t n;

                n = recvfrom(s->udp_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
                             &fl);
                if (n < 0)
                        return; /* EAGAIN: wait for the next event */
                handle_query(s, buf, (size_t)n, &from, fl, NULL);
        }
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET) {
                const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
                return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static void upstream_read(struct dns_server *s, int fd) {
        uint8_t buf[DNS_MSG_MAX];

        for (int i = 0; i < DNS_UDP_BATCH; i++) {
                struct sockaddr_storage from = {};
                socklen_t fl = sizeof(from);
                struct dns_pending *p;
                uint16_t id;
                ssize_t n;

                n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
                if (n < 0)
                        return;
                if (n < 12 || !(buf[2] & 0x80))
                        continue;
                id = (uint16_t)(buf[0] << 8 | buf[1]);
                for (p = s->pending; p; p = p->next)
                        if (p->up_id == id && same_addr(&from, &s->ups[p->upstream]))
                                break;
                if (!p)
                        continue; /* late, duplicate or spoofed */
                if (p->tcp_fd >= 0)
                        continue; /* already retrying over TCP */
                buf[0] = (uint8_t)(p->orig_id >> 8);
                buf[1] = (uint8_t)p->orig_id;
                if ((buf[2] & 0x02) && p->conn && pending_tcp_start(p, buf, (size_t)n))
                        continue;
                pending_finish(p, buf, (size_t)n);
        }
}

static void up4_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop;
        (void)revents;
        upstream_read(container_of(w, struct dns_server, up4_io), w->fd);
}

static void up6_cb(struct ev_loop *loop, ev_io *w, int revents) {
        (void)loop;
        (void)revents;
        upstream_read(container_of(w, struct dns_server, up6_io), w->fd);
}

static void conn_free(struct dns_conn *c) {
        struct dns_server *s = c->s;

        /* Answers still pending upstream for this connection have nowhere to go. */
        for (struct dns_pending *p = s->pending; p; p = p->next)
                if (p->conn == c)
                        p->conn = NULL, p->client_len = 0;
        ev_io_stop(s->loop, &c->io);
        ev_timer_stop(s->loop, &c->idle);
        LIST_REMOVE(s->conns, c);
        s->n_conns--;
        safe_close(c->fd);
        free(c->out);
        free(c);
}

static void conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        conn_free(container_of(w, struct dns_conn, idle));
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct dns_conn *c = container_of(w, struct dns_conn, io);

        if (revents & EV_WRITE) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_free(c);
                        return;
                }
                if (n > 0)
                        c->out_off += (size_t)n;
                if (c->out_off == c->out_len) {
                        ev_io_stop(loop, &c->io);
                        ev_io_set(&c->io, c->fd, EV_READ);
                        ev_io_start(loop, &c->io);
                }
        }
        if (revents & EV_READ) {
                ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        conn_free(c);
                        return;
                }
                if (n < 0)
                        return;
                c->in_len += (size_t)n;
                ev_timer_again(loop, &c->idle);
                for (;;) {
                        size_t len;

                        if (c->in_len < 2)
                                break;
                        len = (size_t)c->in[0] << 8 | c->in[1];
                        if (c->in_len < 2 + len)
                                break;
                        handle_query(c->s, c->in + 2, len, NULL, 0, c);
                        memmove(c->in, c->in + 2 + len, c->in_len - 2 - len);
                        c->in_len -= 2 + len;
                        if (c->broken) {
                                conn_free(c);
                                return;
                        }
                }
        }
}

static void tcp_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct dns_server *s = container_of(w, struct dns_server, tcp_io);
        struct sockaddr_storage peer = {};
        socklen_t plen = sizeof(peer);
        struct dns_conn *c;
        int fd;

        (void)revents;
        fd = accept4(s->tcp_fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
                return;
        if (s->n_conns >= DNS_MAX_CONNS) {
                safe_close(fd);
                return;
        }
        c = xnew0(struct dns_conn, 1);
        c->s = s;
        c->fd = fd;
        if (peer.ss_family == AF_INET)
                c->peer = ntohl(((struct sockaddr_in *)&peer)->sin_addr.s_addr);
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        ev_timer_init(&c->idle, conn_idle_cb, 0., DNS_TCP_IDLE);
        ev_io_start(loop, &c->io);
        ev_timer_again(loop, &c->idle);
        LIST_PREPEND(s->conns, c);
        s->n_conns++;
}

static int open_socket(int family, int type, const struct sockaddr *addr, socklen_t alen,
                       struct err **errp) {
        _cleanup_close_ int fd = -EBADF;
        int one = 1;

        fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(errp, errno, "create DNS socket");
        if (type == SOCK_STREAM)
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (addr && bind(fd, addr, alen) < 0) {
                char ip[INET_ADDRSTRLEN] = "";

                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, ip,
                          sizeof(ip));
                return err_set(errp, errno, "bind DNS %s socket to %s:%u",
                               type == SOCK_STREAM ? "TCP" : "UDP", ip,
                               ntohs(((const struct sockaddr_in *)(const void *)addr)->sin_port));
        }
        if (type == SOCK_STREAM && addr && listen(fd, 64) < 0)
                return err_set(errp, errno, "listen on DNS TCP socket");
        return TAKE_FD(fd);
}

int dns_server_new(struct ev_loop *loop, const struct sockaddr_in *listen_addr,
                   struct dns_table *table, const struct sockaddr_storage *upstreams,
                   size_t n_upstreams, unsigned timeout_ms, struct dns_server **ret,
                   struct err **errp) {
        _cleanup_(dns_server_freep) struct dns_server *s = NULL;
        struct sockaddr_in a = *listen_addr;
        socklen_t al = sizeof(a);
        int r;

        if (n_upstreams > 16)
                return err_setx(errp, EINVAL, "too many upstream resolvers (max 16)");
        for (size_t i = 0; i < n_upstreams; i++)
                if (upstreams[i].ss_family != AF_INET && upstreams[i].ss_family != AF_INET6)
                        return err_setx(errp, EAFNOSUPPORT, "upstream resolver %zu: bad family", i);
        s = xnew0(struct dns_server, 1);
        s->loop = loop;
        s->table = table;
        s->udp_fd = s->tcp_fd = s->up4_fd = s->up6_fd = -EBADF;
        s->timeout = (timeout_ms ? timeout_ms : 2000) / 1000.0;
        if (getrandom(&s->next_id, sizeof(s->next_id), GRND_NONBLOCK) < 0)
                s->next_id = (uint16_t)getpid();

        /* With port 0 the TCP listener takes the port the kernel gave the UDP socket; that
         * port may be someone else's for TCP, so an ephemeral pair gets a bounded retry. */
        for (int tries = 0;; tries++) {
                a = *listen_addr;
                r = open_socket(AF_INET, SOCK_DGRAM, (const struct sockaddr *)&a, sizeof(a), errp);
                if (r < 0)
                        return r;
                s->udp_fd = r;
                al = sizeof(a);
                if (getsockname(s->udp_fd, (struct sockaddr *)&a, &al) < 0)
                        return err_set(errp, errno, "getsockname");
                r = open_socket(AF_INET, SOCK_STREAM, (const struct sockaddr *)&a, sizeof(a),
                                listen_addr->sin_port == 0 && tries < 63 ? NULL : errp);
                if (r >= 0)
                        break;
                if (listen_addr->sin_port != 0 || tries >= 63)
                        return r;
                s->udp_fd = safe_close(s->udp_fd);
        }
        s->tcp_fd = r;
        r = open_socket(AF_INET, SOCK_DGRAM, NULL, 0, errp);
        if (r < 0)
                return r;
        s->up4_fd = r;
        r = open_socket(AF_INET6, SOCK_DGRAM, NULL, 0, NULL);
        s->up6_fd = r; /* IPv6 may be disabled: IPv6 upstreams then just time out */
        if (n_upstreams > 0)
                s->ups = xmemdup(upstreams, n_upstreams * sizeof(*upstreams));
        s->n_ups = n_upstreams;

        ev_io_init(&s->udp_io, udp_cb, s->udp_fd, EV_READ);
        ev_io_init(&s->tcp_io, tcp_cb, s->tcp_fd, EV_READ);
        ev_io_init(&s->up4_io, up4_cb, s->up4_fd, EV_READ);
        ev_io_start(loop, &s->udp_io);
        ev_io_start(loop, &s->tcp_io);
        ev_io_start(loop, &s->up4_io);
        if (s->up6_fd >= 0) {
                ev_io_init(&s->up6_io, up6_cb, s->up6_fd, EV_READ);
                ev_io_start(loop, &s->up6_io);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

struct dns_server *dns_server_free(struct dns_server *s) {
        if (!s)
                return NULL;
        while (s->pending)
                pending_free(s->pending);
        while (s->conns)
                conn_free(s->conns);
        if (s->udp_fd >= 0)
                ev_io_stop(s->loop, &s->udp_io);
        if (s->tcp_fd >= 0)
                ev_io_stop(s->loop, &s->tcp_io);
        if (s->up4_fd >= 0)
                ev_io_stop(s->loop, &s->up4_io);
        if (s->up6_fd >= 0)
                ev_io_stop(s->loop, &s->up6_io);
        safe_close(s->udp_fd);
        safe_close(s->tcp_fd);
        safe_close(s->up4_fd);
        safe_close(s->up6_fd);
        free(s->ups);
        free(s);
        return NULL;
}

void dns_server_freep(struct dns_server **s) {
        *s = dns_server_free(*s);
}

int dns_server_local(const struct dns_server *s, struct sockaddr_in *ret) {
        socklen_t l = sizeof(*ret);

        if (getsockname(s->udp_fd, (struct sockaddr *)ret, &l) < 0)
                return -errno;
        return 0;
}

int dns_parse_resolv_conf(const char *text, struct sockaddr_storage **ret, size_t *ret_n) {
        _cleanup_strv_ char **lines = strv_split(text ? text : "", "\n");
        struct sockaddr_storage *v = NULL;
        size_t n = 0, allocated = 0;

        STRV_FOREACH (l, lines) {
                _cleanup_strv_ char **f = strv_split(*l, " \t\r");
                struct sockaddr_storage ss = {};
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

                if (strv_length(f) < 2 || !streq(f[0], "nameserver") || n >= 16)
                        continue;
                if (inet_pton(AF_INET, f[1], &s4->sin_addr) == 1) {
                        if ((ntohl(s4->sin_addr.s_addr) >> 24) == 127)
                                continue;
                        s4->sin_family = AF_INET;
                        s4->sin_port = htons(53);
                } else if (inet_pton(AF_INET6, f[1], &s6->sin6_addr) == 1) {
                        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
                                continue;
                        s6->sin6_family = AF_INET6;
                        s6->sin6_port = htons(53);
                } else
                        continue;
                XGROW(v, allocated, n + 1);
                v[n++] = ss;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void dns_server_set_view(struct dns_server *s, dns_view_fn *fn, void *userdata) {
        s->view = fn;
        s->view_ud = userdata;
}
