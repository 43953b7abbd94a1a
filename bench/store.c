/* SPDX-License-Identifier: Apache-2.0 */
/* Store throughput: N single-key puts (each its own transaction), N puts in transactions of 100,
 * a full list and a catch-up watch, on the SQLite backend (WAL, synchronous=NORMAL) in a
 * temporary directory and on the memory backend. Usage: build/bench/store [n] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "cleanup.h"
#include "fileio.h"
#include "store.h"
#include "xalloc.h"

#define BATCH 100

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(const struct store_event *ev, void *ud) {
        (void)ev;
        (*(unsigned *)ud)++;
        return 0;
}

static int run(const char *label, struct store *s, unsigned n) {
        _cleanup_err_ struct err *e = NULL;
        struct store_kv *kvs = NULL;
        size_t n_kvs = 0;
        unsigned seen = 0;
        double t0, t1, t2, t3, t4;

        t0 = now_sec();
        for (unsigned i = 0; i < n; i++) {
                char key[64], val[96];
                snprintf(key, sizeof(key), "pods/bench/web/%u", i);
                snprintf(val, sizeof(val), "{\"slot\":%u,\"node\":\"n%u\",\"state\":\"running\"}",
                         i, i % 100);
                if (store_put(s, key, val, STORE_ANY_REV, NULL, &e) < 0)
                        goto fail;
        }
        t1 = now_sec();
        for (unsigned i = 0; i < n; i += BATCH) {
                struct store_op ops[BATCH];
                char keys[BATCH][64];
                unsigned k;

                for (k = 0; k < BATCH && i + k < n; k++) {
                        snprintf(keys[k], sizeof(keys[k]), "assignments/n%u/bench.web.%u",
                                 (i + k) % 100, i + k);
                        ops[k] = (struct store_op){STORE_OP_PUT, keys[k], "{\"x\":1}",
                                                   STORE_ANY_REV};
                }
                if (store_txn(s, ops, k, NULL, &e) < 0)
                        goto fail;
        }
        t2 = now_sec();
        if (store_list(s, "pods/", &kvs, &n_kvs, &e) < 0)
                goto fail;
        store_kvs_free(kvs, n_kvs);
        t3 = now_sec();
        if (store_watch(s, "assignments/", store_compact_revision(s), count_cb, &seen, NULL, &e) <
            0)
                goto fail;
        t4 = now_sec();
        printf("%s: %u puts %.0f/s; %u puts in txns of %d %.0f/s; list %zu keys %.1f ms; "
               "watch catch-up %u events %.1f ms\n",
               label, n, n / (t1 - t0), n, BATCH, n / (t2 - t1), n_kvs, (t3 - t2) * 1e3, seen,
               (t4 - t3) * 1e3);
        return 0;
fail:
        fprintf(stderr, "%s: %s\n", label, err_msg(e));
        return 1;
}

int main(int argc, char **argv) {
        unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
        char tmpl[] = "/tmp/berth-bench-store.XXXXXX";
        struct rusage ru;
        int rc = 0;

        if (n == 0) {
                fprintf(stderr, "usage: %s [n > 0]\n", argv[0]);
                return 2;
        }
        if (!mkdtemp(tmpl)) {
                perror("mkdtemp");
                return 1;
        }
        {
                _cleanup_(store_freep) struct store *s = NULL;
                _cleanup_err_ struct err *e = NULL;
                if (store_open_root(tmpl, &s, &e) < 0) {
                        fprintf(stderr, "open: %s\n", err_msg(e));
                        rc = 1;
                } else
                        rc |= run("sqlite", s, n);
        }
        {
                _cleanup_(store_freep) struct store *s = NULL;
                (void)store_open_mem(2 * n, &s, NULL);
                rc |= run("memory", s, n);
        }
        (void)rm_rf(tmpl, NULL);
        getrusage(RUSAGE_SELF, &ru);
        printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
        return rc;
}
