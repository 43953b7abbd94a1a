/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp profiles: the OCI and docker JSON forms, berth's default, and compilation to BPF with
 * libseccomp. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

#include <seccomp.h>

#include "runtime/caps.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "runtime/seccomp.h"
#include "strv.h"
#include "xalloc.h"

const char *const sc_action_names[] = {
        "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          NULL,
};
const char *const sc_op_names[] = {
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};
static const int sc_op_values[] = {SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,       SCMP_CMP_EQ,
                                   SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ};
const char *const sc_arch_names[] = {
        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",  "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", NULL,
};
static const uint32_t sc_arch_values[] = {SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32,
                                          SCMP_ARCH_ARM, SCMP_ARCH_AARCH64};

static int action_from_name(const char *s, int64_t errno_ret, uint32_t *ret) {
        if (streq(s, "SCMP_ACT_KILL") || streq(s, "SCMP_ACT_KILL_THREAD"))
                *ret = SCMP_ACT_KILL_THREAD;
        else if (streq(s, "SCMP_ACT_KILL_PROCESS"))
                *ret = SCMP_ACT_KILL_PROCESS;
        else if (streq(s, "SCMP_ACT_TRAP"))
                *ret = SCMP_ACT_TRAP;
        else if (streq(s, "SCMP_ACT_ERRNO"))
                *ret = SCMP_ACT_ERRNO((uint16_t)(errno_ret >= 0 ? errno_ret : EPERM));
        else if (streq(s, "SCMP_ACT_TRACE"))
                *ret = SCMP_ACT_TRACE((uint16_t)(errno_ret >= 0 ? errno_ret : EPERM));
        else if (streq(s, "SCMP_ACT_ALLOW"))
                *ret = SCMP_ACT_ALLOW;
        else if (streq(s, "SCMP_ACT_LOG"))
                *ret = SCMP_ACT_LOG;
        else
                return -EINVAL;
        return 0;
}

/* The architecture names docker uses in includes.arches. */
static const char *native_docker_arch(void) {
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#else
        return "";
#endif
}

static bool kernel_at_least(const char *want) {
        struct utsname u;
        unsigned a = 0, b = 0, x = 0, y = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) < 1 ||
            sscanf(want, "%u.%u", &x, &y) < 1)
                return true;
        return a > x || (a == x && b >= y);
}

/* Docker's includes/excludes: a rule applies when every included cap is held, no excluded cap
 * is held, and the arch and kernel match. */
static bool rule_applies(const json_t *rule, uint64_t caps) {
        const json_t *inc = json_object_get(rule, "includes");
        const json_t *exc = json_object_get(rule, "excludes");
        json_t *e;
        size_t i;

        if (json_is_object(inc)) {
                json_array_foreach (json_object_get(inc, "caps"), i, e) {
                        int c = json_is_string(e) ? caps_from_name(json_string_value(e)) : -1;
                        if (c < 0 || !(caps & (1ULL << c)))
                                return false;
                }
                if (json_array_size(json_object_get(inc, "arches")) > 0) {
                        bool found = false;
                        json_array_foreach (json_object_get(inc, "arches"), i, e)
                                found = found ||
                                        streq_ptr(json_string_value(e), native_docker_arch());
                        if (!found)
                                return false;
                }
                if (json_get_str(inc, "minKernel", NULL) &&
                    !kernel_at_least(json_get_str(inc, "minKernel", NULL)))
                        return false;
        }
        if (json_is_object(exc)) {
                json_array_foreach (json_object_get(exc, "caps"), i, e) {
                        int c = json_is_string(e) ? caps_from_name(json_string_value(e)) : -1;
                        if (c >= 0 && (caps & (1ULL << c)))
                                return false;
                }
                json_array_foreach (json_object_get(exc, "arches"), i, e)
                        if (streq_ptr(json_string_value(e), native_docker_arch()))
                                return false;
        }
        return true;
}

static int parse_args(const json_t *a, const char *what, const char *field,
                      struct spec_sc_rule *rule, struct err **errp) {
        json_t *e;
        size_t i;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 6)
                return err_setx(errp, EINVAL, "%s: %s.args: must be an array of at most 6", what,
                                field);
        rule->args = xnew0(struct spec_sc_arg, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                const char *op = json_get_str(e, "op", "");
                json_int_t idx = json_get_int(e, "index", -1);
                size_t k;

                for (k = 0; sc_op_names[k]; k++)
                        if (streq(sc_op_names[k], op))
                                break;
                if (!sc_op_names[k])
                        return err_setx(errp, EINVAL, "%s: %s.args[%zu]: unknown op '%s'", what,
                                        field, i, op);
                if (idx < 0 || idx > 5)
                        return err_setx(errp, EINVAL, "%s: %s.args[%zu]: index must be 0..5", what,
                                        field, i);
                rule->args[rule->n_args++] = (struct spec_sc_arg){
                        .index = (unsigned)idx,
                        .value = (uint64_t)json_get_int(e, "value", 0),
                        .value_two = (uint64_t)json_get_int(e, "valueTwo", 0),
                        .op = sc_op_values[k],
                };
        }
        return 0;
}

int spec_seccomp_from_json(const json_t *j, const char *what, const int *caps, size_t n_caps,
                           struct spec_seccomp **ret, struct err **errp) {
        struct spec_seccomp *s = NULL;
        uint64_t capmask = caps ? caps_mask(caps, n_caps) : ~0ULL;
        const char *da;
        json_t *a, *e;
        size_t i;
        int r = -EINVAL;

        if (!json_is_object(j))
                return err_setx(errp, EINVAL, "%s: linux.seccomp: must be an object", what);
        s = xnew0(struct spec_seccomp, 1);
        da = json_get_str(j, "defaultAction", "");
        if (action_from_name(da, json_get_int(j, "defaultErrnoRet", -1), &s->default_action) < 0) {
                r = err_setx(errp, EINVAL, "%s: linux.seccomp.defaultAction: unknown action '%s'",
                             what, da);
                goto fail;
        }
        s->architectures = xnew0(char *, 1);
        json_array_foreach (json_object_get(j, "architectures"), i, e)
                if (json_is_string(e))
                        strv_push(&s->architectures, json_string_value(e));
        /* docker: archMap lists the native arch and its sub-architectures. */
        json_array_foreach (json_object_get(j, "archMap"), i, e) {
                json_t *sub;
                size_t k;
                if (!json_get_str(e, "architecture", NULL))
                        continue;
                strv_push(&s->architectures, json_get_str(e, "architecture", NULL));
                json_array_foreach (json_object_get(e, "subArchitectures"), k, sub)
                        if (json_is_string(sub))
                                strv_push(&s->architectures, json_string_value(sub));
        }
        STRV_FOREACH (arch, s->architectures) {
                bool ok = false;
                for (size_t k = 0; sc_arch_names[k]; k++)
                        ok = ok || streq(sc_arch_names[k], *arch);
                if (!ok && !str_startswith(*arch, "SCMP_ARCH_")) {
                        r = err_setx(errp, EINVAL, "%s: linux.seccomp.architectures: unknown '%s'",
                                     what, *arch);
                        goto fail;
                }
        }
        a = json_object_get(j, "syscalls");
        if (a && !json_is_null(a) && (!json_is_array(a) || json_array_size(a) > SPEC_MAX_ITEMS)) {
                r = err_setx(errp, EINVAL, "%s: linux.seccomp.syscalls: must be an array", what);
                goto fail;
        }
        s->rules = xnew0(struct spec_sc_rule, json_array_size(a) + 1);
        json_array_foreach (a, i, e) {
                struct spec_sc_rule *rule = &s->rules[s->n_rules];
                char field[64];
                const char *act = json_get_str(e, "action", "");
                json_t *names = json_object_get(e, "names"), *n;
                size_t k;

                snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu]", i);
                if (!json_is_object(e)) {
                        r = err_setx(errp, EINVAL, "%s: %s: must be an object", what, field);
                        goto fail;
                }
                if (!rule_applies(e, capmask))
                        continue;
                s->n_rules++;
                rule->names = xnew0(char *, 1);
                json_array_foreach (names, k, n)
                        if (json_is_string(n))
                                strv_push(&rule->names, json_string_value(n));
                if (json_get_str(e, "name", NULL)) /* docker's old single-name form */
                        strv_push(&rule->names, json_get_str(e, "name", NULL));
                if (!rule->names[0]) {
                        r = err_setx(errp, EINVAL, "%s: %s.names: must be a non-empty array", what,
                                     field);
                        goto fail;
                }
                if (action_from_name(act, json_get_int(e, "errnoRet", -1), &rule->action) < 0) {
                        r = err_setx(errp, EINVAL, "%s: %s.action: unknown action '%s'", what,
                                     field, act);
                        goto fail;
                }
                r = parse_args(json_object_get(e, "args"), what, field, rule, errp);
                if (r < 0)
                        goto fail;
        }
        *ret = s;
        return 0;
fail:
        spec_seccomp_free(s);
        return r;
}

int sc_load_docker_profile(const char *path, uint64_t caps, struct spec_seccomp **ret,
                           struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        int c[64];
        size_t n = 0;
        int r;

        r = json_load_path(path, SPEC_MAX_BYTES, &j, errp);
        if (r < 0)
                return r;
        for (int i = 0; i < 64; i++)
                if (caps & (1ULL << i))
                        c[n++] = i;
        return spec_seccomp_from_json(j, path, c, n, ret, errp);
}

/* Syscalls denied with EPERM unless the container holds CAP_SYS_ADMIN (docker grants these to
 * privileged-ish containers through includes.caps). */
static const char *const deny_unless_sys_admin[] = {
        "mount",           "umount",   "umount2",       "pivot_root",
        "unshare",         "setns",    "fsopen",        "fsconfig",
        "fsmount",         "fspick",   "move_mount",    "open_tree",
        "mount_setattr",   "quotactl", "quotactl_fd",   "lookup_dcookie",
        "perf_event_open", "bpf",      "fanotify_init", "name_to_handle_at",
        "syslog",          NULL,
};

/* Denied with EPERM regardless of capabilities (berth is stricter than docker on a few:
 * docs/security.md). */
static const char *const deny_always[] = {
        "keyctl",
        "add_key",
        "request_key",
        "open_by_handle_at",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "create_module",
        "query_module",
        "get_kernel_syms",
        "userfaultfd",
        "reboot",
        "swapon",
        "swapoff",
        "acct",
        "settimeofday",
        "clock_settime",
        "clock_adjtime",
        "adjtimex",
        "stime",
        "vm86",
        "vm86old",
        "uselib",
        "ustat",
        "sysfs",
        "_sysctl",
        "nfsservctl",
        "iopl",
        "ioperm",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "kcmp",
        "get_mempolicy",
        "set_mempolicy",
        "mbind",
        "move_pages",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "vhangup",
        "pciconfig_read",
        "pciconfig_write",
        "pciconfig_iobase",
        "set_mempolicy_home_node",
        NULL,
};

static void add_rule(struct spec_seccomp *s, const char *name, uint32_t action,
                     const struct spec_sc_arg *args, size_t n_args) {
        struct spec_sc_rule *r;

        s->rules = xreallocarray(s->rules, s->n_rules + 1, sizeof(*s->rules));
        r = &s->rules[s->n_rules++];
        *r = (struct spec_sc_rule){.action = action};
        r->names = xnew0(char *, 1);
        strv_push(&r->names, name);
        if (n_args > 0) {
                r->args = xmemdup(args, n_args * sizeof(*args));
                r->n_args = n_args;
        }
}

int sc_default_profile(uint64_t caps, struct spec_seccomp **ret, struct err **errp) {
        struct spec_seccomp *s = xnew0(struct spec_seccomp, 1);
        bool sys_admin = caps & (1ULL << 21);
        /* Namespace-creating flags of clone(2): denied without CAP_SYS_ADMIN, as in docker. */
        const uint64_t ns_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                  CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
        const struct spec_sc_arg clone_arg = {
                .index = 0, .value = ns_flags, .value_two = 0, .op = SCMP_CMP_MASKED_EQ};
        (void)errp;

        s->default_action = SCMP_ACT_ALLOW;
        s->architectures = xnew0(char *, 1);
        for (const char *const *n = deny_always; *n; n++)
                add_rule(s, *n, SCMP_ACT_ERRNO(EPERM), NULL, 0);
        if (!sys_admin) {
                struct spec_sc_arg a = clone_arg;
                for (const char *const *n = deny_unless_sys_admin; *n; n++)
                        add_rule(s, *n, SCMP_ACT_ERRNO(EPERM), NULL, 0);
                /* clone3 passes flags in memory that BPF cannot read: ENOSYS makes libc fall
                 * back to clone(2), whose flags are checked below (docker does the same). */
                add_rule(s, "clone3", SCMP_ACT_ERRNO(ENOSYS), NULL, 0);
                /* clone(flags & NS_FLAGS != 0) -> EPERM. libseccomp has no "masked != 0", so
                 * match masked_eq against each flag separately. */
                for (int bit = 0; bit < 64; bit++) {
                        if (!(ns_flags & (1ULL << bit)))
                                continue;
                        a.value = 1ULL << bit;
                        a.value_two = 1ULL << bit;
                        add_rule(s, "clone", SCMP_ACT_ERRNO(EPERM), &a, 1);
                }
        }
        *ret = s;
        return 0;
}

int sc_compile(const struct spec_seccomp *s, struct sc_prog *ret, struct err **errp) {
        scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        ctx = seccomp_init(s->default_action);
        if (!ctx)
                return err_setx(errp, EINVAL, "seccomp_init failed");
        /* Keep the filter small: no TSYNC, no logging of allowed calls. */
        STRV_FOREACH (arch, s->architectures) {
                uint32_t a = 0;
                for (size_t k = 0; sc_arch_names[k]; k++)
                        if (streq(sc_arch_names[k], *arch))
                                a = sc_arch_values[k];
                if (a == 0 || a == seccomp_arch_native())
                        continue;
                r = seccomp_arch_add(ctx, a);
                if (r < 0 && r != -EEXIST) {
                        err_set(errp, -r, "add seccomp architecture '%s'", *arch);
                        goto out;
                }
        }
        for (size_t i = 0; i < s->n_rules; i++) {
                const struct spec_sc_rule *rule = &s->rules[i];
                struct scmp_arg_cmp cmp[6];

                if (rule->action == s->default_action)
                        continue;
                for (size_t k = 0; k < rule->n_args; k++)
                        cmp[k] =
                                (struct scmp_arg_cmp){rule->args[k].index, rule->args[k].op,
                                                      rule->args[k].value, rule->args[k].value_two};
                STRV_FOREACH (name, rule->names) {
                        int nr = seccomp_syscall_resolve_name(*name);
                        if (nr == __NR_SCMP_ERROR)
                                continue;
                        r = seccomp_rule_add_array(ctx, rule->action, nr, (unsigned)rule->n_args,
                                                   cmp);
                        if (r == -EEXIST)
                                continue;
                        if (r < 0) {
                                err_set(errp, -r, "add seccomp rule for '%s'", *name);
                                goto out;
                        }
                }
        }
        fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
        if (fd < 0) {
                r = err_set(errp, errno, "memfd_create");
                goto out;
        }
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0) {
                err_set(errp, -r, "export seccomp filter");
                goto out;
        }
        len = (size_t)lseek(fd, 0, SEEK_END);
        if (len == 0 || len % sizeof(struct sock_filter) != 0 || len > 1u << 20) {
                r = err_setx(errp, EINVAL, "seccomp filter has a bad size %zu", len);
                goto out;
        }
        buf = xmalloc(len);
        if (pread(fd, buf, len, 0) != (ssize_t)len) {
                r = err_set(errp, EIO, "read seccomp filter");
                goto out;
        }
        ret->filter = TAKE_PTR(buf);
        ret->len = len / sizeof(struct sock_filter);
        r = 0;
out:
        seccomp_release(ctx);
        return r;
}

void sc_prog_done(struct sc_prog *p) {
        if (!p)
                return;
        free(p->filter);
        p->filter = NULL;
        p->len = 0;
}

/* Runs in the container's init as the last step before execve (or before the capability drop
 * when no_new_privs is off, because loading a filter then needs CAP_SYS_ADMIN). */
int sc_install(const struct sc_prog *p) {
        struct sock_fprog prog = {.len = (unsigned short)p->len, .filter = p->filter};

        if (!p->filter)
                return 0;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
