/* SPDX-License-Identifier: Apache-2.0 */
#include <malloc.h>
#include <sys/resource.h>

#include "api.h"
#include "daemon_trim.h"
#include "shim_trim.h"

/* Checked every DAEMON_TRIM_PERIOD_SEC; quiet means at most DAEMON_TRIM_QUIET_MAX requests in
 * the last period: the node agent reports its status to the local API every second, which is
 * background, not work. */
#define DAEMON_TRIM_PERIOD_SEC 5.
#define DAEMON_TRIM_QUIET_MAX 8
/* Work that comes without requests (the supervisor restarting a crashing container, a health
 * check, a controller's reconcile) shows as CPU time: more than this in a period is work. An
 * idle daemon uses about 5 ms per period (its node agent's status report every second). */
#define DAEMON_TRIM_QUIET_CPU_USEC 20000

static uint64_t cpu_usec(void) {
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return 0;
        return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
               (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void trim_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct daemon *d = w->data;
        uint64_t recent = d->trim_requests - d->trim_last_count;
        uint64_t cpu = cpu_usec(), used = cpu - d->trim_last_cpu_usec;

        (void)loop;
        (void)revents;
        d->trim_last_count = d->trim_requests;
        d->trim_last_cpu_usec = cpu;
        if (used > DAEMON_TRIM_QUIET_CPU_USEC) {
                /* busy without requests: trim once it is quiet again */
                d->trim_dirty = true;
                (void)malloc_trim(0);
                return;
        }
        /* The heap's free pages go back at every tick with work (a walk of the free chunks:
         * well under a millisecond for a heap of a few MiB); the code pages only when quiet,
         * as a busy daemon would fault them straight back. */
        if (recent > 0)
                (void)malloc_trim(0);
        if (recent > DAEMON_TRIM_QUIET_MAX || !d->trim_dirty)
                return;
        d->trim_dirty = false;
        for (size_t i = 0; i < d->env.n_addons; i++) /* the started ones */
                if (d->addons[i].trim && d->env.addons[i].state)
                        d->addons[i].trim(d->env.addons[i].state);
        (void)malloc_trim(0);
        shim_trim();
}

void daemon_trim_start(struct daemon *d) {
        /* Fixed thresholds: glibc raises both after freeing a large block (up to 32 MiB), and
         * then keeps every later large block and the free top of the heap: the daemon's RSS
         * grew in steps over thousands of create/rm cycles with a heap mostly free. */
        (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        (void)mallopt(M_TRIM_THRESHOLD, 256 * 1024);
        d->trim_dirty = true; /* start-up itself was work */
        d->trim_last_cpu_usec = cpu_usec();
        ev_timer_init(&d->trim_timer, trim_cb, DAEMON_TRIM_PERIOD_SEC, DAEMON_TRIM_PERIOD_SEC);
        d->trim_timer.data = d;
        ev_timer_start(d->loop, &d->trim_timer);
        /* a timer that never keeps the loop alive on its own */
        ev_unref(d->loop);
}

void daemon_trim_stop(struct daemon *d) {
        if (!ev_is_active(&d->trim_timer))
                return;
        ev_ref(d->loop);
        ev_timer_stop(d->loop, &d->trim_timer);
}

void daemon_trim_activity(struct daemon *d) {
        d->trim_requests++;
        if (d->trim_requests - d->trim_last_count > DAEMON_TRIM_QUIET_MAX)
                d->trim_dirty = true;
}
