/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>
#include <sys/resource.h>

#include <seccomp.h>

#include "runtime/caps.h"
#include "cleanup.h"
#include "json.h"
#include "strv.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "tap.h"

static int parse(const char *s, struct spec **ret, struct err **errp) {
        return spec_parse(s, strlen(s), "config.json", ret, errp);
}

#define MIN_SPEC_HEAD "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"},"

static void test_default_spec_roundtrip(void) {
        _cleanup_json_ json_t *j = spec_default_json(false);
        _cleanup_(spec_freep) struct spec *s = NULL;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(spec_from_json(j, "config.json", &s, &e));
        ASSERT_STREQ(s->process.args[0], "sh");
        ASSERT_STREQ(s->root_path, "rootfs");
        ASSERT_TRUE(s->root_readonly);
        ASSERT_TRUE(s->process.no_new_privileges);
        ASSERT_EQ(s->process.n_caps[SPEC_CAP_BOUNDING], 14);
        ASSERT_EQ(s->process.n_caps[SPEC_CAP_AMBIENT], 0);
        ASSERT_EQ(s->n_namespaces, 6);
        ASSERT_EQ(s->n_mounts, 7);
        ASSERT_STREQ(s->mounts[0].destination, "/proc");
        ASSERT_EQ(s->mounts[0].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
        ASSERT_STREQ(s->mounts[1].data, "mode=755,size=65536k");
        ASSERT_TRUE(strv_contains(s->masked_paths, "/proc/kcore"));
        ASSERT_TRUE(strv_contains(s->readonly_paths, "/proc/sys"));
        ASSERT_EQ(s->resources.n_devices, 1);
        ASSERT_FALSE(s->resources.devices[0].allow);
        ASSERT_EQ(s->process.n_rlimits, 1);
        ASSERT_EQ(s->process.rlimits[0].resource, RLIMIT_NOFILE);
        ASSERT_EQ(s->process.user.umask, -1);
}

static void test_rootless_default(void) {
        _cleanup_json_ json_t *j = spec_default_json(true);
        _cleanup_(spec_freep) struct spec *s = NULL;

        ASSERT_OK(spec_from_json(j, "config.json", &s, NULL));
        ASSERT_EQ(s->n_uid_mappings, 1);
        ASSERT_EQ(s->uid_mappings[0].host_id, 1000);
}

static void test_full_spec(void) {
        const char *doc = MIN_SPEC_HEAD
                "\"hostname\":\"h1\",\"process\":{\"args\":[\"/bin/true\"],\"env\":[\"A=1\"],"
                "\"cwd\":\"/tmp\",\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6],"
                "\"umask\":18},\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NET_RAW\"]},"
                "\"oomScoreAdj\":500,\"rlimits\":[{\"type\":\"RLIMIT_NPROC\",\"soft\":10,"
                "\"hard\":20}]},"
                "\"mounts\":[{\"destination\":\"/data\",\"source\":\"/srv\",\"options\":[\"rbind\","
                "\"ro\",\"rprivate\",\"tmpcopyup\"]}],"
                "\"linux\":{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"network\","
                "\"path\":\"/run/netns/x\"}],\"cgroupsPath\":\"/berth/c1\","
                "\"resources\":{\"memory\":{\"limit\":67108864,\"swap\":134217728},"
                "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\"},"
                "\"pids\":{\"limit\":64},\"blockIO\":{\"weight\":300,\"throttleReadBpsDevice\":"
                "[{\"major\":8,\"minor\":0,\"rate\":1048576}]},\"devices\":[{\"allow\":true,"
                "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}]},"
                "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"rootfsPropagation\":\"rslave\","
                "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":["
                "\"SCMP_ARCH_X86_64\"],\"syscalls\":[{\"names\":[\"keyctl\"],\"action\":"
                "\"SCMP_ACT_ERRNO\",\"errnoRet\":1},{\"names\":[\"personality\"],\"action\":"
                "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]}]}"
                "},\"annotations\":{\"a\":\"b\"}}";
        _cleanup_(spec_freep) struct spec *s = NULL;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(parse(doc, &s, &e));
        ASSERT_STREQ(s->hostname, "h1");
        ASSERT_EQ(s->process.user.uid, 1000);
        ASSERT_EQ(s->process.user.n_additional_gids, 2);
        ASSERT_EQ(s->process.user.umask, 18);
        ASSERT_EQ(s->process.n_caps[SPEC_CAP_BOUNDING], 2);
        ASSERT_EQ(s->process.caps[SPEC_CAP_BOUNDING][0], 5);
        ASSERT_TRUE(s->process.has_oom_score_adj);
        ASSERT_EQ(s->process.oom_score_adj, 500);
        ASSERT_TRUE(s->mounts[0].bind);
        ASSERT_TRUE(s->mounts[0].recursive);
        ASSERT_EQ(s->mounts[0].flags, MS_RDONLY);
        ASSERT_EQ(s->mounts[0].propagation, MS_PRIVATE | MS_REC);
        ASSERT_NULL(s->mounts[0].data);
        ASSERT_STREQ(s->namespaces[1].path, "/run/netns/x");
        ASSERT_EQ(s->resources.mem_limit, 67108864);
        ASSERT_EQ(s->resources.mem_swap, 134217728);
        ASSERT_EQ(s->resources.cpu_quota, 50000);
        ASSERT_STREQ(s->resources.cpus, "0-1");
        ASSERT_EQ(s->resources.pids_limit, 64);
        ASSERT_EQ(s->resources.blkio_weight, 300);
        ASSERT_EQ(s->resources.n_throttle[0], 1);
        ASSERT_EQ(s->resources.throttle[0][0].rate, 1048576);
        ASSERT_EQ(s->resources.devices[0].type, 'c');
        ASSERT_STREQ(s->resources.devices[0].access, "rw");
        ASSERT_STREQ(s->sysctls[0].key, "net.ipv4.ip_forward");
        ASSERT_EQ(s->rootfs_propagation, MS_SLAVE | MS_REC);
        ASSERT_NOT_NULL(s->seccomp);
        ASSERT_EQ(s->seccomp->n_rules, 2);
        ASSERT_EQ(s->seccomp->rules[0].action, SCMP_ACT_ERRNO(1));
        ASSERT_EQ(s->seccomp->rules[1].action, SCMP_ACT_ERRNO(EPERM));
        ASSERT_EQ(s->seccomp->rules[1].n_args, 1);
        ASSERT_STREQ(json_get_str(s->annotations, "a", NULL), "b");
}

struct bad_case {
        const char *doc, *msg;
};

static void test_bad_specs(void) {
        static const struct bad_case cases[] = {
                {"[]", "config.json: (top): must be a JSON object"},
                {"{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]}}",
                 "config.json: ociVersion: is required"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[]}}",
                 "config.json: process.args: must be a non-empty array"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":\"sh\"}}",
                 "config.json: process.args: must be an array of strings"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"tmp\"}}",
                 "config.json: process.cwd: must be an absolute path"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"],\"env\":[\"NOEQ\"]}}",
                 "config.json: process.env: 'NOEQ' is not NAME=VALUE"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"],\"capabilities\":{\"bounding\":"
                               "[\"CAP_BOGUS\"]}}}",
                 "config.json: process.capabilities.bounding: unknown capability 'CAP_BOGUS'"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_X\","
                               "\"soft\":1,\"hard\":1}]}}",
                 "config.json: process.rlimits[0]: unknown rlimit type 'RLIMIT_X'"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"mounts\":[{\"destination\":"
                               "\"rel\",\"type\":\"tmpfs\"}]}",
                 "config.json: mounts[0]: destination must be an absolute path"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"namespaces\":[{"
                               "\"type\":\"bogus\"}]}}",
                 "config.json: linux.namespaces[0]: unknown namespace type 'bogus'"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"resources\":{"
                               "\"memory\":{\"limit\":1000}}}}",
                 "config.json: linux.resources.memory.limit: must be at least 6 MiB"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"seccomp\":{"
                               "\"defaultAction\":\"SCMP_ACT_NOPE\"}}}",
                 "config.json: linux.seccomp.defaultAction: unknown action 'SCMP_ACT_NOPE'"},
                {MIN_SPEC_HEAD "\"hostname\":\"x\",\"process\":{\"args\":[\"sh\"]}}",
                 "config.json: hostname: setting a hostname needs a uts namespace"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"cgroupsPath\":"
                               "\"a/../../b\"}}",
                 "config.json: linux.cgroupsPath: must not contain '..'"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"hooks\":{\"prestart\":[{"
                               "\"path\":\"rel\"}]}}",
                 "config.json: hooks.prestart[0]: path must be absolute"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"hooks\":{\"later\":[]}}",
                 "config.json: hooks: unknown hook kind 'later'"},
                {MIN_SPEC_HEAD "\"process\":{\"args\":[\"sh\"]},\"hooks\":{\"prestart\":[{"
                               "\"path\":\"/x\",\"timeout\":0}]}}",
                 "config.json: hooks.prestart[0]: 0 out of range"},
                {"{\"ociVersion\":\"2.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"]}"
                 "}",
                 "config.json: ociVersion: unsupported version '2.0' (want 1.x)"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(spec_freep) struct spec *s = NULL;
                _cleanup_err_ struct err *e = NULL;

                ASSERT_ERR(parse(cases[i].doc, &s, &e), EINVAL);
                ASSERT_NULL(s);
                ASSERT_STREQ(err_msg(e), cases[i].msg);
        }
}

static void test_hooks(void) {
        const char *doc = MIN_SPEC_HEAD
                "\"process\":{\"args\":[\"sh\"]},\"hooks\":{\"createRuntime\":[{\"path\":"
                "\"/bin/x\",\"args\":[\"x\",\"1\"],\"env\":[\"A=1\"],\"timeout\":5}],"
                "\"poststop\":[{\"path\":\"/a\"},{\"path\":\"/b\"}]}}";
        _cleanup_(spec_freep) struct spec *s = NULL;
        _cleanup_err_ struct err *e = NULL;

        ASSERT_OK(parse(doc, &s, &e));
        ASSERT_EQ(s->n_hooks[SPEC_HOOK_CREATE_RUNTIME], 1);
        ASSERT_STREQ(s->hooks[SPEC_HOOK_CREATE_RUNTIME][0].path, "/bin/x");
        ASSERT_STREQ(s->hooks[SPEC_HOOK_CREATE_RUNTIME][0].args[1], "1");
        ASSERT_STREQ(s->hooks[SPEC_HOOK_CREATE_RUNTIME][0].env[0], "A=1");
        ASSERT_EQ(s->hooks[SPEC_HOOK_CREATE_RUNTIME][0].timeout, 5);
        ASSERT_EQ(s->n_hooks[SPEC_HOOK_POSTSTOP], 2);
        ASSERT_EQ(s->n_hooks[SPEC_HOOK_PRESTART], 0);
        ASSERT_STREQ(spec_hook_name(SPEC_HOOK_START_CONTAINER), "startContainer");
}

static void test_caps_table(void) {
        ASSERT_EQ(caps_from_name("CAP_CHOWN"), 0);
        ASSERT_EQ(caps_from_name("cap_sys_admin"), 21);
        ASSERT_EQ(caps_from_name("CAP_CHECKPOINT_RESTORE"), 40);
        ASSERT_EQ(caps_from_name("CAP_NOPE"), -EINVAL);
        ASSERT_STREQ(caps_to_name(13), "CAP_NET_RAW");
        ASSERT_NULL(caps_to_name(99));
        for (int i = 0; i <= caps_last_known(); i++)
                ASSERT_EQ(caps_from_name(caps_to_name(i)), i);
        ASSERT_EQ(caps_docker_default_len, 14);
        ASSERT_EQ(caps_mask(caps_docker_default, caps_docker_default_len), 0xa80425fbULL);
}

static void test_seccomp_default_compiles(void) {
        struct spec_seccomp *sc = NULL;
        struct sc_prog p = {};

        ASSERT_OK(sc_default_profile(caps_mask(caps_docker_default, caps_docker_default_len), &sc,
                                     NULL));
        ASSERT_TRUE(sc->n_rules > 40);
        ASSERT_OK(sc_compile(sc, &p, NULL));
        ASSERT_TRUE(p.len > 40);
        sc_prog_done(&p);
        spec_seccomp_free(sc);
}

static void test_docker_profile(void) {
        const char *doc = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                          "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
                          "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}],"
                          "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":"
                          "\"SCMP_ACT_ALLOW\"},{\"names\":[\"mount\"],\"action\":"
                          "\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                          "{\"names\":[\"chown\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{"
                          "\"caps\":[\"CAP_CHOWN\"]}}]}";
        _cleanup_json_ json_t *j = NULL;
        struct spec_seccomp *sc = NULL;
        int caps[] = {0};

        ASSERT_OK(json_parse(doc, strlen(doc), "p.json", &j, NULL));
        ASSERT_OK(spec_seccomp_from_json(j, "p.json", caps, 1, &sc, NULL));
        ASSERT_EQ(sc->default_action, SCMP_ACT_ERRNO(1));
        ASSERT_EQ(strv_length(sc->architectures), 3);
        /* mount needs CAP_SYS_ADMIN, chown is excluded because CAP_CHOWN is held. */
        ASSERT_EQ(sc->n_rules, 1);
        ASSERT_EQ(strv_length(sc->rules[0].names), 2);
        sc = spec_seccomp_free(sc);
        ASSERT_OK(spec_seccomp_from_json(j, "p.json", (int[]){21}, 1, &sc, NULL));
        ASSERT_EQ(sc->n_rules, 3);
        spec_seccomp_free(sc);
}

/* --security-opt seccomp=FILE: docker's format from a file, compiled to BPF. */
static void test_docker_profile_file(void) {
        char path[] = "/tmp/berth-test-profile.XXXXXX";
        const char *doc = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":["
                          "\"read\",\"write\",\"exit_group\",\"no_such_syscall\"],\"action\":"
                          "\"SCMP_ACT_ALLOW\"},{\"names\":[\"ptrace\"],\"action\":"
                          "\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"4.8\"}}]}";
        struct spec_seccomp *sc = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct sc_prog p = {};
        int fd = mkstemp(path);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
        close(fd);
        ASSERT_OK(sc_load_docker_profile(path, 0, &sc, &e));
        unlink(path);
        ASSERT_EQ(sc->default_action, SCMP_ACT_ERRNO(EPERM));
        ASSERT_EQ(sc->n_rules, 2);
        /* Unknown syscall names are skipped at compile time, as runc does. */
        ASSERT_OK(sc_compile(sc, &p, &e));
        ASSERT_TRUE(p.len > 4);
        sc_prog_done(&p);
        spec_seccomp_free(sc);
        ASSERT_ERR(sc_load_docker_profile("/nonexistent/profile.json", 0, &sc, &e), ENOENT);
}

TAP_MAIN(test_default_spec_roundtrip, test_rootless_default, test_full_spec, test_bad_specs,
         test_hooks, test_caps_table, test_seccomp_default_compiles, test_docker_profile,
         test_docker_profile_file);
