/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"

/* An OCI runtime-spec 1.1 config.json, parsed and validated (limits below). Strings are owned. */

#define SPEC_MAX_BYTES (4u << 20)
#define SPEC_MAX_ARGS 4096
#define SPEC_MAX_ENV 4096
#define SPEC_MAX_MOUNTS 1024
#define SPEC_MAX_ITEMS 4096
#define SPEC_MAX_STR 4096

enum spec_ns {
        SPEC_NS_PID,
        SPEC_NS_NET,
        SPEC_NS_MOUNT,
        SPEC_NS_IPC,
        SPEC_NS_UTS,
        SPEC_NS_USER,
        SPEC_NS_CGROUP,
        SPEC_NS_TIME,
        _SPEC_NS_MAX,
        _SPEC_NS_INVALID = -EINVAL,
};

/* The spec's name ("pid", "network", ...), the /proc/PID/ns/ name and the CLONE_NEW* flag. */
const char *spec_ns_name(enum spec_ns ns);
const char *spec_ns_proc_name(enum spec_ns ns);
int spec_ns_clone_flag(enum spec_ns ns);
enum spec_ns spec_ns_from_name(const char *s);

enum spec_cap_set {
        SPEC_CAP_BOUNDING,
        SPEC_CAP_EFFECTIVE,
        SPEC_CAP_INHERITABLE,
        SPEC_CAP_PERMITTED,
        SPEC_CAP_AMBIENT,
        _SPEC_CAP_SET_MAX
};

struct spec_rlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
};

struct spec_user {
        uid_t uid;
        gid_t gid;
        gid_t *additional_gids;
        size_t n_additional_gids;
        int umask; /* -1 when unset */
};

struct spec_process {
        bool terminal;
        /* process.consoleSize (0: unset): the pty's size before the process runs */
        unsigned short console_height, console_width;
        char **args;
        char **env;
        char *cwd;
        struct spec_user user;
        /* Capability numbers per set; has_caps is false when "capabilities" is absent. */
        bool has_caps;
        int *caps[_SPEC_CAP_SET_MAX];
        size_t n_caps[_SPEC_CAP_SET_MAX];
        struct spec_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile; /* accepted, not enforced */
};

struct spec_mount {
        char *destination;
        char *type;
        char *source;
        char **options; /* as given */
        /* Derived from options: */
        unsigned long flags;       /* MS_* to set */
        unsigned long clear;       /* MS_* cleared by "rw", "suid", ... */
        unsigned long propagation; /* MS_PRIVATE, MS_SLAVE, ... (0: none) */
        bool bind, recursive;
        char *data; /* comma-joined filesystem options */
};

struct spec_namespace {
        enum spec_ns type;
        char *path; /* NULL: create a new one */
};

struct spec_idmap {
        uint32_t container_id, host_id, size;
};

struct spec_device {
        char type; /* c, b, u, p */
        char *path;
        int64_t major, minor;
        mode_t file_mode;
        bool has_file_mode;
        uid_t uid;
        gid_t gid;
};

struct spec_dev_rule {
        bool allow;
        char type;            /* 'a', 'c', 'b' */
        int64_t major, minor; /* -1: wildcard */
        char access[4];       /* subset of "rwm" */
};

struct spec_throttle {
        int64_t major, minor;
        uint64_t rate;
};

/* Resource limits; a negative or zero value means "not set" unless noted. */
struct spec_resources {
        int64_t mem_limit, mem_reservation, mem_swap; /* bytes, -1: unlimited/unset */
        bool has_mem_limit, has_mem_reservation, has_mem_swap;
        bool disable_oom_killer;
        uint64_t cpu_shares;
        int64_t cpu_quota; /* 0: unset */
        uint64_t cpu_period;
        char *cpus, *mems;
        int64_t pids_limit; /* 0: unset, -1: max */
        uint16_t blkio_weight;
        struct spec_throttle *throttle[4]; /* read bps, write bps, read iops, write iops */
        size_t n_throttle[4];
        struct spec_dev_rule *devices;
        size_t n_devices;
};

struct spec_sc_arg {
        unsigned index;
        uint64_t value, value_two;
        int op; /* enum scmp_compare */
};

struct spec_sc_rule {
        char **names;
        uint32_t action; /* SCMP_ACT_* */
        struct spec_sc_arg *args;
        size_t n_args;
};

struct spec_seccomp {
        uint32_t default_action;
        char **architectures; /* "SCMP_ARCH_X86_64", ... */
        struct spec_sc_rule *rules;
        size_t n_rules;
};

enum spec_hook_kind {
        SPEC_HOOK_PRESTART,
        SPEC_HOOK_CREATE_RUNTIME,
        SPEC_HOOK_CREATE_CONTAINER,
        SPEC_HOOK_START_CONTAINER,
        SPEC_HOOK_POSTSTART,
        SPEC_HOOK_POSTSTOP,
        _SPEC_HOOK_MAX,
};
const char *spec_hook_name(enum spec_hook_kind k);

struct spec_hook {
        char *path;
        char **args; /* NULL: just path */
        char **env;
        int timeout; /* seconds, 0: none */
};

struct spec_sysctl {
        char *key, *value;
};

struct spec {
        char *oci_version;
        char *root_path; /* as given (relative to the bundle or absolute) */
        bool root_readonly;
        char *hostname, *domainname;
        struct spec_process process;
        struct spec_mount *mounts;
        size_t n_mounts;
        struct spec_namespace *namespaces;
        size_t n_namespaces;
        struct spec_idmap *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct spec_device *devices;
        size_t n_devices;
        char *cgroups_path;
        bool has_resources;
        struct spec_resources resources;
        struct spec_sysctl *sysctls;
        size_t n_sysctls;
        struct spec_seccomp *seccomp; /* NULL: no seccomp in the spec */
        char **masked_paths, **readonly_paths;
        unsigned long rootfs_propagation; /* MS_* or 0 */
        json_t *annotations;              /* object, owned; never NULL after parse */
        struct spec_hook *hooks[_SPEC_HOOK_MAX];
        size_t n_hooks[_SPEC_HOOK_MAX];
};

struct spec *spec_free(struct spec *s);
void spec_freep(struct spec **s);

/* Parses a config.json document. `what` names the source in errors ("config.json"). Errors read
 * "config.json: process.args: must be a non-empty array". */
int spec_parse(const char *buf, size_t len, const char *what, struct spec **ret, struct err **errp);
int spec_load(const char *path, struct spec **ret, struct err **errp);
/* Parses an already loaded JSON document. */
int spec_from_json(const json_t *j, const char *what, struct spec **ret, struct err **errp);

/* Parses a process object (also used by `oci exec --process`). */
int spec_process_from_json(const json_t *j, const char *what, struct spec_process *ret,
                           struct err **errp);
void spec_process_done(struct spec_process *p);

/* Parses a seccomp object of the OCI form; also accepts docker's profile format (defaultAction,
 * architectures or archMap, syscalls with names/name, action, args, errnoRet, includes/excludes
 * on caps and arches). caps are the capabilities the container will have (for includes.caps). */
int spec_seccomp_from_json(const json_t *j, const char *what, const int *caps, size_t n_caps,
                           struct spec_seccomp **ret, struct err **errp);
struct spec_seccomp *spec_seccomp_free(struct spec_seccomp *s);
void spec_seccomp_freep(struct spec_seccomp **s);

/* The default config.json (like `runc spec`), with docker's default capabilities, masked and
 * readonly paths, and the given args. rootless adds a user namespace mapping. */
json_t *spec_default_json(bool rootless);

/* Parses a mount options array into m->flags/clear/propagation/data. */
int spec_mount_parse_options(struct spec_mount *m, struct err **errp);
/* Names of RLIMIT_* ("RLIMIT_NOFILE") to the number, -1 if unknown. */
int spec_rlimit_from_name(const char *s);
/* The OCI name of an RLIMIT_* number ("RLIMIT_?" when unknown). */
const char *spec_rlimit_name(int res);
