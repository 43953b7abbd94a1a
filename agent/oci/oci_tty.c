/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "macro.h"
#include "oci/oci.h"
#include "unixsock.h"

int oci_tty_receive_master(int sock) {
        return unix_recv_fd(sock, 0);
}

static int copy_once(int from, int to) {
        char buf[4096];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n <= 0)
                return n < 0 && errno == EINTR ? 1 : 0;
        if (write(to, buf, (size_t)n) < 0 && errno != EINTR)
                return 0;
        return 1;
}

int oci_tty_proxy_and_wait(int master, int pid, int *ret_status) {
        struct termios saved, raw;
        bool is_tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        bool in_open = true, out_open = true;
        struct winsize ws;

        if (is_tty) {
                raw = saved;
                cfmakeraw(&raw);
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                        (void)ioctl(master, TIOCSWINSZ, &ws);
        }
        while (out_open) {
                struct pollfd p[2] = {{master, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
                int r = poll(p, in_open ? 2 : 1, -1);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        break;
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
                        out_open = copy_once(master, STDOUT_FILENO);
                if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
                        in_open = copy_once(STDIN_FILENO, master);
        }
        if (is_tty)
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (RETRY_EINTR(waitpid(pid, ret_status, 0)) < 0)
                return -errno;
        return 0;
}
