/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE). We build it
 * by hand from the rule list: rules are checked last-to-first and the first match decides, which
 * is how a v1 allow/deny list written in order behaves. No match denies. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "runtime/cgroup.h"
#include "xalloc.h"

#define INSN(c, d, s, o, i)                                                                        \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_K(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV64_X(dst, src) INSN(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm, off) INSN(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int access_mask(const char *a) {
        int m = 0;
        if (strchr(a, 'm'))
                m |= BPF_DEVCG_ACC_MKNOD;
        if (strchr(a, 'r'))
                m |= BPF_DEVCG_ACC_READ;
        if (strchr(a, 'w'))
                m |= BPF_DEVCG_ACC_WRITE;
        return m;
}

static size_t emit_rule(struct bpf_insn *out, const struct spec_dev_rule *d) {
        const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
        int acc = access_mask(d->access);
        bool has_type = d->type != 'a', has_acc = acc != all;
        bool has_maj = d->type != 'a' && d->major >= 0, has_min = d->type != 'a' && d->minor >= 0;
        size_t len = has_type + 2 * has_acc + has_maj + has_min + 2, p = 0;

        /* Each failed check jumps over the rest of this rule's block. */
        if (has_type) {
                out[p] = JNE_K(2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
                               (short)(len - p - 1));
                p++;
        }
        if (has_acc) {
                out[p++] = MOV64_X(6, 3);
                out[p++] = ALU32_K(BPF_AND, 6, ~acc & all);
                out[p] = JNE_K(6, 0, (short)(len - p - 1));
                p++;
        }
        if (has_maj) {
                out[p] = JNE_K(4, (int)d->major, (short)(len - p - 1));
                p++;
        }
        if (has_min) {
                out[p] = JNE_K(5, (int)d->minor, (short)(len - p - 1));
                p++;
        }
        out[p++] = MOV64_K(0, d->allow ? 1 : 0);
        out[p++] = EXIT();
        return p;
}

int cg_devices_bpf_build(const struct spec_dev_rule *rules, size_t n_rules, void **ret,
                         size_t *ret_n) {
        size_t total = n_rules + cg_default_dev_rules_len, n = 0;
        struct bpf_insn *p = xnew0(struct bpf_insn, 6 + total * 7 + 2);

        p[n++] = LDX_W(2, 1, 0);
        p[n++] = ALU32_K(BPF_AND, 2, 0xffff); /* r2 = device type */
        p[n++] = LDX_W(3, 1, 0);
        p[n++] = ALU32_K(BPF_RSH, 3, 16); /* r3 = requested access */
        p[n++] = LDX_W(4, 1, 4);          /* r4 = major */
        p[n++] = LDX_W(5, 1, 8);          /* r5 = minor */
        /* Defaults were appended last, so they are checked first: they cannot be denied. */
        for (size_t i = cg_default_dev_rules_len; i > 0; i--)
                n += emit_rule(p + n, &cg_default_dev_rules[i - 1]);
        for (size_t i = n_rules; i > 0; i--) {
                n += emit_rule(p + n, &rules[i - 1]);
                /* A rule that matches everything ends the program: the verifier rejects
                 * unreachable instructions after it. */
                if (rules[i - 1].type == 'a' && access_mask(rules[i - 1].access) == 7) {
                        *ret = p;
                        *ret_n = n;
                        return 0;
                }
        }
        p[n++] = MOV64_K(0, 0);
        p[n++] = EXIT();
        *ret = p;
        *ret_n = n;
        return 0;
}

int cg_v2_devices_attach(const char *dir, const struct spec_dev_rule *rules, size_t n_rules,
                         struct err **errp) {
        _cleanup_free_ void *insns = NULL;
        _cleanup_close_ int cgfd = -EBADF, progfd = -EBADF;
        union bpf_attr attr;
        char log[4096] = "";
        size_t n;

        cg_devices_bpf_build(rules, n_rules, &insns, &n);
        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)insns;
        attr.insn_cnt = (uint32_t)n;
        attr.license = (uint64_t)(uintptr_t) "GPL";
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = sizeof(log);
        attr.log_level = 1;
        progfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
        if (progfd < 0)
                return err_set(errp, errno, "load device filter program (%.200s)", log);
        cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0)
                return err_set(errp, errno, "open cgroup '%s'", dir);
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgfd;
        attr.attach_bpf_fd = (uint32_t)progfd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
                return err_set(errp, errno, "attach device filter to '%s'", dir);
        return 0;
}
