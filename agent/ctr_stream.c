/* SPDX-License-Identifier: Apache-2.0 */
/* Streams of a container: logs (with follow) and exec sessions, both as NDJSON on the daemon's
 * streaming responses, both driven by the libev loop. exec is in ctr_exec.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "cleanup.h"
#include "clog.h"
#include "ctr_internal.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "runtime/container.h"
#include "strv.h"
#include "xalloc.h"

#define FOLLOW_INTERVAL 0.1

struct follower {
        struct follower *next;
        struct ctr *c;
        struct http_req *req;
        ev_timer timer;
        char *path;
        uint64_t offset;
        struct ctr_logs_opts o;
};

/* JSON string of bytes that may not be UTF-8: invalid bytes become U+FFFD. */
json_t *ctr_json_bytes(const char *s, size_t len) {
        json_t *j = json_stringn(s, len);
        _cleanup_free_ char *fixed = NULL;
        size_t k = 0;

        if (j)
                return j;
        fixed = xmalloc(len * 3 + 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch < 0x80)
                        fixed[k++] = (char)ch;
                else {
                        fixed[k++] = (char)0xef;
                        fixed[k++] = (char)0xbf;
                        fixed[k++] = (char)0xbd;
                }
        }
        return json_stringn(fixed, k);
}

static int write_entry(const struct clog_entry *e, void *ud) {
        struct follower *f = ud;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *t = NULL;

        if ((e->stream == CLOG_STDOUT && !f->o.stdout_) ||
            (e->stream == CLOG_STDERR && !f->o.stderr_))
                return 0;
        if (f->o.since_nsec && e->ts_nsec < f->o.since_nsec)
                return 0;
        if (f->o.until_nsec && e->ts_nsec > f->o.until_nsec)
                return 0;
        t = clog_format_time(e->ts_nsec);
        j = json_pack("{s:s,s:o,s:s}", "stream", e->stream == CLOG_STDOUT ? "stdout" : "stderr",
                      "log", ctr_json_bytes(e->log, e->len), "time", t);
        if (http_stream_write_json(f->req, j) == -EPIPE)
                return -EPIPE;
        return 0;
}

static void follower_free(struct follower *f, json_t *last) {
        struct follower **pp;

        for (pp = &f->c->followers; *pp; pp = &(*pp)->next)
                if (*pp == f) {
                        *pp = f->next;
                        break;
                }
        ev_timer_stop(f->c->m->loop, &f->timer);
        http_req_on_close(f->req, NULL, NULL);
        if (last)
                (void)http_stream_write_json(f->req, last);
        http_stream_end(f->req);
        free(f->path);
        free(f);
}

static void follower_closed(struct http_req *req, void *ud) {
        (void)req;
        follower_free(ud, NULL);
}

static void follow_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct follower *f = w->data;

        (void)loop;
        (void)revents;
        if (clog_read_from(f->path, &f->offset, write_entry, f, NULL) == -EPIPE)
                follower_free(f, NULL);
}

void ctr_logs(struct ctr *c, const struct ctr_logs_opts *o, struct http_req *req) {
        _cleanup_err_ struct err *e = NULL;
        struct follower *f = xnew0(struct follower, 1);
        int r;

        f->c = c;
        f->req = req;
        f->o = *o;
        f->path = xstrdup(json_get_str(c->rec, "LogPath", ""));
        http_stream_begin(req, 200, "application/x-ndjson");
        r = clog_read(f->path,
                      &(struct clog_read_opts){.tail = o->tail,
                                               .since_nsec = o->since_nsec,
                                               .until_nsec = o->until_nsec},
                      write_entry, f, &f->offset, &e);
        if (r < 0 || !o->follow ||
            (!ctr_running(c) && c->sv.state != SV_BACKOFF && c->sv.state != SV_STARTING)) {
                if (r < 0 && r != -EPIPE) {
                        _cleanup_json_ json_t *j = json_pack("{s:s}", "error", err_msg(e));
                        (void)http_stream_write_json(req, j);
                }
                http_stream_end(req);
                free(f->path);
                free(f);
                return;
        }
        f->next = c->followers;
        c->followers = f;
        ev_timer_init(&f->timer, follow_cb, FOLLOW_INTERVAL, FOLLOW_INTERVAL);
        f->timer.data = f;
        ev_timer_start(c->m->loop, &f->timer);
        http_req_on_close(req, follower_closed, f);
}

void ctr_streams_exit(struct ctr *c) {
        while (c->followers) {
                struct follower *f = c->followers;
                _cleanup_json_ json_t *last = json_pack(
                        "{s:I}", "exit", (json_int_t)json_get_int(ctr_state(c), "ExitCode", 0));

                (void)clog_read_from(f->path, &f->offset, write_entry, f, NULL);
                follower_free(f, last);
        }
}

void ctr_streams_end(struct ctr *c) {
        ctr_attach_end(c); /* berth-attach */
        while (c->followers)
                follower_free(c->followers, NULL);
        ctr_exec_end(c);
}
