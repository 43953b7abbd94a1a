/* SPDX-License-Identifier: Apache-2.0 */
/* Feeds arbitrary bytes to the embedded DNS server as a query, over UDP and TCP framing rules. */
#include <stdint.h>
#include <stdlib.h>

#include "net/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct dns_table *t;
        uint8_t *r = NULL;
        size_t rl = 0;

        if (!t) {
                t = dns_table_new();
                (void)dns_table_add(t, "web", 0xac120002u, NULL);
                (void)dns_table_add(t, "api", 0xac120003u, NULL);
                (void)dns_table_add(t, "api", 0xac120004u, NULL);
                for (uint32_t i = 0; i < 40; i++)
                        (void)dns_table_add(t, "big", 0x0a000000u + i, NULL);
        }
        for (int tcp = 0; tcp < 2; tcp++) {
                int k = dns_answer(t, data, size, tcp, &r, &rl);
                if (k > 0) {
                        if (rl < 12 || (!tcp && rl > 4096))
                                abort();
                        free(r);
                        r = NULL;
                }
        }
        return 0;
}
