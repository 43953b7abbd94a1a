/* SPDX-License-Identifier: Apache-2.0 */
/* Top-level compose resources (compose-spec 06-networks, 07-volumes, 08-configs, 09-secrets)
 * into the model's networks, volumes, secrets and configs. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "compose.h"
#include "spec_util.h"
#include "strv.h"
#include "xalloc.h"

static const char *const network_keys[] = {"driver",      "driver_opts", "ipam",       "internal",
                                           "external",    "name",        "attachable", "labels",
                                           "enable_ipv6", NULL};
static const char *const ipam_keys[] = {"driver", "config", "options", NULL};
static const char *const ipam_config_keys[] = {"subnet", "gateway", "ip_range", "aux_addresses",
                                               NULL};
static const char *const volume_keys[] = {"driver", "driver_opts", "external",
                                          "name",   "labels",      NULL};
static const char *const secret_keys[] = {"file", "environment", "external",
                                          "name", "labels",      NULL};
static const char *const config_keys[] = {"file", "content", "environment", "external",
                                          "name", "labels",  NULL};

/* Accepts "ADDR/PREFIX" for IPv4 and IPv6. */
static bool cidr_valid(const char *s) {
        _cleanup_free_ char *a = NULL;
        const char *slash = strchr(s, '/');
        unsigned char buf[16];
        char *end;
        long p;
        bool v6;

        if (!slash)
                return false;
        a = xstrndup(s, (size_t)(slash - s));
        v6 = strchr(a, ':') != NULL;
        if (inet_pton(v6 ? AF_INET6 : AF_INET, a, buf) != 1)
                return false;
        p = strtol(slash + 1, &end, 10);
        return *end == 0 && end != slash + 1 && p >= 0 && p <= (v6 ? 128 : 32);
}

static bool ip_valid(const char *s) {
        unsigned char buf[16];

        return inet_pton(strchr(s, ':') ? AF_INET6 : AF_INET, s, buf) == 1;
}

/* The common part: name (default PROJECT_KEY, or KEY when external), external, labels. */
static int resource_common(struct compose_ctx *c, const char *key, const struct ynode *v, json_t *o,
                           struct err **errp) {
        const struct ynode *n;
        const char *name = NULL;
        bool external = false;
        int r;

        n = ynode_map_get(v, "external");
        if (n) {
                if (n->kind == YNODE_MAP) {
                        /* Legacy form external: {name: X}. */
                        const struct ynode *en = ynode_map_get(n, "name");
                        external = true;
                        if (en) {
                                r = y_str(en, &name, errp);
                                if (r < 0)
                                        return r;
                        }
                } else {
                        r = y_bool(n, &external, errp);
                        if (r < 0)
                                return r;
                }
        }
        n = ynode_map_get(v, "name");
        if (n) {
                r = y_str(n, &name, errp);
                if (r < 0)
                        return r;
        }
        if (name)
                json_object_set_new(o, "name", json_string(name));
        else if (external)
                json_object_set_new(o, "name", json_string(key));
        else
                json_object_set_new(o, "name", json_pack("s++", c->project, "_", key));
        json_object_set_new(o, "external", json_boolean(external));
        n = ynode_map_get(v, "labels");
        if (n && n->kind == YNODE_SEQ) {
                _cleanup_json_ json_t *l = json_object();
                for (size_t i = 0; i < n->n_kids; i++) {
                        const char *s, *eq;
                        r = y_str(n->kids[i], &s, errp);
                        if (r < 0)
                                return r;
                        eq = strchr(s, '=');
                        if (eq) {
                                _cleanup_free_ char *k = xstrndup(s, (size_t)(eq - s));
                                json_object_set_new(l, k, json_string(eq + 1));
                        } else
                                json_object_set_new(l, s, json_string(""));
                }
                json_object_set_new(o, "labels", TAKE_PTR(l));
        } else if (n && !ynode_is_null(n)) {
                json_t *l = NULL;
                r = y_str_map(n, &l, errp);
                if (r < 0)
                        return r;
                json_object_set_new(o, "labels", l);
        } else
                json_object_set_new(o, "labels", json_object());
        return 0;
}

static int opts_map(const struct ynode *v, const char *key, json_t *o, const char *as,
                    struct err **errp) {
        const struct ynode *n = ynode_map_get(v, key);
        json_t *m = NULL;
        int r;

        if (!n || ynode_is_null(n)) {
                json_object_set_new(o, as, json_object());
                return 0;
        }
        r = y_str_map(n, &m, errp);
        if (r < 0)
                return r;
        json_object_set_new(o, as, m);
        return 0;
}

static int str_field(const struct ynode *v, const char *key, const char *def, json_t *o,
                     struct err **errp) {
        const struct ynode *n = ynode_map_get(v, key);
        const char *s = def;
        int r;

        if (n) {
                r = y_str_or_null(n, &s, errp);
                if (r < 0)
                        return r;
                if (!s)
                        s = def;
        }
        json_set_str(o, key, s);
        return 0;
}

static int bool_field(const struct ynode *v, const char *key, json_t *o, struct err **errp) {
        const struct ynode *n = ynode_map_get(v, key);
        bool b = false;
        int r;

        if (n) {
                r = y_bool(n, &b, errp);
                if (r < 0)
                        return r;
        }
        json_object_set_new(o, key, json_boolean(b));
        return 0;
}

static int ipam(const struct ynode *v, json_t *o, struct err **errp) {
        const struct ynode *ip = ynode_map_get(v, "ipam"), *cfgs, *cfg;
        static const char *const fields[] = {"subnet", "gateway", "ip_range"};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                json_object_set_new(o, fields[i], json_null());
        if (!ip || ynode_is_null(ip))
                return 0;
        r = y_check_keys(ip, ipam_keys, true, NULL, errp);
        if (r < 0)
                return r;
        if (ynode_map_get(ip, "driver")) {
                const char *d;
                if ((r = y_str(ynode_map_get(ip, "driver"), &d, errp)) < 0)
                        return r;
                json_object_set_new(o, "ipam_driver", json_string(d));
        }
        if (ynode_map_get(ip, "options")) {
                json_t *m = NULL;
                if ((r = y_str_map(ynode_map_get(ip, "options"), &m, errp)) < 0)
                        return r;
                json_object_set_new(o, "ipam_options", m);
        }
        cfgs = ynode_map_get(ip, "config");
        if (!cfgs || ynode_is_null(cfgs))
                return 0;
        r = y_seq(cfgs, errp);
        if (r < 0)
                return r;
        if (cfgs->n_kids == 0)
                return 0;
        if (cfgs->n_kids > 1)
                return ynode_err(errp, cfgs->kids[1],
                                 "only one IPAM config per network is supported");
        cfg = cfgs->kids[0];
        r = y_check_keys(cfg, ipam_config_keys, true, NULL, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const struct ynode *f = ynode_map_get(cfg, fields[i]);
                const char *s;
                if (!f)
                        continue;
                r = y_str(f, &s, errp);
                if (r < 0)
                        return r;
                if (streq(fields[i], "gateway") ? !ip_valid(s) : !cidr_valid(s))
                        return ynode_err(errp, f, "expected %s, got \"%s\"",
                                         streq(fields[i], "gateway")
                                                 ? "an IP address"
                                                 : "a CIDR subnet like \"10.5.0.0/16\"",
                                         s);
                json_object_set_new(o, fields[i], json_string(s));
        }
        const struct ynode *aux = ynode_map_get(cfg, "aux_addresses");
        if (aux) {
                json_t *m = NULL;
                if ((r = y_str_map(aux, &m, errp)) < 0)
                        return r;
                json_object_set_new(o, "aux_addresses", m);
        }
        return 0;
}

static int networks(struct compose_ctx *c, const struct ynode *root, json_t *out,
                    struct err **errp) {
        const struct ynode *nets = ynode_map_get(root, "networks"), *k, *v;
        int r;

        if (!nets || ynode_is_null(nets))
                return 0;
        r = y_map(nets, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, nets) {
                _cleanup_json_ json_t *o = json_object();
                if ((r = y_check_name(k, "network", errp)) < 0)
                        return r;
                if (!ynode_is_null(v)) {
                        r = y_check_keys(v, network_keys, true, NULL, errp);
                        if (r < 0)
                                return r;
                }
                r = resource_common(c, k->str, v, o, errp);
                if (r >= 0)
                        r = str_field(v, "driver", "bridge", o, errp);
                /* A named driver stays; without one, a cluster's controller makes the network
                 * an overlay (docs/cluster.md "Overlay by default"). */
                if (r >= 0 && ynode_map_get(v, "driver") &&
                    !ynode_is_null(ynode_map_get(v, "driver")))
                        json_object_set_new(o, "driver_explicit", json_true());
                if (r >= 0)
                        r = bool_field(v, "internal", o, errp);
                if (r >= 0)
                        r = bool_field(v, "attachable", o, errp);
                if (r >= 0)
                        r = bool_field(v, "enable_ipv6", o, errp);
                if (r >= 0)
                        r = ipam(v, o, errp);
                if (r >= 0)
                        r = opts_map(v, "driver_opts", o, "options", errp);
                if (r < 0)
                        return r;
                json_object_set_new(out, k->str, TAKE_PTR(o));
        }
        return 0;
}

static int volumes(struct compose_ctx *c, const struct ynode *root, json_t *out,
                   struct err **errp) {
        const struct ynode *vols = ynode_map_get(root, "volumes"), *k, *v;
        int r;

        if (!vols || ynode_is_null(vols))
                return 0;
        r = y_map(vols, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, vols) {
                _cleanup_json_ json_t *o = json_object();
                if ((r = y_check_name(k, "volume", errp)) < 0)
                        return r;
                if (!ynode_is_null(v)) {
                        r = y_check_keys(v, volume_keys, true, NULL, errp);
                        if (r < 0)
                                return r;
                }
                r = resource_common(c, k->str, v, o, errp);
                if (r >= 0)
                        r = str_field(v, "driver", "local", o, errp);
                if (r >= 0)
                        r = opts_map(v, "driver_opts", o, "driver_opts", errp);
                if (r < 0)
                        return r;
                json_object_set_new(out, k->str, TAKE_PTR(o));
        }
        return 0;
}

/* secrets and configs: exactly one source among file, environment, content (configs), or
 * external. */
static int files(struct compose_ctx *c, const struct ynode *root, const char *section, json_t *out,
                 struct err **errp) {
        const struct ynode *all = ynode_map_get(root, section), *k, *v;
        bool is_config = streq(section, "configs");
        int r;

        if (!all || ynode_is_null(all))
                return 0;
        r = y_map(all, errp);
        if (r < 0)
                return r;
        YMAP_FOREACH(k, v, all) {
                _cleanup_json_ json_t *o = json_object();
                const struct ynode *f, *e, *ct;
                const char *s;
                int sources = 0;

                r = y_check_keys(v, is_config ? config_keys : secret_keys, true, NULL, errp);
                if (r < 0)
                        return r;
                r = resource_common(c, k->str, v, o, errp);
                if (r < 0)
                        return r;
                f = ynode_map_get(v, "file");
                e = ynode_map_get(v, "environment");
                ct = is_config ? ynode_map_get(v, "content") : NULL;
                json_object_set_new(o, "file", json_null());
                json_object_set_new(o, "environment", json_null());
                if (is_config)
                        json_object_set_new(o, "content", json_null());
                if (f) {
                        r = y_str(f, &s, errp);
                        if (r < 0)
                                return r;
                        _cleanup_free_ char *abs = y_abs_path(f, s, compose_env_get(c, "HOME"));
                        json_object_set_new(o, "file", json_string(abs));
                        sources++;
                }
                if (e) {
                        r = y_str(e, &s, errp);
                        if (r < 0)
                                return r;
                        json_object_set_new(o, "environment", json_string(s));
                        sources++;
                }
                if (ct) {
                        r = y_str(ct, &s, errp);
                        if (r < 0)
                                return r;
                        json_object_set_new(o, "content", json_string(s));
                        sources++;
                }
                if (json_is_true(json_object_get(o, "external"))) {
                        /* The controller checks that it exists: its error names the line. */
                        json_object_set_new(o, "origin",
                                            json_sprintf("%s:%u:%u",
                                                         k->src ? k->src->file : "<input>", k->line,
                                                         k->col));
                        sources++;
                }
                if (sources != 1)
                        return ynode_err(errp, v,
                                         "%s '%s' needs exactly one of file, environment%s or "
                                         "external",
                                         is_config ? "config" : "secret", k->str,
                                         is_config ? ", content" : "");
                json_object_set_new(out, k->str, TAKE_PTR(o));
        }
        return 0;
}

int compose_toplevel(struct compose_ctx *c, const struct ynode *root, json_t *model,
                     struct err **errp) {
        json_t *nets = json_object(), *vols = json_object(), *secs = json_object(),
               *cfgs = json_object();
        int r;

        json_object_set_new(model, "networks", nets);
        json_object_set_new(model, "volumes", vols);
        json_object_set_new(model, "secrets", secs);
        json_object_set_new(model, "configs", cfgs);
        r = networks(c, root, nets, errp);
        if (r >= 0)
                r = volumes(c, root, vols, errp);
        if (r >= 0)
                r = files(c, root, "secrets", secs, errp);
        if (r >= 0)
                r = files(c, root, "configs", cfgs, errp);
        return r;
}
