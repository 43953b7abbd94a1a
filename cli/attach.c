/* SPDX-License-Identifier: Apache-2.0 */
/* `berth attach`, and the relay behind `run -i`/`-it` and `start -a -i`: one upgraded API
 * connection (http_upgrade, so it works over unix sockets and mutual TLS alike), a ppoll loop
 * over stdin and the connection, SIGWINCH delivered only inside ppoll. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "client.h"
#include "fileio.h"
#include "http_client.h"
#include "http_request.h"
#include "json.h"
#include "xalloc.h"

#define IN_BUF 16384

struct cli_attach {
        struct http_raw *raw;
        char *id;     /* escaped */
        char *resize; /* the resize route's prefix: /v1/containers/ID or /v1/exec/ID */
        bool in, tty;
        unsigned char keys[8]; /* the detach sequence, to know that we detached */
        size_t n_keys, matched;
        bool detached;
        /* demultiplexing */
        unsigned char hdr[8];
        size_t hdr_len, frame_left;
        int frame_fd; /* -1: the exit record (stream 3) goes to rec */
        char rec[256];
        size_t rec_len;
};

static volatile sig_atomic_t winch;

static void on_winch(int sig) {
        (void)sig;
        winch = 1;
}

void cli_attach_free(struct cli_attach *a) {
        if (!a)
                return;
        http_raw_free(a->raw);
        free(a->id);
        free(a->resize);
        free(a);
}

/* Same syntax as the daemon's check (which reports bad keys): ctrl-<x> or one character. */
static void keys_parse(struct cli_attach *a, const char *spec) {
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;

        a->n_keys = 0;
        for (char *k = strtok_r(copy, ",", &save); k && a->n_keys < sizeof(a->keys);
             k = strtok_r(NULL, ",", &save)) {
                if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6)
                        a->keys[a->n_keys++] = (unsigned char)(k[5] == '@' ? 0 : (k[5] & 0x1f));
                else if (strlen(k) == 1)
                        a->keys[a->n_keys++] = (unsigned char)k[0];
        }
}

int cli_attach_open(const struct cli_ctx *ctx, const char *id, const struct attach_opts *o,
                    struct cli_attach **ret, struct err **errp) {
        struct cli_attach *a = xnew0(struct cli_attach, 1);
        _cleanup_free_ char *path = NULL, *dk = NULL;
        const char *keys = o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q";
        int r;

        a->id = http_escape(id);
        a->resize = xasprintf("/v1/containers/%s", a->id);
        a->in = o->in;
        a->tty = o->tty;
        keys_parse(a, keys);
        dk = http_escape(keys);
        path = xasprintf("/v1/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1"
                         "&detachKeys=%s",
                         a->id, o->in, dk);
        r = client_upgrade(ctx, "POST", path, NULL, &a->raw, NULL, errp);
        if (r < 0) {
                cli_attach_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

static void send_size(const struct cli_ctx *ctx, struct cli_attach *a) {
        struct winsize ws = {};
        _cleanup_free_ char *path = NULL;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        if (ws.ws_row == 0 || ws.ws_col == 0)
                return;
        if (!a->resize)
                return;
        path = xasprintf("%s/resize?h=%u&w=%u", a->resize, ws.ws_row, ws.ws_col);
        (void)client_call(ctx, "POST", path, NULL, NULL, NULL);
}

/* Output from the daemon: raw with a console, else docker's frames. */
static int output(struct cli_attach *a, const unsigned char *p, size_t n) {
        if (a->tty)
                return fd_write_full(STDOUT_FILENO, p, n) < 0 ? -errno : 0;
        while (n > 0) {
                if (a->frame_left == 0) {
                        size_t take = MIN(n, sizeof(a->hdr) - a->hdr_len);

                        memcpy(a->hdr + a->hdr_len, p, take);
                        a->hdr_len += take;
                        p += take;
                        n -= take;
                        if (a->hdr_len < sizeof(a->hdr))
                                return 0;
                        a->hdr_len = 0;
                        a->frame_fd = a->hdr[0] == 3   ? -1
                                      : a->hdr[0] == 2 ? STDERR_FILENO
                                                       : STDOUT_FILENO;
                        a->frame_left = (size_t)a->hdr[4] << 24 | (size_t)a->hdr[5] << 16 |
                                        (size_t)a->hdr[6] << 8 | a->hdr[7];
                        continue;
                }
                {
                        size_t take = MIN(n, a->frame_left);

                        if (a->frame_fd < 0) {
                                size_t k = MIN(take, sizeof(a->rec) - 1 - a->rec_len);

                                memcpy(a->rec + a->rec_len, p, k);
                                a->rec_len += k;
                                a->rec[a->rec_len] = '\0';
                        } else if (fd_write_full(a->frame_fd, p, take) < 0 && errno != EPIPE)
                                return -errno;
                        p += take;
                        n -= take;
                        a->frame_left -= take;
                }
        }
        return 0;
}

/* Watches what we send for the detach sequence (the shim acts on it). */
static void watch_keys(struct cli_attach *a, const unsigned char *p, size_t n) {
        for (size_t i = 0; i < n && a->n_keys > 0; i++) {
                if (p[i] == a->keys[a->matched]) {
                        if (++a->matched == a->n_keys) {
                                a->detached = true;
                                a->matched = 0;
                        }
                } else
                        a->matched = p[i] == a->keys[0] ? 1 : 0;
        }
}

static int relay(const struct cli_ctx *ctx, struct cli_attach *a, struct err **errp) {
        _cleanup_free_ unsigned char *in = xmalloc(IN_BUF), *buf = xmalloc(65536);
        size_t in_len = 0, in_off = 0;
        bool in_eof = !a->in, shut = false;
        sigset_t mask, old;
        int fd = http_raw_fd(a->raw);

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, &old);
        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
                ssize_t n;
                int r;

                if (winch) {
                        winch = 0;
                        send_size(ctx, a);
                }
                if (in_off < in_len)
                        p[0].events |= POLLOUT;
                else if (!in_eof)
                        p[1].fd = STDIN_FILENO;
                else if (!shut) {
                        /* Our input ended: the container's stdin gets EOF (if it was opened
                         * "once"); its output still comes. */
                        (void)http_raw_shutdown_write(a->raw);
                        shut = true;
                }
                if (!http_raw_has_pending(a->raw)) {
                        r = ppoll(p, 2, NULL, &old);
                        if (r < 0 && errno == EINTR)
                                continue;
                        if (r < 0) {
                                sigprocmask(SIG_SETMASK, &old, NULL);
                                return err_set(errp, errno, "poll");
                        }
                }
                if (p[1].revents) {
                        n = read(STDIN_FILENO, in, IN_BUF);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                in_eof = true;
                        else {
                                in_len = (size_t)n;
                                in_off = 0;
                                watch_keys(a, in, in_len);
                        }
                }
                while (in_off < in_len) {
                        n = http_raw_send(a->raw, in + in_off, in_len - in_off);
                        if (n == -EAGAIN)
                                break;
                        if (n < 0) {
                                in_off = in_len; /* the other side is gone: read its EOF */
                                in_eof = true;
                                break;
                        }
                        in_off += (size_t)n;
                }
                /* Everything the connection holds now (TLS may buffer more than one read). */
                for (;;) {
                        n = http_raw_recv(a->raw, buf, 65536);
                        if (n == -EAGAIN)
                                break;
                        if (n <= 0) {
                                sigprocmask(SIG_SETMASK, &old, NULL);
                                return a->detached ? 1 : 0;
                        }
                        r = output(a, buf, (size_t)n);
                        if (r < 0) {
                                sigprocmask(SIG_SETMASK, &old, NULL);
                                return err_setx(errp, -r, "write the output: %s", strerror(-r));
                        }
                }
        }
}

int cli_attach_open_exec(const struct cli_ctx *ctx, const char *path, const json_t *body,
                         struct cli_attach **ret, struct err **errp) {
        struct cli_attach *a = xnew0(struct cli_attach, 1);
        int r;

        a->id = xstrdup("");
        a->in = true;
        r = client_upgrade(ctx, "POST", path, body, &a->raw, NULL, errp);
        if (r < 0) {
                cli_attach_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

bool cli_attach_console_size(unsigned *ret_h, unsigned *ret_w) {
        struct winsize ws = {};

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return false;
        if (ws.ws_row == 0 || ws.ws_col == 0)
                return false;
        *ret_h = ws.ws_row;
        *ret_w = ws.ws_col;
        return true;
}

int cli_attach_open_exec_tty(const struct cli_ctx *ctx, const char *exec_id, const json_t *start,
                             const struct attach_opts *o, struct cli_attach **ret,
                             struct err **errp) {
        struct cli_attach *a = xnew0(struct cli_attach, 1);
        _cleanup_free_ char *path = NULL;
        int r;

        a->id = http_escape(exec_id);
        a->resize = xasprintf("/v1/exec/%s", a->id);
        a->in = o->in;
        a->tty = true;
        keys_parse(a, o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q");
        path = xasprintf("/v1/exec/%s/start", a->id);
        r = client_upgrade(ctx, "POST", path, start, &a->raw, NULL, errp);
        if (r < 0) {
                cli_attach_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

int cli_attach_relay_code(const struct cli_ctx *ctx, struct cli_attach *a, int *ret_code,
                          struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        int r;

        *ret_code = -1;
        a->n_keys = 0; /* exec: no detach keys */
        r = relay(ctx, a, errp);
        if (r >= 0 && a->rec_len > 0 &&
            json_parse(a->rec, a->rec_len, "exit record", &j, NULL) >= 0)
                *ret_code = (int)json_get_int(j, "ExitCode", -1);
        cli_attach_free(a);
        return r;
}

int cli_attach_relay(const struct cli_ctx *ctx, struct cli_attach *a, struct err **errp) {
        struct termios saved, raw;
        bool restore = false;
        struct sigaction sa = {.sa_handler = on_winch}, old_sa;
        int r;

        if (a->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                if (a->in && tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
                        restore = true;
        }
        sigaction(SIGWINCH, &sa, &old_sa);
        if (a->tty)
                send_size(ctx, a);
        r = relay(ctx, a, errp);
        sigaction(SIGWINCH, &old_sa, NULL);
        if (restore)
                (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        cli_attach_free(a);
        return r;
}

/* ---- berth attach ---- */

int cli_cmd_attach(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth attach [--no-stdin] [--detach-keys KEYS] CONTAINER\n\n"
                "Attach this terminal's input and output to a running container.\n\n"
                "      --no-stdin          do not forward stdin\n"
                "      --detach-keys KEYS  the sequence that detaches (default ctrl-p,ctrl-q)\n";
        static const struct option lo[] = {{"no-stdin", no_argument, NULL, 'n'},
                                           {"detach-keys", required_argument, NULL, 'k'},
                                           {"help", no_argument, NULL, 'h'},
                                           {}};
        _cleanup_free_ char *path = NULL, *esc = NULL;
        _cleanup_json_ json_t *info = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct attach_opts o = {.in = true};
        struct cli_attach *a = NULL;
        const json_t *cfg;
        int c, r, code = 0;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
                switch (c) {
                case 'n':
                        o.in = false;
                        break;
                case 'k':
                        o.detach_keys = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (argc - optind != 1) {
                fprintf(stderr, "berth: 'attach' requires exactly 1 argument\n%s", usage);
                return EXIT_USAGE;
        }
        esc = http_escape(argv[optind]);
        path = xasprintf("/v1/containers/%s/json", esc);
        r = client_call(ctx, "GET", path, NULL, &info, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        if (!json_get_bool(json_object_get(info, "State"), "Running", false)) {
                fprintf(stderr, "berth: You cannot attach to a stopped container, start it "
                                "first\n");
                return 1;
        }
        cfg = json_object_get(info, "Config");
        o.tty = json_get_bool(cfg, "Tty", false);
        o.in = o.in && json_get_bool(cfg, "OpenStdin", false);
        r = cli_attach_open(ctx, argv[optind], &o, &a, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        r = cli_attach_relay(ctx, a, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        if (r == 1)
                return 0; /* detached: the container runs on */
        /* The output ended: the container's exit code, as docker attach. */
        free(path);
        path = xasprintf("/v1/containers/%s/wait", esc);
        json_decref(info);
        info = NULL;
        r = client_call(ctx, "POST", path, NULL, &info, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        code = (int)json_get_int(info, "StatusCode", 0);
        return code;
}
