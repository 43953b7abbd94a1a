/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_main.h"
#include "cleanup.h"
#include "csr.h"
#include "daemon.h"
#include "daemon_env.h"
#include "fileio.h"
#include "http_client.h"
#include "jointoken.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "strv.h"
#include "xalloc.h"

#define DEFAULT_ROOT "/var/lib/berth"
#define RENEW_CHECK_SEC 3600.0
#define JOIN_TIMEOUT_MS 30000

struct agent_opts {
        char *join, *token, *name, *advertise, *root, *run;
        json_t *labels;
        char **daemon_args; /* what daemon_run() gets */
};

static void agent_opts_done(struct agent_opts *o) {
        free(o->join);
        free(o->token);
        free(o->name);
        free(o->advertise);
        free(o->root);
        free(o->run);
        json_decref(o->labels);
        strv_free(o->daemon_args);
}

/* The files of the node's identity, under <root>/node-tls. */
struct node_tls {
        char *dir, *ca, *crt, *key, *id, *url;
};

static void node_tls_done(struct node_tls *t) {
        free(t->dir);
        free(t->ca);
        free(t->crt);
        free(t->key);
        free(t->id);
        free(t->url);
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: berth agent --join https://ADDR:PORT --token TOKEN [OPTIONS]\n\n"
                "Join a remote controller and run this host's node agent.\n\n"
                "Options:\n"
                "      --join URL             the controller (https://ADDR:PORT)\n"
                "      --token TOKEN          the join token (`berth node token`)\n"
                "      --name NAME            node name (default: the host name)\n"
                "      --label KEY=VALUE      node label (repeatable)\n"
                "      --advertise-addr IP    address put in the node certificate\n"
                "      --root DIR             state directory (default %s)\n"
                "      --run DIR              runtime directory (default /run/berth)\n"
                "      --heartbeat S          seconds between status reports (default 1)\n"
                "      --log-level LVL, --log-format FMT   as for `berth daemon`\n",
                DEFAULT_ROOT);
}

static int parse_args(struct agent_opts *o, int argc, char **argv) {
        enum { O_JOIN = 1000, O_TOKEN, O_NAME, O_LABEL, O_ADV, O_ROOT, O_RUN, O_LL, O_LF, O_HB };
        static const struct option opts[] = {
                {"join", required_argument, NULL, O_JOIN},
                {"token", required_argument, NULL, O_TOKEN},
                {"name", required_argument, NULL, O_NAME},
                {"label", required_argument, NULL, O_LABEL},
                {"advertise-addr", required_argument, NULL, O_ADV},
                {"root", required_argument, NULL, O_ROOT},
                {"run", required_argument, NULL, O_RUN},
                {"log-level", required_argument, NULL, O_LL},
                {"log-format", required_argument, NULL, O_LF},
                {"heartbeat", required_argument, NULL, O_HB},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *eq;
        int c;

        o->labels = json_object();
        strv_push(&o->daemon_args, "agent");
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case O_JOIN:
                        free(o->join);
                        o->join = xstrdup(optarg);
                        break;
                case O_TOKEN:
                        free(o->token);
                        o->token = xstrdup(optarg);
                        break;
                case O_NAME:
                        free(o->name);
                        o->name = xstrdup(optarg);
                        break;
                case O_LABEL:
                        eq = strchr(optarg, '=');
                        if (!eq || eq == optarg) {
                                fprintf(stderr, "berth agent: --label '%s': expected KEY=VALUE\n",
                                        optarg);
                                return -EINVAL;
                        }
                        {
                                _cleanup_free_ char *k = xstrndup(optarg, (size_t)(eq - optarg));
                                json_object_set_new(o->labels, k, json_string(eq + 1));
                        }
                        break;
                case O_ADV:
                        free(o->advertise);
                        o->advertise = xstrdup(optarg);
                        break;
                case O_ROOT:
                case O_RUN:
                case O_LL:
                case O_LF:
                case O_HB:
                        if (c == O_ROOT) {
                                free(o->root);
                                o->root = xstrdup(optarg);
                        }
                        strv_push_take(&o->daemon_args, xasprintf("--%s", opts[c - O_JOIN].name));
                        strv_push(&o->daemon_args, optarg);
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berth agent: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (!o->join || !o->token) {
                fprintf(stderr, "berth agent: --join and --token are required\n");
                return -EINVAL;
        }
        if (strncmp(o->join, "https://", 8) != 0 || !o->join[8]) {
                fprintf(stderr, "berth agent: --join '%s': expected https://ADDR:PORT\n", o->join);
                return -EINVAL;
        }
        if (!o->root)
                o->root = xstrdup(DEFAULT_ROOT);
        if (!o->name) {
                char host[256] = "";

                if (gethostname(host, sizeof(host) - 1) < 0 || !*host) {
                        fprintf(stderr, "berth agent: no --name and no host name\n");
                        return -EINVAL;
                }
                o->name = xstrdup(host);
        }
        return 0;
}

/* Fetches the CA without trusting the server, and keeps it only if its sha256 is the token's. */
static int fetch_ca(const struct agent_opts *o, const struct jointoken *t,
                    const struct node_tls *tls, struct err **errp) {
        _cleanup_free_ char *tmp = xasprintf("%s.fetched", tls->ca);
        struct http_response resp = {};
        char hash[JOINTOKEN_HEX_LEN + 1];
        int r;

        r = http_request(
                &(struct http_target){.host = o->join, .tls_anonymous = true},
                &(struct http_call){.path = "/v1/cluster/ca", .timeout_ms = JOIN_TIMEOUT_MS}, &resp,
                errp);
        if (r < 0)
                return err_wrap(errp, "fetch the cluster CA from '%s'", o->join);
        if (resp.status != 200) {
                r = err_setx(errp, EPROTO, "fetch the cluster CA from '%s': HTTP %ld", o->join,
                             resp.status);
                http_response_done(&resp);
                return r;
        }
        r = write_file_atomic(tmp, resp.body, resp.body_len, 0644, errp);
        http_response_done(&resp);
        if (r >= 0)
                r = jointoken_ca_sha256(tmp, hash, errp);
        if (r >= 0 && strcmp(hash, t->ca_sha256) != 0)
                r = err_setx(errp, EKEYREJECTED,
                             "the controller at '%s' presents a CA whose sha256 is not the "
                             "token's: wrong token or not the right controller",
                             o->join);
        if (r >= 0 && rename(tmp, tls->ca) < 0)
                r = err_set(errp, errno, "rename '%s'", tmp);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

static int do_join(const struct agent_opts *o, const struct node_tls *tls, struct err **errp) {
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_free_ char *csr = NULL, *data = NULL, *key_new = NULL;
        struct http_response resp = {};
        struct jointoken t;
        const char *crt;
        int r;

        r = jointoken_parse(o->token, &t, errp);
        if (r < 0)
                return err_wrap(errp, "--token");
        r = mkdir_p(tls->dir, 0700, errp);
        if (r < 0)
                return r;
        r = fetch_ca(o, &t, tls, errp);
        if (r < 0)
                return r;
        key_new = xasprintf("%s.new", tls->key);
        r = csr_new(key_new, o->name, &csr, errp);
        if (r < 0)
                return r;
        body = json_pack("{s:s, s:s, s:s, s:O}", "secret", t.secret, "name", o->name, "csr", csr,
                         "labels", o->labels);
        explicit_bzero(&t, sizeof(t));
        if (!body)
                oom();
        if (o->advertise)
                json_object_set_new(body, "advertise_addr", json_string(o->advertise));
        /* the controller refuses a join across a clock skew its certificates cannot bear */
        json_object_set_new(body, "time_usec", json_integer((json_int_t)realtime_usec()));
        data = json_dump_str(body, false);
        r = http_request(
                &(struct http_target){.host = o->join, .tls_anonymous = true, .tls_ca = tls->ca},
                &(struct http_call){.method = "POST",
                                    .path = "/v1/nodes/join",
                                    .body = data,
                                    .body_len = strlen(data),
                                    .timeout_ms = JOIN_TIMEOUT_MS},
                &resp, errp);
        explicit_bzero(data, strlen(data));
        if (r < 0) {
                (void)unlink(key_new);
                return err_wrap(errp, "join '%s'", o->join);
        }
        if (resp.status != 200) {
                _cleanup_json_ json_t *ej = json_loads(resp.body ? resp.body : "", 0, NULL);
                const json_t *err = json_object_get(ej, "error");

                r = err_setx(errp, resp.status == 409 ? EEXIST : EACCES,
                             "join '%s' refused (HTTP %ld): %s", o->join, resp.status,
                             json_get_str(err, "message", "no message"));
                http_response_done(&resp);
                (void)unlink(key_new);
                return r;
        }
        r = json_parse(resp.body, resp.body_len, "join answer", &res, errp);
        http_response_done(&resp);
        crt = r >= 0 ? json_get_str(res, "certificate", NULL) : NULL;
        if (r >= 0 && !crt)
                r = err_setx(errp, EPROTO, "join answer: no certificate");
        if (r >= 0)
                r = write_file_atomic(tls->crt, crt, strlen(crt), 0644, errp);
        if (r >= 0 && rename(key_new, tls->key) < 0)
                r = err_set(errp, errno, "rename '%s'", key_new);
        if (r < 0) {
                (void)unlink(key_new);
                (void)unlink(tls->crt);
                return r;
        }
        r = write_file_atomic(tls->id, o->name, strlen(o->name), 0644, errp);
        if (r >= 0)
                r = write_file_atomic(tls->url, o->join, strlen(o->join), 0644, errp);
        return r;
}

/* Renews the node certificate over mTLS when less than a third of its validity is left.
 * *ret_valid: the current certificate's validity in seconds (the check's cadence follows it). */
static int maybe_renew(const char *url, const char *id, const char *advertise,
                       const struct node_tls *tls, time_t *ret_valid, struct err **errp) {
        _cleanup_free_ char *pem = NULL, *csr = NULL, *key_new = NULL, *path = NULL, *data = NULL;
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        struct http_response resp = {};
        time_t nb, na;
        const char *crt;
        int r;

        r = read_file(tls->crt, CSR_MAX_PEM, &pem, NULL, errp);
        if (r >= 0)
                r = csr_cert_info(pem, &nb, &na, NULL, errp);
        if (r < 0)
                return r;
        *ret_valid = na - nb;
        if (!csr_needs_renewal(nb, na, time(NULL)))
                return 0;
        key_new = xasprintf("%s.new", tls->key);
        r = csr_new(key_new, id, &csr, errp);
        if (r < 0)
                return r;
        body = json_pack("{s:s}", "csr", csr);
        if (advertise)
                json_object_set_new(body, "advertise_addr", json_string(advertise));
        data = json_dump_str(body, false);
        path = xasprintf("/v1/nodes/%s/renew", id);
        r = http_request(
                &(struct http_target){
                        .host = url, .tls_cert = tls->crt, .tls_key = tls->key, .tls_ca = tls->ca},
                &(struct http_call){.method = "POST",
                                    .path = path,
                                    .body = data,
                                    .body_len = strlen(data),
                                    .timeout_ms = JOIN_TIMEOUT_MS},
                &resp, errp);
        if (r >= 0 && resp.status != 200)
                r = err_setx(errp, EPROTO, "renew: HTTP %ld", resp.status);
        if (r >= 0)
                r = json_parse(resp.body, resp.body_len, "renew answer", &res, errp);
        http_response_done(&resp);
        crt = r >= 0 ? json_get_str(res, "certificate", NULL) : NULL;
        if (r >= 0 && !crt)
                r = err_setx(errp, EPROTO, "renew answer: no certificate");
        /* key first, then certificate: a crash in between leaves a mismatched pair that the
         * next renewal (or a re-join) repairs; the old pair stays valid until it expires. */
        if (r >= 0 && rename(key_new, tls->key) < 0)
                r = err_set(errp, errno, "rename '%s'", key_new);
        if (r >= 0)
                r = write_file_atomic(tls->crt, crt, strlen(crt), 0644, errp);
        if (r < 0) {
                (void)unlink(key_new);
                return err_wrap(errp, "renew the node certificate");
        }
        return 1;
}

/* ---- the remote node addon ---- */

struct remote_node {
        struct node_tls tls;
        char *url, *id, *advertise;
        const struct pod_runtime_ops *rt;
        void *rt_ud;
        struct node *node;
        struct ev_loop *loop;
        ev_timer renew;
};

static struct agent_opts *the_opts; /* for the addon's start (one agent per process) */
static const struct pod_runtime_ops *the_rt;

static void renew_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct remote_node *rn = w->data;
        _cleanup_err_ struct err *e = NULL;
        time_t valid = 0;
        double every;
        int r;

        (void)revents;
        r = maybe_renew(rn->url, rn->id, rn->advertise, &rn->tls, &valid, &e);
        if (r < 0)
                log_warn(rn->id, "Failed to renew the node certificate, retrying later: %s",
                         err_msg(e));
        else if (r > 0)
                log_info(rn->id, "Renewed the node certificate");
        /* Hourly for the usual 90 days; six times per validity for short-lived certificates
         * (--node-cert-ttl), so that the third left before expiry is never missed. */
        every = valid > 0 ? (double)valid / 6.0 : RENEW_CHECK_SEC;
        every = every < 1.0 ? 1.0 : every > RENEW_CHECK_SEC ? RENEW_CHECK_SEC : every;
        if (every != w->repeat) {
                w->repeat = every;
                ev_timer_again(loop, w);
        }
}

static void remote_stop(void *state) {
        struct remote_node *rn = state;

        if (!rn)
                return;
        if (rn->loop)
                ev_timer_stop(rn->loop, &rn->renew);
        if (rn->rt && rn->rt->close && rn->rt_ud)
                rn->rt->close(rn->rt_ud);
        node_free(rn->node);
        node_tls_done(&rn->tls);
        free(rn->url);
        free(rn->id);
        free(rn->advertise);
        free(rn);
}

static void tls_paths(const char *root, struct node_tls *t) {
        t->dir = xasprintf("%s/node-tls", root);
        t->ca = xasprintf("%s/ca.crt", t->dir);
        t->crt = xasprintf("%s/node.crt", t->dir);
        t->key = xasprintf("%s/node.key", t->dir);
        t->id = xasprintf("%s/node-id", t->dir);
        t->url = xasprintf("%s/controller-url", t->dir);
}

static int remote_start(struct ev_loop *loop, const struct daemon_env *env,
                        struct http_router *router, const void *arg, void **ret_state,
                        struct err **errp) {
        struct remote_node *rn = xnew0(struct remote_node, 1);
        int r = 0;

        (void)router;
        (void)arg;
        tls_paths(env->root, &rn->tls);
        rn->url = xstrdup(the_opts->join);
        rn->advertise = the_opts->advertise ? xstrdup(the_opts->advertise) : NULL;
        rn->rt = the_rt;
        r = read_file(rn->tls.id, 256, &rn->id, NULL, errp);
        if (r >= 0 && rn->rt->open)
                r = rn->rt->open(env, &rn->rt_ud, errp);
        if (r >= 0)
                r = node_new(loop,
                             &(struct node_config){.name = rn->id,
                                                   .controller = {.host = rn->url,
                                                                  .tls_cert = rn->tls.crt,
                                                                  .tls_key = rn->tls.key,
                                                                  .tls_ca = rn->tls.ca},
                                                   .rt = rn->rt,
                                                   .rt_ud = rn->rt_ud,
                                                   .status_interval = env->heartbeat_sec,
                                                   .advertise_addr = rn->advertise,

                                                   .engine = env->local_url},
                             &rn->node, errp);
        if (r >= 0)
                r = node_start(rn->node, errp);
        if (r < 0) {
                remote_stop(rn);
                return err_wrap(errp, "node agent for '%s'", the_opts->join);
        }
        ev_timer_init(&rn->renew, renew_cb, 0.0, RENEW_CHECK_SEC);
        rn->renew.data = rn;
        rn->loop = loop;
        ev_timer_start(loop, &rn->renew);
        *ret_state = rn;
        return 0;
}

static const struct daemon_addon remote_node_addon = {
        .name = "node",
        .start = remote_start,
        .stop = remote_stop,
};

int agent_run(int argc, char **argv, const struct pod_runtime_ops *rt) {
        _cleanup_(agent_opts_done) struct agent_opts o = {};
        _cleanup_(node_tls_done) struct node_tls tls = {};
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *joined_url = NULL, *joined_id = NULL;
        int r;

        r = parse_args(&o, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : 2;
        tls_paths(o.root, &tls);
        if (access(tls.crt, F_OK) == 0 && read_file(tls.url, 4096, &joined_url, NULL, NULL) >= 0 &&
            read_file(tls.id, 256, &joined_id, NULL, NULL) >= 0) {
                if (strcmp(joined_url, o.join) != 0 || strcmp(joined_id, o.name) != 0) {
                        log_error(NULL,
                                  "Failed to start: '%s' already joined '%s' as '%s'; remove "
                                  "'%s' to join again",
                                  o.root, joined_url, joined_id, tls.dir);
                        return 1;
                }
                log_info(joined_id, "Already joined '%s' as '%s'", joined_url, joined_id);
        } else {
                r = do_join(&o, &tls, &e);
                if (r < 0) {
                        log_error(NULL, "Failed to join '%s': %s", o.join, err_msg(e));
                        return 1;
                }
                log_info(o.name, "Joined '%s' as node '%s'", o.join, o.name);
        }
        the_opts = &o;
        the_rt = rt;
        return daemon_run((int)strv_length(o.daemon_args), o.daemon_args, &remote_node_addon, 1);
}
