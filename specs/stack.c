/* SPDX-License-Identifier: Apache-2.0 */
/* stack_load(): finds the stack files, detects compose or Kubernetes, loads, and hashes pods. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "spec_util.h"
#include "compose.h"
#include "fileio.h"
#include "kube.h"
#include "stack.h"
#include "strv.h"
#include "xalloc.h"
#include "yaml_tree.h"

struct buf {
        char *p;
        size_t len, alloc;
};

static void buf_put(struct buf *b, const char *s, size_t n) {
        if (_unlikely_(b->len + n + 1 > b->alloc))
                XGROW(b->p, b->alloc, MAX(b->len + n + 1, 2 * b->alloc));
        memcpy(b->p + b->len, s, n);
        b->len += n;
}

static void put_string(struct buf *b, const char *s, size_t n) {
        size_t run = 0;

        buf_put(b, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[8];

                if (c != '"' && c != '\\' && c >= 0x20)
                        continue;
                /* Copy the plain run before this character in one go. */
                buf_put(b, s + run, i - run);
                run = i + 1;
                if (c < 0x20) {
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                        buf_put(b, esc, 6);
                } else {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        buf_put(b, esc, 2);
                }
        }
        buf_put(b, s + run, n - run);
        buf_put(b, "\"", 1);
}

struct kv {
        const char *key;
        const json_t *value;
};

static int cmp_kv(const void *a, const void *b) {
        return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* Canonical JSON: objects with keys sorted bytewise, no whitespace, integers in decimal,
 * reals with %.17g, strings escaped minimally (UTF-8 kept). Only needs to be stable. */
static void canon(struct buf *b, const json_t *j) {
        char num[64];
        size_t i, n;

        switch (json_typeof(j)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *v;
                struct kv small[32], *kvs = small;

                n = json_object_size(j);
                if (n > ELEMENTSOF(small))
                        kvs = xnew(struct kv, n);
                i = 0;
                json_object_foreach ((json_t *)j, k, v)
                        kvs[i++] = (struct kv){k, v};
                qsort_safe(kvs, n, sizeof(*kvs), cmp_kv);
                buf_put(b, "{", 1);
                for (i = 0; i < n; i++) {
                        if (i)
                                buf_put(b, ",", 1);
                        put_string(b, kvs[i].key, strlen(kvs[i].key));
                        buf_put(b, ":", 1);
                        canon(b, kvs[i].value);
                }
                buf_put(b, "}", 1);
                if (kvs != small)
                        free(kvs);
                return;
        }
        case JSON_ARRAY:
                buf_put(b, "[", 1);
                for (i = 0; i < json_array_size(j); i++) {
                        if (i)
                                buf_put(b, ",", 1);
                        canon(b, json_array_get(j, i));
                }
                buf_put(b, "]", 1);
                return;
        case JSON_STRING:
                put_string(b, json_string_value(j), json_string_length(j));
                return;
        case JSON_INTEGER:
                n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                                     json_integer_value(j));
                buf_put(b, num, n);
                return;
        case JSON_REAL:
                n = (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(j));
                buf_put(b, num, n);
                return;
        case JSON_TRUE:
                buf_put(b, "true", 4);
                return;
        case JSON_FALSE:
                buf_put(b, "false", 5);
                return;
        case JSON_NULL:
        default:
                buf_put(b, "null", 4);
                return;
        }
}

char *stack_pod_hash(const json_t *pod) {
        struct buf b = {};
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        char *hex;

        canon(&b, pod);
        if (!EVP_Digest(b.p ? b.p : "", b.len, md, &len, EVP_sha256(), NULL))
                oom();
        free(b.p);
        hex = xmalloc(2 * len + 1);
        for (unsigned i = 0; i < len; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        return hex;
}

void stack_model_hash(json_t *model) {
        const char *name;
        json_t *svc;

        json_object_foreach (json_object_get(model, "services"), name, svc) {
                _cleanup_free_ char *h = stack_pod_hash(json_object_get(svc, "pod"));
                (void)name;
                json_object_set_new(svc, "hash", json_string(h));
        }
}

static const char *const default_files[] = {"compose.yaml", "compose.yml", "docker-compose.yaml",
                                            "docker-compose.yml", NULL};
static const char *const override_files[] = {"compose.override.yaml", "compose.override.yml",
                                             "docker-compose.override.yaml",
                                             "docker-compose.override.yml", NULL};

/* Default compose files in dir: the first of compose.yaml & co., plus its override file. */
static int default_stack_files(const char *dir, char ***ret, struct err **errp) {
        _cleanup_strv_ char **l = NULL;

        for (const char *const *f = default_files; *f; f++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, *f);
                if (access(p, F_OK) == 0) {
                        strv_push(&l, p);
                        break;
                }
        }
        if (!l)
                return err_setx(errp, ENOENT,
                                "no compose file found in '%s' (looked for compose.yaml, "
                                "compose.yml, docker-compose.yaml, docker-compose.yml); use -f",
                                dir);
        for (const char *const *f = override_files; *f; f++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, *f);
                if (access(p, F_OK) == 0) {
                        strv_push(&l, p);
                        break;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* A file is a Kubernetes manifest when a document has top-level apiVersion and kind. A cheap
 * textual check is enough here: the real loaders validate everything. */
static bool looks_like_kube(const char *buf) {
        bool api = false, kind = false;

        for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (str_startswith(p, "apiVersion:"))
                        api = true;
                else if (str_startswith(p, "kind:"))
                        kind = true;
                else if (str_startswith(p, "---")) {
                        if (api && kind)
                                return true;
                        api = kind = false;
                }
        }
        return api && kind;
}

int stack_load(const struct stack_load_opts *o, json_t **ret_model, struct err **errp) {
        _cleanup_strv_ char **files = NULL;
        _cleanup_free_ char *buf = NULL, *cwd = NULL;
        int r;

        if (o->files && o->files[0])
                files = strv_copy(o->files);
        else {
                cwd = o->project_dir ? xstrdup(o->project_dir) : getcwd(NULL, 0);
                if (!cwd)
                        return err_set(errp, errno, "get current directory");
                r = default_stack_files(cwd, &files, errp);
                if (r < 0)
                        return r;
        }
        if (strv_contains(files, "-") && !o->stdin_data) {
                /* "-" is standard input, read once here for every later use. */
                _cleanup_free_ char *in = NULL;
                struct stack_load_opts copy = *o;
                size_t n = 0, alloc = 0;
                ssize_t k;

                do {
                        XGROW(in, alloc, n + 65536 + 1);
                        k = fd_read_full(STDIN_FILENO, in + n, 65536);
                        if (k < 0)
                                return err_set(errp, (int)-k, "read standard input");
                        n += (size_t)k;
                        if (n > YAML_MAX_FILE_SIZE)
                                return err_setx(errp, EFBIG,
                                                "standard input is larger than %u bytes",
                                                YAML_MAX_FILE_SIZE);
                } while (k == 65536);
                in[n] = 0;
                if (strlen(in) != n)
                        return err_setx(errp, EINVAL, "standard input contains NUL bytes");
                copy.stdin_data = in;
                return stack_load(&copy, ret_model, errp);
        }
        if (streq(files[0], "-"))
                buf = xstrdup(o->stdin_data);
        else {
                r = spec_read_file(files[0], 8u * 1024 * 1024, &buf, NULL, errp);
                if (r < 0)
                        return err_wrap(errp, "read stack file '%s'", files[0]);
        }
        if (looks_like_kube(buf))
                return kube_load(o, files, ret_model, errp);
        return compose_load(o, files, ret_model, errp);
}
