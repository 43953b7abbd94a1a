/* SPDX-License-Identifier: Apache-2.0 */
/* `berth daemon`: one libev loop serving the local API on a unix socket and, with --listen, the
 * remote API over mutual TLS. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "build_recover.h"
#include "events.h"
#include "metrics.h"
#include "containers.h"
#include "daemon.h"
#include "daemon_trim.h"
#include "netd.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "image/registry.h"
#include "pki.h"
#include "strv.h"
#include "version.h"
#include "xalloc.h"

#define DEFAULT_ROOT "/var/lib/berth"
#define DEFAULT_RUN "/run/berth"

static void daemon_usage(FILE *f) {
        fprintf(f,
                "Usage: berth daemon [OPTIONS]\n\n"
                "Run the berth daemon: the local API on <run>/berth.sock and, with --listen,\n"
                "the remote API over HTTPS with mutual TLS.\n\n"
                "Options:\n"
                "      --root DIR          state directory (default " DEFAULT_ROOT ")\n"
                "      --run DIR           runtime directory (default " DEFAULT_RUN ")\n"
                "      --listen ADDR:PORT  also serve HTTPS (mutual TLS) on this address\n"
                "      --log-level LEVEL   error|warn|info|debug (default info)\n"
                "      --log-format FMT    json|text (default json)\n"
                "      --config-file FILE  settings read at start and on SIGHUP\n"
                "                          (default /etc/berth/daemon.json)\n"
                "      --bip CIDR          default network: gateway address and prefix\n"
                "      --fixed-cidr CIDR   default network: range of container addresses\n"
                "      --mtu N             default network: MTU of its bridge and veths\n"
                "      --bridge none       no default network\n"
                "      --default-address-pool base=CIDR,size=N  subnets for the default network\n"
                "                          and networks without --subnet (repeatable)\n"
                "      --request-timeout S seconds a client may take to send a request's\n"
                "                          headers (the body gets three times that; default 10)\n"
                "      --insecure-registry HOST[:PORT]  pull/push over plain HTTP (repeatable)\n"
                "      --heartbeat S       seconds between the node agent's status reports\n"
                "                          (default 1)\n"
                "      --node-grace S      controller: a node silent this long is down and its\n"
                "                          pods are rescheduled (default 5)\n"
                "      --node-cert-ttl D   controller: validity of the node certificates it signs\n"
                "                          (a duration: 90d, 12h, 30s; default 90d; agents renew\n"
                "                          with a third left; short ones are for tests)\n"
                "      --registry-certs-dir DIR  per-registry TLS files DIR/HOST[:PORT]/ca.crt,\n"
                "                          client.cert, client.key (default " REGISTRY_CERTS_DIR
                ")\n"
                "      --userns-remap default|USER[:GROUP]  containers' root is an unprivileged\n"
                "                          host id from /etc/subuid, /etc/subgid\n"
                "  -h, --help              this help\n");
}

/* Stops the addons in reverse order (they finish the requests they hold, such as long polls,
 * so a graceful shutdown does not wait for them). */
static void daemon_stop_addons(struct daemon *d) {
        for (size_t i = d->env.n_addons; i > 0; i--)
                if (d->addons[i - 1].stop)
                        d->addons[i - 1].stop(d->env.addons[i - 1].state);
        d->env.n_addons = 0;
}

static struct daemon *daemon_free(struct daemon *d) {
        if (!d)
                return NULL;
        strv_free(d->insecure_registries_flag);
        daemon_stop_addons(d);
        if (d->loop) {
                ev_signal_stop(d->loop, &d->sigterm);
                ev_signal_stop(d->loop, &d->sigint);
                ev_signal_stop(d->loop, &d->sighup);
        }
        daemon_config_done(&d->config);
        free(d->config_path);
        d->http = http_server_free(d->http);
        d->ctrs = ctr_mgr_free(d->ctrs);
        netd_close(d); /* berth-net */
        free(d->net_bip);
        free(d->net_fixed_cidr);
        strv_free(d->net_pools);
        d->router = http_router_free(d->router);
        /* after the server: closing streams unsubscribe from the bus */
        d->events = event_bus_free(d->events);
        d->metrics = metrics_free(d->metrics);
        safe_close(d->lock_fd);
        free(d->root);
        free(d->run);
        free(d->listen);
        free(d->sock_path);
        free(d->pki_dir);
        free(d->local_url);
        free(d);
        return NULL;
}

static void daemon_freep(struct daemon **d) {
        *d = daemon_free(*d);
}

/* Takes the exclusive lock on <root>/berth.lock; a second daemon on the same root fails here. */
static int daemon_lock(struct daemon *d, struct err **errp) {
        _cleanup_free_ char *path = xasprintf("%s/berth.lock", d->root);
        _cleanup_free_ char *pid = NULL;
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_set(errp, errno, "open lock file '%s'", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return err_setx(errp, EBUSY,
                                        "another berth daemon is already running with root '%s' "
                                        "(lock '%s' is held)",
                                        d->root, path);
                return err_set(errp, errno, "lock '%s'", path);
        }
        pid = xasprintf("%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || fd_write_full(fd, pid, strlen(pid)) < 0)
                return err_set(errp, errno, "write '%s'", path);
        d->lock_fd = TAKE_FD(fd);
        return 0;
}

static int daemon_dirs(struct daemon *d, struct err **errp) {
        static const char *const subdirs[] = {"containers", "images", "volumes", "networks"};
        int r;

        r = mkdir_p(d->root, 0711, errp);
        if (r < 0)
                return r;
        /* Lock first: a refused second daemon creates nothing. */
        r = daemon_lock(d, errp);
        if (r >= 0)
                r = mkdir_p(d->run, 0711, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", d->root, subdirs[i]);

                r = mkdir_p(p, 0700, errp);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The event history on disk (events.h), before anything that publishes: the containers
 * re-adopted at start report their exits. */
static int daemon_events_open(struct daemon *d, struct err **errp) {
        _cleanup_free_ char *dir = xasprintf("%s/events", d->root);
        struct event_journal *j = NULL;
        int r;

        r = event_journal_open(dir, d->config.events_journal_size, &j, errp);
        if (r < 0)
                return err_wrap(errp, "event journal");
        event_bus_set_journal(d->events, j);
        return 0;
}

/* The host part of ADDR:PORT when it names one address (not a wildcard). */
static char *listen_host(const char *addr) {
        const char *colon;

        if (addr[0] == '[') {
                const char *close = strchr(addr, ']');
                if (!close)
                        return NULL;
                if (close - addr - 1 == 2 && strncmp(addr + 1, "::", 2) == 0)
                        return NULL;
                return xstrndup(addr + 1, (size_t)(close - addr - 1));
        }
        colon = strrchr(addr, ':');
        if (!colon || colon == addr)
                return NULL;
        if ((size_t)(colon - addr) == 7 && strncmp(addr, "0.0.0.0", 7) == 0)
                return NULL;
        return xstrndup(addr, (size_t)(colon - addr));
}

/* pki_ensure() in a short-lived child: creating the CA initialises OpenSSL (its providers,
 * config and key generation fault in about 4 MiB of libcrypto) and the daemon needs none of it
 * unless it serves TLS itself. The child's pages go with it; its error comes back on a pipe as
 * "CODE MESSAGE". */
static int pki_ensure_in_child(const char *dir, const char *hostname, char *const *sans,
                               struct err **errp) {
        _cleanup_close_ int rfd = -EBADF;
        char buf[1024];
        int p[2], status, code;
        ssize_t n;
        size_t len = 0;
        pid_t pid;
        char *msg;

        if (pipe2(p, O_CLOEXEC) < 0)
                return err_set(errp, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                int e = errno;

                safe_close(p[0]);
                safe_close(p[1]);
                return err_set(errp, e, "fork");
        }
        if (pid == 0) {
                _cleanup_err_ struct err *e = NULL;
                int r;

                safe_close(p[0]);
                r = pki_ensure(dir, hostname, sans, &e);
                if (r < 0)
                        dprintf(p[1], "%d %s", e->code, err_msg(e));
                _exit(r < 0 ? 1 : r > 0 ? 2 : 0);
        }
        safe_close(p[1]);
        rfd = p[0];
        while (len < sizeof(buf) - 1) {
                n = read(rfd, buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_set(errp, errno, "wait for the PKI helper");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
                return 1;
        code = (int)strtol(buf, &msg, 10);
        if (len > 0 && code > 0 && msg[0] == ' ')
                return err_setx(errp, code, "%s", msg + 1);
        return err_setx(errp, EIO, "the PKI helper failed (status %d)", status);
}

static int daemon_pki(struct daemon *d, struct err **errp) {
        _cleanup_strv_ char **sans = NULL;
        char host[256] = "";
        int r;

        if (gethostname(host, sizeof(host) - 1) < 0)
                host[0] = '\0';
        if (d->listen) {
                char *h = listen_host(d->listen);
                if (h)
                        strv_push_take(&sans, h);
        }
        r = d->listen ? pki_ensure(d->pki_dir, host, sans, errp)
                      : pki_ensure_in_child(d->pki_dir, host, sans, errp);
        if (r < 0)
                return r;
        if (r > 0)
                log_info(NULL, "Created PKI in '%s'", d->pki_dir);
        return 0;
}

static void daemon_declare_metrics(struct metrics *m) {
        static const double latency_buckets[] = {0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                 0.05,   0.1,    0.5,   1,     5};

        metrics_declare(m, "berth_api_requests_total", METRIC_COUNTER,
                        "API requests answered, by HTTP status.", NULL, 0);
        metrics_declare(m, "berth_api_request_duration_seconds", METRIC_HISTOGRAM,
                        "Time from a complete request to the start of its response.",
                        latency_buckets, ELEMENTSOF(latency_buckets));
}

static void access_log(const struct http_req *req, int status, void *userdata) {
        struct daemon *d = userdata;
        char code[16];

        daemon_trim_activity(d);
        snprintf(code, sizeof(code), "%d", status);
        metrics_add(d->metrics, "berth_api_requests_total", "code", code, 1);
        metrics_observe(d->metrics, "berth_api_request_duration_seconds",
                        (double)(now_usec() - http_req_start_usec(req)) / 1e6);
        log_debug(NULL, "%s %s -> %d%s%s", http_req_method(req), http_req_path(req), status,
                  http_req_peer_cn(req) ? " client " : "",
                  http_req_peer_cn(req) ? http_req_peer_cn(req) : "");
}

static int daemon_serve(struct daemon *d, struct err **errp) {
        struct group *g;
        gid_t gid = (gid_t)-1;
        int r;

        d->router = http_router_new();
        r = api_register(d->router, errp);
        if (r < 0)
                return r;
        r = http_server_new(d->loop,
                            &(struct http_server_config){
                                    .header_timeout = d->request_timeout,
                                    .body_timeout = 3 * d->request_timeout,
                                    .access_log = access_log,
                            },
                            d->router, d, &d->http, errp);
        if (r < 0)
                return r;
        g = getgrnam("berth");
        if (g)
                gid = g->gr_gid;
        r = http_server_listen_unix(d->http, d->sock_path, 0660, gid, errp);
        if (r < 0)
                return r;
        log_info(NULL, "Listening on unix://%s", d->sock_path);
        event_publish(d->events, realtime_usec() * 1000, "daemon", "start", NULL,
                      json_pack("{s:s,s:s}", "root", d->root, "version", berth_version));
        if (d->listen) {
                _cleanup_free_ char *crt = xasprintf("%s/server.crt", d->pki_dir);
                _cleanup_free_ char *key = xasprintf("%s/server.key", d->pki_dir);
                _cleanup_free_ char *ca = xasprintf("%s/ca.crt", d->pki_dir);
                _cleanup_free_ char *revoked = xasprintf("%s/revoked-serials", d->pki_dir);
                struct http_tls_config tls = {crt, key, ca, revoked};

                r = http_server_listen_tls(d->http, d->listen, &tls, NULL, errp);
                if (r < 0)
                        return r;
                log_info(NULL, "Listening on https://%s (mutual TLS)", d->listen);
        }
        return 0;
}

static void shutdown_done(struct http_server *s, void *ud) {
        struct daemon *d = ud;

        (void)s;
        ev_break(d->loop, EVBREAK_ALL);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        struct daemon *d = w->data;

        (void)loop;
        (void)revents;
        if (d->shutting_down)
                return;
        d->shutting_down = true;
        log_info(NULL, "Received %s, shutting down", strsignal(w->signum));
        ctr_mgr_release_clients(d->ctrs);
        daemon_stop_addons(d);
        http_server_shutdown(d->http, (double)d->config.shutdown_timeout, shutdown_done, d);
}

/* Applies the reloadable settings of d->config. */
static void daemon_config_apply(struct daemon *d) {
        if (d->config.log_level >= 0 && !d->log_level_from_flag)
                log_set_level(d->config.log_level);
}

/* SIGHUP: read the configuration file again; a bad file keeps the old settings. */
static void sighup_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        struct daemon *d = w->data;
        _cleanup_err_ struct err *e = NULL;
        struct daemon_config c;

        (void)loop;
        (void)revents;
        if (daemon_config_load(d->config_path, &c, &e) < 0) {
                log_error(NULL, "Failed to reload the configuration, keeping the old one: %s",
                          err_msg(e));
                return;
        }
        daemon_config_done(&d->config);
        d->config = c;
        daemon_config_apply(d);
        log_info(NULL, "Reloaded the configuration from '%s'", d->config_path);
        event_publish(d->events, realtime_usec() * 1000, "daemon", "reload", NULL,
                      json_pack("{s:s}", "config", d->config_path));
}

enum { OPT_NODE_CERT_TTL = 1000 };

/* "30s", "10m", "12h", "90d" (or plain seconds) within CSR_MIN_SEC..3650 days. */
static int parse_cert_ttl(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;
        uint64_t mul = 1;

        errno = 0;
        if (!(*s >= '0' && *s <= '9'))
                return -EINVAL;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        if (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd') {
                mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
                end++;
        }
        if (*end || v > 3650ULL * 86400 || v * mul < 10 || v * mul > 3650ULL * 86400)
                return -EINVAL;
        *ret = v * mul;
        return 0;
}

static int parse_args(struct daemon *d, int argc, char **argv, bool *ret_help) {
        static const struct option opts[] = {
                {"root", required_argument, NULL, 'r'},
                {"run", required_argument, NULL, 'R'},
                {"listen", required_argument, NULL, 'l'},
                {"log-level", required_argument, NULL, 'L'},
                {"log-format", required_argument, NULL, 'F'},
                {"request-timeout", required_argument, NULL, 't'},
                {"insecure-registry", required_argument, NULL, 'I'},
                {"registry-certs-dir", required_argument, NULL, 'C'},
                {"userns-remap", required_argument, NULL, 'u'},
                {"config-file", required_argument, NULL, 'c'},
                {"bip", required_argument, NULL, 'B'},
                {"fixed-cidr", required_argument, NULL, 'X'},
                {"mtu", required_argument, NULL, 'M'},
                {"default-address-pool", required_argument, NULL, 'A'},
                {"bridge", required_argument, NULL, 'b'},
                {"heartbeat", required_argument, NULL, 'H'},
                {"node-grace", required_argument, NULL, 'G'},
                {"node-cert-ttl", required_argument, NULL, OPT_NODE_CERT_TTL},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        enum log_format fmt = LOG_FMT_JSON;
        int level = LOG_LVL_INFO, c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                case 'R':
                        if (optarg[0] != '/') {
                                fprintf(stderr,
                                        "berth daemon: --%s must be an absolute path, got '%s'\n",
                                        c == 'r' ? "root" : "run", optarg);
                                return -EINVAL;
                        }
                        free(c == 'r' ? d->root : d->run);
                        *(c == 'r' ? &d->root : &d->run) = xstrdup(optarg);
                        break;
                case 'l': {
                        _cleanup_err_ struct err *e = NULL;

                        if (http_listen_addr_check(optarg, &e) < 0) {
                                fprintf(stderr, "berth daemon: --listen: %s\n", err_msg(e));
                                return -EINVAL;
                        }
                        free(d->listen);
                        d->listen = xstrdup(optarg);
                        break;
                }
                case 'c':
                        free(d->config_path);
                        d->config_path = xstrdup(optarg);
                        break;
                case 'L':
                        d->log_level_from_flag = true;
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "berth daemon: invalid --log-level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'F':
                        if (streq(optarg, "json"))
                                fmt = LOG_FMT_JSON;
                        else if (streq(optarg, "text"))
                                fmt = LOG_FMT_TEXT;
                        else {
                                fprintf(stderr,
                                        "berth daemon: invalid --log-format '%s' (json|text)\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 't': {
                        char *end;
                        double t = strtod(optarg, &end);

                        if (*end || !(t > 0 && t <= 3600)) {
                                fprintf(stderr,
                                        "berth daemon: invalid --request-timeout '%s' (seconds, "
                                        "0 < S <= 3600)\n",
                                        optarg);
                                return -EINVAL;
                        }
                        d->request_timeout = t;
                        break;
                }
                case OPT_NODE_CERT_TTL: {
                        uint64_t sec = 0;

                        if (parse_cert_ttl(optarg, &sec) < 0) {
                                fprintf(stderr,
                                        "berth daemon: invalid --node-cert-ttl '%s' (a duration "
                                        "from 10s to 3650d: 30s, 12h, 90d)\n",
                                        optarg);
                                return -EINVAL;
                        }
                        d->env.node_cert_ttl_sec = sec;
                        break;
                }
                case 'H':
                case 'G': {
                        char *end;
                        double t = strtod(optarg, &end);

                        if (*end || end == optarg || !(t >= 0.05 && t <= 3600)) {
                                fprintf(stderr,
                                        "berth daemon: invalid --%s '%s' (seconds, 0.05..3600)\n",
                                        c == 'H' ? "heartbeat" : "node-grace", optarg);
                                return -EINVAL;
                        }
                        *(c == 'H' ? &d->env.heartbeat_sec : &d->env.node_grace_sec) = t;
                        break;
                }
                case 'A':
                        strv_push(&d->net_pools, optarg);
                        break;
                case 'B':
                case 'X':
                        free(c == 'B' ? d->net_bip : d->net_fixed_cidr);
                        *(c == 'B' ? &d->net_bip : &d->net_fixed_cidr) = xstrdup(optarg);
                        break;
                case 'b':
                        if (!streq(optarg, "none")) {
                                fprintf(stderr,
                                        "berth daemon: invalid --bridge '%s' (only 'none', to run "
                                        "without the default network)\n",
                                        optarg);
                                return -EINVAL;
                        }
                        d->net_no_bridge = true;
                        break;
                case 'M': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);

                        if (*end || end == optarg || v < 68 || v > 65535) {
                                fprintf(stderr, "berth daemon: invalid --mtu '%s' (68..65535)\n",
                                        optarg);
                                return -EINVAL;
                        }
                        d->net_mtu = (uint32_t)v;
                        break;
                }
                case 'I':
                        if (!optarg[0] || strpbrk(optarg, "/ \t")) {
                                fprintf(stderr,
                                        "berth daemon: invalid --insecure-registry '%s' "
                                        "(HOST[:PORT])\n",
                                        optarg);
                                return -EINVAL;
                        }
                        strv_push(&d->insecure_registries_flag, optarg);
                        break;
                case 'C':
                        if (optarg[0] != '/') {
                                fprintf(stderr,
                                        "berth daemon: --registry-certs-dir '%s' must be an "
                                        "absolute path\n",
                                        optarg);
                                return -EINVAL;
                        }
                        d->registry_certs_dir = optarg;
                        break;
                case 'u': /* checked when the container manager opens (ctr_userns.c) */
                        d->userns_remap_flag = optarg;
                        break;
                case 'h':
                        *ret_help = true;
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berth daemon: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        {
                _cleanup_err_ struct err *e = NULL;

                if (netd_check_opts(&(struct netd_opts){d->net_bip, d->net_fixed_cidr, d->net_mtu,
                                                        d->net_no_bridge, d->net_pools},
                                    &e) < 0) {
                        fprintf(stderr, "berth daemon: %s\n", err_msg(e));
                        return -EINVAL;
                }
        }
        log_setup("berth-daemon", fmt, level);
        return 0;
}

/* Starts the addons in order once the API listens; a failure names the addon. */
static int daemon_start_addons(struct daemon *d, struct err **errp) {
        d->env.loop = d->loop;
        d->env.root = d->root;
        d->env.run = d->run;
        d->env.sock_path = d->sock_path;
        d->env.local_url = d->local_url;
        d->env.listen = d->listen;
        for (size_t i = 0; i < d->n_addons && i < DAEMON_ADDONS_MAX; i++) {
                void *state = NULL;
                int r = d->addons[i].start(d->loop, &d->env, d->router, d->addons[i].arg, &state,
                                           errp);

                if (r < 0)
                        return err_wrap(errp, "start %s", d->addons[i].name);
                d->env.addons[i].name = d->addons[i].name;
                d->env.addons[i].state = state;
                d->env.n_addons = i + 1;
        }
        return 0;
}

int daemon_main(int argc, char **argv) {
        return daemon_run(argc, argv, NULL, 0);
}

int daemon_run(int argc, char **argv, const struct daemon_addon *addons, size_t n_addons) {
        _cleanup_(daemon_freep) struct daemon *d = xnew0(struct daemon, 1);
        _cleanup_err_ struct err *e = NULL;
        bool help = false;
        int r;

        d->lock_fd = -EBADF;
        d->root = xstrdup(DEFAULT_ROOT);
        d->run = xstrdup(DEFAULT_RUN);
        d->request_timeout = 10;
        d->config_path = xstrdup(DAEMON_CONFIG_DEFAULT);
        daemon_config_init(&d->config);
        d->events = event_bus_new();
        d->metrics = metrics_new();
        daemon_declare_metrics(d->metrics);
        if (parse_args(d, argc, argv, &help) < 0) {
                fprintf(stderr, "See 'berth daemon --help'.\n");
                return 2;
        }
        if (help) {
                daemon_usage(stdout);
                return 0;
        }
        r = daemon_config_load(d->config_path, &d->config, &e);
        if (r < 0) {
                log_error(NULL, "Failed to read the configuration: %s", err_msg(e));
                return 1;
        }
        daemon_config_apply(d);
        d->sock_path = xasprintf("%s/berth.sock", d->run);
        d->pki_dir = xasprintf("%s/pki", d->root);
        d->local_url = xasprintf("unix://%s", d->sock_path);
        d->addons = addons;
        d->n_addons = MIN(n_addons, (size_t)DAEMON_ADDONS_MAX);
        d->pid = getpid();
        d->started_usec = realtime_usec();
        /* Writes to vanished clients must fail with EPIPE, not kill the daemon. */
        signal(SIGPIPE, SIG_IGN);

        d->loop = ev_default_loop(EVFLAG_AUTO);
        if (!d->loop) {
                log_error(NULL, "Failed to create the event loop");
                return 1;
        }
        ev_set_userdata(d->loop, d);
        /* Handlers first: a signal that comes as soon as the socket exists must be caught (it is
         * acted on once the loop runs), never kill the daemon with the default action. */
        ev_signal_init(&d->sigterm, signal_cb, SIGTERM);
        ev_signal_init(&d->sigint, signal_cb, SIGINT);
        d->sigterm.data = d->sigint.data = d;
        ev_signal_start(d->loop, &d->sigterm);
        ev_signal_start(d->loop, &d->sigint);
        ev_signal_init(&d->sighup, sighup_cb, SIGHUP);
        d->sighup.data = d;
        ev_signal_start(d->loop, &d->sighup);

        r = daemon_dirs(d, &e);
        if (r >= 0)
                r = daemon_events_open(d, &e);
        if (r >= 0)
                r = daemon_pki(d, &e);
        if (r >= 0 &&
            netd_open(d,
                      &(struct netd_opts){
                              d->net_bip, d->net_fixed_cidr, d->net_mtu, d->net_no_bridge,
                              d->net_pools ? d->net_pools : d->config.default_address_pools},
                      &d->net_err) < 0)
                log_error(NULL, "Networking is unavailable: %s", err_msg(d->net_err));
        if (r >= 0)
                r = ctr_mgr_open(d, &d->ctrs, &e);
        if (r >= 0)
                build_recover(d); /* before serving: no build of this daemon runs yet */
        if (r >= 0)
                r = daemon_serve(d, &e);
        if (r >= 0)
                r = daemon_start_addons(d, &e);
        if (r < 0) {
                log_error(NULL, "Failed to start the daemon: %s", err_msg(e));
                netd_undo_start(d);
                return 1;
        }

        log_info(NULL, "berth daemon %s (api %s) started, root '%s', pid %d", berth_version,
                 BERTH_API_VERSION, d->root, (int)d->pid);
        daemon_trim_start(d);
        ev_run(d->loop, 0);
        daemon_trim_stop(d);
        log_info(NULL, "berth daemon stopped");
        return 0;
}
