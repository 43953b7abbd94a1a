/* SPDX-License-Identifier: Apache-2.0 */
/* System routes: ping, version, info. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/magic.h>

#include "api.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "netd.h"
#include "strv.h"
#include "version.h"
#include "xalloc.h"

static void h_ping(struct http_req *req, void *userdata) {
        (void)userdata;
        http_req_add_header(req, "Api-Version", BERTH_API_VERSION);
        http_reply(req, 200, "text/plain; charset=utf-8", "OK", 2);
}

static json_t *version_json(void) {
        struct utsname u;

        uname(&u);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Version", berth_version, "ApiVersion",
                         BERTH_API_VERSION, "GitCommit", berth_commit, "Os", "linux", "Arch",
                         u.machine, "KernelVersion", u.release);
}

static void h_version(struct http_req *req, void *userdata) {
        _cleanup_json_ json_t *j = version_json();

        (void)userdata;
        http_reply_json(req, 200, j);
}

/* "v2" (unified), "hybrid" (v1 controllers plus cgroup2 at unified/), "v1", or "none". */
static const char *cgroup_mode(void) {
        struct statfs fs;

        if (statfs("/sys/fs/cgroup", &fs) < 0)
                return "none";
        if (fs.f_type == CGROUP2_SUPER_MAGIC)
                return "v2";
        if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return "hybrid";
        return "v1";
}

/* True when a file system type is listed in /proc/filesystems. */
static bool have_fs(const char *type) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_ char **lines = NULL;

        if (read_file("/proc/filesystems", 64 * 1024, &buf, NULL, NULL) < 0)
                return false;
        lines = strv_split(buf, "\n");
        STRV_FOREACH (l, lines) {
                const char *name = strrchr(*l, '\t');
                if (streq(name ? name + 1 : *l, type))
                        return true;
        }
        return false;
}

static bool file_starts_with(const char *path, const char *prefix) {
        _cleanup_free_ char *buf = NULL;

        return read_file(path, 4096, &buf, NULL, NULL) >= 0 && str_startswith(buf, prefix);
}

static json_t *security_options(void) {
        json_t *a = json_array();
        _cleanup_free_ char *status = NULL;

        if (read_file("/proc/self/status", 64 * 1024, &status, NULL, NULL) >= 0 &&
            strstr(status, "\nSeccomp:"))
                json_array_append_new(a, json_string("name=seccomp,profile=builtin"));
        if (file_starts_with("/sys/module/apparmor/parameters/enabled", "Y"))
                json_array_append_new(a, json_string("name=apparmor"));
        if (access("/sys/fs/selinux/enforce", F_OK) == 0)
                json_array_append_new(a, json_string("name=selinux"));
        if (access("/proc/self/ns/user", F_OK) == 0 &&
            !file_starts_with("/proc/sys/user/max_user_namespaces", "0"))
                json_array_append_new(a, json_string("name=userns"));
        return a;
}

static char *os_name(void) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_ char **lines = NULL;

        if (read_file("/etc/os-release", 64 * 1024, &buf, NULL, NULL) < 0)
                return xstrdup("Linux");
        lines = strv_split(buf, "\n");
        STRV_FOREACH (l, lines)
                if (str_startswith(*l, "PRETTY_NAME=")) {
                        const char *v = *l + 12;
                        size_t n = strlen(v);

                        if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
                                return xstrndup(v + 1, n - 2);
                        return xstrdup(v);
                }
        return xstrdup("Linux");
}

static long long mem_total(void) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

        return pages > 0 && size > 0 ? (long long)pages * size : 0;
}

/* Image count: the references in images/index.json (an object of name -> digest, or an OCI
 * index with "manifests"); 0 while there is none. */
static unsigned count_images(const char *root) {
        _cleanup_free_ char *path = xasprintf("%s/images/index.json", root);
        _cleanup_json_ json_t *j = NULL;
        json_t *m;

        if (json_load_path(path, 64 * 1024 * 1024, &j, NULL) < 0)
                return 0;
        /* engine/image/store.h: {"version":1, "refs":{...}, "images":{id: record}} */
        m = json_object_get(j, "images");
        return json_is_object(m) ? (unsigned)json_object_size(m) : 0;
}

static void h_info(struct http_req *req, void *userdata) {
        struct daemon *d = userdata;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *os = os_name();
        struct utsname u;
        unsigned ctrs = api_count_entries(d->root, "containers", true);

        uname(&u);
        j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I}", "Name", u.nodename, "ServerVersion",
                      berth_version, "ApiVersion", BERTH_API_VERSION, "KernelVersion", u.release,
                      "OperatingSystem", os, "Architecture", u.machine, "NCPU",
                      (int)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal", (json_int_t)mem_total());
        json_object_set_new(j, "CgroupMode", json_string(cgroup_mode()));
        json_object_set_new(j, "CgroupDriver", json_string("cgroupfs"));
        json_object_set_new(j, "StorageDriver",
                            json_string(have_fs("overlay") ? "overlay" : "unsupported"));
        json_object_set_new(j, "SecurityOptions", security_options());
        json_object_set_new(j, "Containers", json_integer(ctrs));
        json_object_set_new(j, "Images", json_integer(count_images(d->root)));
        json_object_set_new(j, "Networks",
                            json_integer(api_count_entries(d->root, "networks", false)));
        json_object_set_new(j, "Volumes",
                            json_integer(api_count_entries(d->root, "volumes", true)));
        json_object_set_new(j, "RootDir", json_string(d->root));
        json_object_set_new(j, "RunDir", json_string(d->run));
        json_object_set_new(j, "Pid", json_integer(d->pid));
        json_object_set_new(j, "StartedAt",
                            json_integer((json_int_t)(d->started_usec / USEC_PER_SEC)));
        json_object_set_new(j, "Listen", d->listen ? json_string(d->listen) : json_null());
        json_object_set_new(j, "BerthNetwork", netd_info(d));
        http_reply_json(req, 200, j);
}

const struct http_route api_system_routes[] = {
        {"GET", "/v1/ping", h_ping},
        {"HEAD", "/v1/ping", h_ping},
        {"GET", "/v1/version", h_version},
        {"GET", "/v1/info", h_info},
        {},
};
