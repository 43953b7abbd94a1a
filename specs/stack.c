/* SPDX-License-Identifier: Apache-2.0 */
/* stack_load(): finds the stack files, detects compose or Kubernetes, loads, and hashes pods. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "compose.h"
#include "fileio.h"
#include "kube.h"
#include "stack.h"
#include "strv.h"
#include "xalloc.h"

char *stack_pod_hash(const json_t *pod) {
        _cleanup_free_ char *s = json_dumps(pod, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        char *hex;

        if (!s || !EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL))
                oom();
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
        r = read_file(files[0], 8u * 1024 * 1024, &buf, NULL, errp);
        if (r < 0)
                return err_wrap(errp, "read stack file '%s'", files[0]);
        if (looks_like_kube(buf))
                return kube_load(o, files, ret_model, errp);
        return compose_load(o, files, ret_model, errp);
}
