/* SPDX-License-Identifier: Apache-2.0 */
/* The foreground `up`'s log following in the thin berth: one non-blocking unix socket per
 * followed container, each answer fed to a uhttp_resp parser that hands the body out line by
 * line, all multiplexed with ppoll(2); a poll of the stack's containers every second attaches
 * new ones (and containers that started again, without their history). SIGINT and SIGTERM are
 * blocked except inside ppoll, so a signal can never be lost between the check and the wait. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "http_request.h"
#include "stacks_follow.h"
#include "strv.h"
#include "uhttp.h"
#include "xalloc.h"

#define POLL_MS 1000
#define LIST_TIMEOUT_MS 10000
#define FOLLOW_MAX 1024
#define READ_CHUNK 65536

struct sfollow {
        char *id;
        char *prefix; /* the parser's ud: a stable pointer */
        int fd;
        struct uhttp_resp *resp;
};

struct sfollower {
        const struct http_target *target;
        char *list_path;
        struct sfollow *f;
        size_t n;
        char **seen; /* ids followed before: attached again without history */
};

/* The signal that ended the follow. Set by the handler, read only with the signals blocked. */
static volatile sig_atomic_t follow_stop;

static void on_stop_signal(int sig) {
        follow_stop = sig;
}

char *stack_log_list_path(const char *stack) {
        _cleanup_free_ char *filters = xasprintf("{\"label\":[\"berth.stack=%s\"]}", stack);
        _cleanup_free_ char *q = http_escape(filters);

        return xasprintf("/v1/containers?filters=%s", q);
}

char *stack_log_prefix(const json_t *container) {
        const json_t *labels = json_object_get(container, "Labels");

        return xasprintf("%s-%s", json_get_str(labels, "berth.service", "?"),
                         json_get_str(labels, "berth.slot", "?"));
}

void stack_log_print(const char *prefix, const char *line, size_t len) {
        _cleanup_json_ json_t *j = NULL;
        const char *text;
        size_t n;

        if (json_parse(line, len, "log line", &j, NULL) < 0)
                return;
        text = json_get_str(j, "log", NULL);
        if (!text)
                return;
        n = strlen(text);
        if (n && text[n - 1] == '\n')
                n--;
        printf("%-14s | %.*s\n", prefix, (int)n, text);
        fflush(stdout);
}

static int on_line(const char *line, size_t len, void *ud) {
        stack_log_print(ud, line, len);
        return 0;
}

static void sfollow_done(struct sfollow *f) {
        free(f->id);
        free(f->prefix);
        safe_close(f->fd);
        uhttp_resp_free(f->resp);
}

/* Drops follow k (its stream ended or failed): the next list attaches again if it runs. */
static void drop(struct sfollower *s, size_t k) {
        sfollow_done(&s->f[k]);
        s->f[k] = s->f[--s->n];
}

static bool following(const struct sfollower *s, const char *id) {
        for (size_t k = 0; k < s->n; k++)
                if (streq(s->f[k].id, id))
                        return true;
        return false;
}

static void follow_start(struct sfollower *s, const char *id, const json_t *c) {
        bool again = strv_contains(s->seen, id);
        _cleanup_free_ char *path =
                xasprintf("/v1/containers/%s/logs?follow=1%s", id, again ? "&tail=0" : "");
        _cleanup_free_ char *prefix = stack_log_prefix(c);
        _cleanup_err_ struct err *e = NULL;
        struct sfollow *f;
        int fd;

        if (s->n >= FOLLOW_MAX)
                return;
        /* A container that cannot be followed now is tried again at the next list. */
        if (uhttp_stream_open(s->target, &(struct http_call){.path = path}, &fd, &e) < 0)
                return;
        s->f = xrealloc(s->f, (s->n + 1) * sizeof(*s->f));
        f = &s->f[s->n++];
        *f = (struct sfollow){.id = xstrdup(id), .prefix = TAKE_PTR(prefix), .fd = fd};
        f->resp = uhttp_resp_new(&(struct uhttp_resp_opts){.on_line = on_line, .ud = f->prefix});
        if (!again)
                strv_push(&s->seen, id);
}

/* Lists the stack's running containers and follows those not followed yet. A failed list
 * (the daemon restarting) is tried again at the next tick. */
static void list_and_attach(struct sfollower *s) {
        _cleanup_(http_response_done) struct http_response resp = {};
        _cleanup_json_ json_t *list = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t i;
        json_t *c;

        if (uhttp_request(s->target,
                          &(struct http_call){.path = s->list_path, .timeout_ms = LIST_TIMEOUT_MS},
                          &resp, &e) < 0)
                return;
        if (resp.status != 200 ||
            json_parse(resp.body, resp.body_len, "containers", &list, NULL) < 0)
                return;
        json_array_foreach (list, i, c) {
                const char *id = json_get_str(c, "Id", NULL);

                if (id && !following(s, id))
                        follow_start(s, id, c);
        }
}

/* Reads what follow k has; false when its stream is over (ended, failed or answered with an
 * error) and it must be dropped. */
static bool follow_read(struct sfollow *f, char *buf) {
        for (;;) {
                _cleanup_err_ struct err *e = NULL;
                ssize_t n = read(f->fd, buf, READ_CHUNK);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN || errno == EWOULDBLOCK;
                if (uhttp_resp_feed(f->resp, buf, (size_t)n, &e) < 0 || n == 0 ||
                    uhttp_resp_done(f->resp))
                        return false;
        }
}

static int64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int stack_follow_logs_unix(const struct http_target *target, const char *stack, struct err **errp) {
        struct sfollower s = {.target = target, .list_path = stack_log_list_path(stack)};
        struct sigaction sa = {.sa_handler = on_stop_signal}, old_int, old_term;
        _cleanup_free_ struct pollfd *pfds = NULL;
        _cleanup_free_ char *buf = xmalloc(READ_CHUNK);
        sigset_t block, old_mask;
        int64_t next_list = 0;
        int r = 0;

        follow_stop = 0;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &block, &old_mask) < 0) {
                r = err_set(errp, errno, "block SIGINT and SIGTERM");
                free(s.list_path);
                return r;
        }
        sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGINT, &sa, &old_int);
        (void)sigaction(SIGTERM, &sa, &old_term);

        while (!follow_stop) {
                int64_t now = mono_ms();
                struct timespec ts;
                int k;

                if (now >= next_list) {
                        list_and_attach(&s);
                        next_list = mono_ms() + POLL_MS;
                        now = mono_ms();
                }
                pfds = xrealloc(pfds, (s.n + 1) * sizeof(*pfds));
                for (size_t i = 0; i < s.n; i++)
                        pfds[i] = (struct pollfd){.fd = s.f[i].fd, .events = POLLIN};
                ts = (struct timespec){.tv_sec = (next_list - now) / 1000,
                                       .tv_nsec = ((next_list - now) % 1000) * 1000000};
                if (next_list < now)
                        ts = (struct timespec){0};
                k = ppoll(pfds, s.n, &ts, &old_mask);
                if (k < 0 && errno != EINTR) {
                        r = err_set(errp, errno, "poll the log streams");
                        break;
                }
                /* Backwards, so that dropping (the last moves into k) keeps the indexes of
                 * the entries still to visit. */
                for (size_t i = s.n; k > 0 && i-- > 0;)
                        if (pfds[i].revents && !follow_read(&s.f[i], buf))
                                drop(&s, i);
        }

        (void)sigaction(SIGINT, &old_int, NULL);
        (void)sigaction(SIGTERM, &old_term, NULL);
        (void)sigprocmask(SIG_SETMASK, &old_mask, NULL);
        while (s.n > 0)
                drop(&s, s.n - 1);
        free(s.f);
        strv_free(s.seen);
        free(s.list_path);
        if (r < 0)
                return r;
        return follow_stop ? 1 : 0;
}
