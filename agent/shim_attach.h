/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The shim's attach side (agent/shim_attach.c): it keeps the container's stdin (the write end of a
 * pipe, or the pty master with a console) and serves <RUN>/shims/<ID>.attach. A client first
 * sends one line:
 *
 *   attach stdin=0|1 stdout=0|1 stderr=0|1 detach=16,17\n
 *
 * then the bytes it sends are the container's stdin (when stdin=1 and the container was started
 * with an open stdin) and it receives the output: docker's multiplexed frames without a console
 * (8-byte header: stream 1 or 2, three zero bytes, big-endian length), the raw console bytes
 * with one. When the client's input ends (EOF), the container's stdin is closed if it was
 * created "stdin once" (a console gets ^D instead). The detach sequence (default ^P ^Q) drops
 * the client without touching stdin. When the container exits, clients get the rest of the
 * output and EOF.
 *
 * Output is never dropped: a client that does not read holds the container's output back once
 * SHIM_ATTACH_QUEUE_MAX bytes wait for it (backpressure). */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define SHIM_ATTACH_MAX 8
#define SHIM_ATTACH_QUEUE_MAX (1024u * 1024u)

enum shim_stream { SHIM_STDOUT = 1, SHIM_STDERR = 2 };

struct shim_attach {
        int listen_fd;
        int in_fd; /* the container's stdin (pipe write end or pty master), -1 when closed */
        bool tty;  /* in_fd is the console: frames are raw */
        bool stdin_once;
        char *in_buf; /* waiting to be written to in_fd */
        size_t in_len;
        bool in_close; /* close in_fd once in_buf is written */
        struct shim_attach_client {
                int fd;
                bool ready; /* header read */
                bool want_in, want_out, want_err, in_eof;
                char hdr[128];
                size_t hdr_len;
                unsigned char keys[8];
                size_t n_keys, matched;
                char *q;
                size_t q_len, q_off;
        } c[SHIM_ATTACH_MAX];
};

void shim_attach_init(struct shim_attach *a);
/* Listens on path (mode 0600). in_fd is taken (-1 without an open stdin). */
int shim_attach_listen(struct shim_attach *a, const char *path, int in_fd_take, bool tty,
                       bool stdin_once, struct err **errp);
void shim_attach_done(struct shim_attach *a);

/* True while some client holds more than the queue limit: do not read the container's output. */
bool shim_attach_blocked(const struct shim_attach *a);
/* Output of the container, for every client that wants that stream. */
void shim_attach_output(struct shim_attach *a, enum shim_stream s, const char *data, size_t len);

/* Poll integration: fills up to SHIM_ATTACH_MAX + 2 entries, then handles their revents. */
#define SHIM_ATTACH_NPOLL (SHIM_ATTACH_MAX + 2)
size_t shim_attach_pollfds(const struct shim_attach *a, struct pollfd *p);
void shim_attach_handle(struct shim_attach *a, const struct pollfd *p, size_t n);

/* The container exited: writes what is queued (bounded by timeout_msec) and closes clients. */
void shim_attach_finish(struct shim_attach *a, int timeout_msec);
