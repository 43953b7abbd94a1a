/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "shim_trim.h"
#include "strv.h"

struct mapping {
        unsigned long lo, hi;
        bool candidate; /* file-backed, private, not writable */
        bool dirty;     /* holds anonymous (copied) or dirty pages: never dropped */
};

#define TRIM_MAX 512 /* the daemon maps about 300 */

/* Keeps the mapping when it may be dropped; the drops wait until smaps has been read, so that
 * reading it does not fault the code back in. */
static void mapping_keep(const struct mapping *m, struct mapping *v, size_t *n) {
        if (m->candidate && !m->dirty && m->hi > m->lo && *n < TRIM_MAX)
                v[(*n)++] = *m;
}

void shim_trim(void) {
        FILE *f = fopen("/proc/self/smaps", "re");
        struct mapping cur = {}, v[TRIM_MAX];
        size_t n = 0;
        char line[512];

        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned long lo, hi, off, ino, kb;
                char perms[8], dev[16], key[64];

                if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &lo, &hi, perms, &off, dev, &ino) ==
                    6) {
                        mapping_keep(&cur, v, &n);
                        cur = (struct mapping){.lo = lo,
                                               .hi = hi,
                                               .candidate = ino != 0 && perms[0] == 'r' &&
                                                            perms[1] != 'w' && perms[3] == 'p'};
                        continue;
                }
                if (sscanf(line, "%63[^:]: %lu kB", key, &kb) == 2 && kb > 0 &&
                    (streq(key, "Anonymous") || streq(key, "Private_Dirty") ||
                     streq(key, "Shared_Dirty") || streq(key, "Swap") || streq(key, "Locked")))
                        cur.dirty = true;
        }
        mapping_keep(&cur, v, &n);
        fclose(f);
        /* MADV_DONTNEED on a clean private file mapping only unmaps the pages from this
         * process: the content stays in the page cache and faults back in unchanged. */
        for (size_t i = 0; i < n; i++)
                (void)madvise((void *)v[i].lo, v[i].hi - v[i].lo, MADV_DONTNEED);
}
