/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "shim_trim.h"
#include "tap.h"

/* RssFile of this process in KiB (0 when the kernel does not say). */
static long rss_file_kb(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kb = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
                        break;
        return kb;
}

static int cmp_int(const void *a, const void *b) {
        return *(const int *)a - *(const int *)b;
}

static void test_trim_keeps_the_process_working(void) {
        char *heap = malloc(1 << 20);
        static char data[4096] = "initialised data";
        static char bss[4096];
        int v[64];
        long before, after;

        ASSERT_NOT_NULL(heap);
        memset(heap, 'x', 1 << 20);
        bss[100] = 'y';
        before = rss_file_kb();
        shim_trim();
        after = rss_file_kb();
        /* writable and private data survive: only clean file pages were dropped */
        ASSERT_EQ(heap[12345], 'x');
        ASSERT_EQ(bss[100], 'y');
        ASSERT_STREQ(data, "initialised data");
        /* code, including libc's (resolved through the GOT), still runs */
        for (int i = 0; i < 64; i++)
                v[i] = 64 - i;
        qsort(v, 64, sizeof(v[0]), cmp_int);
        ASSERT_EQ(v[0], 1);
        ASSERT_EQ(v[63], 64);
        if (before > 0)
                ASSERT_TRUE(after < before);
        printf("# RssFile %ld kB -> %ld kB\n", before, after);
        free(heap);
}

TAP_MAIN(test_trim_keeps_the_process_working)
