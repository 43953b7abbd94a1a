/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "runtime/spec.h"

/* A compiled seccomp BPF program, prepared in the parent so that the container's init only has to
 * call prctl() (no allocation after clone). */
struct sc_prog {
        void *filter; /* struct sock_filter[] */
        size_t len;   /* number of instructions */
};

/* berth's built-in default profile (docs/security.md): allow by default, deny with EPERM every
 * syscall docker's default profile denies (keyctl, mount, bpf, open_by_handle_at, ...), with the
 * same capability-conditional exceptions (CAP_SYS_ADMIN allows mount & co). caps is the
 * container's effective capability mask. */
int sc_default_profile(uint64_t caps, struct spec_seccomp **ret, struct err **errp);

/* Compiles a profile for the native architecture (plus the listed ones). Unknown syscall names
 * are skipped, like runc does (they cannot be called on this kernel anyway). */
int sc_compile(const struct spec_seccomp *s, struct sc_prog *ret, struct err **errp);
void sc_prog_done(struct sc_prog *p);

/* Installs a compiled program in the calling process. Async-signal-safe (prctl only). */
int sc_install(const struct sc_prog *p);

/* Loads docker's profile JSON format from a file (for --security-opt seccomp=FILE). */
int sc_load_docker_profile(const char *path, uint64_t caps, struct spec_seccomp **ret,
                           struct err **errp);

/* Names of actions/operators/arches accepted in profiles (for `oci features`). */
extern const char *const sc_action_names[];
extern const char *const sc_op_names[];
extern const char *const sc_arch_names[];
