/* SPDX-License-Identifier: Apache-2.0 */
/* Compose `build:` (docs/build.md "Compose"): the images of a stack's services are built through
 * POST /v1/build (cli_build_send, cli/build.c) before `berth up` sends the stack, and by
 * `berth stack build`. The model's containers carry the parsed section (docs/model.md):
 * {"context": "/abs", "dockerfile", "args", "target", "labels", and compose's own keys as
 * written: "dockerfile_inline", "cache_from", "no_cache", "pull", "network", "tags", ...}. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build.h"
#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "json.h"
#include "stack.h"
#include "stacks_build.h"
#include "strv.h"
#include "xalloc.h"

#define MODEL_FILE_MAX (16u * 1024u * 1024u)
#define IMAGE_ID_LABEL "berth.image.id"

/* The id of image name in the daemon's store; NULL when it has none. */
static int image_id(const struct cli_ctx *ctx, const char *name, char **ret, struct err **errp) {
        _cleanup_free_ char *path = xasprintf("/v1/images/%s/json", name);
        _cleanup_json_ json_t *res = NULL;
        struct err *e = NULL;
        int r;

        r = client_call(ctx, "GET", path, NULL, &res, &e);
        if (r == -ENOENT) {
                err_free(e);
                *ret = NULL;
                return 0;
        }
        if (r < 0) {
                *errp = e;
                return r;
        }
        const char *id = json_get_str(res, "Id", NULL);
        if (!id)
                return err_setx(errp, EPROTO, "image '%s': the daemon's answer has no Id", name);
        *ret = xstrdup(id);
        return 0;
}

static bool json_truthy(const json_t *v) {
        if (json_is_string(v))
                return streq(json_string_value(v), "true") || streq(json_string_value(v), "1");
        return json_is_true(v);
}

/* Build arguments: the section's args (a value-less arg comes from the environment, as in
 * compose), then the command line's --build-arg. */
static json_t *build_args(const json_t *args, const json_t *over) {
        json_t *o = json_object(), *v;
        const char *k;

        json_object_foreach ((json_t *)args, k, v) {
                if (json_is_string(v))
                        json_object_set_new(o, k, json_string(json_string_value(v)));
                else if (json_is_null(v) && getenv(k))
                        json_object_set_new(o, k, json_string(getenv(k)));
                else if (json_is_number(v)) {
                        _cleanup_free_ char *s = json_dumps(v, JSON_ENCODE_ANY);
                        json_object_set_new(o, k, json_string(s));
                }
        }
        json_object_foreach ((json_t *)over, k, v)
                json_object_set(o, k, v);
        return o;
}

/* Checks a build section and fills req (pointers into b and into the ret_* strings it makes). */
static int build_request(const char *svc, const json_t *b, const char *image,
                         const struct stack_build_opts *o, struct cli_build_req *req,
                         char **ret_dockerfile, char ***ret_tags, json_t **ret_args,
                         char ***ret_cache_from, struct err **errp) {
        static const char *const refused[] = {
                "shm_size",  "extra_hosts", "platforms", "ssh", "secrets", "additional_contexts",
                "isolation", "privileged",  "ulimits",   NULL};
        const char *ctxdir = json_get_str(b, "context", NULL);
        const char *df = json_get_str(b, "dockerfile", NULL);
        const char *net = json_get_str(b, "network", NULL);
        const json_t *inl = json_object_get(b, "dockerfile_inline");
        const json_t *tags = json_object_get(b, "tags");
        const json_t *cf = json_object_get(b, "cache_from");
        _cleanup_strv_ char **t = NULL, **cfl = NULL;
        struct stat st;
        const json_t *v;
        size_t i;

        for (const char *const *k = refused; *k; k++)
                if (json_object_get(b, *k) && !json_is_null(json_object_get(b, *k)))
                        return err_setx(
                                errp, ENOTSUP,
                                "service '%s': build.%s is not supported by berth's builder", svc,
                                *k);
        if (!ctxdir || strstr(ctxdir, "://") || ctxdir[0] != '/')
                return err_setx(errp, ENOTSUP,
                                "service '%s': build.context '%s' is not a local directory (berth "
                                "builds from directories only)",
                                svc, ctxdir ? ctxdir : "");
        if (stat(ctxdir, &st) < 0 || !S_ISDIR(st.st_mode))
                return err_setx(errp, ENOENT, "service '%s': build.context '%s' is not a directory",
                                svc, ctxdir);
        if (net && !streq(net, "default") && !streq(net, "host") && !streq(net, "none"))
                return err_setx(errp, EINVAL,
                                "service '%s': build.network '%s': expected default, host or none",
                                svc, net);
        if (inl && !json_is_null(inl) && !json_is_string(inl))
                return err_setx(errp, EINVAL,
                                "service '%s': build.dockerfile_inline must be a string", svc);
        if (tags && !json_is_null(tags) && !json_is_array(tags))
                return err_setx(errp, EINVAL, "service '%s': build.tags must be a list", svc);
        /* cache_from: image references, or buildx's "type=registry,ref=IMAGE" form. */
        if (cf && !json_is_null(cf) && !json_is_array(cf))
                return err_setx(errp, EINVAL, "service '%s': build.cache_from must be a list", svc);
        json_array_foreach (cf, i, v) {
                const char *s = json_string_value(v), *ref;
                if (!s || !*s)
                        return err_setx(errp, EINVAL,
                                        "service '%s': build.cache_from[%zu] must be a string", svc,
                                        i);
                if (str_startswith(s, "type=")) {
                        ref = strstr(s, ",ref=");
                        if (!str_startswith(s, "type=registry,") || !ref || !ref[5])
                                return err_setx(errp, ENOTSUP,
                                                "service '%s': build.cache_from[%zu] '%s': only "
                                                "images (or type=registry,ref=IMAGE) can be used",
                                                svc, i, s);
                        _cleanup_free_ char *r = xstrdup(ref + 5);
                        r[strcspn(r, ",")] = 0;
                        strv_push(&cfl, r);
                } else
                        strv_push(&cfl, s);
        }
        /* compose: the Dockerfile is relative to the context; an absolute one must lie inside. */
        if (df && df[0] == '/') {
                size_t n = strlen(ctxdir);
                if (strncmp(df, ctxdir, n) != 0 || df[n] != '/')
                        return err_setx(errp, EINVAL,
                                        "service '%s': build.dockerfile '%s' is outside the build "
                                        "context '%s'",
                                        svc, df, ctxdir);
                df += n + 1;
        }
        strv_push(&t, image);
        json_array_foreach (tags, i, v) {
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL,
                                        "service '%s': build.tags[%zu] must be a string", svc, i);
                if (!strv_contains(t, json_string_value(v)))
                        strv_push(&t, json_string_value(v));
        }
        *ret_dockerfile = df ? xstrdup(df) : NULL;
        *ret_args = build_args(json_object_get(b, "args"), o->buildargs);
        *ret_tags = TAKE_PTR(t);
        *ret_cache_from = TAKE_PTR(cfl);
        *req = (struct cli_build_req){
                .context = ctxdir,
                .dockerfile = *ret_dockerfile,
                .dockerfile_inline = json_is_string(inl) ? json_string_value(inl) : NULL,
                .tags = *ret_tags,
                .cache_from = *ret_cache_from,
                .buildargs = *ret_args,
                .labels = json_object_get(b, "labels"),
                .target = json_get_str(b, "target", NULL),
                .network = net,
                .nocache = o->nocache || json_truthy(json_object_get(b, "no_cache")),
                .pull = o->pull || json_truthy(json_object_get(b, "pull")),
                .quiet = o->quiet,
        };
        return 0;
}

static int build_one(const struct cli_ctx *ctx, const char *svc, const json_t *b, const char *image,
                     const struct stack_build_opts *o, char **ret_id, struct err **errp) {
        _cleanup_free_ char *df = NULL, *prefix = xasprintf("%s | ", svc);
        _cleanup_strv_ char **tags = NULL, **cache_from = NULL;
        _cleanup_json_ json_t *args = NULL;
        struct cli_build_req req;
        int r;

        r = build_request(svc, b, image, o, &req, &df, &tags, &args, &cache_from, errp);
        if (r < 0)
                return r;
        req.prefix = prefix;
        if (!o->quiet)
                printf("Building service '%s' (image '%s')\n", svc, image);
        fflush(stdout);
        r = cli_build_send(ctx, &req, ret_id, errp);
        if (r < 0)
                return err_wrap(errp, "build service '%s'", svc);
        if (o->quiet)
                printf("%s\n", *ret_id);
        else
                printf("Built service '%s': %s\n", svc, *ret_id);
        return 0;
}

/* The containers of a pod that have a build section. */
static void with_build(json_t *pod, json_t ***list, size_t *n) {
        static const char *const keys[] = {"init_containers", "containers"};
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                json_t *c;
                size_t i;
                json_array_foreach (json_object_get(pod, keys[k]), i, c)
                        if (json_is_object(json_object_get(c, "build"))) {
                                *list = xrealloc(*list, (*n + 1) * sizeof(**list));
                                (*list)[(*n)++] = c;
                        }
        }
}

int stack_build_images(const struct cli_ctx *ctx, json_t *model, const struct stack_build_opts *o,
                       struct err **errp) {
        json_t *services = json_object_get(model, "services"), *svc;
        _cleanup_strv_ char **names = NULL, **built_images = NULL, **built_ids = NULL;
        const char *name;
        int r;

        json_object_foreach (services, name, svc)
                strv_push(&names, name);
        if (!names)
                return 0;
        qsort_safe(names, strv_length(names), sizeof(char *), strv_cmp);
        STRV_FOREACH (sn, names) {
                _cleanup_free_ json_t **ctrs = NULL;
                json_t *pod;
                size_t n = 0;
                bool in_scope = !o->services || strv_contains(o->services, *sn), changed = false;

                svc = json_object_get(services, *sn);
                pod = json_object_get(svc, "pod");
                with_build(pod, &ctrs, &n);
                for (size_t i = 0; i < n; i++) {
                        const char *image = json_get_str(ctrs[i], "image", NULL);
                        const char *policy = json_get_str(ctrs[i], "pull_policy", "missing");
                        _cleanup_free_ char *id = NULL;
                        bool build;
                        ssize_t done = -1;

                        if (!image)
                                return err_setx(errp, EINVAL, "service '%s': no image name", *sn);
                        for (size_t k = 0; built_images && built_images[k]; k++)
                                if (streq(built_images[k], image))
                                        done = (ssize_t)k;
                        if (done >= 0) /* several services share the image: built once */
                                id = xstrdup(built_ids[done]);
                        else {
                                r = image_id(ctx, image, &id, errp);
                                if (r < 0)
                                        return r;
                        }
                        switch (o->mode) {
                        case STACK_BUILD_ALWAYS:
                                build = in_scope && done < 0;
                                break;
                        case STACK_BUILD_MISSING:
                                build = in_scope && done < 0 && (!id || streq(policy, "build"));
                                break;
                        case STACK_BUILD_NEVER:
                                if (!id && in_scope)
                                        return err_setx(errp, ENOENT,
                                                        "service '%s': image '%s' is missing and "
                                                        "--no-build was given",
                                                        *sn, image);
                                build = false;
                                break;
                        default:
                                build = false;
                        }
                        if (build) {
                                free(id);
                                id = NULL;
                                r = build_one(ctx, *sn, json_object_get(ctrs[i], "build"), image, o,
                                              &id, errp);
                                if (r < 0)
                                        return r;
                                strv_push(&built_images, image);
                                strv_push(&built_ids, id);
                        }
                        if (!id)
                                continue;
                        json_t *labels = json_object_get(ctrs[i], "labels");
                        if (!json_is_object(labels)) {
                                labels = json_object();
                                json_object_set_new(ctrs[i], "labels", labels);
                        }
                        json_object_set_new(labels, IMAGE_ID_LABEL, json_string(id));
                        changed = true;
                }
                if (changed && json_is_string(json_object_get(svc, "hash"))) {
                        _cleanup_free_ char *h = stack_pod_hash(pod);
                        json_object_set_new(svc, "hash", json_string(h));
                }
        }
        return 0;
}

bool cli_build_is_compose(const char *file, int nargs, char *const *args) {
        struct stat st;

        if (!file || !(str_endswith(file, ".yaml") || str_endswith(file, ".yml") ||
                       str_endswith(file, ".json")))
                return false;
        for (int i = 0; i < nargs; i++)
                if (streq(args[i], "-") || (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)))
                        return false;
        return true;
}

static int load(char *const *files, const char *project, char *const *profiles, json_t **ret,
                struct err **errp) {
        _cleanup_json_ json_t *m = NULL;
        int r;

        if (files && strv_length((char **)files) == 1 && str_endswith(files[0], ".json")) {
                r = json_load_path(files[0], MODEL_FILE_MAX, &m, errp);
                if (r < 0)
                        return r;
                if (!json_is_object(m) || !json_is_object(json_object_get(m, "services")))
                        return err_setx(errp, EINVAL,
                                        "%s: not a canonical stack model (no 'services' object)",
                                        files[0]);
        } else {
                r = stack_load(&(struct stack_load_opts){.files = files,
                                                         .project_name = project,
                                                         .profiles = profiles},
                               &m, errp);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static bool has_build(const json_t *svc) {
        _cleanup_free_ json_t **ctrs = NULL;
        size_t n = 0;
        with_build(json_object_get(svc, "pod"), &ctrs, &n);
        return n > 0;
}

int cli_stack_build(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth stack build [OPTIONS] [SERVICE...]\n\n"
                "Build the images of a stack's services that have a build section (compose's\n"
                "'docker compose build'). Also: berth build -f COMPOSE_FILE [SERVICE...].\n\n"
                "Options:\n"
                "  -f, --file FILE          compose file (repeatable; default compose.yaml & co.)\n"
                "  -p, --project-name NAME  project name\n"
                "      --profile NAME       enable a profile (repeatable)\n"
                "      --build-arg K=V      set a build-time variable for every service\n"
                "      --no-cache           do not use the build cache\n"
                "      --pull               pull base images even when they are present\n"
                "  -q, --quiet              only print the image ids\n"
                "  -h, --help               this help\n";
        static const struct option opts[] = {{"file", required_argument, NULL, 'f'},
                                             {"project-name", required_argument, NULL, 'p'},
                                             {"profile", required_argument, NULL, 'P'},
                                             {"build-arg", required_argument, NULL, 'b'},
                                             {"no-cache", no_argument, NULL, 'n'},
                                             {"pull", no_argument, NULL, 'u'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_strv_ char **files = NULL, **profiles = NULL, **services = NULL;
        _cleanup_json_ json_t *model = NULL, *bargs = json_object();
        const char *project = NULL;
        struct stack_build_opts o = {.mode = STACK_BUILD_ALWAYS};
        struct err *e = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "f:p:qh", opts, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        strv_push(&files, optarg);
                        break;
                case 'p':
                        project = optarg;
                        break;
                case 'P':
                        strv_push(&profiles, optarg);
                        break;
                case 'b': {
                        const char *eq = strchr(optarg, '=');
                        if (!eq && getenv(optarg))
                                json_object_set_new(bargs, optarg, json_string(getenv(optarg)));
                        else if (!eq || eq == optarg) {
                                fprintf(stderr,
                                        "berth: invalid --build-arg '%s': expected KEY=VALUE\n",
                                        optarg);
                                return EXIT_USAGE;
                        } else {
                                _cleanup_free_ char *k = xstrndup(optarg, (size_t)(eq - optarg));
                                json_object_set_new(bargs, k, json_string(eq + 1));
                        }
                        break;
                }
                case 'n':
                        o.nocache = true;
                        break;
                case 'u':
                        o.pull = true;
                        break;
                case 'q':
                        o.quiet = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        }
        for (int i = optind; i < argc; i++)
                strv_push(&services, argv[i]);
        r = load(files, project, profiles, &model, &e);
        if (r < 0)
                return cli_report(e, EXIT_USAGE);
        json_t *svcs = json_object_get(model, "services");
        STRV_FOREACH (s, services) {
                json_t *svc = json_object_get(svcs, *s);
                if (!svc) {
                        fprintf(stderr, "berth: no such service '%s' in stack '%s'\n", *s,
                                json_get_str(model, "name", ""));
                        return EXIT_USAGE;
                }
                if (!has_build(svc))
                        fprintf(stderr, "berth: service '%s' has no build section, skipping\n", *s);
        }
        o.services = services;
        o.buildargs = bargs;
        r = stack_build_images(ctx, model, &o, &e);
        if (r < 0)
                return cli_report(e, client_exit_code(r));
        return 0;
}

const struct cli_cmd cli_stacks_build_cmds[] = {
        {"stack build", "build the images of a stack's services (compose build:)", cli_stack_build},
        {},
};
