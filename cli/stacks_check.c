/* SPDX-License-Identifier: Apache-2.0 */
/* Model fields the engine cannot honour, reported at `up` (stacks_check.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "stacks_check.h"
#include "strv.h"

static unsigned warn(FILE *f, const char *svc, const char *field, const char *what) {
        fprintf(f, "berth: warning: services.%s.%s: %s\n", svc, field, what);
        return 1;
}

static unsigned check_container(FILE *f, const char *svc, size_t i, const json_t *ct) {
        static const char *const probes[] = {"liveness", "readiness", "startup"};
        const json_t *m, *pr = json_object_get(ct, "probes");
        char field[96];
        unsigned n = 0;
        size_t k;

        snprintf(field, sizeof(field), "containers[%zu]", i);
        if (json_array_size(json_object_get(ct, "devices")) > 0)
                n += warn(f, svc, field, "devices: not supported by the engine; the pod will fail");
        if (json_get_int(ct, "shm_size", 0) > 0)
                n += warn(f, svc, field, "shm_size: ignored (default /dev/shm)");
        if (json_is_object(json_object_get(json_object_get(ct, "security"), "user_ns")) ||
            json_is_string(json_object_get(json_object_get(ct, "security"), "user_ns")))
                n += warn(f, svc, field, "security.user_ns: not supported; the pod will fail");
        for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++)
                if (json_is_object(json_object_get(pr, probes[k]))) {
                        n += warn(f, svc, field,
                                  "probes: Kubernetes probes are not run yet (ignored)");
                        break;
                }
        json_array_foreach (json_object_get(ct, "mounts"), k, m) {
                const char *prop = json_get_str(json_object_get(m, "bind"), "propagation", NULL);

                if (json_get_str(json_object_get(m, "volume"), "subpath", NULL))
                        n += warn(f, svc, field,
                                  "mounts: volume.subpath is not supported; the pod will fail");
                if (streq_ptr(json_get_str(m, "type", NULL), "bind") && prop &&
                    !streq(prop, "rprivate") && !streq(prop, "private"))
                        n += warn(f, svc, field,
                                  "mounts: bind.propagation other than rprivate is not "
                                  "supported; the pod will fail");
                if (streq_ptr(json_get_str(m, "type", NULL), "bind") &&
                    json_get_str(json_object_get(m, "bind"), "selinux", NULL))
                        n += warn(f, svc, field, "mounts: bind.selinux is ignored");
        }
        return n;
}

unsigned stack_warn_unsupported(FILE *f, const json_t *model) {
        const json_t *svc, *ct;
        const char *name;
        unsigned n = 0;
        size_t i;

        json_object_foreach ((json_t *)json_object_get(model, "services"), name, svc) {
                const json_t *pod = json_object_get(svc, "pod");
                const char *mode = json_get_str(pod, "network_mode", NULL);

                if (mode && !streq(mode, "host") && !streq(mode, "none"))
                        n += warn(f, name, "network_mode",
                                  "only host, none or the stack's networks are supported; the "
                                  "pods will fail");
                if (json_array_size(json_object_get(pod, "init_containers")) > 0)
                        n += warn(f, name, "init_containers", "not run yet (ignored)");
                json_array_foreach (json_object_get(pod, "containers"), i, ct)
                        n += check_container(f, name, i, ct);
        }
        return n;
}

int stack_resolve_env_sources(json_t *model, struct err **errp) {
        static const char *const sections[] = {"secrets", "configs"};

        for (size_t k = 0; k < ELEMENTSOF(sections); k++) {
                const char *name;
                json_t *def;

                json_object_foreach (json_object_get(model, sections[k]), name, def) {
                        const char *var = json_get_str(def, "environment", NULL), *v;

                        if (!var)
                                continue;
                        v = getenv(var);
                        if (!v)
                                return err_setx(errp, EINVAL,
                                                "%s.%s.environment: variable '%s' is not set",
                                                sections[k], name, var);
                        if (strlen(v) > ENV_SOURCE_MAX)
                                return err_setx(errp, E2BIG,
                                                "%s.%s.environment: variable '%s' is longer "
                                                "than %d bytes",
                                                sections[k], name, var, ENV_SOURCE_MAX);
                        json_object_set_new(def, "content", json_string(v));
                        json_object_set_new(def, "environment", json_null());
                }
        }
        return 0;
}
