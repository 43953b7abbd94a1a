/* SPDX-License-Identifier: Apache-2.0 */
/* Streamed request bodies spooled to an unlinked temporary file (api_upload.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_upload.h"
#include "cleanup.h"
#include "fileio.h"
#include "http_server.h"
#include "xalloc.h"

struct spool {
        int fd;
        api_upload_done_fn *done;
        void *ud;
};

static void spool_free(struct spool *s) {
        safe_close(s->fd);
        free(s);
}

static void spool_chunk(struct http_req *req, const char *data, size_t len, void *ud) {
        struct spool *s = ud;

        if (fd_write_full(s->fd, data, len) < 0) {
                int e = errno;

                http_req_on_close(req, NULL, NULL);
                http_req_body_stream(req, NULL, NULL, NULL);
                spool_free(s);
                http_reply_error(req, e == ENOSPC ? 507 : 500, "internal",
                                 "Failed to store the upload: %s", strerror(e));
        }
}

static void spool_end(struct http_req *req, void *ud) {
        struct spool *s = ud;
        int fd = TAKE_FD(s->fd);

        http_req_on_close(req, NULL, NULL);
        if (lseek(fd, 0, SEEK_SET) < 0) {
                int e = errno;

                safe_close(fd);
                spool_free(s);
                http_reply_error(req, 500, "internal", "Failed to rewind the upload: %s",
                                 strerror(e));
                return;
        }
        s->done(req, fd, s->ud);
        spool_free(s);
}

static void spool_gone(struct http_req *req, void *ud) {
        spool_free(ud);
        http_reply(req, 400, NULL, "", 0); /* frees the detached request */
}

int api_upload_spool(struct http_req *req, const char *dir, api_upload_done_fn *done, void *ud,
                     struct err **errp) {
        struct spool *s;
        int fd;

        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && errno == ENOENT) {
                int r = mkdir_p(dir, 0700, errp);

                if (r < 0)
                        return r;
                fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        }
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
                /* No O_TMPFILE on this file system: a named file, unlinked at once. */
                _cleanup_free_ char *tmpl = xasprintf("%s/upload-XXXXXX", dir);

                fd = mkostemp(tmpl, O_CLOEXEC);
                if (fd >= 0)
                        (void)unlink(tmpl);
        }
        if (fd < 0)
                return err_set(errp, errno, "create a temporary file in '%s'", dir);
        s = xnew0(struct spool, 1);
        s->fd = fd;
        s->done = done;
        s->ud = ud;
        http_req_on_close(req, spool_gone, s);
        http_req_body_stream(req, spool_chunk, spool_end, s);
        return 0;
}
