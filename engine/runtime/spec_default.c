/* SPDX-License-Identifier: Apache-2.0 */
/* The default config.json written by `berth oci spec` (what `runc spec` writes, with docker's
 * defaults for capabilities, masked and read-only paths). */
#include "runtime/caps.h"
#include "runtime/spec.h"
#include "xalloc.h"

static const char *const default_masked[] = {
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        NULL,
};
static const char *const default_readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *strv_json(const char *const *l) {
        json_t *a = json_array();
        for (; *l; l++)
                json_array_append_new(a, json_string(*l));
        return a;
}

static json_t *caps_json(void) {
        json_t *a = json_array();
        for (size_t i = 0; i < caps_docker_default_len; i++)
                json_array_append_new(a, json_string(caps_to_name(caps_docker_default[i])));
        return a;
}

static json_t *mount_json(const char *dst, const char *type, const char *src,
                          const char *const *opts) {
        return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src,
                         "options", strv_json(opts));
}

json_t *spec_default_json(bool rootless) {
        json_t *spec, *process, *caps, *mounts, *linux_, *ns;
        static const char *const o_proc[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const o_dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
                                            NULL};
        static const char *const o_pts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                            "mode=0620", "gid=5",  NULL};
        static const char *const o_pts_rl[] = {"nosuid",        "noexec",    "newinstance",
                                               "ptmxmode=0666", "mode=0620", NULL};
        static const char *const o_shm[] = {"nosuid",    "noexec",      "nodev",
                                            "mode=1777", "size=65536k", NULL};
        static const char *const o_mq[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const o_sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
        static const char *const o_sys_rl[] = {"rbind", "nosuid", "noexec", "nodev", "ro", NULL};
        static const char *const o_cg[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

        caps = json_object();
        json_object_set_new(caps, "bounding", caps_json());
        json_object_set_new(caps, "effective", caps_json());
        json_object_set_new(caps, "permitted", caps_json());
        json_object_set_new(caps, "ambient", json_array());

        process = json_pack(
                "{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:o, s:[{s:s, s:i, s:i}], s:b}",
                "terminal", 0, "user", "uid", 0, "gid", 0, "args", "sh", "env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
                "cwd", "/", "capabilities", caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024,
                "soft", 1024, "noNewPrivileges", 1);

        mounts = json_array();
        json_array_append_new(mounts, mount_json("/proc", "proc", "proc", o_proc));
        json_array_append_new(mounts, mount_json("/dev", "tmpfs", "tmpfs", o_dev));
        json_array_append_new(
                mounts, mount_json("/dev/pts", "devpts", "devpts", rootless ? o_pts_rl : o_pts));
        json_array_append_new(mounts, mount_json("/dev/shm", "tmpfs", "shm", o_shm));
        json_array_append_new(mounts, mount_json("/dev/mqueue", "mqueue", "mqueue", o_mq));
        if (rootless)
                json_array_append_new(mounts, mount_json("/sys", "none", "/sys", o_sys_rl));
        else
                json_array_append_new(mounts, mount_json("/sys", "sysfs", "sysfs", o_sys));
        json_array_append_new(mounts, mount_json("/sys/fs/cgroup", "cgroup", "cgroup", o_cg));

        ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "network",
                       "type", "ipc", "type", "uts", "type", "mount");
        if (rootless)
                json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
        else
                json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));

        linux_ = json_pack("{s:{s:[{s:b, s:s}]}, s:o, s:o, s:o}", "resources", "devices", "allow",
                           0, "access", "rwm", "namespaces", ns, "maskedPaths",
                           strv_json(default_masked), "readonlyPaths", strv_json(default_readonly));
        if (rootless) {
                json_object_set_new(linux_, "uidMappings",
                                    json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", 1000,
                                              "size", 1));
                json_object_set_new(linux_, "gidMappings",
                                    json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", 1000,
                                              "size", 1));
        }

        spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.1.0",
                         "process", process, "root", "path", "rootfs", "readonly", 1, "hostname",
                         "berth", "mounts", mounts, "linux", linux_);
        if (!spec)
                oom();
        return spec;
}
