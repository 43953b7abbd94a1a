/* SPDX-License-Identifier: Apache-2.0 */
/* udpecho: a static UDP test payload.
 *   udpecho serve PORT           answers every datagram with "echo:" + its content, forever
 *   udpecho send IP PORT MSG     sends MSG, prints the answer (waits at most 3 s); exit 1 on
 *                                timeout or error */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int serve(unsigned port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        int fd = socket(AF_INET, SOCK_DGRAM, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                printf("FAIL %s\n", strerror(errno));
                return 1;
        }
        printf("listening %u\n", port);
        fflush(stdout);
        for (;;) {
                char buf[1024], out[1100];
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
                int k;

                if (n < 0)
                        continue;
                buf[n] = '\0';
                k = snprintf(out, sizeof(out), "echo:%s", buf);
                (void)sendto(fd, out, (size_t)k, 0, (struct sockaddr *)&from, fl);
        }
}

static int send_one(const char *ip, unsigned port, const char *msg) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        struct pollfd p;
        char buf[1200];
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        ssize_t n;

        if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
                printf("FAIL bad address\n");
                return 1;
        }
        /* a few tries: the first datagram may race the server's start */
        for (int tries = 0; tries < 6; tries++) {
                if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        printf("FAIL %s\n", strerror(errno));
                        return 1;
                }
                p = (struct pollfd){.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 500) == 1) {
                        n = recv(fd, buf, sizeof(buf) - 1, 0);
                        if (n >= 0) {
                                buf[n] = '\0';
                                printf("%s\n", buf);
                                return 0;
                        }
                }
        }
        printf("FAIL timeout\n");
        return 1;
}

int main(int argc, char **argv) {
        if (argc == 3 && !strcmp(argv[1], "serve"))
                return serve((unsigned)atoi(argv[2]));
        if (argc == 5 && !strcmp(argv[1], "send"))
                return send_one(argv[2], (unsigned)atoi(argv[3]), argv[4]);
        fprintf(stderr, "usage: udpecho serve PORT | udpecho send IP PORT MSG\n");
        return 2;
}
