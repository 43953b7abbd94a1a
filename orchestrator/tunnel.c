/* SPDX-License-Identifier: Apache-2.0 */
/* The reverse channel to agents (tunnel.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controller_int.h"
#include "http_router.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "nodes.h"
#include "strv.h"
#include "tunnel.h"
#include "tunnel_req.h"
#include "xalloc.h"

/* A client's request on its way to a node and back. */
struct tun_req {
        struct tunnel *t;
        uint64_t id;
        char *node;
        json_t *spec; /* {"id", "method", "path", "body"?} as the agent gets it */
        struct http_req *client;
        bool sent;   /* handed to the agent's poll */
        bool stream; /* the agent dials back a stream (h_stream) instead of posting an answer */
        ev_timer timer;
        struct tun_req *next;
};

/* An agent's parked poll. */
struct tun_poll {
        struct tunnel *t;
        char *node;
        struct http_req *req;
        ev_timer timer;
        struct tun_poll *next;
};

/* A streamed request: the client's and the agent's upgraded connections, spliced. */
struct tun_splice {
        struct tunnel *t;
        struct http_req *side[2]; /* SIDE_CLIENT, SIDE_AGENT; NULL once ended */
        struct tun_splice *next;
};
enum { SIDE_CLIENT, SIDE_AGENT };

struct tunnel {
        struct controller *ctl;
        uint64_t next_id;
        struct tun_req *reqs;
        struct tun_poll *polls;
        struct tun_splice *splices;
        unsigned n_splices;
};

static struct tunnel *tunnel_of(struct controller *c) {
        if (!c->tunnel) {
                c->tunnel = xnew0(struct tunnel, 1);
                c->tunnel->ctl = c;
        }
        return c->tunnel;
}

static void req_unlink(struct tun_req *q) {
        struct tun_req **p = &q->t->reqs;

        while (*p && *p != q)
                p = &(*p)->next;
        if (*p)
                *p = q->next;
        if (q->t->ctl->loop)
                ev_timer_stop(q->t->ctl->loop, &q->timer);
}

static void req_free(struct tun_req *q) {
        free(q->node);
        json_decref(q->spec);
        free(q);
}

/* Finishes q with an error answer to its client (if still there) and frees it. */
static void req_fail(struct tun_req *q, int status, const char *code, const char *msg) {
        struct http_req *client = q->client;

        req_unlink(q);
        req_free(q);
        if (client) {
                http_req_on_close(client, NULL, NULL);
                http_reply_error(client, status, code, "%s", msg);
        }
}

static void poll_unlink(struct tun_poll *w) {
        struct tun_poll **p = &w->t->polls;

        while (*p && *p != w)
                p = &(*p)->next;
        if (*p)
                *p = w->next;
        if (w->t->ctl->loop)
                ev_timer_stop(w->t->ctl->loop, &w->timer);
}

/* Answers an agent's poll with every request queued for its node (maybe none) and frees it. */
static void poll_answer(struct tun_poll *w) {
        struct tunnel *t = w->t;
        struct http_req *req = w->req;
        _cleanup_json_ json_t *list = json_array();

        poll_unlink(w);
        for (struct tun_req *q = t->reqs; q; q = q->next)
                if (!q->sent && streq(q->node, w->node)) {
                        q->sent = true;
                        json_array_append(list, q->spec);
                        if (t->ctl->loop) {
                                ev_timer_stop(t->ctl->loop, &q->timer);
                                ev_timer_set(&q->timer, TUNNEL_ANSWER_SEC, 0.);
                                ev_timer_start(t->ctl->loop, &q->timer);
                        }
                }
        free(w->node);
        free(w);
        http_req_on_close(req, NULL, NULL);
        {
                _cleanup_json_ json_t *res = json_pack("{s:O}", "requests", list);
                http_reply_json(req, 200, res);
        }
}

static void poll_timeout_cb(struct ev_loop *loop, ev_timer *tm, int revents) {
        (void)loop;
        (void)revents;
        poll_answer(container_of(tm, struct tun_poll, timer));
}

static void poll_gone(struct http_req *req, void *ud) {
        struct tun_poll *w = ud;

        poll_unlink(w);
        free(w->node);
        free(w);
        http_reply(req, 204, NULL, NULL, 0);
}

static void req_timeout_cb(struct ev_loop *loop, ev_timer *tm, int revents) {
        struct tun_req *q = container_of(tm, struct tun_req, timer);
        _cleanup_free_ char *msg = xasprintf(
                q->sent ? "node '%s' took the request but did not answer within %.0f s"
                        : "node '%s' did not take the request within %.0f s (is its agent "
                          "connected?)",
                q->node, q->sent ? TUNNEL_ANSWER_SEC : TUNNEL_PICKUP_SEC);

        (void)loop;
        (void)revents;
        req_fail(q, 504, "timeout", msg);
}

static void client_gone(struct http_req *req, void *ud) {
        struct tun_req *q = ud;

        q->client = NULL;
        req_unlink(q);
        req_free(q);
        http_reply(req, 204, NULL, NULL, 0);
}

static void splice_finish(struct tun_splice *sp);

struct tunnel *tunnel_free(struct tunnel *t) {
        if (!t)
                return NULL;
        while (t->splices)
                splice_finish(t->splices);
        while (t->polls)
                poll_answer(t->polls);
        while (t->reqs)
                req_fail(t->reqs, 503, "unavailable", "the controller is stopping");
        free(t);
        return NULL;
}

char *tunnel_locate(const json_t *nodes, const char *container) {
        size_t i, k, best_len = 0;
        const char *best = NULL;
        json_t *n, *p;

        json_array_foreach (nodes, i, n)
                json_array_foreach (json_object_get(n, "pods"), k, p) {
                        const char *pod = json_get_str(p, "id", NULL);
                        size_t len = pod ? strlen(pod) : 0;

                        /* "<pod>.<container>"; the longest pod name wins (a pod name may be
                         * another's prefix only up to a dot). */
                        if (len > best_len && strncmp(container, pod, len) == 0 &&
                            container[len] == '.' && container[len + 1]) {
                                best = json_get_str(n, "id", NULL);
                                best_len = len;
                        }
                }
        return best ? xstrdup(best) : NULL;
}

/* Node records as tunnel_locate() reads them. */
static json_t *stored_nodes(struct controller *c) {
        json_t *all = json_array();
        struct store_kv *kvs = NULL;
        size_t n = 0;

        if (store_list(c->store, "nodes/", &kvs, &n, NULL) < 0)
                return all;
        for (size_t i = 0; i < n; i++) {
                json_t *j = NULL;
                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &j, NULL) >= 0)
                        json_array_append_new(all, j);
        }
        store_kvs_free(kvs, n);
        return all;
}

static struct controller *ctl_of(struct http_req *req, void *userdata) {
        struct controller *c = daemon_env_state(userdata, "controller");

        if (!c)
                http_reply_error(req, 503, "unavailable", "the controller is not running");
        return c;
}

/* The node routes serve only the node itself over TLS (as in controller_api.c). */
static bool node_itself(struct http_req *req, const char *id) {
        const char *cn = http_req_peer_cn(req);

        if (!http_req_is_tls(req) || (cn && id && streq(cn, id)))
                return true;
        http_reply_error(req, 403, "forbidden",
                         "the client certificate (CN '%s') may only act for node '%s'",
                         cn ? cn : "-", cn ? cn : "-");
        return false;
}

/* POST /v1/cluster/proxy {"container", "method", "path", "body"?, "node"?} */
static void h_proxy(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *body = NULL, *nodes = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *node = NULL;
        const char *ctr, *method, *path;
        struct tunnel *t;
        struct tun_req *q;
        struct tun_poll *w;

        if (!c)
                return;
        /* Agents never proxy: a node certificate reaching other nodes' containers would let
         * one node act on all. */
        if (http_req_is_tls(req) && http_req_peer_cn(req)) {
                _cleanup_free_ char *key = xasprintf("nodes/%s", http_req_peer_cn(req));
                struct store_kv kv = {};
                int r = store_get(c->store, key, &kv, NULL);

                store_kv_done(&kv);
                if (r >= 0) {
                        http_reply_error(req, 403, "forbidden", "node certificates cannot do this");
                        return;
                }
        }
        if (http_req_json(req, &body, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        ctr = json_get_str(body, "container", NULL);
        method = json_get_str(body, "method", "GET");
        path = json_get_str(body, "path", NULL);
        if (!ctr || !*ctr) {
                http_reply_error(req, 400, "invalid", "container: expected a container name");
                return;
        }
        if (tunnel_req_check(method, path, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        if (json_object_get(body, "body") && !json_is_string(json_object_get(body, "body"))) {
                http_reply_error(req, 400, "invalid", "body: expected a string");
                return;
        }
        if (json_get_str(body, "node", NULL)) {
                node = xstrdup(json_get_str(body, "node", NULL));
                if (node_id_valid(node, &e) < 0) {
                        http_reply_err(req, e);
                        return;
                }
        } else {
                nodes = stored_nodes(c);
                node = tunnel_locate(nodes, ctr);
                if (!node) {
                        http_reply_error(req, 404, "not_found",
                                         "No such container: %s (no node reports a pod it "
                                         "belongs to)",
                                         ctr);
                        return;
                }
        }
        t = tunnel_of(c);
        q = xnew0(struct tun_req, 1);
        q->t = t;
        q->id = ++t->next_id;
        q->node = TAKE_PTR(node);
        q->client = req;
        q->spec = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)q->id, "method", method, "path",
                            path);
        /* A client that asks for an upgrade gets the node's answer as a byte stream: no size
         * limit, no answer timeout once it flows (logs -f, exec -i/-t). */
        q->stream = http_req_wants_upgrade(req);
        if (q->stream) {
                json_object_set_new(q->spec, "stream", json_true());
                json_object_set_new(q->spec, "upgrade",
                                    json_boolean(json_get_bool(body, "upgrade", false)));
        }
        if (json_get_str(body, "body", NULL))
                json_object_set(q->spec, "body", json_object_get(body, "body"));
        q->next = t->reqs;
        t->reqs = q;
        http_req_on_close(req, client_gone, q);
        log_info(q->node, "Proxying %s %s to node '%s'%s", method, path, q->node,
                 q->stream ? " (stream)" : "");
        if (c->loop) {
                ev_timer_init(&q->timer, req_timeout_cb, TUNNEL_PICKUP_SEC, 0.);
                ev_timer_start(c->loop, &q->timer);
        }
        for (w = t->polls; w; w = w->next)
                if (streq(w->node, q->node)) {
                        poll_answer(w);
                        break;
                }
}

/* GET /v1/nodes/{id}/tunnel?timeout=MS: the agent's poll. */
static void h_poll(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata); /* answered and freed when NULL */
        const char *id, *tq;
        unsigned long timeout_ms;
        struct tunnel *t;
        struct tun_poll *w;
        bool pending = false;
        _cleanup_err_ struct err *e = NULL;

        if (!c)
                return;
        id = http_req_param(req, "id");
        tq = http_req_query(req, "timeout");
        timeout_ms = tq ? strtoul(tq, NULL, 10) : 30000;
        if (!node_itself(req, id))
                return;
        if (node_id_valid(id, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        if (timeout_ms > TUNNEL_POLL_MAX_MS)
                timeout_ms = TUNNEL_POLL_MAX_MS;
        t = tunnel_of(c);
        w = xnew0(struct tun_poll, 1);
        w->t = t;
        w->node = xstrdup(id);
        w->req = req;
        for (struct tun_req *q = t->reqs; q; q = q->next)
                if (!q->sent && streq(q->node, id))
                        pending = true;
        if (pending || !c->loop || timeout_ms == 0) {
                poll_answer(w);
                return;
        }
        w->next = t->polls;
        t->polls = w;
        ev_timer_init(&w->timer, poll_timeout_cb, (double)timeout_ms / 1000., 0.);
        ev_timer_start(c->loop, &w->timer);
        http_req_on_close(req, poll_gone, w);
}

/* POST /v1/nodes/{id}/tunnel/{rid} {"status", "content_type"?, "body"}: the agent's answer. */
static void h_answer(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata); /* answered and freed when NULL */
        const char *id, *rid;
        _cleanup_json_ json_t *body = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct tun_req *q = NULL;
        struct http_req *client;
        const char *text;
        long status;

        if (!c)
                return;
        id = http_req_param(req, "id");
        rid = http_req_param(req, "rid");
        if (!node_itself(req, id))
                return;
        if (c->tunnel)
                for (q = c->tunnel->reqs; q; q = q->next)
                        if (q->sent && !q->stream && streq(q->node, id) && rid &&
                            strtoull(rid, NULL, 10) == q->id)
                                break;
        if (!q) {
                http_reply_error(req, 404, "not_found",
                                 "no request '%s' is waiting for node '%s' (timed out?)",
                                 rid ? rid : "", id);
                return;
        }
        if (http_req_json(req, &body, &e) < 0) {
                req_fail(q, 502, "bad_gateway", "the node's answer was not JSON");
                http_reply_err(req, e);
                return;
        }
        status = (long)json_get_int(body, "status", 0);
        text = json_get_str(body, "body", "");
        if (status < 100 || status > 599) {
                req_fail(q, 502, "bad_gateway", "the node's answer has no valid status");
                http_reply_error(req, 400, "invalid", "status: expected 100..599");
                return;
        }
        client = q->client;
        req_unlink(q);
        if (client) {
                http_req_on_close(client, NULL, NULL);
                http_reply(client, (int)status,
                           json_get_str(body, "content_type", "application/json"), text,
                           strlen(text));
        }
        req_free(q);
        http_reply(req, 204, NULL, NULL, 0);
}

/* ---- streams ---- */

#define SPLICE_HIGH (256u * 1024u) /* bytes queued towards one side before the other pauses */

static void splice_finish(struct tun_splice *sp) {
        struct tun_splice **p = &sp->t->splices;

        while (*p && *p != sp)
                p = &(*p)->next;
        if (*p)
                *p = sp->next;
        sp->t->n_splices--;
        for (int i = 0; i < 2; i++) {
                struct http_req *r = TAKE_PTR(sp->side[i]);

                if (r) {
                        http_req_on_close(r, NULL, NULL);
                        http_upgraded_end(r); /* flushes what is queued, then closes */
                }
        }
        free(sp);
}

static int side_of(const struct tun_splice *sp, const struct http_req *req) {
        return sp->side[SIDE_AGENT] == req ? SIDE_AGENT : SIDE_CLIENT;
}

static void splice_data(struct http_req *req, const char *data, size_t len, void *ud) {
        struct tun_splice *sp = ud;
        struct http_req *other = sp->side[!side_of(sp, req)];
        int r;

        if (!other)
                return;
        r = http_upgraded_write(other, data, len);
        if (r == -ENOBUFS) /* cannot happen below SPLICE_HIGH; drop the stream rather than grow */
                r = -EPIPE;
        if (r < 0) {
                splice_finish(sp);
                return;
        }
        /* Backpressure: read no more from this side until the other has taken its share. */
        if (http_upgraded_pending(other) > SPLICE_HIGH)
                http_upgraded_pause(req, true);
}

static void splice_drain(struct http_req *req, void *ud) {
        struct tun_splice *sp = ud;
        struct http_req *other = sp->side[!side_of(sp, req)];

        if (other)
                http_upgraded_pause(other, false);
}

static void splice_eof(struct http_req *req, void *ud) {
        struct tun_splice *sp = ud;

        if (side_of(sp, req) == SIDE_CLIENT) {
                /* The client's input ended (exec -i's stdin): the node reads EOF, its output
                 * still flows back. */
                if (sp->side[SIDE_AGENT])
                        http_upgraded_shutdown_write(sp->side[SIDE_AGENT]);
                return;
        }
        /* The node's answer is complete. */
        splice_finish(sp);
}

static void splice_gone(struct http_req *req, void *ud) {
        struct tun_splice *sp = ud;
        int side = side_of(sp, req);

        /* This side's connection is gone: end it (frees req) and the other one with it. */
        sp->side[side] = NULL;
        http_upgraded_end(req);
        splice_finish(sp);
}

static const struct http_upgrade_ops splice_ops = {
        .on_data = splice_data,
        .on_eof = splice_eof,
        .on_drain = splice_drain,
};

/* POST /v1/nodes/{id}/tunnel/{rid}/stream (upgraded): the agent's connection for a streamed
 * request; what it sends is the node's verbatim HTTP answer, what the client sends goes to it. */
static void h_stream(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata); /* answered and freed when NULL */
        const char *id, *rid;
        struct tun_req *q = NULL;
        struct tun_splice *sp;
        struct http_req *client;

        if (!c)
                return;
        id = http_req_param(req, "id");
        rid = http_req_param(req, "rid");
        if (!node_itself(req, id))
                return;
        if (c->tunnel)
                for (q = c->tunnel->reqs; q; q = q->next)
                        if (q->sent && q->stream && streq(q->node, id) && rid &&
                            strtoull(rid, NULL, 10) == q->id)
                                break;
        if (!q || !q->client) {
                http_reply_error(req, 404, "not_found",
                                 "no streamed request '%s' is waiting for node '%s' (timed out?)",
                                 rid ? rid : "", id);
                return;
        }
        if (!http_req_wants_upgrade(req)) {
                http_reply_error(req, 400, "invalid", "a tunnel stream needs Connection: Upgrade");
                return;
        }
        client = q->client;
        req_unlink(q);
        req_free(q);
        sp = xnew0(struct tun_splice, 1);
        sp->t = c->tunnel;
        sp->side[SIDE_CLIENT] = client;
        sp->side[SIDE_AGENT] = req;
        sp->next = c->tunnel->splices;
        c->tunnel->splices = sp;
        c->tunnel->n_splices++;
        http_req_on_close(client, splice_gone, sp);
        http_req_on_close(req, splice_gone, sp);
        /* The agent first: bytes the client sent behind its request go straight to it. Either
         * call may end the splice (data or EOF already there), so each checks it is alive. */
        http_req_upgrade(req, "application/octet-stream", &splice_ops, sp);
        for (struct tun_splice *s = c->tunnel->splices; s; s = s->next)
                if (s == sp) {
                        if (sp->side[SIDE_CLIENT])
                                http_req_upgrade(client, "application/octet-stream", &splice_ops,
                                                 sp);
                        break;
                }
}

/* GET /v1/cluster/tunnel: the channel's state ({"streams", "waiting"}), for tests and
 * operators. */
static void h_stats(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *j = NULL;
        unsigned waiting = 0;

        if (!c)
                return;
        if (c->tunnel)
                for (struct tun_req *q = c->tunnel->reqs; q; q = q->next)
                        waiting++;
        j = json_pack("{s:i, s:i}", "streams", c->tunnel ? (int)c->tunnel->n_splices : 0, "waiting",
                      (int)waiting);
        http_reply_json(req, 200, j);
}

static const struct http_route tunnel_routes[] = {
        {"POST", "/v1/cluster/proxy", h_proxy},
        {"GET", "/v1/cluster/tunnel", h_stats},
        {"GET", "/v1/nodes/{id}/tunnel", h_poll},
        {"POST", "/v1/nodes/{id}/tunnel/{rid}", h_answer},
        {"POST", "/v1/nodes/{id}/tunnel/{rid}/stream", h_stream},
        {},
};

int tunnel_api_register(struct http_router *router, struct err **errp) {
        return http_router_add_table(router, tunnel_routes, errp);
}
