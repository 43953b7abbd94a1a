/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/containers/{id}/attach and /resize: an upgraded API connection relayed to the shim's
 * attach socket (agent/shim_attach.h), in both directions, with backpressure each way and the
 * client's half-close passed on. An attach to a container that is not running waits for its
 * next start: ctr_do_start connects it before the container's process runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "ctr_internal.h"
#include "unixsock.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"

#define TO_SHIM_MAX (256u * 1024u)    /* client bytes waiting for the shim before we pause */
#define TO_CLIENT_MAX (1024u * 1024u) /* shim bytes waiting for the client before we pause */

struct attach_sess {
        struct ev_loop *loop;
        struct ctr *c; /* only while waiting for the start (on c->attaches) */
        struct attach_sess *next;
        struct http_req *req;
        char *header;
        int fd;
        ev_io rio, wio;
        char *buf; /* client -> shim */
        size_t len, off;
        bool client_eof, shut;
};

static void sess_unlink(struct attach_sess *s) {
        if (!s->c)
                return;
        for (struct attach_sess **p = &s->c->attaches; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        s->c = NULL;
}

static void sess_free(struct attach_sess *s) {
        sess_unlink(s);
        ev_io_stop(s->loop, &s->rio);
        ev_io_stop(s->loop, &s->wio);
        safe_close(s->fd);
        free(s->header);
        free(s->buf);
        free(s);
}

/* Ends the client's side (what is queued still goes out) and frees the session. */
static void sess_end(struct attach_sess *s) {
        struct http_req *req = TAKE_PTR(s->req);

        if (req) {
                http_req_on_close(req, NULL, NULL);
                http_upgraded_end(req);
        }
        sess_free(s);
}

static void sess_update(struct attach_sess *s) {
        bool want_w = s->fd >= 0 && (s->off < s->len || (s->client_eof && !s->shut));
        bool want_r = s->fd >= 0 && s->req && http_upgraded_pending(s->req) < TO_CLIENT_MAX;

        if (want_w && !ev_is_active(&s->wio))
                ev_io_start(s->loop, &s->wio);
        else if (!want_w && ev_is_active(&s->wio))
                ev_io_stop(s->loop, &s->wio);
        if (want_r && !ev_is_active(&s->rio))
                ev_io_start(s->loop, &s->rio);
        else if (!want_r && ev_is_active(&s->rio))
                ev_io_stop(s->loop, &s->rio);
        if (s->req)
                http_upgraded_pause(s->req, s->len - s->off >= TO_SHIM_MAX);
}

/* shim -> client */
static void sess_rio_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct attach_sess *s = w->data;
        char buf[16384];
        ssize_t n;

        (void)loop;
        (void)revents;
        n = read(s->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                /* The container exited and its output is all out (or the shim died). */
                sess_end(s);
                return;
        }
        if (http_upgraded_write(s->req, buf, (size_t)n) < 0) {
                sess_end(s);
                return;
        }
        sess_update(s);
}

/* client -> shim */
static void sess_wio_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct attach_sess *s = w->data;

        (void)loop;
        (void)revents;
        while (s->off < s->len) {
                ssize_t n =
                        send(s->fd, s->buf + s->off, s->len - s->off, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        sess_end(s);
                        return;
                }
                s->off += (size_t)n;
        }
        if (s->off == s->len) {
                s->off = s->len = 0;
                if (s->client_eof && !s->shut) {
                        /* The client's stdin ended: tell the shim, keep reading its output. */
                        (void)shutdown(s->fd, SHUT_WR);
                        s->shut = true;
                }
        }
        sess_update(s);
}

static void on_client_data(struct http_req *req, const char *data, size_t len, void *ud) {
        struct attach_sess *s = ud;

        (void)req;
        if (s->off > 0 && s->off == s->len)
                s->off = s->len = 0;
        s->buf = xrealloc(s->buf, s->len + len);
        memcpy(s->buf + s->len, data, len);
        s->len += len;
        sess_update(s);
}

static void on_client_eof(struct http_req *req, void *ud) {
        struct attach_sess *s = ud;

        (void)req;
        s->client_eof = true;
        sess_update(s);
}

static void on_client_drain(struct http_req *req, void *ud) {
        (void)req;
        sess_update(ud);
}

static void on_client_gone(struct http_req *req, void *ud) {
        struct attach_sess *s = ud;

        (void)req;
        sess_end(s);
}

static const struct http_upgrade_ops sess_ops = {
        .on_data = on_client_data, .on_eof = on_client_eof, .on_drain = on_client_drain};

/* Connects a session to the shim's attach socket and sends its header line. */
static int sess_connect(struct attach_sess *s, const struct ctr *c, struct err **errp) {
        struct sockaddr_un sa;
        _cleanup_free_ char *path = xasprintf("%s/shims/%s.attach", c->m->run, c->id);
        _cleanup_close_ int fd = -EBADF, dirfd = -EBADF;

        if (unix_sockaddr(path, &sa, &dirfd, errp) < 0)
                return err_wrap(errp, "attach socket");
        /* Non-blocking from the start: a full backlog must not stall the loop. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(errp, errno == EAGAIN ? EBUSY : errno,
                               "connect to the container's attach socket");
        /* The header is a few bytes into an empty socket buffer: it cannot block. */
        if (fd_write_full(fd, s->header, strlen(s->header)) < 0)
                return err_set(errp, errno, "send the attach header");
        s->fd = TAKE_FD(fd);
        ev_io_init(&s->rio, sess_rio_cb, s->fd, EV_READ);
        ev_io_init(&s->wio, sess_wio_cb, s->fd, EV_WRITE);
        s->rio.data = s->wio.data = s;
        return 0;
}

bool ctr_attach_pending(const struct ctr *c) {
        return c->attaches != NULL;
}

void ctr_attach_connect_pending(struct ctr *c) {
        while (c->attaches) {
                struct attach_sess *s = c->attaches;
                _cleanup_err_ struct err *e = NULL;

                sess_unlink(s);
                if (sess_connect(s, c, &e) < 0) {
                        log_warn(c->id, "Failed to attach: %s, ignoring", err_msg(e));
                        sess_end(s);
                        continue;
                }
                sess_update(s);
        }
}

void ctr_attach_end(struct ctr *c) {
        while (c->attaches)
                sess_end(c->attaches);
}

/* "ctrl-p,ctrl-q" -> "16,17"; docker's syntax: ctrl-<a-z @ [ \ ] ^ _> or one character. */
int ctr_parse_detach_keys(const char *spec, char **ret, struct err **errp) {
        _cleanup_free_ char *out = xstrdup("");
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;
        unsigned n = 0;

        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                int v;
                char *next;

                if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6) {
                        char ch = k[5];

                        if (ch >= 'a' && ch <= 'z')
                                v = ch - 'a' + 1;
                        else if (ch == '@')
                                v = 0;
                        else if (strchr("[\\]^_", ch))
                                v = ch - '@';
                        else
                                v = -1;
                } else if (strlen(k) == 1)
                        v = (unsigned char)k[0];
                else
                        v = -1;
                if (v < 0 || ++n > 8) {
                        int r = err_setx(errp, EINVAL,
                                         "detachKeys: bad key '%s' in '%s' (expected "
                                         "ctrl-<letter> or one character, at most 8)",
                                         k, spec);
                        err_set_field(errp, "detachKeys");
                        return r;
                }
                next = xasprintf("%s%s%d", out, out[0] ? "," : "", v);
                free(out);
                out = next;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

void ctr_attach(struct ctr *c, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *keys = NULL;
        char *const *q = http_req_query_pairs(req);
        const json_t *cfg = json_object_get(c->rec, "Config");
        bool tty = json_get_bool(cfg, "Tty", false);
        bool stream = false, in = false, out = false, err = false;
        const char *dk = http_req_query(req, "detachKeys");
        struct attach_sess *s;

        if (http_query_get_bool(q, "stream", false, &stream, &e) < 0 ||
            http_query_get_bool(q, "stdin", false, &in, &e) < 0 ||
            http_query_get_bool(q, "stdout", false, &out, &e) < 0 ||
            http_query_get_bool(q, "stderr", false, &err, &e) < 0 ||
            ctr_parse_detach_keys(dk && dk[0] ? dk : "ctrl-p,ctrl-q", &keys, &e) < 0) {
                http_reply_err(req, e);
                return;
        }
        if (!stream) {
                http_reply_error(req, 400, "invalid",
                                 "stream: only stream=1 is supported (use /logs for past output)");
                return;
        }
        if (!ctr_running(c) && json_get_bool(ctr_state(c), "Paused", false)) {
                http_reply_error(req, 409, "conflict", "container '%s' is paused", ctr_name(c));
                return;
        }
        s = xnew0(struct attach_sess, 1);
        s->loop = c->m->loop;
        s->fd = -EBADF;
        s->header =
                xasprintf("attach stdin=%d stdout=%d stderr=%d detach=%s\n", in, out, err, keys);
        if (ctr_running(c)) {
                if (sess_connect(s, c, &e) < 0) {
                        sess_free(s);
                        http_reply_err(req, e);
                        return;
                }
        } else {
                /* Waits for the next start. */
                s->c = c;
                s->next = c->attaches;
                c->attaches = s;
        }
        s->req = req;
        http_req_on_close(req, on_client_gone, s);
        http_req_upgrade(req,
                         tty ? "application/vnd.docker.raw-stream"
                             : "application/vnd.docker.multiplexed-stream",
                         &sess_ops, s);
        if (s->fd >= 0)
                sess_update(s);
}

int ctr_resize(struct ctr *c, unsigned h, unsigned w, struct err **errp) {
        char line[64];
        int n;

        if (!ctr_running(c) || c->shim_fd < 0)
                return err_setx(errp, EBUSY, "container '%s' is not running", ctr_name(c));
        if (!json_get_bool(json_object_get(c->rec, "Config"), "Tty", false))
                return err_setx(errp, EINVAL, "container '%s' has no console (created without -t)",
                                ctr_name(c));
        if (h == 0 || w == 0 || h > 65535 || w > 65535)
                return err_setx(errp, EINVAL, "h, w: expected 1-65535, got %u x %u", h, w);
        n = snprintf(line, sizeof(line), "resize %u %u\n", h, w);
        if (send(c->shim_fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
                return err_set(errp, errno ? errno : EIO, "send the size to the shim");
        return 0;
}
