/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ip4.h"
#include "xalloc.h"

bool ip4_parse(const char *s, uint32_t *ret) {
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return false;
        *ret = ntohl(a.s_addr);
        return true;
}

char *ip4_format(uint32_t ip) {
        struct in_addr a = {.s_addr = htonl(ip)};
        char buf[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, &a, buf, sizeof buf);
        return xstrdup(buf);
}
