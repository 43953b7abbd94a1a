/* SPDX-License-Identifier: Apache-2.0 */
/* Requests of the controller's reverse channel (tunnel_req.h). */
#include <errno.h>
#include <string.h>

#include "tunnel_req.h"
#include "xalloc.h"

static bool starts(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int tunnel_req_check(const char *method, const char *path, struct err **errp) {
        const char *p;

        if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0))
                return err_setx(errp, EINVAL, "method: GET or POST, got '%s'",
                                method ? method : "");
        if (!path || (!starts(path, "/v1/containers/") && !starts(path, "/v1/exec/")))
                return err_setx(errp, EINVAL,
                                "path: only /v1/containers/... and /v1/exec/... requests go to "
                                "nodes, got '%s'",
                                path ? path : "");
        for (p = path; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        return err_setx(errp, EINVAL,
                                        "path: byte 0x%02x at offset %zu (only visible ASCII)",
                                        (unsigned char)*p, (size_t)(p - path));
        for (p = path; (p = strstr(p, "/..")); p += 3)
                if (p[3] == '\0' || p[3] == '/' || p[3] == '?')
                        return err_setx(errp, EINVAL, "path: '..' segment in '%s'", path);
        return 0;
}

char *tunnel_req_text(const char *method, const char *path, const char *body, bool upgrade) {
        return xasprintf("%s %s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-tunnel\r\n%s"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         method, path,
                         upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n"
                                 : "Connection: close\r\n",
                         body ? strlen(body) : 0, body ? body : "");
}
