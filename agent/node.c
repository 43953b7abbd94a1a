/* SPDX-License-Identifier: Apache-2.0 */
/* The node agent: join, watch assignments, reconcile pods locally, report (node.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "node_stream.h"
#include "tunnel_req.h"
#include "strv.h"
#include "xalloc.h"

#define ASSIGNMENTS_MAX 100000u
#define NODE_ERROR_MAX 1000 /* bytes of a create error in the status report */
/* A proxied answer's body (orchestrator/tunnel.h TUNNEL_BODY_MAX), and how long the engine
 * may take for it. */
#define NODE_TUNNEL_BODY_MAX (3u * 1024u * 1024u)
#define NODE_TUNNEL_RUN_MS 110000

struct assignment {
        char *name;
        char *stack, *service, *hash;
        unsigned slot;
        uint64_t generation, order, recreate;
        bool superseded; /* moved elsewhere while this node was away: kept, never (re)started */
        json_t *pod;
};

/* Local restart bookkeeping per pod (STYLE C16: at once first, then backoff). */
struct pod_book {
        char *name;
        unsigned restarts; /* restarts made by this agent */
        unsigned recent;   /* restarts since the pod last stayed up long enough */
        uint64_t next_usec;
        uint64_t started_usec;
        char *error; /* why the last create failed, reported to the controller */
        bool seen;
};

/* A removal in flight (the runtime calls back when the pod is gone). */
struct removing {
        char *name;
        uint64_t order;
};

struct node {
        struct ev_loop *loop;
        struct removing *rm;
        size_t n_rm, alloc_rm;
        ev_timer soon;    /* reconcile again: a removal finished */
        ev_timer backoff; /* reconcile again: a pod's create or restart backoff is over */
        char *name;
        char *host, *tls_cert, *tls_key, *tls_ca;
        char *advertise_addr; /* underlay address (VTEP of overlay networks), may be NULL */
        struct http_target target;
        const struct pod_runtime_ops *rt;
        void *rt_ud;
        double status_interval;
        uint64_t cpu_millis, memory; /* allocatable to report; the host's when 0 */
        void (*reported)(void *ud, size_t running);
        void *reported_ud;
        size_t sending_running; /* running pods in the report in flight */

        struct assignment *asg;
        size_t n_asg;
        bool have_assignments;
        uint64_t revision;
        json_t *stop_timeouts; /* {pod name: seconds} of pods a `down -t` removed */
        json_t *stacks;        /* {stack: its shared parts} (struct pod_spec's stack_model) */
        bool gc_wanted;        /* stacks may have gone: collect their networks */

        struct pod_book *books;
        size_t n_books, alloc_books;

        struct http_multi *http;
        struct http_xfer *join_x, *watch_x, *status_x;
        bool joined;
        bool status_again; /* a report was wanted while one was in flight */
        bool logged_unreachable;
        /* The controller's reverse channel (orchestrator/tunnel.h): requests for this node's
         * engine API (engine, a unix:// URL) come on a long poll, answers go back as posts. */
        char *engine;
        struct http_target engine_target;
        struct http_xfer *tun_x;
        ev_timer tun_retry;
        ev_timer tick;  /* local reconcile + status report */
        ev_timer retry; /* join / watch retry */
};

static void assignments_free(struct assignment *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(a[i].name);
                free(a[i].stack);
                free(a[i].service);
                free(a[i].hash);
                json_decref(a[i].pod);
        }
        free(a);
}

const char *node_name(const struct node *n) {
        return n->name;
}

bool node_synced(const struct node *n) {
        return n->joined && n->have_assignments;
}

static uint64_t get_u64(const json_t *o, const char *key) {
        int64_t v = json_get_int(o, key, 0);
        return v > 0 ? (uint64_t)v : 0;
}

int node_set_assignments(struct node *n, const json_t *answer, struct err **errp) {
        const json_t *list = json_object_get(answer, "assignments");
        struct assignment *a;
        size_t i, cnt;
        json_t *e;

        if (!json_is_array(list))
                return err_setx(errp, EPROTO, "assignments: expected an array");
        cnt = json_array_size(list);
        if (cnt > ASSIGNMENTS_MAX)
                return err_setx(errp, EPROTO, "assignments: more than %u entries", ASSIGNMENTS_MAX);
        a = xnew0(struct assignment, cnt + 1);
        json_array_foreach (list, i, e) {
                const char *nm = json_get_str(e, "name", NULL);
                const char *st = json_get_str(e, "stack", NULL);
                const char *sv = json_get_str(e, "service", NULL);
                const char *h = json_get_str(e, "hash", NULL);
                int64_t slot = json_get_int(e, "slot", -1);

                if (!nm || !st || !sv || !h || slot < 1 || slot > UINT32_MAX ||
                    !json_is_object(json_object_get(e, "pod")) || strchr(nm, '/') || nm[0] == '.') {
                        assignments_free(a, cnt);
                        return err_setx(errp, EPROTO,
                                        "assignments[%zu]: needs name, stack, service, slot >= 1, "
                                        "hash and pod",
                                        i);
                }
                a[i] = (struct assignment){
                        .name = xstrdup(nm),
                        .stack = xstrdup(st),
                        .service = xstrdup(sv),
                        .hash = xstrdup(h),
                        .slot = (unsigned)slot,
                        .generation = get_u64(e, "generation"),
                        .order = get_u64(e, "order"),
                        .recreate = get_u64(e, "recreate"),
                        .superseded = json_is_true(json_object_get(e, "superseded")),
                        .pod = json_incref(json_object_get(e, "pod")),
                };
        }
        assignments_free(n->asg, n->n_asg);
        n->asg = a;
        n->n_asg = cnt;
        json_decref(n->stop_timeouts);
        n->stop_timeouts = json_is_object(json_object_get(answer, "stop_timeouts"))
                                   ? json_incref(json_object_get(answer, "stop_timeouts"))
                                   : NULL;
        json_decref(n->stacks);
        n->stacks = json_is_object(json_object_get(answer, "stacks"))
                            ? json_incref(json_object_get(answer, "stacks"))
                            : NULL;
        n->gc_wanted = true;
        n->have_assignments = true;
        n->revision = get_u64(answer, "revision");
        return 0;
}

static const struct assignment *find_asg(const struct node *n, const char *name) {
        for (size_t i = 0; i < n->n_asg; i++)
                if (streq(n->asg[i].name, name))
                        return &n->asg[i];
        return NULL;
}

static struct pod_book *book(struct node *n, const char *name) {
        struct pod_book *b;

        for (size_t i = 0; i < n->n_books; i++)
                if (streq(n->books[i].name, name))
                        return &n->books[i];
        XGROW(n->books, n->alloc_books, n->n_books + 1);
        b = &n->books[n->n_books++];
        *b = (struct pod_book){.name = xstrdup(name)};
        return b;
}

/* Forgets the bookkeeping of pods that are gone. */
static void books_gc(struct node *n) {
        size_t k = 0;

        for (size_t i = 0; i < n->n_books; i++) {
                if (!n->books[i].seen) {
                        free(n->books[i].name);
                        free(n->books[i].error);
                        continue;
                }
                n->books[i].seen = false;
                n->books[k++] = n->books[i];
        }
        n->n_books = k;
}

static int cmp_order_desc(const void *a, const void *b) {
        const struct pod_status *x = a, *y = b;
        return x->order < y->order ? 1 : x->order > y->order ? -1 : strcmp(x->name, y->name);
}

static int cmp_asg_order(const void *a, const void *b) {
        const struct assignment *const *x = a, *const *y = b;
        return (*x)->order < (*y)->order   ? -1
               : (*x)->order > (*y)->order ? 1
                                           : strcmp((*x)->name, (*y)->name);
}

/* Whether an exited pod is to be started again under its template's restart policy. */
static bool restart_wanted(const struct assignment *a, const struct pod_status *p,
                           const struct pod_book *b) {
        const json_t *rs = json_object_get(a->pod, "restart");
        const char *policy = json_get_str(rs, "policy", "no");
        int64_t max = json_get_int(rs, "max_retries", 0);

        if (streq(policy, "always") || streq(policy, "unless-stopped"))
                return true;
        if (streq(policy, "on-failure"))
                return p->exit_code != 0 && (max <= 0 || b->restarts < (uint64_t)max);
        return false;
}

static uint64_t restart_delay(unsigned recent) {
        unsigned shift = recent > 21 ? 20 : recent - 1;
        uint64_t d;

        if (recent == 0)
                return 0;
        d = (100 * USEC_PER_MSEC) << shift;
        return d < NODE_RESTART_BACKOFF_CAP_USEC ? d : NODE_RESTART_BACKOFF_CAP_USEC;
}

static int create(struct node *n, const struct assignment *a, uint64_t now_usec,
                  struct err **errp) {
        struct pod_spec spec = {
                .name = a->name,
                .stack = a->stack,
                .service = a->service,
                .hash = a->hash,
                .slot = a->slot,
                .generation = a->generation,
                .order = a->order,
                .recreate = a->recreate,
                .pod = a->pod,
                .stack_model = json_object_get(n->stacks, a->stack),
        };
        struct pod_book *b = book(n, a->name);
        int r;

        b->seen = true;
        r = n->rt->create_pod(n->rt_ud, &spec, errp);
        if (r < 0)
                return err_wrap(errp, "create pod '%s'", a->name);
        b->started_usec = now_usec;
        log_info(a->name, "Created pod '%s'", a->name);
        return 0;
}

static struct removing *find_rm(struct node *n, const char *name) {
        for (size_t i = 0; i < n->n_rm; i++)
                if (streq(n->rm[i].name, name))
                        return &n->rm[i];
        return NULL;
}

static void remove_done(void *ud, const char *name, int r, const struct err *e) {
        struct node *n = ud;
        struct removing *x = find_rm(n, name);

        if (x) {
                free(x->name);
                *x = n->rm[--n->n_rm];
        }
        if (r < 0)
                log_warn(name, "Failed to remove pod '%s': %s", name, err_msg(e));
        else
                log_info(name, "Removed pod '%s'", name);
        n->gc_wanted = true;
        if (n->loop && !ev_is_active(&n->soon)) {
                ev_timer_set(&n->soon, 0., 0.);
                ev_timer_start(n->loop, &n->soon);
        }
}

/* The stop timeout the controller asked for this pod (`down -t N`), or -1. */
static int stop_timeout(const struct node *n, const char *name) {
        const json_t *t = json_object_get(n->stop_timeouts, name);

        return json_is_integer(t) && json_integer_value(t) >= 0 && json_integer_value(t) <= 3600
                       ? (int)json_integer_value(t)
                       : -1;
}

/* Starts removing a pod. Returns 1 when it is already gone (the runtime finished at once), 0
 * when the removal is in flight. */
static int start_remove(struct node *n, const char *name, uint64_t order, struct err **errp) {
        int r;

        XGROW(n->rm, n->alloc_rm, n->n_rm + 1);
        n->rm[n->n_rm++] = (struct removing){xstrdup(name), order};
        r = n->rt->remove_pod(n->rt_ud, name, stop_timeout(n, name), remove_done, n, errp);
        if (r < 0) {
                struct removing *x = find_rm(n, name);
                if (x) {
                        free(x->name);
                        *x = n->rm[--n->n_rm];
                }
                return err_wrap(errp, "remove pod '%s'", name);
        }
        return find_rm(n, name) ? 0 : 1;
}

/* Whether a removal of a pod newer than order is still in flight: stops go newest first. */
static bool newer_removal_in_flight(const struct node *n, uint64_t order) {
        for (size_t i = 0; i < n->n_rm; i++)
                if (n->rm[i].order > order)
                        return true;
        return false;
}

static void keep_err(struct err **first, struct err *e) {
        if (*first)
                err_free(e);
        else
                *first = e;
}

/* A stack of the routing mesh keeps its networks on a node without its pods (docs/cluster.md
 * "Routing mesh"). */
static void node_mesh_live(const json_t *stacks, char ***live) {
        const char *stack;
        json_t *parts;

        json_object_foreach ((json_t *)stacks, stack, parts)
                if (json_array_size(json_object_get(parts, "mesh")) > 0 &&
                    !strv_contains(*live, stack))
                        strv_push(live, stack);
}

int node_reconcile(struct node *n, uint64_t now_usec, struct err **errp) {
        struct pod_status *pods = NULL;
        size_t n_pods = 0;
        uint64_t wake = 0; /* the earliest end of a backoff that held a pod back */
        _cleanup_free_ const struct assignment **sorted = NULL;
        _cleanup_err_ struct err *first = NULL;
        int calls = 0, r;

        if (!n->have_assignments)
                return 0;
        r = n->rt->list_pods(n->rt_ud, &pods, &n_pods, errp);
        if (r < 0)
                return err_wrap(errp, "list pods");

        /* Removals first (they free resources), newest first: reverse dependency order. A pod
         * is only stopped once the newer ones are gone. */
        qsort_safe(pods, n_pods, sizeof(pods[0]), cmp_order_desc);
        for (size_t i = 0; i < n_pods; i++) {
                const struct assignment *a = find_asg(n, pods[i].name);
                struct err *e = NULL;

                if (a && a->recreate == pods[i].recreate && streq_ptr(a->hash, pods[i].hash))
                        continue;
                if (find_rm(n, pods[i].name))
                        continue;
                if (newer_removal_in_flight(n, pods[i].order))
                        break;
                calls++;
                if (a)
                        log_info(pods[i].name, "Replacing pod '%s': template changed",
                                 pods[i].name);
                r = start_remove(n, pods[i].name, pods[i].order, &e);
                if (r < 0) {
                        keep_err(&first, e);
                        continue;
                }
                if (r > 0)
                        pod_status_done(&pods[i]);
        }

        sorted = xnew0(const struct assignment *, n->n_asg + 1);
        for (size_t i = 0; i < n->n_asg; i++)
                sorted[i] = &n->asg[i];
        qsort_safe(sorted, n->n_asg, sizeof(sorted[0]), cmp_asg_order);
        for (size_t i = 0; i < n->n_asg; i++) {
                const struct assignment *a = sorted[i];
                struct pod_status *p = NULL;
                struct pod_book *b;
                struct err *e = NULL;
                const char *why = NULL;

                if (find_rm(n, a->name)) {
                        /* created again once the old one is gone; its bookkeeping (backoff, the
                         * error that made it go) stays */
                        for (size_t k = 0; k < n->n_books; k++)
                                if (streq(n->books[k].name, a->name))
                                        n->books[k].seen = true;
                        continue;
                }
                for (size_t k = 0; k < n_pods; k++)
                        if (pods[k].name && streq(pods[k].name, a->name))
                                p = &pods[k];
                if (a->superseded) {
                        /* Its replacement runs on another node: a pod still running here stays
                         * until the controller withdraws the assignment (once the replacement is
                         * settled), but nothing is created, restarted or replaced. */
                        if (p)
                                book(n, a->name)->seen = true;
                        continue;
                }
                if (!p) {
                        b = book(n, a->name);
                        b->seen = true;
                        /* A failing create (missing image...) is retried with backoff. */
                        if (now_usec < b->next_usec) {
                                wake = wake && wake < b->next_usec ? wake : b->next_usec;
                                continue;
                        }
                        calls++;
                        /* the last failure stays reported until the pod runs */
                        if (create(n, a, now_usec, &e) < 0) {
                                b->recent++;
                                b->next_usec = now_usec + restart_delay(b->recent);
                                free(b->error);
                                b->error = xstrdup(err_msg(e));
                                keep_err(&first, e);
                        } else
                                b->next_usec = 0;
                        continue;
                }
                b = book(n, a->name);
                b->seen = true;
                if (p->state == POD_RT_RUNNING && b->error) {
                        free(b->error);
                        b->error = NULL;
                }
                if (p->state == POD_RT_RUNNING && p->health != POD_RT_HEALTH_UNHEALTHY) {
                        if (b->recent && now_usec - b->started_usec >= NODE_RESTART_RESET_USEC)
                                b->recent = 0;
                        continue;
                }
                if (p->state == POD_RT_DEAD)
                        why = "pod dead";
                else if (p->state == POD_RT_RUNNING)
                        why = "container unhealthy";
                if (why) {
                        /* Replaced in place: the same assignment, a fresh pod. */
                        calls++;
                        log_info(a->name, "Replacing pod '%s': %s", a->name, why);
                        r = start_remove(n, a->name, a->order, &e);
                        if (r > 0) {
                                calls++;
                                r = create(n, a, now_usec, &e);
                        }
                        if (r < 0)
                                keep_err(&first, e);
                        continue;
                }
                /* created or exited: the restart policy decides, with backoff. */
                if (p->state == POD_RT_EXITED && !restart_wanted(a, p, b))
                        continue;
                if (now_usec < b->next_usec) {
                        wake = wake && wake < b->next_usec ? wake : b->next_usec;
                        continue;
                }
                calls++;
                if (n->rt->start_pod(n->rt_ud, a->name, &e) < 0) {
                        (void)err_wrap(&e, "start pod '%s'", a->name);
                        keep_err(&first, e);
                        continue;
                }
                if (p->state == POD_RT_EXITED) {
                        b->restarts++;
                        b->recent++;
                        log_info(a->name, "Restarted pod '%s' (exit code %d, restart %u)", a->name,
                                 p->exit_code, b->restarts);
                }
                b->started_usec = now_usec;
                b->next_usec = now_usec + restart_delay(b->recent);
        }
        pod_statuses_free(pods, n_pods);
        books_gc(n);
        /* A pod waiting out its backoff is retried when it ends, not at the next tick or watch
         * answer (a watch that times out unchanged no longer makes a pass). */
        if (wake && n->loop) {
                ev_timer_stop(n->loop, &n->backoff);
                ev_timer_set(&n->backoff, (double)(wake - now_usec) / 1e6 + 0.001, 0.);
                ev_timer_start(n->loop, &n->backoff);
        }
        if (n->gc_wanted && n->n_rm == 0 && n->rt->gc_stacks) {
                /* Stacks without assignments here lose their networks once their pods are
                 * gone (down, or every pod moved away). */
                _cleanup_strv_ char **live = xnew0(char *, 1);

                for (size_t i = 0; i < n->n_asg; i++)
                        if (!strv_contains(live, n->asg[i].stack))
                                strv_push(&live, n->asg[i].stack);
                node_mesh_live(n->stacks, &live);
                n->gc_wanted = false;
                (void)n->rt->gc_stacks(n->rt_ud, live);
        }
        if (n->rt->sync_stacks)
                n->rt->sync_stacks(n->rt_ud, n->stacks);
        if (first)
                return err_move(errp, TAKE_PTR(first));
        return calls;
}

int node_status_json(struct node *n, json_t **ret, struct err **errp) {
        _cleanup_json_ json_t *list = json_array(), *errors = json_array();
        struct pod_status *pods = NULL;
        size_t n_pods = 0;
        int r;

        r = n->rt->list_pods(n->rt_ud, &pods, &n_pods, errp);
        if (r < 0)
                return err_wrap(errp, "list pods");
        for (size_t i = 0; i < n_pods; i++) {
                const struct pod_status *p = &pods[i];
                unsigned restarts = 0;

                for (size_t k = 0; k < n->n_books; k++)
                        if (streq(n->books[k].name, p->name))
                                restarts = n->books[k].restarts;
                json_array_append_new(
                        list,
                        json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:i, s:s, s:I, s:I, s:I}", "id",
                                  p->name, "stack", p->stack, "service", p->service, "slot",
                                  (json_int_t)p->slot, "hash", p->hash, "state",
                                  pod_rt_state_to_string(p->state), "exit_code", p->exit_code,
                                  "health", pod_rt_health_to_string(p->health), "started_at_usec",
                                  (json_int_t)p->started_at_usec, "restarts", (json_int_t)restarts,
                                  "generation", (json_int_t)p->generation));
        }
        /* Assignments whose pod could not be created or started (none, or one not running
         * while it is tried again): the controller shows why. */
        for (size_t i = 0; i < n->n_asg; i++) {
                const struct assignment *a = &n->asg[i];
                bool running = false;

                for (size_t k = 0; k < n_pods && !running; k++)
                        running = streq(pods[k].name, a->name) && pods[k].state == POD_RT_RUNNING;
                for (size_t k = 0; k < n->n_books && !running; k++)
                        if (streq(n->books[k].name, a->name) && n->books[k].error)
                                json_array_append_new(
                                        errors, json_pack("{s:s, s:s, s:I, s:s, s:s%}", "stack",
                                                          a->stack, "service", a->service, "slot",
                                                          (json_int_t)a->slot, "hash", a->hash,
                                                          "error", n->books[k].error,
                                                          MIN(strlen(n->books[k].error),
                                                              (size_t)NODE_ERROR_MAX)));
        }
        pod_statuses_free(pods, n_pods);
        *ret = json_pack("{s:O, s:O}", "pods", list, "errors", errors);
        return 0;
}

/* ---- the HTTP side ---- */

static void node_join(struct node *n);
static void node_watch(struct node *n);
static void tunnel_poll(struct node *n);
static void send_status(struct node *n);
static void reconcile_and_report(struct node *n);

static void retry_later(struct node *n, const char *what, const char *why) {
        if (!n->logged_unreachable)
                log_warn(n->name, "Failed to %s: %s; retrying every %.0f s", what, why,
                         NODE_RETRY_SEC);
        n->logged_unreachable = true;
        if (!ev_is_active(&n->retry)) {
                ev_timer_set(&n->retry, NODE_RETRY_SEC, 0.);
                ev_timer_start(n->loop, &n->retry);
        }
}

/* The error of a finished transfer, as text ("" on success). */
static char *xfer_error(int r, const struct http_response *resp, const struct err *e) {
        if (r < 0)
                return xstrdup(err_msg(e));
        if (resp->status / 100 != 2)
                return xasprintf("HTTP %ld: %.200s", resp->status, resp->body ? resp->body : "");
        return NULL;
}

static void join_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct node *n = ud;
        _cleanup_free_ char *why = xfer_error(r, resp, e);

        n->join_x = NULL;
        if (why) {
                retry_later(n, "join the controller", why);
                return;
        }
        if (n->logged_unreachable)
                log_info(n->name, "Controller reachable again");
        n->logged_unreachable = false;
        n->joined = true;
        log_info(n->name, "Joined the controller at %s as '%s'", n->host, n->name);
        node_watch(n);
        /* The controller plans nothing for a node that has not reported since it started:
         * the first report goes now, not at the first tick. */
        send_status(n);
        tunnel_poll(n);
}

static void node_join(struct node *n) {
        _cleanup_json_ json_t *body = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_err_ struct err *e = NULL;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        uint64_t cpu_millis =
                n->cpu_millis ? n->cpu_millis : (uint64_t)(cpus > 0 ? cpus * 1000 : 0);
        uint64_t memory =
                n->memory ? n->memory : (uint64_t)(pages > 0 && psz > 0 ? pages * psz : 0);

        if (n->join_x)
                return;
        n->joined = false;
        body = json_pack("{s:s, s:s, s:{s:I, s:I}}", "name", n->name, "role", "manager",
                         "allocatable", "cpu_millis", (json_int_t)cpu_millis, "memory",
                         (json_int_t)memory);
        if (n->advertise_addr)
                json_set_str(body, "advertise_addr", n->advertise_addr);
        text = json_dump_str(body, false);
        if (http_multi_request(n->http, &n->target,
                               &(struct http_call){.method = "POST",
                                                   .path = "/v1/nodes/join",
                                                   .body = text,
                                                   .body_len = strlen(text),
                                                   .timeout_ms = 10000},
                               join_done, n, &n->join_x, &e) < 0)
                retry_later(n, "join the controller", err_msg(e));
}

static void watch_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct node *n = ud;
        _cleanup_free_ char *why = xfer_error(r, resp, e);
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *pe = NULL;

        n->watch_x = NULL;
        if (r >= 0 && resp->status == 304) {
                /* The watch timed out and nothing changed: keep the set, watch again. */
                n->logged_unreachable = false;
                node_watch(n);
                return;
        }
        if (why) {
                if (r >= 0 && resp->status == 404)
                        n->joined = false;
                retry_later(n, "watch assignments", why);
                return;
        }
        if (json_parse(resp->body, resp->body_len, "assignments answer", &j, &pe) < 0 ||
            node_set_assignments(n, j, &pe) < 0) {
                retry_later(n, "read assignments", err_msg(pe));
                return;
        }
        n->logged_unreachable = false;
        reconcile_and_report(n);
        node_watch(n);
}

static void node_watch(struct node *n) {
        _cleanup_free_ char *path = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (n->watch_x)
                return;
        path = xasprintf("/v1/nodes/%s/assignments?watch=%" PRIu64 "&timeout=%u", n->name,
                         n->revision, NODE_WATCH_TIMEOUT_MS);
        if (http_multi_request(
                    n->http, &n->target,
                    &(struct http_call){.path = path, .timeout_ms = NODE_WATCH_TIMEOUT_MS + 10000},
                    watch_done, n, &n->watch_x, &e) < 0)
                retry_later(n, "watch assignments", err_msg(e));
}

static void status_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct node *n = ud;
        _cleanup_free_ char *why = xfer_error(r, resp, e);

        n->status_x = NULL;
        if (!why) {
                if (n->reported)
                        n->reported(n->reported_ud, n->sending_running);
                if (n->status_again)
                        send_status(n);
                return;
        }
        /* The controller forgot us (a new store): join again. */
        if (r >= 0 && resp->status == 404 && n->joined) {
                n->joined = false;
                node_join(n);
                return;
        }
        retry_later(n, "report status", why);
}

static void send_status(struct node *n) {
        _cleanup_err_ struct err *e = NULL;
        _cleanup_json_ json_t *st = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;

        if (!n->joined)
                return;
        if (n->status_x) {
                n->status_again = true;
                return;
        }
        n->status_again = false;
        if (node_status_json(n, &st, &e) < 0) {
                log_warn(n->name, "Failed to collect pod status: %s", err_msg(e));
                return;
        }
        /* The report is the heartbeat; its interval lets the controller tell a late node
         * (suspect) from a down one. */
        json_object_set_new(st, "heartbeat_ms",
                            json_integer((json_int_t)(n->status_interval * 1000.0 + 0.5)));
        /* The underlay address other nodes reach this one's overlay networks at. */
        if (n->advertise_addr)
                json_set_str(st, "advertise_addr", n->advertise_addr);
        if (n->reported) {
                const json_t *p;
                size_t i;

                n->sending_running = 0;
                json_array_foreach (json_object_get(st, "pods"), i, p)
                        if (streq(json_get_str(p, "state", ""), "running"))
                                n->sending_running++;
        }
        text = json_dump_str(st, false);
        path = xasprintf("/v1/nodes/%s/status", n->name);
        if (http_multi_request(n->http, &n->target,
                               &(struct http_call){.method = "PUT",
                                                   .path = path,
                                                   .body = text,
                                                   .body_len = strlen(text),
                                                   .timeout_ms = 10000},
                               status_done, n, &n->status_x, &e) < 0)
                log_warn(n->name, "Failed to report status: %s", err_msg(e));
}

/* ---- the reverse channel ---- */

/* One request of the controller's, run against this node's engine API. */
struct tun_job {
        struct node *n;
        uint64_t id;
};

static void tun_answer_done(int r, const struct http_response *resp, const struct err *e,
                            void *ud) {
        struct node *n = ud;
        _cleanup_free_ char *why = xfer_error(r, resp, e);

        if (why)
                log_warn(n->name, "Failed to return a proxied answer to the controller: %s", why);
}

/* The engine answered (or failed): the answer goes back to the controller whole. */
static void tun_job_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        _cleanup_free_ struct tun_job *job = ud;
        struct node *n = job->n;
        _cleanup_json_ json_t *ans = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        _cleanup_err_ struct err *pe = NULL;
        json_t *body = NULL;

        if (r >= 0 && resp->body_len <= NODE_TUNNEL_BODY_MAX)
                body = json_stringn(resp->body ? resp->body : "", resp->body_len);
        if (body)
                ans = json_pack("{s:i, s:s, s:o}", "status", (int)resp->status, "content_type",
                                resp->content_type ? resp->content_type : "application/json",
                                "body", body);
        else {
                _cleanup_json_ json_t *err = json_pack(
                        "{s:{s:s, s:s}}", "error", "code", "bad_gateway", "message",
                        r < 0 ? err_msg(e)
                        : resp->body_len > NODE_TUNNEL_BODY_MAX
                                ? "the answer exceeds the 3 MiB a node returns through the "
                                  "controller (logs: use --tail)"
                                : "the answer is not UTF-8 text");
                _cleanup_free_ char *et = json_dump_str(err, false);
                ans = json_pack("{s:i, s:s, s:s}", "status", 502, "content_type",
                                "application/json", "body", et);
        }
        text = json_dump_str(ans, false);
        path = xasprintf("/v1/nodes/%s/tunnel/%" PRIu64, n->name, job->id);
        if (http_multi_request(n->http, &n->target,
                               &(struct http_call){.method = "POST",
                                                   .path = path,
                                                   .body = text,
                                                   .body_len = strlen(text),
                                                   .timeout_ms = 30000},
                               tun_answer_done, n, NULL, &pe) < 0)
                log_warn(n->name, "Failed to return a proxied answer to the controller: %s",
                         err_msg(pe));
}

static void tun_run(struct node *n, const json_t *spec) {
        const char *method = json_get_str(spec, "method", "GET");
        const char *path = json_get_str(spec, "path", NULL);
        const char *body = json_get_str(spec, "body", NULL);
        struct tun_job *job;
        _cleanup_err_ struct err *e = NULL;

        /* Only the engine's container and exec routes (the controller sends nothing else). */
        if (tunnel_req_check(method, path, &e) < 0 || json_get_int(spec, "id", 0) <= 0) {
                log_warn(n->name, "Ignoring a proxied request for '%s': %s", path ? path : "",
                         e ? err_msg(e) : "no id");
                return;
        }
        if (json_get_bool(spec, "stream", false)) {
                /* logs -f, exec -i/-t: a helper process dials back and relays (node_stream.h) */
                log_info(n->name, "Proxied %s %s from the controller (stream)", method, path);
                if (node_stream_start(&n->target, n->name, (uint64_t)json_get_int(spec, "id", 0),
                                      n->engine, spec, NULL, &e) < 0)
                        log_warn(n->name, "Failed to start a proxied stream: %s", err_msg(e));
                return;
        }
        job = xnew0(struct tun_job, 1);
        job->n = n;
        job->id = (uint64_t)json_get_int(spec, "id", 0);
        log_info(n->name, "Proxied %s %s from the controller", method, path);
        if (http_multi_request(n->http, &n->engine_target,
                               &(struct http_call){.method = method,
                                                   .path = path,
                                                   .body = body,
                                                   .body_len = body ? strlen(body) : 0,
                                                   .timeout_ms = NODE_TUNNEL_RUN_MS},
                               tun_job_done, job, NULL, &e) < 0) {
                log_warn(n->name, "Failed to run a proxied request: %s", err_msg(e));
                free(job);
        }
}

static void tun_poll_done(int r, const struct http_response *resp, const struct err *e, void *ud) {
        struct node *n = ud;
        _cleanup_free_ char *why = xfer_error(r, resp, e);
        _cleanup_json_ json_t *j = NULL;
        size_t i;
        json_t *q;

        n->tun_x = NULL;
        if (why || json_parse(resp->body, resp->body_len, "tunnel answer", &j, NULL) < 0) {
                /* The controller is away (or older): try again later, quietly (the watch
                 * reports unreachability). */
                if (!ev_is_active(&n->tun_retry))
                        ev_timer_start(n->loop, &n->tun_retry);
                return;
        }
        json_array_foreach (json_object_get(j, "requests"), i, q)
                tun_run(n, q);
        tunnel_poll(n);
}

static void tunnel_poll(struct node *n) {
        _cleanup_free_ char *path = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (!n->engine || n->tun_x || !n->joined)
                return;
        path = xasprintf("/v1/nodes/%s/tunnel?timeout=%u", n->name, NODE_WATCH_TIMEOUT_MS);
        if (http_multi_request(
                    n->http, &n->target,
                    &(struct http_call){.path = path, .timeout_ms = NODE_WATCH_TIMEOUT_MS + 10000},
                    tun_poll_done, n, &n->tun_x, &e) < 0 &&
            !ev_is_active(&n->tun_retry))
                ev_timer_start(n->loop, &n->tun_retry);
}

static void tun_retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        tunnel_poll(container_of(w, struct node, tun_retry));
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct node *n = container_of(w, struct node, tick);
        _cleanup_err_ struct err *e = NULL;

        (void)loop;
        (void)revents;
        /* Local healing runs whether or not the controller answers. */
        if (node_reconcile(n, realtime_usec(), &e) < 0)
                log_warn(n->name, "Failed to reconcile pods: %s", err_msg(e));
        send_status(n);
}

/* A pass that changed pods reports at once: the controller (dependants waiting for these
 * pods, `up --wait`) learns it without waiting for the next tick. */
static void reconcile_and_report(struct node *n) {
        _cleanup_err_ struct err *e = NULL;
        int r = node_reconcile(n, realtime_usec(), &e);

        if (r < 0)
                log_warn(n->name, "Failed to reconcile pods: %s", err_msg(e));
        if (r > 0)
                send_status(n);
}

static void reconcile_report(struct node *n) {
        _cleanup_err_ struct err *e = NULL;

        if (node_reconcile(n, realtime_usec(), &e) < 0)
                log_warn(n->name, "Failed to reconcile pods: %s", err_msg(e));
        send_status(n);
}

static void soon_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        /* A removal finished, or the runtime saw a pod change (pod_changed): the controller
         * should hear it at once. */
        reconcile_report(container_of(w, struct node, soon));
}

static void backoff_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)loop;
        (void)revents;
        reconcile_report(container_of(w, struct node, backoff));
}

/* The runtime saw a pod change by itself (a start finished, a container exited...): a pass
 * and a report at once, so the controller (dependants, `up --wait`) does not wait for the next
 * tick. Several changes in one loop iteration share one pass. A new pod whose start failed
 * (name and e set) is retried with backoff and its error reported, as a failed create. */
static void pod_changed(void *ud, const char *name, const struct err *e) {
        struct node *n = ud;

        if (name && e) {
                struct pod_book *b = book(n, name);

                b->seen = true;
                b->recent++;
                b->next_usec = realtime_usec() + restart_delay(b->recent);
                free(b->error);
                b->error = xstrdup(err_msg(e));
        }

        if (n->loop && !ev_is_active(&n->soon)) {
                ev_timer_set(&n->soon, 0., 0.);
                ev_timer_start(n->loop, &n->soon);
        }
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct node *n = container_of(w, struct node, retry);

        (void)loop;
        (void)revents;
        if (!n->joined)
                node_join(n);
        else
                node_watch(n);
}

int node_new(struct ev_loop *loop, const struct node_config *cfg, struct node **ret,
             struct err **errp) {
        _cleanup_(node_freep) struct node *n = xnew0(struct node, 1);
        char host[256] = "";
        int r;

        if (!cfg->rt || !cfg->rt->create_pod || !cfg->rt->start_pod || !cfg->rt->remove_pod ||
            !cfg->rt->list_pods)
                return err_setx(errp, EINVAL, "node agent: incomplete pod runtime");
        n->loop = loop;
        if (cfg->name)
                n->name = xstrdup(cfg->name);
        else {
                if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                        snprintf(host, sizeof(host), "local");
                n->name = xstrdup(host);
        }
        n->host = cfg->controller.host ? xstrdup(cfg->controller.host) : NULL;
        n->tls_cert = cfg->controller.tls_cert ? xstrdup(cfg->controller.tls_cert) : NULL;
        n->tls_key = cfg->controller.tls_key ? xstrdup(cfg->controller.tls_key) : NULL;
        n->tls_ca = cfg->controller.tls_ca ? xstrdup(cfg->controller.tls_ca) : NULL;
        n->advertise_addr = cfg->advertise_addr ? xstrdup(cfg->advertise_addr) : NULL;
        n->target = (struct http_target){.host = n->host,
                                         .tls_cert = n->tls_cert,
                                         .tls_key = n->tls_key,
                                         .tls_ca = n->tls_ca,
                                         .connect_timeout_ms = cfg->controller.connect_timeout_ms};
        n->engine = cfg->engine ? xstrdup(cfg->engine) : NULL;
        n->engine_target = (struct http_target){.host = n->engine};
        n->rt = cfg->rt;
        n->rt_ud = cfg->rt_ud;
        n->reported = cfg->reported;
        n->reported_ud = cfg->reported_ud;
        n->status_interval =
                cfg->status_interval > 0 ? cfg->status_interval : NODE_STATUS_INTERVAL_SEC;
        n->cpu_millis = cfg->cpu_millis;
        n->memory = cfg->memory;
        if (loop) {
                if (!n->host)
                        return err_setx(errp, EINVAL, "node agent: no controller address");
                r = http_target_check(&n->target, errp);
                if (r < 0)
                        return r;
                r = http_multi_new(loop, &n->http, errp);
                if (r < 0)
                        return r;
                ev_timer_init(&n->tick, tick_cb, n->status_interval, n->status_interval);
                ev_timer_init(&n->retry, retry_cb, NODE_RETRY_SEC, 0.);
                ev_timer_init(&n->soon, soon_cb, 0., 0.);
                ev_timer_init(&n->backoff, backoff_cb, 0., 0.);
                if (n->rt->set_notify)
                        n->rt->set_notify(n->rt_ud, pod_changed, n);
                ev_timer_init(&n->tun_retry, tun_retry_cb, NODE_RETRY_SEC, 0.);
        }
        *ret = TAKE_PTR(n);
        return 0;
}

int node_start(struct node *n, struct err **errp) {
        if (!n->loop)
                return err_setx(errp, EINVAL, "node agent: no event loop");
        ev_timer_start(n->loop, &n->tick);
        node_join(n);
        return 0;
}

struct node *node_free(struct node *n) {
        if (!n)
                return NULL;
        if (n->loop) {
                ev_timer_stop(n->loop, &n->tick);
                ev_timer_stop(n->loop, &n->retry);
                ev_timer_stop(n->loop, &n->soon);
                ev_timer_stop(n->loop, &n->backoff);
                ev_timer_stop(n->loop, &n->tun_retry);
        }
        for (size_t i = 0; i < n->n_rm; i++)
                free(n->rm[i].name);
        free(n->rm);
        http_multi_free(n->http);
        free(n->engine);
        assignments_free(n->asg, n->n_asg);
        json_decref(n->stop_timeouts);
        json_decref(n->stacks);
        for (size_t i = 0; i < n->n_books; i++) {
                free(n->books[i].name);
                free(n->books[i].error);
        }
        free(n->books);
        free(n->name);
        free(n->host);
        free(n->tls_cert);
        free(n->tls_key);
        free(n->tls_ca);
        free(n->advertise_addr);
        free(n);
        return NULL;
}

void node_freep(struct node **n) {
        *n = node_free(*n);
}

/* ---- the addon ---- */

struct node_addon_state {
        struct node *node;
        const struct pod_runtime_ops *rt;
        void *rt_ud;
};

static void node_addon_stop(void *state) {
        struct node_addon_state *s = state;

        if (!s)
                return;
        /* The runtime first: it drops pending removal callbacks, which point at the node. */
        if (s->rt && s->rt->close)
                s->rt->close(s->rt_ud);
        node_free(s->node);
        free(s);
}

static int node_addon_start(struct ev_loop *loop, const struct daemon_env *env,
                            struct http_router *router, const void *arg, void **ret_state,
                            struct err **errp) {
        struct node_addon_state *s = xnew0(struct node_addon_state, 1);
        _cleanup_free_ char *adv = NULL;
        struct in_addr a;
        int r = 0;

        (void)router;
        s->rt = arg;
        if (!s->rt) {
                free(s);
                return err_setx(errp, EINVAL, "node agent: no pod runtime given");
        }
        /* The controller's own node is reached at its --listen address (an IPv4 literal other
         * than 0.0.0.0): the VTEP of its overlay networks. */
        if (env->listen && strchr(env->listen, ':')) {
                adv = xstrndup(env->listen, (size_t)(strchr(env->listen, ':') - env->listen));
                if (inet_pton(AF_INET, adv, &a) != 1 || a.s_addr == INADDR_ANY) {
                        free(adv);
                        adv = NULL;
                }
        }
        if (s->rt->open)
                r = s->rt->open(env, &s->rt_ud, errp);
        if (r >= 0)
                r = node_new(loop,
                             &(struct node_config){.controller = {.host = env->local_url},
                                                   .rt = s->rt,
                                                   .rt_ud = s->rt_ud,
                                                   .status_interval = env->heartbeat_sec,
                                                   .advertise_addr = adv,

                                                   .engine = env->local_url},
                             &s->node, errp);
        if (r >= 0)
                r = node_start(s->node, errp);
        if (r < 0) {
                if (s->rt_ud && s->rt->close)
                        s->rt->close(s->rt_ud);
                node_free(s->node);
                free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

const struct daemon_addon node_addon = {
        .name = "node",
        .start = node_addon_start,
        .stop = node_addon_stop,
};
