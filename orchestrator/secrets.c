/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "cleanup.h"
#include "controller_int.h"
#include "fileio.h"
#include "http_router.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "secretbox.h"
#include "secrets.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

static const char *const kind_prefix[_SOBJ_KIND_MAX] = {
        [SOBJ_SECRET] = "secrets/",
        [SOBJ_CONFIG] = "configs/",
};
static const char *const kind_word[_SOBJ_KIND_MAX] = {
        [SOBJ_SECRET] = "secret",
        [SOBJ_CONFIG] = "config",
};

void secrets_set_key_path(struct controller *c, const char *path) {
        free(c->secrets_key_path);
        c->secrets_key_path = path ? xstrdup(path) : NULL;
        if (c->secrets_key)
                explicit_bzero(c->secrets_key, sizeof(*c->secrets_key));
        free(c->secrets_key);
        c->secrets_key = NULL;
}

static int get_key(struct controller *c, const struct sbox_key **ret, struct err **errp) {
        struct sbox_key k;
        int r;

        if (!c->secrets_key) {
                if (!c->secrets_key_path)
                        return err_setx(errp, EAGAIN, "the controller has no secrets key");
                r = sbox_key_load(c->secrets_key_path, &k, errp);
                if (r < 0)
                        return err_wrap(errp, "secrets key");
                c->secrets_key = xnew0(struct sbox_key, 1);
                *c->secrets_key = k;
                explicit_bzero(&k, sizeof(k));
        }
        *ret = c->secrets_key;
        return 0;
}

/* swarm's rule: 1-64 characters, letters and digits, with '-', '_' and '.' inside. */
static int check_obj_name(enum sobj_kind kind, const char *name, struct err **errp) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > SECRET_NAME_MAX)
                return err_setx(errp, EINVAL, "%s name must be 1-%d characters", kind_word[kind],
                                SECRET_NAME_MAX);
        for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                             (ch >= '0' && ch <= '9');
                bool inner = i > 0 && i + 1 < n && (ch == '-' || ch == '_' || ch == '.');

                if (!alnum && !inner)
                        return err_setx(errp, EINVAL,
                                        "invalid %s name '%s': letters and digits, with '-', "
                                        "'_' and '.' only between them",
                                        kind_word[kind], name);
        }
        return 0;
}

static char *now_rfc3339(void) {
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

static json_t *kv_doc(const struct store_kv *kv) {
        json_t *j = NULL;

        if (json_parse(kv->value, strlen(kv->value), kv->key, &j, NULL) < 0)
                return NULL;
        json_object_set_new(j, "Version", json_pack("{s:I}", "Index", (json_int_t)kv->mod_rev));
        return j;
}

/* The public view of a stored document: never the sealed value. */
static json_t *public_doc(json_t *doc) {
        json_object_del(doc, "sealed");
        return doc;
}

int secrets_create(struct controller *c, enum sobj_kind kind, const json_t *body, json_t **ret,
                   struct err **errp) {
        const char *name = json_get_str(body, "Name", NULL);
        const char *data = json_get_str(body, "Data", NULL);
        const json_t *labels = json_object_get(body, "Labels"), *v;
        _cleanup_free_ char *key = NULL, *raw = NULL, *id = NULL, *now = NULL, *text = NULL;
        _cleanup_json_ json_t *doc = NULL;
        const char *lk;
        size_t n_raw = 0;
        int r;

        if (!json_is_object(body))
                return err_setx(errp, EINVAL, "body must be a JSON object");
        r = check_obj_name(kind, name, errp);
        if (r < 0)
                return r;
        if (labels && !json_is_null(labels)) {
                if (!json_is_object(labels))
                        return err_setx(errp, EINVAL, "Labels must be an object of strings");
                json_object_foreach ((json_t *)labels, lk, v)
                        if (!json_is_string(v) || !*lk)
                                return err_setx(errp, EINVAL, "Labels.%s must be a string", lk);
        }
        if (!data)
                return err_setx(errp, EINVAL, "Data: the %s's value (base64) is required",
                                kind_word[kind]);
        if (base64_decode(data, &raw, &n_raw) < 0)
                return err_setx(errp, EINVAL, "Data: not valid base64");
        if (n_raw == 0 || n_raw > SECRET_DATA_MAX) {
                explicit_bzero(raw, n_raw);
                return err_setx(errp, E2BIG, "%s data must be 1 byte to %u KiB, got %zu bytes",
                                kind_word[kind], SECRET_DATA_MAX / 1024, n_raw);
        }
        key = xasprintf("%s%s", kind_prefix[kind], name);
        id = random_hex(13);
        id[25] = 0; /* swarm's IDs are 25 characters */
        now = now_rfc3339();
        doc = json_pack("{s:s, s:s, s:s, s:{s:s, s:O}}", "ID", id, "CreatedAt", now, "UpdatedAt",
                        now, "Spec", "Name", name, "Labels",
                        json_is_object(labels) ? labels : json_object());
        if (kind == SOBJ_SECRET) {
                const struct sbox_key *k;
                _cleanup_free_ char *sealed = NULL;

                r = get_key(c, &k, errp);
                if (r >= 0)
                        r = sbox_seal(k, key, raw, n_raw, &sealed, errp);
                explicit_bzero(raw, n_raw);
                if (r < 0)
                        return r;
                json_object_set_new(json_object_get(doc, "Spec"), "Driver", json_null());
                json_set_str(doc, "sealed", sealed);
        } else {
                json_set_str(json_object_get(doc, "Spec"), "Data", data);
        }
        text = json_dump_str(doc, false);
        r = store_put(c->store, key, text, STORE_ABSENT, NULL, errp);
        if (r == -ECANCELED) {
                err_freep(errp);
                return err_setx(errp, EEXIST, "%s '%s' already exists", kind_word[kind], name);
        }
        if (r < 0)
                return r;
        *ret = json_pack("{s:s}", "ID", id);
        return 0;
}

static bool label_matches(const json_t *labels, const char *f) {
        const char *eq = strchr(f, '=');
        _cleanup_free_ char *k = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
        const char *v = json_get_str(labels, k, NULL);

        return v && (!eq || streq(v, eq + 1));
}

/* Every value of filters[name] must match (docker: several values of one filter are ORed
 * for name and id, ANDed for label). */
static bool doc_matches(const json_t *doc, const json_t *filters) {
        const json_t *spec = json_object_get(doc, "Spec"), *a, *v;
        const char *name = json_get_str(spec, "Name", ""), *id = json_get_str(doc, "ID", "");
        bool any;
        size_t i;

        if ((a = json_object_get(filters, "name")) && json_array_size(a) > 0) {
                any = false;
                json_array_foreach (a, i, v)
                        any |= json_is_string(v) && strstr(name, json_string_value(v)) != NULL;
                if (!any)
                        return false;
        }
        if ((a = json_object_get(filters, "id")) && json_array_size(a) > 0) {
                any = false;
                json_array_foreach (a, i, v)
                        any |= json_is_string(v) && str_startswith(id, json_string_value(v));
                if (!any)
                        return false;
        }
        json_array_foreach (json_object_get(filters, "label"), i, v)
                if (!json_is_string(v) ||
                    !label_matches(json_object_get(spec, "Labels"), json_string_value(v)))
                        return false;
        return true;
}

static int check_filters(const json_t *filters, struct err **errp) {
        static const char *const known[] = {"name", "label", "id", NULL};
        const char *k;
        json_t *v;

        if (!filters || json_is_null(filters))
                return 0;
        if (!json_is_object(filters))
                return err_setx(errp, EINVAL, "filters must be an object of string arrays");
        json_object_foreach ((json_t *)filters, k, v) {
                if (!strv_contains((char **)known, k))
                        return err_setx(errp, EINVAL, "invalid filter '%s' (name, label, id)", k);
                if (!json_is_array(v))
                        return err_setx(errp, EINVAL, "filter '%s' must be an array", k);
        }
        return 0;
}

int secrets_list(struct controller *c, enum sobj_kind kind, const json_t *filters, json_t **ret,
                 struct err **errp) {
        struct store_kv *kvs = NULL;
        size_t n = 0;
        json_t *out;
        int r;

        r = check_filters(filters, errp);
        if (r < 0)
                return r;
        r = store_list(c->store, kind_prefix[kind], &kvs, &n, errp);
        if (r < 0)
                return r;
        out = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *d = kv_doc(&kvs[i]);

                if (d && doc_matches(d, filters))
                        json_array_append_new(out, public_doc(d));
                else
                        json_decref(d);
        }
        store_kvs_free(kvs, n);
        *ret = out;
        return 0;
}

/* The store key of ref (a name, an ID or a unique ID prefix). */
static int resolve(struct controller *c, enum sobj_kind kind, const char *ref, char **ret_key,
                   json_t **ret_doc, struct err **errp) {
        _cleanup_free_ char *key = xasprintf("%s%s", kind_prefix[kind], ref ? ref : "");
        struct store_kv kv = {}, *kvs = NULL;
        size_t n = 0, hits = 0, hit = 0;
        int r;

        if (!ref || !*ref)
                return err_setx(errp, EINVAL, "a %s name or ID is required", kind_word[kind]);
        if (strlen(key) <= STORE_KEY_MAX && !strchr(ref, '/') &&
            store_get(c->store, key, &kv, NULL) >= 0) {
                *ret_doc = kv_doc(&kv);
                store_kv_done(&kv);
                if (!*ret_doc)
                        return err_setx(errp, EIO, "stored %s '%s' is not JSON", kind_word[kind],
                                        ref);
                *ret_key = TAKE_PTR(key);
                return 0;
        }
        r = store_list(c->store, kind_prefix[kind], &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *d = kv_doc(&kvs[i]);

                if (d && str_startswith(json_get_str(d, "ID", ""), ref)) {
                        hits++;
                        hit = i;
                }
        }
        if (hits == 1) {
                *ret_doc = kv_doc(&kvs[hit]);
                *ret_key = xstrdup(kvs[hit].key);
        }
        store_kvs_free(kvs, n);
        if (hits > 1)
                return err_setx(errp, EINVAL, "%s '%s' is ambiguous: %zu IDs start with it",
                                kind_word[kind], ref, hits);
        if (hits == 0)
                return err_setx(errp, ENOENT, "%s '%s' not found", kind_word[kind], ref);
        return *ret_doc ? 0 : err_setx(errp, EIO, "stored %s is not JSON", kind_word[kind]);
}

int secrets_inspect(struct controller *c, enum sobj_kind kind, const char *ref, json_t **ret,
                    struct err **errp) {
        _cleanup_free_ char *key = NULL;
        json_t *doc = NULL;
        int r;

        r = resolve(c, kind, ref, &key, &doc, errp);
        if (r < 0)
                return r;
        *ret = public_doc(doc);
        return 0;
}

/* The services of model using its secret/config key (as "a, b"), NULL when none. */
static char *users_of(const json_t *model, enum sobj_kind kind, const char *key) {
        const char *type = kind_word[kind], *svc;
        _cleanup_strv_ char **users = NULL;
        const json_t *s, *ct, *m;
        size_t i, j;

        json_object_foreach ((json_t *)json_object_get(model, "services"), svc, s) {
                bool uses = false;

                json_array_foreach (json_object_get(json_object_get(s, "pod"), "containers"), i, ct)
                        json_array_foreach (json_object_get(ct, "mounts"), j, m)
                                uses |= streq_ptr(json_get_str(m, "type", NULL), type) &&
                                        streq_ptr(json_get_str(m, "source", NULL), key);
                if (uses)
                        strv_push(&users, svc);
        }
        return users ? strv_join(users, "', '") : NULL;
}

int secrets_delete(struct controller *c, enum sobj_kind kind, const char *ref, struct err **errp) {
        _cleanup_free_ char *key = NULL;
        _cleanup_json_ json_t *doc = NULL;
        struct store_kv *kvs = NULL;
        const char *name;
        size_t n = 0;
        int r;

        r = resolve(c, kind, ref, &key, &doc, errp);
        if (r < 0)
                return r;
        name = json_get_str(json_object_get(doc, "Spec"), "Name", "");
        r = store_list(c->store, "stacks/", &kvs, &n, errp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_json_ json_t *model = NULL;
                const char *k;
                json_t *def;

                if (json_parse(kvs[i].value, strlen(kvs[i].value), kvs[i].key, &model, NULL) < 0)
                        continue;
                json_object_foreach (
                        json_object_get(model, kind == SOBJ_SECRET ? "secrets" : "configs"), k,
                        def) {
                        _cleanup_free_ char *users = NULL;

                        if (!json_get_bool(def, "external", false) ||
                            !streq(json_get_str(def, "name", k), name))
                                continue;
                        users = users_of(model, kind, k);
                        r = err_setx(errp, EBUSY,
                                     "%s '%s' is in use by stack '%s'%s%s%s: remove the stack "
                                     "first (berth down)",
                                     kind_word[kind], name, kvs[i].key + strlen("stacks/"),
                                     users ? " (service '" : "", users ? users : "",
                                     users ? "')" : "");
                        break;
                }
        }
        store_kvs_free(kvs, n);
        if (r < 0)
                return r;
        r = store_delete(c->store, key, STORE_ANY_REV, NULL, errp);
        return r < 0 ? r : 0;
}

/* ---- stacks ---- */

static int seal_str(const struct sbox_key *k, const char *aad, const char *s, char **ret,
                    struct err **errp) {
        return sbox_seal(k, aad, s, strlen(s), ret, errp);
}

int secrets_prepare_model(struct controller *c, const char *stack, json_t *model,
                          struct err **errp) {
        static const char *const sections[] = {"secrets", "configs"};
        const struct sbox_key *k = NULL;
        int r;

        for (size_t s = 0; s < ELEMENTSOF(sections); s++) {
                enum sobj_kind kind = s == 0 ? SOBJ_SECRET : SOBJ_CONFIG;
                const char *key;
                json_t *def;

                json_object_foreach (json_object_get(model, sections[s]), key, def) {
                        const char *name = json_get_str(def, "name", key);
                        const char *origin = json_get_str(def, "origin", NULL);
                        _cleanup_free_ char *skey = NULL;
                        struct store_kv kv = {};

                        if (!json_get_bool(def, "external", false))
                                continue;
                        if (check_obj_name(kind, name, NULL) < 0)
                                return err_setx(errp, EINVAL,
                                                "%s%s%s.%s: external %s name '%s' is not valid",
                                                origin ? origin : "", origin ? ": " : "",
                                                sections[s], key, kind_word[kind], name);
                        skey = xasprintf("%s%s", kind_prefix[kind], name);
                        r = store_get(c->store, skey, &kv, NULL);
                        store_kv_done(&kv);
                        if (r < 0)
                                return err_setx(errp, EINVAL,
                                                "%s%s%s.%s: external %s '%s' not found (create "
                                                "it with 'berth %s create %s FILE')",
                                                origin ? origin : "", origin ? ": " : "",
                                                sections[s], key, kind_word[kind], name,
                                                kind_word[kind], name);
                }
        }

        /* Inline secret values: sealed, so state.db never holds them in plain text. */
        const char *key;
        json_t *def;
        json_object_foreach (json_object_get(model, "secrets"), key, def) {
                const char *content = json_get_str(def, "content", NULL);
                json_t *data = json_object_get(def, "data");

                if (!content && !json_is_object(data))
                        continue;
                if (!k) {
                        r = get_key(c, &k, errp);
                        if (r < 0)
                                return r;
                }
                if (content) {
                        _cleanup_free_ char *aad = xasprintf("stacks/%s/secrets/%s", stack, key);
                        _cleanup_free_ char *sealed = NULL;

                        r = seal_str(k, aad, content, &sealed, errp);
                        if (r < 0)
                                return r;
                        json_set_str(def, "content_sealed", sealed);
                        json_object_del(def, "content");
                }
                if (json_is_object(data)) {
                        json_t *out = json_object(), *v;
                        const char *dk;

                        json_object_set_new(def, "data_sealed", out);
                        json_object_foreach (data, dk, v) {
                                _cleanup_free_ char *aad =
                                        xasprintf("stacks/%s/secrets/%s/%s", stack, key, dk);
                                _cleanup_free_ char *sealed = NULL;

                                if (!json_is_string(v))
                                        return err_setx(errp, EINVAL,
                                                        "secrets.%s.data.%s must be a string", key,
                                                        dk);
                                r = seal_str(k, aad, json_string_value(v), &sealed, errp);
                                if (r < 0)
                                        return r;
                                json_object_set_new(out, dk, json_string(sealed));
                        }
                        json_object_del(def, "data");
                }
        }
        return 0;
}

/* An external object's value as base64 into def, or def.error. */
static void resolve_external(struct controller *c, enum sobj_kind kind, const char *key,
                             json_t *def) {
        const char *name = json_get_str(def, "name", key);
        _cleanup_free_ char *skey = xasprintf("%s%s", kind_prefix[kind], name);
        _cleanup_free_ char *plain = NULL;
        _cleanup_json_ json_t *doc = NULL;
        _cleanup_err_ struct err *e = NULL;
        const struct sbox_key *k;
        struct store_kv kv = {};
        size_t len = 0;
        int r;

        r = store_get(c->store, skey, &kv, &e);
        if (r >= 0)
                doc = kv_doc(&kv);
        store_kv_done(&kv);
        if (r < 0 || !doc) {
                json_object_set_new(def, "error",
                                    json_sprintf("external %s '%s' not found in the controller",
                                                 kind_word[kind], name));
                return;
        }
        if (kind == SOBJ_CONFIG) {
                json_set_str(def, "content_base64",
                             json_get_str(json_object_get(doc, "Spec"), "Data", ""));
                return;
        }
        r = get_key(c, &k, &e);
        if (r >= 0)
                r = sbox_open(k, skey, json_get_str(doc, "sealed", ""), &plain, &len, &e);
        if (r < 0) {
                json_object_set_new(def, "error",
                                    json_sprintf("external secret '%s': %s", name, err_msg(e)));
                return;
        }
        {
                _cleanup_free_ char *b = base64_encode(plain, len);

                json_set_str(def, "content_base64", b);
        }
        explicit_bzero(plain, len);
}

static void open_sealed(struct controller *c, const char *stack, const char *key, json_t *def) {
        const char *sealed = json_get_str(def, "content_sealed", NULL);
        json_t *ds = json_object_get(def, "data_sealed"), *v;
        _cleanup_err_ struct err *e = NULL;
        const struct sbox_key *k;
        const char *dk;
        int r;

        r = get_key(c, &k, &e);
        if (r >= 0 && sealed) {
                _cleanup_free_ char *aad = xasprintf("stacks/%s/secrets/%s", stack, key);
                _cleanup_free_ char *plain = NULL;
                size_t len;

                r = sbox_open(k, aad, sealed, &plain, &len, &e);
                if (r >= 0) {
                        _cleanup_free_ char *b = base64_encode(plain, len);

                        json_set_str(def, "content_base64", b);
                        explicit_bzero(plain, len);
                        json_object_del(def, "content_sealed");
                }
        }
        if (r >= 0 && json_is_object(ds)) {
                json_t *data = json_object();

                json_object_set_new(def, "data", data);
                json_object_foreach (ds, dk, v) {
                        _cleanup_free_ char *aad =
                                xasprintf("stacks/%s/secrets/%s/%s", stack, key, dk);
                        _cleanup_free_ char *plain = NULL;
                        size_t len;

                        r = sbox_open(k, aad, json_string_value(v) ? json_string_value(v) : "",
                                      &plain, &len, &e);
                        if (r < 0)
                                break;
                        json_object_set_new(data, dk, json_stringn(plain, len));
                        explicit_bzero(plain, len);
                }
                json_object_del(def, "data_sealed");
        }
        if (r < 0)
                json_object_set_new(def, "error", json_sprintf("secret '%s': %s", key, err_msg(e)));
}

void secrets_resolve_parts(struct controller *c, const char *stack, json_t *parts) {
        static const char *const sections[] = {"secrets", "configs"};

        for (size_t s = 0; s < ELEMENTSOF(sections); s++) {
                json_t *sec = json_object_get(parts, sections[s]), *copy, *def;
                const char *key;

                if (!json_is_object(sec))
                        continue;
                copy = json_deep_copy(sec);
                json_object_set_new(parts, sections[s], copy);
                json_object_foreach (copy, key, def) {
                        if (json_get_bool(def, "external", false))
                                resolve_external(c, s == 0 ? SOBJ_SECRET : SOBJ_CONFIG, key, def);
                        else if (s == 0 && (json_object_get(def, "content_sealed") ||
                                            json_object_get(def, "data_sealed")))
                                open_sealed(c, stack, key, def);
                }
        }
}

/* ---- routes ---- */

static struct controller *ctl_of(struct http_req *req, void *userdata) {
        struct controller *c = daemon_env_state(userdata, "controller");

        if (!c)
                http_reply_error(req, 503, "unavailable", "the controller is not running");
        return c;
}

static enum sobj_kind kind_of(struct http_req *req) {
        return str_startswith(http_req_path(req), "/v1/configs") ? SOBJ_CONFIG : SOBJ_SECRET;
}

static void h_create(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = http_req_json(req, &body, &e);
        if (r >= 0)
                r = secrets_create(c, kind_of(req), body, &res, &e);
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply_json(req, 201, res);
}

static void h_list(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *filters = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *f;
        int r = 0;

        if (!c)
                return;
        f = http_req_query(req, "filters");
        if (f && *f)
                r = json_parse(f, strlen(f), "filters", &filters, &e);
        if (r >= 0)
                r = secrets_list(c, kind_of(req), filters, &res, &e);
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply_json(req, 200, res);
}

static void h_inspect(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_json_ json_t *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = secrets_inspect(c, kind_of(req), http_req_param(req, "id"), &res, &e);
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply_json(req, 200, res);
}

static void h_delete(struct http_req *req, void *userdata) {
        struct controller *c = ctl_of(req, userdata);
        _cleanup_err_ struct err *e = NULL;
        int r;

        if (!c)
                return;
        r = secrets_delete(c, kind_of(req), http_req_param(req, "id"), &e);
        if (r < 0)
                http_reply_err(req, e);
        else
                http_reply(req, 204, NULL, NULL, 0);
}

static void h_update(struct http_req *req, void *userdata) {
        (void)userdata;
        http_reply_error(req, 400, "invalid",
                         "%ss are immutable: remove it and create it again with the new value",
                         kind_of(req) == SOBJ_CONFIG ? "config" : "secret");
}

/* One line per route (merge-friendly). */
/* clang-format off */
static const struct http_route secrets_routes[] = {
        {"POST", "/v1/secrets/create", h_create},
        {"GET", "/v1/secrets", h_list},
        {"GET", "/v1/secrets/{id}", h_inspect},
        {"DELETE", "/v1/secrets/{id}", h_delete},
        {"POST", "/v1/secrets/{id}/update", h_update},
        {"POST", "/v1/configs/create", h_create},
        {"GET", "/v1/configs", h_list},
        {"GET", "/v1/configs/{id}", h_inspect},
        {"DELETE", "/v1/configs/{id}", h_delete},
        {"POST", "/v1/configs/{id}/update", h_update},
        {},
};
/* clang-format on */

int secrets_api_register(struct http_router *router, struct err **errp) {
        return http_router_add_table(router, secrets_routes, errp);
}
